/* What the link benchmarks share: run the real lsws as a user would and
 * take its exchanges from lsws -v (bench/run_lsws.c). */
#ifndef LSWS_BENCH_RUN_LSWS_H
#define LSWS_BENCH_RUN_LSWS_H

#include <stddef.h>

#define BENCH_EXCHANGES 16 /* exchanges kept one by one */

struct cmd_run {
    double seconds;
    unsigned exchanges;
    unsigned long out, in;                                       /* message bytes, from lsws -v */
    unsigned long msg_out[BENCH_EXCHANGES], msg_in[BENCH_EXCHANGES]; /* the first ones, each */
};

/* Monotonic seconds. */
double bench_now_s(void);
/* Runs lsws ARGS... (args[0] is lsws, args include -v) with the factory
 * password in LSWS_PASSWORD; 0 when it exited 0. */
int run_lsws(const char *lsws, char *const args[], struct cmd_run *r);

/* "general.report_interval=MAX": one setting carried alone by its command,
 * set to the largest value the model's table allows (never the default). */
void bench_set_arg(int model, char *buf, size_t n);

#endif
