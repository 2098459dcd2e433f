/* attention.cu - the GPU KV cache (append) and causal decode/prefill
 * attention over it. One block per (head, query token): scores for all keys
 * in shared memory, an exact softmax (max subtracted), then V weighted by
 * groups of threads per output dimension. Positions come from device memory
 * so the launches can be captured in a graph. */
#include "cuda_int.cuh"

#define ATTN_THREADS 128
#define KV_THREADS 256

__global__ void __launch_bounds__(KV_THREADS)
kv_store_kernel(const float *k, int64_t k_stride, const float *v, int64_t v_stride,
                float *k_cache, float *v_cache, int64_t kv_dim, int64_t max_ctx,
                const int32_t *d_pos)
{
    const int64_t t = blockIdx.x;
    const int64_t row = (int64_t)d_pos[0] + t;
    if (row < 0 || row >= max_ctx)
        return;
    for (int64_t i = threadIdx.x; i < kv_dim; i += KV_THREADS) {
        k_cache[row * kv_dim + i] = k[t * k_stride + i];
        v_cache[row * kv_dim + i] = v[t * v_stride + i];
    }
}

extern "C" int hxq_cuda_kv_store(const float *k, int64_t k_stride, const float *v,
                                 int64_t v_stride, float *k_cache, float *v_cache,
                                 int64_t kv_dim, int64_t ntok, int64_t max_ctx,
                                 const int32_t *d_pos, void *stream, hxq_error *err)
{
    if (!k || !v || !k_cache || !v_cache || !d_pos)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda kv_store: NULL argument");
    if (kv_dim < 1 || ntok < 1 || ntok > INT32_MAX || max_ctx < 1 || k_stride < kv_dim ||
        v_stride < kv_dim)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda kv_store: bad shape kv_dim %lld ntok %lld",
                       (long long)kv_dim, (long long)ntok);
    kv_store_kernel<<<(unsigned)ntok, KV_THREADS, 0, CUDA_STREAM(stream)>>>(
        k, k_stride, v, v_stride, k_cache, v_cache, kv_dim, max_ctx, d_pos);
    return cuda_launch_status("kv_store", err);
}

/* blockIdx.x = head, blockIdx.y = query token. Shared: q [head_dim], scores
 * [max_ctx], partial outputs [ATTN_THREADS], reduction [32]. */
__global__ void __launch_bounds__(ATTN_THREADS)
attention_kernel(const float *q, int64_t q_stride, const float *k_cache, const float *v_cache,
                 float *out, int64_t out_stride, int64_t n_heads, int64_t n_kv_heads,
                 int64_t head_dim, int64_t max_ctx, const int32_t *d_pos)
{
    extern __shared__ float4 attn_smem4[];
    float *qs = (float *)attn_smem4;
    float *sc = qs + head_dim;
    float *part = sc + max_ctx;
    float *red = part + ATTN_THREADS;
    const int64_t h = blockIdx.x, t = blockIdx.y;
    const int64_t kvh = h / (n_heads / n_kv_heads);
    const int64_t kv_dim = n_kv_heads * head_dim;
    int64_t n = (int64_t)d_pos[0] + t + 1;
    if (n > max_ctx)
        n = max_ctx;
    if (n < 1)
        n = 1;
    const float *qh = q + t * q_stride + h * head_dim;
    for (int64_t d = threadIdx.x; d < head_dim; d += ATTN_THREADS)
        qs[d] = qh[d];
    __syncthreads();

    const float scale = 1.0f / sqrtf((float)head_dim);
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < n; j += ATTN_THREADS) {
        const float *kr = k_cache + j * kv_dim + kvh * head_dim;
        float s = 0.0f;
        for (int64_t d = 0; d < head_dim; d++)
            s += qs[d] * kr[d];
        s *= scale;
        sc[j] = s;
        mx = fmaxf(mx, s);
    }
    mx = block_max(mx, red);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < n; j += ATTN_THREADS) {
        const float e = expf(sc[j] - mx);
        sc[j] = e;
        sum += e;
    }
    sum = block_sum(sum, red); /* also orders the sc[] writes before the reads */

    const int64_t ngrp = ATTN_THREADS / head_dim;
    const int64_t d = threadIdx.x % head_dim, grp = threadIdx.x / head_dim;
    float acc = 0.0f;
    if (grp < ngrp)
        for (int64_t j = grp; j < n; j += ngrp)
            acc += sc[j] * v_cache[j * kv_dim + kvh * head_dim + d];
    part[threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.x < head_dim) {
        float o = 0.0f;
        for (int64_t g = 0; g < ngrp; g++)
            o += part[g * head_dim + threadIdx.x];
        out[t * out_stride + h * head_dim + threadIdx.x] = o / sum;
    }
}

static size_t attention_smem(int64_t head_dim, int64_t max_ctx)
{
    return (size_t)(head_dim + max_ctx + ATTN_THREADS + 32) * sizeof(float);
}

/* Called by hxq_cuda_prepare(). */
extern "C" int cuda_attention_prepare(int max_smem, hxq_error *err)
{
    return cuda_allow_smem(attention_kernel, max_smem, "attention: shared memory limit", err);
}

extern "C" int hxq_cuda_attention(const float *q, int64_t q_stride, const float *k_cache,
                                  const float *v_cache, float *out, int64_t out_stride,
                                  int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                                  int64_t ntok, int64_t max_ctx, const int32_t *d_pos,
                                  void *stream, hxq_error *err)
{
    if (!q || !k_cache || !v_cache || !out || !d_pos)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda attention: NULL argument");
    if (head_dim < 1 || ATTN_THREADS % head_dim || n_heads < 1 || n_kv_heads < 1 ||
        n_heads % n_kv_heads || n_heads > INT32_MAX || ntok < 1 || ntok > CUDA_GRID_YZ_MAX ||
        max_ctx < 1 || max_ctx > HXQ_CUDA_MAX_CTX || q_stride < n_heads * head_dim ||
        out_stride < n_heads * head_dim)
        return hxq_err(err, HXQ_ERR_INVALID,
                       "cuda attention: bad shape heads %lld/%lld head_dim %lld tokens %lld "
                       "ctx %lld",
                       (long long)n_heads, (long long)n_kv_heads, (long long)head_dim,
                       (long long)ntok, (long long)max_ctx);
    dim3 grid((unsigned)n_heads, (unsigned)ntok);
    attention_kernel<<<grid, ATTN_THREADS, attention_smem(head_dim, max_ctx),
                       CUDA_STREAM(stream)>>>(q, q_stride, k_cache, v_cache, out, out_stride,
                                              n_heads, n_kv_heads, head_dim, max_ctx, d_pos);
    return cuda_launch_status("attention", err);
}
