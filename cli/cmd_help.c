/* lsws help [COMMAND] */
#include "cli.h"

int cmd_help(int argc, char **argv, struct lsws_cli *cli)
{
    (void)cli;
    if (argc == 0) {
        cli_print_help(stdout);
        return EXIT_OK;
    }
    const struct cli_command *cmd = cli_command_arg(argv[0]);
    if (!cmd)
        return EXIT_USAGE;
    cli_print_command_help(cmd, stdout);
    return EXIT_OK;
}
