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

static void get_str(const cJSON *root, const char *key, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsString(v))
        snprintf(out, cap, "%s", v->valuestring);
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
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (cJSON_IsObject(rp) && (rc = get_num(rp, "rope_theta", &c.rope_theta, label, err)) < 0)
        goto out;
    if (c.num_kv_heads == 0)
        c.num_kv_heads = c.num_heads;
    if (c.head_dim == 0 && c.num_heads > 0)
        c.head_dim = c.hidden_size / c.num_heads;
    c.has_quantization_config =
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "quantization_config"));
    if (c.vocab_size < 0 || c.hidden_size < 0 || c.num_layers < 0 || c.num_heads < 0 ||
        c.num_kv_heads < 0 || c.num_experts < 0 || c.num_experts_per_tok < 0 || c.head_dim < 0 ||
        c.intermediate_size < 0 || c.max_position_embeddings < 0) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: a size field is negative", label);
        goto out;
    }
    if (c.bos_token_id < -1 || c.pad_token_id < -1) {     /* -1 is "none" */
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: bos_token_id or pad_token_id is negative", label);
        goto out;
    }
    if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: rms_norm_eps and rope_theta must be positive", label);
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
