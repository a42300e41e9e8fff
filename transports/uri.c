/* Device URIs: scheme ':' path ['?' name '=' value ('&' name '=' value)...].
 * One parser for every transport: the syntax, the scheme and the option
 * names are checked here, before anything is opened; each transport checks
 * its own values when it opens. Bounded: a URI longer than LSWS_URI_MAX or
 * with more than LSWS_URI_OPTS options is refused. */
#include "lsws.h"

#include <stdlib.h>
#include <string.h>

/* Options every transport takes. */
static const char *const common_options[] = {"timeout", NULL};

static int listed(const char *const *names, const char *name)
{
    for (; names && *names; names++)
        if (strcmp(*names, name) == 0)
            return 1;
    return 0;
}

/* "baud, timeout": the option names a transport takes, for messages. */
static void known_list(const struct lsws_transport *t, char *buf, size_t n)
{
    size_t used = 0;
    const char *const *tables[2] = {t->options, common_options};
    buf[0] = '\0';
    for (int k = 0; k < 2; k++)
        for (const char *const *o = tables[k]; o && *o; o++) {
            int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", *o);
            if (w < 0 || (size_t)w >= n - used)
                return;
            used += (size_t)w;
        }
}

static int name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

int lsws_uri_parse(const char *text, struct lsws_uri *uri, struct lsws_error *err)
{
    memset(uri, 0, sizeof *uri);
    size_t len = strlen(text);
    if (len == 0)
        return lsws_fail(err, LSWS_ERR_INVALID, 0, "empty device URI");
    if (len >= LSWS_URI_MAX)
        return lsws_fail(err, LSWS_ERR_INVALID, LSWS_URI_MAX, "device URI '%.40s...' is longer than %d characters",
                         text, LSWS_URI_MAX - 1);
    memcpy(uri->text, text, len + 1);
    memcpy(uri->buf, text, len + 1);
    char *colon = strchr(uri->buf, ':');
    if (!colon || colon == uri->buf)
        return lsws_fail(err, LSWS_ERR_INVALID, 0, "invalid URI '%s': no scheme (sim:ws523, serial:/dev/ttyUSB0)",
                         text);
    *colon = '\0';
    const struct lsws_transport *t = lsws_transport_find(uri->buf);
    if (!t) {
        char have[128] = "";
        size_t used = 0;
        for (size_t i = 0; lsws_transport_at(i); i++) {
            int w = snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "", lsws_transport_at(i)->scheme);
            if (w > 0 && (size_t)w < sizeof have - used)
                used += (size_t)w;
        }
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, 0, "cannot open '%s': unknown transport '%s' (this build has: %s)",
                         text, uri->buf, have);
    }
    uri->transport = t;
    uri->open_link = lsws_transport_open;
    uri->path = colon + 1;
    char *q = strchr(colon + 1, '?');
    if (!q)
        return LSWS_OK;
    *q = '\0';
    char *p = q + 1;
    if (!*p)
        return lsws_fail(err, LSWS_ERR_INVALID, (size_t)(p - uri->buf), "invalid URI '%s': nothing after '?'", text);
    for (;;) {
        size_t at = (size_t)(p - uri->buf);
        char *amp = strchr(p, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(p, '=');
        if (!*p)
            return lsws_fail(err, LSWS_ERR_INVALID, at, "invalid URI '%s': empty option at character %zu", text,
                             at + 1);
        if (!eq)
            return lsws_fail(err, LSWS_ERR_INVALID, at, "invalid URI '%s': '%s' is not NAME=VALUE", text, p);
        *eq = '\0';
        if (!name_ok(p))
            return lsws_fail(err, LSWS_ERR_INVALID, at, "invalid URI '%s': bad option name '%s'", text, p);
        if (!eq[1])
            return lsws_fail(err, LSWS_ERR_INVALID, at, "invalid URI '%s': option '%s' has an empty value", text, p);
        if (!listed(t->options, p) && !listed(common_options, p)) {
            char known[256];
            known_list(t, known, sizeof known);
            return lsws_fail(err, LSWS_ERR_INVALID, at, "invalid URI '%s': unknown option '%s' for %s: (known: %s)",
                             text, p, t->scheme, known);
        }
        if (lsws_uri_opt(uri, p))
            return lsws_fail(err, LSWS_ERR_INVALID, at, "invalid URI '%s': option '%s' given twice", text, p);
        if (uri->n_opt == LSWS_URI_OPTS)
            return lsws_fail(err, LSWS_ERR_INVALID, at, "invalid URI '%s': more than %d options", text,
                             LSWS_URI_OPTS);
        uri->opt[uri->n_opt++] = (struct lsws_uri_opt){p, eq + 1};
        if (!amp)
            return LSWS_OK;
        p = amp + 1;
    }
}

