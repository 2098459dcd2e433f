/* matvec_avx2.c - AVX2+FMA matrix-vector kernels, chosen at run time by
 * matvec_ref.c and tested against the scalar _ref functions, and the AVX2
 * row decode of hxq_codec_decode_f32 (the tiles of the batched path).
 *
 * HXQ: the codebook lookup is the hot part. Eight indices are read as one
 * 64-bit word, looked up in the 256-float codebook (it stays in L1) with
 * scalar loads assembled into two 128-bit halves, and multiplied into four
 * independent accumulators; the sidecar is applied afterwards as a
 * correction per entry. Measured on a Zen 4 machine (one core, a 64 MB
 * index matrix): vpgatherdd 3.0 G elements/s, this form 5.2, scalar FMAs
 * 3.6, decoding to an L1 buffer first 3.9. On Zen 3 (docs/BENCHMARKS.md)
 * this form is again the fastest of those and of pair tables (64K entries,
 * L2-resident), broadcast+blend assembly and BMI1 bextr extracts. */
#include "matvec_avx2.h"

void codec_matvec_hxq_avx2(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,
                           int64_t r1)
{
    int64_t cols = m->cols;
    const float *cb = m->codebook;
    avx2_prefetch_start(m->indices + r0 * cols, (r1 - r0) * cols, AVX2_PREFETCH);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *idx = m->indices + r * cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        int64_t c = 0;
        for (; c + 32 <= cols; c += 32) {
            _mm_prefetch((const char *)(idx + c + AVX2_PREFETCH), _MM_HINT_T0);
            a0 = _mm256_fmadd_ps(avx2_gather8(cb, idx + c), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(avx2_gather8(cb, idx + c + 8), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(avx2_gather8(cb, idx + c + 16), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(avx2_gather8(cb, idx + c + 24), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c + 8 <= cols; c += 8)
            a0 = _mm256_fmadd_ps(avx2_gather8(cb, idx + c), _mm256_loadu_ps(x + c), a0);
        float acc = avx2_hsum4(a0, a1, a2, a3);
        for (; c < cols; c++)
            acc += cb[idx[c]] * x[c];
        y[r - r0] = acc;
    }
    codec_matvec_sidecar(m, x, y, r0, r1);
}

void codec_decode_hxq_avx2(const hxq_qmatrix *m, int64_t r0, int64_t r1, float *out)
{
    const float *cb = m->codebook;
    const uint8_t *idx = m->indices + r0 * m->cols;
    int64_t n = (r1 - r0) * m->cols, p = 0;
    for (; p + 8 <= n; p += 8)
        _mm256_storeu_ps(out + p, avx2_gather8(cb, idx + p));
    for (; p < n; p++)
        out[p] = cb[idx[p]];
}

/* BF16 and F16 rows: the same loop around a widening load. */
#define HALF_MATVEC(name, load8, widen1)                                                   \
    void name(const uint16_t *w, int64_t cols, const float *x, float *y, int64_t r0,       \
              int64_t r1)                                                                  \
    {                                                                                      \
        avx2_prefetch_start(w + r0 * cols, (r1 - r0) * cols * 2, AVX2_PREFETCH_HALF);      \
        for (int64_t r = r0; r < r1; r++) {                                                \
            const uint16_t *row = w + r * cols;                                            \
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                     \
            __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();                     \
            int64_t c = 0;                                                                 \
            for (; c + 32 <= cols; c += 32) {                                              \
                _mm_prefetch((const char *)(row + c) + AVX2_PREFETCH_HALF, _MM_HINT_T0);   \
                a0 = _mm256_fmadd_ps(load8(row + c), _mm256_loadu_ps(x + c), a0);          \
                a1 = _mm256_fmadd_ps(load8(row + c + 8), _mm256_loadu_ps(x + c + 8), a1);  \
                a2 = _mm256_fmadd_ps(load8(row + c + 16), _mm256_loadu_ps(x + c + 16), a2); \
                a3 = _mm256_fmadd_ps(load8(row + c + 24), _mm256_loadu_ps(x + c + 24), a3); \
            }                                                                              \
            for (; c + 8 <= cols; c += 8)                                                  \
                a0 = _mm256_fmadd_ps(load8(row + c), _mm256_loadu_ps(x + c), a0);          \
            float acc = avx2_hsum4(a0, a1, a2, a3);                                        \
            for (; c < cols; c++)                                                          \
                acc += widen1(row[c]) * x[c];                                              \
            y[r - r0] = acc;                                                               \
        }                                                                                  \
    }

HALF_MATVEC(codec_matvec_bf16_avx2, avx2_bf16x8, hxq_bf16_to_f32)
HALF_MATVEC(codec_matvec_f16_avx2, avx2_f16x8, hxq_f16_to_f32)

void codec_matvec_f32_avx2(const float *w, int64_t cols, const float *x, float *y,
                           int64_t r0, int64_t r1)
{
    for (int64_t r = r0; r < r1; r++) {
        const float *row = w + r * cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        int64_t c = 0;
        for (; c + 32 <= cols; c += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 8), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 16), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c + 24), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c + 8 <= cols; c += 8)
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(x + c), a0);
        float acc = avx2_hsum4(a0, a1, a2, a3);
        for (; c < cols; c++)
            acc += row[c] * x[c];
        y[r - r0] = acc;
    }
}
