/* pool.c - a small explicit thread pool with a parallel-for.
 *
 * Hand-over: a run publishes its job and bumps `generation`; a worker that
 * finished the previous run less than POOL_SPIN_S ago is still spinning on
 * it and starts at once, otherwise it sleeps on start_cv and is woken. The
 * caller likewise spins on `active` before sleeping on done_cv. A decode
 * step runs about 30 short parallel loops with a few microseconds of serial
 * work between them; waking a sleeping thread costs tens of microseconds in
 * a VM (futex + IPI + reschedule), the spin takes that off the critical
 * path, and idle pools still sleep. */
#define _GNU_SOURCE
#include "hxq_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define POOL_SPIN_S 100e-6

struct hxq_pool {
    int nthreads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t start_cv;
    pthread_cond_t done_cv;
    atomic_uint_fast64_t generation; /* bumped for each run (release)       */
    atomic_int stopping;
    atomic_int active;       /* workers still inside the current run */
    /* the current job, written before generation is bumped */
    hxq_pool_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_llong next;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spins until cond(p, arg) holds or POOL_SPIN_S passed; returns cond. */
static int spin_until(const hxq_pool *p, int (*cond)(const hxq_pool *, uint64_t), uint64_t arg)
{
    double t0 = 0;
    for (int i = 0;; i++) {
        if (cond(p, arg))
            return 1;
        if ((i & 15) == 15) {
            double t = hxq_now();
            if (t0 == 0)
                t0 = t;
            else if (t - t0 > POOL_SPIN_S)
                return 0;
            sched_yield();   /* a thread of ours that waits for a core goes first */
        }
        cpu_relax();
    }
}

static int run_started(const hxq_pool *p, uint64_t seen)
{
    return atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
           atomic_load_explicit(&p->stopping, memory_order_relaxed);
}

static int run_done(const hxq_pool *p, uint64_t unused)
{
    (void)unused;
    return atomic_load_explicit(&p->active, memory_order_acquire) == 0;
}

static void pool_drain(hxq_pool *p, int tid)
{
    for (;;) {
        int64_t b = atomic_fetch_add(&p->next, p->chunk);
        if (b >= p->n)
            break;
        int64_t e = b + p->chunk < p->n ? b + p->chunk : p->n;
        p->fn(p->ctx, b, e, tid);
    }
}

struct worker_arg {
    hxq_pool *pool;
    int tid;
};

static void *pool_worker(void *arg)
{
    struct worker_arg *wa = arg;
    hxq_pool *p = wa->pool;
    int tid = wa->tid;
    free(wa);
    uint64_t seen = 0;
    for (;;) {
        if (!spin_until(p, run_started, seen)) {
            pthread_mutex_lock(&p->mu);
            while (!run_started(p, seen))
                pthread_cond_wait(&p->start_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stopping))
            break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        pool_drain(p, tid);
        if (atomic_fetch_sub_explicit(&p->active, 1, memory_order_acq_rel) == 1) {
            /* the caller may be asleep: signal under the lock it checks under */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

hxq_pool *hxq_pool_create(int nthreads)
{
    if (nthreads <= 0)
        nthreads = hxq_cpu_count();
    hxq_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->nthreads = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->stopping, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->next, 0);
    if (nthreads > 1) {
        p->threads = calloc((size_t)nthreads - 1, sizeof(pthread_t));
        if (!p->threads) {
            hxq_pool_free(p);
            return NULL;
        }
    }
    for (int i = 0; i < nthreads - 1; i++) {
        struct worker_arg *wa = malloc(sizeof(*wa));
        if (wa) {
            /* filled before the thread starts: it reads them at once */
            wa->pool = p;
            wa->tid = i + 1;
        }
        if (!wa || pthread_create(&p->threads[i], NULL, pool_worker, wa) != 0) {
            free(wa);
            p->nthreads = i + 1;     /* join only what started */
            hxq_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void hxq_pool_free(hxq_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stopping, 1);
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads - 1 && p->threads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int hxq_pool_threads(const hxq_pool *p)
{
    return p ? p->nthreads : 1;
}

void hxq_pool_run(hxq_pool *p, int64_t n, int64_t chunk, hxq_pool_fn fn,
                  void *ctx)
{
    if (n <= 0)
        return;
    int nt = hxq_pool_threads(p);
    if (chunk <= 0) {
        chunk = n / (4 * (int64_t)nt);
        if (chunk < 1)
            chunk = 1;
    }
    if (!p || nt == 1 || n <= chunk) {
        for (int64_t b = 0; b < n; b += chunk)
            fn(ctx, b, b + chunk < n ? b + chunk : n, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->active, nt - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);
    pool_drain(p, 0);
    if (!spin_until(p, run_done, 0)) {
        pthread_mutex_lock(&p->mu);
        while (!run_done(p, 0))
            pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

int hxq_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int hxq_cpu_has_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

double hxq_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
