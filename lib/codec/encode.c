/* encode.c - hxq_codec_encode(): histogram, budget, sidecar plan and
 * codebook (sidecar.c, fit.c), then one assignment pass through a lookup
 * table from source bits to index. */
#include "codec_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REFITS 8

hxq_encode_opts hxq_encode_opts_default(void)
{
    hxq_encode_opts o = {HXQ_SIDECAR_REFERENCE, 0, 0.0, 0, 0};
    return o;
}

int64_t hxq_codec_reference_budget(const char *name, const void *src, hxq_dtype dtype,
                                   int64_t rows, int64_t cols)
{
    int64_t total;
    if (hxq_mul_i64(rows, cols, &total) < 0)
        return HXQ_ERR_INVALID;
    codec_points p;
    int rc = codec_points_build(name, src, dtype, total, &p, NULL);
    if (rc < 0)
        return rc;
    double lo, hi;
    int64_t n = codec_reference_band(name, &p, &lo, &hi);
    codec_points_free(&p);
    return n;
}

static int enc_budget(const char *name, const codec_points *p, const hxq_encode_opts *o,
                      int64_t *budget, double *lo, double *hi, hxq_error *err)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    switch (o->sidecar_mode) {
    case HXQ_SIDECAR_REFERENCE:
        *budget = codec_reference_band(name, p, lo, hi);
        return HXQ_OK;
    case HXQ_SIDECAR_COUNT:
        if (o->sidecar_count < 0)
            return hxq_err(err, HXQ_ERR_INVALID, "tensor '%s': negative sidecar count %lld",
                           name, (long long)o->sidecar_count);
        *budget = o->sidecar_count < p->total ? o->sidecar_count : p->total;
        return HXQ_OK;
    case HXQ_SIDECAR_FRACTION:
        if (!(o->sidecar_fraction >= 0.0 && o->sidecar_fraction <= 1.0))
            return hxq_err(err, HXQ_ERR_INVALID,
                           "tensor '%s': sidecar fraction %g not in [0, 1]", name,
                           o->sidecar_fraction);
        *budget = (int64_t)llround(o->sidecar_fraction * (double)p->total);
        if (*budget > p->total)
            *budget = p->total;
        return HXQ_OK;
    case HXQ_SIDECAR_NONE:
        *budget = 0;
        return HXQ_OK;
    }
    return hxq_err(err, HXQ_ERR_INVALID, "tensor '%s': unknown sidecar mode %d", name,
                   (int)o->sidecar_mode);
}

/* Error statistics from the points (exact per distinct value). */
static void enc_stats(const codec_points *p, const float *cb, const int64_t *take,
                      int64_t n_sidecar, hxq_matrix_stats *s)
{
    double se = 0.0, sw = 0.0, sq = 0.0, swq = 0.0, maxe = 0.0;
    int j = 0;
    for (int64_t i = 0; i < p->n; i++) {
        j = codec_walk(cb, j, p->x[i]);
        double x = p->x[i], c = cb[j];
        double kept = (double)(p->cnt[i] - take[i]), exact = (double)take[i];
        double d = x - c;
        se += kept * d * d;
        sw += (double)p->cnt[i] * x * x;
        sq += kept * c * c + exact * x * x;
        swq += kept * x * c + exact * x * x;
        if (kept > 0 && fabs(d) > maxe)
            maxe = fabs(d);
    }
    s->mse = p->total ? se / (double)p->total : 0.0;
    s->snr_db = se > 0.0 ? 10.0 * log10(sw / se) : INFINITY;
    s->cosine = (sw > 0.0 && sq > 0.0) ? swq / sqrt(sw * sq) : (sw == sq ? 1.0 : 0.0);
    s->max_abs_err = maxe;
    s->n_sidecar = n_sidecar;
}

/* Writes indices and the sidecar (lowest positions first within a value). */
static void enc_assign(const codec_points *p, const void *src, hxq_dtype dt, const float *cb,
                       const int64_t *take, int64_t *left, uint8_t *lut, uint8_t *code,
                       hxq_encoded *e)
{
    int j = 0;
    for (int64_t i = 0; i < p->n; i++) {
        j = codec_walk(cb, j, p->x[i]);
        code[i] = (uint8_t)j;
        left[i] = take[i];
    }
    int64_t total = p->total, k = 0;
    if (p->of_bits) {
        const uint16_t *s = src;
        uint8_t *mark = lut + 65536;
        for (int v = 0; v < 65536; v++) {
            int32_t pt = p->of_bits[v];
            lut[v] = pt >= 0 ? code[pt] : 0;
            mark[v] = pt >= 0 && take[pt] > 0;
        }
        for (int64_t i = 0; i < total; i++) {
            uint16_t b = s[i];
            e->indices[i] = lut[b];
            if (mark[b]) {
                int32_t pt = p->of_bits[b];
                if (left[pt] > 0) {
                    left[pt]--;
                    e->sidecar_pos[k] = i;
                    e->sidecar_val[k] = codec_src_f32(src, dt, i);
                    k++;
                }
            }
        }
    } else {
        for (int64_t i = 0; i < total; i++) {
            int64_t pt = codec_point_of(p, src, dt, i);
            e->indices[i] = code[pt];
            if (left[pt] > 0) {
                left[pt]--;
                e->sidecar_pos[k] = i;
                e->sidecar_val[k] = codec_src_f32(src, dt, i);
                k++;
            }
        }
    }
    e->n_sidecar = k;
}

int hxq_codec_encode(const char *name, const void *src, hxq_dtype dtype, int64_t rows,
                     int64_t cols, const hxq_encode_opts *opts, hxq_encoded *out,
                     hxq_error *err)
{
    if (!name)
        name = "?";
    int64_t total;
    if (!out || rows < 0 || cols < 0 || hxq_mul_i64(rows, cols, &total) < 0 ||
        (total > 0 && !src))
        return hxq_err(err, HXQ_ERR_INVALID, "tensor '%s': bad shape [%lld, %lld] or argument",
                       name, (long long)rows, (long long)cols);
    hxq_encode_opts o = opts ? *opts : hxq_encode_opts_default();
    int rounds = o.max_refits > 0 ? o.max_refits : DEFAULT_REFITS;
    codec_points p;
    HXQ_TRY(codec_points_build(name, src, dtype, total, &p, err));
    int64_t budget = 0;
    double lo, hi;
    int rc = enc_budget(name, &p, &o, &budget, &lo, &hi, err);
    hxq_encoded e;
    memset(&e, 0, sizeof(e));
    e.rows = rows;
    e.cols = cols;
    int64_t *take = NULL, *left = NULL;
    uint8_t *lut = NULL, *code = NULL;
    if (rc != HXQ_OK)
        goto done;
    take = hxq_alloc_array(2 * p.n, sizeof(int64_t));
    lut = hxq_alloc_array(2 * 65536 + p.n, 1);
    e.indices = hxq_alloc_array(total, 1);
    e.sidecar_pos = hxq_alloc_array(budget, sizeof(int64_t));
    e.sidecar_val = hxq_alloc_array(budget, sizeof(float));
    if (!take || !lut || !e.indices || !e.sidecar_pos || !e.sidecar_val) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "tensor '%s': out of memory", name);
        goto done;
    }
    left = take + p.n;
    code = lut + 2 * 65536;
    rc = codec_sidecar_plan(&p, budget, lo, hi, rounds, o.exact_refits, e.codebook, take, err);
    if (rc != HXQ_OK) {
        hxq_err_prefix(err, rc, "tensor '%s'", name);
        goto done;
    }
    enc_assign(&p, src, dtype, e.codebook, take, left, lut, code, &e);
    enc_stats(&p, e.codebook, take, e.n_sidecar, &e.stats);
done:
    free(take);
    free(lut);
    codec_points_free(&p);
    if (rc != HXQ_OK) {
        hxq_encoded_free(&e);
        return rc;
    }
    *out = e;
    return HXQ_OK;
}

void hxq_encoded_free(hxq_encoded *e)
{
    if (!e)
        return;
    free(e->indices);
    free(e->sidecar_pos);
    free(e->sidecar_val);
    e->indices = NULL;
    e->sidecar_pos = NULL;
    e->sidecar_val = NULL;
    e->n_sidecar = 0;
}

hxq_qmatrix hxq_encoded_view(const hxq_encoded *e)
{
    hxq_qmatrix m = {e->rows, e->cols, e->codebook, e->indices,
                     e->n_sidecar, e->sidecar_pos, e->sidecar_val};
    return m;
}
