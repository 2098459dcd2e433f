/* rope.cu - NeoX ("rotate_half") rotary position embedding, in place on the
 * q and k rows of a batch of tokens; the first position comes from device
 * memory so that the launch can sit in a captured decode graph. */
#include "cuda_int.cuh"

#define ROPE_THREADS 128

/* blockIdx.x = token, blockIdx.y = 0 for q, 1 for k. */
__global__ void __launch_bounds__(ROPE_THREADS)
rope_kernel(float *q, int64_t q_stride, int64_t nq, float *k, int64_t k_stride, int64_t nk,
            int64_t head_dim, const int32_t *d_pos, float theta)
{
    const int64_t t = blockIdx.x;
    float *v = blockIdx.y == 0 ? q + t * q_stride : k + t * k_stride;
    const int64_t nheads = blockIdx.y == 0 ? nq : nk;
    const int64_t half = head_dim / 2;
    const float pos = (float)(d_pos[0] + t);
    for (int64_t i = threadIdx.x; i < nheads * half; i += ROPE_THREADS) {
        const int64_t h = i / half, d = i % half;
        /* transformers: inv_freq = 1 / theta^(arange(0, dim, 2) / dim), fp32 */
        const float inv_freq = 1.0f / powf(theta, (float)(2 * d) / (float)head_dim);
        float sn, cs;
        sincosf(pos * inv_freq, &sn, &cs);
        float *hv = v + h * head_dim;
        const float a = hv[d], b = hv[d + half];
        hv[d] = a * cs - b * sn;
        hv[d + half] = b * cs + a * sn;
    }
}

extern "C" int hxq_cuda_rope_neox(float *q, int64_t q_stride, int64_t nq_heads, float *k,
                                  int64_t k_stride, int64_t nk_heads, int64_t head_dim,
                                  int64_t ntok, const int32_t *d_pos, float theta,
                                  void *stream, hxq_error *err)
{
    if (!q || !k || !d_pos)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda rope: NULL argument");
    if (head_dim < 2 || head_dim % 2 || nq_heads < 1 || nk_heads < 1 || ntok < 1 ||
        ntok > INT32_MAX || q_stride < nq_heads * head_dim || k_stride < nk_heads * head_dim ||
        !(theta > 0.0f))
        return hxq_err(err, HXQ_ERR_INVALID,
                       "cuda rope: bad shape head_dim %lld heads %lld/%lld tokens %lld",
                       (long long)head_dim, (long long)nq_heads, (long long)nk_heads,
                       (long long)ntok);
    dim3 grid((unsigned)ntok, 2);
    rope_kernel<<<grid, ROPE_THREADS, 0, CUDA_STREAM(stream)>>>(
        q, q_stride, nq_heads, k, k_stride, nk_heads, head_dim, d_pos, theta);
    return cuda_launch_status("rope", err);
}
