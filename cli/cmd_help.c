/* lsws help [COMMAND] */
#include "cli.h"

int cmd_help(int argc, char **argv, struct lsws_cli *cli)
{
    int first;
    int rc = cli_parse(cli_find_command("help"), cli, argc, argv, &first, NULL, NULL);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first >= argc) {
        cli_print_help(stdout);
        return EXIT_OK;
    }
    if (first + 1 < argc)
        return cli_error(EXIT_USAGE, "help takes one command");
    const struct cli_command *cmd = cli_find_command(argv[first]);
    if (!cmd)
        return cli_error(EXIT_USAGE, "no help for '%s': not an lsws command", argv[first]);
    cli_print_command_help(cmd, stdout);
    return EXIT_OK;
}
