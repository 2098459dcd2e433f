/* test_families.c - the Llama, Mistral, Qwen2, Qwen3, Mixtral, Qwen3-MoE and
 * OLMoE families against the numpy reference (test/reference/hf_forward.py,
 * written from transformers' modeling code): each family's tiny synthetic
 * checkpoint (hxq synth --arch, regenerated here and checked byte for byte
 * against the goldens' hashes) and its hxq compress output, every golden
 * prompt's logits within 1e-4 of the logit range and the greedy tokens
 * identical; batch vs token by token; 1 vs 2 threads bytewise; the fused
 * expert layout; the loader's errors; hxq run on a family. Goldens:
 * test/fixtures/families/, made by test/reference/make_family_goldens.py. */
#include "hxq_infer.h"
#include "hxq_pipeline.h"
#include "hxq_receipt.h"
#include "hxq_test.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4                /* of the logit range */
#define GREEDY 16
#define N_PROMPTS 2
#define REGEN "regenerate with /usr/bin/python3 test/reference/make_family_goldens.py"

static const char *const families[] = {"llama", "mistral", "qwen2", "qwen3",
                                       "mixtral", "qwen3_moe", "olmoe"};
#define N_FAMILIES ((int)(sizeof(families) / sizeof(families[0])))

static hxq_st_file *open_golden(const char *arch)
{
    char path[256];
    snprintf(path, sizeof(path), "test/fixtures/families/%s.safetensors", arch);
    hxq_st_file *g;
    hxq_error err = {0};
    ck_assert_msg(hxq_st_open(path, &g, &err) == HXQ_OK, "%s", err.msg);
    return g;
}

static const hxq_tensor *gfind(const hxq_st_file *g, const char *fmt, const char *variant,
                               int p)
{
    char name[96];
    snprintf(name, sizeof(name), fmt, variant, p);
    const hxq_tensor *t = hxq_st_find(g, name);
    ck_assert_msg(t != NULL, "golden tensor %s missing", name);
    return t;
}

static int64_t i64_at(const hxq_tensor *t, int64_t i)
{
    int64_t v;
    memcpy(&v, (const char *)t->data + 8 * i, 8);
    return v;
}

/* The file's SHA-256 equals the golden's metadata key. */
static void check_hash(const hxq_st_file *g, const char *key, const char *dir,
                       const char *file)
{
    char path[512], hex[HXQ_SHA256_HEX];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    hxq_error err = {0};
    ck_assert_msg(hxq_sha256_file(path, hex, NULL, &err) == HXQ_OK, "%s", err.msg);
    const char *want = hxq_st_metadata(g, key);
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(!strcmp(hex, want), "%s changed (%s, golden %s): " REGEN, path, hex, want);
}

/* synth --arch ARCH into dir/ARCH (and dir/ARCH-hxq compressed when
 * compress), as the CLI does. */
static void make_family(const char *dir, const char *arch, int fused, int compress,
                        char *src, char *hxq, size_t cap)
{
    hxq_synth_opts so;
    hxq_error err = {0};
    ck_assert(hxq_synth_opts_arch(&so, arch, &err) == HXQ_OK);
    so.aux_from = HXQ_FIXTURE_DENSE;
    so.tokenizer_json = HXQ_FIXTURE_DENSE "/tokenizer.json";
    so.fused = fused;
    so.threads = 2;
    snprintf(src, cap, "%s/%s%s", dir, arch, fused ? "-fused" : "");
    ck_assert_msg(hxq_synth(src, &so, &err) == HXQ_OK, "%s", err.msg);
    if (!compress)
        return;
    hxq_compress_opts co;
    hxq_compress_opts_init(&co);
    co.threads = 2;
    snprintf(hxq, cap, "%s-hxq", src);
    ck_assert_msg(hxq_compress(src, hxq, &co, NULL, &err) == HXQ_OK, "%s", err.msg);
}

static hxq_engine *engine(const hxq_model *m, int threads)
{
    hxq_engine_opts o = hxq_engine_opts_default();
    o.threads = threads;
    o.max_ctx = 128;
    hxq_engine *e;
    hxq_error err = {0};
    ck_assert_msg(hxq_engine_create(m, &o, &e, &err) == HXQ_OK, "%s", err.msg);
    return e;
}

/* One prompt through an engine: logits [T, V] of the whole prompt. */
static float *prompt_logits(hxq_engine *e, const int32_t *ids, int64_t T, int64_t V)
{
    float *l = malloc((size_t)(T * V) * sizeof(float));
    hxq_forward_out out = {l, 1, NULL, NULL};
    hxq_error err = {0};
    hxq_engine_reset(e);
    ck_assert_msg(hxq_engine_forward(e, ids, T, &out, &err) == HXQ_OK, "%s", err.msg);
    return l;
}

/* A model folder against the goldens of one variant ("dense", "hxq"). */
static void check_variant(const char *dir, const hxq_st_file *g, const char *variant,
                          const char *arch)
{
    hxq_model m;
    hxq_error err = {0};
    ck_assert_msg(hxq_model_load(dir, &m, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_str_eq(m.arch, arch);
    hxq_engine *e2 = engine(&m, 2), *e1 = engine(&m, 1);
    int64_t V = m.vocab;
    const hxq_tensor *sub = hxq_st_find(g, "sub_ids");
    ck_assert_ptr_nonnull(sub);
    for (int p = 0; p < N_PROMPTS; p++) {
        char idname[32];
        snprintf(idname, sizeof(idname), "p%d.ids", p);
        const hxq_tensor *tid = hxq_st_find(g, idname);
        ck_assert_ptr_nonnull(tid);
        int64_t T = tid->nelem;
        int32_t *ids = hxq_test_ids_of(tid);
        float *l = prompt_logits(e2, ids, T, V);
        const hxq_tensor *last = gfind(g, "%s.p%d.last", variant, p);
        const hxq_tensor *gs = gfind(g, "%s.p%d.sub", variant, p);
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < V; i++) {
            float v = hxq_tensor_f32_at(last, i);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        double tol = TOL * (hi - lo), d = 0;
        for (int64_t i = 0; i < V; i++) {
            double x = fabs(l[(T - 1) * V + i] - hxq_tensor_f32_at(last, i));
            d = x > d || x != x ? x : d;
        }
        for (int64_t t = 0; t < T; t++)
            for (int64_t k = 0; k < sub->nelem; k++) {
                double x = fabs(l[t * V + i64_at(sub, k)] -
                                hxq_tensor_f32_at(gs, t * sub->nelem + k));
                d = x > d || x != x ? x : d;
            }
        ck_assert_msg(d <= tol, "%s %s p%d: logits differ by %g (tolerance %g)", arch, variant,
                      p, d, tol);
        /* one thread: the same bytes */
        float *l1 = prompt_logits(e1, ids, T, V);
        ck_assert_msg(!memcmp(l, l1, (size_t)(T * V) * sizeof(float)),
                      "%s %s p%d: 1 and 2 threads differ", arch, variant, p);
        /* token by token (the matrix-vector path) agrees with the batch */
        hxq_engine_reset(e1);
        for (int64_t t = 0; t < T; t++) {
            hxq_forward_out one = {l1 + t * V, 0, NULL, NULL};
            ck_assert(hxq_engine_forward(e1, ids + t, 1, &one, &err) == HXQ_OK);
        }
        d = 0;
        for (int64_t i = 0; i < T * V; i++) {
            double x = fabs(l[i] - l1[i]);
            d = x > d || x != x ? x : d;
        }
        ck_assert_msg(d < 1e-4, "%s %s p%d: batch vs token by token %g", arch, variant, p, d);
        /* greedy, decoding one token at a time after the prompt */
        const hxq_tensor *want = gfind(g, "%s.p%d.greedy16", variant, p);
        int32_t next = hxq_test_argmax(l + (T - 1) * V, V);
        hxq_forward_out lastout = {l, 0, NULL, NULL};
        for (int i = 0; i < GREEDY; i++) {
            ck_assert_msg(next == i64_at(want, i), "%s %s p%d: greedy step %d: %d, want %lld",
                          arch, variant, p, i, next, (long long)i64_at(want, i));
            ck_assert(hxq_engine_forward(e2, &next, 1, &lastout, &err) == HXQ_OK);
            next = hxq_test_argmax(l, V);
        }
        free(l1);
        free(l);
        free(ids);
    }
    hxq_engine_free(e1);
    hxq_engine_free(e2);
    hxq_model_free(&m);
}

START_TEST(family_matches_reference)
{
    const char *arch = families[_i];
    char *dir = hxq_test_tmpdir("fam");
    char src[512], hxq[512];
    hxq_st_file *g = open_golden(arch);
    make_family(dir, arch, 0, 1, src, hxq, sizeof(src));
    /* synth and compress are byte-stable: the goldens' inputs */
    check_hash(g, "dense_sha256", src, "model.safetensors");
    check_hash(g, "config_sha256", src, "config.json");
    check_hash(g, "hxq_sha256", hxq, "model.safetensors");
    check_variant(src, g, "dense", arch);
    check_variant(hxq, g, "hxq", arch);
    hxq_st_close(g);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* transformers 5's fused experts hold the same weights: the same logits. */
START_TEST(fused_experts_match)
{
    static const char *const moe[] = {"mixtral", "qwen3_moe"};
    char *dir = hxq_test_tmpdir("famfused");
    for (int k = 0; k < 2; k++) {
        char src[512], hxq[512];
        hxq_st_file *g = open_golden(moe[k]);
        make_family(dir, moe[k], 1, 1, src, hxq, sizeof(src));
        check_variant(src, g, "dense", moe[k]);
        /* compress splits the fused tensors into per-expert modules */
        check_variant(hxq, g, "hxq", moe[k]);
        hxq_st_close(g);
    }
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* A decode step of two sequences of a windowed GQA model gives each the
 * logits of a lone step, bit for bit. */
START_TEST(window_seqs_decode_alone)
{
    char *dir = hxq_test_tmpdir("famseq");
    char src[512];
    make_family(dir, "mistral", 0, 0, src, NULL, sizeof(src));
    hxq_model m;
    hxq_error err = {0};
    ck_assert_msg(hxq_model_load(src, &m, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(m.layers[0].window, 8);
    hxq_engine_opts o = hxq_engine_opts_default();
    o.threads = 2;
    o.max_ctx = 64;
    o.n_seq = 2;
    hxq_engine *e;
    ck_assert(hxq_engine_create(&m, &o, &e, &err) == HXQ_OK);
    int32_t a[12] = {0, 643, 1121, 27, 200, 2209, 333, 2626, 809, 2170, 13, 532};
    int32_t b[5] = {0, 816, 27, 200, 399};
    int64_t V = m.vocab;
    float *la = malloc((size_t)V * sizeof(float)), *lb = malloc((size_t)V * sizeof(float));
    float *ra = malloc((size_t)V * sizeof(float)), *rb = malloc((size_t)V * sizeof(float));
    hxq_seq_part pa = {0, a, 11, NULL, 0}, pb = {1, b, 4, NULL, 0};
    ck_assert(hxq_engine_forward_seqs(e, &pa, 1, &err) == HXQ_OK);
    ck_assert(hxq_engine_forward_seqs(e, &pb, 1, &err) == HXQ_OK);
    /* alone, then rewound and together */
    hxq_seq_part one[2] = {{0, a + 11, 1, la, 0}, {1, b + 4, 1, lb, 0}};
    ck_assert(hxq_engine_forward_seqs(e, &one[0], 1, &err) == HXQ_OK);
    ck_assert(hxq_engine_forward_seqs(e, &one[1], 1, &err) == HXQ_OK);
    ck_assert(hxq_engine_seq_rewind(e, 0, 11, &err) == HXQ_OK);
    ck_assert(hxq_engine_seq_rewind(e, 1, 4, &err) == HXQ_OK);
    one[0].logits = ra;
    one[1].logits = rb;
    ck_assert(hxq_engine_forward_seqs(e, one, 2, &err) == HXQ_OK);
    ck_assert(!memcmp(la, ra, (size_t)V * sizeof(float)));
    ck_assert(!memcmp(lb, rb, (size_t)V * sizeof(float)));
    free(la);
    free(lb);
    free(ra);
    free(rb);
    hxq_engine_free(e);
    hxq_model_free(&m);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Sets config.json's key to the JSON value text (NULL: removes it). */
static void edit_config(const char *dir, const char *key, const char *value)
{
    char path[512];
    size_t len;
    snprintf(path, sizeof(path), "%s/config.json", dir);
    char *text = (char *)hxq_test_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_ptr_nonnull(root);
    cJSON_DeleteItemFromObjectCaseSensitive(root, key);
    if (value)
        cJSON_AddItemToObject(root, key, cJSON_Parse(value));
    char *out = cJSON_Print(root);
    ck_assert_int_eq(hxq_test_write_file(path, out, strlen(out)), 0);
    free(out);
    cJSON_Delete(root);
}

static void expect_load_error(const char *dir, int code, const char *want)
{
    hxq_model m;
    hxq_error err = {0};
    memset(&m, 0x5a, sizeof(m));
    ck_assert_int_eq(hxq_model_load(dir, &m, &err), code);
    ck_assert_msg(strstr(err.msg, want) != NULL, "'%s' lacks '%s'", err.msg, want);
    ck_assert_msg(strstr(err.msg, dir) != NULL, "'%s' lacks the folder", err.msg);
    ck_assert_ptr_null(m.layers);
}

START_TEST(load_errors)
{
    char *dir = hxq_test_tmpdir("famerr");
    char src[512];
    make_family(dir, "llama", 0, 0, src, NULL, sizeof(src));
    edit_config(src, "model_type", "\"gpt2\"");
    expect_load_error(src, HXQ_ERR_UNSUPPORTED, "model_type 'gpt2' is not supported");
    expect_load_error(src, HXQ_ERR_UNSUPPORTED, "llama, mistral, qwen2");
    edit_config(src, "model_type", "\"llama\"");
    edit_config(src, "rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4.0}");
    expect_load_error(src, HXQ_ERR_UNSUPPORTED, "rope type 'yarn' is not supported yet");
    edit_config(src, "rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8.0}");
    expect_load_error(src, HXQ_ERR_FORMAT, "low_freq_factor");
    edit_config(src, "rope_scaling", NULL);
    /* attention_bias asks for tensors the folder lacks */
    edit_config(src, "attention_bias", "true");
    expect_load_error(src, HXQ_ERR_FORMAT,
                      "tensor 'model.layers.0.self_attn.q_proj.bias' is missing");
    edit_config(src, "attention_bias", "false");
    edit_config(src, "num_key_value_heads", "3");
    expect_load_error(src, HXQ_ERR_FORMAT, "num_key_value_heads 3 does not divide");
    edit_config(src, "num_key_value_heads", "2");
    edit_config(src, "num_attention_heads", NULL);
    expect_load_error(src, HXQ_ERR_FORMAT, "\"num_attention_heads\" is missing");
    edit_config(src, "num_attention_heads", "4");
    edit_config(src, "hidden_act", "\"gelu\"");
    expect_load_error(src, HXQ_ERR_UNSUPPORTED, "hidden_act other than silu");
    edit_config(src, "hidden_act", "\"silu\"");
    /* a wider MLP than the tensors */
    edit_config(src, "intermediate_size", "256");
    expect_load_error(src, HXQ_ERR_FORMAT, "mlp.gate_proj.weight': expected shape [256, 64]");
    edit_config(src, "intermediate_size", "128");
    hxq_model m;
    hxq_error err = {0};
    ck_assert_msg(hxq_model_load(src, &m, &err) == HXQ_OK, "%s", err.msg);
    /* the CUDA backend runs OLMoE only (or, without CUDA, none) */
    hxq_engine_opts o = hxq_engine_opts_default();
    o.device = HXQ_DEVICE_CUDA;
    hxq_engine *e = NULL;
    int rc = hxq_engine_create(&m, &o, &e, &err);
    ck_assert_int_lt(rc, 0);
    ck_assert_ptr_null(e);
    ck_assert_msg(rc == HXQ_ERR_DEVICE || strstr(err.msg, "architecture llama"), "%s", err.msg);
    hxq_model_free(&m);
    /* Qwen3-MoE with dense layers among the MoE ones */
    make_family(dir, "qwen3_moe", 0, 0, src, NULL, sizeof(src));
    edit_config(src, "mlp_only_layers", "[1]");
    expect_load_error(src, HXQ_ERR_UNSUPPORTED, "mlp_only_layers");
    /* Mixtral's expert count is named by its own key */
    make_family(dir, "mixtral", 0, 0, src, NULL, sizeof(src));
    edit_config(src, "num_local_experts", NULL);
    expect_load_error(src, HXQ_ERR_FORMAT, "\"num_local_experts\" is missing");
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* hxq run --prompt on a family: the prompt ids the tokenizer gives (the
 * BOS for Llama, none for Qwen2), the golden greedy tokens, the logits. */
START_TEST(cli_run)
{
    static const char *const archs[] = {"llama", "qwen2"};
    char *dir = hxq_test_tmpdir("famrun");
    for (int k = 0; k < 2; k++) {
        char src[512], hxq[512], cmd[2048], path[600];
        hxq_st_file *g = open_golden(archs[k]);
        make_family(dir, archs[k], 0, 1, src, hxq, sizeof(src));
        snprintf(cmd, sizeof(cmd),
                 "%s run %s --prompt '%s' -n %d --threads 2 --json --logits-out %s/l.st "
                 "> %s/out 2> %s/err", hxq_test_bin(), hxq, hxq_st_metadata(g, "prompt0"),
                 GREEDY, dir, dir, dir);
        ck_assert_int_eq(hxq_test_sh("%s", cmd), 0);
        snprintf(path, sizeof(path), "%s/out", dir);
        size_t len;
        char *text = (char *)hxq_test_read_file(path, &len);
        cJSON *j = cJSON_ParseWithLength(text, len);
        ck_assert_msg(j != NULL, "not JSON: %s", text);
        free(text);
        const hxq_tensor *ids = hxq_st_find(g, "p0.ids");
        const hxq_tensor *want = gfind(g, "%s.p%d.greedy16", "hxq", 0);
        cJSON *pi = cJSON_GetObjectItem(j, "prompt_ids"), *gi = cJSON_GetObjectItem(j, "generated_ids");
        ck_assert_int_eq(cJSON_GetArraySize(pi), ids->nelem);
        for (int64_t i = 0; i < ids->nelem; i++)
            ck_assert_int_eq(cJSON_GetArrayItem(pi, (int)i)->valueint, i64_at(ids, i));
        for (int64_t i = 0; i < GREEDY; i++)
            ck_assert_int_eq(cJSON_GetArrayItem(gi, (int)i)->valueint, i64_at(want, i));
        cJSON_Delete(j);
        hxq_st_file *lf;
        hxq_error err = {0};
        snprintf(path, sizeof(path), "%s/l.st", dir);
        ck_assert_msg(hxq_st_open(path, &lf, &err) == HXQ_OK, "%s", err.msg);
        const hxq_tensor *lt = hxq_st_find(lf, "logits");
        const hxq_tensor *last = gfind(g, "%s.p%d.last", "hxq", 0);
        ck_assert_ptr_nonnull(lt);
        ck_assert_int_eq(lt->shape[0], ids->nelem);
        int64_t V = last->nelem, T = ids->nelem;
        for (int64_t i = 0; i < V; i++)
            ck_assert(fabs(hxq_tensor_f32_at(lt, (T - 1) * V + i) -
                           hxq_tensor_f32_at(last, i)) < 1e-3);
        hxq_st_close(lf);
        /* eval runs on the family too: the compressed model against the dense */
        ck_assert_int_eq(hxq_test_sh("%s eval %s --reference %s --text "
                                     "test/fixtures/tinyshakespeare.txt --ctx 32 --windows 2 "
                                     "--threads 2 > %s/eval 2>&1", hxq_test_bin(), hxq, src,
                                     dir), 0);
        hxq_st_close(g);
    }
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *families_suite(void)
{
    Suite *s = suite_create("families");
    TCase *tc = tcase_create("families");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, family_matches_reference, 0, N_FAMILIES);
    tcase_add_test(tc, fused_experts_match);
    tcase_add_test(tc, window_seqs_decode_alone);
    tcase_add_test(tc, load_errors);
    tcase_add_test(tc, cli_run);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(families_suite)
