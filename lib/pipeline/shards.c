/* shards.c - a set of safetensors files written in one stream: tensors are
 * declared with their shard up front, data follow in declaration order,
 * each file is SHA-256 hashed while written and each tensor XXH64'd; an
 * index.json is written when there is more than one shard. */
#include "hxq_pipeline.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shard_tensor {
    char *name;
    int shard;
    uint64_t nbytes;
    char xxh64[17];
};

struct shard_hook {
    hxq_sha256 *sha;
    uint64_t *bytes;
};

/* Hashes and counts every byte a writer puts in its file. */
static void shard_hook_fn(void *ctx, const void *buf, size_t len)
{
    struct shard_hook *h = ctx;
    hxq_sha256_update(h->sha, buf, len);
    *h->bytes += len;
}

struct hxq_shards {
    char *dir;
    int nshards;
    char **names;              /* file names            */
    hxq_stw **w;               /* one writer per shard  */
    hxq_sha256 **sha;
    uint64_t *fbytes;          /* bytes written per file */
    struct shard_hook *hooks;
    struct shard_tensor *t;
    int64_t n, cap, next;      /* declared, written     */
    int begun;
    uint64_t total;            /* tensor data bytes     */
};

int hxq_shards_assign(const uint64_t *bytes, int64_t n, uint64_t max_bytes, int *shard)
{
    int cur = 0;
    uint64_t used = 0;
    for (int64_t i = 0; i < n; i++) {
        if (used > 0 && used + bytes[i] > max_bytes) {
            cur++;
            used = 0;
        }
        used += bytes[i];
        shard[i] = cur;
    }
    return cur + 1;
}

void hxq_rc_files_free(hxq_rc_file *f, int n)
{
    for (int i = 0; f && i < n; i++)
        free(f[i].name);
    free(f);
}

int hxq_shards_create(const char *dir, int nshards, hxq_shards **out, hxq_error *err)
{
    if (nshards < 1 || nshards > 99999)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: bad shard count %d", dir, nshards);
    hxq_shards *s = calloc(1, sizeof(*s));
    if (!s)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    s->nshards = nshards;
    s->dir = hxq_strdup(dir);
    s->names = calloc((size_t)nshards, sizeof(char *));
    s->w = calloc((size_t)nshards, sizeof(hxq_stw *));
    s->sha = calloc((size_t)nshards, sizeof(hxq_sha256 *));
    s->fbytes = calloc((size_t)nshards, sizeof(uint64_t));
    s->hooks = calloc((size_t)nshards, sizeof(struct shard_hook));
    if (!s->dir || !s->names || !s->w || !s->sha || !s->fbytes || !s->hooks)
        goto oom;
    for (int i = 0; i < nshards; i++) {
        char name[64];
        if (nshards == 1)
            snprintf(name, sizeof(name), "model.safetensors");
        else
            snprintf(name, sizeof(name), "model-%05d-of-%05d.safetensors", i + 1, nshards);
        char *path = hxq_path_join(dir, name);
        if (!(s->names[i] = hxq_strdup(name)) || !path || !(s->sha[i] = hxq_sha256_create())) {
            free(path);
            goto oom;
        }
        int rc = hxq_stw_create(path, &s->w[i], err);
        free(path);
        if (rc < 0) {
            hxq_shards_free(s);
            return rc;
        }
        s->hooks[i].sha = s->sha[i];
        s->hooks[i].bytes = &s->fbytes[i];
        hxq_stw_set_hook(s->w[i], shard_hook_fn, &s->hooks[i]);
    }
    *out = s;
    return HXQ_OK;
oom:
    hxq_shards_free(s);
    return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
}

int hxq_shards_add(hxq_shards *s, const char *name, hxq_dtype dt, int ndim,
                   const int64_t *shape, int shard, hxq_error *err)
{
    int last = s->n ? s->t[s->n - 1].shard : 0;
    if (s->begun || shard < last || shard >= s->nshards)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: tensor '%s': bad shard %d or late declaration",
                       s->dir, name, shard);
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 256;
        struct shard_tensor *t = realloc(s->t, (size_t)cap * sizeof(*t));
        if (!t)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        s->t = t;
        s->cap = cap;
    }
    uint64_t before = hxq_stw_data_size(s->w[shard]);
    HXQ_TRY(hxq_stw_add(s->w[shard], name, dt, ndim, shape, err));
    struct shard_tensor *t = &s->t[s->n];
    memset(t, 0, sizeof(*t));
    if (!(t->name = hxq_strdup(name)))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    t->shard = shard;
    t->nbytes = hxq_stw_data_size(s->w[shard]) - before;
    s->total += t->nbytes;
    s->n++;
    return HXQ_OK;
}

int hxq_shards_write_tensor(hxq_shards *s, const void *data, uint64_t len, hxq_error *err)
{
    if (s->next >= s->n)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: more tensors written than declared", s->dir);
    struct shard_tensor *t = &s->t[s->next];
    if (len != t->nbytes)
        return hxq_err(err, HXQ_ERR_INVALID, "tensor '%s': %llu bytes written, %llu declared",
                       t->name, (unsigned long long)len, (unsigned long long)t->nbytes);
    if (!s->begun) {
        for (int i = 0; i < s->nshards; i++)
            HXQ_TRY(hxq_stw_begin(s->w[i], err));
        s->begun = 1;
    }
    HXQ_TRY(hxq_stw_write(s->w[t->shard], data, len, err));
    hxq_xxh64_hex(data, (size_t)len, t->xxh64);
    s->next++;
    return HXQ_OK;
}

const char *hxq_shards_tensor_file(const hxq_shards *s, int64_t i)
{
    return s->names[s->t[i].shard];
}

const char *hxq_shards_tensor_xxh64(const hxq_shards *s, int64_t i)
{
    return s->t[i].xxh64;
}

static int tensor_name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct shard_tensor *)a)->name, ((const struct shard_tensor *)b)->name);
}

/* model.safetensors.index.json as transformers writes it (keys sorted). */
static int write_index(hxq_shards *s, hxq_rc_file *f, hxq_error *err)
{
    struct shard_tensor *sorted = malloc((size_t)s->n * sizeof(*sorted) + 1);
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    cJSON *map = cJSON_AddObjectToObject(root, "weight_map");
    int ok = sorted && meta && map && cJSON_AddNumberToObject(meta, "total_size", (double)s->total);
    if (ok) {
        memcpy(sorted, s->t, (size_t)s->n * sizeof(*sorted));
        qsort(sorted, (size_t)s->n, sizeof(*sorted), tensor_name_cmp);
        for (int64_t i = 0; ok && i < s->n; i++)
            ok = cJSON_AddStringToObject(map, sorted[i].name, s->names[sorted[i].shard]) != NULL;
    }
    char *txt = ok ? cJSON_Print(root) : NULL;
    free(sorted);
    cJSON_Delete(root);
    if (!txt)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    char *path = hxq_path_join(s->dir, "model.safetensors.index.json");
    int rc = path ? hxq_write_file_atomic(path, txt, strlen(txt), err)
                  : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (rc == HXQ_OK) {
        f->size = strlen(txt);
        hxq_sha256_buffer(txt, strlen(txt), f->sha256);
        if (!(f->name = hxq_strdup("model.safetensors.index.json")))
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    free(path);
    free(txt);
    return rc;
}

int hxq_shards_finish(hxq_shards *s, hxq_rc_file **files, int *nfiles, hxq_error *err)
{
    if (s->next != s->n)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: %lld of %lld tensors written", s->dir,
                       (long long)s->next, (long long)s->n);
    int nf = s->nshards + (s->nshards > 1);
    hxq_rc_file *f = calloc((size_t)nf, sizeof(*f));
    if (!f)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < s->nshards; i++) {
        hxq_stw *w = s->w[i];
        s->w[i] = NULL;
        int rc = hxq_stw_finish(w, err);  /* frees w; the hook saw every byte */
        if (rc < 0) {
            hxq_rc_files_free(f, nf);
            return rc;
        }
        hxq_sha256_final_hex(s->sha[i], f[i].sha256);
        s->sha[i] = NULL;
        f[i].size = s->fbytes[i];
        if (!(f[i].name = hxq_strdup(s->names[i]))) {
            hxq_rc_files_free(f, nf);
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        }
    }
    if (s->nshards > 1) {
        int rc = write_index(s, &f[s->nshards], err);
        if (rc < 0) {
            hxq_rc_files_free(f, nf);
            return rc;
        }
    }
    *files = f;
    *nfiles = nf;
    return HXQ_OK;
}

void hxq_shards_free(hxq_shards *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nshards; i++) {
        if (s->w)
            hxq_stw_abort(s->w[i]);
        if (s->sha)
            hxq_sha256_free(s->sha[i]);
        if (s->names)
            free(s->names[i]);
    }
    for (int64_t i = 0; i < s->n; i++)
        free(s->t[i].name);
    free(s->t);
    free(s->w);
    free(s->sha);
    free(s->fbytes);
    free(s->hooks);
    free(s->names);
    free(s->dir);
    free(s);
}
