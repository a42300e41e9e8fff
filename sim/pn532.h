/* The simulator's NFC side: a PN532 reader chip, as seen by its host over
 * a UART (NXP PN532 user manual, "Host controller communication protocol"
 * and "Commands"), with the simulated WS523 as an ISO 14443-4A card in its
 * field (docs/nfc.md). libnfc's pn532_uart driver runs unmodified against
 * it on a pseudo-terminal (lsws-sim --nfc).
 *
 * Three layers: the frame codec (both directions, pure and bounded), the
 * chip (pure: a host frame in, the frame to answer and when, out) and the
 * serving loop on a pty (sim/nfc_pty.c: pacing, timers, signals). */
#ifndef LSWS_SIM_PN532_H
#define LSWS_SIM_PN532_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

/* ---- frames -------------------------------------------------------------- */

#define LSWS_PN532_TFI_HOST 0xd4 /* host to PN532 */
#define LSWS_PN532_TFI_CHIP 0xd5 /* PN532 to host */
#define LSWS_PN532_TFI_ERROR 0x7f
/* TFI plus data of one information frame, at most (an extended frame's LEN;
 * the PN532's 262-byte data buffer plus command and target bytes). */
#define LSWS_PN532_LEN_MAX 265
/* A whole frame: preamble, start code, extended length, TFI + data, DCS, postamble. */
#define LSWS_PN532_FRAME_MAX (LSWS_PN532_LEN_MAX + 10)

extern const uint8_t lsws_pn532_ack[6];   /* 00 00 ff 00 ff 00 */
extern const uint8_t lsws_pn532_nack[6];  /* 00 00 ff ff 00 00 */
extern const uint8_t lsws_pn532_error[8]; /* 00 00 ff 01 ff 7f 81 00: application-level error */

enum lsws_pn532_kind {
    LSWS_PN532_ACK = 1,
    LSWS_PN532_NACK = 2,
    LSWS_PN532_INFO = 3,  /* normal or extended information frame */
    LSWS_PN532_ERROR = 4, /* the application-level error frame */
};
struct lsws_pn532_frame {
    int kind;
    int extended;
    uint8_t tfi;
    const uint8_t *data; /* after the TFI: command code and parameters; into the deframer */
    size_t len;
};
struct lsws_pn532_deframer {
    int state;
    uint8_t len_byte, xlen[3];
    size_t xgot, want, got;
    uint8_t buf[LSWS_PN532_LEN_MAX];
};
void lsws_pn532_deframer_init(struct lsws_pn532_deframer *d);
/* Consumes bytes until a frame ends: 1 with *f set (valid until the next
 * call), a negative LSWS_ERR_* with err for a frame dropped (checksum,
 * length), or 0 when all of in was used. Bytes outside frames (the wake-up
 * preamble, postambles, noise) are skipped. *used says how many bytes were
 * consumed; call again with the rest. */
int lsws_pn532_feed(struct lsws_pn532_deframer *d, const uint8_t *in, size_t len, size_t *used,
                    struct lsws_pn532_frame *f, struct lsws_error *err);
/* An information frame with TFI tfi around data (command code + parameters):
 * normal up to 254 data bytes, extended above, up to LSWS_PN532_LEN_MAX - 1. */
int lsws_pn532_encode(uint8_t tfi, const uint8_t *data, size_t len, uint8_t *out, size_t cap, size_t *olen);

/* ---- the chip, with a card in its field ----------------------------------- */

enum lsws_nfc_card_kind {
    LSWS_NFC_CARD_WS523 = 0,      /* the simulated WS523 with the lsws application */
    LSWS_NFC_CARD_ISO14443_4 = 1, /* another ISO 14443-4 card: no lsws application */
    LSWS_NFC_CARD_MIFARE = 2,     /* a MIFARE Classic 1K: not ISO 14443-4 */
};
/* "ws523", "iso14443-4", "mifare"; -1 if unknown. */
int lsws_nfc_card_kind_by_name(const char *name);

struct lsws_sim_nfc_opts {
    /* Message faults, applied by lsws_sim_serve as on every transport (drop,
     * corrupt, delay, refuse; latency_ms before every message's answer).
     * link_bps paces the host UART (11520 for 115200 baud 8N1);
     * disconnect_after unplugs the reader after that many bytes sent. */
    struct lsws_sim_faults faults;
    int card;              /* enum lsws_nfc_card_kind */
    int away;              /* the card starts outside the field */
    unsigned leaves_after; /* APDU count: the card leaves the field after answering this one */
    unsigned leaves_during; /* APDU count: the card leaves while answering it (the device acted) */
    unsigned returns_ms;   /* the card comes back this long after it left (0: never) */
    unsigned stall_after;  /* APDU count: after this one the reader answers nothing at all */
    unsigned air_bps;      /* bit rate on air (106000 for ISO 14443A at 106 kbit/s); 0: no air time */
    unsigned max_msg;      /* announced at SELECT; 0: LSWS_MSG_MAX */
    unsigned fragment;     /* announced at SELECT; 0: LSWS_APDU_FRAGMENT_MAX */
    int once;              /* return when the first client closes the port */
    int verbose;           /* log commands, APDUs, card events to stderr */
    volatile sig_atomic_t *stop;   /* set to stop serving; may be NULL */
    volatile sig_atomic_t *toggle; /* set (SIGUSR1) to take the card away or put it back; may be NULL */
    /* A sequence of units tapped one after another (--taps): the card in the
     * field is units[taps[0]] at the start (the sim given to the chip must
     * be that one), and each time the card comes back it is the next tap's
     * unit; after the last tap no card comes back. n_taps 0: one unit. */
    struct lsws_sim *const *units;
    const unsigned *taps;
    size_t n_taps;
};

struct lsws_pn532;
/* A PN532 with the card of o in its field; sim answers the WS523's
 * messages (not owned). *out is freed with lsws_pn532_free. */
int lsws_pn532_new(struct lsws_sim *sim, const struct lsws_sim_nfc_opts *o, struct lsws_pn532 **out,
                   struct lsws_error *err);
void lsws_pn532_free(struct lsws_pn532 *p);

/* What the chip does about one host frame. */
struct lsws_pn532_reply {
    int ack;          /* send an ACK frame first */
    int answer;       /* send frame[0..len) (an information or error frame) */
    int wait_card;    /* answer later, when a card enters the field (lsws_pn532_tick) */
    unsigned delay_us; /* the answer leaves this long after the command arrived */
    uint8_t frame[LSWS_PN532_FRAME_MAX];
    size_t len;
};
/* Handles an information frame from the host (ACK and NACK are the serving
 * loop's). Never fails: a bad command gets the error frame. */
void lsws_pn532_command(struct lsws_pn532 *p, const struct lsws_pn532_frame *f, uint64_t now_ms,
                        struct lsws_pn532_reply *r);
/* Time passes (and SIGUSR1 taps): the card comes back, or goes. Returns 1
 * with r filled when a command waiting for a card can now be answered. */
int lsws_pn532_tick(struct lsws_pn532 *p, uint64_t now_ms, int toggle, int waiting, struct lsws_pn532_reply *r);
/* The host closed the port: the field goes off, the card's session ends. */
void lsws_pn532_host_gone(struct lsws_pn532 *p);
/* 1 once the reader stalled (stall_after): it answers nothing any more. */
int lsws_pn532_stalled(const struct lsws_pn532 *p);
/* The next card event's time in ms (a card coming back), or 0. */
uint64_t lsws_pn532_next_event(const struct lsws_pn532 *p);
/* Counters for -v and tests. */
struct lsws_pn532_stats {
    unsigned long commands, apdus, messages, aborted;
};
void lsws_pn532_stats(const struct lsws_pn532 *p, struct lsws_pn532_stats *st);

/* Serves the chip on the pty master *master until *stop (or the first
 * client leaves, with once; or disconnect_after). LSWS_OK or LSWS_ERR_IO. */
int lsws_sim_nfc_serve(struct lsws_sim *sim, int *master, const struct lsws_sim_nfc_opts *o, struct lsws_error *err);

#endif
