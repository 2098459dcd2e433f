/* dp.c - globally optimal weighted 1-D k-means by dynamic programming,
 * each layer solved by divide and conquer over monotone split points. */
#include "kmeans_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DP_VECTOR_MIN 4 /* windows at least this long use the argmin function */

typedef int64_t (*dp_argmin_fn)(const double *a, const double *p1, const double *p0,
                                int64_t start, int64_t end, double q1, double q0,
                                double *best);

/* For split point j of the previous layer, a[j] = D[m-1][j] - P2[j], so
 *   D[m-1][j] + cost(j, i) = a[j] + P2[i] - (P1[i] - P1[j])^2 / (P0[i] - P0[j]). */
typedef struct dp_ctx {
    const double *p0, *p1, *p2; /* prefix sums of w, w*d, w*d^2; d = x - mean */
    const double *a;            /* [n+1] from layer m-1                  */
    dp_argmin_fn argmin;
    double *cur;                /* D[m][0..n]                            */
    uint16_t *arg;              /* split point of layer m, [n+1]          */
    const uint16_t *parg;       /* split point of layer m-1 (lower bound) */
    int64_t parg_hi;            /* last point index parg holds            */
} dp_ctx;

/* Weighted squared error of points [j, i) about their mean (j < i). */
static inline double dp_cost(const dp_ctx *c, int64_t j, int64_t i)
{
    double w = c->p0[i] - c->p0[j];
    double s = c->p1[i] - c->p1[j];
    double v = (c->p2[i] - c->p2[j]) - s * s / w;
    return v > 0.0 ? v : 0.0;
}

/* Fills cur[i] for i in [ilo, ihi] knowing the optimal split lies in
 * [jlo, jhi]; the leftmost minimum is taken, which keeps splits monotone. */
static void dp_solve(dp_ctx *c, int64_t ilo, int64_t ihi, int64_t jlo, int64_t jhi)
{
    while (ilo <= ihi) {
        int64_t mid = ilo + (ihi - ilo) / 2;
        int64_t end = jhi < mid - 1 ? jhi : mid - 1;
        int64_t start = jlo;
        if (c->parg) { /* split points never move left when a cluster is added */
            int64_t lb = c->parg[mid < c->parg_hi ? mid : c->parg_hi];
            start = lb > jlo ? lb : jlo;
        }
        double best, q1 = c->p1[mid], q0 = c->p0[mid];
        int64_t best_j;
        if (end - start >= DP_VECTOR_MIN)
            best_j = c->argmin(c->a, c->p1, c->p0, start, end, q1, q0, &best);
        else
            best_j = kmeans_argmin_ref(c->a, c->p1, c->p0, start, end, q1, q0, &best);
        c->cur[mid] = best + c->p2[mid];
        c->arg[mid] = (uint16_t)best_j;
        /* recurse on the smaller-index half, loop on the other */
        dp_solve(c, ilo, mid - 1, jlo, best_j);
        ilo = mid + 1;
        jlo = best_j;
    }
}

int kmeans_check_points(const double *x, const double *w, int64_t n, int strict,
                        hxq_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(w[i]) || !(w[i] > 0.0))
            return hxq_err(err, HXQ_ERR_INVALID,
                           "kmeans: point %lld is not finite or has weight <= 0",
                           (long long)i);
        if (i > 0 && (strict ? !(x[i] > x[i - 1]) : !(x[i] >= x[i - 1])))
            return hxq_err(err, HXQ_ERR_INVALID, "kmeans: points not sorted at %lld",
                           (long long)i);
    }
    return HXQ_OK;
}

/* Fewer points than centres: every point is its own centre. */
static void dp_small(const double *x, int64_t n, int k, double *centers, int64_t *starts)
{
    for (int c = 0; c < k; c++) {
        centers[c] = n == 0 ? 0.0 : x[c < n ? c : n - 1];
        if (starts)
            starts[c] = c < n ? c : n;
    }
}

/* Centres as the weighted means of the clusters starting at st[0..k). */
static void dp_centers(const double *x, const double *w, int64_t n, int k, const int64_t *st,
                       double *centers)
{
    for (int m = 0; m < k; m++) {
        int64_t e = m + 1 < k ? st[m + 1] : n;
        double a = 0.0, b = 0.0;
        for (int64_t t = st[m]; t < e; t++) {
            a += w[t] * x[t];
            b += w[t];
        }
        double mu = a / b;
        /* keep the mean inside its cluster's range despite rounding */
        if (mu < x[st[m]])
            mu = x[st[m]];
        if (mu > x[e - 1])
            mu = x[e - 1];
        centers[m] = mu;
    }
}

int hxq_kmeans_optimal(const double *x, const double *w, int64_t n, int k, double *centers,
                       int64_t *starts, double *cost, hxq_error *err)
{
    if (k < 1 || k > HXQ_KMEANS_MAX_K || n < 0 || n > HXQ_KMEANS_MAX_POINTS)
        return hxq_err(err, HXQ_ERR_INVALID, "kmeans: k %d or n %lld out of range", k,
                       (long long)n);
    HXQ_TRY(kmeans_check_points(x, w, n, 1, err));
    if (n <= k) {
        dp_small(x, n, k, centers, starts);
        if (cost)
            *cost = 0.0;
        return HXQ_OK;
    }
    int64_t n1 = n + 1;
    double *buf = hxq_alloc_array(n1 * 5, sizeof(double));
    uint16_t *arg = hxq_alloc_array(n1 * k, sizeof(uint16_t));
    if (!buf || !arg) {
        free(buf);
        free(arg);
        return hxq_err(err, HXQ_ERR_NOMEM, "kmeans: out of memory for %lld points",
                       (long long)n);
    }
    double *p0 = buf, *p1 = buf + n1, *p2 = buf + 2 * n1, *d = buf + 3 * n1,
           *a = buf + 4 * n1;
    double sw = 0.0, swx = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sw += w[i];
        swx += w[i] * x[i];
    }
    double mean = swx / sw;
    p0[0] = p1[0] = p2[0] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double dx = x[i] - mean;
        p0[i + 1] = p0[i] + w[i];
        p1[i + 1] = p1[i] + w[i] * dx;
        p2[i + 1] = p2[i] + w[i] * dx * dx;
    }
    dp_ctx c = {p0, p1, p2, a, hxq_cpu_has_avx2() ? kmeans_argmin_avx2 : kmeans_argmin_ref,
                d, arg, NULL, 0};
    /* layer 1: one cluster over [0, i) */
    for (int64_t i = 1; i <= n; i++) {
        d[i] = dp_cost(&c, 0, i);
        arg[i] = 0;
    }
    for (int m = 2; m <= k; m++) {
        /* candidates j of layer m-1 are [m-1, n-(k-m+1)] */
        for (int64_t j = m - 1; j <= n - (k - m + 1); j++)
            a[j] = d[j] - p2[j];
        c.arg = arg + (int64_t)(m - 1) * n1;
        c.parg = m > 2 ? arg + (int64_t)(m - 2) * n1 : NULL;
        c.parg_hi = n - (k - m + 1);
        /* D[m][i] is needed for i in [m, n - (k - m)] */
        dp_solve(&c, m, n - (k - m), m - 1, n - 1);
    }
    double total = d[n] > 0.0 ? d[n] : 0.0;
    int64_t st[HXQ_KMEANS_MAX_K];
    int64_t i = n;
    for (int m = k; m >= 1; m--) {
        int64_t j = arg[(int64_t)(m - 1) * n1 + i];
        st[m - 1] = j;
        i = j;
    }
    dp_centers(x, w, n, k, st, centers);
    if (starts)
        memcpy(starts, st, (size_t)k * sizeof(int64_t));
    if (cost)
        *cost = total;
    free(buf);
    free(arg);
    return HXQ_OK;
}
