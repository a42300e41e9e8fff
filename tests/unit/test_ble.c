/* The BLE transport (transports/ble.c) and the protocol client over it,
 * against lsws-sim --ble on a private dbus-daemon this test starts (never
 * the machine's system bus): the link's limits follow the MTU, a message
 * goes out as MTU-sized fragments, the client reconnects and logs in again
 * after the CTH01 ended an idle connection, and a link dropped after a write
 * reached the unit is reported as a write that may have been applied.
 * Needs LSWS_SIM (the lsws-sim binary) and dbus-daemon; skipped (77) without. */
#include "test_util.h"
#include "../../bench/ble_bus.h" /* the private dbus-daemon the BLE benchmarks start too */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/lsws-test-ble-XXXXXX";
static pid_t bus_pid = -1, sim_pid = -1;
static char addr[32];

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void stop_sim(void)
{
    if (sim_pid > 0) {
        kill(sim_pid, SIGTERM);
        waitpid(sim_pid, NULL, 0);
    }
    sim_pid = -1;
}

/* 1 if the simulator (-v, stderr in dir/sim.err) logged text. */
static int sim_logged(const char *text)
{
    char path[128], buf[65536];
    snprintf(path, sizeof path, "%s/sim.err", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* lsws-sim --ble --model cth01 -v ARGS (NULL-terminated); its first hub's address in addr. */
static void start_sim(const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *sim = getenv("LSWS_SIM");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    sim_pid = fork();
    if (sim_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], 1);
        close(fds[0]);
        char log[128];
        snprintf(log, sizeof log, "%s/sim.err", dir);
        int err = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(err, 2);
        execl(sim, sim, "--ble", "--model", "cth01", "-v", a1, a2, a3, a4, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[128] = "";
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_int_equal(sscanf(line, "%*s %31s", addr), 1);
}

static int sim_teardown(void **state)
{
    (void)state;
    stop_sim();
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir) || (bus_pid = bench_bus_start(dir)) < 0)
        return -1;
    setenv("XDG_STATE_HOME", dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_sim();
    bench_stop(bus_pid);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void parse(const char *text, struct lsws_uri *uri)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_uri_parse(text, uri, &err) != LSWS_OK)
        fail_msg("%s", err.msg);
}

struct traced {
    unsigned out, in;
    size_t longest;
};

static void on_trace(void *ctx, char dir_, const uint8_t *b, size_t n, const char *note)
{
    (void)b;
    (void)note;
    struct traced *t = ctx;
    if (dir_ == '>')
        t->out++;
    else
        t->in++;
    if (n > t->longest)
        t->longest = n;
}

/* The link's limits follow the MTU; a message goes out in fragments that fit. */
static void test_limits_and_fragments(void **state)
{
    (void)state;
    static const char *const mtus[] = {"23", "247"};
    for (int i = 0; i < 2; i++) {
        start_sim("--mtu", mtus[i], NULL, NULL);
        char text[64];
        snprintf(text, sizeof text, "ble:%s", addr);
        struct lsws_uri uri;
        parse(text, &uri);
        struct traced t = {0};
        struct lsws_link_opts opts = {.trace = on_trace, .trace_ctx = &t};
        void *h = NULL;
        struct lsws_error err;
        lsws_error_clear(&err);
        const struct lsws_transport *tr = uri.transport;
        if (tr->open(&uri, &opts, &h, &err) != LSWS_OK)
            fail_msg("%s", err.msg);
        struct lsws_link_limits lim;
        tr->limits(h, &lim);
        size_t frag = (size_t)atoi(mtus[i]) - 3;
        assert_int_equal(lim.max_msg, LSWS_MSG_MAX);
        assert_int_equal(lim.fragment, frag);
        /* AUTH answers with the device information: 36 bytes. */
        uint8_t req[16], resp[LSWS_MSG_MAX];
        size_t rlen = 0, n = 0;
        assert_int_equal(lsws_msg_encode(7, LSWS_OP_AUTH, -1, (const uint8_t *)"123456", 6, req, sizeof req, &rlen),
                         LSWS_OK);
        assert_int_equal(tr->send(h, req, rlen, &err), LSWS_OK);
        assert_int_equal(tr->recv(h, resp, sizeof resp, &n, 2000, &err), LSWS_OK);
        struct lsws_msg m;
        assert_int_equal(lsws_msg_decode(resp, n, &m, &err), LSWS_OK);
        assert_int_equal(m.seq, 7);
        assert_int_equal(m.status, LSWS_ST_OK);
        assert_int_equal(n, 4 + LSWS_INFO_LEN);
        assert_int_equal(t.out, 1);
        assert_int_equal(t.in, lsws_ble_fragment_count(n, frag)); /* 3 at MTU 23, 1 at 247 */
        assert_true(t.longest <= frag);
        unsigned long sent = 0, received = 0;
        tr->wire_bytes(h, &sent, &received);
        assert_int_equal(sent, rlen + 3);
        assert_int_equal(received, n + 2 + t.in);
        tr->close(h);
        stop_sim();
    }
}

static struct lsws_client *open_client(void)
{
    char text[64];
    snprintf(text, sizeof text, "ble:%s", addr);
    struct lsws_uri uri;
    parse(text, &uri);
    struct lsws_client *c = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_client_open(&uri, NULL, &c, &err) != LSWS_OK)
        fail_msg("%s", err.msg);
    return c;
}

/* The CTH01 ends a connection after 3 minutes without data (180 ms on a
 * clock 1000 times faster): the next read reconnects and logs in again. */
static void test_idle_reconnect(void **state)
{
    (void)state;
    start_sim("--clock-scale", "1000", "--mtu", "23");
    struct lsws_client *c = open_client();
    struct lsws_error err;
    lsws_error_clear(&err);
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    struct lsws_config *cfg = NULL, *only = NULL;
    assert_int_equal(lsws_config_new(m, &cfg), LSWS_OK);
    assert_int_equal(lsws_config_new(m, &only), LSWS_OK);
    only->present[lsws_model_find(m, "general.report_interval")] = 1;
    assert_int_equal(lsws_client_auth(c, "123456", NULL, &err), LSWS_OK);
    assert_int_equal(lsws_client_read(c, cfg, only, &err), LSWS_OK);
    struct lsws_client_stats st;
    lsws_client_stats(c, &st);
    assert_int_equal(st.reconnects, 0);
    sleep_ms(500); /* 500 s on the unit's clock */
    if (lsws_client_read(c, cfg, NULL, &err) != LSWS_OK)
        fail_msg("read after the idle disconnect: %s", err.msg);
    lsws_client_stats(c, &st);
    assert_int_equal(st.reconnects, 1);
    assert_true(lsws_config_count(cfg) > 100);
    /* The hub ended the connection itself, not only the session. */
    assert_true(sim_logged("3 minutes without data: the hub ended the connection"));
    lsws_config_free(cfg);
    lsws_config_free(only);
    lsws_client_close(c);
    stop_sim();
}

/* The link drops after the unit applied a write, before it answered: the
 * client reports the link gone and that the write may have been applied. */
static void test_drop_after_write(void **state)
{
    (void)state;
    start_sim("--drop-link-after", "2", NULL, NULL);
    struct lsws_client *c = open_client();
    struct lsws_error err;
    lsws_error_clear(&err);
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    struct lsws_config *chg = NULL;
    assert_int_equal(lsws_config_new(m, &chg), LSWS_OK);
    assert_int_equal(lsws_config_set(chg, "general.report_interval", "15", &err), LSWS_OK);
    assert_int_equal(lsws_client_auth(c, "123456", NULL, &err), LSWS_OK);
    assert_int_equal(lsws_client_write(c, chg, NULL, &err), LSWS_ERR_NODEV);
    assert_non_null(strstr(err.msg, "link closed"));
    assert_int_equal(lsws_client_maybe_applied(c), 1);
    /* A new connection shows it was. */
    if (lsws_client_reconnect(c, &err) != LSWS_OK)
        fail_msg("reconnect: %s", err.msg);
    struct lsws_config *back = NULL;
    assert_int_equal(lsws_config_new(m, &back), LSWS_OK);
    assert_int_equal(lsws_client_read(c, back, chg, &err), LSWS_OK);
    char buf[32];
    assert_string_equal(value_of(back, "general.report_interval", buf, sizeof buf), "15");
    lsws_config_free(back);
    lsws_config_free(chg);
    lsws_client_close(c);
    stop_sim();
}

int main(void)
{
    if (!getenv("LSWS_SIM") || system("command -v dbus-daemon >/dev/null 2>&1") != 0) {
        printf("needs LSWS_SIM and dbus-daemon: skipped\n");
        return 77;
    }
#ifndef LSWS_HAVE_BLE
    return 77;
#endif
    /* A failed check leaves the test early: its simulator is stopped here. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_limits_and_fragments, sim_teardown),
        cmocka_unit_test_teardown(test_idle_reconnect, sim_teardown),
        cmocka_unit_test_teardown(test_drop_after_write, sim_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
