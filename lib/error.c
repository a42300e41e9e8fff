/* Error codes, their messages and the lsws_error helper. */
#include "lsws.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct error_row {
    int code;
    const char *name;
    const char *text;
};

/* One row per code; tests/unit/test_model.c checks every code from
 * LSWS_ERR_MIN to 0 is here, tests/e2e/test_docs.sh that each is in lsws(1). */
static const struct error_row errors[] = {
    {LSWS_OK, "LSWS_OK", "success"},
    {LSWS_ERR_INVALID, "LSWS_ERR_INVALID", "invalid value"},
    {LSWS_ERR_NOMEM, "LSWS_ERR_NOMEM", "out of memory"},
    {LSWS_ERR_TRUNCATED, "LSWS_ERR_TRUNCATED", "truncated frame"},
    {LSWS_ERR_MALFORMED, "LSWS_ERR_MALFORMED", "malformed frame"},
    {LSWS_ERR_UNKNOWN_KEY, "LSWS_ERR_UNKNOWN_KEY", "unknown setting"},
    {LSWS_ERR_RANGE, "LSWS_ERR_RANGE", "value out of range"},
    {LSWS_ERR_MODEL, "LSWS_ERR_MODEL", "wrong model or band"},
    {LSWS_ERR_SYNTAX, "LSWS_ERR_SYNTAX", "syntax error"},
    {LSWS_ERR_READONLY, "LSWS_ERR_READONLY", "setting is read-only"},
    {LSWS_ERR_INCOMPLETE, "LSWS_ERR_INCOMPLETE", "settings missing for a command"},
    {LSWS_ERR_IO, "LSWS_ERR_IO", "input/output error"},
    {LSWS_ERR_TIMEOUT, "LSWS_ERR_TIMEOUT", "timed out"},
    {LSWS_ERR_NODEV, "LSWS_ERR_NODEV", "no such device"},
    {LSWS_ERR_AUTH, "LSWS_ERR_AUTH", "authentication failed"},
    {LSWS_ERR_UNSUPPORTED, "LSWS_ERR_UNSUPPORTED", "not supported"},
    {LSWS_ERR_VERIFY, "LSWS_ERR_VERIFY", "verify mismatch"},
    {LSWS_ERR_PROTOCOL, "LSWS_ERR_PROTOCOL", "protocol error"},
    {LSWS_ERR_DEVICE, "LSWS_ERR_DEVICE", "refused by the device"},
    {LSWS_ERR_BUSY, "LSWS_ERR_BUSY", "in use by another program"},
};

static const struct error_row *find(int code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return &errors[i];
    return NULL;
}

const char *lsws_strerror(int code)
{
    const struct error_row *row = find(code);
    return row ? row->text : "unknown error";
}

const char *lsws_errname(int code)
{
    const struct error_row *row = find(code);
    return row ? row->name : NULL;
}

void lsws_error_clear(struct lsws_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    err->offset = SIZE_MAX;
}

int lsws_fail(struct lsws_error *err, int code, size_t offset, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}
