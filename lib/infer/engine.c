/* engine.c - device selection, the KV-cache position and batching around
 * a backend's forward pass. */
#include "infer_int.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCH 512

const hxq_backend *infer_backend_select(hxq_device d, hxq_error *err)
{
    switch (d) {
    case HXQ_DEVICE_CPU:
        return &infer_backend_cpu;
    case HXQ_DEVICE_CUDA:
        return &infer_backend_cuda; /* its create() says when there is no device */
    }
    hxq_err(err, HXQ_ERR_INVALID, "unknown device %d", (int)d);
    return NULL;
}

hxq_engine_opts hxq_engine_opts_default(void)
{
    hxq_engine_opts o = {HXQ_DEVICE_CPU, 0, 0, 0};
    return o;
}

int hxq_engine_create(const hxq_model *m, const hxq_engine_opts *opts, hxq_engine **out,
                      hxq_error *err)
{
    hxq_engine_opts o = opts ? *opts : hxq_engine_opts_default();
    int64_t mpe = m->cfg.max_position_embeddings;
    if (o.max_ctx <= 0 || o.max_ctx > mpe)
        o.max_ctx = mpe;
    if (o.max_batch <= 0)
        o.max_batch = DEFAULT_BATCH;
    if (o.max_batch > o.max_ctx)
        o.max_batch = o.max_ctx;
    if (o.threads <= 0)
        o.threads = hxq_cpu_count();
    const hxq_backend *be = infer_backend_select(o.device, err);
    if (!be)
        return err ? err->code : HXQ_ERR_DEVICE;
    hxq_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    e->m = m;
    e->be = be;
    e->o = o;
    int rc = be->create(m, &o, &e->state, err);
    if (rc < 0) {
        free(e);
        return rc;
    }
    *out = e;
    return HXQ_OK;
}

void hxq_engine_free(hxq_engine *e)
{
    if (!e)
        return;
    e->be->destroy(e->state);
    free(e);
}

void hxq_engine_reset(hxq_engine *e)
{
    e->pos = 0;
}

int hxq_engine_rewind(hxq_engine *e, int64_t pos, hxq_error *err)
{
    if (pos < 0 || pos > e->pos)
        return hxq_err(err, HXQ_ERR_INVALID, "rewind to %lld: the cache holds %lld tokens",
                       (long long)pos, (long long)e->pos);
    e->pos = pos;
    return HXQ_OK;
}

int64_t hxq_engine_pos(const hxq_engine *e)
{
    return e->pos;
}

int64_t hxq_engine_max_ctx(const hxq_engine *e)
{
    return e->o.max_ctx;
}

const char *hxq_engine_device_name(const hxq_engine *e)
{
    return e->be->name;
}

const hxq_model *hxq_engine_model(const hxq_engine *e)
{
    return e->m;
}

int hxq_engine_forward(hxq_engine *e, const int32_t *ids, int64_t n,
                       const hxq_forward_out *out, hxq_error *err)
{
    if (n < 1 || !ids)
        return hxq_err(err, HXQ_ERR_INVALID, "forward: no tokens");
    if (n > e->o.max_ctx - e->pos)
        return hxq_err(err, HXQ_ERR_RANGE,
                       "context full: %lld tokens at position %lld exceed the context of %lld",
                       (long long)n, (long long)e->pos, (long long)e->o.max_ctx);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= e->m->vocab)
            return hxq_err(err, HXQ_ERR_INVALID, "token id %d at %lld is outside [0, %lld)",
                           ids[i], (long long)i, (long long)e->m->vocab);
    if (out && (out->hidden || out->router_logits) && n > e->o.max_batch)
        return hxq_err(err, HXQ_ERR_INVALID,
                       "forward: hidden states need at most %lld tokens per call",
                       (long long)e->o.max_batch);
    for (int64_t b = 0; b < n; b += e->o.max_batch) {
        int64_t nb = n - b < e->o.max_batch ? n - b : e->o.max_batch;
        hxq_forward_out o = {0};
        if (out) {
            o = *out;
            if (o.logits && o.all_logits)
                o.logits += b * e->m->vocab;
            else if (b + nb < n)
                o.logits = NULL;
        }
        int rc = e->be->forward(e->state, ids + b, nb, e->pos, &o, err);
        if (rc < 0)
            return rc;
        e->pos += nb;
    }
    return HXQ_OK;
}
