/* test_kmeans.c - optimal 1-D k-means: equals exhaustive search over all
 * partitions on small sets, equals a plain O(k n^2) DP on medium sets
 * (ties included), is never worse than Lloyd from any start, and handles
 * degenerate and invalid inputs; the AVX2 inner minimum equals the scalar
 * one bit for bit (white-box, through kmeans_int.h). */
#include "hxq_kmeans.h"
#include "kmeans_int.h"
#include "hxq_test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
    return (double)(rng(s) >> 11) / 9007199254740992.0;
}

/* n sorted distinct points (heavy tailed when `tails`) with integer weights. */
static void make_points(uint64_t *s, int64_t n, int tails, double *x, double *w)
{
    for (int64_t i = 0; i < n; i++) {
        double u = unit(s) - 0.5;
        x[i] = tails ? u / (0.51 - fabs(u)) : u;
        w[i] = (double)(1 + rng(s) % 7);
    }
    for (int64_t i = 1; i < n; i++) /* insertion sort */
        for (int64_t j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double t = x[j];
            x[j] = x[j - 1];
            x[j - 1] = t;
        }
    for (int64_t i = 1; i < n; i++)
        if (!(x[i] > x[i - 1]))
            x[i] = nextafter(x[i - 1], INFINITY);
}

static double seg_cost(const double *x, const double *w, int64_t a, int64_t b)
{
    double sw = 0.0, swx = 0.0, c = 0.0;
    for (int64_t t = a; t < b; t++) {
        sw += w[t];
        swx += w[t] * x[t];
    }
    double mu = swx / sw;
    for (int64_t t = a; t < b; t++)
        c += w[t] * (x[t] - mu) * (x[t] - mu);
    return c;
}

/* Exhaustive: every placement of k-1 cuts among the n-1 gaps. */
static double brute(const double *x, const double *w, int n, int k, int first, int left)
{
    if (left == 1)
        return seg_cost(x, w, first, n);
    double best = INFINITY;
    for (int e = first + 1; e <= n - (left - 1); e++) {
        double c = seg_cost(x, w, first, e) + brute(x, w, n, k, e, left - 1);
        if (c < best)
            best = c;
    }
    return best;
}

/* Plain DP over all split points, no monotonicity used. */
static double plain_dp(const double *x, const double *w, int n, int k)
{
    double *d = malloc(sizeof(double) * (size_t)(n + 1) * (size_t)(k + 1));
    ck_assert_ptr_nonnull(d);
    for (int i = 0; i <= n; i++)
        d[i] = i == 0 ? 0.0 : INFINITY;
    for (int m = 1; m <= k; m++)
        for (int i = 0; i <= n; i++) {
            double best = INFINITY;
            for (int j = m - 1; j < i; j++) {
                double v = d[(m - 1) * (n + 1) + j];
                if (v < INFINITY)
                    v += seg_cost(x, w, j, i);
                if (v < best)
                    best = v;
            }
            d[m * (n + 1) + i] = best;
        }
    double r = d[k * (n + 1) + n];
    free(d);
    return r;
}

static int close_to(double a, double b, double scale)
{
    return fabs(a - b) <= 1e-9 * scale + 1e-300;
}

START_TEST(test_matches_brute_force)
{
    uint64_t s = 1;
    for (int trial = 0; trial < 300; trial++) {
        int n = 1 + (int)(rng(&s) % 11), k = 1 + (int)(rng(&s) % 5);
        double x[16], w[16], c[8];
        int64_t st[8];
        make_points(&s, n, trial % 2, x, w);
        double cost;
        ck_assert_int_eq(hxq_kmeans_optimal(x, w, n, k, c, st, &cost, NULL), HXQ_OK);
        double total = seg_cost(x, w, 0, n);
        if (n <= k) {
            ck_assert(cost == 0.0);
            continue;
        }
        double b = brute(x, w, n, k, 0, k);
        ck_assert_msg(close_to(cost, b, total), "n %d k %d dp %.17g brute %.17g", n, k, cost, b);
        /* the centres reproduce the cost and the starts partition [0, n) */
        ck_assert(close_to(hxq_kmeans_cost(x, w, n, c, k), b, total));
        ck_assert_int_eq(st[0], 0);
        for (int m = 1; m < k; m++) {
            ck_assert_int_gt(st[m], st[m - 1]);
            ck_assert(c[m] > c[m - 1]);
        }
    }
}
END_TEST

START_TEST(test_matches_plain_dp_with_ties)
{
    uint64_t s = 7;
    double x[160], w[160], c[40];
    for (int trial = 0; trial < 12; trial++) {
        int n = 60 + (int)(rng(&s) % 100), k = 2 + (int)(rng(&s) % 38);
        if (trial < 4) { /* equally spaced, equal weights: many equal costs */
            for (int i = 0; i < n; i++) {
                x[i] = i;
                w[i] = 1.0 + (trial & 1) * (i % 2);
            }
        } else {
            make_points(&s, n, trial % 2, x, w);
        }
        double cost;
        ck_assert_int_eq(hxq_kmeans_optimal(x, w, n, k, c, NULL, &cost, NULL), HXQ_OK);
        double ref = plain_dp(x, w, n, k);
        ck_assert_msg(close_to(cost, ref, seg_cost(x, w, 0, n)), "n %d k %d: %.17g vs %.17g",
                      n, k, cost, ref);
    }
}
END_TEST

START_TEST(test_never_worse_than_lloyd)
{
    uint64_t s = 99;
    int64_t n = 3000;
    double *x = malloc(sizeof(double) * (size_t)n), *w = malloc(sizeof(double) * (size_t)n);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(w);
    make_points(&s, n, 1, x, w);
    double total = seg_cost(x, w, 0, n);
    int ks[] = {1, 7, 64, 256};
    for (int t = 0; t < 4; t++) {
        int k = ks[t];
        double c[256], l[256], cost, lc;
        ck_assert_int_eq(hxq_kmeans_optimal(x, w, n, k, c, NULL, &cost, NULL), HXQ_OK);
        ck_assert(close_to(hxq_kmeans_cost(x, w, n, c, k), cost, total));
        for (int start = 0; start < 5; start++) {
            for (int m = 0; m < k; m++) /* random, quantile or the optimum itself */
                l[m] = start == 0 ? c[m] : start == 1 ? x[(int64_t)m * (n - 1) / (k > 1 ? k - 1 : 1)]
                                                     : x[rng(&s) % (uint64_t)n];
            for (int a = 1; a < k; a++) /* sort */
                for (int b = a; b > 0 && l[b - 1] > l[b]; b--) {
                    double tmp = l[b];
                    l[b] = l[b - 1];
                    l[b - 1] = tmp;
                }
            ck_assert_int_eq(hxq_kmeans_lloyd(x, w, n, k, 100, l, &lc, NULL), HXQ_OK);
            ck_assert_msg(lc >= cost - 1e-9 * total, "k %d start %d: lloyd %.17g < dp %.17g", k,
                          start, lc, cost);
        }
    }
    free(x);
    free(w);
}
END_TEST

START_TEST(test_degenerate_inputs)
{
    double x[3] = {-1.0, 0.5, 2.0}, w[3] = {1, 2, 3}, c[256];
    int64_t st[256];
    double cost = -1.0;
    ck_assert_int_eq(hxq_kmeans_optimal(x, w, 3, 256, c, st, &cost, NULL), HXQ_OK);
    ck_assert(cost == 0.0);
    ck_assert(c[0] == -1.0 && c[1] == 0.5 && c[2] == 2.0);
    for (int m = 3; m < 256; m++) {
        ck_assert(c[m] == 2.0);
        ck_assert_int_eq(st[m], 3);
    }
    ck_assert_int_eq(hxq_kmeans_optimal(x, w, 0, 4, c, st, &cost, NULL), HXQ_OK);
    for (int m = 0; m < 4; m++)
        ck_assert(c[m] == 0.0);
    /* one point, k = 1; and k == n */
    ck_assert_int_eq(hxq_kmeans_optimal(x, w, 1, 1, c, NULL, &cost, NULL), HXQ_OK);
    ck_assert(c[0] == -1.0 && cost == 0.0);
    ck_assert_int_eq(hxq_kmeans_optimal(x, w, 3, 3, c, NULL, &cost, NULL), HXQ_OK);
    ck_assert(c[1] == 0.5 && cost == 0.0);
    /* k = 1: the weighted mean */
    ck_assert_int_eq(hxq_kmeans_optimal(x, w, 3, 1, c, NULL, &cost, NULL), HXQ_OK);
    ck_assert(fabs(c[0] - (-1.0 + 1.0 + 6.0) / 6.0) < 1e-15);
}
END_TEST

START_TEST(test_invalid_inputs)
{
    double x[3] = {0.0, 1.0, 2.0}, w[3] = {1, 1, 1}, c[4] = {7, 7, 7, 7};
    hxq_error err = {0};
    ck_assert_int_eq(hxq_kmeans_optimal(x, w, 3, 0, c, NULL, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_kmeans_optimal(x, w, 3, 257, c, NULL, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_kmeans_optimal(x, w, -1, 2, c, NULL, NULL, &err), HXQ_ERR_INVALID);
    double xu[3] = {0.0, 2.0, 1.0};
    ck_assert_int_eq(hxq_kmeans_optimal(xu, w, 3, 2, c, NULL, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "sorted"));
    double xd[3] = {0.0, 1.0, 1.0};
    ck_assert_int_eq(hxq_kmeans_optimal(xd, w, 3, 2, c, NULL, NULL, &err), HXQ_ERR_INVALID);
    double wz[3] = {1, 0, 1};
    ck_assert_int_eq(hxq_kmeans_optimal(x, wz, 3, 2, c, NULL, NULL, &err), HXQ_ERR_INVALID);
    double xn[3] = {0.0, NAN, 2.0};
    ck_assert_int_eq(hxq_kmeans_optimal(xn, w, 3, 2, c, NULL, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_kmeans_lloyd(xu, w, 3, 2, 5, c, NULL, &err), HXQ_ERR_INVALID);
    double cu[2] = {1.0, 0.0};
    ck_assert_int_eq(hxq_kmeans_lloyd(x, w, 3, 2, 5, cu, NULL, &err), HXQ_ERR_INVALID);
    for (int m = 0; m < 4; m++) /* outputs untouched */
        ck_assert(c[m] == 7.0);
}
END_TEST

START_TEST(test_nearest_ties_to_lower)
{
    double c[5] = {-1.0, 0.0, 0.0, 1.0, 3.0};
    ck_assert_int_eq(hxq_kmeans_nearest(c, 5, -5.0), 0);
    ck_assert_int_eq(hxq_kmeans_nearest(c, 5, -0.5), 0);  /* tie -1 / 0 */
    ck_assert_int_eq(hxq_kmeans_nearest(c, 5, -0.25), 1);
    ck_assert_int_eq(hxq_kmeans_nearest(c, 5, 0.0), 1);   /* duplicate entries */
    ck_assert_int_eq(hxq_kmeans_nearest(c, 5, 0.5), 1);   /* tie 0 / 1 */
    ck_assert_int_eq(hxq_kmeans_nearest(c, 5, 2.0), 3);   /* tie 1 / 3 */
    ck_assert_int_eq(hxq_kmeans_nearest(c, 5, 9.0), 4);
    ck_assert_int_eq(hxq_kmeans_nearest(c, 1, 9.0), 0);
}
END_TEST

START_TEST(test_lloyd_converges_on_two_groups)
{
    double x[6] = {0.0, 0.1, 0.2, 10.0, 10.1, 10.2}, w[6] = {1, 1, 1, 1, 1, 1};
    double c[2] = {0.0, 0.1}, cost;
    ck_assert_int_eq(hxq_kmeans_lloyd(x, w, 6, 2, 20, c, &cost, NULL), HXQ_OK);
    ck_assert(fabs(c[0] - 0.1) < 1e-12 && fabs(c[1] - 10.1) < 1e-12);
    ck_assert(fabs(cost - 0.04) < 1e-12);
}
END_TEST

START_TEST(test_avx2_argmin_matches_scalar)
{
    if (!hxq_cpu_has_avx2())
        return;
    uint64_t s = 5;
    double a[200], p1[200], p0[200];
    for (int trial = 0; trial < 400; trial++) {
        double acc = 0.0;
        for (int j = 0; j < 200; j++) {
            acc += 0.5 + unit(&s);
            p0[j] = acc;
            p1[j] = unit(&s) - 0.5;
            /* coarse values (and s = 0 below) make exact ties common */
            a[j] = trial % 2 ? floor(8.0 * unit(&s)) : unit(&s);
            if (trial % 4 == 1)
                p1[j] = 0.0;
        }
        int64_t start = (int64_t)(rng(&s) % 100), end = start + (int64_t)(rng(&s) % 100);
        double q0 = acc + 1.0, q1 = trial % 4 == 1 ? 0.0 : unit(&s), b1, b2;
        int64_t j1 = kmeans_argmin_ref(a, p1, p0, start, end, q1, q0, &b1);
        int64_t j2 = kmeans_argmin_avx2(a, p1, p0, start, end, q1, q0, &b2);
        ck_assert_int_eq(j1, j2);
        ck_assert_mem_eq(&b1, &b2, sizeof(double));
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kmeans");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_matches_brute_force);
    tcase_add_test(tc, test_matches_plain_dp_with_ties);
    tcase_add_test(tc, test_never_worse_than_lloyd);
    tcase_add_test(tc, test_degenerate_inputs);
    tcase_add_test(tc, test_invalid_inputs);
    tcase_add_test(tc, test_nearest_ties_to_lower);
    tcase_add_test(tc, test_lloyd_converges_on_two_groups);
    tcase_add_test(tc, test_avx2_argmin_matches_scalar);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
