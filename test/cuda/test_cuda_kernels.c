/* test_cuda_kernels.c - each CUDA kernel against a scalar double-precision
 * CPU reference on random inputs, with pinned tolerances. GPU tests skip
 * (and pass) without a device, except under HXQ_REQUIRE_GPU=1. The argument
 * checks and the sidecar conversion run everywhere. */
#include "cuda_int.h"
#include "cuda_test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- host-only: the sidecar in compressed rows ------------------------------ */

START_TEST(test_sidecar_csr)
{
    float cb[256];
    uint8_t idx[4 * 5];
    for (int i = 0; i < 256; i++)
        cb[i] = (float)i * 0.5f;
    for (int i = 0; i < 20; i++)
        idx[i] = (uint8_t)(i * 7);
    int64_t pos[] = {1, 3, 12, 14, 19};
    float val[] = {-1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
    hxq_qmatrix m = {4, 5, cb, idx, 5, pos, val};
    int32_t rowptr[5], col[5];
    float delta[5];
    hxq_error err;
    ck_assert_int_eq(cuda_sidecar_csr(&m, rowptr, col, delta, &err), HXQ_OK);
    /* rows: 0 -> {1, 3}, 1 -> {}, 2 -> {12, 14}, 3 -> {19} */
    const int32_t want_ptr[] = {0, 2, 2, 4, 5}, want_col[] = {1, 3, 2, 4, 4};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(rowptr[i], want_ptr[i]);
        ck_assert_int_eq(col[i], want_col[i]);
        ck_assert_float_eq(cb[idx[pos[i]]] + delta[i], val[i]);
    }
    /* edge: no sidecar, every row empty */
    m.n_sidecar = 0;
    ck_assert_int_eq(cuda_sidecar_csr(&m, rowptr, col, delta, &err), HXQ_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rowptr[i], 0);
    /* error: not ascending, then out of range */
    int64_t bad[] = {3, 1};
    hxq_qmatrix mb = {4, 5, cb, idx, 2, bad, val};
    ck_assert_int_eq(cuda_sidecar_csr(&mb, rowptr, col, delta, &err), HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "not ascending"));
    int64_t far[] = {20};
    hxq_qmatrix mf = {4, 5, cb, idx, 1, far, val};
    ck_assert_int_eq(cuda_sidecar_csr(&mf, rowptr, col, delta, &err), HXQ_ERR_FORMAT);
}
END_TEST

#ifndef HXQ_HAVE_CUDA

START_TEST(test_built_without_cuda)
{
    cuda_dmodel dm;
    memset(&dm, 0, sizeof(dm));
    cuda_run *r = (cuda_run *)&dm; /* must be reset to NULL */
    hxq_error err;
    ck_assert_int_eq(cuda_run_create(&dm, 16, 1, &r, &err), HXQ_ERR_DEVICE);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(err.msg, "hxq was built without CUDA");
    cuda_test_gpu(__func__);
}
END_TEST

#else

typedef struct { uint64_t s; } rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [-1, 1) */
static float rng_unif(rng *r)
{
    return (float)((double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

/* ---- argument checks (no device needed) -------------------------------------- */

START_TEST(test_bad_arguments)
{
    hxq_error err;
    int n = -1;
    ck_assert_int_eq(hxq_cuda_device_count(NULL, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_cuda_device_count(&n, &err), HXQ_OK);
    ck_assert_int_ge(n, 0);

    hxq_cuda_linear_args a;
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(hxq_cuda_linear(NULL, NULL, &err), HXQ_ERR_INVALID);
    float dummy[4];
    hxq_cuda_mat *fake = (hxq_cuda_mat *)dummy;
    a.mats = fake;
    a.x = dummy;
    a.y = dummy;
    a.kind = HXQ_CUDA_HXQ;
    a.rows = 0; /* bad */
    a.cols = 4;
    a.nsets = a.nsel = 1;
    a.ntok = 1;
    ck_assert_int_eq(hxq_cuda_linear(&a, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "bad shape"));
    a.rows = 4;
    a.kind = HXQ_CUDA_U8;
    ck_assert_int_eq(hxq_cuda_linear(&a, NULL, &err), HXQ_ERR_INVALID);
    a.kind = HXQ_CUDA_HXQ;
    a.nsel = 70000; /* groups over the grid */
    ck_assert_int_eq(hxq_cuda_linear(&a, NULL, &err), HXQ_ERR_INVALID);

    int32_t ids[1];
    ck_assert_int_eq(hxq_cuda_router_topk(dummy, 1, 300, 8, 0, ids, dummy, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_cuda_router_topk(dummy, 1, 8, 9, 0, ids, dummy, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_cuda_attention(dummy, 48, dummy, dummy, dummy, 48, 1, 1, 48, 1, 16,
                                        ids, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_cuda_rope_neox(dummy, 4, 1, dummy, 4, 1, 3, 1, ids, 1e4f, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_cuda_rmsnorm(dummy, 4, dummy, dummy, 4, 1, 0, 1e-5f, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_cuda_qk_norm_rope(dummy, 8, dummy, dummy, 1, 3, 1e-5f, 1e4f, dummy,
                                           dummy, 1, 4, ids, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_cuda_embed(HXQ_CUDA_HXQ, dummy, 4, 4, ids, 1, dummy, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_cuda_fill_random(dummy, 99, 4, 1, 1.0f, NULL, &err), HXQ_ERR_INVALID);
}
END_TEST

/* ---- device helpers ------------------------------------------------------------ */

static void *dev_put(const void *h, size_t bytes)
{
    hxq_error err;
    void *d = NULL;
    ck_assert_msg(hxq_cuda_alloc(&d, bytes ? bytes : 4, &err) == HXQ_OK, "%s", err.msg);
    if (bytes)
        ck_assert_msg(hxq_cuda_upload(d, h, bytes, &err) == HXQ_OK, "%s", err.msg);
    return d;
}

static void dev_get(void *h, const void *d, size_t bytes)
{
    hxq_error err;
    ck_assert_msg(hxq_cuda_stream_sync(NULL, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_msg(hxq_cuda_download(h, d, bytes, &err) == HXQ_OK, "%s", err.msg);
}

#define CK(call)                                                           \
    do {                                                                   \
        hxq_error ck_err_;                                                 \
        ck_err_.msg[0] = '\0';                                             \
        int ck_rc_ = (call);                                               \
        ck_assert_msg(ck_rc_ == HXQ_OK, "%s -> %d: %s", #call, ck_rc_,     \
                      ck_err_.msg);                                        \
    } while (0)
#define CKE (&ck_err_)

/* Random matrices of one kind uploaded into dm; eff[i] receives the
 * effective float weights of matrix i ([rows * cols]). */
static hxq_cuda_mat *make_mats(cuda_dmodel *dm, rng *g, int kind, int nmat, int64_t rows,
                               int64_t cols, int64_t nside, float **eff)
{
    hxq_cuda_mat *descs = calloc((size_t)nmat, sizeof(*descs));
    ck_assert_ptr_nonnull(descs);
    const int64_t n = rows * cols;
    for (int i = 0; i < nmat; i++) {
        eff[i] = malloc((size_t)n * sizeof(float));
        ck_assert_ptr_nonnull(eff[i]);
        if (kind == HXQ_CUDA_HXQ) {
            float cb[256];
            uint8_t *idx = malloc((size_t)n);
            int64_t ns = nside < n ? nside : n;
            int64_t *pos = malloc((size_t)(ns + 1) * sizeof(int64_t));
            float *val = malloc((size_t)(ns + 1) * sizeof(float));
            ck_assert(idx && pos && val);
            for (int c = 0; c < 256; c++)
                cb[c] = 0.05f * rng_unif(g);
            for (int64_t p = 0; p < n; p++) {
                idx[p] = (uint8_t)(rng_next(g) >> 56);
                eff[i][p] = cb[idx[p]];
            }
            /* ascending unique positions: a random stride walk */
            int64_t k = 0, p = (int64_t)(rng_next(g) % 7);
            while (k < ns && p < n) {
                pos[k] = p;
                val[k] = 0.5f * rng_unif(g);
                eff[i][p] = val[k];
                k++;
                p += 1 + (int64_t)(rng_next(g) % (uint64_t)(2 * (n / (ns + 1)) + 1));
            }
            hxq_qmatrix q = {rows, cols, cb, idx, k, pos, val};
            CK(cuda_dmodel_put_hxq(dm, &q, &descs[i], CKE));
            free(idx);
            free(pos);
            free(val);
        } else {
            const size_t el = kind == HXQ_CUDA_F32 ? 4 : 2;
            uint8_t *raw = malloc((size_t)n * el);
            ck_assert_ptr_nonnull(raw);
            for (int64_t p = 0; p < n; p++) {
                float v = 0.05f * rng_unif(g);
                if (kind == HXQ_CUDA_F32) {
                    ((float *)raw)[p] = v;
                } else if (kind == HXQ_CUDA_BF16) {
                    ((uint16_t *)raw)[p] = hxq_f32_to_bf16(v);
                    v = hxq_bf16_to_f32(((uint16_t *)raw)[p]);
                } else {
                    ((uint16_t *)raw)[p] = hxq_f32_to_f16(v);
                    v = hxq_f16_to_f32(((uint16_t *)raw)[p]);
                }
                eff[i][p] = v;
            }
            CK(cuda_dmodel_put_dense(dm, kind, raw, rows, cols, &descs[i], CKE));
            free(raw);
        }
    }
    hxq_cuda_mat *table = NULL;
    CK(cuda_dmodel_put_table(dm, descs, nmat, &table, CKE));
    free(descs);
    return table;
}

static void free_eff(float **eff, int n)
{
    for (int i = 0; i < n; i++)
        free(eff[i]);
}

/* Compares got with ref (double), tolerance tol_rel * scale[i] + tol_abs. */
static void expect_close(const float *got, const double *ref, const double *scale, int64_t n,
                         double tol_rel, double tol_abs, const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        double tol = tol_rel * (scale ? scale[i] : fabs(ref[i])) + tol_abs;
        ck_assert_msg(isfinite(got[i]) && fabs(got[i] - ref[i]) <= tol,
                      "%s: element %lld: got %.9g want %.9g (tol %.3g)", what, (long long)i,
                      (double)got[i], ref[i], tol);
    }
}

/* One grouped linear call against the reference. prologue: 0 none, 1
 * RMSNorm, 2 silu(gate) * up (inputs per group, "up" after all gates). */
static void check_linear(int kind, int64_t rows, int64_t cols, int nsets, int nsel,
                         int64_t n_experts, int64_t ntok, int x_per_group, int accumulate,
                         int64_t nside, int prologue, uint64_t seed)
{
    rng g = {seed};
    cuda_dmodel dm;
    memset(&dm, 0, sizeof(dm));
    const int64_t stride = n_experts ? n_experts : nsel;
    const int nmat = (int)(nsets * stride);
    float **eff = calloc((size_t)nmat, sizeof(float *));
    ck_assert_ptr_nonnull(eff);
    hxq_cuda_mat *table = make_mats(&dm, &g, kind, nmat, rows, cols, nside, eff);
    const int64_t groups = (int64_t)nsets * nsel;
    const int64_t x_grp = x_per_group || prologue == 2 ? cols : 0;
    const int64_t x_up = prologue == 2 ? groups * cols : 0;
    const int64_t x_tok = prologue == 2 ? 2 * groups * cols : x_grp ? groups * cols : cols;
    const int64_t y_grp = rows, y_tok = groups * rows;
    float *x = malloc((size_t)(ntok * x_tok) * sizeof(float));
    float *y = malloc((size_t)(ntok * y_tok) * sizeof(float));
    float *y0 = malloc((size_t)(ntok * y_tok) * sizeof(float));
    double *ref = malloc((size_t)(ntok * y_tok) * sizeof(double));
    double *scale = malloc((size_t)(ntok * y_tok) * sizeof(double));
    int32_t *sel = malloc((size_t)(ntok * nsel + 1) * sizeof(int32_t));
    float *nw = malloc((size_t)cols * sizeof(float));
    double *xin = malloc((size_t)cols * sizeof(double));
    ck_assert(x && y && y0 && ref && scale && sel && nw && xin);
    for (int64_t i = 0; i < ntok * x_tok; i++)
        x[i] = (prologue == 2 ? 4.0f : 1.0f) * rng_unif(&g);
    for (int64_t c = 0; c < cols; c++)
        nw[c] = 1.0f + 0.5f * rng_unif(&g);
    for (int64_t i = 0; i < ntok * y_tok; i++)
        y0[i] = accumulate ? rng_unif(&g) : NAN; /* poison what must be written */
    for (int64_t i = 0; i < ntok * nsel; i++)
        sel[i] = (int32_t)(rng_next(&g) % (uint64_t)stride);
    for (int64_t t = 0; t < ntok; t++)
        for (int64_t gi = 0; gi < groups; gi++) {
            const int64_t s = gi / nsel, j = gi % nsel;
            const int64_t mi = s * stride + (n_experts ? sel[t * nsel + j] : j);
            const float *xv = x + t * x_tok + gi * x_grp;
            double ss = 0.0;
            for (int64_t c = 0; c < cols; c++) {
                xin[c] = prologue == 2 ? xv[c] / (1.0 + exp(-(double)xv[c])) * xv[c + x_up]
                                       : xv[c];
                ss += xin[c] * xin[c];
            }
            if (prologue == 1)
                for (int64_t c = 0; c < cols; c++)
                    xin[c] = nw[c] * (xin[c] / sqrt(ss / (double)cols + 1e-5));
            for (int64_t r = 0; r < rows; r++) {
                double acc = 0.0, mag = 0.0;
                for (int64_t c = 0; c < cols; c++) {
                    acc += (double)eff[mi][r * cols + c] * xin[c];
                    mag += fabs((double)eff[mi][r * cols + c] * xin[c]);
                }
                const int64_t o = t * y_tok + gi * y_grp + r;
                ref[o] = accumulate ? acc + y0[o] : acc;
                scale[o] = mag + (accumulate ? fabs(y0[o]) : 0.0);
            }
        }
    float *dx = dev_put(x, (size_t)(ntok * x_tok) * sizeof(float));
    float *dy = dev_put(y0, (size_t)(ntok * y_tok) * sizeof(float));
    int32_t *dsel = dev_put(sel, (size_t)(ntok * nsel) * sizeof(int32_t));
    float *dnw = dev_put(nw, (size_t)cols * sizeof(float));
    hxq_cuda_linear_args a = {table, kind, rows, cols, nsets, stride,
                              n_experts ? dsel : NULL, nsel, ntok, dx, x_tok, x_grp,
                              dy, y_tok, y_grp, accumulate,
                              prologue == 1 ? dnw : NULL, 1e-5f, x_up};
    CK(hxq_cuda_linear(&a, NULL, CKE));
    dev_get(y, dy, (size_t)(ntok * y_tok) * sizeof(float));
    char what[128];
    snprintf(what, sizeof(what), "linear kind %d [%lld x %lld] ntok %lld prologue %d", kind,
             (long long)rows, (long long)cols, (long long)ntok, prologue);
    expect_close(y, ref, scale, ntok * y_tok, 2e-5, 1e-6, what);
    hxq_cuda_free(dx);
    hxq_cuda_free(dy);
    hxq_cuda_free(dsel);
    hxq_cuda_free(dnw);
    free(nw);
    free(xin);
    free_eff(eff, nmat);
    free(eff);
    free(x);
    free(y);
    free(y0);
    free(ref);
    free(scale);
    free(sel);
    cuda_dmodel_free(&dm);
}

START_TEST(test_linear_hxq)
{
    if (!cuda_test_gpu(__func__))
        return;
    hxq_error err;
    ck_assert_int_eq(hxq_cuda_prepare(&err), HXQ_OK);
    check_linear(HXQ_CUDA_HXQ, 40, 2048, 1, 1, 0, 1, 0, 0, 300, 0, 1);  /* vector path   */
    check_linear(HXQ_CUDA_HXQ, 33, 130, 1, 1, 0, 1, 0, 0, 20, 0, 2);    /* scalar path   */
    check_linear(HXQ_CUDA_HXQ, 64, 256, 1, 3, 0, 6, 0, 0, 50, 1, 3);    /* q/k/v + norm  */
    check_linear(HXQ_CUDA_HXQ, 48, 512, 2, 2, 6, 3, 0, 0, 40, 1, 4);    /* gate/up       */
    check_linear(HXQ_CUDA_HXQ, 64, 128, 1, 2, 5, 2, 1, 1, 10, 0, 5);    /* down, += y    */
    check_linear(HXQ_CUDA_HXQ, 72, 1024, 1, 3, 7, 2, 1, 0, 25, 2, 12);  /* silu * up     */
    check_linear(HXQ_CUDA_HXQ, 20, 1024, 1, 1, 0, 9, 0, 1, 0, 0, 6);    /* no sidecar    */
    check_linear(HXQ_CUDA_HXQ, 4300, 256, 1, 1, 0, 1, 0, 1, 500, 1, 13); /* 16-row blocks */
}
END_TEST

START_TEST(test_linear_dense)
{
    if (!cuda_test_gpu(__func__))
        return;
    hxq_error err;
    ck_assert_int_eq(hxq_cuda_prepare(&err), HXQ_OK);
    check_linear(HXQ_CUDA_BF16, 100, 256, 1, 1, 0, 1, 0, 1, 0, 0, 7);
    check_linear(HXQ_CUDA_BF16, 37, 2048, 1, 1, 0, 5, 0, 0, 0, 1, 8);
    check_linear(HXQ_CUDA_F16, 20, 64, 2, 2, 4, 3, 0, 0, 0, 0, 9);
    check_linear(HXQ_CUDA_F32, 17, 35, 1, 1, 0, 2, 0, 0, 0, 1, 10);
    check_linear(HXQ_CUDA_F32, 16, 512, 1, 3, 0, 4, 0, 0, 0, 0, 11);
}
END_TEST

START_TEST(test_rmsnorm)
{
    if (!cuda_test_gpu(__func__))
        return;
    rng g = {21};
    const int64_t dims[] = {2048, 100};
    for (int di = 0; di < 2; di++) {
        const int64_t dim = dims[di], rows = 3, stride = 2 * dim;
        float *x = malloc((size_t)(rows * stride) * sizeof(float));
        float *w = malloc((size_t)dim * sizeof(float));
        float *y = malloc((size_t)(rows * stride) * sizeof(float));
        double *ref = malloc((size_t)(rows * dim) * sizeof(double));
        float *got = malloc((size_t)(rows * dim) * sizeof(float));
        ck_assert(x && w && y && ref && got);
        for (int64_t i = 0; i < rows * stride; i++)
            x[i] = 3.0f * rng_unif(&g);
        for (int64_t i = 0; i < dim; i++)
            w[i] = 1.0f + 0.5f * rng_unif(&g);
        for (int64_t r = 0; r < rows; r++) {
            double ss = 0.0;
            for (int64_t i = 0; i < dim; i++)
                ss += (double)x[r * stride + i] * x[r * stride + i];
            const double inv = 1.0 / sqrt(ss / (double)dim + 1e-5);
            for (int64_t i = 0; i < dim; i++)
                ref[r * dim + i] = w[i] * (x[r * stride + i] * inv);
        }
        float *dx = dev_put(x, (size_t)(rows * stride) * sizeof(float));
        float *dw = dev_put(w, (size_t)dim * sizeof(float));
        /* in place over strided rows (the q/k norm case) */
        CK(hxq_cuda_rmsnorm(dx, stride, dw, dx, stride, rows, dim, 1e-5f, NULL, CKE));
        dev_get(y, dx, (size_t)(rows * stride) * sizeof(float));
        for (int64_t r = 0; r < rows; r++) {
            memcpy(got + r * dim, y + r * stride, (size_t)dim * sizeof(float));
            for (int64_t i = dim; i < stride; i++) /* the gap is untouched */
                ck_assert_float_eq(y[r * stride + i], x[r * stride + i]);
        }
        expect_close(got, ref, NULL, rows * dim, 1e-5, 1e-6, "rmsnorm");
        hxq_cuda_free(dx);
        hxq_cuda_free(dw);
        free(x);
        free(w);
        free(y);
        free(ref);
        free(got);
    }
}
END_TEST

/* Reference rotation: inv_freq and the angle in float as transformers does,
 * sin/cos in double. */
static void rope_ref(const float *in, double *out, int64_t nheads, int64_t hd, int64_t pos,
                     float theta)
{
    const int64_t half = hd / 2;
    for (int64_t h = 0; h < nheads; h++)
        for (int64_t d = 0; d < half; d++) {
            const float inv = 1.0f / powf(theta, (float)(2 * d) / (float)hd);
            const double ang = (double)((float)pos * inv);
            const double a = in[h * hd + d], b = in[h * hd + d + half];
            out[h * hd + d] = a * cos(ang) - b * sin(ang);
            out[h * hd + d + half] = b * cos(ang) + a * sin(ang);
        }
}

START_TEST(test_rope)
{
    if (!cuda_test_gpu(__func__))
        return;
    rng g = {31};
    const int64_t nh = 4, hd = 64, H = nh * hd, ntok = 3, stride = 3 * H;
    const int32_t pos0 = 7;
    float *buf = malloc((size_t)(ntok * stride) * sizeof(float));
    float *got = malloc((size_t)(ntok * stride) * sizeof(float));
    double *ref = malloc((size_t)(ntok * 2 * H) * sizeof(double));
    float *cmp = malloc((size_t)(ntok * 2 * H) * sizeof(float));
    ck_assert(buf && got && ref && cmp);
    for (int64_t i = 0; i < ntok * stride; i++)
        buf[i] = rng_unif(&g);
    for (int64_t t = 0; t < ntok; t++) {
        rope_ref(buf + t * stride, ref + t * 2 * H, nh, hd, pos0 + t, 10000.0f);
        rope_ref(buf + t * stride + H, ref + t * 2 * H + H, nh, hd, pos0 + t, 10000.0f);
    }
    float *d = dev_put(buf, (size_t)(ntok * stride) * sizeof(float));
    int32_t *dpos = dev_put(&pos0, sizeof(pos0));
    CK(hxq_cuda_rope_neox(d, stride, nh, d + H, stride, nh, hd, ntok, dpos, 10000.0f, NULL, CKE));
    dev_get(got, d, (size_t)(ntok * stride) * sizeof(float));
    for (int64_t t = 0; t < ntok; t++) {
        memcpy(cmp + t * 2 * H, got + t * stride, (size_t)(2 * H) * sizeof(float));
        for (int64_t i = 2 * H; i < 3 * H; i++) /* v untouched */
            ck_assert_float_eq(got[t * stride + i], buf[t * stride + i]);
    }
    expect_close(cmp, ref, NULL, ntok * 2 * H, 0.0, 2e-5, "rope");
    hxq_cuda_free(d);
    hxq_cuda_free(dpos);
    free(buf);
    free(got);
    free(ref);
    free(cmp);
}
END_TEST

/* The fused q/k norm + RoPE + cache append against the scalar steps. */
START_TEST(test_qk_norm_rope)
{
    if (!cuda_test_gpu(__func__))
        return;
    rng g = {35};
    const int64_t nh = 8, hd = 32, H = nh * hd, ntok = 3, stride = 3 * H, ctx = 16;
    const int32_t pos0 = 11;
    float *qkv = malloc((size_t)(ntok * stride) * sizeof(float));
    float *got = malloc((size_t)(ntok * stride) * sizeof(float));
    float *kc = malloc((size_t)(ctx * H) * sizeof(float));
    float *vc = malloc((size_t)(ctx * H) * sizeof(float));
    float qn[256], kn[256], nrm[256], cmp[256];
    double ref[256];
    ck_assert(qkv && got && kc && vc);
    for (int64_t i = 0; i < ntok * stride; i++)
        qkv[i] = 2.0f * rng_unif(&g);
    for (int64_t i = 0; i < H; i++) {
        qn[i] = 1.0f + 0.5f * rng_unif(&g);
        kn[i] = 1.0f + 0.5f * rng_unif(&g);
    }
    for (int64_t i = 0; i < ctx * H; i++)
        kc[i] = vc[i] = NAN;
    float *dqkv = dev_put(qkv, (size_t)(ntok * stride) * sizeof(float));
    float *dkc = dev_put(kc, (size_t)(ctx * H) * sizeof(float));
    float *dvc = dev_put(vc, (size_t)(ctx * H) * sizeof(float));
    float *dqn = dev_put(qn, sizeof(qn)), *dkn = dev_put(kn, sizeof(kn));
    int32_t *dpos = dev_put(&pos0, sizeof(pos0));
    CK(hxq_cuda_qk_norm_rope(dqkv, stride, dqn, dkn, nh, hd, 1e-5f, 10000.0f, dkc, dvc, ntok,
                             ctx, dpos, NULL, CKE));
    dev_get(got, dqkv, (size_t)(ntok * stride) * sizeof(float));
    dev_get(kc, dkc, (size_t)(ctx * H) * sizeof(float));
    dev_get(vc, dvc, (size_t)(ctx * H) * sizeof(float));
    for (int64_t t = 0; t < ntok; t++)
        for (int which = 0; which < 2; which++) {
            const float *x = qkv + t * stride + which * H, *w = which ? kn : qn;
            double ss = 0.0;
            for (int64_t i = 0; i < H; i++)
                ss += (double)x[i] * x[i];
            for (int64_t i = 0; i < H; i++)
                nrm[i] = (float)(w[i] * (x[i] / sqrt(ss / (double)H + 1e-5)));
            rope_ref(nrm, ref, nh, hd, pos0 + t, 10000.0f);
            const float *out = which ? kc + (pos0 + t) * H : got + t * stride;
            memcpy(cmp, out, (size_t)H * sizeof(float));
            expect_close(cmp, ref, NULL, H, 1e-5, 2e-5, which ? "qk_norm_rope k" : "qk_norm_rope q");
        }
    for (int64_t t = 0; t < ntok; t++) /* v copied into the cache */
        ck_assert_int_eq(memcmp(vc + (pos0 + t) * H, qkv + t * stride + 2 * H,
                                (size_t)H * sizeof(float)), 0);
    for (int64_t i = 0; i < pos0 * H; i++) /* rows before pos0 untouched */
        ck_assert(isnan(kc[i]) && isnan(vc[i]));
    hxq_cuda_free(dqkv);
    hxq_cuda_free(dkc);
    hxq_cuda_free(dvc);
    hxq_cuda_free(dqn);
    hxq_cuda_free(dkn);
    hxq_cuda_free(dpos);
    free(qkv);
    free(got);
    free(kc);
    free(vc);
}
END_TEST

/* kv_store of ntok new tokens at pos0, then attention for them. */
static void check_attention(int64_t nh, int64_t hd, int64_t max_ctx, int32_t pos0,
                            int64_t ntok, uint64_t seed)
{
    rng g = {seed};
    const int64_t H = nh * hd, stride = 3 * H, total = pos0 + ntok;
    float *kc = malloc((size_t)(max_ctx * H) * sizeof(float));
    float *vc = malloc((size_t)(max_ctx * H) * sizeof(float));
    float *qkv = malloc((size_t)(ntok * stride) * sizeof(float));
    float *out = malloc((size_t)(ntok * H) * sizeof(float));
    double *ref = malloc((size_t)(ntok * H) * sizeof(double));
    double *sc = malloc((size_t)total * sizeof(double));
    ck_assert(kc && vc && qkv && out && ref && sc);
    for (int64_t i = 0; i < max_ctx * H; i++) {
        kc[i] = rng_unif(&g);
        vc[i] = rng_unif(&g);
    }
    for (int64_t i = 0; i < ntok * stride; i++)
        qkv[i] = 2.0f * rng_unif(&g);
    float *dkc = dev_put(kc, (size_t)(max_ctx * H) * sizeof(float));
    float *dvc = dev_put(vc, (size_t)(max_ctx * H) * sizeof(float));
    /* the host copy becomes the expected cache */
    for (int64_t t = 0; t < ntok; t++) {
        memcpy(kc + (pos0 + t) * H, qkv + t * stride + H, (size_t)H * sizeof(float));
        memcpy(vc + (pos0 + t) * H, qkv + t * stride + 2 * H, (size_t)H * sizeof(float));
    }
    for (int64_t t = 0; t < ntok; t++)
        for (int64_t h = 0; h < nh; h++) {
            const int64_t n = pos0 + t + 1;
            double mx = -INFINITY, sum = 0.0;
            for (int64_t j = 0; j < n; j++) {
                double s = 0.0;
                for (int64_t d = 0; d < hd; d++)
                    s += (double)qkv[t * stride + h * hd + d] * kc[j * H + h * hd + d];
                sc[j] = s / sqrt((double)hd);
                mx = sc[j] > mx ? sc[j] : mx;
            }
            for (int64_t j = 0; j < n; j++) {
                sc[j] = exp(sc[j] - mx);
                sum += sc[j];
            }
            for (int64_t d = 0; d < hd; d++) {
                double o = 0.0;
                for (int64_t j = 0; j < n; j++)
                    o += sc[j] * vc[j * H + h * hd + d];
                ref[t * H + h * hd + d] = o / sum;
            }
        }
    float *dqkv = dev_put(qkv, (size_t)(ntok * stride) * sizeof(float));
    float *dout;
    float *nanbuf = malloc((size_t)(ntok * H) * sizeof(float));
    ck_assert_ptr_nonnull(nanbuf);
    for (int64_t i = 0; i < ntok * H; i++)
        nanbuf[i] = NAN;
    dout = dev_put(nanbuf, (size_t)(ntok * H) * sizeof(float));
    int32_t *dpos = dev_put(&pos0, sizeof(pos0));
    CK(hxq_cuda_kv_store(dqkv + H, stride, dqkv + 2 * H, stride, dkc, dvc, H, ntok, max_ctx,
                         dpos, NULL, CKE));
    CK(hxq_cuda_attention(dqkv, stride, dkc, dvc, dout, H, nh, nh, hd, ntok, max_ctx, dpos,
                          NULL, CKE));
    dev_get(out, dout, (size_t)(ntok * H) * sizeof(float));
    expect_close(out, ref, NULL, ntok * H, 1e-5, 1e-5, "attention");
    float *kc2 = malloc((size_t)(max_ctx * H) * sizeof(float));
    ck_assert_ptr_nonnull(kc2);
    dev_get(kc2, dkc, (size_t)(max_ctx * H) * sizeof(float));
    ck_assert_int_eq(memcmp(kc2, kc, (size_t)(max_ctx * H) * sizeof(float)), 0);
    dev_get(kc2, dvc, (size_t)(max_ctx * H) * sizeof(float));
    ck_assert_int_eq(memcmp(kc2, vc, (size_t)(max_ctx * H) * sizeof(float)), 0);
    hxq_cuda_free(dkc);
    hxq_cuda_free(dvc);
    hxq_cuda_free(dqkv);
    hxq_cuda_free(dout);
    hxq_cuda_free(dpos);
    free(kc);
    free(vc);
    free(kc2);
    free(qkv);
    free(out);
    free(ref);
    free(sc);
    free(nanbuf);
}

START_TEST(test_attention)
{
    if (!cuda_test_gpu(__func__))
        return;
    hxq_error err;
    ck_assert_int_eq(hxq_cuda_prepare(&err), HXQ_OK);
    check_attention(4, 32, 64, 20, 3, 41);   /* prompt chunk after a cached prefix */
    check_attention(2, 64, 300, 0, 5, 42);   /* prompt from an empty cache */
    check_attention(3, 128, 512, 299, 1, 43); /* one decode step, > 128 keys */
}
END_TEST

START_TEST(test_router_topk)
{
    if (!cuda_test_gpu(__func__))
        return;
    rng g = {51};
    const int64_t cases[][3] = {{64, 8, 0}, {16, 4, 1}, {256, 8, 0}, {5, 5, 1}};
    for (int ci = 0; ci < 4; ci++) {
        const int64_t E = cases[ci][0], K = cases[ci][1], ntok = 5;
        const int norm = (int)cases[ci][2];
        float *lg = malloc((size_t)(ntok * E) * sizeof(float));
        int32_t *ids = malloc((size_t)(ntok * K) * sizeof(int32_t));
        float *w = malloc((size_t)(ntok * K) * sizeof(float));
        double *p = malloc((size_t)E * sizeof(double));
        double *ref = malloc((size_t)(ntok * K) * sizeof(double));
        int *taken = malloc((size_t)E * sizeof(int));
        ck_assert(lg && ids && w && p && ref && taken);
        for (int64_t i = 0; i < ntok * E; i++)
            lg[i] = 4.0f * rng_unif(&g);
        float *dl = dev_put(lg, (size_t)(ntok * E) * sizeof(float));
        for (int64_t i = 0; i < ntok * K; i++) {
            ids[i] = -1;
            w[i] = NAN;
        }
        int32_t *di = dev_put(ids, (size_t)(ntok * K) * sizeof(int32_t));
        float *dw = dev_put(w, (size_t)(ntok * K) * sizeof(float));
        CK(hxq_cuda_router_topk(dl, ntok, E, K, norm, di, dw, NULL, CKE));
        dev_get(ids, di, (size_t)(ntok * K) * sizeof(int32_t));
        dev_get(w, dw, (size_t)(ntok * K) * sizeof(float));
        for (int64_t t = 0; t < ntok; t++) {
            double mx = -INFINITY, sum = 0.0, wsum = 0.0;
            for (int64_t e = 0; e < E; e++)
                mx = lg[t * E + e] > mx ? lg[t * E + e] : mx;
            for (int64_t e = 0; e < E; e++) {
                p[e] = exp(lg[t * E + e] - mx);
                sum += p[e];
                taken[e] = 0;
            }
            for (int64_t j = 0; j < K; j++) {
                int64_t best = -1;
                for (int64_t e = 0; e < E; e++)
                    if (!taken[e] && (best < 0 || p[e] > p[best]))
                        best = e;
                taken[best] = 1;
                ck_assert_int_eq(ids[t * K + j], (int)best);
                ref[t * K + j] = p[best] / sum;
                wsum += ref[t * K + j];
            }
            if (norm)
                for (int64_t j = 0; j < K; j++)
                    ref[t * K + j] /= wsum;
        }
        expect_close(w, ref, NULL, ntok * K, 1e-5, 1e-7, "router weights");
        hxq_cuda_free(dl);
        hxq_cuda_free(di);
        hxq_cuda_free(dw);
        free(lg);
        free(ids);
        free(w);
        free(p);
        free(ref);
        free(taken);
    }
}
END_TEST

START_TEST(test_moe)
{
    if (!cuda_test_gpu(__func__))
        return;
    hxq_error err;
    ck_assert_int_eq(hxq_cuda_prepare(&err), HXQ_OK);
    rng g = {61};
    const int64_t NE = 8, K = 2, H = 256, I = 128, ntok = 3;
    cuda_dmodel dm;
    memset(&dm, 0, sizeof(dm));
    float *eff_gu[16], *eff_dn[8];
    hxq_cuda_mat *gu = make_mats(&dm, &g, HXQ_CUDA_HXQ, 2 * NE, I, H, 30, eff_gu);
    hxq_cuda_mat *dn = make_mats(&dm, &g, HXQ_CUDA_HXQ, NE, H, I, 30, eff_dn);
    float x[3 * 256], out[3 * 256], w[6];
    int32_t ids[6] = {3, 0, 7, 5, 1, 6};
    double ref[3 * 256], scale[3 * 256], hbuf[128], xn[256];
    float nw[256];
    for (int64_t i = 0; i < ntok * H; i++) {
        x[i] = 3.0f * rng_unif(&g);
        out[i] = rng_unif(&g);
        ref[i] = out[i];
        scale[i] = fabs(out[i]);
    }
    for (int64_t i = 0; i < H; i++)
        nw[i] = 1.0f + 0.5f * rng_unif(&g);
    for (int i = 0; i < 6; i++)
        w[i] = 0.1f + 0.2f * (float)i;
    for (int64_t t = 0; t < ntok; t++)
        for (int64_t j = 0; j < K; j++) {
            const int e = ids[t * K + j];
            double ss = 0.0;
            for (int64_t c = 0; c < H; c++)
                ss += (double)x[t * H + c] * x[t * H + c];
            for (int64_t c = 0; c < H; c++)
                xn[c] = nw[c] * (x[t * H + c] / sqrt(ss / (double)H + 1e-5));
            for (int64_t r = 0; r < I; r++) {
                double a = 0.0, b = 0.0;
                for (int64_t c = 0; c < H; c++) {
                    a += (double)eff_gu[e][r * H + c] * xn[c];
                    b += (double)eff_gu[NE + e][r * H + c] * xn[c];
                }
                hbuf[r] = a / (1.0 + exp(-a)) * b;
            }
            for (int64_t r = 0; r < H; r++) {
                double s = 0.0, m = 0.0;
                for (int64_t c = 0; c < I; c++) {
                    s += (double)eff_dn[e][r * I + c] * hbuf[c];
                    m += fabs((double)eff_dn[e][r * I + c] * hbuf[c]);
                }
                ref[t * H + r] += w[t * K + j] * s;
                scale[t * H + r] += w[t * K + j] * m;
            }
        }
    float *dx = dev_put(x, sizeof(x));
    float *dout = dev_put(out, sizeof(out));
    float *dw = dev_put(w, sizeof(w));
    int32_t *di = dev_put(ids, sizeof(ids));
    float *dnw = dev_put(nw, sizeof(nw));
    float *dgu = NULL, *dye = NULL;
    CK(hxq_cuda_alloc((void **)&dgu, (size_t)(ntok * 2 * K * I) * sizeof(float), CKE));
    CK(hxq_cuda_alloc((void **)&dye, (size_t)(ntok * K * H) * sizeof(float), CKE));
    hxq_cuda_moe_args a = {gu, HXQ_CUDA_HXQ, dn, HXQ_CUDA_HXQ, NE, K, H, I, ntok,
                           di, dw, dx, dgu, dye, dout, dnw, 1e-5f};
    CK(hxq_cuda_moe(&a, NULL, CKE));
    dev_get(out, dout, sizeof(out));
    expect_close(out, ref, scale, ntok * H, 3e-5, 1e-6, "moe");
    hxq_cuda_free(dx);
    hxq_cuda_free(dout);
    hxq_cuda_free(dw);
    hxq_cuda_free(di);
    hxq_cuda_free(dgu);
    hxq_cuda_free(dnw);
    hxq_cuda_free(dye);
    free_eff(eff_gu, 16);
    free_eff(eff_dn, 8);
    cuda_dmodel_free(&dm);
}
END_TEST

START_TEST(test_embed)
{
    if (!cuda_test_gpu(__func__))
        return;
    rng g = {71};
    const int64_t V = 50, D = 64;
    uint16_t tab[50 * 64];
    for (int64_t i = 0; i < V * D; i++)
        tab[i] = hxq_f32_to_bf16(rng_unif(&g));
    const int32_t ids[5] = {3, 0, 49, -1, 50};
    float out[5 * 64];
    void *dt = dev_put(tab, sizeof(tab));
    int32_t *di = dev_put(ids, sizeof(ids));
    float *dout = dev_put(out, sizeof(out));
    CK(hxq_cuda_embed(HXQ_CUDA_BF16, dt, V, D, di, 5, dout, NULL, CKE));
    dev_get(out, dout, sizeof(out));
    for (int t = 0; t < 5; t++)
        for (int64_t i = 0; i < D; i++) {
            float want = ids[t] >= 0 && ids[t] < V ? hxq_bf16_to_f32(tab[ids[t] * D + i]) : 0.0f;
            ck_assert_float_eq(out[t * D + i], want);
        }
    hxq_cuda_free(dt);
    hxq_cuda_free(di);
    hxq_cuda_free(dout);
}
END_TEST

/* A captured launch replays with the inputs current at launch time. */
START_TEST(test_graph_replay)
{
    if (!cuda_test_gpu(__func__))
        return;
    rng g = {81};
    const int64_t dim = 512;
    float x[512] = {0}, w[512], y[512] = {0};
    double ref[512];
    for (int i = 0; i < dim; i++)
        w[i] = 1.0f + 0.1f * rng_unif(&g);
    float *dx = dev_put(x, sizeof(x)), *dw = dev_put(w, sizeof(w)), *dy = dev_put(y, sizeof(y));
    void *st = NULL, *exec = NULL;
    CK(hxq_cuda_stream_create(&st, CKE));
    CK(hxq_cuda_graph_begin(st, CKE));
    CK(hxq_cuda_rmsnorm(dx, dim, dw, dy, dim, 1, dim, 1e-5f, st, CKE));
    CK(hxq_cuda_graph_end(st, &exec, CKE));
    for (int round = 0; round < 2; round++) {
        double ss = 0.0;
        for (int i = 0; i < dim; i++) {
            x[i] = rng_unif(&g);
            ss += (double)x[i] * x[i];
        }
        for (int i = 0; i < dim; i++)
            ref[i] = w[i] * (x[i] / sqrt(ss / dim + 1e-5));
        CK(hxq_cuda_upload(dx, x, sizeof(x), CKE));
        CK(hxq_cuda_graph_launch(exec, st, CKE));
        CK(hxq_cuda_stream_sync(st, CKE));
        dev_get(y, dy, sizeof(y));
        expect_close(y, ref, NULL, dim, 1e-5, 1e-6, "graph replay");
    }
    hxq_cuda_graph_free(exec);
    hxq_cuda_stream_destroy(st);
    hxq_cuda_free(dx);
    hxq_cuda_free(dw);
    hxq_cuda_free(dy);
}
END_TEST

#endif /* HXQ_HAVE_CUDA */

static Suite *cuda_kernels_suite(void)
{
    Suite *s = suite_create("cuda_kernels");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sidecar_csr);
#ifndef HXQ_HAVE_CUDA
    tcase_add_test(tc, test_built_without_cuda);
#else
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_linear_hxq);
    tcase_add_test(tc, test_linear_dense);
    tcase_add_test(tc, test_rmsnorm);
    tcase_add_test(tc, test_rope);
    tcase_add_test(tc, test_qk_norm_rope);
    tcase_add_test(tc, test_attention);
    tcase_add_test(tc, test_router_topk);
    tcase_add_test(tc, test_moe);
    tcase_add_test(tc, test_embed);
    tcase_add_test(tc, test_graph_replay);
#endif
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(cuda_kernels_suite)
