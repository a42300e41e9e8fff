/* Private: shorthands for writing model tables (lib/model_*.c), and the
 * tables themselves. Not part of the public API. */
#ifndef LSWS_MODEL_ROWS_H
#define LSWS_MODEL_ROWS_H

#include "lsws.h"

/* What a row is. */
#define BOOL(k, d) .key = (k), .type = LSWS_T_BOOL, .min = 0, .max = 1, .def = (d)
#define UINT(k, u, lo, hi, d) .key = (k), .type = LSWS_T_UINT, .unit = (u), .min = (lo), .max = (hi), .def = (d)
#define INT(k, u, lo, hi, d) .key = (k), .type = LSWS_T_INT, .unit = (u), .min = (lo), .max = (hi), .def = (d)
#define ENUM(k, e, d) .key = (k), .type = LSWS_T_ENUM, .enums = (e), .def = (d)
#define HEX(k, n, d) .key = (k), .type = LSWS_T_HEX, .min = (n), .max = (n), .def = (d)
#define CONST(v) .key = NULL, .enc = LSWS_ENC_CONST, .min = (v)

/* Where it travels: command code of clen bytes, offset and width in the payload. */
#define AT(c, clen, o, w) .code = (c), .code_len = (clen), .off = (o), .width = (w)
/* Indexed rows: n settings, per_code of them in each command, codes step by one. */
#define EACH(n, per, ostep) .count = (n), .per_code = (per), .code_step = 1, .off_step = (ostep)

#define VENDOR LSWS_F_VENDOR
#define SECRET LSWS_F_SECRET

extern const struct lsws_row lsws_rows_lorawan[];
extern const size_t lsws_rows_lorawan_n;
extern const struct lsws_row lsws_rows_ws523[];
extern const size_t lsws_rows_ws523_n;
extern const struct lsws_row lsws_rows_cth01[];
extern const size_t lsws_rows_cth01_n;

extern const struct lsws_enum lsws_enum_bool[];
/* Shared value names: "disable"/"enable" is how uplinks name a BOOL setting
 * (the vendor decoders' readEnableStatus); "off"/"on" serves settings and
 * telemetry alike. */
extern const struct lsws_enum lsws_enum_enable[];
extern const struct lsws_enum lsws_enum_off_on[];

/* The entry of e whose wire value is v, or NULL. */
static inline const struct lsws_enum *lsws_enum_find(const struct lsws_enum *e, int64_t v)
{
    for (; e && e->name; e++)
        if (e->value == v)
            return e;
    return NULL;
}

/* Uplink names of settings. A unit also sends some settings' commands in
 * uplinks (basic information, replies to queries); decode reads them with
 * the rows' layout and names each setting as the vendor decoder does
 * (DESIGN.md "Decode output names"). Keyed by row key ("%s" included); an
 * indexed row's readings carry index + 1 as their channel. A command is
 * decoded in uplinks when every setting it carries has a name here. Ends
 * with a NULL key. */
struct lsws_reading_name {
    const char *key;
    const char *reading;
};
extern const struct lsws_reading_name lsws_readings_ws523[];
extern const struct lsws_reading_name lsws_readings_cth01[];

/* A command of a model: a code and the fields its payload carries, derived
 * from the table when the model is first used. */
#define LSWS_CMD_FIELDS 16
#define LSWS_CMD_CONST 0x8000u /* field refers to model->consts */
struct lsws_command {
    uint32_t code;
    uint8_t code_len;
    uint8_t len;  /* fixed payload length; for a length-prefixed text the maximum */
    uint8_t lstr; /* payload is a length byte and text */
    uint8_t n_fields;
    uint16_t fields[LSWS_CMD_FIELDS];
};
const struct lsws_command *lsws_model_commands(const struct lsws_model *model, size_t *n);
/* Command carrying setting idx. */
const struct lsws_command *lsws_model_command_of(const struct lsws_model *model, size_t idx);
/* Fails with LSWS_ERR_UNKNOWN_KEY: "unknown setting 'KEY' for MODEL",
 * and the nearest keys when there are near ones (lib/keys.c). */
int lsws_fail_unknown_key(struct lsws_error *err, const struct lsws_model *model, const char *key);
/* Default text of setting s, or NULL when it derives from band or unit. */
const char *lsws_setting_default(const struct lsws_setting *s);
/* The commands of a model that its units send in uplinks (table order). */
const struct lsws_command *const *lsws_model_uplink_commands(const struct lsws_model *model,
                                                             size_t *n);
/* Uplink reading name of setting idx; NULL when no uplink carries it. */
const char *lsws_setting_reading(const struct lsws_model *model, size_t idx);

/* ---- the field reader and writer (lib/codec_settings.c) ----------------- */
/* One codec for a command's fields, whoever reads them: configuration
 * reads and writes (lsws_settings_*) and uplinks (lib/uplink.c). */

enum lsws_check {
    LSWS_CHECK_WIRE,  /* what the wire can say: names of BOOL/ENUM, widths, fixed bytes */
    LSWS_CHECK_RANGE, /* and lsws's allowed range (what a write may set) */
};
/* Reads field s (a setting, or a CONST from model->consts) of a command
 * payload of plen bytes into v. Returns 0, or -1 when the bytes are not an
 * acceptable value (a CONST that differs, a value outside the check). */
int lsws_field_get(const uint8_t *payload, size_t plen, const struct lsws_setting *s,
                   struct lsws_value *v, enum lsws_check check);
/* Writes v (ignored for a CONST) into its place in payload; bit fields
 * leave the other bits as they are. The caller checked v. */
void lsws_field_put(uint8_t *payload, const struct lsws_setting *s, const struct lsws_value *v);
/* 0 if v is acceptable for row under check, -1 if not. */
int lsws_field_check(const struct lsws_row *row, const struct lsws_value *v, enum lsws_check check);

#endif
