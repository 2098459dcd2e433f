/* test_convert.c - hxq convert: dense output equals the decoded weights in
 * BF16, canonical output keeps every effective weight, re-sharding keeps
 * the bytes, legacy layouts are normalised, bad requests leave nothing. */
#include "verify_test_util.h"

#include <cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

static int convert(const char *src, const char *dst, hxq_convert_target to, int64_t shard,
                   hxq_convert_summary *s, hxq_error *err)
{
    hxq_convert_opts o = {to, shard, 0};
    return hxq_convert_folder(src, dst, &o, s, err);
}

static void expect_verify_ok(const char *dir)
{
    hxq_verify_report r;
    hxq_error err = {0};
    hxq_verify_report_init(&r);
    int rc = hxq_verify_folder(dir, NULL, &r, &err);
    ck_assert_msg(rc == HXQ_OK, "%s: %s %s", dir, err.msg,
                  r.n_failures ? r.failures[0].detail : "");
    hxq_verify_report_free(&r);
}

static int is_part_name(const char *n)
{
    static const char *const sfx[] = {".codebook", ".indices", ".sidecar_positions",
                                       ".sidecar_values"};
    for (int i = 0; i < 4; i++) {
        size_t a = strlen(n), b = strlen(sfx[i]);
        if (a > b && !strcmp(n + a - b, sfx[i]))
            return 1;
    }
    return 0;
}

START_TEST(helix_to_dense_is_decode_in_bf16)
{
    char *tmp = hxq_test_tmpdir("cdense");
    char dst[2048];
    snprintf(dst, sizeof(dst), "%s/dense", tmp);
    hxq_error err = {0};
    hxq_convert_summary s;
    ck_assert_msg(convert(HXQ_FIXTURE_HELIX, dst, HXQ_CONVERT_DENSE, 4000000, &s, &err) == 0,
                  "%s", err.msg);
    ck_assert_int_gt(s.nshards, 1);
    expect_verify_ok(dst);
    hxq_ckpt *out, *hx, *orig;
    ck_assert_int_eq(hxq_ckpt_open(dst, &out, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_HELIX, &hx, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_DENSE, &orig, &err), HXQ_OK);
    ck_assert(hxq_ckpt_is_sharded(out));
    hxq_config cfg;
    ck_assert_int_eq(hxq_config_load(dst, &cfg, &err), HXQ_OK);
    ck_assert_int_eq(cfg.has_quantization_config, 0);
    /* same names and shapes as the dense model the reference compressed */
    ck_assert_int_eq(hxq_ckpt_count(out), hxq_ckpt_count(orig));
    for (int64_t i = 0; i < hxq_ckpt_count(out); i++) {
        const hxq_tensor *a = hxq_ckpt_tensor(out, i), *b = hxq_ckpt_tensor(orig, i);
        ck_assert_str_eq(a->name, b->name);
        ck_assert_int_eq(a->dtype, HXQ_DT_BF16);
        ck_assert_int_eq(a->ndim, b->ndim);
        for (int d = 0; d < a->ndim; d++)
            ck_assert_int_eq(a->shape[d], b->shape[d]);
    }
    ck_assert_int_eq(vt_expect_dense_decode(HXQ_FIXTURE_HELIX, dst), 212);
    for (int64_t i = 0; i < hxq_ckpt_count(hx); i++) {
        const hxq_tensor *e = hxq_ckpt_tensor(hx, i);
        if (is_part_name(e->name))
            continue;
        const hxq_tensor *t = hxq_ckpt_find(out, e->name);
        ck_assert_ptr_nonnull(t);
        int64_t bad = -1;
        for (int64_t k = 0; k < e->nelem && bad < 0; k++) {
            uint16_t got;
            memcpy(&got, (const char *)t->data + 2 * k, 2);
            if (got != hxq_f32_to_bf16(hxq_tensor_f32_at(e, k)))
                bad = k;
        }
        ck_assert_msg(bad < 0, "%s[%lld] differs", e->name, (long long)bad);
    }
    hxq_ckpt_close(out);
    hxq_ckpt_close(hx);
    hxq_ckpt_close(orig);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(helix_to_hxq_keeps_effective_weights)
{
    char *tmp = hxq_test_tmpdir("chxq");
    char dst[2048], path[4096];
    snprintf(dst, sizeof(dst), "%s/canon", tmp);
    hxq_error err = {0};
    hxq_convert_summary s;
    ck_assert_msg(convert(HXQ_FIXTURE_HELIX, dst, HXQ_CONVERT_HXQ, 0, &s, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(s.nshards, 1);
    ck_assert_int_eq(s.modules, 212);
    ck_assert_int_gt(s.exact_narrowed, 0);   /* F16 back to BF16 where exact... */
    ck_assert_int_lt(s.exact_narrowed, 19);  /* ...not where F16 subnormals are */
    expect_verify_ok(dst);
    /* still equal to the dense source wherever the reference kept it so */
    hxq_verify_opts vo = {.source = HXQ_FIXTURE_DENSE};
    hxq_verify_report vr;
    hxq_verify_report_init(&vr);
    ck_assert_int_eq(hxq_verify_folder(dst, &vo, &vr, &err), HXQ_OK);
    ck_assert_int_eq(vr.source_tensors, 231);
    hxq_verify_report_free(&vr);
    hxq_ckpt *out, *hx;
    ck_assert_int_eq(hxq_ckpt_open(dst, &out, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_HELIX, &hx, &err), HXQ_OK);
    hxq_qconfig q, q2;
    ck_assert_int_eq(hxq_qconfig_load(HXQ_FIXTURE_HELIX, &q, &err), HXQ_OK);
    ck_assert_int_eq(hxq_qconfig_load(dst, &q2, &err), HXQ_OK);
    ck_assert_str_eq(q2.quant_method, "hxq");
    ck_assert_int_eq(q2.n_modules, q.n_modules);
    for (int64_t m = 0; m < q.n_modules; m++) {
        ck_assert_str_eq(q2.modules[m], q.modules[m]);
        const hxq_tensor *cb = vt_part(out, q.modules[m], ".codebook");
        ck_assert(cb && cb->dtype == HXQ_DT_F32 && cb->nelem == 256);
        ck_assert_ptr_nonnull(vt_part(out, q.modules[m], ".sidecar_values"));
        int64_t n1, n2;
        float *a = vt_effective(hx, q.modules[m], &n1), *b = vt_effective(out, q.modules[m], &n2);
        ck_assert_int_eq(n1, n2);
        ck_assert(memcmp(a, b, (size_t)n1 * sizeof(float)) == 0);
        free(a);
        free(b);
    }
    for (int64_t i = 0; i < hxq_ckpt_count(hx); i++) {
        const hxq_tensor *e = hxq_ckpt_tensor(hx, i);
        if (is_part_name(e->name))
            continue;
        const hxq_tensor *t = hxq_ckpt_find(out, e->name);
        ck_assert_ptr_nonnull(t);
        int64_t bad = -1;
        for (int64_t k = 0; k < e->nelem && bad < 0; k++)
            if (hxq_tensor_f32_at(t, k) != hxq_tensor_f32_at(e, k))
                bad = k;
        ck_assert_msg(bad < 0, "%s[%lld] differs", e->name, (long long)bad);
    }
    /* the receipt records the source's hash, the reference's fields, a PASS */
    snprintf(path, sizeof(path), "%s/conversion_receipt.json", dst);
    char *text = vt_read_text(path, NULL);
    cJSON *root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "PASS");
    const cJSON *val = cJSON_GetObjectItem(root, "validation");
    ck_assert_int_eq(cJSON_GetObjectItem(val, "total_keys")->valueint, 4 * 212 + 19);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(val, "checks"),
                                               "key_count_match")));
    const cJSON *f, *files = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "source"), "files");
    int seen = 0;
    cJSON_ArrayForEach(f, files)
        if (!strcmp(cJSON_GetObjectItem(f, "name")->valuestring, "model.safetensors"))
            seen = !strcmp(cJSON_GetObjectItem(f, "sha256")->valuestring,
                           "4b494a451e78c8bd9660c63c48b5fb3774d2ad50f062a1638a299277ea9908de");
    ck_assert(seen);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "tensors")), 4 * 212 + 19);
    cJSON_Delete(root);
    free(text);
    hxq_qconfig_free(&q);
    hxq_qconfig_free(&q2);
    hxq_ckpt_close(out);
    hxq_ckpt_close(hx);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(resharding_keeps_bytes)
{
    char *tmp = hxq_test_tmpdir("cshard");
    char one[2048], many[2048];
    snprintf(one, sizeof(one), "%s/one", tmp);
    snprintf(many, sizeof(many), "%s/many", tmp);
    hxq_error err = {0};
    hxq_convert_summary s1, s2;
    ck_assert_int_eq(convert(HXQ_FIXTURE_HELIX, one, HXQ_CONVERT_HXQ, 0, &s1, &err), 0);
    ck_assert_int_eq(convert(one, many, HXQ_CONVERT_HXQ, 2000000, &s2, &err), 0);
    ck_assert_int_eq(s1.nshards, 1);
    ck_assert_int_ge(s2.nshards, 5);
    ck_assert_int_eq(s2.exact_narrowed, 0);
    expect_verify_ok(many);
    hxq_ckpt *a, *b;
    ck_assert_int_eq(hxq_ckpt_open(one, &a, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(many, &b, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_count(a), hxq_ckpt_count(b));
    for (int64_t i = 0; i < hxq_ckpt_count(a); i++) {
        const hxq_tensor *x = hxq_ckpt_tensor(a, i), *y = hxq_ckpt_tensor(b, i);
        ck_assert_str_eq(x->name, y->name);
        ck_assert_int_eq(x->dtype, y->dtype);
        ck_assert_uint_eq(x->nbytes, y->nbytes);
        ck_assert(memcmp(x->data, y->data, x->nbytes) == 0);
    }
    hxq_ckpt_close(a);
    hxq_ckpt_close(b);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* ---- a legacy (cdna_v3) folder -------------------------------------- */

static void legacy_folder(const char *dir, int k)
{
    char path[4096];
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "{\"model_type\":\"x\",\"torch_dtype\":\"float16\",\"quantization_config\":"
             "{\"quant_method\":\"cdna_v3\",\"bits\":8,\"n_clusters\":%d,"
             "\"compressed_modules\":[\"m.lin\"]}}", k);
    snprintf(path, sizeof(path), "%.2000s/config.json", dir);
    ck_assert_int_eq(hxq_test_write_file(path, cfg, strlen(cfg)), 0);
    snprintf(path, sizeof(path), "%.2000s/tokenizer.json", dir);
    ck_assert_int_eq(hxq_test_write_file(path, "{}", 2), 0);
    snprintf(path, sizeof(path), "%.2000s/model.safetensors", dir);
    hxq_stw *w;
    hxq_error err = {0};
    int64_t ks = k, is[2] = {8, 40}, es = 4, em[2] = {4, 4};
    ck_assert_int_eq(hxq_stw_create(path, &w, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "m.lin.codebook", HXQ_DT_F16, 1, &ks, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "m.lin.indices", HXQ_DT_U8, 2, is, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "m.norm.weight", HXQ_DT_F16, 1, &es, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "m.emb.weight", HXQ_DT_F16, 2, em, &err), 0);
    ck_assert_int_eq(hxq_stw_begin(w, &err), 0);
    uint16_t cb[512];
    for (int i = 0; i < k; i++)
        cb[i] = hxq_f32_to_f16((float)(i - k / 2) / 64.0f);
    ck_assert_int_eq(hxq_stw_write(w, cb, (uint64_t)k * 2, &err), 0);
    uint8_t idx[320];
    for (int i = 0; i < 320; i++)
        idx[i] = (uint8_t)((i * 7) % (k < 256 ? k : 256));
    ck_assert_int_eq(hxq_stw_write(w, idx, 320, &err), 0);
    /* 1 + 2^-10 has no BF16 form: the norm must stay F16 in --to hxq */
    uint16_t norm[4] = {hxq_f32_to_f16(1.0f), hxq_f32_to_f16(1.0f + 1.0f / 1024.0f),
                        hxq_f32_to_f16(0.5f), hxq_f32_to_f16(2.0f)};
    ck_assert_int_eq(hxq_stw_write(w, norm, 8, &err), 0);
    uint16_t emb[16];
    for (int i = 0; i < 16; i++)
        emb[i] = hxq_f32_to_f16((float)(i - 8) * 0.25f);
    ck_assert_int_eq(hxq_stw_write(w, emb, 32, &err), 0);
    ck_assert_int_eq(hxq_stw_finish(w, &err), 0);
}

START_TEST(legacy_folder_normalised)
{
    char *tmp = hxq_test_tmpdir("clegacy");
    char src[2048], dst[2048], dense[2048];
    snprintf(src, sizeof(src), "%s/src", tmp);
    snprintf(dst, sizeof(dst), "%s/dst", tmp);
    snprintf(dense, sizeof(dense), "%s/dense", tmp);
    ck_assert_int_eq(hxq_test_sh("mkdir %s", src), 0);
    legacy_folder(src, 16);
    /* structurally sound as it is (F16 codebook of 16): only the receipt lacks */
    hxq_verify_report vr;
    ck_assert_int_eq(vt_verify(src, NULL, &vr), HXQ_ERR_VERIFY);
    ck_assert_int_eq(vr.total_failures, 1);
    ck_assert_str_eq(vr.failures[0].check, "receipt");
    hxq_verify_report_free(&vr);
    hxq_error err = {0};
    hxq_convert_summary s;
    ck_assert_msg(convert(src, dst, HXQ_CONVERT_HXQ, 0, &s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(s.exact_narrowed, 1);
    expect_verify_ok(dst);
    hxq_ckpt *a, *b;
    ck_assert_int_eq(hxq_ckpt_open(src, &a, &err), 0);
    ck_assert_int_eq(hxq_ckpt_open(dst, &b, &err), 0);
    ck_assert_int_eq(hxq_ckpt_find(b, "m.norm.weight")->dtype, HXQ_DT_F16);
    ck_assert_int_eq(hxq_ckpt_find(b, "m.emb.weight")->dtype, HXQ_DT_BF16);
    const hxq_tensor *cb = hxq_ckpt_find(b, "m.lin.codebook");
    ck_assert(cb->dtype == HXQ_DT_F32 && cb->nelem == 256);
    ck_assert_int_eq(hxq_ckpt_find(b, "m.lin.sidecar_positions")->nelem, 0);
    int64_t n1, n2;
    float *x = vt_effective(a, "m.lin", &n1), *y = vt_effective(b, "m.lin", &n2);
    ck_assert_int_eq(n1, n2);
    ck_assert(memcmp(x, y, (size_t)n1 * 4) == 0);
    free(x);
    free(y);
    for (int64_t i = 0; i < 16; i++)
        ck_assert(hxq_tensor_f32_at(hxq_ckpt_find(a, "m.emb.weight"), i) ==
                  hxq_tensor_f32_at(hxq_ckpt_find(b, "m.emb.weight"), i));
    hxq_qconfig q;
    ck_assert_int_eq(hxq_qconfig_load(dst, &q, &err), 0);
    ck_assert_str_eq(q.quant_method, "hxq");
    ck_assert_int_eq(q.codebook_size, 256);
    hxq_qconfig_free(&q);
    /* to dense: the F16 norm cannot be kept exactly in BF16 and says so */
    ck_assert_msg(convert(src, dense, HXQ_CONVERT_DENSE, 0, &s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(s.exact_narrowed, 2);
    ck_assert_int_eq(s.exact_lossy, 1);
    expect_verify_ok(dense);
    hxq_ckpt_close(a);
    hxq_ckpt_close(b);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Number of entries in a folder (besides . and ..). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

START_TEST(refusals_leave_nothing)
{
    char *tmp = hxq_test_tmpdir("crefuse");
    char src[2048], dst[2048], inside[2048], path[4096];
    snprintf(src, sizeof(src), "%s/src", tmp);
    snprintf(dst, sizeof(dst), "%s/dst", tmp);
    snprintf(inside, sizeof(inside), "%s/src/sub", tmp);
    ck_assert_int_eq(hxq_test_sh("mkdir %s", src), 0);
    legacy_folder(src, 300);
    hxq_error err = {0};
    /* k > 256 cannot be represented in 8-bit indices */
    int rc = convert(src, dst, HXQ_CONVERT_HXQ, 0, NULL, &err);
    ck_assert_int_eq(rc, HXQ_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "m.lin"));
    ck_assert_int_eq(count_entries(tmp), 1);
    /* a dense folder is not an HXQ folder */
    ck_assert_int_eq(convert(HXQ_FIXTURE_DENSE, dst, HXQ_CONVERT_DENSE, 0, NULL, &err),
                     HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "quantization_config"));
    ck_assert_int_eq(count_entries(tmp), 1);
    /* inside the source, existing destination, bad target, missing source */
    ck_assert_int_eq(convert(src, inside, HXQ_CONVERT_HXQ, 0, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(convert(src, src, HXQ_CONVERT_HXQ, 0, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(convert(HXQ_FIXTURE_HELIX, src, HXQ_CONVERT_HXQ, 0, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "--force"));
    snprintf(path, sizeof(path), "%s/config.json", src);
    ck_assert(hxq_path_exists(path));
    ck_assert_int_eq(convert(HXQ_FIXTURE_HELIX, dst, 0, 0, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(convert("/nonexistent/x", dst, HXQ_CONVERT_HXQ, 0, NULL, &err), HXQ_ERR_IO);
    ck_assert_int_eq(count_entries(tmp), 1);
    /* --force replaces */
    hxq_convert_opts o = {HXQ_CONVERT_DENSE, 0, 1};
    ck_assert_int_eq(hxq_convert_folder(HXQ_FIXTURE_HELIX, src, &o, NULL, &err), HXQ_OK);
    expect_verify_ok(src);
    ck_assert_int_eq(count_entries(tmp), 1);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(cli)
{
    const char *bin = hxq_test_bin();
    char *tmp = hxq_test_tmpdir("ccli");
    ck_assert_int_eq(hxq_test_sh("%s convert >/dev/null 2>&1", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s convert %s %s/x >/dev/null 2>&1", bin, HXQ_FIXTURE_HELIX,
                                 tmp), 2);
    ck_assert_int_eq(hxq_test_sh("%s convert %s %s/x --to fp8 >/dev/null 2>&1", bin,
                                 HXQ_FIXTURE_HELIX, tmp), 2);
    ck_assert_int_eq(hxq_test_sh("%s convert %s %s/x --to hxq --max-shard-size 5Q "
                                 ">/dev/null 2>&1", bin, HXQ_FIXTURE_HELIX, tmp), 2);
    ck_assert_int_eq(hxq_test_sh("%s convert %s %s/x --to dense >/dev/null 2>&1", bin,
                                 HXQ_FIXTURE_DENSE, tmp), 3);
    ck_assert_int_eq(hxq_test_sh("%s convert %s %s/x --to hxq --max-shard-size 3M --quiet",
                                 bin, HXQ_FIXTURE_HELIX, tmp), 0);
    ck_assert_int_eq(hxq_test_sh("test -f %s/x/model.safetensors.index.json", tmp), 0);
    ck_assert_int_eq(hxq_test_sh("%s verify %s/x >/dev/null", bin, tmp), 0);
    ck_assert_int_eq(hxq_test_sh("%s convert --help | grep -q -- --max-shard-size", bin), 0);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(compressed_to_dense_is_decode_in_bf16)
{
    char *tmp = hxq_test_tmpdir("ccomp");
    char hx[2048], dense[2048], back[2048];
    snprintf(hx, sizeof(hx), "%s/hx", tmp);
    snprintf(dense, sizeof(dense), "%s/dense", tmp);
    snprintf(back, sizeof(back), "%s/back", tmp);
    vt_compress_fast(hx);
    hxq_error err = {0};
    hxq_convert_summary s;
    ck_assert_msg(convert(hx, dense, HXQ_CONVERT_DENSE, 0, &s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(s.nshards, 1);
    ck_assert_int_eq(s.exact_narrowed, 0);
    expect_verify_ok(dense);
    ck_assert_int_eq(vt_expect_dense_decode(hx, dense), 20);
    /* exact tensors are the source's own bytes */
    hxq_ckpt *d, *orig;
    ck_assert_int_eq(hxq_ckpt_open(dense, &d, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_DENSE, &orig, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_count(d), hxq_ckpt_count(orig));
    int64_t same = 0;
    for (int64_t i = 0; i < hxq_ckpt_count(orig); i++) {
        const hxq_tensor *a = hxq_ckpt_tensor(orig, i), *b = hxq_ckpt_find(d, a->name);
        ck_assert_ptr_nonnull(b);
        same += a->nbytes == b->nbytes && !memcmp(a->data, b->data, a->nbytes);
    }
    ck_assert_int_eq(same, hxq_ckpt_count(orig) - 20);
    hxq_ckpt_close(d);
    hxq_ckpt_close(orig);
    /* our own layout is already canonical: --to hxq changes no tensor */
    ck_assert_msg(convert(hx, back, HXQ_CONVERT_HXQ, 3000000, &s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(s.exact_narrowed, 0);
    expect_verify_ok(back);
    hxq_ckpt *x, *y;
    ck_assert_int_eq(hxq_ckpt_open(hx, &x, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(back, &y, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_count(x), hxq_ckpt_count(y));
    same = 0;
    for (int64_t i = 0; i < hxq_ckpt_count(x); i++) {
        const hxq_tensor *a = hxq_ckpt_tensor(x, i), *b = hxq_ckpt_tensor(y, i);
        same += !strcmp(a->name, b->name) && a->dtype == b->dtype && a->nbytes == b->nbytes &&
                !memcmp(a->data, b->data, a->nbytes);
    }
    ck_assert_int_eq(same, hxq_ckpt_count(x));
    hxq_ckpt_close(x);
    hxq_ckpt_close(y);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

static Suite *convert_suite(void)
{
    Suite *s = suite_create("convert");
    TCase *tc = tcase_create("convert");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, helix_to_dense_is_decode_in_bf16);
    tcase_add_test(tc, helix_to_hxq_keeps_effective_weights);
    tcase_add_test(tc, resharding_keeps_bytes);
    tcase_add_test(tc, legacy_folder_normalised);
    tcase_add_test(tc, refusals_leave_nothing);
    tcase_add_test(tc, cli);
    tcase_add_test(tc, compressed_to_dense_is_decode_in_bf16);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(convert_suite)
