/* lsws: entry point. Global options (the same table the subcommands
 * accept), then dispatch through cli_commands; no command lists devices. */
#include "cli.h"

#include <string.h>

int cmd_list(int argc, char **argv, struct lsws_cli *cli);

/* Finds argv[i] in the global option table; handles "--name=value". */
static const struct cli_option *global(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    for (const struct cli_option *o = cli_global_options; o->name; o++) {
        size_t n = strlen(o->name);
        if (arg[0] == '-' && arg[1] == '-' && strncmp(arg + 2, o->name, n) == 0) {
            if (arg[2 + n] == '\0')
                return o;
            if (arg[2 + n] == '=' && o->arg) {
                *inline_value = arg + 3 + n;
                return o;
            }
        }
        if (o->short_name && arg[0] == '-' && arg[1] == o->short_name) {
            if (arg[2] == '\0')
                return o;
            if (o->arg) { /* -dURI */
                *inline_value = arg + 2;
                return o;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct lsws_cli cli = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *value;
        const struct cli_option *o = global(argv[i], &value);
        if (!o)
            return cli_error(EXIT_USAGE, "unknown option '%s'\nusage: lsws [global options] "
                                         "COMMAND [options] [arguments]", argv[i]);
        if (o->arg && !value && o->arg[0] == '[') {
            if (cli_optional_arg(o, i + 1 < argc ? argv[i + 1] : NULL))
                value = argv[++i];
        } else if (o->arg && !value) {
            if (i + 1 >= argc)
                return cli_error(EXIT_USAGE, "option '%s' needs %s", argv[i], o->arg);
            value = argv[++i];
        }
        int rc = cli_global_option(&cli, o, value);
        if (rc != EXIT_OK)
            return rc < 0 ? EXIT_OK : rc;
    }
    if (i == argc) {
        char *list_argv[] = {"list", NULL};
        return cmd_list(1, list_argv, &cli);
    }
    const struct cli_command *cmd = cli_find_command(argv[i]);
    if (!cmd)
        return cli_error(EXIT_USAGE, "'%s' is not an lsws command; see 'lsws --help'", argv[i]);
    return cmd->run(argc - i, argv + i, &cli);
}
