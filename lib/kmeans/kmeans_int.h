/* kmeans_int.h - private helpers shared by the kmeans sources. */
#ifndef KMEANS_INT_H
#define KMEANS_INT_H

#include "hxq_kmeans.h"

/* Checks x[n] ascending (strictly when `strict`) and finite, w[n] > 0 and
 * finite. Returns HXQ_OK or HXQ_ERR_INVALID with a message. */
int kmeans_check_points(const double *x, const double *w, int64_t n, int strict,
                        hxq_error *err);

/* Leftmost j in [start, end] minimising a[j] - (q1 - p1[j])^2 / (q0 - p0[j])
 * (q0 > p0[j]); the minimum goes to *best. kmeans_argmin_ref is the scalar
 * specification, the AVX2 variant gives identical results. */
static inline int64_t kmeans_argmin_ref(const double *a, const double *p1, const double *p0,
                                        int64_t start, int64_t end, double q1, double q0,
                                        double *best_out)
{
    int64_t best_j = start;
    double best = __builtin_inf();
    for (int64_t j = start; j <= end; j++) {
        double s = q1 - p1[j];
        double v = a[j] - s * s / (q0 - p0[j]);
        best_j = v < best ? j : best_j;
        best = v < best ? v : best;
    }
    *best_out = best;
    return best_j;
}
int64_t kmeans_argmin_avx2(const double *a, const double *p1, const double *p0, int64_t start,
                           int64_t end, double q1, double q0, double *best);

/* One layer of the DP by Knuth's bound J[m-1][i] <= J[m][i] <= J[m][i+1],
 * rows i in [ilo, ihi] in descending order, four at a time: rows
 * i0, i0-1, i0-2, i0-3 share the window [lo, hi] (kmeans_knuth_window)
 * with lo = max(jmin, parg[min(lowest row of the block, parg_hi)]) and hi
 * the split of row i0 + 1 (i0 - 1 for the top block), at least
 * lo + KMEANS_KNUTH_STEPS - 1; row i takes the leftmost j in
 * [lo, min(hi, i - 1)] minimising
 *   a[j] - (p1[i] - p1[j])^2 / (p0[i] - p0[j]);
 * cur[i] = that minimum + p2[i], arg[i] = j. The window contains every
 * row's own Knuth window, so in exact arithmetic the leftmost minima are
 * those of the row-by-row method (the minimum over all j < i). The fixed
 * minimum length lets the AVX2 variant run its first steps without waiting
 * for hi, the result of the block just before. Requires parg[i] <= i - 1,
 * jmin <= ilo - 1, rows down to ilo - 3 readable in p0, p1, and
 * KMEANS_KNUTH_STEPS entries past row ihi readable in a, p0, p1 (read,
 * never used). kmeans_knuth_ref is the scalar specification; the AVX2
 * variant runs the four rows at once (one broadcast candidate per step)
 * with identical results. */
#define KMEANS_KNUTH_STEPS 4
void kmeans_knuth_ref(const double *a, const double *p0, const double *p1, const double *p2,
                      const uint16_t *parg, int64_t parg_hi, int64_t ilo, int64_t ihi,
                      int64_t jmin, double *cur, uint16_t *arg);
void kmeans_knuth_avx2(const double *a, const double *p0, const double *p1, const double *p2,
                       const uint16_t *parg, int64_t parg_hi, int64_t ilo, int64_t ihi,
                       int64_t jmin, double *cur, uint16_t *arg);

/* The window of the block whose top row is i0 (see kmeans_knuth_ref). */
static inline void kmeans_knuth_window(const uint16_t *parg, int64_t parg_hi, int64_t ilo,
                                       int64_t ihi, int64_t jmin, const uint16_t *arg,
                                       int64_t i0, int64_t *lo, int64_t *hi)
{
    int64_t last = i0 - 3 > ilo ? i0 - 3 : ilo;
    int64_t l = parg[last < parg_hi ? last : parg_hi];
    if (l < jmin)
        l = jmin;
    int64_t h = i0 < ihi ? arg[i0 + 1] : i0 - 1;
    *lo = l;
    *hi = h < l + KMEANS_KNUTH_STEPS - 1 ? l + KMEANS_KNUTH_STEPS - 1 : h;
}

#endif /* KMEANS_INT_H */
