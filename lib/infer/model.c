/* model.c - a model folder as weight views (hxq_model_load): the tensors
 * its architecture-table row names, checked and viewed. */
#include "infer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 256

uint64_t infer_linear_bytes(const hxq_linear *w)
{
    uint64_t n = (uint64_t)w->rows * (uint64_t)w->cols;
    switch (w->kind) {
    case HXQ_WEIGHT_F32: return 4 * n;
    case HXQ_WEIGHT_BF16:
    case HXQ_WEIGHT_F16: return 2 * n;
    case HXQ_WEIGHT_HXQ:
        return n + 4u * HXQ_CODEBOOK_SIZE + 12u * (uint64_t)w->q.n_sidecar;
    }
    return 0;
}

/* A [rows, cols] floating view of tensor t into out. */
static int view_linear(const hxq_tensor *t, int64_t rows, int64_t cols, hxq_linear *out,
                       hxq_error *err)
{
    if (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s: tensor '%s': expected shape [%lld, %lld]", t->path, t->name,
                       (long long)rows, (long long)cols);
    memset(out, 0, sizeof(*out));
    switch (t->dtype) {
    case HXQ_DT_F32: out->kind = HXQ_WEIGHT_F32; break;
    case HXQ_DT_BF16: out->kind = HXQ_WEIGHT_BF16; break;
    case HXQ_DT_F16: out->kind = HXQ_WEIGHT_F16; break;
    default:
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s is not supported",
                       t->path, t->name, hxq_dtype_name(t->dtype));
    }
    if ((uintptr_t)t->data % hxq_dtype_size(t->dtype) != 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': data not aligned to its dtype",
                       t->path, t->name);
    out->rows = rows;
    out->cols = cols;
    out->data = t->data;
    return HXQ_OK;
}

int infer_load_linear(hxq_model *m, const char *name, int64_t rows, int64_t cols,
                      hxq_linear *out, hxq_error *err)
{
    char wname[NAME_MAX_LEN];
    snprintf(wname, sizeof(wname), "%s.weight", name);
    const hxq_tensor *t = hxq_ckpt_find(m->ckpt, wname);
    if (t)
        return view_linear(t, rows, cols, out, err);
    if (m->quantized)
        return infer_load_module(m, name, rows, cols, out, err);
    return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s' is missing", hxq_ckpt_dir(m->ckpt),
                   wname);
}

/* 1 when Linear `name` (without ".weight") exists, dense or HXQ. */
static int has_linear(const hxq_model *m, const char *name)
{
    char t[NAME_MAX_LEN];
    snprintf(t, sizeof(t), "%s.weight", name);
    if (hxq_ckpt_find(m->ckpt, t))
        return 1;
    snprintf(t, sizeof(t), "%s.indices", name);
    return hxq_ckpt_find(m->ckpt, t) != NULL;
}

/* A vector tensor [n] (norm weight, bias) widened to an owned float array. */
static int load_vec(hxq_model *m, const char *name, int64_t n, float **out, hxq_error *err)
{
    const hxq_tensor *t = hxq_ckpt_find(m->ckpt, name);
    if (!t)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s' is missing",
                       hxq_ckpt_dir(m->ckpt), name);
    if (t->ndim != 1 || t->shape[0] != n)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': expected shape [%lld]", t->path,
                       name, (long long)n);
    *out = hxq_alloc_array(n, sizeof(float));
    if (!*out)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    return hxq_tensor_to_f32(t, *out, err);
}

/* Slice e of a fused 3-D expert tensor [E, rows_all, cols] at row offset
 * r_off, as a [rows, cols] view. */
static int view_fused(const hxq_tensor *t, int64_t e, int64_t r_off, int64_t rows,
                      int64_t cols, hxq_linear *out, hxq_error *err)
{
    hxq_tensor s = *t;
    size_t es = hxq_dtype_size(t->dtype);
    s.ndim = 2;
    s.shape[0] = rows;
    s.shape[1] = cols;
    s.data = (const char *)t->data + ((e * t->shape[1] + r_off) * cols) * (int64_t)es;
    return view_linear(&s, rows, cols, out, err);
}

static const hxq_tensor *find_fused(const hxq_model *m, const char *pre, const char *block,
                                    const char *what)
{
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof(name), "%s.%s.experts.%s", pre, block, what);
    const hxq_tensor *t = hxq_ckpt_find(m->ckpt, name);
    if (t)
        return t;
    snprintf(name, sizeof(name), "%s.%s.experts.%s.weight", pre, block, what);
    return hxq_ckpt_find(m->ckpt, name);
}

static int load_fused(const hxq_tensor *gu, const hxq_tensor *dn, int64_t E, int64_t I,
                      int64_t H, int64_t l, hxq_layer *L, hxq_error *err)
{
    if (gu->ndim != 3 || gu->shape[0] != E || gu->shape[1] != 2 * I || gu->shape[2] != H ||
        dn->ndim != 3 || dn->shape[0] != E || dn->shape[1] != H || dn->shape[2] != I)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s: fused experts of layer %lld: expected [%lld, %lld, %lld] and "
                       "[%lld, %lld, %lld]", gu->path, (long long)l, (long long)E,
                       (long long)(2 * I), (long long)H, (long long)E, (long long)H,
                       (long long)I);
    for (int64_t e = 0; e < E; e++) {
        HXQ_TRY(view_fused(gu, e, 0, I, H, &L->gate[e], err));
        HXQ_TRY(view_fused(gu, e, I, I, H, &L->up[e], err));
        HXQ_TRY(view_fused(dn, e, 0, H, I, &L->down[e], err));
    }
    return HXQ_OK;
}

/* The MLP of layer l: a dense SwiGLU as one expert, or the router and
 * experts. Experts are looked up as transformers 5's fused tensors (under
 * the family's block or "mlp."), then one tensor per expert under the
 * family's names, then under "mlp.experts.N.{gate,up,down}_proj" (what
 * hxq compress writes for fused experts). */
static int load_mlp(hxq_model *m, const infer_arch *a, int64_t l, hxq_layer *L, hxq_error *err)
{
    int64_t E = m->n_experts, H = m->hidden, I = m->inter;
    char pre[64], name[NAME_MAX_LEN];
    snprintf(pre, sizeof(pre), "model.layers.%lld", (long long)l);
    L->gate = calloc((size_t)E, sizeof(hxq_linear));
    L->up = calloc((size_t)E, sizeof(hxq_linear));
    L->down = calloc((size_t)E, sizeof(hxq_linear));
    if (!L->gate || !L->up || !L->down)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    static const char *const proj[3] = {"gate_proj", "up_proj", "down_proj"};
    hxq_linear *dst[3] = {L->gate, L->up, L->down};
    if (!m->moe) {
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof(name), "%s.mlp.%s", pre, proj[k]);
            HXQ_TRY(infer_load_linear(m, name, k == 2 ? H : I, k == 2 ? I : H, dst[k], err));
        }
        return HXQ_OK;
    }
    const char *block = a->block;
    snprintf(name, sizeof(name), "%s.%s.gate", pre, block);
    if (!has_linear(m, name)) {
        snprintf(name, sizeof(name), "%s.mlp.gate", pre);
        if (has_linear(m, name))
            block = "mlp";                  /* transformers 5's name of the block */
        else
            snprintf(name, sizeof(name), "%s.%s.gate", pre, block);
    }
    HXQ_TRY(infer_load_linear(m, name, E, H, &L->router, err));
    const char *blocks[2] = {a->block, "mlp"};
    for (int b = 0; b < 2; b++) {
        const hxq_tensor *gu = find_fused(m, pre, blocks[b], "gate_up_proj");
        const hxq_tensor *dn = find_fused(m, pre, blocks[b], "down_proj");
        if (gu && dn)
            return load_fused(gu, dn, E, I, H, l, L, err);
    }
    const char *const *names = a->expert;
    snprintf(name, sizeof(name), "%s.%s.experts.0.%s", pre, a->block, names[0]);
    if (!has_linear(m, name)) {
        snprintf(name, sizeof(name), "%s.mlp.experts.0.%s", pre, proj[0]);
        if (has_linear(m, name)) {
            block = "mlp";
            names = proj;
        } else {
            block = a->block;
        }
    }
    for (int64_t e = 0; e < E; e++)
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof(name), "%s.%s.experts.%lld.%s", pre, block, (long long)e,
                     names[k]);
            HXQ_TRY(infer_load_linear(m, name, k == 2 ? H : I, k == 2 ? I : H, &dst[k][e],
                                      err));
        }
    return HXQ_OK;
}

static int load_attention(hxq_model *m, const infer_arch *a, int64_t l, hxq_layer *L,
                          hxq_error *err)
{
    int64_t H = m->hidden, hd = m->head_dim;
    int64_t QW = m->n_heads * hd, KW = m->n_kv_heads * hd;
    char name[NAME_MAX_LEN];
    static const char *const proj[4] = {"q", "k", "v", "o"};
    hxq_linear *w[4] = {&L->wq, &L->wk, &L->wv, &L->wo};
    float **bias[4] = {&L->bq, &L->bk, &L->bv, &L->bo};
    int64_t rows[4] = {QW, KW, KW, H};
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof(name), "model.layers.%lld.self_attn.%s_proj", (long long)l,
                 proj[k]);
        HXQ_TRY(infer_load_linear(m, name, rows[k], k == 3 ? QW : H, w[k], err));
        if (infer_arch_bias(a, &m->cfg, k)) {
            snprintf(name, sizeof(name), "model.layers.%lld.self_attn.%s_proj.bias",
                     (long long)l, proj[k]);
            HXQ_TRY(load_vec(m, name, rows[k], bias[k], err));
        }
    }
    float **norm[2] = {&L->q_norm, &L->k_norm};
    for (int k = 0; m->qk_norm != HXQ_QK_NORM_NONE && k < 2; k++) {
        snprintf(name, sizeof(name), "model.layers.%lld.self_attn.%s_norm.weight",
                 (long long)l, proj[k]);
        HXQ_TRY(load_vec(m, name, m->qk_norm == HXQ_QK_NORM_HEAD ? hd : rows[k], norm[k], err));
    }
    return infer_arch_window(a, &m->cfg, l, &L->window, hxq_ckpt_dir(m->ckpt), err);
}

static int load_layer(hxq_model *m, const infer_arch *a, int64_t l, hxq_error *err)
{
    hxq_layer *L = &m->layers[l];
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof(name), "model.layers.%lld.input_layernorm.weight", (long long)l);
    HXQ_TRY(load_vec(m, name, m->hidden, &L->attn_norm, err));
    snprintf(name, sizeof(name), "model.layers.%lld.post_attention_layernorm.weight",
             (long long)l);
    HXQ_TRY(load_vec(m, name, m->hidden, &L->ffn_norm, err));
    HXQ_TRY(load_attention(m, a, l, L, err));
    return load_mlp(m, a, l, L, err);
}

static uint64_t layer_attn_bytes(const hxq_layer *L)
{
    return infer_linear_bytes(&L->wq) + infer_linear_bytes(&L->wk) +
           infer_linear_bytes(&L->wv) + infer_linear_bytes(&L->wo) +
           infer_linear_bytes(&L->router);
}

static uint64_t layer_expert_bytes(const hxq_model *m, const hxq_layer *L)
{
    uint64_t b = 0;
    for (int64_t e = 0; e < m->n_experts; e++)
        b += infer_linear_bytes(&L->gate[e]) + infer_linear_bytes(&L->up[e]) +
             infer_linear_bytes(&L->down[e]);
    return b;
}

static int model_fill(const char *dir, hxq_model *m, hxq_error *err)
{
    HXQ_TRY(hxq_config_load(dir, &m->cfg, err));
    const infer_arch *a = infer_arch_find(m->cfg.model_type);
    if (!a)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "%s/config.json: model_type '%s' is not supported (supported: %s)", dir,
                       m->cfg.model_type, infer_arch_names());
    HXQ_TRY(infer_arch_resolve(m, a, dir, err));
    HXQ_TRY(hxq_ckpt_open(dir, &m->ckpt, err));
    int64_t cap;
    if (hxq_mul_i64(m->n_layers, 5 + 3 * m->n_experts, &cap) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: too many modules", dir);
    if (m->quantized) {
        HXQ_TRY(hxq_qconfig_load(dir, &m->qcfg, err));
        m->modules = hxq_calloc_array(cap + 2, sizeof(hxq_module));
        if (!m->modules)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    HXQ_TRY(infer_load_linear(m, "model.embed_tokens", m->vocab, m->hidden, &m->embed, err));
    if (m->cfg.tie_word_embeddings && !has_linear(m, "lm_head"))
        m->lm_head = m->embed;
    else
        HXQ_TRY(infer_load_linear(m, "lm_head", m->vocab, m->hidden, &m->lm_head, err));
    HXQ_TRY(load_vec(m, "model.norm.weight", m->hidden, &m->final_norm, err));
    m->layers = hxq_calloc_array(m->n_layers, sizeof(hxq_layer));
    if (!m->layers)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    for (int64_t l = 0; l < m->n_layers; l++)
        HXQ_TRY(load_layer(m, a, l, err));
    uint64_t b = infer_linear_bytes(&m->embed);
    if (m->lm_head.data != m->embed.data || m->lm_head.q.indices != m->embed.q.indices)
        b += infer_linear_bytes(&m->lm_head);
    for (int64_t l = 0; l < m->n_layers; l++)
        b += layer_attn_bytes(&m->layers[l]) + layer_expert_bytes(m, &m->layers[l]);
    m->weight_bytes = b;
    return HXQ_OK;
}

int hxq_model_load(const char *dir, hxq_model *out, hxq_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = model_fill(dir, out, err);
    if (rc < 0)
        hxq_model_free(out);
    return rc;
}

void hxq_model_free(hxq_model *m)
{
    if (!m)
        return;
    for (int64_t l = 0; m->layers && l < m->n_layers; l++) {
        hxq_layer *L = &m->layers[l];
        float *vecs[] = {L->attn_norm, L->q_norm, L->k_norm, L->ffn_norm,
                         L->bq, L->bk, L->bv, L->bo};
        for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
            free(vecs[i]);
        free(L->gate);
        free(L->up);
        free(L->down);
    }
    free(m->layers);
    free(m->final_norm);
    free(m->rope_inv_freq);
    infer_free_modules(m);
    hxq_qconfig_free(&m->qcfg);
    hxq_ckpt_close(m->ckpt);
    memset(m, 0, sizeof(*m));
}

uint64_t hxq_model_active_bytes(const hxq_model *m)
{
    uint64_t b = infer_linear_bytes(&m->lm_head) +
                 infer_linear_bytes(&m->embed) / (uint64_t)m->vocab;
    for (int64_t l = 0; l < m->n_layers; l++)
        b += layer_attn_bytes(&m->layers[l]) +
             layer_expert_bytes(m, &m->layers[l]) / (uint64_t)m->n_experts * (uint64_t)m->top_k;
    return b;
}

int hxq_model_is_eos(const hxq_model *m, int32_t id)
{
    for (int i = 0; i < m->cfg.n_eos; i++)
        if (m->cfg.eos_token_ids[i] == id)
            return 1;
    return 0;
}
