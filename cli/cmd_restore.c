/* lsws restore FILE | --last: writes a template or a backup to the device
 * through the library's write transaction, as set does (cli/txn_view.c:
 * the plan, a backup, one transaction, read back). A file for another
 * model or band is refused before anything is written; read-only settings
 * of a backup are skipped; --dry-run shows the plan and writes nothing. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct restore_opts {
    int last, dry_run;
};

static int on_option(const char *name, const char *value, void *ctx)
{
    struct restore_opts *o = ctx;
    (void)value;
    if (strcmp(name, "last") == 0)
        o->last = 1;
    else if (strcmp(name, "dry-run") == 0)
        o->dry_run = 1;
    return EXIT_OK;
}

/* Loads and selects the file: bad input is refused before the device. */
static int load(const struct lsws_cli *cli, const char *file, struct lsws_tpl **t)
{
    int rc = cli_load_tpl(file, LSWS_TPL_PLACEHOLDERS, t);
    if (rc == EXIT_OK && (rc = cli_select(cli, file, *t)) != EXIT_OK) {
        lsws_tpl_free(*t);
        *t = NULL;
    }
    return rc;
}

int check_restore(int argc, char **argv, struct lsws_cli *cli)
{
    struct restore_opts o = {0};
    cli_options(cli, on_option, &o);
    if (o.last == (argc == 1))
        return cli_error(EXIT_USAGE, "restore needs a FILE or --last (not both)");
    if (argc == 1) {
        struct lsws_tpl *t = NULL;
        int rc = load(cli, argv[0], &t);
        lsws_tpl_free(t);
        return rc;
    }
    return EXIT_OK;
}

/* Restore fills only what the unit itself gives: ${SN} and ${DEV_EUI}. */
static const char *own_value(const char *name, void *ctx)
{
    const struct session *s = ctx;
    static char eui[17];
    if (strcmp(name, "SN") == 0)
        return s->info.sn;
    if (strcmp(name, "DEV_EUI") == 0) {
        lsws_hex_format(s->info.dev_eui, 8, eui);
        return eui;
    }
    return NULL;
}

/* What the file is, and what of it is not written, said before the plan. */
static void notes(const struct lsws_cli *cli, const struct session *s, const struct lsws_tpl *t, const char *file)
{
    const struct lsws_model *m = lsws_tpl_model(t);
    const struct lsws_backup_info *b = lsws_tpl_backup(t);
    size_t idx, n = lsws_tpl_skipped(t, 0, NULL);
    for (size_t i = 0; i < n; i++) {
        lsws_tpl_skipped(t, i, &idx);
        cli_note(cli, "%s is read-only: skipped", m->settings[idx].key);
    }
    if (b && !b->secrets)
        cli_note(cli, "'%s' was taken with --no-secrets: the unit keeps its keys", file);
    if (b && strcmp(b->sn, s->info.sn) != 0) {
        char keys[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < m->n_settings && used < sizeof keys; i++)
            if ((m->settings[i].row->flags & LSWS_F_PER_DEVICE) && lsws_tpl_has(t, i))
                used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", used ? ", " : "", m->settings[i].key);
        if (keys[0])
            cli_warn(cli, "'%s' was taken from unit %s: its own %s go to %s too (--exclude them to keep this unit's)",
                     file, b->sn, keys, s->info.sn);
    }
}

int cmd_restore(int argc, char **argv, struct lsws_cli *cli)
{
    struct session *s = cli->session;
    struct restore_opts o = {0};
    cli_options(cli, on_option, &o);
    char path[2048];
    const char *file = argc ? argv[0] : path;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (o.last) {
        int lrc = lsws_backup_last(s->info.sn, path, sizeof path, &err);
        if (lrc != LSWS_OK)
            return cli_fail(EXIT_FAILED, lrc, "%s", err.msg);
        cli_note(cli, "restoring %s", path);
    }
    struct lsws_tpl *t = NULL;
    int rc = load(cli, file, &t);
    if (rc != EXIT_OK)
        return rc;
    struct lsws_config *desired = NULL;
    int lrc = lsws_tpl_check_unit(t, &s->info, s->uri, &err);
    if (lrc == LSWS_OK) {
        notes(cli, s, t, file);
        lrc = lsws_tpl_resolve(t, own_value, s, &desired, &err);
        if (lrc == LSWS_ERR_INCOMPLETE)
            snprintf(err.msg + strlen(err.msg), sizeof err.msg - strlen(err.msg),
                     ": restore fills only ${SN} and ${DEV_EUI}; use 'lsws batch' with --manifest or --generate");
    }
    lsws_tpl_free(t);
    if (lrc != LSWS_OK)
        return cli_fail(EXIT_FAILED, lrc, "%s: %s (nothing was written)", file, err.msg);
    rc = cli_txn_run(cli, desired, o.dry_run, EXIT_FAILED);
    explicit_bzero(desired->values, desired->model->n_settings * sizeof *desired->values);
    lsws_config_free(desired);
    return rc;
}
