/* attention.c - OLMoE self-attention on the CPU: q/k/v projections,
 * RMSNorm of q and k over the full width, NeoX RoPE, KV caches, causal
 * softmax attention per sequence and head with sgemm. */
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
    int64_t l;
    float *out;
} attn_job;

/* Items are (part, head) pairs; per item S = Q K^T over the sequence's
 * cache prefix (the part's n queries against pos + n keys), causal mask
 * and softmax per row, then O = P V, with sgemm (one thread each, so
 * results do not depend on the thread count or on the other parts). */
static void attn_heads(void *ctx, int64_t b, int64_t e, int tid)
{
    const attn_job *j = ctx;
    const cpu_state *s = j->s;
    const hxq_model *m = s->m;
    int64_t H = m->hidden, hd = m->head_dim;
    float scale = 1.0f / sqrtf((float)hd);
    float *S = s->scores[tid];
    for (int64_t it = b; it < e; it++) {
        int64_t pi = it / m->n_heads, h = it % m->n_heads;
        const hxq_seq_part *p = &s->batch->parts[pi];
        int64_t pos = s->batch->pos[pi], n = p->n, len = pos + n;
        const float *q = s->q + s->first[pi] * H;
        const float *kc = cpu_kcache(s, j->l, p->seq), *vc = cpu_vcache(s, j->l, p->seq);
        float *out = j->out + s->first[pi] * H;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)len, (int)hd, scale,
                    q + h * hd, (int)H, kc + h * hd, (int)H, 0.0f, S, (int)len);
        for (int64_t t = 0; t < n; t++) {
            float *row = S + t * len;
            int64_t valid = pos + t + 1;
            float mx = -INFINITY, sum = 0.0f;
            for (int64_t k = 0; k < valid; k++)
                mx = row[k] > mx ? row[k] : mx;
            for (int64_t k = 0; k < valid; k++) {
                row[k] = expf(row[k] - mx);
                sum += row[k];
            }
            float inv = 1.0f / sum;
            for (int64_t k = 0; k < valid; k++)
                row[k] *= inv;
            for (int64_t k = valid; k < len; k++)
                row[k] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)hd, (int)len, 1.0f,
                    S, (int)len, vc + h * hd, (int)H, 0.0f, out + h * hd, (int)H);
    }
}

void cpu_attention(cpu_state *s, int64_t l, const float *a, int64_t n, float *out)
{
    const hxq_model *m = s->m;
    const hxq_layer *L = &m->layers[l];
    const hxq_backend_batch *b = s->batch;
    int64_t H = m->hidden, hd = m->head_dim, half = hd / 2;
    double eps = m->cfg.rms_norm_eps;
    cpu_linear(s, &L->wq, a, n, s->q, H);
    cpu_linear(s, &L->wk, a, n, s->k, H);
    cpu_linear(s, &L->wv, a, n, s->v, H);
    cpu_rmsnorm(s->q, L->q_norm, n, H, eps, s->q);
    cpu_rmsnorm(s->k, L->k_norm, n, H, eps, s->k);
    for (int64_t t = 0; t < n; t++) {
        const float *cosv = s->rope_cos + s->tpos[t] * half;
        const float *sinv = s->rope_sin + s->tpos[t] * half;
        for (int64_t h = 0; h < m->n_heads; h++) {
            rope(s->q + t * H + h * hd, cosv, sinv, half);
            rope(s->k + t * H + h * hd, cosv, sinv, half);
        }
    }
    for (int i = 0; i < b->n_parts; i++) {
        const hxq_seq_part *p = &b->parts[i];
        size_t bytes = (size_t)(p->n * H) * sizeof(float);
        memcpy(cpu_kcache(s, l, p->seq) + b->pos[i] * H, s->k + s->first[i] * H, bytes);
        memcpy(cpu_vcache(s, l, p->seq) + b->pos[i] * H, s->v + s->first[i] * H, bytes);
    }
    attn_job j = {s, l, out};
    hxq_pool_run(s->pool, b->n_parts * m->n_heads, 1, attn_heads, &j);
}
