/* libpq, loaded on first use (pq.h says why). */
#include "pq.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define LIBPQ_SONAME "libpq.so.5" /* Debian's libpq5 */

static struct lsws_pq pq;
static char load_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    /* Kept for the life of the process: a ledger may be opened again. */
    void *h = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof load_error, "%s", dlerror());
        return;
    }
    void *sym;
#define LSWS_PQ_LOAD(f)                                                                                            \
    if (!(sym = dlsym(h, #f))) {                                                                                   \
        snprintf(load_error, sizeof load_error, "%s has no %s", LIBPQ_SONAME, #f);                                \
        return;                                                                                                    \
    }                                                                                                              \
    *(void **)&pq.f = sym;
    LSWS_PQ_FUNCS(LSWS_PQ_LOAD)
#undef LSWS_PQ_LOAD
}

const struct lsws_pq *lsws_pq_load(struct lsws_error *err)
{
    pthread_once(&once, load);
    if (load_error[0]) {
        lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX,
                  "a PostgreSQL ledger needs libpq, which cannot be loaded (%s): apt-get install libpq5", load_error);
        return NULL;
    }
    return &pq;
}
