/* test_cuda_host.c - the CUDA backend's host side (lib/infer/cuda_*.c:
 * upload, sidecar rows, kernel tables, buffer layouts, the per-layer kernel
 * sequence, batching, the fallback when graph capture fails) run on the
 * CPU, without a GPU: this program defines every hxq_cuda_* entry of
 * kernels/cuda/hxq_cuda.h itself, as a scalar emulation of the documented
 * semantics over host memory, so the linker takes none of the real kernels
 * from libhxq.a. The emulated engine must match the CPU engine and the
 * goldens like the real one (cuda_model_check.h). Graph capture is reported
 * as unavailable, so the direct-launch path is the one checked here. */
#include "cuda_test.h"

#ifdef HXQ_HAVE_CUDA
#include "cuda_model_check.h"
#include "hxq_cuda.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- runtime: "device" memory is host memory ------------------------------ */

int hxq_cuda_device_count(int *count, hxq_error *err)
{
    if (!count)
        return hxq_err(err, HXQ_ERR_INVALID, "emulated device count: NULL argument");
    *count = 1;
    return HXQ_OK;
}

int hxq_cuda_device_info(char *name, size_t len, int *sm_count, hxq_error *err)
{
    if (name && len)
        snprintf(name, len, "host emulation");
    if (sm_count)
        *sm_count = 1;
    return HXQ_OK;
}

int hxq_cuda_prepare(hxq_error *err)
{
    return HXQ_OK;
}

int hxq_cuda_alloc(void **ptr, size_t bytes, hxq_error *err)
{
    *ptr = NULL;
    if (!bytes)
        return HXQ_OK;
    *ptr = malloc(bytes);
    if (!*ptr)
        return hxq_err(err, HXQ_ERR_NOMEM, "emulated alloc of %zu bytes", bytes);
    memset(*ptr, 0xff, bytes); /* NaN-filled: what is read must have been written */
    return HXQ_OK;
}

void hxq_cuda_free(void *ptr)
{
    free(ptr);
}

int hxq_cuda_host_alloc(void **ptr, size_t bytes, hxq_error *err)
{
    return hxq_cuda_alloc(ptr, bytes, err);
}

void hxq_cuda_host_free(void *ptr)
{
    free(ptr);
}

int hxq_cuda_upload(void *d_dst, const void *src, size_t bytes, hxq_error *err)
{
    if (bytes)
        memcpy(d_dst, src, bytes);
    return HXQ_OK;
}

int hxq_cuda_download(void *dst, const void *d_src, size_t bytes, hxq_error *err)
{
    if (bytes)
        memcpy(dst, d_src, bytes);
    return HXQ_OK;
}

int hxq_cuda_copy_async(void *dst, const void *src, size_t bytes, void *stream, hxq_error *err)
{
    if (bytes)
        memmove(dst, src, bytes);
    return HXQ_OK;
}

int hxq_cuda_memset_async(void *d_ptr, int value, size_t bytes, void *stream, hxq_error *err)
{
    memset(d_ptr, value, bytes);
    return HXQ_OK;
}

int hxq_cuda_stream_create(void **stream, hxq_error *err)
{
    *stream = malloc(1);
    return *stream ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "emulated stream");
}

void hxq_cuda_stream_destroy(void *stream)
{
    free(stream);
}

int hxq_cuda_stream_sync(void *stream, hxq_error *err)
{
    return HXQ_OK;
}

int hxq_cuda_graph_begin(void *stream, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "graph capture is not emulated");
}

int hxq_cuda_graph_end(void *stream, void **exec, hxq_error *err)
{
    *exec = NULL;
    return hxq_err(err, HXQ_ERR_DEVICE, "graph capture is not emulated");
}

int hxq_cuda_graph_launch(void *exec, void *stream, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "graph capture is not emulated");
}

void hxq_cuda_graph_free(void *exec)
{
    (void)exec;
}

int hxq_cuda_event_create(void **ev, hxq_error *err)
{
    *ev = NULL;
    return hxq_err(err, HXQ_ERR_DEVICE, "events are not emulated");
}

int hxq_cuda_event_record(void *ev, void *stream, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "events are not emulated");
}

int hxq_cuda_event_elapsed_ms(void *start, void *end, float *ms, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "events are not emulated");
}

void hxq_cuda_event_destroy(void *ev)
{
    (void)ev;
}

int hxq_cuda_fill_random(void *d_ptr, int kind, int64_t n, uint64_t seed, float scale,
                         void *stream, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_DEVICE, "random fills are not emulated");
}

/* ---- kernels, scalar ------------------------------------------------------- */

/* Row r of a matrix as floats (sidecar deltas added). */
static void emu_row(int kind, const hxq_cuda_mat *m, int64_t cols, int64_t r, float *row)
{
    const int64_t b = r * cols;
    for (int64_t c = 0; c < cols; c++) {
        switch (kind) {
        case HXQ_CUDA_F32: row[c] = ((const float *)m->w)[b + c]; break;
        case HXQ_CUDA_BF16: row[c] = hxq_bf16_to_f32(((const uint16_t *)m->w)[b + c]); break;
        case HXQ_CUDA_F16: row[c] = hxq_f16_to_f32(((const uint16_t *)m->w)[b + c]); break;
        default: row[c] = m->codebook[((const uint8_t *)m->w)[b + c]]; break;
        }
    }
    if (kind == HXQ_CUDA_HXQ && m->sc_rowptr)
        for (int32_t e = m->sc_rowptr[r]; e < m->sc_rowptr[r + 1]; e++)
            row[m->sc_col[e]] += m->sc_delta[e];
}

int hxq_cuda_linear(const hxq_cuda_linear_args *a, void *stream, hxq_error *err)
{
    const int64_t cols = a->cols, groups = (int64_t)a->nsets * a->nsel;
    float *xin = malloc((size_t)cols * sizeof(float));
    float *row = malloc((size_t)cols * sizeof(float));
    if (!xin || !row) {
        free(xin);
        free(row);
        return hxq_err(err, HXQ_ERR_NOMEM, "emulated linear");
    }
    for (int64_t t = 0; t < a->ntok; t++)
        for (int64_t g = 0; g < groups; g++) {
            const int64_t s = g / a->nsel, j = g % a->nsel;
            const int64_t mi = s * a->set_stride + (a->sel ? a->sel[t * a->nsel + j] : j);
            const hxq_cuda_mat *m = &a->mats[mi];
            const float *x = a->x + t * a->x_tok + g * a->x_grp;
            float ss = 0.0f;
            for (int64_t c = 0; c < cols; c++) {
                float v = x[c];
                if (a->x_up)
                    v = v / (1.0f + expf(-v)) * x[c + a->x_up];
                xin[c] = v;
                ss += v * v;
            }
            if (a->norm_w) {
                const float inv = 1.0f / sqrtf(ss / (float)cols + a->norm_eps);
                for (int64_t c = 0; c < cols; c++)
                    xin[c] = a->norm_w[c] * (xin[c] * inv);
            }
            float *y = a->y + t * a->y_tok + g * a->y_grp;
            for (int64_t r = 0; r < a->rows; r++) {
                float acc = 0.0f;
                emu_row(a->kind, m, cols, r, row);
                for (int64_t c = 0; c < cols; c++)
                    acc += row[c] * xin[c];
                y[r] = a->accumulate ? y[r] + acc : acc;
            }
        }
    free(xin);
    free(row);
    return HXQ_OK;
}

int hxq_cuda_rmsnorm(const float *x, int64_t x_stride, const float *w, float *y,
                     int64_t y_stride, int64_t nrows, int64_t dim, float eps, void *stream,
                     hxq_error *err)
{
    for (int64_t r = 0; r < nrows; r++) {
        const float *xr = x + r * x_stride;
        float *yr = y + r * y_stride, ss = 0.0f;
        for (int64_t i = 0; i < dim; i++)
            ss += xr[i] * xr[i];
        const float inv = 1.0f / sqrtf(ss / (float)dim + eps);
        for (int64_t i = 0; i < dim; i++)
            yr[i] = w[i] * (xr[i] * inv);
    }
    return HXQ_OK;
}

static void emu_rotate(const float *in, float *out, int64_t nheads, int64_t hd, int64_t pos,
                       float theta)
{
    const int64_t half = hd / 2;
    for (int64_t h = 0; h < nheads; h++)
        for (int64_t d = 0; d < half; d++) {
            const float inv = 1.0f / powf(theta, (float)(2 * d) / (float)hd);
            const float ang = (float)pos * inv, cs = cosf(ang), sn = sinf(ang);
            const float a = in[h * hd + d], b = in[h * hd + d + half];
            out[h * hd + d] = a * cs - b * sn;
            out[h * hd + d + half] = b * cs + a * sn;
        }
}

int hxq_cuda_rope_neox(float *q, int64_t q_stride, int64_t nq_heads, float *k,
                       int64_t k_stride, int64_t nk_heads, int64_t head_dim, int64_t ntok,
                       const int32_t *d_pos, float theta, void *stream, hxq_error *err)
{
    for (int64_t t = 0; t < ntok; t++) {
        emu_rotate(q + t * q_stride, q + t * q_stride, nq_heads, head_dim, d_pos[0] + t, theta);
        emu_rotate(k + t * k_stride, k + t * k_stride, nk_heads, head_dim, d_pos[0] + t, theta);
    }
    return HXQ_OK;
}

int hxq_cuda_kv_store(const float *k, int64_t k_stride, const float *v, int64_t v_stride,
                      float *k_cache, float *v_cache, int64_t kv_dim, int64_t ntok,
                      int64_t max_ctx, const int32_t *d_pos, void *stream, hxq_error *err)
{
    for (int64_t t = 0; t < ntok; t++) {
        const int64_t row = d_pos[0] + t;
        if (row < max_ctx) {
            memcpy(k_cache + row * kv_dim, k + t * k_stride, (size_t)kv_dim * sizeof(float));
            memcpy(v_cache + row * kv_dim, v + t * v_stride, (size_t)kv_dim * sizeof(float));
        }
    }
    return HXQ_OK;
}

int hxq_cuda_qk_norm_rope(float *qkv, int64_t stride, const float *q_norm,
                          const float *k_norm, int64_t n_heads, int64_t head_dim, float eps,
                          float theta, float *k_cache, float *v_cache, int64_t ntok,
                          int64_t max_ctx, const int32_t *d_pos, void *stream, hxq_error *err)
{
    const int64_t H = n_heads * head_dim;
    float *tmp = malloc((size_t)H * sizeof(float));
    if (!tmp)
        return hxq_err(err, HXQ_ERR_NOMEM, "emulated qk_norm_rope");
    for (int64_t t = 0; t < ntok; t++) {
        float *q = qkv + t * stride, *k = q + H, *v = q + 2 * H;
        const int64_t row = d_pos[0] + t;
        hxq_cuda_rmsnorm(q, H, q_norm, tmp, H, 1, H, eps, stream, err);
        emu_rotate(tmp, q, n_heads, head_dim, row, theta);
        if (row < max_ctx) {
            hxq_cuda_rmsnorm(k, H, k_norm, tmp, H, 1, H, eps, stream, err);
            emu_rotate(tmp, k_cache + row * H, n_heads, head_dim, row, theta);
            memcpy(v_cache + row * H, v, (size_t)H * sizeof(float));
        }
    }
    free(tmp);
    return HXQ_OK;
}

int hxq_cuda_attention(const float *q, int64_t q_stride, const float *k_cache,
                       const float *v_cache, float *out, int64_t out_stride, int64_t n_heads,
                       int64_t n_kv_heads, int64_t head_dim, int64_t ntok, int64_t max_ctx,
                       const int32_t *d_pos, void *stream, hxq_error *err)
{
    const int64_t kv_dim = n_kv_heads * head_dim;
    float *sc = malloc((size_t)max_ctx * sizeof(float));
    if (!sc)
        return hxq_err(err, HXQ_ERR_NOMEM, "emulated attention");
    for (int64_t t = 0; t < ntok; t++)
        for (int64_t h = 0; h < n_heads; h++) {
            const int64_t kvh = h / (n_heads / n_kv_heads), n = d_pos[0] + t + 1;
            const float *qh = q + t * q_stride + h * head_dim;
            float mx = -INFINITY, sum = 0.0f;
            for (int64_t j = 0; j < n; j++) {
                float s = 0.0f;
                for (int64_t d = 0; d < head_dim; d++)
                    s += qh[d] * k_cache[j * kv_dim + kvh * head_dim + d];
                sc[j] = s * (1.0f / sqrtf((float)head_dim));
                mx = fmaxf(mx, sc[j]);
            }
            for (int64_t j = 0; j < n; j++) {
                sc[j] = expf(sc[j] - mx);
                sum += sc[j];
            }
            for (int64_t d = 0; d < head_dim; d++) {
                float o = 0.0f;
                for (int64_t j = 0; j < n; j++)
                    o += sc[j] * v_cache[j * kv_dim + kvh * head_dim + d];
                out[t * out_stride + h * head_dim + d] = o / sum;
            }
        }
    free(sc);
    return HXQ_OK;
}

int hxq_cuda_router_topk(const float *logits, int64_t ntok, int64_t n_experts, int64_t top_k,
                         int norm_topk, int32_t *ids, float *weights, void *stream,
                         hxq_error *err)
{
    float p[256];
    for (int64_t t = 0; t < ntok; t++) {
        const float *lg = logits + t * n_experts;
        float mx = -INFINITY, sum = 0.0f, wsum = 0.0f;
        for (int64_t e = 0; e < n_experts; e++)
            mx = fmaxf(mx, lg[e]);
        for (int64_t e = 0; e < n_experts; e++) {
            p[e] = expf(lg[e] - mx);
            sum += p[e];
        }
        for (int64_t e = 0; e < n_experts; e++)
            p[e] /= sum;
        for (int64_t j = 0; j < top_k; j++) {
            int64_t b = -1;
            for (int64_t e = 0; e < n_experts; e++)
                if (p[e] >= 0.0f && (b < 0 || p[e] > p[b]))
                    b = e;
            ids[t * top_k + j] = (int32_t)b;
            weights[t * top_k + j] = p[b];
            wsum += p[b];
            p[b] = -1.0f;
        }
        if (norm_topk)
            for (int64_t j = 0; j < top_k; j++)
                weights[t * top_k + j] /= wsum;
    }
    return HXQ_OK;
}

int hxq_cuda_weighted_add(const float *ye, const float *weights, float *out, int64_t ntok,
                          int64_t top_k, int64_t dim, void *stream, hxq_error *err)
{
    for (int64_t t = 0; t < ntok; t++)
        for (int64_t i = 0; i < dim; i++) {
            float s = 0.0f;
            for (int64_t j = 0; j < top_k; j++)
                s += weights[t * top_k + j] * ye[(t * top_k + j) * dim + i];
            out[t * dim + i] += s;
        }
    return HXQ_OK;
}

int hxq_cuda_moe(const hxq_cuda_moe_args *a, void *stream, hxq_error *err)
{
    hxq_cuda_linear_args l = {a->gate_up, a->gate_up_kind, a->inter, a->hidden, 2,
                              a->n_experts, a->ids, (int)a->top_k, a->ntok, a->x,
                              a->hidden, 0, a->gu, 2 * a->top_k * a->inter, a->inter, 0,
                              a->norm_w, a->norm_eps, 0};
    HXQ_TRY(hxq_cuda_linear(&l, stream, err));
    hxq_cuda_linear_args d = {a->down, a->down_kind, a->hidden, a->inter, 1, a->n_experts,
                              a->ids, (int)a->top_k, a->ntok, a->gu,
                              2 * a->top_k * a->inter, a->inter, a->ye,
                              a->top_k * a->hidden, a->hidden, 0, NULL, 0.0f,
                              a->top_k * a->inter};
    HXQ_TRY(hxq_cuda_linear(&d, stream, err));
    return hxq_cuda_weighted_add(a->ye, a->weights, a->out, a->ntok, a->top_k, a->hidden,
                                 stream, err);
}

int hxq_cuda_embed(int kind, const void *table, int64_t vocab, int64_t dim, const int32_t *ids,
                   int64_t ntok, float *out, void *stream, hxq_error *err)
{
    hxq_cuda_mat m = {table, NULL, NULL, NULL, NULL};
    for (int64_t t = 0; t < ntok; t++) {
        if (ids[t] >= 0 && ids[t] < vocab)
            emu_row(kind, &m, dim, ids[t], out + t * dim);
        else
            memset(out + t * dim, 0, (size_t)dim * sizeof(float));
    }
    return HXQ_OK;
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_host_dense)
{
    cuda_check_model(HXQ_FIXTURE_DENSE, HXQ_FIXTURE_GOLDEN "/golden_dense.safetensors", 512);
}
END_TEST

START_TEST(test_host_helix_chunked)
{
    cuda_check_model(HXQ_FIXTURE_HELIX, HXQ_FIXTURE_GOLDEN "/golden_helix.safetensors", 4);
}
END_TEST

#else /* !HXQ_HAVE_CUDA */

START_TEST(test_host_dense)
{
    cuda_test_gpu(__func__); /* says why it skips */
}
END_TEST

START_TEST(test_host_helix_chunked)
{
    cuda_test_gpu(__func__);
}
END_TEST

#endif

static Suite *cuda_host_suite(void)
{
    Suite *s = suite_create("cuda_host");
    TCase *tc = tcase_create("host");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_host_dense);
    tcase_add_test(tc, test_host_helix_chunked);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(cuda_host_suite)
