/* verify_test_util.h - helpers shared by test_verify.c and test_convert.c
 * (header-only: each test program is built from one source file). */
#ifndef VERIFY_TEST_UTIL_H
#define VERIFY_TEST_UTIL_H

#include "hxq_io.h"
#include "hxq_pipeline.h"
#include "hxq_test.h"
#include "hxq_verify.h"

#include <stdio.h>
#include <string.h>

/* Verifies dir; returns the status and leaves the report in *r. */
static inline int vt_verify(const char *dir, const hxq_verify_opts *o, hxq_verify_report *r)
{
    hxq_verify_report_init(r);
    hxq_error err = {0};
    return hxq_verify_folder(dir, o, r, &err);
}

/* A whole file as a NUL-terminated string (hxq_test_read_file() does not
 * terminate); *len (optional) receives its size. */
static inline char *vt_read_text(const char *path, size_t *len)
{
    size_t n;
    uint8_t *raw = hxq_test_read_file(path, &n);
    ck_assert_msg(raw != NULL, "cannot read %s", path);
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, raw, n);
    s[n] = '\0';
    free(raw);
    if (len)
        *len = n;
    return s;
}

/* Compresses the dense fixture into dir the quick way: experts kept
 * exact (20 modules compressed, about a second), 3 MB shards so the index
 * and several shards are exercised. */
static inline void vt_compress_fast(const char *dir)
{
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    static const char *const extra[] = {"experts"};
    o.extra_exact = extra;
    o.n_extra_exact = 1;
    o.max_shard_size = 3000000;
    o.threads = 2;
    hxq_error err = {0};
    int rc = hxq_compress(HXQ_FIXTURE_DENSE, dir, &o, NULL, &err);
    ck_assert_msg(rc == HXQ_OK, "%s", err.msg);
}

static inline const hxq_tensor *vt_part(const hxq_ckpt *ck, const char *mod, const char *suffix)
{
    char name[1024];
    snprintf(name, sizeof(name), "%s%s", mod, suffix);
    return hxq_ckpt_find(ck, name);
}

/* Effective weights of a module, computed from the raw tensors (the
 * format's definition): codebook[indices], sidecar values replacing.
 * The caller frees the array. */
static inline float *vt_effective(const hxq_ckpt *ck, const char *mod, int64_t *n)
{
    const hxq_tensor *cb = vt_part(ck, mod, ".codebook"), *ix = vt_part(ck, mod, ".indices");
    const hxq_tensor *sp = vt_part(ck, mod, ".sidecar_positions");
    const hxq_tensor *sv = vt_part(ck, mod, ".sidecar_values");
    ck_assert_msg(cb && ix, "module %s", mod);
    float *w = malloc((size_t)ix->nelem * sizeof(float));
    ck_assert_ptr_nonnull(w);
    const uint8_t *idx = ix->data;
    for (int64_t i = 0; i < ix->nelem; i++)
        w[i] = hxq_tensor_f32_at(cb, idx[i]);
    for (int64_t s = 0; sp && s < sp->nelem; s++) {
        int64_t p;
        memcpy(&p, (const char *)sp->data + 8 * s, 8);
        if (p >= 0 && p < ix->nelem)
            w[p] = hxq_tensor_f32_at(sv, s);
        else
            ck_abort_msg("%s: sidecar position %lld out of range", mod, (long long)p);
    }
    *n = ix->nelem;
    return w;
}

/* Checks that every module of the HXQ folder hx appears in the dense
 * folder as <p>.weight BF16 equal to its effective weights rounded to
 * BF16; returns the number of modules compared. */
static inline int64_t vt_expect_dense_decode(const char *hx_dir, const char *dense_dir)
{
    hxq_error err = {0};
    hxq_ckpt *hx, *out;
    hxq_qconfig q;
    ck_assert_int_eq(hxq_ckpt_open(hx_dir, &hx, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(dense_dir, &out, &err), HXQ_OK);
    ck_assert_int_eq(hxq_qconfig_load(hx_dir, &q, &err), HXQ_OK);
    for (int64_t m = 0; m < q.n_modules; m++) {
        int64_t n;
        float *w = vt_effective(hx, q.modules[m], &n);
        const hxq_tensor *t = vt_part(out, q.modules[m], ".weight");
        ck_assert_msg(t && t->dtype == HXQ_DT_BF16 && t->nelem == n, "%s", q.modules[m]);
        int64_t bad = -1;
        for (int64_t i = 0; i < n && bad < 0; i++) {
            uint16_t got;
            memcpy(&got, (const char *)t->data + 2 * i, 2);
            if (got != hxq_f32_to_bf16(w[i]))
                bad = i;
        }
        ck_assert_msg(bad < 0, "%s[%lld] differs", q.modules[m], (long long)bad);
        free(w);
    }
    int64_t n = q.n_modules;
    hxq_qconfig_free(&q);
    hxq_ckpt_close(hx);
    hxq_ckpt_close(out);
    return n;
}

#endif
