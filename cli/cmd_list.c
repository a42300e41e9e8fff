/* lsws list (and lsws alone): the devices every transport can see. Each
 * transport's discovery finds them without connecting; those whose
 * transport says so (serial ports, the simulator) are then identified with
 * one short IDENTIFY. A transport whose scan is intrusive is not scanned.
 * --ble scans Bluetooth LE alone (for --scan-time seconds), and then a
 * machine without Bluetooth is an error; otherwise it is quietly skipped.
 * --identify connects to the others too (a BLE hub takes one client, so
 * not by default: a sweep must not lock a technician's phone out). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define PROBE_TIMEOUT_MS 300
#define SCAN_TIMEOUT_MS 2000

/* What discovery found, kept until every scan is over: a BLE hub is
 * connected to (--identify) only once the adapter has stopped scanning. */
struct list_ctx {
    struct lsws_cli *cli;
    const struct lsws_transport *t;
    struct cli_record *table;
    int identify;
};

/* IDENTIFY over a fresh session: model, SN, versions. 0 if not one of ours. */
static int probe(struct list_ctx *ctx, const char *uri_text, struct lsws_device_info *info)
{
    struct lsws_uri uri;
    struct lsws_client *c = NULL;
    struct lsws_link_opts opts = {.trace = ctx->cli->trace ? cli_trace : NULL};
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_uri_parse(uri_text, &uri, &err) != LSWS_OK || lsws_client_open(&uri, &opts, &c, &err) != LSWS_OK) {
        if (ctx->identify)
            cli_warn(ctx->cli, "%s: %s", uri_text, err.msg);
        return 0;
    }
    lsws_client_set_timeout(c, PROBE_TIMEOUT_MS, 1);
    int rc = lsws_client_identify(c, info, &err);
    lsws_client_close(c);
    if (rc != LSWS_OK && ctx->identify)
        cli_warn(ctx->cli, "%s: %s", uri_text, err.msg);
    return rc == LSWS_OK;
}

static int found(const struct lsws_found *dev, void *arg)
{
    struct list_ctx *ctx = arg;
    struct lsws_device_info info;
    const char *model = dev->model >= 0 ? lsws_model_get((enum lsws_model_id)dev->model)->name : NULL;
    const char *sn = dev->sn, *band = NULL;
    char fw[16] = "";
    int identified = 0;
    if (ctx->t->flags & LSWS_TRANSPORT_PROBE) {
        if (!probe(ctx, dev->uri, &info))
            return 0; /* not one of ours: stay quiet, as lsusb does for other buses */
        identified = 1;
    } else if (ctx->identify) {
        identified = probe(ctx, dev->uri, &info); /* one of ours by its name: listed even if it did not answer */
    }
    if (identified) {
        model = lsws_model_get(info.model)->name;
        sn = info.sn;
        band = lsws_band_at(info.band)->name;
        lsws_version_format(info.fw, 0, fw, sizeof fw);
    }
    struct cli_record *row = cli_table_row(ctx->table);
    cli_put_str(row, "device", dev->uri);
    cli_put_known(row, "model", model);
    cli_put_known(row, "sn", sn);
    cli_put_known(row, "firmware_version", fw);
    cli_put_known(row, "band", band);
    if (dev->rssi != LSWS_FOUND_NO_RSSI)
        cli_put_int(row, "rssi", dev->rssi);
    else
        cli_put_known(row, "rssi", NULL);
    cli_put_known(row, "name", dev->name);
    cli_put_str(row, "transport", ctx->t->scheme);
    cli_field_json_only(row);
    cli_put_known(row, "address", dev->address);
    cli_field_json_only(row);
    return 0;
}

/* Discovery's records, copied: identified after the scan that found them. */
struct found_list {
    struct lsws_found *v;
    size_t n, cap;
};

static int keep(const struct lsws_found *dev, void *arg)
{
    struct found_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct lsws_found *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return 1; /* out of memory: stop the scan with what it found */
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *dev;
    return 0;
}

struct list_opts {
    int ble;
    int identify;
    int scan_ms;
};

static int list_option(const char *name, const char *value, void *arg)
{
    struct list_opts *o = arg;
    if (strcmp(name, "ble") == 0) {
        o->ble = 1;
    } else if (strcmp(name, "identify") == 0) {
        o->identify = 1;
    } else if (strcmp(name, "scan-time") == 0) {
        char *end;
        long s = strtol(value, &end, 10);
        if (!*value || *end || s < 1 || s > 600)
            return cli_error(EXIT_USAGE, "--scan-time takes seconds from 1 to 600, not '%s'", value);
        o->scan_ms = (int)s * 1000;
    }
    return EXIT_OK;
}

int cmd_list(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct list_opts lo = {.scan_ms = SCAN_TIMEOUT_MS};
    int rc = cli_options(cli, list_option, &lo);
    if (rc != EXIT_OK)
        return rc;
    if (lo.ble && !lsws_transport_find("ble"))
        return cli_error(EXIT_USAGE, "this lsws was built without Bluetooth LE (--ble)");
    struct list_ctx ctx = {.cli = cli, .table = cli_table_new(), .identify = lo.identify};
    for (size_t i = 0; (ctx.t = lsws_transport_at(i)); i++) {
        struct lsws_error err;
        lsws_error_clear(&err);
        int is_ble = strcmp(ctx.t->scheme, "ble") == 0;
        if (!ctx.t->discover || (ctx.t->flags & LSWS_TRANSPORT_SCAN_INTRUSIVE) || (lo.ble && !is_ble))
            continue;
        struct found_list fl = {0};
        rc = ctx.t->discover(is_ble ? lo.scan_ms : SCAN_TIMEOUT_MS, keep, &fl, &err);
        for (size_t k = 0; k < fl.n; k++)
            found(&fl.v[k], &ctx);
        free(fl.v);
        if (rc != LSWS_OK && lo.ble) {
            cli_record_free(ctx.table);
            return cli_fail(cli_exit_for(rc) == EXIT_FAILED ? EXIT_NODEV : cli_exit_for(rc), rc, "%s", err.msg);
        }
        /* No bluetoothd, no adapter: nothing to list there, as lsusb says nothing of a bus it lacks. */
        if (rc != LSWS_OK && !(is_ble && rc == LSWS_ERR_NODEV))
            cli_warn(cli, "cannot scan %s: %s", ctx.t->scheme, err.msg);
    }
    return cli_print(cli, ctx.table, 0);
}
