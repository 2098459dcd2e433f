/* eval.c - perplexity over fixed windows and, against a reference model,
 * the mean KL divergence, top-1 agreement and perplexity ratio (the
 * definitions of test/fixtures/README.md and llama.cpp's
 * --kl-divergence). */
#include "infer_int.h"

#include <math.h>
#include <stdlib.h>

int64_t hxq_eval_windows_max(int64_t n, int64_t ctx)
{
    return ctx < 1 || n < 1 ? 0 : (n - 1) / ctx;
}

double infer_log_sum_exp(const float *x, int64_t n, int64_t *argmax)
{
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    double mx = x[b], s = 0;
    for (int64_t i = 0; i < n; i++)
        s += exp((double)x[i] - mx);
    if (argmax)
        *argmax = b;
    return mx + log(s);
}

/* KL(p_ref || p_model) of one position from the logits and their lse. */
static double kl_one(const float *ref, double lse_ref, const float *mod, double lse_mod,
                     int64_t V)
{
    double kl = 0;
    for (int64_t i = 0; i < V; i++) {
        double lr = (double)ref[i] - lse_ref;
        kl += exp(lr) * (lr - ((double)mod[i] - lse_mod));
    }
    return kl;
}

int hxq_eval_ids(hxq_engine *model, hxq_engine *ref, const int32_t *ids, int64_t n,
                 int64_t ctx, int64_t windows, hxq_eval_result *out, hxq_error *err)
{
    int64_t V = model->m->vocab;
    if (ctx < 1)
        return hxq_err(err, HXQ_ERR_INVALID, "eval: context %lld must be >= 1", (long long)ctx);
    int64_t wmax = hxq_eval_windows_max(n, ctx);
    if (windows <= 0)
        windows = wmax;
    if (windows < 1 || windows > wmax)
        return hxq_err(err, HXQ_ERR_INVALID,
                       "eval: %lld tokens hold %lld windows of %lld, %lld requested",
                       (long long)n, (long long)wmax, (long long)ctx, (long long)windows);
    if (ctx > hxq_engine_max_ctx(model) || (ref && ctx > hxq_engine_max_ctx(ref)))
        return hxq_err(err, HXQ_ERR_INVALID, "eval: context %lld exceeds the model's",
                       (long long)ctx);
    if (ref && ref->m->vocab != V)
        return hxq_err(err, HXQ_ERR_INVALID, "eval: vocabulary sizes differ (%lld and %lld)",
                       (long long)V, (long long)ref->m->vocab);
    int64_t nl;
    if (hxq_mul_i64(ctx, V, &nl) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "eval: logits buffer too large");
    float *lm = hxq_alloc_array(nl, sizeof(float));
    float *lr = ref ? hxq_alloc_array(nl, sizeof(float)) : NULL;
    if (!lm || (ref && !lr)) {
        free(lm);
        free(lr);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    double nll = 0, rnll = 0, kl = 0;
    int64_t agree = 0;
    int rc = HXQ_OK;
    for (int64_t w = 0; w < windows && rc == HXQ_OK; w++) {
        const int32_t *x = ids + w * ctx;
        hxq_forward_out o = {lm, 1, NULL, NULL};
        hxq_engine_reset(model);
        rc = hxq_engine_forward(model, x, ctx, &o, err);
        if (rc == HXQ_OK && ref) {
            hxq_forward_out orf = {lr, 1, NULL, NULL};
            hxq_engine_reset(ref);
            rc = hxq_engine_forward(ref, x, ctx, &orf, err);
        }
        for (int64_t i = 0; rc == HXQ_OK && i < ctx; i++) {
            int32_t target = x[i + 1];
            const float *pm = lm + i * V;
            int64_t am, ar;
            double lsm = infer_log_sum_exp(pm, V, &am);
            nll += lsm - pm[target];
            if (ref) {
                const float *pr = lr + i * V;
                double lsr = infer_log_sum_exp(pr, V, &ar);
                rnll += lsr - pr[target];
                kl += kl_one(pr, lsr, pm, lsm, V);
                agree += am == ar;
            }
        }
    }
    free(lm);
    free(lr);
    if (rc < 0)
        return rc;
    hxq_eval_result r = {0};
    r.windows = windows;
    r.positions = windows * ctx;
    r.nll = nll / (double)r.positions;
    r.ppl = exp(r.nll);
    if (ref) {
        r.has_reference = 1;
        r.ref_nll = rnll / (double)r.positions;
        r.ref_ppl = exp(r.ref_nll);
        r.kl = kl / (double)r.positions;
        r.top1_agree = (double)agree / (double)r.positions;
        r.ppl_ratio = r.ppl / r.ref_ppl;
    }
    *out = r;
    return HXQ_OK;
}
