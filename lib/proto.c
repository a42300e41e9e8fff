/* Application messages of the lsws configuration protocol (docs/protocol.md):
 * header encode/decode and the IDENTIFY payload. Pure and bounded. */
#include "lsws.h"

#include <stdio.h>
#include <string.h>

static const char *const status_texts[] = {
    [LSWS_ST_OK] = "ok",
    [LSWS_ST_BAD_REQUEST] = "bad request",
    [LSWS_ST_UNKNOWN_OP] = "unknown operation",
    [LSWS_ST_AUTH_REQUIRED] = "authentication required",
    [LSWS_ST_AUTH_FAILED] = "wrong password",
    [LSWS_ST_RATE_LIMITED] = "too many wrong passwords: try again later",
    [LSWS_ST_INVALID] = "setting refused",
    [LSWS_ST_BUSY] = "device busy",
    [LSWS_ST_UNSUPPORTED] = "not supported by the device",
    [LSWS_ST_STORAGE] = "device could not store the change",
    [LSWS_ST_SEQUENCE] = "out of sequence",
    [LSWS_ST_CHECKSUM] = "checksum mismatch",
    [LSWS_ST_STORAGE_OFF] = "data storage is disabled",
    [LSWS_ST_NO_CLOCK] = "the device clock is not set",
};

const char *lsws_proto_status_text(int status)
{
    if (status < 0 || (size_t)status >= sizeof status_texts / sizeof status_texts[0] ||
        !status_texts[status])
        return "unknown status";
    return status_texts[status];
}

int lsws_msg_encode(uint8_t seq, uint8_t op, int status, const uint8_t *payload, size_t len,
                    uint8_t *out, size_t cap, size_t *olen)
{
    size_t head = status < 0 ? 3 : 4;
    if (head + len > cap || head + len > LSWS_MSG_MAX)
        return LSWS_ERR_RANGE;
    out[0] = LSWS_PROTO_VERSION;
    out[1] = seq;
    out[2] = status < 0 ? op : (uint8_t)(op | LSWS_OP_RESPONSE);
    if (status >= 0)
        out[3] = (uint8_t)status;
    if (len)
        memcpy(out + head, payload, len);
    *olen = head + len;
    return LSWS_OK;
}

int lsws_msg_decode(const uint8_t *in, size_t len, struct lsws_msg *msg, struct lsws_error *err)
{
    memset(msg, 0, sizeof *msg);
    if (len < 3)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "truncated message: %zu bytes, need at least 3", len);
    msg->version = in[0];
    msg->seq = in[1];
    msg->op = in[2] & (uint8_t)~LSWS_OP_RESPONSE;
    msg->response = (in[2] & LSWS_OP_RESPONSE) != 0;
    if (msg->version != LSWS_PROTO_VERSION)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, 0, "protocol version %u, expected %u", in[0],
                         LSWS_PROTO_VERSION);
    size_t head = 3;
    if (msg->response) {
        if (len < 4)
            return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "truncated response: no status byte");
        msg->status = in[3];
        head = 4;
    }
    msg->payload = in + head;
    msg->len = len - head;
    return LSWS_OK;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

int lsws_info_encode(const struct lsws_device_info *info, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t sn[8];
    size_t n;
    if (cap < LSWS_INFO_LEN || lsws_hex_parse(info->sn, sn, sizeof sn, &n, NULL) != LSWS_OK || n != 8)
        return LSWS_ERR_INVALID;
    out[0] = (uint8_t)info->model;
    out[1] = info->proto;
    memcpy(out + 2, sn, 8);
    memcpy(out + 10, info->dev_eui, 8);
    /* versions: the vendor's byte order, major then minor (docs/protocol.md) */
    out[18] = (uint8_t)(info->hw >> 8);
    out[19] = (uint8_t)info->hw;
    out[20] = (uint8_t)(info->fw >> 8);
    out[21] = (uint8_t)info->fw;
    out[22] = info->band;
    put16(out + 23, info->max_payload);
    out[25] = info->flags;
    for (int i = 0; i < 4; i++)
        out[26 + i] = (uint8_t)(info->time >> (8 * i));
    put16(out + 30, (uint16_t)info->tz_minutes);
    *len = LSWS_INFO_LEN;
    return LSWS_OK;
}

/* Hardware 0x0120 is v1.2 (minor in the high nibble); firmware 0x0114 is
 * v1.14 (the minor byte read as hex digits), as in the vendor's basic
 * information and the WS523 guides' examples. */
void lsws_version_format(uint16_t v, int hardware, char *buf, size_t n)
{
    if (hardware)
        snprintf(buf, n, "v%u.%u", (unsigned)(v >> 8), (unsigned)((v & 0xff) >> 4));
    else
        snprintf(buf, n, "v%u.%x", (unsigned)(v >> 8), (unsigned)(v & 0xff));
}

int lsws_info_decode(const uint8_t *in, size_t len, struct lsws_device_info *info,
                     struct lsws_error *err)
{
    memset(info, 0, sizeof *info);
    if (len < LSWS_INFO_LEN)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "truncated device information: %zu of %d bytes",
                         len, LSWS_INFO_LEN);
    if (in[0] >= LSWS_MODEL_COUNT)
        return lsws_fail(err, LSWS_ERR_MODEL, 0, "device reports unknown model %u", in[0]);
    info->model = (enum lsws_model_id)in[0];
    info->proto = in[1];
    lsws_hex_format(in + 2, 8, info->sn);
    memcpy(info->dev_eui, in + 10, 8);
    info->hw = (uint16_t)(in[18] << 8 | in[19]);
    info->fw = (uint16_t)(in[20] << 8 | in[21]);
    info->band = in[22];
    info->max_payload = (uint16_t)get16(in + 23);
    info->flags = in[25];
    info->time = (uint32_t)in[26] | (uint32_t)in[27] << 8 | (uint32_t)in[28] << 16 | (uint32_t)in[29] << 24;
    info->tz_minutes = (int16_t)get16(in + 30);
    if (!lsws_band_at(info->band))
        return lsws_fail(err, LSWS_ERR_PROTOCOL, 22, "device reports unknown band %u", info->band);
    return LSWS_OK;
}
