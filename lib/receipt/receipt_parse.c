/* receipt_parse.c - reads compression_receipt.json back into a
 * hxq_compression_receipt (for hxq verify). Unknown keys are ignored. */
#include "receipt_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIPT_MAX_BYTES ((size_t)1 << 30)

static int get_shape(rc_parse *p, const cJSON *o, const char *key, int *ndim, int64_t *shape)
{
    int rc = HXQ_OK;
    const cJSON *a = rc_need(p, o, key, cJSON_Array, &rc);
    if (!a)
        return rc;
    int n = cJSON_GetArraySize(a);
    if (n > HXQ_MAX_DIMS)
        return rc_bad(p, "a shape has too many dimensions");
    for (int d = 0; d < n; d++) {
        const cJSON *v = cJSON_GetArrayItem(a, d);
        /* below 2^53, like every other integer here: 1e999 is infinity and
         * its cast to int64_t would be undefined */
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 9007199254740992.0) ||
            v->valuedouble != floor(v->valuedouble))
            return rc_bad(p, "a shape holds a non-integer");
        shape[d] = (int64_t)v->valuedouble;
    }
    *ndim = n;
    return HXQ_OK;
}

static int get_dtype(rc_parse *p, const cJSON *o, const char *key, hxq_dtype *dt)
{
    int rc = HXQ_OK;
    const cJSON *v = rc_need(p, o, key, cJSON_String, &rc);
    if (!v)
        return rc;
    if (hxq_dtype_parse(v->valuestring, dt) < 0)
        return rc_bad(p, "unknown dtype name");
    return HXQ_OK;
}

static int parse_files(rc_parse *p, const cJSON *o, hxq_rc_file **out, int *n)
{
    int rc = HXQ_OK;
    const cJSON *a = rc_need(p, o, "files", cJSON_Array, &rc);
    if (!a)
        return rc;
    int cnt = cJSON_GetArraySize(a);
    hxq_rc_file *f = calloc((size_t)cnt + 1, sizeof(*f));
    if (!f)
        return hxq_err(p->err, HXQ_ERR_NOMEM, "out of memory");
    *out = f;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        int64_t size = 0;
        HXQ_TRY(rc_get_str(p, it, "name", &f[*n].name));
        (*n)++;
        HXQ_TRY(rc_get_int(p, it, "size", &size));
        f[*n - 1].size = (uint64_t)size;
        HXQ_TRY(rc_get_fixed(p, it, "sha256", f[*n - 1].sha256, HXQ_SHA256_HEX, 64));
    }
    return HXQ_OK;
}

static int parse_tensor(rc_parse *p, const cJSON *o, hxq_rc_tensor *t)
{
    char kind[16];
    HXQ_TRY(rc_get_str(p, o, "name", &t->name));
    HXQ_TRY(rc_get_fixed(p, o, "kind", kind, sizeof(kind), 0));
    if (strcmp(kind, "compressed") && strcmp(kind, "exact"))
        return rc_bad(p, "a tensor's kind is neither compressed nor exact");
    t->compressed = !strcmp(kind, "compressed");
    HXQ_TRY(rc_get_str(p, o, "source", &t->source));
    t->expert = -1;
    if (cJSON_GetObjectItemCaseSensitive(o, "expert")) {
        int nd = 0;
        int64_t rows[HXQ_MAX_DIMS];
        HXQ_TRY(rc_get_int(p, o, "expert", &t->expert));
        HXQ_TRY(get_shape(p, o, "rows", &nd, rows));
        if (nd != 2 || rows[0] > rows[1])
            return rc_bad(p, "a tensor's rows is not a [begin, end) pair");
        t->row_begin = rows[0];
        t->row_end = rows[1];
    }
    HXQ_TRY(get_shape(p, o, "shape", &t->ndim, t->shape));
    HXQ_TRY(get_dtype(p, o, "source_dtype", &t->source_dtype));
    if (t->compressed) {
        HXQ_TRY(rc_get_int(p, o, "sidecar_count", &t->sidecar_count));
        HXQ_TRY(rc_get_real(p, o, "mse", INFINITY, &t->mse));
        HXQ_TRY(rc_get_real(p, o, "snr_db", INFINITY, &t->snr_db));
        HXQ_TRY(rc_get_real(p, o, "cosine", INFINITY, &t->cosine));
        HXQ_TRY(rc_get_real(p, o, "max_abs_err", INFINITY, &t->max_abs_err));
    }
    int rc = HXQ_OK;
    const cJSON *st = rc_need(p, o, "stored", cJSON_Array, &rc);
    if (!st)
        return rc;
    int want = t->compressed ? 4 : 1;
    if (cJSON_GetArraySize(st) != want)
        return rc_bad(p, t->compressed ? "a compressed tensor does not list 4 stored keys"
                                    : "an exact tensor does not list 1 stored key");
    const cJSON *it;
    cJSON_ArrayForEach(it, st) {
        hxq_rc_key *k = &t->keys[t->nkeys++];
        HXQ_TRY(rc_get_str(p, it, "key", &k->key));
        HXQ_TRY(rc_get_str(p, it, "file", &k->file));
        HXQ_TRY(get_dtype(p, it, "dtype", &k->dtype));
        HXQ_TRY(get_shape(p, it, "shape", &k->ndim, k->shape));
        HXQ_TRY(rc_get_fixed(p, it, "xxh64", k->xxh64, sizeof(k->xxh64), 16));
    }
    return HXQ_OK;
}

static int parse_options(rc_parse *p, const cJSON *root, hxq_compression_receipt *r)
{
    int rc = HXQ_OK;
    const cJSON *o = rc_need(p, root, "options", cJSON_Object, &rc);
    if (!o)
        return rc;
    int64_t v;
    HXQ_TRY(rc_get_int(p, o, "codebook_size", &v));
    r->codebook_size = (int)(v > 65536 ? 65536 : v);
    HXQ_TRY(rc_get_int(p, o, "min_elements", &r->min_elements));
    const cJSON *pats = rc_need(p, o, "exact_patterns", cJSON_Array, &rc);
    if (!pats)
        return rc;
    int n = cJSON_GetArraySize(pats);
    if (!(r->exact_patterns = calloc((size_t)n + 1, sizeof(char *))))
        return hxq_err(p->err, HXQ_ERR_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, pats) {
        if (!cJSON_IsString(it))
            return rc_bad(p, "options.exact_patterns holds a non-string");
        if (!(r->exact_patterns[r->n_patterns] = hxq_strdup(it->valuestring)))
            return hxq_err(p->err, HXQ_ERR_NOMEM, "out of memory");
        r->n_patterns++;
    }
    const cJSON *sc = rc_need(p, o, "sidecar", cJSON_Object, &rc);
    if (!sc)
        return rc;
    HXQ_TRY(rc_get_fixed(p, sc, "mode", r->sidecar_mode, sizeof(r->sidecar_mode), 0));
    HXQ_TRY(rc_get_int(p, sc, "count", &r->sidecar_count));
    HXQ_TRY(rc_get_real(p, sc, "fraction", INFINITY, &r->sidecar_fraction));
    HXQ_TRY(rc_get_int(p, o, "max_shard_size", &v));
    r->max_shard_size = (uint64_t)v;
    return rc_get_real(p, o, "snr_floor_db", INFINITY, &r->snr_floor_db);
}

static int parse_rest(rc_parse *p, const cJSON *root, hxq_compression_receipt *r)
{
    int rc = HXQ_OK;
    const cJSON *o;
    if (!(o = rc_need(p, root, "source", cJSON_Object, &rc)))
        return rc;
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(o, "dir");
    if (cJSON_IsString(dir) && !(r->source_dir = hxq_strdup(dir->valuestring)))
        return hxq_err(p->err, HXQ_ERR_NOMEM, "out of memory");
    HXQ_TRY(parse_files(p, o, &r->source_files, &r->n_source_files));
    if (!(o = rc_need(p, root, "output", cJSON_Object, &rc)))
        return rc;
    HXQ_TRY(parse_files(p, o, &r->output_files, &r->n_output_files));

    const cJSON *ts = rc_need(p, root, "tensors", cJSON_Array, &rc);
    if (!ts)
        return rc;
    int64_t n = cJSON_GetArraySize(ts);
    if (!(r->tensors = calloc((size_t)n + 1, sizeof(*r->tensors))))
        return hxq_err(p->err, HXQ_ERR_NOMEM, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, ts) {
        r->n_tensors++;
        HXQ_TRY(parse_tensor(p, it, &r->tensors[r->n_tensors - 1]));
    }

    if (!(o = rc_need(p, root, "totals", cJSON_Object, &rc)))
        return rc;
    int64_t v;
    HXQ_TRY(rc_get_int(p, o, "source_tensors", &r->source_tensors));
    HXQ_TRY(rc_get_int(p, o, "compressed", &r->n_compressed));
    HXQ_TRY(rc_get_int(p, o, "exact", &r->n_exact));
    HXQ_TRY(rc_get_int(p, o, "total_keys", &r->total_keys));
    HXQ_TRY(rc_get_int(p, o, "bytes_in", &v));
    r->bytes_in = (uint64_t)v;
    HXQ_TRY(rc_get_int(p, o, "bytes_out", &v));
    r->bytes_out = (uint64_t)v;
    HXQ_TRY(rc_get_real(p, o, "ratio", INFINITY, &r->ratio));

    if (!(o = rc_need(p, root, "verdict", cJSON_Object, &rc)))
        return rc;
    char result[8];
    HXQ_TRY(rc_get_fixed(p, o, "result", result, sizeof(result), 0));
    if (strcmp(result, "PASS") && strcmp(result, "FAIL"))
        return rc_bad(p, "verdict.result is neither PASS nor FAIL");
    r->pass = !strcmp(result, "PASS");
    const cJSON *checks = rc_need(p, o, "checks", cJSON_Array, &rc);
    if (!checks)
        return rc;
    cJSON_ArrayForEach(it, checks) {
        char name[48];
        HXQ_TRY(rc_get_fixed(p, it, "name", name, sizeof(name), 0));
        const cJSON *pass = cJSON_GetObjectItemCaseSensitive(it, "pass");
        const cJSON *detail = cJSON_GetObjectItemCaseSensitive(it, "detail");
        if (!cJSON_IsBool(pass))
            return rc_bad(p, "a verdict check has no boolean 'pass'");
        rc = hxq_receipt_add_check(r, name, cJSON_IsTrue(pass), "%s",
                                   cJSON_IsString(detail) ? detail->valuestring : "");
        if (rc == HXQ_ERR_RANGE)
            return rc_bad(p, "too many verdict checks");
        if (rc < 0)
            return hxq_err(p->err, rc, "out of memory");
    }

    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(root, "timings");
    if (cJSON_IsObject(tm)) {
        const cJSON *x;
        r->has_timings = 1;
        if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(tm, "threads")))
            r->threads = x->valueint;
        /* informational: a non-finite time (1e999) is ignored like a missing one,
         * since it could not be written back */
        if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(tm, "plan_s")) &&
            isfinite(x->valuedouble))
            r->plan_s = x->valuedouble;
        if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(tm, "encode_write_s")) &&
            isfinite(x->valuedouble))
            r->encode_write_s = x->valuedouble;
        if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(tm, "total_s")) &&
            isfinite(x->valuedouble))
            r->total_s = x->valuedouble;
    }
    return HXQ_OK;
}

int hxq_receipt_compression_parse(const char *json, const char *label,
                                  hxq_compression_receipt *out, hxq_error *err)
{
    rc_parse p = {label, err};
    hxq_compression_receipt r;
    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    cJSON *root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: not a JSON object", label);
    }
    int rc;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *tool = cJSON_GetObjectItemCaseSensitive(root, "tool");
    int64_t ver = 0;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "hxq-compression-receipt")) {
        rc = rc_bad(&p, "not an hxq compression receipt (key 'format')");
    } else if ((rc = rc_get_int(&p, root, "format_version", &ver)) < 0) {
    } else if (ver != 1) {
        rc = hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: format_version %lld is not supported",
                     label, (long long)ver);
    } else if (!cJSON_IsObject(tool)) {
        rc = rc_bad(&p, "key 'tool' is missing or has the wrong type");
    } else if ((rc = rc_get_fixed(&p, tool, "version", r.tool_version, sizeof(r.tool_version),
                               0)) < 0) {
    } else if ((rc = parse_options(&p, root, &r)) < 0) {
    } else {
        r.format_version = (int)ver;
        rc = parse_rest(&p, root, &r);
    }
    cJSON_Delete(root);
    if (rc < 0) {
        hxq_receipt_compression_free(&r);
        return rc;
    }
    *out = r;
    return HXQ_OK;
}

int hxq_receipt_compression_load(const char *dir, hxq_compression_receipt *out, hxq_error *err)
{
    memset(out, 0, sizeof(*out));
    char *path = hxq_path_join(dir, "compression_receipt.json");
    if (!path)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    char *txt = NULL;
    int rc = hxq_read_file(path, RECEIPT_MAX_BYTES, &txt, NULL, err);
    if (rc == HXQ_OK)
        rc = hxq_receipt_compression_parse(txt, path, out, err);
    free(txt);
    free(path);
    return rc;
}
