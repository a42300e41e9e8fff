/* The simulated device: WS523 and CTH01 behaviour behind the lsws
 * configuration protocol (docs/protocol.md), as the vendor guides describe
 * it (docs/simulator.md lists what is emulated and where it comes from).
 *
 * lsws_sim_handle takes one request message and produces one response; it
 * never fails on bad input. Everything a session holds (authentication, an
 * open WRITE transaction, the last responses for identical retries) live
 * here; what a unit keeps in flash lives in struct sim_state and the state
 * file (state.c).
 *
 * Several simulators may share one state file, as several phones may talk
 * to one unit. Each keeps a copy of the state; before a request looks at it
 * the copy is brought up to date when the file was replaced (refresh), and
 * every change (WRITE, PASSWORD, RESET, TIME_SYNC, the count of failed
 * logins) is made under the file's exclusive lock on a fresh copy: only what
 * the request carries is applied to it, and the rules between settings are
 * checked on the result (begin_change). So no process loses another's
 * change, and a read-back sees what the unit holds. */
#include "sim_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDLE_MS LSWS_SIM_IDLE_MS /* CTH01: BLE ends after 3 minutes without data (sim.h) */
#define AUTH_FAILURES 5   /* failures in a row before logins are refused */
#define LOCKOUT_MS 60000  /* for this long */
#define TXN_MAX LSWS_TXN_BYTES
#define CMD_FIELDS 32
#define DEFAULT_PASSWORD "123456"

/* Versions as the guides' basic-information examples encode them. WS523:
 * firmware 0108 = v1.8 (guide v1.3, ch.6 Basic Information); hardware v1.2
 * (0120), the first revision with the power-outage alert (guide v1.3,
 * "Power Outage Alert": hardware 1.2 and later). CTH01: hardware 0100 = v1.0,
 * software 0101 = v1.1 (guide ch.5 Basic Information Packet, da field). */
static const struct {
    uint16_t hw, fw;
} versions[LSWS_MODEL_COUNT] = {
    [LSWS_MODEL_WS523] = {0x0120, 0x0108},
    [LSWS_MODEL_CTH01] = {0x0100, 0x0101},
};

/* One settings command of the model: its code and the settings it carries. */
struct sim_cmd {
    uint32_t code;
    uint8_t code_len;
    uint8_t writeonly;    /* carries only write-only settings (general.password) */
    uint8_t n;
    uint16_t idx[CMD_FIELDS];
};

struct lsws_sim {
    struct sim_state st;
    struct sim_file file; /* file.path NULL: state in memory only */
    struct sim_cmd *cmds;
    size_t n_cmds;
    struct lsws_config *scratch; /* for encoding one command at a time */
    struct sim_fw *fw;           /* the firmware slots (firmware.c) */
    int pw_idx, tz_idx, band_idx;
    size_t max_msg; /* the largest message the unit takes or sends */

    /* session */
    int authed;
    int have_last;
    uint64_t last_ms;
    /* the caller's clock (now_ms) mapped onto Unix time, for lockouts */
    int have_wall;
    int64_t wall_offset;
    /* WRITE transaction */
    int txn_open;
    uint8_t *txn;
    size_t txn_len;
    /* CTH01 history: the records (built when first asked for) and the
     * query being answered in this session */
    struct sim_store *store;
    struct {
        int open;
        uint8_t query, kind;
        uint32_t a, b;
        uint8_t *bytes;
        size_t len;
        uint32_t records;
        int more;
    } hq;
    /* The last requests and their responses, for identical retries: as
     * many as a client keeps in flight (LSWS_PIPELINE_MAX), so that a
     * retry of any of them whose answer was lost is answered, not run
     * again. A ring; n_kept 0 when forgotten. */
    struct kept {
        uint8_t req[LSWS_MSG_MAX], resp[LSWS_MSG_MAX];
        size_t req_len, resp_len;
    } kept[LSWS_PIPELINE_MAX];
    unsigned n_kept, next_kept;

    struct lsws_sim_stats stats;
    char name[32];
    char detail[224];
    char note[320];
};

/* ---- setup ------------------------------------------------------------------ */

static int build_cmds(struct lsws_sim *sim, struct lsws_error *err)
{
    const struct lsws_model *m = sim->st.model;
    sim->cmds = calloc(m->n_settings, sizeof *sim->cmds);
    if (!sim->cmds)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    unsigned wo[512] = {0};
    for (size_t i = 0; i < m->n_settings; i++) {
        const struct lsws_setting *s = &m->settings[i];
        struct sim_cmd *c = NULL;
        for (size_t k = 0; k < sim->n_cmds && !c; k++)
            if (sim->cmds[k].code == s->code && sim->cmds[k].code_len == s->code_len)
                c = &sim->cmds[k];
        if (!c) {
            c = &sim->cmds[sim->n_cmds++];
            c->code = s->code;
            c->code_len = s->code_len;
        }
        if (c->n == CMD_FIELDS || sim->n_cmds > sizeof wo / sizeof wo[0])
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s command 0x%x has too many settings",
                             m->name, (unsigned)c->code);
        c->idx[c->n++] = (uint16_t)i;
        wo[c - sim->cmds] += (s->row->flags & LSWS_F_WRITEONLY) != 0;
    }
    for (size_t k = 0; k < sim->n_cmds; k++)
        sim->cmds[k].writeonly = wo[k] == sim->cmds[k].n;
    return LSWS_OK;
}

static void update_name(struct lsws_sim *sim)
{
    const struct lsws_config *cfg = sim->st.cfg;
    int i = lsws_model_find(cfg->model, "bluetooth.name");
    if (i >= 0 && cfg->present[i]) {
        snprintf(sim->name, sizeof sim->name, "%.*s", cfg->values[i].len,
                 (const char *)cfg->values[i].bytes);
        return;
    }
    /* WS523 has no Bluetooth: a name for listings built the same way. */
    snprintf(sim->name, sizeof sim->name, "WS523-%.7s", sim->st.id.sn + 4);
    for (char *p = sim->name; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
}

int lsws_sim_parse_max_msg(const char *text, unsigned *out, struct lsws_error *err)
{
    unsigned long v = 0;
    size_t i = 0;
    for (; i < 5 && text[i] >= '0' && text[i] <= '9'; i++)
        v = v * 10 + (unsigned long)(text[i] - '0');
    if (i == 0 || text[i] || v < LSWS_SIM_MSG_MIN || v > LSWS_MSG_MAX)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "max_msg: '%s' is not a message size from %d to %d bytes", text,
                         LSWS_SIM_MSG_MIN, LSWS_MSG_MAX);
    *out = (unsigned)v;
    return LSWS_OK;
}

static uint32_t device_time(const struct lsws_sim *sim);

/* --history-records: records the history unless the unit holds it already
 * (then what was cleared of it stays cleared). 1 when st changed. */
static int seed_history(struct lsws_sim *sim, const struct lsws_sim_opts *opts, struct lsws_error *err)
{
    if (!opts->history_records_set)
        return 0;
    if (sim_hist_same(&sim->st, opts->history_records, opts->history_start_set, opts->history_start))
        return 0;
    int rc = sim_hist_seed(&sim->st, opts->history_records, opts->history_start_set, opts->history_start,
                           device_time(sim), err);
    return rc == LSWS_OK ? 1 : rc;
}

/* Loads the unit from the state file, or creates the file with the factory
 * state, under the exclusive lock so that two simulators starting on a
 * new file create it once. */
static int open_state(struct lsws_sim *sim, const struct lsws_sim_opts *opts, const struct lsws_band *band,
                      const struct lsws_identity *want, struct lsws_error *err)
{
    /* A lock that cannot be taken (a read-only directory) does not stop a
     * unit being loaded; creating one fails below with the reason. */
    int locked = sim_file_lock(&sim->file, NULL) == LSWS_OK, created = 0;
    int rc = sim_state_load(&sim->file, &sim->st, err);
    if (rc == LSWS_OK) {
        /* The file is the unit: options may only repeat what it says. */
        if (opts->sn && strcmp(want->sn, sim->st.id.sn) != 0)
            rc = lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX,
                           "state file '%s' holds unit %s, not %s: use another state file",
                           sim->file.path, sim->st.id.sn, want->sn);
        else if (opts->band && strcmp(band->name, sim->st.factory_band) != 0)
            rc = lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX,
                           "state file '%s' holds a %s unit, not %s: use another state file",
                           sim->file.path, sim->st.factory_band, band->name);
    } else if (rc == LSWS_ERR_NODEV) {
        sim->st.id = *want;
        snprintf(sim->st.factory_band, sizeof sim->st.factory_band, "%s", band->name);
        rc = sim_factory_config(&sim->st, &sim->st.cfg, err);
        created = 1;
    }
    if (rc == LSWS_OK) {
        int seeded = seed_history(sim, opts, err);
        if (seeded < 0)
            rc = seeded;
        else if (seeded || created)
            rc = sim_state_save(&sim->file, &sim->st, NULL, err);
    }
    if (locked)
        sim_file_unlock(&sim->file);
    return rc;
}

int lsws_sim_new(const struct lsws_sim_opts *opts, struct lsws_sim **out, struct lsws_error *err)
{
    const struct lsws_model *m = lsws_model_get(opts->model);
    if (!m)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "unknown model %d", (int)opts->model);
    const struct lsws_band *band = lsws_band_by_name(opts->band ? opts->band : "EU868");
    if (!band)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX,
                         "unknown band '%s' (EU868, US915, AU915, CN470, AS923, KR920, IN865, RU864)",
                         opts->band);
    if (opts->max_msg && (opts->max_msg < LSWS_SIM_MSG_MIN || opts->max_msg > LSWS_MSG_MAX))
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "max_msg: %u bytes is not from %d to %d",
                         opts->max_msg, LSWS_SIM_MSG_MIN, LSWS_MSG_MAX);
    struct lsws_sim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    sim->st.model = m;
    sim->file.fd = sim->file.lock_fd = -1;
    sim->max_msg = opts->max_msg ? opts->max_msg : LSWS_MSG_MAX;
    int rc = LSWS_ERR_NOMEM;
    sim->txn = malloc(TXN_MAX);
    if (!sim->txn || lsws_config_new(m, &sim->scratch) != LSWS_OK) {
        lsws_fail(err, rc, SIZE_MAX, "out of memory");
        goto fail;
    }
    if (opts->state_path && (rc = sim_file_init(&sim->file, opts->state_path, err)) != LSWS_OK)
        goto fail;
    if ((rc = sim_fw_new(opts->state_path, &sim->fw, err)) != LSWS_OK)
        goto fail;
    if ((rc = build_cmds(sim, err)) != LSWS_OK)
        goto fail;
    sim->pw_idx = lsws_model_find(m, "general.password");
    sim->tz_idx = lsws_model_find(m, "time.zone");
    sim->band_idx = lsws_model_find(m, "lorawan.band");

    struct lsws_identity want;
    if ((rc = sim_identity(m, opts->sn, &want, err)) != LSWS_OK)
        goto fail;
    if (sim->file.path) {
        rc = open_state(sim, opts, band, &want, err);
    } else {
        sim->st.id = want;
        snprintf(sim->st.factory_band, sizeof sim->st.factory_band, "%s", band->name);
        rc = sim_factory_config(&sim->st, &sim->st.cfg, err);
        int seeded = rc == LSWS_OK ? seed_history(sim, opts, err) : 0;
        if (seeded < 0)
            rc = seeded;
    }
    if (rc != LSWS_OK)
        goto fail;
    update_name(sim);
    *out = sim;
    return LSWS_OK;
fail:
    lsws_sim_free(sim);
    return rc;
}

static void drop_query(struct lsws_sim *sim)
{
    free(sim->hq.bytes);
    memset(&sim->hq, 0, sizeof sim->hq);
}

void lsws_sim_free(struct lsws_sim *sim)
{
    if (!sim)
        return;
    drop_query(sim);
    sim_store_free(sim->store);
    sim_hist_release(&sim->st.hist);
    lsws_config_free(sim->st.cfg);
    lsws_config_free(sim->scratch);
    free(sim->cmds);
    free(sim->txn);
    sim_fw_free(sim->fw);
    sim_file_release(&sim->file);
    free(sim);
}

const char *lsws_sim_name(const struct lsws_sim *sim)
{
    return sim->name;
}

void lsws_sim_stats(const struct lsws_sim *sim, struct lsws_sim_stats *out)
{
    *out = sim->stats;
}

const char *lsws_sim_note(const struct lsws_sim *sim)
{
    return sim->note;
}

int lsws_sim_parse_history(struct lsws_sim_opts *o, const char *name, const char *value, struct lsws_error *err)
{
    if (strcmp(name, "history_records") == 0 || strcmp(name, "history-records") == 0) {
        unsigned long v = 0;
        size_t i = 0;
        for (; i < 8 && value[i] >= '0' && value[i] <= '9'; i++)
            v = v * 10 + (unsigned long)(value[i] - '0');
        if (i == 0 || value[i] || v > SIM_HISTORY_RECORDS_MAX)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "history records: '%s' is not a number of records from 0 to %u", value,
                             SIM_HISTORY_RECORDS_MAX);
        o->history_records = (uint32_t)v;
        o->history_records_set = 1;
        return LSWS_OK;
    }
    struct lsws_error terr;
    lsws_error_clear(&terr);
    if (lsws_time_parse(value, &o->history_start, &terr) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "history start: %s", terr.msg);
    o->history_start_set = 1;
    return LSWS_OK;
}

struct dump_ctx {
    FILE *out;
    char *hex;
};

static int dump_one(void *arg, const uint8_t *rec, size_t len, uint32_t ts)
{
    struct dump_ctx *d = arg;
    (void)ts;
    lsws_hex_format(rec, len, d->hex);
    return fprintf(d->out, "%s\n", d->hex) < 0 ? LSWS_ERR_IO : 0;
}

int lsws_sim_history_dump(struct lsws_sim *sim, unsigned kind, FILE *out, struct lsws_error *err)
{
    if (sim->st.model->id != LSWS_MODEL_CTH01 || kind >= LSWS_HK_COUNT)
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "only a cth01 stores history");
    if (!sim->store || !sim_store_matches(sim->store, &sim->st)) {
        sim_store_free(sim->store);
        sim->store = NULL;
        int rc = sim_store_new(&sim->st, &sim->store, err);
        if (rc != LSWS_OK)
            return rc;
    }
    char hex[2 * 4096 + 1];
    struct dump_ctx d = {out, hex};
    int rc = sim_store_each(sim->store, &sim->st, kind, dump_one, &d, err);
    if (rc > 0 || rc == LSWS_ERR_IO)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write the records");
    return rc;
}

/* ---- sessions ------------------------------------------------------------------ */

static void end_session(struct lsws_sim *sim, int forget_cache)
{
    drop_query(sim);
    sim->authed = 0;
    sim->txn_open = 0;
    sim->txn_len = 0;
    sim_fw_end_session(sim->fw);
    if (forget_cache)
        sim->n_kept = sim->next_kept = 0;
}

void lsws_sim_disconnect(struct lsws_sim *sim)
{
    end_session(sim, 1);
    sim->have_last = 0;
}

static int default_password(const struct lsws_sim *sim)
{
    const struct lsws_value *v = &sim->st.cfg->values[sim->pw_idx];
    return v->len == 6 && memcmp(v->bytes, DEFAULT_PASSWORD, 6) == 0;
}

static uint32_t device_time(const struct lsws_sim *sim)
{
    int64_t t = (int64_t)time(NULL) + sim->st.clock_offset;
    return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

void lsws_sim_info(const struct lsws_sim *sim, struct lsws_device_info *info)
{
    const struct lsws_model *m = sim->st.model;
    memset(info, 0, sizeof *info);
    info->model = m->id;
    info->proto = LSWS_PROTO_VERSION;
    memcpy(info->sn, sim->st.id.sn, sizeof info->sn);
    memcpy(info->dev_eui, sim->st.id.dev_eui, sizeof info->dev_eui);
    info->hw = versions[m->id].hw;
    info->fw = sim->st.fw_version ? sim->st.fw_version : versions[m->id].fw;
    info->band = (uint8_t)sim->st.cfg->values[sim->band_idx].num;
    info->max_payload = (uint16_t)sim->max_msg;
    info->flags = default_password(sim) ? LSWS_INFO_DEFAULT_PASSWORD : 0;
    if (m->id == LSWS_MODEL_CTH01) { /* the WS523 keeps no clock */
        info->time = device_time(sim);
        info->tz_minutes = (int16_t)sim->st.cfg->values[sim->tz_idx].num;
    }
}

/* ---- responses -------------------------------------------------------------------- */

struct reply {
    uint8_t *buf;
    size_t cap, *len;
    uint8_t seq, op;
    int status;
};

static void detail(struct lsws_sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail(struct lsws_sim *sim, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sim->detail, sizeof sim->detail, fmt, ap);
    va_end(ap);
}

static void answer(struct reply *r, int status, const uint8_t *payload, size_t n)
{
    r->status = status;
    if (lsws_msg_encode(r->seq, r->op, status, payload, n, r->buf, r->cap, r->len) != LSWS_OK)
        *r->len = 0; /* the caller's buffer cannot hold it: no answer */
}

static void answer_status(struct lsws_sim *sim, struct reply *r, int status, const char *why)
{
    if (why)
        detail(sim, "%s", why);
    answer(r, status, NULL, 0);
}

/* INVALID with the byte offset (ffff: not tied to one byte) and a message. */
static void refuse(struct lsws_sim *sim, struct reply *r, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(struct lsws_sim *sim, struct reply *r, size_t offset, const char *fmt, ...)
{
    uint8_t p[2 + 200];
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned off = offset >= 0xffff ? 0xffff : (unsigned)offset;
    p[0] = (uint8_t)off;
    p[1] = (uint8_t)(off >> 8);
    size_t n = 0;
    for (; msg[n]; n++)
        p[2 + n] = (uint8_t)(msg[n] >= 0x20 && msg[n] < 0x7f ? msg[n] : '?');
    if (r->cap > 4 + 2 && n > r->cap - 4 - 2)
        n = r->cap - 4 - 2;
    detail(sim, "at byte %u: %s", off, msg);
    answer(r, LSWS_ST_INVALID, p, 2 + n);
}

/* ---- the state, shared with other processes ------------------------------------ */

/* The unit as the state file holds it now: another process sharing the
 * file may have changed it. Safe without the lock, as a save replaces the
 * file whole. A file that no longer loads leaves the copy as it was: -1,
 * with the reason in the detail. */
static int refresh(struct lsws_sim *sim)
{
    if (!sim->file.path || !sim_file_changed(&sim->file))
        return 0;
    struct sim_state fresh = {.model = sim->st.model};
    struct lsws_error err;
    lsws_error_clear(&err);
    if (sim_state_load(&sim->file, &fresh, &err) != LSWS_OK) {
        detail(sim, "%s", err.msg);
        return -1;
    }
    lsws_config_free(sim->st.cfg);
    sim_hist_release(&sim->st.hist);
    sim->st = fresh;
    update_name(sim);
    return 0;
}

/* Starts a change of the unit: takes the state file's exclusive lock and
 * loads what other processes stored, so that the change applies to the unit
 * as it is, not as this process last saw it. -1 (the reason in the detail,
 * no lock held) when nothing can be stored: the caller answers STORAGE and
 * changes nothing. Every 0 is followed by end_change. */
static int begin_change(struct lsws_sim *sim)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    if (!sim->file.path)
        return 0;
    if (sim_file_lock(&sim->file, &err) != LSWS_OK) {
        detail(sim, "%s", err.msg);
        return -1;
    }
    if (refresh(sim) < 0) { /* never store over a file that does not load */
        sim_file_unlock(&sim->file);
        return -1;
    }
    return 0;
}

static void end_change(struct lsws_sim *sim)
{
    if (sim->file.path)
        sim_file_unlock(&sim->file);
}

/* The wall clock at now_ms. A lockout must outlive the process, so it is
 * kept in Unix time; the caller's monotonic clock is mapped onto it at the
 * first request, so the lockout runs on the caller's clock (tests step it). */
static int64_t wall_ms(struct lsws_sim *sim, uint64_t now_ms)
{
    if (!sim->have_wall) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sim->wall_offset = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (int64_t)now_ms;
        sim->have_wall = 1;
    }
    return (int64_t)now_ms + sim->wall_offset;
}

/* ---- READ ------------------------------------------------------------------------ */

static const struct sim_cmd *find_cmd(const struct lsws_sim *sim, uint32_t code, uint8_t code_len)
{
    for (size_t k = 0; k < sim->n_cmds; k++)
        if (sim->cmds[k].code == code && sim->cmds[k].code_len == code_len)
            return &sim->cmds[k];
    return NULL;
}

static int encode_cmd(struct lsws_sim *sim, const struct sim_cmd *c, uint8_t *out, size_t cap,
                      size_t *len)
{
    struct lsws_config *sc = sim->scratch;
    for (unsigned f = 0; f < c->n; f++) {
        sc->values[c->idx[f]] = sim->st.cfg->values[c->idx[f]];
        sc->present[c->idx[f]] = 1;
    }
    int rc = lsws_settings_report(sc, out, cap, len, NULL);
    for (unsigned f = 0; f < c->n; f++)
        sc->present[c->idx[f]] = 0;
    return rc;
}

static void op_read(struct lsws_sim *sim, struct reply *r, const uint8_t *p, size_t n)
{
    const struct sim_cmd *list[LSWS_MSG_MAX / 2];
    size_t count = 0;
    if (n < 2) {
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, "read without a cursor");
        return;
    }
    unsigned cursor = (unsigned)p[0] | (unsigned)p[1] << 8;
    if (n == 2) {
        for (size_t k = 0; k < sim->n_cmds; k++)
            if (!sim->cmds[k].writeonly)
                list[count++] = &sim->cmds[k];
    }
    for (size_t pos = 2; pos < n;) {
        unsigned cl = p[pos];
        if ((cl != 1 && cl != 2) || pos + 1 + cl > n) {
            answer_status(sim, r, LSWS_ST_BAD_REQUEST, "read: command list is not (length, code) pairs");
            return;
        }
        uint32_t code = cl == 2 ? (uint32_t)p[pos + 1] << 8 | p[pos + 2] : p[pos + 1];
        const struct sim_cmd *c = find_cmd(sim, code, (uint8_t)cl);
        if (!c) {
            refuse(sim, r, pos, "unknown %s command 0x%0*x", sim->st.model->name, (int)cl * 2,
                   (unsigned)code);
            return;
        }
        if (c->writeonly) {
            refuse(sim, r, pos, "%s is write-only: it is never read",
                   sim->st.model->settings[c->idx[0]].key);
            return;
        }
        list[count++] = c;
        pos += 1 + cl;
    }
    if (cursor > count) {
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, "read: cursor past the end");
        return;
    }

    /* As many whole commands as fit in one message. */
    if (r->cap < 4 + 2) {
        *r->len = 0;
        return;
    }
    uint8_t out[LSWS_MSG_MAX];
    size_t room = (r->cap < LSWS_MSG_MAX ? r->cap : LSWS_MSG_MAX) - 4, pos = 2, i;
    for (i = cursor; i < count; i++) {
        uint8_t tlv[256];
        size_t len;
        if (encode_cmd(sim, list[i], tlv, sizeof tlv, &len) != LSWS_OK) {
            answer_status(sim, r, LSWS_ST_BUSY, "read: cannot encode a command (table bug)");
            return;
        }
        if (pos + len > room)
            break;
        memcpy(out + pos, tlv, len);
        pos += len;
    }
    if (i == cursor && i < count) {
        *r->len = 0; /* the caller's buffer cannot hold one command */
        return;
    }
    unsigned next = i < count ? (unsigned)i : LSWS_READ_DONE;
    out[0] = (uint8_t)next;
    out[1] = (uint8_t)(next >> 8);
    detail(sim, "commands %u-%zu of %zu, %zu bytes", cursor, i, count, pos - 2);
    answer(r, LSWS_ST_OK, out, pos);
}

/* ---- WRITE, PASSWORD, RESET, TIME_SYNC ----------------------------------------------- */

/* Another operation arrived while a transaction was open: it is abandoned,
 * and its continuations (frames without FIRST) answer SEQUENCE. */
static void abandon(struct lsws_sim *sim)
{
    sim->txn_open = 0;
    sim->txn_len = 0;
}

/* Stores sim->st with cfg as the unit's settings (nothing changes in
 * memory yet). Called between begin_change and end_change. */
static int persist(struct lsws_sim *sim, const struct lsws_config *cfg)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    if (!sim->file.path)
        return LSWS_OK;
    int rc = sim_state_save(&sim->file, &sim->st, cfg, &err);
    if (rc != LSWS_OK)
        detail(sim, "%s", err.msg);
    else
        sim->stats.saves++;
    return rc;
}

/* Stores cfg and makes it the unit's settings, or answers STORAGE. */
static int apply(struct lsws_sim *sim, struct reply *r, struct lsws_config *cfg)
{
    if (persist(sim, cfg) != LSWS_OK) {
        lsws_config_free(cfg);
        answer(r, LSWS_ST_STORAGE, NULL, 0);
        return -1;
    }
    lsws_config_free(sim->st.cfg);
    sim->st.cfg = cfg;
    update_name(sim);
    return 0;
}

/* The device's password rule (both guides): 6 letters, digits or underscores. */
static int check_password(const struct lsws_sim *sim, const uint8_t *p, size_t n,
                          struct lsws_value *v, struct lsws_error *err)
{
    char text[8];
    if (n != 6)
        return lsws_fail(err, LSWS_ERR_RANGE, 0, "general.password: must be exactly 6 characters, not %zu", n);
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0)
            return lsws_fail(err, LSWS_ERR_INVALID, i,
                             "general.password: character %zu is not allowed (letters, digits and "
                             "underscore only)", i + 1);
    memcpy(text, p, 6);
    text[6] = '\0';
    return lsws_value_parse(sim->st.model, (size_t)sim->pw_idx, text, v, err);
}

static const struct sim_cmd *cmd_at(const struct lsws_sim *sim, const uint8_t *p, size_t left)
{
    const struct sim_cmd *c = NULL;
    if (left >= 2)
        c = find_cmd(sim, (uint32_t)p[0] << 8 | p[1], 2);
    if (!c && left >= 1)
        c = find_cmd(sim, p[0], 1);
    return c;
}

/* Checks the transaction's settings on their own: each value against the
 * model table, read-only settings, the password rule the codec does not
 * know. The settings go to delta; -1 when refused (answered). */
static int check_txn(struct lsws_sim *sim, struct reply *r, struct lsws_config *delta)
{
    const struct lsws_model *m = sim->st.model;
    const uint8_t *t = sim->txn;
    size_t len = sim->txn_len;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_settings_decode(delta, t, len, &err) != LSWS_OK) {
        refuse(sim, r, err.offset, "%s", err.msg);
        return -1;
    }
    for (size_t pos = 0, span = 0; pos < len; pos += span) {
        const struct sim_cmd *c = cmd_at(sim, t + pos, len - pos);
        if (!c || lsws_settings_span(m, t + pos, len - pos, &span, NULL) != LSWS_OK) {
            refuse(sim, r, pos, "malformed command at byte %zu", pos);
            return -1;
        }
        for (unsigned f = 0; f < c->n; f++)
            if (m->settings[c->idx[f]].row->flags & LSWS_F_READONLY) {
                refuse(sim, r, pos, "%s is read-only", m->settings[c->idx[f]].key);
                return -1;
            }
        for (unsigned f = 0; f < c->n; f++) {
            struct lsws_value v;
            size_t at = pos + c->code_len + m->settings[c->idx[f]].off;
            if ((int)c->idx[f] == sim->pw_idx && check_password(sim, t + at, 6, &v, &err) != LSWS_OK) {
                refuse(sim, r, at + (err.offset == SIZE_MAX ? 0 : err.offset), "%s", err.msg);
                return -1;
            }
        }
    }
    return 0;
}

/* Applies delta to the unit as it is now (between begin_change and
 * end_change): the rules between settings hold on the result, or nothing
 * changes. */
static void merge_and_store(struct lsws_sim *sim, struct reply *r, const struct lsws_config *delta)
{
    const struct lsws_model *m = sim->st.model;
    struct lsws_config *merged;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_config_copy(sim->st.cfg, &merged) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, "out of memory");
        return;
    }
    size_t changed = 0;
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!delta->present[i])
            continue;
        changed += !lsws_value_equal(m, i, &merged->values[i], &delta->values[i]);
        merged->values[i] = delta->values[i];
    }
    if (lsws_config_check(merged, &err) != LSWS_OK) {
        lsws_config_free(merged);
        refuse(sim, r, 0xffff, "%s", err.msg);
        return;
    }
    sim->st.writes++; /* saved with the settings: one rename */
    if (apply(sim, r, merged) < 0) {
        sim->st.writes--;
        return;
    }
    sim->stats.writes++;
    detail(sim, "applied %zu settings (%zu changed)", lsws_config_count(delta), changed);
    answer(r, LSWS_ST_OK, NULL, 0);
}

/* The last frame of a transaction: check everything, then apply all or nothing. */
static void commit(struct lsws_sim *sim, struct reply *r)
{
    struct lsws_config *delta = NULL;
    if (lsws_config_new(sim->st.model, &delta) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, "out of memory");
        return;
    }
    if (check_txn(sim, r, delta) == 0) {
        if (begin_change(sim) < 0) {
            answer(r, LSWS_ST_STORAGE, NULL, 0);
        } else {
            merge_and_store(sim, r, delta);
            end_change(sim);
        }
    }
    lsws_config_free(delta);
}

static void op_write(struct lsws_sim *sim, struct reply *r, const uint8_t *p, size_t n)
{
    if (n < 1 || (p[0] & ~(LSWS_WRITE_MORE | LSWS_WRITE_FIRST))) {
        abandon(sim);
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, n < 1 ? "write without flags" : "write: unknown flags");
        return;
    }
    int more = p[0] & LSWS_WRITE_MORE;
    if (p[0] & LSWS_WRITE_FIRST) {
        /* A new transaction replaces whatever was staged. */
        sim->txn_open = 1;
        sim->txn_len = 0;
    } else if (!sim->txn_open) {
        answer_status(sim, r, LSWS_ST_SEQUENCE, "write continues no open transaction");
        return;
    }
    size_t add = n - 1;
    if (sim->txn_len + add > TXN_MAX) {
        size_t at = sim->txn_len;
        sim->txn_open = 0;
        sim->txn_len = 0;
        refuse(sim, r, at, "a write transaction holds at most %d bytes of settings", TXN_MAX);
        return;
    }
    memcpy(sim->txn + sim->txn_len, p + 1, add);
    sim->txn_len += add;
    if (more) {
        detail(sim, "staged %zu bytes, %zu in the transaction", add, sim->txn_len);
        answer(r, LSWS_ST_OK, NULL, 0);
        return;
    }
    sim->txn_open = 0;
    commit(sim, r);
    sim->txn_len = 0;
}

static void op_password(struct lsws_sim *sim, struct reply *r, const uint8_t *p, size_t n)
{
    struct lsws_error err;
    struct lsws_value v;
    struct lsws_config *cfg;
    lsws_error_clear(&err);
    if (check_password(sim, p, n, &v, &err) != LSWS_OK) {
        refuse(sim, r, err.offset == SIZE_MAX ? 0 : err.offset, "%s", err.msg);
        return;
    }
    if (begin_change(sim) < 0) {
        answer(r, LSWS_ST_STORAGE, NULL, 0);
        return;
    }
    if (lsws_config_copy(sim->st.cfg, &cfg) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, "out of memory");
    } else {
        cfg->values[sim->pw_idx] = v;
        if (apply(sim, r, cfg) == 0)
            answer_status(sim, r, LSWS_ST_OK, "password changed");
    }
    end_change(sim);
}

static void op_reset(struct lsws_sim *sim, struct reply *r)
{
    struct lsws_config *cfg;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (begin_change(sim) < 0) {
        answer(r, LSWS_ST_STORAGE, NULL, 0);
        return;
    }
    /* The factory state of the unit the file holds now (its band, its SN). */
    int rc = sim_factory_config(&sim->st, &cfg, &err);
    if (rc != LSWS_OK)
        answer_status(sim, r, LSWS_ST_BUSY, err.msg);
    else if ((rc = apply(sim, r, cfg)) == 0)
        answer_status(sim, r, LSWS_ST_OK, "factory defaults restored; rebooting");
    end_change(sim);
    if (rc == 0)
        end_session(sim, 0); /* the answer stays cached: a retry of the RESET is not executed again */
}

static void op_time_sync(struct lsws_sim *sim, struct reply *r, const uint8_t *p, size_t n)
{
    const struct lsws_model *m = sim->st.model;
    if (m->id != LSWS_MODEL_CTH01) {
        answer_status(sim, r, LSWS_ST_UNSUPPORTED, "the WS523 keeps no clock");
        return;
    }
    if (n != 6) {
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, "time sync: 4 bytes of time and 2 of UTC offset");
        return;
    }
    uint32_t t = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int16_t tz = (int16_t)(uint16_t)(p[4] | p[5] << 8);
    const struct lsws_row *row = m->settings[sim->tz_idx].row;
    if (tz < row->min || tz > row->max) {
        refuse(sim, r, 4, "time.zone: %d min is outside %d..%d min (UTC-12:00..UTC+14:00)", tz,
               (int)row->min, (int)row->max);
        return;
    }
    if (begin_change(sim) < 0) {
        answer(r, LSWS_ST_STORAGE, NULL, 0);
        return;
    }
    struct lsws_config *cfg;
    if (lsws_config_copy(sim->st.cfg, &cfg) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, "out of memory");
        end_change(sim);
        return;
    }
    cfg->values[sim->tz_idx].num = tz;
    int64_t old = sim->st.clock_offset;
    int was_set = sim->st.clock_set;
    sim->st.clock_offset = (int64_t)t - (int64_t)time(NULL);
    sim->st.clock_set = 1;
    if (apply(sim, r, cfg) < 0) {
        sim->st.clock_offset = old;
        sim->st.clock_set = was_set;
    } else {
        answer_status(sim, r, LSWS_ST_OK, NULL);
        detail(sim, "clock set to %lu, UTC offset %d min", (unsigned long)t, tz);
    }
    end_change(sim);
}


/* ---- HISTORY (CTH01 ch.5 "Commands for Historical Data Query") ----------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The records, built from the state as it is now. */
static int store_ready(struct lsws_sim *sim, struct reply *r)
{
    if (sim->store && sim_store_matches(sim->store, &sim->st))
        return 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    sim_store_free(sim->store);
    sim->store = NULL;
    if (sim_store_new(&sim->st, &sim->store, &err) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, err.msg);
        return -1;
    }
    return 0;
}

/* A page of the open query from offset, as much as fits in max bytes. */
static void history_page(struct lsws_sim *sim, struct reply *r, uint32_t offset, unsigned max)
{
    uint8_t out[LSWS_MSG_MAX];
    size_t room = (r->cap < LSWS_MSG_MAX ? r->cap : LSWS_MSG_MAX);
    if (max < room)
        room = max;
    room -= 4 + LSWS_HISTORY_PAGE_HEAD; /* response header, page header */
    if (offset > sim->hq.len) {
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, "history: offset past the end of the answer");
        return;
    }
    size_t n = sim->hq.len - offset < room ? sim->hq.len - offset : room;
    put32(out, (uint32_t)sim->hq.len);
    out[4] = (uint8_t)sim->hq.records;
    out[5] = (uint8_t)(sim->hq.records >> 8);
    out[6] = (uint8_t)sim->hq.more;
    put32(out + 7, offset);
    if (n)
        memcpy(out + LSWS_HISTORY_PAGE_HEAD, sim->hq.bytes + offset, n);
    detail(sim, "%s %s: %u records, bytes %u-%zu of %zu%s", sim->hq.query == LSWS_HQ_POINT ? "point" : "range",
           lsws_history_kind_name(sim->hq.kind), sim->hq.records, offset, offset + n, sim->hq.len,
           sim->hq.more ? ", more in the range" : "");
    answer(r, LSWS_ST_OK, out, LSWS_HISTORY_PAGE_HEAD + n);
}

static void op_history(struct lsws_sim *sim, struct reply *r, const uint8_t *p, size_t n)
{
    static const uint8_t lens[256] = {[LSWS_HQ_STATUS] = 10, [LSWS_HQ_POINT] = 12, [LSWS_HQ_RANGE] = 16,
                                      [LSWS_HQ_STOP] = 2, [LSWS_HQ_CLEAR] = 2};
    if (sim->st.model->id != LSWS_MODEL_CTH01) {
        answer_status(sim, r, LSWS_ST_UNSUPPORTED, "the WS523 stores no history");
        return;
    }
    if (n < 2 || !lens[p[0]]) {
        answer_status(sim, r, LSWS_ST_BAD_REQUEST,
                      n < 2 ? "history: query and kind missing" : "history: unknown query (00, 5b-5e)");
        return;
    }
    uint8_t q = p[0], kind = p[1];
    if (kind >= LSWS_HK_COUNT) {
        detail(sim, "history: kind %02x: expected 00-03", kind);
        answer(r, LSWS_ST_BAD_REQUEST, NULL, 0);
        return;
    }
    if (n != lens[q]) {
        detail(sim, "history: query %02x takes %u bytes, not %zu", q, lens[q], n);
        answer(r, LSWS_ST_BAD_REQUEST, NULL, 0);
        return;
    }
    if (q == LSWS_HQ_STOP) {
        int had = sim->hq.open && sim->hq.kind == kind;
        if (had)
            drop_query(sim);
        answer_status(sim, r, LSWS_ST_OK, had ? "query stopped" : "no query of that kind to stop");
        return;
    }
    if (q == LSWS_HQ_CLEAR) {
        /* 5e: everything of that kind recorded until now is gone; stored
         * with the unit, under the state file's lock. */
        if (begin_change(sim) < 0) {
            answer(r, LSWS_ST_STORAGE, NULL, 0);
            return;
        }
        uint32_t old = sim->st.hist.cleared[kind], now = device_time(sim);
        sim->st.hist.cleared[kind] = now ? now : 1;
        if (persist(sim, sim->st.cfg) != LSWS_OK) {
            sim->st.hist.cleared[kind] = old;
            answer(r, LSWS_ST_STORAGE, NULL, 0);
        } else {
            if (sim->hq.open && sim->hq.kind == kind)
                drop_query(sim);
            answer_status(sim, r, LSWS_ST_OK, NULL);
            detail(sim, "%s data cleared", lsws_history_kind_name(kind));
        }
        end_change(sim);
        return;
    }
    /* "The prerequisites are that the device time is correct and the data
     * storage function is enabled" (ch.5 Commands for Historical Data Query). */
    int st_idx = lsws_model_find(sim->st.model, "storage.enabled");
    if (st_idx < 0 || !sim->st.cfg->values[st_idx].num) {
        answer_status(sim, r, LSWS_ST_STORAGE_OFF, "data storage is disabled (storage.enabled)");
        return;
    }
    if (!sim->st.clock_set) {
        answer_status(sim, r, LSWS_ST_NO_CLOCK, "the clock was never set (time sync)");
        return;
    }
    if (store_ready(sim, r) < 0)
        return;
    uint32_t a = le32(p + 2), b = q == LSWS_HQ_RANGE ? le32(p + 6) : a;
    if (q == LSWS_HQ_STATUS) {
        struct lsws_history_status hs;
        uint8_t out[20];
        b = le32(p + 6);
        sim_store_status(sim->store, &sim->st, kind, a, b, &hs);
        put32(out, hs.count);
        put32(out + 4, hs.first);
        put32(out + 8, hs.last);
        put32(out + 12, hs.stored);
        put32(out + 16, hs.capacity);
        detail(sim, "status %s: %u records in range, %u stored", lsws_history_kind_name(kind), hs.count, hs.stored);
        answer(r, LSWS_ST_OK, out, sizeof out);
        return;
    }
    const uint8_t *tail = p + (q == LSWS_HQ_RANGE ? 10 : 6);
    uint32_t offset = le32(tail);
    unsigned max = (unsigned)tail[4] | (unsigned)tail[5] << 8;
    if (max < 4 + LSWS_HISTORY_PAGE_HEAD + 1) {
        detail(sim, "history: pages of %u bytes cannot carry records", max);
        answer(r, LSWS_ST_BAD_REQUEST, NULL, 0);
        return;
    }
    if (q == LSWS_HQ_RANGE && a > b) {
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, "history: range starts after it ends");
        return;
    }
    if (offset == 0) {
        /* A new query: its answer is fixed now, whatever happens to the
         * store while it is read (as the unit uploads what it found). */
        struct lsws_error err;
        lsws_error_clear(&err);
        drop_query(sim);
        if (sim_store_answer(sim->store, &sim->st, kind, q == LSWS_HQ_POINT, a, b, &sim->hq.bytes, &sim->hq.len,
                             &sim->hq.records, &sim->hq.more, &err) != LSWS_OK) {
            answer_status(sim, r, LSWS_ST_BUSY, err.msg);
            return;
        }
        sim->hq.open = 1;
        sim->hq.query = q;
        sim->hq.kind = kind;
        sim->hq.a = a;
        sim->hq.b = b;
    } else if (!sim->hq.open || sim->hq.query != q || sim->hq.kind != kind || sim->hq.a != a || sim->hq.b != b) {
        answer_status(sim, r, LSWS_ST_SEQUENCE, "history: a page of a query that is not open (start at offset 0)");
        return;
    }
    history_page(sim, r, offset, max);
}

/* The login decision, on the unit's count of failures (sim->st), which it
 * updates; wall is the time now (wall_ms). */
static void login(struct lsws_sim *sim, struct reply *r, const uint8_t *p, size_t n, int64_t wall)
{
    struct sim_state *st = &sim->st;
    if (st->lockout_until_ms) {
        int64_t left = st->lockout_until_ms - wall;
        if (left > 0) {
            /* A wall clock stepped back must not make the lockout longer. */
            unsigned secs = (unsigned)(((left < LOCKOUT_MS ? left : LOCKOUT_MS) + 999) / 1000);
            uint8_t w[2] = {(uint8_t)secs, (uint8_t)(secs >> 8)};
            detail(sim, "logins refused for %u s more", secs);
            answer(r, LSWS_ST_RATE_LIMITED, w, sizeof w);
            return;
        }
        st->lockout_until_ms = 0; /* over: a new start */
        st->login_failures = 0;
    }
    if (n != 6) {
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, "auth: a password has 6 characters");
        return;
    }
    const struct lsws_value *pw = &st->cfg->values[sim->pw_idx];
    if (pw->len == 6 && memcmp(pw->bytes, p, 6) == 0) {
        /* OK carries the device information, so a client that knows the
         * password needs no IDENTIFY first (docs/protocol.md). */
        struct lsws_device_info info;
        uint8_t ip[LSWS_INFO_LEN];
        size_t ilen = 0;
        sim->authed = 1;
        st->login_failures = 0;
        lsws_sim_info(sim, &info);
        if (lsws_info_encode(&info, ip, sizeof ip, &ilen) != LSWS_OK)
            ilen = 0;
        answer(r, LSWS_ST_OK, ip, ilen);
        return;
    }
    sim->authed = 0;
    if (++st->login_failures >= AUTH_FAILURES) {
        st->lockout_until_ms = wall + LOCKOUT_MS;
        detail(sim, "%u wrong passwords in a row: logins refused for %d s", st->login_failures,
               LOCKOUT_MS / 1000);
    } else {
        detail(sim, "wrong password (%u in a row)", st->login_failures);
    }
    answer(r, LSWS_ST_AUTH_FAILED, NULL, 0);
}

/* The count of wrong passwords belongs to the unit, not to a session or a
 * process: it is kept in the state file and changed under its lock, as a
 * setting is. A unit that cannot store it still counts, in memory. */
static void op_auth(struct lsws_sim *sim, struct reply *r, const uint8_t *p, size_t n, uint64_t now)
{
    int locked = begin_change(sim) == 0;
    unsigned failures = sim->st.login_failures;
    int64_t until = sim->st.lockout_until_ms;
    login(sim, r, p, n, wall_ms(sim, now));
    if (locked && (sim->st.login_failures != failures || sim->st.lockout_until_ms != until)) {
        char said[sizeof sim->detail];
        memcpy(said, sim->detail, sizeof said);
        if (persist(sim, sim->st.cfg) != LSWS_OK) /* persist put the reason in the detail */
            detail(sim, "%s; not stored: %.100s", said, sim->detail);
    }
    if (locked)
        end_change(sim);
}

/* ---- FW_BEGIN, FW_DATA, FW_END (firmware.c) ------------------------------------------------ */

void lsws_sim_factory_versions(enum lsws_model_id model, uint16_t *hw, uint16_t *fw)
{
    *hw = model < LSWS_MODEL_COUNT ? versions[model].hw : 0;
    *fw = model < LSWS_MODEL_COUNT ? versions[model].fw : 0;
}

struct sim_fw *sim_fw_of(struct lsws_sim *sim)
{
    return sim->fw;
}

/* Under the state file's lock, as a change of the unit: the staged image is
 * the unit's flash, shared with every process serving the file. A verified
 * image is committed by storing its version as the one the unit runs; then
 * the unit reboots (the session ends; the answer stays cached, as RESET's). */
static void op_firmware(struct lsws_sim *sim, struct reply *r, unsigned op, const uint8_t *p, size_t n)
{
    struct sim_fw_reply rep;
    struct lsws_device_info info;
    int reboot = 0;
    if (begin_change(sim) < 0) {
        answer(r, LSWS_ST_STORAGE, NULL, 0);
        return;
    }
    lsws_sim_info(sim, &info);
    struct sim_fw_unit unit = {info.model, info.hw, info.fw};
    sim_fw_request(sim->fw, &unit, op, p, n, &rep);
    if (rep.status == SIM_FW_COMMIT) {
        uint16_t old = sim->st.fw_version;
        char was[16], now[16];
        sim->st.fw_version = rep.new_fw;
        if (persist(sim, sim->st.cfg) != LSWS_OK) { /* persist put the reason in the detail */
            sim->st.fw_version = old;
            end_change(sim);
            answer(r, LSWS_ST_STORAGE, NULL, 0);
            return;
        }
        sim_fw_committed(sim->fw);
        lsws_version_format(info.fw, 0, was, sizeof was);
        lsws_version_format(rep.new_fw, 0, now, sizeof now);
        detail(sim, "%s; firmware %s committed (was %s); rebooting", rep.why, now, was);
        rep.status = LSWS_ST_OK;
        rep.out[0] = (uint8_t)(rep.new_fw >> 8); /* vendor order, as in IDENTIFY */
        rep.out[1] = (uint8_t)rep.new_fw;
        rep.len = 2;
        reboot = 1;
    } else if (rep.status != LSWS_ST_INVALID) {
        detail(sim, "%s", rep.why);
    }
    end_change(sim);
    if (rep.status == LSWS_ST_INVALID)
        refuse(sim, r, rep.offset, "%s", rep.why);
    else
        answer(r, rep.status, rep.out, rep.len);
    if (reboot)
        end_session(sim, 0);
}

/* ---- dispatch --------------------------------------------------------------------- */

static const char *op_name(unsigned op)
{
    switch (op) {
    case LSWS_OP_IDENTIFY: return "identify";
    case LSWS_OP_AUTH: return "auth";
    case LSWS_OP_READ: return "read";
    case LSWS_OP_WRITE: return "write";
    case LSWS_OP_RESET: return "reset";
    case LSWS_OP_REBOOT: return "reboot";
    case LSWS_OP_TIME_SYNC: return "time-sync";
    case LSWS_OP_PASSWORD: return "password";
    case LSWS_OP_FW_BEGIN: return "fw-begin";
    case LSWS_OP_FW_DATA: return "fw-data";
    case LSWS_OP_FW_END: return "fw-end";
    case LSWS_OP_HISTORY: return "history";
    default: return "op";
    }
}

static void dispatch(struct lsws_sim *sim, const uint8_t *req, size_t len, struct reply *r, uint64_t now)
{
    struct lsws_msg m;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (len > sim->max_msg) {
        /* A unit with a smaller buffer cannot take it; it says so rather
         * than act on part of it. */
        abandon(sim);
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, NULL);
        detail(sim, "a request of %zu bytes is larger than this unit's maximum message of %zu bytes",
               len, sim->max_msg);
        return;
    }
    if (lsws_msg_decode(req, len, &m, &err) != LSWS_OK) {
        abandon(sim);
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, err.msg);
        return;
    }
    if (m.response) {
        abandon(sim);
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, "a response is not a request");
        return;
    }
    if (m.op != LSWS_OP_WRITE)
        abandon(sim);
    refresh(sim); /* what other processes sharing the state file changed */
    switch (m.op) {
    case LSWS_OP_IDENTIFY: {
        struct lsws_device_info info;
        uint8_t p[LSWS_INFO_LEN];
        size_t n;
        if (m.len) {
            answer_status(sim, r, LSWS_ST_BAD_REQUEST, "identify takes no payload");
            return;
        }
        lsws_sim_info(sim, &info);
        if (lsws_info_encode(&info, p, sizeof p, &n) != LSWS_OK) {
            answer_status(sim, r, LSWS_ST_BUSY, "cannot encode the device information");
            return;
        }
        answer(r, LSWS_ST_OK, p, n);
        return;
    }
    case LSWS_OP_AUTH:
        op_auth(sim, r, m.payload, m.len, now);
        return;
    case LSWS_OP_READ:
    case LSWS_OP_WRITE:
    case LSWS_OP_RESET:
    case LSWS_OP_REBOOT:
    case LSWS_OP_TIME_SYNC:
    case LSWS_OP_PASSWORD:
    case LSWS_OP_FW_BEGIN:
    case LSWS_OP_FW_DATA:
    case LSWS_OP_FW_END:
    case LSWS_OP_HISTORY:
        break;
    default:
        answer(r, LSWS_ST_UNKNOWN_OP, NULL, 0);
        return;
    }
    if (!sim->authed) {
        if (m.op == LSWS_OP_WRITE) /* nothing of it is staged */
            sim->txn_open = 0;
        answer(r, LSWS_ST_AUTH_REQUIRED, NULL, 0);
        return;
    }
    switch (m.op) {
    case LSWS_OP_READ:
        op_read(sim, r, m.payload, m.len);
        return;
    case LSWS_OP_WRITE:
        op_write(sim, r, m.payload, m.len);
        return;
    case LSWS_OP_PASSWORD:
        op_password(sim, r, m.payload, m.len);
        return;
    case LSWS_OP_RESET:
    case LSWS_OP_REBOOT:
        if (m.len) {
            answer_status(sim, r, LSWS_ST_BAD_REQUEST, "takes no payload");
            return;
        }
        if (m.op == LSWS_OP_RESET) {
            op_reset(sim, r);
        } else {
            answer_status(sim, r, LSWS_ST_OK, "rebooting");
            end_session(sim, 0);
        }
        return;
    case LSWS_OP_TIME_SYNC:
        op_time_sync(sim, r, m.payload, m.len);
        return;
    case LSWS_OP_FW_BEGIN:
    case LSWS_OP_FW_DATA:
    case LSWS_OP_FW_END:
        op_firmware(sim, r, m.op, m.payload, m.len);
        return;
    case LSWS_OP_HISTORY:
        op_history(sim, r, m.payload, m.len);
        return;
    default:
        answer_status(sim, r, LSWS_ST_UNSUPPORTED, "not served by this simulator yet");
        return;
    }
}

void lsws_sim_handle(struct lsws_sim *sim, const uint8_t *req, size_t len, uint8_t *resp,
                     size_t cap, size_t *rlen, uint64_t now_ms)
{
    if (cap > sim->max_msg)
        cap = sim->max_msg; /* the unit never sends more than its own maximum */
    struct reply r = {resp, cap, rlen, len > 1 ? req[1] : 0,
                      (uint8_t)(len > 2 ? req[2] & (uint8_t)~LSWS_OP_RESPONSE : 0), -1};
    const char *idle = "";
    *rlen = 0;
    wall_ms(sim, now_ms); /* maps the caller's clock at its first request */
    sim->detail[0] = '\0';
    sim->stats.requests++;
    if (sim->st.model->id == LSWS_MODEL_CTH01 && sim->have_last && now_ms > sim->last_ms &&
        now_ms - sim->last_ms > IDLE_MS) {
        if (sim->authed || sim->txn_open)
            idle = "3 minutes without data ended the session; ";
        end_session(sim, 1);
    }
    sim->have_last = 1;
    sim->last_ms = now_ms;

    /* Same seq and same bytes as a recent request: a retry. */
    for (unsigned i = 0; len >= 3 && i < sim->n_kept; i++) {
        const struct kept *k = &sim->kept[i];
        if (len != k->req_len || memcmp(req, k->req, len) != 0)
            continue;
        if (k->resp_len <= cap) {
            memcpy(resp, k->resp, k->resp_len);
            *rlen = k->resp_len;
        }
        sim->stats.duplicates++;
        snprintf(sim->note, sizeof sim->note, "seq %u %s: identical retry, previous answer resent",
                 r.seq, op_name(r.op));
        return;
    }
    dispatch(sim, req, len, &r, now_ms);
    if (*rlen && len >= 3 && len <= sizeof sim->kept[0].req) {
        struct kept *k = &sim->kept[sim->next_kept];
        memcpy(k->req, req, len);
        k->req_len = len;
        memcpy(k->resp, resp, *rlen);
        k->resp_len = *rlen;
        sim->next_kept = (sim->next_kept + 1) % LSWS_PIPELINE_MAX;
        if (sim->n_kept < LSWS_PIPELINE_MAX)
            sim->n_kept++;
    }
    snprintf(sim->note, sizeof sim->note, "seq %u %s: %s%s%s%s", r.seq, op_name(r.op), idle,
             r.status < 0 ? "no answer" : lsws_proto_status_text(r.status), sim->detail[0] ? ": " : "",
             sim->detail);
}
