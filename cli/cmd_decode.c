/* lsws decode: uplink payloads from arguments or stdin (one per line), as
 * text or JSON Lines. A bad payload is reported with its byte offset and the
 * rest are still decoded; the exit status is then 1. */
#include "cli.h"

#include <string.h>

#define PAYLOAD_MAX 1024
#define OUT_MAX (64 * 1024)

struct decode_ctx {
    enum lsws_model_id model;
    struct lsws_cli *cli;
    struct lsws_uplink up;
    char out[OUT_MAX];
    int many; /* label each payload in text mode */
};

static int on_option(const char *name, const char *value, void *arg)
{
    struct decode_ctx *ctx = arg;
    if (strcmp(name, "model") == 0) {
        const struct lsws_model *m = cli_model_arg(value);
        if (!m)
            return EXIT_USAGE;
        ctx->model = m->id;
    }
    return EXIT_OK;
}

/* Decodes one payload; `where` names it in messages ("argument 2", "line 7"). */
static int decode_one(struct decode_ctx *ctx, const char *hex, const char *where)
{
    uint8_t bytes[PAYLOAD_MAX];
    size_t len;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_hex_parse(hex, bytes, sizeof bytes, &len, &err) != LSWS_OK)
        return cli_error(EXIT_FAILED, "%s: '%s': %s", where, hex, err.msg);
    if (len == 0)
        return cli_error(EXIT_FAILED, "%s: empty payload", where);
    if (lsws_uplink_decode(ctx->model, bytes, len, &ctx->up, &err) != LSWS_OK)
        return cli_error(EXIT_FAILED, "%s: '%s': %s", where, hex, err.msg);
    if (ctx->cli->json) {
        size_t n = lsws_uplink_json(&ctx->up, ctx->out, sizeof ctx->out);
        if (n >= sizeof ctx->out)
            return cli_error(EXIT_FAILED, "%s: decoded payload too large to print", where);
        fwrite(ctx->out, 1, n, stdout);
        putchar('\n');
    } else {
        size_t n = lsws_uplink_text(&ctx->up, ctx->out, sizeof ctx->out);
        if (n >= sizeof ctx->out)
            return cli_error(EXIT_FAILED, "%s: decoded payload too large to print", where);
        if (ctx->many)
            printf("# %s (%s)\n", hex, lsws_model_get(ctx->up.model)->name);
        fwrite(ctx->out, 1, n, stdout);
        if (ctx->many)
            putchar('\n');
    }
    return EXIT_OK;
}

static int decode_stdin(struct decode_ctx *ctx)
{
    char line[2 * PAYLOAD_MAX + 256];
    int rc = EXIT_OK;
    unsigned long lineno = 0;
    ctx->many = 1;
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            int c;
            while ((c = getchar()) != EOF && c != '\n')
                ;
            rc = cli_error(EXIT_FAILED, "line %lu: longer than %zu characters", lineno, sizeof line - 2);
            continue;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (!n || line[0] == '#')
            continue;
        char where[32];
        snprintf(where, sizeof where, "line %lu", lineno);
        if (decode_one(ctx, line, where) != EXIT_OK)
            rc = EXIT_FAILED;
    }
    return rc;
}

int cmd_decode(int argc, char **argv, struct lsws_cli *cli)
{
    static struct decode_ctx ctx; /* large buffers: not on the stack */
    ctx.model = LSWS_MODEL_COUNT;
    ctx.cli = cli;
    ctx.many = 0;
    int rc = cli_options(cli, on_option, &ctx);
    if (rc != EXIT_OK)
        return rc;
    if (argc == 0)
        return decode_stdin(&ctx);
    ctx.many = argc > 1;
    for (int i = 0; i < argc; i++) {
        char where[32];
        snprintf(where, sizeof where, "argument %d", i + 1);
        if (decode_one(&ctx, argv[i], where) != EXIT_OK)
            rc = EXIT_FAILED;
    }
    return rc;
}
