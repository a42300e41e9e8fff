/* WS523 / WS52x settings table.
 *
 * Sources: WS523 guide v1.3 (seed 000) ch.5 "General Settings", "Multicast
 * Setting", "Milesight D2D Agent", ch.6 "Downlink Command"; the older
 * WS523/WS52x guides (seeds 001-003) agree where they overlap. Codes 0xffNN are
 * the vendor's channel ff downlinks; 0xfeNN are lsws's own (docs/protocol.md). */
#include "model_rows.h"

static const struct lsws_enum power_restore[] = {
    {"off", 0}, {"on", 1}, {"previous", 2}, {NULL, 0}};
static const struct lsws_enum channel_modes[] = {{"standard", 0}, {"single", 1}, {NULL, 0}};

#define S_GEN "WS523 guide ch.5 General Settings"
#define S_DL "WS523 guide ch.6 Downlink Command, General Settings"
#define S_MC "WS523 guide ch.5 Multicast Setting"
#define S_D2D "WS523 guide ch.5 Milesight D2D Agent"

static const char *const mc_key_defaults[] = {
    "5572404c696e6b4c6f52613230313823", "5572404c696e6b4c6f52613230313824",
    "5572404c696e6b4c6f52613230313825", "5572404c696e6b4c6f52613230313826"};

const struct lsws_row lsws_rows_ws523[] = {
    {ENUM("lorawan.channel_mode", channel_modes, "standard"), AT(0xfe13, 2, 0, 1),
     .source = "WS523 guide ch.5 LoRaWAN Settings (Channel Mode, v1.3)",
     .help = "standard or single-channel uplinks"},

    /* Multicast groups 1-4: one lsws command each (enable, address, keys).
     * Default keys ...23 to ...26 per group; the address default is not
     * given: lsws uses 00000000. */
    {BOOL("multicast.group[%s].enabled", "false"), AT(0xfe20, 2, 0, 1), EACH(4, 1, 0),
     .source = S_MC, .help = "receive this multicast group"},
    {HEX("multicast.group[%s].address", 4, "00000000"), AT(0xfe20, 2, 1, 4), EACH(4, 1, 0),
     .enc = LSWS_ENC_BYTES, .source = S_MC, .help = "multicast address (8 hex digits)"},
    {HEX("multicast.group[%s].mc_nwk_skey", 16, NULL), AT(0xfe20, 2, 5, 16), EACH(4, 1, 0),
     .enc = LSWS_ENC_BYTES, .flags = SECRET, .index_defs = mc_key_defaults, .source = S_MC,
     .help = "McNetSKey"},
    {HEX("multicast.group[%s].mc_app_skey", 16, NULL), AT(0xfe20, 2, 21, 16), EACH(4, 1, 0),
     .enc = LSWS_ENC_BYTES, .flags = SECRET, .index_defs = mc_key_defaults, .source = S_MC,
     .help = "McAppSKey"},

    /* The ff03 downlink and its echo carry seconds ("UINT16, Unit: s"), so
     * the setting is in seconds: a unit holding 90 s (set by a downlink)
     * reads back as 90 and writes back as 90. Range: the guide's 1-1080
     * min, default 20 min (ch.5 General Settings). */
    {UINT("general.report_interval", "s", 60, 64800, "1200"), AT(0xff03, 2, 0, 2),
     .flags = VENDOR, .source = S_GEN " (1-1080 min, default 20); " S_DL " (ff03, seconds)",
     .help = "reporting interval (20min, 1200s, 90s: 1 min to 18 h)"},
    {BOOL("general.led", "true"), AT(0xff2f, 2, 0, 1), .flags = VENDOR,
     .source = S_GEN "; " S_DL " (ff2f)", .help = "LED indicator"},
    /* Factory state of the next five follows the v1.3 basic-information
     * example (ff240000 ff30010a ff250000 ff2601). */
    {BOOL("general.power_consumption", "true"), AT(0xff26, 2, 0, 1), .flags = VENDOR,
     .source = S_GEN "; " S_DL " (ff26)", .help = "record power consumption"},
    {ENUM("general.power_restore", power_restore, "previous"), AT(0xfe30, 2, 0, 1),
     .source = S_GEN " (When Power is Restored, Socket)",
     .help = "socket state when power returns"},
    /* ff25: 0000 disabled, 0080 enabled, i.e. bit 15 of a little-endian u16. */
    {BOOL("general.button_lock", "false"), AT(0xff25, 2, 0, 2), .shift = 15, .bits = 1,
     .flags = VENDOR, .source = S_GEN "; " S_DL " (ff25)",
     .help = "lock the power button (reset still works)"},
    /* Thresholds are one byte of amperes ("Byte 2: current threshold, unit:
     * A"); the guides give no range, so lsws takes the byte's, 0-255 A. The
     * guide's own factory state is ff240000 (alarm disabled, 0 A), so 0 is
     * a value a unit holds; an enabled alarm or protection needs at least
     * 1 A (lib/config.c). Above the rated current plus 30% the unit trips
     * anyway (ch.5 General Settings, Note). */
    {BOOL("general.overcurrent_alarm.enabled", "false"), AT(0xff24, 2, 0, 1), .flags = VENDOR,
     .source = S_GEN "; " S_DL " (ff24)", .help = "overcurrent alarm"},
    {UINT("general.overcurrent_alarm.threshold", "A", 0, 255, "0"), AT(0xff24, 2, 1, 1),
     .flags = VENDOR, .source = S_DL " (ff24 byte 2); default: ch.6 Basic Information example",
     .help = "overcurrent alarm threshold"},
    {BOOL("general.overcurrent_protection.enabled", "true"), AT(0xff30, 2, 0, 1), .flags = VENDOR,
     .source = S_GEN "; " S_DL " (ff30)", .help = "cut power over the threshold"},
    {UINT("general.overcurrent_protection.threshold", "A", 0, 255, "10"), AT(0xff30, 2, 1, 1),
     .flags = VENDOR, .source = S_DL " (ff30 byte 2); default: ch.6 Basic Information example",
     .help = "overcurrent protection threshold"},
    {.key = "general.password", .type = LSWS_T_PASSWORD, .min = 6, .max = 6, .def = "123456",
     AT(0xfe31, 2, 0, 6), .enc = LSWS_ENC_BYTES, .flags = SECRET | LSWS_F_WRITEONLY,
     .source = S_GEN " (Change Password); default 123456 (Preface)",
     .help = "device password: 6 letters, digits or underscores"},

    {BOOL("d2d.enabled", "false"), AT(0xfe40, 2, 0, 1),
     .source = S_D2D, .help = "Milesight D2D agent"},
    {HEX("d2d.key", 16, "5572404c696e6b4c6f52613230313823"), AT(0xfe40, 2, 1, 16),
     .enc = LSWS_ENC_BYTES, .flags = SECRET, .source = S_D2D, .help = "D2D key"},
    /* Up to 16 rules: a 2-byte command (0000-ffff) switches the socket. */
    {BOOL("d2d.rule[%s].enabled", "false"), AT(0xfe50, 2, 0, 1), EACH(16, 1, 0),
     .source = S_D2D, .help = "D2D control rule"},
    {HEX("d2d.rule[%s].command", 2, "0000"), AT(0xfe50, 2, 1, 2), EACH(16, 1, 0),
     .enc = LSWS_ENC_BYTES, .source = S_D2D, .help = "D2D control command (4 hex digits)"},
    {ENUM("d2d.rule[%s].action", lsws_enum_off_on, "on"), AT(0xfe50, 2, 3, 1), EACH(16, 1, 0),
     .source = S_D2D, .help = "socket action on the command"},
};
const size_t lsws_rows_ws523_n = sizeof lsws_rows_ws523 / sizeof lsws_rows_ws523[0];

/* Settings the unit reports in uplinks (basic information, guides 000-003
 * "Uplink Data"; its responses to the downlinks that set them), named as
 * the vendor decoder (SensorDecoders ws523-decoder.js) names them: a dotted
 * name is a member of an object in JSON. */
const struct lsws_reading_name lsws_readings_ws523[] = {
    {"general.report_interval", "report_interval"},
    {"general.led", "led_indicator_enable"},
    {"general.overcurrent_alarm.enabled", "current_alarm_config.enable"},
    {"general.overcurrent_alarm.threshold", "current_alarm_config.threshold"},
    {"general.overcurrent_protection.enabled", "over_current_protection.enable"},
    {"general.overcurrent_protection.threshold", "over_current_protection.trip_current"},
    {"general.button_lock", "child_lock_config.enable"},
    {"general.power_consumption", "power_consumption_enable"},
    {NULL, NULL},
};
