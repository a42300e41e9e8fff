/* bench_upgrade: how close a firmware upgrade comes to what the link allows.
 *
 * Starts lsws-sim (WS523) on a pseudo-terminal with its link model at
 * 115200 baud (11,520 bytes/s each way, 8N1) and a per-frame latency, makes
 * an image (256 KiB of payload unless told), and over the real serial
 * transport runs the library's upgrade job (lsws_upgrade_run):
 *
 *   full:     one uninterrupted upgrade on a fresh unit: the transfer (first
 *             FW_DATA to the last acknowledgement) and the whole job (FW_BEGIN
 *             to the new version read after the reboot);
 *   resumed:  the same on another fresh unit whose link drops halfway
 *             (lsws-sim --fw-drop-at: the chunk in flight is lost and the
 *             simulator exits, as a unit losing power would); a new simulator
 *             on the same state, and the job run again, which resumes.
 *
 * The lower bound is the payload at the link's byte rate: no framing, no
 * headers, no answers, no latency. The resume overhead is what the two
 * runs of the interrupted upgrade took beyond the uninterrupted one (lsws's
 * side: the restart of the simulator itself is not counted), and the
 * payload bytes sent twice.
 *
 * Usage: bench_upgrade LSWS-SIM [PAYLOAD_BYTES [BYTES_PER_S [LATENCY_MS]]]
 * Needs the pty shim preloaded (bench/upgrade.sh does it): libserialport
 * cannot open a pseudo-terminal on its own (docs/serial.md). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsws.h"

#define SIM_SLOT (1u << 20) /* the simulated unit's firmware slot (LSWS_SIM_FW_SLOT) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* lsws-sim --model ws523 --state STATE --link-bps B --latency-ms L [--fw-drop-at N] */
static pid_t start_sim(const char *sim, const char *state, unsigned bps, unsigned latency, long drop_at, char *pty,
                       size_t n)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char b[16], l[16], d[24];
        snprintf(b, sizeof b, "%u", bps);
        snprintf(l, sizeof l, "%u", latency);
        snprintf(d, sizeof d, "%ld", drop_at);
        dup2(fds[1], 1);
        close(fds[0]);
        unsetenv("LD_PRELOAD"); /* the shim is for the client side only */
        if (drop_at >= 0)
            execl(sim, sim, "--model", "ws523", "--state", state, "--link-bps", b, "--latency-ms", l, "--fw-drop-at", d,
                  (char *)NULL);
        else
            execl(sim, sim, "--model", "ws523", "--state", state, "--link-bps", b, "--latency-ms", l, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(pty, (int)n, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    pty[strcspn(pty, "\n")] = '\0';
    return pid;
}

static void stop_sim(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

struct run {
    double start, first_data, last_ack, end;
    uint32_t resumed_at, acked;
    unsigned chunks, reconnects;
    size_t chunk;
    unsigned long sent;
    enum lsws_upgrade_outcome outcome;
    int rc;
    char msg[256];
};

static int on_progress(const struct lsws_upgrade *u, void *ctx)
{
    struct run *r = ctx;
    double t = now_s();
    if (!u->chunks)
        r->first_data = t; /* FW_BEGIN answered: the first FW_DATA goes now */
    r->last_ack = t;
    return 0;
}

/* One upgrade job on the unit behind pty, from opening the port. */
static void run_job(const char *pty, const uint8_t *img, size_t len, struct run *r)
{
    char text[300];
    struct lsws_uri uri;
    struct lsws_client *c = NULL;
    struct lsws_device_info info;
    struct lsws_upgrade *u = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(r, 0, sizeof *r);
    snprintf(text, sizeof text, "serial:%s", pty);
    r->rc = lsws_uri_parse(text, &uri, &err);
    if (r->rc == LSWS_OK)
        r->rc = lsws_client_open(&uri, NULL, &c, &err);
    if (r->rc == LSWS_OK)
        r->rc = lsws_client_auth(c, "123456", &info, &err);
    if (r->rc == LSWS_OK)
        r->rc = lsws_upgrade_plan(&info, img, len, 0, &u, &err);
    if (r->rc == LSWS_OK) {
        r->start = now_s();
        r->rc = lsws_upgrade_run(c, u, on_progress, r, &err);
        r->end = now_s();
        r->outcome = u->outcome;
        r->resumed_at = u->first_offset;
        r->acked = u->acked;
        r->chunks = u->chunks;
        r->chunk = u->chunk;
        r->sent = u->sent;
        r->reconnects = u->reconnects;
    }
    snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    lsws_upgrade_free(u);
    lsws_client_close(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_upgrade LSWS-SIM [PAYLOAD_BYTES [BYTES_PER_S [LATENCY_MS]]]\n");
        return 2;
    }
    const char *sim = argv[1];
    size_t size = argc > 2 ? (size_t)atol(argv[2]) : 256 * 1024;
    unsigned bps = argc > 3 ? (unsigned)atoi(argv[3]) : 11520;
    unsigned latency = argc > 4 ? (unsigned)atoi(argv[4]) : 2;
    if (size < 1024 || size > SIM_SLOT) {
        fprintf(stderr, "bench_upgrade: a payload of 1024 to %u bytes\n", SIM_SLOT);
        return 2;
    }

    /* The image: pseudo-random bytes (worst case for nothing, typical for
     * byte stuffing: 2 in 256 bytes are escaped), v1.9 for the WS523. */
    uint8_t *payload = malloc(size), *img = NULL;
    size_t len = 0;
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; payload && i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        payload[i] = (uint8_t)x;
    }
    struct lsws_fw_header h = {.model = LSWS_MODEL_WS523, .hw_min = 0x0120, .hw_max = 0x0120, .fw = 0x0109};
    snprintf(h.name, sizeof h.name, "bench_upgrade");
    struct lsws_error err;
    lsws_error_clear(&err);
    if (!payload || lsws_fw_image_build(&h, payload, size, &img, &len, &err) != LSWS_OK) {
        fprintf(stderr, "bench_upgrade: %s\n", err.msg);
        return 1;
    }
    free(payload);

    char dir[] = "/tmp/bench_upgrade-XXXXXX", full[64], part[64], pty[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(full, sizeof full, "%s/full.json", dir);
    snprintf(part, sizeof part, "%s/part.json", dir);
    double bound = (double)size / bps;
    printf("link: %u bytes/s each way (115200 baud 8N1 = 11520), %u ms latency per frame\n", bps, latency);
    printf("image: %zu bytes of payload (WS523 v1.8 -> v1.9); lower bound %.2f s (the payload at the link's rate)\n",
           size, bound);

    /* Uninterrupted. */
    struct run a, b, c;
    pid_t pid = start_sim(sim, full, bps, latency, -1, pty, sizeof pty);
    if (pid < 0) {
        fprintf(stderr, "bench_upgrade: cannot start %s\n", sim);
        return 1;
    }
    run_job(pty, img, len, &a);
    stop_sim(pid);
    if (a.rc != LSWS_OK || a.outcome != LSWS_UPG_DONE) {
        fprintf(stderr, "bench_upgrade: full run failed: %s\n", a.msg);
        return 1;
    }
    double transfer = a.last_ack - a.first_data, total = a.end - a.start;
    printf("full     transfer %7.2f s  ratio %.3f   whole job %7.2f s  ratio %.3f   %u chunks of %zu bytes, "
           "%.1f KiB/s\n",
           transfer, transfer / bound, total, total / bound, a.chunks, a.chunk, size / transfer / 1024.0);

    /* Interrupted halfway, then resumed on a new simulator. */
    pid = start_sim(sim, part, bps, latency, (long)(size / 2), pty, sizeof pty);
    if (pid < 0)
        return 1;
    run_job(pty, img, len, &b);
    waitpid(pid, NULL, 0); /* it exits when it drops the link */
    if (b.outcome != LSWS_UPG_INTERRUPTED) {
        fprintf(stderr, "bench_upgrade: the interrupted run ended otherwise: %s\n", b.msg);
        return 1;
    }
    pid = start_sim(sim, part, bps, latency, -1, pty, sizeof pty);
    if (pid < 0)
        return 1;
    run_job(pty, img, len, &c);
    stop_sim(pid);
    if (c.rc != LSWS_OK || c.outcome != LSWS_UPG_DONE) {
        fprintf(stderr, "bench_upgrade: the resumed run failed: %s\n", c.msg);
        return 1;
    }
    double t1 = b.end - b.start, t2 = c.end - c.start;
    unsigned long again = b.sent + c.sent - size;
    printf("resumed  interrupted at %u bytes after %.2f s; resumed at %u, %.2f s more; together %.2f s:\n"
           "         %.2f s (%.1f%%) over the uninterrupted job, %lu payload bytes sent twice (the chunk lost "
           "with the link)\n",
           b.acked, t1, c.resumed_at, t2, t1 + t2, t1 + t2 - total, 100.0 * (t1 + t2 - total) / total, again);
    free(img);
    unlink(full);
    unlink(part);
    char p[96];
    snprintf(p, sizeof p, "%s.lock", full);
    unlink(p);
    snprintf(p, sizeof p, "%s.lock", part);
    unlink(p);
    snprintf(p, sizeof p, "%s.fw", part);
    unlink(p);
    rmdir(dir);
    return 0;
}
