/*
 * hxq_common.h - status codes, the error struct, numeric conversions and
 * the thread pool shared by every hxq module.
 *
 * Every fallible library function returns an int status: HXQ_OK (0) or a
 * negative HXQ_ERR_* code, and takes an optional hxq_error* that receives a
 * one-line message written by the function that detected the problem.
 * Library code never prints, exits or aborts.
 */
#ifndef HXQ_COMMON_H
#define HXQ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define HXQ_VERSION "0.1.0"

typedef enum {
    HXQ_OK = 0,
    HXQ_ERR_IO = -1,          /* open/read/write/rename/mmap failed        */
    HXQ_ERR_FORMAT = -2,      /* malformed or inconsistent file contents   */
    HXQ_ERR_NOMEM = -3,       /* allocation failed or size overflows       */
    HXQ_ERR_INVALID = -4,     /* bad argument or option                    */
    HXQ_ERR_UNSUPPORTED = -5, /* well-formed but not supported (dtype ...) */
    HXQ_ERR_VERIFY = -6,      /* a verification check failed               */
    HXQ_ERR_RANGE = -7,       /* a limit was exceeded (context length ...) */
    HXQ_ERR_DEVICE = -8       /* accelerator missing or failed             */
} hxq_status;

#define HXQ_ERROR_MSG_MAX 1024

/* Error details. code mirrors the returned status; msg is NUL-terminated. */
typedef struct hxq_error {
    int code;
    char msg[HXQ_ERROR_MSG_MAX];
} hxq_error;

/*! hxq_err() :
 *  Formats a message into *err (when err is not NULL) and returns code, so a
 *  caller can write `return hxq_err(err, HXQ_ERR_FORMAT, "...", ...);`.
 *  Messages are lowercase, without a final period, and name the subject. */
int hxq_err(hxq_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*! hxq_err_prefix() :
 *  Prepends "prefix: " to an existing message (for adding a file or tensor
 *  name on the way up). Returns err->code, or code when err is NULL. */
int hxq_err_prefix(hxq_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*! hxq_status_name() : a short static name for a status ("format error"). */
const char *hxq_status_name(int code);

/* Propagate a failing status unchanged. */
#define HXQ_TRY(expr)                 \
    do {                              \
        int hxq_try_rc_ = (expr);     \
        if (hxq_try_rc_ < 0)          \
            return hxq_try_rc_;       \
    } while (0)

/*! hxq_utf8_valid_prefix() :
 *  Length of the longest prefix of s[0..len) that is well-formed UTF-8 (no
 *  overlong forms, surrogates or code points above U+10FFFF); equals len
 *  when the whole buffer is valid. */
size_t hxq_utf8_valid_prefix(const void *s, size_t len);

/* ---- checked sizes ---------------------------------------------------- */

/*! hxq_mul_i64() : *out = a * b for non-negative a, b.
 *  @return 0 on success, -1 if a or b is negative or the product overflows. */
int hxq_mul_i64(int64_t a, int64_t b, int64_t *out);

/*! hxq_alloc_array() : malloc(n * size) with overflow check; NULL on failure
 *  or overflow. n == 0 returns a valid 1-byte allocation. */
void *hxq_alloc_array(int64_t n, size_t size);

/*! hxq_calloc_array() : like hxq_alloc_array(), zero-filled. */
void *hxq_calloc_array(int64_t n, size_t size);

/*! hxq_strdup() : strdup that returns NULL on failure (no errno reliance). */
char *hxq_strdup(const char *s);

/* ---- floating-point formats ------------------------------------------ */

/*! hxq_bf16_to_f32() : exact widening of a bfloat16 bit pattern. */
static inline float hxq_bf16_to_f32(uint16_t h)
{
    union { uint32_t u; float f; } v;
    v.u = (uint32_t)h << 16;
    return v.f;
}

/*! hxq_f32_to_bf16() : round-to-nearest-even narrowing; NaN stays a quiet
 *  NaN (sign kept), infinities and overflow to infinity follow IEEE. */
uint16_t hxq_f32_to_bf16(float f);

/*! hxq_f16_to_f32() : exact widening of an IEEE binary16 bit pattern
 *  (subnormals, infinities and NaN payload high bits preserved). */
float hxq_f16_to_f32(uint16_t h);

/*! hxq_f32_to_f16() : round-to-nearest-even narrowing to binary16, with
 *  subnormal results, overflow to infinity and quiet NaN. */
uint16_t hxq_f32_to_f16(float f);

/*! hxq_f32_bits() / hxq_bits_f32() : bit casts. */
static inline uint32_t hxq_f32_bits(float f)
{
    union { float f; uint32_t u; } v;
    v.f = f;
    return v.u;
}
static inline float hxq_bits_f32(uint32_t u)
{
    union { uint32_t u; float f; } v;
    v.u = u;
    return v.f;
}

/* ---- thread pool ------------------------------------------------------ */

typedef struct hxq_pool hxq_pool;

/* Work item: process items [begin, end). tid is in [0, nthreads). */
typedef void (*hxq_pool_fn)(void *ctx, int64_t begin, int64_t end, int tid);

/*! hxq_pool_create() :
 *  Starts nthreads-1 workers (the caller is the last one). nthreads <= 0
 *  means the number of online CPUs. Returns NULL when threads cannot start.
 *  A pool is driven by one thread at a time. */
hxq_pool *hxq_pool_create(int nthreads);

/*! hxq_pool_free() : joins the workers. NULL is a no-op. */
void hxq_pool_free(hxq_pool *pool);

/*! hxq_pool_threads() : number of threads, caller included (1 for NULL). */
int hxq_pool_threads(const hxq_pool *pool);

/*! hxq_pool_run() :
 *  Calls fn over [0, n) split into chunks of at most `chunk` items (chunk
 *  <= 0 picks n / (4 * threads)), spread over the pool's threads, and
 *  returns when all are done. With pool == NULL everything runs on the
 *  caller. Results must not depend on which thread ran which chunk. */
void hxq_pool_run(hxq_pool *pool, int64_t n, int64_t chunk, hxq_pool_fn fn,
                  void *ctx);

/*! hxq_cpu_count() : online CPUs (at least 1). */
int hxq_cpu_count(void);

/*! hxq_cpu_has_avx2() : true when AVX2 and FMA can be used at run time. */
int hxq_cpu_has_avx2(void);

/*! hxq_now() : monotonic seconds, for timings only (never in outputs that
 *  must be reproducible). */
double hxq_now(void);

#endif /* HXQ_COMMON_H */
