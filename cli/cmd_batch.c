/* lsws batch TEMPLATE [URI...] [--all | --loop]: provisions many units from one
 * template, each recorded in the ledger (lib/batch.c does the work for
 * one unit; this file finds the units, opens each session and renders
 * each result).
 *
 * Where units come from is a source: the URI operands, or a sweep of every
 * transport's discovery (--all: each sim: unit, each serial adapter, each
 * BLE hub in range). A tap loop (--loop, NFC: each card held to the reader
 * in turn) is a third source of the same shape: its `next` gives the
 * reader's URI again and again, the unit's open waits for a card (--wait),
 * and after the unit the loop waits for the card to leave the field
 * (lsws_client_present) before it takes the next. A unit tapped twice is
 * told by the ledger (res.again), so no source remembers the units it gave. */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GENERATE_MAX 16
#define MANIFEST_MAX (64u << 20)
#define SCAN_TIMEOUT_MS 2000
#define TAP_POLL_MS 100   /* --loop: is the card still in the field? */
#define TAP_RETRY_MS 1000 /* --loop: after a card that cannot be opened */
#define LEDGER_RETRY_MS 1000      /* the ledger server went away: first try again after this, */
#define LEDGER_RETRY_MAX_MS 16000 /* doubling up to this */

/* ---- sources of units ---- */

struct source {
    /* The next unit's URI into uri[0..n): 1, or 0 when there are no more
     * (or the stop flag is set: a tap loop waits until then). */
    int (*next)(struct source *src, char *uri, size_t n);
    size_t total; /* units known in advance, 0 when not (a tap loop) */
    int tap;      /* a tap loop: wait for each unit to come and to go */
    char **uris;
    size_t n, at;
};

static int next_listed(struct source *src, char *uri, size_t n)
{
    if (src->at >= src->n)
        return 0;
    snprintf(uri, n, "%s", src->uris[src->at++]);
    return 1;
}

/* --loop: the reader again, for the next card; none once stopped. */
static volatile sig_atomic_t stop;

static int next_tap(struct source *src, char *uri, size_t n)
{
    if (stop)
        return 0;
    snprintf(uri, n, "%s", src->uris[0]);
    return 1;
}

static int found_one(const struct lsws_found *dev, void *ctx)
{
    struct source *src = ctx;
    char **more = realloc(src->uris, (src->n + 1) * sizeof *more);
    if (!more)
        return 1;
    src->uris = more;
    if ((src->uris[src->n] = strdup(dev->uri)))
        src->n++;
    return 0;
}

/* --all: every transport whose scan is not intrusive, as lsws list does
 * (Bluetooth LE for scan_ms: each hub in range). */
static int sweep(struct lsws_cli *cli, struct source *src, int scan_ms)
{
    const struct lsws_transport *t;
    for (size_t i = 0; (t = lsws_transport_at(i)); i++) {
        struct lsws_error err;
        lsws_error_clear(&err);
        if (!t->discover || (t->flags & LSWS_TRANSPORT_SCAN_INTRUSIVE))
            continue;
        int is_ble = strcmp(t->scheme, "ble") == 0;
        int rc = t->discover(is_ble ? scan_ms : SCAN_TIMEOUT_MS, found_one, src, &err);
        /* No bluetoothd or no adapter: no hubs, as lsws list says nothing of a bus it lacks. */
        if (rc != LSWS_OK && !(is_ble && rc == LSWS_ERR_NODEV))
            cli_warn(cli, "cannot scan %s: %s", t->scheme, err.msg);
    }
    src->next = next_listed;
    src->total = src->n;
    return EXIT_OK;
}

/* ---- stopping between units ---- */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1; /* SA_RESETHAND: a second Ctrl-C ends the process at once */
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND; /* the unit under way finishes */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- options ---- */

struct batch_opts {
    const char *manifest, *pool, *ledger, *operator_name, *station;
    int all, force, loop;
    int scan_ms;
    long ledger_wait_s; /* -1: wait for the ledger server without end */
    const char *generate[GENERATE_MAX];
    size_t n_generate;
};

static int on_option(const char *name, const char *value, void *ctx)
{
    struct batch_opts *o = ctx;
    if (strcmp(name, "manifest") == 0)
        o->manifest = value;
    else if (strcmp(name, "pool") == 0)
        o->pool = value;
    else if (strcmp(name, "ledger-wait") == 0) {
        char *end;
        long sec = strtol(value, &end, 10);
        if (!*value || *end || sec < 0 || sec > 7 * 86400)
            return cli_error(EXIT_USAGE, "--ledger-wait takes seconds from 0 to 604800, not '%s'", value);
        o->ledger_wait_s = sec;
    }
    else if (strcmp(name, "ledger") == 0)
        o->ledger = value;
    else if (strcmp(name, "operator") == 0)
        o->operator_name = value;
    else if (strcmp(name, "station") == 0)
        o->station = value;
    else if (strcmp(name, "all") == 0)
        o->all = 1;
    else if (strcmp(name, "scan-time") == 0) {
        char *end;
        long sec = strtol(value, &end, 10);
        if (!*value || *end || sec < 1 || sec > 600)
            return cli_error(EXIT_USAGE, "--scan-time takes seconds from 1 to 600, not '%s'", value);
        o->scan_ms = (int)sec * 1000;
    } else if (strcmp(name, "loop") == 0)
        o->loop = 1;
    else if (strcmp(name, "force") == 0)
        o->force = 1;
    else if (strcmp(name, "generate") == 0) {
        if (o->n_generate == GENERATE_MAX)
            return cli_error(EXIT_USAGE, "at most %d --generate names", GENERATE_MAX);
        o->generate[o->n_generate++] = value;
    }
    return EXIT_OK;
}

/* ---- rendering ---- */

static const char *const status_names[] = {
    [LSWS_UNIT_OK] = "ok", [LSWS_UNIT_SKIPPED] = "skipped", [LSWS_UNIT_HELD] = "held", [LSWS_UNIT_FAILED] = "failed"};

struct counts {
    size_t units, ok, skipped, held, failed, again;
};

static int progress_shown(const struct lsws_cli *cli)
{
    return !cli->json && !cli->quiet && isatty(STDERR_FILENO);
}

static void progress(const struct lsws_cli *cli, size_t i, size_t total, const char *uri, const struct counts *c)
{
    if (!progress_shown(cli))
        return;
    if (total)
        fprintf(stderr, "\r\033[K[%zu/%zu] %zu ok, %zu failed: %.60s", i + 1, total, c->ok, c->failed, uri);
    else
        fprintf(stderr, "\r\033[K[%zu] %zu ok, %zu failed: %.60s", i + 1, c->ok, c->failed, uri);
    fflush(stderr);
}

/* A tap loop's running count, while it waits for a card to come or go. */
static void tap_progress(const struct lsws_cli *cli, const struct counts *c, const char *what)
{
    if (!progress_shown(cli))
        return;
    fprintf(stderr, "\r\033[K%zu tapped: %zu ok, %zu twice, %zu failed: %s", c->units, c->ok, c->again, c->failed,
            what);
    fflush(stderr);
}

static void clear_progress(const struct lsws_cli *cli)
{
    if (progress_shown(cli)) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

static void put_text_or_null(struct cli_record *r, const char *key, const char *value)
{
    cli_put_known(r, key, value);
    cli_field_json_only(r);
}

/* One line per unit: a sentence in text, a JSON Lines object with --json. */
static int report_unit(struct lsws_cli *cli, const char *uri, const struct session *s,
                       const struct lsws_batch_result *res, const char *open_error)
{
    struct cli_record *r = cli_record_new();
    const char *status = open_error ? "failed" : status_names[res->status];
    char eui[17] = "";
    if (s)
        lsws_hex_format(s->info.dev_eui, 8, eui);
    cli_put_str(r, "device", uri);
    cli_field_json_only(r);
    cli_put_str(r, "status", status);
    cli_field_json_only(r);
    put_text_or_null(r, "sn", s ? s->info.sn : NULL);
    put_text_or_null(r, "dev_eui", eui);
    put_text_or_null(r, "model", s ? s->model->name : NULL);
    const struct lsws_txn *t = res ? res->txn : NULL;
    cli_put_bool(r, "resumed", res && res->resumed);
    cli_field_json_only(r);
    cli_put_bool(r, "again", res && res->again);
    cli_field_json_only(r);
    put_text_or_null(r, "outcome", t && res->status != LSWS_UNIT_SKIPPED ? lsws_txn_outcome_name(t->outcome) : NULL);
    struct cli_record *changed = cli->json ? cli_put_table(r, "changed") : NULL; /* text: the count */
    for (size_t k = 0; changed && t && k < t->n_changes; k++) {
        struct cli_record *row = cli_table_row(changed);
        cli_put_str(row, "key", t->model->settings[t->changes[k].idx].key);
    }
    if (res && res->rec.id)
        cli_put_int(r, "record", res->rec.id);
    else
        cli_put_known(r, "record", NULL);
    cli_field_json_only(r);
    put_text_or_null(r, "backup", t ? t->backup : NULL);
    const char *error = open_error ? open_error
                        : res && res->rc != LSWS_OK ? (res->err.msg[0] ? res->err.msg : lsws_strerror(res->rc))
                                                    : NULL;
    put_text_or_null(r, "error", error);
    char what[320];
    size_t n = t ? t->n_changes : 0;
    if (open_error)
        snprintf(what, sizeof what, "%s", open_error);
    else if (res->status == LSWS_UNIT_SKIPPED)
        snprintf(what, sizeof what, res->again ? "this run provisioned it already (record %lld): given twice?"
                                               : "provisioned with this template already (record %lld)",
                 (long long)res->rec.id);
    else if (res->status == LSWS_UNIT_HELD && res->rec.owner[0])
        snprintf(what, sizeof what, "another process or station is provisioning it (%.120s)", res->rec.owner);
    else if (res->status == LSWS_UNIT_HELD) /* found by the pool row or the begin: no owner at hand */
        snprintf(what, sizeof what, "another process or station is provisioning it");
    else if (res->status == LSWS_UNIT_OK && t && t->outcome == LSWS_TXN_NOTHING)
        snprintf(what, sizeof what, "held these settings already%s (record %lld)",
                 res->resumed ? ": the interrupted write had been applied" : "", (long long)res->rec.id);
    else if (res->status == LSWS_UNIT_OK)
        snprintf(what, sizeof what, "%zu setting%s written and verified%s (record %lld)", n, n == 1 ? "" : "s",
                 res->resumed ? ", resumed" : "", (long long)res->rec.id);
    else
        snprintf(what, sizeof what, "%s%s", error ? error : "failed",
                 res->rec.id ? "" : " (no record)");
    cli_put_line(r, "%-8s %-5s %-16s  %s  %s", res && res->again ? "again" : status, s ? s->model->name : "-",
                 s ? s->info.sn : "-", what, uri);
    int rc = cli_print(cli, r, CLI_COMPACT);
    fflush(stdout); /* a line per unit as it is done, also into a pipe or file */
    return rc;
}

static int report_summary(struct lsws_cli *cli, const struct counts *c, int interrupted, struct lsws_ledger *l)
{
    if (cli->json) {
        /* {"summary": {...}}: the last JSON line */
        json_t *o = json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s}}", "summary", "units",
                              (json_int_t)c->units, "ok", (json_int_t)c->ok, "skipped", (json_int_t)c->skipped,
                              "again", (json_int_t)c->again, "held", (json_int_t)c->held, "failed",
                              (json_int_t)c->failed, "interrupted", interrupted, "ledger", lsws_ledger_where(l));
        if (!o)
            return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
        putchar('\n');
        fflush(stdout);
        json_decref(o);
        return EXIT_OK;
    }
    struct cli_record *r = cli_record_new();
    char twice[48] = "";
    if (c->again)
        snprintf(twice, sizeof twice, " (%zu given twice)", c->again);
    cli_put_line(r, "%s%zu unit%s: %zu ok, %zu skipped%s, %zu held elsewhere, %zu failed; ledger %s",
                 interrupted ? "interrupted after " : "", c->units, c->units == 1 ? "" : "s", c->ok, c->skipped,
                 twice, c->held, c->failed, lsws_ledger_where(l));
    return cli_print(cli, r, 0);
}

/* ---- the batch ---- */

/* A manifest keyed by SN or DevEUI, or (pool) a pool of identities. */
static int load_manifest(const char *file, int pool, struct lsws_manifest **m)
{
    char *text;
    size_t len;
    int rc = cli_read_file(file, MANIFEST_MAX, &text, &len);
    if (rc != EXIT_OK)
        return rc;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = pool ? lsws_manifest_parse_pool(text, len, m, &err) : lsws_manifest_parse(text, len, m, &err);
    explicit_bzero(text, len);
    free(text);
    return lrc == LSWS_OK ? EXIT_OK : cli_file_error(EXIT_FAILED, file, &err);
}

/* With a manifest and the units known in advance, each unit's row is
 * found before anything is written: a row that matches two units, a unit
 * that two rows name, or a unit with no row refuses the whole batch. (A
 * tap loop cannot know its units in advance: lsws_batch_unit checks each
 * one before writing it.) Identifying needs no password. */
static int check_manifest_units(struct lsws_cli *cli, struct source *src, const struct lsws_manifest *m,
                                const char *file)
{
    size_t bad = 0;
    for (size_t i = 0; i < src->n; i++) {
        struct session s;
        if (session_open_uri(cli, &s, src->uris[i], 0, 0) != EXIT_OK)
            continue; /* reported again when its turn comes */
        char eui[17];
        size_t row;
        struct lsws_error err;
        lsws_error_clear(&err);
        lsws_hex_format(s.info.dev_eui, 8, eui);
        if (lsws_manifest_find(m, s.info.sn, eui, &row, &err) != LSWS_OK) {
            cli_file_error(EXIT_FAILED, file, &err);
            bad++;
        }
        session_close(&s);
    }
    if (bad)
        return cli_fail(EXIT_FAILED, LSWS_ERR_INVALID, "%s: %zu unit%s without exactly one row: nothing was written",
                        file, bad, bad == 1 ? "" : "s");
    return EXIT_OK;
}

/* A tap loop, after a unit: wait until its card leaves the field (or a
 * signal stops the loop), so the card still lying on the reader is not taken
 * for the next tap. */
static void wait_gone(struct lsws_cli *cli, struct session *s, const struct counts *c)
{
    tap_progress(cli, c, "take the unit away");
    while (!stop) {
        struct lsws_error err;
        lsws_error_clear(&err);
        if (lsws_client_present(s->client, &err) != LSWS_OK)
            break;
        struct timespec ts = {0, TAP_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    clear_progress(cli);
}

/* The ledger's server went away (PostgreSQL): wait for it, trying again
 * after 1, 2, 4 ... 16 s, for wait_s seconds at most (-1: without end), or
 * until Ctrl-C. EXIT_OK when it is back. */
static int wait_for_ledger(struct lsws_cli *cli, struct lsws_ledger *l, const struct lsws_error *why, long wait_s)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long delay_ms = LEDGER_RETRY_MS;
    cli_warn(cli, "%s", why->msg);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited_ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (wait_s >= 0 && waited_ms >= wait_s * 1000)
            return cli_fail(EXIT_FAILED, LSWS_ERR_NODEV,
                            "the ledger '%s' did not come back within %ld s: stopping before the next unit "
                            "(run the batch again to go on)",
                            lsws_ledger_where(l), wait_s);
        if (wait_s >= 0 && delay_ms > wait_s * 1000 - waited_ms)
            delay_ms = wait_s * 1000 - waited_ms;
        cli_warn(cli, "waiting for the ledger '%s' (next try in %ld s; Ctrl-C stops)", lsws_ledger_where(l),
                 (delay_ms + 999) / 1000);
        struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* a signal ends it early */
        if (stop)
            return cli_fail(EXIT_PARTIAL, LSWS_ERR_NODEV, "interrupted while waiting for the ledger");
        struct lsws_error err;
        lsws_error_clear(&err);
        if (lsws_ledger_reconnect(l, &err) == LSWS_OK) {
            cli_warn(cli, "the ledger '%s' is back: going on with the unit under way", lsws_ledger_where(l));
            return EXIT_OK;
        }
        delay_ms = delay_ms * 2 > LEDGER_RETRY_MAX_MS ? LEDGER_RETRY_MAX_MS : delay_ms * 2;
    }
}

/* One unit: open, provision, report. Returns EXIT_FAILED when the ledger
 * failed (the batch must stop), else EXIT_OK. When the ledger's server
 * went away, *lost is set instead and the unit is neither reported nor
 * counted: the caller waits for the server and gives the unit again (its
 * record, if one began, resumes it). retry: this is such a second go. In a
 * tap loop, *end is set when no card will come (stopped, --wait passed,
 * the reader went away), with the exit status in *end_rc. */
static int one_unit(struct lsws_cli *cli, struct lsws_batch *b, const struct source *src, const char *uri, size_t i,
                    struct counts *c, int *end, int *end_rc, int retry, int *lost, struct lsws_error *lost_err)
{
    struct session s;
    if (src->tap)
        tap_progress(cli, c, "hold the next unit to the reader");
    int rc = session_open_uri(cli, &s, uri, 1, 0);
    if (src->tap)
        clear_progress(cli);
    if (rc != EXIT_OK && src->tap && (stop || rc == EXIT_NODEV)) {
        /* Stopped while waiting, --wait SECONDS passed with no card, or the
         * reader went away (the message said which): the loop ends. */
        *end = 1;
        *end_rc = stop || cli->wait_ms > 0 ? EXIT_OK : rc;
        return EXIT_OK;
    }
    c->units++;
    if (rc != EXIT_OK) {
        c->failed++;
        report_unit(cli, uri, NULL, NULL, "cannot open the unit (see above)");
        if (src->tap) {
            /* A card that is no WS523, or will not log in: the session is
             * gone, so it cannot be watched leaving; look again later. */
            struct timespec ts = {TAP_RETRY_MS / 1000, (TAP_RETRY_MS % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        return EXIT_OK;
    }
    if (!src->tap)
        progress(cli, i, src->total, uri, c);
    struct lsws_batch_result res;
    lsws_batch_unit(b, s.client, &s.info, uri, &res);
    clear_progress(cli);
    if (res.ledger_failed && res.rc == LSWS_ERR_NODEV) {
        /* Nothing was written that is not recorded: the unit is written
         * only after its record began, and a record begun stays open. */
        c->units--;
        *lost = 1;
        *lost_err = res.err;
        lsws_batch_result_release(&res);
        session_close(&s);
        return EXIT_OK;
    }
    if (retry && res.status == LSWS_UNIT_SKIPPED && res.again) {
        /* The outcome had committed just as the connection dropped. */
        res.status = LSWS_UNIT_OK;
        res.again = 0;
    }
    report_unit(cli, uri, &s, &res, NULL);
    switch (res.status) {
    case LSWS_UNIT_OK:
        c->ok++;
        break;
    case LSWS_UNIT_SKIPPED:
        c->skipped++;
        c->again += res.again != 0;
        break;
    case LSWS_UNIT_HELD:
        c->held++;
        break;
    case LSWS_UNIT_FAILED:
        c->failed++;
        break;
    }
    rc = EXIT_OK;
    if (res.ledger_failed)
        rc = cli_fail(EXIT_FAILED, res.rc, "%s; stopping before the next unit", res.err.msg);
    lsws_batch_result_release(&res);
    if (src->tap && rc == EXIT_OK)
        wait_gone(cli, &s, c);
    session_close(&s);
    return rc;
}

int cmd_batch(int argc, char **argv, struct lsws_cli *cli)
{
    struct batch_opts o = {.scan_ms = SCAN_TIMEOUT_MS, .ledger_wait_s = -1};
    int rc = cli_options(cli, on_option, &o);
    if (rc != EXIT_OK)
        return rc;
    if (argc < 1)
        return cli_error(EXIT_USAGE, "batch needs a TEMPLATE, then URIs, --all or --loop");
    const char *reader = NULL; /* --loop: -d URI, $LSWS_DEVICE, or the one operand */
    if (o.scan_ms != SCAN_TIMEOUT_MS && !o.all)
        return cli_error(EXIT_USAGE, "--scan-time goes with --all");
    if (o.loop) {
        if (o.all)
            return cli_error(EXIT_USAGE, "--loop and --all: choose one");
        if (argc > 2)
            return cli_error(EXIT_USAGE, "--loop takes one reader (-d URI or one URI), not %d", argc - 1);
        reader = argc == 2 ? argv[1] : cli->device ? cli->device : getenv("LSWS_DEVICE");
        if (!reader || !*reader)
            return cli_error(EXIT_USAGE, "--loop needs the reader: -d nfc:... or one URI");
        struct lsws_uri uri;
        struct lsws_error err;
        lsws_error_clear(&err);
        int lrc = lsws_uri_parse(reader, &uri, &err);
        if (lrc != LSWS_OK)
            return cli_fail(EXIT_USAGE, lrc, "%s", err.msg);
        if (!uri.transport->present)
            return cli_error(EXIT_USAGE, "--loop needs a transport that sees a unit come and go (nfc:), not '%s'",
                             reader);
        if (!cli->wait_ms)
            cli->wait_ms = -1; /* each card: as long as it takes */
        cli->cancel = &stop;
    } else if (o.all == (argc > 1)) {
        return cli_error(EXIT_USAGE, "batch needs URIs, --all or --loop (one of them)");
    }
    for (int i = 1; i < argc; i++) {
        struct lsws_uri uri;
        struct lsws_error err;
        lsws_error_clear(&err);
        int lrc = lsws_uri_parse(argv[i], &uri, &err);
        if (lrc != LSWS_OK)
            return cli_fail(EXIT_USAGE, lrc, "%s", err.msg);
    }
    struct lsws_tpl *tpl = NULL;
    struct lsws_manifest *manifest = NULL, *pool = NULL;
    struct lsws_ledger *ledger = NULL;
    struct lsws_batch *b = NULL;
    struct source src = {.next = next_listed, .uris = argv + 1, .n = (size_t)argc - 1, .total = (size_t)argc - 1};
    char *reader_uri[1] = {(char *)reader};
    if (o.loop)
        src = (struct source){.next = next_tap, .uris = reader_uri, .n = 0, .tap = 1};
    struct lsws_error err;
    lsws_error_clear(&err);
    if ((rc = cli_load_tpl(argv[0], LSWS_TPL_PLACEHOLDERS, &tpl)) != EXIT_OK ||
        (rc = cli_select(cli, argv[0], tpl)) != EXIT_OK)
        goto out;
    if (o.manifest && (rc = load_manifest(o.manifest, 0, &manifest)) != EXIT_OK)
        goto out;
    if (o.pool && (rc = load_manifest(o.pool, 1, &pool)) != EXIT_OK)
        goto out;
    int lrc = lsws_ledger_open(o.ledger, o.operator_name, o.station, &ledger, &err);
    if (lrc != LSWS_OK) {
        rc = cli_fail(EXIT_FAILED, lrc, "%s", err.msg);
        goto out;
    }
    struct lsws_batch_opts bo = {.tpl = tpl, .template_name = argv[0], .manifest = manifest, .pool = pool,
                                 .generate = o.generate, .n_generate = o.n_generate, .ledger = ledger,
                                 .flags = o.force ? LSWS_BATCH_FORCE : 0};
    if ((lrc = lsws_batch_new(&bo, &b, &err)) != LSWS_OK) {
        const char *file = o.manifest ? o.manifest : o.pool;
        rc = err.line && file ? cli_file_error(EXIT_FAILED, file, &err)
             : lrc == LSWS_ERR_NODEV || lrc == LSWS_ERR_IO || lrc == LSWS_ERR_BUSY
                 ? cli_fail(EXIT_FAILED, lrc, "%s", err.msg) /* the ledger, loading the pool */
                 : cli_fail(EXIT_USAGE, lrc, "%s", err.msg);
        goto out;
    }
    if (o.all) {
        src.uris = NULL;
        src.n = 0;
        sweep(cli, &src, o.scan_ms);
        if (!src.n) {
            rc = cli_fail(EXIT_NODEV, LSWS_ERR_NODEV, "--all found no units");
            goto out;
        }
    }
    if (manifest && (rc = check_manifest_units(cli, &src, manifest, o.manifest)) != EXIT_OK)
        goto out;
    catch_signals();
    struct counts c = {0};
    char uri[LSWS_URI_MAX];
    int end = 0, end_rc = EXIT_OK;
    int lost = 0;
    for (size_t i = 0; !stop && !end && (lost || src.next(&src, uri, sizeof uri)); i++) {
        int retry = lost;
        struct lsws_error lost_err;
        lost = 0;
        if ((rc = one_unit(cli, b, &src, uri, i, &c, &end, &end_rc, retry, &lost, &lost_err)) != EXIT_OK)
            break;
        /* The same unit again once the ledger is back. */
        if (lost && (rc = wait_for_ledger(cli, ledger, &lost_err, o.ledger_wait_s)) != EXIT_OK)
            break;
    }
    clear_progress(cli);
    /* A tap loop ends with Ctrl-C: that is its normal end, not an interruption. */
    int interrupted = stop && !src.tap && (rc == EXIT_OK || rc == EXIT_PARTIAL);
    if (rc == EXIT_OK && end_rc != EXIT_OK)
        rc = end_rc;
    int src_rc = report_summary(cli, &c, interrupted, ledger);
    if (rc == EXIT_OK && src_rc != EXIT_OK)
        rc = src_rc;
    if (rc == EXIT_OK && c.failed)
        rc = cli_fail(EXIT_PARTIAL, LSWS_ERR_DEVICE, "%zu of %zu units failed (see the ledger: lsws ledger list)",
                      c.failed, c.units);
    else if (rc == EXIT_OK && interrupted)
        rc = cli_fail(EXIT_PARTIAL, LSWS_ERR_INVALID, "interrupted: %zu units done, the rest not started", c.units);
out:
    if (src.uris != argv + 1 && !src.tap) { /* a sweep's own list */
        for (size_t i = 0; i < src.n; i++)
            free(src.uris[i]);
        free(src.uris);
    }
    lsws_batch_free(b);
    lsws_ledger_close(ledger);
    lsws_manifest_free(manifest);
    lsws_manifest_free(pool);
    lsws_tpl_free(tpl);
    return rc;
}
