/*
 * hxq_cuda.h - the CUDA kernels of the OLMoE forward pass, as a plain C API
 * (lib/infer's CUDA backend is the caller).
 *
 * Every entry point validates its arguments, enqueues its kernel(s) on
 * `stream` (a cudaStream_t passed as void*, NULL = the default stream),
 * checks the launch and returns HXQ_OK or a negative status: HXQ_ERR_INVALID
 * for a bad argument (nothing is launched), HXQ_ERR_DEVICE for a CUDA
 * error (the message names the op and CUDA's error string). Nothing
 * aborts or prints. Entries never synchronize, so a sequence of them can be
 * captured into a CUDA graph; positions are read from device memory
 * (`d_pos`) for the same reason.
 *
 * Pointers named d_* or documented as "device" are device memory; all
 * activations are float32, row-major, with explicit row strides (in
 * elements). This header only exists in builds with nvcc (HXQ_HAVE_CUDA);
 * callers guard their use of it with #ifdef HXQ_HAVE_CUDA.
 *
 * Thread-safety: entries are reentrant; ordering is the stream's.
 */
#ifndef HXQ_CUDA_H
#define HXQ_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "hxq_common.h"

/* ---- runtime ------------------------------------------------------------- */

/*! hxq_cuda_device_count() :
 *  *count = number of usable CUDA devices. A missing driver or no device is
 *  not an error: *count = 0 and HXQ_OK, with the reason in err->msg (when
 *  err is given) so a caller can say why it skips.
 *  @return HXQ_OK, or HXQ_ERR_INVALID when count is NULL. */
int hxq_cuda_device_count(int *count, hxq_error *err);

/*! hxq_cuda_device_info() : name of device 0 into name[len] and its
 *  multiprocessor count. @return HXQ_OK or HXQ_ERR_DEVICE. */
int hxq_cuda_device_info(char *name, size_t len, int *sm_count, hxq_error *err);

/*! hxq_cuda_prepare() :
 *  Raises the dynamic shared-memory limit of the kernels that may need more
 *  than 48 KB to the device's opt-in maximum. Call once per process before
 *  launching (it is not done inside entries, which may be graph-captured).
 *  @return HXQ_OK or HXQ_ERR_DEVICE. */
int hxq_cuda_prepare(hxq_error *err);

/*! hxq_cuda_alloc() / hxq_cuda_free() : device memory (cudaMalloc: at least
 *  256-byte aligned). bytes == 0 allocates nothing and sets *ptr = NULL.
 *  free(NULL) is a no-op. */
int hxq_cuda_alloc(void **ptr, size_t bytes, hxq_error *err);
void hxq_cuda_free(void *ptr);

/*! hxq_cuda_host_alloc() / hxq_cuda_host_free() : page-locked host memory
 *  (for copies that run inside a decode step without a host sync). */
int hxq_cuda_host_alloc(void **ptr, size_t bytes, hxq_error *err);
void hxq_cuda_host_free(void *ptr);

/*! hxq_cuda_upload() / hxq_cuda_download() : synchronous copies (complete,
 *  and visible to every stream, when they return). Not inside a capture. */
int hxq_cuda_upload(void *d_dst, const void *src, size_t bytes, hxq_error *err);
int hxq_cuda_download(void *dst, const void *d_src, size_t bytes, hxq_error *err);

/*! hxq_cuda_copy_async() : cudaMemcpyAsync with cudaMemcpyDefault (host,
 *  pinned or device pointers, unified addressing). */
int hxq_cuda_copy_async(void *dst, const void *src, size_t bytes, void *stream,
                        hxq_error *err);

/*! hxq_cuda_memset_async() : bytes of d_ptr set to `value`. */
int hxq_cuda_memset_async(void *d_ptr, int value, size_t bytes, void *stream, hxq_error *err);

/*! hxq_cuda_stream_create() / _destroy() / _sync() : a non-blocking stream;
 *  _sync waits for it and reports any asynchronous error. */
int hxq_cuda_stream_create(void **stream, hxq_error *err);
void hxq_cuda_stream_destroy(void *stream);
int hxq_cuda_stream_sync(void *stream, hxq_error *err);

/*! hxq_cuda_graph_begin() / _end() : capture the launches enqueued on
 *  `stream` between the two calls (thread-local capture mode) into an
 *  executable graph *exec. _end always ends the capture; on failure *exec
 *  is NULL. _launch replays it on `stream`; _free releases it (NULL ok). */
int hxq_cuda_graph_begin(void *stream, hxq_error *err);
int hxq_cuda_graph_end(void *stream, void **exec, hxq_error *err);
int hxq_cuda_graph_launch(void *exec, void *stream, hxq_error *err);
void hxq_cuda_graph_free(void *exec);

/*! hxq_cuda_event_create() / _record() / _elapsed_ms() / _destroy() :
 *  timing events. _elapsed_ms synchronizes on `end`. */
int hxq_cuda_event_create(void **ev, hxq_error *err);
int hxq_cuda_event_record(void *ev, void *stream, hxq_error *err);
int hxq_cuda_event_elapsed_ms(void *start, void *end, float *ms, hxq_error *err);
void hxq_cuda_event_destroy(void *ev);

/*! hxq_cuda_fill_random() :
 *  Fills d_ptr[n] with deterministic pseudo-random values (a hash of seed
 *  and the element index), for synthetic weights: kind HXQ_CUDA_U8 gives
 *  bytes in [0, 256); HXQ_CUDA_F32 / BF16 / F16 give values uniform in
 *  [-scale, scale). @return HXQ_OK, HXQ_ERR_INVALID, HXQ_ERR_DEVICE. */
int hxq_cuda_fill_random(void *d_ptr, int kind, int64_t n, uint64_t seed, float scale,
                         void *stream, hxq_error *err);

/* ---- weights --------------------------------------------------------------- */

/* How a matrix is stored on the device. The values of the dense kinds
 * match hxq_weight_kind of hxq_infer.h; HXQ_CUDA_U8 only names the element
 * type of hxq_cuda_fill_random(). */
typedef enum {
    HXQ_CUDA_F32 = 0,
    HXQ_CUDA_BF16 = 1,
    HXQ_CUDA_F16 = 2,
    HXQ_CUDA_HXQ = 3,
    HXQ_CUDA_U8 = 4
} hxq_cuda_kind;

/* One matrix W [rows, cols] (y = W x) in device memory, in its stored form.
 * Dense kinds: w holds rows*cols elements. HXQ: w holds rows*cols uint8
 * indices, codebook 256 floats, and the sidecar in compressed-row form:
 * entries sc_rowptr[r] .. sc_rowptr[r+1]-1 belong to row r, each a column
 * sc_col[e] and delta sc_delta[e] = exact value - codebook[index], so that
 *     W[r, c] = codebook[indices[r, c]] + (delta of (r, c) if listed).
 * sc_rowptr is NULL when the matrix has no sidecar. w must be 16-byte
 * aligned. Tables of these structs live in device memory. */
typedef struct hxq_cuda_mat {
    const void *w;
    const float *codebook;
    const int32_t *sc_rowptr;
    const int32_t *sc_col;
    const float *sc_delta;
} hxq_cuda_mat;

/* ---- linear layers ----------------------------------------------------------
 * A grouped matrix-vector product. Groups g = s * nsel + j (s < nsets,
 * j < nsel) each multiply one matrix of the device table `mats` with one
 * input vector, for every token t < ntok:
 *     matrix  mats[s * set_stride + (sel ? sel[t * nsel + j] : j)]
 *     input   x + t * x_tok + g * x_grp            [cols]
 *     output  y + t * y_tok + g * y_grp            [rows]
 *     y = W x  (or y += W x when accumulate)
 * Every matrix of one call has the same kind, rows and cols. Examples:
 * q/k/v as one call (table [3], nsel 3); the selected experts' gate and up
 * projections (table [gate 0..E-1, up E..2E-1], nsets 2, set_stride E,
 * sel = the top-k ids). Without sel, several tokens share each weight read
 * (a batched LUT kernel, 4 tokens per block); with sel each token reads
 * its own experts. fp32 accumulation; the sum order is fixed, so results
 * are deterministic.
 * Prologues applied to each staged input vector, in this order:
 *     x_up > 0:  x[c] = silu(x[c]) * x[c + x_up]   (a gate/up pair)
 *     norm_w:    x = norm_w * x / sqrt(mean(x^2) + norm_eps)  (RMSNorm) */
typedef struct hxq_cuda_linear_args {
    const hxq_cuda_mat *mats;   /* device table                              */
    int kind;                   /* hxq_cuda_kind except HXQ_CUDA_U8          */
    int64_t rows, cols;
    int nsets;                  /* >= 1                                      */
    int64_t set_stride;
    const int32_t *sel;         /* device [ntok * nsel] or NULL              */
    int nsel;                   /* >= 1                                      */
    int64_t ntok;               /* >= 1                                      */
    const float *x;
    int64_t x_tok, x_grp;
    float *y;
    int64_t y_tok, y_grp;
    int accumulate;
    const float *norm_w;        /* device [cols] or NULL                     */
    float norm_eps;
    int64_t x_up;               /* 0, or the offset of "up" from "gate"      */
} hxq_cuda_linear_args;

/*! hxq_cuda_linear() : the grouped product above.
 *  @return HXQ_OK, HXQ_ERR_INVALID (NULL pointer, size < 1, cols over
 *  INT32_MAX, groups or tokens over the grid limit), HXQ_ERR_DEVICE. */
int hxq_cuda_linear(const hxq_cuda_linear_args *a, void *stream, hxq_error *err);

/* ---- normalisation, position, attention ---------------------------------- */

/*! hxq_cuda_rmsnorm() :
 *  y[r] = w * x[r] / sqrt(mean(x[r]^2) + eps) for rows r < nrows of `dim`
 *  elements (x row r at x + r * x_stride, y at y + r * y_stride; y may be
 *  x). Also the full-width q/k norm (dim = hidden). w is device [dim]. */
int hxq_cuda_rmsnorm(const float *x, int64_t x_stride, const float *w, float *y,
                     int64_t y_stride, int64_t nrows, int64_t dim, float eps, void *stream,
                     hxq_error *err);

/*! hxq_cuda_rope_neox() :
 *  NeoX (rotate_half) rotary embedding in place on q (nq_heads heads) and
 *  k (nk_heads heads) of ntok tokens; token t is at position *d_pos + t
 *  and its q/k rows start at q + t * q_stride, k + t * k_stride. Pairs
 *  dimension i with i + head_dim/2; inv_freq_i = theta^(-2i/head_dim) in
 *  float, as transformers computes it. head_dim must be even. */
int hxq_cuda_rope_neox(float *q, int64_t q_stride, int64_t nq_heads, float *k,
                       int64_t k_stride, int64_t nk_heads, int64_t head_dim, int64_t ntok,
                       const int32_t *d_pos, float theta, void *stream, hxq_error *err);

/*! hxq_cuda_kv_store() :
 *  Writes k and v of ntok tokens (kv_dim floats each, rows at k + t *
 *  k_stride, v + t * v_stride) into one layer's caches k_cache, v_cache
 *  [max_ctx, kv_dim] at rows *d_pos + t (rows >= max_ctx are skipped; the
 *  caller checks the context length). */
int hxq_cuda_kv_store(const float *k, int64_t k_stride, const float *v, int64_t v_stride,
                      float *k_cache, float *v_cache, int64_t kv_dim, int64_t ntok,
                      int64_t max_ctx, const int32_t *d_pos, void *stream, hxq_error *err);

/*! hxq_cuda_qk_norm_rope() :
 *  The fused attention prologue for n_heads == n_kv_heads: each token's row
 *  at qkv + t * stride holds q, k, v ([3, hidden], hidden = n_heads *
 *  head_dim). q = rope(rmsnorm(q, q_norm)) in place; rope(rmsnorm(k,
 *  k_norm)) and v go to row *d_pos + t of k_cache / v_cache [max_ctx,
 *  hidden] (rows >= max_ctx skipped). The same arithmetic as rmsnorm,
 *  rope_neox and kv_store in sequence. */
int hxq_cuda_qk_norm_rope(float *qkv, int64_t stride, const float *q_norm,
                          const float *k_norm, int64_t n_heads, int64_t head_dim, float eps,
                          float theta, float *k_cache, float *v_cache, int64_t ntok,
                          int64_t max_ctx, const int32_t *d_pos, void *stream, hxq_error *err);

/*! hxq_cuda_attention() :
 *  Causal softmax attention of ntok query tokens at positions *d_pos + t
 *  over one layer's caches (which already hold positions 0 .. *d_pos +
 *  ntok - 1): out[t, h] = softmax(q[t, h] . K^T / sqrt(head_dim)) V over
 *  keys 0 .. *d_pos + t, K and V of kv head h / (n_heads / n_kv_heads).
 *  q row t at q + t * q_stride, out row at out + t * out_stride.
 *  Needs 128 % head_dim == 0 and max_ctx <= HXQ_CUDA_MAX_CTX. */
#define HXQ_CUDA_MAX_CTX 32768
int hxq_cuda_attention(const float *q, int64_t q_stride, const float *k_cache,
                       const float *v_cache, float *out, int64_t out_stride, int64_t n_heads,
                       int64_t n_kv_heads, int64_t head_dim, int64_t ntok, int64_t max_ctx,
                       const int32_t *d_pos, void *stream, hxq_error *err);

/* ---- mixture of experts ------------------------------------------------------ */

/*! hxq_cuda_router_topk() :
 *  For each token: p = softmax(logits[t, 0..n_experts)) in fp32, then the
 *  top_k largest p (lowest index first on ties), written in descending
 *  order to ids[t * top_k + j] and weights[t * top_k + j]; the weights are
 *  divided by their sum only when norm_topk. n_experts <= 256. */
int hxq_cuda_router_topk(const float *logits, int64_t ntok, int64_t n_experts,
                         int64_t top_k, int norm_topk, int32_t *ids, float *weights,
                         void *stream, hxq_error *err);

/* Expert dispatch: only the selected experts run. */
typedef struct hxq_cuda_moe_args {
    const hxq_cuda_mat *gate_up;  /* device table [2E]: gate 0..E-1, up E..2E-1 */
    int gate_up_kind;
    const hxq_cuda_mat *down;     /* device table [E]                          */
    int down_kind;
    int64_t n_experts, top_k, hidden, inter, ntok;
    const int32_t *ids;           /* device [ntok, top_k] (router_topk)        */
    const float *weights;         /* device [ntok, top_k]                      */
    const float *x;               /* [ntok, hidden] input                      */
    float *gu;                    /* scratch [ntok, 2 top_k, inter]            */
    float *ye;                    /* scratch [ntok, top_k, hidden]             */
    float *out;                   /* [ntok, hidden]: += sum_j w_j down(...)    */
    const float *norm_w;          /* device [hidden]: RMSNorm of x first, or NULL */
    float norm_eps;
} hxq_cuda_moe_args;

/*! hxq_cuda_moe() :
 *  out[t] += sum_j weights[t, j] * down_e(silu(gate_e(n[t])) * up_e(n[t]))
 *  with e = ids[t, j], summed in j order, n = RMSNorm(x, norm_w) (or x
 *  when norm_w is NULL). Three launches: the grouped gate/up product (norm
 *  prologue), the grouped down product (silu * up prologue), the weighted
 *  accumulate. out may be x. */
int hxq_cuda_moe(const hxq_cuda_moe_args *a, void *stream, hxq_error *err);

/*! hxq_cuda_weighted_add() : out[t, :] += sum_j weights[t, j] * ye[t, j, :]
 *  (j in order) for ye [ntok, top_k, dim]. */
int hxq_cuda_weighted_add(const float *ye, const float *weights, float *out, int64_t ntok,
                          int64_t top_k, int64_t dim, void *stream, hxq_error *err);

/* ---- embedding ------------------------------------------------------------------ */

/*! hxq_cuda_embed() :
 *  out[t, :] = table[ids[t], :] widened to float, for a dense table (F32,
 *  BF16, F16) [vocab, dim] in device memory; ids (device) outside [0, vocab)
 *  give a zero row (the caller validates ids beforehand). */
int hxq_cuda_embed(int kind, const void *table, int64_t vocab, int64_t dim,
                   const int32_t *ids, int64_t ntok, float *out, void *stream,
                   hxq_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HXQ_CUDA_H */
