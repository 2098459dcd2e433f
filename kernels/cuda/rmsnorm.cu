/* rmsnorm.cu - RMSNorm over rows: y = w * x / sqrt(mean(x^2) + eps). Also the
 * full-width q/k norm of OLMoE (one row = the whole H-wide q or k vector). */
#include "cuda_int.cuh"

#define NORM_THREADS 256

__global__ void __launch_bounds__(NORM_THREADS)
rmsnorm_kernel(const float *x, int64_t x_stride, const float *w, float *y, int64_t y_stride,
               int64_t dim, float eps)
{
    __shared__ float red[32];
    const float *xr = x + (int64_t)blockIdx.x * x_stride;
    float *yr = y + (int64_t)blockIdx.x * y_stride;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += NORM_THREADS)
        ss += xr[i] * xr[i];
    ss = block_sum(ss, red);
    const float inv = 1.0f / sqrtf(ss / (float)dim + eps);
    for (int64_t i = threadIdx.x; i < dim; i += NORM_THREADS)
        yr[i] = w[i] * (xr[i] * inv);
}

extern "C" int hxq_cuda_rmsnorm(const float *x, int64_t x_stride, const float *w, float *y,
                                int64_t y_stride, int64_t nrows, int64_t dim, float eps,
                                void *stream, hxq_error *err)
{
    if (!x || !w || !y)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda rmsnorm: NULL argument");
    if (nrows < 1 || dim < 1 || nrows > INT32_MAX || x_stride < dim || y_stride < dim ||
        !(eps >= 0.0f))
        return hxq_err(err, HXQ_ERR_INVALID, "cuda rmsnorm: bad shape rows %lld dim %lld",
                       (long long)nrows, (long long)dim);
    rmsnorm_kernel<<<(unsigned)nrows, NORM_THREADS, 0, CUDA_STREAM(stream)>>>(
        x, x_stride, w, y, y_stride, dim, eps);
    return cuda_launch_status("rmsnorm", err);
}
