/* router.cu - MoE router: softmax over all experts in fp32, then the top-k
 * probabilities (renormalised only when norm_topk_prob). One warp per
 * token; each lane holds up to 8 experts. */
#include "cuda_int.cuh"

#define ROUTER_WARPS 4
#define ROUTER_PER_LANE 8
#define ROUTER_MAX_EXPERTS (32 * ROUTER_PER_LANE)

__global__ void __launch_bounds__(ROUTER_WARPS * 32)
router_kernel(const float *logits, int64_t ntok, int n_experts, int top_k, int norm_topk,
              int32_t *ids, float *weights)
{
    const int lane = threadIdx.x & 31;
    const int64_t t = (int64_t)blockIdx.x * ROUTER_WARPS + (threadIdx.x >> 5);
    if (t >= ntok)
        return; /* whole warps leave together */
    const float *lg = logits + t * n_experts;
    float p[ROUTER_PER_LANE];
    float mx = -INFINITY;
#pragma unroll
    for (int i = 0; i < ROUTER_PER_LANE; i++) {
        const int e = lane + 32 * i;
        p[i] = e < n_experts ? lg[e] : -INFINITY;
        mx = fmaxf(mx, p[i]);
    }
    mx = warp_max(mx);
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < ROUTER_PER_LANE; i++) {
        const int e = lane + 32 * i;
        p[i] = e < n_experts ? expf(p[i] - mx) : 0.0f;
        sum += p[i];
    }
    sum = warp_sum(sum);
#pragma unroll
    for (int i = 0; i < ROUTER_PER_LANE; i++)
        p[i] = lane + 32 * i < n_experts ? p[i] / sum : -1.0f;

    float wsum = 0.0f;
    for (int r = 0; r < top_k; r++) {
        /* this lane's best (value, lowest index), then the warp's */
        float bv = -2.0f;
        int bi = INT32_MAX;
#pragma unroll
        for (int i = 0; i < ROUTER_PER_LANE; i++)
            if (p[i] > bv) { /* strict: keeps the lowest index of this lane */
                bv = p[i];
                bi = lane + 32 * i;
            }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ov > bv || (ov == bv && oi < bi)) {
                bv = ov;
                bi = oi;
            }
        }
        if (bi >= n_experts) { /* only with NaN logits: keep the ids valid */
            bi = r;
            bv = 0.0f;
        }
#pragma unroll
        for (int i = 0; i < ROUTER_PER_LANE; i++)
            if (lane + 32 * i == bi)
                p[i] = -1.0f; /* taken */
        if (lane == 0) {
            ids[t * top_k + r] = bi;
            weights[t * top_k + r] = bv;
        }
        wsum += bv;
    }
    if (norm_topk) {
        __syncwarp();
        for (int r = lane; r < top_k; r += 32)
            weights[t * top_k + r] /= wsum;
    }
}

extern "C" int hxq_cuda_router_topk(const float *logits, int64_t ntok, int64_t n_experts,
                                    int64_t top_k, int norm_topk, int32_t *ids,
                                    float *weights, void *stream, hxq_error *err)
{
    if (!logits || !ids || !weights)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda router: NULL argument");
    if (n_experts < 1 || n_experts > ROUTER_MAX_EXPERTS || top_k < 1 || top_k > n_experts ||
        ntok < 1 || ntok > (int64_t)INT32_MAX * ROUTER_WARPS)
        return hxq_err(err, HXQ_ERR_INVALID,
                       "cuda router: bad shape experts %lld top_k %lld tokens %lld (at most "
                       "%d experts)",
                       (long long)n_experts, (long long)top_k, (long long)ntok,
                       ROUTER_MAX_EXPERTS);
    const unsigned blocks = (unsigned)((ntok + ROUTER_WARPS - 1) / ROUTER_WARPS);
    router_kernel<<<blocks, ROUTER_WARPS * 32, 0, CUDA_STREAM(stream)>>>(
        logits, ntok, (int)n_experts, (int)top_k, norm_topk != 0, ids, weights);
    return cuda_launch_status("router", err);
}
