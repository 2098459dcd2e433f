/* test_mc.c - multiple-choice evaluation against the goldens of
 * test/reference/make_mc_goldens.py (lm-evaluation-harness 0.4's protocol
 * re-implemented in Python, log-likelihoods from the numpy forward pass):
 * the documents after the text protocol, their token ids, every choice's
 * log-likelihood within 1e-3 nats, pred / pred_norm / acc / acc_norm
 * exactly; plus bad rows, the metrics' edge cases and determinism. */
#include "hxq_infer.h"
#include "hxq_test.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN "test/fixtures/mc/golden.json"
#define LL_TOL 1e-3

static cJSON *golden_set(const char *task)
{
    size_t len;
    char *text = (char *)hxq_test_read_file(GOLDEN, &len);
    ck_assert_ptr_nonnull(text);
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_ptr_nonnull(root);
    cJSON *set = cJSON_DetachItemFromObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "sets"), task);
    cJSON_Delete(root);
    ck_assert_ptr_nonnull(set);
    return set;
}

static const cJSON *item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(v != NULL, "golden has no '%s'", key);
    return v;
}

static hxq_mc_set load_set(hxq_mc_task task, const cJSON *g)
{
    hxq_mc_set s;
    hxq_error err = {0};
    ck_assert_msg(hxq_mc_load(task, item(g, "file")->valuestring, 0, &s, &err) == HXQ_OK, "%s",
                  err.msg);
    return s;
}

static void check_ids(const cJSON *want, const int32_t *got, int64_t n, const char *what,
                      int64_t doc)
{
    ck_assert_msg(cJSON_GetArraySize(want) == n, "document %lld: %s has %lld ids, golden %d",
                  (long long)doc, what, (long long)n, cJSON_GetArraySize(want));
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(cJSON_GetArrayItem(want, (int)i)->valueint == got[i],
                      "document %lld: %s id %lld differs", (long long)doc, what, (long long)i);
}

/* The protocol's strings and ids equal the Python reference's. */
static void check_documents(hxq_mc_task task)
{
    cJSON *g = golden_set(hxq_mc_task_name(task));
    hxq_mc_set s = load_set(task, g);
    const cJSON *docs = item(g, "docs");
    ck_assert_int_eq(s.n, cJSON_GetArraySize(docs));
    hxq_tokenizer *tok;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_load(HXQ_FIXTURE_DENSE, &tok, &err) == HXQ_OK, "%s", err.msg);
    for (int64_t i = 0; i < s.n; i++) {
        const cJSON *d = cJSON_GetArrayItem(docs, (int)i);
        const hxq_mc_doc *doc = &s.docs[i];
        ck_assert_msg(!strcmp(doc->context, item(d, "context")->valuestring),
                      "document %lld: context '%s', golden '%s'", (long long)i, doc->context,
                      item(d, "context")->valuestring);
        ck_assert_int_eq(doc->gold, item(d, "gold")->valueint);
        const cJSON *ch = item(d, "choices");
        ck_assert_int_eq(doc->n_choices, cJSON_GetArraySize(ch));
        for (int c = 0; c < doc->n_choices; c++)
            ck_assert_msg(!strcmp(doc->choices[c], cJSON_GetArrayItem(ch, c)->valuestring),
                          "document %lld choice %d: '%s', golden '%s'", (long long)i, c,
                          doc->choices[c], cJSON_GetArrayItem(ch, c)->valuestring);
        hxq_mc_request r;
        ck_assert_msg(hxq_mc_encode(tok, doc, &r, &err) == HXQ_OK, "%s", err.msg);
        check_ids(item(d, "ctx_ids"), r.ctx, r.n_ctx, "context", i);
        for (int c = 0; c < r.n_choices; c++)
            check_ids(cJSON_GetArrayItem(item(d, "cont_ids"), c), r.cont[c], r.n_cont[c],
                      "continuation", i);
        hxq_mc_request_free(&r);
    }
    hxq_tokenizer_free(tok);
    hxq_mc_set_free(&s);
    cJSON_Delete(g);
}

static double num(const cJSON *o, const char *key)
{
    return item(o, key)->valuedouble;
}

static void check_figures(const hxq_mc_figures *f, const cJSON *g)
{
    ck_assert_int_eq(f->n, (int64_t)num(g, "n"));
    ck_assert_msg(f->acc == num(g, "acc"), "acc %.17g, golden %.17g", f->acc, num(g, "acc"));
    ck_assert_msg(f->acc_norm == num(g, "acc_norm"), "acc_norm %.17g, golden %.17g", f->acc_norm,
                  num(g, "acc_norm"));
    ck_assert_msg(fabs(f->acc_stderr - num(g, "acc_stderr")) < 1e-12, "acc_stderr %.17g",
                  f->acc_stderr);
    ck_assert_msg(fabs(f->acc_norm_stderr - num(g, "acc_norm_stderr")) < 1e-12,
                  "acc_norm_stderr %.17g", f->acc_norm_stderr);
}

/* Scores of one model against the golden: ll within 1e-3, the rest exact. */
static void check_model(const hxq_mc_set *s, const cJSON *g, const char *dir, hxq_mc_scores *out)
{
    const cJSON *gm = item(item(g, "models"), dir);
    hxq_mc_opts o = {HXQ_DEVICE_CPU, 2, NULL, NULL};
    hxq_error err = {0};
    ck_assert_msg(hxq_mc_eval(dir, s, &o, out, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(out->bos, 0);
    const cJSON *items = item(gm, "items");
    double worst = 0;
    for (int64_t i = 0; i < out->n; i++) {
        const cJSON *it = cJSON_GetArrayItem(items, (int)i);
        const cJSON *lls = item(it, "loglikelihoods");
        ck_assert_int_eq(out->first[i + 1] - out->first[i], cJSON_GetArraySize(lls));
        for (int64_t c = out->first[i]; c < out->first[i + 1]; c++) {
            const cJSON *want = cJSON_GetArrayItem(lls, (int)(c - out->first[i]));
            double d = fabs(out->ll[c] - want->valuedouble);
            worst = d > worst ? d : worst;
        }
        int pred, pred_norm;
        hxq_mc_pred(out, i, &pred, &pred_norm);
        ck_assert_int_eq(pred, item(it, "pred")->valueint);
        ck_assert_int_eq(pred_norm, item(it, "pred_norm")->valueint);
        ck_assert_int_eq(out->gold[i], item(it, "gold")->valueint);
    }
    ck_assert_msg(worst < LL_TOL, "%s: max |ll - golden| = %.3g nats", dir, worst);
    hxq_mc_figures f;
    hxq_mc_figures_of(out, &f);
    check_figures(&f, gm);
}

static void check_task(hxq_mc_task task)
{
    cJSON *g = golden_set(hxq_mc_task_name(task));
    hxq_mc_set s = load_set(task, g);
    hxq_mc_scores dense, helix;
    check_model(&s, g, HXQ_FIXTURE_DENSE, &dense);
    check_model(&s, g, HXQ_FIXTURE_HELIX, &helix);
    hxq_mc_figures d;
    hxq_error err = {0};
    ck_assert_msg(hxq_mc_delta_of(&helix, &dense, &d, &err) == HXQ_OK, "%s", err.msg);
    check_figures(&d, item(g, "delta"));
    hxq_mc_scores_free(&dense);
    hxq_mc_scores_free(&helix);
    hxq_mc_set_free(&s);
    cJSON_Delete(g);
}

START_TEST(hellaswag_documents) { check_documents(HXQ_MC_HELLASWAG); }
END_TEST
START_TEST(arc_documents) { check_documents(HXQ_MC_ARC); }
END_TEST
START_TEST(generic_documents) { check_documents(HXQ_MC_GENERIC); }
END_TEST
START_TEST(hellaswag_scores) { check_task(HXQ_MC_HELLASWAG); }
END_TEST
START_TEST(arc_scores) { check_task(HXQ_MC_ARC); }
END_TEST
START_TEST(generic_scores) { check_task(HXQ_MC_GENERIC); }
END_TEST

/* One row of text parsed alone; returns the status and the message. */
static int parse_one(hxq_mc_task task, const char *text, hxq_mc_set *s, hxq_error *err)
{
    memset(err, 0, sizeof(*err));
    return hxq_mc_parse(task, text, strlen(text), "rows.jsonl", 0, s, err);
}

static void expect_bad(hxq_mc_task task, const char *text, const char *msg)
{
    hxq_mc_set s;
    memset(&s, 0x5a, sizeof(s));
    hxq_mc_set before = s;
    hxq_error err;
    ck_assert_int_eq(parse_one(task, text, &s, &err), HXQ_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, msg) != NULL, "'%s' lacks '%s'", err.msg, msg);
    ck_assert(memcmp(&s, &before, sizeof(s)) == 0);
}

#define HS_OK "{\"activity_label\": \"A\", \"ctx_a\": \"x\", \"ctx_b\": \"y\", " \
              "\"endings\": [\"e0\", \"e1\"], \"label\": \"1\"}\n"

START_TEST(bad_rows_name_their_line)
{
    /* the line number counts blank lines too */
    expect_bad(HXQ_MC_HELLASWAG, HS_OK "\n{\"activity_label\": 1}\n",
               "rows.jsonl:3: hellaswag row: 'activity_label' is of another type");
    expect_bad(HXQ_MC_HELLASWAG, HS_OK "not json\n", "rows.jsonl:2: hellaswag row: not a JSON");
    expect_bad(HXQ_MC_HELLASWAG,
               "{\"activity_label\": \"A\", \"ctx_a\": \"x\", \"ctx_b\": \"y\", \"label\": \"0\"}",
               "rows.jsonl:1: hellaswag row: 'endings' must be an array of 1 to 64 strings");
    expect_bad(HXQ_MC_HELLASWAG,
               "{\"activity_label\": \"A\", \"ctx_a\": \"x\", \"ctx_b\": \"y\", "
               "\"endings\": [\"a\", 3], \"label\": \"0\"}",
               "'endings'[1] is not a string");
    expect_bad(HXQ_MC_HELLASWAG,
               "{\"activity_label\": \"A\", \"ctx_a\": \"x\", \"ctx_b\": \"y\", "
               "\"endings\": [\"a\"], \"label\": \"one\"}",
               "'label' is of another type, not a string of digits");
    expect_bad(HXQ_MC_HELLASWAG,
               "{\"activity_label\": \"A\", \"ctx_a\": \"x\", \"ctx_b\": \"y\", "
               "\"endings\": [\"a\", \"b\"], \"label\": \"2\"}",
               "'label' 2 is not a choice index in [0, 2)");
    expect_bad(HXQ_MC_HELLASWAG,
               "{\"activity_label\": \"A\", \"ctx_a\": \"x\\u00ff\", \"ctx_b\": \"\xff\", "
               "\"endings\": [\"a\"], \"label\": \"0\"}",
               "'ctx_b' is not valid UTF-8");
    expect_bad(HXQ_MC_ARC,
               "{\"question\": \"q\", \"choices\": {\"text\": [\"a\", \"b\"], "
               "\"label\": [\"A\", \"B\"]}, \"answerKey\": \"C\"}",
               "rows.jsonl:1: arc row: answerKey 'C' is not one of 'choices.label'");
    expect_bad(HXQ_MC_ARC,
               "{\"question\": \"q\", \"choices\": {\"text\": [\"a\", \"b\"], "
               "\"label\": [\"A\"]}, \"answerKey\": \"A\"}",
               "'choices.text' has 2 entries, 'choices.label' 1");
    expect_bad(HXQ_MC_ARC, "{\"question\": \"q\", \"choices\": [\"a\"], \"answerKey\": \"A\"}",
               "'choices' must be an object");
    expect_bad(HXQ_MC_GENERIC, "{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": \"0\"}",
               "rows.jsonl:1: mc row: 'gold' is of another type, not an integer");
    expect_bad(HXQ_MC_GENERIC, "{\"context\": \"c\", \"choices\": [], \"gold\": 0}",
               "'choices' must be an array of 1 to 64 strings");
    expect_bad(HXQ_MC_GENERIC, "{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": 0.5}",
               "'gold' 0.5 is not a choice index");
    expect_bad(HXQ_MC_GENERIC, "\n  \n", "rows.jsonl: no mc rows");
    expect_bad(HXQ_MC_GENERIC, "", "no mc rows");
    hxq_mc_set s;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_mc_load(HXQ_MC_ARC, "/nonexistent/x.jsonl", 0, &s, &err), HXQ_ERR_IO);
}
END_TEST

START_TEST(rows_limit_and_integer_label)
{
    hxq_mc_set s;
    hxq_error err = {0};
    const char *text = HS_OK HS_OK
        "{\"activity_label\": \"A\", \"ctx_a\": \"x\", \"ctx_b\": \"y\", "
        "\"endings\": [\"e0\", \"e1\"], \"label\": 0, \"extra\": [1]}\n" HS_OK;
    ck_assert_int_eq(hxq_mc_parse(HXQ_MC_HELLASWAG, text, strlen(text), NULL, 3, &s, &err),
                     HXQ_OK);
    ck_assert_int_eq(s.n, 3);
    ck_assert_int_eq(s.docs[0].gold, 1);
    ck_assert_int_eq(s.docs[2].gold, 0);
    ck_assert_int_eq(s.docs[2].line, 3);
    ck_assert_str_eq(s.docs[0].context, "A: x Y");
    hxq_mc_set_free(&s);
    hxq_mc_set_free(NULL);
    hxq_mc_task t;
    ck_assert_int_eq(hxq_mc_task_parse("arc", &t), HXQ_OK);
    ck_assert_int_eq(t, HXQ_MC_ARC);
    ck_assert_int_eq(hxq_mc_task_parse("ARC", &t), HXQ_ERR_INVALID);
    ck_assert_str_eq(hxq_mc_task_name(HXQ_MC_GENERIC), "mc");
}
END_TEST

/* HellaSwag's preprocess and capitalize on cases written out by hand. */
START_TEST(hellaswag_text_protocol)
{
    static const struct {
        const char *ctx_a, *ctx_b, *ending, *context, *choice;
    } cases[] = {
        /* " [title]" -> ". ", then every [..] goes, then one pass of "  " -> " " */
        {"How to x [title] Do y [step]", "tHE eND", " [header] a  b [x]   c ",
         "A: How to x. Do y The end", " a b  c"},
        /* a bracket that never closes, or closes only after a newline, stays */
        {"open [ here", "", "a [b\\nc] d", "A: open [ here", "a [b\nc] d"},
        /* the non-greedy span ends at the first ']' */
        {"[a[b]c]", "x", "[]", "A: c] X", ""},
        /* four spaces become two: the replacement runs once */
        {"a    b", "\\u01c6x \\u00c9T\\u00c9", "\\t e \\u00a0", "A: a  b \\u01c5x \\u00e9t\\u00e9",
         "e"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char row[512], want[128];
        snprintf(row, sizeof(row),
                 "{\"activity_label\": \"A\", \"ctx_a\": \"%s\", \"ctx_b\": \"%s\", "
                 "\"endings\": [\"%s\"], \"label\": \"0\"}",
                 cases[i].ctx_a, cases[i].ctx_b, cases[i].ending);
        /* the expected strings are JSON-escaped too */
        snprintf(want, sizeof(want), "[\"%s\", \"%s\"]", cases[i].context, cases[i].choice);
        cJSON *w = cJSON_Parse(want);
        ck_assert_ptr_nonnull(w);
        hxq_mc_set s;
        hxq_error err;
        ck_assert_msg(parse_one(HXQ_MC_HELLASWAG, row, &s, &err) == HXQ_OK, "%s", err.msg);
        ck_assert_str_eq(s.docs[0].context, cJSON_GetArrayItem(w, 0)->valuestring);
        ck_assert_str_eq(s.docs[0].choices[0], cJSON_GetArrayItem(w, 1)->valuestring);
        hxq_mc_set_free(&s);
        cJSON_Delete(w);
    }
}
END_TEST

START_TEST(encode_edge_cases)
{
    hxq_tokenizer *tok;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_load(HXQ_FIXTURE_DENSE, &tok, &err) == HXQ_OK, "%s", err.msg);
    hxq_mc_set s;
    const char *text = "{\"context\": \" \\n\", \"choices\": [\"a\"], \"gold\": 0}\n"
                       "{\"context\": \"\", \"choices\": [\"a b\"], \"gold\": 0}\n";
    ck_assert_int_eq(hxq_mc_parse(HXQ_MC_GENERIC, text, strlen(text), NULL, 0, &s, &err), HXQ_OK);
    hxq_mc_request r;
    memset(&r, 0x5a, sizeof(r));
    ck_assert_int_eq(hxq_mc_encode(tok, &s.docs[0], &r, &err), HXQ_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "whitespace only") != NULL, "%s", err.msg);
    /* an empty context is lm-eval's prefix token: the bos_token, here id 0 */
    ck_assert_int_eq(hxq_mc_encode(tok, &s.docs[1], &r, &err), HXQ_OK);
    ck_assert_int_eq(r.n_ctx, 1);
    ck_assert_int_eq(r.ctx[0], hxq_tokenizer_bos_id(tok));
    int32_t *ids;
    int64_t n;
    ck_assert_int_eq(hxq_tokenizer_encode(tok, " a b", 4, &ids, &n, &err), HXQ_OK);
    ck_assert_int_eq(r.n_cont[0], n);
    ck_assert(memcmp(r.cont[0], ids, (size_t)n * sizeof(int32_t)) == 0);
    free(ids);
    hxq_mc_request_free(&r);
    hxq_mc_request_free(NULL);
    hxq_mc_set_free(&s);
    hxq_tokenizer_free(tok);
}
END_TEST

/* numpy argmax semantics, lm-eval's stderr and the paired difference on
 * numbers worked out by hand. */
START_TEST(metrics_by_hand)
{
    /* 5 documents, 2 choices each; gold 0 everywhere */
    int64_t first[6] = {0, 2, 4, 6, 8, 10};
    int32_t gold[5] = {0, 0, 0, 0, 0};
    int64_t len[10] = {1, 4, 2, 2, 0, 3, 5, 1, 2, 2};
    double ll_m[10] = {-1, -2, -3, -1, -1, -1, -4, -1, -2, -2};
    double ll_r[10] = {-1, -2, -1, -3, -5, -1, -1, -4, -2, -1};
    hxq_mc_scores m = {5, first, gold, len, ll_m, 0}, r = {5, first, gold, len, ll_r, 0};
    int p, pn;
    hxq_mc_pred(&m, 0, &p, &pn);   /* -1/1 vs -2/4: acc 0, acc_norm 1 */
    ck_assert_int_eq(p, 0);
    ck_assert_int_eq(pn, 1);
    hxq_mc_pred(&m, 2, &p, &pn);   /* a tie: the first; -1/0 = -inf loses */
    ck_assert_int_eq(p, 0);
    ck_assert_int_eq(pn, 1);
    double ll_nan[2] = {0, -1};
    int64_t len0[2] = {0, 1}, f2[2] = {0, 2};
    hxq_mc_scores z = {1, f2, gold, len0, ll_nan, 0};
    hxq_mc_pred(&z, 0, &p, &pn);   /* 0 / 0 is NaN, which numpy's argmax picks */
    ck_assert_int_eq(pn, 0);
    /* correct (acc): model 1,0,1,0,1  reference 1,1,0,1,0 */
    hxq_mc_figures f, d;
    hxq_mc_figures_of(&m, &f);
    ck_assert_int_eq(f.n, 5);
    ck_assert(f.acc == 0.6);
    ck_assert(fabs(f.acc_stderr - sqrt(0.3) / sqrt(5.0)) < 1e-15);
    hxq_error err = {0};
    ck_assert_int_eq(hxq_mc_delta_of(&m, &r, &d, &err), HXQ_OK);
    /* d = 0, -1, 1, -1, 1: mean 0, sample variance 4 / 4 */
    ck_assert(d.acc == 0);
    ck_assert(fabs(d.acc_stderr - 1 / sqrt(5.0)) < 1e-15);
    hxq_mc_figures_of(&z, &f);
    ck_assert(isnan(f.acc_stderr) && isnan(f.acc_norm_stderr));
    hxq_mc_scores short_ = {4, first, gold, len, ll_r, 0};
    ck_assert_int_eq(hxq_mc_delta_of(&m, &short_, &d, &err), HXQ_ERR_INVALID);
    int32_t gold2[5] = {0, 1, 0, 0, 0};
    hxq_mc_scores other = {5, first, gold2, len, ll_r, 0};
    ck_assert_int_eq(hxq_mc_delta_of(&m, &other, &d, &err), HXQ_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "document 1") != NULL, "%s", err.msg);
}
END_TEST

/* The same scores with 1 and 2 threads, bit for bit, and a cache too
 * short for a document is refused. */
START_TEST(threads_and_cache_limits)
{
    cJSON *g = golden_set("arc");
    hxq_mc_set s = load_set(HXQ_MC_ARC, g);
    hxq_mc_scores a, b;
    hxq_mc_opts o1 = {HXQ_DEVICE_CPU, 1, NULL, NULL}, o2 = {HXQ_DEVICE_CPU, 2, NULL, NULL};
    hxq_error err = {0};
    ck_assert_int_eq(hxq_mc_eval(HXQ_FIXTURE_HELIX, &s, &o1, &a, &err), HXQ_OK);
    ck_assert_int_eq(hxq_mc_eval(HXQ_FIXTURE_HELIX, &s, &o2, &b, &err), HXQ_OK);
    ck_assert(memcmp(a.ll, b.ll, (size_t)a.first[a.n] * sizeof(double)) == 0);
    /* the first two documents alone (3 and 4 choices: an engine of 4
     * sequences and a smaller cache instead of 5) give the same bits */
    hxq_mc_set two = s;
    two.n = 2;
    hxq_mc_scores part;
    ck_assert_int_eq(hxq_mc_eval(HXQ_FIXTURE_HELIX, &two, &o2, &part, &err), HXQ_OK);
    ck_assert_int_eq(part.first[2], 7);
    ck_assert(memcmp(a.ll, part.ll, 7 * sizeof(double)) == 0);
    hxq_mc_scores_free(&part);
    hxq_model m;
    hxq_engine *e;
    ck_assert_int_eq(hxq_model_load(HXQ_FIXTURE_HELIX, &m, &err), HXQ_OK);
    hxq_engine_opts eo = hxq_engine_opts_default();
    eo.threads = 2;
    eo.max_ctx = 8;
    ck_assert_int_eq(hxq_engine_create(&m, &eo, &e, &err), HXQ_OK);
    hxq_tokenizer *tok;
    ck_assert_int_eq(hxq_tokenizer_load(HXQ_FIXTURE_HELIX, &tok, &err), HXQ_OK);
    hxq_mc_request r;
    ck_assert_int_eq(hxq_mc_encode(tok, &s.docs[0], &r, &err), HXQ_OK);
    double ll[HXQ_MC_MAX_CHOICES];
    ck_assert_int_eq(hxq_mc_score(e, &r, ll, &err), HXQ_ERR_RANGE);
    ck_assert_msg(strstr(err.msg, "the cache holds 8") != NULL, "%s", err.msg);
    /* one sequence (each choice alone after a rewind) agrees with the
     * batched choices within float rounding; an engine like the set
     * evaluation's (a sequence per choice, calls that take them all) gives
     * its numbers bit for bit */
    hxq_engine_free(e);
    eo.max_ctx = 0;
    ck_assert_int_eq(hxq_engine_create(&m, &eo, &e, &err), HXQ_OK);
    ck_assert_int_eq(hxq_mc_score(e, &r, ll, &err), HXQ_OK);
    for (int c = 0; c < r.n_choices; c++)
        ck_assert_msg(fabs(ll[c] - a.ll[c]) < 1e-4, "choice %d: %.9g vs %.9g", c, ll[c], a.ll[c]);
    hxq_engine_free(e);
    eo.n_seq = 5;
    eo.max_batch = 512;
    ck_assert_int_eq(hxq_engine_create(&m, &eo, &e, &err), HXQ_OK);
    ck_assert_int_eq(hxq_mc_score(e, &r, ll, &err), HXQ_OK);
    for (int c = 0; c < r.n_choices; c++)
        ck_assert_msg(ll[c] == a.ll[c], "choice %d: %.17g vs %.17g", c, ll[c], a.ll[c]);
    hxq_mc_request_free(&r);
    hxq_tokenizer_free(tok);
    hxq_engine_free(e);
    hxq_model_free(&m);
    hxq_mc_scores_free(&a);
    hxq_mc_scores_free(&b);
    hxq_mc_set_free(&s);
    cJSON_Delete(g);
}
END_TEST

/* More choices than an engine made for a set scores at once (8): they run
 * in groups, and agree with one choice at a time. */
START_TEST(many_choices_in_groups)
{
    const char *text = "{\"context\": \"First Citizen:\\nBefore we proceed\", \"choices\": "
                       "[\"any\", \"further,\", \"hear me\", \"speak.\", \"All:\", \"Speak,\", "
                       "\"speak\", \"You are all\", \"resolved\", \"rather to die\"], \"gold\": 1}";
    hxq_mc_set s;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_mc_parse(HXQ_MC_GENERIC, text, strlen(text), NULL, 0, &s, &err), HXQ_OK);
    hxq_mc_scores a;
    hxq_mc_opts o = {HXQ_DEVICE_CPU, 2, NULL, NULL};
    ck_assert_msg(hxq_mc_eval(HXQ_FIXTURE_DENSE, &s, &o, &a, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(a.first[1], 10);
    hxq_model m;
    hxq_engine *e;
    hxq_tokenizer *tok;
    ck_assert_int_eq(hxq_model_load(HXQ_FIXTURE_DENSE, &m, &err), HXQ_OK);
    ck_assert_int_eq(hxq_engine_create(&m, NULL, &e, &err), HXQ_OK);
    ck_assert_int_eq(hxq_tokenizer_load(HXQ_FIXTURE_DENSE, &tok, &err), HXQ_OK);
    hxq_mc_request r;
    ck_assert_int_eq(hxq_mc_encode(tok, &s.docs[0], &r, &err), HXQ_OK);
    double ll[10];
    ck_assert_int_eq(hxq_mc_score(e, &r, ll, &err), HXQ_OK);
    for (int c = 0; c < 10; c++)
        ck_assert_msg(fabs(ll[c] - a.ll[c]) < 1e-4, "choice %d: %.9g vs %.9g", c, ll[c], a.ll[c]);
    hxq_mc_request_free(&r);
    hxq_tokenizer_free(tok);
    hxq_engine_free(e);
    hxq_model_free(&m);
    hxq_mc_scores_free(&a);
    hxq_mc_set_free(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc");
    TCase *tc = tcase_create("mc");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, hellaswag_documents);
    tcase_add_test(tc, arc_documents);
    tcase_add_test(tc, generic_documents);
    tcase_add_test(tc, hellaswag_scores);
    tcase_add_test(tc, arc_scores);
    tcase_add_test(tc, generic_scores);
    tcase_add_test(tc, bad_rows_name_their_line);
    tcase_add_test(tc, rows_limit_and_integer_label);
    tcase_add_test(tc, hellaswag_text_protocol);
    tcase_add_test(tc, encode_edge_cases);
    tcase_add_test(tc, metrics_by_hand);
    tcase_add_test(tc, threads_and_cache_limits);
    tcase_add_test(tc, many_choices_in_groups);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
