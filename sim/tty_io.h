/* Private to sim/: what the simulator's pseudo-terminal front ends (pty.c:
 * serial framing; nfc_pty.c: the PN532) share for their I/O. */
#ifndef LSWS_SIM_TTY_IO_H
#define LSWS_SIM_TTY_IO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Sleeps us microseconds in slices, waking early when *stop is set (stop may be NULL). */
void sim_sleep_us(volatile sig_atomic_t *stop, uint64_t us);
/* CLOCK_MONOTONIC in microseconds. */
uint64_t sim_mono_us(void);
/* Sleeps until sim_mono_us() reaches t (at once when it has), waking early
 * when *stop is set. An absolute deadline: a late wake-up is not carried
 * into the next one. */
void sim_sleep_until_us(volatile sig_atomic_t *stop, uint64_t t);
/* Writes all of buf to the non-blocking fd, waiting up to 2 s for room each
 * time; -1 when the client went away or does not read. */
int sim_write_all(int fd, const uint8_t *buf, size_t len);

/* A link as the link model paces it: bytes go out at bps (0: at once) in
 * slices of a 1/slices_per_s second, and after disconnect_after bytes in
 * all (0: never) the link is cut: *fd is drained, closed and set to -1. */
struct sim_paced_link {
    int *fd;
    unsigned long *sent;
    unsigned bps, slices_per_s;
    unsigned long disconnect_after;
    volatile sig_atomic_t *stop;
};
/* 0 when sent, 1 when the link was cut, -1 when the bytes could not be written. */
int sim_send_paced(const struct sim_paced_link *l, const uint8_t *buf, size_t len);
/* The same on a line with a clock: the first byte goes out at start_us or
 * when the line is free (*line_free_us), whichever is later, and each
 * slice is handed over when its last byte would have arrived, counted from
 * there (absolute deadlines: the sleeps' lateness does not add up); then
 * *line_free_us is when the last byte arrived. */
int sim_send_paced_line(const struct sim_paced_link *l, const uint8_t *buf, size_t len, uint64_t start_us,
                        uint64_t *line_free_us);

#endif
