/* widen_avx2.c - BF16 and F16 rows widened to float with AVX2/F16C, for
 * the tiles of the batched (GEMM) path. Chosen at run time by weights.c;
 * exact, like the scalar conversions. */
#include "infer_int.h"

#include <immintrin.h>

void infer_widen_bf16_avx2(const uint16_t *p, int64_t n, float *out)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(p + i));
        __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
        _mm256_storeu_ps(out + i, _mm256_castsi256_ps(w));
    }
    for (; i < n; i++)
        out[i] = hxq_bf16_to_f32(p[i]);
}

void infer_widen_f16_avx2(const uint16_t *p, int64_t n, float *out)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + i))));
    for (; i < n; i++)
        out[i] = hxq_f16_to_f32(p[i]);
}
