/* The in-process `sim:` transport: a simulated device (sim/) linked into
 * lsws itself, the embedded default that needs no hardware.
 *   sim:ws523 | sim:cth01 [?state=FILE&band=B&sn=SN&max_msg=N&<fault>=...]
 *   [&history_records=N&history_start=T] (CTH01 stored history, docs/simulator.md)
 * With LSWS_SIM_DIR, discovery finds every state file in that directory
 * (a fleet of units). Without state=, the device keeps its state in the user's state directory
 * ($XDG_STATE_HOME/lsws, else ~/.local/state/lsws), one file per model, so
 * a write survives between runs as it would on a real unit. Faults are the
 * simulator's (sim/sim.h); with no framing in-process, a corrupted frame is
 * one the link CRC would reject, so it reaches the client as a loss. */
#include "transport.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

/* Answers on their way: a client may have several requests in flight (a
 * history export's pages); each answer arrives at its own time, the
 * earliest first, as on a real link. */
#define SIM_IN_FLIGHT 8

struct sim_link {
    struct lsws_sim *sim;
    struct lsws_sim_faults faults;
    unsigned frames;          /* requests received */
    struct {
        uint8_t b[LSWS_MSG_MAX];
        size_t len;           /* 0: a free slot */
        double at;            /* when it arrives, ms, monotonic */
    } q[SIM_IN_FLIGHT];
    double busy_until;        /* link_bps: the link carries one answer after the other */
    unsigned long sent, received;
    int closed;
    struct lsws_link_opts opts;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Default state file for a model: <state dir>/sim-MODEL.json. */
static int default_state(const char *model, char *buf, size_t n, struct lsws_error *err)
{
    char dir[900];
    int rc = lsws_state_dir(NULL, dir, sizeof dir, err);
    if (rc == LSWS_OK && snprintf(buf, n, "%s/sim-%s.json", dir, model) >= (int)n)
        rc = lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "state file path too long");
    return rc;
}

static const char *const fault_options[] = {"drop", "corrupt", "delay", "delay_ms", "refuse", "refuse_status",
                                            "disconnect_after", "link_bps", "latency_ms", "fw_bad_checksum",
                                            "fw_refuse_commit", "fw_drop_at", "fw_corrupt", NULL};
static const char *const sim_options[] = {"state", "band", "sn", "max_msg", "drop", "corrupt", "delay", "delay_ms",
                                          "refuse", "refuse_status", "disconnect_after", "link_bps", "latency_ms",
                                          "fw_bad_checksum", "fw_refuse_commit", "fw_drop_at", "fw_corrupt",
                                          "history_records", "history_start", NULL};

static int is_fault_option(const char *name)
{
    for (const char *const *n = fault_options; *n; n++)
        if (strcmp(*n, name) == 0)
            return 1;
    return 0;
}

/* uri: "sim:ws523?state=/tmp/x.json&drop=3" (option names checked by lsws_uri_parse). */
static int sim_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h, struct lsws_error *err)
{
    char state[1024];
    const struct lsws_model *model = lsws_model_by_name(uri->path);
    if (!model)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "invalid URI '%s': no simulated device '%s' (sim:ws523 or "
                         "sim:cth01)", uri->text, uri->path);
    struct sim_link *link = calloc(1, sizeof *link);
    if (!link)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    struct lsws_sim_opts so = {.model = model->id, .state_path = lsws_uri_opt(uri, "state"),
                               .band = lsws_uri_opt(uri, "band"), .sn = lsws_uri_opt(uri, "sn")};
    int rc = LSWS_OK;
    for (size_t i = 0; i < uri->n_opt && rc == LSWS_OK; i++)
        if (is_fault_option(uri->opt[i].name) &&
            (rc = lsws_sim_fault_option(&link->faults, uri->opt[i].name, uri->opt[i].value, err)) != LSWS_OK)
            rc = LSWS_ERR_INVALID; /* a bad option value is bad input */
    const char *max = lsws_uri_opt(uri, "max_msg");
    if (rc == LSWS_OK && max && lsws_sim_parse_max_msg(max, &so.max_msg, err) != LSWS_OK)
        rc = LSWS_ERR_INVALID;
    for (size_t i = 0; i < uri->n_opt && rc == LSWS_OK; i++)
        if (strncmp(uri->opt[i].name, "history_", 8) == 0 &&
            lsws_sim_parse_history(&so, uri->opt[i].name, uri->opt[i].value, err) != LSWS_OK)
            rc = LSWS_ERR_INVALID;
    if (rc == LSWS_OK && !so.state_path && (rc = default_state(model->name, state, sizeof state, err)) == LSWS_OK)
        so.state_path = state;
    if (rc == LSWS_OK)
        rc = lsws_sim_new(&so, &link->sim, err);
    if (rc != LSWS_OK) {
        free(link);
        return rc;
    }
    if (opts)
        link->opts = *opts;
    *h = link;
    return LSWS_OK;
}

static void sim_close(void *h)
{
    struct sim_link *link = h;
    lsws_sim_disconnect(link->sim);
    lsws_sim_free(link->sim);
    free(link);
}

static int sim_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    struct sim_link *link = h;
    struct lsws_sim_faults *f = &link->faults;
    if (link->closed)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "sim: link closed");
    if (link->opts.trace)
        link->opts.trace(link->opts.trace_ctx, '>', msg, len, NULL);
    link->sent += len;
    unsigned n = ++link->frames;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    /* A free slot, else the one that has waited longest (an answer nobody reads). */
    size_t slot = 0;
    for (size_t i = 0; i < SIM_IN_FLIGHT; i++) {
        if (!link->q[i].len) {
            slot = i;
            break;
        }
        if (link->q[i].at < link->q[slot].at)
            slot = i;
    }
    link->q[slot].len = 0;
    size_t rlen = 0;
    /* The same fault semantics as lsws-sim on a pty (sim/sim.h). With no
     * framing in-process, a corrupted answer is one the link CRC rejects:
     * to the client it is lost. */
    unsigned what = lsws_sim_serve(link->sim, f, n, msg, len, link->q[slot].b, sizeof link->q[slot].b, &rlen, now);
    if (what & LSWS_SIM_HANGUP) { /* the device dropped the link (fw_drop_at) */
        link->closed = 1;
        lsws_sim_disconnect(link->sim);
        return LSWS_OK;
    }
    if (what & (LSWS_SIM_DROPPED | LSWS_SIM_CORRUPTED) || !rlen)
        return LSWS_OK;
    double delay = f->latency_ms + ((what & LSWS_SIM_DELAYED) ? f->delay_ms : 0), t = now_ms();
    if (f->link_bps) {
        double start = link->busy_until > t ? link->busy_until : t;
        link->busy_until = start + (len + rlen) * 1000.0 / f->link_bps;
        delay += link->busy_until - t;
    }
    link->q[slot].len = rlen;
    link->q[slot].at = t + delay;
    return LSWS_OK;
}

static int sim_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    struct sim_link *link = h;
    double deadline = now_ms() + timeout_ms;
    if (link->closed)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "sim: link closed");
    size_t next = SIM_IN_FLIGHT;
    for (size_t i = 0; i < SIM_IN_FLIGHT; i++)
        if (link->q[i].len && (next == SIM_IN_FLIGHT || link->q[i].at < link->q[next].at))
            next = i;
    if (next == SIM_IN_FLIGHT || link->q[next].at > deadline) {
        sleep_ms(deadline - now_ms());
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "sim: no answer within %d ms", timeout_ms);
    }
    sleep_ms(link->q[next].at - now_ms());
    size_t rlen = link->q[next].len;
    if (link->faults.disconnect_after && link->received + rlen > link->faults.disconnect_after) {
        link->closed = 1;
        lsws_sim_disconnect(link->sim);
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "sim: link closed after %lu bytes", link->received);
    }
    if (rlen > cap)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "sim: response larger than the buffer");
    memcpy(buf, link->q[next].b, rlen);
    *len = rlen;
    link->received += rlen;
    link->q[next].len = 0;
    if (link->opts.trace)
        link->opts.trace(link->opts.trace_ctx, '<', buf, *len, NULL);
    return LSWS_OK;
}

/* A fleet of simulated units: with LSWS_SIM_DIR set, every state file
 * DIR/NAME.json is a unit, found as sim:MODEL?state=DIR/NAME.json, in name
 * order (docs/simulator.md). Files that are not state files are left out. */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int discover_dir(const char *dir, lsws_found_fn *found, void *ctx, struct lsws_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "LSWS_SIM_DIR '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = LSWS_OK;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 ||
            strpbrk(de->d_name, "?&=%"))
            continue;
        if (n == cap) {
            char **more = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
            if (!more) {
                rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
                break;
            }
            names = more;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == LSWS_OK && n) /* names is NULL in an empty directory */
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n && rc == LSWS_OK; i++) {
        struct lsws_found dev = {.rssi = LSWS_FOUND_NO_RSSI, .model = -1};
        char path[900];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        json_t *root = json_load_file(path, 0, NULL);
        json_t *model = json_object_get(root, "model"), *sn = json_object_get(root, "sn");
        const struct lsws_model *m = json_is_string(model) ? lsws_model_by_name(json_string_value(model)) : NULL;
        if (m && json_is_integer(json_object_get(root, "lsws_sim_state")) && json_is_string(sn)) {
            snprintf(dev.uri, sizeof dev.uri, "sim:%s?state=%s", m->name, path);
            dev.model = (int)m->id;
            snprintf(dev.sn, sizeof dev.sn, "%s", json_string_value(sn));
            snprintf(dev.name, sizeof dev.name, "%s", names[i]);
            if (found(&dev, ctx))
                i = n;
        }
        json_decref(root);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* The simulated units of each model, as they are now (from their state
 * files): their identity is known without a radio exchange. */
static int sim_discover(int timeout_ms, lsws_found_fn *found, void *ctx, struct lsws_error *err)
{
    (void)timeout_ms;
    const char *dir = getenv("LSWS_SIM_DIR");
    if (dir && *dir)
        return discover_dir(dir, found, ctx, err);
    static const char *const models[] = {"ws523", "cth01"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        struct lsws_found dev = {.rssi = LSWS_FOUND_NO_RSSI, .model = -1};
        char state[1024];
        struct lsws_sim *sim = NULL;
        struct lsws_sim_opts so = {.model = lsws_model_by_name(models[i])->id, .state_path = state};
        snprintf(dev.uri, sizeof dev.uri, "sim:%s", models[i]);
        if (default_state(models[i], state, sizeof state, err) == LSWS_OK && lsws_sim_new(&so, &sim, err) == LSWS_OK) {
            struct lsws_device_info info;
            lsws_sim_info(sim, &info);
            snprintf(dev.name, sizeof dev.name, "%s", lsws_sim_name(sim));
            dev.model = (int)info.model;
            memcpy(dev.sn, info.sn, sizeof dev.sn);
            lsws_sim_free(sim);
        }
        if (found(&dev, ctx))
            break;
    }
    return LSWS_OK;
}

static void sim_wire_bytes(void *h, unsigned long *sent, unsigned long *received)
{
    const struct sim_link *link = h;
    *sent = link->sent;
    *received = link->received;
}

const struct lsws_transport lsws_transport_sim = {
    .scheme = "sim",
    .help = "sim:ws523|cth01[?state=FILE&band=BAND&sn=SN&max_msg=N&FAULT=N]",
    .open = sim_open,
    .close = sim_close,
    .send = sim_send,
    .recv = sim_recv,
    .options = sim_options,
    .flags = LSWS_TRANSPORT_PROBE, /* in-process: identifying costs nothing */
    .discover = sim_discover,
    .wire_bytes = sim_wire_bytes,
    .timeout_ms = 1000,
};
