/* Uplink telemetry codec: WS523 channel/type TLVs and CTH01 command TLVs,
 * decoded into readings and encoded back, byte for byte.
 *
 * Each vendor command is described once:
 * - a command that carries settings (WS523 ff03, ff24, ff25, ff26, ff2f,
 *   ff30; every CTH01 settings command, in basic information and replies to
 *   configuration queries) is the model tables' command (lib/model_*.c),
 *   read and written by the settings codec's field reader and writer
 *   (lsws_field_get/put); each setting gives one reading, named by
 *   lsws_readings_<model>;
 * - telemetry (periodic data, alarms, basic information that is no
 *   setting, CTH01 history headers and replies) and the control commands a
 *   unit echoes (WS523 ff10, ff22, ff23, ff27, ff28, socket control; CTH01
 *   b6-b9, be, 5b-5f) are described by the tables below: a command is a list
 *   of fields, each a width, a count and how its bytes read. The control
 *   actions `lsws encode` sends (lib/action.c) are these same commands.
 * Decode turns each value field into a reading, record by record (live
 * data, then each CTH01 `ed` history record); encode takes the readings back
 * in the same order. Pure: no I/O, no allocation, every read bounded by the
 * payload length. Names, units and the choices made where the guides
 * disagree: docs/decode.md. */
#include "le.h"
#include "model_rows.h"
#include "uplink_int.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tables ---------------------------------------------------------------- */

#define FIELDS(...)                                                                                \
    (const struct ufield[]){__VA_ARGS__},                                                          \
        (uint8_t)(sizeof((const struct ufield[]){__VA_ARGS__}) / sizeof(struct ufield))
#define CMD(code, len, flags, ...) {code, len, flags, FIELDS(__VA_ARGS__)}

/* Names are string literals or char arrays, so sizeof gives their length;
 * build_indexes checks it against strlen. */
#define F_(n, t, w) .name = (n), .type = (t), .width = (w), .count = 1, .name_len = sizeof(n) - 1
#define FN_(n, t, w) .name = (n), .type = (t), .width = (w), .name_len = sizeof(n) - 1
#define NUM(n, w, s, u) {F_(n, FT_UINT, w), .scale = (s), .unit = (u)}
#define SNUM(n, w, s, u) {F_(n, FT_SINT, w), .scale = (s), .unit = (u)}
/* A measurement whose all-ones bytes are the vendor's invalid reading. */
#define MNUM(n, w, s, u) {F_(n, FT_UINT, w), .scale = (s), .unit = (u), .flags = UF_INVALID}
#define ARR(n, w, cnt, c0, s, u)                                                                   \
    {FN_(n, FT_UINT, w), .count = (cnt), .ch0 = (c0), .scale = (s), .unit = (u), .flags = UF_INVALID}
#define SARR(n, w, cnt, c0, s, u)                                                                  \
    {FN_(n, FT_SINT, w), .count = (cnt), .ch0 = (c0), .scale = (s), .unit = (u), .flags = UF_INVALID}
#define NAMES(n, w, tab) {F_(n, FT_ENUM, w), .names = (tab)}
#define ANY(n, tab) {F_(n, FT_ENUM, 1), .names = (tab), .flags = UF_ANY}
#define FLAG(n) NAMES(n, 0, flag_yes)
#define BYTES(n, w) {F_(n, FT_HEX, w)}
#define TEXT(n, w) {F_(n, FT_TEXT, w)}
#define VER(n, t, w) {F_(n, t, w)}
#define CHAN(max) {F_(NULL, FT_CHAN, 1), .arg = (max)}
#define ATYPE {F_(NULL, FT_ATYPE, 1), .names = alarm_types}
#define FIXED(w, v) {F_(NULL, FT_FIXED, w), .fix = (v), .alt = (v)}
#define FIXED2(w, v, a) {F_(NULL, FT_FIXED, w), .fix = (v), .alt = (a)}
/* Single/three-phase mask: the guide gives the unused bits as 0. Checking
 * them also keeps WS523 payloads from passing for CTH01 ones (the WS523
 * periodic example is 26 bytes, the size of a CTH01 `08` command). */
#define MASK(n, bits) {F_(n, FT_UINT, 1), .arg = (bits), .flags = UF_MASK}

/* Names used by more than one row are single static strings, so readings of
 * one quantity share a pointer and the JSON renderer groups them cheaply. */
static const char n_voltage[] = "voltage", n_current[] = "current",
                  n_power_factor[] = "power_factor", n_active_power[] = "active_power",
                  n_reactive_power[] = "reactive_power", n_apparent_power[] = "apparent_power",
                  n_fwd_active[] = "forward_active_energy", n_rev_active[] = "reverse_active_energy",
                  n_fwd_reactive[] = "forward_reactive_energy",
                  n_rev_reactive[] = "reverse_reactive_energy",
                  n_apparent_energy[] = "apparent_energy", n_socket_change[] = "socket_change",
                  n_socket_status[] = "socket_status", n_ans[] = "ans", n_reboot[] = "reboot";

/* 0x: periodic status or change by command; 1x: change by the button. */
static const struct lsws_enum socket_states[] = {
    {"off", 0x00}, {"on", 0x01}, {"off", 0x10}, {"on", 0x11}, {NULL, 0}};
/* ff22 byte 4: "10-close, 11-open" (WS523 guide ch.6 Task Settings). */
static const struct lsws_enum delay_states[] = {{"off", 0x10}, {"on", 0x11}, {NULL, 0}};
static const struct lsws_enum ff_on[] = {{"on", 0xff}, {NULL, 0}};
static const struct lsws_enum ff_yes[] = {{"yes", 0xff}, {NULL, 0}};
static const struct lsws_enum flag_yes[] = {{"yes", 0}, {NULL, 0}};
static const struct lsws_enum any_reset[] = {{"reset", 0}, {NULL, 0}};
static const struct lsws_enum lorawan_class[] = {
    {"Class A", 0}, {"Class B", 1}, {"Class C", 2}, {"Class C to B", 3}, {NULL, 0}};
/* ff0f: the vendor decoder's spelling. */
static const struct lsws_enum lorawan_class_ws[] = {
    {"Class A", 0}, {"Class B", 1}, {"Class C", 2}, {"Class CtoB", 3}, {NULL, 0}};
/* One list for every CTH01 alarm (30..35); the guide lists a subset per alarm. */
static const struct lsws_enum alarm_types[] = {
    {"collect_error", 0x00},
    {"below_range", 0x01},
    {"above_range", 0x02},
    {"no_data", 0x03},
    {"above_range_dismiss", 0x04},
    {"below_threshold_dismiss", 0x10},
    {"below_threshold", 0x11},
    {"above_threshold_dismiss", 0x12},
    {"above_threshold", 0x13},
    {"within_threshold_dismiss", 0x14},
    {"within_threshold", 0x15},
    {"out_of_threshold_dismiss", 0x16},
    {"out_of_threshold", 0x17},
    {NULL, 0}};
/* ef reply result codes: the guide's four; others are "unknown" (raw kept). */
static const struct lsws_enum reply_results[] = {{"success", 0},
                                                 {"parameter_error", 5},
                                                 {"execute_error", 7},
                                                 {"association_error", 10},
                                                 {NULL, 0}};
/* Byte 1 of 5b-5e (CTH01 guide ch.5 Commands for Historical Data Query). */
const struct lsws_enum lsws_enum_history_types[] = {{"alarm", 0},
                                                    {"periodic", 1},
                                                    {"monthly_energy", 2},
                                                    {"monthly_minmax", 3},
                                                    {NULL, 0}};
/* Byte 1 of 58 (CTH01 guide ch.5 Commands for Configuration Query). */
const struct lsws_enum lsws_enum_threshold_queries[] = {
    {"temperature", 0}, {"current", 1}, {"voltage", 2}, {"thdi", 3},
    {"thdv", 4},        {"unbalance", 5}, {NULL, 0}};
/* Vendor decoder only (not in the guides). */
static const struct lsws_enum collection_units[] = {{"second", 0}, {"minute", 1}, {NULL, 0}};
static const struct lsws_enum temperature_units[] = {{"celsius", 0}, {"fahrenheit", 1}, {NULL, 0}};

#define S_WS_DL "WS523 guide v1.3 ch.6 Downlink Command"

/* WS523 / WS52x guides 000-003, "Uplink Data" and "Downlink Command". The
 * settings in basic information and in downlink responses (ff03, ff24,
 * ff25, ff26, ff2f, ff30) are the model's commands. Two-byte codes are
 * looked up before the one-byte socket control code 08. */
static const struct ucmd ws523_cmds[] = {
    CMD(0xff01, 2, 0, VER("ipso_version", FT_VER1, 1)),
    CMD(0xff09, 2, 0, VER("hardware_version", FT_VER_HW, 2)),
    CMD(0xff0a, 2, 0, VER("firmware_version", FT_VER, 2)),
    CMD(0xff0b, 2, 0, NAMES("device_status", 1, ff_on)),
    CMD(0xff16, 2, 0, BYTES("sn", 8)),
    CMD(0xff3f, 2, 0, NAMES("power_outage", 1, ff_yes)),
    CMD(0x0374, 2, 0, NUM(n_voltage, 2, 1, "V")),
    CMD(0x0480, 2, 0, NUM(n_active_power, 4, 0, "W")),
    CMD(0x0581, 2, 0, NUM(n_power_factor, 1, 0, "%")),
    CMD(0x0683, 2, 0, NUM("power_consumption", 4, 0, "Wh")),
    CMD(0x07c9, 2, 0, NUM(n_current, 2, 0, "mA")),
    CMD(0x0870, 2, 0, {F_(n_socket_status, FT_ENUM, 1), .flags = UF_SOCKET, .names = socket_states}),
    /* Downlink responses: the unit echoes the control commands (guide
     * "Downlink Command", "Task Settings"); the vendor decoder reads them
     * on channel ff and fe. */
    CMD(0xff10, 2, UC_FE, NAMES(n_reboot, 1, ff_yes)),
    CMD(0xff22, 2, UC_FE, FIXED(1, 0x00), NUM("delay_time", 2, 0, "s"),
        NAMES(n_socket_status, 1, delay_states)),
    CMD(0xff23, 2, UC_FE, NUM("cancel_delay_task", 1, 0, NULL), FIXED(1, 0xff)),
    CMD(0xff27, 2, UC_FE, NAMES("reset_power_consumption", 1, ff_yes)),
    CMD(0xff28, 2, UC_FE, NAMES("report_status", 1, ff_yes)),
    /* Vendor decoder only: not in the guides. */
    CMD(0xff2c, 2, UC_FE, NAMES("report_attribute", 1, ff_yes)),
    CMD(0xff0f, 2, 0, NAMES("lorawan_class", 1, lorawan_class_ws)),
    CMD(0xfffe, 2, 0, ANY("reset_event", any_reset)),
    CMD(0xffff, 2, 0, VER("tsl_version", FT_VER_DEC, 2)),
    /* Socket control 08 state 00 ff (guide ch.6 Socket Control); the
     * vendor's newer encoder sends 08 state ff ff: accepted, kept. */
    CMD(0x08, 1, 0, NAMES(n_socket_status, 1, lsws_enum_off_on), FIXED2(2, 0xff00, 0xffff)),
};

/* A CTH01 power or energy pair: mask byte + 6 x 4 bytes, channels 1-6 (a+b)
 * or 7-12 (c+d). */
#define PAIR(ab, cd, mask_ab, mask_cd, ARRT, name, unit)                                           \
    CMD(ab, 1, UC_HISTORY, MASK(mask_ab, 0x03), ARRT(name, 4, 6, 1, 0, unit)),                     \
        CMD(cd, 1, UC_HISTORY, MASK(mask_cd, 0x03), ARRT(name, 4, 6, 7, 0, unit))

/* CTH01 guide 004, chapter 5. Current values are UINT24 everywhere (DESIGN.md).
 * Replies to settings and configuration queries (61 01, 64, c5-c7, 66-6d,
 * 76-7c) are the model's commands. */
static const struct ucmd cth01_cmds[] = {
    /* The vendor decoder marks no invalid temperature. */
    CMD(0x01, 1, UC_HISTORY, SNUM("temperature", 2, 2, "°C")),
    CMD(0x02, 1, UC_HISTORY, MNUM("voltage_unbalance", 2, 2, "%")),
    CMD(0x03, 1, UC_HISTORY, ARR("thdi", 2, 12, 1, 2, "%")),
    CMD(0x04, 1, UC_HISTORY, ARR("thdv", 2, 3, 1, 2, "%")),
    CMD(0x05, 1, UC_HISTORY, ARR(n_current, 3, 12, 1, 2, "A")),
    CMD(0x06, 1, UC_HISTORY, ARR(n_voltage, 2, 3, 1, 2, "V")),
    CMD(0x07, 1, UC_HISTORY, MASK("power_factor_mask", 0x0f),
        ARR(n_power_factor, 1, 12, 1, 0, "%")),
    PAIR(0x08, 0x09, "active_power_mask_ab", "active_power_mask_cd", SARR, n_active_power, "W"),
    PAIR(0x0a, 0x0b, "reactive_power_mask_ab", "reactive_power_mask_cd", SARR, n_reactive_power,
         "var"),
    PAIR(0x0c, 0x0d, "apparent_power_mask_ab", "apparent_power_mask_cd", SARR, n_apparent_power,
         "VA"),
    PAIR(0x0e, 0x0f, "forward_active_energy_mask_ab", "forward_active_energy_mask_cd", ARR,
         n_fwd_active, "Wh"),
    PAIR(0x10, 0x11, "reverse_active_energy_mask_ab", "reverse_active_energy_mask_cd", ARR,
         n_rev_active, "Wh"),
    PAIR(0x12, 0x13, "forward_reactive_energy_mask_ab", "forward_reactive_energy_mask_cd", ARR,
         n_fwd_reactive, "varh"),
    PAIR(0x14, 0x15, "reverse_reactive_energy_mask_ab", "reverse_reactive_energy_mask_cd", ARR,
         n_rev_reactive, "varh"),
    PAIR(0x16, 0x17, "apparent_energy_mask_ab", "apparent_energy_mask_cd", ARR, n_apparent_energy,
         "VAh"),
    CMD(0x30, 1, UC_HISTORY, ATYPE, SNUM("temperature_alarm", 2, 2, "°C")),
    CMD(0x31, 1, UC_HISTORY, CHAN(11), ATYPE, MNUM("current_alarm", 3, 2, "A")),
    CMD(0x32, 1, UC_HISTORY, CHAN(2), ATYPE, MNUM("voltage_alarm", 2, 2, "V")),
    CMD(0x33, 1, UC_HISTORY, CHAN(11), ATYPE, MNUM("thdi_alarm", 2, 2, "%")),
    CMD(0x34, 1, UC_HISTORY, CHAN(2), ATYPE, MNUM("thdv_alarm", 2, 2, "%")),
    CMD(0x35, 1, UC_HISTORY, ATYPE, MNUM("voltage_unbalance_alarm", 2, 2, "%")),
    CMD(0x36, 1, UC_HISTORY, FLAG("power_loss_alarm")),
    /* Basic information packet (ch.5 Basic Information Packet); versions
     * decimal per byte, as the vendor decoder reads them. */
    CMD(0xdf, 1, 0, VER("tsl_version", FT_VER_DEC, 2)),
    CMD(0xee, 1, 0, FLAG("all_configurations_request_by_device")),
    CMD(0xdb, 1, 0, BYTES("product_sn", 8)),
    CMD(0xda, 1, 0, VER("version.hardware_version", FT_VER_DEC, 2),
        VER("version.firmware_version", FT_VER_FW, 6)),
    CMD(0xd9, 1, 0, BYTES("oem_id", 2)),
    CMD(0xc8, 1, 0, NAMES("device_status", 1, lsws_enum_off_on)),
    CMD(0xcf00, 2, 0, NAMES("work_mode", 1, lorawan_class)),
    /* Echoes of the control commands (ch.5 Downlink Commands). */
    CMD(0xbe, 1, 0, FLAG(n_reboot)),
    CMD(0xb6, 1, 0, FLAG("reconnect")),
    CMD(0xb8, 1, 0, FLAG("synchronize_time")),
    CMD(0xb9, 1, 0, FLAG("query_device_status")),
    CMD(0x58, 1, 0, NAMES("query_threshold_settings.type", 1, lsws_enum_threshold_queries)),
    CMD(0x5b, 1, 0, NAMES("retrieve_historical_data_by_time.type", 1, lsws_enum_history_types),
        NUM("retrieve_historical_data_by_time.time", 4, 0, "s")),
    CMD(0x5c, 1, 0,
        NAMES("retrieve_historical_data_by_time_range.type", 1, lsws_enum_history_types),
        NUM("retrieve_historical_data_by_time_range.start_time", 4, 0, "s"),
        NUM("retrieve_historical_data_by_time_range.end_time", 4, 0, "s")),
    CMD(0x5d, 1, 0, NAMES("stop_historical_data_retrieval.type", 1, lsws_enum_history_types)),
    CMD(0x5e, 1, 0, NAMES("clear_data.type", 1, lsws_enum_history_types)),
    CMD(0x5f, 1, 0, NUM("reset_energy.channel", 1, 0, NULL)),
    /* Vendor decoder only: not in the guide. */
    CMD(0xff, 1, 0, NUM("check_sequence_number_reply.sequence_number", 1, 0, NULL)),
    CMD(0xfe, 1, 0, FLAG("check_order_reply")),
    CMD(0xde, 1, 0, TEXT("product_name", 32)),
    CMD(0xdd, 1, 0, TEXT("product_pn", 32)),
    CMD(0xd8, 1, 0, TEXT("product_frequency_band", 16)),
    CMD(0xcfd8, 2, 0, NUM("lorawan_configuration_settings.version", 1, 0, NULL)),
    CMD(0x60, 1, 0, NAMES("collection_interval.unit", 1, collection_units),
        NUM("collection_interval.value", 2, 0, NULL)),
    CMD(0x63, 1, 0, NAMES("temperature_unit", 1, temperature_units)),
    CMD(0xbf, 1, 0, FLAG("reset")),
    CMD(0xb7, 1, 0, NUM("set_time.timestamp", 4, 0, "s")),
    CMD(0x57, 1, 0, FLAG("query_history_set")),
};

#define CTH01_HISTORY 0xed /* ed mode(1) timestamp(4) [40 type] commands... */
#define CTH01_HISTORY_TAG 0x40
#define CTH01_REPLY 0xef /* ef result<<4|len command(len) */

struct table {
    const char *name;
    const struct ucmd *cmds;
    size_t n;
};

static const struct table tables[LSWS_MODEL_COUNT] = {
    [LSWS_MODEL_WS523] = {"ws523", ws523_cmds, sizeof ws523_cmds / sizeof ws523_cmds[0]},
    [LSWS_MODEL_CTH01] = {"cth01", cth01_cmds, sizeof cth01_cmds / sizeof cth01_cmds[0]},
};

/* ---- small helpers ------------------------------------------------------- */

static const char *enum_name(const struct lsws_enum *e, uint64_t v)
{
    const struct lsws_enum *f = lsws_enum_find(e, (int64_t)v);
    return f ? f->name : NULL;
}

/* "00, 01, 10 or 11": the wire values an enum accepts, for messages. */
static const char *enum_list(const struct lsws_enum *e, unsigned width, char *buf, size_t cap)
{
    size_t n = 0, count = 0;
    for (const struct lsws_enum *p = e; p->name; p++)
        count++;
    buf[0] = '\0';
    for (size_t i = 0; i < count && n < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        /* Wire order: little-endian bytes, as the guides print them. */
        uint64_t v = (uint64_t)e[i].value;
        char hex[17];
        for (unsigned b = 0; b < width && b < 8; b++)
            snprintf(hex + 2 * b, 3, "%02x", (unsigned)(v >> (8 * b)) & 0xffu);
        hex[2 * (width < 8 ? width : 8)] = '\0';
        int w = snprintf(buf + n, cap - n, "%s%s", sep, hex);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return buf;
}

static size_t cmd_data_len(const struct ucmd *c)
{
    size_t n = 0;
    for (unsigned i = 0; i < c->nf; i++)
        n += (size_t)c->f[i].width * c->f[i].count;
    return n;
}

static int makes_reading(const struct ufield *f)
{
    return f->type != FT_CHAN && f->type != FT_ATYPE && f->type != FT_FIXED;
}

static int has_field(const struct ucmd *c, enum ftype t)
{
    for (unsigned i = 0; i < c->nf; i++)
        if (c->f[i].type == t)
            return 1;
    return 0;
}

/* "channel 0x03 type 0x74" or "command 0x05": how messages name a command. */
static const char *cmd_label(enum lsws_model_id model, unsigned code, unsigned code_len, char *buf,
                             size_t cap)
{
    if (model == LSWS_MODEL_WS523 && code_len == 1)
        snprintf(buf, cap, "channel 0x%02x", code);
    else if (model == LSWS_MODEL_WS523)
        snprintf(buf, cap, "channel 0x%02x type 0x%02x", code >> 8, code & 0xffu);
    else if (code_len == 2)
        snprintf(buf, cap, "command 0x%04x", code);
    else
        snprintf(buf, cap, "command 0x%02x", code);
    return buf;
}

static void format_version(char *s, size_t cap, enum ftype t, const uint8_t *b, unsigned width)
{
    if (t == FT_VER1) {
        snprintf(s, cap, "v%u", b[0]);
    } else if (t == FT_VER_HW) {
        if (b[1] & 0x0f) /* not in the guides; kept visible rather than dropped */
            snprintf(s, cap, "v%x.%x.%x", b[0], b[1] >> 4, b[1] & 0x0fu);
        else
            snprintf(s, cap, "v%x.%x", b[0], b[1] >> 4);
    } else if (t == FT_VER) {
        snprintf(s, cap, "v%x.%x", b[0], b[1]);
    } else if (t == FT_VER_DEC) {
        snprintf(s, cap, "v%u.%u", b[0], b[1]);
    } else {
        /* CTH01 `da` firmware: the guide gives 2 bytes of version and 4 of
         * 00000000; the vendor decoder reads them as release, alpha, unit
         * test and test numbers, shown when not zero. */
        static const char tags[] = "raut";
        int n = snprintf(s, cap, "v%u.%u", b[0], b[1]);
        for (unsigned i = 2; i < width && i < 6 && n > 0 && (size_t)n < cap; i++)
            if (b[i])
                n += snprintf(s + n, cap - (size_t)n, "-%c%u", tags[i - 2], b[i]);
    }
}

/* Whether the width bytes at b are all ones (the vendor's invalid reading). */
static int all_ones(const uint8_t *b, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        if (b[i] != 0xff)
            return 0;
    return width > 0;
}

/* Fills reading r from the wire bytes b of field f (value k of its count).
 * chan is the 1-based channel an FT_CHAN field set (0: none), atype the
 * alarm type an FT_ATYPE field set (-1: none). at is b's offset for errors. */
static int fill_reading(struct lsws_reading *r, const struct ucmd *cmd, const struct ufield *f,
                        unsigned k, unsigned chan, int atype, const uint8_t *b, size_t at,
                        struct lsws_error *err)
{
    uint64_t raw = f->width <= 8 ? lsws_get_le(b, f->width) : 0;
    r->name = f->name;
    r->unit = f->unit;
    r->text = NULL;
    r->code = cmd->code;
    r->channel = (uint8_t)(f->ch0 ? f->ch0 + k : chan);
    r->scale = f->scale;
    r->alarm = 0;
    r->flags = 0;
    r->name_len = 0;
    r->id = NULL;
    r->str[0] = '\0';
    r->value = f->type == FT_SINT ? lsws_sign_extend(raw, f->width) : (int64_t)raw;
    if ((f->flags & UF_INVALID) && all_ones(b, f->width))
        r->flags |= LSWS_RDF_INVALID;
    switch ((enum ftype)f->type) {
    case FT_UINT:
    case FT_SINT:
        if ((f->flags & UF_MASK) && (raw & ~(uint64_t)f->arg))
            return lsws_fail(err, LSWS_ERR_MALFORMED, at,
                             "malformed frame at byte %zu: %s is 0x%02x: expected bits 0x%02x "
                             "at most",
                             at, f->name, (unsigned)raw, f->arg);
        r->kind = LSWS_RD_NUM;
        if (atype >= 0) {
            r->kind = LSWS_RD_ALARM;
            r->alarm = (uint8_t)atype;
            r->text = enum_name(alarm_types, (unsigned)atype);
        }
        break;
    case FT_ENUM:
        r->kind = LSWS_RD_ENUM;
        r->text = f->flags & UF_ANY ? f->names[0].name : enum_name(f->names, raw);
        if (!r->text) {
            /* Found and expected values both in wire order, as the guides print them. */
            char list[96], found[2 * 8 + 1];
            lsws_hex_format(b, f->width, found);
            return lsws_fail(err, LSWS_ERR_MALFORMED, at,
                             "malformed frame at byte %zu: %s is %s: expected %s", at, f->name,
                             found, enum_list(f->names, f->width, list, sizeof list));
        }
        break;
    case FT_HEX:
        r->kind = LSWS_RD_TEXT;
        r->value = 0;
        lsws_hex_format(b, f->width, r->str);
        break;
    case FT_TEXT: {
        /* Printable ASCII, then NUL padding only, so that it encodes back. */
        unsigned n = 0;
        while (n < f->width && b[n] >= 0x20 && b[n] < 0x7f)
            n++;
        for (unsigned i = n; i < f->width; i++)
            if (b[i])
                return lsws_fail(err, LSWS_ERR_MALFORMED, at + i,
                                 "malformed frame at byte %zu: %s byte %u is %02x: expected "
                                 "printable ASCII, then 00 padding",
                                 at == SIZE_MAX ? at : at + i, f->name, i + 1, b[i]);
        r->kind = LSWS_RD_TEXT;
        r->value = 0;
        memcpy(r->str, b, n);
        r->str[n] = '\0';
        break;
    }
    case FT_VER1:
    case FT_VER_HW:
    case FT_VER:
    case FT_VER_DEC:
    case FT_VER_FW:
        r->kind = LSWS_RD_TEXT;
        format_version(r->str, sizeof r->str, (enum ftype)f->type, b, f->width);
        break;
    default:
        break;
    }
    return LSWS_OK;
}

/* ---- decode ------------------------------------------------------------------ */

struct command_index;
struct dctx {
    enum lsws_model_id model;
    const struct lsws_model *m; /* the model's settings tables */
    const struct command_index *ix; /* its commands by first byte (walk sets it) */
    const uint8_t *in;
    size_t len;
    struct lsws_uplink *up; /* NULL: only check that it decodes */
    /* 0: the whole payload goes into up (LSWS_UPLINK_MAX readings in all);
     * 1: one record at a time (LSWS_UPLINK_MAX per record), each handed to
     * on_record (if any) once it is complete. */
    int streaming;
    int (*on_record)(const struct lsws_uplink *rec, void *ctx);
    void *ctx;
    struct lsws_reading scratch;
    size_t n; /* readings so far in up (streaming: in this record) */
    /* The history record being read (record 0: live data). */
    uint16_t record;
    uint8_t mode, history_type;
    uint32_t timestamp;
    size_t record_at;   /* offset of its `ed` */
    int record_empty;   /* no command in it yet */
    struct lsws_error *err;
};

/* The slot for the next reading (scratch when only checking), or NULL with
 * LSWS_ERR_RANGE when the uplink (streaming: the record) is full. */
static struct lsws_reading *next_reading(struct dctx *c, size_t at)
{
    if (c->n >= LSWS_UPLINK_MAX) {
        lsws_fail(c->err, LSWS_ERR_RANGE, at,
                  "payload too long at byte %zu: more than %d readings%s", at, LSWS_UPLINK_MAX,
                  c->streaming ? (c->record ? " in one history record" : " of live data") : "");
        return NULL;
    }
    struct lsws_reading *r = c->up ? &c->up->r[c->n] : &c->scratch;
    r->record = c->record;
    r->mode = c->mode;
    r->history_type = c->history_type;
    r->timestamp = c->timestamp;
    return r;
}

static void commit_reading(struct dctx *c)
{
    c->n++;
    if (c->up)
        c->up->n = c->n;
}

/* Streaming: the record read so far is complete. Hands it to on_record and
 * empties the buffer for the next; whatever on_record returns stops the
 * walk unless it is 0. */
static int flush_record(struct dctx *c)
{
    if (!c->streaming)
        return LSWS_OK;
    int rc = LSWS_OK;
    if (c->n && c->up && c->on_record)
        rc = c->on_record(c->up, c->ctx);
    c->n = 0;
    if (c->up)
        c->up->n = 0;
    return rc;
}

static int truncated(struct dctx *c, size_t at, const char *what, size_t need)
{
    size_t left = c->len - at - 1;
    return lsws_fail(c->err, LSWS_ERR_TRUNCATED, at,
                     "truncated frame at byte %zu: %s needs %zu byte%s, %zu left", at, what,
                     need, need == 1 ? "" : "s", left);
}

/* The command at a payload position: a telemetry row or a settings command. */
struct found {
    const struct ucmd *tel;
    const struct lsws_command *set;
    uint16_t code;  /* the code as on the wire (WS523: fe.. for a response on fe) */
    uint16_t plain; /* the candidate's plain fields */
    uint16_t data_len; /* telemetry: bytes after the code */
    const struct lsws_reading *proto; /* telemetry: the readings of its fields (fill_run) */
};

/* "01", "00-0b", "00, 02 or 05": the second code bytes that may follow b0. */
static const char *second_bytes(const struct dctx *c, uint8_t b0, char *buf, size_t cap)
{
    uint8_t seen[256] = {0};
    const struct table *t = &tables[c->model];
    for (size_t i = 0; i < t->n; i++)
        if (t->cmds[i].code_len == 2 && t->cmds[i].code >> 8 == b0)
            seen[t->cmds[i].code & 0xffu] = 1;
    size_t n_set;
    const struct lsws_command *const *set = lsws_model_uplink_commands(c->m, &n_set);
    for (size_t i = 0; i < n_set; i++)
        if (set[i]->code_len == 2 && set[i]->code >> 8 == b0)
            seen[set[i]->code & 0xffu] = 1;
    unsigned runs = 0, lo[256], hi[256];
    for (unsigned v = 0; v < 256; v++) {
        if (!seen[v])
            continue;
        if (runs && hi[runs - 1] + 1 == v) {
            hi[runs - 1] = v;
            continue;
        }
        lo[runs] = hi[runs] = v;
        runs++;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < runs && used < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == runs ? " or " : ", ";
        int w = lo[i] == hi[i] ? snprintf(buf + used, cap - used, "%s%02x", sep, lo[i])
                               : snprintf(buf + used, cap - used, "%s%02x-%02x", sep, lo[i], hi[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* Per model, every command uplinks carry, by first code byte: two-byte
 * codes before one-byte ones (WS523 0870 before socket control 08),
 * telemetry before settings. Built once; a lookup scans the few
 * candidates of one byte. */
#define MAX_CANDIDATES 192
#define MAX_PROTOS 512
/* Reading r as the plain number raw of field f (value k) of cmd. */
static inline void fill_number(const struct dctx *c, struct lsws_reading *r, const struct ucmd *cmd,
                               const struct ufield *f, unsigned k, unsigned chan, uint64_t raw,
                               int plain)
{
    uint64_t ones = f->width >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * f->width)) - 1;
    r->name = f->name;
    r->unit = f->unit;
    r->text = NULL;
    r->id = NULL;
    r->value = f->type == FT_SINT ? lsws_sign_extend(raw, f->width) : (int64_t)raw;
    r->timestamp = c->timestamp;
    r->record = c->record;
    r->code = cmd->code;
    r->kind = LSWS_RD_NUM;
    r->channel = (uint8_t)(f->ch0 ? f->ch0 + k : chan);
    r->scale = f->scale;
    r->mode = c->mode;
    r->history_type = c->history_type;
    r->alarm = 0;
    r->flags = (f->flags & UF_INVALID) && raw == ones ? LSWS_RDF_INVALID : 0;
    r->name_len = 0;
    if (plain) {
        r->flags |= LSWS_RDF_PLAIN;
        r->name_len = f->name_len;
    }
    r->str[0] = '\0';
}

/* fill_number for the f->count values of a plain-number field f from b
 * on, in one loop per width: each reading is a copy of proto (the field's
 * first value in live data) and the parts that differ. */
static inline __attribute__((always_inline)) void
fill_run_w(const struct dctx *c, struct lsws_reading *r, const struct lsws_reading *proto,
           const struct ufield *f, const uint8_t *b, unsigned chan, unsigned w)
{
    uint64_t ones = w >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * w)) - 1;
    /* Sign extension without a branch: (raw ^ m) - m, m the sign bit. */
    uint64_t m = f->type == FT_SINT && w < 8 ? (uint64_t)1 << (8 * w - 1) : 0;
    int marks = (f->flags & UF_INVALID) != 0;
    unsigned ch0 = f->ch0, n = f->count;
    for (unsigned k = 0; k < n; k++, b += w) {
        uint64_t raw = lsws_get_le(b, w);
        memcpy(&r[k], proto, offsetof(struct lsws_reading, str) + 1); /* str[0]: '\0' */
        r[k].value = (int64_t)((raw ^ m) - m);
        r[k].channel = (uint8_t)(ch0 ? ch0 + k : chan);
        if (marks && raw == ones)
            r[k].flags |= LSWS_RDF_INVALID;
    }
    if (c->record) /* live data: the prototype's zeros (the walk sets these in records only) */
        for (unsigned k = 0; k < n; k++) {
            r[k].timestamp = c->timestamp;
            r[k].record = c->record;
            r[k].mode = c->mode;
            r[k].history_type = c->history_type;
        }
}

static inline __attribute__((always_inline)) void fill_run(const struct dctx *c, struct lsws_reading *r,
                            const struct lsws_reading *proto, const struct ufield *f,
                            const uint8_t *b, unsigned chan)
{
    switch (f->width) {
    case 1: fill_run_w(c, r, proto, f, b, chan, 1); break;
    case 2: fill_run_w(c, r, proto, f, b, chan, 2); break;
    case 3: fill_run_w(c, r, proto, f, b, chan, 3); break;
    case 4: fill_run_w(c, r, proto, f, b, chan, 4); break;
    default: fill_run_w(c, r, proto, f, b, chan, f->width); break;
    }
}

struct candidate {
    const struct ucmd *tel;
    const struct lsws_command *set;
    uint16_t code;
    uint8_t code_len;
    uint16_t plain; /* tel: bit f set when field f's name is plain (LSWS_RDF_PLAIN) */
    uint16_t data_len; /* tel: bytes after the code */
    uint8_t simple;    /* tel: one field of plain numbers: walk reads it */
    uint8_t simple_enum; /* tel: one named byte (WS523 socket status): walk reads it */
    uint16_t proto0;     /* tel: its fields' readings in command_index.proto */
};
struct command_index {
    const struct lsws_model *m; /* the model's settings tables (a lookup saved per payload) */
    uint16_t start[257];
    struct candidate c[MAX_CANDIDATES];
    /* For each telemetry candidate's field f, at proto[c.proto0 + f]: the
     * reading of its first value as fill_number makes it in live data,
     * copied and patched by fill_run. */
    struct lsws_reading proto[MAX_PROTOS];
};
static struct command_index indexes[LSWS_MODEL_COUNT];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

/* Bits of the fields of c whose names need no JSON escaping, have no '.'
 * and are name_len long: their readings are LSWS_RDF_PLAIN. */
static uint16_t plain_fields(const struct ucmd *c)
{
    uint16_t bits = 0;
    for (unsigned i = 0; i < c->nf && i < 16; i++) {
        const char *name = c->f[i].name;
        int plain = name && strlen(name) == c->f[i].name_len;
        for (const char *p = name; plain && *p; p++)
            plain = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '.';
        if (plain)
            bits |= (uint16_t)(1u << i);
    }
    return bits;
}

/* One field of plain numbers (WS523 voltage, CTH01's 12 THDi values). */
static uint8_t is_simple(const struct ucmd *c)
{
    const struct ufield *f = c->f;
    return c->nf == 1 && (f->type == FT_UINT || f->type == FT_SINT) && !(f->flags & UF_MASK) &&
           (plain_fields(c) & 1);
}

/* One named byte, once (WS523 socket status, CTH01 device status). */
static uint8_t is_simple_enum(const struct ucmd *c)
{
    const struct ufield *f = c->f;
    return c->nf == 1 && f->type == FT_ENUM && f->width == 1 && f->count == 1 &&
           !(f->flags & UF_ANY) && (plain_fields(c) & 1);
}

static void build_indexes(void)
{
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        struct command_index *ix = &indexes[m];
        const struct table *t = &tables[m];
        size_t n_set;
        ix->m = lsws_model_get((enum lsws_model_id)m);
        const struct lsws_command *const *set = lsws_model_uplink_commands(ix->m, &n_set);
        struct candidate all[MAX_CANDIDATES];
        size_t n = 0;
        if (t->n + n_set > MAX_CANDIDATES)
            abort(); /* tables larger than the index: raise MAX_CANDIDATES */
        for (unsigned len = 2; len >= 1; len--) {
            for (size_t i = 0; i < t->n; i++)
                if (t->cmds[i].code_len == len)
                    all[n++] = (struct candidate){&t->cmds[i], NULL, t->cmds[i].code, (uint8_t)len,
                                                  plain_fields(&t->cmds[i]),
                                                  (uint16_t)cmd_data_len(&t->cmds[i]),
                                                  is_simple(&t->cmds[i]), is_simple_enum(&t->cmds[i]), 0};
            for (size_t i = 0; i < n_set; i++)
                if (set[i]->code_len == len)
                    all[n++] = (struct candidate){NULL, set[i], (uint16_t)set[i]->code, (uint8_t)len, 0, 0, 0, 0, 0};
        }
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[all[i].code_len == 2 ? all[i].code >> 8 : all[i].code]++;
        ix->start[0] = 0;
        for (unsigned b = 0; b < 256; b++)
            ix->start[b + 1] = (uint16_t)(ix->start[b] + count[b]);
        uint16_t fill[256];
        memcpy(fill, ix->start, sizeof fill);
        for (size_t i = 0; i < n; i++) /* stable: keeps the order above */
            ix->c[fill[all[i].code_len == 2 ? all[i].code >> 8 : all[i].code]++] = all[i];
        static const struct dctx live; /* record 0, no history context */
        size_t np = 0;
        for (size_t i = 0; i < n; i++) {
            const struct ucmd *tel = ix->c[i].tel;
            if (!tel)
                continue;
            if (np + tel->nf > MAX_PROTOS)
                abort(); /* raise MAX_PROTOS */
            ix->c[i].proto0 = (uint16_t)np;
            for (unsigned f = 0; f < tel->nf; f++)
                fill_number(&live, &ix->proto[np + f], tel, &tel->f[f], 0, 0, 0,
                            ix->c[i].plain >> f & 1);
            np += tel->nf;
        }
    }
}

static const struct command_index *index_of(enum lsws_model_id model)
{
    pthread_once(&index_once, build_indexes);
    return &indexes[model];
}

/* The candidate for the code at in[0..left), or NULL; *first notes a
 * two-byte code whose first byte is there. */
static const struct candidate *lookup(const struct command_index *ix, const uint8_t *in,
                                      size_t left, int *first)
{
    for (unsigned i = ix->start[in[0]]; i < ix->start[in[0] + 1u]; i++) {
        const struct candidate *k = &ix->c[i];
        if (k->code_len == 1)
            return k;
        *first = 1;
        if (left > 1 && in[1] == (k->code & 0xffu))
            return k;
    }
    return NULL;
}

/* Finds the command at c->in[at]: telemetry first (the common case), then
 * the settings commands uplinks carry; fails with a message if none. A
 * WS523 downlink response may come on channel fe instead of ff (as the
 * vendor decoder reads it): *code is then the fe code. */
static int find_command(struct dctx *c, size_t at, struct found *out)
{
    const struct command_index *ix = c->ix;
    uint8_t b0 = c->in[at];
    int have_b1 = at + 1 < c->len, first_matches = 0;
    const struct candidate *k = lookup(ix, c->in + at, c->len - at, &first_matches);
    out->code = k ? k->code : 0;
    if (!k && c->model == LSWS_MODEL_WS523 && b0 == 0xfe && have_b1) {
        uint8_t ff[2] = {0xff, c->in[at + 1]};
        int unused = 0;
        k = lookup(ix, ff, 2, &unused);
        if (k && k->tel && !(k->tel->flags & UC_FE))
            k = NULL;
        out->code = (uint16_t)(0xfe00u | c->in[at + 1]);
    }
    out->tel = k ? k->tel : NULL;
    out->set = k ? k->set : NULL;
    out->plain = k ? k->plain : 0;
    out->data_len = k ? k->data_len : 0;
    out->proto = k && k->tel ? &ix->proto[k->proto0] : NULL;
    if (k)
        return LSWS_OK;
    if (c->model == LSWS_MODEL_WS523 && !have_b1)
        return lsws_fail(c->err, LSWS_ERR_TRUNCATED, at,
                         "truncated frame at byte %zu: channel 0x%02x needs a type byte", at, b0);
    if (first_matches && !have_b1)
        return lsws_fail(c->err, LSWS_ERR_TRUNCATED, at,
                         "truncated frame at byte %zu: command 0x%02x needs a second code byte",
                         at, b0);
    if (c->model == LSWS_MODEL_WS523)
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                         "malformed frame at byte %zu: unknown channel 0x%02x type 0x%02x", at,
                         b0, c->in[at + 1]);
    if (first_matches) {
        char list[160];
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at + 1,
                         "malformed frame at byte %zu: command 0x%02x is followed by %02x: "
                         "expected %s",
                         at + 1, b0, c->in[at + 1], second_bytes(c, b0, list, sizeof list));
    }
    return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                     "malformed frame at byte %zu: unknown command 0x%02x", at, b0);
}

static int decode_command(struct dctx *c, const struct ucmd *cmd, uint16_t plain,
                          const struct lsws_reading *proto, size_t need, size_t at, size_t *next)
{
    char label[40];
    size_t p = at + cmd->code_len;
    if (c->len - p < need) {
        cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
        return lsws_fail(c->err, LSWS_ERR_TRUNCATED, at,
                         "truncated frame at byte %zu: %s needs %zu byte%s, %zu left", at, label,
                         need, need == 1 ? "" : "s", c->len - p);
    }
    if (c->record && !(cmd->flags & UC_HISTORY)) {
        cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                         "malformed frame at byte %zu: %s cannot appear in a history record", at,
                         label);
    }
    unsigned chan = 0;
    int atype = -1;
    for (unsigned i = 0; i < cmd->nf; i++) {
        const struct ufield *f = &cmd->f[i];
        /* The bulk of a payload: plain numbers (CTH01's 12 currents), read
         * in one loop. Everything else goes the general way below. */
        if ((f->type == FT_UINT || f->type == FT_SINT) && !(f->flags & UF_MASK) && atype < 0 &&
            c->n + f->count <= LSWS_UPLINK_MAX) {
            if (c->up && proto) {
                fill_run(c, &c->up->r[c->n], &proto[i], f, c->in + p, chan);
            } else if (c->up) {
                struct lsws_reading *r = &c->up->r[c->n];
                for (unsigned k = 0; k < f->count; k++, r++)
                    fill_number(c, r, cmd, f, k, chan,
                                lsws_get_le(c->in + p + (size_t)k * f->width, f->width),
                                plain >> i & 1);
            }
            c->n += f->count;
            if (c->up)
                c->up->n = c->n;
            p += (size_t)f->count * f->width;
            continue;
        }
        for (unsigned k = 0; k < f->count; k++, p += f->width) {
            const uint8_t *b = c->in + p;
            if (f->type == FT_CHAN) {
                if (b[0] > f->arg) {
                    cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
                    return lsws_fail(c->err, LSWS_ERR_MALFORMED, p,
                                     "malformed frame at byte %zu: %s channel is %u: "
                                     "expected 0-%u",
                                     p, label, b[0], f->arg);
                }
                chan = b[0] + 1u;
                continue;
            }
            if (f->type == FT_FIXED) {
                uint32_t v = (uint32_t)lsws_get_le(b, f->width);
                if (v != f->fix && v != f->alt) {
                    char found[9], want[24], alt[9];
                    uint8_t wb[4];
                    lsws_hex_format(b, f->width, found);
                    lsws_put_le(wb, f->width, f->fix);
                    lsws_hex_format(wb, f->width, want);
                    if (f->alt != f->fix) {
                        lsws_put_le(wb, f->width, f->alt);
                        lsws_hex_format(wb, f->width, alt);
                        snprintf(want + 2 * f->width, sizeof want - 2 * f->width, " or %s", alt);
                    }
                    cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
                    return lsws_fail(c->err, LSWS_ERR_MALFORMED, p,
                                     "malformed frame at byte %zu: %s holds %s where %s is fixed",
                                     p, label, found, want);
                }
                /* The other form marks the reading before it, to encode back. */
                if (v != f->fix && c->up && c->n)
                    c->up->r[c->n - 1].flags |= LSWS_RDF_ALT;
                continue;
            }
            if (f->type == FT_ATYPE) {
                if (!enum_name(alarm_types, b[0])) {
                    char list[256];
                    cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
                    return lsws_fail(c->err, LSWS_ERR_MALFORMED, p,
                                     "malformed frame at byte %zu: %s alarm type is %02x: "
                                     "expected %s",
                                     p, label, b[0], enum_list(alarm_types, 1, list, sizeof list));
                }
                atype = b[0];
                continue;
            }
            struct lsws_reading *r = next_reading(c, at);
            if (!r)
                return LSWS_ERR_RANGE;
            int rc = fill_reading(r, cmd, f, k, chan, atype, b, p, c->err);
            if (rc)
                return rc;
            if (plain >> i & 1) {
                r->flags |= LSWS_RDF_PLAIN;
                r->name_len = f->name_len;
            }
            commit_reading(c);
            if (f->flags & UF_SOCKET) {
                /* 1x: changed by the button. 0x is also the periodic status,
                 * so "command" is said only of a lone socket TLV, which is
                 * what the guide's socket change report is. */
                const char *cause = b[0] & 0x10                ? "button"
                                    : at == 0 && c->len == 3 ? "command"
                                                              : NULL;
                if (cause) {
                    struct lsws_reading *s = next_reading(c, at);
                    if (!s)
                        return LSWS_ERR_RANGE;
                    *s = *r;
                    s->name = n_socket_change;
                    s->name_len = sizeof n_socket_change - 1;
                    s->text = cause;
                    commit_reading(c);
                }
            }
        }
    }
    *next = p;
    return LSWS_OK;
}

/* ---- settings in uplinks: the model's commands ------------------------------ */

static const struct lsws_setting *field_setting(const struct lsws_model *m, uint16_t ref)
{
    return ref & LSWS_CMD_CONST ? &m->consts[ref & ~LSWS_CMD_CONST] : &m->settings[ref];
}

/* The channel of a setting's reading: index + 1 for an indexed row
 * (alarm.current[5] is channel 5), 0 otherwise. */
static unsigned setting_channel(const struct lsws_setting *s)
{
    return s->row->count > 1 ? s->index + 1u : 0u;
}

/* The bits of a payload byte that field s occupies. */
static uint8_t field_mask(const struct lsws_setting *s, unsigned byte)
{
    const struct lsws_row *row = s->row;
    if (byte < s->off || byte >= (unsigned)s->off + row->width)
        return 0;
    if ((row->enc != LSWS_ENC_LE && row->enc != LSWS_ENC_CONST) || !row->bits)
        return 0xff;
    uint64_t mask = ((1ull << row->bits) - 1) << row->shift;
    return (uint8_t)(mask >> (8 * (byte - s->off)));
}

/* "00 or 01", "0000 or 0080": the wire forms of a BOOL or ENUM field's
 * values, in wire order as the guides print them. */
static const char *field_values(const struct lsws_setting *s, char *buf, size_t cap)
{
    static const struct lsws_enum bool_values[] = {{"0", 0}, {"1", 1}, {NULL, 0}};
    const struct lsws_enum *e = s->row->type == LSWS_T_BOOL ? bool_values : s->row->enums;
    struct lsws_setting at0 = *s;
    at0.off = 0;
    size_t count = 0, used = 0;
    for (const struct lsws_enum *p = e; p && p->name; p++)
        count++;
    buf[0] = '\0';
    for (size_t i = 0; i < count && used < cap; i++) {
        uint8_t b[8] = {0};
        char hex[17];
        struct lsws_value v = {.num = e[i].value};
        lsws_field_put(b, &at0, &v);
        lsws_hex_format(b, s->row->width < 8 ? s->row->width : 8, hex);
        int w = snprintf(buf + used, cap - used, "%s%s", i == 0 ? "" : i + 1 == count ? " or " : ", ",
                         hex);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* Why the bytes of field ref (at payload offset p) are not acceptable. */
static int bad_setting(struct dctx *c, const struct lsws_command *cmd, uint16_t ref, size_t p)
{
    const struct lsws_setting *s = field_setting(c->m, ref);
    const struct lsws_row *row = s->row;
    size_t at = p + s->off;
    char found[2 * 16 + 1], label[40], list[160];
    /* The field's bytes that are there: a length-prefixed text may end
     * before its row's width. */
    size_t shown = row->width < 16 ? row->width : 16;
    if (shown > c->len - at)
        shown = c->len - at;
    lsws_hex_format(c->in + at, shown, found);
    cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
    if (ref & LSWS_CMD_CONST) {
        uint8_t b[8] = {0};
        struct lsws_setting at0 = *s;
        at0.off = 0;
        lsws_field_put(b, &at0, NULL);
        char want[17];
        lsws_hex_format(b, row->width < 8 ? row->width : 8, want);
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                         "malformed frame at byte %zu: %s holds %s where %s is fixed", at, label,
                         found, want);
    }
    const char *name = lsws_setting_reading(c->m, ref);
    if (row->type == LSWS_T_BOOL || row->type == LSWS_T_ENUM)
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                         "malformed frame at byte %zu: %s is %s: expected %s", at, name, found,
                         field_values(s, list, sizeof list));
    return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                     "malformed frame at byte %zu: %s is %s: not a value of %s", at, name, found,
                     s->key);
}

/* Fills reading r from value v of setting idx, carried by cmd. */
static void fill_setting(struct lsws_reading *r, const struct lsws_model *m,
                         const struct lsws_command *cmd, size_t idx, const struct lsws_value *v)
{
    const struct lsws_setting *s = &m->settings[idx];
    const struct lsws_row *row = s->row;
    r->name = lsws_setting_reading(m, idx);
    r->unit = row->unit;
    r->code = (uint16_t)cmd->code;
    r->channel = (uint8_t)setting_channel(s);
    r->scale = row->scale;
    r->alarm = 0;
    r->flags = 0;
    r->name_len = 0;
    r->id = NULL;
    r->str[0] = '\0';
    r->value = v->num;
    r->kind = LSWS_RD_NUM;
    r->text = NULL;
    if (row->type == LSWS_T_TEXT) {
        /* TEXT settings are at most LSWS_READING_TEXT - 1 characters
         * (lib/model.c checks it). */
        r->kind = LSWS_RD_TEXT;
        r->value = 0;
        memcpy(r->str, v->bytes, v->len);
        r->str[v->len] = '\0';
        return;
    }
    const struct lsws_enum *e = row->type == LSWS_T_BOOL   ? lsws_enum_find(lsws_enum_enable, v->num)
                                : row->type == LSWS_T_ENUM ? lsws_enum_find(row->enums, v->num)
                                                           : NULL;
    if (e) {
        r->kind = LSWS_RD_ENUM;
        r->text = e->name;
    }
}

/* A settings command: its fields read as the settings codec reads them
 * (wire check only: a unit reports what it holds), one reading per setting
 * in the command's field order. Bits no field occupies must be 0, so that
 * the readings encode back to these very bytes. */
static int decode_settings_command(struct dctx *c, const struct lsws_command *cmd, size_t at,
                                   size_t *next)
{
    char label[40];
    size_t p = at + cmd->code_len, left = c->len - p, need = cmd->len;
    if (cmd->lstr) {
        if (left < 1) {
            cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
            return lsws_fail(c->err, LSWS_ERR_TRUNCATED, at,
                             "truncated frame at byte %zu: %s needs a length byte", at, label);
        }
        need = 1u + c->in[p];
        if (c->in[p] < 1 || need > cmd->len) {
            cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
            return lsws_fail(c->err, LSWS_ERR_MALFORMED, p,
                             "malformed frame at byte %zu: %s length is %u: expected 1-%u", p,
                             label, c->in[p], cmd->len - 1u);
        }
    }
    if (left < need) {
        cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
        return lsws_fail(c->err, LSWS_ERR_TRUNCATED, at,
                         "truncated frame at byte %zu: %s needs %zu byte%s, %zu left", at, label,
                         need, need == 1 ? "" : "s", left);
    }
    if (c->record) {
        cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                         "malformed frame at byte %zu: %s cannot appear in a history record", at,
                         label);
    }
    const uint8_t *payload = c->in + p;
    struct lsws_value v[LSWS_CMD_FIELDS];
    for (unsigned f = 0; f < cmd->n_fields; f++)
        if (lsws_field_get(payload, need, field_setting(c->m, cmd->fields[f]), &v[f],
                           LSWS_CHECK_WIRE) < 0)
            return bad_setting(c, cmd, cmd->fields[f], p);
    if (!cmd->lstr) {
        for (unsigned b = 0; b < need; b++) {
            uint8_t used = 0;
            unsigned owners = 0, owner = 0;
            for (unsigned f = 0; f < cmd->n_fields; f++) {
                const struct lsws_setting *s = field_setting(c->m, cmd->fields[f]);
                used |= field_mask(s, b);
                if (b >= s->off && b < (unsigned)s->off + s->row->width && owners++ == 0)
                    owner = f;
            }
            if (!(payload[b] & ~used))
                continue;
            /* One field there (ff25's bit 15 of two bytes): say what it may be. */
            if (owners == 1)
                return bad_setting(c, cmd, cmd->fields[owner], p);
            cmd_label(c->model, cmd->code, cmd->code_len, label, sizeof label);
            return lsws_fail(c->err, LSWS_ERR_MALFORMED, p + b,
                             "malformed frame at byte %zu: %s has bits 0x%02x set that carry "
                             "nothing",
                             p + b, label, (unsigned)(payload[b] & ~used));
        }
    }
    for (unsigned f = 0; f < cmd->n_fields; f++) {
        if (cmd->fields[f] & LSWS_CMD_CONST)
            continue;
        struct lsws_reading *r = next_reading(c, at);
        if (!r)
            return LSWS_ERR_RANGE;
        fill_setting(r, c->m, cmd, cmd->fields[f], &v[f]);
        commit_reading(c);
    }
    *next = p + need;
    return LSWS_OK;
}

/* ed mode timestamp [40 type]: starts a history record (and, streaming,
 * completes the one before). */
static int decode_history(struct dctx *c, size_t at, size_t *next)
{
    if (c->record && c->record_empty)
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                         "malformed frame at byte %zu: history record at byte %zu holds no data",
                         at, c->record_at);
    int rc = flush_record(c);
    if (rc)
        return rc;
    if (c->len - at - 1 < 5)
        return truncated(c, at, "command 0xed", 5);
    uint8_t mode = c->in[at + 1];
    if (mode != LSWS_HIST_PERIODIC && mode != LSWS_HIST_MONTHLY)
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at + 1,
                         "malformed frame at byte %zu: history mode is %02x: expected 01 "
                         "(periodic) or 02 (monthly)",
                         at + 1, mode);
    size_t p = at + 6;
    uint8_t type = LSWS_HIST_NONE;
    if (p < c->len && c->in[p] == CTH01_HISTORY_TAG) {
        if (p + 1 >= c->len)
            return lsws_fail(c->err, LSWS_ERR_TRUNCATED, p,
                             "truncated frame at byte %zu: history tag 0x40 needs 1 byte, 0 left",
                             p);
        type = c->in[p + 1];
        if (type < LSWS_HIST_MONTHLY_ENERGY || type > LSWS_HIST_MONTHLY_MAX)
            return lsws_fail(c->err, LSWS_ERR_MALFORMED, p,
                             "malformed frame at byte %zu: history tag is 40%02x: expected 4001, "
                             "4002 or 4003",
                             p, type);
        p += 2;
    }
    if (c->record == UINT16_MAX)
        return lsws_fail(c->err, LSWS_ERR_RANGE, at, "payload too long at byte %zu: too many "
                         "history records", at);
    c->record++;
    c->mode = mode;
    c->history_type = type;
    c->timestamp = (uint32_t)lsws_get_le(c->in + at + 2, 4);
    c->record_at = at;
    c->record_empty = 1;
    if (c->up) {
        c->up->records = c->record;
        c->up->mode = mode;
        c->up->history_type = type;
        c->up->timestamp = c->timestamp;
    }
    *next = p;
    return LSWS_OK;
}

/* ef result<<4|len command(len): the reply to a downlink. */

static void fill_reply_id_from(struct lsws_reading *r, const struct candidate *k)
{
    if (!k)
        return;
    if (k->tel) {
        for (unsigned i = 0; i < k->tel->nf && !r->id; i++)
            r->id = k->tel->f[i].name;
        return;
    }
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    for (unsigned i = 0; i < k->set->n_fields && !r->id; i++)
        if (!(k->set->fields[i] & LSWS_CMD_CONST))
            r->id = lsws_setting_reading(m, k->set->fields[i]);
}

/* An `ef` command reply: result code, its name, the downlink command hex. */
static void fill_reply(struct lsws_reading *r, unsigned result, const uint8_t *cmd, size_t len)
{
    r->name = n_ans;
    r->unit = NULL;
    r->kind = LSWS_RD_REPLY;
    r->value = result;
    r->text = enum_name(reply_results, result);
    if (!r->text)
        r->text = "unknown";
    r->code = CTH01_REPLY;
    r->channel = 0;
    r->scale = 0;
    r->alarm = 0;
    r->flags = 0;
    r->name_len = 0;
    r->id = NULL;
    lsws_hex_format(cmd, len, r->str);
    /* The command answered, named by its first reading (the JSON shows the
     * part before the first dot: "reporting_interval" for 61 01). */
    int first = 0;
    const struct candidate *k =
        len ? lookup(index_of(LSWS_MODEL_CTH01), cmd, len, &first) : NULL;
    fill_reply_id_from(r, k);
    if (!k && first && len == 1) {
        /* One byte of a two-byte code (c5, 77): the family's name. */
        const struct command_index *ix = index_of(LSWS_MODEL_CTH01);
        uint8_t two[2] = {cmd[0], 0};
        for (unsigned i = ix->start[cmd[0]]; i < ix->start[cmd[0] + 1u] && !r->id; i++) {
            two[1] = (uint8_t)ix->c[i].code;
            fill_reply_id_from(r, lookup(ix, two, 2, &first));
        }
    }
}

static int decode_reply(struct dctx *c, size_t at, size_t *next)
{
    if (c->record)
        return lsws_fail(c->err, LSWS_ERR_MALFORMED, at,
                         "malformed frame at byte %zu: command 0xef cannot appear in a history "
                         "record",
                         at);
    if (c->len - at - 1 < 1)
        return truncated(c, at, "command 0xef", 1);
    unsigned result = c->in[at + 1] >> 4, n = c->in[at + 1] & 0x0fu;
    if (c->len - at - 2 < n)
        return lsws_fail(c->err, LSWS_ERR_TRUNCATED, at,
                         "truncated frame at byte %zu: command 0xef needs %u bytes, %zu left", at,
                         1 + n, c->len - at - 1);
    struct lsws_reading *r = next_reading(c, at);
    if (!r)
        return LSWS_ERR_RANGE;
    fill_reply(r, result, c->in + at + 2, n);
    commit_reading(c);
    *next = at + 2 + n;
    return LSWS_OK;
}

/* Decodes the payload of one model; c->up is NULL to only check. */
static int walk(struct dctx *c)
{
    const uint8_t *in = c->in;
    size_t len = c->len;
    c->ix = index_of(c->model);
    c->m = c->ix->m;
    if (c->up)
        lsws_uplink_init(c->up, c->model);
    if (len == 0)
        return lsws_fail(c->err, LSWS_ERR_TRUNCATED, 0, "empty payload: expected at least one %s",
                         c->model == LSWS_MODEL_WS523 ? "channel" : "command");
    size_t p = 0;
    while (p < len) {
        size_t next = p;
        int rc;
        if (c->model == LSWS_MODEL_CTH01 && in[p] == CTH01_HISTORY) {
            rc = decode_history(c, p, &next);
        } else if (c->model == LSWS_MODEL_CTH01 && in[p] == CTH01_REPLY) {
            rc = decode_reply(c, p, &next);
        } else {
            /* One plain number (most WS523 commands): read here. */
            int first = 0;
            const struct candidate *k = lookup(c->ix, in + p, len - p, &first);
            if (k && k->simple && len - p - k->code_len >= k->data_len &&
                c->n + k->tel->f->count <= LSWS_UPLINK_MAX &&
                (!c->record || (k->tel->flags & UC_HISTORY))) {
                const struct ufield *fl = k->tel->f;
                const uint8_t *b = in + p + k->code_len;
                if (c->up) {
                    fill_run(c, &c->up->r[c->n], &c->ix->proto[k->proto0], fl, b, 0);
                    c->up->n = c->n + fl->count;
                }
                c->n += fl->count;
                c->record_empty = 0;
                p += k->code_len + k->data_len;
                continue;
            }
            /* One named byte, named (the general path says what is wrong). */
            if (k && k->simple_enum && len - p - k->code_len >= 1 && c->n < LSWS_UPLINK_MAX &&
                (!c->record || (k->tel->flags & UC_HISTORY))) {
                const struct ufield *fl = k->tel->f;
                uint8_t b = in[p + k->code_len];
                const char *text = enum_name(fl->names, b);
                /* WS523 socket status: a cause, if any, is another reading. */
                int cause = (fl->flags & UF_SOCKET) && ((b & 0x10) || (p == 0 && len == 3));
                if (text && !cause) {
                    if (c->up) {
                        struct lsws_reading *r = &c->up->r[c->n];
                        fill_number(c, r, k->tel, fl, 0, 0, b, 1);
                        r->kind = LSWS_RD_ENUM;
                        r->text = text;
                        c->up->n = c->n + 1;
                    }
                    c->n++;
                    c->record_empty = 0;
                    p += k->code_len + 1;
                    continue;
                }
            }
            struct found f;
            size_t n0 = c->n;
            rc = find_command(c, p, &f);
            if (rc == LSWS_OK)
                rc = f.tel ? decode_command(c, f.tel, f.plain, f.proto, f.data_len, p, &next)
                           : decode_settings_command(c, f.set, p, &next);
            /* A response on channel fe: its readings keep the fe code. */
            if (rc == LSWS_OK && c->up && (f.code >> 8) == 0xfe && c->model == LSWS_MODEL_WS523)
                for (size_t i = n0; i < c->n; i++)
                    c->up->r[i].code = f.code;
            c->record_empty = 0; /* the current record (if any) now holds data */
        }
        if (rc)
            return rc;
        p = next;
    }
    if (c->record && c->record_empty)
        return lsws_fail(c->err, LSWS_ERR_TRUNCATED, c->record_at,
                         "truncated frame at byte %zu: history record needs a command after its "
                         "header",
                         c->record_at);
    return flush_record(c);
}

/* One model, no callback: the whole payload into out (NULL: only check),
 * or, streaming, only checked record by record. */
static int decode_as(enum lsws_model_id model, const uint8_t *in, size_t len, int streaming,
                     struct lsws_uplink *out, struct lsws_error *err)
{
    struct dctx c = {.model = model, .in = in, .len = len, .up = out, .streaming = streaming,
                     .err = err};
    return walk(&c);
}

/* Auto-detection: decodes as both models and names the one that decodes
 * in *model. out (may be NULL) receives the WS523 attempt, or on failure
 * that of the model that read further. */
static int detect(const uint8_t *in, size_t len, int streaming, struct lsws_uplink *out,
                  enum lsws_model_id *model, struct lsws_error *err)
{
    struct lsws_error ew, ec;
    lsws_error_clear(&ew);
    lsws_error_clear(&ec);
    int rw = decode_as(LSWS_MODEL_WS523, in, len, streaming, out, &ew);
    int rcth = decode_as(LSWS_MODEL_CTH01, in, len, streaming, NULL, &ec);
    if (rw == LSWS_OK && rcth == LSWS_OK)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX,
                         "ambiguous payload: give --model (it decodes as ws523 and as cth01)");
    if (rw == LSWS_OK || rcth == LSWS_OK) {
        *model = rw == LSWS_OK ? LSWS_MODEL_WS523 : LSWS_MODEL_CTH01;
        return LSWS_OK;
    }
    /* Neither: report the model that read further (on a tie, the one that
     * only ran out of bytes), naming it. */
    size_t sw = ew.offset == SIZE_MAX ? 0 : 2 * ew.offset + (rw == LSWS_ERR_TRUNCATED);
    size_t sc = ec.offset == SIZE_MAX ? 0 : 2 * ec.offset + (rcth == LSWS_ERR_TRUNCATED);
    int cth_further = sc > sw;
    const struct lsws_error *best = cth_further ? &ec : &ew;
    if (cth_further && out)
        decode_as(LSWS_MODEL_CTH01, in, len, streaming, out, NULL);
    return lsws_fail(err, best->code, best->offset, "%s: %s",
                     tables[cth_further ? LSWS_MODEL_CTH01 : LSWS_MODEL_WS523].name, best->msg);
}

int lsws_uplink_decode_each(enum lsws_model_id model, const uint8_t *in, size_t len,
                            int (*on_record)(const struct lsws_uplink *rec, void *ctx), void *ctx,
                            struct lsws_error *err)
{
    if (!in && len)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "no payload");
    if ((int)model < 0 || model > LSWS_MODEL_COUNT)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "unknown model %d", (int)model);
    if (model == LSWS_MODEL_COUNT) {
        /* Records go out as they complete, so the model is settled first. */
        int rc = detect(in, len, 1, NULL, &model, err);
        if (rc)
            return rc;
    }
    /* One record at a time: this buffer, whatever the payload's length. */
    struct lsws_uplink rec;
    struct dctx c = {.model = model, .in = in, .len = len, .up = on_record ? &rec : NULL,
                     .streaming = 1, .on_record = on_record, .ctx = ctx, .err = err};
    return walk(&c);
}

int lsws_uplink_decode(enum lsws_model_id model, const uint8_t *in, size_t len,
                       struct lsws_uplink *out, struct lsws_error *err)
{
    if (!out || (!in && len))
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "no payload or no output");
    if (model < LSWS_MODEL_COUNT)
        return decode_as(model, in, len, 0, out, err);
    if (model != LSWS_MODEL_COUNT)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "unknown model %d", (int)model);
    /* Auto-detect: the WS523 attempt decodes into out, the CTH01 one only
     * checks, so one struct suffices; a CTH01 payload is decoded again. */
    int rc = detect(in, len, 0, out, &model, err);
    if (rc == LSWS_OK && model == LSWS_MODEL_CTH01)
        rc = decode_as(LSWS_MODEL_CTH01, in, len, 0, out, err);
    return rc;
}

/* ---- encode ------------------------------------------------------------------ */

struct ectx {
    const struct lsws_uplink *up;
    uint8_t *out;
    size_t cap, len;
    struct lsws_error *err;
};

static void put(struct ectx *e, const uint8_t *b, size_t n)
{
    if (e->len <= e->cap && n <= e->cap - e->len)
        memcpy(e->out + e->len, b, n);
    e->len += n;
}

static void put_byte(struct ectx *e, uint8_t b)
{
    put(e, &b, 1);
}

static int bad_reading(struct ectx *e, size_t i, const char *what)
{
    const struct lsws_reading *r = &e->up->r[i];
    return lsws_fail(e->err, LSWS_ERR_INVALID, SIZE_MAX, "reading %zu ('%s'): %s", i,
                     r->name ? r->name : "(null)", what);
}

/* Checks that raw fits the field and gives its wire bytes. */
static int field_bytes(const struct ufield *f, int64_t raw, const char *str, uint8_t *b,
                       char *why, size_t whycap)
{
    unsigned w = f->width;
    if (f->type == FT_TEXT) {
        size_t n = str ? strnlen(str, LSWS_READING_TEXT) : 0;
        if (!str || n > w) {
            snprintf(why, whycap, "expected at most %u characters", w);
            return LSWS_ERR_RANGE;
        }
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)str[k] < 0x20 || (unsigned char)str[k] >= 0x7f) {
                snprintf(why, whycap, "character %zu is not printable ASCII", k + 1);
                return LSWS_ERR_RANGE;
            }
        memset(b, 0, w);
        memcpy(b, str, n);
        return LSWS_OK;
    }
    if (f->type == FT_HEX) {
        size_t n = 0;
        if (!str || strlen(str) != 2u * w || lsws_hex_parse(str, b, w, &n, NULL) || n != w) {
            snprintf(why, whycap, "expected %u bytes as %u hex digits", w, 2 * w);
            return LSWS_ERR_RANGE;
        }
        return LSWS_OK;
    }
    if (f->type == FT_SINT) {
        int64_t lo = -((int64_t)1 << (8 * w - 1)), hi = ((int64_t)1 << (8 * w - 1)) - 1;
        if (raw < lo || raw > hi) {
            snprintf(why, whycap, "%lld does not fit %u signed bytes", (long long)raw, w);
            return LSWS_ERR_RANGE;
        }
    } else if (raw < 0 || (w < 8 && (uint64_t)raw >> (8 * w))) {
        snprintf(why, whycap, "%lld does not fit %u unsigned byte%s", (long long)raw, w,
                 w == 1 ? "" : "s");
        return LSWS_ERR_RANGE;
    }
    if ((f->flags & UF_MASK) && ((uint64_t)raw & ~(uint64_t)f->arg)) {
        snprintf(why, whycap, "0x%llx: expected bits 0x%02x at most", (unsigned long long)raw,
                 f->arg);
        return LSWS_ERR_RANGE;
    }
    if (f->type == FT_ENUM && !(f->flags & UF_ANY) && !enum_name(f->names, (uint64_t)raw)) {
        char list[96];
        snprintf(why, whycap, "0x%llx: expected %s", (unsigned long long)raw,
                 enum_list(f->names, w, list, sizeof list));
        return LSWS_ERR_RANGE;
    }
    lsws_put_le(b, w, (uint64_t)raw);
    return LSWS_OK;
}

static const struct ucmd *cmd_by_code(enum lsws_model_id model, unsigned code)
{
    const struct table *t = &tables[model];
    for (size_t i = 0; i < t->n; i++)
        if (t->cmds[i].code == code)
            return &t->cmds[i];
    return NULL;
}

const struct ucmd *lsws_uplink_cmd(enum lsws_model_id model, unsigned code, unsigned code_len)
{
    if ((int)model < 0 || model >= LSWS_MODEL_COUNT)
        return NULL;
    const struct table *t = &tables[model];
    for (size_t i = 0; i < t->n; i++)
        if (t->cmds[i].code == code && t->cmds[i].code_len == code_len)
            return &t->cmds[i];
    return NULL;
}

static int has_alt_form(const struct ucmd *cmd)
{
    for (unsigned i = 0; i < cmd->nf; i++)
        if (cmd->f[i].type == FT_FIXED && cmd->f[i].alt != cmd->f[i].fix)
            return 1;
    return 0;
}

/* Writes the code as on the wire: cmd's, or (WS523 response on channel fe) code. */
static void put_code(struct ectx *e, unsigned code, unsigned code_len)
{
    if (code_len == 2)
        put_byte(e, (uint8_t)(code >> 8));
    put_byte(e, (uint8_t)code);
}

static int encode_command(struct ectx *e, const struct ucmd *cmd, unsigned code, size_t *pi)
{
    const struct lsws_uplink *up = e->up;
    size_t i = *pi;
    uint16_t record = up->r[i].record;
    char why[160];
    put_code(e, code, cmd->code_len);
    unsigned chan = 0;
    for (unsigned fi = 0; fi < cmd->nf; fi++) {
        const struct ufield *f = &cmd->f[fi];
        for (unsigned k = 0; k < f->count; k++) {
            if (f->type == FT_FIXED) {
                /* The other form when the reading before it says so. */
                int alt = i > *pi && (up->r[i - 1].flags & LSWS_RDF_ALT);
                uint8_t b[4];
                lsws_put_le(b, f->width, alt ? f->alt : f->fix);
                put(e, b, f->width);
                continue;
            }
            /* FT_CHAN and FT_ATYPE come from the reading that follows them. */
            if (i >= up->n)
                return lsws_fail(e->err, LSWS_ERR_INCOMPLETE, SIZE_MAX,
                                 "reading %zu: command 0x%x needs '%s' after it", i, cmd->code,
                                 f->name ? f->name : "a value");
            const struct lsws_reading *r = &up->r[i];
            if (f->type == FT_CHAN) {
                if (r->channel < 1 || r->channel > f->arg + 1u) {
                    snprintf(why, sizeof why, "channel %u: expected 1-%u", r->channel,
                             f->arg + 1u);
                    return bad_reading(e, i, why);
                }
                chan = r->channel;
                put_byte(e, (uint8_t)(chan - 1));
                continue;
            }
            if (f->type == FT_ATYPE) {
                if (!enum_name(alarm_types, r->alarm))
                    return bad_reading(e, i, "unknown alarm type");
                put_byte(e, r->alarm);
                continue;
            }
            if (!r->name || strcmp(r->name, f->name) != 0) {
                snprintf(why, sizeof why, "expected '%s' of command 0x%x here", f->name,
                         cmd->code);
                return bad_reading(e, i, why);
            }
            if (r->record != record)
                return bad_reading(e, i, "readings of one command must share a record");
            unsigned want = f->ch0 ? f->ch0 + k : chan;
            if (r->channel != want) {
                snprintf(why, sizeof why, "channel %u: expected %u", r->channel, want);
                return bad_reading(e, i, why);
            }
            uint8_t b[LSWS_READING_TEXT];
            if (field_bytes(f, r->value, r->str, b, why, sizeof why))
                return bad_reading(e, i, why);
            if ((r->flags & LSWS_RDF_ALT) && !has_alt_form(cmd))
                return bad_reading(e, i, "the command has no other form");
            put(e, b, f->width);
            i++;
            /* socket_change is derived from socket_status: nothing to write. */
            if ((f->flags & UF_SOCKET) && i < up->n && up->r[i].name &&
                strcmp(up->r[i].name, n_socket_change) == 0 && up->r[i].record == record)
                i++;
        }
    }
    *pi = i;
    return LSWS_OK;
}

/* The settings command a reading's code names: codes above 0xff are two
 * bytes (no model code starts with a 00 byte). */
static const struct lsws_command *settings_cmd_by_code(const struct lsws_model *m, unsigned code)
{
    size_t n;
    const struct lsws_command *const *set = lsws_model_uplink_commands(m, &n);
    unsigned code_len = code > 0xff ? 2 : 1;
    for (size_t i = 0; i < n; i++)
        if (set[i]->code == code && set[i]->code_len == code_len)
            return set[i];
    return NULL;
}

/* A settings command from its readings, in the command's field order,
 * written by the settings codec's field writer. */
static int encode_settings_command(struct ectx *e, const struct lsws_model *m,
                                   const struct lsws_command *cmd, unsigned code, size_t *pi)
{
    const struct lsws_uplink *up = e->up;
    size_t i = *pi;
    uint16_t record = up->r[i].record;
    uint8_t payload[256] = {0};
    size_t plen = cmd->len;
    char why[160];
    for (unsigned f = 0; f < cmd->n_fields; f++) {
        uint16_t ref = cmd->fields[f];
        if (ref & LSWS_CMD_CONST) {
            lsws_field_put(payload, &m->consts[ref & ~LSWS_CMD_CONST], NULL);
            continue;
        }
        const struct lsws_setting *s = &m->settings[ref];
        const char *name = lsws_setting_reading(m, ref);
        if (i >= up->n)
            return lsws_fail(e->err, LSWS_ERR_INCOMPLETE, SIZE_MAX,
                             "reading %zu: command 0x%x needs '%s' after it", i, cmd->code, name);
        const struct lsws_reading *r = &up->r[i];
        if (!r->name || strcmp(r->name, name) != 0) {
            snprintf(why, sizeof why, "expected '%s' of command 0x%x here", name, cmd->code);
            return bad_reading(e, i, why);
        }
        if (r->record != record)
            return bad_reading(e, i, "readings of one command must share a record");
        if (r->channel != setting_channel(s)) {
            snprintf(why, sizeof why, "channel %u: expected %u", r->channel, setting_channel(s));
            return bad_reading(e, i, why);
        }
        struct lsws_value v = {.num = r->value};
        if (s->row->type == LSWS_T_TEXT) {
            size_t n = strnlen(r->str, sizeof r->str);
            v.num = 0;
            v.len = (uint8_t)(n < sizeof v.bytes ? n : sizeof v.bytes);
            memcpy(v.bytes, r->str, v.len);
            if (cmd->lstr)
                plen = 1u + v.len;
        }
        if (lsws_field_check(s->row, &v, LSWS_CHECK_WIRE)) {
            if (s->row->type == LSWS_T_TEXT)
                snprintf(why, sizeof why, "'%.40s' is not a value of %s", r->str, s->key);
            else
                snprintf(why, sizeof why, "%lld is not a value of %s", (long long)r->value, s->key);
            return bad_reading(e, i, why);
        }
        lsws_field_put(payload, s, &v);
        i++;
    }
    put_code(e, code, cmd->code_len);
    put(e, payload, plen);
    *pi = i;
    return LSWS_OK;
}

static int encode_reply(struct ectx *e, size_t i)
{
    const struct lsws_reading *r = &e->up->r[i];
    uint8_t b[16];
    size_t n = 0;
    if (r->value < 0 || r->value > 15)
        return bad_reading(e, i, "result code: expected 0-15");
    if (strlen(r->str) > 30 || (r->str[0] && lsws_hex_parse(r->str, b, 15, &n, NULL)) ||
        strlen(r->str) != 2 * n)
        return bad_reading(e, i, "command: expected up to 15 bytes as hex digits");
    put_byte(e, CTH01_REPLY);
    put_byte(e, (uint8_t)(r->value << 4 | (int64_t)n));
    put(e, b, n);
    return LSWS_OK;
}

static int encode_history(struct ectx *e, size_t i)
{
    const struct lsws_reading *r = &e->up->r[i];
    if (r->mode != LSWS_HIST_PERIODIC && r->mode != LSWS_HIST_MONTHLY)
        return bad_reading(e, i, "history mode: expected 1 (periodic) or 2 (monthly)");
    if (r->history_type > LSWS_HIST_MONTHLY_MAX)
        return bad_reading(e, i, "history type: expected 0-3");
    uint8_t b[8] = {CTH01_HISTORY, r->mode};
    lsws_put_le(b + 2, 4, r->timestamp);
    put(e, b, 6);
    if (r->history_type) {
        put_byte(e, CTH01_HISTORY_TAG);
        put_byte(e, r->history_type);
    }
    return LSWS_OK;
}

int lsws_uplink_encode(const struct lsws_uplink *up, uint8_t *out, size_t cap, size_t *len,
                       struct lsws_error *err)
{
    if (!up || (!out && cap) || up->model >= LSWS_MODEL_COUNT || up->n > LSWS_UPLINK_MAX)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "no uplink, or an unknown model");
    struct ectx e = {.up = up, .out = out, .cap = cap, .err = err};
    if (up->n == 0)
        return lsws_fail(err, LSWS_ERR_INCOMPLETE, SIZE_MAX, "uplink has no readings");
    unsigned record = 0;
    for (size_t i = 0; i < up->n;) {
        const struct lsws_reading *r = &up->r[i];
        if (r->record != record) {
            if (up->model != LSWS_MODEL_CTH01)
                return bad_reading(&e, i, "only cth01 uplinks have history records");
            if (r->record < record)
                return bad_reading(&e, i, "history records must follow live data, in order");
            int rc = encode_history(&e, i);
            if (rc)
                return rc;
            record = r->record;
        }
        if (r->kind == LSWS_RD_REPLY) {
            if (up->model != LSWS_MODEL_CTH01 || record)
                return bad_reading(&e, i, "a reply belongs to live cth01 data");
            int rc = encode_reply(&e, i);
            if (rc)
                return rc;
            i++;
            continue;
        }
        /* The command's first value reading must be this one. */
        /* A WS523 response on channel fe is its ff command's layout. */
        unsigned code = r->code, layout = code;
        if (up->model == LSWS_MODEL_WS523 && (code >> 8) == 0xfe)
            layout = 0xff00u | (code & 0xffu);
        const struct ucmd *cmd = cmd_by_code(up->model, layout);
        int rc;
        if (cmd && layout != code && !(cmd->flags & UC_FE))
            return bad_reading(&e, i, "no command carries it on channel fe");
        if (cmd) {
            if (record && !(cmd->flags & UC_HISTORY))
                return bad_reading(&e, i, "cannot appear in a history record");
            rc = encode_command(&e, cmd, code, &i);
        } else {
            const struct lsws_model *m = lsws_model_get(up->model);
            const struct lsws_command *set = settings_cmd_by_code(m, layout);
            if (!set)
                return bad_reading(&e, i, "no command carries it");
            if (record)
                return bad_reading(&e, i, "cannot appear in a history record");
            rc = encode_settings_command(&e, m, set, code, &i);
        }
        if (rc)
            return rc;
    }
    if (e.len > cap)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "encoded uplink needs %zu bytes, the buffer holds %zu", e.len, cap);
    if (len)
        *len = e.len;
    return LSWS_OK;
}

/* ---- building uplinks ---------------------------------------------------- */

void lsws_uplink_init(struct lsws_uplink *up, enum lsws_model_id model)
{
    up->model = model;
    up->n = 0;
    up->records = 0;
    up->mode = 0;
    up->history_type = 0;
    up->timestamp = 0;
}

/* The slot for a new reading, in the current record (up->records). */
static struct lsws_reading *builder_next(struct lsws_uplink *up, struct lsws_error *err)
{
    if (up->model >= LSWS_MODEL_COUNT) {
        lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "uplink has an unknown model");
        return NULL;
    }
    if (up->n >= LSWS_UPLINK_MAX) {
        lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "uplink full: at most %d readings",
                  LSWS_UPLINK_MAX);
        return NULL;
    }
    struct lsws_reading *r = &up->r[up->n];
    r->record = (uint16_t)up->records;
    r->mode = up->records ? up->mode : 0;
    r->history_type = up->records ? up->history_type : 0;
    r->timestamp = up->records ? up->timestamp : 0;
    return r;
}

int lsws_uplink_add_record(struct lsws_uplink *up, unsigned mode, uint32_t timestamp,
                           unsigned history_type, struct lsws_error *err)
{
    if (up->model != LSWS_MODEL_CTH01)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "only cth01 uplinks have history records");
    if (mode != LSWS_HIST_PERIODIC && mode != LSWS_HIST_MONTHLY)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "history mode %u: expected 1 (periodic) or 2 (monthly)", mode);
    if (history_type > LSWS_HIST_MONTHLY_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "history type %u: expected 0-3",
                         history_type);
    if (up->records >= UINT16_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "too many history records");
    up->records++;
    up->mode = (uint8_t)mode;
    up->history_type = (uint8_t)history_type;
    up->timestamp = timestamp;
    return LSWS_OK;
}

/* Finds what carries reading `name` on `channel`: a telemetry field (*pc,
 * *pf, value *pk of its count) or, with *pc NULL, setting *pidx. */
static int find_field(enum lsws_model_id model, const char *name, unsigned channel, int alarm,
                      const struct ucmd **pc, const struct ufield **pf, unsigned *pk,
                      size_t *pidx, struct lsws_error *err)
{
    const struct table *t = &tables[model];
    int named = 0, other_kind = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct ucmd *c = &t->cmds[i];
        for (unsigned fi = 0; fi < c->nf; fi++) {
            const struct ufield *f = &c->f[fi];
            if (!makes_reading(f) || strcmp(f->name, name) != 0)
                continue;
            named = 1;
            if (has_field(c, FT_ATYPE) != alarm) {
                other_kind = 1;
                continue;
            }
            unsigned k = 0;
            if (f->ch0) {
                if (channel < f->ch0 || channel >= f->ch0 + f->count)
                    continue;
                k = channel - f->ch0;
            } else if (has_field(c, FT_CHAN)) {
                const struct ufield *cf = c->f; /* FT_CHAN is always first */
                if (channel < 1 || channel > cf->arg + 1u)
                    continue;
            } else if (channel != 0) {
                continue;
            }
            *pc = c;
            *pf = f;
            *pk = k;
            return LSWS_OK;
        }
    }
    const struct lsws_model *m = lsws_model_get(model);
    for (size_t i = 0; i < m->n_settings; i++) {
        const char *rn = lsws_setting_reading(m, i);
        if (!rn || strcmp(rn, name) != 0)
            continue;
        named = 1;
        if (alarm) {
            other_kind = 1;
            continue;
        }
        if (setting_channel(&m->settings[i]) != channel)
            continue;
        *pc = NULL;
        *pidx = i;
        return LSWS_OK;
    }
    if (other_kind)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "reading '%s' %s", name,
                         alarm ? "is not an alarm: use lsws_uplink_add"
                               : "is an alarm: use lsws_uplink_add_alarm");
    if (named)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "%s reading '%s' has no %s%u%s",
                         tables[model].name, name, alarm ? "alarm on channel " : "channel ",
                         channel, channel ? "" : " (or it needs one)");
    return lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX, "no reading '%s' in %s uplinks", name,
                     tables[model].name);
}

static int add_common(struct lsws_uplink *up, const char *name, unsigned channel, int alarm,
                      unsigned type, int64_t raw, const char *hex, struct lsws_error *err)
{
    struct lsws_reading *r = builder_next(up, err);
    if (!r)
        return err ? err->code : LSWS_ERR_INVALID;
    const struct ucmd *c = NULL;
    const struct ufield *f = NULL;
    unsigned k = 0;
    size_t idx = 0;
    int rc = find_field(up->model, name, channel, alarm, &c, &f, &k, &idx, err);
    if (rc)
        return rc;
    if (!c) {
        /* A setting: a number as the settings codec stores it (button_lock 1). */
        const struct lsws_model *m = lsws_model_get(up->model);
        const struct lsws_setting *s = &m->settings[idx];
        struct lsws_value v = {.num = raw};
        int text = s->row->type == LSWS_T_TEXT;
        if (!text != !hex)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "reading '%s' takes %s", name,
                             text ? "its text as hex (lsws_uplink_add_hex)" : "a number");
        size_t n = 0;
        if (text && (lsws_hex_parse(hex, v.bytes, sizeof v.bytes, &n, NULL) != LSWS_OK ||
                     n >= LSWS_READING_TEXT))
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "reading '%s': expected hex text",
                             name);
        v.len = (uint8_t)n;
        if (text)
            v.num = 0;
        if (lsws_field_check(s->row, &v, LSWS_CHECK_WIRE))
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "reading '%s': %lld is not a value of %s",
                             name, (long long)raw, s->key);
        fill_setting(r, m, lsws_model_command_of(m, idx), idx, &v);
        up->n++;
        return LSWS_OK;
    }
    int bytes = f->type == FT_HEX || f->type == FT_TEXT;
    if (bytes != (hex != NULL))
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "reading '%s' takes %s", name,
                         bytes ? "hex (lsws_uplink_add_hex)" : "a number");
    if (alarm && !enum_name(alarm_types, type))
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "alarm type 0x%02x is unknown", type);
    uint8_t b[LSWS_READING_TEXT];
    char why[160], str[LSWS_READING_TEXT];
    if (f->type == FT_TEXT) {
        /* The text's bytes as hex: "4d696c..." */
        size_t n = 0;
        if (lsws_hex_parse(hex, b, sizeof b - 1, &n, NULL) != LSWS_OK)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "reading '%s': expected hex text", name);
        memcpy(str, b, n);
        str[n] = '\0';
        if (strlen(str) != n)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "reading '%s': NUL in the text", name);
        hex = str;
    }
    if (field_bytes(f, raw, hex, b, why, sizeof why))
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "reading '%s': %s", name, why);
    rc = fill_reading(r, c, f, k, f->ch0 ? 0 : channel, alarm ? (int)type : -1, b, SIZE_MAX, err);
    if (rc)
        return rc;
    up->n++;
    return LSWS_OK;
}

int lsws_uplink_add(struct lsws_uplink *up, const char *name, unsigned channel, int64_t raw,
                    struct lsws_error *err)
{
    return add_common(up, name, channel, 0, 0, raw, NULL, err);
}

int lsws_uplink_add_hex(struct lsws_uplink *up, const char *name, const char *hex,
                        struct lsws_error *err)
{
    return add_common(up, name, 0, 0, 0, 0, hex ? hex : "", err);
}

int lsws_uplink_add_alarm(struct lsws_uplink *up, const char *name, unsigned channel,
                          unsigned type, int64_t raw, struct lsws_error *err)
{
    return add_common(up, name, channel, 1, type, raw, NULL, err);
}

int lsws_uplink_add_reply(struct lsws_uplink *up, unsigned result, const uint8_t *cmd,
                          size_t len, struct lsws_error *err)
{
    if (up->model != LSWS_MODEL_CTH01)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "only cth01 uplinks carry replies");
    if (result > 15 || len > 15 || (!cmd && len))
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX,
                         "reply: result 0-15 and at most 15 command bytes");
    struct lsws_reading *r = builder_next(up, err);
    if (!r)
        return err ? err->code : LSWS_ERR_INVALID;
    if (r->record)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "a reply cannot go into a history record");
    fill_reply(r, result, cmd, len);
    up->n++;
    return LSWS_OK;
}

const char *lsws_history_mode_name(unsigned mode)
{
    return mode == LSWS_HIST_PERIODIC ? "periodic" : mode == LSWS_HIST_MONTHLY ? "monthly" : NULL;
}

const char *lsws_history_type_name(unsigned type)
{
    static const char *const names[] = {NULL, "monthly_energy", "monthly_min", "monthly_max"};
    return type < sizeof names / sizeof names[0] ? names[type] : NULL;
}
