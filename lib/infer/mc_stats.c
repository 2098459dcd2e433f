/* mc_stats.c - lm-evaluation-harness 0.4's multiple-choice metrics
 * (lm_eval/api/task.py process_results: acc, acc_norm; lm_eval/api/
 * metrics.py: mean, mean_stderr) and the paired difference of two models. */
#include "mc_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* numpy.argmax: the first maximum, except that the first NaN wins. */
static int np_argmax(const double *x, int k)
{
    int b = 0;
    for (int i = 0; i < k; i++) {
        if (isnan(x[i]))
            return i;
        if (x[i] > x[b])
            b = i;
    }
    return b;
}

void hxq_mc_pred(const hxq_mc_scores *s, int64_t i, int *pred, int *pred_norm)
{
    const double *ll = s->ll + s->first[i];
    const int64_t *len = s->len + s->first[i];
    int64_t k = s->first[i + 1] - s->first[i];
    if (k > HXQ_MC_MAX_CHOICES)    /* the readers refuse more */
        k = HXQ_MC_MAX_CHOICES;
    double norm[HXQ_MC_MAX_CHOICES];
    for (int c = 0; c < k; c++)
        norm[c] = ll[c] / (double)len[c];    /* len 0: -inf, or NaN for 0 / 0 */
    *pred = np_argmax(ll, (int)k);
    *pred_norm = np_argmax(norm, (int)k);
}

/* mean and mean_stderr of x[0..n) as lm-eval computes them: sum(arr) /
 * len(arr); sqrt(sum((x - mu) ** 2) / (n - 1)) / sqrt(n), in that order. */
static void mean_stderr(const double *x, int64_t n, double *mean, double *se)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    double mu = s / (double)n, v = 0;
    for (int64_t i = 0; i < n; i++)
        v += (x[i] - mu) * (x[i] - mu);
    *mean = mu;
    *se = n < 2 ? NAN : sqrt(v / (double)(n - 1)) / sqrt((double)n);
}

/* Per-document correctness (0 / 1) of acc into a[n] and acc_norm into b[n]. */
static void correct(const hxq_mc_scores *s, double *a, double *b)
{
    for (int64_t i = 0; i < s->n; i++) {
        int p, pn;
        hxq_mc_pred(s, i, &p, &pn);
        a[i] = p == s->gold[i] ? 1.0 : 0.0;
        b[i] = pn == s->gold[i] ? 1.0 : 0.0;
    }
}

static void figures(const double *a, const double *b, int64_t n, hxq_mc_figures *out)
{
    out->n = n;
    mean_stderr(a, n, &out->acc, &out->acc_stderr);
    mean_stderr(b, n, &out->acc_norm, &out->acc_norm_stderr);
}

void hxq_mc_figures_of(const hxq_mc_scores *s, hxq_mc_figures *out)
{
    memset(out, 0, sizeof(*out));
    double *a = hxq_alloc_array(s->n ? 2 * s->n : 1, sizeof(double));
    if (!a || s->n < 1) {
        free(a);
        out->acc = out->acc_stderr = out->acc_norm = out->acc_norm_stderr = NAN;
        return;
    }
    correct(s, a, a + s->n);
    figures(a, a + s->n, s->n, out);
    free(a);
}

int hxq_mc_delta_of(const hxq_mc_scores *model, const hxq_mc_scores *ref,
                    hxq_mc_figures *out, hxq_error *err)
{
    int64_t n = model->n;
    if (ref->n != n || n < 1)
        return hxq_err(err, HXQ_ERR_INVALID, "paired scores: %lld and %lld documents",
                       (long long)n, (long long)ref->n);
    for (int64_t i = 0; i < n; i++)
        if (model->gold[i] != ref->gold[i] ||
            model->first[i + 1] - model->first[i] != ref->first[i + 1] - ref->first[i])
            return hxq_err(err, HXQ_ERR_INVALID,
                           "paired scores: document %lld differs (gold or choice count)",
                           (long long)i);
    double *m = hxq_alloc_array(4 * n, sizeof(double));
    if (!m)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    double *r = m + 2 * n;
    correct(model, m, m + n);
    correct(ref, r, r + n);
    for (int64_t i = 0; i < 2 * n; i++)
        m[i] -= r[i];
    figures(m, m + n, n, out);
    free(m);
    return HXQ_OK;
}

void hxq_mc_scores_free(hxq_mc_scores *s)
{
    if (!s)
        return;
    free(s->first);
    free(s->gold);
    free(s->len);
    free(s->ll);
    memset(s, 0, sizeof(*s));
}
