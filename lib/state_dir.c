/* Where lsws keeps per-user state: $XDG_STATE_HOME/lsws, else
 * ~/.local/state/lsws (the XDG base directory rule). The simulator's device
 * files and the CLI's backups live there. */
#include "lsws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Creates every directory of path (mode 0700: backups hold keys). */
static int mkdirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = c;
        if (rc < 0 && errno != EEXIST)
            return -1;
        if (!c)
            return 0;
    }
}

int lsws_state_dir(const char *sub, char *buf, size_t n, struct lsws_error *err)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int w;
    if (xdg && *xdg)
        w = snprintf(buf, n, "%s/lsws%s%s", xdg, sub ? "/" : "", sub ? sub : "");
    else if (home && *home)
        w = snprintf(buf, n, "%s/.local/state/lsws%s%s", home, sub ? "/" : "", sub ? sub : "");
    else
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "neither XDG_STATE_HOME nor HOME is set");
    if (w < 0 || (size_t)w >= n)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "state directory path too long");
    if (mkdirs(buf) < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot create '%s': %s", buf, strerror(errno));
    return LSWS_OK;
}
