/* test_tiny_olmoe.c - the codec on every compressible matrix of the
 * tiny-olmoe fixture, against the reference compressor's output: same
 * sidecar count (and the reference's set is its percentile band), SNR at
 * least the reference's (its own tensors decoded here, and
 * golden_helix.json matrix_error), exact sidecar values. */
#include "hxq_codec.h"
#include "hxq_test.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    hxq_ckpt *dense, *helix;
    hxq_qconfig q;
    cJSON *golden;
} fixture;

static void fixture_open(fixture *f)
{
    hxq_error err = {0};
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_DENSE, &f->dense, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_HELIX, &f->helix, &err), HXQ_OK);
    ck_assert_int_eq(hxq_qconfig_load(HXQ_FIXTURE_HELIX, &f->q, &err), HXQ_OK);
    size_t len;
    char *text = (char *)hxq_test_read_file(HXQ_FIXTURE_GOLDEN "/golden_helix.json", &len);
    ck_assert_ptr_nonnull(text);
    f->golden = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_ptr_nonnull(f->golden);
}

static void fixture_close(fixture *f)
{
    cJSON_Delete(f->golden);
    hxq_qconfig_free(&f->q);
    hxq_ckpt_close(f->dense);
    hxq_ckpt_close(f->helix);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(sorted, q) (linear), in double. */
static double np_percentile(const float *s, int64_t n, double q)
{
    double vi = (q / 100.0) * (double)(n - 1);
    int64_t i = (int64_t)floor(vi);
    double g = vi - (double)i, a = s[i], b = s[i + 1 < n ? i + 1 : n - 1];
    return g < 0.5 ? a + (b - a) * g : b - (b - a) * (1.0 - g);
}

/* The reference's positions are exactly the elements strictly outside
 * its percentile band (no cap is reached on this model). */
static void check_reference_set(const char *mod, const uint16_t *src, int64_t n,
                                const hxq_module *ref)
{
    float *s = malloc(sizeof(float) * (size_t)n);
    ck_assert_ptr_nonnull(s);
    for (int64_t i = 0; i < n; i++)
        s[i] = hxq_bf16_to_f32(src[i]);
    qsort(s, (size_t)n, sizeof(float), cmp_float);
    int qk = strstr(mod, "q_proj") || strstr(mod, "k_proj");
    double q = qk ? 99.95 : 99.9;
    double lo = np_percentile(s, n, 100.0 - q), hi = np_percentile(s, n, q);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = hxq_bf16_to_f32(src[i]);
        if (v < lo || v > hi) {
            ck_assert_msg(k < ref->m.n_sidecar && ref->m.sidecar_pos[k] == i,
                          "%s: reference sidecar differs at %lld", mod, (long long)i);
            /* and its values are the source values, bit for bit */
            ck_assert_uint_eq(hxq_f32_bits(ref->m.sidecar_val[k]), (uint32_t)src[i] << 16);
            k++;
        }
    }
    ck_assert_int_eq(k, ref->m.n_sidecar);
    free(s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(test_every_matrix_beats_reference)
{
    fixture f;
    fixture_open(&f);
    ck_assert_int_eq(f.q.n_modules, 212);
    cJSON *me = cJSON_GetObjectItemCaseSensitive(f.golden, "matrix_error");
    ck_assert_ptr_nonnull(me);
    double *gain = calloc((size_t)f.q.n_modules, sizeof(double));
    double *ours = calloc((size_t)f.q.n_modules, sizeof(double));
    ck_assert_ptr_nonnull(gain);
    ck_assert_ptr_nonnull(ours);
    for (int64_t i = 0; i < f.q.n_modules; i++) {
        const char *mod = f.q.modules[i];
        char wname[512];
        snprintf(wname, sizeof(wname), "%s.weight", mod);
        const hxq_tensor *w = hxq_ckpt_find(f.dense, wname);
        ck_assert_ptr_nonnull(w);
        ck_assert_int_eq(w->dtype, HXQ_DT_BF16);
        hxq_error err = {0};
        hxq_module ref;
        ck_assert_msg(hxq_module_load(f.helix, mod, f.q.packed12, &ref, &err) == HXQ_OK, "%s",
                      err.msg);
        ck_assert_int_eq(ref.m.rows, w->shape[0]);
        ck_assert_int_eq(ref.m.cols, w->shape[1]);
        check_reference_set(mod, w->data, w->nelem, &ref);
        hxq_matrix_stats rs;
        ck_assert_int_eq(hxq_codec_stats(w->data, w->dtype, &ref.m, &rs, &err), HXQ_OK);
        /* our decoding of the reference agrees with the recorded golden */
        cJSON *g = cJSON_GetObjectItemCaseSensitive(me, wname);
        ck_assert_ptr_nonnull(g);
        double gsnr = cJSON_GetObjectItemCaseSensitive(g, "snr_db")->valuedouble;
        ck_assert_msg(fabs(rs.snr_db - gsnr) < 1e-3, "%s: reference snr %f vs golden %f", mod,
                      rs.snr_db, gsnr);

        hxq_encoded e;
        hxq_encode_opts o = hxq_encode_opts_default();
        ck_assert_msg(hxq_codec_encode(wname, w->data, w->dtype, w->shape[0], w->shape[1], &o,
                                       &e, &err) == HXQ_OK, "%s", err.msg);
        ck_assert_int_eq(hxq_codec_reference_budget(wname, w->data, w->dtype, w->shape[0],
                                                    w->shape[1]), ref.m.n_sidecar);
        ck_assert_msg(e.n_sidecar == ref.m.n_sidecar, "%s: sidecar %lld vs reference %lld",
                      mod, (long long)e.n_sidecar, (long long)ref.m.n_sidecar);
        hxq_qmatrix v = hxq_encoded_view(&e);
        ck_assert_int_eq(hxq_codec_check(wname, &v, &err), HXQ_OK);
        hxq_matrix_stats os;
        ck_assert_int_eq(hxq_codec_stats(w->data, w->dtype, &v, &os, &err), HXQ_OK);
        ck_assert_msg(os.snr_db >= rs.snr_db && os.snr_db >= gsnr,
                      "%s: snr %f below reference %f", mod, os.snr_db, rs.snr_db);
        ck_assert_msg(fabs(os.snr_db - e.stats.snr_db) < 1e-6, "%s: stats %f vs %f", mod,
                      os.snr_db, e.stats.snr_db);
        /* sidecar values are the source values, bit for bit */
        const uint16_t *src = w->data;
        for (int64_t s = 0; s < e.n_sidecar; s++)
            ck_assert_uint_eq(hxq_f32_bits(e.sidecar_val[s]),
                              (uint32_t)src[e.sidecar_pos[s]] << 16);
        gain[i] = os.snr_db - rs.snr_db;
        ours[i] = os.snr_db;
        hxq_encoded_free(&e);
        hxq_module_free(&ref);
    }
    qsort(gain, (size_t)f.q.n_modules, sizeof(double), cmp_double);
    qsort(ours, (size_t)f.q.n_modules, sizeof(double), cmp_double);
    int64_t n = f.q.n_modules;
    fprintf(stderr, "tiny-olmoe: %lld matrices, snr dB min %.2f median %.2f max %.2f; "
                    "gain over reference min %.2f median %.2f max %.2f\n",
            (long long)n, ours[0], ours[n / 2], ours[n - 1], gain[0], gain[n / 2], gain[n - 1]);
    free(gain);
    free(ours);
    fixture_close(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codec_tiny_olmoe");
    TCase *tc = tcase_create("fixture");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_every_matrix_beats_reference);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
