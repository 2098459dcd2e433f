/* engine.c - device selection, the sequences' KV-cache positions and the
 * splitting of forward calls into backend batches. */
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
    hxq_engine_opts o = {HXQ_DEVICE_CPU, 0, 0, 0, 1};
    return o;
}

static void engine_free_arrays(hxq_engine *e)
{
    free(e->pos);
    free(e->bparts);
    free(e->bpos);
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
    if (o.n_seq <= 0)
        o.n_seq = 1;
    const hxq_backend *be = infer_backend_select(o.device, err);
    if (!be)
        return err ? err->code : HXQ_ERR_DEVICE;
    hxq_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    e->m = m;
    e->be = be;
    e->o = o;
    e->pos = hxq_calloc_array(o.n_seq, sizeof(int64_t));
    e->bparts = hxq_calloc_array(o.n_seq, sizeof(hxq_seq_part));
    e->bpos = hxq_calloc_array(o.n_seq, sizeof(int64_t));
    if (!e->pos || !e->bparts || !e->bpos) {
        engine_free_arrays(e);
        free(e);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory for %d sequences", o.n_seq);
    }
    int rc = be->create(m, &o, &e->state, err);
    if (rc < 0) {
        engine_free_arrays(e);
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
    engine_free_arrays(e);
    free(e);
}

void hxq_engine_reset(hxq_engine *e)
{
    memset(e->pos, 0, (size_t)e->o.n_seq * sizeof(int64_t));
}

static int bad_seq(const hxq_engine *e, int seq, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_INVALID, "sequence %d is outside [0, %d)", seq, e->o.n_seq);
}

int hxq_engine_seq_rewind(hxq_engine *e, int seq, int64_t pos, hxq_error *err)
{
    if (seq < 0 || seq >= e->o.n_seq)
        return bad_seq(e, seq, err);
    if (pos < 0 || pos > e->pos[seq])
        return hxq_err(err, HXQ_ERR_INVALID, "rewind to %lld: the cache holds %lld tokens",
                       (long long)pos, (long long)e->pos[seq]);
    e->pos[seq] = pos;
    return HXQ_OK;
}

int hxq_engine_rewind(hxq_engine *e, int64_t pos, hxq_error *err)
{
    return hxq_engine_seq_rewind(e, 0, pos, err);
}

int hxq_engine_seq_copy(hxq_engine *e, int src, int dst, hxq_error *err)
{
    if (src < 0 || src >= e->o.n_seq)
        return bad_seq(e, src, err);
    if (dst < 0 || dst >= e->o.n_seq)
        return bad_seq(e, dst, err);
    if (src == dst)
        return HXQ_OK;
    e->be->seq_copy(e->state, src, dst, e->pos[src]);
    e->pos[dst] = e->pos[src];
    return HXQ_OK;
}

int64_t hxq_engine_pos(const hxq_engine *e)
{
    return e->pos[0];
}

int64_t hxq_engine_seq_pos(const hxq_engine *e, int seq)
{
    return seq < 0 || seq >= e->o.n_seq ? -1 : e->pos[seq];
}

int hxq_engine_n_seq(const hxq_engine *e)
{
    return e->o.n_seq;
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

/* Everything that can be wrong with a call, checked before any sequence
 * advances. */
static int check_parts(const hxq_engine *e, const hxq_seq_part *parts, int n_parts,
                       hxq_error *err)
{
    if (n_parts < 1 || !parts)
        return hxq_err(err, HXQ_ERR_INVALID, "forward: no tokens");
    for (int i = 0; i < n_parts; i++) {
        const hxq_seq_part *p = &parts[i];
        if (p->seq < 0 || p->seq >= e->o.n_seq)
            return bad_seq(e, p->seq, err);
        for (int j = 0; j < i; j++)
            if (parts[j].seq == p->seq)
                return hxq_err(err, HXQ_ERR_INVALID,
                               "forward: sequence %d appears twice in one call", p->seq);
        if (p->n < 1 || !p->ids)
            return hxq_err(err, HXQ_ERR_INVALID, "forward: no tokens for sequence %d",
                           p->seq);
        if (p->n > e->o.max_ctx - e->pos[p->seq])
            return hxq_err(err, HXQ_ERR_RANGE,
                           "context full: %lld tokens at position %lld exceed the context "
                           "of %lld", (long long)p->n, (long long)e->pos[p->seq],
                           (long long)e->o.max_ctx);
        for (int64_t k = 0; k < p->n; k++)
            if (p->ids[k] < 0 || p->ids[k] >= e->m->vocab)
                return hxq_err(err, HXQ_ERR_INVALID,
                               "token id %d at %lld is outside [0, %lld)", p->ids[k],
                               (long long)k, (long long)e->m->vocab);
    }
    return HXQ_OK;
}

/* Runs the parts gathered in e->bparts and advances their sequences. */
static int flush(hxq_engine *e, int nb, int64_t ntok, float *hidden, float *router,
                 hxq_error *err)
{
    if (nb == 0)
        return HXQ_OK;
    for (int i = 0; i < nb; i++)
        e->bpos[i] = e->pos[e->bparts[i].seq];
    hxq_backend_batch b = {e->bparts, e->bpos, nb, ntok, hidden, router};
    int rc = e->be->forward(e->state, &b, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < nb; i++)
        e->pos[e->bparts[i].seq] += e->bparts[i].n;
    return HXQ_OK;
}

/* Packs the parts into backend calls of at most max_batch tokens; a part
 * too long for the room left continues in the next call (its logits come
 * from the call holding its last token, or row by row with all_logits). */
static int run_parts(hxq_engine *e, const hxq_seq_part *parts, int n_parts, float *hidden,
                     float *router, hxq_error *err)
{
    int64_t V = e->m->vocab, room = e->o.max_batch, used = 0;
    int nb = 0;
    for (int i = 0; i < n_parts; i++) {
        const hxq_seq_part *p = &parts[i];
        for (int64_t off = 0; off < p->n;) {
            int64_t take = p->n - off < room - used ? p->n - off : room - used;
            hxq_seq_part *q = &e->bparts[nb++];
            q->seq = p->seq;
            q->ids = p->ids + off;
            q->n = take;
            q->all_logits = p->all_logits;
            q->logits = !p->logits ? NULL
                        : p->all_logits ? p->logits + off * V
                        : off + take == p->n ? p->logits : NULL;
            used += take;
            off += take;
            if (used == room) {
                HXQ_TRY(flush(e, nb, used, hidden, router, err));
                nb = 0;
                used = 0;
            }
        }
    }
    return flush(e, nb, used, hidden, router, err);
}

int hxq_engine_forward_seqs(hxq_engine *e, const hxq_seq_part *parts, int n_parts,
                            hxq_error *err)
{
    HXQ_TRY(check_parts(e, parts, n_parts, err));
    return run_parts(e, parts, n_parts, NULL, NULL, err);
}

int hxq_engine_forward(hxq_engine *e, const int32_t *ids, int64_t n,
                       const hxq_forward_out *out, hxq_error *err)
{
    hxq_seq_part p = {0, ids, n, out ? out->logits : NULL, out ? out->all_logits : 0};
    HXQ_TRY(check_parts(e, &p, 1, err));
    float *hidden = out ? out->hidden : NULL, *router = out ? out->router_logits : NULL;
    if ((hidden || router) && n > e->o.max_batch)
        return hxq_err(err, HXQ_ERR_INVALID,
                       "forward: hidden states need at most %lld tokens per call",
                       (long long)e->o.max_batch);
    return run_parts(e, &p, 1, hidden, router, err);
}
