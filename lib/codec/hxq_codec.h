/*
 * hxq_codec.h - the HXQ storage format for one weight matrix: encode
 * (codebook fit + sidecar choice + assignment), decode, error statistics,
 * and matrix-vector products straight from the stored form.
 *
 * A matrix W [rows, cols] is stored as a 256-entry float codebook, one
 * uint8 index per element, and a sparse sidecar of (flat position, exact
 * value) pairs whose values REPLACE the codebook value:
 *     W[p] = sidecar value          if p is a sidecar position
 *     W[p] = codebook[indices[p]]   otherwise
 *
 * Depends on: common, io (dtypes, tensor views), kmeans.
 * Thread-safety: all functions are reentrant; a hxq_qmatrix is read-only.
 */
#ifndef HXQ_CODEC_H
#define HXQ_CODEC_H

#include "hxq_common.h"
#include "hxq_io.h"

#define HXQ_CODEBOOK_SIZE 256

/* A stored matrix. Pointers are views or owned, as the producer states;
 * codebook, sidecar_pos and sidecar_val are naturally aligned. */
typedef struct hxq_qmatrix {
    int64_t rows, cols;
    const float *codebook;        /* [HXQ_CODEBOOK_SIZE]                   */
    const uint8_t *indices;       /* [rows * cols], row-major              */
    int64_t n_sidecar;
    const int64_t *sidecar_pos;   /* [n_sidecar] flat r*cols+c, ascending  */
    const float *sidecar_val;     /* [n_sidecar] exact replacement values  */
} hxq_qmatrix;

/* Per-matrix error of the effective weights against the source. */
typedef struct hxq_matrix_stats {
    double mse;          /* mean squared error                            */
    double snr_db;       /* 10 log10(sum w^2 / sum err^2); +inf if exact  */
    double cosine;       /* cosine similarity of source and effective     */
    double max_abs_err;
    int64_t n_sidecar;
} hxq_matrix_stats;

/* ---- encoding ----------------------------------------------------------- */

typedef enum {
    HXQ_SIDECAR_REFERENCE = 0, /* the reference's count rule (default)      */
    HXQ_SIDECAR_COUNT,         /* exactly `count` elements (fewer if small) */
    HXQ_SIDECAR_FRACTION,      /* round(fraction * rows * cols) elements    */
    HXQ_SIDECAR_NONE
} hxq_sidecar_mode;

typedef struct hxq_encode_opts {
    hxq_sidecar_mode sidecar_mode;
    int64_t sidecar_count;      /* for HXQ_SIDECAR_COUNT                    */
    double sidecar_fraction;    /* for HXQ_SIDECAR_FRACTION                 */
    int max_refits;             /* alternation rounds; 0 = default (8)      */
    int exact_refits;           /* 1: also refit the final sidecar by the   */
                                /* DP (one DP per round; ~0.01 dB better)   */
} hxq_encode_opts;

/*! hxq_encode_opts_default() : reference-rule budget, default refits. */
hxq_encode_opts hxq_encode_opts_default(void);

/* Owned result of hxq_codec_encode(); free with hxq_encoded_free(). */
typedef struct hxq_encoded {
    float codebook[HXQ_CODEBOOK_SIZE];
    uint8_t *indices;           /* [rows * cols]                           */
    int64_t n_sidecar;
    int64_t *sidecar_pos;
    float *sidecar_val;         /* source values widened to f32, bit-exact */
    hxq_matrix_stats stats;
    int64_t rows, cols;
} hxq_encoded;

/*! hxq_codec_reference_budget() :
 *  The reference compressor's sidecar count for a matrix named `name`
 *  (a module or weight name): the elements strictly outside the
 *  (100-p, p) percentile band, p = 99.95 for q/k projections and 99.9
 *  otherwise, capped at 512 for attention projections and 256 otherwise.
 *  @return the count (>= 0), or a negative status for a bad dtype. */
int64_t hxq_codec_reference_budget(const char *name, const void *src, hxq_dtype dtype,
                                   int64_t rows, int64_t cols);

/*! hxq_codec_encode() :
 *  Encodes src [rows, cols] (BF16, F16 or F32) with the options; `name`
 *  is used for the reference budget rule and for error messages.
 *  Codebook: the globally optimal 256-entry k-means of the non-sidecar
 *  elements (exact DP over the distinct values; for F32 sources with more
 *  than 65,535 distinct values, DP over equal-count bins + Lloyd polish),
 *  ascending. Sidecar: N elements (the budget) chosen with the codebook
 *  from two starts (the reference's magnitude choice with an optimal
 *  codebook, and the error rule), so the error is never above the
 *  reference's choice at the same N; values are the source values
 *  widened bit-exactly; within one value the lowest positions go first.
 *  Indices: nearest entry, ties to the lower index (see docs/CODEC.md).
 *  Single-threaded, no shared state: callers may encode matrices in
 *  parallel. Deterministic: the same input and options give the same
 *  bytes. opts NULL means hxq_encode_opts_default(). On success the
 *  caller owns out's arrays (hxq_encoded_free()).
 *  @return HXQ_OK; HXQ_ERR_FORMAT for NaN/Inf weights (message names the
 *  tensor and the first bad position), HXQ_ERR_UNSUPPORTED for another
 *  dtype, HXQ_ERR_NOMEM. *out is filled only on success. */
int hxq_codec_encode(const char *name, const void *src, hxq_dtype dtype, int64_t rows,
                     int64_t cols, const hxq_encode_opts *opts, hxq_encoded *out,
                     hxq_error *err);

/*! hxq_encoded_free() : frees the arrays; the struct itself is the
 *  caller's. NULL is a no-op. */
void hxq_encoded_free(hxq_encoded *e);

/*! hxq_encoded_view() : a hxq_qmatrix view of an encoded matrix. */
hxq_qmatrix hxq_encoded_view(const hxq_encoded *e);

/* ---- decoding and statistics ----------------------------------------- */

/*! hxq_codec_decode_f32() : effective weights of rows [r0, r1) into
 *  out[(r1 - r0) * cols]. */
void hxq_codec_decode_f32(const hxq_qmatrix *m, int64_t r0, int64_t r1, float *out);

/*! hxq_codec_decode_bf16() : the same, rounded to BF16 (nearest even). */
void hxq_codec_decode_bf16(const hxq_qmatrix *m, int64_t r0, int64_t r1, uint16_t *out);

/*! hxq_codec_stats() : error of m against src (BF16/F16/F32) in double. */
int hxq_codec_stats(const void *src, hxq_dtype dtype, const hxq_qmatrix *m,
                    hxq_matrix_stats *out, hxq_error *err);

/*! hxq_codec_check() : structural validity of a stored matrix: finite
 *  codebook, sidecar positions ascending, unique and < rows*cols, finite
 *  sidecar values. `name` goes into the message.
 *  @return HXQ_OK or HXQ_ERR_FORMAT. */
int hxq_codec_check(const char *name, const hxq_qmatrix *m, hxq_error *err);

/* ---- matrix-vector products ---------------------------------------------
 * y[r - r0] = sum_c W[r, c] x[c] for r in [r0, r1), fp32 accumulation.
 * The _ref functions are the scalar specification; the plain names pick
 * the fastest variant this CPU supports (AVX2+FMA when present). */

void hxq_matvec_hxq(const hxq_qmatrix *m, const float *x, float *y, int64_t r0, int64_t r1);
void hxq_matvec_hxq_ref(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,
                        int64_t r1);

/* W is BF16 [rows, cols] row-major (2-byte aligned). */
void hxq_matvec_bf16(const uint16_t *w, int64_t cols, const float *x, float *y, int64_t r0,
                     int64_t r1);
void hxq_matvec_bf16_ref(const uint16_t *w, int64_t cols, const float *x, float *y,
                         int64_t r0, int64_t r1);

/* W is IEEE F16 [rows, cols] row-major (2-byte aligned): the exact tensors
 * of the reference's HXQ folders. */
void hxq_matvec_f16(const uint16_t *w, int64_t cols, const float *x, float *y, int64_t r0,
                    int64_t r1);
void hxq_matvec_f16_ref(const uint16_t *w, int64_t cols, const float *x, float *y,
                        int64_t r0, int64_t r1);

/* W is F32 [rows, cols] row-major. */
void hxq_matvec_f32(const float *w, int64_t cols, const float *x, float *y, int64_t r0,
                    int64_t r1);

/* Several tokens at once (a decode step of several sequences): for t in
 * [0, n), y[t * ldy + r - r0] = sum_c W[r, c] x[t * ldx + c] for r in
 * [r0, r1). Each weight is looked up or widened once for all n tokens,
 * and every token's result is bit-identical to the plain single-token
 * function on x + t * ldx (the same variant, the same order of
 * operations), so batching tokens changes no output. */
void hxq_matvec_hxq_multi(const hxq_qmatrix *m, const float *x, int64_t ldx, float *y,
                          int64_t ldy, int64_t n, int64_t r0, int64_t r1);
void hxq_matvec_bf16_multi(const uint16_t *w, int64_t cols, const float *x, int64_t ldx,
                           float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1);
void hxq_matvec_f16_multi(const uint16_t *w, int64_t cols, const float *x, int64_t ldx,
                          float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1);
void hxq_matvec_f32_multi(const float *w, int64_t cols, const float *x, int64_t ldx,
                          float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1);

/* ---- stored modules of a model folder --------------------------------- */

/* A module's matrix with owned, aligned small arrays (codebook, sidecar)
 * and the indices either viewed in the map or owned (12-bit unpacked). */
typedef struct hxq_module {
    hxq_qmatrix m;
    float *codebook_own;
    int64_t *pos_own;
    float *val_own;
    uint8_t *indices_own;       /* NULL when indices view the file */
    int k;                      /* stored codebook entries (<= 256 here) */
} hxq_module;

/*! hxq_module_load() :
 *  Resolves module `name` (no ".weight") in a checkpoint: <name>.codebook
 *  F32/F16 [k] (copied into an owned 256-entry array, zeros past k),
 *  <name>.indices U8 [rows, cols] (a view into ck's map: ck must outlive
 *  the module), optional <name>.sidecar_positions I64 [N] and
 *  <name>.sidecar_values F32/F16 [N] (copied, aligned). Validates dtypes,
 *  shapes, every index < k and the sidecar with hxq_codec_check(). 12-bit
 *  packed indices (only used for k > 256) are not supported. *out is set
 *  only on success.
 *  @return HXQ_OK, HXQ_ERR_FORMAT naming the file and tensor,
 *  HXQ_ERR_UNSUPPORTED (k > 256), HXQ_ERR_NOMEM. */
int hxq_module_load(const hxq_ckpt *ck, const char *name, int packed12, hxq_module *out,
                    hxq_error *err);

/*! hxq_module_free() : frees the owned arrays. NULL is a no-op. */
void hxq_module_free(hxq_module *mod);

#endif /* HXQ_CODEC_H */
