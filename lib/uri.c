/* Options of a parsed device URI (struct lsws_uri; the parser is
 * transports/uri.c, beside the registry that knows each transport's options). */
#include "lsws.h"

#include <stdlib.h>
#include <string.h>

const char *lsws_uri_opt(const struct lsws_uri *uri, const char *name)
{
    for (size_t i = 0; i < uri->n_opt; i++)
        if (strcmp(uri->opt[i].name, name) == 0)
            return uri->opt[i].value;
    return NULL;
}

int lsws_uri_opt_uint(const struct lsws_uri *uri, const char *name, unsigned min, unsigned max,
                      unsigned def, unsigned *out, struct lsws_error *err)
{
    const char *v = lsws_uri_opt(uri, name);
    if (!v) {
        *out = def;
        return LSWS_OK;
    }
    size_t digits = strspn(v, "0123456789");
    unsigned long n = digits && digits <= 9 && !v[digits] ? strtoul(v, NULL, 10) : 0;
    if (!digits || digits > 9 || v[digits] || n < min || n > max)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "invalid URI '%s': %s=%s is not a number from %u to %u",
                         uri->text, name, v, min, max);
    *out = (unsigned)n;
    return LSWS_OK;
}
