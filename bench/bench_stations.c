/* bench_stations: several provisioning stations on one shared ledger and
 * one pool of identities (docs/fleet.md, "Several stations on
 * PostgreSQL"). Each configuration runs STATIONS processes at once, each
 * provisioning its own share of N simulated WS523s (unit i goes to station
 * i mod STATIONS, as each line has its own units) through lsws_batch_unit,
 * the identity of each (AppKey, JoinEUI) taken from one pool of N rows.
 *
 * The units are the in-process `sim:` transport with a state file each and
 * the simulator's link model: the link carries BPS bytes per second
 * (default 11,520: a 115,200 baud serial jig) and every answer comes
 * LATENCY ms late (default 10 ms), so the link, not the tool, is the
 * bottleneck (about 100 ms of a unit's time): one station mostly waits,
 * and more stations should add throughput until the CPU or the ledger runs
 * out.
 *
 *   bench_stations N DIR [--latency-ms MS] [--link-bps BPS] K=LEDGER...
 *
 * K=LEDGER: a configuration of K stations on LEDGER (an SQLite file, or a
 * postgresql:// URI of an empty database: bench/stations.sh makes them).
 * Prints for each: wall time, units per second, the ledger's cost per unit
 * (the time in the ledger's calls for one unit: claim, pool row, begin,
 * finish; mean, median, p99) and, for K > 1, the ratio to the first
 * configuration with one station on the same backend. Then it checks, from
 * the ledger and the simulators' state files, that every unit was written
 * exactly once, has exactly one record and it is ok, and that every
 * identity of the pool went to exactly one unit; if not, it exits 1. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "lsws.h"

#define MAX_CONFIGS 8
#define MAX_STATIONS 16

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char tpl_text[] = "{\"lsws_template\": 1, \"model\": \"ws523\", \"settings\": {"
                               "\"general.report_interval\": 720, \"lorawan.app_key\": \"${APP_KEY}\", "
                               "\"lorawan.app_eui\": \"${JOIN_EUI}\"}}";

struct config {
    int stations;
    const char *ledger;
    char dir[512];
    int index;
};

static void sn_of(const struct config *c, long i, char sn[17])
{
    snprintf(sn, 17, "be%02x%012lx", (unsigned)c->index & 0xffu, (unsigned long)i & 0xffffffffffffUL);
}

static void state_of(const struct config *c, long i, char *buf, size_t n)
{
    snprintf(buf, n, "%s/u%05ld.json", c->dir, i);
}

/* The pool: N rows, each its own AppKey (distinct per configuration). */
static char *pool_csv(const struct config *c, long n)
{
    size_t cap = 32 + (size_t)n * 52;
    char *text = malloc(cap), *at = text;
    if (!text)
        return NULL;
    at += sprintf(at, "app_key,join_eui\n");
    for (long i = 0; i < n; i++)
        at += sprintf(at, "5eed%02x%026lx,70b3d57ed00000%02lx\n", (unsigned)c->index, (unsigned long)i, i % 4);
    return text;
}

/* One station: its units, one after the other. Writes to fd: the number
 * provisioned, then each unit's ledger seconds. */
struct link_model {
    unsigned latency_ms, bps;
};

static int station(const struct config *c, int k, long n, const struct link_model *lm, int start_fd, int out_fd)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    char name[32], *csv = pool_csv(c, n);
    snprintf(name, sizeof name, "station-%d", k + 1);
    struct lsws_tpl *tpl;
    struct lsws_manifest *pool;
    struct lsws_ledger *ledger;
    struct lsws_batch *batch;
    if (!csv || lsws_tpl_parse(tpl_text, strlen(tpl_text), LSWS_TPL_PLACEHOLDERS, &tpl, &err) != LSWS_OK ||
        lsws_manifest_parse_pool(csv, strlen(csv), &pool, &err) != LSWS_OK ||
        lsws_ledger_open(c->ledger, "bench", name, &ledger, &err) != LSWS_OK) {
        fprintf(stderr, "bench_stations: %s: %s\n", name, err.msg);
        return 1;
    }
    free(csv);
    struct lsws_batch_opts bo = {.tpl = tpl, .template_name = "bench", .pool = pool, .ledger = ledger};
    if (lsws_batch_new(&bo, &batch, &err) != LSWS_OK) {
        fprintf(stderr, "bench_stations: %s: %s\n", name, err.msg);
        return 1;
    }
    char go;
    if (read(start_fd, &go, 1) != 1) /* all stations start together */
        return 1;
    long ok = 0, mine = 0;
    double *cost = calloc((size_t)(n / c->stations + 1), sizeof *cost);
    for (long i = k; i < n && cost; i += c->stations) {
        char sn[17], state[600], text[800];
        sn_of(c, i, sn);
        state_of(c, i, state, sizeof state);
        snprintf(text, sizeof text, "sim:ws523?state=%s&sn=%s&latency_ms=%u&link_bps=%u", state, sn, lm->latency_ms,
                 lm->bps);
        struct lsws_uri uri;
        struct lsws_client *cl = NULL;
        struct lsws_device_info info;
        if (lsws_uri_parse(text, &uri, &err) != LSWS_OK || lsws_client_open(&uri, NULL, &cl, &err) != LSWS_OK ||
            lsws_client_auth(cl, "123456", &info, &err) != LSWS_OK) {
            fprintf(stderr, "bench_stations: %s: %s\n", text, err.msg);
            lsws_client_close(cl);
            continue;
        }
        double before;
        unsigned long calls;
        lsws_ledger_stats(ledger, &before, &calls);
        struct lsws_batch_result res;
        lsws_batch_unit(batch, cl, &info, text, &res);
        double after;
        lsws_ledger_stats(ledger, &after, &calls);
        cost[mine++] = after - before;
        if (res.status == LSWS_UNIT_OK)
            ok++;
        else
            fprintf(stderr, "bench_stations: %s: %s: %s\n", name, sn, res.err.msg[0] ? res.err.msg : "not provisioned");
        int stop = res.ledger_failed;
        lsws_batch_result_release(&res);
        lsws_client_close(cl);
        if (stop)
            break;
    }
    int rc = write(out_fd, &ok, sizeof ok) == sizeof ok && write(out_fd, &mine, sizeof mine) == sizeof mine &&
                     write(out_fd, cost, (size_t)mine * sizeof *cost) == (ssize_t)((size_t)mine * sizeof *cost)
                 ? 0
                 : 1;
    free(cost);
    lsws_batch_free(batch);
    lsws_ledger_close(ledger);
    lsws_manifest_free(pool);
    lsws_tpl_free(tpl);
    return rc;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- after a configuration: exactly once? ---- */

struct seen {
    const struct config *c;
    long n;
    int *records, *ok; /* per unit */
    char **keys;       /* the AppKey each ok record wrote */
    long others;       /* records of units not in this run */
};

static long unit_of(const struct seen *s, const char *sn)
{
    char want[17];
    if (strlen(sn) != 16)
        return -1;
    char *end;
    long i = strtol(sn + 4, &end, 16);
    if (*end || i < 0 || i >= s->n)
        return -1;
    sn_of(s->c, i, want);
    return strcmp(want, sn) == 0 ? i : -1;
}

static int one_record(const struct lsws_ledger_record *r, void *ctx)
{
    struct seen *s = ctx;
    long i = unit_of(s, r->sn);
    if (i < 0) {
        s->others++;
        return 0;
    }
    s->records[i]++;
    if (r->state != LSWS_LEDGER_OK || !r->settings)
        return 0;
    s->ok[i]++;
    json_t *t = json_loads(r->settings, 0, NULL);
    const char *key = json_string_value(json_object_get(json_object_get(t, "settings"), "lorawan.app_key"));
    free(s->keys[i]);
    s->keys[i] = key ? strdup(key) : NULL;
    json_decref(t);
    return 0;
}

static int by_string(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

static long state_writes(const char *path)
{
    json_t *j = json_load_file(path, 0, NULL);
    json_t *w = json_object_get(j, "writes");
    long n = json_is_integer(w) ? (long)json_integer_value(w) : -1;
    json_decref(j);
    return n;
}

/* 0 when every unit was provisioned exactly once, with its own identity. */
static int check(const struct config *c, long n)
{
    struct lsws_ledger *l;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_ledger_open(c->ledger, "bench", "check", &l, &err) != LSWS_OK) {
        fprintf(stderr, "bench_stations: %s\n", err.msg);
        return 1;
    }
    struct seen s = {c, n, calloc((size_t)n, sizeof(int)), calloc((size_t)n, sizeof(int)),
                     calloc((size_t)n, sizeof(char *)), 0};
    int rc = lsws_ledger_each(l, NULL, one_record, &s, &err);
    lsws_ledger_close(l);
    long bad_records = 0, bad_writes = 0, dup_keys = 0;
    for (long i = 0; i < n; i++) {
        char path[600];
        state_of(c, i, path, sizeof path);
        bad_records += s.records[i] != 1 || s.ok[i] != 1;
        bad_writes += state_writes(path) != 1;
    }
    qsort(s.keys, (size_t)n, sizeof *s.keys, by_string);
    for (long i = 0; i < n; i++)
        dup_keys += !s.keys[i] || (i && s.keys[i - 1] && strcmp(s.keys[i], s.keys[i - 1]) == 0);
    printf("  check: %ld units without exactly one record (ok), %ld not written exactly once, %ld identities "
           "missing or given twice%s\n",
           bad_records, bad_writes, dup_keys, rc == LSWS_OK ? "" : " (the ledger could not be read)");
    for (long i = 0; i < n; i++)
        free(s.keys[i]);
    free(s.keys);
    free(s.records);
    free(s.ok);
    return rc != LSWS_OK || bad_records || bad_writes || dup_keys;
}

/* ---- one configuration ---- */

struct figures {
    double wall, units_per_s, mean_ms, median_ms, p99_ms;
    long ok;
};

static int run(const struct config *c, long n, const struct link_model *lm, struct figures *f)
{
    int start[2], out[MAX_STATIONS][2];
    pid_t pid[MAX_STATIONS];
    if (pipe(start) < 0)
        return 1;
    for (int k = 0; k < c->stations; k++) {
        if (pipe(out[k]) < 0)
            return 1;
        fflush(stdout);
        if ((pid[k] = fork()) == 0) {
            close(start[1]);
            close(out[k][0]);
            _exit(station(c, k, n, lm, start[0], out[k][1]));
        }
        close(out[k][1]);
    }
    close(start[0]);
    sleep(1); /* each station opened its ledger and loaded the pool (idempotent) */
    double t0 = now_s();
    for (int k = 0; k < c->stations; k++)
        if (write(start[1], "g", 1) != 1)
            return 1;
    close(start[1]);
    double *cost = calloc((size_t)n + 1, sizeof *cost);
    long total = 0;
    int failed = 0;
    f->ok = 0;
    for (int k = 0; k < c->stations; k++) {
        long ok = 0, mine = 0;
        if (read(out[k][0], &ok, sizeof ok) != sizeof ok || read(out[k][0], &mine, sizeof mine) != sizeof mine ||
            mine < 0 || total + mine > n)
            failed = 1;
        else {
            size_t want = (size_t)mine * sizeof *cost, got = 0;
            while (got < want) {
                ssize_t r = read(out[k][0], (char *)(cost + total) + got, want - got);
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            failed |= got != want;
            f->ok += ok;
            total += mine;
        }
        close(out[k][0]);
    }
    for (int k = 0; k < c->stations; k++) {
        int status;
        waitpid(pid[k], &status, 0);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    f->wall = now_s() - t0;
    f->units_per_s = f->ok / f->wall;
    double sum = 0;
    for (long i = 0; i < total; i++)
        sum += cost[i];
    qsort(cost, (size_t)total, sizeof *cost, by_value);
    f->mean_ms = total ? sum / total * 1e3 : 0;
    f->median_ms = total ? cost[total / 2] * 1e3 : 0;
    f->p99_ms = total ? cost[(long)(total * 0.99) < total ? (long)(total * 0.99) : total - 1] * 1e3 : 0;
    free(cost);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_stations N DIR [--latency-ms MS] [--link-bps BPS] K=LEDGER...\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    const char *dir = argv[2];
    struct link_model lm = {10, 11520};
    struct config configs[MAX_CONFIGS];
    int nc = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--latency-ms") == 0 && i + 1 < argc) {
            lm.latency_ms = (unsigned)strtoul(argv[++i], NULL, 10);
            continue;
        }
        if (strcmp(argv[i], "--link-bps") == 0 && i + 1 < argc) {
            lm.bps = (unsigned)strtoul(argv[++i], NULL, 10);
            continue;
        }
        char *eq = strchr(argv[i], '=');
        int k = eq ? atoi(argv[i]) : 0;
        if (!eq || k < 1 || k > MAX_STATIONS || nc == MAX_CONFIGS) {
            fprintf(stderr, "bench_stations: '%s' is not K=LEDGER (K from 1 to %d)\n", argv[i], MAX_STATIONS);
            return 2;
        }
        configs[nc] = (struct config){.stations = k, .ledger = eq + 1, .index = nc};
        snprintf(configs[nc].dir, sizeof configs[nc].dir, "%s/c%d", dir, nc);
        nc++;
    }
    if (n < 1 || !nc) {
        fprintf(stderr, "usage: bench_stations N DIR [--latency-ms MS] [--link-bps BPS] K=LEDGER...\n");
        return 2;
    }
    mkdir(dir, 0700);
    char backups[600];
    snprintf(backups, sizeof backups, "%s/backups", dir);
    setenv("LSWS_BACKUP_DIR", backups, 1);
    signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    struct figures fig[MAX_CONFIGS];
    printf("bench_stations: %ld units per configuration; the link model: %u bytes/s, each answer %u ms late; "
           "identities from one pool of %ld rows\n",
           n, lm.bps, lm.latency_ms, n);
    for (int i = 0; i < nc; i++) {
        struct config *c = &configs[i];
        if (mkdir(c->dir, 0700) < 0 && errno != EEXIST) {
            perror(c->dir);
            return 1;
        }
        int from, to;
        struct lsws_error err;
        lsws_error_clear(&err);
        if (lsws_ledger_init(c->ledger, &from, &to, &err) != LSWS_OK) {
            fprintf(stderr, "bench_stations: %s\n", err.msg);
            return 1;
        }
        int failed = run(c, n, &lm, &fig[i]);
        int pg = strncmp(c->ledger, "postgres", 8) == 0;
        char ratio[96] = "";
        for (int j = 0; j < i && c->stations > 1; j++)
            if (configs[j].stations == 1 && (strncmp(configs[j].ledger, "postgres", 8) == 0) == pg) {
                double x = fig[i].units_per_s / fig[j].units_per_s;
                snprintf(ratio, sizeof ratio, ", %.2fx one station's (target >= 3 for 4)", x);
                break;
            }
        printf("%-10s %d station%s: %ld of %ld provisioned in %.1f s, %.1f units/s%s\n", pg ? "postgresql" : "sqlite",
               c->stations, c->stations == 1 ? " " : "s", fig[i].ok, n, fig[i].wall, fig[i].units_per_s, ratio);
        printf("  ledger per unit: mean %.2f ms, median %.2f ms, p99 %.2f ms (target < 20 ms)\n", fig[i].mean_ms,
               fig[i].median_ms, fig[i].p99_ms);
        rc |= failed | check(c, n);
        fflush(stdout);
    }
    if (rc)
        printf("bench_stations: FAILED: a unit was not provisioned exactly once (see above)\n");
    return rc;
}
