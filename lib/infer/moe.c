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
    const float *m;           /* [n, H] normed inputs                    */
    float *x;                 /* [n, H] residual stream                   */
    int64_t blocks;           /* row blocks per expert (gate/up)          */
    int64_t hblocks;          /* row blocks of the output (down)          */
} dec_job;

#define MOE_BLOCK 32

/* Decode, gate and up: items are (token, chosen expert, block of rows). */
static void dec_gate_up(void *ctx, int64_t b, int64_t e, int tid)
{
    const dec_job *j = ctx;
    cpu_state *s = j->s;
    int64_t I = s->m->inter, H = s->m->hidden, K = s->m->top_k;
    for (int64_t it = b; it < e; it++) {
        int64_t tc = it / j->blocks, r0 = (it % j->blocks) * MOE_BLOCK;
        int64_t r1 = r0 + MOE_BLOCK < I ? r0 + MOE_BLOCK : I;
        int32_t ex = s->sel[tc];
        const float *m = j->m + tc / K * H;
        float *gy = s->dg + tc * I, *uy = s->du + tc * I;
        cpu_matvec(&j->L->gate[ex], m, gy + r0, r0, r1);
        cpu_matvec(&j->L->up[ex], m, uy + r0, r0, r1);
        for (int64_t r = r0; r < r1; r++)
            gy[r] = silu(gy[r]) * uy[r];
    }
}

/* Decode, down: items are (token, block of output rows); a token's
 * experts are summed in routing order so the result does not depend on
 * the threads or on the other tokens. */
static void dec_down(void *ctx, int64_t b, int64_t e, int tid)
{
    const dec_job *j = ctx;
    cpu_state *s = j->s;
    int64_t I = s->m->inter, H = s->m->hidden, K = s->m->top_k;
    float tmp[MOE_BLOCK];
    for (int64_t it = b; it < e; it++) {
        int64_t t = it / j->hblocks, r0 = (it % j->hblocks) * MOE_BLOCK;
        int64_t r1 = r0 + MOE_BLOCK < H ? r0 + MOE_BLOCK : H;
        float *x = j->x + t * H;
        for (int64_t c = t * K; c < (t + 1) * K; c++) {
            cpu_matvec(&j->L->down[s->sel[c]], s->dg + c * I, tmp, r0, r1);
            for (int64_t r = r0; r < r1; r++)
                x[r] += s->selw[c] * tmp[r - r0];
        }
    }
}

/* n tokens, each through its chosen experts with the matrix-vector
 * kernels (one token, or a decode step of several sequences). */
static void moe_decode(cpu_state *s, const hxq_layer *L, const float *m, int64_t n, float *x)
{
    int64_t I = s->m->inter, H = s->m->hidden;
    dec_job j = {s, L, m, x, (I + MOE_BLOCK - 1) / MOE_BLOCK, (H + MOE_BLOCK - 1) / MOE_BLOCK};
    hxq_pool_run(s->pool, n * s->m->top_k * j.blocks, 1, dec_gate_up, &j);
    hxq_pool_run(s->pool, n * j.hblocks, 1, dec_down, &j);
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
