/* fuzz_chat_template.c - libFuzzer target: hxq_tokenizer_template_render()
 * of the input as a chat template (untrusted: any bytes). When the input
 * holds a NUL byte, what follows the first one is the render variables'
 * JSON; otherwise a fixed conversation is used. A failure must be one of
 * the documented statuses with a message and no output; a success must be
 * valid UTF-8, and rendering again must give the same bytes. Also built
 * into test/fuzz/test_fuzz_replay.c. */
#include "hxq_common.h"
#include "hxq_tokenizer.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char fuzz_chat_vars[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", "
    "\"content\": \"Hi {{ x }} \\u00e9\"}, {\"role\": \"assistant\", \"content\": \"Hello\", "
    "\"tool_calls\": [{\"function\": {\"name\": \"f\", \"arguments\": {\"a\": 1.5}}}]}, "
    "{\"role\": \"user\", \"content\": \"<think>x</think>y\"}], \"bos_token\": \"<s>\", "
    "\"eos_token\": \"</s>\", \"add_generation_prompt\": true}";

int hxq_fuzz_chat_template(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *vars = nul ? fuzz_text(nul + 1, size - tlen - 1) : NULL;
    if (nul && !vars)
        return 0;
    hxq_chat_opts o = {.vars_json = vars ? vars : fuzz_chat_vars, .has_now = 1, .now = 0};
    char *out = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_tokenizer_template_render((const char *)data, tlen, &o, &out, &len, &err);
    if (rc < 0) {
        if (out || !err.msg[0] || (rc != HXQ_ERR_FORMAT && rc != HXQ_ERR_UNSUPPORTED &&
                                   rc != HXQ_ERR_INVALID && rc != HXQ_ERR_RANGE &&
                                   rc != HXQ_ERR_NOMEM))
            __builtin_trap();
        free(vars);
        return 0;
    }
    if (!out || out[len] != 0 || hxq_utf8_valid_prefix(out, len) != len)
        __builtin_trap();                       /* output must be whole UTF-8 text */
    if (hxq_tokenizer_template_render((const char *)data, tlen, &o, &again, &len2, &err) < 0 ||
        len2 != len || memcmp(out, again, len))
        __builtin_trap();                       /* rendering is deterministic */
    free(again);
    free(out);
    free(vars);
    return 0;
}

#ifndef HXQ_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return hxq_fuzz_chat_template(data, size);
}
#endif
