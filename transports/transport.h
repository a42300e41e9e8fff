/* The compiled-in transports (the vtable itself is struct lsws_transport in
 * lib/lsws.h, so the protocol client in lib/ can drive any of them). */
#ifndef LSWS_TRANSPORT_H
#define LSWS_TRANSPORT_H

#include "lsws.h"

extern const struct lsws_transport lsws_transport_sim;
#ifdef LSWS_HAVE_SERIAL
extern const struct lsws_transport lsws_transport_serial;
/* The per-user state directory, $XDG_STATE_HOME/lsws[/sub] (else
 * ~/.local/state/lsws[/sub]), created mode 0700 if missing. */
int lsws_state_dir(const char *sub, char *buf, size_t n, struct lsws_error *err);

#endif

/* NULL-terminated list of the transports this build has. */
extern const struct lsws_transport *const lsws_transports[];
/* The transport for a device URI ("serial:/dev/ttyUSB0"); *rest is set to
 * the part after "scheme:". NULL if no transport has that scheme. */
const struct lsws_transport *lsws_transport_for(const char *uri, const char **rest);

/* The per-user state directory, $XDG_STATE_HOME/lsws[/sub] (else
 * ~/.local/state/lsws[/sub]), created mode 0700 if missing. */
int lsws_state_dir(const char *sub, char *buf, size_t n, struct lsws_error *err);

#endif
