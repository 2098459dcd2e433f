/* forward.c - the CPU backend: state allocation and the decoder forward
 * pass over a batch of tokens (the block described by hxq_model's fields:
 * docs/ENGINE.md). */
#include "cpu_int.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cpu_rmsnorm(const float *x, const float *w, int64_t n, int64_t h, double eps,
                 float *out)
{
    for (int64_t t = 0; t < n; t++) {
        const float *xr = x + t * h;
        float *o = out + t * h;
        float ss = 0.0f;
        for (int64_t i = 0; i < h; i++)
            ss += xr[i] * xr[i];
        float r = 1.0f / sqrtf(ss / (float)h + (float)eps);
        for (int64_t i = 0; i < h; i++)
            o[i] = w[i] * (xr[i] * r);
    }
}

static void cpu_destroy(void *state)
{
    cpu_state *s = state;
    if (!s)
        return;
    for (int i = 0; i < s->nthreads; i++) {
        if (s->tile)
            free(s->tile[i]);
        if (s->scores)
            free(s->scores[i]);
    }
    free(s->tile);
    free(s->scores);
    float *bufs[] = {s->kc, s->vc, s->rope_cos, s->rope_sin, s->x, s->a,
                     s->q, s->k, s->v, s->att, s->tmp, s->rl, s->selw, s->ew, s->ex, s->eg,
                     s->eu, s->ed, s->dg, s->du, s->dx, s->dd, s->lg};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        free(bufs[i]);
    free(s->sel);
    free(s->etok);
    free(s->dpair);
    free(s->dslot);
    free(s->dgroup);
    free(s->tpos);
    free(s->first);
    hxq_pool_free(s->pool);
    free(s);
}

/* n floats, or NULL on overflow / failure. */
static float *fbuf(int64_t a, int64_t b)
{
    int64_t n;
    return hxq_mul_i64(a, b, &n) < 0 ? NULL : hxq_calloc_array(n, sizeof(float));
}

/* cos / sin of position x inv_freq, in float32 as transformers. */
static void rope_tables(cpu_state *s)
{
    int64_t half = s->m->head_dim / 2;
    for (int64_t i = 0; i < half; i++) {
        float inv = s->m->rope_inv_freq[i];
        for (int64_t p = 0; p < s->max_ctx; p++) {
            float ang = (float)p * inv;
            s->rope_cos[p * half + i] = cosf(ang);
            s->rope_sin[p * half + i] = sinf(ang);
        }
    }
}

static int cpu_create(const hxq_model *m, const hxq_engine_opts *o, void **out, hxq_error *err)
{
    cpu_state *s = calloc(1, sizeof(*s));
    if (!s)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    s->m = m;
    s->max_ctx = o->max_ctx;
    s->max_batch = o->max_batch;
    s->n_seq = o->n_seq;
    /* our pool does the threading: keep OpenBLAS single-threaded */
    openblas_set_num_threads(1);
    s->pool = hxq_pool_create(o->threads);
    if (!s->pool) {
        free(s);
        return hxq_err(err, HXQ_ERR_NOMEM, "cannot start %d threads", o->threads);
    }
    s->nthreads = hxq_pool_threads(s->pool);
    int64_t H = m->hidden, B = s->max_batch, NI = m->inter, E = m->n_experts, K = m->top_k;
    int64_t D = s->n_seq < B ? s->n_seq : B;   /* tokens of a decode step */
    s->qw = m->n_heads * m->head_dim;
    s->kw = m->n_kv_heads * m->head_dim;
    int64_t LC;
    int bad = hxq_mul_i64(m->n_layers * s->n_seq, s->max_ctx, &LC) < 0;
    int64_t maxcols = H > NI ? H : NI;
    maxcols = maxcols > s->qw ? maxcols : s->qw;
    if (!bad) {
        s->kc = fbuf(LC, s->kw);
        s->vc = fbuf(LC, s->kw);
        s->rope_cos = fbuf(s->max_ctx, m->head_dim / 2);
        s->rope_sin = fbuf(s->max_ctx, m->head_dim / 2);
        s->x = fbuf(B, H);
        s->a = fbuf(B, H);
        s->q = fbuf(B, s->qw);
        s->k = fbuf(B, s->kw);
        s->v = fbuf(B, s->kw);
        s->att = fbuf(B, s->qw);
        s->tmp = fbuf(B, H);
        s->rl = fbuf(B, E);
        s->selw = fbuf(B, K);
        s->ew = fbuf(B, 1);
        s->ex = fbuf(B, H);
        s->eg = fbuf(B, NI);
        s->eu = fbuf(B, NI);
        s->ed = fbuf(B, H);
        s->dg = fbuf(B * K, NI);
        s->du = fbuf(B * K, NI);
        s->dx = fbuf(D * K, H);
        s->dd = fbuf(D * K, H);
        s->dpair = hxq_calloc_array(D * K, sizeof(int32_t));
        s->dslot = hxq_calloc_array(D * K, sizeof(int32_t));
        s->dgroup = hxq_calloc_array(D * K + 1, sizeof(int64_t));
        s->lg = D > 1 ? fbuf(D, m->vocab) : NULL;
        s->sel = hxq_calloc_array(B * K, sizeof(int32_t));
        s->etok = hxq_calloc_array(B, sizeof(int32_t));
        s->tpos = hxq_calloc_array(B, sizeof(int64_t));
        s->first = hxq_calloc_array(s->n_seq, sizeof(int64_t));
        s->tile = calloc((size_t)s->nthreads, sizeof(float *));
        s->scores = calloc((size_t)s->nthreads, sizeof(float *));
        bad = !s->kc || !s->vc || !s->rope_cos || !s->rope_sin || !s->x || !s->a || !s->q ||
              !s->k || !s->v || !s->att || !s->tmp || !s->rl || !s->selw || !s->ew ||
              !s->ex || !s->eg || !s->eu || !s->ed || !s->dg || !s->du || !s->dx ||
              !s->dd || !s->dpair || !s->dslot || !s->dgroup || (D > 1 && !s->lg) || !s->sel ||
              !s->etok || !s->tpos || !s->first || !s->tile || !s->scores;
        for (int i = 0; !bad && i < s->nthreads; i++) {
            s->tile[i] = fbuf(INFER_TILE_ROWS, maxcols);
            s->scores[i] = fbuf(s->max_batch, s->max_ctx);
            bad = !s->tile[i] || !s->scores[i];
        }
    }
    if (bad) {
        cpu_destroy(s);
        return hxq_err(err, HXQ_ERR_NOMEM,
                       "out of memory for the kv cache (%d x %lld positions)", o->n_seq,
                       (long long)o->max_ctx);
    }
    rope_tables(s);
    *out = s;
    return HXQ_OK;
}

float *cpu_kcache(const cpu_state *s, int64_t l, int seq)
{
    return s->kc + (l * s->n_seq + seq) * s->max_ctx * s->kw;
}

float *cpu_vcache(const cpu_state *s, int64_t l, int seq)
{
    return s->vc + (l * s->n_seq + seq) * s->max_ctx * s->kw;
}

void cpu_add_bias(float *y, const float *bias, int64_t n, int64_t w)
{
    if (!bias)
        return;
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < w; i++)
            y[t * w + i] += bias[i];
}

static void cpu_seq_copy(void *state, int src, int dst, int64_t n)
{
    cpu_state *s = state;
    size_t bytes = (size_t)(n * s->kw) * sizeof(float);
    for (int64_t l = 0; l < s->m->n_layers; l++) {
        memcpy(cpu_kcache(s, l, dst), cpu_kcache(s, l, src), bytes);
        memcpy(cpu_vcache(s, l, dst), cpu_vcache(s, l, src), bytes);
    }
}

/* The logits each part wants from the final normed states a [n, H]. A
 * decode step of several sequences runs the lm_head once for all its
 * tokens (each result as that token's alone) and copies them out. */
static void cpu_logits(cpu_state *s, const float *a)
{
    const hxq_backend_batch *b = s->batch;
    int64_t H = s->m->hidden, V = s->m->vocab;
    if (s->each_token && b->n_parts > 1) {
        cpu_linear(s, &s->m->lm_head, a, b->n_parts, s->lg, V);
        for (int i = 0; i < b->n_parts; i++)
            if (b->parts[i].logits)
                memcpy(b->parts[i].logits, s->lg + i * V, (size_t)V * sizeof(float));
        return;
    }
    for (int i = 0; i < b->n_parts; i++) {
        const hxq_seq_part *p = &b->parts[i];
        const float *ai = a + s->first[i] * H;
        if (!p->logits)
            continue;
        if (p->all_logits)
            cpu_linear(s, &s->m->lm_head, ai, p->n, p->logits, V);
        else
            cpu_linear(s, &s->m->lm_head, ai + (p->n - 1) * H, 1, p->logits, V);
    }
}

static int cpu_forward(void *state, const hxq_backend_batch *b, hxq_error *err)
{
    cpu_state *s = state;
    const hxq_model *m = s->m;
    int64_t H = m->hidden, E = m->n_experts, NL = m->n_layers, n = b->n_tokens;
    double eps = m->cfg.rms_norm_eps;
    float *hid = b->hidden, *router = b->router_logits;
    s->batch = b;
    s->each_token = 1;
    int64_t t = 0;
    for (int i = 0; i < b->n_parts; i++) {
        const hxq_seq_part *p = &b->parts[i];
        s->each_token &= p->n == 1;
        s->first[i] = t;
        for (int64_t k = 0; k < p->n; k++, t++) {
            s->tpos[t] = b->pos[i] + k;
            hxq_linear_row_f32(&m->embed, p->ids[k], s->x + t * H);
        }
    }
    if (hid)
        memcpy(hid, s->x, (size_t)(n * H) * sizeof(float));
    for (int64_t l = 0; l < NL; l++) {
        const hxq_layer *L = &m->layers[l];
        cpu_rmsnorm(s->x, L->attn_norm, n, H, eps, s->a);
        cpu_attention(s, l, s->a, n, s->att);
        cpu_linear(s, &L->wo, s->att, n, s->tmp, H);
        cpu_add_bias(s->tmp, L->bo, n, H);
        for (int64_t i = 0; i < n * H; i++)
            s->x[i] += s->tmp[i];
        cpu_rmsnorm(s->x, L->ffn_norm, n, H, eps, s->a);
        cpu_moe(s, l, s->a, n, s->x, router ? router + l * n * E : NULL);
        if (hid && l + 1 < NL)
            memcpy(hid + (l + 1) * n * H, s->x, (size_t)(n * H) * sizeof(float));
    }
    cpu_rmsnorm(s->x, m->final_norm, n, H, eps, s->a);
    if (hid)
        memcpy(hid + NL * n * H, s->a, (size_t)(n * H) * sizeof(float));
    cpu_logits(s, s->a);
    s->batch = NULL;
    (void)err;
    return HXQ_OK;
}

const hxq_backend infer_backend_cpu = {"cpu", cpu_create, cpu_destroy, cpu_forward,
                                       cpu_seq_copy};
