/* fuzz_tokenizer_load.c - libFuzzer target: hxq_tokenizer_load_json() over
 * the input as tokenizer.json bytes (not NUL-terminated). An accepted
 * tokenizer is exercised: every id's bytes and string, a short encode with
 * the post-processor's tokens, its decode, and the stream decoder, whose
 * pieces must make up the same text. Also built into test/fuzz/test_fuzz_replay.c. */
#include "hxq_tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The stream decoder's output, concatenated, is the whole decode. */
static void check_stream(const hxq_tokenizer *tok, const int32_t *ids, int64_t n,
                         const char *want, size_t want_len)
{
    hxq_tokenizer_stream *st = NULL;
    hxq_error err;
    if (hxq_tokenizer_stream_create(tok, 0, &st, &err) != HXQ_OK)
        return;
    size_t got = 0;
    const char *piece;
    size_t len;
    for (int64_t i = 0; i <= n; i++) {
        int rc = i < n ? hxq_tokenizer_stream_push(st, ids[i], &piece, &len, &err)
                       : hxq_tokenizer_stream_flush(st, &piece, &len, &err);
        if (rc != HXQ_OK)
            break;
        if (got + len > want_len || memcmp(want + got, piece, len))
            __builtin_trap();
        got += len;
        if (i == n && got != want_len)
            __builtin_trap();
    }
    hxq_tokenizer_stream_free(st);
}

int hxq_fuzz_tokenizer_load(const uint8_t *data, size_t size)
{
    hxq_tokenizer *tok = NULL;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_tokenizer_load_json((const char *)data, size, "fuzz/tokenizer.json", &tok, &err);
    if (rc < 0) {
        if (!err.msg[0] || tok != NULL)
            __builtin_trap();
        return 0;
    }
    int32_t n = hxq_tokenizer_vocab_size(tok);
    if (n < 0)
        __builtin_trap();
    volatile size_t sink = 0;
    for (int32_t id = 0; id < n && id < 4096; id++) {
        size_t len = 0;
        const char *b = hxq_tokenizer_token_bytes(tok, id, &len);
        if (b && len)
            sink += (unsigned char)b[len - 1];
        const char *s = hxq_tokenizer_token_str(tok, id);
        if (s && hxq_tokenizer_token_id(tok, s) < 0)
            __builtin_trap();                    /* a listed token is findable */
    }
    static const char text[] = "Hello world <|endoftext|> caf\xc3\xa9  12";
    int32_t *ids = NULL;
    int64_t nids = 0;
    if (hxq_tokenizer_encode_special(tok, text, sizeof(text) - 1, &ids, &nids, &err) ==
        HXQ_OK) {
        for (int64_t i = 0; i < nids; i++)
            if (ids[i] < 0 || ids[i] >= n)
                __builtin_trap();
        char *out = NULL;
        size_t olen = 0;
        if (hxq_tokenizer_decode(tok, ids, nids, 0, &out, &olen, &err) == HXQ_OK) {
            check_stream(tok, ids, nids, out, olen);
            free(out);
        }
        free(ids);
    }
    (void)sink;
    hxq_tokenizer_free(tok);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_tokenizer_load(data, size);
}
#endif
