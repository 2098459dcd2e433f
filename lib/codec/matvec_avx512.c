/* matvec_avx512.c - HXQ matrix-vector product and row decode with
 * AVX-512 VBMI byte permutes, chosen at run time when the CPU has them
 * (AMD Zen 4, Intel Ice Lake and later) and the width is a multiple of 64.
 *
 * The float codebook is split into four byte planes of 256 entries, each
 * held in four zmm registers. For 64 indices, two vpermt2b per plane look
 * up the 128-entry halves and the index's top bit picks between them; two
 * rounds of byte/word unpacks reassemble 64 floats as four vectors whose
 * element order is fixed (vector k, 128-bit lane L: elements 16 L + 4 k +
 * 0..3). The product permutes x once per call into that order, so it needs
 * no further shuffles; the decode restores the natural order with a 4x4
 * transpose of 128-bit lanes. About 25 instructions per 64 weights instead
 * of one lookup per weight. Compiled with function target attributes, so
 * the Makefile needs no flags for it. */
#include "matvec_int.h"

#include <immintrin.h>
#include <string.h>

#define XBLOCK 1024   /* columns of x permuted at a time (on the stack) */

#define VBMI_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi")))
#define VBMI_INLINE VBMI_TARGET __attribute__((always_inline)) static inline

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

/* The codebook as byte planes: t[4 p + q] holds bytes p of entries
 * 64 q .. 64 q + 63. Only constant indices are used, so the compiler keeps
 * all sixteen in registers. */
typedef struct vbmi_cb {
    __m512i t[16];
} vbmi_cb;

VBMI_INLINE vbmi_cb vbmi_tables(const float *codebook)
{
    uint8_t planes[4][256] __attribute__((aligned(64)));
    for (int i = 0; i < 256; i++) {
        uint32_t u;
        memcpy(&u, &codebook[i], 4);
        for (int p = 0; p < 4; p++)
            planes[p][i] = (uint8_t)(u >> (8 * p));
    }
    vbmi_cb cb;
    for (int i = 0; i < 16; i++)
        cb.t[i] = _mm512_load_si512((const void *)(planes[i / 4] + 64 * (i % 4)));
    return cb;
}

/* 64 codebook values for 64 indices, as four vectors in unpack order. */
VBMI_INLINE void vbmi_lookup64(const vbmi_cb *cb, const uint8_t *idx, __m512 f[4])
{
    __m512i ix = _mm512_loadu_si512((const void *)idx);
    __mmask64 hi = _mm512_movepi8_mask(ix);
#define PLANE(p)                                                                       \
    _mm512_mask_blend_epi8(hi, _mm512_permutex2var_epi8(cb->t[4 * p], ix, cb->t[4 * p + 1]), \
                           _mm512_permutex2var_epi8(cb->t[4 * p + 2], ix, cb->t[4 * p + 3]))
    __m512i b0 = PLANE(0), b1 = PLANE(1), b2 = PLANE(2), b3 = PLANE(3);
#undef PLANE
    __m512i l01 = _mm512_unpacklo_epi8(b0, b1), h01 = _mm512_unpackhi_epi8(b0, b1);
    __m512i l23 = _mm512_unpacklo_epi8(b2, b3), h23 = _mm512_unpackhi_epi8(b2, b3);
    f[0] = _mm512_castsi512_ps(_mm512_unpacklo_epi16(l01, l23));
    f[1] = _mm512_castsi512_ps(_mm512_unpackhi_epi16(l01, l23));
    f[2] = _mm512_castsi512_ps(_mm512_unpacklo_epi16(h01, h23));
    f[3] = _mm512_castsi512_ps(_mm512_unpackhi_epi16(h01, h23));
}

/* xp in the unpack order (see the top of the file). */
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
    const vbmi_cb cb = vbmi_tables(m->codebook);
    float xp[XBLOCK] __attribute__((aligned(64)));
    for (int64_t c0 = 0; c0 < cols; c0 += XBLOCK) {
        int64_t cn = cols - c0 < XBLOCK ? cols - c0 : XBLOCK;
        permute_x(x + c0, cn, xp);
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *idx = m->indices + r * cols + c0;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, f[4];
            for (int64_t c = 0; c < cn; c += 64) {
                _mm_prefetch((const char *)(idx + c + 2048), _MM_HINT_T0);
                vbmi_lookup64(&cb, idx + c, f);
                a0 = _mm512_fmadd_ps(f[0], _mm512_load_ps(xp + c), a0);
                a1 = _mm512_fmadd_ps(f[1], _mm512_load_ps(xp + c + 16), a1);
                a2 = _mm512_fmadd_ps(f[2], _mm512_load_ps(xp + c + 32), a2);
                a3 = _mm512_fmadd_ps(f[3], _mm512_load_ps(xp + c + 48), a3);
            }
            float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
                                                         _mm512_add_ps(a2, a3)));
            y[r - r0] = c0 == 0 ? s : y[r - r0] + s;
        }
    }
    codec_matvec_sidecar(m, x, y, r0, r1);
}

VBMI_TARGET void codec_decode_hxq_vbmi(const hxq_qmatrix *m, int64_t r0, int64_t r1,
                                       float *out)
{
    const vbmi_cb cb = vbmi_tables(m->codebook);
    int64_t b = r0 * m->cols, e = r1 * m->cols;
    __m512 f[4];
    for (int64_t p = b; p < e; p += 64) {
        vbmi_lookup64(&cb, m->indices + p, f);
        /* 4x4 transpose of 128-bit lanes back to elements 0..63 */
        __m512 t0 = _mm512_shuffle_f32x4(f[0], f[1], 0x44), t1 = _mm512_shuffle_f32x4(f[0], f[1], 0xEE);
        __m512 t2 = _mm512_shuffle_f32x4(f[2], f[3], 0x44), t3 = _mm512_shuffle_f32x4(f[2], f[3], 0xEE);
        float *o = out + (p - b);
        _mm512_storeu_ps(o, _mm512_shuffle_f32x4(t0, t2, 0x88));
        _mm512_storeu_ps(o + 16, _mm512_shuffle_f32x4(t0, t2, 0xDD));
        _mm512_storeu_ps(o + 32, _mm512_shuffle_f32x4(t1, t3, 0x88));
        _mm512_storeu_ps(o + 48, _mm512_shuffle_f32x4(t1, t3, 0xDD));
    }
    for (int64_t s = codec_sidecar_lower_bound(m, b); s < m->n_sidecar && m->sidecar_pos[s] < e;
         s++)
        out[m->sidecar_pos[s] - b] = m->sidecar_val[s];
}
