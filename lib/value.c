/* Setting values: parse text, check type and range, format canonically.
 * Every rule comes from the setting's table row. */
#include "model_rows.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CHANNELS 96

static const struct lsws_setting *setting(const struct lsws_model *m, size_t idx)
{
    return &m->settings[idx];
}

static int64_t pow10i(unsigned n)
{
    int64_t p = 1;
    while (n--)
        p *= 10;
    return p;
}

/* Writes a scaled integer as decimal text: 2718, 2 -> "27.18". */
static void format_scaled(int64_t v, unsigned scale, char *buf, size_t n)
{
    if (!scale) {
        snprintf(buf, n, "%" PRId64, v);
        return;
    }
    if (scale > 18)
        scale = 18;
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t p = (uint64_t)pow10i(scale), f = a % p;
    char frac[20];
    for (unsigned i = scale; i-- > 0; f /= 10)
        frac[i] = (char)('0' + f % 10);
    frac[scale] = '\0';
    snprintf(buf, n, "%s%" PRIu64 ".%s", v < 0 ? "-" : "", a / p, frac);
}

/* Parses "-12.5" with at most `scale` decimals into a scaled integer:
 * 0, or -1 not a number, -2 too many decimals, -3 too many digits for any
 * setting (so an absurd number is out of range, never wrapped). */
static int parse_scaled(const char *text, unsigned scale, int64_t *out)
{
    const char *p = text;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p))
        return -1;
    int64_t v = 0;
    unsigned digits = 0, decimals = 0;
    int seen_point = 0;
    for (; *p; p++) {
        if (*p == '.' && !seen_point && scale) {
            seen_point = 1;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            return -1;
        if (seen_point && ++decimals > scale)
            return -2;
        if (++digits > 15) {
            while (isdigit((unsigned char)*p) || (*p == '.' && !seen_point && scale))
                seen_point |= *p++ == '.';
            return *p ? -1 : -3;
        }
        v = v * 10 + (*p - '0');
    }
    if (seen_point && decimals == 0)
        return -1;
    v *= pow10i(scale - decimals);
    *out = neg ? -v : v;
    return 0;
}

static void describe_range(const struct lsws_setting *s, char *buf, size_t n)
{
    char lo[32], hi[32];
    format_scaled(s->row->min, s->row->scale, lo, sizeof lo);
    format_scaled(s->row->max, s->row->scale, hi, sizeof hi);
    snprintf(buf, n, "%s..%s%s%s", lo, hi, s->row->unit ? " " : "", s->row->unit ? s->row->unit : "");
}

static void describe_enum(const struct lsws_enum *e, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (; e->name && used < n; e++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? ", " : "", e->name);
}

void lsws_setting_allowed(const struct lsws_model *model, size_t idx, char *buf, size_t n)
{
    const struct lsws_setting *s = setting(model, idx);
    const struct lsws_row *row = s->row;
    switch (row->type) {
    case LSWS_T_UINT:
    case LSWS_T_INT:
        describe_range(s, buf, n);
        break;
    case LSWS_T_ENUM:
        describe_enum(row->enums, buf, n);
        break;
    case LSWS_T_BOOL:
        snprintf(buf, n, "true, false");
        break;
    case LSWS_T_HEX:
        snprintf(buf, n, "%d hex digits", (int)row->max * 2);
        break;
    case LSWS_T_TEXT:
        snprintf(buf, n, "%d-%d printable characters", (int)row->min, (int)row->max);
        break;
    case LSWS_T_PASSWORD:
        snprintf(buf, n, "6 letters, digits or underscores");
        break;
    case LSWS_T_CHANNELS:
        snprintf(buf, n, "channel list (\"1-40, 60\"), All, Null");
        break;
    case LSWS_T_UTC_OFFSET:
        snprintf(buf, n, "UTC-12:00..UTC+14:00");
        break;
    }
}

static const struct {
    const char *text;
    int value;
} bool_words[] = {
    {"true", 1}, {"false", 0}, {"on", 1}, {"off", 0}, {"yes", 1}, {"no", 0},
    {"1", 1}, {"0", 0}, {"enable", 1}, {"disable", 0}, {"enabled", 1}, {"disabled", 0},
};

static int parse_bool(const char *text, int64_t *out)
{
    for (size_t i = 0; i < sizeof bool_words / sizeof bool_words[0]; i++)
        if (strcasecmp(text, bool_words[i].text) == 0) {
            *out = bool_words[i].value;
            return 0;
        }
    return -1;
}

/* Reads the digits at *p; anything past MAX_CHANNELS reads as MAX_CHANNELS,
 * so no input overflows or prints as a number it is not. */
static long channel_index(const char **p)
{
    long v = 0;
    for (; isdigit((unsigned char)**p); (*p)++)
        if (v < MAX_CHANNELS)
            v = v * 10 + (**p - '0');
    return v < MAX_CHANNELS ? v : MAX_CHANNELS;
}

/* "1-40, 60", "All", "Null": channel bitmap in bytes, all-flag in num. */
static int parse_channels(const char *text, struct lsws_value *v, char *why, size_t n)
{
    memset(v, 0, sizeof *v);
    v->len = MAX_CHANNELS / 8;
    while (isspace((unsigned char)*text))
        text++;
    if (strcasecmp(text, "all") == 0) {
        v->num = 1;
        return 0;
    }
    if (strcasecmp(text, "null") == 0)
        return 0;
    const char *p = text;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!isdigit((unsigned char)*p))
            return snprintf(why, n, "expected a channel index at '%.16s'", p), -1;
        const char *lo_text = p, *hi_text = p;
        long lo = channel_index(&p), hi = lo;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '-') {
            p++;
            while (isspace((unsigned char)*p))
                p++;
            if (!isdigit((unsigned char)*p))
                return snprintf(why, n, "expected a channel index after '-'"), -1;
            hi_text = p;
            hi = channel_index(&p);
        }
        if (lo >= MAX_CHANNELS || hi >= MAX_CHANNELS) {
            /* The number as typed, at most 8 digits of it. */
            const char *bad = lo >= MAX_CHANNELS ? lo_text : hi_text;
            size_t digits = strspn(bad, "0123456789");
            return snprintf(why, n, "channel %.*s%s is not within 0-%d", (int)(digits > 8 ? 8 : digits),
                            bad, digits > 8 ? "..." : "", MAX_CHANNELS - 1), -1;
        }
        if (lo > hi)
            return snprintf(why, n, "channel range %ld-%ld is backwards (write %ld-%ld)", lo, hi, hi,
                            lo), -1;
        for (long c = lo; c <= hi; c++)
            v->bytes[c / 8] |= (uint8_t)(1u << (c % 8));
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return 0;
        if (*p != ',')
            return snprintf(why, n, "unexpected '%c' in channel list", *p), -1;
        p++;
    }
}

static void format_channels(const struct lsws_value *v, char *buf, size_t n)
{
    if (v->num) {
        snprintf(buf, n, "All");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < MAX_CHANNELS && used < n;) {
        if (!(v->bytes[c / 8] >> (c % 8) & 1)) {
            c++;
            continue;
        }
        int end = c;
        while (end + 1 < MAX_CHANNELS && (v->bytes[(end + 1) / 8] >> ((end + 1) % 8) & 1))
            end++;
        if (end == c)
            used += (size_t)snprintf(buf + used, n - used, "%s%d", used ? ", " : "", c);
        else
            used += (size_t)snprintf(buf + used, n - used, "%s%d-%d", used ? ", " : "", c, end);
        c = end + 1;
    }
    if (!used)
        snprintf(buf, n, "Null");
}

/* "UTC+05:30", "UTC-4", "+8", "-04:00", "UTC" -> minutes. */
static int parse_utc_offset(const char *text, int64_t *out)
{
    const char *p = text;
    if (strncasecmp(p, "utc", 3) == 0 || strncasecmp(p, "gmt", 3) == 0)
        p += 3;
    if (!*p) {
        *out = 0;
        return 0;
    }
    int sign = *p == '-' ? -1 : *p == '+' ? 1 : 0;
    if (!sign)
        return -1;
    p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    long h = strtol(p, (char **)&p, 10), m = 0;
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2])
            return -1;
        m = (p[0] - '0') * 10 + (p[1] - '0');
    } else if (*p) {
        return -1;
    }
    if (h > 14 || m > 59)
        return -1;
    *out = sign * (h * 60 + m);
    return 0;
}

/* A key that is almost right must not be repeated in a message (it would
 * land in logs and terminals): say what is wrong, without the value. */
static int bad_secret_hex(const struct lsws_setting *s, const char *text, const struct lsws_error *herr,
                          struct lsws_error *err)
{
    int want = (int)s->row->max * 2;
    if (herr->code == LSWS_ERR_SYNTAX && strstr(herr->msg, "not a hex digit"))
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "%s: character %zu is not a hex digit (allowed: %d hex digits)", s->key,
                         herr->offset + 1, want);
    size_t digits = 0;
    for (const char *p = text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? text + 2 : text; *p; p++)
        digits += isxdigit((unsigned char)*p) != 0;
    return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: %zu hex digits%s, not %d", s->key, digits,
                     digits % 2 ? " (an odd number)" : "", want);
}

int lsws_value_parse(const struct lsws_model *model, size_t idx, const char *text,
                     struct lsws_value *v, struct lsws_error *err)
{
    const struct lsws_setting *s = setting(model, idx);
    const struct lsws_row *row = s->row;
    char allowed[512];
    size_t len = strlen(text);
    memset(v, 0, sizeof *v);

    /* An empty value is a mistake ("time.zone=" would read as UTC, a
     * channel list as none), whatever the type. */
    if (len == 0) {
        lsws_setting_allowed(model, idx, allowed, sizeof allowed);
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: empty value (allowed: %s)", s->key, allowed);
    }
    switch (row->type) {
    case LSWS_T_BOOL:
        if (parse_bool(text, &v->num) < 0)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "%s: '%s' is not a boolean (allowed: true, false)", s->key, text);
        return LSWS_OK;
    case LSWS_T_UINT:
    case LSWS_T_INT: {
        int rc = parse_scaled(text, row->scale, &v->num);
        describe_range(s, allowed, sizeof allowed);
        if (rc == -2)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "%s: '%s' has more than %u decimals (allowed: %s)", s->key, text,
                             row->scale, allowed);
        if (rc == -3)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: %.20s%s is out of range (allowed: %s)",
                             s->key, text, len > 20 ? "..." : "", allowed);
        if (rc < 0)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: '%s' is not a number (allowed: %s)",
                             s->key, text, allowed);
        if (v->num < row->min || v->num > row->max)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: %s is out of range (allowed: %s)",
                             s->key, text, allowed);
        return LSWS_OK;
    }
    case LSWS_T_ENUM:
        for (const struct lsws_enum *e = row->enums; e->name; e++)
            if (strcasecmp(text, e->name) == 0) {
                v->num = e->value;
                return LSWS_OK;
            }
        describe_enum(row->enums, allowed, sizeof allowed);
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: '%s' is not one of: %s", s->key, text,
                         allowed);
    case LSWS_T_HEX: {
        struct lsws_error herr;
        size_t n = 0;
        lsws_error_clear(&herr);
        if (lsws_hex_parse(text, v->bytes, (size_t)row->max, &n, &herr) == LSWS_OK && n == (size_t)row->max) {
            v->len = (uint8_t)n;
            return LSWS_OK;
        }
        if (row->flags & LSWS_F_SECRET)
            return bad_secret_hex(s, text, &herr, err);
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: '%s' is not %d hex digits%s%s",
                         s->key, text, (int)row->max * 2, herr.msg[0] ? ": " : "", herr.msg);
    }
    case LSWS_T_TEXT:
    case LSWS_T_PASSWORD:
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)text[i];
            int ok = row->type == LSWS_T_TEXT ? (c >= 0x20 && c < 0x7f) : (isalnum(c) || c == '_');
            if (!ok)
                return lsws_fail(err, LSWS_ERR_INVALID, i, "%s: character %zu is not allowed (%s)",
                                 s->key, i + 1,
                                 row->type == LSWS_T_TEXT ? "printable ASCII only"
                                                          : "letters, digits and underscore only");
        }
        if ((int64_t)len < row->min || (int64_t)len > row->max) {
            if (row->min == row->max)
                return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: must be exactly %d characters",
                                 s->key, (int)row->max);
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s: must be %d to %d characters, not %zu",
                             s->key, (int)row->min, (int)row->max, len);
        }
        memcpy(v->bytes, text, len);
        v->len = (uint8_t)len;
        return LSWS_OK;
    case LSWS_T_CHANNELS:
        if (parse_channels(text, v, allowed, sizeof allowed) < 0)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: '%s': %s (examples: \"1-40, 60\", "
                             "\"All\", \"Null\")", s->key, text, allowed);
        return LSWS_OK;
    case LSWS_T_UTC_OFFSET:
        if (parse_utc_offset(text, &v->num) < 0 || v->num < row->min || v->num > row->max)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "%s: '%s' is not a UTC offset from UTC-12:00 to UTC+14:00", s->key, text);
        return LSWS_OK;
    }
    return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: unsupported type", s->key);
}

static const char *enum_name(const struct lsws_enum *e, int64_t value)
{
    for (; e->name; e++)
        if (e->value == value)
            return e->name;
    return NULL;
}

int lsws_value_format(const struct lsws_model *model, size_t idx, const struct lsws_value *v,
                      char *buf, size_t n)
{
    const struct lsws_row *row = setting(model, idx)->row;
    switch (row->type) {
    case LSWS_T_BOOL:
        snprintf(buf, n, "%s", v->num ? "true" : "false");
        break;
    case LSWS_T_UINT:
    case LSWS_T_INT:
        format_scaled(v->num, row->scale, buf, n);
        break;
    case LSWS_T_ENUM: {
        const char *name = enum_name(row->enums, v->num);
        if (!name) {
            snprintf(buf, n, "%" PRId64, v->num);
            return LSWS_ERR_INVALID;
        }
        snprintf(buf, n, "%s", name);
        break;
    }
    case LSWS_T_HEX:
        if (n < 2u * v->len + 1)
            return LSWS_ERR_INVALID;
        lsws_hex_format(v->bytes, v->len, buf);
        break;
    case LSWS_T_TEXT:
    case LSWS_T_PASSWORD:
        snprintf(buf, n, "%.*s", (int)v->len, (const char *)v->bytes);
        break;
    case LSWS_T_CHANNELS:
        format_channels(v, buf, n);
        break;
    case LSWS_T_UTC_OFFSET: {
        int64_t a = v->num < 0 ? -v->num : v->num;
        snprintf(buf, n, "UTC%c%02d:%02d", v->num < 0 ? '-' : '+', (int)(a / 60), (int)(a % 60));
        break;
    }
    }
    return LSWS_OK;
}

int lsws_value_equal(const struct lsws_model *model, size_t idx, const struct lsws_value *a,
                     const struct lsws_value *b)
{
    switch (setting(model, idx)->row->type) {
    case LSWS_T_HEX:
    case LSWS_T_TEXT:
    case LSWS_T_PASSWORD:
        return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
    case LSWS_T_CHANNELS:
        return a->num == b->num && (a->num || memcmp(a->bytes, b->bytes, MAX_CHANNELS / 8) == 0);
    default:
        return a->num == b->num;
    }
}
