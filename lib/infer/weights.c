/* weights.c - reading rows of a weight in any storage kind, and the
 * Linear op of the CPU backend (matrix-vector or tiled sgemm). */
#include "cpu_int.h"

#include <cblas.h>
#include <string.h>

/* Rows [r0, r1) of w as float into out[(r1 - r0) * cols]. */
static void decode_rows(const hxq_linear *w, int64_t r0, int64_t r1, float *out)
{
    int64_t n = (r1 - r0) * w->cols;
    switch (w->kind) {
    case HXQ_WEIGHT_F32:
        memcpy(out, (const float *)w->data + r0 * w->cols, (size_t)n * sizeof(float));
        break;
    case HXQ_WEIGHT_BF16: {
        const uint16_t *p = (const uint16_t *)w->data + r0 * w->cols;
        if (hxq_cpu_has_avx2()) {
            infer_widen_bf16_avx2(p, n, out);
            break;
        }
        for (int64_t i = 0; i < n; i++)
            out[i] = hxq_bf16_to_f32(p[i]);
        break;
    }
    case HXQ_WEIGHT_F16: {
        const uint16_t *p = (const uint16_t *)w->data + r0 * w->cols;
        if (hxq_cpu_has_avx2()) {
            infer_widen_f16_avx2(p, n, out);
            break;
        }
        for (int64_t i = 0; i < n; i++)
            out[i] = hxq_f16_to_f32(p[i]);
        break;
    }
    case HXQ_WEIGHT_HXQ:
        hxq_codec_decode_f32(&w->q, r0, r1, out);
        break;
    }
}

void hxq_linear_row_f32(const hxq_linear *w, int64_t r, float *out)
{
    decode_rows(w, r, r + 1, out);
}

#define MATVEC_CHUNK_WEIGHTS (128 * 1024)

typedef struct linear_job {
    cpu_state *s;
    const hxq_linear *w;
    const float *x;
    int64_t n;
    float *y;
    int64_t ldy;
} linear_job;

void cpu_matvec(const hxq_linear *w, const float *x, float *y, int64_t r0, int64_t r1)
{
    switch (w->kind) {
    case HXQ_WEIGHT_F32:
        hxq_matvec_f32(w->data, w->cols, x, y, r0, r1);
        break;
    case HXQ_WEIGHT_BF16:
        hxq_matvec_bf16(w->data, w->cols, x, y, r0, r1);
        break;
    case HXQ_WEIGHT_HXQ:
        hxq_matvec_hxq(&w->q, x, y, r0, r1);
        break;
    case HXQ_WEIGHT_F16:
        hxq_matvec_f16(w->data, w->cols, x, y, r0, r1);
        break;
    }
}

void cpu_matvec_multi(const hxq_linear *w, const float *x, int64_t ldx, float *y,
                      int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    switch (w->kind) {
    case HXQ_WEIGHT_F32:
        hxq_matvec_f32_multi(w->data, w->cols, x, ldx, y, ldy, n, r0, r1);
        break;
    case HXQ_WEIGHT_BF16:
        hxq_matvec_bf16_multi(w->data, w->cols, x, ldx, y, ldy, n, r0, r1);
        break;
    case HXQ_WEIGHT_HXQ:
        hxq_matvec_hxq_multi(&w->q, x, ldx, y, ldy, n, r0, r1);
        break;
    case HXQ_WEIGHT_F16:
        hxq_matvec_f16_multi(w->data, w->cols, x, ldx, y, ldy, n, r0, r1);
        break;
    }
}

/* Rows [b, e) of every token with the matrix-vector kernels, each weight
 * read once for all tokens. */
static void matvec_rows(void *ctx, int64_t b, int64_t e, int tid)
{
    const linear_job *j = ctx;
    cpu_matvec_multi(j->w, j->x, j->w->cols, j->y + b, j->ldy, j->n, b, e);
}

/* n > 1: tiles [b, e) of INFER_TILE_ROWS rows: decode, then sgemm. */
static void gemm_tiles(void *ctx, int64_t b, int64_t e, int tid)
{
    const linear_job *j = ctx;
    const hxq_linear *w = j->w;
    for (int64_t t = b; t < e; t++) {
        int64_t r0 = t * INFER_TILE_ROWS;
        int64_t r1 = r0 + INFER_TILE_ROWS < w->rows ? r0 + INFER_TILE_ROWS : w->rows;
        const float *tile;
        if (w->kind == HXQ_WEIGHT_F32) {
            tile = (const float *)w->data + r0 * w->cols;
        } else {
            decode_rows(w, r0, r1, j->s->tile[tid]);
            tile = j->s->tile[tid];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->n, (int)(r1 - r0),
                    (int)w->cols, 1.0f, j->x, (int)w->cols, tile, (int)w->cols, 0.0f,
                    j->y + r0, (int)j->ldy);
    }
}

/* Up to this many tokens a Linear runs the multi-token matrix-vector
 * kernels rather than tiles + sgemm: `bench_kernels DIR 0 5 gemm` (one
 * thread, OLMoE's 64 gate_proj matrices of a layer) measured them equally
 * fast at 12-16 tokens and the matrix-vector kernels 1.3-3x faster below,
 * HXQ and BF16 alike (sgemm's packing dominates at small M). It matters for
 * the experts of a prompt that few of its tokens chose, and for short
 * prompts. A fixed count, so the result does not depend on the threads. */
#define LINEAR_MATVEC_TOKENS 12

void cpu_linear(cpu_state *s, const hxq_linear *w, const float *x, int64_t n, float *y,
                int64_t ldy)
{
    linear_job j = {s, w, x, n, y, ldy};
    if (n <= LINEAR_MATVEC_TOKENS || s->each_token) {
        /* chunks of about 128K weights: small enough that the threads end
         * together (a quarter of lm_head per thread left one waiting for
         * the other for milliseconds), large enough that the shared
         * counter costs nothing; a matrix of one chunk (the router) runs
         * on the caller without waking the pool */
        int64_t chunk = MATVEC_CHUNK_WEIGHTS / (w->cols > 0 ? w->cols : 1);
        if (chunk < 16)
            chunk = 16;
        hxq_pool_run(s->pool, w->rows, chunk, matvec_rows, &j);
        return;
    }
    int64_t tiles = (w->rows + INFER_TILE_ROWS - 1) / INFER_TILE_ROWS;
    hxq_pool_run(s->pool, tiles, 1, gemm_tiles, &j);
}
