/* Exports of the ledger for network servers (docs/fleet.md): the newest ok
 * record of each unit, with the LoRaWAN identity and root key it holds.
 *   tts-csv     The Things Stack CSV import: semicolon-separated, a header row
 *   tts-json    The Things Stack JSON import: a stream of end-device objects
 *   chirpstack  ChirpStack v4: an array of {device, device_keys} objects as its
 *               API creates them; for LoRaWAN 1.0.x the AppKey is nwk_key
 *   csv         plain CSV, one row per unit, every field */
#include "fleet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {
    [LSWS_EXPORT_TTS_CSV] = "tts-csv", [LSWS_EXPORT_TTS_JSON] = "tts-json",
    [LSWS_EXPORT_CHIRPSTACK] = "chirpstack", [LSWS_EXPORT_CSV] = "csv"};

int lsws_export_format_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (strcmp(format_names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *lsws_export_format_name(enum lsws_export_format f)
{
    return (unsigned)f < sizeof format_names / sizeof format_names[0] ? format_names[f] : "?";
}

/* ---- a growing text buffer ---- */

struct out {
    char *buf;
    size_t len, cap;
    int oom;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *more = realloc(o->buf, cap);
        if (!more) {
            o->oom = 1;
            return;
        }
        o->buf = more;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* One CSV field, quoted only when it holds the delimiter, a quote or a line end. */
static void field(struct out *o, const char *s, char delim, int last)
{
    if (strchr(s, delim) || strpbrk(s, "\"\r\n")) {
        put(o, "\"", 1);
        for (const char *p = s; *p; p++) {
            put(o, p, 1);
            if (*p == '"')
                put(o, "\"", 1); /* a quote is doubled */
        }
        put(o, "\"", 1);
    } else {
        puts_(o, s);
    }
    put(o, last ? "\n" : &delim, 1);
}

/* ---- what a unit's record says ---- */

struct unit {
    const struct lsws_ledger_record *rec;
    const struct lsws_model *model;
    char join_eui[17], app_key[33], band[8], channels[320], version[8], join_type[8];
    char plan[40], mac[16], phy[24], band_id[16];
    const char *model_id; /* The Things Network device repository; "" when not in it */
};

static void text_of(json_t *net, const char *key, char *out, size_t n)
{
    json_t *v = json_object_get(net, key);
    lsws_copy(out, n, json_is_string(v) ? json_string_value(v) : "");
}

struct band_plan {
    const char *band, *plan, *band_id; /* plan: the fixed one, or a prefix for "_FSB_n" */
    int fsb;                           /* sub-bands of 8 channels (0: a fixed plan) */
};
/* The Things Stack's frequency plans (lorawan-frequency-plans): the band's
 * default, and for the bands configured by channel list the sub-band the
 * unit's channels are. */
static const struct band_plan plans[] = {
    {"EU868", "EU_863_870", "EU_863_870", 0},  {"US915", "US_902_928_FSB_", "US_902_928", 8},
    {"AU915", "AU_915_928_FSB_", "AU_915_928", 8}, {"CN470", "CN_470_510_FSB_", "CN_470_510", 12},
    {"AS923", "AS_923", "AS_923", 0},          {"KR920", "KR_920_923_TTN", "KR_920_923", 0},
    {"IN865", "IN_865_867", "IN_865_867", 0},  {"RU864", "RU_864_870_TTN", "RU_864_870", 0},
};

/* The sub-band (1-based) the channel list is: 8 consecutive channels from
 * 8(n-1), and for US915/AU915 optionally the 500 kHz channel 64+(n-1). 0
 * when it is not one. */
static int sub_band(const struct lsws_model *m, const char *channels, int n_fsb, int with_500k)
{
    int idx = lsws_model_find(m, "lorawan.channels");
    struct lsws_value v;
    if (idx < 0 || lsws_value_parse(m, (size_t)idx, channels, &v, NULL) != LSWS_OK || v.num)
        return 0;
    int first = -1, count = 0, extra = -1;
    for (int ch = 0; ch < 96; ch++) {
        if (!(v.bytes[ch / 8] >> (ch % 8) & 1))
            continue;
        if (with_500k && ch >= 64)
            extra = extra < 0 ? ch : 999;
        else if (first < 0)
            first = ch, count = 1;
        else if (ch == first + count)
            count++;
        else
            return 0;
    }
    if (count != 8 || first % 8 || first / 8 >= n_fsb)
        return 0;
    int n = first / 8 + 1;
    return extra < 0 || extra == 64 + n - 1 ? n : 0;
}

static int describe(const struct lsws_ledger_record *r, const struct lsws_export_opts *o, struct unit *u,
                    struct lsws_error *err)
{
    memset(u, 0, sizeof *u);
    u->rec = r;
    u->model = lsws_model_by_name(r->model);
    json_error_t jerr;
    json_t *net = r->network ? json_loads(r->network, 0, &jerr) : NULL;
    if (!u->model || !json_is_object(net)) {
        json_decref(net);
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "ledger record %lld (unit %s) has no network settings",
                         (long long)r->id, r->sn);
    }
    text_of(net, "lorawan.app_eui", u->join_eui, sizeof u->join_eui);
    text_of(net, "lorawan.app_key", u->app_key, sizeof u->app_key);
    text_of(net, "lorawan.band", u->band, sizeof u->band);
    text_of(net, "lorawan.channels", u->channels, sizeof u->channels);
    text_of(net, "lorawan.version", u->version, sizeof u->version);
    text_of(net, "lorawan.join_type", u->join_type, sizeof u->join_type);
    json_decref(net);
    if (!u->band[0])
        lsws_copy(u->band, sizeof u->band, r->band);
    /* v1.0.2 -> MAC_V1_0_2 + RP001 1.0.2 rev B; v1.0.3 -> MAC_V1_0_3 + RP001 1.0.3 rev A */
    int v102 = strcmp(u->version, "v1.0.2") == 0;
    lsws_copy(u->mac, sizeof u->mac, v102 ? "MAC_V1_0_2" : "MAC_V1_0_3");
    lsws_copy(u->phy, sizeof u->phy, v102 ? "PHY_V1_0_2_REV_B" : "PHY_V1_0_3_REV_A");
    u->model_id = u->model->id == LSWS_MODEL_WS523 ? "ws52x" : "";
    const struct band_plan *p = NULL;
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++)
        if (strcmp(plans[i].band, u->band) == 0)
            p = &plans[i];
    if (!p)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "unit %s: unknown band '%s'", r->sn, u->band);
    lsws_copy(u->band_id, sizeof u->band_id, p->band_id);
    if (o->frequency_plan && *o->frequency_plan) {
        lsws_copy(u->plan, sizeof u->plan, o->frequency_plan);
    } else if (!p->fsb) {
        lsws_copy(u->plan, sizeof u->plan, p->plan);
    } else {
        int n = sub_band(u->model, u->channels, p->fsb, strcmp(p->band, "CN470") != 0);
        if (!n)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "unit %s: its %s channels '%s' are not one sub-band of 8, so no frequency plan "
                             "follows from them: give --frequency-plan", r->sn, u->band, u->channels);
        snprintf(u->plan, sizeof u->plan, "%s%d", p->plan, n);
    }
    return LSWS_OK;
}

/* ---- the formats ---- */

static void tts_csv_header(struct out *o)
{
    puts_(o, "id;dev_eui;join_eui;name;frequency_plan_id;lorawan_version;lorawan_phy_version;brand_id;model_id;"
             "supports_class_c;app_key\n");
}

static void tts_csv_row(struct out *o, const struct unit *u)
{
    char id[64];
    snprintf(id, sizeof id, "%s-%s", u->model->name, u->rec->sn);
    field(o, id, ';', 0);
    field(o, u->rec->dev_eui, ';', 0);
    field(o, u->join_eui, ';', 0);
    field(o, id, ';', 0);
    field(o, u->plan, ';', 0);
    field(o, u->mac, ';', 0);
    field(o, u->phy, ';', 0);
    field(o, u->model_id[0] ? "milesight-iot" : "", ';', 0);
    field(o, u->model_id, ';', 0);
    field(o, "true", ';', 0); /* both models work in Class C (lorawan.work_mode) */
    field(o, u->app_key, ';', 1);
}

static void json_line(struct out *o, json_t *obj, size_t flags)
{
    char *text = obj ? json_dumps(obj, flags | JSON_PRESERVE_ORDER) : NULL;
    if (!text) {
        o->oom = 1;
    } else {
        puts_(o, text);
        explicit_bzero(text, strlen(text));
        free(text);
    }
    json_decref(obj);
}

static void tts_json(struct out *o, const struct unit *u)
{
    char id[64];
    snprintf(id, sizeof id, "%s-%s", u->model->name, u->rec->sn);
    json_t *dev = json_pack("{s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:{s:{s:s}}}", "ids", "device_id",
                            id, "dev_eui", u->rec->dev_eui, "join_eui", u->join_eui, "name", id, "description",
                            u->model->title, "lorawan_version", u->mac, "lorawan_phy_version", u->phy,
                            "frequency_plan_id", u->plan, "supports_join", 1, "supports_class_c", 1, "root_keys",
                            "app_key", "key", u->app_key);
    if (dev && u->model_id[0])
        json_object_set_new(dev, "version_ids",
                            json_pack("{s:s, s:s}", "brand_id", "milesight-iot", "model_id", u->model_id));
    json_line(o, dev, JSON_INDENT(2));
    puts_(o, "\n");
}

static json_t *chirpstack(const struct unit *u)
{
    char name[64];
    snprintf(name, sizeof name, "%s-%s", u->model->name, u->rec->sn);
    /* application_id and device_profile_id belong to the server: left empty to be set there. */
    return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}, s:{s:s, s:s}}", "device", "dev_eui",
                     u->rec->dev_eui, "join_eui", u->join_eui, "name", name, "description", u->model->title,
                     "application_id", "", "device_profile_id", "", "tags", "sn", u->rec->sn, "model",
                     u->model->name, "lorawan_version", u->version, "device_keys", "dev_eui", u->rec->dev_eui,
                     "nwk_key", u->app_key);
}

static void csv_header(struct out *o)
{
    puts_(o, "sn,dev_eui,join_eui,app_key,model,band,channels,lorawan_version,join_type,firmware,hardware,"
             "template_hash,record,provisioned,operator,station\n");
}

static void csv_row(struct out *o, const struct unit *u)
{
    const struct lsws_ledger_record *r = u->rec;
    char id[24], when[40];
    snprintf(id, sizeof id, "%lld", (long long)r->id);
    lsws_iso_time(r->finished_ms, when, sizeof when);
    const char *cells[] = {r->sn,       r->dev_eui,  u->join_eui,      u->app_key, r->model,         u->band,
                           u->channels, u->version,  u->join_type,     r->firmware, r->hardware,     r->template_hash,
                           id,          when,        r->operator_name, r->station};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        field(o, cells[i], ',', i + 1 == sizeof cells / sizeof cells[0]);
}

struct export_ctx {
    enum lsws_export_format f;
    struct lsws_export_opts *o;
    struct out out;
    json_t *array;
    struct lsws_error *err;
    int rc;
};

static int one(const struct lsws_ledger_record *r, void *arg)
{
    struct export_ctx *x = arg;
    struct unit u;
    if ((x->rc = describe(r, x->o, &u, x->err)) != LSWS_OK)
        return 1;
    if (strcmp(u.join_type, "otaa") != 0 || !u.app_key[0]) {
        x->o->skipped++; /* ABP: joins with session keys, not an AppKey */
        return 0;
    }
    switch (x->f) {
    case LSWS_EXPORT_TTS_CSV:
        tts_csv_row(&x->out, &u);
        break;
    case LSWS_EXPORT_TTS_JSON:
        tts_json(&x->out, &u);
        break;
    case LSWS_EXPORT_CHIRPSTACK:
        json_array_append_new(x->array, chirpstack(&u));
        break;
    case LSWS_EXPORT_CSV:
        csv_row(&x->out, &u);
        break;
    }
    x->o->units++;
    return 0;
}

int lsws_ledger_export(struct lsws_ledger *l, enum lsws_export_format f, struct lsws_export_opts *o, char **out,
                       size_t *len, struct lsws_error *err)
{
    struct export_ctx x = {.f = f, .o = o, .err = err, .rc = LSWS_OK};
    o->units = o->skipped = 0;
    if (f == LSWS_EXPORT_TTS_CSV)
        tts_csv_header(&x.out);
    else if (f == LSWS_EXPORT_CSV)
        csv_header(&x.out);
    else if (f == LSWS_EXPORT_CHIRPSTACK && !(x.array = json_array()))
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    struct lsws_ledger_filter filter = {NULL, 0, LSWS_LEDGER_OK, 1};
    int rc = lsws_ledger_each(l, &filter, one, &x, err);
    if (rc == 1)
        rc = x.rc;
    if (rc == LSWS_OK && f == LSWS_EXPORT_CHIRPSTACK) {
        json_line(&x.out, x.array, JSON_INDENT(2));
        x.array = NULL;
        puts_(&x.out, "\n");
    }
    json_decref(x.array);
    if (rc == LSWS_OK && x.out.oom)
        rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    if (rc == LSWS_OK && !x.out.buf)
        puts_(&x.out, ""); /* an empty JSON stream */
    if (rc != LSWS_OK) {
        if (x.out.buf)
            explicit_bzero(x.out.buf, x.out.len);
        free(x.out.buf);
        return rc;
    }
    *out = x.out.buf ? x.out.buf : strdup("");
    *len = x.out.len;
    return *out ? LSWS_OK : lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
}
