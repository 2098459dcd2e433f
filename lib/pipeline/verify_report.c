/* verify_report.c - the list of failed checks and its JSON form. */
#include "hxq_verify.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hxq_verify_report_init(hxq_verify_report *r)
{
    memset(r, 0, sizeof(*r));
}

void hxq_verify_report_free(hxq_verify_report *r)
{
    if (!r)
        return;
    for (int64_t i = 0; i < r->n_failures; i++) {
        free(r->failures[i].file);
        free(r->failures[i].tensor);
        free(r->failures[i].check);
        free(r->failures[i].detail);
    }
    free(r->failures);
    hxq_verify_report_init(r);
}

int hxq_verify_fail(hxq_verify_report *r, const char *file, const char *tensor,
                    const char *check, const char *fmt, ...)
{
    r->total_failures++;
    if (r->n_failures >= HXQ_VERIFY_MAX_FAILURES)
        return HXQ_OK;
    if (r->n_failures == r->cap) {
        int64_t cap = r->cap ? 2 * r->cap : 16;
        hxq_verify_failure *f = realloc(r->failures, (size_t)cap * sizeof(*f));
        if (!f)
            return HXQ_ERR_NOMEM;
        r->failures = f;
        r->cap = cap;
    }
    char detail[HXQ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    hxq_verify_failure f = {
        hxq_strdup(file ? file : ""), hxq_strdup(tensor ? tensor : ""),
        hxq_strdup(check ? check : ""), hxq_strdup(detail),
    };
    if (!f.file || !f.tensor || !f.check || !f.detail) {
        free(f.file);
        free(f.tensor);
        free(f.check);
        free(f.detail);
        return HXQ_ERR_NOMEM;
    }
    r->failures[r->n_failures++] = f;
    return HXQ_OK;
}

int hxq_verify_report_json(const hxq_verify_report *r, const char *dir, char **out,
                           hxq_error *err)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    ok = ok && cJSON_AddStringToObject(root, "verdict", r->total_failures ? "FAIL" : "PASS");
    ok = ok && cJSON_AddStringToObject(root, "dir", dir ? dir : "");
    ok = ok && cJSON_AddStringToObject(root, "receipt", r->receipt);
    ok = ok && cJSON_AddNumberToObject(root, "files_hashed", (double)r->files_hashed);
    ok = ok && cJSON_AddNumberToObject(root, "tensors_checked", (double)r->tensors_checked);
    ok = ok && cJSON_AddNumberToObject(root, "modules_checked", (double)r->modules_checked);
    ok = ok && cJSON_AddNumberToObject(root, "source_tensors", (double)r->source_tensors);
    ok = ok && cJSON_AddNumberToObject(root, "errors_compared", (double)r->errors_compared);
    ok = ok && cJSON_AddNumberToObject(root, "files_recomputed", (double)r->files_recomputed);
    ok = ok && cJSON_AddNumberToObject(root, "eval_receipts", (double)r->eval_receipts);
    ok = ok && cJSON_AddNumberToObject(root, "eval_recomputed", (double)r->eval_recomputed);
    ok = ok && cJSON_AddNumberToObject(root, "failures_total", (double)r->total_failures);
    cJSON *arr = ok ? cJSON_AddArrayToObject(root, "failures") : NULL;
    ok = ok && arr;
    for (int64_t i = 0; ok && i < r->n_failures; i++) {
        const hxq_verify_failure *f = &r->failures[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o);
        ok = ok && cJSON_AddStringToObject(o, "file", f->file);
        ok = ok && cJSON_AddStringToObject(o, "tensor", f->tensor);
        ok = ok && cJSON_AddStringToObject(o, "check", f->check);
        ok = ok && cJSON_AddStringToObject(o, "detail", f->detail);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    *out = text;
    return HXQ_OK;
}
