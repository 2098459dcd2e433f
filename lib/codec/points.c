/* points.c - the value histogram of a matrix: distinct finite values in
 * ascending order with their counts (one counting pass for 16-bit
 * sources, a sort for F32 sources). */
#include "codec_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK ((int64_t)1 << 30) /* elements per 32-bit counting pass */

static int is_nonfinite16(uint16_t b, hxq_dtype dt)
{
    return dt == HXQ_DT_BF16 ? (b & 0x7f80u) == 0x7f80u : (b & 0x7c00u) == 0x7c00u;
}

static int bad_value(const char *name, const void *src, hxq_dtype dt, int64_t total,
                     hxq_error *err)
{
    for (int64_t i = 0; i < total; i++) {
        float v = codec_src_f32(src, dt, i);
        if (!isfinite(v))
            return hxq_err(err, HXQ_ERR_FORMAT,
                           "tensor '%s': %s value at flat position %lld",
                           name ? name : "?", isnan(v) ? "nan" : "infinite", (long long)i);
    }
    return hxq_err(err, HXQ_ERR_FORMAT, "tensor '%s': non-finite value", name ? name : "?");
}

#define PT_COUNT(v) (h ? h[v] : (int64_t)h32[v])

static int points16(const char *name, const uint16_t *src, hxq_dtype dt, int64_t total,
                    codec_points *out, hxq_error *err)
{
    /* 32-bit counts; 64-bit totals only for matrices over CHUNK elements */
    uint32_t *h32 = calloc(65536, sizeof(uint32_t));
    int64_t *h = total > CHUNK ? calloc(65536, sizeof(int64_t)) : NULL;
    int32_t *of = malloc(65536 * sizeof(int32_t));
    if (!h32 || (total > CHUNK && !h) || !of)
        goto nomem;
    for (int64_t b = 0; b < total; b += CHUNK) {
        int64_t e = b + CHUNK < total ? b + CHUNK : total;
        for (int64_t i = b; i < e; i++)
            h32[src[i]]++;
        if (h)
            for (int v = 0; v < 65536; v++) {
                h[v] += h32[v];
                h32[v] = 0;
            }
    }
    int64_t n = 0;
    for (int v = 0; v < 65536; v++) {
        of[v] = -1;
        if (PT_COUNT(v) && is_nonfinite16((uint16_t)v, dt)) {
            free(h32);
            free(h);
            free(of);
            return bad_value(name, src, dt, total, err);
        }
        n += PT_COUNT(v) != 0;
    }
    out->x = hxq_alloc_array(n, sizeof(double));
    out->cnt = hxq_alloc_array(n, sizeof(int64_t));
    if (!out->x || !out->cnt)
        goto nomem;
    /* value order of sign-magnitude bits: 0xffff down to 0x8000, then up */
    int64_t k = 0;
    for (int s = 0; s < 65536; s++) {
        int v = s < 32768 ? 0xffff - s : s - 32768;
        if (!PT_COUNT(v))
            continue;
        double x = dt == HXQ_DT_BF16 ? hxq_bf16_to_f32((uint16_t)v)
                                     : hxq_f16_to_f32((uint16_t)v);
        if (k > 0 && out->x[k - 1] == x) { /* -0 and +0 */
            out->cnt[k - 1] += PT_COUNT(v);
            of[v] = (int32_t)(k - 1);
            continue;
        }
        out->x[k] = x;
        out->cnt[k] = PT_COUNT(v);
        of[v] = (int32_t)k;
        k++;
    }
    out->n = k;
    out->total = total;
    out->of_bits = of;
    free(h32);
    free(h);
    return HXQ_OK;
nomem:
    free(h32);
    free(h);
    free(of);
    free(out->x);
    free(out->cnt);
    out->x = NULL;
    out->cnt = NULL;
    return hxq_err(err, HXQ_ERR_NOMEM, "tensor '%s': out of memory for the histogram",
                   name ? name : "?");
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int points32(const char *name, const float *src, int64_t total, codec_points *out,
                    hxq_error *err)
{
    for (int64_t i = 0; i < total; i++)
        if (!isfinite(src[i]))
            return bad_value(name, src, HXQ_DT_F32, total, err);
    float *s = hxq_alloc_array(total, sizeof(float));
    if (!s)
        return hxq_err(err, HXQ_ERR_NOMEM, "tensor '%s': out of memory", name ? name : "?");
    memcpy(s, src, (size_t)total * sizeof(float));
    qsort(s, (size_t)total, sizeof(float), cmp_float);
    int64_t n = 0;
    for (int64_t i = 0; i < total; i++)
        n += (i == 0 || s[i] != s[i - 1]);
    out->x = hxq_alloc_array(n, sizeof(double));
    out->cnt = hxq_alloc_array(n, sizeof(int64_t));
    if (!out->x || !out->cnt) {
        free(s);
        free(out->x);
        free(out->cnt);
        out->x = NULL;
        out->cnt = NULL;
        return hxq_err(err, HXQ_ERR_NOMEM, "tensor '%s': out of memory", name ? name : "?");
    }
    int64_t k = -1;
    for (int64_t i = 0; i < total; i++) {
        if (i == 0 || s[i] != s[i - 1]) {
            k++;
            out->x[k] = s[i];
            out->cnt[k] = 0;
        }
        out->cnt[k]++;
    }
    free(s);
    out->n = n;
    out->total = total;
    out->of_bits = NULL;
    return HXQ_OK;
}

int codec_points_build(const char *name, const void *src, hxq_dtype dt, int64_t total,
                       codec_points *out, hxq_error *err)
{
    memset(out, 0, sizeof(*out));
    if (dt == HXQ_DT_BF16 || dt == HXQ_DT_F16)
        return points16(name, src, dt, total, out, err);
    if (dt == HXQ_DT_F32)
        return points32(name, src, total, out, err);
    return hxq_err(err, HXQ_ERR_UNSUPPORTED, "tensor '%s': dtype %s cannot be encoded",
                   name ? name : "?", hxq_dtype_name(dt));
}

void codec_points_free(codec_points *p)
{
    if (!p)
        return;
    free(p->x);
    free(p->cnt);
    free(p->of_bits);
    memset(p, 0, sizeof(*p));
}

double codec_points_rank(const codec_points *p, int64_t r)
{
    int64_t acc = 0;
    for (int64_t i = 0; i < p->n; i++) {
        acc += p->cnt[i];
        if (r < acc)
            return p->x[i];
    }
    return p->n ? p->x[p->n - 1] : 0.0;
}
