/* lsws diff FILE (the device against a template or backup) and lsws diff
 * A B (two files, offline): key by key, only the settings the files hold
 * (selected with --only and --exclude). Exit 0 when the same, 5 when they
 * differ (as a verify mismatch: 1 is "failed", which a drift check must not
 * take for drift). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int check_diff(int argc, char **argv, struct lsws_cli *cli)
{
    if (argc < 1)
        return cli_error(EXIT_USAGE, "diff needs a FILE (against the device) or two files");
    for (int i = 0; i < argc; i++) {
        struct lsws_tpl *t = NULL;
        int rc = cli_load_tpl(argv[i], LSWS_TPL_PLACEHOLDERS, &t);
        if (rc == EXIT_OK)
            rc = cli_select(cli, argv[i], t);
        lsws_tpl_free(t);
        if (rc != EXIT_OK)
            return rc;
    }
    if (argc == 2)
        cli->drop_needs = CMD_DEVICE | CMD_AUTH;
    return EXIT_OK;
}

/* One side of a comparison: a value, a placeholder's text, or nothing. */
struct side {
    const struct lsws_value *v;
    const char *text;
};

static struct side side_of(const struct lsws_tpl *t, size_t i)
{
    /* t NULL: nothing (the device's side is filled by the caller) */
    struct side s = {NULL, NULL};
    if (t && lsws_tpl_has(t, i)) {
        s.v = lsws_tpl_value(t, i);
        s.text = lsws_tpl_text(t, i);
    }
    return s;
}

static int same(const struct lsws_model *m, size_t i, struct side a, struct side b)
{
    if (a.v && b.v)
        return lsws_value_equal(m, i, a.v, b.v);
    if (a.text && b.text)
        return strcmp(a.text, b.text) == 0;
    return !a.v && !a.text && !b.v && !b.text;
}

static void put_side(struct cli_record *row, const char *key, const struct lsws_model *m, size_t i, struct side s,
                     int redact)
{
    if (s.text)
        cli_put_str(row, key, s.text);
    else
        cli_put_setting(row, key, m, i, s.v, s.v && redact);
}

struct diff {
    const char *a_name, *b_name;
    const char *a_key, *b_key; /* "file"/"device" or "a"/"b" */
};

/* Prints the differences; returns EXIT_OK when the same, EXIT_VERIFY when not. */
static int compare(struct lsws_cli *cli, const struct diff *d, const struct lsws_model *m, const struct lsws_tpl *a,
                   const struct lsws_tpl *b, const struct lsws_config *device)
{
    struct cli_record *r = cli_record_new();
    cli_put_str(r, d->a_key, d->a_name);
    cli_field_json_only(r);
    cli_put_str(r, d->b_key, d->b_name);
    cli_field_json_only(r);
    struct cli_record *list = cli_put_table(r, "differences");
    size_t compared = 0, differ = 0, skipped = 0, per_unit = 0;
    for (size_t i = 0; i < m->n_settings; i++) {
        struct side x = side_of(a, i), y = side_of(b, i);
        if (device) {
            if (!lsws_tpl_has(a, i))
                continue; /* a file holds some settings: only those are compared */
            if (m->settings[i].row->flags & LSWS_F_WRITEONLY) {
                skipped++;
                continue;
            }
            if (x.text) {
                per_unit++; /* ${VAR}: its value is each unit's own */
                continue;
            }
            y.v = device->present[i] ? &device->values[i] : NULL;
        } else if (!x.v && !x.text && !y.v && !y.text) {
            continue;
        }
        compared++;
        if (same(m, i, x, y))
            continue;
        differ++;
        int redact = (m->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets;
        struct cli_record *row = cli_table_row(list);
        cli_put_str(row, "key", m->settings[i].key);
        put_side(row, d->a_key, m, i, x, redact);
        put_side(row, d->b_key, m, i, y, redact);
        cli_put_str(row, "state", !x.v && !x.text ? "only_b" : !y.v && !y.text ? "only_a" : "different");
        cli_field_json_only(row);
    }
    if (skipped)
        cli_note(cli, "%zu write-only setting%s (the password) not compared: a device never reports %s", skipped,
                 skipped == 1 ? "" : "s", skipped == 1 ? "it" : "them");
    if (per_unit)
        cli_note(cli, "%zu setting%s with a placeholder not compared: %s value is each unit's own", per_unit,
                 per_unit == 1 ? "" : "s", per_unit == 1 ? "its" : "their");
    cli_put_int(r, "compared", (long long)compared);
    cli_field_json_only(r);
    cli_put_int(r, "different", (long long)differ);
    cli_field_json_only(r);
    cli_put_bool(r, "same", differ == 0);
    cli_field_json_only(r);
    if (differ)
        cli_put_line(r, "%zu of %zu setting%s differ", differ, compared, compared == 1 ? "" : "s");
    else
        cli_put_line(r, "same: %zu setting%s compared", compared, compared == 1 ? "" : "s");
    int rc = cli_print(cli, r, 0);
    if (rc == EXIT_OK && differ)
        cli->exit_is_answer = 1; /* different is the answer, not a failure */
    return rc != EXIT_OK ? rc : differ ? EXIT_VERIFY : EXIT_OK;
}

static int load(struct lsws_cli *cli, const char *file, struct lsws_tpl **t)
{
    int rc = cli_load_tpl(file, LSWS_TPL_PLACEHOLDERS, t);
    if (rc == EXIT_OK && (rc = cli_select(cli, file, *t)) != EXIT_OK) {
        lsws_tpl_free(*t);
        *t = NULL;
    }
    return rc;
}

int cmd_diff(int argc, char **argv, struct lsws_cli *cli)
{
    struct lsws_tpl *a = NULL, *b = NULL;
    int rc = load(cli, argv[0], &a);
    if (rc != EXIT_OK)
        return rc;
    const struct lsws_model *m = lsws_tpl_model(a);
    if (argc == 2) {
        if ((rc = load(cli, argv[1], &b)) == EXIT_OK && lsws_tpl_model(b) != m)
            rc = cli_fail(EXIT_FAILED, LSWS_ERR_MODEL, "cannot compare '%s', a %s file, with '%s', a %s file", argv[0],
                          m->name, argv[1], lsws_tpl_model(b)->name);
        if (rc == EXIT_OK) {
            struct diff d = {argv[0], argv[1], "a", "b"};
            rc = compare(cli, &d, m, a, b, NULL);
        }
    } else {
        struct session *s = cli->session;
        struct lsws_config *device = NULL;
        if (m != s->model)
            rc = cli_fail(EXIT_FAILED, LSWS_ERR_MODEL, "'%s' is a %s file, but '%s' is a %s", argv[0], m->name, s->uri,
                          s->model->name);
        else if ((rc = session_read_all(s, &device)) == EXIT_OK) {
            struct diff d = {argv[0], s->uri, "file", "device"};
            rc = compare(cli, &d, m, a, NULL, device);
        }
        lsws_config_free(device);
    }
    lsws_tpl_free(a);
    lsws_tpl_free(b);
    return rc;
}
