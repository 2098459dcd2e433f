/* test_sidecar.c - the sidecar: the reference's count rule (checked
 * against an independent numpy-style percentile), never worse than the
 * reference's own choice with an optimal codebook, lowest positions first
 * within a value, and the exact-refit option. */
#include "codec_test_util.h"
#include "hxq_codec.h"
#include "hxq_kmeans.h"
#include "hxq_test.h"

#include <stdlib.h>
#include <string.h>

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(sorted, q), linear interpolation, in double. */
static double np_percentile(const float *sorted, int64_t n, double q)
{
    double vi = (q / 100.0) * (double)(n - 1);
    int64_t i = (int64_t)floor(vi);
    double g = vi - (double)i, a = sorted[i], b = sorted[i + 1 < n ? i + 1 : n - 1];
    return g < 0.5 ? a + (b - a) * g : b - (b - a) * (1.0 - g);
}

/* The reference's rule, written out independently: count strictly
 * outside the band, capped. lo/hi receive the band. */
static int64_t reference_count(const uint16_t *w, int64_t n, double q, int64_t cap,
                               double *lo, double *hi)
{
    float *s = malloc(sizeof(float) * (size_t)n);
    ck_assert_ptr_nonnull(s);
    for (int64_t i = 0; i < n; i++)
        s[i] = hxq_bf16_to_f32(w[i]);
    qsort(s, (size_t)n, sizeof(float), cmp_float);
    *lo = np_percentile(s, n, 100.0 - q);
    *hi = np_percentile(s, n, q);
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        c += s[i] < *lo || s[i] > *hi;
    free(s);
    return c < cap ? c : cap;
}

START_TEST(test_reference_budget_rule)
{
    struct { const char *name; int64_t rows, cols; double q; int64_t cap; } cases[] = {
        {"model.layers.0.self_attn.q_proj.weight", 64, 96, 99.95, 512},
        {"model.layers.0.self_attn.k_proj", 64, 96, 99.95, 512},
        {"model.layers.0.self_attn.v_proj.weight", 64, 96, 99.9, 512},
        {"model.layers.0.self_attn.o_proj.weight", 700, 1000, 99.9, 512},
        {"model.layers.0.mlp.experts.5.up_proj.weight", 64, 96, 99.9, 256},
        {"model.layers.0.mlp.experts.5.down_proj.weight", 700, 1000, 99.9, 256},
        {"model.layers.0.mlp.gate.weight", 16, 256, 99.9, 256},
        {"model.layers.0.mlp.gate.weight", 700, 1000, 99.9, 256},
    };
    uint16_t *w = malloc(sizeof(uint16_t) * 700 * 1000);
    ck_assert_ptr_nonnull(w);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int64_t n = cases[c].rows * cases[c].cols;
        ctu_fill_bf16(100 + c, n, w);
        double lo, hi;
        int64_t want = reference_count(w, n, cases[c].q, cases[c].cap, &lo, &hi);
        int64_t got = hxq_codec_reference_budget(cases[c].name, w, HXQ_DT_BF16, cases[c].rows,
                                                 cases[c].cols);
        ck_assert_msg(got == want, "%s: %lld vs %lld", cases[c].name, (long long)got,
                      (long long)want);
        if (n > 100000)
            ck_assert_int_eq(got, cases[c].cap);
    }
    ck_assert_int_eq(hxq_codec_reference_budget("x", w, HXQ_DT_BF16, 0, 5), 0);
    free(w);
}
END_TEST

/* Squared error of the optimal codebook over the elements not in `side`. */
static double optimal_rest_cost(const uint16_t *w, int64_t n, const char *side)
{
    float *s = malloc(sizeof(float) * (size_t)n);
    double *x = malloc(sizeof(double) * (size_t)n), *c = malloc(sizeof(double) * (size_t)n);
    ck_assert(s && x && c);
    int64_t m = 0, k = 0;
    for (int64_t i = 0; i < n; i++)
        if (!side[i])
            s[m++] = hxq_bf16_to_f32(w[i]);
    qsort(s, (size_t)m, sizeof(float), cmp_float);
    for (int64_t i = 0; i < m; i++) {
        if (k > 0 && x[k - 1] == s[i]) {
            c[k - 1] += 1.0;
        } else {
            x[k] = s[i];
            c[k++] = 1.0;
        }
    }
    double centers[256], cost;
    ck_assert_int_eq(hxq_kmeans_optimal(x, c, k, 256, centers, NULL, &cost, NULL), HXQ_OK);
    for (int i = 0; i < 256; i++) /* the stored codebook is float */
        centers[i] = (float)centers[i];
    cost = hxq_kmeans_cost(x, c, k, centers, 256);
    free(s);
    free(x);
    free(c);
    return cost;
}

START_TEST(test_never_worse_than_reference_choice)
{
    int64_t rows = 120, cols = 250, n = rows * cols;
    uint16_t *w = malloc(sizeof(uint16_t) * (size_t)n);
    char *side = calloc((size_t)n, 1);
    int64_t *order = malloc(sizeof(int64_t) * (size_t)n);
    ck_assert(w && side && order);
    const char *names[] = {"a.self_attn.q_proj.weight", "a.mlp.experts.1.up_proj.weight"};
    for (int t = 0; t < 2; t++) {
        ctu_fill_bf16(500 + t, n, w);
        double lo, hi;
        int64_t budget = reference_count(w, n, t == 0 ? 99.95 : 99.9, t == 0 ? 512 : 256, &lo,
                                         &hi);
        /* the reference's set: band elements, largest |value| first */
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++) {
            float v = hxq_bf16_to_f32(w[i]);
            if (v < lo || v > hi)
                order[m++] = i;
        }
        for (int64_t a = 1; a < m; a++) /* insertion sort by |v| descending */
            for (int64_t b = a; b > 0 && fabsf(hxq_bf16_to_f32(w[order[b - 1]])) <
                                             fabsf(hxq_bf16_to_f32(w[order[b]]));
                 b--) {
                int64_t tmp = order[b];
                order[b] = order[b - 1];
                order[b - 1] = tmp;
            }
        memset(side, 0, (size_t)n);
        for (int64_t i = 0; i < budget; i++)
            side[order[i]] = 1;
        double ref = optimal_rest_cost(w, n, side);
        hxq_encoded e;
        ck_assert_int_eq(hxq_codec_encode(names[t], w, HXQ_DT_BF16, rows, cols, NULL, &e, NULL),
                         HXQ_OK);
        ck_assert_int_eq(e.n_sidecar, budget);
        double ours = e.stats.mse * (double)n;
        ck_assert_msg(ours <= ref * (1.0 + 1e-9), "%s: %.10g > reference choice %.10g",
                      names[t], ours, ref);
        /* with DP refits of the final sidecar: never worse than without */
        hxq_encode_opts o = hxq_encode_opts_default();
        o.exact_refits = 1;
        hxq_encoded x;
        ck_assert_int_eq(hxq_codec_encode(names[t], w, HXQ_DT_BF16, rows, cols, &o, &x, NULL),
                         HXQ_OK);
        ck_assert_int_eq(x.n_sidecar, budget);
        ck_assert(x.stats.mse <= e.stats.mse);
        /* a sidecar removes error: better than none */
        o = hxq_encode_opts_default();
        o.sidecar_mode = HXQ_SIDECAR_NONE;
        hxq_encoded z;
        ck_assert_int_eq(hxq_codec_encode(names[t], w, HXQ_DT_BF16, rows, cols, &o, &z, NULL),
                         HXQ_OK);
        ck_assert(e.stats.mse < z.stats.mse);
        hxq_encoded_free(&x);
        hxq_encoded_free(&z);
        hxq_encoded_free(&e);
    }
    free(w);
    free(side);
    free(order);
}
END_TEST

START_TEST(test_lowest_positions_first_within_a_value)
{
    int64_t rows = 40, cols = 50, n = rows * cols;
    uint16_t *w = malloc(sizeof(uint16_t) * (size_t)n);
    ck_assert_ptr_nonnull(w);
    ctu_fill_bf16(77, n, w);
    for (int64_t i = 3; i < n; i += 97) /* a repeated outlier */
        w[i] = hxq_f32_to_bf16(1.5f);
    for (int64_t i = 5; i < n; i += 89)
        w[i] = hxq_f32_to_bf16(-1.25f);
    int64_t budgets[] = {1, 5, 17, 30};
    for (int b = 0; b < 4; b++) {
        hxq_encode_opts o = hxq_encode_opts_default();
        o.sidecar_mode = HXQ_SIDECAR_COUNT;
        o.sidecar_count = budgets[b];
        hxq_encoded e;
        ck_assert_int_eq(hxq_codec_encode("m", w, HXQ_DT_BF16, rows, cols, &o, &e, NULL),
                         HXQ_OK);
        ck_assert_int_eq(e.n_sidecar, budgets[b]);
        hxq_qmatrix v = hxq_encoded_view(&e);
        ck_assert_int_eq(hxq_codec_check("m", &v, NULL), HXQ_OK);
        char *in = calloc((size_t)n, 1);
        ck_assert_ptr_nonnull(in);
        for (int64_t s = 0; s < e.n_sidecar; s++)
            in[e.sidecar_pos[s]] = 1;
        /* any element before a sidecar element with the same value is in it */
        for (int64_t s = 0; s < e.n_sidecar; s++) {
            float sv = hxq_bf16_to_f32(w[e.sidecar_pos[s]]);
            for (int64_t i = 0; i < e.sidecar_pos[s]; i++)
                if (hxq_bf16_to_f32(w[i]) == sv)
                    ck_assert_msg(in[i], "budget %lld: position %lld skipped",
                                  (long long)budgets[b], (long long)i);
        }
        free(in);
        hxq_encoded_free(&e);
    }
    free(w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codec_sidecar");
    TCase *tc = tcase_create("sidecar");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reference_budget_rule);
    tcase_add_test(tc, test_never_worse_than_reference_choice);
    tcase_add_test(tc, test_lowest_positions_first_within_a_value);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
