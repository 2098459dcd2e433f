/* attention.c - OLMoE self-attention on the CPU: q/k/v projections,
 * RMSNorm of q and k over the full width, NeoX RoPE, KV cache, causal
 * softmax attention per head with sgemm. */
#include "cpu_int.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* NeoX rotate_half: dimension i pairs with i + d/2. */
static void rope(float *v, const float *cosv, const float *sinv, int64_t half)
{
    for (int64_t i = 0; i < half; i++) {
        float a = v[i], b = v[i + half];
        v[i] = a * cosv[i] - b * sinv[i];
        v[i + half] = b * cosv[i] + a * sinv[i];
    }
}

typedef struct attn_job {
    cpu_state *s;
    const float *q;
    const float *kc, *vc;      /* this layer's cache */
    int64_t pos, n;
    float *out;
} attn_job;

/* Items are heads; per head S = Q K^T over the whole cache prefix (the
 * n new queries against pos + n keys), causal mask and softmax per row,
 * then O = P V, with sgemm (one thread each, so results do not depend on
 * the thread count). */
static void attn_heads(void *ctx, int64_t b, int64_t e, int tid)
{
    const attn_job *j = ctx;
    const hxq_model *m = j->s->m;
    int64_t H = m->hidden, hd = m->head_dim, n = j->n, len = j->pos + n;
    float scale = 1.0f / sqrtf((float)hd);
    float *S = j->s->scores[tid];
    for (int64_t h = b; h < e; h++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)len, (int)hd, scale,
                    j->q + h * hd, (int)H, j->kc + h * hd, (int)H, 0.0f, S, (int)len);
        for (int64_t t = 0; t < n; t++) {
            float *row = S + t * len;
            int64_t valid = j->pos + t + 1;
            float mx = -INFINITY, sum = 0.0f;
            for (int64_t p = 0; p < valid; p++)
                mx = row[p] > mx ? row[p] : mx;
            for (int64_t p = 0; p < valid; p++) {
                row[p] = expf(row[p] - mx);
                sum += row[p];
            }
            float inv = 1.0f / sum;
            for (int64_t p = 0; p < valid; p++)
                row[p] *= inv;
            for (int64_t p = valid; p < len; p++)
                row[p] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)hd, (int)len, 1.0f,
                    S, (int)len, j->vc + h * hd, (int)H, 0.0f, j->out + h * hd, (int)H);
    }
}

void cpu_attention(cpu_state *s, int64_t l, const float *a, int64_t n, int64_t pos,
                   float *out)
{
    const hxq_model *m = s->m;
    const hxq_layer *L = &m->layers[l];
    int64_t H = m->hidden, hd = m->head_dim, half = hd / 2;
    double eps = m->cfg.rms_norm_eps;
    cpu_linear(s, &L->wq, a, n, s->q, H);
    cpu_linear(s, &L->wk, a, n, s->k, H);
    cpu_linear(s, &L->wv, a, n, s->v, H);
    cpu_rmsnorm(s->q, L->q_norm, n, H, eps, s->q);
    cpu_rmsnorm(s->k, L->k_norm, n, H, eps, s->k);
    float *kc = s->kc + l * s->max_ctx * H, *vc = s->vc + l * s->max_ctx * H;
    for (int64_t t = 0; t < n; t++) {
        const float *cosv = s->rope_cos + (pos + t) * half;
        const float *sinv = s->rope_sin + (pos + t) * half;
        for (int64_t h = 0; h < m->n_heads; h++) {
            rope(s->q + t * H + h * hd, cosv, sinv, half);
            rope(s->k + t * H + h * hd, cosv, sinv, half);
        }
    }
    memcpy(kc + pos * H, s->k, (size_t)(n * H) * sizeof(float));
    memcpy(vc + pos * H, s->v, (size_t)(n * H) * sizeof(float));
    attn_job j = {s, s->q, kc, vc, pos, n, out};
    hxq_pool_run(s->pool, m->n_heads, 1, attn_heads, &j);
}
