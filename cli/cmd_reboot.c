/* lsws reboot */
#include "cli.h"

int cmd_reboot(int argc, char **argv, struct lsws_cli *cli)
{
    int first;
    int rc = cli_parse(cli_find_command("reboot"), cli, argc, argv, &first, NULL, NULL);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first < argc)
        return cli_error(EXIT_USAGE, "reboot takes no arguments");
    struct session s;
    if ((rc = session_open(cli, &s, 1)) != EXIT_OK)
        return rc;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_client_reboot(s.client, &err);
    if (lrc != LSWS_OK)
        rc = session_fail(&s, "cannot reboot", lrc, &err);
    else if (cli->json)
        cli_print_json(json_pack("{s:s, s:b}", "device", s.uri, "rebooted", 1));
    else
        printf("%s %s is rebooting\n", s.model->name, s.info.sn);
    session_close(&s);
    return rc;
}
