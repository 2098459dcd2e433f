/* fit.c - the codebook of a point set: globally optimal 1-D k-means over
 * the distinct values (exact for every 16-bit source), or for sources with
 * more distinct values than the DP takes, the DP over equal-count bins
 * followed by a Lloyd polish over all values. */
#include "codec_int.h"

#include <math.h>
#include <stdlib.h>

#define FIT_BINS HXQ_KMEANS_MAX_POINTS
#define FIT_POLISH_ITERS 50

/* Equal-count bins over the remaining elements: each bin is a run of
 * consecutive points, its value the weighted mean. */
static int64_t fit_bins(const double *x, const double *w, int64_t n, double total, double *bx,
                        double *bw)
{
    int64_t nb = 0;
    double acc = 0.0, sw = 0.0, swx = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sw += w[i];
        swx += w[i] * x[i];
        acc += w[i];
        double edge = total * (double)(nb + 1) / FIT_BINS;
        if (acc >= edge || i == n - 1) {
            double mu = swx / sw;
            if (nb > 0 && !(mu > bx[nb - 1])) /* keep strictly ascending */
                mu = nextafter(bx[nb - 1], INFINITY);
            bx[nb] = mu;
            bw[nb] = sw;
            nb++;
            sw = swx = 0.0;
            if (nb == FIT_BINS - 1 && i < n - 1) { /* last bin takes the rest */
                for (int64_t t = i + 1; t < n; t++) {
                    sw += w[t];
                    swx += w[t] * x[t];
                }
                mu = swx / sw;
                if (!(mu > bx[nb - 1]))
                    mu = nextafter(bx[nb - 1], INFINITY);
                bx[nb] = mu;
                bw[nb] = sw;
                nb++;
                break;
            }
        }
    }
    return nb;
}

/* The remaining points: x[n], w[n] (allocated together, free x). */
static int fit_remaining(const codec_points *p, const int64_t *take, double **xo, double **wo,
                         int64_t *no, double *total, hxq_error *err)
{
    int64_t n = 0;
    double *x = hxq_alloc_array(2 * (p->n + 1), sizeof(double));
    if (!x)
        return hxq_err(err, HXQ_ERR_NOMEM, "codec: out of memory for %lld points",
                       (long long)p->n);
    double *w = x + p->n + 1;
    *total = 0.0;
    for (int64_t i = 0; i < p->n; i++) {
        int64_t c = p->cnt[i] - (take ? take[i] : 0);
        if (c > 0) {
            x[n] = p->x[i];
            w[n] = (double)c;
            *total += w[n];
            n++;
        }
    }
    *xo = x;
    *wo = w;
    *no = n;
    return HXQ_OK;
}

/* Frees the point arrays and, on success, rounds the centres into cb. */
static int fit_store(double *x, int rc, const double *centers, float cb[HXQ_CODEBOOK_SIZE])
{
    free(x);
    if (rc != HXQ_OK)
        return rc;
    for (int c = 0; c < HXQ_CODEBOOK_SIZE; c++)
        cb[c] = (float)centers[c];
    return HXQ_OK;
}

int codec_refine(const codec_points *p, const int64_t *take, int iters,
                 float cb[HXQ_CODEBOOK_SIZE], hxq_error *err)
{
    double *x, *w, total, centers[HXQ_CODEBOOK_SIZE];
    int64_t n;
    HXQ_TRY(fit_remaining(p, take, &x, &w, &n, &total, err));
    for (int c = 0; c < HXQ_CODEBOOK_SIZE; c++)
        centers[c] = cb[c];
    int rc = hxq_kmeans_lloyd(x, w, n, HXQ_CODEBOOK_SIZE, iters, centers, NULL, err);
    return fit_store(x, rc, centers, cb);
}

int codec_fit(const codec_points *p, const int64_t *take, float cb[HXQ_CODEBOOK_SIZE],
              hxq_error *err)
{
    double *x, *w, total;
    int64_t n;
    HXQ_TRY(fit_remaining(p, take, &x, &w, &n, &total, err));
    double centers[HXQ_CODEBOOK_SIZE];
    int rc;
    if (n <= HXQ_KMEANS_MAX_POINTS) {
        rc = hxq_kmeans_optimal(x, w, n, HXQ_CODEBOOK_SIZE, centers, NULL, NULL, err);
    } else {
        double *bx = hxq_alloc_array(2 * (int64_t)FIT_BINS, sizeof(double));
        if (!bx) {
            free(x);
            return hxq_err(err, HXQ_ERR_NOMEM, "codec: out of memory for the bins");
        }
        int64_t nb = fit_bins(x, w, n, total, bx, bx + FIT_BINS);
        rc = hxq_kmeans_optimal(bx, bx + FIT_BINS, nb, HXQ_CODEBOOK_SIZE, centers, NULL,
                                NULL, err);
        free(bx);
        if (rc == HXQ_OK)
            rc = hxq_kmeans_lloyd(x, w, n, HXQ_CODEBOOK_SIZE, FIT_POLISH_ITERS, centers,
                                  NULL, err);
    }
    return fit_store(x, rc, centers, cb);
}
