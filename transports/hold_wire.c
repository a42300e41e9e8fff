/* The wire format between lsws and `lsws hold` (transports/hold.h): pure,
 * explicit lengths, every field checked against one table of ops. */
#include "hold.h"

#include <string.h>

/* What each op carries: request payload and argument ranges, and the
 * payload of its OK answer. */
static const struct hold_op_rule {
    uint8_t op;
    size_t req_min, req_max;
    int32_t arg_min, arg_max;
    size_t ok_min, ok_max;
} rules[] = {
    {HOLD_OPEN, 0, 0, -1, 86400000, HOLD_OPEN_ANSWER, HOLD_OPEN_ANSWER},
    {HOLD_SEND, 1, LSWS_MSG_MAX, 0, 0, 0, 0},
    {HOLD_RECV, 0, 0, 1, 600000, 1, LSWS_MSG_MAX},
    {HOLD_PRESENT, 0, 0, 0, 0, 0, 0},
    {HOLD_WIRE, 0, 0, 0, 0, HOLD_WIRE_ANSWER, HOLD_WIRE_ANSWER},
};

static const struct hold_op_rule *rule_of(uint8_t op)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].op == op)
            return &rules[i];
    return NULL;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static int printable(uint8_t c)
{
    return c >= 0x20 && c < 0x7f;
}

int hold_req_encode(const struct hold_req *r, uint8_t *out, size_t cap, size_t *olen)
{
    const struct hold_op_rule *rule = rule_of(r->op);
    if (!rule || r->len < rule->req_min || r->len > rule->req_max || r->arg < rule->arg_min ||
        r->arg > rule->arg_max || HOLD_REQ_HEAD + r->len > cap)
        return LSWS_ERR_RANGE;
    uint32_t arg = (uint32_t)r->arg;
    out[0] = r->op;
    out[1] = 0;
    put16(out + 2, (unsigned)r->len);
    for (int i = 0; i < 4; i++)
        out[4 + i] = (uint8_t)(arg >> (8 * i));
    if (r->len)
        memcpy(out + HOLD_REQ_HEAD, r->payload, r->len);
    *olen = HOLD_REQ_HEAD + r->len;
    return LSWS_OK;
}

int hold_req_decode(const uint8_t *in, size_t len, struct hold_req *r, struct lsws_error *err)
{
    memset(r, 0, sizeof *r);
    if (len < HOLD_REQ_HEAD)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "hold request of %zu bytes: the header has %d", len,
                         HOLD_REQ_HEAD);
    const struct hold_op_rule *rule = rule_of(in[0]);
    if (!rule)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 0, "hold request: unknown op %u", in[0]);
    if (in[1])
        return lsws_fail(err, LSWS_ERR_MALFORMED, 1, "hold request: reserved byte %u", in[1]);
    size_t n = get16(in + 2);
    if (n != len - HOLD_REQ_HEAD)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 2, "hold request: length %zu, but %zu bytes follow", n,
                         len - HOLD_REQ_HEAD);
    if (n < rule->req_min || n > rule->req_max)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 2, "hold request: op %u carries %zu to %zu bytes, not %zu", in[0],
                         rule->req_min, rule->req_max, n);
    uint32_t u = (uint32_t)in[4] | (uint32_t)in[5] << 8 | (uint32_t)in[6] << 16 | (uint32_t)in[7] << 24;
    int32_t arg = u > INT32_MAX ? -(int32_t)(~u) - 1 : (int32_t)u; /* two's complement, portably */
    if (arg < rule->arg_min || arg > rule->arg_max)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 4, "hold request: op %u argument %ld out of range", in[0],
                         (long)arg);
    r->op = in[0];
    r->arg = arg;
    r->payload = n ? in + HOLD_REQ_HEAD : NULL;
    r->len = n;
    return LSWS_OK;
}

int hold_resp_encode(int code, const uint8_t *payload, size_t len, const char *text, uint8_t *out, size_t cap,
                     size_t *olen)
{
    if (code > 0 || code < LSWS_ERR_MIN)
        return LSWS_ERR_RANGE;
    if (code < 0) { /* the message: printable bytes only, bounded */
        payload = (const uint8_t *)(text ? text : "");
        len = strlen((const char *)payload);
        if (len > HOLD_TEXT_MAX)
            len = HOLD_TEXT_MAX;
        for (size_t i = 0; i < len; i++)
            if (!printable(payload[i]))
                len = i;
    }
    if (len > LSWS_MSG_MAX || HOLD_RESP_HEAD + len > cap)
        return LSWS_ERR_RANGE;
    out[0] = (uint8_t)(int8_t)code;
    out[1] = 0;
    put16(out + 2, (unsigned)len);
    if (len)
        memcpy(out + HOLD_RESP_HEAD, payload, len);
    *olen = HOLD_RESP_HEAD + len;
    return LSWS_OK;
}

int hold_resp_decode(uint8_t op, const uint8_t *in, size_t len, struct hold_resp *r, struct lsws_error *err)
{
    memset(r, 0, sizeof *r);
    const struct hold_op_rule *rule = rule_of(op);
    if (!rule)
        return lsws_fail(err, LSWS_ERR_MALFORMED, SIZE_MAX, "hold answer to unknown op %u", op);
    if (len < HOLD_RESP_HEAD)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "hold answer of %zu bytes: the header has %d", len,
                         HOLD_RESP_HEAD);
    int code = (int8_t)in[0];
    if (code > 0 || code < LSWS_ERR_MIN)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 0, "hold answer: unknown code %d", code);
    if (in[1])
        return lsws_fail(err, LSWS_ERR_MALFORMED, 1, "hold answer: reserved byte %u", in[1]);
    size_t n = get16(in + 2);
    if (n != len - HOLD_RESP_HEAD)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 2, "hold answer: length %zu, but %zu bytes follow", n,
                         len - HOLD_RESP_HEAD);
    const uint8_t *p = in + HOLD_RESP_HEAD;
    if (code < 0) {
        if (n > HOLD_TEXT_MAX)
            return lsws_fail(err, LSWS_ERR_MALFORMED, 2, "hold answer: a message of %zu bytes (at most %d)", n,
                             HOLD_TEXT_MAX);
        for (size_t i = 0; i < n; i++)
            if (!printable(p[i]))
                return lsws_fail(err, LSWS_ERR_MALFORMED, HOLD_RESP_HEAD + i, "hold answer: byte %02x in its "
                                 "message", p[i]);
        memcpy(r->text, p, n);
        r->text[n] = '\0';
        r->code = code;
        return LSWS_OK;
    }
    if (n < rule->ok_min || n > rule->ok_max)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 2, "hold answer to op %u: %zu to %zu bytes, not %zu", op,
                         rule->ok_min, rule->ok_max, n);
    r->payload = n ? p : NULL;
    r->len = n;
    return LSWS_OK;
}
