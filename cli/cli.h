/* The lsws command line: subcommand table, options, output helpers. */
#ifndef LSWS_CLI_H
#define LSWS_CLI_H

#include <stdio.h>

#include "lsws.h"

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

struct cli_option;

/* State shared by every subcommand: global options. */
struct lsws_cli {
    int json;
    int show_secrets;
    int verbose;               /* -v: each exchange on stderr */
    int trace;                 /* --trace: frames in hex on stderr */
    int yes;                   /* --yes: no confirmation prompts */
    int timeout_ms;            /* --timeout: per-exchange reply timeout, 0 = transport default */
    int deadline_ms;           /* --deadline: total time for the command, 0 = CLI_DEFAULT_DEADLINE_MS */
    int wait_ms;               /* --wait: for the device to come into reach (NFC card), ms; -1 without end */
    const char *device;        /* -d URI, else $LSWS_DEVICE */
    const char *password_file; /* --password-file */
};

/* Applies a global option (from cli_global_options); returns EXIT_OK,
 * EXIT_USAGE, or -1 when it printed help or the version. */
int cli_global_option(struct lsws_cli *cli, const struct cli_option *o, const char *value);
/* 1 when o's argument is optional ("[SECONDS]"): it is taken from the next
 * word only when that word is a number. */
int cli_optional_arg(const struct cli_option *o, const char *next);

struct cli_option {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 if none */
    const char *arg;  /* argument name, NULL for a flag; "[NAME]": optional, a number that follows */
    const char *help;
};

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv, struct lsws_cli *cli);
    const char *synopsis; /* after "lsws NAME " */
    const char *summary;
    const struct cli_option *options; /* terminated by a zero row */
    const char *const *subcommands;   /* NULL-terminated, or NULL */
};

extern const struct cli_command cli_commands[];
extern const struct cli_option cli_global_options[];
const struct cli_command *cli_find_command(const char *name);

/* Parses argv of a subcommand with its option table: calls on_option for
 * each option (value NULL for flags), leaves operands in argv[*first..argc).
 * Handles the global options. Returns EXIT_OK, EXIT_USAGE, or -1 when help was printed. */
int cli_parse(const struct cli_command *cmd, struct lsws_cli *cli, int argc, char **argv,
              int *first, int (*on_option)(const char *name, const char *value, void *ctx),
              void *ctx);
void cli_print_command_help(const struct cli_command *cmd, FILE *out);
void cli_print_help(FILE *out);

/* "lsws: message" on stderr, git style. Returns code for `return cli_error(...)`. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit code for a liblsws error code. */
int cli_exit_for(int lsws_code);

/* Reads a whole file (or "-" for stdin) up to max bytes into a NUL-terminated heap buffer. */
int cli_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes data to path, created with mode (0600 for anything holding secrets), atomically. */
int cli_write_file(const char *path, const char *data, size_t len, unsigned mode);
/* Prints a JSON value (indented, newline) and releases it. */
void cli_print_json(json_t *o);
void cli_base64(const uint8_t *in, size_t len, char *out, size_t cap);

const struct lsws_model *cli_model_arg(const char *name);

/* ---- a session with a device (cli/session.c) ---- */
struct session {
    struct lsws_client *client;
    struct lsws_device_info info;
    const struct lsws_model *model;
    const char *uri;
};
/* Opens cli->device, identifies it and, if need_auth, authenticates with the
 * password from --password-file, $LSWS_PASSWORD or a prompt. Prints its own
 * errors; returns an exit code. */
int session_open(struct lsws_cli *cli, struct session *s, int need_auth);
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
int cli_read_secret_file(const char *path, char *buf, size_t n);
int cli_prompt_secret(const char *prompt, char *buf, size_t n);

#endif
