/* qconfig.c - the quantization_config block of an HXQ model folder,
 * including the legacy "helix" and "cdna_v3" spellings. */
#include "io_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hxq_qconfig_free(hxq_qconfig *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->n_exact; i++)
        free(q->exact_patterns[i]);
    for (int64_t i = 0; i < q->n_modules; i++)
        free(q->modules[i]);
    free(q->exact_patterns);
    free(q->modules);
    memset(q, 0, sizeof(*q));
}

/* Copies a JSON array of strings. */
static int string_list(const cJSON *arr, const char *key, const char *label, char ***out,
                       int64_t *n, hxq_error *err)
{
    *out = NULL;
    *n = 0;
    if (!arr)
        return HXQ_OK;
    if (!cJSON_IsArray(arr))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: quantization_config.%s is not a list", label,
                       key);
    int64_t cnt = cJSON_GetArraySize(arr);
    char **v = calloc((size_t)cnt + 1, sizeof(char *));
    if (!v)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    const cJSON *it;
    int64_t k = 0;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it) || !(v[k] = hxq_strdup(it->valuestring))) {
            for (int64_t i = 0; i < k; i++)
                free(v[i]);
            free(v);
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: quantization_config.%s[%lld] is not a string",
                           label, key, (long long)k);
        }
        k++;
    }
    *out = v;
    *n = k;
    return HXQ_OK;
}

int hxq_qconfig_parse(const char *json, const char *label, hxq_qconfig *out, hxq_error *err)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: not valid JSON", label);
    hxq_qconfig q;
    memset(&q, 0, sizeof(q));
    int rc = HXQ_OK;
    const cJSON *qc = cJSON_GetObjectItemCaseSensitive(root, "quantization_config");
    if (!cJSON_IsObject(qc)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: no quantization_config (not an HXQ model)", label);
        goto out;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(qc, "quant_method");
    if (!cJSON_IsString(m)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: quantization_config has no quant_method", label);
        goto out;
    }
    if (strcmp(m->valuestring, "hxq") && strcmp(m->valuestring, "helix") &&
        strcmp(m->valuestring, "cdna_v3")) {
        rc = hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: quant_method '%s' is not an HXQ method", label,
                     m->valuestring);
        goto out;
    }
    snprintf(q.quant_method, sizeof(q.quant_method), "%s", m->valuestring);
    q.codebook_size = 256;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(qc, "codebook_size");
    if (!k)
        k = cJSON_GetObjectItemCaseSensitive(qc, "n_clusters");
    if (k) {
        if (!cJSON_IsNumber(k) || !(k->valuedouble >= 1 && k->valuedouble <= 4096) ||
            k->valuedouble != (double)(int)k->valuedouble) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: quantization_config codebook size is not 1..4096",
                         label);
            goto out;
        }
        q.codebook_size = (int)k->valuedouble;
    }
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(qc, "sidecar_enabled");
    if (sc && !cJSON_IsBool(sc)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: quantization_config.sidecar_enabled is not true or "
                     "false", label);
        goto out;
    }
    q.sidecar_enabled = sc ? cJSON_IsTrue(sc) : 1;
    const cJSON *pk = cJSON_GetObjectItemCaseSensitive(qc, "index_packing");
    if (pk && !cJSON_IsString(pk)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: quantization_config.index_packing is not a string",
                     label);
        goto out;
    }
    q.packed12 = pk && !strcmp(pk->valuestring, "12bit");
    int64_t nexact = 0;
    if ((rc = string_list(cJSON_GetObjectItemCaseSensitive(qc, "exact_patterns"), "exact_patterns",
                          label, &q.exact_patterns, &nexact, err)) < 0)
        goto out;
    q.n_exact = (int)nexact;
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(qc, "compressed_modules");
    if (!mods) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: quantization_config has no compressed_modules", label);
        goto out;
    }
    if ((rc = string_list(mods, "compressed_modules", label, &q.modules, &q.n_modules, err)) < 0)
        goto out;
    *out = q;
    memset(&q, 0, sizeof(q));
out:
    hxq_qconfig_free(&q);
    cJSON_Delete(root);
    return rc;
}

int hxq_qconfig_load(const char *dir, hxq_qconfig *out, hxq_error *err)
{
    char *path = hxq_path_join(dir, "config.json");
    if (!path)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    char *text;
    int rc = hxq_read_file(path, 64u << 20, &text, NULL, err);
    if (rc == HXQ_OK) {
        rc = hxq_qconfig_parse(text, path, out, err);
        free(text);
    }
    free(path);
    return rc;
}
