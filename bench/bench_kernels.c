/* bench_kernels.c - forms of the AVX2 single-token matrix-vector kernels
 * measured against each other on real matrices, one thread: every
 * expert's gate_proj of one layer (64 matrices 1024 x 2048 for OLMoE
 * widths: 128 MB of HXQ indices or 256 MB of BF16, more than the caches,
 * as in a decode step), viewed in the mapped safetensors as the engine
 * does.
 *
 *   bench_kernels DIR [LAYER] [REPS] [forms|multi|gemm]
 *
 * forms (default): an HXQ folder measures forms of the HXQ kernel, a
 * dense one forms of the BF16 kernel. Every form keeps the library kernel's order of
 * operations (four accumulators over 32-column blocks, blocks of 8 into
 * the first, the same reduction, the scalar tail, then for HXQ the
 * sidecar), so each must give the library's result bit for bit; the
 * program checks that and prints, per form, G weights per CPU second of
 * the thread (median and best of REPS interleaved passes over all
 * matrices: on a shared machine the best is the least disturbed) and the
 * ratios to the library kernel in the same passes. The HXQ forms differ in
 * how the eight codebook values of eight indices are fetched and
 * assembled, the BF16 ones in how many rows are streamed at once; both in
 * the unrolling and the prefetch distance. Two HXQ forms change the
 * numerics and are checked within a bound instead (marked "approx"): a
 * 65536-entry table of F16 value pairs, one entry per two indices (the
 * issue's "16-bit table per 2 indices"), read by vpgatherdd or by scalar
 * loads.
 *
 * multi: the library's single-token kernel (n = 1) and multi-token kernel
 * at n = 2, 4, 8, in G weights x tokens per CPU second: the speed-up a
 * decode step of n sequences sees on these matrices.
 * gemm: the multi-token kernel against the prompt path's way (64-row
 * tiles decoded to float, then sgemm) at n = 1 .. 32 tokens: where
 * cpu_linear should switch between them (LINEAR_MATVEC_TOKENS). */
#include "infer_int.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>

/* The kernels (and the library's AVX2 helpers they use) are compiled for
 * AVX2; main is not, and checks the CPU first. */
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#include "matvec_avx2.h"

#define MAX_MATS 256
#define AVX2_INLINE __attribute__((always_inline)) static inline


/* ---- eight codebook values for eight indices ---------------------------- */

/* 64-bit word, each index by its own shift of the word. */
AVX2_INLINE __m256 g_w64(const float *cb, const uint8_t *idx)
{
    uint64_t v;
    memcpy(&v, idx, 8);
    __m128 lo = _mm_setr_ps(cb[v & 255], cb[(v >> 8) & 255], cb[(v >> 16) & 255],
                            cb[(v >> 24) & 255]);
    __m128 hi = _mm_setr_ps(cb[(v >> 32) & 255], cb[(v >> 40) & 255], cb[(v >> 48) & 255],
                            cb[v >> 56]);
    return _mm256_set_m128(hi, lo);
}

/* 64-bit word shifted by 16 after each byte pair (low and high byte
 * registers: 8 extracts + 3 shifts). */
AVX2_INLINE __m256 g_w16(const float *cb, const uint8_t *idx)
{
    uint64_t v;
    memcpy(&v, idx, 8);
    float f0 = cb[v & 255], f1 = cb[(v >> 8) & 255];
    v >>= 16;
    float f2 = cb[v & 255], f3 = cb[(v >> 8) & 255];
    v >>= 16;
    float f4 = cb[v & 255], f5 = cb[(v >> 8) & 255];
    v >>= 16;
    float f6 = cb[v & 255], f7 = cb[v >> 8];
    return _mm256_set_m128(_mm_setr_ps(f4, f5, f6, f7), _mm_setr_ps(f0, f1, f2, f3));
}

/* Two 32-bit loads of four indices each (no 64-bit split). */
AVX2_INLINE __m256 g_w32l(const float *cb, const uint8_t *idx)
{
    uint32_t a, b;
    memcpy(&a, idx, 4);
    memcpy(&b, idx + 4, 4);
    __m128 lo = _mm_setr_ps(cb[a & 255], cb[(a >> 8) & 255], cb[(a >> 16) & 255], cb[a >> 24]);
    __m128 hi = _mm_setr_ps(cb[b & 255], cb[(b >> 8) & 255], cb[(b >> 16) & 255], cb[b >> 24]);
    return _mm256_set_m128(hi, lo);
}

/* Four 16-bit loads of two indices each. */
AVX2_INLINE __m256 g_w16l(const float *cb, const uint8_t *idx)
{
    uint16_t p[4];
    memcpy(p, idx, 8);
    __m128 lo = _mm_setr_ps(cb[p[0] & 255], cb[p[0] >> 8], cb[p[1] & 255], cb[p[1] >> 8]);
    __m128 hi = _mm_setr_ps(cb[p[2] & 255], cb[p[2] >> 8], cb[p[3] & 255], cb[p[3] >> 8]);
    return _mm256_set_m128(hi, lo);
}

/* Each index loaded from memory (movzx). */
AVX2_INLINE __m256 g_mem(const float *cb, const uint8_t *i)
{
    __m128 lo = _mm_setr_ps(cb[i[0]], cb[i[1]], cb[i[2]], cb[i[3]]);
    __m128 hi = _mm_setr_ps(cb[i[4]], cb[i[5]], cb[i[6]], cb[i[7]]);
    return _mm256_set_m128(hi, lo);
}

/* vgatherdps of the eight zero-extended indices. */
AVX2_INLINE __m256 g_gather(const float *cb, const uint8_t *i)
{
    __m256i ix = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)i));
    return _mm256_i32gather_ps(cb, ix, 4);
}

/* Eight scalar loads, then unpcklps / movlhps / vinsertf128. */
AVX2_INLINE __m256 g_unpck(const float *cb, const uint8_t *idx)
{
    uint64_t v;
    memcpy(&v, idx, 8);
    uint32_t a = (uint32_t)v, b = (uint32_t)(v >> 32);
    __m128 l0 = _mm_unpacklo_ps(_mm_load_ss(cb + (a & 255)), _mm_load_ss(cb + ((a >> 8) & 255)));
    __m128 l1 = _mm_unpacklo_ps(_mm_load_ss(cb + ((a >> 16) & 255)), _mm_load_ss(cb + (a >> 24)));
    __m128 h0 = _mm_unpacklo_ps(_mm_load_ss(cb + (b & 255)), _mm_load_ss(cb + ((b >> 8) & 255)));
    __m128 h1 = _mm_unpacklo_ps(_mm_load_ss(cb + ((b >> 16) & 255)), _mm_load_ss(cb + (b >> 24)));
    return _mm256_set_m128(_mm_movelh_ps(h0, h1), _mm_movelh_ps(l0, l1));
}

/* Integer domain: vmovd + vpinsrd from memory. */
AVX2_INLINE __m256 g_pinsr(const float *cb, const uint8_t *idx)
{
    uint64_t v;
    memcpy(&v, idx, 8);
    uint32_t a = (uint32_t)v, b = (uint32_t)(v >> 32);
    const int32_t *t = (const int32_t *)cb;
    __m128i lo = _mm_cvtsi32_si128(t[a & 255]);
    lo = _mm_insert_epi32(lo, t[(a >> 8) & 255], 1);
    lo = _mm_insert_epi32(lo, t[(a >> 16) & 255], 2);
    lo = _mm_insert_epi32(lo, t[a >> 24], 3);
    __m128i hi = _mm_cvtsi32_si128(t[b & 255]);
    hi = _mm_insert_epi32(hi, t[(b >> 8) & 255], 1);
    hi = _mm_insert_epi32(hi, t[(b >> 16) & 255], 2);
    hi = _mm_insert_epi32(hi, t[b >> 24], 3);
    return _mm256_castsi256_ps(_mm256_set_m128i(hi, lo));
}

/* Broadcast each value, blend into place. */
AVX2_INLINE __m256 g_bcast(const float *cb, const uint8_t *idx)
{
    uint64_t v;
    memcpy(&v, idx, 8);
    uint32_t a = (uint32_t)v, b = (uint32_t)(v >> 32);
    __m256 t0 = _mm256_blend_ps(_mm256_broadcast_ss(cb + (a & 255)),
                                _mm256_broadcast_ss(cb + ((a >> 8) & 255)), 0x02);
    __m256 t1 = _mm256_blend_ps(_mm256_broadcast_ss(cb + ((a >> 16) & 255)),
                                _mm256_broadcast_ss(cb + (a >> 24)), 0x08);
    __m256 t2 = _mm256_blend_ps(_mm256_broadcast_ss(cb + (b & 255)),
                                _mm256_broadcast_ss(cb + ((b >> 8) & 255)), 0x20);
    __m256 t3 = _mm256_blend_ps(_mm256_broadcast_ss(cb + ((b >> 16) & 255)),
                                _mm256_broadcast_ss(cb + (b >> 24)), 0x80);
    return _mm256_blend_ps(_mm256_blend_ps(t0, t1, 0x0C), _mm256_blend_ps(t2, t3, 0xC0), 0xF0);
}

/* ---- kernels around a lookup ------------------------------------------- */

/* 32 columns from c into the four accumulators. */
#define BLOCK32(G, c)                                                                       \
    do {                                                                                    \
        a0 = _mm256_fmadd_ps(G(cb, idx + (c)), _mm256_loadu_ps(x + (c)), a0);               \
        a1 = _mm256_fmadd_ps(G(cb, idx + (c) + 8), _mm256_loadu_ps(x + (c) + 8), a1);       \
        a2 = _mm256_fmadd_ps(G(cb, idx + (c) + 16), _mm256_loadu_ps(x + (c) + 16), a2);     \
        a3 = _mm256_fmadd_ps(G(cb, idx + (c) + 24), _mm256_loadu_ps(x + (c) + 24), a3);     \
    } while (0)

/* One row at a time, 32 columns per iteration (64 with U == 2), prefetch
 * PF bytes ahead (0: none). */
#define ROW_KERNEL(name, G, PF, U)                                                          \
    static void name(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,           \
                     int64_t r1)                                                            \
    {                                                                                       \
        int64_t cols = m->cols;                                                             \
        const float *cb = m->codebook;                                                      \
        for (int64_t r = r0; r < r1; r++) {                                                 \
            const uint8_t *idx = m->indices + r * cols;                                     \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                     \
            int64_t c = 0;                                                                  \
            for (; U == 2 && c + 64 <= cols; c += 64) {                                     \
                if (PF)                                                                     \
                    _mm_prefetch((const char *)(idx + c + PF), _MM_HINT_T0);                \
                BLOCK32(G, c);                                                              \
                BLOCK32(G, c + 32);                                                         \
            }                                                                               \
            for (; c + 32 <= cols; c += 32) {                                               \
                if (PF)                                                                     \
                    _mm_prefetch((const char *)(idx + c + PF), _MM_HINT_T0);                \
                BLOCK32(G, c);                                                              \
            }                                                                               \
            for (; c + 8 <= cols; c += 8)                                                   \
                a0 = _mm256_fmadd_ps(G(cb, idx + c), _mm256_loadu_ps(x + c), a0);           \
            float acc = avx2_hsum4(a0, a1, a2, a3);                                         \
            for (; c < cols; c++)                                                           \
                acc += cb[idx[c]] * x[c];                                                   \
            y[r - r0] = acc;                                                                \
        }                                                                                   \
        codec_matvec_sidecar(m, x, y, r0, r1);                                              \
    }

ROW_KERNEL(k_w32, avx2_gather8, 2048, 1)
ROW_KERNEL(k_w64, g_w64, 2048, 1)
ROW_KERNEL(k_w32l, g_w32l, 2048, 1)
ROW_KERNEL(k_w16l, g_w16l, 2048, 1)
ROW_KERNEL(k_w16, g_w16, 2048, 1)
ROW_KERNEL(k_mem, g_mem, 2048, 1)
ROW_KERNEL(k_gather, g_gather, 2048, 1)
ROW_KERNEL(k_unpck, g_unpck, 2048, 1)
ROW_KERNEL(k_pinsr, g_pinsr, 2048, 1)
ROW_KERNEL(k_bcast, g_bcast, 2048, 1)
ROW_KERNEL(k_u64, avx2_gather8, 2048, 2)
ROW_KERNEL(k_pf0, avx2_gather8, 0, 1)
ROW_KERNEL(k_pf1k, avx2_gather8, 1024, 1)
ROW_KERNEL(k_pf4k, avx2_gather8, 4096, 1)
ROW_KERNEL(k_pf8k, avx2_gather8, 8192, 1)
ROW_KERNEL(k_w16u64, g_w16, 2048, 2)

/* Two rows per pass: each x vector loaded once for both (the rows keep
 * their own four accumulators, so each row's sum is unchanged). */
static void k_rows2(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,
                         int64_t r1)
{
    int64_t cols = m->cols;
    const float *cb = m->codebook;
    int64_t r = r0;
    for (; r + 2 <= r1; r += 2) {
        const uint8_t *i0 = m->indices + r * cols, *i1 = i0 + cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int64_t c = 0;
        for (; c + 32 <= cols; c += 32) {
            _mm_prefetch((const char *)(i0 + c + 4096), _MM_HINT_T0);
            __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8);
            a0 = _mm256_fmadd_ps(avx2_gather8(cb, i0 + c), x0, a0);
            b0 = _mm256_fmadd_ps(avx2_gather8(cb, i1 + c), x0, b0);
            a1 = _mm256_fmadd_ps(avx2_gather8(cb, i0 + c + 8), x1, a1);
            b1 = _mm256_fmadd_ps(avx2_gather8(cb, i1 + c + 8), x1, b1);
            __m256 x2 = _mm256_loadu_ps(x + c + 16), x3 = _mm256_loadu_ps(x + c + 24);
            a2 = _mm256_fmadd_ps(avx2_gather8(cb, i0 + c + 16), x2, a2);
            b2 = _mm256_fmadd_ps(avx2_gather8(cb, i1 + c + 16), x2, b2);
            a3 = _mm256_fmadd_ps(avx2_gather8(cb, i0 + c + 24), x3, a3);
            b3 = _mm256_fmadd_ps(avx2_gather8(cb, i1 + c + 24), x3, b3);
        }
        for (; c + 8 <= cols; c += 8) {
            __m256 xv = _mm256_loadu_ps(x + c);
            a0 = _mm256_fmadd_ps(avx2_gather8(cb, i0 + c), xv, a0);
            b0 = _mm256_fmadd_ps(avx2_gather8(cb, i1 + c), xv, b0);
        }
        float s0 = avx2_hsum4(a0, a1, a2, a3), s1 = avx2_hsum4(b0, b1, b2, b3);
        for (; c < cols; c++) {
            s0 += cb[i0[c]] * x[c];
            s1 += cb[i1[c]] * x[c];
        }
        y[r - r0] = s0;
        y[r + 1 - r0] = s1;
    }
    if (r < r1)
        codec_matvec_hxq_avx2(m, x, y + (r - r0), r, r1);   /* includes its sidecar */
    codec_matvec_sidecar(m, x, y, r0, r);
}

/* ---- F16 pair tables (approx: the codebook rounded to binary16) -------- */

/* Entry a | b << 8 holds the F16 values of codebook entries a (low half)
 * and b (high half), scaled by a power of two that puts the largest near
 * 2^15, so one 32-bit read gives the values of two consecutive indices:
 * the index pair read as a little-endian 16-bit word. 256 KB: it lives in
 * L2, not L1, which is what these forms measure. Built per matrix call
 * (the engine would have to keep one per thread and matrix, or 200 MB for
 * the 4-layer model's 784 matrices); here a call covers the whole matrix,
 * the build's most favourable case (1/8 of the index bytes). */
static uint32_t pair_tab[65536] __attribute__((aligned(64)));
static float pair_unscale;

static void pair_build(const float *cb)
{
    float mx = 0.0f;
    for (int k = 0; k < 256; k++)
        mx = fmaxf(mx, fabsf(cb[k]));
    int e = 0;
    frexpf(mx, &e);                           /* mx < 2^e */
    float up = ldexpf(1.0f, 15 - e);
    pair_unscale = ldexpf(1.0f, e - 15);
    uint32_t h[256] __attribute__((aligned(32)));
    for (int k = 0; k < 256; k++)
        h[k] = hxq_f32_to_f16(cb[k] * up);
    for (int b = 0; b < 256; b++) {
        __m256i hb = _mm256_set1_epi32((int)(h[b] << 16));
        for (int a = 0; a < 256; a += 8)
            _mm256_store_si256((__m256i *)(pair_tab + (b << 8) + a),
                               _mm256_or_si256(_mm256_load_si256((const __m256i *)(h + a)), hb));
    }
}

/* Sixteen F16 values of sixteen indices: one vpgatherdd of 8 pairs. */
AVX2_INLINE __m256i pair_gather16(const uint8_t *i)
{
    __m256i ix = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)i));
    return _mm256_i32gather_epi32((const int *)pair_tab, ix, 4);
}

/* Eight F16 values of eight indices: four scalar pair reads. */
AVX2_INLINE __m128i pair_load8(const uint8_t *idx)
{
    uint64_t v;
    memcpy(&v, idx, 8);
    __m128i r = _mm_cvtsi32_si128((int)pair_tab[v & 0xffff]);
    r = _mm_insert_epi32(r, (int)pair_tab[(v >> 16) & 0xffff], 1);
    r = _mm_insert_epi32(r, (int)pair_tab[(v >> 32) & 0xffff], 2);
    r = _mm_insert_epi32(r, (int)pair_tab[v >> 48], 3);
    return r;
}

#define PAIR_KERNEL(name, GATHER)                                                           \
    static void name(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,           \
                     int64_t r1)                                                            \
    {                                                                                       \
        int64_t cols = m->cols;                                                             \
        pair_build(m->codebook);                                                            \
        for (int64_t r = r0; r < r1; r++) {                                                 \
            const uint8_t *idx = m->indices + r * cols;                                     \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                     \
            int64_t c = 0;                                                                  \
            for (; c + 32 <= cols; c += 32) {                                               \
                _mm_prefetch((const char *)(idx + c + AVX2_PREFETCH), _MM_HINT_T0);         \
                __m128i h0, h1, h2, h3;                                                     \
                if (GATHER) {                                                               \
                    __m256i p0 = pair_gather16(idx + c), p1 = pair_gather16(idx + c + 16);  \
                    h0 = _mm256_castsi256_si128(p0);                                        \
                    h1 = _mm256_extracti128_si256(p0, 1);                                   \
                    h2 = _mm256_castsi256_si128(p1);                                        \
                    h3 = _mm256_extracti128_si256(p1, 1);                                   \
                } else {                                                                    \
                    h0 = pair_load8(idx + c);                                               \
                    h1 = pair_load8(idx + c + 8);                                           \
                    h2 = pair_load8(idx + c + 16);                                          \
                    h3 = pair_load8(idx + c + 24);                                          \
                }                                                                           \
                a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(h0), _mm256_loadu_ps(x + c), a0);      \
                a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(h1), _mm256_loadu_ps(x + c + 8), a1);  \
                a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(h2), _mm256_loadu_ps(x + c + 16), a2); \
                a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(h3), _mm256_loadu_ps(x + c + 24), a3); \
            }                                                                               \
            float acc = avx2_hsum4(a0, a1, a2, a3) * pair_unscale;                          \
            for (; c < cols; c++)                                                           \
                acc += m->codebook[idx[c]] * x[c];                                          \
            y[r - r0] = acc;                                                                \
        }                                                                                   \
        codec_matvec_sidecar(m, x, y, r0, r1);                                              \
    }

PAIR_KERNEL(k_pair_gather, 1)
PAIR_KERNEL(k_pair_load, 0)

/* ---- BF16 rows ---------------------------------------------------------- */

/* One row at a time, prefetch PF bytes ahead (0: none). */
#define BF16_KERNEL(name, PF)                                                               \
    static void name(const uint16_t *w, int64_t cols, const float *x, float *y, int64_t r0, \
                     int64_t r1)                                                            \
    {                                                                                       \
        for (int64_t r = r0; r < r1; r++) {                                                 \
            const uint16_t *row = w + r * cols;                                             \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                     \
            int64_t c = 0;                                                                  \
            for (; c + 32 <= cols; c += 32) {                                               \
                if (PF)                                                                     \
                    _mm_prefetch((const char *)(row + c) + PF, _MM_HINT_T0);                \
                a0 = _mm256_fmadd_ps(avx2_bf16x8(row + c), _mm256_loadu_ps(x + c), a0);     \
                a1 = _mm256_fmadd_ps(avx2_bf16x8(row + c + 8), _mm256_loadu_ps(x + c + 8), a1); \
                a2 = _mm256_fmadd_ps(avx2_bf16x8(row + c + 16), _mm256_loadu_ps(x + c + 16),  \
                                     a2);                                                   \
                a3 = _mm256_fmadd_ps(avx2_bf16x8(row + c + 24), _mm256_loadu_ps(x + c + 24),  \
                                     a3);                                                   \
            }                                                                               \
            for (; c + 8 <= cols; c += 8)                                                   \
                a0 = _mm256_fmadd_ps(avx2_bf16x8(row + c), _mm256_loadu_ps(x + c), a0);     \
            float acc = avx2_hsum4(a0, a1, a2, a3);                                         \
            for (; c < cols; c++)                                                           \
                acc += hxq_bf16_to_f32(row[c]) * x[c];                                      \
            y[r - r0] = acc;                                                                \
        }                                                                                   \
    }

BF16_KERNEL(b_pf0, 0)
BF16_KERNEL(b_pf1k, 1024)
BF16_KERNEL(b_pf4k, 4096)
BF16_KERNEL(b_pf8k, 8192)
BF16_KERNEL(b_pf16k, 16384)

/* Two rows streamed at once, each x vector loaded once for both,
 * prefetch PF bytes ahead in both rows. */
#define BF16_ROWS2(name, PF)                                                                \
    static void name(const uint16_t *w, int64_t cols, const float *x, float *y, int64_t r0, \
                     int64_t r1)                                                            \
    {                                                                                       \
        int64_t r = r0;                                                                     \
        for (; r + 2 <= r1; r += 2) {                                                       \
            const uint16_t *p = w + r * cols, *q = p + cols;                                \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                     \
            __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;                                      \
            int64_t c = 0;                                                                  \
            for (; c + 32 <= cols; c += 32) {                                               \
                _mm_prefetch((const char *)(p + c) + PF, _MM_HINT_T0);                      \
                _mm_prefetch((const char *)(q + c) + PF, _MM_HINT_T0);                      \
                __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8);        \
                a0 = _mm256_fmadd_ps(avx2_bf16x8(p + c), x0, a0);                           \
                b0 = _mm256_fmadd_ps(avx2_bf16x8(q + c), x0, b0);                           \
                a1 = _mm256_fmadd_ps(avx2_bf16x8(p + c + 8), x1, a1);                       \
                b1 = _mm256_fmadd_ps(avx2_bf16x8(q + c + 8), x1, b1);                       \
                __m256 x2 = _mm256_loadu_ps(x + c + 16), x3 = _mm256_loadu_ps(x + c + 24);  \
                a2 = _mm256_fmadd_ps(avx2_bf16x8(p + c + 16), x2, a2);                      \
                b2 = _mm256_fmadd_ps(avx2_bf16x8(q + c + 16), x2, b2);                      \
                a3 = _mm256_fmadd_ps(avx2_bf16x8(p + c + 24), x3, a3);                      \
                b3 = _mm256_fmadd_ps(avx2_bf16x8(q + c + 24), x3, b3);                      \
            }                                                                               \
            for (; c + 8 <= cols; c += 8) {                                                 \
                __m256 xv = _mm256_loadu_ps(x + c);                                         \
                a0 = _mm256_fmadd_ps(avx2_bf16x8(p + c), xv, a0);                           \
                b0 = _mm256_fmadd_ps(avx2_bf16x8(q + c), xv, b0);                           \
            }                                                                               \
            float s0 = avx2_hsum4(a0, a1, a2, a3), s1 = avx2_hsum4(b0, b1, b2, b3);         \
            for (; c < cols; c++) {                                                         \
                s0 += hxq_bf16_to_f32(p[c]) * x[c];                                         \
                s1 += hxq_bf16_to_f32(q[c]) * x[c];                                         \
            }                                                                               \
            y[r - r0] = s0;                                                                 \
            y[r + 1 - r0] = s1;                                                             \
        }                                                                                   \
        if (r < r1)                                                                         \
            codec_matvec_bf16_avx2(w, cols, x, y + (r - r0), r, r1);                        \
    }

BF16_ROWS2(b_rows2, 2048)
BF16_ROWS2(b_rows2pf4k, 4096)
BF16_ROWS2(b_rows2pf8k, 8192)

#pragma GCC pop_options

/* ---- the measurement --------------------------------------------------- */

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

typedef void (*hxq_kernel)(const hxq_qmatrix *, const float *, float *, int64_t, int64_t);
typedef void (*bf16_kernel)(const uint16_t *, int64_t, const float *, float *, int64_t,
                            int64_t);

typedef struct form {
    const char *name, *what;
    hxq_kernel hk;
    bf16_kernel bk;
    int approx;                    /* 1: other numerics, checked within a bound */
} form;

static const form hxq_forms[] = {
    {"lib", "the library kernel (w32 below)", codec_matvec_hxq_avx2, NULL, 0},
    {"w32", "64-bit word split in 32-bit halves, setr_ps (vinsertps)", k_w32, NULL, 0},
    {"w64", "64-bit word, a shift of the word per index", k_w64, NULL, 0},
    {"w32l", "two 32-bit loads of four indices", k_w32l, NULL, 0},
    {"w16l", "four 16-bit loads of two indices", k_w16l, NULL, 0},
    {"w16", "64-bit word shifted by 16 per byte pair", k_w16, NULL, 0},
    {"mem", "each index loaded from memory (movzx)", k_mem, NULL, 0},
    {"gather", "vgatherdps", k_gather, NULL, 0},
    {"unpck", "8 scalar loads + unpcklps / movlhps", k_unpck, NULL, 0},
    {"pinsr", "vmovd + vpinsrd from memory", k_pinsr, NULL, 0},
    {"bcast", "vbroadcastss + blends", k_bcast, NULL, 0},
    {"u64", "w32, 64 columns per iteration", k_u64, NULL, 0},
    {"w16u64", "w16, 64 columns per iteration", k_w16u64, NULL, 0},
    {"rows2", "w32, two rows per pass sharing x", k_rows2, NULL, 0},
    {"pf0", "w32, no prefetch", k_pf0, NULL, 0},
    {"pf1k", "w32, prefetch 1 KB ahead", k_pf1k, NULL, 0},
    {"pf4k", "w32, prefetch 4 KB ahead", k_pf4k, NULL, 0},
    {"pf8k", "w32, prefetch 8 KB ahead", k_pf8k, NULL, 0},
    {"pairg", "approx: F16 pair table (256 KB), vpgatherdd of 8 pairs", k_pair_gather, NULL, 1},
    {"pairl", "approx: F16 pair table (256 KB), 4 scalar pair loads per 8", k_pair_load, NULL, 1},
};

static const form bf16_forms[] = {
    {"lib", "the library kernel (prefetch 512 B ahead)", NULL, codec_matvec_bf16_avx2, 0},
    {"pf0", "no prefetch", NULL, b_pf0, 0},
    {"pf1k", "prefetch 1 KB ahead", NULL, b_pf1k, 0},
    {"pf4k", "prefetch 4 KB ahead", NULL, b_pf4k, 0},
    {"pf8k", "prefetch 8 KB ahead", NULL, b_pf8k, 0},
    {"pf16k", "prefetch 16 KB ahead", NULL, b_pf16k, 0},
    {"rows2", "two rows at once sharing x, prefetch 2 KB ahead in each", NULL, b_rows2, 0},
    {"rows2pf4k", "two rows, prefetch 4 KB ahead", NULL, b_rows2pf4k, 0},
    {"rows2pf8k", "two rows, prefetch 8 KB ahead", NULL, b_rows2pf8k, 0},
};

#define NF(a) (sizeof(a) / sizeof(a[0]))

/* ---- the matrices ------------------------------------------------------ */

typedef struct mats {
    int n;
    int hxq;                       /* 1: q[], 0: BF16 views w[] */
    hxq_module q[MAX_MATS];
    const uint16_t *w[MAX_MATS];
    int64_t rows, cols;
} mats;

/* Every expert's gate_proj of the layer, HXQ modules or BF16 views. */
static int load(const char *dir, int layer, hxq_ckpt **ck, mats *ms, hxq_error *err)
{
    HXQ_TRY(hxq_ckpt_open(dir, ck, err));
    for (int e = 0; e < MAX_MATS; e++) {
        char name[128], wname[160];
        snprintf(name, sizeof name, "model.layers.%d.mlp.experts.%d.gate_proj", layer, e);
        snprintf(wname, sizeof wname, "%s.weight", name);
        const hxq_tensor *t = hxq_ckpt_find(*ck, wname);
        if (t && t->dtype == HXQ_DT_BF16 && t->ndim == 2 && !ms->hxq) {
            ms->w[ms->n] = t->data;
            ms->rows = t->shape[0];
            ms->cols = t->shape[1];
        } else if (!t && (ms->hxq || ms->n == 0) &&
                   hxq_module_load(*ck, name, 0, &ms->q[ms->n], err) == HXQ_OK) {
            ms->hxq = 1;
            ms->rows = ms->q[ms->n].m.rows;
            ms->cols = ms->q[ms->n].m.cols;
        } else {
            break;
        }
        ms->n++;
    }
    if (ms->n == 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: no HXQ or BF16 gate_proj in layer %d", dir,
                       layer);
    return HXQ_OK;
}

/* ---- forms: the single-token kernels against each other ---------------- */

/* The approximate forms' bound: each product's codebook value is off by
 * at most 2^-11 of itself (binary16 rounding), so a sum is off by far less
 * than 2^-11 of the largest output; 1e-3 of it leaves room for float
 * reassociation and still catches a wrong table or index. */
static int within(const float *got, const float *want, int64_t n)
{
    float mx = 0.0f, diff = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        mx = fmaxf(mx, fabsf(want[i]));
        diff = fmaxf(diff, fabsf(got[i] - want[i]));
    }
    return diff <= 1e-3f * mx;
}

static int run_forms(const mats *ms, const char *dir, int layer, int reps)
{
    const form *forms = ms->hxq ? hxq_forms : bf16_forms;
    size_t nforms = ms->hxq ? NF(hxq_forms) : NF(bf16_forms);
    int64_t rows = ms->rows, cols = ms->cols, n = ms->n;
    float *x = malloc((size_t)cols * sizeof(float));
    float *want = malloc((size_t)(n * rows) * sizeof(float));
    float *got = malloc((size_t)(n * rows) * sizeof(float));
    if (!x || !want || !got)
        return 3;
    for (int64_t c = 0; c < cols; c++)
        x[c] = (float)((c * 7919) % 1000) * 1e-3f - 0.5f;
    for (int i = 0; i < n; i++)
        if (ms->hxq)
            codec_matvec_hxq_avx2(&ms->q[i].m, x, want + i * rows, 0, rows);
        else
            codec_matvec_bf16_avx2(ms->w[i], cols, x, want + i * rows, 0, rows);
    printf("%s layer %d: %lld %s matrices %lldx%lld, %d interleaved passes\n", dir, layer,
           (long long)n, ms->hxq ? "HXQ" : "BF16", (long long)rows, (long long)cols, reps);
    static double t[32][99];
    for (int r = 0; r < reps; r++)
        for (size_t f = 0; f < nforms; f++) {
            double t0 = cpu_now();
            for (int i = 0; i < n; i++)
                if (ms->hxq)
                    forms[f].hk(&ms->q[i].m, x, got + i * rows, 0, rows);
                else
                    forms[f].bk(ms->w[i], cols, x, got + i * rows, 0, rows);
            t[f][r] = cpu_now() - t0;
            if (forms[f].approx ? !within(got, want, n * rows)
                                : memcmp(got, want, (size_t)(n * rows) * sizeof(float)) != 0) {
                fprintf(stderr, "bench_kernels: %s differs from the library kernel\n",
                        forms[f].name);
                return 1;
            }
        }
    double weights = (double)n * (double)(rows * cols), lib = 0, lib_best = 0;
    printf("form    G weights / CPU s: median (ratio to lib), best (ratio)\n");
    for (size_t f = 0; f < nforms; f++) {
        qsort(t[f], (size_t)reps, sizeof(double), cmp_double);
        double med = t[f][reps / 2], best = t[f][0];
        if (f == 0) {
            lib = med;
            lib_best = best;
        }
        printf("%-10s %5.2f (%4.2fx)  %5.2f (%4.2fx)  %s\n", forms[f].name, weights / med / 1e9,
               lib / med, weights / best / 1e9, lib_best / best, forms[f].what);
    }
    free(x);
    free(want);
    free(got);
    return 0;
}

/* ---- multi, gemm: several tokens ---------------------------------------- */

#define MAX_TOKENS 32
#define TILE_ROWS 64   /* the engine's INFER_TILE_ROWS */

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
 * the matrix-vector kernels (single-token for n = 1, else multi-token),
 * else the sgemm path's buffer. */
static double pass(const mats *ms, int n, const float *x, float *y, float *tile)
{
    double t0 = cpu_now();
    for (int i = 0; i < ms->n; i++) {
        if (tile)
            tiles_sgemm(ms, i, n, x, y, tile);
        else if (ms->hxq && n == 1)
            hxq_matvec_hxq(&ms->q[i].m, x, y, 0, ms->rows);
        else if (ms->hxq)
            hxq_matvec_hxq_multi(&ms->q[i].m, x, ms->cols, y, ms->rows, n, 0, ms->rows);
        else if (n == 1)
            hxq_matvec_bf16(ms->w[i], ms->cols, x, y, 0, ms->rows);
        else
            hxq_matvec_bf16_multi(ms->w[i], ms->cols, x, ms->cols, y, ms->rows, n, 0,
                                  ms->rows);
    }
    return cpu_now() - t0;
}

static int run_tokens(const mats *ms, const char *dir, int layer, int reps, int gemm)
{
    float *x = malloc((size_t)(MAX_TOKENS * ms->cols) * sizeof(float));
    float *y = malloc((size_t)(MAX_TOKENS * ms->rows) * sizeof(float));
    float *tile = malloc((size_t)(TILE_ROWS * ms->cols) * sizeof(float));
    if (!x || !y || !tile)
        return 3;
    openblas_set_num_threads(1);
    for (int64_t i = 0; i < MAX_TOKENS * ms->cols; i++)
        x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    printf("%s layer %d: %d %s matrices %lldx%lld, %d interleaved passes\n", dir, layer, ms->n,
           ms->hxq ? "HXQ" : "BF16", (long long)ms->rows, (long long)ms->cols, reps);
    static const int decode_ns[] = {1, 2, 4, 8}, gemm_ns[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32};
    const int *ns = gemm ? gemm_ns : decode_ns;
    int nn = gemm ? 10 : 4;
    static double per[2][10][99];
    pass(ms, 1, x, y, NULL);   /* page in */
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < nn; k++)
            for (int g = 0; g <= gemm; g++)
                per[g][k][r] = pass(ms, ns[k], x, y, g ? tile : NULL);
    double weights = (double)ms->n * (double)(ms->rows * ms->cols);
    for (int k = 0; k < nn; k++) {
        qsort(per[0][k], (size_t)reps, sizeof(double), cmp_double);
        printf("n %2d: G weights x tokens / CPU s (median): matrix-vector %.2f", ns[k],
               weights * ns[k] / per[0][k][reps / 2] / 1e9);
        if (gemm) {
            qsort(per[1][k], (size_t)reps, sizeof(double), cmp_double);
            printf(", tiles + sgemm %.2f", weights * ns[k] / per[1][k][reps / 2] / 1e9);
        }
        printf("\n");
    }
    free(x);
    free(y);
    free(tile);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 4 ? argv[4] : "forms";
    int gemm = strcmp(mode, "gemm") == 0;
    if (argc < 2 || argc > 5 || (!gemm && strcmp(mode, "forms") && strcmp(mode, "multi"))) {
        fprintf(stderr, "usage: bench_kernels DIR [LAYER] [REPS] [forms|multi|gemm]\n");
        return 2;
    }
    if (!hxq_cpu_has_avx2()) {
        fprintf(stderr, "bench_kernels: needs AVX2\n");
        return 2;
    }
    int layer = argc > 2 ? atoi(argv[2]) : 0, reps = argc > 3 ? atoi(argv[3]) : 7;
    if (reps < 1 || reps > 99)
        reps = 7;
    static mats ms;
    hxq_ckpt *ck = NULL;
    hxq_error err = {0};
    if (load(argv[1], layer, &ck, &ms, &err) < 0) {
        fprintf(stderr, "bench_kernels: %s\n", err.msg);
        hxq_ckpt_close(ck);
        return 3;
    }
    int rc = strcmp(mode, "forms") == 0 ? run_forms(&ms, argv[1], layer, reps)
                                        : run_tokens(&ms, argv[1], layer, reps, gemm);
    for (int i = 0; ms.hxq && i < ms.n; i++)
        hxq_module_free(&ms.q[i]);
    hxq_ckpt_close(ck);
    return rc;
}
