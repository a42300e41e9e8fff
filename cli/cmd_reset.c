/* lsws reset: factory defaults, after a backup; asks first unless --yes. */
#include "cli.h"

#include <unistd.h>

/* Before the session opens: without --yes there must be someone to ask. */
int check_reset(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    if (!cli->yes && !isatty(STDIN_FILENO))
        return cli_error(EXIT_USAGE, "reset needs --yes when there is no terminal to ask on");
    return EXIT_OK;
}

int cmd_reset(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct session *s = cli->session;
    if (!cli->yes) {
        char question[160];
        snprintf(question, sizeof question, "reset %s %s (%s) to factory defaults?", s->model->name, s->info.sn,
                 s->uri);
        if (!cli_confirm(question))
            return cli_error(EXIT_FAILED, "reset cancelled");
    }
    struct lsws_config *current;
    int rc = session_read_all(s, &current);
    if (rc == EXIT_OK) {
        char path[1024];
        struct lsws_error berr;
        lsws_error_clear(&berr);
        if ((rc = lsws_backup_save(&s->info, current, path, sizeof path, &berr)) != LSWS_OK)
            rc = cli_fail(EXIT_FAILED, rc, "no backup, nothing reset: %s", berr.msg);
        else
            cli_note(cli, "previous settings saved to %s", path);
        lsws_config_free(current);
    }
    if (rc != EXIT_OK)
        return rc;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_client_reset(s->client, &err);
    if (lrc != LSWS_OK)
        return session_fail(s, "cannot reset", lrc, &err);
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_field_json_only(r);
    cli_put_bool(r, "reset", 1);
    cli_field_json_only(r);
    cli_put_line(r, "%s %s reset to factory defaults (the password too)", s->model->name, s->info.sn);
    return cli_print(cli, r, 0);
}
