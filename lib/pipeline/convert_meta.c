/* convert_meta.c - the small files of a converted folder: shard index,
 * config.json (quantization_config dropped or made canonical) and the
 * tokenizer/generation files copied from the source. */
#include "convert_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const default_exact[] = {"embed_tokens", "embed_positions", "wte", "wpe",
                                            "lm_head", "layernorm", "layer_norm", "norm",
                                            "backbone.embedding"};

int convert_skip_file(const char *name)
{
    return verify_ends_with(name, ".safetensors") || verify_ends_with(name, ".tmp") ||
           !strcmp(name, "model.safetensors.index.json") || !strcmp(name, "config.json") ||
           !strcmp(name, VERIFY_COMPRESSION_RECEIPT) || !strcmp(name, VERIFY_CONVERSION_RECEIPT) ||
           !strcmp(name, VERIFY_GATE_RECEIPT);
}

static int push_file(cv_file **files, int *n, const char *name, hxq_error *err)
{
    cv_file *f = realloc(*files, (size_t)(*n + 1) * sizeof(cv_file));
    if (!f)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    *files = f;
    memset(&f[*n], 0, sizeof(cv_file));
    snprintf(f[*n].name, sizeof(f[*n].name), "%s", name);
    (*n)++;
    return HXQ_OK;
}

/* Writes text as tmp/name and records it. */
static int write_text(const char *tmp, const char *name, const char *text, cv_file **files,
                      int *n, hxq_error *err)
{
    char *path = hxq_path_join(tmp, name);
    if (!path)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    size_t len = strlen(text);
    int rc = hxq_write_file_atomic(path, text, len, err);
    free(path);
    HXQ_TRY(rc);
    HXQ_TRY(push_file(files, n, name, err));
    hxq_sha256_buffer(text, len, (*files)[*n - 1].sha256);
    (*files)[*n - 1].size = len;
    return HXQ_OK;
}

/* Prints a cJSON document with a final newline; frees it. */
static int emit_json(cJSON *root, const char *tmp, const char *name, cv_file **files, int *n,
                     hxq_error *err)
{
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    size_t len = text ? strlen(text) : 0;
    char *full = text ? malloc(len + 2) : NULL;
    if (!full) {
        free(text);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    memcpy(full, text, len);
    memcpy(full + len, "\n", 2);
    free(text);
    int rc = write_text(tmp, name, full, files, n, err);
    free(full);
    return rc;
}

static int write_index(const cv_plan *p, const char *tmp, cv_file **files, int *n,
                       hxq_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = root ? cJSON_AddObjectToObject(root, "metadata") : NULL;
    cJSON *map = meta ? cJSON_AddObjectToObject(root, "weight_map") : NULL;
    uint64_t total = 0;
    int ok = map != NULL;
    for (int64_t i = 0; ok && i < p->n; i++) {
        char shard[64];
        convert_shard_name(p, p->t[i].shard, shard, sizeof(shard));
        ok = cJSON_AddStringToObject(map, p->t[i].name, shard) != NULL;
        total += p->t[i].nbytes;
    }
    ok = ok && cJSON_AddNumberToObject(meta, "total_size", (double)total);
    if (!ok) {
        cJSON_Delete(root);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    return emit_json(root, tmp, "model.safetensors.index.json", files, n, err);
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

static int write_config(const cv_plan *p, const char *src, const char *tmp, cv_file **files,
                        int *n, hxq_error *err)
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
    return emit_json(root, tmp, "config.json", files, n, err);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Copies the regular files that conversion carries over, in name order. */
static int copy_others(const char *src, const char *tmp, cv_file **files, int *n,
                       hxq_error *err)
{
    DIR *d = opendir(src);
    if (!d)
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot open folder", src);
    char **names = NULL;
    int nn = 0, rc = HXQ_OK;
    struct dirent *de;
    while (rc == HXQ_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.' || convert_skip_file(de->d_name))
            continue;
        char *path = hxq_path_join(src, de->d_name);
        struct stat st;
        int regular = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (!regular)
            continue;
        char **v = realloc(names, (size_t)(nn + 1) * sizeof(char *));
        if (!v || !(v[nn] = hxq_strdup(de->d_name))) {
            names = v ? v : names;
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            break;
        }
        names = v;
        nn++;
    }
    closedir(d);
    if (rc == HXQ_OK)
        qsort(names, (size_t)nn, sizeof(char *), name_cmp);
    for (int i = 0; i < nn && rc == HXQ_OK; i++) {
        char *from = hxq_path_join(src, names[i]), *to = hxq_path_join(tmp, names[i]);
        rc = from && to ? hxq_copy_file(from, to, err)
                        : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        if (rc == HXQ_OK)
            rc = push_file(files, n, names[i], err);
        if (rc == HXQ_OK)
            rc = hxq_sha256_file(to, (*files)[*n - 1].sha256, &(*files)[*n - 1].size, err);
        free(from);
        free(to);
    }
    for (int i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    return rc;
}

int convert_write_meta(const cv_plan *p, const char *src, const char *tmp, cv_file **files,
                       int *nfiles, hxq_error *err)
{
    if (p->nshards > 1)
        HXQ_TRY(write_index(p, tmp, files, nfiles, err));
    HXQ_TRY(write_config(p, src, tmp, files, nfiles, err));
    return copy_others(src, tmp, files, nfiles, err);
}
