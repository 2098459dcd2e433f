/* decode.c - effective weights of a stored matrix: codebook[indices] with
 * the sidecar values replacing theirs. */
#include "hxq_codec.h"
#include "matvec_int.h"

/* First sidecar entry at or after flat position p. */
static int64_t dec_first(const hxq_qmatrix *m, int64_t p)
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

void hxq_codec_decode_f32(const hxq_qmatrix *m, int64_t r0, int64_t r1, float *out)
{
    if (m->cols % 64 == 0 && codec_cpu_has_vbmi()) {
        codec_decode_hxq_vbmi(m, r0, r1, out);   /* matvec_avx512.c, same result */
        return;
    }
    int64_t b = r0 * m->cols, e = r1 * m->cols;
    if (hxq_cpu_has_avx2()) {
        codec_decode_hxq_avx2(m, r0, r1, out);   /* matvec_avx2.c, same values */
    } else {
        const uint8_t *idx = m->indices;
        for (int64_t p = b; p < e; p++)
            out[p - b] = m->codebook[idx[p]];
    }
    for (int64_t s = dec_first(m, b); s < m->n_sidecar && m->sidecar_pos[s] < e; s++)
        out[m->sidecar_pos[s] - b] = m->sidecar_val[s];
}

void hxq_codec_decode_bf16(const hxq_qmatrix *m, int64_t r0, int64_t r1, uint16_t *out)
{
    uint16_t cb[HXQ_CODEBOOK_SIZE];
    for (int c = 0; c < HXQ_CODEBOOK_SIZE; c++)
        cb[c] = hxq_f32_to_bf16(m->codebook[c]);
    int64_t b = r0 * m->cols, e = r1 * m->cols;
    const uint8_t *idx = m->indices;
    for (int64_t p = b; p < e; p++)
        out[p - b] = cb[idx[p]];
    for (int64_t s = dec_first(m, b); s < m->n_sidecar && m->sidecar_pos[s] < e; s++)
        out[m->sidecar_pos[s] - b] = hxq_f32_to_bf16(m->sidecar_val[s]);
}
