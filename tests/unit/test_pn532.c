/* The PN532 emulator (sim/pn532.c): its frame parser on both directions'
 * frames, with malformed input; and the chip with the simulated WS523 in
 * its field, driven with the commands libnfc's pn532_uart driver sends,
 * checked byte for byte where the PN532 user manual fixes them. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "pn532.h"

/* Feeds bytes (in chunks of chunk) and collects up to 8 results: kind (or
 * the negative error) and the data of information frames. */
struct parsed {
    int n;
    int kind[8];
    uint8_t tfi[8];
    uint8_t data[8][LSWS_PN532_LEN_MAX];
    size_t len[8];
};

static void parse(const uint8_t *in, size_t len, size_t chunk, struct parsed *p)
{
    struct lsws_pn532_deframer d;
    lsws_pn532_deframer_init(&d);
    memset(p, 0, sizeof *p);
    for (size_t pos = 0; pos < len;) {
        size_t take = len - pos < chunk ? len - pos : chunk, off = 0;
        while (off < take) {
            struct lsws_pn532_frame f;
            struct lsws_error err;
            size_t used = 0;
            lsws_error_clear(&err);
            int rc = lsws_pn532_feed(&d, in + pos + off, take - off, &used, &f, &err);
            assert_true(used <= take - off);
            off += used;
            if (rc == 0) {
                assert_int_equal(off, take);
                break;
            }
            assert_true(used > 0);
            if (p->n < 8) {
                p->kind[p->n] = rc < 0 ? rc : f.kind;
                if (rc < 0)
                    assert_true(err.msg[0] != '\0');
                if (rc == 1 && f.kind == LSWS_PN532_INFO) {
                    p->tfi[p->n] = f.tfi;
                    memcpy(p->data[p->n], f.data, f.len);
                    p->len[p->n] = f.len;
                }
                p->n++;
            }
        }
        pos += take;
    }
}

static void frames_table(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int n;
        int kinds[4];
    } rows[] = {
        {"0000ff00ff00", 1, {LSWS_PN532_ACK}},
        {"0000ffff0000", 1, {LSWS_PN532_NACK}},
        {"0000ff01ff7f8100", 1, {LSWS_PN532_ERROR}},
        /* libnfc's wake-up preamble, then SAMConfiguration */
        {"55550000000000000000000000000000 0000ff03fdd41401170000", 1, {LSWS_PN532_INFO}},
        /* ACK, NACK and a frame back to back, postambles and noise between */
        {"00ff00ff 99 00ffff00 0000ff03fdd41401170000", 3, {LSWS_PN532_ACK, LSWS_PN532_NACK, LSWS_PN532_INFO}},
        /* bad length checksum: dropped, the next frame is still found */
        {"0000ff03fcd4140117 00 0000ff03fdd41401170000", 2, {LSWS_ERR_MALFORMED, LSWS_PN532_INFO}},
        /* bad data checksum */
        {"0000ff03fdd41401180000", 1, {LSWS_ERR_MALFORMED}},
        /* LEN 0 with LCS 0 (not an ACK) */
        {"0000ff000000", 1, {LSWS_ERR_MALFORMED}},
        /* extended: length checksum wrong, too long, zero */
        {"0000ffffff0003fcd41401170000", 1, {LSWS_ERR_MALFORMED}},
        {"0000ffffff010af5", 1, {LSWS_ERR_RANGE}},
        {"0000ffffff000000", 1, {LSWS_ERR_RANGE}},
        /* a frame that ends early: nothing yet */
        {"0000ff03fdd414", 0, {0}},
        /* no start code at all */
        {"55555555ff00ff", 0, {0}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t b[128];
        size_t n = hex_bytes(rows[i].hex, b, sizeof b);
        for (size_t chunk = 1; chunk <= n; chunk = chunk * 2 + 1) {
            struct parsed p;
            parse(b, n, chunk, &p);
            if (p.n != rows[i].n)
                fail_msg("row %zu ('%s'), chunks of %zu: %d results, want %d", i, rows[i].hex, chunk, p.n, rows[i].n);
            for (int k = 0; k < p.n; k++)
                if (p.kind[k] != rows[i].kinds[k])
                    fail_msg("row %zu, chunks of %zu, result %d: %d, want %d", i, chunk, k, p.kind[k], rows[i].kinds[k]);
        }
    }
    /* SAMConfiguration's data: command 14, mode 01, timeout 17. */
    uint8_t b[32];
    size_t n = hex_bytes("0000ff03fdd41401170000", b, sizeof b);
    struct parsed p;
    parse(b, n, n, &p);
    assert_int_equal(p.tfi[0], LSWS_PN532_TFI_HOST);
    assert_int_equal(p.len[0], 2);
    assert_memory_equal(p.data[0], "\x14\x01", 2);
}

/* Encoding and parsing agree for every length, normal and extended, in
 * both directions (host TFI d4, chip TFI d5), whatever the chunking. */
static void frames_round_trip(void **state)
{
    (void)state;
    uint8_t data[LSWS_PN532_LEN_MAX] = {0}, frame[LSWS_PN532_FRAME_MAX * 2];
    for (size_t len = 0; len < LSWS_PN532_LEN_MAX; len++) {
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)(len * 31 + i * 7);
        uint8_t tfi = len % 2 ? LSWS_PN532_TFI_HOST : LSWS_PN532_TFI_CHIP;
        size_t n = 0, n2 = 0;
        assert_int_equal(lsws_pn532_encode(tfi, data, len, frame, sizeof frame, &n), LSWS_OK);
        assert_int_equal(n, len + 1 <= 255 ? len + 8 : len + 11);
        /* an ACK after it, as a host might send one next */
        memcpy(frame + n, lsws_pn532_ack, sizeof lsws_pn532_ack);
        n2 = n + sizeof lsws_pn532_ack;
        struct parsed p;
        parse(frame, n2, len % 7 + 1, &p);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.kind[0], LSWS_PN532_INFO);
        assert_int_equal(p.kind[1], LSWS_PN532_ACK);
        assert_int_equal(p.tfi[0], tfi);
        assert_int_equal(p.len[0], len);
        assert_memory_equal(p.data[0], data, len);
    }
    size_t n;
    assert_int_equal(lsws_pn532_encode(LSWS_PN532_TFI_CHIP, data, LSWS_PN532_LEN_MAX, frame, sizeof frame, &n),
                     LSWS_ERR_RANGE);
    assert_int_equal(lsws_pn532_encode(LSWS_PN532_TFI_CHIP, data, 10, frame, 12, &n), LSWS_ERR_RANGE);
}

/* ---- the chip -------------------------------------------------------------------- */

struct rig {
    struct lsws_sim *sim;
    struct lsws_pn532 *chip;
    uint64_t now;
};

static void rig_up(struct rig *r, const struct lsws_sim_nfc_opts *o)
{
    struct lsws_sim_opts so = {.model = LSWS_MODEL_WS523};
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(r, 0, sizeof *r);
    assert_int_equal(lsws_sim_new(&so, &r->sim, &err), LSWS_OK);
    assert_int_equal(lsws_pn532_new(r->sim, o, &r->chip, &err), LSWS_OK);
    r->now = 1000;
}

static void rig_down(struct rig *r)
{
    lsws_pn532_free(r->chip);
    lsws_sim_free(r->sim);
}

/* Sends a command (hex, without TFI); returns the answer's data after the
 * chip's TFI and response code in out (its length), or -1 for the error
 * frame, -2 for no answer at all; *reply holds the rest. */
static int command(struct rig *r, const char *hex, uint8_t *out, struct lsws_pn532_reply *reply)
{
    uint8_t cmd[LSWS_PN532_LEN_MAX], frame[LSWS_PN532_FRAME_MAX];
    size_t n = hex_bytes(hex, cmd, sizeof cmd), flen = 0;
    assert_int_equal(lsws_pn532_encode(LSWS_PN532_TFI_HOST, cmd, n, frame, sizeof frame, &flen), LSWS_OK);
    struct parsed in;
    parse(frame, flen, flen, &in);
    struct lsws_pn532_frame f = {.kind = LSWS_PN532_INFO, .tfi = in.tfi[0], .data = in.data[0], .len = in.len[0]};
    lsws_pn532_command(r->chip, &f, r->now, reply);
    r->now += 5;
    if (!reply->answer)
        return -2;
    assert_true(reply->ack);
    struct parsed p;
    parse(reply->frame, reply->len, reply->len, &p);
    assert_int_equal(p.n, 1);
    if (p.kind[0] == LSWS_PN532_ERROR)
        return -1;
    assert_int_equal(p.kind[0], LSWS_PN532_INFO);
    assert_int_equal(p.tfi[0], LSWS_PN532_TFI_CHIP);
    assert_true(p.len[0] >= 1);
    assert_int_equal(p.data[0][0], cmd[0] + 1);
    memcpy(out, p.data[0] + 1, p.len[0] - 1);
    return (int)p.len[0] - 1;
}

static void expect_answer(struct rig *r, const char *hex, const char *want)
{
    uint8_t out[LSWS_PN532_LEN_MAX], w[LSWS_PN532_LEN_MAX];
    struct lsws_pn532_reply reply;
    int n = command(r, hex, out, &reply);
    if (strcmp(want, "ERROR") == 0) {
        if (n != -1)
            fail_msg("command %s: no error frame (%d)", hex, n);
        return;
    }
    size_t wn = want[0] ? hex_bytes(want, w, sizeof w) : 0;
    if (n != (int)wn || memcmp(out, w, wn) != 0) {
        char got[2 * LSWS_PN532_LEN_MAX + 1] = "";
        if (n > 0)
            lsws_hex_format(out, (size_t)n, got);
        fail_msg("command %s: answer %s (%d), want %s", hex, n >= 0 ? got : n == -1 ? "error frame" : "none", n, want);
    }
}

/* libnfc's own opening and card selection (LIBNFC_LOG_LEVEL=3 shows them). */
static void libnfc_sequence(struct rig *r)
{
    expect_answer(r, "140117", "");                           /* SAMConfiguration normal */
    expect_answer(r, "00006c69626e6663", "006c69626e6663");   /* Diagnose: communication test */
    expect_answer(r, "02", "32010607");                       /* GetFirmwareVersion */
    expect_answer(r, "1214", "");                             /* SetParameters: auto ATR_RES, RATS */
    expect_answer(r, "08630280630380", "");                 /* WriteRegister */
    expect_answer(r, "0663026303", "8080");                   /* ReadRegister: what was written */
    expect_answer(r, "320100", "");                           /* RFConfiguration: field off */
    expect_answer(r, "320101", "");                           /* field on */
    expect_answer(r, "3205000102", "");                       /* retries: single-shot selection */
}

static void chip_select_and_exchange(void **state)
{
    (void)state;
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523};
    struct rig r;
    rig_up(&r, &o);
    libnfc_sequence(&r);
    /* The WS523: one target, SENS_RES 00 44, SEL_RES 20, 7-byte UID, ATS. */
    expect_answer(&r, "4a0100", "01 01 0044 20 07 04d21130962038 09788071024c535753");
    expect_answer(&r, "0006", "00"); /* Diagnose: card presence */
    expect_answer(&r, "0400", "00 01 01 01000000 00"); /* GetGeneralStatus: field, one target */
    /* SELECT, then IDENTIFY as one MESSAGE APDU. */
    expect_answer(&r, "4001 00a4040006f04c5357530100", "00 010004fa9000");
    uint8_t out[LSWS_PN532_LEN_MAX], req[8];
    size_t rlen;
    char hex[64] = "4001 801000010300", tail[16];
    assert_int_equal(lsws_msg_encode(0x42, LSWS_OP_IDENTIFY, -1, NULL, 0, req, sizeof req, &rlen), LSWS_OK);
    lsws_hex_format(req, rlen, tail);
    snprintf(hex, sizeof hex, "4001 80100001%02zx%s00", rlen, tail);
    struct lsws_pn532_reply reply;
    int n = command(&r, hex, out, &reply);
    assert_true(n > 3);
    assert_int_equal(out[0], 0x00); /* status */
    assert_int_equal(out[n - 2], 0x90);
    assert_int_equal(out[n - 1], 0x00);
    struct lsws_msg m;
    struct lsws_device_info info;
    assert_int_equal(lsws_msg_decode(out + 1, (size_t)n - 3, &m, NULL), LSWS_OK);
    assert_int_equal(m.seq, 0x42);
    assert_int_equal(lsws_info_decode(m.payload, m.len, &info, NULL), LSWS_OK);
    assert_string_equal(info.sn, "6762d21130962038");
    /* libnfc's presence check: an R(NAK) through InCommunicateThru. */
    expect_answer(&r, "42b2", "00a2");
    /* Raw frames nobody answers (type B discovery). */
    expect_answer(&r, "4205", "01");
    /* Other modulations find nothing; a wrong target number is refused. */
    expect_answer(&r, "4a0101", "00");
    expect_answer(&r, "4002 00a4040006f04c5357530100", "27");
    /* Released: the card's session ends; APDUs need a new selection. */
    expect_answer(&r, "5200", "00");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "27");
    expect_answer(&r, "4a0100", "01 01 0044 20 07 04d21130962038 09788071024c535753");
    /* Without RATS (SetParameters without it): no ATS, no APDUs. */
    expect_answer(&r, "1204", "");
    expect_answer(&r, "4a0100", "01 01 0044 20 07 04d21130962038");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "01");
    /* Bad commands get the error frame. */
    expect_answer(&r, "4a0300", "ERROR");
    rig_down(&r);
}

static void chip_bad_commands(void **state)
{
    (void)state;
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523};
    struct rig r;
    rig_up(&r, &o);
    static const char *const bad[] = {"14", "1409", "00", "0099", "06", "066302 63", "0863", "12", "120102",
                                      "32", "4a", "4a05", "40", "44", "52", "54", "60", "6001", "ee", "8c",
                                      "10", "0e", "16"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[LSWS_PN532_LEN_MAX];
        struct lsws_pn532_reply reply;
        if (command(&r, bad[i], out, &reply) != -1)
            fail_msg("command %s: no error frame", bad[i]);
    }
    /* A frame from the chip's side (TFI d5) is not a command: no answer, no ACK. */
    struct lsws_pn532_frame f = {.kind = LSWS_PN532_INFO, .tfi = LSWS_PN532_TFI_CHIP, .data = (const uint8_t *)"\x03",
                                 .len = 1};
    struct lsws_pn532_reply reply;
    lsws_pn532_command(r.chip, &f, r.now, &reply);
    assert_false(reply.ack);
    assert_false(reply.answer);
    rig_down(&r);
}

static void chip_cards(void **state)
{
    (void)state;
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_ISO14443_4};
    struct rig r;
    rig_up(&r, &o);
    libnfc_sequence(&r);
    expect_answer(&r, "4a0100", "01 01 0004 20 04 083c915e 0578807002");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "00 6a82"); /* no lsws application */
    rig_down(&r);
    o.card = LSWS_NFC_CARD_MIFARE;
    rig_up(&r, &o);
    libnfc_sequence(&r);
    expect_answer(&r, "4a0100", "01 01 0004 08 04 5e3f11a0");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "01");
    rig_down(&r);
    /* No card: none listed; with endless retries the answer waits for one. */
    o.card = LSWS_NFC_CARD_WS523;
    o.away = 1;
    o.returns_ms = 300;
    rig_up(&r, &o);
    libnfc_sequence(&r);
    expect_answer(&r, "4a0100", "00");
    expect_answer(&r, "3205ffffff", "");
    uint8_t out[LSWS_PN532_LEN_MAX];
    struct lsws_pn532_reply reply;
    assert_int_equal(command(&r, "4a0100", out, &reply), -2);
    assert_true(reply.ack && reply.wait_card);
    assert_int_equal(lsws_pn532_tick(r.chip, r.now, 0, 1, &reply), 0); /* starts the 300 ms */
    assert_int_equal(lsws_pn532_tick(r.chip, r.now + 100, 0, 1, &reply), 0);
    assert_int_equal(lsws_pn532_tick(r.chip, r.now + 301, 0, 1, &reply), 1);
    struct parsed p;
    parse(reply.frame, reply.len, reply.len, &p);
    assert_int_equal(p.kind[0], LSWS_PN532_INFO);
    assert_memory_equal(p.data[0], "\x4b\x01\x01\x00\x44\x20\x07", 7);
    /* SIGUSR1 takes it away, and puts it back. */
    assert_int_equal(lsws_pn532_tick(r.chip, r.now + 400, 1, 0, &reply), 0);
    expect_answer(&r, "3205000102", "");
    expect_answer(&r, "4a0100", "00");
    lsws_pn532_tick(r.chip, r.now + 500, 1, 0, &reply);
    expect_answer(&r, "4a0100", "01 01 0044 20 07 04d21130962038 09788071024c535753");
    rig_down(&r);
}

/* Card and reader events count APDUs; message faults count messages. */
static void chip_events(void **state)
{
    (void)state;
    uint8_t out[LSWS_PN532_LEN_MAX];
    struct lsws_pn532_reply reply;
    struct rig r;
    /* The card leaves after answering APDU 2: the chip still holds the
     * target and finds it silent; the presence check says it is gone. */
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523, .leaves_after = 2};
    rig_up(&r, &o);
    libnfc_sequence(&r);
    expect_answer(&r, "4a0100", "01 01 0044 20 07 04d21130962038 09788071024c535753");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "00 010004fa9000");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "00 010004fa9000");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "01");
    expect_answer(&r, "42b2", "01");
    expect_answer(&r, "0006", "01");
    expect_answer(&r, "4a0100", "00");
    rig_down(&r);
    /* The reader stalls after APDU 1: nothing at all, not even an ACK. */
    o = (struct lsws_sim_nfc_opts){.card = LSWS_NFC_CARD_WS523, .stall_after = 1};
    rig_up(&r, &o);
    libnfc_sequence(&r);
    expect_answer(&r, "4a0100", "01 01 0044 20 07 04d21130962038 09788071024c535753");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "00 010004fa9000");
    assert_int_equal(command(&r, "4001 00a4040006f04c5357530100", out, &reply), -2);
    assert_false(reply.ack);
    assert_int_equal(command(&r, "02", out, &reply), -2);
    assert_true(lsws_pn532_stalled(r.chip));
    rig_down(&r);
    /* Message faults: drop (no answer: status 01) and corrupt (status 02,
     * the device acted); the retry of the same message is answered from the
     * device's cache. */
    o = (struct lsws_sim_nfc_opts){.card = LSWS_NFC_CARD_WS523};
    o.faults.drop[0] = 1;
    o.faults.corrupt[0] = 2;
    rig_up(&r, &o);
    libnfc_sequence(&r);
    expect_answer(&r, "4a0100", "01 01 0044 20 07 04d21130962038 09788071024c535753");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "00 010004fa9000");
    expect_answer(&r, "4001 8010000103010701 00", "01");
    expect_answer(&r, "4001 8010000103010701 00", "02");
    int n = command(&r, "4001 8010000103010701 00", out, &reply);
    assert_true(n > 3 && out[0] == 0x00 && out[n - 2] == 0x90);
    struct lsws_sim_stats st;
    lsws_sim_stats(r.sim, &st);
    assert_int_equal(st.duplicates, 1);
    struct lsws_pn532_stats ps;
    lsws_pn532_stats(r.chip, &ps);
    assert_int_equal(ps.apdus, 4);
    assert_int_equal(ps.messages, 3);
    rig_down(&r);
    /* The card leaves while answering APDU 2 (a message): the device acted. */
    o = (struct lsws_sim_nfc_opts){.card = LSWS_NFC_CARD_WS523, .leaves_during = 2};
    rig_up(&r, &o);
    libnfc_sequence(&r);
    expect_answer(&r, "4a0100", "01 01 0044 20 07 04d21130962038 09788071024c535753");
    expect_answer(&r, "4001 00a4040006f04c5357530100", "00 010004fa9000");
    expect_answer(&r, "4001 8010000103010701 00", "01");
    lsws_sim_stats(r.sim, &st);
    assert_int_equal(st.requests, 1);
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_table), cmocka_unit_test(frames_round_trip), cmocka_unit_test(chip_select_and_exchange),
        cmocka_unit_test(chip_bad_commands), cmocka_unit_test(chip_cards), cmocka_unit_test(chip_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
