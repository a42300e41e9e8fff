/* The wire format between lsws and `lsws hold` (transports/hold_wire.c):
 * round trips of every op, and a table of malformed packets, each refused
 * with its code and the offset of the first wrong byte. Also the socket
 * key (transports/hold_path.c): the timeout option and option order do not
 * change it, anything else does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hold.h"

static void test_round_trips(void **state)
{
    (void)state;
    uint8_t pkt[HOLD_PACKET_MAX], msg[LSWS_MSG_MAX];
    memset(msg, 0xa5, sizeof msg);
    const struct hold_req reqs[] = {
        {HOLD_OPEN, -1, NULL, 0},  {HOLD_OPEN, 86400000, NULL, 0}, {HOLD_SEND, 0, msg, 1},
        {HOLD_SEND, 0, msg, LSWS_MSG_MAX}, {HOLD_RECV, 1000, NULL, 0}, {HOLD_PRESENT, 0, NULL, 0},
        {HOLD_WIRE, 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        size_t n = 0;
        struct hold_req r;
        assert_int_equal(hold_req_encode(&reqs[i], pkt, sizeof pkt, &n), LSWS_OK);
        assert_int_equal(hold_req_decode(pkt, n, &r, NULL), LSWS_OK);
        assert_int_equal(r.op, reqs[i].op);
        assert_int_equal(r.arg, reqs[i].arg);
        assert_int_equal(r.len, reqs[i].len);
        if (r.len)
            assert_memory_equal(r.payload, msg, r.len);
    }
    size_t n = 0;
    struct hold_resp resp;
    uint8_t open_answer[HOLD_OPEN_ANSWER] = {1, 2, 3, 4, 0, 4, 250, 0};
    assert_int_equal(hold_resp_encode(LSWS_OK, open_answer, sizeof open_answer, NULL, pkt, sizeof pkt, &n), LSWS_OK);
    assert_int_equal(hold_resp_decode(HOLD_OPEN, pkt, n, &resp, NULL), LSWS_OK);
    assert_int_equal(resp.len, HOLD_OPEN_ANSWER);
    assert_memory_equal(resp.payload, open_answer, HOLD_OPEN_ANSWER);
    /* An error: its text cut at the first byte that is not printable, and NUL-terminated. */
    assert_int_equal(hold_resp_encode(LSWS_ERR_BUSY, NULL, 0, "busy: held\nsecond line", pkt, sizeof pkt, &n), LSWS_OK);
    assert_int_equal(hold_resp_decode(HOLD_OPEN, pkt, n, &resp, NULL), LSWS_OK);
    assert_int_equal(resp.code, LSWS_ERR_BUSY);
    assert_string_equal(resp.text, "busy: held");
    char long_text[400];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    assert_int_equal(hold_resp_encode(LSWS_ERR_NODEV, NULL, 0, long_text, pkt, sizeof pkt, &n), LSWS_OK);
    assert_int_equal(hold_resp_decode(HOLD_RECV, pkt, n, &resp, NULL), LSWS_OK);
    assert_int_equal(strlen(resp.text), HOLD_TEXT_MAX);
    /* What the encoders refuse. */
    const struct hold_req bad_reqs[] = {
        {0, 0, NULL, 0}, {HOLD_SEND, 0, msg, 0}, {HOLD_SEND, 0, msg, LSWS_MSG_MAX + 1},
        {HOLD_OPEN, -2, NULL, 0}, {HOLD_RECV, 0, NULL, 0}, {HOLD_PRESENT, 0, msg, 1},
    };
    for (size_t i = 0; i < sizeof bad_reqs / sizeof bad_reqs[0]; i++)
        assert_int_equal(hold_req_encode(&bad_reqs[i], pkt, sizeof pkt, &n), LSWS_ERR_RANGE);
    assert_int_equal(hold_resp_encode(1, NULL, 0, NULL, pkt, sizeof pkt, &n), LSWS_ERR_RANGE);
    assert_int_equal(hold_resp_encode(LSWS_ERR_MIN - 1, NULL, 0, "x", pkt, sizeof pkt, &n), LSWS_ERR_RANGE);
}

struct bad_packet {
    const char *what;
    uint8_t op; /* for responses: the op answered; 0: a request */
    uint8_t bytes[16];
    size_t len;
    int code;
    size_t offset;
};

static const struct bad_packet bad_packets[] = {
    {"empty request", 0, {0}, 0, LSWS_ERR_TRUNCATED, 0},
    {"request header cut", 0, {HOLD_OPEN, 0, 0, 0, 0, 0, 0}, 7, LSWS_ERR_TRUNCATED, 7},
    {"unknown op", 0, {9, 0, 0, 0, 0, 0, 0, 0}, 8, LSWS_ERR_MALFORMED, 0},
    {"op 0", 0, {0, 0, 0, 0, 0, 0, 0, 0}, 8, LSWS_ERR_MALFORMED, 0},
    {"reserved byte set", 0, {HOLD_OPEN, 1, 0, 0, 0, 0, 0, 0}, 8, LSWS_ERR_MALFORMED, 1},
    {"length longer than the packet", 0, {HOLD_SEND, 0, 5, 0, 0, 0, 0, 0, 1, 2}, 10, LSWS_ERR_MALFORMED, 2},
    {"length shorter than the packet", 0, {HOLD_SEND, 0, 1, 0, 0, 0, 0, 0, 1, 2}, 10, LSWS_ERR_MALFORMED, 2},
    {"send without a message", 0, {HOLD_SEND, 0, 0, 0, 0, 0, 0, 0}, 8, LSWS_ERR_MALFORMED, 2},
    {"open with a payload", 0, {HOLD_OPEN, 0, 1, 0, 0, 0, 0, 0, 7}, 9, LSWS_ERR_MALFORMED, 2},
    {"open waiting -2 ms", 0, {HOLD_OPEN, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff}, 8, LSWS_ERR_MALFORMED, 4},
    {"recv with timeout 0", 0, {HOLD_RECV, 0, 0, 0, 0, 0, 0, 0}, 8, LSWS_ERR_MALFORMED, 4},
    {"recv with a negative timeout", 0, {HOLD_RECV, 0, 0, 0, 0, 0, 0, 0x80}, 8, LSWS_ERR_MALFORMED, 4},
    {"send with an argument", 0, {HOLD_SEND, 0, 1, 0, 1, 0, 0, 0, 7}, 9, LSWS_ERR_MALFORMED, 4},
    {"empty answer", HOLD_SEND, {0}, 0, LSWS_ERR_TRUNCATED, 0},
    {"answer header cut", HOLD_SEND, {0, 0, 0}, 3, LSWS_ERR_TRUNCATED, 3},
    {"positive code", HOLD_SEND, {1, 0, 0, 0}, 4, LSWS_ERR_MALFORMED, 0},
    {"code below the last error", HOLD_SEND, {(uint8_t)(LSWS_ERR_MIN - 1), 0, 0, 0}, 4, LSWS_ERR_MALFORMED, 0},
    {"answer reserved byte", HOLD_SEND, {0, 2, 0, 0}, 4, LSWS_ERR_MALFORMED, 1},
    {"answer length past the end", HOLD_RECV, {0, 0, 3, 0, 1, 2}, 6, LSWS_ERR_MALFORMED, 2},
    {"open answer too short", HOLD_OPEN, {0, 0, 4, 0, 1, 2, 3, 4}, 8, LSWS_ERR_MALFORMED, 2},
    {"empty message", HOLD_RECV, {0, 0, 0, 0}, 4, LSWS_ERR_MALFORMED, 2},
    {"wire answer too short", HOLD_WIRE, {0, 0, 1, 0, 1}, 5, LSWS_ERR_MALFORMED, 2},
    {"send answer with bytes", HOLD_SEND, {0, 0, 1, 0, 1}, 5, LSWS_ERR_MALFORMED, 2},
    {"error text with a NUL", HOLD_SEND, {(uint8_t)LSWS_ERR_NODEV, 0, 3, 0, 'a', 0, 'b'}, 7, LSWS_ERR_MALFORMED, 5},
    {"error text with a newline", HOLD_SEND, {(uint8_t)LSWS_ERR_NODEV, 0, 2, 0, 'a', '\n'}, 6, LSWS_ERR_MALFORMED, 5},
    {"answer to an unknown op", 7, {0, 0, 0, 0}, 4, LSWS_ERR_MALFORMED, SIZE_MAX},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_packets / sizeof bad_packets[0]; i++) {
        const struct bad_packet *b = &bad_packets[i];
        struct lsws_error err;
        lsws_error_clear(&err);
        struct hold_req r;
        struct hold_resp resp;
        int rc = b->op ? hold_resp_decode(b->op, b->bytes, b->len, &resp, &err)
                       : hold_req_decode(b->bytes, b->len, &r, &err);
        if (rc != b->code || err.offset != b->offset)
            fail_msg("%s: code %d offset %zu (%s), want %d at %zu", b->what, rc, err.offset, err.msg, b->code,
                     b->offset);
        assert_true(err.msg[0] != '\0');
    }
    /* An error text longer than HOLD_TEXT_MAX. */
    uint8_t pkt[HOLD_RESP_HEAD + HOLD_TEXT_MAX + 1];
    memset(pkt, 'x', sizeof pkt);
    pkt[0] = (uint8_t)LSWS_ERR_NODEV;
    pkt[1] = 0;
    pkt[2] = (uint8_t)(HOLD_TEXT_MAX + 1);
    pkt[3] = 0;
    struct hold_resp resp;
    assert_int_equal(hold_resp_decode(HOLD_OPEN, pkt, sizeof pkt, &resp, NULL), LSWS_ERR_MALFORMED);
}

static uint64_t key_of(const char *text)
{
    struct lsws_uri uri;
    assert_int_equal(lsws_uri_parse(text, &uri, NULL), LSWS_OK);
    return hold_key(&uri);
}

static void test_key(void **state)
{
    (void)state;
    uint64_t k = key_of("sim:ws523?sn=6762d21130962038&band=EU868");
    assert_true(k == key_of("sim:ws523?band=EU868&sn=6762d21130962038"));
    assert_true(k == key_of("sim:ws523?timeout=500&sn=6762d21130962038&band=EU868"));
    assert_true(k != key_of("sim:ws523?sn=6762d21130962039&band=EU868"));
    assert_true(k != key_of("sim:cth01?sn=6762d21130962038&band=EU868"));
    assert_true(key_of("sim:ws523") == key_of("sim:ws523?timeout=800"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
