/* Private to sim/: what the device logic (device.c) and the state file
 * (state.c) share. Not installed, not used outside sim/. */
#ifndef LSWS_SIM_INT_H
#define LSWS_SIM_INT_H

#include <sys/types.h>
#include <time.h>

#include "sim.h"

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
    struct lsws_config *cfg;
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

#endif
