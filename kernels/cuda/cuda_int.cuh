/* cuda_int.cuh - helpers shared by the kernels in kernels/cuda (private). */
#ifndef HXQ_CUDA_INT_CUH
#define HXQ_CUDA_INT_CUH

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "hxq_cuda.h"

/* Checks the launch just enqueued (configuration errors, a sticky error from
 * earlier work) and turns it into a status naming the op. */
static inline int cuda_launch_status(const char *op, hxq_error *err)
{
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return hxq_err(err, HXQ_ERR_DEVICE, "cuda %s: %s", op, cudaGetErrorString(e));
    return HXQ_OK;
}

/* A CUDA runtime call's status as an hxq status. */
static inline int cuda_status(cudaError_t e, const char *what, hxq_error *err)
{
    if (e != cudaSuccess)
        return hxq_err(err, HXQ_ERR_DEVICE, "cuda %s: %s", what, cudaGetErrorString(e));
    return HXQ_OK;
}

#define CUDA_STREAM(s) ((cudaStream_t)(s))

/* Raises a kernel's dynamic shared-memory limit to the device's opt-in
 * maximum less the kernel's static shared memory (the sum may not exceed
 * the opt-in maximum). Not for use inside a graph capture. */
template <typename K>
static int cuda_allow_smem(K kernel, int optin, const char *what, hxq_error *err)
{
    cudaFuncAttributes fa;
    HXQ_TRY(cuda_status(cudaFuncGetAttributes(&fa, kernel), what, err));
    return cuda_status(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            optin - (int)fa.sharedSizeBytes),
                       what, err);
}

/* Largest grid.y / grid.z. */
#define CUDA_GRID_YZ_MAX 65535

__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Sum over the block (blockDim.x a multiple of 32, at most 1024); every
 * thread gets the result. red is __shared__ float[32]; the function
 * synchronizes before returning, so red can be reused at once. */
__device__ __forceinline__ float block_sum(float v, float *red)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0)
        red[warp] = v;
    __syncthreads();
    float t = lane < nwarps ? red[lane] : 0.0f;
    t = warp_sum(t);
    __syncthreads();
    return t;
}

/* Maximum over the block, same contract as block_sum. */
__device__ __forceinline__ float block_max(float v, float *red)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0)
        red[warp] = v;
    __syncthreads();
    float t = lane < nwarps ? red[lane] : -INFINITY;
    t = warp_max(t);
    __syncthreads();
    return t;
}

__device__ __forceinline__ float bf16_bits_to_f32(unsigned int h)
{
    return __uint_as_float((h & 0xffffu) << 16);
}

__device__ __forceinline__ float f16_bits_to_f32(unsigned int h)
{
    return __half2float(__ushort_as_half((unsigned short)(h & 0xffffu)));
}

/* Element i of a dense matrix of kind HXQ_CUDA_F32 / BF16 / F16. */
template <int KIND>
__device__ __forceinline__ float dense_at(const void *w, int64_t i)
{
    if (KIND == HXQ_CUDA_F32)
        return __ldg((const float *)w + i);
    unsigned int h = __ldg((const unsigned short *)w + i);
    return KIND == HXQ_CUDA_BF16 ? bf16_bits_to_f32(h) : f16_bits_to_f32(h);
}

#endif /* HXQ_CUDA_INT_CUH */
