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
          "       lsws-sim --make-firmware FILE --model ws523|cth01 [image options]\n"
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
          "      --fw-bad-checksum     FW_END finds the staged image's checksum wrong\n"
          "      --fw-refuse-commit    FW_END verifies the image, then refuses to commit it\n"
          "      --fw-drop-at OFFSET   drop the link (and exit) at the firmware chunk that\n"
          "                            carries payload byte OFFSET; the chunk is lost\n"
          "      --fw-corrupt N,...    FW_DATA requests N,... arrive with a byte changed\n"
          "      --once                exit when the first client closes the port\n"
          "  -v, --verbose             log requests, faults and sessions to stderr\n"
          "  -h, --help                show this help\n"
          "      --version             show the version\n"
          "\n"
          "--make-firmware FILE writes a test firmware image for --model (docs/firmware.md)\n"
          "and exits; image options:\n"
          "      --fw-version V        its firmware version (default: the unit's, plus 0.1)\n"
          "      --hw-min V, --hw-max V  hardware versions it runs on (default: the unit's)\n"
          "      --size BYTES          payload size, 1-4194304 (default 65536)\n"
          "      --name TEXT           name in the header, up to 32 characters\n"
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

/* --make-firmware FILE and its image options. */
struct make_fw {
    const char *path, *fw, *hw_min, *hw_max, *size, *name;
};

static int make_firmware(const struct make_fw *mk, enum lsws_model_id model)
{
    struct lsws_error err;
    uint16_t hw, fw, lo, hi;
    unsigned long size = 65536;
    lsws_error_clear(&err);
    lsws_sim_factory_versions(model, &hw, &fw);
    fw = (uint16_t)((fw & 0xff00) | (((fw & 0x0f) == 9) ? ((fw & 0xf0) + 0x10) : (fw & 0xff) + 1));
    lo = hi = hw;
    if ((mk->fw && lsws_version_parse(mk->fw, 0, &fw, &err) != LSWS_OK) ||
        (mk->hw_min && lsws_version_parse(mk->hw_min, 1, &lo, &err) != LSWS_OK) ||
        (mk->hw_max && lsws_version_parse(mk->hw_max, 1, &hi, &err) != LSWS_OK))
        return fail_usage("%s", err.msg);
    if (mk->hw_min && !mk->hw_max && lo > hi)
        hi = lo;
    if (mk->hw_max && !mk->hw_min && lo > hi)
        lo = hi;
    if (mk->size) {
        char *end;
        size = strtoul(mk->size, &end, 10);
        if (!*mk->size || *end || size < 1 || size > LSWS_FW_PAYLOAD_MAX)
            return fail_usage("--size takes 1 to %u bytes, not '%s'", LSWS_FW_PAYLOAD_MAX, mk->size);
    }
    if (mk->name && strlen(mk->name) > LSWS_FW_NAME_LEN)
        return fail_usage("--name takes at most %d characters", LSWS_FW_NAME_LEN);
    uint8_t *img;
    size_t len;
    if (lsws_sim_firmware_image(model, lo, hi, fw, size, mk->name, &img, &len, &err) != LSWS_OK) {
        fprintf(stderr, "lsws-sim: cannot make '%s': %s\n", mk->path, err.msg);
        return err.code == LSWS_ERR_NOMEM ? 1 : EXIT_USAGE;
    }
    int rc = lsws_file_write(mk->path, img, len, 0644, &err);
    free(img);
    if (rc != LSWS_OK) {
        fprintf(stderr, "lsws-sim: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_DROP = 256, O_CORRUPT, O_DELAY, O_DELAY_MS, O_REFUSE, O_REFUSE_STATUS,
           O_DISCONNECT, O_LINK_BPS, O_LATENCY, O_ONCE, O_VERSION, O_MAX_MSG,
           O_FW_BAD, O_FW_REFUSE, O_FW_DROP, O_FW_CORRUPT, O_MAKE_FW, O_FW_VERSION, O_HW_MIN, O_HW_MAX,
           O_SIZE, O_NAME, O_HIST_RECORDS, O_HIST_START, O_HIST_DUMP };
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
        {"fw-bad-checksum", no_argument, NULL, O_FW_BAD},
        {"fw-refuse-commit", no_argument, NULL, O_FW_REFUSE},
        {"fw-drop-at", required_argument, NULL, O_FW_DROP},
        {"fw-corrupt", required_argument, NULL, O_FW_CORRUPT},
        {"make-firmware", required_argument, NULL, O_MAKE_FW},
        {"fw-version", required_argument, NULL, O_FW_VERSION},
        {"hw-min", required_argument, NULL, O_HW_MIN},
        {"hw-max", required_argument, NULL, O_HW_MAX},
        {"size", required_argument, NULL, O_SIZE},
        {"name", required_argument, NULL, O_NAME},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct lsws_sim_opts so = {.model = LSWS_MODEL_COUNT};
    struct lsws_sim_pty_opts po = {.stop = &stop};
    struct lsws_error err;
    struct make_fw mk = {0};
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
        case O_FW_BAD: fault = "fw_bad_checksum"; optarg = "1"; break;
        case O_FW_REFUSE: fault = "fw_refuse_commit"; optarg = "1"; break;
        case O_FW_DROP: fault = "fw_drop_at"; break;
        case O_FW_CORRUPT: fault = "fw_corrupt"; break;
        case O_MAKE_FW: mk.path = optarg; break;
        case O_FW_VERSION: mk.fw = optarg; break;
        case O_HW_MIN: mk.hw_min = optarg; break;
        case O_HW_MAX: mk.hw_max = optarg; break;
        case O_SIZE: mk.size = optarg; break;
        case O_NAME: mk.name = optarg; break;
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
    if (mk.path)
        return make_firmware(&mk, so.model);
    if (mk.fw || mk.hw_min || mk.hw_max || mk.size || mk.name)
        return fail_usage("--fw-version, --hw-min, --hw-max, --size and --name go with --make-firmware");

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
