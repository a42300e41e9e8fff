/* bench_history: `lsws history` against what the link allows.
 *
 * Builds a simulated CTH01 that recorded N full periodic records (every
 * report parameter of 6c on, 12 channels: 518 bytes each), starts lsws-sim
 * on a pseudo-terminal with its link model at 115200 baud (11,520 bytes/s
 * each way) and a per-frame latency, and runs the real lsws binary, as a
 * user does:
 *     lsws -d serial:PTY history -o OUT.csv
 * It prints the wall time, the lower bound (the records' own bytes at the
 * link's byte rate: nothing else, no framing, no requests, no latency), the
 * ratio of the two, the CPU time lsws used and its peak resident memory
 * (from wait4), and checks OUT.csv has a row per record.
 *
 * Usage: bench_history LSWS-SIM LSWS [RECORDS [BYTES_PER_S [LATENCY_MS]]]
 * (bench/history.sh preloads the pty shim for lsws: libserialport cannot
 * open a pseudo-terminal on its own, docs/serial.md).
 *
 *        bench_history --ble LSWS-SIM LSWS [RECORDS [MTU [INTERVAL_MS]]]
 * does the same over the real BLE transport against lsws-sim --ble on a
 * private dbus-daemon it starts (never the machine's system bus), whose link
 * model carries at most one fragment (MTU - 3 bytes) each way per connection
 * interval: the bound is then the records' bytes in whole fragments, one per
 * interval (MTU 247, 7.5 ms: 32.5 kB/s). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ble_bus.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs argv with stdout to out (NULL: /dev/null), stderr to /dev/null
 * unless quiet is 0; returns the exit status and the child's usage. */
static int run(char *const argv[], const char *out, int quiet, struct rusage *ru, const char *preload)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        if (quiet) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 2);
        }
        if (preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage r;
    if (wait4(pid, &status, 0, &r) < 0)
        return -1;
    if (ru)
        *ru = r;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static pid_t start_sim(const char *sim, const char *state, unsigned bps, unsigned latency, char *pty, size_t n)
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
        unsetenv("LD_PRELOAD");
        execl(sim, sim, "--model", "cth01", "--state", state, "--link-bps", b, "--latency-ms", l, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(pty, (int)n, f))
        return -1;
    pty[strcspn(pty, "\n")] = '\0';
    return pid;
}

static long count_lines(const char *path, unsigned long long *bytes)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int c, last = '\n';
    *bytes = 0;
    if (!f)
        return -1;
    while ((c = getc(f)) != EOF) {
        if (c == '\n')
            n++;
        else if (c != '\r')
            ++*bytes;
        last = c;
    }
    fclose(f);
    return last == '\n' ? n : n + 1;
}

int main(int argc, char **argv)
{
    int ble = argc > 1 && strcmp(argv[1], "--ble") == 0;
    if (ble) {
        argv++;
        argc--;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: bench_history LSWS-SIM LSWS [RECORDS [BYTES_PER_S [LATENCY_MS]]]\n"
                        "       bench_history --ble LSWS-SIM LSWS [RECORDS [MTU [INTERVAL_MS]]]\n");
        return 2;
    }
    const char *sim = argv[1], *lsws = argv[2];
    unsigned records = argc > 3 ? (unsigned)atoi(argv[3]) : 20000;
    unsigned bps = argc > 4 ? (unsigned)atoi(argv[4]) : ble ? 247 : 11520;   /* BLE: the MTU */
    const char *interval = argc > 5 ? argv[5] : "7.5";
    unsigned latency = argc > 5 ? (unsigned)atoi(argv[5]) : 2;
    const char *preload = getenv("LD_PRELOAD");
    char dir[] = "/tmp/lsws-bench-history-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char state[128], uri[200], dump[128], out[128], recs[16], pty[256], dev[300];
    snprintf(state, sizeof state, "%s/hub.json", dir);
    snprintf(uri, sizeof uri, "sim:cth01?state=%s", state);
    snprintf(dump, sizeof dump, "%s/store.txt", dir);
    snprintf(out, sizeof out, "%s/out.csv", dir);
    snprintf(recs, sizeof recs, "%u", records);
    setenv("XDG_STATE_HOME", dir, 1);
    setenv("LSWS_BACKUP_DIR", dir, 1);
    setenv("LSWS_PASSWORD", "123456", 1);

    /* Every report parameter on, then the recorded history. */
    static const char *const params[] = {"temperature", "current", "voltage", "power_factor", "active_power",
                                         "reactive_power", "apparent_power", "import_active_energy",
                                         "export_active_energy", "import_reactive_energy",
                                         "export_reactive_energy", "apparent_energy", "thdi", "thdv",
                                         "voltage_unbalance"};
    char *set[32] = {(char *)lsws, "-q", "-d", uri, "set"};
    char kv[15][64];
    size_t n = 5;
    for (size_t i = 0; i < 15; i++) {
        snprintf(kv[i], sizeof kv[i], "report.%s=true", params[i]);
        set[n++] = kv[i];
    }
    set[n] = NULL;
    char *seed[] = {(char *)sim, "--model", "cth01", "--state", state, "--history-records", recs,
                    "--history-start", "2026-01-01", "--history-dump", "periodic", NULL};
    unsigned long long store_bytes;
    if (run(set, NULL, 1, NULL, NULL) != 0 || run(seed, dump, 1, NULL, NULL) != 0 ||
        count_lines(dump, &store_bytes) != (long)records) {
        fprintf(stderr, "bench_history: cannot set up the simulated hub in %s\n", dir);
        return 1;
    }
    store_bytes /= 2; /* hex */

    pid_t bus = -1, spid;
    if (ble) {
        char addr[32];
        if ((bus = bench_bus_start(dir)) < 0) {
            fprintf(stderr, "bench_history: cannot start a private dbus-daemon (apt-get install dbus)\n");
            return 1;
        }
        char m[16];
        snprintf(m, sizeof m, "%u", bps);
        char *args[] = {"--model", "cth01", "--state", state, "--mtu", m, "--interval", (char *)interval, NULL};
        spid = bench_ble_sim_start(sim, args, addr);
        snprintf(dev, sizeof dev, "ble:%s", addr);
        /* The hub known to bluetoothd first, as after `lsws list --ble`. */
        char *info[] = {(char *)lsws, "-q", "-d", dev, "info", NULL};
        if (spid < 0 || run(info, NULL, 1, NULL, NULL) != 0) {
            fprintf(stderr, "bench_history: cannot reach the BLE hub\n");
            return 1;
        }
        preload = NULL;
    } else {
        spid = start_sim(sim, state, bps, latency, pty, sizeof pty);
        snprintf(dev, sizeof dev, "serial:%s", pty);
    }
    if (spid < 0) {
        fprintf(stderr, "bench_history: cannot start %s\n", sim);
        return 1;
    }
    char *export[] = {(char *)lsws, "-q", "-d", dev, "history", "-o", out, NULL};
    struct rusage ru;
    double t0 = now_s();
    int rc = run(export, NULL, 0, &ru, preload);
    double secs = now_s() - t0;
    bench_stop(spid);
    bench_stop(bus);
    unsigned long long csv_bytes;
    long rows = count_lines(out, &csv_bytes);
    if (rc != 0 || rows != (long)records + 1) {
        fprintf(stderr, "bench_history: lsws history failed (exit %d, %ld rows)\n", rc, rows);
        return 1;
    }
    double iv = atof(interval) / 1e3;
    /* BLE: whole MTU - 3 fragments, one per interval. */
    double bound = ble ? (double)((store_bytes + bps - 4) / (bps - 3)) * iv : (double)store_bytes / bps;
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    if (ble)
        printf("BLE link: lsws-sim --ble, MTU %u, %s ms connection interval, one fragment (%u bytes) each way per "
               "interval\n", bps, interval, bps - 3);
    else
        printf("link: %u bytes/s each way (115200 baud 8N1 = 11520), %u ms latency per frame\n", bps, latency);
    printf("%u full periodic records (%llu bytes of records, %.0f per record), CSV %.1f MB\n", records, store_bytes,
           (double)store_bytes / records, (double)csv_bytes / 1e6);
    printf("lsws history -o: %.1f s, bound %.1f s (the records' bytes at the link rate), ratio %.3f\n", secs, bound,
           secs / bound);
    printf("lsws CPU %.2f s (user %.2f, system %.2f), peak memory %.1f MB (maxrss)\n", cpu,
           ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
           ru.ru_maxrss / 1024.0);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
