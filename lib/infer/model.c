/* model.c - an OLMoE folder as weight views (hxq_model_load). */
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

/* A norm vector [n] widened to an owned float array. */
static int load_norm(hxq_model *m, const char *name, int64_t n, float **out, hxq_error *err)
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

static const hxq_tensor *find_fused(const hxq_model *m, const char *pre, const char *what)
{
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof(name), "%s.mlp.experts.%s", pre, what);
    const hxq_tensor *t = hxq_ckpt_find(m->ckpt, name);
    if (t)
        return t;
    snprintf(name, sizeof(name), "%s.mlp.experts.%s.weight", pre, what);
    return hxq_ckpt_find(m->ckpt, name);
}

static int load_experts(hxq_model *m, int64_t l, hxq_layer *L, hxq_error *err)
{
    int64_t E = m->n_experts, H = m->hidden, I = m->inter;
    char pre[64], name[NAME_MAX_LEN];
    snprintf(pre, sizeof(pre), "model.layers.%lld", (long long)l);
    L->gate = calloc((size_t)E, sizeof(hxq_linear));
    L->up = calloc((size_t)E, sizeof(hxq_linear));
    L->down = calloc((size_t)E, sizeof(hxq_linear));
    if (!L->gate || !L->up || !L->down)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    const hxq_tensor *gu = find_fused(m, pre, "gate_up_proj");
    const hxq_tensor *dn = find_fused(m, pre, "down_proj");
    if (gu && dn) {
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
    for (int64_t e = 0; e < E; e++) {
        snprintf(name, sizeof(name), "%s.mlp.experts.%lld.gate_proj", pre, (long long)e);
        HXQ_TRY(infer_load_linear(m, name, I, H, &L->gate[e], err));
        snprintf(name, sizeof(name), "%s.mlp.experts.%lld.up_proj", pre, (long long)e);
        HXQ_TRY(infer_load_linear(m, name, I, H, &L->up[e], err));
        snprintf(name, sizeof(name), "%s.mlp.experts.%lld.down_proj", pre, (long long)e);
        HXQ_TRY(infer_load_linear(m, name, H, I, &L->down[e], err));
    }
    return HXQ_OK;
}

static int load_layer(hxq_model *m, int64_t l, hxq_error *err)
{
    hxq_layer *L = &m->layers[l];
    int64_t H = m->hidden;
    char pre[64], name[NAME_MAX_LEN];
    snprintf(pre, sizeof(pre), "model.layers.%lld", (long long)l);
#define NORM(field, suffix)                                             \
    do {                                                                \
        snprintf(name, sizeof(name), "%s." suffix ".weight", pre);      \
        HXQ_TRY(load_norm(m, name, H, &L->field, err));                 \
    } while (0)
#define LIN(field, suffix, r, c)                                        \
    do {                                                                \
        snprintf(name, sizeof(name), "%s." suffix, pre);                \
        HXQ_TRY(infer_load_linear(m, name, r, c, &L->field, err));      \
    } while (0)
    NORM(attn_norm, "input_layernorm");
    NORM(q_norm, "self_attn.q_norm");
    NORM(k_norm, "self_attn.k_norm");
    NORM(ffn_norm, "post_attention_layernorm");
    LIN(wq, "self_attn.q_proj", H, H);
    LIN(wk, "self_attn.k_proj", H, H);
    LIN(wv, "self_attn.v_proj", H, H);
    LIN(wo, "self_attn.o_proj", H, H);
    LIN(router, "mlp.gate", m->n_experts, H);
#undef NORM
#undef LIN
    return load_experts(m, l, L, err);
}

static int check_config(const hxq_config *c, const char *dir, hxq_error *err)
{
    if (c->hidden_size < 1 || c->vocab_size < 1 || c->num_layers < 1 || c->num_heads < 1 ||
        c->intermediate_size < 1 || c->num_experts < 1 || c->num_experts_per_tok < 1 ||
        c->num_experts_per_tok > c->num_experts || c->head_dim < 2 || c->head_dim % 2 ||
        c->max_position_embeddings < 1)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s/config.json: missing or invalid sizes for an OLMoE model", dir);
    if (c->num_kv_heads != c->num_heads || c->head_dim * c->num_heads != c->hidden_size)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "%s/config.json: grouped-query attention or head_dim * heads != "
                       "hidden_size is not supported", dir);
    if (c->attention_bias)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s/config.json: attention_bias is not supported",
                       dir);
    return HXQ_OK;
}

static int model_fill(const char *dir, hxq_model *m, hxq_error *err)
{
    HXQ_TRY(hxq_config_load(dir, &m->cfg, err));
    HXQ_TRY(check_config(&m->cfg, dir, err));
    const hxq_config *c = &m->cfg;
    m->quantized = c->has_quantization_config;
    m->vocab = c->vocab_size;
    m->hidden = c->hidden_size;
    m->inter = c->intermediate_size;
    m->n_layers = c->num_layers;
    m->n_heads = c->num_heads;
    m->n_kv_heads = c->num_kv_heads;
    m->head_dim = c->head_dim;
    m->n_experts = c->num_experts;
    m->top_k = c->num_experts_per_tok;
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
    if (c->tie_word_embeddings && !hxq_ckpt_find(m->ckpt, "lm_head.weight") &&
        !hxq_ckpt_find(m->ckpt, "lm_head.indices"))
        m->lm_head = m->embed;
    else
        HXQ_TRY(infer_load_linear(m, "lm_head", m->vocab, m->hidden, &m->lm_head, err));
    HXQ_TRY(load_norm(m, "model.norm.weight", m->hidden, &m->final_norm, err));
    m->layers = hxq_calloc_array(m->n_layers, sizeof(hxq_layer));
    if (!m->layers)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    for (int64_t l = 0; l < m->n_layers; l++)
        HXQ_TRY(load_layer(m, l, err));
    uint64_t b = infer_linear_bytes(&m->embed);
    if (m->lm_head.data != m->embed.data || m->lm_head.q.indices != m->embed.q.indices)
        b += infer_linear_bytes(&m->lm_head);
    for (int64_t l = 0; l < m->n_layers; l++) {
        const hxq_layer *L = &m->layers[l];
        b += infer_linear_bytes(&L->wq) + infer_linear_bytes(&L->wk) +
             infer_linear_bytes(&L->wv) + infer_linear_bytes(&L->wo) +
             infer_linear_bytes(&L->router);
        for (int64_t e = 0; e < m->n_experts; e++)
            b += infer_linear_bytes(&L->gate[e]) + infer_linear_bytes(&L->up[e]) +
                 infer_linear_bytes(&L->down[e]);
    }
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
        free(L->attn_norm);
        free(L->q_norm);
        free(L->k_norm);
        free(L->ffn_norm);
        free(L->gate);
        free(L->up);
        free(L->down);
    }
    free(m->layers);
    free(m->final_norm);
    infer_free_modules(m);
    hxq_qconfig_free(&m->qcfg);
    hxq_ckpt_close(m->ckpt);
    memset(m, 0, sizeof(*m));
}

uint64_t hxq_model_active_bytes(const hxq_model *m)
{
    uint64_t b = infer_linear_bytes(&m->lm_head) +
                 infer_linear_bytes(&m->embed) / (uint64_t)m->vocab;
    for (int64_t l = 0; l < m->n_layers; l++) {
        const hxq_layer *L = &m->layers[l];
        uint64_t ex = 0;
        for (int64_t e = 0; e < m->n_experts; e++)
            ex += infer_linear_bytes(&L->gate[e]) + infer_linear_bytes(&L->up[e]) +
                  infer_linear_bytes(&L->down[e]);
        b += infer_linear_bytes(&L->wq) + infer_linear_bytes(&L->wk) +
             infer_linear_bytes(&L->wv) + infer_linear_bytes(&L->wo) +
             infer_linear_bytes(&L->router) + ex / (uint64_t)m->n_experts * (uint64_t)m->top_k;
    }
    return b;
}

int hxq_model_is_eos(const hxq_model *m, int32_t id)
{
    for (int i = 0; i < m->cfg.n_eos; i++)
        if (m->cfg.eos_token_ids[i] == id)
            return 1;
    return 0;
}
