/* fuzz_config.c - libFuzzer target: hxq_config_parse() over the input as
 * config.json text. An accepted config keeps the parser's promises
 * (non-negative sizes, positive eps and theta, at most 8 eos ids).
 * Also built into test/fuzz/test_fuzz_replay.c. */
#include "hxq_io.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int hxq_fuzz_config(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    hxq_config c;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_config_parse(text, "fuzz/config.json", &c, &err);
    free(text);
    if (rc < 0) {
        if (!err.msg[0])
            __builtin_trap();
        return 0;
    }
    if (c.vocab_size < 0 || c.hidden_size < 0 || c.num_layers < 0 || c.num_heads < 0 ||
        c.num_kv_heads < 0 || c.head_dim < 0 || c.num_experts < 0 || c.n_eos < 0 ||
        c.n_eos > 8 || c.bos_token_id < -1 || c.pad_token_id < -1 || !(c.rms_norm_eps > 0) || !(c.rope_theta > 0) ||
        memchr(c.model_type, 0, sizeof(c.model_type)) == NULL ||
        memchr(c.dtype, 0, sizeof(c.dtype)) == NULL)
        __builtin_trap();
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_config(data, size);
}
#endif
