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

#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 15000

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

static int open_ledger(const char *where, void **h, struct lsws_error *err)
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
    char mode[16], version[16];
    rc = pragma_text(l, "PRAGMA journal_mode=WAL", mode, sizeof mode, err);
    if (rc == LSWS_OK)
        rc = exec(l, "PRAGMA synchronous=FULL", err);
    if (rc == LSWS_OK)
        rc = pragma_text(l, "PRAGMA user_version", version, sizeof version, err);
    if (rc == LSWS_OK && atoi(version) > SCHEMA_VERSION)
        rc = lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX,
                       "ledger '%s' has schema version %s, newer than this lsws knows (%d): use a newer lsws",
                       where, version, SCHEMA_VERSION);
    if (rc == LSWS_OK && atoi(version) < SCHEMA_VERSION) {
        rc = exec(l, "BEGIN IMMEDIATE", err);
        if (rc == LSWS_OK && (rc = exec(l, schema, err)) == LSWS_OK)
            rc = exec(l, "PRAGMA user_version=1", err);
        rc = rc == LSWS_OK ? exec(l, "COMMIT", err) : (sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL), rc);
    }
    if (rc != LSWS_OK) {
        close_ledger(l);
        return rc;
    }
    *h = l;
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
        if (found == 1 && *out == LSWS_CLAIM_NONE)
            lsws_ledger_record_release(rec), memset(rec, 0, sizeof *rec);
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

static int begin(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *r, struct lsws_error *err)
{
    struct ledger *l = h;
    (void)ctx;
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

static int finish(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *r, struct lsws_error *err)
{
    struct ledger *l = h;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "UPDATE records SET state = ?1, network = ?2, changes = ?3, outcome = ?4, error = ?5, "
                           "finished = ?6, backup = ?7, firmware = ?8, hardware = ?9, band = ?10 "
                           "WHERE id = ?11 AND owner = ?12",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(l, err, "prepare");
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
    int rc = sqlite3_step(st) == SQLITE_DONE ? LSWS_OK : fail_db(l, err, "update");
    if (rc == LSWS_OK && sqlite3_changes(l->db) != 1)
        rc = lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                       "ledger '%s': record %lld of unit %s is no longer ours (its claim lapsed and was taken over)",
                       l->path, (long long)r->id, r->sn);
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
    .close = close_ledger,
    .claim = claim,
    .begin = begin,
    .finish = finish,
    .each = each,
};
