/* matvec_multi_avx2.c - the AVX2 matrix-vector kernels for several tokens
 * at once (a decode step of several sequences), bit-identical per token
 * to the single-token kernels of matvec_avx2.c.
 *
 * Each weight is looked up (HXQ) or widened (BF16, F16) once into a float
 * buffer of up to MULTI_COLS columns of two rows, which stays in L1; then
 * every token runs over the buffer with the single-token kernel's
 * arithmetic: per row four accumulators over blocks of 32 columns, blocks
 * of 8 into the first, avx2_hsum4, the scalar tail, and for HXQ the
 * sidecar correction afterwards. A row longer than the buffer is done in
 * chunks of MULTI_COLS (a multiple of 32) whose running sums are kept per
 * token, so the order of operations is exactly the single kernel's. The
 * two rows of a pass share each load of x. */
#include "matvec_avx2.h"

#define MULTI_COLS 2048      /* columns widened at a time, per row (8 KB) */
#define MULTI_TOKENS 16      /* tokens whose running sums are kept at once */

/* Columns [c0, c0 + cn) of row r as float into out (cn <= MULTI_COLS;
 * c0 a multiple of 32): the values the single-token kernel multiplies. */
typedef void (*widen_fn)(const void *w, int64_t cols, int64_t r, int64_t c0, int64_t cn,
                         float *out);

static void widen_hxq(const void *w, int64_t cols, int64_t r, int64_t c0, int64_t cn,
                      float *out)
{
    const hxq_qmatrix *m = w;
    const float *cb = m->codebook;
    const uint8_t *idx = m->indices + r * cols + c0;
    int64_t c = 0;
    for (; c + 32 <= cn; c += 32) {
        _mm_prefetch((const char *)(idx + c + 2 * AVX2_PREFETCH), _MM_HINT_T0);
        _mm256_store_ps(out + c, avx2_gather8(cb, idx + c));
        _mm256_store_ps(out + c + 8, avx2_gather8(cb, idx + c + 8));
        _mm256_store_ps(out + c + 16, avx2_gather8(cb, idx + c + 16));
        _mm256_store_ps(out + c + 24, avx2_gather8(cb, idx + c + 24));
    }
    for (; c + 8 <= cn; c += 8)
        _mm256_store_ps(out + c, avx2_gather8(cb, idx + c));
    for (; c < cn; c++)
        out[c] = cb[idx[c]];
}

#define WIDEN_HALF(name, load8, widen1)                                                    \
    static void name(const void *w, int64_t cols, int64_t r, int64_t c0, int64_t cn,       \
                     float *out)                                                           \
    {                                                                                      \
        const uint16_t *row = (const uint16_t *)w + r * cols + c0;                         \
        int64_t c = 0;                                                                     \
        for (; c + 8 <= cn; c += 8) {                                                      \
            _mm_prefetch((const char *)(row + c) + 2 * AVX2_PREFETCH, _MM_HINT_T0);        \
            _mm256_store_ps(out + c, load8(row + c));                                      \
        }                                                                                  \
        for (; c < cn; c++)                                                                \
            out[c] = widen1(row[c]);                                                       \
    }

WIDEN_HALF(widen_bf16, avx2_bf16x8, hxq_bf16_to_f32)
WIDEN_HALF(widen_f16, avx2_f16x8, hxq_f16_to_f32)

static void widen_f32(const void *w, int64_t cols, int64_t r, int64_t c0, int64_t cn,
                      float *out)
{
    memcpy(out, (const float *)w + r * cols + c0, (size_t)cn * sizeof(float));
}

/* One token's running sums of one row. */
typedef struct row_sums {
    __m256 a[4];
} row_sums;

/* The end of a row for one token: blocks of 8 columns from c into a0,
 * the reduction, the scalar tail. */
static inline float finish_row(const float *w, const float *xt, int64_t c, int64_t cn,
                               __m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    for (; c + 8 <= cn; c += 8)
        a0 = _mm256_fmadd_ps(_mm256_load_ps(w + c), _mm256_loadu_ps(xt + c), a0);
    float acc = avx2_hsum4(a0, a1, a2, a3);
    for (; c < cn; c++)
        acc += w[c] * xt[c];
    return acc;
}

/* Adds columns [0, cn) of the chunk of one buffered row w times xt into
 * the sums s; in the row's last chunk, finishes the sum into *yt. */
static void chunk_sums1(const float *w, const float *xt, int64_t cn, int last, row_sums *s,
                        float *yt)
{
    __m256 a0 = s->a[0], a1 = s->a[1], a2 = s->a[2], a3 = s->a[3];
    int64_t c = 0;
    for (; c + 32 <= cn; c += 32) {
        a0 = _mm256_fmadd_ps(_mm256_load_ps(w + c), _mm256_loadu_ps(xt + c), a0);
        a1 = _mm256_fmadd_ps(_mm256_load_ps(w + c + 8), _mm256_loadu_ps(xt + c + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_load_ps(w + c + 16), _mm256_loadu_ps(xt + c + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_load_ps(w + c + 24), _mm256_loadu_ps(xt + c + 24), a3);
    }
    if (last) {
        *yt = finish_row(w, xt, c, cn, a0, a1, a2, a3);
    } else {
        s->a[0] = a0, s->a[1] = a1, s->a[2] = a2, s->a[3] = a3;
    }
}

/* The same for two buffered rows (w and w + MULTI_COLS, sums s[0], s[1],
 * results yt[0], yt[1]): each load of x serves both. */
static void chunk_sums2(const float *w, const float *xt, int64_t cn, int last, row_sums *s,
                        float *yt)
{
    const float *v = w + MULTI_COLS;
    __m256 a0 = s[0].a[0], a1 = s[0].a[1], a2 = s[0].a[2], a3 = s[0].a[3];
    __m256 b0 = s[1].a[0], b1 = s[1].a[1], b2 = s[1].a[2], b3 = s[1].a[3];
    int64_t c = 0;
    for (; c + 32 <= cn; c += 32) {
        __m256 x0 = _mm256_loadu_ps(xt + c), x1 = _mm256_loadu_ps(xt + c + 8);
        __m256 x2 = _mm256_loadu_ps(xt + c + 16), x3 = _mm256_loadu_ps(xt + c + 24);
        /* keep each x in a register for both rows (gcc would load it twice) */
        __asm__("" : "+x"(x0), "+x"(x1), "+x"(x2), "+x"(x3));
        a0 = _mm256_fmadd_ps(_mm256_load_ps(w + c), x0, a0);
        b0 = _mm256_fmadd_ps(_mm256_load_ps(v + c), x0, b0);
        a1 = _mm256_fmadd_ps(_mm256_load_ps(w + c + 8), x1, a1);
        b1 = _mm256_fmadd_ps(_mm256_load_ps(v + c + 8), x1, b1);
        a2 = _mm256_fmadd_ps(_mm256_load_ps(w + c + 16), x2, a2);
        b2 = _mm256_fmadd_ps(_mm256_load_ps(v + c + 16), x2, b2);
        a3 = _mm256_fmadd_ps(_mm256_load_ps(w + c + 24), x3, a3);
        b3 = _mm256_fmadd_ps(_mm256_load_ps(v + c + 24), x3, b3);
    }
    if (last) {
        yt[0] = finish_row(w, xt, c, cn, a0, a1, a2, a3);
        yt[1] = finish_row(v, xt, c, cn, b0, b1, b2, b3);
    } else {
        s[0].a[0] = a0, s[0].a[1] = a1, s[0].a[2] = a2, s[0].a[3] = a3;
        s[1].a[0] = b0, s[1].a[1] = b1, s[1].a[2] = b2, s[1].a[3] = b3;
    }
}

/* The codebook (or widened) dot products of rows [r0, r1) for n tokens. */
static void multi_rows(widen_fn widen, const void *w, int64_t cols, const float *x,
                       int64_t ldx, float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    float wf[2 * MULTI_COLS] __attribute__((aligned(32)));
    row_sums st[MULTI_TOKENS][2];
    for (int64_t t0 = 0; t0 < n; t0 += MULTI_TOKENS) {
        int64_t nt = n - t0 < MULTI_TOKENS ? n - t0 : MULTI_TOKENS;
        for (int64_t r = r0; r < r1; r += 2) {
            int nr = r + 1 < r1 ? 2 : 1;
            for (int64_t t = 0; t < nt; t++)
                for (int i = 0; i < 2; i++)
                    for (int k = 0; k < 4; k++)
                        st[t][i].a[k] = _mm256_setzero_ps();
            /* cols == 0 still runs one (empty) last chunk: y = 0 */
            for (int64_t c0 = 0; c0 == 0 || c0 < cols; c0 += MULTI_COLS) {
                int64_t cn = cols - c0 < MULTI_COLS ? cols - c0 : MULTI_COLS;
                int last = c0 + cn == cols;
                for (int i = 0; i < nr; i++)
                    widen(w, cols, r + i, c0, cn, wf + i * MULTI_COLS);
                for (int64_t t = 0; t < nt; t++) {
                    const float *xt = x + (t0 + t) * ldx + c0;
                    float *yt = y + (t0 + t) * ldy + (r - r0);
                    if (nr == 2)
                        chunk_sums2(wf, xt, cn, last, st[t], yt);
                    else
                        chunk_sums1(wf, xt, cn, last, st[t], yt);
                }
            }
        }
    }
}

void codec_matvec_hxq_multi_avx2(const hxq_qmatrix *m, const float *x, int64_t ldx, float *y,
                                 int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    avx2_prefetch_start(m->indices + r0 * m->cols, (r1 - r0) * m->cols, AVX2_PREFETCH);
    multi_rows(widen_hxq, m, m->cols, x, ldx, y, ldy, n, r0, r1);
    for (int64_t t = 0; t < n; t++)
        codec_matvec_sidecar(m, x + t * ldx, y + t * ldy, r0, r1);
}

void codec_matvec_bf16_multi_avx2(const uint16_t *w, int64_t cols, const float *x,
                                  int64_t ldx, float *y, int64_t ldy, int64_t n, int64_t r0,
                                  int64_t r1)
{
    avx2_prefetch_start(w + r0 * cols, (r1 - r0) * cols * 2, AVX2_PREFETCH);
    multi_rows(widen_bf16, w, cols, x, ldx, y, ldy, n, r0, r1);
}

void codec_matvec_f16_multi_avx2(const uint16_t *w, int64_t cols, const float *x,
                                 int64_t ldx, float *y, int64_t ldy, int64_t n, int64_t r0,
                                 int64_t r1)
{
    avx2_prefetch_start(w + r0 * cols, (r1 - r0) * cols * 2, AVX2_PREFETCH);
    multi_rows(widen_f16, w, cols, x, ldx, y, ldy, n, r0, r1);
}

void codec_matvec_f32_multi_avx2(const float *w, int64_t cols, const float *x, int64_t ldx,
                                 float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    multi_rows(widen_f32, w, cols, x, ldx, y, ldy, n, r0, r1);
}
