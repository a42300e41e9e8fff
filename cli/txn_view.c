/* Rendering the library's write transaction (lsws_txn_plan/lsws_txn_apply)
 * for the commands that write settings: set, restore. The plan (key, old,
 * new, what the rules brought along), the outcome, and on failure exactly
 * what the device holds now. Commands only build the desired settings. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int redacted(const struct lsws_cli *cli, const struct lsws_model *m, size_t i)
{
    return (m->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets;
}

static void value_text(const struct lsws_cli *cli, const struct lsws_model *m, size_t i, const struct lsws_value *v,
                       char *buf, size_t n)
{
    if (redacted(cli, m, i))
        snprintf(buf, n, "%s", LSWS_REDACTED);
    else
        lsws_value_format(m, i, v, buf, n);
}

static const char *const state_names[] = {
    [LSWS_CHG_PLANNED] = "planned", [LSWS_CHG_VERIFIED] = "verified", [LSWS_CHG_OLD] = "old",
    [LSWS_CHG_OTHER] = "other",     [LSWS_CHG_UNKNOWN] = "unknown",
};

/* What the rules brought along, before anything is written. */
static void print_notes(const struct lsws_cli *cli, const struct lsws_txn *t)
{
    for (size_t k = 0; k < t->n_changes; k++) {
        const struct lsws_change *c = &t->changes[k];
        char v[128];
        if (c->why == LSWS_WHY_GIVEN)
            continue;
        value_text(cli, t->model, c->idx, &c->new, v, sizeof v);
        if (c->why == LSWS_WHY_GROUP)
            cli_note(cli, "%s also set to %s: %s", t->model->settings[c->idx].key, v, c->note);
        else
            cli_note(cli, "%s set to %s, %s", t->model->settings[c->idx].key, v, c->note);
    }
}

/* The plan and its outcome: key, old, new (typed in JSON), what was read
 * back, then a sentence. */
static int report(struct lsws_cli *cli, const struct session *s, const struct lsws_txn *t, int exit_code)
{
    const struct lsws_model *m = t->model;
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_field_json_only(r);
    cli_put_str(r, "sn", s->info.sn);
    cli_field_json_only(r);
    cli_put_str(r, "outcome", lsws_txn_outcome_name(t->outcome));
    cli_field_json_only(r);
    struct cli_record *list = cli_put_table(r, "changed");
    for (size_t k = 0; k < t->n_changes; k++) {
        const struct lsws_change *c = &t->changes[k];
        int read = c->state == LSWS_CHG_VERIFIED || c->state == LSWS_CHG_OLD || c->state == LSWS_CHG_OTHER;
        struct cli_record *row = cli_table_row(list);
        cli_put_str(row, "key", m->settings[c->idx].key);
        cli_put_setting(row, "old", m, c->idx, c->had_old ? &c->old : NULL, redacted(cli, m, c->idx));
        cli_put_setting(row, "new", m, c->idx, &c->new, redacted(cli, m, c->idx));
        cli_put_setting(row, "read_back", m, c->idx, read ? &c->now : NULL, redacted(cli, m, c->idx));
        cli_field_json_only(row);
        cli_put_str(row, "state", state_names[c->state]);
        cli_field_json_only(row);
    }
    cli_put_bool(r, "verified", t->outcome == LSWS_TXN_VERIFIED || t->outcome == LSWS_TXN_NOTHING);
    cli_field_json_only(r);
    cli_put_known(r, "backup", t->backup);
    cli_field_json_only(r);
    size_t n = t->n_changes;
    if (t->outcome == LSWS_TXN_VERIFIED)
        cli_put_line(r, "%zu setting%s written to %s %s and verified", n, n == 1 ? "" : "s", m->name, s->info.sn);
    else if (t->outcome == LSWS_TXN_NOTHING)
        cli_put_line(r, "nothing to change: %s %s already has these settings", m->name, s->info.sn);
    else if (t->outcome == LSWS_TXN_PLANNED)
        cli_put_line(r, "dry run: %zu setting%s would be written to %s %s; nothing was written", n, n == 1 ? "" : "s",
                     m->name, s->info.sn);
    int rc = cli_print(cli, r, 0);
    return exit_code != EXIT_OK ? exit_code : rc;
}

/* Why a write failed, and exactly what the device holds now. */
static int explain_failure(const struct lsws_cli *cli, const struct session *s, const struct lsws_txn *t, int rc,
                           const struct lsws_error *err)
{
    int code = session_fail(s, t->outcome == LSWS_TXN_WRITTEN ? "cannot read back from" : "cannot write to", rc, err);
    for (size_t k = 0; k < t->n_changes && t->outcome == LSWS_TXN_MISMATCH; k++) {
        const struct lsws_change *c = &t->changes[k];
        char want[128], got[128];
        if (c->state == LSWS_CHG_VERIFIED)
            continue;
        value_text(cli, t->model, c->idx, &c->new, want, sizeof want);
        value_text(cli, t->model, c->idx, &c->now, got, sizeof got);
        cli_error(EXIT_VERIFY, "verify mismatch on '%s': %s: wrote %s, read %s", s->uri, t->model->settings[c->idx].key,
                  want, got);
    }
    switch (t->outcome) {
    case LSWS_TXN_UNCHANGED:
        cli_error(code, "nothing was changed on '%s'", s->uri);
        return code;
    case LSWS_TXN_WRITTEN:
        cli_error(code, "the device confirmed the write, but it could not be verified: check with 'lsws get'");
        return code;
    case LSWS_TXN_UNKNOWN:
        cli_error(code, "'%s' may hold the new settings (all of them or none): check with 'lsws get'", s->uri);
        return code;
    case LSWS_TXN_MISMATCH:
        return EXIT_VERIFY;
    default:
        return code;
    }
}

/* Errors of the plan that are the device's or the link's, not the input's. */
static int device_error(int rc)
{
    return rc == LSWS_ERR_NOMEM || rc == LSWS_ERR_TIMEOUT || rc == LSWS_ERR_NODEV || rc == LSWS_ERR_AUTH ||
           rc == LSWS_ERR_PROTOCOL || rc == LSWS_ERR_DEVICE || rc == LSWS_ERR_IO;
}

int cli_txn_run(struct lsws_cli *cli, const struct lsws_config *desired, int dry_run, int input_exit)
{
    struct session *s = cli->session;
    struct lsws_txn *t = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc, lrc = lsws_txn_plan(s->client, &s->info, desired, &t, &err);
    if (lrc != LSWS_OK)
        return device_error(lrc) ? session_fail(s, "cannot read settings from", lrc, &err)
                                 : cli_fail(input_exit, lrc, "%s (nothing was written)", err.msg);
    if (t->outcome == LSWS_TXN_NOTHING || dry_run) {
        if (dry_run)
            print_notes(cli, t);
        rc = report(cli, s, t, EXIT_OK);
        lsws_txn_free(t);
        return rc;
    }
    print_notes(cli, t);
    lrc = lsws_txn_apply(s->client, t, 0, &err);
    if (t->backup[0])
        cli_note(cli, "previous settings saved to %s", t->backup);
    if (t->answer_lost)
        cli_note(cli, "the device's answer to the write was lost; reading back shows it was applied");
    if (lrc == LSWS_OK)
        rc = report(cli, s, t, EXIT_OK);
    else if (t->outcome == LSWS_TXN_PLANNED) /* no backup: nothing was sent */
        rc = cli_fail(EXIT_FAILED, lrc, "no backup, nothing written: %s", err.msg);
    else if ((rc = explain_failure(cli, s, t, lrc, &err)) != EXIT_OK && cli->json)
        rc = report(cli, s, t, rc); /* scripts see what the device holds */
    lsws_txn_free(t);
    return rc;
}
