/* bench_batch: batch provisioning of N simulated units, one after the
 * other, through lsws_batch_unit (what `lsws batch` runs for each unit):
 * open a session (IDENTIFY, AUTH), claim in the ledger, fill the template
 * (a generated AppKey), read the unit for the plan, record the settings
 * (durable), back up (a file, fsynced), write one transaction, read back,
 * record the outcome (durable).
 *
 * The units are in-process simulated WS523s behind this bench's own
 * transport with no link delay and no state file (the simulated flash costs
 * nothing), so what is measured is the tool's own time; the time spent in
 * the simulator's request handler is measured apart and subtracted. The
 * ledger is a real SQLite file in DIR (WAL, synchronous=FULL: each commit
 * is fsynced), so put DIR on the disk a station would use.
 *
 *   bench_batch [N [DIR]]     N units (default 1000), DIR (default: a new
 *                             directory in $TMPDIR or /tmp)
 *
 * Prints the time per unit (mean, median, 99th percentile, worst), the
 * simulator's share, and the peak resident memory after a tenth of the
 * units and at the end: it must not grow with N. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "lsws.h"
#include "sim.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* ---- the bench's transport: a simulated unit in memory, no delay ---- */

static double sim_seconds; /* time inside the simulator, over the run */

struct link {
    struct lsws_sim *sim;
    uint8_t resp[LSWS_MSG_MAX];
    size_t len;
};

static int link_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h, struct lsws_error *err)
{
    (void)opts;
    struct link *l = calloc(1, sizeof *l);
    if (!l)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    struct lsws_sim_opts so = {.model = LSWS_MODEL_WS523, .sn = lsws_uri_opt(uri, "sn")};
    double t0 = now_s();
    int rc = lsws_sim_new(&so, &l->sim, err);
    sim_seconds += now_s() - t0;
    if (rc != LSWS_OK) {
        free(l);
        return rc;
    }
    *h = l;
    return LSWS_OK;
}

static void link_close(void *h)
{
    struct link *l = h;
    double t0 = now_s();
    lsws_sim_free(l->sim);
    sim_seconds += now_s() - t0;
    free(l);
}

static int link_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    struct link *l = h;
    (void)err;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t0 = now_s();
    lsws_sim_handle(l->sim, msg, len, l->resp, sizeof l->resp, &l->len,
                    (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
    sim_seconds += now_s() - t0;
    return LSWS_OK;
}

static int link_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    struct link *l = h;
    (void)timeout_ms;
    if (!l->len || l->len > cap)
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "no answer");
    memcpy(buf, l->resp, l->len);
    *len = l->len;
    l->len = 0;
    return LSWS_OK;
}

static const char *const link_options[] = {"sn", NULL};
static const struct lsws_transport bench_transport = {
    .scheme = "sim", .help = "bench", .options = link_options, .open = link_open, .close = link_close,
    .send = link_send, .recv = link_recv, .timeout_ms = 1000,
};

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char *fs_name(const char *dir)
{
    struct statfs s;
    if (statfs(dir, &s) < 0)
        return "?";
    switch ((unsigned long)s.f_type) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs (fsync costs nothing: not a station's disk)";
    case 0x794c7630: return "overlayfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    default: return "other";
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    char dir[512];
    if (argc > 2) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            perror(dir);
            return 1;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/bench-batch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    if (n < 1) {
        fprintf(stderr, "usage: bench_batch [N [DIR]]\n");
        return 2;
    }
    char ledger_path[600], backups[600];
    snprintf(ledger_path, sizeof ledger_path, "%s/ledger.sqlite", dir);
    snprintf(backups, sizeof backups, "%s/backups", dir);
    setenv("LSWS_BACKUP_DIR", backups, 1);

    const char *tpl_text = "{\"lsws_template\": 1, \"model\": \"ws523\", \"settings\": {"
                           "\"general.report_interval\": 900, \"lorawan.app_key\": \"${APP_KEY}\", "
                           "\"lorawan.app_port\": 90, \"general.led\": false, \"lorawan.app_eui\": \"0011223344556677\"}}";
    struct lsws_tpl *tpl;
    struct lsws_ledger *ledger;
    struct lsws_batch *batch;
    struct lsws_error err;
    lsws_error_clear(&err);
    static const char *const gen[] = {"APP_KEY"};
    if (lsws_tpl_parse(tpl_text, strlen(tpl_text), LSWS_TPL_PLACEHOLDERS, &tpl, &err) != LSWS_OK ||
        lsws_ledger_open(ledger_path, "bench", "bench", &ledger, &err) != LSWS_OK) {
        fprintf(stderr, "bench_batch: %s\n", err.msg);
        return 1;
    }
    struct lsws_batch_opts bo = {.tpl = tpl, .template_name = "bench", .generate = gen, .n_generate = 1, .ledger = ledger};
    if (lsws_batch_new(&bo, &batch, &err) != LSWS_OK) {
        fprintf(stderr, "bench_batch: %s\n", err.msg);
        return 1;
    }
    double *own = malloc((size_t)n * sizeof *own); /* the figures, not the tool's memory */
    long ok = 0, rss_tenth = 0;
    double start = now_s(), sim_total = 0;
    for (long i = 0; i < n; i++) {
        char text[64];
        snprintf(text, sizeof text, "sim:ws523?sn=%016lx", 0xbe00000000000000ul + (unsigned long)i);
        struct lsws_uri uri;
        struct lsws_client *c = NULL;
        struct lsws_device_info info;
        struct lsws_batch_result res;
        double sim_before = sim_seconds, t0 = now_s();
        if (lsws_uri_parse(text, &uri, &err) != LSWS_OK) {
            fprintf(stderr, "bench_batch: %s\n", err.msg);
            return 1;
        }
        uri.transport = &bench_transport;
        if (lsws_client_open(&uri, NULL, &c, &err) != LSWS_OK || lsws_client_auth(c, "123456", &info, &err) != LSWS_OK) {
            fprintf(stderr, "bench_batch: %s: %s\n", text, err.msg);
            return 1;
        }
        lsws_batch_unit(batch, c, &info, text, &res);
        ok += res.status == LSWS_UNIT_OK && res.rec.changes == 5;
        if (res.status != LSWS_UNIT_OK)
            fprintf(stderr, "bench_batch: %s: %s\n", text, res.err.msg);
        else if (res.rec.changes != 5) /* a template value equal to the default is not a change */
            fprintf(stderr, "bench_batch: %s: %d changes, not 5\n", text, res.rec.changes);
        lsws_batch_result_release(&res);
        lsws_client_close(c);
        double spent = now_s() - t0, in_sim = sim_seconds - sim_before;
        own[i] = spent - in_sim;
        sim_total += in_sim;
        if (i + 1 == (n + 9) / 10)
            rss_tenth = peak_rss_kib();
    }
    double total = now_s() - start;
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += own[i];
    qsort(own, (size_t)n, sizeof *own, by_value);
    printf("bench_batch: %ld units, %ld provisioned (5 settings each, generated AppKey), ledger and backups on %s\n", n, ok,
           fs_name(dir));
    printf("  wall %.2f s, %.1f units/s\n", total, n / total);
    printf("  tool's own time per unit: mean %.2f ms, median %.2f ms, p99 %.2f ms, worst %.2f ms (target < 20 ms)\n",
           sum / n * 1e3, own[n / 2] * 1e3, own[(long)(n * 0.99) < n ? (long)(n * 0.99) : n - 1] * 1e3, own[n - 1] * 1e3);
    printf("  simulator's own time per unit: %.3f ms (left out above)\n", sim_total / n * 1e3);
    printf("  peak RSS: %ld KiB after %ld units, %ld KiB after %ld\n", rss_tenth, (n + 9) / 10, peak_rss_kib(), n);
    printf("  (ledger %s)\n", ledger_path);
    free(own);
    lsws_batch_free(batch);
    lsws_ledger_close(ledger);
    lsws_tpl_free(tpl);
    return ok == n ? 0 : 1;
}
