/* `lsws hold`: a process keeps a link open and serves other lsws processes
 * over a UNIX SOCK_SEQPACKET socket (one message per packet). This header
 * is the wire format between them (transports/hold_wire.c: pure, bounded,
 * table-tested in tests/unit/test_hold.c and fuzzed by fuzz/fuzz_hold.c),
 * the socket's place (transports/hold_path.c) and the client side
 * (transports/hold.c). The server is lsws_hold_serve (lib/lsws.h).
 *
 * Request:  op (1) | 0 (1) | payload length (2, LE) | argument (4, LE, signed) | payload
 * Response: code (1, signed: 0 or an LSWS_ERR_*) | 0 (1) | payload length (2, LE) | payload
 * An error response's payload is its message: printable text, at most
 * HOLD_TEXT_MAX bytes, no NUL (the receiver terminates it). */
#ifndef LSWS_HOLD_H
#define LSWS_HOLD_H

#include "lsws.h"

#define HOLD_REQ_HEAD 8
#define HOLD_RESP_HEAD 4
#define HOLD_TEXT_MAX 255
#define HOLD_PACKET_MAX (HOLD_REQ_HEAD + LSWS_MSG_MAX) /* the largest packet either way */
#define HOLD_OPEN_ANSWER 8 /* holder pid (4) | largest message (2) | fragment (2) */
#define HOLD_WIRE_ANSWER 16 /* bytes sent (8) | received (8), this client's */

enum hold_op {
    HOLD_OPEN = 1,    /* argument: wait_ms (-1: without end) -> HOLD_OPEN_ANSWER; first request of a client */
    HOLD_SEND = 2,    /* payload: one application message */
    HOLD_RECV = 3,    /* argument: timeout_ms -> one application message */
    HOLD_PRESENT = 4, /* -> nothing (the code says) */
    HOLD_WIRE = 5,    /* -> HOLD_WIRE_ANSWER */
};

struct hold_req {
    uint8_t op;
    int32_t arg;
    const uint8_t *payload; /* points into the decoded packet */
    size_t len;
};

struct hold_resp {
    int code; /* LSWS_OK or an LSWS_ERR_* */
    const uint8_t *payload; /* an OK answer's payload, into the packet */
    size_t len;
    char text[HOLD_TEXT_MAX + 1]; /* an error's message, NUL-terminated */
};

/* Encoders: LSWS_ERR_RANGE when the packet does not fit cap or breaks the
 * limits the decoders check. */
int hold_req_encode(const struct hold_req *r, uint8_t *out, size_t cap, size_t *olen);
/* An OK answer (code LSWS_OK: payload) or an error (code < 0: text, cut
 * to HOLD_TEXT_MAX and to printable bytes). */
int hold_resp_encode(int code, const uint8_t *payload, size_t len, const char *text, uint8_t *out, size_t cap,
                     size_t *olen);
/* Decoders: LSWS_ERR_MALFORMED (or TRUNCATED) with the byte offset of the
 * first thing wrong. A response is checked against the op it answers. */
int hold_req_decode(const uint8_t *in, size_t len, struct hold_req *r, struct lsws_error *err);
int hold_resp_decode(uint8_t op, const uint8_t *in, size_t len, struct hold_resp *r, struct lsws_error *err);

/* ---- the socket's place (transports/hold_path.c) ---- */
/* 64-bit FNV-1a of the URI's canonical text: scheme:path, then its options
 * but timeout in name order, so that ?timeout=500 names the same holder. */
uint64_t hold_key(const struct lsws_uri *uri);
/* The holder's directory, socket and lock file for uri:
 * $XDG_RUNTIME_DIR/lsws/ or /tmp/lsws-UID/, hold-KEY.sock and .lock. It
 * must be a real directory of this user with mode 0700. With create (the
 * holder) it is made so, and anything else is LSWS_ERR_IO saying why;
 * without create (a client) a missing or unsafe directory returns 1: no
 * holder. */
struct hold_paths {
    char dir[256], sock[108], lock[300];
};
int hold_paths(const struct lsws_uri *uri, int create, struct hold_paths *p, struct lsws_error *err);

/* ---- the client side (transports/hold.c) ---- */
extern const struct lsws_transport lsws_transport_hold;
/* Connects to the holder of uri: LSWS_OK with *h (driven by
 * lsws_transport_hold) and *pid; 1 when no holder answers (no socket, or a
 * stale one); an error when one answered and refused (busy, no card). */
int hold_connect(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h, int *pid,
                 struct lsws_error *err);

#endif
