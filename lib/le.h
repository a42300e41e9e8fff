/* Private: little-endian integer helpers shared by the codecs (DESIGN.md:
 * "little-endian readers as helpers"). Callers check lengths first. */
#ifndef LSWS_LE_H
#define LSWS_LE_H

#include <stdint.h>

static inline uint64_t lsws_get_le(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = width; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static inline void lsws_put_le(uint8_t *p, unsigned width, uint64_t v)
{
    for (unsigned i = 0; i < width; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* The two's-complement value of the low `width` bytes of v (width 1-7;
 * 0 or 8 and more leave v as it is). */
static inline int64_t lsws_sign_extend(uint64_t v, unsigned width)
{
    if (width == 0 || width >= 8)
        return (int64_t)v;
    uint64_t sign = (uint64_t)1 << (8 * width - 1);
    return v & sign ? (int64_t)(v - (sign << 1)) : (int64_t)v;
}

#endif
