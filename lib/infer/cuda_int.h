/*
 * cuda_int.h - the CUDA backend of the engine, private to lib/infer (and
 * bench/bench_gpu.c, which drives it on synthetic weights).
 *
 * A cuda_dmodel is the model in device memory, every weight in its stored
 * form (HXQ stays 8-bit); cuda_upload.c fills it from a loaded hxq_model,
 * the GPU benchmark synthesises one. A cuda_run owns a dmodel, the KV cache
 * [n_layers, max_ctx, hidden] (K and V, float), the activations of up to
 * max_batch tokens and a stream, and runs the forward pass of
 * ../../../shared/reference/olmoe.md as a sequence of kernels/cuda entries.
 * A one-token step is captured once into a CUDA graph and replayed: per
 * token the host copies 8 bytes (position, id) in, launches the graph and
 * copies the logits out, with one synchronisation at the end.
 *
 * Built always; without HXQ_HAVE_CUDA every entry returns HXQ_ERR_DEVICE
 * "hxq was built without CUDA".
 */
#ifndef HXQ_INFER_CUDA_INT_H
#define HXQ_INFER_CUDA_INT_H

#include "hxq_codec.h"
#include "hxq_common.h"

#include <stdint.h>

struct hxq_cuda_mat; /* kernels/cuda/hxq_cuda.h */

/* One decoder layer on the device. Each table is a device array of
 * struct hxq_cuda_mat; the *_kind fields are hxq_cuda_kind values. */
typedef struct cuda_layer_w {
    float *attn_norm, *q_norm, *k_norm, *ffn_norm; /* device [hidden]         */
    struct hxq_cuda_mat *qkv;                      /* [3]: q, k, v            */
    struct hxq_cuda_mat *o;                        /* [1]                     */
    struct hxq_cuda_mat *router;                   /* [1]: [E, H]             */
    struct hxq_cuda_mat *gate_up;                  /* [2E]: gate_e, then up_e */
    struct hxq_cuda_mat *down;                     /* [E]                     */
    int qkv_kind, o_kind, router_kind, gate_up_kind, down_kind;
} cuda_layer_w;

typedef struct cuda_dmodel {
    int64_t vocab, hidden, inter, n_layers, n_heads, n_kv_heads, head_dim;
    int64_t n_experts, top_k;
    int norm_topk;
    float eps, theta;
    int embed_kind;              /* dense kind of the embedding table        */
    const void *embed;           /* device [vocab, hidden]                   */
    struct hxq_cuda_mat *lm_head; /* device table [1]                        */
    int lm_kind;
    float *final_norm;           /* device [hidden]                          */
    cuda_layer_w *layers;        /* host array [n_layers]                    */
    uint64_t device_bytes;       /* weight bytes held on the device          */
    uint64_t active_bytes;       /* weight bytes read per decoded token      */
    /* every device allocation, freed by cuda_dmodel_free() */
    void **allocs;
    int64_t n_allocs, cap_allocs;
} cuda_dmodel;

/*! cuda_dmodel_alloc() : device memory owned by dm (freed with it).
 *  @return HXQ_OK, HXQ_ERR_NOMEM, HXQ_ERR_DEVICE. */
int cuda_dmodel_alloc(cuda_dmodel *dm, void **out, size_t bytes, hxq_error *err);

/*! cuda_dmodel_check() : dimensions the kernels support (num_kv_heads ==
 *  num_heads, heads * head_dim == hidden, 128 % head_dim == 0, experts <=
 *  256, every pointer set). @return HXQ_OK or HXQ_ERR_UNSUPPORTED. */
int cuda_dmodel_check(const cuda_dmodel *dm, hxq_error *err);

/*! cuda_dmodel_free() : frees the device memory and the layer array; the
 *  struct itself is the caller's and is zeroed. NULL is a no-op. */
void cuda_dmodel_free(cuda_dmodel *dm);

/*! cuda_sidecar_csr() :
 *  The sidecar of m (positions ascending) in the compressed-row form of
 *  hxq_cuda_mat: rowptr[rows + 1], col[n_sidecar], delta[n_sidecar] =
 *  value - codebook[index] (host arrays the caller provides).
 *  @return HXQ_OK or HXQ_ERR_FORMAT (a position out of range or not
 *  ascending, more than INT32_MAX entries, cols over INT32_MAX). */
int cuda_sidecar_csr(const hxq_qmatrix *m, int32_t *rowptr, int32_t *col, float *delta,
                     hxq_error *err);

/*! cuda_dmodel_put_dense() / cuda_dmodel_put_hxq() :
 *  Upload one matrix in its stored form into memory owned by dm and fill
 *  *desc (a host copy of its hxq_cuda_mat) with the device pointers.
 *  kind is HXQ_CUDA_F32 / BF16 / F16 for put_dense; data has rows*cols
 *  elements. put_hxq uploads the 256-entry codebook (entries past the
 *  stored count are zero), the U8 indices and the sidecar as compressed
 *  rows. @return HXQ_OK, HXQ_ERR_FORMAT, HXQ_ERR_NOMEM, HXQ_ERR_DEVICE. */
int cuda_dmodel_put_dense(cuda_dmodel *dm, int kind, const void *data, int64_t rows,
                          int64_t cols, struct hxq_cuda_mat *desc, hxq_error *err);
int cuda_dmodel_put_hxq(cuda_dmodel *dm, const hxq_qmatrix *q, struct hxq_cuda_mat *desc,
                        hxq_error *err);

/*! cuda_dmodel_put_table() : uploads descs[n] as a device table *out. */
int cuda_dmodel_put_table(cuda_dmodel *dm, const struct hxq_cuda_mat *descs, int64_t n,
                          struct hxq_cuda_mat **out, hxq_error *err);

/*! cuda_dmodel_put_f32() : uploads v[n] floats (norm weights) to *out. */
int cuda_dmodel_put_f32(cuda_dmodel *dm, const float *v, int64_t n, float **out,
                        hxq_error *err);

struct hxq_model; /* hxq_infer.h */

/*! cuda_upload_model() :
 *  Fills *dm with the model m in device memory (weights in stored form,
 *  norm vectors as float). On failure *dm may hold partial allocations:
 *  free it with cuda_dmodel_free().
 *  @return HXQ_OK, HXQ_ERR_UNSUPPORTED (an HXQ embedding table, mixed
 *  storage inside one kernel group, shapes cuda_dmodel_check rejects),
 *  HXQ_ERR_FORMAT (sidecar), HXQ_ERR_NOMEM, HXQ_ERR_DEVICE. */
int cuda_upload_model(const struct hxq_model *m, cuda_dmodel *dm, hxq_error *err);

typedef struct cuda_run cuda_run;

/*! cuda_run_create() :
 *  Takes ownership of *dm (moved: *dm is zeroed, also on failure, when it
 *  is freed), allocates the KV cache for max_ctx positions and activations
 *  for max_batch tokens, and raises the kernels' shared-memory limits.
 *  @return HXQ_OK, HXQ_ERR_DEVICE (no device, CUDA error, built without
 *  CUDA), HXQ_ERR_UNSUPPORTED (cuda_dmodel_check), HXQ_ERR_INVALID,
 *  HXQ_ERR_NOMEM. */
int cuda_run_create(cuda_dmodel *dm, int64_t max_ctx, int64_t max_batch, cuda_run **out,
                    hxq_error *err);

/*! cuda_run_free() : NULL is a no-op. */
void cuda_run_free(cuda_run *r);

/*! cuda_run_set_graph() : use (1, the default) or not (0) the captured
 *  graph for one-token steps. */
void cuda_run_set_graph(cuda_run *r, int on);

/*! cuda_run_graph_captured() : 1 once the one-token step runs as a captured
 *  graph, 0 before the first such step or when capture failed (then the
 *  run launches kernels directly). */
int cuda_run_graph_captured(const cuda_run *r);

/*! cuda_run_model() : the device model the run owns. */
const cuda_dmodel *cuda_run_model(const cuda_run *r);

/* What a forward call writes to host memory, all optional (NULL = not
 * wanted); the layouts are those of hxq_forward_out in hxq_infer.h. */
typedef struct cuda_forward_out {
    float *logits;               /* [n, V] when all_logits, else [V]          */
    int all_logits;
    float *hidden;               /* [n_layers + 1, n, H]                      */
    float *router_logits;        /* [n_layers, n, E]                          */
} cuda_forward_out;

/*! cuda_run_forward() :
 *  Runs ids[0..n) (host, each in [0, vocab)) at positions pos..pos+n-1, the
 *  cache holding positions < pos, and writes what out asks for. Returns
 *  after the device finished. n == 1 with no hidden/router output replays
 *  the decode graph (captured on first use).
 *  @return HXQ_OK, HXQ_ERR_INVALID (n < 1, n > max_batch, an id out of
 *  range), HXQ_ERR_RANGE (pos + n > max_ctx), HXQ_ERR_DEVICE. */
int cuda_run_forward(cuda_run *r, const int32_t *ids, int64_t n, int64_t pos,
                     const cuda_forward_out *out, hxq_error *err);

#endif /* HXQ_INFER_CUDA_INT_H */
