/* emu_runtime.cc - the CUDA runtime calls kernels/cuda makes, over host memory,
 * for the CPU SIMT emulator (see simt.h): one emulated H100-like device,
 * allocations tracked so copies and kernel arguments are checked, lazy
 * streams, graph capture with CUDA's restrictions, events, sticky errors. */
#include "cuda_runtime.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

struct emu_op {
    std::function<void()> run;
};

struct emu_graph {
    std::vector<emu_op> ops;
};

struct emu_graph_exec {
    std::vector<emu_op> ops;
};

struct emu_stream {
    std::deque<emu_op> queue;
    bool capturing = false;
    bool capture_broken = false;
    emu_graph *capture = nullptr;
};

struct emu_event {
    bool recorded = false;
    double t_ms = 0.0;
    emu_stream *stream = nullptr;
    uint64_t pending = 0; /* record ops enqueued and not yet run */
};

namespace {

const int kSmemDefault = 48 * 1024;
const int kSmemOptin = 232448; /* H100: 227 KB per block */
const int kSmCount = 132;

std::recursive_mutex g_lock;
cudaError_t g_last = cudaSuccess;   /* returned and cleared by cudaGetLastError */
cudaError_t g_sticky = cudaSuccess; /* a failed kernel: every later call fails */
std::map<uintptr_t, size_t> g_device, g_pinned;
std::map<const void *, int> g_smem_max;
emu_stream g_legacy;
std::vector<emu_stream *> g_streams;
int g_capturing; /* streams capturing now */
const bool g_trace = getenv("HXQ_EMU_TRACE") != nullptr;

cudaError_t set_error(cudaError_t e)
{
    if (e != cudaSuccess)
        g_last = e;
    return e;
}

__attribute__((format(printf, 2, 3))) cudaError_t report(cudaError_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cuda-emu: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return set_error(e);
}

double now_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The allocation in `m` that holds [p, p + n), if any. */
bool in_map(const std::map<uintptr_t, size_t> &m, const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    auto it = m.upper_bound(a);
    if (it == m.begin())
        return false;
    --it;
    return a >= it->first && n <= it->second && a - it->first <= it->second - n;
}

bool is_device(const void *p, size_t n) { return in_map(g_device, p, n); }
bool is_pinned(const void *p, size_t n) { return in_map(g_pinned, p, n); }

emu_stream *stream_of(cudaStream_t s) { return s ? s : &g_legacy; }

bool known_stream(cudaStream_t s)
{
    if (!s)
        return true;
    for (emu_stream *x : g_streams)
        if (x == s)
            return true;
    return false;
}

/* Runs a stream's queue until `until` says stop (or it is empty). */
void drain(emu_stream *s, const std::function<bool()> &until = nullptr)
{
    while (!s->queue.empty() && !(until && until())) {
        emu_op op = std::move(s->queue.front());
        s->queue.pop_front();
        op.run();
    }
}

void drain_all()
{
    drain(&g_legacy);
    for (emu_stream *s : g_streams)
        drain(s);
}

/* Inside a thread-local capture, calls that may synchronize are refused and
 * break the capture, as CUDA does. */
bool capture_forbids(const char *what)
{
    if (!g_capturing)
        return false;
    for (emu_stream *s : g_streams)
        if (s->capturing)
            s->capture_broken = true;
    report(cudaErrorStreamCaptureUnsupported, "%s during a stream capture", what);
    return true;
}

/* Adds an op to the stream, or to its graph when it is capturing. */
cudaError_t enqueue(cudaStream_t handle, emu_op &&op, const char *what)
{
    if (!known_stream(handle))
        return report(cudaErrorInvalidResourceHandle, "%s on an unknown stream", what);
    emu_stream *s = stream_of(handle);
    if (s == &g_legacy && g_capturing) {
        capture_forbids("work on the legacy default stream");
        return set_error(cudaErrorStreamCaptureImplicit);
    }
    if (s->capturing)
        s->capture->ops.push_back(std::move(op));
    else
        s->queue.push_back(std::move(op));
    return cudaSuccess;
}

void run_launch(const emu_kernel_launch &k)
{
    if (g_sticky != cudaSuccess)
        return;
    char msg[512];
    if (g_trace)
        fprintf(stderr, "cuda-emu: run %s grid (%u,%u,%u) block (%u,%u,%u) smem %zu\n", k.name,
                k.grid[0], k.grid[1], k.grid[2], k.block[0], k.block[1], k.block[2], k.smem);
    if (emu_simt_run(k, msg, sizeof(msg)) != 0) {
        report(cudaErrorLaunchFailure, "%s", msg);
        g_sticky = cudaErrorLaunchFailure;
    }
}

} /* namespace */

/* ---- launches ------------------------------------------------------------------ */

bool emu_pointer_is_device(const void *p)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    return is_device(p, 1) || is_pinned(p, 1);
}

void emu_launch_error(int code, const char *fmt, ...)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report((cudaError_t)code, "%s", msg);
}

void emu_submit_launch(void *stream, emu_kernel_launch &&k)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    const uint64_t threads = (uint64_t)k.block[0] * k.block[1] * k.block[2];
    if (threads == 0 || threads > 1024 || k.block[2] > 64 || k.grid[0] == 0 || k.grid[1] == 0 ||
        k.grid[2] == 0 || k.grid[0] > 0x7fffffffu || k.grid[1] > 65535 || k.grid[2] > 65535) {
        report(cudaErrorInvalidConfiguration,
               "kernel %s: bad launch configuration grid (%u,%u,%u) block (%u,%u,%u)", k.name,
               k.grid[0], k.grid[1], k.grid[2], k.block[0], k.block[1], k.block[2]);
        return;
    }
    auto it = g_smem_max.find(k.key);
    const int limit = it != g_smem_max.end() ? it->second : kSmemDefault;
    if (k.smem > (size_t)limit) {
        report(cudaErrorInvalidValue,
               "kernel %s: %zu bytes of dynamic shared memory over its limit of %d", k.name,
               k.smem, limit);
        return;
    }
    auto shared = std::make_shared<emu_kernel_launch>(std::move(k));
    enqueue((cudaStream_t)stream, emu_op{[shared]() { run_launch(*shared); }}, shared->name);
}

/* ---- errors and device ------------------------------------------------------------ */

cudaError_t cudaGetLastError(void)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    cudaError_t e = g_sticky != cudaSuccess ? g_sticky : g_last;
    g_last = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    return g_sticky != cudaSuccess ? g_sticky : g_last;
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit: return "operation would make the legacy stream depend on a capturing blocking stream";
    }
    return "unknown error";
}

cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *dev)
{
    *dev = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int dev)
{
    if (dev != 0)
        return set_error(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof(*prop));
    snprintf(prop->name, sizeof(prop->name), "hxq CPU SIMT emulator (H100 limits)");
    prop->multiProcessorCount = kSmCount;
    prop->totalGlobalMem = (size_t)80 << 30;
    prop->sharedMemPerBlock = kSmemDefault;
    prop->sharedMemPerBlockOptin = kSmemOptin;
    prop->maxThreadsPerBlock = 1024;
    prop->warpSize = 32;
    prop->major = 9;
    prop->minor = 0;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int dev)
{
    if (dev != 0)
        return set_error(cudaErrorInvalidDevice);
    if (attr != cudaDevAttrMaxSharedMemoryPerBlockOptin)
        return set_error(cudaErrorInvalidValue);
    *value = kSmemOptin;
    return cudaSuccess;
}

cudaError_t cudaDeviceReset(void)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    g_legacy.queue.clear();
    for (emu_stream *s : g_streams) {
        s->queue.clear();
        if (s->capturing) {
            s->capturing = false;
            delete s->capture;
            s->capture = nullptr;
        }
    }
    g_capturing = 0;
    g_last = g_sticky = cudaSuccess;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (capture_forbids("cudaDeviceSynchronize"))
        return cudaErrorStreamCaptureUnsupported;
    drain_all();
    return g_sticky;
}

cudaError_t emu_func_get_attributes(cudaFuncAttributes *fa, const void *key)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    auto it = g_smem_max.find(key);
    fa->sharedSizeBytes = 0; /* static shared memory is not tracked */
    fa->maxDynamicSharedSizeBytes = it != g_smem_max.end() ? it->second : kSmemDefault;
    fa->maxThreadsPerBlock = 1024;
    return cudaSuccess;
}

cudaError_t emu_func_set_attribute(const void *key, cudaFuncAttribute attr, int value)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > kSmemOptin)
        return report(cudaErrorInvalidValue, "cudaFuncSetAttribute: %d bytes of shared memory",
                      value);
    g_smem_max[key] = value;
    return cudaSuccess;
}

/* ---- memory -------------------------------------------------------------------------- */

namespace {

/* An allocation of exactly `bytes` (so ASan flags an access past the end),
 * recorded in `map`; device memory starts as 0xff: NaN where nothing wrote,
 * as it is not zeroed on a GPU either. */
cudaError_t track_alloc(std::map<uintptr_t, size_t> &map, void **p, size_t bytes, size_t align,
                        bool fill, const char *what)
{
    *p = nullptr;
    if (capture_forbids(what))
        return cudaErrorStreamCaptureUnsupported;
    void *m = nullptr;
    if (posix_memalign(&m, align, bytes ? bytes : 1) != 0)
        return set_error(cudaErrorMemoryAllocation);
    if (fill)
        memset(m, 0xff, bytes);
    map[(uintptr_t)m] = bytes;
    *p = m;
    return cudaSuccess;
}

/* Frees an allocation of `map` once the device is idle (as CUDA's frees wait). */
cudaError_t track_free(std::map<uintptr_t, size_t> &map, void *p, const char *what,
                       const char *kind)
{
    if (!p)
        return cudaSuccess;
    if (capture_forbids(what))
        return cudaErrorStreamCaptureUnsupported;
    auto it = map.find((uintptr_t)p);
    if (it == map.end())
        return report(cudaErrorInvalidValue, "%s of %p, not a %s allocation", what, p, kind);
    drain_all();
    map.erase(it);
    free(p);
    return cudaSuccess;
}

} /* namespace */

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    return track_alloc(g_device, p, bytes, 256, true, "cudaMalloc");
}

cudaError_t cudaFree(void *p)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    return track_free(g_device, p, "cudaFree", "device");
}

cudaError_t cudaMallocHost(void **p, size_t bytes)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    return track_alloc(g_pinned, p, bytes, 4096, false, "cudaMallocHost");
}

cudaError_t cudaFreeHost(void *p)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    return track_free(g_pinned, p, "cudaFreeHost", "pinned");
}

namespace {

/* Checks a copy's pointers against its kind; device ranges must lie inside
 * one allocation. */
bool copy_ok(void *dst, const void *src, size_t n, cudaMemcpyKind kind, const char *what)
{
    const bool dd = is_device(dst, n), sd = is_device(src, n);
    const bool dst_any = dd || is_device(dst, 1), src_any = sd || is_device(src, 1);
    bool ok;
    switch (kind) {
    case cudaMemcpyHostToDevice: ok = dd && !src_any; break;
    case cudaMemcpyDeviceToHost: ok = sd && !dst_any; break;
    case cudaMemcpyDeviceToDevice: ok = dd && sd; break;
    case cudaMemcpyDefault: ok = (dd || !dst_any) && (sd || !src_any); break;
    default: ok = false; break;
    }
    if (!ok)
        report(cudaErrorInvalidValue,
               "%s of %zu bytes from %p to %p (kind %d): a pointer is not where the kind says, "
               "or a device range overruns its allocation",
               what, n, src, dst, (int)kind);
    return ok;
}

} /* namespace */

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (g_sticky != cudaSuccess)
        return g_sticky;
    if (capture_forbids("cudaMemcpy"))
        return cudaErrorStreamCaptureUnsupported;
    if (!copy_ok(dst, src, bytes, kind, "cudaMemcpy"))
        return cudaErrorInvalidValue;
    drain(&g_legacy); /* ordered after the legacy stream, not after non-blocking streams */
    if (g_sticky != cudaSuccess)
        return g_sticky;
    memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (g_sticky != cudaSuccess)
        return g_sticky;
    if (!copy_ok(dst, src, bytes, kind, "cudaMemcpyAsync"))
        return cudaErrorInvalidValue;
    const bool src_pageable = !is_device(src, bytes) && !is_pinned(src, bytes);
    const bool dst_pageable = !is_device(dst, bytes) && !is_pinned(dst, bytes);
    if ((src_pageable || dst_pageable) && known_stream(s) && stream_of(s)->capturing) {
        stream_of(s)->capture_broken = true;
        return report(cudaErrorStreamCaptureUnsupported,
                      "cudaMemcpyAsync with pageable host memory during a stream capture");
    }
    if (src_pageable) { /* staged now: the caller may reuse its buffer at once */
        auto copy = std::make_shared<std::vector<unsigned char>>((const unsigned char *)src,
                                                                 (const unsigned char *)src +
                                                                     bytes);
        return enqueue(s, emu_op{[dst, copy]() { memcpy(dst, copy->data(), copy->size()); }},
                       "cudaMemcpyAsync");
    }
    cudaError_t e = enqueue(s, emu_op{[dst, src, bytes]() { memmove(dst, src, bytes); }},
                            "cudaMemcpyAsync");
    if (e == cudaSuccess && dst_pageable) /* into pageable memory: synchronous */
        drain(stream_of(s));
    return e;
}

cudaError_t cudaMemset(void *p, int value, size_t bytes)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (g_sticky != cudaSuccess)
        return g_sticky;
    if (capture_forbids("cudaMemset"))
        return cudaErrorStreamCaptureUnsupported;
    if (!is_device(p, bytes))
        return report(cudaErrorInvalidValue, "cudaMemset of %zu bytes at %p: not device memory",
                      bytes, p);
    drain(&g_legacy);
    memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (g_sticky != cudaSuccess)
        return g_sticky;
    if (!is_device(p, bytes))
        return report(cudaErrorInvalidValue, "cudaMemsetAsync of %zu bytes at %p: not device "
                      "memory", bytes, p);
    return enqueue(s, emu_op{[p, value, bytes]() { memset(p, value, bytes); }},
                   "cudaMemsetAsync");
}

/* ---- streams and graphs ------------------------------------------------------------------ */

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    (void)flags;
    *s = new emu_stream;
    g_streams.push_back(*s);
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (!s || !known_stream(s))
        return report(cudaErrorInvalidResourceHandle, "cudaStreamDestroy of an unknown stream");
    drain(s); /* its work still completes */
    for (size_t i = 0; i < g_streams.size(); i++)
        if (g_streams[i] == s)
            g_streams.erase(g_streams.begin() + (long)i);
    if (s->capturing) {
        g_capturing--;
        delete s->capture;
    }
    delete s;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (!known_stream(s))
        return report(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: unknown stream");
    if (capture_forbids("cudaStreamSynchronize"))
        return cudaErrorStreamCaptureUnsupported;
    drain(stream_of(s));
    return g_sticky;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    (void)mode;
    if (!s || !known_stream(s))
        return report(cudaErrorStreamCaptureUnsupported,
                      "cudaStreamBeginCapture on the legacy stream or an unknown one");
    if (s->capturing)
        return report(cudaErrorStreamCaptureUnsupported,
                      "cudaStreamBeginCapture: already capturing");
    s->capturing = true;
    s->capture_broken = false;
    s->capture = new emu_graph;
    g_capturing++;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    *g = nullptr;
    if (!s || !known_stream(s) || !s->capturing)
        return report(cudaErrorInvalidValue, "cudaStreamEndCapture: stream is not capturing");
    s->capturing = false;
    g_capturing--;
    if (s->capture_broken) {
        delete s->capture;
        s->capture = nullptr;
        return set_error(cudaErrorStreamCaptureInvalidated);
    }
    *g = s->capture;
    s->capture = nullptr;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *x, cudaGraph_t g, unsigned long long flags)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    (void)flags;
    *x = new emu_graph_exec{g->ops};
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    delete g;
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t x, cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (g_sticky != cudaSuccess)
        return g_sticky;
    if (!x)
        return report(cudaErrorInvalidValue, "cudaGraphLaunch of NULL");
    for (const emu_op &op : x->ops) {
        emu_op copy = op;
        cudaError_t e = enqueue(s, std::move(copy), "cudaGraphLaunch");
        if (e != cudaSuccess)
            return e;
    }
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t x)
{
    delete x;
    return cudaSuccess;
}

/* ---- events ----------------------------------------------------------------------------- */

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    *e = new emu_event;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (!e)
        return report(cudaErrorInvalidResourceHandle, "cudaEventRecord of NULL");
    e->stream = stream_of(s);
    e->pending++;
    cudaError_t rc = enqueue(s, emu_op{[e]() {
                                 e->recorded = true;
                                 e->t_ms = now_ms();
                                 e->pending--;
                             }},
                             "cudaEventRecord");
    if (rc != cudaSuccess)
        e->pending--; /* nothing will run it */
    return rc;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (!e)
        return report(cudaErrorInvalidResourceHandle, "cudaEventSynchronize of NULL");
    if (capture_forbids("cudaEventSynchronize"))
        return cudaErrorStreamCaptureUnsupported;
    if (e->stream)
        drain(e->stream, [e]() { return e->pending == 0; });
    return g_sticky;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    std::lock_guard<std::recursive_mutex> l(g_lock);
    if (!start || !end || !start->recorded || !end->recorded || start->pending || end->pending)
        return report(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: event not complete");
    *ms = (float)(end->t_ms - start->t_ms);
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    delete e;
    return cudaSuccess;
}
