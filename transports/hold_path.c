/* Where the holder of a URI listens: a socket in a directory only this
 * user can enter, named by a hash of the URI (transports/hold.h). */
#include "hold.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t hold_key(const struct lsws_uri *uri)
{
    /* Options in name order, timeout left out: the same device whatever
     * the reply timeout a command asks for. */
    const struct lsws_uri_opt *sorted[LSWS_URI_OPTS];
    size_t n = 0;
    for (size_t i = 0; i < uri->n_opt; i++) {
        if (strcmp(uri->opt[i].name, "timeout") == 0)
            continue;
        size_t j = n++;
        for (; j > 0 && strcmp(sorted[j - 1]->name, uri->opt[i].name) > 0; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = &uri->opt[i];
    }
    uint64_t h = fnv1a(0xcbf29ce484222325ull, uri->transport ? uri->transport->scheme : "");
    h = fnv1a(fnv1a(h, ":"), uri->path ? uri->path : "");
    for (size_t i = 0; i < n; i++)
        h = fnv1a(fnv1a(fnv1a(fnv1a(h, i ? "&" : "?"), sorted[i]->name), "="), sorted[i]->value);
    return h;
}

/* The directory must be ours alone: a real directory (not a symbolic
 * link), owned by this user, mode 0700. Anyone else who could write there
 * could put their own socket in the holder's place. */
static int dir_safe(const char *dir, struct lsws_error *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: cannot use '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: '%s' is not a directory%s: refused", dir,
                         S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
    if (st.st_uid != geteuid())
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: '%s' belongs to user %u, not to you: refused", dir,
                         (unsigned)st.st_uid);
    if ((st.st_mode & 07777) != 0700)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: '%s' has mode %04o, not 0700: refused", dir,
                         (unsigned)(st.st_mode & 07777));
    return LSWS_OK;
}

int hold_paths(const struct lsws_uri *uri, int create, struct hold_paths *p, struct lsws_error *err)
{
    const char *run = getenv("XDG_RUNTIME_DIR");
    int w = run && *run ? snprintf(p->dir, sizeof p->dir, "%s/lsws", run)
                        : snprintf(p->dir, sizeof p->dir, "/tmp/lsws-%u", (unsigned)geteuid());
    if (w < 0 || (size_t)w >= sizeof p->dir)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: the runtime directory '%s' is too long", run);
    unsigned long long key = hold_key(uri);
    w = snprintf(p->sock, sizeof p->sock, "%s/hold-%016llx.sock", p->dir, key);
    if (w < 0 || (size_t)w >= sizeof p->sock) /* sun_path's size */
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: the socket path in '%s' would be longer than %zu "
                         "characters", p->dir, sizeof p->sock - 1);
    snprintf(p->lock, sizeof p->lock, "%s/hold-%016llx.lock", p->dir, key);
    if (!create) {
        /* A client uses no holder in a place another user could have made
         * (/tmp/lsws-UID is a name anyone can take): it opens the device
         * itself, as without a holder. `lsws hold` says what is wrong. */
        struct lsws_error ignored;
        return dir_safe(p->dir, &ignored) == LSWS_OK ? LSWS_OK : 1;
    }
    if (mkdir(p->dir, 0700) != 0 && errno != EEXIST)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "lsws hold: cannot create '%s': %s", p->dir, strerror(errno));
    return dir_safe(p->dir, err);
}
