/* test_encode.c - hxq_codec_encode(): assignment (nearest entry, ties to
 * the lower index), exactness on few distinct values, degenerate shapes,
 * dtypes, budgets, errors, statistics and determinism across threads. */
#include "codec_test_util.h"
#include "hxq_codec.h"
#include "hxq_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every element's effective value and every non-sidecar index is the
 * nearest codebook entry (lowest index on a tie); sidecar is exact. */
static void check_encoded(const hxq_encoded *e, const void *src, hxq_dtype dt)
{
    int64_t total = e->rows * e->cols, s = 0;
    for (int c = 1; c < HXQ_CODEBOOK_SIZE; c++)
        ck_assert(e->codebook[c] >= e->codebook[c - 1]);
    for (int64_t p = 0; p < total; p++) {
        float x = dt == HXQ_DT_BF16 ? hxq_bf16_to_f32(((const uint16_t *)src)[p])
                  : dt == HXQ_DT_F16 ? hxq_f16_to_f32(((const uint16_t *)src)[p])
                                     : ((const float *)src)[p];
        if (s < e->n_sidecar && e->sidecar_pos[s] == p) {
            ck_assert_uint_eq(hxq_f32_bits(e->sidecar_val[s]), hxq_f32_bits(x));
            s++;
            continue;
        }
        int best = 0;
        double bd = INFINITY;
        for (int c = 0; c < HXQ_CODEBOOK_SIZE; c++) {
            double d = fabs((double)x - (double)e->codebook[c]);
            if (d < bd) {
                bd = d;
                best = c;
            }
        }
        ck_assert_msg(e->indices[p] == best, "element %lld: index %d, nearest %d",
                      (long long)p, e->indices[p], best);
    }
    ck_assert_int_eq(s, e->n_sidecar);
}

START_TEST(test_heavy_tailed_bf16)
{
    int64_t rows = 96, cols = 160;
    uint16_t *w = malloc(sizeof(uint16_t) * (size_t)(rows * cols));
    ck_assert_ptr_nonnull(w);
    ctu_fill_bf16(3, rows * cols, w);
    hxq_encoded e;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_codec_encode("t.weight", w, HXQ_DT_BF16, rows, cols, NULL, &e, &err),
                     HXQ_OK);
    ck_assert_int_eq(e.rows, rows);
    ck_assert_int_eq(e.n_sidecar, hxq_codec_reference_budget("t.weight", w, HXQ_DT_BF16, rows,
                                                             cols));
    ck_assert_int_gt(e.n_sidecar, 0);
    check_encoded(&e, w, HXQ_DT_BF16);
    hxq_qmatrix v = hxq_encoded_view(&e);
    hxq_matrix_stats st;
    ck_assert_int_eq(hxq_codec_stats(w, HXQ_DT_BF16, &v, &st, &err), HXQ_OK);
    ck_assert(fabs(st.snr_db - e.stats.snr_db) < 1e-9 * fabs(st.snr_db));
    ck_assert(fabs(st.mse - e.stats.mse) <= 1e-9 * st.mse);
    ck_assert(fabs(st.max_abs_err - e.stats.max_abs_err) <= 1e-12);
    ck_assert(fabs(st.cosine - e.stats.cosine) < 1e-12);
    ck_assert_int_eq(st.n_sidecar, e.n_sidecar);
    ck_assert(st.snr_db > 30.0 && st.cosine > 0.999);
    /* the same values as F32 take the same exact path: same bytes */
    float *f = malloc(sizeof(float) * (size_t)(rows * cols));
    ck_assert_ptr_nonnull(f);
    for (int64_t i = 0; i < rows * cols; i++)
        f[i] = hxq_bf16_to_f32(w[i]);
    hxq_encoded g;
    ck_assert_int_eq(hxq_codec_encode("t.weight", f, HXQ_DT_F32, rows, cols, NULL, &g, &err),
                     HXQ_OK);
    ck_assert_mem_eq(g.codebook, e.codebook, sizeof(e.codebook));
    ck_assert_mem_eq(g.indices, e.indices, (size_t)(rows * cols));
    ck_assert_int_eq(g.n_sidecar, e.n_sidecar);
    ck_assert_mem_eq(g.sidecar_pos, e.sidecar_pos, sizeof(int64_t) * (size_t)e.n_sidecar);
    hxq_encoded_free(&g);
    hxq_encoded_free(&e);
    hxq_encoded_free(NULL);
    free(f);
    free(w);
}
END_TEST

START_TEST(test_f32_many_distinct_values)
{
    /* more distinct values than the DP takes: binned DP + Lloyd polish */
    int64_t rows = 300, cols = 300, n = rows * cols;
    float *f = malloc(sizeof(float) * (size_t)n);
    ck_assert_ptr_nonnull(f);
    uint64_t s = 11;
    for (int64_t i = 0; i < n; i++)
        f[i] = ctu_weight(&s) + 1e-7f * (float)ctu_unit(&s);
    hxq_encoded e;
    hxq_encode_opts o = hxq_encode_opts_default();
    o.sidecar_mode = HXQ_SIDECAR_COUNT;
    o.sidecar_count = 100;
    ck_assert_int_eq(hxq_codec_encode("f", f, HXQ_DT_F32, rows, cols, &o, &e, NULL), HXQ_OK);
    ck_assert_int_eq(e.n_sidecar, 100);
    check_encoded(&e, f, HXQ_DT_F32);
    ck_assert(e.stats.snr_db > 30.0);
    hxq_encoded_free(&e);
    free(f);
}
END_TEST

START_TEST(test_f16_source)
{
    int64_t n = 64 * 64;
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t)n);
    ck_assert_ptr_nonnull(h);
    uint64_t s = 5;
    for (int64_t i = 0; i < n; i++)
        h[i] = hxq_f32_to_f16(ctu_weight(&s));
    hxq_encoded e;
    ck_assert_int_eq(hxq_codec_encode("h", h, HXQ_DT_F16, 64, 64, NULL, &e, NULL), HXQ_OK);
    check_encoded(&e, h, HXQ_DT_F16);
    hxq_encoded_free(&e);
    free(h);
}
END_TEST

START_TEST(test_few_distinct_values_exact)
{
    uint16_t w[40 * 10];
    for (int i = 0; i < 400; i++) /* 100 distinct values incl. +0 and -0 */
        w[i] = hxq_f32_to_bf16((float)((i * 37) % 100 - 50) * 0.125f);
    w[7] = 0x8000;
    hxq_encode_opts o = hxq_encode_opts_default();
    o.sidecar_mode = HXQ_SIDECAR_NONE;
    hxq_encoded e;
    ck_assert_int_eq(hxq_codec_encode("few", w, HXQ_DT_BF16, 40, 10, &o, &e, NULL), HXQ_OK);
    ck_assert_int_eq(e.n_sidecar, 0);
    ck_assert(e.stats.mse == 0.0 && isinf(e.stats.snr_db) && e.stats.cosine == 1.0);
    float d[400];
    hxq_qmatrix v = hxq_encoded_view(&e);
    hxq_codec_decode_f32(&v, 0, 40, d);
    for (int i = 0; i < 400; i++)
        ck_assert(d[i] == hxq_bf16_to_f32(w[i]));
    check_encoded(&e, w, HXQ_DT_BF16);
    hxq_encoded_free(&e);
}
END_TEST

START_TEST(test_all_equal_and_empty)
{
    uint16_t w[6] = {0x3f80, 0x3f80, 0x3f80, 0x3f80, 0x3f80, 0x3f80};
    hxq_encoded e;
    ck_assert_int_eq(hxq_codec_encode("eq", w, HXQ_DT_BF16, 2, 3, NULL, &e, NULL), HXQ_OK);
    for (int c = 0; c < HXQ_CODEBOOK_SIZE; c++)
        ck_assert(e.codebook[c] == 1.0f);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(e.indices[i], 0);
    ck_assert(e.stats.mse == 0.0);
    hxq_encoded_free(&e);
    ck_assert_int_eq(hxq_codec_encode("empty", NULL, HXQ_DT_BF16, 0, 7, NULL, &e, NULL), HXQ_OK);
    ck_assert_int_eq(e.rows, 0);
    ck_assert_int_eq(e.n_sidecar, 0);
    for (int c = 0; c < HXQ_CODEBOOK_SIZE; c++)
        ck_assert(e.codebook[c] == 0.0f);
    hxq_encoded_free(&e);
    uint16_t z[4] = {0, 0x8000, 0, 0};
    ck_assert_int_eq(hxq_codec_encode("zero", z, HXQ_DT_BF16, 2, 2, NULL, &e, NULL), HXQ_OK);
    ck_assert(e.stats.mse == 0.0 && e.stats.cosine == 1.0);
    hxq_encoded_free(&e);
}
END_TEST

START_TEST(test_nonfinite_rejected)
{
    uint16_t w[12];
    for (int i = 0; i < 12; i++)
        w[i] = hxq_f32_to_bf16(0.01f * (float)i);
    hxq_error err = {0};
    hxq_encoded e;
    memset(&e, 0xab, sizeof(e));
    hxq_encoded before = e;
    uint16_t specials[3] = {0x7fc0, 0x7f80, 0xff80};
    for (int k = 0; k < 3; k++) {
        w[9] = specials[k];
        ck_assert_int_eq(hxq_codec_encode("layers.1.mlp.up_proj.weight", w, HXQ_DT_BF16, 3, 4,
                                          NULL, &e, &err),
                         HXQ_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(err.msg, "layers.1.mlp.up_proj.weight"));
        ck_assert_ptr_nonnull(strstr(err.msg, "position 9"));
        ck_assert_mem_eq(&e, &before, sizeof(e));
    }
    ck_assert_ptr_nonnull(strstr(err.msg, "infinite"));
    float f[4] = {0.0f, 1.0f, NAN, 2.0f};
    ck_assert_int_eq(hxq_codec_encode("f", f, HXQ_DT_F32, 2, 2, NULL, &e, &err),
                     HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "nan"));
    uint16_t h[2] = {0x3c00, 0x7c00};
    ck_assert_int_eq(hxq_codec_encode("h", h, HXQ_DT_F16, 1, 2, NULL, &e, &err),
                     HXQ_ERR_FORMAT);
}
END_TEST

START_TEST(test_bad_arguments)
{
    int32_t i32[4] = {0};
    uint16_t w[4] = {0};
    hxq_error err = {0};
    hxq_encoded e;
    ck_assert_int_eq(hxq_codec_encode("i", i32, HXQ_DT_I32, 2, 2, NULL, &e, &err),
                     HXQ_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "I32"));
    ck_assert_int_eq(hxq_codec_encode("n", w, HXQ_DT_BF16, -1, 2, NULL, &e, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_codec_encode("n", w, HXQ_DT_BF16, INT64_MAX, 2, NULL, &e, &err),
                     HXQ_ERR_INVALID);
    hxq_encode_opts o = hxq_encode_opts_default();
    o.sidecar_mode = HXQ_SIDECAR_COUNT;
    o.sidecar_count = -3;
    ck_assert_int_eq(hxq_codec_encode("c", w, HXQ_DT_BF16, 2, 2, &o, &e, &err),
                     HXQ_ERR_INVALID);
    o.sidecar_mode = HXQ_SIDECAR_FRACTION;
    o.sidecar_fraction = 1.5;
    ck_assert_int_eq(hxq_codec_encode("c", w, HXQ_DT_BF16, 2, 2, &o, &e, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_codec_reference_budget("i", i32, HXQ_DT_I32, 2, 2),
                     HXQ_ERR_UNSUPPORTED);
}
END_TEST

START_TEST(test_budget_modes)
{
    int64_t rows = 50, cols = 40, n = rows * cols;
    uint16_t *w = malloc(sizeof(uint16_t) * (size_t)n);
    ck_assert_ptr_nonnull(w);
    ctu_fill_bf16(8, n, w);
    hxq_encode_opts o = hxq_encode_opts_default();
    hxq_encoded e;
    o.sidecar_mode = HXQ_SIDECAR_COUNT;
    o.sidecar_count = 37;
    ck_assert_int_eq(hxq_codec_encode("m", w, HXQ_DT_BF16, rows, cols, &o, &e, NULL), HXQ_OK);
    ck_assert_int_eq(e.n_sidecar, 37);
    check_encoded(&e, w, HXQ_DT_BF16);
    hxq_encoded_free(&e);
    o.sidecar_count = n + 10; /* everything exact */
    ck_assert_int_eq(hxq_codec_encode("m", w, HXQ_DT_BF16, rows, cols, &o, &e, NULL), HXQ_OK);
    ck_assert_int_eq(e.n_sidecar, n);
    ck_assert(e.stats.mse == 0.0);
    hxq_encoded_free(&e);
    o.sidecar_mode = HXQ_SIDECAR_FRACTION;
    o.sidecar_fraction = 0.0123; /* 24.6 -> 25 */
    ck_assert_int_eq(hxq_codec_encode("m", w, HXQ_DT_BF16, rows, cols, &o, &e, NULL), HXQ_OK);
    ck_assert_int_eq(e.n_sidecar, 25);
    hxq_encoded_free(&e);
    o.sidecar_mode = HXQ_SIDECAR_NONE;
    ck_assert_int_eq(hxq_codec_encode("m", w, HXQ_DT_BF16, rows, cols, &o, &e, NULL), HXQ_OK);
    ck_assert_int_eq(e.n_sidecar, 0);
    check_encoded(&e, w, HXQ_DT_BF16);
    hxq_encoded_free(&e);
    free(w);
}
END_TEST

/* Many small matrices with awkward values: invariants must hold for all. */
START_TEST(test_random_small_matrices)
{
    uint64_t s = 1234;
    uint16_t w[24 * 24];
    for (int trial = 0; trial < 300; trial++) {
        int64_t rows = (int64_t)(ctu_rng(&s) % 25), cols = (int64_t)(ctu_rng(&s) % 25);
        int64_t n = rows * cols;
        int kind = trial % 5;
        for (int64_t i = 0; i < n; i++) {
            uint64_t r = ctu_rng(&s);
            switch (kind) {
            case 0: w[i] = (uint16_t)(r % 0x7f80u) | (uint16_t)(r & 0x8000u); break; /* any finite */
            case 1: w[i] = (uint16_t)(0x3f80u + r % 3u); break;        /* 3 distinct values  */
            case 2: w[i] = (uint16_t)((r & 1u) ? 0x8000u : 0u); break;  /* +0 and -0          */
            case 3: w[i] = (uint16_t)(r % 0x0080u); break;              /* subnormals         */
            default: w[i] = hxq_f32_to_bf16(ctu_weight(&s)); break;
            }
        }
        hxq_encode_opts o = hxq_encode_opts_default();
        if (trial % 3) {
            o.sidecar_mode = HXQ_SIDECAR_COUNT;
            o.sidecar_count = (int64_t)(ctu_rng(&s) % (uint64_t)(n + 4));
        }
        hxq_encoded e;
        ck_assert_int_eq(hxq_codec_encode("r", w, HXQ_DT_BF16, rows, cols, &o, &e, NULL),
                         HXQ_OK);
        if (trial % 3)
            ck_assert_int_eq(e.n_sidecar, o.sidecar_count < n ? o.sidecar_count : n);
        hxq_qmatrix v = hxq_encoded_view(&e);
        ck_assert_int_eq(hxq_codec_check("r", &v, NULL), HXQ_OK);
        check_encoded(&e, w, HXQ_DT_BF16);
        ck_assert(e.stats.mse >= 0.0 && e.stats.cosine <= 1.0 + 1e-12);
        hxq_encoded_free(&e);
    }
}
END_TEST

typedef struct enc_job {
    const uint16_t *w;
    int64_t rows, cols;
    hxq_encoded e;
    int rc;
} enc_job;

static void *enc_thread(void *arg)
{
    enc_job *j = arg;
    j->rc = hxq_codec_encode("mlp.experts.3.down_proj.weight", j->w, HXQ_DT_BF16, j->rows,
                             j->cols, NULL, &j->e, NULL);
    return NULL;
}

START_TEST(test_deterministic_across_threads)
{
    int64_t rows = 128, cols = 200, n = rows * cols;
    uint16_t *w = malloc(sizeof(uint16_t) * (size_t)n);
    ck_assert_ptr_nonnull(w);
    ctu_fill_bf16(21, n, w);
    enc_job jobs[4];
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        memset(&jobs[t], 0, sizeof(jobs[t]));
        jobs[t].w = w;
        jobs[t].rows = rows;
        jobs[t].cols = cols;
        ck_assert_int_eq(pthread_create(&th[t], NULL, enc_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    enc_job one;
    memset(&one, 0, sizeof(one));
    one.w = w;
    one.rows = rows;
    one.cols = cols;
    enc_thread(&one);
    ck_assert_int_eq(one.rc, HXQ_OK);
    for (int t = 0; t < 4; t++) {
        hxq_encoded *a = &jobs[t].e, *b = &one.e;
        ck_assert_int_eq(jobs[t].rc, HXQ_OK);
        ck_assert_mem_eq(a->codebook, b->codebook, sizeof(a->codebook));
        ck_assert_mem_eq(a->indices, b->indices, (size_t)n);
        ck_assert_int_eq(a->n_sidecar, b->n_sidecar);
        ck_assert_mem_eq(a->sidecar_pos, b->sidecar_pos, sizeof(int64_t) * (size_t)a->n_sidecar);
        ck_assert_mem_eq(a->sidecar_val, b->sidecar_val, sizeof(float) * (size_t)a->n_sidecar);
        hxq_encoded_free(a);
    }
    hxq_encoded_free(&one.e);
    free(w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codec_encode");
    TCase *tc = tcase_create("encode");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_heavy_tailed_bf16);
    tcase_add_test(tc, test_f32_many_distinct_values);
    tcase_add_test(tc, test_f16_source);
    tcase_add_test(tc, test_few_distinct_values_exact);
    tcase_add_test(tc, test_all_equal_and_empty);
    tcase_add_test(tc, test_nonfinite_rejected);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_budget_modes);
    tcase_add_test(tc, test_random_small_matrices);
    tcase_add_test(tc, test_deterministic_across_threads);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
