/* Hex text <-> bytes, bounded. */
#include "lsws.h"

#include <stdint.h>

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_separator(char c)
{
    return c == ' ' || c == '\t' || c == ':' || c == '-';
}

int lsws_hex_parse(const char *text, uint8_t *out, size_t cap, size_t *len, struct lsws_error *err)
{
    size_t n = 0, i = 0;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        i = 2;
    while (text[i]) {
        if (is_separator(text[i])) {
            i++;
            continue;
        }
        int hi = nibble(text[i]);
        if (hi < 0)
            return lsws_fail(err, LSWS_ERR_SYNTAX, i, "'%c' at character %zu is not a hex digit",
                             text[i], i + 1);
        if (!text[i + 1] || is_separator(text[i + 1]))
            return lsws_fail(err, LSWS_ERR_SYNTAX, i,
                             "odd number of hex digits: digit at character %zu has no pair", i + 1);
        int lo = nibble(text[i + 1]);
        if (lo < 0)
            return lsws_fail(err, LSWS_ERR_SYNTAX, i + 1,
                             "'%c' at character %zu is not a hex digit", text[i + 1], i + 2);
        if (n == cap)
            return lsws_fail(err, LSWS_ERR_RANGE, i, "hex longer than %zu bytes", cap);
        out[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    *len = n;
    return LSWS_OK;
}

void lsws_hex_format(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}
