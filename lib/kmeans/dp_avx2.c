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

/* One candidate j for the four rows of q1, q0: v = a - s^2 / w. */
static inline __m256d knuth_value(const double *a, const double *p0, const double *p1,
                                  int64_t j, __m256d q1, __m256d q0)
{
    __m256d s = _mm256_sub_pd(q1, _mm256_broadcast_sd(p1 + j));
    __m256d w = _mm256_sub_pd(q0, _mm256_broadcast_sd(p0 + j));
    return _mm256_sub_pd(_mm256_broadcast_sd(a + j), _mm256_div_pd(_mm256_mul_pd(s, s), w));
}

/* bj <- vj where v < best (strictly: earlier j win ties), best <- the
 * minimum (v is never NaN; on equal values min may return v, which can
 * only differ from best in the sign of a zero, and best + p2 with
 * p2 >= +0 does not see it). */
static inline void knuth_take(__m256d v, __m256d vj, __m256d *best, __m256d *bj)
{
    *bj = _mm256_blendv_pd(*bj, vj, _mm256_cmp_pd(v, *best, _CMP_LT_OQ));
    *best = _mm256_min_pd(*best, v);
}

void kmeans_knuth_avx2(const double *a, const double *p0, const double *p1, const double *p2,
                       const uint16_t *parg, int64_t parg_hi, int64_t ilo, int64_t ihi,
                       int64_t jmin, double *cur, uint16_t *arg)
{
    const __m256d lane = _mm256_setr_pd(-1, 0, 1, 2), inf = _mm256_set1_pd(__builtin_inf());
    for (int64_t i0 = ihi; i0 >= ilo; i0 -= 4) {
        int64_t lo, hi, base = i0 - 3; /* lane t is row base + t */
        kmeans_knuth_window(parg, parg_hi, ilo, ihi, jmin, arg, i0, &lo, &hi);
        __m256d q1 = _mm256_loadu_pd(p1 + base), q0 = _mm256_loadu_pd(p0 + base);
        /* last candidate of lane t: base + t - 1 (hi bounds the loop) */
        __m256d lim = _mm256_add_pd(_mm256_set1_pd((double)base), lane);
        __m256d best = inf, bj = _mm256_set1_pd((double)lo);
        /* a fixed number of steps first (hi >= lo + steps - 1): they do not
         * wait for hi, which the block just before has produced */
        __m256d vj = bj, one = _mm256_set1_pd(1.0); /* vj = j in every lane */
        for (int s = 0; s < KMEANS_KNUTH_STEPS; s++, vj = _mm256_add_pd(vj, one)) {
            __m256d x = _mm256_blendv_pd(inf, knuth_value(a, p0, p1, lo + s, q1, q0),
                                         _mm256_cmp_pd(vj, lim, _CMP_LE_OQ));
            knuth_take(x, vj, &best, &bj);
        }
        for (int64_t j = lo + KMEANS_KNUTH_STEPS; j <= hi; j++, vj = _mm256_add_pd(vj, one)) {
            __m256d x = _mm256_blendv_pd(inf, knuth_value(a, p0, p1, j, q1, q0),
                                         _mm256_cmp_pd(vj, lim, _CMP_LE_OQ));
            knuth_take(x, vj, &best, &bj);
        }
        if (base >= ilo) { /* whole block: vector stores */
            _mm256_storeu_pd(cur + base, _mm256_add_pd(best, _mm256_loadu_pd(p2 + base)));
            __m128i j32 = _mm256_cvtpd_epi32(bj);
            _mm_storel_epi64((__m128i *)(void *)(arg + base), _mm_packus_epi32(j32, j32));
            continue;
        }
        double bv[4], ba[4];
        _mm256_storeu_pd(bv, best);
        _mm256_storeu_pd(ba, bj);
        for (int t = 3; t >= 0 && base + t >= ilo; t--) {
            cur[base + t] = bv[t] + p2[base + t];
            arg[base + t] = (uint16_t)ba[t];
        }
    }
}
