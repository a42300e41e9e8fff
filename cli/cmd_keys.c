/* lsws keys: the settings table of a model, for people and for scripts. */
#include "cli.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {
    [LSWS_T_BOOL] = "bool",         [LSWS_T_UINT] = "uint",       [LSWS_T_INT] = "int",
    [LSWS_T_ENUM] = "enum",         [LSWS_T_HEX] = "hex",         [LSWS_T_TEXT] = "text",
    [LSWS_T_PASSWORD] = "password", [LSWS_T_CHANNELS] = "channels", [LSWS_T_UTC_OFFSET] = "utc-offset",
};

/* The default in canonical form; secrets redacted unless --show-secrets. */
static void default_text(const struct lsws_model *m, size_t i, int show_secrets, char *buf, size_t n)
{
    const struct lsws_row *row = m->settings[i].row;
    const char *def = row->index_defs ? row->index_defs[m->settings[i].index] : row->def;
    struct lsws_value v;
    if (row->flags & LSWS_F_PER_DEVICE)
        snprintf(buf, n, "(per unit)");
    else if (row->flags & LSWS_F_BAND)
        snprintf(buf, n, "(per band)");
    else if ((row->flags & LSWS_F_SECRET) && !show_secrets)
        snprintf(buf, n, "%s", LSWS_REDACTED);
    else if (def && lsws_value_parse(m, i, def, &v, NULL) == LSWS_OK)
        lsws_value_format(m, i, &v, buf, n);
    else
        snprintf(buf, n, "%s", def ? def : "");
}

static void flags_text(unsigned f, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", f & LSWS_F_SECRET ? "secret " : "", f & LSWS_F_READONLY ? "read-only " : "",
             f & LSWS_F_WRITEONLY ? "write-only " : "");
}

static int on_option(const char *name, const char *value, void *ctx)
{
    if (strcmp(name, "model") == 0)
        *(const char **)ctx = value;
    return EXIT_OK;
}

int cmd_keys(int argc, char **argv, struct lsws_cli *cli)
{
    const struct cli_command *self = cli_find_command("keys");
    const char *model_name = NULL;
    int first;
    int rc = cli_parse(self, cli, argc, argv, &first, on_option, &model_name);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (!model_name)
        return cli_error(EXIT_USAGE, "keys needs --model ws523|cth01");
    const struct lsws_model *m = cli_model_arg(model_name);
    if (!m)
        return EXIT_USAGE;
    const char *pattern = first < argc ? argv[first] : "*";
    json_t *list = cli->json ? json_array() : NULL;
    if (!cli->json)
        printf("%-42s %-9s %-28s %-18s %s\n", "KEY", "TYPE", "ALLOWED", "DEFAULT", "CODE");
    for (size_t i = 0; i < m->n_settings; i++) {
        const struct lsws_setting *s = &m->settings[i];
        if (fnmatch(pattern, s->key, 0) != 0)
            continue;
        char allow[256], def[64], flags[48], code[16];
        lsws_setting_allowed(m, i, allow, sizeof allow);
        default_text(m, i, cli->show_secrets, def, sizeof def);
        flags_text(s->row->flags, flags, sizeof flags);
        snprintf(code, sizeof code, "%0*x", s->code_len * 2, (unsigned)s->code);
        const char *owner = s->row->flags & LSWS_F_VENDOR ? "vendor" : "lsws";
        if (list) {
            json_array_append_new(
                list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:s}", "key",
                                s->key, "type", type_names[s->row->type], "unit",
                                s->row->unit ? s->row->unit : "", "allowed", allow, "default", def,
                                "code", code, "code_owner", owner, "secret",
                                !!(s->row->flags & LSWS_F_SECRET), "read_only",
                                !!(s->row->flags & LSWS_F_READONLY), "write_only",
                                !!(s->row->flags & LSWS_F_WRITEONLY), "source",
                                s->row->source ? s->row->source : "", "help", s->row->help ? s->row->help : ""));
        } else {
            printf("%-42s %-9s %-28s %-18s %s %s%s%s\n", s->key, type_names[s->row->type], allow,
                   def, code, owner, flags[0] ? " " : "", flags);
        }
    }
    if (list) {
        cli_print_json(list);
    }
    return EXIT_OK;
}
