/* Firmware images and upgrades (docs/firmware.md): the image header and its
 * parser against a table of malformed headers (every field, every length),
 * whole-image checks, versions and compatibility; the simulated unit's
 * FW_BEGIN/FW_DATA/FW_END through lsws_sim_handle with malformed, out of
 * order and corrupt requests, staging that survives a restart, and the
 * faults; and the library's upgrade job over a fake link that drops,
 * loses answers and corrupts chunks. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define WS523_HW 0x0120
#define WS523_FW 0x0108

static int contains(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0)
            return 1;
    return 0;
}

static uint8_t *make_image(enum lsws_model_id model, uint16_t fw, size_t size, size_t *len)
{
    uint8_t *img;
    struct lsws_error err;
    uint16_t hw, ffw;
    lsws_error_clear(&err);
    lsws_sim_factory_versions(model, &hw, &ffw);
    if (lsws_sim_firmware_image(model, hw, hw, fw, size, NULL, &img, len, &err) != LSWS_OK)
        fail_msg("image: %s", err.msg);
    return img;
}

/* Sets the header CRC of raw to what its other bytes give. */
static void fix_crc(uint8_t *raw)
{
    uint32_t c = lsws_crc32(0, raw, 124);
    for (int i = 0; i < 4; i++)
        raw[124 + i] = (uint8_t)(c >> (8 * i));
}

/* ---- the header ------------------------------------------------------------------- */

static void header_round_trip(void **state)
{
    (void)state;
    uint8_t payload[1000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    struct lsws_fw_header h = {.model = LSWS_MODEL_CTH01, .hw_min = 0x0100, .hw_max = 0x0120, .fw = 0x0114,
                               .build_time = 1770369441};
    snprintf(h.name, sizeof h.name, "cth01 release");
    uint8_t *img;
    size_t len;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_fw_image_build(&h, payload, sizeof payload, &img, &len, &err), LSWS_OK);
    assert_int_equal(len, LSWS_FW_HEADER_LEN + sizeof payload);
    assert_memory_equal(img, "LSFW\x01\x01\x80\x00\x01\x00\x01\x20\x01\x14", 14);
    struct lsws_fw_header back;
    assert_int_equal(lsws_fw_image_check(img, len, &back, &err), LSWS_OK);
    assert_int_equal(back.model, LSWS_MODEL_CTH01);
    assert_int_equal(back.hw_min, 0x0100);
    assert_int_equal(back.hw_max, 0x0120);
    assert_int_equal(back.fw, 0x0114);
    assert_int_equal(back.payload_len, sizeof payload);
    assert_int_equal(back.crc32, lsws_crc32(0, payload, sizeof payload));
    assert_int_equal(back.build_time, 1770369441);
    assert_string_equal(back.name, "cth01 release");
    assert_memory_equal(back.raw, img, LSWS_FW_HEADER_LEN);
    /* zlib's CRC-32 of "123456789" is the standard check value. */
    assert_int_equal(lsws_crc32(0, (const uint8_t *)"123456789", 9), 0xcbf43926u);
    free(img);
}

struct bad_header {
    const char *what;
    size_t at;    /* byte changed */
    uint8_t to;   /* its new value; with at >= 12 and no fix_crc: bits flipped */
    int fix_crc;  /* recompute the header CRC after the change */
    int code;
    size_t offset;
    const char *msg;
};

static void malformed_headers(void **state)
{
    (void)state;
    static const struct bad_header table[] = {
        {"magic", 0, 'X', 0, LSWS_ERR_MALFORMED, 0, "not an lsws firmware image"},
        {"magic, last byte", 3, 'w', 0, LSWS_ERR_MALFORMED, 0, "does not start with"},
        {"header version 2", 4, 2, 0, LSWS_ERR_UNSUPPORTED, 4, "header version 2"},
        {"header version 0", 4, 0, 1, LSWS_ERR_UNSUPPORTED, 4, "version 0"},
        {"header length 64", 6, 64, 1, LSWS_ERR_MALFORMED, 6, "length 64"},
        {"header length, high byte", 7, 1, 1, LSWS_ERR_MALFORMED, 6, "length 384"},
        {"model 2", 5, 2, 1, LSWS_ERR_MODEL, 5, "unknown model 2"},
        {"model 255", 5, 255, 1, LSWS_ERR_MODEL, 5, "unknown model"},
        {"lowest hardware above the highest", 8, 9, 1, LSWS_ERR_MALFORMED, 8, "above the highest"},
        {"flags", 14, 1, 1, LSWS_ERR_UNSUPPORTED, 14, "flags 0x0001"},
        {"flags, high byte", 15, 0x80, 1, LSWS_ERR_UNSUPPORTED, 14, "flags 0x8000"},
        {"payload length too large", 19, 0x01, 1, LSWS_ERR_RANGE, 16, "payload length"},
        {"name not printable", 60, 0x07, 1, LSWS_ERR_MALFORMED, 60, "not printable"},
        {"name with text after its end", 91, 'x', 1, LSWS_ERR_MALFORMED, 91, "text after its end"},
        {"reserved byte", 92, 1, 1, LSWS_ERR_MALFORMED, 92, "reserved byte 92"},
        {"reserved, last", 123, 0xff, 1, LSWS_ERR_MALFORMED, 123, "reserved byte 123"},
        {"a flipped CRC byte", 124, 0x5a, 0, LSWS_ERR_MALFORMED, 124, "header is corrupt"},
        {"firmware version changed", 13, 0x33, 0, LSWS_ERR_MALFORMED, 124, "header is corrupt"},
        {"payload CRC changed", 20, 0x01, 0, LSWS_ERR_MALFORMED, 124, "header is corrupt"},
    };
    size_t len;
    uint8_t *img = make_image(LSWS_MODEL_WS523, 0x0109, 300, &len);
    /* The name of the sim's images ends before byte 91. */
    assert_int_equal(img[60 + 31], 0);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct bad_header *t = &table[i];
        uint8_t raw[LSWS_FW_HEADER_LEN];
        memcpy(raw, img, sizeof raw);
        if (!t->fix_crc && t->at >= 12)
            raw[t->at] ^= t->to;
        else
            raw[t->at] = t->to;
        if (t->fix_crc)
            fix_crc(raw);
        struct lsws_fw_header h;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_fw_header_parse(raw, sizeof raw, &h, &err);
        if (rc != t->code || err.offset != t->offset || !strstr(err.msg, t->msg))
            fail_msg("%s: %d at %zu '%s', want %d at %zu '%s'", t->what, rc, err.offset, err.msg, t->code, t->offset,
                     t->msg);
        assert_int_equal(h.header_version, 0); /* nothing half-parsed */
    }
    /* Payload length 0. */
    uint8_t raw[LSWS_FW_HEADER_LEN];
    memcpy(raw, img, sizeof raw);
    memset(raw + 16, 0, 4);
    fix_crc(raw);
    struct lsws_fw_header h;
    assert_int_equal(lsws_fw_header_parse(raw, sizeof raw, &h, NULL), LSWS_ERR_RANGE);
    /* Every byte of a valid header flipped: never accepted. */
    for (size_t i = 0; i < LSWS_FW_HEADER_LEN; i++)
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(raw, img, sizeof raw);
            raw[i] ^= (uint8_t)(1u << bit);
            if (lsws_fw_header_parse(raw, sizeof raw, &h, NULL) == LSWS_OK)
                fail_msg("header with byte %zu bit %u flipped was accepted", i, bit);
        }
    /* Every length short of a whole header: truncated, with the length as
     * the offset (or not an image at all when the magic is cut wrong). */
    for (size_t n = 0; n < LSWS_FW_HEADER_LEN; n++) {
        struct lsws_error err;
        lsws_error_clear(&err);
        assert_int_equal(lsws_fw_header_parse(img, n, &h, &err), LSWS_ERR_TRUNCATED);
        assert_int_equal(err.offset, n);
    }
    free(img);
}

static void whole_image_checks(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = make_image(LSWS_MODEL_WS523, 0x0109, 5000, &len);
    struct lsws_fw_header h;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_fw_image_check(img, len, &h, &err), LSWS_OK);
    /* Cut short anywhere in the payload. */
    for (size_t n = LSWS_FW_HEADER_LEN; n < len; n += 499) {
        assert_int_equal(lsws_fw_image_check(img, n, &h, &err), LSWS_ERR_TRUNCATED);
        assert_non_null(strstr(err.msg, "cut short"));
        assert_int_equal(h.fw, 0x0109); /* the header still tells what it is */
    }
    /* A byte too many. */
    uint8_t *more = malloc(len + 1);
    memcpy(more, img, len);
    more[len] = 0;
    assert_int_equal(lsws_fw_image_check(more, len + 1, &h, &err), LSWS_ERR_MALFORMED);
    assert_int_equal(err.offset, len);
    free(more);
    /* A payload byte changed: CRC-32. */
    img[LSWS_FW_HEADER_LEN + 2500] ^= 1;
    assert_int_equal(lsws_fw_image_check(img, len, &h, &err), LSWS_ERR_MALFORMED);
    assert_non_null(strstr(err.msg, "CRC-32"));
    /* The same with a header whose CRC-32 was made to match: SHA-256. */
    uint32_t c = lsws_crc32(0, img + LSWS_FW_HEADER_LEN, len - LSWS_FW_HEADER_LEN);
    for (int i = 0; i < 4; i++)
        img[20 + i] = (uint8_t)(c >> (8 * i));
    fix_crc(img);
    assert_int_equal(lsws_fw_image_check(img, len, &h, &err), LSWS_ERR_MALFORMED);
    assert_non_null(strstr(err.msg, "SHA-256"));
    free(img);
}

static void versions(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int hardware, ok;
        uint16_t v;
        const char *canonical;
    } table[] = {
        {"v1.14", 0, 1, 0x0114, "v1.14"}, {"1.8", 0, 1, 0x0108, "v1.8"},   {"V2.0", 0, 1, 0x0200, "v2.0"},
        {"v1.99", 0, 1, 0x0199, "v1.99"}, {"v1.2", 1, 1, 0x0120, "v1.2"},  {"3.15", 1, 1, 0x03f0, "v3.15"},
        {"v255.0", 0, 1, 0xff00, "v255.0"},
        {"v1.100", 0, 0, 0, NULL},        {"v1.16", 1, 0, 0, NULL},        {"v256.1", 0, 0, 0, NULL},
        {"v1", 0, 0, 0, NULL},            {"1.", 0, 0, 0, NULL},           {".1", 0, 0, 0, NULL},
        {"v1.2.3", 0, 0, 0, NULL},        {"", 0, 0, 0, NULL},             {"v1.x", 0, 0, 0, NULL},
        {"-1.2", 0, 0, 0, NULL},          {"v1.2 ", 0, 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        uint16_t v = 0;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_version_parse(table[i].text, table[i].hardware, &v, &err);
        if ((rc == LSWS_OK) != table[i].ok)
            fail_msg("'%s': %d (%s)", table[i].text, rc, err.msg);
        if (!table[i].ok) {
            assert_int_equal(rc, LSWS_ERR_SYNTAX);
            continue;
        }
        assert_int_equal(v, table[i].v);
        char buf[16];
        lsws_version_format(v, table[i].hardware, buf, sizeof buf);
        assert_string_equal(buf, table[i].canonical);
    }
}

static void compatibility(void **state)
{
    (void)state;
    struct lsws_fw_header h = {.model = LSWS_MODEL_WS523, .hw_min = 0x0110, .hw_max = 0x0120, .fw = 0x0109};
    enum lsws_fw_refusal why;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_fw_check_unit(&h, LSWS_MODEL_WS523, 0x0120, 0x0108, 0, &why, &err), LSWS_OK);
    assert_int_equal(why, LSWS_FW_OK);
    assert_int_equal(lsws_fw_check_unit(&h, LSWS_MODEL_CTH01, 0x0120, 0x0108, LSWS_FW_FORCE, &why, &err),
                     LSWS_ERR_MODEL);
    assert_int_equal(why, LSWS_FW_WRONG_MODEL);
    assert_string_equal(err.msg, "the image is built for a ws523, and the unit is a cth01");
    assert_int_equal(lsws_fw_check_unit(&h, LSWS_MODEL_WS523, 0x0100, 0x0108, LSWS_FW_FORCE, &why, &err),
                     LSWS_ERR_MODEL);
    assert_int_equal(why, LSWS_FW_WRONG_HARDWARE);
    assert_string_equal(err.msg, "the image is built for ws523 hardware v1.1 to v1.2, and the unit has hardware v1.0");
    assert_int_equal(lsws_fw_check_unit(&h, LSWS_MODEL_WS523, 0x0130, 0x0108, 0, &why, &err), LSWS_ERR_MODEL);
    assert_int_equal(lsws_fw_check_unit(&h, LSWS_MODEL_WS523, 0x0120, 0x0109, 0, &why, &err), LSWS_ERR_INVALID);
    assert_int_equal(why, LSWS_FW_SAME);
    assert_int_equal(lsws_fw_check_unit(&h, LSWS_MODEL_WS523, 0x0120, 0x0110, 0, &why, &err), LSWS_ERR_INVALID);
    assert_int_equal(why, LSWS_FW_DOWNGRADE);
    assert_string_equal(err.msg, "the image holds firmware v1.9, older than the v1.10 the unit runs");
    assert_int_equal(lsws_fw_check_unit(&h, LSWS_MODEL_WS523, 0x0120, 0x0110, LSWS_FW_FORCE, &why, &err), LSWS_OK);
    assert_int_equal(lsws_fw_check_unit(&h, LSWS_MODEL_WS523, 0x0120, 0x0109, LSWS_FW_FORCE, &why, &err), LSWS_OK);
}

static void fw_begin_payloads(void **state)
{
    (void)state;
    struct lsws_fw_header h = {.model = LSWS_MODEL_CTH01, .hw_min = 0x0100, .hw_max = 0x0100, .fw = 0x0102,
                               .payload_len = 1234, .crc32 = 0xdeadbeef};
    memset(h.sha256, 0xab, 32);
    uint8_t p[LSWS_FW_BEGIN_LEN + 1];
    lsws_fw_begin_encode(&h, LSWS_FW_BEGIN_FORCE, p);
    struct lsws_fw_header back;
    unsigned flags;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_fw_begin_decode(p, LSWS_FW_BEGIN_LEN, &back, &flags, &err), LSWS_OK);
    assert_int_equal(flags, LSWS_FW_BEGIN_FORCE);
    assert_int_equal(back.model, h.model);
    assert_int_equal(back.fw, h.fw);
    assert_int_equal(back.payload_len, 1234);
    assert_int_equal(back.crc32, 0xdeadbeef);
    assert_memory_equal(back.sha256, h.sha256, 32);
    for (size_t n = 0; n <= LSWS_FW_BEGIN_LEN + 1; n++)
        if (n != LSWS_FW_BEGIN_LEN)
            assert_int_not_equal(lsws_fw_begin_decode(p, n, &back, &flags, &err), LSWS_OK);
    static const struct {
        size_t at;
        uint8_t to;
        int code;
        size_t offset;
    } bad[] = {
        {0, 0x02, LSWS_ERR_UNSUPPORTED, 0}, {0, 0x80, LSWS_ERR_UNSUPPORTED, 0}, {1, 2, LSWS_ERR_MODEL, 1},
        {2, 0x09, LSWS_ERR_MALFORMED, 2},   {11, 0x01, LSWS_ERR_RANGE, 8},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t q[LSWS_FW_BEGIN_LEN];
        memcpy(q, p, sizeof q);
        q[bad[i].at] = bad[i].to;
        assert_int_equal(lsws_fw_begin_decode(q, sizeof q, &back, &flags, &err), bad[i].code);
        assert_int_equal(err.offset, bad[i].offset);
    }
    uint8_t q[LSWS_FW_BEGIN_LEN];
    memcpy(q, p, sizeof q);
    memset(q + 8, 0, 4);
    assert_int_equal(lsws_fw_begin_decode(q, sizeof q, &back, &flags, &err), LSWS_ERR_RANGE);
}

/* ---- the simulated unit ------------------------------------------------------------ */

struct dev {
    struct lsws_sim *sim;
    uint8_t seq;
    uint8_t resp[LSWS_MSG_MAX];
    size_t rlen;
    struct lsws_msg m;
};

static int request(struct dev *d, uint8_t op, const void *payload, size_t len)
{
    uint8_t req[LSWS_MSG_MAX];
    size_t n;
    assert_int_equal(lsws_msg_encode(++d->seq, op, -1, payload, len, req, sizeof req, &n), LSWS_OK);
    lsws_sim_handle(d->sim, req, n, d->resp, sizeof d->resp, &d->rlen, 1000);
    assert_true(d->rlen >= 4);
    assert_int_equal(lsws_msg_decode(d->resp, d->rlen, &d->m, NULL), LSWS_OK);
    return d->m.status;
}

static uint32_t next_offset(const struct dev *d)
{
    assert_true(d->m.len >= 4);
    const uint8_t *p = d->m.payload;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void dev_open(struct dev *d, enum lsws_model_id model, const char *state)
{
    struct lsws_sim_opts o = {.model = model, .state_path = state};
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(d, 0, sizeof *d);
    if (lsws_sim_new(&o, &d->sim, &err) != LSWS_OK)
        fail_msg("sim: %s", err.msg);
    assert_int_equal(request(d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_OK);
}

static int begin(struct dev *d, const uint8_t *img, unsigned flags)
{
    struct lsws_fw_header h;
    uint8_t p[LSWS_FW_BEGIN_LEN];
    assert_int_equal(lsws_fw_header_parse(img, LSWS_FW_HEADER_LEN, &h, NULL), LSWS_OK);
    lsws_fw_begin_encode(&h, flags, p);
    return request(d, LSWS_OP_FW_BEGIN, p, sizeof p);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* FW_DATA of payload bytes [off, off + n) of img; crc_xor changes the CRC. */
static int data(struct dev *d, const uint8_t *img, uint32_t off, size_t n, uint32_t crc_xor)
{
    uint8_t p[LSWS_MSG_MAX];
    put32(p, off);
    memcpy(p + 8, img + LSWS_FW_HEADER_LEN + off, n);
    put32(p + 4, lsws_crc32(lsws_crc32(0, p, 4), p + 8, n) ^ crc_xor);
    return request(d, LSWS_OP_FW_DATA, p, 8 + n);
}

static uint16_t running(struct dev *d)
{
    struct lsws_device_info info;
    assert_int_equal(request(d, LSWS_OP_IDENTIFY, NULL, 0), LSWS_ST_OK);
    assert_int_equal(lsws_info_decode(d->m.payload, d->m.len, &info, NULL), LSWS_OK);
    return info.fw;
}

static void device_transfer(void **state)
{
    (void)state;
    struct dev d;
    size_t len;
    uint8_t *img = make_image(LSWS_MODEL_WS523, 0x0109, 2500, &len), *cth = NULL;
    dev_open(&d, LSWS_MODEL_WS523, NULL);
    /* Nothing open yet. */
    assert_int_equal(data(&d, img, 0, 100, 0), LSWS_ST_SEQUENCE);
    assert_int_equal(request(&d, LSWS_OP_FW_END, NULL, 0), LSWS_ST_SEQUENCE);
    /* FW_BEGIN: wrong model, wrong length, the same version. */
    size_t clen;
    cth = make_image(LSWS_MODEL_CTH01, 0x0109, 100, &clen);
    assert_int_equal(begin(&d, cth, 0), LSWS_ST_INVALID);
    assert_true(d.m.len > 2 && d.m.payload[0] == 1 && d.m.payload[1] == 0);
    assert_true(contains(d.m.payload + 2, d.m.len - 2, "built for a cth01"));
    assert_int_equal(request(&d, LSWS_OP_FW_BEGIN, "\0\0", 2), LSWS_ST_BAD_REQUEST);
    size_t slen;
    uint8_t *same = make_image(LSWS_MODEL_WS523, WS523_FW, 100, &slen);
    assert_int_equal(begin(&d, same, 0), LSWS_ST_INVALID);
    assert_int_equal(d.m.payload[0], 6);
    assert_int_equal(begin(&d, same, LSWS_FW_BEGIN_FORCE), LSWS_ST_OK); /* forced: accepted */
    free(same);
    /* The image: starts at 0, slot size given. */
    assert_int_equal(begin(&d, img, 0), LSWS_ST_OK);
    assert_int_equal(d.m.len, 8);
    assert_int_equal(next_offset(&d), 0);
    assert_int_equal(d.m.payload[4] | d.m.payload[5] << 8 | d.m.payload[6] << 16, LSWS_SIM_FW_SLOT);
    /* FW_DATA: short, corrupt, out of order, past the end, good. */
    assert_int_equal(request(&d, LSWS_OP_FW_DATA, "\0\0\0\0\0\0\0\0", 8), LSWS_ST_BAD_REQUEST);
    assert_int_equal(data(&d, img, 0, 1000, 1), LSWS_ST_CHECKSUM);
    assert_int_equal(next_offset(&d), 0);
    assert_int_equal(data(&d, img, 1000, 500, 0), LSWS_ST_SEQUENCE);
    assert_int_equal(next_offset(&d), 0);
    assert_int_equal(data(&d, img, 0, 1000, 0), LSWS_ST_OK);
    assert_int_equal(next_offset(&d), 1000);
    assert_int_equal(data(&d, img, 0, 1000, 0), LSWS_ST_SEQUENCE); /* again: not staged twice */
    assert_int_equal(next_offset(&d), 1000);
    /* FW_END too early: the offset it lacks. */
    assert_int_equal(request(&d, LSWS_OP_FW_END, NULL, 0), LSWS_ST_SEQUENCE);
    assert_int_equal(next_offset(&d), 1000);
    assert_int_equal(request(&d, LSWS_OP_FW_END, "x", 1), LSWS_ST_BAD_REQUEST);
    /* A session that ends must open the transfer again, and finds its bytes. */
    lsws_sim_disconnect(d.sim);
    assert_int_equal(request(&d, LSWS_OP_AUTH, "123456", 6), LSWS_ST_OK);
    assert_int_equal(data(&d, img, 1000, 1000, 0), LSWS_ST_SEQUENCE);
    assert_int_equal(begin(&d, img, 0), LSWS_ST_OK);
    assert_int_equal(next_offset(&d), 1000);
    /* A chunk running past the image is refused; the rest goes in. */
    assert_int_equal(data(&d, img, 1000, 1000, 0), LSWS_ST_OK);
    uint8_t p[8 + 600];
    put32(p, 2000);
    memcpy(p + 8, img + LSWS_FW_HEADER_LEN + 2000, 500);
    memset(p + 8 + 500, 0, 100);
    put32(p + 4, lsws_crc32(lsws_crc32(0, p, 4), p + 8, 600));
    assert_int_equal(request(&d, LSWS_OP_FW_DATA, p, sizeof p), LSWS_ST_INVALID);
    assert_int_equal(running(&d), WS523_FW); /* still the old one */
    assert_int_equal(data(&d, img, 2000, 500, 0), LSWS_ST_OK);
    assert_int_equal(next_offset(&d), 2500);
    /* Verified and committed: the new version, then a reboot. */
    assert_int_equal(request(&d, LSWS_OP_FW_END, NULL, 0), LSWS_ST_OK);
    assert_int_equal(d.m.len, 2);
    assert_int_equal(d.m.payload[0] << 8 | d.m.payload[1], 0x0109);
    assert_int_equal(request(&d, LSWS_OP_READ, "\0\0", 2), LSWS_ST_AUTH_REQUIRED);
    assert_int_equal(running(&d), 0x0109);
    lsws_sim_free(d.sim);
    free(img);
    free(cth);
}

static char *temp_state(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/lsws-test-fw-%d-XXXXXX", (int)getpid());
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    close(fd);
    unlink(buf);
    return buf;
}

static void clean_state(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof p, "%s.lock", path);
    unlink(p);
    snprintf(p, sizeof p, "%s.fw", path);
    unlink(p);
}

static void staged_image_survives_restart(void **state)
{
    (void)state;
    char path[256], fwp[300];
    temp_state(path, sizeof path);
    snprintf(fwp, sizeof fwp, "%s.fw", path);
    size_t len;
    uint8_t *img = make_image(LSWS_MODEL_CTH01, 0x0102, 3000, &len);
    struct dev d;
    dev_open(&d, LSWS_MODEL_CTH01, path);
    assert_int_equal(begin(&d, img, 0), LSWS_ST_OK);
    assert_int_equal(data(&d, img, 0, 900, 0), LSWS_ST_OK);
    assert_int_equal(data(&d, img, 900, 900, 0), LSWS_ST_OK);
    lsws_sim_free(d.sim); /* the simulator goes away mid-transfer */
    /* The staged bytes are the image's, after the 64-byte staging header. */
    FILE *f = fopen(fwp, "rb");
    assert_non_null(f);
    uint8_t buf[4000];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, 64 + 1800);
    assert_memory_equal(buf + 64, img + LSWS_FW_HEADER_LEN, 1800);
    dev_open(&d, LSWS_MODEL_CTH01, path);
    assert_int_equal(begin(&d, img, 0), LSWS_ST_OK);
    assert_int_equal(next_offset(&d), 1800);
    assert_int_equal(data(&d, img, 1800, 900, 0), LSWS_ST_OK);
    assert_int_equal(data(&d, img, 2700, 300, 0), LSWS_ST_OK);
    assert_int_equal(request(&d, LSWS_OP_FW_END, NULL, 0), LSWS_ST_OK);
    assert_int_equal(access(fwp, F_OK), -1); /* committed: nothing staged */
    lsws_sim_free(d.sim);
    /* The new version is the unit's: it survives a restart too. */
    dev_open(&d, LSWS_MODEL_CTH01, path);
    assert_int_equal(running(&d), 0x0102);
    /* Another image discards a staged one. */
    size_t l2;
    uint8_t *next = make_image(LSWS_MODEL_CTH01, 0x0103, 2000, &l2);
    assert_int_equal(begin(&d, next, 0), LSWS_ST_OK);
    assert_int_equal(data(&d, next, 0, 1000, 0), LSWS_ST_OK);
    size_t l3;
    uint8_t *other = make_image(LSWS_MODEL_CTH01, 0x0104, 2000, &l3);
    assert_int_equal(begin(&d, other, 0), LSWS_ST_OK);
    assert_int_equal(next_offset(&d), 0);
    assert_int_equal(begin(&d, next, 0), LSWS_ST_OK);
    assert_int_equal(next_offset(&d), 0);
    lsws_sim_free(d.sim);
    free(img);
    free(next);
    free(other);
    clean_state(path);
}

/* The device's faults, applied through lsws_sim_serve as every transport does. */
static int serve(struct dev *d, const struct lsws_sim_faults *f, uint8_t op, const void *payload, size_t len,
                 unsigned *what)
{
    uint8_t req[LSWS_MSG_MAX];
    size_t n;
    assert_int_equal(lsws_msg_encode(++d->seq, op, -1, payload, len, req, sizeof req, &n), LSWS_OK);
    *what = lsws_sim_serve(d->sim, f, d->seq, req, n, d->resp, sizeof d->resp, &d->rlen, 1000);
    if (!d->rlen)
        return -1;
    assert_int_equal(lsws_msg_decode(d->resp, d->rlen, &d->m, NULL), LSWS_OK);
    return d->m.status;
}

static int serve_data(struct dev *d, const struct lsws_sim_faults *f, const uint8_t *img, uint32_t off, size_t n,
                      unsigned *what)
{
    uint8_t p[LSWS_MSG_MAX];
    put32(p, off);
    memcpy(p + 8, img + LSWS_FW_HEADER_LEN + off, n);
    put32(p + 4, lsws_crc32(lsws_crc32(0, p, 4), p + 8, n));
    return serve(d, f, LSWS_OP_FW_DATA, p, 8 + n, what);
}

static void device_faults(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = make_image(LSWS_MODEL_WS523, 0x0109, 2000, &len);
    struct lsws_sim_faults f;
    struct lsws_error err;
    struct dev d;
    unsigned what;
    lsws_error_clear(&err);
    memset(&f, 0, sizeof f);
    assert_int_equal(lsws_sim_fault_option(&f, "fw_corrupt", "2", &err), LSWS_OK);
    assert_int_equal(lsws_sim_fault_option(&f, "fw_drop_at", "1500", &err), LSWS_OK);
    assert_int_equal(lsws_sim_fault_option(&f, "fw-bad-checksum", "1", &err), LSWS_OK);
    assert_int_equal(lsws_sim_fault_option(&f, "fw_drop_at", "x", &err), LSWS_ERR_INVALID);
    assert_int_equal(lsws_sim_fault_option(&f, "fw_bad_checksum", "2", &err), LSWS_ERR_INVALID);
    assert_int_equal(lsws_sim_fault_option(&f, "fw_corrupt", "0", &err), LSWS_ERR_INVALID);
    dev_open(&d, LSWS_MODEL_WS523, NULL);
    uint8_t p[LSWS_FW_BEGIN_LEN];
    struct lsws_fw_header h;
    assert_int_equal(lsws_fw_header_parse(img, len, &h, NULL), LSWS_OK);
    lsws_fw_begin_encode(&h, 0, p);
    assert_int_equal(serve(&d, &f, LSWS_OP_FW_BEGIN, p, sizeof p, &what), LSWS_ST_OK);
    assert_int_equal(serve_data(&d, &f, img, 0, 700, &what), LSWS_ST_OK);
    /* The second FW_DATA arrives changed: refused, not stored. */
    assert_int_equal(serve_data(&d, &f, img, 700, 700, &what), LSWS_ST_CHECKSUM);
    assert_int_equal(next_offset(&d), 700);
    assert_int_equal(serve_data(&d, &f, img, 700, 700, &what), LSWS_ST_OK);
    /* The chunk carrying byte 1500 is lost with the link. */
    assert_int_equal(serve_data(&d, &f, img, 1400, 600, &what), -1);
    assert_int_equal(what, LSWS_SIM_DROPPED | LSWS_SIM_HANGUP);
    f.fw_drop = 0;
    assert_int_equal(serve_data(&d, &f, img, 1400, 600, &what), LSWS_ST_OK);
    /* The whole image's checksum is found wrong: discarded, old firmware. */
    assert_int_equal(serve(&d, &f, LSWS_OP_FW_END, NULL, 0, &what), LSWS_ST_CHECKSUM);
    assert_int_equal(next_offset(&d), 0);
    assert_int_equal(running(&d), WS523_FW);
    assert_int_equal(serve(&d, &f, LSWS_OP_FW_BEGIN, p, sizeof p, &what), LSWS_ST_OK);
    assert_int_equal(next_offset(&d), 0);
    /* Refused commit: verified, kept staged, old firmware; then committed. */
    f.fw_bad_checksum = 0;
    f.fw_refuse_commit = 1;
    assert_int_equal(serve_data(&d, &f, img, 0, 1000, &what), LSWS_ST_OK);
    assert_int_equal(serve_data(&d, &f, img, 1000, 1000, &what), LSWS_ST_OK);
    assert_int_equal(serve(&d, &f, LSWS_OP_FW_END, NULL, 0, &what), LSWS_ST_STORAGE);
    assert_int_equal(running(&d), WS523_FW);
    assert_int_equal(serve(&d, &f, LSWS_OP_FW_BEGIN, p, sizeof p, &what), LSWS_ST_OK);
    assert_int_equal(next_offset(&d), 2000);
    f.fw_refuse_commit = 0;
    assert_int_equal(serve(&d, &f, LSWS_OP_FW_END, NULL, 0, &what), LSWS_ST_OK);
    assert_int_equal(running(&d), 0x0109);
    lsws_sim_free(d.sim);
    free(img);
}

/* ---- the upgrade job over a fake link ----------------------------------------------- */

#define FRAMES 512
#define QUEUE 8 /* answers on their way back: as many requests as lsws keeps in flight */

struct fake {
    struct lsws_sim *sim;
    struct lsws_sim_faults faults;
    size_t link_max;
    unsigned frames, opens;
    int up;
    int cut[FRAMES];  /* the request is lost and the link drops */
    int lose[FRAMES]; /* the device acts, the answer is lost */
    uint8_t q[QUEUE][LSWS_MSG_MAX];
    size_t qlen[QUEUE], nq;
};

static struct fake F;

static int fake_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h, struct lsws_error *err)
{
    (void)uri;
    (void)opts;
    (void)err;
    F.opens++;
    F.up = 1;
    F.nq = 0;
    *h = &F;
    return LSWS_OK;
}

static void fake_close(void *h)
{
    (void)h;
    F.up = 0;
    lsws_sim_disconnect(F.sim);
}

static int fake_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    (void)h;
    if (!F.up)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "fake: link closed");
    unsigned n = ++F.frames, k = n < FRAMES ? n : 0;
    if (F.cut[k]) {
        F.up = 0;
        lsws_sim_disconnect(F.sim);
        return LSWS_OK;
    }
    uint8_t resp[LSWS_MSG_MAX];
    size_t rlen = 0;
    unsigned what = lsws_sim_serve(F.sim, &F.faults, n, msg, len, resp, sizeof resp, &rlen, 1000 + n);
    if (what & LSWS_SIM_HANGUP) {
        F.up = 0;
        lsws_sim_disconnect(F.sim);
        F.faults.fw_drop = 0; /* once */
    }
    if (!F.lose[k] && rlen && F.nq < QUEUE) {
        memcpy(F.q[F.nq], resp, rlen);
        F.qlen[F.nq++] = rlen;
    }
    return LSWS_OK;
}

static int fake_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    (void)h;
    (void)timeout_ms;
    if (!F.up)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "fake: link closed");
    if (!F.nq)
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "fake: nothing");
    assert_true(F.qlen[0] <= cap);
    memcpy(buf, F.q[0], F.qlen[0]);
    *len = F.qlen[0];
    memmove(F.q[0], F.q[1], sizeof F.q[0] * (QUEUE - 1));
    memmove(F.qlen, F.qlen + 1, sizeof F.qlen[0] * (QUEUE - 1));
    F.nq--;
    return LSWS_OK;
}

static void fake_limits(void *h, struct lsws_link_limits *out)
{
    (void)h;
    if (F.link_max)
        out->max_msg = F.link_max;
}

static const struct lsws_transport fake_transport = {
    .scheme = "fake", .open = fake_open, .close = fake_close, .send = fake_send,
    .recv = fake_recv, .limits = fake_limits, .timeout_ms = 20,
};

static struct lsws_client *start(enum lsws_model_id model, const char *state, struct lsws_device_info *info)
{
    struct lsws_sim_opts so = {.model = model, .state_path = state};
    struct lsws_error err;
    lsws_error_clear(&err);
    struct lsws_sim_faults keep = F.faults;
    size_t link_max = F.link_max;
    memset(&F, 0, sizeof F);
    F.faults = keep;
    F.link_max = link_max;
    if (lsws_sim_new(&so, &F.sim, &err) != LSWS_OK)
        fail_msg("sim: %s", err.msg);
    struct lsws_uri uri = {.text = "fake:unit", .transport = &fake_transport, .path = ""};
    struct lsws_client *c = NULL;
    if (lsws_client_open(&uri, NULL, &c, &err) != LSWS_OK)
        fail_msg("open: %s", err.msg);
    lsws_client_set_timeout(c, 20, 3);
    if (lsws_client_auth(c, "123456", info, &err) != LSWS_OK)
        fail_msg("auth: %s", err.msg);
    return c;
}

static void stop(struct lsws_client *c)
{
    lsws_client_close(c);
    lsws_sim_free(F.sim);
    F.sim = NULL;
    memset(&F.faults, 0, sizeof F.faults);
    F.link_max = 0;
}

static int stop_at;
static int stop_after(const struct lsws_upgrade *u, void *ctx)
{
    (void)ctx;
    return stop_at && u->chunks >= (unsigned)stop_at ? 7 : 0;
}

static void upgrade_job(void **state)
{
    (void)state;
    char path[256];
    temp_state(path, sizeof path);
    size_t len;
    uint8_t *img = make_image(LSWS_MODEL_WS523, 0x0109, 20000, &len);
    struct lsws_device_info info;
    struct lsws_upgrade *u;
    struct lsws_error err;
    lsws_error_clear(&err);

    /* Stopped by the caller after 5 chunks: interrupted, the old firmware. */
    struct lsws_client *c = start(LSWS_MODEL_WS523, path, &info);
    assert_int_equal(lsws_upgrade_plan(&info, img, len, 0, &u, &err), LSWS_OK);
    stop_at = 5;
    assert_int_equal(lsws_upgrade_run(c, u, stop_after, NULL, &err), 7);
    stop_at = 0;
    assert_int_equal(u->outcome, LSWS_UPG_INTERRUPTED);
    assert_int_equal(u->chunk, LSWS_MSG_MAX - 11);
    assert_int_equal(u->acked, 7 * u->chunk); /* and the two still in flight at the stop, answered */
    uint32_t held = u->acked;
    lsws_upgrade_free(u);
    assert_int_equal(lsws_client_identify(c, &info, &err), LSWS_OK);
    assert_int_equal(info.fw, WS523_FW);
    stop(c);

    /* Again, over a 64-byte link, with a link drop, a lost answer and a
     * corrupt chunk on the way: resumed where the unit stood, done. */
    F.link_max = 64;
    assert_int_equal(lsws_sim_fault_option(&F.faults, "fw_drop_at", "9000", &err), LSWS_OK);
    assert_int_equal(lsws_sim_fault_option(&F.faults, "fw_corrupt", "3", &err), LSWS_OK);
    c = start(LSWS_MODEL_WS523, path, &info);
    F.lose[10] = 1;
    assert_int_equal(lsws_upgrade_plan(&info, img, len, 0, &u, &err), LSWS_OK);
    int rc = lsws_upgrade_run(c, u, NULL, NULL, &err);
    if (rc != LSWS_OK)
        fail_msg("upgrade: %s", err.msg);
    assert_int_equal(u->outcome, LSWS_UPG_DONE);
    assert_int_equal(u->first_offset, held);
    assert_int_equal(u->chunk, 64 - 11);
    assert_int_equal(u->resent, 1);
    assert_int_equal(u->reconnects, 1);
    assert_int_equal(u->acked, 20000);
    assert_true(u->have_after);
    assert_int_equal(u->after.fw, 0x0109);
    lsws_upgrade_free(u);
    stop(c);

    /* The same image again: refused before anything is sent; forced, it goes. */
    c = start(LSWS_MODEL_WS523, path, &info);
    assert_int_equal(info.fw, 0x0109);
    assert_int_equal(lsws_upgrade_plan(&info, img, len, 0, &u, &err), LSWS_ERR_INVALID);
    assert_int_equal(u->outcome, LSWS_UPG_REFUSED);
    assert_int_equal(u->why, LSWS_FW_SAME);
    unsigned before = F.frames;
    assert_int_equal(lsws_upgrade_run(c, u, NULL, NULL, &err), LSWS_ERR_INVALID);
    assert_int_equal(F.frames, before);
    lsws_upgrade_free(u);
    assert_int_equal(lsws_upgrade_plan(&info, img, len, LSWS_FW_FORCE, &u, &err), LSWS_OK);
    assert_true(u->forced);
    assert_int_equal(lsws_upgrade_run(c, u, NULL, NULL, &err), LSWS_OK);
    assert_int_equal(u->outcome, LSWS_UPG_DONE);
    assert_int_equal(u->first_offset, 0);
    lsws_upgrade_free(u);
    stop(c);

    /* A refused commit and a failed verification leave the old firmware. */
    size_t l2;
    uint8_t *next = make_image(LSWS_MODEL_WS523, 0x0110, 3000, &l2);
    F.faults.fw_refuse_commit = 1;
    c = start(LSWS_MODEL_WS523, path, &info);
    assert_int_equal(lsws_upgrade_plan(&info, next, l2, 0, &u, &err), LSWS_OK);
    assert_int_equal(lsws_upgrade_run(c, u, NULL, NULL, &err), LSWS_ERR_DEVICE);
    assert_int_equal(u->outcome, LSWS_UPG_NOT_COMMITTED);
    assert_true(u->have_after);
    assert_int_equal(u->after.fw, 0x0109);
    lsws_upgrade_free(u);
    stop(c);
    F.faults.fw_bad_checksum = 1;
    c = start(LSWS_MODEL_WS523, path, &info);
    assert_int_equal(lsws_upgrade_plan(&info, next, l2, 0, &u, &err), LSWS_OK);
    assert_int_equal(lsws_upgrade_run(c, u, NULL, NULL, &err), LSWS_ERR_VERIFY);
    assert_int_equal(u->outcome, LSWS_UPG_CHECKSUM);
    assert_int_equal(u->first_offset, 3000); /* the refused commit kept it staged */
    assert_int_equal(u->chunks, 0);
    assert_int_equal(u->after.fw, 0x0109);
    lsws_upgrade_free(u);
    stop(c);
    /* The answer to FW_END is lost every time: the version the unit
     * reports after its reboot settles it. */
    size_t l4;
    uint8_t *later = make_image(LSWS_MODEL_WS523, 0x0111, 20000, &l4);
    c = start(LSWS_MODEL_WS523, path, &info);
    assert_int_equal(lsws_upgrade_plan(&info, later, l4, 0, &u, &err), LSWS_OK);
    unsigned frames = F.frames + 2 + (20000 + LSWS_MSG_MAX - 12) / (LSWS_MSG_MAX - 11);
    F.lose[frames] = F.lose[frames + 1] = F.lose[frames + 2] = 1;
    assert_int_equal(lsws_upgrade_run(c, u, NULL, NULL, &err), LSWS_OK);
    assert_int_equal(u->outcome, LSWS_UPG_DONE);
    assert_true(u->answer_lost);
    assert_int_equal(u->after.fw, 0x0111);
    lsws_upgrade_free(u);
    stop(c);
    free(later);
    /* A wrong model is refused by the plan, naming both. */
    size_t l3;
    uint8_t *cth = make_image(LSWS_MODEL_CTH01, 0x0109, 100, &l3);
    assert_int_equal(lsws_upgrade_plan(&info, cth, l3, LSWS_FW_FORCE, &u, &err), LSWS_ERR_MODEL);
    assert_non_null(strstr(err.msg, "cth01"));
    assert_non_null(strstr(err.msg, "ws523"));
    lsws_upgrade_free(u);
    /* A corrupt image is refused with no plan at all. */
    cth[LSWS_FW_HEADER_LEN] ^= 1;
    assert_int_equal(lsws_upgrade_plan(&info, cth, l3, 0, &u, &err), LSWS_ERR_MALFORMED);
    assert_null(u);
    free(cth);
    free(next);
    free(img);
    clean_state(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_round_trip),
        cmocka_unit_test(malformed_headers),
        cmocka_unit_test(whole_image_checks),
        cmocka_unit_test(versions),
        cmocka_unit_test(compatibility),
        cmocka_unit_test(fw_begin_payloads),
        cmocka_unit_test(device_transfer),
        cmocka_unit_test(staged_image_survives_restart),
        cmocka_unit_test(device_faults),
        cmocka_unit_test(upgrade_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
