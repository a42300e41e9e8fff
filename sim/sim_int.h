/* Private to sim/: what the device logic (device.c) and the state file
 * (state.c) share. Not installed, not used outside sim/. */
#ifndef LSWS_SIM_INT_H
#define LSWS_SIM_INT_H

#include <sys/types.h>
#include <time.h>

#include "sim.h"

/* The CTH01's stored history as the state file keeps it (sim/history.c):
 * not the records, which a seed and the unit's settings while it recorded
 * determine, but what they are generated from, and what the unit did to
 * them since (clears). docs/simulator.md, "Stored history". */
struct sim_hist {
    int seeded;                      /* 0: nothing was ever recorded */
    uint32_t records;                /* periodic records recorded, one per reporting interval */
    uint32_t start;                  /* the first one's time */
    uint32_t seed;                   /* of the values */
    uint32_t cleared[LSWS_HK_COUNT]; /* device time of the last clear of each kind; 0: never */
    struct lsws_config *settings;    /* the unit's settings while it recorded; NULL unless seeded */
};

/* What survives a restart: the unit's identity, its factory band, the clock
 * offset, the failed logins and every setting (the password included, as
 * general.password). */
struct sim_state {
    const struct lsws_model *model;
    struct lsws_identity id;
    char factory_band[16];
    int64_t clock_offset;     /* seconds added to the host clock (CTH01) */
    unsigned login_failures;  /* wrong passwords in a row */
    int64_t lockout_until_ms; /* logins refused until this Unix time (ms); 0: none */
    unsigned long writes;     /* WRITE transactions applied over the unit's life ("writes") */
    uint16_t fw_version;      /* firmware committed by an upgrade; 0: the factory one */
    struct lsws_config *cfg;
    int clock_set;            /* CTH01: TIME_SYNC (or a recorded history) set the clock */
    struct sim_hist hist;     /* CTH01 stored history */
};

/* The state file as one process knows it. Every save writes a new file and
 * renames it over the old one, so the version loaded or saved last is held
 * open: while it is open its inode cannot be reused, and the path still
 * naming that inode (with the size and mtime seen) means nobody replaced
 * the file since. The lock file beside it (path + ".lock") is never
 * replaced; flock on it orders the changes of every process sharing the
 * unit (the state file itself cannot carry the lock: a rename replaces it). */
struct sim_file {
    char *path;
    char *lock_path;
    int fd;      /* the version loaded or saved last; -1: none yet */
    int lock_fd; /* the lock file while locked; -1: not locked */
    dev_t dev;   /* what fd was when loaded or saved */
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* Fills id from sn (16 hex digits) or, when sn is NULL, from the model's
 * default serial number; the DevEUI derives from the SN (docs/simulator.md). */
int sim_identity(const struct lsws_model *model, const char *sn, struct lsws_identity *id,
                 struct lsws_error *err);

/* A new configuration with the factory defaults of st's band and identity,
 * password 123456 (caller frees). */
int sim_factory_config(const struct sim_state *st, struct lsws_config **out, struct lsws_error *err);

/* Sets up f for path (nothing is opened yet); released with sim_file_release,
 * which also drops a lock still held. */
int sim_file_init(struct sim_file *f, const char *path, struct lsws_error *err);
void sim_file_release(struct sim_file *f);

/* Takes the exclusive lock on path.lock (created mode 0600), waiting for
 * other processes to release it; readers need none. LSWS_ERR_IO when the
 * lock file cannot be opened or locked. */
int sim_file_lock(struct sim_file *f, struct lsws_error *err);
void sim_file_unlock(struct sim_file *f);

/* 1 when the path names another file than the one loaded or saved last, or
 * that file changed in place; 0 when it is the same, or when there is no
 * file at the path (nothing to load: the state in memory stands). */
int sim_file_changed(const struct sim_file *f);

/* Loads f->path into st (st->model set by the caller; st->cfg is allocated)
 * and holds the version it read as f->fd. LSWS_ERR_NODEV when the file does
 * not exist. Needs no lock: a save replaces the file whole. */
int sim_state_load(struct sim_file *f, struct sim_state *st, struct lsws_error *err);

/* Writes st to f->path atomically (temporary file, fsync, rename), mode
 * 0600, and holds the new version as f->fd; cfg replaces st->cfg in the file
 * when not NULL. Call it holding the exclusive lock. */
int sim_state_save(struct sim_file *f, const struct sim_state *st, const struct lsws_config *cfg,
                   struct lsws_error *err);

/* ---- the firmware slots (firmware.c) -------------------------------------------- */
/* The unit runs the firmware of one slot and stages an upgrade in the
 * other, beside the state file (path + ".fw"; in memory without a state
 * file). The staged image survives the end of a session, a reboot and a
 * restart of the simulator; it becomes the running one only once FW_END has
 * verified it whole. Requests are handled under the state file's lock. */
struct sim_fw;
/* state_path NULL: staging in memory. *out is freed with sim_fw_free. */
int sim_fw_new(const char *state_path, struct sim_fw **out, struct lsws_error *err);
void sim_fw_free(struct sim_fw *fw);
/* The session ended: a transfer must be opened again with FW_BEGIN. */
void sim_fw_end_session(struct sim_fw *fw);

/* The unit as FW_* requests see it. */
struct sim_fw_unit {
    enum lsws_model_id model;
    uint16_t hw, fw;
};
#define SIM_FW_COMMIT 0x100 /* status: verified; the caller commits new_fw */
struct sim_fw_reply {
    int status;         /* LSWS_ST_* or SIM_FW_COMMIT */
    uint8_t out[8];     /* payload of OK, SEQUENCE and CHECKSUM answers */
    size_t len;
    size_t offset;      /* INVALID: byte of the request payload it is about (0xffff: none) */
    uint16_t new_fw;    /* SIM_FW_COMMIT: the version to run */
    char why[200];      /* what happened, for -v; the INVALID message */
};
/* Handles an FW_BEGIN, FW_DATA or FW_END payload p[0..n) for unit. */
void sim_fw_request(struct sim_fw *fw, const struct sim_fw_unit *unit, unsigned op, const uint8_t *p, size_t n,
                    struct sim_fw_reply *rep);
/* The commit was stored: the staged image is the running one now. */
void sim_fw_committed(struct sim_fw *fw);
/* Path of the staging file, NULL when staging is in memory. */
const char *sim_fw_path(const struct sim_fw *fw);

/* For the fault layer (faults.c): the firmware faults the device applies
 * itself, and whether request req[0..len) is an FW_DATA request whose data
 * the fault list fw_corrupt says to change (FW_DATA requests are counted
 * here). */
struct sim_fw *sim_fw_of(struct lsws_sim *sim);
void sim_fw_set_faults(struct sim_fw *fw, const struct lsws_sim_faults *f);
int sim_fw_corrupts(struct sim_fw *fw, const struct lsws_sim_faults *f, const uint8_t *req, size_t len);

/* ---- CTH01 stored history (sim/history.c) ---------------------------------- */

#define SIM_HISTORY_RECORDS_MAX 1000000u /* --history-records: a bound on the work of one load */

/* Records st->hist: n periodic records at the unit's reporting interval from
 * start (has_start) or ending at the device time now, generated from the
 * unit's settings as they are (a copy is kept: later changes do not rewrite
 * history). Enables data storage and marks the clock set; a clock earlier
 * than the last record moves to just after it. */
int sim_hist_seed(struct sim_state *st, uint32_t n, int has_start, uint32_t start, int64_t now,
                  struct lsws_error *err);
/* 1 when st already holds the history --history-records n [--history-start
 * start] asks for (nothing to seed again: a clear stays cleared). */
int sim_hist_same(const struct sim_state *st, uint32_t n, int has_start, uint32_t start);
void sim_hist_release(struct sim_hist *h);
int sim_hist_copy(const struct sim_hist *from, struct sim_hist *to);

/* The records of a seeded history, computed when first needed (alarms and
 * monthly summaries take one pass over the periodic records). */
struct sim_store;
int sim_store_new(const struct sim_state *st, struct sim_store **out, struct lsws_error *err);
void sim_store_free(struct sim_store *s);
/* 1 when s was built from what st->hist holds now. */
int sim_store_matches(const struct sim_store *s, const struct sim_state *st);
void sim_store_status(const struct sim_store *s, const struct sim_state *st, unsigned kind, uint32_t start,
                      uint32_t end, struct lsws_history_status *out);
/* The answer of a range query (5c: at most 300 records from start to end)
 * or, with point, of a time point query at start (5b): its records' bytes
 * in *bytes (heap, caller frees; NULL when none), how many, and whether the
 * range holds more. */
int sim_store_answer(const struct sim_store *s, const struct sim_state *st, unsigned kind, int point,
                     uint32_t start, uint32_t end, uint8_t **bytes, size_t *len, uint32_t *records,
                     int *more, struct lsws_error *err);
/* Every stored record of kind in order, one call each (lsws-sim
 * --history-dump, the tests' reference). */
int sim_store_each(const struct sim_store *s, const struct sim_state *st, unsigned kind,
                   int (*fn)(void *ctx, const uint8_t *rec, size_t len, uint32_t ts), void *ctx,
                   struct lsws_error *err);

#endif
