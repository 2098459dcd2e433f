/* bench_codec.c - encode time of one 2048x1024 BF16 matrix with
 * heavy-tailed values (Student-t, 4 degrees of freedom, like an OLMoE
 * expert matrix), single thread, split into histogram / fit / sidecar /
 * assign, and the ratio to a memory-bound floor measured in the same run
 * (one pass reading the matrix and writing indices through a fixed LUT).
 * With --fixture, encodes every compressed module of a reference HXQ
 * folder from its dense source and reports time and SNR against the
 * reference's own tensors.
 * Usage: bench_codec [rows cols reps]
 *        bench_codec --fixture <dense dir> <reference hxq dir> */
#include "codec_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Thread CPU seconds: steadier than wall time on a shared machine. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(uint64_t *s)
{
    return sqrt(-2.0 * log(rng_unit(s))) * cos(6.283185307179586 * rng_unit(s));
}

/* Student-t with 4 degrees of freedom times 0.02. */
static uint16_t sample(uint64_t *s)
{
    double z = rng_normal(s), chi = 0.0;
    for (int i = 0; i < 4; i++) {
        double g = rng_normal(s);
        chi += g * g;
    }
    return hxq_f32_to_bf16((float)(0.02 * z / sqrt(chi / 4.0)));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fixture(const char *dense_dir, const char *helix_dir)
{
    hxq_ckpt *dense, *helix;
    hxq_qconfig q;
    hxq_error err;
    if (hxq_ckpt_open(dense_dir, &dense, &err) || hxq_ckpt_open(helix_dir, &helix, &err) ||
        hxq_qconfig_load(helix_dir, &q, &err)) {
        fprintf(stderr, "bench_codec: %s\n", err.msg);
        return 1;
    }
    int64_t n = q.n_modules, elems = 0;
    double *ours = calloc((size_t)n, sizeof(double)), *ref = calloc((size_t)n, sizeof(double));
    double *gain = calloc((size_t)n, sizeof(double));
    uint8_t lut[65536];
    for (int v = 0; v < 65536; v++)
        lut[v] = (uint8_t)(v >> 8);
    double t_enc = 0.0, t_floor = 0.0;
    for (int64_t i = 0; i < n; i++) {
        char name[512];
        snprintf(name, sizeof(name), "%s.weight", q.modules[i]);
        const hxq_tensor *w = hxq_ckpt_find(dense, name);
        hxq_module m;
        if (!w || w->dtype != HXQ_DT_BF16 || w->ndim != 2 ||
            hxq_module_load(helix, q.modules[i], q.packed12, &m, &err)) {
            fprintf(stderr, "bench_codec: %s: cannot load\n", name);
            return 1;
        }
        uint8_t *idx = malloc((size_t)w->nelem);
        const uint16_t *src = w->data;
        double t0 = cpu_now();
        for (int64_t p = 0; p < w->nelem; p++)
            idx[p] = lut[src[p]];
        double t1 = cpu_now();
        hxq_encoded e;
        if (!idx || hxq_codec_encode(name, w->data, w->dtype, w->shape[0], w->shape[1], NULL, &e,
                                     &err)) {
            fprintf(stderr, "bench_codec: %s\n", err.msg);
            return 1;
        }
        double t2 = cpu_now();
        hxq_matrix_stats rs;
        hxq_codec_stats(w->data, w->dtype, &m.m, &rs, NULL);
        t_floor += t1 - t0;
        t_enc += t2 - t1;
        elems += w->nelem;
        ours[i] = e.stats.snr_db;
        ref[i] = rs.snr_db;
        gain[i] = ours[i] - ref[i];
        hxq_encoded_free(&e);
        hxq_module_free(&m);
        free(idx);
    }
    qsort(ours, (size_t)n, sizeof(double), cmp_double);
    qsort(ref, (size_t)n, sizeof(double), cmp_double);
    qsort(gain, (size_t)n, sizeof(double), cmp_double);
    printf("fixture %s: %lld matrices, %lld elements\n", dense_dir, (long long)n,
           (long long)elems);
    printf("floor (LUT pass)      %8.3f ms\n", t_floor * 1e3);
    printf("encode, all matrices  %8.3f ms  %6.2fx floor  (%.3f ms per matrix)\n",
           t_enc * 1e3, t_enc / t_floor, t_enc * 1e3 / (double)n);
    printf("snr dB   ours      min %.2f  median %.2f  max %.2f\n", ours[0], ours[n / 2],
           ours[n - 1]);
    printf("snr dB   reference min %.2f  median %.2f  max %.2f\n", ref[0], ref[n / 2],
           ref[n - 1]);
    printf("gain dB  per matrix min %.2f  median %.2f  max %.2f\n", gain[0], gain[n / 2],
           gain[n - 1]);
    free(ours);
    free(ref);
    free(gain);
    hxq_qconfig_free(&q);
    hxq_ckpt_close(dense);
    hxq_ckpt_close(helix);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--fixture"))
        return fixture(argv[2], argv[3]);
    int64_t rows = argc > 2 ? atoll(argv[1]) : 2048, cols = argc > 2 ? atoll(argv[2]) : 1024;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    int64_t total = rows * cols;
    uint16_t *w = malloc((size_t)total * 2);
    uint8_t *idx = malloc((size_t)total);
    uint8_t lut[65536];
    if (!w || !idx)
        return 1;
    uint64_t seed = 42;
    for (int64_t i = 0; i < total; i++)
        w[i] = sample(&seed);
    for (int v = 0; v < 65536; v++)
        lut[v] = (uint8_t)(v >> 8);
    double t_floor = 1e30, t_hist = 1e30, t_fit = 1e30, t_side = 1e30, t_total = 1e30;
    hxq_error err;
    int64_t n_points = 0, n_side = 0;
    double snr = 0.0;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        for (int64_t i = 0; i < total; i++)
            idx[i] = lut[w[i]];
        double t1 = cpu_now();
        codec_points p;
        if (codec_points_build("bench", w, HXQ_DT_BF16, total, &p, &err))
            return 1;
        double t2 = cpu_now();
        float cb[HXQ_CODEBOOK_SIZE];
        if (codec_fit(&p, NULL, cb, &err))
            return 1;
        double t3 = cpu_now();
        double lo, hi;
        int64_t budget = codec_reference_band("bench", &p, &lo, &hi);
        int64_t *take = calloc((size_t)p.n, sizeof(int64_t));
        if (!take || codec_sidecar_plan(&p, budget, lo, hi, 8, 0, cb, take, &err))
            return 1;
        double t4 = cpu_now();
        free(take);
        n_points = p.n;
        codec_points_free(&p);
        hxq_encoded e;
        double t5 = cpu_now();
        if (hxq_codec_encode("bench", w, HXQ_DT_BF16, rows, cols, NULL, &e, &err))
            return 1;
        double t6 = cpu_now();
        n_side = e.n_sidecar;
        snr = e.stats.snr_db;
        hxq_encoded_free(&e);
        t_floor = fmin(t_floor, t1 - t0);
        t_hist = fmin(t_hist, t2 - t1);
        t_fit = fmin(t_fit, t3 - t2);
        t_side = fmin(t_side, t4 - t3);
        t_total = fmin(t_total, t6 - t5);
    }
    double t_assign = t_total - t_hist - t_side;
    printf("matrix %lldx%lld bf16, %lld distinct values, sidecar %lld, snr %.2f dB\n",
           (long long)rows, (long long)cols, (long long)n_points, (long long)n_side, snr);
    printf("floor (LUT pass)      %8.3f ms\n", t_floor * 1e3);
    printf("histogram             %8.3f ms  %6.2fx floor\n", t_hist * 1e3, t_hist / t_floor);
    printf("one fit (no sidecar)  %8.3f ms  %6.2fx floor\n", t_fit * 1e3, t_fit / t_floor);
    printf("sidecar plan (fits)   %8.3f ms  %6.2fx floor\n", t_side * 1e3, t_side / t_floor);
    printf("assign + stats (rest) %8.3f ms  %6.2fx floor\n", t_assign * 1e3,
           t_assign / t_floor);
    printf("encode total          %8.3f ms  %6.2fx floor\n", t_total * 1e3, t_total / t_floor);
    free(w);
    free(idx);
    return 0;
}
