/* compress_finish.c - the small files of a compressed folder: config.json
 * with quantization_config, file hashes. */
#include "pipeline_int.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

int pipeline_hash_file(const char *dir, const char *name, hxq_rc_file *f, hxq_error *err)
{
    char *path = hxq_path_join(dir, name);
    if (!path || !(f->name = hxq_strdup(name))) {
        free(path);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    int rc = hxq_sha256_file(path, f->sha256, &f->size, err);
    free(path);
    return rc;
}

static cJSON *qconfig_json(const hxq_plan *p)
{
    cJSON *q = cJSON_CreateObject();
    cJSON *pats = cJSON_CreateArray();
    cJSON *mods = cJSON_CreateArray();
    int ok = q && pats && mods;
    for (int i = 0; ok && i < p->n_patterns; i++)
        ok = cJSON_AddItemToArray(pats, cJSON_CreateString(p->patterns[i]));
    for (int64_t i = 0; ok && i < p->n; i++)
        if (p->items[i].compressed)
            ok = cJSON_AddItemToArray(mods, cJSON_CreateString(p->items[i].name));
    ok = ok && cJSON_AddStringToObject(q, "quant_method", "hxq") &&
         cJSON_AddNumberToObject(q, "codebook_size", HXQ_CODEBOOK_SIZE) &&
         cJSON_AddBoolToObject(q, "sidecar_enabled",
                               p->opts.encode.sidecar_mode != HXQ_SIDECAR_NONE) &&
         cJSON_AddItemToObject(q, "exact_patterns", pats);
    if (ok)
        pats = NULL;
    ok = ok && cJSON_AddItemToObject(q, "compressed_modules", mods);
    if (ok)
        mods = NULL;
    /* ours: the tool and layout version that wrote it */
    ok = ok && cJSON_AddNumberToObject(q, "hxq_format_version", 1) &&
         cJSON_AddNumberToObject(q, "min_elements", (double)p->opts.min_elements);
    cJSON_Delete(pats);
    cJSON_Delete(mods);
    if (!ok) {
        cJSON_Delete(q);
        return NULL;
    }
    return q;
}

int pipeline_write_config(const hxq_plan *p, const char *dir, hxq_error *err)
{
    cJSON *root = cJSON_Parse(p->config_text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return hxq_err(err, HXQ_ERR_FORMAT, "%s/config.json: not a JSON object", p->src_dir);
    }
    cJSON *q = qconfig_json(p);
    char *txt = NULL;
    if (q && cJSON_AddItemToObject(root, "quantization_config", q))
        txt = cJSON_Print(root);
    else
        cJSON_Delete(q);
    cJSON_Delete(root);
    if (!txt)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    size_t n = strlen(txt);
    char *path = hxq_path_join(dir, "config.json");
    char *buf = malloc(n + 2);
    int rc;
    if (!path || !buf) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    } else {
        memcpy(buf, txt, n);
        buf[n] = '\n';
        rc = hxq_write_file_atomic(path, buf, n + 1, err);
    }
    free(buf);
    free(path);
    free(txt);
    return rc;
}

static const char *const aux_names[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model",
    "added_tokens.json", "chat_template.jinja", "chat_template.json"};

int hxq_copy_aux_files(const char *src_dir, const char *dst_dir, const char ***names, int *n,
                       hxq_error *err)
{
    size_t cnt = sizeof(aux_names) / sizeof(aux_names[0]);
    const char **list = names ? calloc(cnt + 1, sizeof(char *)) : NULL;
    if (names && !list)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int k = 0, rc = HXQ_OK;
    for (size_t i = 0; i < cnt && rc == HXQ_OK; i++) {
        char *s = hxq_path_join(src_dir, aux_names[i]);
        char *d = hxq_path_join(dst_dir, aux_names[i]);
        if (!s || !d)
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        else if (hxq_path_exists(s) && (rc = hxq_copy_file(s, d, err)) == HXQ_OK && list)
            list[k++] = aux_names[i];
        free(s);
        free(d);
    }
    if (rc < 0) {
        free(list);
        return rc;
    }
    if (names) {
        *names = list;
        *n = k;
    }
    return HXQ_OK;
}
