/* mc_score.c - log-likelihoods of a document's continuations: the context
 * runs once, every continuation is scored from its cache. */
#include "infer_int.h"
#include "mc_int.h"

#include <stdlib.h>

void mc_scratch_free(mc_scratch *s)
{
    free(s->logits);
    s->logits = NULL;
    s->cap = 0;
}

static int scratch_grow(mc_scratch *s, int64_t floats, hxq_error *err)
{
    if (floats <= s->cap)
        return HXQ_OK;
    float *p = hxq_alloc_array(floats, sizeof(float));
    if (!p)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory for %lld logits", (long long)floats);
    free(s->logits);
    s->logits = p;
    s->cap = floats;
    return HXQ_OK;
}

/* Checks what the engine cannot: the first continuation token is never
 * fed, only looked up in the context's logits. */
static int check_request(const hxq_engine *e, const hxq_mc_request *r, int64_t *longest,
                         hxq_error *err)
{
    int64_t V = e->m->vocab, m = 0;
    if (r->n_ctx < 1)
        return hxq_err(err, HXQ_ERR_INVALID, "score: empty context");
    for (int c = 0; c < r->n_choices; c++) {
        for (int64_t j = 0; j < r->n_cont[c]; j++)
            if (r->cont[c][j] < 0 || r->cont[c][j] >= V)
                return hxq_err(err, HXQ_ERR_INVALID,
                               "score: token id %d of choice %d is outside [0, %lld)",
                               r->cont[c][j], c, (long long)V);
        if (r->n_cont[c] > m)
            m = r->n_cont[c];
    }
    int64_t need = r->n_ctx + (m > 1 ? m - 1 : 0);
    if (need > hxq_engine_max_ctx(e))
        return hxq_err(err, HXQ_ERR_RANGE,
                       "score: context and continuation need %lld positions, the cache "
                       "holds %lld",
                       (long long)need, (long long)hxq_engine_max_ctx(e));
    *longest = m;
    return HXQ_OK;
}

/* Sum over j >= 1 of log p(cont[j]) from rows[(j - 1) V ..]: the logits
 * after feeding cont[0 .. n - 1). */
static double tail_ll(const float *rows, int64_t V, const int32_t *cont, int64_t n)
{
    double s = 0;
    for (int64_t j = 1; j < n; j++) {
        const float *row = rows + (j - 1) * V;
        s += (double)row[cont[j]] - infer_log_sum_exp(row, V, NULL);
    }
    return s;
}

int mc_score(hxq_engine *e, const hxq_mc_request *r, double *ll, mc_scratch *s,
             hxq_error *err)
{
    int64_t V = e->m->vocab, longest = 0;
    HXQ_TRY(check_request(e, r, &longest, err));
    HXQ_TRY(scratch_grow(s, V * (longest > 1 ? longest : 2), err));
    float *last = s->logits, *rows = s->logits + V;
    hxq_engine_reset(e);
    hxq_forward_out o = {last, 0, NULL, NULL};
    HXQ_TRY(hxq_engine_forward(e, r->ctx, r->n_ctx, &o, err));
    double first = infer_log_sum_exp(last, V, NULL);
    for (int c = 0; c < r->n_choices; c++) {
        int64_t n = r->n_cont[c];
        if (n == 0) {
            ll[c] = 0;
            continue;
        }
        ll[c] = (double)last[r->cont[c][0]] - first;
        if (n == 1)
            continue;
        hxq_forward_out oc = {rows, 1, NULL, NULL};
        HXQ_TRY(hxq_engine_rewind(e, r->n_ctx, err));
        HXQ_TRY(hxq_engine_forward(e, r->cont[c], n - 1, &oc, err));
        ll[c] += tail_ll(rows, V, r->cont[c], n);
    }
    return HXQ_OK;
}

int hxq_mc_score(hxq_engine *e, const hxq_mc_request *r, double *ll, hxq_error *err)
{
    mc_scratch s = {0};
    int rc = mc_score(e, r, ll, &s, err);
    mc_scratch_free(&s);
    return rc;
}
