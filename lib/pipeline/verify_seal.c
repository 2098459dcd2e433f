/* verify_seal.c - receipts that carry the SHA-256 of their own bytes. */
#include "hxq_receipt.h"
#include "hxq_verify.h"

#include <stdlib.h>
#include <string.h>

/* Finds the 64 hex digits of the seal: returns their offset, -1 when the
 * key is absent, -2 when it is malformed or present twice. */
static int64_t seal_offset(const char *json, size_t len)
{
    static const char key[] = "\"" HXQ_SEAL_KEY "\"";
    const size_t klen = sizeof(key) - 1;
    int64_t found = -1;
    for (size_t i = 0; i + klen <= len; i++) {
        if (memcmp(json + i, key, klen))
            continue;
        size_t p = i + klen;
        while (p < len && (json[p] == ' ' || json[p] == '\t' || json[p] == '\n' || json[p] == '\r'))
            p++;
        if (p >= len || json[p] != ':')
            return -2;
        p++;
        while (p < len && (json[p] == ' ' || json[p] == '\t' || json[p] == '\n' || json[p] == '\r'))
            p++;
        if (p + 66 > len || json[p] != '"' || json[p + 65] != '"')
            return -2;
        for (size_t k = 1; k <= 64; k++) {
            char c = json[p + k];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return -2;
        }
        if (found >= 0)
            return -2;
        found = (int64_t)(p + 1);
        i = p + 65;
    }
    return found;
}

int hxq_receipt_seal(char *json, size_t len, hxq_error *err)
{
    int64_t off = seal_offset(json, len);
    if (off < 0)
        return hxq_err(err, HXQ_ERR_INVALID, "receipt has no single \"%s\" placeholder",
                       HXQ_SEAL_KEY);
    memset(json + off, '0', 64);
    char hex[HXQ_SHA256_HEX];
    hxq_sha256_buffer(json, len, hex);
    memcpy(json + off, hex, 64);
    return HXQ_OK;
}

int hxq_receipt_seal_append(char **json, hxq_error *err)
{
    static const char field[] = ",\n\t\"" HXQ_SEAL_KEY "\":\t\""
                                "0000000000000000000000000000000000000000000000000000000000000000"
                                "\"\n";
    size_t len = strlen(*json), end = len;
    while (end > 0 && (*json)[end - 1] != '}')
        end--;
    if (end == 0 || seal_offset(*json, len) != -1)
        return hxq_err(err, HXQ_ERR_INVALID, "receipt text is not an unsealed JSON object");
    size_t flen = sizeof(field) - 1, close = end - 1;
    while (close > 0 && strchr(" \t\r\n", (*json)[close - 1]))
        close--;
    /* text = json[0..close) + field + json[end-1..len) */
    char *out = malloc(close + flen + (len - (end - 1)) + 1);
    if (!out)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    memcpy(out, *json, close);
    memcpy(out + close, field, flen);
    memcpy(out + close + flen, *json + end - 1, len - (end - 1) + 1);
    int rc = hxq_receipt_seal(out, strlen(out), err);
    if (rc < 0) {
        free(out);
        return rc;
    }
    free(*json);
    *json = out;
    return HXQ_OK;
}

int hxq_receipt_seal_check(const char *json, size_t len, int *sealed, hxq_error *err)
{
    *sealed = 0;
    int64_t off = seal_offset(json, len);
    if (off == -1)
        return HXQ_OK;
    *sealed = 1;
    if (off < 0)
        return hxq_err(err, HXQ_ERR_VERIFY, "\"%s\" is malformed or present twice", HXQ_SEAL_KEY);
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    memcpy(copy, json, len);
    memset(copy + off, '0', 64);
    char hex[HXQ_SHA256_HEX];
    hxq_sha256_buffer(copy, len, hex);
    free(copy);
    if (memcmp(hex, json + off, 64))
        return hxq_err(err, HXQ_ERR_VERIFY, "seal %.64s does not match the content (%s)",
                       json + off, hex);
    return HXQ_OK;
}
