/* test_pool.c - hxq_pool: every item runs exactly once, on a valid thread
 * id, for any thread count and chunking, over many consecutive runs. */
#include "hxq_common.h"
#include "hxq_test.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

struct job {
    atomic_int *hits;       /* per item */
    int nthreads;
    atomic_int bad_tid;
    atomic_int calls;
    int64_t max_chunk;
    atomic_int bad_chunk;
};

static void count_items(void *ctx, int64_t begin, int64_t end, int tid)
{
    struct job *j = ctx;
    if (tid < 0 || tid >= j->nthreads)
        atomic_fetch_add(&j->bad_tid, 1);
    if (end <= begin || end - begin > j->max_chunk)
        atomic_fetch_add(&j->bad_chunk, 1);
    atomic_fetch_add(&j->calls, 1);
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&j->hits[i], 1);
}

static void run_and_check(hxq_pool *p, int64_t n, int64_t chunk)
{
    struct job j;
    memset(&j, 0, sizeof(j));
    j.hits = calloc((size_t)n + 1, sizeof(atomic_int));
    ck_assert_ptr_nonnull(j.hits);
    j.nthreads = hxq_pool_threads(p);
    j.max_chunk = chunk > 0 ? chunk : n;
    hxq_pool_run(p, n, chunk, count_items, &j);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(atomic_load(&j.hits[i]) == 1, "item %lld ran %d times (n %lld chunk %lld)",
                      (long long)i, atomic_load(&j.hits[i]), (long long)n, (long long)chunk);
    ck_assert_int_eq(atomic_load(&j.bad_tid), 0);
    ck_assert_int_eq(atomic_load(&j.bad_chunk), 0);
    if (n == 0)
        ck_assert_int_eq(atomic_load(&j.calls), 0);
    free(j.hits);
}

START_TEST(every_item_once)
{
    const int threads[] = {1, 2, 3, 8};
    const int64_t sizes[] = {0, 1, 2, 7, 64, 1000, 4097};
    const int64_t chunks[] = {0, -5, 1, 3, 100, 5000};
    for (size_t t = 0; t < 4; t++) {
        hxq_pool *p = hxq_pool_create(threads[t]);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(hxq_pool_threads(p), threads[t]);
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
            for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++)
                run_and_check(p, sizes[s], chunks[c]);
        hxq_pool_free(p);
    }
}
END_TEST

/* Many short runs back to back exercise the start/done hand-off. */
START_TEST(many_consecutive_runs)
{
    hxq_pool *p = hxq_pool_create(4);
    ck_assert_ptr_nonnull(p);
    for (int r = 0; r < 2000; r++)
        run_and_check(p, 1 + r % 37, 1 + r % 5);
    hxq_pool_free(p);
}
END_TEST

/* Runs further apart than the workers spin: each one finds them asleep
 * and must wake them (the spinning hand-off is the test above). */
START_TEST(runs_after_idle_pauses)
{
    hxq_pool *p = hxq_pool_create(3);
    ck_assert_ptr_nonnull(p);
    for (int r = 0; r < 20; r++) {
        run_and_check(p, 50 + r, 1 + r % 3);
        struct timespec ts = {0, 2 * 1000 * 1000};   /* 2 ms, far above the spin */
        nanosleep(&ts, NULL);
    }
    hxq_pool_free(p);
}
END_TEST

START_TEST(null_pool_runs_on_caller)
{
    ck_assert_int_eq(hxq_pool_threads(NULL), 1);
    run_and_check(NULL, 100, 7);
    run_and_check(NULL, 100, 0);
    hxq_pool_free(NULL);                          /* no-op */
}
END_TEST

START_TEST(default_thread_count)
{
    hxq_pool *p = hxq_pool_create(0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(hxq_pool_threads(p), hxq_cpu_count());
    ck_assert_int_ge(hxq_cpu_count(), 1);
    run_and_check(p, 333, 0);
    hxq_pool_free(p);
    /* a pool can be created and freed without ever running */
    hxq_pool_free(hxq_pool_create(3));
    double t0 = hxq_now(), t1 = hxq_now();
    ck_assert(t1 >= t0);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_item_once);
    tcase_add_test(tc, many_consecutive_runs);
    tcase_add_test(tc, runs_after_idle_pauses);
    tcase_add_test(tc, null_pool_runs_on_caller);
    tcase_add_test(tc, default_thread_count);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(pool_suite)
