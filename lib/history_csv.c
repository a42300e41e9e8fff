/* The CSV layout of decoded uplinks and CTH01 history records, shared by
 * `lsws history` and `lsws decode --csv` (docs/history.md, "CSV").
 *
 * One header row, names carrying their units (current_ch1_A,
 * voltage_l1_V, active_energy_import_ch1_Wh); only the columns the records
 * fill, always in the order of the table below (the order of the CTH01
 * commands, guide ch.5 "Periodic Data Packet" and "Alarm Report"), so the
 * same records give the same file. One row per record: the `ed` records of
 * one monthly summary (the guide sends one per command) are one row, and
 * each alarm is a row of its own. Fields are written with libcsv's
 * csv_fwrite, which quotes every field; lines end in CRLF (RFC 4180).
 * Values are the decoder's, with exactly their decimals ("103.00"). */
#include "lsws.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#define CELL 40
#define COLS_MAX 160
#define ALARMS_MAX LSWS_UPLINK_MAX

/* One quantity: its decode name, its CSV name, unit suffix and channels. */
struct qty {
    const char *reading;
    const char *csv;
    const char *unit;   /* "" for none */
    uint8_t channels;   /* 0: one column */
    char index;         /* 'c': _chN, 'l': _lN (voltage phase), 'g': _a.._d (group) */
    const char *what;
};

/* The columns before the quantities. */
enum { C_TIME, C_UNIX, C_RECORD, C_ALARM, C_ALARM_CH, C_ALARM_TYPE, C_FIXED };
static const struct lsws_csv_column fixed[C_FIXED] = {
    {"time", NULL, 0, "record time, ISO 8601 (UTC, or --tz); empty for live uplinks"},
    {"unix_time_s", NULL, 0, "record time, Unix seconds"},
    {"record", NULL, 0, "periodic, alarm, monthly_energy, monthly_min, monthly_max, monthly or live; only when "
                        "the rows are of more than one"},
    {"alarm", NULL, 0, "the alarm of an alarm row (decode name: current_alarm, ...)"},
    {"alarm_channel", NULL, 0, "its channel (current 1-12, voltage 1-3), empty when it has none"},
    {"alarm_type", NULL, 0, "its type (above_threshold, above_range, ...)"},
};

/* CTH01 guide ch.5: 01-17 periodic data, 30-35 alarms. */
static const struct qty cth01[] = {
    {"temperature", "temperature", "C", 0, 0, "temperature (01), degC"},
    {"voltage_unbalance", "voltage_unbalance", "pct", 0, 0, "voltage three-phase unbalance (02), %"},
    {"thdi", "thdi", "pct", 12, 'c', "current total harmonic distortion (03), %"},
    {"thdv", "thdv", "pct", 3, 'l', "voltage total harmonic distortion (04), %"},
    {"current", "current", "A", 12, 'c', "RMS current (05), A"},
    {"voltage", "voltage", "V", 3, 'l', "RMS voltage (06), V"},
    {NULL, "group", "", 4, 'g', "circuit type of group a-d from the power and energy masks: single or three"},
    {"power_factor", "power_factor", "pct", 12, 'c', "power factor (07), %"},
    {"active_power", "active_power", "W", 12, 'c', "active power (08, 09), W"},
    {"reactive_power", "reactive_power", "var", 12, 'c', "reactive power (0a, 0b), var"},
    {"apparent_power", "apparent_power", "VA", 12, 'c', "apparent power (0c, 0d), VA"},
    {"forward_active_energy", "active_energy_import", "Wh", 12, 'c', "imported active energy (0e, 0f), Wh"},
    {"reverse_active_energy", "active_energy_export", "Wh", 12, 'c', "exported active energy (10, 11), Wh"},
    {"forward_reactive_energy", "reactive_energy_import", "varh", 12, 'c',
     "imported reactive energy (12, 13), varh"},
    {"reverse_reactive_energy", "reactive_energy_export", "varh", 12, 'c',
     "exported reactive energy (14, 15), varh"},
    {"apparent_energy", "apparent_energy", "VAh", 12, 'c', "apparent energy (16, 17), VAh"},
    {"temperature_alarm", "temperature_alarm", "C", 0, 0, "temperature of a temperature alarm (30), degC"},
    {"current_alarm", "current_alarm", "A", 0, 0, "current of a current alarm (31), A"},
    {"voltage_alarm", "voltage_alarm", "V", 0, 0, "voltage of a voltage alarm (32), V"},
    {"thdi_alarm", "thdi_alarm", "pct", 0, 0, "THDi of a THDi alarm (33), %"},
    {"thdv_alarm", "thdv_alarm", "pct", 0, 0, "THDv of a THDv alarm (34), %"},
    {"voltage_unbalance_alarm", "voltage_unbalance_alarm", "pct", 0, 0,
     "unbalance of an unbalance alarm (35), %"},
};

/* WS523 guides, "Uplink Data". */
static const struct qty ws523[] = {
    {"voltage", "voltage", "V", 0, 0, "voltage (03 74), V"},
    {"current", "current", "mA", 0, 0, "current (07 c9), mA"},
    {"active_power", "active_power", "W", 0, 0, "active power (04 80), W"},
    {"power_factor", "power_factor", "pct", 0, 0, "power factor (05 81), %"},
    {"power_consumption", "power_consumption", "Wh", 0, 0, "power consumption (06 83), Wh"},
    {"socket_status", "socket_status", "", 0, 0, "socket status (08 70): on or off"},
};

static const struct qty *table(enum lsws_model_id model, size_t *n)
{
    if (model == LSWS_MODEL_WS523) {
        *n = sizeof ws523 / sizeof ws523[0];
        return ws523;
    }
    *n = sizeof cth01 / sizeof cth01[0];
    return cth01;
}

const struct lsws_csv_column *lsws_csv_column_at(enum lsws_model_id model, size_t i)
{
    static struct lsws_csv_column out[LSWS_MODEL_COUNT][64];
    static char names[LSWS_MODEL_COUNT][64][48];
    size_t n;
    if (model >= LSWS_MODEL_COUNT)
        return NULL;
    if (i < C_FIXED)
        return &fixed[i];
    const struct qty *q = table(model, &n);
    i -= C_FIXED;
    if (i >= n)
        return NULL;
    const char *ix = q[i].index == 'c' ? "_chN" : q[i].index == 'l' ? "_lN" : q[i].index == 'g' ? "_X" : "";
    snprintf(names[model][i], sizeof names[model][i], "%s%s%s%s", q[i].csv, ix, q[i].unit[0] ? "_" : "",
             q[i].unit);
    out[model][i] = (struct lsws_csv_column){names[model][i], q[i].reading, q[i].channels, q[i].what};
    return &out[model][i];
}

/* ---- the layout ---------------------------------------------------------------------------- */

enum { T_PERIODIC, T_ALARM, T_ENERGY, T_MIN, T_MAX, T_MONTHLY, T_LIVE, T_COUNT };
static const char *const row_types[T_COUNT] = {"periodic", "alarm", "monthly_energy", "monthly_min",
                                               "monthly_max", "monthly", "live"};

struct alarm_row {
    uint16_t col;  /* its value column, or 0 for none (power loss) */
    const char *name, *type;
    uint8_t channel;
    char value[CELL];
};

struct lsws_csv {
    enum lsws_model_id model;
    const struct qty *q;
    size_t nq;
    size_t ncols;
    char names[COLS_MAX][48];
    int pass;        /* 1: finding columns, 2: writing rows, 3: done */
    uint8_t used[COLS_MAX];
    unsigned types;  /* row types seen (bits) */
    int with_type;   /* the record column is in the layout */
    size_t skipped, rows;
    FILE *out;
    int utc, tz;
    /* the row being collected */
    int open, main;
    uint16_t record;
    uint8_t mode, htype;
    uint32_t ts;
    char cells[COLS_MAX][CELL];
    uint8_t set[COLS_MAX];
    struct alarm_row alarms[ALARMS_MAX];
    size_t n_alarms;
    /* Reading names are static strings: which quantity each one is, found
     * once per name rather than once per reading. */
    struct {
        const char *name;
        size_t qi;
    } seen[64];
};

/* The column of quantity qi, channel ch (1-based; 0 when it has none). */
static size_t col_of(const struct lsws_csv *csv, size_t qi, unsigned ch)
{
    size_t c = C_FIXED;
    for (size_t i = 0; i < qi; i++)
        c += csv->q[i].channels ? csv->q[i].channels : 1;
    return c + (csv->q[qi].channels ? ch - 1 : 0);
}

int lsws_csv_new(enum lsws_model_id model, struct lsws_csv **out)
{
    if (model >= LSWS_MODEL_COUNT)
        return LSWS_ERR_INVALID;
    struct lsws_csv *csv = calloc(1, sizeof *csv);
    if (!csv)
        return LSWS_ERR_NOMEM;
    csv->model = model;
    csv->q = table(model, &csv->nq);
    csv->pass = 1;
    size_t c = 0;
    for (; c < C_FIXED; c++)
        snprintf(csv->names[c], sizeof csv->names[c], "%s", fixed[c].name);
    for (size_t i = 0; i < csv->nq; i++) {
        const struct qty *q = &csv->q[i];
        const char *u = q->unit[0] ? "_" : "";
        for (unsigned ch = 1; ch <= (q->channels ? q->channels : 1u); ch++, c++) {
            if (q->index == 'c')
                snprintf(csv->names[c], sizeof csv->names[c], "%s_ch%u%s%s", q->csv, ch, u, q->unit);
            else if (q->index == 'l')
                snprintf(csv->names[c], sizeof csv->names[c], "%s_l%u%s%s", q->csv, ch, u, q->unit);
            else if (q->index == 'g')
                snprintf(csv->names[c], sizeof csv->names[c], "%s_%c", q->csv, (char)('a' + ch - 1));
            else
                snprintf(csv->names[c], sizeof csv->names[c], "%s%s%s", q->csv, u, q->unit);
        }
    }
    csv->ncols = c;
    *out = csv;
    return LSWS_OK;
}

void lsws_csv_free(struct lsws_csv *csv)
{
    free(csv);
}

size_t lsws_csv_skipped(const struct lsws_csv *csv)
{
    return csv->skipped;
}

size_t lsws_csv_row_count(const struct lsws_csv *csv)
{
    return csv->rows;
}

static int row_type(const struct lsws_csv *csv)
{
    if (!csv->record)
        return T_LIVE;
    switch (csv->htype) {
    case LSWS_HIST_MONTHLY_ENERGY: return T_ENERGY;
    case LSWS_HIST_MONTHLY_MIN: return T_MIN;
    case LSWS_HIST_MONTHLY_MAX: return T_MAX;
    default: return csv->mode == LSWS_HIST_MONTHLY ? T_MONTHLY : T_PERIODIC;
    }
}

static int put_field(struct lsws_csv *csv, const char *text, int first)
{
    if (!first && fputc(',', csv->out) == EOF)
        return -1;
    return csv_fwrite(csv->out, text, strlen(text));
}

/* One row: the fixed columns from the record and alarm a (NULL: the main
 * row), the quantities from cells (main row) or the alarm's value. */
static int write_row(struct lsws_csv *csv, const struct alarm_row *a)
{
    char when[40] = "", unix_s[16] = "", chan[8] = "";
    if (csv->record) {
        lsws_time_format(csv->ts, csv->utc, csv->tz, when, sizeof when);
        snprintf(unix_s, sizeof unix_s, "%u", csv->ts);
    }
    if (a && a->channel)
        snprintf(chan, sizeof chan, "%u", a->channel);
    const char *fixed_text[C_FIXED] = {when, unix_s, a ? row_types[T_ALARM] : row_types[row_type(csv)],
                                       a ? a->name : "", chan, a && a->type ? a->type : ""};
    int first = 1, rc = 0;
    for (size_t c = 0; c < csv->ncols && !rc; c++) {
        if (!csv->used[c])
            continue;
        const char *text = "";
        if (c < C_FIXED)
            text = fixed_text[c];
        else if (a)
            text = c == a->col ? a->value : "";
        else if (csv->set[c])
            text = csv->cells[c];
        rc = put_field(csv, text, first);
        first = 0;
    }
    if (!rc && fputs("\r\n", csv->out) == EOF)
        rc = -1;
    csv->rows++;
    return rc;
}

/* The row collected is complete. */
static int flush_row(struct lsws_csv *csv, struct lsws_error *err)
{
    if (!csv->open)
        return LSWS_OK;
    csv->open = 0;
    if (csv->pass == 1) {
        csv->used[C_TIME] = csv->used[C_UNIX] = 1;
        if (csv->main) {
            csv->types |= 1u << row_type(csv);
            for (size_t c = C_FIXED; c < csv->ncols; c++)
                csv->used[c] |= csv->set[c];
        }
        for (size_t i = 0; i < csv->n_alarms; i++) {
            csv->types |= 1u << T_ALARM;
            csv->used[C_ALARM] = csv->used[C_ALARM_CH] = csv->used[C_ALARM_TYPE] = 1;
            if (csv->alarms[i].col)
                csv->used[csv->alarms[i].col] = 1;
        }
    } else {
        int rc = csv->main ? write_row(csv, NULL) : 0;
        for (size_t i = 0; i < csv->n_alarms && !rc; i++)
            rc = write_row(csv, &csv->alarms[i]);
        if (rc)
            return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write the CSV rows");
    }
    return LSWS_OK;
}

static void start_row(struct lsws_csv *csv, const struct lsws_reading *r)
{
    csv->open = 1;
    csv->main = 0;
    csv->record = r->record;
    csv->mode = r->mode;
    csv->htype = r->history_type;
    csv->ts = r->timestamp;
    csv->n_alarms = 0;
    memset(csv->set, 0, sizeof csv->set);
}

static size_t find_qty(struct lsws_csv *csv, const char *name)
{
    size_t slot = ((uintptr_t)name >> 3) % (sizeof csv->seen / sizeof csv->seen[0]);
    if (csv->seen[slot].name == name)
        return csv->seen[slot].qi;
    size_t qi = SIZE_MAX;
    for (size_t i = 0; i < csv->nq && qi == SIZE_MAX; i++)
        if (csv->q[i].reading && strcmp(csv->q[i].reading, name) == 0)
            qi = i;
    csv->seen[slot].name = name;
    csv->seen[slot].qi = qi;
    return qi;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* A single/three-phase mask (07's, or an 08-17 pair's): the group columns. */
static int take_mask(struct lsws_csv *csv, const struct lsws_reading *r)
{
    unsigned first, n;
    if (ends_with(r->name, "_mask_ab")) {
        first = 0;
        n = 2;
    } else if (ends_with(r->name, "_mask_cd")) {
        first = 2;
        n = 2;
    } else if (strcmp(r->name, "power_factor_mask") == 0) {
        first = 0;
        n = 4;
    } else {
        return 0;
    }
    size_t gq = 0;
    while (gq < csv->nq && csv->q[gq].index != 'g')
        gq++;
    if (gq == csv->nq)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        size_t c = col_of(csv, gq, first + i + 1);
        snprintf(csv->cells[c], CELL, "%s", (r->value >> i) & 1 ? "single" : "three");
        csv->set[c] = 1;
    }
    return 1;
}

/* Whether r belongs to the row being collected: live data goes with live
 * data (until lsws_csv_break), and history records with the same mode,
 * time and tag are one record (the `ed` per command of a monthly summary). */
static int same_row(const struct lsws_csv *csv, const struct lsws_reading *r)
{
    if (!csv->open)
        return 0;
    if (!r->record || !csv->record)
        return !r->record && !csv->record;
    return r->record == csv->record ||
           (r->mode == csv->mode && r->timestamp == csv->ts && r->history_type == csv->htype);
}

int lsws_csv_feed(struct lsws_csv *csv, const struct lsws_uplink *rec, struct lsws_error *err)
{
    if (csv->pass > 2)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "the CSV is finished");
    size_t n = rec->n > LSWS_UPLINK_MAX ? LSWS_UPLINK_MAX : rec->n;
    for (size_t i = 0; i < n; i++) {
        const struct lsws_reading *r = &rec->r[i];
        if (!same_row(csv, r)) {
            int rc = flush_row(csv, err);
            if (rc != LSWS_OK)
                return rc;
            start_row(csv, r);
        }
        if (!r->name) {
            csv->skipped += csv->pass == 1;
            continue;
        }
        size_t qi = find_qty(csv, r->name);
        int alarm = r->kind == LSWS_RD_ALARM || ends_with(r->name, "_alarm");
        if (alarm) {
            if (csv->n_alarms >= ALARMS_MAX)
                return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "more than %d alarms in one record", ALARMS_MAX);
            struct alarm_row *a = &csv->alarms[csv->n_alarms++];
            a->name = r->name;
            a->type = r->kind == LSWS_RD_ALARM ? r->text : NULL;
            a->channel = r->channel;
            a->col = 0;
            a->value[0] = '\0';
            if (qi != SIZE_MAX && r->kind == LSWS_RD_ALARM) {
                a->col = (uint16_t)col_of(csv, qi, 0);
                lsws_reading_format(r, a->value, sizeof a->value);
            }
            continue;
        }
        if (take_mask(csv, r)) {
            csv->main = 1;
            continue;
        }
        const struct qty *q = qi != SIZE_MAX ? &csv->q[qi] : NULL;
        if (!q || (q->channels && (r->channel < 1 || r->channel > q->channels)) ||
            (!q->channels && r->channel)) {
            csv->skipped += csv->pass == 1; /* basic information, settings, replies: not in the layout */
            continue;
        }
        size_t c = col_of(csv, qi, r->channel);
        lsws_reading_format(r, csv->cells[c], CELL);
        csv->set[c] = 1;
        csv->main = 1;
    }
    return LSWS_OK;
}

int lsws_csv_break(struct lsws_csv *csv, struct lsws_error *err)
{
    return flush_row(csv, err);
}

int lsws_csv_rows(struct lsws_csv *csv, FILE *out, int utc, int tz_minutes, struct lsws_error *err)
{
    int rc = flush_row(csv, err);
    if (rc != LSWS_OK)
        return rc;
    if (csv->pass != 1)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "the CSV rows were begun already");
    csv->pass = 2;
    csv->out = out;
    csv->utc = utc;
    csv->tz = tz_minutes;
    csv->used[C_TIME] = csv->used[C_UNIX] = 1;
    /* The record column when the rows are not all of one type. */
    csv->used[C_RECORD] = (csv->types & (csv->types - 1)) != 0;
    int first = 1;
    for (size_t c = 0; c < csv->ncols && !rc; c++)
        if (csv->used[c]) {
            rc = put_field(csv, csv->names[c], first);
            first = 0;
        }
    if (rc || fputs("\r\n", out) == EOF)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write the CSV header");
    return LSWS_OK;
}

int lsws_csv_finish(struct lsws_csv *csv, struct lsws_error *err)
{
    int rc = flush_row(csv, err);
    csv->pass = 3;
    return rc;
}
