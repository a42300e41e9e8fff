/* The SQLite ledger: the embedded default, one station (docs/fleet.md).
 *
 * Durability: WAL journal with synchronous=FULL, so every COMMIT is on disk
 * (the WAL fsynced) before the call returns; a crash or power loss loses no
 * committed record, and a transaction cut short is rolled back when the
 * file is next opened. Where WAL cannot be used (some network file
 * systems), SQLite keeps its rollback journal, which synchronous=FULL makes
 * durable as well. Every call is one transaction; claims that read before
 * they write take the write lock first (BEGIN IMMEDIATE), so two processes
 * on one file never both take a unit. The partial unique index on open
 * claims (state pending or unknown) makes a second open claim of one unit
 * and template impossible, whatever the code above does.
 *
 * SQLite's errors are translated here, at the boundary, with the file's
 * name; its messages are SQLite's own strings (not freed). */
#include "fleet_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION LSWS_LEDGER_SCHEMA
#define BUSY_TIMEOUT_MS 15000
#define LSWS_XSTR(x) #x
#define LSWS_STR(x) LSWS_XSTR(x)

struct ledger {
    sqlite3 *db;
    char path[1024];
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS records ("
    " id INTEGER PRIMARY KEY,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),"
    " sn TEXT NOT NULL, dev_eui TEXT NOT NULL, model TEXT NOT NULL, band TEXT NOT NULL DEFAULT '',"
    " firmware TEXT NOT NULL DEFAULT '', hardware TEXT NOT NULL DEFAULT '',"
    " template_hash TEXT NOT NULL, template_name TEXT NOT NULL DEFAULT '',"
    " settings TEXT, network TEXT, changes INTEGER NOT NULL DEFAULT 0,"
    " outcome TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',"
    " operator TEXT NOT NULL DEFAULT '', station TEXT NOT NULL DEFAULT '',"
    " owner TEXT NOT NULL DEFAULT '', lease_until INTEGER NOT NULL DEFAULT 0,"
    " started INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0,"
    " uri TEXT NOT NULL DEFAULT '', backup TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS records_unit ON records (sn, template_hash, state);"
    "CREATE UNIQUE INDEX IF NOT EXISTS records_open_claim ON records (sn, template_hash) WHERE state IN (0, 3);";

/* Version 2: pools of identities. A row is keyed by its identity (the hash
 * of its cells), so it is used once whatever file brings it; pool is the
 * file it belongs to now, row_no its row there. state: free, reserved (by
 * owner until lease_until, then by record_id once the record began), used. */
static const char schema_2[] =
    "CREATE TABLE IF NOT EXISTS pool ("
    " row_hash TEXT PRIMARY KEY, pool TEXT NOT NULL, row_no INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2), sn TEXT NOT NULL DEFAULT '',"
    " record_id INTEGER, owner TEXT NOT NULL DEFAULT '', lease_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX IF NOT EXISTS pool_row ON pool (pool, row_no);"
    "CREATE INDEX IF NOT EXISTS pool_free ON pool (pool, state, row_no);"
    "CREATE UNIQUE INDEX IF NOT EXISTS pool_record ON pool (record_id) WHERE record_id IS NOT NULL;"
    "CREATE UNIQUE INDEX IF NOT EXISTS pool_unit ON pool (pool, sn) WHERE state = 1 AND record_id IS NULL;";

#define COLUMNS                                                                                              \
    "id, state, sn, dev_eui, model, band, firmware, hardware, template_hash, template_name, settings, network, " \
    "changes, outcome, error, operator, station, owner, lease_until, started, finished, uri, backup"

static int fail_db(struct ledger *l, struct lsws_error *err, const char *what)
{
    int code = sqlite3_errcode(l->db);
    int rc = code == SQLITE_BUSY || code == SQLITE_LOCKED ? LSWS_ERR_BUSY
             : code == SQLITE_NOMEM                        ? LSWS_ERR_NOMEM
                                                           : LSWS_ERR_IO;
    return lsws_fail(err, rc, SIZE_MAX, "ledger '%s': %s: %s", l->path, what, sqlite3_errmsg(l->db));
}

static int exec(struct ledger *l, const char *sql, struct lsws_error *err)
{
    if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail_db(l, err, sql);
    return LSWS_OK;
}

static int pragma_text(struct ledger *l, const char *sql, char *out, size_t n, struct lsws_error *err)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, sql);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        lsws_copy(out, n, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LSWS_OK : fail_db(l, err, sql);
}

static void close_ledger(void *h)
{
    struct ledger *l = h;
    if (!l)
        return;
    sqlite3_close(l->db);
    free(l);
}

/* Creates the file mode 0600 before SQLite opens it (it holds keys; SQLite
 * gives its -wal and -shm files the database's mode), and refuses anything
 * that is not a regular file. */
static int create_file(const char *path, struct lsws_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot open ledger '%s': %s", path,
                         errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    struct stat st;
    int bad = fstat(fd, &st) < 0 || !S_ISREG(st.st_mode);
    int loose = !bad && (st.st_mode & 077);
    close(fd);
    if (bad)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot open ledger '%s': not a regular file", path);
    if (loose && chmod(path, 0600) < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "ledger '%s' can be read by others, and chmod failed: %s", path,
                         strerror(errno));
    return LSWS_OK;
}

/* Creates or migrates the schema (one transaction; the write lock first,
 * so two processes opening a new file do not both create it). *from: the
 * version found. */
static int migrate(struct ledger *l, int *from, struct lsws_error *err)
{
    char version[16];
    int rc = exec(l, "BEGIN IMMEDIATE", err);
    if (rc == LSWS_OK)
        rc = pragma_text(l, "PRAGMA user_version", version, sizeof version, err);
    int v = rc == LSWS_OK ? atoi(version) : 0;
    if (from)
        *from = v;
    if (rc == LSWS_OK && v > SCHEMA_VERSION)
        rc = lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX,
                       "ledger '%s' has schema version %d, newer than this lsws knows (%d): use a newer lsws",
                       l->path, v, SCHEMA_VERSION);
    if (rc == LSWS_OK && v < 1)
        rc = exec(l, schema, err);
    if (rc == LSWS_OK && v < 2)
        rc = exec(l, schema_2, err);
    if (rc == LSWS_OK && v < SCHEMA_VERSION)
        rc = exec(l, "PRAGMA user_version=" LSWS_STR(SCHEMA_VERSION), err);
    if (rc == LSWS_OK)
        return exec(l, "COMMIT", err);
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int open_file(const char *where, struct ledger **out, int *from, struct lsws_error *err)
{
    int rc = create_file(where, err);
    if (rc != LSWS_OK)
        return rc;
    struct ledger *l = calloc(1, sizeof *l);
    if (!l)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    lsws_copy(l->path, sizeof l->path, where);
    if (sqlite3_open_v2(where, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
        rc = l->db ? fail_db(l, err, "open") : lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
        close_ledger(l);
        return rc;
    }
    sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
    char mode[16];
    rc = pragma_text(l, "PRAGMA journal_mode=WAL", mode, sizeof mode, err);
    if (rc == LSWS_OK)
        rc = exec(l, "PRAGMA synchronous=FULL", err);
    /* One station's file: created or migrated as it is opened. */
    if (rc == LSWS_OK)
        rc = migrate(l, from, err);
    if (rc != LSWS_OK) {
        close_ledger(l);
        return rc;
    }
    *out = l;
    return LSWS_OK;
}

static int open_ledger(const char *where, void **h, struct lsws_error *err)
{
    struct ledger *l;
    int rc = open_file(where, &l, NULL, err);
    if (rc == LSWS_OK)
        *h = l;
    return rc;
}

static int init_ledger(const char *where, int *from, int *to, struct lsws_error *err)
{
    struct ledger *l;
    int rc = open_file(where, &l, from, err);
    if (rc != LSWS_OK)
        return rc;
    *to = SCHEMA_VERSION;
    close_ledger(l);
    return LSWS_OK;
}

/* ---- rows ---- */

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int row_to_record(sqlite3_stmt *st, struct lsws_ledger_record *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->state = (enum lsws_ledger_state)sqlite3_column_int(st, 1);
    lsws_copy(r->sn, sizeof r->sn, col_text(st, 2));
    lsws_copy(r->dev_eui, sizeof r->dev_eui, col_text(st, 3));
    lsws_copy(r->model, sizeof r->model, col_text(st, 4));
    lsws_copy(r->band, sizeof r->band, col_text(st, 5));
    lsws_copy(r->firmware, sizeof r->firmware, col_text(st, 6));
    lsws_copy(r->hardware, sizeof r->hardware, col_text(st, 7));
    lsws_copy(r->template_hash, sizeof r->template_hash, col_text(st, 8));
    lsws_copy(r->template_name, sizeof r->template_name, col_text(st, 9));
    if (sqlite3_column_type(st, 10) != SQLITE_NULL && !(r->settings = strdup(col_text(st, 10))))
        return LSWS_ERR_NOMEM;
    if (sqlite3_column_type(st, 11) != SQLITE_NULL && !(r->network = strdup(col_text(st, 11))))
        return LSWS_ERR_NOMEM;
    r->changes = sqlite3_column_int(st, 12);
    lsws_copy(r->outcome, sizeof r->outcome, col_text(st, 13));
    lsws_copy(r->error, sizeof r->error, col_text(st, 14));
    lsws_copy(r->operator_name, sizeof r->operator_name, col_text(st, 15));
    lsws_copy(r->station, sizeof r->station, col_text(st, 16));
    lsws_copy(r->owner, sizeof r->owner, col_text(st, 17));
    r->lease_until_ms = sqlite3_column_int64(st, 18);
    r->started_ms = sqlite3_column_int64(st, 19);
    r->finished_ms = sqlite3_column_int64(st, 20);
    lsws_copy(r->uri, sizeof r->uri, col_text(st, 21));
    lsws_copy(r->backup, sizeof r->backup, col_text(st, 22));
    return LSWS_OK;
}

/* The first row of a query with (sn, hash) bound, into rec; 1 found, 0 none, <0 error. */
static int first_row(struct ledger *l, const char *sql, const char *sn, const char *hash,
                     struct lsws_ledger_record *rec, struct lsws_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    sqlite3_bind_text(st, 1, sn, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        if (row_to_record(st, rec) != LSWS_OK)
            rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
        else
            found = 1, rc = LSWS_OK;
    } else if (rc == SQLITE_DONE) {
        rc = LSWS_OK;
    } else {
        rc = fail_db(l, err, "select");
    }
    sqlite3_finalize(st);
    return rc != LSWS_OK ? rc : found;
}

static int take_over(struct ledger *l, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *rec,
                     struct lsws_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "UPDATE records SET owner = ?1, lease_until = ?2, state = 0 WHERE id = ?3", -1,
                           &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    sqlite3_bind_text(st, 1, ctx->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ctx->now_ms + ctx->lease_ms);
    sqlite3_bind_int64(st, 3, rec->id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? LSWS_OK : fail_db(l, err, "take over a claim");
    sqlite3_finalize(st);
    if (rc == LSWS_OK) {
        lsws_copy(rec->owner, sizeof rec->owner, ctx->owner);
        rec->lease_until_ms = ctx->now_ms + ctx->lease_ms;
        rec->state = LSWS_LEDGER_PENDING;
    }
    return rc;
}

static int claim(void *h, const struct lsws_ledger_ctx *ctx, const char *sn, const char *hash, unsigned flags,
                 struct lsws_ledger_record *rec, enum lsws_claim *out, struct lsws_error *err)
{
    struct ledger *l = h;
    int rc = exec(l, "BEGIN IMMEDIATE", err);
    if (rc != LSWS_OK)
        return rc;
    int found = first_row(l, "SELECT " COLUMNS " FROM records WHERE sn = ?1 AND template_hash = ?2 AND state IN (0, 3)",
                          sn, hash, rec, err);
    if (found == 1) {
        if (strcmp(rec->owner, ctx->owner) == 0) {
            *out = LSWS_CLAIM_RESUME;
        } else if (ctx->owner_gone(rec->owner, rec->lease_until_ms, ctx->now_ms)) {
            found = take_over(l, ctx, rec, err);
            *out = LSWS_CLAIM_RESUME;
        } else {
            *out = LSWS_CLAIM_HELD;
        }
    } else if (found == 0) {
        found = first_row(l,
                          "SELECT " COLUMNS " FROM records WHERE sn = ?1 AND template_hash = ?2 AND state = 1 "
                          "ORDER BY id DESC LIMIT 1",
                          sn, hash, rec, err);
        *out = found == 1 && (!(flags & LSWS_CLAIM_FORCE) || strcmp(rec->owner, ctx->owner) == 0) ? LSWS_CLAIM_DONE
                                                                                                    : LSWS_CLAIM_NONE;
        if (found == 1 && *out == LSWS_CLAIM_NONE) {
            int64_t done = rec->id; /* provisioned again (--force): begin checks none came since */
            lsws_ledger_record_release(rec);
            memset(rec, 0, sizeof *rec);
            rec->replaces = done;
        }
    }
    if (found < 0) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        lsws_ledger_record_release(rec);
        return found;
    }
    if ((rc = exec(l, "COMMIT", err)) != LSWS_OK) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        lsws_ledger_record_release(rec);
    }
    return rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* 1 when the unit has an open claim, or an ok record newer than after. */
static int taken_meanwhile(struct ledger *l, const struct lsws_ledger_record *r, struct lsws_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "SELECT 1 FROM records WHERE sn = ?1 AND template_hash = ?2 AND "
                           "(state IN (0, 3) OR (state = 1 AND id > ?3)) LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    sqlite3_bind_text(st, 1, r->sn, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->template_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->replaces);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : fail_db(l, err, "select");
    sqlite3_finalize(st);
    return rc;
}

static int insert_record(struct ledger *l, struct lsws_ledger_record *r, struct lsws_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "INSERT INTO records (state, sn, dev_eui, model, band, firmware, hardware, template_hash, "
                           "template_name, settings, network, changes, outcome, error, operator, station, owner, "
                           "lease_until, started, finished, uri, backup) VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
                           "?21, ?22)",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    sqlite3_bind_int(st, 1, (int)r->state);
    bind_text(st, 2, r->sn);
    bind_text(st, 3, r->dev_eui);
    bind_text(st, 4, r->model);
    bind_text(st, 5, r->band);
    bind_text(st, 6, r->firmware);
    bind_text(st, 7, r->hardware);
    bind_text(st, 8, r->template_hash);
    bind_text(st, 9, r->template_name);
    bind_text(st, 10, r->settings);
    bind_text(st, 11, r->network);
    sqlite3_bind_int(st, 12, r->changes);
    bind_text(st, 13, r->outcome);
    bind_text(st, 14, r->error);
    bind_text(st, 15, r->operator_name);
    bind_text(st, 16, r->station);
    bind_text(st, 17, r->owner);
    sqlite3_bind_int64(st, 18, r->lease_until_ms);
    sqlite3_bind_int64(st, 19, r->started_ms);
    sqlite3_bind_int64(st, 20, r->finished_ms);
    bind_text(st, 21, r->uri);
    bind_text(st, 22, r->backup);
    int step = sqlite3_step(st), rc = LSWS_OK;
    if (step == SQLITE_CONSTRAINT)
        rc = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX, "unit %s is being provisioned by another process or station",
                       r->sn);
    else if (step != SQLITE_DONE)
        rc = fail_db(l, err, "insert");
    else
        r->id = sqlite3_last_insert_rowid(l->db);
    sqlite3_finalize(st);
    return rc;
}

/* Binds the record's pool row, which must still be ours. */
static int bind_pool_row(struct ledger *l, const struct lsws_ledger_ctx *ctx, const struct lsws_ledger_record *r,
                         struct lsws_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "UPDATE pool SET record_id = ?1, sn = ?2 WHERE pool = ?3 AND row_no = ?4 AND owner = ?5 "
                           "AND state = 1 AND record_id IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    sqlite3_bind_int64(st, 1, r->id);
    bind_text(st, 2, r->sn);
    bind_text(st, 3, r->pool);
    sqlite3_bind_int64(st, 4, r->pool_row);
    bind_text(st, 5, ctx->owner);
    int rc = sqlite3_step(st) == SQLITE_DONE ? LSWS_OK : fail_db(l, err, "update pool");
    if (rc == LSWS_OK && sqlite3_changes(l->db) != 1)
        rc = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                       "ledger '%s': pool row %lld is no longer this process's (its reservation lapsed)", l->path,
                       (long long)r->pool_row);
    sqlite3_finalize(st);
    return rc;
}

static int rollback(struct ledger *l, int rc)
{
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int begin(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *r, struct lsws_error *err)
{
    struct ledger *l = h;
    /* The write lock first: between the claim and this begin another
     * process may have provisioned the unit, and the check and the insert
     * must see the same ledger. */
    int rc = exec(l, "BEGIN IMMEDIATE", err);
    if (rc != LSWS_OK)
        return rc;
    int taken = taken_meanwhile(l, r, err);
    if (taken < 0)
        return rollback(l, taken);
    if (taken)
        return rollback(l, lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                                     "unit %s was claimed or provisioned by another process or station meanwhile",
                                     r->sn));
    if ((rc = insert_record(l, r, err)) == LSWS_OK && r->pool_row)
        rc = bind_pool_row(l, ctx, r, err);
    if (rc == LSWS_OK)
        rc = exec(l, "COMMIT", err);
    if (rc != LSWS_OK) {
        r->id = 0;
        return rollback(l, rc);
    }
    return LSWS_OK;
}

/* An UPDATE of one pool row by record (?1): ok used, failed free. */
static int pool_follow(struct ledger *l, const struct lsws_ledger_record *r, struct lsws_error *err)
{
    const char *sql = r->state == LSWS_LEDGER_OK ? "UPDATE pool SET state = 2 WHERE record_id = ?1"
                      : r->state == LSWS_LEDGER_FAILED
                          ? "UPDATE pool SET state = 0, record_id = NULL, owner = '', sn = '', lease_until = 0 "
                            "WHERE record_id = ?1"
                          : NULL;
    if (!sql)
        return LSWS_OK; /* pending, unknown: the unit may hold it; the record keeps it */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    sqlite3_bind_int64(st, 1, r->id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? LSWS_OK : fail_db(l, err, "update pool");
    sqlite3_finalize(st);
    return rc;
}

static int finish(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *r, struct lsws_error *err)
{
    struct ledger *l = h;
    sqlite3_stmt *st;
    int rc = exec(l, "BEGIN IMMEDIATE", err);
    if (rc != LSWS_OK)
        return rc;
    if (sqlite3_prepare_v2(l->db,
                           "UPDATE records SET state = ?1, network = ?2, changes = ?3, outcome = ?4, error = ?5, "
                           "finished = ?6, backup = ?7, firmware = ?8, hardware = ?9, band = ?10 "
                           "WHERE id = ?11 AND owner = ?12",
                           -1, &st, NULL) != SQLITE_OK)
        return rollback(l, fail_db(l, err, "prepare"));
    sqlite3_bind_int(st, 1, (int)r->state);
    bind_text(st, 2, r->network);
    sqlite3_bind_int(st, 3, r->changes);
    bind_text(st, 4, r->outcome);
    bind_text(st, 5, r->error);
    sqlite3_bind_int64(st, 6, r->finished_ms);
    bind_text(st, 7, r->backup);
    bind_text(st, 8, r->firmware);
    bind_text(st, 9, r->hardware);
    bind_text(st, 10, r->band);
    sqlite3_bind_int64(st, 11, r->id);
    bind_text(st, 12, ctx->owner);
    rc = sqlite3_step(st) == SQLITE_DONE ? LSWS_OK : fail_db(l, err, "update");
    if (rc == LSWS_OK && sqlite3_changes(l->db) != 1)
        rc = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                       "ledger '%s': record %lld of unit %s is no longer ours (its claim lapsed and was taken over)",
                       l->path, (long long)r->id, r->sn);
    sqlite3_finalize(st);
    if (rc == LSWS_OK)
        rc = pool_follow(l, r, err);
    if (rc == LSWS_OK)
        rc = exec(l, "COMMIT", err);
    return rc == LSWS_OK ? rc : rollback(l, rc);
}

static int renew(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *r, struct lsws_error *err)
{
    struct ledger *l = h;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "UPDATE records SET lease_until = ?1 WHERE id = ?2 AND owner = ?3 AND state IN (0, 3)",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    sqlite3_bind_int64(st, 1, ctx->now_ms + ctx->lease_ms);
    sqlite3_bind_int64(st, 2, r->id);
    bind_text(st, 3, ctx->owner);
    int rc = sqlite3_step(st) == SQLITE_DONE ? LSWS_OK : fail_db(l, err, "update");
    if (rc == LSWS_OK && sqlite3_changes(l->db) != 1)
        rc = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                       "ledger '%s': record %lld of unit %s is no longer ours (its claim lapsed and was taken over)",
                       l->path, (long long)r->id, r->sn);
    else if (rc == LSWS_OK)
        r->lease_until_ms = ctx->now_ms + ctx->lease_ms;
    sqlite3_finalize(st);
    return rc;
}

/* ---- pools ---- */

static int64_t count_pool(struct ledger *l, const char *pool, struct lsws_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "SELECT COUNT(*) FROM pool WHERE pool = ?1", -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    bind_text(st, 1, pool);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : fail_db(l, err, "select");
    sqlite3_finalize(st);
    return n;
}

/* Every row in, in one transaction: a row the ledger knows keeps its state;
 * one still free moves to this file (a pool file that grew, or was fixed). */
static int pool_load(void *h, const struct lsws_manifest *m, struct lsws_error *err)
{
    struct ledger *l = h;
    const char *pool = lsws_manifest_hash(m);
    size_t n = lsws_manifest_rows(m);
    int rc = exec(l, "BEGIN IMMEDIATE", err);
    if (rc != LSWS_OK)
        return rc;
    int64_t have = count_pool(l, pool, err);
    if (have < 0)
        return rollback(l, (int)have);
    if ((size_t)have == n) /* loaded already (by this station or another) */
        return exec(l, "COMMIT", err);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "INSERT INTO pool (row_hash, pool, row_no) VALUES (?1, ?2, ?3) ON CONFLICT (row_hash) "
                           "DO UPDATE SET pool = excluded.pool, row_no = excluded.row_no WHERE state = 0",
                           -1, &st, NULL) != SQLITE_OK)
        return rollback(l, fail_db(l, err, "prepare"));
    for (size_t i = 0; i < n && rc == LSWS_OK; i++) {
        sqlite3_reset(st);
        bind_text(st, 1, lsws_manifest_row_hash(m, i));
        bind_text(st, 2, pool);
        sqlite3_bind_int64(st, 3, (int64_t)i + 1);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = fail_db(l, err, "insert into pool");
    }
    sqlite3_finalize(st);
    if (rc == LSWS_OK)
        rc = exec(l, "COMMIT", err);
    return rc == LSWS_OK ? rc : rollback(l, rc);
}

/* The row reserved for unit sn before its record began, if any: 1 with
 * *row_no when this process may have it (its own, or its holder is gone),
 * LSWS_ERR_BUSY when a live holder has it, 0 when there is none. */
static int unit_row(struct ledger *l, const struct lsws_ledger_ctx *ctx, const char *pool, const char *sn,
                    int64_t *row_no, struct lsws_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "SELECT row_no, owner, lease_until FROM pool WHERE pool = ?1 AND sn = ?2 AND state = 1 "
                           "AND record_id IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    bind_text(st, 1, pool);
    bind_text(st, 2, sn);
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW) {
        const char *owner = col_text(st, 1);
        if (strcmp(owner, ctx->owner) == 0 || ctx->owner_gone(owner, sqlite3_column_int64(st, 2), ctx->now_ms)) {
            *row_no = sqlite3_column_int64(st, 0);
            rc = 1;
        } else {
            rc = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX, "unit %s is being provisioned by another process or station",
                           sn);
        }
    } else if (step != SQLITE_DONE) {
        rc = fail_db(l, err, "select");
    }
    sqlite3_finalize(st);
    return rc;
}

/* The first free row; else the first row reserved, before any record, by
 * another holder that is gone. 1 found (*row_no), 0 none, <0 error. */
static int free_row(struct ledger *l, const struct lsws_ledger_ctx *ctx, const char *pool, int64_t *row_no,
                    struct lsws_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "SELECT row_no, state, owner, lease_until FROM pool WHERE pool = ?1 AND "
                           "(state = 0 OR (state = 1 AND record_id IS NULL AND owner <> ?2)) ORDER BY state, row_no",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    bind_text(st, 1, pool);
    bind_text(st, 2, ctx->owner);
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 1) == POOL_FREE ||
            ctx->owner_gone(col_text(st, 2), sqlite3_column_int64(st, 3), ctx->now_ms)) {
            *row_no = sqlite3_column_int64(st, 0);
            rc = 1;
            break;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = fail_db(l, err, "select");
    sqlite3_finalize(st);
    return rc;
}

static int pool_counts(struct ledger *l, const char *pool, int64_t n[3])
{
    sqlite3_stmt *st;
    n[0] = n[1] = n[2] = 0;
    if (sqlite3_prepare_v2(l->db, "SELECT state, COUNT(*) FROM pool WHERE pool = ?1 GROUP BY state", -1, &st, NULL) !=
        SQLITE_OK)
        return -1;
    bind_text(st, 1, pool);
    while (sqlite3_step(st) == SQLITE_ROW)
        if ((unsigned)sqlite3_column_int(st, 0) < 3)
            n[sqlite3_column_int(st, 0)] = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    return 0;
}

static int pool_take(void *h, const struct lsws_ledger_ctx *ctx, const char *pool,
                     const struct lsws_ledger_record *rec, int64_t *row_no, struct lsws_error *err)
{
    struct ledger *l = h;
    int rc = exec(l, "BEGIN IMMEDIATE", err);
    if (rc != LSWS_OK)
        return rc;
    /* The unit claimed or provisioned since the claim: no row for it. */
    int found = taken_meanwhile(l, rec, err);
    if (found > 0)
        found = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                          "unit %s was claimed or provisioned by another process or station meanwhile", rec->sn);
    if (found == 0)
        found = unit_row(l, ctx, pool, rec->sn, row_no, err);
    if (found == 0)
        found = free_row(l, ctx, pool, row_no, err);
    if (found < 0)
        return rollback(l, found);
    if (!found) {
        int64_t n[3];
        pool_counts(l, pool, n);
        rollback(l, 0);
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "the pool has no free row left (%lld used, %lld reserved by units under way)",
                         (long long)n[POOL_USED], (long long)n[POOL_RESERVED]);
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "UPDATE pool SET state = 1, owner = ?1, lease_until = ?2, sn = ?3 WHERE pool = ?4 AND "
                           "row_no = ?5",
                           -1, &st, NULL) != SQLITE_OK)
        return rollback(l, fail_db(l, err, "prepare"));
    bind_text(st, 1, ctx->owner);
    sqlite3_bind_int64(st, 2, ctx->now_ms + ctx->lease_ms);
    bind_text(st, 3, rec->sn);
    bind_text(st, 4, pool);
    sqlite3_bind_int64(st, 5, *row_no);
    int step = sqlite3_step(st);
    rc = step == SQLITE_DONE ? LSWS_OK
         : step == SQLITE_CONSTRAINT
             ? lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX, "unit %s is being provisioned by another process or station",
                         rec->sn)
             : fail_db(l, err, "update pool");
    sqlite3_finalize(st);
    if (rc == LSWS_OK)
        rc = exec(l, "COMMIT", err);
    return rc == LSWS_OK ? rc : rollback(l, rc);
}

static int pool_release(void *h, const struct lsws_ledger_ctx *ctx, const char *pool, int64_t row_no,
                        struct lsws_error *err)
{
    struct ledger *l = h;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "UPDATE pool SET state = 0, owner = '', sn = '', lease_until = 0 WHERE pool = ?1 AND "
                           "row_no = ?2 AND owner = ?3 AND state = 1 AND record_id IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    bind_text(st, 1, pool);
    sqlite3_bind_int64(st, 2, row_no);
    bind_text(st, 3, ctx->owner);
    int rc = sqlite3_step(st) == SQLITE_DONE ? LSWS_OK : fail_db(l, err, "update pool");
    sqlite3_finalize(st);
    return rc;
}

static int each(void *h, const struct lsws_ledger_filter *f,
                int (*fn)(const struct lsws_ledger_record *rec, void *ctx), void *ctx, struct lsws_error *err)
{
    struct ledger *l = h;
    sqlite3_stmt *st;
    const char *sql = f->latest ? "SELECT " COLUMNS " FROM records WHERE (?1 IS NULL OR sn = ?1) AND (?2 = 0 OR id = ?2) "
                                  "AND id IN (SELECT MAX(id) FROM records WHERE (?3 < 0 OR state = ?3) GROUP BY sn) "
                                  "ORDER BY id"
                                : "SELECT " COLUMNS " FROM records WHERE (?1 IS NULL OR sn = ?1) AND (?2 = 0 OR id = ?2) "
                                  "AND (?3 < 0 OR state = ?3) ORDER BY id";
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
    bind_text(st, 1, f->sn);
    sqlite3_bind_int64(st, 2, f->id);
    sqlite3_bind_int(st, 3, f->state);
    int rc = LSWS_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct lsws_ledger_record r;
        if (row_to_record(st, &r) != LSWS_OK) {
            lsws_ledger_record_release(&r);
            rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
            break;
        }
        int stop = fn(&r, ctx);
        lsws_ledger_record_release(&r);
        if (stop) {
            rc = stop;
            break;
        }
    }
    if (rc == LSWS_OK && step != SQLITE_DONE)
        rc = fail_db(l, err, "select");
    sqlite3_finalize(st);
    return rc;
}

const struct lsws_ledger_ops lsws_ledger_sqlite = {
    .name = "sqlite",
    .open = open_ledger,
    .init = init_ledger,
    .close = close_ledger,
    .claim = claim,
    .begin = begin,
    .finish = finish,
    .renew = renew,
    .each = each,
    .pool_load = pool_load,
    .pool_take = pool_take,
    .pool_release = pool_release,
};
