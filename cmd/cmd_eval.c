/* cmd_eval.c - hxq eval: perplexity of a model over a text, and its
 * divergence from a reference model over the same positions. With --task
 * the multiple-choice evaluation of cmd_eval_mc.c runs instead. */
#include "hxq_cmd.h"
#include "hxq_infer.h"
#include "hxq_io.h"
#include "hxq_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX_BYTES ((size_t)1 << 30)

static const char usage[] =
    "usage: hxq eval MODEL --text FILE [--ctx N] [--windows N] [--reference MODEL]\n"
    "                [--threads N] [--json]\n\n"
    "Tokenizes FILE whole with MODEL's tokenizer (its special tokens around the text,\n"
    "as Hugging Face's tokenizer(text) does) and cuts it into windows of --ctx\n"
    "tokens (default 256); window j feeds tokens [ctx j, ctx j + ctx) from an empty\n"
    "cache and scores the next token at each position. Prints the mean negative\n"
    "log-likelihood (nats) and perplexity over the first --windows windows (default:\n"
    "all that fit). With --reference, also the mean KL(reference || model) in nats,\n"
    "top-1 agreement and the perplexity ratio over the same positions.\n\n";

typedef struct eval_opts {
    const char *model, *text, *reference;
    long long ctx, windows, threads;
    int json;
} eval_opts;

static int parse_args(int argc, char **argv, eval_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->ctx = 256;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            o->json = 1;
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
        if (!strcmp(a, "--text"))
            o->text = v;
        else if (!strcmp(a, "--reference"))
            o->reference = v;
        else if (!strcmp(a, "--ctx")) {
            if ((o->ctx = cmd_parse_count(v)) < 1)
                return cmd_usage_error("eval", "--ctx needs a positive count");
        } else if (!strcmp(a, "--windows")) {
            if ((o->windows = cmd_parse_count(v)) < 1)
                return cmd_usage_error("eval", "--windows needs a positive count");
        } else if (!strcmp(a, "--threads")) {
            if ((o->threads = cmd_parse_count(v)) < 1)
                return cmd_usage_error("eval", "--threads needs a positive count");
        } else
            return cmd_usage_error("eval", "unknown option '%s'", a);
    }
    if (!o->model || !o->text)
        return cmd_usage_error("eval", "expected MODEL and --text FILE");
    return HXQ_EXIT_OK;
}

typedef struct loaded {
    hxq_model m;
    hxq_engine *e;
} loaded;

static int load(const char *dir, const eval_opts *o, loaded *l, hxq_error *err)
{
    HXQ_TRY(hxq_model_load(dir, &l->m, err));
    hxq_engine_opts eo = hxq_engine_opts_default();
    eo.threads = (int)o->threads;
    eo.max_ctx = o->ctx;
    eo.max_batch = o->ctx;
    return hxq_engine_create(&l->m, &eo, &l->e, err);
}

static void print_result(const eval_opts *o, const hxq_eval_result *r)
{
    if (o->json) {
        printf("{\"windows\": %lld, \"ctx\": %lld, \"positions\": %lld, \"nll\": %.9g, "
               "\"ppl\": %.9g",
               (long long)r->windows, o->ctx, (long long)r->positions, r->nll, r->ppl);
        if (r->has_reference)
            printf(", \"ref_nll\": %.9g, \"ref_ppl\": %.9g, \"kl\": %.9g, \"top1_agree\": "
                   "%.9g, \"ppl_ratio\": %.9g",
                   r->ref_nll, r->ref_ppl, r->kl, r->top1_agree, r->ppl_ratio);
        printf("}\n");
        return;
    }
    printf("%lld windows x %lld tokens = %lld positions\n", (long long)r->windows, o->ctx,
           (long long)r->positions);
    printf("nll %.6f  ppl %.4f\n", r->nll, r->ppl);
    if (r->has_reference)
        printf("reference nll %.6f  ppl %.4f\nkl %.6g nats  top-1 agreement %.2f%%  "
               "ppl ratio %.6f\n",
               r->ref_nll, r->ref_ppl, r->kl, 100.0 * r->top1_agree, r->ppl_ratio);
}

/* 1 when argv asks for the multiple-choice evaluation. */
static int wants_task(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--task"))
            return 1;
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        fputs(cmd_eval_mc_usage, stdout);
        return HXQ_EXIT_OK;
    }
    if (wants_task(argc, argv))
        return cmd_eval_mc(argc, argv);
    eval_opts o;
    int urc = parse_args(argc, argv, &o);
    if (urc != HXQ_EXIT_OK)
        return urc;
    hxq_error err = {0};
    loaded m, r;
    memset(&m, 0, sizeof(m));
    memset(&r, 0, sizeof(r));
    hxq_tokenizer *tok = NULL;
    char *text = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    int64_t n = 0;
    hxq_eval_result res;
    int rc = hxq_read_file(o.text, TEXT_MAX_BYTES, &text, &len, &err);
    if (rc == HXQ_OK)
        rc = hxq_tokenizer_load(o.model, &tok, &err);
    if (rc == HXQ_OK)
        rc = hxq_tokenizer_encode_special(tok, text, len, &ids, &n, &err);
    if (rc == HXQ_OK)
        rc = load(o.model, &o, &m, &err);
    if (rc == HXQ_OK && o.reference)
        rc = load(o.reference, &o, &r, &err);
    if (rc == HXQ_OK)
        rc = hxq_eval_ids(m.e, o.reference ? r.e : NULL, ids, n, o.ctx, o.windows, &res, &err);
    if (rc == HXQ_OK)
        print_result(&o, &res);
    free(ids);
    free(text);
    hxq_tokenizer_free(tok);
    hxq_engine_free(m.e);
    hxq_model_free(&m.m);
    hxq_engine_free(r.e);
    hxq_model_free(&r.m);
    return rc < 0 ? cmd_fail("eval", rc, &err) : HXQ_EXIT_OK;
}
