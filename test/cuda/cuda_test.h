/* cuda_test.h - the GPU gate shared by the CUDA tests.
 *
 * A GPU test starts with `if (!cuda_test_gpu(__func__)) return;`: without a
 * usable device (or in a build without CUDA) it prints why it skips and
 * passes, except under HXQ_REQUIRE_GPU=1 (make test-cuda), where a missing
 * device fails the test. */
#ifndef HXQ_CUDA_TEST_H
#define HXQ_CUDA_TEST_H

#include "hxq_common.h"
#include "hxq_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HXQ_HAVE_CUDA
#include "hxq_cuda.h"
#endif

__attribute__((unused)) static int cuda_test_required(void)
{
    const char *v = getenv("HXQ_REQUIRE_GPU");
    return v && *v && strcmp(v, "0") != 0;
}

__attribute__((unused)) static int cuda_test_gpu(const char *test)
{
    char why[HXQ_ERROR_MSG_MAX];
#ifdef HXQ_HAVE_CUDA
    hxq_error err;
    int n = 0;
    err.msg[0] = '\0';
    if (hxq_cuda_device_count(&n, &err) == HXQ_OK && n > 0)
        return 1;
    snprintf(why, sizeof(why), "%s", err.msg[0] ? err.msg : "no CUDA device");
#else
    snprintf(why, sizeof(why), "hxq was built without CUDA");
#endif
    if (cuda_test_required())
        ck_abort_msg("%s: HXQ_REQUIRE_GPU=1 but %s", test, why);
    printf("%s: skipped: %s\n", test, why);
    fflush(stdout);
    return 0;
}

#endif
