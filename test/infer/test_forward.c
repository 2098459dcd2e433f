/* test_forward.c - the engine against transformers' recorded outputs
 * (test/fixtures/golden): logits, hidden states and router logits of the
 * public prompts, greedy continuations; error paths of the model loader
 * and the engine. */
#include "hxq_infer.h"
#include "hxq_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-3

static const hxq_tensor *golden(const hxq_st_file *g, const char *prompt, const char *what)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", prompt, what);
    const hxq_tensor *t = hxq_st_find(g, name);
    ck_assert_msg(t != NULL, "golden tensor %s missing", name);
    return t;
}

static double max_diff(const float *a, const hxq_tensor *t)
{
    ck_assert_int_eq(t->dtype, HXQ_DT_F32);
    double d = 0;
    for (int64_t i = 0; i < t->nelem; i++) {
        double e = fabs((double)a[i] - (double)hxq_tensor_f32_at(t, i));
        if (!(e <= d))
            d = e;      /* NaN propagates as a failure */
    }
    return d;
}

static int32_t *ids_of(const hxq_tensor *t)
{
    ck_assert_int_eq(t->dtype, HXQ_DT_I64);
    int32_t *ids = malloc((size_t)t->nelem * sizeof(int32_t));
    ck_assert_ptr_nonnull(ids);
    for (int64_t i = 0; i < t->nelem; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + 8 * i, 8);
        ids[i] = (int32_t)v;
    }
    return ids;
}

static int32_t argmax(const float *x, int64_t n)
{
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return (int32_t)b;
}

/* Compares every public prompt of golden file gpath with the model in
 * dir: logits, greedy tokens, and with probes hidden states and router
 * logits. */
static void check_model(const char *dir, const char *gpath, int probes, int threads)
{
    hxq_error err = {0};
    hxq_model m;
    ck_assert_msg(hxq_model_load(dir, &m, &err) == HXQ_OK, "%s", err.msg);
    hxq_st_file *g;
    ck_assert_msg(hxq_st_open(gpath, &g, &err) == HXQ_OK, "%s", err.msg);
    hxq_engine_opts o = hxq_engine_opts_default();
    o.threads = threads;
    hxq_engine *e;
    ck_assert_msg(hxq_engine_create(&m, &o, &e, &err) == HXQ_OK, "%s", err.msg);
    int64_t V = m.vocab, H = m.hidden, E = m.n_experts, NL = m.n_layers;
    for (int p = 0;; p++) {
        char prompt[32];
        snprintf(prompt, sizeof(prompt), "public%d", p);
        char idname[64];
        snprintf(idname, sizeof(idname), "%s.ids", prompt);
        if (!hxq_st_find(g, idname))
            break;
        const hxq_tensor *tid = golden(g, prompt, "ids");
        int64_t T = tid->nelem;
        int32_t *ids = ids_of(tid);
        float *logits = malloc((size_t)(T * V) * sizeof(float));
        float *hidden = malloc((size_t)((NL + 1) * T * H) * sizeof(float));
        float *router = malloc((size_t)(NL * T * E) * sizeof(float));
        hxq_forward_out out = {logits, 1, probes ? hidden : NULL, probes ? router : NULL};
        hxq_engine_reset(e);
        ck_assert_msg(hxq_engine_forward(e, ids, T, &out, &err) == HXQ_OK, "%s", err.msg);
        double d = max_diff(logits, golden(g, prompt, "logits"));
        ck_assert_msg(d < TOL, "%s %s: logits differ by %g", dir, prompt, d);
        if (probes) {
            for (int64_t j = 0; j <= NL; j++) {
                char what[48];
                snprintf(what, sizeof(what), "hidden.%lld", (long long)j);
                d = max_diff(hidden + j * T * H, golden(g, prompt, what));
                ck_assert_msg(d < TOL, "%s %s: %s differs by %g", dir, prompt, what, d);
            }
            for (int64_t l = 0; l < NL; l++) {
                char what[48];
                snprintf(what, sizeof(what), "router_logits.%lld", (long long)l);
                d = max_diff(router + l * T * E, golden(g, prompt, what));
                ck_assert_msg(d < TOL, "%s %s: %s differs by %g", dir, prompt, what, d);
            }
        }
        {
            /* greedy: 32 argmax steps, decoding one token at a time */
            int32_t *want = ids_of(golden(g, prompt, "greedy32"));
            int32_t next = argmax(logits + (T - 1) * V, V);
            hxq_forward_out last = {logits, 0, NULL, NULL};
            for (int i = 0; i < 32; i++) {
                ck_assert_msg(next == want[i], "%s %s: greedy step %d: %d, want %d", dir,
                              prompt, i, next, want[i]);
                ck_assert(hxq_engine_forward(e, &next, 1, &last, &err) == HXQ_OK);
                next = argmax(logits, V);
            }
            free(want);
        }
        free(ids);
        free(logits);
        free(hidden);
        free(router);
    }
    hxq_engine_free(e);
    hxq_st_close(g);
    hxq_model_free(&m);
}

START_TEST(dense_matches_golden)
{
    check_model(HXQ_FIXTURE_DENSE, HXQ_FIXTURE_GOLDEN "/golden_dense.safetensors", 1, 2);
}
END_TEST

START_TEST(dense_one_thread)
{
    check_model(HXQ_FIXTURE_DENSE, HXQ_FIXTURE_GOLDEN "/golden_dense.safetensors", 0, 1);
}
END_TEST

START_TEST(helix_matches_golden)
{
    check_model(HXQ_FIXTURE_HELIX, HXQ_FIXTURE_GOLDEN "/golden_helix.safetensors", 0, 2);
}
END_TEST

START_TEST(load_errors)
{
    hxq_model m;
    memset(&m, 0x5a, sizeof(m));
    hxq_error err = {0};
    ck_assert_int_lt(hxq_model_load("test/fixtures/no-such-model", &m, &err), 0);
    ck_assert_msg(strstr(err.msg, "no-such-model") != NULL, "%s", err.msg);
    ck_assert_ptr_null(m.layers);
    /* a folder with the config but one shard missing */
    char *dir = hxq_test_tmpdir("fwd");
    ck_assert_int_eq(hxq_test_sh("cp %s/config.json %s/model.safetensors.index.json "
                                 "%s/model-00001-of-00003.safetensors %s/",
                                 HXQ_FIXTURE_DENSE, HXQ_FIXTURE_DENSE, HXQ_FIXTURE_DENSE, dir),
                     0);
    ck_assert_int_lt(hxq_model_load(dir, &m, &err), 0);
    ck_assert_msg(strstr(err.msg, "model-0000") != NULL, "%s", err.msg);
    /* only the first shard as a single file: tensors are missing */
    ck_assert_int_eq(hxq_test_sh("rm %s/model.safetensors.index.json && mv "
                                 "%s/model-00001-of-00003.safetensors %s/model.safetensors",
                                 dir, dir, dir), 0);
    ck_assert_int_eq(hxq_model_load(dir, &m, &err), HXQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "is missing") != NULL, "%s", err.msg);
    hxq_model_free(&m);
    hxq_model_free(NULL);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(engine_limits_and_determinism)
{
    hxq_error err = {0};
    hxq_model m;
    ck_assert_msg(hxq_model_load(HXQ_FIXTURE_DENSE, &m, &err) == HXQ_OK, "%s", err.msg);
    hxq_engine_opts o = hxq_engine_opts_default();
    o.device = HXQ_DEVICE_CUDA;
    hxq_engine *e = NULL;
    int rc = hxq_engine_create(&m, &o, &e, &err);
    if (rc == HXQ_OK) {
        /* a machine with a GPU: the device is the CUDA backend */
        ck_assert_str_eq(hxq_engine_device_name(e), "cuda");
        hxq_engine_free(e);
        e = NULL;
    } else {
        ck_assert_int_eq(rc, HXQ_ERR_DEVICE);
        ck_assert_msg(strstr(err.msg, "CUDA") != NULL || strstr(err.msg, "device") != NULL,
                      "%s", err.msg);
        ck_assert_ptr_null(e);
    }
    o = hxq_engine_opts_default();
    o.max_ctx = 8;
    o.max_batch = 3;
    o.threads = 1;
    ck_assert(hxq_engine_create(&m, &o, &e, &err) == HXQ_OK);
    ck_assert_int_eq(hxq_engine_max_ctx(e), 8);
    ck_assert_str_eq(hxq_engine_device_name(e), "cpu");
    int32_t ids[9] = {643, 1121, 27, 200, 2209, 333, 2626, 809, 2170};
    int64_t V = m.vocab;
    float *l1 = malloc((size_t)(8 * V) * sizeof(float));
    float *l2 = malloc((size_t)(8 * V) * sizeof(float));
    hxq_forward_out all = {l1, 1, NULL, NULL};
    /* 8 tokens in batches of 3 fill the context; one more is refused */
    ck_assert(hxq_engine_forward(e, ids, 8, &all, &err) == HXQ_OK);
    ck_assert_int_eq(hxq_engine_pos(e), 8);
    ck_assert_int_eq(hxq_engine_forward(e, ids + 8, 1, NULL, &err), HXQ_ERR_RANGE);
    ck_assert_msg(strstr(err.msg, "context full") != NULL, "%s", err.msg);
    ck_assert_int_eq(hxq_engine_pos(e), 8);
    hxq_engine_reset(e);
    int32_t bad = (int32_t)V;
    ck_assert_int_eq(hxq_engine_forward(e, &bad, 1, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_engine_forward(e, ids, 0, NULL, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_engine_pos(e), 0);
    /* token by token (matrix-vector path) agrees with the batches */
    hxq_forward_out one = {NULL, 0, NULL, NULL};
    for (int t = 0; t < 8; t++) {
        one.logits = l2 + t * V;
        ck_assert(hxq_engine_forward(e, ids + t, 1, &one, &err) == HXQ_OK);
    }
    for (int64_t i = 0; i < 8 * V; i++)
        ck_assert_msg(fabs(l1[i] - l2[i]) < 1e-4, "batch vs decode at %lld: %g vs %g",
                      (long long)i, l1[i], l2[i]);
    hxq_engine_free(e);
    /* same bytes at 1 and 2 threads */
    o.threads = 2;
    ck_assert(hxq_engine_create(&m, &o, &e, &err) == HXQ_OK);
    all.logits = l2;
    ck_assert(hxq_engine_forward(e, ids, 8, &all, &err) == HXQ_OK);
    ck_assert(memcmp(l1, l2, (size_t)(8 * V) * sizeof(float)) == 0);
    hxq_engine_free(e);
    hxq_engine_free(NULL);
    free(l1);
    free(l2);
    hxq_model_free(&m);
}
END_TEST

Suite *forward_suite(void)
{
    Suite *s = suite_create("forward");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, dense_matches_golden);
    tcase_add_test(tc, dense_one_thread);
    tcase_add_test(tc, helix_matches_golden);
    tcase_add_test(tc, load_errors);
    tcase_add_test(tc, engine_limits_and_determinism);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(forward_suite)
