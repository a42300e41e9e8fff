/* I/O shared by the simulator's pseudo-terminal front ends (tty_io.h). */
#include "tty_io.h"

#include <errno.h>
#include <poll.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

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

int sim_send_paced(const struct sim_paced_link *l, const uint8_t *buf, size_t len)
{
    size_t chunk = l->bps ? (l->bps / l->slices_per_s ? l->bps / l->slices_per_s : 1) : len;
    for (size_t pos = 0; pos < len;) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        int last = 0;
        if (l->disconnect_after && *l->sent + n >= l->disconnect_after) {
            n = l->disconnect_after - *l->sent;
            last = 1;
        }
        /* A byte arrives after its transmission time: wait, then hand over. */
        if (l->bps)
            sim_sleep_us(l->stop, (uint64_t)n * 1000000u / l->bps);
        if (n && sim_write_all(*l->fd, buf + pos, n) < 0)
            return -1;
        *l->sent += n;
        pos += n;
        if (last) {
            tcdrain(*l->fd);
            close(*l->fd);
            *l->fd = -1;
            return 1;
        }
    }
    return 0;
}
