/* cuda_dmodel.c - ownership and checks of a model in device memory. */
#include "cuda_int.h"

#include <stdlib.h>
#include <string.h>

#ifdef HXQ_HAVE_CUDA
#include "hxq_cuda.h"

int cuda_dmodel_alloc(cuda_dmodel *dm, void **out, size_t bytes, hxq_error *err)
{
    *out = NULL;
    if (dm->n_allocs == dm->cap_allocs) {
        int64_t cap = dm->cap_allocs ? 2 * dm->cap_allocs : 256;
        void **a = realloc(dm->allocs, (size_t)cap * sizeof(*a));
        if (!a)
            return hxq_err(err, HXQ_ERR_NOMEM, "cuda model: out of host memory");
        dm->allocs = a;
        dm->cap_allocs = cap;
    }
    void *p = NULL;
    HXQ_TRY(hxq_cuda_alloc(&p, bytes ? bytes : 16, err));
    dm->allocs[dm->n_allocs++] = p;
    *out = p;
    return HXQ_OK;
}

static int put_bytes(cuda_dmodel *dm, const void *src, size_t bytes, void **out,
                     hxq_error *err)
{
    HXQ_TRY(cuda_dmodel_alloc(dm, out, bytes, err));
    dm->device_bytes += bytes;
    return hxq_cuda_upload(*out, src, bytes, err);
}

int cuda_dmodel_put_dense(cuda_dmodel *dm, int kind, const void *data, int64_t rows,
                          int64_t cols, struct hxq_cuda_mat *desc, hxq_error *err)
{
    size_t el = kind == HXQ_CUDA_F32 ? 4 : (kind == HXQ_CUDA_BF16 || kind == HXQ_CUDA_F16) ? 2 : 0;
    int64_t n, bytes;
    if (!el || !data || hxq_mul_i64(rows, cols, &n) < 0 || hxq_mul_i64(n, (int64_t)el, &bytes) < 0)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda model: bad dense matrix (kind %d)", kind);
    memset(desc, 0, sizeof(*desc));
    void *w = NULL;
    HXQ_TRY(put_bytes(dm, data, (size_t)bytes, &w, err));
    desc->w = w;
    return HXQ_OK;
}

int cuda_dmodel_put_hxq(cuda_dmodel *dm, const hxq_qmatrix *q, struct hxq_cuda_mat *desc,
                        hxq_error *err)
{
    int64_t n;
    if (!q->codebook || !q->indices || hxq_mul_i64(q->rows, q->cols, &n) < 0)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda model: bad HXQ matrix");
    memset(desc, 0, sizeof(*desc));
    void *p = NULL;
    HXQ_TRY(put_bytes(dm, q->codebook, HXQ_CODEBOOK_SIZE * sizeof(float), &p, err));
    desc->codebook = p;
    HXQ_TRY(put_bytes(dm, q->indices, (size_t)n, &p, err));
    desc->w = p;
    if (q->n_sidecar <= 0)
        return HXQ_OK;
    int32_t *rowptr = hxq_alloc_array(q->rows + 1, sizeof(int32_t));
    int32_t *col = hxq_alloc_array(q->n_sidecar, sizeof(int32_t));
    float *delta = hxq_alloc_array(q->n_sidecar, sizeof(float));
    int rc = rowptr && col && delta ? HXQ_OK
                                    : hxq_err(err, HXQ_ERR_NOMEM, "cuda model: out of memory");
    if (rc == HXQ_OK)
        rc = cuda_sidecar_csr(q, rowptr, col, delta, err);
    if (rc == HXQ_OK)
        rc = put_bytes(dm, rowptr, (size_t)(q->rows + 1) * sizeof(int32_t), &p, err);
    if (rc == HXQ_OK) {
        desc->sc_rowptr = p;
        rc = put_bytes(dm, col, (size_t)q->n_sidecar * sizeof(int32_t), &p, err);
    }
    if (rc == HXQ_OK) {
        desc->sc_col = p;
        rc = put_bytes(dm, delta, (size_t)q->n_sidecar * sizeof(float), &p, err);
    }
    if (rc == HXQ_OK)
        desc->sc_delta = p;
    free(rowptr);
    free(col);
    free(delta);
    return rc;
}

int cuda_dmodel_put_table(cuda_dmodel *dm, const struct hxq_cuda_mat *descs, int64_t n,
                          struct hxq_cuda_mat **out, hxq_error *err)
{
    void *p = NULL;
    HXQ_TRY(cuda_dmodel_alloc(dm, &p, (size_t)n * sizeof(*descs), err));
    *out = p;
    return hxq_cuda_upload(p, descs, (size_t)n * sizeof(*descs), err);
}

int cuda_dmodel_put_f32(cuda_dmodel *dm, const float *v, int64_t n, float **out,
                        hxq_error *err)
{
    void *p = NULL;
    HXQ_TRY(put_bytes(dm, v, (size_t)n * sizeof(float), &p, err));
    *out = p;
    return HXQ_OK;
}

void cuda_dmodel_free(cuda_dmodel *dm)
{
    if (!dm)
        return;
    for (int64_t i = 0; i < dm->n_allocs; i++)
        hxq_cuda_free(dm->allocs[i]);
    free(dm->allocs);
    free(dm->layers);
    memset(dm, 0, sizeof(*dm));
}

#else /* !HXQ_HAVE_CUDA */

int cuda_dmodel_put_dense(cuda_dmodel *dm, int kind, const void *data, int64_t rows,
                          int64_t cols, struct hxq_cuda_mat *desc, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
}

int cuda_dmodel_put_hxq(cuda_dmodel *dm, const hxq_qmatrix *q, struct hxq_cuda_mat *desc,
                        hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
}

int cuda_dmodel_put_table(cuda_dmodel *dm, const struct hxq_cuda_mat *descs, int64_t n,
                          struct hxq_cuda_mat **out, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
}

int cuda_dmodel_put_f32(cuda_dmodel *dm, const float *v, int64_t n, float **out,
                        hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
}

int cuda_dmodel_alloc(cuda_dmodel *dm, void **out, size_t bytes, hxq_error *err)
{
    (void)dm;
    (void)bytes;
    *out = NULL;
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
}

void cuda_dmodel_free(cuda_dmodel *dm)
{
    if (!dm)
        return;
    free(dm->allocs);
    free(dm->layers);
    memset(dm, 0, sizeof(*dm));
}

#endif

int cuda_sidecar_csr(const hxq_qmatrix *m, int32_t *rowptr, int32_t *col, float *delta,
                     hxq_error *err)
{
    int64_t total;
    if (m->rows < 0 || m->cols < 0 || m->cols > INT32_MAX || m->n_sidecar < 0 ||
        m->n_sidecar > INT32_MAX || hxq_mul_i64(m->rows, m->cols, &total) < 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "sidecar: %lld entries for a [%lld, %lld] matrix",
                       (long long)m->n_sidecar, (long long)m->rows, (long long)m->cols);
    int64_t r = 0;
    rowptr[0] = 0;
    for (int64_t e = 0; e < m->n_sidecar; e++) {
        const int64_t p = m->sidecar_pos[e];
        if (p < 0 || p >= total || (e > 0 && p <= m->sidecar_pos[e - 1]))
            return hxq_err(err, HXQ_ERR_FORMAT,
                           "sidecar: position %lld (entry %lld) out of range or not ascending",
                           (long long)p, (long long)e);
        const int64_t pr = p / m->cols;
        while (r < pr)
            rowptr[++r] = (int32_t)e;
        col[e] = (int32_t)(p % m->cols);
        delta[e] = m->sidecar_val[e] - m->codebook[m->indices[p]];
    }
    while (r < m->rows)
        rowptr[++r] = (int32_t)m->n_sidecar;
    return HXQ_OK;
}

int cuda_dmodel_check(const cuda_dmodel *dm, hxq_error *err)
{
    if (dm->hidden < 1 || dm->inter < 1 || dm->vocab < 1 || dm->n_layers < 1 ||
        dm->n_heads < 1 || dm->head_dim < 2 || dm->n_experts < 1 || dm->top_k < 1 ||
        dm->top_k > dm->n_experts || !dm->layers || !dm->embed || !dm->lm_head ||
        !dm->final_norm)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "cuda model: incomplete model description");
    if (dm->n_kv_heads != dm->n_heads)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "cuda model: %lld kv heads for %lld heads (grouped-query attention "
                       "is not supported)",
                       (long long)dm->n_kv_heads, (long long)dm->n_heads);
    if (dm->n_heads * dm->head_dim != dm->hidden || dm->head_dim % 2 || 128 % dm->head_dim)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "cuda model: head_dim %lld x %lld heads for hidden %lld (need heads x "
                       "head_dim == hidden and head_dim dividing 128)",
                       (long long)dm->head_dim, (long long)dm->n_heads, (long long)dm->hidden);
    if (dm->n_experts > 256)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "cuda model: %lld experts (at most 256)",
                       (long long)dm->n_experts);
    for (int64_t l = 0; l < dm->n_layers; l++) {
        const cuda_layer_w *L = &dm->layers[l];
        if (!L->attn_norm || !L->q_norm || !L->k_norm || !L->ffn_norm || !L->qkv || !L->o ||
            !L->router || !L->gate_up || !L->down)
            return hxq_err(err, HXQ_ERR_UNSUPPORTED, "cuda model: layer %lld incomplete",
                           (long long)l);
    }
    return HXQ_OK;
}
