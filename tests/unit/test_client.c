/* The protocol client and the write transaction against a scripted fake
 * transport: a real simulated device (sim/) behind a link whose every frame
 * the test can drop, hold back, duplicate, delay or cut, with a chosen
 * message limit. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sim.h"

#define FRAMES 128
#define QUEUE 8

struct fake {
    struct lsws_sim *sim;
    enum lsws_model_id model;
    size_t link_max;      /* what the link reports; 0: nothing (LSWS_MSG_MAX) */
    size_t device_cap;    /* response buffer given to the device: smaller pages */
    unsigned frames;      /* requests sent, over every open */
    unsigned opens;
    size_t largest;       /* largest request seen */
    int drop[FRAMES];     /* the request never reaches the device */
    int lose[FRAMES];     /* the device acts, the answer is lost */
    int hold[FRAMES];     /* the answer arrives only after the next request */
    int twice[FRAMES];    /* the answer arrives twice */
    int cut[FRAMES];      /* the link drops instead of answering */
    int refuse[FRAMES];   /* answered BUSY without reaching the device */
    int flip[FRAMES];     /* reaches the device with its last byte changed */
    int delay_ms;         /* every answer comes this late */
    int inject_password;  /* READ answers also carry general.password */
    int refuse_open;      /* opens after the first fail */
    int up;
    uint8_t q[QUEUE][LSWS_MSG_MAX];
    size_t qlen[QUEUE], nq;
    uint8_t held[LSWS_MSG_MAX];
    size_t held_len;
};

static struct fake F;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void push(const uint8_t *m, size_t n)
{
    if (F.nq < QUEUE && n) {
        memcpy(F.q[F.nq], m, n);
        F.qlen[F.nq++] = n;
    }
}

static int fake_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h,
                     struct lsws_error *err)
{
    (void)uri;
    (void)opts;
    if (F.opens++ && F.refuse_open)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "fake: no device");
    F.up = 1;
    F.nq = 0;
    *h = &F;
    return LSWS_OK;
}

static void fake_close(void *h)
{
    (void)h;
    F.up = 0;
    lsws_sim_disconnect(F.sim);
}

/* READ answers with the password appended, as a careless device might. */
static void add_password(uint8_t *resp, size_t *len)
{
    struct lsws_config *pw;
    uint8_t tlv[32];
    size_t n;
    lsws_config_new(lsws_model_get(F.model), &pw);
    assert_int_equal(lsws_config_set(pw, "general.password", "654321", NULL), LSWS_OK);
    assert_int_equal(lsws_settings_report(pw, tlv, sizeof tlv, &n, NULL), LSWS_OK);
    lsws_config_free(pw);
    if (*len + n <= LSWS_MSG_MAX) {
        memcpy(resp + *len, tlv, n);
        *len += n;
    }
}

static int fake_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    (void)h;
    if (!F.up)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "fake: link closed");
    unsigned n = ++F.frames;
    int k = n < FRAMES ? (int)n : 0;
    if (len > F.largest)
        F.largest = len;
    if (F.held_len) { /* an answer held back from before comes first */
        push(F.held, F.held_len);
        F.held_len = 0;
    }
    if (F.drop[k])
        return LSWS_OK;
    if (F.cut[k]) {
        F.up = 0;
        lsws_sim_disconnect(F.sim);
        return LSWS_OK;
    }
    uint8_t resp[LSWS_MSG_MAX], changed[LSWS_MSG_MAX];
    size_t rlen = 0;
    if (F.flip[k] && len <= sizeof changed) { /* damaged in a way the link did not catch */
        memcpy(changed, msg, len);
        changed[len - 1] ^= 0x10;
        msg = changed;
    }
    if (F.refuse[k]) {
        lsws_msg_encode(msg[1], msg[2], LSWS_ST_BUSY, NULL, 0, resp, sizeof resp, &rlen);
    } else {
        lsws_sim_handle(F.sim, msg, len, resp, F.device_cap ? F.device_cap : sizeof resp, &rlen, mono_ms());
        if (F.inject_password && len >= 3 && msg[2] == LSWS_OP_READ && rlen > 4 && resp[3] == LSWS_ST_OK)
            add_password(resp, &rlen);
    }
    if (F.lose[k])
        return LSWS_OK;
    if (F.hold[k]) {
        memcpy(F.held, resp, rlen);
        F.held_len = rlen;
        return LSWS_OK;
    }
    push(resp, rlen);
    if (F.twice[k])
        push(resp, rlen);
    return LSWS_OK;
}

static int fake_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    (void)h;
    if (!F.up)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "fake: link closed");
    if (!F.nq || F.delay_ms > timeout_ms) { /* as a real link: nothing within the timeout */
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "fake: nothing");
    }
    if (F.delay_ms) {
        struct timespec ts = {F.delay_ms / 1000, (long)(F.delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(F.qlen[0] <= cap);
    memcpy(buf, F.q[0], F.qlen[0]);
    *len = F.qlen[0];
    memmove(F.q[0], F.q[1], sizeof F.q[0] * (QUEUE - 1));
    memmove(F.qlen, F.qlen + 1, sizeof F.qlen[0] * (QUEUE - 1));
    F.nq--;
    return LSWS_OK;
}

static void fake_limits(void *h, struct lsws_link_limits *out)
{
    (void)h;
    if (F.link_max)
        out->max_msg = F.link_max;
}

static const struct lsws_transport fake_transport = {
    .scheme = "fake", .open = fake_open, .close = fake_close, .send = fake_send,
    .recv = fake_recv, .limits = fake_limits, .timeout_ms = 50,
};

static struct lsws_client *start(enum lsws_model_id model)
{
    struct lsws_sim_opts so = {.model = model};
    struct lsws_error err;
    lsws_error_clear(&err);
    memset(&F, 0, sizeof F);
    F.model = model;
    if (lsws_sim_new(&so, &F.sim, &err) != LSWS_OK)
        fail_msg("sim: %s", err.msg);
    struct lsws_uri uri = {.text = "fake:unit", .transport = &fake_transport, .path = ""};
    struct lsws_client *c = NULL;
    if (lsws_client_open(&uri, NULL, &c, &err) != LSWS_OK)
        fail_msg("open: %s", err.msg);
    lsws_client_set_timeout(c, 40, 3);
    return c;
}

static void stop(struct lsws_client *c)
{
    lsws_client_close(c);
    lsws_sim_free(F.sim);
    F.sim = NULL;
}

static void auth(struct lsws_client *c, struct lsws_device_info *info)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_client_auth(c, "123456", info, &err) != LSWS_OK)
        fail_msg("auth: %s", err.msg);
}

static size_t readable(const struct lsws_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_settings; i++)
        n += !(m->settings[i].row->flags & LSWS_F_WRITEONLY);
    return n;
}

static struct lsws_config *read_all(struct lsws_client *c, int want_rc)
{
    struct lsws_config *cfg;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_config_new(lsws_model_get(F.model), &cfg), LSWS_OK);
    int rc = lsws_client_read(c, cfg, NULL, &err);
    if (rc != want_rc)
        fail_msg("read: %d, want %d: %s", rc, want_rc, err.msg);
    return cfg;
}

/* ---- exchanges ------------------------------------------------------------------ */

static void retry_after_a_lost_request(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    F.drop[1] = 1;
    assert_int_equal(lsws_client_identify(c, &info, NULL), LSWS_OK);
    struct lsws_client_stats st;
    lsws_client_stats(c, &st);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.exchanges, 1);
    stop(c);
}

/* The answer to a request that timed out arrives during the next one: it
 * has the old sequence number and is not taken for the new answer. */
static void late_answer_to_an_earlier_request(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    lsws_client_set_timeout(c, 40, 1);
    F.hold[1] = 1;
    assert_int_equal(lsws_client_identify(c, &info, NULL), LSWS_ERR_TIMEOUT);
    auth(c, &info); /* frame 2 gets frame 1's IDENTIFY answer first */
    assert_int_equal(info.model, LSWS_MODEL_WS523);
    struct lsws_config *cfg = read_all(c, LSWS_OK);
    assert_int_equal(lsws_config_count(cfg), readable(cfg->model));
    lsws_config_free(cfg);
    stop(c);
}

static void duplicate_answers_are_dropped(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_CTH01);
    struct lsws_device_info info;
    F.twice[1] = F.twice[2] = 1;
    auth(c, &info);
    struct lsws_config *cfg = read_all(c, LSWS_OK);
    assert_int_equal(lsws_config_count(cfg), readable(cfg->model));
    lsws_config_free(cfg);
    stop(c);
}

static void paged_read(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_CTH01);
    struct lsws_device_info info;
    F.device_cap = 100;
    auth(c, &info);
    struct lsws_config *cfg = read_all(c, LSWS_OK);
    assert_int_equal(lsws_config_count(cfg), readable(cfg->model));
    struct lsws_client_stats st;
    lsws_client_stats(c, &st);
    assert_true(st.exchanges > 5); /* one AUTH and many pages */
    lsws_config_free(cfg);
    stop(c);
}

/* A 64-byte link (BLE at MTU 23): every request fits, nothing is dropped:
 * a read of every code by list, and a write of every writable setting. */
static void split_to_64_byte_messages(void **state)
{
    (void)state;
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        struct lsws_client *c = start((enum lsws_model_id)m);
        const struct lsws_model *model = lsws_model_get((enum lsws_model_id)m);
        struct lsws_device_info info;
        struct lsws_error err;
        lsws_error_clear(&err);
        F.link_max = 64;
        F.device_cap = 64;
        lsws_client_reconnect(c, &err); /* the limit is read on open */
        auth(c, &info);
        assert_int_equal(lsws_client_max_msg(c), 64);
        struct lsws_config *all, *some, *tpl;
        assert_int_equal(lsws_config_new(model, &all), LSWS_OK);
        assert_int_equal(lsws_config_new(model, &some), LSWS_OK);
        assert_int_equal(lsws_config_new(model, &tpl), LSWS_OK);
        for (size_t i = 0; i < model->n_settings; i++)
            all->present[i] = 1;
        if (lsws_client_read(c, some, all, &err) != LSWS_OK)
            fail_msg("%s read by list: %s", model->name, err.msg);
        assert_int_equal(lsws_config_count(some), readable(model));
        /* Every writable setting, changed where it can be, in one transaction. */
        struct lsws_identity id;
        memcpy(id.sn, info.sn, sizeof id.sn);
        memcpy(id.dev_eui, info.dev_eui, 8);
        assert_int_equal(lsws_config_defaults(tpl, "EU868", &id, &err), LSWS_OK);
        for (size_t i = 0; i < model->n_settings; i++)
            if (model->settings[i].row->flags & (LSWS_F_READONLY | LSWS_F_WRITEONLY))
                tpl->present[i] = 0;
        assert_int_equal(lsws_config_set(tpl, "lorawan.app_port", "99", &err), LSWS_OK);
        if (lsws_client_write(c, tpl, some, &err) != LSWS_OK)
            fail_msg("%s write: %s", model->name, err.msg);
        struct lsws_config *back = read_all(c, LSWS_OK);
        for (size_t i = 0; i < model->n_settings; i++)
            if (tpl->present[i] && !lsws_value_equal(model, i, &tpl->values[i], &back->values[i]))
                fail_msg("%s: %s did not arrive", model->name, model->settings[i].key);
        assert_true(F.largest <= 64);
        lsws_config_free(all);
        lsws_config_free(some);
        lsws_config_free(tpl);
        lsws_config_free(back);
        stop(c);
    }
}

/* A device that answers each page slowly cannot keep a command busy past
 * its total deadline. */
static void total_deadline(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_CTH01);
    struct lsws_device_info info;
    struct lsws_error err;
    lsws_error_clear(&err);
    auth(c, &info);
    F.device_cap = 64; /* a dozen pages and more, each answered 100 ms late: 1.5 s or so */
    F.delay_ms = 100;
    lsws_client_set_timeout(c, 500, 3);
    lsws_client_set_deadline(c, 250);

    uint64_t t0 = mono_ms();
    struct lsws_config *cfg;
    assert_int_equal(lsws_config_new(lsws_model_get(F.model), &cfg), LSWS_OK);
    assert_int_equal(lsws_client_read(c, cfg, NULL, &err), LSWS_ERR_TIMEOUT);
    uint64_t took = mono_ms() - t0;
    if (!strstr(err.msg, "deadline"))
        fail_msg("got: %s", err.msg);
    assert_true(took < 1000); /* far less than the read would take without a deadline */
    lsws_config_free(cfg);
    stop(c);
}

/* The link drops in the middle of a paged read: the client reconnects,
 * authenticates again and finishes. */
static void reconnect_after_a_drop(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    F.device_cap = 100;
    auth(c, &info);
    F.cut[4] = 1;
    struct lsws_config *cfg = read_all(c, LSWS_OK);
    assert_int_equal(lsws_config_count(cfg), readable(cfg->model));
    struct lsws_client_stats st;
    lsws_client_stats(c, &st);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(F.opens, 2);
    lsws_config_free(cfg);
    stop(c);
}

static void write_only_settings_never_read(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    auth(c, &info);
    F.inject_password = 1;
    struct lsws_config *cfg = read_all(c, LSWS_OK);
    assert_setting(cfg, "general.password", "(absent)");
    lsws_config_free(cfg);
    stop(c);
}

/* ---- the write transaction -------------------------------------------------------- */

static struct lsws_txn *plan(struct lsws_client *c, const struct lsws_device_info *info, const char *const *kv,
                             int want_rc)
{
    struct lsws_config *want;
    struct lsws_error err;
    struct lsws_txn *t = NULL;
    lsws_error_clear(&err);
    assert_int_equal(lsws_config_new(lsws_model_get(F.model), &want), LSWS_OK);
    for (; *kv; kv += 2)
        assert_int_equal(lsws_config_set(want, kv[0], kv[1], &err), LSWS_OK);
    int rc = lsws_txn_plan(c, info, want, &t, &err);
    if (rc != want_rc)
        fail_msg("plan: %d, want %d: %s", rc, want_rc, err.msg);
    lsws_config_free(want);
    return t;
}

static const struct lsws_change *change_of(const struct lsws_txn *t, const char *key)
{
    for (size_t k = 0; k < t->n_changes; k++)
        if (strcmp(t->model->settings[t->changes[k].idx].key, key) == 0)
            return &t->changes[k];
    return NULL;
}

static void plan_brings_the_group_and_the_band(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_CTH01);
    struct lsws_device_info info;
    auth(c, &info);
    static const char *const kv[] = {"interface.current[4].range", "4000a", "lorawan.band", "US915", NULL};
    struct lsws_txn *t = plan(c, &info, kv, LSWS_OK);
    assert_int_equal(t->outcome, LSWS_TXN_PLANNED);
    const struct lsws_change *ch = change_of(t, "interface.current[5].range");
    assert_non_null(ch);
    assert_int_equal(ch->why, LSWS_WHY_GROUP);
    assert_non_null(strstr(ch->note, "group b"));
    assert_non_null(change_of(t, "interface.current[6].range"));
    assert_null(change_of(t, "interface.current[7].range"));
    ch = change_of(t, "lorawan.rx2_frequency");
    assert_non_null(ch);
    assert_int_equal(ch->why, LSWS_WHY_BAND);
    lsws_txn_free(t);

    static const char *const same[] = {"general.report_interval", "10", NULL};
    t = plan(c, &info, same, LSWS_OK);
    assert_int_equal(t->outcome, LSWS_TXN_NOTHING); /* the factory value already */
    lsws_txn_free(t);

    /* Not shorter than the report interval, with an alarm enabled; without
     * one the alarm interval does not bind (CTH01 guide ch.4). */
    static const char *const bad[] = {"alarm.interval", "20", "alarm.temperature.enabled", "true", NULL};
    assert_null(plan(c, &info, bad, LSWS_ERR_RANGE));
    static const char *const fine[] = {"alarm.interval", "20", NULL};
    t = plan(c, &info, fine, LSWS_OK);
    lsws_txn_free(t);
    stop(c);
}

static void apply_writes_and_verifies(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    struct lsws_error err;
    lsws_error_clear(&err);
    auth(c, &info);
    static const char *const kv[] = {"general.led", "false", "lorawan.app_port", "99", NULL};
    struct lsws_txn *t = plan(c, &info, kv, LSWS_OK);
    assert_int_equal(t->n_changes, 2);
    assert_int_equal(lsws_txn_apply(c, t, LSWS_TXN_NO_BACKUP, &err), LSWS_OK);
    assert_int_equal(t->outcome, LSWS_TXN_VERIFIED);
    assert_int_equal(t->changes[0].state, LSWS_CHG_VERIFIED);
    assert_int_equal(t->answer_lost, 0);
    lsws_txn_free(t);
    stop(c);
}

/* The commit's answer is lost and its retry refused: the client cannot
 * know, the transaction reconnects and reads back. */
static void ambiguous_write_is_settled_by_reading_back(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    struct lsws_error err;
    lsws_error_clear(&err);
    auth(c, &info);
    static const char *const kv[] = {"general.led", "false", NULL};
    struct lsws_txn *t = plan(c, &info, kv, LSWS_OK);
    unsigned next = F.frames + 1;
    F.lose[next] = 1;
    F.refuse[next + 1] = 1;
    assert_int_equal(lsws_txn_apply(c, t, LSWS_TXN_NO_BACKUP, &err), LSWS_OK);
    assert_int_equal(t->outcome, LSWS_TXN_VERIFIED);
    assert_int_equal(t->answer_lost, 1);
    assert_int_equal(F.opens, 2);
    lsws_txn_free(t);

    /* Dropped before the device saw it, every attempt: read back says old. */
    static const char *const kv2[] = {"lorawan.app_port", "77", NULL};
    t = plan(c, &info, kv2, LSWS_OK);
    next = F.frames + 1;
    F.drop[next] = F.drop[next + 1] = F.drop[next + 2] = 1;
    assert_int_equal(lsws_txn_apply(c, t, LSWS_TXN_NO_BACKUP, &err), LSWS_ERR_TIMEOUT);
    assert_int_equal(t->outcome, LSWS_TXN_UNCHANGED);
    assert_int_equal(t->changes[0].state, LSWS_CHG_OLD);
    lsws_txn_free(t);

    /* The link goes for good after the commit was sent: unknown. */
    t = plan(c, &info, kv2, LSWS_OK);
    next = F.frames + 1;
    F.cut[next] = 1;
    F.refuse_open = 1;
    assert_int_equal(lsws_txn_apply(c, t, LSWS_TXN_NO_BACKUP, &err), LSWS_ERR_NODEV);
    assert_int_equal(t->outcome, LSWS_TXN_UNKNOWN);
    assert_int_equal(t->changes[0].state, LSWS_CHG_UNKNOWN);
    lsws_txn_free(t);
    stop(c);
}

/* The device confirms the write, then its read-back is lost: the result
 * says the write went through, not that nothing happened. */
static void written_but_not_read_back(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    struct lsws_error err;
    lsws_error_clear(&err);
    auth(c, &info);
    static const char *const kv[] = {"general.led", "false", NULL};
    struct lsws_txn *t = plan(c, &info, kv, LSWS_OK);
    unsigned next = F.frames + 1;
    F.drop[next + 1] = F.drop[next + 2] = F.drop[next + 3] = 1;
    assert_int_equal(lsws_txn_apply(c, t, LSWS_TXN_NO_BACKUP, &err), LSWS_ERR_TIMEOUT);
    assert_int_equal(t->write_rc, LSWS_OK);
    assert_int_equal(t->outcome, LSWS_TXN_WRITTEN);
    lsws_txn_free(t);
    stop(c);
}

/* A refused write (answered on its first attempt) changed nothing. */
static void refused_write_changed_nothing(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_CTH01);
    struct lsws_device_info info;
    struct lsws_error err;
    lsws_error_clear(&err);
    F.link_max = 64;
    F.device_cap = 64;
    lsws_client_reconnect(c, &err);
    auth(c, &info);
    static const char *const kv[] = {"general.report_interval", "20", "lorawan.app_port", "90",
                                     "interface.current[1].range", "300a", "bluetooth.name", "CTH01-TEST", NULL};
    struct lsws_txn *t = plan(c, &info, kv, LSWS_OK);
    unsigned next = F.frames + 1;
    F.refuse[next] = F.refuse[next + 1] = F.refuse[next + 2] = 1;
    assert_int_equal(lsws_txn_apply(c, t, LSWS_TXN_NO_BACKUP, &err), LSWS_ERR_DEVICE);
    assert_int_equal(lsws_client_maybe_applied(c), 0);
    assert_int_equal(t->outcome, LSWS_TXN_UNCHANGED);
    lsws_txn_free(t);
    stop(c);
}

/* ---- the same unit after a reconnect ------------------------------------------------ */

/* The link comes back to another unit (a reused port name): the reconnect
 * fails and says so, and nothing more goes to that unit. */
static void reconnect_to_another_unit(void **state)
{
    (void)state;
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    struct lsws_error err;
    lsws_error_clear(&err);
    auth(c, &info);
    assert_int_equal(lsws_client_reconnect(c, &err), LSWS_OK);
    assert_int_equal(lsws_client_other_unit(c), 0);
    struct lsws_sim *mine = F.sim, *other;
    struct lsws_sim_opts so = {.model = LSWS_MODEL_WS523, .sn = "6762d21130960001"};
    assert_int_equal(lsws_sim_new(&so, &other, &err), LSWS_OK);
    F.sim = other;
    assert_int_equal(lsws_client_reconnect(c, &err), LSWS_ERR_NODEV);
    assert_int_equal(lsws_client_other_unit(c), 1);
    assert_non_null(strstr(err.msg, "leads to another unit (ws523 6762d21130960001, not ws523 "));
    /* Only IDENTIFY went to it: it never saw the password (AUTH would
     * have counted a login on it). */
    struct lsws_sim_stats st;
    lsws_sim_stats(other, &st);
    assert_int_equal(st.requests, 1);
    F.sim = mine;
    assert_int_equal(lsws_client_reconnect(c, &err), LSWS_OK);
    assert_int_equal(lsws_client_other_unit(c), 0);
    lsws_sim_free(other);
    stop(c);
}

/* ---- firmware chunks in flight --------------------------------------------------------- */

/* A WS523 image of n payload bytes, one version up. */
static uint8_t *image(size_t n, size_t *len)
{
    uint8_t *payload = malloc(n), *img = NULL;
    assert_non_null(payload);
    for (size_t i = 0; i < n; i++)
        payload[i] = (uint8_t)(i * 131 + (i >> 8));
    struct lsws_fw_header h = {.model = LSWS_MODEL_WS523, .hw_min = 0x0120, .hw_max = 0x0120, .fw = 0x0109};
    assert_int_equal(lsws_fw_image_build(&h, payload, n, &img, len, NULL), LSWS_OK);
    free(payload);
    return img;
}

struct stop_at {
    unsigned chunks; /* stop once this many are acknowledged */
    uint32_t acked;  /* what was acknowledged then */
};

static int stop_after(const struct lsws_upgrade *u, void *ctx)
{
    struct stop_at *s = ctx;
    if (!s->chunks || u->chunks < s->chunks)
        return 0;
    s->acked = u->acked;
    return 9;
}

/* Runs an upgrade of img on the fake unit; the job, for its counters. */
static struct lsws_upgrade *upgrade(struct lsws_client *c, const uint8_t *img, size_t len, struct stop_at *stop,
                                    int want_rc)
{
    struct lsws_device_info info;
    struct lsws_upgrade *u;
    struct lsws_error err;
    lsws_error_clear(&err);
    auth(c, &info);
    assert_int_equal(lsws_upgrade_plan(&info, img, len, 0, &u, &err), LSWS_OK);
    int rc = lsws_upgrade_run(c, u, stop ? stop_after : NULL, stop, &err);
    if (rc != want_rc)
        fail_msg("upgrade: %d, want %d: %s", rc, want_rc, err.msg);
    return u;
}

/* Three chunks in flight (3 KiB of 1024-byte messages). Frames: 1 AUTH,
 * 2 FW_BEGIN, FW_DATA from 3. A request lost in the middle of a window,
 * an answer lost in the middle of the next one, a chunk that arrives
 * corrupt: each is recovered from, nothing is stored twice or out of
 * place (FW_END checks the whole image's SHA-256), and the unit reports
 * the new version. */
static void chunks_in_flight_survive_losses(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = image(30 * 1013 + 500, &len);
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    F.drop[6] = 1;  /* the 4th chunk never arrives: 7 and 8 behind it are refused */
    F.lose[12] = 1; /* an answer lost while 13 and 14 are stored: its retry is answered from the cache */
    F.flip[20] = 1; /* refused as corrupt, and the chunks behind it with it */
    struct lsws_upgrade *u = upgrade(c, img, len, NULL, LSWS_OK);
    assert_int_equal(u->outcome, LSWS_UPG_DONE);
    assert_int_equal(u->after.fw, 0x0109);
    assert_int_equal(u->window, 3);
    assert_int_equal(u->chunk, 1013);
    assert_int_equal(u->chunks, 31);
    assert_int_equal(u->resent, 1);
    assert_int_equal(u->acked, u->total);
    assert_int_equal(u->reconnects, 0);
    struct lsws_sim_stats st;
    lsws_sim_stats(F.sim, &st);
    assert_int_equal(st.duplicates, 1); /* the retry of frame 12 */
    lsws_upgrade_free(u);
    stop(c);
    free(img);
}

/* The link drops with chunks in flight: the job reopens it, FW_BEGIN says
 * where the unit stands, and the transfer goes on from there. */
static void chunks_in_flight_link_dropped(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = image(20 * 1013, &len);
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    F.cut[10] = 1; /* frame 10 (the 8th chunk) is lost with the link, and the answers to 8 and 9 */
    struct lsws_upgrade *u = upgrade(c, img, len, NULL, LSWS_OK);
    assert_int_equal(u->outcome, LSWS_UPG_DONE);
    assert_int_equal(u->reconnects, 1);
    assert_int_equal(u->resumed_at, 7 * 1013); /* what the unit held: the chunks before the lost one */
    assert_int_equal(u->chunks, 18);           /* 6th and 7th stored, their answers lost */
    lsws_upgrade_free(u);
    stop(c);
    free(img);
}

/* Stopped by its progress callback (Ctrl-C): no chunk goes out after that,
 * the ones out are answered and counted, so what the job says the unit
 * holds is what it holds (the next FW_BEGIN says so), and it resumes there. */
static void chunks_in_flight_answered_before_a_stop(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = image(20 * 1013, &len);
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct stop_at at = {.chunks = 5};
    struct lsws_upgrade *u = upgrade(c, img, len, &at, 9);
    assert_int_equal(u->outcome, LSWS_UPG_INTERRUPTED);
    assert_int_equal(at.acked, 5 * 1013);
    assert_int_equal(u->acked, 7 * 1013); /* the two still in flight at the stop */
    assert_int_equal(u->chunks, 7);
    uint32_t held = u->acked;
    lsws_upgrade_free(u);
    u = upgrade(c, img, len, NULL, LSWS_OK);
    assert_int_equal(u->outcome, LSWS_UPG_DONE);
    assert_int_equal(u->first_offset, held);
    lsws_upgrade_free(u);
    stop(c);
    free(img);
}

/* A caller may ask for one chunk at a time; NFC always gets that. */
static void one_chunk_at_a_time(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = image(5 * 1013, &len);
    struct lsws_client *c = start(LSWS_MODEL_WS523);
    struct lsws_device_info info;
    struct lsws_upgrade *u;
    auth(c, &info);
    assert_int_equal(lsws_upgrade_plan(&info, img, len, 0, &u, NULL), LSWS_OK);
    u->window = 1;
    F.lose[4] = 1; /* the 2nd chunk's answer: its retry comes from the cache */
    assert_int_equal(lsws_upgrade_run(c, u, NULL, NULL, NULL), LSWS_OK);
    assert_int_equal(u->window, 1);
    assert_int_equal(u->chunks, 5);
    assert_int_equal(lsws_client_window(c, 0), 1);
    assert_int_equal(lsws_client_window(c, 99), LSWS_PIPELINE_MAX);
    lsws_upgrade_free(u);
    stop(c);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(retry_after_a_lost_request),
        cmocka_unit_test(late_answer_to_an_earlier_request),
        cmocka_unit_test(duplicate_answers_are_dropped),
        cmocka_unit_test(paged_read),
        cmocka_unit_test(split_to_64_byte_messages),
        cmocka_unit_test(total_deadline),
        cmocka_unit_test(reconnect_after_a_drop),
        cmocka_unit_test(write_only_settings_never_read),
        cmocka_unit_test(plan_brings_the_group_and_the_band),
        cmocka_unit_test(apply_writes_and_verifies),
        cmocka_unit_test(ambiguous_write_is_settled_by_reading_back),
        cmocka_unit_test(written_but_not_read_back),
        cmocka_unit_test(refused_write_changed_nothing),
        cmocka_unit_test(reconnect_to_another_unit),
        cmocka_unit_test(chunks_in_flight_survive_losses),
        cmocka_unit_test(chunks_in_flight_link_dropped),
        cmocka_unit_test(chunks_in_flight_answered_before_a_stop),
        cmocka_unit_test(one_chunk_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
