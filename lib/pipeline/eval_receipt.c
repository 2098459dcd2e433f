/* eval_receipt.c - eval_receipt.json from two models' multiple-choice
 * scores: figures, paired delta and gate, the items they follow from,
 * and the hashes that tie them to the data and both folders. */
#include "hxq_verify.h"
#include "pipeline_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(HXQ_RC_MAX_CHOICES == HXQ_MC_MAX_CHOICES, "one choice limit for both modules");

static void copy_figures(const hxq_mc_figures *f, hxq_rc_mc_figures *out)
{
    out->n = f->n;
    out->acc = f->acc;
    out->acc_stderr = f->acc_stderr;
    out->acc_norm = f->acc_norm;
    out->acc_norm_stderr = f->acc_norm_stderr;
}

int hxq_eval_receipt_figures(const hxq_mc_scores *model, const hxq_mc_scores *ref, double gate,
                             hxq_eval_receipt *r, hxq_error *err)
{
    hxq_mc_figures m, f, d;
    HXQ_TRY(hxq_mc_delta_of(model, ref, &d, err));
    hxq_mc_figures_of(model, &m);
    hxq_mc_figures_of(ref, &f);
    copy_figures(&m, &r->model.fig);
    copy_figures(&f, &r->reference.fig);
    copy_figures(&d, &r->delta);
    double two_se = isnan(d.acc_norm_stderr) ? 0 : 2 * d.acc_norm_stderr;
    r->gate_tolerance = gate;
    r->gate_threshold = two_se > gate ? two_se : gate;
    r->gate_pass = fabs(d.acc_norm) <= r->gate_threshold;
    return HXQ_OK;
}

/* Folder hash and compression receipt hash of one model. */
static int hash_model(const char *dir, hxq_rc_mc_model *m, hxq_error *err)
{
    HXQ_TRY(hxq_folder_sha256(dir, m->folder_sha256, err));
    char *path = hxq_path_join(dir, "compression_receipt.json");
    if (!path)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int rc = HXQ_OK;
    if ((m->has_compression_receipt = hxq_path_exists(path)))
        rc = hxq_sha256_file(path, m->compression_receipt_sha256, NULL, err);
    free(path);
    return rc;
}

static int copy_items(const hxq_mc_scores *model, const hxq_mc_scores *ref, hxq_eval_receipt *r,
                      hxq_error *err)
{
    int64_t n = model->n, total = model->first[n];
    r->n_items = n;
    r->first = hxq_alloc_array(n + 1, sizeof(int64_t));
    r->gold = hxq_alloc_array(n, sizeof(int32_t));
    r->len = hxq_alloc_array(total, sizeof(int64_t));
    r->ll = hxq_alloc_array(total, sizeof(double));
    r->ref_ll = hxq_alloc_array(total, sizeof(double));
    if (!r->first || !r->gold || !r->len || !r->ll || !r->ref_ll)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    memcpy(r->first, model->first, (size_t)(n + 1) * sizeof(int64_t));
    memcpy(r->gold, model->gold, (size_t)n * sizeof(int32_t));
    memcpy(r->len, model->len, (size_t)total * sizeof(int64_t));
    memcpy(r->ll, model->ll, (size_t)total * sizeof(double));
    memcpy(r->ref_ll, ref->ll, (size_t)total * sizeof(double));
    return HXQ_OK;
}

static int make(const hxq_eval_receipt_opts *o, const hxq_mc_scores *model,
                const hxq_mc_scores *ref, hxq_eval_receipt *r, hxq_error *err)
{
    if (!(o->gate >= 0))
        return hxq_err(err, HXQ_ERR_INVALID, "eval receipt: gate %g is not >= 0", o->gate);
    r->format_version = 1;
    snprintf(r->tool_version, sizeof(r->tool_version), "%s", HXQ_VERSION);
    snprintf(r->task, sizeof(r->task), "%s", hxq_mc_task_name(o->task));
    r->limit = o->limit > 0 ? o->limit : 0;
    if (!(r->data_path = hxq_strdup(o->data)) || !(r->reference.dir = hxq_strdup(o->reference_dir)))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    HXQ_TRY(hxq_eval_receipt_figures(model, ref, o->gate, r, err));
    HXQ_TRY(copy_items(model, ref, r, err));
    HXQ_TRY(hxq_sha256_file(o->data, r->data_sha256, &r->data_size, err));
    HXQ_TRY(hash_model(o->model_dir, &r->model, err));
    HXQ_TRY(hash_model(o->reference_dir, &r->reference, err));
    r->model.bos = model->bos;
    r->reference.bos = ref->bos;
    r->has_timings = 1;
    r->threads = o->threads;
    r->model_s = o->model_s;
    r->reference_s = o->reference_s;
    r->total_s = o->total_s;
    return HXQ_OK;
}

int hxq_eval_receipt_make(const hxq_eval_receipt_opts *o, const hxq_mc_scores *model,
                          const hxq_mc_scores *ref, hxq_eval_receipt *out, hxq_error *err)
{
    hxq_eval_receipt r;
    memset(&r, 0, sizeof(r));
    int rc = make(o, model, ref, &r, err);
    if (rc < 0) {
        hxq_receipt_eval_free(&r);
        return rc;
    }
    *out = r;
    return HXQ_OK;
}

int hxq_eval_receipt_write(const char *dir, const hxq_eval_receipt *r, hxq_error *err)
{
    char *text = NULL, *path = hxq_path_join(dir, HXQ_EVAL_RECEIPT);
    int rc = path ? hxq_receipt_eval_json(r, &text, err)
                  : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (rc == HXQ_OK)
        rc = hxq_receipt_seal_append(&text, err);
    if (rc == HXQ_OK)
        rc = hxq_write_file_atomic(path, text, strlen(text), err);
    free(text);
    free(path);
    return rc;
}
