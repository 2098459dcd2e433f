/* test_compress_tiny.c - hxq_compress() on the tiny-olmoe fixture against
 * the reference compressor's output: 212 compressed + 19 exact tensors,
 * every matrix's SNR >= the reference's (golden_helix.json matrix_error),
 * tensor files no larger than the reference's 11.5 MB, byte-identical
 * output for 1 and 2 threads, receipts consistent with the files. */
#include "hxq_pipeline.h"
#include "hxq_test.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFERENCE_SIZE_LIMIT (11.5 * 1024 * 1024)   /* the reference's 11.5 MB */

static void compress_into(const char *dst, int threads, hxq_compress_summary *s)
{
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    o.threads = threads;
    hxq_error err = {0};
    int rc = hxq_compress(HXQ_FIXTURE_DENSE, dst, &o, s, &err);
    ck_assert_msg(rc == HXQ_OK, "compress: %s", err.msg);
}

/* The receipt without its timings, as text. */
static char *receipt_sans_timings(const char *dir)
{
    hxq_compression_receipt r;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_compression_load(dir, &r, &err), HXQ_OK);
    ck_assert_int_eq(r.has_timings, 1);
    r.has_timings = 0;
    char *txt;
    ck_assert_int_eq(hxq_receipt_compression_json(&r, &txt, &err), HXQ_OK);
    hxq_receipt_compression_free(&r);
    return txt;
}

static void check_against_reference(const char *dir, const hxq_compression_receipt *r)
{
    size_t len;
    char *txt = (char *)hxq_test_read_file(HXQ_FIXTURE_GOLDEN "/golden_helix.json", &len);
    ck_assert_ptr_nonnull(txt);
    cJSON *golden = cJSON_ParseWithLength(txt, len);
    free(txt);
    cJSON *me = cJSON_GetObjectItem(golden, "matrix_error");
    ck_assert_ptr_nonnull(me);
    hxq_ckpt *out, *src, *ref;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_ckpt_open(dir, &out, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_DENSE, &src, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_HELIX, &ref, &err), HXQ_OK);
    int64_t checked = 0;
    for (int64_t i = 0; i < r->n_tensors; i++) {
        const hxq_rc_tensor *t = &r->tensors[i];
        if (!t->compressed) {
            /* exact tensors are the source bytes */
            const hxq_tensor *a = hxq_ckpt_find(out, t->name), *b = hxq_ckpt_find(src, t->name);
            ck_assert(a && b && a->dtype == b->dtype && a->nbytes == b->nbytes);
            ck_assert(!memcmp(a->data, b->data, a->nbytes));
            continue;
        }
        char wname[300];
        snprintf(wname, sizeof(wname), "%s.weight", t->name);
        cJSON *g = cJSON_GetObjectItem(me, wname);
        ck_assert_msg(g != NULL, "%s missing from golden matrix_error", wname);
        double ref_snr = cJSON_GetObjectItem(g, "snr_db")->valuedouble;
        /* recompute from the written file, not from the receipt */
        hxq_module mod;
        ck_assert_int_eq(hxq_module_load(out, t->name, 0, &mod, &err), HXQ_OK);
        const hxq_tensor *w = hxq_ckpt_find(src, wname);
        hxq_matrix_stats st;
        ck_assert_int_eq(hxq_codec_stats(w->data, w->dtype, &mod.m, &st, &err), HXQ_OK);
        ck_assert_msg(st.snr_db >= ref_snr, "%s: SNR %.3f dB < reference %.3f dB", t->name,
                      st.snr_db, ref_snr);
        ck_assert(fabs(st.snr_db - t->snr_db) < 1e-9);
        ck_assert(fabs(st.mse - t->mse) <= 1e-12 * (1 + t->mse));
        /* the reference's sidecar count rule */
        char key[300];
        snprintf(key, sizeof(key), "%s.sidecar_positions", t->name);
        ck_assert_int_eq(mod.m.n_sidecar, hxq_ckpt_find(ref, key)->shape[0]);
        hxq_module_free(&mod);
        checked++;
    }
    ck_assert_int_eq(checked, 212);
    hxq_ckpt_close(out);
    hxq_ckpt_close(src);
    hxq_ckpt_close(ref);
    cJSON_Delete(golden);
}

static void check_receipt_files(const char *dir, const hxq_compression_receipt *r)
{
    hxq_error err = {0};
    uint64_t tensor_bytes = 0;
    for (int i = 0; i < r->n_output_files; i++) {
        char p[700], hex[HXQ_SHA256_HEX];
        uint64_t size;
        snprintf(p, sizeof(p), "%s/%s", dir, r->output_files[i].name);
        ck_assert_int_eq(hxq_sha256_file(p, hex, &size, &err), HXQ_OK);
        ck_assert_str_eq(hex, r->output_files[i].sha256);
        ck_assert_uint_eq(size, r->output_files[i].size);
        if (strstr(r->output_files[i].name, ".safetensors") &&
            !strstr(r->output_files[i].name, "index"))
            tensor_bytes += size;
    }
    ck_assert_uint_eq(tensor_bytes, r->bytes_out);
    ck_assert_msg((double)tensor_bytes <= REFERENCE_SIZE_LIMIT, "%llu bytes",
                  (unsigned long long)tensor_bytes);
    for (int i = 0; i < r->n_source_files; i++) {
        char p[700], hex[HXQ_SHA256_HEX];
        snprintf(p, sizeof(p), "%s/%s", HXQ_FIXTURE_DENSE, r->source_files[i].name);
        ck_assert_int_eq(hxq_sha256_file(p, hex, NULL, &err), HXQ_OK);
        ck_assert_str_eq(hex, r->source_files[i].sha256);
    }
    ck_assert_int_eq(r->n_source_files, 9);   /* 3 shards, index, config, 4 aux */
    /* Gate 1: the hash of model.safetensors; Gate 2: everything accounted */
    char p[700];
    size_t len;
    snprintf(p, sizeof(p), "%s/conversion_receipt.json", dir);
    char *txt = (char *)hxq_test_read_file(p, &len);
    cJSON *g1 = cJSON_ParseWithLength(txt, len);
    free(txt);
    ck_assert_str_eq(cJSON_GetObjectItem(g1, "verdict")->valuestring, "PASS");
    cJSON *v = cJSON_GetObjectItem(g1, "validation");
    ck_assert_int_eq(cJSON_GetObjectItem(v, "total_keys")->valueint, 867);
    char hex[HXQ_SHA256_HEX];
    snprintf(p, sizeof(p), "%s/model.safetensors", dir);
    ck_assert_int_eq(hxq_sha256_file(p, hex, NULL, &err), HXQ_OK);
    ck_assert_str_eq(cJSON_GetObjectItem(v, "sha256")->valuestring, hex);
    cJSON_Delete(g1);
    snprintf(p, sizeof(p), "%s/completeness_gate_receipt.json", dir);
    txt = (char *)hxq_test_read_file(p, &len);
    cJSON *g2 = cJSON_ParseWithLength(txt, len);
    free(txt);
    cJSON *s = cJSON_GetObjectItem(g2, "summary");
    ck_assert_str_eq(cJSON_GetObjectItem(g2, "verdict")->valuestring, "PASS");
    ck_assert_int_eq(cJSON_GetObjectItem(s, "accounted")->valueint, 231);
    ck_assert_int_eq(cJSON_GetObjectItem(s, "skip_tensors_found")->valueint, 11);
    cJSON_Delete(g2);
}

START_TEST(tiny_olmoe)
{
    char *tmp = hxq_test_tmpdir("compress");
    char a[600], b[600];
    snprintf(a, sizeof(a), "%s/t2", tmp);
    snprintf(b, sizeof(b), "%s/t1", tmp);
    hxq_compress_summary s2, s1;
    compress_into(a, 2, &s2);
    compress_into(b, 1, &s1);
    ck_assert_int_eq(s2.totals.compressed, 212);
    ck_assert_int_eq(s2.totals.exact, 19);
    ck_assert_int_eq(s2.pass, 1);
    ck_assert_int_eq(s2.below_floor, 0);
    ck_assert(s2.min_snr_db >= 25);

    hxq_compression_receipt r;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_compression_load(a, &r, &err), HXQ_OK);
    ck_assert_int_eq(r.n_compressed, 212);
    ck_assert_int_eq(r.n_exact, 19);
    ck_assert_int_eq(r.total_keys, 867);
    ck_assert_int_eq(r.pass, 1);
    ck_assert_int_eq(r.n_checks, 5);
    ck_assert_int_eq(r.threads, 2);

    /* byte-identical whatever the thread count (receipt minus timings) */
    ck_assert_int_eq(r.n_output_files, 8);   /* model, config, 4 aux, 2 gate receipts */
    for (int i = 0; i < r.n_output_files; i++) {
        char p[700], hex[HXQ_SHA256_HEX];
        snprintf(p, sizeof(p), "%s/%s", b, r.output_files[i].name);
        ck_assert_int_eq(hxq_sha256_file(p, hex, NULL, &err), HXQ_OK);
        ck_assert_msg(!strcmp(hex, r.output_files[i].sha256), "%s differs",
                      r.output_files[i].name);
    }
    char *ra = receipt_sans_timings(a), *rb = receipt_sans_timings(b);
    ck_assert_str_eq(ra, rb);
    free(ra);
    free(rb);

    /* config.json carries the reference's quantization_config fields */
    hxq_qconfig q;
    ck_assert_int_eq(hxq_qconfig_load(a, &q, &err), HXQ_OK);
    ck_assert_str_eq(q.quant_method, "hxq");
    ck_assert_int_eq(q.codebook_size, 256);
    ck_assert_int_eq(q.sidecar_enabled, 1);
    ck_assert_int_eq(q.n_modules, 212);
    ck_assert_int_eq(q.n_exact, 9);
    hxq_qconfig_free(&q);
    hxq_config c;
    ck_assert_int_eq(hxq_config_load(a, &c, &err), HXQ_OK);
    ck_assert_int_eq(c.hidden_size, 256);
    ck_assert_int_eq(c.has_quantization_config, 1);

    check_receipt_files(a, &r);
    check_against_reference(a, &r);
    hxq_receipt_compression_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

static Suite *tiny_suite(void)
{
    Suite *s = suite_create("compress_tiny");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, tiny_olmoe);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(tiny_suite)
