/* Rendering decoded uplinks: compact JSON and human-readable text.
 *
 * Written by hand into the caller's buffer (no jansson): this runs once per
 * payload when streaming millions of them, and piece by piece for payloads
 * decoded record by record (lsws_uplink_json_stream). Numbers are printed from the raw
 * integer and its scale, so 2226 with scale 1 is exactly "222.6". Both
 * functions follow snprintf: they return the length needed. */
#include "lsws.h"

#include <string.h>

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void putc_(struct out *o, char c)
{
    put(o, &c, 1);
}

static size_t finish(struct out *o)
{
    if (o->cap)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

static size_t fmt_uint(char *s, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        s[i] = tmp[n - 1 - i];
    return n;
}

/* value / 10^scale with exactly `scale` decimals: -30, 2 -> "-0.30". */
static size_t fmt_scaled(char *s, int64_t value, unsigned scale)
{
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    char digits[24];
    size_t n = fmt_uint(digits, mag), len = 0;
    if (scale > 19)
        scale = 19;
    if (value < 0)
        s[len++] = '-';
    if (n <= scale) { /* leading "0." and zeros */
        s[len++] = '0';
        s[len++] = '.';
        for (size_t i = n; i < scale; i++)
            s[len++] = '0';
        memcpy(s + len, digits, n);
        return len + n;
    }
    memcpy(s + len, digits, n - scale);
    len += n - scale;
    if (scale) {
        s[len++] = '.';
        memcpy(s + len, digits + n - scale, scale);
        len += scale;
    }
    return len;
}

static void put_num(struct out *o, int64_t value, unsigned scale)
{
    char s[48];
    put(o, s, fmt_scaled(s, value, scale));
}

static void put_uint(struct out *o, uint64_t v)
{
    char s[24];
    put(o, s, fmt_uint(s, v));
}

/* Strings here are static names, hex and versions; escape anyway so a
 * hand-built reading cannot break the JSON. */
static void put_jstr(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    putc_(o, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, run, (size_t)(s - run));
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\')
            put(o, (char[]){'\\', (char)c}, 2);
        else
            put(o, e, 6);
        run = s + 1;
    }
    put(o, run, (size_t)(s - run));
    putc_(o, '"');
}

static int same_name(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static const char *text_of(const struct lsws_reading *r)
{
    if (r->kind == LSWS_RD_TEXT)
        return r->str;
    return r->text ? r->text : "";
}

static void json_value(struct out *o, const struct lsws_reading *r)
{
    switch (r->kind) {
    case LSWS_RD_NUM:
        put_num(o, r->value, r->scale);
        break;
    case LSWS_RD_ALARM:
        putc_(o, '{');
        if (r->channel) {
            puts_(o, "\"channel\":");
            put_uint(o, r->channel);
            putc_(o, ',');
        }
        puts_(o, "\"type\":");
        put_jstr(o, text_of(r));
        puts_(o, ",\"value\":");
        put_num(o, r->value, r->scale);
        putc_(o, '}');
        break;
    case LSWS_RD_REPLY:
        puts_(o, "{\"result\":");
        put_jstr(o, text_of(r));
        puts_(o, ",\"result_code\":");
        put_num(o, r->value, 0);
        puts_(o, ",\"id\":");
        put_jstr(o, r->str);
        putc_(o, '}');
        break;
    default:
        put_jstr(o, text_of(r));
        break;
    }
}

/* Members for readings [a, b) of one scope (live data or one record).
 * Readings of one name become one member: channel readings a JSON array
 * indexed by channel (null where absent), repeated readings an array in
 * order, replies ("ans") always an array. */
static void json_scope(struct out *o, const struct lsws_reading *r, size_t a, size_t b, int comma)
{
    uint8_t done[LSWS_UPLINK_MAX];
    memset(done + a, 0, b - a);
    for (size_t i = a; i < b; i++) {
        if (done[i])
            continue;
        const char *name = r[i].name;
        size_t count = 0;
        unsigned maxch = 0;
        int by_channel = r[i].channel && r[i].kind != LSWS_RD_ALARM && r[i].kind != LSWS_RD_REPLY;
        for (size_t j = i; j < b; j++) {
            if (done[j] || !same_name(r[j].name, name))
                continue;
            done[j] = 1;
            count++;
            if (r[j].channel > maxch)
                maxch = r[j].channel;
        }
        if (comma)
            putc_(o, ',');
        comma = 1;
        put_jstr(o, name ? name : "");
        putc_(o, ':');
        if (by_channel) {
            /* Channel c goes to index c - 1; the last reading of a channel wins. */
            short at[256];
            for (unsigned c = 1; c <= maxch; c++)
                at[c] = -1;
            for (size_t j = i; j < b; j++)
                if (r[j].channel && same_name(r[j].name, name))
                    at[r[j].channel] = (short)j;
            putc_(o, '[');
            for (unsigned c = 1; c <= maxch; c++) {
                if (c > 1)
                    putc_(o, ',');
                if (at[c] < 0)
                    puts_(o, "null");
                else
                    json_value(o, &r[at[c]]);
            }
            putc_(o, ']');
        } else if (count == 1 && r[i].kind != LSWS_RD_REPLY) {
            json_value(o, &r[i]);
        } else {
            putc_(o, '[');
            int first = 1;
            for (size_t j = i; j < b; j++) {
                if (!same_name(r[j].name, name))
                    continue;
                if (!first)
                    putc_(o, ',');
                first = 0;
                json_value(o, &r[j]);
            }
            putc_(o, ']');
        }
    }
}

/* End of the run of readings that share r[a].record. */
static size_t run_end(const struct lsws_uplink *up, size_t a)
{
    size_t b = a;
    while (b < up->n && up->r[b].record == up->r[a].record)
        b++;
    return b;
}

/* Progress of one JSON object written piece by piece (lsws_uplink_json_stream). */
enum { JS_OPEN = 1, JS_MEMBERS = 2, JS_HISTORY = 4 };

/* The next piece of the object *state has begun: the readings of up, live
 * data as members, each history record as an element of "history". */
static void json_piece(struct out *o, const struct lsws_uplink *up, unsigned *state)
{
    size_t n = up->n > LSWS_UPLINK_MAX ? LSWS_UPLINK_MAX : up->n;
    if (!(*state & JS_OPEN)) {
        putc_(o, '{');
        *state |= JS_OPEN;
    }
    for (size_t a = 0; a < n;) {
        size_t b = run_end(up, a);
        const struct lsws_reading *h = &up->r[a];
        if (h->record == 0 && !(*state & JS_HISTORY)) {
            json_scope(o, up->r, a, b, (*state & JS_MEMBERS) != 0);
            *state |= JS_MEMBERS;
            a = b;
            continue;
        }
        if (*state & JS_HISTORY)
            putc_(o, ',');
        else
            puts_(o, *state & JS_MEMBERS ? ",\"history\":[" : "\"history\":[");
        *state |= JS_HISTORY;
        puts_(o, "{\"mode\":");
        const char *mode = lsws_history_mode_name(h->mode);
        if (mode)
            put_jstr(o, mode);
        else
            put_uint(o, h->mode);
        puts_(o, ",\"timestamp\":");
        put_uint(o, h->timestamp);
        const char *type = lsws_history_type_name(h->history_type);
        if (type) {
            puts_(o, ",\"history_type\":");
            put_jstr(o, type);
        }
        json_scope(o, up->r, a, b, 1);
        putc_(o, '}');
        a = b;
    }
}

static void json_close(struct out *o, unsigned *state)
{
    if (!(*state & JS_OPEN))
        putc_(o, '{');
    if (*state & JS_HISTORY)
        putc_(o, ']');
    putc_(o, '}');
    *state = 0;
}

size_t lsws_uplink_json(const struct lsws_uplink *up, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};
    unsigned state = 0;
    json_piece(&o, up, &state);
    json_close(&o, &state);
    return finish(&o);
}

size_t lsws_uplink_json_stream(const struct lsws_uplink *rec, unsigned *state, char *buf,
                               size_t cap)
{
    struct out o = {buf, cap, 0};
    if (rec)
        json_piece(&o, rec, state);
    else
        json_close(&o, state);
    return finish(&o);
}

size_t lsws_reading_format(const struct lsws_reading *r, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};
    if (r->kind == LSWS_RD_NUM || r->kind == LSWS_RD_ALARM)
        put_num(&o, r->value, r->scale);
    else
        puts_(&o, text_of(r));
    return finish(&o);
}

/* 1770369441 -> "2026-02-06T09:17:21Z" (proleptic Gregorian, UTC). */
static void put_utc(struct out *o, uint32_t t)
{
    /* Days to civil date: H. Hinnant's algorithm, for days >= 0. */
    uint32_t days = t / 86400u, secs = t % 86400u;
    uint32_t z = days + 719468u, era = z / 146097u, doe = z - era * 146097u;
    uint32_t yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    uint32_t doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    uint32_t mp = (5u * doy + 2u) / 153u;
    uint32_t d = doy - (153u * mp + 2u) / 5u + 1u;
    uint32_t m = mp < 10u ? mp + 3u : mp - 9u;
    uint32_t y = yoe + era * 400u + (m <= 2u);
    char s[21];
    uint32_t parts[6] = {y, m, d, secs / 3600u, secs / 60u % 60u, secs % 60u};
    static const char seps[] = "--T::Z";
    size_t n = 0;
    for (int i = 0; i < 6; i++) {
        uint32_t v = parts[i];
        if (i == 0) {
            s[n++] = (char)('0' + v / 1000u % 10u);
            s[n++] = (char)('0' + v / 100u % 10u);
        }
        s[n++] = (char)('0' + v / 10u % 10u);
        s[n++] = (char)('0' + v % 10u);
        s[n++] = seps[i];
    }
    put(o, s, n);
}

static void text_line(struct out *o, const struct lsws_reading *r, const char *indent)
{
    puts_(o, indent);
    puts_(o, r->name ? r->name : "?");
    if (r->channel) {
        putc_(o, '[');
        put_uint(o, r->channel);
        putc_(o, ']');
    }
    puts_(o, "  ");
    if (r->kind == LSWS_RD_ALARM || r->kind == LSWS_RD_REPLY) {
        puts_(o, text_of(r));
        putc_(o, ' ');
    }
    if (r->kind == LSWS_RD_REPLY) {
        puts_(o, r->str[0] ? r->str : "-");
    } else if (r->kind == LSWS_RD_NUM || r->kind == LSWS_RD_ALARM) {
        put_num(o, r->value, r->scale);
        if (r->unit) {
            putc_(o, ' ');
            puts_(o, r->unit);
        }
    } else {
        puts_(o, text_of(r));
    }
    putc_(o, '\n');
}

size_t lsws_uplink_text(const struct lsws_uplink *up, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};
    size_t n = up->n > LSWS_UPLINK_MAX ? LSWS_UPLINK_MAX : up->n;
    unsigned record = 0;
    for (size_t i = 0; i < n; i++) {
        const struct lsws_reading *r = &up->r[i];
        if (r->record && r->record != record) {
            record = r->record;
            puts_(&o, "history[");
            put_uint(&o, record);
            puts_(&o, "]  ");
            const char *mode = lsws_history_mode_name(r->mode);
            if (mode)
                puts_(&o, mode);
            else
                put_uint(&o, r->mode);
            putc_(&o, ' ');
            put_uint(&o, r->timestamp);
            putc_(&o, ' ');
            put_utc(&o, r->timestamp);
            const char *type = lsws_history_type_name(r->history_type);
            if (type) {
                putc_(&o, ' ');
                puts_(&o, type);
            }
            putc_(&o, '\n');
        }
        text_line(&o, r, r->record ? "  " : "");
    }
    return finish(&o);
}
