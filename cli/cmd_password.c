/* lsws password: change the device password. The new password comes from
 * $LSWS_NEW_PASSWORD or a prompt (twice), never from argv. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int new_password(char *buf, size_t n)
{
    const char *env = getenv("LSWS_NEW_PASSWORD");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return EXIT_OK;
    }
    char again[64];
    if (cli_prompt_secret("new device password: ", buf, n) < 0 ||
        cli_prompt_secret("again: ", again, sizeof again) < 0)
        return cli_error(EXIT_USAGE, "password needs a terminal to prompt on, or LSWS_NEW_PASSWORD");
    int same = strcmp(buf, again) == 0;
    memset(again, 0, sizeof again);
    return same ? EXIT_OK : cli_error(EXIT_USAGE, "the two passwords differ");
}

int cmd_password(int argc, char **argv, struct lsws_cli *cli)
{
    int first;
    int rc = cli_parse(cli_find_command("password"), cli, argc, argv, &first, NULL, NULL);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first < argc)
        return cli_error(EXIT_USAGE, "password takes no arguments: the new one comes from LSWS_NEW_PASSWORD "
                                     "or a prompt");
    char pw[64];
    if ((rc = new_password(pw, sizeof pw)) != EXIT_OK)
        return rc;
    /* Same rules as the model's password setting: 6 letters, digits, underscores. */
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_WS523);
    struct lsws_value v;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_value_parse(m, (size_t)lsws_model_find(m, "general.password"), pw, &v, &err) != LSWS_OK) {
        memset(pw, 0, sizeof pw);
        return cli_error(EXIT_USAGE, "new password: %s", err.msg + strlen("general.password: "));
    }
    struct session s;
    if ((rc = session_open(cli, &s, 1)) != EXIT_OK) {
        memset(pw, 0, sizeof pw);
        return rc;
    }
    int lrc = lsws_client_password(s.client, pw, &err);
    memset(pw, 0, sizeof pw);
    if (lrc != LSWS_OK)
        rc = session_fail(&s, "cannot change the password of", lrc, &err);
    else if (cli->json)
        cli_print_json(json_pack("{s:s, s:b}", "device", s.uri, "password_changed", 1));
    else
        printf("password of %s %s changed\n", s.model->name, s.info.sn);
    session_close(&s);
    return rc;
}
