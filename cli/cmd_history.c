/* lsws history: the CTH01's stored records (docs/history.md).
 *
 *   lsws history [--kind K] [--since T] [--until T]        what the store holds
 *   lsws history [--kind K] [--since T] [--until T] [--tz Z] -o FILE [--clear]
 *                                                          export, resumable
 *   lsws history [--kind K] --at T                         the record nearest T
 *   lsws history --clear [--kind K]                        delete stored records
 *   lsws history --columns                                 the CSV columns
 *
 * A thin renderer of the library's export (lsws_history_fetch into a
 * checkpoint beside the output, lsws_history_write from it): it only adds
 * the progress bar, Ctrl-C and the messages. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECKPOINT_SUFFIX ".checkpoint"

struct history_opts {
    int kind;           /* -1: not given */
    int have_since, have_until, have_at;
    uint32_t since, until, at;
    const char *output;
    int clear, columns;
    int tz_device, utc, tz; /* --tz: device, UTC (default) or an offset */
};

static int on_option(const char *name, const char *value, void *arg)
{
    struct history_opts *o = arg;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (strcmp(name, "kind") == 0) {
        if ((o->kind = lsws_history_kind_find(value)) < 0)
            return cli_error(EXIT_USAGE, "--kind: '%s' is not a kind of history (alarm, periodic, monthly-energy, "
                             "monthly-extremes)", value);
    } else if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0 || strcmp(name, "at") == 0) {
        uint32_t t;
        if (lsws_time_parse(value, &t, &err) != LSWS_OK)
            return cli_fail(EXIT_USAGE, err.code, "--%s: %s", name, err.msg);
        if (name[0] == 's') {
            o->since = t;
            o->have_since = 1;
        } else if (name[0] == 'u') {
            o->until = t;
            o->have_until = 1;
        } else {
            o->at = t;
            o->have_at = 1;
        }
    } else if (strcmp(name, "tz") == 0) {
        o->tz_device = strcmp(value, "device") == 0;
        o->utc = strcmp(value, "UTC") == 0 || strcmp(value, "utc") == 0;
        if (!o->tz_device && !o->utc) {
            const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
            struct lsws_value v;
            if (lsws_value_parse(m, (size_t)lsws_model_find(m, "time.zone"), value, &v, &err) != LSWS_OK)
                return cli_fail(EXIT_USAGE, err.code, "--tz: '%s' is not UTC, device or UTC+HH:MM", value);
            o->tz = (int)v.num;
        }
    } else if (strcmp(name, "output") == 0) {
        o->output = value;
    } else if (strcmp(name, "clear") == 0) {
        o->clear = 1;
    } else if (strcmp(name, "columns") == 0) {
        o->columns = 1;
    }
    return EXIT_OK;
}

static int parse_opts(const struct lsws_cli *cli, struct history_opts *o)
{
    memset(o, 0, sizeof *o);
    o->kind = -1;
    o->utc = 1;
    int rc = cli_options(cli, on_option, o);
    if (rc != EXIT_OK)
        return rc;
    if (o->have_since && o->have_until && o->since > o->until)
        return cli_error(EXIT_USAGE, "--since is after --until");
    if (o->have_at && (o->output || o->clear || o->have_since || o->have_until))
        return cli_error(EXIT_USAGE, "--at asks for one record: not with -o, --clear, --since or --until");
    if (o->clear && !o->output && (o->have_since || o->have_until))
        return cli_error(EXIT_USAGE, "--clear deletes every stored record of a kind: --since and --until do not "
                         "apply (the device clears all or nothing)");
    if (o->output && strcmp(o->output, "-") == 0)
        return cli_error(EXIT_USAGE, "-o needs a file: the export is written atomically and resumes from a "
                         "checkpoint beside it");
    return EXIT_OK;
}

/* ---- --columns ------------------------------------------------------------------------ */

static int print_columns(const struct lsws_cli *cli)
{
    struct cli_record *table = cli_table_new();
    for (size_t i = 0;; i++) {
        const struct lsws_csv_column *c = lsws_csv_column_at(LSWS_MODEL_CTH01, i);
        if (!c)
            break;
        struct cli_record *row = cli_table_row(table);
        cli_put_str(row, "column", c->name);
        cli_put_known(row, "reading", c->reading);
        cli_put_int(row, "channels", c->channels);
        cli_put_str(row, "what", c->what);
    }
    return cli_print(cli, table, 0);
}

/* Before the session opens: the options, and someone to ask before --clear. */
int check_history(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct history_opts o;
    int rc = parse_opts(cli, &o);
    if (rc != EXIT_OK)
        return rc;
    if (o.columns) {
        rc = print_columns(cli);
        return rc == EXIT_OK ? CLI_DONE : rc;
    }
    if (o.clear && !cli->yes && !isatty(STDIN_FILENO))
        return cli_error(EXIT_USAGE, "--clear needs --yes when there is no terminal to ask on");
    return EXIT_OK;
}

/* ---- the progress bar ----------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct progress {
    int shown;    /* a bar is drawn on stderr */
    struct timespec start, last;
    uint32_t first_done; /* records there when this run began */
    int begun;
};

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

static int on_progress(void *arg, uint32_t done, uint32_t total)
{
    struct progress *p = arg;
    if (!p->begun) {
        p->begun = 1;
        p->first_done = done;
        clock_gettime(CLOCK_MONOTONIC, &p->start);
        p->last = p->start;
        p->last.tv_sec -= 1;
    }
    if (p->shown && (seconds_since(&p->last) >= 0.2 || done == total)) {
        double el = seconds_since(&p->start), rate = el > 0.5 ? (done - p->first_done) / el : 0;
        char left[32] = "";
        if (rate > 0 && total > done) {
            unsigned s = (unsigned)((total - done) / rate + 0.5);
            snprintf(left, sizeof left, ", %u:%02u left", s / 60, s % 60);
        }
        unsigned pct = total ? (unsigned)((uint64_t)done * 100 / total) : 100, width = 24, fill = pct * width / 100;
        char bar[32];
        for (unsigned i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %u/%u records %3u%%, %.0f/s%s\033[K", bar, done, total, pct, rate, left);
        fflush(stderr);
        clock_gettime(CLOCK_MONOTONIC, &p->last);
    }
    return interrupted != 0;
}

static void progress_end(struct progress *p)
{
    if (p->shown && p->begun)
        fputs("\r\033[K", stderr);
}

/* ---- the commands ------------------------------------------------------------------------ */

static void put_time(struct cli_record *r, const char *key, uint32_t t, int utc, int tz)
{
    char text[40];
    if (!t) {
        cli_put_known(r, key, NULL);
        return;
    }
    lsws_time_format(t, utc, tz, text, sizeof text);
    cli_put_str(r, key, text);
}

/* What the store holds: one row per kind. */
static int show_status(struct lsws_cli *cli, const struct history_opts *o)
{
    struct session *s = cli->session;
    struct cli_record *table = cli_table_new();
    uint32_t since = o->have_since ? o->since : 0, until = o->have_until ? o->until : UINT32_MAX;
    for (unsigned k = 0; k < LSWS_HK_COUNT; k++) {
        if (o->kind >= 0 && (unsigned)o->kind != k)
            continue;
        struct lsws_history_status st;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_history_status(s->client, k, since, until, &st, &err);
        if (rc != LSWS_OK) {
            cli_record_free(table);
            return session_fail(s, "cannot read the history of", rc, &err);
        }
        struct cli_record *row = cli_table_row(table);
        cli_put_str(row, "kind", lsws_history_kind_name(k));
        cli_put_int(row, "records", st.count);
        put_time(row, "first", st.first, o->utc, o->tz);
        put_time(row, "last", st.last, o->utc, o->tz);
        cli_put_int(row, "stored", st.stored);
        cli_put_int(row, "capacity", st.capacity);
    }
    return cli_print(cli, table, 0);
}

struct point_ctx {
    struct lsws_cli *cli;
    const struct history_opts *o;
    struct lsws_uplink up;
    char out[64 * 1024];
    int rc;
};

static int print_point(void *arg, const uint8_t *rec, size_t len, uint32_t ts)
{
    struct point_ctx *p = arg;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_uplink_decode(LSWS_MODEL_CTH01, rec, len, &p->up, &err) != LSWS_OK) {
        p->rc = cli_fail(EXIT_FAILED, err.code, "a record does not decode: %s", err.msg);
        return 1;
    }
    for (size_t i = 0; i < p->up.n; i++)
        p->up.r[i].record = 1;
    p->up.records = 1;
    if (p->cli->json) {
        size_t n = lsws_uplink_json(&p->up, p->out, sizeof p->out);
        char when[40];
        lsws_time_format(ts, p->o->utc, p->o->tz, when, sizeof when);
        /* {"history":[{...}]} -> {"time":..., ...} as the export's JSON Lines */
        if (n > 16 && n < sizeof p->out) {
            p->out[n - 2] = '\0';
            printf("{\"time\":\"%s\",%s\n", when, p->out + 13);
        }
    } else {
        lsws_uplink_text(&p->up, p->out, sizeof p->out);
        fputs(p->out, stdout);
    }
    return 0;
}

static int show_point(struct lsws_cli *cli, const struct history_opts *o, unsigned kind)
{
    struct session *s = cli->session;
    struct point_ctx *p = calloc(1, sizeof *p);
    if (!p)
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    p->cli = cli;
    p->o = o;
    struct lsws_history_answer ans;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_history_point(s->client, kind, o->at, print_point, p, &ans, &err);
    int rc = p->rc;
    free(p);
    if (rc != EXIT_OK)
        return rc;
    if (lrc != LSWS_OK)
        return session_fail(s, "cannot query the history of", lrc, &err);
    if (!ans.records) {
        char when[40];
        lsws_time_format(o->at, o->utc, o->tz, when, sizeof when);
        return cli_fail(EXIT_FAILED, LSWS_ERR_DEVICE, "'%s' has no %s record within one reporting interval of %s",
                        s->uri, lsws_history_kind_name(kind), when);
    }
    return EXIT_OK;
}

static int clear(struct lsws_cli *cli, int kind)
{
    struct session *s = cli->session;
    if (!cli->yes) {
        char question[200];
        snprintf(question, sizeof question, "delete the stored %s records of %s %s (%s)?",
                 kind >= 0 ? lsws_history_kind_name((unsigned)kind) : "alarm, periodic and monthly", s->model->name,
                 s->info.sn, s->uri);
        if (!cli_confirm(question))
            return cli_error(EXIT_FAILED, "clear cancelled: nothing deleted");
    }
    for (unsigned k = 0; k < LSWS_HK_COUNT; k++) {
        if (kind >= 0 && (unsigned)kind != k)
            continue;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_history_clear(s->client, k, &err);
        if (rc != LSWS_OK)
            return session_fail(s, "cannot clear the history of", rc, &err);
        cli_note(cli, "%s records of %s %s deleted", lsws_history_kind_name(k), s->model->name, s->info.sn);
    }
    return EXIT_OK;
}

static int export(struct lsws_cli *cli, const struct history_opts *o, unsigned kind)
{
    struct session *s = cli->session;
    size_t plen = strlen(o->output);
    char *checkpoint = malloc(plen + sizeof CHECKPOINT_SUFFIX);
    if (!checkpoint)
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    snprintf(checkpoint, plen + sizeof CHECKPOINT_SUFFIX, "%s%s", o->output, CHECKPOINT_SUFFIX);
    struct progress prog = {.shown = isatty(STDERR_FILENO) && !cli->json && !cli->quiet};
    struct lsws_history_job job = {.kind = kind,
                                   .since = o->have_since ? o->since : 0,
                                   .until = o->have_until ? o->until : 0,
                                   .checkpoint = checkpoint,
                                   .progress = on_progress,
                                   .progress_ctx = &prog};
    struct lsws_history_result res;
    struct lsws_error err;
    lsws_error_clear(&err);
    /* Ctrl-C stops between pages; what was fetched stays in the checkpoint. */
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int lrc = lsws_history_fetch(s->client, &s->info, &job, &res, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    progress_end(&prog);
    int rc;
    if (lrc != LSWS_OK && interrupted) {
        struct lsws_error serr;
        lsws_history_stop(s->client, kind, &serr); /* the device may drop the query */
        rc = cli_fail(EXIT_FAILED, LSWS_ERR_IO,
                      "interrupted: %u of %u records kept in '%s': run the same command again to continue",
                      res.records, res.device.count, checkpoint);
        goto out;
    }
    if (lrc != LSWS_OK) {
        rc = session_fail(s, "cannot export the history of", lrc, &err);
        if (res.records)
            cli_note(cli, "%u records kept in '%s': run the same command again to continue", res.records,
                     checkpoint);
        goto out;
    }
    int utc = o->tz_device ? 0 : o->utc, tz = o->tz_device ? s->info.tz_minutes : o->tz;
    if ((lrc = lsws_history_write(checkpoint, o->output, cli->json ? LSWS_HISTORY_JSONL : LSWS_HISTORY_CSV, utc, tz,
                                  &err)) != LSWS_OK) {
        rc = cli_fail(EXIT_FAILED, lrc, "%s (the records stay in '%s')", err.msg, checkpoint);
        goto out;
    }
    if (unlink(checkpoint) < 0 && errno != ENOENT)
        cli_warn(cli, "cannot remove '%s': %s", checkpoint, strerror(errno));
    if (o->clear && (rc = clear(cli, (int)kind)) != EXIT_OK)
        goto out;
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_field_json_only(r);
    cli_put_str(r, "sn", s->info.sn);
    cli_field_json_only(r);
    cli_put_str(r, "kind", lsws_history_kind_name(kind));
    cli_field_json_only(r);
    cli_put_str(r, "file", o->output);
    cli_field_json_only(r);
    cli_put_str(r, "format", cli->json ? "jsonl" : "csv");
    cli_field_json_only(r);
    cli_put_int(r, "records", res.records);
    cli_field_json_only(r);
    put_time(r, "first", res.first, utc, tz);
    cli_field_json_only(r);
    put_time(r, "last", res.last, utc, tz);
    cli_field_json_only(r);
    put_time(r, "since", res.since, utc, tz);
    cli_field_json_only(r);
    put_time(r, "until", res.until, utc, tz);
    cli_field_json_only(r);
    cli_put_int(r, "resumed", res.resumed);
    cli_field_json_only(r);
    cli_put_int(r, "reconnects", res.reconnects);
    cli_field_json_only(r);
    cli_put_bool(r, "cleared", o->clear);
    cli_field_json_only(r);
    char first[40], last[40];
    lsws_time_format(res.first, utc, tz, first, sizeof first);
    lsws_time_format(res.last, utc, tz, last, sizeof last);
    if (res.records)
        cli_put_line(r, "%u %s records from %s to %s written to %s", res.records, lsws_history_kind_name(kind), first,
                     last, o->output);
    else
        cli_put_line(r, "no %s records in the range: %s written with none", lsws_history_kind_name(kind), o->output);
    if (res.resumed)
        cli_put_line(r, "(%u of them from an earlier run's checkpoint)", res.resumed);
    if (res.reconnects)
        cli_put_line(r, "(the link was lost and reopened %u time%s)", res.reconnects, res.reconnects == 1 ? "" : "s");
    rc = cli_print(cli, r, 0);
out:
    free(checkpoint);
    return rc;
}

int cmd_history(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct session *s = cli->session;
    struct history_opts o;
    int rc = parse_opts(cli, &o);
    if (rc != EXIT_OK)
        return rc;
    if (s->info.model != LSWS_MODEL_CTH01)
        return cli_fail(EXIT_FAILED, LSWS_ERR_UNSUPPORTED, "'%s' is a %s: it stores no history (the CTH01 does)",
                        s->uri, s->model->name);
    if (o.tz_device) {
        o.utc = 0;
        o.tz = s->info.tz_minutes;
    }
    /* An export takes as long as the link needs (20,000 records take about
     * 15 minutes at 115200 baud): no total deadline unless --deadline. */
    lsws_client_set_deadline(s->client, cli->deadline_ms);
    unsigned kind = o.kind >= 0 ? (unsigned)o.kind : LSWS_HK_PERIODIC;
    if (o.output)
        return export(cli, &o, kind);
    if (o.clear)
        return clear(cli, o.kind);
    if (o.have_at)
        return show_point(cli, &o, kind);
    return show_status(cli, &o);
}
