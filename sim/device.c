/* The simulated device: WS523 and CTH01 behaviour behind the lsws
 * configuration protocol (docs/protocol.md), as the vendor guides describe
 * it (docs/simulator.md lists what is emulated and where it comes from).
 *
 * lsws_sim_handle takes one request message and produces one response; it
 * never fails on bad input. Everything a session holds (authentication, an
 * open WRITE transaction, the last response for identical retries) lives
 * here; what a unit keeps in flash lives in struct sim_state and the state
 * file (state.c). */
#include "sim_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDLE_MS LSWS_SIM_IDLE_MS /* CTH01: BLE ends after 3 minutes without data (sim.h) */
#define AUTH_FAILURES 5   /* failures in a row before logins are refused */
#define LOCKOUT_MS 60000u /* for this long */
#define TXN_MAX 16384     /* bytes of settings TLVs in one WRITE transaction */
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
    char *state_path; /* NULL: state in memory only */
    struct sim_cmd *cmds;
    size_t n_cmds;
    struct lsws_config *scratch; /* for encoding one command at a time */
    int pw_idx, tz_idx, band_idx;

    /* session */
    int authed;
    int have_last;
    uint64_t last_ms;
    /* logins, over sessions */
    unsigned failures;
    int locked;
    uint64_t lock_until;
    /* WRITE transaction */
    int txn_open;
    uint8_t *txn;
    size_t txn_len;
    /* the last request and its response, for identical retries */
    int cached;
    uint8_t creq[LSWS_MSG_MAX], cresp[LSWS_MSG_MAX];
    size_t creq_len, cresp_len;

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
    struct lsws_sim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    sim->st.model = m;
    int rc = LSWS_ERR_NOMEM;
    sim->txn = malloc(TXN_MAX);
    if (!sim->txn || (opts->state_path && !(sim->state_path = strdup(opts->state_path))) ||
        lsws_config_new(m, &sim->scratch) != LSWS_OK) {
        lsws_fail(err, rc, SIZE_MAX, "out of memory");
        goto fail;
    }
    if ((rc = build_cmds(sim, err)) != LSWS_OK)
        goto fail;
    sim->pw_idx = lsws_model_find(m, "general.password");
    sim->tz_idx = lsws_model_find(m, "time.zone");
    sim->band_idx = lsws_model_find(m, "lorawan.band");

    struct lsws_identity want;
    if ((rc = sim_identity(m, opts->sn, &want, err)) != LSWS_OK)
        goto fail;
    rc = sim->state_path ? sim_state_load(sim->state_path, &sim->st, err) : LSWS_ERR_NODEV;
    if (rc == LSWS_OK) {
        /* The file is the unit: options may only repeat what it says. */
        if (opts->sn && strcmp(want.sn, sim->st.id.sn) != 0) {
            rc = lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX,
                           "state file '%s' holds unit %s, not %s: use another state file",
                           sim->state_path, sim->st.id.sn, want.sn);
            goto fail;
        }
        if (opts->band && strcmp(band->name, sim->st.factory_band) != 0) {
            rc = lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX,
                           "state file '%s' holds a %s unit, not %s: use another state file",
                           sim->state_path, sim->st.factory_band, band->name);
            goto fail;
        }
    } else if (rc == LSWS_ERR_NODEV) {
        sim->st.id = want;
        snprintf(sim->st.factory_band, sizeof sim->st.factory_band, "%s", band->name);
        if ((rc = sim_factory_config(&sim->st, &sim->st.cfg, err)) != LSWS_OK)
            goto fail;
        if (sim->state_path && (rc = sim_state_save(sim->state_path, &sim->st, NULL, err)) != LSWS_OK)
            goto fail;
    } else {
        goto fail;
    }
    update_name(sim);
    *out = sim;
    return LSWS_OK;
fail:
    lsws_sim_free(sim);
    return rc;
}

void lsws_sim_free(struct lsws_sim *sim)
{
    if (!sim)
        return;
    lsws_config_free(sim->st.cfg);
    lsws_config_free(sim->scratch);
    free(sim->cmds);
    free(sim->txn);
    free(sim->state_path);
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

/* ---- sessions ------------------------------------------------------------------ */

static void end_session(struct lsws_sim *sim, int forget_cache)
{
    sim->authed = 0;
    sim->txn_open = 0;
    sim->txn_len = 0;
    if (forget_cache)
        sim->cached = 0;
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
    info->fw = versions[m->id].fw;
    info->band = (uint8_t)sim->st.cfg->values[sim->band_idx].num;
    info->max_payload = LSWS_MSG_MAX;
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

/* Stores cfg as the unit's settings (nothing changes in memory yet). */
static int persist(struct lsws_sim *sim, const struct lsws_config *cfg)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    if (!sim->state_path)
        return LSWS_OK;
    int rc = sim_state_save(sim->state_path, &sim->st, cfg, &err);
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

/* The last frame of a transaction: check everything, then apply all or nothing. */
static void commit(struct lsws_sim *sim, struct reply *r)
{
    const struct lsws_model *m = sim->st.model;
    const uint8_t *t = sim->txn;
    size_t len = sim->txn_len;
    struct lsws_config *delta = NULL, *merged = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_config_new(m, &delta) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, "out of memory");
        return;
    }
    /* Each value against the model table. */
    if (lsws_settings_decode(delta, t, len, &err) != LSWS_OK) {
        refuse(sim, r, err.offset, "%s", err.msg);
        goto done;
    }
    /* Read-only settings, and the password rule the codec does not know. */
    for (size_t pos = 0, span = 0; pos < len; pos += span) {
        const struct sim_cmd *c = cmd_at(sim, t + pos, len - pos);
        if (!c || lsws_settings_span(m, t + pos, len - pos, &span, NULL) != LSWS_OK) {
            refuse(sim, r, pos, "malformed command at byte %zu", pos);
            goto done;
        }
        for (unsigned f = 0; f < c->n; f++)
            if (m->settings[c->idx[f]].row->flags & LSWS_F_READONLY) {
                refuse(sim, r, pos, "%s is read-only", m->settings[c->idx[f]].key);
                goto done;
            }
        for (unsigned f = 0; f < c->n; f++) {
            struct lsws_value v;
            size_t at = pos + c->code_len + m->settings[c->idx[f]].off;
            if ((int)c->idx[f] == sim->pw_idx && check_password(sim, t + at, 6, &v, &err) != LSWS_OK) {
                refuse(sim, r, at + (err.offset == SIZE_MAX ? 0 : err.offset), "%s", err.msg);
                goto done;
            }
        }
    }
    /* The rules between settings, as they will be after the write. */
    if (lsws_config_copy(sim->st.cfg, &merged) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, "out of memory");
        goto done;
    }
    size_t changed = 0;
    for (size_t i = 0; i < m->n_settings; i++) {
        if (!delta->present[i])
            continue;
        changed += !lsws_value_equal(m, i, &merged->values[i], &delta->values[i]);
        merged->values[i] = delta->values[i];
    }
    if (lsws_config_check(merged, &err) != LSWS_OK) {
        refuse(sim, r, 0xffff, "%s", err.msg);
        goto done;
    }
    if (apply(sim, r, merged) < 0) {
        merged = NULL;
        goto done;
    }
    merged = NULL;
    sim->stats.writes++;
    detail(sim, "applied %zu settings (%zu changed)", lsws_config_count(delta), changed);
    answer(r, LSWS_ST_OK, NULL, 0);
done:
    lsws_config_free(delta);
    lsws_config_free(merged);
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
    if (lsws_config_copy(sim->st.cfg, &cfg) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, "out of memory");
        return;
    }
    cfg->values[sim->pw_idx] = v;
    if (apply(sim, r, cfg) == 0)
        answer_status(sim, r, LSWS_ST_OK, "password changed");
}

static void op_reset(struct lsws_sim *sim, struct reply *r)
{
    struct lsws_config *cfg;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (sim_factory_config(&sim->st, &cfg, &err) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, err.msg);
        return;
    }
    if (apply(sim, r, cfg) < 0)
        return;
    answer_status(sim, r, LSWS_ST_OK, "factory defaults restored; rebooting");
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
    struct lsws_config *cfg;
    if (lsws_config_copy(sim->st.cfg, &cfg) != LSWS_OK) {
        answer_status(sim, r, LSWS_ST_BUSY, "out of memory");
        return;
    }
    cfg->values[sim->tz_idx].num = tz;
    int64_t old = sim->st.clock_offset;
    sim->st.clock_offset = (int64_t)t - (int64_t)time(NULL);
    if (apply(sim, r, cfg) < 0) {
        sim->st.clock_offset = old;
        return;
    }
    answer_status(sim, r, LSWS_ST_OK, NULL);
    detail(sim, "clock set to %lu, UTC offset %d min", (unsigned long)t, tz);
}

static void op_auth(struct lsws_sim *sim, struct reply *r, const uint8_t *p, size_t n, uint64_t now)
{
    if (sim->locked) {
        if (now < sim->lock_until) {
            uint64_t secs = (sim->lock_until - now + 999) / 1000;
            uint8_t w[2] = {(uint8_t)secs, (uint8_t)(secs >> 8)};
            detail(sim, "logins refused for %u s more", (unsigned)secs);
            answer(r, LSWS_ST_RATE_LIMITED, w, sizeof w);
            return;
        }
        sim->locked = 0;
        sim->failures = 0;
    }
    if (n != 6) {
        answer_status(sim, r, LSWS_ST_BAD_REQUEST, "auth: a password has 6 characters");
        return;
    }
    const struct lsws_value *pw = &sim->st.cfg->values[sim->pw_idx];
    if (pw->len == 6 && memcmp(pw->bytes, p, 6) == 0) {
        /* OK carries the device information, so a client that knows the
         * password needs no IDENTIFY first (docs/protocol.md). */
        struct lsws_device_info info;
        uint8_t ip[LSWS_INFO_LEN];
        size_t ilen = 0;
        sim->authed = 1;
        sim->failures = 0;
        lsws_sim_info(sim, &info);
        if (lsws_info_encode(&info, ip, sizeof ip, &ilen) != LSWS_OK)
            ilen = 0;
        answer(r, LSWS_ST_OK, ip, ilen);
        return;
    }
    sim->authed = 0;
    if (++sim->failures >= AUTH_FAILURES) {
        sim->locked = 1;
        sim->lock_until = now + LOCKOUT_MS;
        detail(sim, "%u wrong passwords in a row: logins refused for %u s", sim->failures,
               LOCKOUT_MS / 1000);
    } else {
        detail(sim, "wrong password (%u in a row)", sim->failures);
    }
    answer(r, LSWS_ST_AUTH_FAILED, NULL, 0);
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
    default: /* firmware transfer and history: designed, not served yet */
        answer_status(sim, r, LSWS_ST_UNSUPPORTED, "not served by this simulator yet");
        return;
    }
}

void lsws_sim_handle(struct lsws_sim *sim, const uint8_t *req, size_t len, uint8_t *resp,
                     size_t cap, size_t *rlen, uint64_t now_ms)
{
    struct reply r = {resp, cap, rlen, len > 1 ? req[1] : 0,
                      (uint8_t)(len > 2 ? req[2] & (uint8_t)~LSWS_OP_RESPONSE : 0), -1};
    const char *idle = "";
    *rlen = 0;
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

    if (sim->cached && len >= 3 && len == sim->creq_len && memcmp(req, sim->creq, len) == 0) {
        if (sim->cresp_len <= cap) {
            memcpy(resp, sim->cresp, sim->cresp_len);
            *rlen = sim->cresp_len;
        }
        sim->stats.duplicates++;
        snprintf(sim->note, sizeof sim->note, "seq %u %s: identical retry, previous answer resent",
                 r.seq, op_name(r.op));
        return;
    }
    dispatch(sim, req, len, &r, now_ms);
    sim->cached = *rlen && len >= 3 && len <= sizeof sim->creq;
    if (sim->cached) {
        memcpy(sim->creq, req, len);
        sim->creq_len = len;
        memcpy(sim->cresp, resp, *rlen);
        sim->cresp_len = *rlen;
    }
    snprintf(sim->note, sizeof sim->note, "seq %u %s: %s%s%s%s", r.seq, op_name(r.op), idle,
             r.status < 0 ? "no answer" : lsws_proto_status_text(r.status), sim->detail[0] ? ": " : "",
             sim->detail);
}
