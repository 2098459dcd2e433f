/* test_eval.c - windowed perplexity and KL evaluation against numbers
 * computed here from transformers' recorded logits (golden files). */
#include "hxq_infer.h"
#include "hxq_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLD_DENSE HXQ_FIXTURE_GOLDEN "/golden_dense.safetensors"
#define GOLD_HELIX HXQ_FIXTURE_GOLDEN "/golden_helix.safetensors"

static hxq_st_file *open_golden(const char *path)
{
    hxq_st_file *g;
    hxq_error err = {0};
    ck_assert_msg(hxq_st_open(path, &g, &err) == HXQ_OK, "%s", err.msg);
    return g;
}

static int32_t *golden_ids(const hxq_st_file *g, const char *prompt, int64_t *n)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.ids", prompt);
    const hxq_tensor *t = hxq_st_find(g, name);
    ck_assert_ptr_nonnull(t);
    int32_t *ids = malloc((size_t)t->nelem * sizeof(int32_t));
    for (int64_t i = 0; i < t->nelem; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + 8 * i, 8);
        ids[i] = (int32_t)v;
    }
    *n = t->nelem;
    return ids;
}

static const hxq_tensor *golden_logits(const hxq_st_file *g, const char *prompt)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.logits", prompt);
    const hxq_tensor *t = hxq_st_find(g, name);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* log-softmax of row i of a [T, V] golden logits tensor into out[V]. */
static void log_softmax_row(const hxq_tensor *t, int64_t i, double *out)
{
    int64_t V = t->shape[1];
    double mx = -INFINITY, s = 0;
    for (int64_t v = 0; v < V; v++)
        if (hxq_tensor_f32_at(t, i * V + v) > mx)
            mx = hxq_tensor_f32_at(t, i * V + v);
    for (int64_t v = 0; v < V; v++)
        s += exp(hxq_tensor_f32_at(t, i * V + v) - mx);
    for (int64_t v = 0; v < V; v++)
        out[v] = hxq_tensor_f32_at(t, i * V + v) - mx - log(s);
}

typedef struct fixture {
    hxq_model m;
    hxq_engine *e;
} fixture;

static void open_model(const char *dir, fixture *f)
{
    hxq_error err = {0};
    ck_assert_msg(hxq_model_load(dir, &f->m, &err) == HXQ_OK, "%s", err.msg);
    hxq_engine_opts o = hxq_engine_opts_default();
    o.threads = 2;
    ck_assert_msg(hxq_engine_create(&f->m, &o, &f->e, &err) == HXQ_OK, "%s", err.msg);
}

static void close_model(fixture *f)
{
    hxq_engine_free(f->e);
    hxq_model_free(&f->m);
}

/* nll of one window over a golden prompt equals the mean next-token NLL
 * computed from transformers' logits. */
START_TEST(nll_matches_golden_logits)
{
    fixture f;
    open_model(HXQ_FIXTURE_DENSE, &f);
    hxq_st_file *g = open_golden(GOLD_DENSE);
    int64_t n;
    int32_t *ids = golden_ids(g, "public0", &n);
    const hxq_tensor *lt = golden_logits(g, "public0");
    int64_t V = lt->shape[1];
    double *ls = malloc((size_t)V * sizeof(double)), want = 0;
    for (int64_t i = 0; i + 1 < n; i++) {
        log_softmax_row(lt, i, ls);
        want -= ls[ids[i + 1]];
    }
    want /= (double)(n - 1);
    hxq_eval_result r;
    hxq_error err = {0};
    ck_assert_msg(hxq_eval_ids(f.e, NULL, ids, n, n - 1, 0, &r, &err) == HXQ_OK, "%s",
                  err.msg);
    ck_assert_int_eq(r.windows, 1);
    ck_assert_int_eq(r.positions, n - 1);
    ck_assert_msg(fabs(r.nll - want) < 1e-3, "nll %.6f, golden %.6f", r.nll, want);
    ck_assert(fabs(r.ppl - exp(r.nll)) < 1e-9 * r.ppl);
    ck_assert_int_eq(r.has_reference, 0);
    /* two windows of 3 tokens score positions 0..5 */
    ck_assert_msg(hxq_eval_ids(f.e, NULL, ids, n, 3, 2, &r, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(r.positions, 6);
    free(ls);
    free(ids);
    hxq_st_close(g);
    close_model(&f);
}
END_TEST

/* KL(dense || helix) over the public prompts equals the value computed
 * from the two golden logit sets. */
START_TEST(kl_matches_golden_logits)
{
    fixture fd, fh;
    open_model(HXQ_FIXTURE_DENSE, &fd);
    open_model(HXQ_FIXTURE_HELIX, &fh);
    hxq_st_file *gd = open_golden(GOLD_DENSE), *gh = open_golden(GOLD_HELIX);
    const char *prompts[] = {"public0", "public1", "public2", "public3"};
    for (int p = 0; p < 4; p++) {
        int64_t n;
        int32_t *ids = golden_ids(gd, prompts[p], &n);
        const hxq_tensor *ld = golden_logits(gd, prompts[p]), *lh = golden_logits(gh, prompts[p]);
        int64_t V = ld->shape[1];
        double *a = malloc((size_t)V * sizeof(double)), *b = malloc((size_t)V * sizeof(double));
        double kl = 0;
        for (int64_t i = 0; i + 1 < n; i++) {
            log_softmax_row(ld, i, a);
            log_softmax_row(lh, i, b);
            for (int64_t v = 0; v < V; v++)
                kl += exp(a[v]) * (a[v] - b[v]);
        }
        kl /= (double)(n - 1);
        hxq_eval_result r;
        hxq_error err = {0};
        ck_assert_msg(hxq_eval_ids(fh.e, fd.e, ids, n, n - 1, 1, &r, &err) == HXQ_OK, "%s",
                      err.msg);
        ck_assert_int_eq(r.has_reference, 1);
        ck_assert_msg(kl > 0 && fabs(r.kl - kl) < 0.05 * kl + 1e-6, "%s: kl %.3g, golden %.3g",
                      prompts[p], r.kl, kl);
        ck_assert(r.top1_agree >= 0 && r.top1_agree <= 1);
        ck_assert(fabs(r.ppl_ratio - r.ppl / r.ref_ppl) < 1e-12);
        /* a model against itself: zero divergence, full agreement */
        ck_assert(hxq_eval_ids(fd.e, fd.e, ids, n, n - 1, 1, &r, &err) == HXQ_OK);
        ck_assert(fabs(r.kl) < 1e-12 && r.top1_agree == 1.0 && fabs(r.ppl_ratio - 1) < 1e-12);
        free(a);
        free(b);
        free(ids);
    }
    hxq_st_close(gd);
    hxq_st_close(gh);
    close_model(&fd);
    close_model(&fh);
}
END_TEST

START_TEST(bad_arguments)
{
    fixture f;
    open_model(HXQ_FIXTURE_DENSE, &f);
    int32_t ids[10] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    hxq_eval_result r;
    memset(&r, 0x5a, sizeof(r));
    hxq_eval_result before = r;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_eval_ids(f.e, NULL, ids, 10, 0, 1, &r, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_eval_ids(f.e, NULL, ids, 10, 3, 4, &r, &err), HXQ_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "hold 3 windows") != NULL, "%s", err.msg);
    ck_assert_int_eq(hxq_eval_ids(f.e, NULL, ids, 10, 5000, 1, &r, &err), HXQ_ERR_INVALID);
    ck_assert(memcmp(&r, &before, sizeof(r)) == 0);
    ids[4] = 1 << 20;   /* outside the vocabulary: the engine's error */
    ck_assert_int_eq(hxq_eval_ids(f.e, NULL, ids, 10, 9, 1, &r, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_eval_windows_max(10, 3), 3);
    ck_assert_int_eq(hxq_eval_windows_max(10, 9), 1);
    ck_assert_int_eq(hxq_eval_windows_max(10, 10), 0);
    ck_assert_int_eq(hxq_eval_windows_max(38448, 256), 150);
    close_model(&f);
}
END_TEST

/* The golden validation nll through `hxq eval`: the text from byte
 * 1,003,857 of tinyshakespeare.txt, 64 windows of 256 tokens. */
START_TEST(cli_eval_matches_golden_nll)
{
    char *dir = hxq_test_tmpdir("eval");
    ck_assert_int_eq(hxq_test_sh("tail -c +1003858 test/fixtures/tinyshakespeare.txt > %s/val.txt",
                                 dir), 0);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --text %s/val.txt --windows 64 --threads 2 --json "
                                 "> %s/out.json", hxq_test_bin(), HXQ_FIXTURE_DENSE, dir, dir), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/out.json", dir);
    size_t len;
    char *out = (char *)hxq_test_read_file(path, &len);
    ck_assert_ptr_nonnull(out);
    double nll = hxq_test_json_num(out, "nll");
    ck_assert_msg(fabs(nll - 4.190974) < 1e-4, "nll %.6f, golden 4.190974", nll);
    ck_assert_int_eq((int)hxq_test_json_num(out, "positions"), 16384);
    free(out);
    /* usage and input errors */
    ck_assert_int_eq(hxq_test_sh("%s eval %s 2>/dev/null", hxq_test_bin(), HXQ_FIXTURE_DENSE), 2);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --text %s/val.txt --ctx 0 2>/dev/null",
                                 hxq_test_bin(), HXQ_FIXTURE_DENSE, dir), 2);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --text %s/missing.txt 2>/dev/null", hxq_test_bin(),
                                 HXQ_FIXTURE_DENSE, dir), 3);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --text %s/val.txt --windows 100000 2>/dev/null",
                                 hxq_test_bin(), HXQ_FIXTURE_DENSE, dir), 2);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("eval");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, nll_matches_golden_logits);
    tcase_add_test(tc, kl_matches_golden_logits);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, cli_eval_matches_golden_nll);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(eval_suite)
