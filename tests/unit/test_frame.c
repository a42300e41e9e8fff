/* Serial framing (lib/frame_serial.c, docs/protocol.md "Serial"): CRC,
 * byte stuffing, and a deframer that drops bad frames and recovers. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

/* What feeding produced: good messages in order, and the error codes of
 * dropped frames. */
struct fed {
    int good, bad;
    int codes[16];
    uint8_t msg[4][LSWS_MSG_MAX];
    size_t mlen[4];
    char last_err[256];
};

/* Feeds in[0..len) to d in pieces of at most chunk bytes, calling again
 * with the rest after every frame end, as a reader of a serial port does. */
static void feed_chunks(struct lsws_deframer *d, const uint8_t *in, size_t len, size_t chunk, struct fed *f)
{
    for (size_t off = 0; off < len;) {
        size_t n = len - off < chunk ? len - off : chunk;
        while (n > 0) {
            const uint8_t *msg = NULL;
            size_t used = 0, mlen = 0;
            struct lsws_error err;
            lsws_error_clear(&err);
            int rc = lsws_deframer_feed(d, in + off, n, &used, &msg, &mlen, &err);
            assert_true(used <= n);
            if (rc == 0)
                assert_int_equal(used, n);
            else
                assert_true(used >= 1);
            off += used;
            n -= used;
            if (rc == 1) {
                assert_true(f->good < 4);
                assert_true(mlen <= LSWS_MSG_MAX);
                memcpy(f->msg[f->good], msg, mlen);
                f->mlen[f->good++] = mlen;
            } else if (rc < 0) {
                assert_int_equal(err.code, rc);
                assert_true(err.msg[0] != '\0');
                snprintf(f->last_err, sizeof f->last_err, "%s", err.msg);
                assert_true(f->bad < 16);
                f->codes[f->bad++] = rc;
            }
        }
    }
}

static void feed_all(const uint8_t *in, size_t len, size_t chunk, struct fed *f)
{
    struct lsws_deframer d;
    lsws_deframer_init(&d);
    memset(f, 0, sizeof *f);
    feed_chunks(&d, in, len, chunk, f);
}

static size_t encode(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(lsws_frame_encode(msg, len, out, cap, &n), LSWS_OK);
    return n;
}

static void test_crc_check_value(void **state)
{
    (void)state;
    /* CRC-16/CCITT-FALSE: poly 0x1021, init 0xffff, no reflection, no xorout. */
    assert_int_equal(lsws_crc16((const uint8_t *)"123456789", 9), 0x29b1);
    assert_int_equal(lsws_crc16(NULL, 0), 0xffff);
    const uint8_t a[] = {0x01, 0x00, 0x01};
    assert_int_equal(lsws_crc16(a, sizeof a), 0xeb8d);
}

static void test_encode_vectors(void **state)
{
    (void)state;
    uint8_t out[64], want[64];
    /* Plain: flag, message, CRC little-endian, flag. */
    const uint8_t a[] = {0x01, 0x00, 0x01};
    size_t n = encode(a, sizeof a, out, sizeof out);
    assert_int_equal(n, hex_bytes("7e0100018deb7e", want, sizeof want));
    assert_memory_equal(out, want, n);
    /* 7e and 7d inside are stuffed as 7d 5e and 7d 5d. */
    const uint8_t b[] = {0x7e, 0x7d, 0x01};
    n = encode(b, sizeof b, out, sizeof out);
    assert_int_equal(n, hex_bytes("7e7d5e7d5d01b1617e", want, sizeof want));
    assert_memory_equal(out, want, n);
    /* So are CRC bytes: crc16(01 37 dd) = 0x7d7e. */
    const uint8_t c[] = {0x01, 0x37, 0xdd};
    n = encode(c, sizeof c, out, sizeof out);
    assert_int_equal(n, hex_bytes("7e0137dd7d5e7d5d7e", want, sizeof want));
    assert_memory_equal(out, want, n);
    /* Nothing between the flags is ever a flag. */
    for (size_t i = 1; i + 1 < n; i++)
        assert_int_not_equal(out[i], 0x7e);
}

static void test_encode_bounds(void **state)
{
    (void)state;
    static uint8_t msg[LSWS_MSG_MAX + 1], out[LSWS_FRAME_MAX + 8];
    size_t n = 0;
    /* Worst case (every byte stuffed, CRC too) fits LSWS_FRAME_MAX. */
    memset(msg, 0x7e, sizeof msg);
    uint16_t crc = lsws_crc16(msg, LSWS_MSG_MAX);
    assert_int_equal(lsws_frame_encode(msg, LSWS_MSG_MAX, out, LSWS_FRAME_MAX, &n), LSWS_OK);
    size_t want = 2 + 2 * LSWS_MSG_MAX + ((crc & 0xff) == 0x7e || (crc & 0xff) == 0x7d ? 2 : 1) +
                  ((crc >> 8) == 0x7e || (crc >> 8) == 0x7d ? 2 : 1);
    assert_int_equal(n, want);
    assert_true(n <= LSWS_FRAME_MAX);
    /* Too long a message, and every buffer one byte too small. */
    assert_int_equal(lsws_frame_encode(msg, LSWS_MSG_MAX + 1, out, sizeof out, &n), LSWS_ERR_RANGE);
    const uint8_t b[] = {0x7e, 0x7d, 0x01};
    size_t need = encode(b, sizeof b, out, sizeof out);
    for (size_t cap = 0; cap < need; cap++)
        assert_int_equal(lsws_frame_encode(b, sizeof b, out, cap, &n), LSWS_ERR_RANGE);
    assert_int_equal(lsws_frame_encode(b, sizeof b, out, need, &n), LSWS_OK);
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    const uint8_t msg[] = {0x01, 0x07, 0x03, 0x7e, 0x00, 0x7d, 0x11, 0x13, 0xff};
    uint8_t frame[64];
    size_t n = encode(msg, sizeof msg, frame, sizeof frame);
    struct lsws_deframer d;
    lsws_deframer_init(&d);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *m = NULL;
        size_t used = 0, mlen = 0;
        int rc = lsws_deframer_feed(&d, frame + i, 1, &used, &m, &mlen, NULL);
        assert_int_equal(used, 1);
        if (i + 1 < n) {
            assert_int_equal(rc, 0); /* nothing until the closing flag */
        } else {
            assert_int_equal(rc, 1);
            assert_int_equal(mlen, sizeof msg);
            assert_memory_equal(m, msg, sizeof msg);
        }
    }
}

static void test_noise_and_flags(void **state)
{
    (void)state;
    uint8_t buf[256], frame[64];
    const uint8_t msg[] = {0x01, 0x02, 0x81, 0x00, 0xaa};
    size_t fn = encode(msg, sizeof msg, frame, sizeof frame);
    struct fed f;

    /* Noise (including a stray escape) before the first flag is skipped. */
    size_t n = hex_bytes("00ff7d5e417d", buf, sizeof buf);
    memcpy(buf + n, frame, fn);
    feed_all(buf, n + fn, 1, &f);
    assert_int_equal(f.good, 1);
    assert_int_equal(f.bad, 0);
    assert_memory_equal(f.msg[0], msg, sizeof msg);

    /* Back-to-back flags are idle, not frames; frames may share a flag. */
    n = hex_bytes("7e7e7e", buf, sizeof buf);
    memcpy(buf + n, frame, fn);
    n += fn;
    memcpy(buf + n, frame + 1, fn - 1); /* the previous closing flag opens it */
    n += fn - 1;
    buf[n++] = 0x7e;
    buf[n++] = 0x7e;
    for (size_t chunk = 1; chunk <= n; chunk++) {
        feed_all(buf, n, chunk, &f);
        assert_int_equal(f.good, 2);
        assert_int_equal(f.bad, 0);
        assert_memory_equal(f.msg[1], msg, sizeof msg);
    }

    /* Noise between frames becomes a frame of its own, dropped; the next
     * frame still arrives. */
    memcpy(buf, frame, fn);
    n = fn;
    n += hex_bytes("4142", buf + n, sizeof buf - n);
    memcpy(buf + n, frame, fn);
    n += fn;
    feed_all(buf, n, 3, &f);
    assert_int_equal(f.good, 2);
    assert_int_equal(f.bad, 1);
    assert_int_equal(f.codes[0], LSWS_ERR_TRUNCATED);
}

static void test_two_frames_one_buffer(void **state)
{
    (void)state;
    const uint8_t a[] = {0x01, 0x01, 0x01}, b[] = {0x01, 0x02, 0x02, 0x7d};
    uint8_t buf[64];
    size_t na = encode(a, sizeof a, buf, sizeof buf);
    size_t nb = encode(b, sizeof b, buf + na, sizeof buf - na);
    struct lsws_deframer d;
    lsws_deframer_init(&d);
    const uint8_t *m = NULL;
    size_t used = 0, mlen = 0;
    /* The call stops at the end of the first frame and says how far it got. */
    assert_int_equal(lsws_deframer_feed(&d, buf, na + nb, &used, &m, &mlen, NULL), 1);
    assert_int_equal(used, na);
    assert_int_equal(mlen, sizeof a);
    assert_memory_equal(m, a, sizeof a);
    assert_int_equal(lsws_deframer_feed(&d, buf + used, na + nb - used, &used, &m, &mlen, NULL), 1);
    assert_int_equal(used, nb);
    assert_int_equal(mlen, sizeof b);
    assert_memory_equal(m, b, sizeof b);
}

static void test_too_short(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct fed f;
    /* Two bytes of message and a correct CRC: shorter than a header. */
    const uint8_t two[] = {0x01, 0x02};
    size_t n = encode(two, sizeof two, buf, sizeof buf);
    feed_all(buf, n, 1, &f);
    assert_int_equal(f.good, 0);
    assert_int_equal(f.bad, 1);
    assert_int_equal(f.codes[0], LSWS_ERR_TRUNCATED);
    assert_non_null(strstr(f.last_err, "too short"));
    /* A single byte between flags. */
    n = hex_bytes("7e017e", buf, sizeof buf);
    feed_all(buf, n, 2, &f);
    assert_int_equal(f.bad, 1);
    assert_int_equal(f.codes[0], LSWS_ERR_TRUNCATED);
    /* The shortest legal frame: a 3-byte header and the CRC. */
    const uint8_t three[] = {0x01, 0x00, 0x01};
    n = encode(three, sizeof three, buf, sizeof buf);
    feed_all(buf, n, 1, &f);
    assert_int_equal(f.good, 1);
    assert_int_equal(f.bad, 0);
}

static void test_bad_crc_then_recovery(void **state)
{
    (void)state;
    const uint8_t msg[] = {0x01, 0x05, 0x83, 0x00, 0x10, 0x20};
    uint8_t buf[128];
    size_t n = encode(msg, sizeof msg, buf, sizeof buf);
    for (size_t i = 1; i + 1 < n; i++) {
        uint8_t bad[128];
        memcpy(bad, buf, n);
        bad[i] ^= 0x01; /* one flipped bit anywhere inside the frame */
        if (bad[i] == 0x7e || bad[i] == 0x7d || buf[i] == 0x7d)
            continue;
        memcpy(bad + n, buf, n);
        struct fed f;
        feed_all(bad, 2 * n, 5, &f);
        assert_int_equal(f.bad, 1);
        assert_int_equal(f.codes[0], LSWS_ERR_MALFORMED);
        assert_non_null(strstr(f.last_err, "CRC"));
        assert_int_equal(f.good, 1);
        assert_memory_equal(f.msg[0], msg, sizeof msg);
    }
}

static void test_overlong_then_recovery(void **state)
{
    (void)state;
    static uint8_t msg[LSWS_MSG_MAX + 1], buf[2 * LSWS_FRAME_MAX + 64];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 1);

    /* LSWS_MSG_MAX bytes plus CRC (LSWS_MSG_MAX + 2) is the longest accepted. */
    size_t n = encode(msg, LSWS_MSG_MAX, buf, sizeof buf);
    struct fed f;
    feed_all(buf, n, 100, &f);
    assert_int_equal(f.good, 1);
    assert_int_equal(f.mlen[0], LSWS_MSG_MAX);
    assert_memory_equal(f.msg[0], msg, LSWS_MSG_MAX);

    /* One more byte (with a valid CRC over it) is dropped, and so is a
     * long run of noise; the frames after them arrive. */
    uint16_t crc = lsws_crc16(msg, LSWS_MSG_MAX + 1);
    n = 0;
    buf[n++] = 0x7e;
    for (size_t i = 0; i < LSWS_MSG_MAX + 1; i++) {
        if (msg[i] == 0x7e || msg[i] == 0x7d) {
            buf[n++] = 0x7d;
            buf[n++] = msg[i] ^ 0x20;
        } else {
            buf[n++] = msg[i];
        }
    }
    uint8_t c[2] = {(uint8_t)crc, (uint8_t)(crc >> 8)};
    for (int i = 0; i < 2; i++) {
        if (c[i] == 0x7e || c[i] == 0x7d) {
            buf[n++] = 0x7d;
            buf[n++] = c[i] ^ 0x20;
        } else {
            buf[n++] = c[i];
        }
    }
    buf[n++] = 0x7e;
    const uint8_t small[] = {0x01, 0x09, 0x81, 0x00};
    n += encode(small, sizeof small, buf + n, sizeof buf - n);
    memset(buf + n, 0x55, 3000); /* inside a frame: the last flag opened one */
    n += 3000;
    n += encode(small, sizeof small, buf + n, sizeof buf - n);
    for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
        feed_all(buf, n, chunk, &f);
        assert_int_equal(f.bad, 2);
        assert_int_equal(f.codes[0], LSWS_ERR_RANGE);
        assert_int_equal(f.codes[1], LSWS_ERR_RANGE);
        assert_non_null(strstr(f.last_err, "longer than 1026 bytes"));
        assert_int_equal(f.good, 2);
        assert_int_equal(f.mlen[1], sizeof small);
        assert_memory_equal(f.msg[1], small, sizeof small);
    }
}

static void test_escape_at_end(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct fed f;
    /* 7d right before the closing flag: the frame is dropped, and the flag
     * still ends it, so the next frame is intact. */
    size_t n = hex_bytes("7e0100018deb7d7e", buf, sizeof buf);
    n += hex_bytes("0100018deb7e", buf + n, sizeof buf - n);
    feed_all(buf, n, 1, &f);
    assert_int_equal(f.bad, 1);
    assert_int_equal(f.codes[0], LSWS_ERR_MALFORMED);
    assert_non_null(strstr(f.last_err, "escape"));
    assert_int_equal(f.good, 1);
    assert_int_equal(f.mlen[0], 3);
    /* An escape split across two feeds is still one escaped byte. */
    const uint8_t msg[] = {0x7d, 0x7e, 0x7d};
    n = encode(msg, sizeof msg, buf, sizeof buf);
    feed_all(buf, n, 1, &f);
    assert_int_equal(f.good, 1);
    assert_memory_equal(f.msg[0], msg, sizeof msg);
}

static void test_random_round_trip(void **state)
{
    (void)state;
    static uint8_t msg[LSWS_MSG_MAX], frame[LSWS_FRAME_MAX];
    srand(1234);
    for (int round = 0; round < 500; round++) {
        size_t len = 3 + (size_t)rand() % (LSWS_MSG_MAX - 2);
        int special = rand() % 4; /* sometimes mostly flags and escapes */
        for (size_t i = 0; i < len; i++)
            msg[i] = special == 0 ? (uint8_t)(0x7d + rand() % 2) : (uint8_t)rand();
        size_t n = encode(msg, len, frame, sizeof frame);
        struct fed f;
        feed_all(frame, n, 1 + (size_t)rand() % 64, &f);
        assert_int_equal(f.bad, 0);
        assert_int_equal(f.good, 1);
        assert_int_equal(f.mlen[0], len);
        assert_memory_equal(f.msg[0], msg, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_check_value),
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_encode_bounds),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_noise_and_flags),
        cmocka_unit_test(test_two_frames_one_buffer),
        cmocka_unit_test(test_too_short),
        cmocka_unit_test(test_bad_crc_then_recovery),
        cmocka_unit_test(test_overlong_then_recovery),
        cmocka_unit_test(test_escape_at_end),
        cmocka_unit_test(test_random_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
