/* lsws list (and lsws alone): the devices every transport can see, each
 * identified. Serial ports are probed with one short IDENTIFY. */
#include "cli.h"

#include <string.h>

#include "transport.h"

#define PROBE_TIMEOUT_MS 300

struct list_ctx {
    struct lsws_cli *cli;
    struct cli_record *table;
};

static void found(const char *uri, void *arg)
{
    struct list_ctx *ctx = arg;
    const char *rest;
    const struct lsws_transport *t = lsws_transport_for(uri, &rest);
    struct lsws_client *c = NULL;
    struct lsws_device_info info;
    struct lsws_error err;
    struct lsws_link_opts opts = {.trace = ctx->cli->trace};
    lsws_error_clear(&err);
    if (!t || lsws_client_open(t, rest, &opts, &c, &err) != LSWS_OK)
        return;
    lsws_client_set_timeout(c, PROBE_TIMEOUT_MS, 1);
    int rc = lsws_client_identify(c, &info, &err);
    lsws_client_close(c);
    if (rc != LSWS_OK)
        return; /* not one of ours: stay quiet, as lsusb does for other buses */
    char fw[16];
    lsws_version_format(info.fw, 0, fw, sizeof fw);
    struct cli_record *row = cli_table_row(ctx->table);
    cli_put_str(row, "device", uri);
    cli_put_str(row, "model", lsws_model_get(info.model)->name);
    cli_put_str(row, "sn", info.sn);
    cli_put_str(row, "firmware_version", fw);
    cli_put_str(row, "band", lsws_band_at(info.band)->name);
}

int cmd_list(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    struct list_ctx ctx = {.cli = cli, .table = cli_table_new()};
    for (const struct lsws_transport *const *t = lsws_transports; *t; t++)
        if ((*t)->list)
            (*t)->list(found, &ctx);
    return cli_print(cli, ctx.table, 0);
}
