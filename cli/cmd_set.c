/* lsws set KEY=VALUE...: validate against the model table (nothing is sent
 * on bad input), back up the device's settings, write the changes as one
 * all-or-nothing transaction, then read them back and compare. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define RANGE_4000A "4000a"

/* KEY=VALUE arguments into changes (a key given twice is an error). */
static int parse_args(struct lsws_config *changes, int n, char **args)
{
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(args[i], "="), args[i]);
        int idx = lsws_model_find(changes->model, key);
        if (idx >= 0 && changes->model->settings[idx].row->flags & LSWS_F_WRITEONLY)
            return cli_error(EXIT_USAGE, "%s is not set on the command line: use 'lsws password'", key);
        if (idx >= 0 && changes->model->settings[idx].row->flags & LSWS_F_READONLY)
            return cli_fail(EXIT_USAGE, LSWS_ERR_READONLY, "%s is read-only", key);
        struct lsws_error err;
        lsws_error_clear(&err);
        if (lsws_config_assign(changes, args[i], &err) != LSWS_OK)
            return cli_fail(EXIT_USAGE, err.code, "%s", err.msg);
    }
    return EXIT_OK;
}

/* CTH01: 4000 A is a group range. As the ToolBox app does (CTH01 guide,
 * Configure Interface Parameters), setting one channel to 4000 A moves the
 * other two of its group to 4000 A, and moving one off 4000 A moves them
 * with it, unless they were given explicitly. */
static void link_group_ranges(struct lsws_config *changes, const struct lsws_config *current)
{
    const struct lsws_model *m = changes->model;
    for (int ch = 1; ch <= 12; ch++) {
        char key[48];
        snprintf(key, sizeof key, "interface.current[%d].range", ch);
        int idx = lsws_model_find(m, key);
        if (idx < 0 || !changes->present[idx])
            continue;
        char val[32];
        lsws_value_format(m, (size_t)idx, &changes->values[idx], val, sizeof val);
        int to_4000 = strcmp(val, RANGE_4000A) == 0;
        int g = (ch - 1) / 3;
        for (int sib = g * 3 + 1; sib <= g * 3 + 3; sib++) {
            char skey[48], cur[32];
            snprintf(skey, sizeof skey, "interface.current[%d].range", sib);
            int sidx = lsws_model_find(m, skey);
            if (sib == ch || changes->present[sidx] || !current->present[sidx])
                continue;
            lsws_value_format(m, (size_t)sidx, &current->values[sidx], cur, sizeof cur);
            if (to_4000 || strcmp(cur, RANGE_4000A) == 0) {
                changes->values[sidx] = changes->values[idx];
                changes->present[sidx] = 1;
                fprintf(stderr, "lsws: %s also set to %s: 4000 A applies to the whole group %c\n", skey, val,
                        'a' + g);
            }
        }
    }
}

/* A new band brings its own RX2 and channel defaults (as choosing the
 * frequency in the app does), unless they were given explicitly. */
static void follow_band(struct lsws_config *changes, const struct lsws_config *current)
{
    const struct lsws_model *m = changes->model;
    int band = lsws_model_find(m, "lorawan.band");
    if (!changes->present[band] ||
        (current->present[band] && current->values[band].num == changes->values[band].num))
        return;
    struct lsws_config *defaults;
    if (lsws_config_new(m, &defaults) != LSWS_OK)
        return;
    const struct lsws_band *b = lsws_band_at((size_t)changes->values[band].num);
    if (b && lsws_config_defaults(defaults, b->name, NULL, NULL) == LSWS_OK) {
        for (size_t i = 0; i < m->n_settings; i++) {
            if (!(m->settings[i].row->flags & LSWS_F_BAND) || (int)i == band || changes->present[i])
                continue;
            changes->values[i] = defaults->values[i];
            changes->present[i] = 1;
            char v[64];
            lsws_value_format(m, i, &changes->values[i], v, sizeof v);
            fprintf(stderr, "lsws: %s set to %s, the %s default\n", m->settings[i].key, v, b->name);
        }
    }
    lsws_config_free(defaults);
}

/* Keeps in changes only what differs from current; returns how many. */
static size_t drop_unchanged(struct lsws_config *changes, const struct lsws_config *current)
{
    size_t n = 0;
    for (size_t i = 0; i < changes->model->n_settings; i++) {
        if (!changes->present[i])
            continue;
        if (current->present[i] && lsws_value_equal(changes->model, i, &changes->values[i], &current->values[i]))
            changes->present[i] = 0;
        else
            n++;
    }
    return n;
}

static void format(const struct lsws_cli *cli, const struct lsws_config *cfg, size_t i, char *buf, size_t n)
{
    if (!cfg->present[i])
        snprintf(buf, n, "(none)");
    else if ((cfg->model->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets)
        snprintf(buf, n, "%s", LSWS_REDACTED);
    else
        lsws_value_format(cfg->model, i, &cfg->values[i], buf, n);
}

/* Reads back what was written and compares; prints each mismatch. */
static int verify(struct session *s, const struct lsws_config *changes, struct lsws_cli *cli)
{
    struct lsws_config *back;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_config_new(s->model, &back) != LSWS_OK)
        return cli_error(EXIT_FAILED, "out of memory");
    int rc = lsws_client_read(s->client, back, changes, &err);
    if (rc != LSWS_OK) {
        lsws_config_free(back);
        return session_fail(s, "cannot read back from", rc, &err);
    }
    int bad = 0;
    for (size_t i = 0; i < s->model->n_settings; i++) {
        if (!changes->present[i])
            continue;
        if (back->present[i] && lsws_value_equal(s->model, i, &changes->values[i], &back->values[i]))
            continue;
        char want[128], got[128];
        format(cli, changes, i, want, sizeof want);
        format(cli, back, i, got, sizeof got);
        cli_error(EXIT_VERIFY, "verify mismatch on '%s': %s: wrote %s, read %s", s->uri, s->model->settings[i].key,
                  want, got);
        bad = 1;
    }
    lsws_config_free(back);
    return bad ? EXIT_VERIFY : EXIT_OK;
}

/* The changes as key, old, new (typed in JSON), then a count. */
static int report(struct lsws_cli *cli, const struct session *s, const struct lsws_config *changes,
                  const struct lsws_config *current, size_t n)
{
    const struct lsws_model *m = s->model;
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_field_json_only(r);
    cli_put_str(r, "sn", s->info.sn);
    cli_field_json_only(r);
    struct cli_record *list = cli_put_table(r, "changed");
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!changes->present[i])
            continue;
        int redact = (m->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets;
        struct cli_record *row = cli_table_row(list);
        cli_put_str(row, "key", m->settings[i].key);
        cli_put_setting(row, "old", m, i, current->present[i] ? &current->values[i] : NULL, redact);
        cli_put_setting(row, "new", m, i, &changes->values[i], redact);
    }
    cli_put_bool(r, "verified", 1);
    cli_field_json_only(r);
    if (n)
        cli_put_line(r, "%zu setting%s written to %s %s and verified", n, n == 1 ? "" : "s", m->name, s->info.sn);
    else
        cli_put_line(r, "nothing to change: %s %s already has these settings", m->name, s->info.sn);
    return cli_print(cli, r, 0);
}

/* Before main opens the session: a KEY=VALUE no model accepts, or a key
 * given twice, is refused, so bad input sends nothing. (What one model
 * accepts and the device's does not is refused after IDENTIFY, still
 * before any write.) */
int check_set(int argc, char **argv, struct lsws_cli *cli)
{
    (void)cli;
    if (argc == 0)
        return cli_error(EXIT_USAGE, "set needs KEY=VALUE...");
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_assignments_check(argc, argv, &err) != LSWS_OK)
        return cli_fail(EXIT_USAGE, err.code, "%s", err.msg);
    return EXIT_OK;
}

int cmd_set(int argc, char **argv, struct lsws_cli *cli)
{
    struct session *s = cli->session;
    int rc;
    struct lsws_config *changes = NULL, *current = NULL, *merged = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_config_new(s->model, &changes) != LSWS_OK) {
        rc = cli_error(EXIT_FAILED, "out of memory");
        goto out;
    }
    if ((rc = parse_args(changes, argc, argv)) != EXIT_OK)
        goto out;
    if ((rc = session_read_all(s, &current)) != EXIT_OK)
        goto out;
    link_group_ranges(changes, current);
    follow_band(changes, current);
    if (lsws_config_copy(current, &merged) != LSWS_OK) {
        rc = cli_error(EXIT_FAILED, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->model->n_settings; i++)
        if (changes->present[i]) {
            merged->values[i] = changes->values[i];
            merged->present[i] = 1;
        }
    if (lsws_config_check(merged, &err) != LSWS_OK) {
        rc = cli_fail(EXIT_USAGE, err.code, "%s (nothing was written)", err.msg);
        goto out;
    }
    size_t n = drop_unchanged(changes, current);
    if (n == 0) {
        rc = report(cli, s, changes, current, n);
        goto out;
    }
    if ((rc = session_backup(cli, s, current)) != EXIT_OK)
        goto out;
    int wrc = lsws_client_write(s->client, changes, current, &err);
    if (wrc != LSWS_OK) {
        /* The device applies a transaction whole or not at all: a refusal
         * changed nothing; a lost link leaves old or new, not a mix. */
        rc = session_fail(s, "cannot write to", wrc, &err);
        if (wrc == LSWS_ERR_DEVICE || wrc == LSWS_ERR_AUTH || wrc == LSWS_ERR_UNSUPPORTED)
            fprintf(stderr, "lsws: nothing was changed on '%s'\n", s->uri);
        else
            fprintf(stderr, "lsws: '%s' holds either all of the old or all of the new settings: "
                            "check with 'lsws get'\n", s->uri);
        goto out;
    }
    if ((rc = verify(s, changes, cli)) != EXIT_OK)
        goto out;
    rc = report(cli, s, changes, current, n);
out:
    lsws_config_free(changes);
    lsws_config_free(current);
    lsws_config_free(merged);
    session_close(s);
    return rc;
}
