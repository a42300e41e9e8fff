/* The CTH01's stored history (CTH01 guide ch.4 "Configure Data Storage &
 * Retransmission", "Export the Local Data"; ch.5 "Commands for Historical
 * Data Query"), as the simulator holds it.
 *
 * A unit with data storage enabled records a periodic record at every
 * reporting interval, an alarm record whenever a threshold is crossed or a
 * current leaves its CT's range, and a monthly summary (energy of the month,
 * minimum and maximum of the periodic quantities) at the monthly summary
 * time (6d). It keeps the newest 20,000 records of each kind and overwrites
 * the oldest first.
 *
 * The state file does not hold 20,000 records: it holds what they are
 * generated from (the number recorded, the first one's time, a seed and the
 * unit's settings while it recorded) and what the unit did to them since
 * (the time of each clear). Every value is a function of the seed, the
 * record's time and those settings, computed with integers only, so the
 * same store comes back in every process and on every run:
 *
 * - loads follow a weekly profile per channel (office, continuous,
 *   residential, production), with noise; energy counters are the exact
 *   integral of the profile's nominal power, so they only ever grow;
 * - power is V x I x PF; reactive power the rest of the apparent power;
 * - a current now and then exceeds its CT's range (an over-range alarm,
 *   reported three times at 5-minute intervals, ch.4 "Passive Alarms");
 * - the thresholds of 76-7b, as the unit held them, raise alarms when a
 *   value enters the alarm condition (alarm.times reports alarm.interval
 *   apart, within the reporting interval) and a dismiss when it leaves it
 *   (with alarm.dismiss_report);
 * - the monthly summary at day/hour/minute of 6d in the unit's time zone
 *   covers the records since the previous one.
 *
 * Records are encoded with the uplink builder (lsws_uplink_add*), so they
 * are exactly what lsws_uplink_decode reads. Monthly records follow the
 * guide's examples: one `ed` header (mode 02, 40xx tag) per command. */
#include "sim_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP LSWS_HISTORY_CAPACITY
#define CH 12
#define PH 3
#define RECORD_MAX 1024 /* bytes of one encoded record, with room */
#define OVERRANGE_EVERY 4000u /* about one over-range current per 4000 channel readings */
#define OVERRANGE_REPEAT 300u /* s: "reported three times at fixed intervals of 5 minutes" */

/* 6c bits (ch.5 "Command for Report Parameters"). */
enum {
    B_TEMP = 0, B_CUR = 1, B_VOLT = 2, B_PF = 3, B_ACT = 4, B_REA = 5, B_APP = 6,
    B_E_IMP = 7, B_E_EXP = 8, B_R_IMP = 9, B_R_EXP = 10, B_E_APP = 11, B_THDI = 12, B_THDV = 13,
    B_UNB = 14,
};
static const char *const report_keys[15] = {
    "report.temperature", "report.current", "report.voltage", "report.power_factor",
    "report.active_power", "report.reactive_power", "report.apparent_power",
    "report.import_active_energy", "report.export_active_energy", "report.import_reactive_energy",
    "report.export_reactive_energy", "report.apparent_energy", "report.thdi", "report.thdv",
    "report.voltage_unbalance",
};

/* The five energy counters, in command order (0e/0f ... 16/17). */
enum { E_IMP, E_EXP, R_IMP, R_EXP, E_APP, N_ENERGY };
static const char *const energy_names[N_ENERGY] = {
    "forward_active_energy", "reverse_active_energy", "forward_reactive_energy",
    "reverse_reactive_energy", "apparent_energy"};
static const unsigned energy_bits[N_ENERGY] = {B_E_IMP, B_E_EXP, B_R_IMP, B_R_EXP, B_E_APP};

/* What a unit measures at one moment: the quantities of the periodic
 * record in one array (minimum and maximum are taken over all of it), then
 * the energy counters. */
enum {
    Q_TEMP = 0, Q_UNB = 1, Q_THDI = 2, Q_THDV = Q_THDI + CH, Q_CUR = Q_THDV + PH, Q_VOLT = Q_CUR + CH,
    Q_PF = Q_VOLT + PH, Q_ACT = Q_PF + CH, Q_REA = Q_ACT + CH, Q_APP = Q_REA + CH, N_Q = Q_APP + CH,
};
struct vals {
    int32_t q[N_Q];
    uint32_t en[N_ENERGY][CH];
};

/* One threshold the unit held (76-7b), in the values' own units. */
struct thr {
    uint8_t cmd;     /* 0x30..0x35: the alarm it raises */
    uint8_t ch;      /* 1-based, 0 for temperature and unbalance */
    uint8_t cond;    /* 1 below, 2 above, 3 within, 4 outside */
    int32_t min, max;
};

/* Everything the values derive from. */
struct gen {
    uint32_t seed, start, interval, count;
    unsigned mask; /* 6c bits */
    int tz;        /* minutes east of UTC */
    int three_wire;
    unsigned single;          /* bit g: group g single-phase */
    uint32_t range_a[CH];     /* CT range in A; 0: none */
    uint8_t type[CH], pf_nom[CH];
    uint32_t ipk[CH];         /* peak current, 0.01 A */
    uint32_t qf[CH], xf[CH];  /* reactive and export share, per mille */
    uint32_t thdi0[CH];
    uint32_t e0[N_ENERGY][CH];
    int64_t p_nom[CH][168];   /* nominal active power, W, per hour of the week */
    int64_t prefix[CH][169];  /* its integral from the start of the week, J */
    struct thr thr[40];
    unsigned n_thr;
    unsigned alarm_every, alarm_times, dismiss; /* 7c: s, count, flag */
    unsigned m_day, m_hour, m_min;              /* 6d */
};

struct alarm_ev {
    uint32_t ts, seq;
    int32_t value;
    uint8_t cmd, ch, type;
};

struct month {
    uint32_t ts, from;           /* summary time; start of the period */
    uint32_t en[N_ENERGY][CH];   /* energy of the period, Wh */
    struct vals lo, hi;          /* minimum and maximum over its records */
    int have;                    /* records in the period */
};

struct sim_store {
    uint32_t records, start, seed; /* what it was built from */
    int seeded;
    struct gen g;
    struct alarm_ev *alarms;
    size_t n_alarms;
    struct month *months;
    size_t n_months;
};

/* ---- numbers ------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A value that depends only on the seed, a record and a quantity. */
static uint32_t hash(const struct gen *g, uint32_t k, unsigned what, unsigned ch)
{
    return (uint32_t)mix64((uint64_t)g->seed << 32 ^ (uint64_t)k << 12 ^ (uint64_t)what << 5 ^ ch);
}

static int32_t noise(const struct gen *g, uint32_t k, unsigned what, unsigned ch, int32_t r)
{
    return (int32_t)(hash(g, k, what, ch) % (uint32_t)(2 * r + 1)) - r;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static uint64_t isqrt(uint64_t v)
{
    uint64_t r = 0, bit = 1ull << 62;
    while (bit > v)
        bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

/* Civil dates (H. Hinnant's algorithms), for monthly summary times. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = floordiv(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m)
{
    z += 719468;
    int64_t era = floordiv(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* ---- the settings the unit recorded with ---------------------------------------- */

static int64_t setting(const struct lsws_config *c, const char *key)
{
    int i = lsws_model_find(c->model, key);
    return i >= 0 && c->present[i] ? c->values[i].num : 0;
}

/* The setting "prefix[index]suffix". */
static int64_t setting_at(const struct lsws_config *c, const char *prefix, const char *index, const char *suffix)
{
    char key[64];
    snprintf(key, sizeof key, "%s[%s]%s", prefix, index, suffix);
    return setting(c, key);
}

/* Load factor in per mille of a channel's profile at an hour of the week
 * (dow 0 = Sunday). */
static int64_t load_factor(unsigned type, unsigned dow, unsigned hour)
{
    int weekend = dow == 0 || dow == 6;
    switch (type) {
    case 0: /* office: working hours on weekdays */
        if (weekend)
            return 150;
        return hour >= 7 && hour < 19 ? (hour == 12 ? 750 : 880) : 180;
    case 1: /* continuous: ventilation, refrigeration */
        return hour >= 10 && hour < 18 ? 760 : 640;
    case 2: /* residential: mornings and evenings */
        if (hour < 6)
            return 200;
        if (hour < 9)
            return 560;
        if (hour < 17)
            return weekend ? 420 : 300;
        return hour < 23 ? 900 : 400;
    default: /* production: two shifts on weekdays */
        return !weekend && hour >= 6 && hour < 22 ? 950 : 80;
    }
}

static const uint32_t range_amps[] = {0, 100, 300, 500, 1000, 4000};

static void add_thr(struct gen *g, uint8_t cmd, uint8_t ch, int64_t enabled, int64_t cond, int64_t min,
                    int64_t max)
{
    if (!enabled || cond < 1 || cond > 4 || g->n_thr >= sizeof g->thr / sizeof g->thr[0])
        return;
    g->thr[g->n_thr++] = (struct thr){cmd, ch, (uint8_t)cond, (int32_t)min, (int32_t)max};
}

static void make_gen(const struct sim_hist *h, struct gen *g)
{
    const struct lsws_config *c = h->settings;
    static const char *const groups[] = {"a", "b", "c", "d"};
    char index[8];
    memset(g, 0, sizeof *g);
    g->seed = h->seed;
    g->start = h->start;
    g->count = h->records;
    g->interval = (uint32_t)setting(c, "general.report_interval") * 60u;
    if (!g->interval)
        g->interval = 600;
    for (unsigned b = 0; b < 15; b++)
        if (setting(c, report_keys[b]))
            g->mask |= 1u << b;
    g->tz = (int)setting(c, "time.zone");
    g->three_wire = setting(c, "interface.voltage") == 1;
    for (unsigned gi = 0; gi < 4; gi++)
        if (setting_at(c, "interface.group", groups[gi], ".type") == 0)
            g->single |= 1u << gi;
    for (unsigned ch = 0; ch < CH; ch++) {
        snprintf(index, sizeof index, "%u", ch + 1);
        int64_t r = setting_at(c, "interface.current", index, ".range");
        g->range_a[ch] = r >= 0 && r < 6 ? range_amps[r] : 0;
        g->type[ch] = (uint8_t)(hash(g, 0, 1, ch) % 4);
        g->pf_nom[ch] = (uint8_t)(82 + hash(g, 0, 2, ch) % 16);
        g->ipk[ch] = g->range_a[ch] * (30 + hash(g, 0, 3, ch) % 46); /* 30-75 % of the range, 0.01 A */
        unsigned pf = g->pf_nom[ch];
        g->qf[ch] = (uint32_t)(isqrt(10000 - pf * pf) * 1000 / pf);
        g->xf[ch] = hash(g, 0, 4, ch) % 4 == 0 ? 10 + hash(g, 0, 5, ch) % 190 : 0;
        g->thdi0[ch] = 300 + hash(g, 0, 6, ch) % 900;
        for (unsigned e = 0; e < N_ENERGY; e++)
            g->e0[e][ch] = hash(g, 0, 7 + e, ch) % (e == E_IMP ? 5000000u : 500000u);
        for (unsigned hw = 0; hw < 168; hw++) {
            unsigned dow = (hw / 24 + 4) % 7; /* the Unix epoch was a Thursday */
            int64_t lf = load_factor(g->type[ch], dow, hw % 24);
            /* 230 V x I x PF */
            g->p_nom[ch][hw] = 230 * (int64_t)g->ipk[ch] * lf * pf / (100 * 1000 * 100);
            g->prefix[ch][hw + 1] = g->prefix[ch][hw] + g->p_nom[ch][hw] * 3600;
        }
    }
    /* Thresholds (76-7b) in the values' units: temperature and percentages
     * are /100 on both sides; current and voltage thresholds are whole A
     * and V against values in 0.01. */
    add_thr(g, 0x30, 0, setting(c, "alarm.temperature.enabled"), setting(c, "alarm.temperature.condition"),
            setting(c, "alarm.temperature.min"), setting(c, "alarm.temperature.max"));
    for (unsigned ch = 1; ch <= CH; ch++) {
        snprintf(index, sizeof index, "%u", ch);
        add_thr(g, 0x31, (uint8_t)ch, setting_at(c, "alarm.current", index, ".enabled"),
                setting_at(c, "alarm.current", index, ".condition"),
                setting_at(c, "alarm.current", index, ".min") * 100,
                setting_at(c, "alarm.current", index, ".max") * 100);
    }
    for (unsigned ch = 1; ch <= PH; ch++) {
        snprintf(index, sizeof index, "%u", ch);
        add_thr(g, 0x32, (uint8_t)ch, setting_at(c, "alarm.voltage", index, ".enabled"),
                setting_at(c, "alarm.voltage", index, ".condition"),
                setting_at(c, "alarm.voltage", index, ".min") * 100,
                setting_at(c, "alarm.voltage", index, ".max") * 100);
    }
    for (unsigned ch = 1; ch <= CH; ch++) {
        snprintf(index, sizeof index, "%u", ch);
        add_thr(g, 0x33, (uint8_t)ch, setting_at(c, "alarm.thdi", index, ".enabled"), 2, 0,
                setting_at(c, "alarm.thdi", index, ".max") * 100);
    }
    for (unsigned ch = 1; ch <= PH; ch++) {
        snprintf(index, sizeof index, "%u", ch);
        add_thr(g, 0x34, (uint8_t)ch, setting_at(c, "alarm.thdv", index, ".enabled"), 2, 0,
                setting_at(c, "alarm.thdv", index, ".max") * 100);
    }
    add_thr(g, 0x35, 0, setting(c, "alarm.unbalance.enabled"), 2, 0, setting(c, "alarm.unbalance.max") * 100);
    g->alarm_every = (unsigned)setting(c, "alarm.interval") * 60u;
    g->alarm_times = (unsigned)setting(c, "alarm.times");
    g->dismiss = setting(c, "alarm.dismiss_report") != 0;
    g->m_day = (unsigned)setting(c, "monthly.day");
    g->m_hour = (unsigned)setting(c, "monthly.hour");
    g->m_min = (unsigned)setting(c, "monthly.minute");
    if (!g->m_day)
        g->m_day = 1;
}

/* ---- values ------------------------------------------------------------------------ */

/* Active energy of channel ch from the Unix epoch to t, J: the integral of
 * the nominal power of the weekly profile (in local time). */
static int64_t joules(const struct gen *g, unsigned ch, int64_t t)
{
    int64_t local = t + (int64_t)g->tz * 60;
    int64_t week = floordiv(local, 604800), in = local - week * 604800;
    unsigned hw = (unsigned)(in / 3600);
    return week * g->prefix[ch][168] + g->prefix[ch][hw] + g->p_nom[ch][hw] * (in % 3600);
}

/* The energy counters of channel ch at time t, Wh. */
static void counters(const struct gen *g, unsigned ch, int64_t t, uint32_t out[N_ENERGY])
{
    int64_t j = joules(g, ch, t) - joules(g, ch, g->start);
    if (j < 0)
        j = 0;
    uint64_t wh = (uint64_t)j / 3600;
    uint64_t e[N_ENERGY] = {
        wh,
        (uint64_t)j * g->xf[ch] / 1000 / 3600,
        (uint64_t)j * g->qf[ch] / 1000 / 3600,
        (uint64_t)j * g->qf[ch] / 1000 * g->xf[ch] / 1000 / 3600,
        (uint64_t)j * 100 / g->pf_nom[ch] / 3600,
    };
    for (unsigned i = 0; i < N_ENERGY; i++)
        out[i] = (uint32_t)(g->e0[i][ch] + e[i]); /* a counter wraps as a UINT32 */
}

static uint32_t record_time(const struct gen *g, uint32_t k)
{
    return g->start + k * g->interval;
}

static void values(const struct gen *g, uint32_t k, struct vals *v)
{
    int64_t t = record_time(g, k), local = t + (int64_t)g->tz * 60;
    unsigned mod = (unsigned)(floordiv(local, 60) % 1440 + 1440) % 1440; /* minute of the day */
    unsigned hour = mod / 60, dow = (unsigned)((floordiv(local, 86400) % 7 + 7 + 4) % 7);
    /* Temperature: a daily swing peaking mid-afternoon. */
    int32_t swing = mod < 840 ? (int32_t)(mod * 600 / 840) : (int32_t)((1440 - mod) * 600 / 600);
    v->q[Q_TEMP] = 2100 + swing + noise(g, k, 20, 0, 25);
    int32_t sag = (int32_t)load_factor(0, dow, hour) / 6;
    for (unsigned p = 0; p < PH; p++) {
        v->q[Q_VOLT + p] = (g->three_wire ? 40000 : 23000) - sag + noise(g, k, 21, p, 180);
        v->q[Q_THDV + p] = 160 + noise(g, k, 22, p, 60);
    }
    v->q[Q_UNB] = 60 + noise(g, k, 23, 0, 45);
    for (unsigned ch = 0; ch < CH; ch++) {
        int64_t lf = load_factor(g->type[ch], dow, hour);
        int64_t cur = (int64_t)g->ipk[ch] * lf / 1000 * (1000 + noise(g, k, 24, ch, 35)) / 1000;
        if (g->range_a[ch] && hash(g, k, 25, ch) % OVERRANGE_EVERY == 0)
            cur = (int64_t)g->range_a[ch] * (105 + hash(g, k, 26, ch) % 26); /* 105-130 % of range */
        int32_t pf = cur ? g->pf_nom[ch] + noise(g, k, 27, ch, 2) : 0;
        if (pf > 100)
            pf = 100;
        int64_t s = (int64_t)v->q[Q_VOLT + ch % PH] * cur / 10000, act = s * pf / 100;
        v->q[Q_CUR + ch] = (int32_t)cur;
        v->q[Q_PF + ch] = pf;
        v->q[Q_APP + ch] = (int32_t)s;
        v->q[Q_ACT + ch] = (int32_t)act;
        v->q[Q_REA + ch] = (int32_t)isqrt((uint64_t)(s * s - act * act));
        v->q[Q_THDI + ch] = (int32_t)g->thdi0[ch] + noise(g, k, 28, ch, 80);
        uint32_t e[N_ENERGY];
        counters(g, ch, t, e);
        for (unsigned i = 0; i < N_ENERGY; i++)
            v->en[i][ch] = e[i];
    }
}

/* ---- encoding --------------------------------------------------------------------- */

static unsigned masks(const struct gen *g, unsigned which) /* 0: 07's a-d, 1: a+b, 2: c+d */
{
    return which == 0 ? g->single : which == 1 ? g->single & 3u : g->single >> 2 & 3u;
}

/* Adds the commands of the quantities in bits (6c bits; energy bits take
 * their counters from v) to up; with hdr, each command gets its own `ed`
 * header (mode, ts, type), as the guide's monthly records do. */
struct builder {
    struct lsws_uplink up;
    struct lsws_error err;
    int rc;
    int hdr;
    unsigned mode, type;
    uint32_t ts;
};

static void b_head(struct builder *b)
{
    if (b->hdr && !b->rc)
        b->rc = lsws_uplink_add_record(&b->up, b->mode, b->ts, b->type, &b->err);
}

static void b_add(struct builder *b, const char *name, unsigned ch, int64_t raw)
{
    if (!b->rc)
        b->rc = lsws_uplink_add(&b->up, name, ch, raw, &b->err);
}

static void b_array(struct builder *b, const char *name, const int32_t *v, unsigned n)
{
    b_head(b);
    for (unsigned i = 0; i < n; i++)
        b_add(b, name, i + 1, v[i]);
}

/* An 08/09-style pair: mask + channels 1-6, mask + channels 7-12. */
static void b_pair(struct builder *b, const struct gen *g, const char *name, const int32_t *v32,
                   const uint32_t *vu)
{
    char mask[64];
    for (unsigned half = 0; half < 2; half++) {
        b_head(b);
        snprintf(mask, sizeof mask, "%s_mask_%s", name, half ? "cd" : "ab");
        b_add(b, mask, 0, masks(g, half + 1));
        for (unsigned i = half * 6; i < half * 6 + 6; i++)
            b_add(b, name, i + 1, v32 ? (int64_t)v32[i] : (int64_t)vu[i]);
    }
}

static void b_values(struct builder *b, const struct gen *g, unsigned bits, const struct vals *v)
{
    if (bits & 1u << B_TEMP) {
        b_head(b);
        b_add(b, "temperature", 0, v->q[Q_TEMP]);
    }
    if (bits & 1u << B_UNB) {
        b_head(b);
        b_add(b, "voltage_unbalance", 0, v->q[Q_UNB]);
    }
    if (bits & 1u << B_THDI)
        b_array(b, "thdi", v->q + Q_THDI, CH);
    if (bits & 1u << B_THDV)
        b_array(b, "thdv", v->q + Q_THDV, PH);
    if (bits & 1u << B_CUR)
        b_array(b, "current", v->q + Q_CUR, CH);
    if (bits & 1u << B_VOLT)
        b_array(b, "voltage", v->q + Q_VOLT, PH);
    if (bits & 1u << B_PF) {
        b_head(b);
        b_add(b, "power_factor_mask", 0, masks(g, 0));
        for (unsigned i = 0; i < CH; i++)
            b_add(b, "power_factor", i + 1, v->q[Q_PF + i]);
    }
    if (bits & 1u << B_ACT)
        b_pair(b, g, "active_power", v->q + Q_ACT, NULL);
    if (bits & 1u << B_REA)
        b_pair(b, g, "reactive_power", v->q + Q_REA, NULL);
    if (bits & 1u << B_APP)
        b_pair(b, g, "apparent_power", v->q + Q_APP, NULL);
    for (unsigned e = 0; e < N_ENERGY; e++)
        if (bits & 1u << energy_bits[e])
            b_pair(b, g, energy_names[e], NULL, v->en[e]);
}

static int b_encode(struct builder *b, uint8_t *out, size_t cap, size_t *len, struct lsws_error *err)
{
    if (!b->rc)
        b->rc = lsws_uplink_encode(&b->up, out, cap, len, &b->err);
    if (b->rc)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "history record: %s (simulator bug)", b->err.msg);
    return LSWS_OK;
}

static void b_init(struct builder *b, unsigned mode, uint32_t ts, unsigned type, int hdr)
{
    lsws_uplink_init(&b->up, LSWS_MODEL_CTH01);
    lsws_error_clear(&b->err);
    b->rc = 0;
    b->hdr = hdr;
    b->mode = mode;
    b->type = type;
    b->ts = ts;
    if (!hdr)
        b->rc = lsws_uplink_add_record(&b->up, mode, ts, type, &b->err);
}

/* The quantities of the periodic record and of the monthly minimum and
 * maximum: every enabled one but the energy counters. */
#define ENERGY_BITS (1u << B_E_IMP | 1u << B_E_EXP | 1u << B_R_IMP | 1u << B_R_EXP | 1u << B_E_APP)

static int encode_periodic(const struct gen *g, uint32_t k, uint8_t *out, size_t cap, size_t *len,
                           struct lsws_error *err)
{
    struct builder b;
    struct vals v;
    values(g, k, &v);
    b_init(&b, LSWS_HIST_PERIODIC, record_time(g, k), LSWS_HIST_NONE, 0);
    b_values(&b, g, g->mask, &v);
    return b_encode(&b, out, cap, len, err);
}

static const char *alarm_name(uint8_t cmd)
{
    static const char *const names[] = {"temperature_alarm", "current_alarm", "voltage_alarm",
                                        "thdi_alarm", "thdv_alarm", "voltage_unbalance_alarm"};
    return cmd >= 0x30 && cmd <= 0x35 ? names[cmd - 0x30] : "power_loss_alarm";
}

static int encode_alarm(const struct alarm_ev *a, uint8_t *out, size_t cap, size_t *len, struct lsws_error *err)
{
    struct builder b;
    b_init(&b, LSWS_HIST_PERIODIC, a->ts, LSWS_HIST_NONE, 0);
    if (!b.rc)
        b.rc = lsws_uplink_add_alarm(&b.up, alarm_name(a->cmd), a->ch, a->type, a->value, &b.err);
    return b_encode(&b, out, cap, len, err);
}

/* A month's record: energy (4001), or minimum (4002) or maximum (4003). */
static int encode_month(const struct gen *g, const struct month *m, unsigned type, uint8_t *out, size_t cap,
                        size_t *len, struct lsws_error *err)
{
    struct builder b;
    b_init(&b, LSWS_HIST_MONTHLY, m->ts, type, 1);
    if (type == LSWS_HIST_MONTHLY_ENERGY) {
        struct vals v;
        memset(&v, 0, sizeof v);
        memcpy(v.en, m->en, sizeof v.en);
        b_values(&b, g, ENERGY_BITS, &v);
    } else {
        b_values(&b, g, g->mask & ~ENERGY_BITS, type == LSWS_HIST_MONTHLY_MIN ? &m->lo : &m->hi);
    }
    return b_encode(&b, out, cap, len, err);
}

/* ---- alarms and months: one pass over the periodic records ---------------------------- */

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

struct pass {
    struct sim_store *s;
    size_t cap_alarms, cap_months;
    uint32_t seq;
    int failed;
};

static void push_alarm(struct pass *p, uint32_t ts, uint8_t cmd, uint8_t ch, uint8_t type, int32_t value)
{
    struct sim_store *s = p->s;
    if (p->failed || grow((void **)&s->alarms, &p->cap_alarms, s->n_alarms, sizeof *s->alarms) < 0) {
        p->failed = 1;
        return;
    }
    s->alarms[s->n_alarms++] = (struct alarm_ev){ts, p->seq++, value, cmd, ch, type};
}

static int by_time(const void *a, const void *b)
{
    const struct alarm_ev *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A long history of a unit whose thresholds fire all the time: keep the
 * newest alarms only (the store keeps 20,000), sorted. */
static void trim_alarms(struct sim_store *s)
{
    qsort(s->alarms, s->n_alarms, sizeof *s->alarms, by_time);
    if (s->n_alarms > 2 * CAP) {
        memmove(s->alarms, s->alarms + s->n_alarms - 2 * CAP, 2 * CAP * sizeof *s->alarms);
        s->n_alarms = 2 * CAP;
    }
}

static int32_t thr_value(const struct thr *t, const struct vals *v)
{
    switch (t->cmd) {
    case 0x30: return v->q[Q_TEMP];
    case 0x31: return v->q[Q_CUR + t->ch - 1];
    case 0x32: return v->q[Q_VOLT + t->ch - 1];
    case 0x33: return v->q[Q_THDI + t->ch - 1];
    case 0x34: return v->q[Q_THDV + t->ch - 1];
    default: return v->q[Q_UNB];
    }
}

static int thr_holds(const struct thr *t, int32_t x)
{
    switch (t->cond) {
    case 1: return x < t->min;
    case 2: return x > t->max;
    case 3: return x >= t->min && x <= t->max;
    default: return x < t->min || x > t->max;
    }
}

/* Alarm types (ch.5 "Alarm Report"): below 11/10, above 13/12, within
 * 15/14, outside 17/16 (alarm / dismiss). */
static uint8_t thr_type(const struct thr *t, int dismiss)
{
    static const uint8_t types[5] = {0, 0x11, 0x13, 0x15, 0x17};
    return (uint8_t)(types[t->cond] - (dismiss ? 1 : 0));
}

static void lo_hi(struct vals *lo, struct vals *hi, const struct vals *v, int first)
{
    for (size_t i = 0; i < N_Q; i++) {
        if (first || v->q[i] < lo->q[i])
            lo->q[i] = v->q[i];
        if (first || v->q[i] > hi->q[i])
            hi->q[i] = v->q[i];
    }
}

/* The summary times of 6d (day, hour, minute in the unit's time zone) after from. */
static int64_t next_summary(const struct gen *g, int64_t from)
{
    int64_t local = from + (int64_t)g->tz * 60, y;
    unsigned m;
    civil_from_days(floordiv(local, 86400), &y, &m);
    for (int step = 0; step < 3; step++) {
        int64_t t = days_from_civil(y, m, g->m_day) * 86400 + g->m_hour * 3600 + g->m_min * 60 -
                    (int64_t)g->tz * 60;
        if (t > from)
            return t;
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return INT64_MAX; /* not reached: a month later is always later */
}

static int build(struct sim_store *s, struct lsws_error *err)
{
    const struct gen *g = &s->g;
    struct pass p = {.s = s};
    uint8_t in_alarm[64] = {0}, over[CH] = {0};
    struct month cur;
    int64_t summary = g->count ? next_summary(g, g->start) : INT64_MAX;
    memset(&cur, 0, sizeof cur);
    cur.from = g->start;
    uint32_t last = g->count ? record_time(g, g->count - 1) : 0;
    for (uint32_t k = 0; k < g->count && !p.failed; k++) {
        struct vals v;
        uint32_t t = record_time(g, k), next = t + g->interval;
        values(g, k, &v);
        /* A summary falls due before this record: the month so far. */
        while (summary <= t && !p.failed) {
            cur.ts = (uint32_t)summary;
            for (unsigned ch = 0; ch < CH; ch++) {
                uint32_t a[N_ENERGY], b[N_ENERGY];
                counters(g, ch, cur.from, a);
                counters(g, ch, summary, b);
                for (unsigned e = 0; e < N_ENERGY; e++)
                    cur.en[e][ch] = b[e] - a[e];
            }
            if (cur.have) {
                if (grow((void **)&s->months, &p.cap_months, s->n_months, sizeof *s->months) < 0)
                    p.failed = 1;
                else
                    s->months[s->n_months++] = cur;
            }
            uint32_t from = (uint32_t)summary;
            memset(&cur, 0, sizeof cur);
            cur.from = from;
            summary = summary < last ? next_summary(g, summary) : INT64_MAX;
        }
        lo_hi(&cur.lo, &cur.hi, &v, !cur.have);
        cur.have = 1;
        /* Over-range (passive alarm, ch.4): three reports, 5 minutes apart. */
        for (unsigned ch = 0; ch < CH; ch++) {
            int o = g->range_a[ch] && (uint32_t)v.q[Q_CUR + ch] > g->range_a[ch] * 100;
            if (o && !over[ch])
                for (unsigned i = 0; i < 3; i++)
                    push_alarm(&p, t + i * OVERRANGE_REPEAT, 0x31, (uint8_t)(ch + 1), 0x02, v.q[Q_CUR + ch]);
            else if (!o && over[ch] && g->dismiss)
                push_alarm(&p, t, 0x31, (uint8_t)(ch + 1), 0x04, v.q[Q_CUR + ch]);
            over[ch] = (uint8_t)o;
        }
        for (unsigned i = 0; i < g->n_thr; i++) {
            const struct thr *th = &g->thr[i];
            int32_t x = thr_value(th, &v);
            int holds = thr_holds(th, x);
            if (holds && !in_alarm[i]) {
                unsigned times = g->alarm_times ? g->alarm_times : 1;
                for (unsigned r = 0; r < times; r++) {
                    uint32_t at = t + r * g->alarm_every;
                    if (r && (!g->alarm_every || at >= next))
                        break;
                    push_alarm(&p, at, th->cmd, th->ch, thr_type(th, 0), x);
                }
            } else if (!holds && in_alarm[i] && g->dismiss) {
                push_alarm(&p, t, th->cmd, th->ch, thr_type(th, 1), x);
            }
            in_alarm[i] = (uint8_t)holds;
        }
        if (s->n_alarms > 8 * CAP)
            trim_alarms(s);
    }
    if (p.failed)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    trim_alarms(s);
    return LSWS_OK;
}

int sim_store_new(const struct sim_state *st, struct sim_store **out, struct lsws_error *err)
{
    struct sim_store *s = calloc(1, sizeof *s);
    if (!s)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    s->seeded = st->hist.seeded;
    s->records = st->hist.records;
    s->start = st->hist.start;
    s->seed = st->hist.seed;
    if (st->hist.seeded && st->hist.settings) {
        make_gen(&st->hist, &s->g);
        int rc = build(s, err);
        if (rc != LSWS_OK) {
            sim_store_free(s);
            return rc;
        }
    }
    *out = s;
    return LSWS_OK;
}

void sim_store_free(struct sim_store *s)
{
    if (!s)
        return;
    free(s->alarms);
    free(s->months);
    free(s);
}

int sim_store_matches(const struct sim_store *s, const struct sim_state *st)
{
    return s && s->seeded == st->hist.seeded && s->records == st->hist.records && s->start == st->hist.start &&
           s->seed == st->hist.seed;
}

/* ---- the records of each kind, in time order ---------------------------------------------- */

/* Items of a kind: 0..n-1 in time order; the store keeps the newest CAP
 * recorded, and a clear removed those up to its time. */
static size_t kind_n(const struct sim_store *s, unsigned kind)
{
    if (!s->seeded)
        return 0;
    switch (kind) {
    case LSWS_HK_PERIODIC: return s->g.mask ? s->g.count : 0;
    case LSWS_HK_ALARM: return s->n_alarms;
    case LSWS_HK_MONTHLY_ENERGY: return s->n_months;
    default: return (s->g.mask & ~ENERGY_BITS) ? 2 * s->n_months : 0;
    }
}

static uint32_t item_ts(const struct sim_store *s, unsigned kind, size_t i)
{
    switch (kind) {
    case LSWS_HK_PERIODIC: return record_time(&s->g, (uint32_t)i);
    case LSWS_HK_ALARM: return s->alarms[i].ts;
    case LSWS_HK_MONTHLY_ENERGY: return s->months[i].ts;
    default: return s->months[i / 2].ts;
    }
}

static int item_encode(const struct sim_store *s, unsigned kind, size_t i, uint8_t *out, size_t cap, size_t *len,
                       struct lsws_error *err)
{
    switch (kind) {
    case LSWS_HK_PERIODIC: return encode_periodic(&s->g, (uint32_t)i, out, cap, len, err);
    case LSWS_HK_ALARM: return encode_alarm(&s->alarms[i], out, cap, len, err);
    case LSWS_HK_MONTHLY_ENERGY:
        return encode_month(&s->g, &s->months[i], LSWS_HIST_MONTHLY_ENERGY, out, cap, len, err);
    default:
        return encode_month(&s->g, &s->months[i / 2], i % 2 ? LSWS_HIST_MONTHLY_MAX : LSWS_HIST_MONTHLY_MIN, out,
                            cap, len, err);
    }
}

/* The first item in [lo, n) with a timestamp of at least t (or after t). */
static size_t lower(const struct sim_store *s, unsigned kind, size_t lo, size_t n, uint64_t t, int after)
{
    while (lo < n) {
        size_t mid = lo + (n - lo) / 2;
        uint64_t ts = item_ts(s, kind, mid);
        if (after ? ts <= t : ts < t)
            lo = mid + 1;
        else
            n = mid;
    }
    return lo;
}

/* The items the store holds: [*lo, *n). */
static void kept(const struct sim_store *s, const struct sim_state *st, unsigned kind, size_t *lo, size_t *n)
{
    *n = kind_n(s, kind);
    *lo = *n > CAP ? *n - CAP : 0;
    if (st->hist.cleared[kind])
        *lo = lower(s, kind, *lo, *n, st->hist.cleared[kind], 1);
}

void sim_store_status(const struct sim_store *s, const struct sim_state *st, unsigned kind, uint32_t start,
                      uint32_t end, struct lsws_history_status *out)
{
    size_t lo, n;
    memset(out, 0, sizeof *out);
    kept(s, st, kind, &lo, &n);
    size_t a = lower(s, kind, lo, n, start, 0), b = lower(s, kind, lo, n, end, 1);
    out->stored = (uint32_t)(n - lo);
    out->capacity = CAP;
    out->interval = (uint32_t)setting(st->cfg, "general.report_interval") * 60u;
    if (b > a) {
        out->count = (uint32_t)(b - a);
        out->first = item_ts(s, kind, a);
        out->last = item_ts(s, kind, b - 1);
    }
}

/* Items [a, b) encoded one after the other into a new buffer. */
static int encode_items(const struct sim_store *s, unsigned kind, size_t a, size_t b, uint8_t **bytes, size_t *len,
                        struct lsws_error *err)
{
    *bytes = NULL;
    *len = 0;
    if (a >= b)
        return LSWS_OK;
    size_t cap = (b - a) * RECORD_MAX, pos = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    for (size_t i = a; i < b; i++) {
        size_t n = 0;
        int rc = item_encode(s, kind, i, buf + pos, cap - pos, &n, err);
        if (rc != LSWS_OK) {
            free(buf);
            return rc;
        }
        pos += n;
    }
    *bytes = buf;
    *len = pos;
    return LSWS_OK;
}

int sim_store_answer(const struct sim_store *s, const struct sim_state *st, unsigned kind, int point,
                     uint32_t start, uint32_t end, uint8_t **bytes, size_t *len, uint32_t *records, int *more,
                     struct lsws_error *err)
{
    size_t lo, n, a, b;
    kept(s, st, kind, &lo, &n);
    *more = 0;
    if (point) {
        /* 5b: the record nearest start within the reporting interval; the
         * earlier on a tie; all that share its time. */
        uint64_t tol = (uint64_t)setting(st->cfg, "general.report_interval") * 60u;
        size_t i = lower(s, kind, lo, n, start, 0);
        uint64_t best = UINT64_MAX, at = 0;
        if (i > lo && start - (uint64_t)item_ts(s, kind, i - 1) <= tol) {
            at = item_ts(s, kind, i - 1);
            best = start - at;
        }
        if (i < n && (uint64_t)item_ts(s, kind, i) - start <= tol && (uint64_t)item_ts(s, kind, i) - start < best) {
            at = item_ts(s, kind, i);
            best = at - start;
        }
        a = b = lo;
        if (best != UINT64_MAX) {
            a = lower(s, kind, lo, n, at, 0);
            b = lower(s, kind, lo, n, at, 1);
        }
    } else {
        a = lower(s, kind, lo, n, start, 0);
        size_t stop = lower(s, kind, lo, n, end, 1);
        b = stop - a > LSWS_HISTORY_QUERY_MAX ? a + LSWS_HISTORY_QUERY_MAX : stop;
        *more = b < stop;
    }
    *records = (uint32_t)(b - a);
    return encode_items(s, kind, a, b, bytes, len, err);
}

int sim_store_each(const struct sim_store *s, const struct sim_state *st, unsigned kind,
                   int (*fn)(void *ctx, const uint8_t *rec, size_t len, uint32_t ts), void *ctx,
                   struct lsws_error *err)
{
    size_t lo, n;
    uint8_t buf[RECORD_MAX * 2];
    kept(s, st, kind, &lo, &n);
    for (size_t i = lo; i < n; i++) {
        size_t len = 0;
        int rc = item_encode(s, kind, i, buf, sizeof buf, &len, err);
        if (rc == LSWS_OK)
            rc = fn(ctx, buf, len, item_ts(s, kind, i));
        if (rc)
            return rc;
    }
    return LSWS_OK;
}

/* ---- recording ------------------------------------------------------------------------ */

int sim_hist_same(const struct sim_state *st, uint32_t n, int has_start, uint32_t start)
{
    return st->hist.seeded && st->hist.records == n && (!has_start || st->hist.start == start);
}

void sim_hist_release(struct sim_hist *h)
{
    lsws_config_free(h->settings);
    memset(h, 0, sizeof *h);
}

int sim_hist_copy(const struct sim_hist *from, struct sim_hist *to)
{
    *to = *from;
    to->settings = NULL;
    if (from->settings && lsws_config_copy(from->settings, &to->settings) != LSWS_OK)
        return LSWS_ERR_NOMEM;
    return LSWS_OK;
}

static void set_bool(struct lsws_config *c, const char *key, int v)
{
    int i = lsws_model_find(c->model, key);
    if (i >= 0) {
        c->values[i].num = v;
        c->present[i] = 1;
    }
}

int sim_hist_seed(struct sim_state *st, uint32_t n, int has_start, uint32_t start, int64_t now,
                  struct lsws_error *err)
{
    if (st->model->id != LSWS_MODEL_CTH01)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "a %s stores no history (the CTH01 does)",
                         st->model->name);
    if (n > SIM_HISTORY_RECORDS_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "history records: %u is more than %u", n,
                         SIM_HISTORY_RECORDS_MAX);
    uint32_t interval = (uint32_t)setting(st->cfg, "general.report_interval") * 60u;
    if (!interval)
        interval = 600;
    if (!has_start) {
        int64_t s = now - (int64_t)n * interval;
        if (s < 86400)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                             "%u records at %u min do not fit before the device time: give a start", n,
                             interval / 60);
        start = (uint32_t)(s - s % interval);
    }
    if (start < 86400 || (uint64_t)start + (uint64_t)n * interval > UINT32_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "history start %u with %u records at %u min is outside 1970-01-02..2106", start, n,
                         interval / 60);
    struct lsws_config *snap;
    set_bool(st->cfg, "storage.enabled", 1); /* a unit that recorded had storage on */
    if (lsws_config_copy(st->cfg, &snap) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    sim_hist_release(&st->hist);
    uint32_t seed = 2166136261u;
    for (const char *p = st->id.sn; *p; p++)
        seed = (seed ^ (uint8_t)*p) * 16777619u;
    st->hist.seeded = 1;
    st->hist.records = n;
    st->hist.start = start;
    st->hist.seed = seed ^ start; /* the unit's loads, whatever the number of records */
    st->hist.settings = snap;
    /* It kept time while it recorded: its clock is set, and not before
     * its last record. */
    st->clock_set = 1;
    int64_t end = (int64_t)start + (int64_t)n * interval;
    if (now < end)
        st->clock_offset += end - now;
    return LSWS_OK;
}
