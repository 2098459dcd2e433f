/* generate.c - prompt then sampled continuation, stopping at eos. */
#include "infer_int.h"

#include <stdlib.h>

int hxq_generate(hxq_engine *e, hxq_sampler *s, const int32_t *prompt, int64_t n_prompt,
                 int64_t max_tokens, hxq_token_fn on_token, void *ctx, int32_t *gen_out,
                 hxq_gen_stats *stats, hxq_error *err)
{
    const hxq_model *m = e->m;
    hxq_gen_stats st = {0};
    st.n_prompt = n_prompt;
    float *logits = hxq_alloc_array(m->vocab, sizeof(float));
    if (!logits)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    hxq_forward_out out = {logits, 0, NULL, NULL};
    double t0 = hxq_now();
    int rc = hxq_engine_forward(e, prompt, n_prompt, &out, err);
    st.prompt_s = hxq_now() - t0;
    t0 = hxq_now();
    for (int64_t i = 0; rc == HXQ_OK && i < max_tokens; i++) {
        int32_t id = hxq_sampler_sample(s, logits);
        if (gen_out)
            gen_out[i] = id;
        st.n_generated++;
        int eos = hxq_model_is_eos(m, id);
        int stop = on_token ? on_token(ctx, id) : 0;
        if (eos) {
            st.stopped_at_eos = 1;
            break;
        }
        if (stop || i + 1 == max_tokens)
            break;
        rc = hxq_engine_forward(e, &id, 1, &out, err);
    }
    st.decode_s = hxq_now() - t0;
    free(logits);
    if (stats)
        *stats = st;
    return rc;
}
