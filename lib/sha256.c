/* SHA-256 for template hashes in the ledger (which settings a unit was
 * provisioned with, whatever the file's layout), from OpenSSL's libcrypto
 * as the firmware images use it. The SHA256_* calls need no allocation,
 * which a hash that cannot fail wants; OpenSSL 3 marks them deprecated in
 * favour of EVP, hence the suppression, for this file only. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "fleet_int.h"

#include <stdio.h>

void lsws_sha256_init(struct lsws_sha256 *s)
{
    SHA256_Init(&s->ctx);
}

void lsws_sha256_update(struct lsws_sha256 *s, const void *data, size_t len)
{
    SHA256_Update(&s->ctx, data, len);
}

void lsws_sha256_hex(struct lsws_sha256 *s, char out[LSWS_HASH_HEX])
{
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256_Final(d, &s->ctx);
    lsws_hex_format(d, sizeof d, out);
}
