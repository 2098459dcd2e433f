/* fuzz_receipt.c - libFuzzer target: hxq_receipt_compression_parse() over
 * the input as compression_receipt.json text. An accepted receipt must
 * serialise, parse back, and serialise to the same text (a fixpoint), so
 * the writer and the reader agree on everything the reader accepts.
 * Also built into test/fuzz/test_fuzz_replay.c. */
#include "hxq_receipt.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int hxq_fuzz_receipt(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    hxq_compression_receipt r;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_receipt_compression_parse(text, "fuzz/compression_receipt.json", &r, &err);
    free(text);
    if (rc < 0) {
        if (!err.msg[0])
            __builtin_trap();
        return 0;
    }
    char *j1 = NULL, *j2 = NULL;
    if (hxq_receipt_compression_json(&r, &j1, &err) < 0)
        __builtin_trap();
    hxq_compression_receipt r2;
    if (hxq_receipt_compression_parse(j1, "again", &r2, &err) < 0)
        __builtin_trap();                        /* we wrote what we cannot read */
    if (hxq_receipt_compression_json(&r2, &j2, &err) < 0 || strcmp(j1, j2) != 0)
        __builtin_trap();                        /* not a fixpoint */
    free(j1);
    free(j2);
    hxq_receipt_compression_free(&r);
    hxq_receipt_compression_free(&r2);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_receipt(data, size);
}
#endif
