/* matvec_avx512.c - HXQ matrix-vector product with AVX-512 VBMI byte
 * permutes, chosen at run time when the CPU has them (AMD Zen 4, Intel Ice
 * Lake and later) and the width is a multiple of 64.
 *
 * The float codebook is split into four byte planes of 256 entries, each
 * held in four zmm registers. For 64 indices, two vpermt2b per plane look
 * up the 128-entry halves and the index's top bit picks between them; two
 * rounds of byte/word unpacks reassemble 64 floats as four vectors whose
 * element order is fixed, so x is permuted once per call into that order
 * and the products need no further shuffles. About 25 instructions per 64
 * weights instead of one lookup per weight: measured 1.3-1.4x the AVX2
 * kernel on the project machine. Compiled with function target
 * attributes, so the Makefile needs no flags for it. */
#include "matvec_int.h"

#include <immintrin.h>
#include <string.h>

#define XBLOCK 1024   /* columns of x permuted at a time (on the stack) */

#define VBMI_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi")))

int codec_cpu_has_vbmi(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi");
#else
    return 0;
#endif
}

/* xp in the order the unpacks produce: vector k of a 64-block holds, in
 * 128-bit lane L, elements 16 L + 4 k + (0..3). */
static void permute_x(const float *x, int64_t n, float *xp)
{
    for (int64_t c0 = 0; c0 < n; c0 += 64)
        for (int k = 0; k < 4; k++)
            for (int lane = 0; lane < 4; lane++)
                memcpy(xp + c0 + k * 16 + lane * 4, x + c0 + lane * 16 + k * 4,
                       4 * sizeof(float));
}

VBMI_TARGET void codec_matvec_hxq_vbmi(const hxq_qmatrix *m, const float *x, float *y,
                                       int64_t r0, int64_t r1)
{
    int64_t cols = m->cols;
    uint8_t planes[4][256] __attribute__((aligned(64)));
    for (int i = 0; i < 256; i++) {
        uint32_t u;
        memcpy(&u, &m->codebook[i], 4);
        for (int p = 0; p < 4; p++)
            planes[p][i] = (uint8_t)(u >> (8 * p));
    }
    __m512i t[4][4];
    for (int p = 0; p < 4; p++)
        for (int q = 0; q < 4; q++)
            t[p][q] = _mm512_load_si512((const void *)(planes[p] + 64 * q));
    float xp[XBLOCK] __attribute__((aligned(64)));
    for (int64_t c0 = 0; c0 < cols; c0 += XBLOCK) {
        int64_t cn = cols - c0 < XBLOCK ? cols - c0 : XBLOCK;
        permute_x(x + c0, cn, xp);
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *idx = m->indices + r * cols + c0;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t c = 0; c < cn; c += 64) {
                __m512i ix = _mm512_loadu_si512((const void *)(idx + c));
                __mmask64 hi = _mm512_movepi8_mask(ix);
                __m512i b[4];
                for (int p = 0; p < 4; p++)
                    b[p] = _mm512_mask_blend_epi8(hi, _mm512_permutex2var_epi8(t[p][0], ix, t[p][1]),
                                                  _mm512_permutex2var_epi8(t[p][2], ix, t[p][3]));
                __m512i l01 = _mm512_unpacklo_epi8(b[0], b[1]), h01 = _mm512_unpackhi_epi8(b[0], b[1]);
                __m512i l23 = _mm512_unpacklo_epi8(b[2], b[3]), h23 = _mm512_unpackhi_epi8(b[2], b[3]);
                const float *xc = xp + c;
                a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(l01, l23)),
                                     _mm512_load_ps(xc), a0);
                a1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(l01, l23)),
                                     _mm512_load_ps(xc + 16), a1);
                a2 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(h01, h23)),
                                     _mm512_load_ps(xc + 32), a2);
                a3 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(h01, h23)),
                                     _mm512_load_ps(xc + 48), a3);
            }
            float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
                                                         _mm512_add_ps(a2, a3)));
            y[r - r0] = c0 == 0 ? s : y[r - r0] + s;
        }
    }
    codec_matvec_sidecar(m, x, y, r0, r1);
}
