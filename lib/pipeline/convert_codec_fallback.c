/* convert_codec_fallback.c - TEMPORARY weak stand-ins for the codec
 * branch's hxq_module_load / decode (not merged yet), so that this branch
 * links; the codec's strong definitions replace them. Delete on merge. */
#include "hxq_codec.h"
#include <stdlib.h>
#include <string.h>
static const hxq_tensor *part(const hxq_ckpt *ck, const char *m, const char *s)
{
    char n[1024];
    snprintf(n, sizeof n, "%s%s", m, s);
    return hxq_ckpt_find(ck, n);
}
__attribute__((weak)) int hxq_module_load(const hxq_ckpt *ck, const char *name, int packed12, hxq_module *out,
                    hxq_error *err)
{
    (void)packed12;
    memset(out, 0, sizeof *out);
    const hxq_tensor *cb = part(ck, name, ".codebook"), *ix = part(ck, name, ".indices");
    const hxq_tensor *sp = part(ck, name, ".sidecar_positions"), *sv = part(ck, name, ".sidecar_values");
    if (!cb || !ix || ix->ndim != 2 || ix->dtype != HXQ_DT_U8 || cb->ndim != 1)
        return hxq_err(err, HXQ_ERR_FORMAT, "module '%s': bad", name);
    if (cb->shape[0] > 256)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "module '%s': k > 256", name);
    out->k = (int)cb->shape[0];
    out->codebook_own = calloc(256, sizeof(float));
    hxq_tensor_to_f32(cb, out->codebook_own, err);
    int64_t n = sp ? sp->nelem : 0;
    out->pos_own = calloc((size_t)n + 1, 8);
    out->val_own = calloc((size_t)n + 1, 4);
    if (n) {
        memcpy(out->pos_own, sp->data, (size_t)n * 8);
        hxq_tensor_to_f32(sv, out->val_own, err);
    }
    out->m.rows = ix->shape[0];
    out->m.cols = ix->shape[1];
    out->m.codebook = out->codebook_own;
    out->m.indices = ix->data;
    out->m.n_sidecar = n;
    out->m.sidecar_pos = out->pos_own;
    out->m.sidecar_val = out->val_own;
    return HXQ_OK;
}
__attribute__((weak)) void hxq_module_free(hxq_module *m)
{
    if (!m) return;
    free(m->codebook_own); free(m->pos_own); free(m->val_own); free(m->indices_own);
    memset(m, 0, sizeof *m);
}
__attribute__((weak)) void hxq_codec_decode_f32(const hxq_qmatrix *m, int64_t r0, int64_t r1, float *out)
{
    int64_t b = r0 * m->cols, e = r1 * m->cols;
    for (int64_t i = b; i < e; i++) out[i - b] = m->codebook[m->indices[i]];
    for (int64_t s = 0; s < m->n_sidecar; s++)
        if (m->sidecar_pos[s] >= b && m->sidecar_pos[s] < e) out[m->sidecar_pos[s] - b] = m->sidecar_val[s];
}
__attribute__((weak)) void hxq_codec_decode_bf16(const hxq_qmatrix *m, int64_t r0, int64_t r1, uint16_t *out)
{
    int64_t b = r0 * m->cols, e = r1 * m->cols;
    for (int64_t i = b; i < e; i++) out[i - b] = hxq_f32_to_bf16(m->codebook[m->indices[i]]);
    for (int64_t s = 0; s < m->n_sidecar; s++)
        if (m->sidecar_pos[s] >= b && m->sidecar_pos[s] < e) out[m->sidecar_pos[s] - b] = hxq_f32_to_bf16(m->sidecar_val[s]);
}
