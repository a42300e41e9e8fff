/* CTH01 stored history: the simulator's store (CTH01 guide ch.4 "Export the
 * Local Data", ch.5 "Commands for Historical Data Query"), the HISTORY
 * operation as the device answers it (well-formed and malformed requests),
 * the client's queries, the answer splitter, the resumable export and its
 * checkpoint, the CSV layout and the time parser. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define T2026 1767225600u /* 2026-01-01T00:00:00Z */
#define CAP LSWS_HISTORY_CAPACITY

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lsws-history-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path(const char *name)
{
    static char buf[64][256];
    static int i;
    i = (i + 1) % 64;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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

/* ---- a simulated unit driven message by message ------------------------------------ */

struct dev {
    struct lsws_sim *sim;
    uint8_t seq;
    uint8_t resp[LSWS_MSG_MAX];
    size_t rlen;
    struct lsws_msg m;
};

static void dev_new(struct dev *d, const struct lsws_sim_opts *o)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(d, 0, sizeof *d);
    if (lsws_sim_new(o, &d->sim, &err) != LSWS_OK)
        fail_msg("lsws_sim_new: %s", err.msg);
}

static int request(struct dev *d, uint8_t op, const uint8_t *p, size_t n)
{
    uint8_t req[LSWS_MSG_MAX];
    size_t len;
    assert_int_equal(lsws_msg_encode(++d->seq, op, -1, p, n, req, sizeof req, &len), LSWS_OK);
    lsws_sim_handle(d->sim, req, len, d->resp, sizeof d->resp, &d->rlen, mono_ms());
    assert_true(d->rlen >= 4);
    assert_int_equal(lsws_msg_decode(d->resp, d->rlen, &d->m, NULL), LSWS_OK);
    return d->m.status;
}

static int history_hex(struct dev *d, const char *hex)
{
    uint8_t p[64];
    return request(d, LSWS_OP_HISTORY, p, hex_bytes(hex, p, sizeof p));
}

static void login(struct dev *d)
{
    assert_int_equal(request(d, LSWS_OP_AUTH, (const uint8_t *)"123456", 6), LSWS_ST_OK);
}

static void status(struct dev *d, unsigned kind, uint32_t a, uint32_t b, struct lsws_history_status *st)
{
    uint8_t p[10] = {LSWS_HQ_STATUS, (uint8_t)kind};
    put32(put32(p + 2, a), b);
    assert_int_equal(request(d, LSWS_OP_HISTORY, p, sizeof p), LSWS_ST_OK);
    assert_int_equal(d->m.len, 20);
    st->count = get32(d->m.payload);
    st->first = get32(d->m.payload + 4);
    st->last = get32(d->m.payload + 8);
    st->stored = get32(d->m.payload + 12);
    st->capacity = get32(d->m.payload + 16);
}

/* A range (or point) query's whole answer, page by page at max bytes. */
static size_t answer(struct dev *d, uint8_t q, unsigned kind, uint32_t a, uint32_t b, unsigned max, uint8_t *out,
                     size_t cap, unsigned *records, int *more)
{
    size_t have = 0, total = 0;
    do {
        uint8_t p[16], *e = p;
        *e++ = q;
        *e++ = (uint8_t)kind;
        e = put32(e, a);
        if (q == LSWS_HQ_RANGE)
            e = put32(e, b);
        e = put32(e, (uint32_t)have);
        *e++ = (uint8_t)max;
        *e++ = (uint8_t)(max >> 8);
        assert_int_equal(request(d, LSWS_OP_HISTORY, p, (size_t)(e - p)), LSWS_ST_OK);
        assert_true(d->rlen <= max);
        assert_true(d->m.len >= LSWS_HISTORY_PAGE_HEAD);
        total = get32(d->m.payload);
        *records = d->m.payload[4] | d->m.payload[5] << 8;
        *more = d->m.payload[6];
        assert_int_equal(get32(d->m.payload + 7), have);
        size_t n = d->m.len - LSWS_HISTORY_PAGE_HEAD;
        assert_true(have + n <= cap);
        memcpy(out + have, d->m.payload + LSWS_HISTORY_PAGE_HEAD, n);
        have += n;
        assert_true(n > 0 || have == total);
    } while (have < total);
    return have;
}

struct collect {
    unsigned n;
    uint32_t ts[LSWS_HISTORY_QUERY_MAX * 2];
    size_t len[LSWS_HISTORY_QUERY_MAX * 2];
};

static int collect(void *arg, const uint8_t *rec, size_t len, uint32_t ts)
{
    struct collect *c = arg;
    (void)rec;
    if (c->n < sizeof c->ts / sizeof c->ts[0]) {
        c->ts[c->n] = ts;
        c->len[c->n] = len;
    }
    c->n++;
    return 0;
}

/* ---- a unit through the client (sim: transport) --------------------------------------- */

static struct lsws_client *connect_to(const char *uri_text)
{
    struct lsws_uri uri;
    struct lsws_client *c = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_uri_parse(uri_text, &uri, &err) != LSWS_OK || lsws_client_open(&uri, NULL, &c, &err) != LSWS_OK ||
        lsws_client_auth(c, "123456", NULL, &err) != LSWS_OK)
        fail_msg("%s: %s", uri_text, err.msg);
    return c;
}

/* Writes KEY=VALUE settings to the unit with state file state. */
static void write_settings(const char *state, const char *const *kv)
{
    char uri[300];
    snprintf(uri, sizeof uri, "sim:cth01?state=%s", state);
    struct lsws_client *c = connect_to(uri);
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    struct lsws_config *cur, *chg;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_config_new(m, &cur), LSWS_OK);
    assert_int_equal(lsws_config_new(m, &chg), LSWS_OK);
    assert_int_equal(lsws_client_read(c, cur, NULL, &err), LSWS_OK);
    for (; *kv; kv++)
        if (lsws_config_assign(chg, *kv, &err) != LSWS_OK)
            fail_msg("%s: %s", *kv, err.msg);
    if (lsws_client_write(c, chg, cur, &err) != LSWS_OK)
        fail_msg("write: %s", err.msg);
    lsws_config_free(cur);
    lsws_config_free(chg);
    lsws_client_close(c);
}

static const char *const all_reports[] = {
    "report.temperature=true", "report.current=true", "report.voltage=true", "report.power_factor=true",
    "report.active_power=true", "report.reactive_power=true", "report.apparent_power=true",
    "report.import_active_energy=true", "report.export_active_energy=true", "report.import_reactive_energy=true",
    "report.export_reactive_energy=true", "report.apparent_energy=true", "report.thdi=true", "report.thdv=true",
    "report.voltage_unbalance=true", NULL};

static struct lsws_sim *seeded(const char *state, uint32_t n, uint32_t start)
{
    struct lsws_sim_opts o = {.model = LSWS_MODEL_CTH01, .state_path = state, .history_records_set = 1,
                              .history_records = n, .history_start_set = start != 0, .history_start = start};
    struct lsws_sim *sim;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_sim_new(&o, &sim, &err) != LSWS_OK)
        fail_msg("%s", err.msg);
    return sim;
}

/* ---- times --------------------------------------------------------------------------- */

static void time_parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        uint32_t t;
    } rows[] = {
        {"0", LSWS_OK, 0},
        {"1770369441", LSWS_OK, 1770369441u},
        {"4294967295", LSWS_OK, 4294967295u},
        {"4294967296", LSWS_ERR_RANGE, 0},
        {"99999999999", LSWS_ERR_RANGE, 0},
        {"2026-02-06T09:17:21Z", LSWS_OK, 1770369441u},
        {"2026-02-06T10:17:21+01:00", LSWS_OK, 1770369441u},
        {"2026-02-06T04:47:21-0430", LSWS_OK, 1770369441u},
        {"2026-02-06 09:17:21", LSWS_OK, 1770369441u},
        {"2026-02-06T09:17", LSWS_OK, 1770369420u},
        {"2026-01-01", LSWS_OK, T2026},
        {"2024-02-29", LSWS_OK, 1709164800u},
        {"2025-02-29", LSWS_ERR_RANGE, 0},
        {"2026-13-01", LSWS_ERR_RANGE, 0},
        {"2026-00-10", LSWS_ERR_RANGE, 0},
        {"2026-04-31", LSWS_ERR_RANGE, 0},
        {"2026-02-06T24:00", LSWS_ERR_RANGE, 0},
        {"2026-02-06T23:60", LSWS_ERR_RANGE, 0},
        {"1969-12-31T23:59:59Z", LSWS_ERR_RANGE, 0},
        {"2106-02-07T06:28:16Z", LSWS_ERR_RANGE, 0},
        {"1970-01-01T00:00:00+00:01", LSWS_ERR_RANGE, 0},
        {"", LSWS_ERR_SYNTAX, 0},
        {"yesterday", LSWS_ERR_SYNTAX, 0},
        {"2026-2-6", LSWS_ERR_SYNTAX, 0},
        {"2026-02-06T9:17", LSWS_ERR_SYNTAX, 0},
        {"2026-02-06T09:17:21ZZ", LSWS_ERR_SYNTAX, 0},
        {"2026-02-06T09:17:21+1", LSWS_ERR_SYNTAX, 0},
        {"2026-02-06T09:17:21+15:00", LSWS_ERR_SYNTAX, 0},
        {"2026-02-06X", LSWS_ERR_SYNTAX, 0},
        {"-5", LSWS_ERR_SYNTAX, 0},
        {"12a", LSWS_ERR_SYNTAX, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint32_t t = 12345;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_time_parse(rows[i].text, &t, &err);
        if (rc != rows[i].rc)
            fail_msg("'%s': %d, want %d (%s)", rows[i].text, rc, rows[i].rc, err.msg);
        if (rc == LSWS_OK)
            assert_int_equal(t, rows[i].t);
        else
            assert_true(strstr(err.msg, rows[i].text) != NULL); /* the message names the input */
    }
}

static void time_format(void **state)
{
    (void)state;
    char buf[40];
    assert_int_equal(lsws_time_format(1770369441u, 1, 0, buf, sizeof buf), 20);
    assert_string_equal(buf, "2026-02-06T09:17:21Z");
    lsws_time_format(1770369441u, 0, 60, buf, sizeof buf);
    assert_string_equal(buf, "2026-02-06T10:17:21+01:00");
    lsws_time_format(1770369441u, 0, -270, buf, sizeof buf);
    assert_string_equal(buf, "2026-02-06T04:47:21-04:30");
    lsws_time_format(0, 0, 0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00+00:00");
    lsws_time_format(4294967295u, 1, 0, buf, sizeof buf);
    assert_string_equal(buf, "2106-02-07T06:28:15Z");
    /* Round trip over a spread of times. */
    for (uint32_t t = 0; t < 4000000000u; t += 97654321u) {
        uint32_t back;
        lsws_time_format(t, 0, 330, buf, sizeof buf);
        assert_int_equal(lsws_time_parse(buf, &back, NULL), LSWS_OK);
        assert_int_equal(back, t);
    }
}

/* ---- the store ------------------------------------------------------------------------- */

static void storage_and_clock_first(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_sim_opts o = {.model = LSWS_MODEL_CTH01, .state_path = path("pre.json")};
    dev_new(&d, &o);
    login(&d);
    /* A new unit: storage off (the guide has the user enable it). */
    assert_int_equal(history_hex(&d, "000100000000ffffffff"), LSWS_ST_STORAGE_OFF);
    assert_int_equal(history_hex(&d, "5c0100000000ffffffff000000000004"), LSWS_ST_STORAGE_OFF);
    /* Storage on, the clock never set: the prerequisite of the guide. */
    uint8_t w[] = {LSWS_WRITE_FIRST, 0xc5, 0x00, 0x01};
    assert_int_equal(request(&d, LSWS_OP_WRITE, w, sizeof w), LSWS_ST_OK);
    assert_int_equal(history_hex(&d, "000100000000ffffffff"), LSWS_ST_NO_CLOCK);
    assert_int_equal(history_hex(&d, "5b0100000000000000000004"), LSWS_ST_NO_CLOCK);
    /* Clearing and stopping need neither. */
    assert_int_equal(history_hex(&d, "5e01"), LSWS_ST_OK);
    assert_int_equal(history_hex(&d, "5d01"), LSWS_ST_OK);
    uint8_t ts[6];
    put32(ts, 1770369441u);
    ts[4] = ts[5] = 0;
    assert_int_equal(request(&d, LSWS_OP_TIME_SYNC, ts, sizeof ts), LSWS_ST_OK);
    struct lsws_history_status st;
    status(&d, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st);
    assert_int_equal(st.count, 0);
    assert_int_equal(st.stored, 0);
    assert_int_equal(st.capacity, CAP);
    lsws_sim_free(d.sim);
    /* The clock stays set in the state file. */
    dev_new(&d, &o);
    login(&d);
    status(&d, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st);
    lsws_sim_free(d.sim);
    /* A WS523 stores nothing. */
    struct lsws_sim_opts ws = {.model = LSWS_MODEL_WS523};
    dev_new(&d, &ws);
    login(&d);
    assert_int_equal(history_hex(&d, "000100000000ffffffff"), LSWS_ST_UNSUPPORTED);
    lsws_sim_free(d.sim);
    /* Nor can a WS523 be seeded. */
    struct lsws_sim_opts wh = {.model = LSWS_MODEL_WS523, .history_records_set = 1, .history_records = 5};
    struct lsws_sim *sim;
    assert_int_equal(lsws_sim_new(&wh, &sim, NULL), LSWS_ERR_UNSUPPORTED);
}

static void malformed_requests(void **state)
{
    (void)state;
    struct lsws_sim *sim = seeded(path("bad.json"), 1000, T2026);
    struct dev d = {.sim = sim};
    login(&d);
    static const struct {
        const char *hex;
        int status;
    } rows[] = {
        {"", LSWS_ST_BAD_REQUEST},                                   /* no query */
        {"00", LSWS_ST_BAD_REQUEST},                                 /* no kind */
        {"0104", LSWS_ST_BAD_REQUEST},                               /* unknown query */
        {"5f01", LSWS_ST_BAD_REQUEST},                               /* 5f clears energy, not history */
        {"0004", LSWS_ST_BAD_REQUEST},                               /* kind 04 */
        {"00ff00000000ffffffff", LSWS_ST_BAD_REQUEST},               /* kind ff */
        {"000100000000ffffff", LSWS_ST_BAD_REQUEST},                 /* status one byte short */
        {"000100000000ffffffff00", LSWS_ST_BAD_REQUEST},             /* and one too many */
        {"5c0100000000ffffffff0000000000", LSWS_ST_BAD_REQUEST},     /* range without max */
        {"5c0100000000ffffffff00000000000400", LSWS_ST_BAD_REQUEST}, /* one too many */
        {"5c01ffffffff00000000000000000004", LSWS_ST_BAD_REQUEST},   /* starts after it ends */
        {"5c0100000000ffffffff000000000f00", LSWS_ST_BAD_REQUEST},   /* pages of 15 bytes */
        {"5c0100000000ffffffff010000000004", LSWS_ST_SEQUENCE},      /* a page of no open query */
        {"5b01000000000000000000", LSWS_ST_BAD_REQUEST},             /* point without max */
        {"5d", LSWS_ST_BAD_REQUEST},
        {"5d0100", LSWS_ST_BAD_REQUEST},
        {"5e010000", LSWS_ST_BAD_REQUEST},
        {"5e09", LSWS_ST_BAD_REQUEST},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t p[64];
        size_t n = rows[i].hex[0] ? hex_bytes(rows[i].hex, p, sizeof p) : 0;
        int st = request(&d, LSWS_OP_HISTORY, p, n);
        if (st != rows[i].status)
            fail_msg("history %s: status %d, want %d", rows[i].hex, st, rows[i].status);
    }
    /* An offset past the answer, and a page of another query than the open one. */
    assert_int_equal(history_hex(&d, "5c0100000000ffffffff000000000004"), LSWS_ST_OK);
    uint32_t total = get32(d.m.payload);
    uint8_t p[16] = {0x5c, 1};
    put32(put32(put32(p + 2, 0), UINT32_MAX), total + 1);
    p[14] = 0;
    p[15] = 4;
    assert_int_equal(request(&d, LSWS_OP_HISTORY, p, sizeof p), LSWS_ST_BAD_REQUEST);
    put32(p + 10, 100);
    assert_int_equal(request(&d, LSWS_OP_HISTORY, p, sizeof p), LSWS_ST_OK); /* the open query */
    p[1] = 0;
    assert_int_equal(request(&d, LSWS_OP_HISTORY, p, sizeof p), LSWS_ST_SEQUENCE); /* another kind */
    p[1] = 1;
    put32(p + 2, 5);
    assert_int_equal(request(&d, LSWS_OP_HISTORY, p, sizeof p), LSWS_ST_SEQUENCE); /* another start */
    put32(p + 2, 0);
    /* Stop ends it: its pages answer SEQUENCE. */
    assert_int_equal(history_hex(&d, "5d01"), LSWS_ST_OK);
    assert_int_equal(request(&d, LSWS_OP_HISTORY, p, sizeof p), LSWS_ST_SEQUENCE);
    /* So does the end of the session. */
    assert_int_equal(history_hex(&d, "5c0100000000ffffffff000000000004"), LSWS_ST_OK);
    lsws_sim_disconnect(sim);
    login(&d);
    assert_int_equal(request(&d, LSWS_OP_HISTORY, p, sizeof p), LSWS_ST_SEQUENCE);
    lsws_sim_free(sim);
}

static void range_and_point_queries(void **state)
{
    (void)state;
    const uint32_t n = 1000, iv = 600;
    struct lsws_sim *sim = seeded(path("range.json"), n, T2026);
    struct dev d = {.sim = sim};
    login(&d);
    struct lsws_history_status st;
    status(&d, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st);
    assert_int_equal(st.count, n);
    assert_int_equal(st.stored, n);
    assert_int_equal(st.first, T2026);
    assert_int_equal(st.last, T2026 + (n - 1) * iv);
    /* The edges: a record exactly at start and at end is in. */
    status(&d, LSWS_HK_PERIODIC, T2026 + 10 * iv, T2026 + 20 * iv, &st);
    assert_int_equal(st.count, 11);
    status(&d, LSWS_HK_PERIODIC, T2026 + 10 * iv + 1, T2026 + 20 * iv - 1, &st);
    assert_int_equal(st.count, 9);
    assert_int_equal(st.first, T2026 + 11 * iv);
    status(&d, LSWS_HK_PERIODIC, T2026 + 10 * iv + 1, T2026 + 10 * iv + 2, &st);
    assert_int_equal(st.count, 0);
    assert_int_equal(st.first, 0);

    /* At most 300 records per range query, in pages that fit. */
    static uint8_t buf[300 * 1024];
    unsigned records;
    int more;
    struct lsws_error err;
    lsws_error_clear(&err);
    for (unsigned max = 64; max <= 1024; max *= 4) {
        size_t len = answer(&d, LSWS_HQ_RANGE, LSWS_HK_PERIODIC, 0, UINT32_MAX, max, buf, sizeof buf, &records, &more);
        assert_int_equal(records, LSWS_HISTORY_QUERY_MAX);
        assert_true(more);
        struct collect c = {0};
        assert_int_equal(lsws_history_split(LSWS_HK_PERIODIC, buf, len, collect, &c, &err), LSWS_OK);
        assert_int_equal(c.n, 300);
        for (unsigned i = 0; i < c.n; i++)
            assert_int_equal(c.ts[i], T2026 + i * iv);
    }
    /* The last query of the range: no more. */
    size_t len = answer(&d, LSWS_HQ_RANGE, LSWS_HK_PERIODIC, T2026 + 900 * iv, UINT32_MAX, 1024, buf, sizeof buf,
                        &records, &more);
    assert_int_equal(records, 100);
    assert_false(more);
    assert_true(len > 0);
    /* Exactly 300 left: no more either. */
    answer(&d, LSWS_HQ_RANGE, LSWS_HK_PERIODIC, T2026 + 700 * iv, UINT32_MAX, 1024, buf, sizeof buf, &records, &more);
    assert_int_equal(records, 300);
    assert_false(more);
    /* An empty range answers no bytes. */
    len = answer(&d, LSWS_HQ_RANGE, LSWS_HK_PERIODIC, 0, T2026 - 1, 1024, buf, sizeof buf, &records, &more);
    assert_int_equal(len, 0);
    assert_int_equal(records, 0);

    /* Point (5b): the nearest record within one reporting interval, the
     * earlier one on a tie, none beyond the interval. */
    static const struct {
        uint32_t t;
        unsigned records;
        uint32_t ts;
    } points[] = {
        {T2026 + 5 * iv, 1, T2026 + 5 * iv},
        {T2026 + 5 * iv + 200, 1, T2026 + 5 * iv},
        {T2026 + 5 * iv + 400, 1, T2026 + 6 * iv},
        {T2026 + 5 * iv + 300, 1, T2026 + 5 * iv},
        {T2026 - iv, 1, T2026},
        {T2026 - iv - 1, 0, 0},
        {T2026 + (n - 1) * iv + iv, 1, T2026 + (n - 1) * iv},
        {T2026 + n * iv + 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        len = answer(&d, LSWS_HQ_POINT, LSWS_HK_PERIODIC, points[i].t, 0, 1024, buf, sizeof buf, &records, &more);
        assert_int_equal(records, points[i].records);
        struct collect c = {0};
        assert_int_equal(lsws_history_split(LSWS_HK_PERIODIC, buf, len, collect, &c, &err), LSWS_OK);
        assert_int_equal(c.n, points[i].records);
        if (c.n)
            assert_int_equal(c.ts[0], points[i].ts);
    }
    /* A month's minimum and maximum share their time: both come. */
    lsws_sim_free(sim);
    sim = seeded(path("range.json"), 6000, T2026);
    d.sim = sim;
    login(&d);
    status(&d, LSWS_HK_MONTHLY_EXTREMES, 0, UINT32_MAX, &st);
    assert_int_equal(st.count, 2); /* Feb 1st */
    assert_int_equal(st.first, 1769904000u);
    len = answer(&d, LSWS_HQ_POINT, LSWS_HK_MONTHLY_EXTREMES, 1769904000u + 30, 0, 1024, buf, sizeof buf, &records,
                 &more);
    assert_int_equal(records, 2);
    struct collect c = {0};
    assert_int_equal(lsws_history_split(LSWS_HK_MONTHLY_EXTREMES, buf, len, collect, &c, &err), LSWS_OK);
    assert_int_equal(c.n, 2);
    lsws_sim_free(sim);
}

static void capacity_oldest_overwritten(void **state)
{
    (void)state;
    struct lsws_sim *sim = seeded(path("cap.json"), CAP + 5000, T2026);
    struct dev d = {.sim = sim};
    login(&d);
    struct lsws_history_status st;
    status(&d, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st);
    assert_int_equal(st.stored, CAP);
    assert_int_equal(st.count, CAP);
    assert_int_equal(st.first, T2026 + 5000u * 600); /* the oldest 5000 gone */
    assert_int_equal(st.last, T2026 + (CAP + 4999u) * 600);
    /* The state file holds what the records come from, not the records. */
    struct stat sb;
    assert_int_equal(stat(path("cap.json"), &sb), 0);
    assert_true(sb.st_size < 32 * 1024);
    lsws_sim_free(sim);
}

struct vcheck {
    unsigned records;
    uint32_t prev_ts;
    int64_t prev_energy[10][13];
    unsigned commands[256];
    int64_t cur_min[13], cur_max[13];
    size_t max_len;
};

static int check_values(const struct lsws_uplink *rec, void *arg)
{
    struct vcheck *v = arg;
    v->records++;
    for (size_t i = 0; i < rec->n; i++) {
        const struct lsws_reading *r = &rec->r[i];
        v->commands[r->code & 0xff]++;
        if (strcmp(r->name, "voltage") == 0)
            assert_true(r->value > 22000 && r->value < 24000);
        if (strcmp(r->name, "current") == 0) {
            if (r->value < v->cur_min[r->channel])
                v->cur_min[r->channel] = r->value;
            if (r->value > v->cur_max[r->channel])
                v->cur_max[r->channel] = r->value;
        }
        if (strcmp(r->name, "power_factor") == 0)
            assert_true(r->value >= 75 && r->value <= 100);
        if (strcmp(r->name, "temperature") == 0)
            assert_true(r->value > 1500 && r->value < 3500);
        if (r->code >= 0x0e && r->code <= 0x17 && r->channel) {
            /* Energy counters never go back. */
            int64_t *prev = &v->prev_energy[(r->code - 0x0e) / 2][r->channel];
            assert_true(r->value >= *prev);
            *prev = r->value;
        }
    }
    return 0;
}

static void records_plausible(void **state)
{
    (void)state;
    const char *st_path = path("full.json");
    write_settings(st_path, all_reports);
    struct lsws_sim *sim = seeded(st_path, 3000, T2026);
    char *dump = NULL;
    size_t dlen = 0;
    FILE *f = open_memstream(&dump, &dlen);
    assert_int_equal(lsws_sim_history_dump(sim, LSWS_HK_PERIODIC, f, NULL), LSWS_OK);
    fclose(f);
    struct vcheck v;
    memset(&v, 0, sizeof v);
    for (int ch = 0; ch < 13; ch++) {
        v.cur_min[ch] = INT64_MAX;
        v.cur_max[ch] = 0;
    }
    static uint8_t bytes[4096];
    unsigned lines = 0;
    for (char *line = strtok(dump, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        size_t n = hex_bytes(line, bytes, sizeof bytes);
        /* Every report parameter, 12 channels: 518 bytes (current 3 bytes, DESIGN.md). */
        assert_int_equal(n, 518);
        assert_int_equal(lsws_uplink_decode_each(LSWS_MODEL_CTH01, bytes, n, check_values, &v, NULL), LSWS_OK);
    }
    free(dump);
    assert_int_equal(lines, 3000);
    assert_int_equal(v.records, 3000);
    /* Every command of the periodic packet (01-17) in every record. */
    for (unsigned cmd = 0x01; cmd <= 0x17; cmd++)
        if (v.commands[cmd] < 3000)
            fail_msg("command %02x in %u records only", cmd, v.commands[cmd]);
    /* Currents vary on every channel. */
    for (int ch = 1; ch <= 12; ch++)
        assert_true(v.cur_max[ch] > v.cur_min[ch] + 100);
    lsws_sim_free(sim);
}

struct alarms {
    unsigned above, dismiss, overrange;
    uint32_t last_ts;
    int64_t limit;
};

static int check_alarm(const struct lsws_uplink *rec, void *arg)
{
    struct alarms *a = arg;
    assert_int_equal(rec->n, 1);
    const struct lsws_reading *r = &rec->r[0];
    assert_int_equal(r->kind, LSWS_RD_ALARM);
    assert_true(r->timestamp >= a->last_ts);
    a->last_ts = r->timestamp;
    if (r->channel == 1 && r->alarm == 0x13) {
        assert_true(r->value > a->limit);
        a->above++;
    } else if (r->channel == 1 && r->alarm == 0x12) {
        assert_true(r->value <= a->limit);
        a->dismiss++;
    } else if (r->alarm == 0x02 || r->alarm == 0x04) {
        a->overrange++;
    } else {
        fail_msg("unexpected alarm %s type %02x on channel %u", r->name, r->alarm, r->channel);
    }
    return 0;
}

struct median {
    int64_t v[8000];
    unsigned n;
};

static int channel1(const struct lsws_uplink *rec, void *arg)
{
    struct median *m = arg;
    for (size_t i = 0; i < rec->n; i++)
        if (strcmp(rec->r[i].name, "current") == 0 && rec->r[i].channel == 1 && m->n < 8000)
            m->v[m->n++] = rec->r[i].value;
    return 0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void dump_each(struct lsws_sim *sim, unsigned kind, int (*fn)(const struct lsws_uplink *, void *), void *ctx);

static void alarms_when_thresholds_crossed(void **state)
{
    (void)state;
    const char *st_path = path("alarm.json");
    static const char *const cur[] = {"report.current=true", NULL};
    write_settings(st_path, cur);
    /* The threshold: channel 1's median current, so that it is crossed. */
    struct lsws_sim *sim = seeded(st_path, 5000, T2026);
    static struct median med;
    dump_each(sim, LSWS_HK_PERIODIC, channel1, &med);
    lsws_sim_free(sim);
    qsort(med.v, med.n, sizeof med.v[0], cmp64);
    int64_t amps = med.v[med.n / 2] / 100;
    char max[64];
    snprintf(max, sizeof max, "alarm.current[1].max=%lld", (long long)amps);
    const char *const thr[] = {"alarm.current[1].enabled=true", "alarm.current[1].condition=above", max,
                               "alarm.dismiss_report=true", "alarm.times=2", "alarm.interval=5", NULL};
    write_settings(st_path, thr);
    /* Recorded again with the thresholds: the same loads (the same seed). */
    sim = seeded(st_path, 5001, T2026);
    struct alarms a = {.limit = amps * 100};
    dump_each(sim, LSWS_HK_ALARM, check_alarm, &a);
    /* Each crossing: two reports (alarm.times) 5 min apart, then a dismiss
     * (unless the store ends in an alarm). */
    assert_true(a.above > 10);
    assert_true(a.above == 2 * a.dismiss || a.above == 2 * a.dismiss + 2);
    lsws_sim_free(sim);
}

/* The monthly summaries agree with the periodic records they cover. */
struct month_check {
    uint32_t summary;       /* time of the summary being checked */
    uint32_t from;          /* start of its period */
    int64_t at_from[13], at_to[13];
    int64_t lo[13], hi[13]; /* current, from the records */
};

static int month_records(const struct lsws_uplink *rec, void *arg)
{
    struct month_check *m = arg;
    for (size_t i = 0; i < rec->n; i++) {
        const struct lsws_reading *r = &rec->r[i];
        if (r->code == 0x0e || r->code == 0x0f) {
            if (r->timestamp == m->from)
                m->at_from[r->channel] = r->value;
            if (r->timestamp == m->summary)
                m->at_to[r->channel] = r->value;
        }
        if (strcmp(r->name, "current") == 0 && r->timestamp >= m->from && r->timestamp < m->summary) {
            if (r->value < m->lo[r->channel])
                m->lo[r->channel] = r->value;
            if (r->value > m->hi[r->channel])
                m->hi[r->channel] = r->value;
        }
    }
    return 0;
}

struct month_got {
    int64_t energy[13], lo[13], hi[13];
    int energy_seen, lo_seen, hi_seen;
    uint32_t ts[8];
    unsigned n;
};

static int month_summary(const struct lsws_uplink *rec, void *arg)
{
    struct month_got *g = arg;
    for (size_t i = 0; i < rec->n; i++) {
        const struct lsws_reading *r = &rec->r[i];
        if (i == 0 && g->n < 8 && (!g->n || g->ts[g->n - 1] != r->timestamp))
            g->ts[g->n++] = r->timestamp;
        if (r->history_type == LSWS_HIST_MONTHLY_ENERGY && (r->code == 0x0e || r->code == 0x0f) && r->channel &&
            g->n == 2) {
            g->energy[r->channel] = r->value;
            g->energy_seen = 1;
        }
        if (strcmp(r->name, "current") == 0 && g->n == 2) {
            if (r->history_type == LSWS_HIST_MONTHLY_MIN)
                g->lo[r->channel] = r->value, g->lo_seen = 1;
            else
                g->hi[r->channel] = r->value, g->hi_seen = 1;
        }
    }
    return 0;
}

static void dump_each(struct lsws_sim *sim, unsigned kind, int (*fn)(const struct lsws_uplink *, void *), void *ctx)
{
    assert_non_null(sim);
    char *dump = NULL;
    size_t dlen = 0;
    FILE *f = open_memstream(&dump, &dlen);
    assert_int_equal(lsws_sim_history_dump(sim, kind, f, NULL), LSWS_OK);
    fclose(f);
    static uint8_t bytes[4096];
    for (char *line = strtok(dump, "\n"); line; line = strtok(NULL, "\n")) {
        size_t n = hex_bytes(line, bytes, sizeof bytes);
        assert_int_equal(lsws_uplink_decode_each(LSWS_MODEL_CTH01, bytes, n, fn, ctx, NULL), LSWS_OK);
    }
    free(dump);
}

static void monthly_summaries(void **state)
{
    (void)state;
    const char *st_path = path("month.json");
    write_settings(st_path, all_reports);
    /* 2026-01-01 for 100 days at 10 min: summaries on Feb 1st, Mar 1st, Apr 1st. */
    struct lsws_sim *sim = seeded(st_path, 14400, T2026);
    struct month_got e = {0}, x = {0};
    dump_each(sim, LSWS_HK_MONTHLY_ENERGY, month_summary, &e);
    dump_each(sim, LSWS_HK_MONTHLY_EXTREMES, month_summary, &x);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.ts[0], 1769904000u); /* 2026-02-01 */
    assert_int_equal(e.ts[1], 1772323200u); /* 2026-03-01 */
    assert_int_equal(x.n, 3);
    /* March's summary (the second): its energy is the counters' growth from
     * the February summary to it; its minimum and maximum bound the
     * currents recorded in between. */
    struct month_check m = {.summary = 1772323200u, .from = 1769904000u};
    for (int ch = 0; ch < 13; ch++) {
        m.lo[ch] = INT64_MAX;
        m.hi[ch] = INT64_MIN;
    }
    dump_each(sim, LSWS_HK_PERIODIC, month_records, &m);
    assert_true(e.energy_seen && x.lo_seen && x.hi_seen);
    for (int ch = 1; ch <= 12; ch++) {
        if (m.at_to[ch] - m.at_from[ch] != e.energy[ch])
            fail_msg("channel %d: counters grew %lld, the summary says %lld", ch,
                     (long long)(m.at_to[ch] - m.at_from[ch]), (long long)e.energy[ch]);
        assert_int_equal(x.lo[ch], m.lo[ch]);
        assert_int_equal(x.hi[ch], m.hi[ch]);
    }
    lsws_sim_free(sim);
}

static void clear_is_kept(void **state)
{
    (void)state;
    const char *st_path = path("clear.json");
    struct lsws_sim *sim = seeded(st_path, 2000, T2026);
    struct dev d = {.sim = sim};
    login(&d);
    struct lsws_history_status st, alarms;
    status(&d, LSWS_HK_ALARM, 0, UINT32_MAX, &alarms);
    assert_int_equal(history_hex(&d, "5e01"), LSWS_ST_OK);
    status(&d, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st);
    assert_int_equal(st.stored, 0);
    assert_int_equal(st.count, 0);
    status(&d, LSWS_HK_ALARM, 0, UINT32_MAX, &st);
    assert_int_equal(st.stored, alarms.stored); /* only that kind */
    lsws_sim_free(sim);
    /* Again with the same history asked for: still cleared. */
    sim = seeded(st_path, 2000, T2026);
    d.sim = sim;
    login(&d);
    status(&d, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st);
    assert_int_equal(st.stored, 0);
    lsws_sim_free(sim);
    /* Another history: recorded anew. */
    sim = seeded(st_path, 2001, T2026);
    d.sim = sim;
    login(&d);
    status(&d, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st);
    assert_int_equal(st.stored, 2001);
    lsws_sim_free(sim);
}

/* ---- the splitter ------------------------------------------------------------------------- */

static void split_table(void **state)
{
    (void)state;
    static const struct {
        unsigned kind;
        const char *hex;
        int rc;
        unsigned records;
    } rows[] = {
        /* periodic: the guide's reply example */
        {LSWS_HK_PERIODIC, "ed01a1b1856901360a", LSWS_OK, 1},
        {LSWS_HK_PERIODIC, "ed01a1b1856901360aed01a2b1856901360a", LSWS_OK, 2},
        /* the same time, mode and tag twice: one record in two `ed`s */
        {LSWS_HK_PERIODIC, "ed01a1b1856901360aed01a1b18569022926", LSWS_OK, 1},
        {LSWS_HK_PERIODIC, "", LSWS_OK, 0},
        {LSWS_HK_PERIODIC, "01360a", LSWS_ERR_MALFORMED, 0},                  /* live data */
        {LSWS_HK_PERIODIC, "ed01a1b1856901360a01360a", LSWS_OK, 1},           /* two commands, one record */
        {LSWS_HK_PERIODIC, "ed01a1b18569", LSWS_ERR_TRUNCATED, 0},            /* no command */
        {LSWS_HK_PERIODIC, "ed01a1b1856901360aed01a0b1856901360a", LSWS_ERR_MALFORMED, 0}, /* goes back */
        {LSWS_HK_PERIODIC, "ed01a1b1856931040213", LSWS_ERR_TRUNCATED, 0},
        {LSWS_HK_PERIODIC, "ed01a1b18569310402130000", LSWS_ERR_MALFORMED, 0}, /* an alarm */
        {LSWS_HK_PERIODIC, "ed0200277e694003012e0b", LSWS_ERR_MALFORMED, 0},  /* monthly */
        {LSWS_HK_PERIODIC, "ed03a1b1856901360a", LSWS_ERR_MALFORMED, 0},      /* mode 03 */
        {LSWS_HK_PERIODIC, "ed01a1b1856901360a 20", LSWS_ERR_MALFORMED, 0},   /* trailing junk (ff is a command) */
        /* alarms: one each, even at the same time */
        {LSWS_HK_ALARM, "ed01a1b18569310402130000", LSWS_OK, 1},
        {LSWS_HK_ALARM, "ed01a1b18569310402130000ed01a1b1856931050213000036", LSWS_ERR_MALFORMED, 0},
        {LSWS_HK_ALARM, "ed01a1b18569310402130000ed01a1b18569310502130000", LSWS_OK, 2},
        {LSWS_HK_ALARM, "ed01a1b1856936", LSWS_OK, 1},
        {LSWS_HK_ALARM, "ed01a1b18569310402130000310502130000", LSWS_ERR_MALFORMED, 0}, /* two in one */
        {LSWS_HK_ALARM, "ed01a1b1856901360a", LSWS_ERR_MALFORMED, 0},
        /* monthly: the guide's example (mode 01 as in its Monthly Data
         * Packet, 02 as in its reply) is one record */
        {LSWS_HK_MONTHLY_EXTREMES,
         "ed0100277e694003012e0bed0100277e6940030210 27ed0100277e69400303d40e04057d23ff11081d46177c268309c4174916370e"
         "310aed0100277e69400304000000000000ed0100277e694003065aa8fc81d331",
         LSWS_OK, 1},
        {LSWS_HK_MONTHLY_EXTREMES,
         "ed0200277e694003012e0bed0200277e6940030210 27ed0200277e69400303d40e04057d23ff11081d46177c268309c4174916370e"
         "310aed0200277e69400304000000000000ed0200277e694003065aa8fc81d331",
         LSWS_OK, 1},
        /* minimum then maximum of the same month: two */
        {LSWS_HK_MONTHLY_EXTREMES, "ed0200277e694002012e0bed0200277e694003012e0b", LSWS_OK, 2},
        {LSWS_HK_MONTHLY_EXTREMES, "ed0200277e694001012e0b", LSWS_ERR_MALFORMED, 0},
        {LSWS_HK_MONTHLY_EXTREMES, "ed0200277e694004012e0b", LSWS_ERR_MALFORMED, 0},
        {LSWS_HK_MONTHLY_ENERGY, "ed0200277e6940010e00000000000000000000000000000000000000000000000000", LSWS_OK, 1},
        {LSWS_HK_MONTHLY_ENERGY, "ed0200277e6940030e00000000000000000000000000000000000000000000000000",
         LSWS_ERR_MALFORMED, 0},
        {9, "ed01a1b1856901360a", LSWS_ERR_INVALID, 0},
    };
    static uint8_t bytes[1024];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t n = rows[i].hex[0] ? hex_bytes(rows[i].hex, bytes, sizeof bytes) : 0;
        struct collect c = {0};
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_history_split(rows[i].kind, bytes, n, collect, &c, &err);
        if (rc != rows[i].rc)
            fail_msg("row %zu (%s): %d, want %d: %s", i, rows[i].hex, rc, rows[i].rc, err.msg);
        if (rc == LSWS_OK) {
            assert_int_equal(c.n, rows[i].records);
            size_t sum = 0;
            for (unsigned k = 0; k < c.n; k++)
                sum += c.len[k];
            assert_int_equal(sum, n); /* records cover the answer */
        }
    }
}

/* ---- the client and the export ---------------------------------------------------------- */

struct stopper {
    uint32_t at; /* stop once this many records are in */
    unsigned calls;
};

static int stop_at(void *arg, uint32_t done, uint32_t total)
{
    struct stopper *s = arg;
    (void)total;
    s->calls++;
    return s->at && done >= s->at;
}

static char *slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static int export_to(const char *uri, unsigned kind, uint32_t since, uint32_t until, const char *out,
                     struct stopper *stop, struct lsws_history_result *res, struct lsws_error *err)
{
    struct lsws_client *c = connect_to(uri);
    struct lsws_device_info info;
    assert_int_equal(lsws_client_identify(c, &info, NULL), LSWS_OK);
    char ck[300];
    snprintf(ck, sizeof ck, "%s.checkpoint", out);
    struct lsws_history_job job = {.kind = kind, .since = since, .until = until, .checkpoint = ck,
                                   .progress = stop ? stop_at : NULL, .progress_ctx = stop};
    int rc = lsws_history_fetch(c, &info, &job, res, err);
    lsws_client_close(c);
    if (rc == LSWS_OK) {
        rc = lsws_history_write(ck, out, LSWS_HISTORY_CSV, 1, 0, err);
        if (rc == LSWS_OK)
            unlink(ck);
    }
    return rc;
}

static void export_resumes_identically(void **state)
{
    (void)state;
    char uri[400];
    const char *st_path = path("exp.json");
    snprintf(uri, sizeof uri, "sim:cth01?state=%s&history_records=2500&history_start=2026-01-01", st_path);
    struct lsws_history_result res;
    struct lsws_error err;
    lsws_error_clear(&err);
    uint32_t until = T2026 + 3000 * 600;
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, path("whole.csv"), NULL, &res, &err), LSWS_OK);
    assert_int_equal(res.records, 2500);
    assert_int_equal(res.device.count, 2500);
    assert_true(res.complete);
    assert_int_equal(res.resumed, 0);
    /* Stopped three times (as Ctrl-C does), then run to the end. */
    struct stopper s = {.at = 700};
    const char *part = path("part.csv");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, part, &s, &res, &err), LSWS_ERR_IO);
        assert_true(strstr(err.msg, "interrupted") != NULL);
        assert_true(res.records >= s.at);
        assert_false(res.complete);
        s.at += 600;
    }
    uint32_t kept = res.records;
    assert_int_equal(access(part, F_OK), -1); /* no output before the end */
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, part, NULL, &res, &err), LSWS_OK);
    assert_int_equal(res.resumed, kept);
    assert_int_equal(res.records, 2500);
    size_t a, b;
    char *x = slurp(path("whole.csv"), &a), *y = slurp(part, &b);
    assert_int_equal(a, b);
    assert_memory_equal(x, y, a);
    free(x);
    free(y);
    /* Over a link that drops every 20,000 bytes: reconnects, same file. */
    snprintf(uri, sizeof uri, "sim:cth01?state=%s&disconnect_after=20000", st_path);
    const char *drops = path("drops.csv");
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, drops, NULL, &res, &err), LSWS_OK);
    assert_true(res.reconnects >= 10);
    x = slurp(path("whole.csv"), &a);
    y = slurp(drops, &b);
    assert_int_equal(a, b);
    assert_memory_equal(x, y, a);
    free(x);
    free(y);
    /* Pages in flight together: lost requests, lost answers and late
     * answers among them are asked for again; the file is the same. */
    snprintf(uri, sizeof uri, "sim:cth01?state=%s&drop=5,9,40&corrupt=7,41,300&delay=60,61&delay_ms=150&timeout=100",
             st_path);
    const char *lossy = path("lossy.csv");
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, lossy, NULL, &res, &err), LSWS_OK);
    x = slurp(path("whole.csv"), &a);
    y = slurp(lossy, &b);
    assert_int_equal(a, b);
    assert_memory_equal(x, y, a);
    free(x);
    free(y);
    /* And at a 64-byte device message. */
    snprintf(uri, sizeof uri, "sim:cth01?state=%s&max_msg=64", st_path);
    const char *small = path("small.csv");
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, T2026 + 100 * 600, T2026 + 199 * 600, small, NULL, &res, &err),
                     LSWS_OK);
    assert_int_equal(res.records, 100);
    assert_int_equal(res.first, T2026 + 100 * 600);
    assert_int_equal(res.last, T2026 + 199 * 600);
}

static void checkpoint_damage(void **state)
{
    (void)state;
    char uri[400];
    const char *st_path = path("ck.json");
    snprintf(uri, sizeof uri, "sim:cth01?state=%s&history_records=900&history_start=2026-01-01", st_path);
    struct lsws_history_result res;
    struct lsws_error err;
    lsws_error_clear(&err);
    uint32_t until = T2026 + 2000 * 600;
    const char *out = path("ck.csv"), *ck = path("ck.csv.checkpoint");
    struct stopper s = {.at = 400};
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, out, &s, &res, &err), LSWS_ERR_IO);
    uint32_t before = res.records;
    assert_true(before >= s.at);
    /* A kill in the middle of a line: the next run cuts it off. */
    size_t len;
    char *text = slurp(ck, &len);
    FILE *f = fopen(ck, "w");
    fwrite(text, 1, len - 7, f);
    fclose(f);
    assert_int_equal(lsws_history_checkpoint_info(ck, &res, &err), LSWS_OK);
    assert_int_equal(res.records, before - 1);
    /* Another job's checkpoint is refused, whichever way it differs. */
    assert_int_equal(export_to(uri, LSWS_HK_ALARM, 0, until, out, NULL, &res, &err), LSWS_ERR_INVALID);
    assert_true(strstr(err.msg, "another kind") != NULL);
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 5, until, out, NULL, &res, &err), LSWS_ERR_INVALID);
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until + 1, out, NULL, &res, &err), LSWS_ERR_INVALID);
    /* A damaged line that is not the last: refused, never overwritten. */
    char *bad = strdup(text);
    char *second = strchr(strchr(bad, '\n') + 1, '\n') + 1;
    second[3] = 'x';
    f = fopen(ck, "w");
    fputs(bad, f);
    fclose(f);
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, out, NULL, &res, &err), LSWS_ERR_SYNTAX);
    assert_true(strstr(err.msg, "damaged at line 3") != NULL);
    /* Not a checkpoint at all. */
    f = fopen(ck, "w");
    fputs("hello\n", f);
    fclose(f);
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, out, NULL, &res, &err), LSWS_ERR_SYNTAX);
    /* Back to the good one, cut mid-line: it completes to the same count. */
    f = fopen(ck, "w");
    fwrite(text, 1, len - 7, f);
    fclose(f);
    assert_int_equal(export_to(uri, LSWS_HK_PERIODIC, 0, until, out, NULL, &res, &err), LSWS_OK);
    assert_int_equal(res.records, 900);
    free(text);
    free(bad);
    /* A record of another kind, or out of the range, in a checkpoint. */
    static const char *const lines[] = {
        "ed01a1b18569310402130000\n",  /* an alarm in a periodic export */
        "ed01a1b1856901360a\n",        /* 2026-02-06: after until */
        "zz\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        f = fopen(ck, "w");
        fprintf(f, "lsws-history-checkpoint 1 sn=6527f41809380000 kind=periodic since=0 until=%u\n%s%s", T2026,
                lines[i], "ed01a1b1856901360a\n");
        fclose(f);
        assert_int_equal(lsws_history_checkpoint_info(ck, &res, &err), LSWS_ERR_SYNTAX);
    }
    static const char *const headers[] = {
        "lsws-history-checkpoint 2 sn=6527f41809380000 kind=periodic since=0 until=5\n",
        "lsws-history-checkpoint 1 sn=6527f418093800 kind=periodic since=0 until=5\n",
        "lsws-history-checkpoint 1 sn=6527f41809380000 kind=daily since=0 until=5\n",
        "lsws-history-checkpoint 1 sn=6527f41809380000 kind=periodic since=6 until=5\n",
        "lsws-history-checkpoint 1 sn=6527f41809380000 kind=periodic since=0 until=99999999999\n",
        "lsws-history-checkpoint 1 sn=6527f41809380000 kind=periodic since=0\n",
        "",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        f = fopen(ck, "w");
        fputs(headers[i], f);
        fclose(f);
        assert_int_equal(lsws_history_checkpoint_info(ck, &res, &err), LSWS_ERR_SYNTAX);
    }
    unlink(ck);
}

static void client_queries(void **state)
{
    (void)state;
    char uri[400];
    snprintf(uri, sizeof uri, "sim:cth01?state=%s&history_records=700&history_start=2026-01-01", path("cq.json"));
    struct lsws_client *c = connect_to(uri);
    struct lsws_history_status st;
    struct lsws_history_answer ans;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_history_status(c, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st, &err), LSWS_OK);
    assert_int_equal(st.count, 700);
    struct collect col = {0};
    assert_int_equal(lsws_history_range(c, LSWS_HK_PERIODIC, 0, UINT32_MAX, collect, &col, &ans, &err), LSWS_OK);
    assert_int_equal(ans.records, 300);
    assert_int_equal(col.n, 300);
    assert_true(ans.more);
    memset(&col, 0, sizeof col);
    assert_int_equal(lsws_history_point(c, LSWS_HK_PERIODIC, T2026 + 601, collect, &col, &ans, &err), LSWS_OK);
    assert_int_equal(col.n, 1);
    assert_int_equal(col.ts[0], T2026 + 600);
    assert_int_equal(lsws_history_range(c, LSWS_HK_PERIODIC, 5, 4, NULL, NULL, &ans, &err), LSWS_ERR_INVALID);
    assert_int_equal(lsws_history_status(c, 7, 0, 1, &st, &err), LSWS_ERR_INVALID);
    assert_int_equal(lsws_history_stop(c, LSWS_HK_PERIODIC, &err), LSWS_OK);
    assert_int_equal(lsws_history_clear(c, LSWS_HK_PERIODIC, &err), LSWS_OK);
    assert_int_equal(lsws_history_status(c, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st, &err), LSWS_OK);
    assert_int_equal(st.count, 0);
    lsws_client_close(c);
    /* Storage off: the message says so. */
    static const char *const off[] = {"storage.enabled=false", NULL};
    write_settings(path("cq.json"), off);
    snprintf(uri, sizeof uri, "sim:cth01?state=%s", path("cq.json"));
    c = connect_to(uri);
    assert_int_equal(lsws_history_status(c, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st, &err), LSWS_ERR_DEVICE);
    assert_true(strstr(err.msg, "storage.enabled") != NULL);
    lsws_client_close(c);
    /* A WS523. */
    snprintf(uri, sizeof uri, "sim:ws523?state=%s", path("ws.json"));
    c = connect_to(uri);
    assert_int_equal(lsws_history_status(c, LSWS_HK_PERIODIC, 0, UINT32_MAX, &st, &err), LSWS_ERR_UNSUPPORTED);
    lsws_client_close(c);
}


/* ---- the client against a device that answers badly -------------------------------------- */

/* A fake link: IDENTIFY and AUTH answer as a CTH01 does; every HISTORY
 * request gets the next scripted page (hex of the response payload). */
static struct {
    const char *const *pages;
    unsigned next;
    uint8_t resp[LSWS_MSG_MAX];
    size_t rlen;
} bad;

static int bad_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h, struct lsws_error *err)
{
    (void)uri;
    (void)opts;
    (void)err;
    *h = &bad;
    return LSWS_OK;
}

static void bad_close(void *h)
{
    (void)h;
}

static int bad_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    (void)h;
    (void)len;
    (void)err;
    uint8_t payload[LSWS_MSG_MAX];
    size_t n = 0;
    int status = LSWS_ST_OK;
    if (msg[2] == LSWS_OP_IDENTIFY || msg[2] == LSWS_OP_AUTH) {
        struct lsws_device_info info = {.model = LSWS_MODEL_CTH01, .proto = 1, .sn = "6527f41809380000",
                                        .max_payload = 1024, .time = 1770369441u};
        lsws_info_encode(&info, payload, sizeof payload, &n);
    } else {
        const char *page = bad.pages[bad.next] ? bad.pages[bad.next++] : "";
        n = page[0] ? hex_bytes(page, payload, sizeof payload) : 0;
    }
    lsws_msg_encode(msg[1], msg[2], status, payload, n, bad.resp, sizeof bad.resp, &bad.rlen);
    return LSWS_OK;
}

static int bad_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    (void)h;
    (void)timeout_ms;
    if (!bad.rlen || bad.rlen > cap)
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "fake: nothing");
    memcpy(buf, bad.resp, bad.rlen);
    *len = bad.rlen;
    bad.rlen = 0;
    return LSWS_OK;
}

static const struct lsws_transport bad_transport = {
    .scheme = "bad", .open = bad_open, .close = bad_close, .send = bad_send, .recv = bad_recv, .timeout_ms = 50};

static int bad_query(const char *const *pages, int status_query, struct lsws_error *err)
{
    struct lsws_uri uri;
    memset(&uri, 0, sizeof uri);
    snprintf(uri.text, sizeof uri.text, "bad:");
    uri.path = uri.buf;
    uri.transport = &bad_transport;
    struct lsws_client *c;
    bad.pages = pages;
    bad.next = 0;
    assert_int_equal(lsws_client_open(&uri, NULL, &c, NULL), LSWS_OK);
    lsws_client_set_timeout(c, 50, 1);
    assert_int_equal(lsws_client_auth(c, "123456", NULL, NULL), LSWS_OK);
    int rc;
    if (status_query) {
        struct lsws_history_status st;
        rc = lsws_history_status(c, LSWS_HK_PERIODIC, 100, 200, &st, err);
    } else {
        struct collect col = {0};
        rc = lsws_history_range(c, LSWS_HK_PERIODIC, 0, UINT32_MAX, collect, &col, NULL, err);
        if (rc == LSWS_OK)
            assert_int_equal(col.n, 1);
    }
    lsws_client_close(c);
    return rc;
}

static void client_refuses_bad_pages(void **state)
{
    (void)state;
    /* One record, 9 bytes: ed01a1b1856901360a; page header total(4) records(2) more(1) offset(4). */
    static const struct {
        const char *pages[4];
        int rc;
    } rows[] = {
        {{"09000000" "0100" "00" "00000000" "ed01a1b1856901360a"}, LSWS_OK},
        {{"09000000" "0100" "00" "00000000" "ed01a1b185", "09000000" "0100" "00" "05000000" "6901360a"}, LSWS_OK},
        {{"0900000001000000"}, LSWS_ERR_PROTOCOL},                                 /* no page header */
        {{"09000000" "2d01" "00" "00000000" "ed01a1b1856901360a"}, LSWS_ERR_PROTOCOL}, /* 301 records */
        {{"09000000" "0100" "02" "00000000" "ed01a1b1856901360a"}, LSWS_ERR_PROTOCOL}, /* more is 2 */
        {{"ffffff00" "0100" "00" "00000000" "ed01a1b1856901360a"}, LSWS_ERR_PROTOCOL}, /* 16 MB answer */
        {{"00000000" "0100" "00" "00000000"}, LSWS_ERR_PROTOCOL},                 /* records, no bytes */
        {{"09000000" "0000" "00" "00000000" "ed01a1b1856901360a"}, LSWS_ERR_PROTOCOL}, /* bytes, no records */
        {{"09000000" "0100" "00" "01000000" "ed01a1b1856901360a"}, LSWS_ERR_PROTOCOL}, /* wrong offset */
        {{"05000000" "0100" "00" "00000000" "ed01a1b1856901360a"}, LSWS_ERR_PROTOCOL}, /* more bytes than the answer */
        {{"09000000" "0100" "00" "00000000", "09000000" "0100" "00" "00000000"}, LSWS_ERR_PROTOCOL}, /* no progress */
        {{"09000000" "0100" "00" "00000000" "ed01a1b185", "0a000000" "0100" "00" "05000000" "6901360a"},
         LSWS_ERR_PROTOCOL}, /* the answer changed */
        {{"09000000" "0100" "00" "00000000" "ed01a1b18569ff360a"}, LSWS_ERR_MALFORMED}, /* not a record */
        {{"09000000" "0100" "00" "00000000" "01360aed01a1b18569"}, LSWS_ERR_MALFORMED}, /* live data */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = bad_query(rows[i].pages, 0, &err);
        if (rc != rows[i].rc)
            fail_msg("row %zu: %d, want %d (%s)", i, rc, rows[i].rc, err.msg);
    }
    /* Status answers that do not add up. */
    static const struct {
        const char *page;
        int rc;
    } st[] = {
        {"01000000" "96000000" "96000000" "05000000" "204e0000", LSWS_OK},
        {"01000000" "96000000" "96000000" "05000000", LSWS_ERR_PROTOCOL},             /* 16 bytes */
        {"06000000" "96000000" "96000000" "05000000" "204e0000", LSWS_ERR_PROTOCOL}, /* more than stored */
        {"01000000" "c8000000" "96000000" "05000000" "204e0000", LSWS_ERR_PROTOCOL}, /* first after last */
        {"01000000" "32000000" "96000000" "05000000" "204e0000", LSWS_ERR_PROTOCOL}, /* before the start */
        {"01000000" "96000000" "2c010000" "05000000" "204e0000", LSWS_ERR_PROTOCOL}, /* after the end */
    };
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        const char *pages[2] = {st[i].page, NULL};
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = bad_query(pages, 1, &err);
        if (rc != st[i].rc)
            fail_msg("status row %zu: %d, want %d (%s)", i, rc, st[i].rc, err.msg);
    }
}

/* ---- the CSV layout ------------------------------------------------------------------------ */

static char *csv_of(enum lsws_model_id model, const char *const *payloads)
{
    struct lsws_csv *csv;
    char *text = NULL;
    size_t len = 0;
    static uint8_t bytes[2048];
    assert_int_equal(lsws_csv_new(model, &csv), LSWS_OK);
    FILE *f = open_memstream(&text, &len);
    for (int pass = 1; pass <= 2; pass++) {
        if (pass == 2)
            assert_int_equal(lsws_csv_rows(csv, f, 1, 0, NULL), LSWS_OK);
        for (const char *const *p = payloads; *p; p++) {
            struct lsws_uplink up;
            size_t n = hex_bytes(*p, bytes, sizeof bytes);
            assert_int_equal(lsws_uplink_decode(model, bytes, n, &up, NULL), LSWS_OK);
            assert_int_equal(lsws_csv_feed(csv, &up, NULL), LSWS_OK);
            assert_int_equal(lsws_csv_break(csv, NULL), LSWS_OK);
        }
    }
    assert_int_equal(lsws_csv_finish(csv, NULL), LSWS_OK);
    lsws_csv_free(csv);
    fclose(f);
    return text;
}

static void csv_layout(void **state)
{
    (void)state;
    /* The guide's monthly maximum (ch.5): one row, only its columns. */
    static const char *const monthly[] = {
        "ed0200277e694003012e0bed0200277e6940030210 27ed0200277e69400303d40e04057d23ff11081d46177c268309c4174916370e"
        "310aed0200277e69400304000000000000ed0200277e694003065aa8fc81d331",
        NULL};
    char *t = csv_of(LSWS_MODEL_CTH01, monthly);
    assert_string_equal(t,
                        "\"time\",\"unix_time_s\",\"temperature_C\",\"voltage_unbalance_pct\",\"thdi_ch1_pct\","
                        "\"thdi_ch2_pct\",\"thdi_ch3_pct\",\"thdi_ch4_pct\",\"thdi_ch5_pct\",\"thdi_ch6_pct\","
                        "\"thdi_ch7_pct\",\"thdi_ch8_pct\",\"thdi_ch9_pct\",\"thdi_ch10_pct\",\"thdi_ch11_pct\","
                        "\"thdi_ch12_pct\",\"thdv_l1_pct\",\"thdv_l2_pct\",\"thdv_l3_pct\",\"voltage_l1_V\","
                        "\"voltage_l2_V\",\"voltage_l3_V\"\r\n"
                        "\"2026-01-31T16:00:00Z\",\"1769875200\",\"28.62\",\"100.00\",\"37.96\",\"12.84\",\"90.85\","
                        "\"46.07\",\"74.32\",\"59.58\",\"98.52\",\"24.35\",\"60.84\",\"57.05\",\"36.39\",\"26.09\","
                        "\"0.00\",\"0.00\",\"0.00\",\"430.98\",\"332.76\",\"127.55\"\r\n");
    free(t);
    /* Alarms are rows of their own; mixed rows get the record column;
     * live data has no time. */
    static const char *const mixed[] = {"ed01a1b1856901360a", "ed01a1b18569310413000000ed01a1b1856936",
                                        "3104023c2800", NULL};
    t = csv_of(LSWS_MODEL_CTH01, mixed);
    assert_string_equal(t, "\"time\",\"unix_time_s\",\"record\",\"alarm\",\"alarm_channel\",\"alarm_type\","
                           "\"temperature_C\",\"current_alarm_A\"\r\n"
                           "\"2026-02-06T09:17:21Z\",\"1770369441\",\"periodic\",\"\",\"\",\"\",\"26.14\",\"\"\r\n"
                           "\"2026-02-06T09:17:21Z\",\"1770369441\",\"alarm\",\"current_alarm\",\"5\","
                           "\"above_threshold\",\"\",\"0.00\"\r\n"
                           "\"2026-02-06T09:17:21Z\",\"1770369441\",\"alarm\",\"power_loss_alarm\",\"\",\"\",\"\","
                           "\"\"\r\n"
                           "\"\",\"\",\"alarm\",\"current_alarm\",\"5\",\"above_range\",\"\",\"103.00\"\r\n");
    free(t);
    /* Group columns from the masks; WS523 has its own columns. */
    static const char *const power[] = {"0801" "000000000000000000000000000000000000000000000000", NULL};
    t = csv_of(LSWS_MODEL_CTH01, power);
    assert_true(strstr(t, "\"group_a\",\"group_b\",\"active_power_ch1_W\"") != NULL);
    assert_true(strstr(t, "\"single\",\"three\",\"0\"") != NULL);
    free(t);
    static const char *const ws[] = {"08700105816407c902000374b208068301000000048001000000", NULL};
    t = csv_of(LSWS_MODEL_WS523, ws);
    assert_string_equal(t, "\"time\",\"unix_time_s\",\"voltage_V\",\"current_mA\",\"active_power_W\","
                           "\"power_factor_pct\",\"power_consumption_Wh\",\"socket_status\"\r\n"
                           "\"\",\"\",\"222.6\",\"2\",\"1\",\"100\",\"1\",\"on\"\r\n");
    free(t);
    /* The reference lists every quantity once. */
    size_t n = 0;
    while (lsws_csv_column_at(LSWS_MODEL_CTH01, n))
        n++;
    assert_int_equal(n, 28);
    assert_string_equal(lsws_csv_column_at(LSWS_MODEL_CTH01, 10)->name, "current_chN_A");
    assert_null(lsws_csv_column_at(LSWS_MODEL_COUNT, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_parse_table),
        cmocka_unit_test(time_format),
        cmocka_unit_test(storage_and_clock_first),
        cmocka_unit_test(malformed_requests),
        cmocka_unit_test(range_and_point_queries),
        cmocka_unit_test(capacity_oldest_overwritten),
        cmocka_unit_test(records_plausible),
        cmocka_unit_test(alarms_when_thresholds_crossed),
        cmocka_unit_test(monthly_summaries),
        cmocka_unit_test(clear_is_kept),
        cmocka_unit_test(split_table),
        cmocka_unit_test(client_queries),
        cmocka_unit_test(client_refuses_bad_pages),
        cmocka_unit_test(export_resumes_identically),
        cmocka_unit_test(checkpoint_damage),
        cmocka_unit_test(csv_layout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
