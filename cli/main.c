/* lsws: entry point. Global options, then dispatch through cli_commands. */
#include "cli.h"

#include <string.h>

static int global_option(struct lsws_cli *cli, const char *arg)
{
    if (strcmp(arg, "--json") == 0)
        cli->json = 1;
    else if (strcmp(arg, "--show-secrets") == 0)
        cli->show_secrets = 1;
    else
        return 0;
    return 1;
}

int main(int argc, char **argv)
{
    struct lsws_cli cli = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_help(stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            printf("lsws %s\n", LSWS_VERSION);
            return EXIT_OK;
        }
        if (!global_option(&cli, argv[i]))
            return cli_error(EXIT_USAGE, "unknown option '%s'\nusage: lsws [global options] "
                                         "COMMAND [options] [arguments]", argv[i]);
    }
    if (i == argc) {
        cli_print_help(stdout);
        return EXIT_OK;
    }
    const struct cli_command *cmd = cli_find_command(argv[i]);
    if (!cmd)
        return cli_error(EXIT_USAGE, "'%s' is not an lsws command; see 'lsws --help'", argv[i]);
    return cmd->run(argc - i, argv + i, &cli);
}
