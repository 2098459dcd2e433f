/* fuzz_safetensors.c - libFuzzer target: hxq_st_parse() over the input
 * bytes as a whole safetensors file. Every accepted file must satisfy the
 * reader's promises (tensors inside the buffer, contiguous, findable by
 * name), which the target checks by touching every tensor's first and last
 * byte (ASan catches an out-of-bounds view) and trapping on a broken
 * invariant. Also built into test/fuzz/test_fuzz_replay.c. */
#include "hxq_io.h"

#include <stdint.h>
#include <string.h>

int hxq_fuzz_safetensors(const uint8_t *data, size_t size)
{
    hxq_st_file *f = NULL;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    if (hxq_st_parse(data, size, "fuzz.safetensors", &f, &err) < 0) {
        if (err.code >= 0 || !err.msg[0])          /* failures always explain */
            __builtin_trap();
        return 0;
    }
    uint64_t pos = hxq_st_header_size(f);
    volatile uint8_t sink = 0;
    for (int64_t i = 0; i < hxq_st_count(f); i++) {
        const hxq_tensor *t = hxq_st_tensor(f, i);
        if (t->offset != pos || t->offset + t->nbytes > size || hxq_st_find(f, t->name) == NULL ||
            strcmp(hxq_st_find(f, t->name)->name, t->name) != 0)
            __builtin_trap();
        if (t->nbytes > 0) {
            const uint8_t *p = t->data;
            sink ^= p[0];
            sink ^= p[t->nbytes - 1];
            if (t->dtype == HXQ_DT_BF16 || t->dtype == HXQ_DT_F16 || t->dtype == HXQ_DT_F32 ||
                t->dtype == HXQ_DT_F64)
                sink ^= (uint8_t)(hxq_tensor_f32_at(t, t->nelem - 1) != 0.0f);
        }
        pos += t->nbytes;
    }
    if (pos != size)
        __builtin_trap();
    (void)hxq_st_metadata(f, "format");
    (void)sink;
    hxq_st_close(f);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_safetensors(data, size);
}
#endif
