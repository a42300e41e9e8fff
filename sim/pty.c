/* Serving the simulated device on a pseudo-terminal with the serial
 * framing (docs/protocol.md, "Transport framings"): the serial transport,
 * and anything else that opens a tty, talks to it as to a device on a UART.
 *
 * The simulator keeps only the master side open. While no client has the
 * slave open, the master reports a hangup: a client closing the port ends
 * the session (authentication, open transactions), and the next client
 * finds the pty still there. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */
#include "sim.h"
#include "tty_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int lsws_sim_pty_open(int *master, char *path, size_t n, struct lsws_error *err)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot open a pseudo-terminal: %s", strerror(errno));
    const char *name = NULL;
    if (grantpt(fd) < 0 || unlockpt(fd) < 0 || !(name = ptsname(fd))) {
        int e = errno;
        close(fd);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot set up a pseudo-terminal: %s", strerror(e));
    }
    /* Raw mode (no echo, no line editing, 8 bits): set on the slave, as a
     * client would; the setting belongs to the pty and outlives this open. */
    int slave = open(name, O_RDWR | O_NOCTTY);
    struct termios t;
    if (slave < 0 || tcgetattr(slave, &t) < 0 || (cfmakeraw(&t), tcsetattr(slave, TCSANOW, &t) < 0)) {
        int e = errno;
        if (slave >= 0)
            close(slave);
        close(fd);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot put '%s' in raw mode: %s", name, strerror(e));
    }
    close(slave);
    if (snprintf(path, n, "%s", name) >= (int)n) {
        close(fd);
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "pseudo-terminal name '%s' is too long", name);
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    *master = fd;
    return LSWS_OK;
}

struct server {
    struct lsws_sim *sim;
    int fd;
    const struct lsws_sim_pty_opts *o;
    unsigned long frames, sent;
    int connected;
    struct lsws_deframer d;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int stopped(const struct server *s)
{
    return s->o->stop && *s->o->stop;
}

#define say(s, ...) lsws_sim_log((s)->o->verbose, "", __VA_ARGS__)

/* Sends a frame at link_bps (50 slices a second). Returns 1 when
 * disconnect_after was reached (the master is then closed), -1 when the
 * bytes could not be written. */
static int send_paced(struct server *s, const uint8_t *buf, size_t len)
{
    const struct lsws_sim_faults *f = &s->o->faults;
    struct sim_paced_link l = {&s->fd, &s->sent, f->link_bps, 50, f->disconnect_after, s->o->stop};
    int rc = sim_send_paced(&l, buf, len);
    if (rc == 1)
        say(s, "%lu bytes sent: closing the link (disconnect_after)", s->sent);
    return rc;
}

/* Flips one bit inside the frame (not a flag, not an escape) so that the
 * CRC fails: the device acted, its answer is lost on the wire. */
static void corrupt(uint8_t *f, size_t len)
{
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = pass ? 1 : len / 2; i + 1 < len; i++) {
            uint8_t b = f[i], x = (uint8_t)(b ^ 0x01);
            if (b != 0x7e && b != 0x7d && f[i - 1] != 0x7d && x != 0x7e && x != 0x7d) {
                f[i] = x;
                return;
            }
        }
}

static int on_frame(struct server *s, const uint8_t *msg, size_t mlen)
{
    const struct lsws_sim_faults *f = &s->o->faults;
    uint8_t req[LSWS_MSG_MAX], resp[LSWS_MSG_MAX], frame[LSWS_FRAME_MAX];
    size_t rlen = 0, flen = 0;
    memcpy(req, msg, mlen);
    unsigned long n = ++s->frames;
    /* The link model paces both directions: the request took its wire
     * length at link_bps to arrive (the pty delivered it at once). */
    if (f->link_bps) {
        uint8_t wire[LSWS_FRAME_MAX];
        size_t wlen = 0;
        if (lsws_frame_encode(msg, mlen, wire, sizeof wire, &wlen) == LSWS_OK)
            sim_sleep_us(s->o->stop, (uint64_t)wlen * 1000000u / f->link_bps);
    }
    unsigned what = lsws_sim_serve(s->sim, f, n, req, mlen, resp, sizeof resp, &rlen, mono_ms());
    if (what & LSWS_SIM_HANGUP) {
        say(s, "frame %lu: the link drops during the firmware chunk (fw_drop_at): closing it", n);
        tcdrain(s->fd);
        close(s->fd);
        s->fd = -1;
        return 1;
    }
    if (what & LSWS_SIM_DROPPED) {
        say(s, "frame %lu: dropped (fault), no answer", n);
        return 0;
    }
    if (what & LSWS_SIM_REFUSED)
        say(s, "frame %lu: refused with status %u (fault), not executed", n, rlen > 3 ? resp[3] : 0);
    else
        say(s, "frame %lu: %s", n, lsws_sim_note(s->sim));
    if (!rlen || lsws_frame_encode(resp, rlen, frame, sizeof frame, &flen) != LSWS_OK)
        return 0;
    if (what & LSWS_SIM_CORRUPTED) {
        corrupt(frame, flen);
        say(s, "frame %lu: answer corrupted (fault)", n);
    }
    uint64_t wait = f->latency_ms + ((what & LSWS_SIM_DELAYED) ? f->delay_ms : 0);
    if (what & LSWS_SIM_DELAYED)
        say(s, "frame %lu: answer delayed by %u ms (fault)", n, f->delay_ms);
    sim_sleep_us(s->o->stop, wait * 1000u);
    int rc = send_paced(s, frame, flen);
    if (rc < 0)
        say(s, "frame %lu: the answer could not be sent", n);
    return rc;
}

int lsws_sim_pty_serve(struct lsws_sim *sim, int *master, const struct lsws_sim_pty_opts *o,
                       struct lsws_error *err)
{
    struct server s = {.sim = sim, .fd = *master, .o = o};
    uint8_t buf[4096];
    lsws_deframer_init(&s.d);
    while (!stopped(&s)) {
        struct pollfd p = {s.fd, POLLIN, 0};
        int rc = poll(&p, 1, 200);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "poll: %s", strerror(errno));
        if (rc == 0)
            continue;
        if (p.revents & POLLIN) {
            ssize_t n = read(s.fd, buf, sizeof buf);
            if (n > 0) {
                if (!s.connected)
                    say(&s, "a client opened the port");
                s.connected = 1;
                for (size_t off = 0; off < (size_t)n;) {
                    const uint8_t *msg;
                    size_t used = 0, mlen = 0;
                    struct lsws_error ferr;
                    lsws_error_clear(&ferr);
                    int fr = lsws_deframer_feed(&s.d, buf + off, (size_t)n - off, &used, &msg, &mlen, &ferr);
                    off += used;
                    if (fr == 1 && on_frame(&s, msg, mlen) == 1) {
                        *master = -1; /* disconnect_after: the link is gone */
                        return LSWS_OK;
                    }
                    if (fr < 0)
                        say(&s, "bad frame dropped: %s", ferr.msg);
                }
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
        } else if (!(p.revents & (POLLHUP | POLLERR))) {
            continue;
        }
        /* No client has the port open (POLLHUP, or read fails with EIO). */
        if (s.connected) {
            s.connected = 0;
            lsws_sim_disconnect(sim);
            lsws_deframer_init(&s.d);
            say(&s, "the client closed the port: session ended");
            if (o->once)
                return LSWS_OK;
        }
        /* A master with no slave open polls as HUP at once, so poll cannot
         * wait for a client: look again soon, so a new client's first
         * request is not held up (it would show in bench/link). */
        sim_sleep_us(s.o->stop, 500);
    }
    return LSWS_OK;
}
