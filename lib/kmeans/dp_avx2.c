/* dp_avx2.c - the DP's inner minimum over split points, four candidates
 * at a time. Same operations in the same order as the scalar loop (no
 * fused multiply-add), so results are bit-identical to dp.c's. */
#include "kmeans_int.h"

#include <immintrin.h>

int64_t kmeans_argmin_avx2(const double *a, const double *p1, const double *p0, int64_t start,
                           int64_t end, double q1, double q0, double *best_out)
{
    int64_t j = start;
    double best = __builtin_inf();
    int64_t best_j = start;
    if (end - start + 1 >= 8) {
        __m256d vq1 = _mm256_set1_pd(q1), vq0 = _mm256_set1_pd(q0);
        __m256d vbest = _mm256_set1_pd(__builtin_inf());
        __m256d vidx = _mm256_setr_pd(0, 1, 2, 3), vbidx = vidx;
        __m256d four = _mm256_set1_pd(4.0);
        const double *aj = a + start, *p1j = p1 + start, *p0j = p0 + start;
        int64_t cnt = (end - start + 1) & ~(int64_t)3;
        for (int64_t t = 0; t < cnt; t += 4) {
            __m256d s = _mm256_sub_pd(vq1, _mm256_loadu_pd(p1j + t));
            __m256d w = _mm256_sub_pd(vq0, _mm256_loadu_pd(p0j + t));
            __m256d v = _mm256_sub_pd(_mm256_loadu_pd(aj + t),
                                      _mm256_div_pd(_mm256_mul_pd(s, s), w));
            __m256d lt = _mm256_cmp_pd(v, vbest, _CMP_LT_OQ);
            vbest = _mm256_blendv_pd(vbest, v, lt);
            vbidx = _mm256_blendv_pd(vbidx, vidx, lt);
            vidx = _mm256_add_pd(vidx, four);
        }
        double bv[4], bi[4];
        _mm256_storeu_pd(bv, vbest);
        _mm256_storeu_pd(bi, vbidx);
        for (int l = 0; l < 4; l++)
            if (bv[l] < best || (bv[l] == best && start + (int64_t)bi[l] < best_j)) {
                best = bv[l];
                best_j = start + (int64_t)bi[l];
            }
        j = start + cnt;
    }
    if (j <= end) { /* the tail comes after: it wins only when strictly lower */
        double tail;
        int64_t tj = kmeans_argmin_ref(a, p1, p0, j, end, q1, q0, &tail);
        if (tail < best) {
            best = tail;
            best_j = tj;
        }
    }
    *best_out = best;
    return best_j;
}
