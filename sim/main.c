/* lsws-sim: a simulated WS523 or CTH01 on a pseudo-terminal, speaking the
 * lsws configuration protocol with the serial framing, or (--nfc) a PN532
 * NFC reader with the WS523 in its field (sim/pn532.h). Prints the pty's
 * name on the first line of stdout, then serves until SIGTERM/SIGINT.
 * With --ble it owns org.bluez on the D-Bus system bus instead (sim/bluez.c,
 * docs/ble.md) and prints one line per hub. docs/simulator.md and
 * docs/nfc.md describe what it emulates. */
#include "sim.h"
#include "pn532.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAPS_MAX 64 /* --taps: units tapped in turn */

enum { EXIT_USAGE = 2 };

static volatile sig_atomic_t stop, toggle_card;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_usr1(int sig)
{
    (void)sig;
    toggle_card = 1;
}

static void usage(FILE *out)
{
    fputs("usage: lsws-sim --model ws523|cth01 [options]\n"
          "       lsws-sim --nfc [options]\n"
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
          "\n"
          "Bluetooth LE (docs/ble.md): own org.bluez on the D-Bus system bus, or on the\n"
          "bus in DBUS_SYSTEM_BUS_ADDRESS, and print \"ADAPTER ADDRESS NAME\" per hub:\n"
          "      --ble                 publish an adapter and the unit as a BLE hub\n"
          "      --count N             publish N hubs (1-64; with --state FILE, hub n>1 keeps\n"
          "                            its state in FILE.n); serial numbers count up\n"
          "      --adapter NAME        the adapter's name (default hci0)\n"
          "      --no-adapter          publish no adapter at all\n"
          "      --powered-off         the adapter starts powered off\n"
          "      --mtu N               ATT MTU, 23-517 (default 247)\n"
          "      --interval MS         connection interval, 7.5-4000 ms (default 7.5);\n"
          "                            one fragment each way per interval; 0: unpaced\n"
          "      --resolve-ms MS       from connection to ServicesResolved (default 15)\n"
          "      --never-resolve       never resolve the services\n"
          "      --refuse-connect      refuse every connection\n"
          "      --no-acquire          no AcquireWrite/AcquireNotify (WriteValue, StartNotify)\n"
          "      --shared-connection   clients share a hub's connection, as programs on one\n"
          "                            computer do (default: a second client is refused)\n"
          "      --drop-link-after N   drop the link after executing request N, unanswered\n"
          "      --drop-link-fragment N  drop the link when client fragment N arrives\n"
          "      --clock-scale N       run the unit's clock N times faster (idle timeout)\n"
          "      --rssi DBM            signal strength of the first hub (default -48)\n"
          "      --scan-delay-ms MS    from StartDiscovery to the hubs being seen (default 40)\n"
          "NFC (--nfc): a PN532 reader on the pseudo-terminal, for libnfc's pn532_uart\n"
          "driver (LIBNFC_DEVICE=pn532_uart:/dev/pts/N), with the WS523 in its field.\n"
          "APDUs count InDataExchange commands to the card from the start; SIGUSR1\n"
          "takes the card away or puts it back.\n"
          "      --nfc                 be a PN532 reader (the model defaults to ws523)\n"
          "      --card KIND           what is in the field: ws523 (default), iso14443-4\n"
          "                            (another card, no lsws application), mifare\n"
          "      --card-away           start with the card outside the field\n"
          "      --card-leaves N       the card leaves after answering APDU N\n"
          "      --card-leaves-during N  the card leaves while answering APDU N (the\n"
          "                            device acted; the answer is lost)\n"
          "      --card-returns MS     the card comes back MS after it left\n"
          "      --taps LIST           several WS523s tapped in turn: LIST of unit numbers\n"
          "                            (1,2,1,3); unit n counts the serial number up by\n"
          "                            n-1 and keeps its state in FILE.n (--state FILE);\n"
          "                            each time the card comes back it is the next\n"
          "                            tap's unit; after the last tap none comes back\n"
          "      --stall-after N       the reader stops answering after APDU N\n"
          "      --air-kbps K          bit rate on air (106 for ISO 14443A; default: no air time)\n"
          "      --nfc-max-msg N       the largest message the card takes (64-1024)\n"
          "      --nfc-fragment N      message bytes per APDU the card takes (16-250)\n"
          "  With --nfc, --link-bps paces the UART, --latency-ms delays every message's\n"
          "  answer, and --disconnect-after unplugs the reader.\n"
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

/* Digits only, min..max. */
static int number(const char *text, unsigned long min, unsigned long max, unsigned *out)
{
    char *end;
    if (!*text || *text == '-' || *text == '+')
        return -1;
    unsigned long v = strtoul(text, &end, 10);
    if (*end || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
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

static void on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* --ble: count hubs as org.bluez on the bus (sim/bluez.c). Hub 1 is the
 * unit --sn and --state describe; hub n counts its serial number up by n-1
 * and keeps its state in FILE.n. */
static int serve_ble(const struct lsws_sim_opts *so, const struct lsws_sim_pty_opts *po,
                     struct lsws_sim_ble_opts *bo, unsigned count)
{
    struct lsws_sim *sims[64] = {0};
    struct lsws_error err;
    int rc = 1;
    lsws_error_clear(&err);
    bo->faults = po->faults;
    bo->verbose = po->verbose;
    bo->stop = &stop;
    struct lsws_device_info first;
    for (unsigned i = 0; i < count; i++) {
        struct lsws_sim_opts o = *so;
        char sn[17], state[1100];
        if (i > 0) {
            lsws_sim_ble_fleet_sn(first.sn, i, sn);
            o.sn = sn;
            if (so->state_path) {
                snprintf(state, sizeof state, "%s.%u", so->state_path, i + 1);
                o.state_path = state;
            }
        }
        if (lsws_sim_new(&o, &sims[i], &err) != LSWS_OK)
            goto out;
        if (i == 0)
            lsws_sim_info(sims[0], &first);
    }
    on_signals();
#ifdef LSWS_HAVE_BLE
    rc = lsws_sim_ble_serve(sims, count, bo, stdout, &err) == LSWS_OK ? 0 : 1;
#else
    rc = lsws_fail(&err, LSWS_ERR_UNSUPPORTED, SIZE_MAX, "this lsws-sim was built without Bluetooth LE "
                   "(cmake -DLSWS_BLE=ON, with libsystemd-dev)") != 0;
#endif
out:
    if (rc)
        fprintf(stderr, "lsws-sim: %s\n", err.msg);
    for (unsigned i = 0; i < count; i++)
        lsws_sim_free(sims[i]);
    return rc;
}

int main(int argc, char **argv)
{
    enum { O_DROP = 256, O_CORRUPT, O_DELAY, O_DELAY_MS, O_REFUSE, O_REFUSE_STATUS,
           O_DISCONNECT, O_LINK_BPS, O_LATENCY, O_ONCE, O_VERSION, O_MAX_MSG,
           O_FW_BAD, O_FW_REFUSE, O_FW_DROP, O_FW_CORRUPT, O_MAKE_FW, O_FW_VERSION, O_HW_MIN, O_HW_MAX,
           O_SIZE, O_NAME, O_BLE, O_COUNT, O_NO_ADAPTER, O_POWERED_OFF, O_NEVER_RESOLVE, O_REFUSE_CONNECT,
           O_NO_ACQUIRE, O_SHARED, O_BLE_OPT, O_NFC, O_CARD, O_CARD_AWAY, O_CARD_LEAVES, O_CARD_LEAVES_DURING,
           O_CARD_RETURNS, O_TAPS, O_STALL_AFTER, O_AIR_KBPS, O_NFC_MAX_MSG, O_NFC_FRAGMENT, O_HIST_RECORDS,
           O_HIST_START, O_HIST_DUMP };
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
        {"ble", no_argument, NULL, O_BLE},
        {"count", required_argument, NULL, O_COUNT},
        {"no-adapter", no_argument, NULL, O_NO_ADAPTER},
        {"powered-off", no_argument, NULL, O_POWERED_OFF},
        {"never-resolve", no_argument, NULL, O_NEVER_RESOLVE},
        {"refuse-connect", no_argument, NULL, O_REFUSE_CONNECT},
        {"no-acquire", no_argument, NULL, O_NO_ACQUIRE},
        {"shared-connection", no_argument, NULL, O_SHARED},
        {"adapter", required_argument, NULL, O_BLE_OPT},
        {"mtu", required_argument, NULL, O_BLE_OPT},
        {"interval", required_argument, NULL, O_BLE_OPT},
        {"resolve-ms", required_argument, NULL, O_BLE_OPT},
        {"drop-link-after", required_argument, NULL, O_BLE_OPT},
        {"drop-link-fragment", required_argument, NULL, O_BLE_OPT},
        {"clock-scale", required_argument, NULL, O_BLE_OPT},
        {"rssi", required_argument, NULL, O_BLE_OPT},
        {"scan-delay-ms", required_argument, NULL, O_BLE_OPT},
        {"nfc", no_argument, NULL, O_NFC},
        {"taps", required_argument, NULL, O_TAPS},
        {"card", required_argument, NULL, O_CARD},
        {"card-away", no_argument, NULL, O_CARD_AWAY},
        {"card-leaves", required_argument, NULL, O_CARD_LEAVES},
        {"card-leaves-during", required_argument, NULL, O_CARD_LEAVES_DURING},
        {"card-returns", required_argument, NULL, O_CARD_RETURNS},
        {"stall-after", required_argument, NULL, O_STALL_AFTER},
        {"air-kbps", required_argument, NULL, O_AIR_KBPS},
        {"nfc-max-msg", required_argument, NULL, O_NFC_MAX_MSG},
        {"nfc-fragment", required_argument, NULL, O_NFC_FRAGMENT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct lsws_sim_opts so = {.model = LSWS_MODEL_COUNT};
    struct lsws_sim_pty_opts po = {.stop = &stop};
    struct lsws_sim_ble_opts bo;
    int ble = 0;
    unsigned long count = 1;
    struct lsws_sim_nfc_opts no = {.stop = &stop, .toggle = &toggle_card, .card = LSWS_NFC_CARD_WS523};
    const char *nfc_only = NULL; /* an NFC option given, for the check below */
    int nfc = 0;
    unsigned taps[TAPS_MAX];
    size_t n_taps = 0;
    unsigned n_units = 0;
    struct lsws_error err;
    struct make_fw mk = {0};
    int c, li = -1, dump = -1;
    lsws_sim_ble_opts_init(&bo);
    lsws_error_clear(&err);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:b:s:f:vh", longs, &li)) != -1) {
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
        case O_BLE:
            ble = 1;
            break;
        case O_COUNT: {
            char *end;
            count = strtoul(optarg, &end, 10);
            if (!*optarg || *end || count < 1 || count > 64)
                return fail_usage("--count takes 1 to 64 hubs, not '%s'", optarg);
            break;
        }
        case O_NO_ADAPTER: bo.no_adapter = 1; break;
        case O_POWERED_OFF: bo.powered_off = 1; break;
        case O_NEVER_RESOLVE: bo.never_resolve = 1; break;
        case O_REFUSE_CONNECT: bo.refuse_connect = 1; break;
        case O_NO_ACQUIRE: bo.no_acquire = 1; break;
        case O_SHARED: bo.shared = 1; break;
        case O_BLE_OPT:
            if (li < 0 || lsws_sim_ble_option(&bo, longs[li].name, optarg, &err) != LSWS_OK)
                return fail_usage("%s", li < 0 ? "bad option" : err.msg);
            break;
        case O_NFC:
            nfc = 1;
            break;
        case O_CARD:
            if ((no.card = lsws_nfc_card_kind_by_name(optarg)) < 0)
                return fail_usage("unknown card '%s' (ws523, iso14443-4, mifare)", optarg);
            nfc_only = "--card";
            break;
        case O_CARD_AWAY:
            no.away = 1;
            nfc_only = "--card-away";
            break;
        case O_CARD_LEAVES:
        case O_CARD_LEAVES_DURING:
        case O_STALL_AFTER: {
            unsigned v;
            if (number(optarg, 1, 1000000, &v) < 0)
                return fail_usage("%s takes an APDU number from 1 to 1000000, not '%s'", argv[optind - 1], optarg);
            *(c == O_CARD_LEAVES ? &no.leaves_after : c == O_STALL_AFTER ? &no.stall_after : &no.leaves_during) = v;
            nfc_only = c == O_CARD_LEAVES ? "--card-leaves" : c == O_STALL_AFTER ? "--stall-after" : "--card-leaves-during";
            break;
        }
        case O_CARD_RETURNS:
            if (number(optarg, 1, 600000, &no.returns_ms) < 0)
                return fail_usage("--card-returns takes milliseconds from 1 to 600000, not '%s'", optarg);
            nfc_only = "--card-returns";
            break;
        case O_TAPS: {
            /* "1,2,1,3": unit numbers 1-64, at most TAPS_MAX taps */
            char *end, *at = optarg;
            n_taps = 0;
            for (;;) {
                unsigned long v = strtoul(at, &end, 10);
                if (end == at || v < 1 || v > 64 || n_taps == TAPS_MAX || (*end && *end != ','))
                    return fail_usage("--taps takes up to %d unit numbers from 1 to 64 (1,2,1,3), not '%s'", TAPS_MAX,
                                      optarg);
                taps[n_taps++] = (unsigned)v - 1;
                if (v > n_units)
                    n_units = (unsigned)v;
                if (!*end)
                    break;
                at = end + 1;
            }
            nfc_only = "--taps";
            break;
        }
        case O_AIR_KBPS:
            if (number(optarg, 1, 10000, &no.air_bps) < 0)
                return fail_usage("--air-kbps takes kbit/s from 1 to 10000, not '%s'", optarg);
            no.air_bps *= 1000;
            nfc_only = "--air-kbps";
            break;
        case O_NFC_MAX_MSG:
            if (number(optarg, LSWS_MSG_MIN, LSWS_MSG_MAX, &no.max_msg) < 0)
                return fail_usage("--nfc-max-msg takes bytes from %d to %d, not '%s'", LSWS_MSG_MIN, LSWS_MSG_MAX, optarg);
            nfc_only = "--nfc-max-msg";
            break;
        case O_NFC_FRAGMENT:
            if (number(optarg, LSWS_APDU_FRAGMENT_MIN, LSWS_APDU_FRAGMENT_MAX, &no.fragment) < 0)
                return fail_usage("--nfc-fragment takes bytes from %d to %d, not '%s'", LSWS_APDU_FRAGMENT_MIN,
                                  LSWS_APDU_FRAGMENT_MAX, optarg);
            nfc_only = "--nfc-fragment";
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
        li = -1;
    }
    if (optind < argc)
        return fail_usage("unexpected argument '%s'", argv[optind]);
    if (nfc_only && !nfc)
        return fail_usage("%s needs --nfc", nfc_only);
    if (nfc && so.model == LSWS_MODEL_COUNT)
        so.model = LSWS_MODEL_WS523;
    if (nfc && so.model != LSWS_MODEL_WS523)
        return fail_usage("--nfc: the %s has no NFC (it is configured over Bluetooth); the WS523 has",
                          lsws_model_get(so.model)->name);
    if (so.model == LSWS_MODEL_COUNT)
        return fail_usage("--model is required (ws523 or cth01)");
    if (mk.path)
        return make_firmware(&mk, so.model);
    if (mk.fw || mk.hw_min || mk.hw_max || mk.size || mk.name)
        return fail_usage("--fw-version, --hw-min, --hw-max, --size and --name go with --make-firmware");
    if (!ble && (count > 1 || bo.no_adapter || bo.powered_off || bo.never_resolve || bo.refuse_connect ||
                 bo.no_acquire || bo.shared))
        return fail_usage("--count and the Bluetooth options need --ble");
    if (so.history_start_set && !so.history_records_set)
        return fail_usage("--history-start needs --history-records");
    if (ble && dump >= 0)
        return fail_usage("--history-dump prints and exits: not with --ble");
    if (ble)
        return serve_ble(&so, &po, &bo, (unsigned)count);

    struct lsws_sim *sim, *units[64] = {0};
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
    if (n_taps) {
        /* --taps: unit 1 is the one --sn and --state describe; unit n counts
         * the serial number up by n-1 and keeps its state in FILE.n. */
        struct lsws_device_info first;
        lsws_sim_info(sim, &first);
        units[0] = sim;
        for (unsigned i = 1; i < n_units; i++) {
            struct lsws_sim_opts o = so;
            char sn[17], state[1100];
            lsws_sim_ble_fleet_sn(first.sn, i, sn);
            o.sn = sn;
            if (so.state_path) {
                snprintf(state, sizeof state, "%s.%u", so.state_path, i + 1);
                o.state_path = state;
            }
            if (lsws_sim_new(&o, &units[i], &err) != LSWS_OK) {
                fprintf(stderr, "lsws-sim: %s\n", err.msg);
                for (unsigned k = 0; k < i; k++)
                    lsws_sim_free(units[k]);
                return 1;
            }
        }
        sim = units[taps[0]];
        no.units = units;
        no.taps = taps;
        no.n_taps = n_taps;
    }
    char path[256];
    int master;
    if (lsws_sim_pty_open(&master, path, sizeof path, &err) != LSWS_OK) {
        fprintf(stderr, "lsws-sim: %s\n", err.msg);
        lsws_sim_free(sim);
        return 1;
    }

    on_signals();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* --nfc: SIGUSR1 takes the card away or puts it back */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    printf("%s\n", path);
    fflush(stdout);
    if (po.verbose) {
        struct lsws_device_info info;
        lsws_sim_info(sim, &info);
        fprintf(stderr, "lsws-sim: %s %s (%s) on %s%s%s%s\n", lsws_model_get(so.model)->name, info.sn,
                lsws_sim_name(sim), path, nfc ? " behind a PN532 reader" : "",
                so.state_path ? ", state in " : ", state in memory", so.state_path ? so.state_path : "");
    }

    int rc;
    if (nfc) {
        no.faults = po.faults;
        no.once = po.once;
        no.verbose = po.verbose;
        rc = lsws_sim_nfc_serve(sim, &master, &no, &err);
    } else {
        rc = lsws_sim_pty_serve(sim, &master, &po, &err);
    }
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
    if (n_taps)
        for (unsigned i = 0; i < n_units; i++)
            lsws_sim_free(units[i]);
    else
        lsws_sim_free(sim);
    return rc == LSWS_OK ? 0 : 1;
}
