/* The firmware upgrade job (docs/firmware.md): check the image against the
 * unit before anything is sent, transfer it in chunks the link carries,
 * resuming where the unit's staged copy ends, have the unit verify and
 * commit it, then reconnect after its reboot and read the version it runs.
 * The unit keeps running its old firmware until a complete, verified image
 * is committed, so every way this can stop leaves a working unit; the
 * outcome says which way it stopped and what the unit holds. Commands only
 * render it. */
#include "lsws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FW_DATA_HEAD (3 + 4 + 4) /* request header, offset, CRC-32 */
#define RECONNECTS 3             /* link reopened in a row without progress, at most */
#define CHUNK_TRIES 5            /* one chunk refused as corrupt this often in a row: give up */
#define RESYNCS 5                /* offsets corrected in a row without progress, at most */
#define BOOT_TRIES 10            /* reconnects after the commit's reboot */
#define BOOT_WAIT_MS 300         /* between them */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void lsws_upgrade_free(struct lsws_upgrade *u)
{
    free(u);
}

/* Copies the job's error to the caller's. */
static int give(struct lsws_upgrade *u, int rc, struct lsws_error *err)
{
    u->rc = rc;
    if (err && rc != LSWS_OK)
        *err = u->error;
    return rc;
}

int lsws_upgrade_plan(const struct lsws_device_info *info, const uint8_t *image, size_t len, unsigned flags,
                      struct lsws_upgrade **out, struct lsws_error *err)
{
    struct lsws_fw_header h;
    *out = NULL;
    int rc = lsws_fw_image_check(image, len, &h, err);
    if (rc != LSWS_OK)
        return rc;
    struct lsws_upgrade *u = calloc(1, sizeof *u);
    if (!u)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    lsws_error_clear(&u->error);
    u->h = h;
    u->image = image;
    u->image_len = len;
    u->before = *info;
    u->flags = flags;
    u->total = h.payload_len;
    *out = u;
    rc = lsws_fw_check_unit(&h, info->model, info->hw, info->fw, flags, &u->why, &u->error);
    if (rc != LSWS_OK) {
        u->outcome = LSWS_UPG_REFUSED;
        return give(u, rc, err);
    }
    u->forced = info->fw >= h.fw;
    u->outcome = LSWS_UPG_PLANNED;
    return LSWS_OK;
}

/* ---- the exchanges ------------------------------------------------------------------ */

/* FW_BEGIN: the unit says how much of this image it holds already. */
static int begin(struct lsws_client *c, struct lsws_upgrade *u, int first)
{
    uint8_t req[LSWS_FW_BEGIN_LEN], resp[LSWS_MSG_MAX];
    size_t rlen;
    int st;
    lsws_fw_begin_encode(&u->h, (u->flags & LSWS_FW_FORCE) ? LSWS_FW_BEGIN_FORCE : 0, req);
    int rc = lsws_client_call(c, LSWS_OP_FW_BEGIN, req, sizeof req, &st, resp, sizeof resp, &rlen, &u->error);
    if (st == LSWS_ST_INVALID) {
        /* offset (2) + message: the unit's own reason, in its words. */
        int n = rlen > 2 ? (int)(rlen - 2) : 0;
        for (int i = 0; i < n; i++)
            if (resp[2 + i] < 0x20 || resp[2 + i] >= 0x7f)
                n = i;
        if (n > 200)
            n = 200;
        return lsws_fail(&u->error, LSWS_ERR_DEVICE, SIZE_MAX, "'%s' refused the image%s%.*s", lsws_client_uri(c),
                         n ? ": " : "", n, (const char *)resp + 2);
    }
    if (rc != LSWS_OK)
        return rc;
    if (rlen < 8)
        return lsws_fail(&u->error, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s' answered fw-begin with %zu bytes, not 8",
                         lsws_client_uri(c), rlen);
    uint32_t next = get32(resp);
    if (next > u->total)
        return lsws_fail(&u->error, LSWS_ERR_PROTOCOL, SIZE_MAX,
                         "'%s' says it holds %lu bytes of a %lu-byte image", lsws_client_uri(c), (unsigned long)next,
                         (unsigned long)u->total);
    u->slot = get32(resp + 4);
    u->resumed_at = next;
    if (first)
        u->first_offset = next;
    u->acked = next;
    return LSWS_OK;
}

/* The link went away or the session ended: reopen it and open the transfer
 * again; the unit says where it stands. */
static int resume(struct lsws_client *c, struct lsws_upgrade *u, int rc)
{
    struct lsws_error rerr;
    lsws_error_clear(&rerr);
    u->reconnects++;
    if (lsws_client_reconnect(c, &rerr) != LSWS_OK) {
        if (!lsws_client_other_unit(c))
            return rc; /* the first error says what happened */
        u->error = rerr; /* another unit answers there now: say so */
        return rerr.code;
    }
    return begin(c, u, 0);
}

/* A session that is gone: a dropped link, no answer at all, or a unit that
 * ended the session (a reboot, the CTH01's idle timeout). */
static int link_lost(int rc, int status)
{
    return rc == LSWS_ERR_NODEV || rc == LSWS_ERR_TIMEOUT || (rc == LSWS_ERR_AUTH && status == LSWS_ST_AUTH_REQUIRED);
}

/* Chunks in flight (lsws_client_pipeline). The unit stores a chunk only
 * at the offset it expects and with a matching CRC, so whatever it holds
 * is always the image's first bytes: a chunk sent after one that was lost
 * or found corrupt is refused (SEQUENCE) with the offset it expects, and a
 * chunk it has passed already (sent again after its answer was lost, by a
 * unit that does not answer it from its cache) is refused the same way;
 * the transfer then goes on from that offset. So a
 * window changes how many bytes are out, never what the unit stores.
 * WINDOW_BYTES of requests out are enough to keep a link busy across its
 * round trip: on BLE an answer comes one interval after the chunk's last
 * fragment, while the next chunk takes 4 (docs/firmware.md, "Benchmark"),
 * so two chunks would do on an idle host and a third leaves room for a
 * busy one; it also bounds what a unit has to buffer. */
#define WINDOW_BYTES 3072

struct chunks {
    struct lsws_client *c;
    struct lsws_upgrade *u;
    const uint8_t *payload;
    uint32_t from;   /* the offset of request 0 */
    size_t chunk;    /* payload bytes per request */
    lsws_upgrade_progress_fn *progress;
    void *ctx;
    int stop;        /* progress asked to stop: no more chunks go out */
};

static void chunk_at(const struct chunks *w, unsigned i, uint32_t *off, size_t *n)
{
    uint64_t o = w->from + (uint64_t)i * w->chunk;
    *off = (uint32_t)o;
    *n = w->u->total - o < w->chunk ? (size_t)(w->u->total - o) : w->chunk;
}

static int chunk_build(void *ctx, unsigned i, uint8_t *req, size_t cap, size_t *len)
{
    struct chunks *w = ctx;
    uint32_t off;
    size_t n;
    if (w->stop)
        return LSWS_PIPELINE_END; /* the chunks out are still answered */
    (void)cap; /* 8 + n is less than the session's message size, at most LSWS_MSG_MAX */
    chunk_at(w, i, &off, &n);
    put32(req, off);
    put32(req + 4, lsws_crc32(lsws_crc32(0, req, 4), w->payload + off, n)); /* the offset and the data */
    memcpy(req + 8, w->payload + off, n);
    *len = 8 + n;
    w->u->sent += n;
    return LSWS_OK;
}

static int chunk_take(void *ctx, unsigned i, const uint8_t *resp, size_t len, struct lsws_error *err)
{
    struct chunks *w = ctx;
    struct lsws_upgrade *u = w->u;
    uint32_t off;
    size_t n;
    chunk_at(w, i, &off, &n);
    uint32_t next = len >= 4 ? get32(resp) : 0;
    /* OK means stored whole at this offset: nothing else is believed. */
    if (len < 4 || next != off + n)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s' acknowledged the chunk at %lu with next offset %lu",
                         lsws_client_uri(w->c), (unsigned long)off, (unsigned long)next);
    u->acked = next;
    u->chunks++;
    if (w->progress && !w->stop)
        w->stop = w->progress(u, w->ctx);
    return LSWS_OK;
}

/* The payload, a window of chunks at a time, until the unit has
 * acknowledged all of it. */
static int transfer(struct lsws_client *c, struct lsws_upgrade *u, lsws_upgrade_progress_fn *progress, void *ctx)
{
    const uint8_t *payload = u->image + LSWS_FW_HEADER_LEN;
    unsigned no_progress = 0, bad = 0, resyncs = 0;
    unsigned want = u->window;
    while (u->acked < u->total) {
        size_t msg = lsws_client_bulk_msg(c); /* a reconnect may bring other limits */
        u->chunk = msg > FW_DATA_HEAD ? msg - FW_DATA_HEAD : 1;
        u->window = lsws_client_window(c, want ? want : (unsigned)(WINDOW_BYTES / msg));
        struct chunks w = {c, u, payload, u->acked, u->chunk, progress, ctx, 0};
        unsigned n = (unsigned)((u->total - u->acked + u->chunk - 1) / u->chunk);
        uint32_t before = u->acked;
        uint8_t resp[16];
        size_t rlen;
        int st;
        int rc = lsws_client_pipeline(c, LSWS_OP_FW_DATA, n, u->window, chunk_build, chunk_take, &w, &st, resp,
                                      sizeof resp, &rlen, &u->error);
        if (u->acked > before)
            no_progress = bad = resyncs = 0;
        if (w.stop)
            return w.stop; /* after the chunks out were answered */
        if (rc == LSWS_OK)
            continue;
        uint32_t next = rlen >= 4 ? get32(resp) : 0;
        if (st == LSWS_ST_CHECKSUM) {
            /* A chunk arrived corrupt and was not stored (nor any after
             * it): from the offset the unit expects, again. */
            u->resent++;
            if (rlen >= 4 && next <= u->total)
                u->acked = next;
            if (++bad >= CHUNK_TRIES)
                return lsws_fail(&u->error, LSWS_ERR_DEVICE, SIZE_MAX,
                                 "'%s' found the chunk at offset %lu corrupt %d times in a row", lsws_client_uri(c),
                                 (unsigned long)u->acked, CHUNK_TRIES);
            continue;
        }
        if (st == LSWS_ST_SEQUENCE && rlen >= 4 && next <= u->total && ++resyncs <= RESYNCS) {
            /* The unit expects another offset (a chunk lost on the way, or
             * one it stored whose answer was lost): go on from there. */
            u->acked = next;
            continue;
        }
        if (st == LSWS_ST_SEQUENCE || link_lost(rc, st)) {
            /* No transfer open on the unit any more, or no link: open it again. */
            uint32_t at = u->acked;
            while (no_progress < RECONNECTS) {
                no_progress++;
                if ((rc = resume(c, u, rc)) == LSWS_OK)
                    break;
                if (!link_lost(rc, -1) || lsws_client_other_unit(c))
                    return rc;
            }
            if (rc != LSWS_OK)
                return rc;
            if (u->acked > at)
                no_progress = 0;
            continue;
        }
        return rc;
    }
    return LSWS_OK;
}

/* After the commit the unit reboots: reopen the link, log in again and
 * read what it runs. */
static int after_reboot(struct lsws_client *c, struct lsws_upgrade *u)
{
    struct lsws_error rerr;
    int rc = LSWS_ERR_NODEV;
    for (int i = 0; i < BOOT_TRIES; i++) {
        if (i)
            sleep_ms(BOOT_WAIT_MS);
        lsws_error_clear(&rerr);
        if ((rc = lsws_client_reconnect(c, &rerr)) == LSWS_OK &&
            (rc = lsws_client_identify(c, &u->after, &rerr)) == LSWS_OK) {
            u->have_after = 1;
            return LSWS_OK;
        }
        /* The unit answers: no boot to wait for. Or another unit answers
         * (lsws_client_reconnect checks the SN): its version says nothing
         * of this one's. */
        if (rc == LSWS_ERR_AUTH || lsws_client_other_unit(c))
            break;
    }
    u->error = rerr;
    return rc;
}

/* What the unit runs now, when the session is still up (a failed FW_END). */
static void read_version(struct lsws_client *c, struct lsws_upgrade *u)
{
    struct lsws_error e;
    lsws_error_clear(&e);
    u->have_after = lsws_client_identify(c, &u->after, &e) == LSWS_OK;
}

/* FW_END: the unit verifies the whole image, commits it and reboots.
 * *again when the transfer must go on first (the unit lacks bytes, or the
 * session ended before FW_END reached it). */
static int commit(struct lsws_client *c, struct lsws_upgrade *u, int *again)
{
    uint8_t resp[64];
    size_t rlen;
    int st;
    *again = 0;
    int rc = lsws_client_call(c, LSWS_OP_FW_END, NULL, 0, &st, resp, sizeof resp, &rlen, &u->error);
    if (st == LSWS_ST_SEQUENCE && rlen >= 4 && get32(resp) < u->total) {
        u->acked = get32(resp);
        *again = 1;
        return rc;
    }
    if (st == LSWS_ST_SEQUENCE || (rc == LSWS_ERR_AUTH && st == LSWS_ST_AUTH_REQUIRED)) {
        /* No transfer open in this session (it ended): open it again. */
        if ((rc = resume(c, u, rc)) == LSWS_OK)
            *again = 1;
        else
            u->outcome = LSWS_UPG_INTERRUPTED;
        return rc;
    }
    if (rc == LSWS_OK) {
        struct lsws_error saved = u->error;
        if ((rc = after_reboot(c, u)) != LSWS_OK) {
            /* Committed, as the unit said; only the version read failed. */
            u->outcome = LSWS_UPG_UNKNOWN;
            return rc;
        }
        u->error = saved;
        u->outcome = u->after.fw == u->h.fw ? LSWS_UPG_DONE : LSWS_UPG_MISMATCH;
        if (u->outcome == LSWS_UPG_MISMATCH) {
            char want[16], got[16];
            lsws_version_format(u->h.fw, 0, want, sizeof want);
            lsws_version_format(u->after.fw, 0, got, sizeof got);
            return lsws_fail(&u->error, LSWS_ERR_VERIFY, SIZE_MAX,
                             "'%s' committed firmware %s, but after its reboot it reports %s", lsws_client_uri(c),
                             want, got);
        }
        return LSWS_OK;
    }
    if (st == LSWS_ST_CHECKSUM) {
        u->outcome = LSWS_UPG_CHECKSUM;
        u->acked = 0; /* the unit discarded the image */
        read_version(c, u);
        return lsws_fail(&u->error, LSWS_ERR_VERIFY, SIZE_MAX,
                         "'%s' found the checksum of the whole image wrong and discarded it", lsws_client_uri(c));
    }
    if (st >= 0 && !lsws_client_maybe_applied(c)) {
        /* Refused (STORAGE, BUSY, ...): nothing committed, the staged image is kept. */
        u->outcome = LSWS_UPG_NOT_COMMITTED;
        read_version(c, u);
        return rc;
    }
    /* The answer was lost: the version the unit reports settles it. */
    struct lsws_error saved = u->error;
    if (after_reboot(c, u) != LSWS_OK) {
        u->error = saved;
        u->outcome = LSWS_UPG_UNKNOWN;
        return rc;
    }
    u->answer_lost = 1;
    if (u->after.fw == u->h.fw && u->after.fw != u->before.fw) {
        u->error = saved;
        u->outcome = LSWS_UPG_DONE;
        return LSWS_OK;
    }
    if (u->after.fw == u->before.fw && u->after.fw != u->h.fw) {
        /* Not committed: the unit still holds the whole image staged. */
        u->error = saved;
        u->outcome = LSWS_UPG_INTERRUPTED;
        return rc;
    }
    u->error = saved;
    u->outcome = LSWS_UPG_UNKNOWN;
    return rc;
}

int lsws_upgrade_run(struct lsws_client *c, struct lsws_upgrade *u, lsws_upgrade_progress_fn *progress, void *ctx,
                     struct lsws_error *err)
{
    if (u->outcome != LSWS_UPG_PLANNED)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "the upgrade is not a plan that can run");
    lsws_error_clear(&u->error);
    int rc = begin(c, u, 1);
    if (rc != LSWS_OK) {
        /* The unit refused the image (or cannot take firmware): nothing staged. */
        int st_refused = rc == LSWS_ERR_DEVICE || rc == LSWS_ERR_UNSUPPORTED || rc == LSWS_ERR_INVALID;
        u->outcome = st_refused ? LSWS_UPG_REFUSED : LSWS_UPG_INTERRUPTED;
        return give(u, rc, err);
    }
    int stop = progress ? progress(u, ctx) : 0;
    if (stop) {
        u->outcome = LSWS_UPG_INTERRUPTED;
        u->rc = stop;
        return stop;
    }
    for (int round = 0;; round++) {
        rc = transfer(c, u, progress, ctx);
        if (rc > 0) { /* progress asked to stop */
            u->outcome = LSWS_UPG_INTERRUPTED;
            u->rc = rc;
            return rc;
        }
        if (rc != LSWS_OK) {
            u->outcome = LSWS_UPG_INTERRUPTED;
            return give(u, rc, err);
        }
        int again;
        rc = commit(c, u, &again);
        if (!again)
            break;
        if (round == RESYNCS) {
            u->outcome = LSWS_UPG_INTERRUPTED;
            rc = lsws_fail(&u->error, LSWS_ERR_PROTOCOL, SIZE_MAX, "'%s' keeps asking for more of the image",
                           lsws_client_uri(c));
            break;
        }
    }
    return give(u, rc, err);
}
