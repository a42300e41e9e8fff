/* lsws hold [--idle SECONDS]: keeps the link to -d URI open (an NFC
 * reader's opening is most of a short command's time) and serves the lsws
 * commands that name the same device, one at a time, until Ctrl-C, the idle
 * time, or the link going away (lsws_hold_serve; docs/nfc.md "lsws hold"). */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define HOLD_IDLE_DEFAULT 600
#define HOLD_IDLE_MAX 86400

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* No SA_RESTART: the holder's poll returns at once and it cleans up. */
static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

struct hold_ctx {
    const struct lsws_cli *cli;
    const char *uri;
    int idle_s;
};

static int on_option(const char *name, const char *value, void *arg)
{
    struct hold_ctx *h = arg;
    if (strcmp(name, "idle") == 0) {
        char *end;
        long s = strtol(value, &end, 10);
        if (*end || end == value || s < 0 || s > HOLD_IDLE_MAX)
            return cli_error(EXIT_USAGE, "--idle takes seconds from 0 (no limit) to %d, not '%s'", HOLD_IDLE_MAX,
                             value);
        h->idle_s = (int)s;
    }
    return EXIT_OK;
}

static void ready(void *arg, const char *socket_path)
{
    const struct hold_ctx *h = arg;
    fprintf(stderr, "lsws: holding %s for other lsws commands; socket %s; idle timeout %d s%s\n", h->uri,
            socket_path, h->idle_s, h->idle_s ? "" : " (none)");
}

static void log_line(void *arg, const char *line)
{
    const struct hold_ctx *h = arg;
    if (h->cli->verbose)
        fprintf(stderr, "lsws: hold %s: %s\n", h->uri, line);
}

int cmd_hold(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct hold_ctx h = {cli, cli->device ? cli->device : getenv("LSWS_DEVICE"), HOLD_IDLE_DEFAULT};
    int rc = cli_options(cli, on_option, &h);
    if (rc != EXIT_OK)
        return rc;
    if (!h.uri || !*h.uri)
        return cli_error(EXIT_USAGE, "no device: give -d URI (or set LSWS_DEVICE)");
    struct lsws_uri uri;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_uri_parse(h.uri, &uri, &err);
    if (lrc != LSWS_OK)
        return cli_fail(EXIT_USAGE, lrc, "%s", err.msg);
    catch_signals();
    struct lsws_link_opts link = {.wait_ms = cli->wait_ms, .cancel = &stop};
    struct lsws_hold_opts opts = {.idle_s = h.idle_s, .stop = &stop, .ready = ready, .log = log_line, .ctx = &h};
    lrc = lsws_hold_serve(&uri, &link, &opts, &err);
    if (lrc == LSWS_OK)
        return EXIT_OK;
    /* As a session's link, but the holder's own place (its directory,
     * socket, lock) failing is no unavailable device. */
    return cli_fail(lrc == LSWS_ERR_IO ? EXIT_FAILED : session_open_exit(lrc), lrc, "%s", err.msg);
}
