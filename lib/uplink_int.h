/* Private: the uplink command tables (lib/uplink.c), shared with the
 * control actions (lib/action.c), which send some of these commands as
 * downlinks. Not part of the public API. */
#ifndef LSWS_UPLINK_INT_H
#define LSWS_UPLINK_INT_H

#include "lsws.h"

enum ftype {
    FT_UINT,    /* unsigned little-endian integer */
    FT_SINT,    /* signed little-endian integer */
    FT_ENUM,    /* unsigned integer with named values; width 0 is a flag with no data */
    FT_HEX,     /* bytes shown as hex (SN, OEM ID) */
    FT_TEXT,    /* printable ASCII padded with NUL bytes to the width (product name) */
    FT_VER1,    /* one byte: 01 = v1 */
    FT_VER_HW,  /* major byte, minor in the high nibble of the next: 01 40 = v1.4 */
    FT_VER,     /* major byte, minor byte, in hex as the guides print them: 01 14 = v1.14 */
    FT_VER_DEC, /* major byte, minor byte, decimal: 0a 0b = v10.11 (CTH01) */
    FT_VER_FW,  /* CTH01 firmware: major, minor, then release, alpha, unit test, test
                   bytes: 01 01 02 00 00 00 = v1.1-r2 */
    FT_CHAN,    /* 0-based channel 0..arg of the readings after it; no reading */
    FT_ATYPE,   /* alarm type of the reading after it; no reading */
    FT_FIXED,   /* fixed bytes (value `fix`, or `alt` if not equal to fix); no reading */
};

#define UF_SOCKET 1u  /* WS523 socket status: bit 4 says the button caused it */
#define UF_MASK 2u    /* CTH01 group mask: only the bits in `arg` may be set */
#define UF_INVALID 4u /* all-ones bytes are the vendor's invalid reading ("error") */
#define UF_ANY 8u     /* FT_ENUM: any byte; the first name names them all (vendor) */

struct ufield {
    const char *name;
    uint8_t type, width, count, scale;
    uint8_t ch0;   /* channel of the first of `count` values; 0: none, or from FT_CHAN */
    uint8_t arg;   /* FT_CHAN: highest wire channel; UF_MASK: bits */
    uint8_t flags; /* UF_* */
    const char *unit;
    const struct lsws_enum *names; /* FT_ENUM, FT_ATYPE; ends with a NULL name */
    uint32_t fix, alt;             /* FT_FIXED: the value, and an accepted other one */
    uint8_t name_len;              /* sizeof the name array - 1 (names are arrays) */
};

#define UC_HISTORY 1u /* may appear inside a CTH01 `ed` history record */
#define UC_FE 2u      /* WS523: a downlink response, also sent on channel fe */

struct ucmd {
    uint16_t code;    /* code bytes, first byte in the high half when code_len is 2 */
    uint8_t code_len; /* 1 or 2 */
    uint8_t flags;    /* UC_* */
    const struct ufield *f;
    uint8_t nf;
};

/* The telemetry command of model with this code, or NULL. */
const struct ucmd *lsws_uplink_cmd(enum lsws_model_id model, unsigned code, unsigned code_len);

#endif
