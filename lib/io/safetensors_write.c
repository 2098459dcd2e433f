/* safetensors_write.c - streaming safetensors writer: declare tensors,
 * write the header, stream the data, rename into place at the end.
 *
 * Data arrive in declaration order but are laid out as the safetensors
 * library lays them out: by element size, largest first, then by name. So
 * every tensor is naturally aligned in the file (the header is padded to 8
 * bytes), the many small tensors of a compressed model (sidecars, codebooks)
 * sit at small offsets, and the layout does not depend on the order in
 * which a producer declares its tensors. Each piece is written with pwrite()
 * at its place; the hook sees the finished file front to back. */
#include "io_int.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STW_BUF (4u << 20)
#define STW_MAX_JSON_INT 9007199254740992ull   /* 2^53: values stay below it */

struct stw_entry {
    char *name;
    hxq_dtype dtype;
    int ndim;
    int64_t shape[HXQ_MAX_DIMS];
    uint64_t nbytes;
    uint64_t begin;
};

struct hxq_stw {
    char *path, *tmp;
    int fd;
    struct stw_entry *ents;
    int64_t n, cap;
    uint64_t data_size;       /* declared */
    uint64_t written;         /* data bytes written */
    uint64_t header_size;     /* 8 + padded JSON */
    int64_t cur;              /* declared index receiving data */
    uint64_t cur_off;         /* bytes of it written so far */
    int begun;
    hxq_write_hook hook;
    void *hook_ctx;
    unsigned char *buf;
};

int hxq_stw_create(const char *path, hxq_stw **out, hxq_error *err)
{
    hxq_stw *w = calloc(1, sizeof(*w));
    if (!w)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    w->fd = -1;
    w->path = hxq_strdup(path);
    w->tmp = malloc(strlen(path) + 5);
    if (!w->path || !w->tmp) {
        hxq_stw_abort(w);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    sprintf(w->tmp, "%s.tmp", path);
    *out = w;
    return HXQ_OK;
}

void hxq_stw_set_hook(hxq_stw *w, hxq_write_hook hook, void *ctx)
{
    w->hook = hook;
    w->hook_ctx = ctx;
}

int hxq_stw_add(hxq_stw *w, const char *name, hxq_dtype dt, int ndim, const int64_t *shape,
                hxq_error *err)
{
    if (w->begun)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: tensor '%s' declared after the header", w->path,
                       name);
    /* names the reader would refuse: the file must read back */
    if (!*name || !strcmp(name, "__metadata__") || hxq_utf8_valid_prefix(name, strlen(name)) != strlen(name))
        return hxq_err(err, HXQ_ERR_INVALID, "%s: tensor name '%s' is empty, reserved or not UTF-8",
                       w->path, name);
    if (ndim < 0 || ndim > HXQ_MAX_DIMS || hxq_dtype_size(dt) == 0)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: tensor '%s': bad dtype or rank", w->path, name);
    int64_t nelem = 1, nbytes;
    for (int d = 0; d < ndim; d++)
        if (hxq_mul_i64(nelem, shape[d], &nelem) < 0 || (uint64_t)shape[d] >= STW_MAX_JSON_INT)
            return hxq_err(err, HXQ_ERR_INVALID, "%s: tensor '%s': bad shape", w->path, name);
    /* offsets are JSON numbers: keep every one exactly representable */
    if (hxq_mul_i64(nelem, (int64_t)hxq_dtype_size(dt), &nbytes) < 0 ||
        (uint64_t)nbytes >= STW_MAX_JSON_INT - w->data_size)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: tensor '%s': size overflows", w->path, name);
    for (int64_t i = 0; i < w->n; i++)
        if (!strcmp(w->ents[i].name, name))
            return hxq_err(err, HXQ_ERR_INVALID, "%s: tensor '%s' declared twice", w->path, name);
    if (w->n == w->cap) {
        int64_t cap = w->cap ? 2 * w->cap : 64;
        struct stw_entry *e = realloc(w->ents, (size_t)cap * sizeof(*e));
        if (!e)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        w->ents = e;
        w->cap = cap;
    }
    struct stw_entry *e = &w->ents[w->n];
    memset(e, 0, sizeof(*e));
    if (!(e->name = hxq_strdup(name)))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    e->dtype = dt;
    e->ndim = ndim;
    memcpy(e->shape, shape, (size_t)ndim * sizeof(int64_t));
    e->nbytes = (uint64_t)nbytes;
    w->data_size += e->nbytes;
    w->n++;
    return HXQ_OK;
}

uint64_t hxq_stw_data_size(const hxq_stw *w)
{
    return w->data_size;
}

static int ent_name_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct stw_entry *const *)a)->name,
                  (*(const struct stw_entry *const *)b)->name);
}

/* Layout order: element size descending, then name. */
static int ent_layout_cmp(const void *a, const void *b)
{
    const struct stw_entry *x = *(const struct stw_entry *const *)a;
    const struct stw_entry *y = *(const struct stw_entry *const *)b;
    size_t sx = hxq_dtype_size(x->dtype), sy = hxq_dtype_size(y->dtype);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int raw_pwrite(hxq_stw *w, const void *data, size_t len, uint64_t off, hxq_error *err)
{
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t r = pwrite(w->fd, p, left, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return hxq_err(err, HXQ_ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
        p += r;
        off += (uint64_t)r;
        left -= (size_t)r;
    }
    return HXQ_OK;
}

/* Feeds the hook with the whole finished file, front to back. */
static int replay_hook(hxq_stw *w, hxq_error *err)
{
    uint64_t size = w->header_size + w->data_size, off = 0;
    while (off < size) {
        size_t n = size - off < STW_BUF ? (size_t)(size - off) : STW_BUF;
        ssize_t r = pread(w->fd, w->buf, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return hxq_err(err, HXQ_ERR_IO, "%s: reading back failed: %s", w->path,
                           r < 0 ? strerror(errno) : "short file");
        w->hook(w->hook_ctx, w->buf, (size_t)r);
        off += (uint64_t)r;
    }
    return HXQ_OK;
}

int hxq_stw_begin(hxq_stw *w, hxq_error *err)
{
    if (w->begun)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: header already written", w->path);
    struct stw_entry **order = calloc((size_t)w->n + 1, sizeof(*order));
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_CreateObject();
    char *json = NULL;
    int rc = HXQ_OK;
    if (!order || !root || !meta) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddItemToObject(root, "__metadata__", meta);
    meta = NULL;
    for (int64_t i = 0; i < w->n; i++)
        order[i] = &w->ents[i];
    qsort(order, (size_t)w->n, sizeof(*order), ent_layout_cmp);
    uint64_t at = 0;
    for (int64_t i = 0; i < w->n; i++) {
        order[i]->begin = at;
        at += order[i]->nbytes;
    }
    qsort(order, (size_t)w->n, sizeof(*order), ent_name_cmp);
    for (int64_t i = 0; i < w->n; i++) {
        const struct stw_entry *e = order[i];
        cJSON *t = cJSON_CreateObject();
        cJSON *shape = cJSON_CreateArray();
        cJSON *offs = cJSON_CreateArray();
        if (!t || !shape || !offs) {
            cJSON_Delete(t);
            cJSON_Delete(shape);
            cJSON_Delete(offs);
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            goto out;
        }
        cJSON_AddStringToObject(t, "dtype", hxq_dtype_name(e->dtype));
        for (int d = 0; d < e->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]));
        cJSON_AddItemToObject(t, "shape", shape);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)e->begin));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(e->begin + e->nbytes)));
        cJSON_AddItemToObject(t, "data_offsets", offs);
        cJSON_AddItemToObject(root, e->name, t);
    }
    json = cJSON_PrintUnformatted(root);
    if (!json) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t jl = strlen(json);
    size_t padded = (jl + 7) & ~(size_t)7;
    w->buf = malloc(STW_BUF);
    if (!w->buf) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    w->fd = open(w->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = hxq_err(err, HXQ_ERR_IO, "%s: cannot create: %s", w->tmp, strerror(errno));
        goto out;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = "        ";
    if ((rc = raw_pwrite(w, len8, 8, 0, err)) < 0 || (rc = raw_pwrite(w, json, jl, 8, err)) < 0 ||
        (padded > jl && (rc = raw_pwrite(w, spaces, padded - jl, 8 + jl, err)) < 0))
        goto out;
    w->header_size = 8 + padded;
    w->begun = 1;
out:
    if (rc < 0) {
        /* leave the writer as before the call: no descriptor, no file */
        if (w->fd >= 0) {
            close(w->fd);
            w->fd = -1;
            unlink(w->tmp);
        }
        free(w->buf);
        w->buf = NULL;
    }
    free(order);
    free(json);
    cJSON_Delete(root);
    cJSON_Delete(meta);
    return rc;
}

int hxq_stw_write(hxq_stw *w, const void *data, uint64_t len, hxq_error *err)
{
    if (!w->begun)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: data written before the header", w->path);
    if (len > w->data_size - w->written)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: %llu bytes written past the declared %llu",
                       w->path, (unsigned long long)(w->written + len),
                       (unsigned long long)w->data_size);
    const unsigned char *p = data;
    w->written += len;
    while (len > 0) {
        while (w->cur_off == w->ents[w->cur].nbytes) {     /* next (skipping empty) */
            w->cur++;
            w->cur_off = 0;
        }
        const struct stw_entry *e = &w->ents[w->cur];
        uint64_t n = e->nbytes - w->cur_off < len ? e->nbytes - w->cur_off : len;
        HXQ_TRY(raw_pwrite(w, p, (size_t)n, w->header_size + e->begin + w->cur_off, err));
        w->cur_off += n;
        p += n;
        len -= n;
    }
    return HXQ_OK;
}

static void stw_free(hxq_stw *w)
{
    if (w->fd >= 0)
        close(w->fd);
    for (int64_t i = 0; i < w->n; i++)
        free(w->ents[i].name);
    free(w->ents);
    free(w->buf);
    free(w->path);
    free(w->tmp);
    free(w);
}

void hxq_stw_abort(hxq_stw *w)
{
    if (!w)
        return;
    if (w->tmp && w->fd >= 0)
        unlink(w->tmp);
    stw_free(w);
}

static int sync_parent(const char *path, hxq_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return hxq_fsync_dir(".", err);
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    memcpy(dir, path, n);
    dir[n] = '\0';
    int rc = hxq_fsync_dir(dir, err);
    free(dir);
    return rc;
}

int hxq_stw_finish(hxq_stw *w, hxq_error *err)
{
    int rc = HXQ_OK;
    if (!w->begun && (rc = hxq_stw_begin(w, err)) < 0)
        goto fail;
    if (w->written != w->data_size) {
        rc = hxq_err(err, HXQ_ERR_INVALID, "%s: %llu of %llu data bytes written", w->path,
                     (unsigned long long)w->written, (unsigned long long)w->data_size);
        goto fail;
    }
    if (w->hook && (rc = replay_hook(w, err)) < 0)
        goto fail;
    if (fsync(w->fd) < 0) {
        rc = hxq_err(err, HXQ_ERR_IO, "%s: fsync failed: %s", w->path, strerror(errno));
        goto fail;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) < 0) {
        rc = hxq_err(err, HXQ_ERR_IO, "%s: close failed: %s", w->path, strerror(errno));
        unlink(w->tmp);
        stw_free(w);
        return rc;
    }
    if (rename(w->tmp, w->path) < 0) {
        rc = hxq_err(err, HXQ_ERR_IO, "%s: rename failed: %s", w->path, strerror(errno));
        unlink(w->tmp);
    } else {
        rc = sync_parent(w->path, err);           /* make the rename durable */
    }
    stw_free(w);
    return rc;
fail:
    hxq_stw_abort(w);
    return rc;
}
