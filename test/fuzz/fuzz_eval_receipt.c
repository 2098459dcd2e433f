/* fuzz_eval_receipt.c - libFuzzer target: hxq_receipt_eval_parse() over
 * the input as eval_receipt.json text. An accepted receipt must serialise,
 * parse back, and serialise to the same text (a fixpoint): verify compares
 * its numbers exactly, so the writer and the reader must agree on every
 * bit. Also built into test/fuzz/test_fuzz_replay.c. */
#include "hxq_receipt.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int hxq_fuzz_eval_receipt(const uint8_t *data, size_t size)
{
    hxq_eval_receipt r, r2;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    if (hxq_receipt_eval_parse((const char *)data, size, "fuzz/eval_receipt.json", &r, &err) < 0) {
        if (!err.msg[0])
            __builtin_trap();
        return 0;
    }
    char *j1 = NULL, *j2 = NULL;
    if (hxq_receipt_eval_json(&r, &j1, &err) < 0)
        __builtin_trap();
    if (hxq_receipt_eval_parse(j1, strlen(j1), "again", &r2, &err) < 0)
        __builtin_trap();                        /* we wrote what we cannot read */
    if (hxq_receipt_eval_json(&r2, &j2, &err) < 0 || strcmp(j1, j2) != 0)
        __builtin_trap();                        /* not a fixpoint */
    free(j1);
    free(j2);
    hxq_receipt_eval_free(&r);
    hxq_receipt_eval_free(&r2);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_eval_receipt(data, size);
}
#endif
