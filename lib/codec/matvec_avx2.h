/* matvec_avx2.h - private to the codec module: the AVX2 building blocks
 * that the single-token (matvec_avx2.c) and multi-token
 * (matvec_multi_avx2.c) kernels share, so both compute the same values.
 * Include only from *_avx2.c files (they are compiled with AVX2/FMA). */
#ifndef HXQ_MATVEC_AVX2_H
#define HXQ_MATVEC_AVX2_H

#include "matvec_int.h"

#include <immintrin.h>
#include <string.h>

/* (a0 + a1) + (a2 + a3), then the eight lanes summed pairwise: the
 * reduction of every AVX2 row kernel. */
static inline float avx2_hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    __m256 v = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

/* Eight codebook values for eight indices. The 64-bit word is split into
 * two 32-bit halves first: the byte extracts then need fewer shifts
 * (llvm-mca, znver3: 108 instead of 124 uops per 32 weights). Zen 3 issues
 * at most two FP loads per cycle, and each weight needs one, so about two
 * weights per cycle is the ceiling of any scalar-lookup form. */
static inline __m256 avx2_gather8(const float *cb, const uint8_t *idx)
{
    uint64_t v;
    memcpy(&v, idx, 8);
    uint32_t a = (uint32_t)v, b = (uint32_t)(v >> 32);
    __m128 lo = _mm_setr_ps(cb[a & 255], cb[(a >> 8) & 255], cb[(a >> 16) & 255], cb[a >> 24]);
    __m128 hi = _mm_setr_ps(cb[b & 255], cb[(b >> 8) & 255], cb[(b >> 16) & 255], cb[b >> 24]);
    return _mm256_set_m128(hi, lo);
}

/* The first min(bytes, dist) bytes at p, one prefetch per cache line: the
 * kernels prefetch dist bytes ahead of what they read, which leaves the
 * start of each call's rows to demand misses one after the other; issued
 * together at the start they overlap. The engine calls the kernels on
 * blocks of 32-64 rows, so this start is a tenth of the time of a block of
 * HXQ rows. AVX2_PREFETCH is the distance of the HXQ index stream (compute
 * bound: the distance made no measurable difference), AVX2_PREFETCH_HALF
 * that of the single-token kernels' BF16/F16 rows, which are memory bound:
 * on Zen 3, 512 bytes decoded about 7% faster than 2048 (docs/BENCHMARKS.md).
 * The multi-token kernels were not measured with it and keep AVX2_PREFETCH. */
#ifndef AVX2_PREFETCH
#define AVX2_PREFETCH 2048
#endif
#ifndef AVX2_PREFETCH_HALF
#define AVX2_PREFETCH_HALF 512
#endif

static inline void avx2_prefetch_start(const void *p, int64_t bytes, int64_t dist)
{
    for (int64_t o = 0; o < bytes && o < dist; o += 64)
        _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

static inline __m256 avx2_bf16x8(const uint16_t *p)
{
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline __m256 avx2_f16x8(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

#endif
