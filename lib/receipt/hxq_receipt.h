/*
 * hxq_receipt.h - hashing for receipts (SHA-256 of files and streams,
 * xxHash64 of tensor bytes) and the receipt documents built from them.
 *
 * Depends on: common, io. Thread-safety: hash states belong to one thread.
 */
#ifndef HXQ_RECEIPT_H
#define HXQ_RECEIPT_H

#include "hxq_common.h"
#include "hxq_io.h"

#define HXQ_SHA256_HEX 65   /* 64 hex digits + NUL */

typedef struct hxq_sha256 hxq_sha256;

/*! hxq_sha256_create() : a streaming SHA-256 state (OpenSSL EVP), or NULL
 *  on allocation failure. */
hxq_sha256 *hxq_sha256_create(void);

/*! hxq_sha256_update() : feeds bytes. */
void hxq_sha256_update(hxq_sha256 *h, const void *data, size_t len);

/*! hxq_sha256_final_hex() : writes the lowercase hex digest into hex and
 *  frees the state. */
void hxq_sha256_final_hex(hxq_sha256 *h, char hex[HXQ_SHA256_HEX]);

/*! hxq_sha256_free() : frees a state without finishing it. NULL is a no-op. */
void hxq_sha256_free(hxq_sha256 *h);

/*! hxq_sha256_hook() : an hxq_write_hook that feeds a hxq_sha256 (ctx). */
void hxq_sha256_hook(void *ctx, const void *buf, size_t len);

/*! hxq_sha256_buffer() : digest of a buffer. */
void hxq_sha256_buffer(const void *data, size_t len, char hex[HXQ_SHA256_HEX]);

/*! hxq_sha256_file() : digest and size of a file, read in large blocks.
 *  @return HXQ_OK or HXQ_ERR_IO naming the file. */
int hxq_sha256_file(const char *path, char hex[HXQ_SHA256_HEX], uint64_t *size,
                    hxq_error *err);

/*! hxq_xxh64_hex() : XXH64 (seed 0) of a buffer as 16 lowercase hex
 *  digits + NUL. */
void hxq_xxh64_hex(const void *data, size_t len, char hex[17]);

#endif /* HXQ_RECEIPT_H */
