/* The simulator's state file: one JSON object holding what a real unit
 * keeps in flash, so that a write survives a restart of the simulator.
 *
 *   {"lsws_sim_state": 1, "comment": "...", "model": "ws523",
 *    "sn": "6762d21130962038", "dev_eui": "24e1241130962038",
 *    "factory_band": "EU868", "clock_offset": 0,
 *    "login_failures": 2, "lockout_until_ms": 1770369441000, "writes": 3,
 *    "settings": {"lorawan.app_eui": "24e124c0002a0001", ...}}
 *
 * "settings" uses the template value forms (docs/templates.md) and holds
 * every setting except the read-only ones, the password included: the file
 * is written with mode 0600, atomically (temporary file, fsync, rename). A
 * file that does not parse is an error that names the file, the line and
 * the column, never a crash and never silently replaced.
 *
 * "login_failures" (wrong passwords in a row) and "lockout_until_ms" (the
 * Unix time in ms until which logins are refused; wall clock, as a
 * monotonic clock does not survive the process) belong to the unit, not to
 * one process. A missing key is 0, and they are written only while not 0,
 * so files stay readable by an lsws-sim that does not know them. "writes"
 * counts the WRITE transactions the unit applied (saved with the settings
 * they changed, in one rename), so a test can tell a unit written once from
 * one written twice; it is written only while not 0 too.
 *
 * "firmware_version" ("0109": the vendor's 16-bit version in 4 hex digits,
 * major byte first) is the firmware an upgrade committed (firmware.c); it is
 * written only after one, and a file without it runs the factory firmware.
 * The image being staged lives beside the file, in path + ".fw".
 *
 * Several processes may serve one file (lsws-sim on two ports, sim: URIs in
 * parallel lsws runs). Each change is made under flock on path.lock, on the
 * freshly loaded file (device.c); readers need no lock, as a save replaces
 * the file whole. */
#include "sim_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_FORMAT 1
#define STATE_MAX_BYTES (1024 * 1024)
#define FAILURES_MAX 1000000          /* "login_failures": a sane bound, not a rule */
#define UNIX_MS_MAX (1ll << 50)       /* "lockout_until_ms": about the year 37000 */
#define WRITES_MAX (1ll << 50)        /* "writes": a sane bound */

/* Serial numbers of the guides' basic-information examples: WS523 guide
 * v1.3 ch.6 (ff16 6762d21130962038), CTH01 guide ch.5 (db 6527f41809380000). */
static const char *const default_sn[LSWS_MODEL_COUNT] = {
    [LSWS_MODEL_WS523] = "6762d21130962038",
    [LSWS_MODEL_CTH01] = "6527f41809380000",
};

int sim_identity(const struct lsws_model *model, const char *sn, struct lsws_identity *id,
                 struct lsws_error *err)
{
    if (!sn)
        sn = default_sn[model->id];
    size_t n = strlen(sn);
    if (n != 16)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "serial number '%s' is not 16 hex digits (e.g. %s)", sn, default_sn[model->id]);
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)sn[i]))
            return lsws_fail(err, LSWS_ERR_INVALID, i,
                             "serial number '%s': character %zu is not a hex digit", sn, i + 1);
        id->sn[i] = (char)tolower((unsigned char)sn[i]);
    }
    id->sn[16] = '\0';
    /* DevEUI: Milesight's OUI 24e124 and the SN's last ten digits (7-16). A
     * real unit's DevEUI is printed on its label; this is lsws's choice. */
    char eui[17];
    size_t len;
    snprintf(eui, sizeof eui, "24e124%s", id->sn + 6);
    if (lsws_hex_parse(eui, id->dev_eui, sizeof id->dev_eui, &len, err) != LSWS_OK || len != 8)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "cannot derive a DevEUI from '%s'", sn);
    return LSWS_OK;
}

int sim_factory_config(const struct sim_state *st, struct lsws_config **out, struct lsws_error *err)
{
    struct lsws_config *cfg;
    int rc = lsws_config_new(st->model, &cfg);
    if (rc != LSWS_OK)
        return lsws_fail(err, rc, SIZE_MAX, "out of memory");
    rc = lsws_config_defaults(cfg, st->factory_band, &st->id, err);
    if (rc != LSWS_OK) {
        lsws_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return LSWS_OK;
}

/* ---- the file and its lock ---------------------------------------------------- */

int sim_file_init(struct sim_file *f, const char *path, struct lsws_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = f->lock_fd = -1;
    size_t n = strlen(path) + sizeof ".lock";
    f->path = strdup(path);
    f->lock_path = malloc(n);
    if (!f->path || !f->lock_path) {
        sim_file_release(f);
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    snprintf(f->lock_path, n, "%s.lock", path);
    return LSWS_OK;
}

void sim_file_release(struct sim_file *f)
{
    sim_file_unlock(f);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->path);
    free(f->lock_path);
    f->path = f->lock_path = NULL;
}

int sim_file_lock(struct sim_file *f, struct lsws_error *err)
{
    if (f->lock_fd >= 0)
        return LSWS_OK;
    int fd = open(f->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot open lock file '%s': %s", f->lock_path,
                         strerror(errno));
    int rc;
    while ((rc = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        int e = errno;
        close(fd);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot lock '%s': %s", f->lock_path, strerror(e));
    }
    f->lock_fd = fd;
    return LSWS_OK;
}

void sim_file_unlock(struct sim_file *f)
{
    if (f->lock_fd >= 0)
        close(f->lock_fd); /* releases the flock */
    f->lock_fd = -1;
}

static void remember(struct sim_file *f, int fd, const struct stat *sb)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = fd;
    f->dev = sb->st_dev;
    f->ino = sb->st_ino;
    f->size = sb->st_size;
    f->mtime = sb->st_mtim;
}

int sim_file_changed(const struct sim_file *f)
{
    struct stat sb;
    if (stat(f->path, &sb) < 0)
        return 0;
    return f->fd < 0 || sb.st_dev != f->dev || sb.st_ino != f->ino || sb.st_size != f->size ||
           sb.st_mtim.tv_sec != f->mtime.tv_sec || sb.st_mtim.tv_nsec != f->mtime.tv_nsec;
}

/* ---- loading ---------------------------------------------------------------- */

/* Reads the whole file open on fd (at most STATE_MAX_BYTES) into *text. */
static int read_fd(int fd, const char *path, char **text, size_t *len, struct lsws_error *err)
{
    char *buf = malloc(STATE_MAX_BYTES + 1);
    size_t n = 0;
    if (!buf)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    while (n <= STATE_MAX_BYTES) {
        ssize_t got = read(fd, buf + n, STATE_MAX_BYTES + 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot read state file '%s': %s", path,
                             strerror(e));
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > STATE_MAX_BYTES) {
        free(buf);
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "state file '%s' is larger than %d bytes",
                         path, STATE_MAX_BYTES);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return LSWS_OK;
}

/* The text form of a template value for lsws_value_parse. */
static int value_text(const struct lsws_setting *s, json_t *v, char *buf, size_t n)
{
    switch (s->row->type) {
    case LSWS_T_BOOL:
        if (!json_is_boolean(v))
            return -1;
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
        return 0;
    case LSWS_T_UINT:
    case LSWS_T_INT:
        if (json_is_integer(v))
            snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v) && s->row->scale)
            snprintf(buf, n, "%.*f", s->row->scale, json_real_value(v));
        else
            return -1;
        return 0;
    default:
        if (!json_is_string(v) || json_string_length(v) >= n)
            return -1;
        snprintf(buf, n, "%s", json_string_value(v));
        return 0;
    }
}

static int load_settings(const char *path, json_t *settings, struct lsws_config *cfg,
                         struct lsws_error *err)
{
    const struct lsws_model *m = cfg->model;
    const char *key;
    json_t *v;
    json_object_foreach(settings, key, v) {
        int idx = lsws_model_find(m, key);
        if (idx < 0)
            return lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX,
                             "state file '%s': unknown %s setting '%s'", path, m->name, key);
        const struct lsws_setting *s = &m->settings[idx];
        if (s->row->flags & LSWS_F_READONLY)
            return lsws_fail(err, LSWS_ERR_READONLY, SIZE_MAX,
                             "state file '%s': %s is read-only and does not belong in the file", path,
                             key);
        char text[256];
        struct lsws_error verr;
        lsws_error_clear(&verr);
        if (value_text(s, v, text, sizeof text) < 0)
            return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                             "state file '%s': %s has a value of the wrong JSON type", path, key);
        int rc = lsws_value_parse(m, (size_t)idx, text, &cfg->values[idx], &verr);
        if (rc != LSWS_OK)
            return lsws_fail(err, rc, SIZE_MAX, "state file '%s': %s", path, verr.msg);
        cfg->present[idx] = 1;
    }
    return LSWS_OK;
}

static const char *const top_keys[] = {"lsws_sim_state", "comment",        "model",
                                       "sn",             "dev_eui",        "factory_band",
                                       "clock_offset",   "login_failures", "lockout_until_ms",
                                       "writes",         "firmware_version", "settings",     "clock_set",
                                       "history",        NULL};

/* An optional integer from 0 to max: 0 when the key is missing (a file of
 * an lsws-sim that did not know it, or nothing to keep). */
static int optional_count(const char *path, json_t *root, const char *key, long long max,
                          long long *out, struct lsws_error *err)
{
    json_t *v = json_object_get(root, key);
    *out = 0;
    if (!v)
        return LSWS_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                         "state file '%s': \"%s\" must be an integer from 0 to %lld", path, key, max);
    *out = json_integer_value(v);
    return LSWS_OK;
}

static const char *const hist_keys[] = {"records", "start", "seed", "cleared", "settings", NULL};

/* "history": what the CTH01's stored records are generated from (sim/history.c). */
static int load_history(const char *path, json_t *h, struct sim_state *st, struct lsws_error *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(h))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "state file '%s': \"history\" must be an object", path);
    json_object_foreach(h, key, v) {
        int known = 0;
        for (const char *const *k = hist_keys; *k; k++)
            known |= strcmp(*k, key) == 0;
        if (!known)
            return lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX, "state file '%s': unknown key 'history.%s'",
                             path, key);
    }
    long long records, start, seed;
    int rc;
    if ((rc = optional_count(path, h, "records", SIM_HISTORY_RECORDS_MAX, &records, err)) != LSWS_OK ||
        (rc = optional_count(path, h, "start", UINT32_MAX, &start, err)) != LSWS_OK ||
        (rc = optional_count(path, h, "seed", UINT32_MAX, &seed, err)) != LSWS_OK)
        return rc;
    json_t *cleared = json_object_get(h, "cleared"), *settings = json_object_get(h, "settings");
    if (cleared && !json_is_object(cleared))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "state file '%s': \"history.cleared\" must be an object",
                         path);
    json_object_foreach(cleared, key, v) {
        int kind = lsws_history_kind_find(key);
        if (kind < 0 || !json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
            return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                             "state file '%s': \"history.cleared\" maps a kind (alarm, periodic, monthly-energy, "
                             "monthly-extremes) to a Unix time, not '%s'", path, key);
        st->hist.cleared[kind] = (uint32_t)json_integer_value(v);
    }
    if (!json_is_object(settings))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "state file '%s': \"history.settings\" must be an object",
                         path);
    struct lsws_config *cfg;
    if ((rc = sim_factory_config(st, &cfg, err)) != LSWS_OK)
        return rc;
    if ((rc = load_settings(path, settings, cfg, err)) != LSWS_OK) {
        lsws_config_free(cfg);
        return rc;
    }
    st->hist.seeded = 1;
    st->hist.records = (uint32_t)records;
    st->hist.start = (uint32_t)start;
    st->hist.seed = (uint32_t)seed;
    st->hist.settings = cfg;
    return LSWS_OK;
}

static int load_json(const char *path, json_t *root, struct sim_state *st, struct lsws_error *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(root))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "state file '%s' is not a JSON object", path);
    json_object_foreach(root, key, v) {
        int known = 0;
        for (const char *const *k = top_keys; *k; k++)
            known |= strcmp(*k, key) == 0;
        if (!known)
            return lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX,
                             "state file '%s': unknown key '%s'", path, key);
    }
    json_t *fmt = json_object_get(root, "lsws_sim_state");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != STATE_FORMAT)
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                         "state file '%s' is not an lsws-sim state file (\"lsws_sim_state\": %d is "
                         "missing or wrong)", path, STATE_FORMAT);
    json_t *model = json_object_get(root, "model"), *sn = json_object_get(root, "sn"),
           *eui = json_object_get(root, "dev_eui"), *band = json_object_get(root, "factory_band"),
           *clock = json_object_get(root, "clock_offset"), *settings = json_object_get(root, "settings");
    const struct lsws_model *m = json_is_string(model) ? lsws_model_by_name(json_string_value(model)) : NULL;
    if (!m)
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                         "state file '%s': \"model\" must be \"ws523\" or \"cth01\"", path);
    if (m->id != st->model->id)
        return lsws_fail(err, LSWS_ERR_MODEL, SIZE_MAX,
                         "state file '%s' holds a %s, not a %s: use another state file", path,
                         m->name, st->model->name);
    if (!json_is_string(sn) || sim_identity(m, json_string_value(sn), &st->id, NULL) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                         "state file '%s': \"sn\" must be 16 hex digits", path);
    size_t n = 0;
    if (!json_is_string(eui) ||
        lsws_hex_parse(json_string_value(eui), st->id.dev_eui, sizeof st->id.dev_eui, &n, NULL) != LSWS_OK ||
        n != 8)
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                         "state file '%s': \"dev_eui\" must be 16 hex digits", path);
    const struct lsws_band *b = json_is_string(band) ? lsws_band_by_name(json_string_value(band)) : NULL;
    if (!b)
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                         "state file '%s': \"factory_band\" must name a band (EU868, US915, ...)", path);
    snprintf(st->factory_band, sizeof st->factory_band, "%s", b->name);
    if (!json_is_integer(clock) || json_integer_value(clock) > (1ll << 40) ||
        json_integer_value(clock) < -(1ll << 40))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                         "state file '%s': \"clock_offset\" must be an integer number of seconds", path);
    st->clock_offset = json_integer_value(clock);
    long long failures, until, writes;
    int rc;
    if ((rc = optional_count(path, root, "login_failures", FAILURES_MAX, &failures, err)) != LSWS_OK ||
        (rc = optional_count(path, root, "lockout_until_ms", UNIX_MS_MAX, &until, err)) != LSWS_OK ||
        (rc = optional_count(path, root, "writes", WRITES_MAX, &writes, err)) != LSWS_OK)
        return rc;
    st->login_failures = (unsigned)failures;
    st->lockout_until_ms = until;
    json_t *clock_set = json_object_get(root, "clock_set"), *hist = json_object_get(root, "history");
    if (clock_set && !json_is_boolean(clock_set))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "state file '%s': \"clock_set\" must be true or false",
                         path);
    st->clock_set = json_is_true(clock_set);
    if (hist && (rc = load_history(path, hist, st, err)) != LSWS_OK) {
        sim_hist_release(&st->hist);
        return rc;
    }
    st->writes = (unsigned long)writes;
    json_t *fwv = json_object_get(root, "firmware_version");
    st->fw_version = 0;
    if (fwv) {
        uint8_t vb[2];
        size_t vn = 0;
        if (!json_is_string(fwv) || json_string_length(fwv) != 4 ||
            lsws_hex_parse(json_string_value(fwv), vb, sizeof vb, &vn, NULL) != LSWS_OK || vn != 2 || !(vb[0] | vb[1]))
            return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                             "state file '%s': \"firmware_version\" must be 4 hex digits such as \"0109\"", path);
        st->fw_version = (uint16_t)(vb[0] << 8 | vb[1]);
    }
    if (!json_is_object(settings))
        return lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                         "state file '%s': \"settings\" must be an object", path);

    /* Settings missing from the file keep their factory default (a newer
     * table row, as after a firmware upgrade). */
    struct lsws_config *cfg;
    if ((rc = sim_factory_config(st, &cfg, err)) != LSWS_OK)
        return rc;
    struct lsws_error cerr;
    lsws_error_clear(&cerr);
    if ((rc = load_settings(path, settings, cfg, err)) == LSWS_OK &&
        (rc = lsws_config_check(cfg, &cerr)) != LSWS_OK)
        lsws_fail(err, rc, SIZE_MAX, "state file '%s': %s", path, cerr.msg);
    if (rc != LSWS_OK) {
        lsws_config_free(cfg);
        sim_hist_release(&st->hist);
        return rc;
    }
    st->cfg = cfg;
    return LSWS_OK;
}

int sim_state_load(struct sim_file *f, struct sim_state *st, struct lsws_error *err)
{
    const char *path = f->path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "state file '%s' does not exist", path);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot open state file '%s': %s", path,
                         strerror(errno));
    }
    /* What fd is now, before reading: a change in place while reading then
     * shows as a change at the next sim_file_changed. */
    struct stat sb;
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (fstat(fd, &sb) < 0)
        rc = lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot stat state file '%s': %s", path, strerror(errno));
    else
        rc = read_fd(fd, path, &text, &len, err);
    if (rc != LSWS_OK) {
        close(fd);
        return rc;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root) {
        close(fd);
        lsws_fail(err, LSWS_ERR_SYNTAX, (size_t)jerr.position,
                  "state file '%s', line %d, column %d: %s", path, jerr.line, jerr.column, jerr.text);
        if (err) {
            err->line = jerr.line;
            err->column = jerr.column;
        }
        return LSWS_ERR_SYNTAX;
    }
    rc = load_json(path, root, st, err);
    json_decref(root);
    if (rc != LSWS_OK) {
        close(fd);
        return rc;
    }
    remember(f, fd, &sb);
    return LSWS_OK;
}

/* ---- saving ------------------------------------------------------------------ */

/* Settings in template value forms; secrets left out when asked. */
static json_t *settings_json(const struct lsws_config *cfg, int with_secrets)
{
    const struct lsws_model *m = cfg->model;
    json_t *settings = json_object();
    for (size_t i = 0; settings && i < m->n_settings; i++)
        if (cfg->present[i] && !(m->settings[i].row->flags & LSWS_F_READONLY) &&
            (with_secrets || !(m->settings[i].row->flags & LSWS_F_SECRET)))
            json_object_set_new(settings, m->settings[i].key, lsws_value_to_json(m, i, &cfg->values[i]));
    return settings;
}

static json_t *history_json(const struct sim_hist *h)
{
    json_t *o = json_object(), *cleared = json_object();
    if (!o || !cleared) {
        json_decref(o);
        json_decref(cleared);
        return NULL;
    }
    json_object_set_new(o, "records", json_integer(h->records));
    json_object_set_new(o, "start", json_integer(h->start));
    json_object_set_new(o, "seed", json_integer(h->seed));
    for (unsigned k = 0; k < LSWS_HK_COUNT; k++)
        if (h->cleared[k])
            json_object_set_new(cleared, lsws_history_kind_name(k), json_integer(h->cleared[k]));
    json_object_set_new(o, "cleared", cleared);
    /* The unit's settings while it recorded, keys and password left out. */
    json_object_set_new(o, "settings", settings_json(h->settings, 0));
    return o;
}

static json_t *state_json(const struct sim_state *st, const struct lsws_config *cfg)
{
    const struct lsws_model *m = st->model;
    char eui[17];
    lsws_hex_format(st->id.dev_eui, 8, eui);
    json_t *root = json_object();
    if (!root)
        return NULL;
    json_object_set_new(root, "lsws_sim_state", json_integer(STATE_FORMAT));
    json_object_set_new(root, "comment",
                        json_string("lsws-sim device state: holds keys and the password (mode 0600)"));
    json_object_set_new(root, "model", json_string(m->name));
    json_object_set_new(root, "sn", json_string(st->id.sn));
    json_object_set_new(root, "dev_eui", json_string(eui));
    json_object_set_new(root, "factory_band", json_string(st->factory_band));
    json_object_set_new(root, "clock_offset", json_integer(st->clock_offset));
    /* Only while not 0: a file without them is still read by an older lsws-sim. */
    if (st->login_failures)
        json_object_set_new(root, "login_failures", json_integer(st->login_failures));
    if (st->lockout_until_ms)
        json_object_set_new(root, "lockout_until_ms", json_integer(st->lockout_until_ms));
    if (st->writes)
        json_object_set_new(root, "writes", json_integer((json_int_t)st->writes));
    if (st->fw_version) {
        char v[5];
        snprintf(v, sizeof v, "%04x", (unsigned)st->fw_version);
        json_object_set_new(root, "firmware_version", json_string(v));
    }
    /* Only when set and when there is a history: older files stay as they were. */
    if (st->clock_set)
        json_object_set_new(root, "clock_set", json_true());
    json_object_set_new(root, "settings", settings_json(cfg, 1));
    if (st->hist.seeded && st->hist.settings)
        json_object_set_new(root, "history", history_json(&st->hist));
    return root;
}

int sim_state_save(struct sim_file *f, const struct sim_state *st, const struct lsws_config *cfg,
                   struct lsws_error *err)
{
    const char *path = f->path;
    json_t *root = state_json(st, cfg ? cfg : st->cfg);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(root);
    size_t len = text ? strlen(text) : 0;
    char *buf = text ? realloc(text, len + 2) : NULL;
    if (!buf) {
        free(text);
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    buf[len++] = '\n';
    struct lsws_error werr;
    lsws_error_clear(&werr);
    int rc = lsws_file_write(path, buf, len, 0600, &werr);
    free(buf);
    if (rc != LSWS_OK)
        return lsws_fail(err, rc, SIZE_MAX, "cannot write state file '%s': %s", path, werr.msg);
    /* Saves happen under the lock: what is at path now is this version.
     * Keep it open so its inode identifies it (no reload of our own save). */
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot reopen state file '%s': %s", path, strerror(e));
    }
    remember(f, fd, &sb);
    return LSWS_OK;
}
