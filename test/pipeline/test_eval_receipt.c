/* test_eval_receipt.c - eval_receipt.json end to end: `hxq eval --receipt`
 * on a compressed folder, `hxq verify` passing it (data, reference,
 * re-run), and failing it when a figure is edited (sealed or re-sealed),
 * a log-likelihood moves, the folder changes or the gate fails; the bytes
 * are the same at any thread count. */
#include "verify_test_util.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#define ARC "test/fixtures/mc/arc.jsonl"

static char *g_tmp;
static char g_dir[2048];

static int has_failure(const hxq_verify_report *r, const char *check)
{
    for (int64_t i = 0; i < r->n_failures; i++)
        if (!strcmp(r->failures[i].check, check))
            return 1;
    return 0;
}

static void eval_receipt_cli(const char *dir, int threads)
{
    ck_assert_int_eq(hxq_test_sh("%s eval %s --task arc --data %s --reference %s --receipt "
                                 "--threads %d > %s.out", hxq_test_bin(), dir, ARC,
                                 HXQ_FIXTURE_DENSE, threads, dir), 0);
}

/* A compressed tiny-olmoe with the receipt of a paired ARC eval. */
static void setup(void)
{
    g_tmp = hxq_test_tmpdir("evalrc");
    snprintf(g_dir, sizeof(g_dir), "%s/m", g_tmp);
    vt_compress_fast(g_dir);
    eval_receipt_cli(g_dir, 2);
}

static void teardown(void)
{
    hxq_test_rmtree(g_tmp);
    free(g_tmp);
}

static char *copy_of(const char *tag, char *dir, size_t cap)
{
    char *tmp = hxq_test_tmpdir(tag);
    ck_assert_int_eq(hxq_test_sh("cp -r %s %s/m", g_dir, tmp), 0);
    snprintf(dir, cap, "%s/m", tmp);
    return tmp;
}

static char *receipt_path(const char *dir)
{
    static char p[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, HXQ_EVAL_RECEIPT);
    return p;
}

START_TEST(receipt_passes_verify)
{
    hxq_verify_report r;
    hxq_verify_opts o = {0};
    ck_assert_int_eq(vt_verify(g_dir, &o, &r), HXQ_OK);
    ck_assert_int_eq(r.eval_receipts, 1);
    ck_assert_int_eq(r.eval_recomputed, 0);
    hxq_verify_report_free(&r);
    /* data, recorded reference, both models re-run; the compression
     * re-run ignores the eval receipt (no output of compress) */
    hxq_verify_opts all = {.source = HXQ_FIXTURE_DENSE, .recompute = 1, .threads = 2,
                           .eval_data = ARC, .recompute_eval = 1};
    int rc = vt_verify(g_dir, &all, &r);
    ck_assert_msg(rc == HXQ_OK, "%lld failures, first %s: %s", (long long)r.total_failures,
                  r.n_failures ? r.failures[0].check : "",
                  r.n_failures ? r.failures[0].detail : "");
    ck_assert_int_gt(r.files_recomputed, 5);
    hxq_eval_receipt er;
    size_t len;
    char *text = vt_read_text(receipt_path(g_dir), &len);
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_eval_parse(text, len, "r", &er, &err), HXQ_OK);
    ck_assert_int_eq(r.eval_recomputed, 2 * er.first[er.n_items]);
    ck_assert_int_eq(er.n_items, 30);
    ck_assert_str_eq(er.task, "arc");
    ck_assert(er.model.has_compression_receipt && !er.reference.has_compression_receipt);
    ck_assert(er.gate_pass);
    hxq_receipt_eval_free(&er);
    free(text);
    hxq_verify_report_free(&r);
    ck_assert_int_eq(hxq_test_sh("%s verify %s --eval-data %s --eval-reference %s "
                                 "--recompute-eval --threads 2 | grep -q '1 eval receipt'",
                                 hxq_test_bin(), g_dir, ARC, HXQ_FIXTURE_DENSE), 0);
}
END_TEST

/* The figures `hxq eval --json` prints are the receipt's. */
START_TEST(json_output_matches_receipt)
{
    char out[4096];
    snprintf(out, sizeof(out), "%s/e.json", g_tmp);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --task arc --data %s --reference %s --json "
                                 "--threads 1 > %s", hxq_test_bin(), g_dir, ARC,
                                 HXQ_FIXTURE_DENSE, out), 0);
    char *js = vt_read_text(out, NULL), *text;
    size_t len;
    cJSON *j = cJSON_Parse(js);
    ck_assert_ptr_nonnull(j);
    text = vt_read_text(receipt_path(g_dir), &len);
    hxq_eval_receipt er;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_eval_parse(text, len, "r", &er, &err), HXQ_OK);
    const cJSON *ref = cJSON_GetObjectItem(j, "reference"), *d = cJSON_GetObjectItem(j, "delta");
    ck_assert(cJSON_GetObjectItem(j, "acc_norm")->valuedouble == er.model.fig.acc_norm);
    ck_assert(cJSON_GetObjectItem(j, "acc_stderr")->valuedouble == er.model.fig.acc_stderr);
    ck_assert(cJSON_GetObjectItem(ref, "acc")->valuedouble == er.reference.fig.acc);
    ck_assert(cJSON_GetObjectItem(d, "acc_norm")->valuedouble == er.delta.acc_norm);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "n")->valueint, 30);
    const cJSON *items = cJSON_GetObjectItem(j, "items");
    ck_assert_int_eq(cJSON_GetArraySize(items), 30);
    const cJSON *lls = cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "loglikelihoods");
    for (int64_t c = 0; c < er.first[1]; c++)
        ck_assert(cJSON_GetArrayItem(lls, (int)c)->valuedouble == er.ll[c]);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "task")->valuestring, "arc");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "gate"), "result")->valuestring,
                     "PASS");
    hxq_receipt_eval_free(&er);
    cJSON_Delete(j);
    free(js);
    free(text);
}
END_TEST

/* The receipt without its timings and seal. */
static char *reproducible_part(const char *path)
{
    char *text = vt_read_text(path, NULL);
    char *t = strstr(text, ",\"timings\":");
    ck_assert_ptr_nonnull(t);
    *t = '\0';
    return text;
}

START_TEST(bytes_do_not_depend_on_threads)
{
    char dir[2048];
    char *tmp = copy_of("evalrc1", dir, sizeof(dir));
    eval_receipt_cli(dir, 1);
    char *a = reproducible_part(receipt_path(g_dir)), *b = reproducible_part(receipt_path(dir));
    ck_assert_str_eq(a, b);
    ck_assert_ptr_null(strstr(a, "\"threads\""));
    free(a);
    free(b);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(edited_figure_fails)
{
    char dir[2048];
    char *tmp = copy_of("evalrc2", dir, sizeof(dir));
    const char *p = receipt_path(dir);
    ck_assert_int_eq(hxq_test_sh("sed -i 's/\"acc_norm\":[0-9.e-]*,/\"acc_norm\":0.5,/' %s", p), 0);
    ck_assert_int_eq(hxq_test_sh("%s verify %s > /dev/null", hxq_test_bin(), dir), 1);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "seal"));
    ck_assert(has_failure(&r, "eval_figures"));
    hxq_verify_report_free(&r);
    /* the same edit with a fresh seal: the items still give the truth */
    size_t len;
    char *text = vt_read_text(p, &len);
    char *seal = strstr(text, "\"receipt_sha256\":\t\"");
    ck_assert_ptr_nonnull(seal);
    memset(seal + 19, '0', 64);
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_seal(text, len, &err), HXQ_OK);
    ck_assert_int_eq(hxq_test_write_file(p, text, len), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(!has_failure(&r, "seal"));
    ck_assert(has_failure(&r, "eval_figures"));
    hxq_verify_report_free(&r);
    free(text);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Rewrites the receipt of dir through fn (parsed, changed, re-sealed). */
static void rewrite(const char *dir, void (*fn)(hxq_eval_receipt *))
{
    size_t len;
    char *text = vt_read_text(receipt_path(dir), &len);
    hxq_eval_receipt er;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_eval_parse(text, len, "r", &er, &err), HXQ_OK);
    free(text);
    fn(&er);
    ck_assert_msg(hxq_eval_receipt_write(dir, &er, &err) == HXQ_OK, "%s", err.msg);
    hxq_receipt_eval_free(&er);
}

static void nudge_ll(hxq_eval_receipt *r)
{
    r->ll[0] += 0.01;    /* too small to move a figure, not for the re-run */
}

START_TEST(moved_loglikelihood_fails_recompute)
{
    char dir[2048];
    char *tmp = copy_of("evalrc3", dir, sizeof(dir));
    rewrite(dir, nudge_ll);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_OK);
    hxq_verify_report_free(&r);
    hxq_verify_opts o = {.threads = 2, .eval_data = ARC, .eval_reference = HXQ_FIXTURE_DENSE,
                         .recompute_eval = 1};
    ck_assert_int_eq(vt_verify(dir, &o, &r), HXQ_ERR_VERIFY);
    ck_assert_int_eq(r.total_failures, 1);
    ck_assert(has_failure(&r, "eval_recompute"));
    ck_assert_msg(strstr(r.failures[0].detail, "model: 1 log-likelihood(s)") != NULL, "%s",
                  r.failures[0].detail);
    hxq_verify_report_free(&r);
    /* other data or another reference: checked, and no re-run on them */
    hxq_verify_opts other = {.threads = 2, .eval_data = "test/fixtures/mc/mc.jsonl",
                             .eval_reference = HXQ_FIXTURE_HELIX, .recompute_eval = 1};
    ck_assert_int_eq(vt_verify(dir, &other, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "eval_data") && has_failure(&r, "eval_reference"));
    ck_assert_int_eq(r.eval_recomputed, 0);
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(changed_folder_fails)
{
    char dir[2048];
    char *tmp = copy_of("evalrc4", dir, sizeof(dir));
    ck_assert_int_eq(hxq_test_sh("echo x > %s/notes.txt", dir), 0);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "eval_model"));
    ck_assert(has_failure(&r, "recorded"));
    hxq_verify_report_free(&r);
    /* the eval receipt itself is no unrecorded file, and without one the
     * eval options are a failure */
    ck_assert_int_eq(hxq_test_sh("rm %s/notes.txt %s", dir, receipt_path(dir)), 0);
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_OK);
    hxq_verify_report_free(&r);
    hxq_verify_opts o = {.eval_data = ARC};
    ck_assert_int_eq(vt_verify(dir, &o, &r), HXQ_ERR_VERIFY);
    ck_assert(has_failure(&r, "eval_receipt"));
    hxq_verify_report_free(&r);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Scores that make the model right on every document: the paired delta is
 * far beyond two standard errors, the gate fails, verify says so. */
START_TEST(failed_gate_fails_verify)
{
    hxq_mc_set set;
    hxq_mc_scores ref, model;
    hxq_mc_opts mo = {HXQ_DEVICE_CPU, 2, NULL, NULL};
    hxq_error err = {0};
    ck_assert_int_eq(hxq_mc_load(HXQ_MC_ARC, ARC, 0, &set, &err), HXQ_OK);
    ck_assert_int_eq(hxq_mc_eval(HXQ_FIXTURE_DENSE, &set, &mo, &ref, &err), HXQ_OK);
    ck_assert_int_eq(hxq_mc_eval(g_dir, &set, &mo, &model, &err), HXQ_OK);
    for (int64_t i = 0; i < model.n; i++)
        model.ll[model.first[i] + model.gold[i]] = 0;
    hxq_eval_receipt_opts ro = {HXQ_MC_ARC, ARC, 0, g_dir, HXQ_FIXTURE_DENSE, 0.01, 2, 0, 0, 0};
    hxq_eval_receipt er;
    ck_assert_int_eq(hxq_eval_receipt_make(&ro, &model, &ref, &er, &err), HXQ_OK);
    ck_assert(!er.gate_pass);
    ck_assert(er.delta.acc_norm > er.gate_threshold && er.gate_threshold > 0.01);
    ck_assert(er.model.fig.acc == 1.0 && er.model.fig.acc_stderr == 0);
    char dir[2048];
    char *tmp = copy_of("evalrc5", dir, sizeof(dir));
    ck_assert_int_eq(hxq_eval_receipt_write(dir, &er, &err), HXQ_OK);
    hxq_verify_report r;
    ck_assert_int_eq(vt_verify(dir, NULL, &r), HXQ_ERR_VERIFY);
    ck_assert_int_eq(r.total_failures, 1);
    ck_assert(has_failure(&r, "eval_gate"));
    hxq_verify_report_free(&r);
    ck_assert_int_eq(hxq_test_sh("%s verify %s > /dev/null", hxq_test_bin(), dir), 1);
    /* bad options of the builder */
    ro.gate = -1;
    hxq_eval_receipt none;
    ck_assert_int_eq(hxq_eval_receipt_make(&ro, &model, &ref, &none, &err), HXQ_ERR_INVALID);
    hxq_receipt_eval_free(&er);
    hxq_mc_scores_free(&ref);
    hxq_mc_scores_free(&model);
    hxq_mc_set_free(&set);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(cli_usage_and_bad_data)
{
    const char *bin = hxq_test_bin();
    ck_assert_int_eq(hxq_test_sh("%s eval %s --task arc --data %s --receipt 2>/dev/null", bin,
                                 g_dir, ARC), 2);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --task winogrande --data %s 2>/dev/null", bin,
                                 g_dir, ARC), 2);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --task arc 2>/dev/null", bin, g_dir), 2);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --task arc --data %s --gate -1 2>/dev/null", bin,
                                 g_dir, ARC), 2);
    ck_assert_int_eq(hxq_test_sh("%s eval %s --task arc --data %s --limit 0 2>/dev/null", bin,
                                 g_dir, ARC), 2);
    ck_assert_int_eq(hxq_test_sh("%s eval --help | grep -q -- '--task hellaswag|arc|mc'", bin), 0);
    ck_assert_int_eq(hxq_test_sh("%s verify --help | grep -q -- --recompute-eval", bin), 0);
    ck_assert_int_eq(hxq_test_sh("(head -n 1 %s; echo '{\"question\": 1}') > %s/bad.jsonl && "
                                 "%s eval %s --task arc --data %s/bad.jsonl 2> %s/err.txt; "
                                 "r=$?; grep -q 'bad.jsonl:2: arc row' %s/err.txt && exit $r",
                                 ARC, g_tmp, bin, g_dir, g_tmp, g_tmp, g_tmp), 3);
    /* --limit and the text output */
    ck_assert_int_eq(hxq_test_sh("%s eval %s --task arc --data %s --limit 3 --threads 2 | "
                                 "grep -q '^arc: 3 documents'", bin, g_dir, ARC), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("eval_receipt");
    TCase *tc = tcase_create("eval_receipt");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, receipt_passes_verify);
    tcase_add_test(tc, json_output_matches_receipt);
    tcase_add_test(tc, bytes_do_not_depend_on_threads);
    tcase_add_test(tc, edited_figure_fails);
    tcase_add_test(tc, moved_loglikelihood_fails_recompute);
    tcase_add_test(tc, changed_folder_fails);
    tcase_add_test(tc, failed_gate_fails_verify);
    tcase_add_test(tc, cli_usage_and_bad_data);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
