/* convert_write.c - produces each planned tensor's bytes (copied, re-typed,
 * decoded or normalised from its module) and streams them into the shards
 * with hxq_shards, one tensor in memory at a time. */
#include "convert_int.h"

#include <stdlib.h>
#include <string.h>

/* Writer state: the module loaded last and a buffer for one tensor. */
typedef struct cv_writer {
    const cv_plan *p;
    hxq_shards *sh;
    hxq_module mod;
    int64_t mod_index;        /* -1 when none                             */
    void *buf;
    uint64_t buf_cap;
} cv_writer;

static int load_module(cv_writer *cw, int64_t i, hxq_error *err)
{
    if (cw->mod_index == i)
        return HXQ_OK;
    if (cw->mod_index >= 0)
        hxq_module_free(&cw->mod);
    cw->mod_index = -1;
    HXQ_TRY(hxq_module_load(cw->p->ck, cw->p->modules[i], cw->p->q->packed12, &cw->mod, err));
    cw->mod_index = i;
    return HXQ_OK;
}

/* The tensor buffer, grown to n bytes (once per larger tensor). */
static void *buffer(cv_writer *cw, uint64_t n, hxq_error *err)
{
    if (n > cw->buf_cap) {
        void *b = realloc(cw->buf, n ? n : 1);
        if (!b) {
            hxq_err(err, HXQ_ERR_NOMEM, "out of memory (%llu bytes)", (unsigned long long)n);
            return NULL;
        }
        cw->buf = b;
        cw->buf_cap = n;
    }
    return cw->buf;
}

static int write_tensor(cv_writer *cw, const cv_tensor *t, hxq_error *err)
{
    if (t->op == CV_COPY)
        return hxq_shards_write_tensor(cw->sh, t->src->data, t->src->nbytes, err);
    if (t->op == CV_RETYPE) {
        uint16_t *out = buffer(cw, t->nbytes, err);
        if (!out)
            return HXQ_ERR_NOMEM;
        for (int64_t i = 0; i < t->src->nelem; i++)
            out[i] = hxq_f32_to_bf16(hxq_tensor_f32_at(t->src, i));
        return hxq_shards_write_tensor(cw->sh, out, t->nbytes, err);
    }
    HXQ_TRY(load_module(cw, t->module, err));
    const hxq_qmatrix *m = &cw->mod.m;
    switch (t->op) {
    case CV_DECODE: {
        uint16_t *out = buffer(cw, t->nbytes, err);
        if (!out)
            return HXQ_ERR_NOMEM;
        hxq_codec_decode_bf16(m, 0, m->rows, out);
        return hxq_shards_write_tensor(cw->sh, out, t->nbytes, err);
    }
    case CV_CODEBOOK: {
        float cb[HXQ_CODEBOOK_SIZE] = {0};
        int k = cw->mod.k > 0 && cw->mod.k <= HXQ_CODEBOOK_SIZE ? cw->mod.k : HXQ_CODEBOOK_SIZE;
        memcpy(cb, m->codebook, (size_t)k * sizeof(float));
        return hxq_shards_write_tensor(cw->sh, cb, sizeof(cb), err);
    }
    case CV_INDICES:
        return hxq_shards_write_tensor(cw->sh, m->indices, t->nbytes, err);
    case CV_SC_POS:
        return hxq_shards_write_tensor(cw->sh, m->sidecar_pos, t->nbytes, err);
    case CV_SC_VAL:
        return hxq_shards_write_tensor(cw->sh, m->sidecar_val, t->nbytes, err);
    default:
        return hxq_err(err, HXQ_ERR_INVALID, "tensor '%s': unknown conversion", t->name);
    }
}

void convert_files_free(cv_files *fl)
{
    hxq_rc_files_free(fl->f, fl->n);
    fl->f = NULL;
    fl->n = 0;
}

int convert_write_shards(cv_plan *p, const char *tmp, cv_files *files, hxq_error *err)
{
    cv_writer cw;
    memset(&cw, 0, sizeof(cw));
    cw.p = p;
    cw.mod_index = -1;
    int rc = hxq_shards_create(tmp, p->nshards, &cw.sh, err);
    for (int64_t i = 0; i < p->n && rc == HXQ_OK; i++)
        rc = hxq_shards_add(cw.sh, p->t[i].name, p->t[i].dtype, p->t[i].ndim, p->t[i].shape,
                            p->t[i].shard, err);
    for (int64_t i = 0; i < p->n && rc == HXQ_OK; i++) {
        if ((rc = write_tensor(&cw, &p->t[i], err)) < 0)
            hxq_err_prefix(err, rc, "tensor '%s'", p->t[i].name);
        else
            memcpy(p->t[i].xxh64, hxq_shards_tensor_xxh64(cw.sh, i), 17);
    }
    if (rc == HXQ_OK)
        rc = hxq_shards_finish(cw.sh, &files->f, &files->n, err);
    hxq_shards_free(cw.sh);
    if (cw.mod_index >= 0)
        hxq_module_free(&cw.mod);
    free(cw.buf);
    return rc;
}
