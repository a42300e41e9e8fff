/* lsws info: what the device says it is (IDENTIFY needs no password). */
#include "cli.h"

#include <time.h>

int cmd_info(int argc, char **argv, struct lsws_cli *cli)
{
    int first;
    int rc = cli_parse(cli_find_command("info"), cli, argc, argv, &first, NULL, NULL);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first < argc)
        return cli_error(EXIT_USAGE, "info takes no arguments");
    struct session s;
    if ((rc = session_open(cli, &s, 0)) != EXIT_OK)
        return rc;
    const struct lsws_device_info *in = &s.info;
    char eui[17], hw[16], fw[16], when[32] = "";
    lsws_hex_format(in->dev_eui, 8, eui);
    lsws_version_format(in->hw, 1, hw, sizeof hw);
    lsws_version_format(in->fw, 0, fw, sizeof fw);
    if (in->time) {
        time_t t = (time_t)in->time;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    const char *band = lsws_band_at(in->band)->name;
    int def = !!(in->flags & LSWS_INFO_DEFAULT_PASSWORD);
    if (cli->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b}", "device", s.uri, "model",
                              s.model->name, "sn", in->sn, "dev_eui", eui, "hardware_version", hw,
                              "firmware_version", fw, "band", band, "protocol_version", in->proto,
                              "default_password", def);
        if (in->time) {
            json_object_set_new(o, "time", json_string(when));
            json_object_set_new(o, "tz_minutes", json_integer(in->tz_minutes));
        }
        cli_print_json(o);
    } else {
        printf("device            %s\nmodel             %s (%s)\nsn                %s\ndev_eui           %s\n"
               "hardware_version  %s\nfirmware_version  %s\nband              %s\nprotocol_version  %u\n"
               "default_password  %s\n",
               s.uri, s.model->name, s.model->title, in->sn, eui, hw, fw, band, in->proto, def ? "yes" : "no");
        if (in->time)
            printf("time              %s (UTC%+d min)\n", when, in->tz_minutes);
    }
    session_close(&s);
    return EXIT_OK;
}
