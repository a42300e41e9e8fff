/* Serving the PN532 emulator (sim/pn532.c) on a pseudo-terminal: what a
 * USB-serial PN532 reader looks like to libnfc's pn532_uart driver.
 *
 * Each host command is acknowledged (ACK frame), then answered when the
 * chip says (air time, the card's latency, a delay fault); a host ACK
 * aborts the command under way, as does a new command; a NACK asks for the
 * last answer again. The link model paces the UART at link_bps both ways
 * (a frame is handled once its last byte would have arrived). Each way of
 * the UART has a clock (when its last byte arrives), and every wait is to
 * an absolute deadline on it: a late wake-up of this process delays
 * nothing after it, and no byte is handed over before the model says it
 * arrived. A client closing the port switches the field off: the card's
 * session ends. */
#define _GNU_SOURCE /* ppoll: a timeout in microseconds */
#include "pn532.h"
#include "tty_io.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct server {
    struct lsws_pn532 *chip;
    int fd;
    const struct lsws_sim_nfc_opts *o;
    unsigned long sent;
    int connected;
    uint64_t rx_free_us, tx_free_us; /* when the last byte from / to the host arrives(d) */
    struct lsws_pn532_deframer d;
    /* the answer under way */
    int pending, waiting;
    uint64_t due_us;
    uint8_t frame[LSWS_PN532_FRAME_MAX];
    size_t len;
    /* the last answer sent, for a NACK */
    uint8_t last[LSWS_PN532_FRAME_MAX];
    size_t last_len;
};

static int stopped(const struct server *s)
{
    return s->o->stop && *s->o->stop;
}

#define say(s, ...) lsws_sim_log((s)->o->verbose, "nfc: ", __VA_ARGS__)

/* Sends bytes at link_bps (100 slices a second), the first no earlier
 * than start_us. 1 when disconnect_after was reached (the reader is
 * unplugged: the master is closed), -1 when they could not be written. */
static int send_paced(struct server *s, const uint8_t *buf, size_t len, uint64_t start_us)
{
    const struct lsws_sim_faults *f = &s->o->faults;
    struct sim_paced_link l = {&s->fd, &s->sent, f->link_bps, 100, f->disconnect_after, s->o->stop};
    int rc = sim_send_paced_line(&l, buf, len, start_us, &s->tx_free_us);
    if (rc == 1)
        say(s, "%lu bytes sent: the reader is unplugged (disconnect_after)", s->sent);
    return rc;
}

static int send_answer(struct server *s)
{
    s->pending = s->waiting = 0;
    memcpy(s->last, s->frame, s->len);
    s->last_len = s->len;
    /* from when it was due: the chip would have started then, however late
     * this process woke up */
    return send_paced(s, s->frame, s->len, s->due_us);
}

static void abort_pending(struct server *s, const char *why)
{
    if (!s->pending && !s->waiting)
        return;
    say(s, "the command under way is aborted (%s)", why);
    s->pending = s->waiting = 0;
}

/* One frame from the host, whose last byte arrives at arrived_us on the
 * link model's clock. Returns 1 when the reader was unplugged. */
static int on_frame(struct server *s, const struct lsws_pn532_frame *f, uint64_t arrived_us)
{
    /* The pty handed the frame over at once; over the UART it is whole
     * only now. */
    sim_sleep_until_us(s->o->stop, arrived_us);
    uint64_t arrived = sim_mono_us();
    if (lsws_pn532_stalled(s->chip))
        return 0;
    switch (f->kind) {
    case LSWS_PN532_ACK:
        abort_pending(s, "ACK from the host");
        return 0;
    case LSWS_PN532_NACK:
        say(s, "NACK: the last answer again");
        return s->last_len ? send_paced(s, s->last, s->last_len, arrived) : 0;
    case LSWS_PN532_ERROR:
        return 0;
    default:
        break;
    }
    abort_pending(s, "a new command");
    struct lsws_pn532_reply r;
    lsws_pn532_command(s->chip, f, arrived / 1000u, &r);
    int rc = 0;
    if (r.ack && (rc = send_paced(s, lsws_pn532_ack, sizeof lsws_pn532_ack, arrived)) != 0)
        return rc;
    if (r.wait_card) {
        s->waiting = 1;
        return 0;
    }
    if (!r.answer)
        return 0;
    memcpy(s->frame, r.frame, r.len);
    s->len = r.len;
    s->pending = 1;
    /* the chip works on the command once its ACK is out (in series, as the
     * benchmark's bound counts them) */
    s->due_us = (r.ack ? s->tx_free_us : arrived) + r.delay_us;
    return 0;
}

/* Timers: a card coming back, an answer falling due. 1 when unplugged. */
static int on_time(struct server *s)
{
    int toggle = s->o->toggle && *s->o->toggle;
    if (toggle)
        *s->o->toggle = 0;
    struct lsws_pn532_reply r;
    if (lsws_pn532_tick(s->chip, sim_mono_us() / 1000u, toggle, s->waiting, &r)) {
        memcpy(s->frame, r.frame, r.len);
        s->len = r.len;
        s->waiting = 0;
        s->pending = 1;
        s->due_us = sim_mono_us() + r.delay_us;
    }
    if (s->pending && sim_mono_us() >= s->due_us)
        return send_answer(s) == 1;
    return 0;
}

/* How long to wait for the host, in microseconds: until the answer under
 * way is due (to the microsecond: a poll in whole milliseconds made every
 * answer up to 1 ms late), else 200 ms, or 10 ms while a card may come. */
static uint64_t poll_timeout_us(const struct server *s)
{
    uint64_t us = 200000;
    if (s->pending) {
        uint64_t now = sim_mono_us();
        us = s->due_us > now ? s->due_us - now : 0;
    }
    uint64_t ev = lsws_pn532_next_event(s->chip);
    if ((ev || s->waiting || (s->o->toggle && *s->o->toggle)) && us > 10000)
        us = 10000;
    return us;
}

int lsws_sim_nfc_serve(struct lsws_sim *sim, int *master, const struct lsws_sim_nfc_opts *o, struct lsws_error *err)
{
    struct server s = {.fd = *master, .o = o};
    int rc = lsws_pn532_new(sim, o, &s.chip, err);
    if (rc != LSWS_OK)
        return rc;
    lsws_pn532_deframer_init(&s.d);
    /* The kernel may defer this process's timers by its slack (50 us by
     * default) to group wake-ups: 1 ns keeps the link model's deadlines. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    uint8_t buf[4096];
    while (!stopped(&s)) {
        if (on_time(&s))
            goto unplugged;
        struct pollfd p = {s.fd, POLLIN, 0};
        uint64_t wait_us = poll_timeout_us(&s);
        struct timespec ts = {(time_t)(wait_us / 1000000u), (long)(wait_us % 1000000u) * 1000L};
        int n = ppoll(&p, 1, &ts, NULL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "poll: %s", strerror(errno));
            break;
        }
        if (n == 0)
            continue;
        if (p.revents & POLLIN) {
            ssize_t got = read(s.fd, buf, sizeof buf);
            if (got > 0) {
                if (!s.connected)
                    say(&s, "a client opened the port");
                s.connected = 1;
                /* The bytes left the host no later than now, and queue on
                 * the UART behind what came before (libnfc's wake-up
                 * preamble and postambles take their time too): byte k of
                 * them arrives (k + 1) byte times after base. */
                uint64_t now = sim_mono_us(), base = now > s.rx_free_us ? now : s.rx_free_us;
                unsigned bps = o->faults.link_bps;
                s.rx_free_us = bps ? base + (uint64_t)got * 1000000u / bps : now;
                for (size_t off = 0; off < (size_t)got;) {
                    struct lsws_pn532_frame f;
                    struct lsws_error ferr;
                    size_t used = 0;
                    lsws_error_clear(&ferr);
                    int fr = lsws_pn532_feed(&s.d, buf + off, (size_t)got - off, &used, &f, &ferr);
                    off += used;
                    if (fr < 0)
                        say(&s, "bad frame dropped: %s", ferr.msg);
                    else if (fr == 1) {
                        /* whole with its postamble byte, when the host sent one */
                        size_t end = off < (size_t)got ? off + 1 : off;
                        if (on_frame(&s, &f, bps ? base + (uint64_t)end * 1000000u / bps : now))
                            goto unplugged;
                    }
                }
                continue;
            }
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
        } else if (!(p.revents & (POLLHUP | POLLERR))) {
            continue;
        }
        /* No client has the port open. */
        if (s.connected) {
            s.connected = 0;
            s.pending = s.waiting = 0;
            lsws_pn532_host_gone(s.chip);
            lsws_pn532_deframer_init(&s.d);
            say(&s, "the client closed the port: the field is off");
            if (o->once)
                break;
        }
        sim_sleep_us(s.o->stop, 500);
    }
    if (o->verbose) {
        struct lsws_pn532_stats st;
        lsws_pn532_stats(s.chip, &st);
        fprintf(stderr, "lsws-sim: nfc: %lu commands, %lu APDUs, %lu messages\n", st.commands, st.apdus, st.messages);
    }
    lsws_pn532_free(s.chip);
    return rc;
unplugged:
    lsws_pn532_free(s.chip);
    *master = -1;
    return LSWS_OK;
}
