/* convert_meta.c - the small files of a converted folder: config.json
 * (quantization_config dropped or made canonical) and the tokenizer and
 * generation files copied from the source. */
#include "convert_int.h"
#include "pipeline_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_exact[] = {"embed_tokens", "embed_positions", "wte", "wpe",
                                            "lm_head", "layernorm", "layer_norm", "norm",
                                            "backbone.embedding"};

/* Appends tmp/name, hashed, to the file list. */
static int add_file(cv_files *fl, const char *tmp, const char *name, hxq_error *err)
{
    hxq_rc_file *f = realloc(fl->f, (size_t)(fl->n + 1) * sizeof(*f));
    if (!f)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    fl->f = f;
    memset(&f[fl->n], 0, sizeof(*f));
    int rc = pipeline_hash_file(tmp, name, &f[fl->n], err);
    fl->n++; /* counted even on failure so the name is freed */
    return rc;
}

static cJSON *string_array(char **v, int64_t n, const char *const *dflt, int64_t ndflt)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < (n ? n : ndflt); i++) {
        cJSON *s = cJSON_CreateString(n ? v[i] : dflt[i]);
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* The canonical quantization_config for a module list. */
static cJSON *canonical_qconfig(const hxq_qconfig *q)
{
    cJSON *qc = cJSON_CreateObject();
    cJSON *ex = string_array(q->exact_patterns, q->n_exact, default_exact,
                             (int64_t)(sizeof(default_exact) / sizeof(default_exact[0])));
    cJSON *mods = string_array(q->modules, q->n_modules, NULL, 0);
    int ok = qc && ex && mods && cJSON_AddStringToObject(qc, "quant_method", "hxq") &&
             cJSON_AddNumberToObject(qc, "codebook_size", HXQ_CODEBOOK_SIZE) &&
             cJSON_AddBoolToObject(qc, "sidecar_enabled", 1);
    if (ok && cJSON_AddItemToObject(qc, "exact_patterns", ex))
        ex = NULL;
    else
        ok = 0;
    if (ok && cJSON_AddItemToObject(qc, "compressed_modules", mods))
        mods = NULL;
    else
        ok = 0;
    cJSON_Delete(ex);
    cJSON_Delete(mods);
    if (!ok) {
        cJSON_Delete(qc);
        return NULL;
    }
    return qc;
}

static int write_config(const cv_plan *p, const char *src, const char *tmp, cv_files *files,
                        hxq_error *err)
{
    char *path = hxq_path_join(src, "config.json");
    char *text = NULL;
    int rc = path ? hxq_read_file(path, 64u << 20, &text, NULL, err)
                  : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    cJSON *root = rc == HXQ_OK ? cJSON_Parse(text) : NULL;
    free(text);
    if (rc == HXQ_OK && !cJSON_IsObject(root))
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: not a JSON object", path);
    free(path);
    if (rc < 0) {
        cJSON_Delete(root);
        return rc;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "quantization_config");
    if (p->to == HXQ_CONVERT_DENSE) {
        static const char *const keys[] = {"torch_dtype", "dtype"};
        for (int i = 0; i < 2; i++)
            if (cJSON_GetObjectItemCaseSensitive(root, keys[i]))
                cJSON_ReplaceItemInObjectCaseSensitive(root, keys[i],
                                                       cJSON_CreateString("bfloat16"));
    } else {
        cJSON *qc = canonical_qconfig(p->q);
        if (!qc || !cJSON_AddItemToObject(root, "quantization_config", qc)) {
            cJSON_Delete(qc);
            cJSON_Delete(root);
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        }
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    size_t n = txt ? strlen(txt) : 0;
    char *buf = txt ? realloc(txt, n + 2) : NULL;
    if (!buf) {
        free(txt);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    memcpy(buf + n, "\n", 2);
    path = hxq_path_join(tmp, "config.json");
    rc = path ? hxq_write_file_atomic(path, buf, n + 1, err)
              : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    free(path);
    free(buf);
    return rc == HXQ_OK ? add_file(files, tmp, "config.json", err) : rc;
}

int convert_write_meta(const cv_plan *p, const char *src, const char *tmp, cv_files *files,
                       hxq_error *err)
{
    HXQ_TRY(write_config(p, src, tmp, files, err));
    const char **names = NULL;
    int n = 0;
    HXQ_TRY(hxq_copy_aux_files(src, tmp, &names, &n, err));
    int rc = HXQ_OK;
    for (int i = 0; i < n && rc == HXQ_OK; i++)
        rc = add_file(files, tmp, names[i], err);
    free(names);
    return rc;
}
