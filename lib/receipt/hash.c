/* hash.c - SHA-256 (OpenSSL EVP) and XXH64 for receipts. */
#include "hxq_receipt.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

struct hxq_sha256 {
    EVP_MD_CTX *ctx;
};

hxq_sha256 *hxq_sha256_create(void)
{
    hxq_sha256 *h = malloc(sizeof(*h));
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void hxq_sha256_update(hxq_sha256 *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

static void to_hex(const unsigned char *d, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

void hxq_sha256_final_hex(hxq_sha256 *h, char hex[HXQ_SHA256_HEX])
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, d, &n);
    to_hex(d, 32, hex);
    hxq_sha256_free(h);
}

void hxq_sha256_free(hxq_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void hxq_sha256_hook(void *ctx, const void *buf, size_t len)
{
    hxq_sha256_update(ctx, buf, len);
}

void hxq_sha256_buffer(const void *data, size_t len, char hex[HXQ_SHA256_HEX])
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
    to_hex(d, 32, hex);
}

int hxq_sha256_file(const char *path, char hex[HXQ_SHA256_HEX], uint64_t *size, hxq_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 8u << 20;
    unsigned char *buf = malloc(cap);
    hxq_sha256 *h = hxq_sha256_create();
    if (!buf || !h) {
        free(buf);
        hxq_sha256_free(h);
        close(fd);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, cap);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            hxq_sha256_free(h);
            close(fd);
            return hxq_err(err, HXQ_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        hxq_sha256_update(h, buf, (size_t)r);
        total += (uint64_t)r;
    }
    close(fd);
    free(buf);
    hxq_sha256_final_hex(h, hex);
    if (size)
        *size = total;
    return HXQ_OK;
}

void hxq_xxh64_hex(const void *data, size_t len, char hex[17])
{
    XXH64_hash_t v = XXH64(data, len, 0);
    snprintf(hex, 17, "%016llx", (unsigned long long)v);
}
