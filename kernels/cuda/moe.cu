/* moe.cu - expert dispatch: only the top-k experts of each token run, as
 * two grouped products (gate+up with the RMSNorm prologue, then down with
 * the silu(gate) * up prologue) and a weighted accumulate into the residual
 * stream. */
#include "cuda_int.cuh"

#include <string.h>

#define MOE_THREADS 256

__global__ void __launch_bounds__(MOE_THREADS)
weighted_add_kernel(const float *ye, const float *w, float *out, int64_t top_k, int64_t dim)
{
    const int64_t t = blockIdx.y;
    const int64_t i = (int64_t)blockIdx.x * MOE_THREADS + threadIdx.x;
    if (i >= dim)
        return;
    float s = 0.0f;
    for (int64_t j = 0; j < top_k; j++)
        s += w[t * top_k + j] * ye[(t * top_k + j) * dim + i];
    out[t * dim + i] += s;
}

extern "C" int hxq_cuda_weighted_add(const float *ye, const float *weights, float *out,
                                     int64_t ntok, int64_t top_k, int64_t dim, void *stream,
                                     hxq_error *err)
{
    if (!ye || !weights || !out)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda weighted_add: NULL argument");
    if (ntok < 1 || ntok > CUDA_GRID_YZ_MAX || top_k < 1 || dim < 1 ||
        dim > (int64_t)INT32_MAX * MOE_THREADS)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda weighted_add: bad shape");
    dim3 grid((unsigned)((dim + MOE_THREADS - 1) / MOE_THREADS), (unsigned)ntok);
    weighted_add_kernel<<<grid, MOE_THREADS, 0, CUDA_STREAM(stream)>>>(ye, weights, out, top_k,
                                                                       dim);
    return cuda_launch_status("weighted_add", err);
}

extern "C" int hxq_cuda_moe(const hxq_cuda_moe_args *a, void *stream, hxq_error *err)
{
    if (!a || !a->gate_up || !a->down || !a->ids || !a->weights || !a->x || !a->gu || !a->ye ||
        !a->out)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda moe: NULL argument");
    if (a->n_experts < 1 || a->top_k < 1 || a->top_k > a->n_experts || a->hidden < 1 ||
        a->inter < 1 || a->ntok < 1 || a->top_k > INT32_MAX / 2)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda moe: bad shape experts %lld top_k %lld",
                       (long long)a->n_experts, (long long)a->top_k);
    const int k = (int)a->top_k;
    hxq_cuda_linear_args l;
    memset(&l, 0, sizeof(l));
    l.mats = a->gate_up;
    l.kind = a->gate_up_kind;
    l.rows = a->inter;
    l.cols = a->hidden;
    l.nsets = 2;
    l.set_stride = a->n_experts;
    l.sel = a->ids;
    l.nsel = k;
    l.ntok = a->ntok;
    l.x = a->x;
    l.x_tok = a->hidden;
    l.x_grp = 0;
    l.y = a->gu;
    l.y_tok = 2 * a->top_k * a->inter;
    l.y_grp = a->inter;
    l.norm_w = a->norm_w;
    l.norm_eps = a->norm_eps;
    HXQ_TRY(hxq_cuda_linear(&l, stream, err));
    l.norm_w = NULL;
    l.mats = a->down;
    l.kind = a->down_kind;
    l.rows = a->hidden;
    l.cols = a->inter;
    l.nsets = 1;
    l.x = a->gu; /* group j: gate at j * inter, up at (top_k + j) * inter */
    l.x_tok = 2 * a->top_k * a->inter;
    l.x_grp = a->inter;
    l.x_up = a->top_k * a->inter;
    l.y = a->ye;
    l.y_tok = a->top_k * a->hidden;
    l.y_grp = a->hidden;
    HXQ_TRY(hxq_cuda_linear(&l, stream, err));
    return hxq_cuda_weighted_add(a->ye, a->weights, a->out, a->ntok, a->top_k, a->hidden,
                                 stream, err);
}
