/* lsws-sim: a simulated WS523 or CTH01 on a pseudo-terminal, speaking the
 * lsws configuration protocol with the serial framing. Prints the pty's
 * name on the first line of stdout, then serves until SIGTERM/SIGINT.
 * docs/simulator.md describes what it emulates. */
#include "sim.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_USAGE = 2 };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *out)
{
    fputs("usage: lsws-sim --model ws523|cth01 [options]\n"
          "\n"
          "Simulates a Milesight WS523 smart socket or CTH01 power-monitor hub on a\n"
          "pseudo-terminal, speaking the lsws configuration protocol with the serial\n"
          "framing. Prints the terminal's path (/dev/pts/N) on the first line of\n"
          "stdout, then serves clients until SIGTERM or SIGINT.\n"
          "\n"
          "options:\n"
          "  -m, --model MODEL         ws523 (also ws52x, iot-csocket) or cth01\n"
          "  -b, --band BAND           factory band: EU868 (default), US915, AU915, CN470,\n"
          "                            AS923, KR920, IN865, RU864\n"
          "  -s, --sn SN               serial number, 16 hex digits (default: the guide's example)\n"
          "  -f, --state FILE          keep the device's state in FILE (JSON, mode 0600);\n"
          "                            without it the state lives in memory only; several\n"
          "                            simulators may share FILE (locked with FILE.lock)\n"
          "      --max-msg BYTES       the unit's largest message, 64-1024 (default 1024)\n"
          "      --history-records N   CTH01: the unit has recorded N periodic records (and\n"
          "                            their alarms and monthly summaries); kept in --state\n"
          "      --history-start T     the first one's time (Unix or ISO 8601; default: the\n"
          "                            last one is now)\n"
          "      --history-dump KIND   print the stored records of KIND (alarm, periodic,\n"
          "                            monthly-energy, monthly-extremes) in hex, then exit\n"
          "      --drop N,...          ignore request frames N,... (counted from 1)\n"
          "      --corrupt N,...       answer frames N,... with a bad CRC\n"
          "      --delay N,...         answer frames N,... after --delay-ms\n"
          "      --delay-ms MS         delay of --delay (default 0)\n"
          "      --refuse N,...        answer frames N,... with --refuse-status, not executed\n"
          "      --refuse-status S     busy (default), storage, invalid, ... or 1-255\n"
          "      --disconnect-after B  close the link after B bytes sent, then exit\n"
          "      --link-bps BPS        send at most BPS bytes per second\n"
          "      --latency-ms MS       wait MS before every answer\n"
          "      --once                exit when the first client closes the port\n"
          "  -v, --verbose             log requests, faults and sessions to stderr\n"
          "  -h, --help                show this help\n"
          "      --version             show the version\n"
          "\n"
          "At most 8 frame numbers per list. exit status: 0 stopped, 1 failed, 2 usage\n",
          out);
}

static int fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lsws-sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see lsws-sim --help)\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    enum { O_DROP = 256, O_CORRUPT, O_DELAY, O_DELAY_MS, O_REFUSE, O_REFUSE_STATUS,
           O_DISCONNECT, O_LINK_BPS, O_LATENCY, O_ONCE, O_VERSION, O_MAX_MSG, O_HIST_RECORDS, O_HIST_START,
           O_HIST_DUMP };
    static const struct option longs[] = {
        {"model", required_argument, NULL, 'm'},
        {"band", required_argument, NULL, 'b'},
        {"sn", required_argument, NULL, 's'},
        {"state", required_argument, NULL, 'f'},
        {"max-msg", required_argument, NULL, O_MAX_MSG},
        {"history-records", required_argument, NULL, O_HIST_RECORDS},
        {"history-start", required_argument, NULL, O_HIST_START},
        {"history-dump", required_argument, NULL, O_HIST_DUMP},
        {"drop", required_argument, NULL, O_DROP},
        {"corrupt", required_argument, NULL, O_CORRUPT},
        {"delay", required_argument, NULL, O_DELAY},
        {"delay-ms", required_argument, NULL, O_DELAY_MS},
        {"refuse", required_argument, NULL, O_REFUSE},
        {"refuse-status", required_argument, NULL, O_REFUSE_STATUS},
        {"disconnect-after", required_argument, NULL, O_DISCONNECT},
        {"link-bps", required_argument, NULL, O_LINK_BPS},
        {"latency-ms", required_argument, NULL, O_LATENCY},
        {"once", no_argument, NULL, O_ONCE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct lsws_sim_opts so = {.model = LSWS_MODEL_COUNT};
    struct lsws_sim_pty_opts po = {.stop = &stop};
    struct lsws_error err;
    int c, dump = -1;
    lsws_error_clear(&err);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:b:s:f:vh", longs, NULL)) != -1) {
        const char *fault = NULL;
        switch (c) {
        case 'm': {
            const struct lsws_model *m = lsws_model_by_name(optarg);
            if (!m)
                return fail_usage("unknown model '%s' (ws523 or cth01)", optarg);
            so.model = m->id;
            break;
        }
        case 'b':
            so.band = optarg;
            break;
        case 's':
            so.sn = optarg;
            break;
        case 'f':
            so.state_path = optarg;
            break;
        case O_MAX_MSG:
            if (lsws_sim_parse_max_msg(optarg, &so.max_msg, &err) != LSWS_OK)
                return fail_usage("%s", err.msg);
            break;
        case O_HIST_RECORDS:
        case O_HIST_START:
            if (lsws_sim_parse_history(&so, c == O_HIST_RECORDS ? "history_records" : "history_start", optarg,
                                       &err) != LSWS_OK)
                return fail_usage("%s", err.msg);
            break;
        case O_HIST_DUMP:
            if ((dump = lsws_history_kind_find(optarg)) < 0)
                return fail_usage("--history-dump: unknown kind '%s' (alarm, periodic, monthly-energy, "
                                  "monthly-extremes)", optarg);
            break;
        case O_DROP: fault = "drop"; break;
        case O_CORRUPT: fault = "corrupt"; break;
        case O_DELAY: fault = "delay"; break;
        case O_DELAY_MS: fault = "delay_ms"; break;
        case O_REFUSE: fault = "refuse"; break;
        case O_REFUSE_STATUS: fault = "refuse_status"; break;
        case O_DISCONNECT: fault = "disconnect_after"; break;
        case O_LINK_BPS: fault = "link_bps"; break;
        case O_LATENCY: fault = "latency_ms"; break;
        case O_ONCE:
            po.once = 1;
            break;
        case 'v':
            po.verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case O_VERSION:
            printf("lsws-sim %s\n", LSWS_VERSION);
            return 0;
        case ':':
            return fail_usage("option '%s' needs a value", argv[optind - 1]);
        default:
            return fail_usage("unknown option '%s'", argv[optind - 1]);
        }
        if (fault && lsws_sim_fault_option(&po.faults, fault, optarg, &err) != LSWS_OK)
            return fail_usage("%s", err.msg);
    }
    if (optind < argc)
        return fail_usage("unexpected argument '%s'", argv[optind]);
    if (so.model == LSWS_MODEL_COUNT)
        return fail_usage("--model is required (ws523 or cth01)");

    if (so.history_start_set && !so.history_records_set)
        return fail_usage("--history-start needs --history-records");
    struct lsws_sim *sim;
    if (lsws_sim_new(&so, &sim, &err) != LSWS_OK) {
        fprintf(stderr, "lsws-sim: %s\n", err.msg);
        return 1;
    }
    if (dump >= 0) {
        int drc = lsws_sim_history_dump(sim, (unsigned)dump, stdout, &err);
        if (drc != LSWS_OK || fflush(stdout) != 0)
            fprintf(stderr, "lsws-sim: %s\n", drc != LSWS_OK ? err.msg : "cannot write the records");
        lsws_sim_free(sim);
        return drc == LSWS_OK ? 0 : 1;
    }
    char path[256];
    int master;
    if (lsws_sim_pty_open(&master, path, sizeof path, &err) != LSWS_OK) {
        fprintf(stderr, "lsws-sim: %s\n", err.msg);
        lsws_sim_free(sim);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("%s\n", path);
    fflush(stdout);
    if (po.verbose) {
        struct lsws_device_info info;
        lsws_sim_info(sim, &info);
        fprintf(stderr, "lsws-sim: %s %s (%s) on %s%s%s\n", lsws_model_get(so.model)->name, info.sn,
                lsws_sim_name(sim), path, so.state_path ? ", state in " : ", state in memory",
                so.state_path ? so.state_path : "");
    }

    int rc = lsws_sim_pty_serve(sim, &master, &po, &err);
    if (rc != LSWS_OK)
        fprintf(stderr, "lsws-sim: %s\n", err.msg);
    if (po.verbose) {
        struct lsws_sim_stats st;
        lsws_sim_stats(sim, &st);
        fprintf(stderr, "lsws-sim: %lu requests, %lu identical retries, %lu writes, %lu state saves\n",
                st.requests, st.duplicates, st.writes, st.saves);
    }
    if (master >= 0)
        close(master);
    lsws_sim_free(sim);
    return rc == LSWS_OK ? 0 : 1;
}
