/* attention.c - self-attention on the CPU: q/k/v projections (with their
 * biases), RMSNorm of q and k (over the projection or per head), NeoX
 * RoPE, KV caches of kv_heads x head_dim, causal softmax attention (within
 * the layer's sliding window) per sequence and head with sgemm; query head
 * h reads kv head h / (heads / kv_heads). */
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
 * cache (the part's n queries against the keys from the window's start
 * to pos + n), causal and window mask and softmax per row, then O = P V,
 * with sgemm (one thread each, so results do not depend on the thread
 * count or on the other parts). */
static void attn_heads(void *ctx, int64_t b, int64_t e, int tid)
{
    const attn_job *j = ctx;
    const cpu_state *s = j->s;
    const hxq_model *m = s->m;
    int64_t QW = s->qw, KW = s->kw, hd = m->head_dim, group = m->n_heads / m->n_kv_heads;
    int64_t W = m->layers[j->l].window;
    float scale = 1.0f / sqrtf((float)hd);
    float *S = s->scores[tid];
    for (int64_t it = b; it < e; it++) {
        int64_t pi = it / m->n_heads, h = it % m->n_heads, kh = h / group;
        const hxq_seq_part *p = &s->batch->parts[pi];
        int64_t pos = s->batch->pos[pi], n = p->n;
        /* keys [lo, pos + n): the first query's window onwards */
        int64_t lo = W > 0 && pos - W + 1 > 0 ? pos - W + 1 : 0, len = pos + n - lo;
        const float *q = s->q + s->first[pi] * QW;
        const float *kc = cpu_kcache(s, j->l, p->seq) + lo * KW;
        const float *vc = cpu_vcache(s, j->l, p->seq) + lo * KW;
        float *out = j->out + s->first[pi] * QW;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)len, (int)hd, scale,
                    q + h * hd, (int)QW, kc + kh * hd, (int)KW, 0.0f, S, (int)len);
        for (int64_t t = 0; t < n; t++) {
            float *row = S + t * len;
            /* transformers: key k is seen by query p when k <= p and p - k < window */
            int64_t end = pos + t + 1 - lo;
            int64_t beg = W > 0 && end - W > 0 ? end - W : 0;
            float mx = -INFINITY, sum = 0.0f;
            for (int64_t k = beg; k < end; k++)
                mx = row[k] > mx ? row[k] : mx;
            for (int64_t k = beg; k < end; k++) {
                row[k] = expf(row[k] - mx);
                sum += row[k];
            }
            float inv = 1.0f / sum;
            for (int64_t k = 0; k < beg; k++)
                row[k] = 0.0f;
            for (int64_t k = beg; k < end; k++)
                row[k] *= inv;
            for (int64_t k = end; k < len; k++)
                row[k] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)hd, (int)len, 1.0f,
                    S, (int)len, vc + kh * hd, (int)KW, 0.0f, out + h * hd, (int)QW);
    }
}

/* q [n, qw] and k [n, kw] RMSNormed as the model says. */
static void qk_norm(cpu_state *s, const hxq_layer *L, int64_t n)
{
    const hxq_model *m = s->m;
    double eps = m->cfg.rms_norm_eps;
    switch (m->qk_norm) {
    case HXQ_QK_NORM_FULL:
        cpu_rmsnorm(s->q, L->q_norm, n, s->qw, eps, s->q);
        cpu_rmsnorm(s->k, L->k_norm, n, s->kw, eps, s->k);
        break;
    case HXQ_QK_NORM_HEAD:
        cpu_rmsnorm(s->q, L->q_norm, n * m->n_heads, m->head_dim, eps, s->q);
        cpu_rmsnorm(s->k, L->k_norm, n * m->n_kv_heads, m->head_dim, eps, s->k);
        break;
    case HXQ_QK_NORM_NONE:
        break;
    }
}

void cpu_attention(cpu_state *s, int64_t l, const float *a, int64_t n, float *out)
{
    const hxq_model *m = s->m;
    const hxq_layer *L = &m->layers[l];
    const hxq_backend_batch *b = s->batch;
    int64_t QW = s->qw, KW = s->kw, hd = m->head_dim, half = hd / 2;
    cpu_linear(s, &L->wq, a, n, s->q, QW);
    cpu_linear(s, &L->wk, a, n, s->k, KW);
    cpu_linear(s, &L->wv, a, n, s->v, KW);
    cpu_add_bias(s->q, L->bq, n, QW);
    cpu_add_bias(s->k, L->bk, n, KW);
    cpu_add_bias(s->v, L->bv, n, KW);
    qk_norm(s, L, n);
    for (int64_t t = 0; t < n; t++) {
        const float *cosv = s->rope_cos + s->tpos[t] * half;
        const float *sinv = s->rope_sin + s->tpos[t] * half;
        for (int64_t h = 0; h < m->n_heads; h++)
            rope(s->q + t * QW + h * hd, cosv, sinv, half);
        for (int64_t h = 0; h < m->n_kv_heads; h++)
            rope(s->k + t * KW + h * hd, cosv, sinv, half);
    }
    for (int i = 0; i < b->n_parts; i++) {
        const hxq_seq_part *p = &b->parts[i];
        size_t bytes = (size_t)(p->n * KW) * sizeof(float);
        memcpy(cpu_kcache(s, l, p->seq) + b->pos[i] * KW, s->k + s->first[i] * KW, bytes);
        memcpy(cpu_vcache(s, l, p->seq) + b->pos[i] * KW, s->v + s->first[i] * KW, bytes);
    }
    attn_job j = {s, l, out};
    hxq_pool_run(s->pool, b->n_parts * m->n_heads, 1, attn_heads, &j);
}
