/* The settings codec against every downlink/config example in the guides,
 * round trips, and malformed input. */
#include "test_util.h"

#include <stdio.h>

struct expect {
    const char *key, *value;
};

struct example {
    enum lsws_model_id model;
    const char *hex;
    const char *source;
    struct expect values[12];
};

/* Each example: guide section, hex as printed, values printed beside it. */
static const struct example examples[] = {
    {LSWS_MODEL_WS523, "ff03b004", "WS523 ch.6 General Settings ex.2 (1200 s = 20 min)",
     {{"general.report_interval", "1200"}}},
    /* A unit holding 90 s (set by a downlink) reads back: ff03 is seconds. */
    {LSWS_MODEL_WS523, "ff035a00", "WS523 ch.6 General Settings (ff03, UINT16 s)",
     {{"general.report_interval", "90"}}},
    /* The guide's own factory state: alarm disabled at 0 A. */
    {LSWS_MODEL_WS523, "ff240000 ff30010a", "WS523 v1.3 ch.6 Basic Information example",
     {{"general.overcurrent_alarm.enabled", "false"}, {"general.overcurrent_alarm.threshold", "0"},
      {"general.overcurrent_protection.enabled", "true"},
      {"general.overcurrent_protection.threshold", "10"}}},
    {LSWS_MODEL_WS523, "ff24010a ff30010a", "WS523 ch.6 General Settings ex.3",
     {{"general.overcurrent_alarm.enabled", "true"}, {"general.overcurrent_alarm.threshold", "10"},
      {"general.overcurrent_protection.enabled", "true"},
      {"general.overcurrent_protection.threshold", "10"}}},
    {LSWS_MODEL_WS523, "ff2f00", "WS523 ch.6 General Settings ex.4", {{"general.led", "false"}}},
    {LSWS_MODEL_WS523, "ff250080", "WS523 basic information (older guides): button lock enabled",
     {{"general.button_lock", "true"}}},
    {LSWS_MODEL_WS523, "ff250000", "WS523 ch.6 Basic Information", {{"general.button_lock", "false"}}},
    {LSWS_MODEL_WS523, "ff2601", "WS523 ch.6 Basic Information",
     {{"general.power_consumption", "true"}}},
    {LSWS_MODEL_CTH01, "61011400", "CTH01 ch.5 General Settings ex.1",
     {{"general.report_interval", "20"}}},
    {LSWS_MODEL_CTH01, "61010a00", "CTH01 ch.5 Configuration Query reply",
     {{"general.report_interval", "10"}}},
    {LSWS_MODEL_CTH01, "64094d696c657369676874", "CTH01 ch.5 General Settings ex.3",
     {{"bluetooth.name", "Milesight"}}},
    {LSWS_MODEL_CTH01, "c710ff", "CTH01 ch.5 Time Settings ex.1", {{"time.zone", "UTC-04:00"}}},
    {LSWS_MODEL_CTH01, "c6013c03573c000a573c00", "CTH01 ch.5 Time Settings ex.2",
     {{"time.dst.enabled", "true"}, {"time.dst.bias", "60"}, {"time.dst.start.month", "3"},
      {"time.dst.start.week", "5"}, {"time.dst.start.weekday", "sun"}, {"time.dst.start.time", "60"},
      {"time.dst.end.month", "10"}, {"time.dst.end.time", "60"}}},
    {LSWS_MODEL_CTH01, "6d0f0900", "CTH01 ch.5 Time Settings ex.3",
     {{"monthly.day", "15"}, {"monthly.hour", "9"}, {"monthly.minute", "0"}}},
    {LSWS_MODEL_CTH01, "6b01e2ff", "CTH01 ch.5 Calibration Settings ex.1",
     {{"calibration.temperature.enabled", "true"}, {"calibration.temperature.value", "-0.30"}}},
    {LSWS_MODEL_CTH01, "7601020000c409", "CTH01 ch.5 Threshold Settings ex.1",
     {{"alarm.temperature.enabled", "true"}, {"alarm.temperature.condition", "above"},
      {"alarm.temperature.max", "25.00"}}},
    {LSWS_MODEL_CTH01, "760103e803b80b", "CTH01 ch.5 Configuration Query reply",
     {{"alarm.temperature.condition", "within"}, {"alarm.temperature.min", "10.00"},
      {"alarm.temperature.max", "30.00"}}},
    {LSWS_MODEL_CTH01, "7704010200007803 7708010301002c01 770a0104de009a02",
     "CTH01 ch.5 Threshold Settings ex.2",
     {{"alarm.current[5].enabled", "true"}, {"alarm.current[5].condition", "above"},
      {"alarm.current[5].max", "888"}, {"alarm.current[9].condition", "within"},
      {"alarm.current[9].min", "1"}, {"alarm.current[9].max", "300"},
      {"alarm.current[11].condition", "outside"}, {"alarm.current[11].min", "222"}}},
    {LSWS_MODEL_CTH01, "7c0a00020000", "CTH01 ch.5 Threshold Settings ex.3",
     {{"alarm.interval", "10"}, {"alarm.times", "2"}, {"alarm.dismiss_report", "false"}}},
    {LSWS_MODEL_CTH01, "6801010400010200000100", "CTH01 ch.5 Report Parameters ex.1",
     {{"interface.group[b].type", "three"}, {"interface.current[4].direction", "reverse"},
      {"interface.current[4].range", "1000a"}, {"interface.current[5].direction", "reverse"},
      {"interface.current[5].range", "300a"}, {"interface.current[6].direction", "forward"},
      {"interface.current[6].range", "100a"}}},
    {LSWS_MODEL_CTH01, "6900010000010100010000", "CTH01 ch.5 Report Parameters ex.2",
     {{"interface.group[c].type", "single"}, {"interface.current[7].range", "none"},
      {"interface.current[8].direction", "reverse"}, {"interface.current[8].range", "100a"},
      {"interface.current[9].range", "none"}}},
};

static void guide_examples_decode_and_reencode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const struct example *ex = &examples[i];
        uint8_t in[128], out[256];
        size_t len = hex_bytes(ex->hex, in, sizeof in), olen;
        struct lsws_config *cfg;
        struct lsws_error err;
        lsws_error_clear(&err);
        assert_int_equal(lsws_config_new(lsws_model_get(ex->model), &cfg), LSWS_OK);
        if (lsws_settings_decode(cfg, in, len, &err) != LSWS_OK)
            fail_msg("%s (%s): %s", ex->hex, ex->source, err.msg);
        for (const struct expect *e = ex->values; e->key; e++)
            assert_setting(cfg, e->key, e->value);
        if (lsws_settings_encode(cfg, NULL, out, sizeof out, &olen, &err) != LSWS_OK)
            fail_msg("%s: re-encode: %s", ex->hex, err.msg);
        assert_int_equal(olen, len);
        assert_memory_equal(out, in, len);
        lsws_config_free(cfg);
    }
}

/* Cutting any example short gives a clean error, never a crash or success. */
static void truncated_examples_fail_cleanly(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        uint8_t in[128];
        size_t len = hex_bytes(examples[i].hex, in, sizeof in);
        struct lsws_config *cfg;
        assert_int_equal(lsws_config_new(lsws_model_get(examples[i].model), &cfg), LSWS_OK);
        for (size_t cut = 1; cut < len; cut++) {
            struct lsws_error err;
            lsws_error_clear(&err);
            int rc = lsws_settings_decode(cfg, in, cut, &err);
            /* A cut exactly between two commands is a shorter valid frame. */
            if (rc == LSWS_OK)
                continue;
            assert_true(rc == LSWS_ERR_TRUNCATED || rc == LSWS_ERR_MALFORMED);
            assert_true(err.offset < cut + 1);
            assert_true(strlen(err.msg) > 0);
        }
        lsws_config_free(cfg);
    }
}

struct bad_frame {
    enum lsws_model_id model;
    const char *hex;
    int code;
    size_t offset;
    const char *msg;
};

static const struct bad_frame bad_frames[] = {
    {LSWS_MODEL_CTH01, "6101", LSWS_ERR_TRUNCATED, 2, "command 0x6101 needs 2 bytes, 0 left"},
    {LSWS_MODEL_CTH01, "61011400 ff", LSWS_ERR_MALFORMED, 4, "unknown cth01 command 0xff at byte 4"},
    {LSWS_MODEL_CTH01, "6100", LSWS_ERR_MALFORMED, 0, "unknown cth01 command 0x61"},
    {LSWS_MODEL_CTH01, "6106", LSWS_ERR_MALFORMED, 0, "unknown"},
    {LSWS_MODEL_CTH01, "610100 00", LSWS_ERR_MALFORMED, 2, "general.report_interval"}, /* 0 min */
    {LSWS_MODEL_CTH01, "6107", LSWS_ERR_MALFORMED, 0, "unknown"},
    {LSWS_MODEL_CTH01, "6600 6602", LSWS_ERR_MALFORMED, 3, "interface.voltage"},
    {LSWS_MODEL_CTH01, "6400", LSWS_ERR_MALFORMED, 1, "takes 1-13 characters"},
    {LSWS_MODEL_CTH01, "640e4d696c657369676874414243", LSWS_ERR_MALFORMED, 1, "bad length 14"},
    {LSWS_MODEL_CTH01, "64094d696c6573", LSWS_ERR_TRUNCATED, 1, "needs 10 bytes, 6 left"},
    {LSWS_MODEL_CTH01, "64", LSWS_ERR_TRUNCATED, 1, "needs a length byte"},
    {LSWS_MODEL_CTH01, "7900 01 03 0000 6400", LSWS_ERR_MALFORMED, 3, "fixed field"},
    {LSWS_MODEL_CTH01, "770c010200007803", LSWS_ERR_MALFORMED, 0, "unknown"}, /* channel 13 */
    {LSWS_MODEL_CTH01, "7601050000c409", LSWS_ERR_MALFORMED, 2, "alarm.temperature.condition"},
    {LSWS_MODEL_WS523, "ff03", LSWS_ERR_TRUNCATED, 2, "command 0xff03 needs 2 bytes, 0 left"},
    {LSWS_MODEL_WS523, "ff031e00", LSWS_ERR_MALFORMED, 2, "report_interval"}, /* 30 s: under 1 min */
    {LSWS_MODEL_WS523, "ff0321fd", LSWS_ERR_MALFORMED, 2, "report_interval"}, /* 64801 s */
    {LSWS_MODEL_WS523, "ff2602", LSWS_ERR_MALFORMED, 2, "general.power_consumption"},
    {LSWS_MODEL_WS523, "ff99", LSWS_ERR_MALFORMED, 0, "unknown ws523 command 0xff"},
    {LSWS_MODEL_WS523, "ff", LSWS_ERR_MALFORMED, 0, "unknown"},
};

static void malformed_frames_are_rejected_with_offsets(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_frames / sizeof bad_frames[0]; i++) {
        const struct bad_frame *b = &bad_frames[i];
        uint8_t in[64];
        size_t len = hex_bytes(b->hex, in, sizeof in);
        struct lsws_config *cfg;
        struct lsws_error err;
        lsws_error_clear(&err);
        assert_int_equal(lsws_config_new(lsws_model_get(b->model), &cfg), LSWS_OK);
        int rc = lsws_settings_decode(cfg, in, len, &err);
        if (rc != b->code || err.offset != b->offset || !strstr(err.msg, b->msg))
            fail_msg("%s: got %d at %zu '%s', want %d at %zu '%s'", b->hex, rc, err.offset, err.msg,
                     b->code, b->offset, b->msg);
        lsws_config_free(cfg);
    }
}

/* Factory defaults of both models and every band survive encode -> decode. */
static void defaults_round_trip(void **state)
{
    (void)state;
    struct lsws_identity id = {.sn = "6148b13783621055", .dev_eui = {0x24, 0xe1, 0x24, 0x14, 0x8c, 0x37, 0x19, 0x43}};
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const struct lsws_band *band;
        for (size_t b = 0; (band = lsws_band_at(b)); b++) {
            struct lsws_config *cfg, *back;
            struct lsws_error err;
            uint8_t buf[4096];
            size_t len;
            lsws_error_clear(&err);
            assert_int_equal(lsws_config_new(lsws_model_get(m), &cfg), LSWS_OK);
            assert_int_equal(lsws_config_new(lsws_model_get(m), &back), LSWS_OK);
            assert_int_equal(lsws_config_defaults(cfg, band->name, &id, &err), LSWS_OK);
            int ro = lsws_model_find(cfg->model, "lorawan.work_mode");
            cfg->present[ro] = 0; /* read-only: never encoded */
            if (lsws_settings_encode(cfg, NULL, buf, sizeof buf, &len, &err) != LSWS_OK)
                fail_msg("%s: %s", band->name, err.msg);
            if (lsws_settings_decode(back, buf, len, &err) != LSWS_OK)
                fail_msg("%s: %s", band->name, err.msg);
            for (size_t i = 0; i < cfg->model->n_settings; i++) {
                assert_int_equal(back->present[i], cfg->present[i]);
                if (cfg->present[i] && !lsws_value_equal(cfg->model, i, &cfg->values[i], &back->values[i]))
                    fail_msg("%s %s differs after round trip", band->name, cfg->model->settings[i].key);
            }
            lsws_config_free(cfg);
            lsws_config_free(back);
        }
    }
}

static void shared_commands_need_all_their_settings(void **state)
{
    (void)state;
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_WS523);
    struct lsws_config *cfg, *base;
    struct lsws_error err;
    uint8_t out[64];
    size_t len;
    lsws_error_clear(&err);
    assert_int_equal(lsws_config_new(m, &cfg), LSWS_OK);
    assert_int_equal(lsws_config_set(cfg, "general.overcurrent_alarm.threshold", "12", &err), LSWS_OK);
    assert_int_equal(lsws_settings_encode(cfg, NULL, out, sizeof out, &len, &err), LSWS_ERR_INCOMPLETE);
    assert_non_null(strstr(err.msg, "command 0xff24 also carries general.overcurrent_alarm.enabled"));
    assert_int_equal(lsws_config_new(m, &base), LSWS_OK);
    assert_int_equal(lsws_config_defaults(base, "EU868", NULL, &err), LSWS_OK);
    assert_int_equal(lsws_settings_encode(cfg, base, out, sizeof out, &len, &err), LSWS_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "\xff\x24\x00\x0c", 4);

    assert_int_equal(lsws_config_set(cfg, "lorawan.work_mode", "class_c", &err), LSWS_OK);
    assert_int_equal(lsws_settings_encode(cfg, base, out, sizeof out, &len, &err), LSWS_ERR_READONLY);
    /* A device reports read-only settings: the report side encodes them. */
    cfg->present[lsws_model_find(m, "general.overcurrent_alarm.threshold")] = 0;
    assert_int_equal(lsws_settings_report(cfg, out, sizeof out, &len, &err), LSWS_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "\xfe\x04\x02", 3); /* work_mode class_c */
    lsws_config_free(cfg);
    lsws_config_free(base);
}

static void encode_respects_capacity(void **state)
{
    (void)state;
    struct lsws_config *cfg;
    struct lsws_error err;
    uint8_t out[8];
    size_t len;
    assert_int_equal(lsws_config_new(lsws_model_get(LSWS_MODEL_CTH01), &cfg), LSWS_OK);
    assert_int_equal(lsws_config_defaults(cfg, "EU868", NULL, NULL), LSWS_OK);
    cfg->present[lsws_model_find(cfg->model, "lorawan.work_mode")] = 0;
    assert_int_equal(lsws_settings_encode(cfg, NULL, out, sizeof out, &len, &err), LSWS_ERR_RANGE);
    lsws_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guide_examples_decode_and_reencode),
        cmocka_unit_test(truncated_examples_fail_cleanly),
        cmocka_unit_test(malformed_frames_are_rejected_with_offsets),
        cmocka_unit_test(defaults_round_trip),
        cmocka_unit_test(shared_commands_need_all_their_settings),
        cmocka_unit_test(encode_respects_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
