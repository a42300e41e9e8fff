/* lsws keys: the settings table of a model, for people and for scripts. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    [LSWS_T_BOOL] = "bool",         [LSWS_T_UINT] = "uint",       [LSWS_T_INT] = "int",
    [LSWS_T_ENUM] = "enum",         [LSWS_T_HEX] = "hex",         [LSWS_T_TEXT] = "text",
    [LSWS_T_PASSWORD] = "password", [LSWS_T_CHANNELS] = "channels", [LSWS_T_UTC_OFFSET] = "utc-offset",
};

/* The default, typed; one that derives from the unit or the band is null
 * in JSON ("default_from" says which), secrets redacted unless --show-secrets. */
static void put_default(struct cli_record *row, const struct lsws_model *m, size_t i, int show_secrets)
{
    const struct lsws_row *r = m->settings[i].row;
    const char *def = r->index_defs ? r->index_defs[m->settings[i].index] : r->def;
    const char *from = r->flags & LSWS_F_PER_DEVICE ? "unit" : r->flags & LSWS_F_BAND ? "band" : "table";
    struct lsws_value v;
    if (strcmp(from, "table") != 0 || !def || lsws_value_parse(m, i, def, &v, NULL) != LSWS_OK) {
        cli_put_setting(row, "default", m, i, NULL, 0);
        cli_field_text(row, "(per %s)", from);
    } else {
        cli_put_setting(row, "default", m, i, &v, (r->flags & LSWS_F_SECRET) && !show_secrets);
    }
    cli_put_str(row, "default_from", from);
    cli_field_json_only(row);
}

/* "secret write-only": the flags for people (JSON has them as booleans). */
static const char *flags_text(unsigned f, char *buf, size_t n)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {{LSWS_F_SECRET, "secret"}, {LSWS_F_READONLY, "read-only"}, {LSWS_F_WRITEONLY, "write-only"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0] && used < n; i++)
        if (f & names[i].flag)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? " " : "", names[i].name);
    return buf;
}

static void put_flag(struct cli_record *row, const char *key, int on)
{
    cli_put_bool(row, key, on);
    cli_field_json_only(row);
}

static int on_option(const char *name, const char *value, void *ctx)
{
    if (strcmp(name, "model") == 0)
        *(const char **)ctx = value;
    return EXIT_OK;
}

int cmd_keys(int argc, char **argv, struct lsws_cli *cli)
{
    const char *model_name = NULL;
    int rc = cli_options(cli, on_option, &model_name);
    if (rc != EXIT_OK)
        return rc;
    if (!model_name)
        return cli_error(EXIT_USAGE, "keys needs --model ws523|cth01");
    const struct lsws_model *m = cli_model_arg(model_name);
    if (!m)
        return EXIT_USAGE;
    uint8_t *hit = calloc(m->n_settings, 1);
    if (!hit)
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    if (argc == 0)
        memset(hit, 1, m->n_settings);
    else if (lsws_model_match(m, argv[0], hit) == 0) {
        free(hit);
        return cli_no_setting(m, argv[0], "");
    }
    struct cli_record *table = cli_table_new();
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!hit[i])
            continue;
        const struct lsws_setting *s = &m->settings[i];
        unsigned f = s->row->flags;
        char allow[256], code[16], flags[48];
        lsws_setting_allowed(m, i, allow, sizeof allow);
        snprintf(code, sizeof code, "%0*x", s->code_len * 2, (unsigned)s->code);
        struct cli_record *row = cli_table_row(table);
        cli_put_str(row, "key", s->key);
        cli_put_str(row, "type", type_names[s->row->type]);
        cli_put_str(row, "unit", s->row->unit ? s->row->unit : "");
        cli_field_json_only(row);
        cli_put_str(row, "allowed", allow);
        put_default(row, m, i, cli->show_secrets);
        cli_put_str(row, "code", code);
        cli_put_str(row, "code_owner", f & LSWS_F_VENDOR ? "vendor" : "lsws");
        cli_put_str(row, "flags", flags_text(f, flags, sizeof flags));
        cli_field_text_only(row);
        put_flag(row, "secret", !!(f & LSWS_F_SECRET));
        put_flag(row, "read_only", !!(f & LSWS_F_READONLY));
        put_flag(row, "write_only", !!(f & LSWS_F_WRITEONLY));
        cli_put_str(row, "source", s->row->source ? s->row->source : "");
        cli_field_json_only(row);
        cli_put_str(row, "help", s->row->help ? s->row->help : "");
        cli_field_json_only(row);
    }
    free(hit);
    return cli_print(cli, table, 0);
}
