/* compress_run.c - encode the plan's matrices on a thread pool and write
 * them in plan order: workers take items in order, at most `window` ahead
 * of the writer; whichever thread finds the next item ready becomes the
 * writer. Output bytes therefore do not depend on the thread count, and
 * memory holds at most window + threads encoded matrices. */
#include "compress_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run_ctx {
    const hxq_plan *p;
    hxq_shards *sh;
    compress_state *st;
    hxq_encoded *enc;           /* [n] results, valid while ready && !written */
    unsigned char *ready;       /* [n] */
    int64_t *key_base;          /* [n] first declared key of each item */
    int64_t window;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t next_write;
    int writing;
    int failed;
    int64_t err_item;
    hxq_error err;
    uint64_t bytes_done;
    double t0;
};

static void run_fail(struct run_ctx *c, int64_t item, const hxq_error *e)
{
    /* caller holds mu */
    if (!c->failed || item < c->err_item) {
        c->err_item = item;
        c->err = *e;
    }
    c->failed = 1;
    pthread_cond_broadcast(&c->cv);
}

static int set_key(hxq_rc_key *k, const char *prefix, const char *suffix, const char *file,
                   hxq_dtype dt, int ndim, const int64_t *shape, const char *xxh)
{
    size_t n = strlen(prefix) + strlen(suffix) + 1;
    k->key = malloc(n);
    k->file = hxq_strdup(file);
    if (!k->key || !k->file)
        return HXQ_ERR_NOMEM;
    snprintf(k->key, n, "%s%s", prefix, suffix);
    k->dtype = dt;
    k->ndim = ndim;
    memcpy(k->shape, shape, (size_t)ndim * sizeof(int64_t));
    memcpy(k->xxh64, xxh, 17);
    return HXQ_OK;
}

/* Writes item i (its encode result if compressed) and fills its receipt
 * entry. Runs on the writer thread only. */
static int write_item(struct run_ctx *c, int64_t i, hxq_error *e)
{
    const hxq_plan_item *it = &c->p->items[i];
    hxq_rc_tensor *rt = &c->st->r.tensors[i];
    int64_t kb = c->key_base[i];
    if (!(rt->name = hxq_strdup(it->name)) || !(rt->source = hxq_strdup(it->src->name)))
        return hxq_err(e, HXQ_ERR_NOMEM, "out of memory");
    rt->compressed = it->compressed;
    rt->expert = it->expert;
    rt->row_begin = it->row_begin;
    rt->row_end = it->row_end;
    rt->source_dtype = it->src->dtype;
    if (!it->compressed) {
        if (it->expert >= 0) {
            rt->ndim = 2;
            rt->shape[0] = it->rows;
            rt->shape[1] = it->cols;
        } else {
            rt->ndim = it->src->ndim;
            memcpy(rt->shape, it->src->shape, sizeof(rt->shape));
        }
        HXQ_TRY(hxq_shards_write_tensor(c->sh, it->data, it->in_bytes, e));
        rt->nkeys = 1;
        if (set_key(&rt->keys[0], it->name, "", hxq_shards_tensor_file(c->sh, kb),
                    it->src->dtype, rt->ndim, rt->shape, hxq_shards_tensor_xxh64(c->sh, kb)) < 0)
            return hxq_err(e, HXQ_ERR_NOMEM, "out of memory");
        return HXQ_OK;
    }
    hxq_encoded *en = &c->enc[i];
    if (en->n_sidecar != it->sidecar)
        return hxq_err(e, HXQ_ERR_FORMAT, "matrix '%s': the codec kept %lld sidecar entries, "
                       "%lld were planned", it->name, (long long)en->n_sidecar,
                       (long long)it->sidecar);
    int64_t n = it->rows * it->cols;
    HXQ_TRY(hxq_shards_write_tensor(c->sh, en->codebook, sizeof(en->codebook), e));
    HXQ_TRY(hxq_shards_write_tensor(c->sh, en->indices, (uint64_t)n, e));
    HXQ_TRY(hxq_shards_write_tensor(c->sh, en->sidecar_pos, (uint64_t)en->n_sidecar * 8, e));
    HXQ_TRY(hxq_shards_write_tensor(c->sh, en->sidecar_val, (uint64_t)en->n_sidecar * 4, e));
    rt->ndim = 2;
    rt->shape[0] = it->rows;
    rt->shape[1] = it->cols;
    rt->sidecar_count = en->n_sidecar;
    rt->mse = en->stats.mse;
    rt->snr_db = en->stats.snr_db;
    rt->cosine = en->stats.cosine;
    rt->max_abs_err = en->stats.max_abs_err;
    rt->nkeys = 4;
    int64_t cb = HXQ_CODEBOOK_SIZE, ns = en->n_sidecar;
    static const char *const sfx[4] = {".codebook", ".indices", ".sidecar_positions",
                                       ".sidecar_values"};
    static const hxq_dtype dts[4] = {HXQ_DT_F32, HXQ_DT_U8, HXQ_DT_I64, HXQ_DT_F32};
    const int64_t *shapes[4] = {&cb, rt->shape, &ns, &ns};
    const int nd[4] = {1, 2, 1, 1};
    for (int k = 0; k < 4; k++)
        if (set_key(&rt->keys[k], it->name, sfx[k], hxq_shards_tensor_file(c->sh, kb + k),
                    dts[k], nd[k], shapes[k], hxq_shards_tensor_xxh64(c->sh, kb + k)) < 0)
            return hxq_err(e, HXQ_ERR_NOMEM, "out of memory");
    hxq_encoded_free(en);
    memset(en, 0, sizeof(*en));
    return HXQ_OK;
}

/* Called with mu held after marking an item ready: writes every ready item
 * in order unless another thread is already doing so. */
static void drain_writes(struct run_ctx *c)
{
    if (c->writing)
        return;
    c->writing = 1;
    while (!c->failed && c->next_write < c->p->n && c->ready[c->next_write]) {
        int64_t i = c->next_write;
        pthread_mutex_unlock(&c->mu);
        hxq_error e = {0};
        int rc = write_item(c, i, &e);
        pthread_mutex_lock(&c->mu);
        if (rc < 0) {
            run_fail(c, i, &e);
            break;
        }
        pipeline_release(c->p->items[i].data, c->p->items[i].in_bytes);
        c->next_write++;
        c->bytes_done += c->p->items[i].in_bytes;
        pthread_cond_broadcast(&c->cv);
        if (c->p->opts.progress) {
            hxq_progress pr = {"compress", c->next_write, c->p->n, c->bytes_done,
                               c->p->totals.bytes_in, hxq_now() - c->t0};
            c->p->opts.progress(c->p->opts.progress_ctx, &pr);
        }
    }
    c->writing = 0;
}

static void run_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    struct run_ctx *c = ctx;
    for (int64_t i = begin; i < end; i++) {
        pthread_mutex_lock(&c->mu);
        while (!c->failed && i - c->next_write >= c->window)
            pthread_cond_wait(&c->cv, &c->mu);
        int stop = c->failed;
        if (!stop && c->p->opts.cancel && *c->p->opts.cancel) {
            hxq_error e = {0};
            hxq_err(&e, HXQ_ERR_IO, "interrupted");
            run_fail(c, i, &e);
            stop = 1;
        }
        pthread_mutex_unlock(&c->mu);
        if (stop)
            return;
        const hxq_plan_item *it = &c->p->items[i];
        hxq_error e = {0};
        int rc = HXQ_OK;
        if (it->compressed)
            rc = hxq_codec_encode(it->name, it->data, it->src->dtype, it->rows, it->cols,
                                  &c->p->opts.encode, &c->enc[i], &e);
        pthread_mutex_lock(&c->mu);
        if (rc < 0) {
            if (!strstr(e.msg, it->src->name))
                hxq_err_prefix(&e, rc, "%s: tensor '%s'", it->src->path, it->src->name);
            run_fail(c, i, &e);
        } else {
            c->ready[i] = 1;
            drain_writes(c);
        }
        pthread_mutex_unlock(&c->mu);
    }
}

static int declare_keys(struct run_ctx *c, hxq_error *err)
{
    int64_t k = 0;
    for (int64_t i = 0; i < c->p->n; i++) {
        const hxq_plan_item *it = &c->p->items[i];
        c->key_base[i] = k;
        if (!it->compressed) {
            int64_t shape2[2] = {it->rows, it->cols};
            const int64_t *shape = it->expert >= 0 ? shape2 : it->src->shape;
            int nd = it->expert >= 0 ? 2 : it->src->ndim;
            HXQ_TRY(hxq_shards_add(c->sh, it->name, it->src->dtype, nd, shape, it->shard, err));
            k++;
            continue;
        }
        int64_t cb = HXQ_CODEBOOK_SIZE, ns = it->sidecar, shape[2] = {it->rows, it->cols};
        size_t len = strlen(it->name) + 24;
        char *name = malloc(len);
        if (!name)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        int rc;
        snprintf(name, len, "%s.codebook", it->name);
        if ((rc = hxq_shards_add(c->sh, name, HXQ_DT_F32, 1, &cb, it->shard, err)) == HXQ_OK) {
            snprintf(name, len, "%s.indices", it->name);
            rc = hxq_shards_add(c->sh, name, HXQ_DT_U8, 2, shape, it->shard, err);
        }
        if (rc == HXQ_OK) {
            snprintf(name, len, "%s.sidecar_positions", it->name);
            rc = hxq_shards_add(c->sh, name, HXQ_DT_I64, 1, &ns, it->shard, err);
        }
        if (rc == HXQ_OK) {
            snprintf(name, len, "%s.sidecar_values", it->name);
            rc = hxq_shards_add(c->sh, name, HXQ_DT_F32, 1, &ns, it->shard, err);
        }
        free(name);
        HXQ_TRY(rc);
        k += 4;
    }
    return HXQ_OK;
}

int pipeline_encode_write(const hxq_plan *p, hxq_pool *pool, const char *dir,
                          compress_state *st, hxq_error *err)
{
    struct run_ctx c;
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.st = st;
    c.t0 = hxq_now();
    int threads = hxq_pool_threads(pool);
    c.window = p->opts.window > 0 ? p->opts.window : 4 * (int64_t)threads;
    c.enc = hxq_calloc_array(p->n, sizeof(*c.enc));
    c.ready = hxq_calloc_array(p->n, 1);
    c.key_base = hxq_calloc_array(p->n, sizeof(int64_t));
    int rc;
    if (!c.enc || !c.ready || !c.key_base) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = hxq_shards_create(dir, p->totals.shards, &c.sh, err)) < 0)
        goto out;
    if ((rc = declare_keys(&c, err)) < 0)
        goto out;
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    hxq_pool_run(pool, p->n, 1, run_task, &c);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
    if (c.failed) {
        if (err)
            *err = c.err;
        rc = c.err.code ? c.err.code : HXQ_ERR_IO;
        goto out;
    }
    rc = hxq_shards_finish(c.sh, &st->shard_files, &st->n_shard_files, err);
out:
    for (int64_t i = 0; c.enc && i < p->n; i++)
        hxq_encoded_free(&c.enc[i]);
    hxq_shards_free(c.sh);
    free(c.enc);
    free(c.ready);
    free(c.key_base);
    return rc;
}
