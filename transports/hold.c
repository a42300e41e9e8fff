/* The client side of `lsws hold`: a link whose every call goes to the
 * holder over its socket (transports/hold.h), so that lib/client.c's
 * retries, read-back and reconnects work as on the holder's own link. The
 * holder going away is LSWS_ERR_NODEV, as a link that dropped; its
 * reconnect then finds no holder and opens the device itself. */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include "hold.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How much longer than the call's own time the holder may take to answer
 * (its link's checks after a lost frame take a few hundred ms). */
#define HOLD_SLACK_MS 30000

struct hold_link {
    int fd;
    int pid;
    char uri[LSWS_URI_MAX];
    struct lsws_link_limits lim;
    struct lsws_link_opts opts;
    int broken; /* the holder went away or broke the format: every call says so */
    char broken_msg[sizeof ((struct lsws_error *)0)->msg];
    uint8_t pkt[HOLD_PACKET_MAX];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int gone(struct hold_link *l, struct lsws_error *err, const char *why)
{
    if (!l->broken)
        snprintf(l->broken_msg, sizeof l->broken_msg, "'%.150s': %.100s", l->uri, why);
    l->broken = 1;
    return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s", l->broken_msg);
}

/* Waits up to wait_ms (-1: without end) for the holder's answer packet. */
static int recv_packet(struct hold_link *l, int wait_ms, size_t *n, struct lsws_error *err)
{
    double until = now_ms() + wait_ms;
    for (;;) {
        int left = wait_ms < 0 ? -1 : (int)(until - now_ms());
        if (wait_ms >= 0 && left < 0)
            left = 0;
        struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return gone(l, err, "the lsws hold process does not answer");
        ssize_t got = recv(l->fd, l->pkt, sizeof l->pkt, MSG_TRUNC);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return gone(l, err, "the lsws hold process went away");
        if ((size_t)got > sizeof l->pkt)
            return gone(l, err, "the lsws hold process sent a packet larger than the format allows");
        *n = (size_t)got;
        return LSWS_OK;
    }
}

/* One request and its answer; *resp's payload points into l->pkt. */
static int call(struct hold_link *l, uint8_t op, int32_t arg, const uint8_t *payload, size_t len, int wait_ms,
                struct hold_resp *resp, struct lsws_error *err)
{
    if (l->broken)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s", l->broken_msg);
    struct hold_req req = {op, arg, payload, len};
    uint8_t out[HOLD_PACKET_MAX];
    size_t olen, n = 0;
    if (hold_req_encode(&req, out, sizeof out, &olen) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "'%s': a request the lsws hold format cannot carry (%zu "
                         "bytes)", l->uri, len);
    /* A holder that refuses us at once (busy) has written its answer and
     * closed: the send may fail, the answer is still there to read. */
    ssize_t sent = send(l->fd, out, olen, MSG_NOSIGNAL);
    (void)sent;
    int rc = recv_packet(l, wait_ms < 0 ? -1 : wait_ms + HOLD_SLACK_MS, &n, err);
    if (rc != LSWS_OK)
        return rc;
    struct lsws_error derr;
    lsws_error_clear(&derr);
    if (hold_resp_decode(op, l->pkt, n, resp, &derr) != LSWS_OK) {
        char why[sizeof derr.msg + 40];
        snprintf(why, sizeof why, "the lsws hold process broke its format: %s", derr.msg);
        return gone(l, err, why);
    }
    if (resp->code != LSWS_OK)
        return lsws_fail(err, resp->code, SIZE_MAX, "%s", resp->text);
    return LSWS_OK;
}

static void hold_close(void *h)
{
    struct hold_link *l = h;
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    explicit_bzero(l->pkt, sizeof l->pkt);
    free(l);
}

int hold_connect(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h, int *pid,
                 struct lsws_error *err)
{
    struct hold_paths p;
    int rc = hold_paths(uri, 0, &p, err);
    if (rc != LSWS_OK)
        return rc; /* 1: no directory, no holder */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p.sock);
    struct hold_link *l = calloc(1, sizeof *l);
    if (!l)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || connect(l->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        /* No socket, or one nobody listens on (a holder that was killed):
         * the device is ours to open. */
        int e = errno;
        hold_close(l);
        if (e == ENOENT || e == ECONNREFUSED)
            return 1;
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot reach the lsws hold of '%s' (%s): %s (LSWS_HOLD=0 "
                         "ignores it)", uri->text, p.sock, strerror(e));
    }
    /* Only a holder of this user: the directory is ours, and so is the peer. */
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (getsockopt(l->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != geteuid()) {
        hold_close(l);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "the lsws hold socket '%s' is not served by your user: refused",
                         p.sock);
    }
    snprintf(l->uri, sizeof l->uri, "%s", uri->text);
    if (opts)
        l->opts = *opts;
    int wait = opts ? opts->wait_ms : 0;
    struct hold_resp resp;
    rc = call(l, HOLD_OPEN, wait < 0 ? -1 : wait, NULL, 0, wait, &resp, err);
    if (rc != LSWS_OK) {
        hold_close(l);
        return rc;
    }
    const uint8_t *a = resp.payload;
    l->pid = (int)((uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 | (uint32_t)a[3] << 24);
    l->lim.max_msg = (size_t)(a[4] | a[5] << 8);
    l->lim.fragment = (size_t)(a[6] | a[7] << 8);
    *pid = l->pid;
    *h = l;
    return LSWS_OK;
}

static int hold_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    struct hold_link *l = h;
    struct hold_resp resp;
    if (l->opts.trace)
        l->opts.trace(l->opts.trace_ctx, '>', msg, len, "message, via lsws hold");
    return call(l, HOLD_SEND, 0, msg, len, 0, &resp, err);
}

static int hold_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    struct hold_link *l = h;
    struct hold_resp resp;
    if (timeout_ms < 1)
        timeout_ms = 1;
    int rc = call(l, HOLD_RECV, timeout_ms, NULL, 0, timeout_ms, &resp, err);
    if (rc != LSWS_OK)
        return rc;
    if (resp.len > cap)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': an answer of %zu bytes for %zu", l->uri, resp.len,
                         cap);
    memcpy(buf, resp.payload, resp.len);
    *len = resp.len;
    if (l->opts.trace)
        l->opts.trace(l->opts.trace_ctx, '<', buf, *len, "message, via lsws hold");
    return LSWS_OK;
}

static void hold_limits(void *h, struct lsws_link_limits *out)
{
    *out = ((const struct hold_link *)h)->lim;
}

static int hold_present(void *h, struct lsws_error *err)
{
    struct hold_resp resp;
    return call(h, HOLD_PRESENT, 0, NULL, 0, 0, &resp, err);
}

static void hold_wire_bytes(void *h, unsigned long *sent, unsigned long *received)
{
    struct hold_resp resp;
    uint64_t v[2] = {0, 0};
    if (call(h, HOLD_WIRE, 0, NULL, 0, 0, &resp, NULL) == LSWS_OK)
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 8; i++)
                v[k] |= (uint64_t)resp.payload[8 * k + i] << (8 * i);
    *sent = (unsigned long)v[0];
    *received = (unsigned long)v[1];
}

/* Not in the registry: lsws_transport_open hands it out for a held URI. */
const struct lsws_transport lsws_transport_hold = {
    .scheme = "hold",
    .help = "the link of an lsws hold process",
    .close = hold_close,
    .send = hold_send,
    .recv = hold_recv,
    .limits = hold_limits,
    .wire_bytes = hold_wire_bytes,
    .present = hold_present,
};
