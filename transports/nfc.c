/* The NFC transport: lsws messages to a WS523 held to a USB NFC reader,
 * with libnfc (1.8).
 *
 *   nfc:                         the first reader libnfc finds ($LIBNFC_DEVICE,
 *                                its configuration file, then its non-intrusive scan)
 *   nfc:pn532_uart:/dev/ttyUSB0  any libnfc connection string
 *   nfc:acr122_usb
 *
 * The unit is an ISO 14443-4A card. open() selects it (InListPassiveTarget
 * with RATS), SELECTs the lsws application by AID, and learns the card's
 * largest message and fragment; each message then travels as MESSAGE APDUs
 * and comes back in the answer to the last one, continued by GET MORE
 * (lib/frame_nfc.c, docs/protocol.md "NFC"). All fragments but the last go
 * out in send(); the last one, whose answer is the response, in recv(), so
 * that a failure there is "sent, answer lost" and one in send() "never
 * arrived whole" (the card drops a partial message).
 *
 * When an APDU fails, libnfc's answer alone cannot tell a lost frame from
 * a card that left the field or a reader that stopped answering, so the
 * transport asks libnfc whether the target is still there
 * (nfc_initiator_target_is_present): present means the answer was lost
 * (LSWS_ERR_TIMEOUT: the client sends the request again, which the device
 * answers from its cache); released means the card left the field, and no
 * answer means the reader stopped answering (LSWS_ERR_NODEV for both).
 *
 * libnfc's errors are translated here with nfc_strerror() (static strings:
 * nothing to free); every path closes the device (nfc_close) and the
 * context (nfc_exit). libnfc prints its own log to stderr (errors at its
 * default level 1); unless LIBNFC_LOG_LEVEL is set, lsws sets it to 0 so
 * that only lsws's translated messages appear. lsws never enables
 * intrusive scanning: discovery lists readers with nfc_list_devices in a
 * context where it is off even if libnfc's configuration allows it, so it
 * never probes serial ports (pn532_uart, the driver libnfc marks
 * intrusive): the transport is not intrusive to scan. Opening `nfc:`
 * takes the first reader as libnfc's configuration says. docs/nfc.md. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <nfc/nfc.h>

#define NFC_DEFAULT_TIMEOUT_MS 1000
#define NFC_POLL_MS 100     /* --wait: look for a card this often */
#define NFC_CLOSE_TIMEOUT_MS 100 /* commands to a reader that stopped answering, on close */
#define NFC_PROBE_TIMEOUT_MS 100 /* is the reader still there? */
#define LIBNFC_TIMEOUT_COMMAND 350 /* libnfc's default command timeout (pn53x_data_new) */
#define NFC_READERS 8

struct nfc_link {
    nfc_context *ctx;
    nfc_device *pnd;
    nfc_target target;
    char uri[LSWS_URI_MAX];
    char reader[128];  /* libnfc's name of the reader */
    char uid[2 * 10 + 1];
    int have_card;     /* a target was selected */
    int lock_fd;       /* the reader's serial port, locked; -1 */
    nfc_connstring conn;
    struct lsws_link_opts opts;
    struct lsws_nfc_app app;
    size_t fragment;   /* message bytes per APDU */
    int timeout_ms;    /* per APDU: the client's, from its last recv */
    int broken;        /* the card left or the reader stopped: every later call says so */
    int reader_lost;   /* ... and it was the reader: renew cannot help */
    int broken_code;
    char broken_msg[sizeof ((struct lsws_error *)0)->msg];
    uint8_t msg[LSWS_MSG_MAX]; /* the request whose last fragment recv() sends */
    size_t msg_len;
    int pending;
    unsigned long sent, received;
};

/* ---- errors ---------------------------------------------------------------- */

/* libnfc logs errors to stderr at its default level: quiet unless asked. */
static void quiet_libnfc(void)
{
    setenv("LIBNFC_LOG_LEVEL", "0", 0);
}

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

/* A libnfc failure res of what (an operation on the reader), with
 * libnfc's own text for it. */
static int nfc_err(struct nfc_link *l, struct lsws_error *err, int code, int res, const char *what)
{
    const char *text = l->pnd ? nfc_strerror(l->pnd) : "no device";
    if (res == NFC_ESOFT)
        code = LSWS_ERR_NOMEM;
    return lsws_fail(err, code, SIZE_MAX, "'%s': %s: %s", l->uri, what, text);
}

/* From now on every call fails the same way. */
static int broken(struct nfc_link *l, struct lsws_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int broken(struct nfc_link *l, struct lsws_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->broken_msg, sizeof l->broken_msg, fmt, ap);
    va_end(ap);
    l->broken = 1;
    l->broken_code = code;
    return lsws_fail(err, code, SIZE_MAX, "%s", l->broken_msg);
}

static int still_broken(const struct nfc_link *l, struct lsws_error *err)
{
    return lsws_fail(err, l->broken_code, SIZE_MAX, "%s", l->broken_msg);
}

static void trace(const struct nfc_link *l, char dir, const uint8_t *b, size_t n, const char *note)
{
    if (l->opts.trace)
        l->opts.trace(l->opts.trace_ctx, dir, b, n, note);
}

/* 1 when the reader itself still answers: one harmless command (the RF
 * field on, as it already is) with a short command timeout. */
static int reader_answers(struct nfc_link *l)
{
    nfc_device_set_property_int(l->pnd, NP_TIMEOUT_COMMAND, NFC_PROBE_TIMEOUT_MS);
    int res = nfc_device_set_property_bool(l->pnd, NP_ACTIVATE_FIELD, true);
    nfc_device_set_property_int(l->pnd, NP_TIMEOUT_COMMAND, LIBNFC_TIMEOUT_COMMAND);
    return res >= 0;
}

/* An APDU exchange failed with res: was the answer lost, did the card
 * leave, or does the reader not answer any more? */
static int lost(struct nfc_link *l, int res, int timeout_ms, struct lsws_error *err)
{
    const char *why = nfc_strerror(l->pnd); /* a static string: read it before the next call */
    if (res == NFC_EOVFLOW)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': the card's answer is larger than an APDU (%s)",
                         l->uri, why);
    if (res != NFC_ERFTRANS && res != NFC_ETIMEOUT && res != NFC_ETGRELEASED && res != NFC_EIO)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "'%s': the reader failed: %s", l->uri, why);
    /* A timeout or an I/O error is the reader's (an RF error is reported
     * by a reader that works): is it still there? */
    if ((res == NFC_ETIMEOUT || res == NFC_EIO) && !reader_answers(l)) {
        trace(l, '<', NULL, 0, "lost: the reader does not answer");
        l->reader_lost = 1;
        if (res == NFC_EIO)
            return broken(l, err, LSWS_ERR_NODEV, "'%s': the reader went away (%s)", l->uri, why);
        return broken(l, err, LSWS_ERR_TIMEOUT, "'%s': the reader stopped answering (no answer within %d ms)",
                      l->uri, timeout_ms);
    }
    int present = nfc_initiator_target_is_present(l->pnd, NULL);
    if (present == NFC_SUCCESS) {
        trace(l, '<', NULL, 0, "lost: the card is still in the field");
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "'%s': no answer from the card within %d ms (%s)", l->uri,
                         timeout_ms, why);
    }
    if (present == NFC_ETGRELEASED || present == NFC_EINVARG) {
        trace(l, '<', NULL, 0, "lost: the card left the field");
        return broken(l, err, LSWS_ERR_NODEV, "'%s': the card left the field", l->uri);
    }
    trace(l, '<', NULL, 0, "lost: the reader does not answer");
    l->reader_lost = 1;
    return broken(l, err, LSWS_ERR_TIMEOUT, "'%s': the reader stopped answering (no answer within %d ms)", l->uri,
                  timeout_ms);
}

/* One APDU exchange. */
static int apdu(struct nfc_link *l, const uint8_t *cmd, size_t clen, uint8_t *resp, size_t cap, size_t *rlen,
                int timeout_ms, struct lsws_error *err)
{
    trace(l, '>', cmd, clen, NULL);
    l->sent += clen;
    int res = nfc_initiator_transceive_bytes(l->pnd, cmd, clen, resp, cap, timeout_ms > 0 ? timeout_ms : 1);
    if (res < 0)
        return lost(l, res, timeout_ms, err);
    *rlen = (size_t)res;
    l->received += (size_t)res;
    trace(l, '<', resp, *rlen, NULL);
    return LSWS_OK;
}

/* An APDU that may go twice without harm (a fragment the card replaces, a
 * GET MORE of one index): once more when only its answer was lost. */
static int apdu_again(struct nfc_link *l, const uint8_t *cmd, size_t clen, uint8_t *resp, size_t cap, size_t *rlen,
                      struct lsws_error *err)
{
    int rc = apdu(l, cmd, clen, resp, cap, rlen, l->timeout_ms, err);
    if (rc == LSWS_ERR_TIMEOUT)
        rc = apdu(l, cmd, clen, resp, cap, rlen, l->timeout_ms, err);
    return rc;
}

/* ---- opening: reader, card, application ----------------------------------------- */

/* The serial port of a reader on one (driver:port[:speed]), in port[0..n);
 * 0 for other readers (USB: libusb claims them for one program). */
static int uart_port(const char *conn, char *port, size_t n)
{
    static const char *const uart_drivers[] = {"pn532_uart:", "arygon:", "acr122s:", NULL};
    for (const char *const *d = uart_drivers; *d; d++) {
        size_t dl = strlen(*d);
        if (strncmp(conn, *d, dl) == 0) {
            snprintf(port, n, "%s", conn + dl);
            port[strcspn(port, ":")] = '\0';
            return 1;
        }
    }
    return 0;
}

/* One program at a time on a reader's serial port: an exclusive flock on
 * the port, held open until close, as the serial transport takes it.
 * (libnfc's own claim, a bit it sets in the port's c_iflag, does not
 * survive on Linux: the tty layer drops it, so it excludes nobody.) */
static int lock_port(struct nfc_link *l, const char *port, struct lsws_error *err)
{
    l->lock_fd = open(port, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (l->lock_fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "cannot open '%s': no reader: %s: %s", l->uri, port,
                             strerror(e));
        return lsws_fail(err, e == EBUSY ? LSWS_ERR_BUSY : LSWS_ERR_NODEV, SIZE_MAX, "cannot open '%s': %s: %s%s",
                         l->uri, port, strerror(e), e == EACCES ? " (is the user in the dialout group?)" : "");
    }
    if (flock(l->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return LSWS_OK;
    if (errno == EWOULDBLOCK)
        return lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX, "cannot open '%s': busy: another program has the reader open",
                         l->uri);
    return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot lock '%s': %s", l->uri, strerror(errno));
}

/* nfc_open gave no device: say why, as precisely as can be found out. */
static int reader_missing(struct nfc_link *l, const char *conn, struct lsws_error *err)
{
    char port[512];
    if (uart_port(conn, port, sizeof port))
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "cannot open '%s': no reader answers on %s", l->uri, port);
    return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "cannot open '%s': libnfc finds no reader '%s'", l->uri, conn);
}

static void uid_text(const nfc_target *t, char *out, size_t n)
{
    size_t len = t->nti.nai.szUidLen < 10 ? t->nti.nai.szUidLen : 10;
    if (n < 2 * len + 1)
        len = (n - 1) / 2;
    lsws_hex_format(t->nti.nai.abtUid, len, out);
}

/* Selects the card in the field, waiting up to wait_ms (-1: without end). */
static int select_card(struct nfc_link *l, int wait_ms, struct lsws_error *err)
{
    const nfc_modulation nm = {.nmt = NMT_ISO14443A, .nbr = NBR_106};
    double until = now_ms() + (wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        int res = nfc_initiator_select_passive_target(l->pnd, nm, NULL, 0, &l->target);
        if (res == NFC_ETIMEOUT) {
            l->reader_lost = 1;
            return broken(l, err, LSWS_ERR_NODEV, "'%s': the reader stopped answering (it does not report what is "
                          "in its field)", l->uri);
        }
        if (res < 0)
            return nfc_err(l, err, LSWS_ERR_IO, res, "cannot look for a card");
        if (res > 0)
            break;
        if (l->opts.cancel && *l->opts.cancel)
            return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': stopped waiting for a card", l->uri);
        if (wait_ms == 0 || (wait_ms > 0 && now_ms() >= until))
            return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': no card in the field of reader '%s': hold the "
                             "WS523 to the reader%s", l->uri, l->reader,
                             wait_ms ? " (waited for it in vain)" : " (or use --wait)");
        sleep_ms(NFC_POLL_MS);
    }
    l->have_card = 1;
    uid_text(&l->target, l->uid, sizeof l->uid);
    if (!(l->target.nti.nai.btSak & 0x20))
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "'%s': the card in the field (UID %s) is not a WS523: it is "
                         "not an ISO 14443-4 card (SAK %02x)", l->uri, l->uid, l->target.nti.nai.btSak);
    return LSWS_OK;
}

/* SELECT the lsws application; learn the card's limits. */
static int select_app(struct nfc_link *l, struct lsws_error *err)
{
    uint8_t cmd[32], resp[LSWS_APDU_RESP_MAX];
    size_t clen = 0, rlen = 0, dlen;
    const uint8_t *data;
    unsigned sw;
    lsws_apdu_select(cmd, sizeof cmd, &clen);
    int rc = apdu_again(l, cmd, clen, resp, sizeof resp, &rlen, err);
    if (rc != LSWS_OK)
        return rc;
    if (lsws_apdu_response(resp, rlen, &data, &dlen, &sw, err) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': the card (UID %s) answered SELECT with %zu bytes",
                         l->uri, l->uid, rlen);
    if (sw == LSWS_SW_NOT_FOUND || sw == LSWS_SW_INS || sw == LSWS_SW_CLA)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "'%s': the card in the field (UID %s) is not a WS523: it has "
                         "no lsws application (SELECT: %04x, %s)", l->uri, l->uid, sw, lsws_sw_text(sw));
    if (sw != LSWS_SW_OK)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': the card (UID %s) refused SELECT: %04x, %s", l->uri,
                         l->uid, sw, lsws_sw_text(sw));
    struct lsws_error derr;
    lsws_error_clear(&derr);
    if (lsws_nfc_select_decode(data, dlen, &l->app, &derr) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': %s", l->uri, derr.msg);
    l->fragment = l->app.fragment;
    return LSWS_OK;
}

static void link_free(struct nfc_link *l)
{
    if (!l)
        return;
    if (l->pnd) {
        /* nfc_close releases the target, switches the field off and powers
         * the chip down, each with libnfc's command timeout: short when the
         * reader already stopped answering. */
        if (l->broken)
            nfc_device_set_property_int(l->pnd, NP_TIMEOUT_COMMAND, NFC_CLOSE_TIMEOUT_MS);
        nfc_close(l->pnd);
    }
    if (l->ctx)
        nfc_exit(l->ctx);
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    explicit_bzero(l->msg, sizeof l->msg);
    free(l);
}

/* Reader (conn; NULL: the first libnfc finds), card and application. On
 * failure *out still holds what was found (reader name, UID) for discover;
 * the caller frees it. */
static int link_start(const char *uri_text, const char *conn, int wait_ms, int timeout_ms,
                      const struct lsws_link_opts *opts, struct nfc_link **out, struct lsws_error *err)
{
    struct nfc_link *l = calloc(1, sizeof *l);
    *out = l;
    if (!l)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    l->lock_fd = -1;
    snprintf(l->uri, sizeof l->uri, "%s", uri_text);
    if (opts)
        l->opts = *opts;
    l->timeout_ms = timeout_ms;
    quiet_libnfc();
    nfc_init(&l->ctx);
    if (!l->ctx)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "cannot open '%s': libnfc cannot start", l->uri);
    /* The first reader, as nfc_open(NULL) would take it: named, so that
     * its port can be locked first. */
    if (!conn && nfc_list_devices(l->ctx, &l->conn, 1) == 0)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX,
                         "cannot open '%s': no NFC reader found (libnfc sees none; name one, like "
                         "nfc:pn532_uart:/dev/ttyUSB0, or set LIBNFC_DEVICE)", l->uri);
    if (conn)
        snprintf(l->conn, sizeof l->conn, "%s", conn);
    char port[512];
    int rc;
    if (uart_port(l->conn, port, sizeof port) && (rc = lock_port(l, port, err)) != LSWS_OK)
        return rc;
    l->pnd = nfc_open(l->ctx, l->conn);
    if (!l->pnd)
        return reader_missing(l, l->conn, err);
    snprintf(l->reader, sizeof l->reader, "%s", nfc_device_get_name(l->pnd));
    int res = nfc_initiator_init(l->pnd);
    if (res < 0)
        return nfc_err(l, err, LSWS_ERR_NODEV, res, "cannot set up the reader");
    /* Look once per call: InListPassiveTarget answers at once without a card. */
    if ((res = nfc_device_set_property_bool(l->pnd, NP_INFINITE_SELECT, false)) < 0)
        return nfc_err(l, err, LSWS_ERR_NODEV, res, "cannot set up the reader");
    rc = select_card(l, wait_ms, err);
    if (rc == LSWS_OK)
        rc = select_app(l, err);
    return rc;
}

static const char *const nfc_options[] = {NULL};

static int nfc_transport_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h,
                              struct lsws_error *err)
{
    *h = NULL;
    if (strlen(uri->path) >= NFC_BUFSIZE_CONNSTRING)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "invalid URI '%s': the connection string is longer than %d "
                         "characters", uri->text, NFC_BUFSIZE_CONNSTRING - 1);
    unsigned timeout;
    int rc = lsws_uri_opt_uint(uri, "timeout", 10, 600000, NFC_DEFAULT_TIMEOUT_MS, &timeout, err);
    if (rc != LSWS_OK)
        return rc;
    struct nfc_link *l = NULL;
    rc = link_start(uri->text, uri->path[0] ? uri->path : NULL, opts ? opts->wait_ms : 0, (int)timeout, opts, &l,
                    err);
    if (rc != LSWS_OK) {
        link_free(l);
        return rc;
    }
    *h = l;
    return LSWS_OK;
}

static void nfc_transport_close(void *h)
{
    link_free(h);
}

/* A new session on the open reader (for the next client of lsws hold):
 * the card released, then selected and SELECTed as open() does, so that
 * the card in the field now is the one reached (a tap loop's next unit).
 * A reader that failed is LSWS_ERR_IO: only reopening could help. */
static int nfc_transport_renew(void *h, const struct lsws_link_opts *opts, struct lsws_error *err)
{
    struct nfc_link *l = h;
    if (!l->reader_lost) {
        if (l->have_card)
            nfc_initiator_deselect_target(l->pnd);
        l->have_card = 0;
        l->broken = 0;
        l->pending = 0;
        l->uid[0] = '\0';
        l->opts.wait_ms = opts ? opts->wait_ms : 0;
        l->opts.cancel = opts ? opts->cancel : NULL;
        int rc = select_card(l, l->opts.wait_ms, err);
        if (rc == LSWS_OK)
            rc = select_app(l, err);
        if (!l->reader_lost)
            return rc;
    }
    return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "%s", l->broken_msg);
}

/* ---- messages ---------------------------------------------------------------- */

static int nfc_transport_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    struct nfc_link *l = h;
    if (l->broken)
        return still_broken(l, err);
    if (len == 0 || len > l->app.max_msg || len > sizeof l->msg)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "message of %zu bytes for '%s': the card takes 1 to %u", len,
                         l->uri, l->app.max_msg);
    memcpy(l->msg, msg, len);
    l->msg_len = len;
    l->pending = 0;
    size_t n = lsws_apdu_fragments(len, l->fragment);
    for (unsigned i = 0; i + 1 < n; i++) {
        uint8_t cmd[LSWS_APDU_CMD_MAX], resp[LSWS_APDU_RESP_MAX];
        size_t clen = 0, rlen = 0, dlen;
        const uint8_t *data;
        unsigned sw;
        lsws_apdu_message(msg, len, l->fragment, i, cmd, sizeof cmd, &clen);
        int rc = apdu_again(l, cmd, clen, resp, sizeof resp, &rlen, err);
        if (rc != LSWS_OK)
            return rc;
        if (lsws_apdu_response(resp, rlen, &data, &dlen, &sw, err) != LSWS_OK || sw != LSWS_SW_OK || dlen)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': the card refused fragment %u of %zu: %04x, %s",
                             l->uri, i + 1, n, rlen >= 2 ? sw : 0, rlen >= 2 ? lsws_sw_text(sw) : "no status word");
    }
    l->pending = 1;
    return LSWS_OK;
}

static int nfc_transport_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    struct nfc_link *l = h;
    if (l->broken)
        return still_broken(l, err);
    if (timeout_ms < 10)
        timeout_ms = 10;
    l->timeout_ms = timeout_ms;
    if (!l->pending)
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "'%s': no answer within %d ms", l->uri, timeout_ms);
    l->pending = 0;
    uint8_t cmd[LSWS_APDU_CMD_MAX], resp[LSWS_APDU_RESP_MAX];
    size_t clen = 0, rlen = 0, dlen, got = 0, n = lsws_apdu_fragments(l->msg_len, l->fragment);
    const uint8_t *data;
    unsigned sw;
    lsws_apdu_message(l->msg, l->msg_len, l->fragment, (unsigned)(n - 1), cmd, sizeof cmd, &clen);
    int rc = apdu(l, cmd, clen, resp, sizeof resp, &rlen, timeout_ms, err);
    for (unsigned more = 1; rc == LSWS_OK; more++) {
        if (lsws_apdu_response(resp, rlen, &data, &dlen, &sw, err) != LSWS_OK)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': an answer of %zu bytes without a status word",
                             l->uri, rlen);
        if (sw != LSWS_SW_OK && (sw & 0xff00) != LSWS_SW_MORE)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': the card refused the message: %04x, %s", l->uri,
                             sw, lsws_sw_text(sw));
        if (got + dlen > cap || got + dlen > LSWS_MSG_MAX)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': the card's answer is longer than %zu bytes",
                             l->uri, cap < LSWS_MSG_MAX ? cap : (size_t)LSWS_MSG_MAX);
        memcpy(buf + got, data, dlen);
        got += dlen;
        if (sw == LSWS_SW_OK) {
            *len = got;
            return LSWS_OK;
        }
        if (more > 255)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': the card's answer never ends", l->uri);
        lsws_apdu_more(more, cmd, sizeof cmd, &clen);
        rc = apdu_again(l, cmd, clen, resp, sizeof resp, &rlen, err);
    }
    return rc;
}

/* Is the card still in the field? libnfc asks the card (an ISO-DEP R(NAK)
 * on a PN532); a card that left and came back is not activated, so it
 * counts as gone: a tap loop then selects it afresh. */
static int nfc_transport_present(void *h, struct lsws_error *err)
{
    struct nfc_link *l = h;
    if (l->broken)
        return still_broken(l, err);
    if (!l->have_card)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': no card selected", l->uri);
    int res = nfc_initiator_target_is_present(l->pnd, NULL);
    if (res == NFC_SUCCESS)
        return LSWS_OK;
    if (res == NFC_ETIMEOUT || res == NFC_EIO) {
        if (!reader_answers(l)) {
            l->reader_lost = 1;
            return broken(l, err, res == NFC_EIO ? LSWS_ERR_NODEV : LSWS_ERR_TIMEOUT,
                          "'%s': the reader stopped answering", l->uri);
        }
    }
    return broken(l, err, LSWS_ERR_NODEV, "'%s': the card left the field", l->uri);
}

static void nfc_transport_limits(void *h, struct lsws_link_limits *out)
{
    const struct nfc_link *l = h;
    out->max_msg = l->app.max_msg;
    out->fragment = l->fragment;
}

static void nfc_transport_wire_bytes(void *h, unsigned long *sent, unsigned long *received)
{
    const struct nfc_link *l = h;
    *sent = l->sent;
    *received = l->received;
}

/* ---- discovery ------------------------------------------------------------------ */

/* IDENTIFY over an open link: needs no password. */
static int identify(struct nfc_link *l, struct lsws_device_info *info, struct lsws_error *err)
{
    uint8_t req[8], resp[LSWS_MSG_MAX], seq = 0;
    size_t rlen = 0, n = 0;
    if (getrandom(&seq, 1, GRND_NONBLOCK) != 1)
        seq = (uint8_t)getpid();
    lsws_msg_encode(seq, LSWS_OP_IDENTIFY, -1, NULL, 0, req, sizeof req, &rlen);
    int rc = nfc_transport_send(l, req, rlen, err);
    if (rc == LSWS_OK)
        rc = nfc_transport_recv(l, resp, sizeof resp, &n, l->timeout_ms, err);
    struct lsws_msg m;
    if (rc == LSWS_OK && (rc = lsws_msg_decode(resp, n, &m, err)) == LSWS_OK) {
        if (!m.response || m.seq != seq || m.op != LSWS_OP_IDENTIFY || m.status != LSWS_ST_OK)
            return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s': no IDENTIFY answer", l->uri);
        rc = lsws_info_decode(m.payload, m.len, info, err);
    }
    return rc;
}

/* Each reader libnfc lists, and the card in its field. */
static int nfc_transport_discover(int timeout_ms, lsws_found_fn *found, void *ctx, struct lsws_error *err)
{
    (void)err;
    nfc_context *c = NULL;
    nfc_connstring list[NFC_READERS];
    quiet_libnfc();
    /* A scan never probes serial ports, whatever libnfc's configuration
     * says: libnfc reads LIBNFC_INTRUSIVE_SCAN after its configuration
     * file, so "no" here wins for this one context (lsws list must not
     * write to equipment that may not be ours). Named readers are opened. */
    const char *user = getenv("LIBNFC_INTRUSIVE_SCAN");
    char *saved = user ? strdup(user) : NULL;
    setenv("LIBNFC_INTRUSIVE_SCAN", "no", 1);
    nfc_init(&c);
    if (saved)
        setenv("LIBNFC_INTRUSIVE_SCAN", saved, 1);
    else
        unsetenv("LIBNFC_INTRUSIVE_SCAN");
    free(saved);
    if (!c)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "libnfc cannot start");
    size_t n = nfc_list_devices(c, list, NFC_READERS);
    nfc_exit(c);
    int per = timeout_ms > 0 && timeout_ms < NFC_DEFAULT_TIMEOUT_MS ? timeout_ms : NFC_DEFAULT_TIMEOUT_MS;
    for (size_t i = 0; i < n; i++) {
        struct lsws_found dev = {.rssi = LSWS_FOUND_NO_RSSI, .model = -1};
        struct nfc_link *l = NULL;
        struct lsws_error lerr;
        struct lsws_device_info info;
        lsws_error_clear(&lerr);
        snprintf(dev.uri, sizeof dev.uri, "nfc:%.1019s", list[i]);
        int rc = link_start(dev.uri, list[i], 0, per, NULL, &l, &lerr);
        if (rc == LSWS_OK && identify(l, &info, &lerr) == LSWS_OK) {
            dev.model = (int)info.model;
            memcpy(dev.sn, info.sn, sizeof dev.sn);
            snprintf(dev.name, sizeof dev.name, "%.63s", l->reader);
        } else if (l && l->have_card) {
            snprintf(dev.name, sizeof dev.name, "%.40s: %s", l->reader[0] ? l->reader : list[i],
                     rc == LSWS_ERR_MODEL ? "not a WS523" : "card does not answer");
        } else {
            snprintf(dev.name, sizeof dev.name, "%.40s: %s", l && l->reader[0] ? l->reader : list[i],
                     l && l->pnd ? "no card" : rc == LSWS_ERR_BUSY ? "busy" : "cannot open");
        }
        if (l && l->have_card)
            snprintf(dev.address, sizeof dev.address, "%s", l->uid);
        link_free(l);
        if (found(&dev, ctx))
            break;
    }
    return LSWS_OK;
}

const struct lsws_transport lsws_transport_nfc = {
    .scheme = "nfc",
    .help = "nfc:[CONNSTRING] (nfc:, nfc:pn532_uart:/dev/ttyUSB0, nfc:acr122_usb)",
    .options = nfc_options,
    .flags = 0, /* the scan never probes serial ports; it identifies the cards itself */
    .open = nfc_transport_open,
    .close = nfc_transport_close,
    .send = nfc_transport_send,
    .recv = nfc_transport_recv,
    .limits = nfc_transport_limits,
    .discover = nfc_transport_discover,
    .wire_bytes = nfc_transport_wire_bytes,
    .present = nfc_transport_present,
    .renew = nfc_transport_renew,
    .timeout_ms = NFC_DEFAULT_TIMEOUT_MS,
};
