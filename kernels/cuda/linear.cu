/* linear.cu - grouped matrix-vector products over HXQ (8-bit codebook) and
 * dense (F32 / BF16 / F16) matrices: the attention projections, the router,
 * the selected experts and lm_head. Optional prologues while the input is
 * staged: RMSNorm (so the norm before a projection is no separate launch)
 * and silu(gate) * up (the input of an expert's down projection).
 *
 * One block = 8 warps over LIN_ROWS rows of one group and NB tokens. The
 * block stages its NB input vectors in shared memory and, for HXQ, the
 * codebook replicated 32 times (entry i of lane l at [i * 32 + l]), so that
 * each lane's lookups hit its own bank: no bank conflicts whatever the
 * indices. A warp walks a row with 4-element loads per lane (4 indices =
 * one 32-bit load, coalesced into 128 bytes per warp), eight loads in flight
 * per lane, then adds the row's sidecar deltas (a sparse pass over only
 * that row's entries), then reduces across the warp. */
#include "cuda_int.cuh"

#define LIN_THREADS 256
#define LIN_WARPS (LIN_THREADS / 32)
#define LIN_ROWS 16 /* rows per block: two per warp */
#define LIN_CB_REP (256 * 32)

struct lin_params {
    const hxq_cuda_mat *mats;
    int64_t rows, cols, set_stride, ntok, x_up;
    int nsel, vec, accumulate, rpb;
    const float *norm_w;
    float eps;
    const int32_t *sel;
    const float *x;
    int64_t x_tok, x_grp;
    float *y;
    int64_t y_tok, y_grp;
};

/* Four consecutive weights of row offset `off` (a multiple of 4). */
template <int KIND>
__device__ __forceinline__ float4 load4(const void *w, int64_t off, const float *cbs, int lane)
{
    float4 r;
    if (KIND == HXQ_CUDA_HXQ) {
        unsigned int u = __ldg((const unsigned int *)((const uint8_t *)w + off));
        r.x = cbs[((u >> 0) & 0xffu) * 32 + lane];
        r.y = cbs[((u >> 8) & 0xffu) * 32 + lane];
        r.z = cbs[((u >> 16) & 0xffu) * 32 + lane];
        r.w = cbs[((u >> 24) & 0xffu) * 32 + lane];
    } else if (KIND == HXQ_CUDA_F32) {
        r = __ldg((const float4 *)((const float *)w + off));
    } else {
        uint2 u = __ldg((const uint2 *)((const unsigned short *)w + off));
        if (KIND == HXQ_CUDA_BF16) {
            r.x = bf16_bits_to_f32(u.x);
            r.y = bf16_bits_to_f32(u.x >> 16);
            r.z = bf16_bits_to_f32(u.y);
            r.w = bf16_bits_to_f32(u.y >> 16);
        } else {
            r.x = f16_bits_to_f32(u.x);
            r.y = f16_bits_to_f32(u.x >> 16);
            r.z = f16_bits_to_f32(u.y);
            r.w = f16_bits_to_f32(u.y >> 16);
        }
    }
    return r;
}

template <int KIND>
__device__ __forceinline__ float load1(const void *w, int64_t off, const float *cbs, int lane)
{
    if (KIND == HXQ_CUDA_HXQ)
        return cbs[(unsigned int)__ldg((const uint8_t *)w + off) * 32 + lane];
    return dense_at<KIND>(w, off);
}

template <int NB>
__device__ __forceinline__ void fma4(float *acc, float4 wv, const float *xs, int64_t cols,
                                     int64_t c)
{
#pragma unroll
    for (int b = 0; b < NB; b++) {
        float4 xv = *(const float4 *)(xs + b * cols + c);
        acc[b] += wv.x * xv.x + wv.y * xv.y + wv.z * xv.z + wv.w * xv.w;
    }
}

template <int KIND, int NB>
__global__ void __launch_bounds__(LIN_THREADS) linear_kernel(lin_params p)
{
    extern __shared__ float4 smem4[];
    float *smem = (float *)smem4;
    float *cbs = smem;
    float *xs = smem + (KIND == HXQ_CUDA_HXQ ? LIN_CB_REP : 0);
    const int nsel = p.nsel;
    const int g = blockIdx.y, s = g / nsel, j = g % nsel;
    const int64_t t0 = (int64_t)blockIdx.z * NB;
    const int64_t cols = p.cols;
    int nt = (int)(p.ntok - t0 < NB ? p.ntok - t0 : NB);

    int64_t mi = (int64_t)s * p.set_stride + (p.sel ? p.sel[t0 * nsel + j] : j);
    const hxq_cuda_mat m = p.mats[mi];

    if (KIND == HXQ_CUDA_HXQ)
        for (int i = threadIdx.x; i < LIN_CB_REP; i += LIN_THREADS)
            cbs[i] = m.codebook[i >> 5];
    /* the input vectors; with x_up, silu(gate) * up of a gate/up pair */
    for (int b = 0; b < NB; b++) {
        const float *xg = p.x + (t0 + b) * p.x_tok + (int64_t)g * p.x_grp;
        for (int64_t c = threadIdx.x; c < cols; c += LIN_THREADS) {
            float v = 0.0f;
            if (b < nt) {
                v = xg[c];
                if (p.x_up)
                    v = v / (1.0f + expf(-v)) * xg[c + p.x_up];
            }
            xs[b * cols + c] = v;
        }
    }
    __syncthreads();
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (p.norm_w) { /* RMSNorm prologue: one warp per token */
        __shared__ float inv_s[NB];
        if (warp < NB) {
            float ss = 0.0f;
            for (int64_t c = lane; c < cols; c += 32)
                ss += xs[warp * cols + c] * xs[warp * cols + c];
            ss = warp_sum(ss);
            if (lane == 0)
                inv_s[warp] = 1.0f / sqrtf(ss / (float)cols + p.eps);
        }
        __syncthreads();
        for (int b = 0; b < NB; b++)
            for (int64_t c = threadIdx.x; c < cols; c += LIN_THREADS)
                xs[b * cols + c] = p.norm_w[c] * (xs[b * cols + c] * inv_s[b]);
        __syncthreads();
    }

    int64_t r_end = ((int64_t)blockIdx.x + 1) * p.rpb;
    if (r_end > p.rows)
        r_end = p.rows;
    for (int64_t r = (int64_t)blockIdx.x * p.rpb + warp; r < r_end; r += LIN_WARPS) {
        float acc[NB];
#pragma unroll
        for (int b = 0; b < NB; b++)
            acc[b] = 0.0f;
        const int64_t base = r * cols;
        if (p.vec) {
            int64_t c = (int64_t)lane * 4;
            /* 8 independent loads in flight per lane, then their FMAs */
            for (; c + 896 < cols; c += 1024) {
                float4 wv[8];
#pragma unroll
                for (int u = 0; u < 8; u++)
                    wv[u] = load4<KIND>(m.w, base + c + 128 * u, cbs, lane);
#pragma unroll
                for (int u = 0; u < 8; u++)
                    fma4<NB>(acc, wv[u], xs, cols, c + 128 * u);
            }
            for (; c < cols; c += 128)
                fma4<NB>(acc, load4<KIND>(m.w, base + c, cbs, lane), xs, cols, c);
        } else {
            for (int64_t c = lane; c < cols; c += 32) {
                float wv = load1<KIND>(m.w, base + c, cbs, lane);
#pragma unroll
                for (int b = 0; b < NB; b++)
                    acc[b] += wv * xs[b * cols + c];
            }
        }
        if (KIND == HXQ_CUDA_HXQ && m.sc_rowptr) {
            int e_end = m.sc_rowptr[r + 1];
            for (int e = m.sc_rowptr[r] + lane; e < e_end; e += 32) {
                float d = m.sc_delta[e];
                int64_t c = m.sc_col[e];
#pragma unroll
                for (int b = 0; b < NB; b++)
                    acc[b] += d * xs[b * cols + c];
            }
        }
#pragma unroll
        for (int b = 0; b < NB; b++)
            acc[b] = warp_sum(acc[b]);
        if (lane == 0) {
#pragma unroll
            for (int b = 0; b < NB; b++) {
                if (b >= nt)
                    break;
                float *yp = p.y + (t0 + b) * p.y_tok + (int64_t)g * p.y_grp + r;
                *yp = p.accumulate ? *yp + acc[b] : acc[b];
            }
        }
    }
}

/* Shared memory of one block. */
static size_t linear_smem(int kind, int nb, int64_t cols)
{
    return (kind == HXQ_CUDA_HXQ ? (size_t)LIN_CB_REP * sizeof(float) : 0) +
           (size_t)nb * (size_t)cols * sizeof(float);
}

template <int KIND, int NB>
static void linear_launch(const lin_params &p, dim3 grid, size_t smem, cudaStream_t st)
{
    linear_kernel<KIND, NB><<<grid, LIN_THREADS, smem, st>>>(p);
}

template <int KIND>
static int linear_set_smem(int optin, hxq_error *err)
{
    HXQ_TRY(cuda_allow_smem(linear_kernel<KIND, 1>, optin, "linear: shared memory limit", err));
    return cuda_allow_smem(linear_kernel<KIND, 4>, optin, "linear: shared memory limit", err);
}

/* Called by hxq_cuda_prepare(). */
extern "C" int cuda_linear_prepare(int max_smem, hxq_error *err)
{
    HXQ_TRY(linear_set_smem<HXQ_CUDA_HXQ>(max_smem, err));
    HXQ_TRY(linear_set_smem<HXQ_CUDA_BF16>(max_smem, err));
    HXQ_TRY(linear_set_smem<HXQ_CUDA_F16>(max_smem, err));
    return linear_set_smem<HXQ_CUDA_F32>(max_smem, err);
}

extern "C" int hxq_cuda_linear(const hxq_cuda_linear_args *a, void *stream, hxq_error *err)
{
    if (!a || !a->mats || !a->x || !a->y)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda linear: NULL argument");
    if (a->kind != HXQ_CUDA_F32 && a->kind != HXQ_CUDA_BF16 && a->kind != HXQ_CUDA_F16 &&
        a->kind != HXQ_CUDA_HXQ)
        return hxq_err(err, HXQ_ERR_INVALID, "cuda linear: unknown weight kind %d", a->kind);
    if (a->rows < 1 || a->cols < 1 || a->ntok < 1 || a->nsets < 1 || a->nsel < 1 ||
        a->set_stride < 0 || a->cols > INT32_MAX || a->x_up < 0 || !(a->norm_eps >= 0.0f))
        return hxq_err(err, HXQ_ERR_INVALID,
                       "cuda linear: bad shape rows %lld cols %lld ntok %lld sets %d sel %d",
                       (long long)a->rows, (long long)a->cols, (long long)a->ntok, a->nsets,
                       a->nsel);
    int64_t groups = (int64_t)a->nsets * a->nsel;
    int nb = (a->sel == NULL && a->ntok > 1) ? 4 : 1;
    int64_t zblocks = (a->ntok + nb - 1) / nb;
    /* 16 rows per block, 8 when that leaves fewer than ~2 blocks per SM */
    int rpb = LIN_ROWS;
    if ((a->rows + LIN_ROWS - 1) / LIN_ROWS * groups * zblocks < 264)
        rpb = LIN_WARPS;
    int64_t xblocks = (a->rows + rpb - 1) / rpb;
    if (groups > CUDA_GRID_YZ_MAX || zblocks > CUDA_GRID_YZ_MAX || xblocks > INT32_MAX)
        return hxq_err(err, HXQ_ERR_INVALID,
                       "cuda linear: %lld groups x %lld tokens exceed the grid",
                       (long long)groups, (long long)a->ntok);
    lin_params p;
    p.mats = a->mats;
    p.rows = a->rows;
    p.cols = a->cols;
    p.set_stride = a->set_stride;
    p.ntok = a->ntok;
    p.nsel = a->nsel;
    p.rpb = rpb;
    p.x_up = a->x_up;
    p.norm_w = a->norm_w;
    p.eps = a->norm_eps;
    p.vec = (a->cols % 4) == 0;
    p.accumulate = a->accumulate != 0;
    p.sel = a->sel;
    p.x = a->x;
    p.x_tok = a->x_tok;
    p.x_grp = a->x_grp;
    p.y = a->y;
    p.y_tok = a->y_tok;
    p.y_grp = a->y_grp;
    dim3 grid((unsigned)xblocks, (unsigned)groups, (unsigned)zblocks);
    size_t smem = linear_smem(a->kind, nb, a->cols);
    cudaStream_t st = CUDA_STREAM(stream);
    switch (a->kind) {
    case HXQ_CUDA_HXQ:
        nb == 4 ? linear_launch<HXQ_CUDA_HXQ, 4>(p, grid, smem, st)
                : linear_launch<HXQ_CUDA_HXQ, 1>(p, grid, smem, st);
        break;
    case HXQ_CUDA_BF16:
        nb == 4 ? linear_launch<HXQ_CUDA_BF16, 4>(p, grid, smem, st)
                : linear_launch<HXQ_CUDA_BF16, 1>(p, grid, smem, st);
        break;
    case HXQ_CUDA_F16:
        nb == 4 ? linear_launch<HXQ_CUDA_F16, 4>(p, grid, smem, st)
                : linear_launch<HXQ_CUDA_F16, 1>(p, grid, smem, st);
        break;
    default:
        nb == 4 ? linear_launch<HXQ_CUDA_F32, 4>(p, grid, smem, st)
                : linear_launch<HXQ_CUDA_F32, 1>(p, grid, smem, st);
        break;
    }
    return cuda_launch_status("linear", err);
}
