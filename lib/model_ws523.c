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

    /* Guide: minutes 1-1080, default 20; the ff03 downlink carries seconds. */
    {UINT("general.report_interval", "min", 1, 1080, "20"), AT(0xff03, 2, 0, 2), .wire_mul = 60,
     .flags = VENDOR, .source = S_GEN "; " S_DL " (ff03, seconds)",
     .help = "reporting interval"},
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
    /* Thresholds are one byte of amperes; the guides give no range. lsws
     * allows 1-30 A (rated current plus the 30% the device always trips at). */
    {BOOL("general.overcurrent_alarm.enabled", "false"), AT(0xff24, 2, 0, 1), .flags = VENDOR,
     .source = S_GEN "; " S_DL " (ff24)", .help = "overcurrent alarm"},
    {UINT("general.overcurrent_alarm.threshold", "A", 1, 30, "10"), AT(0xff24, 2, 1, 1),
     .flags = VENDOR, .source = S_DL " (ff24 byte 2)", .help = "overcurrent alarm threshold"},
    {BOOL("general.overcurrent_protection.enabled", "true"), AT(0xff30, 2, 0, 1), .flags = VENDOR,
     .source = S_GEN "; " S_DL " (ff30)", .help = "cut power over the threshold"},
    {UINT("general.overcurrent_protection.threshold", "A", 1, 30, "10"), AT(0xff30, 2, 1, 1),
     .flags = VENDOR, .source = S_DL " (ff30 byte 2)", .help = "overcurrent protection threshold"},
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
 * "Uplink Data"), named as the vendor decoder names them. */
const struct lsws_reading_name lsws_readings_ws523[] = {
    {"general.overcurrent_alarm.enabled", "overcurrent_alarm_enable"},
    {"general.overcurrent_alarm.threshold", "overcurrent_alarm_threshold"},
    {"general.overcurrent_protection.enabled", "overcurrent_protection_enable"},
    {"general.overcurrent_protection.threshold", "overcurrent_protection_threshold"},
    {"general.button_lock", "button_lock"},
    {"general.power_consumption", "power_consumption_enable"},
    {NULL, NULL},
};
