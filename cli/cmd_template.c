/* lsws template new|lint|show: factory-default templates, validation with
 * line:column, and a table view. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define TEMPLATE_MAX (1u << 20)

struct template_opts {
    const char *model, *band, *output;
};

static int on_option(const char *name, const char *value, void *ctx)
{
    struct template_opts *o = ctx;
    if (strcmp(name, "model") == 0)
        o->model = value;
    else if (strcmp(name, "band") == 0)
        o->band = value;
    else if (strcmp(name, "output") == 0)
        o->output = value;
    return EXIT_OK;
}

static int report(const char *file, const struct lsws_error *err)
{
    if (err->line)
        return cli_fail(EXIT_FAILED, err->code, "%s:%d:%d: %s", file, err->line, err->column, err->msg);
    return cli_fail(EXIT_FAILED, err->code, "%s: %s", file, err->msg);
}

/* Loads and checks a template file; prints the error and returns an exit code. */
static int load(const char *file, struct lsws_config **cfg, struct lsws_error *err)
{
    char *text;
    size_t len;
    lsws_error_clear(err);
    int rc = cli_read_file(file, TEMPLATE_MAX, &text, &len);
    if (rc != EXIT_OK)
        return rc;
    rc = lsws_template_parse(text, len, cfg, err);
    free(text);
    return rc == LSWS_OK ? EXIT_OK : EXIT_FAILED;
}

/* The same for templates for units: placeholders and backup headers allowed. */
static int load_tpl(const char *file, struct lsws_tpl **t, struct lsws_error *err)
{
    char *text;
    size_t len;
    lsws_error_clear(err);
    *t = NULL;
    int rc = cli_read_file(file, TEMPLATE_MAX, &text, &len);
    if (rc != EXIT_OK)
        return rc;
    rc = lsws_tpl_parse(text, len, LSWS_TPL_PLACEHOLDERS, t, err);
    explicit_bzero(text, len);
    free(text);
    return rc == LSWS_OK ? EXIT_OK : EXIT_FAILED;
}

static size_t placeholders(const struct lsws_tpl *t)
{
    size_t n = 0;
    for (size_t i = 0; i < lsws_tpl_model(t)->n_settings; i++)
        n += lsws_tpl_text(t, i) != NULL;
    return n;
}

static int template_new(const struct template_opts *o)
{
    if (!o->model)
        return cli_error(EXIT_USAGE, "template new needs --model ws523|cth01");
    const struct lsws_model *m = cli_model_arg(o->model);
    if (!m)
        return EXIT_USAGE;
    if (o->band && !lsws_band_by_name(o->band))
        return cli_error(EXIT_USAGE, "unknown band '%s' (known: EU868, US915, AU915, CN470, "
                                     "AS923, KR920, IN865, RU864)", o->band);
    struct lsws_config *cfg;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_config_new(m, &cfg) != LSWS_OK)
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    int rc = lsws_config_defaults(cfg, o->band, NULL, &err);
    /* A template carries what can be written: no read-only or write-only
     * settings (the password is set with its own command). */
    for (size_t i = 0; i < m->n_settings; i++)
        if (m->settings[i].row->flags & (LSWS_F_READONLY | LSWS_F_WRITEONLY))
            cfg->present[i] = 0;
    char *text = NULL;
    if (rc == LSWS_OK)
        rc = lsws_template_render(cfg, 0, &text);
    lsws_config_free(cfg);
    if (rc != LSWS_OK) {
        free(text);
        return cli_fail(EXIT_FAILED, rc, "cannot build the template: %s", err.msg[0] ? err.msg : lsws_strerror(rc));
    }
    int exit_code = EXIT_OK;
    if (o->output)
        exit_code = cli_write_file(o->output, text, strlen(text), 0600);
    else
        fputs(text, stdout);
    free(text);
    return exit_code;
}

/* One JSON Lines record per file with --json; the errors go to stderr
 * either way. */
static int template_lint(int nfiles, char **files, struct lsws_cli *cli)
{
    int failed = 0;
    for (int i = 0; i < nfiles; i++) {
        struct lsws_tpl *t = NULL;
        struct lsws_error err;
        int rc = load_tpl(files[i], &t, &err);
        if (rc != EXIT_OK && err.msg[0])
            report(files[i], &err);
        struct cli_record *r = cli_record_new();
        cli_put_str(r, "file", files[i]);
        cli_field_json_only(r);
        cli_put_bool(r, "ok", rc == EXIT_OK);
        cli_field_json_only(r);
        if (rc == EXIT_OK) {
            const struct lsws_model *m = lsws_tpl_model(t);
            const struct lsws_backup_info *b = lsws_tpl_backup(t);
            size_t n = lsws_tpl_count(t), ph = placeholders(t);
            char extra[96] = "";
            if (ph)
                snprintf(extra, sizeof extra, ", %zu placeholder%s", ph, ph == 1 ? "" : "s");
            if (b)
                snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ", a backup of %s", b->sn);
            cli_put_str(r, "model", m->name);
            cli_field_json_only(r);
            cli_put_int(r, "settings", (long long)n);
            cli_field_json_only(r);
            cli_put_int(r, "placeholders", (long long)ph);
            cli_field_json_only(r);
            cli_put_known(r, "backup_of", b ? b->sn : NULL);
            cli_field_json_only(r);
            cli_put_line(r, "%s: ok (%s, %zu settings%s)", files[i], m->name, n, extra);
        } else {
            cli_put_str(r, "error", err.msg[0] ? err.msg : "cannot read the file");
            cli_field_json_only(r);
            if (err.line) {
                cli_put_int(r, "line", err.line);
                cli_field_json_only(r);
                cli_put_int(r, "column", err.column);
                cli_field_json_only(r);
            }
        }
        if (cli_print(cli, r, CLI_COMPACT) != EXIT_OK)
            rc = EXIT_FAILED;
        failed |= rc != EXIT_OK;
        lsws_tpl_free(t);
    }
    return failed ? EXIT_FAILED : EXIT_OK;
}

static int template_show(const char *file, struct lsws_cli *cli)
{
    struct lsws_config *cfg;
    struct lsws_error err;
    int rc = load(file, &cfg, &err);
    if (rc != EXIT_OK)
        return err.msg[0] ? report(file, &err) : rc;
    const struct lsws_model *m = cfg->model;
    if (cli->json) {
        /* The template itself, canonical: what a file of it would hold. */
        char *text;
        rc = lsws_template_render(cfg, cli->show_secrets ? 0 : LSWS_TPL_REDACT, &text);
        lsws_config_free(cfg);
        if (rc != LSWS_OK)
            return cli_fail(EXIT_FAILED, rc, "cannot show '%s': %s", file, lsws_strerror(rc));
        fputs(text, stdout);
        free(text);
        return EXIT_OK;
    }
    struct cli_record *r = cli_record_new();
    cli_put_line(r, "%s template, %zu settings", m->name, lsws_config_count(cfg));
    for (size_t i = 0; i < m->n_settings; i++)
        if (cfg->present[i])
            cli_put_setting(r, m->settings[i].key, m, i, &cfg->values[i],
                            (m->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets);
    lsws_config_free(cfg);
    return cli_print(cli, r, CLI_HEADER);
}

int cmd_template(int argc, char **argv, struct lsws_cli *cli)
{
    const struct cli_command *self = cli->command;
    struct template_opts o = {0};
    int rc = cli_options(cli, on_option, &o);
    if (rc != EXIT_OK)
        return rc;
    if (argc == 0)
        return cli_error(EXIT_USAGE, "template needs new, lint or show\nusage: lsws template %s", self->synopsis);
    const char *sub = argv[0];
    int nargs = argc - 1;
    char **args = argv + 1;
    if (strcmp(sub, "new") == 0) {
        if (nargs)
            return cli_error(EXIT_USAGE, "template new takes no file; use --output FILE");
        return template_new(&o);
    }
    if (strcmp(sub, "lint") == 0) {
        if (!nargs)
            return cli_error(EXIT_USAGE, "template lint needs a FILE");
        return template_lint(nargs, args, cli);
    }
    if (strcmp(sub, "show") == 0) {
        if (nargs != 1)
            return cli_error(EXIT_USAGE, "template show needs one FILE");
        return template_show(args[0], cli);
    }
    char hint[160];
    size_t n = 0;
    while (self->subcommands[n])
        n++;
    cli_suggest(sub, self->subcommands, n, hint, sizeof hint);
    return cli_error(EXIT_USAGE, "unknown template command '%s'%s", sub, hint[0] ? hint : " (new, lint, show)");
}
