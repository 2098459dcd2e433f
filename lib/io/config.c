/* config.c - config.json for transformers 4 and 5 spellings. */
#include "io_int.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_BYTES (16u << 20)

/* Reads an integer field; absent or null keeps *out. A present field that
 * is not an integer is a format error. */
static int get_int(const cJSON *root, const char *key, int64_t *out, const char *label,
                   hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble ||
        fabs(v->valuedouble) > 9007199254740992.0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"%s\" is not an integer", label, key);
    *out = (int64_t)v->valuedouble;
    return HXQ_OK;
}

static int get_num(const cJSON *root, const char *key, double *out, const char *label,
                   hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"%s\" is not a number", label, key);
    *out = v->valuedouble;
    return HXQ_OK;
}

static int get_bool(const cJSON *root, const char *key, int *out, const char *label,
                    hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsBool(v))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"%s\" is not true or false", label, key);
    *out = cJSON_IsTrue(v);
    return HXQ_OK;
}

/* 1 when key is present and not null. */
static int has_value(const cJSON *root, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    return v && !cJSON_IsNull(v);
}

static void get_str(const cJSON *root, const char *key, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsString(v))
        snprintf(out, cap, "%s", v->valuestring);
}

/* A string field into out[cap]; absent or null keeps *out, another type
 * (or a longer string) is a format error. */
static int get_name(const cJSON *root, const char *key, char *out, size_t cap,
                    const char *label, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"%s\" is not a short string", label, key);
    snprintf(out, cap, "%s", v->valuestring);
    return HXQ_OK;
}

/* RoPE scaling: transformers 5's rope_parameters, else 4's rope_scaling
 * (null or absent: no scaling). */
static int get_rope(const cJSON *root, hxq_config *c, const char *label, hxq_error *err)
{
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (rp && !cJSON_IsNull(rp) && !cJSON_IsObject(rp))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"rope_parameters\" is not an object", label);
    if (cJSON_IsObject(rp) && cJSON_GetObjectItemCaseSensitive(rp, "rope_theta")) {
        HXQ_TRY(get_num(rp, "rope_theta", &c->rope_theta, label, err));
        c->rope_theta_set = 1;
    }
    const cJSON *d = cJSON_IsObject(rp) ? rp : cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (!d || cJSON_IsNull(d))
        return HXQ_OK;
    if (!cJSON_IsObject(d))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"rope_scaling\" is not an object", label);
    HXQ_TRY(get_name(d, "type", c->rope_type, sizeof(c->rope_type), label, err));
    HXQ_TRY(get_name(d, "rope_type", c->rope_type, sizeof(c->rope_type), label, err));
    HXQ_TRY(get_num(d, "factor", &c->rope_factor, label, err));
    HXQ_TRY(get_num(d, "low_freq_factor", &c->rope_low_freq_factor, label, err));
    HXQ_TRY(get_num(d, "high_freq_factor", &c->rope_high_freq_factor, label, err));
    HXQ_TRY(get_num(d, "partial_rotary_factor", &c->partial_rotary_factor, label, err));
    return get_int(d, "original_max_position_embeddings", &c->rope_original_max_pos, label,
                   err);
}

/* layer_types (transformers 5): which layers use the sliding window. */
static int get_layer_types(const cJSON *root, hxq_config *c, const char *label, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "layer_types");
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsArray(v))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"layer_types\" is not a list", label);
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        if (!cJSON_IsString(it))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"layer_types\" holds a non-string", label);
        if (c->n_layer_types == HXQ_CONFIG_MAX_LAYER_TYPES)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"layer_types\" has more than %d entries",
                           label, HXQ_CONFIG_MAX_LAYER_TYPES);
        int64_t l = c->n_layer_types++;
        if (!strcmp(it->valuestring, "sliding_attention"))
            c->sliding_layers[l / 64] |= 1ull << (l % 64);
        else if (strcmp(it->valuestring, "full_attention") && !c->layer_type_other[0])
            snprintf(c->layer_type_other, sizeof(c->layer_type_other), "%.31s", it->valuestring);
    }
    return HXQ_OK;
}

/* The number of entries of a list field (mlp_only_layers); absent or null: 0. */
static int get_list_len(const cJSON *root, const char *key, int64_t *out, const char *label,
                        hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsArray(v))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"%s\" is not a list", label, key);
    *out = cJSON_GetArraySize(v);
    return HXQ_OK;
}

/* A non-negative integer below 2^53 (the cast to int64_t is then exact;
 * 1e999 parses as infinity, whose cast would be undefined). */
static int token_id_ok(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0 &&
           floor(v->valuedouble) == v->valuedouble;
}

static int get_eos(const cJSON *root, hxq_config *c, const char *label, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (cJSON_IsNumber(v)) {
        if (!token_id_ok(v))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"eos_token_id\" is not a token id", label);
        c->eos_token_ids[0] = (int64_t)v->valuedouble;
        c->n_eos = 1;
        return HXQ_OK;
    }
    if (!cJSON_IsArray(v))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"eos_token_id\" is neither a number nor a list",
                       label);
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        if (!token_id_ok(it))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: \"eos_token_id\" holds a non-token-id",
                           label);
        if (c->n_eos < 8)
            c->eos_token_ids[c->n_eos++] = (int64_t)it->valuedouble;
    }
    return HXQ_OK;
}

int hxq_config_parse(const char *json, const char *label, hxq_config *out, hxq_error *err)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: not valid JSON", label);
    hxq_config c;
    memset(&c, 0, sizeof(c));
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 10000.0;
    c.bos_token_id = -1;
    c.pad_token_id = -1;
    c.num_experts_per_tok = 0;
    c.partial_rotary_factor = 1.0;
    c.sliding_window = -1;
    c.max_window_layers = -1;
    int rc = HXQ_OK;
    if (!cJSON_IsObject(root)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: not a JSON object", label);
        goto out;
    }
    get_str(root, "model_type", c.model_type, sizeof(c.model_type));
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (cJSON_IsArray(arch) && cJSON_IsString(cJSON_GetArrayItem(arch, 0)))
        snprintf(c.arch, sizeof(c.arch), "%s", cJSON_GetArrayItem(arch, 0)->valuestring);
    get_str(root, "torch_dtype", c.dtype, sizeof(c.dtype));
    get_str(root, "dtype", c.dtype, sizeof(c.dtype));             /* v5 wins */
    if ((rc = get_int(root, "vocab_size", &c.vocab_size, label, err)) < 0 ||
        (rc = get_int(root, "hidden_size", &c.hidden_size, label, err)) < 0 ||
        (rc = get_int(root, "intermediate_size", &c.intermediate_size, label, err)) < 0 ||
        (rc = get_int(root, "num_hidden_layers", &c.num_layers, label, err)) < 0 ||
        (rc = get_int(root, "num_attention_heads", &c.num_heads, label, err)) < 0 ||
        (rc = get_int(root, "num_key_value_heads", &c.num_kv_heads, label, err)) < 0 ||
        (rc = get_int(root, "head_dim", &c.head_dim, label, err)) < 0 ||
        (rc = get_int(root, "num_experts", &c.num_experts, label, err)) < 0 ||
        (rc = get_int(root, "num_local_experts", &c.num_experts, label, err)) < 0 ||
        (rc = get_int(root, "num_experts_per_tok", &c.num_experts_per_tok, label, err)) < 0 ||
        (rc = get_int(root, "max_position_embeddings", &c.max_position_embeddings, label, err)) < 0 ||
        (rc = get_int(root, "bos_token_id", &c.bos_token_id, label, err)) < 0 ||
        (rc = get_int(root, "pad_token_id", &c.pad_token_id, label, err)) < 0 ||
        (rc = get_num(root, "rms_norm_eps", &c.rms_norm_eps, label, err)) < 0 ||
        (rc = get_num(root, "rope_theta", &c.rope_theta, label, err)) < 0 ||
        (rc = get_bool(root, "norm_topk_prob", &c.norm_topk_prob, label, err)) < 0 ||
        (rc = get_bool(root, "tie_word_embeddings", &c.tie_word_embeddings, label, err)) < 0 ||
        (rc = get_bool(root, "attention_bias", &c.attention_bias, label, err)) < 0 ||
        (rc = get_eos(root, &c, label, err)) < 0)
        goto out;
    c.rms_norm_eps_set = has_value(root, "rms_norm_eps");
    c.rope_theta_set = has_value(root, "rope_theta");
    if ((rc = get_int(root, "moe_intermediate_size", &c.moe_intermediate_size, label, err)) < 0 ||
        (rc = get_int(root, "decoder_sparse_step", &c.decoder_sparse_step, label, err)) < 0 ||
        (rc = get_list_len(root, "mlp_only_layers", &c.n_mlp_only_layers, label, err)) < 0 ||
        (rc = get_bool(root, "mlp_bias", &c.mlp_bias, label, err)) < 0 ||
        (rc = get_num(root, "clip_qkv", &c.clip_qkv, label, err)) < 0 ||
        (rc = get_name(root, "hidden_act", c.hidden_act, sizeof(c.hidden_act), label, err)) < 0 ||
        (rc = get_num(root, "partial_rotary_factor", &c.partial_rotary_factor, label, err)) < 0 ||
        (rc = get_rope(root, &c, label, err)) < 0 ||
        (rc = get_bool(root, "use_sliding_window", &c.use_sliding_window, label, err)) < 0 ||
        (rc = get_int(root, "max_window_layers", &c.max_window_layers, label, err)) < 0 ||
        (rc = get_layer_types(root, &c, label, err)) < 0)
        goto out;
    if (cJSON_GetObjectItemCaseSensitive(root, "sliding_window")) {
        c.sliding_window = 0;                                   /* null: no window */
        if ((rc = get_int(root, "sliding_window", &c.sliding_window, label, err)) < 0)
            goto out;
    }
    if (c.num_kv_heads == 0)
        c.num_kv_heads = c.num_heads;
    if (c.head_dim == 0 && c.num_heads > 0)
        c.head_dim = c.hidden_size / c.num_heads;
    c.has_quantization_config =
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "quantization_config"));
    if (c.vocab_size < 0 || c.hidden_size < 0 || c.num_layers < 0 || c.num_heads < 0 ||
        c.num_kv_heads < 0 || c.num_experts < 0 || c.num_experts_per_tok < 0 || c.head_dim < 0 ||
        c.intermediate_size < 0 || c.max_position_embeddings < 0 || c.moe_intermediate_size < 0 ||
        c.decoder_sparse_step < 0 || c.rope_original_max_pos < 0 || c.sliding_window < -1 ||
        c.max_window_layers < -1) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: a size field is negative", label);
        goto out;
    }
    if (c.bos_token_id < -1 || c.pad_token_id < -1) {     /* -1 is "none" */
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: bos_token_id or pad_token_id is negative", label);
        goto out;
    }
    if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0) || c.rope_factor < 0 ||
        !(c.partial_rotary_factor > 0)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: rms_norm_eps, rope_theta, the rope factor and "
                     "partial_rotary_factor must be positive", label);
        goto out;
    }
    *out = c;
out:
    cJSON_Delete(root);
    return rc;
}

int hxq_config_load(const char *dir, hxq_config *out, hxq_error *err)
{
    char *path = hxq_path_join(dir, "config.json");
    if (!path)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    char *text;
    int rc = hxq_read_file(path, CONFIG_MAX_BYTES, &text, NULL, err);
    if (rc == HXQ_OK) {
        rc = hxq_config_parse(text, path, out, err);
        free(text);
    }
    free(path);
    return rc;
}
