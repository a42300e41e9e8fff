/* The lsws command line: subcommand table, options, output helpers. */
#ifndef LSWS_CLI_H
#define LSWS_CLI_H

#include <stdio.h>

#include "lsws.h"

#include <signal.h>

/* Exit codes (documented in lsws(1), EXIT STATUS). */
enum cli_exit {
    EXIT_OK = 0,
    EXIT_FAILED = 1,  /* the command failed: bad input file or payload, device error */
    EXIT_USAGE = 2,   /* bad command line: unknown option, missing argument, bad KEY=VALUE */
    EXIT_NODEV = 3,   /* device unavailable */
    EXIT_AUTH = 4,    /* authentication failed */
    EXIT_VERIFY = 5,  /* read-back differs from what was written */
    EXIT_PARTIAL = 6, /* a batch finished with some units failed */
};
/* Returned (never exited with) when help or the version was printed: exit 0. */
#define CLI_DONE (-1)

struct cli_option {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 if none */
    const char *arg;  /* argument name, NULL for a flag; "[NAME]": optional, taken from
                         the next word only when that is a number (--wait [SECONDS]) */
    const char *help;
};

/* An option of the command as given, in command-line order. */
struct cli_given {
    const struct cli_option *option;
    const char *value; /* NULL for a flag */
};
#define CLI_GIVEN_MAX 32

struct session;

/* State shared by every subcommand: global options, and what main set up
 * before calling the command. */
struct lsws_cli {
    int json;
    int show_secrets;
    int verbose;               /* -v: each exchange on stderr */
    int trace;                 /* --trace: frames in hex on stderr */
    int yes;                   /* --yes: no confirmation prompts */
    int quiet;                 /* -q: no warnings or notes on stderr */
    int timeout_ms;            /* --timeout: per-exchange reply timeout, 0 = transport default */
    int deadline_ms;           /* --deadline: total time for the command, 0 = CLI_DEFAULT_DEADLINE_MS */
    int wait_ms;               /* --wait: for the device to come into reach (NFC card), ms; -1 without end */
    const volatile sig_atomic_t *cancel; /* set by a signal: stop waiting for a device (batch --loop) */
    const char *device;        /* -d URI, else $LSWS_DEVICE */
    const char *password_file; /* --password-file */

    const struct cli_command *command; /* the command being run */
    /* The open session, when the command has CMD_DEVICE; else NULL. main
     * opens it before the command runs and closes it after. */
    struct session *session;
    /* Preconditions the given arguments do not need, set by the command's
     * check hook (backup --list and diff A B need no device). */
    unsigned drop_needs;
    /* The exit status is an answer, not a failure (diff: 5 is "different"):
     * main prints no JSON error object for it. */
    int exit_is_answer;
    struct cli_given given[CLI_GIVEN_MAX]; /* the command's own options (cli_options) */
    size_t n_given;
    /* With --json, the command wrote its errors into its own output (decode:
     * one error object per bad input line): main adds no error object. */
    int errors_inline;
};

/* A command's preconditions: main acts on them before calling it, as git's
 * RUN_SETUP. */
enum cli_needs {
    CMD_DEVICE = 1u << 0, /* needs a device: main opens cli->session */
    CMD_AUTH = 1u << 1,   /* ... and logs in with the device password */
    CMD_WRITES = 1u << 2, /* changes the device (its help says so) */
};
#define CLI_ANY_ARGS (-1)

struct cli_command {
    const char *name;
    /* argc/argv: the operands only (options and "--" removed), argv[argc] NULL. */
    int (*run)(int argc, char **argv, struct lsws_cli *cli);
    unsigned needs;    /* enum cli_needs */
    int max_args;      /* operands it takes at most (0 unless given); CLI_ANY_ARGS */
    /* Optional: checks operands and options before the session opens, so
     * that bad input sends nothing to the device. Same arguments as run. */
    int (*check)(int argc, char **argv, struct lsws_cli *cli);
    const char *synopsis; /* after "lsws NAME " */
    const char *summary;
    const char *notes;                /* more --help text, or NULL */
    const struct cli_option *options; /* terminated by a zero row; NULL: none */
    const char *const *subcommands;   /* NULL-terminated, or NULL */
    void (*help_extra)(FILE *out);    /* more --help text from tables (encode: actions) */
};

extern const struct cli_command cli_commands[];
extern const struct cli_option cli_global_options[];
const struct cli_command *cli_find_command(const char *name);
/* The command called name; else prints an error (with "did you mean") and returns NULL. */
const struct cli_command *cli_command_arg(const char *name);
/* Applies a global option; returns EXIT_OK, EXIT_USAGE, or CLI_DONE when it
 * printed help or the version. */
int cli_global_option(struct lsws_cli *cli, const struct cli_option *o, const char *value);

/* ---- the command line (cli/parse.c) ---- */
/* Global options before the command: applies them and sets *command to the
 * index of the first operand (argc when none). EXIT_OK, EXIT_USAGE, CLI_DONE. */
int cli_parse_global(struct lsws_cli *cli, int argc, char **argv, int *command);
/* A command's arguments (argv after its name): applies global options,
 * records the command's own in cli->given, prints help for -h, and moves the
 * operands to the front of argv (NULL after them), their count in *nargs.
 * Option names must be given in full: no abbreviations. */
int cli_parse(const struct cli_command *cmd, struct lsws_cli *cli, int argc, char **argv, int *nargs);
/* Hands the command's options to on_option(name, value, ctx) in command-line
 * order (value NULL for a flag); stops at and returns the first non-zero. */
int cli_options(const struct lsws_cli *cli, int (*on_option)(const char *name, const char *value, void *ctx),
                void *ctx);
void cli_print_command_help(const struct cli_command *cmd, FILE *out);
void cli_print_help(FILE *out);
/* "; did you mean 'x'?" for word among the NULL-terminated names, or "". */
void cli_suggest(const char *word, const char *const *names, size_t n, char *buf, size_t cap);

/* ---- messages (cli/util.c) ---- */
/* "lsws: message" on stderr, git style. Returns exit_code for `return
 * cli_error(...)`. The first error of the run is kept for the JSON error
 * object; its code is LSWS_ERR_INVALID for usage errors, else the nearest
 * code to exit_code. cli_fail names the library's code. */
int cli_error(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_fail(int exit_code, int lsws_code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "lsws: warning: ..." / "lsws: ..." on stderr, unless -q. */
void cli_warn(const struct lsws_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_note(const struct lsws_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* With --json, after a failure: the one error object on stdout. */
void cli_print_error(int exit_code);
/* Exit code for a liblsws error code. */
int cli_exit_for(int lsws_code);

/* Reads a whole file (or "-" for stdin) up to max bytes into a NUL-terminated heap buffer. */
int cli_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes data to path, created with mode (0600 for anything holding
 * secrets), atomically. path must be a regular file or not exist: a
 * symlink, FIFO, device or directory is refused, never followed. */
int cli_write_file(const char *path, const char *data, size_t len, unsigned mode);
void cli_base64(const uint8_t *in, size_t len, char *out, size_t cap);

const struct lsws_model *cli_model_arg(const char *name);
/* A KEY or PATTERN that selects nothing: "no WHATsetting 'x' on MODEL", and
 * the nearest keys. Returns EXIT_USAGE. */
int cli_no_setting(const struct lsws_model *m, const char *pattern, const char *what);

/* ---- output (cli/render.c) ---- */
/* One renderer for text and JSON. A record is an ordered list of typed
 * fields; a table is a list of records. JSON: an object (a table: an array
 * of objects), every value typed. Text: aligned "key  value  unit" lines for
 * a record, columns under an upper-case header for a table. */
struct cli_record;
struct cli_record *cli_record_new(void);  /* an object; NULL-safe: adders ignore NULL */
struct cli_record *cli_table_new(void);   /* a table */
void cli_record_free(struct cli_record *r);
/* A new row of a table (owned by the table). */
struct cli_record *cli_table_row(struct cli_record *table);
void cli_put_str(struct cli_record *r, const char *key, const char *value);
/* A string that may be unknown (NULL or ""): JSON null, text "-". */
void cli_put_known(struct cli_record *r, const char *key, const char *value);
void cli_put_int(struct cli_record *r, const char *key, long long value);
void cli_put_bool(struct cli_record *r, const char *key, int value); /* text: yes/no */
/* ISO 8601 with the offset: 2026-02-06T10:17:21+01:00. */
void cli_put_time(struct cli_record *r, const char *key, int64_t unix_time, int tz_minutes);
/* Setting idx of model: JSON typed as in a template, text canonical, unit
 * from the table; v NULL is absent (null, "(none)"); redact: "(redacted)". */
void cli_put_setting(struct cli_record *r, const char *key, const struct lsws_model *m, size_t idx,
                     const struct lsws_value *v, int redact);
/* A table as a field of r (owned by r). */
struct cli_record *cli_put_table(struct cli_record *r, const char *key);
/* A sentence in text output, not in JSON. */
void cli_put_line(struct cli_record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The field last added: other text than its JSON value; or shown in one
 * form only. */
void cli_field_text(struct cli_record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_field_json_only(struct cli_record *r);
void cli_field_text_only(struct cli_record *r);

enum cli_style {
    CLI_HEADER = 1u << 0,  /* text: a record's lines under "KEY VALUE UNIT" */
    CLI_COMPACT = 1u << 1, /* JSON: one line (JSON Lines) */
};
/* Prints r as JSON (--json) or text on stdout and frees it. Returns an exit code. */
int cli_print(const struct lsws_cli *cli, struct cli_record *r, unsigned style);
void cli_format_time(int64_t unix_time, int tz_minutes, char *buf, size_t n);

/* ---- the write transaction, rendered (cli/txn_view.c) ---- */
/* Plans desired against the session's device, shows what the rules bring
 * along, and (unless dry_run) backs up, writes, verifies and reports, as
 * set and restore do. A plan the input breaks exits input_exit. */
int cli_txn_run(struct lsws_cli *cli, const struct lsws_config *desired, int dry_run, int input_exit);

/* ---- templates, backups and fleets (cli/fleet.c) ---- */
/* The values of the command's option name, in command-line order, into
 * out[0..max); returns how many. */
size_t cli_option_values(const struct lsws_cli *cli, const char *name, const char **out, size_t max);
/* Loads a template or backup file ("-": stdin) with lsws_tpl_parse; on
 * error prints FILE:LINE:COLUMN: message and returns EXIT_FAILED. */
int cli_load_tpl(const char *file, unsigned flags, struct lsws_tpl **out);
/* Applies the command's --only and --exclude to t (file for messages). */
int cli_select(const struct lsws_cli *cli, const char *file, struct lsws_tpl *t);
/* A library error on an input file: "FILE:LINE:COLUMN: message" (or "FILE: message"). */
int cli_file_error(int exit_code, const char *file, const struct lsws_error *err);

/* ---- a session with a device (cli/session.c) ---- */
struct session {
    struct lsws_client *client;
    struct lsws_device_info info;
    const struct lsws_model *model;
    const char *uri;
};
/* Opens cli->device, identifies it and, if need_auth, authenticates with the
 * password from --password-file, $LSWS_PASSWORD or a prompt. Prints its own
 * errors; returns an exit code. main calls it for commands with CMD_DEVICE. */
int session_open(struct lsws_cli *cli, struct session *s, int need_auth);
/* The same for the device uri; may_prompt 0: never ask on the terminal
 * (a batch runs unattended: a unit whose password is not given fails). */
int session_open_uri(struct lsws_cli *cli, struct session *s, const char *uri, int need_auth, int may_prompt);
/* The exit status for a link that could not be opened (LSWS_ERR_* rc). */
int session_open_exit(int rc);
void session_close(struct session *s);
/* Prints a liblsws error from a device operation; returns the exit code. */
int session_fail(const struct session *s, const char *what, int rc, const struct lsws_error *err);
/* Reads every setting of the device into a new config. */
int session_read_all(struct session *s, struct lsws_config **cfg);
/* The --trace callback: one frame in hex per line on stderr. */
void cli_trace(void *ctx, char dir, const uint8_t *bytes, size_t len, const char *note);
/* How long a device command may take in all, unless --deadline says. */
#define CLI_DEFAULT_DEADLINE_MS 120000
/* Asks "question [y/N]" on the terminal; 1 for yes. */
int cli_confirm(const char *question);
/* Reads a secret: from a file's first line, or prompts on the terminal without echo. */
int cli_read_secret_file(const struct lsws_cli *cli, const char *path, char *buf, size_t n);
int cli_prompt_secret(const char *prompt, char *buf, size_t n);

#endif
