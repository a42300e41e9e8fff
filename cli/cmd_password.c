/* lsws password: change the device password. The new password comes from
 * $LSWS_NEW_PASSWORD or a prompt (twice), never from argv. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The rules of the model's password setting: 6 letters, digits, underscores
 * (the same on both models). The message never repeats the password. */
static int check_new(const char *pw)
{
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_WS523);
    const char *key = "general.password";
    struct lsws_value v;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_value_parse(m, (size_t)lsws_model_find(m, key), pw, &v, &err) == LSWS_OK)
        return EXIT_OK;
    size_t skip = strncmp(err.msg, key, strlen(key)) == 0 ? strlen(key) + 2 : 0;
    return cli_fail(EXIT_USAGE, err.code, "new password: %s", err.msg + skip);
}

/* Before the session opens: a given new password must be a valid one, and
 * without one there must be a terminal to ask on. */
int check_password(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    (void)cli;
    const char *env = getenv("LSWS_NEW_PASSWORD");
    if (env && *env)
        return check_new(env);
    if (!isatty(STDIN_FILENO))
        return cli_error(EXIT_USAGE, "password needs a terminal to prompt on, or LSWS_NEW_PASSWORD");
    return EXIT_OK;
}

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
    if (!same)
        return cli_error(EXIT_USAGE, "the two passwords differ");
    return check_new(buf);
}

int cmd_password(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct session *s = cli->session;
    char pw[64];
    int rc = new_password(pw, sizeof pw);
    if (rc != EXIT_OK) {
        memset(pw, 0, sizeof pw);
        return rc;
    }
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_client_password(s->client, pw, &err);
    memset(pw, 0, sizeof pw);
    if (lrc != LSWS_OK)
        return session_fail(s, "cannot change the password of", lrc, &err);
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_field_json_only(r);
    cli_put_bool(r, "password_changed", 1);
    cli_field_json_only(r);
    cli_put_line(r, "password of %s %s changed", s->model->name, s->info.sn);
    return cli_print(cli, r, 0);
}
