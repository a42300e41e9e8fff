/* Messages, exit codes and file helpers for the command line. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first error of the run: the JSON error object reports it (the
 * messages after it are consequences). One process runs one command. */
static struct {
    int set;
    int exit_code, lsws_code;
    char message[512];
} first_error;

/* The library code a failure with this exit status most likely had, when
 * the caller does not name one. */
static int code_for_exit(int exit_code)
{
    static const struct {
        int exit_code, lsws_code;
    } rows[] = {
        {EXIT_USAGE, LSWS_ERR_INVALID}, {EXIT_NODEV, LSWS_ERR_NODEV},   {EXIT_AUTH, LSWS_ERR_AUTH},
        {EXIT_VERIFY, LSWS_ERR_VERIFY}, {EXIT_FAILED, LSWS_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].exit_code == exit_code)
            return rows[i].lsws_code;
    return LSWS_ERR_INVALID;
}

static int verror(int exit_code, int lsws_code, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static int verror(int exit_code, int lsws_code, const char *fmt, va_list ap)
{
    char msg[sizeof first_error.message];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "lsws: %s\n", msg);
    if (!first_error.set) {
        first_error.set = 1;
        first_error.exit_code = exit_code;
        first_error.lsws_code = lsws_code < 0 ? lsws_code : code_for_exit(exit_code);
        /* The first line: a usage line after it is help, not the error. */
        snprintf(first_error.message, sizeof first_error.message, "%.*s", (int)strcspn(msg, "\n"), msg);
    }
    return exit_code;
}

int cli_error(int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(exit_code, 0, fmt, ap);
    va_end(ap);
    return exit_code;
}

int cli_fail(int exit_code, int lsws_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(exit_code, lsws_code, fmt, ap);
    va_end(ap);
    return exit_code;
}

void cli_warn(const struct lsws_cli *cli, const char *fmt, ...)
{
    if (cli->quiet)
        return;
    va_list ap;
    fputs("lsws: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_note(const struct lsws_cli *cli, const char *fmt, ...)
{
    if (cli->quiet)
        return;
    va_list ap;
    fputs("lsws: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* {"error": {"code": "LSWS_ERR_RANGE", "exit_status": 2, "message": "..."}},
 * one line (it may end a stream of JSON Lines). */
void cli_print_error(int exit_code)
{
    int code = first_error.set ? first_error.lsws_code : code_for_exit(exit_code);
    const char *name = lsws_errname(code);
    json_t *o = json_pack("{s:{s:s, s:i, s:s}}", "error", "code", name ? name : "LSWS_ERR_INVALID", "exit_status",
                          exit_code, "message", first_error.set ? first_error.message : lsws_strerror(code));
    if (o) {
        fflush(stdout);
        json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(o);
    }
}

static const struct {
    int lsws_code;
    int exit_code;
} exit_map[] = {
    {LSWS_OK, EXIT_OK},
    {LSWS_ERR_NODEV, EXIT_NODEV},
    {LSWS_ERR_TIMEOUT, EXIT_NODEV},
    {LSWS_ERR_BUSY, EXIT_NODEV},
    {LSWS_ERR_AUTH, EXIT_AUTH},
    {LSWS_ERR_VERIFY, EXIT_VERIFY},
};

int cli_exit_for(int lsws_code)
{
    for (size_t i = 0; i < sizeof exit_map / sizeof exit_map[0]; i++)
        if (exit_map[i].lsws_code == lsws_code)
            return exit_map[i].exit_code;
    return EXIT_FAILED;
}

int cli_read_file(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return cli_fail(EXIT_FAILED, LSWS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    char *buf = malloc(max + 1);
    if (!buf) {
        if (f != stdin)
            fclose(f);
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, max + 1, f);
    int failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed) {
        free(buf);
        return cli_fail(EXIT_FAILED, LSWS_ERR_IO, "cannot read '%s'", path);
    }
    if (n > max) {
        free(buf);
        return cli_fail(EXIT_FAILED, LSWS_ERR_RANGE, "'%s' is larger than %zu bytes", path, max);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return EXIT_OK;
}

/* lsws_file_write: atomic, the mode asked for, and never through a link or
 * onto a FIFO or a device (-o /dev/null as root). */
int cli_write_file(const char *path, const char *data, size_t len, unsigned mode)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_file_write(path, data, len, mode, &err);
    return rc == LSWS_OK ? EXIT_OK : cli_fail(EXIT_FAILED, rc, "%s", err.msg);
}

void cli_base64(const uint8_t *in, size_t len, char *out, size_t cap)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 <= cap; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = i + 1 < len ? abc[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

int cli_no_setting(const struct lsws_model *m, const char *pattern, const char *what)
{
    const char *near[LSWS_SUGGEST_MAX];
    char hint[200];
    lsws_suggest_format(near, lsws_model_suggest(m, pattern, near, LSWS_SUGGEST_MAX), hint, sizeof hint);
    if (hint[0])
        return cli_fail(EXIT_USAGE, LSWS_ERR_UNKNOWN_KEY, "no %ssetting '%s' on %s; %s", what, pattern, m->name, hint);
    return cli_fail(EXIT_USAGE, LSWS_ERR_UNKNOWN_KEY, "no %ssetting '%s' on %s (see lsws keys --model %s)", what,
                    pattern, m->name, m->name);
}

const struct lsws_model *cli_model_arg(const char *name)
{
    const struct lsws_model *m = lsws_model_by_name(name);
    if (!m)
        cli_fail(EXIT_USAGE, LSWS_ERR_MODEL, "unknown model '%s' (known: ws523, ws52x, cth01)", name);
    return m;
}


