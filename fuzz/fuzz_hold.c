/* libFuzzer target for the wire format between lsws and `lsws hold`
 * (transports/hold_wire.c): the input is one packet, decoded as a request
 * and as an answer to each op. Properties, any break aborts:
 *  - a decoded request encodes back to the same bytes;
 *  - a decoded answer's payload lies within the packet and within its op's
 *    limits, and an error's text is NUL-terminated, printable, bounded.
 *
 *   fuzz_hold -max_total_time=60 fuzz/seeds/hold
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hold_req r;
    if (hold_req_decode(data, size, &r, NULL) == LSWS_OK) {
        uint8_t out[HOLD_PACKET_MAX];
        size_t n = 0;
        if (hold_req_encode(&r, out, sizeof out, &n) != LSWS_OK || n != size || memcmp(out, data, n) != 0)
            abort();
    }
    for (uint8_t op = HOLD_OPEN; op <= HOLD_WIRE; op++) {
        struct hold_resp resp;
        if (hold_resp_decode(op, data, size, &resp, NULL) != LSWS_OK)
            continue;
        if (resp.code == LSWS_OK) {
            if (resp.len > LSWS_MSG_MAX || (resp.len && (resp.payload < data || resp.payload + resp.len > data + size)))
                abort();
        } else {
            size_t t = strnlen(resp.text, sizeof resp.text);
            if (t > HOLD_TEXT_MAX)
                abort();
            for (size_t i = 0; i < t; i++)
                if (resp.text[i] < 0x20 || resp.text[i] >= 0x7f)
                    abort();
        }
    }
    return 0;
}
