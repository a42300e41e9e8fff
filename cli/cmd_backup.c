/* lsws backup -o FILE [--no-secrets] | --list: the device's whole
 * configuration as a backup file (lsws_backup_render: a template with a
 * header, secrets included, mode 0600), or the automatic backups the write
 * transaction keeps (no device). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct backup_opts {
    const char *output;
    int no_secrets, list;
};

static int on_option(const char *name, const char *value, void *ctx)
{
    struct backup_opts *o = ctx;
    if (strcmp(name, "output") == 0)
        o->output = value;
    else if (strcmp(name, "no-secrets") == 0)
        o->no_secrets = 1;
    else if (strcmp(name, "list") == 0)
        o->list = 1;
    return EXIT_OK;
}

int check_backup(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct backup_opts o = {0};
    cli_options(cli, on_option, &o);
    if (o.list && (o.output || o.no_secrets))
        return cli_error(EXIT_USAGE, "backup --list takes no other options");
    if (o.list) {
        cli->drop_needs = CMD_DEVICE | CMD_AUTH;
        return EXIT_OK;
    }
    if (!o.output)
        return cli_error(EXIT_USAGE, "backup needs -o FILE (- for stdout), or --list");
    return EXIT_OK;
}

struct list_ctx {
    struct cli_record *table;
};

static int one_backup(const char *path, const struct lsws_backup_info *info, void *arg)
{
    struct list_ctx *l = arg;
    struct cli_record *row = cli_table_row(l->table);
    cli_put_known(row, "taken", info ? info->taken : NULL);
    cli_put_known(row, "model", info ? info->model : NULL);
    cli_put_known(row, "sn", info ? info->sn : NULL);
    cli_put_known(row, "band", info ? info->band : NULL);
    cli_put_bool(row, "secrets", info && info->secrets);
    cli_put_bool(row, "header", info && info->format);
    cli_field_json_only(row);
    cli_put_str(row, "file", path);
    if (!info)
        cli_field_text(row, "%s (does not parse)", path);
    return 0;
}

static int list_backups(struct lsws_cli *cli)
{
    struct list_ctx l = {cli_table_new()};
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_backup_each(NULL, one_backup, &l, &err);
    if (rc != LSWS_OK) {
        cli_record_free(l.table);
        return cli_fail(EXIT_FAILED, rc, "%s", err.msg);
    }
    return cli_print(cli, l.table, 0);
}

int cmd_backup(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct backup_opts o = {0};
    cli_options(cli, on_option, &o);
    if (o.list)
        return list_backups(cli);
    struct session *s = cli->session;
    struct lsws_config *cfg;
    int rc = session_read_all(s, &cfg);
    if (rc != EXIT_OK)
        return rc;
    char *text = NULL;
    size_t count = 0;
    for (size_t i = 0; i < cfg->model->n_settings; i++)
        count += cfg->present[i] && (!o.no_secrets || !(cfg->model->settings[i].row->flags & LSWS_F_SECRET));
    if (lsws_backup_render(&s->info, cfg, o.no_secrets, &text) != LSWS_OK)
        rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    explicit_bzero(cfg->values, cfg->model->n_settings * sizeof *cfg->values);
    lsws_config_free(cfg);
    if (rc != EXIT_OK)
        return rc;
    int to_stdout = strcmp(o.output, "-") == 0;
    if (to_stdout)
        fputs(text, stdout);
    else
        rc = cli_write_file(o.output, text, strlen(text), 0600);
    explicit_bzero(text, strlen(text));
    free(text);
    if (rc != EXIT_OK || to_stdout)
        return rc;
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "file", o.output);
    cli_field_json_only(r);
    cli_put_str(r, "model", s->model->name);
    cli_field_json_only(r);
    cli_put_str(r, "sn", s->info.sn);
    cli_field_json_only(r);
    cli_put_int(r, "settings", (long long)count);
    cli_field_json_only(r);
    cli_put_bool(r, "secrets", !o.no_secrets);
    cli_field_json_only(r);
    cli_put_line(r, "%s %s: %zu settings%s saved to %s (mode 0600)", s->model->name, s->info.sn, count,
                 o.no_secrets ? ", secrets left out," : ", secrets included,", o.output);
    return cli_print(cli, r, 0);
}
