/* The serial transport (transports/serial.c) for real, without the
 * simulator: libserialport opens the slave side of a pseudo-terminal and a
 * small peer written here holds the master side, deframes what the
 * transport sends (with its own decoder, not lib/frame_serial.c) and answers.
 *
 * libserialport 0.1.1 cannot open a pty by itself, so this program runs
 * with the test-only shim tests/shim/ptyshim.c preloaded: ctest passes its
 * path in LSWS_PTYSHIM and the program re-executes itself with LD_PRELOAD
 * set (libasan first when the build has AddressSanitizer). docs/serial.md. */
#define _GNU_SOURCE
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef LSWS_HAVE_SERIAL
int main(void)
{
    fprintf(stderr, "test_serial: skipped: built without the serial transport (-DLSWS_SERIAL=OFF)\n");
    return 77;
}
#else

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"

#define T lsws_transport_serial

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- the peer's own framing (docs/protocol.md "Serial"), written apart
 * from lib/frame_serial.c so the test does not check the code with itself */

static uint16_t peer_crc(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xffff; /* CRC-16/CCITT-FALSE, bit by bit, MSB first */
    for (size_t i = 0; i < n; i++)
        for (int bit = 7; bit >= 0; bit--) {
            unsigned in = (p[i] >> bit) & 1u, top = crc >> 15;
            crc = (uint16_t)(crc << 1);
            if (top ^ in)
                crc ^= 0x1021;
        }
    return crc;
}

static size_t peer_frame(const uint8_t *msg, size_t len, uint8_t *out)
{
    uint8_t body[LSWS_MSG_MAX + 2];
    memcpy(body, msg, len);
    uint16_t crc = peer_crc(msg, len);
    body[len] = (uint8_t)(crc & 0xff);
    body[len + 1] = (uint8_t)(crc >> 8);
    size_t n = 0;
    out[n++] = 0x7e;
    for (size_t i = 0; i < len + 2; i++) {
        if (body[i] == 0x7e || body[i] == 0x7d) {
            out[n++] = 0x7d;
            out[n++] = body[i] ^ 0x20;
        } else {
            out[n++] = body[i];
        }
    }
    out[n++] = 0x7e;
    return n;
}

struct peer_rx {
    uint8_t buf[2 * LSWS_FRAME_MAX];
    size_t len;
    int in, esc;
    unsigned bad_escapes; /* the transport escaped something other than 7e/7d */
    uint8_t msg[LSWS_MSG_MAX + 2];
    size_t mlen;
};

/* 1: a good message is in r->msg; -1: a bad frame; 0: nothing yet. */
static int peer_byte(struct peer_rx *r, uint8_t b)
{
    if (b == 0x7e) {
        size_t n = r->len;
        int esc = r->esc, was_in = r->in;
        r->len = 0;
        r->esc = 0;
        r->in = 1;
        if (!was_in || n == 0)
            return 0;
        if (esc || n < 5 || n > LSWS_MSG_MAX + 2 || peer_crc(r->buf, n - 2) != (r->buf[n - 2] | r->buf[n - 1] << 8))
            return -1;
        memcpy(r->msg, r->buf, n - 2);
        r->mlen = n - 2;
        return 1;
    }
    if (!r->in)
        return 0;
    if (r->esc) {
        if (b != 0x5e && b != 0x5d)
            r->bad_escapes++;
        b ^= 0x20;
        r->esc = 0;
    } else if (b == 0x7d) {
        r->esc = 1;
        return 0;
    }
    if (r->len < sizeof r->buf)
        r->buf[r->len++] = b;
    return 0;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            if (errno == EAGAIN) {
                sleep_ms(1);
                continue;
            }
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Reads from the master until one good request arrived (synchronous peer). */
static int peer_read(int master, struct peer_rx *r, int timeout_ms)
{
    double end = now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            continue;
        uint8_t b;
        if (read(master, &b, 1) != 1)
            return 0;
        if (peer_byte(r, b) == 1)
            return 1;
    }
}

/* ---- a pty pair and the transport on its slave ---------------------------- */

struct pty {
    int master;
    char path[64];
};

static void pty_open(struct pty *p)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(p->master >= 0);
    assert_int_equal(grantpt(p->master), 0);
    assert_int_equal(unlockpt(p->master), 0);
    assert_int_equal(ptsname_r(p->master, p->path, sizeof p->path), 0);
}

static void pty_close(struct pty *p)
{
    if (p->master >= 0)
        close(p->master);
    p->master = -1;
}

/* The trace callback as the CLI prints it: one frame a line. */
static void print_trace(void *ctx, char dir, const uint8_t *bytes, size_t len, const char *note)
{
    (void)ctx;
    fprintf(stderr, "%c ", dir);
    for (size_t i = 0; i < len; i++)
        fprintf(stderr, "%02x", bytes[i]);
    fprintf(stderr, "%s%s%s\n", note ? " (" : "", note ? note : "", note ? ")" : "");
}

/* Parses "serial:" rest as lsws does; the code of a refused URI. */
static int parse(const char *rest, struct lsws_uri *u, struct lsws_error *err)
{
    char text[LSWS_URI_MAX + 16];
    snprintf(text, sizeof text, "serial:%s", rest);
    return lsws_uri_parse(text, u, err);
}

static int open_uri(const char *rest, const struct lsws_link_opts *o, void **h, struct lsws_error *err)
{
    static struct lsws_uri u;
    int rc = parse(rest, &u, err);
    return rc != LSWS_OK ? rc : T.open(&u, o, h, err);
}

static void *open_link(const char *rest, int trace)
{
    struct lsws_link_opts o = {.trace = trace ? print_trace : NULL};
    struct lsws_error err;
    lsws_error_clear(&err);
    void *h = NULL;
    int rc = open_uri(rest, &o, &h, &err);
    if (rc != LSWS_OK)
        fail_msg("cannot open serial:%s: %s (%d)", rest, err.msg, rc);
    assert_non_null(h);
    return h;
}

static void send_ok(void *h, const uint8_t *msg, size_t len)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = T.send(h, msg, len, &err);
    if (rc != LSWS_OK)
        fail_msg("send: %s (%d)", err.msg, rc);
}

static size_t recv_ok(void *h, uint8_t *buf, size_t cap, int timeout_ms)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    size_t n = 0;
    int rc = T.recv(h, buf, cap, &n, timeout_ms, &err);
    if (rc != LSWS_OK)
        fail_msg("recv: %s (%d)", err.msg, rc);
    return n;
}

/* Something done to the master from another thread after a delay, while
 * the transport waits in recv. */
struct later {
    int fd;
    uint8_t bytes[256];
    size_t len;
    int delay_ms, close_it;
    pthread_t th;
};

static void *later_main(void *arg)
{
    struct later *l = arg;
    sleep_ms(l->delay_ms);
    if (l->len)
        write_all(l->fd, l->bytes, l->len);
    if (l->close_it)
        close(l->fd);
    return NULL;
}

/* ---- a peer thread that answers -------------------------------------------- */

enum peer_mode {
    PEER_ECHO,     /* answers a message with the same bytes, op | 0x80 */
    PEER_IDENTIFY, /* answers IDENTIFY as a WS523 would */
};

struct peer {
    int fd;
    enum peer_mode mode;
    unsigned drop_first; /* leave the first N requests unanswered */
    atomic_int stop;
    atomic_uint requests, bad_frames, bad_escapes;
    unsigned long wire_out; /* bytes of frames answered */
    struct peer_rx rx;
    pthread_t th;
};

static const struct lsws_device_info peer_info = {
    .model = LSWS_MODEL_WS523,
    .proto = LSWS_PROTO_VERSION,
    .sn = "6527f41809380000",
    .dev_eui = {0x24, 0xe1, 0x24, 0x78, 0x0d, 0x31, 0x7e, 0x7d},
    .hw = 0x0110,
    .fw = 0x0108,
    .band = 0,
    .max_payload = LSWS_MSG_MAX,
    .flags = LSWS_INFO_DEFAULT_PASSWORD,
};

static void peer_answer(struct peer *p, const uint8_t *msg, size_t len)
{
    unsigned n = atomic_fetch_add(&p->requests, 1) + 1;
    if (n <= p->drop_first)
        return;
    uint8_t resp[LSWS_MSG_MAX], frame[LSWS_FRAME_MAX];
    size_t rlen = 0;
    if (p->mode == PEER_ECHO) {
        memcpy(resp, msg, len);
        if (len > 2)
            resp[2] ^= 0x80;
        rlen = len;
    } else {
        struct lsws_msg m;
        uint8_t info[LSWS_INFO_LEN];
        size_t ilen = 0;
        if (lsws_msg_decode(msg, len, &m, NULL) != LSWS_OK || m.op != LSWS_OP_IDENTIFY ||
            lsws_info_encode(&peer_info, info, sizeof info, &ilen) != LSWS_OK ||
            lsws_msg_encode(m.seq, m.op, LSWS_ST_OK, info, ilen, resp, sizeof resp, &rlen) != LSWS_OK)
            return;
    }
    size_t fn = peer_frame(resp, rlen, frame);
    p->wire_out += fn;
    write_all(p->fd, frame, fn);
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    uint8_t buf[4096];
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = p->fd, .events = POLLIN};
        if (poll(&pf, 1, 20) <= 0)
            continue;
        ssize_t n = read(p->fd, buf, sizeof buf);
        if (n <= 0) { /* EIO: no slave open right now */
            sleep_ms(5);
            continue;
        }
        for (ssize_t i = 0; i < n; i++) {
            int r = peer_byte(&p->rx, buf[i]);
            if (r < 0)
                atomic_fetch_add(&p->bad_frames, 1);
            else if (r == 1)
                peer_answer(p, p->rx.msg, p->rx.mlen);
        }
        atomic_store(&p->bad_escapes, p->rx.bad_escapes);
    }
    return NULL;
}

static void peer_start(struct peer *p, int fd, enum peer_mode mode)
{
    memset(p, 0, sizeof *p);
    p->fd = fd;
    p->mode = mode;
    assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

static void peer_stop(struct peer *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_peer_crc(void **state)
{
    (void)state;
    assert_int_equal(peer_crc((const uint8_t *)"123456789", 9), 0x29b1);
    assert_string_equal(T.scheme, "serial");
    assert_int_equal(T.timeout_ms, 1000);
    assert_non_null(T.open);
    assert_non_null(T.close);
    assert_non_null(T.send);
    assert_non_null(T.recv);
    assert_non_null(T.discover);
}

struct uri_case {
    const char *rest;
    unsigned opt_baud;
    int code;
    const char *fragment;
};

static void test_bad_uris(void **state)
{
    (void)state;
    static const struct uri_case cases[] = {
        {"", 0, LSWS_ERR_INVALID, "no device path"},
        {"?baud=9600", 0, LSWS_ERR_INVALID, "no device path"},
        {"ttyUSB0", 0, LSWS_ERR_INVALID, "must be absolute"},
        {"/dev/ttyUSB0?", 0, LSWS_ERR_INVALID, "nothing after '?'"},
        {"/dev/ttyUSB0?baud=9601", 0, LSWS_ERR_INVALID, "baud 9601 is not a standard rate"},
        {"/dev/ttyUSB0?baud=921600", 0, LSWS_ERR_INVALID, "baud 921600 is not a standard rate"},
        {"/dev/ttyUSB0?baud=0", 0, LSWS_ERR_INVALID, "baud=0 is not a number from 1"},
        {"/dev/ttyUSB0?baud=fast", 0, LSWS_ERR_INVALID, "baud=fast is not a number"},
        {"/dev/ttyUSB0?baud=", 0, LSWS_ERR_INVALID, "option 'baud' has an empty value"},
        {"/dev/ttyUSB0?baud=-9600", 0, LSWS_ERR_INVALID, "baud=-9600 is not a number"},
        {"/dev/ttyUSB0?baud=+9600", 0, LSWS_ERR_INVALID, "is not a number"},
        {"/dev/ttyUSB0?baud=9600 ", 0, LSWS_ERR_INVALID, "is not a number"},
        {"/dev/ttyUSB0?baud=00000000115200", 0, LSWS_ERR_INVALID, "is not a number"},
        {"/dev/ttyUSB0?baud", 0, LSWS_ERR_INVALID, "'baud' is not NAME=VALUE"},
        {"/dev/ttyUSB0?parity=none", 0, LSWS_ERR_INVALID, "unknown option 'parity' for serial: (known: baud, timeout)"},
        {"/dev/ttyUSB0?Baud=9600", 0, LSWS_ERR_INVALID, "bad option name 'Baud'"},
        {"/dev/ttyUSB0?baud=9600&baud=9600", 0, LSWS_ERR_INVALID, "option 'baud' given twice"},
        {"/dev/ttyUSB0?baud=9600&", 0, LSWS_ERR_INVALID, "empty option"},
        {"/dev/ttyUSB0?&baud=9600", 0, LSWS_ERR_INVALID, "empty option"},
        {"/dev/ttyUSB0?baud=9600&stop=2", 0, LSWS_ERR_INVALID, "unknown option 'stop'"},
        {"/dev/lsws-test-no-such-tty", 0, LSWS_ERR_NODEV, "cannot open 'serial:/dev/lsws-test-no-such-tty': no such device"},
        {"/dev/lsws-test-no-such-dir/tty", 0, LSWS_ERR_NODEV, "no such device"},
        {"/dev/null", 0, LSWS_ERR_NODEV, "cannot open 'serial:/dev/null': not a serial port"},
        {"/dev/null?baud=9600", 0, LSWS_ERR_NODEV, "not a serial port (no /sys/class/tty entry) (libserialport: No such file or directory)"},
        {"/tmp", 0, LSWS_ERR_NODEV, "cannot open 'serial:/tmp': not a serial port (not a device under /dev) (libserialport: device not found)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct uri_case *c = &cases[i];
        struct lsws_link_opts o = {0};
        struct lsws_error err;
        lsws_error_clear(&err);
        void *h = NULL;
        int rc = open_uri(c->rest, &o, &h, &err);
        if (rc != c->code || !strstr(err.msg, c->fragment))
            fail_msg("serial:%s: got %d '%s', want %d with '%s'", c->rest, rc, err.msg, c->code, c->fragment);
        assert_null(h);
        assert_int_equal(err.code, rc);
        /* Every message names the URI as given. */
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'serial:%s'", c->rest);
        if (!strstr(err.msg, quoted))
            fail_msg("message '%s' does not name %s", err.msg, quoted);
    }
    /* A URI longer than any device name. */
    char rest[LSWS_URI_MAX + 8] = "/dev/";
    memset(rest + 5, 'x', sizeof rest - 6);
    rest[sizeof rest - 1] = '\0';
    struct lsws_error err;
    lsws_error_clear(&err);
    void *h = NULL;
    assert_int_equal(open_uri(rest, NULL, &h, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "device URI 'serial:/dev/xxx"));
    assert_non_null(strstr(err.msg, "longer than"));
    assert_null(h);
}

/* The same pty opened by a process without the shim: libserialport alone
 * refuses it, with a message that says why. */
static char self_exe[4096];

static int child_open(const char *path)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    void *h = NULL;
    struct lsws_link_opts o = {0};
    int rc = open_uri(path, &o, &h, &err);
    printf("%s|%d|%s\n", dlsym(RTLD_DEFAULT, "lsws_ptyshim_loaded") ? "shim" : "noshim", rc, err.msg);
    if (h)
        T.close(h);
    return 0;
}

static void test_pty_needs_the_shim(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        unsetenv("LD_PRELOAD");
        char *args[] = {self_exe, (char *)"--open-without-shim", p.path, NULL};
        execv(self_exe, args);
        _exit(127);
    }
    close(fds[1]);
    char out[512] = "";
    size_t n = 0;
    ssize_t r;
    while (n + 1 < sizeof out && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char want[256];
    snprintf(want, sizeof want, "noshim|%d|cannot open 'serial:%s': libserialport cannot open pseudo-terminals",
             LSWS_ERR_NODEV, p.path);
    if (strncmp(out, want, strlen(want)) != 0)
        fail_msg("without the shim: '%s', want '%s...'", out, want);
    pty_close(&p);
}

static void test_open_sets_raw_8n1(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    /* Leave the line as a previous user might: cooked, echo, XON/XOFF,
     * RTS/CTS, two stop bits, 9600. */
    int s = open(p.path, O_RDWR | O_NOCTTY);
    assert_true(s >= 0);
    struct termios t;
    assert_int_equal(tcgetattr(s, &t), 0);
    t.c_iflag |= IXON | IXOFF | ICRNL;
    t.c_oflag |= OPOST | ONLCR;
    t.c_lflag |= ICANON | ECHO | ISIG | IEXTEN;
    t.c_cflag |= CRTSCTS | CSTOPB;
    cfsetispeed(&t, B9600);
    cfsetospeed(&t, B9600);
    assert_int_equal(tcsetattr(s, TCSANOW, &t), 0);
    assert_int_equal(tcgetattr(s, &t), 0);
    assert_true(t.c_cflag & CRTSCTS); /* a pty keeps it: the check below means something */

    static const struct {
        const char *query;
        unsigned opt_baud;
        speed_t speed;
    } runs[] = {{"?baud=57600", 0, B57600}, {"", 0, B115200}, {"?baud=9600", 0, B9600}, {"?baud=460800", 0, B460800}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char rest[128];
        snprintf(rest, sizeof rest, "%s%s", p.path, runs[i].query);
        void *h = open_link(rest, 0);
        assert_int_equal(tcgetattr(s, &t), 0);
        assert_int_equal(cfgetospeed(&t), runs[i].speed);
        assert_int_equal(cfgetispeed(&t), runs[i].speed);
        assert_int_equal(t.c_cflag & CSIZE, CS8);
        assert_false(t.c_cflag & (PARENB | CSTOPB | CRTSCTS));
        assert_true(t.c_cflag & CLOCAL);
        assert_false(t.c_iflag & (IXON | IXOFF | IXANY | ICRNL | INLCR | IGNCR | ISTRIP));
        assert_false(t.c_oflag & OPOST);
        assert_false(t.c_lflag & (ICANON | ECHO | ISIG | IEXTEN));
        T.close(h);
    }
    close(s);
    pty_close(&p);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    void *h = open_link(p.path, 0);
    struct peer peer;
    peer_start(&peer, p.master, PEER_ECHO);
    /* Bytes a cooked line or XON/XOFF would eat or change, and the flags. */
    static const uint8_t special[] = {0x7e, 0x7d, 0x11, 0x13, 0x0d, 0x0a, 0x00, 0x03, 0x04, 0x1a, 0x7f, 0xff, 0x5e, 0x5d};
    static uint8_t msg[LSWS_MSG_MAX], want[LSWS_MSG_MAX], got[LSWS_MSG_MAX], frame[LSWS_FRAME_MAX];
    unsigned long wire_out = 0;
    srand(42);
    const int rounds = 120;
    for (int i = 0; i < rounds; i++) {
        size_t len = i == 0 ? 3 : i == 1 ? LSWS_MSG_MAX : 3 + (size_t)rand() % (LSWS_MSG_MAX - 2);
        for (size_t k = 0; k < len; k++)
            msg[k] = rand() % 2 ? special[(size_t)rand() % sizeof special] : (uint8_t)rand();
        msg[1] = (uint8_t)i;
        send_ok(h, msg, len);
        wire_out += peer_frame(msg, len, frame);
        memcpy(want, msg, len);
        want[2] ^= 0x80;
        size_t n = recv_ok(h, got, sizeof got, 3000);
        assert_int_equal(n, len);
        assert_memory_equal(got, want, len);
    }
    peer_stop(&peer);
    assert_int_equal(atomic_load(&peer.requests), rounds);
    assert_int_equal(atomic_load(&peer.bad_frames), 0);
    assert_int_equal(atomic_load(&peer.bad_escapes), 0);
    /* The wire counters count frames, framing included. */
    unsigned long sent = 0, received = 0;
    T.wire_bytes(h, &sent, &received);
    assert_int_equal(sent, wire_out);
    assert_int_equal(received, peer.wire_out);
    T.close(h);
    pty_close(&p);
}

static void test_split_and_queued_frames(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    void *h = open_link(p.path, 0);
    const uint8_t a[] = {0x01, 0x10, 0x81, 0x00, 0x7e, 0x7d, 0x11}, b[] = {0x01, 0x11, 0x83, 0x00};
    uint8_t fa[64], fb[64], got[LSWS_MSG_MAX];
    size_t na = peer_frame(a, sizeof a, fa), nb = peer_frame(b, sizeof b, fb);

    /* Half a frame now, the rest 150 ms later: recv waits and joins them. */
    write_all(p.master, fa, na / 2);
    struct later l = {.fd = p.master, .len = na - na / 2, .delay_ms = 150};
    memcpy(l.bytes, fa + na / 2, l.len);
    assert_int_equal(pthread_create(&l.th, NULL, later_main, &l), 0);
    double t0 = now_ms();
    size_t n = recv_ok(h, got, sizeof got, 3000);
    double took = now_ms() - t0;
    pthread_join(l.th, NULL);
    assert_int_equal(n, sizeof a);
    assert_memory_equal(got, a, sizeof a);
    assert_true(took >= 100 && took < 2000);

    /* Two frames and noise in one write: one message per recv, the second
     * from what was already read. */
    uint8_t both[160];
    size_t k = 0;
    both[k++] = 0x00; /* line noise before the first flag */
    both[k++] = 0xff;
    memcpy(both + k, fa, na);
    k += na;
    memcpy(both + k, fb, nb);
    k += nb;
    write_all(p.master, both, k);
    n = recv_ok(h, got, sizeof got, 1000);
    assert_int_equal(n, sizeof a);
    assert_memory_equal(got, a, sizeof a);
    n = recv_ok(h, got, sizeof got, 1000);
    assert_int_equal(n, sizeof b);
    assert_memory_equal(got, b, sizeof b);

    /* A message larger than the caller's buffer is an error, not a cut. */
    write_all(p.master, fa, na);
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(T.recv(h, got, 4, &n, 1000, &err), LSWS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "does not fit"));
    T.close(h);
    pty_close(&p);
}

static void test_bad_frames_dropped(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    void *h = open_link(p.path, 0);
    const uint8_t req[] = {0x01, 0x20, 0x01}, resp[] = {0x01, 0x20, 0x81, 0x00, 0x42};
    uint8_t good[64], bad[64], got[LSWS_MSG_MAX];
    size_t ng = peer_frame(resp, sizeof resp, good);
    memcpy(bad, good, ng);
    bad[5] ^= 0x04; /* one payload bit flipped: the CRC no longer matches */

    /* The peer answers a request with a corrupted frame, a frame longer than
     * any message, a too-short frame, then the good one. */
    send_ok(h, req, sizeof req);
    struct peer_rx rx;
    memset(&rx, 0, sizeof rx);
    assert_int_equal(peer_read(p.master, &rx, 2000), 1);
    assert_int_equal(rx.mlen, sizeof req);
    assert_memory_equal(rx.msg, req, sizeof req);
    static uint8_t junk[LSWS_MSG_MAX + 100];
    memset(junk, 0x55, sizeof junk);
    junk[0] = 0x7e;
    junk[sizeof junk - 1] = 0x7e;
    write_all(p.master, bad, ng);
    write_all(p.master, junk, sizeof junk);
    write_all(p.master, (const uint8_t *)"\x7e\x01\x02\x7e", 4);
    write_all(p.master, good, ng);
    size_t n = recv_ok(h, got, sizeof got, 2000);
    assert_int_equal(n, sizeof resp);
    assert_memory_equal(got, resp, sizeof resp);

    /* Only a bad frame: waiting goes on to the timeout, which says so. */
    write_all(p.master, bad, ng);
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(T.recv(h, got, sizeof got, &n, 300, &err), LSWS_ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "within 300 ms (1 bad frame dropped, last: frame CRC mismatch"));
    T.close(h);
    pty_close(&p);
}

static void test_timeout(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    void *h = open_link(p.path, 0);
    const uint8_t req[] = {0x01, 0x30, 0x01};
    send_ok(h, req, sizeof req); /* nobody answers */
    uint8_t got[LSWS_MSG_MAX];
    size_t n = 0;
    static const int timeouts[] = {300, 100, 0};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        struct lsws_error err;
        lsws_error_clear(&err);
        double t0 = now_ms();
        assert_int_equal(T.recv(h, got, sizeof got, &n, timeouts[i], &err), LSWS_ERR_TIMEOUT);
        double took = now_ms() - t0;
        if (took < timeouts[i] - 5 || took > timeouts[i] + 250)
            fail_msg("a %d ms timeout took %.0f ms", timeouts[i], took);
        char want[160];
        snprintf(want, sizeof want, "no answer from 'serial:%s' within %d ms", p.path, timeouts[i]);
        assert_string_equal(err.msg, want);
    }
    /* A zero timeout still takes what has already arrived. */
    const uint8_t resp[] = {0x01, 0x30, 0x81, 0x00};
    uint8_t frame[32];
    write_all(p.master, frame, peer_frame(resp, sizeof resp, frame));
    sleep_ms(100);
    assert_int_equal(recv_ok(h, got, sizeof got, 0), sizeof resp);
    assert_memory_equal(got, resp, sizeof resp);
    T.close(h);
    pty_close(&p);
}

static void test_peer_hangs_up(void **state)
{
    (void)state;
    uint8_t got[LSWS_MSG_MAX];
    const uint8_t req[] = {0x01, 0x40, 0x01};
    size_t n = 0;
    struct lsws_error err;
    char want[128];

    /* The peer closes while recv waits: NODEV long before the timeout. */
    struct pty p;
    pty_open(&p);
    void *h = open_link(p.path, 0);
    send_ok(h, req, sizeof req);
    struct later l = {.fd = p.master, .delay_ms = 150, .close_it = 1};
    assert_int_equal(pthread_create(&l.th, NULL, later_main, &l), 0);
    lsws_error_clear(&err);
    double t0 = now_ms();
    assert_int_equal(T.recv(h, got, sizeof got, &n, 5000, &err), LSWS_ERR_NODEV);
    double took = now_ms() - t0;
    pthread_join(l.th, NULL);
    p.master = -1;
    if (took < 100 || took > 1500)
        fail_msg("hang-up noticed after %.0f ms", took);
    snprintf(want, sizeof want, "'serial:%s': link closed", p.path);
    assert_non_null(strstr(err.msg, want));
    /* And it stays closed. */
    lsws_error_clear(&err);
    assert_int_equal(T.send(h, req, sizeof req, &err), LSWS_ERR_NODEV);
    assert_int_equal(T.recv(h, got, sizeof got, &n, 100, &err), LSWS_ERR_NODEV);
    T.close(h);

    /* The peer is gone before a send: the write fails with NODEV. */
    pty_open(&p);
    h = open_link(p.path, 0);
    pty_close(&p);
    lsws_error_clear(&err);
    assert_int_equal(T.send(h, req, sizeof req, &err), LSWS_ERR_NODEV);
    assert_non_null(strstr(err.msg, "link closed"));
    T.close(h);

    /* ... and before a recv. */
    pty_open(&p);
    h = open_link(p.path, 0);
    pty_close(&p);
    lsws_error_clear(&err);
    t0 = now_ms();
    assert_int_equal(T.recv(h, got, sizeof got, &n, 5000, &err), LSWS_ERR_NODEV);
    assert_true(now_ms() - t0 < 1000);
    T.close(h);
}

static size_t to_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    return 2 * n;
}

/* Runs one exchange (a request, then a corrupted and a good answer) with
 * stderr captured; returns what the transport printed. */
static void traced_exchange(int trace, char *out, size_t cap, uint8_t *fbad, size_t *nbad, uint8_t *fgood,
                            size_t *ngood, uint8_t *freq, size_t *nreq)
{
    struct pty p;
    pty_open(&p);
    char tmpl[] = "/tmp/lsws-test-serial-XXXXXX";
    int tfd = mkstemp(tmpl);
    assert_true(tfd >= 0);
    unlink(tmpl);
    fflush(stderr);
    int saved = dup(2);
    dup2(tfd, 2);

    void *h = open_link(p.path, trace);
    const uint8_t req[] = {0x01, 0x05, 0x01}, resp[] = {0x01, 0x05, 0x81, 0x00, 0x7e};
    send_ok(h, req, sizeof req);
    *nreq = peer_frame(req, sizeof req, freq);
    struct peer_rx rx;
    memset(&rx, 0, sizeof rx);
    int got_req = peer_read(p.master, &rx, 2000);
    *ngood = peer_frame(resp, sizeof resp, fgood);
    memcpy(fbad, fgood, *ngood);
    fbad[2] ^= 0x01;
    *nbad = *ngood;
    write_all(p.master, fbad, *nbad);
    write_all(p.master, fgood, *ngood);
    uint8_t got[64];
    size_t n = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = T.recv(h, got, sizeof got, &n, 2000, &err);
    T.close(h);
    pty_close(&p);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(got_req, 1);
    assert_int_equal(rc, LSWS_OK);
    assert_int_equal(n, sizeof resp);
    ssize_t r = pread(tfd, out, cap - 1, 0);
    close(tfd);
    out[r > 0 ? r : 0] = '\0';
}

static void test_trace(void **state)
{
    (void)state;
    static char out[8192];
    uint8_t fbad[64], fgood[64], freq[64];
    size_t nbad, ngood, nreq;
    traced_exchange(1, out, sizeof out, fbad, &nbad, fgood, &ngood, freq, &nreq);
    /* One line per frame: "> " sent, "< " received, in hex as on the wire,
     * and a dropped frame says why. */
    char want[1024];
    size_t k = 0;
    want[k++] = '>';
    want[k++] = ' ';
    k += to_hex(freq, nreq, want + k);
    want[k++] = '\n';
    want[k++] = '<';
    want[k++] = ' ';
    k += to_hex(fbad, nbad, want + k);
    want[k] = '\0';
    k += (size_t)sprintf(want + k, " (dropped: frame CRC mismatch (");
    if (strncmp(out, want, k) != 0)
        fail_msg("trace:\n%s\nwant it to start with:\n%s", out, want);
    const char *third = strchr(strchr(out, '\n') + 1, '\n');
    assert_non_null(third);
    k = 0;
    want[k++] = '<';
    want[k++] = ' ';
    k += to_hex(fgood, ngood, want + k);
    want[k++] = '\n';
    want[k] = '\0';
    assert_string_equal(third + 1, want);

    /* Without trace, nothing at all. */
    traced_exchange(0, out, sizeof out, fbad, &nbad, fgood, &ngood, freq, &nreq);
    assert_string_equal(out, "");
}

static int found_uri(const struct lsws_found *dev, void *ctx)
{
    unsigned *count = ctx;
    if (strncmp(dev->uri, "serial:/dev/", 12) != 0)
        fail_msg("listed '%s'", dev->uri);
    print_message("listed %s\n", dev->uri);
    (*count)++;
    return 0;
}

static void test_list(void **state)
{
    (void)state;
    unsigned count = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(T.discover(100, found_uri, &count, &err), LSWS_OK);
    print_message("serial ports on this machine: %u\n", count);
}

/* The protocol client over the serial transport: IDENTIFY, the first answer
 * lost, the retry answered. */
static void test_client_identify(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    struct peer peer;
    peer_start(&peer, p.master, PEER_IDENTIFY);
    peer.drop_first = 1;
    struct lsws_link_opts o = {0};
    struct lsws_client *c = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    char rest[96];
    struct lsws_uri u;
    snprintf(rest, sizeof rest, "%s?baud=115200", p.path);
    if (parse(rest, &u, &err) != LSWS_OK || lsws_client_open(&u, &o, &c, &err) != LSWS_OK)
        fail_msg("client open: %s", err.msg);
    lsws_client_set_timeout(c, 300, 3);
    struct lsws_device_info info;
    memset(&info, 0, sizeof info);
    if (lsws_client_identify(c, &info, &err) != LSWS_OK)
        fail_msg("identify: %s", err.msg);
    assert_int_equal(info.model, LSWS_MODEL_WS523);
    assert_string_equal(info.sn, peer_info.sn);
    assert_memory_equal(info.dev_eui, peer_info.dev_eui, 8);
    assert_int_equal(info.fw, 0x0108);
    struct lsws_client_stats st;
    lsws_client_stats(c, &st);
    assert_int_equal(st.retries, 1);
    lsws_client_close(c);
    peer_stop(&peer);
    assert_int_equal(atomic_load(&peer.requests), 2);
    assert_int_equal(atomic_load(&peer.bad_frames), 0);
    pty_close(&p);
}

/* ---- running with the shim ----------------------------------------------------- */

static int shim_active(void)
{
    return dlsym(RTLD_DEFAULT, "lsws_ptyshim_loaded") != NULL;
}

/* The AddressSanitizer runtime this program loaded, if any: it must come
 * first in LD_PRELOAD, before the shim. */
static int find_asan(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, "/libasan.so")) {
        snprintf(ctx, 4096, "%s", info->dlpi_name);
        return 1;
    }
    return 0;
}

static int reexec_with_shim(char **argv)
{
    const char *shim = getenv("LSWS_PTYSHIM");
    if (!shim || !*shim) {
        fprintf(stderr, "test_serial: skipped: LSWS_PTYSHIM does not name the pty shim (ctest sets it)\n");
        return 77;
    }
    if (getenv("LSWS_TEST_SERIAL_REEXEC")) {
        fprintf(stderr, "test_serial: LD_PRELOAD=%s did not load the shim\n", getenv("LD_PRELOAD"));
        return 1;
    }
    char asan[4096] = "", preload[3 * 4096];
    dl_iterate_phdr(find_asan, asan);
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s%s%s", asan, *asan ? ":" : "", shim, old && *old ? ":" : "",
             old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    setenv("LSWS_TEST_SERIAL_REEXEC", "1", 1);
    execv(self_exe, argv);
    fprintf(stderr, "test_serial: cannot run %s again: %s\n", self_exe, strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n <= 0) {
        fprintf(stderr, "test_serial: cannot find myself: %s\n", strerror(errno));
        return 1;
    }
    self_exe[n] = '\0';
    if (argc == 3 && strcmp(argv[1], "--open-without-shim") == 0)
        return child_open(argv[2]);
    if (!shim_active())
        return reexec_with_shim(argv);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_crc),
        cmocka_unit_test(test_bad_uris),
        cmocka_unit_test(test_pty_needs_the_shim),
        cmocka_unit_test(test_open_sets_raw_8n1),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_split_and_queued_frames),
        cmocka_unit_test(test_bad_frames_dropped),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_peer_hangs_up),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_client_identify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
