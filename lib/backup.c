/* Automatic backups: the device's settings saved as a template before any
 * write, so a change can always be undone (lsws restore, later). */
#include "lsws.h"

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
    /* Read-only settings stay out: a backup must restore as a template. */
    struct lsws_config *copy;
    char *text = NULL;
    if (lsws_config_copy(cfg, &copy) != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    for (size_t i = 0; i < copy->model->n_settings; i++)
        if (copy->model->settings[i].row->flags & (LSWS_F_READONLY | LSWS_F_WRITEONLY))
            copy->present[i] = 0;
    rc = lsws_template_render(copy, 0, &text);
    lsws_config_free(copy);
    if (rc != LSWS_OK)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    rc = lsws_file_write(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}
