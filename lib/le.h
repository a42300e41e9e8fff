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

#endif
