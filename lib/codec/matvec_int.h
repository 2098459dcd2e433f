/* matvec_int.h - private to the codec module: the AVX2+FMA matrix-vector
 * kernels (matvec_avx2.c) behind the dispatching hxq_matvec_* names. */
#ifndef HXQ_MATVEC_INT_H
#define HXQ_MATVEC_INT_H

#include "hxq_codec.h"

void codec_matvec_hxq_avx2(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,
                           int64_t r1);
/* codebook[indices] of rows [r0, r1) into out, without the sidecar. */
void codec_decode_hxq_avx2(const hxq_qmatrix *m, int64_t r0, int64_t r1, float *out);
void codec_matvec_bf16_avx2(const uint16_t *w, int64_t cols, const float *x, float *y,
                            int64_t r0, int64_t r1);
void codec_matvec_f16_avx2(const uint16_t *w, int64_t cols, const float *x, float *y,
                           int64_t r0, int64_t r1);
void codec_matvec_f32_avx2(const float *w, int64_t cols, const float *x, float *y,
                           int64_t r0, int64_t r1);

/* Several tokens (hxq_matvec_*_multi): the AVX2 kernels
 * (matvec_multi_avx2.c), each token bit-identical to the codec_*_avx2
 * single-token kernel above, and the scalar ones (matvec_ref.c), each
 * token bit-identical to the _ref single-token function. */
void codec_matvec_hxq_multi_avx2(const hxq_qmatrix *m, const float *x, int64_t ldx, float *y,
                                 int64_t ldy, int64_t n, int64_t r0, int64_t r1);
void codec_matvec_bf16_multi_avx2(const uint16_t *w, int64_t cols, const float *x,
                                  int64_t ldx, float *y, int64_t ldy, int64_t n, int64_t r0,
                                  int64_t r1);
void codec_matvec_f16_multi_avx2(const uint16_t *w, int64_t cols, const float *x,
                                 int64_t ldx, float *y, int64_t ldy, int64_t n, int64_t r0,
                                 int64_t r1);
void codec_matvec_f32_multi_avx2(const float *w, int64_t cols, const float *x, int64_t ldx,
                                 float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1);
void codec_matvec_hxq_multi_ref(const hxq_qmatrix *m, const float *x, int64_t ldx, float *y,
                                int64_t ldy, int64_t n, int64_t r0, int64_t r1);
void codec_matvec_bf16_multi_ref(const uint16_t *w, int64_t cols, const float *x, int64_t ldx,
                                 float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1);
void codec_matvec_f16_multi_ref(const uint16_t *w, int64_t cols, const float *x, int64_t ldx,
                                float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1);
void codec_matvec_f32_multi_ref(const float *w, int64_t cols, const float *x, int64_t ldx,
                                float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1);

/* The scalar F32 product (the specification of hxq_matvec_f32). */
void codec_matvec_f32_ref(const float *w, int64_t cols, const float *x, float *y,
                          int64_t r0, int64_t r1);

/* AVX-512 VBMI variant (matvec_avx512.c); needs cols % 64 == 0. */
void codec_matvec_hxq_vbmi(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,
                           int64_t r1);

/* hxq_codec_decode_f32 with VBMI; needs cols % 64 == 0. */
void codec_decode_hxq_vbmi(const hxq_qmatrix *m, int64_t r0, int64_t r1, float *out);

/* 1 when the CPU runs the _vbmi functions. */
int codec_cpu_has_vbmi(void);

/* First sidecar entry with position >= p (binary search). */
int64_t codec_sidecar_lower_bound(const hxq_qmatrix *m, int64_t p);

/* y[r - r0] += (sidecar value - codebook value) x[c] for every sidecar
 * entry in rows [r0, r1): turns codebook dot products into those of the
 * effective weights. */
void codec_matvec_sidecar(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,
                          int64_t r1);

#endif
