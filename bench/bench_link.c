/* bench_link: how close `get` and `set` come to what the link allows.
 *
 * Starts lsws-sim on a pseudo-terminal with its link model at 115200 baud
 * (11,520 bytes/s each way, 8N1) and a per-frame latency, then, over the real
 * serial transport, times for each model:
 *   get:  open a session (AUTH, which also identifies), read every setting;
 *   set:  write every writable setting of the factory template in one
 *         transaction, then read them all back (verify).
 * and prints time, exchanges, bytes on the wire and the ratio to the lower
 * bound: the settings bytes at the link's byte rate (once for get, out and
 * back for set) plus one round trip (two minimal frames and the latency).
 *
 * Then the whole commands as a user runs them, the real lsws binary with
 * the password in LSWS_PASSWORD:
 *   lsws get:      AUTH (which identifies), READ of every setting;
 *   lsws set K=V:  AUTH, READ of every setting (the plan and the backup),
 *                  WRITE of one command, READ of it back (verify);
 * with their own bound: every exchange the command needs, each as its
 * smallest framed request and response at the link's byte rate plus the
 * latency. Exchanges and message bytes come from lsws -v.
 *
 * Usage: bench_link LSWS-SIM LSWS [BYTES_PER_S [LATENCY_MS]]
 * Needs the pty shim preloaded (bench/link.sh does it): libserialport
 * cannot open a pseudo-terminal on its own (docs/serial.md). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsws.h"
#include "run_lsws.h"

static pid_t start_sim(const char *sim, const char *model, unsigned bps, unsigned latency, char *pty, size_t n)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char b[16], l[16];
        snprintf(b, sizeof b, "%u", bps);
        snprintf(l, sizeof l, "%u", latency);
        dup2(fds[1], 1);
        close(fds[0]);
        unsetenv("LD_PRELOAD"); /* the shim is for the client side only */
        execl(sim, sim, "--model", model, "--link-bps", b, "--latency-ms", l, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(pty, (int)n, f))
        return -1;
    pty[strcspn(pty, "\n")] = '\0';
    return pid; /* f stays open: the simulator's stdout */
}

static void print(const char *model, const char *what, const struct bench_row *r, size_t payload_bytes,
                  unsigned bps, unsigned latency)
{
    /* One round trip: a minimal request and response frame (header, CRC, flags) and the latency. */
    double rtt = (3 + 4 + 2 * 4) / (double)bps + latency / 1e3;
    double bound = payload_bytes / (double)bps + rtt;
    printf("%-6s %-4s %7.1f ms  %2u exchanges  %5lu bytes out  %5lu bytes in  settings %5zu bytes  "
           "bound %7.1f ms  ratio %.2f\n",
           model, what, r->seconds * 1e3, r->st.exchanges, r->st.wire_bytes_out, r->st.wire_bytes_in,
           payload_bytes, bound * 1e3, r->seconds / bound);
}

static int open_client(const char *pty, struct lsws_client **c, struct lsws_error *err)
{
    char text[300];
    struct lsws_uri uri;
    snprintf(text, sizeof text, "serial:%s", pty);
    int rc = lsws_uri_parse(text, &uri, err);
    return rc != LSWS_OK ? rc : lsws_client_open(&uri, NULL, c, err);
}

static int bench_model(const char *sim, enum lsws_model_id id, unsigned bps, unsigned latency)
{
    const struct lsws_model *m = lsws_model_get(id);
    char pty[256];
    pid_t pid = start_sim(sim, m->name, bps, latency, pty, sizeof pty);
    if (pid < 0) {
        fprintf(stderr, "bench_link: cannot start %s\n", sim);
        return 1;
    }
    struct lsws_error err;
    struct lsws_client *c = NULL;
    struct lsws_device_info info;
    struct lsws_config *cfg = NULL, *tpl = NULL;
    uint8_t tlv[16384];
    size_t read_bytes = 0, write_bytes = 0;
    struct bench_row get, set;
    int rc = 1;
    lsws_error_clear(&err);

    /* get: a fresh session, as the command does. */
    double t0 = bench_now_s();
    if (open_client(pty, &c, &err) || lsws_client_auth(c, "123456", &info, &err) || lsws_config_new(m, &cfg) ||
        lsws_client_read(c, cfg, NULL, &err))
        goto out;
    get.seconds = bench_now_s() - t0;
    lsws_client_stats(c, &get.st);
    lsws_settings_report(cfg, tlv, sizeof tlv, &read_bytes, &err); /* what the device sent */
    lsws_client_close(c);
    c = NULL;

    /* set: the factory template (band defaults, this unit's identity), all
     * writable settings, one transaction, then verify. */
    if (bench_factory_template(&info, &tpl, &write_bytes, &err) || open_client(pty, &c, &err) ||
        lsws_client_auth(c, "123456", &info, &err) || bench_timed_set(c, tpl, &set, &err))
        goto out;
    print(m->name, "get", &get, read_bytes, bps, latency);
    print(m->name, "set", &set, 2 * write_bytes, bps, latency);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_link: %s: %s\n", m->name, err.msg);
    lsws_client_close(c);
    lsws_config_free(cfg);
    lsws_config_free(tpl);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return rc;
}

/* ---- whole commands ---------------------------------------------------------- */


/* Smallest framed size of a message of n bytes (flags, CRC; no stuffing). */
static double framed(size_t n)
{
    return (double)n + 4;
}

static void print_cmd(const char *model, const char *what, const struct cmd_run *r, double bound_bytes,
                      unsigned needed, unsigned bps, unsigned latency)
{
    double bound = bound_bytes / bps + needed * latency / 1e3;
    printf("%-6s %-14s %7.1f ms  %2u exchanges  %5lu msg bytes out  %5lu in  bound %7.1f ms  ratio %.2f\n",
           model, what, r->seconds * 1e3, r->exchanges, r->out, r->in, bound * 1e3, r->seconds / bound);
}

static int bench_commands(const char *sim, const char *lsws, enum lsws_model_id id, unsigned bps, unsigned latency)
{
    const struct lsws_model *m = lsws_model_get(id);
    char pty[256], dev[300];
    pid_t pid = start_sim(sim, m->name, bps, latency, pty, sizeof pty);
    if (pid < 0)
        return 1;
    snprintf(dev, sizeof dev, "serial:%s", pty);
    /* What the device holds, encoded as it sends it: the bound's read size. */
    struct lsws_config *cfg = NULL;
    uint8_t tlv[LSWS_TXN_BYTES];
    size_t all = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    struct lsws_client *c = NULL;
    struct lsws_device_info info;
    int rc = 1;
    if (open_client(pty, &c, &err) || lsws_client_auth(c, "123456", &info, &err) || lsws_config_new(m, &cfg) ||
        lsws_client_read(c, cfg, NULL, &err))
        goto out;
    lsws_settings_report(cfg, tlv, sizeof tlv, &all, &err);
    lsws_client_close(c);
    c = NULL;

    struct cmd_run get, set;
    char *const get_args[] = {(char *)lsws, "-v", "-d", dev, "get", NULL};
    /* One setting carried alone by its command: general.report_interval. */
    char one[64];
    bench_set_arg(id, one, sizeof one);
    char *const set_args[] = {(char *)lsws, "-v", "-d", dev, "set", one, NULL};
    if (run_lsws(lsws, get_args, &get) || run_lsws(lsws, set_args, &set))
        goto out;
    /* AUTH: 3+6 out, 4+32 in. READ all: 3+2 out, 4+2+all in. The one
     * command is 2 bytes of code and 2 of value on both models (ff03, 6101).
     * WRITE: 3+1+cmd out, 4 in. READ back: 3+2+1+code out, 4+2+cmd in. */
    const size_t cmd = 4, code = 2;
    double auth = framed(9) + framed(36), read_all = framed(5) + framed(6 + all);
    double write = framed(4 + cmd) + framed(4), back = framed(6 + code) + framed(6 + cmd);
    print_cmd(m->name, "lsws get", &get, auth + read_all, 2, bps, latency);
    print_cmd(m->name, "lsws set (one)", &set, auth + read_all + write + back, 4, bps, latency);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_link: %s commands: %s\n", m->name, err.msg[0] ? err.msg : "lsws failed");
    lsws_client_close(c);
    lsws_config_free(cfg);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_link LSWS-SIM LSWS [BYTES_PER_S [LATENCY_MS]]\n");
        return 2;
    }
    unsigned bps = argc > 3 ? (unsigned)atoi(argv[3]) : 11520;
    unsigned latency = argc > 4 ? (unsigned)atoi(argv[4]) : 2;
    printf("link: %u bytes/s each way (115200 baud 8N1 = 11520), %u ms latency per frame\n", bps, latency);
    int rc = 0;
    for (int m = 0; m < LSWS_MODEL_COUNT; m++)
        rc |= bench_model(argv[1], (enum lsws_model_id)m, bps, latency);
    for (int m = 0; m < LSWS_MODEL_COUNT; m++)
        rc |= bench_commands(argv[1], argv[2], (enum lsws_model_id)m, bps, latency);
    return rc;
}
