/* test_decode.c - decoding (F32, BF16, row ranges, sidecar replacing),
 * the round trip of an encoded matrix, hxq_codec_check and
 * hxq_codec_stats. */
#include "codec_test_util.h"
#include "hxq_codec.h"
#include "hxq_test.h"

#include <stdlib.h>
#include <string.h>

static float cb[HXQ_CODEBOOK_SIZE];
static const uint8_t idx[12] = {0, 1, 2, 3, 4, 5, 6, 7, 255, 9, 10, 11};
static int64_t pos[3] = {0, 5, 11};
static float val[3] = {-7.0f, 3.25f, 1e-3f};

static hxq_qmatrix small(void)
{
    for (int c = 0; c < HXQ_CODEBOOK_SIZE; c++)
        cb[c] = 0.5f * (float)c;
    hxq_qmatrix m = {3, 4, cb, idx, 3, pos, val};
    return m;
}

START_TEST(test_decode_rows_and_sidecar)
{
    hxq_qmatrix m = small();
    float want[12], out[12];
    for (int p = 0; p < 12; p++)
        want[p] = cb[idx[p]];
    want[0] = -7.0f;
    want[5] = 3.25f;
    want[11] = 1e-3f;
    hxq_codec_decode_f32(&m, 0, 3, out);
    ck_assert_mem_eq(out, want, sizeof(want));
    for (int r = 0; r < 3; r++) { /* single rows, including the sidecar ones */
        float row[4];
        hxq_codec_decode_f32(&m, r, r + 1, row);
        ck_assert_mem_eq(row, want + 4 * r, sizeof(row));
    }
    hxq_codec_decode_f32(&m, 1, 1, out); /* empty range writes nothing */
    uint16_t b[12];
    hxq_codec_decode_bf16(&m, 0, 3, b);
    for (int p = 0; p < 12; p++)
        ck_assert_uint_eq(b[p], hxq_f32_to_bf16(want[p]));
    uint16_t b2[4];
    hxq_codec_decode_bf16(&m, 2, 3, b2);
    ck_assert_mem_eq(b2, b + 8, sizeof(b2));
}
END_TEST

START_TEST(test_round_trip_of_encoded)
{
    int64_t rows = 60, cols = 70, n = rows * cols;
    uint16_t *w = malloc(sizeof(uint16_t) * (size_t)n);
    float *d = malloc(sizeof(float) * (size_t)n), *dr = malloc(sizeof(float) * (size_t)n);
    ck_assert(w && d && dr);
    ctu_fill_bf16(9, n, w);
    hxq_encode_opts o = hxq_encode_opts_default();
    o.sidecar_mode = HXQ_SIDECAR_COUNT;
    o.sidecar_count = 90;
    hxq_encoded e;
    ck_assert_int_eq(hxq_codec_encode("rt", w, HXQ_DT_BF16, rows, cols, &o, &e, NULL), HXQ_OK);
    hxq_qmatrix v = hxq_encoded_view(&e);
    ck_assert_int_eq(hxq_codec_check("rt", &v, NULL), HXQ_OK);
    hxq_codec_decode_f32(&v, 0, rows, d);
    for (int64_t r = 0; r < rows; r += 7) { /* row chunks agree with the whole */
        int64_t r1 = r + 7 < rows ? r + 7 : rows;
        hxq_codec_decode_f32(&v, r, r1, dr + r * cols);
    }
    ck_assert_mem_eq(d, dr, sizeof(float) * (size_t)n);
    int64_t s = 0;
    double se = 0.0, sw = 0.0;
    for (int64_t p = 0; p < n; p++) {
        float x = hxq_bf16_to_f32(w[p]);
        if (s < e.n_sidecar && e.sidecar_pos[s] == p) {
            ck_assert_uint_eq(hxq_f32_bits(d[p]), hxq_f32_bits(x)); /* exact */
            s++;
        } else {
            ck_assert(d[p] == e.codebook[e.indices[p]]);
        }
        se += ((double)x - d[p]) * ((double)x - d[p]);
        sw += (double)x * x;
    }
    ck_assert_int_eq(s, 90);
    /* the stated statistics are those of the decoded weights */
    ck_assert(fabs(se / (double)n - e.stats.mse) <= 1e-9 * e.stats.mse);
    ck_assert(fabs(10.0 * log10(sw / se) - e.stats.snr_db) < 1e-9);
    hxq_encoded_free(&e);
    free(w);
    free(d);
    free(dr);
}
END_TEST

START_TEST(test_check_rejects_bad_matrices)
{
    hxq_error err = {0};
    hxq_qmatrix m = small();
    ck_assert_int_eq(hxq_codec_check("ok", &m, &err), HXQ_OK);
    cb[17] = NAN;
    ck_assert_int_eq(hxq_codec_check("mod.a", &m, &err), HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "mod.a"));
    ck_assert_ptr_nonnull(strstr(err.msg, "codebook entry 17"));
    m = small();
    int64_t bad_pos[][3] = {{0, 5, 12}, {0, 5, 5}, {5, 0, 11}, {-1, 5, 11}};
    const char *what[] = {"out of range", "ascending", "ascending", "out of range"};
    for (int t = 0; t < 4; t++) {
        m.sidecar_pos = bad_pos[t];
        ck_assert_int_eq(hxq_codec_check("mod.b", &m, &err), HXQ_ERR_FORMAT);
        ck_assert_msg(strstr(err.msg, what[t]) != NULL, "%s", err.msg);
    }
    m = small();
    float bad_val[3] = {1.0f, INFINITY, 2.0f};
    m.sidecar_val = bad_val;
    ck_assert_int_eq(hxq_codec_check("mod.c", &m, &err), HXQ_ERR_FORMAT);
    m = small();
    m.n_sidecar = 13;
    ck_assert_int_eq(hxq_codec_check("mod.d", &m, &err), HXQ_ERR_FORMAT);
    m = small();
    m.rows = -1;
    ck_assert_int_eq(hxq_codec_check("mod.e", &m, &err), HXQ_ERR_FORMAT);
    m = small();
    m.n_sidecar = 0; /* no sidecar at all is fine */
    ck_assert_int_eq(hxq_codec_check("mod.f", &m, &err), HXQ_OK);
}
END_TEST

START_TEST(test_stats)
{
    hxq_qmatrix m = small();
    float src[12];
    hxq_codec_decode_f32(&m, 0, 3, src);
    hxq_matrix_stats st;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_codec_stats(src, HXQ_DT_F32, &m, &st, &err), HXQ_OK);
    ck_assert(st.mse == 0.0 && isinf(st.snr_db) && st.max_abs_err == 0.0);
    ck_assert(fabs(st.cosine - 1.0) < 1e-15);
    ck_assert_int_eq(st.n_sidecar, 3);
    src[2] += 0.25f; /* one element off by 0.25 */
    ck_assert_int_eq(hxq_codec_stats(src, HXQ_DT_F32, &m, &st, &err), HXQ_OK);
    ck_assert(fabs(st.mse - 0.0625 / 12.0) < 1e-15);
    ck_assert(st.max_abs_err == 0.25);
    ck_assert(st.snr_db > 0.0 && st.cosine < 1.0);
    uint16_t bsrc[12];
    for (int p = 0; p < 12; p++)
        bsrc[p] = hxq_f32_to_bf16(src[p]);
    ck_assert_int_eq(hxq_codec_stats(bsrc, HXQ_DT_BF16, &m, &st, &err), HXQ_OK);
    ck_assert_int_eq(hxq_codec_stats(src, HXQ_DT_I32, &m, &st, &err), HXQ_ERR_UNSUPPORTED);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codec_decode");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, test_decode_rows_and_sidecar);
    tcase_add_test(tc, test_round_trip_of_encoded);
    tcase_add_test(tc, test_check_rejects_bad_matrices);
    tcase_add_test(tc, test_stats);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
