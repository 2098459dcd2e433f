/* verify_source.c - hxq verify --source: the recorded source hashes, every
 * source tensor accounted for (the reference's "Gate 2"), exact tensors
 * equal to the source, per-tensor errors recomputed from the source. */
#include "hxq_codec.h"
#include "hxq_receipt.h"
#include "verify_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_source_files(const char *src, const hxq_compression_receipt *cr,
                              hxq_verify_report *rep)
{
    for (int i = 0; i < cr->n_source_files; i++) {
        const hxq_rc_file *f = &cr->source_files[i];
        char *path = hxq_path_join(src, f->name);
        if (!path)
            return HXQ_ERR_NOMEM;
        char hex[HXQ_SHA256_HEX];
        uint64_t size = 0;
        hxq_error e = {0};
        int rc = hxq_path_exists(path) ? hxq_sha256_file(path, hex, &size, &e)
                                       : hxq_err(&e, HXQ_ERR_IO, "missing from the source");
        free(path);
        if (rc < 0) {
            VERIFY_TRY(hxq_verify_fail(rep, f->name, "", "source_present", "%s", e.msg));
            continue;
        }
        if (size != f->size || strcmp(hex, f->sha256))
            VERIFY_TRY(hxq_verify_fail(rep, f->name, "", "source_sha256",
                                       "source file is %llu bytes with sha256 %s, the receipt "
                                       "records %llu bytes, %s", (unsigned long long)size, hex,
                                       (unsigned long long)f->size, f->sha256));
    }
    return HXQ_OK;
}

/* Relative tolerance of recomputed errors: the encoder sums its errors
 * per distinct value, hxq_codec_stats() per element, so the last few of
 * 17 digits differ (measured: below 1e-12 relative on tiny-olmoe). */
#define ERROR_RTOL 1e-9

/* 1 when two doubles agree to ERROR_RTOL (both +inf counts). */
static int same_real(double a, double b)
{
    if (a == b || (isinf(a) && isinf(b) && (a > 0) == (b > 0)))
        return 1;
    return isfinite(a) && isfinite(b) && fabs(a - b) <= ERROR_RTOL * fmax(fabs(a), fabs(b));
}

/* The source matrix of a compressed group: the whole tensor, or one
 * expert's row range of a fused 3-D tensor. NULL when it does not fit. */
static const void *source_matrix(const hxq_tensor *t, const hxq_rc_tensor *rt)
{
    if (rt->ndim != 2)
        return NULL;
    int64_t rows = rt->shape[0], cols = rt->shape[1];
    if (rt->expert < 0)
        return t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols ? t->data : NULL;
    if (t->ndim != 3 || rt->expert >= t->shape[0] || t->shape[2] != cols ||
        rt->row_begin < 0 || rt->row_end > t->shape[1] || rt->row_end - rt->row_begin != rows)
        return NULL;
    uint64_t off = ((uint64_t)rt->expert * (uint64_t)t->shape[1] + (uint64_t)rt->row_begin) *
                   (uint64_t)cols * hxq_dtype_size(t->dtype);
    return (const char *)t->data + off;
}

/* A compressed group: source shape and dtype, error recomputed. */
static int check_compressed(const hxq_ckpt *ck, const hxq_qconfig *q, const hxq_tensor *t,
                            const hxq_rc_tensor *rt, hxq_verify_report *rep)
{
    const void *src = source_matrix(t, rt);
    if (!src || t->dtype != rt->source_dtype)
        return hxq_verify_fail(rep, verify_base(t->path), rt->name, "source_shape",
                               "source '%s' (%s, rank %d) does not hold the recorded %s matrix",
                               t->name, hxq_dtype_name(t->dtype), t->ndim,
                               hxq_dtype_name(rt->source_dtype));
    hxq_module m;
    hxq_error e = {0};
    int rc = hxq_module_load(ck, rt->name, q->packed12, &m, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, "", rt->name, "module", "%s", e.msg);
    hxq_matrix_stats s;
    rc = hxq_codec_stats(src, t->dtype, &m.m, &s, &e);
    hxq_module_free(&m);
    if (rc < 0)
        return hxq_verify_fail(rep, "", rt->name, "tensor_error", "%s", e.msg);
    rep->errors_compared++;
    if (!same_real(s.mse, rt->mse) || !same_real(s.snr_db, rt->snr_db) ||
        !same_real(s.cosine, rt->cosine) || !same_real(s.max_abs_err, rt->max_abs_err))
        return hxq_verify_fail(rep, VERIFY_COMPRESSION_RECEIPT, rt->name, "tensor_error",
                               "recomputed mse %.17g snr %.17g cosine %.17g max %.17g, the "
                               "receipt records %.17g %.17g %.17g %.17g", s.mse, s.snr_db,
                               s.cosine, s.max_abs_err, rt->mse, rt->snr_db, rt->cosine,
                               rt->max_abs_err);
    return HXQ_OK;
}

/* 1 when out holds exactly the source's values in its own dtype. */
static int exact_equal(const hxq_tensor *src, const hxq_tensor *out, int64_t *bad)
{
    *bad = -1;
    if (src->nelem != out->nelem)
        return 0;
    if (src->dtype == out->dtype) {
        if (memcmp(src->data, out->data, src->nbytes) == 0)
            return 1;
        size_t es = hxq_dtype_size(src->dtype);
        for (int64_t i = 0; i < src->nelem && *bad < 0; i++)
            if (memcmp((const char *)src->data + i * es, (const char *)out->data + i * es, es))
                *bad = i;
        return 0;
    }
    if (out->dtype != HXQ_DT_F16 && out->dtype != HXQ_DT_BF16 && out->dtype != HXQ_DT_F32)
        return 0;
    for (int64_t i = 0; i < src->nelem; i++) {
        float v = hxq_tensor_f32_at(src, i), w = hxq_tensor_f32_at(out, i);
        float r = out->dtype == HXQ_DT_F16    ? hxq_f16_to_f32(hxq_f32_to_f16(v))
                  : out->dtype == HXQ_DT_BF16 ? hxq_bf16_to_f32(hxq_f32_to_bf16(v))
                                              : v;
        if (!(r == w || (r != r && w != w))) {
            *bad = i;
            return 0;
        }
    }
    return 1;
}

static int check_exact(const hxq_ckpt *ck, const hxq_tensor *t, hxq_verify_report *rep)
{
    const hxq_tensor *o = hxq_ckpt_find(ck, t->name);
    if (!o)
        return hxq_verify_fail(rep, "", t->name, "accounted",
                               "source tensor is neither stored nor compressed");
    int64_t bad = -1;
    if (o->ndim != t->ndim || !exact_equal(t, o, &bad))
        return hxq_verify_fail(rep, verify_base(o->path), t->name, "exact_values",
                               "stored %s tensor differs from the %s source (element %lld)",
                               hxq_dtype_name(o->dtype), hxq_dtype_name(t->dtype),
                               (long long)bad);
    return HXQ_OK;
}

static int rc_source_cmp(const void *a, const void *b)
{
    return strcmp((*(const hxq_rc_tensor *const *)a)->source,
                  (*(const hxq_rc_tensor *const *)b)->source);
}

/* With a compression receipt: every group's source exists and matches,
 * every source tensor is some group's source. */
static int check_with_receipt(const hxq_ckpt *ck, const hxq_qconfig *q, const hxq_ckpt *sc,
                              const hxq_compression_receipt *cr, hxq_verify_report *rep)
{
    const hxq_rc_tensor **by = hxq_alloc_array(cr->n_tensors, sizeof(*by));
    if (!by)
        return HXQ_ERR_NOMEM;
    for (int64_t i = 0; i < cr->n_tensors; i++)
        by[i] = &cr->tensors[i];
    qsort(by, (size_t)cr->n_tensors, sizeof(*by), rc_source_cmp);
    int rc = HXQ_OK;
    for (int64_t i = 0; i < cr->n_tensors && rc == HXQ_OK; i++) {
        const hxq_rc_tensor *rt = &cr->tensors[i];
        const hxq_tensor *t = hxq_ckpt_find(sc, rt->source);
        if (!t)
            rc = hxq_verify_fail(rep, VERIFY_COMPRESSION_RECEIPT, rt->name, "source_tensor",
                                 "recorded source '%s' is not in the source", rt->source);
        else if (rt->compressed)
            rc = check_compressed(ck, q, t, rt, rep);
        else
            rc = check_exact(ck, t, rep);
    }
    for (int64_t i = 0; i < hxq_ckpt_count(sc) && rc == HXQ_OK; i++) {
        const hxq_tensor *t = hxq_ckpt_tensor(sc, i);
        hxq_rc_tensor key;
        memset(&key, 0, sizeof(key));
        key.source = (char *)t->name;
        const hxq_rc_tensor *kp = &key;
        if (bsearch(&kp, by, (size_t)cr->n_tensors, sizeof(*by), rc_source_cmp))
            rep->source_tensors++;
        else
            rc = hxq_verify_fail(rep, "", t->name, "accounted",
                                 "source tensor is not recorded in %s",
                                 VERIFY_COMPRESSION_RECEIPT);
    }
    free(by);
    return rc;
}

/* Without one (the reference's folders): by name, as its Gate 2 does. */
static int check_by_name(const hxq_ckpt *ck, const hxq_qconfig *q, const hxq_ckpt *sc,
                         hxq_verify_report *rep)
{
    for (int64_t i = 0; i < hxq_ckpt_count(sc); i++) {
        const hxq_tensor *t = hxq_ckpt_tensor(sc, i);
        char mod[1024];
        size_t n = strlen(t->name);
        int listed = 0;
        if (verify_ends_with(t->name, ".weight") && n - 7 < sizeof(mod)) {
            memcpy(mod, t->name, n - 7);
            mod[n - 7] = '\0';
            for (int64_t k = 0; k < q->n_modules && !listed; k++)
                listed = !strcmp(q->modules[k], mod);
        }
        if (!listed) {
            VERIFY_TRY(check_exact(ck, t, rep));
            rep->source_tensors++;
            continue;
        }
        hxq_module m;
        hxq_error e = {0};
        int rc = hxq_module_load(ck, mod, q->packed12, &m, &e);
        if (rc == HXQ_ERR_NOMEM)
            return rc;
        if (rc < 0) {
            VERIFY_TRY(hxq_verify_fail(rep, "", mod, "accounted", "%s", e.msg));
            continue;
        }
        rep->source_tensors++;
        if (t->ndim != 2 || t->shape[0] != m.m.rows || t->shape[1] != m.m.cols)
            rc = hxq_verify_fail(rep, "", mod, "source_shape",
                                 "module is [%lld, %lld], the source weight has rank %d",
                                 (long long)m.m.rows, (long long)m.m.cols, t->ndim);
        hxq_module_free(&m);
        VERIFY_TRY(rc);
    }
    return HXQ_OK;
}

int verify_source(const hxq_ckpt *ck, const hxq_qconfig *q, const hxq_compression_receipt *cr,
                  const char *src, hxq_verify_report *rep)
{
    if (cr)
        VERIFY_TRY(check_source_files(src, cr, rep));
    hxq_ckpt *sc = NULL;
    hxq_error e = {0};
    int rc = hxq_ckpt_open(src, &sc, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, "", "", "source_readable", "%s", e.msg);
    rc = cr ? check_with_receipt(ck, q, sc, cr, rep) : check_by_name(ck, q, sc, rep);
    hxq_ckpt_close(sc);
    return rc;
}
