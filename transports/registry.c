/* The transports compiled into this build (declared in lib/lsws.h, so the
 * library's URI parser and the CLI reach them without a header of their own). */
#include "transport.h"

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
