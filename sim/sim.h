/* The device simulator: WS523 and CTH01 firmware behaviour as the guides
 * describe it, behind the lsws configuration protocol (docs/protocol.md).
 * Used by lsws-sim (served on a pseudo-terminal) and by the in-process
 * `sim:` transport. */
#ifndef LSWS_SIM_H
#define LSWS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "lsws.h"

/* Faults, counted over the request frames the simulator receives (1-based).
 * Each list holds up to 8 frame numbers; 0 ends it. */
#define LSWS_SIM_FAULTS 8
struct lsws_sim_faults {
    unsigned drop[LSWS_SIM_FAULTS];    /* ignore the request: no response */
    unsigned corrupt[LSWS_SIM_FAULTS]; /* respond with one byte of the frame flipped */
    unsigned delay[LSWS_SIM_FAULTS];   /* respond after delay_ms */
    unsigned delay_ms;
    unsigned refuse[LSWS_SIM_FAULTS];  /* respond with status refuse_status instead */
    int refuse_status;
    unsigned long disconnect_after;    /* close the link after this many bytes sent; 0 = never */
    unsigned link_bps;                 /* bytes per second on the wire; 0 = unlimited */
    unsigned latency_ms;               /* added to every response */
};

struct lsws_sim_opts {
    enum lsws_model_id model;
    const char *band;       /* factory band; NULL: EU868 */
    const char *sn;         /* 16 hex digits; NULL: derived from the model */
    const char *state_path; /* JSON state file (mode 0600); NULL: state in memory only */
};

struct lsws_sim;

/* Creates a simulated device: loads state_path if it exists, else factory
 * state (and writes it). *out is freed with lsws_sim_free. */
int lsws_sim_new(const struct lsws_sim_opts *opts, struct lsws_sim **out, struct lsws_error *err);
void lsws_sim_free(struct lsws_sim *sim);

/* Handles one request message at time now_ms (a monotonic clock in ms, for
 * the idle timeout and rate limiting). Writes the response message to resp
 * and its length to *rlen (0: no response). Never fails on bad input: a bad
 * request gets a BAD_REQUEST response. */
void lsws_sim_handle(struct lsws_sim *sim, const uint8_t *req, size_t len, uint8_t *resp,
                     size_t cap, size_t *rlen, uint64_t now_ms);

/* The session ended (link closed): forget authentication and open writes. */
void lsws_sim_disconnect(struct lsws_sim *sim);

/* The Bluetooth name (CTH01) or a name for listings ("WS523-...") */
const char *lsws_sim_name(const struct lsws_sim *sim);

/* Parses fault options as given to lsws-sim and to sim: URIs, e.g.
 * "drop=3,7" "corrupt=2" "delay=4" "delay_ms=1500" "refuse=1" "refuse_status=7"
 * "disconnect_after=100" "link_bps=11520" "latency_ms=5". */
int lsws_sim_fault_option(struct lsws_sim_faults *f, const char *name, const char *value,
                          struct lsws_error *err);

#endif
