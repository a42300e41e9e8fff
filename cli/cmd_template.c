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
        return cli_error(EXIT_FAILED, "%s:%d:%d: %s", file, err->line, err->column, err->msg);
    return cli_error(EXIT_FAILED, "%s: %s", file, err->msg);
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

static int template_new(const struct template_opts *o, struct lsws_cli *cli)
{
    (void)cli;
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
        return cli_error(EXIT_FAILED, "out of memory");
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
        return cli_error(EXIT_FAILED, "cannot build the template: %s", err.msg[0] ? err.msg : lsws_strerror(rc));
    }
    int exit_code = EXIT_OK;
    if (o->output)
        exit_code = cli_write_file(o->output, text, strlen(text), 0600);
    else
        fputs(text, stdout);
    free(text);
    return exit_code;
}

static int template_lint(int nfiles, char **files, struct lsws_cli *cli)
{
    int failed = 0;
    for (int i = 0; i < nfiles; i++) {
        struct lsws_config *cfg = NULL;
        struct lsws_error err;
        int rc = load(files[i], &cfg, &err);
        if (cli->json) {
            json_t *o = json_pack("{s:s, s:b}", "file", files[i], "ok", rc == EXIT_OK);
            if (rc == EXIT_OK) {
                json_object_set_new(o, "model", json_string(cfg->model->name));
                json_object_set_new(o, "settings", json_integer((json_int_t)lsws_config_count(cfg)));
            } else {
                json_object_set_new(o, "error", json_string(err.msg[0] ? err.msg : "cannot read the file"));
                if (err.line) {
                    json_object_set_new(o, "line", json_integer(err.line));
                    json_object_set_new(o, "column", json_integer(err.column));
                }
            }
            json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            putchar('\n');
            json_decref(o);
        } else if (rc == EXIT_OK) {
            printf("%s: ok (%s, %zu settings)\n", files[i], cfg->model->name, lsws_config_count(cfg));
        }
        if (rc != EXIT_OK && err.msg[0] && !cli->json)
            report(files[i], &err);
        failed |= rc != EXIT_OK;
        lsws_config_free(cfg);
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
    unsigned flags = cli->show_secrets ? 0 : LSWS_TPL_REDACT;
    if (cli->json) {
        char *text;
        if (lsws_template_render(cfg, flags, &text) == LSWS_OK) {
            fputs(text, stdout);
            free(text);
        }
        lsws_config_free(cfg);
        return EXIT_OK;
    }
    printf("%s template, %zu settings\n", m->name, lsws_config_count(cfg));
    printf("%-42s %-34s %s\n", "KEY", "VALUE", "UNIT");
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!cfg->present[i])
            continue;
        const struct lsws_row *row = m->settings[i].row;
        char value[256];
        if ((row->flags & LSWS_F_SECRET) && !cli->show_secrets)
            snprintf(value, sizeof value, "%s", LSWS_REDACTED);
        else
            lsws_value_format(m, i, &cfg->values[i], value, sizeof value);
        printf("%-42s %-34s %s\n", m->settings[i].key, value, row->unit ? row->unit : "");
    }
    lsws_config_free(cfg);
    return EXIT_OK;
}

int cmd_template(int argc, char **argv, struct lsws_cli *cli)
{
    const struct cli_command *self = cli_find_command("template");
    struct template_opts o = {0};
    int first;
    int rc = cli_parse(self, cli, argc, argv, &first, on_option, &o);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first >= argc)
        return cli_error(EXIT_USAGE, "template needs new, lint or show\nusage: lsws template %s",
                         self->synopsis);
    const char *sub = argv[first++];
    int nargs = argc - first;
    if (strcmp(sub, "new") == 0) {
        if (nargs)
            return cli_error(EXIT_USAGE, "template new takes no file; use --output FILE");
        return template_new(&o, cli);
    }
    if (strcmp(sub, "lint") == 0) {
        if (!nargs)
            return cli_error(EXIT_USAGE, "template lint needs a FILE");
        return template_lint(nargs, argv + first, cli);
    }
    if (strcmp(sub, "show") == 0) {
        if (nargs != 1)
            return cli_error(EXIT_USAGE, "template show needs one FILE");
        return template_show(argv[first], cli);
    }
    return cli_error(EXIT_USAGE, "unknown template command '%s' (new, lint, show)", sub);
}
