/* The NFC APDU framing (lib/frame_nfc.c): the host's commands and the
 * card's side, table tests with malformed input, and round trips of every
 * message size through every fragment size. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

static size_t feed(struct lsws_nfc_card *c, const char *hex, uint8_t *out, int *what)
{
    uint8_t apdu[300];
    size_t n = hex_bytes(hex, apdu, sizeof apdu), olen = 0;
    *what = lsws_nfc_card_feed(c, apdu, n, out, LSWS_APDU_RESP_MAX, &olen);
    return olen;
}

static unsigned sw_of(const uint8_t *r, size_t n)
{
    assert_true(n >= 2);
    return (unsigned)r[n - 2] << 8 | r[n - 1];
}

static void parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int rc;
        size_t lc;
        int has_le;
        unsigned le;
    } rows[] = {
        {"", LSWS_ERR_TRUNCATED, 0, 0, 0},
        {"8010", LSWS_ERR_TRUNCATED, 0, 0, 0},
        {"801000", LSWS_ERR_TRUNCATED, 0, 0, 0},
        {"80100001", LSWS_OK, 0, 0, 0},             /* case 1 */
        {"8012010000", LSWS_OK, 0, 1, 256},         /* case 2, Le 00 = 256 */
        {"801201007f", LSWS_OK, 0, 1, 127},
        {"8010000003aabbcc", LSWS_OK, 3, 0, 0},     /* case 3 */
        {"8010000103aabbcc00", LSWS_OK, 3, 1, 256}, /* case 4 */
        {"8010000003aabb", LSWS_ERR_TRUNCATED, 0, 0, 0},
        {"8010000003aabbcc0000", LSWS_ERR_MALFORMED, 0, 0, 0},
        {"80100000000100", LSWS_ERR_MALFORMED, 0, 0, 0}, /* extended length */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t b[32];
        size_t n = rows[i].hex[0] ? hex_bytes(rows[i].hex, b, sizeof b) : 0;
        struct lsws_apdu a;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_apdu_parse(b, n, &a, &err);
        if (rc != rows[i].rc)
            fail_msg("'%s': %d, want %d (%s)", rows[i].hex, rc, rows[i].rc, err.msg);
        if (rc == LSWS_OK) {
            assert_int_equal(a.lc, rows[i].lc);
            assert_int_equal(a.has_le, rows[i].has_le);
            assert_int_equal(a.le, rows[i].le);
        } else {
            assert_true(err.msg[0] != '\0');
        }
    }
}

static void host_commands(void **state)
{
    (void)state;
    uint8_t b[LSWS_APDU_CMD_MAX], want[32];
    size_t n = 0;
    assert_int_equal(lsws_apdu_select(b, sizeof b, &n), LSWS_OK);
    assert_int_equal(n, hex_bytes("00a4040006f04c5357530100", want, sizeof want));
    assert_memory_equal(b, want, n);
    assert_int_equal(lsws_apdu_select(b, 5, &n), LSWS_ERR_RANGE);
    assert_int_equal(lsws_apdu_more(3, b, sizeof b, &n), LSWS_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(b, "\x80\x12\x03\x00\x00", 5);
    assert_int_equal(lsws_apdu_more(0, b, sizeof b, &n), LSWS_ERR_RANGE);
    assert_int_equal(lsws_apdu_fragments(0, 250), 1);
    assert_int_equal(lsws_apdu_fragments(250, 250), 1);
    assert_int_equal(lsws_apdu_fragments(251, 250), 2);
    assert_int_equal(lsws_apdu_fragments(1024, 16), 64);
    /* The last fragment asks for the response (Le 00); others do not. */
    uint8_t msg[40];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)i;
    assert_int_equal(lsws_apdu_message(msg, 40, 16, 0, b, sizeof b, &n), LSWS_OK);
    assert_int_equal(n, 5 + 16);
    assert_memory_equal(b, "\x80\x10\x00\x00\x10", 5);
    assert_int_equal(lsws_apdu_message(msg, 40, 16, 2, b, sizeof b, &n), LSWS_OK);
    assert_int_equal(n, 5 + 8 + 1);
    assert_memory_equal(b, "\x80\x10\x02\x01\x08", 5);
    assert_int_equal(b[n - 1], 0x00);
    assert_int_equal(lsws_apdu_message(msg, 40, 16, 3, b, sizeof b, &n), LSWS_ERR_RANGE);
    assert_int_equal(lsws_apdu_message(msg, 0, 16, 0, b, sizeof b, &n), LSWS_ERR_RANGE);
    assert_int_equal(lsws_apdu_message(msg, 40, 251, 0, b, sizeof b, &n), LSWS_ERR_RANGE);
    assert_int_equal(lsws_apdu_message(msg, 40, 16, 0, b, 10, &n), LSWS_ERR_RANGE);
    /* Answers: the data and the status word. */
    const uint8_t *data;
    size_t dlen;
    unsigned sw;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_apdu_response((const uint8_t *)"\x01\x02\x61\x05", 4, &data, &dlen, &sw, &err), LSWS_OK);
    assert_int_equal(dlen, 2);
    assert_int_equal(sw, 0x6105);
    assert_string_equal(lsws_sw_text(sw), "more data");
    assert_int_equal(lsws_apdu_response((const uint8_t *)"\x90", 1, &data, &dlen, &sw, &err), LSWS_ERR_TRUNCATED);
}

static void select_answers(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int rc;
    } rows[] = {
        {"010004fa", LSWS_OK},
        {"014000fa", LSWS_OK},          /* 64 bytes, the smallest */
        {"010004", LSWS_ERR_TRUNCATED},
        {"020004fa", LSWS_ERR_PROTOCOL}, /* another version */
        {"013f00fa", LSWS_ERR_PROTOCOL}, /* 63 bytes */
        {"010104fa", LSWS_ERR_PROTOCOL}, /* 1025 bytes */
        {"0100040f", LSWS_ERR_PROTOCOL}, /* fragment 15 */
        {"010004fb", LSWS_ERR_PROTOCOL}, /* fragment 251 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t b[8];
        size_t n = hex_bytes(rows[i].hex, b, sizeof b);
        struct lsws_nfc_app app;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_nfc_select_decode(b, n, &app, &err);
        if (rc != rows[i].rc)
            fail_msg("'%s': %d, want %d (%s)", rows[i].hex, rc, rows[i].rc, err.msg);
    }
}

static void card_refusals(void **state)
{
    (void)state;
    struct lsws_nfc_card c;
    uint8_t out[LSWS_APDU_RESP_MAX];
    int what;
    size_t n;
    lsws_nfc_card_init(&c, 1024, 250);
    /* Nothing works before SELECT. */
    n = feed(&c, "8010000103aabbcc00", out, &what);
    assert_int_equal(what, LSWS_CARD_REPLY);
    assert_int_equal(sw_of(out, n), LSWS_SW_NOT_ALLOWED);
    n = feed(&c, "00a4040006f04c53575302", out, &what); /* another AID */
    assert_int_equal(sw_of(out, n), LSWS_SW_NOT_FOUND);
    n = feed(&c, "00a4040106f04c53575301", out, &what); /* by name, P2 01 */
    assert_int_equal(sw_of(out, n), LSWS_SW_WRONG_P1P2);
    n = feed(&c, "00a4040006f04c5357530100", out, &what);
    assert_int_equal(what, LSWS_CARD_SELECTED);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "\x01\x00\x04\xfa\x90\x00", 6);
    /* Malformed, foreign class and instruction. */
    n = feed(&c, "801000", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_WRONG_LENGTH);
    n = feed(&c, "00b0000000", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_CLA);
    n = feed(&c, "80ee000000", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_INS);
    /* Out of order: fragment 1 first; then a jump from 0 to 2. */
    n = feed(&c, "8010010003aabbcc", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_WRONG_P1P2);
    n = feed(&c, "8010000003aabbcc", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_OK);
    n = feed(&c, "8010020103ddeeff00", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_WRONG_P1P2);
    /* ... and the partial message was dropped: fragment 1 is out of order now. */
    n = feed(&c, "8010010103ddeeff00", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_WRONG_P1P2);
    /* P2 other than 00/01. */
    n = feed(&c, "8010000203aabbcc", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_WRONG_P1P2);
    /* GET MORE with nothing to continue. */
    n = feed(&c, "8012010000", out, &what);
    assert_int_equal(sw_of(out, n), LSWS_SW_NOT_ALLOWED);
}

static void card_limits(void **state)
{
    (void)state;
    struct lsws_nfc_card c;
    uint8_t out[LSWS_APDU_RESP_MAX], apdu[LSWS_APDU_CMD_MAX], msg[LSWS_MSG_MAX] = {0};
    int what;
    size_t n;
    lsws_nfc_card_init(&c, 64, 16); /* the smallest a card may announce */
    feed(&c, "00a4040006f04c5357530100", out, &what);
    /* A fragment longer than announced. */
    assert_int_equal(lsws_apdu_message(msg, 17, 17, 0, apdu, sizeof apdu, &n), LSWS_OK);
    assert_int_equal(lsws_nfc_card_feed(&c, apdu, n, out, sizeof out, &n), LSWS_CARD_REPLY);
    assert_int_equal(sw_of(out, n), LSWS_SW_WRONG_LENGTH);
    /* A message longer than announced: refused at the fragment that passes 64. */
    int refused = 0;
    for (unsigned i = 0; i < 5 && !refused; i++) {
        size_t alen;
        lsws_apdu_message(msg, 80, 16, i, apdu, sizeof apdu, &alen);
        assert_int_equal(lsws_nfc_card_feed(&c, apdu, alen, out, sizeof out, &n), LSWS_CARD_REPLY);
        if (sw_of(out, n) == LSWS_SW_WRONG_LENGTH)
            refused = (int)i + 1;
        else
            assert_int_equal(sw_of(out, n), LSWS_SW_OK);
    }
    assert_int_equal(refused, 5);
    /* Limits are clamped. */
    lsws_nfc_card_init(&c, 10, 1000);
    assert_int_equal(c.max_msg, LSWS_MSG_MIN);
    assert_int_equal(c.fragment, LSWS_APDU_FRAGMENT_MAX);
}

/* Every message length through several fragment sizes: what the card
 * assembles is the message; a response of every length comes back whole
 * through GET MORE; lost answers repeated change nothing. */
static void round_trips(void **state)
{
    (void)state;
    static const size_t frags[] = {16, 17, 24, 100, 249, 250};
    uint8_t msg[LSWS_MSG_MAX], resp[LSWS_MSG_MAX], got[LSWS_MSG_MAX];
    uint8_t apdu[LSWS_APDU_CMD_MAX], out[LSWS_APDU_RESP_MAX];
    unsigned seed = 1;
    for (size_t fi = 0; fi < sizeof frags / sizeof frags[0]; fi++) {
        size_t frag = frags[fi];
        struct lsws_nfc_card c;
        lsws_nfc_card_init(&c, LSWS_MSG_MAX, frag);
        int what;
        feed(&c, "00a4040006f04c5357530100", out, &what);
        assert_int_equal(what, LSWS_CARD_SELECTED);
        for (size_t len = 1; len <= LSWS_MSG_MAX; len += len < 300 ? 1 : 37) {
            for (size_t i = 0; i < len; i++)
                msg[i] = (uint8_t)(seed = seed * 1103515245u + 12345u) >> 3;
            size_t nf = lsws_apdu_fragments(len, frag), n = 0;
            for (unsigned k = 0; k < nf; k++) {
                assert_int_equal(lsws_apdu_message(msg, len, frag, k, apdu, sizeof apdu, &n), LSWS_OK);
                /* Every other fragment but the last is sent twice (its answer "lost"). */
                int copies = k + 1 < nf && k % 2 ? 2 : 1;
                for (int copy = 0; copy < copies; copy++) {
                    size_t olen;
                    what = lsws_nfc_card_feed(&c, apdu, n, out, sizeof out, &olen);
                    if (k + 1 < nf) {
                        assert_int_equal(what, LSWS_CARD_REPLY);
                        assert_int_equal(olen, 2);
                        assert_int_equal(sw_of(out, olen), LSWS_SW_OK);
                    } else {
                        assert_int_equal(what, LSWS_CARD_MESSAGE);
                    }
                }
            }
            assert_int_equal(c.len, len);
            assert_memory_equal(c.msg, msg, len);
            /* The response: as long as the request, reversed. */
            for (size_t i = 0; i < len; i++)
                resp[i] = msg[len - 1 - i];
            size_t olen, gl = 0;
            lsws_nfc_card_answer(&c, resp, len, out, sizeof out, &olen);
            for (unsigned more = 1;; more++) {
                const uint8_t *data;
                size_t dlen;
                unsigned sw;
                assert_int_equal(lsws_apdu_response(out, olen, &data, &dlen, &sw, NULL), LSWS_OK);
                assert_true(dlen <= frag);
                memcpy(got + gl, data, dlen);
                gl += dlen;
                if (sw == LSWS_SW_OK)
                    break;
                assert_int_equal(sw & 0xff00, LSWS_SW_MORE);
                assert_int_equal(sw & 0xff, len - gl > 255 ? 0 : len - gl);
                size_t alen;
                lsws_apdu_more(more, apdu, sizeof apdu, &alen);
                if (more == 1) { /* asked twice: the same bytes */
                    uint8_t first[LSWS_APDU_RESP_MAX];
                    size_t fl;
                    lsws_nfc_card_feed(&c, apdu, alen, first, sizeof first, &fl);
                    assert_int_equal(lsws_nfc_card_feed(&c, apdu, alen, out, sizeof out, &olen), LSWS_CARD_REPLY);
                    assert_int_equal(fl, olen);
                    assert_memory_equal(first, out, fl);
                } else {
                    assert_int_equal(lsws_nfc_card_feed(&c, apdu, alen, out, sizeof out, &olen), LSWS_CARD_REPLY);
                }
            }
            assert_int_equal(gl, len);
            assert_memory_equal(got, resp, len);
            /* Past the end: nothing to continue. */
            size_t alen;
            lsws_apdu_more((unsigned)lsws_apdu_fragments(len, frag), apdu, sizeof apdu, &alen);
            if (lsws_apdu_fragments(len, frag) <= 255) {
                lsws_nfc_card_feed(&c, apdu, alen, out, sizeof out, &olen);
                assert_int_equal(sw_of(out, olen), LSWS_SW_NOT_ALLOWED);
            }
        }
    }
}

/* Arbitrary bytes never crash the card, and every answer is a status word
 * plus at most a fragment of data. */
static void card_noise(void **state)
{
    (void)state;
    struct lsws_nfc_card c;
    uint8_t in[300], out[LSWS_APDU_RESP_MAX];
    unsigned seed = 7;
    lsws_nfc_card_init(&c, 200, 40);
    for (int round = 0; round < 20000; round++) {
        size_t n = (seed = seed * 1103515245u + 12345u) >> 16 & 0x1ff;
        if (n > sizeof in)
            n = sizeof in;
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
        if (round % 3 == 0 && n >= 2) { /* often one of ours */
            in[0] = round % 6 ? 0x80 : 0x00;
            in[1] = round % 6 ? (round % 4 ? 0x10 : 0x12) : 0xa4;
        }
        if (round % 50 == 0) { /* and selected now and then */
            int what;
            feed(&c, "00a4040006f04c5357530100", out, &what);
        }
        size_t olen = 0;
        int what = lsws_nfc_card_feed(&c, in, n, out, sizeof out, &olen);
        if (what == LSWS_CARD_MESSAGE) {
            assert_true(c.len >= 1 && c.len <= 200);
            lsws_nfc_card_answer(&c, c.msg, c.len, out, sizeof out, &olen);
        }
        assert_true(olen >= 2 && olen <= 40 + 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_table),   cmocka_unit_test(host_commands), cmocka_unit_test(select_answers),
        cmocka_unit_test(card_refusals), cmocka_unit_test(card_limits),   cmocka_unit_test(round_trips),
        cmocka_unit_test(card_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
