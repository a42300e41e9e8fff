/* Small helpers of the fleet parts: times, fixed fields, secure random. */
#include "fleet_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void lsws_copy(char *dst, size_t n, const char *src)
{
    if (n)
        snprintf(dst, n, "%s", src ? src : "");
}

int64_t lsws_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lsws_iso_time(int64_t unix_ms, char *buf, size_t n)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%S+00:00", &tm))
        lsws_copy(buf, n, "");
}

/* getrandom(2): the kernel's CSPRNG, blocking only until it is seeded at
 * boot; a short read (a signal) is continued. */
int lsws_random(uint8_t *out, size_t n, struct lsws_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "no random numbers from the system: %s",
                             r < 0 ? strerror(errno) : "short read");
        got += (size_t)r;
    }
    return LSWS_OK;
}
