/* lsws encode: a settings change as the hex (and base64) of a LoRaWAN
 * downlink, using only the vendor's documented downlink commands. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct encode_opts {
    const char *model, *base;
};

static int on_option(const char *name, const char *value, void *ctx)
{
    struct encode_opts *o = ctx;
    if (strcmp(name, "model") == 0)
        o->model = value;
    else if (strcmp(name, "base") == 0)
        o->base = value;
    return EXIT_OK;
}

static int load_base(const char *file, const struct lsws_model *m, struct lsws_config **base)
{
    char *text;
    size_t len;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = cli_read_file(file, 1u << 20, &text, &len);
    if (rc != EXIT_OK)
        return rc;
    rc = lsws_template_parse(text, len, base, &err);
    free(text);
    if (rc != LSWS_OK)
        return err.line ? cli_error(EXIT_FAILED, "%s:%d:%d: %s", file, err.line, err.column, err.msg)
                        : cli_error(EXIT_FAILED, "%s: %s", file, err.msg);
    if ((*base)->model != m) {
        const char *other = (*base)->model->name;
        lsws_config_free(*base);
        *base = NULL;
        return cli_error(EXIT_FAILED, "%s: template is for %s, not %s", file, other, m->name);
    }
    return EXIT_OK;
}

/* Parses KEY=VALUE arguments into cfg; only vendor-coded settings can be
 * sent as downlinks (lsws's own codes exist only on the configuration link). */
static int parse_assignments(struct lsws_config *cfg, int n, char **args)
{
    for (int i = 0; i < n; i++) {
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_config_assign(cfg, args[i], &err); /* a key given twice is an error */
        if (rc != LSWS_OK)
            return cli_fail(EXIT_USAGE, err.code, "%s", err.msg);
        *strchr(args[i], '=') = '\0';
        int idx = lsws_model_find(cfg->model, args[i]);
        const struct lsws_row *row = cfg->model->settings[idx].row;
        if (!(row->flags & LSWS_F_VENDOR))
            return cli_error(EXIT_USAGE,
                             "%s has no LoRaWAN downlink command in the %s guide; change it over "
                             "the configuration link (lsws set)", args[i], cfg->model->name);
    }
    return EXIT_OK;
}

int cmd_encode(int argc, char **argv, struct lsws_cli *cli)
{
    const struct cli_command *self = cli->command;
    struct encode_opts o = {0};
    int rc = cli_options(cli, on_option, &o);
    if (rc != EXIT_OK)
        return rc;
    if (!o.model)
        return cli_error(EXIT_USAGE, "encode needs --model ws523|cth01");
    if (argc == 0)
        return cli_error(EXIT_USAGE, "encode needs at least one KEY=VALUE\nusage: lsws encode %s",
                         self->synopsis);
    const struct lsws_model *m = cli_model_arg(o.model);
    if (!m)
        return EXIT_USAGE;

    struct lsws_config *cfg = NULL, *base = NULL;
    if (lsws_config_new(m, &cfg) != LSWS_OK)
        return cli_error(EXIT_FAILED, "out of memory");
    rc = o.base ? load_base(o.base, m, &base) : EXIT_OK;
    if (rc == EXIT_OK)
        rc = parse_assignments(cfg, argc, argv);

    uint8_t bytes[1024];
    size_t len = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (rc == EXIT_OK) {
        /* Rules between settings are checked on what the device will hold. */
        struct lsws_config *merged = NULL;
        if (base && lsws_config_copy(base, &merged) == LSWS_OK) {
            for (size_t i = 0; i < m->n_settings; i++)
                if (cfg->present[i]) {
                    merged->values[i] = cfg->values[i];
                    merged->present[i] = 1;
                }
        }
        if (lsws_config_check(merged ? merged : cfg, &err) != LSWS_OK ||
            lsws_settings_encode(cfg, base, bytes, sizeof bytes, &len, &err) != LSWS_OK)
            rc = cli_error(EXIT_USAGE, "%s", err.msg);
        lsws_config_free(merged);
    }
    if (rc == EXIT_OK) {
        char hex[2 * sizeof bytes + 1], b64[4 * sizeof bytes / 3 + 8];
        lsws_hex_format(bytes, len, hex);
        cli_base64(bytes, len, b64, sizeof b64);
        struct cli_record *r = cli_record_new();
        cli_put_str(r, "model", m->name);
        cli_field_json_only(r);
        cli_put_str(r, "hex", hex);
        cli_field_json_only(r);
        cli_put_str(r, "base64", b64);
        cli_field_json_only(r);
        cli_put_int(r, "bytes", (long long)len);
        cli_field_json_only(r);
        cli_put_line(r, "%s", hex);
        rc = cli_print(cli, r, CLI_COMPACT);
    }
    lsws_config_free(cfg);
    lsws_config_free(base);
    return rc;
}
