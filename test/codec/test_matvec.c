/* test_matvec.c - matrix-vector products from the stored form: the scalar
 * _ref functions against a double-precision product of the decoded
 * weights, and the dispatched (AVX2 when present) kernels against _ref,
 * over shapes that exercise every tail and sidecar placement; the
 * multi-token kernels against n calls of their single-token kernels,
 * bytewise. */
#include "hxq_codec.h"
#include "hxq_test.h"
#include "matvec_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next_u64(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static float next_f(rng *r)
{
    return (float)((double)(next_u64(r) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

/* A random HXQ matrix with n_side sidecar entries (first and last
 * element included when n_side >= 2). Arrays are malloc'd. */
static hxq_qmatrix make_q(rng *r, int64_t rows, int64_t cols, int64_t n_side)
{
    hxq_qmatrix m = {rows, cols, NULL, NULL, 0, NULL, NULL};
    float *cb = malloc(HXQ_CODEBOOK_SIZE * sizeof(float));
    uint8_t *idx = malloc((size_t)(rows * cols) + 1);
    int64_t *pos = malloc((size_t)(n_side + 1) * sizeof(int64_t));
    float *val = malloc((size_t)(n_side + 1) * sizeof(float));
    for (int i = 0; i < HXQ_CODEBOOK_SIZE; i++)
        cb[i] = 0.05f * next_f(r);
    for (int64_t i = 0; i < rows * cols; i++)
        idx[i] = (uint8_t)next_u64(r);
    /* evenly spread, ascending and unique */
    int64_t total = rows * cols;
    if (n_side > total)
        n_side = total;
    for (int64_t s = 0; s < n_side; s++) {
        pos[s] = n_side == 1 ? total / 2 : s * (total - 1) / (n_side - 1);
        val[s] = 3.0f * next_f(r);
    }
    m.codebook = cb;
    m.indices = idx;
    m.n_sidecar = n_side;
    m.sidecar_pos = pos;
    m.sidecar_val = val;
    return m;
}

static void free_q(hxq_qmatrix *m)
{
    free((void *)m->codebook);
    free((void *)m->indices);
    free((void *)m->sidecar_pos);
    free((void *)m->sidecar_val);
}

/* |a - b| within 1e-5 of the magnitude sum plus a tiny absolute floor. */
static void close_to(double a, double b, double mag, const char *what, int64_t r)
{
    ck_assert_msg(fabs(a - b) <= 1e-5 * mag + 1e-6, "%s row %lld: %.9g vs %.9g", what,
                  (long long)r, a, b);
}

static const int64_t shapes[][3] = {
    /* rows, cols, sidecar */
    {1, 1, 0}, {3, 7, 2}, {5, 8, 1}, {4, 31, 3}, {9, 32, 9}, {7, 33, 5},
    {16, 256, 40}, {3, 1000, 17}, {64, 2048, 256}, {2, 4099, 0}, {8, 128, 5},
    {3, 1088, 7}, {5, 3072, 11}, {3, 2093, 6}, {4, 2048, 0},
};

START_TEST(hxq_ref_matches_decoded)
{
    rng r = {0x1234567u + (uint64_t)_i};
    const int64_t *sh = shapes[_i];
    hxq_qmatrix m = make_q(&r, sh[0], sh[1], sh[2]);
    float *x = malloc((size_t)sh[1] * sizeof(float));
    float *w = malloc((size_t)(sh[0] * sh[1]) * sizeof(float));
    float *y = malloc((size_t)sh[0] * sizeof(float));
    for (int64_t c = 0; c < sh[1]; c++)
        x[c] = next_f(&r);
    hxq_codec_decode_f32(&m, 0, m.rows, w);
    /* a sub-range starting past row 0 checks the y[r - r0] indexing */
    int64_t r0 = m.rows > 2 ? 1 : 0;
    hxq_matvec_hxq_ref(&m, x, y, r0, m.rows);
    for (int64_t row = r0; row < m.rows; row++) {
        double want = 0, mag = 0;
        for (int64_t c = 0; c < m.cols; c++) {
            want += (double)w[row * m.cols + c] * x[c];
            mag += fabs((double)w[row * m.cols + c] * x[c]);
        }
        close_to(y[row - r0], want, mag, "hxq ref", row);
    }
    free(x);
    free(w);
    free(y);
    free_q(&m);
}
END_TEST

typedef void (*hxq_kernel)(const hxq_qmatrix *, const float *, float *, int64_t, int64_t);

/* Every variant this CPU runs (the dispatcher, AVX2, VBMI) against _ref. */
START_TEST(hxq_variants_match_ref)
{
    rng r = {0xabcdefu + (uint64_t)_i};
    const int64_t *sh = shapes[_i];
    hxq_qmatrix m = make_q(&r, sh[0], sh[1], sh[2]);
    float *x = malloc((size_t)sh[1] * sizeof(float));
    float *y0 = malloc((size_t)sh[0] * sizeof(float));
    float *y1 = malloc((size_t)sh[0] * sizeof(float));
    for (int64_t c = 0; c < sh[1]; c++)
        x[c] = next_f(&r);
    hxq_kernel k[3] = {hxq_matvec_hxq, NULL, NULL};
    if (hxq_cpu_has_avx2())
        k[1] = codec_matvec_hxq_avx2;
    if (codec_cpu_has_vbmi() && m.cols % 64 == 0)
        k[2] = codec_matvec_hxq_vbmi;
    for (int v = 0; v < 3; v++)
    for (int64_t r0 = 0; k[v] && r0 < m.rows; r0 += (m.rows + 2) / 3) {
        hxq_matvec_hxq_ref(&m, x, y0, r0, m.rows);
        k[v](&m, x, y1, r0, m.rows);
        for (int64_t row = r0; row < m.rows; row++) {
            double mag = 0;
            for (int64_t c = 0; c < m.cols; c++) {
                int64_t p = row * m.cols + c;
                mag += fabs((double)m.codebook[m.indices[p]] * x[c]);
            }
            for (int64_t s = 0; s < m.n_sidecar; s++)
                if (m.sidecar_pos[s] / m.cols == row)
                    mag += 2 * fabs((double)m.sidecar_val[s]);
            close_to(y1[row - r0], y0[row - r0], mag, v == 2 ? "vbmi" : v ? "avx2" : "dispatch",
                     row);
        }
    }
    free(x);
    free(y0);
    free(y1);
    free_q(&m);
}
END_TEST

/* Each of y[n][rows] equals the double-precision product w x. */
static void check_products(const float *w, const float *x, int64_t rows, int64_t cols,
                           float *const *y, const char *const *what, int n)
{
    for (int64_t row = 0; row < rows; row++) {
        double want = 0, mag = 0;
        for (int64_t c = 0; c < cols; c++) {
            want += (double)w[row * cols + c] * x[c];
            mag += fabs((double)w[row * cols + c] * x[c]);
        }
        for (int i = 0; i < n; i++)
            close_to(y[i][row], want, mag, what[i], row);
    }
}

START_TEST(half_and_f32_match_double)
{
    rng r = {0x55aa55u + (uint64_t)_i};
    const int64_t *sh = shapes[_i];
    int64_t rows = sh[0], cols = sh[1];
    uint16_t *wb = malloc((size_t)(rows * cols) * sizeof(uint16_t));
    uint16_t *wh = malloc((size_t)(rows * cols) * sizeof(uint16_t));
    float *wf = malloc((size_t)(rows * cols) * sizeof(float));
    float *wg = malloc((size_t)(rows * cols) * sizeof(float));
    float *x = malloc((size_t)cols * sizeof(float));
    float *y[5];
    for (int i = 0; i < 5; i++)
        y[i] = malloc((size_t)rows * sizeof(float));
    for (int64_t i = 0; i < rows * cols; i++) {
        wb[i] = hxq_f32_to_bf16(next_f(&r));
        wf[i] = hxq_bf16_to_f32(wb[i]);
        wh[i] = hxq_f32_to_f16(next_f(&r));
        wg[i] = hxq_f16_to_f32(wh[i]);
    }
    for (int64_t c = 0; c < cols; c++)
        x[c] = next_f(&r);
    hxq_matvec_bf16_ref(wb, cols, x, y[0], 0, rows);
    hxq_matvec_bf16(wb, cols, x, y[1], 0, rows);
    hxq_matvec_f32(wf, cols, x, y[2], 0, rows);
    hxq_matvec_f16_ref(wh, cols, x, y[3], 0, rows);
    hxq_matvec_f16(wh, cols, x, y[4], 0, rows);
    const char *what[5] = {"bf16 ref", "bf16", "f32", "f16 ref", "f16"};
    check_products(wf, x, rows, cols, y, what, 3);
    check_products(wg, x, rows, cols, y + 3, what + 3, 2);
    for (int i = 0; i < 5; i++)
        free(y[i]);
    free(wb);
    free(wh);
    free(wf);
    free(wg);
    free(x);
}
END_TEST

/* The decode (VBMI or AVX2 where available) equals codebook[indices] with the
 * sidecar values replacing theirs, bit for bit. */
START_TEST(decode_is_exact)
{
    rng r = {0x77u + (uint64_t)_i};
    const int64_t *sh = shapes[_i];
    hxq_qmatrix m = make_q(&r, sh[0], sh[1], sh[2]);
    int64_t n = m.rows * m.cols;
    float *got = malloc((size_t)n * sizeof(float)), *want = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        want[i] = m.codebook[m.indices[i]];
    for (int64_t s = 0; s < m.n_sidecar; s++)
        want[m.sidecar_pos[s]] = m.sidecar_val[s];
    int64_t r0 = m.rows > 1 ? 1 : 0;
    hxq_codec_decode_f32(&m, r0, m.rows, got);
    ck_assert(memcmp(got, want + r0 * m.cols, (size_t)(n - r0 * m.cols) * sizeof(float)) == 0);
    if (codec_cpu_has_vbmi() && m.cols % 64 == 0) {
        codec_decode_hxq_vbmi(&m, 0, m.rows, got);
        ck_assert(memcmp(got, want, (size_t)n * sizeof(float)) == 0);
    }
    if (hxq_cpu_has_avx2()) {
        /* the AVX2 row decode leaves the sidecar to its caller */
        codec_decode_hxq_avx2(&m, r0, m.rows, got);
        for (int64_t i = r0 * m.cols; i < n; i++)
            ck_assert(got[i - r0 * m.cols] == m.codebook[m.indices[i]]);
    }
    free(got);
    free(want);
    free_q(&m);
}
END_TEST

/* ---- several tokens --------------------------------------------------- */

#define MULTI_MAX 9   /* tokens per call: 1 .. MULTI_MAX */
#define SENTINEL 12345.5f

/* A multi-token kernel and the single-token kernel it must equal per
 * token, over one kind of weights (w: the hxq_qmatrix, or the rows). */
typedef struct multi_case {
    const char *what;
    void (*multi)(const void *w, int64_t cols, const float *x, int64_t ldx, float *y,
                  int64_t ldy, int64_t n, int64_t r0, int64_t r1);
    void (*single)(const void *w, int64_t cols, const float *x, float *y, int64_t r0,
                   int64_t r1);
} multi_case;

/* Adapters to those signatures, for rows of type T and for HXQ. */
#define ADAPT(name, T, multi, single)                                                      \
    static void name##_m(const void *w, int64_t cols, const float *x, int64_t ldx,         \
                         float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1)         \
    {                                                                                      \
        multi((const T *)w, cols, x, ldx, y, ldy, n, r0, r1);                              \
    }                                                                                      \
    static void name##_s(const void *w, int64_t cols, const float *x, float *y, int64_t r0, \
                         int64_t r1)                                                       \
    {                                                                                      \
        single((const T *)w, cols, x, y, r0, r1);                                          \
    }
#define ADAPT_Q(name, multi, single)                                                       \
    static void name##_m(const void *w, int64_t cols, const float *x, int64_t ldx,         \
                         float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1)         \
    {                                                                                      \
        (void)cols;                                                                        \
        multi(w, x, ldx, y, ldy, n, r0, r1);                                               \
    }                                                                                      \
    static void name##_s(const void *w, int64_t cols, const float *x, float *y, int64_t r0, \
                         int64_t r1)                                                       \
    {                                                                                      \
        (void)cols;                                                                        \
        single(w, x, y, r0, r1);                                                           \
    }
ADAPT_Q(hxq, hxq_matvec_hxq_multi, hxq_matvec_hxq)
ADAPT_Q(hxq_avx2, codec_matvec_hxq_multi_avx2, codec_matvec_hxq_avx2)
ADAPT_Q(hxq_ref, codec_matvec_hxq_multi_ref, hxq_matvec_hxq_ref)
ADAPT(bf16, uint16_t, hxq_matvec_bf16_multi, hxq_matvec_bf16)
ADAPT(bf16_avx2, uint16_t, codec_matvec_bf16_multi_avx2, codec_matvec_bf16_avx2)
ADAPT(bf16_ref, uint16_t, codec_matvec_bf16_multi_ref, hxq_matvec_bf16_ref)
ADAPT(f16, uint16_t, hxq_matvec_f16_multi, hxq_matvec_f16)
ADAPT(f16_avx2, uint16_t, codec_matvec_f16_multi_avx2, codec_matvec_f16_avx2)
ADAPT(f16_ref, uint16_t, codec_matvec_f16_multi_ref, hxq_matvec_f16_ref)
ADAPT(f32, float, hxq_matvec_f32_multi, hxq_matvec_f32)
ADAPT(f32_avx2, float, codec_matvec_f32_multi_avx2, codec_matvec_f32_avx2)
ADAPT(f32_ref, float, codec_matvec_f32_multi_ref, codec_matvec_f32_ref)

#define CASE(name) {#name, name##_m, name##_s}

/* Runs mc on n = 1 .. MULTI_MAX tokens (strides larger than the rows,
 * several row ranges) and compares every token's output bytewise with
 * the single kernel's; the gaps of the strided output stay untouched. */
static void check_multi(const multi_case *mc, const void *w, int64_t rows, int64_t cols,
                        rng *r)
{
    int64_t ldx = cols + 3, ldy = rows + 5;
    float *x = malloc((size_t)(MULTI_MAX * ldx) * sizeof(float));
    float *y = malloc((size_t)(MULTI_MAX * ldy) * sizeof(float));
    float *want = malloc((size_t)rows * sizeof(float));
    for (int64_t i = 0; i < MULTI_MAX * ldx; i++)
        x[i] = next_f(r);
    for (int64_t n = 1; n <= MULTI_MAX; n++)
        for (int64_t r0 = 0; r0 < rows; r0 += (rows + 2) / 3) {
            /* odd n: one row less, so both parities of the range occur */
            int64_t r1 = n % 2 && rows - r0 > 1 ? rows - 1 : rows;
            for (int64_t i = 0; i < MULTI_MAX * ldy; i++)
                y[i] = SENTINEL;
            mc->multi(w, cols, x, ldx, y, ldy, n, r0, r1);
            for (int64_t t = 0; t < MULTI_MAX; t++) {
                int64_t written = t < n ? r1 - r0 : 0;
                if (t < n) {
                    mc->single(w, cols, x + t * ldx, want, r0, r1);
                    ck_assert_msg(memcmp(y + t * ldy, want, (size_t)written * sizeof(float))
                                      == 0,
                                  "%s: %lldx%lld, n %lld, rows %lld..%lld: token %lld differs",
                                  mc->what, (long long)rows, (long long)cols, (long long)n,
                                  (long long)r0, (long long)r1, (long long)t);
                }
                for (int64_t i = written; i < ldy; i++)
                    ck_assert_msg(y[t * ldy + i] == SENTINEL, "%s: wrote outside its rows",
                                  mc->what);
            }
        }
    free(x);
    free(y);
    free(want);
}

/* Every multi-token kernel this CPU runs (dispatched, AVX2, scalar) equals
 * n calls of its single-token kernel, bit for bit, n = 1 .. MULTI_MAX. */
START_TEST(multi_equals_single)
{
    rng r = {0x3141u + (uint64_t)_i};
    const int64_t *sh = shapes[_i];
    int64_t rows = sh[0], cols = sh[1];
    hxq_qmatrix m = make_q(&r, rows, cols, sh[2]);
    uint16_t *wb = malloc((size_t)(rows * cols) * sizeof(uint16_t));
    uint16_t *wh = malloc((size_t)(rows * cols) * sizeof(uint16_t));
    float *wf = malloc((size_t)(rows * cols) * sizeof(float));
    for (int64_t i = 0; i < rows * cols; i++) {
        wb[i] = hxq_f32_to_bf16(next_f(&r));
        wh[i] = hxq_f32_to_f16(next_f(&r));
        wf[i] = next_f(&r);
    }
    int avx2 = hxq_cpu_has_avx2();
    const struct {
        multi_case c;
        const void *w;
        int runs;
    } cases[] = {
        {CASE(hxq), &m, 1},  {CASE(hxq_avx2), &m, avx2}, {CASE(hxq_ref), &m, 1},
        {CASE(bf16), wb, 1}, {CASE(bf16_avx2), wb, avx2}, {CASE(bf16_ref), wb, 1},
        {CASE(f16), wh, 1},  {CASE(f16_avx2), wh, avx2}, {CASE(f16_ref), wh, 1},
        {CASE(f32), wf, 1},  {CASE(f32_avx2), wf, avx2}, {CASE(f32_ref), wf, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (cases[i].runs)
            check_multi(&cases[i].c, cases[i].w, rows, cols, &r);
    free(wb);
    free(wh);
    free(wf);
    free_q(&m);
}
END_TEST

/* An empty row range writes nothing. */
START_TEST(empty_range_writes_nothing)
{
    rng r = {99};
    hxq_qmatrix m = make_q(&r, 4, 40, 3);
    float x[40] = {0}, y[4] = {7, 7, 7, 7};
    uint16_t wb[4 * 40] = {0};
    hxq_matvec_hxq(&m, x, y, 2, 2);
    hxq_matvec_f16(wb, 40, x, y, 3, 3);
    hxq_matvec_hxq_ref(&m, x, y, 4, 4);
    hxq_matvec_bf16(wb, 40, x, y, 1, 1);
    hxq_matvec_f32(x, 40, x, y, 0, 0);
    hxq_matvec_hxq_multi(&m, x, 0, y, 0, 3, 2, 2);
    hxq_matvec_bf16_multi(wb, 40, x, 0, y, 0, 2, 1, 1);
    for (int i = 0; i < 4; i++)
        ck_assert(y[i] == 7.0f);
    free_q(&m);
}
END_TEST

Suite *matvec_suite(void)
{
    Suite *s = suite_create("matvec");
    TCase *tc = tcase_create("matvec");
    int n = (int)(sizeof(shapes) / sizeof(shapes[0]));
    tcase_add_loop_test(tc, hxq_ref_matches_decoded, 0, n);
    tcase_add_loop_test(tc, hxq_variants_match_ref, 0, n);
    tcase_add_loop_test(tc, half_and_f32_match_double, 0, n);
    tcase_add_loop_test(tc, decode_is_exact, 0, n);
    tcase_add_loop_test(tc, multi_equals_single, 0, n);
    tcase_add_test(tc, empty_range_writes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(matvec_suite)
