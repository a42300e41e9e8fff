/* `lsws hold`: keeps the link to one URI open (for NFC: the reader, whose
 * opening costs libnfc 80 ms a command) and serves other lsws processes
 * over a UNIX socket, one client at a time, each with a fresh device
 * session (lsws_transport.renew). It never looks into the messages it
 * carries (they hold passwords and keys): its log has sizes only. */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED, accept4 */
#include "hold.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HOLD_BACKLOG 4
#define BUSY_DRAIN_MS 200 /* a refused client's OPEN, which follows its connect at once */

struct holder {
    const struct lsws_uri *uri;
    const struct lsws_transport *t;
    void *h;
    struct lsws_link_opts link;
    const struct lsws_hold_opts *o;
    int lost;          /* the link dropped under the last client: reopen it (no renew) */
    int fatal;         /* the link cannot be had again: stop */
    char fatal_msg[sizeof ((struct lsws_error *)0)->msg];
    int client;        /* the client's socket, -1 when none */
    int opened;        /* the client's OPEN was answered OK */
    unsigned long base_sent, base_received; /* the link's counts when the client came */
    unsigned long requests, bytes_in, bytes_out;
    uint8_t in[HOLD_PACKET_MAX + 1], out[HOLD_PACKET_MAX], msg[LSWS_MSG_MAX];
};

static void logf_(const struct holder *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct holder *s, const char *fmt, ...)
{
    if (!s->o->log)
        return;
    char line[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->o->log(s->o->ctx, line);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int stopped(const struct holder *s)
{
    return s->o->stop && *s->o->stop;
}

static void reply(struct holder *s, int fd, int code, const uint8_t *payload, size_t len, const char *text)
{
    size_t n = 0;
    if (hold_resp_encode(code, payload, len, text, s->out, sizeof s->out, &n) == LSWS_OK)
        send(fd, s->out, n, MSG_NOSIGNAL);
    s->bytes_out += len;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A new client's device session: renewed, or the link reopened after it
 * dropped; the link's own errors for the client, and a link that is gone
 * for good stops the holder. */
static int fresh_session(struct holder *s, int wait_ms, struct lsws_error *err)
{
    struct lsws_link_opts o = s->link;
    o.wait_ms = wait_ms;
    int rc;
    if (s->t->renew) {
        rc = s->t->renew(s->h, &o, err);
        if (rc == LSWS_ERR_IO) { /* the reader itself failed */
            snprintf(s->fatal_msg, sizeof s->fatal_msg, "%s", err->msg);
            s->fatal = 1;
            return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s (lsws hold stops)", s->fatal_msg);
        }
        if (rc == LSWS_OK)
            s->lost = 0;
        return rc;
    }
    if (!s->lost)
        return LSWS_OK; /* nothing per session but what AUTH starts */
    s->t->close(s->h);
    s->h = NULL;
    rc = s->t->open(s->uri, &o, &s->h, err);
    if (rc != LSWS_OK) {
        s->h = NULL;
        snprintf(s->fatal_msg, sizeof s->fatal_msg, "%s", err->msg);
        s->fatal = 1;
        return lsws_fail(err, rc, SIZE_MAX, "%s (lsws hold stops)", s->fatal_msg);
    }
    s->lost = 0;
    return LSWS_OK;
}

static void handle_open(struct holder *s, const struct hold_req *r, int pid)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = fresh_session(s, r->arg, &err);
    if (rc != LSWS_OK) {
        logf_(s, "client (pid %d): no session: %s", pid, err.msg);
        reply(s, s->client, rc, NULL, 0, err.msg);
        return;
    }
    struct lsws_link_limits lim = {LSWS_MSG_MAX, 0};
    if (s->t->limits)
        s->t->limits(s->h, &lim);
    s->base_sent = s->base_received = 0;
    if (s->t->wire_bytes)
        s->t->wire_bytes(s->h, &s->base_sent, &s->base_received);
    uint8_t a[HOLD_OPEN_ANSWER];
    put_le(a, (uint64_t)getpid(), 4);
    put_le(a + 4, lim.max_msg, 2);
    put_le(a + 6, lim.fragment, 2);
    s->opened = 1;
    reply(s, s->client, LSWS_OK, a, sizeof a, NULL);
}

/* One request of the client in s->in[0..n): forwarded to the link. */
static void handle(struct holder *s, size_t n, int pid)
{
    struct hold_req r;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (hold_req_decode(s->in, n, &r, &err) != LSWS_OK) {
        logf_(s, "client (pid %d): bad request: %s", pid, err.msg);
        reply(s, s->client, LSWS_ERR_PROTOCOL, NULL, 0, err.msg);
        return;
    }
    s->requests++;
    s->bytes_in += r.len;
    if ((r.op == HOLD_OPEN) == s->opened) {
        reply(s, s->client, LSWS_ERR_PROTOCOL, NULL, 0, s->opened ? "lsws hold: the session is open already"
                                                                  : "lsws hold: open the session first");
        return;
    }
    int rc;
    size_t len = 0;
    uint8_t wire[HOLD_WIRE_ANSWER];
    const uint8_t *payload = NULL;
    switch (r.op) {
    case HOLD_OPEN:
        handle_open(s, &r, pid);
        return;
    case HOLD_SEND:
        rc = s->t->send(s->h, r.payload, r.len, &err);
        break;
    case HOLD_RECV:
        rc = s->t->recv(s->h, s->msg, sizeof s->msg, &len, r.arg, &err);
        payload = s->msg;
        break;
    case HOLD_PRESENT:
        rc = s->t->present ? s->t->present(s->h, &err)
                           : lsws_fail(&err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s transport cannot tell whether "
                                       "'%s' is still in reach", s->t->scheme, s->uri->text);
        break;
    default: { /* HOLD_WIRE: this client's part of the link's counts */
        unsigned long sent = 0, received = 0;
        if (s->t->wire_bytes)
            s->t->wire_bytes(s->h, &sent, &received);
        put_le(wire, sent - s->base_sent, 8);
        put_le(wire + 8, received - s->base_received, 8);
        payload = wire;
        len = sizeof wire;
        rc = LSWS_OK;
    }
    }
    if (rc == LSWS_ERR_NODEV)
        s->lost = 1;
    reply(s, s->client, rc, payload, rc == LSWS_OK ? len : 0, err.msg);
}

static void end_client(struct holder *s, int pid)
{
    logf_(s, "client (pid %d) done: %lu requests, %lu message bytes in, %lu out", pid, s->requests, s->bytes_in,
          s->bytes_out);
    close(s->client);
    s->client = -1;
    s->opened = 0;
}

static int peer_pid(int fd)
{
    struct ucred cred;
    socklen_t cl = sizeof cred;
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 ? (int)cred.pid : 0;
}

/* A client while another is served: told so at once. */
static void refuse_busy(struct holder *s, int fd)
{
    char msg[LSWS_URI_MAX + 120];
    snprintf(msg, sizeof msg, "cannot open '%s': busy: the %s is held by lsws hold (pid %d) and in use by another "
             "lsws", s->uri->text, strcmp(s->t->scheme, "nfc") == 0 ? "reader" : "link", (int)getpid());
    logf_(s, "client (pid %d) refused: busy", peer_pid(fd));
    reply(s, fd, LSWS_ERR_BUSY, NULL, 0, msg);
    /* Its OPEN is read first: a socket closed with unread data resets the
     * peer, which would then lose the answer. */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, BUSY_DRAIN_MS) > 0)
        recv(fd, s->in, sizeof s->in, MSG_DONTWAIT);
    close(fd);
}

/* The serving loop: the client's requests first, so that a client that
 * closed and connects again (a reconnect) is never taken for a second one. */
static int serve(struct holder *s, int lfd, struct lsws_error *err)
{
    double idle_since = now_ms();
    int pid = 0;
    while (!stopped(s) && !s->fatal) {
        struct pollfd pfd[2] = {{.fd = lfd, .events = POLLIN}, {.fd = s->client, .events = POLLIN}};
        int timeout = -1;
        if (s->client < 0 && s->o->idle_s > 0) {
            double left = idle_since + s->o->idle_s * 1000.0 - now_ms();
            if (left <= 0) {
                logf_(s, "no client for %d s: stopping", s->o->idle_s);
                break;
            }
            timeout = (int)left + 1;
        }
        int pr = poll(pfd, s->client >= 0 ? 2 : 1, timeout);
        if (pr < 0 && errno != EINTR)
            return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: poll: %s", strerror(errno));
        if (pr <= 0)
            continue;
        if (s->client >= 0 && pfd[1].revents) {
            ssize_t n = recv(s->client, s->in, sizeof s->in, MSG_TRUNC);
            if (n > 0 && (size_t)n <= HOLD_PACKET_MAX) {
                handle(s, (size_t)n, pid);
            } else if (n > 0) {
                reply(s, s->client, LSWS_ERR_PROTOCOL, NULL, 0, "lsws hold: a request larger than the format allows");
            } else if (n == 0 || errno != EINTR) {
                end_client(s, pid);
                idle_since = now_ms();
            }
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            if (s->client >= 0) {
                refuse_busy(s, fd);
                continue;
            }
            s->client = fd;
            pid = peer_pid(fd);
            s->requests = s->bytes_in = s->bytes_out = 0;
            logf_(s, "client (pid %d)", pid);
        }
    }
    if (s->client >= 0)
        end_client(s, pid);
    if (s->fatal)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s: lsws hold stops", s->fatal_msg);
    return LSWS_OK;
}

/* One holder per URI: an exclusive flock on the lock file beside the
 * socket, held for the holder's life; the file says its pid. */
static int take_lock(const struct lsws_uri *uri, const struct hold_paths *p, int *fd, struct lsws_error *err)
{
    *fd = open(p->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: cannot open '%s': %s", p->lock, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[16] = "";
        ssize_t n = pread(*fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        return lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX, "'%s' is held already by lsws hold (pid %s)", uri->text,
                         pid[0] ? pid : "unknown");
    }
    char pid[16];
    int w = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)w, 0) != w)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: cannot write '%s': %s", p->lock, strerror(errno));
    return LSWS_OK;
}

/* The socket, mode 0600 from its creation; a stale one (a holder that was
 * killed) is replaced, which only the lock's owner may do. */
static int listen_on(const struct hold_paths *p, int *fd, struct lsws_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p->sock);
    *fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: socket: %s", strerror(errno));
    if (unlink(p->sock) != 0 && errno != ENOENT)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: cannot replace '%s': %s", p->sock, strerror(errno));
    mode_t old = umask(0177);
    int rc = bind(*fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0 || chmod(p->sock, 0600) != 0 || listen(*fd, HOLD_BACKLOG) != 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: cannot listen on '%s': %s", p->sock, strerror(errno));
    return LSWS_OK;
}

int lsws_hold_serve(const struct lsws_uri *uri, const struct lsws_link_opts *link, const struct lsws_hold_opts *opts,
                    struct lsws_error *err)
{
    struct hold_paths p;
    int lock_fd = -1, lfd = -1, bound = 0;
    struct holder *s = calloc(1, sizeof *s);
    if (!s)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    s->uri = uri;
    s->t = uri->transport;
    s->o = opts;
    s->client = -1;
    if (link)
        s->link = *link;
    s->link.trace = NULL; /* a holder never shows what it carries */
    int rc = hold_paths(uri, 1, &p, err);
    if (rc == LSWS_OK)
        rc = take_lock(uri, &p, &lock_fd, err);
    if (rc == LSWS_OK && (!s->t->open || !s->t->send || !s->t->recv))
        rc = lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s transport cannot exchange messages", s->t->scheme);
    if (rc == LSWS_OK && (rc = s->t->open(uri, &s->link, &s->h, err)) != LSWS_OK)
        s->h = NULL;
    if (rc == LSWS_OK && (rc = listen_on(&p, &lfd, err)) == LSWS_OK) {
        bound = 1;
        if (opts->ready)
            opts->ready(opts->ctx, p.sock);
        rc = serve(s, lfd, err);
    }
    if (bound || lfd >= 0)
        unlink(p.sock);
    if (lfd >= 0)
        close(lfd);
    if (s->h)
        s->t->close(s->h);
    if (lock_fd >= 0)
        close(lock_fd); /* the lock file stays: removing it would let two holders lock two files */
    explicit_bzero(s->in, sizeof s->in);
    explicit_bzero(s->msg, sizeof s->msg);
    free(s);
    return rc;
}
