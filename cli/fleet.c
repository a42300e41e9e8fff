/* Helpers of the commands that work with template files for units:
 * restore, diff, batch (and backup's listing). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define TEMPLATE_MAX (1u << 20)

size_t cli_option_values(const struct lsws_cli *cli, const char *name, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cli->n_given && n < max; i++)
        if (strcmp(cli->given[i].option->name, name) == 0)
            out[n++] = cli->given[i].value;
    return n;
}

int cli_file_error(int exit_code, const char *file, const struct lsws_error *err)
{
    if (err->line)
        return cli_fail(exit_code, err->code, "%s:%d:%d: %s", file, err->line, err->column, err->msg);
    return cli_fail(exit_code, err->code, "%s: %s", file, err->msg);
}

int cli_load_tpl(const char *file, unsigned flags, struct lsws_tpl **out)
{
    *out = NULL;
    char *text;
    size_t len;
    int rc = cli_read_file(file, TEMPLATE_MAX, &text, &len);
    if (rc != EXIT_OK)
        return rc;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_tpl_parse(text, len, flags, out, &err);
    explicit_bzero(text, len);
    free(text);
    return lrc == LSWS_OK ? EXIT_OK : cli_file_error(EXIT_FAILED, file, &err);
}

int cli_select(const struct lsws_cli *cli, const char *file, struct lsws_tpl *t)
{
    const char *only[CLI_GIVEN_MAX], *exclude[CLI_GIVEN_MAX];
    size_t n_only = cli_option_values(cli, "only", only, CLI_GIVEN_MAX);
    size_t n_exclude = cli_option_values(cli, "exclude", exclude, CLI_GIVEN_MAX);
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_tpl_select(t, only, n_only, exclude, n_exclude, &err);
    if (rc == LSWS_OK)
        return EXIT_OK;
    return rc == LSWS_ERR_UNKNOWN_KEY ? cli_fail(EXIT_USAGE, rc, "%s", err.msg) : cli_file_error(EXIT_USAGE, file, &err);
}
