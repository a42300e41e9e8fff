/* The protocol client (docs/protocol.md): sequence numbers, bounded
 * retries of the same request, paged READ and multi-frame WRITE
 * transactions, over any transport vtable. */
#include "model_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#define DEFAULT_ATTEMPTS 3

struct lsws_client {
    struct lsws_uri uri;
    const struct lsws_transport *t;
    struct lsws_link_opts opts;
    void *h; /* NULL while the link is down */
    uint8_t seq;
    int timeout_ms, attempts;
    double deadline; /* ms on the monotonic clock; 0: none */
    int deadline_total;
    size_t link_max, device_max;
    size_t link_frag; /* the link's fragment size; 0: uncut */
    int maybe_applied;
    int reconnecting;
    /* the unit the session identified first: a reconnect must reach it */
    int known;
    enum lsws_model_id model;
    char sn[17];
    int other_unit; /* the last reconnect reached another unit */
    int holder_pid; /* the link is an `lsws hold` process's; 0: our own */
    char password[16]; /* for reconnect; "" when not authenticated */
    struct lsws_client_stats stats;
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
    uint8_t rx[LSWS_MSG_MAX];
};

static const char *const op_names[] = {
    [LSWS_OP_IDENTIFY] = "identify", [LSWS_OP_AUTH] = "auth",       [LSWS_OP_READ] = "read",
    [LSWS_OP_WRITE] = "write",       [LSWS_OP_RESET] = "reset",     [LSWS_OP_REBOOT] = "reboot",
    [LSWS_OP_TIME_SYNC] = "time-sync", [LSWS_OP_PASSWORD] = "password",
    [LSWS_OP_FW_BEGIN] = "fw-begin", [LSWS_OP_FW_DATA] = "fw-data",  [LSWS_OP_FW_END] = "fw-end",
    [LSWS_OP_HISTORY] = "history",
};

static const char *op_name(uint8_t op)
{
    return op < sizeof op_names / sizeof op_names[0] && op_names[op] ? op_names[op] : "op";
}

/* Requests the device may execute twice without harm: after a dropped link
 * the client reconnects and sends them again by itself. */
static int idempotent(uint8_t op)
{
    return op == LSWS_OP_IDENTIFY || op == LSWS_OP_READ;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A sequence number a previous session is unlikely to have used, so a late
 * answer to another session's request is never taken for ours. */
static uint8_t random_seq(void)
{
    uint8_t b = 0;
    if (getrandom(&b, 1, GRND_NONBLOCK) != 1)
        b = (uint8_t)(time(NULL) ^ getpid());
    return b;
}

static int open_link(struct lsws_client *c, struct lsws_error *err)
{
    /* The link may come from an `lsws hold` process, whose vtable then
     * drives it: c->t can change on each reconnect (the holder went away). */
    int rc = c->uri.open_link ? c->uri.open_link(&c->uri, &c->opts, &c->t, &c->h, &c->holder_pid, err)
                              : c->uri.transport->open(&c->uri, &c->opts, &c->h, err);
    if (rc != LSWS_OK) {
        c->h = NULL;
        return rc;
    }
    struct lsws_link_limits lim = {LSWS_MSG_MAX, 0};
    if (c->t->limits)
        c->t->limits(c->h, &lim);
    c->link_max = lim.max_msg >= LSWS_MSG_MIN && lim.max_msg < LSWS_MSG_MAX ? lim.max_msg : LSWS_MSG_MAX;
    c->link_frag = lim.fragment;
    return LSWS_OK;
}

static void close_link(struct lsws_client *c)
{
    if (c->h && c->t->close)
        c->t->close(c->h);
    c->h = NULL;
}

int lsws_client_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, struct lsws_client **out,
                     struct lsws_error *err)
{
    const struct lsws_transport *t = uri->transport;
    if (!t || !t->open || !t->send || !t->recv)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s transport cannot exchange messages",
                         t ? t->scheme : "(none)");
    unsigned timeout;
    int rc = lsws_uri_opt_uint(uri, "timeout", 10, 600000, t->timeout_ms > 0 ? (unsigned)t->timeout_ms : 1000,
                               &timeout, err);
    if (rc != LSWS_OK)
        return rc;
    struct lsws_client *c = calloc(1, sizeof *c);
    if (!c)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    c->uri = *uri;
    /* The copy's option pointers must point into the copy's buffer. */
    c->uri.path = c->uri.buf + (uri->path - uri->buf);
    for (size_t i = 0; i < uri->n_opt; i++) {
        c->uri.opt[i].name = c->uri.buf + (uri->opt[i].name - uri->buf);
        c->uri.opt[i].value = c->uri.buf + (uri->opt[i].value - uri->buf);
    }
    c->t = t;
    if (opts)
        c->opts = *opts;
    c->timeout_ms = (int)timeout;
    c->attempts = DEFAULT_ATTEMPTS;
    c->device_max = LSWS_MSG_MAX;
    c->seq = random_seq();
    if ((rc = open_link(c, err)) != LSWS_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return LSWS_OK;
}

void lsws_client_close(struct lsws_client *c)
{
    if (!c)
        return;
    close_link(c);
    explicit_bzero(c->password, sizeof c->password);
    free(c);
}

int lsws_client_present(struct lsws_client *c, struct lsws_error *err)
{
    if (!c->t->present)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s transport cannot tell whether '%s' is still "
                         "in reach", c->uri.transport->scheme, c->uri.text);
    if (!c->h)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': the link is down", c->uri.text);
    return c->t->present(c->h, err);
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

void lsws_client_set_deadline(struct lsws_client *c, int total_ms)
{
    c->deadline_total = total_ms > 0 ? total_ms : 0;
    c->deadline = total_ms > 0 ? now_ms() + total_ms : 0;
}

void lsws_client_stats(const struct lsws_client *c, struct lsws_client_stats *stats)
{
    *stats = c->stats;
    if (c->h && c->t->wire_bytes)
        c->t->wire_bytes(c->h, &stats->wire_bytes_out, &stats->wire_bytes_in);
}

size_t lsws_client_max_msg(const struct lsws_client *c)
{
    size_t m = LSWS_MSG_MAX;
    if (c->link_max < m)
        m = c->link_max;
    if (c->device_max < m)
        m = c->device_max;
    return m;
}

size_t lsws_client_fragment(const struct lsws_client *c)
{
    return c->link_frag;
}

size_t lsws_client_bulk_msg(const struct lsws_client *c)
{
    size_t max = lsws_client_max_msg(c), frag = c->link_frag;
    /* Only BLE's fragments cost a radio interval each; NFC's APDUs and an
     * uncut link gain nothing from smaller messages. */
    if (!frag || strcmp(c->uri.transport->scheme, "ble") != 0)
        return max;
    size_t best = max, best_n = lsws_ble_fragment_count(max, frag);
    for (size_t m = max; best_n && m > max / 2 && m >= LSWS_MSG_MIN; m--) {
        size_t n = lsws_ble_fragment_count(m, frag);
        if (n && m * best_n > best * n) { /* more message bytes per fragment */
            best = m;
            best_n = n;
        }
    }
    return best;
}

unsigned lsws_client_window(const struct lsws_client *c, unsigned window)
{
    /* An NFC reader exchanges one APDU at a time: one request in flight. */
    if (window < 1 || strcmp(c->uri.transport->scheme, "nfc") == 0)
        return 1;
    return window > LSWS_PIPELINE_MAX ? LSWS_PIPELINE_MAX : window;
}

const char *lsws_client_uri(const struct lsws_client *c)
{
    return c->uri.text;
}

int lsws_client_holder(const struct lsws_client *c)
{
    return c->holder_pid;
}

int lsws_client_maybe_applied(const struct lsws_client *c)
{
    return c->maybe_applied;
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

static int deadline_passed(const struct lsws_client *c, struct lsws_error *err)
{
    return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "'%s': the command did not finish within its deadline of %d s",
                     c->uri.text, (c->deadline_total + 999) / 1000);
}

/* One request/response exchange with retries of the identical request. On
 * success *resp describes the response (payload in c->rx) and the return
 * value is the mapped device status. Sets c->maybe_applied when the request
 * may have run although the exchange failed. */
static int exchange_once(struct lsws_client *c, uint8_t op, const uint8_t *payload, size_t len,
                         struct lsws_msg *resp, struct lsws_error *err)
{
    uint8_t req[LSWS_MSG_MAX];
    size_t rlen;
    int sent = 0; /* a copy of the request reached the link without an answer */
    c->maybe_applied = 0;
    if (!c->h)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': link closed", c->uri.text);
    c->seq++;
    if (lsws_msg_encode(c->seq, op, -1, payload, len, req, sizeof req, &rlen) != LSWS_OK ||
        rlen > lsws_client_max_msg(c))
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s request of %zu bytes is larger than the %zu bytes "
                         "'%s' takes", op_name(op), rlen, lsws_client_max_msg(c), c->uri.text);
    int rc = LSWS_ERR_TIMEOUT;
    for (int attempt = 1; attempt <= c->attempts; attempt++) {
        double start = now_ms();
        int limit = c->timeout_ms;
        if (c->deadline) {
            double left = c->deadline - start;
            if (left <= 0) {
                c->maybe_applied = sent;
                return deadline_passed(c, err);
            }
            if (left < limit)
                limit = (int)left + 1;
        }
        if (attempt > 1)
            c->stats.retries++;
        rc = c->t->send(c->h, req, rlen, err);
        if (rc != LSWS_OK) {
            c->maybe_applied = sent;
            return rc;
        }
        sent = 1;
        c->stats.msg_bytes_out += rlen;
        /* Wait for the response with our seq; late answers to earlier
         * attempts or requests are dropped. */
        for (;;) {
            int left = limit - (int)(now_ms() - start);
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
                resp->seq != c->seq || resp->op != op) {
                memset(resp, 0, sizeof *resp); /* not our answer: none yet */
                continue;
            }
            c->stats.exchanges++;
            log_exchange(c, op, rlen, n, now_ms() - start, attempt, resp->status);
            rc = status_error(resp, err);
            /* A refusal of a retry says nothing of the first copy, which the
             * device may have executed before its answer was lost. */
            c->maybe_applied = rc != LSWS_OK && attempt > 1;
            return rc;
        }
        if (rc != LSWS_ERR_TIMEOUT) {
            c->maybe_applied = 1;
            return rc;
        }
        log_exchange(c, op, rlen, 0, now_ms() - start, attempt, -1);
    }
    c->maybe_applied = 1;
    if (c->deadline && now_ms() >= c->deadline)
        return deadline_passed(c, err);
    return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "no answer to %s after %d attempts of %d ms", op_name(op),
                     c->attempts, c->timeout_ms);
}

/* exchange_once, and for requests that may run twice: after the link
 * dropped, or the device ended the session (the CTH01 does after 3 minutes
 * without data), reconnect, authenticate again and send once more. */
static int exchange(struct lsws_client *c, uint8_t op, const uint8_t *payload, size_t len,
                    struct lsws_msg *resp, struct lsws_error *err)
{
    memset(resp, 0, sizeof *resp);
    int rc = exchange_once(c, op, payload, len, resp, err);
    int lost = rc == LSWS_ERR_NODEV || (rc == LSWS_ERR_AUTH && resp->status == LSWS_ST_AUTH_REQUIRED && c->password[0]);
    if (!lost || !idempotent(op) || c->reconnecting)
        return rc;
    struct lsws_error rerr;
    lsws_error_clear(&rerr);
    if (lsws_client_reconnect(c, &rerr) != LSWS_OK)
        return rc; /* the first error says what happened */
    return exchange_once(c, op, payload, len, resp, err);
}

/* The device's own limit, from IDENTIFY or AUTH. */
static int take_info(struct lsws_client *c, const struct lsws_msg *resp, struct lsws_device_info *info,
                     struct lsws_error *err)
{
    int rc = lsws_info_decode(resp->payload, resp->len, info, err);
    if (rc != LSWS_OK)
        return rc;
    if (info->max_payload < LSWS_MSG_MIN)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, 23, "'%s' announces a largest message of %u bytes: the protocol "
                         "needs at least %d", c->uri.text, info->max_payload, LSWS_MSG_MIN);
    c->device_max = info->max_payload;
    if (!c->known) {
        c->known = 1;
        c->model = info->model;
        memcpy(c->sn, info->sn, sizeof c->sn);
    }
    return LSWS_OK;
}

int lsws_client_identify(struct lsws_client *c, struct lsws_device_info *info, struct lsws_error *err)
{
    struct lsws_msg resp;
    int rc = exchange(c, LSWS_OP_IDENTIFY, NULL, 0, &resp, err);
    return rc != LSWS_OK ? rc : take_info(c, &resp, info, err);
}

int lsws_client_auth(struct lsws_client *c, const char *password, struct lsws_device_info *info,
                     struct lsws_error *err)
{
    struct lsws_msg resp;
    struct lsws_device_info scratch;
    size_t n = strlen(password);
    if (n != 6)
        return lsws_fail(err, LSWS_ERR_AUTH, SIZE_MAX, "a device password has 6 characters");
    int rc = exchange(c, LSWS_OP_AUTH, (const uint8_t *)password, n, &resp, err);
    if (rc == LSWS_OK)
        rc = take_info(c, &resp, info ? info : &scratch, err);
    if (rc == LSWS_OK && password != c->password)
        memcpy(c->password, password, n + 1);
    return rc;
}

int lsws_client_reconnect(struct lsws_client *c, struct lsws_error *err)
{
    struct lsws_device_info info;
    c->reconnecting = 1;
    c->other_unit = 0;
    close_link(c);
    int rc = open_link(c, err);
    /* A unit known from before identifies first (IDENTIFY needs no
     * password), so that another unit never gets this one's password. */
    if (rc == LSWS_OK && (c->known || !c->password[0]))
        rc = lsws_client_identify(c, &info, err);
    if (rc == LSWS_OK && c->known && (info.model != c->model || strcmp(info.sn, c->sn) != 0)) {
        /* The port or the name leads to another unit now (a pty number
         * reused, another hub in reach): nothing meant for the session's
         * unit may go to it, nor its answers be taken for that unit's. */
        close_link(c);
        c->other_unit = 1;
        c->reconnecting = 0;
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX,
                         "after the link was lost, '%s' leads to another unit (%s %s, not %s %s)", c->uri.text,
                         lsws_model_get(info.model)->name, info.sn, lsws_model_get(c->model)->name, c->sn);
    }
    if (rc == LSWS_OK && c->password[0])
        rc = lsws_client_auth(c, c->password, &info, err);
    c->reconnecting = 0;
    if (rc == LSWS_OK)
        c->stats.reconnects++;
    return rc;
}

int lsws_client_other_unit(const struct lsws_client *c)
{
    return c->other_unit;
}

/* Appends (length, code) of each command carrying a present readable setting of only. */
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

/* One READ request (cursor and a list of codes, or none: everything), paged. */
static int read_pages(struct lsws_client *c, struct lsws_config *cfg, const uint8_t *codes, size_t n_codes,
                      struct lsws_error *err)
{
    uint8_t req[LSWS_MSG_MAX];
    unsigned cursor = 0;
    if (n_codes) /* codes is NULL for a read of everything */
        memcpy(req + 2, codes, n_codes);
    for (unsigned pages = 0; cursor != LSWS_READ_DONE; pages++) {
        struct lsws_msg resp;
        if (pages > 1000)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s' keeps paging a read", c->uri.text);
        req[0] = (uint8_t)cursor;
        req[1] = (uint8_t)(cursor >> 8);
        int rc = exchange(c, LSWS_OP_READ, req, 2 + n_codes, &resp, err);
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

int lsws_client_read(struct lsws_client *c, struct lsws_config *cfg, const struct lsws_config *only,
                     struct lsws_error *err)
{
    static const size_t head = 3 + 2; /* request header, cursor */
    uint8_t codes[LSWS_MSG_MAX * 4];
    size_t n = only ? read_codes(only, codes, sizeof codes) : 0, room = lsws_client_max_msg(c) - head;
    int rc = LSWS_OK;
    if (!only)
        rc = read_pages(c, cfg, NULL, 0, err);
    /* A list of codes longer than one request takes is asked for in parts,
     * cut between codes. */
    for (size_t pos = 0; rc == LSWS_OK && pos < n;) {
        size_t cut = pos;
        while (cut < n && cut + 1 + codes[cut] - pos <= room)
            cut += 1 + codes[cut];
        rc = read_pages(c, cfg, codes + pos, cut - pos, err);
        pos = cut;
    }
    /* A device that sends a write-only setting (a password) does not get it
     * into a result, a backup or a screen. */
    for (size_t i = 0; i < cfg->model->n_settings; i++)
        if (cfg->model->settings[i].row->flags & LSWS_F_WRITEONLY)
            cfg->present[i] = 0;
    return rc;
}

/* The end of the frame that starts at pos: as many whole commands as fit
 * room bytes; pos itself when not even one does. */
static size_t frame_cut(const struct lsws_model *m, const uint8_t *tlv, size_t len, size_t pos, size_t room)
{
    size_t cut = pos, span;
    while (cut < len && lsws_settings_span(m, tlv + cut, len - cut, &span, NULL) == LSWS_OK && cut + span - pos <= room)
        cut += span;
    return cut;
}

/* Says in err how far a transaction of n frames got when frame k (1-based)
 * was lost with the link or without an answer: before the last frame, or
 * when the last one never reached the device whole, nothing was committed
 * (the device drops staged frames with the session). */
static void frames_note(struct lsws_error *err, int rc, unsigned k, unsigned n, int maybe_applied)
{
    if (!err || n < 2)
        return;
    size_t used = strlen(err->msg);
    const char *open = rc == LSWS_ERR_TIMEOUT ? " (" : " ", *close = rc == LSWS_ERR_TIMEOUT ? ")" : "";
    if (k < n || !maybe_applied)
        snprintf(err->msg + used, sizeof err->msg - used, "%safter %u of %u frames; nothing was committed%s", open,
                 k - 1, n, close);
    else
        snprintf(err->msg + used, sizeof err->msg - used, "%safter %u of %u frames, during the commit%s", open, k - 1,
                 n, close);
}

/* Splits the encoded TLVs at command boundaries into frames that fit a
 * message; each frame but the last carries LSWS_WRITE_MORE. Only the last
 * frame commits, so only its failure may leave the write applied. */
int lsws_client_write(struct lsws_client *c, const struct lsws_config *changes,
                      const struct lsws_config *base, struct lsws_error *err)
{
    static const size_t head = 3 + 1; /* request header, flags */
    uint8_t *tlv = malloc(LSWS_TXN_BYTES);
    uint8_t frame[LSWS_MSG_MAX];
    size_t len, pos = 0, room = lsws_client_max_msg(c) - head;
    unsigned n_frames = 0, k = 0;
    if (!tlv)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    int rc = lsws_settings_encode(changes, base, tlv, LSWS_TXN_BYTES, &len, err);
    for (size_t p = 0, cut; rc == LSWS_OK && p < len && (cut = frame_cut(changes->model, tlv, len, p, room)) > p;
         p = cut)
        n_frames++;
    while (rc == LSWS_OK && pos < len) {
        size_t cut = frame_cut(changes->model, tlv, len, pos, room);
        if (cut == pos) {
            rc = lsws_fail(err, LSWS_ERR_RANGE, pos, "a setting command does not fit in one %zu-byte message",
                           lsws_client_max_msg(c));
            break;
        }
        frame[0] = (uint8_t)((pos == 0 ? LSWS_WRITE_FIRST : 0) | (cut < len ? LSWS_WRITE_MORE : 0));
        memcpy(frame + 1, tlv + pos, cut - pos);
        struct lsws_msg resp;
        k++;
        rc = exchange(c, LSWS_OP_WRITE, frame, 1 + cut - pos, &resp, err);
        if (rc != LSWS_OK && cut < len)
            c->maybe_applied = 0; /* staged frames are dropped with the session */
        if (rc == LSWS_ERR_NODEV || rc == LSWS_ERR_TIMEOUT)
            frames_note(err, rc, k, n_frames, c->maybe_applied);
        pos = cut;
    }
    free(tlv);
    return rc;
}

int lsws_client_call(struct lsws_client *c, uint8_t op, const uint8_t *payload, size_t len, int *status,
                     uint8_t *resp, size_t cap, size_t *rlen, struct lsws_error *err)
{
    struct lsws_msg m;
    int rc = exchange(c, op, payload, len, &m, err);
    *status = -1;
    *rlen = 0;
    if (m.response) { /* an answer came, whatever it says */
        *status = m.status;
        *rlen = m.len < cap ? m.len : cap;
        if (*rlen)
            memcpy(resp, m.payload, *rlen);
    }
    return rc;
}

static int simple(struct lsws_client *c, uint8_t op, const uint8_t *payload, size_t len,
                  struct lsws_error *err)
{
    struct lsws_msg resp;
    return exchange(c, op, payload, len, &resp, err);
}

/* ---- requests in flight together (history pages, firmware chunks) ------------------- */

int lsws_client_pipeline(struct lsws_client *c, uint8_t op, unsigned n, unsigned window,
                         int (*build)(void *ctx, unsigned i, uint8_t *payload, size_t cap, size_t *len),
                         int (*take)(void *ctx, unsigned i, const uint8_t *payload, size_t len,
                                     struct lsws_error *err),
                         void *ctx, int *status, uint8_t *resp, size_t cap, size_t *rlen, struct lsws_error *err)
{
    *status = -1;
    *rlen = 0;
    if (!c->h)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': link closed", c->uri.text);
    window = lsws_client_window(c, window);
    struct slot {
        uint8_t req[LSWS_MSG_MAX];
        size_t req_len;
        uint8_t resp[LSWS_MSG_MAX];
        size_t resp_len;
        int answered;
        double sent_at;
    } *q = calloc(window, sizeof *q);
    if (!q)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    uint8_t base = (uint8_t)(c->seq + 1);
    unsigned sent = 0, done = 0;
    int attempt = 1, rc = LSWS_OK;
    double waiting_since = now_ms();
    c->maybe_applied = 0;
    while (done < n && rc == LSWS_OK) {
        /* As many requests out as the window holds. */
        while (sent < n && sent < done + window && rc == LSWS_OK) {
            struct slot *s = &q[sent % window];
            uint8_t payload[LSWS_MSG_MAX];
            size_t plen = 0;
            if ((rc = build(ctx, sent, payload, sizeof payload, &plen)) != LSWS_OK) {
                if (rc == LSWS_PIPELINE_END) { /* no more: the ones out are still taken */
                    n = sent;
                    rc = LSWS_OK;
                }
                break;
            }
            if (lsws_msg_encode((uint8_t)(base + sent), op, -1, payload, plen, s->req, sizeof s->req, &s->req_len) !=
                    LSWS_OK ||
                s->req_len > lsws_client_max_msg(c)) {
                rc = lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s request larger than the %zu bytes '%s' takes",
                               op_name(op), lsws_client_max_msg(c), c->uri.text);
                break;
            }
            s->answered = 0;
            s->sent_at = now_ms();
            if (done == sent)
                waiting_since = s->sent_at; /* the oldest one out is this one */
            if ((rc = c->t->send(c->h, s->req, s->req_len, err)) != LSWS_OK)
                break;
            c->stats.msg_bytes_out += s->req_len;
            c->seq = (uint8_t)(base + sent);
            sent++;
        }
        if (rc != LSWS_OK || done >= n)
            break;
        /* The next answer, within the timeout and the deadline. */
        double t = now_ms();
        int limit = c->timeout_ms - (int)(t - waiting_since);
        if (c->deadline && c->deadline - t < limit)
            limit = (int)(c->deadline - t) + 1;
        if (c->deadline && c->deadline <= t) {
            rc = deadline_passed(c, err);
            break;
        }
        size_t got = 0;
        rc = limit > 0 ? c->t->recv(c->h, c->rx, sizeof c->rx, &got, limit, err) : LSWS_ERR_TIMEOUT;
        if (rc == LSWS_ERR_TIMEOUT) {
            /* The oldest answer is missing: every unanswered request again,
             * with its own seq. A device answers an identical retry of its
             * last request from its cache; an older one it executes again,
             * which only the callers' kinds of request allow (a page is read
             * again; a chunk whose offset the device has passed is refused
             * with the offset it expects). */
            log_exchange(c, op, q[done % window].req_len, 0, now_ms() - waiting_since, attempt, -1);
            if (++attempt > c->attempts) {
                c->maybe_applied = 1;
                rc = lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "no answer to %s after %d attempts of %d ms",
                               op_name(op), c->attempts, c->timeout_ms);
                break;
            }
            rc = LSWS_OK;
            for (unsigned i = done; i < sent && rc == LSWS_OK; i++) {
                struct slot *s = &q[i % window];
                if (s->answered)
                    continue;
                c->stats.retries++;
                if ((rc = c->t->send(c->h, s->req, s->req_len, err)) == LSWS_OK)
                    c->stats.msg_bytes_out += s->req_len;
            }
            waiting_since = now_ms();
            continue;
        }
        if (rc != LSWS_OK) {
            c->maybe_applied = 1; /* requests were out when the link went */
            break;
        }
        c->stats.msg_bytes_in += got;
        struct lsws_msg m;
        struct lsws_error merr;
        if (lsws_msg_decode(c->rx, got, &m, &merr) != LSWS_OK || !m.response || m.op != op)
            continue; /* not an answer to these */
        /* Its place among the requests in flight: seqs count up from base. */
        unsigned k = done + (uint8_t)(m.seq - (uint8_t)(base + done));
        if (k >= sent || q[k % window].answered)
            continue; /* not ours, or a duplicate */
        struct slot *s = &q[k % window];
        c->stats.exchanges++;
        log_exchange(c, op, s->req_len, got, now_ms() - s->sent_at, attempt, m.status);
        if (m.status != LSWS_ST_OK) {
            *status = m.status;
            *rlen = m.len < cap ? m.len : cap;
            if (*rlen)
                memcpy(resp, m.payload, *rlen);
            rc = status_error(&m, err);
            break;
        }
        memcpy(s->resp, m.payload, m.len);
        s->resp_len = m.len;
        s->answered = 1;
        /* Answers are taken in order. */
        while (done < sent && q[done % window].answered && rc == LSWS_OK) {
            rc = take(ctx, done, q[done % window].resp, q[done % window].resp_len, err);
            done++;
            attempt = 1;
            waiting_since = now_ms();
        }
    }
    if (rc == LSWS_OK)
        *status = LSWS_ST_OK;
    free(q);
    return rc;
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
