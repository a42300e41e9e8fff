/* lsws reboot */
#include "cli.h"

int cmd_reboot(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct session *s = cli->session;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_client_reboot(s->client, &err);
    if (lrc != LSWS_OK)
        return session_fail(s, "cannot reboot", lrc, &err);
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_field_json_only(r);
    cli_put_bool(r, "rebooted", 1);
    cli_field_json_only(r);
    cli_put_line(r, "%s %s is rebooting", s->model->name, s->info.sn);
    return cli_print(cli, r, 0);
}
