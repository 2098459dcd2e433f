/* tok_prompt.c - the token ids a generation starts from: a raw prompt
 * (with the post-processor's special tokens, e.g. a BOS) or a rendered chat. `hxq run` and
 * `hxq serve` both build their prompts here, so they feed the same ids. */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>

int hxq_tokenizer_encode_prompt(const hxq_tokenizer *tok, const char *text, size_t len,
                                int32_t **ids, int64_t *n_ids, hxq_error *err)
{
    int32_t *v = NULL;
    int64_t n = 0;
    HXQ_TRY(hxq_tokenizer_encode_special(tok, text, len, &v, &n, err));
    if (n == 0) {
        free(v);
        return hxq_err(err, HXQ_ERR_INVALID, "the prompt encodes to no tokens");
    }
    *ids = v;
    *n_ids = n;
    return HXQ_OK;
}

int hxq_tokenizer_encode_chat(const hxq_tokenizer *tok, const hxq_chat_msg *msgs, int64_t n,
                              int32_t **ids, int64_t *n_ids, hxq_error *err)
{
    char *text = NULL;
    size_t len = 0;
    HXQ_TRY(hxq_tokenizer_chat_render(tok, msgs, n, 1, &text, &len, err));
    int32_t *v = NULL;
    int64_t nv = 0;
    int rc = hxq_tokenizer_encode(tok, text, len, &v, &nv, err);
    free(text);
    if (rc == HXQ_OK && nv == 0) {
        free(v);
        rc = hxq_err(err, HXQ_ERR_INVALID, "the chat renders to no tokens");
    }
    if (rc == HXQ_OK) {
        *ids = v;
        *n_ids = nv;
    }
    return rc;
}
