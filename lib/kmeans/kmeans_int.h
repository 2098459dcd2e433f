/* kmeans_int.h - private helpers shared by the kmeans sources. */
#ifndef KMEANS_INT_H
#define KMEANS_INT_H

#include "hxq_kmeans.h"

/* Checks x[n] ascending (strictly when `strict`) and finite, w[n] > 0 and
 * finite. Returns HXQ_OK or HXQ_ERR_INVALID with a message. */
int kmeans_check_points(const double *x, const double *w, int64_t n, int strict,
                        hxq_error *err);

#endif /* KMEANS_INT_H */
