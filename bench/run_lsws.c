/* The link benchmarks' runner of whole lsws commands (run_lsws.h). */
#include "run_lsws.h"

#include "lsws.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int run_lsws(const char *lsws, char *const args[], struct cmd_run *r)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    double t0 = bench_now_s();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        close(fds[0]);
        setenv("LSWS_PASSWORD", "123456", 1);
        execv(lsws, args);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[512];
    memset(r, 0, sizeof *r);
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, " seq ");
        unsigned long o, i;
        if (p && (p = strchr(p, ':')) && sscanf(p, ": %lu bytes out, %lu in", &o, &i) == 2) {
            if (r->exchanges < BENCH_EXCHANGES) {
                r->msg_out[r->exchanges] = o;
                r->msg_in[r->exchanges] = i;
            }
            r->exchanges++;
            r->out += o;
            r->in += i;
        }
    }
    if (f)
        fclose(f);
    int status;
    waitpid(pid, &status, 0);
    r->seconds = bench_now_s() - t0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

void bench_set_arg(int model, char *buf, size_t n)
{
    const struct lsws_model *m = lsws_model_get((enum lsws_model_id)model);
    int idx = lsws_model_find(m, "general.report_interval");
    struct lsws_value v = {.num = m->settings[idx].row->max};
    char text[32];
    lsws_value_format(m, (size_t)idx, &v, text, sizeof text);
    snprintf(buf, n, "general.report_interval=%s", text);
}
