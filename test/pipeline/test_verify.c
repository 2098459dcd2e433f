/* test_verify.c - hxq verify: the reference fixture passes, every flipped
 * byte, truncation, missing shard, edited receipt or config is caught,
 * and each structural check fires on a folder built to break it. */
#include "verify_test_util.h"

#include <cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 1 when some failure has this check name (and file, when not NULL). */
static int has_failure(const hxq_verify_report *r, const char *check, const char *file)
{
    for (int64_t i = 0; i < r->n_failures; i++)
        if (!strcmp(r->failures[i].check, check) && (!file || !strcmp(r->failures[i].file, file)))
            return 1;
    return 0;
}

/* A converted (canonical, sealed) copy of the reference fixture. */
static char *canonical_copy(const char *tag, int64_t shard)
{
    char *tmp = hxq_test_tmpdir(tag);
    char dst[4096];
    snprintf(dst, sizeof(dst), "%s/m", tmp);
    hxq_convert_opts o = {HXQ_CONVERT_HXQ, shard, 0};
    hxq_error err = {0};
    ck_assert_msg(hxq_convert_folder(HXQ_FIXTURE_HELIX, dst, &o, NULL, &err) == HXQ_OK, "%s",
                  err.msg);
    return tmp;
}

START_TEST(reference_fixture_passes)
{
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(HXQ_FIXTURE_HELIX, NULL, &r), HXQ_OK);
    ck_assert_int_eq(r.total_failures, 0);
    ck_assert_int_eq(r.files_hashed, 1);
    ck_assert_int_eq(r.modules_checked, 212);
    ck_assert_str_eq(r.receipt, "conversion_receipt.json");
    hxq_verify_report_free(&r);
}
END_TEST

START_TEST(reference_fixture_flipped_bytes)
{
    char *tmp = hxq_test_tmpdir("vref");
    ck_assert_int_eq(hxq_test_sh("cp -r %s %s/m", HXQ_FIXTURE_HELIX, tmp), 0);
    char path[4096], dir[2048];
    snprintf(dir, sizeof(dir), "%s/m", tmp);
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    size_t len;
    uint8_t *buf = hxq_test_read_file(path, &len);
    ck_assert_ptr_nonnull(buf);
    const size_t pos[] = {0, 9, 200, 4000, len / 3, len / 2, len - 1};
    for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
        buf[pos[i]] ^= 0x01;
        ck_assert_int_eq(hxq_test_write_file(path, buf, len), 0);
        hxq_verify_report r;
        ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
        ck_assert_msg(has_failure(&r, "sha256", "model.safetensors"), "byte %zu", pos[i]);
        hxq_verify_report_free(&r);
        buf[pos[i]] ^= 0x01;
    }
    ck_assert_int_eq(hxq_test_write_file(path, buf, len), 0);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_OK);
    hxq_verify_report_free(&r);
    free(buf);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Flips one bit at a spread of positions in one file and requires each
 * flip to be caught; the file is restored after each. */
static void flip_file(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%.2000s/%.1000s", dir, name);
    size_t len;
    uint8_t *buf = hxq_test_read_file(path, &len);
    ck_assert_msg(buf != NULL && len > 0, "%s", path);
    const size_t pos[] = {0, 1, 8, 100, len / 5, len / 3, len / 2, 2 * len / 3, len - 2,
                          len - 1};
    for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
        if (pos[i] >= len)
            continue;
        int bit = (i % 2) ? 7 : 0; /* low and high bits, alternately */
        buf[pos[i]] ^= (uint8_t)(1u << bit);
        ck_assert_int_eq(hxq_test_write_file(path, buf, len), 0);
        hxq_verify_report r;
        int rc = vt_verify(dir, NULL, &r);
        ck_assert_msg(rc == HXQ_ERR_VERIFY && r.total_failures > 0,
                      "%s: flip of bit %d at byte %zu not detected", name, bit, pos[i]);
        hxq_verify_report_free(&r);
        buf[pos[i]] ^= (uint8_t)(1u << bit);
    }
    ck_assert_int_eq(hxq_test_write_file(path, buf, len), 0);
    free(buf);
}

/* flip_file() on every file of the folder; returns how many there were. */
static int flip_every_file(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        flip_file(dir, de->d_name);
        n++;
    }
    closedir(d);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_OK);
    hxq_verify_report_free(&r);
    return n;
}

START_TEST(canonical_folder_flipped_bytes)
{
    char *tmp = canonical_copy("vflip", 0);
    char dir[2048];
    snprintf(dir, sizeof(dir), "%s/m", tmp);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_OK);
    ck_assert_int_eq(r.files_hashed, 5);
    hxq_verify_report_free(&r);
    ck_assert_int_eq(flip_every_file(dir), 6);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(truncated_missing_extra_shard)
{
    char *tmp = canonical_copy("vshard", 3000000);
    char dir[2048], path[4096];
    snprintf(dir, sizeof(dir), "%s/m", tmp);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_OK);
    hxq_verify_report_free(&r);
    /* truncated: one byte short */
    ck_assert_int_eq(hxq_test_sh("cd %s && cp model-00002-of-00005.safetensors s.bak && "
                                 "truncate -s -1 model-00002-of-00005.safetensors", dir), 0);
    ck_assert_int_eq(hxq_test_sh("mv %s/s.bak %s/..", dir, dir), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "size", "model-00002-of-00005.safetensors"));
    ck_assert(has_failure(&r, "readable", NULL));
    hxq_verify_report_free(&r);
    /* missing */
    snprintf(path, sizeof(path), "%s/model-00002-of-00005.safetensors", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "present", "model-00002-of-00005.safetensors"));
    hxq_verify_report_free(&r);
    /* restored, then an unrecorded extra file */
    ck_assert_int_eq(hxq_test_sh("mv %s/../s.bak %s", dir, path), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_OK);
    hxq_verify_report_free(&r);
    ck_assert_int_eq(hxq_test_sh("echo x > %s/extra.bin", dir), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "recorded", "extra.bin"));
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Replaces the first occurrence of from by to (same length) in a file. */
static void edit_file(const char *path, const char *from, const char *to)
{
    size_t len;
    char *buf = (char *)hxq_test_read_file(path, &len);
    ck_assert_ptr_nonnull(buf);
    char *p = NULL;
    for (size_t i = 0; !p && i + strlen(from) <= len; i++)
        if (!memcmp(buf + i, from, strlen(from)))
            p = buf + i;
    ck_assert_msg(p != NULL, "'%s' not in %s", from, path);
    ck_assert_uint_eq(strlen(from), strlen(to));
    memcpy(p, to, strlen(to));
    ck_assert_int_eq(hxq_test_write_file(path, buf, len), 0);
    free(buf);
}

START_TEST(edited_receipt_and_config)
{
    char *tmp = canonical_copy("vedit", 0);
    char dir[2048], path[4096];
    snprintf(dir, sizeof(dir), "%s/m", tmp);
    hxq_verify_report r;
    /* receipt: a recorded count changed, seal no longer matches */
    snprintf(path, sizeof(path), "%s/conversion_receipt.json", dir);
    ck_assert_int_eq(hxq_test_sh("cp %s %s/r.bak", path, tmp), 0);
    edit_file(path, "\"total_keys\":\t867", "\"total_keys\":\t866");
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "seal", "conversion_receipt.json"));
    hxq_verify_report_free(&r);
    ck_assert_int_eq(hxq_test_sh("cp %s/r.bak %s", tmp, path), 0);
    /* config: one module dropped from compressed_modules */
    snprintf(path, sizeof(path), "%s/config.json", dir);
    edit_file(path, "\"model.layers.0.mlp.gate\"", "\"model.layers.0.mlp.XXXX\"");
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "sha256", "config.json"));
    ck_assert(has_failure(&r, "codebook", NULL));
    ck_assert(has_failure(&r, "orphan", NULL));
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* ---- synthetic folders for the structural checks -------------------- */

typedef struct fake_opts {
    int n_codebook;         /* codebook entries                         */
    float cb_bad;           /* value put into codebook[3]               */
    int idx_dtype_i8;       /* indices stored as I8                     */
    uint8_t idx_max;        /* largest index written                    */
    int64_t pos[4];         /* sidecar positions                        */
    int npos;
    float exact_bad;        /* value put into the exact tensor           */
    int orphan;             /* add parts of an unlisted module           */
    int list_missing;       /* list a module that has no tensors         */
} fake_opts;

static void fake_folder(const char *dir, const fake_opts *f)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "{\"model_type\":\"x\",\"quantization_config\":{\"quant_method\":\"hxq\","
             "\"codebook_size\":256,\"sidecar_enabled\":true,\"exact_patterns\":[\"norm\"],"
             "\"compressed_modules\":[\"m.lin\"%s]}}",
             f->list_missing ? ",\"m.gone\"" : "");
    ck_assert_int_eq(hxq_test_write_file(path, cfg, strlen(cfg)), 0);
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    hxq_stw *w;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_stw_create(path, &w, &err), HXQ_OK);
    int64_t kshape = f->n_codebook, ishape[2] = {16, 32}, nshape = f->npos, eshape = 4;
    ck_assert_int_eq(hxq_stw_add(w, "m.lin.codebook", HXQ_DT_F32, 1, &kshape, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "m.lin.indices", f->idx_dtype_i8 ? HXQ_DT_I8 : HXQ_DT_U8, 2,
                                 ishape, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "m.lin.sidecar_positions", HXQ_DT_I64, 1, &nshape, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "m.lin.sidecar_values", HXQ_DT_F32, 1, &nshape, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "m.norm.weight", HXQ_DT_F32, 1, &eshape, &err), 0);
    if (f->orphan)
        ck_assert_int_eq(hxq_stw_add(w, "m.other.codebook", HXQ_DT_F32, 1, &kshape, &err), 0);
    ck_assert_int_eq(hxq_stw_begin(w, &err), 0);
    float cb[512];
    for (int i = 0; i < f->n_codebook; i++)
        cb[i] = (float)i / 100.0f;
    cb[3] = f->cb_bad;
    ck_assert_int_eq(hxq_stw_write(w, cb, (uint64_t)f->n_codebook * 4, &err), 0);
    uint8_t idx[512];
    for (int i = 0; i < 512; i++)
        idx[i] = (uint8_t)(i % ((int)f->idx_max + 1));
    ck_assert_int_eq(hxq_stw_write(w, idx, 512, &err), 0);
    float vals[4] = {1, 2, 3, 4};
    ck_assert_int_eq(hxq_stw_write(w, f->pos, (uint64_t)f->npos * 8, &err), 0);
    ck_assert_int_eq(hxq_stw_write(w, vals, (uint64_t)f->npos * 4, &err), 0);
    float ex[4] = {1, 1, f->exact_bad, 1};
    ck_assert_int_eq(hxq_stw_write(w, ex, 16, &err), 0);
    if (f->orphan)
        ck_assert_int_eq(hxq_stw_write(w, cb, (uint64_t)f->n_codebook * 4, &err), 0);
    ck_assert_int_eq(hxq_stw_finish(w, &err), 0);
}

static fake_opts good_fake(void)
{
    fake_opts f = {256, 0.5f, 0, 255, {3, 7, 100, 511}, 4, 1.0f, 0, 0};
    return f;
}

/* Builds a fake folder with one defect and requires exactly that check. */
static void expect_check(const fake_opts *f, const char *check)
{
    char *tmp = hxq_test_tmpdir("vfake");
    fake_folder(tmp, f);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(tmp, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "receipt", NULL)); /* no receipt at all */
    if (check)
        ck_assert_msg(has_failure(&r, check, NULL), "check '%s' did not fire", check);
    else
        ck_assert_int_eq(r.total_failures, 1);
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}

START_TEST(structural_checks)
{
    fake_opts f = good_fake();
    expect_check(&f, NULL); /* only the missing receipt */
    f = good_fake();
    f.cb_bad = 1.0f / 0.0f;
    expect_check(&f, "codebook_finite");
    f = good_fake();
    f.n_codebook = 255;
    expect_check(&f, "codebook");
    f = good_fake();
    f.idx_dtype_i8 = 1;
    expect_check(&f, "indices");
    f = good_fake();
    f.pos[2] = 2;
    expect_check(&f, "sidecar_sorted");
    f = good_fake();
    f.pos[2] = 7;
    expect_check(&f, "sidecar_unique");
    f = good_fake();
    f.pos[3] = 512;
    expect_check(&f, "sidecar_range");
    f = good_fake();
    f.pos[0] = -1;
    expect_check(&f, "sidecar_range");
    f = good_fake();
    f.exact_bad = 0.0f / 0.0f;
    expect_check(&f, "exact_finite");
    f = good_fake();
    f.orphan = 1;
    expect_check(&f, "orphan");
    f = good_fake();
    f.orphan = 1;
    expect_check(&f, "key_count");
    f = good_fake();
    f.list_missing = 1;
    expect_check(&f, "indices");
}
END_TEST

START_TEST(report_json_and_errors)
{
    hxq_verify_report r;
    hxq_error err = {0};
    hxq_verify_report_init(&r);
    ck_assert_int_eq(hxq_verify_folder("/nonexistent/hxq", NULL, &r, &err), HXQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/hxq"));
    hxq_verify_opts o = {.recompute = 1, .threads = 1};
    ck_assert_int_eq(hxq_verify_folder(HXQ_FIXTURE_HELIX, &o, &r, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(r.total_failures, 0);
    for (int i = 0; i < HXQ_VERIFY_MAX_FAILURES + 5; i++)
        ck_assert_int_eq(hxq_verify_fail(&r, "f", "t", "c", "detail %d", i), HXQ_OK);
    ck_assert_int_eq(r.n_failures, HXQ_VERIFY_MAX_FAILURES);
    ck_assert_int_eq(r.total_failures, HXQ_VERIFY_MAX_FAILURES + 5);
    char *text;
    ck_assert_int_eq(hxq_verify_report_json(&r, "d", &text, &err), HXQ_OK);
    cJSON *root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "FAIL");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "failures")),
                     HXQ_VERIFY_MAX_FAILURES);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "failures"), 2)
                         ->child->next->next->next->valuestring, "detail 2");
    cJSON_Delete(root);
    free(text);
    hxq_verify_report_free(&r);
    ck_assert_int_eq(r.n_failures, 0);
}
END_TEST

START_TEST(seal_roundtrip)
{
    char doc[] = "{\"a\": 1, \"receipt_sha256\": "
                 "\"0000000000000000000000000000000000000000000000000000000000000000\"}";
    size_t len = strlen(doc);
    hxq_error err = {0};
    int sealed = -1;
    ck_assert_int_eq(hxq_receipt_seal(doc, len, &err), HXQ_OK);
    ck_assert_ptr_null(strstr(doc, "00000000000000000000000000000000"));
    ck_assert_int_eq(hxq_receipt_seal_check(doc, len, &sealed, &err), HXQ_OK);
    ck_assert_int_eq(sealed, 1);
    for (size_t i = 0; i < len; i++) {
        doc[i] ^= 0x02;
        int rc = hxq_receipt_seal_check(doc, len, &sealed, &err);
        ck_assert_msg(rc == HXQ_ERR_VERIFY || sealed == 0, "flip at %zu undetected", i);
        doc[i] ^= 0x02;
    }
    char plain[] = "{\"a\": 1}";
    ck_assert_int_eq(hxq_receipt_seal_check(plain, strlen(plain), &sealed, &err), HXQ_OK);
    ck_assert_int_eq(sealed, 0);
    ck_assert_int_eq(hxq_receipt_seal(plain, strlen(plain), &err), HXQ_ERR_INVALID);
    ck_assert_str_eq(plain, "{\"a\": 1}");
}
END_TEST

START_TEST(cli_exit_codes)
{
    const char *bin = hxq_test_bin();
    ck_assert_int_eq(hxq_test_sh("%s verify %s >/dev/null", bin, HXQ_FIXTURE_HELIX), 0);
    ck_assert_int_eq(hxq_test_sh("%s verify %s >/dev/null", bin, HXQ_FIXTURE_DENSE), 1);
    ck_assert_int_eq(hxq_test_sh("%s verify >/dev/null 2>&1", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s verify a b >/dev/null 2>&1", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s verify --bogus x >/dev/null 2>&1", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s verify %s --recompute >/dev/null 2>&1", bin,
                                 HXQ_FIXTURE_HELIX), 2);
    ck_assert_int_eq(hxq_test_sh("%s verify /nonexistent/x >/dev/null 2>&1", bin), 3);
    ck_assert_int_eq(hxq_test_sh("%s verify --help | grep -q -- --recompute", bin), 0);
    char *tmp = hxq_test_tmpdir("vcli");
    ck_assert_int_eq(hxq_test_sh("%s verify --json %s > %s/out.json", bin, HXQ_FIXTURE_DENSE,
                                 tmp), 1);
    char path[4096];
    snprintf(path, sizeof(path), "%s/out.json", tmp);
    char *text = vt_read_text(path, NULL);
    ck_assert_ptr_nonnull(text);
    cJSON *root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "FAIL");
    ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItem(root, "failures")), 1);
    cJSON_Delete(root);
    free(text);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* ---- a folder made by hxq compress (shared by the tests below) ------- */

/* made by vt_compress_fast() */
static char *g_tmp;
static char g_dir[2048];

static void compressed_setup(void)
{
    g_tmp = hxq_test_tmpdir("vcomp");
    snprintf(g_dir, sizeof(g_dir), "%s/m", g_tmp);
    vt_compress_fast(g_dir);
}

static void compressed_teardown(void)
{
    hxq_test_rmtree(g_tmp);
    free(g_tmp);
}

/* A private copy of the compressed folder at <tmp>/m. */
static char *compressed_copy(const char *tag, char *dir, size_t cap)
{
    char *tmp = hxq_test_tmpdir(tag);
    ck_assert_int_eq(hxq_test_sh("cp -r %s %s/m", g_dir, tmp), 0);
    snprintf(dir, cap, "%s/m", tmp);
    return tmp;
}

START_TEST(compressed_passes_with_source)
{
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(g_dir, NULL, &r), HXQ_OK);
    ck_assert_str_eq(r.receipt, "compression_receipt.json");
    ck_assert_int_eq(r.modules_checked, 20);
    ck_assert_int_gt(r.files_hashed, 10);
    hxq_verify_report_free(&r);
    hxq_verify_opts o = {.source = HXQ_FIXTURE_DENSE};
    ck_assert_int_eq(vt_verify(g_dir, &o, &r), HXQ_OK);
    ck_assert_int_eq(r.source_tensors, 231);
    ck_assert_int_eq(r.errors_compared, 20);
    hxq_verify_report_free(&r);
}
END_TEST

START_TEST(compressed_recompute_passes)
{
    hxq_verify_opts o = {.source = HXQ_FIXTURE_DENSE, .recompute = 1, .threads = 2};
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(g_dir, &o, &r), HXQ_OK);
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(r.files_recomputed, n);
    hxq_verify_report_free(&r);
}
END_TEST

/* A scratch folder of a killed --recompute run (marker, lock free) is
 * removed by the next one; a lookalike without the marker is kept, and the
 * run leaves no folder of its own. */
START_TEST(compressed_recompute_sweeps_leftovers)
{
    char dir[2048];
    char *tmp = compressed_copy("vcsweep", dir, sizeof(dir));
    ck_assert_int_eq(hxq_test_sh("mkdir %s.recompute-Ab12Cd %s.recompute-NOMARK && "
                                 "touch %s.recompute-Ab12Cd/%s %s.recompute-Ab12Cd/x && "
                                 "mkdir %s.recompute-Ab12Cd/out",
                                 dir, dir, dir, HXQ_OUTDIR_LOCK, dir, dir),
                     0);
    hxq_verify_opts o = {.source = HXQ_FIXTURE_DENSE, .recompute = 1, .threads = 2};
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, &o, &r), HXQ_OK);
    hxq_verify_report_free(&r);
    ck_assert_int_ne(hxq_test_sh("test -e %s.recompute-Ab12Cd", dir), 0);
    ck_assert_int_eq(hxq_test_sh("test -d %s.recompute-NOMARK", dir), 0);
    ck_assert_int_eq(hxq_test_sh("test $(ls -d %s.recompute-* | wc -l) -eq 1", dir), 0);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(compressed_flipped_bytes)
{
    char dir[2048];
    char *tmp = compressed_copy("vcflip", dir, sizeof(dir));
    ck_assert_int_ge(flip_every_file(dir), 16);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(compressed_damage)
{
    char dir[2048], path[4096];
    char *tmp = compressed_copy("vcdmg", dir, sizeof(dir));
    hxq_verify_report r;
    const char *shard = "model-00003-of-00007.safetensors";
    snprintf(path, sizeof(path), "%s/%s", dir, shard);
    ck_assert_int_eq(hxq_test_sh("cp %s %s/s.bak && truncate -s -8 %s", path, tmp, path), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "size", shard));
    hxq_verify_report_free(&r);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "present", shard));
    ck_assert(has_failure(&r, "readable", NULL));
    hxq_verify_report_free(&r);
    ck_assert_int_eq(hxq_test_sh("cp %s/s.bak %s", tmp, path), 0);
    /* an edited receipt: the quality floor lowered */
    snprintf(path, sizeof(path), "%s/compression_receipt.json", dir);
    ck_assert_int_eq(hxq_test_sh("cp %s %s/r.bak", path, tmp), 0);
    edit_file(path, "\"snr_floor_db\":25", "\"snr_floor_db\":20");
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "seal", "compression_receipt.json"));
    hxq_verify_report_free(&r);
    ck_assert_int_eq(hxq_test_sh("cp %s/r.bak %s", tmp, path), 0);
    /* the receipt removed: the reference-schema receipt alone does not do */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "receipt", "compression_receipt.json"));
    hxq_verify_report_free(&r);
    ck_assert_int_eq(hxq_test_sh("cp %s/r.bak %s", tmp, path), 0);
    /* an edited config */
    snprintf(path, sizeof(path), "%s/config.json", dir);
    edit_file(path, "\"num_experts_per_tok\":\t4", "\"num_experts_per_tok\":\t8");
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "sha256", "config.json"));
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* A copy of the dense source with one changed weight byte and one extra
 * tensor (in a shard of its own, added to the index). */
static char *altered_source(char *src, size_t cap)
{
    char *tmp = hxq_test_tmpdir("vsrc");
    snprintf(src, cap, "%s/src", tmp);
    ck_assert_int_eq(hxq_test_sh("cp -r %s %s", HXQ_FIXTURE_DENSE, src), 0);
    char path[4096];
    snprintf(path, sizeof(path), "%s/model-00003-of-00003.safetensors", src);
    size_t len;
    uint8_t *buf = hxq_test_read_file(path, &len);
    ck_assert_ptr_nonnull(buf);
    buf[len - 3] ^= 0x01;
    ck_assert_int_eq(hxq_test_write_file(path, buf, len), 0);
    free(buf);
    snprintf(path, sizeof(path), "%s/extra.safetensors", src);
    hxq_stw *w;
    hxq_error err = {0};
    int64_t shape[1] = {2};
    uint16_t v[2] = {0x3f80, 0x3f80};
    ck_assert_int_eq(hxq_stw_create(path, &w, &err), 0);
    ck_assert_int_eq(hxq_stw_add(w, "extra.weight", HXQ_DT_BF16, 1, shape, &err), 0);
    ck_assert_int_eq(hxq_stw_begin(w, &err), 0);
    ck_assert_int_eq(hxq_stw_write(w, v, 4, &err), 0);
    ck_assert_int_eq(hxq_stw_finish(w, &err), 0);
    snprintf(path, sizeof(path), "%s/model.safetensors.index.json", src);
    char *text = vt_read_text(path, &len);
    ck_assert_ptr_nonnull(text);
    const char *key = "\"weight_map\": {";
    char *at = strstr(text, key);
    ck_assert_ptr_nonnull(at);
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, (size_t)(at - text) + strlen(key), f);
    fputs("\"extra.weight\": \"extra.safetensors\", ", f);
    fwrite(at + strlen(key), 1, len - (size_t)(at - text) - strlen(key), f);
    fclose(f);
    free(text);
    return tmp;
}

START_TEST(altered_source_is_caught)
{
    char src[2048];
    char *tmp = altered_source(src, sizeof(src));
    hxq_verify_opts o = {.source = src, .recompute = 1, .threads = 2};
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(g_dir, &o, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "source_sha256", "model-00003-of-00003.safetensors"));
    ck_assert(has_failure(&r, "source_sha256", "model.safetensors.index.json"));
    ck_assert(has_failure(&r, "accounted", NULL));
    ck_assert(has_failure(&r, "recompute", NULL));
    hxq_verify_report_free(&r);
    /* the reference's folder, checked by name */
    hxq_verify_opts o2 = {.source = src};
    ck_assert_int_eq(vt_verify(HXQ_FIXTURE_HELIX, &o2, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "accounted", NULL));     /* extra.weight */
    ck_assert(has_failure(&r, "exact_values", NULL));  /* the changed byte */
    ck_assert_int_eq(r.total_failures, 2);
    hxq_verify_report_free(&r);
    hxq_verify_opts o3 = {.source = HXQ_FIXTURE_DENSE};
    ck_assert_int_eq(vt_verify(HXQ_FIXTURE_HELIX, &o3, &r), HXQ_OK);
    ck_assert_int_eq(r.source_tensors, 231);
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* A one-layer MoE of 4 experts at width 64 (the fixture's config, synthetic
 * weights) in src, its experts fused into 3-D tensors when fused is set. */
static void synth_one_layer(const char *src, int fused)
{
    hxq_synth_opts so;
    hxq_synth_opts_init(&so);
    so.layers = 1;
    so.hidden = 64;
    so.intermediate = 32;
    so.experts = 4;
    so.top_k = 2;
    so.heads = 4;
    so.vocab = 128;
    so.fused = fused;
    so.config_from = HXQ_FIXTURE_DENSE;
    so.threads = 1;
    hxq_error err = {0};
    ck_assert_msg(hxq_synth(src, &so, &err) == HXQ_OK, "%s", err.msg);
}

START_TEST(fused_experts_source)
{
    /* transformers-5 fused experts: each compressed expert matrix is a
     * slice of a 3-D source tensor, found through the receipt */
    char *tmp = hxq_test_tmpdir("vfused");
    char src[2048], dst[2048];
    snprintf(src, sizeof(src), "%s/src", tmp);
    snprintf(dst, sizeof(dst), "%s/dst", tmp);
    hxq_error err = {0};
    synth_one_layer(src, 1);
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    o.threads = 2;
    int rc = hxq_compress(src, dst, &o, NULL, &err);
    ck_assert_msg(rc == HXQ_OK || rc == HXQ_ERR_VERIFY, "%s", err.msg);
    hxq_verify_opts vo = {.source = src, .recompute = 1, .threads = 2};
    hxq_verify_report r;
    rc = vt_verify(dst, &vo, &r);
    ck_assert_msg(rc == (r.total_failures ? HXQ_ERR_VERIFY : HXQ_OK), "status");
    /* a FAIL verdict (synthetic weights under the SNR floor) is the only
     * failure allowed: everything else must hold */
    for (int64_t i = 0; i < r.n_failures; i++)
        ck_assert_msg(!strcmp(r.failures[i].check, "receipt_verdict"), "%s %s: %s",
                      r.failures[i].check, r.failures[i].tensor, r.failures[i].detail);
    ck_assert_int_ge(r.errors_compared, 4 * 3);
    ck_assert_int_gt(r.files_recomputed, 3);
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* A folder compressed with include_head (embedding and lm_head as HXQ
 * modules) verifies against its source and recomputes byte for byte: the
 * receipt's patterns say which defaults were dropped. */
START_TEST(include_head_recompute_passes)
{
    char *tmp = hxq_test_tmpdir("vhead");
    char src[2048], dst[2048];
    snprintf(src, sizeof(src), "%s/src", tmp);
    snprintf(dst, sizeof(dst), "%s/dst", tmp);
    hxq_error err = {0};
    synth_one_layer(src, 0);
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    o.include_head = 1;
    o.threads = 2;
    int rc = hxq_compress(src, dst, &o, NULL, &err);
    ck_assert_msg(rc == HXQ_OK || rc == HXQ_ERR_VERIFY, "%s", err.msg);
    hxq_qconfig q;
    ck_assert_int_eq(hxq_qconfig_load(dst, &q, &err), HXQ_OK);
    int head = 0, embed = 0;
    for (int64_t i = 0; i < q.n_modules; i++) {
        head |= !strcmp(q.modules[i], "lm_head");
        embed |= !strcmp(q.modules[i], "model.embed_tokens");
    }
    ck_assert(head && embed);
    hxq_qconfig_free(&q);
    hxq_verify_opts vo = {.source = src, .recompute = 1, .threads = 2};
    hxq_verify_report r;
    rc = vt_verify(dst, &vo, &r);
    ck_assert_msg(rc == (r.total_failures ? HXQ_ERR_VERIFY : HXQ_OK), "status");
    for (int64_t i = 0; i < r.n_failures; i++)   /* as in fused_experts_source */
        ck_assert_msg(!strcmp(r.failures[i].check, "receipt_verdict"), "%s %s: %s",
                      r.failures[i].check, r.failures[i].tensor, r.failures[i].detail);
    ck_assert_int_gt(r.files_recomputed, 3);
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

static Suite *verify_suite(void)
{
    Suite *s = suite_create("verify");
    TCase *tc = tcase_create("verify");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, reference_fixture_passes);
    tcase_add_test(tc, reference_fixture_flipped_bytes);
    tcase_add_test(tc, canonical_folder_flipped_bytes);
    tcase_add_test(tc, truncated_missing_extra_shard);
    tcase_add_test(tc, edited_receipt_and_config);
    tcase_add_test(tc, structural_checks);
    tcase_add_test(tc, report_json_and_errors);
    tcase_add_test(tc, seal_roundtrip);
    tcase_add_test(tc, cli_exit_codes);
    tcase_add_test(tc, fused_experts_source);
    tcase_add_test(tc, include_head_recompute_passes);
    suite_add_tcase(s, tc);
    TCase *tcc = tcase_create("compressed");
    tcase_set_timeout(tcc, 600);
    tcase_add_unchecked_fixture(tcc, compressed_setup, compressed_teardown);
    tcase_add_test(tcc, compressed_passes_with_source);
    tcase_add_test(tcc, compressed_recompute_passes);
    tcase_add_test(tcc, compressed_recompute_sweeps_leftovers);
    tcase_add_test(tcc, compressed_flipped_bytes);
    tcase_add_test(tcc, compressed_damage);
    tcase_add_test(tcc, altered_source_is_caught);
    suite_add_tcase(s, tcc);
    return s;
}

HXQ_TEST_MAIN(verify_suite)
