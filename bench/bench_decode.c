/* Uplink decode throughput: hex line -> bytes -> decode -> JSON line.
 *
 *   bench_decode cli LSWS [WS523_COUNT [CTH01_COUNT [RUNS]]]
 *       the `lsws decode --json` process itself: writes the periodic
 *       payloads (default 1,000,000 WS523 and 100,000 CTH01, as gen) one
 *       hex payload per line to a file per model, runs
 *       `LSWS --json decode --model MODEL < FILE` with its output on a pipe
 *       this program drains (and checks: one JSON line per payload), then
 *       with it on /dev/null, RUNS times each (default 5), and reports for
 *       each the best run's payloads per second
 *       of the child's CPU time (user + system: one core) and of wall time,
 *       and its peak RSS; then the same for a tenth of the input, to show
 *       that memory does not grow with it
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* ---- cli: the lsws decode process ------------------------------------------- */

struct child_run {
    double wall, cpu; /* seconds */
    long max_rss;     /* KiB */
    unsigned long lines, bytes;
    int status;
};

/* Runs `lsws --json decode --model MODEL < input`, draining its stdout
 * (to_null: stdout is /dev/null, and lines are not counted). */
static int run_lsws(const char *lsws, const char *model, const char *input, int to_null,
                    struct child_run *out)
{
    int in = open(input, O_RDONLY), pipefd[2];
    if (in < 0 || pipe(pipefd) != 0) {
        fprintf(stderr, "bench_decode: %s: %s\n", input, strerror(errno));
        return -1;
    }
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in, STDIN_FILENO);
        if (to_null) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, pipefd[1]);
        }
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        close(in);
        execl(lsws, lsws, "--json", "decode", "--model", model, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    close(in);
    static char buf[1 << 16];
    ssize_t n;
    out->lines = out->bytes = 0;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) {
        out->bytes += (unsigned long)n;
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))); p++)
            out->lines++;
    }
    close(pipefd[0]);
    struct rusage ru;
    if (wait4(pid, &out->status, 0, &ru) != pid)
        return -1;
    out->wall = now() - t0;
    out->cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
    out->max_rss = ru.ru_maxrss;
    return 0;
}

/* One model's payloads as plain hex lines. */
static int write_payloads(const char *path, int model, unsigned long count)
{
    static struct lsws_uplink up;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    uint32_t energy = 0;
    for (unsigned long i = 0; i < count; i++) {
        if (model == LSWS_MODEL_WS523) {
            energy += (uint32_t)rnd(0, 50);
            build_ws523(&up, energy);
        } else {
            build_cth01(&up, (unsigned)i);
        }
        uint8_t bytes[512];
        char hex[2 * sizeof bytes + 1];
        size_t len;
        struct lsws_error err;
        must(lsws_uplink_encode(&up, bytes, sizeof bytes, &len, &err), &err);
        lsws_hex_format(bytes, len, hex);
        fprintf(f, "%s\n", hex);
    }
    return fclose(f);
}

static int cli(const char *lsws, unsigned long n_ws, unsigned long n_cth, int runs)
{
    static const struct {
        const char *name;
        int model;
    } models[] = {{"ws523", LSWS_MODEL_WS523}, {"cth01", LSWS_MODEL_CTH01}};
    char dir[] = "/tmp/bench_decode.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int rc = 0;
    for (int m = 0; m < 2; m++) {
        unsigned long count = m == 0 ? n_ws : n_cth;
        for (int part = 0; part < 2 && count; part++) {
            unsigned long k = part == 0 ? count : count / 10;
            char path[64];
            snprintf(path, sizeof path, "%s/%s-%lu.hex", dir, models[m].name, k);
            rng_state = 0x5eed5eed12345678u; /* the same payloads every time */
            if (write_payloads(path, models[m].model, k) != 0) {
                fprintf(stderr, "bench_decode: cannot write '%s'\n", path);
                return 1;
            }
            for (int to_null = 0; to_null < 2; to_null++) {
                struct child_run best = {0};
                for (int r = 0; r < runs; r++) {
                    struct child_run cr;
                    if (run_lsws(lsws, models[m].name, path, to_null, &cr) != 0 ||
                        !WIFEXITED(cr.status) || WEXITSTATUS(cr.status) != 0 ||
                        (!to_null && cr.lines != k)) {
                        fprintf(stderr,
                                "bench_decode: %s %s: exit status %d, %lu lines for %lu payloads\n",
                                lsws, path, cr.status, cr.lines, k);
                        rc = 1;
                        break;
                    }
                    if (r == 0 || cr.cpu < best.cpu)
                        best = cr;
                }
                if (rc)
                    break;
                printf("%s %8lu payloads > %s: %6.3f s CPU: %9.0f payloads/s (%9.0f per wall "
                       "second), peak RSS %ld KiB\n",
                       models[m].name, k, to_null ? "/dev/null" : "pipe     ", best.cpu,
                       (double)k / best.cpu, (double)k / best.wall, best.max_rss);
            }
            if (rc)
                break;
            unlink(path);
        }
    }
    rmdir(dir);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_decode cli LSWS [WS523_COUNT [CTH01_COUNT [RUNS]]]\n"
                    "       bench_decode gen FILE [WS523_COUNT [CTH01_COUNT]]\n"
                    "       bench_decode run [--stream] FILE...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "cli") == 0 && argc <= 6) {
        unsigned long n_ws = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000ul;
        unsigned long n_cth = argc > 4 ? strtoul(argv[4], NULL, 10) : 100000ul;
        int runs = argc > 5 ? atoi(argv[5]) : 5;
        return cli(argv[2], n_ws, n_cth, runs > 0 ? runs : 1);
    }
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
