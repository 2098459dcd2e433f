/* moe.c - the MLP on the CPU: a softmax router over all experts, top-k
 * (renormalised when the model says: Mixtral always, others with
 * norm_topk_prob), SwiGLU experts; only the chosen experts' weights are
 * read. A dense model's MLP is the one expert, taken with weight 1 and no
 * router, through the same decode and batch paths. */
#include "cpu_int.h"

#include <math.h>
#include <string.h>

/* Softmax of logits [E] and the top k (descending probability, lower id
 * first on ties) into sel / w. */
static void route(const float *logits, int64_t E, int64_t k, int norm, int32_t *sel,
                  float *w)
{
    float mx = logits[0];
    for (int64_t e = 1; e < E; e++)
        if (logits[e] > mx)
            mx = logits[e];
    float sum = 0.0f;
    for (int64_t e = 0; e < E; e++)
        sum += expf(logits[e] - mx);
    for (int64_t i = 0; i < k; i++) {
        int32_t best = -1;
        for (int64_t e = 0; e < E; e++) {
            int taken = 0;
            for (int64_t j = 0; j < i; j++)
                taken |= sel[j] == e;
            if (!taken && (best < 0 || logits[e] > logits[best]))
                best = (int32_t)e;
        }
        sel[i] = best;
        w[i] = expf(logits[best] - mx) / sum;
    }
    if (norm) {
        float s = 0.0f;
        for (int64_t i = 0; i < k; i++)
            s += w[i];
        for (int64_t i = 0; i < k; i++)
            w[i] /= s;
    }
}

static inline float silu(float v)
{
    return v / (1.0f + expf(-v));
}

typedef struct dec_job {
    cpu_state *s;
    const hxq_layer *L;
    int64_t groups;           /* experts chosen by at least one token     */
    int64_t blocks;           /* row blocks per expert (gate/up)          */
    int64_t hblocks;          /* row blocks of the output (down)          */
} dec_job;

#define MOE_BLOCK 32

/* Group g's expert, first slot and token count (slots: the (token, choice)
 * pairs ordered by expert, see moe_decode). */
static void group(const cpu_state *s, int64_t g, int32_t *ex, int64_t *first, int64_t *count)
{
    *first = s->dgroup[g];
    *count = s->dgroup[g + 1] - *first;
    *ex = s->sel[s->dpair[*first]];
}

/* Decode, gate and up: items are (expert group, block of rows); one pass
 * over the expert's rows for all its tokens. */
static void dec_gate_up(void *ctx, int64_t b, int64_t e, int tid)
{
    const dec_job *j = ctx;
    cpu_state *s = j->s;
    int64_t I = s->m->inter, H = s->m->hidden;
    for (int64_t it = b; it < e; it++) {
        int64_t g = it / j->blocks, r0 = (it % j->blocks) * MOE_BLOCK, first, gn;
        int64_t r1 = r0 + MOE_BLOCK < I ? r0 + MOE_BLOCK : I;
        int32_t ex;
        group(s, g, &ex, &first, &gn);
        const float *m = s->dx + first * H;
        float *gy = s->dg + first * I, *uy = s->du + first * I;
        cpu_matvec_multi(&j->L->gate[ex], m, H, gy + r0, I, gn, r0, r1);
        cpu_matvec_multi(&j->L->up[ex], m, H, uy + r0, I, gn, r0, r1);
        for (int64_t t = 0; t < gn; t++)
            for (int64_t r = r0; r < r1; r++)
                gy[t * I + r] = silu(gy[t * I + r]) * uy[t * I + r];
    }
}

/* Decode, down: items are (expert group, block of output rows), into
 * s->dd per slot. */
static void dec_down(void *ctx, int64_t b, int64_t e, int tid)
{
    const dec_job *j = ctx;
    cpu_state *s = j->s;
    int64_t I = s->m->inter, H = s->m->hidden;
    for (int64_t it = b; it < e; it++) {
        int64_t g = it / j->hblocks, r0 = (it % j->hblocks) * MOE_BLOCK, first, gn;
        int64_t r1 = r0 + MOE_BLOCK < H ? r0 + MOE_BLOCK : H;
        int32_t ex;
        group(s, g, &ex, &first, &gn);
        cpu_matvec_multi(&j->L->down[ex], s->dg + first * I, I, s->dd + first * H + r0, H, gn,
                         r0, r1);
    }
}

/* n tokens, each through its chosen experts with the matrix-vector
 * kernels (one token, or a decode step of several sequences). The (token,
 * choice) pairs are ordered by expert (then by token) into slots, so each
 * chosen expert's weights are read once for all its tokens; every
 * product is bit-identical to that of the token alone, and each token's
 * experts are summed in routing order, so the result does not depend on
 * the threads or on the other tokens. */
static void moe_decode(cpu_state *s, const hxq_layer *L, const float *m, int64_t n, float *x)
{
    int64_t I = s->m->inter, H = s->m->hidden, K = s->m->top_k, P = n * K;
    int64_t E = s->m->moe ? s->m->n_experts : 1, slot = 0, groups = 0;
    for (int64_t ex = 0; ex < E; ex++) {
        int64_t first = slot;
        for (int64_t c = 0; c < P; c++)
            if (s->sel[c] == ex) {
                s->dpair[slot] = (int32_t)c;
                s->dslot[c] = (int32_t)slot;
                memcpy(s->dx + slot * H, m + c / K * H, (size_t)H * sizeof(float));
                slot++;
            }
        if (slot > first)
            s->dgroup[groups++] = first;
    }
    s->dgroup[groups] = slot;
    dec_job j = {s, L, groups, (I + MOE_BLOCK - 1) / MOE_BLOCK, (H + MOE_BLOCK - 1) / MOE_BLOCK};
    hxq_pool_run(s->pool, groups * j.blocks, 1, dec_gate_up, &j);
    hxq_pool_run(s->pool, groups * j.hblocks, 1, dec_down, &j);
    for (int64_t t = 0; t < n; t++) {
        float *xt = x + t * H;
        for (int64_t c = t * K; c < (t + 1) * K; c++) {
            const float *d = s->dd + (int64_t)s->dslot[c] * H;
            for (int64_t r = 0; r < H; r++)
                xt[r] += s->selw[c] * d[r];
        }
    }
}

/* Batch: per expert, gather its tokens and run three tiled GEMMs. */
static void moe_batch(cpu_state *s, const hxq_layer *L, const float *m, int64_t n, float *x)
{
    int64_t E = s->m->n_experts, K = s->m->top_k, H = s->m->hidden, I = s->m->inter;
    for (int64_t e = 0; e < E; e++) {
        int64_t ce = 0;
        for (int64_t t = 0; t < n; t++)
            for (int64_t c = 0; c < K; c++)
                if (s->sel[t * K + c] == e) {
                    s->etok[ce] = (int32_t)t;
                    s->ew[ce] = s->selw[t * K + c];
                    memcpy(s->ex + ce * H, m + t * H, (size_t)H * sizeof(float));
                    ce++;
                }
        if (ce == 0)
            continue;
        cpu_linear(s, &L->gate[e], s->ex, ce, s->eg, I);
        cpu_linear(s, &L->up[e], s->ex, ce, s->eu, I);
        for (int64_t i = 0; i < ce * I; i++)
            s->eg[i] = silu(s->eg[i]) * s->eu[i];
        cpu_linear(s, &L->down[e], s->eg, ce, s->ed, H);
        for (int64_t i = 0; i < ce; i++) {
            float *xt = x + (int64_t)s->etok[i] * H;
            const float *d = s->ed + i * H;
            for (int64_t h = 0; h < H; h++)
                xt[h] += s->ew[i] * d[h];
        }
    }
}

void cpu_moe(cpu_state *s, int64_t l, const float *m, int64_t n, float *x, float *router)
{
    const hxq_layer *L = &s->m->layers[l];
    int64_t E = s->m->n_experts, K = s->m->top_k;
    if (!s->m->moe) {
        for (int64_t t = 0; t < n; t++) {
            s->sel[t] = 0;
            s->selw[t] = 1.0f;
        }
    } else {
        cpu_linear(s, &L->router, m, n, s->rl, E);
        if (router)
            memcpy(router, s->rl, (size_t)(n * E) * sizeof(float));
        for (int64_t t = 0; t < n; t++)
            route(s->rl + t * E, E, K, s->m->norm_topk, s->sel + t * K, s->selw + t * K);
    }
    if (n == 1 || s->each_token)
        moe_decode(s, L, m, n, x);
    else
        moe_batch(s, L, m, n, x);
}
