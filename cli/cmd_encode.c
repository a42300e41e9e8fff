/* lsws encode: a LoRaWAN downlink as hex and base64, with its port, using
 * only the vendor's documented downlink commands: settings changes
 * (KEY=VALUE) and control actions in the words a technician uses
 * ("socket on", "delay 60s open", "reboot"; lsws encode --list). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct encode_opts {
    const char *model, *base;
    int list;
};

static int on_option(const char *name, const char *value, void *ctx)
{
    struct encode_opts *o = ctx;
    if (strcmp(name, "model") == 0)
        o->model = value;
    else if (strcmp(name, "base") == 0)
        o->base = value;
    else if (strcmp(name, "list") == 0)
        o->list = 1;
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

/* "socket on|off": an action's usage. */
static void action_usage(const struct lsws_action *a, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", a->name, a->args[0] ? " " : "", a->args);
}

/* lsws encode --list: the actions of one model or of both. */
static int list_actions(const struct lsws_cli *cli, const struct lsws_model *only)
{
    struct cli_record *table = cli_table_new();
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const struct lsws_model *model = lsws_model_get((enum lsws_model_id)m);
        if (only && only != model)
            continue;
        const struct lsws_action *a;
        for (size_t i = 0; (a = lsws_action_at(model->id, i)); i++) {
            char usage[128], code[16], ex[160];
            action_usage(a, usage, sizeof usage);
            snprintf(code, sizeof code, a->code_len == 2 ? "%04x" : "%02x", (unsigned)a->code);
            snprintf(ex, sizeof ex, "lsws encode --model %s %s%s%s", model->name, a->name,
                     a->example[0] ? " " : "", a->example);
            struct cli_record *row = cli_table_row(table);
            cli_put_str(row, "model", model->name);
            cli_put_str(row, "action", a->name);
            cli_field_json_only(row);
            cli_put_str(row, "args", a->args);
            cli_field_json_only(row);
            cli_put_str(row, "usage", usage);
            cli_field_text_only(row);
            cli_put_str(row, "code", code);
            cli_put_str(row, "help", a->help);
            cli_put_str(row, "example", ex);
            cli_field_json_only(row);
            cli_put_str(row, "source", a->source);
            cli_field_json_only(row);
        }
    }
    return cli_print(cli, table, 0);
}

/* Suggestions for a word that is neither KEY=VALUE nor an action. */
static int unknown_action(const struct lsws_model *m, const char *word)
{
    const char *names[64];
    size_t n = 0;
    const struct lsws_action *a;
    for (size_t i = 0; n < 64 && (a = lsws_action_at(m->id, i)); i++)
        names[n++] = a->name;
    char hint[200];
    cli_suggest(word, names, n, hint, sizeof hint);
    return cli_error(EXIT_USAGE, "'%s' is no %s action and not KEY=VALUE%s%s", word, m->name, hint,
                     hint[0] ? "" : "; see 'lsws encode --list'");
}

/* Parses the operands: KEY=VALUE settings into cfg, actions (with their
 * operands) encoded into act[0..*alen). Only vendor-coded settings can be
 * sent as downlinks (lsws's own codes exist only on the configuration link). */
static int parse_operands(struct lsws_config *cfg, int n, char **args, uint8_t *act, size_t cap,
                          size_t *alen)
{
    for (int i = 0; i < n;) {
        struct lsws_error err;
        lsws_error_clear(&err);
        char *eq = strchr(args[i], '=');
        if (!eq) {
            int used = 0;
            const struct lsws_action *a =
                lsws_action_find(cfg->model->id, n - i, (const char *const *)args + i, &used);
            if (!a)
                return unknown_action(cfg->model, args[i]);
            int want = lsws_action_argc(a);
            if (n - i - used < want)
                return cli_error(EXIT_USAGE, "'%s' needs %s: usage: %s %s", a->name, a->args,
                                 a->name, a->args);
            if (lsws_action_encode(cfg->model->id, a, want, (const char *const *)args + i + used,
                                   act, cap, alen, &err) != LSWS_OK)
                return cli_fail(EXIT_USAGE, err.code, "%s", err.msg);
            i += used + want;
            continue;
        }
        int rc = lsws_config_assign(cfg, args[i], &err); /* a key given twice is an error */
        if (rc != LSWS_OK)
            return cli_fail(EXIT_USAGE, err.code, "%s", err.msg);
        *eq = '\0';
        int idx = lsws_model_find(cfg->model, args[i]);
        const struct lsws_row *row = cfg->model->settings[idx].row;
        if (!(row->flags & LSWS_F_VENDOR))
            return cli_error(EXIT_USAGE,
                             "%s has no LoRaWAN downlink command in the %s guide; change it over "
                             "the configuration link (lsws set)", args[i], cfg->model->name);
        *eq = '=';
        i++;
    }
    return EXIT_OK;
}

/* The downlink port: the template's lorawan.app_port, else the guides' 85. */
static unsigned downlink_port(const struct lsws_config *base)
{
    int idx = base ? lsws_model_find(base->model, "lorawan.app_port") : -1;
    if (idx >= 0 && base->present[idx])
        return (unsigned)base->values[idx].num;
    return LSWS_DOWNLINK_PORT;
}

int cmd_encode(int argc, char **argv, struct lsws_cli *cli)
{
    const struct cli_command *self = cli->command;
    struct encode_opts o = {0};
    int rc = cli_options(cli, on_option, &o);
    if (rc != EXIT_OK)
        return rc;
    const struct lsws_model *m = o.model ? cli_model_arg(o.model) : NULL;
    if (o.model && !m)
        return EXIT_USAGE;
    if (o.list) {
        if (argc)
            return cli_error(EXIT_USAGE, "--list takes no operands");
        return list_actions(cli, m);
    }
    if (!m)
        return cli_error(EXIT_USAGE, "encode needs --model ws523|cth01");
    if (argc == 0)
        return cli_error(EXIT_USAGE,
                         "encode needs an action or KEY=VALUE (lsws encode --list)\nusage: lsws "
                         "encode %s",
                         self->synopsis);

    struct lsws_config *cfg = NULL, *base = NULL;
    if (lsws_config_new(m, &cfg) != LSWS_OK)
        return cli_error(EXIT_FAILED, "out of memory");
    rc = o.base ? load_base(o.base, m, &base) : EXIT_OK;
    uint8_t actions[512];
    size_t alen = 0;
    if (rc == EXIT_OK)
        rc = parse_operands(cfg, argc, argv, actions, sizeof actions, &alen);

    uint8_t bytes[1024];
    size_t len = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (rc == EXIT_OK && lsws_config_count(cfg)) {
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
            rc = cli_fail(EXIT_USAGE, err.code, "%s", err.msg);
        lsws_config_free(merged);
    }
    /* Settings first, then the actions in the order given: a reboot after
     * the settings it should apply. */
    if (rc == EXIT_OK && len + alen > sizeof bytes)
        rc = cli_error(EXIT_USAGE, "the downlink exceeds %zu bytes", sizeof bytes);
    if (rc == EXIT_OK) {
        memcpy(bytes + len, actions, alen);
        len += alen;
        unsigned port = downlink_port(base);
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
        cli_put_int(r, "port", (long long)port);
        cli_field_json_only(r);
        cli_put_line(r, "%s", hex);
        cli_put_line(r, "port %u, base64 %s", port, b64);
        rc = cli_print(cli, r, CLI_COMPACT);
    }
    lsws_config_free(cfg);
    lsws_config_free(base);
    return rc;
}
