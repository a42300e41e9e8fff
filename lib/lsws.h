/* liblsws: settings models, command codec and templates for Milesight WS523
 * (WS52x) smart sockets and CTH01 power-monitor hubs.
 *
 * This is the library's one public header. The library never prints; every
 * error comes back as a negative LSWS_ERR_* code, and functions that can fail
 * on user input also fill a struct lsws_error with a message that names the
 * input. Ownership: a function that returns a heap object says so; "_free"
 * releases it. Pointers into model tables are static and never freed. */
#ifndef LSWS_H
#define LSWS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define LSWS_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------ */

enum lsws_status {
    LSWS_OK = 0,
    LSWS_ERR_INVALID = -1,      /* a value or argument is not acceptable */
    LSWS_ERR_NOMEM = -2,        /* out of memory */
    LSWS_ERR_TRUNCATED = -3,    /* a frame or payload ends early */
    LSWS_ERR_MALFORMED = -4,    /* bytes that do not form a known command */
    LSWS_ERR_UNKNOWN_KEY = -5,  /* no such setting in this model */
    LSWS_ERR_RANGE = -6,        /* a value outside its allowed range */
    LSWS_ERR_MODEL = -7,        /* wrong model or band */
    LSWS_ERR_SYNTAX = -8,       /* text (JSON, hex, lists) does not parse */
    LSWS_ERR_READONLY = -9,     /* the setting cannot be written */
    LSWS_ERR_INCOMPLETE = -10,  /* a command needs settings that were not given */
    LSWS_ERR_IO = -11,          /* input/output error on a file or link */
    LSWS_ERR_TIMEOUT = -12,     /* no answer in time */
    LSWS_ERR_NODEV = -13,       /* no such device, or it went away */
    LSWS_ERR_AUTH = -14,        /* wrong password or not authenticated */
    LSWS_ERR_UNSUPPORTED = -15, /* not supported by this device or transport */
    LSWS_ERR_VERIFY = -16,      /* read-back differs from what was written */
    LSWS_ERR_PROTOCOL = -17,    /* the device broke the protocol */
    LSWS_ERR_DEVICE = -18,      /* the device refused the request */
    LSWS_ERR_BUSY = -19,        /* the port or device is in use by another program */
};
#define LSWS_ERR_MIN LSWS_ERR_BUSY

/* Static text for a code ("value out of range"); never NULL. */
const char *lsws_strerror(int code);
/* The code's symbolic name ("LSWS_ERR_RANGE"), or NULL for an unknown code. */
const char *lsws_errname(int code);

/* Details of a failure on user input. `offset` is a byte offset into a
 * frame or a character offset into text, or SIZE_MAX when it does not apply;
 * `line`/`column` are 1-based for text files, 0 when unknown. */
struct lsws_error {
    int code;
    size_t offset;
    int line, column;
    char msg[256];
};
void lsws_error_clear(struct lsws_error *err);
/* Sets err (may be NULL) and returns code, so callers can `return lsws_fail(...)`. */
int lsws_fail(struct lsws_error *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- hex --------------------------------------------------------------- */

/* Parses hex text (pairs of digits; spaces, ':' and '-' between pairs are
 * ignored; an optional leading "0x") into out[0..cap). */
int lsws_hex_parse(const char *text, uint8_t *out, size_t cap, size_t *len, struct lsws_error *err);
/* Writes 2*len lowercase digits and a NUL; out must hold 2*len+1 bytes. */
void lsws_hex_format(const uint8_t *in, size_t len, char *out);

/* ---- settings models ---------------------------------------------------- */

enum lsws_model_id { LSWS_MODEL_WS523 = 0, LSWS_MODEL_CTH01 = 1, LSWS_MODEL_COUNT };

enum lsws_type {
    LSWS_T_BOOL,       /* true/false */
    LSWS_T_UINT,       /* unsigned integer, optionally fixed point (scale) */
    LSWS_T_INT,        /* signed integer, optionally fixed point (scale) */
    LSWS_T_ENUM,       /* one of a list of names */
    LSWS_T_HEX,        /* exactly `max` bytes written as hex (EUIs, keys, addresses) */
    LSWS_T_TEXT,       /* printable ASCII, min..max characters */
    LSWS_T_PASSWORD,   /* 6 characters: letters, digits, underscore */
    LSWS_T_CHANNELS,   /* channel index list: "1-40, 60", "All", "Null" */
    LSWS_T_UTC_OFFSET, /* "UTC+05:30"; stored in minutes */
};

enum lsws_flag {
    LSWS_F_SECRET = 1u << 0,     /* redacted in output unless asked for */
    LSWS_F_READONLY = 1u << 1,   /* read from the device, never written */
    LSWS_F_WRITEONLY = 1u << 2,  /* written, never read back (passwords) */
    LSWS_F_PER_DEVICE = 1u << 3, /* default derives from the unit's identity */
    LSWS_F_BAND = 1u << 4,       /* default derives from the frequency band */
    LSWS_F_VENDOR = 1u << 5,     /* carried by a command code from the vendor guide */
};

/* How a field sits in its command's payload. */
enum lsws_enc {
    LSWS_ENC_LE,     /* little-endian integer of `width` bytes; `bits` at `shift` */
    LSWS_ENC_BYTES,  /* `width` raw bytes in text order (EUIs, keys) */
    LSWS_ENC_LSTR,   /* length byte then up to `width` ASCII bytes (variable) */
    LSWS_ENC_MASK,   /* channel bitmap, `width` bytes, bit 0 of byte 0 = channel 0 */
    LSWS_ENC_CONST,  /* not a setting: a fixed value (`min`) the command carries */
};

struct lsws_enum {
    const char *name;
    int64_t value; /* value on the wire */
};

/* One line of a model table. A row with count > 1 stands for indexed
 * settings ("alarm.current[5].max"): setting i (0-based) is carried by code
 * code + (i / per_code) * code_step at offset off + (i % per_code) * off_step. */
struct lsws_row {
    const char *key; /* "%s" marks where the index goes; NULL for a CONST row */
    enum lsws_type type;
    const char *unit;
    int64_t min, max; /* stored value range; HEX: byte length in max; TEXT: length range */
    uint8_t scale;    /* decimals: stored 2718 with scale 2 reads 27.18 */
    const char *def;  /* default as text; NULL with F_PER_DEVICE or F_BAND */
    const struct lsws_enum *enums;
    unsigned flags;
    uint32_t code;    /* command code, most significant byte first: 0xff24, 0x7704 */
    uint8_t code_len; /* bytes of code on the wire */
    uint8_t off, width, shift, bits;
    enum lsws_enc enc;
    int32_t wire_mul; /* wire value = stored value * wire_mul (0 means 1) */
    uint8_t count, per_code, code_step, off_step;
    const char *const *index_names; /* NULL: indices are 1..count */
    const char *const *index_defs;  /* per-index defaults, overriding def */
    const char *source;             /* guide section */
    const char *help;
};

/* One concrete setting, a row expanded for one index. */
struct lsws_setting {
    char key[48];
    const struct lsws_row *row;
    unsigned index; /* 0-based index within the row */
    uint32_t code;
    uint8_t code_len;
    uint8_t off;
};

/* A frequency band, with its limits from the LoRaWAN Regional Parameters
 * (RP002): uplink spreading factors on 125 kHz channels, the highest
 * TXPower index, the RX2 data rates. */
struct lsws_band {
    const char *name;        /* "EU868" */
    unsigned channels;       /* channel indices 0..channels-1 */
    uint32_t freq_min, freq_max, rx2_freq;
    uint8_t rx2_dr;
    const char *channels_default;
    uint8_t sf_min, sf_max;          /* uplink SF7..SF12 (US915: SF7..SF10) */
    uint8_t tx_power_max;            /* TXPower 0..max (0 = max EIRP, 2 dB steps) */
    uint8_t rx2_dr_min, rx2_dr_max;  /* downlink data rates RX2 may use */
};

/* An AS923 channel plan (AS923-1..4): its frequencies and RX2 channel. */
struct lsws_channel_plan {
    const char *name;  /* "as923-1", the lorawan.channel_plan value */
    uint32_t freq_min, freq_max, rx2_freq;
};
/* The plan named by the lorawan.channel_plan wire value, or NULL. */
const struct lsws_channel_plan *lsws_channel_plan_at(size_t i);

struct lsws_model {
    enum lsws_model_id id;
    const char *name;  /* "ws523" */
    const char *title; /* "WS523 portable smart socket" */
    const char *transport; /* how the vendor app reaches it: "nfc", "ble" */
    const struct lsws_setting *settings;
    size_t n_settings;
    const struct lsws_setting *consts; /* fixed bytes commands carry (LSWS_ENC_CONST rows) */
    size_t n_consts;
};

const struct lsws_model *lsws_model_get(enum lsws_model_id id);
/* "ws523", "ws52x", "cth01" (case-insensitive); NULL if unknown. */
const struct lsws_model *lsws_model_by_name(const char *name);
/* Index of key in model->settings, or -1. */
int lsws_model_find(const struct lsws_model *model, const char *key);

const struct lsws_band *lsws_band_by_name(const char *name);
const struct lsws_band *lsws_band_at(size_t i); /* NULL past the end */

/* ---- keys for people (lib/keys.c) ----------------------------------------- */

/* Marks in hit[] (model->n_settings entries, not cleared first) the
 * settings a pattern selects: the one whose key is the pattern, exactly,
 * brackets included; else every key the pattern matches as a shell wildcard
 * (fnmatch(3): there brackets are a character class). Returns how many. */
size_t lsws_model_match(const struct lsws_model *model, const char *pattern, uint8_t *hit);
/* Case-insensitive edit distance, an adjacent transposition counting as one edit. */
unsigned lsws_edit_distance(const char *a, const char *b);
/* "Did you mean": the candidates nearest to word, if near enough (about
 * one typo per five characters), at most max of them into out (pointers to
 * the candidates). Returns how many; 0 when nothing is near. */
size_t lsws_suggest(const char *word, const char *const *candidates, size_t n, const char **out,
                    size_t max);
/* The same over the keys of a model; out points into the model table. */
size_t lsws_model_suggest(const struct lsws_model *model, const char *key, const char **out,
                          size_t max);
/* "did you mean 'a'?", "did you mean 'a' or 'b'?"; "" when n is 0. */
void lsws_suggest_format(const char *const *words, size_t n, char *buf, size_t cap);
#define LSWS_SUGGEST_MAX 3

/* ---- values and configurations ----------------------------------------- */

#define LSWS_VALUE_BYTES 32
struct lsws_value {
    int64_t num;                     /* BOOL, UINT, INT, ENUM (wire value), UTC_OFFSET */
    uint8_t len;                     /* HEX, TEXT, PASSWORD, CHANNELS: bytes used */
    uint8_t bytes[LSWS_VALUE_BYTES]; /* CHANNELS: bitmap, bit i = channel i */
};

/* A set of settings of one model; any subset may be present. */
struct lsws_config {
    const struct lsws_model *model;
    struct lsws_value *values; /* model->n_settings entries */
    uint8_t *present;          /* 1 where values[i] holds a value */
};

/* Returns a new empty configuration in *out (free with lsws_config_free). */
int lsws_config_new(const struct lsws_model *model, struct lsws_config **out);
void lsws_config_free(struct lsws_config *cfg);
int lsws_config_copy(const struct lsws_config *src, struct lsws_config **out);
size_t lsws_config_count(const struct lsws_config *cfg);

/* Identity of one unit, for defaults that derive from it. */
struct lsws_identity {
    char sn[17];      /* 16 hex digits */
    uint8_t dev_eui[8];
};

/* Sets every setting to its factory default for `band`. id may be NULL:
 * settings whose default derives from the unit are then left absent. */
int lsws_config_defaults(struct lsws_config *cfg, const char *band, const struct lsws_identity *id,
                         struct lsws_error *err);

/* Parses text for setting idx of the model into v, checking type and range. */
int lsws_value_parse(const struct lsws_model *model, size_t idx, const char *text,
                     struct lsws_value *v, struct lsws_error *err);
/* Canonical text of a value ("20", "27.18", "on", "24e124c0002a0001"). */
int lsws_value_format(const struct lsws_model *model, size_t idx, const struct lsws_value *v,
                      char *buf, size_t n);
/* What a setting accepts, for messages and listings: "1..1080 min", "abp, otaa". */
void lsws_setting_allowed(const struct lsws_model *model, size_t idx, char *buf, size_t n);
int lsws_value_equal(const struct lsws_model *model, size_t idx, const struct lsws_value *a,
                     const struct lsws_value *b);

/* Parses and stores KEY=VALUE text by key. */
int lsws_config_set(struct lsws_config *cfg, const char *key, const char *text,
                    struct lsws_error *err);
/* One "KEY=VALUE" (a command line's, a manifest's) into cfg, as
 * lsws_config_set, but a key cfg already holds is an error ("KEY is given
 * twice"): cfg collects one change set, and the last of two values must not
 * win silently. LSWS_ERR_SYNTAX when the text is not KEY=VALUE. */
int lsws_config_assign(struct lsws_config *cfg, const char *assignment, struct lsws_error *err);
/* Checks KEY=VALUE assignments before the device, and so its model, is
 * known (nothing has been sent yet): each is KEY=VALUE, no key comes twice,
 * and some model has the key and accepts the value. When none does, the
 * message gives each model's rule under its name. */
int lsws_assignments_check(int n, char *const *assignments, struct lsws_error *err);
/* Cross-setting rules (channel list within the band, alarm interval shorter
 * than the report interval, 4000 A group rule). Checks present settings. */
int lsws_config_check(const struct lsws_config *cfg, struct lsws_error *err);

/* ---- settings codec (pure: bytes in, structs out) ---------------------- */

/* Encodes the present settings of cfg as the device's command TLVs. A
 * command that carries several settings needs all of them: missing ones are
 * taken from base (may be NULL); if still missing, LSWS_ERR_INCOMPLETE names
 * them. Read-only settings are an error. */
int lsws_settings_encode(const struct lsws_config *cfg, const struct lsws_config *base,
                         uint8_t *out, size_t cap, size_t *len, struct lsws_error *err);
/* The device side of encoding: like lsws_settings_encode without a base,
 * but read-only settings are encoded too (a device reports them). */
int lsws_settings_report(const struct lsws_config *cfg, uint8_t *out, size_t cap, size_t *len,
                         struct lsws_error *err);
/* Decodes command TLVs into cfg (settings found become present). An unknown
 * code or short payload fails with the byte offset; cfg may then hold the
 * settings decoded before the error. */
int lsws_settings_decode(struct lsws_config *cfg, const uint8_t *in, size_t len,
                         struct lsws_error *err);
/* Length in *span of the one command at the start of in (code and payload),
 * without decoding its values; for splitting TLVs at command boundaries. */
int lsws_settings_span(const struct lsws_model *model, const uint8_t *in, size_t len, size_t *span,
                       struct lsws_error *err);

/* ---- JSON templates (jansson) ---------------------------------------------- */

#define LSWS_TEMPLATE_FORMAT 1
#define LSWS_REDACTED "(redacted)"

enum lsws_template_flag {
    LSWS_TPL_REDACT = 1u << 0, /* secrets written as LSWS_REDACTED */
};

/* Parses template JSON text. On success *out is a new configuration (free
 * with lsws_config_free) holding exactly the template's settings, checked
 * by type, range and the cross-setting rules. Errors carry line and column:
 * JSON syntax, duplicate or unknown keys, wrong types, out-of-range values,
 * unknown model, read-only settings, redacted secrets. */
int lsws_template_parse(const char *text, size_t len, struct lsws_config **out,
                        struct lsws_error *err);
/* Renders the present settings of cfg as template JSON (2-space indent,
 * table order, trailing newline). *out is a heap string the caller frees. */
int lsws_template_render(const struct lsws_config *cfg, unsigned flags, char **out);
/* The JSON form of one value: boolean, integer, real (fixed point) or string.
 * Returns a new reference. */
json_t *lsws_value_to_json(const struct lsws_model *model, size_t idx, const struct lsws_value *v);
/* A JSON document as lsws writes templates and backups (2-space indent, keys
 * in insertion order, a trailing newline) into *out, a heap string; takes
 * the reference to root. */
int lsws_json_document(json_t *root, char **out);

/* ---- configuration protocol (docs/protocol.md) -------------------------- */
/* lsws's own application protocol, the same on every transport. A message
 * is: version (1) | sequence (1) | op (1; responses set bit 7) | [status (1),
 * responses only] | payload. Payloads of READ and WRITE are the settings
 * TLVs of the codec above. */

#define LSWS_PROTO_VERSION 1
#define LSWS_MSG_MAX 1024 /* largest message, header included */
#define LSWS_TXN_BYTES 16384 /* settings TLVs in one WRITE transaction, at most */
#define LSWS_OP_RESPONSE 0x80

enum lsws_op {
    LSWS_OP_IDENTIFY = 0x01,  /* -> struct lsws_device_info */
    LSWS_OP_AUTH = 0x02,      /* password (6 bytes) -> status */
    LSWS_OP_READ = 0x03,      /* cursor (2) [codes] -> next cursor (2) + TLVs */
    LSWS_OP_WRITE = 0x04,     /* flags (1) + TLVs; applied all-or-nothing on the last frame */
    LSWS_OP_RESET = 0x05,     /* factory defaults, then reboot */
    LSWS_OP_REBOOT = 0x06,
    LSWS_OP_TIME_SYNC = 0x07, /* unix time (4) + UTC offset minutes (2, signed) */
    LSWS_OP_PASSWORD = 0x08,  /* new password (6 bytes) */
    LSWS_OP_FW_BEGIN = 0x10,  /* flags (1) + image description (47) -> next offset (4) + slot size (4) */
    LSWS_OP_FW_DATA = 0x11,   /* offset (4) + CRC-32 (4) + bytes -> next offset (4) */
    LSWS_OP_FW_END = 0x12,    /* verify, commit, reboot -> firmware version (2) */
    LSWS_OP_HISTORY = 0x20,   /* CTH01 stored history: query (1) + kind (1) + ...; docs/protocol.md */
};

enum lsws_proto_status {
    LSWS_ST_OK = 0,
    LSWS_ST_BAD_REQUEST = 1,   /* malformed request */
    LSWS_ST_UNKNOWN_OP = 2,
    LSWS_ST_AUTH_REQUIRED = 3, /* authenticate first */
    LSWS_ST_AUTH_FAILED = 4,   /* wrong password */
    LSWS_ST_RATE_LIMITED = 5,  /* too many failures: payload = seconds to wait (2) */
    LSWS_ST_INVALID = 6,       /* a setting was refused: payload = byte offset (2) + message */
    LSWS_ST_BUSY = 7,
    LSWS_ST_UNSUPPORTED = 8,   /* not on this model or firmware */
    LSWS_ST_STORAGE = 9,       /* could not persist */
    LSWS_ST_SEQUENCE = 10,     /* WRITE continuation without a transaction; FW_DATA/FW_END
                                  at another offset than the device expects; HISTORY page
                                  of a query that is not open */
    LSWS_ST_CHECKSUM = 11,     /* FW_DATA chunk or FW_END image fails its checksum */
    LSWS_ST_STORAGE_OFF = 12,  /* HISTORY: data storage is disabled (storage.enabled) */
    LSWS_ST_NO_CLOCK = 13,     /* HISTORY: the device clock was never set */
};
#define LSWS_FW_BEGIN_FORCE 0x01 /* FW_BEGIN flags: the same or an older version may be installed */
#define LSWS_WRITE_MORE 0x01  /* WRITE flags: more frames of this transaction follow */
#define LSWS_WRITE_FIRST 0x02 /* WRITE flags: the first frame of a transaction */
#define LSWS_READ_DONE 0xffff /* READ cursor: nothing more */

/* HISTORY requests: the first payload byte names the query, as the CTH01's
 * own commands (CTH01 guide ch.5 "Commands for Historical Data Query"),
 * the second the kind of data (byte 1 of those commands). */
#define LSWS_HQ_STATUS 0x00 /* lsws's own: what the store holds in a time range */
#define LSWS_HQ_POINT 0x5b  /* the record nearest a time, within one reporting interval */
#define LSWS_HQ_RANGE 0x5c  /* the records of a time range, at most 300 per query */
#define LSWS_HQ_STOP 0x5d   /* stop the query being answered */
#define LSWS_HQ_CLEAR 0x5e  /* clear the stored data of one kind */
#define LSWS_HISTORY_QUERY_MAX 300   /* records in the answer of one range query (5c) */
#define LSWS_HISTORY_CAPACITY 20000  /* records the CTH01 stores (ch.4 "Export the Local Data") */
#define LSWS_HISTORY_PAGE_HEAD 11    /* answer bytes (4) records (2) more (1) offset (4) */

const char *lsws_proto_status_text(int status);

struct lsws_msg {
    uint8_t version, seq, op, status;
    int response;
    const uint8_t *payload; /* points into the decoded buffer */
    size_t len;
};

/* Builds a request (status < 0) or a response (status >= 0) in out. */
int lsws_msg_encode(uint8_t seq, uint8_t op, int status, const uint8_t *payload, size_t len,
                    uint8_t *out, size_t cap, size_t *olen);
int lsws_msg_decode(const uint8_t *in, size_t len, struct lsws_msg *msg, struct lsws_error *err);

/* What IDENTIFY answers. */
struct lsws_device_info {
    enum lsws_model_id model;
    uint8_t proto;         /* protocol version */
    char sn[17];           /* 16 hex digits */
    uint8_t dev_eui[8];
    uint16_t hw, fw;       /* vendor versions: major << 8 | minor byte; lsws_version_format */
    uint8_t band;          /* lorawan.band wire value */
    uint16_t max_payload;  /* largest message the device takes */
    uint8_t flags;         /* LSWS_INFO_* */
    uint32_t time;         /* device clock, Unix seconds (CTH01; 0 if none) */
    int16_t tz_minutes;
};
#define LSWS_INFO_DEFAULT_PASSWORD 0x01 /* the password is still 123456 */
#define LSWS_INFO_LEN 32
/* "v1.2" for hardware 0x0120, "v1.14" for firmware 0x0114. */
void lsws_version_format(uint16_t v, int hardware, char *buf, size_t n);
int lsws_info_encode(const struct lsws_device_info *info, uint8_t *out, size_t cap, size_t *len);
int lsws_info_decode(const uint8_t *in, size_t len, struct lsws_device_info *info,
                     struct lsws_error *err);

/* Serial framing: 0x7e | byte-stuffed (message | CRC-16/CCITT-FALSE, little
 * endian) | 0x7e; 0x7e and 0x7d inside are sent as 0x7d, byte ^ 0x20. */
#define LSWS_FRAME_MAX (2 * (LSWS_MSG_MAX + 2) + 2)
uint16_t lsws_crc16(const uint8_t *data, size_t len);
int lsws_frame_encode(const uint8_t *msg, size_t len, uint8_t *out, size_t cap, size_t *olen);
struct lsws_deframer {
    uint8_t buf[LSWS_MSG_MAX + 2];
    size_t len;
    int in_frame, escaped, overflow;
};
void lsws_deframer_init(struct lsws_deframer *d);
/* Consumes bytes from in until a frame ends. Returns 1 with msg and mlen set
 * (pointing into d->buf, valid until the next call) when a good frame
 * ended, a negative LSWS_ERR_* for a bad one (CRC, too long, too short),
 * 0 when all input was used without a frame end. *used says how many
 * bytes were consumed; call again with the rest. */
int lsws_deframer_feed(struct lsws_deframer *d, const uint8_t *in, size_t len, size_t *used,
                       const uint8_t **msg, size_t *mlen, struct lsws_error *err);

/* BLE framing (lib/frame_ble.c, docs/protocol.md "BLE"): a message travels
 * as GATT values of at most `frag` bytes each (the ATT MTU - 3): a header
 * byte (bit 7: last fragment; bits 0-6: the fragment's index in the
 * message, from 0), then in the first fragment the message length (2,
 * little-endian), then message bytes. Every fragment but the last is full. */
/* The lsws GATT service (docs/protocol.md "BLE"): requests are written to one
 * characteristic (write without response), answers notified on the other. */
#define LSWS_BLE_SERVICE_UUID "ffc40001-3b50-4b4d-9744-ddaede83f13e"
#define LSWS_BLE_REQUEST_UUID "ffc40002-3b50-4b4d-9744-ddaede83f13e"  /* client -> device: write */
#define LSWS_BLE_RESPONSE_UUID "ffc40003-3b50-4b4d-9744-ddaede83f13e" /* device -> client: notify */
#define LSWS_BLE_LAST 0x80u
#define LSWS_BLE_INDEX 0x7fu
#define LSWS_BLE_FRAG_MIN 20u  /* ATT MTU 23, the smallest */
#define LSWS_BLE_FRAG_MAX 514u /* ATT MTU 517, the largest */
/* Fragments a message of len (1..LSWS_MSG_MAX) bytes takes at fragment
 * size frag (LSWS_BLE_FRAG_MIN..LSWS_BLE_FRAG_MAX); 0 if it cannot be sent. */
size_t lsws_ble_fragment_count(size_t len, size_t frag);
/* Writes fragment i of msg (len bytes) to out, which holds frag bytes;
 * its length to *olen. LSWS_ERR_RANGE for a bad length, size or index. */
int lsws_ble_fragment(const uint8_t *msg, size_t len, size_t frag, size_t i, uint8_t *out, size_t *olen);
struct lsws_ble_reasm {
    uint8_t buf[LSWS_MSG_MAX];
    size_t len, want; /* bytes collected, message length announced */
    unsigned next;    /* index the next fragment must have */
    int active;       /* a message is being collected */
    unsigned long abandoned; /* messages dropped unfinished because a new one began */
};
void lsws_ble_reasm_init(struct lsws_ble_reasm *r);
/* Takes one fragment (one GATT value). Returns 1 when it completes a
 * message (*msg and *mlen point into r, valid until the next call), 0 when
 * more fragments are needed, or a negative LSWS_ERR_* with a message in
 * err when the fragment is malformed or shows that fragments were lost
 * (an index out of order, a length that does not add up): the message in
 * progress, if any, is then dropped and the next first fragment starts
 * over. A first fragment while a message is unfinished drops that message
 * (counted in r->abandoned) and starts the new one. */
int lsws_ble_reasm_feed(struct lsws_ble_reasm *r, const uint8_t *frag, size_t len, const uint8_t **msg,
                        size_t *mlen, struct lsws_error *err);

/* NFC framing (lib/frame_nfc.c; docs/protocol.md, "NFC"): the WS523 is an
 * ISO 14443-4 card with the lsws application. The reader SELECTs it by AID,
 * then each message travels as MESSAGE command APDUs (CLA 80, INS 10, P1 =
 * fragment index, P2 = LSWS_APDU_LAST on the last one), each carrying at
 * most the card's fragment size of the message. The answer to the last
 * fragment carries the response message, continued with GET MORE (INS 12,
 * P1 = response fragment index) while it ends in SW 61xx. Pure and bounded. */
#define LSWS_NFC_AID_LEN 6
extern const uint8_t lsws_nfc_aid[LSWS_NFC_AID_LEN]; /* f0 4c 53 57 53 01: F0 "LSWS" 01 */
#define LSWS_APDU_CLA 0x80
#define LSWS_APDU_INS_MESSAGE 0x10
#define LSWS_APDU_INS_MORE 0x12
#define LSWS_APDU_LAST 0x01       /* P2 of MESSAGE: the last fragment of the message */
#define LSWS_APDU_FRAGMENT_MAX 250 /* message bytes in one APDU, at most */
#define LSWS_APDU_FRAGMENT_MIN 16  /* the smallest fragment a card may announce */
#define LSWS_APDU_CMD_MAX (5 + LSWS_APDU_FRAGMENT_MAX + 1) /* header, Lc, data, Le */
#define LSWS_APDU_RESP_MAX (LSWS_APDU_FRAGMENT_MAX + 2)    /* data, SW1 SW2 */
enum lsws_sw {
    LSWS_SW_OK = 0x9000,
    LSWS_SW_MORE = 0x6100,         /* 61xx: more response data, xx bytes (00: 256 or more) */
    LSWS_SW_WRONG_LENGTH = 0x6700, /* Lc or the assembled message too long, or a bad APDU */
    LSWS_SW_NOT_ALLOWED = 0x6985,  /* no application selected, or no response to continue */
    LSWS_SW_NOT_FOUND = 0x6a82,    /* SELECT: no such application */
    LSWS_SW_WRONG_P1P2 = 0x6a86,   /* a fragment out of order */
    LSWS_SW_INS = 0x6d00,          /* instruction not supported */
    LSWS_SW_CLA = 0x6e00,          /* class not supported */
};
/* "fragment out of order" for 6a86; a generic text for other words. */
const char *lsws_sw_text(unsigned sw);

/* A command APDU (short lengths only): header, data (lc bytes, pointing into
 * the parsed buffer) and, when has_le, the expected length (256 for 00). */
struct lsws_apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    int has_le;
    unsigned le;
};
/* Parses a command APDU; LSWS_ERR_TRUNCATED / LSWS_ERR_MALFORMED with the
 * byte offset for a bad one (extended lengths are malformed here). */
int lsws_apdu_parse(const uint8_t *in, size_t len, struct lsws_apdu *a, struct lsws_error *err);

/* What the card answers to SELECT: its application version, the largest
 * message and the largest fragment it takes. */
struct lsws_nfc_app {
    uint8_t version;
    uint16_t max_msg;
    uint8_t fragment;
};
#define LSWS_NFC_SELECT_RESP_LEN 4
/* The SELECT by AID command APDU (00 a4 04 00 06 AID 00). */
int lsws_apdu_select(uint8_t *out, size_t cap, size_t *len);
/* Splits a response APDU into its data and status word; at least the SW. */
int lsws_apdu_response(const uint8_t *in, size_t len, const uint8_t **data, size_t *dlen, unsigned *sw,
                       struct lsws_error *err);
/* Decodes the data of a 9000 answer to SELECT, checking its limits. */
int lsws_nfc_select_decode(const uint8_t *data, size_t len, struct lsws_nfc_app *app, struct lsws_error *err);
/* Fragments a message of len bytes takes at fragment bytes each (1 for len 0). */
size_t lsws_apdu_fragments(size_t len, size_t fragment);
/* MESSAGE APDU number index (0-based) of msg cut at fragment bytes. */
int lsws_apdu_message(const uint8_t *msg, size_t len, size_t fragment, unsigned index, uint8_t *out, size_t cap,
                      size_t *olen);
/* GET MORE APDU for response fragment index (1-based: 0 came with the answer). */
int lsws_apdu_more(unsigned index, uint8_t *out, size_t cap, size_t *olen);

/* The card side of the lsws application (the simulator's WS523). Feed it
 * each command APDU: LSWS_CARD_REPLY gives the response APDU to send;
 * LSWS_CARD_SELECTED too, and says a new session began (the device forgets
 * its previous one); LSWS_CARD_MESSAGE says a whole message waits in
 * msg[0..len) for the device, whose response goes to lsws_nfc_card_answer. */
enum { LSWS_CARD_REPLY = 0, LSWS_CARD_MESSAGE = 1, LSWS_CARD_SELECTED = 2 };
struct lsws_nfc_card {
    size_t max_msg, fragment; /* announced at SELECT */
    int selected;
    uint8_t msg[LSWS_MSG_MAX]; /* the message being assembled */
    size_t len;
    unsigned next;             /* index of the fragment expected next */
    size_t last_off, last_len; /* where the previous fragment went (a repeat replaces it) */
    uint8_t resp[LSWS_MSG_MAX]; /* the last response, for GET MORE */
    size_t resp_len;
    int have_resp;
};
/* max_msg 64..LSWS_MSG_MAX and fragment LSWS_APDU_FRAGMENT_MIN..MAX (clamped). */
void lsws_nfc_card_init(struct lsws_nfc_card *c, size_t max_msg, size_t fragment);
/* The card was deactivated (left the field, released): nothing is selected. */
void lsws_nfc_card_reset(struct lsws_nfc_card *c);
/* out must hold LSWS_APDU_RESP_MAX bytes. Never fails: bad input gets a status word. */
int lsws_nfc_card_feed(struct lsws_nfc_card *c, const uint8_t *apdu, size_t len, uint8_t *out, size_t cap,
                       size_t *olen);
/* The answer APDU to a message's last fragment, from the device's response
 * message (kept for GET MORE). */
void lsws_nfc_card_answer(struct lsws_nfc_card *c, const uint8_t *resp, size_t rlen, uint8_t *out, size_t cap,
                          size_t *olen);

/* ---- device URIs (lib/uri.c) ------------------------------------------------ */
/* A device is named by a URI: scheme ':' path ['?' name '=' value ('&' ...)]
 * ("serial:/dev/ttyUSB0?baud=9600", "sim:ws523?max_msg=64"). Parsing is
 * apart from opening: lsws_uri_parse checks the syntax, finds the transport
 * and checks every option name against the transport's table, so a bad URI
 * is a usage error before anything is opened. Options every transport takes:
 * timeout (ms per exchange). */
#define LSWS_URI_MAX 1024
#define LSWS_URI_OPTS 16
struct lsws_link_opts;
struct lsws_transport;
struct lsws_uri_opt {
    const char *name, *value; /* point into lsws_uri.buf */
};
struct lsws_uri {
    char text[LSWS_URI_MAX];  /* the whole URI, for messages */
    const struct lsws_transport *transport;
    const char *path;         /* after "scheme:", before '?'; may be "" */
    struct lsws_uri_opt opt[LSWS_URI_OPTS];
    size_t n_opt;
    char buf[LSWS_URI_MAX];
    /* How its link opens: lsws_transport_open, set by lsws_uri_parse (so
     * that the library's client reaches an `lsws hold` without knowing
     * sockets); NULL: transport->open. */
    int (*open_link)(const struct lsws_uri *uri, const struct lsws_link_opts *opts,
                     const struct lsws_transport **t, void **h, int *holder_pid, struct lsws_error *err);
};
/* Parses text into *uri (caller-owned; no heap). LSWS_ERR_INVALID with the
 * character offset for a bad URI; LSWS_ERR_UNSUPPORTED for a scheme this
 * build has no transport for. */
int lsws_uri_parse(const char *text, struct lsws_uri *uri, struct lsws_error *err);
/* The value of option name, or NULL when absent. */
const char *lsws_uri_opt(const struct lsws_uri *uri, const char *name);
/* An unsigned option in min..max, or def when absent; LSWS_ERR_INVALID with
 * a message naming the URI otherwise. */
int lsws_uri_opt_uint(const struct lsws_uri *uri, const char *name, unsigned min, unsigned max,
                      unsigned def, unsigned *out, struct lsws_error *err);

/* ---- transports ---------------------------------------------------------------- */

/* What a transport prints when asked to trace: one frame as it is on the
 * wire, dir '>' (to the device) or '<' (from it), with a note for a frame
 * that was dropped (bad CRC...). Tracing is the caller's; no transport prints. */
typedef void lsws_trace_fn(void *ctx, char dir, const uint8_t *bytes, size_t len, const char *note);
struct lsws_link_opts {
    lsws_trace_fn *trace; /* NULL: no tracing */
    void *trace_ctx;
    /* How long open() waits for the device to come into reach (an NFC card
     * to be presented to the reader), in ms: 0 not at all, -1 without end.
     * Transports whose devices cannot come and go ignore it. */
    int wait_ms;
    /* Set (by a signal handler) to stop such a wait early: open() then fails
     * with LSWS_ERR_NODEV. NULL: the wait runs its course. */
    const volatile sig_atomic_t *cancel;
};

/* What a link can carry: the largest application message (header
 * included) and the fragment it is cut into on the wire (0: not cut). */
struct lsws_link_limits {
    size_t max_msg;
    size_t fragment;
};

/* One device a transport can see, found without connecting. */
#define LSWS_FOUND_NO_RSSI (-1000)
struct lsws_found {
    char uri[LSWS_URI_MAX];
    char name[64];    /* advertised or reader name; "" if none */
    char address[64]; /* bus or radio address; "" if none */
    int rssi;         /* dBm, or LSWS_FOUND_NO_RSSI */
    int model;        /* enum lsws_model_id, or -1 when unknown without connecting */
    char sn[17];      /* "" when unknown without connecting */
};
typedef int lsws_found_fn(const struct lsws_found *dev, void *ctx); /* non-zero stops the scan */

#define LSWS_TRANSPORT_SCAN_INTRUSIVE 0x1u /* scanning sends bytes to hardware that may not be ours */
#define LSWS_TRANSPORT_PROBE 0x2u          /* found devices are identified by connecting (IDENTIFY) */

/* A transport: how application messages reach a device (transports/). One
 * small vtable; a missing slot means "not supported", never success. */
struct lsws_transport {
    const char *scheme;             /* "serial", "sim", "nfc", "ble" */
    const char *help;               /* URI form, for messages and --help */
    const char *const *options;     /* option names it takes besides the common ones; NULL-terminated */
    unsigned flags;                 /* LSWS_TRANSPORT_* */
    int (*open)(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h,
                struct lsws_error *err);
    void (*close)(void *h);
    /* Sends one application message (the transport frames it). */
    int (*send)(void *h, const uint8_t *msg, size_t len, struct lsws_error *err);
    /* Receives one application message within timeout_ms. LSWS_ERR_TIMEOUT
     * when none came; a corrupted frame is dropped and waiting goes on;
     * LSWS_ERR_NODEV when the link went away. */
    int (*recv)(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err);
    /* Optional: what the link can carry; absent means LSWS_MSG_MAX, uncut. */
    void (*limits)(void *h, struct lsws_link_limits *out);
    /* Optional: devices in reach within timeout_ms, one call of found each. */
    int (*discover)(int timeout_ms, lsws_found_fn *found, void *ctx, struct lsws_error *err);
    /* Optional: bytes sent and received on the wire so far (framing included). */
    void (*wire_bytes)(void *h, unsigned long *sent, unsigned long *received);
    /* Optional: whether the device is still in reach (an NFC card still in
     * the reader's field), without a protocol exchange: LSWS_OK when it is,
     * LSWS_ERR_NODEV when it left. Absent: the transport cannot tell. */
    int (*present)(void *h, struct lsws_error *err);
    /* Optional: a fresh device session on the open link, for the next
     * client of `lsws hold`: everything open() does but opening the link
     * itself (NFC: release the card, select the one in the field now,
     * waiting opts->wait_ms, and SELECT the lsws application). Errors as
     * open() gives them; LSWS_ERR_IO when the link itself failed (the
     * reader went away): it cannot be renewed again. */
    int (*renew)(void *h, const struct lsws_link_opts *opts, struct lsws_error *err);
    int timeout_ms; /* default reply timeout */
};

/* The transports this build has (transports/registry.c), NULL past the end. */
const struct lsws_transport *lsws_transport_at(size_t i);
const struct lsws_transport *lsws_transport_find(const char *scheme);
/* Opens a link to uri: through the `lsws hold` process that holds it when
 * one answers (unless $LSWS_HOLD is "0"), else with uri's transport. *t is
 * the vtable that drives *h; *holder_pid the holder's pid, 0 when direct. */
int lsws_transport_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts,
                        const struct lsws_transport **t, void **h, int *holder_pid, struct lsws_error *err);

/* ---- lsws hold (transports/hold_serve.c, docs/nfc.md "lsws hold") ---------------- */
/* Keeps the link to a URI open and serves other lsws processes that name
 * it, one at a time, over a UNIX socket (lsws_transport_open finds it). */
struct lsws_hold_opts {
    int idle_s;                        /* stop after this long without a client; 0: never */
    const volatile sig_atomic_t *stop; /* set by a signal: stop (NULL: never) */
    /* Optional: called once the socket is ready (path of the socket). */
    void (*ready)(void *ctx, const char *socket_path);
    /* Optional: one line per client (sizes only, never message contents). */
    void (*log)(void *ctx, const char *line);
    void *ctx;
};
/* Runs the holder until stopped (LSWS_OK: a signal or the idle time) or
 * until the link goes away (LSWS_ERR_NODEV). LSWS_ERR_BUSY when another
 * holder has uri; the socket is removed on every return. */
int lsws_hold_serve(const struct lsws_uri *uri, const struct lsws_link_opts *link, const struct lsws_hold_opts *opts,
                    struct lsws_error *err);

/* ---- the protocol client (lib/client.c) ----------------------------------------- */

struct lsws_client_stats {
    unsigned exchanges, retries, reconnects;
    unsigned long msg_bytes_out, msg_bytes_in;   /* application messages */
    unsigned long wire_bytes_out, wire_bytes_in; /* framed, when the transport tells */
};

struct lsws_client;

/* Opens a protocol session on the device uri (parsed; copied). *out is freed
 * with lsws_client_close. */
int lsws_client_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts,
                     struct lsws_client **out, struct lsws_error *err);
void lsws_client_close(struct lsws_client *c);
/* Closes the link and opens it again, then identifies and, if the session
 * was authenticated, authenticates again with the same password. For long
 * jobs after LSWS_ERR_NODEV or a timeout. The unit reached must be the one
 * the session identified before (model and serial number: a reused port
 * name or a BLE name may lead to another unit); if it is not, the link is
 * closed again and LSWS_ERR_NODEV says which unit answered, and
 * lsws_client_other_unit is 1 until a reconnect reaches the right one. */
int lsws_client_reconnect(struct lsws_client *c, struct lsws_error *err);
/* 1 when the last lsws_client_reconnect reached another unit than the
 * session's (no use trying again at once). */
int lsws_client_other_unit(const struct lsws_client *c);
/* Whether the device is still in reach (lsws_transport.present): LSWS_OK,
 * LSWS_ERR_NODEV when it left (or the link is down), LSWS_ERR_UNSUPPORTED
 * when the transport cannot tell. A tap loop waits with it for a card to
 * leave before it takes the next. */
int lsws_client_present(struct lsws_client *c, struct lsws_error *err);
/* log(ctx, line) receives one line per exchange (op, bytes, time, retries) for -v. */
void lsws_client_set_log(struct lsws_client *c, void (*log)(void *ctx, const char *line), void *ctx);
/* Per-exchange reply timeout and attempts (0 keeps the current value). */
void lsws_client_set_timeout(struct lsws_client *c, int timeout_ms, int attempts);
/* Total time every later call may take together, from now (0: none). A call
 * that would pass it fails with LSWS_ERR_TIMEOUT. */
void lsws_client_set_deadline(struct lsws_client *c, int total_ms);
void lsws_client_stats(const struct lsws_client *c, struct lsws_client_stats *stats);
/* The largest message this session sends: the smallest of LSWS_MSG_MAX,
 * the link's limit and the device's. */
size_t lsws_client_max_msg(const struct lsws_client *c);
/* The fragment the link cuts messages into (struct lsws_link_limits), 0 when it does not. */
size_t lsws_client_fragment(const struct lsws_client *c);
/* The message size for bulk transfers (history pages, firmware chunks):
 * lsws_client_max_msg, or on a BLE link the largest size up to it that
 * carries the most message bytes per fragment (970 bytes in 4 fragments at
 * MTU 247 rather than 1024 in 5, the fifth a sixth full), since that link
 * carries one fragment each way per connection interval. */
size_t lsws_client_bulk_msg(const struct lsws_client *c);
/* The URI the client was opened on, for messages. */
const char *lsws_client_uri(const struct lsws_client *c);
/* The pid of the `lsws hold` whose link the client uses; 0: its own link. */
int lsws_client_holder(const struct lsws_client *c);
/* 1 when the last failed request may have been executed by the device (an
 * answer was lost, the link dropped after sending): what it did is unknown. */
int lsws_client_maybe_applied(const struct lsws_client *c);
/* One request of any operation, for jobs built on the protocol (lib/upgrade.c):
 * sent and retried as every request is. *status is the device's status
 * (-1 when no answer came) and the response payload is copied to
 * resp[0..cap) with its length in *rlen (cut to cap), whatever the status.
 * Returns LSWS_OK for status OK, else the error the status maps to (with the
 * device's message), or the link's error. */
int lsws_client_call(struct lsws_client *c, uint8_t op, const uint8_t *payload, size_t len, int *status,
                     uint8_t *resp, size_t cap, size_t *rlen, struct lsws_error *err);
/* Requests in flight together, for reads that may run more than once (the
 * pages of a history answer) and for requests whose payload tells the
 * device what to do with a copy it already acted on (FW_DATA's offset):
 * up to window requests of op are out at a time, so a link with a long
 * round trip (BLE's connection interval) keeps carrying them.
 * build(ctx, i, ...) makes the payload of request i of n, or returns
 * LSWS_PIPELINE_END: no more requests (the ones out are still answered and
 * taken, then the pipeline returns LSWS_OK). take(ctx, i, ...) gets the
 * payload of its OK answer, in order i = 0..n-1; a value other than LSWS_OK
 * stops the pipeline at once and is returned. A missing answer gets every
 * unanswered request sent again with its own seq (at most the client's
 * attempts). The first answer that is not OK stops it at once: *status is
 * that status, its payload is copied to resp[0..cap) with its length in
 * *rlen (resp may be NULL with cap 0), and its mapped error is returned;
 * answers to requests still out then come later and are dropped by their
 * seq. A window of 1 is one request at a time, as NFC links always are. */
#define LSWS_PIPELINE_MAX 8
#define LSWS_PIPELINE_END 1
/* The requests a pipeline asked for window in flight keeps out on this
 * link: window within 1..LSWS_PIPELINE_MAX, and 1 on NFC. */
unsigned lsws_client_window(const struct lsws_client *c, unsigned window);
int lsws_client_pipeline(struct lsws_client *c, uint8_t op, unsigned n, unsigned window,
                         int (*build)(void *ctx, unsigned i, uint8_t *payload, size_t cap, size_t *len),
                         int (*take)(void *ctx, unsigned i, const uint8_t *payload, size_t len,
                                     struct lsws_error *err),
                         void *ctx, int *status, uint8_t *resp, size_t cap, size_t *rlen, struct lsws_error *err);

#define LSWS_MSG_MIN 64 /* the smallest maximum message a device may announce */

int lsws_client_identify(struct lsws_client *c, struct lsws_device_info *info, struct lsws_error *err);
/* Authenticates; on success the device also tells what IDENTIFY would, into
 * info (may be NULL), so a client that knows the password saves an
 * exchange. The password is kept (wiped on close) for lsws_client_reconnect. */
int lsws_client_auth(struct lsws_client *c, const char *password, struct lsws_device_info *info,
                     struct lsws_error *err);
/* Reads settings into cfg (a config of the device's model): all of them, or
 * when only is not NULL just the commands carrying settings present in only.
 * Requests are split to fit the session's largest message; write-only
 * settings are never part of a result. */
int lsws_client_read(struct lsws_client *c, struct lsws_config *cfg, const struct lsws_config *only,
                     struct lsws_error *err);
/* Writes the present settings of changes as one all-or-nothing transaction,
 * split into frames that fit; settings sharing a command with them are taken
 * from base (the device's current settings). */
int lsws_client_write(struct lsws_client *c, const struct lsws_config *changes,
                      const struct lsws_config *base, struct lsws_error *err);
int lsws_client_password(struct lsws_client *c, const char *new_password, struct lsws_error *err);
int lsws_client_reset(struct lsws_client *c, struct lsws_error *err);
int lsws_client_reboot(struct lsws_client *c, struct lsws_error *err);
int lsws_client_time_sync(struct lsws_client *c, uint32_t unix_time, int16_t tz_minutes,
                          struct lsws_error *err);

/* ---- files, state and backups (lib/file.c, lib/backup.c) ------------------------ */

/* Writes data to path atomically (temporary file beside it, fsync, rename)
 * with mode. Refuses a path that exists and is not a regular file, and never
 * follows a symbolic link: -o /dev/null must not replace the device node. */
int lsws_file_write(const char *path, const void *data, size_t len, unsigned mode,
                    struct lsws_error *err);
/* A file written as a stream, then put in place atomically as
 * lsws_file_write does: lsws_file_begin opens a temporary file beside path
 * (mode) as *out, with its name in *tmp (heap); lsws_file_commit flushes,
 * syncs, closes and renames it over path (refusing a path that is not a
 * regular file); lsws_file_abort closes and removes it. Both free *tmp. */
int lsws_file_begin(const char *path, unsigned mode, FILE **out, char **tmp, struct lsws_error *err);
int lsws_file_commit(FILE *f, char *tmp, const char *path, struct lsws_error *err);
void lsws_file_abort(FILE *f, char *tmp);
/* The per-user state directory, $XDG_STATE_HOME/lsws[/sub] (else
 * ~/.local/state/lsws[/sub]), created mode 0700 if missing. */
int lsws_state_dir(const char *sub, char *buf, size_t n, struct lsws_error *err);
/* Where automatic backups go: $LSWS_BACKUP_DIR, else <state dir>/backups. */
int lsws_backup_dir(char *buf, size_t n, struct lsws_error *err);
/* Saves the settings cfg of the unit info as a backup (lsws_backup_render:
 * a header and every setting, secrets kept: a backup must restore the
 * unit), mode 0600, named MODEL-SN-TIME.json; the path goes to path[0..n). */
int lsws_backup_save(const struct lsws_device_info *info, const struct lsws_config *cfg, char *path,
                     size_t n, struct lsws_error *err);

/* ---- the write transaction (lib/txn.c) -------------------------------------------- */
/* One call plans a change against what the device holds, another carries it
 * out: back up, write one transaction, read back, compare. Commands only
 * render the plan and the result. */

enum lsws_change_reason {
    LSWS_WHY_GIVEN = 0, /* asked for */
    LSWS_WHY_GROUP = 1, /* CTH01: 4000 A applies to a whole CT group */
    LSWS_WHY_BAND = 2,  /* a new band brings its RX2 and channel defaults */
};
enum lsws_change_state {
    LSWS_CHG_PLANNED = 0,  /* not written yet */
    LSWS_CHG_VERIFIED = 1, /* read back equal to the new value */
    LSWS_CHG_OLD = 2,      /* read back equal to the old value: not applied */
    LSWS_CHG_OTHER = 3,    /* read back as neither */
    LSWS_CHG_UNKNOWN = 4,  /* could not be read back */
};
struct lsws_change {
    size_t idx;                    /* setting index in the model */
    int had_old;                   /* the device reported a value before */
    struct lsws_value old, new, now; /* now: read back (state VERIFIED, OLD, OTHER) */
    enum lsws_change_reason why;
    enum lsws_change_state state;
    char note[96]; /* for GROUP and BAND: "4000 A applies to the whole group b" */
};
enum lsws_txn_outcome {
    LSWS_TXN_PLANNED = 0,   /* nothing written yet (a dry run stops here) */
    LSWS_TXN_NOTHING = 1,   /* no setting differs: nothing to write */
    LSWS_TXN_VERIFIED = 2,  /* written and every change read back */
    LSWS_TXN_UNCHANGED = 3, /* the write failed and the device holds the old values */
    LSWS_TXN_MISMATCH = 4,  /* written, but some values read back differ */
    LSWS_TXN_UNKNOWN = 5,   /* the write may have been applied: could not read back */
    LSWS_TXN_WRITTEN = 6,   /* the device confirmed the write, but reading back failed */
};
struct lsws_txn {
    const struct lsws_model *model;
    struct lsws_device_info info;
    struct lsws_config *current; /* the device's settings before */
    struct lsws_change *changes;
    size_t n_changes;
    enum lsws_txn_outcome outcome;
    int write_rc;                /* the write's error, LSWS_OK if it went through */
    struct lsws_error write_err;
    int answer_lost;             /* the write's answer was lost, and read-back settled it */
    char backup[1024];           /* path of the backup taken, "" if none */
};
#define LSWS_TXN_NO_BACKUP 0x1u /* do not save a backup before writing */

/* Plans writing desired (any subset of settings of the device's model) to
 * the device of client c, whose identity is info: reads the device's
 * settings, brings in what the rules between settings ask for, checks the
 * result as a whole and drops what is unchanged. Read-only and write-only
 * settings in desired are refused. *out is freed with lsws_txn_free. */
int lsws_txn_plan(struct lsws_client *c, const struct lsws_device_info *info,
                  const struct lsws_config *desired, struct lsws_txn **out, struct lsws_error *err);
/* Carries out a plan: backup (unless LSWS_TXN_NO_BACKUP), one write
 * transaction, read back and compare. Sets t->outcome and each change's
 * state. When the write fails in a way that may have run on the device (a
 * lost answer, a dropped link), reconnects and reads back to find out.
 * Returns LSWS_OK only for LSWS_TXN_VERIFIED or LSWS_TXN_NOTHING. */
int lsws_txn_apply(struct lsws_client *c, struct lsws_txn *t, unsigned flags, struct lsws_error *err);
void lsws_txn_free(struct lsws_txn *t);

/* ---- templates for units: placeholders, selections, backups (lib/template.c,
 * lib/backup.c) ---------------------------------------------------------------- */
/* A template file as restore, diff and batch use it: besides literal values
 * it may hold placeholders ("lorawan.app_key": "${APP_KEY}") filled per unit,
 * a "backup" header (what `lsws backup` writes), and a selection of its
 * settings (--only, --exclude). docs/fleet.md describes the format. */

#define LSWS_BACKUP_FORMAT 1
#define LSWS_HASH_HEX 65 /* a SHA-256 in hex, with its NUL */

/* The header of a backup: which unit it was taken from, and when. */
struct lsws_backup_info {
    int format;                    /* LSWS_BACKUP_FORMAT */
    char model[8];                 /* "ws523" */
    char band[8];                  /* the unit's band when taken: "EU868" */
    char sn[17], dev_eui[17];      /* 16 hex digits each */
    char firmware[16], hardware[16]; /* "v1.8" */
    char taken[40];                /* ISO 8601 with offset: 2026-02-06T10:17:21+00:00 */
    char lsws_version[24];         /* LSWS_VERSION of the lsws that took it */
    int secrets;                   /* 1: keys included; 0: taken with --no-secrets */
};

enum lsws_tpl_flag {
    LSWS_TPL_PLACEHOLDERS = 1u << 0, /* accept ${VAR} in string values */
};

struct lsws_tpl;

/* Parses template JSON text (a template or a backup). As
 * lsws_template_parse, plus: with LSWS_TPL_PLACEHOLDERS a string value may
 * hold ${VAR} placeholders (VAR: letters, digits, underscores, starting with
 * a letter; case does not matter; "$$" is one "$"), checked once filled; a
 * "backup" member is the header (every field checked, its model and band
 * agreeing with the settings); in a backup, read-only settings are skipped
 * (lsws_tpl_skipped), not an error. Errors carry line and column. *out is
 * freed with lsws_tpl_free. */
int lsws_tpl_parse(const char *text, size_t len, unsigned flags, struct lsws_tpl **out,
                   struct lsws_error *err);
void lsws_tpl_free(struct lsws_tpl *t);
const struct lsws_model *lsws_tpl_model(const struct lsws_tpl *t);
/* The header, or NULL for a template that is not a backup. */
const struct lsws_backup_info *lsws_tpl_backup(const struct lsws_tpl *t);
/* The band the file is for: the header's, else its lorawan.band, else NULL. */
const char *lsws_tpl_band(const struct lsws_tpl *t);
/* 1 when setting idx is in the file (as a value or as a placeholder) and selected. */
int lsws_tpl_has(const struct lsws_tpl *t, size_t idx);
/* The literal value of setting idx, or NULL when absent or a placeholder. */
const struct lsws_value *lsws_tpl_value(const struct lsws_tpl *t, size_t idx);
/* The placeholder text of setting idx ("${APP_KEY}"), or NULL. */
const char *lsws_tpl_text(const struct lsws_tpl *t, size_t idx);
size_t lsws_tpl_count(const struct lsws_tpl *t); /* settings selected */
/* Read-only settings the backup held and that were skipped: how many, and
 * the i-th one's setting index. */
size_t lsws_tpl_skipped(const struct lsws_tpl *t, size_t i, size_t *idx);
/* Keeps the settings that match one of only[] (all when n_only is 0) and
 * none of exclude[] (patterns as lsws_model_match: an exact key, else a
 * shell wildcard). A pattern that matches no setting of the model is an
 * error with the nearest keys (a typo must not select nothing silently),
 * and so is a selection that leaves nothing. Can be called once. */
int lsws_tpl_select(struct lsws_tpl *t, const char *const *only, size_t n_only,
                    const char *const *exclude, size_t n_exclude, struct lsws_error *err);
/* The distinct placeholder names of the selected settings, upper case,
 * in table order: calls fn(name, setting key, ctx) once per name; a
 * non-zero return stops and is returned. */
int lsws_tpl_each_var(const struct lsws_tpl *t, int (*fn)(const char *name, const char *key, void *ctx),
                      void *ctx);
/* A placeholder's value: the text for name (upper case), or NULL when none. */
typedef const char *lsws_var_fn(const char *name, void *ctx);
/* The selected settings with every placeholder filled from lookup, each
 * result checked as on the command line (lsws_value_parse) and the whole
 * with the rules between settings. A placeholder without a value is
 * LSWS_ERR_INCOMPLETE naming it and its setting. *out is a new config. */
int lsws_tpl_resolve(const struct lsws_tpl *t, lsws_var_fn *lookup, void *ctx, struct lsws_config **out,
                     struct lsws_error *err);
/* SHA-256 (hex) of the selected settings in canonical form (table order,
 * placeholders unfilled, the header left out): two files that would apply
 * the same settings hash the same, whatever their layout. */
void lsws_tpl_hash(const struct lsws_tpl *t, char out[LSWS_HASH_HEX]);
/* Whether the file may go to the unit info (named uri in messages): the
 * same model, and the same band when the file names one (the guides allow
 * backup and restore only between units of the same model and band).
 * LSWS_ERR_MODEL naming both otherwise. */
int lsws_tpl_check_unit(const struct lsws_tpl *t, const struct lsws_device_info *info, const char *uri,
                        struct lsws_error *err);

/* Renders cfg as a backup of the unit info: the header (taken now) and
 * every setting present, read-only ones included; secrets left out with
 * no_secrets. *out is a heap string. */
int lsws_backup_render(const struct lsws_device_info *info, const struct lsws_config *cfg, int no_secrets,
                       char **out);

/* The automatic backups, newest first: fn(path, info, ctx) for each file
 * of lsws_backup_dir() that is a backup (header read; a file that does not
 * parse is passed with info NULL). sn NULL: every unit's. */
int lsws_backup_each(const char *sn, int (*fn)(const char *path, const struct lsws_backup_info *info, void *ctx),
                     void *ctx, struct lsws_error *err);
/* The newest automatic backup of unit sn into path[0..n); LSWS_ERR_NODEV when none. */
int lsws_backup_last(const char *sn, char *path, size_t n, struct lsws_error *err);

/* ---- per-unit values: manifests (lib/manifest.c) and generated keys (lib/fleet_util.c) */

/* A CSV manifest (libcsv): a header row naming the columns, then one row
 * per unit. One column is the key, `sn` or `dev_eui` (both may be given);
 * every other column is a variable for ${NAME} placeholders (names as
 * placeholders, case-insensitive). Comma-separated, or semicolon-separated
 * when the header has semicolons and no commas; quotes as RFC 4180. */
struct lsws_manifest;
/* Parses text (name for messages). Errors carry line and column: CSV
 * syntax, a row with another number of fields than the header, a bad or
 * repeated column name, no key column, a key cell that is not 16 hex
 * digits, a row with no key, two rows for one SN or DevEUI. */
int lsws_manifest_parse(const char *text, size_t len, struct lsws_manifest **out, struct lsws_error *err);
void lsws_manifest_free(struct lsws_manifest *m);
size_t lsws_manifest_rows(const struct lsws_manifest *m);
/* 1 when the manifest has a column for variable name. */
int lsws_manifest_has(const struct lsws_manifest *m, const char *name);
/* Every row has a value for name (LSWS_ERR_INCOMPLETE at the empty cell otherwise). */
int lsws_manifest_check_filled(const struct lsws_manifest *m, const char *name, struct lsws_error *err);
/* The row of the unit (SN sn, DevEUI dev_eui as 16 hex digits) into *row.
 * LSWS_ERR_NODEV when no row names it; LSWS_ERR_INVALID, with the line,
 * when a row names it by one key and another unit by the other, or two
 * rows name it (one by SN, one by DevEUI). */
int lsws_manifest_find(const struct lsws_manifest *m, const char *sn, const char *dev_eui, size_t *row,
                       struct lsws_error *err);
/* The cell of variable name in row ("" when empty), or NULL without that column. */
const char *lsws_manifest_value(const struct lsws_manifest *m, size_t row, const char *name);
/* The line of row in the file (1-based), for messages. */
int lsws_manifest_line(const struct lsws_manifest *m, size_t row);
/* A pool of identities (docs/fleet.md): a CSV of variables only (no sn or
 * dev_eui column: its rows go to whichever unit comes next, each row to one
 * unit), shared by stations through the ledger. Two equal rows, or no row,
 * are errors. Free with lsws_manifest_free. */
int lsws_manifest_parse_pool(const char *text, size_t len, struct lsws_manifest **out, struct lsws_error *err);
int lsws_manifest_is_pool(const struct lsws_manifest *m);
/* A pool's hash (the SHA-256 of its rows' identities, in file order), and
 * one row's identity (the SHA-256 of its cells by column name, whatever
 * the columns' order): 64 hex digits; NULL for a manifest that is no pool. */
const char *lsws_manifest_hash(const struct lsws_manifest *m);
const char *lsws_manifest_row_hash(const struct lsws_manifest *m, size_t row);

/* n random bytes from the operating system's secure source (getrandom). */
int lsws_random(uint8_t *out, size_t n, struct lsws_error *err);

/* ---- the provisioning ledger (lib/ledger.c, lib/ledger_sqlite.c) ----------------- */
/* Every batch result, durable before the next unit starts. One small
 * interface; the backend is chosen by where the ledger is: a file (SQLite,
 * the embedded default, one station), later a postgresql:// URI (several
 * stations sharing one manifest). docs/fleet.md: schema, durability, and
 * how claims and leases keep two processes or stations from writing one
 * unit. */

enum lsws_ledger_state {
    LSWS_LEDGER_PENDING = 0, /* claimed, settings recorded, the write's fate not known yet */
    LSWS_LEDGER_OK = 1,      /* written and verified, or found holding them: provisioned */
    LSWS_LEDGER_FAILED = 2,  /* not provisioned: the unit holds none of the record's settings */
    LSWS_LEDGER_UNKNOWN = 3, /* the unit may hold them: a later run resumes with the same ones */
};
const char *lsws_ledger_state_name(enum lsws_ledger_state s); /* "pending", "ok", ... */

/* One unit's provisioning with one template. Strings are NUL-terminated;
 * settings and network are heap strings owned by the record. */
struct lsws_ledger_record {
    int64_t id;                     /* assigned by the ledger */
    enum lsws_ledger_state state;
    char sn[17], dev_eui[17];
    char model[8], band[8], firmware[16], hardware[16];
    char template_hash[LSWS_HASH_HEX];
    char template_name[256];        /* the file, for people */
    char *settings;                 /* template JSON of the settings to write, secrets included */
    char *network;                  /* JSON object of what network servers need (app_eui,
                                       app_key, band, channels, version, join type) as the
                                       unit holds them after the write; NULL until finished */
    int changes;                    /* settings the write changed (0: the unit held them) */
    char outcome[16];               /* the transaction's outcome: "verified", "nothing", ... */
    char error[256];                /* "" when none */
    char operator_name[64], station[64];
    char owner[128];                /* who holds the claim: station host pid run */
    int64_t lease_until_ms;         /* the claim lapses then unless finished (Unix ms) */
    int64_t started_ms, finished_ms; /* Unix ms; finished 0 while pending */
    char uri[256];
    char backup[512];               /* the backup taken before the write, "" if none */
    /* Not columns of the record, but what a claim hands to the begin after it: */
    int64_t replaces;               /* claim (--force): the newest ok record seen, 0 none; begin
                                       refuses when a newer one came meanwhile */
    char pool[LSWS_HASH_HEX];       /* the pool row this record's identity came from ("" none) */
    int64_t pool_row;               /* its row in the pool file (1-based), 0 none */
};
void lsws_ledger_record_release(struct lsws_ledger_record *r);

struct lsws_ledger;

/* Opens the ledger at where: a path (SQLite; created mode 0600 with its
 * directory 0700), "sqlite:PATH", a postgresql:// or postgres:// URI
 * (PostgreSQL through libpq: the URI, PG* variables and ~/.pgpass as libpq
 * takes them; a URI that carries a password is refused), or NULL for
 * $LSWS_LEDGER, else $XDG_DATA_HOME/lsws/ledger.sqlite (~/.local/share/...).
 * An SQLite file is created or migrated on open; a PostgreSQL database must
 * hold this schema already (lsws_ledger_init). operator_name and station
 * (NULL: $USER, the host name) sign the records this process makes. */
int lsws_ledger_open(const char *where, const char *operator_name, const char *station,
                     struct lsws_ledger **out, struct lsws_error *err);
/* Creates or migrates the ledger's schema at where (as for open), in one
 * transaction: idempotent; LSWS_ERR_UNSUPPORTED for a schema newer than
 * this lsws knows. *from: the version found (0: none), *to: the version now. */
int lsws_ledger_init(const char *where, int *from, int *to, struct lsws_error *err);
#define LSWS_LEDGER_SCHEMA 2 /* the schema version this lsws writes */
void lsws_ledger_close(struct lsws_ledger *l);
const char *lsws_ledger_where(const struct lsws_ledger *l); /* for messages (never a password) */
const char *lsws_ledger_backend(const struct lsws_ledger *l); /* "sqlite", "postgresql" */
/* A ledger call that fails with LSWS_ERR_NODEV lost its server (PostgreSQL:
 * the connection dropped, the server stopped). This reconnects: LSWS_OK
 * when the server answers again, LSWS_ERR_NODEV while it does not. */
int lsws_ledger_reconnect(struct lsws_ledger *l, struct lsws_error *err);
/* Time spent in this ledger's calls so far (seconds) and their number. */
void lsws_ledger_stats(const struct lsws_ledger *l, double *seconds, unsigned long *calls);
/* Who this ledger's claims belong to: "station|host|pid|run", one per open. */
const char *lsws_ledger_owner(const struct lsws_ledger *l);

enum lsws_claim {
    LSWS_CLAIM_NONE = 0,   /* nothing recorded: begin a new record (lsws_ledger_begin) */
    LSWS_CLAIM_RESUME = 1, /* an interrupted record is now ours: write its settings again */
    LSWS_CLAIM_DONE = 2,   /* provisioned with this template already (rec: that record) */
    LSWS_CLAIM_HELD = 3,   /* a live process or station holds the unit: leave it */
};
#define LSWS_CLAIM_FORCE 0x1u /* DONE does not count: provision again */
/* What the ledger holds for unit sn and template_hash, in one transaction:
 * an open record (pending or unknown) whose holder is gone (its lease ran
 * out, or it was a process of this host that no longer runs) is taken
 * over, atomically, and comes back as RESUME in rec. */
int lsws_ledger_claim(struct lsws_ledger *l, const char *sn, const char *template_hash, unsigned flags,
                      struct lsws_ledger_record *rec, enum lsws_claim *out, struct lsws_error *err);
/* Records rec (state PENDING, its settings filled) as a new claim, durably,
 * before anything is written to the unit; sets rec->id, owner, lease,
 * operator, station, started. LSWS_ERR_BUSY when another process claimed
 * the unit for this template meanwhile. */
int lsws_ledger_begin(struct lsws_ledger *l, struct lsws_ledger_record *rec, struct lsws_error *err);
/* Records the outcome of a claim of ours (state, outcome, error, network,
 * changes, backup), durably. Its pool row becomes used (ok), free again
 * (failed: the unit holds none of it) or stays the record's (unknown). */
int lsws_ledger_finish(struct lsws_ledger *l, struct lsws_ledger_record *rec, struct lsws_error *err);
/* Extends the lease of an open claim of ours (a unit that takes long). */
int lsws_ledger_renew(struct lsws_ledger *l, struct lsws_ledger_record *rec, struct lsws_error *err);

/* Pools of identities (lsws_manifest_parse_pool) in the ledger, for
 * several stations. Load puts the pool's rows in, idempotently (a row the
 * ledger knows, from this file or another, keeps its state). Take reserves
 * the next free row for rec's unit (rec->sn, template_hash, replaces as the
 * claim left them), atomically (no two stations ever take one row), under
 * this process's lease: *row is its index in the pool (0-based).
 * LSWS_ERR_RANGE when no row is free; LSWS_ERR_BUSY when the unit was
 * claimed meanwhile or another station reserved a row for it. A row
 * reserved by a holder that is gone, before its record began, is free
 * again. Begin binds the row to the record (rec->pool, rec->pool_row);
 * release gives back a row taken but not used (the unit was held). */
int lsws_ledger_pool_load(struct lsws_ledger *l, const struct lsws_manifest *pool, struct lsws_error *err);
int lsws_ledger_pool_take(struct lsws_ledger *l, const struct lsws_manifest *pool,
                          const struct lsws_ledger_record *rec, size_t *row, struct lsws_error *err);
int lsws_ledger_pool_release(struct lsws_ledger *l, const struct lsws_manifest *pool, size_t row,
                             struct lsws_error *err);

struct lsws_ledger_filter {
    const char *sn;       /* NULL: every unit */
    int64_t id;           /* 0: any */
    int state;            /* -1: any, else enum lsws_ledger_state */
    int latest;           /* 1: only the newest record of each unit */
};
/* Calls fn for each matching record, oldest first (rec valid during the call). */
int lsws_ledger_each(struct lsws_ledger *l, const struct lsws_ledger_filter *f,
                     int (*fn)(const struct lsws_ledger_record *rec, void *ctx), void *ctx,
                     struct lsws_error *err);

/* Exports for network servers, from the newest ok record of each unit:
 * The Things Stack CSV (semicolon-separated) and JSON stream, ChirpStack v4
 * JSON (LoRaWAN 1.0.x: the AppKey in nwk_key), and a plain CSV. */
enum lsws_export_format { LSWS_EXPORT_TTS_CSV, LSWS_EXPORT_TTS_JSON, LSWS_EXPORT_CHIRPSTACK, LSWS_EXPORT_CSV };
/* "tts-csv", "tts-json", "chirpstack", "csv"; -1 when unknown. */
int lsws_export_format_by_name(const char *name);
const char *lsws_export_format_name(enum lsws_export_format f);
struct lsws_export_opts {
    const char *frequency_plan; /* The Things Stack frequency_plan_id for every unit; NULL: from the band */
    size_t units;               /* out: units exported */
    size_t skipped;             /* out: ok units left out (ABP: no AppKey to register) */
};
/* The export as text in *out (heap, holds keys). A unit whose frequency
 * plan cannot be told from its band and channels is an error naming it
 * (give frequency_plan). */
int lsws_ledger_export(struct lsws_ledger *l, enum lsws_export_format f, struct lsws_export_opts *o, char **out,
                       size_t *len, struct lsws_error *err);

/* ---- batch provisioning (lib/batch.c) -------------------------------------------- */
/* One unit at a time, whatever finds the units (a URI list, a discovery
 * sweep, a tap loop): identify, skip if provisioned, fill the template,
 * record the settings, back up, write one transaction, verify, record the
 * result. The caller opens each session and renders each result. */

struct lsws_batch_opts {
    const struct lsws_tpl *tpl;        /* selected; placeholders allowed */
    const char *template_name;         /* for the ledger */
    const struct lsws_manifest *manifest; /* NULL: none */
    const struct lsws_manifest *pool;  /* a pool of identities shared by stations (NULL: none) */
    const char *const *generate;       /* names to generate per unit (16 random bytes, hex) */
    size_t n_generate;
    struct lsws_ledger *ledger;
    unsigned flags;                    /* LSWS_BATCH_* */
};
#define LSWS_BATCH_FORCE 0x1u /* provision units the ledger says are done */

enum lsws_batch_status {
    LSWS_UNIT_OK = 0,      /* provisioned (written and verified, or held the settings already) */
    LSWS_UNIT_SKIPPED = 1, /* provisioned with this template before; nothing written */
    LSWS_UNIT_HELD = 2,    /* another live process or station is provisioning it */
    LSWS_UNIT_FAILED = 3,  /* not provisioned: see rc, err and the txn outcome */
};
struct lsws_batch_result {
    enum lsws_batch_status status;
    int resumed;                /* an interrupted record was finished */
    int rc;                     /* LSWS_OK, or why it failed */
    struct lsws_error err;
    struct lsws_txn *txn;       /* the transaction (NULL when none was planned); owned */
    struct lsws_ledger_record rec; /* the ledger record (id 0 when none was made) */
    int again;                  /* this run provisioned the unit already (tapped twice) */
    int ledger_failed;          /* the ledger could not record: stop, write no more units */
};
void lsws_batch_result_release(struct lsws_batch_result *r);

struct lsws_batch;
/* Checks the job before any unit: every placeholder has a source (the
 * unit's SN and DEV_EUI, a manifest column filled in every row, or a
 * generated name), no name has two, and each generated name is a
 * placeholder or a 16-byte key setting of the model ("app_key" is
 * lorawan.app_key). *out is freed with lsws_batch_free. */
int lsws_batch_new(const struct lsws_batch_opts *opts, struct lsws_batch **out, struct lsws_error *err);
void lsws_batch_free(struct lsws_batch *b);
/* The template hash the ledger records (the selection's, lsws_tpl_hash). */
const char *lsws_batch_hash(const struct lsws_batch *b);
/* Provisions the unit on client c (authenticated; identity info, reached
 * as uri). Fills res (release it); returns res->rc. When the ledger itself
 * fails, res->ledger_failed is set: the caller must stop, since it can no
 * longer record what it writes. */
int lsws_batch_unit(struct lsws_batch *b, struct lsws_client *c, const struct lsws_device_info *info,
                    const char *uri, struct lsws_batch_result *res);
/* Names of enum lsws_txn_outcome: "planned", "nothing", "verified", ... */
const char *lsws_txn_outcome_name(enum lsws_txn_outcome o);

/* ---- uplink telemetry (lib/uplink*.c) ---------------------------------- */
/* Uplink telemetry: what a WS523 or CTH01 sends over LoRaWAN (periodic data,
 * alarms, basic information, CTH01 history records and command replies),
 * decoded into a flat list of readings. Settings a unit reports (WS523
 * ff24/ff25/ff26/ff30, CTH01 replies 61 01 and 76-7b) are read through the
 * model tables' description of their command, as lsws_settings_decode reads
 * them. Pure and bounded: no I/O, no allocation; the caller owns every
 * struct. Names and units: docs/decode.md. */

#define LSWS_UPLINK_MAX 256   /* readings in one decoded uplink, or in one streamed record */
#define LSWS_READING_TEXT 40  /* inline text of a reading, with its NUL */

enum lsws_reading_kind {
    LSWS_RD_NUM,   /* value / 10^scale, in unit */
    LSWS_RD_ENUM,  /* text names value ("on", "enable", "Class C") */
    LSWS_RD_TEXT,  /* str holds the text (SN, OEM ID in hex; versions "v1.8") */
    LSWS_RD_ALARM, /* value / 10^scale in unit; text names the alarm type (raw in `alarm`) */
    LSWS_RD_REPLY, /* CTH01 `ef` reply: value = result code, text = its name, str = command
                      hex, id = name of the answered command (NULL if none matches) */
};

/* struct lsws_reading flags. */
#define LSWS_RDF_INVALID 0x01u /* the value's bytes are all ones: the vendor's invalid
                                  reading ("error"), never shown as a number */
#define LSWS_RDF_ALT 0x02u     /* the command came in its alternative form (WS523 socket
                                  control 0801ffff instead of 080100ff) */
#define LSWS_RDF_PLAIN 0x04u   /* set by the decoder: name needs no JSON escaping, holds no
                                  '.', and is name_len characters long (a rendering hint) */

/* History context of a reading (CTH01 `ed` records). */
enum lsws_history_mode { LSWS_HIST_PERIODIC = 1, LSWS_HIST_MONTHLY = 2 };
enum lsws_history_type {
    LSWS_HIST_NONE = 0,           /* no 40xx tag */
    LSWS_HIST_MONTHLY_ENERGY = 1, /* 4001 */
    LSWS_HIST_MONTHLY_MIN = 2,    /* 4002 */
    LSWS_HIST_MONTHLY_MAX = 3,    /* 4003 */
};

struct lsws_reading {
    const char *name;   /* static: "voltage", "current_alarm", "ans"; a dotted name
                           ("current_alarm_config.enable") is a member of an object
                           in JSON, as the vendor decoder nests it */
    const char *unit;   /* static: "V", "°C"; NULL when the value has none */
    const char *text;   /* static: ENUM value name, ALARM type name, REPLY result name */
    int64_t value;      /* raw wire value (versions: the little-endian bytes); a
                           setting's reading: its value as lsws_settings_decode
                           stores it (ff25 button lock 0080 is 1) */
    uint32_t timestamp; /* history record: Unix time, seconds */
    uint16_t record;    /* 0: live data; n: inside the payload's nth `ed` record */
    uint16_t code;      /* command carrying it: WS523 channel << 8 | type; CTH01 command
                           (0xcf00 for cf00, 0x7704 for a 77 04 reply) */
    uint8_t kind;       /* enum lsws_reading_kind */
    uint8_t channel;    /* 1-based channel, 0 when the reading has none */
    uint8_t scale;      /* decimals: value 2226 with scale 1 is 222.6 */
    uint8_t mode;       /* history record: enum lsws_history_mode, as on the wire */
    uint8_t history_type; /* history record: enum lsws_history_type */
    uint8_t alarm;      /* ALARM: alarm type as on the wire */
    uint8_t flags;      /* LSWS_RDF_* */
    uint8_t name_len;   /* with LSWS_RDF_PLAIN: strlen(name) */
    const char *id;     /* REPLY: static name of the command answered, or NULL */
    char str[LSWS_READING_TEXT]; /* TEXT and REPLY: NUL-terminated text */
};

/* A decoded uplink, or one record of it (lsws_uplink_decode_each). Large
 * (about 23 KiB): keep one and reuse it. */
struct lsws_uplink {
    enum lsws_model_id model;
    size_t n;        /* readings used in r */
    size_t records;  /* history records (readings with record 1..records); a
                        streamed record: its own number (0: live data) */
    /* The last record's context; lsws_uplink_add* put new readings in it. */
    uint8_t mode, history_type;
    uint32_t timestamp;
    struct lsws_reading r[LSWS_UPLINK_MAX];
};

/* Decodes one uplink payload. model LSWS_MODEL_COUNT tries both models: the
 * one that decodes wins; if both do, LSWS_ERR_MODEL. Errors:
 * LSWS_ERR_TRUNCATED (ends early), LSWS_ERR_MALFORMED (unknown command or
 * bad value), LSWS_ERR_RANGE (more than LSWS_UPLINK_MAX readings), each with
 * the byte offset in err. On error *out holds what decoded before it. */
int lsws_uplink_decode(enum lsws_model_id model, const uint8_t *in, size_t len,
                       struct lsws_uplink *out, struct lsws_error *err);

/* Decodes one uplink payload record by record, so a payload of any length
 * decodes (a CTH01 history page of 300 `ed` records): on_record(rec, ctx)
 * receives the live data (if any) as one record, then each `ed` history
 * record as its own, in payload order. rec is valid during the call only;
 * its readings all carry the record's number (`record`, 1-based within the
 * payload, 0 for live data) and LSWS_UPLINK_MAX applies to each record, not
 * to the payload. A record is delivered once it is complete, so records
 * before an error have been delivered; the error carries the byte offset
 * as with lsws_uplink_decode. If on_record returns non-zero the walk stops
 * and that value is returned. on_record NULL only checks the payload.
 * model LSWS_MODEL_COUNT checks both models before the first record. Uses
 * one struct lsws_uplink of stack. Encoding each record in turn gives the
 * payload back. */
int lsws_uplink_decode_each(enum lsws_model_id model, const uint8_t *in, size_t len,
                            int (*on_record)(const struct lsws_uplink *rec, void *ctx), void *ctx,
                            struct lsws_error *err);

/* The inverse of decode: encode(decode(x)) == x. Readings of one command
 * must be consecutive and in decode order; a reading whose record differs
 * from the one before starts a new `ed` record. */
int lsws_uplink_encode(const struct lsws_uplink *up, uint8_t *out, size_t cap, size_t *len,
                       struct lsws_error *err);

/* One compact JSON object, no newline; like snprintf: writes at most cap
 * bytes with a NUL and returns the length it needs (without the NUL). */
size_t lsws_uplink_json(const struct lsws_uplink *up, char *buf, size_t cap);
/* The same object written piece by piece, for lsws_uplink_decode_each:
 * call with each record in turn, then once with rec NULL to close; the
 * pieces joined are what lsws_uplink_json gives for the whole payload.
 * *state is 0 before the first piece and 0 again after the closing one;
 * a caller that wrote the object's "{" and members of its own first
 * (`lsws decode`: "line", the device's identity) starts with
 * LSWS_JSON_MEMBERS instead, and the pieces continue that object (a
 * *state still LSWS_JSON_MEMBERS after them, no history, closes with "}").
 * Each piece follows the snprintf contract of lsws_uplink_json. */
#define LSWS_JSON_MEMBERS 3u
size_t lsws_uplink_json_stream(const struct lsws_uplink *rec, unsigned *state, char *buf,
                               size_t cap);
/* Human-readable: one "name  value unit" line per reading; same contract.
 * The text of each streamed record, joined, is that of the whole payload. */
size_t lsws_uplink_text(const struct lsws_uplink *up, char *buf, size_t cap);
/* The value of one reading as text ("222.6", "on", "v1.8"); same contract. */
size_t lsws_reading_format(const struct lsws_reading *r, char *buf, size_t cap);
/* Static names: "periodic"/"monthly"; "monthly_energy"/"monthly_min"/"monthly_max"; NULL if none. */
const char *lsws_history_mode_name(unsigned mode);
const char *lsws_history_type_name(unsigned type);

/* Building an uplink to encode (the simulator). Readings of a command are
 * added in the order decode gives them (all 12 currents of CTH01 `05`, then
 * the next command). Values are raw wire values: 2226 for 222.6 V. */
void lsws_uplink_init(struct lsws_uplink *up, enum lsws_model_id model);
/* Starts a CTH01 history record: later readings go into it. history_type
 * 0 means no 40xx tag. */
int lsws_uplink_add_record(struct lsws_uplink *up, unsigned mode, uint32_t timestamp,
                           unsigned history_type, struct lsws_error *err);
/* A number, enum or version reading, e.g. ("current", 3, 150) or
 * ("socket_status", 0, 0x11). channel 0 when it has none. A setting's
 * reading takes the setting's value: ("button_lock", 0, 1),
 * ("current_threshold_max", 5, 888). */
int lsws_uplink_add(struct lsws_uplink *up, const char *name, unsigned channel, int64_t raw,
                    struct lsws_error *err);
/* A byte-string reading given as hex: ("sn", 0, "6527f41809380000"). */
int lsws_uplink_add_hex(struct lsws_uplink *up, const char *name, const char *hex,
                        struct lsws_error *err);
/* A CTH01 alarm: ("current_alarm", 5, 0x02, 10300). */
int lsws_uplink_add_alarm(struct lsws_uplink *up, const char *name, unsigned channel,
                          unsigned type, int64_t raw, struct lsws_error *err);
/* A CTH01 `ef` reply: result code 0..15 and the command bytes it answers. */
int lsws_uplink_add_reply(struct lsws_uplink *up, unsigned result, const uint8_t *cmd,
                          size_t len, struct lsws_error *err);
/* ---- control actions and downlinks (lib/action.c) ----------------------- */
/* What a unit can be told to do over LoRaWAN that is no setting: switch the
 * socket, reboot, rejoin, query, fetch history (WS523 guide ch.6 "Downlink
 * Command", "Task Settings"; CTH01 guide ch.5 "Downlink Commands"). Each
 * action is a command of the uplink tables, so the unit's echo of it and
 * `lsws decode` of the downlink read it with the same layout. */

#define LSWS_DOWNLINK_PORT 85 /* the guides' default application port */

struct lsws_action {
    const char *name;   /* "socket", "delay cancel", "history range" (words) */
    const char *args;   /* operands: "on|off", "DURATION on|off", "" */
    const char *help;   /* one line */
    const char *source; /* guide section */
    const char *example;/* operands of an example, "" for none */
    uint16_t code;      /* the command it sends (WS523 channel << 8 | type) */
    uint8_t code_len;
};
/* Action i of the model, NULL past the end (static). */
const struct lsws_action *lsws_action_at(enum lsws_model_id model, size_t i);
/* The action whose name is the longest run of words at the start of
 * words[0..n); *used is how many words the name took. NULL if none. */
const struct lsws_action *lsws_action_find(enum lsws_model_id model, int n,
                                           const char *const *words, int *used);
/* Encodes action a with its operands args[0..n) (exactly as many as a->args
 * names) as the downlink bytes, appended at out[*len..cap). Operands:
 * on|off (also open|close), durations "90", "90s", "20min", "1h30m",
 * times as Unix seconds or ISO 8601 ("2026-02-01T00:00:00Z", with an
 * offset), enum words as the action lists them. Errors name the operand. */
int lsws_action_encode(enum lsws_model_id model, const struct lsws_action *a, int n,
                       const char *const *args, uint8_t *out, size_t cap, size_t *len,
                       struct lsws_error *err);
/* Number of operands action a takes. */
int lsws_action_argc(const struct lsws_action *a);
/* ---- end of uplink telemetry ------------------------------------------- */

/* ---- CTH01 stored history (lib/history.c, lib/history_csv.c) ------------ */
/* The CTH01 stores up to 20,000 records when data storage is enabled (CTH01
 * guide ch.4 "Export the Local Data") and answers historical data queries
 * (ch.5 "Commands for Historical Data Query") for a time point (5b) or a
 * time range (5c, at most 300 records per query), stops a query (5d) and
 * clears what it stored (5e), each for one kind of data. lsws carries them
 * in the HISTORY operation (docs/protocol.md); records are the guide's `ed`
 * records, which lsws_uplink_decode_each decodes. docs/history.md. */

enum lsws_history_kind {          /* byte 1 of 5b, 5c, 5d, 5e */
    LSWS_HK_ALARM = 0,            /* 00 Alarm Data */
    LSWS_HK_PERIODIC = 1,         /* 01 Periodically Data */
    LSWS_HK_MONTHLY_ENERGY = 2,   /* 02 Monthly Energy Data */
    LSWS_HK_MONTHLY_EXTREMES = 3, /* 03 Monthly Max./Min. Data */
};
#define LSWS_HK_COUNT 4
/* "alarm", "periodic", "monthly-energy", "monthly-extremes"; NULL otherwise. */
const char *lsws_history_kind_name(unsigned kind);
/* The kind called name (as above), or -1. */
int lsws_history_kind_find(const char *name);

/* What the store holds of one kind, as the device answers HISTORY status. */
struct lsws_history_status {
    uint32_t count;       /* records with start <= timestamp <= end */
    uint32_t first, last; /* the timestamps of the first and last of them; 0 when count is 0 */
    uint32_t stored;      /* records of this kind in the store */
    uint32_t capacity;    /* records of this kind the store keeps; older ones are overwritten */
    uint32_t interval;    /* the reporting interval in seconds (a time point query's tolerance) */
};
int lsws_history_status(struct lsws_client *c, unsigned kind, uint32_t start, uint32_t end,
                        struct lsws_history_status *st, struct lsws_error *err);

/* One record: its bytes (one `ed` record, or several with one header: the
 * guide sends a monthly summary as one `ed` per command) and its time.
 * rec is valid during the call only; non-zero stops the walk and is returned. */
typedef int lsws_history_fn(void *ctx, const uint8_t *rec, size_t len, uint32_t timestamp);

struct lsws_history_answer {
    uint32_t records; /* records in the answer */
    uint32_t bytes;   /* their bytes */
    int more;         /* the range holds records after the last one of the answer */
};

/* Cuts bytes (the answer of a query) into records, checking that each
 * decodes as a CTH01 history record of kind: consecutive `ed` records with
 * the same mode, timestamp and 40xx tag are one record, but an alarm is a
 * record of its own. Timestamps must not go back. Errors carry the byte
 * offset; on_record may be NULL (only checks). */
int lsws_history_split(unsigned kind, const uint8_t *bytes, size_t len, lsws_history_fn *on_record,
                       void *ctx, struct lsws_error *err);

/* One range query (5c): the first at most LSWS_HISTORY_QUERY_MAX records of
 * kind with start <= timestamp <= end, in time order; records that share a
 * timestamp come in the same order in every answer. The answer is fetched
 * in pages that fit the session's largest message and handed to on_record
 * record by record once it is complete. ans may be NULL. Storage disabled
 * and a clock never set are LSWS_ERR_DEVICE with a message saying so. */
int lsws_history_range(struct lsws_client *c, unsigned kind, uint32_t start, uint32_t end,
                       lsws_history_fn *on_record, void *ctx, struct lsws_history_answer *ans,
                       struct lsws_error *err);
/* The time point query (5b): the records stored at the time nearest to t,
 * if it is within one reporting interval of t (the earlier one on a tie);
 * several when they share it (a month's minimum and maximum). No record
 * there is no error: ans->records is 0. */
int lsws_history_point(struct lsws_client *c, unsigned kind, uint32_t t, lsws_history_fn *on_record,
                       void *ctx, struct lsws_history_answer *ans, struct lsws_error *err);
/* Stop (5d): the device drops the query of kind it is answering. */
int lsws_history_stop(struct lsws_client *c, unsigned kind, struct lsws_error *err);
/* Clear (5e): the device deletes every stored record of kind. */
int lsws_history_clear(struct lsws_client *c, unsigned kind, struct lsws_error *err);

/* A resumable export: every record of kind with since <= timestamp <= until
 * goes into a checkpoint file, query by query, so that a run cut short (the
 * link dropped, Ctrl-C, a kill) loses nothing: the next run with the same
 * checkpoint continues after its last record, and no record is fetched
 * twice or missed. The output is then written from the checkpoint. */
typedef int lsws_history_progress_fn(void *ctx, uint32_t done, uint32_t total);
struct lsws_history_job {
    unsigned kind;
    uint32_t since, until;  /* until 0: the device's clock when the export began */
    const char *checkpoint; /* path of the checkpoint file */
    /* Called after each query with the records fetched and expected; a
     * non-zero return stops the export (LSWS_ERR_IO "interrupted"), keeping
     * what was fetched. May be NULL. */
    lsws_history_progress_fn *progress;
    void *progress_ctx;
    unsigned reconnects;    /* link losses in a row to recover from by reconnecting (0: 3) */
};
struct lsws_history_result {
    uint32_t records, first, last;   /* in the checkpoint: the export */
    uint32_t resumed;                /* records that were there from an earlier run */
    uint32_t since, until;           /* the range, as the checkpoint holds it */
    unsigned reconnects;             /* link losses recovered from */
    struct lsws_history_status device; /* the device's own answer for the range */
    int complete;                    /* fetched, and checked against the device's answer */
};
/* Runs the job on the device of c (identified as info: the checkpoint
 * belongs to one unit and one job; another one's is refused). Returns
 * LSWS_OK once the checkpoint holds the whole range and its count, first
 * and last timestamp equal the device's own answer (res->complete). */
int lsws_history_fetch(struct lsws_client *c, const struct lsws_device_info *info,
                       const struct lsws_history_job *job, struct lsws_history_result *res,
                       struct lsws_error *err);
/* Reads a checkpoint's header and records without a device (res). */
int lsws_history_checkpoint_info(const char *checkpoint, struct lsws_history_result *res,
                                 struct lsws_error *err);

enum lsws_history_format {
    LSWS_HISTORY_CSV = 0,   /* RFC 4180, one header row (lsws_csv_*) */
    LSWS_HISTORY_JSONL = 1, /* one JSON object per record, the names of lsws decode --json */
};
/* Writes the records of a complete checkpoint to path atomically (a
 * temporary file beside it, then rename), mode 0644. Times are ISO 8601 in
 * UTC ("Z") when utc, else at tz_minutes from UTC. */
int lsws_history_write(const char *checkpoint, const char *path, enum lsws_history_format format,
                       int utc, int tz_minutes, struct lsws_error *err);

/* Times: Unix seconds ("1770369441") or ISO 8601 ("2026-02-06",
 * "2026-02-06T09:17", "2026-02-06T09:17:21Z", "...+01:00"; no offset is
 * UTC), 1970..2106. */
int lsws_time_parse(const char *text, uint32_t *out, struct lsws_error *err);
/* "2026-02-06T09:17:21Z" (utc) or "2026-02-06T10:17:21+01:00"; the
 * snprintf contract. */
size_t lsws_time_format(uint32_t t, int utc, int tz_minutes, char *buf, size_t cap);

/* ---- the CSV layout of uplinks and history records (lib/history_csv.c) ---- */
/* One layout serves `lsws history` and `lsws decode --csv`: a header row
 * whose names carry units (current_ch1_A, voltage_l1_V,
 * active_energy_import_ch1_Wh), with only the columns the records fill,
 * in a fixed order; then one row per record, and one per alarm. Written in
 * two passes over the same records: the first finds the columns, the second
 * writes (CRLF line ends, every field quoted, as libcsv's csv_fwrite does). */
struct lsws_csv;
/* *out is freed with lsws_csv_free; pass 1 begins. */
int lsws_csv_new(enum lsws_model_id model, struct lsws_csv **out);
void lsws_csv_free(struct lsws_csv *csv);
/* Feeds one record (a streamed record of lsws_uplink_decode_each, or a
 * whole decoded payload). Records with the same mode, timestamp and 40xx
 * tag fed in a row are one row, until lsws_csv_break. */
int lsws_csv_feed(struct lsws_csv *csv, const struct lsws_uplink *rec, struct lsws_error *err);
/* The end of one payload or one stored record: the next feed starts a row. */
int lsws_csv_break(struct lsws_csv *csv, struct lsws_error *err);
/* Ends pass 1 and starts pass 2: writes the header row to out, where the
 * rows of the same records fed again go. Times as lsws_time_format. */
int lsws_csv_rows(struct lsws_csv *csv, FILE *out, int utc, int tz_minutes, struct lsws_error *err);
/* Ends pass 2: writes the last row. */
int lsws_csv_finish(struct lsws_csv *csv, struct lsws_error *err);
/* Readings of the records fed in pass 1 that have no column (basic
 * information, settings, replies), and rows written in pass 2. */
size_t lsws_csv_skipped(const struct lsws_csv *csv);
size_t lsws_csv_row_count(const struct lsws_csv *csv);

/* The column reference: one entry per quantity; NULL past the end. name
 * is the column name with "N" for the channel where channels is not 0
 * ("current_chN_A"); reading is the lsws decode name. */
struct lsws_csv_column {
    const char *name;
    const char *reading;
    unsigned channels; /* 0: one column */
    const char *what;
};
const struct lsws_csv_column *lsws_csv_column_at(enum lsws_model_id model, size_t i);
/* ---- end of history --------------------------------------------------------- */
/* ---- firmware images (lib/firmware.c; docs/firmware.md) ------------------- */
/* An image is a 128-byte header and the payload the unit runs. The header
 * says which model and hardware versions the payload is built for, its
 * firmware version, length, CRC-32 and SHA-256, and carries a CRC-32 of its
 * own. Versions are the vendor's 16-bit values (lsws_device_info.hw, .fw),
 * major byte first on the wire as in IDENTIFY. Pure and bounded: bytes in,
 * structs out, explicit lengths. */

#define LSWS_FW_MAGIC "LSFW"
#define LSWS_FW_HEADER_VERSION 1
#define LSWS_FW_HEADER_LEN 128
#define LSWS_FW_PAYLOAD_MAX (4u << 20) /* the largest payload an image may declare */
#define LSWS_FW_NAME_LEN 32

struct lsws_fw_header {
    uint8_t header_version;
    enum lsws_model_id model;
    uint16_t hw_min, hw_max; /* hardware versions it runs on, inclusive */
    uint16_t fw;             /* firmware version of the payload */
    uint32_t payload_len;
    uint32_t crc32;          /* of the payload: CRC-32/ISO-HDLC, zlib's crc32() */
    uint8_t sha256[32];      /* of the payload */
    uint32_t build_time;     /* Unix seconds; 0: not given */
    char name[LSWS_FW_NAME_LEN + 1]; /* printable ASCII, NUL-terminated; may be "" */
    uint8_t raw[LSWS_FW_HEADER_LEN]; /* the header as parsed or encoded */
};

/* Parses and checks a header at the start of in: magic, header version and
 * length, its own CRC-32, a known model, hw_min <= hw_max, a payload of 1 to
 * LSWS_FW_PAYLOAD_MAX bytes, flags and reserved bytes zero, a printable name.
 * LSWS_ERR_TRUNCATED (short), LSWS_ERR_MALFORMED (bad field or checksum),
 * LSWS_ERR_UNSUPPORTED (another header version, unknown flags),
 * LSWS_ERR_MODEL, LSWS_ERR_RANGE; err->offset is the byte in the header. */
int lsws_fw_header_parse(const uint8_t *in, size_t len, struct lsws_fw_header *h, struct lsws_error *err);
/* Fills h->raw from the fields of h (header_version and raw ignored): what
 * lsws_fw_header_parse reads back. Checks the fields as the parser does. */
int lsws_fw_header_encode(struct lsws_fw_header *h, struct lsws_error *err);

/* Running CRC-32 and SHA-256 of a payload (OpenSSL's EVP digest, zlib's crc32). */
struct lsws_fw_digest;
int lsws_fw_digest_new(struct lsws_fw_digest **out); /* free with lsws_fw_digest_free */
void lsws_fw_digest_update(struct lsws_fw_digest *d, const uint8_t *p, size_t n);
/* The CRC-32 and SHA-256 of everything given; d cannot be updated after. */
int lsws_fw_digest_final(struct lsws_fw_digest *d, uint32_t *crc32, uint8_t sha256[32]);
void lsws_fw_digest_free(struct lsws_fw_digest *d);
/* CRC-32 of data, continuing crc (0 to start). */
uint32_t lsws_crc32(uint32_t crc, const uint8_t *data, size_t len);
/* LSWS_OK when crc32 and sha256 are the header's, else LSWS_ERR_MALFORMED
 * naming the one that differs. */
int lsws_fw_digest_check(const struct lsws_fw_header *h, uint32_t crc32, const uint8_t sha256[32],
                         struct lsws_error *err);

/* Checks a whole image in memory: the header, a length of exactly header +
 * payload_len, and the payload's CRC-32 and SHA-256. h receives the header
 * (when it parses, even if the payload then fails). */
int lsws_fw_image_check(const uint8_t *data, size_t len, struct lsws_fw_header *h, struct lsws_error *err);
/* Builds an image of payload for h's model, hardware and version (h's
 * lengths and checksums are computed; h is updated). *out is a heap buffer
 * of *olen bytes the caller frees. */
int lsws_fw_image_build(struct lsws_fw_header *h, const uint8_t *payload, size_t len, uint8_t **out,
                        size_t *olen, struct lsws_error *err);

/* FW_BEGIN (docs/protocol.md) describes the image to the unit: flags (1) |
 * model (1) | lowest and highest hardware version (2 + 2, vendor order) |
 * firmware version (2, vendor order) | payload length (4) | CRC-32 (4) |
 * SHA-256 (32). */
#define LSWS_FW_BEGIN_LEN 48
void lsws_fw_begin_encode(const struct lsws_fw_header *h, unsigned flags, uint8_t out[LSWS_FW_BEGIN_LEN]);
/* The unit's side: h gets the fields (raw, name and build_time zero) and
 * *flags the flags; the length is exactly LSWS_FW_BEGIN_LEN, flags are
 * LSWS_FW_BEGIN_* bits and the fields pass lsws_fw_header_parse's checks
 * (offsets are into the payload). */
int lsws_fw_begin_decode(const uint8_t *in, size_t len, struct lsws_fw_header *h, unsigned *flags,
                         struct lsws_error *err);

/* Parses a version as lsws_version_format writes it ("v1.14", "1.14",
 * hardware "v1.2"): major 0-255; firmware minor 0-99 (its decimal digits
 * become the minor byte's hex digits), hardware minor 0-15. */
int lsws_version_parse(const char *text, int hardware, uint16_t *out, struct lsws_error *err);

/* Whether an image may be installed on a unit: the model and the
 * hardware version must be the image's (LSWS_ERR_MODEL, naming both), and
 * the firmware version newer than the unit's unless flags has
 * LSWS_FW_FORCE (LSWS_ERR_INVALID). The device applies the same rule. */
#define LSWS_FW_FORCE 0x1u
enum lsws_fw_refusal {
    LSWS_FW_OK = 0,
    LSWS_FW_WRONG_MODEL = 1,
    LSWS_FW_WRONG_HARDWARE = 2,
    LSWS_FW_DOWNGRADE = 3, /* older than what the unit runs */
    LSWS_FW_SAME = 4,      /* the version the unit runs */
};
int lsws_fw_check_unit(const struct lsws_fw_header *h, enum lsws_model_id model, uint16_t hw, uint16_t fw,
                       unsigned flags, enum lsws_fw_refusal *why, struct lsws_error *err);

/* ---- firmware upgrade (lib/upgrade.c) --------------------------------------- */
/* The upgrade job belongs to the library, as the write transaction does:
 * one call checks an image against the unit before anything is sent,
 * another transfers it (resuming where the unit's staged copy ends),
 * has the unit verify and commit it, reconnects after its reboot and reads
 * the version it runs. The result says exactly what the unit holds. */

enum lsws_upgrade_outcome {
    LSWS_UPG_PLANNED = 0,       /* checked, nothing sent yet (a dry run stops here) */
    LSWS_UPG_REFUSED = 1,       /* refused before the transfer, by lsws or the unit: nothing changed */
    LSWS_UPG_INTERRUPTED = 2,   /* the transfer stopped: the unit holds `acked` bytes staged and
                                   runs its old firmware; the same image again resumes there */
    LSWS_UPG_CHECKSUM = 3,      /* the unit found the whole image's checksum wrong and discarded
                                   it; it runs its old firmware */
    LSWS_UPG_NOT_COMMITTED = 4, /* verified, but the unit refused to commit it; it runs its old
                                   firmware and keeps the staged image */
    LSWS_UPG_UNKNOWN = 5,       /* the commit's answer was lost and the unit could not be reached
                                   again: it runs the old or the new firmware */
    LSWS_UPG_DONE = 6,          /* committed; after its reboot the unit reports the new version */
    LSWS_UPG_MISMATCH = 7,      /* committed, but after its reboot the unit reports another version */
};

struct lsws_upgrade {
    struct lsws_fw_header h;        /* the image's header */
    const uint8_t *image;           /* the whole image (the caller's; must outlive the job) */
    size_t image_len;
    struct lsws_device_info before; /* the unit as planned against */
    struct lsws_device_info after;  /* as it reports itself at the end (valid when have_after) */
    int have_after;
    unsigned flags;                 /* LSWS_FW_FORCE */
    enum lsws_fw_refusal why;       /* REFUSED by lsws's checks: why; LSWS_FW_OK otherwise */
    int forced;                     /* a downgrade or reinstall allowed by LSWS_FW_FORCE */
    enum lsws_upgrade_outcome outcome;
    uint32_t total;                 /* payload bytes */
    uint32_t slot;                  /* the unit's firmware slot, from FW_BEGIN */
    uint32_t resumed_at;            /* what the unit had staged at the (last) FW_BEGIN */
    uint32_t first_offset;          /* what it had staged at the first FW_BEGIN of this run */
    uint32_t acked;                 /* payload bytes the unit has acknowledged */
    size_t chunk;                   /* payload bytes per FW_DATA */
    unsigned window;                /* FW_DATA requests in flight at most: 0 in a plan sizes it to
                                       the link (lsws_upgrade_run sets what it used); a caller may
                                       set it before the run (1: one at a time) */
    unsigned chunks;                /* FW_DATA requests sent and acknowledged */
    unsigned resent;                /* chunks sent again after the unit found them corrupt */
    unsigned reconnects;            /* link reopened during the transfer */
    unsigned long sent;             /* payload bytes sent, resends included */
    int answer_lost;                /* FW_END's answer was lost; the version read settled it */
    int rc;                         /* the error that ended an unsuccessful job */
    struct lsws_error error;
};

/* Progress: called once the unit has said where the transfer starts, then
 * after each acknowledged chunk. A non-zero return stops the transfer
 * (outcome INTERRUPTED) and lsws_upgrade_run returns that value. */
typedef int lsws_upgrade_progress_fn(const struct lsws_upgrade *u, void *ctx);

/* Checks image (the whole file: header and payload) against the unit
 * info: the image itself (lsws_fw_image_check; then *out is NULL), then
 * lsws_fw_check_unit with flags (then *out is set with outcome REFUSED and
 * why). On LSWS_OK *out holds a plan (outcome PLANNED). Nothing is sent.
 * *out is freed with lsws_upgrade_free. */
int lsws_upgrade_plan(const struct lsws_device_info *info, const uint8_t *image, size_t len, unsigned flags,
                      struct lsws_upgrade **out, struct lsws_error *err);
/* Carries out a plan on the authenticated session c: FW_BEGIN (the unit
 * says how much of this image it holds already), FW_DATA in chunks sized to
 * lsws_client_bulk_msg, u->window of them in flight (0: as many as fit in
 * 3 KiB of messages; 1 on NFC), a corrupt chunk sent again, a dropped link
 * reopened (a few times, while the transfer progresses), FW_END, then
 * reconnect after the unit's reboot and IDENTIFY. Sets u->outcome. LSWS_OK only for
 * LSWS_UPG_DONE; a positive value is progress's. */
int lsws_upgrade_run(struct lsws_client *c, struct lsws_upgrade *u, lsws_upgrade_progress_fn *progress, void *ctx,
                     struct lsws_error *err);
void lsws_upgrade_free(struct lsws_upgrade *u);
/* ---- end of firmware upgrade ---------------------------------------------- */

#endif
