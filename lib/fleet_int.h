/* Private to lib/: what the fleet parts (templates for units, backups,
 * manifests, the ledger and its backends, batch) share. Not installed. */
#ifndef LSWS_FLEET_INT_H
#define LSWS_FLEET_INT_H

#include "lsws.h"

/* ---- SHA-256 (lib/sha256.c, libcrypto) ---- */
#include <openssl/sha.h>
struct lsws_sha256 {
    SHA256_CTX ctx;
};
void lsws_sha256_init(struct lsws_sha256 *s);
void lsws_sha256_update(struct lsws_sha256 *s, const void *data, size_t len);
/* The digest as 64 lowercase hex digits and a NUL. */
void lsws_sha256_hex(struct lsws_sha256 *s, char out[LSWS_HASH_HEX]);

/* ---- the ledger's backends (lib/ledger.c dispatches, lib/ledger_*.c implement) ----
 * One vtable, as the transports have: a missing slot is "not supported".
 * Every slot is one transaction of the backend, durable when it returns
 * LSWS_OK. The front end (ledger.c) fills owner, times and lease; the
 * backend decides atomically who holds a unit, so a second backend
 * (PostgreSQL, issue 13: SELECT ... FOR UPDATE SKIP LOCKED, a unique index
 * on the open claim of sn + template) keeps the same contract. */
struct lsws_ledger_ctx {
    const char *owner;    /* this process's claims: "station host pid run" */
    int64_t now_ms;       /* Unix ms, for leases */
    int64_t lease_ms;     /* how long a claim holds without a finish */
    /* 1 when the holder of an open claim is gone (lease run out, or a
     * process of this host that no longer runs) */
    int (*owner_gone)(const char *owner, int64_t lease_until_ms, int64_t now_ms);
};
struct lsws_ledger_ops {
    const char *name; /* "sqlite", "postgresql" */
    int (*open)(const char *where, void **h, struct lsws_error *err);
    /* Creates or migrates the schema at where, in one transaction. */
    int (*init)(const char *where, int *from, int *to, struct lsws_error *err);
    void (*close)(void *h);
    /* After LSWS_ERR_NODEV (the server went away): connect again. */
    int (*reconnect)(void *h, struct lsws_error *err);
    int (*claim)(void *h, const struct lsws_ledger_ctx *ctx, const char *sn, const char *hash, unsigned flags,
                 struct lsws_ledger_record *rec, enum lsws_claim *out, struct lsws_error *err);
    /* Inserts rec unless the unit has an open claim, or an ok record newer
     * than rec->replaces (provisioned meanwhile): LSWS_ERR_BUSY. Binds
     * rec's pool row, which must still be reserved by ctx->owner. */
    int (*begin)(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *rec,
                 struct lsws_error *err);
    /* Only a record still ours (WHERE id AND owner); its pool row follows
     * the state (ok: used; failed: free; else kept). */
    int (*finish)(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *rec,
                  struct lsws_error *err);
    int (*renew)(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *rec,
                 struct lsws_error *err);
    int (*each)(void *h, const struct lsws_ledger_filter *f,
                int (*fn)(const struct lsws_ledger_record *rec, void *ctx), void *ctx, struct lsws_error *err);
    /* Pools (lsws_ledger_pool_*): rows keyed by their identity hash; row_no
     * is 1-based in the pool file whose hash is pool. */
    int (*pool_load)(void *h, const struct lsws_manifest *m, struct lsws_error *err);
    /* For rec's unit (sn, template_hash, replaces): LSWS_ERR_BUSY when it
     * was claimed or provisioned meanwhile, or another live holder has a
     * row reserved for it (at most one reservation per unit before its
     * record begins: a unique index), so racing stations never hold more
     * rows than units. */
    int (*pool_take)(void *h, const struct lsws_ledger_ctx *ctx, const char *pool,
                     const struct lsws_ledger_record *rec, int64_t *row_no, struct lsws_error *err);
    int (*pool_release)(void *h, const struct lsws_ledger_ctx *ctx, const char *pool, int64_t row_no,
                        struct lsws_error *err);
};
extern const struct lsws_ledger_ops lsws_ledger_sqlite;
#ifdef LSWS_HAVE_PG
extern const struct lsws_ledger_ops lsws_ledger_pg;
#endif
/* Pool states (both backends). */
enum { POOL_FREE = 0, POOL_RESERVED = 1, POOL_USED = 2 };

/* Copies text into a fixed field, cut to fit. */
void lsws_copy(char *dst, size_t n, const char *src);
int64_t lsws_now_ms(void);
/* ISO 8601 with offset for a Unix time in ms (UTC: "+00:00"). */
void lsws_iso_time(int64_t unix_ms, char *buf, size_t n);

#endif
