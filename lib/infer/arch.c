/* arch.c - the architecture table: one row per config.json model_type the
 * engine runs, and what the loader derives from a row and the config (the
 * decoder block's flags, sizes, per-layer windows, RoPE frequencies). The
 * forward pass reads only those derived fields, never the name: a new
 * family is one row here (and its names, if new, in model.c's lookups). */
#include "infer_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROJ {"gate_proj", "up_proj", "down_proj"}

/* Semantics from transformers' modeling_<family>.py and configuration
 * classes (their defaults for rms_norm_eps, rope_theta and sliding_window
 * apply when config.json lacks the key). */
static const infer_arch arch_table[] = {
    /* model_type, qk norm, biases, window rule, window default, eps, theta,
     * moe, renorm always, experts' width key, block, expert names */
    {"llama", HXQ_QK_NORM_NONE, ARCH_BIAS_CONFIG, ARCH_WINDOW_NONE, 0, 1e-6, 1e4, 0, 0, 0,
     "mlp", PROJ},
    {"mistral", HXQ_QK_NORM_NONE, ARCH_BIAS_NONE, ARCH_WINDOW_ALL, 4096, 1e-6, 1e4, 0, 0, 0,
     "mlp", PROJ},
    {"qwen2", HXQ_QK_NORM_NONE, ARCH_BIAS_QKV, ARCH_WINDOW_UPPER, 4096, 1e-6, 1e4, 0, 0, 0,
     "mlp", PROJ},
    {"qwen3", HXQ_QK_NORM_HEAD, ARCH_BIAS_CONFIG, ARCH_WINDOW_UPPER, 4096, 1e-6, 1e4, 0, 0, 0,
     "mlp", PROJ},
    {"mixtral", HXQ_QK_NORM_NONE, ARCH_BIAS_NONE, ARCH_WINDOW_ALL, 0, 1e-5, 1e6, 1, 1, 0,
     "block_sparse_moe", {"w1", "w3", "w2"}},
    {"qwen3_moe", HXQ_QK_NORM_HEAD, ARCH_BIAS_CONFIG, ARCH_WINDOW_UPPER, 4096, 1e-6, 1e4, 1, 0,
     1, "mlp", PROJ},
    {"olmoe", HXQ_QK_NORM_FULL, ARCH_BIAS_CONFIG, ARCH_WINDOW_NONE, 0, 1e-5, 1e4, 1, 0, 0,
     "mlp", PROJ},
};

#define N_ARCH (sizeof(arch_table) / sizeof(arch_table[0]))
#define QWEN_MAX_WINDOW_LAYERS 28   /* max_window_layers' default */

const infer_arch *infer_arch_find(const char *model_type)
{
    for (size_t i = 0; i < N_ARCH; i++)
        if (!strcmp(arch_table[i].model_type, model_type))
            return &arch_table[i];
    return NULL;
}

const char *infer_arch_names(void)
{
    return "llama, mistral, qwen2, qwen3, mixtral, qwen3_moe, olmoe";
}

/* A required size: present and positive. */
static int need(int64_t v, const char *key, const char *dir, hxq_error *err)
{
    if (v < 1)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s/config.json: \"%s\" is missing or not positive",
                       dir, key);
    return HXQ_OK;
}

/* Options of the families that the engine does not implement. */
static int refuse_unsupported(const hxq_config *c, const char *dir, hxq_error *err)
{
    const char *why = NULL;
    if (c->hidden_act[0] && strcmp(c->hidden_act, "silu") && strcmp(c->hidden_act, "swish"))
        why = "hidden_act other than silu";
    else if (c->mlp_bias)
        why = "mlp_bias";
    else if (c->clip_qkv > 0)
        why = "clip_qkv";
    else if (c->partial_rotary_factor != 1.0)
        why = "partial_rotary_factor other than 1";
    else if (c->n_mlp_only_layers > 0 || c->decoder_sparse_step > 1)
        why = "dense layers among the MoE layers (mlp_only_layers, decoder_sparse_step)";
    if (why)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s/config.json: %s is not supported", dir,
                       why);
    if (c->layer_type_other[0])
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "%s/config.json: layer type '%s' is not supported", dir,
                       c->layer_type_other);
    if (c->n_layer_types && c->n_layer_types != c->num_layers)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s/config.json: \"layer_types\" has %lld entries for %lld layers", dir,
                       (long long)c->n_layer_types, (long long)c->num_layers);
    return HXQ_OK;
}

/* inv_freq[head_dim / 2] as transformers' rope_init_fn computes it, in
 * float32 (modeling_rope_utils: default, linear, llama3). */
static int rope_inv_freq(const hxq_config *c, int64_t hd, float *inv, const char *dir,
                         hxq_error *err)
{
    int64_t half = hd / 2;
    float theta = (float)c->rope_theta;
    for (int64_t i = 0; i < half; i++)
        inv[i] = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
    const char *t = c->rope_type;
    if (!t[0] || !strcmp(t, "default"))
        return HXQ_OK;
    if (strcmp(t, "linear") && strcmp(t, "llama3"))
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "%s/config.json: rope type '%s' is not supported yet (supported: "
                       "default, linear, llama3)", dir, t);
    if (!(c->rope_factor > 0))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s/config.json: rope type '%s' needs \"factor\"",
                       dir, t);
    float factor = (float)c->rope_factor;
    if (!strcmp(t, "linear")) {
        for (int64_t i = 0; i < half; i++)
            inv[i] = inv[i] / factor;
        return HXQ_OK;
    }
    double lo = c->rope_low_freq_factor, hi = c->rope_high_freq_factor;
    if (!(lo > 0) || !(hi > lo) || c->rope_original_max_pos < 1)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s/config.json: rope type 'llama3' needs \"low_freq_factor\" < "
                       "\"high_freq_factor\" and \"original_max_position_embeddings\"", dir);
    double old = (double)c->rope_original_max_pos;
    float low_wl = (float)(old / lo), high_wl = (float)(old / hi);
    for (int64_t i = 0; i < half; i++) {
        /* torch evaluates scalar / tensor as tensor.reciprocal() * scalar */
        float wavelen = (1.0f / inv[i]) * (float)(2.0 * M_PI);
        float llama = wavelen > low_wl ? inv[i] / factor : inv[i];
        float smooth = ((1.0f / wavelen) * (float)old - (float)lo) / (float)(hi - lo);
        float smoothed = (1.0f - smooth) * llama / factor + smooth * llama;
        int medium = !(wavelen < high_wl) && !(wavelen > low_wl);
        inv[i] = medium ? smoothed : llama;
    }
    return HXQ_OK;
}

int infer_arch_resolve(hxq_model *m, const infer_arch *a, const char *dir, hxq_error *err)
{
    hxq_config *c = &m->cfg;
    if (!c->rms_norm_eps_set)
        c->rms_norm_eps = a->eps_default;
    if (!c->rope_theta_set)
        c->rope_theta = a->theta_default;
    HXQ_TRY(need(c->vocab_size, "vocab_size", dir, err));
    HXQ_TRY(need(c->hidden_size, "hidden_size", dir, err));
    HXQ_TRY(need(c->num_layers, "num_hidden_layers", dir, err));
    HXQ_TRY(need(c->num_heads, "num_attention_heads", dir, err));
    HXQ_TRY(need(c->max_position_embeddings, "max_position_embeddings", dir, err));
    const char *width_key = a->moe && a->moe_width_key ? "moe_intermediate_size"
                                                       : "intermediate_size";
    int64_t width = a->moe && a->moe_width_key ? c->moe_intermediate_size : c->intermediate_size;
    HXQ_TRY(need(width, width_key, dir, err));
    if (a->moe) {
        const char *ek = !strcmp(a->block, "block_sparse_moe") ? "num_local_experts"
                                                               : "num_experts";
        HXQ_TRY(need(c->num_experts, ek, dir, err));
        HXQ_TRY(need(c->num_experts_per_tok, "num_experts_per_tok", dir, err));
        if (c->num_experts_per_tok > c->num_experts)
            return hxq_err(err, HXQ_ERR_FORMAT,
                           "%s/config.json: num_experts_per_tok %lld exceeds %s %lld", dir,
                           (long long)c->num_experts_per_tok, ek, (long long)c->num_experts);
    }
    if (c->head_dim < 2 || c->head_dim % 2)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s/config.json: head_dim %lld is not a positive even number", dir,
                       (long long)c->head_dim);
    if (c->num_kv_heads < 1 || c->num_heads % c->num_kv_heads)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s/config.json: num_key_value_heads %lld does not divide "
                       "num_attention_heads %lld", dir, (long long)c->num_kv_heads,
                       (long long)c->num_heads);
    HXQ_TRY(refuse_unsupported(c, dir, err));
    m->arch = a->model_type;
    m->quantized = c->has_quantization_config;
    m->vocab = c->vocab_size;
    m->hidden = c->hidden_size;
    m->inter = width;
    m->n_layers = c->num_layers;
    m->n_heads = c->num_heads;
    m->n_kv_heads = c->num_kv_heads;
    m->head_dim = c->head_dim;
    m->moe = a->moe;
    m->n_experts = a->moe ? c->num_experts : 1;
    m->top_k = a->moe ? c->num_experts_per_tok : 1;
    m->norm_topk = a->moe && (a->renorm_always || c->norm_topk_prob);
    m->qk_norm = a->qk_norm;
    m->rope_inv_freq = hxq_alloc_array(m->head_dim / 2, sizeof(float));
    if (!m->rope_inv_freq)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    return rope_inv_freq(c, m->head_dim, m->rope_inv_freq, dir, err);
}

int infer_arch_bias(const infer_arch *a, const hxq_config *c, int proj)
{
    switch (a->bias) {
    case ARCH_BIAS_QKV: return proj < 3;
    case ARCH_BIAS_CONFIG: return c->attention_bias;
    default: return 0;
    }
}

int infer_arch_window(const infer_arch *a, const hxq_config *c, int64_t l, int64_t *out,
                      const char *dir, hxq_error *err)
{
    *out = 0;
    if (a->window == ARCH_WINDOW_NONE)
        return HXQ_OK;
    int64_t w = c->sliding_window < 0 ? a->window_default : c->sliding_window;
    int sliding;
    if (c->n_layer_types)            /* transformers 5 writes the outcome */
        sliding = (int)(c->sliding_layers[l / 64] >> (l % 64) & 1);
    else if (a->window == ARCH_WINDOW_ALL)
        sliding = w > 0;
    else
        sliding = c->use_sliding_window && w > 0 &&
                  l >= (c->max_window_layers < 0 ? QWEN_MAX_WINDOW_LAYERS : c->max_window_layers);
    if (sliding && w < 1)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s/config.json: layer %lld uses a sliding window but \"sliding_window\" "
                       "is null", dir, (long long)l);
    *out = sliding ? w : 0;
    return HXQ_OK;
}
