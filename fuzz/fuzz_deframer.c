/* libFuzzer target for the serial deframer (lib/frame_serial.c): arbitrary
 * bytes fed in arbitrary chunk sizes. Properties, any break aborts:
 *  - every call consumes within its input, at least one byte when it
 *    reports a frame end, and an error has its code and a message;
 *  - an accepted message is 3..LSWS_MSG_MAX bytes, and re-encoded with
 *    lsws_frame_encode it deframes, alone, to the very same message;
 *  - the results (messages and errors, in order) do not depend on how the
 *    stream was cut into chunks: the same bytes fed in one piece give the same.
 * The first two input bytes choose the chunk sizes; the rest is the stream.
 *
 *   fuzz_deframer -max_total_time=60 [corpus/]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct digest {
    uint64_t hash;
    unsigned good, bad;
};

static void mix(struct digest *g, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g->hash ^= p[i];
        g->hash *= 0x100000001b3ull; /* FNV-1a */
    }
}

static uint8_t frame[LSWS_FRAME_MAX];

/* The re-encoding property for one accepted message. */
static void check_reencode(const uint8_t *msg, size_t mlen)
{
    uint8_t copy[LSWS_MSG_MAX];
    memcpy(copy, msg, mlen); /* msg points into the deframer being used */
    size_t n = 0;
    if (lsws_frame_encode(copy, mlen, frame, sizeof frame, &n) != LSWS_OK)
        abort();
    if (n < mlen + 4 || n > LSWS_FRAME_MAX || frame[0] != 0x7e || frame[n - 1] != 0x7e)
        abort();
    for (size_t i = 1; i + 1 < n; i++)
        if (frame[i] == 0x7e)
            abort();
    struct lsws_deframer d;
    lsws_deframer_init(&d);
    const uint8_t *m = NULL;
    size_t used = 0, len = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_deframer_feed(&d, frame, n, &used, &m, &len, &err) != 1)
        abort();
    if (used != n || len != mlen || memcmp(m, copy, mlen) != 0)
        abort();
}

/* Feeds stream in chunks; chunk sizes come from seed (0: one piece). */
static void run(const uint8_t *stream, size_t size, unsigned seed, int reencode, struct digest *g)
{
    struct lsws_deframer d;
    lsws_deframer_init(&d);
    g->hash = 0xcbf29ce484222325ull;
    g->good = g->bad = 0;
    unsigned max_chunk = (seed & 0xff) + 1, x = seed | 1;
    size_t off = 0;
    while (off < size) {
        size_t chunk = size - off;
        if (seed) {
            x ^= x << 13; /* xorshift32 */
            x ^= x >> 17;
            x ^= x << 5;
            size_t c = 1 + x % max_chunk;
            if (c < chunk)
                chunk = c;
        }
        while (chunk > 0) {
            const uint8_t *msg = NULL;
            size_t used = 0, mlen = 0;
            struct lsws_error err;
            lsws_error_clear(&err);
            int rc = lsws_deframer_feed(&d, stream + off, chunk, &used, &msg, &mlen, &err);
            if (used > chunk || (rc != 0 && used == 0) || (rc == 0 && used != chunk))
                abort();
            off += used;
            chunk -= used;
            if (rc == 1) {
                if (!msg || mlen < 3 || mlen > LSWS_MSG_MAX)
                    abort();
                g->good++;
                uint8_t tag[3] = {1, (uint8_t)mlen, (uint8_t)(mlen >> 8)};
                mix(g, tag, sizeof tag);
                mix(g, msg, mlen);
                if (reencode)
                    check_reencode(msg, mlen);
            } else if (rc < 0) {
                if (rc < LSWS_ERR_MIN || err.code != rc || err.msg[0] == '\0')
                    abort();
                g->bad++;
                uint8_t tag[2] = {2, (uint8_t)-rc};
                mix(g, tag, sizeof tag);
            } else if (rc != 0) {
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned seed = (unsigned)data[0] | (unsigned)data[1] << 8;
    if (seed == 0)
        seed = 1;
    struct digest chunked, whole;
    run(data + 2, size - 2, seed, 1, &chunked);
    run(data + 2, size - 2, 0, 0, &whole);
    if (chunked.hash != whole.hash || chunked.good != whole.good || chunked.bad != whole.bad)
        abort();
    return 0;
}
