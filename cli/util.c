/* Messages, exit codes and file helpers for the command line. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("lsws: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    fputs("lsws: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
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
        return cli_error(EXIT_FAILED, "cannot open '%s': %s", path, strerror(errno));
    char *buf = malloc(max + 1);
    if (!buf) {
        if (f != stdin)
            fclose(f);
        return cli_error(EXIT_FAILED, "out of memory");
    }
    size_t n = fread(buf, 1, max + 1, f);
    int failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed) {
        free(buf);
        return cli_error(EXIT_FAILED, "cannot read '%s'", path);
    }
    if (n > max) {
        free(buf);
        return cli_error(EXIT_FAILED, "'%s' is larger than %zu bytes", path, max);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return EXIT_OK;
}

/* Write to a temporary file beside the target, then rename: a failed write
 * never leaves half a file behind. */
int cli_write_file(const char *path, const char *data, size_t len, unsigned mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return cli_error(EXIT_FAILED, "path too long: '%s'", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, (mode_t)mode);
    if (fd < 0)
        return cli_error(EXIT_FAILED, "cannot create '%s': %s", path, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return cli_error(EXIT_FAILED, "cannot write '%s': %s", path, strerror(e));
        }
        done += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return cli_error(EXIT_FAILED, "cannot write '%s': %s", path, strerror(e));
    }
    return EXIT_OK;
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

const struct lsws_model *cli_model_arg(const char *name)
{
    const struct lsws_model *m = lsws_model_by_name(name);
    if (!m)
        cli_error(EXIT_USAGE, "unknown model '%s' (known: ws523, ws52x, cth01)", name);
    return m;
}

void cli_print_json(json_t *o)
{
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(o);
}
