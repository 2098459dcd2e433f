/* test_sampler.c - greedy, seeded sampling, top-k / top-p filtering and
 * option checks of the sampler. */
#include "hxq_infer.h"
#include "hxq_test.h"

#include <math.h>
#include <string.h>

static const float logits[6] = {0.5f, 3.0f, 2.9f, -1.0f, 3.0f, 0.0f};

static hxq_sampler make(float temp, int top_k, float top_p, uint64_t seed)
{
    hxq_sampler s;
    hxq_sampler_opts o = {temp, top_k, top_p, seed};
    hxq_error err = {0};
    ck_assert_msg(hxq_sampler_init(&s, &o, 6, &err) == HXQ_OK, "%s", err.msg);
    return s;
}

START_TEST(greedy_takes_lowest_best_id)
{
    hxq_sampler s = make(0.0f, 0, 1.0f, 1);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(hxq_sampler_sample(&s, logits), 1);
    hxq_sampler_free(&s);
    hxq_sampler_free(NULL);
}
END_TEST

START_TEST(seeded_sampling_repeats_and_follows_probabilities)
{
    hxq_sampler a = make(1.0f, 0, 1.0f, 42), b = make(1.0f, 0, 1.0f, 42);
    int counts[6] = {0};
    int n = 20000;
    for (int i = 0; i < n; i++) {
        int32_t x = hxq_sampler_sample(&a, logits);
        ck_assert_int_eq(x, hxq_sampler_sample(&b, logits));
        ck_assert(x >= 0 && x < 6);
        counts[x]++;
    }
    double z = 0;
    for (int i = 0; i < 6; i++)
        z += exp(logits[i]);
    for (int i = 0; i < 6; i++) {
        double p = exp(logits[i]) / z, f = (double)counts[i] / n;
        ck_assert_msg(fabs(f - p) < 5 * sqrt(p * (1 - p) / n) + 1e-3, "id %d: %g vs %g", i, f,
                      p);
    }
    hxq_sampler_free(&a);
    hxq_sampler_free(&b);
}
END_TEST

START_TEST(top_k_and_top_p_restrict)
{
    hxq_sampler k2 = make(5.0f, 2, 1.0f, 7), p = make(1.0f, 0, 0.5f, 7);
    for (int i = 0; i < 2000; i++) {
        int32_t x = hxq_sampler_sample(&k2, logits);
        ck_assert_msg(x == 1 || x == 4, "top-k 2 gave %d", x);
        /* ids 1 and 4 (equal, sorted by id) hold more than half: p = 0.5
         * keeps 1 and 4 only */
        x = hxq_sampler_sample(&p, logits);
        ck_assert_msg(x == 1 || x == 4, "top-p 0.5 gave %d", x);
    }
    hxq_sampler_free(&k2);
    hxq_sampler_free(&p);
}
END_TEST

START_TEST(bad_options)
{
    hxq_sampler s;
    hxq_error err = {0};
    hxq_sampler_opts o = {-1.0f, 0, 1.0f, 0};
    ck_assert_int_eq(hxq_sampler_init(&s, &o, 6, &err), HXQ_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "temperature") != NULL, "%s", err.msg);
    o.temperature = 1.0f;
    o.top_p = 1.5f;
    ck_assert_int_eq(hxq_sampler_init(&s, &o, 6, &err), HXQ_ERR_INVALID);
    o.top_p = 1.0f;
    ck_assert_int_eq(hxq_sampler_init(&s, &o, 0, &err), HXQ_ERR_INVALID);
}
END_TEST

Suite *sampler_suite(void)
{
    Suite *s = suite_create("sampler");
    TCase *tc = tcase_create("sampler");
    tcase_add_test(tc, greedy_takes_lowest_best_id);
    tcase_add_test(tc, seeded_sampling_repeats_and_follows_probabilities);
    tcase_add_test(tc, top_k_and_top_p_restrict);
    tcase_add_test(tc, bad_options);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(sampler_suite)
