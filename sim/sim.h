/* The device simulator: WS523 and CTH01 firmware behaviour as the guides
 * describe it, behind the lsws configuration protocol (docs/protocol.md).
 * Used by lsws-sim (served on a pseudo-terminal) and by the in-process
 * `sim:` transport. */
#ifndef LSWS_SIM_H
#define LSWS_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
    /* Firmware transfer (sim/firmware.c, docs/firmware.md). */
    int fw_bad_checksum;               /* FW_END finds the whole image's checksum wrong */
    int fw_refuse_commit;              /* FW_END verifies the image, then refuses to commit it */
    int fw_drop;                       /* fw_drop_at is set */
    unsigned long fw_drop_at;          /* the link drops when an FW_DATA chunk would carry
                                          this byte of the payload (the chunk is lost) */
    unsigned fw_corrupt[LSWS_SIM_FAULTS]; /* FW_DATA requests N,... (counted from 1) arrive
                                             with a byte changed: the chunk CRC catches it */
};

/* The smallest maximum message a simulated unit may have: the 4-byte
 * response header and the 32 bytes of device information must fit. */
#define LSWS_SIM_MSG_MIN 64

struct lsws_sim_opts {
    enum lsws_model_id model;
    const char *band;       /* factory band; NULL: EU868 */
    const char *sn;         /* 16 hex digits; NULL: derived from the model */
    const char *state_path; /* JSON state file (mode 0600); NULL: state in memory only */
    unsigned max_msg;       /* largest message the unit takes and sends, header included:
                             * LSWS_SIM_MSG_MIN..LSWS_MSG_MAX; 0: LSWS_MSG_MAX */
    /* CTH01 stored history (docs/simulator.md, "Stored history"): with
     * history_records set, the unit has recorded that many periodic records
     * (and the alarms and monthly summaries that came with them), from
     * history_start if given, else ending now. A state file that already
     * holds that history keeps it (and what was cleared of it). */
    int history_records_set, history_start_set;
    uint32_t history_records, history_start;
};

struct lsws_sim;

/* Parses --history-records N (0 to 1,000,000) and --history-start T (Unix
 * seconds or ISO 8601, lsws_time_parse), as lsws-sim and sim: URIs take them. */
int lsws_sim_parse_history(struct lsws_sim_opts *o, const char *name, const char *value,
                           struct lsws_error *err);
/* Writes every record of kind the unit stores to out, one per line in hex,
 * in time order, as the unit holds them (not through the protocol): the
 * reference the tests compare exports with. */
int lsws_sim_history_dump(struct lsws_sim *sim, unsigned kind, FILE *out, struct lsws_error *err);

struct lsws_sim;

/* Creates a simulated device: loads state_path if it exists, else factory
 * state (and writes it). Several simulators (in one process or several)
 * may share a state file: each change is made under flock on
 * state_path + ".lock" on the file as it is then, and every request sees
 * the file's current state (docs/simulator.md). *out is freed with
 * lsws_sim_free. */
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

/* Parses a max_msg value ("max_msg=256" in sim: URIs, --max-msg 256): a
 * number of bytes from LSWS_SIM_MSG_MIN to LSWS_MSG_MAX. */
int lsws_sim_parse_max_msg(const char *text, unsigned *out, struct lsws_error *err);

/* Parses fault options as given to lsws-sim and to sim: URIs, e.g.
 * "drop=3,7" "corrupt=2" "delay=4" "delay_ms=1500" "refuse=1" "refuse_status=7"
 * "disconnect_after=100" "link_bps=11520" "latency_ms=5", and the firmware
 * ones "fw_bad_checksum=1" "fw_refuse_commit=1" "fw_drop_at=40000"
 * "fw_corrupt=2,9". */
int lsws_sim_fault_option(struct lsws_sim_faults *f, const char *name, const char *value,
                          struct lsws_error *err);

/* ---- additions (sim/device.c, sim/faults.c, sim/pty.c) ---------------------- */

/* lsws_sim_handle: give cap >= LSWS_MSG_MAX. A smaller cap, or a smaller
 * max_msg of the unit, makes READ pages smaller; another answer that does
 * not fit is not sent (*rlen = 0). A request larger than max_msg is
 * answered BAD_REQUEST. */

/* What the device answers to IDENTIFY now. */
void lsws_sim_info(const struct lsws_sim *sim, struct lsws_device_info *info);

/* Counters, for -v output and tests. */
struct lsws_sim_stats {
    unsigned long requests;   /* messages handled */
    unsigned long duplicates; /* identical retries answered from the cache, not executed */
    unsigned long writes;     /* WRITE transactions applied */
    unsigned long saves;      /* state file writes */
};
void lsws_sim_stats(const struct lsws_sim *sim, struct lsws_sim_stats *out);

/* One line about the last request handled, for -v ("seq 7 write: invalid at
 * byte 2: ..."). Owned by sim, valid until the next call on it. */
const char *lsws_sim_note(const struct lsws_sim *sim);

/* 1 if frame number n is in list (a fault list of struct lsws_sim_faults). */
int lsws_sim_fault_listed(const unsigned list[LSWS_SIM_FAULTS], unsigned long n);

/* Handles request frame number n (1-based) with the faults applied, the
 * same way for every transport: a dropped request never reaches the device
 * (no response); a refused one is answered with refuse_status (default
 * BUSY) without being executed; otherwise lsws_sim_handle runs and the
 * caller corrupts (LSWS_SIM_CORRUPTED: the device acted, the answer is lost
 * on the wire) or delays (LSWS_SIM_DELAYED: by delay_ms) the response.
 * Returns the LSWS_SIM_* bits of what applies to this frame. */
#define LSWS_SIM_DROPPED 0x1u
#define LSWS_SIM_REFUSED 0x2u
#define LSWS_SIM_CORRUPTED 0x4u
#define LSWS_SIM_DELAYED 0x8u
#define LSWS_SIM_HANGUP 0x10u /* with DROPPED: the link drops here (fw_drop_at); the
                                 transport closes it, as after disconnect_after */
unsigned lsws_sim_serve(struct lsws_sim *sim, const struct lsws_sim_faults *f, unsigned long n,
                        const uint8_t *req, size_t len, uint8_t *resp, size_t cap, size_t *rlen,
                        uint64_t now_ms);

/* ---- firmware (sim/firmware.c, docs/firmware.md) ----------------------------- */

/* The largest payload a simulated unit's firmware slot holds. */
#define LSWS_SIM_FW_SLOT (1u << 20)

/* The hardware and firmware versions a new simulated unit of the model has
 * (vendor form, as in IDENTIFY). */
void lsws_sim_factory_versions(enum lsws_model_id model, uint16_t *hw, uint16_t *fw);

/* A test image for the simulator (lsws-sim --make-firmware): size bytes of
 * payload (a line naming it, then bytes from a generator seeded by model
 * and version, so the same arguments give the same image) in an image for
 * model, hardware hw_min..hw_max and firmware fw. *out is a heap buffer of
 * *olen bytes the caller frees. */
int lsws_sim_firmware_image(enum lsws_model_id model, uint16_t hw_min, uint16_t hw_max, uint16_t fw, size_t size,
                            const char *name, uint8_t **out, size_t *olen, struct lsws_error *err);

/* Serving on a pseudo-terminal with the serial framing (sim/pty.c). */
struct lsws_sim_pty_opts {
    struct lsws_sim_faults faults;
    int once;             /* return when the first client closes the port */
    int verbose;          /* log frames, faults and sessions to stderr */
    volatile sig_atomic_t *stop; /* set (by a signal handler) to stop serving; may be NULL */
};
/* Opens a pseudo-terminal in raw mode; *master is its master side and path
 * (n bytes) receives the name of the side clients open ("/dev/pts/3"). */
int lsws_sim_pty_open(int *master, char *path, size_t n, struct lsws_error *err);
/* Serves requests on *master until *stop, the end of the first session with
 * once, or disconnect_after bytes were sent (then the master is closed and
 * *master set to -1: the client sees the link drop). A client closing the
 * port ends the session (lsws_sim_disconnect); serving goes on for the next
 * one. LSWS_OK on those ends, LSWS_ERR_IO on an I/O error. */
int lsws_sim_pty_serve(struct lsws_sim *sim, int *master, const struct lsws_sim_pty_opts *opts,
                       struct lsws_error *err);


/* ---- Bluetooth LE: org.bluez on a D-Bus bus (sim/bluez.c) ---------------------- */
/* lsws-sim --ble owns org.bluez on the system bus (or the bus in
 * DBUS_SYSTEM_BUS_ADDRESS: tests use a private one) and publishes an adapter
 * and one or more hubs with the lsws GATT service (LSWS_BLE_*_UUID in lsws.h,
 * docs/protocol.md "BLE", docs/ble.md), answering through lsws_sim_serve
 * like every other transport. */
/* CTH01: the hub ends a connection after 3 minutes without data (guide,
 * "Access the Device Using Bluetooth"). */
#define LSWS_SIM_IDLE_MS 180000u

struct lsws_sim_ble_opts {
    struct lsws_sim_faults faults; /* applied per hub, frames counted per hub */
    const char *adapter;      /* adapter name, "hci0" */
    int no_adapter;           /* own org.bluez but publish no adapter */
    int powered_off;          /* the adapter starts powered off */
    unsigned mtu;             /* ATT MTU, 23..517 (247) */
    unsigned interval_us;     /* connection interval: at most one fragment each way per interval (7500); 0: unpaced */
    unsigned resolve_ms;      /* from connection to ServicesResolved (15) */
    int never_resolve;        /* services are never resolved */
    int refuse_connect;       /* every connection attempt is refused */
    int no_acquire;           /* no AcquireWrite/AcquireNotify: WriteValue and StartNotify only */
    int shared;               /* clients share one connection, as programs on one computer do */
    unsigned long drop_link_after;    /* drop the link after executing request N, before answering; 0: never */
    unsigned long drop_link_fragment; /* drop the link when client fragment N arrives (it is lost); 0: never */
    unsigned clock_scale;     /* the device's clock runs this many times faster (1): idle timeout, lockout */
    int rssi;                 /* RSSI of the first hub, dBm (-48); each next hub 6 dB less */
    unsigned scan_delay_ms;   /* from StartDiscovery until the first hub is seen (40) */
    int verbose;
    volatile sig_atomic_t *stop;
};
void lsws_sim_ble_opts_init(struct lsws_sim_ble_opts *o);
/* Parses one option as lsws-sim takes it ("mtu", "247"; names with '-' or '_'). */
int lsws_sim_ble_option(struct lsws_sim_ble_opts *o, const char *name, const char *value, struct lsws_error *err);
/* The serial number of hub i (0-based) of a fleet whose first hub has sn:
 * digits 5-11 (the Bluetooth name's) counted up by i. */
void lsws_sim_ble_fleet_sn(const char *sn, unsigned i, char out[17]);
/* Serves the hubs sims[0..n) as org.bluez until *stop. Once the name is
 * owned, writes one line per hub to ready ("hci0 24:E1:24:41:80:93
 * CTH01-F418093"; "no adapter" with no_adapter) and flushes it. LSWS_OK when
 * stopped; LSWS_ERR_IO with a message when the bus cannot be used. */
int lsws_sim_ble_serve(struct lsws_sim *const *sims, size_t n, const struct lsws_sim_ble_opts *o, FILE *ready,
                       struct lsws_error *err);

/* A note on stderr ("lsws-sim: " scope text), when verbose (sim/log.c). */
void lsws_sim_log(int verbose, const char *scope, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
