/* I/O shared by the simulator's pseudo-terminal front ends (tty_io.h). */
#include "tty_io.h"

#include <errno.h>
#include <poll.h>
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
