/* Batch provisioning, one unit at a time (docs/fleet.md): whatever finds
 * the units (a URI list, a discovery sweep, a tap loop) hands each open
 * session to lsws_batch_unit, which identifies it in the ledger, fills the
 * template for it, records the settings before writing them, writes one
 * transaction through lsws_txn_plan/lsws_txn_apply (backup, verify) and
 * records the outcome. The order is what makes a crash harmless: a unit is
 * written only after its record, with the generated keys, is durable; a
 * record still open after a crash is resumed with the same settings, and
 * the plan then finds nothing to write if the unit took them already. */
#include "fleet_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAX 16
#define KEY_BYTES 16

struct lsws_batch {
    struct lsws_batch_opts o;
    char hash[LSWS_HASH_HEX];
    char gen[GEN_MAX][64]; /* generated names, upper case */
    int gen_idx[GEN_MAX];  /* -1: a placeholder; else the setting it sets directly */
    size_t n_gen;
};

static const char *const outcome_names[] = {
    [LSWS_TXN_PLANNED] = "planned",     [LSWS_TXN_NOTHING] = "nothing",   [LSWS_TXN_VERIFIED] = "verified",
    [LSWS_TXN_UNCHANGED] = "unchanged", [LSWS_TXN_MISMATCH] = "mismatch", [LSWS_TXN_UNKNOWN] = "unknown",
    [LSWS_TXN_WRITTEN] = "written",
};

const char *lsws_txn_outcome_name(enum lsws_txn_outcome o)
{
    return (unsigned)o < sizeof outcome_names / sizeof outcome_names[0] ? outcome_names[o] : "invalid";
}

static int builtin(const char *name)
{
    return strcmp(name, "SN") == 0 || strcmp(name, "DEV_EUI") == 0;
}

static int generated(const struct lsws_batch *b, const char *name)
{
    for (size_t i = 0; i < b->n_gen; i++)
        if (b->gen_idx[i] < 0 && strcmp(b->gen[i], name) == 0)
            return 1;
    return 0;
}

struct var_check {
    struct lsws_batch *b;
    struct lsws_error *err;
    int rc;
};

static const char *lower_of(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
    return buf;
}

/* Each placeholder has exactly one source. */
static int check_var(const char *name, const char *key, void *ctx)
{
    char lower[64];
    struct var_check *v = ctx;
    const struct lsws_manifest *m = v->b->o.manifest, *pool = v->b->o.pool;
    int from_manifest = !builtin(name) && m && lsws_manifest_has(m, name), from_gen = generated(v->b, name);
    int from_pool = !builtin(name) && pool && lsws_manifest_has(pool, name);
    if (from_pool && (from_manifest || from_gen))
        v->rc = lsws_fail(v->err, LSWS_ERR_INVALID, SIZE_MAX,
                          "${%s} (%s) would come from both the pool and %s: choose one", name, key,
                          from_manifest ? "the manifest" : "--generate");
    else if (from_pool)
        v->rc = lsws_manifest_check_filled(pool, name, v->err);
    else if (builtin(name) && from_gen)
        v->rc = lsws_fail(v->err, LSWS_ERR_INVALID, SIZE_MAX, "${%s} is the unit's own: it cannot be generated", name);
    else if (from_manifest && from_gen)
        v->rc = lsws_fail(v->err, LSWS_ERR_INVALID, SIZE_MAX,
                          "${%s} (%s) would come from both the manifest and --generate: choose one", name, key);
    else if (!builtin(name) && !from_manifest && !from_gen)
        v->rc = lsws_fail(v->err, LSWS_ERR_INCOMPLETE, SIZE_MAX,
                          "placeholder ${%s} of %s has no value: add a manifest column '%s' or --generate %s", name,
                          key, name, lower_of(name, lower, sizeof lower));
    else if (from_manifest)
        v->rc = lsws_manifest_check_filled(m, name, v->err);
    return v->rc != LSWS_OK;
}

static int has_placeholder(const char *name, const char *key, void *ctx)
{
    (void)key;
    return strcmp(name, ctx) == 0;
}

/* "app_key" or "lorawan.app_key": a 16-byte key setting of the model. */
static int key_setting(const struct lsws_model *m, const char *name)
{
    char lower[64];
    size_t n = strlen(name);
    for (size_t i = 0; i <= n && i < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[sizeof lower - 1] = '\0';
    for (size_t i = 0; i < m->n_settings; i++) {
        const char *k = m->settings[i].key, *dot = strrchr(k, '.');
        const struct lsws_row *row = m->settings[i].row;
        if (row->type != LSWS_T_HEX || row->max != KEY_BYTES || !(row->flags & LSWS_F_SECRET))
            continue;
        if (strcmp(k, lower) == 0 || (dot && strcmp(dot + 1, lower) == 0))
            return (int)i;
    }
    return -1;
}

static int add_generate(struct lsws_batch *b, const char *name, struct lsws_error *err)
{
    const struct lsws_model *m = lsws_tpl_model(b->o.tpl);
    if (b->n_gen == GEN_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "at most %d --generate names", GEN_MAX);
    char up[64];
    size_t n = strlen(name);
    if (!n || n >= sizeof up)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "--generate needs a name, such as app_key");
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    for (size_t i = 0; i < b->n_gen; i++)
        if (strcmp(b->gen[i], up) == 0)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "--generate %s is given twice", name);
    int idx = -1;
    if (!lsws_tpl_each_var(b->o.tpl, has_placeholder, up)) {
        /* No ${NAME}: the key setting it names is generated directly. */
        idx = key_setting(m, name);
        if (idx < 0)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "--generate %s: the template has no ${%s} and %s has no 16-byte key '%s'", name, up,
                             m->name, name);
        if (lsws_tpl_has(b->o.tpl, (size_t)idx))
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "--generate %s: the template gives %s already: remove it, or write \"${%s}\" there",
                             name, m->settings[idx].key, up);
    }
    snprintf(b->gen[b->n_gen], sizeof b->gen[0], "%s", up);
    b->gen_idx[b->n_gen++] = idx;
    return LSWS_OK;
}

int lsws_batch_new(const struct lsws_batch_opts *opts, struct lsws_batch **out, struct lsws_error *err)
{
    struct lsws_batch *b = calloc(1, sizeof *b);
    if (!b)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    b->o = *opts;
    int rc = LSWS_OK;
    for (size_t i = 0; i < opts->n_generate && rc == LSWS_OK; i++)
        rc = add_generate(b, opts->generate[i], err);
    struct var_check v = {b, err, LSWS_OK};
    if (rc == LSWS_OK) {
        lsws_tpl_each_var(opts->tpl, check_var, &v);
        rc = v.rc;
    }
    if (rc == LSWS_OK && !opts->ledger)
        rc = lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "a batch needs a ledger");
    if (rc == LSWS_OK && opts->pool && !lsws_manifest_is_pool(opts->pool))
        rc = lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "the pool is a manifest keyed by SN or DevEUI");
    /* The pool's rows into the ledger, once for all stations (idempotent). */
    if (rc == LSWS_OK && opts->pool)
        rc = lsws_ledger_pool_load(opts->ledger, opts->pool, err);
    if (rc != LSWS_OK) {
        free(b);
        return rc;
    }
    /* The job's identity: the template's settings and what is generated. */
    char tpl_hash[LSWS_HASH_HEX];
    lsws_tpl_hash(opts->tpl, tpl_hash);
    struct lsws_sha256 s;
    lsws_sha256_init(&s);
    lsws_sha256_update(&s, "lsws-batch-1\n", 13);
    lsws_sha256_update(&s, tpl_hash, strlen(tpl_hash));
    /* Sorted copy of the names. */
    char names[GEN_MAX][64];
    memcpy(names, b->gen, sizeof names);
    for (size_t i = 1; i < b->n_gen; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[64];
            memcpy(t, names[j], sizeof t);
            memcpy(names[j], names[j - 1], sizeof t);
            memcpy(names[j - 1], t, sizeof t);
        }
    for (size_t i = 0; i < b->n_gen; i++) {
        lsws_sha256_update(&s, "\ngenerate ", 10);
        lsws_sha256_update(&s, names[i], strlen(names[i]));
    }
    lsws_sha256_hex(&s, b->hash);
    *out = b;
    return LSWS_OK;
}

void lsws_batch_free(struct lsws_batch *b)
{
    free(b);
}

const char *lsws_batch_hash(const struct lsws_batch *b)
{
    return b->hash;
}

void lsws_batch_result_release(struct lsws_batch_result *r)
{
    if (!r)
        return;
    lsws_txn_free(r->txn);
    r->txn = NULL;
    lsws_ledger_record_release(&r->rec);
}

/* ---- one unit ---- */

struct unit_vars {
    const struct lsws_batch *b;
    const char *sn, *eui;
    int has_row;
    size_t row;
    long pool_row; /* -1: none */
    char gen[GEN_MAX][2 * KEY_BYTES + 1];
};

static const char *lookup(const char *name, void *ctx)
{
    struct unit_vars *u = ctx;
    if (strcmp(name, "SN") == 0)
        return u->sn;
    if (strcmp(name, "DEV_EUI") == 0)
        return u->eui;
    for (size_t i = 0; i < u->b->n_gen; i++)
        if (u->b->gen_idx[i] < 0 && strcmp(u->b->gen[i], name) == 0)
            return u->gen[i];
    if (u->pool_row >= 0 && lsws_manifest_has(u->b->o.pool, name))
        return lsws_manifest_value(u->b->o.pool, (size_t)u->pool_row, name);
    if (u->has_row)
        return lsws_manifest_value(u->b->o.manifest, u->row, name);
    return NULL;
}

/* The unit's settings for a new record: the template filled in (pool_row:
 * the pool row taken for it, -1 none). */
static int fill(const struct lsws_batch *b, const char *sn, const char *eui, long pool_row,
                struct lsws_config **desired, struct lsws_error *err)
{
    struct unit_vars u = {.b = b, .sn = sn, .eui = eui, .pool_row = pool_row};
    int rc = LSWS_OK;
    if (b->o.manifest) {
        rc = lsws_manifest_find(b->o.manifest, sn, eui, &u.row, err);
        /* A manifest given: every unit must be in it (a unit left out is a mistake). */
        u.has_row = rc == LSWS_OK;
        if (rc != LSWS_OK)
            return rc;
    }
    for (size_t i = 0; i < b->n_gen && rc == LSWS_OK; i++) {
        uint8_t key[KEY_BYTES];
        if ((rc = lsws_random(key, sizeof key, err)) == LSWS_OK)
            lsws_hex_format(key, sizeof key, u.gen[i]);
        explicit_bzero(key, sizeof key);
    }
    if (rc == LSWS_OK)
        rc = lsws_tpl_resolve(b->o.tpl, lookup, &u, desired, err);
    const struct lsws_model *m = lsws_tpl_model(b->o.tpl);
    for (size_t i = 0; i < b->n_gen && rc == LSWS_OK; i++)
        if (b->gen_idx[i] >= 0)
            rc = lsws_value_parse(m, (size_t)b->gen_idx[i], u.gen[i], &(*desired)->values[b->gen_idx[i]], err),
            (*desired)->present[b->gen_idx[i]] = rc == LSWS_OK;
    if (rc != LSWS_OK && *desired) {
        lsws_config_free(*desired);
        *desired = NULL;
    }
    explicit_bzero(u.gen, sizeof u.gen);
    return rc;
}

static const char *const network_keys[] = {"lorawan.app_eui",  "lorawan.app_key",  "lorawan.band",
                                           "lorawan.channels", "lorawan.version",  "lorawan.join_type",
                                           "lorawan.dev_addr", "lorawan.app_skey", "lorawan.nwk_skey", NULL};

/* What network servers need, as the unit holds it now: its settings
 * before, with the settings written over them. */
static char *network_json(const struct lsws_txn *t, const struct lsws_config *desired)
{
    const struct lsws_model *m = t->model;
    json_t *o = json_object();
    for (const char *const *k = network_keys; o && *k; k++) {
        int i = lsws_model_find(m, *k);
        if (i < 0)
            continue;
        const struct lsws_value *v = desired->present[i] ? &desired->values[i]
                                     : t->current->present[i] ? &t->current->values[i]
                                                              : NULL;
        if (v)
            json_object_set_new(o, *k, lsws_value_to_json(m, (size_t)i, v));
    }
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

static enum lsws_ledger_state state_after(const struct lsws_txn *t, int resumed)
{
    switch (t->outcome) {
    case LSWS_TXN_VERIFIED:
    case LSWS_TXN_NOTHING:
        return LSWS_LEDGER_OK;
    case LSWS_TXN_UNCHANGED:
        return LSWS_LEDGER_FAILED; /* the plan read the unit without them, and the write did not run */
    case LSWS_TXN_PLANNED:
        return resumed ? LSWS_LEDGER_UNKNOWN : LSWS_LEDGER_FAILED; /* nothing sent this time */
    default:
        return LSWS_LEDGER_UNKNOWN;
    }
}

/* Fills the identity fields of a new record. */
static void identity(const struct lsws_batch *b, const struct lsws_device_info *info, const char *uri,
                     const char *eui, struct lsws_ledger_record *r)
{
    const struct lsws_model *m = lsws_model_get(info->model);
    const struct lsws_band *band = lsws_band_at(info->band);
    memset(r, 0, sizeof *r);
    lsws_copy(r->sn, sizeof r->sn, info->sn);
    lsws_copy(r->dev_eui, sizeof r->dev_eui, eui);
    lsws_copy(r->model, sizeof r->model, m ? m->name : "");
    lsws_copy(r->band, sizeof r->band, band ? band->name : "");
    lsws_version_format(info->fw, 0, r->firmware, sizeof r->firmware);
    lsws_version_format(info->hw, 1, r->hardware, sizeof r->hardware);
    lsws_copy(r->template_hash, sizeof r->template_hash, b->hash);
    lsws_copy(r->template_name, sizeof r->template_name, b->o.template_name);
    lsws_copy(r->uri, sizeof r->uri, uri);
}

/* A pool row taken for a unit whose record never began goes back. */
static void release_pool_row(struct lsws_batch *b, struct lsws_ledger_record *r)
{
    if (!r->pool_row)
        return;
    struct lsws_error lerr;
    /* If this fails (the server went away), the row lapses with this
     * process's lease, or at once when it is seen to be gone. */
    lsws_ledger_pool_release(b->o.ledger, b->o.pool, (size_t)(r->pool_row - 1), &lerr);
    r->pool_row = 0;
}

/* A unit that failed before its record was begun: a failed record says so. */
static int record_failure(struct lsws_batch *b, struct lsws_batch_result *res, const char *settings)
{
    struct lsws_error lerr;
    lsws_error_clear(&lerr);
    struct lsws_ledger_record *r = &res->rec;
    if (settings && !(r->settings = strdup(settings)))
        return res->ledger_failed = 1, LSWS_ERR_NOMEM;
    lsws_copy(r->error, sizeof r->error, res->err.msg[0] ? res->err.msg : lsws_strerror(res->rc));
    int rc = lsws_ledger_begin(b->o.ledger, r, &lerr);
    if (rc == LSWS_OK) {
        r->state = LSWS_LEDGER_FAILED;
        rc = lsws_ledger_finish(b->o.ledger, r, &lerr);
    }
    if (rc == LSWS_ERR_BUSY) {
        /* Another station claimed the unit meanwhile: its record tells;
         * nothing was written here, so nothing is lost. */
        release_pool_row(b, r);
        r->id = 0;
        return LSWS_OK;
    }
    if (rc != LSWS_OK) {
        res->ledger_failed = 1;
        res->err = lerr;
        res->rc = rc;
    }
    return rc;
}

int lsws_batch_unit(struct lsws_batch *b, struct lsws_client *c, const struct lsws_device_info *info, const char *uri,
                    struct lsws_batch_result *res)
{
    memset(res, 0, sizeof *res);
    lsws_error_clear(&res->err);
    res->status = LSWS_UNIT_FAILED;
    char eui[17];
    lsws_hex_format(info->dev_eui, 8, eui);
    enum lsws_claim kind;
    struct lsws_ledger *ledger = b->o.ledger;
    int rc = lsws_ledger_claim(ledger, info->sn, b->hash, (b->o.flags & LSWS_BATCH_FORCE) ? LSWS_CLAIM_FORCE : 0,
                               &res->rec, &kind, &res->err);
    if (rc != LSWS_OK) {
        res->ledger_failed = 1;
        return res->rc = rc;
    }
    if (kind == LSWS_CLAIM_DONE || kind == LSWS_CLAIM_HELD) {
        res->status = kind == LSWS_CLAIM_DONE ? LSWS_UNIT_SKIPPED : LSWS_UNIT_HELD;
        res->again = kind == LSWS_CLAIM_DONE && strcmp(res->rec.owner, lsws_ledger_owner(ledger)) == 0;
        return res->rc = LSWS_OK;
    }
    res->resumed = kind == LSWS_CLAIM_RESUME;
    struct lsws_config *desired = NULL;
    char *settings = NULL;
    if (res->resumed) {
        /* The settings recorded before the interrupted write: the same keys. */
        rc = res->rec.settings ? lsws_template_parse(res->rec.settings, strlen(res->rec.settings), &desired, &res->err)
                               : lsws_fail(&res->err, LSWS_ERR_INVALID, SIZE_MAX, "record %lld has no settings",
                                           (long long)res->rec.id);
    } else {
        int64_t replaces = res->rec.replaces;
        identity(b, info, uri, eui, &res->rec);
        res->rec.replaces = replaces;
        rc = lsws_tpl_check_unit(b->o.tpl, info, uri, &res->err);
        long pool_row = -1;
        if (rc == LSWS_OK && b->o.pool) {
            /* The next free identity, reserved for this unit under our
             * lease; the record binds it when it begins. */
            size_t row;
            if ((rc = lsws_ledger_pool_take(ledger, b->o.pool, &res->rec, &row, &res->err)) != LSWS_OK) {
                if (rc == LSWS_ERR_BUSY) { /* another station has the unit */
                    res->status = LSWS_UNIT_HELD;
                    res->rc = LSWS_OK;
                    goto out;
                }
                res->ledger_failed = 1; /* no identity left, or no ledger: no unit can go on */
                res->rc = rc;
                goto out;
            }
            pool_row = (long)row;
            lsws_copy(res->rec.pool, sizeof res->rec.pool, lsws_manifest_hash(b->o.pool));
            res->rec.pool_row = (int64_t)row + 1;
        }
        if (rc == LSWS_OK)
            rc = fill(b, info->sn, eui, pool_row, &desired, &res->err);
        if (rc == LSWS_OK && lsws_template_render(desired, 0, &settings) != LSWS_OK)
            rc = lsws_fail(&res->err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    if (rc == LSWS_OK)
        rc = lsws_txn_plan(c, info, desired, &res->txn, &res->err);
    if (rc != LSWS_OK) {
        res->rc = rc;
        if (!res->resumed) {
            record_failure(b, res, settings);
        } else {
            /* Still open: the interrupted write's fate is unknown. */
            struct lsws_error lerr;
            res->rec.state = LSWS_LEDGER_UNKNOWN;
            lsws_copy(res->rec.error, sizeof res->rec.error, res->err.msg);
            if (lsws_ledger_finish(ledger, &res->rec, &lerr) != LSWS_OK)
                res->ledger_failed = 1;
        }
        goto out;
    }
    if (!res->resumed) {
        res->rec.settings = settings;
        settings = NULL;
        /* Durable before anything is written: a crash from here on resumes
         * with these settings. */
        if ((rc = lsws_ledger_begin(ledger, &res->rec, &res->err)) != LSWS_OK) {
            if (rc == LSWS_ERR_BUSY) {
                res->status = LSWS_UNIT_HELD;
                release_pool_row(b, &res->rec);
                res->rec.owner[0] = '\0'; /* ours, set for the begin: the holder is another */
                rc = LSWS_OK;
            } else {
                res->ledger_failed = 1;
            }
            res->rc = rc;
            goto out;
        }
    } else if ((rc = lsws_ledger_renew(ledger, &res->rec, &res->err)) != LSWS_OK) {
        /* A record taken over: its lease runs from now, or it is no longer
         * ours (another station took it meanwhile): then leave the unit. */
        if (rc == LSWS_ERR_BUSY) {
            res->status = LSWS_UNIT_HELD;
            rc = LSWS_OK;
        } else {
            res->ledger_failed = 1;
        }
        res->rc = rc;
        goto out;
    }
    struct lsws_error werr;
    lsws_error_clear(&werr);
    int wrc = lsws_txn_apply(c, res->txn, 0, &werr);
    struct lsws_txn *t = res->txn;
    res->rec.state = state_after(t, res->resumed);
    res->rec.changes = (int)t->n_changes;
    lsws_copy(res->rec.outcome, sizeof res->rec.outcome, lsws_txn_outcome_name(t->outcome));
    lsws_copy(res->rec.error, sizeof res->rec.error, wrc == LSWS_OK ? "" : werr.msg);
    lsws_copy(res->rec.backup, sizeof res->rec.backup, t->backup);
    free(res->rec.network);
    res->rec.network = res->rec.state == LSWS_LEDGER_OK ? network_json(t, desired) : NULL;
    if (wrc != LSWS_OK) {
        res->err = werr;
        res->rc = wrc;
    }
    struct lsws_error lerr;
    lsws_error_clear(&lerr);
    if ((rc = lsws_ledger_finish(ledger, &res->rec, &lerr)) != LSWS_OK) {
        /* Written but not recorded: the record stays open, and a later run
         * finds the unit holding the settings (nothing to write). */
        res->ledger_failed = 1;
        res->err = lerr;
        res->rc = rc;
        goto out;
    }
    res->status = res->rec.state == LSWS_LEDGER_OK ? LSWS_UNIT_OK : LSWS_UNIT_FAILED;
    if (res->status == LSWS_UNIT_OK)
        res->rc = LSWS_OK;
out:
    if (settings) {
        explicit_bzero(settings, strlen(settings));
        free(settings);
    }
    if (desired) {
        explicit_bzero(desired->values, desired->model->n_settings * sizeof *desired->values);
        lsws_config_free(desired);
    }
    return res->rc;
}
