/* JSON templates: the vendor app's "Set Template" idea as a file lsws can
 * lint, diff and write. Format (docs/templates.md):
 *   {"lsws_template": 1, "model": "ws523", "settings": {"dotted.key": value}}
 * Values are JSON booleans, numbers (integers, or decimals for fixed-point
 * settings) and strings (enums, hex, text, channel lists, UTC offsets). */
#include "model_rows.h"

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
                                             "created", "device", NULL};

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
                      "comment, created, device)", key);
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

static int load_settings(struct lsws_config *cfg, json_t *settings, const char *text, size_t len,
                         struct lsws_error *err)
{
    size_t from = settings_start(text, len);
    const char *key;
    json_t *v;
    json_object_foreach(settings, key, v) {
        int idx = lsws_model_find(cfg->model, key);
        int rc;
        char buf[256];
        if (idx < 0) {
            rc = lsws_fail_unknown_key(err, cfg->model, key);
        } else if (cfg->model->settings[idx].row->flags & LSWS_F_READONLY) {
            rc = lsws_fail(err, LSWS_ERR_READONLY, SIZE_MAX, "%s is read-only: remove it", key);
        } else {
            rc = json_to_text(cfg->model, (size_t)idx, v, buf, sizeof buf, err);
            if (rc == LSWS_OK)
                rc = lsws_value_parse(cfg->model, (size_t)idx, buf, &cfg->values[idx], err);
        }
        if (rc != LSWS_OK) {
            locate(text, len, from, key, err);
            return rc;
        }
        cfg->present[idx] = 1;
    }
    return LSWS_OK;
}

int lsws_template_parse(const char *text, size_t len, struct lsws_config **out,
                        struct lsws_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        lsws_fail(err, LSWS_ERR_SYNTAX, (size_t)jerr.position, "%s", jerr.text);
        if (err) {
            err->line = jerr.line;
            err->column = jerr.column;
        }
        return LSWS_ERR_SYNTAX;
    }
    int rc = LSWS_ERR_SYNTAX;
    struct lsws_config *cfg = NULL;
    if (!json_is_object(root)) {
        lsws_fail(err, rc, 0, "a template is a JSON object");
        goto done;
    }
    if ((rc = check_top_level(root, text, len, err)) != LSWS_OK)
        goto done;
    json_t *model = json_object_get(root, "model"), *settings = json_object_get(root, "settings");
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
    if ((rc = lsws_config_new(m, &cfg)) != LSWS_OK)
        goto done;
    if ((rc = load_settings(cfg, settings, text, len, err)) != LSWS_OK)
        goto done;
    if ((rc = lsws_config_check(cfg, err)) != LSWS_OK)
        goto done;
    *out = cfg;
    cfg = NULL;
done:
    lsws_config_free(cfg);
    json_decref(root);
    return rc;
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
