/* Value parsing and the rules between settings, table-tested. */
#include "test_util.h"

struct value_case {
    enum lsws_model_id model;
    const char *key, *text;
    int code;           /* expected result */
    const char *canon;  /* canonical text when accepted; message fragment when refused */
};

static const struct value_case cases[] = {
    {LSWS_MODEL_WS523, "general.report_interval", "1", LSWS_OK, "1"},
    {LSWS_MODEL_WS523, "general.report_interval", "1080", LSWS_OK, "1080"},
    {LSWS_MODEL_WS523, "general.report_interval", "1081", LSWS_ERR_RANGE, "allowed: 1..1080 min"},
    {LSWS_MODEL_WS523, "general.report_interval", "0", LSWS_ERR_RANGE, "out of range"},
    {LSWS_MODEL_WS523, "general.report_interval", "-5", LSWS_ERR_RANGE, "out of range"},
    {LSWS_MODEL_WS523, "general.report_interval", "20.5", LSWS_ERR_INVALID, "not a number"},
    {LSWS_MODEL_WS523, "general.report_interval", "", LSWS_ERR_INVALID, "empty value (allowed: 1..1080 min)"},
    /* Too many digits for any setting: out of range, not "not a number". */
    {LSWS_MODEL_WS523, "general.report_interval", "99999999999999999999", LSWS_ERR_RANGE, "out of range"},
    {LSWS_MODEL_WS523, "general.report_interval", "1e300", LSWS_ERR_INVALID, "not a number"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "1e300", LSWS_ERR_INVALID, "not a number"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "123456789012345678.5", LSWS_ERR_RANGE, "out of range"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "12345678901234567.x", LSWS_ERR_INVALID, "not a number"},
    {LSWS_MODEL_CTH01, "general.report_interval", "1440", LSWS_OK, "1440"},
    {LSWS_MODEL_CTH01, "general.report_interval", "1441", LSWS_ERR_RANGE, "1..1440 min"},
    {LSWS_MODEL_WS523, "general.led", "off", LSWS_OK, "false"},
    {LSWS_MODEL_WS523, "general.led", "Enabled", LSWS_OK, "true"},
    {LSWS_MODEL_WS523, "general.led", "maybe", LSWS_ERR_INVALID, "not a boolean"},
    {LSWS_MODEL_WS523, "lorawan.join_type", "ABP", LSWS_OK, "abp"},
    {LSWS_MODEL_WS523, "lorawan.join_type", "otta", LSWS_ERR_INVALID, "not one of: abp, otaa"},
    {LSWS_MODEL_WS523, "lorawan.app_eui", "24E124C0002A0001", LSWS_OK, "24e124c0002a0001"},
    {LSWS_MODEL_WS523, "lorawan.app_eui", "24:E1:24:C0:00:2A:00:01", LSWS_OK, "24e124c0002a0001"},
    {LSWS_MODEL_WS523, "lorawan.app_eui", "24E124C0002A00", LSWS_ERR_INVALID, "not 16 hex digits"},
    {LSWS_MODEL_WS523, "lorawan.app_eui", "24E124C0002A00011", LSWS_ERR_INVALID, "not 16 hex digits"},
    {LSWS_MODEL_WS523, "lorawan.app_eui", "24E124C0002A00G1", LSWS_ERR_INVALID, "not a hex digit"},
    {LSWS_MODEL_WS523, "lorawan.app_key", "5572404C696E6B4C6F52613230313823", LSWS_OK,
     "5572404c696e6b4c6f52613230313823"},
    {LSWS_MODEL_WS523, "lorawan.channels", "1-40, 60", LSWS_OK, "1-40, 60"},
    {LSWS_MODEL_WS523, "lorawan.channels", "1, 40", LSWS_OK, "1, 40"},
    {LSWS_MODEL_WS523, "lorawan.channels", "8-15", LSWS_OK, "8-15"},
    {LSWS_MODEL_WS523, "lorawan.channels", "all", LSWS_OK, "All"},
    {LSWS_MODEL_WS523, "lorawan.channels", "Null", LSWS_OK, "Null"},
    {LSWS_MODEL_WS523, "lorawan.channels", "3,1,2", LSWS_OK, "1-3"},
    {LSWS_MODEL_WS523, "lorawan.channels", "40-1", LSWS_ERR_INVALID, "40-1 is backwards (write 1-40)"},
    {LSWS_MODEL_WS523, "lorawan.channels", "96", LSWS_ERR_INVALID, "not within 0-95"},
    {LSWS_MODEL_WS523, "lorawan.channels", "1,,2", LSWS_ERR_INVALID, "expected a channel index"},
    {LSWS_MODEL_WS523, "lorawan.channels", "1-", LSWS_ERR_INVALID, "after '-'"},
    {LSWS_MODEL_WS523, "lorawan.channels", "1;2", LSWS_ERR_INVALID, "unexpected ';'"},
    /* Numbers past any channel are bounded, never wrapped or printed as LONG_MAX. */
    {LSWS_MODEL_WS523, "lorawan.channels", "99999999999999999999-3", LSWS_ERR_INVALID,
     "channel 99999999... is not within 0-95"},
    {LSWS_MODEL_WS523, "lorawan.channels", "3-99999999999999999999", LSWS_ERR_INVALID,
     "channel 99999999... is not within 0-95"},
    {LSWS_MODEL_WS523, "lorawan.channels", "1-100", LSWS_ERR_INVALID, "channel 100 is not within 0-95"},
    {LSWS_MODEL_WS523, "general.password", "abc_12", LSWS_OK, "abc_12"},
    {LSWS_MODEL_WS523, "general.password", "12345", LSWS_ERR_RANGE, "exactly 6 characters"},
    {LSWS_MODEL_WS523, "general.password", "1234567", LSWS_ERR_RANGE, "exactly 6 characters"},
    {LSWS_MODEL_CTH01, "general.password", "12345!", LSWS_ERR_INVALID, "letters, digits and underscore"},
    {LSWS_MODEL_CTH01, "bluetooth.name", "Milesight", LSWS_OK, "Milesight"},
    {LSWS_MODEL_CTH01, "bluetooth.name", "CTH01-12345678", LSWS_ERR_RANGE, "1 to 13 characters"},
    {LSWS_MODEL_CTH01, "bluetooth.name", "", LSWS_ERR_INVALID, "empty value (allowed: 1-13 printable characters)"},
    /* Empty values are refused whatever the type ("time.zone=" read as UTC). */
    {LSWS_MODEL_CTH01, "time.zone", "", LSWS_ERR_INVALID, "empty value"},
    {LSWS_MODEL_WS523, "lorawan.channels", "", LSWS_ERR_INVALID, "empty value"},
    {LSWS_MODEL_WS523, "general.led", "", LSWS_ERR_INVALID, "empty value (allowed: true, false)"},
    {LSWS_MODEL_WS523, "lorawan.join_type", "", LSWS_ERR_INVALID, "empty value (allowed: abp, otaa)"},
    {LSWS_MODEL_WS523, "lorawan.app_eui", "", LSWS_ERR_INVALID, "empty value (allowed: 16 hex digits)"},
    {LSWS_MODEL_WS523, "general.password", "", LSWS_ERR_INVALID, "empty value"},
    {LSWS_MODEL_CTH01, "bluetooth.name", "caf\xc3\xa9", LSWS_ERR_INVALID, "printable ASCII"},
    {LSWS_MODEL_CTH01, "time.zone", "UTC-4", LSWS_OK, "UTC-04:00"},
    {LSWS_MODEL_CTH01, "time.zone", "+05:30", LSWS_OK, "UTC+05:30"},
    {LSWS_MODEL_CTH01, "time.zone", "UTC", LSWS_OK, "UTC+00:00"},
    {LSWS_MODEL_CTH01, "time.zone", "UTC+15", LSWS_ERR_INVALID, "UTC offset"},
    {LSWS_MODEL_CTH01, "time.zone", "UTC+5:3", LSWS_ERR_INVALID, "UTC offset"},
    {LSWS_MODEL_CTH01, "time.zone", "5", LSWS_ERR_INVALID, "UTC offset"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "-0.3", LSWS_OK, "-0.30"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "120", LSWS_OK, "120.00"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "120.01", LSWS_ERR_RANGE, "-120.00..120.00 C"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "1.234", LSWS_ERR_INVALID, "more than 2 decimals"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "1.", LSWS_ERR_INVALID, "not a number"},
    {LSWS_MODEL_CTH01, "calibration.temperature.value", "--1", LSWS_ERR_INVALID, "not a number"},
    {LSWS_MODEL_CTH01, "alarm.temperature.min", "-20", LSWS_OK, "-20.00"},
    {LSWS_MODEL_CTH01, "alarm.temperature.min", "-20.01", LSWS_ERR_RANGE, "-20.00..100.00 C"},
    {LSWS_MODEL_CTH01, "alarm.thdi[12].max", "0", LSWS_ERR_RANGE, "1..100 %"},
    {LSWS_MODEL_CTH01, "interface.current[3].range", "4000A", LSWS_OK, "4000a"},
    {LSWS_MODEL_CTH01, "time.dst.start.weekday", "Sun", LSWS_OK, "sun"},
};

static void values_parse_and_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct value_case *c = &cases[i];
        const struct lsws_model *m = lsws_model_get(c->model);
        int idx = lsws_model_find(m, c->key);
        assert_true(idx >= 0);
        struct lsws_value v;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_value_parse(m, (size_t)idx, c->text, &v, &err);
        if (rc != c->code)
            fail_msg("%s=%s: got %d (%s), want %d", c->key, c->text, rc, err.msg, c->code);
        if (rc == LSWS_OK) {
            char buf[256];
            lsws_value_format(m, (size_t)idx, &v, buf, sizeof buf);
            if (strcmp(buf, c->canon) != 0)
                fail_msg("%s=%s: formats as '%s', want '%s'", c->key, c->text, buf, c->canon);
        } else {
            if (!strstr(err.msg, c->canon) || !strstr(err.msg, c->key))
                fail_msg("%s=%s: message '%s' lacks '%s' or the key", c->key, c->text, err.msg, c->canon);
        }
    }
}

struct rule_case {
    enum lsws_model_id model;
    const char *band;
    const char *sets[4][2];
    int code;
    const char *msg;
};

static const struct rule_case rules[] = {
    {LSWS_MODEL_WS523, "EU868", {{"lorawan.channels", "0-15"}}, LSWS_OK, NULL},
    {LSWS_MODEL_WS523, "EU868", {{"lorawan.channels", "0-20"}}, LSWS_ERR_RANGE, "channel 20 does not exist in EU868"},
    {LSWS_MODEL_WS523, "US915", {{"lorawan.channels", "8-15, 65"}}, LSWS_OK, NULL},
    {LSWS_MODEL_WS523, "US915", {{"lorawan.channels", "72"}}, LSWS_ERR_RANGE, "channels 0-71"},
    {LSWS_MODEL_WS523, "CN470", {{"lorawan.channels", "95"}}, LSWS_OK, NULL},
    {LSWS_MODEL_WS523, "EU868", {{"lorawan.rx2_frequency", "923300000"}}, LSWS_ERR_RANGE, "outside EU868"},
    {LSWS_MODEL_WS523, "EU868", {{"lorawan.channel_mode", "single"}, {"lorawan.channels", "0-2"}},
     LSWS_ERR_INVALID, "exactly one channel"},
    {LSWS_MODEL_WS523, "EU868", {{"lorawan.channel_mode", "single"}, {"lorawan.channels", "1"}}, LSWS_OK, NULL},
    {LSWS_MODEL_CTH01, "EU868", {{"alarm.interval", "10"}}, LSWS_ERR_RANGE, "shorter than general.report_interval"},
    {LSWS_MODEL_CTH01, "EU868", {{"alarm.interval", "9"}}, LSWS_OK, NULL},
    {LSWS_MODEL_CTH01, "EU868", {{"interface.current[4].range", "4000a"}}, LSWS_ERR_INVALID, "whole group b"},
    {LSWS_MODEL_CTH01, "EU868",
     {{"interface.current[4].range", "4000a"}, {"interface.current[5].range", "4000a"},
      {"interface.current[6].range", "4000a"}}, LSWS_OK, NULL},
    {LSWS_MODEL_CTH01, "EU868",
     {{"alarm.current[2].condition", "within"}, {"alarm.current[2].min", "50"}, {"alarm.current[2].max", "10"}},
     LSWS_ERR_RANGE, "alarm.current[2].min: min is above max"},
    {LSWS_MODEL_CTH01, "EU868",
     {{"alarm.current[2].condition", "above"}, {"alarm.current[2].min", "50"}, {"alarm.current[2].max", "10"}},
     LSWS_OK, NULL},
};

static void rules_between_settings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule_case *r = &rules[i];
        struct lsws_config *cfg;
        struct lsws_error err;
        lsws_error_clear(&err);
        assert_int_equal(lsws_config_new(lsws_model_get(r->model), &cfg), LSWS_OK);
        assert_int_equal(lsws_config_defaults(cfg, r->band, NULL, &err), LSWS_OK);
        for (int s = 0; s < 4 && r->sets[s][0]; s++)
            if (lsws_config_set(cfg, r->sets[s][0], r->sets[s][1], &err) != LSWS_OK)
                fail_msg("case %zu: %s", i, err.msg);
        int rc = lsws_config_check(cfg, &err);
        if (rc != r->code || (r->msg && !strstr(err.msg, r->msg)))
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg, r->code, r->msg ? r->msg : "");
        lsws_config_free(cfg);
    }
}

static void unknown_key_is_named(void **state)
{
    (void)state;
    struct lsws_config *cfg;
    struct lsws_error err;
    assert_int_equal(lsws_config_new(lsws_model_get(LSWS_MODEL_WS523), &cfg), LSWS_OK);
    assert_int_equal(lsws_config_set(cfg, "general.report_intervall", "5", &err), LSWS_ERR_UNKNOWN_KEY);
    assert_string_equal(err.msg, "unknown setting 'general.report_intervall' for ws523; "
                                 "did you mean 'general.report_interval'?");
    assert_int_equal(lsws_config_set(cfg, "alarm.interval", "5", &err), LSWS_ERR_UNKNOWN_KEY);
    assert_string_equal(err.msg, "unknown setting 'alarm.interval' for ws523");
    lsws_config_free(cfg);
}

/* A secret that is almost right is not repeated in the message. */
static void near_miss_secrets_are_not_echoed(void **state)
{
    (void)state;
    static const struct {
        const char *key, *text, *msg;
    } secrets[] = {
        {"lorawan.app_key", "5572404c696e6b4c6f5261323031382", "31 hex digits (an odd number), not 32"},
        {"lorawan.app_key", "5572404c696e6b4c6f526132303138", "30 hex digits, not 32"},
        {"lorawan.app_key", "5572404c696e6b4c6f52613230313823ab", "34 hex digits, not 32"},
        {"lorawan.nwk_skey", "5572404c696e6b4c6f5261323031382z", "character 32 is not a hex digit"},
        {"multicast.group[2].mc_app_skey", "5572404c-696e6b4c6f5261323031382", "not 32"},
        {"general.password", "12345", "exactly 6 characters"},
        {"general.password", "1234!6", "character 5 is not allowed"},
    };
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_WS523);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        struct lsws_value v;
        struct lsws_error err;
        lsws_error_clear(&err);
        int idx = lsws_model_find(m, secrets[i].key);
        assert_true(idx >= 0);
        assert_int_not_equal(lsws_value_parse(m, (size_t)idx, secrets[i].text, &v, &err), LSWS_OK);
        if (!strstr(err.msg, secrets[i].msg) || strstr(err.msg, secrets[i].text) || strstr(err.msg, "5572404c"))
            fail_msg("%s: message '%s' repeats the value or lacks '%s'", secrets[i].key, err.msg, secrets[i].msg);
    }
    /* A non-secret is quoted, to show what was read. */
    struct lsws_value v;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_value_parse(m, (size_t)lsws_model_find(m, "lorawan.app_eui"), "24e124c0002a00", &v, &err),
                     LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'24e124c0002a00'"));
}

static void hex_parser_is_bounded(void **state)
{
    (void)state;
    uint8_t out[4];
    size_t len;
    struct lsws_error err;
    assert_int_equal(lsws_hex_parse("0x0a0B", out, sizeof out, &len, &err), LSWS_OK);
    assert_int_equal(len, 2);
    assert_int_equal(lsws_hex_parse("0a0b0c0d0e", out, sizeof out, &len, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_hex_parse("0a0", out, sizeof out, &len, &err), LSWS_ERR_SYNTAX);
    assert_non_null(strstr(err.msg, "odd number of hex digits"));
    assert_int_equal(lsws_hex_parse("0a 0 b", out, sizeof out, &len, &err), LSWS_ERR_SYNTAX);
    assert_int_equal(lsws_hex_parse("zz", out, sizeof out, &len, &err), LSWS_ERR_SYNTAX);
    assert_int_equal(err.offset, 0);
    assert_int_equal(lsws_hex_parse("", out, sizeof out, &len, &err), LSWS_OK);
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_parse_and_format),
        cmocka_unit_test(rules_between_settings),
        cmocka_unit_test(unknown_key_is_named),
        cmocka_unit_test(near_miss_secrets_are_not_echoed),
        cmocka_unit_test(hex_parser_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
