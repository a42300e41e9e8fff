/* Writing files that matter (backups, templates, exports, state): whole or
 * not at all, with the mode asked for, and never through a link or onto
 * something that is not a regular file. */
#include "lsws.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes a rename durable: fsync the directory holding path (best effort:
 * some file systems refuse it, and the data itself is already synced). */
static void sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Only a regular file is replaced: a path naming a link, a FIFO or a device
 * (as root, /dev/null) must not turn into a file, nor be written through. */
static int check_target(const char *path, struct lsws_error *err)
{
    static const struct {
        mode_t type;
        const char *what;
    } kinds[] = {
        {S_IFLNK, "a symbolic link"}, {S_IFIFO, "a FIFO"},       {S_IFCHR, "a device"},
        {S_IFBLK, "a device"},        {S_IFDIR, "a directory"}, {S_IFSOCK, "a socket"},
    };
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? LSWS_OK : lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write '%s': %s", path,
                                                     strerror(errno));
    if (S_ISREG(st.st_mode))
        return LSWS_OK;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if ((st.st_mode & S_IFMT) == kinds[i].type)
            return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "refusing to write '%s': it is %s, not a regular file", path,
                             kinds[i].what);
    return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "refusing to write '%s': not a regular file", path);
}

int lsws_file_begin(const char *path, unsigned mode, FILE **out, char **tmp, struct lsws_error *err)
{
    *out = NULL;
    *tmp = NULL;
    int rc = check_target(path, err);
    if (rc != LSWS_OK)
        return rc;
    size_t plen = strlen(path);
    char *name = malloc(plen + 16);
    if (!name)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    snprintf(name, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(name); /* O_EXCL: a planted link at the temporary name is never followed */
    if (fd < 0) {
        int e = errno;
        free(name);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot create '%s': %s", path, strerror(e));
    }
    FILE *f = fchmod(fd, (mode_t)mode) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        close(fd);
        unlink(name);
        free(name);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot create '%s': %s", path, strerror(e));
    }
    *out = f;
    *tmp = name;
    return LSWS_OK;
}

int lsws_file_commit(FILE *f, char *tmp, const char *path, struct lsws_error *err)
{
    int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    int rc;
    if (!bad && (rc = check_target(path, err)) != LSWS_OK) {
        unlink(tmp);
        free(tmp);
        return rc;
    }
    if (!bad && rename(tmp, path) < 0) {
        bad = 1;
        e = errno;
    }
    if (bad)
        unlink(tmp);
    else
        sync_dir(path);
    free(tmp);
    if (bad)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write '%s': %s", path, strerror(e ? e : EIO));
    return LSWS_OK;
}

void lsws_file_abort(FILE *f, char *tmp)
{
    if (f)
        fclose(f);
    if (tmp)
        unlink(tmp);
    free(tmp);
}

int lsws_file_write(const char *path, const void *data, size_t len, unsigned mode, struct lsws_error *err)
{
    FILE *f;
    char *tmp;
    int rc = lsws_file_begin(path, mode, &f, &tmp, err);
    if (rc != LSWS_OK)
        return rc;
    if (len && fwrite(data, 1, len, f) != len) {
        int e = errno;
        fclose(f);
        unlink(tmp);
        free(tmp);
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot write '%s': %s", path, strerror(e ? e : EIO));
    }
    return lsws_file_commit(f, tmp, path, err);
}
