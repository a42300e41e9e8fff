/* Test-only LD_PRELOAD shim: lets libserialport 0.1.1 open a pseudo-terminal
 * slave (/dev/pts/N), so the serial transport's real code runs against a
 * peer on the pty master. Never linked into lsws; docs/serial.md.
 *
 * libserialport needs two things a pty lacks (read from its linux.c and
 * serialport.c, confirmed with strace):
 *  1. sp_get_port_by_name() -> get_port_details(): lstat() of
 *     /sys/class/tty/<name> must succeed, and readlink() of it must give a
 *     device path. Ptys have no sysfs entry, so both are answered here for
 *     /sys/class/tty/pts/N when /dev/pts/N exists. Debian's build imports
 *     lstat as the old __lxstat symbol; newer builds import lstat itself.
 *  2. sp_open() -> get_config()/set_config(): ioctl TIOCMGET (and
 *     TIOCMBIS/TIOCMBIC for DTR and RTS) fail with ENOTTY on a pty. Here they
 *     succeed on a pty slave, with the modem lines kept in a variable.
 * Everything else goes to the next definition (libc, or libasan's
 * interceptors first when it is preloaded ahead of this shim). */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SYS_PTS "/sys/class/tty/pts/"

int __lxstat(int ver, const char *path, struct stat *st);
int lsws_ptyshim_loaded(void);

/* Marker the tests look up to know the shim is active. */
int lsws_ptyshim_loaded(void)
{
    return 1;
}

/* The next definition of a function; a call fails ENOSYS if there is none. */
#define NEXT(var, name)                                                                            \
    do {                                                                                           \
        if (!var)                                                                                  \
            *(void **)&var = dlsym(RTLD_NEXT, name);                                               \
        if (!var) {                                                                                \
            errno = ENOSYS;                                                                        \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* 1 when path is /sys/class/tty/pts/N and /dev/pts/N exists. */
static int fake_sysfs(const char *path)
{
    if (!path || strncmp(path, SYS_PTS, sizeof SYS_PTS - 1) != 0)
        return 0;
    const char *n = path + sizeof SYS_PTS - 1;
    if (!*n || strlen(n) > 10 || strspn(n, "0123456789") != strlen(n))
        return 0;
    char dev[32];
    snprintf(dev, sizeof dev, "/dev/pts/%s", n);
    return access(dev, F_OK) == 0;
}

static int fake_lstat(struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFLNK | 0777;
    return 0;
}

int __lxstat(int ver, const char *path, struct stat *st)
{
    static int (*next)(int, const char *, struct stat *);
    if (fake_sysfs(path))
        return fake_lstat(st);
    NEXT(next, "__lxstat");
    return next(ver, path, st);
}

int lstat(const char *path, struct stat *st)
{
    static int (*next)(const char *, struct stat *);
    if (fake_sysfs(path))
        return fake_lstat(st);
    NEXT(next, "lstat");
    return next(path, st);
}

ssize_t readlink(const char *path, char *buf, size_t size)
{
    static ssize_t (*next)(const char *, char *, size_t);
    if (fake_sysfs(path)) {
        /* libserialport passes the same buffer as path and result. */
        char target[64];
        int n = snprintf(target, sizeof target, "../../devices/virtual/tty/pts/%s", path + sizeof SYS_PTS - 1);
        size_t len = (size_t)n < size ? (size_t)n : size;
        memcpy(buf, target, len);
        return (ssize_t)len;
    }
    NEXT(next, "readlink");
    return next(path, buf, size);
}

/* UNIX98 pty slaves have majors 136..143 (Linux devices.txt). */
static int is_pty_slave(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

int ioctl(int fd, unsigned long request, ...)
{
    static int (*next)(int, unsigned long, ...);
    static int lines = TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_DSR | TIOCM_CD;
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    NEXT(next, "ioctl");
    int saved = errno;
    int rc = next(fd, request, arg);
    if (rc == 0 || errno != ENOTTY || !arg || !is_pty_slave(fd))
        return rc;
    int *bits = arg;
    switch (request) {
    case TIOCMGET: *bits = lines; break;
    case TIOCMSET: lines = *bits; break;
    case TIOCMBIS: lines |= *bits; break;
    case TIOCMBIC: lines &= ~*bits; break;
    default: return rc;
    }
    errno = saved;
    return 0;
}
