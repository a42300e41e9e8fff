/* lsws firmware info FILE: what a firmware image's header says, and whether
 * the image holds together (lsws_fw_image_check: header checksum, length,
 * CRC-32 and SHA-256 of the payload). No device. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int check_firmware(int argc, char **argv, struct lsws_cli *cli)
{
    (void)cli;
    if (argc == 0)
        return cli_error(EXIT_USAGE, "firmware needs a subcommand: info FILE");
    if (strcmp(argv[0], "info") != 0) {
        static const char *const subs[] = {"info"};
        char hint[200];
        cli_suggest(argv[0], subs, 1, hint, sizeof hint);
        return cli_error(EXIT_USAGE, "'%s' is not a firmware subcommand (info)%s", argv[0], hint);
    }
    if (argc != 2)
        return cli_error(EXIT_USAGE, "firmware info takes one FILE");
    return EXIT_OK;
}

/* Fields of a header, for `firmware info` and `upgrade` alike. */
void cli_put_fw_header(struct cli_record *r, const struct lsws_fw_header *h)
{
    char lo[16], hi[16], fw[16], sha[65], crc[16];
    lsws_version_format(h->hw_min, 1, lo, sizeof lo);
    lsws_version_format(h->hw_max, 1, hi, sizeof hi);
    lsws_version_format(h->fw, 0, fw, sizeof fw);
    lsws_hex_format(h->sha256, 32, sha);
    snprintf(crc, sizeof crc, "%08lx", (unsigned long)h->crc32);
    cli_put_str(r, "model", lsws_model_get(h->model)->name);
    cli_put_str(r, "firmware_version", fw);
    cli_put_str(r, "hardware_min", lo);
    if (h->hw_min == h->hw_max)
        cli_field_text(r, "%s (only)", lo);
    cli_put_str(r, "hardware_max", hi);
    cli_put_int(r, "payload_length", h->payload_len);
    cli_field_text(r, "%lu bytes", (unsigned long)h->payload_len);
    cli_put_str(r, "crc32", crc);
    cli_put_str(r, "sha256", sha);
    if (h->build_time)
        cli_put_time(r, "build_time", h->build_time, 0);
    else
        cli_put_known(r, "build_time", NULL);
    cli_put_str(r, "name", h->name);
    cli_put_int(r, "header_version", h->header_version);
}

int cmd_firmware(int argc, char **argv, struct lsws_cli *cli)
{
    (void)argc;
    const char *path = argv[1];
    char *data;
    size_t len;
    int rc = cli_read_file(path, LSWS_FW_HEADER_LEN + LSWS_FW_PAYLOAD_MAX, &data, &len);
    if (rc != EXIT_OK)
        return rc;
    struct lsws_fw_header h;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_fw_image_check((const uint8_t *)data, len, &h, &err);
    free(data);
    if (lrc != LSWS_OK && !h.header_version) /* the header itself does not parse */
        return cli_fail(EXIT_FAILED, lrc, "'%s': %s (byte %zu)", path, err.msg, err.offset);
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "file", path);
    cli_put_fw_header(r, &h);
    cli_put_bool(r, "valid", lrc == LSWS_OK);
    if (lrc == LSWS_OK)
        cli_field_text(r, "yes (header checksum, length, CRC-32 and SHA-256 checked)");
    else
        cli_field_text(r, "no");
    rc = cli_print(cli, r, 0);
    if (lrc != LSWS_OK)
        return cli_fail(EXIT_FAILED, lrc, "'%s': %s", path, err.msg);
    return rc;
}
