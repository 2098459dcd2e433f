/* fuzz_tokenizer_encode.c - libFuzzer target: hxq_tokenizer_encode() of the
 * input bytes with the tiny-olmoe tokenizer (loaded once, from the
 * repository root). Valid UTF-8 must encode to in-range ids whose decode
 * equals the NFC form of the input (byte-level BPE loses nothing else);
 * invalid UTF-8 must be refused with HXQ_ERR_INVALID. Also built into
 * test/fuzz/test_fuzz_replay.c. */
#include "hxq_tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define FUZZ_TOKENIZER "models/tiny-olmoe/tokenizer.json"

static hxq_tokenizer *fuzz_tok(void)
{
    static hxq_tokenizer *tok;                  /* test harness state, loaded once */
    if (!tok && hxq_tokenizer_load(FUZZ_TOKENIZER, &tok, NULL) < 0)
        __builtin_trap();                       /* run from the repository root */
    return tok;
}

int hxq_fuzz_tokenizer_encode(const uint8_t *data, size_t size)
{
    const hxq_tokenizer *tok = fuzz_tok();
    int32_t *ids = NULL;
    int64_t n = 0;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_tokenizer_encode(tok, (const char *)data, size, &ids, &n, &err);
    int valid = utf8proc_decompose((const utf8proc_uint8_t *)data, (utf8proc_ssize_t)size, NULL, 0,
                                   0) >= 0 || size == 0;
    if (rc < 0) {
        if (!err.msg[0] || (valid && rc == HXQ_ERR_INVALID))
            __builtin_trap();                   /* valid UTF-8 refused */
        return 0;
    }
    if (!valid)
        __builtin_trap();                       /* invalid UTF-8 accepted */
    int32_t vs = hxq_tokenizer_vocab_size(tok);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vs)
            __builtin_trap();
    char *text = NULL;
    size_t tlen = 0;
    if (hxq_tokenizer_decode(tok, ids, n, 0, &text, &tlen, &err) < 0)
        __builtin_trap();
    /* the decode equals NFC(input) when the input has no NUL (utf8proc
     * stops at NUL in NUL-terminated mode; use the length form) */
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t nl = utf8proc_map((const utf8proc_uint8_t *)data, (utf8proc_ssize_t)size, &nfc,
                                       UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (nl >= 0 && ((size_t)nl != tlen || memcmp(nfc, text, tlen) != 0))
        __builtin_trap();                       /* encode/decode lost text */
    free(nfc);
    free(text);
    free(ids);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_tokenizer_encode(data, size);
}
#endif
