/* NFC framing: lsws messages as ISO 7816-4 APDUs to the card the WS523
 * emulates (docs/protocol.md, "NFC"). Both sides: the host builds SELECT,
 * MESSAGE and GET MORE commands and splits answers; the card side
 * (struct lsws_nfc_card, the simulator's WS523) parses commands, assembles
 * fragments into messages and cuts responses. Pure: no I/O, bounded
 * buffers, every length checked before it is used. */
#include "lsws.h"

#include <string.h>

const uint8_t lsws_nfc_aid[LSWS_NFC_AID_LEN] = {0xf0, 'L', 'S', 'W', 'S', 0x01};

#define NFC_APP_VERSION 1
#define INS_SELECT 0xa4

const char *lsws_sw_text(unsigned sw)
{
    if ((sw & 0xff00) == LSWS_SW_MORE)
        return "more data";
    switch (sw) {
    case LSWS_SW_OK: return "ok";
    case LSWS_SW_WRONG_LENGTH: return "wrong length";
    case LSWS_SW_NOT_ALLOWED: return "conditions of use not satisfied";
    case LSWS_SW_NOT_FOUND: return "application not found";
    case LSWS_SW_WRONG_P1P2: return "fragment out of order";
    case LSWS_SW_INS: return "instruction not supported";
    case LSWS_SW_CLA: return "class not supported";
    default: return "unknown status";
    }
}

int lsws_apdu_parse(const uint8_t *in, size_t len, struct lsws_apdu *a, struct lsws_error *err)
{
    memset(a, 0, sizeof *a);
    if (len < 4)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "APDU of %zu bytes: a header has 4", len);
    a->cla = in[0];
    a->ins = in[1];
    a->p1 = in[2];
    a->p2 = in[3];
    if (len == 4)
        return LSWS_OK; /* case 1 */
    if (len == 5) {     /* case 2: Le only */
        a->has_le = 1;
        a->le = in[4] ? in[4] : 256;
        return LSWS_OK;
    }
    if (in[4] == 0)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 4, "extended-length APDUs are not supported");
    size_t lc = in[4];
    if (len < 5 + lc)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "APDU says Lc %zu but has %zu data bytes", lc, len - 5);
    if (len > 6 + lc)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 6 + lc, "APDU has %zu bytes after its data", len - 5 - lc);
    a->data = in + 5;
    a->lc = lc;
    if (len == 6 + lc) { /* case 4 */
        a->has_le = 1;
        a->le = in[5 + lc] ? in[5 + lc] : 256;
    }
    return LSWS_OK;
}

/* ---- host side ------------------------------------------------------------ */

int lsws_apdu_select(uint8_t *out, size_t cap, size_t *len)
{
    if (cap < 6 + LSWS_NFC_AID_LEN)
        return LSWS_ERR_RANGE;
    out[0] = 0x00;
    out[1] = INS_SELECT;
    out[2] = 0x04; /* by name (AID) */
    out[3] = 0x00; /* first or only occurrence */
    out[4] = LSWS_NFC_AID_LEN;
    memcpy(out + 5, lsws_nfc_aid, LSWS_NFC_AID_LEN);
    out[5 + LSWS_NFC_AID_LEN] = 0x00;
    *len = 6 + LSWS_NFC_AID_LEN;
    return LSWS_OK;
}

int lsws_apdu_response(const uint8_t *in, size_t len, const uint8_t **data, size_t *dlen, unsigned *sw,
                       struct lsws_error *err)
{
    if (len < 2)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "response APDU of %zu bytes has no status word", len);
    *data = in;
    *dlen = len - 2;
    *sw = (unsigned)in[len - 2] << 8 | in[len - 1];
    return LSWS_OK;
}

int lsws_nfc_select_decode(const uint8_t *data, size_t len, struct lsws_nfc_app *app, struct lsws_error *err)
{
    if (len < LSWS_NFC_SELECT_RESP_LEN)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "SELECT answer of %zu bytes, %d expected", len,
                         LSWS_NFC_SELECT_RESP_LEN);
    app->version = data[0];
    app->max_msg = (uint16_t)(data[1] | data[2] << 8);
    app->fragment = data[3];
    if (app->version != NFC_APP_VERSION)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, 0, "the card's lsws application has version %u, lsws speaks %d",
                         app->version, NFC_APP_VERSION);
    if (app->max_msg < LSWS_MSG_MIN || app->max_msg > LSWS_MSG_MAX)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, 1, "the card announces messages of %u bytes (%d to %d allowed)",
                         app->max_msg, LSWS_MSG_MIN, LSWS_MSG_MAX);
    if (app->fragment < LSWS_APDU_FRAGMENT_MIN || app->fragment > LSWS_APDU_FRAGMENT_MAX)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, 3, "the card announces fragments of %u bytes (%d to %d allowed)",
                         app->fragment, LSWS_APDU_FRAGMENT_MIN, LSWS_APDU_FRAGMENT_MAX);
    return LSWS_OK;
}

size_t lsws_apdu_fragments(size_t len, size_t fragment)
{
    if (fragment == 0)
        return 0;
    return len == 0 ? 1 : (len + fragment - 1) / fragment;
}

int lsws_apdu_message(const uint8_t *msg, size_t len, size_t fragment, unsigned index, uint8_t *out, size_t cap,
                      size_t *olen)
{
    size_t n = lsws_apdu_fragments(len, fragment);
    if (fragment < 1 || fragment > LSWS_APDU_FRAGMENT_MAX || len == 0 || index >= n || n > 256)
        return LSWS_ERR_RANGE;
    size_t off = (size_t)index * fragment, part = len - off < fragment ? len - off : fragment;
    int last = index + 1 == n;
    if (cap < 5 + part + (last ? 1 : 0))
        return LSWS_ERR_RANGE;
    out[0] = LSWS_APDU_CLA;
    out[1] = LSWS_APDU_INS_MESSAGE;
    out[2] = (uint8_t)index;
    out[3] = last ? LSWS_APDU_LAST : 0;
    out[4] = (uint8_t)part;
    memcpy(out + 5, msg + off, part);
    *olen = 5 + part;
    if (last)
        out[(*olen)++] = 0x00; /* Le: the response message */
    return LSWS_OK;
}

int lsws_apdu_more(unsigned index, uint8_t *out, size_t cap, size_t *olen)
{
    if (cap < 5 || index < 1 || index > 255)
        return LSWS_ERR_RANGE;
    out[0] = LSWS_APDU_CLA;
    out[1] = LSWS_APDU_INS_MORE;
    out[2] = (uint8_t)index;
    out[3] = 0x00;
    out[4] = 0x00;
    *olen = 5;
    return LSWS_OK;
}

/* ---- card side -------------------------------------------------------------- */

static size_t clamp(size_t v, size_t lo, size_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void lsws_nfc_card_init(struct lsws_nfc_card *c, size_t max_msg, size_t fragment)
{
    memset(c, 0, sizeof *c);
    c->max_msg = clamp(max_msg, LSWS_MSG_MIN, LSWS_MSG_MAX);
    c->fragment = clamp(fragment, LSWS_APDU_FRAGMENT_MIN, LSWS_APDU_FRAGMENT_MAX);
}

static void drop_partial(struct lsws_nfc_card *c)
{
    c->len = 0;
    c->next = 0;
    c->last_off = c->last_len = 0;
}

void lsws_nfc_card_reset(struct lsws_nfc_card *c)
{
    c->selected = 0;
    c->have_resp = 0;
    c->resp_len = 0;
    drop_partial(c);
}

static void sw_only(unsigned sw, uint8_t *out, size_t *olen)
{
    out[0] = (uint8_t)(sw >> 8);
    out[1] = (uint8_t)sw;
    *olen = 2;
}

/* Response fragment index of c->resp with its status word. */
static void resp_fragment(const struct lsws_nfc_card *c, unsigned index, uint8_t *out, size_t *olen)
{
    size_t off = (size_t)index * c->fragment;
    size_t part = c->resp_len - off < c->fragment ? c->resp_len - off : c->fragment;
    memcpy(out, c->resp + off, part);
    size_t rest = c->resp_len - off - part;
    unsigned sw = rest ? LSWS_SW_MORE | (rest > 255 ? 0 : (unsigned)rest) : LSWS_SW_OK;
    out[part] = (uint8_t)(sw >> 8);
    out[part + 1] = (uint8_t)sw;
    *olen = part + 2;
}

static int select_app(struct lsws_nfc_card *c, const struct lsws_apdu *a, uint8_t *out, size_t *olen)
{
    if (a->p1 != 0x04 || (a->p2 & 0xf3) != 0x00) {
        sw_only(LSWS_SW_WRONG_P1P2, out, olen);
        return LSWS_CARD_REPLY;
    }
    if (a->lc != LSWS_NFC_AID_LEN || memcmp(a->data, lsws_nfc_aid, LSWS_NFC_AID_LEN) != 0) {
        lsws_nfc_card_reset(c); /* selecting another application deselects ours */
        sw_only(LSWS_SW_NOT_FOUND, out, olen);
        return LSWS_CARD_REPLY;
    }
    lsws_nfc_card_reset(c);
    c->selected = 1;
    out[0] = NFC_APP_VERSION;
    out[1] = (uint8_t)c->max_msg;
    out[2] = (uint8_t)(c->max_msg >> 8);
    out[3] = (uint8_t)c->fragment;
    out[4] = 0x90;
    out[5] = 0x00;
    *olen = 6;
    return LSWS_CARD_SELECTED;
}

static int message_fragment(struct lsws_nfc_card *c, const struct lsws_apdu *a, uint8_t *out, size_t *olen)
{
    if (a->lc == 0 || a->lc > c->fragment || (a->p2 & ~LSWS_APDU_LAST) != 0) {
        drop_partial(c);
        sw_only(a->lc == 0 || a->lc > c->fragment ? LSWS_SW_WRONG_LENGTH : LSWS_SW_WRONG_P1P2, out, olen);
        return LSWS_CARD_REPLY;
    }
    if (a->p1 == 0) {
        drop_partial(c); /* a new message */
    } else if (c->next > 0 && a->p1 == c->next - 1) {
        c->len = c->last_off; /* the previous fragment again (its answer was lost): replace it */
        c->next--;
    } else if (a->p1 != c->next) {
        drop_partial(c);
        sw_only(LSWS_SW_WRONG_P1P2, out, olen);
        return LSWS_CARD_REPLY;
    }
    if (c->len + a->lc > c->max_msg) {
        drop_partial(c);
        sw_only(LSWS_SW_WRONG_LENGTH, out, olen);
        return LSWS_CARD_REPLY;
    }
    c->last_off = c->len;
    c->last_len = a->lc;
    memcpy(c->msg + c->len, a->data, a->lc);
    c->len += a->lc;
    c->next++;
    if (!(a->p2 & LSWS_APDU_LAST)) {
        sw_only(LSWS_SW_OK, out, olen);
        return LSWS_CARD_REPLY;
    }
    c->next = 0; /* the message is whole: msg[0..len) until the next fragment */
    c->have_resp = 0;
    *olen = 0;
    return LSWS_CARD_MESSAGE;
}

int lsws_nfc_card_feed(struct lsws_nfc_card *c, const uint8_t *apdu, size_t len, uint8_t *out, size_t cap,
                       size_t *olen)
{
    struct lsws_apdu a;
    *olen = 0;
    if (cap < LSWS_APDU_RESP_MAX)
        return LSWS_CARD_REPLY; /* a caller bug; nothing can be answered */
    if (lsws_apdu_parse(apdu, len, &a, NULL) != LSWS_OK) {
        sw_only(LSWS_SW_WRONG_LENGTH, out, olen);
        return LSWS_CARD_REPLY;
    }
    if (a.cla == 0x00 && a.ins == INS_SELECT)
        return select_app(c, &a, out, olen);
    if (a.cla != LSWS_APDU_CLA) {
        sw_only(LSWS_SW_CLA, out, olen);
        return LSWS_CARD_REPLY;
    }
    if (a.ins != LSWS_APDU_INS_MESSAGE && a.ins != LSWS_APDU_INS_MORE) {
        sw_only(LSWS_SW_INS, out, olen);
        return LSWS_CARD_REPLY;
    }
    if (!c->selected) {
        sw_only(LSWS_SW_NOT_ALLOWED, out, olen);
        return LSWS_CARD_REPLY;
    }
    if (a.ins == LSWS_APDU_INS_MESSAGE)
        return message_fragment(c, &a, out, olen);
    /* GET MORE: response fragment P1 (1..) of the last response. */
    if (!c->have_resp || a.p1 == 0 || (size_t)a.p1 * c->fragment >= c->resp_len || a.lc != 0) {
        sw_only(a.lc != 0 ? LSWS_SW_WRONG_LENGTH : LSWS_SW_NOT_ALLOWED, out, olen);
        return LSWS_CARD_REPLY;
    }
    resp_fragment(c, a.p1, out, olen);
    return LSWS_CARD_REPLY;
}

void lsws_nfc_card_answer(struct lsws_nfc_card *c, const uint8_t *resp, size_t rlen, uint8_t *out, size_t cap,
                          size_t *olen)
{
    *olen = 0;
    if (cap < LSWS_APDU_RESP_MAX)
        return;
    if (rlen > sizeof c->resp)
        rlen = sizeof c->resp;
    memcpy(c->resp, resp, rlen);
    c->resp_len = rlen;
    c->have_resp = 1;
    resp_fragment(c, 0, out, olen);
}
