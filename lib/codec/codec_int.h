/* codec_int.h - private interfaces between the codec's encode stages:
 * the value histogram (points), the codebook fit, the sidecar plan. */
#ifndef CODEC_INT_H
#define CODEC_INT_H

#include "hxq_codec.h"
#include "hxq_kmeans.h"

#include <math.h>

/* The distinct finite values of a matrix with their counts, ascending.
 * For 16-bit sources of_bits maps every bit pattern to its point (-1 when
 * absent); +0 and -0 share one point. */
typedef struct codec_points {
    int64_t n;          /* distinct values                        */
    int64_t total;      /* elements of the matrix                 */
    double *x;          /* [n] ascending                          */
    int64_t *cnt;       /* [n] > 0                                */
    int32_t *of_bits;   /* [65536] for BF16/F16 sources, else NULL */
} codec_points;

/* Value of element i of a BF16/F16/F32 source, widened exactly. */
static inline float codec_src_f32(const void *src, hxq_dtype dt, int64_t i)
{
    if (dt == HXQ_DT_BF16)
        return hxq_bf16_to_f32(((const uint16_t *)src)[i]);
    if (dt == HXQ_DT_F16)
        return hxq_f16_to_f32(((const uint16_t *)src)[i]);
    return ((const float *)src)[i];
}

/* Builds the points of src[total]. HXQ_ERR_FORMAT (naming `name` and the
 * first bad flat position) when a value is NaN or infinite,
 * HXQ_ERR_UNSUPPORTED for another dtype, HXQ_ERR_NOMEM. */
int codec_points_build(const char *name, const void *src, hxq_dtype dt, int64_t total,
                       codec_points *out, hxq_error *err);
void codec_points_free(codec_points *p);

/* Point index of element i (of_bits lookup or binary search). */
int64_t codec_point_of(const codec_points *p, const void *src, hxq_dtype dt, int64_t i);

/* Value at 0-based rank r of the sorted elements (r < total). */
double codec_points_rank(const codec_points *p, int64_t r);

/* Optimal codebook for weights cnt[i] - take[i] (take may be NULL) over the
 * points: exact DP when at most HXQ_KMEANS_MAX_POINTS points remain, else a
 * 65,535-bin equal-count quantisation, the DP over the bins and a Lloyd
 * polish over all points. Rounded to float, ascending. */
int codec_fit(const codec_points *p, const int64_t *take, float cb[HXQ_CODEBOOK_SIZE],
              hxq_error *err);

/* Lloyd's algorithm from cb over the weights cnt[i] - take[i], at most
 * `iters` rounds (never increases the error). */
int codec_refine(const codec_points *p, const int64_t *take, int iters,
                 float cb[HXQ_CODEBOOK_SIZE], hxq_error *err);

/* The reference's sidecar band and count: elements strictly outside
 * (lo, hi) = numpy-linear percentiles (100-q, q) with q = 99.95 for q/k
 * projections, 99.9 otherwise; count capped at 512 (attention) / 256. */
int64_t codec_reference_band(const char *name, const codec_points *p, double *lo,
                             double *hi);

/* Chooses the sidecar (take[i] elements of point i, sum = budget) and the
 * codebook; see sidecar.c. band_lo/band_hi restrict the magnitude start's
 * candidates (use +inf/-inf for "all elements"); exact_refits adds DP
 * refits of the best sidecar found. */
int codec_sidecar_plan(const codec_points *p, int64_t budget, double band_lo, double band_hi,
                       int max_refits, int exact_refits, float cb[HXQ_CODEBOOK_SIZE],
                       int64_t *take, hxq_error *err);

/* Total squared error of the plan (cb, take) over the points. */
double codec_plan_cost(const codec_points *p, const float cb[HXQ_CODEBOOK_SIZE],
                       const int64_t *take);

/* Nearest codebook entry for ascending values: given the entry j chosen
 * for the previous (smaller or equal) value, returns the entry for x. The
 * entries are ascending, so the answer only moves right; a tie goes to the
 * lower index, and among equal entries to the first. Walking all n points
 * costs O(n + 256). */
static inline int codec_walk(const float cb[HXQ_CODEBOOK_SIZE], int j, double x)
{
    for (;;) {
        int t = j + 1;
        while (t < HXQ_CODEBOOK_SIZE && cb[t] == cb[j])
            t++;
        if (t == HXQ_CODEBOOK_SIZE || !(fabs(x - (double)cb[t]) < fabs(x - (double)cb[j])))
            return j;
        j = t;
    }
}

#endif /* CODEC_INT_H */
