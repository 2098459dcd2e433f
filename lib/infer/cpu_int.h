/* cpu_int.h - private to the infer module: the CPU backend's state and
 * the ops the forward pass is built from (one file per op). */
#ifndef HXQ_CPU_INT_H
#define HXQ_CPU_INT_H

#include "infer_int.h"

/* Buffers are allocated once by the backend's create(); B = max_batch. */
struct cpu_state {
    const hxq_model *m;
    hxq_pool *pool;
    int nthreads;
    int64_t max_ctx, max_batch;
    int n_seq;
    int64_t qw, kw;            /* query width heads x hd, kv width kv_heads x hd */
    float *kc, *vc;            /* [n_layers, n_seq, max_ctx, kw] after norm + RoPE */
    /* the current call: its parts, and per token its position (B) */
    const hxq_backend_batch *batch;
    int64_t *first;            /* [n_seq] each part's first token            */
    int64_t *tpos;
    int each_token;            /* 1: every part has one token (a decode step):
                                  Linears run the matrix-vector kernels per
                                  token, so each token's result is that of a
                                  lone decode                               */
    float *rope_cos, *rope_sin; /* [max_ctx, head_dim / 2]                   */
    float *x, *a, *tmp;        /* [B, H]                                    */
    float *q, *att;            /* [B, qw]                                   */
    float *k, *v;              /* [B, kw]                                   */
    float *rl;                 /* router logits [B, E]                      */
    int32_t *sel;              /* chosen experts [B, top_k]                 */
    float *selw;               /* their weights [B, top_k]                  */
    int32_t *etok;             /* tokens routed to one expert [B]           */
    float *ew;                 /* their weights [B]                         */
    float *ex, *eg, *eu, *ed;  /* expert input [B, H], gate/up [B, I], out [B, H] */
    float *dg, *du;            /* decode: gate/up per slot [B, top_k, I]    */
    /* decode steps (at most D = min(n_seq, B) tokens): the (token, choice)
       pairs ordered by expert are "slots" (moe.c)                          */
    float *dx, *dd;            /* per slot: expert input, down output [D * top_k, H] */
    int32_t *dpair, *dslot;    /* slot -> pair t * top_k + c, and back [D * top_k] */
    int64_t *dgroup;           /* first slot of each expert's group, + end  */
    float *lg;                 /* logits of a decode step [D, V]; NULL when n_seq is 1 */
    float **tile;              /* per thread [INFER_TILE_ROWS * max cols]   */
    float **scores;            /* per thread [max_batch, max_ctx]           */
};
typedef struct cpu_state cpu_state;

/* y[r - r0] = (W x)[r] for rows [r0, r1) of any storage kind. */
void cpu_matvec(const hxq_linear *w, const float *x, float *y, int64_t r0, int64_t r1);

/* The same for n tokens x [n, ldx] into y [n, ldy] (y[t * ldy + r - r0]):
 * each weight is read once for all of them, each token's result is
 * bit-identical to cpu_matvec of that token alone. */
void cpu_matvec_multi(const hxq_linear *w, const float *x, int64_t ldx, float *y,
                      int64_t ldy, int64_t n, int64_t r0, int64_t r1);

/* y[n, w->rows] (row stride ldy) = x[n, w->cols] W^T. A few tokens
 * (LINEAR_MATVEC_TOKENS in weights.c), or any n in a decode step of several
 * sequences (s->each_token), run the matrix-vector kernels over row blocks
 * for all tokens at once (cpu_matvec_multi: each token's result as if
 * alone); otherwise tiles of INFER_TILE_ROWS rows are decoded to float and
 * multiplied with sgemm. */
void cpu_linear(cpu_state *s, const hxq_linear *w, const float *x, int64_t n, float *y,
                int64_t ldy);

/* Sequence seq's key and value cache of layer l: [max_ctx, kw] each. */
float *cpu_kcache(const cpu_state *s, int64_t l, int seq);
float *cpu_vcache(const cpu_state *s, int64_t l, int seq);

/* y[n, w] += bias[w] for each row; bias NULL: nothing. */
void cpu_add_bias(float *y, const float *bias, int64_t n, int64_t w);

/* out[n, h] = rmsnorm of each row of x with weight w (out may be x). */
void cpu_rmsnorm(const float *x, const float *w, int64_t n, int64_t h, double eps,
                 float *out);

/* Attention of layer l for the n tokens of the current batch (s->batch,
 * each part at its sequence's positions): a holds the normed input [n, H];
 * fills the caches and writes the concatenated heads (before o_proj) to
 * out [n, qw]. */
void cpu_attention(cpu_state *s, int64_t l, const float *a, int64_t n, float *out);

/* MLP of layer l: m [n, H] normed input; adds the expert mix (a dense
 * model: its one MLP) into x [n, H]; MoE router logits (before softmax) to
 * router [n, E] when not NULL. */
void cpu_moe(cpu_state *s, int64_t l, const float *m, int64_t n, float *x, float *router);

#endif
