/* synth_family.c - the model families hxq synth writes, one row each: the
 * tensors their transformers class reads, the config.json keys, tiny test
 * widths, and whether their tokenizer adds a BOS. */
#include "pipeline_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Constant keys first; sizes come from the options. Each row exercises
 * what its family can differ in: rope scaling (llama3, linear, v4 and v5
 * spellings), family defaults (mixtral without rope_theta, qwen3_moe
 * without rms_norm_eps), tied embeddings, biases, windows. */
static const synth_family families[] = {
    {"llama",
     "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\","
     " \"hidden_act\": \"silu\", \"attention_bias\": false, \"mlp_bias\": false,"
     " \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"rope_scaling\": {\"rope_type\":"
     " \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
     " \"original_max_position_embeddings\": 64}, \"tie_word_embeddings\": false,"
     " \"bos_token_id\": 0, \"eos_token_id\": 0}",
     SYNTH_QK_NONE, SYNTH_BIAS_NONE, 0, NULL, {NULL, NULL, NULL}, NULL, NULL, 0, 1,
     SYNTH_WINDOW_NONE, 2, 0, 128, 0, 0, 0, 0},
    {"mistral",
     "{\"architectures\": [\"MistralForCausalLM\"], \"model_type\": \"mistral\","
     " \"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0,"
     " \"tie_word_embeddings\": false, \"bos_token_id\": 0, \"eos_token_id\": 0}",
     SYNTH_QK_NONE, SYNTH_BIAS_NONE, 0, NULL, {NULL, NULL, NULL}, NULL, NULL, 0, 1,
     SYNTH_WINDOW_ALL, 1, 32, 128, 0, 0, 0, 8},
    {"qwen2",
     "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\","
     " \"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000.0,"
     " \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0},"
     " \"tie_word_embeddings\": true, \"bos_token_id\": null, \"eos_token_id\": 0}",
     SYNTH_QK_NONE, SYNTH_BIAS_QKV, 0, NULL, {NULL, NULL, NULL}, NULL, NULL, 1, 0,
     SYNTH_WINDOW_UPPER, 2, 0, 128, 0, 0, 0, 6},
    {"qwen3",
     "{\"architectures\": [\"Qwen3ForCausalLM\"], \"model_type\": \"qwen3\","
     " \"hidden_act\": \"silu\", \"attention_bias\": true, \"rms_norm_eps\": 1e-06,"
     " \"rope_parameters\": {\"rope_theta\": 1000000.0, \"rope_type\": \"default\"},"
     " \"tie_word_embeddings\": true, \"bos_token_id\": null, \"eos_token_id\": 0}",
     SYNTH_QK_HEAD, SYNTH_BIAS_ALL, 0, NULL, {NULL, NULL, NULL}, NULL, NULL, 1, 0,
     SYNTH_WINDOW_UPPER, 2, 32, 128, 0, 0, 0, 0},
    {"mixtral",
     "{\"architectures\": [\"MixtralForCausalLM\"], \"model_type\": \"mixtral\","
     " \"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-05, \"tie_word_embeddings\": false,"
     " \"bos_token_id\": 0, \"eos_token_id\": 0}",
     SYNTH_QK_NONE, SYNTH_BIAS_NONE, 1, "block_sparse_moe", {"w1", "w3", "w2"},
     "num_local_experts", "intermediate_size", 0, 1, SYNTH_WINDOW_ALL, 2, 0, 64, 4, 2, 0, 0},
    {"qwen3_moe",
     "{\"architectures\": [\"Qwen3MoeForCausalLM\"], \"model_type\": \"qwen3_moe\","
     " \"hidden_act\": \"silu\", \"attention_bias\": false, \"rope_theta\": 1000000.0,"
     " \"norm_topk_prob\": true, \"decoder_sparse_step\": 1, \"mlp_only_layers\": [],"
     " \"tie_word_embeddings\": false, \"bos_token_id\": null, \"eos_token_id\": 0}",
     SYNTH_QK_HEAD, SYNTH_BIAS_NONE, 1, "mlp", {"gate_proj", "up_proj", "down_proj"},
     "num_experts", "moe_intermediate_size", 0, 0, SYNTH_WINDOW_UPPER, 2, 32, 96, 4, 2, 48, 0},
    {"olmoe",
     "{\"architectures\": [\"OlmoeForCausalLM\"], \"model_type\": \"olmoe\","
     " \"hidden_act\": \"silu\", \"attention_bias\": false, \"clip_qkv\": null,"
     " \"norm_topk_prob\": false, \"rms_norm_eps\": 1e-05, \"rope_parameters\":"
     " {\"rope_theta\": 10000.0, \"rope_type\": \"default\"}, \"tie_word_embeddings\": false,"
     " \"bos_token_id\": null, \"eos_token_id\": 0, \"pad_token_id\": 1}",
     SYNTH_QK_FULL, SYNTH_BIAS_NONE, 1, "mlp", {"gate_proj", "up_proj", "down_proj"},
     "num_experts", "intermediate_size", 0, 0, SYNTH_WINDOW_NONE, 4, 0, 64, 4, 2, 0, 0},
};

#define N_FAMILIES (sizeof(families) / sizeof(families[0]))
#define SYNTH_TINY_CTX 2048

const synth_family *synth_family_find(const char *arch)
{
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (!strcmp(families[i].model_type, arch))
            return &families[i];
    return NULL;
}

/* The benchmark OLMoE (no arch) is the olmoe row with its hub layout. */
const synth_family *synth_family_of(const hxq_synth_opts *o)
{
    return synth_family_find(o->arch ? o->arch : "olmoe");
}

const char *hxq_synth_arch_names(void)
{
    return "llama, mistral, qwen2, qwen3, mixtral, qwen3_moe, olmoe";
}

int hxq_synth_opts_arch(hxq_synth_opts *o, const char *arch, hxq_error *err)
{
    const synth_family *f = synth_family_find(arch);
    if (!f)
        return hxq_err(err, HXQ_ERR_INVALID, "synth: unknown architecture '%s' (known: %s)",
                       arch, hxq_synth_arch_names());
    hxq_synth_opts_init(o);
    o->arch = f->model_type;
    o->layers = 2;
    o->hidden = 64;
    o->heads = 4;
    o->kv_heads = f->kv_heads;
    o->head_dim = f->head_dim;
    o->intermediate = f->intermediate;
    o->experts = f->moe ? f->experts : 1;
    o->top_k = f->moe ? f->top_k : 1;
    o->moe_intermediate = f->moe_intermediate;
    o->sliding_window = f->window_tokens;
    o->vocab = 4096;
    return HXQ_OK;
}

static int add_num(cJSON *root, const char *key, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(root, key);
    return cJSON_AddNumberToObject(root, key, v) != NULL;
}

/* The window keys of the family's rule: Mistral's sliding_window (null:
 * none), or Qwen's use_sliding_window for the upper half of the layers. */
static int add_window(cJSON *root, const synth_family *f, const hxq_synth_opts *o)
{
    if (f->window == SYNTH_WINDOW_NONE)
        return 1;
    int ok = o->sliding_window > 0 ? add_num(root, "sliding_window", (double)o->sliding_window)
                                   : cJSON_AddNullToObject(root, "sliding_window") != NULL;
    if (ok && f->window == SYNTH_WINDOW_UPPER)
        ok = cJSON_AddBoolToObject(root, "use_sliding_window", o->sliding_window > 0) &&
             add_num(root, "max_window_layers", (double)(o->layers / 2));
    return ok;
}

int synth_family_config(const synth_family *f, const hxq_synth_opts *o, char **out,
                        hxq_error *err)
{
    cJSON *root = cJSON_Parse(f->config);
    if (!root)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int ok = add_num(root, "hidden_size", (double)o->hidden) &&
             add_num(root, "intermediate_size", (double)o->intermediate) &&
             add_num(root, "num_attention_heads", (double)o->heads) &&
             add_num(root, "num_key_value_heads", (double)(o->kv_heads ? o->kv_heads : o->heads)) &&
             add_num(root, "num_hidden_layers", (double)o->layers) &&
             add_num(root, "vocab_size", (double)o->vocab) &&
             add_num(root, "max_position_embeddings", SYNTH_TINY_CTX) &&
             add_window(root, f, o) &&
             cJSON_AddStringToObject(root, "torch_dtype", "bfloat16");
    if (ok && o->head_dim)
        ok = add_num(root, "head_dim", (double)o->head_dim);
    if (ok && f->moe)
        ok = add_num(root, f->experts_key, (double)o->experts) &&
             add_num(root, "num_experts_per_tok", (double)o->top_k) &&
             (strcmp(f->width_key, "moe_intermediate_size") ||
              add_num(root, "moe_intermediate_size", (double)o->moe_intermediate));
    *out = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return *out ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
}

static int write_json(const char *dir, const char *name, cJSON *root, hxq_error *err)
{
    char *txt = cJSON_Print(root);
    char *path = hxq_path_join(dir, name);
    int rc = txt && path ? hxq_write_file_atomic(path, txt, strlen(txt), err)
                         : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    free(txt);
    free(path);
    return rc;
}

static cJSON *read_json(const char *dir, const char *name, hxq_error *err)
{
    char *path = hxq_path_join(dir, name), *txt = NULL;
    if (!path) {
        hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int rc = hxq_read_file(path, (size_t)64 << 20, &txt, NULL, err);
    cJSON *root = rc == HXQ_OK ? cJSON_Parse(txt) : NULL;
    if (rc == HXQ_OK && !cJSON_IsObject(root)) {
        hxq_err(err, HXQ_ERR_FORMAT, "%s: not a JSON object", path);
        cJSON_Delete(root);
        root = NULL;
    }
    free(txt);
    free(path);
    return root;
}

/* tokenizer.json's post-processor as Llama 3's: byte-level offsets, then a
 * template putting the BOS in front of every sequence. */
static cJSON *bos_template(const char *bos, int64_t bos_id)
{
    char txt[1024];
    snprintf(txt, sizeof(txt),
             "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"%s\","
             " \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"pair\":"
             " [{\"SpecialToken\": {\"id\": \"%s\", \"type_id\": 0}}, {\"Sequence\": {\"id\":"
             " \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"%s\", \"type_id\": 1}},"
             " {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}], \"special_tokens\": {\"%s\":"
             " {\"id\": \"%s\", \"ids\": [%lld], \"tokens\": [\"%s\"]}}}",
             bos, bos, bos, bos, bos, (long long)bos_id, bos);
    return cJSON_Parse(txt);
}

/* The id of added token `content` in a tokenizer.json, or -1. */
static int64_t added_id(const cJSON *tok, const char *content)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(tok, "added_tokens")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (cJSON_IsString(c) && !strcmp(c->valuestring, content) && cJSON_IsNumber(id))
            return (int64_t)id->valuedouble;
    }
    return -1;
}

int synth_family_tokenizer(const synth_family *f, const char *dir, hxq_error *err)
{
    if (!f->add_bos)
        return HXQ_OK;
    cJSON *cfg = read_json(dir, "tokenizer_config.json", err);
    cJSON *tok = cfg ? read_json(dir, "tokenizer.json", err) : NULL;
    if (!tok) {
        cJSON_Delete(cfg);
        return err ? err->code : HXQ_ERR_FORMAT;
    }
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(cfg, "bos_token");
    int64_t id = cJSON_IsString(b) ? added_id(tok, b->valuestring) : -1;
    int rc;
    if (id < 0 || strpbrk(b->valuestring, "\"\\")) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s/tokenizer_config.json: bos_token is not a plain "
                     "added token of tokenizer.json", dir);
    } else {
        cJSON *seq = cJSON_CreateObject(), *procs = cJSON_CreateArray();
        cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(tok, "post_processor");
        cJSON *tmpl = bos_template(b->valuestring, id);
        int ok = seq && procs && tmpl && cJSON_AddStringToObject(seq, "type", "Sequence");
        if (ok && old && !cJSON_IsNull(old))
            ok = cJSON_AddItemToArray(procs, old);
        else
            cJSON_Delete(old);
        ok = ok && cJSON_AddItemToArray(procs, tmpl);
        if (!ok)
            cJSON_Delete(tmpl);
        ok = ok && cJSON_AddItemToObject(seq, "processors", procs);
        if (!ok)
            cJSON_Delete(procs);
        ok = ok && cJSON_AddItemToObject(tok, "post_processor", seq);
        if (!ok)
            cJSON_Delete(seq);
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "add_bos_token");
        ok = ok && cJSON_AddBoolToObject(cfg, "add_bos_token", 1);
        rc = !ok ? hxq_err(err, HXQ_ERR_NOMEM, "out of memory")
                 : write_json(dir, "tokenizer.json", tok, err);
        if (rc == HXQ_OK)
            rc = write_json(dir, "tokenizer_config.json", cfg, err);
    }
    cJSON_Delete(tok);
    cJSON_Delete(cfg);
    return rc;
}
