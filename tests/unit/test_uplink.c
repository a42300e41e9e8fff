/* Uplink telemetry codec: every uplink example of the five guides, their
 * known typos, truncation at every byte, malformed input, auto-detection,
 * the builder, the JSON/text renderers, settings read through the model's
 * command layout, and streaming record by record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsws.h"
#include "model_rows.h" /* lsws_setting_reading: which setting a reading is */

#define WS LSWS_MODEL_WS523
#define CTH LSWS_MODEL_CTH01
#define AUTO LSWS_MODEL_COUNT

static struct lsws_uplink up, up2; /* large: not on the stack */

/* Each example is written with one space between commands (a CTH01 history
 * record with its header and inner command as one unit), so the spaces
 * mark where a truncated payload is still a whole one. */
struct example {
    const char *source;
    enum lsws_model_id model;
    const char *hex;
    const char *json;
};

static const struct example examples[] = {
    /* WS523 guide 000 (V1.3), chapter 6. Settings in basic information are
     * named as the vendor decoder (SensorDecoders ws523-decoder.js) names
     * them, nested as it nests them. The guide's factory state holds a 0 A
     * alarm threshold (ff240000): it reads. */
    {"000 basic information", WS,
     "ff0bff ff0101 ff166762d21130962038 ff090100 ff0a0108 ff240000 ff30010a ff250000 ff2601",
     "{\"device_status\":\"on\",\"ipso_version\":\"v1\",\"sn\":\"6762d21130962038\","
     "\"hardware_version\":\"v1.0\",\"firmware_version\":\"v1.8\","
     "\"current_alarm_config\":{\"enable\":\"disable\",\"threshold\":0},"
     "\"over_current_protection\":{\"enable\":\"enable\",\"trip_current\":10},"
     "\"child_lock_config\":{\"enable\":\"disable\"},\"power_consumption_enable\":\"enable\"}"},
    {"000 periodic report", WS, "087001 058164 07c90200 0374b208 068301000000 048001000000",
     "{\"socket_status\":\"on\",\"power_factor\":100,\"current\":2,\"voltage\":222.6,"
     "\"power_consumption\":1,\"active_power\":1}"},
    {"000 socket change report", WS, "087011",
     "{\"socket_status\":\"on\",\"socket_change\":\"button\"}"},
    {"000 power outage alert", WS, "ff3fff", "{\"power_outage\":\"yes\"}"},
    /* The downlinks of 000 ch.6 (Socket Control, General Settings, Task
     * Settings), as the unit echoes them and as lsws encode sends them. */
    {"000 socket control ex.1 (open)", WS, "080100ff", "{\"socket_status\":\"on\"}"},
    {"000 socket control (close)", WS, "080000ff", "{\"socket_status\":\"off\"}"},
    {"vendor encoder's socket control form", WS, "0801ffff", "{\"socket_status\":\"on\"}"},
    {"000 general settings ex.1 (reboot)", WS, "ff10ff", "{\"reboot\":\"yes\"}"},
    {"000 general settings ex.2 (20 min)", WS, "ff03b004", "{\"report_interval\":1200}"},
    {"000 general settings ex.3", WS, "ff24010a ff30010a",
     "{\"current_alarm_config\":{\"enable\":\"enable\",\"threshold\":10},"
     "\"over_current_protection\":{\"enable\":\"enable\",\"trip_current\":10}}"},
    {"000 general settings ex.4", WS, "ff2f00", "{\"led_indicator_enable\":\"disable\"}"},
    {"000 task settings ex.1", WS, "ff22003c0011", "{\"delay_time\":60,\"socket_status\":\"on\"}"},
    {"000 task settings ex.2", WS, "ff2300ff", "{\"cancel_delay_task\":0}"},
    {"000 reset power consumption (002 4.4 ex.6)", WS, "ff27ff",
     "{\"reset_power_consumption\":\"yes\"}"},
    {"000 enquire electrical status", WS, "ff28ff", "{\"report_status\":\"yes\"}"},
    {"response on channel fe (vendor decoder)", WS, "fe03b004 fe2f01",
     "{\"report_interval\":1200,\"led_indicator_enable\":\"enable\"}"},
    {"a unit holding 90 s", WS, "ff035a00", "{\"report_interval\":90}"},
    /* WS523 guide 001, WS52x guide 002, IOT-CSOCKET guide 003: chapter 4 */
    {"001-003 basic information", WS,
     "ff0101 ff166148b13783621055 ff090100 ff0a0103 ff24010a ff30010a ff250080 ff2601",
     "{\"ipso_version\":\"v1\",\"sn\":\"6148b13783621055\",\"hardware_version\":\"v1.0\","
     "\"firmware_version\":\"v1.3\",\"current_alarm_config\":{\"enable\":\"enable\","
     "\"threshold\":10},\"over_current_protection\":{\"enable\":\"enable\",\"trip_current\":10},"
     "\"child_lock_config\":{\"enable\":\"enable\"},\"power_consumption_enable\":\"enable\"}"},
    {"001-003 sensor data", WS, "087001 058129 07c91200 0374f508 068305000000 048001000000",
     "{\"socket_status\":\"on\",\"power_factor\":41,\"current\":18,\"voltage\":229.3,"
     "\"power_consumption\":5,\"active_power\":1}"},
    {"001-003 power outage alert", WS, "ff3fff", "{\"power_outage\":\"yes\"}"},
    /* CTH01 guide 004, chapter 5. Versions are decimal per byte. */
    {"004 basic information", CTH, "df0100 ee db6527f41809380000 da0100010100000000 d90000 c801 cf0002",
     "{\"tsl_version\":\"v1.0\",\"all_configurations_request_by_device\":\"yes\","
     "\"product_sn\":\"6527f41809380000\",\"version\":{\"hardware_version\":\"v1.0\","
     "\"firmware_version\":\"v1.1\"},\"oem_id\":\"0000\",\"device_status\":\"on\","
     "\"work_mode\":\"Class C\"}"},
    {"CTH01 versions above 9", CTH, "df0a0b da0a0b0c0d00000000",
     "{\"tsl_version\":\"v10.11\",\"version\":{\"hardware_version\":\"v10.11\","
     "\"firmware_version\":\"v12.13\"}}"},
    /* Corrected: the guide prints 0802000d... (one digit short). Its
     * temperature 9d0a is 2717, 27.17 °C (the guide says 27.12). */
    {"004 periodic data (corrected)", CTH,
     "019d0a 022926 0c0008020000df0300008f000000a1000000b80000007e000000 "
     "0d0083050000b743010009010000cf010000450100002c000000",
     "{\"temperature\":27.17,\"voltage_unbalance\":97.69,\"apparent_power_mask_ab\":0,"
     "\"apparent_power\":[520,991,143,161,184,126,1411,82871,265,463,325,44],"
     "\"apparent_power_mask_cd\":0}"},
    {"004 monthly data packet", CTH,
     "ed0100277e694003012e0b ed0100277e694003021027 "
     "ed0100277e69400303d40e04057d23ff11081d46177c268309c4174916370e310a "
     "ed0100277e69400304000000000000 ed0100277e694003065aa8fc81d331",
     NULL},
    {"004 power failure alarm", CTH, "36", "{\"power_loss_alarm\":\"yes\"}"},
    {"004 temperature alarm", CTH, "30139e0a",
     "{\"temperature_alarm\":{\"type\":\"above_threshold\",\"value\":27.18}}"},
    /* Corrected: the guide prints 3104023c28, one byte short of UINT24. */
    {"004 current overrange alarm (corrected)", CTH, "3104023c2800",
     "{\"current_alarm\":{\"channel\":5,\"type\":\"above_range\",\"value\":103.00}}"},
    {"004 historical periodic data", CTH, "ed01a1b1856901360a",
     "{\"history\":[{\"mode\":\"periodic\",\"timestamp\":1770369441,\"temperature\":26.14}]}"},
    {"004 historical monthly data", CTH,
     "ed0200277e694003012e0b ed0200277e694003021027 "
     "ed0200277e69400303d40e04057d23ff11081d46177c268309c4174916370e310a "
     "ed0200277e69400304000000000000 ed0200277e694003065aa8fc81d331",
     NULL},
    /* Replies to configuration queries (ch.5 Commands for Configuration
     * Query), with the vendor decoder's names. */
    {"004 reply to b9 (reporting interval)", CTH, "61010a00",
     "{\"reporting_interval\":{\"minutes_of_time\":10}}"},
    {"004 reply to 5800 (temperature threshold)", CTH, "760103e803b80b",
     "{\"temperature_alarm_settings\":{\"enable\":\"enable\",\"threshold_condition\":\"within\","
     "\"threshold_min\":10.00,\"threshold_max\":30.00}}"},
    /* The downlinks of ch.5, as the hub echoes them and lsws encode sends them. */
    {"004 general settings ex.1", CTH, "61011400", "{\"reporting_interval\":{\"minutes_of_time\":20}}"},
    {"004 general settings ex.2 (reboot)", CTH, "be", "{\"reboot\":\"yes\"}"},
    {"004 general settings ex.3", CTH, "64094d696c657369676874",
     "{\"bluetooth_name\":{\"content\":\"Milesight\"}}"},
    {"004 rejoin", CTH, "b6", "{\"reconnect\":\"yes\"}"},
    {"004 enquiry b9", CTH, "b9", "{\"query_device_status\":\"yes\"}"},
    {"004 sync time from LNS", CTH, "b8", "{\"synchronize_time\":\"yes\"}"},
    {"004 time settings ex.1", CTH, "c710ff", "{\"time_zone\":-240}"},
    {"004 time settings ex.2", CTH, "c6013c03573c000a573c00",
     "{\"daylight_saving_time\":{\"enable\":\"enable\",\"daylight_saving_time_offset\":60,"
     "\"start_month\":3,\"start_week_num\":5,\"start_week_day\":\"sun\",\"start_hour_min\":60,"
     "\"end_month\":10,\"end_week_num\":5,\"end_week_day\":\"sun\",\"end_hour_min\":60}}"},
    {"004 time settings ex.3", CTH, "6d0f0900",
     "{\"month_statistics_settings\":{\"day\":15,\"hour\":9,\"minute\":0}}"},
    {"004 calibration settings ex.1", CTH, "6b01e2ff",
     "{\"temperature_calibration_settings\":{\"enable\":\"enable\",\"calibration_value\":-0.30}}"},
    {"004 threshold settings ex.1", CTH, "7601020000c409",
     "{\"temperature_alarm_settings\":{\"enable\":\"enable\",\"threshold_condition\":\"above\","
     "\"threshold_min\":0.00,\"threshold_max\":25.00}}"},
    {"004 threshold settings ex.2", CTH, "7704010200007803 7708010301002c01 770a0104de009a02",
     "{\"current_alarm_settings\":{"
     "\"enable\":[null,null,null,null,\"enable\",null,null,null,\"enable\",null,\"enable\"],"
     "\"threshold_condition\":[null,null,null,null,\"above\",null,null,null,\"within\",null,"
     "\"outside\"],\"threshold_min\":[null,null,null,null,0,null,null,null,1,null,222],"
     "\"threshold_max\":[null,null,null,null,888,null,null,null,300,null,666]}}"},
    {"004 threshold settings ex.3", CTH, "7c0a00020000",
     "{\"alarm_global_settings\":{\"interval\":10,\"times\":2,\"release_enable\":\"disable\"}}"},
    {"004 report parameters ex.1", CTH, "6801010400010200000100",
     "{\"current_interface\":{\"type\":[null,\"three\"],\"direction\":[null,null,null,\"reverse\","
     "\"reverse\",\"forward\"],\"range\":[null,null,null,\"1000a\",\"300a\",\"100a\"]}}"},
    {"004 report parameters ex.2", CTH, "6900010000010100010000",
     "{\"current_interface\":{\"type\":[null,null,\"single\"],\"direction\":[null,null,null,null,"
     "null,null,\"reverse\",\"reverse\",\"reverse\"],\"range\":[null,null,null,null,null,null,"
     "\"none\",\"100a\",\"none\"]}}"},
    {"004 configuration query ex.2", CTH, "5800", "{\"query_threshold_settings\":{\"type\":\"temperature\"}}"},
    {"004 historical data query ex.", CTH, "5c0100847b6980048a69",
     "{\"retrieve_historical_data_by_time_range\":{\"type\":\"periodic\",\"start_time\":1769702400,"
     "\"end_time\":1770652800}}"},
    {"004 clear total energy (all)", CTH, "5f00", "{\"reset_energy\":{\"channel\":0}}"},
    {"004 clear history data (alarm)", CTH, "5e00", "{\"clear_data\":{\"type\":\"alarm\"}}"},
    {"004 storage and retransmission", CTH, "c50001 c50101 c5025802 c5037800",
     "{\"data_storage_settings\":{\"enable\":\"enable\",\"retransmission_enable\":\"enable\","
     "\"retransmission_interval\":600,\"retrieval_interval\":120}}"},
    /* All-ones readings are the vendor's invalid marker: "error". */
    {"invalid voltage unbalance", CTH, "02ffff", "{\"voltage_unbalance\":\"error\"}"},
    {"invalid readings", CTH,
     "060000ffff0000 0703ffffffffffffffffffffffff "
     "080300000000ffffffff00000000000000000000000000000000",
     "{\"voltage\":[0.00,\"error\",0.00],\"power_factor_mask\":3,\"power_factor\":[\"error\","
     "\"error\",\"error\",\"error\",\"error\",\"error\",\"error\",\"error\",\"error\",\"error\","
     "\"error\",\"error\"],\"active_power_mask_ab\":3,\"active_power\":[0,\"error\",0,0,0,0]}"},
    {"invalid current alarm", CTH, "310402ffffff",
     "{\"current_alarm\":{\"channel\":5,\"type\":\"above_range\",\"value\":\"error\"}}"},
};

/* The monthly examples' JSON: five records with one quantity each. */
static const char *monthly_json(int mode)
{
    static char buf[2][2048];
    const char *m = mode == 1 ? "periodic" : "monthly";
    char head[128];
    snprintf(head, sizeof head,
             "{\"mode\":\"%s\",\"timestamp\":1769875200,\"history_type\":\"monthly_max\",", m);
    snprintf(buf[mode - 1], sizeof buf[0],
             "{\"history\":[%s\"temperature\":28.62},%s\"voltage_unbalance\":100.00},"
             "%s\"thdi\":[37.96,12.84,90.85,46.07,74.32,59.58,98.52,24.35,60.84,57.05,36.39,"
             "26.09]},%s\"thdv\":[0.00,0.00,0.00]},%s\"voltage\":[430.98,332.76,127.55]}]}",
             head, head, head, head, head);
    return buf[mode - 1];
}

/* The hex of the example whose source is `source`. */
static const char *example_hex(const char *source)
{
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        if (strcmp(examples[i].source, source) == 0)
            return examples[i].hex;
    fail_msg("no example '%s'", source);
    return NULL;
}

static const char *example_json(const struct example *ex)
{
    if (ex->json)
        return ex->json;
    return strstr(ex->hex, "ed01") == ex->hex ? monthly_json(1) : monthly_json(2);
}

/* Test hex: spaces between bytes are ignored. */
static size_t parse(const char *hex, uint8_t *out, size_t cap)
{
    char clean[2048];
    size_t n = 0;
    for (const char *p = hex; *p && n + 1 < sizeof clean; p++)
        if (*p != ' ')
            clean[n++] = *p;
    clean[n] = '\0';
    size_t len = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_hex_parse(clean, out, cap, &len, &err);
    if (rc)
        fail_msg("bad test hex '%s': %s", hex, err.msg);
    return len;
}

/* Byte offsets where the space-separated units of an example end. */
static size_t units_of(const char *hex, size_t *ends, size_t cap)
{
    size_t n = 0, digits = 0;
    for (const char *p = hex;; p++) {
        if ((*p == ' ' || *p == '\0') && digits && n < cap && (n == 0 || ends[n - 1] != digits / 2))
            ends[n++] = digits / 2;
        if (!*p)
            break;
        if (*p != ' ')
            digits++;
    }
    return n;
}

static void assert_json_valid(const char *s)
{
    json_error_t jerr;
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fail_msg("invalid JSON (%s at %d): %s", jerr.text, jerr.column, s);
    json_decref(j);
}

static void roundtrip(const struct lsws_uplink *u, const uint8_t *bytes, size_t len)
{
    uint8_t out[2048];
    size_t n = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_uplink_encode(u, out, sizeof out, &n, &err);
    if (rc)
        fail_msg("encode failed: %s", err.msg);
    assert_int_equal(n, len);
    assert_memory_equal(out, bytes, len);
}

static void test_guide_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const struct example *ex = &examples[i];
        uint8_t b[512];
        size_t len = parse(ex->hex, b, sizeof b);
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_uplink_decode(ex->model, b, len, &up, &err);
        if (rc)
            fail_msg("%s: %s", ex->source, err.msg);
        assert_int_equal(up.model, ex->model);
        char json[8192];
        size_t jn = lsws_uplink_json(&up, json, sizeof json);
        assert_int_equal(jn, strlen(json));
        if (strcmp(json, example_json(ex)) != 0)
            fail_msg("%s:\n got  %s\n want %s", ex->source, json, example_json(ex));
        assert_json_valid(json);
        roundtrip(&up, b, len);
        /* Auto-detection picks the same model and the same readings. */
        rc = lsws_uplink_decode(AUTO, b, len, &up2, &err);
        if (rc)
            fail_msg("%s: auto: %s", ex->source, err.msg);
        assert_int_equal(up2.model, ex->model);
        assert_int_equal(up2.n, up.n);
    }
}

/* Fields of single readings, beyond what the JSON shows. */
static const struct lsws_reading *find(const struct lsws_uplink *u, const char *name,
                                       unsigned channel)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->r[i].name, name) == 0 && u->r[i].channel == channel)
            return &u->r[i];
    fail_msg("no reading %s[%u]", name, channel);
    return NULL;
}

static void decode_hex(enum lsws_model_id model, const char *hex, struct lsws_uplink *u)
{
    uint8_t b[512];
    size_t len = parse(hex, b, sizeof b);
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_uplink_decode(model, b, len, u, &err))
        fail_msg("'%s': %s", hex, err.msg);
}

static void test_reading_fields(void **state)
{
    (void)state;
    decode_hex(WS, "0374b208", &up);
    const struct lsws_reading *r = find(&up, "voltage", 0);
    assert_int_equal(r->value, 2226);
    assert_int_equal(r->scale, 1);
    assert_string_equal(r->unit, "V");
    assert_int_equal(r->kind, LSWS_RD_NUM);
    assert_int_equal(r->code, 0x0374);
    assert_int_equal(r->record, 0);
    char s[32];
    assert_int_equal(lsws_reading_format(r, s, sizeof s), 5);
    assert_string_equal(s, "222.6");

    decode_hex(CTH, "3104023c2800", &up);
    r = find(&up, "current_alarm", 5);
    assert_int_equal(r->kind, LSWS_RD_ALARM);
    assert_int_equal(r->value, 10300);
    assert_int_equal(r->scale, 2);
    assert_int_equal(r->alarm, 0x02);
    assert_string_equal(r->text, "above_range");
    assert_string_equal(r->unit, "A");

    /* Negative: temperature -0.30 °C, as in the 6b calibration example. */
    decode_hex(CTH, "01e2ff", &up);
    r = find(&up, "temperature", 0);
    assert_int_equal(r->value, -30);
    lsws_reading_format(r, s, sizeof s);
    assert_string_equal(s, "-0.30");

    /* CTH01 current: UINT24/100 A, 12 channels; power: INT32 W. */
    decode_hex(CTH,
               "05 a08601 010000 000000 ffffff 000000 000000 000000 000000 000000 000000 000000 "
               "102700",
               &up);
    assert_int_equal(up.n, 12);
    assert_int_equal(find(&up, "current", 1)->value, 100000); /* 1000.00 A */
    assert_int_equal(find(&up, "current", 4)->value, 0xffffff);
    assert_int_equal(find(&up, "current", 12)->value, 10000);
    decode_hex(CTH, "09 03 ffffffff 00000080 01000000 00000000 00000000 ffffff7f", &up);
    assert_int_equal(find(&up, "active_power_mask_cd", 0)->value, 3);
    assert_int_equal(find(&up, "active_power", 7)->value, -1);
    assert_int_equal(find(&up, "active_power", 8)->value, INT32_MIN);
    assert_int_equal(find(&up, "active_power", 12)->value, INT32_MAX);

    /* History context. */
    decode_hex(CTH, "ed0100277e694003065aa8fc81d331", &up);
    r = find(&up, "voltage", 2);
    assert_int_equal(r->record, 1);
    assert_int_equal(r->mode, LSWS_HIST_PERIODIC);
    assert_int_equal(r->history_type, LSWS_HIST_MONTHLY_MAX);
    assert_int_equal(r->timestamp, 1769875200u);
    assert_int_equal(r->value, 33276);
    assert_int_equal(up.records, 1);

    /* Versions: hardware minor in the high nibble, software minor in hex. */
    decode_hex(WS, "ff090140 ff0a0114", &up);
    assert_string_equal(find(&up, "hardware_version", 0)->str, "v1.4");
    assert_string_equal(find(&up, "firmware_version", 0)->str, "v1.14");
    decode_hex(WS, "ff090310 ff0a0301", &up);
    assert_string_equal(find(&up, "hardware_version", 0)->str, "v3.1");
    assert_string_equal(find(&up, "firmware_version", 0)->str, "v3.1");
}

static void test_socket_change(void **state)
{
    (void)state;
    static const struct {
        const char *hex, *json;
    } cases[] = {
        {"087011", "{\"socket_status\":\"on\",\"socket_change\":\"button\"}"},
        {"087010", "{\"socket_status\":\"off\",\"socket_change\":\"button\"}"},
        {"087001", "{\"socket_status\":\"on\",\"socket_change\":\"command\"}"},
        {"087000", "{\"socket_status\":\"off\",\"socket_change\":\"command\"}"},
        /* In a periodic report 00/01 is the status only. */
        {"087000 0374b208", "{\"socket_status\":\"off\",\"voltage\":222.6}"},
        {"0374b208 087011", "{\"voltage\":222.6,\"socket_status\":\"on\",\"socket_change\":\"button\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[16];
        size_t len = parse(cases[i].hex, b, sizeof b);
        decode_hex(WS, cases[i].hex, &up);
        char json[512];
        lsws_uplink_json(&up, json, sizeof json);
        assert_string_equal(json, cases[i].json);
        roundtrip(&up, b, len);
    }
}

/* Every prefix of every example: whole units decode (and round-trip), any
 * other cut is LSWS_ERR_TRUNCATED at or before the cut. */
static void test_truncated_every_byte(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const struct example *ex = &examples[i];
        uint8_t b[512];
        size_t len = parse(ex->hex, b, sizeof b);
        size_t ends[128];
        size_t nends = units_of(ex->hex, ends, 128);
        assert_int_equal(ends[nends - 1], len);
        for (size_t cut = 0; cut < len; cut++) {
            int whole = 0;
            for (size_t k = 0; k < nends; k++)
                whole |= ends[k] == cut;
            struct lsws_error err;
            lsws_error_clear(&err);
            int rc = lsws_uplink_decode(ex->model, b, cut, &up, &err);
            if (whole) {
                if (rc)
                    fail_msg("%s cut at %zu: %s", ex->source, cut, err.msg);
                roundtrip(&up, b, cut);
            } else {
                if (rc != LSWS_ERR_TRUNCATED)
                    fail_msg("%s cut at %zu: rc %d: %s", ex->source, cut, rc, err.msg);
                assert_true(err.offset <= cut);
                assert_non_null(strstr(err.msg, "truncated frame at byte") ? err.msg
                                : strstr(err.msg, "empty payload")      ? err.msg
                                                                        : NULL);
            }
            checked++;
        }
    }
    printf("checked %zu prefixes\n", checked);
    assert_true(checked > 400);
}

/* The guides' typos: the printed forms fail with a clear error. */
static void test_guide_typos(void **state)
{
    (void)state;
    struct lsws_error err;
    uint8_t b[256];
    size_t len;
    /* Periodic example as printed: an odd number of hex digits. */
    const char *printed = "019d0a 022926 0c000802000df0300008f000000a1000000b80000007e000000 "
                          "0d0083050000b743010009010000cf010000450100002c000000";
    lsws_error_clear(&err);
    assert_int_equal(lsws_hex_parse(printed, b, sizeof b, &len, &err), LSWS_ERR_SYNTAX);
    assert_non_null(strstr(err.msg, "odd number of hex digits"));
    /* Its digits paired anyway (the last one dropped) do not decode either. */
    char joined[256];
    size_t n = 0;
    for (const char *p = printed; *p; p++)
        if (*p != ' ')
            joined[n++] = *p;
    joined[n - 1] = '\0';
    assert_int_equal(lsws_hex_parse(joined, b, sizeof b, &len, NULL), LSWS_OK);
    lsws_error_clear(&err);
    int rc = lsws_uplink_decode(CTH, b, len, &up, &err);
    assert_true(rc == LSWS_ERR_MALFORMED || rc == LSWS_ERR_TRUNCATED);
    lsws_error_clear(&err);
    assert_int_not_equal(lsws_uplink_decode(AUTO, b, len, &up, &err), LSWS_OK);

    /* Alarm example as printed: 2 current bytes where 3 are due. */
    len = parse("3104023c28", b, sizeof b);
    lsws_error_clear(&err);
    assert_int_equal(lsws_uplink_decode(CTH, b, len, &up, &err), LSWS_ERR_TRUNCATED);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "truncated frame at byte 0: command 0x31 needs 5 bytes, 4 left");
}

struct bad {
    enum lsws_model_id model;
    const char *hex;
    int code;
    size_t offset;
    const char *msg; /* substring */
};

static void test_malformed(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        {WS, "", LSWS_ERR_TRUNCATED, 0, "empty payload"},
        {CTH, "", LSWS_ERR_TRUNCATED, 0, "empty payload"},
        {AUTO, "", LSWS_ERR_TRUNCATED, 0, "empty payload"},
        /* unknown channel / type / command */
        {WS, "0974b208", LSWS_ERR_MALFORMED, 0, "unknown channel 0x09 type 0x74"},
        {WS, "087001 0375b208", LSWS_ERR_MALFORMED, 3, "unknown channel 0x03 type 0x75"},
        {WS, "ff99b004", LSWS_ERR_MALFORMED, 0, "unknown channel 0xff type 0x99"},
        /* channel fe carries only the downlink responses (vendor decoder) */
        {WS, "fe16 6762d21130962038", LSWS_ERR_MALFORMED, 0, "unknown channel 0xfe type 0x16"},
        {CTH, "42", LSWS_ERR_MALFORMED, 0, "unknown command 0x42"},
        {CTH, "36 18", LSWS_ERR_MALFORMED, 1, "unknown command 0x18"},
        {CTH, "cf0102", LSWS_ERR_MALFORMED, 1, "command 0xcf is followed by 01: expected 00"},
        {CTH, "cf", LSWS_ERR_TRUNCATED, 0, "command 0xcf needs a second code byte"},
        {WS, "08", LSWS_ERR_TRUNCATED, 0, "channel 0x08 needs 3 bytes, 0 left"},
        {WS, "08 01 00", LSWS_ERR_TRUNCATED, 0, "channel 0x08 needs 3 bytes, 2 left"},
        /* socket control: state 00/01, then 00ff (guide) or ffff (vendor) */
        {WS, "080200ff", LSWS_ERR_MALFORMED, 1, "socket_status is 02: expected 00 or 01"},
        {WS, "08010000", LSWS_ERR_MALFORMED, 2, "channel 0x08 holds 0000 where 00ff or ffff is fixed"},
        {WS, "ff22013c0011", LSWS_ERR_MALFORMED, 2, "holds 01 where 00 is fixed"},
        {WS, "ff22003c0001", LSWS_ERR_MALFORMED, 5, "socket_status is 01: expected 10 or 11"},
        {WS, "ff230000", LSWS_ERR_MALFORMED, 3, "holds 00 where ff is fixed"},
        {WS, "ff1000", LSWS_ERR_MALFORMED, 2, "reboot is 00: expected ff"},
        /* ff03 seconds: 30 s is a value of the wire (and read), not of the model */
        {WS, "ff03", LSWS_ERR_TRUNCATED, 0, "needs 2 bytes, 0 left"},
        /* wrong lengths */
        {WS, "0374b2", LSWS_ERR_TRUNCATED, 0,
         "truncated frame at byte 0: channel 0x03 type 0x74 needs 2 bytes, 1 left"},
        {WS, "087001 ff16 6762d211309620", LSWS_ERR_TRUNCATED, 3,
         "channel 0xff type 0x16 needs 8 bytes, 7 left"},
        {CTH, "019d0a 05 000000", LSWS_ERR_TRUNCATED, 3,
         "truncated frame at byte 3: command 0x05 needs 36 bytes, 3 left"},
        {CTH, "08 00 0000", LSWS_ERR_TRUNCATED, 0, "command 0x08 needs 25 bytes, 3 left"},
        {CTH, "ef", LSWS_ERR_TRUNCATED, 0, "command 0xef needs 1 byte, 0 left"},
        {CTH, "ef04 610114", LSWS_ERR_TRUNCATED, 0, "command 0xef needs 5 bytes, 4 left"},
        {CTH, "ed01a1b185", LSWS_ERR_TRUNCATED, 0, "command 0xed needs 5 bytes, 4 left"},
        {CTH, "ed01a1b18569", LSWS_ERR_TRUNCATED, 0, "history record needs a command"},
        {CTH, "ed01a1b1856940", LSWS_ERR_TRUNCATED, 6, "history tag 0x40 needs 1 byte"},
        {CTH, "ed0100277e694003", LSWS_ERR_TRUNCATED, 0, "history record needs a command"},
        /* bad values */
        {WS, "087005", LSWS_ERR_MALFORMED, 2, "socket_status is 05: expected 00, 01, 10 or 11"},
        {WS, "ff0b00", LSWS_ERR_MALFORMED, 2, "device_status is 00: expected ff"},
        {WS, "ff250100", LSWS_ERR_MALFORMED, 2, "child_lock_config.enable is 0100: expected 0000 or 0080"},
        {WS, "ff2402", LSWS_ERR_TRUNCATED, 0, "needs 2 bytes, 1 left"},
        {WS, "ff24020a", LSWS_ERR_MALFORMED, 2, "current_alarm_config.enable is 02: expected 00 or 01"},
        {CTH, "c802", LSWS_ERR_MALFORMED, 1, "device_status is 02: expected 00 or 01"},
        {CTH, "cf0004", LSWS_ERR_MALFORMED, 2, "work_mode is 04: expected 00, 01, 02 or 03"},
        /* A text shorter than its row: the message quotes only the bytes there
         * (fuzz_uplink found the read past the end). */
        {CTH, "6401ff", LSWS_ERR_MALFORMED, 1, "bluetooth_name.content is 01ff: not a value"},
        {CTH, "6402ff41", LSWS_ERR_MALFORMED, 1, "bluetooth_name.content is 02ff41: not a value"},
        {CTH, "310c02000000", LSWS_ERR_MALFORMED, 1, "command 0x31 channel is 12: expected 0-11"},
        {CTH, "320302000000", LSWS_ERR_MALFORMED, 1, "command 0x32 channel is 3: expected 0-2"},
        {CTH, "310005000000", LSWS_ERR_MALFORMED, 2, "alarm type is 05: expected 00, 01"},
        {CTH, "0701 0000000000000000000000", LSWS_ERR_TRUNCATED, 0, "needs 13 bytes, 12 left"},
        {CTH, "0710 000000000000000000000000", LSWS_ERR_MALFORMED, 1,
         "power_factor_mask is 0x10: expected bits 0x0f at most"},
        {CTH, "0c04 08020000df0300008f000000a1000000b80000007e000000", LSWS_ERR_MALFORMED, 1,
         "apparent_power_mask_ab is 0x04"},
        {CTH, "61020a00", LSWS_ERR_MALFORMED, 1, "command 0x61 is followed by 02: expected 01"},
        /* settings commands, read through the model's layout */
        {CTH, "61", LSWS_ERR_TRUNCATED, 0, "command 0x61 needs a second code byte"},
        {CTH, "6101 0a", LSWS_ERR_TRUNCATED, 0, "command 0x6101 needs 2 bytes, 1 left"},
        {CTH, "770c010200007803", LSWS_ERR_MALFORMED, 1,
         "command 0x77 is followed by 0c: expected 00-0b"},
        {CTH, "7a03010200006400", LSWS_ERR_MALFORMED, 1,
         "command 0x7a is followed by 03: expected 00-02"},
        {CTH, "7601050000c409", LSWS_ERR_MALFORMED, 2,
         "temperature_alarm_settings.threshold_condition is 05: expected 00, 01, 02, 03 or 04"},
        {CTH, "7704020200007803", LSWS_ERR_MALFORMED, 2,
         "current_alarm_settings.enable is 02: expected 00 or 01"},
        {CTH, "7900 01 03 0000 6400", LSWS_ERR_MALFORMED, 3,
         "command 0x7900 holds 03 where 02 is fixed"},
        {CTH, "7900 01 02 0100 6400", LSWS_ERR_MALFORMED, 4,
         "command 0x7900 holds 0100 where 0000 is fixed"},
        {CTH, "ed01a1b1856901360a 61010a00", LSWS_ERR_MALFORMED, 9,
         "command 0x6101 cannot appear in a history record"},
        {WS, "ff2601 ff2602", LSWS_ERR_MALFORMED, 5, "power_consumption_enable is 02: expected 00 or 01"},
        {WS, "ff30010a ff2501", LSWS_ERR_TRUNCATED, 4, "channel 0xff type 0x25 needs 2 bytes, 1 left"},
        {WS, "ff250180", LSWS_ERR_MALFORMED, 2, "child_lock_config.enable is 0180: expected 0000 or 0080"},
        /* CTH01 text: printable ASCII, then NUL padding only */
        {CTH, "d8 01553836380000000000000000000000", LSWS_ERR_MALFORMED, 1,
         "product_frequency_band byte 1 is 01"},
        {CTH, "d8 4555383638004100000000000000000000", LSWS_ERR_MALFORMED, 7,
         "product_frequency_band byte 7 is 41: expected printable ASCII, then 00 padding"},
        /* history records */
        {CTH, "ed03a1b1856901360a", LSWS_ERR_MALFORMED, 1, "history mode is 03: expected 01"},
        {CTH, "ed01a1b18569400401360a", LSWS_ERR_MALFORMED, 6, "history tag is 4004: expected 4001"},
        {CTH, "ed01a1b18569df0100", LSWS_ERR_MALFORMED, 6,
         "command 0xdf cannot appear in a history record"},
        {CTH, "ed01a1b1856901360a ef0161", LSWS_ERR_MALFORMED, 9,
         "command 0xef cannot appear in a history record"},
        {CTH, "ed01a1b18569 ed01a1b1856901360a", LSWS_ERR_MALFORMED, 6,
         "history record at byte 0 holds no data"},
        {WS, "ed01a1b1856901360a", LSWS_ERR_MALFORMED, 0, "unknown channel 0xed type 0x01"},
        /* auto: the error of the model that read further, named */
        {AUTO, "3104023c28", LSWS_ERR_TRUNCATED, 0, "cth01: truncated frame at byte 0"},
        {AUTO, "0374b2", LSWS_ERR_TRUNCATED, 0, "ws523: truncated frame at byte 0"},
        {AUTO, "087001 0374b208 ff", LSWS_ERR_TRUNCATED, 7, "ws523: truncated frame at byte 7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad *c = &cases[i];
        uint8_t b[256];
        size_t len = parse(c->hex, b, sizeof b);
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_uplink_decode(c->model, b, len, &up, &err);
        if (rc != c->code || err.offset != c->offset || !strstr(err.msg, c->msg))
            fail_msg("'%s': rc %d offset %zu: %s (want %d at %zu: %s)", c->hex, rc, err.offset,
                     err.msg, c->code, c->offset, c->msg);
        assert_int_equal(err.code, rc);
        /* git style: lowercase start, no final period */
        assert_true(err.msg[0] >= 'a' && err.msg[0] <= 'z');
        assert_int_not_equal(err.msg[strlen(err.msg) - 1], '.');
        /* Streaming meets the same error at the same byte. */
        struct lsws_error serr;
        lsws_error_clear(&serr);
        rc = lsws_uplink_decode_each(c->model, b, len, NULL, NULL, &serr);
        if (rc != c->code || serr.offset != c->offset || strcmp(serr.msg, err.msg) != 0)
            fail_msg("'%s' streamed: rc %d offset %zu: %s (want %d at %zu: %s)", c->hex, rc,
                     serr.offset, serr.msg, c->code, c->offset, err.msg);
    }
}

static void test_too_many_readings(void **state)
{
    (void)state;
    uint8_t b[400];
    memset(b, 0x36, sizeof b); /* 400 power failure alarms */
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_uplink_decode(CTH, b, LSWS_UPLINK_MAX, &up, &err), LSWS_OK);
    assert_int_equal(up.n, LSWS_UPLINK_MAX);
    assert_int_equal(lsws_uplink_decode(CTH, b, LSWS_UPLINK_MAX + 1, &up, &err), LSWS_ERR_RANGE);
    assert_int_equal(err.offset, LSWS_UPLINK_MAX);
    assert_non_null(strstr(err.msg, "more than 256 readings"));
    assert_int_equal(up.n, LSWS_UPLINK_MAX);
}

static void test_autodetect(void **state)
{
    (void)state;
    /* Valid for both: a WS523 voltage, three active powers and a power
     * factor (25 bytes) are also CTH01 THDi (1+24). */
    const char *both = "0374b208 048001000000 048001000000 048001000000 058164";
    uint8_t b[64];
    size_t len = parse(both, b, sizeof b);
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_uplink_decode(WS, b, len, &up, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_decode(CTH, b, len, &up, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_decode(AUTO, b, len, &up, &err), LSWS_ERR_MODEL);
    assert_non_null(strstr(err.msg, "ambiguous payload: give --model"));
    /* The WS523 periodic report is 26 bytes like a CTH01 `08`; the mask
     * check tells them apart. */
    len = parse("087001 058164 07c90200 0374b208 068301000000 048001000000", b, sizeof b);
    assert_int_equal(lsws_uplink_decode(CTH, b, len, &up, &err), LSWS_ERR_MALFORMED);
    assert_int_equal(lsws_uplink_decode(AUTO, b, len, &up, &err), LSWS_OK);
    assert_int_equal(up.model, WS);
    /* Unknown model values. */
    assert_int_equal(lsws_uplink_decode((enum lsws_model_id)7, b, len, &up, &err),
                     LSWS_ERR_INVALID);
}

static void test_builder(void **state)
{
    (void)state;
    struct lsws_error err;
    uint8_t out[512], want[512];
    size_t n, wn;

    /* WS523 periodic report, as the simulator would build it. */
    lsws_uplink_init(&up, WS);
    assert_int_equal(lsws_uplink_add(&up, "socket_status", 0, 1, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "power_factor", 0, 100, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "current", 0, 2, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "voltage", 0, 2226, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "power_consumption", 0, 1, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "active_power", 0, 1, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_OK);
    wn = parse(example_hex("000 periodic report"), want, sizeof want);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);

    /* WS523 basic information with hex and versions. */
    lsws_uplink_init(&up, WS);
    assert_int_equal(lsws_uplink_add_hex(&up, "sn", "6148b13783621055", &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "firmware_version", 0, 0x0301, &err), LSWS_OK);
    assert_string_equal(up.r[1].str, "v1.3");
    /* A setting's reading takes the setting's value: lock on is 1 (wire 0080). */
    assert_int_equal(lsws_uplink_add(&up, "child_lock_config.enable", 0, 0x8000, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add(&up, "child_lock_config.enable", 0, 1, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_OK);
    wn = parse("ff166148b13783621055 ff0a0103 ff250080", want, sizeof want);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);

    /* CTH01: a history record, an alarm and a reply. */
    lsws_uplink_init(&up, CTH);
    assert_int_equal(lsws_uplink_add_reply(&up, 0, (const uint8_t *)"\x61\x01\x14\x00", 4, &err),
                     LSWS_OK);
    assert_int_equal(lsws_uplink_add_alarm(&up, "current_alarm", 5, 0x02, 10300, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add_record(&up, 1, 1770369441u, 0, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "temperature", 0, 2614, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add_record(&up, 2, 1769875200u, 3, &err), LSWS_OK);
    for (unsigned ch = 1; ch <= 3; ch++)
        assert_int_equal(lsws_uplink_add(&up, "voltage", ch, ch == 1 ? 43098 : ch == 2 ? 33276 : 12755, &err),
                         LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_OK);
    wn = parse("ef0461011400 3104023c2800 ed01a1b1856901360a ed0200277e694003065aa8fc81d331",
               want, sizeof want);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);
    /* and it decodes to what was built */
    assert_int_equal(lsws_uplink_decode(CTH, out, n, &up2, &err), LSWS_OK);
    assert_int_equal(up2.n, up.n);
    for (size_t i = 0; i < up.n; i++) {
        assert_string_equal(up2.r[i].name, up.r[i].name);
        assert_int_equal(up2.r[i].value, up.r[i].value);
        assert_int_equal(up2.r[i].channel, up.r[i].channel);
        assert_int_equal(up2.r[i].record, up.r[i].record);
        assert_int_equal(up2.r[i].timestamp, up.r[i].timestamp);
    }

    /* CTH01 power pair: channels 7-12 go to command 09. */
    lsws_uplink_init(&up, CTH);
    assert_int_equal(lsws_uplink_add(&up, "active_power_mask_cd", 0, 0, &err), LSWS_OK);
    for (unsigned ch = 7; ch <= 12; ch++)
        assert_int_equal(lsws_uplink_add(&up, "active_power", ch, -(int64_t)ch, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_OK);
    assert_int_equal(n, 26);
    assert_int_equal(out[0], 0x09);
    assert_int_equal(out[2], 0xf9); /* -7 */

    /* Errors. */
    lsws_uplink_init(&up, WS);
    assert_int_equal(lsws_uplink_add(&up, "thdi", 1, 5, &err), LSWS_ERR_UNKNOWN_KEY);
    assert_int_equal(lsws_uplink_add(&up, "voltage", 0, 70000, &err), LSWS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "does not fit 2 unsigned bytes"));
    assert_int_equal(lsws_uplink_add(&up, "voltage", 2, 2226, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add(&up, "socket_status", 0, 5, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add(&up, "sn", 0, 5, &err), LSWS_ERR_INVALID);
    assert_int_equal(lsws_uplink_add_hex(&up, "sn", "6148b1", &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add_record(&up, 1, 0, 0, &err), LSWS_ERR_INVALID);
    assert_int_equal(up.n, 0);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_ERR_INCOMPLETE);

    lsws_uplink_init(&up, CTH);
    assert_int_equal(lsws_uplink_add(&up, "current", 13, 5, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm", 5, 10300, &err), LSWS_ERR_INVALID);
    assert_int_equal(lsws_uplink_add_alarm(&up, "current_alarm", 13, 2, 1, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add_alarm(&up, "current_alarm", 1, 0x09, 1, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add_record(&up, 3, 0, 0, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add_record(&up, 1, 0, 4, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add(&up, "power_factor_mask", 0, 0x10, &err), LSWS_ERR_RANGE);
    /* Five of the twelve currents: the command is incomplete. */
    for (unsigned ch = 1; ch <= 5; ch++)
        assert_int_equal(lsws_uplink_add(&up, "current", ch, 100, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_ERR_INCOMPLETE);
    /* Twelve, but out of order. */
    lsws_uplink_init(&up, CTH);
    for (unsigned ch = 12; ch >= 1; ch--)
        assert_int_equal(lsws_uplink_add(&up, "current", ch, 100, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "channel 12: expected 1"));
    /* In order; then a buffer too small. */
    lsws_uplink_init(&up, CTH);
    for (unsigned ch = 1; ch <= 12; ch++)
        assert_int_equal(lsws_uplink_add(&up, "current", ch, 100 * ch, &err), LSWS_OK);
    n = 0;
    assert_int_equal(lsws_uplink_encode(&up, out, 10, &n, &err), LSWS_ERR_RANGE);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.msg, "needs 37 bytes"));
    assert_int_equal(lsws_uplink_encode(&up, out, 37, &n, &err), LSWS_OK);
    assert_int_equal(n, 37);
    /* A reply may not go into a history record; live data may not follow one. */
    assert_int_equal(lsws_uplink_add_record(&up, 1, 5, 0, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add_reply(&up, 0, NULL, 0, &err), LSWS_ERR_INVALID);
    assert_int_equal(lsws_uplink_add(&up, "temperature", 0, 1, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "temperature", 0, 2, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_OK);
    up.r[up.n - 1].record = 0;
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_ERR_INVALID);
}

/* snprintf contract of the renderers at every buffer size: a WS523 report
 * (members written straight) and CTH01 channels (arrays written straight). */
static void test_render_contract(void **state)
{
    (void)state;
    char full[4096], part[4096];
    size_t need;
    decode_hex(WS, example_hex("000 periodic report"), &up);
    for (int model = 0; model < 2; model++) {
        if (model)
            decode_hex(CTH, example_hex("004 periodic data (corrected)"), &up);
        need = lsws_uplink_json(&up, full, sizeof full);
        assert_int_equal(need, strlen(full));
        assert_int_equal(lsws_uplink_json(&up, NULL, 0), need);
        for (size_t cap = 1; cap <= need + 1; cap++) {
            memset(part, 'x', sizeof part);
            assert_int_equal(lsws_uplink_json(&up, part, cap), need);
            assert_int_equal(strlen(part), cap - 1 < need ? cap - 1 : need);
            assert_memory_equal(part, full, strlen(part));
            assert_int_equal(part[cap], 'x');
        }
    }
    need = lsws_uplink_text(&up, full, sizeof full);
    assert_int_equal(need, strlen(full));
    for (size_t cap = 1; cap <= need + 1; cap += 7) {
        memset(part, 'x', sizeof part);
        assert_int_equal(lsws_uplink_text(&up, part, cap), need);
        assert_int_equal(part[cap], 'x');
    }
}

/* Numbers print exactly value / 10^scale, whatever path the renderer takes
 * (the fast one for 32-bit values with 0-2 decimals, the general one). */
static void reference_number(int64_t v, unsigned scale, char *buf, size_t n)
{
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, p = 1;
    for (unsigned i = 0; i < scale; i++)
        p *= 10;
    if (scale)
        snprintf(buf, n, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(mag / p), (int)(scale & 7),
                 (unsigned long long)(mag % p));
    else
        snprintf(buf, n, "%s%llu", v < 0 ? "-" : "", (unsigned long long)mag);
}

static void test_number_format(void **state)
{
    (void)state;
    static const int64_t values[] = {0, 1, 9, 10, 99, 100, 101, 999, 1000, 65535, 99999, 100000,
                                     9999999, 10000000, 99999999, 100000000, 999999999,
                                     1000000000, 1099999999, 4000000000LL, -99999999, -100000000,
                                     4294967295LL, 4294967296LL, 9999999999LL, INT32_MAX,
                                     (int64_t)INT32_MAX + 1, INT64_MAX, -1, -9, -10, -100,
                                     INT32_MIN, -4294967295LL, -4294967296LL, INT64_MIN + 1,
                                     INT64_MIN, 123456789012345LL};
    struct lsws_reading r = {.kind = LSWS_RD_NUM, .name = "x"};
    char got[64], want[64];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        for (unsigned scale = 0; scale <= 4; scale++) {
            r.value = values[i];
            r.scale = (uint8_t)scale;
            lsws_reading_format(&r, got, sizeof got);
            reference_number(values[i], scale, want, sizeof want);
            if (strcmp(got, want) != 0)
                fail_msg("%lld scale %u: got '%s', want '%s'", (long long)values[i], scale, got, want);
            /* A buffer too small still reports the length needed. */
            assert_int_equal(lsws_reading_format(&r, got, 3), strlen(want));
        }
    /* And random ones. */
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        r.value = (int64_t)(x >> (x % 64));
        if (x & 1)
            r.value = -r.value;
        r.scale = (uint8_t)(x % 4);
        lsws_reading_format(&r, got, sizeof got);
        reference_number(r.value, r.scale, want, sizeof want);
        if (strcmp(got, want) != 0)
            fail_msg("%lld scale %u: got '%s', want '%s'", (long long)r.value, r.scale, got, want);
    }
}

static void test_text(void **state)
{
    (void)state;
    char buf[4096];
    decode_hex(WS, example_hex("000 periodic report"), &up);
    lsws_uplink_text(&up, buf, sizeof buf);
    assert_string_equal(buf, "socket_status  on\n"
                             "power_factor  100 %\n"
                             "current  2 mA\n"
                             "voltage  222.6 V\n"
                             "power_consumption  1 Wh\n"
                             "active_power  1 W\n");
    decode_hex(CTH, "ef0461011400 3104023c2800 ed01a1b1856901360a ed0200277e694003065aa8fc81d331",
               &up);
    lsws_uplink_text(&up, buf, sizeof buf);
    assert_string_equal(buf, "ans  success 61011400\n"
                             "current_alarm[5]  above_range 103.00 A\n"
                             "history[1]  periodic 1770369441 2026-02-06T09:17:21Z\n"
                             "  temperature  26.14 °C\n"
                             "history[2]  monthly 1769875200 2026-01-31T16:00:00Z monthly_max\n"
                             "  voltage[1]  430.98 V\n"
                             "  voltage[2]  332.76 V\n"
                             "  voltage[3]  127.55 V\n");
    lsws_uplink_json(&up, buf, sizeof buf);
    assert_string_equal(buf, "{\"ans\":[{\"result\":0,\"length\":4,\"id\":\"reporting_interval\","
                             "\"result_name\":\"success\",\"command\":\"61011400\"}],"
                             "\"current_alarm\":{\"channel\":5,\"type\":\"above_range\",\"value\":103.00},"
                             "\"history\":[{\"mode\":\"periodic\",\"timestamp\":1770369441,"
                             "\"temperature\":26.14},{\"mode\":\"monthly\",\"timestamp\":1769875200,"
                             "\"history_type\":\"monthly_max\",\"voltage\":[430.98,332.76,127.55]}]}");
    /* Unknown result codes keep their number; repeated alarms make an array. */
    decode_hex(CTH, "ef30 ef71be 3104023c2800 310713102700", &up);
    lsws_uplink_json(&up, buf, sizeof buf);
    assert_string_equal(buf, "{\"ans\":[{\"result\":3,\"length\":0,\"id\":null,"
                             "\"result_name\":\"unknown\",\"command\":\"\"},"
                             "{\"result\":7,\"length\":1,\"id\":\"reboot\","
                             "\"result_name\":\"execute_error\",\"command\":\"be\"}],"
                             "\"current_alarm\":[{\"channel\":5,\"type\":\"above_range\",\"value\":103.00},"
                             "{\"channel\":8,\"type\":\"above_threshold\",\"value\":100.00}]}");
    assert_json_valid(buf);
    /* Half of a power pair: channels 1-6 are null. */
    decode_hex(CTH, "0900 01000000 02000000 03000000 04000000 05000000 06000000", &up);
    lsws_uplink_json(&up, buf, sizeof buf);
    assert_string_equal(buf, "{\"active_power_mask_cd\":0,"
                             "\"active_power\":[null,null,null,null,null,null,1,2,3,4,5,6]}");
    /* Threshold replies carry their channel. */
    decode_hex(CTH, "7704010200007803 7708010301002c01 770a0104de009a02", &up);
    assert_int_equal(find(&up, "current_alarm_settings.threshold_max", 5)->value, 888);
    assert_int_equal(find(&up, "current_alarm_settings.threshold_min", 11)->value, 222);
    lsws_uplink_json(&up, buf, sizeof buf);
    assert_json_valid(buf);
}

/* Random payloads, biased towards real command bytes: decode never
 * crashes, and what decodes re-encodes to the same bytes. (fuzz/ does this
 * at length; this keeps a quick version in ctest.) */
static size_t random_payload(uint64_t *state, uint8_t *b, size_t cap)
{
    static const uint8_t starts[] = {0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff, 0x01, 0x02,
                                     0x09, 0x0c, 0x30, 0x31, 0x36, 0xed, 0xef, 0xcf, 0xda,
                                     0x61, 0x76, 0x77, 0x79, 0x7b, 0x24, 0x25};
    uint64_t s = *state;
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    size_t len = s % cap;
    for (size_t i = 0; i < len; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        b[i] = (s & 3) == 0 ? starts[(s >> 8) % sizeof starts] : (s & 12) == 0 ? 0 : (uint8_t)(s >> 16);
    }
    *state = s;
    return len;
}

static void test_random(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15u;
    size_t ok = 0;
    for (int iter = 0; iter < 200000; iter++) {
        uint8_t b[64];
        size_t len = random_payload(&s, b, sizeof b);
        for (int m = 0; m <= LSWS_MODEL_COUNT; m++) {
            struct lsws_error err;
            lsws_error_clear(&err);
            int rc = lsws_uplink_decode((enum lsws_model_id)m, b, len, &up, &err);
            if (rc != LSWS_OK) {
                assert_true(rc < 0);
                assert_true(err.msg[0] != '\0');
                continue;
            }
            ok++;
            roundtrip(&up, b, len);
            char json[16384];
            assert_true(lsws_uplink_json(&up, json, sizeof json) < sizeof json);
        }
    }
    assert_true(ok > 100);
}


/* ---- settings through the model's command layout ------------------------ */

/* The setting a reading of a settings command stands for. */
static int setting_of(const struct lsws_model *m, const struct lsws_reading *r)
{
    for (size_t i = 0; i < m->n_settings; i++) {
        const char *name = lsws_setting_reading(m, i);
        unsigned ch = m->settings[i].row->count > 1 ? m->settings[i].index + 1u : 0u;
        if (name && strcmp(name, r->name) == 0 && ch == r->channel)
            return (int)i;
    }
    return -1;
}

/* Replies and basic information that carry settings: the uplink decoder
 * reads them through the model's rows, so each reading has the value
 * lsws_settings_decode gives the same bytes, and every setting it finds. */
static void test_settings_through_model(void **state)
{
    (void)state;
    static const struct {
        enum lsws_model_id model;
        const char *hex;
    } cases[] = {
        {WS, "ff24010a ff30010a ff250080 ff2601"},   /* guides 001-003 basic information */
        {WS, "ff240114 ff30000a ff250000 ff2600"},
        {CTH, "61010a00"},                           /* reply to b9 */
        {CTH, "760103e803b80b"},                     /* reply to 5800 */
        {CTH, "7601020000c409"},
        {CTH, "7704010200007803 7708010301002c01 770a0104de009a02"},
        {CTH, "7801010100005802"},
        {CTH, "790b010200005000 7a02000200001e00 7b010200006400"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const struct lsws_model *m = lsws_model_get(cases[k].model);
        uint8_t b[128];
        size_t len = parse(cases[k].hex, b, sizeof b);
        struct lsws_config *cfg;
        struct lsws_error err;
        lsws_error_clear(&err);
        assert_int_equal(lsws_config_new(m, &cfg), LSWS_OK);
        if (lsws_settings_decode(cfg, b, len, &err))
            fail_msg("%s: settings: %s", cases[k].hex, err.msg);
        decode_hex(cases[k].model, cases[k].hex, &up);
        roundtrip(&up, b, len);
        assert_int_equal(up.n, lsws_config_count(cfg));
        for (size_t i = 0; i < up.n; i++) {
            const struct lsws_reading *r = &up.r[i];
            int idx = setting_of(m, r);
            if (idx < 0)
                fail_msg("%s: reading %s[%u] is no setting", cases[k].hex, r->name, r->channel);
            assert_true(cfg->present[idx]);
            if (r->value != cfg->values[idx].num)
                fail_msg("%s: %s: uplink %lld, settings %lld", cases[k].hex,
                         m->settings[idx].key, (long long)r->value,
                         (long long)cfg->values[idx].num);
            assert_int_equal(r->scale, m->settings[idx].row->scale);
            if (m->settings[idx].row->type == LSWS_T_ENUM) {
                /* One name per wire value: the uplink says what a template says. */
                char text[64];
                lsws_value_format(m, (size_t)idx, &cfg->values[idx], text, sizeof text);
                assert_string_equal(r->text, text);
            }
        }
        lsws_config_free(cfg);
    }

    /* Threshold condition 04: "outside" everywhere (guide: "Below or above"). */
    decode_hex(CTH, "770a0104de009a02", &up);
    assert_string_equal(find(&up, "current_alarm_settings.threshold_condition", 11)->text, "outside");
    assert_int_equal(find(&up, "current_alarm_settings.threshold_condition", 11)->code, 0x770a);
    decode_hex(CTH, "7600000000 0000", &up);
    assert_string_equal(find(&up, "temperature_alarm_settings.threshold_condition", 0)->text, "disabled");

    /* The guide's own basic information has a 0 A alarm threshold: the
     * uplink and a configuration read both take it. */
    decode_hex(WS, "ff240000", &up);
    assert_int_equal(find(&up, "current_alarm_config.threshold", 0)->value, 0);
    uint8_t b[8];
    size_t len = parse("ff240000", b, sizeof b);
    struct lsws_config *cfg;
    struct lsws_error err;
    assert_int_equal(lsws_config_new(lsws_model_get(WS), &cfg), LSWS_OK);
    assert_int_equal(lsws_settings_decode(cfg, b, len, &err), LSWS_OK);
    /* An uplink reports what the unit holds, even outside lsws's write
     * range: 30 s (under the guide's 1 min) reads in an uplink only. */
    decode_hex(WS, "ff031e00", &up);
    assert_int_equal(find(&up, "report_interval", 0)->value, 30);
    len = parse("ff031e00", b, sizeof b);
    assert_int_equal(lsws_settings_decode(cfg, b, len, &err), LSWS_ERR_MALFORMED);
    lsws_config_free(cfg);

    /* The builder takes settings as the settings codec stores them. */
    uint8_t out[64], want[64];
    size_t n, wn;
    lsws_uplink_init(&up, CTH);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.enable", 11, 1, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.threshold_condition", 11, 4, &err), LSWS_OK);
    assert_string_equal(up.r[1].text, "outside");
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.threshold_min", 11, 222, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.threshold_max", 11, 666, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "reporting_interval.minutes_of_time", 0, 10, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_OK);
    wn = parse("770a0104de009a02 61010a00", want, sizeof want);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.threshold_condition", 11, 5, &err),
                     LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.threshold_max", 13, 1, &err), LSWS_ERR_RANGE);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.threshold_max", 1, 40000, &err),
                     LSWS_ERR_RANGE); /* INT16 */
    assert_int_equal(lsws_uplink_add_alarm(&up, "reporting_interval.minutes_of_time", 0, 0x13, 1, &err),
                     LSWS_ERR_INVALID);
    assert_int_equal(lsws_uplink_add_hex(&up, "reporting_interval.minutes_of_time", "0a00", &err),
                     LSWS_ERR_INVALID);
    /* Readings of one command in its order, all of them. */
    lsws_uplink_init(&up, CTH);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.threshold_condition", 11, 4, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "expected 'current_alarm_settings.enable' of command 0x770a"));
    lsws_uplink_init(&up, CTH);
    assert_int_equal(lsws_uplink_add(&up, "current_alarm_settings.enable", 11, 1, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_ERR_INCOMPLETE);
    /* Not in a history record. */
    lsws_uplink_init(&up, CTH);
    assert_int_equal(lsws_uplink_add_record(&up, 1, 5, 0, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_add(&up, "reporting_interval.minutes_of_time", 0, 10, &err), LSWS_OK);
    assert_int_equal(lsws_uplink_encode(&up, out, sizeof out, &n, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "cannot appear in a history record"));
}

/* ---- streaming ---------------------------------------------------------- */

/* What a stream delivered: every reading, each record re-encoded, the JSON
 * and text pieces, joined. */
struct collect {
    size_t n, records, stop_after; /* stop_after 0: never */
    size_t enc_len, json_len, text_len;
    unsigned json_state;
    struct lsws_reading r[4096];
    uint8_t enc[1 << 15];
    char json[1 << 18], text[1 << 18];
};
static struct collect got;

static int collect_record(const struct lsws_uplink *rec, void *arg)
{
    struct collect *c = arg;
    assert_true(rec->n > 0 && rec->n <= LSWS_UPLINK_MAX);
    for (size_t i = 0; i < rec->n; i++) {
        assert_int_equal(rec->r[i].record, rec->records); /* one record each time */
        assert_true(c->n < sizeof c->r / sizeof c->r[0]);
        c->r[c->n++] = rec->r[i];
    }
    if (rec->records)
        assert_int_equal(rec->records, ++c->records);
    size_t n = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_uplink_encode(rec, c->enc + c->enc_len, sizeof c->enc - c->enc_len, &n, &err))
        fail_msg("record %zu: encode: %s", rec->records, err.msg);
    c->enc_len += n;
    c->json_len += lsws_uplink_json_stream(rec, &c->json_state, c->json + c->json_len,
                                           sizeof c->json - c->json_len);
    c->text_len += lsws_uplink_text(rec, c->text + c->text_len, sizeof c->text - c->text_len);
    assert_true(c->json_len < sizeof c->json && c->text_len < sizeof c->text);
    return c->stop_after && c->records == c->stop_after ? 7 : 0;
}

static void collect_reset(size_t stop_after)
{
    got.n = got.records = got.enc_len = got.json_len = got.text_len = 0;
    got.json_state = 0;
    got.stop_after = stop_after;
}

static int stream(enum lsws_model_id model, const uint8_t *b, size_t len, struct lsws_error *err)
{
    collect_reset(0);
    lsws_error_clear(err);
    int rc = lsws_uplink_decode_each(model, b, len, collect_record, &got, err);
    if (rc == LSWS_OK)
        got.json_len += lsws_uplink_json_stream(NULL, &got.json_state, got.json + got.json_len,
                                                sizeof got.json - got.json_len);
    return rc;
}

/* Every guide example: the stream delivers what the whole decode gives,
 * record by record, and its pieces re-encode and render to the same. */
static void test_stream_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const struct example *ex = &examples[i];
        uint8_t b[512];
        size_t len = parse(ex->hex, b, sizeof b);
        decode_hex(ex->model, ex->hex, &up);
        for (int auto_model = 0; auto_model <= 1; auto_model++) {
            struct lsws_error err;
            if (stream(auto_model ? AUTO : ex->model, b, len, &err))
                fail_msg("%s: stream: %s", ex->source, err.msg);
            assert_int_equal(got.n, up.n);
            assert_int_equal(got.records, up.records);
            for (size_t k = 0; k < up.n; k++) {
                assert_string_equal(got.r[k].name, up.r[k].name);
                assert_int_equal(got.r[k].value, up.r[k].value);
                assert_int_equal(got.r[k].channel, up.r[k].channel);
                assert_int_equal(got.r[k].record, up.r[k].record);
                assert_int_equal(got.r[k].timestamp, up.r[k].timestamp);
                assert_int_equal(got.r[k].kind, up.r[k].kind);
                assert_string_equal(got.r[k].str, up.r[k].str);
            }
            assert_int_equal(got.enc_len, len);
            assert_memory_equal(got.enc, b, len);
            got.json[got.json_len] = '\0';
            assert_string_equal(got.json, example_json(ex));
            assert_int_equal(got.json_state, 0);
            char text[8192];
            size_t tn = lsws_uplink_text(&up, text, sizeof text);
            assert_int_equal(got.text_len, tn);
            assert_memory_equal(got.text, text, tn);
        }
    }
    /* Nothing decoded yet is still one (empty) object. */
    unsigned st = 0;
    char buf[8];
    assert_int_equal(lsws_uplink_json_stream(NULL, &st, buf, sizeof buf), 2);
    assert_string_equal(buf, "{}");
}

/* A CTH01 history page of 300 records (3,900 readings, far beyond
 * LSWS_UPLINK_MAX) after live data: the whole form refuses it, the stream
 * decodes it, one record at a time. */
static void test_stream_300_records(void **state)
{
    (void)state;
    static uint8_t b[16384];
    size_t len = parse("ef0461011400", b, sizeof b); /* live data: a reply */
    for (unsigned k = 0; k < 300; k++) {
        uint32_t ts = 1770369441u + 600u * k;
        uint8_t head[6] = {0xed, LSWS_HIST_PERIODIC, (uint8_t)ts, (uint8_t)(ts >> 8),
                           (uint8_t)(ts >> 16), (uint8_t)(ts >> 24)};
        memcpy(b + len, head, sizeof head);
        len += sizeof head;
        b[len++] = 0x01; /* temperature (20.00 + k/100) °C */
        b[len++] = (uint8_t)(2000 + k);
        b[len++] = (uint8_t)((2000 + k) >> 8);
        b[len++] = 0x05; /* 12 currents of 3 bytes: channel c carries k * 100 + c */
        for (unsigned c = 1; c <= 12; c++) {
            uint32_t v = k * 100 + c;
            b[len++] = (uint8_t)v;
            b[len++] = (uint8_t)(v >> 8);
            b[len++] = (uint8_t)(v >> 16);
        }
    }
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_uplink_decode(CTH, b, len, &up, &err), LSWS_ERR_RANGE);
    assert_int_equal(up.n, LSWS_UPLINK_MAX);

    for (int auto_model = 0; auto_model <= 1; auto_model++) {
        if (stream(auto_model ? AUTO : CTH, b, len, &err))
            fail_msg("stream: %s", err.msg);
        assert_int_equal(got.records, 300);
        assert_int_equal(got.n, 1 + 300 * 13);
        assert_string_equal(got.r[0].name, "ans");
        for (unsigned k = 0; k < 300; k++) {
            const struct lsws_reading *t = &got.r[1 + 13 * k];
            assert_string_equal(t->name, "temperature");
            assert_int_equal(t->value, 2000 + k);
            assert_int_equal(t->record, k + 1);
            assert_int_equal(t->timestamp, 1770369441u + 600u * k);
            assert_int_equal(t->mode, LSWS_HIST_PERIODIC);
            const struct lsws_reading *c12 = &got.r[1 + 13 * k + 12];
            assert_string_equal(c12->name, "current");
            assert_int_equal(c12->channel, 12);
            assert_int_equal(c12->value, k * 100 + 12);
        }
        /* Each record encoded in turn gives the payload back. */
        assert_int_equal(got.enc_len, len);
        assert_memory_equal(got.enc, b, len);
        /* The JSON pieces make one object with 300 history entries. */
        got.json[got.json_len] = '\0';
        json_error_t jerr;
        json_t *j = json_loads(got.json, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
            fail_msg("stream JSON: %s", jerr.text);
        assert_int_equal(json_array_size(json_object_get(j, "history")), 300);
        assert_int_equal(json_array_size(json_object_get(j, "ans")), 1);
        json_t *last = json_array_get(json_object_get(j, "history"), 299);
        assert_int_equal(json_integer_value(json_object_get(last, "timestamp")),
                         1770369441 + 600 * 299);
        json_decref(j);
    }

    /* The callback stops the walk; its value comes back. */
    collect_reset(3);
    assert_int_equal(lsws_uplink_decode_each(CTH, b, len, collect_record, &got, &err), 7);
    assert_int_equal(got.records, 3);
    assert_int_equal(got.n, 1 + 3 * 13);
    /* Check only: no callback. */
    assert_int_equal(lsws_uplink_decode_each(CTH, b, len, NULL, NULL, &err), LSWS_OK);

    /* An error after records were delivered still names its byte. */
    size_t bad_at = len - 37; /* the last record's 05 */
    b[bad_at] = 0x42;
    assert_int_equal(stream(CTH, b, len, &err), LSWS_ERR_MALFORMED);
    assert_int_equal(err.offset, bad_at);
    assert_int_equal(got.records, 299);
    assert_non_null(strstr(err.msg, "unknown command 0x42"));
    b[bad_at] = 0x05;
    assert_int_equal(stream(CTH, b, len - 1, &err), LSWS_ERR_TRUNCATED);
    assert_int_equal(err.offset, bad_at);
}

/* Random payloads streamed: the stream meets the whole decode's error
 * (unless that is the payload's reading limit), and what decodes comes
 * back byte for byte from its records. */
static void test_stream_random(void **state)
{
    (void)state;
    uint64_t s = 0x2545f4914f6cdd1du;
    size_t ok = 0;
    for (int iter = 0; iter < 50000; iter++) {
        uint8_t b[64];
        size_t len = random_payload(&s, b, sizeof b);
        for (int m = 0; m <= LSWS_MODEL_COUNT; m++) {
            struct lsws_error ew, es;
            lsws_error_clear(&ew);
            int rw = lsws_uplink_decode((enum lsws_model_id)m, b, len, &up, &ew);
            int rs = stream((enum lsws_model_id)m, b, len, &es);
            if (rw == LSWS_ERR_RANGE)
                continue;
            if (rw != rs || (rw && (ew.offset != es.offset || strcmp(ew.msg, es.msg) != 0)))
                fail_msg("model %d: whole %d at %zu (%s), stream %d at %zu (%s)", m, rw,
                         ew.offset, ew.msg, rs, es.offset, es.msg);
            if (rs)
                continue;
            ok++;
            assert_int_equal(got.n, up.n);
            assert_int_equal(got.enc_len, len);
            assert_memory_equal(got.enc, b, len);
        }
    }
    assert_true(ok > 20);
}

/* LSWS_UPLINK_MAX holds per record when streaming. */
static void test_stream_record_limit(void **state)
{
    (void)state;
    static uint8_t b[1024];
    struct lsws_error err;
    /* 257 power-failure alarms in one record: too many for one record. */
    static const uint8_t head[] = {0xed, 0x01, 0xa1, 0xb1, 0x85, 0x69};
    memcpy(b, head, sizeof head);
    memset(b + sizeof head, 0x36, LSWS_UPLINK_MAX + 1);
    size_t len = sizeof head + LSWS_UPLINK_MAX + 1;
    assert_int_equal(stream(CTH, b, len, &err), LSWS_ERR_RANGE);
    assert_int_equal(err.offset, sizeof head + LSWS_UPLINK_MAX);
    assert_non_null(strstr(err.msg, "more than 256 readings in one history record"));
    assert_int_equal(stream(CTH, b, len - 1, &err), LSWS_OK);
    assert_int_equal(got.n, LSWS_UPLINK_MAX);
    /* Two records of 200: fine streamed, too many for the whole form. */
    len = 0;
    for (int k = 0; k < 2; k++) {
        memcpy(b + len, head, sizeof head);
        len += sizeof head;
        memset(b + len, 0x36, 200);
        len += 200;
    }
    assert_int_equal(stream(CTH, b, len, &err), LSWS_OK);
    assert_int_equal(got.records, 2);
    assert_int_equal(got.n, 400);
    assert_int_equal(lsws_uplink_decode(CTH, b, len, &up, &err), LSWS_ERR_RANGE);
    /* Live data: 257 alarms. */
    memset(b, 0x36, LSWS_UPLINK_MAX + 1);
    assert_int_equal(stream(CTH, b, LSWS_UPLINK_MAX + 1, &err), LSWS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "more than 256 readings of live data"));
    /* Arguments. */
    assert_int_equal(lsws_uplink_decode_each(CTH, NULL, 3, NULL, NULL, &err), LSWS_ERR_INVALID);
    assert_int_equal(lsws_uplink_decode_each((enum lsws_model_id)7, b, 3, NULL, NULL, &err),
                     LSWS_ERR_INVALID);
    assert_int_equal(lsws_uplink_decode_each(AUTO, NULL, 0, NULL, NULL, &err), LSWS_ERR_TRUNCATED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guide_examples),   cmocka_unit_test(test_reading_fields),
        cmocka_unit_test(test_socket_change),    cmocka_unit_test(test_truncated_every_byte),
        cmocka_unit_test(test_guide_typos),      cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_too_many_readings), cmocka_unit_test(test_autodetect),
        cmocka_unit_test(test_builder),          cmocka_unit_test(test_render_contract),
        cmocka_unit_test(test_text),             cmocka_unit_test(test_random),
        cmocka_unit_test(test_number_format),
        cmocka_unit_test(test_settings_through_model),
        cmocka_unit_test(test_stream_examples),
        cmocka_unit_test(test_stream_300_records),
        cmocka_unit_test(test_stream_random),
        cmocka_unit_test(test_stream_record_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
