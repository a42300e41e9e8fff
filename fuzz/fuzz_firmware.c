/* libFuzzer target for firmware images and their transfer (lib/firmware.c,
 * sim/firmware.c). The first input byte chooses what the rest is:
 *   0: a firmware image file: lsws_fw_header_parse and lsws_fw_image_check.
 *      An accepted header re-encodes from its fields to the very same 128
 *      bytes; every error has a negative code, a message and an offset
 *      within the input;
 *   1: an FW_BEGIN payload: lsws_fw_begin_decode; accepted, it re-encodes
 *      to the same 48 bytes;
 *   2: a session with a simulated unit (in memory) after AUTH: records of
 *      op (1: 0 FW_BEGIN, 1 FW_DATA, 2 FW_END, else IDENTIFY), length (1)
 *      and payload. Every request gets one well-formed answer with its
 *      sequence number; an FW_DATA acknowledged OK moves the unit's next
 *      offset forward by exactly its data length; the unit never reports
 *      a version other than the factory one or one it was offered.
 *
 *   fuzz_firmware -max_total_time=60 [corpus/] fuzz/seeds/firmware
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lsws.h"
#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int rc, const struct lsws_error *err, size_t len)
{
    if (rc >= 0 || err->code != rc || !err->msg[0] || (err->offset != SIZE_MAX && err->offset > len))
        abort();
}

static void image(const uint8_t *p, size_t n)
{
    struct lsws_fw_header h;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_fw_header_parse(p, n, &h, &err);
    if (rc != LSWS_OK) {
        check_error(rc, &err, n);
    } else {
        struct lsws_fw_header again = h;
        memset(again.raw, 0, sizeof again.raw);
        if (lsws_fw_header_encode(&again, NULL) != LSWS_OK || memcmp(again.raw, p, LSWS_FW_HEADER_LEN) != 0)
            abort();
    }
    lsws_error_clear(&err);
    rc = lsws_fw_image_check(p, n, &h, &err);
    if (rc != LSWS_OK)
        check_error(rc, &err, n);
    else if (n != LSWS_FW_HEADER_LEN + (size_t)h.payload_len)
        abort();
}

static void begin(const uint8_t *p, size_t n)
{
    struct lsws_fw_header h;
    struct lsws_error err;
    unsigned flags;
    lsws_error_clear(&err);
    int rc = lsws_fw_begin_decode(p, n, &h, &flags, &err);
    if (rc != LSWS_OK) {
        check_error(rc, &err, n);
        return;
    }
    uint8_t out[LSWS_FW_BEGIN_LEN];
    lsws_fw_begin_encode(&h, flags, out);
    if (n != LSWS_FW_BEGIN_LEN || memcmp(out, p, n) != 0)
        abort();
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int exchange(struct lsws_sim *sim, uint8_t *seq, uint8_t op, const uint8_t *p, size_t n, struct lsws_msg *m,
                    uint8_t *resp)
{
    uint8_t req[LSWS_MSG_MAX];
    size_t len, rlen = 0;
    if (lsws_msg_encode(++*seq, op, -1, p, n, req, sizeof req, &len) != LSWS_OK)
        abort();
    lsws_sim_handle(sim, req, len, resp, LSWS_MSG_MAX, &rlen, 1000);
    if (rlen < 4 || lsws_msg_decode(resp, rlen, m, NULL) != LSWS_OK || !m->response || m->seq != *seq ||
        m->op != op)
        abort();
    return m->status;
}

static void session(const uint8_t *p, size_t n)
{
    static const uint8_t ops[] = {LSWS_OP_FW_BEGIN, LSWS_OP_FW_DATA, LSWS_OP_FW_END};
    struct lsws_sim_opts o = {.model = LSWS_MODEL_WS523};
    struct lsws_sim *sim;
    uint8_t seq = 0, resp[LSWS_MSG_MAX];
    struct lsws_msg m;
    uint16_t factory_hw, factory_fw, offered[64];
    size_t n_offered = 0;
    int64_t expect = -1; /* the unit's next offset, when known */
    if (lsws_sim_new(&o, &sim, NULL) != LSWS_OK)
        return;
    lsws_sim_factory_versions(LSWS_MODEL_WS523, &factory_hw, &factory_fw);
    if (exchange(sim, &seq, LSWS_OP_AUTH, (const uint8_t *)"123456", 6, &m, resp) != LSWS_ST_OK)
        abort();
    for (size_t pos = 0; pos + 2 <= n;) {
        uint8_t op = p[pos] < 3 ? ops[p[pos]] : LSWS_OP_IDENTIFY;
        size_t len = p[pos + 1];
        pos += 2;
        if (len > n - pos)
            len = n - pos;
        if (op == LSWS_OP_IDENTIFY)
            len = 0;
        const uint8_t *q = p + pos;
        pos += len;
        if (op == LSWS_OP_FW_BEGIN && len >= 8 && n_offered < 64)
            offered[n_offered++] = (uint16_t)(q[6] << 8 | q[7]);
        int st = exchange(sim, &seq, op, q, len, &m, resp);
        if (op == LSWS_OP_FW_BEGIN)
            expect = st == LSWS_ST_OK && m.len >= 4 ? (int64_t)get32(m.payload) : -1;
        else if (op == LSWS_OP_FW_DATA && st == LSWS_ST_OK) {
            if (m.len < 4 || len < 9 || (expect >= 0 && get32(m.payload) != expect + (int64_t)(len - 8)))
                abort();
            expect = get32(m.payload);
        } else if (op == LSWS_OP_FW_END && st == LSWS_ST_OK) {
            expect = -1;
            /* rebooted: log in again */
            if (exchange(sim, &seq, LSWS_OP_AUTH, (const uint8_t *)"123456", 6, &m, resp) != LSWS_ST_OK)
                abort();
        } else if (op == LSWS_OP_IDENTIFY) {
            struct lsws_device_info info;
            if (st != LSWS_ST_OK || lsws_info_decode(m.payload, m.len, &info, NULL) != LSWS_OK)
                abort();
            int known = info.fw == factory_fw;
            for (size_t i = 0; i < n_offered; i++)
                known |= info.fw == offered[i];
            if (!known)
                abort();
        }
    }
    lsws_sim_free(sim);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0]) {
    case 0:
        image(data + 1, size - 1);
        break;
    case 1:
        begin(data + 1, size - 1);
        break;
    case 2:
        session(data + 1, size - 1);
        break;
    default:
        break;
    }
    return 0;
}
