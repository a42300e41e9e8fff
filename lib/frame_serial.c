/* Serial framing (docs/protocol.md, "Transport framings"): HDLC-style byte
 * stuffing with a CRC-16/CCITT-FALSE. Pure and bounded; shared by the serial
 * transport and the simulator. */
#include "lsws.h"

#include <string.h>

#define FLAG 0x7e
#define ESC 0x7d
#define XOR 0x20

uint16_t lsws_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xffff;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? (uint16_t)(crc << 1 ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

static int put(uint8_t *out, size_t cap, size_t *pos, uint8_t byte)
{
    if (byte == FLAG || byte == ESC) {
        if (*pos + 2 > cap)
            return -1;
        out[(*pos)++] = ESC;
        out[(*pos)++] = byte ^ XOR;
        return 0;
    }
    if (*pos + 1 > cap)
        return -1;
    out[(*pos)++] = byte;
    return 0;
}

int lsws_frame_encode(const uint8_t *msg, size_t len, uint8_t *out, size_t cap, size_t *olen)
{
    if (len > LSWS_MSG_MAX)
        return LSWS_ERR_RANGE;
    uint16_t crc = lsws_crc16(msg, len);
    size_t pos = 0;
    if (cap < 1)
        return LSWS_ERR_RANGE;
    out[pos++] = FLAG;
    for (size_t i = 0; i < len; i++)
        if (put(out, cap, &pos, msg[i]) < 0)
            return LSWS_ERR_RANGE;
    if (put(out, cap, &pos, (uint8_t)crc) < 0 || put(out, cap, &pos, (uint8_t)(crc >> 8)) < 0 ||
        pos + 1 > cap)
        return LSWS_ERR_RANGE;
    out[pos++] = FLAG;
    *olen = pos;
    return LSWS_OK;
}

void lsws_deframer_init(struct lsws_deframer *d)
{
    memset(d, 0, sizeof *d);
}

/* A frame ended: check it and reset for the next one. */
static int finish(struct lsws_deframer *d, const uint8_t **msg, size_t *mlen, struct lsws_error *err)
{
    size_t n = d->len;
    int overflow = d->overflow, escaped = d->escaped;
    d->len = 0;
    d->overflow = 0;
    d->escaped = 0;
    if (n == 0 && !overflow)
        return 0; /* back-to-back flags: idle, not a frame */
    if (overflow)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "frame longer than %d bytes dropped",
                         LSWS_MSG_MAX + 2);
    if (escaped)
        return lsws_fail(err, LSWS_ERR_MALFORMED, SIZE_MAX, "frame ends inside an escape");
    if (n < 3 + 2)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, n, "frame of %zu bytes is too short", n);
    uint16_t want = (uint16_t)(d->buf[n - 2] | d->buf[n - 1] << 8);
    uint16_t got = lsws_crc16(d->buf, n - 2);
    if (want != got)
        return lsws_fail(err, LSWS_ERR_MALFORMED, n, "frame CRC mismatch (%04x, computed %04x)", want, got);
    *msg = d->buf;
    *mlen = n - 2;
    return 1;
}

int lsws_deframer_feed(struct lsws_deframer *d, const uint8_t *in, size_t len, size_t *used,
                       const uint8_t **msg, size_t *mlen, struct lsws_error *err)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t b = in[i];
        if (b == FLAG) {
            int was_in = d->in_frame;
            d->in_frame = 1;
            if (!was_in) {
                d->len = 0;
                continue;
            }
            int rc = finish(d, msg, mlen, err);
            if (rc != 0) {
                *used = i + 1;
                return rc;
            }
            continue;
        }
        if (!d->in_frame)
            continue; /* noise between frames */
        if (b == ESC && !d->escaped) {
            d->escaped = 1;
            continue;
        }
        if (d->escaped) {
            b ^= XOR;
            d->escaped = 0;
        }
        if (d->len == sizeof d->buf)
            d->overflow = 1;
        else
            d->buf[d->len++] = b;
    }
    *used = len;
    return 0;
}
