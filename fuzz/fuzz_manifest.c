/* libFuzzer: CSV manifests (libcsv) and templates with placeholders. A
 * manifest that parses must find each of its rows by the row's own keys;
 * a template for units that parses must fill from any lookup without
 * crashing, and hash the same twice. A bad input is an error with a line
 * and column, never a crash. */
#include <stdlib.h>
#include <string.h>

#include "lsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *any_value(const char *name, void *ctx)
{
    (void)ctx;
    return strcmp(name, "SN") == 0 ? "6762d21130962038" : "1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lsws_error err;
    struct lsws_manifest *m = NULL;
    if (lsws_manifest_parse((const char *)data, size, &m, &err) == LSWS_OK) {
        for (size_t r = 0; r < lsws_manifest_rows(m); r++) {
            const char *sn = lsws_manifest_value(m, r, "sn"), *eui = lsws_manifest_value(m, r, "dev_eui");
            size_t found;
            if ((sn && *sn) || (eui && *eui)) {
                int rc = lsws_manifest_find(m, sn ? sn : "", eui ? eui : "", &found, &err);
                if (rc == LSWS_OK && found != r)
                    abort();
                if (rc == LSWS_ERR_NODEV)
                    abort(); /* a row is always found by its own keys */
            }
        }
        lsws_manifest_free(m);
    } else if (err.line < 1 && size) {
        abort(); /* every manifest error names a line */
    }
    struct lsws_tpl *t = NULL;
    if (lsws_tpl_parse((const char *)data, size, LSWS_TPL_PLACEHOLDERS, &t, &err) == LSWS_OK) {
        struct lsws_config *cfg = NULL;
        char h1[LSWS_HASH_HEX], h2[LSWS_HASH_HEX];
        if (lsws_tpl_resolve(t, any_value, NULL, &cfg, &err) == LSWS_OK)
            lsws_config_free(cfg);
        lsws_tpl_hash(t, h1);
        lsws_tpl_hash(t, h2);
        if (strcmp(h1, h2) != 0)
            abort();
        lsws_tpl_free(t);
    }
    return 0;
}
