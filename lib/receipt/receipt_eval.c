/* receipt_eval.c - eval_receipt.json: build, parse, free. The schema is
 * docs/RECEIPTS.md; lib/pipeline/eval_receipt.c fills it from the scores. */
#include "receipt_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_FORMAT "hxq-eval-receipt"
#define EVAL_PROTOCOL "lm-evaluation-harness 0.4 multiple_choice, zero-shot"

static void add_figures(rc_json *j, cJSON *o, const hxq_rc_mc_figures *f)
{
    rc_add_num(j, o, "n", (double)f->n);
    rc_add_real(j, o, "acc", f->acc);
    rc_add_real(j, o, "acc_stderr", f->acc_stderr);
    rc_add_real(j, o, "acc_norm", f->acc_norm);
    rc_add_real(j, o, "acc_norm_stderr", f->acc_norm_stderr);
}

static void add_model(rc_json *j, cJSON *root, const char *key, const hxq_rc_mc_model *m)
{
    cJSON *o = rc_add_obj(j, root, key);
    if (m->dir)
        rc_add_str(j, o, "dir", m->dir);
    rc_add_str(j, o, "folder_sha256", m->folder_sha256);
    rc_add_str(j, o, "compression_receipt_sha256",
               m->has_compression_receipt ? m->compression_receipt_sha256 : NULL);
    rc_add_bool(j, o, "bos", m->bos);
    add_figures(j, o, &m->fig);
}

static void add_items(rc_json *j, cJSON *root, const hxq_eval_receipt *r)
{
    cJSON *arr = rc_add_arr(j, root, "items");
    for (int64_t i = 0; arr && i < r->n_items; i++) {
        cJSON *o = rc_add_obj(j, arr, NULL);
        rc_add_num(j, o, "gold", r->gold[i]);
        cJSON *len = rc_add_arr(j, o, "len"), *ll = rc_add_arr(j, o, "ll"),
              *rl = rc_add_arr(j, o, "reference_ll");
        for (int64_t c = r->first[i]; c < r->first[i + 1]; c++) {
            rc_push_int(j, len, r->len[c]);
            rc_push_real(j, ll, r->ll[c]);
            rc_push_real(j, rl, r->ref_ll[c]);
        }
    }
}

int hxq_receipt_eval_json(const hxq_eval_receipt *r, char **out, hxq_error *err)
{
    rc_json j = {0};
    cJSON *root = cJSON_CreateObject();
    rc_add_str(&j, root, "format", EVAL_FORMAT);
    rc_add_num(&j, root, "format_version", r->format_version ? r->format_version : 1);
    cJSON *tool = rc_add_obj(&j, root, "tool");
    rc_add_str(&j, tool, "name", "hxq");
    rc_add_str(&j, tool, "version", r->tool_version);
    rc_add_str(&j, root, "protocol", EVAL_PROTOCOL);
    rc_add_str(&j, root, "task", r->task);
    cJSON *data = rc_add_obj(&j, root, "data");
    rc_add_str(&j, data, "path", r->data_path);
    rc_add_num(&j, data, "size", (double)r->data_size);
    rc_add_str(&j, data, "sha256", r->data_sha256);
    rc_add_num(&j, data, "limit", (double)r->limit);
    add_model(&j, root, "model", &r->model);
    add_model(&j, root, "reference", &r->reference);
    cJSON *d = rc_add_obj(&j, root, "delta");
    add_figures(&j, d, &r->delta);
    cJSON *g = rc_add_obj(&j, root, "gate");
    rc_add_str(&j, g, "metric", "acc_norm");
    rc_add_real(&j, g, "tolerance", r->gate_tolerance);
    rc_add_real(&j, g, "threshold", r->gate_threshold);
    rc_add_str(&j, g, "result", r->gate_pass ? "PASS" : "FAIL");
    add_items(&j, root, r);
    if (r->has_timings) {
        cJSON *tm = rc_add_obj(&j, root, "timings");
        rc_add_num(&j, tm, "threads", r->threads);
        rc_add_num(&j, tm, "model_s", r->model_s);
        rc_add_num(&j, tm, "reference_s", r->reference_s);
        rc_add_num(&j, tm, "total_s", r->total_s);
    }
    return rc_finish(&j, root, out, err);
}

/* ---- parsing ------------------------------------------------------------- */

static int get_figures(rc_parse *p, const cJSON *o, hxq_rc_mc_figures *f)
{
    HXQ_TRY(rc_get_int(p, o, "n", &f->n));
    HXQ_TRY(rc_get_real(p, o, "acc", NAN, &f->acc));
    HXQ_TRY(rc_get_real(p, o, "acc_stderr", NAN, &f->acc_stderr));
    HXQ_TRY(rc_get_real(p, o, "acc_norm", NAN, &f->acc_norm));
    return rc_get_real(p, o, "acc_norm_stderr", NAN, &f->acc_norm_stderr);
}

static int get_model(rc_parse *p, const cJSON *root, const char *key, int with_dir,
                     hxq_rc_mc_model *m)
{
    int rc = HXQ_OK;
    const cJSON *o = rc_need(p, root, key, cJSON_Object, &rc);
    if (!o)
        return rc;
    if (with_dir)
        HXQ_TRY(rc_get_str(p, o, "dir", &m->dir));
    HXQ_TRY(rc_get_fixed(p, o, "folder_sha256", m->folder_sha256, HXQ_SHA256_HEX, 64));
    const cJSON *cr = rc_need(p, o, "compression_receipt_sha256", cJSON_String | cJSON_NULL, &rc);
    if (!cr)
        return rc;
    if ((m->has_compression_receipt = cJSON_IsString(cr)))
        HXQ_TRY(rc_get_fixed(p, o, "compression_receipt_sha256", m->compression_receipt_sha256,
                             HXQ_SHA256_HEX, 64));
    const cJSON *bos = rc_need(p, o, "bos", cJSON_True | cJSON_False, &rc);
    if (!bos)
        return rc;
    m->bos = cJSON_IsTrue(bos);
    return get_figures(p, o, &m->fig);
}

/* One item's array: its length sets the choice count (k < 0) or must
 * match it. */
static int item_array(rc_parse *p, const cJSON *it, const char *key, int64_t *k)
{
    int rc = HXQ_OK;
    const cJSON *a = rc_need(p, it, key, cJSON_Array, &rc);
    if (!a)
        return rc;
    int64_t n = cJSON_GetArraySize(a);
    if (*k < 0 && (n < 1 || n > HXQ_RC_MAX_CHOICES))
        return rc_bad(p, "an item does not have 1 to 64 choices");
    if (*k >= 0 && n != *k)
        return rc_bad(p, "an item's len, ll and reference_ll differ in length");
    const cJSON *v;
    cJSON_ArrayForEach(v, a)
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return rc_bad(p, "an item holds a value that is not a finite number");
    *k = n;
    return HXQ_OK;
}

static int get_items(rc_parse *p, const cJSON *root, hxq_eval_receipt *r)
{
    int rc = HXQ_OK;
    const cJSON *a = rc_need(p, root, "items", cJSON_Array, &rc);
    if (!a)
        return rc;
    int64_t n = cJSON_GetArraySize(a), total = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        int64_t k = -1;
        HXQ_TRY(item_array(p, it, "len", &k));
        HXQ_TRY(item_array(p, it, "ll", &k));
        HXQ_TRY(item_array(p, it, "reference_ll", &k));
        total += k;
    }
    r->first = hxq_alloc_array(n + 1, sizeof(int64_t));
    r->gold = hxq_alloc_array(n ? n : 1, sizeof(int32_t));
    r->len = hxq_alloc_array(total ? total : 1, sizeof(int64_t));
    r->ll = hxq_alloc_array(total ? total : 1, sizeof(double));
    r->ref_ll = hxq_alloc_array(total ? total : 1, sizeof(double));
    if (!r->first || !r->gold || !r->len || !r->ll || !r->ref_ll)
        return hxq_err(p->err, HXQ_ERR_NOMEM, "out of memory");
    int64_t i = 0, c = 0;
    cJSON_ArrayForEach(it, a) {
        const cJSON *len = cJSON_GetObjectItemCaseSensitive(it, "len");
        const cJSON *ll = cJSON_GetObjectItemCaseSensitive(it, "ll");
        const cJSON *rl = cJSON_GetObjectItemCaseSensitive(it, "reference_ll");
        int64_t gold, k = cJSON_GetArraySize(len);
        HXQ_TRY(rc_get_int(p, it, "gold", &gold));
        if (gold >= k)
            return rc_bad(p, "an item's gold is not one of its choices");
        r->first[i] = c;
        r->gold[i++] = (int32_t)gold;
        for (int64_t x = 0; x < k; x++, c++) {
            double lv = cJSON_GetArrayItem(len, (int)x)->valuedouble;
            if (lv < 0 || lv != floor(lv) || lv > 9007199254740992.0)
                return rc_bad(p, "an item's len holds a non-integer");
            r->len[c] = (int64_t)lv;
            r->ll[c] = cJSON_GetArrayItem(ll, (int)x)->valuedouble;
            r->ref_ll[c] = cJSON_GetArrayItem(rl, (int)x)->valuedouble;
        }
    }
    r->first[n] = c;
    r->n_items = n;
    return HXQ_OK;
}

static int get_gate(rc_parse *p, const cJSON *root, hxq_eval_receipt *r)
{
    int rc = HXQ_OK;
    const cJSON *g = rc_need(p, root, "gate", cJSON_Object, &rc);
    if (!g)
        return rc;
    char metric[16], result[8];
    HXQ_TRY(rc_get_fixed(p, g, "metric", metric, sizeof(metric), 0));
    if (strcmp(metric, "acc_norm"))
        return rc_bad(p, "gate.metric is not acc_norm");
    HXQ_TRY(rc_get_real(p, g, "tolerance", NAN, &r->gate_tolerance));
    HXQ_TRY(rc_get_real(p, g, "threshold", NAN, &r->gate_threshold));
    HXQ_TRY(rc_get_fixed(p, g, "result", result, sizeof(result), 0));
    if (strcmp(result, "PASS") && strcmp(result, "FAIL"))
        return rc_bad(p, "gate.result is neither PASS nor FAIL");
    r->gate_pass = !strcmp(result, "PASS");
    return HXQ_OK;
}

static int get_timings(const cJSON *root, hxq_eval_receipt *r)
{
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(root, "timings"), *x;
    if (!cJSON_IsObject(tm))
        return HXQ_OK;
    /* informational: what is missing or not finite stays 0 */
    r->has_timings = 1;
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(tm, "threads")))
        r->threads = x->valueint;
    double *dst[] = {&r->model_s, &r->reference_s, &r->total_s};
    const char *keys[] = {"model_s", "reference_s", "total_s"};
    for (int i = 0; i < 3; i++)
        if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(tm, keys[i])) &&
            isfinite(x->valuedouble))
            *dst[i] = x->valuedouble;
    return HXQ_OK;
}

static int parse_root(rc_parse *p, const cJSON *root, hxq_eval_receipt *r)
{
    int rc = HXQ_OK;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, EVAL_FORMAT))
        return rc_bad(p, "not an hxq eval receipt (key 'format')");
    int64_t ver;
    HXQ_TRY(rc_get_int(p, root, "format_version", &ver));
    if (ver != 1)
        return hxq_err(p->err, HXQ_ERR_UNSUPPORTED, "%s: format_version %lld is not supported",
                       p->label, (long long)ver);
    r->format_version = 1;
    const cJSON *tool = rc_need(p, root, "tool", cJSON_Object, &rc), *data;
    if (!tool)
        return rc;
    HXQ_TRY(rc_get_fixed(p, tool, "version", r->tool_version, sizeof(r->tool_version), 0));
    HXQ_TRY(rc_get_fixed(p, root, "task", r->task, sizeof(r->task), 0));
    if (!(data = rc_need(p, root, "data", cJSON_Object, &rc)))
        return rc;
    int64_t size;
    HXQ_TRY(rc_get_str(p, data, "path", &r->data_path));
    HXQ_TRY(rc_get_int(p, data, "size", &size));
    r->data_size = (uint64_t)size;
    HXQ_TRY(rc_get_fixed(p, data, "sha256", r->data_sha256, HXQ_SHA256_HEX, 64));
    HXQ_TRY(rc_get_int(p, data, "limit", &r->limit));
    HXQ_TRY(get_model(p, root, "model", 0, &r->model));
    HXQ_TRY(get_model(p, root, "reference", 1, &r->reference));
    const cJSON *d = rc_need(p, root, "delta", cJSON_Object, &rc);
    if (!d)
        return rc;
    HXQ_TRY(get_figures(p, d, &r->delta));
    HXQ_TRY(get_gate(p, root, r));
    HXQ_TRY(get_items(p, root, r));
    return get_timings(root, r);
}

int hxq_receipt_eval_parse(const char *json, size_t len, const char *label,
                           hxq_eval_receipt *out, hxq_error *err)
{
    rc_parse p = {label, err};
    hxq_eval_receipt r;
    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    cJSON *root = cJSON_ParseWithLength(json, len);
    int rc = cJSON_IsObject(root) ? parse_root(&p, root, &r)
                                  : hxq_err(err, HXQ_ERR_FORMAT, "%s: not a JSON object", label);
    cJSON_Delete(root);
    if (rc < 0) {
        hxq_receipt_eval_free(&r);
        return rc;
    }
    *out = r;
    return HXQ_OK;
}

void hxq_receipt_eval_free(hxq_eval_receipt *r)
{
    if (!r)
        return;
    free(r->data_path);
    free(r->model.dir);
    free(r->reference.dir);
    free(r->first);
    free(r->gold);
    free(r->len);
    free(r->ll);
    free(r->ref_ll);
    memset(r, 0, sizeof(*r));
}
