/* The transports compiled into this build (declared in lib/lsws.h, so the
 * library's URI parser and the CLI reach them without a header of their own),
 * and the one place that decides whether a URI's link is an `lsws hold`'s. */
#include "transport.h"
#include "hold.h"

#include <stdlib.h>
#include <string.h>

static const struct lsws_transport *const transports[] = {
    &lsws_transport_sim,
#ifdef LSWS_HAVE_SERIAL
    &lsws_transport_serial,
#endif
#ifdef LSWS_HAVE_BLE
    &lsws_transport_ble,
#endif
#ifdef LSWS_HAVE_NFC
    &lsws_transport_nfc,
#endif
};

const struct lsws_transport *lsws_transport_at(size_t i)
{
    return i < sizeof transports / sizeof transports[0] ? transports[i] : NULL;
}

const struct lsws_transport *lsws_transport_find(const char *scheme)
{
    for (size_t i = 0; i < sizeof transports / sizeof transports[0]; i++)
        if (strcmp(transports[i]->scheme, scheme) == 0)
            return transports[i];
    return NULL;
}

int lsws_transport_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts,
                        const struct lsws_transport **t, void **h, int *holder_pid, struct lsws_error *err)
{
    const char *env = getenv("LSWS_HOLD");
    *holder_pid = 0;
    if (!env || strcmp(env, "0") != 0) {
        int rc = hold_connect(uri, opts, h, holder_pid, err);
        if (rc == LSWS_OK) {
            *t = &lsws_transport_hold;
            return LSWS_OK;
        }
        if (rc != 1)
            return rc; /* a holder answered and refused (busy...), or its place is unsafe */
    }
    *t = uri->transport;
    return uri->transport->open(uri, opts, h, err);
}
