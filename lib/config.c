/* Configurations: a value slot per setting of a model, defaults, and the
 * rules that tie settings together. */
#include "model_rows.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lsws_config_new(const struct lsws_model *model, struct lsws_config **out)
{
    struct lsws_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return LSWS_ERR_NOMEM;
    cfg->model = model;
    cfg->values = calloc(model->n_settings, sizeof *cfg->values);
    cfg->present = calloc(model->n_settings, 1);
    if (!cfg->values || !cfg->present) {
        lsws_config_free(cfg);
        return LSWS_ERR_NOMEM;
    }
    *out = cfg;
    return LSWS_OK;
}

void lsws_config_free(struct lsws_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->values);
    free(cfg->present);
    free(cfg);
}

int lsws_config_copy(const struct lsws_config *src, struct lsws_config **out)
{
    int rc = lsws_config_new(src->model, out);
    if (rc != LSWS_OK)
        return rc;
    memcpy((*out)->values, src->values, src->model->n_settings * sizeof *src->values);
    memcpy((*out)->present, src->present, src->model->n_settings);
    return LSWS_OK;
}

size_t lsws_config_count(const struct lsws_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->model->n_settings; i++)
        n += cfg->present[i];
    return n;
}

int lsws_config_set(struct lsws_config *cfg, const char *key, const char *text,
                    struct lsws_error *err)
{
    int idx = lsws_model_find(cfg->model, key);
    if (idx < 0)
        return lsws_fail_unknown_key(err, cfg->model, key);
    struct lsws_value v;
    int rc = lsws_value_parse(cfg->model, (size_t)idx, text, &v, err);
    if (rc != LSWS_OK)
        return rc;
    cfg->values[idx] = v;
    cfg->present[idx] = 1;
    return LSWS_OK;
}

/* ---- KEY=VALUE assignments (command lines, manifests) ---------------------- */

#define KEY_MAX 64

/* The key of "KEY=VALUE" into key[KEY_MAX]; the value, or NULL when the
 * text is not KEY=VALUE (a key too long for any model reads as unknown). */
static const char *split_assignment(const char *text, char *key, struct lsws_error *err)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "'%s' is not KEY=VALUE", text);
        return NULL;
    }
    snprintf(key, KEY_MAX, "%.*s", (int)(eq - text), text);
    return eq + 1;
}

int lsws_config_assign(struct lsws_config *cfg, const char *assignment, struct lsws_error *err)
{
    char key[KEY_MAX];
    const char *value = split_assignment(assignment, key, err);
    if (!value)
        return LSWS_ERR_SYNTAX;
    int idx = lsws_model_find(cfg->model, key);
    /* The last of two values must not win silently: one was a mistake. */
    if (idx >= 0 && cfg->present[idx])
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s is given twice", key);
    return lsws_config_set(cfg, key, value, err);
}

/* Suggestions from every model that is near key, without repeats. */
static void suggest_any_model(const char *key, char *hint, size_t n)
{
    const char *all[LSWS_SUGGEST_MAX * LSWS_MODEL_COUNT];
    size_t count = 0;
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const char *near[LSWS_SUGGEST_MAX];
        size_t k = lsws_model_suggest(lsws_model_get((enum lsws_model_id)m), key, near, LSWS_SUGGEST_MAX);
        for (size_t i = 0; i < k; i++) {
            size_t j = 0;
            while (j < count && strcmp(all[j], near[i]) != 0)
                j++;
            if (j == count && count < LSWS_SUGGEST_MAX)
                all[count++] = near[i];
        }
    }
    lsws_suggest_format(all, count, hint, n);
}

/* One value against every model that has the key: OK when one accepts it.
 * Else the error gives what each model says, each naming its model, so no
 * model's rule is passed off as another's. */
static int value_any_model(const char *key, const char *value, struct lsws_error *err)
{
    struct lsws_error why[LSWS_MODEL_COUNT];
    const char *names[LSWS_MODEL_COUNT];
    size_t known = 0, klen = strlen(key);
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const struct lsws_model *model = lsws_model_get((enum lsws_model_id)m);
        int idx = lsws_model_find(model, key);
        struct lsws_value v;
        if (idx < 0)
            continue;
        lsws_error_clear(&why[known]);
        if (lsws_value_parse(model, (size_t)idx, value, &v, &why[known]) == LSWS_OK)
            return LSWS_OK;
        names[known++] = model->name;
    }
    if (!known) {
        char hint[200];
        suggest_any_model(key, hint, sizeof hint);
        return lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX, "unknown setting '%s'%s%s", key,
                         hint[0] ? "; " : "", hint);
    }
    int same = 1;
    for (size_t i = 1; i < known; i++)
        same &= strcmp(why[i].msg, why[0].msg) == 0;
    if (same) {
        if (err)
            *err = why[0];
        return why[0].code;
    }
    /* Each message is "KEY: what is wrong": keep one KEY. */
    char text[sizeof err->msg];
    size_t used = (size_t)snprintf(text, sizeof text, "%s:", key);
    for (size_t i = 0; i < known && used < sizeof text; i++) {
        const char *what = strncmp(why[i].msg, key, klen) == 0 && why[i].msg[klen] == ':' ? why[i].msg + klen + 2
                                                                                           : why[i].msg;
        used += (size_t)snprintf(text + used, sizeof text - used, "%s on %s, %s", i ? ";" : "", names[i], what);
    }
    return lsws_fail(err, why[0].code, SIZE_MAX, "%s", text);
}

int lsws_assignments_check(int n, char *const *assignments, struct lsws_error *err)
{
    for (int i = 0; i < n; i++) {
        char key[KEY_MAX], other[KEY_MAX];
        const char *value = split_assignment(assignments[i], key, err);
        if (!value)
            return LSWS_ERR_SYNTAX;
        for (int j = 0; j < i; j++)
            if (split_assignment(assignments[j], other, NULL) && strcmp(key, other) == 0)
                return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s is given twice", key);
        int rc = value_any_model(key, value, err);
        if (rc != LSWS_OK)
            return rc;
    }
    return LSWS_OK;
}

/* ---- defaults ------------------------------------------------------------ */

/* Text of a default that derives from the band or from the unit; buf holds
 * it. Returns NULL when it cannot be known (no identity). */
static const char *derived_default(const struct lsws_setting *s, const struct lsws_band *band,
                                   const struct lsws_identity *id, char *buf, size_t n)
{
    const char *key = s->key;
    if (strcmp(key, "lorawan.band") == 0)
        return band->name;
    if (strcmp(key, "lorawan.channels") == 0)
        return band->channels_default;
    if (strcmp(key, "lorawan.rx2_data_rate") == 0)
        return snprintf(buf, n, "%u", band->rx2_dr), buf;
    if (strcmp(key, "lorawan.rx2_frequency") == 0)
        return snprintf(buf, n, "%u", (unsigned)band->rx2_freq), buf;
    if (!id)
        return NULL;
    /* App Key: DevEUI + DevEUI; DevAddr: SN digits 5-12; Bluetooth name:
     * model-SN digits 5-11 (guides, LoRaWAN settings and BLE access). */
    if (strcmp(key, "lorawan.app_key") == 0) {
        char eui[17];
        lsws_hex_format(id->dev_eui, 8, eui);
        return snprintf(buf, n, "%s%s", eui, eui), buf;
    }
    if (strcmp(key, "lorawan.dev_addr") == 0)
        return snprintf(buf, n, "%.8s", id->sn + 4), buf;
    if (strcmp(key, "bluetooth.name") == 0) {
        snprintf(buf, n, "CTH01-%.7s", id->sn + 4);
        for (char *p = buf; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        return buf;
    }
    return NULL;
}

int lsws_config_defaults(struct lsws_config *cfg, const char *band_name,
                         const struct lsws_identity *id, struct lsws_error *err)
{
    const struct lsws_band *band = lsws_band_by_name(band_name ? band_name : "EU868");
    if (!band)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "unknown band '%s'", band_name);
    const struct lsws_model *m = cfg->model;
    for (size_t i = 0; i < m->n_settings; i++) {
        const struct lsws_setting *s = &m->settings[i];
        char buf[64];
        const char *text = lsws_setting_default(s);
        if (!text)
            text = derived_default(s, band, id, buf, sizeof buf);
        if (!text) {
            cfg->present[i] = 0;
            continue;
        }
        int rc = lsws_value_parse(m, i, text, &cfg->values[i], err);
        if (rc != LSWS_OK)
            return rc; /* a bad default is a table bug; test_model catches it */
        cfg->present[i] = 1;
    }
    return LSWS_OK;
}

/* ---- rules between settings ---------------------------------------------------- */

static const struct lsws_value *get(const struct lsws_config *cfg, const char *key)
{
    int i = lsws_model_find(cfg->model, key);
    return i >= 0 && cfg->present[i] ? &cfg->values[i] : NULL;
}

/* Wire value of an enum name of a setting, from the table (-1 if none). */
static int64_t enum_value(const struct lsws_model *m, size_t idx, const char *name)
{
    for (const struct lsws_enum *e = m->settings[idx].row->enums; e && e->name; e++)
        if (strcmp(e->name, name) == 0)
            return e->value;
    return -1;
}

static const struct lsws_band *band_of(const struct lsws_config *cfg)
{
    const struct lsws_value *v = get(cfg, "lorawan.band");
    return v ? lsws_band_at((size_t)v->num) : NULL;
}

static int popcount_channels(const struct lsws_value *v, int *highest)
{
    int n = 0;
    *highest = -1;
    for (int c = 0; c < 96; c++)
        if (v->bytes[c / 8] >> (c % 8) & 1) {
            n++;
            *highest = c;
        }
    return n;
}

static int rule_channels_in_band(const struct lsws_config *cfg, struct lsws_error *err)
{
    const struct lsws_value *ch = get(cfg, "lorawan.channels");
    const struct lsws_band *band = band_of(cfg);
    int highest;
    if (!ch || !band || ch->num)
        return LSWS_OK;
    popcount_channels(ch, &highest);
    if (highest >= (int)band->channels)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "lorawan.channels: channel %d does not exist in %s (channels 0-%u)", highest,
                         band->name, band->channels - 1);
    return LSWS_OK;
}

static int rule_rx2_in_band(const struct lsws_config *cfg, struct lsws_error *err)
{
    const struct lsws_value *f = get(cfg, "lorawan.rx2_frequency");
    const struct lsws_band *band = band_of(cfg);
    if (f && band && (f->num < band->freq_min || f->num > band->freq_max))
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "lorawan.rx2_frequency: %lld Hz is outside %s (%u..%u Hz)", (long long)f->num,
                         band->name, (unsigned)band->freq_min, (unsigned)band->freq_max);
    return LSWS_OK;
}

/* Single-Channel mode: "only one channel can be selected" (WS523 guide). */
static int rule_single_channel(const struct lsws_config *cfg, struct lsws_error *err)
{
    const struct lsws_value *mode = get(cfg, "lorawan.channel_mode");
    const struct lsws_value *ch = get(cfg, "lorawan.channels");
    int highest, idx = lsws_model_find(cfg->model, "lorawan.channel_mode");
    if (mode && mode->num == enum_value(cfg->model, (size_t)idx, "single") && ch &&
        (ch->num || popcount_channels(ch, &highest) != 1))
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "lorawan.channels: single-channel mode needs exactly one channel");
    return LSWS_OK;
}

/* "Alarm reporting interval must be shorter than the reporting interval"
 * (CTH01 guide, Configure Threshold Parameters). */
static int rule_alarm_interval(const struct lsws_config *cfg, struct lsws_error *err)
{
    const struct lsws_value *alarm = get(cfg, "alarm.interval");
    const struct lsws_value *report = get(cfg, "general.report_interval");
    if (alarm && report && cfg->model->id == LSWS_MODEL_CTH01 && alarm->num >= report->num)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "alarm.interval: %lld min must be shorter than general.report_interval "
                         "(%lld min)", (long long)alarm->num, (long long)report->num);
    return LSWS_OK;
}

/* 4000 A is a group range: all three channels of a group or none (CTH01
 * guide, Configure Interface Parameters). */
static int rule_4000a_group(const struct lsws_config *cfg, struct lsws_error *err)
{
    if (cfg->model->id != LSWS_MODEL_CTH01)
        return LSWS_OK;
    for (int g = 0; g < 4; g++) {
        int n4000 = 0, known = 0;
        for (int c = 0; c < 3; c++) {
            char key[48];
            snprintf(key, sizeof key, "interface.current[%d].range", g * 3 + c + 1);
            int idx = lsws_model_find(cfg->model, key);
            const struct lsws_value *v = get(cfg, key);
            known += v != NULL;
            n4000 += v && v->num == enum_value(cfg->model, (size_t)idx, "4000a");
        }
        if (n4000 && n4000 != known)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "interface.current[%d-%d].range: 4000a applies to the whole group %c: "
                             "set all three channels to 4000a or none", g * 3 + 1, g * 3 + 3, 'a' + g);
    }
    return LSWS_OK;
}

/* Within/outside conditions need min <= max. */
static int rule_threshold_order(const struct lsws_config *cfg, struct lsws_error *err)
{
    const struct lsws_model *m = cfg->model;
    for (size_t i = 0; i < m->n_settings; i++) {
        const char *key = m->settings[i].key;
        size_t len = strlen(key);
        if (!cfg->present[i] || len < 10 || strcmp(key + len - 10, ".condition") != 0)
            continue;
        if (cfg->values[i].num != enum_value(m, i, "within") && cfg->values[i].num != enum_value(m, i, "outside"))
            continue;
        char kmin[48], kmax[48];
        snprintf(kmin, sizeof kmin, "%.*s.min", (int)(len - 10), key);
        snprintf(kmax, sizeof kmax, "%.*s.max", (int)(len - 10), key);
        const struct lsws_value *lo = get(cfg, kmin), *hi = get(cfg, kmax);
        if (lo && hi && lo->num > hi->num)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: min is above max", kmin);
    }
    return LSWS_OK;
}

static int (*const rules[])(const struct lsws_config *, struct lsws_error *) = {
    rule_channels_in_band, rule_rx2_in_band,    rule_single_channel,
    rule_alarm_interval,   rule_4000a_group,    rule_threshold_order,
};

int lsws_config_check(const struct lsws_config *cfg, struct lsws_error *err)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        int rc = rules[i](cfg, err);
        if (rc != LSWS_OK)
            return rc;
    }
    return LSWS_OK;
}
