/* matvec_ref.c - scalar matrix-vector products straight from the stored
 * form (the specification the SIMD kernels are tested against), and the
 * run-time dispatch of the plain hxq_matvec_* names. */
#include "matvec_int.h"

int64_t codec_sidecar_lower_bound(const hxq_qmatrix *m, int64_t p)
{
    int64_t lo = 0, hi = m->n_sidecar;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (m->sidecar_pos[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void codec_matvec_sidecar(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,
                          int64_t r1)
{
    if (m->n_sidecar == 0)
        return;
    int64_t end = r1 * m->cols;
    for (int64_t s = codec_sidecar_lower_bound(m, r0 * m->cols);
         s < m->n_sidecar && m->sidecar_pos[s] < end; s++) {
        int64_t p = m->sidecar_pos[s];
        int64_t r = p / m->cols, c = p - r * m->cols;
        y[r - r0] += (m->sidecar_val[s] - m->codebook[m->indices[p]]) * x[c];
    }
}

void hxq_matvec_hxq_ref(const hxq_qmatrix *m, const float *x, float *y, int64_t r0,
                        int64_t r1)
{
    int64_t cols = m->cols;
    int64_t s = codec_sidecar_lower_bound(m, r0 * cols);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *idx = m->indices + r * cols;
        int64_t base = r * cols;
        float acc = 0.0f;
        for (int64_t c = 0; c < cols; c++) {
            float w;
            if (s < m->n_sidecar && m->sidecar_pos[s] == base + c)
                w = m->sidecar_val[s++];
            else
                w = m->codebook[idx[c]];
            acc += w * x[c];
        }
        y[r - r0] = acc;
    }
}

/* 16-bit rows widened by `widen`, fp32 accumulation. */
static void matvec_half_ref(const uint16_t *w, int64_t cols, const float *x, float *y,
                            int64_t r0, int64_t r1, float (*widen)(uint16_t))
{
    for (int64_t r = r0; r < r1; r++) {
        const uint16_t *row = w + r * cols;
        float acc = 0.0f;
        for (int64_t c = 0; c < cols; c++)
            acc += widen(row[c]) * x[c];
        y[r - r0] = acc;
    }
}

void hxq_matvec_bf16_ref(const uint16_t *w, int64_t cols, const float *x, float *y,
                         int64_t r0, int64_t r1)
{
    matvec_half_ref(w, cols, x, y, r0, r1, hxq_bf16_to_f32);
}

void hxq_matvec_f16_ref(const uint16_t *w, int64_t cols, const float *x, float *y,
                        int64_t r0, int64_t r1)
{
    matvec_half_ref(w, cols, x, y, r0, r1, hxq_f16_to_f32);
}

void codec_matvec_f32_ref(const float *w, int64_t cols, const float *x, float *y,
                          int64_t r0, int64_t r1)
{
    for (int64_t r = r0; r < r1; r++) {
        const float *row = w + r * cols;
        float acc = 0.0f;
        for (int64_t c = 0; c < cols; c++)
            acc += row[c] * x[c];
        y[r - r0] = acc;
    }
}

/* ---- several tokens: each weight read once, each token's sum in the
 * order of the single-token _ref above (tokens in groups of REF_TOKENS) */

#define REF_TOKENS 16

void codec_matvec_hxq_multi_ref(const hxq_qmatrix *m, const float *x, int64_t ldx, float *y,
                                int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    int64_t cols = m->cols;
    int64_t s0 = codec_sidecar_lower_bound(m, r0 * cols), s = s0;
    for (int64_t r = r0; r < r1; r++, s0 = s) {
        const uint8_t *idx = m->indices + r * cols;
        int64_t base = r * cols;
        for (int64_t t0 = 0; t0 < n; t0 += REF_TOKENS) {
            int64_t nt = n - t0 < REF_TOKENS ? n - t0 : REF_TOKENS;
            float acc[REF_TOKENS] = {0};
            s = s0;
            for (int64_t c = 0; c < cols; c++) {
                float w;
                if (s < m->n_sidecar && m->sidecar_pos[s] == base + c)
                    w = m->sidecar_val[s++];
                else
                    w = m->codebook[idx[c]];
                for (int64_t t = 0; t < nt; t++)
                    acc[t] += w * x[(t0 + t) * ldx + c];
            }
            for (int64_t t = 0; t < nt; t++)
                y[(t0 + t) * ldy + (r - r0)] = acc[t];
        }
    }
}

/* Rows of any element type, element c of row r widened by at(w, r * cols + c). */
static void multi_ref(const void *w, float (*at)(const void *, int64_t), int64_t cols,
                      const float *x, int64_t ldx, float *y, int64_t ldy, int64_t n,
                      int64_t r0, int64_t r1)
{
    for (int64_t r = r0; r < r1; r++)
        for (int64_t t0 = 0; t0 < n; t0 += REF_TOKENS) {
            int64_t nt = n - t0 < REF_TOKENS ? n - t0 : REF_TOKENS;
            float acc[REF_TOKENS] = {0};
            for (int64_t c = 0; c < cols; c++) {
                float v = at(w, r * cols + c);
                for (int64_t t = 0; t < nt; t++)
                    acc[t] += v * x[(t0 + t) * ldx + c];
            }
            for (int64_t t = 0; t < nt; t++)
                y[(t0 + t) * ldy + (r - r0)] = acc[t];
        }
}

static float at_bf16(const void *w, int64_t i)
{
    return hxq_bf16_to_f32(((const uint16_t *)w)[i]);
}

static float at_f16(const void *w, int64_t i)
{
    return hxq_f16_to_f32(((const uint16_t *)w)[i]);
}

static float at_f32(const void *w, int64_t i)
{
    return ((const float *)w)[i];
}

void codec_matvec_bf16_multi_ref(const uint16_t *w, int64_t cols, const float *x, int64_t ldx,
                                 float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    multi_ref(w, at_bf16, cols, x, ldx, y, ldy, n, r0, r1);
}

void codec_matvec_f16_multi_ref(const uint16_t *w, int64_t cols, const float *x, int64_t ldx,
                                float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    multi_ref(w, at_f16, cols, x, ldx, y, ldy, n, r0, r1);
}

void codec_matvec_f32_multi_ref(const float *w, int64_t cols, const float *x, int64_t ldx,
                                float *y, int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    multi_ref(w, at_f32, cols, x, ldx, y, ldy, n, r0, r1);
}

/* ---- run-time dispatch ---------------------------------------------------- */

void hxq_matvec_hxq(const hxq_qmatrix *m, const float *x, float *y, int64_t r0, int64_t r1)
{
    if (m->cols % 64 == 0 && codec_cpu_has_vbmi())
        codec_matvec_hxq_vbmi(m, x, y, r0, r1);
    else if (hxq_cpu_has_avx2())
        codec_matvec_hxq_avx2(m, x, y, r0, r1);
    else
        hxq_matvec_hxq_ref(m, x, y, r0, r1);
}

void hxq_matvec_bf16(const uint16_t *w, int64_t cols, const float *x, float *y, int64_t r0,
                     int64_t r1)
{
    if (hxq_cpu_has_avx2())
        codec_matvec_bf16_avx2(w, cols, x, y, r0, r1);
    else
        hxq_matvec_bf16_ref(w, cols, x, y, r0, r1);
}

void hxq_matvec_f16(const uint16_t *w, int64_t cols, const float *x, float *y, int64_t r0,
                    int64_t r1)
{
    if (hxq_cpu_has_avx2())
        codec_matvec_f16_avx2(w, cols, x, y, r0, r1);
    else
        hxq_matvec_f16_ref(w, cols, x, y, r0, r1);
}

void hxq_matvec_f32(const float *w, int64_t cols, const float *x, float *y, int64_t r0,
                    int64_t r1)
{
    if (hxq_cpu_has_avx2())
        codec_matvec_f32_avx2(w, cols, x, y, r0, r1);
    else
        codec_matvec_f32_ref(w, cols, x, y, r0, r1);
}

void hxq_matvec_hxq_multi(const hxq_qmatrix *m, const float *x, int64_t ldx, float *y,
                          int64_t ldy, int64_t n, int64_t r0, int64_t r1)
{
    if (n == 1) {
        hxq_matvec_hxq(m, x, y, r0, r1);
    } else if (m->cols % 64 == 0 && codec_cpu_has_vbmi()) {
        /* no multi-token VBMI kernel yet (none could be tested here): the
         * single-token one per token, which is what the others must equal */
        for (int64_t t = 0; t < n; t++)
            codec_matvec_hxq_vbmi(m, x + t * ldx, y + t * ldy, r0, r1);
    } else if (hxq_cpu_has_avx2()) {
        codec_matvec_hxq_multi_avx2(m, x, ldx, y, ldy, n, r0, r1);
    } else {
        codec_matvec_hxq_multi_ref(m, x, ldx, y, ldy, n, r0, r1);
    }
}

/* The 16-bit and F32 rows: the single-token kernel for one token, else
 * the AVX2 or scalar multi-token one. */
#define MULTI_DISPATCH(name, T, single, avx2, ref)                                         \
    void name(const T *w, int64_t cols, const float *x, int64_t ldx, float *y, int64_t ldy, \
              int64_t n, int64_t r0, int64_t r1)                                           \
    {                                                                                      \
        if (n == 1)                                                                        \
            single(w, cols, x, y, r0, r1);                                                 \
        else if (hxq_cpu_has_avx2())                                                       \
            avx2(w, cols, x, ldx, y, ldy, n, r0, r1);                                      \
        else                                                                               \
            ref(w, cols, x, ldx, y, ldy, n, r0, r1);                                       \
    }

MULTI_DISPATCH(hxq_matvec_bf16_multi, uint16_t, hxq_matvec_bf16, codec_matvec_bf16_multi_avx2,
               codec_matvec_bf16_multi_ref)
MULTI_DISPATCH(hxq_matvec_f16_multi, uint16_t, hxq_matvec_f16, codec_matvec_f16_multi_avx2,
               codec_matvec_f16_multi_ref)
MULTI_DISPATCH(hxq_matvec_f32_multi, float, hxq_matvec_f32, codec_matvec_f32_multi_avx2,
               codec_matvec_f32_multi_ref)
