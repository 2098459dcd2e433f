/* receipt_compress.c - compression_receipt.json: build, add checks, free.
 * The schema is docs/RECEIPTS.md; receipt_parse.c reads it back. */
#include "receipt_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_files(rc_json *j, cJSON *parent, const hxq_rc_file *f, int n)
{
    cJSON *arr = rc_add_arr(j, parent, "files");
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = rc_add_obj(j, arr, NULL);
        rc_add_str(j, o, "name", f[i].name);
        rc_add_num(j, o, "size", (double)f[i].size);
        rc_add_str(j, o, "sha256", f[i].sha256);
    }
}

static void add_tensor(rc_json *j, cJSON *arr, const hxq_rc_tensor *t)
{
    cJSON *o = rc_add_obj(j, arr, NULL);
    rc_add_str(j, o, "name", t->name);
    rc_add_str(j, o, "kind", t->compressed ? "compressed" : "exact");
    rc_add_str(j, o, "source", t->source);
    if (t->expert >= 0) {
        rc_add_num(j, o, "expert", (double)t->expert);
        int64_t rows[2] = {t->row_begin, t->row_end};
        rc_add_shape(j, o, "rows", 2, rows);
    }
    rc_add_shape(j, o, "shape", t->ndim, t->shape);
    rc_add_str(j, o, "source_dtype", hxq_dtype_name(t->source_dtype));
    if (t->compressed) {
        rc_add_num(j, o, "sidecar_count", (double)t->sidecar_count);
        rc_add_num(j, o, "mse", t->mse);
        rc_add_num(j, o, "snr_db", t->snr_db);     /* +inf prints as null */
        rc_add_num(j, o, "cosine", t->cosine);
        rc_add_num(j, o, "max_abs_err", t->max_abs_err);
    }
    cJSON *st = rc_add_arr(j, o, "stored");
    for (int k = 0; st && k < t->nkeys; k++) {
        const hxq_rc_key *key = &t->keys[k];
        cJSON *ko = rc_add_obj(j, st, NULL);
        rc_add_str(j, ko, "key", key->key);
        rc_add_str(j, ko, "file", key->file);
        rc_add_str(j, ko, "dtype", hxq_dtype_name(key->dtype));
        rc_add_shape(j, ko, "shape", key->ndim, key->shape);
        rc_add_str(j, ko, "xxh64", key->xxh64);
    }
}

int hxq_receipt_compression_json(const hxq_compression_receipt *r, char **out, hxq_error *err)
{
    rc_json j = {0};
    cJSON *root = cJSON_CreateObject();
    rc_add_str(&j, root, "format", "hxq-compression-receipt");
    rc_add_num(&j, root, "format_version", r->format_version ? r->format_version : 1);
    cJSON *tool = rc_add_obj(&j, root, "tool");
    rc_add_str(&j, tool, "name", "hxq");
    rc_add_str(&j, tool, "version", r->tool_version);

    cJSON *opt = rc_add_obj(&j, root, "options");
    rc_add_num(&j, opt, "codebook_size", r->codebook_size);
    rc_add_num(&j, opt, "min_elements", (double)r->min_elements);
    cJSON *pats = rc_add_arr(&j, opt, "exact_patterns");
    for (int i = 0; pats && i < r->n_patterns; i++)
        rc_push_str(&j, pats, r->exact_patterns[i]);
    cJSON *sc = rc_add_obj(&j, opt, "sidecar");
    rc_add_str(&j, sc, "mode", r->sidecar_mode);
    rc_add_num(&j, sc, "count", (double)r->sidecar_count);
    rc_add_num(&j, sc, "fraction", r->sidecar_fraction);
    rc_add_num(&j, opt, "max_shard_size", (double)r->max_shard_size);
    rc_add_num(&j, opt, "snr_floor_db", r->snr_floor_db);

    cJSON *src = rc_add_obj(&j, root, "source");
    rc_add_str(&j, src, "dir", r->source_dir);
    add_files(&j, src, r->source_files, r->n_source_files);
    cJSON *dst = rc_add_obj(&j, root, "output");
    add_files(&j, dst, r->output_files, r->n_output_files);

    cJSON *ts = rc_add_arr(&j, root, "tensors");
    for (int64_t i = 0; ts && i < r->n_tensors; i++)
        add_tensor(&j, ts, &r->tensors[i]);

    cJSON *tot = rc_add_obj(&j, root, "totals");
    rc_add_num(&j, tot, "source_tensors", (double)r->source_tensors);
    rc_add_num(&j, tot, "compressed", (double)r->n_compressed);
    rc_add_num(&j, tot, "exact", (double)r->n_exact);
    rc_add_num(&j, tot, "total_keys", (double)r->total_keys);
    rc_add_num(&j, tot, "bytes_in", (double)r->bytes_in);
    rc_add_num(&j, tot, "bytes_out", (double)r->bytes_out);
    rc_add_num(&j, tot, "ratio", r->ratio);

    cJSON *v = rc_add_obj(&j, root, "verdict");
    rc_add_str(&j, v, "result", r->pass ? "PASS" : "FAIL");
    cJSON *checks = rc_add_arr(&j, v, "checks");
    for (int i = 0; checks && i < r->n_checks; i++) {
        cJSON *c = rc_add_obj(&j, checks, NULL);
        rc_add_str(&j, c, "name", r->checks[i].name);
        rc_add_bool(&j, c, "pass", r->checks[i].pass);
        rc_add_str(&j, c, "detail", r->checks[i].detail ? r->checks[i].detail : "");
    }
    if (r->has_timings) {
        cJSON *tm = rc_add_obj(&j, root, "timings");
        rc_add_num(&j, tm, "threads", r->threads);
        rc_add_num(&j, tm, "plan_s", r->plan_s);
        rc_add_num(&j, tm, "encode_write_s", r->encode_write_s);
        rc_add_num(&j, tm, "total_s", r->total_s);
    }
    return rc_finish(&j, root, out, err);
}

int hxq_receipt_add_check(hxq_compression_receipt *r, const char *name, int pass,
                          const char *fmt, ...)
{
    if (r->n_checks >= HXQ_RC_MAX_CHECKS)
        return HXQ_ERR_RANGE;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    hxq_rc_check *c = &r->checks[r->n_checks];
    if (!(c->detail = hxq_strdup(buf)))
        return HXQ_ERR_NOMEM;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->pass = pass != 0;
    r->n_checks++;
    return HXQ_OK;
}

static void free_files(hxq_rc_file *f, int n)
{
    for (int i = 0; f && i < n; i++)
        free(f[i].name);
    free(f);
}

void hxq_receipt_compression_free(hxq_compression_receipt *r)
{
    if (!r)
        return;
    for (int i = 0; r->exact_patterns && i < r->n_patterns; i++)
        free(r->exact_patterns[i]);
    free(r->exact_patterns);
    free(r->source_dir);
    free_files(r->source_files, r->n_source_files);
    free_files(r->output_files, r->n_output_files);
    for (int64_t i = 0; r->tensors && i < r->n_tensors; i++) {
        hxq_rc_tensor *t = &r->tensors[i];
        free(t->name);
        free(t->source);
        for (int k = 0; k < t->nkeys && k < HXQ_RC_MAX_KEYS; k++) {
            free(t->keys[k].key);
            free(t->keys[k].file);
        }
    }
    free(r->tensors);
    for (int i = 0; i < r->n_checks && i < HXQ_RC_MAX_CHECKS; i++)
        free(r->checks[i].detail);
    memset(r, 0, sizeof(*r));
}
