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
    const char *name; /* "sqlite" */
    int (*open)(const char *where, void **h, struct lsws_error *err);
    void (*close)(void *h);
    int (*claim)(void *h, const struct lsws_ledger_ctx *ctx, const char *sn, const char *hash, unsigned flags,
                 struct lsws_ledger_record *rec, enum lsws_claim *out, struct lsws_error *err);
    int (*begin)(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *rec,
                 struct lsws_error *err);
    int (*finish)(void *h, const struct lsws_ledger_ctx *ctx, struct lsws_ledger_record *rec,
                  struct lsws_error *err);
    int (*each)(void *h, const struct lsws_ledger_filter *f,
                int (*fn)(const struct lsws_ledger_record *rec, void *ctx), void *ctx, struct lsws_error *err);
};
extern const struct lsws_ledger_ops lsws_ledger_sqlite;

/* Copies text into a fixed field, cut to fit. */
void lsws_copy(char *dst, size_t n, const char *src);
int64_t lsws_now_ms(void);
/* ISO 8601 with offset for a Unix time in ms (UTC: "+00:00"). */
void lsws_iso_time(int64_t unix_ms, char *buf, size_t n);

#endif
