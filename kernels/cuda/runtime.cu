/* runtime.cu - device discovery, memory, copies, streams, graphs, events,
 * the shared-memory opt-in, and synthetic random fills for benchmarks. */
#include "cuda_int.cuh"

extern "C" int cuda_linear_prepare(int max_smem, hxq_error *err);
extern "C" int cuda_attention_prepare(int max_smem, hxq_error *err);

extern "C" int hxq_cuda_device_count(int *count, hxq_error *err)
{
    if (!count)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda device count: NULL argument");
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); /* clear, so later calls do not see it */
        *count = 0;
        hxq_err(err, HXQ_OK, "no CUDA device: %s", cudaGetErrorString(e));
        return HXQ_OK;
    }
    *count = n;
    if (n == 0)
        hxq_err(err, HXQ_OK, "no CUDA device: the driver reports none");
    return HXQ_OK;
}

extern "C" int hxq_cuda_device_info(char *name, size_t len, int *sm_count, hxq_error *err)
{
    cudaDeviceProp prop;
    HXQ_TRY(cuda_status(cudaGetDeviceProperties(&prop, 0), "device properties", err));
    if (name && len) {
        size_t i = 0;
        for (; i + 1 < len && prop.name[i]; i++)
            name[i] = prop.name[i];
        name[i] = '\0';
    }
    if (sm_count)
        *sm_count = prop.multiProcessorCount;
    return HXQ_OK;
}

extern "C" int hxq_cuda_prepare(hxq_error *err)
{
    int dev = 0, optin = 0;
    HXQ_TRY(cuda_status(cudaGetDevice(&dev), "get device", err));
    HXQ_TRY(cuda_status(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                               dev),
                        "shared memory limit", err));
    HXQ_TRY(cuda_linear_prepare(optin, err));
    return cuda_attention_prepare(optin, err);
}

extern "C" int hxq_cuda_alloc(void **ptr, size_t bytes, hxq_error *err)
{
    if (!ptr)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda alloc: NULL argument");
    *ptr = NULL;
    if (bytes == 0)
        return HXQ_OK;
    cudaError_t e = cudaMalloc(ptr, bytes);
    if (e != cudaSuccess) {
        *ptr = NULL;
        (void)cudaGetLastError();
        return hxq_err(err, e == cudaErrorMemoryAllocation ? HXQ_ERR_NOMEM : HXQ_ERR_DEVICE,
                       "cuda alloc of %zu bytes: %s", bytes, cudaGetErrorString(e));
    }
    return HXQ_OK;
}

extern "C" void hxq_cuda_free(void *ptr)
{
    if (ptr)
        (void)cudaFree(ptr);
}

extern "C" int hxq_cuda_host_alloc(void **ptr, size_t bytes, hxq_error *err)
{
    if (!ptr)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda host alloc: NULL argument");
    *ptr = NULL;
    if (bytes == 0)
        return HXQ_OK;
    cudaError_t e = cudaMallocHost(ptr, bytes);
    if (e != cudaSuccess) {
        *ptr = NULL;
        (void)cudaGetLastError();
        return hxq_err(err, HXQ_ERR_NOMEM, "cuda host alloc of %zu bytes: %s", bytes,
                       cudaGetErrorString(e));
    }
    return HXQ_OK;
}

extern "C" void hxq_cuda_host_free(void *ptr)
{
    if (ptr)
        (void)cudaFreeHost(ptr);
}

extern "C" int hxq_cuda_upload(void *d_dst, const void *src, size_t bytes, hxq_error *err)
{
    if ((!d_dst || !src) && bytes)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda upload: NULL argument");
    if (!bytes)
        return HXQ_OK;
    HXQ_TRY(cuda_status(cudaMemcpy(d_dst, src, bytes, cudaMemcpyHostToDevice), "upload", err));
    /* cudaMemcpy from pageable memory may return before the DMA lands; work on
     * other (non-blocking) streams must see the data */
    return cuda_status(cudaStreamSynchronize(0), "upload", err);
}

extern "C" int hxq_cuda_download(void *dst, const void *d_src, size_t bytes, hxq_error *err)
{
    if ((!dst || !d_src) && bytes)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda download: NULL argument");
    if (!bytes)
        return HXQ_OK;
    return cuda_status(cudaMemcpy(dst, d_src, bytes, cudaMemcpyDeviceToHost), "download", err);
}

extern "C" int hxq_cuda_copy_async(void *dst, const void *src, size_t bytes, void *stream,
                                   hxq_error *err)
{
    if ((!dst || !src) && bytes)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda copy: NULL argument");
    if (!bytes)
        return HXQ_OK;
    return cuda_status(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, CUDA_STREAM(stream)),
                       "copy", err);
}

extern "C" int hxq_cuda_memset_async(void *d_ptr, int value, size_t bytes, void *stream,
                                     hxq_error *err)
{
    if (!d_ptr && bytes)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda memset: NULL argument");
    if (!bytes)
        return HXQ_OK;
    return cuda_status(cudaMemsetAsync(d_ptr, value, bytes, CUDA_STREAM(stream)), "memset",
                       err);
}

extern "C" int hxq_cuda_stream_create(void **stream, hxq_error *err)
{
    if (!stream)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda stream: NULL argument");
    cudaStream_t s = NULL;
    *stream = NULL;
    HXQ_TRY(cuda_status(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "stream create",
                        err));
    *stream = (void *)s;
    return HXQ_OK;
}

extern "C" void hxq_cuda_stream_destroy(void *stream)
{
    if (stream)
        (void)cudaStreamDestroy(CUDA_STREAM(stream));
}

extern "C" int hxq_cuda_stream_sync(void *stream, hxq_error *err)
{
    return cuda_status(cudaStreamSynchronize(CUDA_STREAM(stream)), "stream sync", err);
}

extern "C" int hxq_cuda_graph_begin(void *stream, hxq_error *err)
{
    return cuda_status(cudaStreamBeginCapture(CUDA_STREAM(stream),
                                              cudaStreamCaptureModeThreadLocal),
                       "graph capture begin", err);
}

extern "C" int hxq_cuda_graph_end(void *stream, void **exec, hxq_error *err)
{
    if (!exec)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda graph end: NULL argument");
    *exec = NULL;
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(CUDA_STREAM(stream), &g);
    if (e != cudaSuccess) {
        if (g)
            (void)cudaGraphDestroy(g);
        (void)cudaGetLastError();
        return hxq_err(err, HXQ_ERR_DEVICE, "cuda graph capture: %s", cudaGetErrorString(e));
    }
    cudaGraphExec_t x = NULL;
    e = cudaGraphInstantiate(&x, g, 0);
    (void)cudaGraphDestroy(g);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return hxq_err(err, HXQ_ERR_DEVICE, "cuda graph instantiate: %s",
                       cudaGetErrorString(e));
    }
    *exec = (void *)x;
    return HXQ_OK;
}

extern "C" int hxq_cuda_graph_launch(void *exec, void *stream, hxq_error *err)
{
    if (!exec)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda graph launch: NULL argument");
    return cuda_status(cudaGraphLaunch((cudaGraphExec_t)exec, CUDA_STREAM(stream)),
                       "graph launch", err);
}

extern "C" void hxq_cuda_graph_free(void *exec)
{
    if (exec)
        (void)cudaGraphExecDestroy((cudaGraphExec_t)exec);
}

extern "C" int hxq_cuda_event_create(void **ev, hxq_error *err)
{
    if (!ev)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda event: NULL argument");
    cudaEvent_t e = NULL;
    *ev = NULL;
    HXQ_TRY(cuda_status(cudaEventCreate(&e), "event create", err));
    *ev = (void *)e;
    return HXQ_OK;
}

extern "C" int hxq_cuda_event_record(void *ev, void *stream, hxq_error *err)
{
    return cuda_status(cudaEventRecord((cudaEvent_t)ev, CUDA_STREAM(stream)), "event record",
                       err);
}

extern "C" int hxq_cuda_event_elapsed_ms(void *start, void *end, float *ms, hxq_error *err)
{
    if (!start || !end || !ms)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda event elapsed: NULL argument");
    HXQ_TRY(cuda_status(cudaEventSynchronize((cudaEvent_t)end), "event sync", err));
    return cuda_status(cudaEventElapsedTime(ms, (cudaEvent_t)start, (cudaEvent_t)end),
                       "event elapsed", err);
}

extern "C" void hxq_cuda_event_destroy(void *ev)
{
    if (ev)
        (void)cudaEventDestroy((cudaEvent_t)ev);
}

/* splitmix64 of (seed, i): a stateless, reproducible stream. */
__device__ __forceinline__ uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

__global__ void fill_random_kernel(void *p, int kind, int64_t n, uint64_t seed, float scale)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const uint64_t h = mix64(seed * 0x9e3779b97f4a7c15ull + (uint64_t)i);
        const float u = (float)(h >> 40) * (1.0f / 16777216.0f); /* [0, 1) */
        const float v = (2.0f * u - 1.0f) * scale;
        switch (kind) {
        case HXQ_CUDA_U8: ((uint8_t *)p)[i] = (uint8_t)(h >> 56); break;
        case HXQ_CUDA_F32: ((float *)p)[i] = v; break;
        case HXQ_CUDA_F16: ((__half *)p)[i] = __float2half(v); break;
        default: ((unsigned short *)p)[i] = (unsigned short)(__float_as_uint(v) >> 16); break;
        }
    }
}

extern "C" int hxq_cuda_fill_random(void *d_ptr, int kind, int64_t n, uint64_t seed,
                                    float scale, void *stream, hxq_error *err)
{
    if (!d_ptr || n < 0)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda fill_random: bad argument");
    if (kind != HXQ_CUDA_U8 && kind != HXQ_CUDA_F32 && kind != HXQ_CUDA_BF16 &&
        kind != HXQ_CUDA_F16)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda fill_random: kind %d", kind);
    if (n == 0)
        return HXQ_OK;
    int64_t blocks = (n + 255) / 256;
    if (blocks > 65536)
        blocks = 65536;
    fill_random_kernel<<<(unsigned)blocks, 256, 0, CUDA_STREAM(stream)>>>(d_ptr, kind, n, seed,
                                                                          scale);
    return cuda_launch_status("fill_random", err);
}
