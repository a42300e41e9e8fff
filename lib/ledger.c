/* The provisioning ledger's front end: where the ledger is, who this
 * process is, and the calls batch makes, dispatched to a backend
 * (lib/ledger_sqlite.c, lib/ledger_pg.c, behind struct lsws_ledger_ops in
 * lib/fleet_int.h). docs/fleet.md describes the
 * records, the claims and their leases, and why a crash never loses a
 * committed record nor writes a unit twice. */
#include "fleet_int.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LEASE_MS (5 * 60 * 1000) /* a unit takes seconds; a claim not finished in 5 min has lapsed */

struct lsws_ledger {
    const struct lsws_ledger_ops *ops;
    void *h;
    char where[1024];
    char owner[128];
    char operator_name[64], station[64];
    double seconds; /* in backend calls */
    unsigned long calls;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Counts one backend call begun at t0 (lsws_ledger_stats: the per-unit ledger cost). */
static int account(struct lsws_ledger *l, double t0, int rc)
{
    l->seconds += mono_s() - t0;
    l->calls++;
    return rc;
}

static const char *const state_names[] = {"pending", "ok", "failed", "unknown"};

const char *lsws_ledger_state_name(enum lsws_ledger_state s)
{
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "invalid";
}

void lsws_ledger_record_release(struct lsws_ledger_record *r)
{
    if (!r)
        return;
    if (r->settings)
        explicit_bzero(r->settings, strlen(r->settings)); /* keys */
    if (r->network)
        explicit_bzero(r->network, strlen(r->network));
    free(r->settings);
    free(r->network);
    r->settings = r->network = NULL;
}

/* mkdir -p with mode 0700: the ledger holds keys. */
static int mkdirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = c;
        if (rc < 0 && errno != EEXIST)
            return -1;
        if (!c)
            return 0;
    }
}

/* $XDG_DATA_HOME/lsws/ledger.sqlite, else ~/.local/share/lsws/ledger.sqlite. */
static int default_where(char *buf, size_t n, struct lsws_error *err)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int w;
    if (xdg && *xdg)
        w = snprintf(buf, n, "%s/lsws", xdg);
    else if (home && *home)
        w = snprintf(buf, n, "%s/.local/share/lsws", home);
    else
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "neither XDG_DATA_HOME nor HOME is set: give --ledger FILE");
    if (w < 0 || (size_t)w + sizeof "/ledger.sqlite" > n)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "data directory path too long");
    if (mkdirs(buf) < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot create '%s': %s", buf, strerror(errno));
    strcat(buf, "/ledger.sqlite");
    return LSWS_OK;
}

static void host_name(char *buf, size_t n)
{
    if (gethostname(buf, n) < 0 || !buf[0])
        lsws_copy(buf, n, "localhost");
    buf[n - 1] = '\0';
}

/* The owner of a claim: "station|host|pid|run" (run: 64 random bits, so a
 * later process with the same pid is not taken for this one). */
static int make_owner(struct lsws_ledger *l, struct lsws_error *err)
{
    uint8_t run[8];
    char hex[17], host[64];
    int rc = lsws_random(run, sizeof run, err);
    if (rc != LSWS_OK)
        return rc;
    lsws_hex_format(run, sizeof run, hex);
    host_name(host, sizeof host);
    snprintf(l->owner, sizeof l->owner, "%.40s|%.40s|%ld|%s", l->station, host, (long)getpid(), hex);
    return LSWS_OK;
}

/* Whether the holder of an open claim is gone: its lease ran out, or it is
 * a process of this host that no longer runs (a crash, a SIGKILL), or an
 * earlier ledger of this very process. */
static int owner_gone(const char *owner, int64_t lease_until_ms, int64_t now_ms)
{
    if (lease_until_ms < now_ms)
        return 1;
    char copy[128], host[64];
    lsws_copy(copy, sizeof copy, owner);
    char *station = strtok(copy, "|"), *their_host = strtok(NULL, "|"), *pid = strtok(NULL, "|");
    if (!station || !their_host || !pid)
        return 0;
    host_name(host, sizeof host);
    if (strcmp(their_host, host) != 0)
        return 0; /* another machine: only its lease tells */
    long p = strtol(pid, NULL, 10);
    if (p <= 0)
        return 0;
    if (p == (long)getpid())
        return 1;
    return kill((pid_t)p, 0) < 0 && errno == ESRCH;
}

static struct lsws_ledger_ctx context(const struct lsws_ledger *l)
{
    return (struct lsws_ledger_ctx){l->owner, lsws_now_ms(), LEASE_MS, owner_gone};
}

static int is_pg(const char *where)
{
    return strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0;
}

/* The backend for where, and what it opens (a path, or the URI as given:
 * libpq reads it, and the PostgreSQL backend refuses one with a password,
 * so it is safe to print). */
static int backend_of(const char *where, const struct lsws_ledger_ops **ops, char *buf, size_t n,
                      struct lsws_error *err)
{
    if (is_pg(where)) {
#ifdef LSWS_HAVE_PG
        *ops = &lsws_ledger_pg;
#else
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX,
                         "this lsws was built without PostgreSQL (libpq): give a file for the SQLite ledger");
#endif
    } else {
        *ops = &lsws_ledger_sqlite;
        if (strncmp(where, "sqlite:", 7) == 0)
            where += 7;
    }
    if (snprintf(buf, n, "%s", where) >= (int)n)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "ledger path or URI too long");
    return LSWS_OK;
}

int lsws_ledger_init(const char *where, int *from, int *to, struct lsws_error *err)
{
    char buf[1024];
    const struct lsws_ledger_ops *ops = NULL;
    if (!where || !*where)
        where = getenv("LSWS_LEDGER");
    int rc = !where || !*where ? default_where(buf, sizeof buf, err) : backend_of(where, &ops, buf, sizeof buf, err);
    if (rc != LSWS_OK)
        return rc;
    if (!ops)
        ops = &lsws_ledger_sqlite;
    *from = *to = 0;
    return ops->init(buf, from, to, err);
}

int lsws_ledger_open(const char *where, const char *operator_name, const char *station, struct lsws_ledger **out,
                     struct lsws_error *err)
{
    struct lsws_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    int rc = LSWS_OK;
    if (!where || !*where)
        where = getenv("LSWS_LEDGER");
    if (!where || !*where)
        rc = default_where(l->where, sizeof l->where, err);
    else
        rc = backend_of(where, &l->ops, l->where, sizeof l->where, err);
    char host[64];
    host_name(host, sizeof host);
    const char *user = getenv("LSWS_OPERATOR");
    if (!user || !*user)
        user = getenv("USER");
    struct passwd *pw = (!user || !*user) ? getpwuid(getuid()) : NULL;
    lsws_copy(l->operator_name, sizeof l->operator_name,
              operator_name && *operator_name ? operator_name : user && *user ? user : pw ? pw->pw_name : "unknown");
    const char *st = getenv("LSWS_STATION");
    lsws_copy(l->station, sizeof l->station, station && *station ? station : st && *st ? st : host);
    for (char *p = l->station; *p; p++)
        if (*p == '|')
            *p = '_';
    if (rc == LSWS_OK && !l->ops)
        l->ops = &lsws_ledger_sqlite; /* the default file */
    if (rc == LSWS_OK)
        rc = make_owner(l, err);
    if (rc == LSWS_OK)
        rc = l->ops->open(l->where, &l->h, err);
    if (rc != LSWS_OK) {
        free(l);
        return rc;
    }
    *out = l;
    return LSWS_OK;
}

void lsws_ledger_close(struct lsws_ledger *l)
{
    if (!l)
        return;
    l->ops->close(l->h);
    free(l);
}

const char *lsws_ledger_where(const struct lsws_ledger *l)
{
    return l->where;
}

const char *lsws_ledger_owner(const struct lsws_ledger *l)
{
    return l->owner;
}

const char *lsws_ledger_backend(const struct lsws_ledger *l)
{
    return l->ops->name;
}

void lsws_ledger_stats(const struct lsws_ledger *l, double *seconds, unsigned long *calls)
{
    *seconds = l->seconds;
    *calls = l->calls;
}

int lsws_ledger_reconnect(struct lsws_ledger *l, struct lsws_error *err)
{
    return l->ops->reconnect ? l->ops->reconnect(l->h, err) : LSWS_OK; /* a file has no server to lose */
}

int lsws_ledger_renew(struct lsws_ledger *l, struct lsws_ledger_record *rec, struct lsws_error *err)
{
    if (!l->ops->renew)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s ledger cannot renew a claim", l->ops->name);
    struct lsws_ledger_ctx ctx = context(l);
    double t0 = mono_s();
    return account(l, t0, l->ops->renew(l->h, &ctx, rec, err));
}

static int need_pool(const struct lsws_ledger *l, const struct lsws_manifest *pool, struct lsws_error *err)
{
    if (!lsws_manifest_is_pool(pool))
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "a manifest keyed by SN is no pool");
    if (!l->ops->pool_load || !l->ops->pool_take || !l->ops->pool_release)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s ledger has no pools", l->ops->name);
    return LSWS_OK;
}

int lsws_ledger_pool_load(struct lsws_ledger *l, const struct lsws_manifest *pool, struct lsws_error *err)
{
    int rc = need_pool(l, pool, err);
    if (rc != LSWS_OK)
        return rc;
    double t0 = mono_s();
    return account(l, t0, l->ops->pool_load(l->h, pool, err));
}

int lsws_ledger_pool_take(struct lsws_ledger *l, const struct lsws_manifest *pool,
                          const struct lsws_ledger_record *rec, size_t *row, struct lsws_error *err)
{
    int rc = need_pool(l, pool, err);
    if (rc != LSWS_OK)
        return rc;
    struct lsws_ledger_ctx ctx = context(l);
    int64_t row_no = 0;
    double t0 = mono_s();
    rc = account(l, t0, l->ops->pool_take(l->h, &ctx, lsws_manifest_hash(pool), rec, &row_no, err));
    if (rc == LSWS_OK && (row_no < 1 || (size_t)row_no > lsws_manifest_rows(pool)))
        rc = lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "ledger '%s': pool row %lld is not in the pool file",
                       l->where, (long long)row_no);
    if (rc == LSWS_OK)
        *row = (size_t)(row_no - 1);
    return rc;
}

int lsws_ledger_pool_release(struct lsws_ledger *l, const struct lsws_manifest *pool, size_t row,
                             struct lsws_error *err)
{
    int rc = need_pool(l, pool, err);
    if (rc != LSWS_OK)
        return rc;
    struct lsws_ledger_ctx ctx = context(l);
    double t0 = mono_s();
    return account(l, t0, l->ops->pool_release(l->h, &ctx, lsws_manifest_hash(pool), (int64_t)row + 1, err));
}

int lsws_ledger_claim(struct lsws_ledger *l, const char *sn, const char *template_hash, unsigned flags,
                      struct lsws_ledger_record *rec, enum lsws_claim *out, struct lsws_error *err)
{
    if (!l->ops->claim)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s ledger cannot claim units", l->ops->name);
    struct lsws_ledger_ctx ctx = context(l);
    memset(rec, 0, sizeof *rec);
    double t0 = mono_s();
    return account(l, t0, l->ops->claim(l->h, &ctx, sn, template_hash, flags, rec, out, err));
}

int lsws_ledger_begin(struct lsws_ledger *l, struct lsws_ledger_record *rec, struct lsws_error *err)
{
    if (!l->ops->begin)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s ledger cannot record", l->ops->name);
    struct lsws_ledger_ctx ctx = context(l);
    rec->state = LSWS_LEDGER_PENDING;
    lsws_copy(rec->owner, sizeof rec->owner, l->owner);
    lsws_copy(rec->operator_name, sizeof rec->operator_name, l->operator_name);
    lsws_copy(rec->station, sizeof rec->station, l->station);
    rec->started_ms = ctx.now_ms;
    rec->finished_ms = 0;
    rec->lease_until_ms = ctx.now_ms + ctx.lease_ms;
    double t0 = mono_s();
    return account(l, t0, l->ops->begin(l->h, &ctx, rec, err));
}

int lsws_ledger_finish(struct lsws_ledger *l, struct lsws_ledger_record *rec, struct lsws_error *err)
{
    if (!l->ops->finish)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s ledger cannot record", l->ops->name);
    struct lsws_ledger_ctx ctx = context(l);
    rec->finished_ms = ctx.now_ms;
    double t0 = mono_s();
    return account(l, t0, l->ops->finish(l->h, &ctx, rec, err));
}

int lsws_ledger_each(struct lsws_ledger *l, const struct lsws_ledger_filter *f,
                     int (*fn)(const struct lsws_ledger_record *rec, void *ctx), void *ctx, struct lsws_error *err)
{
    static const struct lsws_ledger_filter all = {NULL, 0, -1, 0};
    if (!l->ops->each)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "the %s ledger cannot list", l->ops->name);
    return l->ops->each(l->h, f ? f : &all, fn, ctx, err);
}
