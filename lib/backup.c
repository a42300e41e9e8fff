/* Backups: a unit's whole configuration as a template with a header saying
 * which unit it came from and when (docs/fleet.md). `lsws backup` writes
 * one on request, and the write transaction keeps one before every write
 * in the backup directory, so a change can always be undone (restore --last). */
#include "fleet_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int lsws_backup_dir(char *buf, size_t n, struct lsws_error *err)
{
    const char *env = getenv("LSWS_BACKUP_DIR");
    if (!env || !*env)
        return lsws_state_dir("backups", buf, n, err);
    if (snprintf(buf, n, "%s", env) >= (int)n)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "LSWS_BACKUP_DIR is too long");
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot create '%s': %s", buf, strerror(errno));
    return LSWS_OK;
}

int lsws_backup_render(const struct lsws_device_info *info, const struct lsws_config *cfg, int no_secrets,
                       char **out)
{
    const struct lsws_model *m = cfg->model;
    char eui[17], fw[16], hw[16], taken[40];
    lsws_hex_format(info->dev_eui, 8, eui);
    lsws_version_format(info->fw, 0, fw, sizeof fw);
    lsws_version_format(info->hw, 1, hw, sizeof hw);
    lsws_iso_time(lsws_now_ms(), taken, sizeof taken);
    const struct lsws_band *band = lsws_band_at(info->band);
    json_t *root = json_object(), *hdr = json_object(), *settings = json_object();
    if (!root || !hdr || !settings) {
        json_decref(root);
        json_decref(hdr);
        json_decref(settings);
        return LSWS_ERR_NOMEM;
    }
    json_object_set_new(root, "lsws_template", json_integer(LSWS_TEMPLATE_FORMAT));
    json_object_set_new(root, "model", json_string(m->name));
    json_object_set_new(hdr, "format", json_integer(LSWS_BACKUP_FORMAT));
    json_object_set_new(hdr, "model", json_string(m->name));
    json_object_set_new(hdr, "band", json_string(band ? band->name : "EU868"));
    json_object_set_new(hdr, "sn", json_string(info->sn));
    json_object_set_new(hdr, "dev_eui", json_string(eui));
    json_object_set_new(hdr, "firmware_version", json_string(fw));
    json_object_set_new(hdr, "hardware_version", json_string(hw));
    json_object_set_new(hdr, "taken", json_string(taken));
    json_object_set_new(hdr, "lsws_version", json_string(LSWS_VERSION));
    json_object_set_new(hdr, "secrets", json_boolean(!no_secrets));
    json_object_set_new(root, "backup", hdr);
    for (size_t i = 0; i < m->n_settings; i++) {
        unsigned f = m->settings[i].row->flags;
        if (!cfg->present[i] || (f & LSWS_F_WRITEONLY) || (no_secrets && (f & LSWS_F_SECRET)))
            continue;
        json_object_set_new(settings, m->settings[i].key, lsws_value_to_json(m, i, &cfg->values[i]));
    }
    json_object_set_new(root, "settings", settings);
    return lsws_json_document(root, out);
}

int lsws_backup_save(const struct lsws_device_info *info, const struct lsws_config *cfg, char *path,
                     size_t n, struct lsws_error *err)
{
    char dir[2048];
    int rc = lsws_backup_dir(dir, sizeof dir, err);
    if (rc != LSWS_OK)
        return rc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    if (snprintf(path, n, "%s/%s-%s-%s-%03ld.json", dir, cfg->model->name, info->sn, stamp,
                 ts.tv_nsec / 1000000) >= (int)n)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "backup path too long");
    char *text = NULL;
    if (lsws_backup_render(info, cfg, 0, &text) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    rc = lsws_file_write(path, text, strlen(text), 0600, err);
    explicit_bzero(text, strlen(text));
    free(text);
    return rc;
}

/* ---- listing ---- */

struct entry {
    char *path;
    struct timespec mtime;
};

static int newest_first(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
    return -strcmp(x->path, y->path); /* names carry the time to the millisecond */
}

/* What a file without a header (an older lsws) says in its name:
 * MODEL-SN-YYYYmmddTHHMMSSZ-ms.json. */
static int info_from_name(const char *path, const struct lsws_tpl *t, const struct timespec *mtime,
                          struct lsws_backup_info *info)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dash = strchr(base, '-');
    memset(info, 0, sizeof *info);
    lsws_copy(info->model, sizeof info->model, lsws_tpl_model(t)->name);
    if (dash && strlen(dash + 1) > 16 && dash[17] == '-')
        snprintf(info->sn, sizeof info->sn, "%.16s", dash + 1);
    lsws_iso_time((int64_t)mtime->tv_sec * 1000, info->taken, sizeof info->taken);
    const char *band = lsws_tpl_band(t);
    lsws_copy(info->band, sizeof info->band, band);
    info->secrets = 1;
    return 0;
}

int lsws_backup_each(const char *sn, int (*fn)(const char *path, const struct lsws_backup_info *info, void *ctx),
                     void *ctx, struct lsws_error *err)
{
    char dir[2048];
    int rc = lsws_backup_dir(dir, sizeof dir, err);
    if (rc != LSWS_OK)
        return rc;
    DIR *d = opendir(dir);
    if (!d)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot read '%s': %s", dir, strerror(errno));
    struct entry *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    rc = LSWS_OK;
    while (rc == LSWS_OK && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        struct stat st;
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        char *path = malloc(strlen(dir) + len + 2);
        if (!path) {
            rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
            break;
        }
        sprintf(path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            struct entry *more = realloc(list, (cap = cap ? 2 * cap : 32) * sizeof *list);
            if (!more) {
                free(path);
                rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
                break;
            }
            list = more;
        }
        list[n].path = path;
        list[n++].mtime = st.st_mtim;
    }
    closedir(d);
    if (rc == LSWS_OK)
        qsort(list, n, sizeof *list, newest_first);
    for (size_t i = 0; i < n && rc == LSWS_OK; i++) {
        FILE *f = fopen(list[i].path, "rb");
        char *text = NULL;
        size_t len = 0;
        struct lsws_tpl *t = NULL;
        struct lsws_backup_info info;
        const struct lsws_backup_info *got = NULL;
        if (f) {
            text = malloc(1 << 20);
            len = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
            fclose(f);
        }
        if (text && lsws_tpl_parse(text, len, LSWS_TPL_PLACEHOLDERS, &t, NULL) == LSWS_OK) {
            if (lsws_tpl_backup(t))
                info = *lsws_tpl_backup(t);
            else
                info_from_name(list[i].path, t, &list[i].mtime, &info);
            got = &info;
        }
        if (text)
            explicit_bzero(text, len);
        free(text);
        lsws_tpl_free(t);
        if (sn && (!got || strcmp(got->sn, sn) != 0))
            continue;
        int stop = fn(list[i].path, got, ctx);
        if (stop)
            break;
    }
    for (size_t i = 0; i < n; i++)
        free(list[i].path);
    free(list);
    return rc;
}

struct last {
    char *path;
    size_t n;
    int found;
};

static int take_first(const char *path, const struct lsws_backup_info *info, void *ctx)
{
    struct last *l = ctx;
    (void)info;
    lsws_copy(l->path, l->n, path);
    l->found = 1;
    return 1;
}

int lsws_backup_last(const char *sn, char *path, size_t n, struct lsws_error *err)
{
    struct last l = {path, n, 0};
    int rc = lsws_backup_each(sn, take_first, &l, err);
    if (rc != LSWS_OK)
        return rc;
    if (!l.found) {
        char dir[2048] = "";
        lsws_backup_dir(dir, sizeof dir, NULL);
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "no backup of unit %s in '%s'", sn, dir);
    }
    return LSWS_OK;
}
