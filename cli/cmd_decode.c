/* lsws decode: uplink payloads from arguments or stdin (one per line), as
 * text or JSON Lines. A bad payload is reported with its byte offset and the
 * rest are still decoded; the exit status is then 1. Payloads are decoded
 * record by record (lsws_uplink_decode_each), so a CTH01 history page of
 * hundreds of records prints whole. */
#include "cli.h"

#include <string.h>

#define PAYLOAD_MAX (128 * 1024) /* a page of 300 full CTH01 history records fits */
#define OUT_MAX (64 * 1024)      /* the text of one record: at most LSWS_UPLINK_MAX readings */

int decode_csv(struct lsws_cli *cli, enum lsws_model_id model, int argc, char **argv); /* cli/decode_csv.c */

struct decode_ctx {
    enum lsws_model_id model;
    int csv;
    struct lsws_cli *cli;
    enum lsws_model_id found;  /* the model it decoded as */
    unsigned json_state;       /* lsws_uplink_json_stream */
    int many; /* label each payload in text mode */
    uint8_t bytes[PAYLOAD_MAX];
    char line[2 * PAYLOAD_MAX + 256];
    char out[OUT_MAX];
};

static int on_option(const char *name, const char *value, void *arg)
{
    struct decode_ctx *ctx = arg;
    if (strcmp(name, "model") == 0) {
        const struct lsws_model *m = cli_model_arg(value);
        if (!m)
            return EXIT_USAGE;
        ctx->model = m->id;
    } else if (strcmp(name, "csv") == 0) {
        ctx->csv = 1;
    }
    return EXIT_OK;
}

static int note_model(const struct lsws_uplink *rec, void *arg)
{
    ((struct decode_ctx *)arg)->found = rec->model;
    return 0;
}

/* Prints one record as it is decoded: a piece of the payload's JSON
 * object, or its text lines. */
static int print_record(const struct lsws_uplink *rec, void *arg)
{
    struct decode_ctx *ctx = arg;
    size_t n = ctx->cli->json ? lsws_uplink_json_stream(rec, &ctx->json_state, ctx->out, sizeof ctx->out)
                              : lsws_uplink_text(rec, ctx->out, sizeof ctx->out);
    if (n >= sizeof ctx->out)
        return LSWS_ERR_RANGE; /* cannot happen: a record's text is far smaller */
    fwrite(ctx->out, 1, n, stdout);
    return 0;
}

/* Decodes one payload; `where` names it in messages ("argument 2", "line 7"). */
static int decode_one(struct decode_ctx *ctx, const char *hex, const char *where)
{
    size_t len;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_hex_parse(hex, ctx->bytes, sizeof ctx->bytes, &len, &err) != LSWS_OK)
        return cli_error(EXIT_FAILED, "%s: '%s': %s", where, hex, err.msg);
    if (len == 0)
        return cli_error(EXIT_FAILED, "%s: empty payload", where);
    /* Check the whole payload first: records print as they decode, and a
     * payload that fails must print nothing (JSON Lines stay whole). */
    if (lsws_uplink_decode_each(ctx->model, ctx->bytes, len, note_model, ctx, &err) != LSWS_OK)
        return cli_error(EXIT_FAILED, "%s: '%s': %s", where, hex, err.msg);
    ctx->json_state = 0;
    if (ctx->many && !ctx->cli->json)
        printf("# %s (%s)\n", hex, lsws_model_get(ctx->found)->name);
    if (lsws_uplink_decode_each(ctx->found, ctx->bytes, len, print_record, ctx, &err) != LSWS_OK)
        return cli_error(EXIT_FAILED, "%s: decoded payload too large to print", where);
    if (ctx->cli->json) {
        size_t n = lsws_uplink_json_stream(NULL, &ctx->json_state, ctx->out, sizeof ctx->out);
        fwrite(ctx->out, 1, n, stdout);
        putchar('\n');
    } else if (ctx->many) {
        putchar('\n');
    }
    return EXIT_OK;
}

static int decode_stdin(struct decode_ctx *ctx)
{
    char *line = ctx->line;
    const size_t cap = sizeof ctx->line;
    int rc = EXIT_OK;
    unsigned long lineno = 0;
    ctx->many = 1;
    while (fgets(line, (int)cap, stdin)) {
        lineno++;
        size_t n = strlen(line);
        if (n == cap - 1 && line[n - 1] != '\n') {
            int c;
            while ((c = getchar()) != EOF && c != '\n')
                ;
            rc = cli_error(EXIT_FAILED, "line %lu: longer than %zu characters", lineno, cap - 2);
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
    ctx.csv = 0;
    int rc = cli_options(cli, on_option, &ctx);
    if (rc != EXIT_OK)
        return rc;
    if (ctx.csv)
        return decode_csv(cli, ctx.model, argc, argv);
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
