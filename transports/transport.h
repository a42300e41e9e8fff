/* The compiled-in transports (the vtable itself is struct lsws_transport in
 * lib/lsws.h, so the protocol client in lib/ can drive any of them, and the
 * registry functions lsws_transport_at/find are declared there too). */
#ifndef LSWS_TRANSPORT_H
#define LSWS_TRANSPORT_H

#include "lsws.h"

extern const struct lsws_transport lsws_transport_sim;
#ifdef LSWS_HAVE_SERIAL
extern const struct lsws_transport lsws_transport_serial;
#endif
#ifdef LSWS_HAVE_BLE
extern const struct lsws_transport lsws_transport_ble;
#endif
#ifdef LSWS_HAVE_NFC
extern const struct lsws_transport lsws_transport_nfc;
#endif

#endif
