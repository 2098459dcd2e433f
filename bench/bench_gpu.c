/* bench_gpu.c - batch-1 decode speed of the CUDA backend on a synthetic
 * full-width OLMoE in HXQ form, against the device's copy bandwidth measured
 * in the same run.
 *
 * The weights are synthesised on the device (random U8 indices, random
 * codebooks, a random sidecar of --sidecar entries per matrix, BF16
 * embedding and lm_head), so no checkpoint is needed. Each timed step is a
 * full cuda_run_forward() of one token: position/id copy in, the captured
 * graph, the logits copy out, one synchronisation.
 *
 * Prints the weight bytes read per token, tok/s with and without the graph,
 * the device-to-device copy bandwidth ((read + write) bytes / time) and the
 * figure: bytes per token x tok/s / bandwidth. Then (unless --ops 0) the
 * time of each op of a decode step on its own: each op launched for every
 * layer in turn, --op-reps times, between two events (cycling through the
 * layers' weights, so repeats are not served from L2), as us per launch,
 * GB/s of the bytes it must read and % of the copy bandwidth, and their sum
 * per token against the measured step: the difference is launch gaps.
 *
 * usage: bench_gpu [--layers N] [--hidden H] [--inter I] [--experts E]
 *                  [--topk K] [--vocab V] [--heads N] [--tokens T]
 *                  [--sidecar S] [--copy-mib M] [--ops 0|1] [--op-reps R]
 * Exit status: 0 (also when skipped without a device), 1 on failure. */
#include "cuda_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HXQ_HAVE_CUDA
#include "hxq_cuda.h"

#include <math.h>

typedef struct bench_opts {
    int64_t layers, hidden, inter, experts, topk, vocab, heads, tokens, sidecar, copy_mib;
    int64_t ops, op_reps;
} bench_opts;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float unif(uint64_t *s)
{
    return (float)((double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

/* One synthetic HXQ matrix; adds the bytes a matvec reads to *bytes. */
static int synth_hxq(cuda_dmodel *dm, int64_t rows, int64_t cols, int64_t nside, uint64_t *seed,
                     float scale, hxq_cuda_mat *desc, uint64_t *bytes, hxq_error *err)
{
    memset(desc, 0, sizeof(*desc));
    void *p = NULL;
    HXQ_TRY(cuda_dmodel_alloc(dm, &p, (size_t)(rows * cols), err));
    HXQ_TRY(hxq_cuda_fill_random(p, HXQ_CUDA_U8, rows * cols, splitmix(seed), 0.0f, NULL, err));
    desc->w = p;
    float cb[256];
    for (int i = 0; i < 256; i++)
        cb[i] = scale * unif(seed);
    float *dcb = NULL;
    HXQ_TRY(cuda_dmodel_put_f32(dm, cb, 256, &dcb, err));
    desc->codebook = dcb;
    *bytes += (uint64_t)(rows * cols) + sizeof(cb);
    if (nside <= 0)
        return HXQ_OK;
    /* nside entries spread over the rows, ascending */
    int32_t *rowptr = malloc((size_t)(rows + 1) * sizeof(int32_t));
    int32_t *col = malloc((size_t)nside * sizeof(int32_t));
    float *delta = malloc((size_t)nside * sizeof(float));
    int rc = rowptr && col && delta ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (rc == HXQ_OK) {
        int64_t e = 0;
        for (int64_t r = 0; r < rows; r++) {
            rowptr[r] = (int32_t)e;
            int64_t want = (r + 1) * nside / rows;
            for (int64_t c = 0; e < want && c < cols; e++, c++) {
                col[e] = (int32_t)((c * 37 + r) % cols); /* distinct: 37 is prime */
                delta[e] = 4.0f * scale * unif(seed);
            }
        }
        rowptr[rows] = (int32_t)e;
        int32_t *d32 = NULL;
        float *df = NULL;
        rc = cuda_dmodel_alloc(dm, (void **)&d32, (size_t)(rows + 1) * sizeof(int32_t), err);
        if (rc == HXQ_OK)
            rc = hxq_cuda_upload(d32, rowptr, (size_t)(rows + 1) * sizeof(int32_t), err);
        desc->sc_rowptr = d32;
        if (rc == HXQ_OK)
            rc = cuda_dmodel_alloc(dm, (void **)&d32, (size_t)e * sizeof(int32_t), err);
        if (rc == HXQ_OK)
            rc = hxq_cuda_upload(d32, col, (size_t)e * sizeof(int32_t), err);
        desc->sc_col = d32;
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_f32(dm, delta, e, &df, err);
        desc->sc_delta = df;
        *bytes += (uint64_t)(rows + 1) * 4 + (uint64_t)e * 8;
    }
    free(rowptr);
    free(col);
    free(delta);
    return rc;
}

/* The whole synthetic model. Active bytes = what one decoded token reads. */
static int synth_model(const bench_opts *o, cuda_dmodel *dm, hxq_error *err)
{
    const int64_t H = o->hidden, I = o->inter, E = o->experts, L = o->layers;
    uint64_t seed = 42, b_attn = 0, b_router = 0, b_expert = 0, b_lm = 0, scratch = 0;
    memset(dm, 0, sizeof(*dm));
    dm->vocab = o->vocab;
    dm->hidden = H;
    dm->inter = I;
    dm->n_layers = L;
    dm->n_heads = dm->n_kv_heads = o->heads;
    dm->head_dim = H / o->heads;
    dm->n_experts = E;
    dm->top_k = o->topk;
    dm->eps = 1e-5f;
    dm->theta = 10000.0f;
    dm->layers = calloc((size_t)L, sizeof(cuda_layer_w));
    float *ones = malloc((size_t)H * sizeof(float));
    hxq_cuda_mat *descs = malloc((size_t)(2 * E + 3) * sizeof(hxq_cuda_mat));
    if (!dm->layers || !ones || !descs) {
        free(ones);
        free(descs);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < H; i++)
        ones[i] = 1.0f;
    int rc = HXQ_OK;
    const float ws = 1.0f / sqrtf((float)H), wi = 1.0f / sqrtf((float)I);
    for (int64_t l = 0; l < L && rc == HXQ_OK; l++) {
        cuda_layer_w *Lw = &dm->layers[l];
        rc = cuda_dmodel_put_f32(dm, ones, H, &Lw->attn_norm, err);
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_f32(dm, ones, H, &Lw->q_norm, err);
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_f32(dm, ones, H, &Lw->k_norm, err);
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_f32(dm, ones, H, &Lw->ffn_norm, err);
        for (int i = 0; i < 3 && rc == HXQ_OK; i++)
            rc = synth_hxq(dm, H, H, 2 * o->sidecar, &seed, ws, &descs[i], &b_attn, err);
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_table(dm, descs, 3, &Lw->qkv, err);
        if (rc == HXQ_OK)
            rc = synth_hxq(dm, H, H, 2 * o->sidecar, &seed, ws, &descs[0], &b_attn, err);
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_table(dm, descs, 1, &Lw->o, err);
        if (rc == HXQ_OK)
            rc = synth_hxq(dm, E, H, o->sidecar, &seed, ws, &descs[0], &b_router, err);
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_table(dm, descs, 1, &Lw->router, err);
        /* experts: count the bytes of top_k of them (all are the same size) */
        for (int64_t e = 0; e < 2 * E && rc == HXQ_OK; e++)
            rc = synth_hxq(dm, I, H, o->sidecar, &seed, ws, &descs[e],
                           e % E < o->topk ? &b_expert : &scratch, err);
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_table(dm, descs, 2 * E, &Lw->gate_up, err);
        for (int64_t e = 0; e < E && rc == HXQ_OK; e++)
            rc = synth_hxq(dm, H, I, o->sidecar, &seed, wi, &descs[e],
                           e < o->topk ? &b_expert : &scratch, err);
        if (rc == HXQ_OK)
            rc = cuda_dmodel_put_table(dm, descs, E, &Lw->down, err);
        Lw->qkv_kind = Lw->o_kind = Lw->router_kind = HXQ_CUDA_HXQ;
        Lw->gate_up_kind = Lw->down_kind = HXQ_CUDA_HXQ;
    }
    void *p = NULL;
    if (rc == HXQ_OK)
        rc = cuda_dmodel_put_f32(dm, ones, H, &dm->final_norm, err);
    if (rc == HXQ_OK)
        rc = cuda_dmodel_alloc(dm, &p, (size_t)(o->vocab * H) * 2, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_fill_random(p, HXQ_CUDA_BF16, o->vocab * H, 7, 1.0f, NULL, err);
    dm->embed = p;
    dm->embed_kind = HXQ_CUDA_BF16;
    if (rc == HXQ_OK)
        rc = cuda_dmodel_alloc(dm, &p, (size_t)(o->vocab * H) * 2, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_fill_random(p, HXQ_CUDA_BF16, o->vocab * H, 8, ws, NULL, err);
    memset(&descs[0], 0, sizeof(descs[0]));
    descs[0].w = p;
    b_lm = (uint64_t)(o->vocab * H) * 2 + (uint64_t)H * 2; /* lm_head + one embedding row */
    if (rc == HXQ_OK)
        rc = cuda_dmodel_put_table(dm, descs, 1, &dm->lm_head, err);
    dm->lm_kind = HXQ_CUDA_BF16;
    if (rc == HXQ_OK)
        rc = hxq_cuda_stream_sync(NULL, err);
    dm->active_bytes = b_attn + b_router + b_expert + b_lm;
    printf("weights: attention %.1f MB, routers %.1f MB, experts (top-%lld) %.1f MB, "
           "lm_head+embedding row %.1f MB per token; %.2f GB on the device\n",
           b_attn / 1e6, b_router / 1e6, (long long)o->topk, b_expert / 1e6, b_lm / 1e6,
           (double)(b_attn + b_router + b_expert + b_lm + scratch) / 1e9);
    free(ones);
    free(descs);
    return rc;
}

/* Device-to-device copy bandwidth in bytes/s, (read + write) / time. */
static int copy_bandwidth(int64_t mib, double *bw, hxq_error *err)
{
    const size_t bytes = (size_t)mib << 20;
    void *a = NULL, *b = NULL, *st = NULL, *e0 = NULL, *e1 = NULL;
    float ms = 0.0f;
    int rc = hxq_cuda_alloc(&a, bytes, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_alloc(&b, bytes, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_fill_random(a, HXQ_CUDA_U8, (int64_t)bytes, 3, 0.0f, NULL, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_stream_sync(NULL, err); /* the copies run on another stream */
    if (rc == HXQ_OK)
        rc = hxq_cuda_stream_create(&st, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_event_create(&e0, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_event_create(&e1, err);
    for (int i = 0; i < 3 && rc == HXQ_OK; i++) /* warm-up */
        rc = hxq_cuda_copy_async(b, a, bytes, st, err);
    const int reps = 20;
    if (rc == HXQ_OK)
        rc = hxq_cuda_event_record(e0, st, err);
    for (int i = 0; i < reps && rc == HXQ_OK; i++)
        rc = hxq_cuda_copy_async(i % 2 ? a : b, i % 2 ? b : a, bytes, st, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_event_record(e1, st, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_event_elapsed_ms(e0, e1, &ms, err);
    if (rc == HXQ_OK)
        *bw = 2.0 * (double)bytes * reps / (ms * 1e-3);
    hxq_cuda_event_destroy(e0);
    hxq_cuda_event_destroy(e1);
    hxq_cuda_stream_destroy(st);
    hxq_cuda_free(a);
    hxq_cuda_free(b);
    return rc;
}

/* tok/s of `n` one-token steps from position *pos; checks the logits. */
static int decode_rate(cuda_run *r, int64_t n, int64_t *pos, float *logits, double *tps,
                       hxq_error *err)
{
    cuda_forward_out out = {logits, 0, NULL, NULL};
    const int64_t V = cuda_run_model(r)->vocab;
    int32_t id = 17;
    double t0 = hxq_now();
    for (int64_t i = 0; i < n; i++) {
        HXQ_TRY(cuda_run_forward(r, &id, 1, (*pos)++, &out, err));
        id = (int32_t)((id * 7919 + 13) % V); /* a token stream that does not repeat */
    }
    double dt = hxq_now() - t0;
    for (int64_t v = 0; v < V; v++)
        if (!isfinite(logits[v]))
            return hxq_err(err, HXQ_ERR_VERIFY, "logit %lld is not finite", (long long)v);
    *tps = (double)n / dt;
    return HXQ_OK;
}

/* ---- per-op breakdown ----------------------------------------------------- */

enum { OP_QKV, OP_QKR, OP_ATTN, OP_O, OP_ROUTER, OP_TOPK, OP_GATE_UP, OP_DOWN, OP_WADD,
       OP_LM_HEAD, OP_EMBED, OP_COUNT };

static const char *const op_names[OP_COUNT] = {
    "q/k/v linear (norm)", "q/k norm + rope + kv", "attention", "o_proj (accumulate)",
    "router linear (norm)", "router top-k", "experts gate+up (norm)", "experts down (silu*up)",
    "experts weighted add", "lm_head BF16 (norm)", "embedding row"};

/* Scratch activations for launching single ops. */
typedef struct op_bufs {
    float *x, *qkv, *att, *rl, *topw, *gu, *ye, *logits, *kc, *vc;
    int32_t *ids, *step; /* ids: top_k experts; step: position, token id */
    int64_t ctx;
} op_bufs;

/* Launches op `op` of layer l once on stream st; *bytes = what it must read. */
static int op_launch(const cuda_dmodel *dm, const op_bufs *b, int op, int64_t l, void *st,
                     double *bytes, hxq_error *err)
{
    const cuda_layer_w *L = &dm->layers[l];
    const int64_t H = dm->hidden, I = dm->inter, E = dm->n_experts, K = dm->top_k;
    const int64_t V = dm->vocab;
    hxq_cuda_linear_args a;
    memset(&a, 0, sizeof(a));
    a.nsets = 1;
    a.nsel = 1;
    a.ntok = 1;
    a.norm_eps = dm->eps;
    a.x = b->x;
    a.x_tok = H;
    switch (op) {
    case OP_QKV:
        a.mats = L->qkv, a.kind = L->qkv_kind, a.rows = H, a.cols = H, a.nsel = 3;
        a.y = b->qkv, a.y_tok = 3 * H, a.y_grp = H, a.norm_w = L->attn_norm;
        *bytes = 3.0 * H * H;
        return hxq_cuda_linear(&a, st, err);
    case OP_QKR:
        *bytes = 3.0 * H * 4;
        return hxq_cuda_qk_norm_rope(b->qkv, 3 * H, L->q_norm, L->k_norm, dm->n_heads,
                                     dm->head_dim, dm->eps, dm->theta, b->kc + l * b->ctx * H,
                                     b->vc + l * b->ctx * H, 1, b->ctx, b->step, st, err);
    case OP_ATTN:
        *bytes = 2.0 * (double)b->ctx * H * 4;
        return hxq_cuda_attention(b->qkv, 3 * H, b->kc + l * b->ctx * H, b->vc + l * b->ctx * H,
                                  b->att, H, dm->n_heads, dm->n_kv_heads, dm->head_dim, 1,
                                  b->ctx, b->step, st, err);
    case OP_O:
        a.mats = L->o, a.kind = L->o_kind, a.rows = H, a.cols = H, a.x = b->att;
        a.y = b->x, a.y_tok = H, a.y_grp = H, a.accumulate = 1;
        *bytes = (double)H * H;
        return hxq_cuda_linear(&a, st, err);
    case OP_ROUTER:
        a.mats = L->router, a.kind = L->router_kind, a.rows = E, a.cols = H;
        a.y = b->rl, a.y_tok = E, a.y_grp = E, a.norm_w = L->ffn_norm;
        *bytes = (double)E * H;
        return hxq_cuda_linear(&a, st, err);
    case OP_TOPK:
        *bytes = (double)E * 4;
        return hxq_cuda_router_topk(b->rl, 1, E, K, 0, b->ids, b->topw, st, err);
    case OP_GATE_UP:
        a.mats = L->gate_up, a.kind = L->gate_up_kind, a.rows = I, a.cols = H;
        a.nsets = 2, a.set_stride = E, a.sel = b->ids, a.nsel = (int)K;
        a.y = b->gu, a.y_tok = 2 * K * I, a.y_grp = I, a.norm_w = L->ffn_norm;
        *bytes = 2.0 * K * I * H;
        return hxq_cuda_linear(&a, st, err);
    case OP_DOWN:
        a.mats = L->down, a.kind = L->down_kind, a.rows = H, a.cols = I;
        a.set_stride = E, a.sel = b->ids, a.nsel = (int)K;
        a.x = b->gu, a.x_tok = 2 * K * I, a.x_grp = I, a.x_up = K * I;
        a.y = b->ye, a.y_tok = K * H, a.y_grp = H;
        *bytes = (double)K * H * I;
        return hxq_cuda_linear(&a, st, err);
    case OP_WADD:
        *bytes = (double)K * H * 4;
        return hxq_cuda_weighted_add(b->ye, b->topw, b->x, 1, K, H, st, err);
    case OP_LM_HEAD:
        a.mats = dm->lm_head, a.kind = dm->lm_kind, a.rows = V, a.cols = H;
        a.y = b->logits, a.y_tok = V, a.y_grp = V, a.norm_w = dm->final_norm;
        *bytes = 2.0 * V * H;
        return hxq_cuda_linear(&a, st, err);
    default:
        *bytes = 2.0 * H;
        return hxq_cuda_embed(dm->embed_kind, dm->embed, V, H, b->step + 1, 1, b->x, st, err);
    }
}

/* Seconds per launch of each op (lm_head and embedding once per token, the
 * rest once per layer), into sec[] and bytes[]. */
static int op_times(const cuda_dmodel *dm, const op_bufs *b, int64_t reps, double *sec,
                    double *bytes, hxq_error *err)
{
    void *st = NULL, *e0 = NULL, *e1 = NULL;
    int rc = hxq_cuda_stream_create(&st, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_event_create(&e0, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_event_create(&e1, err);
    /* a warm-up pass of every op also fills q/k/v, the router ids and gate/up */
    static const int order[OP_COUNT] = {OP_EMBED, OP_QKV,  OP_QKR,     OP_ATTN,
                                        OP_O,     OP_ROUTER, OP_TOPK,  OP_GATE_UP,
                                        OP_DOWN,  OP_WADD, OP_LM_HEAD};
    for (int i = 0; i < OP_COUNT && rc == HXQ_OK; i++)
        rc = op_launch(dm, b, order[i], 0, st, &bytes[order[i]], err);
    for (int op = 0; op < OP_COUNT && rc == HXQ_OK; op++) {
        const int64_t layers = op == OP_LM_HEAD || op == OP_EMBED ? 1 : dm->n_layers;
        float ms = 0.0f;
        rc = hxq_cuda_event_record(e0, st, err);
        for (int64_t r = 0; r < reps && rc == HXQ_OK; r++)
            for (int64_t l = 0; l < layers && rc == HXQ_OK; l++)
                rc = op_launch(dm, b, op, l, st, &bytes[op], err);
        if (rc == HXQ_OK)
            rc = hxq_cuda_event_record(e1, st, err);
        if (rc == HXQ_OK)
            rc = hxq_cuda_event_elapsed_ms(e0, e1, &ms, err);
        sec[op] = (double)ms * 1e-3 / (double)(reps * layers);
    }
    if (rc == HXQ_OK)
        rc = hxq_cuda_stream_sync(st, err);
    hxq_cuda_event_destroy(e0);
    hxq_cuda_event_destroy(e1);
    hxq_cuda_stream_destroy(st);
    return rc;
}

/* Allocates the scratch of op_times() at context length ctx, runs it and
 * prints the table; step_s is the measured one-token step. */
static int op_breakdown(const cuda_dmodel *dm, int64_t ctx, int64_t reps, double bw,
                        double step_s, hxq_error *err)
{
    const int64_t H = dm->hidden, I = dm->inter, E = dm->n_experts, K = dm->top_k;
    const int64_t V = dm->vocab, NL = dm->n_layers;
    op_bufs b;
    memset(&b, 0, sizeof(b));
    b.ctx = ctx;
    struct {
        void **p;
        int64_t n;
        int is_float; /* filled with small finite values; int32 ones are set by ops */
    } want[] = {{(void **)&b.x, H, 1},          {(void **)&b.qkv, 3 * H, 1},
                {(void **)&b.att, H, 1},        {(void **)&b.rl, E, 1},
                {(void **)&b.topw, K, 1},       {(void **)&b.gu, 2 * K * I, 1},
                {(void **)&b.ye, K * H, 1},     {(void **)&b.logits, V, 1},
                {(void **)&b.kc, NL * ctx * H, 1}, {(void **)&b.vc, NL * ctx * H, 1},
                {(void **)&b.ids, K, 0},        {(void **)&b.step, 2, 0}};
    int rc = HXQ_OK;
    const int nwant = (int)(sizeof(want) / sizeof(want[0]));
    for (int i = 0; i < nwant && rc == HXQ_OK; i++) {
        rc = hxq_cuda_alloc(want[i].p, (size_t)want[i].n * 4, err);
        if (rc == HXQ_OK && want[i].is_float)
            rc = hxq_cuda_fill_random(*want[i].p, HXQ_CUDA_F32, want[i].n, 100 + (uint64_t)i,
                                      0.5f, NULL, err);
    }
    const int32_t step[2] = {(int32_t)(ctx - 1), 17}; /* attend over the whole cache */
    if (rc == HXQ_OK)
        rc = hxq_cuda_stream_sync(NULL, err);
    if (rc == HXQ_OK)
        rc = hxq_cuda_upload(b.step, step, sizeof(step), err);
    double sec[OP_COUNT] = {0}, bytes[OP_COUNT] = {0};
    if (rc == HXQ_OK)
        rc = op_times(dm, &b, reps, sec, bytes, err);
    for (int i = 0; i < nwant; i++)
        hxq_cuda_free(*want[i].p);
    if (rc < 0)
        return rc;
    printf("per-op breakdown (each op alone, %lld reps over the layers' weights, attention "
           "over %lld cached tokens):\n",
           (long long)reps, (long long)ctx);
    printf("  %-26s %9s %7s %10s %8s %8s\n", "op", "us/launch", "/token", "us/token",
           "GB/s", "% copy");
    double total = 0.0;
    for (int op = 0; op < OP_COUNT; op++) {
        const int64_t per_tok = op == OP_LM_HEAD || op == OP_EMBED ? 1 : NL;
        const double gbs = bytes[op] / sec[op];
        total += sec[op] * (double)per_tok;
        printf("  %-26s %9.2f %7lld %10.1f %8.0f %7.1f%%\n", op_names[op], sec[op] * 1e6,
               (long long)per_tok, sec[op] * 1e6 * (double)per_tok, gbs / 1e9,
               100.0 * gbs / bw);
    }
    printf("  sum of ops per token: %.1f us; measured step (graph): %.1f us; difference "
           "(launch gaps, copies, sync): %.1f us\n",
           total * 1e6, step_s * 1e6, (step_s - total) * 1e6);
    return HXQ_OK;
}

static int64_t arg_i64(int argc, char **argv, const char *name, int64_t def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return strtoll(argv[i + 1], NULL, 10);
    return def;
}

int main(int argc, char **argv)
{
    bench_opts o = {
        arg_i64(argc, argv, "--layers", 16),  arg_i64(argc, argv, "--hidden", 2048),
        arg_i64(argc, argv, "--inter", 1024), arg_i64(argc, argv, "--experts", 64),
        arg_i64(argc, argv, "--topk", 8),     arg_i64(argc, argv, "--vocab", 50304),
        arg_i64(argc, argv, "--heads", 16),   arg_i64(argc, argv, "--tokens", 256),
        arg_i64(argc, argv, "--sidecar", 256), arg_i64(argc, argv, "--copy-mib", 1024),
        arg_i64(argc, argv, "--ops", 1),      arg_i64(argc, argv, "--op-reps", 20)};
    hxq_error err;
    err.msg[0] = '\0';
    int ndev = 0;
    hxq_cuda_device_count(&ndev, &err);
    if (ndev < 1) {
        printf("bench_gpu: skipped: %s\n", err.msg[0] ? err.msg : "no CUDA device");
        return 0;
    }
    char name[256];
    int sms = 0;
    if (hxq_cuda_device_info(name, sizeof(name), &sms, &err) < 0 || hxq_cuda_prepare(&err) < 0) {
        fprintf(stderr, "bench_gpu: %s\n", err.msg);
        return 1;
    }
    printf("device: %s (%d SMs)\n", name, sms);
    printf("model: %lld layers, hidden %lld, %lld experts top-%lld, inter %lld, vocab %lld, "
           "%lld sidecar entries per expert matrix\n",
           (long long)o.layers, (long long)o.hidden, (long long)o.experts, (long long)o.topk,
           (long long)o.inter, (long long)o.vocab, (long long)o.sidecar);
    double bw = 0.0, tps_graph = 0.0, tps_plain = 0.0;
    if (copy_bandwidth(o.copy_mib, &bw, &err) < 0) {
        fprintf(stderr, "bench_gpu: copy bandwidth: %s\n", err.msg);
        return 1;
    }
    cuda_dmodel dm;
    cuda_run *r = NULL;
    float *logits = malloc((size_t)o.vocab * sizeof(float));
    int64_t pos = 0;
    double t0 = hxq_now();
    int rc = logits ? synth_model(&o, &dm, &err) : hxq_err(&err, HXQ_ERR_NOMEM, "out of memory");
    const uint64_t active = dm.active_bytes;
    if (rc == HXQ_OK)
        printf("synthesised in %.1f s\n", hxq_now() - t0);
    if (rc == HXQ_OK)
        rc = cuda_run_create(&dm, 16 + 2 * o.tokens + 16, 1, &r, &err);
    else
        cuda_dmodel_free(&dm);
    double warm = 0.0;
    if (rc == HXQ_OK)
        rc = decode_rate(r, 8, &pos, logits, &warm, &err); /* capture + warm-up */
    int captured = 0;
    if (rc == HXQ_OK)
        rc = decode_rate(r, o.tokens, &pos, logits, &tps_graph, &err);
    if (rc == HXQ_OK)
        captured = cuda_run_graph_captured(r);
    if (rc == HXQ_OK) {
        cuda_run_set_graph(r, 0);
        rc = decode_rate(r, o.tokens, &pos, logits, &tps_plain, &err);
    }
    free(logits);
    if (rc < 0) {
        cuda_run_free(r);
        fprintf(stderr, "bench_gpu: %s\n", err.msg);
        return 1;
    }
    const double fig = (double)active * tps_graph / bw;
    printf("copy bandwidth (device to device, read+write): %.0f GB/s\n", bw / 1e9);
    printf("weight bytes read per token: %.3f GB\n", active / 1e9);
    printf("decode graph: %s\n", captured ? "captured" : "capture FAILED (direct launches)");
    printf("decode, batch 1, %lld tokens: %.1f tok/s (%.1f us/token) with the CUDA graph, "
           "%.1f tok/s without\n",
           (long long)o.tokens, tps_graph, 1e6 / tps_graph, tps_plain);
    printf("bandwidth bound: %.1f tok/s\n", bw / (double)active);
    printf("figure = bytes/token x tok/s / copy bandwidth = %.1f%% (target >= 40%%) %s\n",
           100.0 * fig, fig >= 0.40 ? "MET" : "NOT MET");
    fflush(stdout);
    if (o.ops)
        rc = op_breakdown(cuda_run_model(r), 16 + o.tokens, o.op_reps < 1 ? 1 : o.op_reps, bw,
                          1.0 / tps_graph, &err);
    cuda_run_free(r);
    if (rc < 0) {
        fprintf(stderr, "bench_gpu: per-op breakdown: %s\n", err.msg);
        return 1;
    }
    return 0;
}

#else /* !HXQ_HAVE_CUDA */

int main(void)
{
    printf("bench_gpu: skipped: hxq was built without CUDA\n");
    return 0;
}

#endif
