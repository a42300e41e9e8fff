/* The protocol client (docs/protocol.md): sequence numbers, bounded
 * retries of the same request, paged READ and multi-frame WRITE
 * transactions, over any transport vtable. */
#include "model_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_ATTEMPTS 3

struct lsws_client {
    const struct lsws_transport *t;
    void *h;
    uint8_t seq;
    int timeout_ms, attempts;
    size_t max_msg;
    struct lsws_client_stats stats;
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
    uint8_t rx[LSWS_MSG_MAX];
};

static const char *const op_names[] = {
    [LSWS_OP_IDENTIFY] = "identify", [LSWS_OP_AUTH] = "auth",       [LSWS_OP_READ] = "read",
    [LSWS_OP_WRITE] = "write",       [LSWS_OP_RESET] = "reset",     [LSWS_OP_REBOOT] = "reboot",
    [LSWS_OP_TIME_SYNC] = "time-sync", [LSWS_OP_PASSWORD] = "password",
};

static const char *op_name(uint8_t op)
{
    return op < sizeof op_names / sizeof op_names[0] && op_names[op] ? op_names[op] : "op";
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int lsws_client_open(const struct lsws_transport *t, const char *rest, const struct lsws_link_opts *opts,
                     struct lsws_client **out, struct lsws_error *err)
{
    if (!t->open || !t->send || !t->recv)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s transport cannot exchange messages",
                         t->scheme);
    struct lsws_client *c = calloc(1, sizeof *c);
    if (!c)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    int rc = t->open(rest, opts, &c->h, err);
    if (rc != LSWS_OK) {
        free(c);
        return rc;
    }
    c->t = t;
    c->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 1000;
    c->attempts = DEFAULT_ATTEMPTS;
    c->max_msg = LSWS_MSG_MAX;
    c->seq = (uint8_t)(time(NULL) & 0xff); /* a fresh session does not reuse the last seq */
    *out = c;
    return LSWS_OK;
}

void lsws_client_close(struct lsws_client *c)
{
    if (!c)
        return;
    if (c->t->close)
        c->t->close(c->h);
    free(c);
}

void lsws_client_set_log(struct lsws_client *c, void (*log)(void *ctx, const char *line), void *ctx)
{
    c->log = log;
    c->log_ctx = ctx;
}

void lsws_client_set_timeout(struct lsws_client *c, int timeout_ms, int attempts)
{
    if (timeout_ms > 0)
        c->timeout_ms = timeout_ms;
    if (attempts > 0)
        c->attempts = attempts;
}

void lsws_client_stats(const struct lsws_client *c, struct lsws_client_stats *stats)
{
    *stats = c->stats;
    if (c->t->wire_bytes)
        c->t->wire_bytes(c->h, &stats->wire_bytes_out, &stats->wire_bytes_in);
}

/* Maps a device status to an lsws error with a message. */
static int status_error(const struct lsws_msg *m, struct lsws_error *err)
{
    switch (m->status) {
    case LSWS_ST_OK:
        return LSWS_OK;
    case LSWS_ST_AUTH_REQUIRED:
    case LSWS_ST_AUTH_FAILED:
        return lsws_fail(err, LSWS_ERR_AUTH, SIZE_MAX, "%s", lsws_proto_status_text(m->status));
    case LSWS_ST_RATE_LIMITED: {
        unsigned wait = m->len >= 2 ? (unsigned)(m->payload[0] | m->payload[1] << 8) : 0;
        return lsws_fail(err, LSWS_ERR_AUTH, SIZE_MAX,
                         "too many wrong passwords: the device refuses logins for %u s", wait);
    }
    case LSWS_ST_INVALID: {
        /* ffff: the refusal concerns the settings as a whole (a rule between them). */
        unsigned off = m->len >= 2 ? (unsigned)(m->payload[0] | m->payload[1] << 8) : 0xffff;
        int n = m->len > 2 ? (int)(m->len - 2) : 0;
        if (n > 200)
            n = 200;
        for (int i = 0; i < n; i++)
            if (m->payload[2 + i] < 0x20 || m->payload[2 + i] >= 0x7f)
                n = i; /* only printable text from the device */
        if (off == 0xffff)
            return lsws_fail(err, LSWS_ERR_DEVICE, SIZE_MAX, "device refused the settings%s%.*s",
                             n ? ": " : "", n, (const char *)m->payload + 2);
        return lsws_fail(err, LSWS_ERR_DEVICE, off, "device refused the settings at byte %u%s%.*s", off,
                         n ? ": " : "", n, (const char *)m->payload + 2);
    }
    case LSWS_ST_UNSUPPORTED:
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "%s", lsws_proto_status_text(m->status));
    default:
        return lsws_fail(err, LSWS_ERR_DEVICE, SIZE_MAX, "device answered %s (status %u)",
                         lsws_proto_status_text(m->status), m->status);
    }
}

static void log_exchange(struct lsws_client *c, uint8_t op, size_t out, size_t in, double ms,
                         int attempt, int status)
{
    if (!c->log)
        return;
    char line[160];
    snprintf(line, sizeof line, "%-9s seq %3u: %4zu bytes out, %4zu in, %7.1f ms%s%s", op_name(op),
             c->seq, out, in, ms, attempt > 1 ? ", retry " : "", "");
    if (attempt > 1)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%d", attempt - 1);
    if (status > 0)
        snprintf(line + strlen(line), sizeof line - strlen(line), ", status %s", lsws_proto_status_text(status));
    c->log(c->log_ctx, line);
}

/* One request/response exchange with retries of the identical request. On
 * success *resp describes the response (payload in c->rx) and the return
 * value is the mapped device status. */
static int exchange(struct lsws_client *c, uint8_t op, const uint8_t *payload, size_t len,
                    struct lsws_msg *resp, struct lsws_error *err)
{
    uint8_t req[LSWS_MSG_MAX];
    size_t rlen;
    c->seq++;
    if (lsws_msg_encode(c->seq, op, -1, payload, len, req, sizeof req, &rlen) != LSWS_OK || rlen > c->max_msg)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s request of %zu bytes is too large", op_name(op), len);
    int rc = LSWS_ERR_TIMEOUT;
    for (int attempt = 1; attempt <= c->attempts; attempt++) {
        double start = now_ms();
        if (attempt > 1)
            c->stats.retries++;
        rc = c->t->send(c->h, req, rlen, err);
        if (rc != LSWS_OK)
            return rc;
        c->stats.msg_bytes_out += rlen;
        /* Wait for the response with our seq; late answers to earlier
         * attempts or requests are dropped. */
        for (;;) {
            int left = c->timeout_ms - (int)(now_ms() - start);
            size_t n = 0;
            if (left <= 0) {
                rc = LSWS_ERR_TIMEOUT;
                break;
            }
            rc = c->t->recv(c->h, c->rx, sizeof c->rx, &n, left, err);
            if (rc != LSWS_OK)
                break;
            c->stats.msg_bytes_in += n;
            struct lsws_error merr;
            if (lsws_msg_decode(c->rx, n, resp, &merr) != LSWS_OK || !resp->response ||
                resp->seq != c->seq || resp->op != op)
                continue;
            c->stats.exchanges++;
            log_exchange(c, op, rlen, n, now_ms() - start, attempt, resp->status);
            return status_error(resp, err);
        }
        if (rc != LSWS_ERR_TIMEOUT)
            return rc;
        log_exchange(c, op, rlen, 0, now_ms() - start, attempt, -1);
    }
    return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "no answer to %s after %d attempts of %d ms",
                     op_name(op), c->attempts, c->timeout_ms);
}

int lsws_client_identify(struct lsws_client *c, struct lsws_device_info *info, struct lsws_error *err)
{
    struct lsws_msg resp;
    int rc = exchange(c, LSWS_OP_IDENTIFY, NULL, 0, &resp, err);
    if (rc != LSWS_OK)
        return rc;
    rc = lsws_info_decode(resp.payload, resp.len, info, err);
    if (rc == LSWS_OK && info->max_payload >= 64 && info->max_payload < c->max_msg)
        c->max_msg = info->max_payload;
    return rc;
}

int lsws_client_auth(struct lsws_client *c, const char *password, struct lsws_device_info *info,
                     struct lsws_error *err)
{
    struct lsws_msg resp;
    size_t n = strlen(password);
    if (n != 6)
        return lsws_fail(err, LSWS_ERR_AUTH, SIZE_MAX, "a device password has 6 characters");
    int rc = exchange(c, LSWS_OP_AUTH, (const uint8_t *)password, n, &resp, err);
    if (rc != LSWS_OK || !info)
        return rc;
    rc = lsws_info_decode(resp.payload, resp.len, info, err);
    if (rc == LSWS_OK && info->max_payload >= 64 && info->max_payload < c->max_msg)
        c->max_msg = info->max_payload;
    return rc;
}

/* Appends the code of each command carrying a present setting of only. */
static size_t read_codes(const struct lsws_config *only, uint8_t *out, size_t cap)
{
    size_t n_cmds, pos = 0;
    const struct lsws_command *cmds = lsws_model_commands(only->model, &n_cmds);
    for (size_t ci = 0; ci < n_cmds; ci++) {
        int wanted = 0;
        for (unsigned f = 0; f < cmds[ci].n_fields; f++) {
            uint16_t ref = cmds[ci].fields[f];
            if (!(ref & LSWS_CMD_CONST) && only->present[ref] &&
                !(only->model->settings[ref].row->flags & LSWS_F_WRITEONLY))
                wanted = 1;
        }
        if (!wanted || pos + 1 + cmds[ci].code_len > cap)
            continue;
        out[pos++] = cmds[ci].code_len;
        for (unsigned b = cmds[ci].code_len; b-- > 0;)
            out[pos++] = (uint8_t)(cmds[ci].code >> (8 * b));
    }
    return pos;
}

int lsws_client_read(struct lsws_client *c, struct lsws_config *cfg, const struct lsws_config *only,
                     struct lsws_error *err)
{
    uint8_t req[LSWS_MSG_MAX];
    size_t codes = only ? read_codes(only, req + 2, c->max_msg - 16) : 0;
    unsigned cursor = 0;
    if (only && !codes)
        return LSWS_OK;
    for (unsigned pages = 0; cursor != LSWS_READ_DONE; pages++) {
        struct lsws_msg resp;
        if (pages > 1000)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "device keeps paging a read");
        req[0] = (uint8_t)cursor;
        req[1] = (uint8_t)(cursor >> 8);
        int rc = exchange(c, LSWS_OP_READ, req, 2 + codes, &resp, err);
        if (rc != LSWS_OK)
            return rc;
        if (resp.len < 2)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "read response without a cursor");
        unsigned next = (unsigned)(resp.payload[0] | resp.payload[1] << 8);
        if (next != LSWS_READ_DONE && next <= cursor)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "read cursor went from %u to %u", cursor, next);
        rc = lsws_settings_decode(cfg, resp.payload + 2, resp.len - 2, err);
        if (rc != LSWS_OK)
            return rc;
        cursor = next;
    }
    return LSWS_OK;
}

/* Splits the encoded TLVs at command boundaries into frames that fit a
 * message; each frame but the last carries LSWS_WRITE_MORE. */
int lsws_client_write(struct lsws_client *c, const struct lsws_config *changes,
                      const struct lsws_config *base, struct lsws_error *err)
{
    static uint8_t tlv[16384];
    uint8_t frame[LSWS_MSG_MAX];
    size_t len, pos = 0, room = c->max_msg - 4 - 1;
    int rc = lsws_settings_encode(changes, base, tlv, sizeof tlv, &len, err);
    while (rc == LSWS_OK && pos < len) {
        size_t cut = pos, span;
        while (cut < len && lsws_settings_span(changes->model, tlv + cut, len - cut, &span, NULL) == LSWS_OK &&
               cut + span - pos <= room)
            cut += span;
        if (cut == pos)
            return lsws_fail(err, LSWS_ERR_RANGE, pos, "a setting command does not fit in one message");
        frame[0] = (uint8_t)((pos == 0 ? LSWS_WRITE_FIRST : 0) | (cut < len ? LSWS_WRITE_MORE : 0));
        memcpy(frame + 1, tlv + pos, cut - pos);
        struct lsws_msg resp;
        rc = exchange(c, LSWS_OP_WRITE, frame, 1 + cut - pos, &resp, err);
        pos = cut;
    }
    return rc;
}

static int simple(struct lsws_client *c, uint8_t op, const uint8_t *payload, size_t len,
                  struct lsws_error *err)
{
    struct lsws_msg resp;
    return exchange(c, op, payload, len, &resp, err);
}

int lsws_client_password(struct lsws_client *c, const char *new_password, struct lsws_error *err)
{
    return simple(c, LSWS_OP_PASSWORD, (const uint8_t *)new_password, strlen(new_password), err);
}

int lsws_client_reset(struct lsws_client *c, struct lsws_error *err)
{
    return simple(c, LSWS_OP_RESET, NULL, 0, err);
}

int lsws_client_reboot(struct lsws_client *c, struct lsws_error *err)
{
    return simple(c, LSWS_OP_REBOOT, NULL, 0, err);
}

int lsws_client_time_sync(struct lsws_client *c, uint32_t unix_time, int16_t tz_minutes,
                          struct lsws_error *err)
{
    uint8_t p[6] = {(uint8_t)unix_time, (uint8_t)(unix_time >> 8), (uint8_t)(unix_time >> 16),
                    (uint8_t)(unix_time >> 24), (uint8_t)tz_minutes, (uint8_t)((uint16_t)tz_minutes >> 8)};
    return simple(c, LSWS_OP_TIME_SYNC, p, sizeof p, err);
}
