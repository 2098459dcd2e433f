/* bench_matvec.c - the matrix-vector kernels on real weights, one thread:
 * every expert's gate_proj of one layer of an HXQ folder (64 x 2 MB of
 * indices for OLMoE widths: more than the caches, as in a decode step),
 * or, with a dense folder, the same matrices in BF16.
 *
 *   bench_matvec DIR [LAYER] [REPS] [gemm]
 *
 * Prints, per kernel, G weights per CPU second of the thread (median of
 * REPS passes over all matrices): the single-token kernel, and the
 * multi-token kernel at n = 2, 4, 8 counted per token (weights x n), so
 * the figure is directly the speed-up a decode step of n sequences sees
 * on these matrices. With "gemm", instead the multi-token kernel against
 * the prompt path's way (64-row tiles decoded to float, then sgemm) at n =
 * 1 .. 32 tokens: where the prompt path should switch between them. */
#include "infer_int.h"
#include "matvec_int.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_MATS 256
#define MAX_TOKENS 32
#define TILE_ROWS 64

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct mats {
    int n;
    int hxq;                       /* 1: q[], 0: bf16 views     */
    hxq_module q[MAX_MATS];
    const uint16_t *w[MAX_MATS];
    int64_t rows, cols;
} mats;

static int load(const char *dir, int layer, hxq_ckpt **ck, mats *ms, hxq_error *err)
{
    HXQ_TRY(hxq_ckpt_open(dir, ck, err));
    for (int e = 0; e < MAX_MATS; e++) {
        char name[128];
        snprintf(name, sizeof name, "model.layers.%d.mlp.experts.%d.gate_proj", layer, e);
        char wname[160];
        snprintf(wname, sizeof wname, "%s.weight", name);
        const hxq_tensor *t = hxq_ckpt_find(*ck, wname);
        if (t && t->dtype == HXQ_DT_BF16) {
            ms->w[ms->n] = t->data;
            ms->rows = t->shape[0];
            ms->cols = t->shape[1];
            ms->n++;
            continue;
        }
        if (!t && hxq_module_load(*ck, name, 0, &ms->q[ms->n], err) == HXQ_OK) {
            ms->hxq = 1;
            ms->rows = ms->q[ms->n].m.rows;
            ms->cols = ms->q[ms->n].m.cols;
            ms->n++;
            continue;
        }
        break;
    }
    if (ms->n == 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: no gate_proj of layer %d", dir, layer);
    return HXQ_OK;
}

/* The prompt path's Linear: tiles of TILE_ROWS rows decoded, then sgemm. */
static void tiles_sgemm(const mats *ms, int i, int n, const float *x, float *y, float *tile)
{
    int64_t cols = ms->cols;
    for (int64_t r0 = 0; r0 < ms->rows; r0 += TILE_ROWS) {
        int64_t r1 = r0 + TILE_ROWS < ms->rows ? r0 + TILE_ROWS : ms->rows;
        if (ms->hxq)
            hxq_codec_decode_f32(&ms->q[i].m, r0, r1, tile);
        else
            infer_widen_bf16_avx2(ms->w[i] + r0 * cols, (r1 - r0) * cols, tile);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)(r1 - r0), (int)cols,
                    1.0f, x, (int)cols, tile, (int)cols, 0.0f, y + r0, (int)ms->rows);
    }
}

/* One pass over all matrices with n tokens; CPU seconds. tile: NULL for
 * the matrix-vector kernels, else the sgemm path's buffer. */
static double pass(const mats *ms, int n, const float *x, float *y, float *tile)
{
    double t0 = cpu_now();
    for (int i = 0; tile && i < ms->n; i++)
        tiles_sgemm(ms, i, n, x, y, tile);
    if (tile)
        return cpu_now() - t0;
    for (int i = 0; i < ms->n; i++) {
        if (ms->hxq && n == 1)
            hxq_matvec_hxq(&ms->q[i].m, x, y, 0, ms->rows);
        else if (ms->hxq)
            hxq_matvec_hxq_multi(&ms->q[i].m, x, ms->cols, y, ms->rows, n, 0,
                                 ms->rows);
        else if (n == 1)
            hxq_matvec_bf16(ms->w[i], ms->cols, x, y, 0, ms->rows);
        else
            hxq_matvec_bf16_multi(ms->w[i], ms->cols, x, ms->cols, y, ms->rows, n, 0,
                                  ms->rows);
    }
    return cpu_now() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: bench_matvec DIR [LAYER] [REPS] [gemm]\n");
        return 2;
    }
    int layer = argc > 2 ? atoi(argv[2]) : 0, reps = argc > 3 ? atoi(argv[3]) : 5;
    if (reps < 1 || reps > 99)
        reps = 5;
    static mats ms;
    hxq_ckpt *ck = NULL;
    hxq_error err = {0};
    if (!hxq_cpu_has_avx2()) {
        fprintf(stderr, "bench_matvec: needs AVX2\n");
        return 2;
    }
    if (load(argv[1], layer, &ck, &ms, &err) < 0) {
        fprintf(stderr, "bench_matvec: %s\n", err.msg);
        return 3;
    }
    float *x = malloc((size_t)(MAX_TOKENS * ms.cols) * sizeof(float));
    float *y = malloc((size_t)(MAX_TOKENS * ms.rows) * sizeof(float));
    float *tile = malloc((size_t)(TILE_ROWS * ms.cols) * sizeof(float));
    if (!x || !y || !tile)
        return 3;
    openblas_set_num_threads(1);
    for (int64_t i = 0; i < MAX_TOKENS * ms.cols; i++)
        x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    pass(&ms, 1, x, y, NULL);   /* page in */
    printf("%s: %d matrices %lldx%lld, %s\n", argv[1], ms.n, (long long)ms.rows,
           (long long)ms.cols, ms.hxq ? "hxq" : "bf16");
    int gemm = argc > 4 && strcmp(argv[4], "gemm") == 0;
    static const int decode_ns[] = {1, 2, 4, 8}, gemm_ns[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32};
    const int *ns = gemm ? gemm_ns : decode_ns;
    int nn = gemm ? 10 : 4;
    static double per[2][10][99];
    for (int r = 0; r < reps; r++)   /* interleaved: each rep runs every case */
        for (int k = 0; k < nn; k++)
            for (int g = 0; g <= gemm; g++)
                per[g][k][r] = pass(&ms, ns[k], x, y, g ? tile : NULL);
    double weights = (double)ms.n * (double)(ms.rows * ms.cols);
    for (int k = 0; k < nn; k++) {
        printf("n %2d: G weights x tokens / CPU s (median of %d): matvec %.2f", ns[k], reps,
               (qsort(per[0][k], (size_t)reps, sizeof(double), cmp_double),
                weights * ns[k] / per[0][k][reps / 2] / 1e9));
        if (gemm) {
            qsort(per[1][k], (size_t)reps, sizeof(double), cmp_double);
            printf(", tiles + sgemm %.2f", weights * ns[k] / per[1][k][reps / 2] / 1e9);
        }
        printf("\n");
    }
    for (int i = 0; ms.hxq && i < ms.n; i++)
        hxq_module_free(&ms.q[i]);
    hxq_ckpt_close(ck);
    free(x);
    free(y);
    free(tile);
    return 0;
}
