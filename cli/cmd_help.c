/* lsws help [COMMAND] */
#include "cli.h"

int cmd_help(int argc, char **argv, struct lsws_cli *cli)
{
    (void)cli;
    if (argc < 2) {
        cli_print_help(stdout);
        return EXIT_OK;
    }
    const struct cli_command *cmd = cli_find_command(argv[1]);
    if (!cmd)
        return cli_error(EXIT_USAGE, "no help for '%s': not an lsws command", argv[1]);
    cli_print_command_help(cmd, stdout);
    return EXIT_OK;
}
