/* CTH01 stored history, the client side (docs/history.md, docs/protocol.md
 * "HISTORY"): the queries of the CTH01 guide ch.5 "Commands for Historical
 * Data Query" over the HISTORY operation, cutting answers into records,
 * and the resumable export: a checkpoint file that holds every record
 * fetched so far, query by query and page by page, from which the output
 * is written once the whole range is there and checked against the
 * device's own count. */
#include "lsws.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ANSWER_MAX ((size_t)LSWS_HISTORY_QUERY_MAX * 4096) /* bytes of one answer, at most */
#define RECORD_BYTES_MAX 8192                              /* bytes of one record, at most */
#define LINE_MAX_CHARS (2 * RECORD_BYTES_MAX + 2)
#define CHECKPOINT_MAGIC "lsws-history-checkpoint"
#define CHECKPOINT_FORMAT 1

static const char *const kind_names[LSWS_HK_COUNT] = {"alarm", "periodic", "monthly-energy",
                                                       "monthly-extremes"};

const char *lsws_history_kind_name(unsigned kind)
{
    return kind < LSWS_HK_COUNT ? kind_names[kind] : NULL;
}

int lsws_history_kind_find(const char *name)
{
    for (unsigned k = 0; name && k < LSWS_HK_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return (int)k;
    return -1;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* ---- times ------------------------------------------------------------------------ */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

size_t lsws_time_format(uint32_t t, int utc, int tz_minutes, char *buf, size_t cap)
{
    int64_t local = (int64_t)t + (utc ? 0 : (int64_t)tz_minutes * 60);
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400, secs = local - days * 86400;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    long long y = (long long)yoe + era * 400 + (m <= 2);
    int n;
    if (utc) {
        n = snprintf(buf, cap, "%04lld-%02u-%02uT%02u:%02u:%02uZ", y, m, d, (unsigned)(secs / 3600),
                     (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
    } else {
        int a = tz_minutes < 0 ? -tz_minutes : tz_minutes;
        n = snprintf(buf, cap, "%04lld-%02u-%02uT%02u:%02u:%02u%c%02d:%02d", y, m, d, (unsigned)(secs / 3600),
                     (unsigned)(secs / 60 % 60), (unsigned)(secs % 60), tz_minutes < 0 ? '-' : '+', a / 60,
                     a % 60);
    }
    return n < 0 ? 0 : (size_t)n;
}

/* digits at *p, exactly n of them, into *v. */
static int digits(const char **p, unsigned n, unsigned *v)
{
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        *v = *v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    return 0;
}

int lsws_time_parse(const char *text, uint32_t *out, struct lsws_error *err)
{
    const char *p = text;
    size_t len = strlen(text);
    if (len && strspn(text, "0123456789") == len) {
        unsigned long long v = 0;
        if (len > 10)
            return lsws_fail(err, LSWS_ERR_RANGE, 0, "'%s' is past 2106 (more than 4294967295 s)", text);
        for (size_t i = 0; i < len; i++)
            v = v * 10 + (unsigned)(text[i] - '0');
        if (v > UINT32_MAX)
            return lsws_fail(err, LSWS_ERR_RANGE, 0, "'%s' is past 2106 (more than 4294967295 s)", text);
        *out = (uint32_t)v;
        return LSWS_OK;
    }
    unsigned y, mo, d, h = 0, mi = 0, s = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        goto syntax;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return lsws_fail(err, LSWS_ERR_RANGE, 5, "'%s': no such date", text);
    int offset = 0;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            goto syntax;
        if (*p == ':' && (p++, digits(&p, 2, &s)))
            goto syntax;
        if (h > 23 || mi > 59 || s > 59)
            return lsws_fail(err, LSWS_ERR_RANGE, 11, "'%s': no such time of day", text);
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            unsigned oh, om;
            if (digits(&p, 2, &oh))
                goto syntax;
            if (*p == ':')
                p++;
            if (digits(&p, 2, &om) || oh > 14 || om > 59)
                goto syntax;
            offset = sign * (int)(oh * 60 + om);
        }
    }
    if (*p)
        goto syntax;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - (int64_t)offset * 60;
    if (t < 0 || t > (int64_t)UINT32_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, 0, "'%s' is outside 1970..2106", text);
    *out = (uint32_t)t;
    return LSWS_OK;
syntax:
    return lsws_fail(err, LSWS_ERR_SYNTAX, (size_t)(p - text),
                     "'%s' is not a time: give Unix seconds or ISO 8601 (2026-02-06, 2026-02-06T09:17:21Z, "
                     "2026-02-06T10:17:21+01:00)", text);
}

/* ---- cutting answers into records ---------------------------------------------------- */

struct split {
    unsigned kind;
    const uint8_t *bytes;
    size_t len;
    size_t pos;      /* where the segment being delivered starts */
    /* the record (group of segments) being collected */
    size_t g_start, g_end;
    uint32_t g_ts;
    uint8_t g_mode, g_type;
    size_t g_readings;
    int g_open;
    uint32_t last_ts;
    size_t groups;   /* records handed on */
    int partial;     /* the bytes end anywhere: keep the last record back */
    lsws_history_fn *fn;
    void *ctx;
    struct lsws_error *err;
    int rc;          /* from fn */
    size_t done;     /* bytes of the records handed on */
};

static int is_alarm(const struct lsws_reading *r)
{
    size_t n = r->name ? strlen(r->name) : 0;
    return r->kind == LSWS_RD_ALARM || (n > 6 && strcmp(r->name + n - 6, "_alarm") == 0);
}

static int flush_group(struct split *s)
{
    if (!s->g_open)
        return 0;
    s->g_open = 0;
    s->groups++;
    s->done = s->g_end;
    if (s->fn) {
        int rc = s->fn(s->ctx, s->bytes + s->g_start, s->g_end - s->g_start, s->g_ts);
        if (rc) {
            s->rc = rc;
            return rc;
        }
    }
    return 0;
}

/* One `ed` segment: checks it is a record of the kind, and whether it
 * continues the record being collected. */
static int on_segment(const struct lsws_uplink *rec, void *arg)
{
    struct split *s = arg;
    struct lsws_error *err = s->err;
    uint8_t enc[RECORD_BYTES_MAX];
    size_t n = 0;
    size_t at = s->pos;
    if (rec->records == 0 || rec->n == 0)
        return lsws_fail(err, LSWS_ERR_MALFORMED, at, "malformed answer at byte %zu: data outside a history record", at);
    /* Where it ends: the encoding of what was decoded is the segment. */
    if (lsws_uplink_encode(rec, enc, sizeof enc, &n, NULL) != LSWS_OK || at + n > s->len ||
        memcmp(enc, s->bytes + at, n) != 0)
        return lsws_fail(err, LSWS_ERR_MALFORMED, at, "malformed answer at byte %zu: a record does not read back", at);
    const struct lsws_reading *r0 = &rec->r[0];
    uint8_t mode = r0->mode, type = r0->history_type;
    int alarm = 0, other = 0;
    for (size_t i = 0; i < rec->n; i++) {
        if (is_alarm(&rec->r[i]))
            alarm++;
        else
            other++;
    }
    const char *want = NULL;
    switch (s->kind) {
    case LSWS_HK_PERIODIC:
        if (type != LSWS_HIST_NONE || mode != LSWS_HIST_PERIODIC || alarm)
            want = "periodic data (ed 01, no 40xx tag, no alarm)";
        break;
    case LSWS_HK_ALARM:
        if (type != LSWS_HIST_NONE || alarm != 1 || other)
            want = "one alarm (ed 01, no 40xx tag)";
        break;
    case LSWS_HK_MONTHLY_ENERGY:
        /* The guide's mode byte is 01 in one example and 02 in another for
         * the same monthly records (docs/decode.md): the tag decides. */
        if (type != LSWS_HIST_MONTHLY_ENERGY || alarm)
            want = "monthly energy (40 01)";
        break;
    default:
        if ((type != LSWS_HIST_MONTHLY_MIN && type != LSWS_HIST_MONTHLY_MAX) || alarm)
            want = "a monthly minimum or maximum (40 02, 40 03)";
        break;
    }
    if (want)
        return lsws_fail(err, LSWS_ERR_MALFORMED, at, "malformed answer at byte %zu: a %s query's record is not %s",
                         at, kind_names[s->kind], want);
    if (r0->timestamp < s->last_ts)
        return lsws_fail(err, LSWS_ERR_MALFORMED, at,
                         "malformed answer at byte %zu: record time %u goes back from %u", at, r0->timestamp,
                         s->last_ts);
    s->last_ts = r0->timestamp;
    int same = s->g_open && s->kind != LSWS_HK_ALARM && s->g_ts == r0->timestamp && s->g_mode == mode &&
               s->g_type == type;
    if (!same) {
        if (flush_group(s))
            return s->rc;
        s->g_open = 1;
        s->g_start = at;
        s->g_ts = r0->timestamp;
        s->g_mode = mode;
        s->g_type = type;
        s->g_readings = 0;
    }
    s->g_readings += rec->n;
    if (s->g_readings > LSWS_UPLINK_MAX || at + n - s->g_start > RECORD_BYTES_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, at, "answer at byte %zu: one record holds more than %d readings", at,
                         LSWS_UPLINK_MAX);
    s->g_end = at + n;
    s->pos = at + n;
    return 0;
}

/* The records of bytes; with partial, bytes may end anywhere and the last
 * record (which may continue) is kept back. *used: the bytes of the records
 * handed on. */
static int split(unsigned kind, const uint8_t *bytes, size_t len, int partial, lsws_history_fn *fn, void *ctx,
                 size_t *used, struct lsws_error *err)
{
    struct split s = {.kind = kind, .bytes = bytes, .len = len, .partial = partial, .fn = fn, .ctx = ctx, .err = err};
    struct lsws_error derr;
    lsws_error_clear(&derr);
    if (kind >= LSWS_HK_COUNT)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "unknown history kind %u", kind);
    s.err = partial ? &derr : err;
    int rc = len ? lsws_uplink_decode_each(LSWS_MODEL_CTH01, bytes, len, on_segment, &s, s.err) : LSWS_OK;
    if (s.rc) {
        if (used)
            *used = s.done;
        return s.rc;
    }
    if (rc != LSWS_OK && !partial)
        return rc;
    if (rc != LSWS_OK && partial && derr.code != LSWS_ERR_TRUNCATED) {
        /* Not a cut: the bytes are bad wherever the page ended. */
        if (derr.offset == SIZE_MAX || derr.offset + 8 < len)
            return lsws_fail(err, derr.code, derr.offset, "%s", derr.msg);
    }
    if (!partial && (rc = flush_group(&s)) != 0)
        return rc;
    if (used)
        *used = s.done;
    return LSWS_OK;
}

int lsws_history_split(unsigned kind, const uint8_t *bytes, size_t len, lsws_history_fn *on_record, void *ctx,
                       struct lsws_error *err)
{
    return split(kind, bytes, len, 0, on_record, ctx, NULL, err);
}

/* ---- the queries ------------------------------------------------------------------------ */

/* A HISTORY response: its payload, copied out of the client. */
struct hresp {
    uint8_t payload[LSWS_MSG_MAX];
    size_t len;
    int status; /* -1: no answer */
};

/* Device statuses that concern history, in their own words. */
static int history_error(struct lsws_client *c, int status, int rc, struct lsws_error *err)
{
    if (rc == LSWS_OK || status < 0)
        return rc;
    const char *uri = lsws_client_uri(c);
    switch (status) {
    case LSWS_ST_STORAGE_OFF:
        return lsws_fail(err, LSWS_ERR_DEVICE, SIZE_MAX,
                         "'%s' has data storage disabled (storage.enabled is false): it keeps no history", uri);
    case LSWS_ST_NO_CLOCK:
        return lsws_fail(err, LSWS_ERR_DEVICE, SIZE_MAX,
                         "the clock of '%s' was never set, and stored records need it: set it with 'lsws time sync'",
                         uri);
    case LSWS_ST_UNSUPPORTED:
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "'%s' stores no history (only the CTH01 does)", uri);
    case LSWS_ST_SEQUENCE:
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s' no longer answers this query (it was stopped)", uri);
    default:
        return rc;
    }
}

/* One HISTORY exchange. */
static int hx(struct lsws_client *c, const uint8_t *req, size_t len, struct hresp *resp, struct lsws_error *err)
{
    int rc = lsws_client_call(c, LSWS_OP_HISTORY, req, len, &resp->status, resp->payload, sizeof resp->payload,
                              &resp->len, err);
    return history_error(c, resp->status, rc, err);
}

static int check_kind(unsigned kind, struct lsws_error *err)
{
    return kind < LSWS_HK_COUNT ? LSWS_OK
                                : lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "unknown history kind %u", kind);
}

int lsws_history_status(struct lsws_client *c, unsigned kind, uint32_t start, uint32_t end,
                        struct lsws_history_status *st, struct lsws_error *err)
{
    uint8_t req[10] = {LSWS_HQ_STATUS, (uint8_t)kind};
    struct hresp resp;
    int rc = check_kind(kind, err);
    if (rc != LSWS_OK)
        return rc;
    put32(put32(req + 2, start), end);
    if ((rc = hx(c, req, sizeof req, &resp, err)) != LSWS_OK)
        return rc;
    if (resp.len != 20)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "history status of %zu bytes, not 20", resp.len);
    const uint8_t *p = resp.payload;
    memset(st, 0, sizeof *st);
    st->count = get32(p);
    st->first = get32(p + 4);
    st->last = get32(p + 8);
    st->stored = get32(p + 12);
    st->capacity = get32(p + 16);
    if (st->count > st->stored || (st->count && (st->first > st->last || st->first < start || st->last > end)))
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX,
                         "history status does not add up: %u of %u records, from %u to %u for %u..%u", st->count,
                         st->stored, st->first, st->last, start, end);
    return LSWS_OK;
}

/* A query being fetched: its answer, page by page. */
struct fetch {
    uint8_t query, kind;
    uint32_t a, b;
    uint8_t *buf;
    size_t total, have;
    uint32_t records;
    int more;
    /* after each page, with the bytes so far (may be NULL) */
    int (*on_page)(struct fetch *f, void *ctx, struct lsws_error *err);
    void *ctx;
};

/* The request for the page at offset. */
static size_t page_request(const struct fetch *f, uint32_t offset, size_t max, uint8_t *req)
{
    uint8_t *p = req;
    *p++ = f->query;
    *p++ = f->kind;
    p = put32(p, f->a);
    if (f->query == LSWS_HQ_RANGE)
        p = put32(p, f->b);
    p = put32(p, offset);
    *p++ = (uint8_t)max;
    *p++ = (uint8_t)(max >> 8);
    return (size_t)(p - req);
}

/* Checks a page (the answer's bytes from f->have) and takes its bytes. */
static int take_page(struct fetch *f, const uint8_t *h, size_t len, struct lsws_error *err)
{
    if (len < LSWS_HISTORY_PAGE_HEAD)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "history page of %zu bytes: no page header", len);
    uint32_t total = get32(h), off = get32(h + 7);
    unsigned records = (unsigned)h[4] | (unsigned)h[5] << 8;
    int more = h[6] != 0;
    size_t n = len - LSWS_HISTORY_PAGE_HEAD;
    if (h[6] > 1 || records > LSWS_HISTORY_QUERY_MAX || total > ANSWER_MAX || (total && !records) ||
        (!total && records))
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX,
                         "history answer of %u records in %u bytes: more than a query answers", records, total);
    if (f->have == 0) {
        f->total = total;
        f->records = records;
        f->more = more;
        free(f->buf);
        f->buf = total ? malloc(total) : NULL;
        if (total && !f->buf)
            return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    } else if (total != f->total || records != f->records || more != f->more) {
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "history answer changed between pages");
    }
    if (off != f->have || n > f->total - f->have || (n == 0 && f->have < f->total))
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX,
                         "history page at %u with %zu bytes: expected bytes from %zu of %zu", off, n, f->have,
                         f->total);
    if (n)
        memcpy(f->buf + f->have, h + LSWS_HISTORY_PAGE_HEAD, n);
    f->have += n;
    return f->on_page ? f->on_page(f, f->ctx, err) : LSWS_OK;
}

/* The pages after the first, several in flight (lsws_client_pipeline): the
 * device fills every page but the last to the same size, so their offsets
 * are known. A page that comes shorter ends the pipeline (PAGE_SHORT) and
 * the rest is asked for one page at a time. */
#define PIPELINE_WINDOW 4
#define PAGE_SHORT 1
struct pipe {
    struct fetch *f;
    size_t from, page, max;
};

static int pipe_build(void *ctx, unsigned i, uint8_t *payload, size_t cap, size_t *len)
{
    struct pipe *p = ctx;
    (void)cap;
    *len = page_request(p->f, (uint32_t)(p->from + (size_t)i * p->page), p->max, payload);
    return LSWS_OK;
}

static int pipe_take(void *ctx, unsigned i, const uint8_t *payload, size_t len, struct lsws_error *err)
{
    struct pipe *p = ctx;
    size_t before = p->f->have;
    if (len >= LSWS_HISTORY_PAGE_HEAD && get32(payload + 7) != p->from + (size_t)i * p->page)
        return PAGE_SHORT; /* an earlier page was short: these offsets are not the device's */
    int rc = take_page(p->f, payload, len, err);
    if (rc == LSWS_OK && p->f->have - before != p->page && p->f->have != p->f->total)
        return PAGE_SHORT;
    return rc;
}

static int fetch_answer(struct lsws_client *c, struct fetch *f, struct lsws_error *err)
{
    /* The session's largest message, or on BLE one that fills whole
     * fragments (docs/protocol.md, "Pages in flight"). */
    size_t max = lsws_client_bulk_msg(c);
    if (max > 0xffff)
        max = 0xffff; /* the request's max field has 2 bytes */
    f->total = f->have = 0;
    int pipelined = 0;
    for (unsigned pages = 0; pages <= ANSWER_MAX / 16; pages++) {
        uint8_t req[16];
        struct hresp resp;
        int rc = hx(c, req, page_request(f, (uint32_t)f->have, max, req), &resp, err);
        size_t before = f->have;
        if (rc == LSWS_OK)
            rc = take_page(f, resp.payload, resp.len, err);
        if (rc != LSWS_OK || f->have == f->total)
            return rc;
        if (!pipelined) {
            /* The first page's size is every page's: the rest, pipelined. */
            pipelined = 1;
            struct pipe p = {.f = f, .from = f->have, .page = f->have - before, .max = max};
            unsigned n = (unsigned)((f->total - f->have + p.page - 1) / p.page);
            int status;
            size_t rlen;
            rc = lsws_client_pipeline(c, LSWS_OP_HISTORY, n, PIPELINE_WINDOW, pipe_build, pipe_take, &p, &status,
                                      NULL, 0, &rlen, err);
            if (rc != PAGE_SHORT && (rc = history_error(c, status, rc, err)) != LSWS_OK)
                return rc;
            if (f->have == f->total)
                return LSWS_OK;
            /* A short page: the device's pages are not all one size; one at a time. */
        }
    }
    return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "history answer keeps paging");
}

static int query(struct lsws_client *c, uint8_t q, unsigned kind, uint32_t a, uint32_t b, lsws_history_fn *fn,
                 void *ctx, struct lsws_history_answer *ans, struct lsws_error *err)
{
    struct fetch f = {.query = q, .kind = (uint8_t)kind, .a = a, .b = b};
    int rc = check_kind(kind, err);
    if (rc == LSWS_OK && q == LSWS_HQ_RANGE && a > b)
        rc = lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "history range from %u to %u: it ends before it starts", a, b);
    if (rc == LSWS_OK)
        rc = fetch_answer(c, &f, err);
    if (rc == LSWS_OK) {
        struct lsws_error serr;
        lsws_error_clear(&serr);
        rc = split(kind, f.buf, f.total, 0, NULL, NULL, NULL, &serr); /* all of it checks before any goes out */
        if (rc != LSWS_OK)
            rc = lsws_fail(err, serr.code, serr.offset, "%s", serr.msg);
    }
    if (rc == LSWS_OK)
        rc = split(kind, f.buf, f.total, 0, fn, ctx, NULL, err);
    if (rc == LSWS_OK && ans) {
        ans->records = f.records;
        ans->bytes = (uint32_t)f.total;
        ans->more = f.more;
    }
    free(f.buf);
    return rc;
}

int lsws_history_range(struct lsws_client *c, unsigned kind, uint32_t start, uint32_t end, lsws_history_fn *on_record,
                       void *ctx, struct lsws_history_answer *ans, struct lsws_error *err)
{
    return query(c, LSWS_HQ_RANGE, kind, start, end, on_record, ctx, ans, err);
}

int lsws_history_point(struct lsws_client *c, unsigned kind, uint32_t t, lsws_history_fn *on_record, void *ctx,
                       struct lsws_history_answer *ans, struct lsws_error *err)
{
    return query(c, LSWS_HQ_POINT, kind, t, t, on_record, ctx, ans, err);
}

static int simple(struct lsws_client *c, uint8_t q, unsigned kind, struct lsws_error *err)
{
    uint8_t req[2] = {q, (uint8_t)kind};
    struct hresp resp;
    int rc = check_kind(kind, err);
    return rc != LSWS_OK ? rc : hx(c, req, sizeof req, &resp, err);
}

int lsws_history_stop(struct lsws_client *c, unsigned kind, struct lsws_error *err)
{
    return simple(c, LSWS_HQ_STOP, kind, err);
}

int lsws_history_clear(struct lsws_client *c, unsigned kind, struct lsws_error *err)
{
    return simple(c, LSWS_HQ_CLEAR, kind, err);
}

/* ---- the checkpoint --------------------------------------------------------------------------- */
/* A text file beside the output:
 *   lsws-history-checkpoint 1 sn=6527f41809380000 kind=periodic since=0 until=1770369441
 *   <one record per line, its bytes in hex>
 *   ...
 *   complete records=20000 first=1757000000 last=1768999400
 * Records are appended page by page as they arrive (a kill loses at most a
 * line being written, which the next run cuts off), synced after each
 * query; the last line appears once the whole range was fetched and its
 * count and span equal the device's own answer. */

struct ckpt {
    const char *path;
    FILE *f;
    char sn[17];
    unsigned kind;
    uint32_t since, until;
    uint32_t records, first, last, at_last; /* at_last: records with the timestamp last */
    int complete;
    char *hex;                              /* a line's buffer */
};

static int parse_u32(const char *s, const char *name, uint32_t *out)
{
    size_t n = strlen(name);
    if (strncmp(s, name, n) != 0 || s[n] != '=')
        return -1;
    s += n + 1;
    size_t d = strspn(s, "0123456789");
    if (d == 0 || d > 10 || (s[d] && s[d] != ' ' && s[d] != '\n'))
        return -1;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* The words of the header line into k. */
static int parse_header(struct ckpt *k, char *line)
{
    char *w[8];
    size_t n = 0;
    for (char *tok = strtok(line, " \n"); tok && n < 8; tok = strtok(NULL, " \n"))
        w[n++] = tok;
    unsigned format;
    if (n != 6 || strcmp(w[0], CHECKPOINT_MAGIC) != 0 || sscanf(w[1], "%u", &format) != 1 ||
        format != CHECKPOINT_FORMAT || strncmp(w[2], "sn=", 3) != 0 || strlen(w[2]) != 19 ||
        strncmp(w[3], "kind=", 5) != 0 || lsws_history_kind_find(w[3] + 5) < 0 ||
        parse_u32(w[4], "since", &k->since) || parse_u32(w[5], "until", &k->until) || k->since > k->until)
        return -1;
    memcpy(k->sn, w[2] + 3, 17);
    k->kind = (unsigned)lsws_history_kind_find(w[3] + 5);
    return 0;
}

struct line_check {
    struct ckpt *k;
    uint32_t ts;
    unsigned n;
};

static int one_record(void *arg, const uint8_t *rec, size_t len, uint32_t ts)
{
    struct line_check *lc = arg;
    (void)rec;
    (void)len;
    lc->ts = ts;
    lc->n++;
    return 0;
}

/* A record line: one record of the job's kind, in its range, not before the last. */
static int check_line(struct ckpt *k, const char *hex, uint8_t *bytes, uint32_t *ts)
{
    size_t len = 0;
    struct line_check lc = {k, 0, 0};
    if (lsws_hex_parse(hex, bytes, RECORD_BYTES_MAX, &len, NULL) != LSWS_OK || len == 0 ||
        split(k->kind, bytes, len, 0, one_record, &lc, NULL, NULL) != LSWS_OK || lc.n != 1 || lc.ts < k->since ||
        lc.ts > k->until || (k->records && lc.ts < k->last))
        return -1;
    *ts = lc.ts;
    return 0;
}

static void take_record(struct ckpt *k, uint32_t ts)
{
    if (!k->records)
        k->first = ts;
    k->at_last = k->records && ts == k->last ? k->at_last + 1 : 1;
    k->last = ts;
    k->records++;
}

/* Reads line (at most LINE_MAX_CHARS) from f into buf: 1 a whole line, 0 the
 * end, -1 a line cut short (no newline: the last write of a killed run) or
 * too long. */
static int read_line(FILE *f, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, f))
        return 0;
    size_t n = strlen(buf);
    if (n == 0 || buf[n - 1] != '\n')
        return -1;
    buf[n - 1] = '\0';
    return 1;
}

/* Loads an existing checkpoint into k (header already compared by the
 * caller through want). Cuts off a last line a killed run left unfinished. */
static int ckpt_load(struct ckpt *k, struct lsws_error *err)
{
    FILE *f = fopen(k->path, "r+");
    if (!f)
        return errno == ENOENT ? LSWS_ERR_NODEV
                               : lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot open checkpoint '%s': %s", k->path,
                                           strerror(errno));
    uint8_t *bytes = malloc(RECORD_BYTES_MAX);
    char *line = k->hex;
    int rc = LSWS_OK;
    unsigned long lineno = 1;
    if (!bytes) {
        fclose(f);
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    if (read_line(f, line, LINE_MAX_CHARS) != 1 || parse_header(k, line) < 0) {
        rc = lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                       "'%s' is not an lsws history checkpoint (line 1): remove it to start the export afresh",
                       k->path);
        goto out;
    }
    long good = ftell(f);
    for (;;) {
        int got = read_line(f, line, LINE_MAX_CHARS);
        lineno++;
        if (got == 0)
            break;
        uint32_t a, b, cnt, ts;
        if (got == 1 && !k->complete && strncmp(line, "complete ", 9) == 0) {
            char *sp1 = strchr(line + 9, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
            if (!sp2 || parse_u32(line + 9, "records", &cnt) || parse_u32(sp1 + 1, "first", &a) ||
                parse_u32(sp2 + 1, "last", &b) || cnt != k->records || (cnt && (a != k->first || b != k->last))) {
                rc = lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                               "checkpoint '%s', line %lu: its end does not match its records: remove it to start "
                               "afresh", k->path, lineno);
                goto out;
            }
            k->complete = 1;
            good = ftell(f);
            continue;
        }
        if (got == 1 && !k->complete && check_line(k, line, bytes, &ts) == 0) {
            take_record(k, ts);
            good = ftell(f);
            continue;
        }
        /* A line that does not read: only the last line may be cut short. */
        int last = got < 0 ? fgetc(f) == EOF : 0;
        if (got < 0 && last && !k->complete)
            break;
        rc = lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                       "checkpoint '%s' is damaged at line %lu: remove it to start the export afresh", k->path,
                       lineno);
        goto out;
    }
    if (fflush(f) != 0 || ftruncate(fileno(f), good) < 0 || fseek(f, 0, SEEK_END) != 0)
        rc = lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write checkpoint '%s': %s", k->path, strerror(errno));
out:
    free(bytes);
    if (rc == LSWS_OK)
        k->f = f;
    else
        fclose(f);
    return rc;
}

static int ckpt_create(struct ckpt *k, struct lsws_error *err)
{
    int fd = open(k->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "r+") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot create checkpoint '%s': %s", k->path, strerror(e));
    }
    if (fprintf(f, "%s %d sn=%s kind=%s since=%u until=%u\n", CHECKPOINT_MAGIC, CHECKPOINT_FORMAT, k->sn,
                kind_names[k->kind], k->since, k->until) < 0 ||
        fflush(f) != 0 || fsync(fileno(f)) < 0) {
        int e = errno;
        fclose(f);
        unlink(k->path);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write checkpoint '%s': %s", k->path, strerror(e));
    }
    k->f = f;
    return LSWS_OK;
}

static int ckpt_append(struct ckpt *k, const uint8_t *rec, size_t len, uint32_t ts, struct lsws_error *err)
{
    if (len > RECORD_BYTES_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "a record of %zu bytes is longer than %d", len,
                         RECORD_BYTES_MAX);
    lsws_hex_format(rec, len, k->hex);
    if (fputs(k->hex, k->f) < 0 || fputc('\n', k->f) < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write checkpoint '%s': %s", k->path, strerror(errno));
    take_record(k, ts);
    return LSWS_OK;
}

/* Pushes what was appended to the file (a kill keeps it) or, with sync, to the disk. */
static int ckpt_flush(struct ckpt *k, int sync, struct lsws_error *err)
{
    if (fflush(k->f) != 0 || (sync && fdatasync(fileno(k->f)) < 0))
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write checkpoint '%s': %s", k->path, strerror(errno));
    return LSWS_OK;
}

static void ckpt_close(struct ckpt *k)
{
    if (k->f)
        fclose(k->f);
    k->f = NULL;
    free(k->hex);
    k->hex = NULL;
}

int lsws_history_checkpoint_info(const char *checkpoint, struct lsws_history_result *res, struct lsws_error *err)
{
    struct ckpt k = {.path = checkpoint, .hex = malloc(LINE_MAX_CHARS)};
    if (!k.hex)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    int rc = ckpt_load(&k, err);
    if (rc == LSWS_ERR_NODEV)
        rc = lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "no checkpoint '%s'", checkpoint);
    memset(res, 0, sizeof *res);
    if (rc == LSWS_OK) {
        res->records = k.records;
        res->first = k.first;
        res->last = k.last;
        res->resumed = k.records;
        res->since = k.since;
        res->until = k.until;
        res->complete = k.complete;
    }
    ckpt_close(&k);
    return rc;
}

/* ---- the export ------------------------------------------------------------------------------- */

struct job {
    struct lsws_client *c;
    const struct lsws_device_info *info;
    const struct lsws_history_job *o;
    struct ckpt *k;
    struct lsws_history_result *res;
    uint32_t from;       /* the query's start */
    uint32_t skip;       /* records at `from` already in the checkpoint */
    size_t used;         /* bytes of the answer taken */
    uint32_t taken;      /* records of the answer seen (skipped or kept) */
    int stopped;
};

static int take(void *arg, const uint8_t *rec, size_t len, uint32_t ts)
{
    struct job *j = arg;
    j->taken++;
    if (j->skip) {
        /* The first records of the answer are the ones at `from` that the
         * checkpoint holds already; a store that lost them since is not
         * the store the checkpoint came from. */
        if (ts != j->from)
            return LSWS_ERR_VERIFY;
        j->skip--;
        return 0;
    }
    struct lsws_error e;
    lsws_error_clear(&e);
    return ckpt_append(j->k, rec, len, ts, &e) == LSWS_OK ? 0 : LSWS_ERR_IO;
}

/* After each page: the records complete so far go into the checkpoint. */
static int on_page(struct fetch *f, void *ctx, struct lsws_error *err)
{
    struct job *j = ctx;
    size_t used = 0;
    int last = f->have == f->total;
    int rc = split(j->o->kind, f->buf + j->used, f->have - j->used, !last, take, j, &used, err);
    j->used += used;
    if (rc == LSWS_ERR_VERIFY)
        return lsws_fail(err, LSWS_ERR_VERIFY, SIZE_MAX,
                         "'%s' no longer holds the records at %u that checkpoint '%s' has: the store changed; remove "
                         "the checkpoint to export afresh", lsws_client_uri(j->c), j->from, j->k->path);
    if (rc == LSWS_ERR_IO)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write checkpoint '%s': %s", j->k->path, strerror(errno));
    if (rc != LSWS_OK)
        return rc;
    if ((rc = ckpt_flush(j->k, 0, err)) != LSWS_OK)
        return rc;
    if (j->o->progress && j->o->progress(j->o->progress_ctx, j->k->records, j->res->device.count)) {
        j->stopped = 1;
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "interrupted");
    }
    return LSWS_OK;
}

/* Link losses: reconnect and go on, a few times in a row. */
static int recover(struct job *j, int rc, unsigned *fails, struct lsws_error *err)
{
    unsigned limit = j->o->reconnects ? j->o->reconnects : 3;
    int lost = rc == LSWS_ERR_NODEV || rc == LSWS_ERR_TIMEOUT || rc == LSWS_ERR_PROTOCOL || rc == LSWS_ERR_AUTH;
    if (!lost || j->stopped || ++*fails > limit)
        return rc;
    struct lsws_error rerr;
    lsws_error_clear(&rerr);
    for (unsigned tries = 0; tries < 3; tries++) {
        /* The reconnect checks it reached this unit (model and SN): a pty
         * number reused or another hub in reach must not put its records
         * into this unit's checkpoint. */
        if (lsws_client_reconnect(j->c, &rerr) == LSWS_OK) {
            j->res->reconnects++;
            return LSWS_OK;
        }
        if (lsws_client_other_unit(j->c))
            return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s: stopped", rerr.msg);
        usleep(200000u << tries);
    }
    return rc; /* the first error says what happened */
}

static int fetch_range(struct job *j, struct lsws_error *err)
{
    struct ckpt *k = j->k;
    unsigned fails = 0;
    struct fetch f = {.query = LSWS_HQ_RANGE, .kind = (uint8_t)j->o->kind, .on_page = on_page, .ctx = j};
    int rc = LSWS_OK;
    for (;;) {
        j->from = k->records ? k->last : k->since;
        j->skip = k->records ? k->at_last : 0;
        j->used = 0;
        j->taken = 0;
        f.a = j->from;
        f.b = k->until;
        uint32_t before = k->records;
        rc = fetch_answer(j->c, &f, err);
        if (rc == LSWS_OK)
            rc = ckpt_flush(k, 1, err);
        if (rc != LSWS_OK) {
            ckpt_flush(k, 1, NULL);
            if (k->records != before)
                fails = 0; /* it got somewhere */
            if ((rc = recover(j, rc, &fails, err)) != LSWS_OK)
                break;
            continue;
        }
        fails = 0;
        if (j->skip)
            rc = lsws_fail(err, LSWS_ERR_VERIFY, SIZE_MAX,
                           "'%s' holds fewer records at %u than checkpoint '%s': the store changed; remove the "
                           "checkpoint to export afresh", lsws_client_uri(j->c), j->from, k->path);
        else if (!f.more)
            break;
        else if (k->records == before)
            rc = lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX,
                           "'%s' answers the same %u records at %u again: more than a query holds share one time",
                           lsws_client_uri(j->c), f.records, j->from);
        if (rc != LSWS_OK)
            break;
    }
    free(f.buf);
    return rc;
}

int lsws_history_fetch(struct lsws_client *c, const struct lsws_device_info *info, const struct lsws_history_job *o,
                       struct lsws_history_result *res, struct lsws_error *err)
{
    struct ckpt k = {.path = o->checkpoint, .kind = o->kind};
    struct job j = {.c = c, .info = info, .o = o, .k = &k, .res = res};
    memset(res, 0, sizeof *res);
    int rc = check_kind(o->kind, err);
    if (rc != LSWS_OK)
        return rc;
    if (info->model != LSWS_MODEL_CTH01)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "'%s' is a %s: it stores no history (the CTH01 does)",
                         lsws_client_uri(c), lsws_model_get(info->model)->name);
    if (!(k.hex = malloc(LINE_MAX_CHARS)))
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    rc = ckpt_load(&k, err);
    if (rc == LSWS_OK) {
        /* The same job on the same unit, or nothing. */
        const char *what = strcmp(k.sn, info->sn) != 0 ? "another unit"
                           : k.kind != o->kind           ? "another kind of data"
                           : k.since != o->since         ? "another start (--since)"
                           : o->until && k.until != o->until ? "another end (--until)"
                                                             : NULL;
        if (what) {
            rc = lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                           "checkpoint '%s' is of an export from %s (%s %s from %u to %u): run that export again, "
                           "or remove the checkpoint", k.path, what, k.sn, kind_names[k.kind], k.since, k.until);
            goto out;
        }
        res->resumed = k.records;
    } else if (rc == LSWS_ERR_NODEV) {
        memcpy(k.sn, info->sn, sizeof k.sn);
        k.since = o->since;
        k.until = o->until ? o->until : info->time;
        if (k.since > k.until) {
            rc = lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "the export would end (%u) before it starts (%u)", k.until,
                           k.since);
            goto out;
        }
        rc = ckpt_create(&k, err);
    }
    if (rc != LSWS_OK)
        goto out;
    res->since = k.since;
    res->until = k.until;
    /* The device's own answer, first to size the progress, then to check. */
    unsigned fails = 0;
    while ((rc = lsws_history_status(c, o->kind, k.since, k.until, &res->device, err)) != LSWS_OK)
        if ((rc = recover(&j, rc, &fails, err)) != LSWS_OK)
            goto out;
    if (o->progress)
        o->progress(o->progress_ctx, k.records, res->device.count);
    if (!k.complete) {
        if ((rc = fetch_range(&j, err)) != LSWS_OK)
            goto out;
        fails = 0;
        while ((rc = lsws_history_status(c, o->kind, k.since, k.until, &res->device, err)) != LSWS_OK)
            if ((rc = recover(&j, rc, &fails, err)) != LSWS_OK)
                goto out;
    }
    const struct lsws_history_status *d = &res->device;
    if (d->count != k.records || (d->count && (d->first != k.first || d->last != k.last))) {
        rc = lsws_fail(err, LSWS_ERR_VERIFY, SIZE_MAX,
                       "the export holds %u records from %u to %u, but '%s' says it stores %u from %u to %u: "
                       "checkpoint '%s' kept", k.records, k.first, k.last, lsws_client_uri(c), d->count, d->first,
                       d->last, k.path);
        goto out;
    }
    if (!k.complete) {
        if (fprintf(k.f, "complete records=%u first=%u last=%u\n", k.records, k.first, k.last) < 0 ||
            (rc = ckpt_flush(&k, 1, err)) != LSWS_OK) {
            rc = lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write checkpoint '%s'", k.path);
            goto out;
        }
        k.complete = 1;
    }
    res->complete = 1;
out:
    res->records = k.records;
    res->first = k.first;
    res->last = k.last;
    ckpt_close(&k);
    return rc;
}

/* ---- writing the output ----------------------------------------------------------------------- */

/* Each record line of a complete checkpoint, in order. */
static int each_record(const char *checkpoint, int (*fn)(void *ctx, const uint8_t *rec, size_t len), void *ctx,
                       struct lsws_error *err)
{
    FILE *f = fopen(checkpoint, "r");
    char *line = malloc(LINE_MAX_CHARS);
    uint8_t *bytes = malloc(RECORD_BYTES_MAX);
    int rc = LSWS_OK;
    if (!f || !line || !bytes) {
        rc = f ? lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory")
               : lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot open checkpoint '%s': %s", checkpoint, strerror(errno));
        goto out;
    }
    if (read_line(f, line, LINE_MAX_CHARS) != 1)
        rc = lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "checkpoint '%s' has no header", checkpoint);
    while (rc == LSWS_OK) {
        int got = read_line(f, line, LINE_MAX_CHARS);
        size_t len = 0;
        if (got == 1 && strncmp(line, "complete ", 9) == 0)
            break;
        if (got != 1 || lsws_hex_parse(line, bytes, RECORD_BYTES_MAX, &len, err) != LSWS_OK) {
            rc = lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "checkpoint '%s' is not complete", checkpoint);
            break;
        }
        rc = fn(ctx, bytes, len);
    }
out:
    if (f)
        fclose(f);
    free(line);
    free(bytes);
    return rc;
}

struct writer {
    enum lsws_history_format format;
    struct lsws_csv *csv;
    FILE *out;
    int utc, tz;
    struct lsws_uplink *up;
    char *buf;
    struct lsws_error *err;
};

static int csv_feed_one(const struct lsws_uplink *rec, void *arg)
{
    struct writer *w = arg;
    return lsws_csv_feed(w->csv, rec, w->err);
}

static int csv_record(void *arg, const uint8_t *rec, size_t len)
{
    struct writer *w = arg;
    int rc = lsws_uplink_decode_each(LSWS_MODEL_CTH01, rec, len, csv_feed_one, w, w->err);
    return rc != LSWS_OK ? rc : lsws_csv_break(w->csv, w->err);
}

#define JSON_MAX (64 * 1024)

/* One JSON object per record: the members lsws decode --json gives a
 * history record, after the record's time in ISO 8601. */
static int json_record(void *arg, const uint8_t *rec, size_t len)
{
    struct writer *w = arg;
    int rc = lsws_uplink_decode(LSWS_MODEL_CTH01, rec, len, w->up, w->err);
    if (rc != LSWS_OK)
        return rc;
    for (size_t i = 0; i < w->up->n; i++)
        w->up->r[i].record = 1; /* the `ed` records of one monthly summary are one object */
    w->up->records = 1;
    size_t n = lsws_uplink_json(w->up, w->buf, JSON_MAX);
    static const char head[] = "{\"history\":[{", tail[] = "}]}";
    if (n >= JSON_MAX || n < sizeof head + sizeof tail || memcmp(w->buf, head, sizeof head - 1) != 0 ||
        memcmp(w->buf + n - (sizeof tail - 1), tail, sizeof tail - 1) != 0)
        return lsws_fail(w->err, LSWS_ERR_RANGE, SIZE_MAX, "a record does not render as one JSON object");
    char when[40];
    lsws_time_format(w->up->r[0].timestamp, w->utc, w->tz, when, sizeof when);
    w->buf[n - 2] = '\0'; /* drop "]}" */
    if (fprintf(w->out, "{\"time\":\"%s\",%s\n", when, w->buf + sizeof head - 1) < 0)
        return lsws_fail(w->err, LSWS_ERR_IO, SIZE_MAX, "cannot write the records");
    return LSWS_OK;
}

int lsws_history_write(const char *checkpoint, const char *path, enum lsws_history_format format, int utc,
                       int tz_minutes, struct lsws_error *err)
{
    struct lsws_history_result res;
    int rc = lsws_history_checkpoint_info(checkpoint, &res, err);
    if (rc != LSWS_OK)
        return rc;
    if (!res.complete)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "checkpoint '%s' holds %u records but the export is not complete: run it again", checkpoint,
                         res.records);
    struct writer w = {.format = format, .utc = utc, .tz = tz_minutes, .err = err};
    char *tmp = NULL;
    if (format == LSWS_HISTORY_CSV) {
        if (lsws_csv_new(LSWS_MODEL_CTH01, &w.csv) != LSWS_OK)
            return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
        /* Pass 1: the columns the records fill. */
        rc = each_record(checkpoint, csv_record, &w, err);
    } else {
        w.up = malloc(sizeof *w.up);
        w.buf = malloc(JSON_MAX);
        if (!w.up || !w.buf)
            rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    if (rc == LSWS_OK)
        rc = lsws_file_begin(path, 0644, &w.out, &tmp, err);
    if (rc == LSWS_OK && w.csv) {
        if ((rc = lsws_csv_rows(w.csv, w.out, utc, tz_minutes, err)) == LSWS_OK &&
            (rc = each_record(checkpoint, csv_record, &w, err)) == LSWS_OK)
            rc = lsws_csv_finish(w.csv, err);
    } else if (rc == LSWS_OK) {
        rc = each_record(checkpoint, json_record, &w, err);
    }
    if (rc == LSWS_OK)
        rc = lsws_file_commit(w.out, tmp, path, err);
    else if (w.out)
        lsws_file_abort(w.out, tmp);
    lsws_csv_free(w.csv);
    free(w.up);
    free(w.buf);
    return rc;
}
