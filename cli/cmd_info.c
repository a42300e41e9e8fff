/* lsws info: what the device says it is (IDENTIFY needs no password). */
#include "cli.h"

int cmd_info(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    (void)argv;
    const struct session *s = cli->session;
    const struct lsws_device_info *in = &s->info;
    char eui[17], hw[16], fw[16];
    lsws_hex_format(in->dev_eui, 8, eui);
    lsws_version_format(in->hw, 1, hw, sizeof hw);
    lsws_version_format(in->fw, 0, fw, sizeof fw);
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_put_str(r, "model", s->model->name);
    cli_field_text(r, "%s (%s)", s->model->name, s->model->title);
    cli_put_str(r, "sn", in->sn);
    cli_put_str(r, "dev_eui", eui);
    cli_put_str(r, "hardware_version", hw);
    cli_put_str(r, "firmware_version", fw);
    cli_put_str(r, "band", lsws_band_at(in->band)->name);
    cli_put_int(r, "protocol_version", in->proto);
    cli_put_bool(r, "default_password", !!(in->flags & LSWS_INFO_DEFAULT_PASSWORD));
    int tz = lsws_model_find(s->model, "time.zone");
    if (in->time && tz >= 0) {
        /* The device's clock in its own time zone, written as time.zone is. */
        struct lsws_value zone = {.num = in->tz_minutes};
        char zone_text[32];
        lsws_value_format(s->model, (size_t)tz, &zone, zone_text, sizeof zone_text);
        cli_put_time(r, "time", in->time, in->tz_minutes);
        cli_put_str(r, "time_zone", zone_text);
    }
    return cli_print(cli, r, 0);
}
