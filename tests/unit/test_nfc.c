/* The NFC transport (transports/nfc.c) through its vtable, with the real
 * libnfc: libnfc's pn532_uart driver opens the slave side of a
 * pseudo-terminal whose master the PN532 emulator (sim/pn532.c, served by
 * lsws_sim_nfc_serve in a thread here) holds, with the simulated WS523 in
 * its field. What the end-to-end test cannot see from outside lsws: the
 * limits the link reports, where a failure surfaces (send: the message
 * never arrived whole; recv: it may have been handled), the trace
 * callback, the byte counters, discovery records, and waiting for a card. */
#define _GNU_SOURCE
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef LSWS_HAVE_NFC
int main(void)
{
    fprintf(stderr, "test_nfc: skipped: built without the NFC transport (-DLSWS_NFC=OFF)\n");
    return 77;
}
#else

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "pn532.h"
#include "transport.h"

#define T lsws_transport_nfc

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct reader {
    struct lsws_sim *sim;
    int master;
    char path[256];
    char uri[300];
    struct lsws_sim_nfc_opts o;
    volatile sig_atomic_t stop;
    pthread_t thread;
    int rc;
};

static void *serve(void *arg)
{
    struct reader *r = arg;
    struct lsws_error err;
    lsws_error_clear(&err);
    r->rc = lsws_sim_nfc_serve(r->sim, &r->master, &r->o, &err);
    return NULL;
}

static void reader_up(struct reader *r, const struct lsws_sim_nfc_opts *o)
{
    struct lsws_sim_opts so = {.model = LSWS_MODEL_WS523};
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(r, 0, sizeof *r);
    r->o = *o;
    r->o.stop = &r->stop;
    assert_int_equal(lsws_sim_new(&so, &r->sim, &err), LSWS_OK);
    assert_int_equal(lsws_sim_pty_open(&r->master, r->path, sizeof r->path, &err), LSWS_OK);
    snprintf(r->uri, sizeof r->uri, "nfc:pn532_uart:%s", r->path);
    assert_int_equal(pthread_create(&r->thread, NULL, serve, r), 0);
}

static void reader_down(struct reader *r)
{
    r->stop = 1;
    pthread_join(r->thread, NULL);
    if (r->master >= 0)
        close(r->master);
    lsws_sim_free(r->sim);
}

static int link_open(const struct reader *r, const struct lsws_link_opts *opts, void **h, struct lsws_error *err)
{
    struct lsws_uri uri;
    assert_int_equal(lsws_uri_parse(r->uri, &uri, err), LSWS_OK);
    assert_ptr_equal(uri.transport, &T);
    return T.open(&uri, opts, h, err);
}

/* One request, its response decoded. */
static int ask(void *h, uint8_t seq, uint8_t op, const uint8_t *p, size_t n, struct lsws_msg *m, uint8_t *buf,
               struct lsws_error *err)
{
    uint8_t req[LSWS_MSG_MAX];
    size_t rlen, len = 0;
    assert_int_equal(lsws_msg_encode(seq, op, -1, p, n, req, sizeof req, &rlen), LSWS_OK);
    int rc = T.send(h, req, rlen, err);
    if (rc == LSWS_OK)
        rc = T.recv(h, buf, LSWS_MSG_MAX, &len, 1000, err);
    if (rc == LSWS_OK)
        assert_int_equal(lsws_msg_decode(buf, len, m, err), LSWS_OK);
    return rc;
}

struct traced {
    unsigned out, in, notes;
    uint8_t first[32];
    size_t first_len;
};

static void trace(void *ctx, char dir, const uint8_t *b, size_t n, const char *note)
{
    struct traced *t = ctx;
    if (dir == '>' && t->out++ == 0 && n <= sizeof t->first) {
        memcpy(t->first, b, n);
        t->first_len = n;
    }
    if (dir == '<')
        t->in++;
    if (note)
        t->notes++;
}

/* The card's limits, long messages both ways, trace and counters. */
static void limits_and_chaining(void **state)
{
    (void)state;
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523, .max_msg = 512, .fragment = 32};
    struct reader r;
    reader_up(&r, &o);
    struct traced tr = {0};
    struct lsws_link_opts opts = {.trace = trace, .trace_ctx = &tr};
    struct lsws_error err;
    lsws_error_clear(&err);
    void *h = NULL;
    if (link_open(&r, &opts, &h, &err) != LSWS_OK)
        fail_msg("open: %s", err.msg);
    struct lsws_link_limits lim;
    T.limits(h, &lim);
    assert_int_equal(lim.max_msg, 512);
    assert_int_equal(lim.fragment, 32);
    /* The first APDU was SELECT. */
    uint8_t want[16];
    size_t wn = hex_bytes("00a4040006f04c5357530100", want, sizeof want);
    assert_int_equal(tr.first_len, wn);
    assert_memory_equal(tr.first, want, wn);
    /* AUTH (a short request, a 36-byte answer: two fragments), then a READ
     * of everything: pages up to 512 bytes, each 16 APDUs back. */
    uint8_t buf[LSWS_MSG_MAX];
    struct lsws_msg m;
    assert_int_equal(ask(h, 1, LSWS_OP_AUTH, (const uint8_t *)"123456", 6, &m, buf, &err), LSWS_OK);
    assert_int_equal(m.status, LSWS_ST_OK);
    assert_int_equal(m.len, LSWS_INFO_LEN);
    uint8_t cursor[2] = {0, 0};
    assert_int_equal(ask(h, 2, LSWS_OP_READ, cursor, 2, &m, buf, &err), LSWS_OK);
    assert_int_equal(m.status, LSWS_ST_OK);
    assert_true(m.len > 400);
    /* A request of 300 bytes (10 fragments): a READ listing codes. */
    uint8_t codes[300];
    codes[0] = codes[1] = 0;
    for (size_t i = 2; i + 3 <= sizeof codes; i += 3) {
        codes[i] = 2;
        codes[i + 1] = 0xff;
        codes[i + 2] = 0x03;
    }
    assert_int_equal(ask(h, 3, LSWS_OP_READ, codes, 299, &m, buf, &err), LSWS_OK);
    assert_int_equal(m.status, LSWS_ST_OK);
    /* Larger than the card takes: refused before anything is sent. */
    uint8_t big[600] = {0};
    assert_int_equal(T.send(h, big, sizeof big, &err), LSWS_ERR_RANGE);
    unsigned long sent, received;
    T.wire_bytes(h, &sent, &received);
    assert_true(sent > 300 + 10 * 6 && received > 400 + 16 * 2);
    assert_true(tr.out >= 1 + 1 + 2 + 10 + 16 && tr.in == tr.out);
    assert_int_equal(tr.notes, 0);
    T.close(h);
    reader_down(&r);
}

/* A failure before the last fragment comes from send() (the device never
 * got the message); after it, from recv(); then everything fails at once. */
static void where_failures_surface(void **state)
{
    (void)state;
    uint8_t buf[LSWS_MSG_MAX];
    struct lsws_msg m;
    struct lsws_error err;
    uint8_t cursor[60] = {0};
    /* APDU 1 is SELECT; the READ below is 2 fragments of 32 (APDUs 2, 3). */
    for (unsigned leave = 2; leave <= 3; leave++) {
        struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523, .fragment = 32, .leaves_during = leave};
        struct reader r;
        reader_up(&r, &o);
        lsws_error_clear(&err);
        void *h = NULL;
        assert_int_equal(link_open(&r, NULL, &h, &err), LSWS_OK);
        uint8_t req[LSWS_MSG_MAX];
        size_t rlen, len;
        assert_int_equal(lsws_msg_encode(9, LSWS_OP_READ, -1, cursor, sizeof cursor, req, sizeof req, &rlen), LSWS_OK);
        int rc = T.send(h, req, rlen, &err);
        if (leave == 2) {
            assert_int_equal(rc, LSWS_ERR_NODEV);
        } else {
            assert_int_equal(rc, LSWS_OK);
            rc = T.recv(h, buf, sizeof buf, &len, 1000, &err);
            assert_int_equal(rc, LSWS_ERR_NODEV);
        }
        assert_non_null(strstr(err.msg, "the card left the field"));
        double t0 = now_ms();
        lsws_error_clear(&err);
        assert_int_equal(T.send(h, req, rlen, &err), LSWS_ERR_NODEV);
        assert_non_null(strstr(err.msg, "the card left the field"));
        assert_true(now_ms() - t0 < 50);
        T.close(h);
        reader_down(&r);
    }
    /* A dropped message: the card is still there, so the answer was lost
     * (TIMEOUT, the client sends it again), and again is answered. */
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523};
    o.faults.drop[0] = 1;
    struct reader r;
    reader_up(&r, &o);
    void *h = NULL;
    lsws_error_clear(&err);
    assert_int_equal(link_open(&r, NULL, &h, &err), LSWS_OK);
    assert_int_equal(ask(h, 5, LSWS_OP_IDENTIFY, NULL, 0, &m, buf, &err), LSWS_ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "no answer from the card"));
    assert_int_equal(ask(h, 5, LSWS_OP_IDENTIFY, NULL, 0, &m, buf, &err), LSWS_OK);
    assert_int_equal(m.seq, 5);
    /* recv() without a request under way: nothing to wait for. */
    size_t len;
    assert_int_equal(T.recv(h, buf, sizeof buf, &len, 100, &err), LSWS_ERR_TIMEOUT);
    T.close(h);
    reader_down(&r);
    /* The reader stalls after SELECT: a timeout, told apart, in bounded time. */
    o = (struct lsws_sim_nfc_opts){.card = LSWS_NFC_CARD_WS523, .stall_after = 1};
    reader_up(&r, &o);
    lsws_error_clear(&err);
    assert_int_equal(link_open(&r, NULL, &h, &err), LSWS_OK);
    uint8_t req[8];
    size_t rlen;
    lsws_msg_encode(6, LSWS_OP_IDENTIFY, -1, NULL, 0, req, sizeof req, &rlen);
    assert_int_equal(T.send(h, req, rlen, &err), LSWS_OK);
    double t0 = now_ms();
    assert_int_equal(T.recv(h, buf, sizeof buf, &len, 300, &err), LSWS_ERR_TIMEOUT);
    double took = now_ms() - t0;
    assert_non_null(strstr(err.msg, "the reader stopped answering (no answer within 300 ms)"));
    assert_true(took >= 250 && took < 1200);
    t0 = now_ms();
    T.close(h); /* quick too: libnfc's closing commands get a short timeout */
    assert_true(now_ms() - t0 < 1200);
    reader_down(&r);
}

static void no_card_and_waiting(void **state)
{
    (void)state;
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523, .away = 1, .returns_ms = 400};
    struct reader r;
    reader_up(&r, &o);
    struct lsws_error err;
    lsws_error_clear(&err);
    void *h = NULL;
    assert_int_equal(link_open(&r, NULL, &h, &err), LSWS_ERR_NODEV);
    assert_null(h);
    assert_non_null(strstr(err.msg, "no card in the field"));
    struct lsws_link_opts opts = {.wait_ms = 5000};
    double t0 = now_ms();
    if (link_open(&r, &opts, &h, &err) != LSWS_OK)
        fail_msg("open with wait: %s", err.msg);
    assert_true(now_ms() - t0 < 3000);
    T.close(h);
    reader_down(&r);
    /* A foreign card is the wrong model, not a missing one. */
    o = (struct lsws_sim_nfc_opts){.card = LSWS_NFC_CARD_ISO14443_4};
    reader_up(&r, &o);
    assert_int_equal(link_open(&r, &opts, &h, &err), LSWS_ERR_MODEL);
    reader_down(&r);
}

struct seen {
    int n;
    struct lsws_found dev[4];
};

static int found(const struct lsws_found *dev, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < 4)
        s->dev[s->n++] = *dev;
    return 0;
}

static void discovery(void **state)
{
    (void)state;
    assert_null(T.flags & LSWS_TRANSPORT_SCAN_INTRUSIVE ? "intrusive" : NULL);
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523};
    struct reader r;
    reader_up(&r, &o);
    char dev[300];
    snprintf(dev, sizeof dev, "pn532_uart:%s", r.path);
    setenv("LIBNFC_DEVICE", dev, 1);
    struct seen s = {0};
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(T.discover(2000, found, &s, &err), LSWS_OK);
    unsetenv("LIBNFC_DEVICE");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.dev[0].uri, r.uri);
    assert_int_equal(s.dev[0].model, LSWS_MODEL_WS523);
    assert_string_equal(s.dev[0].sn, "6762d21130962038");
    assert_string_equal(s.dev[0].address, "04d21130962038");
    reader_down(&r);
}

/* ---- the host protocol on the pty, by hand ------------------------------------ */

/* Reads what the emulator sends within ms. */
static size_t read_for(int fd, uint8_t *buf, size_t cap, int ms)
{
    size_t got = 0;
    double until = now_ms() + ms;
    while (got < cap) {
        int left = (int)(until - now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t n = read(fd, buf + got, cap - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

static void send_cmd(int fd, const char *hex)
{
    uint8_t cmd[300], frame[LSWS_PN532_FRAME_MAX];
    size_t n = hex_bytes(hex, cmd, sizeof cmd), flen;
    assert_int_equal(lsws_pn532_encode(LSWS_PN532_TFI_HOST, cmd, n, frame, sizeof frame, &flen), LSWS_OK);
    assert_int_equal(write(fd, frame, flen), (ssize_t)flen);
}

/* libnfc 1.8 sends its next command after a timeout, which aborts the one
 * under way; an ACK from the host does the same; a NACK asks for the last
 * answer again. */
static void host_ack_and_nack(void **state)
{
    (void)state;
    struct lsws_sim_nfc_opts o = {.card = LSWS_NFC_CARD_WS523};
    o.faults.delay[0] = 1;
    o.faults.delay_ms = 400;
    struct reader r;
    reader_up(&r, &o);
    int fd = open(r.path, O_RDWR | O_NOCTTY);
    assert_true(fd >= 0);
    uint8_t buf[600], sel[64];
    size_t n;
    send_cmd(fd, "1214"); /* SetParameters: RATS */
    assert_int_equal(read_for(fd, buf, 6 + 9, 1000), 6 + 9);
    assert_memory_equal(buf, lsws_pn532_ack, 6);
    send_cmd(fd, "320101");
    assert_int_equal(read_for(fd, buf, 6 + 9, 1000), 6 + 9);
    send_cmd(fd, "4a0100");
    n = read_for(fd, buf, sizeof buf, 300);
    assert_true(n > 6 + 20);
    send_cmd(fd, "4001 00a4040006f04c5357530100");
    n = read_for(fd, sel, sizeof sel, 300);
    assert_true(n > 6 + 8);
    size_t sel_len = n - 6;
    /* IDENTIFY, whose answer is 400 ms late: acknowledged at once, then
     * aborted by an ACK: nothing more comes. */
    send_cmd(fd, "4001 8010000103010501 00");
    assert_int_equal(read_for(fd, buf, 6, 300), 6);
    assert_memory_equal(buf, lsws_pn532_ack, 6);
    assert_int_equal(write(fd, lsws_pn532_ack, 6), 6);
    assert_int_equal(read_for(fd, buf, sizeof buf, 700), 0);
    /* A NACK: the last answer sent (SELECT's) again. */
    assert_int_equal(write(fd, lsws_pn532_nack, 6), 6);
    n = read_for(fd, buf, sizeof buf, 300);
    assert_int_equal(n, sel_len);
    assert_memory_equal(buf, sel + 6, sel_len);
    /* The aborted message was handled by the device: asked again, it is
     * answered at once from the device's cache. */
    send_cmd(fd, "4001 8010000103010501 00");
    n = read_for(fd, buf, sizeof buf, 300);
    assert_true(n > 6 + 30);
    struct lsws_sim_stats st;
    lsws_sim_stats(r.sim, &st);
    assert_int_equal(st.duplicates, 1);
    close(fd);
    reader_down(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    unsetenv("LIBNFC_LOG_LEVEL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_and_chaining),
        cmocka_unit_test(where_failures_surface),
        cmocka_unit_test(no_card_and_waiting),
        cmocka_unit_test(discovery),
        cmocka_unit_test(host_ack_and_nack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
