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

#endif /* KMEANS_INT_H */
