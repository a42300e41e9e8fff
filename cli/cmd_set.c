/* lsws set KEY=VALUE...: validate against the model table (nothing is sent
 * on bad input), back up the device's settings, write the changes as one
 * all-or-nothing transaction, then read them back and compare. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* KEY=VALUE arguments into desired. */
static int parse_args(struct lsws_config *desired, int n, char **args)
{
    for (int i = 0; i < n; i++) {
        char *eq = strchr(args[i], '=');
        if (!eq || eq == args[i])
            return cli_error(EXIT_USAGE, "'%s' is not KEY=VALUE", args[i]);
        *eq = '\0';
        int idx = lsws_model_find(desired->model, args[i]);
        if (idx >= 0 && desired->model->settings[idx].row->flags & LSWS_F_WRITEONLY)
            return cli_error(EXIT_USAGE, "%s is not set on the command line: use 'lsws password'", args[i]);
        if (idx >= 0 && desired->model->settings[idx].row->flags & LSWS_F_READONLY)
            return cli_error(EXIT_USAGE, "%s is read-only", args[i]);
        struct lsws_error err;
        lsws_error_clear(&err);
        if (lsws_config_set(desired, args[i], eq + 1, &err) != LSWS_OK)
            return cli_error(EXIT_USAGE, "%s", err.msg);
    }
    return EXIT_OK;
}

static json_t *value_json(const struct lsws_cli *cli, const struct lsws_model *m, size_t i, int present,
                          const struct lsws_value *v)
{
    if (!present)
        return json_null();
    if ((m->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets)
        return json_string(LSWS_REDACTED);
    return lsws_value_to_json(m, i, v);
}

static void value_text(const struct lsws_cli *cli, const struct lsws_model *m, size_t i, int present,
                       const struct lsws_value *v, char *buf, size_t n)
{
    if (!present)
        snprintf(buf, n, "(none)");
    else if ((m->settings[i].row->flags & LSWS_F_SECRET) && !cli->show_secrets)
        snprintf(buf, n, "%s", LSWS_REDACTED);
    else
        lsws_value_format(m, i, v, buf, n);
}

static const char *const state_names[] = {
    [LSWS_CHG_PLANNED] = "planned", [LSWS_CHG_VERIFIED] = "verified", [LSWS_CHG_OLD] = "old",
    [LSWS_CHG_OTHER] = "other",     [LSWS_CHG_UNKNOWN] = "unknown",
};
static const char *const outcome_names[] = {
    [LSWS_TXN_PLANNED] = "planned",     [LSWS_TXN_NOTHING] = "nothing",   [LSWS_TXN_VERIFIED] = "verified",
    [LSWS_TXN_UNCHANGED] = "unchanged", [LSWS_TXN_MISMATCH] = "mismatch", [LSWS_TXN_UNKNOWN] = "unknown",
    [LSWS_TXN_WRITTEN] = "written",
};

/* Notes on what the rules brought along, before anything is written. */
static void print_notes(const struct lsws_cli *cli, const struct lsws_txn *t)
{
    for (size_t k = 0; k < t->n_changes && !cli->json; k++) {
        const struct lsws_change *c = &t->changes[k];
        char v[128];
        if (c->why == LSWS_WHY_GIVEN)
            continue;
        value_text(cli, t->model, c->idx, 1, &c->new, v, sizeof v);
        if (c->why == LSWS_WHY_GROUP)
            fprintf(stderr, "lsws: %s also set to %s: %s\n", t->model->settings[c->idx].key, v, c->note);
        else
            fprintf(stderr, "lsws: %s set to %s, %s\n", t->model->settings[c->idx].key, v, c->note);
    }
}

static void report_json(const struct lsws_cli *cli, const struct session *s, const struct lsws_txn *t)
{
    json_t *list = json_array();
    for (size_t k = 0; k < t->n_changes; k++) {
        const struct lsws_change *c = &t->changes[k];
        int read = c->state == LSWS_CHG_VERIFIED || c->state == LSWS_CHG_OLD || c->state == LSWS_CHG_OTHER;
        json_array_append_new(list, json_pack("{s:s, s:o, s:o, s:o, s:s}", "key", t->model->settings[c->idx].key,
                                              "old", value_json(cli, t->model, c->idx, c->had_old, &c->old), "new",
                                              value_json(cli, t->model, c->idx, 1, &c->new), "read_back",
                                              value_json(cli, t->model, c->idx, read, &c->now), "state",
                                              state_names[c->state]));
    }
    cli_print_json(json_pack("{s:s, s:s, s:s, s:o, s:b, s:o}", "device", s->uri, "sn", s->info.sn, "outcome",
                             outcome_names[t->outcome], "changed", list, "verified",
                             t->outcome == LSWS_TXN_VERIFIED || t->outcome == LSWS_TXN_NOTHING, "backup",
                             t->backup[0] ? json_string(t->backup) : json_null()));
}

static void report_text(const struct lsws_cli *cli, const struct session *s, const struct lsws_txn *t)
{
    for (size_t k = 0; k < t->n_changes; k++) {
        const struct lsws_change *c = &t->changes[k];
        char old[128], now[128];
        value_text(cli, t->model, c->idx, c->had_old, &c->old, old, sizeof old);
        value_text(cli, t->model, c->idx, 1, &c->new, now, sizeof now);
        printf("%-42s %s -> %s\n", t->model->settings[c->idx].key, old, now);
    }
    size_t n = t->n_changes;
    if (t->outcome == LSWS_TXN_VERIFIED)
        printf("%zu setting%s written to %s %s and verified\n", n, n == 1 ? "" : "s", s->model->name, s->info.sn);
}

/* Why a write failed, and exactly what the device holds now. */
static int report_failure(const struct lsws_cli *cli, const struct session *s, const struct lsws_txn *t, int rc,
                          const struct lsws_error *err)
{
    int code = session_fail(s, t->outcome == LSWS_TXN_WRITTEN ? "cannot read back from" : "cannot write to", rc, err);
    for (size_t k = 0; k < t->n_changes && t->outcome == LSWS_TXN_MISMATCH; k++) {
        const struct lsws_change *c = &t->changes[k];
        char want[128], got[128];
        if (c->state == LSWS_CHG_VERIFIED)
            continue;
        value_text(cli, t->model, c->idx, 1, &c->new, want, sizeof want);
        value_text(cli, t->model, c->idx, 1, &c->now, got, sizeof got);
        fprintf(stderr, "lsws: verify mismatch on '%s': %s: wrote %s, read %s\n", s->uri,
                t->model->settings[c->idx].key, want, got);
    }
    switch (t->outcome) {
    case LSWS_TXN_UNCHANGED:
        fprintf(stderr, "lsws: nothing was changed on '%s'\n", s->uri);
        return code;
    case LSWS_TXN_WRITTEN:
        fprintf(stderr, "lsws: the device confirmed the write, but it could not be verified: check with 'lsws get'\n");
        return code;
    case LSWS_TXN_UNKNOWN:
        fprintf(stderr, "lsws: '%s' may hold the new settings (all of them or none): check with 'lsws get'\n",
                s->uri);
        return code;
    case LSWS_TXN_MISMATCH:
        return EXIT_VERIFY;
    default:
        return code;
    }
}

/* Before contacting the device: a KEY=VALUE no model accepts is refused
 * with the message of a model that has the key, so bad input sends nothing.
 * (What one model accepts and the device's does not is refused after
 * IDENTIFY, still before any write.) */
static int precheck(int n, char **args)
{
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(args[i], '=');
        if (!eq || eq == args[i])
            return cli_error(EXIT_USAGE, "'%s' is not KEY=VALUE", args[i]);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - args[i]), args[i]);
        struct lsws_error first, err;
        int accepted = 0, known = 0;
        lsws_error_clear(&first);
        for (int m = 0; m < LSWS_MODEL_COUNT && !accepted; m++) {
            const struct lsws_model *model = lsws_model_get((enum lsws_model_id)m);
            int idx = lsws_model_find(model, key);
            struct lsws_value v;
            lsws_error_clear(&err);
            if (idx < 0)
                continue;
            accepted = lsws_value_parse(model, (size_t)idx, eq + 1, &v, &err) == LSWS_OK;
            if (!known++)
                first = err;
        }
        if (!known)
            return cli_error(EXIT_USAGE, "unknown setting '%s' (see lsws keys --model ws523|cth01)", key);
        if (!accepted)
            return cli_error(EXIT_USAGE, "%s", first.msg);
    }
    return EXIT_OK;
}

int cmd_set(int argc, char **argv, struct lsws_cli *cli)
{
    int first;
    int rc = cli_parse(cli_find_command("set"), cli, argc, argv, &first, NULL, NULL);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first >= argc)
        return cli_error(EXIT_USAGE, "set needs KEY=VALUE...");
    if ((rc = precheck(argc - first, argv + first)) != EXIT_OK)
        return rc;
    struct session s;
    if ((rc = session_open(cli, &s, 1)) != EXIT_OK)
        return rc;
    struct lsws_config *desired = NULL;
    struct lsws_txn *t = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_config_new(s.model, &desired) != LSWS_OK) {
        rc = cli_error(EXIT_FAILED, "out of memory");
        goto out;
    }
    if ((rc = parse_args(desired, argc - first, argv + first)) != EXIT_OK)
        goto out;
    int lrc = lsws_txn_plan(s.client, &s.info, desired, &t, &err);
    if (lrc != LSWS_OK) {
        /* Refused as a whole before anything was sent. */
        rc = lrc == LSWS_ERR_NOMEM || lrc == LSWS_ERR_TIMEOUT || lrc == LSWS_ERR_NODEV || lrc == LSWS_ERR_AUTH ||
                     lrc == LSWS_ERR_PROTOCOL || lrc == LSWS_ERR_DEVICE
                 ? session_fail(&s, "cannot read settings from", lrc, &err)
                 : cli_error(EXIT_USAGE, "%s (nothing was written)", err.msg);
        goto out;
    }
    if (t->outcome == LSWS_TXN_NOTHING) {
        if (cli->json)
            report_json(cli, &s, t);
        else
            printf("nothing to change: %s %s already has these settings\n", s.model->name, s.info.sn);
        goto out;
    }
    print_notes(cli, t);
    lrc = lsws_txn_apply(s.client, t, 0, &err);
    if (t->backup[0] && !cli->json)
        fprintf(stderr, "lsws: previous settings saved to %s\n", t->backup);
    if (t->answer_lost && !cli->json)
        fprintf(stderr, "lsws: the device's answer to the write was lost; reading back shows it was applied\n");
    if (lrc != LSWS_OK) {
        rc = t->backup[0] || t->outcome != LSWS_TXN_PLANNED ? report_failure(cli, &s, t, lrc, &err)
                                                            : cli_error(EXIT_FAILED, "no backup, nothing written: %s",
                                                                        err.msg);
        if (cli->json)
            report_json(cli, &s, t);
        goto out;
    }
    if (cli->json)
        report_json(cli, &s, t);
    else
        report_text(cli, &s, t);
out:
    lsws_config_free(desired);
    lsws_txn_free(t);
    session_close(&s);
    return rc;
}
