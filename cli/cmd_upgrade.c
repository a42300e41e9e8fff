/* lsws upgrade FIRMWARE.bin: a thin renderer of the library's upgrade job
 * (lsws_upgrade_plan, lsws_upgrade_run: checks, resume, transfer, verify,
 * commit, reconnect, version read back). The image is checked before the
 * device is contacted (check_upgrade), and against the unit before anything
 * is sent (the plan). A progress bar goes to stderr when it is a terminal
 * (not with --json or -q). Ctrl-C stops once the chunks in flight are
 * answered; the same command again resumes where the unit's staged copy
 * ends. */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UPGRADE_DEADLINE_MS (3600 * 1000) /* unless --deadline says otherwise */

void cli_put_fw_header(struct cli_record *r, const struct lsws_fw_header *h);

/* The image, read by check_upgrade before the session opens, to check it,
 * and again by cmd_upgrade (whose plan checks it again). */
static struct {
    char *data;
    size_t len;
    const char *path;
} image;

/* Reads and checks the image into `image`; an exit code. */
static int load_image(const char *path)
{
    int rc = cli_read_file(path, LSWS_FW_HEADER_LEN + LSWS_FW_PAYLOAD_MAX, &image.data, &image.len);
    if (rc != EXIT_OK)
        return rc;
    image.path = path;
    struct lsws_fw_header h;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_fw_image_check((const uint8_t *)image.data, image.len, &h, &err);
    if (lrc != LSWS_OK) {
        free(image.data);
        image.data = NULL;
        return cli_fail(EXIT_FAILED, lrc, "'%s': %s (nothing was sent)", path, err.msg);
    }
    return EXIT_OK;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    interrupted = sig;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends lsws at once */
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int option_given(const struct lsws_cli *cli, const char *name)
{
    for (size_t i = 0; i < cli->n_given; i++)
        if (strcmp(cli->given[i].option->name, name) == 0)
            return 1;
    return 0;
}

int check_upgrade(int argc, char **argv, struct lsws_cli *cli)
{
    (void)cli;
    if (argc != 1)
        return cli_error(EXIT_USAGE, "upgrade takes one FIRMWARE file");
    /* Nothing stays allocated while main opens the session. */
    int rc = load_image(argv[0]);
    free(image.data);
    image.data = NULL;
    return rc;
}

/* ---- progress -------------------------------------------------------------------- */

struct progress {
    const struct lsws_cli *cli;
    const struct session *s;
    int bar;           /* draw a bar: stderr is a terminal, no --json, no -q */
    int drawn;         /* a bar line is on the screen */
    double start, last;
    uint32_t start_at; /* acknowledged offset when this run's transfer started */
    int started;
};

static void human(double bytes, char *buf, size_t n)
{
    if (bytes >= 1024 * 1024)
        snprintf(buf, n, "%.1f MiB", bytes / (1024.0 * 1024.0));
    else
        snprintf(buf, n, "%.1f KiB", bytes / 1024.0);
}

static void draw(struct progress *p, const struct lsws_upgrade *u, int final)
{
    double t = now_s(), elapsed = t - p->start;
    if (!final && p->drawn && t - p->last < 0.1)
        return;
    p->last = t;
    double done = u->acked, total = u->total;
    double rate = elapsed > 0.05 ? (done - p->start_at) / elapsed : 0;
    int width = 24, fill = total > 0 ? (int)(width * done / total) : width;
    char bar[32], a[24], b[24], r[24], left[24] = "";
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    human(done, a, sizeof a);
    human(total, b, sizeof b);
    human(rate, r, sizeof r);
    if (rate > 0 && done < total) {
        unsigned secs = (unsigned)((total - done) / rate + 0.5);
        snprintf(left, sizeof left, "  %u:%02u left", secs / 60, secs % 60);
    }
    fprintf(stderr, "\r%3d%% [%s] %s of %s  %s/s%s\033[K", total > 0 ? (int)(100 * done / total) : 100, bar, a, b, r,
            left);
    fflush(stderr);
    p->drawn = 1;
}

static void end_bar(struct progress *p)
{
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}

static int on_progress(const struct lsws_upgrade *u, void *ctx)
{
    struct progress *p = ctx;
    if (!p->started) {
        p->started = 1;
        p->start = now_s();
        p->start_at = u->acked;
        if (u->acked)
            cli_note(p->cli, "'%s' holds %lu of %lu bytes of this image from an earlier transfer: resuming there",
                     p->s->uri, (unsigned long)u->acked, (unsigned long)u->total);
    }
    if (p->bar)
        draw(p, u, u->acked == u->total);
    return interrupted ? 1 : 0;
}

/* ---- the result ------------------------------------------------------------------- */

static const char *const outcome_names[] = {
    [LSWS_UPG_PLANNED] = "planned",         [LSWS_UPG_REFUSED] = "refused", [LSWS_UPG_INTERRUPTED] = "interrupted",
    [LSWS_UPG_CHECKSUM] = "checksum",       [LSWS_UPG_NOT_COMMITTED] = "not_committed",
    [LSWS_UPG_UNKNOWN] = "unknown",         [LSWS_UPG_DONE] = "done", [LSWS_UPG_MISMATCH] = "mismatch",
};

static int report(const struct lsws_cli *cli, const struct session *s, const struct lsws_upgrade *u, double secs,
                  int exit_code)
{
    char from[16], to[16], now[16];
    lsws_version_format(u->before.fw, 0, from, sizeof from);
    lsws_version_format(u->h.fw, 0, to, sizeof to);
    if (u->have_after)
        lsws_version_format(u->after.fw, 0, now, sizeof now);
    /* Everything for JSON; text gets one sentence. */
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_field_json_only(r);
    cli_put_str(r, "sn", s->info.sn);
    cli_field_json_only(r);
    cli_put_str(r, "image", image.path);
    cli_field_json_only(r);
    cli_put_str(r, "outcome", outcome_names[u->outcome]);
    cli_field_json_only(r);
    cli_put_str(r, "from", from);
    cli_field_json_only(r);
    cli_put_str(r, "to", to);
    cli_field_json_only(r);
    cli_put_known(r, "firmware_version", u->have_after ? now : NULL);
    cli_field_json_only(r);
    cli_put_bool(r, "forced", u->forced);
    cli_field_json_only(r);
    cli_put_int(r, "payload_length", u->total);
    cli_field_json_only(r);
    cli_put_int(r, "resumed_at", u->first_offset);
    cli_field_json_only(r);
    cli_put_int(r, "acknowledged", u->acked);
    cli_field_json_only(r);
    cli_put_int(r, "chunk_size", (long long)u->chunk);
    cli_field_json_only(r);
    cli_put_int(r, "window", u->window);
    cli_field_json_only(r);
    cli_put_int(r, "chunks", u->chunks);
    cli_field_json_only(r);
    cli_put_int(r, "resent", u->resent);
    cli_field_json_only(r);
    cli_put_int(r, "reconnects", u->reconnects);
    cli_field_json_only(r);
    cli_put_int(r, "milliseconds", (long long)(secs * 1000 + 0.5));
    cli_field_json_only(r);
    char resumed[48] = "";
    if (u->first_offset)
        snprintf(resumed, sizeof resumed, ", resumed at byte %lu", (unsigned long)u->first_offset);
    if (u->outcome == LSWS_UPG_DONE)
        cli_put_line(r, "%s %s upgraded from %s to %s (%lu bytes%s, %.1f s); it reports %s", s->model->name, s->info.sn,
                     from, to, (unsigned long)u->total, resumed, secs, now);
    else if (u->outcome == LSWS_UPG_PLANNED)
        cli_put_line(r, "%s %s can be upgraded from %s to %s with '%s' (dry run: nothing was sent)", s->model->name,
                     s->info.sn, from, to, image.path);
    int rc = cli_print(cli, r, 0);
    return exit_code != EXIT_OK ? exit_code : rc;
}

/* What the unit runs now, in words: read from it when possible. */
static void runs_now(const struct session *s, const struct lsws_upgrade *u, char *buf, size_t n)
{
    char v[16];
    if (u->have_after) {
        lsws_version_format(u->after.fw, 0, v, sizeof v);
        snprintf(buf, n, "it reports firmware %s", v);
    } else {
        lsws_version_format(u->before.fw, 0, v, sizeof v);
        snprintf(buf, n, "it keeps running firmware %s until a complete, verified image is committed", v);
    }
    (void)s;
}

/* Errors, not notes: -q does not hide what the unit holds after a failure. */
static int explain(const struct session *s, const struct lsws_upgrade *u, int lrc,
                   const struct lsws_error *err)
{
    char now[128];
    runs_now(s, u, now, sizeof now);
    const char *msg = err->msg[0] ? err->msg : lsws_strerror(lrc);
    int code = lrc > 0 ? EXIT_FAILED : cli_exit_for(lrc);
    switch (u->outcome) {
    case LSWS_UPG_REFUSED:
        if (u->why == LSWS_FW_DOWNGRADE || u->why == LSWS_FW_SAME)
            return cli_fail(EXIT_FAILED, lrc, "cannot upgrade '%s' with '%s': %s; --force installs it anyway", s->uri,
                            image.path, msg);
        cli_fail(code == EXIT_OK ? EXIT_FAILED : code, lrc, "cannot upgrade '%s' with '%s': %s", s->uri, image.path,
                 msg);
        return code == EXIT_OK ? EXIT_FAILED : code;
    case LSWS_UPG_INTERRUPTED:
        if (lrc > 0)
            cli_fail(EXIT_FAILED, LSWS_ERR_IO, "upgrade of '%s' interrupted", s->uri);
        else
            cli_fail(code, lrc, "upgrade of '%s' interrupted: %s", s->uri, msg);
        cli_error(code, "'%s' holds %lu of %lu bytes of the image staged, and %s; run the same command again to resume",
                 s->uri, (unsigned long)u->acked, (unsigned long)u->total, now);
        return lrc > 0 ? EXIT_FAILED : code;
    case LSWS_UPG_CHECKSUM:
        cli_fail(EXIT_VERIFY, lrc, "'%s' verified the whole image and found its checksum wrong: it discarded it and "
                 "committed nothing; %s", s->uri, now);
        return EXIT_VERIFY;
    case LSWS_UPG_NOT_COMMITTED:
        cli_fail(code, lrc, "'%s' verified the image but did not commit it: %s", s->uri, msg);
        cli_error(code, "%s; the image stays staged: the same command again commits it without sending it again", now);
        return code;
    case LSWS_UPG_UNKNOWN:
        cli_fail(EXIT_NODEV, lrc, "cannot tell whether '%s' committed the image: %s", s->uri, msg);
        cli_error(EXIT_NODEV, "it runs the old or the new firmware: check with 'lsws info'");
        return EXIT_NODEV;
    case LSWS_UPG_MISMATCH:
        cli_fail(EXIT_VERIFY, lrc, "%s", msg);
        return EXIT_VERIFY;
    default:
        return cli_fail(code == EXIT_OK ? EXIT_FAILED : code, lrc, "cannot upgrade '%s': %s", s->uri, msg);
    }
}

int cmd_upgrade(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    struct session *s = cli->session;
    struct lsws_upgrade *u = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = load_image(argv[0]); /* the file may have changed since check_upgrade */
    if (rc != EXIT_OK)
        return rc;
    int force = option_given(cli, "force"), dry = option_given(cli, "dry-run");
    int lrc = lsws_upgrade_plan(&s->info, (const uint8_t *)image.data, image.len, force ? LSWS_FW_FORCE : 0, &u,
                                    &err);
    if (!u) {
        rc = cli_fail(EXIT_FAILED, lrc, "'%s': %s (nothing was sent)", image.path, err.msg);
        goto out;
    }
    char from[16], to[16], hw[16];
    lsws_version_format(u->before.fw, 0, from, sizeof from);
    lsws_version_format(u->h.fw, 0, to, sizeof to);
    lsws_version_format(u->before.hw, 1, hw, sizeof hw);
    if (lrc != LSWS_OK) {
        rc = explain(s, u, lrc, &err);
        if (cli->json)
            rc = report(cli, s, u, 0, rc);
        goto out;
    }
    if (u->forced)
        cli_warn(cli, "'%s' runs %s; installing %s anyway (--force)", s->uri, from, to);
    if (dry) {
        rc = report(cli, s, u, 0, EXIT_OK);
        goto out;
    }
    cli_note(cli, "'%s': %s firmware %s, %lu bytes; %s %s (hardware %s) runs %s", image.path, s->model->name, to,
             (unsigned long)u->total, s->model->name, s->info.sn, hw, from);
    if (!cli->deadline_ms)
        lsws_client_set_deadline(s->client, UPGRADE_DEADLINE_MS);
    struct progress p = {.cli = cli, .s = s, .bar = isatty(STDERR_FILENO) && !cli->json && !cli->quiet};
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    /* A signal ignored when lsws started (SIGINT of a script's background
     * job) stays ignored. */
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    if (old_int.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
    if (old_term.sa_handler != SIG_IGN)
        sigaction(SIGTERM, &sa, NULL);
    double t0 = now_s();
    lrc = lsws_upgrade_run(s->client, u, on_progress, &p, &err);
    double secs = now_s() - t0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    end_bar(&p);
    if (u->answer_lost && u->outcome == LSWS_UPG_DONE)
        cli_note(cli, "the answer to the commit was lost; the version the unit reports shows it was committed");
    if (lrc == LSWS_OK) {
        rc = report(cli, s, u, secs, EXIT_OK);
    } else {
        rc = explain(s, u, lrc, &err);
        if (cli->json)
            rc = report(cli, s, u, secs, rc);
    }
out:
    lsws_upgrade_free(u);
    free(image.data);
    image.data = NULL;
    return rc;
}
