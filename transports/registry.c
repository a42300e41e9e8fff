/* The transports compiled into this build, and URI dispatch. */
#include "transport.h"

#include <string.h>

const struct lsws_transport *const lsws_transports[] = {
    &lsws_transport_sim,
#ifdef LSWS_HAVE_SERIAL
    &lsws_transport_serial,
#endif
    NULL,
};

const struct lsws_transport *lsws_transport_for(const char *uri, const char **rest)
{
    const char *colon = strchr(uri, ':');
    if (!colon)
        return NULL;
    size_t n = (size_t)(colon - uri);
    for (const struct lsws_transport *const *t = lsws_transports; *t; t++)
        if (strlen((*t)->scheme) == n && strncmp((*t)->scheme, uri, n) == 0) {
            *rest = colon + 1;
            return *t;
        }
    return NULL;
}
