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
