/* convert_write.c - streams the planned tensors into their shards, one
 * bounded buffer per shard, hashing every byte written. */
#include "convert_int.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_ELEMS ((int64_t)1 << 20)

/* Writer state for one shard. */
typedef struct cv_writer {
    const cv_plan *p;
    hxq_stw *w;
    unsigned char *buf;       /* CHUNK_ELEMS * 4 bytes                     */
    hxq_module mod;           /* the module loaded last                   */
    int64_t mod_index;        /* -1 when none                             */
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

/* Exact floating tensor -> BF16, in chunks. */
static int write_retype(cv_writer *cw, const cv_tensor *t, hxq_error *err)
{
    uint16_t *out = (uint16_t *)cw->buf;
    for (int64_t b = 0; b < t->src->nelem; b += CHUNK_ELEMS) {
        int64_t e = b + CHUNK_ELEMS < t->src->nelem ? b + CHUNK_ELEMS : t->src->nelem;
        for (int64_t i = b; i < e; i++)
            out[i - b] = hxq_f32_to_bf16(hxq_tensor_f32_at(t->src, i));
        HXQ_TRY(hxq_stw_write(cw->w, out, (uint64_t)(e - b) * 2, err));
    }
    return HXQ_OK;
}

/* Module -> dense BF16 rows, a bounded number of rows at a time. */
static int write_decode(cv_writer *cw, const hxq_qmatrix *m, hxq_error *err)
{
    int64_t step = m->cols > 0 && m->cols < CHUNK_ELEMS ? CHUNK_ELEMS / m->cols : 1;
    for (int64_t r = 0; r < m->rows; r += step) {
        int64_t r1 = r + step < m->rows ? r + step : m->rows;
        hxq_codec_decode_bf16(m, r, r1, (uint16_t *)cw->buf);
        HXQ_TRY(hxq_stw_write(cw->w, cw->buf, (uint64_t)((r1 - r) * m->cols) * 2, err));
    }
    return HXQ_OK;
}

static int write_tensor(cv_writer *cw, const cv_tensor *t, hxq_error *err)
{
    if (t->op == CV_COPY)
        return hxq_stw_write(cw->w, t->src->data, t->src->nbytes, err);
    if (t->op == CV_RETYPE)
        return write_retype(cw, t, err);
    HXQ_TRY(load_module(cw, t->module, err));
    const hxq_qmatrix *m = &cw->mod.m;
    switch (t->op) {
    case CV_DECODE:
        return write_decode(cw, m, err);
    case CV_CODEBOOK: {
        float cb[HXQ_CODEBOOK_SIZE] = {0};
        int k = cw->mod.k > 0 && cw->mod.k <= HXQ_CODEBOOK_SIZE ? cw->mod.k : HXQ_CODEBOOK_SIZE;
        memcpy(cb, m->codebook, (size_t)k * sizeof(float));
        return hxq_stw_write(cw->w, cb, sizeof(cb), err);
    }
    case CV_INDICES:
        return hxq_stw_write(cw->w, m->indices, t->nbytes, err);
    case CV_SC_POS:
        return hxq_stw_write(cw->w, m->sidecar_pos, t->nbytes, err);
    case CV_SC_VAL:
        return hxq_stw_write(cw->w, m->sidecar_val, t->nbytes, err);
    default:
        return hxq_err(err, HXQ_ERR_INVALID, "tensor '%s': unknown conversion", t->name);
    }
}

/* Hashes and counts the bytes of a file as they are written. */
typedef struct cv_hash {
    hxq_sha256 *h;
    uint64_t n;
} cv_hash;

static void hash_hook(void *ctx, const void *buf, size_t len)
{
    cv_hash *c = ctx;
    hxq_sha256_update(c->h, buf, len);
    c->n += len;
}

static int write_shard(cv_writer *cw, int shard, const char *path, cv_hash *h, hxq_error *err)
{
    const cv_plan *p = cw->p;
    HXQ_TRY(hxq_stw_create(path, &cw->w, err));
    hxq_stw_set_hook(cw->w, hash_hook, h);
    int rc = HXQ_OK;
    for (int64_t i = 0; i < p->n && rc == HXQ_OK; i++)
        if (p->t[i].shard == shard)
            rc = hxq_stw_add(cw->w, p->t[i].name, p->t[i].dtype, p->t[i].ndim, p->t[i].shape,
                             err);
    if (rc == HXQ_OK)
        rc = hxq_stw_begin(cw->w, err);
    for (int64_t i = 0; i < p->n && rc == HXQ_OK; i++) {
        if (p->t[i].shard != shard)
            continue;
        rc = write_tensor(cw, &p->t[i], err);
        if (rc < 0)
            hxq_err_prefix(err, rc, "%s: tensor '%s'", verify_base(path), p->t[i].name);
    }
    if (rc < 0) {
        hxq_stw_abort(cw->w);
    } else {
        rc = hxq_stw_finish(cw->w, err);
    }
    cw->w = NULL;
    return rc;
}

int convert_write_shards(const cv_plan *p, const char *tmp, cv_file *files, hxq_error *err)
{
    cv_writer cw;
    memset(&cw, 0, sizeof(cw));
    cw.p = p;
    cw.buf = hxq_alloc_array(CHUNK_ELEMS, 4);
    cw.mod_index = -1;
    if (!cw.buf)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int rc = HXQ_OK;
    for (int s = 0; s < p->nshards && rc == HXQ_OK; s++) {
        cv_file *f = &files[s];
        convert_shard_name(p, s, f->name, sizeof(f->name));
        char *path = hxq_path_join(tmp, f->name);
        cv_hash h = {hxq_sha256_create(), 0};
        if (!path || !h.h) {
            free(path);
            hxq_sha256_free(h.h);
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            break;
        }
        rc = write_shard(&cw, s, path, &h, err);
        free(path);
        if (rc < 0) {
            hxq_sha256_free(h.h);
            break;
        }
        hxq_sha256_final_hex(h.h, f->sha256);
        f->size = h.n;
    }
    if (cw.mod_index >= 0)
        hxq_module_free(&cw.mod);
    free(cw.buf);
    return rc;
}
