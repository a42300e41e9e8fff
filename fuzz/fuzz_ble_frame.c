/* libFuzzer target for the BLE reassembler (lib/frame_ble.c): arbitrary
 * fragments, as a hostile or broken peer might notify them. The input is a
 * sequence of fragments, each a length byte then that many bytes.
 * Properties, any break aborts:
 *  - an error has its code (within LSWS_ERR_*) and a message;
 *  - an accepted message is 1..LSWS_MSG_MAX bytes, equal to the length its
 *    first fragment announced, and re-cut with lsws_ble_fragment at every
 *    fragment size from the smallest to the largest it reassembles, alone,
 *    to the very same message;
 *  - nothing is ever accepted from a stream in which a fragment index was
 *    out of order since the last first fragment (no splicing).
 *
 *   fuzz_ble_frame -max_total_time=60 [corpus/]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_recut(const uint8_t *msg, size_t mlen)
{
    static const size_t sizes[] = {LSWS_BLE_FRAG_MIN, 21, 100, 244, LSWS_BLE_FRAG_MAX};
    uint8_t copy[LSWS_MSG_MAX], frag[LSWS_BLE_FRAG_MAX];
    memcpy(copy, msg, mlen);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        struct lsws_ble_reasm r;
        lsws_ble_reasm_init(&r);
        size_t n = lsws_ble_fragment_count(mlen, sizes[s]);
        if (n == 0)
            abort();
        for (size_t i = 0; i < n; i++) {
            size_t flen = 0;
            const uint8_t *out = NULL;
            size_t olen = 0;
            struct lsws_error err;
            lsws_error_clear(&err);
            if (lsws_ble_fragment(copy, mlen, sizes[s], i, frag, &flen) != LSWS_OK || flen > sizes[s] || flen == 0)
                abort();
            int rc = lsws_ble_reasm_feed(&r, frag, flen, &out, &olen, &err);
            if (rc != (i + 1 == n ? 1 : 0))
                abort();
            if (rc == 1 && (olen != mlen || memcmp(out, copy, mlen) != 0))
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lsws_ble_reasm r;
    lsws_ble_reasm_init(&r);
    int broken = 0; /* an index out of order since the last first fragment */
    unsigned expect = 0;
    size_t announced = 0;
    for (size_t off = 0; off < size;) {
        size_t len = data[off++];
        if (len > size - off)
            len = size - off;
        const uint8_t *f = data + off;
        off += len;
        if (len > 0) {
            unsigned idx = f[0] & LSWS_BLE_INDEX;
            if (idx == 0) {
                broken = 0;
                expect = 1;
                announced = len >= 3 ? (size_t)f[1] | (size_t)f[2] << 8 : 0;
            } else {
                if (idx != expect)
                    broken = 1;
                expect = idx + 1;
            }
        }
        const uint8_t *msg = NULL;
        size_t mlen = 0;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_ble_reasm_feed(&r, f, len, &msg, &mlen, &err);
        if (rc == 1) {
            if (broken || !msg || mlen == 0 || mlen > LSWS_MSG_MAX || mlen != announced)
                abort();
            check_recut(msg, mlen);
        } else if (rc < 0) {
            if (rc < LSWS_ERR_MIN || err.code != rc || err.msg[0] == '\0')
                abort();
            broken = 1;
        } else if (rc != 0) {
            abort();
        }
    }
    return 0;
}
