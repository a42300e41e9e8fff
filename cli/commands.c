/* The subcommand table and option tables: one source for dispatch, option
 * parsing, --help, and (checked by tests/e2e/test_docs.sh) the man page and
 * the shell completions. */
#include "cli.h"

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
int cmd_backup(int argc, char **argv, struct lsws_cli *cli);
int cmd_restore(int argc, char **argv, struct lsws_cli *cli);
int cmd_diff(int argc, char **argv, struct lsws_cli *cli);
int cmd_batch(int argc, char **argv, struct lsws_cli *cli);
int cmd_ledger(int argc, char **argv, struct lsws_cli *cli);
int cmd_upgrade(int argc, char **argv, struct lsws_cli *cli);
int cmd_firmware(int argc, char **argv, struct lsws_cli *cli);
int cmd_history(int argc, char **argv, struct lsws_cli *cli);
int cmd_hold(int argc, char **argv, struct lsws_cli *cli);

const struct cli_option cli_global_options[] = {
    {"device", 'd', "URI", "the device: sim:ws523, serial:/dev/ttyUSB0, nfc: (default: $LSWS_DEVICE)"},
    {"password-file", 0, "FILE", "read the device password from FILE (else $LSWS_PASSWORD or a prompt)"},
    {"timeout", 0, "MS", "reply timeout per exchange in milliseconds"},
    {"deadline", 0, "SECONDS", "total time a device command may take (default 120)"},
    {"wait", 0, "[SECONDS]", "wait for an NFC card to be held to the reader (no SECONDS: as long as it takes)"},
    {"yes", 'y', NULL, "do not ask for confirmation"},
    {"quiet", 'q', NULL, "no warnings or notes on stderr (errors are still shown)"},
    {"verbose", 'v', NULL, "show each exchange with the device (bytes, timing)"},
    {"trace", 0, NULL, "dump every frame in hex (with --show-secrets: frames hold secrets)"},
    {"json", 0, NULL, "machine-readable JSON output (and a JSON error object on failure)"},
    {"show-secrets", 0, NULL, "print keys and passwords instead of redacting them"},
    {"help", 'h', NULL, "show help"},
    {"version", 'V', NULL, "show the version"},
    {0},
};

static const struct cli_option decode_options[] = {
    {"model", 'm', "MODEL", "ws523 or cth01 (default: detect)"},
    {"model-map", 0, "FILE", "DevEUI -> model for network server messages: 'DEVEUI MODEL' lines"},
    {"base64", 0, NULL, "payloads are base64 (as network servers deliver them), not hex"},
    {"with-input", 0, NULL, "JSON: each object also gives the payload as \"hex\""},
    {"csv", 0, NULL, "write CSV, the columns of 'lsws history' (see lsws history --columns)"},
    {0},
};
static const struct cli_option encode_options[] = {
    {"model", 'm', "MODEL", "ws523 or cth01"},
    {"base", 'b', "FILE", "template giving values for settings that share a command, and the port"},
    {"list", 'l', NULL, "list the control actions (of --model, or of both models)"},
    {0},
};

#define DECODE_NOTES                                                                                 \
    "Each argument, or each line of stdin, is one uplink payload: hex, or base64 with\n"           \
    "--base64. A line that is a JSON object is a network server's uplink message: The\n"           \
    "Things Stack (uplink_message.frm_payload) or ChirpStack v4 (data, deviceInfo); its\n"         \
    "device (dev_eui, device_id, application_id, f_port, f_cnt, received_at) comes along,\n"       \
    "and its model from --model-map, else --model, else detection. With --json each\n"             \
    "input gives one object with its position (\"line\" or \"argument\"), a bad one an\n"       \
    "object with \"error\". Output is written as soon as each line is decoded."
#define ENCODE_NOTES                                                                                 \
    "Operands are settings changes (KEY=VALUE, for settings the guides give a downlink\n"          \
    "for: see 'lsws keys') and control actions with their operands, in any mix; the\n"             \
    "downlink holds the settings, then the actions in the order given. DURATION: 90, 90s,\n"       \
    "20min, 1h30m. TIME: Unix seconds, or 2026-02-01T17:00:00Z (Z or an offset).\n"                \
    "Output: the hex, the port (85, or lorawan.app_port of --base) and the base64."

/* The actions of both models, from the action tables (lib/action.c). */
static void encode_help_actions(FILE *out)
{
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const struct lsws_model *model = lsws_model_get((enum lsws_model_id)m);
        fprintf(out, "\n%s actions:\n", model->name);
        const struct lsws_action *a;
        for (size_t i = 0; (a = lsws_action_at(model->id, i)); i++) {
            char usage[128];
            snprintf(usage, sizeof usage, "%s%s%s", a->name, a->args[0] ? " " : "", a->args);
            if (strlen(usage) > 28)
                fprintf(out, "  %s\n  %-28s %s\n", usage, "", a->help);
            else
                fprintf(out, "  %-28s %s\n", usage, a->help);
        }
    }
}
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
static const struct cli_option list_options[] = {
    {"ble", 0, NULL, "only Bluetooth LE hubs (a scan of the first adapter)"},
    {"identify", 0, NULL, "connect to each device found (BLE hubs too) for its model, SN and firmware"},
    {"scan-time", 0, "SECONDS", "how long to scan for Bluetooth LE hubs (default 2)"},
    {0},
};
static const struct cli_option time_options[] = {
    {"at", 0, "UNIX", "set this Unix time instead of the computer's clock"},
    {"tz", 0, "OFFSET", "time zone as UTC+HH:MM (default: the computer's)"},
    {0},
};
static const char *const time_subcommands[] = {"sync", NULL};
static const struct cli_option upgrade_options[] = {
    {"force", 0, NULL, "install an image older than the unit's firmware, or the same version"},
    {"dry-run", 0, NULL, "check the image against the unit, then stop: nothing is sent"},
    {0},
};
static const char *const firmware_subcommands[] = {"info", NULL};
#define UPGRADE_NOTES                                                                                \
    "The image is checked before anything is sent: its header, length, CRC-32 and\n"                \
    "SHA-256, then the unit's model and hardware version, and that it is newer than\n"             \
    "what the unit runs. Chunks fit the link; the unit acknowledges each with the\n"               \
    "offset it expects next, verifies the whole image, commits it and reboots; lsws\n"             \
    "then reconnects and reads the new version. Interrupted (a dropped link,\n"                    \
    "Ctrl-C), the same command again resumes where the unit's staged copy ends; the\n"            \
    "unit runs its old firmware until then. --deadline defaults to 3600 s here."
static const struct cli_option history_options[] = {
    {"kind", 'k', "KIND", "alarm, periodic (default), monthly-energy or monthly-extremes"},
    {"since", 0, "TIME", "from this time (Unix seconds or ISO 8601; default: the oldest record)"},
    {"until", 0, "TIME", "to this time, inclusive (default: the device clock when the export began)"},
    {"tz", 0, "ZONE", "times in UTC (default), 'device' (the device's time zone) or UTC+HH:MM"},
    {"output", 'o', "FILE", "export to FILE: CSV, or JSON Lines with --json; resumable"},
    {"at", 0, "TIME", "show the record nearest TIME, within one reporting interval"},
    {"clear", 0, NULL, "delete the stored records of --kind (all kinds without it); after -o, once it is written"},
    {"columns", 0, NULL, "list the CSV columns and exit"},
    {0},
};

static const struct cli_option backup_options[] = {
    {"output", 'o', "FILE", "write the backup to FILE (mode 0600; - for stdout)"},
    {"no-secrets", 0, NULL, "leave keys and passwords out of the backup"},
    {"list", 0, NULL, "list the automatic backups taken before every write (no device)"},
    {0},
};
static const struct cli_option restore_options[] = {
    {"last", 0, NULL, "put back the newest automatic backup of this unit"},
    {"dry-run", 0, NULL, "show what would change and write nothing"},
    {"only", 0, "PATTERN", "apply only the settings matching PATTERN (repeatable)"},
    {"exclude", 0, "PATTERN", "leave out the settings matching PATTERN (repeatable)"},
    {0},
};
static const struct cli_option diff_options[] = {
    {"only", 0, "PATTERN", "compare only the settings matching PATTERN (repeatable)"},
    {"exclude", 0, "PATTERN", "leave out the settings matching PATTERN (repeatable)"},
    {0},
};
static const struct cli_option batch_options[] = {
    {"all", 0, NULL, "every unit a discovery finds (each sim: unit, each serial adapter, each BLE hub in range)"},
    {"loop", 0, NULL, "a tap loop: each NFC card held to the reader in turn, until Ctrl-C (with --wait)"},
    {"scan-time", 0, "SECONDS", "with --all, how long to scan for Bluetooth LE hubs (default 2)"},
    {"manifest", 'M', "FILE", "per-unit values for ${VAR} placeholders (CSV keyed by sn or dev_eui)"},
    {"pool", 0, "FILE", "a pool of identities shared by stations: CSV of ${VAR} values, each row to one unit"},
    {"generate", 'g', "NAME", "a random 128-bit key per unit for ${NAME} or the key NAME (repeatable)"},
    {"only", 0, "PATTERN", "apply only the settings matching PATTERN (repeatable)"},
    {"exclude", 0, "PATTERN", "leave out the settings matching PATTERN (repeatable)"},
    {"ledger", 'L', "FILE", "the provisioning ledger: an SQLite file or a postgresql:// URI (default: $LSWS_LEDGER, "
                            "else a file in the data directory)"},
    {"ledger-wait", 0, "SECONDS", "when the ledger's server goes away, wait at most this long for it (default: "
                                  "without end)"},
    {"force", 0, NULL, "provision units the ledger says are done with this template"},
    {"operator", 0, "NAME", "who runs the batch, for the ledger (default: $LSWS_OPERATOR, $USER)"},
    {"station", 0, "NAME", "this station, for the ledger (default: $LSWS_STATION, the host name)"},
    {0},
};
static const struct cli_option ledger_options[] = {
    {"ledger", 'L', "FILE", "the provisioning ledger: an SQLite file or a postgresql:// URI (default: $LSWS_LEDGER, "
                            "else a file in the data directory)"},
    {"format", 'f', "FORMAT", "export format: tts-csv, tts-json, chirpstack, csv (ledger export)"},
    {"output", 'o', "FILE", "write the export to FILE (mode 0600; - for stdout) (ledger export)"},
    {"frequency-plan", 0, "ID", "The Things Stack frequency plan for every unit (ledger export)"},
    {0},
};
static const struct cli_option hold_options[] = {
    {"idle", 0, "SECONDS", "stop after SECONDS without a client (default 600; 0: no limit)"},
    {0},
};
#define HOLD_NOTES                                                                                   \
    "Opens -d URI as any command does, then keeps the link (an NFC reader) open and\n"             \
    "serves the lsws commands that name the same device, one at a time (another gets\n"           \
    "'busy', exit 3), each with a fresh device session: the card in the field now.\n"              \
    "Runs until Ctrl-C or SIGTERM, the idle time, or the link going away (exit 3).\n"              \
    "Socket: $XDG_RUNTIME_DIR/lsws/hold-KEY.sock (else /tmp/lsws-UID/), mode 0600.\n"             \
    "Environment: LSWS_HOLD=0 makes a command ignore holders and open the device itself."

static const char *const ledger_subcommands[] = {"init", "list", "show", "export", NULL};

static const char *const template_subcommands[] = {"new", "lint", "show", NULL};

/* Commands that check their input before main opens the session. */
int check_set(int argc, char **argv, struct lsws_cli *cli);
int check_reset(int argc, char **argv, struct lsws_cli *cli);
int check_password(int argc, char **argv, struct lsws_cli *cli);
int check_time(int argc, char **argv, struct lsws_cli *cli);
int check_backup(int argc, char **argv, struct lsws_cli *cli);
int check_restore(int argc, char **argv, struct lsws_cli *cli);
int check_diff(int argc, char **argv, struct lsws_cli *cli);
int check_upgrade(int argc, char **argv, struct lsws_cli *cli);
int check_firmware(int argc, char **argv, struct lsws_cli *cli);
int check_history(int argc, char **argv, struct lsws_cli *cli);

#define LOGIN (CMD_DEVICE | CMD_AUTH)
/* How get and keys read their arguments (lib/keys.c, lsws_model_match). */
#define PATTERN_NOTES                                                                                \
    "A KEY names one setting exactly, brackets included: 'alarm.current[5].max'.\n"                \
    "Anything else is a shell pattern (fnmatch(3)), where brackets are a character\n"             \
    "class: 'general.*', 'alarm.current\\[1?\\].max'. Quote both for the shell."

const struct cli_command cli_commands[] = {
    {"decode", cmd_decode, .max_args = CLI_ANY_ARGS,
     .synopsis = "[--model MODEL] [--model-map FILE] [--base64] [--with-input] [--csv] [PAYLOAD...]",
     .summary = "decode uplink payloads (arguments, or one per line on stdin)",
     .notes = DECODE_NOTES, .options = decode_options},
    {"encode", cmd_encode, .max_args = CLI_ANY_ARGS,
     .synopsis = "--model MODEL [--base FILE] ACTION [OPERAND...]|KEY=VALUE... | --list",
     .summary = "encode a control action or settings change as a LoRaWAN downlink",
     .notes = ENCODE_NOTES, .options = encode_options, .help_extra = encode_help_actions},
    {"template", cmd_template, .max_args = CLI_ANY_ARGS, .synopsis = "new|lint|show [options] [FILE]",
     .summary = "create, check or show a JSON settings template", .options = template_options,
     .subcommands = template_subcommands},
    {"keys", cmd_keys, .max_args = 1, .synopsis = "--model MODEL [KEY|PATTERN]",
     .summary = "list a model's settings: type, range, default, source", .notes = PATTERN_NOTES,
     .options = keys_options},
    {"list", cmd_list, .synopsis = "[--ble] [--identify] [--scan-time SECONDS]",
     .summary = "list the devices lsws can see (also: lsws alone)", .options = list_options},
    {"info", cmd_info, .needs = CMD_DEVICE, .synopsis = "",
     .summary = "identify the device: model, serial number, versions, band"},
    {"get", cmd_get, .needs = LOGIN, .max_args = CLI_ANY_ARGS, .synopsis = "[KEY|PATTERN...]",
     .summary = "read settings from the device (secrets redacted)", .notes = PATTERN_NOTES},
    {"set", cmd_set, .needs = LOGIN | CMD_WRITES, .max_args = CLI_ANY_ARGS, .check = check_set,
     .synopsis = "KEY=VALUE...",
     .summary = "change settings in one transaction, after a backup, and verify by reading back"},
    {"reset", cmd_reset, .needs = LOGIN | CMD_WRITES, .check = check_reset, .synopsis = "",
     .summary = "restore factory defaults (asks first unless --yes)"},
    {"reboot", cmd_reboot, .needs = LOGIN, .synopsis = "", .summary = "reboot the device"},
    {"password", cmd_password, .needs = LOGIN | CMD_WRITES, .check = check_password, .synopsis = "",
     .summary = "change the device password (new one from $LSWS_NEW_PASSWORD or a prompt)"},
    {"time", cmd_time, .needs = LOGIN | CMD_WRITES, .max_args = 1, .check = check_time,
     .synopsis = "sync [--at UNIX] [--tz OFFSET]", .summary = "set the CTH01 clock and time zone",
     .options = time_options, .subcommands = time_subcommands},
    {"backup", cmd_backup, .needs = LOGIN, .check = check_backup, .synopsis = "-o FILE [--no-secrets] | --list",
     .summary = "save the device's whole configuration (secrets included) as a backup file",
     .notes = "The backup is a template with a header: model, band, firmware, SN, DevEUI, time, lsws version.\n"
              "With --list: no device; the automatic backups, newest first.",
     .options = backup_options},
    {"restore", cmd_restore, .needs = LOGIN | CMD_WRITES, .max_args = 1, .check = check_restore,
     .synopsis = "FILE | --last [--dry-run] [--only PATTERN] [--exclude PATTERN]",
     .summary = "write a template or backup to the device in one verified transaction",
     .notes = "A file for another model or band is refused; read-only settings in a backup are skipped.\n"
              "PATTERN: a key exactly, brackets included, else a shell pattern (fnmatch(3)).",
     .options = restore_options},
    {"diff", cmd_diff, .needs = LOGIN, .max_args = 2, .check = check_diff,
     .synopsis = "FILE [FILE2] [--only PATTERN] [--exclude PATTERN]",
     .summary = "compare the device with a file, or two files: exit 0 same, 5 different",
     .notes = "With two files no device is used. Only the settings the file holds are compared.\n"
              "PATTERN: a key exactly, brackets included, else a shell pattern (fnmatch(3)).",
     .options = diff_options},
    {"batch", cmd_batch, .needs = CMD_WRITES, .max_args = CLI_ANY_ARGS,
     .synopsis = "TEMPLATE [URI...] [--all] [--loop] [--manifest FILE] [--pool FILE] [--generate NAME] [--ledger FILE] "
                 "[--force]",
     .summary = "provision many units from one template, each recorded in the ledger",
     .notes = "Each unit: identify, skip if provisioned with this template, fill placeholders, record the\n"
              "settings, back up, write, verify, record the result. Ctrl-C stops between units.\n"
              "Exit 6 when some units failed. Passwords: --password-file or LSWS_PASSWORD (no prompt).",
     .options = batch_options},
    {"ledger", cmd_ledger, .max_args = 2, .synopsis = "init|list|show|export [options] [ID|SN]",
     .summary = "create the ledger's schema, list or show provisioning records, export units and keys",
     .options = ledger_options, .subcommands = ledger_subcommands},
    {"upgrade", cmd_upgrade, .needs = LOGIN | CMD_WRITES, .max_args = 1, .check = check_upgrade,
     .synopsis = "[--force] [--dry-run] FIRMWARE", .summary = "install a firmware image, resuming an interrupted transfer",
     .notes = UPGRADE_NOTES, .options = upgrade_options},
    {"firmware", cmd_firmware, .max_args = 2, .check = check_firmware, .synopsis = "info FILE",
     .summary = "show and check a firmware image's header", .subcommands = firmware_subcommands},
    {"history", cmd_history, .needs = LOGIN, .check = check_history,
     .synopsis = "[--kind KIND] [--since TIME] [--until TIME] [--tz ZONE] [-o FILE] [--at TIME] [--clear]",
     .summary = "show, export (resumable) or clear the CTH01's stored records",
     .notes = "Without -o, --at or --clear: how many records of each kind the device holds.\n"
              "-o FILE fetches every record of the kind in the range into FILE.checkpoint,\n"
              "then writes FILE (CSV, or JSON Lines with --json) atomically; run the same\n"
              "command again after an interruption and it continues where it stopped.\n"
              "--clear deletes stored records (asks first unless --yes).",
     .options = history_options},
    {"hold", cmd_hold, .synopsis = "[--idle SECONDS]",
     .summary = "keep the device's link (an NFC reader) open and serve other lsws commands through it",
     .notes = HOLD_NOTES, .options = hold_options},
    {"help", cmd_help, .max_args = 1, .synopsis = "[COMMAND]", .summary = "show help for lsws or a command"},
    {0},
};

int cli_global_option(struct lsws_cli *cli, const struct cli_option *o, const char *value)
{
    const char *name = o->name;
    if (strcmp(name, "help") == 0) {
        cli_print_help(stdout);
        return CLI_DONE;
    }
    if (strcmp(name, "version") == 0) {
        printf("lsws %s\n", LSWS_VERSION);
        return CLI_DONE;
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
    else if (strcmp(name, "quiet") == 0)
        cli->quiet = 1;
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

const struct cli_command *cli_find_command(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

const struct cli_command *cli_command_arg(const char *name)
{
    const struct cli_command *cmd = cli_find_command(name);
    if (cmd)
        return cmd;
    const char *names[32];
    size_t n = 0;
    for (const struct cli_command *c = cli_commands; c->name && n < 32; c++)
        names[n++] = c->name;
    char hint[200];
    cli_suggest(name, names, n, hint, sizeof hint);
    if (hint[0])
        cli_error(EXIT_USAGE, "'%s' is not an lsws command%s", name, hint);
    else
        cli_error(EXIT_USAGE, "'%s' is not an lsws command; see 'lsws --help'", name);
    return NULL;
}

static void print_options(const struct cli_option *opts, FILE *out)
{
    for (const struct cli_option *o = opts; o && o->name; o++) {
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

/* What main does before the command, from its flags, in words. */
static const char *needs_text(unsigned needs)
{
    static const struct {
        unsigned needs;
        const char *text;
    } rows[] = {
        {CMD_DEVICE, "needs a device (-d URI); no password"},
        {CMD_DEVICE | CMD_AUTH, "needs a device (-d URI) and its password"},
        {CMD_DEVICE | CMD_AUTH | CMD_WRITES, "needs a device (-d URI) and its password; changes the device"},
        {CMD_WRITES, "changes the devices it is given (URI operands or --all), each with its password"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].needs == needs)
            return rows[i].text;
    return NULL;
}

void cli_print_command_help(const struct cli_command *cmd, FILE *out)
{
    const char *needs = needs_text(cmd->needs);
    fprintf(out, "usage: lsws %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->summary);
    if (needs)
        fprintf(out, "%s\n", needs);
    if (cmd->notes)
        fprintf(out, "\n%s\n", cmd->notes);
    if (cmd->help_extra)
        cmd->help_extra(out);
    if (cmd->options && cmd->options[0].name) {
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
                 "ble:CTH01-F418093 or ble:AA:BB:CC:DD:EE:FF (Bluetooth LE),\n"
                 "nfc: (the first NFC reader) or nfc:pn532_uart:/dev/ttyUSB0.\n\n"
                 "commands:\n");
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nglobal options:\n");
    print_options(cli_global_options, out);
    fprintf(out, "\nOptions are given in full (no abbreviations); a password never on the command line.\n"
                 "With --json a failure also prints {\"error\": {\"code\", \"exit_status\", \"message\"}}.\n"
                 "\nexit status: 0 ok, 1 failed, 2 usage, 3 device unavailable, 4 authentication,\n"
                 "5 verify mismatch, 6 partial batch. See lsws(1).\n");
}
