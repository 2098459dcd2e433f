/* cuda_forward.c - the OLMoE forward pass on the GPU: KV cache, activations,
 * the kernel sequence of one call, and the captured one-token decode graph. */
#include "cuda_int.h"

#include <stdlib.h>
#include <string.h>

#ifdef HXQ_HAVE_CUDA
#include "hxq_cuda.h"

struct cuda_run {
    cuda_dmodel w;
    int64_t max_ctx, max_batch;
    void *stream;
    int32_t *d_step;          /* [1 + max_batch]: position, then the ids     */
    int32_t *h_step;          /* pinned mirror                              */
    float *h_logits;          /* pinned [V]                                 */
    float *kc, *vc;           /* [n_layers, max_ctx, H]                     */
    float *x, *a, *qkv, *att; /* [B, H], [B, H], [B, 3H], [B, H]            */
    float *rl, *topw;         /* [B, E], [B, k]                             */
    int32_t *topi;            /* [B, k]                                     */
    float *gu, *ye;           /* [B, 2k, I], [B, k, H]                      */
    float *logits;            /* [B, V]                                     */
    void *graph;              /* decode step, captured on first use         */
    int use_graph;
    int graph_failed;
};

/* Device buffers of the run are allocated through its dmodel, so that one
 * list frees everything. */
static int run_alloc(cuda_run *r, void *out, int64_t n, size_t elem, hxq_error *err)
{
    int64_t bytes;
    if (hxq_mul_i64(n, (int64_t)elem, &bytes) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "cuda run: buffer size overflows");
    return cuda_dmodel_alloc(&r->w, (void **)out, (size_t)bytes, err);
}

void cuda_run_free(cuda_run *r)
{
    if (!r)
        return;
    hxq_cuda_graph_free(r->graph);
    hxq_cuda_host_free(r->h_step);
    hxq_cuda_host_free(r->h_logits);
    hxq_cuda_stream_destroy(r->stream);
    cuda_dmodel_free(&r->w);
    free(r);
}

int cuda_run_create(cuda_dmodel *dm, int64_t max_ctx, int64_t max_batch, cuda_run **out,
                    hxq_error *err)
{
    *out = NULL;
    cuda_run *r = calloc(1, sizeof(*r));
    if (!r) {
        cuda_dmodel_free(dm);
        return hxq_err(err, HXQ_ERR_NOMEM, "cuda run: out of memory");
    }
    r->w = *dm;
    memset(dm, 0, sizeof(*dm));
    r->use_graph = 1;
    int rc = cuda_dmodel_check(&r->w, err);
    if (rc == HXQ_OK && (max_ctx < 1 || max_ctx > HXQ_CUDA_MAX_CTX || max_batch < 1 ||
                         max_batch > 65535))
        rc = hxq_err(err, HXQ_ERR_INVALID,
                     "cuda run: context %lld (1..%d) or batch %lld (1..65535) out of range",
                     (long long)max_ctx, HXQ_CUDA_MAX_CTX, (long long)max_batch);
    if (rc < 0) {
        cuda_run_free(r);
        return rc;
    }
    const cuda_dmodel *m = &r->w;
    const int64_t B = max_batch, H = m->hidden, E = m->n_experts, K = m->top_k;
    const int64_t I = m->inter, V = m->vocab;
    int64_t cache = 0, t = 0;
    r->max_ctx = max_ctx;
    r->max_batch = max_batch;
    if (hxq_mul_i64(m->n_layers, max_ctx, &t) < 0 || hxq_mul_i64(t, H, &cache) < 0)
        rc = hxq_err(err, HXQ_ERR_NOMEM, "cuda run: KV cache size overflows");
    if (rc == HXQ_OK)
        rc = hxq_cuda_prepare(err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_stream_create(&r->stream, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_host_alloc((void **)&r->h_step, (size_t)(B + 1) * sizeof(int32_t), err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_host_alloc((void **)&r->h_logits, (size_t)V * sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->d_step, B + 1, sizeof(int32_t), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->kc, cache, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->vc, cache, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->x, B * H, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->a, B * H, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->qkv, B * 3 * H, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->att, B * H, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->rl, B * E, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->topw, B * K, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->topi, B * K, sizeof(int32_t), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->gu, B * 2 * K * I, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->ye, B * K * H, sizeof(float), err);
    if (rc == HXQ_OK)
        rc = run_alloc(r, &r->logits, B * V, sizeof(float), err);
    if (rc < 0) {
        cuda_run_free(r);
        return rc;
    }
    *out = r;
    return HXQ_OK;
}

void cuda_run_set_graph(cuda_run *r, int on)
{
    r->use_graph = on != 0;
}

const cuda_dmodel *cuda_run_model(const cuda_run *r)
{
    return &r->w;
}

int cuda_run_graph_captured(const cuda_run *r)
{
    return r->graph != NULL;
}

/* y = W norm(x) for ntok tokens through a one-matrix (or q/k/v) table;
 * norm_w NULL: no RMSNorm prologue. */
static int run_linear(cuda_run *r, const struct hxq_cuda_mat *mats, int kind, int nsel,
                      int64_t rows, int64_t cols, int64_t ntok, const float *x,
                      const float *norm_w, float *y, int64_t y_tok, int accumulate,
                      hxq_error *err)
{
    hxq_cuda_linear_args l;
    memset(&l, 0, sizeof(l));
    l.mats = mats;
    l.kind = kind;
    l.rows = rows;
    l.cols = cols;
    l.nsets = 1;
    l.nsel = nsel;
    l.ntok = ntok;
    l.x = x;
    l.x_tok = cols;
    l.y = y;
    l.y_tok = y_tok;
    l.y_grp = rows;
    l.accumulate = accumulate;
    l.norm_w = norm_w;
    l.norm_eps = r->w.eps;
    return hxq_cuda_linear(&l, r->stream, err);
}

/* Device -> host copy of rows for the optional outputs (not in graphs). */
static int run_copy_out(cuda_run *r, float *dst, const float *src, int64_t n, hxq_error *err)
{
    return hxq_cuda_copy_async(dst, src, (size_t)n * sizeof(float), r->stream, err);
}

/* One decoder layer over n tokens whose residual stream is r->x: 9 launches
 * (the norms before q/k/v, the router and the experts are prologues of
 * their linear kernels; q/k norm, RoPE and the cache append are one). */
static int run_layer(cuda_run *r, int64_t l, int64_t n, float *router_out, hxq_error *err)
{
    const cuda_dmodel *m = &r->w;
    const cuda_layer_w *L = &m->layers[l];
    const int64_t H = m->hidden, E = m->n_experts;
    const int32_t *d_pos = r->d_step;
    void *st = r->stream;
    float *kc = r->kc + l * r->max_ctx * H, *vc = r->vc + l * r->max_ctx * H;

    HXQ_TRY(run_linear(r, L->qkv, L->qkv_kind, 3, H, H, n, r->x, L->attn_norm, r->qkv, 3 * H,
                       0, err));
    HXQ_TRY(hxq_cuda_qk_norm_rope(r->qkv, 3 * H, L->q_norm, L->k_norm, m->n_heads,
                                  m->head_dim, m->eps, m->theta, kc, vc, n, r->max_ctx, d_pos,
                                  st, err));
    HXQ_TRY(hxq_cuda_attention(r->qkv, 3 * H, kc, vc, r->att, H, m->n_heads, m->n_kv_heads,
                               m->head_dim, n, r->max_ctx, d_pos, st, err));
    HXQ_TRY(run_linear(r, L->o, L->o_kind, 1, H, H, n, r->att, NULL, r->x, H, 1, err));

    HXQ_TRY(run_linear(r, L->router, L->router_kind, 1, E, H, n, r->x, L->ffn_norm, r->rl, E,
                       0, err));
    if (router_out)
        HXQ_TRY(run_copy_out(r, router_out, r->rl, n * E, err));
    HXQ_TRY(hxq_cuda_router_topk(r->rl, n, E, m->top_k, m->norm_topk, r->topi, r->topw, st,
                                 err));
    hxq_cuda_moe_args a;
    a.gate_up = L->gate_up;
    a.gate_up_kind = L->gate_up_kind;
    a.down = L->down;
    a.down_kind = L->down_kind;
    a.n_experts = E;
    a.top_k = m->top_k;
    a.hidden = H;
    a.inter = m->inter;
    a.ntok = n;
    a.ids = r->topi;
    a.weights = r->topw;
    a.x = r->x;
    a.gu = r->gu;
    a.ye = r->ye;
    a.out = r->x;
    a.norm_w = L->ffn_norm;
    a.norm_eps = m->eps;
    return hxq_cuda_moe(&a, st, err);
}

/* Enqueues the whole forward pass of n tokens (ids and position already in
 * d_step). Logits of all n rows when all_rows, else of the last row, into
 * r->logits. */
static int run_enqueue(cuda_run *r, int64_t n, int all_rows, const cuda_forward_out *out,
                       hxq_error *err)
{
    const cuda_dmodel *m = &r->w;
    const int64_t H = m->hidden, V = m->vocab;
    float *hidden = out ? out->hidden : NULL;
    float *router = out ? out->router_logits : NULL;
    HXQ_TRY(hxq_cuda_embed(m->embed_kind, m->embed, V, H, r->d_step + 1, n, r->x, r->stream,
                           err));
    if (hidden)
        HXQ_TRY(run_copy_out(r, hidden, r->x, n * H, err));
    for (int64_t l = 0; l < m->n_layers; l++) {
        HXQ_TRY(run_layer(r, l, n, router ? router + l * n * m->n_experts : NULL, err));
        if (hidden && l + 1 < m->n_layers)
            HXQ_TRY(run_copy_out(r, hidden + (l + 1) * n * H, r->x, n * H, err));
    }
    const int64_t rows = all_rows ? n : 1;
    const float *xin = all_rows ? r->x : r->x + (n - 1) * H;
    if (hidden) { /* the final norm's output is wanted itself */
        HXQ_TRY(hxq_cuda_rmsnorm(r->x, H, m->final_norm, r->a, H, n, H, m->eps, r->stream, err));
        HXQ_TRY(run_copy_out(r, hidden + m->n_layers * n * H, r->a, n * H, err));
    }
    return run_linear(r, m->lm_head, m->lm_kind, 1, V, H, rows, xin, m->final_norm, r->logits,
                      V, 0, err);
}

/* Captures the one-token step; on failure the run keeps launching directly. */
static void run_capture(cuda_run *r)
{
    hxq_error cerr;
    if (hxq_cuda_graph_begin(r->stream, &cerr) < 0) {
        r->graph_failed = 1;
        return;
    }
    int rc = run_enqueue(r, 1, 0, NULL, &cerr);
    void *exec = NULL;
    int rc2 = hxq_cuda_graph_end(r->stream, &exec, &cerr);
    if (rc < 0 || rc2 < 0) {
        hxq_cuda_graph_free(exec);
        r->graph_failed = 1;
        return;
    }
    r->graph = exec;
}

int cuda_run_forward(cuda_run *r, const int32_t *ids, int64_t n, int64_t pos,
                     const cuda_forward_out *out, hxq_error *err)
{
    const cuda_dmodel *m = &r->w;
    if (!ids || n < 1 || n > r->max_batch)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda forward: %lld tokens (1..%lld)",
                       (long long)n, (long long)r->max_batch);
    if (pos < 0 || pos + n > r->max_ctx)
        return hxq_err(err, HXQ_ERR_RANGE,
                       "context full: position %lld + %lld tokens exceeds %lld",
                       (long long)pos, (long long)n, (long long)r->max_ctx);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->vocab)
            return hxq_err(err, HXQ_ERR_INVALID, "cuda forward: token id %d outside [0, %lld)",
                           (int)ids[i], (long long)m->vocab);
    const int all_rows = out && (out->all_logits || out->hidden);
    const int graphable = n == 1 && !(out && (out->hidden || out->router_logits));

    r->h_step[0] = (int32_t)pos;
    memcpy(r->h_step + 1, ids, (size_t)n * sizeof(int32_t));
    HXQ_TRY(hxq_cuda_copy_async(r->d_step, r->h_step, (size_t)(n + 1) * sizeof(int32_t),
                                r->stream, err));
    if (graphable && r->use_graph && !r->graph && !r->graph_failed)
        run_capture(r);
    if (graphable && r->use_graph && r->graph)
        HXQ_TRY(hxq_cuda_graph_launch(r->graph, r->stream, err));
    else
        HXQ_TRY(run_enqueue(r, n, all_rows, out, err));

    const int64_t V = m->vocab;
    if (out && out->logits) {
        if (out->all_logits) {
            HXQ_TRY(hxq_cuda_copy_async(out->logits, r->logits, (size_t)(n * V) * sizeof(float),
                                        r->stream, err));
        } else {
            const float *last = all_rows ? r->logits + (n - 1) * V : r->logits;
            HXQ_TRY(hxq_cuda_copy_async(r->h_logits, last, (size_t)V * sizeof(float),
                                        r->stream, err));
        }
    }
    HXQ_TRY(hxq_cuda_stream_sync(r->stream, err));
    if (out && out->logits && !out->all_logits)
        memcpy(out->logits, r->h_logits, (size_t)V * sizeof(float));
    return HXQ_OK;
}

#else /* !HXQ_HAVE_CUDA */

struct cuda_run {
    cuda_dmodel w;
};

int cuda_run_create(cuda_dmodel *dm, int64_t max_ctx, int64_t max_batch, cuda_run **out,
                    hxq_error *err)
{
    (void)max_ctx;
    (void)max_batch;
    cuda_dmodel_free(dm);
    *out = NULL;
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
}

void cuda_run_free(cuda_run *r)
{
    if (r) {
        cuda_dmodel_free(&r->w);
        free(r);
    }
}

void cuda_run_set_graph(cuda_run *r, int on)
{
    (void)r;
    (void)on;
}

const cuda_dmodel *cuda_run_model(const cuda_run *r)
{
    return &r->w;
}

int cuda_run_graph_captured(const cuda_run *r)
{
    (void)r;
    return 0;
}

int cuda_run_forward(cuda_run *r, const int32_t *ids, int64_t n, int64_t pos,
                     const cuda_forward_out *out, hxq_error *err)
{
    (void)r;
    (void)ids;
    (void)n;
    (void)pos;
    (void)out;
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
}

#endif
