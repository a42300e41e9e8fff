/* bench_nfc: how close `get` and `set` over NFC come to what the links allow.
 *
 * Starts lsws-sim --nfc (a PN532 reader with the WS523 in its field) with
 * its link model: the UART to the host at 115200 baud (11,520 bytes/s each
 * way, 8N1), ISO 14443A at 106 kbit/s on air (9 bits a byte), and a
 * per-message latency of the card. Then, over the real NFC transport
 * (libnfc's pn532_uart driver, unmodified), times:
 *   open: the reader, the card and its lsws application (nfc_open,
 *         InListPassiveTarget, SELECT), reported apart;
 *   get:  a session on the open link (AUTH, which also identifies) and a
 *         read of every setting;
 *   set:  every writable setting of the factory template in one
 *         transaction, then all of them read back (verify);
 * and then the whole commands as a user runs them (the real lsws binary,
 * the password in LSWS_PASSWORD): `lsws get` and `lsws set` of one setting
 * (AUTH, READ of every setting for the plan and the backup, WRITE, READ
 * back), from process start to exit; and the same two through an
 * `lsws hold` the bench starts, which keeps the reader open (each command
 * still gets the card selected and SELECTed: the same bound).
 *
 * The bound of each: every byte that must cross, at both links' rates in
 * series (the PN532 takes a whole frame before it sends it on): the
 * settings bytes for get and set (out and back for set), plus one round
 * trip of the smallest APDU exchange; for the whole commands every APDU
 * exchange the command needs (the card's selection and SELECT included),
 * each as its smallest framing on both links, plus the card's latency per
 * message. What libnfc spends opening the reader (its own fixed waits and
 * a dozen set-up commands) is not in the bound: it is measured as `open`.
 *
 * Usage: bench_nfc LSWS-SIM LSWS [BYTES_PER_S [AIR_KBPS [LATENCY_MS]]] */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsws.h"
#include "run_lsws.h"

/* Framing around one APDU exchange (docs/nfc.md): on the UART, the
 * InDataExchange command frame (preamble, start code, LEN, LCS, TFI, D4 40
 * Tg, DCS, postamble: 11 bytes), the chip's ACK (6) and the answer frame
 * (10: with D5 41 and the status byte); on air, the ISO-DEP block around
 * each direction (PCB and CRC_A: 3 bytes each). An APDU adds its header
 * (CLA INS P1 P2 Lc, Le) and the answer its status word. */
#define UART_FRAMING (11 + 6 + 10)
#define AIR_FRAMING (2 * 3)
#define APDU_HEAD 6
#define APDU_SW 2

struct link_model {
    unsigned bps, air_bps, latency;
};

/* Seconds that n message bytes take over both links, in series. */
static double both(const struct link_model *m, double n)
{
    return n / m->bps + n * 9 / m->air_bps;
}

/* The WS523's activation on air (sim/pn532.c counts the same frames):
 * REQA / ATQA, two cascade levels of ANTICOLLISION and SELECT (a 7-byte
 * UID), RATS / the ATS (9 bytes with TL), in bits at 9 a byte (REQA: 7). */
static double activation_s(const struct link_model *m)
{
    const double bits = (7 + 2 * 9) + 2 * ((2 + 5 + 9 + 3) * 9) + (4 + 9 + 2) * 9;
    return bits / m->air_bps;
}

/* The smallest APDU exchange carrying out and in message bytes, on both links. */
static double exchange_s(const struct link_model *m, double out, double in)
{
    return (out + in + APDU_HEAD + APDU_SW + UART_FRAMING) / m->bps +
           (out + in + APDU_HEAD + APDU_SW + AIR_FRAMING) * 9 / m->air_bps;
}

static pid_t start_sim(const char *sim, const struct link_model *m, char *pty, size_t n)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char b[16], a[16], l[16];
        snprintf(b, sizeof b, "%u", m->bps);
        snprintf(a, sizeof a, "%u", m->air_bps / 1000);
        snprintf(l, sizeof l, "%u", m->latency);
        dup2(fds[1], 1);
        close(fds[0]);
        execl(sim, sim, "--nfc", "--link-bps", b, "--air-kbps", a, "--latency-ms", l, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(pty, (int)n, f))
        return -1;
    pty[strcspn(pty, "\n")] = '\0';
    return pid; /* f stays open: the simulator's stdout */
}

static void print(const char *what, const struct bench_row *r, size_t payload, double bound)
{
    printf("ws523  nfc %-4s %7.1f ms  %2u exchanges  %5lu APDU bytes out  %5lu in  settings %5zu bytes  "
           "bound %7.1f ms  ratio %.2f\n",
           what, r->seconds * 1e3, r->st.exchanges, r->st.wire_bytes_out, r->st.wire_bytes_in, payload, bound * 1e3,
           r->seconds / bound);
}

static int open_client(const char *pty, struct lsws_client **c, struct lsws_error *err)
{
    char text[300];
    struct lsws_uri uri;
    snprintf(text, sizeof text, "nfc:pn532_uart:%s", pty);
    int rc = lsws_uri_parse(text, &uri, err);
    return rc != LSWS_OK ? rc : lsws_client_open(&uri, NULL, c, err);
}

static int bench_session(const char *sim, const struct link_model *lm, double *opened_out)
{
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_WS523);
    char pty[256];
    pid_t pid = start_sim(sim, lm, pty, sizeof pty);
    if (pid < 0) {
        fprintf(stderr, "bench_nfc: cannot start %s\n", sim);
        return 1;
    }
    struct lsws_error err;
    struct lsws_client *c = NULL;
    struct lsws_device_info info;
    struct lsws_config *cfg = NULL, *tpl = NULL;
    uint8_t tlv[LSWS_TXN_BYTES];
    size_t read_bytes = 0, write_bytes = 0;
    struct bench_row get, set;
    int rc = 1;
    lsws_error_clear(&err);

    double t0 = bench_now_s();
    if (open_client(pty, &c, &err))
        goto out;
    double opened = bench_now_s() - t0;
    *opened_out = opened;
    t0 = bench_now_s();
    if (lsws_client_auth(c, "123456", &info, &err) || lsws_config_new(m, &cfg) || lsws_client_read(c, cfg, NULL, &err))
        goto out;
    get.seconds = bench_now_s() - t0;
    lsws_client_stats(c, &get.st);
    lsws_settings_report(cfg, tlv, sizeof tlv, &read_bytes, &err);
    lsws_client_close(c);
    c = NULL;

    if (bench_factory_template(&info, &tpl, &write_bytes, &err) || open_client(pty, &c, &err) ||
        lsws_client_auth(c, "123456", &info, &err) || bench_timed_set(c, tpl, &set, &err))
        goto out;
    double rtt = exchange_s(lm, 3, 4) + lm->latency / 1e3;
    printf("ws523  nfc open %7.1f ms  (libnfc opens the reader, selects the card, SELECT of the lsws application)\n",
           opened * 1e3);
    print("get", &get, read_bytes, both(lm, (double)read_bytes) + rtt);
    print("set", &set, 2 * write_bytes, both(lm, 2.0 * write_bytes) + rtt);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_nfc: %s\n", err.msg);
    lsws_client_close(c);
    lsws_config_free(cfg);
    lsws_config_free(tpl);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return rc;
}

/* ---- whole commands ---------------------------------------------------------- */


/* opened: what opening the reader took in the session bench, to show the
 * ratio without libnfc's share too. */
static void print_cmd(const char *what, const struct cmd_run *r, double bound, double opened)
{
    printf("ws523  nfc %-21s %7.1f ms  %2u exchanges  %5lu msg bytes out  %5lu in  bound %7.1f ms  ratio %.2f",
           what, r->seconds * 1e3, r->exchanges, r->out, r->in, bound * 1e3, r->seconds / bound);
    if (opened >= 0)
        printf("  (%.2f without the reader's opening)", (r->seconds - opened) / bound);
    printf("\n");
}

/* lsws -d DEV hold --idle 0, its sockets in a private directory of the
 * bench's (XDG_RUNTIME_DIR, which the commands run after it inherit);
 * returns once it says it is ready, or -1. */
static pid_t start_holder(const char *lsws, const char *dev, char *run, size_t n)
{
    snprintf(run, n, "/tmp/bench_nfc.XXXXXX");
    int fds[2];
    if (!mkdtemp(run) || pipe(fds) != 0)
        return -1;
    setenv("XDG_RUNTIME_DIR", run, 1);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(lsws, lsws, "-d", dev, "hold", "--idle", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[512];
    FILE *f = fdopen(fds[0], "r");
    int ready = f && fgets(line, sizeof line, f) && strstr(line, "holding ");
    if (f)
        fclose(f); /* the holder writes nothing more without -v */
    if (pid > 0 && !ready) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void stop_holder(pid_t pid, const char *run)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char path[600];
    snprintf(path, sizeof path, "rm -rf '%s'", run);
    if (system(path) != 0)
        fprintf(stderr, "bench_nfc: cannot remove %s\n", run);
    unsetenv("XDG_RUNTIME_DIR");
}

static int bench_commands(const char *sim, const char *lsws, const struct link_model *lm, double opened)
{
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_WS523);
    char pty[256], dev[300];
    pid_t pid = start_sim(sim, lm, pty, sizeof pty);
    if (pid < 0)
        return 1;
    snprintf(dev, sizeof dev, "nfc:pn532_uart:%s", pty);
    struct lsws_config *cfg = NULL;
    uint8_t tlv[LSWS_TXN_BYTES];
    size_t all = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    struct lsws_client *c = NULL;
    struct lsws_device_info info;
    int rc = 1;
    if (open_client(pty, &c, &err) || lsws_client_auth(c, "123456", &info, &err) || lsws_config_new(m, &cfg) ||
        lsws_client_read(c, cfg, NULL, &err))
        goto out;
    lsws_settings_report(cfg, tlv, sizeof tlv, &all, &err);
    lsws_client_close(c);
    c = NULL;

    struct cmd_run get, set;
    char *const get_args[] = {(char *)lsws, "-v", "-d", dev, "get", NULL};
    char one[64];
    bench_set_arg(LSWS_MODEL_WS523, one, sizeof one);
    char *const set_args[] = {(char *)lsws, "-v", "-d", dev, "set", one, NULL};
    if (run_lsws(lsws, get_args, &get) || run_lsws(lsws, set_args, &set))
        goto out;
    /* The card's selection (InListPassiveTarget: the UART frames, the
     * activation's frames on air) and SELECT of the
     * application (11 bytes out, 4 back). AUTH: 3+6 out, 4+32 in. READ all:
     * 3+2 out, 4+2+all in, the answer cut in fragments of 250 (one more
     * exchange each). The one command is ff03 and 2 bytes: WRITE 3+1+4 out,
     * 4 in; READ back 3+2+1+2 out, 4+2+4 in. Latency: once per message. */
    const double select_card = (double)(10 + 6 + 6 + 32) / lm->bps + activation_s(lm);
    const double select_app = exchange_s(lm, 11, 4);
    double auth = exchange_s(lm, 9, 36) + lm->latency / 1e3;
    size_t rd = 6 + all, more = (rd + 249) / 250 - 1;
    double read_all = exchange_s(lm, 5, (double)rd) + (double)more * exchange_s(lm, 0, 0) + lm->latency / 1e3;
    double write = exchange_s(lm, 8, 4) + lm->latency / 1e3, back = exchange_s(lm, 8, 10) + lm->latency / 1e3;
    /* The reader's opening as the session bench measured it, less the
     * card's selection and SELECT, which the bound has. */
    double setup = opened - select_card - select_app;
    print_cmd("lsws get", &get, select_card + select_app + auth + read_all, setup);
    print_cmd("lsws set (one)", &set, select_card + select_app + auth + read_all + write + back, setup);
    /* The same commands through lsws hold: the reader stays open; each
     * command's fresh card session (renew: selection and SELECT) is in the
     * bound as before. */
    char run[64];
    pid_t holder = start_holder(lsws, dev, run, sizeof run);
    if (holder < 0) {
        snprintf(err.msg, sizeof err.msg, "lsws hold did not start");
        goto out;
    }
    /* Another value than the one the cold set wrote: this set writes too. */
    char other[64];
    const char *eq = strchr(one, '=');
    snprintf(other, sizeof other, "%.*s=%ld", (int)(eq - one), one, strtol(eq + 1, NULL, 10) - 1);
    char *const hset_args[] = {(char *)lsws, "-v", "-d", dev, "set", other, NULL};
    struct cmd_run hget, hset;
    int hrc = run_lsws(lsws, get_args, &hget) || run_lsws(lsws, hset_args, &hset);
    stop_holder(holder, run);
    if (hrc)
        goto out;
    print_cmd("lsws get (held)", &hget, select_card + select_app + auth + read_all, -1);
    print_cmd("lsws set (one) (held)", &hset, select_card + select_app + auth + read_all + write + back, -1);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_nfc: commands: %s\n", err.msg[0] ? err.msg : "lsws failed");
    lsws_client_close(c);
    lsws_config_free(cfg);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_nfc LSWS-SIM LSWS [BYTES_PER_S [AIR_KBPS [LATENCY_MS]]]\n");
        return 2;
    }
    struct link_model lm = {11520, 106000, 2};
    if (argc > 3)
        lm.bps = (unsigned)atoi(argv[3]);
    if (argc > 4)
        lm.air_bps = (unsigned)atoi(argv[4]) * 1000u;
    if (argc > 5)
        lm.latency = (unsigned)atoi(argv[5]);
    if (!lm.bps || !lm.air_bps) {
        fprintf(stderr, "bench_nfc: rates must be positive\n");
        return 2;
    }
    printf("nfc link: UART %u bytes/s each way (115200 baud 8N1 = 11520), %u kbit/s on air (ISO 14443A), "
           "%u ms card latency per message\n",
           lm.bps, lm.air_bps / 1000, lm.latency);
    unsetenv("LIBNFC_LOG_LEVEL");
    double opened = 0;
    int rc = bench_session(argv[1], &lm, &opened);
    rc |= bench_commands(argv[1], argv[2], &lm, opened);
    return rc;
}
