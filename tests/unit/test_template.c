/* JSON templates: render/parse round trip and every kind of bad file. */
#include "test_util.h"

#include <stdlib.h>

static void defaults_round_trip_through_json(void **state)
{
    (void)state;
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        struct lsws_config *cfg, *back = NULL;
        struct lsws_error err;
        char *text;
        lsws_error_clear(&err);
        assert_int_equal(lsws_config_new(lsws_model_get(m), &cfg), LSWS_OK);
        assert_int_equal(lsws_config_defaults(cfg, "AU915", NULL, &err), LSWS_OK);
        cfg->present[lsws_model_find(cfg->model, "lorawan.work_mode")] = 0;
        assert_int_equal(lsws_config_set(cfg, "lorawan.channels", "8-15", &err), LSWS_OK);
        assert_int_equal(lsws_template_render(cfg, 0, &text), LSWS_OK);
        if (lsws_template_parse(text, strlen(text), &back, &err) != LSWS_OK)
            fail_msg("%s:%d:%d: %s", cfg->model->name, err.line, err.column, err.msg);
        for (size_t i = 0; i < cfg->model->n_settings; i++) {
            assert_int_equal(back->present[i], cfg->present[i]);
            if (cfg->present[i])
                assert_true(lsws_value_equal(cfg->model, i, &cfg->values[i], &back->values[i]));
        }
        free(text);
        lsws_config_free(cfg);
        lsws_config_free(back);
    }
}

static void fixed_point_values_are_json_numbers(void **state)
{
    (void)state;
    struct lsws_config *cfg;
    char *text;
    assert_int_equal(lsws_config_new(lsws_model_get(LSWS_MODEL_CTH01), &cfg), LSWS_OK);
    assert_int_equal(lsws_config_set(cfg, "calibration.temperature.value", "-0.3", NULL), LSWS_OK);
    assert_int_equal(lsws_config_set(cfg, "alarm.temperature.max", "25", NULL), LSWS_OK);
    assert_int_equal(lsws_config_set(cfg, "lorawan.app_skey", "5572404c696e6b4c6f52613230313823", NULL), LSWS_OK);
    assert_int_equal(lsws_template_render(cfg, LSWS_TPL_REDACT, &text), LSWS_OK);
    assert_non_null(strstr(text, "\"calibration.temperature.value\": -0.3,"));
    assert_non_null(strstr(text, "\"alarm.temperature.max\": 25.0"));
    assert_non_null(strstr(text, "\"lorawan.app_skey\": \"(redacted)\""));
    assert_null(strstr(text, "5572404c"));
    free(text);
    lsws_config_free(cfg);
}

struct bad_template {
    const char *text;
    int code, line, column;
    const char *msg;
};

#define HEAD "{\"lsws_template\": 1, \"model\": \"ws523\",\n \"settings\": {\n"

static const struct bad_template bad[] = {
    {"", LSWS_ERR_SYNTAX, 1, 0, "'[' or '{' expected"},
    {HEAD "  \"general.led\": tru\n}}", LSWS_ERR_SYNTAX, 3, 20, "invalid token"},
    {HEAD "  \"general.led\": true,\n}}", LSWS_ERR_SYNTAX, 4, 1, "string or '}' expected"},
    {HEAD "  \"general.led\": true, \"general.led\": false}}", LSWS_ERR_SYNTAX, 3, 0, "duplicate object key"},
    {HEAD "  \"general.led\": true,\n  \"general.lde\": false}}", LSWS_ERR_UNKNOWN_KEY, 4, 3,
     "unknown setting 'general.lde' for ws523"},
    {HEAD "  \"general.report_interval\": \"20\"}}", LSWS_ERR_INVALID, 3, 3, "expected an integer"},
    {HEAD "  \"general.report_interval\": 20.5}}", LSWS_ERR_INVALID, 3, 3, "expected an integer"},
    {HEAD "  \"general.report_interval\": 2000}}", LSWS_ERR_RANGE, 3, 3, "2000 is out of range (allowed: 1..1080 min)"},
    {HEAD "  \"general.led\": 1}}", LSWS_ERR_INVALID, 3, 3, "expected true or false"},
    {HEAD "  \"lorawan.join_type\": \"otta\"}}", LSWS_ERR_INVALID, 3, 3, "not one of: abp, otaa"},
    {HEAD "  \"lorawan.app_key\": \"(redacted)\"}}", LSWS_ERR_INVALID, 3, 3, "is redacted in this file"},
    {HEAD "  \"lorawan.work_mode\": \"class_c\"}}", LSWS_ERR_READONLY, 3, 3, "read-only"},
    {HEAD "  \"lorawan.band\": \"EU868\", \"lorawan.channels\": \"0-40\"}}", LSWS_ERR_RANGE, 0, 0,
     "channel 40 does not exist in EU868"},
    {"{\"lsws_template\": 1, \"model\": \"ws524\", \"settings\": {}}", LSWS_ERR_MODEL, 1, 22, "\"model\" must be"},
    {"{\"lsws_template\": 2, \"model\": \"ws523\", \"settings\": {}}", LSWS_ERR_SYNTAX, 1, 2, "not an lsws template"},
    {"{\"model\": \"ws523\", \"settings\": {}}", LSWS_ERR_SYNTAX, 0, 0, "not an lsws template"},
    {"{\"lsws_template\": 1, \"model\": \"ws523\", \"settings\": []}", LSWS_ERR_SYNTAX, 1, 40, "must be an object"},
    {"{\"lsws_template\": 1, \"model\": \"ws523\", \"setings\": {}}", LSWS_ERR_UNKNOWN_KEY, 1, 40, "unknown top-level key 'setings'"},
    {"[1, 2]", LSWS_ERR_SYNTAX, 0, 0, "a template is a JSON object"},
    {"{\"lsws_template\": 1, \"model\": \"cth01\", \"settings\": {\"alarm.thdi[1].max\": 0}}", LSWS_ERR_RANGE, 1, 53, "1..100 %"},
    {"{\"lsws_template\": 1, \"model\": \"cth01\", \"settings\": {\"calibration.temperature.value\": 0.001}}",
     LSWS_ERR_INVALID, 1, 53, "more than 2 decimals"},
    /* A huge number is out of range, not "more than 2 decimals". */
    {"{\"lsws_template\": 1, \"model\": \"cth01\", \"settings\": {\"calibration.temperature.value\": 1e300}}",
     LSWS_ERR_RANGE, 1, 53, "1e+300 is out of range (allowed: -120.00..120.00 C)"},
    {"{\"lsws_template\": 1, \"model\": \"cth01\", \"settings\": {\"alarm.temperature.max\": -1e300}}",
     LSWS_ERR_RANGE, 1, 53, "is out of range"},
    {"{\"lsws_template\": 1, \"model\": \"cth01\", \"settings\": {\"calibration.temperature.value\": 120.5}}",
     LSWS_ERR_RANGE, 1, 53, "120.5 is out of range"},
    {HEAD "  \"general.lde\": false}}", LSWS_ERR_UNKNOWN_KEY, 3, 3,
     "unknown setting 'general.lde' for ws523; did you mean 'general.led'?"},
    /* A secret nearly right is not repeated (31 digits). */
    {HEAD "  \"lorawan.app_key\": \"5572404c696e6b4c6f5261323031382\"}}", LSWS_ERR_INVALID, 3, 3,
     "lorawan.app_key: 31 hex digits (an odd number), not 32"},
};

static void bad_templates_are_rejected_with_positions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const struct bad_template *b = &bad[i];
        struct lsws_config *cfg = NULL;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_template_parse(b->text, strlen(b->text), &cfg, &err);
        assert_null(cfg);
        if (rc != b->code || !strstr(err.msg, b->msg) || (b->line && err.line != b->line) ||
            (b->column && err.column != b->column))
            fail_msg("case %zu: got %d %d:%d '%s', want %d %d:%d '%s'", i, rc, err.line, err.column,
                     err.msg, b->code, b->line, b->column, b->msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_round_trip_through_json),
        cmocka_unit_test(fixed_point_values_are_json_numbers),
        cmocka_unit_test(bad_templates_are_rejected_with_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
