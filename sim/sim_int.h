/* Private to sim/: what the device logic (device.c) and the state file
 * (state.c) share. Not installed, not used outside sim/. */
#ifndef LSWS_SIM_INT_H
#define LSWS_SIM_INT_H

#include "sim.h"

/* What survives a restart: the unit's identity, its factory band, the clock
 * offset and every setting (the password included, as general.password). */
struct sim_state {
    const struct lsws_model *model;
    struct lsws_identity id;
    char factory_band[16];
    int64_t clock_offset; /* seconds added to the host clock (CTH01) */
    struct lsws_config *cfg;
};

/* Fills id from sn (16 hex digits) or, when sn is NULL, from the model's
 * default serial number; the DevEUI derives from the SN (docs/simulator.md). */
int sim_identity(const struct lsws_model *model, const char *sn, struct lsws_identity *id,
                 struct lsws_error *err);

/* A new configuration with the factory defaults of st's band and identity,
 * password 123456 (caller frees). */
int sim_factory_config(const struct sim_state *st, struct lsws_config **out, struct lsws_error *err);

/* Loads path into st (st->model set by the caller; st->cfg is allocated).
 * LSWS_ERR_NODEV when the file does not exist. */
int sim_state_load(const char *path, struct sim_state *st, struct lsws_error *err);

/* Writes st to path atomically (temporary file, fsync, rename), mode 0600;
 * cfg replaces st->cfg in the file when not NULL. */
int sim_state_save(const char *path, const struct sim_state *st, const struct lsws_config *cfg,
                   struct lsws_error *err);

#endif
