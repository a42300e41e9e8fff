/* Uplink decode throughput: hex line -> bytes -> decode -> JSON line.
 *
 *   bench_decode gen FILE [WS523_COUNT [CTH01_COUNT]]
 *       writes WS523 then CTH01 periodic payloads (default 1,000,000 and
 *       100,000), one per line as "ws523 <hex>" / "cth01 <hex>", with
 *       values from a fixed-seed PRNG, built with the library's builder and
 *       encoder ("-" writes to stdout)
 *   bench_decode run [--stream] FILE... > /dev/null
 *       streams the files line by line (fixed buffers, nothing loaded
 *       whole), writes one JSON object per payload to stdout, and reports
 *       payloads/s per model and peak RSS on stderr. --stream decodes each
 *       payload record by record (lsws_uplink_decode_each and
 *       lsws_uplink_json_stream, as `lsws decode` does) instead of whole
 *       (lsws_uplink_decode and lsws_uplink_json); the output is the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lsws.h"

#define LINE_MAX_BYTES 1200 /* "cth01 " + 2 x 512 hex digits + newline, with room */

static uint64_t rng_state = 0x5eed5eed12345678u;

/* splitmix64: deterministic, so every run benchmarks the same input. */
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static int64_t rnd(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static void must(int rc, const struct lsws_error *err)
{
    if (rc != LSWS_OK) {
        fprintf(stderr, "bench_decode: %s\n", err->msg);
        exit(1);
    }
}

/* A WS523 periodic report in the guide's order, with plausible values. */
static void build_ws523(struct lsws_uplink *up, uint32_t energy)
{
    struct lsws_error err;
    int on = rnd(0, 9) != 0;
    int64_t current = on ? rnd(0, 16000) : 0;
    int64_t voltage = rnd(2000, 2500);
    lsws_uplink_init(up, LSWS_MODEL_WS523);
    must(lsws_uplink_add(up, "socket_status", 0, on, &err), &err);
    must(lsws_uplink_add(up, "power_factor", 0, on ? rnd(40, 100) : 0, &err), &err);
    must(lsws_uplink_add(up, "current", 0, current, &err), &err);
    must(lsws_uplink_add(up, "voltage", 0, voltage, &err), &err);
    must(lsws_uplink_add(up, "power_consumption", 0, energy, &err), &err);
    must(lsws_uplink_add(up, "active_power", 0, current * voltage / 10000, &err), &err);
}

static void add_channels(struct lsws_uplink *up, const char *name, unsigned first, unsigned n,
                         int64_t lo, int64_t hi)
{
    struct lsws_error err;
    for (unsigned ch = first; ch < first + n; ch++)
        must(lsws_uplink_add(up, name, ch, rnd(lo, hi), &err), &err);
}

/* A CTH01 periodic packet of at most 242 bytes (the LoRaWAN maximum): the
 * fixed quantities (96 bytes) plus four of the ten power/energy commands,
 * chosen in turn. */
static void build_cth01(struct lsws_uplink *up, unsigned seq)
{
    static const struct {
        const char *name, *mask_ab, *mask_cd;
        int64_t lo, hi;
    } pairs[] = {
        {"active_power", "active_power_mask_ab", "active_power_mask_cd", -50000, 200000},
        {"reactive_power", "reactive_power_mask_ab", "reactive_power_mask_cd", -20000, 20000},
        {"apparent_power", "apparent_power_mask_ab", "apparent_power_mask_cd", 0, 250000},
        {"forward_active_energy", "forward_active_energy_mask_ab",
         "forward_active_energy_mask_cd", 0, 2000000000},
        {"reverse_active_energy", "reverse_active_energy_mask_ab",
         "reverse_active_energy_mask_cd", 0, 100000},
    };
    struct lsws_error err;
    lsws_uplink_init(up, LSWS_MODEL_CTH01);
    must(lsws_uplink_add(up, "temperature", 0, rnd(-2000, 10000), &err), &err);
    must(lsws_uplink_add(up, "voltage_unbalance", 0, rnd(0, 10000), &err), &err);
    add_channels(up, "thdi", 1, 12, 0, 10000);
    add_channels(up, "thdv", 1, 3, 0, 10000);
    add_channels(up, "current", 1, 12, 0, 400000); /* up to 4000 A */
    add_channels(up, "voltage", 1, 3, 20000, 42000);
    must(lsws_uplink_add(up, "power_factor_mask", 0, rnd(0, 15), &err), &err);
    add_channels(up, "power_factor", 1, 12, 0, 100);
    for (unsigned k = 0; k < 2; k++) {
        unsigned p = (seq * 2 + k) % (sizeof pairs / sizeof pairs[0]);
        must(lsws_uplink_add(up, pairs[p].mask_ab, 0, rnd(0, 3), &err), &err);
        add_channels(up, pairs[p].name, 1, 6, pairs[p].lo, pairs[p].hi);
        must(lsws_uplink_add(up, pairs[p].mask_cd, 0, rnd(0, 3), &err), &err);
        add_channels(up, pairs[p].name, 7, 6, pairs[p].lo, pairs[p].hi);
    }
}

static void write_line(FILE *f, const char *tag, const struct lsws_uplink *up)
{
    uint8_t bytes[512];
    char hex[2 * sizeof bytes + 1];
    size_t len;
    struct lsws_error err;
    must(lsws_uplink_encode(up, bytes, sizeof bytes, &len, &err), &err);
    lsws_hex_format(bytes, len, hex);
    fprintf(f, "%s %s\n", tag, hex);
}

static int gen(const char *path, unsigned long n_ws, unsigned long n_cth)
{
    static struct lsws_uplink up;
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_decode: cannot create '%s': %s\n", path, strerror(errno));
        return 1;
    }
    uint32_t energy = 0;
    for (unsigned long i = 0; i < n_ws; i++) {
        energy += (uint32_t)rnd(0, 50);
        build_ws523(&up, energy);
        write_line(f, "ws523", &up);
    }
    for (unsigned long i = 0; i < n_cth; i++) {
        build_cth01(&up, (unsigned)i);
        write_line(f, "cth01", &up);
    }
    if (ferror(f) || (f != stdout && fclose(f) != 0)) {
        fprintf(stderr, "bench_decode: cannot write '%s'\n", path);
        return 1;
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct tally {
    unsigned long payloads, bytes, errors;
    double seconds;
};

static char json[64 * 1024];

/* --stream: each record's piece of the payload's JSON line. */
struct piece_ctx {
    unsigned state;
    size_t len;
};

static int json_piece(const struct lsws_uplink *rec, void *arg)
{
    struct piece_ctx *p = arg;
    p->len += lsws_uplink_json_stream(rec, &p->state, json + p->len, sizeof json - p->len);
    return p->len < sizeof json ? 0 : LSWS_ERR_RANGE;
}

static int run(int nfiles, char **files, int streaming)
{
    static struct lsws_uplink up;
    static char line[LINE_MAX_BYTES];
    static char outbuf[1 << 16];
    uint8_t bytes[LINE_MAX_BYTES / 2];
    struct tally t[LSWS_MODEL_COUNT] = {{0}};
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    for (int fi = 0; fi < nfiles; fi++) {
        FILE *f = fopen(files[fi], "r");
        if (!f) {
            fprintf(stderr, "bench_decode: cannot open '%s': %s\n", files[fi], strerror(errno));
            return 1;
        }
        /* Time runs of one model: a clock read per model change, not per line. */
        int model = -1;
        double start = now();
        unsigned long lineno = 0;
        while (fgets(line, sizeof line, f)) {
            lineno++;
            size_t n = strlen(line);
            if (n && line[n - 1] == '\n')
                line[--n] = '\0';
            int m = strncmp(line, "ws523 ", 6) == 0   ? LSWS_MODEL_WS523
                    : strncmp(line, "cth01 ", 6) == 0 ? LSWS_MODEL_CTH01
                                                      : -1;
            if (m < 0) {
                fprintf(stderr, "bench_decode: %s:%lu: expected 'ws523 HEX' or 'cth01 HEX'\n",
                        files[fi], lineno);
                fclose(f);
                return 1;
            }
            if (m != model) {
                double t1 = now();
                if (model >= 0)
                    t[model].seconds += t1 - start;
                start = t1;
                model = m;
            }
            struct lsws_error err;
            size_t len, jn;
            if (lsws_hex_parse(line + 6, bytes, sizeof bytes, &len, &err) != LSWS_OK) {
                t[m].errors++;
                continue;
            }
            if (streaming) {
                struct piece_ctx p = {0, 0};
                if (lsws_uplink_decode_each((enum lsws_model_id)m, bytes, len, json_piece, &p,
                                            &err) != LSWS_OK) {
                    t[m].errors++;
                    continue;
                }
                jn = p.len + lsws_uplink_json_stream(NULL, &p.state, json + p.len,
                                                     sizeof json - p.len);
            } else {
                if (lsws_uplink_decode((enum lsws_model_id)m, bytes, len, &up, &err) != LSWS_OK) {
                    t[m].errors++;
                    continue;
                }
                jn = lsws_uplink_json(&up, json, sizeof json);
            }
            if (jn < sizeof json) {
                json[jn] = '\n';
                fwrite(json, 1, jn + 1, stdout);
            }
            t[m].payloads++;
            t[m].bytes += len;
        }
        if (model >= 0)
            t[model].seconds += now() - start;
        fclose(f);
    }
    fflush(stdout);

    static const char *const names[] = {"ws523", "cth01"};
    unsigned long total = 0;
    double seconds = 0;
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        total += t[m].payloads;
        seconds += t[m].seconds;
        if (!t[m].payloads && !t[m].errors)
            continue;
        fprintf(stderr, "%s: %lu payloads (%lu bytes, %lu errors) in %.3f s: %.0f payloads/s\n",
                names[m], t[m].payloads, t[m].bytes, t[m].errors, t[m].seconds,
                t[m].seconds > 0 ? (double)t[m].payloads / t[m].seconds : 0.0);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "total: %lu payloads in %.3f s: %.0f payloads/s; peak RSS %ld KiB\n", total,
            seconds, seconds > 0 ? (double)total / seconds : 0.0, ru.ru_maxrss);
    return t[0].errors || t[1].errors ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_decode gen FILE [WS523_COUNT [CTH01_COUNT]]\n"
                    "       bench_decode run [--stream] FILE...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "gen") == 0 && argc <= 5) {
        unsigned long n_ws = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000ul;
        unsigned long n_cth = argc > 4 ? strtoul(argv[4], NULL, 10) : 100000ul;
        return gen(argv[2], n_ws, n_cth);
    }
    if (argc >= 3 && strcmp(argv[1], "run") == 0) {
        int streaming = strcmp(argv[2], "--stream") == 0;
        if (argc - 2 - streaming < 1)
            return usage();
        return run(argc - 2 - streaming, argv + 2 + streaming, streaming);
    }
    return usage();
}
