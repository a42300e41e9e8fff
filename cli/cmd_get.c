/* lsws get [KEY|PATTERN...]: read settings; secrets redacted unless
 * --show-secrets. */
#include "cli.h"

#include <fnmatch.h>
#include <string.h>

/* Marks in `want` the settings matching any pattern; fails on a pattern
 * that matches nothing (a typo must not print an empty table). */
static int select_keys(const struct lsws_model *m, int n, char **patterns, uint8_t *want)
{
    for (size_t i = 0; i < m->n_settings; i++)
        want[i] = n == 0 && !(m->settings[i].row->flags & LSWS_F_WRITEONLY);
    for (int p = 0; p < n; p++) {
        int hit = 0;
        for (size_t i = 0; i < m->n_settings; i++)
            if (fnmatch(patterns[p], m->settings[i].key, 0) == 0 &&
                !(m->settings[i].row->flags & LSWS_F_WRITEONLY)) {
                want[i] = 1;
                hit = 1;
            }
        if (!hit)
            return cli_error(EXIT_USAGE, "no readable setting '%s' on %s (see lsws keys --model %s)", patterns[p],
                             m->name, m->name);
    }
    return EXIT_OK;
}

int cmd_get(int argc, char **argv, struct lsws_cli *cli)
{
    int first;
    int rc = cli_parse(cli_find_command("get"), cli, argc, argv, &first, NULL, NULL);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    struct session s;
    if ((rc = session_open(cli, &s, 1)) != EXIT_OK)
        return rc;
    const struct lsws_model *m = s.model;
    struct lsws_config *want = NULL, *cfg = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_config_new(m, &want) != LSWS_OK || lsws_config_new(m, &cfg) != LSWS_OK) {
        rc = cli_error(EXIT_FAILED, "out of memory");
        goto out;
    }
    if ((rc = select_keys(m, argc - first, argv + first, want->present)) != EXIT_OK)
        goto out;
    int lrc = lsws_client_read(s.client, cfg, argc > first ? want : NULL, &err);
    if (lrc != LSWS_OK) {
        rc = session_fail(&s, "cannot read settings from", lrc, &err);
        goto out;
    }
    json_t *obj = cli->json ? json_object() : NULL;
    if (!obj)
        printf("%-42s %-34s %s\n", "KEY", "VALUE", "UNIT");
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!want->present[i] || !cfg->present[i])
            continue;
        const struct lsws_row *row = m->settings[i].row;
        int redact = (row->flags & LSWS_F_SECRET) && !cli->show_secrets;
        char value[256];
        if (redact)
            snprintf(value, sizeof value, "%s", LSWS_REDACTED);
        else
            lsws_value_format(m, i, &cfg->values[i], value, sizeof value);
        if (obj)
            json_object_set_new(obj, m->settings[i].key,
                                redact ? json_string(LSWS_REDACTED) : lsws_value_to_json(m, i, &cfg->values[i]));
        else
            printf("%-42s %-34s %s\n", m->settings[i].key, value, row->unit ? row->unit : "");
    }
    if (obj) {
        cli_print_json(obj);
    }
out:
    lsws_config_free(want);
    lsws_config_free(cfg);
    session_close(&s);
    return rc;
}
