/* convert_plan.c - which tensors hxq convert writes, from where, in which
 * dtype and shard. */
#include "convert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const part_suffix[] = {".codebook", ".indices", ".sidecar_positions",
                                          ".sidecar_values"};

void convert_plan_free(cv_plan *p)
{
    if (!p)
        return;
    for (int64_t i = 0; i < p->n; i++)
        free(p->t[i].name);
    free(p->t);
    free(p->modules);
    memset(p, 0, sizeof(*p));
}

static int add_tensor(cv_plan *p, const char *name, hxq_dtype dt, int ndim,
                      const int64_t *shape, cv_op op, const hxq_tensor *src, int64_t module,
                      hxq_error *err)
{
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 256;
        cv_tensor *t = realloc(p->t, (size_t)cap * sizeof(*t));
        if (!t)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        p->t = t;
        p->cap = cap;
    }
    cv_tensor *t = &p->t[p->n];
    memset(t, 0, sizeof(*t));
    int64_t nbytes = (int64_t)hxq_dtype_size(dt);
    for (int d = 0; d < ndim; d++) {
        t->shape[d] = shape[d];
        if (hxq_mul_i64(nbytes, shape[d], &nbytes) < 0)
            return hxq_err(err, HXQ_ERR_FORMAT, "tensor '%s': size overflows", name);
    }
    if (!(t->name = hxq_strdup(name)))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    t->dtype = dt;
    t->ndim = ndim;
    t->nbytes = (uint64_t)nbytes;
    t->op = op;
    t->src = src;
    t->module = module;
    p->n++;
    return HXQ_OK;
}

static int add_part(cv_plan *p, const char *mod, const char *suffix, hxq_dtype dt, int ndim,
                    const int64_t *shape, cv_op op, int64_t module, hxq_error *err)
{
    char name[1024];
    if ((size_t)snprintf(name, sizeof(name), "%s%s", mod, suffix) >= sizeof(name))
        return hxq_err(err, HXQ_ERR_FORMAT, "module '%s': name too long", mod);
    return add_tensor(p, name, dt, ndim, shape, op, NULL, module, err);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int tensor_cmp(const void *a, const void *b)
{
    return strcmp(((const cv_tensor *)a)->name, ((const cv_tensor *)b)->name);
}

/* The listed module a part tensor belongs to, or NULL; *is_part says
 * whether the name has a part suffix at all. */
static const char *owning_module(const cv_plan *p, const char *name, int *is_part)
{
    char buf[1024];
    *is_part = 0;
    for (size_t i = 0; i < sizeof(part_suffix) / sizeof(part_suffix[0]); i++) {
        if (!verify_ends_with(name, part_suffix[i]))
            continue;
        size_t n = strlen(name) - strlen(part_suffix[i]);
        if (n >= sizeof(buf))
            return NULL;
        *is_part = 1;
        memcpy(buf, name, n);
        buf[n] = '\0';
        const char *key = buf;
        char **hit = bsearch(&key, p->modules, (size_t)p->n_modules, sizeof(char *), str_cmp);
        return hit ? *hit : NULL;
    }
    return NULL;
}

/* 1 when every F16 value of t survives F16 -> BF16 unchanged. */
static int f16_fits_bf16(const hxq_tensor *t)
{
    for (int64_t i = 0; i < t->nelem; i++) {
        float v = hxq_tensor_f32_at(t, i);
        if (v == v && hxq_bf16_to_f32(hxq_f32_to_bf16(v)) != v)
            return 0;
    }
    return 1;
}

/* 1 when t holds a non-zero F16 subnormal: such a value may already have
 * lost bits in the reference's BF16 -> F16 cast, so BF16 would claim a
 * precision (and a match with the source) it does not have. */
static int f16_has_subnormal(const hxq_tensor *t)
{
    const unsigned char *p = t->data;
    for (int64_t i = 0; i < t->nelem; i++) {
        uint16_t u;
        memcpy(&u, p + 2 * i, 2);
        if ((u & 0x7c00u) == 0 && (u & 0x03ffu) != 0)
            return 1;
    }
    return 0;
}

static int is_float(hxq_dtype dt)
{
    return dt == HXQ_DT_F16 || dt == HXQ_DT_BF16 || dt == HXQ_DT_F32 || dt == HXQ_DT_F64;
}

static int add_exact(cv_plan *p, const hxq_tensor *t, hxq_error *err)
{
    cv_op op = CV_COPY;
    hxq_dtype dt = t->dtype;
    int lossy = 0;
    if (p->to == HXQ_CONVERT_DENSE && is_float(dt) && dt != HXQ_DT_BF16) {
        op = CV_RETYPE;
        lossy = !(dt == HXQ_DT_F16 && f16_fits_bf16(t));
        if (lossy && dt != HXQ_DT_F16) {
            lossy = 0;
            for (int64_t i = 0; i < t->nelem && !lossy; i++) {
                float v = hxq_tensor_f32_at(t, i);
                lossy = v == v && hxq_bf16_to_f32(hxq_f32_to_bf16(v)) != v;
            }
        }
        dt = HXQ_DT_BF16;
    } else if (p->to == HXQ_CONVERT_HXQ && dt == HXQ_DT_F16 && f16_fits_bf16(t) &&
               !f16_has_subnormal(t)) {
        op = CV_RETYPE;
        dt = HXQ_DT_BF16;
    }
    HXQ_TRY(add_tensor(p, t->name, dt, t->ndim, t->shape, op, t, -1, err));
    p->t[p->n - 1].lossy = lossy;
    return HXQ_OK;
}

static int add_module(cv_plan *p, int64_t i, hxq_error *err)
{
    const char *mod = p->modules[i];
    char wname[1024];
    snprintf(wname, sizeof(wname), "%s.weight", mod);
    if (hxq_ckpt_find(p->ck, wname))
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "module '%s' is listed as compressed but '%s' is stored dense", mod,
                       wname);
    hxq_module m;
    int rc = hxq_module_load(p->ck, mod, p->q->packed12, &m, err);
    if (rc < 0)
        return rc;
    int64_t shape[2] = {m.m.rows, m.m.cols};
    int64_t k = HXQ_CODEBOOK_SIZE, n = m.m.n_sidecar;
    hxq_module_free(&m);
    if (p->to == HXQ_CONVERT_DENSE)
        return add_part(p, mod, ".weight", HXQ_DT_BF16, 2, shape, CV_DECODE, i, err);
    HXQ_TRY(add_part(p, mod, ".codebook", HXQ_DT_F32, 1, &k, CV_CODEBOOK, i, err));
    HXQ_TRY(add_part(p, mod, ".indices", HXQ_DT_U8, 2, shape, CV_INDICES, i, err));
    HXQ_TRY(add_part(p, mod, ".sidecar_positions", HXQ_DT_I64, 1, &n, CV_SC_POS, i, err));
    return add_part(p, mod, ".sidecar_values", HXQ_DT_F32, 1, &n, CV_SC_VAL, i, err);
}

static int assign_shards(cv_plan *p, int64_t max_shard, hxq_error *err)
{
    uint64_t *bytes = hxq_alloc_array(p->n, sizeof(uint64_t));
    int *shard = hxq_alloc_array(p->n, sizeof(int));
    if (!bytes || !shard) {
        free(bytes);
        free(shard);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < p->n; i++)
        bytes[i] = p->t[i].nbytes;
    p->nshards = hxq_shards_assign(bytes, p->n, (uint64_t)max_shard, shard);
    for (int64_t i = 0; i < p->n; i++)
        p->t[i].shard = shard[i];
    free(bytes);
    free(shard);
    return HXQ_OK;
}

int convert_plan_build(cv_plan *p, const hxq_ckpt *ck, const hxq_qconfig *q,
                       hxq_convert_target to, int64_t max_shard, hxq_error *err)
{
    memset(p, 0, sizeof(*p));
    p->ck = ck;
    p->q = q;
    p->to = to;
    p->n_modules = q->n_modules;
    if (!(p->modules = hxq_alloc_array(q->n_modules, sizeof(char *))))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (q->n_modules)
        memcpy(p->modules, q->modules, (size_t)q->n_modules * sizeof(char *));
    qsort(p->modules, (size_t)p->n_modules, sizeof(char *), str_cmp);
    int rc = HXQ_OK;
    for (int64_t i = 0; i < p->n_modules && rc == HXQ_OK; i++) {
        if (i > 0 && !strcmp(p->modules[i], p->modules[i - 1]))
            rc = hxq_err(err, HXQ_ERR_FORMAT, "module '%s' is listed twice in compressed_modules",
                         p->modules[i]);
        else
            rc = add_module(p, i, err);
    }
    for (int64_t i = 0; i < hxq_ckpt_count(ck) && rc == HXQ_OK; i++) {
        const hxq_tensor *t = hxq_ckpt_tensor(ck, i);
        int is_part;
        p->in_tensors++;
        if (owning_module(p, t->name, &is_part))
            continue;
        if (is_part)
            rc = hxq_err(err, HXQ_ERR_FORMAT,
                         "%s: tensor '%s' looks like a module part but its module is not in "
                         "compressed_modules", t->path, t->name);
        else
            rc = add_exact(p, t, err);
    }
    if (rc == HXQ_OK) {
        qsort(p->t, (size_t)p->n, sizeof(cv_tensor), tensor_cmp);
        for (int64_t i = 1; i < p->n && rc == HXQ_OK; i++)
            if (!strcmp(p->t[i].name, p->t[i - 1].name))
                rc = hxq_err(err, HXQ_ERR_FORMAT, "output tensor '%s' would be written twice",
                             p->t[i].name);
    }
    if (rc == HXQ_OK)
        rc = assign_shards(p, max_shard > 0 ? max_shard : (int64_t)HXQ_DEFAULT_SHARD_SIZE, err);
    if (rc < 0)
        convert_plan_free(p);
    return rc;
}
