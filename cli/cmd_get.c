/* lsws get [KEY|PATTERN...]: read settings; secrets redacted unless
 * --show-secrets. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Marks in `want` the readable settings the patterns select: all of them
 * when there is none. */
static int select_keys(const struct lsws_model *m, int n, char **patterns, uint8_t *want)
{
    uint8_t *hit = malloc(m->n_settings);
    if (!hit)
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->n_settings; i++)
        want[i] = n == 0 && !(m->settings[i].row->flags & LSWS_F_WRITEONLY);
    int rc = EXIT_OK;
    for (int p = 0; p < n && rc == EXIT_OK; p++) {
        size_t found = 0;
        memset(hit, 0, m->n_settings);
        lsws_model_match(m, patterns[p], hit);
        for (size_t i = 0; i < m->n_settings; i++)
            if (hit[i] && !(m->settings[i].row->flags & LSWS_F_WRITEONLY)) {
                want[i] = 1;
                found++;
            }
        if (!found)
            rc = cli_no_setting(m, patterns[p], "readable ");
    }
    free(hit);
    return rc;
}

int cmd_get(int argc, char **argv, struct lsws_cli *cli)
{
    struct session *s = cli->session;
    const struct lsws_model *m = s->model;
    struct lsws_config *want = NULL, *cfg = NULL;
    struct lsws_error err;
    int rc;
    lsws_error_clear(&err);
    if (lsws_config_new(m, &want) != LSWS_OK || lsws_config_new(m, &cfg) != LSWS_OK) {
        rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = select_keys(m, argc, argv, want->present)) != EXIT_OK)
        goto out;
    int lrc = lsws_client_read(s->client, cfg, argc > 0 ? want : NULL, &err);
    if (lrc != LSWS_OK) {
        rc = session_fail(s, "cannot read settings from", lrc, &err);
        goto out;
    }
    struct cli_record *r = cli_record_new();
    for (size_t i = 0; i < m->n_settings; i++)
        if (want->present[i] && cfg->present[i])
            cli_put_setting(r, m->settings[i].key, m, i, &cfg->values[i],
                            (m->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets);
    rc = cli_print(cli, r, CLI_HEADER);
out:
    lsws_config_free(want);
    lsws_config_free(cfg);
    return rc;
}
