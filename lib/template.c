/* JSON templates: the vendor app's "Set Template" idea as a file lsws can
 * lint, diff and write. Format (docs/templates.md):
 *   {"lsws_template": 1, "model": "ws523", "settings": {"dotted.key": value}}
 * Values are JSON booleans, numbers (integers, or decimals for fixed-point
 * settings) and strings (enums, hex, text, channel lists, UTC offsets). */
#include "fleet_int.h"
#include "model_rows.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds the first `"key"` after `from` in the text, for line:column. */
static void locate(const char *text, size_t len, size_t from, const char *key,
                   struct lsws_error *err)
{
    size_t klen = strlen(key);
    if (!err)
        return;
    for (size_t i = from; i + klen + 2 <= len; i++) {
        if (text[i] != '"' || memcmp(text + i + 1, key, klen) != 0 || text[i + 1 + klen] != '"')
            continue;
        int line = 1, col = 1;
        for (size_t j = 0; j < i; j++) {
            if (text[j] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        err->line = line;
        err->column = col;
        err->offset = i;
        return;
    }
}

static size_t settings_start(const char *text, size_t len)
{
    for (size_t i = 0; i + 10 <= len; i++)
        if (memcmp(text + i, "\"settings\"", 10) == 0)
            return i;
    return 0;
}

/* Converts a JSON value to the setting's text form, checking the JSON type. */
static int json_to_text(const struct lsws_model *m, size_t idx, json_t *v, char *buf, size_t n,
                        struct lsws_error *err)
{
    const struct lsws_setting *s = &m->settings[idx];
    const struct lsws_row *row = s->row;
    switch (row->type) {
    case LSWS_T_BOOL:
        if (!json_is_boolean(v))
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: expected true or false", s->key);
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
        return LSWS_OK;
    case LSWS_T_UINT:
    case LSWS_T_INT:
        if (json_is_integer(v)) {
            snprintf(buf, n, "%lld", (long long)json_integer_value(v));
            return LSWS_OK;
        }
        if (json_is_real(v) && row->scale) {
            double x = json_real_value(v), p = pow(10, row->scale);
            double scaled = x * p;
            char allowed[128];
            lsws_setting_allowed(m, idx, allowed, sizeof allowed);
            /* A huge number (1e300) is out of range, whatever its decimals. */
            if (!isfinite(scaled) || scaled < (double)row->min || scaled > (double)row->max)
                return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: %g is out of range (allowed: %s)",
                                 s->key, x, allowed);
            if (fabs(scaled - round(scaled)) > 1e-6)
                return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                                 "%s: %g has more than %u decimals", s->key, x, row->scale);
            snprintf(buf, n, "%.*f", row->scale, x);
            return LSWS_OK;
        }
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: expected %s", s->key,
                         row->scale ? "a number" : "an integer");
    default:
        if (!json_is_string(v))
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: expected a string", s->key);
        if (strcmp(json_string_value(v), LSWS_REDACTED) == 0)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "%s is redacted in this file: take the value from a file written "
                             "with --show-secrets", s->key);
        snprintf(buf, n, "%s", json_string_value(v));
        if (json_string_length(v) >= n)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: value is too long", s->key);
        return LSWS_OK;
    }
}

static const char *const top_level_keys[] = {"lsws_template", "model", "settings", "comment",
                                             "created", "device", "backup", NULL};

static int check_top_level(json_t *root, const char *text, size_t len, struct lsws_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        int known = 0;
        for (const char *const *k = top_level_keys; *k; k++)
            known |= strcmp(*k, key) == 0;
        if (!known) {
            lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX,
                      "unknown top-level key '%s' (expected lsws_template, model, settings, "
                      "comment, created, device, backup)", key);
            locate(text, len, 0, key, err);
            return LSWS_ERR_UNKNOWN_KEY;
        }
    }
    json_t *fmt = json_object_get(root, "lsws_template");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != LSWS_TEMPLATE_FORMAT) {
        lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                  "not an lsws template: \"lsws_template\": %d is missing or wrong",
                  LSWS_TEMPLATE_FORMAT);
        locate(text, len, 0, "lsws_template", err);
        return LSWS_ERR_SYNTAX;
    }
    return LSWS_OK;
}

/* ---- a template file for units: values, placeholders, a backup header ---------- */

struct lsws_tpl {
    const struct lsws_model *model;
    struct lsws_config *cfg; /* the literal values */
    char **text;             /* per setting: the text holding placeholders, or NULL */
    size_t *skipped;         /* read-only settings of a backup, skipped */
    size_t n_skipped;
    int has_backup, selected;
    struct lsws_backup_info backup;
};

void lsws_tpl_free(struct lsws_tpl *t)
{
    if (!t)
        return;
    if (t->text)
        for (size_t i = 0; i < t->model->n_settings; i++)
            free(t->text[i]);
    free(t->text);
    free(t->skipped);
    if (t->cfg)
        explicit_bzero(t->cfg->values, t->model->n_settings * sizeof *t->cfg->values); /* keys */
    lsws_config_free(t->cfg);
    free(t);
}

static int is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '_';
}

/* Walks the placeholders of s: for each ${NAME}, fn(name, len, ctx) (a
 * non-zero return stops the walk and is returned); literal text goes to
 * lit(text, len, ctx) when lit is not NULL. Returns 0, the stop value, or
 * -1 with *bad at the character that is wrong. "$$" is one "$". */
static int walk(const char *s, int (*fn)(const char *name, size_t len, void *ctx),
                void (*lit)(const char *text, size_t len, void *ctx), void *ctx, size_t *bad)
{
    for (size_t i = 0; s[i];) {
        if (s[i] != '$' || (s[i + 1] != '{' && s[i + 1] != '$')) {
            size_t j = i;
            while (s[j] && !(s[j] == '$' && (s[j + 1] == '{' || s[j + 1] == '$')))
                j++;
            if (lit)
                lit(s + i, j - i, ctx);
            i = j;
            continue;
        }
        if (s[i + 1] == '$') {
            if (lit)
                lit("$", 1, ctx);
            i += 2;
            continue;
        }
        size_t n = i + 2;
        if (!is_name_start(s[n])) {
            *bad = n;
            return -1;
        }
        while (is_name_char(s[n]))
            n++;
        if (s[n] != '}' || n - i - 2 > 63) {
            *bad = n;
            return -1;
        }
        int rc = fn ? fn(s + i + 2, n - i - 2, ctx) : 0;
        if (rc)
            return rc;
        i = n + 1;
    }
    return 0;
}

static int count_one(const char *name, size_t len, void *ctx)
{
    (void)name;
    (void)len;
    ++*(size_t *)ctx;
    return 0;
}

/* One setting's JSON value into t: a literal, or text with placeholders. */
static int load_value(struct lsws_tpl *t, size_t idx, json_t *v, unsigned flags, struct lsws_error *err)
{
    const struct lsws_model *m = t->model;
    const char *key = m->settings[idx].key;
    char buf[256];
    if (json_is_string(v) && strchr(json_string_value(v), '$')) {
        const char *s = json_string_value(v);
        size_t n = 0, bad = 0;
        if (walk(s, count_one, NULL, &n, &bad) < 0)
            return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                             "%s: bad placeholder at character %zu: write ${NAME} (letters, digits, "
                             "underscores), or $$ for a '$'", key, bad + 1);
        if (n) {
            if (!(flags & LSWS_TPL_PLACEHOLDERS))
                return lsws_fail(err, LSWS_ERR_INCOMPLETE, SIZE_MAX,
                                 "%s holds a placeholder ('%.100s'): give its value per unit with 'lsws batch "
                                 "--manifest' or '--generate'", key, s);
            if (json_string_length(v) > 200)
                return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: value is too long", key);
            if (!(t->text[idx] = strdup(s)))
                return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
            return LSWS_OK;
        }
        /* only "$$": a literal with its dollars unescaped */
        struct lsws_value val;
        size_t k = 0;
        for (size_t i = 0; s[i] && k + 1 < sizeof buf; i++) {
            buf[k++] = s[i];
            if (s[i] == '$' && s[i + 1] == '$')
                i++;
        }
        buf[k] = '\0';
        int rc = lsws_value_parse(m, idx, buf, &val, err);
        if (rc == LSWS_OK) {
            t->cfg->values[idx] = val;
            t->cfg->present[idx] = 1;
        }
        return rc;
    }
    int rc = json_to_text(m, idx, v, buf, sizeof buf, err);
    if (rc == LSWS_OK)
        rc = lsws_value_parse(m, idx, buf, &t->cfg->values[idx], err);
    if (rc == LSWS_OK)
        t->cfg->present[idx] = 1;
    return rc;
}

static int load_settings(struct lsws_tpl *t, json_t *settings, unsigned flags, const char *text, size_t len,
                         struct lsws_error *err)
{
    const struct lsws_model *m = t->model;
    size_t from = settings_start(text, len);
    const char *key;
    json_t *v;
    json_object_foreach(settings, key, v) {
        int idx = lsws_model_find(m, key);
        int rc;
        if (idx < 0) {
            rc = lsws_fail_unknown_key(err, m, key);
        } else if (m->settings[idx].row->flags & LSWS_F_READONLY) {
            /* A backup holds the whole configuration; read-only settings
             * are skipped when it is applied. */
            if (t->has_backup) {
                t->skipped[t->n_skipped++] = (size_t)idx;
                continue;
            }
            rc = lsws_fail(err, LSWS_ERR_READONLY, SIZE_MAX, "%s is read-only: remove it", key);
        } else {
            rc = load_value(t, (size_t)idx, v, flags, err);
        }
        if (rc != LSWS_OK) {
            locate(text, len, from, key, err);
            return rc;
        }
    }
    return LSWS_OK;
}

/* ---- the backup header ---- */

static int hex16(const char *s)
{
    if (!s || strlen(s) != 16)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return 0;
    return 1;
}

static const char *const backup_keys[] = {"format", "model", "band", "sn", "dev_eui", "firmware_version",
                                          "hardware_version", "taken", "lsws_version", "secrets", NULL};

static int header_string(json_t *b, const char *name, char *out, size_t n, struct lsws_error *err)
{
    json_t *v = json_object_get(b, name);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= n)
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "backup: \"%s\" must be a string of at most %zu characters",
                         name, n - 1);
    snprintf(out, n, "%s", json_string_value(v));
    return LSWS_OK;
}

static int load_backup(struct lsws_tpl *t, json_t *b, struct lsws_error *err)
{
    struct lsws_backup_info *h = &t->backup;
    const char *key;
    json_t *v;
    if (!json_is_object(b))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "\"backup\" must be an object");
    json_object_foreach(b, key, v) {
        int known = 0;
        for (const char *const *k = backup_keys; *k; k++)
            known |= strcmp(*k, key) == 0;
        if (!known)
            return lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX,
                             "backup: unknown key '%s' (expected format, model, band, sn, dev_eui, "
                             "firmware_version, hardware_version, taken, lsws_version, secrets)", key);
    }
    json_t *fmt = json_object_get(b, "format"), *secrets = json_object_get(b, "secrets");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != LSWS_BACKUP_FORMAT)
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "backup: \"format\": %d is missing or wrong",
                         LSWS_BACKUP_FORMAT);
    h->format = LSWS_BACKUP_FORMAT;
    int rc;
    if ((rc = header_string(b, "model", h->model, sizeof h->model, err)) != LSWS_OK ||
        (rc = header_string(b, "band", h->band, sizeof h->band, err)) != LSWS_OK ||
        (rc = header_string(b, "sn", h->sn, sizeof h->sn, err)) != LSWS_OK ||
        (rc = header_string(b, "dev_eui", h->dev_eui, sizeof h->dev_eui, err)) != LSWS_OK ||
        (rc = header_string(b, "firmware_version", h->firmware, sizeof h->firmware, err)) != LSWS_OK ||
        (rc = header_string(b, "hardware_version", h->hardware, sizeof h->hardware, err)) != LSWS_OK ||
        (rc = header_string(b, "taken", h->taken, sizeof h->taken, err)) != LSWS_OK ||
        (rc = header_string(b, "lsws_version", h->lsws_version, sizeof h->lsws_version, err)) != LSWS_OK)
        return rc;
    const struct lsws_model *m = lsws_model_by_name(h->model);
    const struct lsws_band *band = lsws_band_by_name(h->band);
    if (!m || m->id != t->model->id)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "backup: \"model\" is '%s', but the file's model is '%s'",
                         h->model, t->model->name);
    if (!band)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "backup: unknown band '%s'", h->band);
    snprintf(h->model, sizeof h->model, "%s", m->name);
    snprintf(h->band, sizeof h->band, "%s", band->name);
    if (!hex16(h->sn) || !hex16(h->dev_eui))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "backup: \"sn\" and \"dev_eui\" must be 16 hex digits");
    for (char *p = h->sn; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (char *p = h->dev_eui; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!json_is_boolean(secrets))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "backup: \"secrets\" must be true or false");
    h->secrets = json_is_true(secrets);
    return LSWS_OK;
}

/* The header's band and the settings' lorawan.band must agree. */
static int check_backup_band(const struct lsws_tpl *t, struct lsws_error *err)
{
    int b = lsws_model_find(t->model, "lorawan.band");
    if (!t->has_backup || b < 0 || !t->cfg->present[b])
        return LSWS_OK;
    const struct lsws_band *band = lsws_band_at((size_t)t->cfg->values[b].num);
    if (band && strcmp(band->name, t->backup.band) != 0)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "backup: \"band\" is %s, but lorawan.band is %s",
                         t->backup.band, band->name);
    return LSWS_OK;
}

static void json_error_to(struct lsws_error *err, const json_error_t *jerr)
{
    lsws_fail(err, LSWS_ERR_SYNTAX, (size_t)jerr->position, "%s", jerr->text);
    if (err) {
        err->line = jerr->line;
        err->column = jerr->column;
    }
}

int lsws_tpl_parse(const char *text, size_t len, unsigned flags, struct lsws_tpl **out, struct lsws_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        json_error_to(err, &jerr);
        return LSWS_ERR_SYNTAX;
    }
    int rc = LSWS_ERR_SYNTAX;
    struct lsws_tpl *t = NULL;
    if (!json_is_object(root)) {
        lsws_fail(err, rc, 0, "a template is a JSON object");
        goto done;
    }
    if ((rc = check_top_level(root, text, len, err)) != LSWS_OK)
        goto done;
    json_t *model = json_object_get(root, "model"), *settings = json_object_get(root, "settings");
    json_t *backup = json_object_get(root, "backup");
    const struct lsws_model *m = json_is_string(model) ? lsws_model_by_name(json_string_value(model)) : NULL;
    if (!m) {
        rc = lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "\"model\" must be \"ws523\" or \"cth01\"");
        locate(text, len, 0, "model", err);
        goto done;
    }
    if (!json_is_object(settings)) {
        rc = lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "\"settings\" must be an object");
        locate(text, len, 0, "settings", err);
        goto done;
    }
    t = calloc(1, sizeof *t);
    if (!t || (t->model = m, lsws_config_new(m, &t->cfg)) != LSWS_OK ||
        !(t->text = calloc(m->n_settings, sizeof *t->text)) || !(t->skipped = calloc(m->n_settings, sizeof *t->skipped))) {
        rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
        goto done;
    }
    if (backup) {
        t->has_backup = 1;
        if ((rc = load_backup(t, backup, err)) != LSWS_OK) {
            locate(text, len, 0, "backup", err);
            goto done;
        }
    }
    if ((rc = load_settings(t, settings, flags, text, len, err)) != LSWS_OK)
        goto done;
    if ((rc = lsws_config_check(t->cfg, err)) != LSWS_OK || (rc = check_backup_band(t, err)) != LSWS_OK)
        goto done;
    *out = t;
    t = NULL;
done:
    lsws_tpl_free(t);
    json_decref(root);
    return rc;
}

int lsws_template_parse(const char *text, size_t len, struct lsws_config **out, struct lsws_error *err)
{
    struct lsws_tpl *t;
    int rc = lsws_tpl_parse(text, len, 0, &t, err);
    if (rc != LSWS_OK)
        return rc;
    *out = t->cfg; /* no placeholders without LSWS_TPL_PLACEHOLDERS: the values are all */
    t->cfg = NULL;
    lsws_tpl_free(t);
    return LSWS_OK;
}

const struct lsws_model *lsws_tpl_model(const struct lsws_tpl *t)
{
    return t->model;
}

const struct lsws_backup_info *lsws_tpl_backup(const struct lsws_tpl *t)
{
    return t->has_backup ? &t->backup : NULL;
}

const char *lsws_tpl_band(const struct lsws_tpl *t)
{
    if (t->has_backup)
        return t->backup.band;
    int b = lsws_model_find(t->model, "lorawan.band");
    if (b < 0 || !t->cfg->present[b])
        return NULL;
    const struct lsws_band *band = lsws_band_at((size_t)t->cfg->values[b].num);
    return band ? band->name : NULL;
}

int lsws_tpl_has(const struct lsws_tpl *t, size_t idx)
{
    return idx < t->model->n_settings && (t->cfg->present[idx] || t->text[idx]);
}

const struct lsws_value *lsws_tpl_value(const struct lsws_tpl *t, size_t idx)
{
    return idx < t->model->n_settings && t->cfg->present[idx] ? &t->cfg->values[idx] : NULL;
}

const char *lsws_tpl_text(const struct lsws_tpl *t, size_t idx)
{
    return idx < t->model->n_settings ? t->text[idx] : NULL;
}

size_t lsws_tpl_count(const struct lsws_tpl *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->model->n_settings; i++)
        n += lsws_tpl_has(t, i);
    return n;
}

size_t lsws_tpl_skipped(const struct lsws_tpl *t, size_t i, size_t *idx)
{
    if (idx && i < t->n_skipped)
        *idx = t->skipped[i];
    return t->n_skipped;
}

static void drop(struct lsws_tpl *t, size_t i)
{
    t->cfg->present[i] = 0;
    free(t->text[i]);
    t->text[i] = NULL;
}

/* Marks in hit[] what the patterns select; a pattern that selects nothing
 * of the model is an error. */
static int match_all(const struct lsws_model *m, const char *const *pats, size_t n, const char *opt, uint8_t *hit,
                     struct lsws_error *err)
{
    for (size_t p = 0; p < n; p++) {
        if (lsws_model_match(m, pats[p], hit))
            continue;
        const char *near[LSWS_SUGGEST_MAX];
        char hint[200];
        lsws_suggest_format(near, lsws_model_suggest(m, pats[p], near, LSWS_SUGGEST_MAX), hint, sizeof hint);
        return lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX, "%s '%s' matches no setting of %s%s%s", opt, pats[p],
                         m->name, hint[0] ? "; " : "", hint);
    }
    return LSWS_OK;
}

int lsws_tpl_select(struct lsws_tpl *t, const char *const *only, size_t n_only, const char *const *exclude,
                    size_t n_exclude, struct lsws_error *err)
{
    const struct lsws_model *m = t->model;
    if (t->selected)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "a template is selected once");
    uint8_t *in = calloc(m->n_settings, 1), *out = calloc(m->n_settings, 1);
    int rc = in && out ? LSWS_OK : lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    if (rc == LSWS_OK && (rc = match_all(m, only, n_only, "--only", in, err)) == LSWS_OK &&
        (rc = match_all(m, exclude, n_exclude, "--exclude", out, err)) == LSWS_OK) {
        size_t before = lsws_tpl_count(t);
        for (size_t i = 0; i < m->n_settings; i++)
            if ((n_only && !in[i]) || out[i])
                drop(t, i);
        t->selected = 1;
        if (before && !lsws_tpl_count(t))
            rc = lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                           "--only and --exclude leave none of the file's %zu settings", before);
    }
    free(in);
    free(out);
    return rc;
}

/* ---- placeholders: names, filling ---- */

struct each_var {
    const struct lsws_tpl *t;
    size_t idx;
    int (*fn)(const char *name, const char *key, void *ctx);
    void *ctx;
};

static int upper_name(const char *name, size_t len, char *out, size_t n)
{
    size_t i = 0;
    for (; i < len && i + 1 < n; i++)
        out[i] = (char)toupper((unsigned char)name[i]);
    out[i] = '\0';
    return 0;
}

static int find_name(const char *name, size_t len, void *ctx)
{
    char *want = ctx;
    char up[64];
    upper_name(name, len, up, sizeof up);
    return strcmp(up, want) == 0;
}

static int one_var(const char *name, size_t len, void *ctx)
{
    struct each_var *e = ctx;
    char up[64];
    size_t bad;
    upper_name(name, len, up, sizeof up);
    for (size_t j = 0; j < e->idx; j++)
        if (e->t->text[j] && walk(e->t->text[j], find_name, NULL, up, &bad) == 1)
            return 0; /* seen already */
    /* Earlier in the same text? */
    const char *s = e->t->text[e->idx];
    const char *here = name - 2;
    for (const char *p = s; p < here; p++)
        if (p[0] == '$' && p[1] == '{') {
            size_t n = 0;
            while (is_name_char(p[2 + n]))
                n++;
            char other[64];
            upper_name(p + 2, n, other, sizeof other);
            if (strcmp(other, up) == 0)
                return 0;
        }
    return e->fn(up, e->t->model->settings[e->idx].key, e->ctx);
}

int lsws_tpl_each_var(const struct lsws_tpl *t, int (*fn)(const char *name, const char *key, void *ctx), void *ctx)
{
    struct each_var e = {t, 0, fn, ctx};
    for (size_t i = 0; i < t->model->n_settings; i++) {
        if (!t->text[i])
            continue;
        e.idx = i;
        size_t bad;
        int rc = walk(t->text[i], one_var, NULL, &e, &bad); /* no syntax errors: parsed */
        if (rc)
            return rc;
    }
    return 0;
}

struct fill {
    lsws_var_fn *lookup;
    void *ctx;
    char buf[256];
    size_t len;
    int overflow;
    char missing[64];
};

static void fill_text(const char *text, size_t len, void *ctx)
{
    struct fill *f = ctx;
    if (f->len + len >= sizeof f->buf) {
        f->overflow = 1;
        return;
    }
    memcpy(f->buf + f->len, text, len);
    f->len += len;
    f->buf[f->len] = '\0';
}

static int fill_var(const char *name, size_t len, void *ctx)
{
    struct fill *f = ctx;
    char up[64];
    upper_name(name, len, up, sizeof up);
    const char *v = f->lookup ? f->lookup(up, f->ctx) : NULL;
    if (!v) {
        snprintf(f->missing, sizeof f->missing, "%s", up);
        return 1;
    }
    fill_text(v, strlen(v), f);
    return 0;
}

int lsws_tpl_resolve(const struct lsws_tpl *t, lsws_var_fn *lookup, void *ctx, struct lsws_config **out,
                     struct lsws_error *err)
{
    const struct lsws_model *m = t->model;
    struct lsws_config *cfg;
    if (lsws_config_copy(t->cfg, &cfg) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    int rc = LSWS_OK;
    for (size_t i = 0; i < m->n_settings && rc == LSWS_OK; i++) {
        if (!t->text[i])
            continue;
        struct fill f = {.lookup = lookup, .ctx = ctx};
        size_t bad;
        f.buf[0] = '\0';
        if (walk(t->text[i], fill_var, fill_text, &f, &bad) != 0) {
            rc = lsws_fail(err, LSWS_ERR_INCOMPLETE, SIZE_MAX, "%s: placeholder ${%s} has no value", m->settings[i].key,
                           f.missing);
            break;
        }
        if (f.overflow) {
            rc = lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: value is too long once filled", m->settings[i].key);
            break;
        }
        struct lsws_error verr;
        lsws_error_clear(&verr);
        if ((rc = lsws_value_parse(m, i, f.buf, &cfg->values[i], &verr)) != LSWS_OK) {
            lsws_fail(err, rc, SIZE_MAX, "%s (filled from '%s')", verr.msg, t->text[i]);
            break;
        }
        cfg->present[i] = 1;
        explicit_bzero(f.buf, sizeof f.buf);
    }
    if (rc == LSWS_OK)
        rc = lsws_config_check(cfg, err);
    if (rc != LSWS_OK) {
        explicit_bzero(cfg->values, m->n_settings * sizeof *cfg->values);
        lsws_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return LSWS_OK;
}

void lsws_tpl_hash(const struct lsws_tpl *t, char out[LSWS_HASH_HEX])
{
    const struct lsws_model *m = t->model;
    struct lsws_sha256 s;
    lsws_sha256_init(&s);
    lsws_sha256_update(&s, "lsws-template-1\n", 16);
    lsws_sha256_update(&s, m->name, strlen(m->name));
    lsws_sha256_update(&s, "\n", 1);
    for (size_t i = 0; i < m->n_settings; i++) {
        char buf[256];
        if (!lsws_tpl_has(t, i))
            continue;
        if (t->text[i])
            snprintf(buf, sizeof buf, "%s\tT\t%s\n", m->settings[i].key, t->text[i]);
        else {
            char v[200];
            lsws_value_format(m, i, &t->cfg->values[i], v, sizeof v);
            snprintf(buf, sizeof buf, "%s\tV\t%s\n", m->settings[i].key, v);
        }
        lsws_sha256_update(&s, buf, strlen(buf));
        explicit_bzero(buf, sizeof buf);
    }
    lsws_sha256_hex(&s, out);
}

#define SAME_UNITS_ONLY "backups and templates go only to units of the same model and band"

int lsws_tpl_check_unit(const struct lsws_tpl *t, const struct lsws_device_info *info, const char *uri,
                        struct lsws_error *err)
{
    const struct lsws_model *dm = lsws_model_get(info->model);
    if (t->model->id != info->model)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "the file is for a %s, but '%s' is a %s: " SAME_UNITS_ONLY,
                         t->model->name, uri, dm ? dm->name : "unit of another model");
    const char *band = lsws_tpl_band(t);
    const struct lsws_band *ub = lsws_band_at(info->band);
    if (band && ub && strcmp(band, ub->name) != 0)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX,
                         "the file is for %s, but '%s' is on %s: " SAME_UNITS_ONLY
                         " (to move the unit to %s, use 'lsws set lorawan.band=%s' first)",
                         band, uri, ub->name, band, band);
    return LSWS_OK;
}

/* The JSON form of one value (shared with the CLI's --json output). */
json_t *lsws_value_to_json(const struct lsws_model *m, size_t idx, const struct lsws_value *v)
{
    const struct lsws_row *row = m->settings[idx].row;
    char buf[512];
    switch (row->type) {
    case LSWS_T_BOOL:
        return json_boolean(v->num);
    case LSWS_T_UINT:
    case LSWS_T_INT:
        if (!row->scale)
            return json_integer(v->num);
        return json_real((double)v->num / pow(10, row->scale));
    default:
        lsws_value_format(m, idx, v, buf, sizeof buf);
        return json_string(buf);
    }
}

int lsws_template_render(const struct lsws_config *cfg, unsigned flags, char **out)
{
    const struct lsws_model *m = cfg->model;
    json_t *root = json_object(), *settings = json_object();
    if (!root || !settings) {
        json_decref(root);
        json_decref(settings);
        return LSWS_ERR_NOMEM;
    }
    json_object_set_new(root, "lsws_template", json_integer(LSWS_TEMPLATE_FORMAT));
    json_object_set_new(root, "model", json_string(m->name));
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!cfg->present[i])
            continue;
        json_t *v = (flags & LSWS_TPL_REDACT) && (m->settings[i].row->flags & LSWS_F_SECRET)
                        ? json_string(LSWS_REDACTED)
                        : lsws_value_to_json(m, i, &cfg->values[i]);
        json_object_set_new(settings, m->settings[i].key, v);
    }
    json_object_set_new(root, "settings", settings);
    return lsws_json_document(root, out);
}

int lsws_json_document(json_t *root, char **out)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(root);
    if (!text)
        return LSWS_ERR_NOMEM;
    size_t n = strlen(text);
    char *with_nl = realloc(text, n + 2);
    if (!with_nl) {
        free(text);
        return LSWS_ERR_NOMEM;
    }
    with_nl[n] = '\n';
    with_nl[n + 1] = '\0';
    *out = with_nl;
    return LSWS_OK;
}
