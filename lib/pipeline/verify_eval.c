/* verify_eval.c - eval_receipt.json: its seal, its figures against the
 * items they follow from, the gate, the folder it belongs to and, on
 * request, the data file, the reference folder and a re-run of both
 * models. Check names and rules: docs/VERIFY.md. */
#include "verify_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Re-run log-likelihoods may differ this much (nats) from the recorded
 * ones: another machine's kernels round differently. */
#define EVAL_LL_TOL 1e-3

#define EVAL_FILE HXQ_EVAL_RECEIPT

/* v in the fewest digits (up to 17) that read back as v, "null" for NaN. */
static const char *show(double v, char buf[32])
{
    if (isnan(v))
        return "null";
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, 32, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* Equal doubles, NaN (an undefined stderr) equal to NaN. */
static int same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static int compare_figures(const char *what, const hxq_rc_mc_figures *rec,
                           const hxq_rc_mc_figures *got, const char *check, const char *source,
                           hxq_verify_report *rep)
{
    static const char *const names[] = {"acc", "acc_stderr", "acc_norm", "acc_norm_stderr"};
    const double r[4] = {rec->acc, rec->acc_stderr, rec->acc_norm, rec->acc_norm_stderr};
    const double g[4] = {got->acc, got->acc_stderr, got->acc_norm, got->acc_norm_stderr};
    if (rec->n != got->n)
        VERIFY_TRY(hxq_verify_fail(rep, EVAL_FILE, "", check, "%s.n %lld recorded, %s %lld", what,
                                   (long long)rec->n, source, (long long)got->n));
    char a[32], b[32];
    for (int i = 0; i < 4; i++)
        if (!same(r[i], g[i]))
            VERIFY_TRY(hxq_verify_fail(rep, EVAL_FILE, "", check, "%s.%s %s recorded, %s %s",
                                       what, names[i], show(r[i], a), source, show(g[i], b)));
    return HXQ_OK;
}

/* Every figure and the gate of rec against got (computed from scores). */
static int compare_all(const hxq_eval_receipt *rec, const hxq_eval_receipt *got,
                       const char *check, const char *source, hxq_verify_report *rep)
{
    VERIFY_TRY(compare_figures("model", &rec->model.fig, &got->model.fig, check, source, rep));
    VERIFY_TRY(compare_figures("reference", &rec->reference.fig, &got->reference.fig, check,
                               source, rep));
    VERIFY_TRY(compare_figures("delta", &rec->delta, &got->delta, check, source, rep));
    char a[32], b[32];
    if (!same(rec->gate_threshold, got->gate_threshold) || rec->gate_pass != got->gate_pass)
        VERIFY_TRY(hxq_verify_fail(rep, EVAL_FILE, "", check,
                                   "gate threshold %s %s recorded, %s %s %s",
                                   show(rec->gate_threshold, a), rec->gate_pass ? "PASS" : "FAIL",
                                   source, show(got->gate_threshold, b),
                                   got->gate_pass ? "PASS" : "FAIL"));
    return HXQ_OK;
}

/* The scores the receipt's items hold, as views into r. */
static void views(const hxq_eval_receipt *r, hxq_mc_scores *m, hxq_mc_scores *ref)
{
    hxq_mc_scores a = {r->n_items, r->first, r->gold, r->len, r->ll, r->model.bos};
    hxq_mc_scores b = {r->n_items, r->first, r->gold, r->len, r->ref_ll, r->reference.bos};
    *m = a;
    *ref = b;
}

/* The recorded figures follow from the recorded items; the gate held. */
static int check_figures(const hxq_eval_receipt *r, hxq_verify_report *rep)
{
    if (r->n_items < 1)
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_figures", "no items");
    if (!(r->gate_tolerance >= 0))
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_figures", "gate tolerance %g < 0",
                               r->gate_tolerance);
    hxq_mc_scores m, ref;
    views(r, &m, &ref);
    hxq_eval_receipt got;
    memset(&got, 0, sizeof(got));
    VERIFY_TRY(hxq_eval_receipt_figures(&m, &ref, r->gate_tolerance, &got, NULL));
    VERIFY_TRY(compare_all(r, &got, "eval_figures", "the items give", rep));
    if (!r->gate_pass)
        VERIFY_TRY(hxq_verify_fail(rep, EVAL_FILE, "", "eval_gate",
                                   "|delta acc_norm| %.6g exceeds max(2 x %.6g, %.6g) = %.6g",
                                   fabs(r->delta.acc_norm), r->delta.acc_norm_stderr,
                                   r->gate_tolerance, r->gate_threshold));
    return HXQ_OK;
}

/* A folder's hashes against the recorded ones. */
static int check_folder(const char *dir, const hxq_rc_mc_model *m, const char *check,
                        hxq_verify_report *rep)
{
    char hex[HXQ_SHA256_HEX];
    hxq_error e = {0};
    int rc = hxq_folder_sha256(dir, hex, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, EVAL_FILE, "", check, "%s", e.msg);
    rep->files_hashed++;
    if (strcmp(hex, m->folder_sha256))
        VERIFY_TRY(hxq_verify_fail(rep, EVAL_FILE, "", check,
                                   "folder %s hashes to %s, the receipt records %s", dir, hex,
                                   m->folder_sha256));
    char *path = hxq_path_join(dir, VERIFY_COMPRESSION_RECEIPT);
    if (!path)
        return HXQ_ERR_NOMEM;
    int has = hxq_path_exists(path);
    if (has && hxq_sha256_file(path, hex, NULL, &e) < 0)
        has = 0;
    free(path);
    if (has != m->has_compression_receipt || (has && strcmp(hex, m->compression_receipt_sha256)))
        VERIFY_TRY(hxq_verify_fail(rep, EVAL_FILE, "", check,
                                   "%s/" VERIFY_COMPRESSION_RECEIPT " is %s, the receipt "
                                   "records %s",
                                   dir, has ? hex : "absent",
                                   m->has_compression_receipt ? m->compression_receipt_sha256
                                                              : "none"));
    return HXQ_OK;
}

static int check_data(const char *path, const hxq_eval_receipt *r, hxq_verify_report *rep)
{
    char hex[HXQ_SHA256_HEX];
    uint64_t size = 0;
    hxq_error e = {0};
    int rc = hxq_sha256_file(path, hex, &size, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_data", "%s", e.msg);
    rep->files_hashed++;
    if (size != r->data_size || strcmp(hex, r->data_sha256))
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_data",
                               "%s: %llu bytes, sha256 %s; the receipt records %llu bytes, %s",
                               path, (unsigned long long)size, hex,
                               (unsigned long long)r->data_size, r->data_sha256);
    return HXQ_OK;
}

/* Re-run scores against the recorded items: the same documents, every
 * log-likelihood within EVAL_LL_TOL. */
static int compare_items(const hxq_eval_receipt *r, const hxq_mc_scores *s, const double *rec,
                         const char *what, hxq_verify_report *rep)
{
    if (s->n != r->n_items)
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_recompute",
                               "%s: %lld documents recorded, the data give %lld", what,
                               (long long)r->n_items, (long long)s->n);
    int64_t bad = 0, worst_i = 0;
    double worst = 0;
    for (int64_t i = 0; i < s->n; i++) {
        if (s->gold[i] != r->gold[i] || s->first[i + 1] != r->first[i + 1])
            return hxq_verify_fail(rep, EVAL_FILE, "", "eval_recompute",
                                   "%s: document %lld has other choices or gold in the data",
                                   what, (long long)i);
        for (int64_t c = s->first[i]; c < s->first[i + 1]; c++) {
            double d = fabs(s->ll[c] - rec[c]);
            bad += !(d <= EVAL_LL_TOL) || s->len[c] != r->len[c];
            if (!(d <= worst)) {
                worst = d;
                worst_i = i;
            }
        }
    }
    rep->eval_recomputed += s->first[s->n];
    if (bad)
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_recompute",
                               "%s: %lld log-likelihood(s) or length(s) differ from the "
                               "recorded ones (largest difference %.3g nats, document %lld)",
                               what, (long long)bad, worst, (long long)worst_i);
    return HXQ_OK;
}

/* Scores the data again on the model and the reference. */
static int recompute(const char *dir, const char *ref, const char *data,
                     const hxq_eval_receipt *r, int threads, hxq_verify_report *rep,
                     hxq_error *err)
{
    hxq_mc_task task;
    if (hxq_mc_task_parse(r->task, &task) < 0)
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_recompute", "unknown task '%s'",
                               r->task);
    hxq_mc_set set = {0};
    hxq_mc_scores m = {0}, f = {0};
    hxq_error e = {0};
    hxq_mc_opts o = {HXQ_DEVICE_CPU, threads, NULL, NULL};
    int rc = hxq_mc_load(task, data, r->limit, &set, &e);
    if (rc == HXQ_OK && (rc = hxq_mc_eval(dir, &set, &o, &m, &e)) == HXQ_OK)
        rc = hxq_mc_eval(ref, &set, &o, &f, &e);
    if (rc == HXQ_ERR_NOMEM)
        hxq_err(err, rc, "%s", e.msg);
    else if (rc < 0)
        rc = hxq_verify_fail(rep, EVAL_FILE, "", "eval_recompute", "%s", e.msg);
    else if ((rc = compare_items(r, &m, r->ll, "model", rep)) == HXQ_OK &&
             (rc = compare_items(r, &f, r->ref_ll, "reference", rep)) == HXQ_OK) {
        hxq_eval_receipt got;
        memset(&got, 0, sizeof(got));
        if (m.n == r->n_items && f.n == r->n_items &&
            hxq_eval_receipt_figures(&m, &f, r->gate_tolerance, &got, NULL) == HXQ_OK)
            rc = compare_all(r, &got, "eval_recompute", "the re-run gives", rep);
    }
    hxq_mc_set_free(&set);
    hxq_mc_scores_free(&m);
    hxq_mc_scores_free(&f);
    return rc;
}

static int check_receipt(const char *dir, const hxq_verify_opts *o, const hxq_eval_receipt *r,
                         hxq_verify_report *rep, hxq_error *err)
{
    VERIFY_TRY(check_figures(r, rep));
    VERIFY_TRY(check_folder(dir, &r->model, "eval_model", rep));
    const char *data = o->eval_data ? o->eval_data : o->recompute_eval ? r->data_path : NULL;
    const char *ref = o->eval_reference ? o->eval_reference
                      : o->recompute_eval ? r->reference.dir : NULL;
    int64_t before = rep->total_failures;
    if (data)
        VERIFY_TRY(check_data(data, r, rep));
    if (ref)
        VERIFY_TRY(check_folder(ref, &r->reference, "eval_reference", rep));
    /* a re-run means something only on the recorded data and reference */
    if (o->recompute_eval && rep->total_failures == before)
        return recompute(dir, ref, data, r, o->threads, rep, err);
    if (o->recompute_eval)
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_recompute",
                               "not run: the data or the reference is not the recorded one");
    return HXQ_OK;
}

int verify_eval(const char *dir, const hxq_verify_opts *o, hxq_verify_report *rep,
                hxq_error *err)
{
    int asked = o->eval_data || o->eval_reference || o->recompute_eval;
    char *path = hxq_path_join(dir, EVAL_FILE), *text = NULL;
    if (!path)
        return HXQ_ERR_NOMEM;
    int exists = hxq_path_exists(path);
    size_t len = 0;
    hxq_error e = {0};
    int rc = exists ? hxq_read_file(path, VERIFY_RECEIPT_MAX, &text, &len, &e) : HXQ_OK;
    free(path);
    if (!exists)
        return asked ? hxq_verify_fail(rep, EVAL_FILE, "", "eval_receipt", "missing") : HXQ_OK;
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_receipt", "%s", e.msg);
    rep->eval_receipts++;
    rc = verify_check_seal(EVAL_FILE, text, len, 1, rep);
    hxq_eval_receipt r;
    int prc = rc < 0 ? rc : hxq_receipt_eval_parse(text, len, EVAL_FILE, &r, &e);
    free(text);
    if (prc == HXQ_ERR_NOMEM || rc < 0)
        return prc;
    if (prc < 0)
        return hxq_verify_fail(rep, EVAL_FILE, "", "eval_receipt", "%s", e.msg);
    rc = check_receipt(dir, o, &r, rep, err);
    hxq_receipt_eval_free(&r);
    return rc;
}
