/* sampler.c - next-token choice: greedy, or temperature with top-k and
 * top-p (nucleus) filtering and a seeded splitmix64 generator. */
#include "infer_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hxq_sampler_init(hxq_sampler *s, const hxq_sampler_opts *o, int64_t vocab,
                     hxq_error *err)
{
    memset(s, 0, sizeof(*s));
    if (vocab < 1 || vocab > INT32_MAX)
        return hxq_err(err, HXQ_ERR_INVALID, "sampler: vocabulary size %lld out of range",
                       (long long)vocab);
    if (!(o->temperature >= 0.0f) || !isfinite(o->temperature))
        return hxq_err(err, HXQ_ERR_INVALID, "sampler: temperature %g must be >= 0",
                       (double)o->temperature);
    if (o->top_p > 1.0f || o->top_k < 0 || isnan(o->top_p))
        return hxq_err(err, HXQ_ERR_INVALID, "sampler: top-p %g must be <= 1, top-k >= 0",
                       (double)o->top_p);
    s->cand = hxq_alloc_array(vocab, sizeof(hxq_token_prob));
    if (!s->cand)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    s->o = *o;
    s->vocab = vocab;
    s->state = o->seed;
    return HXQ_OK;
}

void hxq_sampler_free(hxq_sampler *s)
{
    if (!s)
        return;
    free(s->cand);
    s->cand = NULL;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Descending probability, then ascending id: a total order, so the
 * result does not depend on qsort's algorithm. */
static int cand_cmp(const void *a, const void *b)
{
    const hxq_token_prob *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int32_t hxq_sampler_sample(hxq_sampler *s, const float *logits)
{
    int64_t V = s->vocab, best = 0;
    for (int64_t i = 1; i < V; i++)
        if (logits[i] > logits[best])
            best = i;
    if (s->o.temperature == 0.0f)
        return (int32_t)best;
    float mx = logits[best], inv_t = 1.0f / s->o.temperature;
    for (int64_t i = 0; i < V; i++) {
        s->cand[i].p = expf((logits[i] - mx) * inv_t);
        s->cand[i].id = (int32_t)i;
    }
    int64_t n = V;
    int use_k = s->o.top_k > 0 && s->o.top_k < V;
    int use_p = s->o.top_p > 0.0f && s->o.top_p < 1.0f;
    if (use_k || use_p) {
        qsort(s->cand, (size_t)V, sizeof(hxq_token_prob), cand_cmp);
        if (use_k)
            n = s->o.top_k;
        if (use_p) {
            double total = 0, acc = 0;
            for (int64_t i = 0; i < n; i++)
                total += s->cand[i].p;
            int64_t keep = 0;
            while (keep < n && acc < s->o.top_p * total)
                acc += s->cand[keep++].p;
            n = keep > 0 ? keep : 1;
        }
    }
    double total = 0;
    for (int64_t i = 0; i < n; i++)
        total += s->cand[i].p;
    double u = (double)(splitmix64(&s->state) >> 11) * 0x1.0p-53 * total, acc = 0;
    for (int64_t i = 0; i < n; i++) {
        acc += s->cand[i].p;
        if (u < acc)
            return s->cand[i].id;
    }
    return s->cand[n - 1].id;
}
