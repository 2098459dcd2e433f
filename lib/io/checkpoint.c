/* checkpoint.c - a model folder as one set of tensors: a single
 * safetensors file or shards listed by model.safetensors.index.json. */
#include "io_int.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_NAME "model.safetensors.index.json"
#define INDEX_MAX_BYTES (256u << 20)

struct hxq_ckpt {
    char *dir;
    hxq_st_file **files;
    int nfiles;
    hxq_tensor *tensors;     /* sorted by name; names borrowed from files */
    int64_t count;
    int sharded;
};

void hxq_ckpt_close(hxq_ckpt *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nfiles; i++)
        hxq_st_close(c->files[i]);
    free(c->files);
    free(c->tensors);
    free(c->dir);
    free(c);
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static int open_sharded(hxq_ckpt *c, const char *ipath, hxq_error *err)
{
    char *text = NULL;
    int rc = hxq_read_file(ipath, INDEX_MAX_BYTES, &text, NULL, err);
    if (rc < 0)
        return rc;
    hxq_index ix;
    rc = hxq_index_parse(text, ipath, &ix, err);
    free(text);
    if (rc < 0)
        return rc;
    c->files = calloc((size_t)ix.nfiles + 1, sizeof(*c->files));
    if (!c->files) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < ix.nfiles; i++) {
        char *path = hxq_path_join(c->dir, ix.files[i]);
        if (!path) {
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (!hxq_path_exists(path)) {
            rc = hxq_err(err, HXQ_ERR_IO, "%s: shard '%s' named in the index is missing", ipath,
                         ix.files[i]);
            free(path);
            goto out;
        }
        rc = hxq_st_open(path, &c->files[c->nfiles], err);
        free(path);
        if (rc < 0)
            goto out;
        c->nfiles++;
    }
    /* every mapped tensor is in its shard (files[] follows ix.files[]) */
    for (int64_t i = 0; i < ix.count; i++) {
        int f = 0;
        while (f < c->nfiles && strcmp(ix.files[f], ix.shards[i]))
            f++;
        if (f == c->nfiles || !hxq_st_find(c->files[f], ix.tensors[i])) {
            rc = hxq_err(err, HXQ_ERR_FORMAT,
                         "%s: tensor '%s' is mapped to '%s' but that shard lacks it", ipath,
                         ix.tensors[i], ix.shards[i]);
            goto out;
        }
    }
    /* every shard tensor is mapped to that shard; with the loop above and
     * unique names on both sides the map and the shards are a bijection */
    for (int i = 0; i < c->nfiles; i++) {
        const char *base = base_name(hxq_st_path(c->files[i]));
        for (int64_t j = 0; j < hxq_st_count(c->files[i]); j++) {
            const hxq_tensor *t = hxq_st_tensor(c->files[i], j);
            const char *m = hxq_index_find(&ix, t->name);
            if (!m || strcmp(m, base)) {
                rc = hxq_err(err, HXQ_ERR_FORMAT,
                             "%s: tensor '%s' is in shard '%s' but the index %s", ipath, t->name,
                             base, m ? "maps it to another shard" : "does not list it");
                goto out;
            }
        }
    }
    c->sharded = 1;
out:
    hxq_index_free(&ix);
    return rc;
}

static int is_safetensors_name(const char *n)
{
    size_t l = strlen(n);
    return l > 12 && !strcmp(n + l - 12, ".safetensors");
}

static int open_single(hxq_ckpt *c, hxq_error *err)
{
    char *path = hxq_path_join(c->dir, "model.safetensors");
    if (!path)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (!hxq_path_exists(path)) {
        /* exactly one *.safetensors file is also accepted */
        free(path);
        path = NULL;
        DIR *d = opendir(c->dir);
        if (!d)
            return hxq_err(err, HXQ_ERR_IO, "%s: cannot open folder", c->dir);
        struct dirent *de;
        int n = 0;
        char first[1024] = "";
        while ((de = readdir(d))) {
            if (is_safetensors_name(de->d_name)) {
                if (!n++)
                    snprintf(first, sizeof(first), "%s", de->d_name);
            }
        }
        closedir(d);
        if (n == 0)
            return hxq_err(err, HXQ_ERR_IO, "%s: no model.safetensors, " INDEX_NAME
                           " or other .safetensors file", c->dir);
        if (n > 1)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %d .safetensors files but no " INDEX_NAME,
                           c->dir, n);
        path = hxq_path_join(c->dir, first);
        if (!path)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    c->files = calloc(1, sizeof(*c->files));
    int rc = c->files ? hxq_st_open(path, &c->files[0], err)
                      : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    free(path);
    if (rc == HXQ_OK)
        c->nfiles = 1;
    return rc;
}

int hxq_ckpt_open(const char *dir, hxq_ckpt **out, hxq_error *err)
{
    if (!hxq_is_dir(dir))
        return hxq_err(err, HXQ_ERR_IO, "%s: not a folder", dir);
    hxq_ckpt *c = calloc(1, sizeof(*c));
    if (!c || !(c->dir = hxq_strdup(dir))) {
        free(c);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    char *ipath = hxq_path_join(dir, INDEX_NAME);
    int rc;
    if (!ipath)
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    else if (hxq_path_exists(ipath))
        rc = open_sharded(c, ipath, err);
    else
        rc = open_single(c, err);
    free(ipath);
    if (rc < 0)
        goto fail;
    for (int i = 0; i < c->nfiles; i++)
        c->count += hxq_st_count(c->files[i]);
    c->tensors = calloc((size_t)c->count + 1, sizeof(hxq_tensor));
    if (!c->tensors) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int64_t k = 0;
    for (int i = 0; i < c->nfiles; i++)
        for (int64_t j = 0; j < hxq_st_count(c->files[i]); j++)
            c->tensors[k++] = *hxq_st_tensor(c->files[i], j);
    qsort(c->tensors, (size_t)c->count, sizeof(hxq_tensor), io_tensor_name_cmp);
    for (int64_t i = 1; i < c->count; i++) {
        if (!strcmp(c->tensors[i - 1].name, c->tensors[i].name)) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s' is in both %s and %s", dir,
                         c->tensors[i].name, c->tensors[i - 1].path, c->tensors[i].path);
            goto fail;
        }
    }
    *out = c;
    return HXQ_OK;
fail:
    hxq_ckpt_close(c);
    return rc;
}

int64_t hxq_ckpt_count(const hxq_ckpt *c) { return c->count; }

const hxq_tensor *hxq_ckpt_tensor(const hxq_ckpt *c, int64_t i)
{
    return (i >= 0 && i < c->count) ? &c->tensors[i] : NULL;
}

const hxq_tensor *hxq_ckpt_find(const hxq_ckpt *c, const char *name)
{
    return io_tensor_bsearch(c->tensors, c->count, name);
}

int hxq_ckpt_nfiles(const hxq_ckpt *c) { return c->nfiles; }

const hxq_st_file *hxq_ckpt_file(const hxq_ckpt *c, int i)
{
    return (i >= 0 && i < c->nfiles) ? c->files[i] : NULL;
}

const char *hxq_ckpt_dir(const hxq_ckpt *c) { return c->dir; }
int hxq_ckpt_is_sharded(const hxq_ckpt *c) { return c->sharded; }
