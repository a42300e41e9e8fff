/* Fault injection: the options lsws-sim and sim: URIs take, and applying
 * them to one request frame the same way on every transport. */
#include "sim_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FRAME_MAX 1000000ul    /* frame numbers 1..FRAME_MAX */
#define MS_MAX 600000ul         /* delays and latency up to 10 minutes */
#define BPS_MAX 100000000ul     /* 100 MB/s is as good as unlimited */
#define BYTES_MAX 4000000000ul  /* disconnect_after */
#define FW_OFFSET_MAX ((unsigned long)LSWS_FW_PAYLOAD_MAX) /* fw_drop_at */

static const struct {
    const char *name;
    int status;
} status_names[] = {
    {"bad_request", LSWS_ST_BAD_REQUEST}, {"unknown_op", LSWS_ST_UNKNOWN_OP},
    {"auth_required", LSWS_ST_AUTH_REQUIRED}, {"auth_failed", LSWS_ST_AUTH_FAILED},
    {"rate_limited", LSWS_ST_RATE_LIMITED}, {"invalid", LSWS_ST_INVALID},
    {"busy", LSWS_ST_BUSY}, {"unsupported", LSWS_ST_UNSUPPORTED},
    {"storage", LSWS_ST_STORAGE}, {"sequence", LSWS_ST_SEQUENCE},
};

/* Digits only (no sign, no spaces), at most max. */
static int parse_num(const char *s, size_t len, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (len == 0 || len > 12)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > max)
            return -1;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_list(unsigned list[LSWS_SIM_FAULTS], const char *name, const char *value,
                      struct lsws_error *err)
{
    unsigned tmp[LSWS_SIM_FAULTS] = {0};
    size_t n = 0;
    const char *p = value;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        unsigned long v;
        if (parse_num(p, len, FRAME_MAX, &v) < 0 || v == 0)
            return lsws_fail(err, LSWS_ERR_INVALID, (size_t)(p - value),
                             "%s: '%.*s' in '%s' is not a frame number (1-%lu)", name, (int)len, p,
                             value, FRAME_MAX);
        if (n == LSWS_SIM_FAULTS)
            return lsws_fail(err, LSWS_ERR_RANGE, (size_t)(p - value),
                             "%s: '%s' lists more than %d frame numbers", name, value, LSWS_SIM_FAULTS);
        tmp[n++] = (unsigned)v;
        if (!comma)
            break;
        p = comma + 1;
    }
    memcpy(list, tmp, sizeof tmp);
    return LSWS_OK;
}

static int parse_status(int *out, const char *value, struct lsws_error *err)
{
    unsigned long v;
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (strcasecmp(value, status_names[i].name) == 0) {
            *out = status_names[i].status;
            return LSWS_OK;
        }
    if (parse_num(value, strlen(value), 255, &v) < 0 || v == 0)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "refuse_status: '%s' is not a status (1-255, or busy, storage, invalid, "
                         "unsupported, auth_required, auth_failed, rate_limited, sequence, "
                         "bad_request, unknown_op)", value);
    *out = (int)v;
    return LSWS_OK;
}

static int parse_scalar(unsigned long *out, const char *name, const char *value, unsigned long max,
                        struct lsws_error *err)
{
    if (parse_num(value, strlen(value), max, out) < 0)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: '%s' is not a number from 0 to %lu",
                         name, value, max);
    return LSWS_OK;
}

int lsws_sim_fault_option(struct lsws_sim_faults *f, const char *name, const char *value,
                          struct lsws_error *err)
{
    char key[32];
    size_t i;
    if (!name || !value)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "fault option without a name or value");
    for (i = 0; name[i] && i + 1 < sizeof key; i++)
        key[i] = name[i] == '-' ? '_' : name[i]; /* --delay-ms and delay_ms */
    key[i] = '\0';
    unsigned long v;
    int rc;
    if (strcmp(key, "drop") == 0)
        return parse_list(f->drop, "drop", value, err);
    if (strcmp(key, "corrupt") == 0)
        return parse_list(f->corrupt, "corrupt", value, err);
    if (strcmp(key, "delay") == 0)
        return parse_list(f->delay, "delay", value, err);
    if (strcmp(key, "refuse") == 0)
        return parse_list(f->refuse, "refuse", value, err);
    if (strcmp(key, "refuse_status") == 0)
        return parse_status(&f->refuse_status, value, err);
    if (strcmp(key, "delay_ms") == 0) {
        if ((rc = parse_scalar(&v, key, value, MS_MAX, err)) == LSWS_OK)
            f->delay_ms = (unsigned)v;
        return rc;
    }
    if (strcmp(key, "latency_ms") == 0) {
        if ((rc = parse_scalar(&v, key, value, MS_MAX, err)) == LSWS_OK)
            f->latency_ms = (unsigned)v;
        return rc;
    }
    if (strcmp(key, "link_bps") == 0) {
        if ((rc = parse_scalar(&v, key, value, BPS_MAX, err)) == LSWS_OK)
            f->link_bps = (unsigned)v;
        return rc;
    }
    if (strcmp(key, "disconnect_after") == 0) {
        if ((rc = parse_scalar(&v, key, value, BYTES_MAX, err)) == LSWS_OK)
            f->disconnect_after = v;
        return rc;
    }
    if (strcmp(key, "fw_bad_checksum") == 0 || strcmp(key, "fw_refuse_commit") == 0) {
        if ((rc = parse_scalar(&v, key, value, 1, err)) == LSWS_OK)
            *(key[3] == 'b' ? &f->fw_bad_checksum : &f->fw_refuse_commit) = (int)v;
        return rc;
    }
    if (strcmp(key, "fw_drop_at") == 0) {
        if ((rc = parse_scalar(&v, key, value, FW_OFFSET_MAX, err)) == LSWS_OK) {
            f->fw_drop = 1;
            f->fw_drop_at = v;
        }
        return rc;
    }
    if (strcmp(key, "fw_corrupt") == 0)
        return parse_list(f->fw_corrupt, "fw_corrupt", value, err);
    return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                     "unknown fault option '%s' (drop, corrupt, delay, delay_ms, refuse, "
                     "refuse_status, disconnect_after, link_bps, latency_ms, fw_bad_checksum, "
                     "fw_refuse_commit, fw_drop_at, fw_corrupt)", name);
}

int lsws_sim_fault_listed(const unsigned list[LSWS_SIM_FAULTS], unsigned long n)
{
    for (int i = 0; i < LSWS_SIM_FAULTS && list[i]; i++)
        if (list[i] == n)
            return 1;
    return 0;
}

/* fw_drop_at: req is an FW_DATA request whose chunk carries that byte. */
static int fw_drops(const struct lsws_sim_faults *f, const uint8_t *req, size_t len)
{
    if (!f->fw_drop || len < 3 + 8 + 1 || req[0] != LSWS_PROTO_VERSION || req[2] != LSWS_OP_FW_DATA)
        return 0;
    unsigned long off = (unsigned long)req[3] | (unsigned long)req[4] << 8 | (unsigned long)req[5] << 16 |
                        (unsigned long)req[6] << 24;
    return off <= f->fw_drop_at && f->fw_drop_at < off + (len - 3 - 8);
}

unsigned lsws_sim_serve(struct lsws_sim *sim, const struct lsws_sim_faults *f, unsigned long n,
                        const uint8_t *req, size_t len, uint8_t *resp, size_t cap, size_t *rlen,
                        uint64_t now_ms)
{
    unsigned what = 0;
    uint8_t changed[LSWS_MSG_MAX];
    *rlen = 0;
    if (lsws_sim_fault_listed(f->drop, n))
        return LSWS_SIM_DROPPED; /* lost on the way: the device never saw it */
    if (fw_drops(f, req, len))
        return LSWS_SIM_DROPPED | LSWS_SIM_HANGUP; /* the link breaks during the chunk */
    sim_fw_set_faults(sim_fw_of(sim), f);
    if (len <= sizeof changed && sim_fw_corrupts(sim_fw_of(sim), f, req, len)) {
        /* A chunk damaged on the way in a way the link did not catch: one
         * bit of its last data byte flipped. */
        memcpy(changed, req, len);
        changed[len - 1] ^= 0x10;
        req = changed;
    }
    if (lsws_sim_fault_listed(f->refuse, n)) {
        /* Answered, not executed: the device refused it. */
        int status = f->refuse_status > 0 ? f->refuse_status : LSWS_ST_BUSY;
        uint8_t p[40] = {0};
        size_t plen = 0;
        if (status == LSWS_ST_RATE_LIMITED) {
            p[0] = 1; /* seconds to wait */
            plen = 2;
        } else if (status == LSWS_ST_INVALID) {
            static const char msg[] = "refused by fault injection";
            p[0] = p[1] = 0xff;
            memcpy(p + 2, msg, sizeof msg - 1);
            plen = 2 + sizeof msg - 1;
        }
        uint8_t seq = len > 1 ? req[1] : 0, op = (uint8_t)(len > 2 ? req[2] & ~LSWS_OP_RESPONSE : 0);
        if (lsws_msg_encode(seq, op, status & 0xff, p, plen, resp, cap, rlen) != LSWS_OK)
            *rlen = 0;
        what |= LSWS_SIM_REFUSED;
    } else {
        lsws_sim_handle(sim, req, len, resp, cap, rlen, now_ms);
    }
    if (lsws_sim_fault_listed(f->corrupt, n))
        what |= LSWS_SIM_CORRUPTED;
    if (lsws_sim_fault_listed(f->delay, n))
        what |= LSWS_SIM_DELAYED;
    return what;
}
