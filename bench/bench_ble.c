/* bench_ble: how close `get` and `set` come to what a Bluetooth LE link
 * allows, over the real BLE transport (sd-bus, BlueZ's D-Bus API) against
 * lsws-sim --ble on a private dbus-daemon this program starts (it never
 * touches the machine's system bus).
 *
 * The link model (lsws-sim --ble): ATT MTU 23 or 247, a 7.5 ms connection
 * interval, at most one fragment (MTU - 3 bytes) in each direction per
 * interval, a fragment answered at the earliest one interval after the
 * request's last fragment came in. For the CTH01 at each MTU:
 *   get:  AUTH (which also identifies) and a READ of every setting, on an
 *         open connection;
 *   set:  a WRITE of every writable setting of the factory template in one
 *         transaction, then a READ of them all back (verify);
 * against the lower bound of the link: the settings bytes in full fragments,
 * one per interval (once for get, out and back for set), plus one round trip
 * (a one-fragment request and answer). Then the whole commands as a user
 * runs them (the real lsws, password in LSWS_PASSWORD):
 *   lsws get, lsws set K=V (AUTH, READ of every setting for the plan and the
 *   backup, WRITE of one command, READ of it back);
 * against their own bound: the connection as the simulator models it (one
 * interval, then service resolution) and every exchange the command needs,
 * each request and answer in as few whole fragments as its bytes allow.
 * Exchanges and message bytes come from lsws -v. The hub is known to
 * bluetoothd before (an `lsws info` first): discovery is not timed.
 *
 * Usage: bench_ble LSWS-SIM LSWS [INTERVAL_MS]   (bench/link.sh runs it) */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsws.h"
#include "run_lsws.h"
#include "ble_bus.h"

#define RESOLVE_MS 15 /* lsws-sim's default service resolution */

static char dir[] = "/tmp/lsws-bench-ble-XXXXXX";
static pid_t bus_pid = -1;

static int start_bus(void)
{
    if (!mkdtemp(dir))
        return -1;
    bus_pid = bench_bus_start(dir);
    return bus_pid > 0 ? 0 : -1;
}

static void stop_bus(void)
{
    bench_stop(bus_pid);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_ble: cannot remove %s\n", dir);
}

/* lsws-sim --ble for the CTH01 at mtu and interval; the hub's address in addr. */
static pid_t start_sim(const char *sim, unsigned mtu, const char *interval, char *addr, size_t n)
{
    char m[16];
    snprintf(m, sizeof m, "%u", mtu);
    char *args[] = {"--model", "cth01", "--mtu", m, "--interval", (char *)interval, NULL};
    (void)n;
    return bench_ble_sim_start(sim, args, addr);
}

static void stop_sim(pid_t pid)
{
    bench_stop(pid);
}

static int open_client(const char *addr, struct lsws_client **c, struct lsws_error *err)
{
    char text[64];
    struct lsws_uri uri;
    snprintf(text, sizeof text, "ble:%s", addr);
    int rc = lsws_uri_parse(text, &uri, err);
    return rc != LSWS_OK ? rc : lsws_client_open(&uri, NULL, c, err);
}

/* Whole fragments a message of n bytes needs at fragment size f, at the
 * least: its bytes in full fragments, no framing. */
static double frags(double n, unsigned f)
{
    return n <= 0 ? 1 : ceil(n / f);
}

static void print(unsigned mtu, const char *what, const struct bench_row *r, double payload, double interval_ms)
{
    unsigned f = mtu - 3;
    double bound = (frags(payload, f) + 2) * interval_ms / 1e3; /* + one round trip */
    printf("cth01 MTU %3u %-4s %7.1f ms  %2u exchanges  %5lu bytes out  %5lu bytes in  settings %5.0f bytes  "
           "bound %7.1f ms  ratio %.2f\n",
           mtu, what, r->seconds * 1e3, r->st.exchanges, r->st.wire_bytes_out, r->st.wire_bytes_in, payload,
           bound * 1e3, r->seconds / bound);
}

static int bench_lib(const char *sim, unsigned mtu, const char *interval, double interval_ms)
{
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    char addr[32];
    pid_t pid = start_sim(sim, mtu, interval, addr, sizeof addr);
    if (pid < 0) {
        fprintf(stderr, "bench_ble: cannot start %s\n", sim);
        return 1;
    }
    struct lsws_error err;
    struct lsws_client *c = NULL;
    struct lsws_device_info info;
    struct lsws_config *cfg = NULL, *tpl = NULL;
    uint8_t tlv[LSWS_TXN_BYTES];
    size_t read_bytes = 0, write_bytes = 0;
    struct bench_row get, set;
    struct lsws_client_stats before;
    int rc = 1;
    lsws_error_clear(&err);
    if (open_client(addr, &c, &err))
        goto out;
    lsws_client_stats(c, &before);
    double t0 = bench_now_s();
    if (lsws_client_auth(c, "123456", &info, &err) || lsws_config_new(m, &cfg) || lsws_client_read(c, cfg, NULL, &err))
        goto out;
    get.seconds = bench_now_s() - t0;
    lsws_client_stats(c, &get.st);
    lsws_settings_report(cfg, tlv, sizeof tlv, &read_bytes, &err);

    if (bench_factory_template(&info, &tpl, &write_bytes, &err) || bench_timed_set(c, tpl, &set, &err))
        goto out;
    print(mtu, "get", &get, (double)read_bytes, interval_ms);
    print(mtu, "set", &set, 2.0 * (double)write_bytes, interval_ms);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_ble: MTU %u: %s\n", mtu, err.msg);
    lsws_client_close(c);
    lsws_config_free(cfg);
    lsws_config_free(tpl);
    stop_sim(pid);
    return rc;
}


/* The bound of a whole command: the connection (one interval, then the
 * services), then each of its exchanges in as few whole fragments as the
 * bytes of its request and answer allow, one fragment per interval. */
static void print_cmd(unsigned mtu, const char *what, const struct cmd_run *r, double interval_ms)
{
    unsigned f = mtu - 3;
    double intervals = 1 + RESOLVE_MS / interval_ms;
    for (unsigned i = 0; i < r->exchanges && i < BENCH_EXCHANGES; i++)
        intervals += frags((double)r->msg_out[i], f) + frags((double)r->msg_in[i], f);
    double bound = intervals * interval_ms / 1e3;
    printf("cth01 MTU %3u %-14s %7.1f ms  %2u exchanges  %5lu msg bytes out  %5lu in  bound %7.1f ms  ratio %.2f\n",
           mtu, what, r->seconds * 1e3, r->exchanges, r->out, r->in, bound * 1e3, r->seconds / bound);
}

static int bench_commands(const char *sim, const char *lsws, unsigned mtu, const char *interval, double interval_ms)
{
    char addr[32], dev[64];
    pid_t pid = start_sim(sim, mtu, interval, addr, sizeof addr);
    if (pid < 0)
        return 1;
    snprintf(dev, sizeof dev, "ble:%s", addr);
    struct cmd_run warm, get, set;
    /* The hub known to bluetoothd first, as after `lsws list --ble`: the
     * rows time commands, not a discovery. */
    char *const warm_args[] = {(char *)lsws, "-v", "-d", dev, "info", NULL};
    char *const get_args[] = {(char *)lsws, "-v", "-d", dev, "get", NULL};
    char one[64];
    bench_set_arg(LSWS_MODEL_CTH01, one, sizeof one);
    char *const set_args[] = {(char *)lsws, "-v", "-d", dev, "set", one, NULL};
    int rc = run_lsws(lsws, warm_args, &warm) || run_lsws(lsws, get_args, &get) || run_lsws(lsws, set_args, &set);
    if (rc)
        fprintf(stderr, "bench_ble: MTU %u: lsws failed\n", mtu);
    else {
        print_cmd(mtu, "lsws get", &get, interval_ms);
        print_cmd(mtu, "lsws set (one)", &set, interval_ms);
    }
    stop_sim(pid);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ble LSWS-SIM LSWS [INTERVAL_MS]\n");
        return 2;
    }
    const char *interval = argc > 3 ? argv[3] : "7.5";
    double interval_ms = atof(interval);
    if (interval_ms < 7.5) {
        fprintf(stderr, "bench_ble: the interval is 7.5 to 4000 ms\n");
        return 2;
    }
    if (start_bus() < 0) {
        fprintf(stderr, "bench_ble: cannot start a private dbus-daemon (apt-get install dbus)\n");
        stop_bus();
        return 1;
    }
    printf("BLE link: lsws-sim --ble, %.1f ms connection interval, one fragment each way per interval\n",
           interval_ms);
    int rc = 0;
    static const unsigned mtus[] = {23, 247};
    for (int i = 0; i < 2; i++)
        rc |= bench_lib(argv[1], mtus[i], interval, interval_ms);
    for (int i = 0; i < 2; i++)
        rc |= bench_commands(argv[1], argv[2], mtus[i], interval, interval_ms);
    stop_bus();
    return rc;
}
