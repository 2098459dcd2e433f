/* module.c - a compressed module of an HXQ checkpoint as a hxq_qmatrix:
 * <name>.codebook, <name>.indices and the optional sidecar pair. */
#include "hxq_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hxq_tensor *mod_find(const hxq_ckpt *ck, const char *name, const char *suffix)
{
    char key[1024];
    int n = snprintf(key, sizeof(key), "%s.%s", name, suffix);
    if (n < 0 || (size_t)n >= sizeof(key))
        return NULL;
    return hxq_ckpt_find(ck, key);
}

static int mod_bad(hxq_error *err, int code, const hxq_tensor *t, const char *what)
{
    return hxq_err(err, code, "%s: tensor '%s': %s", t->path, t->name, what);
}

/* Copies a F32 or F16 vector into out[n] (owned, aligned). */
static int mod_floats(const hxq_tensor *t, float *out, hxq_error *err)
{
    if (t->dtype == HXQ_DT_F32) {
        memcpy(out, t->data, (size_t)t->nelem * sizeof(float));
        return HXQ_OK;
    }
    if (t->dtype == HXQ_DT_F16) {
        for (int64_t i = 0; i < t->nelem; i++)
            out[i] = hxq_tensor_f32_at(t, i);
        return HXQ_OK;
    }
    return mod_bad(err, HXQ_ERR_FORMAT, t, "dtype must be F32 or F16");
}

static int mod_sidecar(const hxq_tensor *tp, const hxq_tensor *tv, hxq_module *out,
                       hxq_error *err)
{
    if (!tp || !tv) {
        const hxq_tensor *t = tp ? tp : tv;
        return mod_bad(err, HXQ_ERR_FORMAT, t, "sidecar positions and values must come together");
    }
    if (tp->dtype != HXQ_DT_I64 || tp->ndim != 1)
        return mod_bad(err, HXQ_ERR_FORMAT, tp, "sidecar positions must be a 1-D I64 tensor");
    if (tv->ndim != 1 || tv->nelem != tp->nelem)
        return mod_bad(err, HXQ_ERR_FORMAT, tv,
                       "sidecar values must be 1-D with one value per position");
    out->pos_own = hxq_alloc_array(tp->nelem, sizeof(int64_t));
    out->val_own = hxq_alloc_array(tv->nelem, sizeof(float));
    if (!out->pos_own || !out->val_own)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tp->path);
    memcpy(out->pos_own, tp->data, (size_t)tp->nelem * sizeof(int64_t));
    HXQ_TRY(mod_floats(tv, out->val_own, err));
    out->m.n_sidecar = tp->nelem;
    out->m.sidecar_pos = out->pos_own;
    out->m.sidecar_val = out->val_own;
    return HXQ_OK;
}

static int mod_load(const hxq_ckpt *ck, const char *name, int packed12, hxq_module *out,
                    hxq_error *err)
{
    const hxq_tensor *tc = mod_find(ck, name, "codebook");
    const hxq_tensor *ti = mod_find(ck, name, "indices");
    if (!tc || !ti)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: module '%s': missing %s tensor",
                       hxq_ckpt_dir(ck), name, tc ? "indices" : "codebook");
    if (tc->ndim != 1 || tc->nelem < 1)
        return mod_bad(err, HXQ_ERR_FORMAT, tc, "codebook must be a non-empty 1-D tensor");
    if (tc->nelem > HXQ_CODEBOOK_SIZE)
        return mod_bad(err, HXQ_ERR_UNSUPPORTED, tc, "codebooks over 256 entries are not supported");
    if (ti->dtype != HXQ_DT_U8)
        return mod_bad(err, HXQ_ERR_FORMAT, ti, "indices must be U8");
    if (ti->ndim != 2)
        return mod_bad(err, packed12 && ti->ndim == 1 ? HXQ_ERR_UNSUPPORTED : HXQ_ERR_FORMAT,
                       ti, packed12 && ti->ndim == 1
                               ? "12-bit packed indices are only used for k > 256"
                               : "indices must be a 2-D [out, in] tensor");
    out->k = (int)tc->nelem;
    out->codebook_own = calloc(HXQ_CODEBOOK_SIZE, sizeof(float));
    if (!out->codebook_own)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tc->path);
    HXQ_TRY(mod_floats(tc, out->codebook_own, err));
    out->m.rows = ti->shape[0];
    out->m.cols = ti->shape[1];
    out->m.codebook = out->codebook_own;
    out->m.indices = ti->data;
    const uint8_t *idx = ti->data;
    for (int64_t p = 0; p < ti->nelem; p++)
        if (idx[p] >= out->k) {
            char msg[128];
            snprintf(msg, sizeof(msg), "index %u at flat position %lld >= codebook size %d",
                     idx[p], (long long)p, out->k);
            return mod_bad(err, HXQ_ERR_FORMAT, ti, msg);
        }
    const hxq_tensor *tp = mod_find(ck, name, "sidecar_positions");
    const hxq_tensor *tv = mod_find(ck, name, "sidecar_values");
    if (tp || tv)
        HXQ_TRY(mod_sidecar(tp, tv, out, err));
    int rc = hxq_codec_check(name, &out->m, err);
    if (rc != HXQ_OK)
        return hxq_err_prefix(err, rc, "%s", ti->path);
    return HXQ_OK;
}

int hxq_module_load(const hxq_ckpt *ck, const char *name, int packed12, hxq_module *out,
                    hxq_error *err)
{
    hxq_module m;
    memset(&m, 0, sizeof(m));
    int rc = mod_load(ck, name, packed12, &m, err);
    if (rc != HXQ_OK) {
        hxq_module_free(&m);
        return rc;
    }
    *out = m;
    return HXQ_OK;
}

void hxq_module_free(hxq_module *mod)
{
    if (!mod)
        return;
    free(mod->codebook_own);
    free(mod->pos_own);
    free(mod->val_own);
    free(mod->indices_own);
    memset(mod, 0, sizeof(*mod));
}
