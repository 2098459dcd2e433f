/* bench_bandwidth.c - memory read bandwidth: THREADS threads sum disjoint
 * parts of a buffer of MB megabytes (much larger than the caches), best
 * of 5 passes.
 *
 *   bench_bandwidth THREADS [MB]
 *
 * Prints "read_gb_s X". */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct part {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} part;

static void *reader(void *arg)
{
    part *t = arg;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= t->n; i += 4) {
        a += t->p[i];
        b += t->p[i + 1];
        c += t->p[i + 2];
        d += t->p[i + 3];
    }
    t->sum = a ^ b ^ c ^ d;
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : 1;
    size_t mb = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    if (nt < 1 || nt > 256 || mb < 1) {
        fprintf(stderr, "usage: bench_bandwidth THREADS [MB]\n");
        return 2;
    }
    size_t n = mb * (1u << 20) / 8;
    uint64_t *buf = malloc(n * 8);
    if (!buf) {
        fprintf(stderr, "bench_bandwidth: out of memory\n");
        return 3;
    }
    memset(buf, 1, n * 8);
    part parts[256];
    pthread_t th[256];
    double best = 0;
    uint64_t sink = 0;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = now();
        for (int i = 0; i < nt; i++) {
            parts[i].p = buf + n / (size_t)nt * (size_t)i;
            parts[i].n = n / (size_t)nt;
            pthread_create(&th[i], NULL, reader, &parts[i]);
        }
        for (int i = 0; i < nt; i++) {
            pthread_join(th[i], NULL);
            sink ^= parts[i].sum;
        }
        double gbs = (double)(n / (size_t)nt * (size_t)nt * 8) / (now() - t0) / 1e9;
        if (gbs > best)
            best = gbs;
    }
    printf("read_gb_s %.2f\n", best);
    free(buf);
    return sink == 42 ? 1 : 0;
}
