/* fuzz_index.c - libFuzzer target: hxq_index_parse() over the input as
 * the text of a model.safetensors.index.json. Accepted indexes must be
 * sorted, unique and self-consistent (checked; a broken invariant traps).
 * Also built into test/fuzz/test_fuzz_replay.c. */
#include "hxq_io.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int hxq_fuzz_index(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    hxq_index ix;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_index_parse(text, "fuzz.index.json", &ix, &err);
    free(text);
    if (rc < 0) {
        if (!err.msg[0])
            __builtin_trap();
        return 0;
    }
    if (ix.count < 1 || ix.nfiles < 1 || ix.nfiles > ix.count)
        __builtin_trap();
    for (int64_t i = 0; i < ix.count; i++) {
        if ((i > 0 && strcmp(ix.tensors[i - 1], ix.tensors[i]) >= 0) ||
            hxq_index_find(&ix, ix.tensors[i]) != ix.shards[i] || strchr(ix.shards[i], '/'))
            __builtin_trap();
    }
    for (int i = 1; i < ix.nfiles; i++)
        if (strcmp(ix.files[i - 1], ix.files[i]) >= 0)
            __builtin_trap();
    hxq_index_free(&ix);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_index(data, size);
}
#endif
