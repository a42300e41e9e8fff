/* Transports: how application messages reach a device. One small vtable per
 * transport; the protocol client above never knows which one it has.
 * A missing slot means "not supported", never success. */
#ifndef LSWS_TRANSPORT_H
#define LSWS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "lsws.h"

struct lsws_link_opts {
    int trace;          /* dump every frame in hex to stderr (--trace) */
    unsigned baud;      /* serial; 0 = default 115200 */
};

struct lsws_transport {
    const char *scheme; /* "serial", "sim", "nfc", "ble" */
    const char *help;   /* URI form, for messages and --help */
    /* rest: the URI after "scheme:". Returns a handle in *h. */
    int (*open)(const char *rest, const struct lsws_link_opts *opts, void **h, struct lsws_error *err);
    void (*close)(void *h);
    /* Sends one application message (the transport frames it). */
    int (*send)(void *h, const uint8_t *msg, size_t len, struct lsws_error *err);
    /* Receives one application message within timeout_ms. LSWS_ERR_TIMEOUT
     * when none came; a corrupted frame is dropped and waiting goes on. */
    int (*recv)(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err);
    /* Optional: lists device URIs this transport can see, one per call to
     * found(uri, ctx). */
    int (*list)(void (*found)(const char *uri, void *ctx), void *ctx);
    int timeout_ms;     /* default reply timeout */
};

/* The compiled-in transports, NULL-terminated. */
extern const struct lsws_transport *const lsws_transports[];
const struct lsws_transport *lsws_transport_for(const char *uri, const char **rest);

#endif
