/* cuda_upload.c - a loaded hxq_model copied to the device once, every
 * weight in its stored form: HXQ matrices stay codebook + U8 indices (+ the
 * sidecar as compressed rows), dense ones stay BF16/F16/F32. */
#include "cuda_int.h"
#include "hxq_infer.h"

#include <stdlib.h>
#include <string.h>

#ifdef HXQ_HAVE_CUDA
#include "hxq_cuda.h"

static int linear_kind(const hxq_linear *w)
{
    switch (w->kind) {
    case HXQ_WEIGHT_F32: return HXQ_CUDA_F32;
    case HXQ_WEIGHT_BF16: return HXQ_CUDA_BF16;
    case HXQ_WEIGHT_F16: return HXQ_CUDA_F16;
    case HXQ_WEIGHT_HXQ: return HXQ_CUDA_HXQ;
    }
    return -1;
}

/* Uploads n matrices of one kind and shape as a device table. */
static int put_group(cuda_dmodel *dm, const hxq_linear *const *ws, int64_t n,
                     struct hxq_cuda_mat **table, int *kind, const char *what, int64_t layer,
                     hxq_error *err)
{
    hxq_cuda_mat *descs = calloc((size_t)n, sizeof(*descs));
    if (!descs)
        return hxq_err(err, HXQ_ERR_NOMEM, "cuda upload: out of memory");
    int rc = HXQ_OK;
    int64_t i = 0;
    *kind = linear_kind(ws[0]);
    for (; i < n && rc == HXQ_OK; i++) {
        const hxq_linear *w = ws[i];
        if (linear_kind(w) != *kind || w->rows != ws[0]->rows || w->cols != ws[0]->cols) {
            rc = hxq_err(err, HXQ_ERR_UNSUPPORTED,
                         "storage or shape differs from matrix 0 (one kernel call runs them "
                         "all)");
        } else if (*kind == HXQ_CUDA_HXQ) {
            rc = cuda_dmodel_put_hxq(dm, &w->q, &descs[i], err);
        } else if (*kind >= 0) {
            rc = cuda_dmodel_put_dense(dm, *kind, w->data, w->rows, w->cols, &descs[i], err);
        } else {
            rc = hxq_err(err, HXQ_ERR_UNSUPPORTED, "weight kind %d", (int)w->kind);
        }
    }
    if (rc < 0)
        rc = hxq_err_prefix(err, rc, "cuda upload: layer %lld %s matrix %lld", (long long)layer,
                            what, (long long)(i - 1));
    if (rc == HXQ_OK)
        rc = cuda_dmodel_put_table(dm, descs, n, table, err);
    free(descs);
    return rc;
}

static int put_layer(cuda_dmodel *dm, const hxq_model *m, int64_t l, hxq_error *err)
{
    const hxq_layer *L = &m->layers[l];
    cuda_layer_w *D = &dm->layers[l];
    const int64_t H = m->hidden, E = m->n_experts;
    HXQ_TRY(cuda_dmodel_put_f32(dm, L->attn_norm, H, &D->attn_norm, err));
    HXQ_TRY(cuda_dmodel_put_f32(dm, L->q_norm, H, &D->q_norm, err));
    HXQ_TRY(cuda_dmodel_put_f32(dm, L->k_norm, H, &D->k_norm, err));
    HXQ_TRY(cuda_dmodel_put_f32(dm, L->ffn_norm, H, &D->ffn_norm, err));
    const hxq_linear *qkv[3] = {&L->wq, &L->wk, &L->wv};
    HXQ_TRY(put_group(dm, qkv, 3, &D->qkv, &D->qkv_kind, "q/k/v_proj", l, err));
    const hxq_linear *o[1] = {&L->wo};
    HXQ_TRY(put_group(dm, o, 1, &D->o, &D->o_kind, "o_proj", l, err));
    const hxq_linear *router[1] = {&L->router};
    HXQ_TRY(put_group(dm, router, 1, &D->router, &D->router_kind, "mlp.gate", l, err));
    const hxq_linear **ex = malloc((size_t)(2 * E) * sizeof(*ex));
    if (!ex)
        return hxq_err(err, HXQ_ERR_NOMEM, "cuda upload: out of memory");
    for (int64_t e = 0; e < E; e++) {
        ex[e] = &L->gate[e];
        ex[E + e] = &L->up[e];
    }
    int rc = put_group(dm, ex, 2 * E, &D->gate_up, &D->gate_up_kind, "experts gate/up_proj",
                       l, err);
    for (int64_t e = 0; e < E; e++)
        ex[e] = &L->down[e];
    if (rc == HXQ_OK)
        rc = put_group(dm, ex, E, &D->down, &D->down_kind, "experts down_proj", l, err);
    free(ex);
    return rc;
}

int cuda_upload_model(const struct hxq_model *m, cuda_dmodel *dm, hxq_error *err)
{
    memset(dm, 0, sizeof(*dm));
    dm->vocab = m->vocab;
    dm->hidden = m->hidden;
    dm->inter = m->inter;
    dm->n_layers = m->n_layers;
    dm->n_heads = m->n_heads;
    dm->n_kv_heads = m->n_kv_heads;
    dm->head_dim = m->head_dim;
    dm->n_experts = m->n_experts;
    dm->top_k = m->top_k;
    dm->norm_topk = m->cfg.norm_topk_prob != 0;
    dm->eps = (float)m->cfg.rms_norm_eps;
    dm->theta = (float)m->cfg.rope_theta;
    dm->active_bytes = hxq_model_active_bytes(m);
    int ek = linear_kind(&m->embed);
    if (ek < 0 || ek == HXQ_CUDA_HXQ)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "cuda upload: embed_tokens must be stored dense (F32, BF16, F16)");
    dm->layers = calloc((size_t)m->n_layers, sizeof(cuda_layer_w));
    if (!dm->layers)
        return hxq_err(err, HXQ_ERR_NOMEM, "cuda upload: out of memory");
    hxq_cuda_mat emb;
    HXQ_TRY(cuda_dmodel_put_dense(dm, ek, m->embed.data, m->embed.rows, m->embed.cols, &emb,
                                  err));
    dm->embed = emb.w;
    dm->embed_kind = ek;
    const hxq_linear *lm[1] = {&m->lm_head};
    HXQ_TRY(put_group(dm, lm, 1, &dm->lm_head, &dm->lm_kind, "lm_head", -1, err));
    HXQ_TRY(cuda_dmodel_put_f32(dm, m->final_norm, m->hidden, &dm->final_norm, err));
    for (int64_t l = 0; l < m->n_layers; l++)
        HXQ_TRY(put_layer(dm, m, l, err));
    return cuda_dmodel_check(dm, err);
}

#else /* !HXQ_HAVE_CUDA */

int cuda_upload_model(const struct hxq_model *m, cuda_dmodel *dm, hxq_error *err)
{
    (void)m;
    memset(dm, 0, sizeof(*dm));
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
}

#endif
