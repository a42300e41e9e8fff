/* Settings codec: configurations <-> the devices' command TLVs. Pure: no
 * I/O, explicit lengths, every read bounded by the input length. The
 * command layout comes from the model tables (lsws_model_commands); the
 * field reader and writer here also serve uplinks that carry settings
 * (lib/uplink.c), so each command is described and read one way. */
#include "le.h"
#include "model_rows.h"

#include <stdio.h>
#include <string.h>

static int is_signed(const struct lsws_row *row)
{
    return row->type == LSWS_T_INT || row->type == LSWS_T_UTC_OFFSET;
}

static int64_t wire_mul(const struct lsws_row *row)
{
    return row->wire_mul ? row->wire_mul : 1;
}

void lsws_field_put(uint8_t *payload, const struct lsws_setting *s, const struct lsws_value *v)
{
    const struct lsws_row *row = s->row;
    unsigned off = s->off;
    switch (row->enc) {
    case LSWS_ENC_LE:
    case LSWS_ENC_CONST: {
        uint64_t raw = (uint64_t)(row->enc == LSWS_ENC_CONST ? row->min : v->num * wire_mul(row));
        if (row->bits) {
            uint64_t mask = ((1ull << row->bits) - 1) << row->shift;
            uint64_t cur = lsws_get_le(payload + off, row->width);
            raw = (cur & ~mask) | ((raw << row->shift) & mask);
        }
        lsws_put_le(payload + off, row->width, raw);
        break;
    }
    case LSWS_ENC_BYTES:
        memcpy(payload + off, v->bytes, row->width);
        break;
    case LSWS_ENC_MASK:
        payload[off] = (uint8_t)v->num;
        memcpy(payload + off + 1, v->bytes, (size_t)row->width - 1);
        break;
    case LSWS_ENC_LSTR:
        payload[off] = v->len;
        memcpy(payload + off + 1, v->bytes, v->len);
        break;
    }
}

static const struct lsws_value *pick(const struct lsws_config *cfg, const struct lsws_config *base,
                                     size_t idx)
{
    if (cfg->present[idx])
        return &cfg->values[idx];
    if (base && base->present[idx])
        return &base->values[idx];
    return NULL;
}

static int command_wanted(const struct lsws_config *cfg, const struct lsws_command *c,
                          int readonly_ok, struct lsws_error *err)
{
    int wanted = 0;
    for (unsigned f = 0; f < c->n_fields; f++) {
        uint16_t ref = c->fields[f];
        if (ref & LSWS_CMD_CONST || !cfg->present[ref])
            continue;
        if (!readonly_ok && cfg->model->settings[ref].row->flags & LSWS_F_READONLY)
            return lsws_fail(err, LSWS_ERR_READONLY, SIZE_MAX, "%s is read-only",
                             cfg->model->settings[ref].key);
        wanted = 1;
    }
    return wanted;
}

static int encode(const struct lsws_config *cfg, const struct lsws_config *base, int readonly_ok,
                  uint8_t *out, size_t cap, size_t *len, struct lsws_error *err)
{
    const struct lsws_model *m = cfg->model;
    size_t n_cmds, pos = 0;
    const struct lsws_command *cmds = lsws_model_commands(m, &n_cmds);

    for (size_t ci = 0; ci < n_cmds; ci++) {
        const struct lsws_command *c = &cmds[ci];
        int wanted = command_wanted(cfg, c, readonly_ok, err);
        if (wanted < 0)
            return wanted;
        if (!wanted)
            continue;

        uint8_t payload[256] = {0};
        size_t plen = c->len;
        char missing[160] = "";
        for (unsigned f = 0; f < c->n_fields; f++) {
            uint16_t ref = c->fields[f];
            if (ref & LSWS_CMD_CONST) {
                lsws_field_put(payload, &m->consts[ref & ~LSWS_CMD_CONST], NULL);
                continue;
            }
            const struct lsws_setting *s = &m->settings[ref];
            const struct lsws_value *v = pick(cfg, base, ref);
            if (!v) {
                size_t used = strlen(missing);
                snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "", s->key);
                continue;
            }
            lsws_field_put(payload, s, v);
            if (c->lstr)
                plen = 1u + v->len;
        }
        if (missing[0])
            return lsws_fail(err, LSWS_ERR_INCOMPLETE, SIZE_MAX,
                             "command 0x%0*x also carries %s: give %s too", c->code_len * 2,
                             (unsigned)c->code, missing, strchr(missing, ',') ? "them" : "it");
        if (pos + c->code_len + plen > cap)
            return lsws_fail(err, LSWS_ERR_RANGE, pos, "encoded settings exceed %zu bytes", cap);
        for (unsigned b = c->code_len; b-- > 0;)
            out[pos++] = (uint8_t)(c->code >> (8 * b));
        memcpy(out + pos, payload, plen);
        pos += plen;
    }
    *len = pos;
    return LSWS_OK;
}

int lsws_settings_encode(const struct lsws_config *cfg, const struct lsws_config *base,
                         uint8_t *out, size_t cap, size_t *len, struct lsws_error *err)
{
    return encode(cfg, base, 0, out, cap, len, err);
}

int lsws_settings_report(const struct lsws_config *cfg, uint8_t *out, size_t cap, size_t *len,
                         struct lsws_error *err)
{
    return encode(cfg, NULL, 1, out, cap, len, err);
}

/* ---- decode ------------------------------------------------------------------ */

static const struct lsws_command *match(const struct lsws_command *cmds, size_t n,
                                        const uint8_t *in, size_t left)
{
    for (unsigned want = 2; want >= 1; want--) {
        if (left < want)
            continue;
        uint32_t code = want == 2 ? (uint32_t)in[0] << 8 | in[1] : in[0];
        for (size_t i = 0; i < n; i++)
            if (cmds[i].code_len == want && cmds[i].code == code)
                return &cmds[i];
    }
    return NULL;
}

/* Whether a number fits its place on the wire: the bits of a bit field,
 * else `width` bytes, signed for signed types, after wire_mul. */
static int fits_wire(const struct lsws_row *row, int64_t num)
{
    int64_t mul = wire_mul(row);
    if (num > INT64_MAX / mul || num < INT64_MIN / mul)
        return 0;
    int64_t raw = num * mul;
    unsigned bits = row->bits ? row->bits : 8u * row->width;
    if (bits == 0)
        return raw == 0;
    if (bits >= 64)
        return 1;
    if (is_signed(row) && !row->bits)
        return raw >= -((int64_t)1 << (bits - 1)) && raw < ((int64_t)1 << (bits - 1));
    return raw >= 0 && raw < ((int64_t)1 << bits);
}

int lsws_field_check(const struct lsws_row *row, const struct lsws_value *v, enum lsws_check check)
{
    switch (row->type) {
    case LSWS_T_BOOL:
        return v->num == 0 || v->num == 1 ? 0 : -1;
    case LSWS_T_UINT:
    case LSWS_T_INT:
    case LSWS_T_UTC_OFFSET:
        /* Uplinks say what a unit holds, which may lie outside what lsws
         * lets a write set (the guide's own ff240000: a 0 A threshold). */
        if (check == LSWS_CHECK_WIRE)
            return fits_wire(row, v->num) ? 0 : -1;
        return v->num >= row->min && v->num <= row->max ? 0 : -1;
    case LSWS_T_ENUM:
        return lsws_enum_find(row->enums, v->num) ? 0 : -1;
    case LSWS_T_TEXT:
    case LSWS_T_PASSWORD:
        if (v->len < row->min || v->len > row->max)
            return -1;
        for (unsigned i = 0; i < v->len; i++) {
            uint8_t c = v->bytes[i];
            int ok = row->type == LSWS_T_TEXT ? c >= 0x20 && c < 0x7f
                                              : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                                                    (c >= 'A' && c <= 'Z') || c == '_';
            if (!ok)
                return -1;
        }
        return 0;
    case LSWS_T_CHANNELS:
        return v->num == 0 || v->num == 1 ? 0 : -1;
    case LSWS_T_HEX:
        return 0;
    }
    return -1;
}

int lsws_field_get(const uint8_t *payload, size_t plen, const struct lsws_setting *s,
                   struct lsws_value *v, enum lsws_check check)
{
    const struct lsws_row *row = s->row;
    unsigned off = s->off;
    memset(v, 0, sizeof *v);
    switch (row->enc) {
    case LSWS_ENC_LE:
    case LSWS_ENC_CONST: {
        uint64_t raw = lsws_get_le(payload + off, row->width);
        if (row->bits)
            raw = raw >> row->shift & ((1ull << row->bits) - 1);
        int64_t val = is_signed(row) && !row->bits ? lsws_sign_extend(raw, row->width)
                                                   : (int64_t)raw;
        if (row->enc == LSWS_ENC_CONST)
            return val == row->min ? 0 : -1;
        if (val % wire_mul(row))
            return -1;
        v->num = val / wire_mul(row);
        break;
    }
    case LSWS_ENC_BYTES:
        memcpy(v->bytes, payload + off, row->width);
        v->len = row->width;
        break;
    case LSWS_ENC_MASK:
        v->num = payload[off];
        v->len = (uint8_t)(row->width - 1);
        memcpy(v->bytes, payload + off + 1, v->len);
        break;
    case LSWS_ENC_LSTR:
        v->len = (uint8_t)(plen - 1);
        memcpy(v->bytes, payload + 1, v->len);
        break;
    }
    return lsws_field_check(row, v, check);
}

int lsws_settings_span(const struct lsws_model *m, const uint8_t *in, size_t len, size_t *span,
                       struct lsws_error *err)
{
    size_t n_cmds;
    const struct lsws_command *cmds = lsws_model_commands(m, &n_cmds);
    const struct lsws_command *c = match(cmds, n_cmds, in, len);
    if (!c)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 0, "unknown %s command 0x%02x", m->name,
                         len ? in[0] : 0);
    size_t p = c->code_len, left = len - p, need = c->len;
    if (c->lstr) {
        if (left < 1)
            return lsws_fail(err, LSWS_ERR_TRUNCATED, p, "command 0x%0*x needs a length byte",
                             c->code_len * 2, (unsigned)c->code);
        if (in[p] < 1 || in[p] > c->len - 1)
            return lsws_fail(err, LSWS_ERR_MALFORMED, p,
                             "bad length %u: command 0x%0*x takes 1-%u characters", in[p],
                             c->code_len * 2, (unsigned)c->code, c->len - 1u);
        need = 1u + in[p];
    }
    if (left < need)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, p, "command 0x%0*x needs %zu bytes, %zu left",
                         c->code_len * 2, (unsigned)c->code, need, left);
    *span = p + need;
    return LSWS_OK;
}

/* Adds to a span error where it happened in the whole frame: "truncated
 * frame at byte N: ..." or "... at byte N". */
static int at_offset(struct lsws_error *err, int rc, size_t base)
{
    if (!err)
        return rc;
    size_t at = base + (err->offset == SIZE_MAX ? 0 : err->offset);
    char prefix[48] = "", suffix[32] = "";
    if (rc == LSWS_ERR_TRUNCATED)
        snprintf(prefix, sizeof prefix, "truncated frame at byte %zu: ", at);
    else
        snprintf(suffix, sizeof suffix, " at byte %zu", at);
    size_t pl = strlen(prefix), sl = strlen(suffix), ml = strlen(err->msg);
    if (pl + ml + sl >= sizeof err->msg)
        ml = sizeof err->msg - 1 - pl - sl;
    memmove(err->msg + pl, err->msg, ml);
    memcpy(err->msg, prefix, pl);
    memcpy(err->msg + pl + ml, suffix, sl + 1);
    err->offset = at;
    return rc;
}

int lsws_settings_decode(struct lsws_config *cfg, const uint8_t *in, size_t len,
                         struct lsws_error *err)
{
    const struct lsws_model *m = cfg->model;
    size_t n_cmds, pos = 0;
    const struct lsws_command *cmds = lsws_model_commands(m, &n_cmds);

    while (pos < len) {
        size_t span;
        int rc = lsws_settings_span(m, in + pos, len - pos, &span, err);
        if (rc != LSWS_OK)
            return at_offset(err, rc, pos);
        const struct lsws_command *c = match(cmds, n_cmds, in + pos, len - pos);
        size_t p = pos + c->code_len, need = span - c->code_len;
        for (unsigned f = 0; f < c->n_fields; f++) {
            uint16_t ref = c->fields[f];
            const struct lsws_setting *s =
                ref & LSWS_CMD_CONST ? &m->consts[ref & ~LSWS_CMD_CONST] : &m->settings[ref];
            struct lsws_value v;
            if (lsws_field_get(in + p, need, s, &v, LSWS_CHECK_RANGE) < 0)
                return lsws_fail(err, LSWS_ERR_MALFORMED, p + s->off,
                                 "bad value at byte %zu: command 0x%0*x, %s", p + s->off,
                                 c->code_len * 2, (unsigned)c->code,
                                 s->row->key ? s->key : "fixed field");
            if (!(ref & LSWS_CMD_CONST)) {
                cfg->values[ref] = v;
                cfg->present[ref] = 1;
            }
        }
        pos += span;
    }
    return LSWS_OK;
}
