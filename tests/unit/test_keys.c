/* Keys for people: exact keys before patterns, "did you mean", and
 * KEY=VALUE assignments (given twice, checked against every model). */
#include "test_util.h"

static size_t count(const uint8_t *hit, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += hit[i];
    return c;
}

static void exact_key_wins_over_glob(void **state)
{
    (void)state;
    static const struct {
        enum lsws_model_id model;
        const char *pattern;
        size_t hits;
        const char *first; /* the first key selected, or NULL */
    } cases[] = {
        /* fnmatch reads "[1]" as a class matching "1": the exact key must still match. */
        {LSWS_MODEL_CTH01, "interface.current[1].range", 1, "interface.current[1].range"},
        {LSWS_MODEL_CTH01, "alarm.current[5].max", 1, "alarm.current[5].max"},
        {LSWS_MODEL_CTH01, "interface.group[a].type", 1, "interface.group[a].type"},
        {LSWS_MODEL_WS523, "d2d.rule[16].action", 1, "d2d.rule[16].action"},
        {LSWS_MODEL_CTH01, "alarm.current\\[1?\\].max", 3, "alarm.current[10].max"},
        {LSWS_MODEL_CTH01, "interface.current*", 24, "interface.current[1].direction"},
        {LSWS_MODEL_WS523, "general.*", 10, "general.report_interval"},
        {LSWS_MODEL_WS523, "general.led", 1, "general.led"},
        {LSWS_MODEL_WS523, "alarm.current[5].max", 0, NULL},
        {LSWS_MODEL_WS523, "general.lde", 0, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct lsws_model *m = lsws_model_get(cases[c].model);
        uint8_t hit[512] = {0};
        assert_true(m->n_settings <= sizeof hit);
        size_t n = lsws_model_match(m, cases[c].pattern, hit);
        if (n != cases[c].hits || count(hit, m->n_settings) != n)
            fail_msg("%s: %zu hits, want %zu", cases[c].pattern, n, cases[c].hits);
        for (size_t i = 0; i < m->n_settings && cases[c].first; i++)
            if (hit[i]) {
                assert_string_equal(m->settings[i].key, cases[c].first);
                break;
            }
    }
}

static void edit_distance(void **state)
{
    (void)state;
    assert_int_equal(lsws_edit_distance("status", "status"), 0);
    assert_int_equal(lsws_edit_distance("stauts", "status"), 1); /* a transposition is one typo */
    assert_int_equal(lsws_edit_distance("gett", "get"), 1);
    assert_int_equal(lsws_edit_distance("GET", "get"), 0);
    assert_int_equal(lsws_edit_distance("", "abc"), 3);
    assert_int_equal(lsws_edit_distance("kitten", "sitting"), 3);
}

static void suggestions(void **state)
{
    (void)state;
    static const char *const commands[] = {"decode", "encode", "template", "keys", "list", "info",
                                           "get", "set", "reset", "reboot", "password", "time", "help"};
    const size_t n = sizeof commands / sizeof commands[0];
    const char *out[LSWS_SUGGEST_MAX];
    char text[200];
    assert_int_equal(lsws_suggest("templat", commands, n, out, LSWS_SUGGEST_MAX), 1);
    assert_string_equal(out[0], "template");
    assert_int_equal(lsws_suggest("frobnicate", commands, n, out, LSWS_SUGGEST_MAX), 0);
    /* Equally near: all of them, at most LSWS_SUGGEST_MAX. */
    size_t k = lsws_suggest("xet", commands, n, out, LSWS_SUGGEST_MAX);
    assert_int_equal(k, 2);
    lsws_suggest_format(out, k, text, sizeof text);
    assert_string_equal(text, "did you mean 'get' or 'set'?");
    lsws_suggest_format(out, 0, text, sizeof text);
    assert_string_equal(text, "");

    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    assert_int_equal(lsws_model_suggest(m, "general.report_intervall", out, LSWS_SUGGEST_MAX), 1);
    assert_string_equal(out[0], "general.report_interval");
    assert_int_equal(lsws_model_suggest(m, "Alarm.Interval", out, LSWS_SUGGEST_MAX), 1);
    assert_string_equal(out[0], "alarm.interval");
    assert_int_equal(lsws_model_suggest(m, "general.colour", out, LSWS_SUGGEST_MAX), 0);
    assert_int_equal(lsws_model_suggest(m, "lorawan.nope", out, LSWS_SUGGEST_MAX), 0); /* not "lorawan.band" */
    assert_int_equal(lsws_model_suggest(m, "general.lde", out, LSWS_SUGGEST_MAX), 0); /* a CTH01 has no LED */
    assert_int_equal(lsws_model_suggest(lsws_model_get(LSWS_MODEL_WS523), "general.lde", out, LSWS_SUGGEST_MAX), 1);
    assert_string_equal(out[0], "general.led");
}

static void assignment_given_twice(void **state)
{
    (void)state;
    struct lsws_config *cfg;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_config_new(lsws_model_get(LSWS_MODEL_WS523), &cfg), LSWS_OK);
    assert_int_equal(lsws_config_assign(cfg, "general.led=true", &err), LSWS_OK);
    assert_int_equal(lsws_config_assign(cfg, "general.led=false", &err), LSWS_ERR_INVALID);
    assert_string_equal(err.msg, "general.led is given twice");
    assert_setting(cfg, "general.led", "true");
    assert_int_equal(lsws_config_assign(cfg, "general.led", &err), LSWS_ERR_SYNTAX);
    assert_string_equal(err.msg, "'general.led' is not KEY=VALUE");
    assert_int_equal(lsws_config_assign(cfg, "=5", &err), LSWS_ERR_SYNTAX);
    assert_int_equal(lsws_config_assign(cfg, "time.zone=UTC", &err), LSWS_ERR_UNKNOWN_KEY);
    assert_int_equal(lsws_config_assign(cfg, "general.report_interval=", &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "empty value"));
    lsws_config_free(cfg);
}

/* Before the device's model is known: the message names each model's rule
 * under its name, never one model's range as if it were the other's. */
static void assignments_checked_against_every_model(void **state)
{
    (void)state;
    static const struct {
        const char *args[3];
        int code;
        const char *msg;
    } cases[] = {
        {{"general.report_interval=1441"}, LSWS_ERR_RANGE,
         "general.report_interval: on ws523, 1441 is out of range (allowed: 1..1080 min); "
         "on cth01, 1441 is out of range (allowed: 1..1440 min)"},
        {{"general.report_interval=1200"}, LSWS_OK, NULL}, /* a CTH01 takes it */
        {{"alarm.interval=0"}, LSWS_ERR_RANGE, "alarm.interval: 0 is out of range (allowed: 1..1440 min)"},
        {{"lorawan.app_port=0"}, LSWS_ERR_RANGE, "lorawan.app_port: 0 is out of range (allowed: 1..223)"},
        {{"general.colour=red"}, LSWS_ERR_UNKNOWN_KEY, "unknown setting 'general.colour'"},
        {{"general.report_intervall=5"}, LSWS_ERR_UNKNOWN_KEY,
         "unknown setting 'general.report_intervall'; did you mean 'general.report_interval'?"},
        {{"general.led=true", "lorawan.adr=false", "general.led=false"}, LSWS_ERR_INVALID,
         "general.led is given twice"},
        {{"time.zone="}, LSWS_ERR_INVALID, "time.zone: empty value"},
        {{"general.led"}, LSWS_ERR_SYNTAX, "'general.led' is not KEY=VALUE"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *args[3];
        int n = 0;
        while (n < 3 && cases[c].args[n]) {
            args[n] = (char *)cases[c].args[n];
            n++;
        }
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_assignments_check(n, args, &err);
        if (rc != cases[c].code || (cases[c].msg && !strstr(err.msg, cases[c].msg)))
            fail_msg("%s: got %d '%s', want %d '%s'", args[0], rc, err.msg, cases[c].code,
                     cases[c].msg ? cases[c].msg : "");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_key_wins_over_glob),
        cmocka_unit_test(edit_distance),
        cmocka_unit_test(suggestions),
        cmocka_unit_test(assignment_given_twice),
        cmocka_unit_test(assignments_checked_against_every_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
