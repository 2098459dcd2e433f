/* test_compress_errors.c - hxq_compress() on small synthetic checkpoints:
 * fused and hub layouts give the same tensors, sharded output, and the
 * failures (NaN weights, missing shard, existing DST, DST inside SRC, SNR
 * floor) with clear errors and no DST or staging folder left behind. */
#include "hxq_pipeline.h"
#include "hxq_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void synth_small(const char *dst, int fused, uint64_t shard)
{
    hxq_synth_opts so;
    hxq_synth_opts_init(&so);
    so.layers = 2;
    so.hidden = 64;
    so.intermediate = 32;
    so.experts = 4;
    so.top_k = 2;
    so.heads = 4;
    so.vocab = 128;
    so.fused = fused;
    so.seed = 7;
    so.config_from = HXQ_FIXTURE_DENSE;
    so.aux_from = HXQ_FIXTURE_DENSE;
    if (shard)
        so.max_shard_size = shard;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_synth(dst, &so, &err), HXQ_OK);
}

static int run(const char *src, const char *dst, hxq_compress_opts *o, hxq_error *err)
{
    hxq_compress_opts d;
    if (!o) {
        hxq_compress_opts_init(&d);
        d.threads = 2;
        o = &d;
    }
    return hxq_compress(src, dst, o, NULL, err);
}

/* Nothing named like dst (staging, old) in its parent besides dst itself. */
static int leftovers(const char *parent, const char *base)
{
    DIR *d = opendir(parent);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    char pre[128];
    snprintf(pre, sizeof(pre), "%s.", base);
    while ((de = readdir(d)))
        n += !strncmp(de->d_name, pre, strlen(pre));
    closedir(d);
    return n;
}

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
    char p[700];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    uint8_t *b = hxq_test_read_file(p, len);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* Overwrites element `at` of tensor `name` in the checkpoint with bits. */
static void poke_bf16(const char *dir, const char *name, int64_t at, uint16_t bits)
{
    hxq_ckpt *ck;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_ckpt_open(dir, &ck, &err), HXQ_OK);
    const hxq_tensor *t = hxq_ckpt_find(ck, name);
    ck_assert_ptr_nonnull(t);
    FILE *f = fopen(t->path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, (long)(t->offset + 2 * (uint64_t)at), SEEK_SET), 0);
    unsigned char b[2] = {(unsigned char)bits, (unsigned char)(bits >> 8)};
    ck_assert_int_eq(fwrite(b, 1, 2, f), 2);
    fclose(f);
    hxq_ckpt_close(ck);
}

START_TEST(fused_equals_hub)
{
    char *tmp = hxq_test_tmpdir("cerr");
    char s1[600], s2[600], d1[600], d2[600];
    snprintf(s1, sizeof(s1), "%s/hub", tmp);
    snprintf(s2, sizeof(s2), "%s/fused", tmp);
    snprintf(d1, sizeof(d1), "%s/hub.hxq", tmp);
    snprintf(d2, sizeof(d2), "%s/fused.hxq", tmp);
    synth_small(s1, 0, 0);
    synth_small(s2, 1, 0);
    hxq_error err = {0};
    ck_assert_int_eq(run(s1, d1, NULL, &err), HXQ_OK);
    ck_assert_int_eq(run(s2, d2, NULL, &err), HXQ_OK);
    size_t a, b;
    uint8_t *x = slurp(d1, "model.safetensors", &a), *y = slurp(d2, "model.safetensors", &b);
    ck_assert_uint_eq(a, b);
    ck_assert(!memcmp(x, y, a));
    free(x);
    free(y);
    x = slurp(d1, "config.json", &a);
    y = slurp(d2, "config.json", &b);
    ck_assert(a == b && !memcmp(x, y, a));
    free(x);
    free(y);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(sharded_in_and_out)
{
    char *tmp = hxq_test_tmpdir("cerr");
    char s[600], d[600];
    snprintf(s, sizeof(s), "%s/src", tmp);
    snprintf(d, sizeof(d), "%s/out", tmp);
    synth_small(s, 0, 100000);
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    o.max_shard_size = 60000;
    hxq_error err = {0};
    hxq_compress_summary sum;
    ck_assert_int_eq(hxq_compress(s, d, &o, &sum, &err), HXQ_OK);
    ck_assert_int_gt(sum.totals.shards, 1);
    hxq_compression_receipt r;
    ck_assert_int_eq(hxq_receipt_compression_load(d, &r, &err), HXQ_OK);
    int shards = 0, index = 0;
    for (int i = 0; i < r.n_output_files; i++) {
        shards += !strncmp(r.output_files[i].name, "model-", 6);
        index += !strcmp(r.output_files[i].name, "model.safetensors.index.json");
    }
    ck_assert_int_eq(shards, sum.totals.shards);
    ck_assert_int_eq(index, 1);
    ck_assert_int_eq(r.pass, 1);
    hxq_receipt_compression_free(&r);
    hxq_ckpt *ck;
    ck_assert_int_eq(hxq_ckpt_open(d, &ck, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_count(ck), sum.totals.keys);
    hxq_ckpt_close(ck);
    /* a missing source shard: error naming it, no output */
    char p[1000], d2[600];
    p[0] = '\0';
    DIR *dir = opendir(s);
    struct dirent *de;
    while ((de = readdir(dir)))
        if (!strncmp(de->d_name, "model-00002-", 12))
            snprintf(p, sizeof(p), "%s/%s", s, de->d_name);
    closedir(dir);
    ck_assert_int_eq(unlink(p), 0);
    snprintf(d2, sizeof(d2), "%s/out2", tmp);
    ck_assert_int_lt(run(s, d2, NULL, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "model-00002-"));
    ck_assert(!hxq_path_exists(d2));
    ck_assert_int_eq(leftovers(tmp, "out2"), 0);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(nan_weights)
{
    char *tmp = hxq_test_tmpdir("cerr");
    char s[600], d[600];
    snprintf(s, sizeof(s), "%s/src", tmp);
    snprintf(d, sizeof(d), "%s/out", tmp);
    synth_small(s, 0, 0);
    hxq_error err = {0};
    /* in a compressed matrix */
    poke_bf16(s, "model.layers.1.mlp.experts.2.up_proj.weight", 77, 0x7fc0);
    ck_assert_int_eq(run(s, d, NULL, &err), HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "model.layers.1.mlp.experts.2.up_proj"));
    ck_assert(!hxq_path_exists(d));
    ck_assert_int_eq(leftovers(tmp, "out"), 0);
    poke_bf16(s, "model.layers.1.mlp.experts.2.up_proj.weight", 77, 0x3c00);
    /* an infinity in an exact tensor */
    poke_bf16(s, "model.layers.0.input_layernorm.weight", 3, 0xff80);
    ck_assert_int_eq(run(s, d, NULL, &err), HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "model.layers.0.input_layernorm.weight"));
    ck_assert_ptr_nonnull(strstr(err.msg, "element 3"));
    ck_assert(!hxq_path_exists(d));
    ck_assert_int_eq(leftovers(tmp, "out"), 0);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(destination_rules)
{
    char *tmp = hxq_test_tmpdir("cerr");
    char s[600], d[600], inside[700], mark[700];
    snprintf(s, sizeof(s), "%s/src", tmp);
    snprintf(d, sizeof(d), "%s/out", tmp);
    synth_small(s, 0, 0);
    hxq_error err = {0};
    snprintf(inside, sizeof(inside), "%s/sub", s);
    ck_assert_int_eq(run(s, inside, NULL, &err), HXQ_ERR_INVALID);
    ck_assert(!hxq_path_exists(inside));
    ck_assert_int_eq(leftovers(s, "sub"), 0);
    /* existing DST: refused and untouched; --force replaces it */
    ck_assert_int_eq(hxq_test_sh("mkdir '%s' && echo keep > '%s/mark'", d, d), 0);
    snprintf(mark, sizeof(mark), "%s/mark", d);
    ck_assert_int_eq(run(s, d, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "already exists"));
    ck_assert(hxq_path_exists(mark));
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    o.force = 1;
    ck_assert_int_eq(hxq_compress(s, d, &o, NULL, &err), HXQ_OK);
    ck_assert(!hxq_path_exists(mark));
    ck_assert_int_eq(leftovers(tmp, "out"), 0);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(snr_floor_gate)
{
    char *tmp = hxq_test_tmpdir("cerr");
    char s[600], d[600];
    snprintf(s, sizeof(s), "%s/src", tmp);
    snprintf(d, sizeof(d), "%s/out", tmp);
    synth_small(s, 0, 0);
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    o.snr_floor_db = 300;   /* above any 8-bit codebook */
    hxq_error err = {0};
    hxq_compress_summary sum;
    ck_assert_int_eq(hxq_compress(s, d, &o, &sum, &err), HXQ_ERR_VERIFY);
    ck_assert_ptr_nonnull(strstr(err.msg, "snr_floor"));
    ck_assert_int_eq(sum.pass, 0);
    hxq_compression_receipt r;
    ck_assert_int_eq(hxq_receipt_compression_load(d, &r, &err), HXQ_OK);
    ck_assert_int_eq(r.pass, 0);
    /* every matrix not stored exactly (256-element routers are) is below */
    int64_t finite = 0;
    for (int64_t i = 0; i < r.n_tensors; i++)
        finite += r.tensors[i].compressed && r.tensors[i].snr_db < 1e300;
    ck_assert_int_gt(finite, 0);
    ck_assert_int_eq(sum.below_floor, finite);
    int found = 0;
    for (int i = 0; i < r.n_checks; i++)
        if (!strcmp(r.checks[i].name, "snr_floor")) {
            found = 1;
            ck_assert_int_eq(r.checks[i].pass, 0);
        } else {
            ck_assert_int_eq(r.checks[i].pass, 1);
        }
    ck_assert(found);
    ck_assert(r.snr_floor_db == 300);
    hxq_receipt_compression_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* A model.safetensors with F32 and F16 matrices and norms, written here. */
static void write_float_model(const char *dir)
{
    ck_assert_int_eq(hxq_test_sh("mkdir -p '%s' && cp " HXQ_FIXTURE_DENSE "/config.json '%s/'",
                                 dir, dir), 0);
    char path[700];
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    hxq_stw *w;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_stw_create(path, &w, &err), HXQ_OK);
    int64_t m[2] = {48, 64}, v[1] = {64};
    ck_assert_int_eq(hxq_stw_add(w, "a.q_proj.weight", HXQ_DT_F32, 2, m, &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_add(w, "a.k_proj.weight", HXQ_DT_F16, 2, m, &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_add(w, "a.norm.weight", HXQ_DT_F32, 1, v, &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_begin(w, &err), HXQ_OK);
    float f[48 * 64];
    uint16_t h[48 * 64];
    uint64_t s = 12345;
    for (int i = 0; i < 48 * 64; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        f[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.1f;
        h[i] = hxq_f32_to_f16(f[i] * 0.5f);
    }
    ck_assert_int_eq(hxq_stw_write(w, f, sizeof(f), &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_write(w, h, sizeof(h), &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_write(w, f, 64 * 4, &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_finish(w, &err), HXQ_OK);
}

START_TEST(f32_and_f16_sources)
{
    char *tmp = hxq_test_tmpdir("cerr");
    char s[600], d[600];
    snprintf(s, sizeof(s), "%s/src", tmp);
    snprintf(d, sizeof(d), "%s/out", tmp);
    write_float_model(s);
    hxq_error err = {0};
    ck_assert_int_eq(run(s, d, NULL, &err), HXQ_OK);
    hxq_compression_receipt r;
    ck_assert_int_eq(hxq_receipt_compression_load(d, &r, &err), HXQ_OK);
    ck_assert_int_eq(r.n_compressed, 2);
    ck_assert_int_eq(r.n_exact, 1);
    ck_assert_int_eq(r.pass, 1);
    for (int64_t i = 0; i < r.n_tensors; i++) {
        const hxq_rc_tensor *t = &r.tensors[i];
        if (!strcmp(t->name, "a.q_proj"))
            ck_assert_int_eq(t->source_dtype, HXQ_DT_F32);
        if (!strcmp(t->name, "a.k_proj"))
            ck_assert_int_eq(t->source_dtype, HXQ_DT_F16);
        if (t->compressed)
            ck_assert(t->snr_db >= 25);
    }
    hxq_receipt_compression_free(&r);
    /* the exact F32 norm keeps its dtype and bytes */
    hxq_ckpt *a, *b;
    ck_assert_int_eq(hxq_ckpt_open(s, &a, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(d, &b, &err), HXQ_OK);
    const hxq_tensor *x = hxq_ckpt_find(a, "a.norm.weight"), *y = hxq_ckpt_find(b, "a.norm.weight");
    ck_assert_int_eq(y->dtype, HXQ_DT_F32);
    ck_assert(!memcmp(x->data, y->data, x->nbytes));
    hxq_ckpt_close(a);
    hxq_ckpt_close(b);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("compress_errors");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fused_equals_hub);
    tcase_add_test(tc, sharded_in_and_out);
    tcase_add_test(tc, nan_weights);
    tcase_add_test(tc, destination_rules);
    tcase_add_test(tc, snr_floor_gate);
    tcase_add_test(tc, f32_and_f16_sources);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(errors_suite)
