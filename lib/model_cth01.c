/* CTH01 settings table.
 *
 * Source: CTH01 guide v1.0 (seed 004), ch.4 "Configure the Device Parameters"
 * and ch.5 "Downlink Commands". Every code below except 0xfeNN is the
 * vendor's command ID (with its sub-byte where the guide uses one: 61 01,
 * c5 00..03, 77 0N, 78 0N, 79 0N, 7a 0N). */
#include "model_rows.h"

#define S_GEN "CTH01 guide ch.5 Commands for General Settings"
#define S_TIME "CTH01 guide ch.5 Commands for Time Settings"
#define S_CAL "CTH01 guide ch.5 Commands for Calibration Settings"
#define S_THR "CTH01 guide ch.5 Command for Threshold Settings"
#define S_REP "CTH01 guide ch.5 Command for Report Parameters"

static const char *const groups[] = {"a", "b", "c", "d"};

/* Command 66 is labelled "00=Single-Phrase, 01=Three-Phrase" in ch.5 while
 * ch.4 "Configure Interface Parameters" offers 3P4W and 3P3W; lsws maps
 * 00 to 3P4W (phases and neutral, serves single-phase loads) and 01 to 3P3W. */
static const struct lsws_enum voltage_wiring[] = {{"3p4w", 0}, {"3p3w", 1}, {NULL, 0}};
static const struct lsws_enum circuit_types[] = {{"single", 0}, {"three", 1}, {NULL, 0}};
static const struct lsws_enum directions[] = {{"forward", 0}, {"reverse", 1}, {NULL, 0}};
static const struct lsws_enum ct_ranges[] = {
    {"none", 0}, {"100a", 1}, {"300a", 2}, {"500a", 3}, {"1000a", 4}, {"4000a", 5}, {NULL, 0}};
/* Threshold condition, byte 2 of 76-78 (ch.5 "01=Below, 02=Above, 03=Within,
 * 04=Below or above"). One name per wire value for settings, templates and
 * decoded uplinks alike. 04 is "outside": the vendor decoder reports the
 * bare number (its comment: "x<A or x>B"), its codec calls the matching
 * alarm "Outside Thresholds", and it pairs with "within" (docs/decode.md). */
static const struct lsws_enum conditions[] = {
    {"disabled", 0}, {"below", 1}, {"above", 2}, {"within", 3}, {"outside", 4}, {NULL, 0}};
/* Week&Day low nibble: 1-7; the guide's example reads 7 as Sunday. */
static const struct lsws_enum weekdays[] = {
    {"mon", 1}, {"tue", 2}, {"wed", 3}, {"thu", 4}, {"fri", 5}, {"sat", 6}, {"sun", 7}, {NULL, 0}};

/* 6c report-parameter bits 0-14 (bit 15 is 0). Default on: the four the
 * guide marks "reports by default" (ch.4 Configure Report Parameters). */
#define REPORT_BIT(name, b, d, what)                                                         \
    {BOOL("report." name, d), AT(0x6c, 1, 0, 2), .shift = (b), .bits = 1, .flags = VENDOR,   \
     .source = S_REP " (6c bit " #b ")", .help = "report " what}

/* Threshold commands 76/77/78: enable, condition, min, max (INT16). */
#define THRESHOLD(prefix, n, code, clen, u, lo, hi, sc, what)                                 \
    {BOOL(prefix ".enabled", "false"), AT(code, clen, 0, 1), EACH(n, 1, 0), .flags = VENDOR, \
     .source = S_THR, .help = what " alarm"},                                               \
    {ENUM(prefix ".condition", conditions, "disabled"), AT(code, clen, 1, 1), EACH(n, 1, 0),  \
     .flags = VENDOR, .source = S_THR, .help = what " alarm condition"},                     \
    {INT(prefix ".min", u, lo, hi, "0"), AT(code, clen, 2, 2), .scale = (sc), EACH(n, 1, 0),  \
     .flags = VENDOR, .source = S_THR, .help = what " lower threshold"},                     \
    {INT(prefix ".max", u, lo, hi, "0"), AT(code, clen, 4, 2), .scale = (sc), EACH(n, 1, 0),  \
     .flags = VENDOR, .source = S_THR, .help = what " upper threshold"}

/* Commands 79/7a/7b: enable, fixed 02 (above), fixed 0000, max 1-100 %.
 * The guide gives no default maximum: lsws uses 100. */
#define ABOVE_ONLY(prefix, n, code, clen, what)                                                 \
    {BOOL(prefix ".enabled", "false"), AT(code, clen, 0, 1), EACH(n, 1, 0), .flags = VENDOR,   \
     .source = S_THR, .help = what " alarm (above threshold)"},                               \
    {CONST(2), AT(code, clen, 1, 1), EACH(n, 1, 0)},                                          \
    {CONST(0), AT(code, clen, 2, 2), EACH(n, 1, 0)},                                          \
    {UINT(prefix ".max", "%", 1, 100, "100"), AT(code, clen, 4, 2), EACH(n, 1, 0),              \
     .flags = VENDOR, .source = S_THR, .help = what " upper threshold"}

const struct lsws_row lsws_rows_cth01[] = {
    {UINT("general.report_interval", "min", 1, 1440, "10"), AT(0x6101, 2, 0, 2), .flags = VENDOR,
     .source = S_GEN " (61 01)", .help = "reporting interval"},
    {.key = "general.password", .type = LSWS_T_PASSWORD, .min = 6, .max = 6, .def = "123456",
     AT(0xfe31, 2, 0, 6), .enc = LSWS_ENC_BYTES, .flags = SECRET | LSWS_F_WRITEONLY,
     .source = "CTH01 guide ch.4 Change the Device Password",
     .help = "device password: 6 letters, digits or underscores"},
    /* Default name: model-XXXXXX from the SN (ch.4 Access the Device Using
     * Bluetooth). The 64 command is length-prefixed: 1-13 ASCII bytes. */
    {.key = "bluetooth.name", .type = LSWS_T_TEXT, .min = 1, .max = 13, AT(0x64, 1, 0, 13),
     .enc = LSWS_ENC_LSTR, .flags = VENDOR | LSWS_F_PER_DEVICE, .source = S_GEN " (64)",
     .help = "Bluetooth name, 1-13 characters"},

    /* Storage and retransmission defaults are not given except the
     * intervals; the guide has the user enable both, so both start off. */
    {BOOL("storage.enabled", "false"), AT(0xc500, 2, 0, 1), .flags = VENDOR,
     .source = S_GEN " (c5 00)", .help = "store periodic data on the device (20,000 records)"},
    {BOOL("storage.retransmission", "false"), AT(0xc501, 2, 0, 1), .flags = VENDOR,
     .source = S_GEN " (c5 01)", .help = "retransmit data lost while offline"},
    {UINT("storage.retransmission_interval", "s", 120, 1200, "600"), AT(0xc502, 2, 0, 2),
     .flags = VENDOR, .source = S_GEN " (c5 02)", .help = "retransmission interval"},
    {UINT("storage.retrieval_interval", "s", 120, 1200, "120"), AT(0xc503, 2, 0, 2),
     .flags = VENDOR, .source = S_GEN " (c5 03)", .help = "historical data retrieval interval"},

    /* c7: INT16 minutes ("INT16/60" hours). The guide gives no default. */
    {.key = "time.zone", .type = LSWS_T_UTC_OFFSET, .unit = "min", .min = -720, .max = 840,
     .def = "UTC+00:00", AT(0xc7, 1, 0, 2), .flags = VENDOR, .source = S_TIME " (c7)",
     .help = "time zone as UTC+HH:MM"},
    /* c6 DST; defaults follow the guide's example (last Sunday of March and
     * October at 01:00, 60 min), disabled. */
    {BOOL("time.dst.enabled", "false"), AT(0xc6, 1, 0, 1), .flags = VENDOR,
     .source = S_TIME " (c6)", .help = "daylight saving time"},
    {UINT("time.dst.bias", "min", 1, 120, "60"), AT(0xc6, 1, 1, 1), .flags = VENDOR,
     .source = S_TIME " (c6)", .help = "DST offset"},
    {UINT("time.dst.start.month", NULL, 1, 12, "3"), AT(0xc6, 1, 2, 1), .flags = VENDOR,
     .source = S_TIME " (c6)", .help = "DST start month"},
    {UINT("time.dst.start.week", NULL, 1, 5, "5"), AT(0xc6, 1, 3, 1), .shift = 4, .bits = 4,
     .flags = VENDOR, .source = S_TIME " (c6)", .help = "DST start week of month (5 = last)"},
    {ENUM("time.dst.start.weekday", weekdays, "sun"), AT(0xc6, 1, 3, 1), .shift = 0, .bits = 4,
     .flags = VENDOR, .source = S_TIME " (c6)", .help = "DST start weekday"},
    {UINT("time.dst.start.time", "min", 0, 1439, "60"), AT(0xc6, 1, 4, 2), .flags = VENDOR,
     .source = S_TIME " (c6)", .help = "DST start, minutes after midnight"},
    {UINT("time.dst.end.month", NULL, 1, 12, "10"), AT(0xc6, 1, 6, 1), .flags = VENDOR,
     .source = S_TIME " (c6)", .help = "DST end month"},
    {UINT("time.dst.end.week", NULL, 1, 5, "5"), AT(0xc6, 1, 7, 1), .shift = 4, .bits = 4,
     .flags = VENDOR, .source = S_TIME " (c6)", .help = "DST end week of month (5 = last)"},
    {ENUM("time.dst.end.weekday", weekdays, "sun"), AT(0xc6, 1, 7, 1), .shift = 0, .bits = 4,
     .flags = VENDOR, .source = S_TIME " (c6)", .help = "DST end weekday"},
    {UINT("time.dst.end.time", "min", 0, 1439, "60"), AT(0xc6, 1, 8, 2), .flags = VENDOR,
     .source = S_TIME " (c6)", .help = "DST end, minutes after midnight"},
    /* 6d: default the 1st at 00:00 (ch.5 Monthly Data Packet). */
    {UINT("monthly.day", NULL, 1, 28, "1"), AT(0x6d, 1, 0, 1), .flags = VENDOR,
     .source = S_TIME " (6d)", .help = "monthly summary day"},
    {UINT("monthly.hour", NULL, 0, 23, "0"), AT(0x6d, 1, 1, 1), .flags = VENDOR,
     .source = S_TIME " (6d)", .help = "monthly summary hour"},
    {UINT("monthly.minute", NULL, 0, 59, "0"), AT(0x6d, 1, 2, 1), .flags = VENDOR,
     .source = S_TIME " (6d)", .help = "monthly summary minute"},

    {ENUM("interface.voltage", voltage_wiring, "3p4w"), AT(0x66, 1, 0, 1), .flags = VENDOR,
     .source = S_REP " (66)", .help = "voltage wiring"},
    /* 67-6a: one command per group a-d: type, then direction and range for
     * its three channels. The guide's periodic example has all four groups
     * three-phase; lsws takes that, and 100 A CTs, as the factory state. */
    {ENUM("interface.group[%s].type", circuit_types, "three"), AT(0x67, 1, 0, 1), EACH(4, 1, 0),
     .index_names = groups, .flags = VENDOR, .source = S_REP " (67-6a)",
     .help = "circuit type of the group"},
    {ENUM("interface.current[%s].direction", directions, "forward"), AT(0x67, 1, 1, 1),
     EACH(12, 3, 3), .flags = VENDOR, .source = S_REP " (67-6a)",
     .help = "current direction of the channel"},
    {ENUM("interface.current[%s].range", ct_ranges, "100a"), AT(0x67, 1, 2, 2), EACH(12, 3, 3),
     .flags = VENDOR, .source = S_REP " (67-6a); 4000 A applies to the whole group",
     .help = "current range of the channel"},

    /* 6b: INT16/100 degC, range -120..120 as printed. */
    {BOOL("calibration.temperature.enabled", "false"), AT(0x6b, 1, 0, 1), .flags = VENDOR,
     .source = S_CAL " (6b)", .help = "temperature calibration"},
    {INT("calibration.temperature.value", "C", -12000, 12000, "0"), AT(0x6b, 1, 1, 2), .scale = 2,
     .flags = VENDOR, .source = S_CAL " (6b)", .help = "temperature calibration offset"},

    /* Ranges: temperature -20..100 degC (76); current and voltage are INT16
     * with no range given: lsws allows 0..4000 A (largest CT range) and
     * 0..1000 V. */
    THRESHOLD("alarm.temperature", 1, 0x76, 1, "C", -2000, 10000, 2, "temperature"),
    THRESHOLD("alarm.current[%s]", 12, 0x7700, 2, "A", 0, 4000, 0, "current"),
    THRESHOLD("alarm.voltage[%s]", 3, 0x7800, 2, "V", 0, 1000, 0, "voltage"),
    ABOVE_ONLY("alarm.thdi[%s]", 12, 0x7900, 2, "current THD"),
    ABOVE_ONLY("alarm.thdv[%s]", 3, 0x7a00, 2, "voltage THD"),
    ABOVE_ONLY("alarm.unbalance", 1, 0x7b, 1, "voltage three-phase unbalance"),
    /* 7c: defaults 5 min and 3 times (ch.4 Configure Threshold Parameters);
     * dismiss report default not given: off. */
    {UINT("alarm.interval", "min", 1, 1440, "5"), AT(0x7c, 1, 0, 2), .flags = VENDOR,
     .source = S_THR " (7c)", .help = "alarm reporting interval (shorter than the report interval)"},
    {UINT("alarm.times", NULL, 1, 1000, "3"), AT(0x7c, 1, 2, 2), .flags = VENDOR,
     .source = S_THR " (7c)", .help = "alarm reports per alarm"},
    {BOOL("alarm.dismiss_report", "false"), AT(0x7c, 1, 4, 1), .flags = VENDOR,
     .source = S_THR " (7c)", .help = "report when an alarm clears"},

    REPORT_BIT("temperature", 0, "true", "temperature"),
    REPORT_BIT("current", 1, "false", "RMS current"),
    REPORT_BIT("voltage", 2, "false", "RMS voltage"),
    REPORT_BIT("power_factor", 3, "true", "power factor"),
    REPORT_BIT("active_power", 4, "true", "active power"),
    REPORT_BIT("reactive_power", 5, "false", "reactive power"),
    REPORT_BIT("apparent_power", 6, "false", "apparent power"),
    REPORT_BIT("import_active_energy", 7, "true", "imported active energy"),
    REPORT_BIT("export_active_energy", 8, "false", "exported active energy"),
    REPORT_BIT("import_reactive_energy", 9, "false", "imported reactive energy"),
    REPORT_BIT("export_reactive_energy", 10, "false", "exported reactive energy"),
    REPORT_BIT("apparent_energy", 11, "false", "apparent energy"),
    REPORT_BIT("thdi", 12, "false", "current THD"),
    REPORT_BIT("thdv", 13, "false", "voltage THD"),
    REPORT_BIT("voltage_unbalance", 14, "false", "voltage three-phase unbalance"),
};
const size_t lsws_rows_cth01_n = sizeof lsws_rows_cth01 / sizeof lsws_rows_cth01[0];

/* Settings whose commands answer a configuration query (b9 reporting
 * interval, 58xx thresholds; ch.5 "Configuration Query") in uplinks. The
 * fixed bytes of 79-7b (condition 02, minimum 0000) are checked, not
 * reported. */
#define THRESHOLD_READINGS(key, name)                                                        \
    {key ".enabled", name "_threshold_enable"}, {key ".condition", name "_threshold_condition"}, \
        {key ".min", name "_threshold_min"}, {key ".max", name "_threshold_max"}
const struct lsws_reading_name lsws_readings_cth01[] = {
    {"general.report_interval", "reporting_interval"},
    THRESHOLD_READINGS("alarm.temperature", "temperature"),
    THRESHOLD_READINGS("alarm.current[%s]", "current"),
    THRESHOLD_READINGS("alarm.voltage[%s]", "voltage"),
    {"alarm.thdi[%s].enabled", "thdi_threshold_enable"},
    {"alarm.thdi[%s].max", "thdi_threshold_max"},
    {"alarm.thdv[%s].enabled", "thdv_threshold_enable"},
    {"alarm.thdv[%s].max", "thdv_threshold_max"},
    {"alarm.unbalance.enabled", "voltage_unbalance_threshold_enable"},
    {"alarm.unbalance.max", "voltage_unbalance_threshold_max"},
    {NULL, NULL},
};
