/* libFuzzer target for the uplink codec: decode as each model and as auto;
 * whatever decodes must encode back to the very same bytes and render as
 * JSON and text within the sizes the renderers report. Any broken property
 * aborts, so libFuzzer records the input.
 *
 *   fuzz_uplink -max_total_time=60 [corpus/]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lsws_uplink up;
static uint8_t enc[4096];
static char text[1 << 16];

static void check(enum lsws_model_id model, const uint8_t *data, size_t size)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_uplink_decode(model, data, size, &up, &err);
    if (rc != LSWS_OK) {
        /* A failure is negative, has a message and never claims more than was read. */
        if (rc >= 0 || err.code != rc || err.msg[0] == '\0')
            abort();
        if (err.offset != SIZE_MAX && err.offset > size)
            abort();
        if (up.n > LSWS_UPLINK_MAX)
            abort();
        return;
    }
    if (up.n == 0 || up.n > LSWS_UPLINK_MAX || up.model >= LSWS_MODEL_COUNT)
        abort();
    if (model != LSWS_MODEL_COUNT && up.model != model)
        abort();

    size_t len = 0;
    if (lsws_uplink_encode(&up, enc, sizeof enc, &len, &err) != LSWS_OK)
        abort(); /* decoded but cannot be encoded */
    if (len != size || memcmp(enc, data, size) != 0)
        abort(); /* encode(decode(x)) != x */

    size_t need = lsws_uplink_json(&up, text, sizeof text);
    if (need >= sizeof text || strlen(text) != need || text[0] != '{' || text[need - 1] != '}')
        abort();
    /* A short buffer gets a prefix and the same length. */
    char small[64];
    if (lsws_uplink_json(&up, small, sizeof small) != need)
        abort();
    if (strncmp(small, text, sizeof small - 1) != 0)
        abort();
    need = lsws_uplink_text(&up, text, sizeof text);
    if (need >= sizeof text || strlen(text) != need)
        abort();
    for (size_t i = 0; i < up.n; i++) {
        char one[64];
        if (lsws_reading_format(&up.r[i], one, sizeof one) >= sizeof one)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(LSWS_MODEL_WS523, data, size);
    check(LSWS_MODEL_CTH01, data, size);
    check(LSWS_MODEL_COUNT, data, size);
    return 0;
}
