/* The device simulator (sim/), driven through lsws_sim_handle with messages
 * built by lsws_msg_encode: sessions, authentication and its rate limit,
 * paged reads, all-or-nothing write transactions, identical retries, reset,
 * time sync, the CTH01 idle timeout, a smaller maximum message, the state
 * file (failed logins in it, two simulators sharing it) and fault options. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define WS523_SN "6762d21130962038"
#define WS523_EUI "24e1241130962038"
#define CTH01_SN "6527f41809380000"
#define CTH01_EUI "24e1241809380000"

struct dev {
    struct lsws_sim *sim;
    int in_txn; /* the last write frame said MORE: the next continues it */
    uint8_t seq;
    uint64_t now;
    size_t cap;   /* response buffer size given to the device */
    size_t limit; /* every response must fit in this (0: cap) */
    uint8_t req[LSWS_MSG_MAX];
    size_t req_len;
    uint8_t resp[LSWS_MSG_MAX];
    size_t rlen;
    struct lsws_msg m;
};

static void dev_open_opts(struct dev *d, const struct lsws_sim_opts *o)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(d, 0, sizeof *d);
    d->cap = sizeof d->resp;
    d->now = 1000;
    if (lsws_sim_new(o, &d->sim, &err) != LSWS_OK)
        fail_msg("lsws_sim_new: %s", err.msg);
}

static void dev_open(struct dev *d, enum lsws_model_id model, const char *band, const char *state)
{
    struct lsws_sim_opts o = {.model = model, .band = band, .state_path = state};
    dev_open_opts(d, &o);
}

/* Sends the bytes in d->req; returns the response status. */
static int resend(struct dev *d)
{
    memset(d->resp, 0xee, sizeof d->resp);
    lsws_sim_handle(d->sim, d->req, d->req_len, d->resp, d->cap, &d->rlen, d->now);
    assert_true(d->rlen >= 4);
    assert_true(d->rlen <= d->cap);
    if (d->limit && d->rlen > d->limit)
        fail_msg("a response of %zu bytes, the unit's maximum is %zu", d->rlen, d->limit);
    struct lsws_error err;
    assert_int_equal(lsws_msg_decode(d->resp, d->rlen, &d->m, &err), LSWS_OK);
    assert_true(d->m.response);
    assert_int_equal(d->m.seq, d->req[1]);
    return d->m.status;
}

static int send_raw(struct dev *d, const uint8_t *msg, size_t len)
{
    memcpy(d->req, msg, len);
    d->req_len = len;
    return resend(d);
}

static int request(struct dev *d, uint8_t op, const void *payload, size_t len)
{
    d->seq++;
    assert_int_equal(lsws_msg_encode(d->seq, op, -1, payload, len, d->req, sizeof d->req, &d->req_len),
                     LSWS_OK);
    return resend(d);
}

static int request_hex(struct dev *d, uint8_t op, const char *hex)
{
    uint8_t p[LSWS_MSG_MAX];
    size_t n = hex[0] ? hex_bytes(hex, p, sizeof p) : 0;
    return request(d, op, p, n);
}

static void auth(struct dev *d, const char *password)
{
    assert_int_equal(request(d, LSWS_OP_AUTH, password, strlen(password)), LSWS_ST_OK);
}

static unsigned invalid_offset(const struct dev *d)
{
    assert_int_equal(d->m.status, LSWS_ST_INVALID);
    assert_true(d->m.len >= 2);
    return (unsigned)(d->m.payload[0] | d->m.payload[1] << 8);
}

/* The INVALID message text, NUL-terminated. */
static const char *invalid_text(const struct dev *d, char *buf, size_t n)
{
    size_t len = d->m.len - 2 < n - 1 ? d->m.len - 2 : n - 1;
    memcpy(buf, d->m.payload + 2, len);
    buf[len] = '\0';
    return buf;
}

static void identify(struct dev *d, struct lsws_device_info *info)
{
    struct lsws_error err;
    assert_int_equal(request(d, LSWS_OP_IDENTIFY, NULL, 0), LSWS_ST_OK);
    assert_int_equal(d->m.len, LSWS_INFO_LEN);
    assert_int_equal(lsws_info_decode(d->m.payload, d->m.len, info, &err), LSWS_OK);
}

static enum lsws_model_id model_of_sim(struct lsws_sim *sim)
{
    struct lsws_device_info info;
    lsws_sim_info(sim, &info);
    return info.model;
}

/* Reads every page (or the listed codes, "" for all) into a new config;
 * returns the number of pages. */
static unsigned read_all(struct dev *d, const char *codes_hex, struct lsws_config **out)
{
    const struct lsws_model *m = lsws_model_get(model_of_sim(d->sim));
    struct lsws_config *cfg;
    struct lsws_error err;
    uint8_t p[LSWS_MSG_MAX];
    size_t codes = codes_hex[0] ? hex_bytes(codes_hex, p + 2, sizeof p - 2) : 0;
    unsigned cursor = 0, pages = 0;
    lsws_error_clear(&err);
    assert_int_equal(lsws_config_new(m, &cfg), LSWS_OK);
    while (cursor != LSWS_READ_DONE) {
        p[0] = (uint8_t)cursor;
        p[1] = (uint8_t)(cursor >> 8);
        assert_int_equal(request(d, LSWS_OP_READ, p, 2 + codes), LSWS_ST_OK);
        assert_true(d->m.len >= 2);
        unsigned next = (unsigned)(d->m.payload[0] | d->m.payload[1] << 8);
        assert_true(next == LSWS_READ_DONE || next > cursor);
        if (lsws_settings_decode(cfg, d->m.payload + 2, d->m.len - 2, &err) != LSWS_OK)
            fail_msg("page %u does not decode: %s", pages, err.msg);
        cursor = next;
        assert_true(++pages < 200);
    }
    *out = cfg;
    return pages;
}


/* Text of one setting as the device reports it. */
static void expect_read(struct dev *d, const char *codes_hex, const char *key, const char *value)
{
    struct lsws_config *cfg;
    read_all(d, codes_hex, &cfg);
    assert_setting(cfg, key, value);
    lsws_config_free(cfg);
}

static struct lsws_config *factory(enum lsws_model_id model, const char *band, const char *sn,
                                   const char *eui)
{
    struct lsws_config *cfg;
    struct lsws_identity id;
    struct lsws_error err;
    size_t n;
    snprintf(id.sn, sizeof id.sn, "%s", sn);
    assert_int_equal(lsws_hex_parse(eui, id.dev_eui, 8, &n, &err), LSWS_OK);
    assert_int_equal(lsws_config_new(lsws_model_get(model), &cfg), LSWS_OK);
    assert_int_equal(lsws_config_defaults(cfg, band, &id, &err), LSWS_OK);
    return cfg;
}

/* ---- identity and sessions ---------------------------------------------------- */

static void identify_needs_no_auth(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_device_info info;
    char eui[17];

    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    identify(&d, &info);
    assert_int_equal(info.model, LSWS_MODEL_WS523);
    assert_int_equal(info.proto, LSWS_PROTO_VERSION);
    assert_string_equal(info.sn, WS523_SN);
    lsws_hex_format(info.dev_eui, 8, eui);
    assert_string_equal(eui, WS523_EUI);
    assert_int_equal(info.hw, 0x0120);
    assert_int_equal(info.fw, 0x0108);
    assert_int_equal(info.band, 0); /* EU868 */
    assert_int_equal(info.max_payload, LSWS_MSG_MAX);
    assert_int_equal(info.flags, LSWS_INFO_DEFAULT_PASSWORD);
    assert_int_equal(info.time, 0); /* no clock */
    assert_string_equal(lsws_sim_name(d.sim), "WS523-D211309");
    lsws_sim_free(d.sim);

    dev_open(&d, LSWS_MODEL_CTH01, "US915", NULL);
    identify(&d, &info);
    assert_int_equal(info.model, LSWS_MODEL_CTH01);
    assert_string_equal(info.sn, CTH01_SN);
    lsws_hex_format(info.dev_eui, 8, eui);
    assert_string_equal(eui, CTH01_EUI);
    assert_int_equal(info.hw, 0x0100);
    assert_int_equal(info.fw, 0x0101);
    assert_int_equal(info.band, 1); /* US915 */
    assert_true(llabs((long long)info.time - (long long)time(NULL)) <= 2);
    assert_int_equal(info.tz_minutes, 0);
    /* "model-XXXXXX (5th to 11st of device SN)" (CTH01 guide, BLE access). */
    assert_string_equal(lsws_sim_name(d.sim), "CTH01-F418093");
    lsws_sim_free(d.sim);
}

static void serial_number_option(void **state)
{
    (void)state;
    struct lsws_sim_opts o = {.model = LSWS_MODEL_CTH01, .sn = "0123456789ABCDEF"};
    struct lsws_sim *sim;
    struct lsws_device_info info;
    struct lsws_error err;
    char eui[17];
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_OK);
    lsws_sim_info(sim, &info);
    assert_string_equal(info.sn, "0123456789abcdef");
    lsws_hex_format(info.dev_eui, 8, eui);
    assert_string_equal(eui, "24e1246789abcdef");
    assert_string_equal(lsws_sim_name(sim), "CTH01-456789A");
    lsws_sim_free(sim);

    o.sn = "0123456789abcdeg";
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "0123456789abcdeg"));
    o.sn = "0123";
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_ERR_INVALID);
    o.sn = NULL;
    o.band = "EU999";
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_ERR_MODEL);
    assert_non_null(strstr(err.msg, "EU999"));
}

static void every_operation_needs_auth(void **state)
{
    (void)state;
    static const uint8_t ops[] = {LSWS_OP_READ,     LSWS_OP_WRITE,    LSWS_OP_RESET,
                                  LSWS_OP_REBOOT,   LSWS_OP_TIME_SYNC, LSWS_OP_PASSWORD,
                                  LSWS_OP_FW_BEGIN, LSWS_OP_FW_DATA,  LSWS_OP_FW_END,
                                  LSWS_OP_HISTORY};
    struct dev d;
    dev_open(&d, LSWS_MODEL_CTH01, NULL, NULL);
    for (size_t i = 0; i < sizeof ops; i++)
        assert_int_equal(request_hex(&d, ops[i], "000000"), LSWS_ST_AUTH_REQUIRED);
    /* Unknown and malformed requests. */
    assert_int_equal(request(&d, 0x55, NULL, 0), LSWS_ST_UNKNOWN_OP);
    assert_int_equal(send_raw(&d, (const uint8_t *)"\x02\x07\x01", 3), LSWS_ST_BAD_REQUEST);
    assert_int_equal(d.m.op, LSWS_OP_IDENTIFY);
    assert_int_equal(send_raw(&d, (const uint8_t *)"\x01\x08", 2), LSWS_ST_BAD_REQUEST);
    assert_int_equal(send_raw(&d, (const uint8_t *)"\x01\x09\x81\x00", 4), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request_hex(&d, LSWS_OP_IDENTIFY, "00"), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "12345", 5), LSWS_ST_BAD_REQUEST);
    /* Authenticated: the designed-but-not-served operations; a FW_BEGIN
     * that is not 48 bytes (tests/unit/test_firmware.c has the rest);
     * HISTORY is served (tests/unit/test_history.c): a new unit stores nothing. */
    auth(&d, "123456");
    assert_int_equal(request_hex(&d, LSWS_OP_FW_BEGIN, "00100000aabbccdd0201"), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request_hex(&d, LSWS_OP_HISTORY, "000100000000ffffffff"), LSWS_ST_STORAGE_OFF);
    assert_int_equal(request_hex(&d, LSWS_OP_WRITE, ""), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request_hex(&d, LSWS_OP_WRITE, "80"), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request_hex(&d, LSWS_OP_REBOOT, "00"), LSWS_ST_BAD_REQUEST);
    lsws_sim_free(d.sim);
}

static void wrong_password(void **state)
{
    (void)state;
    struct dev d;
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "654321", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_AUTH_REQUIRED);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "12345_", 6), LSWS_ST_AUTH_FAILED);
    auth(&d, "123456");
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_OK);
    /* A failed login ends the authentication of the session. */
    assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_AUTH_REQUIRED);
    lsws_sim_free(d.sim);
}

static unsigned wait_seconds(const struct dev *d)
{
    assert_int_equal(d->m.status, LSWS_ST_RATE_LIMITED);
    assert_int_equal(d->m.len, 2);
    return (unsigned)(d->m.payload[0] | d->m.payload[1] << 8);
}

static void rate_limit_after_five_failures(void **state)
{
    (void)state;
    struct dev d;
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
    auth(&d, "123456"); /* a success resets the count */
    for (int i = 0; i < 5; i++)
        assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
    /* Refused for 60 s whatever password is sent, even the right one. */
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_RATE_LIMITED);
    assert_int_equal(wait_seconds(&d), 60);
    d.now += 30000;
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_RATE_LIMITED);
    assert_int_equal(wait_seconds(&d), 30);
    d.now += 29500;
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_RATE_LIMITED);
    assert_int_equal(wait_seconds(&d), 1);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_AUTH_REQUIRED);
    /* The lock survives the end of the session. */
    lsws_sim_disconnect(d.sim);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_RATE_LIMITED);
    d.now += 500;
    /* 60 s after the fifth failure: a new start, one failure is one failure. */
    assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
    auth(&d, "123456");
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_OK);
    lsws_sim_free(d.sim);
}

/* ---- READ ---------------------------------------------------------------------- */

static void check_full_read(struct dev *d, enum lsws_model_id model, const char *band,
                            const char *sn, const char *eui, unsigned min_pages)
{
    struct lsws_config *got, *want = factory(model, band, sn, eui);
    const struct lsws_model *m = want->model;
    unsigned pages = read_all(d, "", &got);
    if (pages < min_pages)
        fail_msg("%s: %u pages, expected at least %u", m->name, pages, min_pages);
    for (size_t i = 0; i < m->n_settings; i++) {
        if (m->settings[i].row->flags & LSWS_F_WRITEONLY) {
            if (got->present[i])
                fail_msg("%s: write-only %s was read", m->name, m->settings[i].key);
            continue;
        }
        if (!got->present[i])
            fail_msg("%s: %s missing from the read", m->name, m->settings[i].key);
        if (!lsws_value_equal(m, i, &got->values[i], &want->values[i]))
            fail_msg("%s: %s differs from the factory default", m->name, m->settings[i].key);
    }
    assert_setting(got, "lorawan.work_mode", "class_c");
    lsws_config_free(got);
    lsws_config_free(want);
}

static void read_every_page(void **state)
{
    (void)state;
    struct dev d;
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    auth(&d, "123456");
    check_full_read(&d, LSWS_MODEL_WS523, "EU868", WS523_SN, WS523_EUI, 1);
    /* A smaller message size: more pages, whole commands, each within it. */
    d.cap = 100;
    check_full_read(&d, LSWS_MODEL_WS523, "EU868", WS523_SN, WS523_EUI, 5); /* 424 bytes, 94 a page */
    lsws_sim_free(d.sim);

    dev_open(&d, LSWS_MODEL_CTH01, "AU915", NULL);
    auth(&d, "123456");
    check_full_read(&d, LSWS_MODEL_CTH01, "AU915", CTH01_SN, CTH01_EUI, 1);
    d.cap = 64;
    check_full_read(&d, LSWS_MODEL_CTH01, "AU915", CTH01_SN, CTH01_EUI, 9); /* 489 bytes, 58 a page */
    lsws_sim_free(d.sim);
}

static void read_listed_codes(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_config *cfg;
    char buf[200];
    dev_open(&d, LSWS_MODEL_CTH01, NULL, NULL);
    auth(&d, "123456");
    /* 6101 (report interval) and c7 (time zone): just those. */
    assert_int_equal(read_all(&d, "026101 01c7", &cfg), 1);
    assert_int_equal(lsws_config_count(cfg), 2);
    assert_setting(cfg, "general.report_interval", "10");
    assert_setting(cfg, "time.zone", "UTC+00:00");
    lsws_config_free(cfg);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000 026101 02abcd"), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&d), 5);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "unknown cth01 command 0xabcd"));
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000 02fe31"), LSWS_ST_INVALID);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "general.password is write-only"));
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000 03616263"), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000 0261"), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "00"), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0300 026101"), LSWS_ST_BAD_REQUEST);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "ffff"), LSWS_ST_BAD_REQUEST);
    lsws_sim_free(d.sim);
}

/* ---- WRITE ----------------------------------------------------------------------- */

/* Encodes KEY=VALUE settings (NULL-terminated) with base for shared commands. */
static size_t encode(enum lsws_model_id model, const struct lsws_config *base, uint8_t *out,
                     size_t cap, const char *const *kv)
{
    struct lsws_config *cfg;
    struct lsws_error err;
    size_t len;
    assert_int_equal(lsws_config_new(lsws_model_get(model), &cfg), LSWS_OK);
    for (; *kv; kv++) {
        char key[64];
        const char *eq = strchr(*kv, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - *kv), *kv);
        if (lsws_config_set(cfg, key, eq + 1, &err) != LSWS_OK)
            fail_msg("%s: %s", *kv, err.msg);
    }
    if (lsws_settings_encode(cfg, base, out, cap, &len, &err) != LSWS_OK)
        fail_msg("encode: %s", err.msg);
    lsws_config_free(cfg);
    return len;
}

/* Frames a transaction as the client does: FIRST on its first frame, MORE
 * on all but its last. */
static int write_flags(struct dev *d, uint8_t flags, const uint8_t *tlv, size_t len)
{
    uint8_t p[LSWS_MSG_MAX];
    p[0] = flags;
    memcpy(p + 1, tlv, len);
    d->in_txn = (flags & LSWS_WRITE_MORE) != 0;
    return request(d, LSWS_OP_WRITE, p, 1 + len);
}

static int write_frame(struct dev *d, int more, const uint8_t *tlv, size_t len)
{
    uint8_t flags = (uint8_t)((d->in_txn ? 0 : LSWS_WRITE_FIRST) | (more ? LSWS_WRITE_MORE : 0));
    return write_flags(d, flags, tlv, len);
}

static int write_hex(struct dev *d, int more, const char *hex)
{
    uint8_t tlv[LSWS_MSG_MAX];
    return write_frame(d, more, tlv, hex_bytes(hex, tlv, sizeof tlv));
}

static void write_one_setting(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_sim_stats st;
    uint8_t tlv[64];
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    auth(&d, "123456");
    size_t n = encode(LSWS_MODEL_WS523, NULL, tlv, sizeof tlv,
                      (const char *const[]){"general.report_interval=600", NULL});
    assert_int_equal(n, 4); /* ff03 5802: 600 s */
    assert_int_equal(write_frame(&d, 0, tlv, n), LSWS_ST_OK);
    assert_int_equal(d.m.len, 0);
    expect_read(&d, "02ff03", "general.report_interval", "600");
    /* ff03 is seconds: a unit holding 90 s reads back 90. */
    assert_int_equal(write_hex(&d, 0, "ff035a00"), LSWS_ST_OK);
    expect_read(&d, "02ff03", "general.report_interval", "90");
    expect_read(&d, "02ff2f", "general.led", "true"); /* others as they were */
    lsws_sim_stats(d.sim, &st);
    assert_int_equal(st.writes, 2);
    lsws_sim_free(d.sim);
}

static void write_whole_config_in_frames(void **state)
{
    (void)state;
    static uint8_t tlv[8192];
    struct dev d;
    struct lsws_error err;
    struct lsws_config *want = factory(LSWS_MODEL_CTH01, "EU868", CTH01_SN, CTH01_EUI), *got;
    const struct lsws_model *m = want->model;
    size_t len;
    assert_int_equal(lsws_config_set(want, "general.report_interval", "30", &err), LSWS_OK);
    assert_int_equal(lsws_config_set(want, "alarm.interval", "20", &err), LSWS_OK);
    assert_int_equal(lsws_config_set(want, "bluetooth.name", "Plant-3", &err), LSWS_OK);
    assert_int_equal(lsws_config_set(want, "alarm.current[7].max", "250", &err), LSWS_OK);
    assert_int_equal(lsws_config_set(want, "lorawan.channels", "0-7", &err), LSWS_OK);
    for (int c = 4; c <= 6; c++) {
        char key[48];
        snprintf(key, sizeof key, "interface.current[%d].range", c);
        assert_int_equal(lsws_config_set(want, key, "4000a", &err), LSWS_OK);
    }
    want->present[lsws_model_find(m, "lorawan.work_mode")] = 0;
    want->present[lsws_model_find(m, "general.password")] = 0;
    assert_int_equal(lsws_settings_encode(want, NULL, tlv, sizeof tlv, &len, &err), LSWS_OK);

    dev_open(&d, LSWS_MODEL_CTH01, NULL, NULL);
    auth(&d, "123456");
    /* Frames of at most 120 bytes, cut at command boundaries. */
    unsigned frames = 0;
    for (size_t pos = 0; pos < len;) {
        size_t cut = pos, span;
        while (cut < len && lsws_settings_span(m, tlv + cut, len - cut, &span, NULL) == LSWS_OK &&
               cut + span - pos <= 120)
            cut += span;
        assert_true(cut > pos);
        assert_int_equal(write_frame(&d, cut < len, tlv + pos, cut - pos), LSWS_ST_OK);
        pos = cut;
        frames++;
    }
    assert_true(frames >= 5);
    read_all(&d, "", &got);
    for (size_t i = 0; i < m->n_settings; i++)
        if (want->present[i] && !lsws_value_equal(m, i, &got->values[i], &want->values[i]))
            fail_msg("%s not written", m->settings[i].key);
    assert_string_equal(lsws_sim_name(d.sim), "Plant-3");
    lsws_config_free(got);
    lsws_config_free(want);
    lsws_sim_free(d.sim);
}

static void refused_writes_change_nothing(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_config *before, *after;
    char buf[200];
    dev_open(&d, LSWS_MODEL_CTH01, NULL, NULL);
    auth(&d, "123456");
    read_all(&d, "", &before);

    /* 6101 0000: report interval 0 min (range 1-1440); lsws would not encode it. */
    assert_int_equal(write_hex(&d, 0, "61010000"), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&d), 2);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "general.report_interval"));
    /* All or nothing: good commands in an earlier frame are not applied either;
     * the offset counts from the start of the transaction. */
    assert_int_equal(write_hex(&d, 1, "c50001 6d0f0000"), LSWS_ST_OK);
    assert_int_equal(write_hex(&d, 0, "6101a105"), LSWS_ST_INVALID); /* 1441 min */
    assert_int_equal(invalid_offset(&d), 9);
    /* Unknown command and a short one. */
    assert_int_equal(write_hex(&d, 0, "c50001 ee01"), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&d), 3);
    assert_int_equal(write_hex(&d, 0, "c50001 6101"), LSWS_ST_INVALID);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "truncated"));
    /* A rule between settings: with an alarm enabled (76 01 02: temperature
     * above 25 C) the alarm interval must stay shorter than the report
     * interval (10 min): 7c 0a00 0300 00 sets it to 10. Without an alarm it
     * does not bind (CTH01 guide ch.4 Configure Threshold Parameters). */
    assert_int_equal(write_hex(&d, 0, "c50001 7601020000c409 7c0a00030000"), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&d), 0xffff);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "alarm.interval"));
    /* Read-only: lorawan.work_mode. */
    assert_int_equal(write_hex(&d, 0, "c50001 fe0400"), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&d), 3);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "lorawan.work_mode is read-only"));
    /* 4000 A is for a whole group (rule between settings). */
    assert_int_equal(write_hex(&d, 0, "67 01 00 0500 00 0100 00 0100"), LSWS_ST_INVALID);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "4000a"));
    /* A password against the device's rule. */
    assert_int_equal(write_hex(&d, 0, "fe31 3132332d3536"), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&d), 2); /* the codec refuses the field */

    read_all(&d, "", &after);
    for (size_t i = 0; i < before->model->n_settings; i++) {
        assert_int_equal(after->present[i], before->present[i]);
        if (before->present[i] && !lsws_value_equal(before->model, i, &before->values[i], &after->values[i]))
            fail_msg("%s changed by a refused write", before->model->settings[i].key);
    }
    struct lsws_sim_stats st;
    lsws_sim_stats(d.sim, &st);
    assert_int_equal(st.writes, 0);
    /* The rule holds on the result: both together are fine. */
    assert_int_equal(write_hex(&d, 0, "61011e00 7c0a00030000"), LSWS_ST_OK);
    expect_read(&d, "017c", "alarm.interval", "10");
    lsws_config_free(before);
    lsws_config_free(after);
    lsws_sim_free(d.sim);
}

static void interrupted_transaction_answers_sequence(void **state)
{
    (void)state;
    struct dev d;
    uint8_t tlv[8];
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    auth(&d, "123456");
    /* Another operation between frames abandons the transaction: its
     * continuations answer SEQUENCE and nothing of it is applied. */
    assert_int_equal(write_hex(&d, 1, "ff035802"), LSWS_ST_OK);
    struct lsws_device_info info;
    identify(&d, &info);
    assert_int_equal(write_flags(&d, LSWS_WRITE_MORE, tlv, hex_bytes("ff2f00", tlv, sizeof tlv)), LSWS_ST_SEQUENCE);
    assert_int_equal(write_flags(&d, 0, tlv, hex_bytes("ff2600", tlv, sizeof tlv)), LSWS_ST_SEQUENCE);
    expect_read(&d, "02ff03 02ff2f", "general.report_interval", "1200");
    expect_read(&d, "02ff2f", "general.led", "true");
    expect_read(&d, "02ff26", "general.power_consumption", "true");
    /* A continuation with no transaction at all is refused the same way. */
    assert_int_equal(write_flags(&d, 0, tlv, hex_bytes("ff2f00", tlv, sizeof tlv)), LSWS_ST_SEQUENCE);
    /* A FIRST frame starts afresh, dropping what was staged before. */
    assert_int_equal(write_hex(&d, 1, "ff035802"), LSWS_ST_OK);
    d.in_txn = 0;
    assert_int_equal(write_hex(&d, 1, "ff030807"), LSWS_ST_OK);
    assert_int_equal(write_hex(&d, 0, "ff2f00"), LSWS_ST_OK);
    expect_read(&d, "02ff03", "general.report_interval", "1800");
    expect_read(&d, "02ff2f", "general.led", "false");
    /* The end of the session abandons an open transaction. */
    assert_int_equal(write_hex(&d, 1, "ff035802"), LSWS_ST_OK);
    lsws_sim_disconnect(d.sim);
    auth(&d, "123456");
    assert_int_equal(write_flags(&d, 0, tlv, hex_bytes("ff2f01", tlv, sizeof tlv)), LSWS_ST_SEQUENCE);
    expect_read(&d, "02ff03", "general.report_interval", "1800");
    lsws_sim_free(d.sim);
}

static void identical_retry_is_not_executed(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_sim_stats st;
    uint8_t first[LSWS_MSG_MAX];
    size_t first_len;
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    /* Four wrong passwords, each retried twice: still four failures. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
        assert_int_equal(resend(&d), LSWS_ST_AUTH_FAILED);
        assert_int_equal(resend(&d), LSWS_ST_AUTH_FAILED);
    }
    auth(&d, "123456");
    lsws_sim_stats(d.sim, &st);
    assert_int_equal(st.duplicates, 8);

    /* A retried final WRITE frame is answered from the cache, byte for byte. */
    assert_int_equal(write_hex(&d, 0, "ff035802"), LSWS_ST_OK);
    memcpy(first, d.resp, d.rlen);
    first_len = d.rlen;
    assert_int_equal(resend(&d), LSWS_ST_OK);
    assert_memory_equal(d.resp, first, first_len);
    lsws_sim_stats(d.sim, &st);
    assert_int_equal(st.writes, 1);

    /* Same seq, other bytes: a new request. */
    d.req[d.req_len - 2] = 0x1c; /* ff03 1c02: 540 s */
    assert_int_equal(resend(&d), LSWS_ST_OK);
    lsws_sim_stats(d.sim, &st);
    assert_int_equal(st.writes, 2);

    /* A retried RESET after the reset ended the session: still OK, not
     * AUTH_REQUIRED, and not executed again. */
    assert_int_equal(request(&d, LSWS_OP_RESET, NULL, 0), LSWS_ST_OK);
    assert_int_equal(resend(&d), LSWS_ST_OK);
    lsws_sim_stats(d.sim, &st);
    assert_int_equal(st.duplicates, 10);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_AUTH_REQUIRED);

    /* A closed link forgets the cache. */
    auth(&d, "123456");
    lsws_sim_disconnect(d.sim);
    assert_int_equal(resend(&d), LSWS_ST_OK); /* the AUTH runs again */
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_OK);
    lsws_sim_free(d.sim);
}

/* ---- PASSWORD, RESET, REBOOT, TIME_SYNC ---------------------------------------------- */

static void password_change(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_device_info info;
    char buf[200];
    dev_open(&d, LSWS_MODEL_CTH01, NULL, NULL);
    auth(&d, "123456");
    assert_int_equal(request(&d, LSWS_OP_PASSWORD, "abc-12", 6), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&d), 3);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "character 4"));
    assert_int_equal(request(&d, LSWS_OP_PASSWORD, "abc12", 5), LSWS_ST_INVALID);
    assert_int_equal(request(&d, LSWS_OP_PASSWORD, "abc\0" "12", 6), LSWS_ST_INVALID);
    assert_int_equal(request(&d, LSWS_OP_PASSWORD, "Abc_12", 6), LSWS_ST_OK);
    identify(&d, &info);
    assert_int_equal(info.flags & LSWS_INFO_DEFAULT_PASSWORD, 0);
    lsws_sim_disconnect(d.sim);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "abc_12", 6), LSWS_ST_AUTH_FAILED);
    auth(&d, "Abc_12");
    /* Through WRITE as general.password (write-only) too. */
    assert_int_equal(write_hex(&d, 0, "fe31 7a7a7a393939"), LSWS_ST_OK);
    lsws_sim_disconnect(d.sim);
    auth(&d, "zzz999");
    lsws_sim_free(d.sim);
}

static void reset_restores_factory_state(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_device_info info;
    dev_open(&d, LSWS_MODEL_CTH01, "US915", NULL);
    auth(&d, "123456");
    assert_int_equal(request(&d, LSWS_OP_PASSWORD, "s3cret", 6), LSWS_ST_OK);
    /* Another band (with an RX2 frequency inside it), a name, an interval. */
    assert_int_equal(write_hex(&d, 0, "fe0c00 fe1248f5d433 fe1100 6101 1e00 64 03 414243"), LSWS_ST_OK);
    identify(&d, &info);
    assert_int_equal(info.band, 0);
    assert_string_equal(lsws_sim_name(d.sim), "ABC");
    assert_int_equal(request(&d, LSWS_OP_RESET, NULL, 0), LSWS_ST_OK);
    /* The reset rebooted the unit: the session is over. */
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_AUTH_REQUIRED);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "s3cret", 6), LSWS_ST_AUTH_FAILED);
    auth(&d, "123456");
    identify(&d, &info);
    assert_int_equal(info.flags, LSWS_INFO_DEFAULT_PASSWORD);
    assert_int_equal(info.band, 1); /* the unit's factory band */
    assert_string_equal(info.sn, CTH01_SN);
    assert_string_equal(lsws_sim_name(d.sim), "CTH01-F418093");
    check_full_read(&d, LSWS_MODEL_CTH01, "US915", CTH01_SN, CTH01_EUI, 1);
    lsws_sim_free(d.sim);
}

static void reboot_ends_the_session(void **state)
{
    (void)state;
    struct dev d;
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    auth(&d, "123456");
    assert_int_equal(write_hex(&d, 0, "ff2f00"), LSWS_ST_OK);
    assert_int_equal(request(&d, LSWS_OP_REBOOT, NULL, 0), LSWS_ST_OK);
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000"), LSWS_ST_AUTH_REQUIRED);
    auth(&d, "123456");
    expect_read(&d, "02ff2f", "general.led", "false"); /* settings survive a reboot */
    lsws_sim_free(d.sim);
}

static void time_sync(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_device_info info;
    char buf[200];
    dev_open(&d, LSWS_MODEL_CTH01, NULL, NULL);
    auth(&d, "123456");
    /* 1700000000 (0x6553f100), UTC+05:30 (330 = 0x014a). */
    assert_int_equal(request_hex(&d, LSWS_OP_TIME_SYNC, "00f15365 4a01"), LSWS_ST_OK);
    identify(&d, &info);
    assert_true(info.time >= 1700000000u && info.time <= 1700000002u);
    assert_int_equal(info.tz_minutes, 330);
    expect_read(&d, "01c7", "time.zone", "UTC+05:30");
    /* UTC-12:00 is the lowest zone (-720 = 30fd); one minute less is refused. */
    assert_int_equal(request_hex(&d, LSWS_OP_TIME_SYNC, "00f15365 30fd"), LSWS_ST_OK);
    assert_int_equal(request_hex(&d, LSWS_OP_TIME_SYNC, "00f15365 2ffd"), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&d), 4);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "time.zone"));
    assert_int_equal(request_hex(&d, LSWS_OP_TIME_SYNC, "00f15365"), LSWS_ST_BAD_REQUEST);
    expect_read(&d, "01c7", "time.zone", "UTC-12:00");
    lsws_sim_free(d.sim);

    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    assert_int_equal(request_hex(&d, LSWS_OP_TIME_SYNC, "00f15365 0000"), LSWS_ST_AUTH_REQUIRED);
    auth(&d, "123456");
    assert_int_equal(request_hex(&d, LSWS_OP_TIME_SYNC, "00f15365 0000"), LSWS_ST_UNSUPPORTED);
    lsws_sim_free(d.sim);
}

static void cth01_idle_timeout(void **state)
{
    (void)state;
    struct dev d;
    dev_open(&d, LSWS_MODEL_CTH01, NULL, NULL);
    auth(&d, "123456");
    d.now += 180000; /* exactly 3 minutes: still connected */
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "0000026101"), LSWS_ST_OK);
    assert_int_equal(write_hex(&d, 1, "61011e00"), LSWS_ST_OK);
    d.now += 180001; /* more than 3 minutes without data */
    assert_int_equal(write_hex(&d, 0, "c50001"), LSWS_ST_AUTH_REQUIRED);
    auth(&d, "123456");
    expect_read(&d, "026101", "general.report_interval", "10");
    lsws_sim_free(d.sim);

    /* The WS523 (NFC) has no such timeout in its guide. */
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    auth(&d, "123456");
    d.now += 3600000;
    assert_int_equal(request_hex(&d, LSWS_OP_READ, "000002ff03"), LSWS_ST_OK);
    lsws_sim_free(d.sim);
}

/* ---- a smaller maximum message ----------------------------------------------------- */

struct size_case {
    const char *text;
    int code;
};

static const struct size_case max_msg_cases[] = {
    {"64", LSWS_OK},  {"256", LSWS_OK},          {"1024", LSWS_OK},         {"63", LSWS_ERR_INVALID},
    {"0", LSWS_ERR_INVALID},  {"1025", LSWS_ERR_INVALID}, {"99999999", LSWS_ERR_INVALID},
    {"", LSWS_ERR_INVALID},   {"64k", LSWS_ERR_INVALID},  {"-64", LSWS_ERR_INVALID},
    {"+64", LSWS_ERR_INVALID}, {" 64", LSWS_ERR_INVALID},
};

static void max_msg_option(void **state)
{
    (void)state;
    struct lsws_error err;
    for (size_t i = 0; i < sizeof max_msg_cases / sizeof max_msg_cases[0]; i++) {
        const struct size_case *c = &max_msg_cases[i];
        unsigned v = 7;
        lsws_error_clear(&err);
        int rc = lsws_sim_parse_max_msg(c->text, &v, &err);
        if (rc != c->code)
            fail_msg("max_msg '%s': got %d (%s), want %d", c->text, rc, err.msg, c->code);
        if (rc == LSWS_OK) {
            assert_int_equal(v, (unsigned)atoi(c->text));
        } else {
            assert_int_equal(v, 7); /* unchanged */
            assert_non_null(strstr(err.msg, "from 64 to 1024 bytes"));
        }
    }
    /* The API checks the range too. */
    struct lsws_sim_opts o = {.model = LSWS_MODEL_WS523, .max_msg = 63};
    struct lsws_sim *sim = NULL;
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "63 bytes"));
    o.max_msg = 1025;
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_ERR_RANGE);
    assert_null(sim);
}

/* "0000" and n entries of the READ list "026101": a READ request of 5 + 3n bytes. */
static int read_of_size(struct dev *d, size_t bytes)
{
    char hex[2 * LSWS_MSG_MAX + 1] = "0000";
    size_t pos = 4;
    assert_true(bytes >= 5 && (bytes - 5) % 3 == 0);
    for (size_t i = 0; i < (bytes - 5) / 3; i++, pos += 6)
        memcpy(hex + pos, "026101", 7);
    return request_hex(d, LSWS_OP_READ, hex);
}

static void smaller_max_message(void **state)
{
    (void)state;
    struct lsws_sim_opts o = {.model = LSWS_MODEL_CTH01, .max_msg = 64};
    struct lsws_device_info info;
    struct lsws_error err;
    struct dev d;
    char buf[200];
    dev_open_opts(&d, &o);
    d.limit = 64; /* the caller's buffer stays 1024 bytes: the unit's own limit must hold */
    /* Announced in IDENTIFY and in AUTH's device information. */
    identify(&d, &info);
    assert_int_equal(info.max_payload, 64);
    auth(&d, "123456");
    assert_int_equal(lsws_info_decode(d.m.payload, d.m.len, &info, &err), LSWS_OK);
    assert_int_equal(info.max_payload, 64);
    /* Pages of at most 64 bytes: 489 bytes of TLVs, at most 58 a page, whole commands. */
    check_full_read(&d, LSWS_MODEL_CTH01, "EU868", CTH01_SN, CTH01_EUI, 10);
    /* Requests up to 64 bytes are taken; one of 65 is refused, naming both sizes. */
    assert_int_equal(read_of_size(&d, 62), LSWS_ST_OK);
    assert_int_equal(read_of_size(&d, 65), LSWS_ST_BAD_REQUEST);
    assert_non_null(strstr(lsws_sim_note(d.sim), "65 bytes"));
    assert_non_null(strstr(lsws_sim_note(d.sim), "64 bytes"));
    assert_int_equal(write_hex(&d, 1, "61011e00"), LSWS_ST_OK);
    uint8_t big[70] = {0};
    assert_int_equal(write_flags(&d, 0, big, 61), LSWS_ST_BAD_REQUEST); /* 3 + 1 + 61 bytes */
    /* Like any bad request, it abandons the open transaction. */
    assert_int_equal(write_flags(&d, 0, (const uint8_t *)"\xc5\x00\x01", 3), LSWS_ST_SEQUENCE);
    expect_read(&d, "026101", "general.report_interval", "10");
    uint8_t exact[LSWS_MSG_MAX];
    size_t n = hex_bytes("c50001 c50101 c50001 c50101 c50001 c50101 c50001 c50101 c50001 c50101 "
                         "c50001 c50101 c50001 c50101 c50001 c50101 c50001 c50101 c50001 c50001",
                         exact, sizeof exact);
    assert_int_equal(n, 60);
    assert_int_equal(write_frame(&d, 0, exact, n), LSWS_ST_OK); /* 3 + 1 + 60 = 64 bytes */
    /* A refusal's message is cut to fit. */
    assert_int_equal(write_hex(&d, 0, "61010000"), LSWS_ST_INVALID);
    assert_non_null(strstr(invalid_text(&d, buf, sizeof buf), "general.report"));
    lsws_sim_free(d.sim);

    /* The WS523 too: every command fits a 64-byte page (424 bytes, at most 58 a page). */
    o.model = LSWS_MODEL_WS523;
    dev_open_opts(&d, &o);
    d.limit = 64;
    auth(&d, "123456");
    check_full_read(&d, LSWS_MODEL_WS523, "EU868", WS523_SN, WS523_EUI, 10);
    lsws_sim_free(d.sim);
}

/* ---- the state file ---------------------------------------------------------------- */

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/test_sim.XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return strdup(dir);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Removes a state file and the lock file beside it. */
static void remove_state(const char *path)
{
    char lock[4096];
    assert_true(snprintf(lock, sizeof lock, "%s.lock", path) < (int)sizeof lock);
    unlink(path);
    unlink(lock);
}

static void state_survives_restart(void **state)
{
    (void)state;
    char *dir = temp_dir(), path[512];
    struct dev d;
    struct stat sb;
    struct lsws_sim_stats st;
    snprintf(path, sizeof path, "%s/unit.json", dir);

    dev_open(&d, LSWS_MODEL_CTH01, "KR920", path);
    assert_int_equal(stat(path, &sb), 0); /* factory state written at once */
    assert_int_equal(sb.st_mode & 0777, 0600);
    auth(&d, "123456");
    assert_int_equal(write_hex(&d, 0, "61011e00 c6 01 3c 03 57 3c00 0a 57 3c00 6b 01 e2ff"), LSWS_ST_OK);
    assert_int_equal(request(&d, LSWS_OP_PASSWORD, "n3w_pw", 6), LSWS_ST_OK);
    assert_int_equal(request_hex(&d, LSWS_OP_TIME_SYNC, "00f15365 3c00"), LSWS_ST_OK);
    lsws_sim_stats(d.sim, &st);
    assert_int_equal(st.saves, 3);
    lsws_sim_free(d.sim);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    const char *text = read_text(path);
    assert_non_null(strstr(text, "\"sn\": \"" CTH01_SN "\""));
    assert_non_null(strstr(text, "\"factory_band\": \"KR920\""));
    assert_null(strstr(text, "work_mode")); /* read-only: not stored */

    /* A new process: the same unit, as it was left. */
    dev_open(&d, LSWS_MODEL_CTH01, NULL, path);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_AUTH_FAILED);
    auth(&d, "n3w_pw");
    expect_read(&d, "026101", "general.report_interval", "30");
    expect_read(&d, "01c6", "time.dst.enabled", "true");
    expect_read(&d, "016b", "calibration.temperature.value", "-0.30"); /* a JSON real */
    expect_read(&d, "01c7", "time.zone", "UTC+01:00");
    struct lsws_device_info info;
    identify(&d, &info);
    assert_int_equal(info.band, 5);
    assert_true(info.time >= 1700000000u && info.time <= 1700000005u);
    /* A reset is stored too. */
    assert_int_equal(request(&d, LSWS_OP_RESET, NULL, 0), LSWS_ST_OK);
    lsws_sim_free(d.sim);
    dev_open(&d, LSWS_MODEL_CTH01, "KR920", path);
    auth(&d, "123456");
    /* Every setting comes back from the file as it went in. */
    check_full_read(&d, LSWS_MODEL_CTH01, "KR920", CTH01_SN, CTH01_EUI, 1);
    lsws_sim_free(d.sim);

    /* The file is the unit: another model, SN or band is an error. */
    struct lsws_sim_opts o = {.model = LSWS_MODEL_WS523, .state_path = path};
    struct lsws_sim *sim;
    struct lsws_error err;
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_ERR_MODEL);
    assert_non_null(strstr(err.msg, "holds a cth01, not a ws523"));
    o.model = LSWS_MODEL_CTH01;
    o.sn = "1111222233334444";
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_ERR_MODEL);
    o.sn = NULL;
    o.band = "EU868";
    assert_int_equal(lsws_sim_new(&o, &sim, &err), LSWS_ERR_MODEL);
    assert_non_null(strstr(err.msg, "KR920"));

    remove_state(path);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

static void storage_failure_changes_nothing(void **state)
{
    (void)state;
    char *dir = temp_dir(), sub[512], path[600];
    struct dev d;
    snprintf(sub, sizeof sub, "%s/d", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/unit.json", sub);
    dev_open(&d, LSWS_MODEL_WS523, NULL, path);
    auth(&d, "123456");
    /* The directory goes away: the device cannot store, and says so. */
    remove_state(path);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(write_hex(&d, 0, "ff2f00"), LSWS_ST_STORAGE);
    assert_int_equal(request(&d, LSWS_OP_PASSWORD, "abcdef", 6), LSWS_ST_STORAGE);
    expect_read(&d, "02ff2f", "general.led", "true");
    lsws_sim_disconnect(d.sim);
    auth(&d, "123456");
    lsws_sim_free(d.sim);
    rmdir(dir);
    free(dir);
}

struct bad_state {
    const char *text;
    int code;
    const char *msg;
};

#define GOOD_HEAD "{\"lsws_sim_state\": 1, \"model\": \"ws523\", \"sn\": \"" WS523_SN "\", " \
                  "\"dev_eui\": \"" WS523_EUI "\", \"factory_band\": \"EU868\", \"clock_offset\": 0, "

static const struct bad_state bad_states[] = {
    {"", LSWS_ERR_SYNTAX, "line 1, column 0"},
    {"{\"lsws_sim_state\": 1,\n \"model\": ", LSWS_ERR_SYNTAX, "line 2"},
    {"[1, 2]", LSWS_ERR_SYNTAX, "not a JSON object"},
    {"{\"lsws_template\": 1}", LSWS_ERR_UNKNOWN_KEY, "unknown key 'lsws_template'"},
    {"{\"lsws_sim_state\": 2}", LSWS_ERR_SYNTAX, "not an lsws-sim state file"},
    {GOOD_HEAD "\"settings\": {}, \"settings\": {}}", LSWS_ERR_SYNTAX, "duplicate"},
    {GOOD_HEAD "\"settings\": []}", LSWS_ERR_SYNTAX, "\"settings\" must be an object"},
    {GOOD_HEAD "\"settings\": {\"general.report_interval\": 0}}", LSWS_ERR_RANGE, "general.report_interval"},
    {GOOD_HEAD "\"settings\": {\"general.led\": \"yes\"}}", LSWS_ERR_SYNTAX, "general.led"},
    {GOOD_HEAD "\"settings\": {\"general.bogus\": 1}}", LSWS_ERR_UNKNOWN_KEY, "general.bogus"},
    {GOOD_HEAD "\"settings\": {\"lorawan.work_mode\": \"class_a\"}}", LSWS_ERR_READONLY, "read-only"},
    {GOOD_HEAD "\"settings\": {\"general.password\": \"12-456\"}}", LSWS_ERR_INVALID, "general.password"},
    {GOOD_HEAD "\"settings\": {\"lorawan.channels\": \"20\"}}", LSWS_ERR_RANGE, "channel 20"},
    {"{\"lsws_sim_state\": 1, \"model\": \"ws523\", \"sn\": \"xyz\"}", LSWS_ERR_SYNTAX, "\"sn\""},
    {"{\"lsws_sim_state\": 1, \"model\": \"ws999\"}", LSWS_ERR_SYNTAX, "\"model\""},
    {"{\"lsws_sim_state\": 1, \"model\": \"ws523\", \"sn\": \"" WS523_SN "\", \"dev_eui\": \"" WS523_EUI
     "\", \"factory_band\": \"XX000\"}", LSWS_ERR_SYNTAX, "factory_band"},
    {GOOD_HEAD "\"login_failures\": -1, \"settings\": {}}", LSWS_ERR_SYNTAX, "\"login_failures\""},
    {GOOD_HEAD "\"login_failures\": 2.5, \"settings\": {}}", LSWS_ERR_SYNTAX, "\"login_failures\""},
    {GOOD_HEAD "\"lockout_until_ms\": \"soon\", \"settings\": {}}", LSWS_ERR_SYNTAX, "\"lockout_until_ms\""},
};

static void corrupt_state_file(void **state)
{
    (void)state;
    char *dir = temp_dir(), path[512];
    snprintf(path, sizeof path, "%s/unit.json", dir);
    for (size_t i = 0; i < sizeof bad_states / sizeof bad_states[0]; i++) {
        const struct bad_state *b = &bad_states[i];
        struct lsws_sim_opts o = {.model = LSWS_MODEL_WS523, .state_path = path};
        struct lsws_sim *sim = NULL;
        struct lsws_error err;
        lsws_error_clear(&err);
        write_text(path, b->text);
        int rc = lsws_sim_new(&o, &sim, &err);
        if (rc != b->code || !strstr(err.msg, b->msg) || !strstr(err.msg, path))
            fail_msg("state %zu: got %d '%s', want %d with '%s' and the path", i, rc, err.msg, b->code,
                     b->msg);
        assert_null(sim);
        assert_string_equal(read_text(path), b->text); /* never replaced */
    }
    /* A file holding only some settings: the rest are factory defaults. */
    write_text(path, GOOD_HEAD "\"settings\": {\"general.report_interval\": 300}}");
    struct dev d;
    dev_open(&d, LSWS_MODEL_WS523, NULL, path);
    auth(&d, "123456");
    expect_read(&d, "02ff03", "general.report_interval", "300");
    expect_read(&d, "02ff2f", "general.led", "true");
    expect_read(&d, "02fe07", "lorawan.app_key", WS523_EUI WS523_EUI);
    lsws_sim_free(d.sim);
    remove_state(path);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

/* The value of an integer key of the state file, or -1 when it is not there. */
static long long state_number(const char *path, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *at = strstr(read_text(path), pat);
    return at ? strtoll(at + strlen(pat), NULL, 10) : -1;
}

static void failed_logins_survive_restart(void **state)
{
    (void)state;
    char *dir = temp_dir(), path[512];
    struct dev d;
    snprintf(path, sizeof path, "%s/unit.json", dir);
    /* Each attempt by a new simulator, as each lsws run has its own. */
    for (int i = 1; i <= 4; i++) {
        dev_open(&d, LSWS_MODEL_WS523, NULL, path);
        assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
        lsws_sim_free(d.sim);
        assert_int_equal(state_number(path, "login_failures"), i);
    }
    assert_int_equal(state_number(path, "lockout_until_ms"), -1);
    dev_open(&d, LSWS_MODEL_WS523, NULL, path);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_RATE_LIMITED);
    assert_int_equal(wait_seconds(&d), 60);
    lsws_sim_free(d.sim);
    /* The end of the lockout is Unix time in ms, 60 s after the fifth failure. */
    assert_int_equal(state_number(path, "login_failures"), 5);
    long long until = state_number(path, "lockout_until_ms");
    long long want = (long long)time(NULL) * 1000 + 60000;
    if (until < want - 5000 || until > want + 1000)
        fail_msg("lockout_until_ms %lld, expected about %lld", until, want);

    /* A new simulator: still refused, until 60 s after the fifth failure. */
    dev_open(&d, LSWS_MODEL_WS523, NULL, path);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_RATE_LIMITED);
    assert_true(wait_seconds(&d) >= 55 && wait_seconds(&d) <= 60);
    d.now += 60000;
    auth(&d, "123456");
    lsws_sim_free(d.sim);
    /* A success clears both keys: the file is as an older lsws-sim wrote it. */
    assert_int_equal(state_number(path, "login_failures"), -1);
    assert_int_equal(state_number(path, "lockout_until_ms"), -1);

    /* A correct password resets the count, in the file too. */
    dev_open(&d, LSWS_MODEL_WS523, NULL, path);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "000001", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(state_number(path, "login_failures"), 2);
    auth(&d, "123456");
    assert_int_equal(state_number(path, "login_failures"), -1);
    lsws_sim_free(d.sim);
    remove_state(path);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

static void two_simulators_share_a_state_file(void **state)
{
    (void)state;
    char *dir = temp_dir(), path[512], lock[600];
    struct dev a, b;
    struct stat sb;
    struct lsws_device_info info;
    char buf[200];
    snprintf(path, sizeof path, "%s/unit.json", dir);
    snprintf(lock, sizeof lock, "%s.lock", path);
    dev_open(&a, LSWS_MODEL_CTH01, NULL, path);
    dev_open(&b, LSWS_MODEL_CTH01, NULL, path);
    assert_int_equal(stat(lock, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    auth(&a, "123456");
    auth(&b, "123456");

    /* Each sees the other's write, and neither undoes it. */
    assert_int_equal(write_hex(&a, 0, "61011e00"), LSWS_ST_OK); /* report interval 30 min */
    assert_int_equal(write_hex(&b, 0, "6403414243"), LSWS_ST_OK); /* name ABC */
    expect_read(&b, "026101", "general.report_interval", "30");
    expect_read(&a, "0164", "bluetooth.name", "ABC");
    expect_read(&a, "026101", "general.report_interval", "30");
    assert_string_equal(lsws_sim_name(a.sim), "ABC");

    /* A transaction applies to the unit as it is at its last frame: b
     * stages an alarm interval of 20 min, a raises the report interval to
     * 40, b's commit keeps both. */
    assert_int_equal(write_hex(&b, 1, "7c1400030000"), LSWS_ST_OK);
    assert_int_equal(write_hex(&a, 0, "61012800"), LSWS_ST_OK);
    assert_int_equal(write_hex(&b, 0, "640358595a"), LSWS_ST_OK); /* name XYZ */
    expect_read(&a, "026101", "general.report_interval", "40");
    expect_read(&a, "017c", "alarm.interval", "20");
    /* The rules between settings are checked on that unit: with an alarm
     * on (b enables the temperature alarm), a stages 35 min, b lowers the
     * report interval to 30, a's commit is refused whole. */
    assert_int_equal(write_hex(&b, 0, "7601020000c409"), LSWS_ST_OK);
    assert_int_equal(write_hex(&a, 1, "7c2300030000"), LSWS_ST_OK);
    assert_int_equal(write_hex(&b, 0, "61011e00"), LSWS_ST_OK);
    assert_int_equal(write_hex(&a, 0, "6403414141"), LSWS_ST_INVALID);
    assert_int_equal(invalid_offset(&a), 0xffff);
    assert_non_null(strstr(invalid_text(&a, buf, sizeof buf), "alarm.interval"));
    expect_read(&b, "026101", "general.report_interval", "30");
    expect_read(&b, "017c", "alarm.interval", "20");
    expect_read(&b, "0164", "bluetooth.name", "XYZ");

    /* Time and password through one are the unit's. */
    assert_int_equal(request_hex(&a, LSWS_OP_TIME_SYNC, "00f15365 3c00"), LSWS_ST_OK);
    identify(&b, &info);
    assert_true(info.time >= 1700000000u && info.time <= 1700000005u);
    assert_int_equal(info.tz_minutes, 60);
    assert_int_equal(request(&b, LSWS_OP_PASSWORD, "sh4red", 6), LSWS_ST_OK);
    lsws_sim_disconnect(a.sim);
    assert_int_equal(request(&a, LSWS_OP_AUTH, "123456", 6), LSWS_ST_AUTH_FAILED);
    auth(&a, "sh4red");
    identify(&a, &info);
    assert_int_equal(info.flags & LSWS_INFO_DEFAULT_PASSWORD, 0);

    /* A reset through one: the other reads the factory state. */
    assert_int_equal(request(&a, LSWS_OP_RESET, NULL, 0), LSWS_ST_OK);
    expect_read(&b, "026101 017c", "general.report_interval", "10");
    assert_string_equal(lsws_sim_name(b.sim), "CTH01-F418093");

    /* Wrong passwords count on the unit, whichever simulator hears them. */
    lsws_sim_disconnect(b.sim);
    for (int i = 0; i < 5; i++)
        assert_int_equal(request(i % 2 ? &a : &b, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(request(&a, LSWS_OP_AUTH, "123456", 6), LSWS_ST_RATE_LIMITED);
    assert_int_equal(request(&b, LSWS_OP_AUTH, "123456", 6), LSWS_ST_RATE_LIMITED);

    struct lsws_sim_stats st;
    lsws_sim_stats(a.sim, &st);
    assert_true(st.saves >= 6);
    lsws_sim_free(a.sim);
    lsws_sim_free(b.sim);
    remove_state(path);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

static void state_file_broken_while_running(void **state)
{
    (void)state;
    char *dir = temp_dir(), path[512];
    static const char broken[] = "{\"lsws_sim_state\": 1,";
    struct dev d;
    snprintf(path, sizeof path, "%s/unit.json", dir);
    dev_open(&d, LSWS_MODEL_WS523, NULL, path);
    auth(&d, "123456");
    /* Edited in place, badly: the unit keeps what it had, stores nothing
     * and never replaces the file. */
    write_text(path, broken);
    expect_read(&d, "02ff2f", "general.led", "true");
    assert_int_equal(write_hex(&d, 0, "ff2f00"), LSWS_ST_STORAGE);
    assert_non_null(strstr(lsws_sim_note(d.sim), "line 1"));
    assert_int_equal(request(&d, LSWS_OP_PASSWORD, "abcdef", 6), LSWS_ST_STORAGE);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "000000", 6), LSWS_ST_AUTH_FAILED); /* counted in memory */
    assert_string_equal(read_text(path), broken);
    auth(&d, "123456");
    expect_read(&d, "02ff2f", "general.led", "true");
    /* Mended: the unit is what the file says. */
    write_text(path, GOOD_HEAD "\"settings\": {\"general.led\": false}}");
    expect_read(&d, "02ff2f", "general.led", "false");
    assert_int_equal(write_hex(&d, 0, "ff035802"), LSWS_ST_OK);
    lsws_sim_free(d.sim);
    dev_open(&d, LSWS_MODEL_WS523, NULL, path);
    auth(&d, "123456");
    expect_read(&d, "02ff2f", "general.led", "false");
    expect_read(&d, "02ff03", "general.report_interval", "600");
    lsws_sim_free(d.sim);
    remove_state(path);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

/* ---- faults ---------------------------------------------------------------------------- */

struct fault_case {
    const char *name, *value;
    int code; /* LSWS_OK or the error */
};

static const struct fault_case fault_cases[] = {
    {"drop", "3,7", LSWS_OK},
    {"drop", "1", LSWS_OK},
    {"corrupt", "2", LSWS_OK},
    {"delay", "4,5,6,7,8,9,10,11", LSWS_OK},
    {"delay_ms", "1500", LSWS_OK},
    {"delay-ms", "0", LSWS_OK},
    {"refuse", "1000000", LSWS_OK},
    {"refuse_status", "7", LSWS_OK},
    {"refuse_status", "storage", LSWS_OK},
    {"refuse_status", "BUSY", LSWS_OK},
    {"disconnect_after", "100", LSWS_OK},
    {"link_bps", "11520", LSWS_OK},
    {"latency_ms", "5", LSWS_OK},
    {"drop", "", LSWS_ERR_INVALID},
    {"drop", "0", LSWS_ERR_INVALID},
    {"drop", "3,,7", LSWS_ERR_INVALID},
    {"drop", "3,", LSWS_ERR_INVALID},
    {"drop", "-1", LSWS_ERR_INVALID},
    {"drop", "+1", LSWS_ERR_INVALID},
    {"drop", " 3", LSWS_ERR_INVALID},
    {"drop", "3x", LSWS_ERR_INVALID},
    {"drop", "1000001", LSWS_ERR_INVALID},
    {"drop", "99999999999999999999999", LSWS_ERR_INVALID},
    {"corrupt", "1,2,3,4,5,6,7,8,9", LSWS_ERR_RANGE},
    {"delay_ms", "600001", LSWS_ERR_INVALID},
    {"delay_ms", "1.5", LSWS_ERR_INVALID},
    {"refuse_status", "0", LSWS_ERR_INVALID},
    {"refuse_status", "ok", LSWS_ERR_INVALID},
    {"refuse_status", "256", LSWS_ERR_INVALID},
    {"link_bps", "fast", LSWS_ERR_INVALID},
    {"latency_ms", "", LSWS_ERR_INVALID},
    {"dropp", "3", LSWS_ERR_INVALID},
    {"", "3", LSWS_ERR_INVALID},
};

static void fault_options(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fault_cases / sizeof fault_cases[0]; i++) {
        const struct fault_case *c = &fault_cases[i];
        struct lsws_sim_faults f, before;
        struct lsws_error err;
        memset(&f, 0, sizeof f);
        f.drop[0] = 42;
        f.corrupt[0] = 43;
        before = f;
        lsws_error_clear(&err);
        int rc = lsws_sim_fault_option(&f, c->name, c->value, &err);
        if (rc != c->code)
            fail_msg("%s=%s: got %d (%s), want %d", c->name, c->value, rc, err.msg, c->code);
        if (rc != LSWS_OK) {
            assert_true(err.msg[0] != '\0');
            assert_memory_equal(&f, &before, sizeof f); /* unchanged */
        }
    }
    struct lsws_sim_faults f;
    memset(&f, 0, sizeof f);
    assert_int_equal(lsws_sim_fault_option(&f, "drop", "3,7", NULL), LSWS_OK);
    assert_int_equal(f.drop[0], 3);
    assert_int_equal(f.drop[1], 7);
    assert_int_equal(f.drop[2], 0);
    assert_int_equal(lsws_sim_fault_option(&f, "drop", "5", NULL), LSWS_OK); /* replaces */
    assert_int_equal(f.drop[0], 5);
    assert_int_equal(f.drop[1], 0);
    assert_true(lsws_sim_fault_listed(f.drop, 5));
    assert_false(lsws_sim_fault_listed(f.drop, 3));
    assert_int_equal(lsws_sim_fault_option(&f, "refuse_status", "storage", NULL), LSWS_OK);
    assert_int_equal(f.refuse_status, LSWS_ST_STORAGE);
    assert_int_equal(lsws_sim_fault_option(&f, "delay-ms", "1500", NULL), LSWS_OK);
    assert_int_equal(f.delay_ms, 1500);
    assert_int_equal(lsws_sim_fault_option(&f, "disconnect_after", "100", NULL), LSWS_OK);
    assert_int_equal(f.disconnect_after, 100);
    assert_int_equal(lsws_sim_fault_option(&f, "link_bps", "11520", NULL), LSWS_OK);
    assert_int_equal(f.link_bps, 11520);
    assert_int_equal(lsws_sim_fault_option(&f, "latency_ms", "5", NULL), LSWS_OK);
    assert_int_equal(f.latency_ms, 5);
}

/* A PASSWORD request (seq, new password) as frame n through lsws_sim_serve. */
static unsigned serve_password(struct dev *d, const struct lsws_sim_faults *f, unsigned long n,
                               uint8_t seq, const char *pw, struct lsws_msg *m)
{
    uint8_t req[16];
    size_t len;
    assert_int_equal(lsws_msg_encode(seq, LSWS_OP_PASSWORD, -1, (const uint8_t *)pw, 6, req,
                                     sizeof req, &len), LSWS_OK);
    unsigned what = lsws_sim_serve(d->sim, f, n, req, len, d->resp, sizeof d->resp, &d->rlen, d->now);
    memset(m, 0, sizeof *m);
    if (d->rlen)
        assert_int_equal(lsws_msg_decode(d->resp, d->rlen, m, NULL), LSWS_OK);
    return what;
}

static void faults_applied_to_frames(void **state)
{
    (void)state;
    struct dev d;
    struct lsws_sim_faults f;
    struct lsws_msg m;
    memset(&f, 0, sizeof f);
    assert_int_equal(lsws_sim_fault_option(&f, "drop", "2", NULL), LSWS_OK);
    assert_int_equal(lsws_sim_fault_option(&f, "refuse", "3", NULL), LSWS_OK);
    assert_int_equal(lsws_sim_fault_option(&f, "corrupt", "4", NULL), LSWS_OK);
    assert_int_equal(lsws_sim_fault_option(&f, "delay", "4,5", NULL), LSWS_OK);
    dev_open(&d, LSWS_MODEL_WS523, NULL, NULL);
    auth(&d, "123456");
    /* Frame 1: normal. */
    assert_int_equal(serve_password(&d, &f, 1, 10, "aaaaaa", &m), 0);
    assert_int_equal(m.status, LSWS_ST_OK);
    /* Frame 2: dropped before the device saw it. */
    assert_int_equal(serve_password(&d, &f, 2, 11, "bbbbbb", &m), LSWS_SIM_DROPPED);
    assert_int_equal(d.rlen, 0);
    /* Frame 3: refused (BUSY by default), not executed. */
    assert_int_equal(serve_password(&d, &f, 3, 12, "cccccc", &m), LSWS_SIM_REFUSED);
    assert_int_equal(m.status, LSWS_ST_BUSY);
    assert_int_equal(m.seq, 12);
    assert_int_equal(m.op, LSWS_OP_PASSWORD);
    /* Frame 4: executed, the answer to be corrupted and delayed. */
    assert_int_equal(serve_password(&d, &f, 4, 13, "dddddd", &m), LSWS_SIM_CORRUPTED | LSWS_SIM_DELAYED);
    assert_int_equal(m.status, LSWS_ST_OK);
    /* Refused with INVALID: offset ffff and a message. */
    assert_int_equal(lsws_sim_fault_option(&f, "refuse_status", "invalid", NULL), LSWS_OK);
    assert_int_equal(serve_password(&d, &f, 3, 14, "eeeeee", &m), LSWS_SIM_REFUSED);
    assert_int_equal(m.status, LSWS_ST_INVALID);
    assert_true(m.len > 2 && m.payload[0] == 0xff && m.payload[1] == 0xff);
    /* Only "aaaaaa" and "dddddd" were executed. */
    lsws_sim_disconnect(d.sim);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "bbbbbb", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "cccccc", 6), LSWS_ST_AUTH_FAILED);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "eeeeee", 6), LSWS_ST_AUTH_FAILED);
    auth(&d, "dddddd");
    lsws_sim_free(d.sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identify_needs_no_auth),
        cmocka_unit_test(serial_number_option),
        cmocka_unit_test(every_operation_needs_auth),
        cmocka_unit_test(wrong_password),
        cmocka_unit_test(rate_limit_after_five_failures),
        cmocka_unit_test(read_every_page),
        cmocka_unit_test(read_listed_codes),
        cmocka_unit_test(write_one_setting),
        cmocka_unit_test(write_whole_config_in_frames),
        cmocka_unit_test(refused_writes_change_nothing),
        cmocka_unit_test(interrupted_transaction_answers_sequence),
        cmocka_unit_test(identical_retry_is_not_executed),
        cmocka_unit_test(password_change),
        cmocka_unit_test(reset_restores_factory_state),
        cmocka_unit_test(reboot_ends_the_session),
        cmocka_unit_test(time_sync),
        cmocka_unit_test(cth01_idle_timeout),
        cmocka_unit_test(max_msg_option),
        cmocka_unit_test(smaller_max_message),
        cmocka_unit_test(state_survives_restart),
        cmocka_unit_test(storage_failure_changes_nothing),
        cmocka_unit_test(corrupt_state_file),
        cmocka_unit_test(failed_logins_survive_restart),
        cmocka_unit_test(two_simulators_share_a_state_file),
        cmocka_unit_test(state_file_broken_while_running),
        cmocka_unit_test(fault_options),
        cmocka_unit_test(faults_applied_to_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
