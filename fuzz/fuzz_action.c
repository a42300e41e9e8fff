/* libFuzzer target for the control actions of `lsws encode` (lib/action.c):
 * the first byte picks the model, the rest is words (split at spaces,
 * tabs, newlines and NULs). Whatever names an action and encodes must be a
 * downlink that the uplink decoder reads back (as the unit's echo of it)
 * and encodes to the very same bytes; a failure must be a negative code
 * with a message. Every word also goes through lsws_parse_duration, which
 * must give a value in 0..INT64_MAX or fail. Any broken property aborts.
 *
 *   fuzz_action -max_total_time=60 fuzz/seeds/action
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsws.h"
#include "model_rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 8

static struct lsws_uplink up;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 512)
        return 0;
    enum lsws_model_id model = data[0] % 2 ? LSWS_MODEL_CTH01 : LSWS_MODEL_WS523;
    static char text[513];
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    const char *words[MAX_WORDS];
    int n = 0;
    for (char *p = text, *end = text + size - 1; p < end && n < MAX_WORDS;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\0'))
            *p++ = '\0';
        if (p == end)
            break;
        words[n++] = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\0')
            p++;
    }
    for (int i = 0; i < n; i++) {
        int64_t s = -1;
        if (lsws_parse_duration(words[i], &s) == 0 && s < 0)
            abort();
    }
    int used = 0;
    const struct lsws_action *a = lsws_action_find(model, n, words, &used);
    if (!a)
        return 0;
    if (used < 1 || used > n || lsws_action_argc(a) < 0)
        abort();
    uint8_t out[64];
    size_t len = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_action_encode(model, a, n - used, words + used, out, sizeof out, &len, &err);
    if (rc != LSWS_OK) {
        if (rc >= 0 || err.code != rc || err.msg[0] == '\0')
            abort();
        return 0;
    }
    if (len == 0 || len > sizeof out)
        abort();
    /* The downlink reads back as the unit's echo of it, byte for byte. */
    if (lsws_uplink_decode(model, out, len, &up, &err) != LSWS_OK || up.n == 0)
        abort();
    uint8_t back[64];
    size_t blen = 0;
    if (lsws_uplink_encode(&up, back, sizeof back, &blen, &err) != LSWS_OK || blen != len ||
        memcmp(back, out, len) != 0)
        abort();
    return 0;
}
