/* bench_upgrade: how close a firmware upgrade comes to what the link allows.
 *
 * Serial (the default): starts lsws-sim (WS523) on a pseudo-terminal with
 * its link model at 115200 baud (11,520 bytes/s each way, 8N1) and a
 * per-frame latency, and runs the library's upgrade job (lsws_upgrade_run)
 * over the real serial transport. The lower bound is the payload at the
 * link's byte rate: no framing, no headers, no answers, no latency.
 *
 * BLE (--ble): starts a private dbus-daemon (never the machine's system
 * bus) and lsws-sim --ble (CTH01) on it, with its link model at an ATT MTU
 * (247) and a connection interval (7.5 ms): at most one fragment of MTU - 3
 * bytes each way per interval. The job runs over the real BLE transport
 * (sd-bus, BlueZ's D-Bus API). The lower bound is the payload in whole
 * fragments, one per interval (244 bytes per 7.5 ms: 32.5 kB/s).
 *
 * On either link, with an image of 256 KiB of payload unless told:
 *
 *   full:     one uninterrupted upgrade on a fresh unit: the transfer (first
 *             FW_DATA to the last acknowledgement) and the whole job (FW_BEGIN
 *             to the new version read after the reboot);
 *   resumed:  the same on another fresh unit whose link drops halfway
 *             (lsws-sim --fw-drop-at: the chunk in flight is lost and the
 *             simulator exits, as a unit losing power would); a new simulator
 *             on the same state, and the job run again, which resumes.
 *
 * The resume overhead is what the two runs of the interrupted upgrade took
 * beyond the uninterrupted one (lsws's side, its attempts to reopen the
 * link included: the restart of the simulator itself is not counted), and
 * the payload bytes sent twice (the chunks in flight when the link went).
 *
 * Usage: bench_upgrade [--window N] LSWS-SIM [PAYLOAD_BYTES [BYTES_PER_S [LATENCY_MS]]]
 *        bench_upgrade [--window N] --ble LSWS-SIM [PAYLOAD_BYTES [MTU [INTERVAL_MS]]]
 * --window N: FW_DATA chunks in flight at most (default: the library's own
 * choice for the link), to compare windows. The serial run needs the pty
 * shim preloaded (bench/upgrade.sh does it): libserialport cannot open a
 * pseudo-terminal on its own (docs/serial.md). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsws.h"
#include "ble_bus.h"

#define SIM_SLOT (1u << 20) /* the simulated unit's firmware slot (LSWS_SIM_FW_SLOT) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The link under test and how to start a unit behind it. */
struct link {
    int ble;
    const char *sim;
    unsigned rate;        /* serial: bytes/s; BLE: the ATT MTU */
    unsigned latency;     /* serial: ms per frame */
    const char *interval; /* BLE: ms */
};

/* A fresh or resumed unit (state file state) behind the link, dropping it
 * at payload byte drop_at unless that is negative; its URI into dev. */
static pid_t start_unit(const struct link *l, const char *state, long drop_at, char *dev, size_t n)
{
    char r[16], d[24], pty[256];
    snprintf(r, sizeof r, "%u", l->rate);
    snprintf(d, sizeof d, "%ld", drop_at);
    if (l->ble) {
        char addr[18];
        char *args[] = {"--model", "cth01", "--state", (char *)state, "--mtu", r, "--interval", (char *)l->interval,
                        drop_at >= 0 ? "--fw-drop-at" : NULL, d, NULL};
        pid_t pid = bench_ble_sim_start(l->sim, args, addr);
        snprintf(dev, n, "ble:%s", addr);
        return pid;
    }
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char lat[16];
        snprintf(lat, sizeof lat, "%u", l->latency);
        dup2(fds[1], 1);
        close(fds[0]);
        unsetenv("LD_PRELOAD"); /* the shim is for the client side only */
        if (drop_at >= 0)
            execl(l->sim, l->sim, "--model", "ws523", "--state", state, "--link-bps", r, "--latency-ms", lat,
                  "--fw-drop-at", d, (char *)NULL);
        else
            execl(l->sim, l->sim, "--model", "ws523", "--state", state, "--link-bps", r, "--latency-ms", lat,
                  (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(pty, (int)sizeof pty, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    pty[strcspn(pty, "\n")] = '\0';
    snprintf(dev, n, "serial:%s", pty);
    return pid;
}

struct run {
    double start, first_data, last_ack, end;
    uint32_t resumed_at, acked;
    unsigned chunks, reconnects, resent, window;
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

/* One upgrade job on the unit at dev, from opening the link, with at most
 * window chunks in flight (0: the library's choice). */
static void run_job(const char *dev, const uint8_t *img, size_t len, unsigned window, struct run *r)
{
    struct lsws_uri uri;
    struct lsws_client *c = NULL;
    struct lsws_device_info info;
    struct lsws_upgrade *u = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(r, 0, sizeof *r);
    r->rc = lsws_uri_parse(dev, &uri, &err);
    if (r->rc == LSWS_OK)
        r->rc = lsws_client_open(&uri, NULL, &c, &err);
    if (r->rc == LSWS_OK)
        r->rc = lsws_client_auth(c, "123456", &info, &err);
    if (r->rc == LSWS_OK)
        r->rc = lsws_upgrade_plan(&info, img, len, 0, &u, &err);
    if (r->rc == LSWS_OK) {
        u->window = window;
        r->start = now_s();
        r->rc = lsws_upgrade_run(c, u, on_progress, r, &err);
        r->end = now_s();
        r->outcome = u->outcome;
        r->resumed_at = u->first_offset;
        r->acked = u->acked;
        r->chunks = u->chunks;
        r->chunk = u->chunk;
        r->window = u->window;
        r->sent = u->sent;
        r->resent = u->resent;
        r->reconnects = u->reconnects;
    }
    snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    lsws_upgrade_free(u);
    lsws_client_close(c);
}

int main(int argc, char **argv)
{
    struct link l = {0};
    unsigned window = 0;
    for (; argc > 1 && argv[1][0] == '-' && argv[1][1] == '-'; argc--, argv++) {
        if (strcmp(argv[1], "--ble") == 0) {
            l.ble = 1;
        } else if (strcmp(argv[1], "--window") == 0 && argc > 2) {
            window = (unsigned)atoi(argv[2]);
            argc--;
            argv++;
        } else {
            break;
        }
    }
    if (argc < 2) {
        fprintf(stderr, "usage: bench_upgrade [--window N] LSWS-SIM [PAYLOAD_BYTES [BYTES_PER_S [LATENCY_MS]]]\n"
                        "       bench_upgrade [--window N] --ble LSWS-SIM [PAYLOAD_BYTES [MTU [INTERVAL_MS]]]\n");
        return 2;
    }
    l.sim = argv[1];
    size_t size = argc > 2 ? (size_t)atol(argv[2]) : 256 * 1024;
    l.rate = argc > 3 ? (unsigned)atoi(argv[3]) : l.ble ? 247 : 11520;
    l.latency = argc > 4 ? (unsigned)atoi(argv[4]) : 2;
    l.interval = argc > 4 ? argv[4] : "7.5";
    if (size < 1024 || size > SIM_SLOT) {
        fprintf(stderr, "bench_upgrade: a payload of 1024 to %u bytes\n", SIM_SLOT);
        return 2;
    }
    if (l.ble && (l.rate < 23 || l.rate > 517 || atof(l.interval) <= 0)) {
        fprintf(stderr, "bench_upgrade: an MTU of 23 to 517 and an interval above 0 ms\n");
        return 2;
    }

    /* The image: pseudo-random bytes (worst case for nothing, typical for
     * byte stuffing: 2 in 256 bytes are escaped), for the unit the link
     * serves (as lsws-sim's factory units: WS523 hardware v1.2 running
     * v1.8, CTH01 v1.0 running v1.1), one minor version up. */
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
    if (l.ble)
        h = (struct lsws_fw_header){.model = LSWS_MODEL_CTH01, .hw_min = 0x0100, .hw_max = 0x0100, .fw = 0x0102};
    snprintf(h.name, sizeof h.name, "bench_upgrade");
    struct lsws_error err;
    lsws_error_clear(&err);
    if (!payload || lsws_fw_image_build(&h, payload, size, &img, &len, &err) != LSWS_OK) {
        fprintf(stderr, "bench_upgrade: %s\n", err.msg);
        return 1;
    }
    free(payload);

    char dir[] = "/tmp/bench_upgrade-XXXXXX", full[64], part[64], dev[300];
    if (!mkdtemp(dir))
        return 1;
    snprintf(full, sizeof full, "%s/full.json", dir);
    snprintf(part, sizeof part, "%s/part.json", dir);
    pid_t bus = -1;
    double bound;
    if (l.ble) {
        if ((bus = bench_bus_start(dir)) < 0) {
            fprintf(stderr, "bench_upgrade: cannot start a private dbus-daemon (apt-get install dbus)\n");
            return 1;
        }
        unsigned frag = l.rate - 3;
        bound = (double)((size + frag - 1) / frag) * atof(l.interval) / 1e3;
        printf("BLE link: lsws-sim --ble, MTU %u, %s ms connection interval, one fragment (%u bytes) each way per "
               "interval\n", l.rate, l.interval, frag);
        printf("image: %zu bytes of payload (CTH01 v1.1 -> v1.2); lower bound %.2f s (the payload in whole "
               "fragments, one per interval)\n", size, bound);
    } else {
        bound = (double)size / l.rate;
        printf("link: %u bytes/s each way (115200 baud 8N1 = 11520), %u ms latency per frame\n", l.rate, l.latency);
        printf("image: %zu bytes of payload (WS523 v1.8 -> v1.9); lower bound %.2f s (the payload at the link's "
               "rate)\n", size, bound);
    }

    /* Uninterrupted. */
    struct run a, b, c;
    pid_t pid = start_unit(&l, full, -1, dev, sizeof dev);
    if (pid < 0) {
        fprintf(stderr, "bench_upgrade: cannot start %s\n", l.sim);
        return 1;
    }
    run_job(dev, img, len, window, &a);
    bench_stop(pid);
    if (a.rc != LSWS_OK || a.outcome != LSWS_UPG_DONE) {
        fprintf(stderr, "bench_upgrade: full run failed: %s\n", a.msg);
        return 1;
    }
    double transfer = a.last_ack - a.first_data, total = a.end - a.start;
    printf("full     transfer %7.2f s  ratio %.3f   whole job %7.2f s  ratio %.3f   %u chunks of %zu bytes, "
           "window %u, %.1f KiB/s\n",
           transfer, transfer / bound, total, total / bound, a.chunks, a.chunk, a.window, size / transfer / 1024.0);

    /* Interrupted halfway, then resumed on a new simulator. */
    pid = start_unit(&l, part, (long)(size / 2), dev, sizeof dev);
    if (pid < 0)
        return 1;
    run_job(dev, img, len, window, &b);
    waitpid(pid, NULL, 0); /* it exits when it drops the link */
    if (b.outcome != LSWS_UPG_INTERRUPTED) {
        fprintf(stderr, "bench_upgrade: the interrupted run ended otherwise: %s\n", b.msg);
        return 1;
    }
    pid = start_unit(&l, part, -1, dev, sizeof dev);
    if (pid < 0)
        return 1;
    run_job(dev, img, len, window, &c);
    bench_stop(pid);
    if (c.rc != LSWS_OK || c.outcome != LSWS_UPG_DONE) {
        fprintf(stderr, "bench_upgrade: the resumed run failed: %s\n", c.msg);
        return 1;
    }
    double t1 = b.end - b.start, t2 = c.end - c.start, lost = b.end - b.last_ack;
    unsigned long again = b.sent + c.sent - size;
    printf("resumed  interrupted at %u bytes after %.2f s (%.2f s of it from the last acknowledgement to giving up, "
           "%u reopenings); resumed at %u, %.2f s more; together %.2f s:\n"
           "         %.2f s (%.1f%%) over the uninterrupted job, %lu payload bytes sent twice (the chunks in flight "
           "when the link went)\n",
           b.acked, t1, lost, b.reconnects, c.resumed_at, t2, t1 + t2, t1 + t2 - total,
           100.0 * (t1 + t2 - total) / total, again);
    free(img);
    bench_stop(bus);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
