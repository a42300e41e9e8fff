/* The simulator's log: one line a note on stderr, with -v only. */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>

void lsws_sim_log(int verbose, const char *scope, const char *fmt, ...)
{
    if (!verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lsws-sim: %s", scope);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
