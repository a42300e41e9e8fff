/* Firmware images (docs/firmware.md): the header lsws and its simulator
 * agree on, its checks, the payload's checksums and whether an image may be
 * installed on a unit. Pure and bounded: no I/O; explicit lengths; every
 * error names the byte of the header it is about.
 *
 *   off len
 *     0   4  magic "LSFW"
 *     4   1  header version (1)
 *     5   1  model (0 WS523, 1 CTH01)
 *     6   2  header length (128), little-endian
 *     8   2  lowest hardware version, vendor order (major, minor byte)
 *    10   2  highest hardware version, vendor order
 *    12   2  firmware version, vendor order
 *    14   2  flags (0: none defined)
 *    16   4  payload length, little-endian
 *    20   4  payload CRC-32, little-endian
 *    24  32  payload SHA-256
 *    56   4  build time, Unix seconds, little-endian (0: not given)
 *    60  32  name: printable ASCII, NUL-padded
 *    92  32  reserved, zero
 *   124   4  CRC-32 of bytes 0..123, little-endian
 *
 * SHA-256 is OpenSSL's (EVP digest API), CRC-32 zlib's crc32(). */
#include "lsws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_MODEL = 5,
    OFF_HLEN = 6,
    OFF_HW_MIN = 8,
    OFF_HW_MAX = 10,
    OFF_FW = 12,
    OFF_FLAGS = 14,
    OFF_LEN = 16,
    OFF_CRC = 20,
    OFF_SHA = 24,
    OFF_TIME = 56,
    OFF_NAME = 60,
    OFF_RESERVED = 92,
    OFF_HCRC = 124,
};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Versions travel major byte first, as in IDENTIFY. */
static uint16_t get_version(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_version(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint32_t lsws_crc32(uint32_t crc, const uint8_t *data, size_t len)
{
    uLong c = crc;
    while (len) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        c = crc32(c, data, n);
        data += n;
        len -= n;
    }
    return (uint32_t)c;
}

/* ---- the header ------------------------------------------------------------------ */

/* The field checks shared by parse and encode; raw is the header's bytes. */
static int check_fields(const uint8_t *raw, struct lsws_error *err)
{
    unsigned model = raw[OFF_MODEL];
    if (model >= LSWS_MODEL_COUNT)
        return lsws_fail(err, LSWS_ERR_MODEL, OFF_MODEL, "firmware header: unknown model %u (0 ws523, 1 cth01)",
                         model);
    uint16_t lo = get_version(raw + OFF_HW_MIN), hi = get_version(raw + OFF_HW_MAX);
    if (lo > hi) {
        char a[16], b[16];
        lsws_version_format(lo, 1, a, sizeof a);
        lsws_version_format(hi, 1, b, sizeof b);
        return lsws_fail(err, LSWS_ERR_MALFORMED, OFF_HW_MIN,
                         "firmware header: lowest hardware version %s is above the highest, %s", a, b);
    }
    uint16_t flags = get16(raw + OFF_FLAGS);
    if (flags)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, OFF_FLAGS,
                         "firmware header: flags 0x%04x are not known to this lsws", flags);
    uint32_t len = get32(raw + OFF_LEN);
    if (len == 0 || len > LSWS_FW_PAYLOAD_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, OFF_LEN,
                         "firmware header: payload length %lu is not from 1 to %u bytes", (unsigned long)len,
                         LSWS_FW_PAYLOAD_MAX);
    int ended = 0;
    for (size_t i = 0; i < LSWS_FW_NAME_LEN; i++) {
        uint8_t c = raw[OFF_NAME + i];
        if (c == 0)
            ended = 1;
        else if (ended || c < 0x20 || c > 0x7e)
            return lsws_fail(err, LSWS_ERR_MALFORMED, OFF_NAME + i,
                             "firmware header: the name has %s at byte %zu",
                             ended ? "text after its end" : "a byte that is not printable ASCII", i);
    }
    for (size_t i = OFF_RESERVED; i < OFF_HCRC; i++)
        if (raw[i])
            return lsws_fail(err, LSWS_ERR_MALFORMED, i, "firmware header: reserved byte %zu is not zero", i);
    return LSWS_OK;
}

int lsws_fw_header_parse(const uint8_t *in, size_t len, struct lsws_fw_header *h, struct lsws_error *err)
{
    memset(h, 0, sizeof *h);
    size_t m = len < 4 ? len : 4;
    if (m == 0 || memcmp(in, LSWS_FW_MAGIC, m) != 0) {
        if (m == 0)
            return lsws_fail(err, LSWS_ERR_TRUNCATED, 0, "firmware header: 0 of %d bytes (an empty file)",
                             LSWS_FW_HEADER_LEN);
        return lsws_fail(err, LSWS_ERR_MALFORMED, 0,
                         "not an lsws firmware image: it does not start with \"%s\"", LSWS_FW_MAGIC);
    }
    if (len < OFF_VERSION + 1)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "firmware header: %zu of %d bytes", len, LSWS_FW_HEADER_LEN);
    if (in[OFF_VERSION] != LSWS_FW_HEADER_VERSION)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, OFF_VERSION,
                         "firmware header version %u: this lsws reads version %d", in[OFF_VERSION],
                         LSWS_FW_HEADER_VERSION);
    if (len < LSWS_FW_HEADER_LEN)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len, "firmware header: %zu of %d bytes", len, LSWS_FW_HEADER_LEN);
    if (get16(in + OFF_HLEN) != LSWS_FW_HEADER_LEN)
        return lsws_fail(err, LSWS_ERR_MALFORMED, OFF_HLEN, "firmware header: length %u, version 1 has %d",
                         get16(in + OFF_HLEN), LSWS_FW_HEADER_LEN);
    uint32_t want = get32(in + OFF_HCRC), got = lsws_crc32(0, in, OFF_HCRC);
    if (want != got)
        return lsws_fail(err, LSWS_ERR_MALFORMED, OFF_HCRC,
                         "firmware header checksum is %08lx, the header says %08lx: the header is corrupt",
                         (unsigned long)got, (unsigned long)want);
    int rc = check_fields(in, err);
    if (rc != LSWS_OK)
        return rc;
    h->header_version = in[OFF_VERSION];
    h->model = (enum lsws_model_id)in[OFF_MODEL];
    h->hw_min = get_version(in + OFF_HW_MIN);
    h->hw_max = get_version(in + OFF_HW_MAX);
    h->fw = get_version(in + OFF_FW);
    h->payload_len = get32(in + OFF_LEN);
    h->crc32 = get32(in + OFF_CRC);
    memcpy(h->sha256, in + OFF_SHA, 32);
    h->build_time = get32(in + OFF_TIME);
    memcpy(h->name, in + OFF_NAME, LSWS_FW_NAME_LEN);
    h->name[LSWS_FW_NAME_LEN] = '\0';
    memcpy(h->raw, in, LSWS_FW_HEADER_LEN);
    return LSWS_OK;
}

int lsws_fw_header_encode(struct lsws_fw_header *h, struct lsws_error *err)
{
    uint8_t *raw = h->raw;
    size_t name = strnlen(h->name, sizeof h->name);
    if (name > LSWS_FW_NAME_LEN)
        return lsws_fail(err, LSWS_ERR_RANGE, OFF_NAME, "firmware name: at most %d characters", LSWS_FW_NAME_LEN);
    memset(raw, 0, LSWS_FW_HEADER_LEN);
    memcpy(raw + OFF_MAGIC, LSWS_FW_MAGIC, 4);
    raw[OFF_VERSION] = LSWS_FW_HEADER_VERSION;
    raw[OFF_MODEL] = (uint8_t)h->model;
    put16(raw + OFF_HLEN, LSWS_FW_HEADER_LEN);
    put_version(raw + OFF_HW_MIN, h->hw_min);
    put_version(raw + OFF_HW_MAX, h->hw_max);
    put_version(raw + OFF_FW, h->fw);
    put32(raw + OFF_LEN, h->payload_len);
    put32(raw + OFF_CRC, h->crc32);
    memcpy(raw + OFF_SHA, h->sha256, 32);
    put32(raw + OFF_TIME, h->build_time);
    memcpy(raw + OFF_NAME, h->name, name);
    if ((unsigned)h->model >= LSWS_MODEL_COUNT) /* before the byte cast hides it */
        return lsws_fail(err, LSWS_ERR_MODEL, OFF_MODEL, "firmware header: unknown model %d", (int)h->model);
    int rc = check_fields(raw, err);
    if (rc != LSWS_OK)
        return rc;
    put32(raw + OFF_HCRC, lsws_crc32(0, raw, OFF_HCRC));
    h->header_version = LSWS_FW_HEADER_VERSION;
    return LSWS_OK;
}

/* ---- checksums of the payload ---------------------------------------------------- */

struct lsws_fw_digest {
    EVP_MD_CTX *sha;
    uint32_t crc;
};

int lsws_fw_digest_new(struct lsws_fw_digest **out)
{
    struct lsws_fw_digest *d = calloc(1, sizeof *d);
    if (!d)
        return LSWS_ERR_NOMEM;
    d->sha = EVP_MD_CTX_new();
    if (!d->sha || EVP_DigestInit_ex(d->sha, EVP_sha256(), NULL) != 1) {
        lsws_fw_digest_free(d);
        return LSWS_ERR_NOMEM;
    }
    *out = d;
    return LSWS_OK;
}

void lsws_fw_digest_update(struct lsws_fw_digest *d, const uint8_t *p, size_t n)
{
    if (!n)
        return;
    d->crc = lsws_crc32(d->crc, p, n);
    EVP_DigestUpdate(d->sha, p, n);
}

int lsws_fw_digest_final(struct lsws_fw_digest *d, uint32_t *crc32_out, uint8_t sha256[32])
{
    unsigned n = 0;
    if (EVP_DigestFinal_ex(d->sha, sha256, &n) != 1 || n != 32)
        return LSWS_ERR_INVALID;
    *crc32_out = d->crc;
    return LSWS_OK;
}

void lsws_fw_digest_free(struct lsws_fw_digest *d)
{
    if (!d)
        return;
    EVP_MD_CTX_free(d->sha);
    free(d);
}

int lsws_fw_digest_check(const struct lsws_fw_header *h, uint32_t crc, const uint8_t sha256[32],
                         struct lsws_error *err)
{
    if (crc != h->crc32)
        return lsws_fail(err, LSWS_ERR_MALFORMED, LSWS_FW_HEADER_LEN,
                         "payload CRC-32 is %08lx, the header says %08lx: the image is corrupt",
                         (unsigned long)crc, (unsigned long)h->crc32);
    if (memcmp(sha256, h->sha256, 32) != 0) {
        char got[65], want[65];
        lsws_hex_format(sha256, 32, got);
        lsws_hex_format(h->sha256, 32, want);
        return lsws_fail(err, LSWS_ERR_MALFORMED, LSWS_FW_HEADER_LEN,
                         "payload SHA-256 is %.16s..., the header says %.16s...: the image is corrupt", got, want);
    }
    return LSWS_OK;
}

static int digest_of(const uint8_t *p, size_t n, uint32_t *crc, uint8_t sha[32], struct lsws_error *err)
{
    struct lsws_fw_digest *d;
    if (lsws_fw_digest_new(&d) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    lsws_fw_digest_update(d, p, n);
    int rc = lsws_fw_digest_final(d, crc, sha);
    lsws_fw_digest_free(d);
    return rc == LSWS_OK ? LSWS_OK : lsws_fail(err, rc, SIZE_MAX, "SHA-256 failed");
}

/* ---- whole images ---------------------------------------------------------------- */

int lsws_fw_image_check(const uint8_t *data, size_t len, struct lsws_fw_header *h, struct lsws_error *err)
{
    int rc = lsws_fw_header_parse(data, len, h, err);
    if (rc != LSWS_OK)
        return rc;
    size_t have = len - LSWS_FW_HEADER_LEN;
    if (have < h->payload_len)
        return lsws_fail(err, LSWS_ERR_TRUNCATED, len,
                         "the payload is %zu bytes, the header says %lu: the image is cut short", have,
                         (unsigned long)h->payload_len);
    if (have > h->payload_len)
        return lsws_fail(err, LSWS_ERR_MALFORMED, LSWS_FW_HEADER_LEN + (size_t)h->payload_len,
                         "%zu bytes follow the %lu-byte payload the header declares", have - h->payload_len,
                         (unsigned long)h->payload_len);
    uint32_t crc;
    uint8_t sha[32];
    if ((rc = digest_of(data + LSWS_FW_HEADER_LEN, have, &crc, sha, err)) != LSWS_OK)
        return rc;
    return lsws_fw_digest_check(h, crc, sha, err);
}

int lsws_fw_image_build(struct lsws_fw_header *h, const uint8_t *payload, size_t len, uint8_t **out, size_t *olen,
                        struct lsws_error *err)
{
    if (len == 0 || len > LSWS_FW_PAYLOAD_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "a firmware payload has 1 to %u bytes, not %zu",
                         LSWS_FW_PAYLOAD_MAX, len);
    h->payload_len = (uint32_t)len;
    int rc = digest_of(payload, len, &h->crc32, h->sha256, err);
    if (rc != LSWS_OK || (rc = lsws_fw_header_encode(h, err)) != LSWS_OK)
        return rc;
    uint8_t *img = malloc(LSWS_FW_HEADER_LEN + len);
    if (!img)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    memcpy(img, h->raw, LSWS_FW_HEADER_LEN);
    memcpy(img + LSWS_FW_HEADER_LEN, payload, len);
    *out = img;
    *olen = LSWS_FW_HEADER_LEN + len;
    return LSWS_OK;
}

/* ---- FW_BEGIN: the image described to the unit --------------------------------------- */

void lsws_fw_begin_encode(const struct lsws_fw_header *h, unsigned flags, uint8_t out[LSWS_FW_BEGIN_LEN])
{
    out[0] = (uint8_t)flags;
    out[1] = (uint8_t)h->model;
    put_version(out + 2, h->hw_min);
    put_version(out + 4, h->hw_max);
    put_version(out + 6, h->fw);
    put32(out + 8, h->payload_len);
    put32(out + 12, h->crc32);
    memcpy(out + 16, h->sha256, 32);
}

int lsws_fw_begin_decode(const uint8_t *in, size_t len, struct lsws_fw_header *h, unsigned *flags,
                         struct lsws_error *err)
{
    memset(h, 0, sizeof *h);
    if (len != LSWS_FW_BEGIN_LEN)
        return lsws_fail(err, len < LSWS_FW_BEGIN_LEN ? LSWS_ERR_TRUNCATED : LSWS_ERR_MALFORMED,
                         len < LSWS_FW_BEGIN_LEN ? len : LSWS_FW_BEGIN_LEN,
                         "fw-begin: %zu bytes, it has %d", len, LSWS_FW_BEGIN_LEN);
    if (in[0] & ~LSWS_FW_BEGIN_FORCE)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, 0, "fw-begin: unknown flags 0x%02x", in[0]);
    if (in[1] >= LSWS_MODEL_COUNT)
        return lsws_fail(err, LSWS_ERR_MODEL, 1, "fw-begin: unknown model %u", in[1]);
    h->model = (enum lsws_model_id)in[1];
    h->hw_min = get_version(in + 2);
    h->hw_max = get_version(in + 4);
    h->fw = get_version(in + 6);
    h->payload_len = get32(in + 8);
    h->crc32 = get32(in + 12);
    memcpy(h->sha256, in + 16, 32);
    if (h->hw_min > h->hw_max)
        return lsws_fail(err, LSWS_ERR_MALFORMED, 2, "fw-begin: lowest hardware version above the highest");
    if (h->payload_len == 0 || h->payload_len > LSWS_FW_PAYLOAD_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, 8, "fw-begin: payload length %lu is not from 1 to %u bytes",
                         (unsigned long)h->payload_len, LSWS_FW_PAYLOAD_MAX);
    h->header_version = LSWS_FW_HEADER_VERSION;
    *flags = in[0];
    return LSWS_OK;
}

/* ---- versions and compatibility ------------------------------------------------------ */

int lsws_version_parse(const char *text, int hardware, uint16_t *out, struct lsws_error *err)
{
    const char *p = text;
    unsigned major = 0, minor = 0, nd = 0;
    if (*p == 'v' || *p == 'V')
        p++;
    for (; *p >= '0' && *p <= '9' && nd < 4; p++, nd++)
        major = major * 10 + (unsigned)(*p - '0');
    if (!nd || *p != '.' || major > 255)
        goto bad;
    p++;
    for (nd = 0; *p >= '0' && *p <= '9' && nd < 3; p++, nd++)
        minor = minor * 10 + (unsigned)(*p - '0');
    if (!nd || *p || minor > (hardware ? 15u : 99u))
        goto bad;
    /* Firmware: 1.14 is the byte 0x14; hardware: 1.2 is the high nibble 0x20. */
    *out = (uint16_t)(major << 8 | (hardware ? minor << 4 : (minor / 10) << 4 | minor % 10));
    return LSWS_OK;
bad:
    return lsws_fail(err, LSWS_ERR_SYNTAX, (size_t)(p - text),
                     "'%s' is not a %s version such as %s (major 0-255, minor %s)", text,
                     hardware ? "hardware" : "firmware", hardware ? "v1.2" : "v1.14", hardware ? "0-15" : "0-99");
}

static void hw_range(const struct lsws_fw_header *h, char *buf, size_t n)
{
    char a[12], b[12];
    lsws_version_format(h->hw_min, 1, a, sizeof a);
    lsws_version_format(h->hw_max, 1, b, sizeof b);
    if (h->hw_min == h->hw_max)
        snprintf(buf, n, "%s", a);
    else
        snprintf(buf, n, "%s to %s", a, b);
}

int lsws_fw_check_unit(const struct lsws_fw_header *h, enum lsws_model_id model, uint16_t hw, uint16_t fw,
                       unsigned flags, enum lsws_fw_refusal *why, struct lsws_error *err)
{
    const struct lsws_model *im = lsws_model_get(h->model), *um = lsws_model_get(model);
    char have[16], want[40], run[16], img[16];
    enum lsws_fw_refusal dummy;
    if (!why)
        why = &dummy;
    *why = LSWS_FW_OK;
    if (!im || !um || h->model != model) {
        *why = LSWS_FW_WRONG_MODEL;
        return lsws_fail(err, LSWS_ERR_MODEL, 5, "the image is built for a %s, and the unit is a %s",
                         im ? im->name : "unknown model", um ? um->name : "unknown model");
    }
    if (hw < h->hw_min || hw > h->hw_max) {
        lsws_version_format(hw, 1, have, sizeof have);
        hw_range(h, want, sizeof want);
        *why = LSWS_FW_WRONG_HARDWARE;
        return lsws_fail(err, LSWS_ERR_MODEL, 8, "the image is built for %s hardware %s, and the unit has hardware %s",
                         im->name, want, have);
    }
    if (fw >= h->fw && !(flags & LSWS_FW_FORCE)) {
        lsws_version_format(fw, 0, run, sizeof run);
        lsws_version_format(h->fw, 0, img, sizeof img);
        *why = fw == h->fw ? LSWS_FW_SAME : LSWS_FW_DOWNGRADE;
        if (fw == h->fw)
            return lsws_fail(err, LSWS_ERR_INVALID, 12, "the image holds firmware %s, which the unit already runs", img);
        return lsws_fail(err, LSWS_ERR_INVALID, 12, "the image holds firmware %s, older than the %s the unit runs", img,
                         run);
    }
    return LSWS_OK;
}
