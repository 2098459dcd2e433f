/* test_receipt_eval.c - eval_receipt.json as a document: build -> parse ->
 * build gives the same bytes, every double (and an undefined stderr)
 * reads back bit-exact, and malformed documents are refused naming the
 * key. */
#include "hxq_receipt.h"
#include "hxq_test.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t g_first[3] = {0, 2, 5};
static int32_t g_gold[2] = {1, 2};
static int64_t g_len[5] = {3, 0, 7, 1, 12};
/* values cJSON's own printing would round: 15 digits within an ulp */
static double g_ll[5] = {-0.30000000000000004, -1e-300, -12.345678901234567, -3, -7.1};
static double g_rl[5] = {-1.0000000000000002, -2, -3, -4, -5};

static void make(hxq_eval_receipt *r)
{
    memset(r, 0, sizeof(*r));
    r->format_version = 1;
    snprintf(r->tool_version, sizeof(r->tool_version), "0.1.0");
    snprintf(r->task, sizeof(r->task), "arc");
    r->data_path = "data/arc \"easy\".jsonl";
    r->data_size = 12345;
    memset(r->data_sha256, 'a', 64);
    memset(r->model.folder_sha256, 'b', 64);
    r->model.has_compression_receipt = 1;
    memset(r->model.compression_receipt_sha256, 'c', 64);
    r->model.bos = 1;
    hxq_rc_mc_figures f = {2, 0.5, 0.5, 1.0 / 3.0, NAN};
    r->model.fig = f;
    r->reference.dir = "models/ref";
    memset(r->reference.folder_sha256, 'd', 64);
    r->reference.fig = f;
    r->delta = f;
    r->gate_tolerance = 0.01;
    r->gate_threshold = 0.1 + 0.2;
    r->gate_pass = 1;
    r->n_items = 2;
    r->first = g_first;
    r->gold = g_gold;
    r->len = g_len;
    r->ll = g_ll;
    r->ref_ll = g_rl;
    r->has_timings = 1;
    r->threads = 2;
    r->total_s = 1.5;
}

START_TEST(round_trip_bit_exact)
{
    hxq_eval_receipt r, back;
    make(&r);
    char *a, *b;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_receipt_eval_json(&r, &a, &err), HXQ_OK);
    ck_assert_int_eq(hxq_receipt_eval_parse(a, strlen(a), "r.json", &back, &err), HXQ_OK);
    for (int i = 0; i < 5; i++) {
        ck_assert(back.ll[i] == g_ll[i]);
        ck_assert(back.ref_ll[i] == g_rl[i]);
        ck_assert_int_eq(back.len[i], g_len[i]);
    }
    ck_assert(back.gate_threshold == 0.1 + 0.2);
    ck_assert(isnan(back.model.fig.acc_norm_stderr));
    ck_assert(back.model.fig.acc_norm == 1.0 / 3.0);
    ck_assert_str_eq(back.reference.dir, "models/ref");
    ck_assert_ptr_null(back.model.dir);
    ck_assert(back.model.has_compression_receipt && !back.reference.has_compression_receipt);
    ck_assert(back.model.bos && !back.reference.bos);
    ck_assert_int_eq(back.gold[1], 2);
    ck_assert_int_eq(back.first[2], 5);
    ck_assert_int_eq(hxq_receipt_eval_json(&back, &b, &err), HXQ_OK);
    ck_assert_str_eq(a, b);
    ck_assert_ptr_nonnull(strstr(a, "\"acc_norm_stderr\":null"));
    hxq_receipt_eval_free(&back);
    hxq_receipt_eval_free(NULL);
    free(a);
    free(b);
}
END_TEST

/* The built text with one key of the object at `path` ("a.b") replaced
 * by new_json (NULL removes it), parsed. */
static int parse_edited(const char *path, const char *new_json, hxq_error *err)
{
    hxq_eval_receipt r, out;
    make(&r);
    char *text;
    ck_assert_int_eq(hxq_receipt_eval_json(&r, &text, err), HXQ_OK);
    cJSON *root = cJSON_Parse(text);
    free(text);
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    cJSON *o = root;
    char *key = buf, *dot;
    while ((dot = strchr(key, '.'))) {
        *dot = '\0';
        o = cJSON_GetObjectItem(o, key);
        if (cJSON_IsArray(o))
            o = cJSON_GetArrayItem(o, 0);
        key = dot + 1;
    }
    ck_assert_ptr_nonnull(o);
    if (new_json)
        cJSON_ReplaceItemInObject(o, key, cJSON_Parse(new_json));
    else
        cJSON_DeleteItemFromObject(o, key);
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    memset(&out, 0x5a, sizeof(out));
    int rc = hxq_receipt_eval_parse(text, strlen(text), "r.json", &out, err);
    if (rc == HXQ_OK)
        hxq_receipt_eval_free(&out);
    free(text);
    return rc;
}

START_TEST(malformed_documents)
{
    static const struct {
        const char *path, *value, *msg;
        int rc;
    } cases[] = {
        {"format", "\"hxq-compression-receipt\"", "not an hxq eval receipt", HXQ_ERR_FORMAT},
        {"format_version", "2", "format_version 2 is not supported", HXQ_ERR_UNSUPPORTED},
        {"task", NULL, "key 'task' is missing", HXQ_ERR_FORMAT},
        {"data.sha256", "\"abc\"", "key 'sha256' has a bad length", HXQ_ERR_FORMAT},
        {"model.acc", "\"high\"", "key 'acc' is missing or has the wrong type", HXQ_ERR_FORMAT},
        {"model.bos", "1", "key 'bos'", HXQ_ERR_FORMAT},
        {"reference.dir", NULL, "key 'dir' is missing", HXQ_ERR_FORMAT},
        {"gate.result", "\"MAYBE\"", "gate.result is neither PASS nor FAIL", HXQ_ERR_FORMAT},
        {"gate.metric", "\"acc\"", "gate.metric is not acc_norm", HXQ_ERR_FORMAT},
        {"items.ll", "[-1]", "differ in length", HXQ_ERR_FORMAT},
        {"items.len", "[]", "1 to 64 choices", HXQ_ERR_FORMAT},
        {"items.gold", "7", "gold is not one of its choices", HXQ_ERR_FORMAT},
        {"items.len", "[1.5, 2]", "len holds a non-integer", HXQ_ERR_FORMAT},
        {"items.reference_ll", "[1, null]", "not a finite number", HXQ_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hxq_error err = {0};
        ck_assert_int_eq(parse_edited(cases[i].path, cases[i].value, &err), cases[i].rc);
        ck_assert_msg(strstr(err.msg, cases[i].msg) != NULL, "%s: '%s'", cases[i].path, err.msg);
        ck_assert_msg(strncmp(err.msg, "r.json: ", 8) == 0, "%s", err.msg);
    }
    hxq_error err = {0};
    hxq_eval_receipt out;
    ck_assert_int_eq(hxq_receipt_eval_parse("[1]", 3, "r.json", &out, &err), HXQ_ERR_FORMAT);
    /* unknown keys are ignored, timings are optional */
    ck_assert_int_eq(parse_edited("timings", NULL, &err), HXQ_OK);
    ck_assert_int_eq(parse_edited("protocol", "{\"x\": 1}", &err), HXQ_OK);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("receipt_eval");
    TCase *tc = tcase_create("receipt_eval");
    tcase_add_test(tc, round_trip_bit_exact);
    tcase_add_test(tc, malformed_documents);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
