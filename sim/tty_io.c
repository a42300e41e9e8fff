/* I/O shared by the simulator's pseudo-terminal front ends (tty_io.h). */
#include "tty_io.h"

#include <errno.h>
#include <poll.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

uint64_t sim_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void sim_sleep_until_us(volatile sig_atomic_t *stop, uint64_t t)
{
    for (;;) {
        uint64_t now = sim_mono_us();
        if (now >= t || (stop && *stop))
            return;
        /* slices of at most 50 ms, to notice *stop */
        uint64_t until = t - now > 50000 ? now + 50000 : t;
        struct timespec ts = {(time_t)(until / 1000000u), (long)(until % 1000000u) * 1000L};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

void sim_sleep_us(volatile sig_atomic_t *stop, uint64_t us)
{
    while (us && !(stop && *stop)) {
        uint64_t step = us > 50000 ? 50000 : us;
        struct timespec ts = {0, (long)(step * 1000)};
        nanosleep(&ts, NULL);
        us -= step;
    }
}

int sim_write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {fd, POLLOUT, 0};
            if (poll(&p, 1, 2000) > 0 && (p.revents & POLLOUT))
                continue;
        }
        return -1;
    }
    return 0;
}

/* line_free_us NULL: each slice waits its own transmission time after the
 * last (sim_send_paced); else deadlines from max(start_us, *line_free_us). */
static int send_paced(const struct sim_paced_link *l, const uint8_t *buf, size_t len, uint64_t start_us,
                      uint64_t *line_free_us)
{
    uint64_t base = 0;
    if (line_free_us)
        base = start_us > *line_free_us ? start_us : *line_free_us;
    size_t chunk = l->bps ? (l->bps / l->slices_per_s ? l->bps / l->slices_per_s : 1) : len;
    for (size_t pos = 0; pos < len;) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        int last = 0;
        if (l->disconnect_after && *l->sent + n >= l->disconnect_after) {
            n = l->disconnect_after - *l->sent;
            last = 1;
        }
        /* A byte arrives after its transmission time: wait, then hand over. */
        if (l->bps && line_free_us)
            sim_sleep_until_us(l->stop, base + (uint64_t)(pos + n) * 1000000u / l->bps);
        else if (l->bps)
            sim_sleep_us(l->stop, (uint64_t)n * 1000000u / l->bps);
        if (n && sim_write_all(*l->fd, buf + pos, n) < 0)
            return -1;
        *l->sent += n;
        pos += n;
        if (line_free_us)
            *line_free_us = l->bps ? base + (uint64_t)pos * 1000000u / l->bps : sim_mono_us();
        if (last) {
            tcdrain(*l->fd);
            close(*l->fd);
            *l->fd = -1;
            return 1;
        }
    }
    return 0;
}

int sim_send_paced(const struct sim_paced_link *l, const uint8_t *buf, size_t len)
{
    return send_paced(l, buf, len, 0, NULL);
}

int sim_send_paced_line(const struct sim_paced_link *l, const uint8_t *buf, size_t len, uint64_t start_us,
                        uint64_t *line_free_us)
{
    return send_paced(l, buf, len, start_us, line_free_us);
}
