/* BLE framing (docs/protocol.md, "BLE"): an application message cut into
 * GATT values that fit the link's ATT MTU, and put back together. Pure and
 * bounded; shared by the BLE transport and the simulator's org.bluez.
 *
 *   fragment = header (1) | [length (2, LE): first fragment only] | bytes
 *   header   = bit 7: last fragment, bits 0-6: index in the message (0..127)
 *
 * GATT notifications and writes without response arrive in order on a
 * connection, so the only fault a receiver can meet is a lost value (a
 * dropped notification, a link that went away in the middle) or a value
 * that is not ours. The index finds a gap, the length finds a message
 * spliced from the head of one and the tail of another; either way the
 * message is dropped and the protocol client's retry covers the loss. */
#include "lsws.h"

#include <string.h>

#define HEAD_FIRST 3 /* header + length */
#define HEAD_NEXT 1

static int frag_ok(size_t frag)
{
    return frag >= LSWS_BLE_FRAG_MIN && frag <= LSWS_BLE_FRAG_MAX;
}

size_t lsws_ble_fragment_count(size_t len, size_t frag)
{
    if (!frag_ok(frag) || len == 0 || len > LSWS_MSG_MAX)
        return 0;
    size_t first = frag - HEAD_FIRST, next = frag - HEAD_NEXT;
    size_t n = len <= first ? 1 : 1 + (len - first + next - 1) / next;
    return n <= LSWS_BLE_INDEX + 1 ? n : 0; /* never at LSWS_MSG_MAX: 54 at MTU 23 */
}

int lsws_ble_fragment(const uint8_t *msg, size_t len, size_t frag, size_t i, uint8_t *out, size_t *olen)
{
    size_t n = lsws_ble_fragment_count(len, frag);
    if (n == 0 || i >= n)
        return LSWS_ERR_RANGE;
    size_t first = frag - HEAD_FIRST, next = frag - HEAD_NEXT;
    size_t off = i == 0 ? 0 : first + (i - 1) * next;
    size_t take = len - off, head = i == 0 ? HEAD_FIRST : HEAD_NEXT;
    if (take > frag - head)
        take = frag - head;
    out[0] = (uint8_t)(i | (i + 1 == n ? LSWS_BLE_LAST : 0));
    if (i == 0) {
        out[1] = (uint8_t)len;
        out[2] = (uint8_t)(len >> 8);
    }
    memcpy(out + head, msg + off, take);
    *olen = head + take;
    return LSWS_OK;
}

void lsws_ble_reasm_init(struct lsws_ble_reasm *r)
{
    r->len = r->want = 0;
    r->next = 0;
    r->active = 0;
    r->abandoned = 0;
}

/* Forgets the message in progress; returns code (from lsws_fail). */
static int drop(struct lsws_ble_reasm *r, int code)
{
    r->active = 0;
    r->len = r->want = 0;
    r->next = 0;
    return code;
}

#define FAIL(code, ...) drop(r, lsws_fail(err, code, SIZE_MAX, __VA_ARGS__))

int lsws_ble_reasm_feed(struct lsws_ble_reasm *r, const uint8_t *frag, size_t len, const uint8_t **msg,
                        size_t *mlen, struct lsws_error *err)
{
    if (len == 0)
        return FAIL(LSWS_ERR_TRUNCATED, "empty BLE fragment");
    if (len > LSWS_BLE_FRAG_MAX)
        return FAIL(LSWS_ERR_MALFORMED, "BLE fragment of %zu bytes is longer than %u", len, LSWS_BLE_FRAG_MAX);
    unsigned index = frag[0] & LSWS_BLE_INDEX;
    int last = (frag[0] & LSWS_BLE_LAST) != 0;
    const uint8_t *data;
    size_t n;
    if (index == 0) {
        if (r->active)
            r->abandoned++; /* its tail was lost: a new message began */
        r->active = 0;
        if (len < HEAD_FIRST)
            return FAIL(LSWS_ERR_TRUNCATED, "first BLE fragment of %zu bytes has no message length", len);
        size_t want = (size_t)frag[1] | (size_t)frag[2] << 8;
        if (want == 0 || want > LSWS_MSG_MAX)
            return FAIL(LSWS_ERR_MALFORMED, "BLE message length %zu is not 1..%d", want, LSWS_MSG_MAX);
        r->active = 1;
        r->want = want;
        r->len = 0;
        data = frag + HEAD_FIRST;
        n = len - HEAD_FIRST;
    } else {
        if (!r->active)
            return FAIL(LSWS_ERR_TRUNCATED, "BLE fragment %u without the first fragment of its message", index);
        if (index != r->next)
            return FAIL(LSWS_ERR_TRUNCATED, "BLE fragment %u came where %u was due: fragments were lost", index,
                        r->next);
        data = frag + HEAD_NEXT;
        n = len - HEAD_NEXT;
    }
    if (n > r->want - r->len)
        return FAIL(LSWS_ERR_MALFORMED, "BLE fragments carry more than the %zu bytes announced", r->want);
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    r->next = index + 1;
    if (last && r->len != r->want)
        return FAIL(LSWS_ERR_TRUNCATED, "BLE message of %zu bytes ended after %zu: fragments were lost", r->want,
                    r->len);
    if (!last && r->len == r->want)
        return FAIL(LSWS_ERR_MALFORMED, "BLE message of %zu bytes complete without its last-fragment mark",
                    r->want);
    if (!last && r->next > LSWS_BLE_INDEX)
        return FAIL(LSWS_ERR_MALFORMED, "BLE message of more than %u fragments", LSWS_BLE_INDEX + 1);
    if (!last)
        return 0;
    r->active = 0;
    r->next = 0;
    *msg = r->buf;
    *mlen = r->len;
    return 1;
}
