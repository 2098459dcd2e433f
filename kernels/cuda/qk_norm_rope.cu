/* qk_norm_rope.cu - the fused attention prologue of OLMoE: full-width
 * RMSNorm of q and k, NeoX RoPE, and the append of k and v to the KV cache,
 * in one launch (block (t, 0) does q, block (t, 1) does k and v). The
 * arithmetic is that of rmsnorm.cu, rope.cu and attention.cu's kv_store. */
#include "cuda_int.cuh"

#define QKR_THREADS 256

__global__ void __launch_bounds__(QKR_THREADS)
qk_norm_rope_kernel(float *qkv, int64_t stride, const float *q_norm, const float *k_norm,
                    int64_t n_heads, int64_t head_dim, float eps, float theta, float *k_cache,
                    float *v_cache, int64_t max_ctx, const int32_t *d_pos)
{
    extern __shared__ float4 qkr_smem4[];
    float *s = (float *)qkr_smem4; /* the raw vector [hidden] */
    __shared__ float red[32];
    const int64_t t = blockIdx.x, H = n_heads * head_dim, half = head_dim / 2;
    const int is_k = blockIdx.y == 1;
    float *row = qkv + t * stride + (is_k ? H : 0);
    const float *w = is_k ? k_norm : q_norm;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < H; i += QKR_THREADS) {
        const float v = row[i];
        s[i] = v;
        ss += v * v;
    }
    ss = block_sum(ss, red); /* its barriers also publish s[] */
    const float inv = 1.0f / sqrtf(ss / (float)H + eps);
    const int64_t prow = (int64_t)d_pos[0] + t;
    float *dst = row;
    if (is_k) {
        if (prow < 0 || prow >= max_ctx)
            return; /* the whole block: nothing to store */
        dst = k_cache + prow * H;
    }
    const float pos = (float)prow;
    for (int64_t i = threadIdx.x; i < n_heads * half; i += QKR_THREADS) {
        const int64_t h = i / half, d = i % half;
        const int64_t i0 = h * head_dim + d, i1 = i0 + half;
        const float inv_freq = 1.0f / powf(theta, (float)(2 * d) / (float)head_dim);
        float sn, cs;
        sincosf(pos * inv_freq, &sn, &cs);
        const float a = w[i0] * (s[i0] * inv), b = w[i1] * (s[i1] * inv);
        dst[i0] = a * cs - b * sn;
        dst[i1] = b * cs + a * sn;
    }
    if (is_k) {
        const float *v = qkv + t * stride + 2 * H;
        for (int64_t i = threadIdx.x; i < H; i += QKR_THREADS)
            v_cache[prow * H + i] = v[i];
    }
}

extern "C" int hxq_cuda_qk_norm_rope(float *qkv, int64_t stride, const float *q_norm,
                                     const float *k_norm, int64_t n_heads, int64_t head_dim,
                                     float eps, float theta, float *k_cache, float *v_cache,
                                     int64_t ntok, int64_t max_ctx, const int32_t *d_pos,
                                     void *stream, hxq_error *err)
{
    if (!qkv || !q_norm || !k_norm || !k_cache || !v_cache || !d_pos)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda qk_norm_rope: NULL argument");
    if (n_heads < 1 || head_dim < 2 || head_dim % 2 || ntok < 1 || ntok > INT32_MAX ||
        max_ctx < 1 || n_heads * head_dim > 12288 || stride < 3 * n_heads * head_dim ||
        !(eps >= 0.0f) || !(theta > 0.0f))
        return hxq_err(err, HXQ_ERR_INVALID,
                       "cuda qk_norm_rope: bad shape heads %lld head_dim %lld tokens %lld",
                       (long long)n_heads, (long long)head_dim, (long long)ntok);
    dim3 grid((unsigned)ntok, 2);
    const size_t smem = (size_t)(n_heads * head_dim) * sizeof(float);
    qk_norm_rope_kernel<<<grid, QKR_THREADS, smem, CUDA_STREAM(stream)>>>(
        qkv, stride, q_norm, k_norm, n_heads, head_dim, eps, theta, k_cache, v_cache, max_ctx,
        d_pos);
    return cuda_launch_status("qk_norm_rope", err);
}
