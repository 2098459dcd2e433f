/* test_cuda_model.c - the CUDA backend against the CPU engine on the bundled
 * tiny OLMoE, dense (BF16) and HXQ (the reference compressor's output):
 * logits, hidden states and router logits of every golden prompt within
 * 1e-3 absolute, and the greedy continuations identical to the goldens
 * (test/fixtures/golden). GPU tests skip without a device (they fail under
 * HXQ_REQUIRE_GPU=1); the no-device error path runs everywhere. */
#include "cuda_model_check.h"
#include "cuda_test.h"
#include "hxq_infer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_cuda_dense)
{
    if (!cuda_test_gpu(__func__))
        return;
    cuda_check_model(HXQ_FIXTURE_DENSE, HXQ_FIXTURE_GOLDEN "/golden_dense.safetensors", 512);
}
END_TEST

START_TEST(test_cuda_helix)
{
    if (!cuda_test_gpu(__func__))
        return;
    cuda_check_model(HXQ_FIXTURE_HELIX, HXQ_FIXTURE_GOLDEN "/golden_helix.safetensors", 512);
}
END_TEST

/* Prompts split into chunks of 4: batched attention over a filled cache. */
START_TEST(test_cuda_chunked_prompt)
{
    if (!cuda_test_gpu(__func__))
        return;
    cuda_check_model(HXQ_FIXTURE_HELIX, HXQ_FIXTURE_GOLDEN "/golden_helix.safetensors", 4);
}
END_TEST

/* Without a device (or without CUDA in the build) the engine refuses the
 * CUDA device with a message that says why, and hands out no engine. */
START_TEST(test_cuda_engine_without_device)
{
    int have = 0;
#ifdef HXQ_HAVE_CUDA
    hxq_error probe;
    hxq_cuda_device_count(&have, &probe);
#endif
    if (have > 0) {
        printf("%s: skipped: a CUDA device is present\n", __func__);
        return;
    }
    hxq_error err = {0};
    hxq_model m;
    ck_assert_msg(hxq_model_load(HXQ_FIXTURE_DENSE, &m, &err) == HXQ_OK, "%s", err.msg);
    hxq_engine_opts o = hxq_engine_opts_default();
    o.device = HXQ_DEVICE_CUDA;
    hxq_engine *e = NULL;
    ck_assert_int_eq(hxq_engine_create(&m, &o, &e, &err), HXQ_ERR_DEVICE);
    ck_assert_ptr_null(e);
#ifdef HXQ_HAVE_CUDA
    ck_assert_msg(strstr(err.msg, "no CUDA device") != NULL, "%s", err.msg);
#else
    ck_assert_str_eq(err.msg, "hxq was built without CUDA");
#endif
    hxq_model_free(&m);
}
END_TEST

static Suite *cuda_model_suite(void)
{
    Suite *s = suite_create("cuda_model");
    TCase *tc = tcase_create("model");
    /* minutes on the CPU emulator under ASan: 300 s ran out once in a
     * clean-clone CI run on the 2-core machine */
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, test_cuda_engine_without_device);
    tcase_add_test(tc, test_cuda_dense);
    tcase_add_test(tc, test_cuda_helix);
    tcase_add_test(tc, test_cuda_chunked_prompt);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(cuda_model_suite)
