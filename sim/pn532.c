/* The PN532 emulator's frame codec and chip (sim/pn532.h). Written from
 * the PN532 user manual's host protocol and checked against what libnfc
 * 1.8's pn532_uart driver and pn53x chip code send and expect
 * (docs/nfc.md lists the commands and what each answers).
 *
 * The chip is pure: a host command goes in, the frame to answer and how
 * long after comes out, and the card's events happen on the APDU count or
 * on the clock the caller passes. The WS523 card is struct lsws_nfc_card
 * (lib/frame_nfc.c) in front of the simulated device (lsws_sim_serve, the
 * same faults as on every transport). */
#include "pn532.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const uint8_t lsws_pn532_ack[6] = {0x00, 0x00, 0xff, 0x00, 0xff, 0x00};
const uint8_t lsws_pn532_nack[6] = {0x00, 0x00, 0xff, 0xff, 0x00, 0x00};
const uint8_t lsws_pn532_error[8] = {0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00};

/* ---- frames -------------------------------------------------------------- */

enum { S_SYNC0, S_SYNC1, S_LEN, S_LCS, S_XLEN, S_BODY, S_DCS };

void lsws_pn532_deframer_init(struct lsws_pn532_deframer *d)
{
    memset(d, 0, sizeof *d);
    d->state = S_SYNC0;
}

int lsws_pn532_feed(struct lsws_pn532_deframer *d, const uint8_t *in, size_t len, size_t *used,
                    struct lsws_pn532_frame *f, struct lsws_error *err)
{
    size_t i = 0;
    memset(f, 0, sizeof *f);
    while (i < len) {
        uint8_t b = in[i++];
        switch (d->state) {
        case S_SYNC0: /* preamble bytes, wake-up bytes, postambles: look for 00 ff */
            if (b == 0x00)
                d->state = S_SYNC1;
            break;
        case S_SYNC1:
            d->state = b == 0xff ? S_LEN : b == 0x00 ? S_SYNC1 : S_SYNC0;
            break;
        case S_LEN:
            d->len_byte = b;
            d->state = S_LCS;
            break;
        case S_LCS:
            d->state = S_SYNC0;
            if (d->len_byte == 0x00 && b == 0xff) {
                f->kind = LSWS_PN532_ACK;
                *used = i;
                return 1;
            }
            if (d->len_byte == 0xff && b == 0x00) {
                f->kind = LSWS_PN532_NACK;
                *used = i;
                return 1;
            }
            if (d->len_byte == 0xff && b == 0xff) {
                d->xgot = 0;
                d->state = S_XLEN;
                break;
            }
            if ((uint8_t)(d->len_byte + b) != 0 || d->len_byte == 0) {
                *used = i;
                return lsws_fail(err, LSWS_ERR_MALFORMED, i, "PN532 frame: length %02x with checksum %02x",
                                 d->len_byte, b);
            }
            d->want = d->len_byte;
            d->got = 0;
            d->state = S_BODY;
            break;
        case S_XLEN:
            d->xlen[d->xgot++] = b;
            if (d->xgot < 3)
                break;
            d->state = S_SYNC0;
            d->want = (size_t)d->xlen[0] << 8 | d->xlen[1];
            if ((uint8_t)(d->xlen[0] + d->xlen[1] + d->xlen[2]) != 0) {
                *used = i;
                return lsws_fail(err, LSWS_ERR_MALFORMED, i, "PN532 extended frame: length %04zx with checksum %02x",
                                 d->want, d->xlen[2]);
            }
            if (d->want == 0 || d->want > LSWS_PN532_LEN_MAX) {
                *used = i;
                return lsws_fail(err, LSWS_ERR_RANGE, i, "PN532 extended frame of %zu bytes (1 to %d)", d->want,
                                 LSWS_PN532_LEN_MAX);
            }
            d->got = 0;
            d->state = S_BODY;
            break;
        case S_BODY: {
            d->buf[d->got++] = b;
            /* take the rest of the body at once */
            size_t take = d->want - d->got < len - i ? d->want - d->got : len - i;
            memcpy(d->buf + d->got, in + i, take);
            d->got += take;
            i += take;
            if (d->got == d->want)
                d->state = S_DCS;
            break;
        }
        case S_DCS: {
            d->state = S_SYNC0;
            uint8_t sum = b;
            for (size_t k = 0; k < d->want; k++)
                sum = (uint8_t)(sum + d->buf[k]);
            *used = i;
            if (sum != 0)
                return lsws_fail(err, LSWS_ERR_MALFORMED, i, "PN532 frame of %zu bytes: data checksum %02x is wrong",
                                 d->want, b);
            f->tfi = d->buf[0];
            f->kind = d->want == 1 && f->tfi == LSWS_PN532_TFI_ERROR ? LSWS_PN532_ERROR : LSWS_PN532_INFO;
            f->extended = d->len_byte == 0xff;
            f->data = d->buf + 1;
            f->len = d->want - 1;
            return 1;
        }
        }
    }
    *used = i;
    return 0;
}

int lsws_pn532_encode(uint8_t tfi, const uint8_t *data, size_t len, uint8_t *out, size_t cap, size_t *olen)
{
    size_t n = len + 1; /* TFI + data */
    if (n > LSWS_PN532_LEN_MAX)
        return LSWS_ERR_RANGE;
    size_t head = n <= 255 ? 5 : 8, total = head + n + 2;
    if (cap < total)
        return LSWS_ERR_RANGE;
    out[0] = 0x00;
    out[1] = 0x00;
    out[2] = 0xff;
    if (n <= 255) {
        out[3] = (uint8_t)n;
        out[4] = (uint8_t)(0x100 - n);
    } else {
        out[3] = 0xff;
        out[4] = 0xff;
        out[5] = (uint8_t)(n >> 8);
        out[6] = (uint8_t)n;
        out[7] = (uint8_t)(0x100 - ((out[5] + out[6]) & 0xff));
    }
    out[head] = tfi;
    if (len)
        memcpy(out + head + 1, data, len);
    uint8_t sum = tfi;
    for (size_t k = 0; k < len; k++)
        sum = (uint8_t)(sum + data[k]);
    out[head + n] = (uint8_t)(0x100 - sum);
    out[head + n + 1] = 0x00;
    *olen = total;
    return LSWS_OK;
}

/* ---- the chip ---------------------------------------------------------------- */

/* Commands (PN532 user manual, table of commands) and chip status bytes. */
enum {
    CMD_DIAGNOSE = 0x00,
    CMD_GET_FIRMWARE_VERSION = 0x02,
    CMD_GET_GENERAL_STATUS = 0x04,
    CMD_READ_REGISTER = 0x06,
    CMD_WRITE_REGISTER = 0x08,
    CMD_READ_GPIO = 0x0c,
    CMD_WRITE_GPIO = 0x0e,
    CMD_SET_SERIAL_BAUD_RATE = 0x10,
    CMD_SET_PARAMETERS = 0x12,
    CMD_SAM_CONFIGURATION = 0x14,
    CMD_POWER_DOWN = 0x16,
    CMD_RF_CONFIGURATION = 0x32,
    CMD_IN_DATA_EXCHANGE = 0x40,
    CMD_IN_COMMUNICATE_THRU = 0x42,
    CMD_IN_DESELECT = 0x44,
    CMD_IN_LIST_PASSIVE_TARGET = 0x4a,
    CMD_IN_RELEASE = 0x52,
    CMD_IN_SELECT = 0x54,
    CMD_IN_AUTO_POLL = 0x60,
};
enum {
    ST_OK = 0x00,
    ST_TIMEOUT = 0x01,  /* the target has not answered */
    ST_CRC = 0x02,      /* a CRC error on what the card sent */
    ST_BAD_PARAM = 0x10,
    ST_CONTEXT = 0x27,  /* not acceptable in the current context (no target) */
};
#define PARAM_AUTO_RATS 0x10 /* SetParameters: send RATS to ISO 14443-4 cards */
#define SAK_ISO14443_4 0x20

/* ISO 14443A at 106 kbit/s: 9 bits a byte on air (8 data, 1 parity); a
 * frame adds the ISO-DEP PCB and CRC_A (3 bytes), and each direction waits
 * a frame delay time of about 90 us. A card that does not answer is given
 * up after its frame waiting time (FWI 7 in the ATS: about 39 ms). */
#define AIR_FRAME_OVERHEAD 3
#define FDT_US 90
#define FWT_US 38700
/* Activation without an air rate (--air-kbps not given). */
#define ACTIVATION_US 2500

struct card_type {
    uint8_t atqa[2], sak;
    uint8_t uid_len;
    const uint8_t *ats; /* with its length byte TL first; NULL: none */
};

/* ATS of the WS523: TL 09, T0 78 (TA TB TC follow, FSCI 8: 256-byte
 * frames), TA 80 (106 kbit/s both ways), TB 71 (FWI 7, SFGI 1), TC 02 (CID
 * supported), historical bytes "LSWS". */
static const uint8_t ws523_ats[] = {0x09, 0x78, 0x80, 0x71, 0x02, 'L', 'S', 'W', 'S'};
static const uint8_t foreign_ats[] = {0x05, 0x78, 0x80, 0x70, 0x02};

struct lsws_pn532 {
    struct lsws_sim *sim;
    struct lsws_sim_nfc_opts o;
    struct card_type type;
    uint8_t uid[10];
    int present;         /* the card is in the field */
    int active;          /* the chip holds target 1: listed and not released by the host since */
    int card_on;         /* the card's side of that: activated and powered since (not when it left) */
    int iso_dep;         /* RATS was sent: it takes APDUs */
    int listed_once;     /* InSelect can re-activate it */
    int field;           /* RF field on */
    int stalled;
    uint64_t returns_at; /* 0: not coming back by itself */
    size_t tap;          /* --taps: the index of the unit in the field, or last there */
    uint8_t params;      /* SetParameters */
    uint8_t max_rty_passive;
    uint8_t regs[0x10000];
    unsigned long apdus, messages, commands, aborted;
    uint8_t wait_cmd, wait_par[LSWS_PN532_LEN_MAX]; /* a command waiting for a card */
    size_t wait_n;
    struct lsws_nfc_card card;
    uint8_t resp[LSWS_MSG_MAX];
};

#define say(p, ...) lsws_sim_log((p)->o.verbose, "nfc: ", __VA_ARGS__)

int lsws_nfc_card_kind_by_name(const char *name)
{
    static const char *const names[] = {"ws523", "iso14443-4", "mifare"};
    for (int i = 0; i < 3; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* The WS523's 7-byte UID: NXP's manufacturer byte 04 (the tag IC such a
 * socket uses) and six bytes of its serial number, so each unit has its own. */
static void ws523_uid(const struct lsws_sim *sim, uint8_t uid[7])
{
    struct lsws_device_info info;
    uint8_t sn[8] = {0};
    size_t n = 0;
    lsws_sim_info(sim, &info);
    if (lsws_hex_parse(info.sn, sn, sizeof sn, &n, NULL) != LSWS_OK)
        memset(sn, 0x5a, sizeof sn);
    uid[0] = 0x04;
    memcpy(uid + 1, sn + 2, 6);
}

int lsws_pn532_new(struct lsws_sim *sim, const struct lsws_sim_nfc_opts *o, struct lsws_pn532 **out,
                   struct lsws_error *err)
{
    struct lsws_pn532 *p = calloc(1, sizeof *p);
    if (!p)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    p->sim = sim;
    p->o = *o;
    switch (o->card) {
    case LSWS_NFC_CARD_WS523:
        p->type = (struct card_type){{0x00, 0x44}, SAK_ISO14443_4, 7, ws523_ats};
        ws523_uid(sim, p->uid);
        break;
    case LSWS_NFC_CARD_ISO14443_4:
        p->type = (struct card_type){{0x00, 0x04}, SAK_ISO14443_4, 4, foreign_ats};
        memcpy(p->uid, (const uint8_t[]){0x08, 0x3c, 0x91, 0x5e}, 4);
        break;
    case LSWS_NFC_CARD_MIFARE:
        p->type = (struct card_type){{0x00, 0x04}, 0x08, 4, NULL};
        memcpy(p->uid, (const uint8_t[]){0x5e, 0x3f, 0x11, 0xa0}, 4);
        break;
    default:
        free(p);
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "unknown card kind %d", o->card);
    }
    p->present = !o->away;
    if (o->away && o->returns_ms)
        p->returns_at = 1; /* resolved on the first tick: returns_ms after the start */
    p->max_rty_passive = 0xff;
    lsws_nfc_card_init(&p->card, o->max_msg ? o->max_msg : LSWS_MSG_MAX,
                       o->fragment ? o->fragment : LSWS_APDU_FRAGMENT_MAX);
    *out = p;
    return LSWS_OK;
}

void lsws_pn532_free(struct lsws_pn532 *p)
{
    free(p);
}

int lsws_pn532_stalled(const struct lsws_pn532 *p)
{
    return p->stalled;
}

uint64_t lsws_pn532_next_event(const struct lsws_pn532 *p)
{
    return p->present ? 0 : p->returns_at;
}

void lsws_pn532_stats(const struct lsws_pn532 *p, struct lsws_pn532_stats *st)
{
    st->commands = p->commands;
    st->apdus = p->apdus;
    st->messages = p->messages;
    st->aborted = p->aborted;
}

/* The card's session ends: deselected, released, field off, or gone. */
/* The card's session ends (it left, lost power, was released). */
static void card_off(struct lsws_pn532 *p)
{
    if (p->card_on)
        lsws_sim_disconnect(p->sim);
    p->card_on = 0;
    lsws_nfc_card_reset(&p->card);
}

/* The host releases the target (or the field goes off). */
static void deactivate(struct lsws_pn532 *p)
{
    card_off(p);
    p->active = 0;
    p->iso_dep = 0;
}

/* The card leaves the field on its own: the chip still holds the target
 * and will find it silent. */
static void card_leaves(struct lsws_pn532 *p, uint64_t now, const char *why)
{
    card_off(p);
    p->present = 0;
    p->returns_at = p->o.returns_ms ? now + p->o.returns_ms : 0;
    say(p, "the card left the field (%s)%s", why, p->returns_at ? "; it comes back later" : "");
}

/* The card comes back into the field: with a sequence of taps, the next
 * unit's card (its own UID), or none after the last. */
static void card_enters(struct lsws_pn532 *p, const char *why)
{
    if (p->o.n_taps) {
        if (p->tap + 1 >= p->o.n_taps) {
            p->tap = p->o.n_taps;
            say(p, "no more units to tap (%s)", why);
            return;
        }
        p->sim = p->o.units[p->o.taps[++p->tap]];
        ws523_uid(p->sim, p->uid);
        p->listed_once = 0;
        say(p, "unit %u (tap %zu) is in the field (%s)", p->o.taps[p->tap] + 1, p->tap + 1, why);
    } else {
        say(p, "the card is back in the field (%s)", why);
    }
    p->present = 1;
}

void lsws_pn532_host_gone(struct lsws_pn532 *p)
{
    deactivate(p);
    p->field = 0;
}

/* ---- answers ---- */

static void answer(struct lsws_pn532_reply *r, uint8_t cmd, const uint8_t *data, size_t len)
{
    uint8_t buf[LSWS_PN532_LEN_MAX];
    if (len > sizeof buf - 1)
        len = sizeof buf - 1;
    buf[0] = (uint8_t)(cmd + 1);
    if (len)
        memcpy(buf + 1, data, len);
    r->answer = lsws_pn532_encode(LSWS_PN532_TFI_CHIP, buf, len + 1, r->frame, sizeof r->frame, &r->len) == LSWS_OK;
}

static void answer_status(struct lsws_pn532_reply *r, uint8_t cmd, uint8_t status)
{
    answer(r, cmd, &status, 1);
}

/* Syntax error in a command: the application-level error frame. */
static void syntax_error(struct lsws_pn532 *p, struct lsws_pn532_reply *r, uint8_t cmd, const char *why)
{
    say(p, "command %02x: %s: error frame", cmd, why);
    memcpy(r->frame, lsws_pn532_error, sizeof lsws_pn532_error);
    r->len = sizeof lsws_pn532_error;
    r->answer = 1;
}

static unsigned air_us(const struct lsws_pn532 *p, size_t out, size_t in)
{
    if (!p->o.air_bps)
        return 0;
    double bits = (double)(out + in + 2 * AIR_FRAME_OVERHEAD) * 9;
    return (unsigned)(bits * 1e6 / p->o.air_bps) + 2 * FDT_US;
}

/* The activation of a type A card on air (ISO 14443-3 and -4), in bits
 * each way: 9 a byte, REQA a short frame of 7 bits. bench/bench_nfc.c
 * counts the same frames in its bound. */
static const struct {
    unsigned out, in;
} activation_frames[] = {
    {7, 2 * 9},     /* REQA / ATQA */
    {2 * 9, 5 * 9}, /* ANTICOLLISION of cascade level 1 / CT or UID0-3, BCC */
    {9 * 9, 3 * 9}, /* SELECT of level 1 (with CRC_A) / SAK, CRC_A */
    {2 * 9, 5 * 9}, /* the same for level 2: a 7-byte UID */
    {9 * 9, 3 * 9},
};
#define RATS_BITS (4 * 9) /* RATS with CRC_A; the ATS adds its TL bytes and CRC_A */

/* What the card's activation takes on air: one cascade level for a 4-byte
 * UID, two for 7 bytes, and RATS when it is sent; each exchange with its
 * frame delay time both ways, as in air_us. */
static unsigned activation_us(const struct lsws_pn532 *p)
{
    if (!p->o.air_bps)
        return ACTIVATION_US;
    size_t n = p->type.uid_len > 4 ? 5 : 3;
    double bits = 0;
    for (size_t i = 0; i < n; i++)
        bits += activation_frames[i].out + activation_frames[i].in;
    if (p->iso_dep) {
        bits += RATS_BITS + (p->type.ats[0] + 2u) * 9u;
        n++;
    }
    return (unsigned)(bits * 1e6 / p->o.air_bps) + (unsigned)n * 2 * FDT_US;
}

/* Target data of the card for InListPassiveTarget / InAutoPoll: Tg,
 * SENS_RES, SEL_RES, NFCID1 length and bytes, then the ATS when RATS is on. */
static size_t target_data(struct lsws_pn532 *p, uint8_t *out)
{
    size_t n = 0;
    out[n++] = 0x01; /* Tg */
    out[n++] = p->type.atqa[0];
    out[n++] = p->type.atqa[1];
    out[n++] = p->type.sak;
    out[n++] = p->type.uid_len;
    memcpy(out + n, p->uid, p->type.uid_len);
    n += p->type.uid_len;
    p->iso_dep = 0;
    if (p->type.ats && (p->params & PARAM_AUTO_RATS)) {
        memcpy(out + n, p->type.ats, p->type.ats[0]);
        n += p->type.ats[0];
        p->iso_dep = 1;
    }
    return n;
}

/* The card answers activation: a new session on the device. */
static void activate(struct lsws_pn532 *p)
{
    int iso_dep = p->iso_dep; /* target_data just decided it */
    deactivate(p);
    p->iso_dep = iso_dep;
    p->active = 1;
    p->card_on = 1;
    p->listed_once = 1;
    say(p, "card %s activated%s", p->o.card == LSWS_NFC_CARD_WS523 ? "ws523" : "(foreign)",
        p->iso_dep ? " (ISO 14443-4)" : "");
}

static int can_list(const struct lsws_pn532 *p)
{
    return p->present && p->field;
}

static void list_passive(struct lsws_pn532 *p, const uint8_t *d, size_t n, struct lsws_pn532_reply *r)
{
    if (n < 2 || d[0] < 1 || d[0] > 2)
        return syntax_error(p, r, CMD_IN_LIST_PASSIVE_TARGET, "bad MaxTg");
    uint8_t brty = d[1];
    int type_a = brty == 0x00;
    /* Initiator data for type A selects one UID (cascade tags removed). */
    int uid_ok = 1;
    if (type_a && n > 2) {
        uint8_t want[12];
        size_t w = 0;
        for (size_t i = 2; i < n && w < sizeof want; i++)
            if (!((i - 2) % 4 == 0 && d[i] == 0x88 && n - 2 > 4))
                want[w++] = d[i];
        uid_ok = w == p->type.uid_len && memcmp(want, p->uid, w) == 0;
    }
    if (type_a && can_list(p) && uid_ok) {
        uint8_t out[64];
        out[0] = 1; /* NbTg */
        size_t len = 1 + target_data(p, out + 1);
        activate(p);
        answer(r, CMD_IN_LIST_PASSIVE_TARGET, out, len);
        r->delay_us = activation_us(p);
        return;
    }
    if (type_a && !p->present && p->max_rty_passive == 0xff && p->field) {
        r->wait_card = 1; /* retries without end: answer when a card comes */
        p->wait_cmd = CMD_IN_LIST_PASSIVE_TARGET;
        memcpy(p->wait_par, d, n);
        p->wait_n = n;
        return;
    }
    deactivate(p);
    uint8_t none = 0;
    answer(r, CMD_IN_LIST_PASSIVE_TARGET, &none, 1);
    r->delay_us = 1000u * (p->max_rty_passive + 1u > 16 ? 16u : p->max_rty_passive + 1u);
}

/* One APDU (InDataExchange) to the card. */
static void data_exchange(struct lsws_pn532 *p, const uint8_t *d, size_t n, uint64_t now, struct lsws_pn532_reply *r)
{
    if (n < 1)
        return syntax_error(p, r, CMD_IN_DATA_EXCHANGE, "no target number");
    if ((d[0] & 0x3f) != 1 || (d[0] & 0xc0) || !p->active) {
        say(p, "InDataExchange to target %02x: no such target", d[0]);
        return answer_status(r, CMD_IN_DATA_EXCHANGE, ST_CONTEXT);
    }
    if (!p->present || !p->card_on || !p->iso_dep) {
        say(p, "InDataExchange: %s: timeout", !p->present ? "no card in the field" : !p->card_on
                                                  ? "the card is not activated" : "the card takes no APDUs");
        answer_status(r, CMD_IN_DATA_EXCHANGE, ST_TIMEOUT);
        r->delay_us = FWT_US;
        return;
    }
    unsigned long k = ++p->apdus;
    const uint8_t *apdu = d + 1;
    size_t alen = n - 1;
    uint8_t out[1 + LSWS_APDU_RESP_MAX];
    size_t olen = 0;
    unsigned extra_us = 0;
    int lost = 0, corrupted = 0;
    out[0] = ST_OK;
    if (p->o.card != LSWS_NFC_CARD_WS523) {
        /* Another card: it has no lsws application. */
        unsigned sw = alen >= 2 && apdu[1] == 0xa4 ? LSWS_SW_NOT_FOUND : LSWS_SW_INS;
        out[1] = (uint8_t)(sw >> 8);
        out[2] = (uint8_t)sw;
        olen = 2;
    } else {
        int what = lsws_nfc_card_feed(&p->card, apdu, alen, out + 1, sizeof out - 1, &olen);
        if (what == LSWS_CARD_SELECTED) {
            lsws_sim_disconnect(p->sim);
            say(p, "apdu %lu: SELECT lsws: a new session", k);
        } else if (what == LSWS_CARD_MESSAGE) {
            unsigned long m = ++p->messages;
            size_t rlen = 0;
            unsigned bits = lsws_sim_serve(p->sim, &p->o.faults, m, p->card.msg, p->card.len, p->resp, sizeof p->resp,
                                           &rlen, now);
            if ((bits & LSWS_SIM_DROPPED) || rlen == 0) {
                say(p, "apdu %lu: message %lu dropped (fault): the card does not answer", k, m);
                lost = 1;
            } else {
                say(p, "apdu %lu: message %lu: %s", k, m,
                    bits & LSWS_SIM_REFUSED ? "refused (fault)" : lsws_sim_note(p->sim));
                lsws_nfc_card_answer(&p->card, p->resp, rlen, out + 1, sizeof out - 1, &olen);
                corrupted = (bits & LSWS_SIM_CORRUPTED) != 0;
                if (corrupted)
                    say(p, "apdu %lu: the answer is corrupted on air (fault)", k);
                extra_us = p->o.faults.latency_ms * 1000u;
                if (bits & LSWS_SIM_DELAYED) {
                    extra_us += p->o.faults.delay_ms * 1000u;
                    say(p, "apdu %lu: the answer is delayed by %u ms (fault)", k, p->o.faults.delay_ms);
                }
            }
        } else if (olen >= 2) {
            say(p, "apdu %lu: %02x %02x p1 %02x p2 %02x -> sw %02x%02x", k, apdu[0], alen > 1 ? apdu[1] : 0,
                alen > 2 ? apdu[2] : 0, alen > 3 ? apdu[3] : 0, out[olen - 1], out[olen]);
        }
    }
    if (p->o.leaves_during && k == p->o.leaves_during) {
        card_leaves(p, now, "while answering");
        lost = 1;
    }
    if (lost) {
        answer_status(r, CMD_IN_DATA_EXCHANGE, ST_TIMEOUT);
        r->delay_us = air_us(p, alen, 0) + FWT_US + extra_us;
        return;
    }
    if (corrupted) {
        answer_status(r, CMD_IN_DATA_EXCHANGE, ST_CRC);
    } else {
        answer(r, CMD_IN_DATA_EXCHANGE, out, 1 + olen);
    }
    r->delay_us = air_us(p, alen, olen) + extra_us;
    if (p->o.leaves_after && k == p->o.leaves_after)
        card_leaves(p, now, "after answering");
}

/* InCommunicateThru: raw frames. The card answers an ISO-DEP R(NAK) (libnfc's
 * presence check) with an R(ACK); nothing answers anything else (type B,
 * FeliCa and barcode discovery find nothing). */
static void communicate_thru(struct lsws_pn532 *p, const uint8_t *d, size_t n, struct lsws_pn532_reply *r)
{
    if (p->active && p->present && p->card_on && p->iso_dep && n == 1 && (d[0] & 0xfe) == 0xb2) {
        uint8_t out[2] = {ST_OK, (uint8_t)(0xa2 | (d[0] & 1))};
        answer(r, CMD_IN_COMMUNICATE_THRU, out, sizeof out);
        r->delay_us = air_us(p, 1, 1);
        return;
    }
    answer_status(r, CMD_IN_COMMUNICATE_THRU, ST_TIMEOUT);
    r->delay_us = 1000;
}

static void auto_poll(struct lsws_pn532 *p, const uint8_t *d, size_t n, struct lsws_pn532_reply *r)
{
    if (n < 3 || d[1] < 1 || d[1] > 15)
        return syntax_error(p, r, CMD_IN_AUTO_POLL, "bad InAutoPoll parameters");
    int want4 = 0, want_mifare = 0;
    for (size_t i = 2; i < n; i++) {
        want4 |= d[i] == 0x20 || d[i] == 0x00;
        want_mifare |= d[i] == 0x10 || d[i] == 0x00;
    }
    int iso = p->type.ats != NULL;
    if (can_list(p) && ((iso && want4) || (!iso && want_mifare))) {
        uint8_t out[64];
        out[0] = 1;
        out[1] = iso ? 0x20 : 0x10;
        size_t t = target_data(p, out + 3);
        out[2] = (uint8_t)t;
        activate(p);
        answer(r, CMD_IN_AUTO_POLL, out, 3 + t);
        r->delay_us = activation_us(p);
        return;
    }
    if (d[0] == 0xff && !p->present) {
        r->wait_card = 1;
        p->wait_cmd = CMD_IN_AUTO_POLL;
        memcpy(p->wait_par, d, n);
        p->wait_n = n;
        return;
    }
    uint8_t none = 0;
    answer(r, CMD_IN_AUTO_POLL, &none, 1);
    r->delay_us = (unsigned)d[0] * d[1] * 150000u / (unsigned)(n - 2 ? n - 2 : 1);
    if (r->delay_us > 5000000u)
        r->delay_us = 5000000u;
}

void lsws_pn532_command(struct lsws_pn532 *p, const struct lsws_pn532_frame *f, uint64_t now,
                        struct lsws_pn532_reply *r)
{
    memset(r, 0, sizeof *r);
    if (p->stalled)
        return;
    if (f->kind != LSWS_PN532_INFO || f->tfi != LSWS_PN532_TFI_HOST || f->len < 1) {
        say(p, "frame with TFI %02x ignored", f->tfi);
        return; /* not a command: the chip sends nothing, not even an ACK */
    }
    uint8_t cmd = f->data[0];
    const uint8_t *d = f->data + 1;
    size_t n = f->len - 1;
    p->commands++;
    if (cmd == CMD_IN_DATA_EXCHANGE && p->o.stall_after && p->apdus >= p->o.stall_after) {
        p->stalled = 1;
        say(p, "the reader stops answering (stall after %u APDUs)", p->o.stall_after);
        return;
    }
    r->ack = 1;
    switch (cmd) {
    case CMD_DIAGNOSE:
        if (n < 1)
            return syntax_error(p, r, cmd, "no test number");
        switch (d[0]) {
        case 0x00: /* communication line test: echo */
            return answer(r, cmd, d, n);
        case 0x01: /* ROM test */
        case 0x02: /* RAM test */
        case 0x07: /* antenna test */
            return answer_status(r, cmd, ST_OK);
        case 0x06: /* card presence */
            return answer_status(r, cmd, p->active && p->present && p->card_on ? ST_OK : ST_TIMEOUT);
        default:
            return syntax_error(p, r, cmd, "unknown test");
        }
    case CMD_GET_FIRMWARE_VERSION: {
        static const uint8_t fw[] = {0x32, 0x01, 0x06, 0x07}; /* PN532, v1.6, ISO 14443A, 14443B, 18092 */
        return answer(r, cmd, fw, sizeof fw);
    }
    case CMD_GET_GENERAL_STATUS: {
        uint8_t out[8] = {0x00, (uint8_t)p->field, (uint8_t)(p->active ? 1 : 0)};
        size_t len = 3;
        if (p->active) {
            out[len++] = 0x01; /* Tg */
            out[len++] = 0x00; /* BrRx: 106 kbit/s */
            out[len++] = 0x00; /* BrTx */
            out[len++] = 0x00; /* type A */
        }
        out[len++] = 0x00; /* SAM status */
        return answer(r, cmd, out, len);
    }
    case CMD_READ_REGISTER: {
        if (n == 0 || n % 2 || n / 2 > LSWS_PN532_LEN_MAX - 2)
            return syntax_error(p, r, cmd, "bad register list");
        uint8_t out[LSWS_PN532_LEN_MAX];
        for (size_t i = 0; i < n / 2; i++)
            out[i] = p->regs[(unsigned)d[2 * i] << 8 | d[2 * i + 1]];
        return answer(r, cmd, out, n / 2);
    }
    case CMD_WRITE_REGISTER:
        if (n == 0 || n % 3)
            return syntax_error(p, r, cmd, "bad register list");
        for (size_t i = 0; i < n; i += 3)
            p->regs[(unsigned)d[i] << 8 | d[i + 1]] = d[i + 2];
        return answer(r, cmd, NULL, 0);
    case CMD_READ_GPIO: {
        static const uint8_t gpio[] = {0xbf, 0xff, 0x01};
        return answer(r, cmd, gpio, sizeof gpio);
    }
    case CMD_WRITE_GPIO:
    case CMD_SET_SERIAL_BAUD_RATE: /* a pty has no baud rate: acknowledged, changes nothing */
        if (n < 1)
            return syntax_error(p, r, cmd, "missing parameter");
        return answer(r, cmd, NULL, 0);
    case CMD_SET_PARAMETERS:
        if (n != 1)
            return syntax_error(p, r, cmd, "SetParameters takes one byte");
        p->params = d[0];
        return answer(r, cmd, NULL, 0);
    case CMD_SAM_CONFIGURATION:
        if (n < 1 || d[0] < 1 || d[0] > 4)
            return syntax_error(p, r, cmd, "bad SAM mode");
        return answer(r, cmd, NULL, 0);
    case CMD_POWER_DOWN:
        if (n < 1)
            return syntax_error(p, r, cmd, "no wake-up sources");
        lsws_pn532_host_gone(p); /* the field goes off with the chip */
        return answer_status(r, cmd, ST_OK);
    case CMD_RF_CONFIGURATION:
        if (n < 2)
            return syntax_error(p, r, cmd, "no configuration item");
        if (d[0] == 0x01) { /* RF field */
            p->field = d[1] & 1;
            if (!p->field)
                deactivate(p);
        } else if (d[0] == 0x05 && n >= 4) { /* MxRtyATR, MxRtyPSL, MxRtyPassiveActivation */
            p->max_rty_passive = d[3];
        }
        return answer(r, cmd, NULL, 0);
    case CMD_IN_LIST_PASSIVE_TARGET:
        return list_passive(p, d, n, r);
    case CMD_IN_DATA_EXCHANGE:
        return data_exchange(p, d, n, now, r);
    case CMD_IN_COMMUNICATE_THRU:
        return communicate_thru(p, d, n, r);
    case CMD_IN_DESELECT:
    case CMD_IN_RELEASE:
        if (n < 1)
            return syntax_error(p, r, cmd, "no target number");
        deactivate(p);
        return answer_status(r, cmd, ST_OK);
    case CMD_IN_SELECT:
        if (n < 1)
            return syntax_error(p, r, cmd, "no target number");
        if (d[0] != 1 || !p->listed_once || !can_list(p))
            return answer_status(r, cmd, ST_CONTEXT);
        {
            uint8_t scratch[64];
            target_data(p, scratch);
        }
        activate(p);
        return answer_status(r, cmd, ST_OK);
    case CMD_IN_AUTO_POLL:
        return auto_poll(p, d, n, r);
    default:
        return syntax_error(p, r, cmd, "command not emulated");
    }
}

int lsws_pn532_tick(struct lsws_pn532 *p, uint64_t now, int toggle, int waiting, struct lsws_pn532_reply *r)
{
    if (p->returns_at == 1)
        p->returns_at = now + p->o.returns_ms;
    if (toggle) {
        if (p->present) {
            card_leaves(p, now, "SIGUSR1");
            p->returns_at = 0;
        } else {
            card_enters(p, "SIGUSR1");
        }
    }
    if (!p->present && p->returns_at && now >= p->returns_at) {
        p->returns_at = 0;
        card_enters(p, "it came back");
    }
    if (!waiting || !can_list(p))
        return 0;
    /* A command that waited for a card (InListPassiveTarget or InAutoPoll
     * without end): the card is there now, so it gets its answer. */
    uint8_t par[LSWS_PN532_LEN_MAX];
    size_t n = p->wait_n;
    memcpy(par, p->wait_par, n);
    memset(r, 0, sizeof *r);
    if (p->wait_cmd == CMD_IN_AUTO_POLL)
        auto_poll(p, par, n, r);
    else
        list_passive(p, par, n, r);
    return r->answer;
}
