/* lsws time sync [--at UNIX] [--tz OFFSET]: set a CTH01's clock and time
 * zone, as ToolBox's sync button does (CTH01 guide, Synchronize Device Time). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct time_opts {
    const char *at, *tz;
};

static int on_option(const char *name, const char *value, void *ctx)
{
    struct time_opts *o = ctx;
    if (strcmp(name, "at") == 0)
        o->at = value;
    else if (strcmp(name, "tz") == 0)
        o->tz = value;
    return EXIT_OK;
}

/* The time and zone to set, from the options or the computer. The offset
 * follows the model's time.zone rules (CTH01 c7: UTC-12..+14). */
static int time_args(int argc, char **argv, const struct lsws_cli *cli, time_t *now, struct lsws_value *tz)
{
    struct time_opts o = {0};
    int rc = cli_options(cli, on_option, &o);
    if (rc != EXIT_OK)
        return rc;
    if (argc != 1 || strcmp(argv[0], "sync") != 0)
        return cli_error(EXIT_USAGE, "usage: lsws time sync [--at UNIX] [--tz OFFSET]");
    *now = time(NULL);
    if (o.at) {
        char *end;
        long long t = strtoll(o.at, &end, 10);
        if (*end || t < 0 || t > 0xffffffffLL)
            return cli_error(EXIT_USAGE, "--at takes Unix seconds from 0 to 4294967295, not '%s'", o.at);
        *now = (time_t)t;
    }
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    int tz_idx = lsws_model_find(m, "time.zone");
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(tz, 0, sizeof *tz);
    if (o.tz) {
        if (lsws_value_parse(m, (size_t)tz_idx, o.tz, tz, &err) != LSWS_OK)
            return cli_fail(EXIT_USAGE, err.code, "--tz: %s", err.msg);
    } else {
        struct tm tm;
        localtime_r(now, &tm);
        tz->num = tm.tm_gmtoff / 60;
    }
    return EXIT_OK;
}

/* Before the session opens: the subcommand and the options. */
int check_time(int argc, char **argv, struct lsws_cli *cli)
{
    time_t now;
    struct lsws_value tz;
    return time_args(argc, argv, cli, &now, &tz);
}

int cmd_time(int argc, char **argv, struct lsws_cli *cli)
{
    struct session *s = cli->session;
    time_t now;
    struct lsws_value tz;
    int rc = time_args(argc, argv, cli, &now, &tz);
    if (rc != EXIT_OK)
        return rc;
    struct lsws_error err;
    lsws_error_clear(&err);
    int lrc = lsws_client_time_sync(s->client, (uint32_t)now, (int16_t)tz.num, &err);
    if (lrc == LSWS_ERR_UNSUPPORTED)
        return cli_fail(EXIT_FAILED, lrc, "'%s' is a %s: it keeps no clock to sync (time sync is for the CTH01)",
                        s->uri, s->model->name);
    if (lrc != LSWS_OK)
        return session_fail(s, "cannot sync the time of", lrc, &err);
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    char when[48];
    cli_format_time(now, (int)tz.num, when, sizeof when);
    struct cli_record *r = cli_record_new();
    cli_put_str(r, "device", s->uri);
    cli_field_json_only(r);
    cli_put_time(r, "time", now, (int)tz.num);
    cli_field_json_only(r);
    cli_put_setting(r, "time_zone", m, (size_t)lsws_model_find(m, "time.zone"), &tz, 0);
    cli_field_json_only(r);
    cli_put_line(r, "%s %s clock set to %s", s->model->name, s->info.sn, when);
    return cli_print(cli, r, 0);
}
