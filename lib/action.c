/* Control actions: what a unit can be told to do over LoRaWAN that is no
 * setting (switch, reboot, rejoin, query, history), as downlink bytes.
 *
 * An action names a command of the uplink tables (lib/uplink.c): its
 * layout there is the downlink's layout, and the unit's echo of it decodes
 * with that same description. This table only says how a technician's
 * words fill the command's value fields. Pure: no I/O. */
#include "le.h"
#include "model_rows.h"
#include "uplink_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum arg_kind {
    ARG_VALUE,    /* no operand: the field holds `value` */
    ARG_ENUM,     /* a name of the field's enum (on/off also as open/close) */
    ARG_DURATION, /* seconds: "90", "90s", "20min", "1h30m" */
    ARG_TIME,     /* Unix seconds or ISO 8601 */
    ARG_CHANNEL,  /* "all" (0) or a current channel 1-12 */
};

#define MAX_ARGS 4
struct action_def {
    struct lsws_action a;
    uint8_t kinds[MAX_ARGS]; /* one per value field of the command, in order */
    int64_t values[MAX_ARGS];
    /* Checks the values together (NULL: none); fills why and returns -1. */
    int (*check)(const int64_t *v, char *why, size_t n);
};

#define A(name_, args_, code_, len_, help_, src_, ex_)                                             \
    .a = {.name = name_, .args = args_, .help = help_, .source = src_, .example = ex_,           \
          .code = code_, .code_len = len_}

#define WS_CH6 "WS523 guide v1.3 ch.6 Downlink Command"
#define WS_TASK "WS523 guide v1.3 ch.6 Task Settings"
#define CTH_GEN "CTH01 guide ch.5 Commands for General Settings"
#define CTH_TIME "CTH01 guide ch.5 Commands for Time Settings"
#define CTH_QUERY "CTH01 guide ch.5 Commands for Configuration Query"
#define CTH_HIST "CTH01 guide ch.5 Commands for Historical Data Query"
#define HIST_TYPES "TYPE"

static int check_range(const int64_t *v, char *why, size_t n)
{
    if (v[1] > v[2]) {
        snprintf(why, n, "the range ends (%lld) before it starts (%lld)", (long long)v[2],
                 (long long)v[1]);
        return -1;
    }
    return 0;
}

static const struct action_def ws523_actions[] = {
    /* 08 state 00 ff: "0000ff-Socket close, 0100ff-Socket open". */
    {A("socket", "on|off", 0x08, 1, "switch the socket on (open) or off (close)",
       WS_CH6 ", Socket Control", "on"),
     {ARG_ENUM}},
    /* ff22 00 SSSS 1X: "The device supports adding only one task. Later
     * command will cover previous command." */
    {A("delay", "DURATION on|off", 0xff22, 2,
       "switch the socket on or off after DURATION (up to 65535 s); replaces the pending task",
       WS_TASK " (Add Delay Task)", "60s on"),
     {ARG_DURATION, ARG_ENUM}},
    {A("delay cancel", "", 0xff23, 2, "delete the pending delay task",
       WS_TASK " (Delete Delay Task)", ""),
     {ARG_VALUE}, {0}},
    {A("reboot", "", 0xff10, 2, "reboot the socket", WS_CH6 ", General Settings (Reboot)", ""),
     {ARG_VALUE}, {0xff}},
    {A("energy reset", "", 0xff27, 2, "reset the power consumption count to 0",
       WS_CH6 ", General Settings (Reset Power Consumption)", ""),
     {ARG_VALUE}, {0xff}},
    {A("query status", "", 0xff28, 2, "ask for an electrical status report now",
       WS_CH6 ", General Settings (Enquire Electrical Status)", ""),
     {ARG_VALUE}, {0xff}},
};

static const struct action_def cth01_actions[] = {
    {A("reboot", "", 0xbe, 1, "reboot the hub", CTH_GEN " (Reboot, be)", ""), {0}},
    {A("rejoin", "", 0xb6, 1, "rejoin the network", CTH_GEN " (Rejoin the Network, b6)", ""), {0}},
    {A("time sync", "", 0xb8, 1, "set the clock from the network server (DeviceTimeReq)",
       CTH_TIME " (Sync Time from LNS, b8)", ""),
     {0}},
    /* The guide names b9 twice: "Enquiry Periodic Report" (General
     * Settings) and "Report Interval" (Configuration Query), whose example
     * reply is 61010a00. lsws sends b9 for both and decodes either answer. */
    {A("query interval", "", 0xb9, 1,
       "ask for the reporting interval (b9, also \"Enquiry Periodic Report\")",
       CTH_QUERY " (Report Interval, b9); " CTH_GEN " (Enquiry Periodic Report, b9)", ""),
     {0}},
    {A("query", "temperature|current|voltage|thdi|thdv|unbalance", 0x58, 1,
       "ask for a threshold alarm's configuration (the hub answers with 76-7b)",
       CTH_QUERY " (Threshold Configuration, 58)", "temperature"),
     {ARG_ENUM}},
    {A("history point", HIST_TYPES " TIME", 0x5b, 1,
       "send the stored TYPE record nearest to TIME (TYPE: alarm, periodic, monthly_energy, "
       "monthly_minmax)",
       CTH_HIST " (5b)", "periodic 2026-02-01T17:00:00Z"),
     {ARG_ENUM, ARG_TIME}},
    {A("history range", HIST_TYPES " START END", 0x5c, 1,
       "send the stored records from START to END (at most 300 per query)", CTH_HIST " (5c)",
       "periodic 1769702400 1770652800"),
     {ARG_ENUM, ARG_TIME, ARG_TIME}, {0}, check_range},
    {A("history stop", HIST_TYPES, 0x5d, 1, "stop sending history records", CTH_HIST " (5d)",
       "periodic"),
     {ARG_ENUM}},
    {A("history clear", HIST_TYPES, 0x5e, 1, "delete the stored records of a kind",
       CTH_HIST " (5e); " CTH_GEN " (Clear History Data)", "alarm"),
     {ARG_ENUM}},
    /* 5f "00=Clear All, 01=Clear Channel 1, ..., 12=Clear Channel 12": the
     * table is in hex, but the list runs 1 to 12 consecutively, so "12" is
     * channel 12, byte 0c (docs/decode.md). */
    {A("energy clear", "all|CHANNEL", 0x5f, 1, "clear the total energy of all channels or one (1-12)",
       CTH_GEN " (Clear Total Energy, 5f)", "all"),
     {ARG_CHANNEL}},
};

static const struct {
    const struct action_def *defs;
    size_t n;
} tables[LSWS_MODEL_COUNT] = {
    [LSWS_MODEL_WS523] = {ws523_actions, sizeof ws523_actions / sizeof ws523_actions[0]},
    [LSWS_MODEL_CTH01] = {cth01_actions, sizeof cth01_actions / sizeof cth01_actions[0]},
};

static const struct action_def *def_of(enum lsws_model_id model, const struct lsws_action *a)
{
    if ((int)model < 0 || model >= LSWS_MODEL_COUNT)
        return NULL;
    for (size_t i = 0; i < tables[model].n; i++)
        if (&tables[model].defs[i].a == a)
            return &tables[model].defs[i];
    return NULL;
}

const struct lsws_action *lsws_action_at(enum lsws_model_id model, size_t i)
{
    if ((int)model < 0 || model >= LSWS_MODEL_COUNT || i >= tables[model].n)
        return NULL;
    return &tables[model].defs[i].a;
}

static int count_words(const char *name)
{
    int n = 1;
    for (const char *p = name; *p; p++)
        n += *p == ' ';
    return n;
}

int lsws_action_argc(const struct lsws_action *a)
{
    return a->args[0] ? count_words(a->args) : 0;
}

/* Whether name's words are words[0..n). */
static int name_matches(const char *name, int n, const char *const *words)
{
    const char *p = name;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(words[i]);
        if (strncmp(p, words[i], len) != 0 || (p[len] != ' ' && p[len] != '\0'))
            return 0;
        p += len;
        if (*p == ' ')
            p++;
        else if (i + 1 < n)
            return 0;
    }
    return *p == '\0';
}

const struct lsws_action *lsws_action_find(enum lsws_model_id model, int n,
                                           const char *const *words, int *used)
{
    const struct lsws_action *best = NULL;
    int best_words = 0;
    for (size_t i = 0; (int)model >= 0 && model < LSWS_MODEL_COUNT && i < tables[model].n; i++) {
        const struct lsws_action *a = &tables[model].defs[i].a;
        int w = count_words(a->name);
        if (w <= n && w > best_words && name_matches(a->name, w, words)) {
            best = a;
            best_words = w;
        }
    }
    if (used)
        *used = best_words;
    return best;
}

/* ---- operands ----------------------------------------------------------------- */

static int parse_uint(const char *text, int64_t max, int64_t *out)
{
    if (!isdigit((unsigned char)text[0]))
        return -1;
    int64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        if (v > max)
            return -2;
    }
    *out = v;
    return 0;
}

/* Two digits at p into *v: 0, or -1. */
static int digits2(const char *p, int *v)
{
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Unix seconds, or "YYYY-MM-DD[THH:MM[:SS]](Z|+HH:MM|-HH:MM)" (a date
 * alone is midnight UTC); 0 or -1. */
static int parse_time(const char *text, int64_t *out)
{
    if (parse_uint(text, UINT32_MAX, out) == 0)
        return 0;
    const char *p = text;
    int y1, y2, mo, d, h = 0, mi = 0, s = 0;
    if (digits2(p, &y1) || digits2(p + 2, &y2) || p[4] != '-' || digits2(p + 5, &mo) ||
        p[7] != '-' || digits2(p + 8, &d))
        return -1;
    p += 10;
    int64_t offset = 0;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        if (digits2(p + 1, &h) || p[3] != ':' || digits2(p + 4, &mi))
            return -1;
        p += 6;
        if (*p == ':') {
            if (digits2(p + 1, &s))
                return -1;
            p += 3;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om, sign = *p == '-' ? -1 : 1;
            if (digits2(p + 1, &oh) || p[3] != ':' || digits2(p + 4, &om) || oh > 14 || om > 59)
                return -1;
            offset = sign * (oh * 3600 + om * 60);
            p += 6;
        } else {
            return -1; /* a local time would depend on this computer's zone */
        }
        if (*p)
            return -1;
    }
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] || h > 23 || mi > 59 || s > 59)
        return -1;
    int64_t y = y1 * 100 + y2;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -1;
    int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s -
                offset;
    if (t < 0 || t > UINT32_MAX)
        return -1;
    *out = t;
    return 0;
}

/* The word the enum names: on/off also open/close (the guides' words). */
static int parse_enum(const struct ufield *f, const char *text, int64_t *out)
{
    static const struct {
        const char *alias, *name;
    } aliases[] = {{"open", "on"}, {"close", "off"}};
    for (int pass = 0; pass < 2; pass++) {
        const char *want = text;
        if (pass == 1) {
            want = NULL;
            for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
                if (strcasecmp(text, aliases[i].alias) == 0)
                    want = aliases[i].name;
            if (!want)
                return -1;
        }
        for (const struct lsws_enum *e = f->names; e && e->name; e++)
            if (strcasecmp(want, e->name) == 0) {
                *out = e->value;
                return 0;
            }
    }
    return -1;
}

static void enum_words(const struct ufield *f, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const struct lsws_enum *e = f->names; e && e->name && used < n; e++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? ", " : "", e->name);
}

static int parse_operand(const struct lsws_action *a, const struct ufield *f, enum arg_kind kind,
                         const char *text, int64_t *v, struct lsws_error *err)
{
    int64_t max = f->width >= 8 ? INT64_MAX : (int64_t)((1ull << (8 * f->width)) - 1);
    char list[160];
    switch (kind) {
    case ARG_ENUM:
        if (parse_enum(f, text, v) == 0)
            return LSWS_OK;
        enum_words(f, list, sizeof list);
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: '%s' is not one of: %s", a->name,
                         text, list);
    case ARG_DURATION: {
        int rc = lsws_parse_duration(text, v);
        if (rc == -2)
            rc = parse_uint(text, max, v) == 0 ? 0 : -1;
        if (rc < 0)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "%s: '%s' is not a duration (90, 90s, 20min, 1h30m)", a->name, text);
        if (*v > max)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                             "%s: %s is %lld s: at most %lld s", a->name, text, (long long)*v,
                             (long long)max);
        return LSWS_OK;
    }
    case ARG_TIME:
        if (parse_time(text, v) == 0)
            return LSWS_OK;
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "%s: '%s' is not a time (Unix seconds, or 2026-02-01T17:00:00Z, with Z or "
                         "an offset)",
                         a->name, text);
    case ARG_CHANNEL:
        if (strcasecmp(text, "all") == 0) {
            *v = 0;
            return LSWS_OK;
        }
        if (parse_uint(text, 12, v) == 0 && *v >= 1)
            return LSWS_OK;
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: '%s' is not all or a channel 1-12",
                         a->name, text);
    case ARG_VALUE:
        break;
    }
    return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: takes no operand here", a->name);
}

int lsws_action_encode(enum lsws_model_id model, const struct lsws_action *a, int n,
                       const char *const *args, uint8_t *out, size_t cap, size_t *len,
                       struct lsws_error *err)
{
    const struct action_def *d = def_of(model, a);
    if (!d)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "not an action of this model");
    const struct ucmd *cmd = lsws_uplink_cmd(model, a->code, a->code_len);
    if (!cmd)
        abort(); /* an action names a command no uplink table has: a table bug */
    int want = lsws_action_argc(a);
    if (n != want)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s takes %d operand%s (%s), not %d",
                         a->name, want, want == 1 ? "" : "s", want ? a->args : "none", n);
    uint8_t buf[64];
    size_t pos = 0;
    if (a->code_len == 2)
        buf[pos++] = (uint8_t)(a->code >> 8);
    buf[pos++] = (uint8_t)a->code;
    int64_t values[MAX_ARGS] = {0};
    int arg = 0;
    unsigned vf = 0;
    for (unsigned i = 0; i < cmd->nf; i++) {
        const struct ufield *f = &cmd->f[i];
        if (pos + f->width > sizeof buf || f->count != 1 || vf >= MAX_ARGS)
            abort(); /* action commands are short, one value per field */
        if (f->type == FT_FIXED) {
            lsws_put_le(buf + pos, f->width, f->fix);
            pos += f->width;
            continue;
        }
        int64_t v = d->values[vf];
        if (d->kinds[vf] != ARG_VALUE) {
            int rc = parse_operand(a, f, (enum arg_kind)d->kinds[vf], args[arg++], &v, err);
            if (rc)
                return rc;
        }
        values[vf++] = v;
        lsws_put_le(buf + pos, f->width, (uint64_t)v);
        pos += f->width;
    }
    char why[160];
    if (d->check && d->check(values, why, sizeof why))
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: %s", a->name, why);
    if (*len > cap || pos > cap - *len)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "the downlink exceeds %zu bytes", cap);
    memcpy(out + *len, buf, pos);
    *len += pos;
    return LSWS_OK;
}
