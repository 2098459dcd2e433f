/* lloyd.c - Lloyd's algorithm on sorted weighted points, nearest-centre
 * search and the k-means cost (used for polishing and as a test oracle). */
#include "kmeans_int.h"

#include <math.h>
#include <stdlib.h>

int hxq_kmeans_nearest(const double *centers, int k, double v)
{
    int lo = 0, hi = k; /* first centre >= v */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (centers[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == k)
        return k - 1;
    if (lo == 0)
        return 0;
    int lower = lo - 1;
    while (lower > 0 && centers[lower - 1] == centers[lower])
        lower--;
    return (v - centers[lower] <= centers[lo] - v) ? lower : lo;
}

double hxq_kmeans_cost(const double *x, const double *w, int64_t n, const double *centers,
                       int k)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - centers[hxq_kmeans_nearest(centers, k, x[i])];
        total += w[i] * d * d;
    }
    return total;
}

/* Nearest centre of x given j, the nearest centre of a smaller or equal
 * point (first of its equal group): the answer only moves right, ties and
 * equal centres resolve as in hxq_kmeans_nearest(). */
static inline int lloyd_walk(const double *centers, int k, int j, double x)
{
    for (;;) {
        int t = j + 1;
        while (t < k && centers[t] == centers[j])
            t++;
        if (t == k || !(fabs(x - centers[t]) < fabs(x - centers[j])))
            return j;
        j = t;
    }
}

/* ends[c] = first point whose nearest centre is above c (x sorted): one
 * walk over the points, O(n + k). */
static void lloyd_ends(const double *x, int64_t n, const double *centers, int k, int64_t *ends)
{
    int j = 0, c = 0;
    for (int64_t i = 0; i < n; i++) {
        j = lloyd_walk(centers, k, j, x[i]);
        while (c < j)
            ends[c++] = i;
    }
    while (c < k)
        ends[c++] = n;
}

/* hxq_kmeans_cost() for sorted points, by the same walk. */
static double lloyd_cost(const double *x, const double *w, int64_t n, const double *centers,
                         int k)
{
    double total = 0.0;
    int j = 0;
    for (int64_t i = 0; i < n; i++) {
        j = lloyd_walk(centers, k, j, x[i]);
        double d = x[i] - centers[j];
        total += w[i] * d * d;
    }
    return total;
}

static void lloyd_sort(double *c, int k)
{
    for (int i = 1; i < k; i++) {
        double v = c[i];
        int j = i;
        while (j > 0 && c[j - 1] > v) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = v;
    }
}

int hxq_kmeans_lloyd(const double *x, const double *w, int64_t n, int k, int iters,
                     double *centers, double *cost, hxq_error *err)
{
    if (k < 1 || k > HXQ_KMEANS_MAX_K || n < 0)
        return hxq_err(err, HXQ_ERR_INVALID, "kmeans: k %d or n %lld out of range", k,
                       (long long)n);
    HXQ_TRY(kmeans_check_points(x, w, n, 0, err));
    for (int c = 1; c < k; c++)
        if (!(centers[c] >= centers[c - 1]))
            return hxq_err(err, HXQ_ERR_INVALID, "kmeans: start centres not ascending");
    double *p = hxq_alloc_array(2 * (n + 1), sizeof(double));
    if (!p)
        return hxq_err(err, HXQ_ERR_NOMEM, "kmeans: out of memory for %lld points",
                       (long long)n);
    double *pw = p, *pwx = p + n + 1;
    pw[0] = pwx[0] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        pw[i + 1] = pw[i] + w[i];
        pwx[i + 1] = pwx[i] + w[i] * x[i];
    }
    for (int it = 0; it < iters; it++) {
        double next[HXQ_KMEANS_MAX_K];
        int64_t lo = 0, ends[HXQ_KMEANS_MAX_K];
        lloyd_ends(x, n, centers, k, ends);
        int moved = 0;
        for (int c = 0; c < k; c++) {
            int64_t hi = ends[c];
            next[c] = centers[c];
            if (hi > lo) {
                double a, b;
                if (hi - lo <= 64) { /* direct sums: exact enough for tight clusters */
                    a = b = 0.0;
                    for (int64_t t = lo; t < hi; t++) {
                        a += w[t] * x[t];
                        b += w[t];
                    }
                } else {
                    a = pwx[hi] - pwx[lo];
                    b = pw[hi] - pw[lo];
                }
                double mu = a / b;
                if (mu < x[lo])
                    mu = x[lo];
                if (mu > x[hi - 1])
                    mu = x[hi - 1];
                next[c] = mu;
            }
            lo = hi;
        }
        lloyd_sort(next, k);
        for (int c = 0; c < k; c++) {
            if (next[c] != centers[c])
                moved = 1;
            centers[c] = next[c];
        }
        if (!moved)
            break;
    }
    if (cost)
        *cost = lloyd_cost(x, w, n, centers, k);
    free(p);
    return HXQ_OK;
}
