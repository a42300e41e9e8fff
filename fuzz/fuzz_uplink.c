/* libFuzzer target for the uplink codec: decode as each model and as auto;
 * whatever decodes must encode back to the very same bytes and render as
 * JSON and text within the sizes the renderers report. The same input is
 * also streamed record by record (lsws_uplink_decode_each): it must meet
 * the whole decode's error at the same byte (unless that error is the
 * whole payload's reading limit, which streaming applies per record), its
 * records must re-encode, joined, to the input, and their JSON pieces must
 * join to the whole decode's JSON. Any broken property aborts, so
 * libFuzzer records the input.
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

/* ---- streaming ---------------------------------------------------------- */

struct streamed {
    enum lsws_model_id model;
    size_t records, readings, enc_len, json_len;
    unsigned json_state;
    size_t stop_after; /* stop the walk after this many callbacks; 0: never */
    size_t calls;
};
static uint8_t stream_enc[1 << 16];
static char stream_json[1 << 18];

static int on_record(const struct lsws_uplink *rec, void *arg)
{
    struct streamed *s = arg;
    s->calls++;
    if (rec->n == 0 || rec->n > LSWS_UPLINK_MAX || rec->model >= LSWS_MODEL_COUNT)
        abort();
    if (s->model != LSWS_MODEL_COUNT && rec->model != s->model)
        abort();
    /* Live data comes first and once; records count up from 1. */
    if (rec->records != (s->calls == 1 && rec->records == 0 ? 0 : s->records + 1))
        abort();
    s->records = rec->records;
    for (size_t i = 0; i < rec->n; i++)
        if (rec->r[i].record != rec->records)
            abort();
    s->readings += rec->n;
    struct lsws_error err;
    size_t len = 0;
    if (lsws_uplink_encode(rec, stream_enc + s->enc_len, sizeof stream_enc - s->enc_len, &len,
                           &err) != LSWS_OK)
        abort();
    s->enc_len += len;
    size_t room = sizeof stream_json - s->json_len;
    size_t need = lsws_uplink_json_stream(rec, &s->json_state, stream_json + s->json_len, room);
    if (need >= room)
        abort();
    s->json_len += need;
    return s->stop_after && s->calls == s->stop_after ? 1 : 0;
}

static void check_stream(enum lsws_model_id model, const uint8_t *data, size_t size)
{
    struct lsws_error ew, es;
    lsws_error_clear(&ew);
    lsws_error_clear(&es);
    int rw = lsws_uplink_decode(model, data, size, &up, &ew);
    struct streamed s = {.model = model};
    int rs = lsws_uplink_decode_each(model, data, size, on_record, &s, &es);
    if (rw != LSWS_ERR_RANGE) {
        if (rs != rw)
            abort(); /* streaming decides differently */
        if (rs != LSWS_OK && (es.offset != ew.offset || strcmp(es.msg, ew.msg) != 0))
            abort(); /* ... or elsewhere */
    }
    if (rs != LSWS_OK) {
        if (rs >= 0 || es.code != rs || es.msg[0] == '\0')
            abort();
        if (es.offset != SIZE_MAX && es.offset > size)
            abort();
        return;
    }
    if (s.enc_len != size || memcmp(stream_enc, data, size) != 0)
        abort(); /* the records, encoded in turn, are not the payload */
    size_t room = sizeof stream_json - s.json_len;
    size_t need = lsws_uplink_json_stream(NULL, &s.json_state, stream_json + s.json_len, room);
    if (need >= room || s.json_state != 0)
        abort();
    s.json_len += need;
    if (rw == LSWS_OK) {
        if (s.readings != up.n)
            abort();
        size_t whole = lsws_uplink_json(&up, text, sizeof text);
        if (whole != s.json_len || memcmp(text, stream_json, whole) != 0)
            abort(); /* the pieces do not join to the whole */
    }
    /* Check only, and a walk the callback stops after its first record. */
    if (lsws_uplink_decode_each(model, data, size, NULL, NULL, &es) != LSWS_OK)
        abort();
    struct streamed one = {.model = model, .stop_after = 1};
    int r1 = lsws_uplink_decode_each(model, data, size, on_record, &one, &es);
    if (r1 != 1 || one.calls != 1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(LSWS_MODEL_WS523, data, size);
    check(LSWS_MODEL_CTH01, data, size);
    check(LSWS_MODEL_COUNT, data, size);
    check_stream(LSWS_MODEL_WS523, data, size);
    check_stream(LSWS_MODEL_CTH01, data, size);
    check_stream(LSWS_MODEL_COUNT, data, size);
    return 0;
}
