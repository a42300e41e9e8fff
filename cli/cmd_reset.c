/* lsws reset: factory defaults, after a backup; asks first unless --yes. */
#include "cli.h"

#include <unistd.h>

int cmd_reset(int argc, char **argv, struct lsws_cli *cli)
{
    int first;
    int rc = cli_parse(cli_find_command("reset"), cli, argc, argv, &first, NULL, NULL);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first < argc)
        return cli_error(EXIT_USAGE, "reset takes no arguments");
    struct session s;
    if ((rc = session_open(cli, &s, 1)) != EXIT_OK)
        return rc;
    if (!cli->yes) {
        char question[160];
        snprintf(question, sizeof question, "reset %s %s (%s) to factory defaults?", s.model->name, s.info.sn, s.uri);
        if (!isatty(STDIN_FILENO)) {
            session_close(&s);
            return cli_error(EXIT_USAGE, "reset needs --yes when there is no terminal to ask on");
        }
        if (!cli_confirm(question)) {
            session_close(&s);
            return cli_error(EXIT_FAILED, "reset cancelled");
        }
    }
    struct lsws_config *current;
    if ((rc = session_read_all(&s, &current)) == EXIT_OK) {
        char path[1024];
        struct lsws_error berr;
        lsws_error_clear(&berr);
        if (lsws_backup_save(&s.info, current, path, sizeof path, &berr) != LSWS_OK)
            rc = cli_error(EXIT_FAILED, "no backup, nothing reset: %s", berr.msg);
        else if (!cli->json)
            fprintf(stderr, "lsws: previous settings saved to %s\n", path);
        lsws_config_free(current);
    }
    if (rc == EXIT_OK) {
        struct lsws_error err;
        lsws_error_clear(&err);
        int lrc = lsws_client_reset(s.client, &err);
        if (lrc != LSWS_OK)
            rc = session_fail(&s, "cannot reset", lrc, &err);
        else if (cli->json)
            cli_print_json(json_pack("{s:s, s:b}", "device", s.uri, "reset", 1));
        else
            printf("%s %s reset to factory defaults (the password too)\n", s.model->name, s.info.sn);
    }
    session_close(&s);
    return rc;
}
