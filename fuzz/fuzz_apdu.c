/* libFuzzer target for the NFC APDU framing (lib/frame_nfc.c): the input
 * is a sequence of command APDUs (each a length byte, then the bytes) fed
 * to the card side of the lsws application, whose messages are answered
 * with themselves. Properties, any break aborts:
 *  - every answer is a status word plus at most a fragment of data;
 *  - a whole message is 1..max_msg bytes;
 *  - lsws_apdu_parse and the card agree: what does not parse gets 6700;
 *  - SELECT answers limits that lsws_nfc_select_decode accepts.
 * The first byte chooses the card's limits.
 *
 *   fuzz_apdu -max_total_time=60 fuzz/seeds/apdu
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const size_t frags[] = {16, 24, 100, 250};
    struct lsws_nfc_card c;
    size_t max_msg = 64 + (size_t)(data[0] & 0x0f) * 64, frag = frags[data[0] >> 6];
    lsws_nfc_card_init(&c, max_msg, frag);
    uint8_t out[LSWS_APDU_RESP_MAX];
    for (size_t pos = 1; pos < size;) {
        size_t n = data[pos++];
        if (n > size - pos)
            n = size - pos;
        const uint8_t *apdu = data + pos;
        pos += n;
        struct lsws_apdu a;
        int parsed = lsws_apdu_parse(apdu, n, &a, NULL) == LSWS_OK;
        size_t olen = 0;
        int what = lsws_nfc_card_feed(&c, apdu, n, out, sizeof out, &olen);
        if (what == LSWS_CARD_MESSAGE) {
            if (!parsed || c.len < 1 || c.len > max_msg)
                abort();
            lsws_nfc_card_answer(&c, c.msg, c.len, out, sizeof out, &olen);
        }
        if (olen < 2 || olen > frag + 2)
            abort();
        unsigned sw = (unsigned)out[olen - 2] << 8 | out[olen - 1];
        if (!parsed && sw != LSWS_SW_WRONG_LENGTH)
            abort();
        if (what == LSWS_CARD_SELECTED) {
            struct lsws_nfc_app app;
            if (sw != LSWS_SW_OK || lsws_nfc_select_decode(out, olen - 2, &app, NULL) != LSWS_OK ||
                app.max_msg != max_msg || app.fragment != frag)
                abort();
        }
    }
    return 0;
}
