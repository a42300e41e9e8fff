/* Private to lib/: libpq, loaded only when a PostgreSQL ledger is opened
 * (lib/pq.c). Linked in, libpq and the twenty libraries it brings (TLS,
 * Kerberos, LDAP, SASL) would load with every lsws command, doubling the
 * start of each (about 6 ms and 4 MB); an SQLite-only station needs none
 * of it. The declarations are libpq-fe.h's own, so a mismatch is a
 * compile error, not a crash. */
#ifndef LSWS_PQ_H
#define LSWS_PQ_H

#include <libpq-fe.h>

#include "lsws.h"

#define LSWS_PQ_FUNCS(X)                                                                                           \
    X(PQclear)                                                                                                     \
    X(PQcmdTuples)                                                                                                 \
    X(PQconnectdbParams)                                                                                           \
    X(PQconninfoFree)                                                                                              \
    X(PQconninfoParse)                                                                                             \
    X(PQerrorMessage)                                                                                              \
    X(PQexecParams)                                                                                                \
    X(PQfinish)                                                                                                    \
    X(PQfreemem)                                                                                                   \
    X(PQgetResult)                                                                                                 \
    X(PQgetisnull)                                                                                                 \
    X(PQgetvalue)                                                                                                  \
    X(PQntuples)                                                                                                   \
    X(PQreset)                                                                                                     \
    X(PQresultErrorField)                                                                                          \
    X(PQresultErrorMessage)                                                                                        \
    X(PQresultStatus)                                                                                              \
    X(PQsendQueryParams)                                                                                           \
    X(PQsetNoticeProcessor)                                                                                        \
    X(PQsetSingleRowMode)                                                                                          \
    X(PQstatus)                                                                                                    \
    X(PQtransactionStatus)

struct lsws_pq {
#define LSWS_PQ_SLOT(f) __typeof__(&f) f;
    LSWS_PQ_FUNCS(LSWS_PQ_SLOT)
#undef LSWS_PQ_SLOT
};

/* libpq's functions, loaded on the first call (thread-safe); NULL, with
 * err saying why (libpq5 not installed), when it cannot be. */
const struct lsws_pq *lsws_pq_load(struct lsws_error *err);

#endif
