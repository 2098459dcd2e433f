/* check.c - structural validation of a stored matrix. */
#include "hxq_codec.h"

#include <math.h>

int hxq_codec_check(const char *name, const hxq_qmatrix *m, hxq_error *err)
{
    if (!name)
        name = "?";
    int64_t total;
    if (m->rows < 0 || m->cols < 0 || hxq_mul_i64(m->rows, m->cols, &total) < 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "module '%s': bad shape [%lld, %lld]", name,
                       (long long)m->rows, (long long)m->cols);
    if (!m->codebook || (total > 0 && !m->indices))
        return hxq_err(err, HXQ_ERR_FORMAT, "module '%s': missing codebook or indices", name);
    for (int c = 0; c < HXQ_CODEBOOK_SIZE; c++)
        if (!isfinite(m->codebook[c]))
            return hxq_err(err, HXQ_ERR_FORMAT, "module '%s': codebook entry %d is not finite",
                           name, c);
    if (m->n_sidecar < 0 || m->n_sidecar > total ||
        (m->n_sidecar > 0 && (!m->sidecar_pos || !m->sidecar_val)))
        return hxq_err(err, HXQ_ERR_FORMAT, "module '%s': bad sidecar count %lld", name,
                       (long long)m->n_sidecar);
    for (int64_t s = 0; s < m->n_sidecar; s++) {
        int64_t p = m->sidecar_pos[s];
        if (p < 0 || p >= total)
            return hxq_err(err, HXQ_ERR_FORMAT,
                           "module '%s': sidecar position %lld out of range [0, %lld)", name,
                           (long long)p, (long long)total);
        if (s > 0 && p <= m->sidecar_pos[s - 1])
            return hxq_err(err, HXQ_ERR_FORMAT,
                           "module '%s': sidecar positions not ascending and unique at %lld",
                           name, (long long)s);
        if (!isfinite(m->sidecar_val[s]))
            return hxq_err(err, HXQ_ERR_FORMAT,
                           "module '%s': sidecar value %lld is not finite", name, (long long)s);
    }
    return HXQ_OK;
}
