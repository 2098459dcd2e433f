/*
 * hxq_kmeans.h - weighted one-dimensional k-means.
 *
 * Points are given sorted ascending, distinct, with positive weights (a
 * histogram of values). hxq_kmeans_optimal() returns the partition into k
 * contiguous clusters of minimum total weighted squared error, computed by
 * the 1-D dynamic program
 *     D[m][i] = min_{j < i} D[m-1][j] + cost(j, i)
 * (cost(j, i) = weighted squared error of points [j, i) about their mean).
 * The cost satisfies the quadrangle inequality, so the split points are
 * monotone: early layers are solved by divide and conquer in O(n log n),
 * later ones (short windows) by Knuth's bound J[m-1][i] <= J[m][i] <=
 * J[m][i+1], four rows at a time. Deterministic and exact up to the
 * rounding of the double-precision prefix sums (taken about the weighted
 * mean, which keeps cancellation small).
 *
 * Knows nothing of tensors or files. Depends on: common.
 * Thread-safety: all functions are reentrant (no shared state).
 */
#ifndef HXQ_KMEANS_H
#define HXQ_KMEANS_H

#include "hxq_common.h"

/* Largest number of points hxq_kmeans_optimal() accepts (split points
 * are stored in 16 bits). Every BF16/F16 histogram fits. */
#define HXQ_KMEANS_MAX_POINTS 65535

/* Largest k. */
#define HXQ_KMEANS_MAX_K 256

/*! hxq_kmeans_optimal() :
 *  Globally optimal weighted k-means of n sorted distinct points.
 *  @param x       [n] ascending, distinct, finite
 *  @param w       [n] weights, > 0 and finite
 *  @param k       number of centres, 1 <= k <= HXQ_KMEANS_MAX_K
 *  @param centers OUT [k] ascending. When n >= k these are the weighted
 *                 means of the k optimal clusters; when n < k the points
 *                 themselves followed by copies of the largest point
 *                 (zeros when n == 0), so all k entries are valid.
 *  @param starts  OUT optional [k]: index of the first point of each
 *                 cluster (for n < k: min(c, n) for centre c, n == 0: 0)
 *  @param cost    OUT optional: the total weighted squared error
 *  @return HXQ_OK; HXQ_ERR_INVALID for k out of range, n < 0,
 *  n > HXQ_KMEANS_MAX_POINTS, unsorted or non-finite points, weights
 *  <= 0; HXQ_ERR_NOMEM. Outputs are written only on success. */
int hxq_kmeans_optimal(const double *x, const double *w, int64_t n, int k, double *centers,
                       int64_t *starts, double *cost, hxq_error *err);

/*! hxq_kmeans_lloyd() :
 *  Lloyd's algorithm on sorted weighted points (duplicates allowed),
 *  started from centers[k] (ascending): points go to the nearest centre
 *  (ties to the lower one), each non-empty cluster's centre moves to its
 *  weighted mean, an empty cluster keeps its centre. Runs at most `iters`
 *  rounds, stopping early when nothing moves. Each round costs O(k log n)
 *  through prefix sums.
 *  @param centers IN/OUT [k], ascending on input and on output
 *  @param cost    OUT optional: total weighted squared error at the end
 *  @return HXQ_OK, HXQ_ERR_INVALID (bad k, n, unsorted input),
 *  HXQ_ERR_NOMEM. */
int hxq_kmeans_lloyd(const double *x, const double *w, int64_t n, int k, int iters,
                     double *centers, double *cost, hxq_error *err);

/*! hxq_kmeans_cost() :
 *  Total weighted squared error of points x[n] (any order) with weights
 *  w[n] against the nearest of centers[k] (ascending). */
double hxq_kmeans_cost(const double *x, const double *w, int64_t n, const double *centers,
                       int k);

/*! hxq_kmeans_nearest() :
 *  Index of the centre nearest to v among centers[k] (ascending); on a tie
 *  the lower index. O(log k). */
int hxq_kmeans_nearest(const double *centers, int k, double v);

#endif /* HXQ_KMEANS_H */
