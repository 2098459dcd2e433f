/* cmd_eval_mc.c - hxq eval --task: multiple-choice accuracy as
 * lm-evaluation-harness 0.4 scores it, paired against a reference model,
 * optionally written as eval_receipt.json. */
#include "hxq_cmd.h"
#include "hxq_infer.h"
#include "hxq_pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cmd_eval_mc_usage[] =
    "usage: hxq eval MODEL --task hellaswag|arc|mc --data FILE.jsonl [--limit N]\n"
    "                [--reference MODEL] [--receipt] [--gate X] [--threads N] [--json]\n\n"
    "Multiple-choice accuracy exactly as lm-evaluation-harness 0.4 scores it (zero-shot,\n"
    "docs/EVAL.md). FILE holds one row per line as published: HellaSwag rows of the\n"
    "Hugging Face dataset (activity_label, ctx_a, ctx_b, endings, label), ARC rows\n"
    "(question, choices {text, label}, answerKey), or generic {context, choices, gold}.\n"
    "Each choice's log-likelihood is summed over its tokens after the shared context;\n"
    "acc takes the largest, acc_norm the largest per character of the choice.\n\n"
    "  --limit N         the first N rows only\n"
    "  --reference R     also score R on the same rows: the paired difference\n"
    "                    MODEL - R with its standard error, and the gate\n"
    "                    |delta acc_norm| <= max(2 stderr, --gate X) (default 0.01);\n"
    "                    exit status 1 when it fails\n"
    "  --receipt         write MODEL/eval_receipt.json (needs --reference), which\n"
    "                    'hxq verify MODEL' checks\n"
    "  --threads N       CPU threads (default: all)\n"
    "  --json            print task, n, acc, acc_stderr, acc_norm, acc_norm_stderr,\n"
    "                    items [{loglikelihoods, pred, pred_norm, gold}], and with\n"
    "                    --reference: reference {the same keys}, delta, gate\n"
    "Progress (documents/s, ETA) is drawn on stderr when it is a terminal.\n";

typedef struct mc_opts {
    const char *model, *data, *reference;
    hxq_mc_task task;
    int has_task, json, receipt;
    long long limit, threads;
    double gate;
} mc_opts;

static int parse_args(int argc, char **argv, mc_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->gate = 0.01;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json") || !strcmp(a, "--receipt")) {
            *(a[2] == 'j' ? &o->json : &o->receipt) = 1;
            continue;
        }
        if (a[0] != '-') {
            if (o->model)
                return cmd_usage_error("eval", "unexpected argument '%s'", a);
            o->model = a;
            continue;
        }
        if (!v)
            return cmd_usage_error("eval", "%s needs a value", a);
        i++;
        char *end;
        if (!strcmp(a, "--task")) {
            if (hxq_mc_task_parse(v, &o->task) < 0)
                return cmd_usage_error("eval", "--task takes hellaswag, arc or mc");
            o->has_task = 1;
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--reference")) {
            o->reference = v;
        } else if (!strcmp(a, "--limit")) {
            if ((o->limit = cmd_parse_count(v)) < 1)
                return cmd_usage_error("eval", "--limit needs a positive count");
        } else if (!strcmp(a, "--threads")) {
            if ((o->threads = cmd_parse_count(v)) < 1 || o->threads > 1024)
                return cmd_usage_error("eval", "--threads takes 1..1024");
        } else if (!strcmp(a, "--gate")) {
            o->gate = strtod(v, &end);
            if (*end || !(o->gate >= 0 && o->gate <= 1))
                return cmd_usage_error("eval", "--gate takes a number in [0, 1]");
        } else {
            return cmd_usage_error("eval", "unknown option '%s'", a);
        }
    }
    if (!o->model || !o->has_task || !o->data)
        return cmd_usage_error("eval", "expected MODEL, --task and --data FILE");
    if (o->receipt && !o->reference)
        return cmd_usage_error("eval", "--receipt needs --reference MODEL");
    return HXQ_EXIT_OK;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct progress {
    const char *what;
    double t0, last;
} progress;

static void draw_progress(void *ctx, int64_t done, int64_t total)
{
    progress *p = ctx;
    double t = now_s() - p->t0;
    if (done < total && t - p->last < 0.2)
        return;
    p->last = t;
    double rate = t > 0 ? (double)done / t : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r\033[K%s: %lld/%lld documents  %.2f/s  ETA %d:%02d", p->what,
            (long long)done, (long long)total, rate, (int)(eta / 60), (int)fmod(eta, 60));
    if (done == total)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* Scores set on dir; *seconds receives the wall time. */
static int score(const char *dir, const char *what, const hxq_mc_set *set, const mc_opts *o,
                 hxq_mc_scores *out, double *seconds, hxq_error *err)
{
    progress p = {what, now_s(), -1};
    hxq_mc_opts mo = {HXQ_DEVICE_CPU, (int)o->threads, NULL, NULL};
    if (isatty(STDERR_FILENO)) {
        mo.progress = draw_progress;
        mo.progress_ctx = &p;
    }
    int rc = hxq_mc_eval(dir, set, &mo, out, err);
    *seconds = now_s() - p.t0;
    return rc;
}

/* A JSON number; NaN (an undefined standard error) as null. */
static void json_num(const char *key, double v, const char *sep)
{
    if (isnan(v))
        printf("\"%s\": null%s", key, sep);
    else
        printf("\"%s\": %.17g%s", key, v, sep);
}

static void json_figures(const hxq_mc_figures *f)
{
    printf("\"n\": %lld, ", (long long)f->n);
    json_num("acc", f->acc, ", ");
    json_num("acc_stderr", f->acc_stderr, ", ");
    json_num("acc_norm", f->acc_norm, ", ");
    json_num("acc_norm_stderr", f->acc_norm_stderr, "");
}

static void json_model(const mc_opts *o, const hxq_mc_scores *s)
{
    hxq_mc_figures f;
    hxq_mc_figures_of(s, &f);
    printf("\"task\": \"%s\", ", hxq_mc_task_name(o->task));
    json_figures(&f);
    printf(", \"items\": [");
    for (int64_t i = 0; i < s->n; i++) {
        int pred, pred_norm;
        hxq_mc_pred(s, i, &pred, &pred_norm);
        printf("%s{\"loglikelihoods\": [", i ? ", " : "");
        for (int64_t c = s->first[i]; c < s->first[i + 1]; c++)
            printf("%s%.17g", c > s->first[i] ? ", " : "", s->ll[c]);
        printf("], \"pred\": %d, \"pred_norm\": %d, \"gold\": %d}", pred, pred_norm, s->gold[i]);
    }
    printf("]");
}

static void print_json(const mc_opts *o, const hxq_mc_scores *m, const hxq_mc_scores *r,
                       const hxq_eval_receipt *fig)
{
    printf("{");
    json_model(o, m);
    if (r) {
        printf(", \"reference\": {");
        json_model(o, r);
        const hxq_rc_mc_figures *d = &fig->delta;
        printf("}, \"delta\": {");
        json_num("acc", d->acc, ", ");
        json_num("acc_stderr", d->acc_stderr, ", ");
        json_num("acc_norm", d->acc_norm, ", ");
        json_num("acc_norm_stderr", d->acc_norm_stderr, "");
        printf("}, \"gate\": {");
        json_num("tolerance", fig->gate_tolerance, ", ");
        json_num("threshold", fig->gate_threshold, ", ");
        printf("\"result\": \"%s\"}", fig->gate_pass ? "PASS" : "FAIL");
    }
    printf("}\n");
}

static void text_line(const char *what, const hxq_rc_mc_figures *f, const char *sign,
                      const char *dir)
{
    printf("%-10s acc %s%.4f +/- %.4f  acc_norm %s%.4f +/- %.4f  (%s)\n", what, sign, f->acc,
           f->acc_stderr, sign, f->acc_norm, f->acc_norm_stderr, dir);
}

static void print_text(const mc_opts *o, const hxq_mc_scores *m, const hxq_eval_receipt *fig)
{
    printf("%s: %lld documents of %s\n", hxq_mc_task_name(o->task), (long long)m->n, o->data);
    if (!o->reference) {
        hxq_mc_figures f;
        hxq_mc_figures_of(m, &f);
        printf("acc %.4f +/- %.4f  acc_norm %.4f +/- %.4f\n", f.acc, f.acc_stderr, f.acc_norm,
               f.acc_norm_stderr);
        return;
    }
    text_line("model", &fig->model.fig, "", o->model);
    text_line("reference", &fig->reference.fig, "", o->reference);
    text_line("delta", &fig->delta, "+", "paired");
    printf("gate: |delta acc_norm| %.4f <= max(2 x %.4f, %.4f) = %.4f: %s\n",
           fabs(fig->delta.acc_norm), fig->delta.acc_norm_stderr, fig->gate_tolerance,
           fig->gate_threshold, fig->gate_pass ? "PASS" : "FAIL");
}

/* The figures (and with --receipt the whole receipt, written). */
static int paired(const mc_opts *o, const hxq_mc_scores *m, const hxq_mc_scores *r,
                  double model_s, double ref_s, double total_s, hxq_eval_receipt *out,
                  hxq_error *err)
{
    if (!o->receipt)
        return hxq_eval_receipt_figures(m, r, o->gate, out, err);
    int threads = o->threads ? (int)o->threads : hxq_cpu_count();
    hxq_eval_receipt_opts ro = {o->task, o->data, o->limit, o->model, o->reference, o->gate,
                                threads, model_s, ref_s, total_s};
    HXQ_TRY(hxq_eval_receipt_make(&ro, m, r, out, err));
    return hxq_eval_receipt_write(o->model, out, err);
}

int cmd_eval_mc(int argc, char **argv)
{
    mc_opts o;
    int urc = parse_args(argc, argv, &o);
    if (urc != HXQ_EXIT_OK)
        return urc;
    double t0 = now_s(), model_s = 0, ref_s = 0;
    hxq_error err = {0};
    hxq_mc_set set = {0};
    hxq_mc_scores m = {0}, r = {0};
    hxq_eval_receipt fig;
    memset(&fig, 0, sizeof(fig));
    int rc = hxq_mc_load(o.task, o.data, o.limit, &set, &err);
    if (rc == HXQ_OK)
        rc = score(o.model, "model", &set, &o, &m, &model_s, &err);
    if (rc == HXQ_OK && o.reference)
        rc = score(o.reference, "reference", &set, &o, &r, &ref_s, &err);
    if (rc == HXQ_OK && o.reference)
        rc = paired(&o, &m, &r, model_s, ref_s, now_s() - t0, &fig, &err);
    if (rc == HXQ_OK && o.json)
        print_json(&o, &m, o.reference ? &r : NULL, &fig);
    else if (rc == HXQ_OK)
        print_text(&o, &m, &fig);
    if (rc == HXQ_OK && o.receipt && !o.json)
        printf("receipt: %s/%s\n", o.model, HXQ_EVAL_RECEIPT);
    int gate_failed = rc == HXQ_OK && o.reference && !fig.gate_pass;
    hxq_receipt_eval_free(&fig);
    hxq_mc_scores_free(&m);
    hxq_mc_scores_free(&r);
    hxq_mc_set_free(&set);
    if (rc < 0)
        return cmd_fail("eval", rc, &err);
    return gate_failed ? HXQ_EXIT_VERIFY : HXQ_EXIT_OK;
}
