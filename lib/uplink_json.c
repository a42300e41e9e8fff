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

/* n <= 16 bytes as at most two fixed-size moves that may overlap (no call,
 * no byte loop): most pieces are a few bytes. */
static inline void copy_small(char *d, const char *s, size_t n)
{
    if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

static inline void put(struct out *o, const char *s, size_t n)
{
    if (o->len <= o->cap && n <= o->cap - o->len) {
        char *d = o->buf + o->len;
        if (n <= 16)
            copy_small(d, s, n);
        else
            memcpy(d, s, n);
    } else if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static inline void putc_(struct out *o, char c)
{
    if (o->len < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static size_t finish(struct out *o)
{
    if (o->cap)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Decimal digits of v, two at a time. */
static size_t fmt_uint(char *s, uint64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned q = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * q, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof tmp - p);
    for (size_t i = 0; i < n; i++)
        s[i] = p[i];
    return n;
}

/* v < 10^8 as eight digit values (0-9), the first in the low byte: the
 * halves, the hundreds and the tens split in parallel in one 64-bit word
 * (multiplications by 10486 / 2^20 and 103 / 2^10 divide exactly in these
 * ranges). */
static inline uint64_t digits8(uint32_t v)
{
    uint64_t merged = (uint64_t)(v / 10000u) | (uint64_t)(v % 10000u) << 32;
    uint64_t top = ((merged * 10486u) >> 20) & ((0x7full << 32) | 0x7fu);
    uint64_t bot = merged - 100u * top;
    uint64_t hundreds = (bot << 16) + top;
    uint64_t tens = (hundreds * 103u) >> 10;
    tens &= (0xfull << 48) | (0xfull << 32) | (0xfull << 16) | 0xfu;
    return tens + ((hundreds - 10u * tens) << 8);
}

/* The common number: |value| < 2^32 and 0-2 decimals (every telemetry
 * value). Writes at most 16 bytes at d (the first 14 or fewer are the
 * number); returns how many. */
static inline __attribute__((always_inline)) size_t fmt_small(char *d, int64_t value,
                                                                 unsigned scale)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    char *s = d;
    uint32_t v = (uint32_t)(value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value), hi = 0;
    if (value < 0)
        *d++ = '-';
    if (v >= 100000000u) { /* the top one or two digits, then eight */
        hi = v / 100000000u;
        v -= hi * 100000000u;
        if (hi >= 10) {
            memcpy(d, digit_pairs + 2 * hi, 2);
            d += 2;
        } else {
            *d++ = (char)('0' + hi);
        }
    }
    uint64_t w = digits8(v);
    /* Leading zeros are the low zero bytes; keep the integer digit and the
     * decimals. */
    unsigned lz = 0;
    if (!hi) {
        lz = w ? (unsigned)__builtin_ctzll(w) / 8 : 8;
        if (lz > 7 - scale)
            lz = 7 - scale;
    }
    uint64_t asc = w + 0x3030303030303030u, lead = asc >> (8 * lz);
    memcpy(d, &lead, 8);
    d += 8 - lz - scale;
    if (scale) {
        uint64_t dec = asc >> (8 * (8 - scale));
        d[0] = '.';
        memcpy(d + 1, &dec, 2);
        d += 1 + scale;
    }
    return (size_t)(d - s);
#else
    static const uint32_t pow10_32[10] = {1u, 10u, 100u, 1000u, 10000u, 100000u,
                                          1000000u, 10000000u, 100000000u, 1000000000u};
    char *s = d;
    uint32_t v = (uint32_t)(value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value), fp = 0;
    if (value < 0)
        *d++ = '-';
    if (scale == 2) {
        fp = v % 100;
        v /= 100;
    } else if (scale == 1) {
        fp = v % 10;
        v /= 10;
    }
    uint32_t v1 = v | 1;
    unsigned t = ((32u - (unsigned)__builtin_clz(v1)) * 1233u) >> 12;
    unsigned nd = t + 1 - (v1 < pow10_32[t]);
    char *q = d + nd;
    d = q;
    while (v >= 100) {
        unsigned r = v % 100;
        v /= 100;
        q -= 2;
        memcpy(q, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, digit_pairs + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    if (scale == 2) {
        d[0] = '.';
        memcpy(d + 1, digit_pairs + 2 * fp, 2);
        d += 3;
    } else if (scale == 1) {
        d[0] = '.';
        d[1] = (char)('0' + fp);
        d += 2;
    }
    return (size_t)(d - s);
#endif
}

static void put_num_any(struct out *o, int64_t value, unsigned scale);

/* What fmt_small writes: |value| < 2^32, 0-2 decimals. */
static inline int fits_small(int64_t value, unsigned scale)
{
    return value >= -(int64_t)UINT32_MAX && value <= (int64_t)UINT32_MAX && scale <= 2;
}

/* value / 10^scale with exactly `scale` decimals (-30, 2 -> "-0.30"),
 * straight into the buffer. The common number (fmt_small) is written in
 * place, inlined where readings are written; put_num_any does the rest. */
static inline __attribute__((always_inline)) void put_num(struct out *o, int64_t value,
                                                               unsigned scale)
{
    size_t len = o->len;
    if (fits_small(value, scale) && len <= o->cap && o->cap - len >= 16)
        o->len = len + fmt_small(o->buf + len, value, scale);
    else
        put_num_any(o, value, scale);
}

/* put_num for any value and scale: the digits are counted first, then
 * written from the last one back (no copies). */
static void put_num_any(struct out *o, int64_t value, unsigned scale)
{
    static const uint64_t pow10[20] = {1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u,
                                       10000000u, 100000000u, 1000000000u, 10000000000u,
                                       100000000000u, 1000000000000u, 10000000000000u,
                                       100000000000000u, 1000000000000000u,
                                       10000000000000000u, 100000000000000000u,
                                       1000000000000000000u, 10000000000000000000u};
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    if (scale > 19)
        scale = 19;
    /* Digits of mag without a loop: log2, then log10 from it (1233/4096
     * is log10(2)), then one comparison. */
    uint64_t m1 = mag | 1;
    unsigned t = ((64u - (unsigned)__builtin_clzll(m1)) * 1233u) >> 12;
    unsigned nd = t + 1 - (m1 < pow10[t]);
    unsigned intd = nd > scale ? nd - scale : 1;
    size_t len = (size_t)(value < 0) + intd + (scale ? scale + 1u : 0u);
    char tmp[48];
    int direct = o->len <= o->cap && len <= o->cap - o->len;
    char *d = direct ? o->buf + o->len : tmp;
    if (value < 0)
        *d++ = '-';
    /* From the last digit back: the decimals, the point, the integer part,
     * two digits at a time (in 32 bits once they fit). */
    char *q = d + len - (size_t)(value < 0);
    unsigned fs = scale;
    for (; fs >= 2; fs -= 2) {
        unsigned r = (unsigned)(mag % 100);
        mag /= 100;
        q -= 2;
        memcpy(q, digit_pairs + 2 * r, 2);
    }
    if (fs) {
        *--q = (char)('0' + mag % 10);
        mag /= 10;
    }
    if (scale)
        *--q = '.';
    while (mag > UINT32_MAX) {
        unsigned r = (unsigned)(mag % 100);
        mag /= 100;
        q -= 2;
        memcpy(q, digit_pairs + 2 * r, 2);
    }
    uint32_t m32 = (uint32_t)mag;
    while (q - d >= 2) {
        unsigned r = m32 % 100;
        m32 /= 100;
        q -= 2;
        memcpy(q, digit_pairs + 2 * r, 2);
    }
    if (q > d)
        *--q = (char)('0' + m32 % 10);
    if (direct)
        o->len += len;
    else
        put(o, tmp, len);
}

static void put_uint(struct out *o, uint64_t v)
{
    char s[24];
    put(o, s, fmt_uint(s, v));
}

/* Characters a JSON string must escape: quote, backslash, controls. */
static const unsigned char must_escape[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,   ['\\'] = 1,
};

/* Strings here are static names, hex and versions; escape anyway so a
 * hand-built reading cannot break the JSON. */
static void put_jstr(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    /* The common string (a short name: "on", "ok") straight into the buffer. */
    size_t len = o->len;
    if (len <= o->cap && o->cap - len >= 34) {
        char *d = o->buf + len;
        size_t i = 0;
        while (i < 32 && s[i] && !must_escape[(unsigned char)s[i]]) {
            d[1 + i] = s[i];
            i++;
        }
        if (!s[i]) {
            d[0] = '"';
            d[1 + i] = '"';
            o->len = len + i + 2;
            return;
        }
    }
    putc_(o, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!must_escape[c])
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

/* "name": of a reading the decoder marked plain, at d (room checked by the
 * caller; through a local pointer: a store through o->buf could alias o
 * itself, so the compiler would read o->len back after every byte). */
static inline size_t plain_key_at(char *d, const struct lsws_reading *r)
{
    size_t n = r->name_len;
    d[0] = '"';
    if (n <= 16)
        copy_small(d + 1, r->name, n);
    else
        memcpy(d + 1, r->name, n);
    d[n + 1] = '"';
    d[n + 2] = ':';
    return n + 3;
}

/* "name": for a member. */
static void put_key(struct out *o, const struct lsws_reading *r)
{
    size_t len = o->len;
    if ((r->flags & LSWS_RDF_PLAIN) && len <= o->cap && r->name_len + 3u <= o->cap - len) {
        o->len = len + plain_key_at(o->buf + len, r);
        return;
    }
    put_jstr(o, r->name ? r->name : "");
    putc_(o, ':');
}

static int same_name(const char *a, const char *b)
{
    return a == b || (a && b && a[0] == b[0] && strcmp(a, b) == 0);
}

/* same_name of two readings, by their lengths first when both are plain. */
static int same_reading_name(const struct lsws_reading *x, const struct lsws_reading *y)
{
    if (x->name == y->name)
        return 1;
    if ((x->flags & y->flags & LSWS_RDF_PLAIN) && x->name_len != y->name_len)
        return 0;
    return same_name(x->name, y->name);
}

static const char *text_of(const struct lsws_reading *r)
{
    if (r->kind == LSWS_RD_TEXT)
        return r->str;
    return r->text ? r->text : "";
}

/* A number, or "error" for the vendor's invalid reading (all-ones bytes). */
static void json_num(struct out *o, const struct lsws_reading *r)
{
    if (r->flags & LSWS_RDF_INVALID)
        puts_(o, "\"error\"");
    else
        put_num(o, r->value, r->scale);
}

/* A JSON string of s up to its first '.', or the whole of it. */
static void put_jstr_head(struct out *o, const char *s)
{
    const char *dot = strchr(s, '.');
    if (!dot) {
        put_jstr(o, s);
        return;
    }
    char head[64];
    size_t n = (size_t)(dot - s) < sizeof head - 1 ? (size_t)(dot - s) : sizeof head - 1;
    memcpy(head, s, n);
    head[n] = '\0';
    put_jstr(o, head);
}

static void json_value(struct out *o, const struct lsws_reading *r)
{
    switch (r->kind) {
    case LSWS_RD_NUM:
        json_num(o, r);
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
        json_num(o, r);
        putc_(o, '}');
        break;
    case LSWS_RD_REPLY:
        /* The vendor decoder's members (result code, length, id), then
         * lsws's: the result's name and the command bytes. */
        puts_(o, "{\"result\":");
        put_num(o, r->value, 0);
        puts_(o, ",\"length\":");
        put_uint(o, strlen(r->str) / 2);
        puts_(o, ",\"id\":");
        if (r->id)
            put_jstr_head(o, r->id);
        else
            puts_(o, "null");
        puts_(o, ",\"result_name\":");
        put_jstr(o, text_of(r));
        puts_(o, ",\"command\":");
        put_jstr(o, r->str);
        putc_(o, '}');
        break;
    default:
        put_jstr(o, text_of(r));
        break;
    }
}

/* The value of the readings named like r[i] in [i, b) (marked done).
 * Readings of one name become one member: channel readings a JSON array
 * indexed by channel (null where absent), repeated readings an array in
 * order, replies ("ans") always an array. */
static void json_leaf(struct out *o, const struct lsws_reading *r, size_t i, size_t b,
                      uint8_t *done)
{
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

/* Members for the readings of [a, b) whose names start with prefix (its
 * first plen characters, up to and including a '.'; plen 0: every
 * reading). A dotted name is a member of an object: readings
 * "current_alarm_config.enable" and "current_alarm_config.threshold" make
 * "current_alarm_config":{"enable":...,"threshold":...}, as the vendor
 * decoder nests them. */
static void json_level(struct out *o, const struct lsws_reading *r, size_t a, size_t b,
                       const char *prefix, size_t plen, uint8_t *done, int comma)
{
    for (size_t i = a; i < b; i++) {
        if (done[i])
            continue;
        const char *name = r[i].name ? r[i].name : "";
        if (plen && strncmp(name, prefix, plen) != 0)
            continue;
        const char *rest = name + plen, *dot = strchr(rest, '.');
        if (comma)
            putc_(o, ',');
        comma = 1;
        if (dot) {
            char key[64];
            size_t n = (size_t)(dot - rest) < sizeof key - 1 ? (size_t)(dot - rest) : sizeof key - 1;
            memcpy(key, rest, n);
            key[n] = '\0';
            put_jstr(o, key);
            puts_(o, ":{");
            json_level(o, r, i, b, name, (size_t)(dot - name) + 1, done, 0);
            putc_(o, '}');
            continue;
        }
        put_jstr(o, rest);
        putc_(o, ':');
        json_leaf(o, r, i, b, done);
    }
}

/* The members json_level gives for readings [a, b) with no dotted name, in
 * one pass: each reading joins its name's group (the readings of a name
 * mostly share one static pointer), then each group is written as
 * json_leaf writes it. A CTH01 periodic packet has some 70 readings in a
 * dozen groups. Returns 0, having written nothing, when a name is dotted. */
static int json_groups(struct out *o, const struct lsws_reading *r, size_t a, size_t b, int comma)
{
    struct group {
        const char *name;
        short first, last;
        unsigned short count;
        unsigned char maxch;
    } g[LSWS_UPLINK_MAX];
    short next[LSWS_UPLINK_MAX];
    size_t ng = 0, k = 0;
    for (size_t i = a; i < b; i++) {
        const char *name = r[i].name;
        /* The group of the reading before (a command's channels come in a
         * run), else one with the same pointer, else the same text. */
        if (!ng || g[k].name != name)
            for (k = 0; k < ng && g[k].name != name; k++)
                ;
        if (k == ng)
            for (k = 0; k < ng && !same_name(g[k].name, name); k++)
                ;
        next[i] = -1;
        if (k == ng) {
            if (!name || (!(r[i].flags & LSWS_RDF_PLAIN) && strchr(name, '.')))
                return 0; /* a dotted name: json_level nests it */
            g[ng++] = (struct group){name, (short)i, (short)i, 0, 0};
        } else {
            next[g[k].last] = (short)i;
            g[k].last = (short)i;
        }
        g[k].count++;
        if (r[i].channel > g[k].maxch)
            g[k].maxch = r[i].channel;
    }
    for (size_t gi = 0; gi < ng; gi++) {
        const struct lsws_reading *h = &r[g[gi].first];
        if (comma)
            putc_(o, ',');
        comma = 1;
        put_key(o, h);
        int by_channel = h->channel && h->kind != LSWS_RD_ALARM && h->kind != LSWS_RD_REPLY;
        if (by_channel && g[gi].last - g[gi].first + 1 == g[gi].count && h->channel == 1 &&
            r[g[gi].last].channel == g[gi].count) {
            /* Channels 1..n in a run (a command's array): no index needed,
             * as long as they come in order. */
            short j = g[gi].first;
            while (j < g[gi].last && r[j + 1].channel == r[j].channel + 1)
                j++;
            if (j == g[gi].last) {
                putc_(o, '[');
                for (j = g[gi].first; j <= g[gi].last; j++) {
                    if (j != g[gi].first)
                        putc_(o, ',');
                    json_value(o, &r[j]);
                }
                putc_(o, ']');
                continue;
            }
        }
        if (by_channel) {
            short at[256];
            for (unsigned c = 1; c <= g[gi].maxch; c++)
                at[c] = -1;
            for (short j = g[gi].first; j >= 0; j = next[j])
                if (r[j].channel)
                    at[r[j].channel] = j;
            putc_(o, '[');
            for (unsigned c = 1; c <= g[gi].maxch; c++) {
                if (c > 1)
                    putc_(o, ',');
                if (at[c] < 0)
                    puts_(o, "null");
                else
                    json_value(o, &r[at[c]]);
            }
            putc_(o, ']');
        } else if (g[gi].count == 1 && h->kind != LSWS_RD_REPLY) {
            json_value(o, h);
        } else {
            putc_(o, '[');
            for (short j = g[gi].first; j >= 0; j = next[j]) {
                if (j != g[gi].first)
                    putc_(o, ',');
                json_value(o, &r[j]);
            }
            putc_(o, ']');
        }
    }
    return 1;
}

/* A number fmt_small writes: json_value's for it, without the switch. */
static inline int small_number(const struct lsws_reading *x)
{
    return x->kind == LSWS_RD_NUM && !(x->flags & LSWS_RDF_INVALID) && fits_small(x->value, x->scale);
}

/* The values of readings [a, b) as array elements, a comma before each but
 * the very first: while the buffer has room for all that are left (17
 * bytes each: a comma and what fmt_small may write), numbers go straight
 * in with one check for them all; anything else through json_value. */
static void put_elements(struct out *o, const struct lsws_reading *r, size_t a, size_t b,
                         int first)
{
    for (size_t k = a; k < b;) {
        size_t len = o->len;
        if (len <= o->cap && (o->cap - len) / 17 >= b - k) {
            char *buf = o->buf; /* a local: stores through it cannot change o */
            for (; k < b && small_number(&r[k]); k++, first = 0) {
                if (!first)
                    buf[len++] = ',';
                len += fmt_small(buf + len, r[k].value, r[k].scale);
            }
            o->len = len;
            if (k == b)
                return;
        }
        if (!first)
            putc_(o, ',');
        first = 0;
        json_value(o, &r[k++]);
    }
}

/* The members json_groups gives, for the common scope: each name's readings
 * one run (a command's), channels 1..n in order, or two runs that continue
 * each other's channels (a CTH01 power pair, channels 1-6 and 7-12), or a
 * lone reading. One pass checks, one writes; 0 (nothing written) when the
 * scope is not so. */
static int json_runs(struct out *o, const struct lsws_reading *r, size_t a, size_t b, int comma)
{
    struct run {
        unsigned short start, end; /* [start, end) */
        short next;                /* the run that continues this one's channels, or -1 */
        short last;                /* first run of a name: the name's last run so far */
        short hnext;               /* the next first run in the same hash bucket, or -1 */
        unsigned char cont;        /* this run continues an earlier one */
        unsigned char by_channel;
    } run[LSWS_UPLINK_MAX];
    /* First runs by a hash of the name's length and letters, so that
     * finding a name's earlier run is not a pass over every run. */
    enum { HBITS = 6 };
    short head[1u << HBITS];
    memset(head, 0xff, sizeof head);
    size_t nr = 0;
    for (size_t i = a; i < b;) {
        const struct lsws_reading *h = &r[i];
        if (!h->name || h->kind == LSWS_RD_REPLY || !(h->flags & LSWS_RDF_PLAIN))
            return 0;
        int by_channel = h->channel && h->kind != LSWS_RD_ALARM;
        size_t j = i + 1;
        for (; j < b && r[j].name == h->name; j++)
            if (!by_channel || r[j].channel != r[j - 1].channel + 1)
                return 0;
        run[nr] = (struct run){(unsigned short)i, (unsigned short)j, -1, (short)nr, -1, 0,
                               (unsigned char)by_channel};
        size_t nl = h->name_len;
        unsigned hash = (unsigned)(nl * 7u + (unsigned char)h->name[0] * 3u +
                                   (nl ? (unsigned char)h->name[nl - 1] : 0u)) &
                        ((1u << HBITS) - 1);
        short q = head[hash];
        while (q >= 0 && !same_reading_name(&r[run[q].start], h))
            q = run[q].hnext;
        if (q >= 0) {
            /* The last run of that name must end where this one begins. */
            size_t last = (size_t)run[q].last;
            if (!by_channel || !run[q].by_channel || r[run[last].end - 1].channel + 1 != h->channel)
                return 0;
            run[last].next = (short)nr;
            run[q].last = (short)nr;
            run[nr].cont = 1;
        } else {
            run[nr].hnext = head[hash];
            head[hash] = (short)nr;
        }
        if (!run[nr].cont && by_channel && h->channel != 1)
            return 0;
        nr++;
        i = j;
    }
    for (size_t q = 0; q < nr; q++) {
        if (run[q].cont)
            continue;
        const struct lsws_reading *h = &r[run[q].start];
        if (comma)
            putc_(o, ',');
        comma = 1;
        put_key(o, h);
        if (!run[q].by_channel) {
            if (small_number(h))
                put_num(o, h->value, h->scale);
            else
                json_value(o, h);
            continue;
        }
        putc_(o, '[');
        for (short x = (short)q; x >= 0; x = run[x].next)
            put_elements(o, r, run[x].start, run[x].end, x == (short)q);
        putc_(o, ']');
    }
    return 1;
}

/* Members for readings [a, b) of one scope (live data or one record). The
 * common scope (a WS523 report: a few readings, each its own member) is
 * written straight; channels, repeated and dotted names are grouped. */
static void json_scope(struct out *o, const struct lsws_reading *r, size_t a, size_t b, int comma)
{
    int plain = b - a <= 16;
    uint64_t seen = 0; /* a bit per hash of the names so far */
    for (size_t i = a; i < b && plain; i++) {
        const char *name = r[i].name;
        if (!name || r[i].channel || r[i].kind == LSWS_RD_REPLY || !(r[i].flags & LSWS_RDF_PLAIN))
            plain = 0;
        else {
            /* Names are compared only when their hashes meet (length, first
             * and last letter: no two of a WS523 report's names meet). */
            unsigned nl = r[i].name_len;
            unsigned h = nl * 7u + (unsigned char)name[0] + (unsigned char)name[nl ? nl - 1 : 0] * 3u;
            uint64_t bit = (uint64_t)1 << (h & 63u);
            for (size_t j = a; j < i && plain && (seen & bit); j++)
                plain = !same_reading_name(&r[j], &r[i]);
            seen |= bit;
        }
    }
    if (plain) {
        for (size_t i = a; i < b; i++, comma = 1) {
            const struct lsws_reading *x = &r[i];
            size_t len = o->len, n = x->name_len;
            /* A number member straight in, with one check for its room:
             * ,"name": and what fmt_small may write. */
            if (small_number(x) && len <= o->cap && o->cap - len >= n + 20) {
                char *d = o->buf + len;
                if (comma)
                    *d++ = ',';
                d += plain_key_at(d, x);
                d += fmt_small(d, x->value, x->scale);
                o->len = (size_t)(d - o->buf);
                continue;
            }
            if (comma)
                putc_(o, ',');
            put_key(o, x);
            json_value(o, x);
        }
        return;
    }
    if (json_runs(o, r, a, b, comma) || json_groups(o, r, a, b, comma))
        return;
    uint8_t done[LSWS_UPLINK_MAX];
    memset(done + a, 0, b - a);
    json_level(o, r, a, b, NULL, 0, done, comma);
}

/* End of the run of readings [a, n) that share r[a].record. */
static size_t run_end(const struct lsws_uplink *up, size_t a, size_t n)
{
    if (!up->records)
        return n; /* live data only (lsws.h): no record numbers to look at */
    size_t b = a;
    while (b < n && up->r[b].record == up->r[a].record)
        b++;
    return b;
}

/* Progress of one JSON object written piece by piece (lsws_uplink_json_stream). */
enum { JS_OPEN = 1, JS_MEMBERS = 2, JS_HISTORY = 4 };
_Static_assert(LSWS_JSON_MEMBERS == (JS_OPEN | JS_MEMBERS), "LSWS_JSON_MEMBERS in lsws.h");

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
        size_t b = run_end(up, a, n);
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
    if ((r->kind == LSWS_RD_NUM || r->kind == LSWS_RD_ALARM) && (r->flags & LSWS_RDF_INVALID))
        puts_(&o, "error");
    else if (r->kind == LSWS_RD_NUM || r->kind == LSWS_RD_ALARM)
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
    } else if ((r->kind == LSWS_RD_NUM || r->kind == LSWS_RD_ALARM) &&
               (r->flags & LSWS_RDF_INVALID)) {
        puts_(o, "error");
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
