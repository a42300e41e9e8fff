/* LoRaWAN settings shared by WS523 and CTH01, and the frequency bands.
 *
 * Sources: WS523 guide (seed 000) "Chapter 5. LoRaWAN Settings" and
 * "Multicast Setting"; CTH01 guide (seed 004) "Configure LoRaWAN Parameters".
 * The guides give no downlink command for these settings, so every code here
 * (0xfeNN) is lsws's own; docs/protocol.md lists them. */
#include "model_rows.h"

const struct lsws_enum lsws_enum_bool[] = {{"false", 0}, {"true", 1}, {NULL, 0}};

static const struct lsws_enum lorawan_versions[] = {{"v1.0.2", 2}, {"v1.0.3", 3}, {NULL, 0}};
/* Wire values follow the CTH01 basic-information "Work Mode" field (cf00). */
static const struct lsws_enum work_modes[] = {
    {"class_a", 0}, {"class_b", 1}, {"class_c", 2}, {NULL, 0}};
static const struct lsws_enum join_types[] = {{"abp", 0}, {"otaa", 1}, {NULL, 0}};
static const struct lsws_enum spreading_factors[] = {
    {"sf7", 7}, {"sf8", 8}, {"sf9", 9}, {"sf10", 10}, {"sf11", 11}, {"sf12", 12}, {NULL, 0}};

/* Wire values of lorawan.band; the order of lsws_bands below. */
static const struct lsws_enum band_names[] = {
    {"EU868", 0}, {"US915", 1}, {"AU915", 2}, {"CN470", 3},
    {"AS923", 4}, {"KR920", 5}, {"IN865", 6}, {"RU864", 7}, {NULL, 0}};

/* Channel counts and RX2 defaults from the LoRaWAN Regional Parameters; the
 * guides give the US915/AU915 index tables (WS523 "Configure the Network
 * Setting": 0-71) and the CN470 "enter the index" rule. Default channel lists:
 * the guides only say to set 8-15 for Milesight gateways, which implies the
 * factory state is not 8-15: lsws assumes All for the index-list bands and the
 * mandatory join channels for the others. */
/* Limits per band, LoRaWAN Regional Parameters RP002-1.0.3 (the CTH01
 * guide: the spreading factor "varies with Supported Frequency"):
 * - uplink SF on 125 kHz channels: US915 DR0-DR3 is SF10-SF7 (no SF11 or
 *   SF12 uplinks); the other bands' DR0-DR5 are SF12-SF7 (AS923 and AU915
 *   devices where a 400 ms dwell time applies stop at SF10, which the
 *   network sets with TxParamSetupReq; lsws allows the band's full range);
 * - TXPower indices: 0-7 (EU868, CN470, AS923, KR920, RU864), 0-10
 *   (IN865), 0-14 (US915, AU915);
 * - RX2 data rates: the band's downlink data rates (US915 and AU915 DR8-
 *   DR13; CN470 and KR920 DR0-DR5; the others DR0-DR7). */
static const struct lsws_band bands[] = {
    {"EU868", 16, 863000000, 870000000, 869525000, 0, "0-2", 7, 12, 7, 0, 7},
    {"US915", 72, 902000000, 928000000, 923300000, 8, "All", 7, 10, 14, 8, 13},
    {"AU915", 72, 915000000, 928000000, 923300000, 8, "All", 7, 12, 14, 8, 13},
    {"CN470", 96, 470000000, 510000000, 505300000, 0, "All", 7, 12, 7, 0, 5},
    {"AS923", 16, 915000000, 928000000, 923200000, 2, "0-1", 7, 12, 7, 0, 7},
    {"KR920", 16, 920000000, 923000000, 921900000, 0, "0-2", 7, 12, 7, 0, 5},
    {"IN865", 16, 865000000, 867000000, 866550000, 2, "0-2", 7, 12, 10, 0, 7},
    {"RU864", 16, 864000000, 870000000, 869100000, 0, "0-1", 7, 12, 7, 0, 7},
};

const struct lsws_band *lsws_band_at(size_t i)
{
    return i < sizeof bands / sizeof bands[0] ? &bands[i] : NULL;
}

/* AS923 channel plans (the WS52x guide's "Channel Plan AS923-1", 3.2.2; the
 * CTH01 guide: "select a channel plan"), RP002-1.0.3: AS923-2, -3 and -4
 * are AS923-1 shifted by -1.8, -6.6 and -5.9 MHz, each within its
 * countries' sub-band; RX2 at DR2 on the plan's RX2 channel. */
static const struct lsws_channel_plan plans[] = {
    {"as923-1", 915000000, 928000000, 923200000},
    {"as923-2", 920000000, 923000000, 921400000},
    {"as923-3", 915000000, 921000000, 916600000},
    {"as923-4", 917000000, 920000000, 917300000},
};
static const struct lsws_enum plan_names[] = {
    {"as923-1", 0}, {"as923-2", 1}, {"as923-3", 2}, {"as923-4", 3}, {NULL, 0}};

const struct lsws_channel_plan *lsws_channel_plan_at(size_t i)
{
    return i < sizeof plans / sizeof plans[0] ? &plans[i] : NULL;
}

#define S_LORA "WS523 guide ch.5 LoRaWAN Settings; CTH01 guide ch.4 Configure LoRaWAN Parameters"
#define S_KEY "5572404C696E6B4C6F52613230313823"

const struct lsws_row lsws_rows_lorawan[] = {
    {HEX("lorawan.app_eui", 8, "24e124c0002a0001"), AT(0xfe01, 2, 0, 8), .enc = LSWS_ENC_BYTES,
     .source = S_LORA, .help = "App EUI (Join EUI)"},
    {UINT("lorawan.app_port", NULL, 1, 223, "85"), AT(0xfe02, 2, 0, 1),
     .source = S_LORA, .help = "application port for uplinks and downlinks"},
    {ENUM("lorawan.version", lorawan_versions, "v1.0.3"), AT(0xfe03, 2, 0, 1),
     .source = S_LORA, .help = "LoRaWAN version"},
    {ENUM("lorawan.work_mode", work_modes, "class_c"), AT(0xfe04, 2, 0, 1),
     .flags = LSWS_F_READONLY, .source = S_LORA, .help = "work mode (fixed as Class C)"},
    {BOOL("lorawan.confirmed", "false"), AT(0xfe05, 2, 0, 1),
     .source = S_LORA, .help = "confirmed uplinks (resend once without ACK)"},
    {ENUM("lorawan.join_type", join_types, "otaa"), AT(0xfe06, 2, 0, 1),
     .source = S_LORA, .help = "join type"},
    /* Since Q4 2025 the App Key defaults to DevEUI+DevEUI (WS523 guide
     * v1.3 LoRaWAN Settings; CTH01 guide): a per-unit default. */
    {HEX("lorawan.app_key", 16, NULL), AT(0xfe07, 2, 0, 16), .enc = LSWS_ENC_BYTES,
     .flags = SECRET | LSWS_F_PER_DEVICE, .source = S_LORA, .help = "AppKey for OTAA"},
    {HEX("lorawan.nwk_skey", 16, S_KEY), AT(0xfe08, 2, 0, 16), .enc = LSWS_ENC_BYTES,
     .flags = SECRET, .source = S_LORA, .help = "NwkSKey for ABP"},
    {HEX("lorawan.app_skey", 16, S_KEY), AT(0xfe09, 2, 0, 16), .enc = LSWS_ENC_BYTES,
     .flags = SECRET, .source = S_LORA, .help = "AppSKey for ABP"},
    /* Default: the 5th to 12th digits of the SN (both guides). */
    {HEX("lorawan.dev_addr", 4, NULL), AT(0xfe0a, 2, 0, 4), .enc = LSWS_ENC_BYTES,
     .flags = LSWS_F_PER_DEVICE, .source = S_LORA, .help = "DevAddr for ABP"},
    /* Rejoin: enabled with 32 packets, as the WS52x guide's LoRaWAN screen
     * shows (seed 002 3.2.1 Basic Settings); the packet range is not given:
     * lsws allows 1-64. "Only OTAA mode supports rejoin mode" (lib/config.c). */
    {BOOL("lorawan.rejoin", "true"), AT(0xfe0b, 2, 0, 1),
     .source = S_LORA, .help = "rejoin mode (OTAA only): LinkCheckReq, rejoin on no answer"},
    {UINT("lorawan.rejoin_packets", "packets", 1, 64, "32"), AT(0xfe0b, 2, 1, 1),
     .source = S_LORA "; default: WS52x guide 3.2.1 Basic Settings",
     .help = "LinkCheckReq packets sent (the device sends this number + 1)"},
    {ENUM("lorawan.band", band_names, NULL), AT(0xfe0c, 2, 0, 1), .flags = LSWS_F_BAND,
     .source = S_LORA, .help = "supported frequency (band)"},
    {ENUM("lorawan.channel_plan", plan_names, "as923-1"), AT(0xfe14, 2, 0, 1),
     .source = "WS52x guide 3.2.2 Frequency Settings (Channel Plan); CTH01 guide ch.4 Configure "
               "Join Type and Frequency",
     .help = "AS923 channel plan: as923-1..4 (other bands ignore it)"},
    /* Byte 0: 1 = All (every channel of the band); bytes 1-12: bitmap. */
    {.key = "lorawan.channels", .type = LSWS_T_CHANNELS, .flags = LSWS_F_BAND,
     AT(0xfe0d, 2, 0, 13), .enc = LSWS_ENC_MASK, .source = S_LORA,
     .help = "enabled channel indices: \"1-40, 60\", \"All\" or \"Null\""},
    {BOOL("lorawan.adr", "true"), AT(0xfe0e, 2, 0, 1),
     .source = S_LORA, .help = "adaptive data rate"},
    {ENUM("lorawan.spreading_factor", spreading_factors, "sf10"), AT(0xfe0f, 2, 0, 1),
     .source = S_LORA, .help = "spreading factor when ADR is off"},
    {UINT("lorawan.tx_power", "index", 0, 15, "0"), AT(0xfe10, 2, 0, 1),
     .source = S_LORA, .help = "Tx power index of the band (0 = highest)"},
    {UINT("lorawan.rx2_data_rate", "DR", 0, 15, NULL), AT(0xfe11, 2, 0, 1), .flags = LSWS_F_BAND,
     .source = S_LORA, .help = "RX2 data rate (downlinks, D2D)"},
    {UINT("lorawan.rx2_frequency", "Hz", 100000000, 1000000000, NULL), AT(0xfe12, 2, 0, 4),
     .flags = LSWS_F_BAND, .source = S_LORA, .help = "RX2 frequency (within the band)"},
};
const size_t lsws_rows_lorawan_n = sizeof lsws_rows_lorawan / sizeof lsws_rows_lorawan[0];
