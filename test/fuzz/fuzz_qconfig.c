/* fuzz_qconfig.c - libFuzzer target: hxq_qconfig_parse() over the input
 * as config.json text holding a quantization_config. Also built into
 * test/fuzz/test_fuzz_replay.c. */
#include "hxq_io.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int hxq_fuzz_qconfig(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    hxq_qconfig q;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_qconfig_parse(text, "fuzz/config.json", &q, &err);
    free(text);
    if (rc < 0) {
        if (!err.msg[0])
            __builtin_trap();
        return 0;
    }
    if (q.codebook_size < 1 || q.codebook_size > 4096 || q.n_modules < 0 || q.n_exact < 0)
        __builtin_trap();
    size_t total = 0;
    for (int64_t i = 0; i < q.n_modules; i++)
        total += strlen(q.modules[i]);
    for (int i = 0; i < q.n_exact; i++)
        total += strlen(q.exact_patterns[i]);
    (void)total;
    hxq_qconfig_free(&q);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_qconfig(data, size);
}
#endif
