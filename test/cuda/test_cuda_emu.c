/* test_cuda_emu.c - the CPU SIMT emulator (test/cuda/emu) does what the CUDA
 * tests rely on: shuffles, barriers and shared memory behave as on a GPU, and
 * each kind of misuse it claims to catch is caught. Runs in EMU=1 builds
 * (make test-cuda-emu); elsewhere there is no emulator and it says so. */
#include "hxq_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HXQ_CUDA_EMU
#include "emu_selftest.h"

enum { OK = 0, INVALID_VALUE = 1, ILLEGAL_ADDRESS = 700, LAUNCH_FAILURE = 719,
       CAPTURE_UNSUPPORTED = 900, CAPTURE_INVALIDATED = 901 };

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

START_TEST(test_butterfly)
{
    int out[64 * 5];
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_butterfly(out), OK);
    for (int t = 0; t < 64; t++)
        for (int i = 0; i < 5; i++)
            ck_assert_int_eq(out[t * 5 + i], t ^ (1 << i));
}
END_TEST

START_TEST(test_block_sum)
{
    static const int threads[] = {32, 96, 256, 1024};
    float x[3000], sum = 0.0f;
    for (int i = 0; i < 3000; i++)
        x[i] = (float)(i % 7) - 3.0f + 0.25f; /* exact in float: sums are exact */
    double want = 0.0;
    for (int i = 0; i < 3000; i++)
        want += x[i];
    for (size_t k = 0; k < sizeof(threads) / sizeof(threads[0]); k++) {
        emu_selftest_reset();
        ck_assert_int_eq(emu_selftest_block_sum(x, 3000, threads[k], &sum), OK);
        ck_assert_msg((double)sum == want, "%d threads: %g != %g", threads[k], (double)sum,
                      want);
    }
}
END_TEST

START_TEST(test_early_exit_releases_barrier)
{
    float out[128];
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_early_exit(out), OK);
    for (int i = 0; i < 64; i++)
        ck_assert(out[i] == 5.0f);
    /* threads 64..127 wrote nothing: the emulator's 0xff fill shows through */
    ck_assert_uint_eq(f32_bits(out[100]), 0xffffffffu);
}
END_TEST

START_TEST(test_misuse_is_a_launch_failure)
{
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_divergent_sync(), LAUNCH_FAILURE);
    /* the failure is sticky, as on a GPU, until a reset */
    float out[128];
    ck_assert_int_eq(emu_selftest_early_exit(out), LAUNCH_FAILURE);
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_exited_lanes(), LAUNCH_FAILURE);
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_deadlock(), LAUNCH_FAILURE);
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_early_exit(out), OK);
}
END_TEST

START_TEST(test_race_depends_on_order)
{
    float fwd[128], rev[128];
    emu_selftest_reset();
    unsetenv("HXQ_EMU_ORDER");
    ck_assert_int_eq(emu_selftest_race(fwd), OK);
    setenv("HXQ_EMU_ORDER", "reverse", 1);
    ck_assert_int_eq(emu_selftest_race(rev), OK);
    unsetenv("HXQ_EMU_ORDER");
    /* forward: thread 0 writes before the others read; reverse: after */
    ck_assert(fwd[31] == 42.0f);
    ck_assert_uint_eq(f32_bits(rev[31]), 0xffffffffu);
}
END_TEST

START_TEST(test_shared_memory_limit)
{
    float out[8];
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_smem_limit(0, out), INVALID_VALUE);
    ck_assert_int_eq(emu_selftest_smem_limit(1, out), OK);
    for (int i = 0; i < 8; i++)
        ck_assert(out[i] == (float)(i ^ 1));
}
END_TEST

START_TEST(test_host_pointer_argument)
{
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_host_pointer_arg(), ILLEGAL_ADDRESS);
}
END_TEST

START_TEST(test_streams_are_lazy)
{
    float first = 0.0f;
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_stream_order(1, &first), OK);
    ck_assert(first == 3.0f);
    /* no synchronisation: the copy sees device memory nothing wrote yet */
    ck_assert_int_eq(emu_selftest_stream_order(0, &first), OK);
    ck_assert_uint_eq(f32_bits(first), 0xffffffffu);
}
END_TEST

START_TEST(test_graph_capture)
{
    float v = 0.0f;
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_capture(0, 3, &v), OK);
    ck_assert(v == 3.0f); /* the captured kernel ran once per replay */
    emu_selftest_reset();
    ck_assert_int_eq(emu_selftest_capture(1, 1, &v), CAPTURE_INVALIDATED);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer stops the process at a kernel's out-of-bounds read */
START_TEST(test_out_of_bounds_read_is_caught)
{
    emu_selftest_reset();
    emu_selftest_read_one_past();
}
END_TEST
#endif

#else

START_TEST(test_not_an_emulator_build)
{
    printf("test_cuda_emu: skipped: not an EMU=1 build (run make test-cuda-emu)\n");
    fflush(stdout);
}
END_TEST

#endif /* HXQ_CUDA_EMU */

static Suite *cuda_emu_suite(void)
{
    Suite *s = suite_create("cuda_emu");
    TCase *tc = tcase_create("emulator");
#ifdef HXQ_CUDA_EMU
    tcase_add_test(tc, test_butterfly);
    tcase_add_test(tc, test_block_sum);
    tcase_add_test(tc, test_early_exit_releases_barrier);
    tcase_add_test(tc, test_misuse_is_a_launch_failure);
    tcase_add_test(tc, test_race_depends_on_order);
    tcase_add_test(tc, test_shared_memory_limit);
    tcase_add_test(tc, test_host_pointer_argument);
    tcase_add_test(tc, test_streams_are_lazy);
    tcase_add_test(tc, test_graph_capture);
#if defined(__SANITIZE_ADDRESS__)
    if (!getenv("CK_FORK") || strcmp(getenv("CK_FORK"), "no") != 0)
        tcase_add_exit_test(tc, test_out_of_bounds_read_is_caught, 1);
#endif
#else
    tcase_add_test(tc, test_not_an_emulator_build);
#endif
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(cuda_emu_suite)
