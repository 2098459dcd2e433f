/* test_receipt_docs.c - compression_receipt.json build/parse round trip,
 * parse errors, and the reference's Gate 1 / Gate 2 receipts. */
#include "hxq_receipt.h"
#include "hxq_test.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_s(const char *s)
{
    char *d = hxq_strdup(s);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* A small but complete receipt: one compressed module (infinite SNR) and
 * one exact tensor split from a fused source. */
static void make_receipt(hxq_compression_receipt *r)
{
    memset(r, 0, sizeof(*r));
    r->format_version = 1;
    snprintf(r->tool_version, sizeof(r->tool_version), "%s", HXQ_VERSION);
    r->codebook_size = 256;
    r->min_elements = 256;
    r->exact_patterns = calloc(2, sizeof(char *));
    r->exact_patterns[0] = dup_s("norm");
    r->n_patterns = 1;
    snprintf(r->sidecar_mode, sizeof(r->sidecar_mode), "count");
    r->sidecar_count = 7;
    r->max_shard_size = 5000000000ull;
    r->snr_floor_db = 25.5;
    r->source_dir = dup_s("src");
    r->source_files = calloc(1, sizeof(hxq_rc_file));
    r->source_files[0].name = dup_s("model.safetensors");
    r->source_files[0].size = 123456789012ull;
    hxq_sha256_buffer("abc", 3, r->source_files[0].sha256);
    r->n_source_files = 1;
    r->output_files = calloc(1, sizeof(hxq_rc_file));
    r->output_files[0].name = dup_s("model.safetensors");
    r->output_files[0].size = 42;
    hxq_sha256_buffer("xyz", 3, r->output_files[0].sha256);
    r->n_output_files = 1;
    r->tensors = calloc(2, sizeof(hxq_rc_tensor));
    r->n_tensors = 2;
    hxq_rc_tensor *t = &r->tensors[0];
    t->name = dup_s("a.b");
    t->source = dup_s("a.b.weight");
    t->compressed = 1;
    t->expert = -1;
    t->ndim = 2;
    t->shape[0] = 3;
    t->shape[1] = 512;
    t->source_dtype = HXQ_DT_BF16;
    t->sidecar_count = 7;
    t->mse = 0.1 / 3.0;
    t->snr_db = INFINITY;
    t->cosine = 0.9999;
    t->max_abs_err = 1e-3;
    t->nkeys = 4;
    static const char *const sfx[4] = {".codebook", ".indices", ".sidecar_positions",
                                       ".sidecar_values"};
    for (int k = 0; k < 4; k++) {
        char n[64];
        snprintf(n, sizeof(n), "a.b%s", sfx[k]);
        t->keys[k].key = dup_s(n);
        t->keys[k].file = dup_s("model.safetensors");
        t->keys[k].dtype = k == 1 ? HXQ_DT_U8 : k == 2 ? HXQ_DT_I64 : HXQ_DT_F32;
        t->keys[k].ndim = 1;
        t->keys[k].shape[0] = k + 1;
        hxq_xxh64_hex(n, strlen(n), t->keys[k].xxh64);
    }
    t = &r->tensors[1];
    t->name = dup_s("m.experts.1.down_proj.weight");
    t->source = dup_s("m.experts.down_proj");
    t->expert = 1;
    t->row_begin = 0;
    t->row_end = 8;
    t->ndim = 2;
    t->shape[0] = 8;
    t->shape[1] = 4;
    t->source_dtype = HXQ_DT_F16;
    t->nkeys = 1;
    t->keys[0].key = dup_s(t->name);
    t->keys[0].file = dup_s("model.safetensors");
    t->keys[0].dtype = HXQ_DT_F16;
    t->keys[0].ndim = 2;
    t->keys[0].shape[0] = 8;
    t->keys[0].shape[1] = 4;
    hxq_xxh64_hex("q", 1, t->keys[0].xxh64);
    r->source_tensors = 2;
    r->n_compressed = 1;
    r->n_exact = 1;
    r->total_keys = 5;
    r->bytes_in = 1000;
    r->bytes_out = 600;
    r->ratio = 1000.0 / 600.0;
    ck_assert_int_eq(hxq_receipt_add_check(r, "snr_floor", 1, "min %d dB", 30), HXQ_OK);
    ck_assert_int_eq(hxq_receipt_add_check(r, "key_count_match", 0, "x"), HXQ_OK);
    r->pass = 0;
    r->has_timings = 1;
    r->threads = 2;
    r->total_s = 0.25;
}

START_TEST(round_trip)
{
    hxq_compression_receipt r, back;
    make_receipt(&r);
    char *a, *b;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_compression_json(&r, &a, &err), HXQ_OK);
    ck_assert_int_eq(hxq_receipt_compression_parse(a, "mem", &back, &err), HXQ_OK);
    ck_assert_int_eq(hxq_receipt_compression_json(&back, &b, &err), HXQ_OK);
    ck_assert_str_eq(a, b);
    ck_assert(isinf(back.tensors[0].snr_db));
    ck_assert(back.tensors[0].mse == r.tensors[0].mse);   /* bit-exact doubles */
    ck_assert_int_eq(back.tensors[1].expert, 1);
    ck_assert_int_eq(back.tensors[1].row_end, 8);
    ck_assert_int_eq(back.tensors[0].expert, -1);
    ck_assert_uint_eq(back.source_files[0].size, 123456789012ull);
    ck_assert_str_eq(back.tensors[0].keys[2].key, "a.b.sidecar_positions");
    ck_assert_int_eq(back.tensors[0].keys[1].dtype, HXQ_DT_U8);
    ck_assert_int_eq(back.pass, 0);
    ck_assert_int_eq(back.n_checks, 2);
    ck_assert_str_eq(back.checks[0].detail, "min 30 dB");
    ck_assert_int_eq(back.threads, 2);
    /* without timings the section is gone */
    back.has_timings = 0;
    free(b);
    ck_assert_int_eq(hxq_receipt_compression_json(&back, &b, &err), HXQ_OK);
    ck_assert_ptr_null(strstr(b, "timings"));
    ck_assert_ptr_nonnull(strstr(a, "\"timings\""));
    free(a);
    free(b);
    hxq_receipt_compression_free(&r);
    hxq_receipt_compression_free(&back);
    hxq_receipt_compression_free(NULL);
}
END_TEST

/* Edits one value of a serialised receipt and expects a parse error. */
static int parse_edited(const char *path_key, const char *new_json, hxq_error *err)
{
    hxq_compression_receipt r, back;
    make_receipt(&r);
    char *txt;
    ck_assert_int_eq(hxq_receipt_compression_json(&r, &txt, err), HXQ_OK);
    hxq_receipt_compression_free(&r);
    cJSON *root = cJSON_Parse(txt);
    free(txt);
    cJSON *obj = root;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path_key);
    char *save, *tok = strtok_r(buf, "/", &save), *next;
    while ((next = strtok_r(NULL, "/", &save))) {
        obj = cJSON_IsArray(obj) ? cJSON_GetArrayItem(obj, atoi(tok))
                                 : cJSON_GetObjectItemCaseSensitive(obj, tok);
        ck_assert_ptr_nonnull(obj);
        tok = next;
    }
    if (new_json && !cJSON_GetObjectItemCaseSensitive(obj, tok))
        cJSON_AddItemToObject(obj, tok, cJSON_Parse(new_json));
    else if (new_json)
        cJSON_ReplaceItemInObjectCaseSensitive(obj, tok, cJSON_Parse(new_json));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(obj, tok);
    txt = cJSON_Print(root);
    cJSON_Delete(root);
    memset(&back, 0x5a, sizeof(back));
    int rc = hxq_receipt_compression_parse(txt, "edited.json", &back, err);
    free(txt);
    if (rc == HXQ_OK)
        hxq_receipt_compression_free(&back);
    else
        ck_assert_ptr_null(back.tensors);   /* zeroed on failure */
    return rc;
}

START_TEST(parse_errors)
{
    hxq_error err = {0};
    ck_assert_int_eq(parse_edited("format_version", "2", &err), HXQ_ERR_UNSUPPORTED);
    ck_assert_int_eq(parse_edited("format", "\"other\"", &err), HXQ_ERR_FORMAT);
    ck_assert_int_eq(parse_edited("totals/ratio", NULL, &err), HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "edited.json"));
    ck_assert_ptr_nonnull(strstr(err.msg, "ratio"));
    ck_assert_int_eq(parse_edited("output/files/0/sha256", "\"abc\"", &err), HXQ_ERR_FORMAT);
    ck_assert_int_eq(parse_edited("tensors/0/stored/0/dtype", "\"Q7\"", &err), HXQ_ERR_FORMAT);
    ck_assert_int_eq(parse_edited("tensors/0/kind", "\"odd\"", &err), HXQ_ERR_FORMAT);
    ck_assert_int_eq(parse_edited("tensors/1/stored", "[]", &err), HXQ_ERR_FORMAT);
    ck_assert_int_eq(parse_edited("totals/bytes_in", "-1", &err), HXQ_ERR_FORMAT);
    ck_assert_int_eq(parse_edited("verdict/result", "\"MAYBE\"", &err), HXQ_ERR_FORMAT);
    /* an unknown key is ignored */
    ck_assert_int_eq(parse_edited("totals/new_key", "[1, 2]", &err), HXQ_OK);
    hxq_compression_receipt r;
    ck_assert_int_eq(hxq_receipt_compression_parse("[1]", "x", &r, &err), HXQ_ERR_FORMAT);
    ck_assert_int_eq(hxq_receipt_compression_load("/nonexistent-dir", &r, &err), HXQ_ERR_IO);
}
END_TEST

START_TEST(load_from_dir)
{
    char *dir = hxq_test_tmpdir("receipt");
    hxq_compression_receipt r, back;
    make_receipt(&r);
    char *txt, path[512];
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_compression_json(&r, &txt, &err), HXQ_OK);
    snprintf(path, sizeof(path), "%s/compression_receipt.json", dir);
    ck_assert_int_eq(hxq_test_write_file(path, txt, strlen(txt)), 0);
    ck_assert_int_eq(hxq_receipt_compression_load(dir, &back, &err), HXQ_OK);
    ck_assert_int_eq(back.n_tensors, 2);
    ck_assert_str_eq(back.exact_patterns[0], "norm");
    ck_assert(back.snr_floor_db == 25.5);
    free(txt);
    hxq_receipt_compression_free(&r);
    hxq_receipt_compression_free(&back);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(check_table_full)
{
    hxq_compression_receipt r;
    memset(&r, 0, sizeof(r));
    for (int i = 0; i < HXQ_RC_MAX_CHECKS; i++)
        ck_assert_int_eq(hxq_receipt_add_check(&r, "c", 1, "%d", i), HXQ_OK);
    ck_assert_int_eq(hxq_receipt_add_check(&r, "c", 1, "over"), HXQ_ERR_RANGE);
    ck_assert_int_eq(r.n_checks, HXQ_RC_MAX_CHECKS);
    hxq_receipt_compression_free(&r);
}
END_TEST

START_TEST(gate1)
{
    hxq_gate1_receipt g;
    memset(&g, 0, sizeof(g));
    g.readable = g.compressed_complete = g.indices_in_range = g.exact_no_nan = 1;
    g.key_count_match = 1;
    g.total_keys = 867;
    g.compressed_modules = 212;
    g.exact_tensors = 19;
    hxq_sha256_buffer("m", 1, g.sha256);
    char *txt;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_gate1_json(&g, &txt, &err), HXQ_OK);
    cJSON *root = cJSON_Parse(txt);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "PASS");
    cJSON *v = cJSON_GetObjectItem(root, "validation");
    ck_assert_int_eq(cJSON_GetObjectItem(v, "total_keys")->valueint, 867);
    ck_assert_str_eq(cJSON_GetObjectItem(v, "sha256")->valuestring, g.sha256);
    ck_assert_ptr_null(cJSON_GetObjectItem(v, "shards"));
    cJSON_Delete(root);
    free(txt);
    /* one failing check fails the verdict; shards are listed when given */
    g.key_count_match = 0;
    hxq_rc_file sh[2] = {{"model-00001-of-00002.safetensors", 1, ""},
                         {"model-00002-of-00002.safetensors", 2, ""}};
    g.shards = sh;
    g.n_shards = 2;
    ck_assert_int_eq(hxq_receipt_gate1_json(&g, &txt, &err), HXQ_OK);
    root = cJSON_Parse(txt);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "FAIL");
    v = cJSON_GetObjectItem(root, "validation");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(v, "shards")), 2);
    cJSON_Delete(root);
    free(txt);
}
END_TEST

START_TEST(gate2)
{
    const char *exact[] = {"lm_head.weight", "model.embed_tokens.weight", "model.norm.weight",
                           "model.layers.0.input_layernorm.weight",
                           "model.layers.0.self_attn.q_norm.weight", "x.bias"};
    const char *missing[] = {"gone.weight"};
    hxq_gate2_receipt g = {.dense_tensors = 10, .output_tensors = 20, .compressed_weights = 4,
                           .accounted = 9, .missing = missing, .n_missing = 1, .exact = exact,
                           .n_exact = 6};
    char *txt;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_gate2_json(&g, &txt, &err), HXQ_OK);
    cJSON *root = cJSON_Parse(txt);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "FAIL");
    cJSON *s = cJSON_GetObjectItem(root, "summary");
    ck_assert_int_eq(cJSON_GetObjectItem(s, "skip_tensors_found")->valueint, 4);
    cJSON *cats = cJSON_GetObjectItem(s, "skip_categories");
    ck_assert_str_eq(cJSON_GetObjectItem(cats, "layernorm")->valuestring, "OK (2/2)");
    ck_assert_str_eq(cJSON_GetObjectItem(cats, "output_head")->valuestring, "OK (1/1)");
    cJSON *miss = cJSON_GetObjectItem(root, "missing_tensors");
    ck_assert_str_eq(cJSON_GetArrayItem(miss, 0)->valuestring, "gone.weight");
    cJSON_Delete(root);
    free(txt);
    g.n_missing = 0;
    g.n_exact = 0;
    ck_assert_int_eq(hxq_receipt_gate2_json(&g, &txt, &err), HXQ_OK);
    root = cJSON_Parse(txt);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "PASS");
    cJSON_Delete(root);
    free(txt);
}
END_TEST

static Suite *receipt_docs_suite(void)
{
    Suite *s = suite_create("receipt_docs");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, load_from_dir);
    tcase_add_test(tc, check_table_full);
    tcase_add_test(tc, gate1);
    tcase_add_test(tc, gate2);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(receipt_docs_suite)
