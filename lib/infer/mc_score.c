/* mc_score.c - log-likelihoods of a document's continuations: the context
 * runs once on sequence 0, then the choices run together, each on its own
 * copy of the context's cache, in one forward pass (as many at a time as
 * the engine has sequences). */
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

int64_t mc_group_tokens(const hxq_mc_request *r, int group)
{
    int64_t most = 0;
    for (int c0 = 0; c0 < r->n_choices; c0 += group) {
        int64_t t = 0;
        for (int c = c0; c < c0 + group && c < r->n_choices; c++)
            t += r->n_cont[c] > 1 ? r->n_cont[c] - 1 : 0;
        most = t > most ? t : most;
    }
    return most;
}

/* Choices [c0, c0 + g) on sequences 0 .. g - 1, each a copy of the
 * context on sequence 0, in one forward pass; adds their tails to ll. */
static int score_group(hxq_engine *e, const hxq_mc_request *r, int c0, int g, float *rows,
                       double *ll, hxq_error *err)
{
    int64_t V = e->m->vocab;
    hxq_seq_part parts[HXQ_MC_MAX_CHOICES];
    int np = 0;
    if (c0 > 0)
        HXQ_TRY(hxq_engine_seq_rewind(e, 0, r->n_ctx, err));
    for (int j = 0; j < g; j++) {
        int c = c0 + j;
        if (r->n_cont[c] < 2)
            continue;
        if (j > 0)
            HXQ_TRY(hxq_engine_seq_copy(e, 0, j, err));
        hxq_seq_part p = {j, r->cont[c], r->n_cont[c] - 1, rows, 1};
        parts[np++] = p;
        rows += p.n * V;
    }
    if (np == 0)
        return HXQ_OK;
    HXQ_TRY(hxq_engine_forward_seqs(e, parts, np, err));
    for (int i = 0; i < np; i++) {
        int c = c0 + parts[i].seq;
        ll[c] += tail_ll(parts[i].logits, V, r->cont[c], r->n_cont[c]);
    }
    return HXQ_OK;
}

int mc_score(hxq_engine *e, const hxq_mc_request *r, double *ll, mc_scratch *s,
             hxq_error *err)
{
    int64_t V = e->m->vocab, longest = 0;
    int group = hxq_engine_n_seq(e);
    HXQ_TRY(check_request(e, r, &longest, err));
    HXQ_TRY(scratch_grow(s, V * (1 + mc_group_tokens(r, group)), err));
    float *last = s->logits;
    hxq_engine_reset(e);
    hxq_forward_out o = {last, 0, NULL, NULL};
    HXQ_TRY(hxq_engine_forward(e, r->ctx, r->n_ctx, &o, err));
    double first = infer_log_sum_exp(last, V, NULL);
    for (int c = 0; c < r->n_choices; c++)
        ll[c] = r->n_cont[c] ? (double)last[r->cont[c][0]] - first : 0;
    for (int c0 = 0; c0 < r->n_choices; c0 += group) {
        int g = r->n_choices - c0 < group ? r->n_choices - c0 : group;
        HXQ_TRY(score_group(e, r, c0, g, s->logits + V, ll, err));
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
