/* The simulated unit's firmware slots (docs/firmware.md): FW_BEGIN,
 * FW_DATA and FW_END as a unit with two slots serves them. The running
 * firmware is the one the state file names (or the factory one); an upgrade
 * is staged in the other slot, a file beside the state file:
 *
 *   STATE.fw:  "LSST" | version 1 | 11 zero bytes | the image as FW_BEGIN
 *              describes it (47 bytes: model, hardware range, version,
 *              payload length, CRC-32, SHA-256) | 1 zero byte |
 *              the payload bytes staged so far, in order
 *
 * so the next offset the unit expects is the file's size less 64, and an
 * interrupted transfer (a dropped link, a killed lsws, a killed simulator)
 * resumes there. Each chunk is checked against its CRC-32 before it is
 * written; the image is verified whole (length, CRC-32, SHA-256) before it
 * is committed; until then the old firmware runs. Requests come under the
 * state file's lock (device.c), so two simulators sharing a state file
 * share its staged image too. A unit without a state file stages in memory.
 * Every request payload is parsed with explicit bounds. */
#include "sim_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGE_HEAD 64
#define DESC_OFF 16
#define DESC_LEN (LSWS_FW_BEGIN_LEN - 1) /* FW_BEGIN without its flags */
#define VERIFY_BLOCK 65536

struct sim_fw {
    char *path;      /* staging file; NULL: in memory */
    uint8_t *mem;    /* in memory: the staging file's bytes */
    size_t mem_len;  /* 0: nothing staged */
    /* the transfer open in this session */
    int open;
    unsigned flags;  /* its FW_BEGIN flags */
    uint8_t head[STAGE_HEAD];
    struct lsws_fw_header h;
    /* faults */
    int bad_checksum, refuse_commit;
    unsigned long data_frames;
};

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int sim_fw_new(const char *state_path, struct sim_fw **out, struct lsws_error *err)
{
    struct sim_fw *fw = calloc(1, sizeof *fw);
    if (!fw)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    if (state_path) {
        size_t n = strlen(state_path) + sizeof ".fw";
        if (!(fw->path = malloc(n))) {
            free(fw);
            return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
        }
        snprintf(fw->path, n, "%s.fw", state_path);
    }
    *out = fw;
    return LSWS_OK;
}

void sim_fw_free(struct sim_fw *fw)
{
    if (!fw)
        return;
    free(fw->path);
    free(fw->mem);
    free(fw);
}

const char *sim_fw_path(const struct sim_fw *fw)
{
    return fw->path;
}

void sim_fw_end_session(struct sim_fw *fw)
{
    if (fw)
        fw->open = 0;
}

void sim_fw_set_faults(struct sim_fw *fw, const struct lsws_sim_faults *f)
{
    fw->bad_checksum = f->fw_bad_checksum;
    fw->refuse_commit = f->fw_refuse_commit;
}

int sim_fw_corrupts(struct sim_fw *fw, const struct lsws_sim_faults *f, const uint8_t *req, size_t len)
{
    if (len < 3 + 8 + 1 || req[0] != LSWS_PROTO_VERSION || req[2] != LSWS_OP_FW_DATA)
        return 0;
    return lsws_sim_fault_listed(f->fw_corrupt, ++fw->data_frames);
}

static void say(struct sim_fw_reply *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct sim_fw_reply *rep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->why, sizeof rep->why, fmt, ap);
    va_end(ap);
}

/* An answer whose payload is the next offset the unit expects. */
static void at(struct sim_fw_reply *rep, int status, uint32_t next)
{
    rep->status = status;
    put32(rep->out, next);
    rep->len = 4;
}

/* ---- the staged slot ------------------------------------------------------------- */

/* The staging header and the number of payload bytes staged: 1, 0 when
 * nothing is staged, -1 on an I/O error (in rep). */
static int staged(struct sim_fw *fw, uint8_t head[STAGE_HEAD], uint32_t *len, struct sim_fw_reply *rep)
{
    if (!fw->path) {
        if (fw->mem_len < STAGE_HEAD)
            return 0;
        memcpy(head, fw->mem, STAGE_HEAD);
        *len = (uint32_t)(fw->mem_len - STAGE_HEAD);
        return 1;
    }
    int fd = open(fw->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        say(rep, "cannot open '%s': %s", fw->path, strerror(errno));
        return -1;
    }
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= STAGE_HEAD &&
        pread(fd, head, STAGE_HEAD, 0) == STAGE_HEAD && memcmp(head, "LSST\1", 5) == 0) {
        uint64_t n = (uint64_t)sb.st_size - STAGE_HEAD;
        *len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
        rc = 1;
    }
    close(fd); /* a staging file that is not one holds nothing: it is replaced at the next FW_BEGIN */
    return rc;
}

/* A new, empty staging slot for the image of fw->head. */
static int stage_new(struct sim_fw *fw, struct sim_fw_reply *rep)
{
    if (!fw->path) {
        uint8_t *m = realloc(fw->mem, STAGE_HEAD);
        if (!m) {
            say(rep, "out of memory");
            return -1;
        }
        fw->mem = m;
        memcpy(m, fw->head, STAGE_HEAD);
        fw->mem_len = STAGE_HEAD;
        return 0;
    }
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_file_write(fw->path, fw->head, STAGE_HEAD, 0600, &err) != LSWS_OK) {
        say(rep, "%s", err.msg);
        return -1;
    }
    return 0;
}

static int stage_write(struct sim_fw *fw, uint32_t off, const uint8_t *p, size_t n, struct sim_fw_reply *rep)
{
    if (!fw->path) {
        uint8_t *m = realloc(fw->mem, STAGE_HEAD + (size_t)off + n);
        if (!m) {
            say(rep, "out of memory");
            return -1;
        }
        fw->mem = m;
        memcpy(m + STAGE_HEAD + off, p, n);
        fw->mem_len = STAGE_HEAD + (size_t)off + n;
        return 0;
    }
    /* Written, not synced: the bytes survive the simulator being killed
     * (they are in the kernel's cache), as flash survives a reset. */
    int fd = open(fw->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t w = -1;
    if (fd >= 0) {
        w = pwrite(fd, p, n, (off_t)STAGE_HEAD + off);
        if (w == (ssize_t)n && ftruncate(fd, (off_t)STAGE_HEAD + off + (off_t)n) < 0)
            w = -1;
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (w != (ssize_t)n) {
        say(rep, "cannot write '%s': %s", fw->path, w < 0 ? strerror(e) : "short write");
        return -1;
    }
    return 0;
}

static void stage_remove(struct sim_fw *fw)
{
    if (!fw->path) {
        free(fw->mem);
        fw->mem = NULL;
        fw->mem_len = 0;
        return;
    }
    unlink(fw->path);
}

/* The CRC-32 and SHA-256 of the staged payload (len bytes). */
static int stage_digest(struct sim_fw *fw, uint32_t len, uint32_t *crc, uint8_t sha[32], struct sim_fw_reply *rep)
{
    struct lsws_fw_digest *d;
    if (lsws_fw_digest_new(&d) != LSWS_OK) {
        say(rep, "out of memory");
        return -1;
    }
    int rc = 0;
    if (!fw->path) {
        lsws_fw_digest_update(d, fw->mem + STAGE_HEAD, len);
    } else {
        uint8_t *buf = malloc(VERIFY_BLOCK);
        int fd = buf ? open(fw->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
        for (uint32_t pos = 0; fd >= 0 && pos < len && rc == 0;) {
            size_t n = len - pos < VERIFY_BLOCK ? len - pos : VERIFY_BLOCK;
            ssize_t got = pread(fd, buf, n, (off_t)STAGE_HEAD + pos);
            if (got <= 0)
                rc = -1;
            else {
                lsws_fw_digest_update(d, buf, (size_t)got);
                pos += (uint32_t)got;
            }
        }
        if (fd < 0 || rc < 0) {
            say(rep, "cannot read '%s': %s", fw->path, strerror(errno));
            rc = -1;
        }
        if (fd >= 0)
            close(fd);
        free(buf);
    }
    if (rc == 0 && lsws_fw_digest_final(d, crc, sha) != LSWS_OK) {
        say(rep, "SHA-256 failed");
        rc = -1;
    }
    lsws_fw_digest_free(d);
    return rc;
}

/* The open transfer's image is still the one staged (another client
 * sharing the unit may have started another): its byte count, or -1 with
 * the answer given. */
static int64_t still_staged(struct sim_fw *fw, struct sim_fw_reply *rep)
{
    uint8_t head[STAGE_HEAD];
    uint32_t len = 0;
    int rc = staged(fw, head, &len, rep);
    if (rc < 0) {
        rep->status = LSWS_ST_STORAGE;
        return -1;
    }
    if (rc == 0 || memcmp(head, fw->head, STAGE_HEAD) != 0 || len > fw->h.payload_len) {
        fw->open = 0;
        rep->status = LSWS_ST_SEQUENCE;
        say(rep, "the staged image was replaced or removed: FW_BEGIN again");
        return -1;
    }
    return len;
}

/* ---- FW_BEGIN, FW_DATA, FW_END -------------------------------------------------------- */

static void invalid(struct sim_fw_reply *rep, size_t offset, const char *msg)
{
    rep->status = LSWS_ST_INVALID;
    rep->offset = offset;
    say(rep, "%s", msg);
}

static void fw_begin(struct sim_fw *fw, const struct sim_fw_unit *unit, const uint8_t *p, size_t n,
                     struct sim_fw_reply *rep)
{
    struct lsws_fw_header h;
    struct lsws_error err;
    unsigned flags;
    lsws_error_clear(&err);
    fw->open = 0; /* a new FW_BEGIN replaces the transfer of this session */
    int rc = lsws_fw_begin_decode(p, n, &h, &flags, &err);
    if (rc == LSWS_ERR_TRUNCATED || (rc == LSWS_ERR_MALFORMED && n != LSWS_FW_BEGIN_LEN)) {
        rep->status = LSWS_ST_BAD_REQUEST;
        say(rep, "%s", err.msg);
        return;
    }
    if (rc != LSWS_OK) {
        invalid(rep, err.offset == SIZE_MAX ? 0xffff : err.offset, err.msg);
        return;
    }
    /* The unit applies lsws's rule itself: its model and hardware, and no
     * downgrade unless asked for. Offsets count from the model byte (the
     * payload's byte 1): model 1, hardware 2, version 6. */
    enum lsws_fw_refusal why;
    if (lsws_fw_check_unit(&h, unit->model, unit->hw, unit->fw, (flags & LSWS_FW_BEGIN_FORCE) ? LSWS_FW_FORCE : 0,
                           &why, &err) != LSWS_OK) {
        invalid(rep, why == LSWS_FW_WRONG_MODEL ? 1 : why == LSWS_FW_WRONG_HARDWARE ? 2 : 6, err.msg);
        return;
    }
    if (h.payload_len > LSWS_SIM_FW_SLOT) {
        char msg[128];
        snprintf(msg, sizeof msg, "an image of %lu bytes does not fit the unit's %u-byte firmware slot",
                 (unsigned long)h.payload_len, LSWS_SIM_FW_SLOT);
        invalid(rep, 8, msg);
        return;
    }
    uint8_t head[STAGE_HEAD] = {'L', 'S', 'S', 'T', 1};
    memcpy(head + DESC_OFF, p + 1, DESC_LEN);
    uint8_t have[STAGE_HEAD];
    uint32_t len = 0;
    int st = staged(fw, have, &len, rep);
    if (st < 0) {
        rep->status = LSWS_ST_STORAGE;
        return;
    }
    memcpy(fw->head, head, STAGE_HEAD);
    char v[16];
    lsws_version_format(h.fw, 0, v, sizeof v);
    if (st == 1 && memcmp(have, head, STAGE_HEAD) == 0 && len <= h.payload_len) {
        say(rep, "firmware %s: %lu of %lu bytes already staged, resuming", v, (unsigned long)len,
            (unsigned long)h.payload_len);
    } else {
        if (stage_new(fw, rep) < 0) {
            rep->status = LSWS_ST_STORAGE;
            return;
        }
        len = 0;
        say(rep, "firmware %s: %lu bytes, staging from 0%s", v, (unsigned long)h.payload_len,
            st == 1 ? " (another staged image discarded)" : "");
    }
    fw->open = 1;
    fw->flags = flags;
    fw->h = h;
    at(rep, LSWS_ST_OK, len);
    put32(rep->out + 4, LSWS_SIM_FW_SLOT);
    rep->len = 8;
}

static void fw_data(struct sim_fw *fw, const uint8_t *p, size_t n, struct sim_fw_reply *rep)
{
    if (!fw->open) {
        rep->status = LSWS_ST_SEQUENCE;
        say(rep, "no firmware transfer open in this session: FW_BEGIN first");
        return;
    }
    if (n < 8 + 1) {
        rep->status = LSWS_ST_BAD_REQUEST;
        say(rep, "fw-data: offset (4), CRC-32 (4) and at least one byte, not %zu bytes", n);
        return;
    }
    int64_t have = still_staged(fw, rep);
    if (have < 0)
        return;
    uint32_t off = get32(p), crc = get32(p + 4);
    const uint8_t *data = p + 8;
    size_t dn = n - 8;
    /* The CRC covers the offset and the data: a chunk changed anywhere is refused. */
    uint32_t got = lsws_crc32(lsws_crc32(0, p, 4), data, dn);
    if (got != crc) {
        at(rep, LSWS_ST_CHECKSUM, (uint32_t)have);
        say(rep, "chunk at %lu: CRC-32 %08lx, the request says %08lx: not stored", (unsigned long)off,
            (unsigned long)got, (unsigned long)crc);
        return;
    }
    if (off != have) {
        at(rep, LSWS_ST_SEQUENCE, (uint32_t)have);
        say(rep, "chunk at %lu, the unit expects %lu", (unsigned long)off, (unsigned long)have);
        return;
    }
    if (dn > fw->h.payload_len - (uint32_t)have) {
        char msg[128];
        snprintf(msg, sizeof msg, "a chunk of %zu bytes at %lu ends past the %lu-byte image", dn, (unsigned long)off,
                 (unsigned long)fw->h.payload_len);
        invalid(rep, 8, msg);
        return;
    }
    if (stage_write(fw, off, data, dn, rep) < 0) {
        rep->status = LSWS_ST_STORAGE;
        return;
    }
    uint32_t next = off + (uint32_t)dn;
    at(rep, LSWS_ST_OK, next);
    say(rep, "staged %zu bytes at %lu: %lu of %lu", dn, (unsigned long)off, (unsigned long)next,
        (unsigned long)fw->h.payload_len);
}

static void fw_end(struct sim_fw *fw, const struct sim_fw_unit *unit, size_t n, struct sim_fw_reply *rep)
{
    if (!fw->open) {
        rep->status = LSWS_ST_SEQUENCE;
        say(rep, "no firmware transfer open in this session: FW_BEGIN first");
        return;
    }
    if (n) {
        rep->status = LSWS_ST_BAD_REQUEST;
        say(rep, "fw-end takes no payload");
        return;
    }
    int64_t have = still_staged(fw, rep);
    if (have < 0)
        return;
    if (have < fw->h.payload_len) {
        at(rep, LSWS_ST_SEQUENCE, (uint32_t)have);
        say(rep, "only %lu of %lu bytes staged", (unsigned long)have, (unsigned long)fw->h.payload_len);
        return;
    }
    /* The running version may have changed since FW_BEGIN (another client). */
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_fw_check_unit(&fw->h, unit->model, unit->hw, unit->fw,
                           (fw->flags & LSWS_FW_BEGIN_FORCE) ? LSWS_FW_FORCE : 0, NULL, &err) != LSWS_OK) {
        invalid(rep, 0xffff, err.msg);
        return;
    }
    uint32_t crc;
    uint8_t sha[32];
    if (stage_digest(fw, fw->h.payload_len, &crc, sha, rep) < 0) {
        rep->status = LSWS_ST_STORAGE;
        return;
    }
    if (fw->bad_checksum)
        crc = ~crc; /* fault: as if the slot held other bytes */
    if (lsws_fw_digest_check(&fw->h, crc, sha, &err) != LSWS_OK) {
        stage_remove(fw);
        fw->open = 0;
        at(rep, LSWS_ST_CHECKSUM, 0);
        say(rep, "%s%s: staged image discarded, the old firmware runs on", err.msg,
            fw->bad_checksum ? " (fault)" : "");
        return;
    }
    if (fw->refuse_commit) {
        rep->status = LSWS_ST_STORAGE;
        say(rep, "image verified; commit refused (fault): the old firmware runs on, the image stays staged");
        return;
    }
    rep->status = SIM_FW_COMMIT;
    rep->new_fw = fw->h.fw;
    say(rep, "image verified (%lu bytes, CRC-32 %08lx, SHA-256)", (unsigned long)fw->h.payload_len,
        (unsigned long)crc);
}

void sim_fw_request(struct sim_fw *fw, const struct sim_fw_unit *unit, unsigned op, const uint8_t *p, size_t n,
                    struct sim_fw_reply *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->status = LSWS_ST_BAD_REQUEST;
    switch (op) {
    case LSWS_OP_FW_BEGIN:
        fw_begin(fw, unit, p, n, rep);
        break;
    case LSWS_OP_FW_DATA:
        fw_data(fw, p, n, rep);
        break;
    case LSWS_OP_FW_END:
        fw_end(fw, unit, n, rep);
        break;
    default:
        say(rep, "not a firmware operation");
        break;
    }
}

void sim_fw_committed(struct sim_fw *fw)
{
    stage_remove(fw);
    fw->open = 0;
}

/* ---- test images ------------------------------------------------------------------ */

int lsws_sim_firmware_image(enum lsws_model_id model, uint16_t hw_min, uint16_t hw_max, uint16_t fw, size_t size,
                            const char *name, uint8_t **out, size_t *olen, struct lsws_error *err)
{
    const struct lsws_model *m = lsws_model_get(model);
    if (!m)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX, "unknown model %d", (int)model);
    if (size == 0 || size > LSWS_FW_PAYLOAD_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "a firmware payload has 1 to %u bytes, not %zu",
                         LSWS_FW_PAYLOAD_MAX, size);
    uint8_t *payload = malloc(size);
    if (!payload)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    char v[16], line[96];
    lsws_version_format(fw, 0, v, sizeof v);
    int k = snprintf(line, sizeof line, "lsws-sim test firmware: %s %s\n", m->name, v);
    /* xorshift64*, seeded by model and version: the same image every time. */
    uint64_t x = 0x9e3779b97f4a7c15ull ^ ((uint64_t)model << 32 | fw) ^ size;
    for (size_t i = 0; i < size; i++) {
        if (i < (size_t)k) {
            payload[i] = (uint8_t)line[i];
            continue;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        payload[i] = (uint8_t)((x * 0x2545f4914f6cdd1dull) >> 56);
    }
    struct lsws_fw_header h = {.model = model, .hw_min = hw_min, .hw_max = hw_max, .fw = fw};
    snprintf(h.name, sizeof h.name, "%s", name ? name : "lsws-sim test firmware");
    int rc = lsws_fw_image_build(&h, payload, size, out, olen, err);
    free(payload);
    return rc;
}
