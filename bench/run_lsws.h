/* What the link benchmarks share (bench/run_lsws.c): the factory template
 * written and verified over an open session, and the real lsws run as a
 * user would, its exchanges taken from lsws -v. */
#ifndef LSWS_BENCH_RUN_LSWS_H
#define LSWS_BENCH_RUN_LSWS_H

#include <stddef.h>

#include "lsws.h"

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

/* A timed part of a session and the client's counts for it alone. */
struct bench_row {
    double seconds;
    struct lsws_client_stats st;
};
/* The factory template for the unit info describes (its band's defaults,
 * its identity), every writable setting; *bytes: its settings TLVs. */
int bench_factory_template(const struct lsws_device_info *info, struct lsws_config **tpl, size_t *bytes,
                           struct lsws_error *err);
/* Writes tpl in one transaction and reads it back (verify), timed; r holds
 * that alone. Fails, naming the setting, when one does not verify. */
int bench_timed_set(struct lsws_client *c, const struct lsws_config *tpl, struct bench_row *r, struct lsws_error *err);

/* "general.report_interval=MAX": one setting carried alone by its command,
 * set to the largest value the model's table allows (never the default). */
void bench_set_arg(int model, char *buf, size_t n);

#endif
