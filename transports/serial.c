/* The serial transport: lsws messages over a serial port with libserialport
 * (factory jigs, USB readers that appear as a serial port, devices with a
 * UART/USB configuration port).
 *
 *   serial:/dev/ttyUSB0[?baud=115200]          8N1, no flow control
 *
 * Framing (docs/protocol.md, "Serial"): 7e | stuffed(message | CRC-16) | 7e,
 * by lsws_frame_encode / lsws_deframer_* in lib/frame_serial.c. A bad frame
 * (CRC, too short, too long) is dropped and waiting goes on; the protocol
 * client's retry covers the loss. docs/serial.md has the details.
 *
 * Every libserialport failure is translated here into an LSWS_ERR_* code with
 * a message naming the URI and carrying sp_last_error_message(), which is
 * freed with sp_free_error_message(). libserialport is used unmodified. */
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <time.h>

#include <libserialport.h>

#define SERIAL_DEFAULT_BAUD 115200u
#define SERIAL_URI_MAX 512
/* recv reads in slices so that a link that hangs up (read() returning 0,
 * which libserialport's blocking reads do not report) is noticed quickly. */
#define SERIAL_SLICE_MS 50

/* libserialport 0.1.1's standard rates on Linux (plain termios speeds);
 * others would need termios2, which its Debian build may lack. */
static const unsigned std_rates[] = {50,   75,   110,  134,   150,   200,   300,    600,    1200,  1800,
                                     2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800};
#define STD_RATES_TEXT "1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800 (or 50-600, 1800)"

struct serial_link {
    struct sp_port *port;
    char uri[LSWS_URI_MAX]; /* "serial:..." for messages */
    unsigned baud;
    struct lsws_link_opts opts;
    int closed; /* the link went away: every later call says so */
    unsigned long sent, received;
    struct lsws_deframer df;
    uint8_t rx[512]; /* bytes read but not yet fed to the deframer */
    size_t rx_pos, rx_len;
    uint8_t raw[LSWS_FRAME_MAX]; /* trace: raw bytes of the frame being received */
    size_t raw_len;
    unsigned long raw_extra; /* trace: bytes beyond raw[] */
    uint8_t tx[LSWS_FRAME_MAX];
};

/* ---- errors ---------------------------------------------------------------- */

static int errno_gone(int e)
{
    return e == EIO || e == ENXIO || e == ENODEV || e == EPIPE || e == EBADF;
}

/* Translates a libserialport failure ret of an operation on uri (what:
 * "cannot open") into code, with libserialport's own message. The message is
 * taken before anything else can change errno and freed with libserialport's
 * own function. */
static int sp_fail(struct lsws_error *err, int code, enum sp_return ret, const char *what, const char *uri,
                   const char *hint)
{
    char *m = sp_last_error_message();
    const char *kind = ret == SP_ERR_ARG ? "invalid argument: "
                       : ret == SP_ERR_MEM ? "out of memory: "
                       : ret == SP_ERR_SUPP ? "not supported by the port: "
                                            : "";
    if (ret == SP_ERR_MEM)
        code = LSWS_ERR_NOMEM;
    lsws_fail(err, code, SIZE_MAX, "%s '%s': %s%s%s", what, uri, kind, m ? m : "libserialport error",
              hint ? hint : "");
    sp_free_error_message(m);
    return code;
}

/* ---- URI ------------------------------------------------------------------- */

static int std_rate(unsigned long v)
{
    for (size_t i = 0; i < sizeof std_rates / sizeof std_rates[0]; i++)
        if (std_rates[i] == v)
            return 1;
    return 0;
}

static const char *const serial_options[] = {"baud", NULL};

/* The path and the baud of a serial: URI (option names were checked by
 * lsws_uri_parse); the baud is one of the standard rates. */
static int parse_uri(const struct lsws_uri *uri, char *path, size_t cap, unsigned *baud, struct lsws_error *err)
{
    if (!uri->path[0])
        return lsws_fail(err, LSWS_ERR_INVALID, 0, "invalid URI '%s': no device path (serial:/dev/ttyUSB0[?baud=115200])",
                         uri->text);
    if (uri->path[0] != '/')
        return lsws_fail(err, LSWS_ERR_INVALID, 0,
                         "invalid URI '%s': the device path must be absolute, like serial:/dev/ttyUSB0", uri->text);
    if (strlen(uri->path) >= cap)
        return lsws_fail(err, LSWS_ERR_INVALID, 0, "invalid URI '%s': device path too long", uri->text);
    snprintf(path, cap, "%s", uri->path);
    int rc = lsws_uri_opt_uint(uri, "baud", 1, 4000000, SERIAL_DEFAULT_BAUD, baud, err);
    if (rc == LSWS_OK && !std_rate(*baud))
        rc = lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                       "invalid URI '%s': baud %u is not a standard rate (" STD_RATES_TEXT ")", uri->text, *baud);
    return rc;
}

/* ---- trace ------------------------------------------------------------------- */

/* Hands one frame to the caller's trace callback (opts->trace): the only
 * output a transport makes, and only when asked. */
static void trace_frame(const struct serial_link *l, char dir, const uint8_t *bytes, size_t len,
                        unsigned long extra, const char *note)
{
    char why[320];
    if (extra)
        snprintf(why, sizeof why, "%s%s%lu more bytes not shown", note ? note : "", note ? "; " : "", extra);
    l->opts.trace(l->opts.trace_ctx, dir, bytes, len, extra ? why : note);
}

static void trace_collect(struct serial_link *l, const uint8_t *in, size_t len)
{
    if (!l->opts.trace)
        return;
    size_t room = sizeof l->raw - l->raw_len, take = len < room ? len : room;
    memcpy(l->raw + l->raw_len, in, take);
    l->raw_len += take;
    l->raw_extra += len - take;
}

/* ---- the vtable ---------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void serial_close(void *h)
{
    struct serial_link *l = h;
    if (!l)
        return;
    if (l->port) {
        sp_close(l->port); /* nothing useful to do with a failure here */
        sp_free_port(l->port);
    }
    free(l);
}

/* Puts the opened port in raw 8N1 at the baud, with no flow control. */
static int configure(struct serial_link *l, struct lsws_error *err)
{
    struct sp_port_config *cfg = NULL;
    enum sp_return ret = sp_new_config(&cfg);
    if (ret == SP_OK)
        ret = sp_set_config_baudrate(cfg, (int)l->baud);
    if (ret == SP_OK)
        ret = sp_set_config_bits(cfg, 8);
    if (ret == SP_OK)
        ret = sp_set_config_parity(cfg, SP_PARITY_NONE);
    if (ret == SP_OK)
        ret = sp_set_config_stopbits(cfg, 1);
    if (ret == SP_OK)
        ret = sp_set_config_flowcontrol(cfg, SP_FLOWCONTROL_NONE);
    if (ret == SP_OK)
        ret = sp_set_config(l->port, cfg);
    if (ret != SP_OK) {
        char what[64];
        snprintf(what, sizeof what, "cannot set %u 8N1 on", l->baud);
        int rc = sp_fail(err, LSWS_ERR_IO, ret, what, l->uri, NULL);
        sp_free_config(cfg);
        return rc;
    }
    sp_free_config(cfg);

    /* libserialport 0.1.1 looks for CRTSCTS in c_iflag instead of c_cflag,
     * so RTS/CTS flow control left on by a previous program survives
     * SP_FLOWCONTROL_NONE. Clear it on the descriptor it gives us. */
    int fd = -1;
    struct termios t;
    if (sp_get_port_handle(l->port, &fd) == SP_OK && fd >= 0 && tcgetattr(fd, &t) == 0 && (t.c_cflag & CRTSCTS)) {
        t.c_cflag &= ~(tcflag_t)CRTSCTS;
        if (tcsetattr(fd, TCSANOW, &t) < 0)
            return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot turn off RTS/CTS flow control on '%s': %s",
                             l->uri, strerror(errno));
    }
    /* Bytes that arrived before we opened are not answers to us. */
    ret = sp_flush(l->port, SP_BUF_INPUT);
    if (ret != SP_OK)
        return sp_fail(err, LSWS_ERR_IO, ret, "cannot flush", l->uri, NULL);
    return LSWS_OK;
}

/* An exclusive advisory lock on the open port (flock, as other serial
 * tools take it), released when the descriptor closes. TIOCEXCL would not
 * stop root, who runs factory stations. */
static int lock_port(struct serial_link *l, struct lsws_error *err)
{
    int fd = -1;
    if (sp_get_port_handle(l->port, &fd) != SP_OK || fd < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot lock '%s': no descriptor", l->uri);
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return LSWS_OK;
    if (errno == EWOULDBLOCK)
        return lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX, "cannot open '%s': busy: another program has it open", l->uri);
    return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot lock '%s': %s", l->uri, strerror(errno));
}

static int serial_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h,
                       struct lsws_error *err)
{
    *h = NULL;
    struct serial_link *l = calloc(1, sizeof *l);
    if (!l)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    snprintf(l->uri, sizeof l->uri, "%s", uri->text);
    if (opts)
        l->opts = *opts;
    lsws_deframer_init(&l->df);

    char path[SERIAL_URI_MAX + 1], real[PATH_MAX];
    int rc = parse_uri(uri, path, sizeof path, &l->baud, err);
    if (rc != LSWS_OK) {
        free(l);
        return rc;
    }
    /* libserialport finds a port by its /dev name's /sys/class/tty entry, so
     * stable symlinks (/dev/serial/by-id/...) are resolved first. */
    if (!realpath(path, real)) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            rc = lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "cannot open '%s': no such device", l->uri);
        else
            rc = lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "cannot open '%s': %s", l->uri, strerror(e));
        free(l);
        return rc;
    }

    errno = 0; /* libserialport sets it only for some of its refusals */
    enum sp_return ret = sp_get_port_by_name(real, &l->port);
    if (ret != SP_OK) {
        l->port = NULL;
        if (ret == SP_ERR_MEM) {
            rc = sp_fail(err, LSWS_ERR_NOMEM, ret, "cannot open", l->uri, NULL);
        } else {
            /* It exists (realpath found it), but libserialport knows it not:
             * it needs /dev/NAME with a /sys/class/tty/NAME entry. */
            int e = sp_last_error_code();
            char *m = sp_last_error_message();
            const char *why = strncmp(real, "/dev/pts/", 9) == 0 ? "libserialport cannot open pseudo-terminals"
                              : strncmp(real, "/dev/", 5) != 0   ? "not a serial port (not a device under /dev)"
                                                                 : "not a serial port (no /sys/class/tty entry)";
            rc = lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "cannot open '%s': %s (libserialport: %s)", l->uri, why,
                           e && m ? m : "device not found");
            sp_free_error_message(m);
        }
        serial_close(l);
        return rc;
    }
    ret = sp_open(l->port, SP_MODE_READ_WRITE);
    if (ret != SP_OK) {
        int e = sp_last_error_code();
        rc = sp_fail(err, LSWS_ERR_NODEV, ret, "cannot open", l->uri,
                     e == EACCES ? " (is the user in the dialout group?)" : NULL);
        sp_free_port(l->port);
        l->port = NULL;
        serial_close(l);
        return rc;
    }
    /* Before touching the port's settings: one program at a time, or the
     * second would take the first one's answers. */
    if ((rc = lock_port(l, err)) != LSWS_OK || (rc = configure(l, err)) != LSWS_OK) {
        serial_close(l);
        return rc;
    }
    *h = l;
    return LSWS_OK;
}

static int link_closed(struct serial_link *l, struct lsws_error *err)
{
    l->closed = 1;
    return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': link closed", l->uri);
}

static int serial_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    struct serial_link *l = h;
    if (l->closed)
        return link_closed(l, err);
    size_t n = 0;
    if (lsws_frame_encode(msg, len, l->tx, sizeof l->tx, &n) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "message of %zu bytes for '%s' is larger than %d bytes",
                         len, l->uri, LSWS_MSG_MAX);
    if (l->opts.trace)
        trace_frame(l, '>', l->tx, n, 0, NULL);
    /* Twice the time the bytes take on the wire (10 bits a byte), plus 1 s. */
    unsigned timeout = (unsigned)(n * 10u * 1000u * 2u / l->baud) + 1000u;
    int w = sp_blocking_write(l->port, l->tx, n, timeout);
    if (w < 0) {
        int e = sp_last_error_code();
        if (w == SP_ERR_FAIL && errno_gone(e)) {
            char *m = sp_last_error_message();
            lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': link closed (%s)", l->uri, m ? m : "write failed");
            sp_free_error_message(m);
            l->closed = 1;
            return LSWS_ERR_NODEV;
        }
        return sp_fail(err, LSWS_ERR_IO, (enum sp_return)w, "cannot write to", l->uri, NULL);
    }
    l->sent += (unsigned long)w;
    if ((size_t)w < n)
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "'%s': only %d of %zu bytes sent within %u ms", l->uri,
                         w, n, timeout);
    return LSWS_OK;
}

/* 1 when the other end hung up (pty master closed, USB adapter unplugged):
 * poll() says POLLHUP/POLLERR and read() returns 0. */
static int hung_up(struct serial_link *l)
{
    int fd = -1;
    if (sp_get_port_handle(l->port, &fd) != SP_OK || fd < 0)
        return 1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static int serial_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    struct serial_link *l = h;
    if (l->closed)
        return link_closed(l, err);
    if (timeout_ms < 0)
        timeout_ms = 0;
    double deadline = now_ms() + timeout_ms;
    unsigned dropped = 0;
    int looked = 0; /* read the port at least once */
    char why[sizeof ((struct lsws_error *)0)->msg] = "";
    for (;;) {
        while (l->rx_pos < l->rx_len) {
            const uint8_t *msg = NULL;
            size_t used = 0, mlen = 0;
            struct lsws_error ferr;
            lsws_error_clear(&ferr);
            int rc = lsws_deframer_feed(&l->df, l->rx + l->rx_pos, l->rx_len - l->rx_pos, &used, &msg, &mlen, &ferr);
            trace_collect(l, l->rx + l->rx_pos, used);
            l->rx_pos += used;
            if (rc == 0)
                continue;
            if (l->opts.trace) {
                char note[sizeof ferr.msg + 16];
                snprintf(note, sizeof note, "dropped: %s", ferr.msg);
                trace_frame(l, '<', l->raw, l->raw_len, l->raw_extra, rc < 0 ? note : NULL);
            }
            l->raw_len = 0;
            l->raw_extra = 0;
            if (rc < 0) {
                dropped++;
                snprintf(why, sizeof why, "%s", ferr.msg);
                continue;
            }
            if (mlen > cap)
                return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                                 "message of %zu bytes from '%s' does not fit in %zu bytes", mlen, l->uri, cap);
            memcpy(buf, msg, mlen);
            *len = mlen;
            return LSWS_OK;
        }
        l->rx_pos = l->rx_len = 0;
        double left = deadline - now_ms();
        int n;
        if (left > 0) {
            unsigned slice = left < SERIAL_SLICE_MS ? (unsigned)left + 1 : SERIAL_SLICE_MS;
            n = sp_blocking_read_next(l->port, l->rx, sizeof l->rx, slice);
        } else if (!looked) {
            n = sp_nonblocking_read(l->port, l->rx, sizeof l->rx); /* timeout 0: what is there */
        } else {
            break;
        }
        looked = 1;
        if (n < 0) {
            int e = sp_last_error_code();
            if (n == SP_ERR_FAIL && errno_gone(e)) {
                char *m = sp_last_error_message();
                lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': link closed (%s)", l->uri, m ? m : "read failed");
                sp_free_error_message(m);
                l->closed = 1;
                return LSWS_ERR_NODEV;
            }
            return sp_fail(err, LSWS_ERR_IO, (enum sp_return)n, "cannot read from", l->uri, NULL);
        }
        l->rx_len = (size_t)n;
        l->received += (unsigned long)n;
        if (n == 0 && hung_up(l))
            return link_closed(l, err);
    }
    if (dropped)
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX,
                         "no valid frame from '%s' within %d ms (%u bad frame%s dropped, last: %s)", l->uri,
                         timeout_ms, dropped, dropped == 1 ? "" : "s", why);
    return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "no answer from '%s' within %d ms", l->uri, timeout_ms);
}

static int serial_discover(int timeout_ms, lsws_found_fn *found, void *ctx, struct lsws_error *err)
{
    (void)timeout_ms; /* listing ports is instant; identifying them is the caller's probe */
    struct sp_port **ports = NULL;
    enum sp_return ret = sp_list_ports(&ports);
    if (ret != SP_OK)
        return sp_fail(err, ret == SP_ERR_MEM ? LSWS_ERR_NOMEM : LSWS_ERR_IO, ret, "cannot list", "serial ports",
                       NULL);
    /* Only USB serial adapters: a listed port is probed with an IDENTIFY
     * frame, and built-in UARTs often serve other equipment that must not
     * receive stray bytes. Other ports are used by naming them. */
    for (size_t i = 0; ports[i]; i++) {
        const char *name = sp_get_port_name(ports[i]);
        const char *desc = sp_get_port_description(ports[i]);
        struct lsws_found dev = {.rssi = LSWS_FOUND_NO_RSSI, .model = -1};
        if (sp_get_port_transport(ports[i]) != SP_TRANSPORT_USB || !name || strlen(name) > SERIAL_URI_MAX)
            continue;
        snprintf(dev.uri, sizeof dev.uri, "serial:%s", name);
        snprintf(dev.name, sizeof dev.name, "%s", desc ? desc : "");
        snprintf(dev.address, sizeof dev.address, "%s", name);
        if (found(&dev, ctx))
            break;
    }
    sp_free_port_list(ports);
    return LSWS_OK;
}

static void serial_wire_bytes(void *h, unsigned long *sent, unsigned long *received)
{
    const struct serial_link *l = h;
    *sent = l->sent;
    *received = l->received;
}

const struct lsws_transport lsws_transport_serial = {
    .scheme = "serial",
    .help = "serial:/dev/ttyUSB0[?baud=115200]",
    .open = serial_open,
    .close = serial_close,
    .send = serial_send,
    .recv = serial_recv,
    .options = serial_options,
    .flags = LSWS_TRANSPORT_PROBE,
    .discover = serial_discover,
    .wire_bytes = serial_wire_bytes,
    .timeout_ms = 1000,
};
