/* libFuzzer target for the PN532 emulator (sim/pn532.c): arbitrary bytes
 * from the host, fed in arbitrary chunks to the frame parser, and every
 * frame it accepts handed to the chip with the simulated WS523 in its
 * field. Properties, any break aborts:
 *  - the parser consumes within its input, at least one byte per result,
 *    and an information frame has 0..LSWS_PN532_LEN_MAX-1 data bytes;
 *  - the results do not depend on the chunking;
 *  - re-encoded, an accepted frame parses alone to the same frame;
 *  - whatever the chip answers is one frame that the same parser accepts
 *    as the chip's (TFI d5, the command code plus one) or the error frame.
 * The first byte chooses the chunk size and the card; the rest is the stream.
 *
 *   fuzz_pn532 -max_total_time=60 fuzz/seeds/pn532
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pn532.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct digest {
    uint64_t hash;
    unsigned frames, bad;
};

static void mix(struct digest *g, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g->hash ^= p[i];
        g->hash *= 0x100000001b3ull;
    }
}

static void check_reencode(const struct lsws_pn532_frame *f)
{
    uint8_t out[LSWS_PN532_FRAME_MAX], copy[LSWS_PN532_LEN_MAX];
    size_t n = 0, used = 0;
    memcpy(copy, f->data, f->len);
    if (lsws_pn532_encode(f->tfi, copy, f->len, out, sizeof out, &n) != LSWS_OK)
        abort();
    struct lsws_pn532_deframer d;
    struct lsws_pn532_frame g;
    lsws_pn532_deframer_init(&d);
    /* the postamble is left: outside frames, the next call skips it */
    if (lsws_pn532_feed(&d, out, n, &used, &g, NULL) != 1 || used + 1 != n || g.tfi != f->tfi || g.len != f->len ||
        memcmp(g.data, copy, f->len) != 0)
        abort();
}

static void check_answer(const struct lsws_pn532_reply *r, uint8_t cmd)
{
    if (!r->answer)
        return;
    if (r->len > LSWS_PN532_FRAME_MAX)
        abort();
    struct lsws_pn532_deframer d;
    struct lsws_pn532_frame g;
    size_t used = 0;
    lsws_pn532_deframer_init(&d);
    if (lsws_pn532_feed(&d, r->frame, r->len, &used, &g, NULL) != 1 || used + 1 < r->len)
        abort();
    if (g.kind == LSWS_PN532_ERROR)
        return;
    if (g.kind != LSWS_PN532_INFO || g.tfi != LSWS_PN532_TFI_CHIP || g.len < 1 || g.data[0] != (uint8_t)(cmd + 1) ||
        (cmd == 0x40 && g.len >= 2 && (g.data[1] & 0x80)))
        abort(); /* bit 7 of InDataExchange's status: libnfc abort()s on it */
}

static struct digest run(const uint8_t *in, size_t len, size_t chunk, int card, int with_chip)
{
    struct digest g = {0xcbf29ce484222325ull, 0, 0};
    struct lsws_pn532_deframer d;
    struct lsws_sim *sim = NULL;
    struct lsws_pn532 *chip = NULL;
    lsws_pn532_deframer_init(&d);
    if (with_chip) {
        struct lsws_sim_opts so = {.model = LSWS_MODEL_WS523};
        struct lsws_sim_nfc_opts o = {.card = card, .leaves_after = 40, .returns_ms = 5, .stall_after = 200};
        if (lsws_sim_new(&so, &sim, NULL) != LSWS_OK || lsws_pn532_new(sim, &o, &chip, NULL) != LSWS_OK)
            abort();
    }
    uint64_t now = 1000;
    for (size_t pos = 0; pos < len;) {
        size_t take = len - pos < chunk ? len - pos : chunk, off = 0;
        while (off < take) {
            struct lsws_pn532_frame f;
            size_t used = 0;
            int rc = lsws_pn532_feed(&d, in + pos + off, take - off, &used, &f, NULL);
            if (used > take - off)
                abort();
            off += used;
            if (rc == 0) {
                if (off != take)
                    abort();
                break;
            }
            if (used == 0)
                abort();
            if (rc < 0) {
                g.bad++;
                continue;
            }
            g.frames++;
            uint8_t k = (uint8_t)f.kind;
            mix(&g, &k, 1);
            if (f.kind != LSWS_PN532_INFO && f.kind != LSWS_PN532_ERROR)
                continue;
            if (f.len >= LSWS_PN532_LEN_MAX)
                abort();
            mix(&g, &f.tfi, 1);
            mix(&g, f.data, f.len);
            check_reencode(&f);
            if (chip) {
                struct lsws_pn532_reply r;
                uint8_t cmd = f.len ? f.data[0] : 0;
                lsws_pn532_command(chip, &f, now, &r);
                check_answer(&r, cmd);
                now += 7;
                if (lsws_pn532_tick(chip, now, (int)(now % 13 == 0), r.wait_card, &r))
                    check_answer(&r, 0x4a);
            }
        }
        pos += take;
    }
    lsws_pn532_free(chip);
    lsws_sim_free(sim);
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] & 0x3f) + 1;
    int card = (data[0] >> 6) % 3;
    struct digest a = run(data + 1, size - 1, chunk, card, 1);
    struct digest b = run(data + 1, size - 1, size, card, 0);
    if (a.hash != b.hash || a.frames != b.frames || a.bad != b.bad)
        abort();
    return 0;
}
