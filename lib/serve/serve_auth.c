/* serve_auth.c - the API key check: "Authorization: Bearer KEY". */
#include "serve_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

/* Both sides are hashed first, so the comparison looks at 32 bytes
 * whatever the lengths, and CRYPTO_memcmp takes the same time wherever
 * the digests differ: nothing about the key leaks through timing. */
int serve_auth_ok(const char *header, const char *key)
{
    if (!header || !key)
        return 0;
    if (strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
        return 0;
    const char *given = header + 6;
    while (*given == ' ' || *given == '\t')
        given++;
    unsigned char hg[EVP_MAX_MD_SIZE], hk[EVP_MAX_MD_SIZE];
    unsigned int ng = 0, nk = 0;
    if (!EVP_Digest(given, strlen(given), hg, &ng, EVP_sha256(), NULL) ||
        !EVP_Digest(key, strlen(key), hk, &nk, EVP_sha256(), NULL) || ng != 32 || nk != 32)
        return 0;
    return CRYPTO_memcmp(hg, hk, 32) == 0;
}
