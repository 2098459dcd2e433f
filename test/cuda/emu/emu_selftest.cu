/* emu_selftest.cu - kernels that follow, and kernels that break, the rules the
 * CPU SIMT emulator enforces, with C entry points for
 * test/cuda/test_cuda_emu.c. Built only in EMU=1 builds: on a real GPU some
 * of these would hang or fault. Each entry returns the cudaError_t of the
 * step under test (0 = cudaSuccess). */
#include "emu_selftest.h"

#include "cuda_int.cuh"

/* ---- kernels that follow the rules ------------------------------------------ */

__global__ void butterfly_kernel(int *out)
{
    const int v = (int)threadIdx.x;
    for (int i = 0; i < 5; i++)
        out[threadIdx.x * 5 + i] = __shfl_xor_sync(0xffffffffu, v, 1 << i);
}

__global__ void block_sum_kernel(const float *x, int n, float *out)
{
    __shared__ float red[32];
    float s = 0.0f;
    for (int i = (int)threadIdx.x; i < n; i += (int)blockDim.x)
        s += x[i];
    s = block_sum(s, red);
    if (threadIdx.x == 0)
        out[blockIdx.x] = s;
}

/* threads that leave early do not hold back __syncthreads */
__global__ void early_exit_kernel(float *out)
{
    __shared__ float v;
    if (threadIdx.x >= 64)
        return;
    if (threadIdx.x == 0)
        v = 5.0f;
    __syncthreads();
    out[threadIdx.x] = v;
}

__global__ void fill_kernel(float *p, int n, float v)
{
    const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i < n)
        p[i] = v;
}

__global__ void add_one_kernel(float *p) { p[threadIdx.x] += 1.0f; }

__global__ void big_smem_kernel(float *out)
{
    extern __shared__ float4 big_smem4[];
    float *s = (float *)big_smem4;
    s[threadIdx.x * 4096] = (float)threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = s[(threadIdx.x ^ 1) * 4096];
}

/* ---- kernels that break them ------------------------------------------------- */

__global__ void divergent_sync_kernel(float *out)
{
    if (threadIdx.x < 16) {
        out[threadIdx.x] = 1.0f;
        __syncthreads();
    } else {
        out[threadIdx.x] = 2.0f;
        __syncthreads();
    }
}

__global__ void exited_lanes_shuffle_kernel(float *out)
{
    if ((threadIdx.x & 31) >= 16)
        return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (float)threadIdx.x, 1);
}

__global__ void deadlock_kernel(float *out)
{
    if (threadIdx.x == 0) {
        __syncthreads();
        return;
    }
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}

/* a race: thread 0 publishes a shared value without a barrier */
__global__ void race_kernel(float *out)
{
    __shared__ float v;
    if (threadIdx.x == 0)
        v = 42.0f;
    out[threadIdx.x] = v;
}

__global__ void read_one_past_kernel(const float *p, int n, float *out) { out[0] = p[n]; }

/* ---- entry points ----------------------------------------------------------------- */

static int wait_all(void)
{
    cudaError_t e = cudaDeviceSynchronize();
    cudaError_t l = cudaGetLastError();
    return (int)(e != cudaSuccess ? e : l);
}

extern "C" void emu_selftest_reset(void) { (void)cudaDeviceReset(); }

extern "C" int emu_selftest_butterfly(int *out)
{
    int *d = NULL;
    cudaMalloc((void **)&d, 64 * 5 * sizeof(int));
    butterfly_kernel<<<1, 64>>>(d);
    int rc = wait_all();
    if (rc == 0)
        rc = (int)cudaMemcpy(out, d, 64 * 5 * sizeof(int), cudaMemcpyDeviceToHost);
    cudaFree(d);
    return rc;
}

extern "C" int emu_selftest_block_sum(const float *x, int n, int threads, float *sum)
{
    float *dx = NULL, *dout = NULL;
    cudaMalloc((void **)&dx, (size_t)n * sizeof(float));
    cudaMalloc((void **)&dout, sizeof(float));
    cudaMemcpy(dx, x, (size_t)n * sizeof(float), cudaMemcpyHostToDevice);
    block_sum_kernel<<<1, threads>>>(dx, n, dout);
    int rc = wait_all();
    if (rc == 0)
        rc = (int)cudaMemcpy(sum, dout, sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(dx);
    cudaFree(dout);
    return rc;
}

static int run_on_128(void (*launch)(float *), float *out)
{
    float *d = NULL;
    cudaMalloc((void **)&d, 128 * sizeof(float));
    launch(d);
    int rc = wait_all();
    if (rc == 0 && out)
        rc = (int)cudaMemcpy(out, d, 128 * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(d);
    return rc;
}

static void launch_early_exit(float *d) { early_exit_kernel<<<1, 128>>>(d); }
static void launch_divergent(float *d) { divergent_sync_kernel<<<1, 32>>>(d); }
static void launch_exited_lanes(float *d) { exited_lanes_shuffle_kernel<<<1, 32>>>(d); }
static void launch_deadlock(float *d) { deadlock_kernel<<<1, 64>>>(d); }
static void launch_race(float *d) { race_kernel<<<1, 32>>>(d); }

extern "C" int emu_selftest_early_exit(float *out) { return run_on_128(launch_early_exit, out); }
extern "C" int emu_selftest_divergent_sync(void) { return run_on_128(launch_divergent, NULL); }
extern "C" int emu_selftest_exited_lanes(void) { return run_on_128(launch_exited_lanes, NULL); }
extern "C" int emu_selftest_deadlock(void) { return run_on_128(launch_deadlock, NULL); }
extern "C" int emu_selftest_race(float *out) { return run_on_128(launch_race, out); }

extern "C" int emu_selftest_smem_limit(int raise, float *out)
{
    const size_t smem = 8 * 4096 * sizeof(float); /* 128 KB: over the default 48 KB */
    if (raise && cudaFuncSetAttribute(big_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      (int)smem) != cudaSuccess)
        return (int)cudaGetLastError();
    float *d = NULL;
    cudaMalloc((void **)&d, 8 * sizeof(float));
    big_smem_kernel<<<1, 8, smem>>>(d);
    int rc = (int)cudaGetLastError(); /* a configuration error shows at once */
    if (rc == 0)
        rc = wait_all();
    if (rc == 0)
        rc = (int)cudaMemcpy(out, d, 8 * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(d);
    return rc;
}

extern "C" int emu_selftest_host_pointer_arg(void)
{
    float host[32] = {0};
    fill_kernel<<<1, 32>>>(host, 32, 1.0f);
    return (int)cudaGetLastError();
}

extern "C" int emu_selftest_stream_order(int sync_first, float *first)
{
    cudaStream_t s = NULL;
    float *d = NULL;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    cudaMalloc((void **)&d, 32 * sizeof(float));
    cudaMemsetAsync(d, 0, 32 * sizeof(float), s);
    fill_kernel<<<1, 32, 0, s>>>(d, 32, 3.0f);
    int rc = 0;
    if (sync_first)
        rc = (int)cudaStreamSynchronize(s);
    /* the legacy stream does not wait for a non-blocking stream */
    if (rc == 0)
        rc = (int)cudaMemcpy(first, d, sizeof(float), cudaMemcpyDeviceToHost);
    cudaStreamSynchronize(s);
    cudaFree(d);
    cudaStreamDestroy(s);
    return rc;
}

extern "C" int emu_selftest_capture(int sync_inside, int replays, float *value)
{
    cudaStream_t s = NULL;
    float *d = NULL, *pinned = NULL;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    cudaMalloc((void **)&d, 32 * sizeof(float));
    cudaMallocHost((void **)&pinned, 32 * sizeof(float));
    cudaMemset(d, 0, 32 * sizeof(float));
    cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
    add_one_kernel<<<1, 32, 0, s>>>(d);
    if (sync_inside)
        (void)cudaMemcpy(pinned, d, 32 * sizeof(float), cudaMemcpyDeviceToHost);
    cudaMemcpyAsync(pinned, d, 32 * sizeof(float), cudaMemcpyDeviceToHost, s);
    cudaGraph_t g = NULL;
    int rc = (int)cudaStreamEndCapture(s, &g);
    (void)cudaGetLastError();
    if (rc == 0) {
        cudaGraphExec_t x = NULL;
        rc = (int)cudaGraphInstantiate(&x, g, 0);
        for (int i = 0; rc == 0 && i < replays; i++)
            rc = (int)cudaGraphLaunch(x, s);
        if (rc == 0)
            rc = (int)cudaStreamSynchronize(s);
        if (rc == 0)
            *value = pinned[7];
        cudaGraphExecDestroy(x);
        cudaGraphDestroy(g);
    }
    cudaFreeHost(pinned);
    cudaFree(d);
    cudaStreamDestroy(s);
    return rc;
}

extern "C" int emu_selftest_read_one_past(void)
{
    float *d = NULL, *out = NULL;
    cudaMalloc((void **)&d, 64 * sizeof(float));
    cudaMalloc((void **)&out, sizeof(float));
    read_one_past_kernel<<<1, 1>>>(d, 64, out);
    int rc = wait_all();
    cudaFree(d);
    cudaFree(out);
    return rc;
}
