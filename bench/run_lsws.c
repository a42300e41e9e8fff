/* What the link benchmarks share (run_lsws.h). */
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

int bench_factory_template(const struct lsws_device_info *info, struct lsws_config **tpl, size_t *bytes,
                           struct lsws_error *err)
{
    const struct lsws_model *m = lsws_model_get(info->model);
    uint8_t tlv[LSWS_TXN_BYTES];
    struct lsws_identity unit;
    memcpy(unit.sn, info->sn, sizeof unit.sn);
    memcpy(unit.dev_eui, info->dev_eui, 8);
    int rc = lsws_config_new(m, tpl);
    if (rc == LSWS_OK)
        rc = lsws_config_defaults(*tpl, lsws_band_at(info->band)->name, &unit, err);
    if (rc != LSWS_OK)
        return rc;
    for (size_t i = 0; i < m->n_settings; i++)
        if (m->settings[i].row->flags & (LSWS_F_READONLY | LSWS_F_WRITEONLY))
            (*tpl)->present[i] = 0;
    return lsws_settings_encode(*tpl, NULL, tlv, sizeof tlv, bytes, err);
}

int bench_timed_set(struct lsws_client *c, const struct lsws_config *tpl, struct bench_row *r, struct lsws_error *err)
{
    const struct lsws_model *m = tpl->model;
    struct lsws_config *back = NULL;
    struct lsws_client_stats before;
    int rc = lsws_config_new(m, &back);
    if (rc != LSWS_OK)
        return rc;
    lsws_client_stats(c, &before);
    double t0 = bench_now_s();
    rc = lsws_client_write(c, tpl, NULL, err);
    if (rc == LSWS_OK)
        rc = lsws_client_read(c, back, tpl, err);
    r->seconds = bench_now_s() - t0;
    lsws_client_stats(c, &r->st);
    r->st.exchanges -= before.exchanges;
    r->st.wire_bytes_out -= before.wire_bytes_out;
    r->st.wire_bytes_in -= before.wire_bytes_in;
    for (size_t i = 0; rc == LSWS_OK && i < m->n_settings; i++)
        if (tpl->present[i] && !lsws_value_equal(m, i, &tpl->values[i], &back->values[i]))
            rc = lsws_fail(err, LSWS_ERR_DEVICE, SIZE_MAX, "%s did not verify", m->settings[i].key);
    lsws_config_free(back);
    return rc;
}
