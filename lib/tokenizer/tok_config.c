/* tok_config.c - loading a tokenizer from a model folder or a file, and the
 * parts of tokenizer_config.json / special_tokens_map.json that matter for
 * generation: bos/eos tokens, add_bos_token and the chat template. */
#include "tok_int.h"
#include "hxq_io.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

const char *const tok_extra_token_names[TOK_N_EXTRA] = {"unk_token", "sep_token", "pad_token",
                                                        "cls_token", "mask_token"};

#define TOKENIZER_MAX_BYTES ((size_t)1 << 30)
#define CONFIG_MAX_BYTES ((size_t)64 << 20)

int tok_find_default_eos(hxq_tokenizer *tok)
{
    static const char *const names[] = {"<|endoftext|>", "</s>", "<|im_end|>", "<|eot_id|>"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int32_t id = tok_strmap_get(&tok->added_map, names[i], strlen(names[i]));
        if (id >= 0 && hxq_tokenizer_is_special(tok, id)) {
            tok->eos[0] = id;
            tok->n_eos = 1;
            return 1;
        }
    }
    return 0;
}

/* A special-token field: "str", {"content": "str", ...} or null.
 * *present is 0 when the key is absent; *s is NULL for null. */
static int token_field(const cJSON *root, const char *key, int *present, const char **s,
                       const char *name, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *present = v != NULL;
    *s = NULL;
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (cJSON_IsObject(v))
        v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (!cJSON_IsString(v))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s must be a string, {\"content\": string} or "
                       "null", name, key);
    *s = v->valuestring;
    return HXQ_OK;
}

static const char *template_text(const cJSON *ct)
{
    if (cJSON_IsString(ct))
        return ct->valuestring;
    const cJSON *e;
    cJSON_ArrayForEach(e, ct) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "template");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, "default") && cJSON_IsString(t))
            return t->valuestring;
    }
    return NULL;
}

static int apply_config(hxq_tokenizer *tok, const cJSON *root, const char *name, hxq_error *err)
{
    if (!cJSON_IsObject(root))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: not a JSON object", name);
    int has_bos, has_eos, add_bos = tok->add_bos, add_eos = tok->add_eos;
    const char *bos_s, *eos_s;
    HXQ_TRY(token_field(root, "bos_token", &has_bos, &bos_s, name, err));
    HXQ_TRY(token_field(root, "eos_token", &has_eos, &eos_s, name, err));
    const cJSON *ab = cJSON_GetObjectItemCaseSensitive(root, "add_bos_token");
    if (ab && !cJSON_IsNull(ab)) {
        if (!cJSON_IsBool(ab))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: add_bos_token must be true or false", name);
        add_bos = cJSON_IsTrue(ab);
    }
    const cJSON *ae = cJSON_GetObjectItemCaseSensitive(root, "add_eos_token");
    if (ae && !cJSON_IsNull(ae)) {
        if (!cJSON_IsBool(ae))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: add_eos_token must be true or false", name);
        add_eos = cJSON_IsTrue(ae);
    }
    int32_t bos = tok->bos, eos = -1;
    if (has_bos && bos_s && (bos = hxq_tokenizer_token_id(tok, bos_s)) < 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: bos_token '%s' is not in the vocabulary", name,
                       bos_s);
    if (has_bos && !bos_s)
        bos = -1;
    if (has_eos && eos_s && (eos = hxq_tokenizer_token_id(tok, eos_s)) < 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: eos_token '%s' is not in the vocabulary", name,
                       eos_s);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    if (ct && !cJSON_IsNull(ct) && !cJSON_IsString(ct) && !cJSON_IsArray(ct))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: chat_template must be a string or a list", name);
    /* the other special tokens and the template go to the arena (freed
     * with tok); copies made before the commit below */
    int has_extra[TOK_N_EXTRA];
    const char *extra[TOK_N_EXTRA];
    for (int i = 0; i < TOK_N_EXTRA; i++) {
        const char *x;
        HXQ_TRY(token_field(root, tok_extra_token_names[i], &has_extra[i], &x, name, err));
        extra[i] = x ? tok_arena_dup(&tok->arena, x, strlen(x)) : NULL;
        if (x && !extra[i])
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    const char *tmpl = NULL, *src = NULL;
    if (ct && !cJSON_IsNull(ct) && (tmpl = template_text(ct)) != NULL) {
        tmpl = tok_arena_dup(&tok->arena, tmpl, strlen(tmpl));
        src = tok_arena_dup(&tok->arena, name, strlen(name));
        if (!tmpl || !src)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }

    char *nb = has_bos ? (bos_s ? hxq_strdup(bos_s) : NULL) : NULL;
    char *ne = has_eos ? (eos_s ? hxq_strdup(eos_s) : NULL) : NULL;
    if ((has_bos && bos_s && !nb) || (has_eos && eos_s && !ne)) {
        free(nb);
        free(ne);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    /* commit: nothing below fails */
    if (has_bos) {
        free(tok->chat_bos);
        tok->chat_bos = nb;
        tok->bos = bos;
    }
    if (has_eos) {
        free(tok->chat_eos);
        tok->chat_eos = ne;
        tok->n_eos = 0;
        if (eos >= 0)
            tok->eos[tok->n_eos++] = eos;
    }
    tok->add_bos = add_bos;
    for (int i = 0; i < TOK_N_EXTRA; i++)
        if (has_extra[i])
            tok->chat_extra[i] = extra[i];
    tok->add_eos = add_eos;
    if (ct && !cJSON_IsNull(ct)) {
        tok->chat_template = tmpl;
        tok->chat_template_len = tmpl ? strlen(tmpl) : 0;
        tok->chat_template_src = src;
        tok->chat_no_default = !tmpl;
    }
    return HXQ_OK;
}

int hxq_tokenizer_load_config(hxq_tokenizer *tok, const char *json, size_t len,
                              const char *name, hxq_error *err)
{
    if (!tok || !json)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_load_config: NULL argument");
    if (!name)
        name = "tokenizer_config.json";
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: invalid JSON near byte %zu", name, at);
    }
    int rc = apply_config(tok, root, name, err);
    cJSON_Delete(root);
    return rc;
}

/* Reads <dir>/<file> when it exists; *text NULL when it does not. */
static int read_optional(const char *dir, const char *file, size_t max, char **path,
                         char **text, size_t *len, hxq_error *err)
{
    *text = NULL;
    *path = hxq_path_join(dir, file);
    if (!*path)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (!hxq_path_exists(*path))
        return HXQ_OK;
    return hxq_read_file(*path, max, text, len, err);
}

static int load_dir_configs(hxq_tokenizer *tok, const char *dir, hxq_error *err)
{
    /* special_tokens_map.json first: tokenizer_config.json overrides it */
    static const char *const files[] = {"special_tokens_map.json", "tokenizer_config.json"};
    for (int i = 0; i < 2; i++) {
        char *path, *text;
        size_t len = 0;
        int rc = read_optional(dir, files[i], CONFIG_MAX_BYTES, &path, &text, &len, err);
        if (rc == HXQ_OK && text)
            rc = hxq_tokenizer_load_config(tok, text, len, path, err);
        free(path);
        free(text);
        HXQ_TRY(rc);
    }
    if (!tok->chat_template && !tok->chat_no_default) { /* transformers >= 4.43 may keep it apart */
        char *path, *text;
        size_t len = 0;
        int rc = read_optional(dir, "chat_template.jinja", CONFIG_MAX_BYTES, &path, &text, &len,
                               err);
        if (rc == HXQ_OK && text) {
            tok->chat_template = tok_arena_dup(&tok->arena, text, len);
            tok->chat_template_len = len;
            tok->chat_template_src = tok_arena_dup(&tok->arena, path, strlen(path));
            if (!tok->chat_template || !tok->chat_template_src)
                rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        }
        free(path);
        free(text);
        HXQ_TRY(rc);
    }
    return HXQ_OK;
}

int hxq_tokenizer_load(const char *path, hxq_tokenizer **out, hxq_error *err)
{
    if (!path || !out)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_load: NULL argument");
    int dir = hxq_is_dir(path);
    char *file = dir ? hxq_path_join(path, "tokenizer.json") : hxq_strdup(path);
    if (!file)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    char *text = NULL;
    size_t len = 0;
    hxq_tokenizer *tok = NULL;
    int rc = hxq_read_file(file, TOKENIZER_MAX_BYTES, &text, &len, err);
    if (rc == HXQ_OK)
        rc = hxq_tokenizer_load_json(text, len, file, &tok, err);
    free(text);
    free(file);
    if (rc == HXQ_OK && dir)
        rc = load_dir_configs(tok, path, err);
    if (rc < 0) {
        hxq_tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return HXQ_OK;
}
