/* The PostgreSQL ledger: several stations sharing one ledger, one pool of
 * identities and one manifest (docs/fleet.md, "Several stations on
 * PostgreSQL").
 *
 * The contract is the SQLite backend's (lib/fleet_int.h): each call is one
 * transaction, durable when it returns (PostgreSQL's COMMIT waits for the
 * WAL flush, synchronous_commit being on by default). How the server keeps
 * two stations apart:
 *   - an open claim is unique: the partial unique index on (sn,
 *     template_hash) for the open states, so a second insert waits for the
 *     first and then does nothing (INSERT ... ON CONFLICT DO NOTHING);
 *   - a claim reads the unit's open record FOR UPDATE SKIP LOCKED: a record
 *     another station is taking over or finishing right now is skipped,
 *     and the begin that follows finds it (below);
 *   - a begin checks, in its own statement, that the unit has no open
 *     record and no ok record newer than the one the claim saw: under READ
 *     COMMITTED each statement sees what committed before it, and a record
 *     being finished is still open until its finish commits, so a unit
 *     provisioned between a claim and a begin is never written again;
 *   - a finish updates WHERE id = $1 AND owner = $2: a claim that lapsed
 *     and was taken over is not overwritten;
 *   - pool rows are taken FOR UPDATE SKIP LOCKED: stations taking rows at
 *     the same moment each get another one, without waiting in line.
 * Leases are reckoned by the server's clock (clock_timestamp()), so
 * stations whose clocks differ agree on when a claim lapsed; a holder on
 * another host is judged by its lease only (owner_gone, lib/ledger.c).
 *
 * Connections follow libpq's conventions: the URI goes to PQconnectdbParams
 * as given, so PG* variables, ~/.pgpass and PGPASSFILE apply. A URI with a
 * password is refused: it would sit in argv and in every message that
 * names the ledger. Every query is parameterised (PQexecParams). libpq's
 * errors are translated here, with the ledger's URI; a lost connection is
 * LSWS_ERR_NODEV, which batch answers by waiting for the server. Notices
 * (CREATE ... IF NOT EXISTS) are dropped: lib/ never prints. */
#include "fleet_int.h"
#include "pq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION LSWS_LEDGER_SCHEMA
#define INIT_LOCK_KEY 0x6c737773 /* "lsws": pg_advisory_xact_lock, so two inits run one after the other */
#define POOL_SCAN 64             /* reserved rows looked at for a holder that is gone */
#define NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

/* libpq, loaded when the first PostgreSQL ledger is opened (lib/pq.c). */
static const struct lsws_pq *pq;

struct pg {
    PGconn *conn;
    char where[1024];
};

/* ---- errors ---- */

/* libpq's message, its first line (the rest is DETAIL/HINT for people at
 * a psql prompt), without the trailing newline. */
static void first_line(const char *msg, char *out, size_t n)
{
    lsws_copy(out, n, msg && *msg ? msg : "unknown error");
    out[strcspn(out, "\n")] = '\0';
}

/* The server went away: the connection is bad, or the error is libpq's
 * own (every error the server reports has an SQLSTATE; "server closed the
 * connection unexpectedly" has none, and libpq may not have marked the
 * connection bad yet), or the server says so (08: connection exception;
 * 57P01-03: it shuts down, crashed, or is starting). */
static int lost(const struct pg *p, const PGresult *res)
{
    const char *state = res ? pq->PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return pq->PQstatus(p->conn) == CONNECTION_BAD || !state || strncmp(state, "08", 2) == 0 ||
           strncmp(state, "57P0", 4) == 0;
}

static int fail_pg(struct pg *p, const PGresult *res, const char *what, struct lsws_error *err)
{
    char msg[300];
    first_line(res && *pq->PQresultErrorMessage(res) ? pq->PQresultErrorMessage(res) : pq->PQerrorMessage(p->conn), msg,
               sizeof msg);
    if (lost(p, res))
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "ledger '%s': the connection to the server was lost (%s): %s",
                         p->where, what, msg);
    const char *state = res ? pq->PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* 23505 unique violation; 40001 serialization failure, 40P01 deadlock; 55P03 lock not available */
    int busy = state && (strcmp(state, "23505") == 0 || strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0);
    return lsws_fail(err, busy ? LSWS_ERR_BUSY : LSWS_ERR_IO, SIZE_MAX, "ledger '%s': %s: %s", p->where, what, msg);
}

/* Runs one statement; *out holds its result when it returned rows (the
 * caller clears it), else it is cleared here. */
static int run(struct pg *p, const char *sql, int n, const char *const *values, PGresult **out, const char *what,
               struct lsws_error *err)
{
    PGresult *res = pq->PQexecParams(p->conn, sql, n, NULL, values, NULL, NULL, 0);
    ExecStatusType st = res ? pq->PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = fail_pg(p, res, what, err);
        pq->PQclear(res);
        return rc;
    }
    if (out)
        *out = res;
    else
        pq->PQclear(res);
    return LSWS_OK;
}

static int tx_begin(struct pg *p, struct lsws_error *err)
{
    return run(p, "BEGIN", 0, NULL, NULL, "begin", err);
}

static int tx_commit(struct pg *p, struct lsws_error *err)
{
    return run(p, "COMMIT", 0, NULL, NULL, "commit", err);
}

/* Rolls back after a failure (a lost connection has nothing to roll back:
 * the server did it) and returns rc. */
static int tx_abort(struct pg *p, int rc)
{
    if (pq->PQstatus(p->conn) == CONNECTION_OK && pq->PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        pq->PQclear(pq->PQexecParams(p->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0));
    return rc;
}

static int64_t int_at(const PGresult *res, int row, int col)
{
    return pq->PQgetisnull(res, row, col) ? 0 : strtoll(pq->PQgetvalue(res, row, col), NULL, 10);
}

static const char *text_at(const PGresult *res, int row, int col)
{
    return pq->PQgetisnull(res, row, col) ? "" : pq->PQgetvalue(res, row, col);
}

struct num {
    char s[24];
};

static const char *num(struct num *n, int64_t v)
{
    snprintf(n->s, sizeof n->s, "%lld", (long long)v);
    return n->s;
}

/* ---- connecting, the schema ---- */

static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A password in the URI (user:secret@ or ?password=) is refused. */
static int check_conninfo(const char *where, struct lsws_error *err)
{
    char *msg = NULL;
    PQconninfoOption *opts = pq->PQconninfoParse(where, &msg);
    if (!opts) {
        char line[300];
        first_line(msg ? msg : "out of memory", line, sizeof line);
        pq->PQfreemem(msg);
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "invalid ledger URI '%s': %s", where, line);
    }
    int has_password = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            has_password = 1;
    pq->PQconninfoFree(opts);
    if (has_password)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "the ledger URI carries a password: give it in PGPASSWORD, ~/.pgpass or the file "
                         "PGPASSFILE names (libpq reads them), never in the URI, which command lines and messages "
                         "show");
    return LSWS_OK;
}

static void close_pg(void *h)
{
    struct pg *p = h;
    if (!p)
        return;
    pq->PQfinish(p->conn);
    free(p);
}

static int connect_pg(const char *where, struct pg **out, struct lsws_error *err)
{
    if (!pq && !(pq = lsws_pq_load(err)))
        return err->code;
    int rc = check_conninfo(where, err);
    if (rc != LSWS_OK)
        return rc;
    struct pg *p = calloc(1, sizeof *p);
    if (!p)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    lsws_copy(p->where, sizeof p->where, where);
    /* dbname expanded: the whole URI, with libpq's defaults for what it leaves out */
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const values[] = {where, "lsws", NULL};
    p->conn = pq->PQconnectdbParams(keys, values, 1);
    if (!p->conn) {
        free(p);
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    pq->PQsetNoticeProcessor(p->conn, no_notices, NULL);
    if (pq->PQstatus(p->conn) != CONNECTION_OK) {
        char msg[300];
        first_line(pq->PQerrorMessage(p->conn), msg, sizeof msg);
        rc = lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "cannot connect to ledger '%s': %s", where, msg);
        close_pg(p);
        return rc;
    }
    *out = p;
    return LSWS_OK;
}

/* The schema version the database holds: 0 when it has none. */
static int schema_version(struct pg *p, int *version, struct lsws_error *err)
{
    PGresult *res;
    int rc = run(p, "SELECT to_regclass('lsws_schema') IS NOT NULL", 0, NULL, &res, "schema", err);
    if (rc != LSWS_OK)
        return rc;
    int present = strcmp(pq->PQgetvalue(res, 0, 0), "t") == 0;
    pq->PQclear(res);
    *version = 0;
    if (!present)
        return LSWS_OK;
    if ((rc = run(p, "SELECT max(version) FROM lsws_schema", 0, NULL, &res, "schema", err)) != LSWS_OK)
        return rc;
    *version = (int)int_at(res, 0, 0);
    pq->PQclear(res);
    return LSWS_OK;
}

static const char *const schema_1[] = {
    "CREATE TABLE IF NOT EXISTS lsws_records ("
    " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " state smallint NOT NULL CHECK (state BETWEEN 0 AND 3),"
    " sn text NOT NULL, dev_eui text NOT NULL, model text NOT NULL, band text NOT NULL DEFAULT '',"
    " firmware text NOT NULL DEFAULT '', hardware text NOT NULL DEFAULT '',"
    " template_hash text NOT NULL, template_name text NOT NULL DEFAULT '',"
    " settings text, network text, changes integer NOT NULL DEFAULT 0,"
    " outcome text NOT NULL DEFAULT '', error text NOT NULL DEFAULT '',"
    " operator text NOT NULL DEFAULT '', station text NOT NULL DEFAULT '',"
    " owner text NOT NULL DEFAULT '', lease_until bigint NOT NULL DEFAULT 0,"
    " started bigint NOT NULL, finished bigint NOT NULL DEFAULT 0,"
    " uri text NOT NULL DEFAULT '', backup text NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS lsws_records_unit ON lsws_records (sn, template_hash, state)",
    "CREATE UNIQUE INDEX IF NOT EXISTS lsws_records_open_claim ON lsws_records (sn, template_hash) "
    "WHERE state IN (0, 3)",
    NULL,
};
/* Version 2: pools of identities (as lib/ledger_sqlite.c's schema_2). */
static const char *const schema_2[] = {
    "CREATE TABLE IF NOT EXISTS lsws_pool ("
    " row_hash text PRIMARY KEY, pool text NOT NULL, row_no integer NOT NULL,"
    " state smallint NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2), sn text NOT NULL DEFAULT '',"
    " record_id bigint, owner text NOT NULL DEFAULT '', lease_until bigint NOT NULL DEFAULT 0)",
    "CREATE UNIQUE INDEX IF NOT EXISTS lsws_pool_row ON lsws_pool (pool, row_no)",
    "CREATE INDEX IF NOT EXISTS lsws_pool_free ON lsws_pool (pool, state, row_no)",
    "CREATE UNIQUE INDEX IF NOT EXISTS lsws_pool_record ON lsws_pool (record_id) WHERE record_id IS NOT NULL",
    /* at most one row reserved per unit before its record begins: racing stations hold no spare rows */
    "CREATE UNIQUE INDEX IF NOT EXISTS lsws_pool_unit ON lsws_pool (pool, sn) WHERE state = 1 AND record_id IS NULL",
    NULL,
};

static int run_all(struct pg *p, const char *const *sql, struct lsws_error *err)
{
    int rc = LSWS_OK;
    for (; *sql && rc == LSWS_OK; sql++)
        rc = run(p, *sql, 0, NULL, NULL, "create the schema", err);
    return rc;
}

static int newer(const struct pg *p, int version, struct lsws_error *err)
{
    return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX,
                     "ledger '%s' has schema version %d, newer than this lsws knows (%d): use a newer lsws", p->where,
                     version, SCHEMA_VERSION);
}

static int init_pg(const char *where, int *from, int *to, struct lsws_error *err)
{
    struct pg *p;
    int rc = connect_pg(where, &p, err);
    if (rc != LSWS_OK)
        return rc;
    struct num key;
    const char *v[1] = {num(&key, INIT_LOCK_KEY)};
    int version = 0;
    if ((rc = tx_begin(p, err)) == LSWS_OK &&
        (rc = run(p, "SELECT pg_advisory_xact_lock($1::bigint)", 1, v, NULL, "lock", err)) == LSWS_OK &&
        (rc = run(p, "CREATE TABLE IF NOT EXISTS lsws_schema (version integer NOT NULL)", 0, NULL, NULL,
                  "create the schema", err)) == LSWS_OK)
        rc = schema_version(p, &version, err);
    *from = version;
    if (rc == LSWS_OK && version > SCHEMA_VERSION)
        rc = newer(p, version, err);
    if (rc == LSWS_OK && version < 1)
        rc = run_all(p, schema_1, err);
    if (rc == LSWS_OK && version < 2)
        rc = run_all(p, schema_2, err);
    if (rc == LSWS_OK && version < SCHEMA_VERSION) {
        struct num n;
        const char *sv[1] = {num(&n, SCHEMA_VERSION)};
        if ((rc = run(p, "DELETE FROM lsws_schema", 0, NULL, NULL, "schema", err)) == LSWS_OK)
            rc = run(p, "INSERT INTO lsws_schema (version) VALUES ($1::integer)", 1, sv, NULL, "schema", err);
    }
    if (rc == LSWS_OK)
        rc = tx_commit(p, err);
    else
        tx_abort(p, rc);
    if (rc == LSWS_OK)
        *to = SCHEMA_VERSION;
    close_pg(p);
    return rc;
}

/* A shared server's schema is made by `lsws ledger init`, once, not by
 * whichever station happens to start first. */
static int open_pg(const char *where, void **h, struct lsws_error *err)
{
    struct pg *p;
    int rc = connect_pg(where, &p, err);
    if (rc != LSWS_OK)
        return rc;
    int version = 0;
    rc = schema_version(p, &version, err);
    if (rc == LSWS_OK && version > SCHEMA_VERSION)
        rc = newer(p, version, err);
    else if (rc == LSWS_OK && version == 0)
        rc = lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX,
                       "ledger '%s' has no lsws schema yet: run 'lsws ledger init --ledger URI' once", where);
    else if (rc == LSWS_OK && version < SCHEMA_VERSION)
        rc = lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX,
                       "ledger '%s' has schema version %d, older than this lsws's (%d): run 'lsws ledger init "
                       "--ledger URI' to migrate it",
                       where, version, SCHEMA_VERSION);
    if (rc != LSWS_OK) {
        close_pg(p);
        return rc;
    }
    *h = p;
    return LSWS_OK;
}

static int reconnect_pg(void *h, struct lsws_error *err)
{
    struct pg *p = h;
    if (pq->PQstatus(p->conn) == CONNECTION_OK) {
        /* A failure may have left the socket half open: ask. */
        PGresult *res = pq->PQexecParams(p->conn, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
        int fine = res && pq->PQresultStatus(res) == PGRES_TUPLES_OK;
        pq->PQclear(res);
        if (fine)
            return LSWS_OK;
    }
    pq->PQreset(p->conn);
    if (pq->PQstatus(p->conn) == CONNECTION_OK)
        return LSWS_OK;
    char msg[300];
    first_line(pq->PQerrorMessage(p->conn), msg, sizeof msg);
    return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "cannot connect to ledger '%s': %s", p->where, msg);
}

/* ---- records ---- */

#define COLUMNS                                                                                              \
    "id, state, sn, dev_eui, model, band, firmware, hardware, template_hash, template_name, settings, network, " \
    "changes, outcome, error, operator, station, owner, lease_until, started, finished, uri, backup"

static int row_to_record(const PGresult *res, int i, struct lsws_ledger_record *r)
{
    memset(r, 0, sizeof *r);
    r->id = int_at(res, i, 0);
    r->state = (enum lsws_ledger_state)int_at(res, i, 1);
    lsws_copy(r->sn, sizeof r->sn, text_at(res, i, 2));
    lsws_copy(r->dev_eui, sizeof r->dev_eui, text_at(res, i, 3));
    lsws_copy(r->model, sizeof r->model, text_at(res, i, 4));
    lsws_copy(r->band, sizeof r->band, text_at(res, i, 5));
    lsws_copy(r->firmware, sizeof r->firmware, text_at(res, i, 6));
    lsws_copy(r->hardware, sizeof r->hardware, text_at(res, i, 7));
    lsws_copy(r->template_hash, sizeof r->template_hash, text_at(res, i, 8));
    lsws_copy(r->template_name, sizeof r->template_name, text_at(res, i, 9));
    if (!pq->PQgetisnull(res, i, 10) && !(r->settings = strdup(pq->PQgetvalue(res, i, 10))))
        return LSWS_ERR_NOMEM;
    if (!pq->PQgetisnull(res, i, 11) && !(r->network = strdup(pq->PQgetvalue(res, i, 11))))
        return LSWS_ERR_NOMEM;
    r->changes = (int)int_at(res, i, 12);
    lsws_copy(r->outcome, sizeof r->outcome, text_at(res, i, 13));
    lsws_copy(r->error, sizeof r->error, text_at(res, i, 14));
    lsws_copy(r->operator_name, sizeof r->operator_name, text_at(res, i, 15));
    lsws_copy(r->station, sizeof r->station, text_at(res, i, 16));
    lsws_copy(r->owner, sizeof r->owner, text_at(res, i, 17));
    r->lease_until_ms = int_at(res, i, 18);
    r->started_ms = int_at(res, i, 19);
    r->finished_ms = int_at(res, i, 20);
    lsws_copy(r->uri, sizeof r->uri, text_at(res, i, 21));
    lsws_copy(r->backup, sizeof r->backup, text_at(res, i, 22));
    return LSWS_OK;
}

/* The first row of a query on (sn, hash) into rec: 1 found, 0 none, <0
 * error. now_ms: the server's clock, when the query has it as column 23. */
static int first_row(struct pg *p, const char *sql, const char *sn, const char *hash, struct lsws_ledger_record *rec,
                     int64_t *now_ms, struct lsws_error *err)
{
    const char *v[2] = {sn, hash};
    PGresult *res;
    int rc = run(p, sql, 2, v, &res, "select", err);
    if (rc != LSWS_OK)
        return rc;
    int found = pq->PQntuples(res) > 0;
    if (found && row_to_record(res, 0, rec) != LSWS_OK)
        rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    if (found && now_ms)
        *now_ms = int_at(res, 0, 23);
    pq->PQclear(res);
    return rc != LSWS_OK ? rc : found;
}

static int take_over(struct pg *p, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *rec,
                     struct lsws_error *err)
{
    struct num lease, id;
    const char *v[3] = {ctx->owner, num(&lease, ctx->lease_ms), num(&id, rec->id)};
    PGresult *res;
    int rc = run(p, "UPDATE lsws_records SET owner = $1, lease_until = " NOW_MS " + $2::bigint, state = 0 "
                    "WHERE id = $3::bigint RETURNING lease_until",
                 3, v, &res, "take over a claim", err);
    if (rc != LSWS_OK)
        return rc;
    if (pq->PQntuples(res) == 1) {
        lsws_copy(rec->owner, sizeof rec->owner, ctx->owner);
        rec->lease_until_ms = int_at(res, 0, 0);
        rec->state = LSWS_LEDGER_PENDING;
    } else {
        rc = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX, "record %lld went away while it was taken over",
                       (long long)rec->id);
    }
    pq->PQclear(res);
    return rc;
}

static int claim(void *h, const struct lsws_ledger_ctx *ctx, const char *sn, const char *hash, unsigned flags,
                 struct lsws_ledger_record *rec, enum lsws_claim *out, struct lsws_error *err)
{
    struct pg *p = h;
    int rc = tx_begin(p, err);
    if (rc != LSWS_OK)
        return rc;
    int64_t now = 0;
    int found = first_row(p,
                          "SELECT " COLUMNS ", " NOW_MS " FROM lsws_records WHERE sn = $1 AND template_hash = $2 "
                          "AND state IN (0, 3) FOR UPDATE SKIP LOCKED",
                          sn, hash, rec, &now, err);
    if (found == 1) {
        if (strcmp(rec->owner, ctx->owner) == 0) {
            *out = LSWS_CLAIM_RESUME;
        } else if (ctx->owner_gone(rec->owner, rec->lease_until_ms, now)) {
            found = take_over(p, ctx, rec, err);
            *out = LSWS_CLAIM_RESUME;
        } else {
            *out = LSWS_CLAIM_HELD;
        }
    } else if (found == 0) {
        found = first_row(p,
                          "SELECT " COLUMNS " FROM lsws_records WHERE sn = $1 AND template_hash = $2 AND state = 1 "
                          "ORDER BY id DESC LIMIT 1",
                          sn, hash, rec, NULL, err);
        *out = found == 1 && (!(flags & LSWS_CLAIM_FORCE) || strcmp(rec->owner, ctx->owner) == 0) ? LSWS_CLAIM_DONE
                                                                                                    : LSWS_CLAIM_NONE;
        if (found == 1 && *out == LSWS_CLAIM_NONE) {
            int64_t done = rec->id;
            lsws_ledger_record_release(rec);
            memset(rec, 0, sizeof *rec);
            rec->replaces = done;
        }
    }
    if (found < 0 || (rc = tx_commit(p, err)) != LSWS_OK) {
        lsws_ledger_record_release(rec);
        return tx_abort(p, found < 0 ? found : rc);
    }
    return LSWS_OK;
}

static int begin(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *r, struct lsws_error *err)
{
    struct pg *p = h;
    struct num state, changes, lease, started, finished, replaces, id, row;
    int rc = tx_begin(p, err);
    if (rc != LSWS_OK)
        return rc;
    /* Provisioned or claimed since the claim: leave it (see the top). */
    const char *cv[3] = {r->sn, r->template_hash, num(&replaces, r->replaces)};
    PGresult *res;
    if ((rc = run(p,
                  "SELECT 1 FROM lsws_records WHERE sn = $1 AND template_hash = $2 AND "
                  "(state IN (0, 3) OR (state = 1 AND id > $3::bigint)) LIMIT 1",
                  3, cv, &res, "select", err)) != LSWS_OK)
        return tx_abort(p, rc);
    int taken = pq->PQntuples(res) > 0;
    pq->PQclear(res);
    if (taken)
        return tx_abort(p, lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                                     "unit %s was claimed or provisioned by another process or station meanwhile",
                                     r->sn));
    const char *v[22] = {num(&state, r->state), r->sn, r->dev_eui, r->model, r->band, r->firmware, r->hardware,
                         r->template_hash, r->template_name, r->settings, r->network, num(&changes, r->changes),
                         r->outcome, r->error, r->operator_name, r->station, r->owner, num(&lease, ctx->lease_ms),
                         num(&started, r->started_ms), num(&finished, r->finished_ms), r->uri, r->backup};
    rc = run(p,
             "INSERT INTO lsws_records (state, sn, dev_eui, model, band, firmware, hardware, template_hash, "
             "template_name, settings, network, changes, outcome, error, operator, station, owner, lease_until, "
             "started, finished, uri, backup) VALUES ($1::smallint, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
             "$12::integer, $13, $14, $15, $16, $17, " NOW_MS " + $18::bigint, $19::bigint, $20::bigint, $21, $22) "
             "ON CONFLICT (sn, template_hash) WHERE state IN (0, 3) DO NOTHING RETURNING id, lease_until",
             22, v, &res, "insert", err);
    if (rc != LSWS_OK)
        return tx_abort(p, rc);
    if (pq->PQntuples(res) != 1) {
        pq->PQclear(res);
        return tx_abort(p, lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                                     "unit %s is being provisioned by another process or station", r->sn));
    }
    int64_t new_id = int_at(res, 0, 0), lease_until = int_at(res, 0, 1);
    pq->PQclear(res);
    if (r->pool_row) {
        const char *pv[5] = {num(&id, new_id), r->sn, r->pool, num(&row, r->pool_row), ctx->owner};
        if ((rc = run(p,
                      "UPDATE lsws_pool SET record_id = $1::bigint, sn = $2 WHERE pool = $3 AND row_no = $4::integer "
                      "AND owner = $5 AND state = 1 AND record_id IS NULL",
                      5, pv, &res, "update pool", err)) != LSWS_OK)
            return tx_abort(p, rc);
        int bound = strcmp(pq->PQcmdTuples(res), "1") == 0;
        pq->PQclear(res);
        if (!bound)
            return tx_abort(p, lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                                         "ledger '%s': pool row %lld is no longer this process's (its reservation "
                                         "lapsed)",
                                         p->where, (long long)r->pool_row));
    }
    if ((rc = tx_commit(p, err)) != LSWS_OK)
        return tx_abort(p, rc);
    r->id = new_id;
    r->lease_until_ms = lease_until;
    return LSWS_OK;
}

static int finish(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *r, struct lsws_error *err)
{
    struct pg *p = h;
    struct num state, changes, finished, id;
    int rc = tx_begin(p, err);
    if (rc != LSWS_OK)
        return rc;
    const char *v[12] = {num(&state, r->state), r->network, num(&changes, r->changes), r->outcome, r->error,
                         num(&finished, r->finished_ms), r->backup, r->firmware, r->hardware, r->band,
                         num(&id, r->id), ctx->owner};
    PGresult *res;
    rc = run(p,
             "UPDATE lsws_records SET state = $1::smallint, network = $2, changes = $3::integer, outcome = $4, "
             "error = $5, finished = $6::bigint, backup = $7, firmware = $8, hardware = $9, band = $10 "
             "WHERE id = $11::bigint AND owner = $12",
             12, v, &res, "update", err);
    if (rc != LSWS_OK)
        return tx_abort(p, rc);
    int ours = strcmp(pq->PQcmdTuples(res), "1") == 0;
    pq->PQclear(res);
    if (!ours)
        return tx_abort(p, lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                                     "ledger '%s': record %lld of unit %s is no longer ours (its claim lapsed and was "
                                     "taken over)",
                                     p->where, (long long)r->id, r->sn));
    const char *pool_sql = r->state == LSWS_LEDGER_OK ? "UPDATE lsws_pool SET state = 2 WHERE record_id = $1::bigint"
                           : r->state == LSWS_LEDGER_FAILED
                               ? "UPDATE lsws_pool SET state = 0, record_id = NULL, owner = '', sn = '', "
                                 "lease_until = 0 WHERE record_id = $1::bigint"
                               : NULL;
    const char *pv[1] = {id.s};
    if (pool_sql && (rc = run(p, pool_sql, 1, pv, NULL, "update pool", err)) != LSWS_OK)
        return tx_abort(p, rc);
    if ((rc = tx_commit(p, err)) != LSWS_OK)
        return tx_abort(p, rc);
    return LSWS_OK;
}

static int renew(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *r, struct lsws_error *err)
{
    struct pg *p = h;
    struct num lease, id;
    const char *v[3] = {num(&lease, ctx->lease_ms), num(&id, r->id), ctx->owner};
    PGresult *res;
    int rc = run(p,
                 "UPDATE lsws_records SET lease_until = " NOW_MS " + $1::bigint WHERE id = $2::bigint AND owner = $3 "
                 "AND state IN (0, 3) RETURNING lease_until",
                 3, v, &res, "renew", err);
    if (rc != LSWS_OK)
        return rc;
    if (pq->PQntuples(res) == 1)
        r->lease_until_ms = int_at(res, 0, 0);
    else
        rc = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                       "ledger '%s': record %lld of unit %s is no longer ours (its claim lapsed and was taken over)",
                       p->where, (long long)r->id, r->sn);
    pq->PQclear(res);
    return rc;
}

/* Streams the rows (libpq's single-row mode), so a long ledger is never
 * held whole in memory. */
static int each(void *h, const struct lsws_ledger_filter *f,
                int (*fn)(const struct lsws_ledger_record *rec, void *ctx), void *ctx, struct lsws_error *err)
{
    struct pg *p = h;
    struct num id, state;
    const char *v[3] = {f->sn, num(&id, f->id), num(&state, f->state)};
    const char *sql =
        f->latest ? "SELECT " COLUMNS " FROM lsws_records WHERE ($1::text IS NULL OR sn = $1) AND ($2::bigint = 0 OR "
                    "id = $2::bigint) AND id IN (SELECT max(id) FROM lsws_records WHERE ($3::integer < 0 OR state = "
                    "$3::integer) GROUP BY sn) ORDER BY id"
                  : "SELECT " COLUMNS " FROM lsws_records WHERE ($1::text IS NULL OR sn = $1) AND ($2::bigint = 0 OR "
                    "id = $2::bigint) AND ($3::integer < 0 OR state = $3::integer) ORDER BY id";
    if (!pq->PQsendQueryParams(p->conn, sql, 3, NULL, v, NULL, NULL, 0) || !pq->PQsetSingleRowMode(p->conn))
        return fail_pg(p, NULL, "select", err);
    int rc = LSWS_OK, stop = 0;
    PGresult *res;
    while ((res = pq->PQgetResult(p->conn))) {
        ExecStatusType st = pq->PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && rc == LSWS_OK && !stop) {
            struct lsws_ledger_record r;
            if (row_to_record(res, 0, &r) != LSWS_OK)
                rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
            else
                stop = fn(&r, ctx);
            lsws_ledger_record_release(&r);
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == LSWS_OK) {
            rc = fail_pg(p, res, "select", err);
        }
        pq->PQclear(res); /* every result is read, so the connection is ready for the next query */
    }
    return rc != LSWS_OK ? rc : stop;
}

/* ---- pools ---- */

static int pool_load(void *h, const struct lsws_manifest *m, struct lsws_error *err)
{
    struct pg *p = h;
    const char *pool = lsws_manifest_hash(m);
    size_t n = lsws_manifest_rows(m);
    /* Stations starting together load the same pool at once: one after the
     * other (a lock on the pool's hash), so the second finds it loaded. An
     * upsert alone is not enough: concurrent inserts of one row may trip
     * over the unique index on (pool, row_no), which ON CONFLICT does not
     * arbitrate. */
    char key_hex[16];
    memcpy(key_hex, pool, 15);
    key_hex[15] = '\0';
    struct num key;
    const char *kv[1] = {num(&key, strtoll(key_hex, NULL, 16))};
    const char *cv[1] = {pool};
    PGresult *res;
    int rc = tx_begin(p, err);
    if (rc == LSWS_OK)
        rc = run(p, "SELECT pg_advisory_xact_lock($1::bigint)", 1, kv, NULL, "lock the pool", err);
    if (rc == LSWS_OK)
        rc = run(p, "SELECT count(*) FROM lsws_pool WHERE pool = $1", 1, cv, &res, "select", err);
    if (rc != LSWS_OK)
        return tx_abort(p, rc);
    int64_t have = int_at(res, 0, 0);
    pq->PQclear(res);
    if (have == (int64_t)n) /* loaded already, by this station or another */
        return (rc = tx_commit(p, err)) == LSWS_OK ? rc : tx_abort(p, rc);
    /* The identities as one text array ({hash,hash,...}: hex needs no quoting). */
    char *array = malloc(n * LSWS_HASH_HEX + 3);
    if (!array)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    char *at = array;
    *at++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *at++ = ',';
        memcpy(at, lsws_manifest_row_hash(m, i), LSWS_HASH_HEX - 1);
        at += LSWS_HASH_HEX - 1;
    }
    *at++ = '}';
    *at = '\0';
    /* One statement, one transaction. A row the ledger knows keeps its
     * state; one still free moves to this file (a pool file that grew or
     * was corrected). Rows in file order, so two stations loading at once
     * meet on the first row and never deadlock. */
    const char *v[2] = {pool, array};
    rc = run(p,
             "INSERT INTO lsws_pool (row_hash, pool, row_no) SELECT h, $1, n FROM unnest($2::text[]) WITH ORDINALITY "
             "AS t(h, n) ORDER BY n ON CONFLICT (row_hash) DO UPDATE SET pool = excluded.pool, row_no = "
             "excluded.row_no WHERE lsws_pool.state = 0",
             2, v, NULL, "insert into pool", err);
    free(array);
    if (rc == LSWS_OK)
        rc = tx_commit(p, err);
    return rc == LSWS_OK ? rc : tx_abort(p, rc);
}

static int busy_unit(const char *sn, struct lsws_error *err)
{
    return lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX, "unit %s is being provisioned by another process or station", sn);
}

/* Whether rec's unit may have a pool row: LSWS_ERR_BUSY when it was
 * claimed or provisioned since the claim (as begin checks), or a live
 * holder reserved a row for it; 1 with *row_no when a row is reserved for
 * it already, ours (a take that committed as the connection dropped, taken
 * again) or a gone holder's; 0 when it has none. */
static int unit_check(struct pg *p, const struct lsws_ledger_ctx *ctx, const char *pool,
                      const struct lsws_ledger_record *rec, int64_t *row_no, struct lsws_error *err)
{
    PGresult *res;
    struct num replaces;
    const char *cv[3] = {rec->sn, rec->template_hash, num(&replaces, rec->replaces)};
    int rc = run(p,
                 "SELECT 1 FROM lsws_records WHERE sn = $1 AND template_hash = $2 AND "
                 "(state IN (0, 3) OR (state = 1 AND id > $3::bigint)) LIMIT 1",
                 3, cv, &res, "select", err);
    if (rc != LSWS_OK)
        return rc;
    int taken = pq->PQntuples(res) > 0;
    pq->PQclear(res);
    if (taken)
        return busy_unit(rec->sn, err);
    const char *uv[2] = {pool, rec->sn};
    if ((rc = run(p,
                  "SELECT row_no, owner, lease_until, " NOW_MS " FROM lsws_pool WHERE pool = $1 AND sn = $2 "
                  "AND state = 1 AND record_id IS NULL FOR UPDATE",
                  2, uv, &res, "select", err)) != LSWS_OK)
        return rc;
    int found = 0;
    if (pq->PQntuples(res) == 1) {
        const char *owner = text_at(res, 0, 1);
        if (strcmp(owner, ctx->owner) != 0 && !ctx->owner_gone(owner, int_at(res, 0, 2), int_at(res, 0, 3)))
            found = busy_unit(rec->sn, err);
        else
            *row_no = int_at(res, 0, 0), found = 1;
    }
    pq->PQclear(res);
    return found;
}

/* The first free row (lock: "FOR UPDATE SKIP LOCKED", or "FOR UPDATE" to
 * wait for the stations taking rows right now): 1 with *row_no, 0 none. */
static int free_row(struct pg *p, const char *pool, const char *lock, int64_t *row_no, struct lsws_error *err)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT row_no FROM lsws_pool WHERE pool = $1 AND state = 0 ORDER BY row_no LIMIT 1 %s",
             lock);
    const char *v[1] = {pool};
    PGresult *res;
    int rc = run(p, sql, 1, v, &res, "select", err);
    if (rc != LSWS_OK)
        return rc;
    int found = pq->PQntuples(res) == 1;
    if (found)
        *row_no = int_at(res, 0, 0);
    pq->PQclear(res);
    return found;
}

/* A row reserved before its record began by another holder that is gone. */
static int stale_row(struct pg *p, const struct lsws_ledger_ctx *ctx, const char *pool, int64_t *row_no,
                     struct lsws_error *err)
{
    struct num scan;
    const char *v[3] = {pool, num(&scan, POOL_SCAN), ctx->owner};
    PGresult *res;
    int rc = run(p,
                 "SELECT row_no, owner, lease_until, " NOW_MS " FROM lsws_pool WHERE pool = $1 AND state = 1 "
                 "AND record_id IS NULL AND owner <> $3 ORDER BY row_no LIMIT $2::integer FOR UPDATE SKIP LOCKED",
                 3, v, &res, "select", err);
    if (rc != LSWS_OK)
        return rc;
    int found = 0;
    for (int i = 0; i < pq->PQntuples(res) && !found; i++)
        if (ctx->owner_gone(text_at(res, i, 1), int_at(res, i, 2), int_at(res, i, 3))) {
            *row_no = int_at(res, i, 0);
            found = 1;
        }
    pq->PQclear(res);
    return found;
}

static int pool_take(void *h, const struct lsws_ledger_ctx *ctx, const char *pool,
                     const struct lsws_ledger_record *rec, int64_t *row_no, struct lsws_error *err)
{
    struct pg *p = h;
    int rc = tx_begin(p, err);
    if (rc != LSWS_OK)
        return rc;
    /* A reservation need not be on disk when this returns: the begin that
     * binds the row to its record commits synchronously, and its commit
     * flushes the WAL up to it, reservation included. If the server crashed
     * before, the reservation is simply gone, the bind finds the row not
     * ours and the unit is left unwritten (held). So one fsync less per unit. */
    if ((rc = run(p, "SET LOCAL synchronous_commit TO off", 0, NULL, NULL, "begin", err)) != LSWS_OK)
        return tx_abort(p, rc);
    int found = unit_check(p, ctx, pool, rec, row_no, err);
    if (found == 0)
        found = free_row(p, pool, "FOR UPDATE SKIP LOCKED", row_no, err);
    if (found == 0)
        found = stale_row(p, ctx, pool, row_no, err);
    if (found == 0) {
        /* Every free row skipped may be one another station is taking right
         * now, perhaps for this very unit: wait for them, then look again
         * (each statement sees what committed before it). */
        found = free_row(p, pool, "FOR UPDATE", row_no, err);
        if (found == 0)
            found = unit_check(p, ctx, pool, rec, row_no, err);
    }
    if (found < 0)
        return tx_abort(p, found);
    PGresult *res;
    if (!found) {
        tx_abort(p, 0);
        const char *pv[1] = {pool};
        int64_t used = 0, reserved = 0;
        if (run(p, "SELECT count(*) FILTER (WHERE state = 2), count(*) FILTER (WHERE state = 1) FROM lsws_pool "
                   "WHERE pool = $1",
                1, pv, &res, "select", err) == LSWS_OK) {
            used = int_at(res, 0, 0);
            reserved = int_at(res, 0, 1);
            pq->PQclear(res);
        }
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "the pool has no free row left (%lld used, %lld reserved by units under way)",
                         (long long)used, (long long)reserved);
    }
    struct num lease, row;
    const char *wv[5] = {ctx->owner, num(&lease, ctx->lease_ms), rec->sn, pool, num(&row, *row_no)};
    /* Two stations taking rows for one unit at once: the second meets the
     * unique index on (pool, sn) and gets LSWS_ERR_BUSY (23505). */
    if ((rc = run(p,
                  "UPDATE lsws_pool SET state = 1, owner = $1, lease_until = " NOW_MS " + $2::bigint, sn = $3 "
                  "WHERE pool = $4 AND row_no = $5::integer",
                  5, wv, NULL, "update pool", err)) != LSWS_OK ||
        (rc = tx_commit(p, err)) != LSWS_OK)
        return tx_abort(p, rc == LSWS_ERR_BUSY ? busy_unit(rec->sn, err) : rc);
    return LSWS_OK;
}

static int pool_release(void *h, const struct lsws_ledger_ctx *ctx, const char *pool, int64_t row_no,
                        struct lsws_error *err)
{
    struct pg *p = h;
    struct num row;
    const char *v[3] = {pool, num(&row, row_no), ctx->owner};
    return run(p,
               "UPDATE lsws_pool SET state = 0, owner = '', sn = '', lease_until = 0 WHERE pool = $1 AND row_no = "
               "$2::integer AND owner = $3 AND state = 1 AND record_id IS NULL",
               3, v, NULL, "update pool", err);
}

const struct lsws_ledger_ops lsws_ledger_pg = {
    .name = "postgresql",
    .open = open_pg,
    .init = init_pg,
    .close = close_pg,
    .reconnect = reconnect_pg,
    .claim = claim,
    .begin = begin,
    .finish = finish,
    .renew = renew,
    .each = each,
    .pool_load = pool_load,
    .pool_take = pool_take,
    .pool_release = pool_release,
};
