/* BLE framing (lib/frame_ble.c, docs/protocol.md "BLE"): fragments that
 * fit the MTU, put back together, and every way a lost or stray fragment
 * shows up: the message is dropped with a clear error, never spliced. */
#include "test_util.h"

#include <stdio.h>

static void fill(uint8_t *m, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        m[i] = (uint8_t)(i * 31 + seed);
}

/* Fragments of msg at size frag, into frags[i] / flen[i]; returns the count. */
static size_t cut(const uint8_t *msg, size_t len, size_t frag, uint8_t frags[][LSWS_BLE_FRAG_MAX], size_t *flen)
{
    size_t n = lsws_ble_fragment_count(len, frag);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(lsws_ble_fragment(msg, len, frag, i, frags[i], &flen[i]), LSWS_OK);
    return n;
}

static uint8_t frags[128][LSWS_BLE_FRAG_MAX];
static size_t flen[128];

static void test_round_trip_every_length(void **state)
{
    (void)state;
    static const size_t sizes[] = {20, 21, 64, 182, 244, 514};
    uint8_t msg[LSWS_MSG_MAX];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t frag = sizes[s];
        struct lsws_ble_reasm r;
        lsws_ble_reasm_init(&r);
        for (size_t len = 1; len <= LSWS_MSG_MAX; len++) {
            fill(msg, len, (unsigned)len);
            size_t n = cut(msg, len, frag, frags, flen);
            /* Every fragment but the last is full; the header says where it is. */
            size_t total = 0;
            for (size_t i = 0; i < n; i++) {
                assert_true(flen[i] <= frag);
                if (i + 1 < n)
                    assert_int_equal(flen[i], frag);
                assert_int_equal(frags[i][0] & LSWS_BLE_INDEX, i);
                assert_int_equal(!!(frags[i][0] & LSWS_BLE_LAST), i + 1 == n);
                total += flen[i];
            }
            assert_int_equal(total, len + 2 + n); /* a header each, the length once */
            for (size_t i = 0; i < n; i++) {
                const uint8_t *out = NULL;
                size_t olen = 0;
                struct lsws_error err;
                lsws_error_clear(&err);
                int rc = lsws_ble_reasm_feed(&r, frags[i], flen[i], &out, &olen, &err);
                if (i + 1 < n) {
                    assert_int_equal(rc, 0);
                } else {
                    assert_int_equal(rc, 1);
                    assert_int_equal(olen, len);
                    assert_memory_equal(out, msg, len);
                }
            }
        }
        assert_int_equal(r.abandoned, 0);
    }
}

static void test_counts(void **state)
{
    (void)state;
    /* MTU 23: 17 bytes in the first fragment, 19 in each next one. */
    assert_int_equal(lsws_ble_fragment_count(17, 20), 1);
    assert_int_equal(lsws_ble_fragment_count(18, 20), 2);
    assert_int_equal(lsws_ble_fragment_count(36, 20), 2);
    assert_int_equal(lsws_ble_fragment_count(37, 20), 3);
    assert_int_equal(lsws_ble_fragment_count(LSWS_MSG_MAX, 20), 54);
    /* MTU 247: 241 then 243. */
    assert_int_equal(lsws_ble_fragment_count(241, 244), 1);
    assert_int_equal(lsws_ble_fragment_count(495, 244), 3);
    assert_int_equal(lsws_ble_fragment_count(LSWS_MSG_MAX, 244), 5);
    /* What cannot be sent. */
    assert_int_equal(lsws_ble_fragment_count(0, 20), 0);
    assert_int_equal(lsws_ble_fragment_count(LSWS_MSG_MAX + 1, 20), 0);
    assert_int_equal(lsws_ble_fragment_count(10, 19), 0);
    assert_int_equal(lsws_ble_fragment_count(10, 515), 0);
    uint8_t msg[4] = {1, 2, 3, 4}, out[LSWS_BLE_FRAG_MAX];
    size_t olen;
    assert_int_equal(lsws_ble_fragment(msg, 4, 20, 1, out, &olen), LSWS_ERR_RANGE);
    assert_int_equal(lsws_ble_fragment(msg, 0, 20, 0, out, &olen), LSWS_ERR_RANGE);
}

struct feed_result {
    int rc;
    size_t len;
    uint8_t msg[LSWS_MSG_MAX];
    char err[256];
};

static int feed(struct lsws_ble_reasm *r, const uint8_t *f, size_t len, struct feed_result *out)
{
    const uint8_t *m = NULL;
    size_t mlen = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    out->rc = lsws_ble_reasm_feed(r, f, len, &m, &mlen, &err);
    out->err[0] = '\0';
    if (out->rc == 1) {
        out->len = mlen;
        memcpy(out->msg, m, mlen);
    } else if (out->rc < 0) {
        assert_int_equal(err.code, out->rc);
        assert_true(err.msg[0] != '\0');
        snprintf(out->err, sizeof out->err, "%s", err.msg);
    }
    return out->rc;
}

/* A lost middle fragment drops the message; the next message comes through. */
static void test_lost_middle(void **state)
{
    (void)state;
    uint8_t a[60], b[10];
    fill(a, sizeof a, 1);
    fill(b, sizeof b, 2);
    struct lsws_ble_reasm r;
    struct feed_result res;
    lsws_ble_reasm_init(&r);
    size_t n = cut(a, sizeof a, 20, frags, flen);
    assert_int_equal(n, 4);
    assert_int_equal(feed(&r, frags[0], flen[0], &res), 0);
    assert_int_equal(feed(&r, frags[2], flen[2], &res), LSWS_ERR_TRUNCATED);
    assert_non_null(strstr(res.err, "fragment 2 came where 1 was due"));
    /* The rest of the broken message is refused too, not taken as a new one. */
    assert_int_equal(feed(&r, frags[3], flen[3], &res), LSWS_ERR_TRUNCATED);
    assert_non_null(strstr(res.err, "without the first fragment"));
    cut(b, sizeof b, 20, frags, flen);
    assert_int_equal(feed(&r, frags[0], flen[0], &res), 1);
    assert_int_equal(res.len, sizeof b);
    assert_memory_equal(res.msg, b, sizeof b);
}

/* A lost last fragment: the next message's first fragment starts over. */
static void test_lost_last(void **state)
{
    (void)state;
    uint8_t a[30], b[40];
    fill(a, sizeof a, 3);
    fill(b, sizeof b, 4);
    struct lsws_ble_reasm r;
    struct feed_result res;
    lsws_ble_reasm_init(&r);
    cut(a, sizeof a, 20, frags, flen);
    assert_int_equal(feed(&r, frags[0], flen[0], &res), 0);
    size_t n = cut(b, sizeof b, 20, frags, flen);
    for (size_t i = 0; i + 1 < n; i++)
        assert_int_equal(feed(&r, frags[i], flen[i], &res), 0);
    assert_int_equal(feed(&r, frags[n - 1], flen[n - 1], &res), 1);
    assert_memory_equal(res.msg, b, sizeof b);
    assert_int_equal(r.abandoned, 1);
}

/* The head of one message and the tail of another whose indices happen to
 * line up: the length tells them apart. */
static void test_splice_refused(void **state)
{
    (void)state;
    uint8_t a[70], b[50];
    static uint8_t fa[128][LSWS_BLE_FRAG_MAX], fb[128][LSWS_BLE_FRAG_MAX];
    size_t la[128], lb[128];
    fill(a, sizeof a, 5);
    fill(b, sizeof b, 6);
    assert_int_equal(cut(a, sizeof a, 20, fa, la), 4);
    assert_int_equal(cut(b, sizeof b, 20, fb, lb), 3);
    struct lsws_ble_reasm r;
    struct feed_result res;
    lsws_ble_reasm_init(&r);
    assert_int_equal(feed(&r, fa[0], la[0], &res), 0);
    assert_int_equal(feed(&r, fa[1], la[1], &res), 0);
    /* a[2], a[3], b[0], b[1] lost; b[2] has index 2, as a[2] would. */
    assert_int_equal(feed(&r, fb[2], lb[2], &res), LSWS_ERR_TRUNCATED);
    assert_non_null(strstr(res.err, "ended after"));
}

static void test_bad_fragments(void **state)
{
    (void)state;
    struct lsws_ble_reasm r;
    struct feed_result res;
    lsws_ble_reasm_init(&r);
    uint8_t f[LSWS_BLE_FRAG_MAX + 1] = {0};
    assert_int_equal(feed(&r, f, 0, &res), LSWS_ERR_TRUNCATED);
    f[0] = LSWS_BLE_LAST;
    assert_int_equal(feed(&r, f, 2, &res), LSWS_ERR_TRUNCATED); /* no length */
    f[1] = 0;
    f[2] = 0;
    assert_int_equal(feed(&r, f, 3, &res), LSWS_ERR_MALFORMED); /* length 0 */
    f[1] = (uint8_t)(LSWS_MSG_MAX + 1);
    f[2] = (uint8_t)((LSWS_MSG_MAX + 1) >> 8);
    assert_int_equal(feed(&r, f, 3, &res), LSWS_ERR_MALFORMED); /* too long */
    assert_non_null(strstr(res.err, "1025"));
    f[1] = 2;
    f[2] = 0;
    assert_int_equal(feed(&r, f, 6, &res), LSWS_ERR_MALFORMED); /* more than announced */
    f[0] = 0; /* not last, but complete */
    assert_int_equal(feed(&r, f, 5, &res), LSWS_ERR_MALFORMED);
    assert_non_null(strstr(res.err, "last-fragment mark"));
    assert_int_equal(feed(&r, f, LSWS_BLE_FRAG_MAX + 1, &res), LSWS_ERR_MALFORMED);
    f[0] = 5; /* stray */
    assert_int_equal(feed(&r, f, 4, &res), LSWS_ERR_TRUNCATED);
    /* And it still works afterwards. */
    uint8_t ok[4] = {LSWS_BLE_LAST, 1, 0, 0x42};
    assert_int_equal(feed(&r, ok, sizeof ok, &res), 1);
    assert_int_equal(res.len, 1);
    assert_int_equal(res.msg[0], 0x42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_length), cmocka_unit_test(test_counts),
        cmocka_unit_test(test_lost_middle),             cmocka_unit_test(test_lost_last),
        cmocka_unit_test(test_splice_refused),          cmocka_unit_test(test_bad_fragments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
