/* lsws: entry point. Global options, then the command from cli_commands:
 * its options are parsed and its preconditions met here (a device session
 * opened, logged in), as git's RUN_SETUP, before it runs. No command lists
 * devices. */
#include "cli.h"

#include <string.h>

/* --json anywhere before "--": then even an error in the options before it
 * comes as a JSON error object. */
static int wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            return 1;
    return 0;
}

/* Parses the command's arguments, checks them, opens the session it needs,
 * runs it, closes the session. */
static int run(const struct cli_command *cmd, struct lsws_cli *cli, int argc, char **argv)
{
    int nargs;
    int rc = cli_parse(cmd, cli, argc, argv, &nargs);
    if (rc != EXIT_OK)
        return rc;
    if (cmd->max_args != CLI_ANY_ARGS && nargs > cmd->max_args) {
        if (cmd->max_args == 0)
            cli_error(EXIT_USAGE, "'%s' takes no arguments", cmd->name);
        else
            cli_error(EXIT_USAGE, "'%s' takes at most %d argument%s", cmd->name, cmd->max_args,
                      cmd->max_args == 1 ? "" : "s");
        fprintf(stderr, "usage: lsws %s %s\n", cmd->name, cmd->synopsis);
        return EXIT_USAGE;
    }
    if (cmd->check && (rc = cmd->check(nargs, argv, cli)) != EXIT_OK)
        return rc;
    struct session s;
    unsigned needs = cmd->needs & ~cli->drop_needs;
    if (needs & CMD_DEVICE) {
        if ((rc = session_open(cli, &s, !!(needs & CMD_AUTH))) != EXIT_OK)
            return rc;
        cli->session = &s;
    }
    rc = cmd->run(nargs, argv, cli);
    if (cli->session) {
        session_close(cli->session);
        cli->session = NULL;
    }
    return rc;
}

static int dispatch(struct lsws_cli *cli, int argc, char **argv)
{
    int i;
    int rc = cli_parse_global(cli, argc, argv, &i);
    if (rc != EXIT_OK)
        return rc;
    if (i >= argc) {
        char *none[] = {NULL};
        return run(cli_find_command("list"), cli, 0, none);
    }
    const struct cli_command *cmd = cli_command_arg(argv[i]);
    if (!cmd)
        return EXIT_USAGE;
    return run(cmd, cli, argc - i - 1, argv + i + 1);
}

int main(int argc, char **argv)
{
    struct lsws_cli cli = {0};
    cli.json = wants_json(argc, argv);
    int rc = dispatch(&cli, argc, argv);
    if (rc == CLI_DONE)
        return EXIT_OK;
    if (rc != EXIT_OK && cli.json && !cli.exit_is_answer)
        cli_print_error(rc);
    return rc;
}
