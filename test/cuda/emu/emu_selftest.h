/* emu_selftest.h - entry points of test/cuda/emu/emu_selftest.cu, the
 * emulator's own tests (EMU=1 builds only). Each returns the cudaError_t of
 * the step under test as an int: 0 success, 1 invalid value, 9 invalid
 * configuration, 700 illegal address, 719 launch failure, 900 not permitted
 * while capturing, 901 capture invalidated. */
#ifndef HXQ_EMU_SELFTEST_H
#define HXQ_EMU_SELFTEST_H

#ifdef __cplusplus
extern "C" {
#endif

/* Clears sticky errors and pending work (cudaDeviceReset). */
void emu_selftest_reset(void);
/* out[t * 5 + i] = __shfl_xor_sync of thread t's index with lane mask 1 << i, 64 threads. */
int emu_selftest_butterfly(int *out);
/* *sum = block_sum() of x[n] over one block of `threads` threads. */
int emu_selftest_block_sum(const float *x, int n, int threads, float *sum);
/* 128 threads, 64 leave before a __syncthreads; out[0..63] = 5. */
int emu_selftest_early_exit(float *out);
/* __syncthreads at two places in one block. */
int emu_selftest_divergent_sync(void);
/* a full-mask shuffle in a warp whose upper 16 lanes have exited. */
int emu_selftest_exited_lanes(void);
/* thread 0 at __syncthreads while the others shuffle and exit. */
int emu_selftest_deadlock(void);
/* thread 0 writes shared memory that 32 threads read without a barrier. */
int emu_selftest_race(float *out);
/* 128 KB of dynamic shared memory, with or without raising the limit first;
 * out[i] = i ^ 1 for 8 threads. */
int emu_selftest_smem_limit(int raise, float *out);
/* a kernel launched with a host stack pointer. */
int emu_selftest_host_pointer_arg(void);
/* a kernel on a non-blocking stream fills 3.0; *first = element 0 as read by
 * a synchronous copy, with or without synchronising the stream first. */
int emu_selftest_stream_order(int sync_first, float *first);
/* captures "add 1, copy to pinned memory" (optionally with a forbidden
 * synchronous copy inside), replays it `replays` times; *value = result. */
int emu_selftest_capture(int sync_inside, int replays, float *value);
/* a kernel reads one element past a device allocation. */
int emu_selftest_read_one_past(void);

#ifdef __cplusplus
}
#endif

#endif
