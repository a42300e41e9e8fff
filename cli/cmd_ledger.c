/* lsws ledger init|list|show|export: the ledger's schema created or
 * migrated, what the provisioning ledger holds, and exports of the
 * provisioned units and their keys for network servers (lsws_ledger_export:
 * The Things Stack CSV and JSON, ChirpStack v4 JSON, plain CSV), written
 * mode 0600. */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct ledger_opts {
    const char *ledger, *format, *output, *frequency_plan;
};

static int on_option(const char *name, const char *value, void *ctx)
{
    struct ledger_opts *o = ctx;
    if (strcmp(name, "ledger") == 0)
        o->ledger = value;
    else if (strcmp(name, "format") == 0)
        o->format = value;
    else if (strcmp(name, "output") == 0)
        o->output = value;
    else if (strcmp(name, "frequency-plan") == 0)
        o->frequency_plan = value;
    return EXIT_OK;
}

static void put_time_ms(struct cli_record *r, const char *key, int64_t ms)
{
    if (ms)
        cli_put_time(r, key, ms / 1000, 0);
    else
        cli_put_known(r, key, NULL);
}

/* The fields of a record every view shows (secrets are only in settings). */
static void put_record(struct cli_record *row, const struct lsws_ledger_record *rec, int brief)
{
    cli_put_int(row, "id", rec->id);
    cli_put_str(row, "state", lsws_ledger_state_name(rec->state));
    cli_put_str(row, "sn", rec->sn);
    cli_put_str(row, "dev_eui", rec->dev_eui);
    cli_put_str(row, "model", rec->model);
    cli_put_known(row, "outcome", rec->outcome);
    put_time_ms(row, brief ? "time" : "finished", rec->finished_ms ? rec->finished_ms : rec->started_ms);
    cli_put_known(row, "station", rec->station);
    if (brief) {
        cli_put_str(row, "template", rec->template_hash);
        cli_field_text(row, "%.12s", rec->template_hash);
    }
    if (brief)
        return;
    put_time_ms(row, "started", rec->started_ms);
    cli_put_known(row, "band", rec->band);
    cli_put_known(row, "firmware_version", rec->firmware);
    cli_put_known(row, "hardware_version", rec->hardware);
    cli_put_str(row, "template_hash", rec->template_hash);
    cli_put_known(row, "template", rec->template_name);
    cli_put_int(row, "changes", rec->changes);
    cli_put_known(row, "error", rec->error);
    cli_put_known(row, "operator", rec->operator_name);
    cli_put_known(row, "owner", rec->owner);
    cli_put_known(row, "device", rec->uri);
    cli_put_known(row, "backup", rec->backup);
}

struct list_ctx {
    struct lsws_cli *cli;
    struct cli_record *out; /* list: a table; show: a table of records */
    size_t n;
};

static int list_one(const struct lsws_ledger_record *rec, void *arg)
{
    struct list_ctx *l = arg;
    put_record(cli_table_row(l->out), rec, 1);
    l->n++;
    return 0;
}

/* The settings recorded (secrets redacted unless --show-secrets). */
static void put_settings(struct cli_record *r, const struct lsws_cli *cli, const char *key, const char *json_text)
{
    struct lsws_config *cfg = NULL;
    if (!json_text || lsws_template_parse(json_text, strlen(json_text), &cfg, NULL) != LSWS_OK) {
        cli_put_known(r, key, NULL);
        return;
    }
    const struct lsws_model *m = cfg->model;
    struct cli_record *t = cli_put_table(r, key);
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!cfg->present[i])
            continue;
        struct cli_record *row = cli_table_row(t);
        cli_put_str(row, "key", m->settings[i].key);
        cli_put_setting(row, "value", m, i, &cfg->values[i],
                        (m->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets);
    }
    explicit_bzero(cfg->values, m->n_settings * sizeof *cfg->values);
    lsws_config_free(cfg);
}

/* The network settings recorded: a JSON object of setting keys. */
static void put_network(struct cli_record *r, const struct lsws_cli *cli, const struct lsws_ledger_record *rec)
{
    char *text = NULL;
    if (rec->network && (text = malloc(strlen(rec->network) + 64)))
        sprintf(text, "{\"lsws_template\": 1, \"model\": \"%s\", \"settings\": %s}", rec->model, rec->network);
    put_settings(r, cli, "network", text);
    if (text)
        explicit_bzero(text, strlen(text));
    free(text);
}

/* One record: its fields, then the settings written and the network
 * settings. JSON: a row of the array; text: a block printed at once. */
static int show_one(const struct lsws_ledger_record *rec, void *arg)
{
    struct list_ctx *l = arg;
    int json = l->cli->json;
    struct cli_record *r = json ? cli_table_row(l->out) : cli_record_new();
    if (!json && l->n)
        cli_put_line(r, "%s", "");
    put_record(r, rec, 0);
    if (!json)
        cli_put_line(r, "settings written:");
    put_settings(r, l->cli, "settings", rec->settings);
    if (!json && rec->network)
        cli_put_line(r, "network settings after:");
    put_network(r, l->cli, rec);
    l->n++;
    if (!json)
        cli_print(l->cli, r, 0);
    return 0;
}

static int is_sn(const char *s)
{
    if (strlen(s) != 16)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return 0;
    return 1;
}

static int export(struct lsws_cli *cli, struct lsws_ledger *l, const struct ledger_opts *o)
{
    if (!o->format || !o->output)
        return cli_error(EXIT_USAGE, "ledger export needs --format FORMAT and -o FILE (- for stdout)");
    int f = lsws_export_format_by_name(o->format);
    if (f < 0)
        return cli_error(EXIT_USAGE, "unknown export format '%s' (tts-csv, tts-json, chirpstack, csv)", o->format);
    struct lsws_export_opts eo = {.frequency_plan = o->frequency_plan};
    struct lsws_error err;
    lsws_error_clear(&err);
    char *text = NULL;
    size_t len = 0;
    int lrc = lsws_ledger_export(l, (enum lsws_export_format)f, &eo, &text, &len, &err);
    if (lrc != LSWS_OK)
        return cli_fail(EXIT_FAILED, lrc, "%s (nothing was written)", err.msg);
    int rc = EXIT_OK, to_stdout = strcmp(o->output, "-") == 0;
    if (to_stdout)
        fwrite(text, 1, len, stdout);
    else
        rc = cli_write_file(o->output, text, len, 0600);
    explicit_bzero(text, len);
    free(text);
    if (eo.skipped)
        cli_warn(cli, "%zu ABP unit%s left out: %s no AppKey to register", eo.skipped, eo.skipped == 1 ? "" : "s",
                 eo.skipped == 1 ? "it joins with session keys," : "they join with session keys,");
    if (rc != EXIT_OK || to_stdout)
        return rc;
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "file", o->output);
    cli_field_json_only(r);
    cli_put_str(r, "format", lsws_export_format_name((enum lsws_export_format)f));
    cli_field_json_only(r);
    cli_put_int(r, "units", (long long)eo.units);
    cli_field_json_only(r);
    cli_put_int(r, "skipped", (long long)eo.skipped);
    cli_field_json_only(r);
    cli_put_line(r, "%zu unit%s exported as %s to %s (mode 0600)", eo.units, eo.units == 1 ? "" : "s",
                 lsws_export_format_name((enum lsws_export_format)f), o->output);
    return cli_print(cli, r, 0);
}

/* ledger init: creates or migrates the schema (idempotent), then says
 * what it found and where, as the ledger names itself. */
static int init(struct lsws_cli *cli, const struct ledger_opts *o)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    int from = 0, to = 0;
    int lrc = lsws_ledger_init(o->ledger, &from, &to, &err);
    if (lrc != LSWS_OK)
        return cli_fail(EXIT_FAILED, lrc, "%s", err.msg);
    struct lsws_ledger *l;
    if ((lrc = lsws_ledger_open(o->ledger, NULL, NULL, &l, &err)) != LSWS_OK)
        return cli_fail(EXIT_FAILED, lrc, "%s", err.msg);
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "ledger", lsws_ledger_where(l));
    cli_field_json_only(r);
    cli_put_str(r, "backend", lsws_ledger_backend(l));
    cli_field_json_only(r);
    cli_put_int(r, "from", from);
    cli_field_json_only(r);
    cli_put_int(r, "version", to);
    cli_field_json_only(r);
    char what[64];
    if (from == to)
        snprintf(what, sizeof what, "up to date");
    else if (from == 0)
        snprintf(what, sizeof what, "created");
    else
        snprintf(what, sizeof what, "migrated from version %d", from);
    cli_put_line(r, "ledger %s (%s): schema version %d, %s", lsws_ledger_where(l), lsws_ledger_backend(l), to, what);
    lsws_ledger_close(l);
    return cli_print(cli, r, 0);
}

int cmd_ledger(int argc, char **argv, struct lsws_cli *cli)
{
    const struct cli_command *self = cli->command;
    struct ledger_opts o = {0};
    cli_options(cli, on_option, &o);
    if (argc == 0)
        return cli_error(EXIT_USAGE, "ledger needs init, list, show or export\nusage: lsws ledger %s", self->synopsis);
    const char *sub = argv[0];
    int is_list = strcmp(sub, "list") == 0, is_show = strcmp(sub, "show") == 0, is_export = strcmp(sub, "export") == 0;
    int is_init = strcmp(sub, "init") == 0;
    if (!is_list && !is_show && !is_export && !is_init) {
        char hint[160];
        cli_suggest(sub, self->subcommands, 3, hint, sizeof hint);
        return cli_error(EXIT_USAGE, "unknown ledger command '%s'%s", sub,
                         hint[0] ? hint : " (init, list, show, export)");
    }
    if (is_init) {
        if (argc != 1)
            return cli_error(EXIT_USAGE, "ledger init takes no operand: --ledger FILE|URI");
        if (o.format || o.output || o.frequency_plan)
            return cli_error(EXIT_USAGE, "--format, --output and --frequency-plan are for ledger export");
        return init(cli, &o);
    }
    if ((is_show && argc != 2) || (is_export && argc != 1) || (is_list && argc > 2))
        return cli_error(EXIT_USAGE, is_show ? "ledger show needs one record ID or serial number"
                                     : is_export ? "ledger export takes no operand: -o FILE"
                                                 : "ledger list takes at most one serial number");
    if (!is_export && (o.format || o.output || o.frequency_plan))
        return cli_error(EXIT_USAGE, "--format, --output and --frequency-plan are for ledger export");
    struct lsws_ledger_filter f = {NULL, 0, -1, 0};
    if (argc == 2) {
        char *end;
        long long id = strtoll(argv[1], &end, 10);
        if (is_sn(argv[1]))
            f.sn = argv[1];
        else if (*end || id <= 0)
            return cli_error(EXIT_USAGE, "'%s' is neither a record ID nor a serial number (16 hex digits)", argv[1]);
        else
            f.id = id;
    }
    struct lsws_ledger *l;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_ledger_open(o.ledger, NULL, NULL, &l, &err);
    if (lrc != LSWS_OK)
        return cli_fail(EXIT_FAILED, lrc, "%s", err.msg);
    int rc;
    if (is_export) {
        rc = export(cli, l, &o);
    } else {
        struct list_ctx ctx = {cli, cli_table_new(), 0};
        lrc = lsws_ledger_each(l, &f, is_list ? list_one : show_one, &ctx, &err);
        if (lrc != LSWS_OK) {
            cli_record_free(ctx.out);
            rc = cli_fail(EXIT_FAILED, lrc, "%s", err.msg);
        } else if (is_show && !ctx.n) {
            cli_record_free(ctx.out);
            rc = cli_fail(EXIT_FAILED, LSWS_ERR_NODEV, "no record %s in '%s'", argv[1], lsws_ledger_where(l));
        } else if (is_show && !cli->json) {
            cli_record_free(ctx.out); /* printed record by record */
            rc = EXIT_OK;
        } else {
            rc = cli_print(cli, ctx.out, 0);
        }
    }
    lsws_ledger_close(l);
    return rc;
}
