/* The write transaction: plan a change against what the device holds
 * (with what the rules between settings bring along), then back up, write
 * one all-or-nothing transaction, read back and compare. When the write's
 * fate is unknown (its answer was lost, the link dropped), find out by
 * reading back rather than guess. Commands only render the result. */
#include "lsws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rules that follow from a change ------------------------------------------ */

struct planning {
    const struct lsws_config *current;
    struct lsws_config *want;
    enum lsws_change_reason *why;
    char (*note)[96];
};

static int64_t enum_value(const struct lsws_model *m, size_t idx, const char *name)
{
    for (const struct lsws_enum *e = m->settings[idx].row->enums; e && e->name; e++)
        if (strcmp(e->name, name) == 0)
            return e->value;
    return -1;
}

static void bring(struct planning *p, size_t idx, const struct lsws_value *v, enum lsws_change_reason why,
                  const char *note)
{
    p->want->values[idx] = *v;
    p->want->present[idx] = 1;
    p->why[idx] = why;
    snprintf(p->note[idx], sizeof p->note[idx], "%s", note);
}

/* CTH01: 4000 A is a group range (guide ch.4, Configure Interface
 * Parameters). As the ToolBox app does, moving one channel of a group to
 * 4000 A moves the other two with it, and moving one off 4000 A moves them
 * off too, unless they were given. */
static void follow_4000a_group(struct planning *p)
{
    const struct lsws_model *m = p->want->model;
    if (m->id != LSWS_MODEL_CTH01)
        return;
    for (int ch = 1; ch <= 12; ch++) {
        char key[48];
        snprintf(key, sizeof key, "interface.current[%d].range", ch);
        int idx = lsws_model_find(m, key);
        if (idx < 0 || !p->want->present[idx] || p->why[idx] != LSWS_WHY_GIVEN)
            continue;
        int64_t big = enum_value(m, (size_t)idx, "4000a");
        int to_big = p->want->values[idx].num == big;
        int g = (ch - 1) / 3;
        for (int sib = g * 3 + 1; sib <= g * 3 + 3; sib++) {
            snprintf(key, sizeof key, "interface.current[%d].range", sib);
            int s = lsws_model_find(m, key);
            if (sib == ch || p->want->present[s] || !p->current->present[s])
                continue;
            if (to_big || p->current->values[s].num == big) {
                char note[96];
                snprintf(note, sizeof note, "4000 A applies to the whole group %c", 'a' + g);
                bring(p, (size_t)s, &p->want->values[idx], LSWS_WHY_GROUP, note);
            }
        }
    }
}

/* A new band brings its own RX2 and channel defaults, as choosing the
 * frequency plan in the app does, unless they were given. */
static void follow_band(struct planning *p)
{
    const struct lsws_model *m = p->want->model;
    int band = lsws_model_find(m, "lorawan.band");
    if (band < 0 || !p->want->present[band] ||
        (p->current->present[band] && p->current->values[band].num == p->want->values[band].num))
        return;
    const struct lsws_band *b = lsws_band_at((size_t)p->want->values[band].num);
    struct lsws_config *defaults;
    if (!b || lsws_config_new(m, &defaults) != LSWS_OK)
        return;
    if (lsws_config_defaults(defaults, b->name, NULL, NULL) == LSWS_OK) {
        char note[96];
        snprintf(note, sizeof note, "the %s default", b->name);
        for (size_t i = 0; i < m->n_settings; i++)
            if ((m->settings[i].row->flags & LSWS_F_BAND) && (int)i != band && !p->want->present[i] &&
                defaults->present[i])
                bring(p, i, &defaults->values[i], LSWS_WHY_BAND, note);
    }
    lsws_config_free(defaults);
}

static void (*const follow_rules[])(struct planning *) = {follow_4000a_group, follow_band};

/* ---- plan --------------------------------------------------------------------- */

void lsws_txn_free(struct lsws_txn *t)
{
    if (!t)
        return;
    lsws_config_free(t->current);
    if (t->changes)
        explicit_bzero(t->changes, t->n_changes * sizeof *t->changes); /* values may be keys */
    free(t->changes);
    free(t);
}

static int refuse_flags(const struct lsws_config *desired, struct lsws_error *err)
{
    const struct lsws_model *m = desired->model;
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!desired->present[i])
            continue;
        if (m->settings[i].row->flags & LSWS_F_READONLY)
            return lsws_fail(err, LSWS_ERR_READONLY, SIZE_MAX, "%s is read-only", m->settings[i].key);
        if (m->settings[i].row->flags & LSWS_F_WRITEONLY)
            return lsws_fail(err, LSWS_ERR_READONLY, SIZE_MAX, "%s is not written with settings: use 'lsws password'",
                             m->settings[i].key);
    }
    return LSWS_OK;
}

/* From want and current: the changes, in table order, and the merged whole. */
static int make_changes(struct lsws_txn *t, const struct planning *p, struct lsws_error *err)
{
    const struct lsws_model *m = t->model;
    struct lsws_config *merged;
    if (lsws_config_copy(t->current, &merged) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    t->changes = calloc(m->n_settings, sizeof *t->changes);
    if (!t->changes) {
        lsws_config_free(merged);
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!p->want->present[i])
            continue;
        merged->values[i] = p->want->values[i];
        merged->present[i] = 1;
        int had = t->current->present[i];
        if (had && lsws_value_equal(m, i, &t->current->values[i], &p->want->values[i]))
            continue;
        struct lsws_change *c = &t->changes[t->n_changes++];
        c->idx = i;
        c->had_old = had;
        if (had)
            c->old = t->current->values[i];
        c->new = p->want->values[i];
        c->why = p->why[i];
        snprintf(c->note, sizeof c->note, "%s", p->note[i]);
    }
    int rc = lsws_config_check(merged, err);
    lsws_config_free(merged);
    return rc;
}

int lsws_txn_plan(struct lsws_client *c, const struct lsws_device_info *info, const struct lsws_config *desired,
                  struct lsws_txn **out, struct lsws_error *err)
{
    const struct lsws_model *m = desired->model;
    if (m->id != info->model)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "settings for a %s, but '%s' is a %s", m->name,
                         lsws_client_uri(c), lsws_model_get(info->model)->name);
    int rc = refuse_flags(desired, err);
    if (rc != LSWS_OK)
        return rc;
    struct lsws_txn *t = calloc(1, sizeof *t);
    struct planning p = {0};
    if (!t)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    t->model = m;
    t->info = *info;
    rc = lsws_config_new(m, &t->current) == LSWS_OK && lsws_config_copy(desired, &p.want) == LSWS_OK &&
                 (p.why = calloc(m->n_settings, sizeof *p.why)) && (p.note = calloc(m->n_settings, sizeof *p.note))
             ? LSWS_OK
             : lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    if (rc == LSWS_OK)
        rc = lsws_client_read(c, t->current, NULL, err);
    if (rc == LSWS_OK) {
        p.current = t->current;
        for (size_t r = 0; r < sizeof follow_rules / sizeof follow_rules[0]; r++)
            follow_rules[r](&p);
        rc = make_changes(t, &p, err);
    }
    lsws_config_free(p.want);
    free(p.why);
    free(p.note);
    if (rc != LSWS_OK) {
        lsws_txn_free(t);
        return rc;
    }
    t->outcome = t->n_changes ? LSWS_TXN_PLANNED : LSWS_TXN_NOTHING;
    *out = t;
    return LSWS_OK;
}

/* ---- apply -------------------------------------------------------------------- */

/* Reads the changed settings back and sets each change's state; returns
 * how many read back as new, old and other in counts[3]. */
static int read_back(struct lsws_client *c, struct lsws_txn *t, const struct lsws_config *asked,
                     unsigned counts[3], struct lsws_error *err)
{
    struct lsws_config *back;
    if (lsws_config_new(t->model, &back) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    int rc = lsws_client_read(c, back, asked, err);
    for (size_t k = 0; k < t->n_changes; k++) {
        struct lsws_change *ch = &t->changes[k];
        size_t i = ch->idx;
        if (rc != LSWS_OK || !back->present[i]) {
            ch->state = LSWS_CHG_UNKNOWN;
            continue;
        }
        ch->now = back->values[i];
        if (lsws_value_equal(t->model, i, &ch->new, &ch->now))
            ch->state = LSWS_CHG_VERIFIED;
        else if (ch->had_old && lsws_value_equal(t->model, i, &ch->old, &ch->now))
            ch->state = LSWS_CHG_OLD;
        else
            ch->state = LSWS_CHG_OTHER;
        counts[ch->state - LSWS_CHG_VERIFIED]++;
    }
    lsws_config_free(back);
    return rc;
}

static int mismatch(const struct lsws_txn *t, struct lsws_error *err)
{
    for (size_t k = 0; k < t->n_changes; k++)
        if (t->changes[k].state != LSWS_CHG_VERIFIED)
            return lsws_fail(err, LSWS_ERR_VERIFY, SIZE_MAX, "%s does not read back as written",
                             t->model->settings[t->changes[k].idx].key);
    return LSWS_OK;
}

int lsws_txn_apply(struct lsws_client *c, struct lsws_txn *t, unsigned flags, struct lsws_error *err)
{
    if (t->outcome == LSWS_TXN_NOTHING)
        return LSWS_OK;
    if (t->outcome != LSWS_TXN_PLANNED)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "this plan was already carried out");
    int rc = LSWS_OK;
    if (!(flags & LSWS_TXN_NO_BACKUP) &&
        (rc = lsws_backup_save(&t->info, t->current, t->backup, sizeof t->backup, err)) != LSWS_OK) {
        t->backup[0] = '\0';
        return rc;
    }
    struct lsws_config *asked;
    if (lsws_config_new(t->model, &asked) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    for (size_t k = 0; k < t->n_changes; k++) {
        asked->values[t->changes[k].idx] = t->changes[k].new;
        asked->present[t->changes[k].idx] = 1;
    }
    unsigned counts[3] = {0};
    lsws_error_clear(&t->write_err);
    t->write_rc = lsws_client_write(c, asked, t->current, &t->write_err);
    if (t->write_rc == LSWS_OK) {
        rc = read_back(c, t, asked, counts, err);
        t->outcome = rc != LSWS_OK ? LSWS_TXN_WRITTEN : counts[0] == t->n_changes ? LSWS_TXN_VERIFIED
                                                                                  : LSWS_TXN_MISMATCH;
        if (rc == LSWS_OK)
            rc = mismatch(t, err);
    } else if (!lsws_client_maybe_applied(c)) {
        /* Refused, or never sent: a transaction is applied whole or not at all. */
        for (size_t k = 0; k < t->n_changes; k++)
            t->changes[k].state = LSWS_CHG_OLD;
        t->outcome = LSWS_TXN_UNCHANGED;
        rc = t->write_rc;
        if (err)
            *err = t->write_err;
    } else {
        /* The commit may have run: ask the device what it holds. */
        struct lsws_error rerr;
        lsws_error_clear(&rerr);
        int known = lsws_client_reconnect(c, &rerr) == LSWS_OK && read_back(c, t, asked, counts, &rerr) == LSWS_OK;
        if (!known) {
            for (size_t k = 0; k < t->n_changes; k++)
                t->changes[k].state = LSWS_CHG_UNKNOWN;
            t->outcome = LSWS_TXN_UNKNOWN;
        } else if (counts[0] == t->n_changes) {
            t->outcome = LSWS_TXN_VERIFIED;
            t->answer_lost = 1;
        } else {
            t->outcome = counts[1] == t->n_changes ? LSWS_TXN_UNCHANGED : LSWS_TXN_MISMATCH;
        }
        rc = t->outcome == LSWS_TXN_VERIFIED ? LSWS_OK : t->write_rc;
        if (rc != LSWS_OK && err)
            *err = t->write_err;
    }
    lsws_config_free(asked);
    return rc;
}
