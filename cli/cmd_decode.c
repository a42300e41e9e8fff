/* lsws decode: uplink payloads from arguments or stdin (one per line), as
 * text or JSON Lines, for people and for pipelines.
 *
 * Input: hex (the default) or base64 (--base64) payloads; or, on stdin, the
 * uplink messages of The Things Stack and ChirpStack v4 as JSON Lines,
 * recognised per line, with the device's identity carried to the output and
 * its model from --model-map (DevEUI -> model). Output: with --json one
 * object per input, carrying the input's position ("line" or "argument"),
 * and an error object for a bad input, so that output pairs one to one with
 * input. Output is written whenever lsws would wait for input, so a pipe
 * sees each line's result at once; a file is read and written in large
 * blocks. Memory is fixed: one line, one decoded payload at a time.
 * A bad payload is reported with its byte offset and the rest are still
 * decoded; the exit status is then 1. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define PAYLOAD_MAX (128 * 1024)    /* a page of 300 full CTH01 history records fits */
#define LINE_MAX_BYTES (512 * 1024) /* a network server's message around such a payload */
#define IN_BUF (1024 * 1024)
#define OUT_BUF (256 * 1024)
#define RECORD_MAX (64 * 1024) /* the text or JSON of one record (LSWS_UPLINK_MAX readings) */

/* DevEUI -> model, an open-addressed table grown as the map file is read. */
struct model_map {
    uint64_t *eui;
    uint8_t *model; /* enum lsws_model_id + 1; 0: empty slot */
    size_t cap, n;
};

/* Where an input came from, and what a network server said about it. */
struct input {
    const char *kind; /* "line" or "argument" */
    unsigned long pos;
    char dev_eui[17], device_id[128], application_id[128], received_at[64];
    long f_port, f_cnt; /* -1 when not given */
    int from_server;    /* a TTS or ChirpStack message: "model" is printed */
};

/* An input with no identity yet (without clearing the text fields whole:
 * this runs per line). */
static void input_init(struct input *in, const char *kind, unsigned long pos)
{
    in->kind = kind;
    in->pos = pos;
    in->dev_eui[0] = in->device_id[0] = in->application_id[0] = in->received_at[0] = '\0';
    in->f_port = in->f_cnt = -1;
    in->from_server = 0;
}

int decode_csv(struct lsws_cli *cli, enum lsws_model_id model, int argc, char **argv); /* cli/decode_csv.c */

struct decode_ctx {
    enum lsws_model_id model; /* --model, or LSWS_MODEL_COUNT: detect */
    int csv;                  /* --csv: cli/decode_csv.c writes the history columns */
    struct lsws_cli *cli;
    int base64, with_input;
    struct model_map map;
    int failed;                /* some input failed: exit 1 */
    enum lsws_model_id found;  /* the model it decoded as */
    unsigned json_state;       /* lsws_uplink_json_stream */
    int many;                  /* label each payload in text mode */
    int write_error;           /* stdout failed: stop */
    const struct input *in;
    /* The last JSON head, {"line":N: the next line's is mostly N + 1,
     * counted up in the text itself. */
    const char *head_kind;
    unsigned long head_pos;
    char head[48];
    size_t head_len, head_digits; /* head_digits: where N begins */
    struct lsws_uplink up;
    uint8_t bytes[PAYLOAD_MAX];
    char hex[2 * PAYLOAD_MAX + 1];
    char out[OUT_BUF];
    size_t out_len;
    char inbuf[IN_BUF + 1];
};

/* ---- output: one buffer, written out whenever lsws would wait ------------------ */

static void out_flush(struct decode_ctx *ctx)
{
    size_t done = 0;
    while (done < ctx->out_len && !ctx->write_error) {
        ssize_t w = write(STDOUT_FILENO, ctx->out + done, ctx->out_len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            ctx->write_error = 1;
            cli_fail(EXIT_FAILED, LSWS_ERR_IO, "cannot write the output: %s", strerror(errno));
            break;
        }
        done += (size_t)w;
    }
    ctx->out_len = 0;
}

static void out_put(struct decode_ctx *ctx, const char *s, size_t n)
{
    if (n > sizeof ctx->out - ctx->out_len)
        out_flush(ctx);
    if (n > sizeof ctx->out) { /* larger than the buffer: in buffer-sized pieces */
        while (n && !ctx->write_error) {
            size_t k = n < sizeof ctx->out ? n : sizeof ctx->out;
            memcpy(ctx->out, s, k);
            ctx->out_len = k;
            out_flush(ctx);
            s += k;
            n -= k;
        }
        return;
    }
    memcpy(ctx->out + ctx->out_len, s, n);
    ctx->out_len += n;
}

static void out_str(struct decode_ctx *ctx, const char *s)
{
    out_put(ctx, s, strlen(s));
}

static void out_uint(struct decode_ctx *ctx, unsigned long v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_put(ctx, p, (size_t)(tmp + sizeof tmp - p));
}

/* A JSON string (the identity fields come from the network server). */
static void out_jstr(struct decode_ctx *ctx, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    out_put(ctx, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            out_put(ctx, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out_put(ctx, e, 6);
        } else {
            out_put(ctx, (const char *)&c, 1);
        }
    }
    out_put(ctx, "\"", 1);
}

/* Runs fmt(rec) into the output buffer: the snprintf-style renderers. */
typedef size_t render_fn(const struct lsws_uplink *rec, unsigned *state, char *buf, size_t cap);

static size_t render_text(const struct lsws_uplink *rec, unsigned *state, char *buf, size_t cap)
{
    (void)state;
    return lsws_uplink_text(rec, buf, cap);
}

static int out_render(struct decode_ctx *ctx, render_fn *fn, const struct lsws_uplink *rec)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t room = sizeof ctx->out - ctx->out_len;
        unsigned state = ctx->json_state;
        size_t n = fn(rec, &state, ctx->out + ctx->out_len, room);
        if (n < room) {
            ctx->out_len += n;
            ctx->json_state = state;
            return 0;
        }
        out_flush(ctx);
    }
    return LSWS_ERR_RANGE; /* cannot happen: a record is far smaller than the buffer */
}

/* ---- the JSON members lsws adds ------------------------------------------------ */

/* {"line":7 [,"dev_eui":...] [,"hex":...] -- the object stays open. */
static void out_head(struct decode_ctx *ctx, const struct input *in, const uint8_t *bytes,
                     size_t len, int model)
{
    /* The common head, {"line":N, from the last one: N + 1 is its digits
     * counted up (a 9 carries; all nines grow a digit). */
    if (!in->from_server && !ctx->with_input && sizeof ctx->out - ctx->out_len >= sizeof ctx->head) {
        char *h = ctx->head;
        if (in->kind == ctx->head_kind && in->pos == ctx->head_pos + 1 && ctx->head_len + 1 < sizeof ctx->head) {
            size_t i = ctx->head_len;
            while (i > ctx->head_digits && h[i - 1] == '9')
                h[--i] = '0';
            if (i > ctx->head_digits) {
                h[i - 1]++;
            } else {
                memmove(h + ctx->head_digits + 1, h + ctx->head_digits, ctx->head_len - ctx->head_digits);
                h[ctx->head_digits] = '1';
                ctx->head_len++;
            }
        } else {
            int n = snprintf(h, sizeof ctx->head, "{\"%s\":", in->kind);
            ctx->head_digits = n > 0 && (size_t)n < sizeof ctx->head ? (size_t)n : 0;
            n = snprintf(h + ctx->head_digits, sizeof ctx->head - ctx->head_digits, "%lu", in->pos);
            ctx->head_len = ctx->head_digits + (n > 0 ? (size_t)n : 0);
            ctx->head_kind = in->kind;
        }
        ctx->head_pos = in->pos;
        memcpy(ctx->out + ctx->out_len, h, sizeof ctx->head); /* fixed size: one move */
        ctx->out_len += ctx->head_len;
        return;
    }
    out_str(ctx, "{\"");
    out_str(ctx, in->kind);
    out_str(ctx, "\":");
    out_uint(ctx, in->pos);
    if (in->dev_eui[0]) {
        out_str(ctx, ",\"dev_eui\":");
        out_jstr(ctx, in->dev_eui);
    }
    if (in->device_id[0]) {
        out_str(ctx, ",\"device_id\":");
        out_jstr(ctx, in->device_id);
    }
    if (in->application_id[0]) {
        out_str(ctx, ",\"application_id\":");
        out_jstr(ctx, in->application_id);
    }
    if (in->received_at[0]) {
        out_str(ctx, ",\"received_at\":");
        out_jstr(ctx, in->received_at);
    }
    if (in->f_port >= 0) {
        out_str(ctx, ",\"f_port\":");
        out_uint(ctx, (unsigned long)in->f_port);
    }
    if (in->f_cnt >= 0) {
        out_str(ctx, ",\"f_cnt\":");
        out_uint(ctx, (unsigned long)in->f_cnt);
    }
    if (in->from_server && model >= 0) {
        out_str(ctx, ",\"model\":");
        out_jstr(ctx, lsws_model_get((enum lsws_model_id)model)->name);
    }
    if (ctx->with_input && bytes) {
        lsws_hex_format(bytes, len, ctx->hex);
        out_str(ctx, ",\"hex\":\"");
        out_put(ctx, ctx->hex, 2 * len);
        out_str(ctx, "\"");
    }
}

/* "where: message" on stderr; with --json also an error object for this
 * input: {"line":7,"error":{"code","exit_status","message"}}. */
static int input_error(struct decode_ctx *ctx, const struct input *in, const uint8_t *bytes,
                       size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Length of the UTF-8 sequence at s (n bytes left) when it is a valid,
 * printable one, else 0: control characters, stray or overlong bytes,
 * surrogates and sequences cut short are not. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c >= 0x20 && c < 0x7f)
        return 1;
    size_t k = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!k || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return k;
}

/* src with every byte that is no printable UTF-8 written as \xNN, so that
 * a message quoting a bad input line is one line of valid UTF-8 (JSON
 * needs it; a terminal is spared control bytes). */
static void printable_copy(char *dst, size_t cap, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strlen(src), o = 0;
    for (size_t i = 0; i < n && o + 5 <= cap;) {
        size_t k = utf8_printable(s + i, n - i);
        if (k) {
            if (o + k + 1 > cap)
                break;
            memcpy(dst + o, s + i, k);
            o += k;
            i += k;
        } else {
            snprintf(dst + o, cap - o, "\\x%02x", s[i]);
            o += 4;
            i++;
        }
    }
    dst[o] = '\0';
}

static int input_error(struct decode_ctx *ctx, const struct input *in, const uint8_t *bytes,
                       size_t len, int code, const char *fmt, ...)
{
    char msg[600], raw[700], full[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(raw, sizeof raw, "%s %lu: %s", in->kind, in->pos, msg);
    printable_copy(full, sizeof full, raw);
    cli_fail(EXIT_FAILED, code, "%s", full);
    ctx->failed = 1;
    if (ctx->cli->json) {
        ctx->cli->errors_inline = 1;
        out_head(ctx, in, bytes, len, -1);
        out_str(ctx, ",\"error\":{\"code\":");
        const char *name = lsws_errname(code);
        out_jstr(ctx, name ? name : "LSWS_ERR_INVALID");
        out_str(ctx, ",\"exit_status\":1,\"message\":");
        out_jstr(ctx, full);
        out_str(ctx, "}}\n");
    }
    return EXIT_FAILED;
}

/* ---- decoding one payload -------------------------------------------------------- */

static int note_model(const struct lsws_uplink *rec, void *arg)
{
    ((struct decode_ctx *)arg)->found = rec->model;
    return 0;
}

static int print_record(const struct lsws_uplink *rec, void *arg)
{
    struct decode_ctx *ctx = arg;
    return out_render(ctx, ctx->cli->json ? lsws_uplink_json_stream : render_text, rec);
}

/* The payload's readings: the model's, from its head (text) or after the
 * members out_head wrote (JSON). */
static void open_payload(struct decode_ctx *ctx, const uint8_t *bytes, size_t len, const char *hex_text,
                         enum lsws_model_id model)
{
    if (ctx->cli->json) {
        out_head(ctx, ctx->in, bytes, len, model);
        ctx->json_state = LSWS_JSON_MEMBERS;
    } else if (ctx->many) {
        out_str(ctx, "# ");
        out_str(ctx, hex_text);
        out_str(ctx, " (");
        out_str(ctx, lsws_model_get(model)->name);
        out_str(ctx, ")\n");
    }
}

static void close_payload(struct decode_ctx *ctx)
{
    if (ctx->cli->json && ctx->json_state == LSWS_JSON_MEMBERS) {
        out_put(ctx, "}\n", 2); /* members only, no history: the close is "}" (lsws.h) */
        ctx->json_state = 0;
    } else if (ctx->cli->json) {
        out_render(ctx, lsws_uplink_json_stream, NULL);
        out_put(ctx, "\n", 1);
    } else if (ctx->many) {
        out_put(ctx, "\n", 1);
    }
}

/* Decodes bytes as model (LSWS_MODEL_COUNT: detect) and prints it. The
 * common payload decodes whole in one pass; one with more readings than a
 * struct lsws_uplink holds (a long CTH01 history page) is checked, then
 * printed record by record, so a payload that fails prints nothing. */
static int decode_bytes(struct decode_ctx *ctx, const struct input *in, const uint8_t *bytes,
                        size_t len, enum lsws_model_id model, const char *hex_text)
{
    struct lsws_error err; /* written by a failing call only */
    ctx->in = in;
    if (len == 0)
        return input_error(ctx, in, bytes, len, LSWS_ERR_TRUNCATED, "empty payload");
    int rc = lsws_uplink_decode(model, bytes, len, &ctx->up, &err);
    if (rc == LSWS_OK) {
        open_payload(ctx, bytes, len, hex_text, ctx->up.model);
        if (ctx->cli->json)
            out_render(ctx, lsws_uplink_json_stream, &ctx->up);
        else
            out_render(ctx, render_text, &ctx->up);
        close_payload(ctx);
        return EXIT_OK;
    }
    if (rc != LSWS_ERR_RANGE)
        return input_error(ctx, in, bytes, len, rc, "'%s': %s", hex_text, err.msg);
    lsws_error_clear(&err);
    if (lsws_uplink_decode_each(model, bytes, len, note_model, ctx, &err) != LSWS_OK)
        return input_error(ctx, in, bytes, len, err.code, "'%s': %s", hex_text, err.msg);
    open_payload(ctx, bytes, len, hex_text, ctx->found);
    if (lsws_uplink_decode_each(ctx->found, bytes, len, print_record, ctx, &err) != LSWS_OK)
        return input_error(ctx, in, bytes, len, LSWS_ERR_RANGE, "decoded payload too large to print");
    close_payload(ctx);
    return EXIT_OK;
}

/* ---- payload text: hex and base64 ------------------------------------------------ */

static const signed char hexval[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* Two hex digits (first in the low byte) -> their byte, or 0x100 when
 * either is no digit: one lookup per byte of payload. Built once. */
static uint16_t hex_pairs[65536];

static void build_hex_pairs(void)
{
    for (unsigned i = 0; i < 65536; i++) {
        int hi = hexval[i & 0xff], lo = hexval[i >> 8];
        hex_pairs[i] = hi && lo ? (uint16_t)((hi - 1) << 4 | (lo - 1)) : 0x100;
    }
}

/* Plain hex digits only (the common case): 0, else -1 (the library's
 * parser then takes it, with separators and its messages). */
static int hex_fast(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    if (n % 2 || n / 2 > cap)
        return -1;
    size_t i = 0;
#ifdef __SSE2__
    /* 16 digits at a time: each checked to be 0-9, a-f or A-F, turned into
     * its value, and the pairs packed into 8 bytes. */
    const __m128i c0 = _mm_set1_epi8('0' - 1), c9 = _mm_set1_epi8('9' + 1);
    const __m128i ca = _mm_set1_epi8('a' - 1), cf = _mm_set1_epi8('f' + 1);
    const __m128i lower = _mm_set1_epi8(0x20), low8 = _mm_set1_epi16(0x00ff);
    for (; i + 16 <= n; i += 16) {
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i l = _mm_or_si128(c, lower);
        /* Signed compares: bytes 0x80-0xff are negative, so no digit. */
        __m128i dig = _mm_and_si128(_mm_cmpgt_epi8(c, c0), _mm_cmplt_epi8(c, c9));
        __m128i let = _mm_and_si128(_mm_cmpgt_epi8(l, ca), _mm_cmplt_epi8(l, cf));
        if (_mm_movemask_epi8(_mm_or_si128(dig, let)) != 0xffff)
            return -1;
        __m128i v = _mm_or_si128(_mm_and_si128(dig, _mm_sub_epi8(c, _mm_set1_epi8('0'))),
                                 _mm_and_si128(let, _mm_sub_epi8(l, _mm_set1_epi8('a' - 10))));
        /* 16-bit lanes hold (first digit) | (second) << 8. */
        __m128i pair = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, low8), 4), _mm_srli_epi16(v, 8));
        _mm_storel_epi64((__m128i *)(void *)(out + i / 2), _mm_packus_epi16(pair, pair));
    }
#endif
    for (; i < n; i += 2) {
        unsigned v = hex_pairs[(unsigned char)s[i] | (unsigned)(unsigned char)s[i + 1] << 8];
        if (v > 0xff)
            return -1;
        out[i / 2] = (uint8_t)v;
    }
    *len = n / 2;
    return 0;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional. 0, or -1 with *bad the
 * offending character's offset. */
static int base64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len,
                         size_t *bad)
{
    size_t o = 0, i = 0;
    uint32_t acc = 0;
    int bits = 0;
    while (n && s[n - 1] == '=')
        n--;
    for (; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0) {
            *bad = i;
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap) {
                *bad = i;
                return -2;
            }
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6 || (acc & ((1u << bits) - 1))) { /* a lone char, or bits left over */
        *bad = n;
        return -1;
    }
    *len = o;
    return 0;
}

/* Payload text (hex, or base64 with --base64 or from a network server) into
 * bytes; errors are reported for the input. */
static int payload_bytes(struct decode_ctx *ctx, const struct input *in, const char *text,
                         size_t n, int base64, size_t *len)
{
    if (base64) {
        size_t bad = 0;
        int rc = base64_decode(text, n, ctx->bytes, sizeof ctx->bytes, len, &bad);
        if (rc == -2)
            return input_error(ctx, in, NULL, 0, LSWS_ERR_RANGE, "payload longer than %d bytes",
                               PAYLOAD_MAX);
        if (rc < 0)
            return input_error(ctx, in, NULL, 0, LSWS_ERR_SYNTAX,
                               "'%.64s': not base64 at character %zu", text, bad + 1);
        return EXIT_OK;
    }
    if (hex_fast(text, n, ctx->bytes, sizeof ctx->bytes, len) == 0)
        return EXIT_OK;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_hex_parse(text, ctx->bytes, sizeof ctx->bytes, len, &err) != LSWS_OK)
        return input_error(ctx, in, NULL, 0, err.code, "'%.64s%s': %s", text,
                           strlen(text) > 64 ? "..." : "", err.msg);
    return EXIT_OK;
}

/* ---- network server messages (JSON Lines) ------------------------------------------ */

static void copy_str(char *dst, size_t cap, json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    snprintf(dst, cap, "%s", s ? s : "");
}

static long get_int(json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 0x7fffffff
               ? (long)json_integer_value(v)
               : -1;
}

/* The DevEUI as 16 lowercase hex digits and its value, or 0 when it is not one. */
static int normalize_eui(char *eui, uint64_t *value)
{
    size_t n = strlen(eui);
    uint64_t v = 0;
    if (n != 16)
        return 0;
    for (size_t i = 0; i < 16; i++) {
        int d = hexval[(unsigned char)eui[i]];
        if (!d)
            return 0;
        v = v << 4 | (uint64_t)(d - 1);
        eui[i] = "0123456789abcdef"[d - 1];
    }
    *value = v;
    return 1;
}

static size_t map_slot(const struct model_map *map, uint64_t eui)
{
    uint64_t h = eui * 0x9e3779b97f4a7c15u;
    size_t i = (size_t)(h >> 20) & (map->cap - 1);
    while (map->model[i] && map->eui[i] != eui)
        i = (i + 1) & (map->cap - 1);
    return i;
}

static int map_lookup(const struct model_map *map, uint64_t eui)
{
    if (!map->cap)
        return -1;
    size_t i = map_slot(map, eui);
    return map->model[i] ? map->model[i] - 1 : -1;
}

/* One TTS or ChirpStack v4 uplink message: its payload and the device. */
static int decode_message(struct decode_ctx *ctx, struct input *in, const char *line, size_t n)
{
    json_error_t jerr;
    json_t *root = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return root ? input_error(ctx, in, NULL, 0, LSWS_ERR_SYNTAX, "not a JSON object")
                    : input_error(ctx, in, NULL, 0, LSWS_ERR_SYNTAX, "JSON: %s at column %d",
                                  jerr.text, jerr.column);
    }
    in->from_server = 1;
    json_t *payload = NULL;
    const char *server;
    json_t *tts = json_object_get(root, "uplink_message");
    json_t *cs = json_object_get(root, "deviceInfo");
    if (json_is_object(tts)) {
        /* The Things Stack v3: end_device_ids, uplink_message.frm_payload. */
        server = "The Things Stack";
        json_t *ids = json_object_get(root, "end_device_ids");
        copy_str(in->dev_eui, sizeof in->dev_eui, json_object_get(ids, "dev_eui"));
        copy_str(in->device_id, sizeof in->device_id, json_object_get(ids, "device_id"));
        copy_str(in->application_id, sizeof in->application_id,
                 json_object_get(json_object_get(ids, "application_ids"), "application_id"));
        copy_str(in->received_at, sizeof in->received_at, json_object_get(root, "received_at"));
        in->f_port = get_int(json_object_get(tts, "f_port"));
        in->f_cnt = get_int(json_object_get(tts, "f_cnt"));
        payload = json_object_get(tts, "frm_payload");
    } else if (json_is_object(cs)) {
        /* ChirpStack v4 "up" event: deviceInfo, fPort, data. */
        server = "ChirpStack";
        copy_str(in->dev_eui, sizeof in->dev_eui, json_object_get(cs, "devEui"));
        copy_str(in->device_id, sizeof in->device_id, json_object_get(cs, "deviceName"));
        copy_str(in->application_id, sizeof in->application_id,
                 json_object_get(cs, "applicationName"));
        copy_str(in->received_at, sizeof in->received_at, json_object_get(root, "time"));
        in->f_port = get_int(json_object_get(root, "fPort"));
        in->f_cnt = get_int(json_object_get(root, "fCnt"));
        payload = json_object_get(root, "data");
    } else {
        json_decref(root);
        in->from_server = 0;
        return input_error(ctx, in, NULL, 0, LSWS_ERR_SYNTAX,
                           "a JSON object, but no The Things Stack uplink (uplink_message) or "
                           "ChirpStack v4 event (deviceInfo)");
    }
    uint64_t eui = 0;
    int mapped = -1;
    if (in->dev_eui[0] && normalize_eui(in->dev_eui, &eui))
        mapped = map_lookup(&ctx->map, eui);
    if (!json_is_string(payload)) {
        const char *member = json_is_object(tts) ? "uplink_message.frm_payload" : "data";
        json_decref(root);
        return input_error(ctx, in, NULL, 0, LSWS_ERR_INCOMPLETE, "%s message without a payload (%s)",
                           server, member);
    }
    const char *b64 = json_string_value(payload);
    size_t len;
    int rc = payload_bytes(ctx, in, b64, strlen(b64), 1, &len);
    if (rc == EXIT_OK) {
        lsws_hex_format(ctx->bytes, len, ctx->hex);
        enum lsws_model_id model = mapped >= 0 ? (enum lsws_model_id)mapped : ctx->model;
        rc = decode_bytes(ctx, in, ctx->bytes, len, model, ctx->hex);
    }
    json_decref(root);
    return rc;
}

/* ---- one input ----------------------------------------------------------------- */

static int decode_text(struct decode_ctx *ctx, struct input *in, char *text, size_t n)
{
    if (text[0] == '{')
        return decode_message(ctx, in, text, n);
    size_t len;
    int rc = payload_bytes(ctx, in, text, n, ctx->base64, &len);
    if (rc != EXIT_OK)
        return rc;
    return decode_bytes(ctx, in, ctx->bytes, len, ctx->model, text);
}

static int decode_line(struct decode_ctx *ctx, unsigned long lineno, char *line, size_t n)
{
    struct input in;
    input_init(&in, "line", lineno);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    size_t lead = 0;
    while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
        lead++;
    line[n] = '\0';
    if (lead == n)
        return EXIT_OK;
    /* The common line is hex digits only, so it holds no NUL: the others are looked at. */
    size_t len;
    if (!ctx->base64 && hex_fast(line + lead, n - lead, ctx->bytes, sizeof ctx->bytes, &len) == 0)
        return decode_bytes(ctx, &in, ctx->bytes, len, ctx->model, line + lead);
    const char *nul = memchr(line, '\0', n);
    if (nul)
        return input_error(ctx, &in, NULL, 0, LSWS_ERR_SYNTAX,
                           "a NUL byte at column %zu: not a text line", (size_t)(nul - line) + 1);
    if (line[lead] == '#')
        return EXIT_OK;
    return decode_text(ctx, &in, line + lead, n - lead);
}

/* Lines of stdin, read in large blocks; output goes out before each read. */
static int decode_stdin(struct decode_ctx *ctx)
{
    char *buf = ctx->inbuf;
    size_t have = 0, start = 0;
    unsigned long lineno = 0;
    int eof = 0, skipping = 0;
    ctx->many = 1;
    while (!ctx->write_error) {
        char *nl = have > start ? memchr(buf + start, '\n', have - start) : NULL;
        if (!nl && !eof) {
            /* Keep the partial line, then wait for more: write what is done first. */
            if (start) {
                memmove(buf, buf + start, have - start);
                have -= start;
                start = 0;
            }
            if (have >= LINE_MAX_BYTES) {
                if (!skipping) {
                    struct input in;
                    input_init(&in, "line", lineno + 1);
                    input_error(ctx, &in, NULL, 0, LSWS_ERR_RANGE, "longer than %d characters",
                                LINE_MAX_BYTES);
                }
                skipping = 1;
                have = 0;
            }
            out_flush(ctx);
            ssize_t r = read(STDIN_FILENO, buf + have, IN_BUF - have);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                cli_fail(EXIT_FAILED, LSWS_ERR_IO, "cannot read stdin: %s", strerror(errno));
                ctx->failed = 1;
                break;
            }
            if (r == 0)
                eof = 1;
            have += (size_t)r;
            continue;
        }
        if (!nl && have == start)
            break; /* end of input */
        size_t end = nl ? (size_t)(nl - buf) : have;
        lineno++;
        if (skipping) {
            skipping = 0; /* the rest of a line already reported */
        } else if (end - start > LINE_MAX_BYTES) {
            struct input in;
            input_init(&in, "line", lineno);
            input_error(ctx, &in, NULL, 0, LSWS_ERR_RANGE, "longer than %d characters",
                        LINE_MAX_BYTES);
        } else {
            decode_line(ctx, lineno, buf + start, end - start);
        }
        start = nl ? end + 1 : have;
    }
    out_flush(ctx);
    return ctx->failed ? EXIT_FAILED : EXIT_OK;
}

/* ---- options: --model, --model-map, --base64, --with-input --------------------------- */

static int map_put(struct model_map *map, uint64_t eui, int model)
{
    if (2 * (map->n + 1) > map->cap) {
        size_t cap = map->cap ? 2 * map->cap : 256;
        struct model_map bigger = {calloc(cap, sizeof *map->eui), calloc(cap, 1), cap, 0};
        if (!bigger.eui || !bigger.model) {
            free(bigger.eui);
            free(bigger.model);
            return -1;
        }
        for (size_t i = 0; i < map->cap; i++)
            if (map->model[i]) {
                size_t j = map_slot(&bigger, map->eui[i]);
                bigger.eui[j] = map->eui[i];
                bigger.model[j] = map->model[i];
                bigger.n++;
            }
        free(map->eui);
        free(map->model);
        *map = bigger;
    }
    size_t i = map_slot(map, eui);
    if (map->model[i] && map->model[i] != model + 1)
        return 1;
    if (!map->model[i])
        map->n++;
    map->eui[i] = eui;
    map->model[i] = (uint8_t)(model + 1);
    return 0;
}

/* FILE: one "DEVEUI MODEL" per line (space, tab, comma, ';' or '='
 * between), '#' comments. */
static int load_map(struct decode_ctx *ctx, const char *file)
{
    char *text;
    size_t len;
    int rc = cli_read_file(file, 64u << 20, &text, &len);
    if (rc != EXIT_OK)
        return rc;
    unsigned long lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char eui[32] = "", model[32] = "";
        char *p = line + strspn(line, " \t\r");
        size_t k = strcspn(p, " \t\r,;=");
        if (!k)
            continue;
        snprintf(eui, sizeof eui, "%.*s", (int)(k < 31 ? k : 31), p);
        p += k;
        p += strspn(p, " \t\r,;=");
        k = strcspn(p, " \t\r,;=");
        snprintf(model, sizeof model, "%.*s", (int)(k < 31 ? k : 31), p);
        p += k;
        p += strspn(p, " \t\r");
        uint64_t v;
        const struct lsws_model *m = model[0] ? lsws_model_by_name(model) : NULL;
        if (!normalize_eui(eui, &v) || !m || *p) {
            free(text);
            return cli_error(EXIT_USAGE, "%s:%lu: expected 'DEVEUI MODEL' (16 hex digits, ws523 or "
                                         "cth01)",
                             file, lineno);
        }
        int put = map_put(&ctx->map, v, m->id);
        if (put < 0) {
            free(text);
            return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        }
        if (put > 0) {
            free(text);
            return cli_error(EXIT_USAGE, "%s:%lu: DevEUI %s is given another model before", file,
                             lineno, eui);
        }
    }
    free(text);
    return EXIT_OK;
}

static int on_option(const char *name, const char *value, void *arg)
{
    struct decode_ctx *ctx = arg;
    if (strcmp(name, "model") == 0) {
        const struct lsws_model *m = cli_model_arg(value);
        if (!m)
            return EXIT_USAGE;
        ctx->model = m->id;
    } else if (strcmp(name, "model-map") == 0) {
        return load_map(ctx, value);
    } else if (strcmp(name, "base64") == 0) {
        ctx->base64 = 1;
    } else if (strcmp(name, "with-input") == 0) {
        ctx->with_input = 1;
    } else if (strcmp(name, "csv") == 0) {
        ctx->csv = 1;
    }
    return EXIT_OK;
}

int cmd_decode(int argc, char **argv, struct lsws_cli *cli)
{
    static struct decode_ctx ctx; /* large buffers: not on the stack */
    build_hex_pairs();
    ctx.model = LSWS_MODEL_COUNT;
    ctx.cli = cli;
    int rc = cli_options(cli, on_option, &ctx);
    if (rc == EXIT_OK && ctx.csv) {
        /* CSV rows are history records of hex payloads: no input forms or
         * JSON members to go with them. */
        if (ctx.base64 || ctx.with_input || ctx.map.cap)
            rc = cli_error(EXIT_USAGE, "--csv takes hex payloads: not with --base64, --with-input "
                                       "or --model-map");
        else
            rc = decode_csv(cli, ctx.model, argc, argv);
        argc = 0;
    } else if (rc == EXIT_OK) {
        rc = argc == 0 ? decode_stdin(&ctx) : EXIT_OK;
    } else {
        argc = 0;
    }
    if (argc) {
        ctx.many = argc > 1;
        for (int i = 0; i < argc && !ctx.write_error; i++) {
            struct input in;
            input_init(&in, "argument", (unsigned long)i + 1);
            decode_text(&ctx, &in, argv[i], strlen(argv[i]));
        }
        out_flush(&ctx);
        rc = ctx.failed ? EXIT_FAILED : EXIT_OK;
    }
    free(ctx.map.eui);
    free(ctx.map.model);
    ctx.map = (struct model_map){0};
    return rc;
}
