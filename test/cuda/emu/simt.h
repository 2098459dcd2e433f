/* simt.h - the CPU SIMT emulator behind test/cuda/emu/cuda_runtime.h
 * (private to test/cuda/emu).
 *
 * hxq's kernels (the kernels/cuda sources) are compiled as C++ against the shim headers in
 * this folder (after test/cuda/emu/cu2cc.pl rewrites `k<<<cfg>>>(args)` into
 * `emu_launch(...)`) and linked with emu_simt.cc + emu_runtime.cc instead of the CUDA
 * runtime, so the CUDA tests run the kernels' own source on the CPU:
 *
 *   - every GPU thread is a fiber with its own stack; a block runs its
 *     threads until each reaches a barrier (__syncthreads, __syncwarp, a warp
 *     shuffle), so barriers, shared memory and warp shuffles behave as on a
 *     GPU, and misuse (a shuffle with exited lanes, __syncthreads reached at
 *     different places, a barrier that can never complete) is reported as a
 *     launch failure naming the kernel, block and thread;
 *   - shared memory (dynamic, and each __shared__ variable) is a fresh heap
 *     buffer per block, filled with 0xff bytes (NaN), and device memory
 *     starts as 0xff too, so under
 *     AddressSanitizer an out-of-bounds access of either is caught, and a read
 *     of memory nothing wrote shows up as NaN; vector types are aligned as on
 *     the GPU, so UndefinedBehaviorSanitizer reports a misaligned vector load;
 *   - streams are queues that run only when something waits on them (a
 *     legal but maximally late schedule), so a missing synchronisation shows
 *     up as stale data; graph capture records work for replay and refuses
 *     what CUDA refuses inside a capture (synchronous copies, allocation,
 *     pageable memory in async copies, syncing the capturing stream);
 *   - launch configurations are checked against an H100's limits, including
 *     the dynamic shared-memory opt-in.
 *
 * Blocks run one after another, their threads in a fixed order (forward, or
 * reverse with HXQ_EMU_ORDER=reverse: a result that changes with the order
 * is a race between barriers). Everything runs on the calling host thread
 * under one lock. HXQ_EMU_TRACE=1 prints each kernel as it runs. What it cannot show: timing, the GPU memory model between
 * blocks, and nvcc's code generation (FMA contraction, fast math).
 */
#ifndef HXQ_EMU_SIMT_H
#define HXQ_EMU_SIMT_H

#include <cstddef>
#include <cstdint>
#include <functional>

struct emu_uint3 {
    unsigned int x, y, z;
};

/* The per-thread view of the running kernel (threadIdx and friends). */
struct emu_thread_view {
    emu_uint3 thread_idx, block_idx, block_dim, grid_dim;
};

/* The view of the fiber that is running now. */
extern const emu_thread_view *emu_current;

/* Where in the kernel source a barrier is. */
struct emu_site {
    const char *file;
    int line;
};

/* Device-side barriers and warp exchange, called from kernel code. Each
 * returns only when its barrier completes; misuse aborts the block. */
void emu_syncthreads(emu_site site);
void emu_syncwarp(unsigned int mask, emu_site site);
uint64_t emu_shfl_xor(unsigned int mask, uint64_t bits, int lane_mask, emu_site site);

/* The running block's dynamic shared memory. */
void *emu_dynamic_smem(void);

/* The running block's instance of static shared variable `id` (bytes, with
 * alignment align): allocated when a thread first reaches the declaration,
 * filled with 0xff, freed when the block ends. */
void *emu_static_smem(int id, size_t bytes, size_t align);

/* One kernel launch as the runtime sees it. */
struct emu_kernel_launch {
    const char *name;
    const void *key; /* the kernel function, for its attributes */
    unsigned int grid[3], block[3];
    size_t smem;
    std::function<void()> body; /* one thread's work: calls the kernel */
};

/* Runs all blocks of a launch now (on the calling thread). Returns 0, or -1
 * after writing the problem to msg[len]. */
int emu_simt_run(const emu_kernel_launch &k, char *msg, size_t len);

/* Runtime hooks for the launch template in cuda_runtime.h. */
bool emu_pointer_is_device(const void *p);
void emu_submit_launch(void *stream, emu_kernel_launch &&k);
void emu_launch_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
