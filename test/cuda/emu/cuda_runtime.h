/* cuda_runtime.h - the part of the CUDA runtime and device language that
 * kernels/cuda uses, for the CPU SIMT emulator (see simt.h). Found before
 * any real CUDA header because the emulator build puts test/cuda/emu first
 * on the include path; the real nvcc build never sees this folder. */
#ifndef HXQ_EMU_CUDA_RUNTIME_H
#define HXQ_EMU_CUDA_RUNTIME_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "simt.h"

/* ---- language ------------------------------------------------------------- */

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
/* cu2cc.pl turns `__shared__ T name[N];` into a reference to a fresh
 * per-block allocation (emu_shared_var); a __shared__ left over is an error */
#define __shared__ __shared___is_rewritten_by_cu2cc

#define threadIdx (emu_current->thread_idx)
#define blockIdx (emu_current->block_idx)
#define blockDim (emu_current->block_dim)
#define gridDim (emu_current->grid_dim)

struct dim3 {
    unsigned int x, y, z;
    dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

/* as aligned as on the GPU, so UBSan flags a misaligned vector access */
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(8) uint2 {
    unsigned int x, y;
};
struct alignas(8) float2 {
    float x, y;
};

/* Barriers are told their source line: that is what makes two of them "the
 * same barrier" (the C++ compiler may merge or duplicate the calls). */
#define __syncthreads() emu_syncthreads(emu_site{__FILE__, __LINE__})
#define __syncwarp(...) emu_syncwarp(emu_full_mask(__VA_ARGS__), emu_site{__FILE__, __LINE__})
#define __shfl_xor_sync(mask, v, lane_mask)                                         \
    emu_shfl_xor_typed((mask), (v), (lane_mask), emu_site{__FILE__, __LINE__})

static inline unsigned int emu_full_mask(unsigned int m = 0xffffffffu) { return m; }

template <typename T>
static inline T emu_shfl_xor_typed(unsigned int mask, T v, int lane_mask, emu_site site)
{
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle type");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    bits = emu_shfl_xor(mask, bits, lane_mask, site);
    std::memcpy(&v, &bits, sizeof(T));
    return v;
}

/* The block's instance of the __shared__ variable declared at `id`. */
template <typename T> static inline T &emu_shared_var(int id)
{
    return *static_cast<T *>(emu_static_smem(id, sizeof(T), alignof(T)));
}

template <typename T> static inline T __ldg(const T *p) { return *p; }

static inline float __uint_as_float(unsigned int u)
{
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

static inline unsigned int __float_as_uint(float f)
{
    unsigned int u;
    std::memcpy(&u, &f, 4);
    return u;
}

/* ---- runtime API ------------------------------------------------------------ */

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevice = 101,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchFailure = 719,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
    cudaErrorStreamCaptureImplicit = 906,
};

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};

enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerBlockOptin = 97 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

#define cudaStreamNonBlocking 0x01u

typedef struct emu_stream *cudaStream_t;
typedef struct emu_event *cudaEvent_t;
typedef struct emu_graph *cudaGraph_t;
typedef struct emu_graph_exec *cudaGraphExec_t;

struct cudaDeviceProp {
    char name[256];
    int multiProcessorCount;
    size_t totalGlobalMem;
    size_t sharedMemPerBlock;
    size_t sharedMemPerBlockOptin;
    int maxThreadsPerBlock;
    int warpSize;
    int major, minor;
};

struct cudaFuncAttributes {
    size_t sharedSizeBytes;
    int maxDynamicSharedSizeBytes;
    int maxThreadsPerBlock;
};

cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int dev);
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int dev);
cudaError_t cudaDeviceSynchronize(void);
/* Unlike CUDA's, keeps allocations: clears errors, pending work, captures. */
cudaError_t cudaDeviceReset(void);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t bytes);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *x, cudaGraph_t g, unsigned long long flags);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphLaunch(cudaGraphExec_t x, cudaStream_t s);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t x);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t e);

cudaError_t emu_func_get_attributes(cudaFuncAttributes *fa, const void *key);
cudaError_t emu_func_set_attribute(const void *key, cudaFuncAttribute attr, int value);

template <typename F> static inline cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *fa, F k)
{
    return emu_func_get_attributes(fa, reinterpret_cast<const void *>(k));
}

template <typename F>
static inline cudaError_t cudaFuncSetAttribute(F k, cudaFuncAttribute attr, int value)
{
    return emu_func_set_attribute(reinterpret_cast<const void *>(k), attr, value);
}

/* ---- launches (what cu2cc.pl turns `k<<<...>>>(args)` into) ------------------ */

struct emu_config {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    emu_config(dim3 g, dim3 b, size_t sm = 0, cudaStream_t st = nullptr)
        : grid(g), block(b), smem(sm), stream(st)
    {
    }
};

/* A pointer argument must point into device (or pinned) memory, as a real
 * kernel would fault on it otherwise. */
template <typename T> static inline bool emu_arg_ok(const T &) { return true; }
template <typename T> static inline bool emu_arg_ok(T *p)
{
    return p == nullptr || emu_pointer_is_device((const void *)p);
}

template <typename Tuple, size_t... I>
static inline int emu_first_bad_arg(const Tuple &t, std::index_sequence<I...>)
{
    int bad = -1;
    ((bad < 0 && !emu_arg_ok(std::get<I>(t)) ? (void)(bad = (int)I) : (void)0), ...);
    return bad;
}

template <typename... P, typename... A>
static void emu_launch(const emu_config &c, const char *name, void (*kernel)(P...), A &&...args)
{
    /* arguments are converted and copied at launch, as CUDA does */
    std::tuple<typename std::decay<P>::type...> params(std::forward<A>(args)...);
    int bad = emu_first_bad_arg(params, std::index_sequence_for<P...>{});
    if (bad >= 0) {
        emu_launch_error(cudaErrorIllegalAddress,
                         "kernel %s: argument %d is not a device pointer", name, bad);
        return;
    }
    emu_kernel_launch k;
    k.name = name;
    k.key = reinterpret_cast<const void *>(kernel);
    k.grid[0] = c.grid.x, k.grid[1] = c.grid.y, k.grid[2] = c.grid.z;
    k.block[0] = c.block.x, k.block[1] = c.block.y, k.block[2] = c.block.z;
    k.smem = c.smem;
    k.body = [kernel, params]() { std::apply(kernel, params); };
    emu_submit_launch(c.stream, std::move(k));
}

#endif
