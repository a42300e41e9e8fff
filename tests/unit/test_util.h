/* Helpers shared by the unit tests. */
#ifndef LSWS_TEST_UTIL_H
#define LSWS_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lsws.h"

static inline size_t hex_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_hex_parse(hex, out, cap, &len, &err) != LSWS_OK)
        fail_msg("bad test hex '%s': %s", hex, err.msg);
    return len;
}

/* Text of a present setting of cfg, or "(absent)". */
static inline const char *value_of(const struct lsws_config *cfg, const char *key, char *buf,
                                   size_t n)
{
    int i = lsws_model_find(cfg->model, key);
    if (i < 0)
        fail_msg("no setting '%s'", key);
    if (!cfg->present[i])
        return "(absent)";
    lsws_value_format(cfg->model, (size_t)i, &cfg->values[i], buf, n);
    return buf;
}

#define assert_setting(cfg, key, expected)                                                     \
    do {                                                                                       \
        char buf_[256];                                                                        \
        assert_string_equal(value_of((cfg), (key), buf_, sizeof buf_), (expected));            \
    } while (0)

#endif
