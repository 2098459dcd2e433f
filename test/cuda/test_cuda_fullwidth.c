/* test_cuda_fullwidth.c - the CUDA backend against the CPU engine at
 * OLMoE-1B-7B widths (hidden 2048, 16 heads of 128, 64 experts top-8,
 * intermediate 1024, vocab 50304), where the tiny model cannot reach: head
 * dimension 128, inputs over 48 KB of shared memory in the batched prompt
 * path, 16-row blocks, lm_head with 50,304 rows. One synthetic decoder layer
 * (hxq synth) compressed by hxq compress: a 13-token prompt's logits, hidden
 * states and router logits within 1e-3 of the CPU engine, then 6 one-token
 * steps (the CUDA graph) with the same argmax and logits within 1e-3.
 * Writes about 2 GB under the test folder and removes it. */
#include "cuda_model_check.h"
#include "cuda_test.h"
#include "hxq_infer.h"
#include "hxq_pipeline.h"

#include <stdio.h>
#include <stdlib.h>

START_TEST(test_cuda_full_width_layer)
{
    if (!cuda_test_gpu(__func__))
        return;
    hxq_error err = {0};
    char *dir = hxq_test_tmpdir("cuda-fullwidth");
    char src[4200], dst[4200];
    snprintf(src, sizeof(src), "%s/dense", dir);
    snprintf(dst, sizeof(dst), "%s/hxq", dir);

    hxq_synth_opts so;
    hxq_synth_opts_init(&so);
    so.layers = 1;
    so.config_from = HXQ_FIXTURE_DENSE;
    ck_assert_msg(hxq_synth(src, &so, &err) == HXQ_OK, "%s", err.msg);
    hxq_compress_opts co;
    hxq_compress_opts_init(&co);
    ck_assert_msg(hxq_compress(src, dst, &co, NULL, &err) == HXQ_OK, "%s", err.msg);
    hxq_test_rmtree(src); /* only the compressed folder is needed from here */

    hxq_model m;
    ck_assert_msg(hxq_model_load(dst, &m, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(m.hidden, 2048);
    ck_assert_int_eq(m.vocab, 50304);
    hxq_engine_opts o = hxq_engine_opts_default();
    o.max_ctx = 64;
    hxq_engine *cpu, *gpu;
    ck_assert_msg(hxq_engine_create(&m, &o, &cpu, &err) == HXQ_OK, "%s", err.msg);
    o.device = HXQ_DEVICE_CUDA;
    ck_assert_msg(hxq_engine_create(&m, &o, &gpu, &err) == HXQ_OK, "%s", err.msg);

    enum { T = 13, STEPS = 6 };
    const int64_t V = m.vocab, H = m.hidden, E = m.n_experts, NL = m.n_layers;
    int32_t ids[T];
    uint64_t s = 0x2545f4914f6cdd1dull;
    for (int t = 0; t < T; t++) { /* spread over the whole vocabulary */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ids[t] = (int32_t)((s >> 33) % (uint64_t)V);
    }
    cuda_outs bufs;
    cuda_outs_alloc(&bufs, T, V, H, E, NL);
    float *lc = bufs.lc, *lg = bufs.lg;
    hxq_forward_out oc = {lc, 1, bufs.hc, bufs.rc}, og = {lg, 1, bufs.hg, bufs.rg};
    ck_assert_msg(hxq_engine_forward(cpu, ids, T, &oc, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_msg(hxq_engine_forward(gpu, ids, T, &og, &err) == HXQ_OK, "%s", err.msg);
    expect_close(lg, lc, T * V, "prompt logits", "full width");
    expect_close(bufs.hg, bufs.hc, (NL + 1) * T * H, "hidden states", "full width");
    expect_close(bufs.rg, bufs.rc, NL * T * E, "router logits", "full width");

    /* one-token steps: both engines fed the CPU's greedy choice */
    int32_t next = hxq_test_argmax(lc + (T - 1) * V, V);
    for (int step = 0; step < STEPS; step++) {
        hxq_forward_out dc = {lc, 0, NULL, NULL}, dg = {lg, 0, NULL, NULL};
        ck_assert_msg(hxq_engine_forward(cpu, &next, 1, &dc, &err) == HXQ_OK, "%s", err.msg);
        ck_assert_msg(hxq_engine_forward(gpu, &next, 1, &dg, &err) == HXQ_OK, "%s", err.msg);
        char what[32];
        snprintf(what, sizeof(what), "step %d", step);
        expect_close(lg, lc, V, "decode logits", what);
        int32_t want = hxq_test_argmax(lc, V);
        ck_assert_int_eq(hxq_test_argmax(lg, V), want);
        next = want;
    }
    cuda_outs_free(&bufs);
    hxq_engine_free(cpu);
    hxq_engine_free(gpu);
    hxq_model_free(&m);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *cuda_fullwidth_suite(void)
{
    Suite *s = suite_create("cuda_fullwidth");
    TCase *tc = tcase_create("fullwidth");
    tcase_set_timeout(tc, 1200); /* minutes on the CPU emulator under ASan */
    tcase_add_test(tc, test_cuda_full_width_layer);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(cuda_fullwidth_suite)
