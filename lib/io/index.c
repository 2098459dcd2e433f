/* index.c - model.safetensors.index.json: the weight_map of a sharded
 * checkpoint, parsed from text into sorted tables. */
#include "io_int.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

void hxq_index_free(hxq_index *ix)
{
    if (!ix)
        return;
    for (int64_t i = 0; i < ix->count; i++)
        free(ix->tensors[i]);
    for (int i = 0; i < ix->nfiles; i++)
        free(ix->files[i]);
    free(ix->tensors);
    free(ix->shards);
    free(ix->files);
    memset(ix, 0, sizeof(*ix));
}

static int cstr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts the (tensor, shard) pairs by tensor name. */
struct pair {
    const char *tensor, *shard;
};

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pair *)a)->tensor, ((const struct pair *)b)->tensor);
}

static int shard_name_ok(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
           hxq_utf8_valid_prefix(s, strlen(s)) == strlen(s);
}

/* Fills ix from the validated pairs (sorted by tensor). */
static int index_fill(hxq_index *ix, const struct pair *pairs, int64_t n, hxq_error *err)
{
    ix->tensors = calloc((size_t)n + 1, sizeof(char *));
    ix->shards = calloc((size_t)n + 1, sizeof(char *));
    ix->files = calloc((size_t)n + 1, sizeof(char *));
    const char **names = calloc((size_t)n + 1, sizeof(char *));
    int rc = HXQ_OK;
    if (!ix->tensors || !ix->shards || !ix->files || !names) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int64_t i = 0; i < n; i++)
        names[i] = pairs[i].shard;
    qsort(names, (size_t)n, sizeof(char *), cstr_cmp);
    for (int64_t i = 0; i < n; i++) {
        if (ix->nfiles > 0 && !strcmp(ix->files[ix->nfiles - 1], names[i]))
            continue;
        if (!(ix->files[ix->nfiles] = hxq_strdup(names[i]))) {
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            goto out;
        }
        ix->nfiles++;
    }
    for (int64_t i = 0; i < n; i++) {
        if (!(ix->tensors[i] = hxq_strdup(pairs[i].tensor))) {
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            goto out;
        }
        ix->count++;
        const char *key = pairs[i].shard;
        char **f = bsearch(&key, ix->files, (size_t)ix->nfiles, sizeof(char *), cstr_cmp);
        ix->shards[i] = *f;                        /* always found: built above */
    }
out:
    free(names);
    return rc;
}

int hxq_index_parse(const char *json, const char *label, hxq_index *out, hxq_error *err)
{
    hxq_index ix;
    memset(&ix, 0, sizeof(ix));
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: not valid JSON", label);
    struct pair *pairs = NULL;
    int rc = HXQ_OK;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(root) || !cJSON_IsObject(map)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: no \"weight_map\" object", label);
        goto out;
    }
    int64_t n = cJSON_GetArraySize(map);
    if (n == 0) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: the weight_map is empty", label);
        goto out;
    }
    pairs = calloc((size_t)n, sizeof(*pairs));
    if (!pairs) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    int64_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, map) {
        if (!*e->string || hxq_utf8_valid_prefix(e->string, strlen(e->string)) != strlen(e->string)) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: weight_map has an empty or non-UTF-8 tensor name",
                         label);
            goto out;
        }
        if (!cJSON_IsString(e)) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': weight_map value is not a string",
                         label, e->string);
            goto out;
        }
        if (!shard_name_ok(e->valuestring)) {
            rc = hxq_err(err, HXQ_ERR_FORMAT,
                         "%s: tensor '%s': shard name '%s' is not a file in the folder", label,
                         e->string, e->valuestring);
            goto out;
        }
        pairs[k].tensor = e->string;
        pairs[k].shard = e->valuestring;
        k++;
    }
    qsort(pairs, (size_t)k, sizeof(*pairs), pair_cmp);
    for (int64_t i = 1; i < k; i++) {
        if (!strcmp(pairs[i - 1].tensor, pairs[i].tensor)) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s' appears twice in the weight_map",
                         label, pairs[i].tensor);
            goto out;
        }
    }
    if ((rc = index_fill(&ix, pairs, k, err)) < 0)
        goto out;
    *out = ix;
    memset(&ix, 0, sizeof(ix));
out:
    hxq_index_free(&ix);
    free(pairs);
    cJSON_Delete(root);
    return rc;
}

const char *hxq_index_find(const hxq_index *ix, const char *tensor)
{
    int64_t lo = 0, hi = ix->count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->tensors[mid], tensor);
        if (c == 0)
            return ix->shards[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
