/* lsws list (and lsws alone): the devices every transport can see, each
 * identified. Serial ports are probed with one short IDENTIFY. */
#include "cli.h"

#include <string.h>

#include "transport.h"

#define PROBE_TIMEOUT_MS 300

struct list_ctx {
    struct lsws_cli *cli;
    json_t *json;
    int shown;
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
    const struct lsws_model *m = lsws_model_get(info.model);
    const struct lsws_band *band = lsws_band_at(info.band);
    char fw[16];
    lsws_version_format(info.fw, 0, fw, sizeof fw);
    if (ctx->json) {
        json_array_append_new(ctx->json, json_pack("{s:s, s:s, s:s, s:s, s:s}", "device", uri, "model", m->name,
                                                   "sn", info.sn, "firmware_version", fw, "band", band->name));
    } else {
        if (!ctx->shown++)
            printf("%-28s %-6s %-17s %-8s %s\n", "DEVICE", "MODEL", "SN", "FIRMWARE", "BAND");
        printf("%-28s %-6s %-17s %-8s %s\n", uri, m->name, info.sn, fw, band->name);
    }
}

int cmd_list(int argc, char **argv, struct lsws_cli *cli)
{
    int first;
    int rc = cli_parse(cli_find_command("list"), cli, argc, argv, &first, NULL, NULL);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first < argc)
        return cli_error(EXIT_USAGE, "list takes no arguments");
    struct list_ctx ctx = {.cli = cli, .json = cli->json ? json_array() : NULL};
    for (const struct lsws_transport *const *t = lsws_transports; *t; t++)
        if ((*t)->list)
            (*t)->list(found, &ctx);
    if (ctx.json) {
        cli_print_json(ctx.json);
    }
    return EXIT_OK;
}
