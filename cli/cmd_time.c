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

int cmd_time(int argc, char **argv, struct lsws_cli *cli)
{
    struct time_opts o = {0};
    int first;
    int rc = cli_parse(cli_find_command("time"), cli, argc, argv, &first, on_option, &o);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (first >= argc || strcmp(argv[first], "sync") != 0 || first + 1 < argc)
        return cli_error(EXIT_USAGE, "usage: lsws time sync [--at UNIX] [--tz OFFSET]");
    time_t now = time(NULL);
    if (o.at) {
        char *end;
        long long t = strtoll(o.at, &end, 10);
        if (*end || t < 0 || t > 0xffffffffLL)
            return cli_error(EXIT_USAGE, "--at takes Unix seconds, not '%s'", o.at);
        now = (time_t)t;
    }
    /* The offset uses the model's time.zone rules (CTH01 c7: UTC-12..+14). */
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    int tz_idx = lsws_model_find(m, "time.zone");
    struct lsws_value tz = {0};
    struct lsws_error err;
    lsws_error_clear(&err);
    if (o.tz) {
        if (lsws_value_parse(m, (size_t)tz_idx, o.tz, &tz, &err) != LSWS_OK)
            return cli_error(EXIT_USAGE, "--tz: %s", err.msg);
    } else {
        struct tm tm;
        localtime_r(&now, &tm);
        tz.num = tm.tm_gmtoff / 60;
    }
    struct session s;
    if ((rc = session_open(cli, &s, 1)) != EXIT_OK)
        return rc;
    int lrc = lsws_client_time_sync(s.client, (uint32_t)now, (int16_t)tz.num, &err);
    char tz_text[32];
    lsws_value_format(m, (size_t)tz_idx, &tz, tz_text, sizeof tz_text);
    if (lrc == LSWS_ERR_UNSUPPORTED)
        rc = cli_error(EXIT_FAILED, "'%s' is a %s: it keeps no clock to sync (time sync is for the CTH01)", s.uri,
                       s.model->name);
    else if (lrc != LSWS_OK)
        rc = session_fail(&s, "cannot sync the time of", lrc, &err);
    else if (cli->json)
        cli_print_json(json_pack("{s:s, s:I, s:s}", "device", s.uri, "time", (json_int_t)now, "time_zone", tz_text));
    else
        printf("%s %s clock set to %lld (%s)\n", s.model->name, s.info.sn, (long long)now, tz_text);
    session_close(&s);
    return rc;
}
