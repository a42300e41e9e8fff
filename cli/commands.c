/* The subcommand table and option tables: one source for dispatch, option
 * parsing, --help, and (checked by tests/e2e/test_docs.sh) the man page and
 * the shell completions. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int cmd_decode(int argc, char **argv, struct lsws_cli *cli);
int cmd_encode(int argc, char **argv, struct lsws_cli *cli);
int cmd_template(int argc, char **argv, struct lsws_cli *cli);
int cmd_keys(int argc, char **argv, struct lsws_cli *cli);
int cmd_help(int argc, char **argv, struct lsws_cli *cli);
int cmd_list(int argc, char **argv, struct lsws_cli *cli);
int cmd_info(int argc, char **argv, struct lsws_cli *cli);
int cmd_get(int argc, char **argv, struct lsws_cli *cli);
int cmd_set(int argc, char **argv, struct lsws_cli *cli);
int cmd_reset(int argc, char **argv, struct lsws_cli *cli);
int cmd_reboot(int argc, char **argv, struct lsws_cli *cli);
int cmd_password(int argc, char **argv, struct lsws_cli *cli);
int cmd_time(int argc, char **argv, struct lsws_cli *cli);

const struct cli_option cli_global_options[] = {
    {"device", 'd', "URI", "the device: sim:ws523, serial:/dev/ttyUSB0, nfc: (default: $LSWS_DEVICE)"},
    {"password-file", 0, "FILE", "read the device password from FILE (else $LSWS_PASSWORD or a prompt)"},
    {"timeout", 0, "MS", "reply timeout per exchange in milliseconds"},
    {"deadline", 0, "SECONDS", "total time a device command may take (default 120)"},
    {"wait", 0, "[SECONDS]", "wait for an NFC card to be held to the reader (no SECONDS: as long as it takes)"},
    {"yes", 'y', NULL, "do not ask for confirmation"},
    {"verbose", 'v', NULL, "show each exchange with the device (bytes, timing)"},
    {"trace", 0, NULL, "dump every frame in hex (with --show-secrets: frames hold secrets)"},
    {"json", 0, NULL, "machine-readable JSON output"},
    {"show-secrets", 0, NULL, "print keys and passwords instead of redacting them"},
    {"help", 'h', NULL, "show help"},
    {"version", 'V', NULL, "show the version"},
    {0},
};

static const struct cli_option decode_options[] = {
    {"model", 'm', "MODEL", "ws523 or cth01 (default: detect)"},
    {0},
};
static const struct cli_option encode_options[] = {
    {"model", 'm', "MODEL", "ws523 or cth01"},
    {"base", 'b', "FILE", "template giving values for settings that share a command"},
    {0},
};
static const struct cli_option template_options[] = {
    {"model", 'm', "MODEL", "ws523 or cth01 (template new)"},
    {"band", 'b', "BAND", "EU868, US915, AU915, CN470, AS923, KR920, IN865, RU864 (template new)"},
    {"output", 'o', "FILE", "write to FILE (mode 0600) instead of stdout (template new)"},
    {0},
};
static const struct cli_option keys_options[] = {
    {"model", 'm', "MODEL", "ws523 or cth01"},
    {0},
};
static const struct cli_option no_options[] = {{0}};
static const struct cli_option time_options[] = {
    {"at", 0, "UNIX", "set this Unix time instead of the computer's clock"},
    {"tz", 0, "OFFSET", "time zone as UTC+HH:MM (default: the computer's)"},
    {0},
};
static const char *const time_subcommands[] = {"sync", NULL};

static const char *const template_subcommands[] = {"new", "lint", "show", NULL};

const struct cli_command cli_commands[] = {
    {"decode", cmd_decode, "[--model MODEL] [HEX...]",
     "decode uplink payloads (arguments, or one per line on stdin)", decode_options, NULL},
    {"encode", cmd_encode, "--model MODEL [--base FILE] KEY=VALUE...",
     "encode a settings change as a LoRaWAN downlink", encode_options, NULL},
    {"template", cmd_template, "new|lint|show [options] [FILE]",
     "create, check or show a JSON settings template", template_options, template_subcommands},
    {"keys", cmd_keys, "--model MODEL [PATTERN]",
     "list a model's settings: type, range, default, source", keys_options, NULL},
    {"list", cmd_list, "", "list the devices lsws can see (also: lsws alone)", no_options, NULL},
    {"info", cmd_info, "", "identify the device: model, serial number, versions, band", no_options, NULL},
    {"get", cmd_get, "[KEY|PATTERN...]", "read settings from the device (secrets redacted)", no_options, NULL},
    {"set", cmd_set, "KEY=VALUE...",
     "change settings in one transaction, after a backup, and verify by reading back", no_options, NULL},
    {"reset", cmd_reset, "", "restore factory defaults (asks first unless --yes)", no_options, NULL},
    {"reboot", cmd_reboot, "", "reboot the device", no_options, NULL},
    {"password", cmd_password, "",
     "change the device password (new one from $LSWS_NEW_PASSWORD or a prompt)", no_options, NULL},
    {"time", cmd_time, "sync [--at UNIX] [--tz OFFSET]", "set the CTH01 clock and time zone", time_options,
     time_subcommands},
    {"help", cmd_help, "[COMMAND]", "show help for lsws or a command", no_options, NULL},
    {0},
};

int cli_global_option(struct lsws_cli *cli, const struct cli_option *o, const char *value)
{
    const char *name = o->name;
    if (strcmp(name, "help") == 0) {
        cli_print_help(stdout);
        return -1;
    }
    if (strcmp(name, "version") == 0) {
        printf("lsws %s\n", LSWS_VERSION);
        return -1;
    }
    if (strcmp(name, "device") == 0)
        cli->device = value;
    else if (strcmp(name, "password-file") == 0)
        cli->password_file = value;
    else if (strcmp(name, "timeout") == 0) {
        char *end;
        long ms = strtol(value, &end, 10);
        if (*end || ms < 10 || ms > 600000)
            return cli_error(EXIT_USAGE, "--timeout takes milliseconds from 10 to 600000, not '%s'", value);
        cli->timeout_ms = (int)ms;
    } else if (strcmp(name, "deadline") == 0) {
        char *end;
        long sec = strtol(value, &end, 10);
        if (!*value || *end || sec < 1 || sec > 86400)
            return cli_error(EXIT_USAGE, "--deadline takes seconds from 1 to 86400, not '%s'", value);
        cli->deadline_ms = (int)sec * 1000;
    } else if (strcmp(name, "wait") == 0) {
        char *end;
        long sec = value ? strtol(value, &end, 10) : -1;
        if (value && (!*value || *end || sec < 1 || sec > 86400))
            return cli_error(EXIT_USAGE, "--wait takes seconds from 1 to 86400, not '%s'", value);
        cli->wait_ms = value ? (int)sec * 1000 : -1;
    } else if (strcmp(name, "yes") == 0)
        cli->yes = 1;
    else if (strcmp(name, "verbose") == 0)
        cli->verbose = 1;
    else if (strcmp(name, "trace") == 0)
        cli->trace = 1;
    else if (strcmp(name, "json") == 0)
        cli->json = 1;
    else if (strcmp(name, "show-secrets") == 0)
        cli->show_secrets = 1;
    return EXIT_OK;
}

int cli_optional_arg(const struct cli_option *o, const char *next)
{
    if (!o->arg || o->arg[0] != '[')
        return 0;
    return next && *next && strspn(next, "0123456789") == strlen(next) ? 1 : 0;
}

const struct cli_command *cli_find_command(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_options(const struct cli_option *opts, FILE *out)
{
    for (const struct cli_option *o = opts; o->name; o++) {
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        fprintf(out, "  %-28s %s\n", left, o->help);
    }
}

void cli_print_command_help(const struct cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: lsws %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->summary);
    if (cmd->options[0].name) {
        fprintf(out, "\noptions:\n");
        print_options(cmd->options, out);
    }
    fprintf(out, "\nglobal options:\n");
    print_options(cli_global_options, out);
}

void cli_print_help(FILE *out)
{
    fprintf(out, "usage: lsws [global options] COMMAND [options] [arguments]\n\n"
                 "Configure Milesight WS523 smart sockets and CTH01 power-monitor hubs.\n"
                 "Devices: sim:ws523, sim:cth01 (built-in simulator), serial:/dev/ttyUSB0,\n"
                 "nfc: (the first NFC reader), nfc:pn532_uart:/dev/ttyUSB0.\n\n"
                 "commands:\n");
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nglobal options:\n");
    print_options(cli_global_options, out);
    fprintf(out, "\nexit status: 0 ok, 1 failed, 2 usage, 3 device unavailable, 4 authentication,\n"
                 "5 verify mismatch, 6 partial batch. See lsws(1).\n");
}

/* Builds getopt_long tables from the command's option table plus the
 * global options, so the table is the only list of options. */
int cli_parse(const struct cli_command *cmd, struct lsws_cli *cli, int argc, char **argv,
              int *first, int (*on_option)(const char *name, const char *value, void *ctx),
              void *ctx)
{
    struct option longs[40];
    char shorts[80] = "";
    const struct cli_option *all[40];
    size_t n = 0, s = 0;
    const struct cli_option *tables[2] = {cmd->options, cli_global_options};
    for (int t = 0; t < 2; t++)
        for (const struct cli_option *o = tables[t]; o->name && n < 39; o++) {
            all[n] = o;
            longs[n] = (struct option){o->name,
                                       !o->arg ? no_argument : o->arg[0] == '[' ? optional_argument
                                                                               : required_argument,
                                       NULL, (int)(256 + n)};
            if (o->short_name && s + 3 < sizeof shorts) {
                shorts[s++] = o->short_name;
                if (o->arg)
                    shorts[s++] = ':';
            }
            n++;
        }
    longs[n] = (struct option){0};
    shorts[s] = '\0';

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        const struct cli_option *o = NULL;
        if (c >= 256)
            o = all[c - 256];
        else
            for (size_t i = 0; i < n; i++)
                if (all[i]->short_name == c)
                    o = all[i];
        if (!o) {
            const char *bad = argv[optind - 1];
            if (c == '?' && optopt && strchr(shorts, optopt))
                return cli_error(EXIT_USAGE, "option '-%c' needs an argument\nusage: lsws %s %s",
                                 optopt, cmd->name, cmd->synopsis);
            return cli_error(EXIT_USAGE, "unknown option '%s' for '%s'\nusage: lsws %s %s", bad,
                             cmd->name, cmd->name, cmd->synopsis);
        }
        if (strcmp(o->name, "help") == 0) {
            cli_print_command_help(cmd, stdout);
            return -1;
        }
        int rc;
        const char *value = o->arg ? optarg : NULL;
        /* "--wait 30": an optional argument in the next word, when it is a number. */
        if (o->arg && o->arg[0] == '[' && !value && optind < argc && cli_optional_arg(o, argv[optind]))
            value = argv[optind++];
        if (o >= cli_global_options && o < cli_global_options + sizeof cli_global_options / sizeof *o)
            rc = cli_global_option(cli, o, value);
        else
            rc = on_option ? on_option(o->name, value, ctx) : EXIT_OK;
        if (rc != EXIT_OK)
            return rc;
    }
    *first = optind;
    return EXIT_OK;
}
