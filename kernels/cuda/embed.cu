/* embed.cu - embedding lookup: rows of a dense table gathered by token id
 * (ids in device memory) and widened to float. */
#include "cuda_int.cuh"

#define EMBED_THREADS 256

template <int KIND>
__global__ void __launch_bounds__(EMBED_THREADS)
embed_kernel(const void *table, int64_t vocab, int64_t dim, const int32_t *ids, float *out)
{
    const int64_t t = blockIdx.x;
    const int64_t id = ids[t];
    float *o = out + t * dim;
    const bool ok = id >= 0 && id < vocab;
    for (int64_t i = threadIdx.x; i < dim; i += EMBED_THREADS)
        o[i] = ok ? dense_at<KIND>(table, id * dim + i) : 0.0f;
}

extern "C" int hxq_cuda_embed(int kind, const void *table, int64_t vocab, int64_t dim,
                              const int32_t *ids, int64_t ntok, float *out, void *stream,
                              hxq_error *err)
{
    if (!table || !ids || !out)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda embed: NULL argument");
    if (vocab < 1 || dim < 1 || ntok < 1 || ntok > INT32_MAX)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda embed: bad shape vocab %lld dim %lld",
                       (long long)vocab, (long long)dim);
    cudaStream_t st = CUDA_STREAM(stream);
    switch (kind) {
    case HXQ_CUDA_F32:
        embed_kernel<HXQ_CUDA_F32><<<(unsigned)ntok, EMBED_THREADS, 0, st>>>(table, vocab, dim,
                                                                             ids, out);
        break;
    case HXQ_CUDA_BF16:
        embed_kernel<HXQ_CUDA_BF16><<<(unsigned)ntok, EMBED_THREADS, 0, st>>>(table, vocab,
                                                                              dim, ids, out);
        break;
    case HXQ_CUDA_F16:
        embed_kernel<HXQ_CUDA_F16><<<(unsigned)ntok, EMBED_THREADS, 0, st>>>(table, vocab, dim,
                                                                             ids, out);
        break;
    default:
        return hxq_err(err, HXQ_ERR_INVALID,
                       "cuda embed: table kind %d is not dense (F32, BF16, F16)", kind);
    }
    return cuda_launch_status("embed", err);
}
