/* stats.c - error of a stored matrix against its source, in double. */
#include "codec_int.h"

#include <math.h>

int hxq_codec_stats(const void *src, hxq_dtype dtype, const hxq_qmatrix *m,
                    hxq_matrix_stats *out, hxq_error *err)
{
    if (dtype != HXQ_DT_BF16 && dtype != HXQ_DT_F16 && dtype != HXQ_DT_F32)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "codec stats: dtype %s not supported",
                       hxq_dtype_name(dtype));
    int64_t total;
    if (hxq_mul_i64(m->rows, m->cols, &total) < 0)
        return hxq_err(err, HXQ_ERR_INVALID, "codec stats: bad shape");
    double se = 0.0, sw = 0.0, sq = 0.0, swq = 0.0, maxe = 0.0;
    int64_t s = 0;
    for (int64_t p = 0; p < total; p++) {
        double x = codec_src_f32(src, dtype, p);
        double q;
        if (s < m->n_sidecar && m->sidecar_pos[s] == p)
            q = m->sidecar_val[s++];
        else
            q = m->codebook[m->indices[p]];
        double d = x - q;
        se += d * d;
        sw += x * x;
        sq += q * q;
        swq += x * q;
        if (fabs(d) > maxe || d != d)
            maxe = fabs(d);
    }
    out->mse = total ? se / (double)total : 0.0;
    out->snr_db = se > 0.0 ? 10.0 * log10(sw / se) : INFINITY;
    out->cosine = (sw > 0.0 && sq > 0.0) ? swq / sqrt(sw * sq) : (sw == sq ? 1.0 : 0.0);
    out->max_abs_err = maxe;
    out->n_sidecar = m->n_sidecar;
    return HXQ_OK;
}
