/* test_qconfig.c - the quantization_config of an HXQ folder: the reference
 * output's config, the legacy cdna_v3 / helix spellings, and errors. */
#include "hxq_io.h"
#include "hxq_test.h"

#include <cJSON.h>
#include <string.h>

static int parse(const char *json, hxq_qconfig *q, hxq_error *err)
{
    memset(err, 0, sizeof(*err));
    memset(q, 0, sizeof(*q));
    return hxq_qconfig_parse(json, "h/config.json", q, err);
}

START_TEST(helix_fixture)
{
    hxq_qconfig q;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    ck_assert_msg(hxq_qconfig_load(HXQ_FIXTURE_HELIX, &q, &err) == HXQ_OK, "%s", err.msg);
    size_t len;
    char *text = (char *)hxq_test_read_file(HXQ_FIXTURE_HELIX "/config.json", &len);
    text = realloc(text, len + 1);
    text[len] = '\0';
    cJSON *j = cJSON_Parse(text);
    const cJSON *qc = cJSON_GetObjectItem(j, "quantization_config");
    ck_assert_str_eq(q.quant_method, cJSON_GetObjectItem(qc, "quant_method")->valuestring);
    ck_assert_int_eq(q.codebook_size, (int)cJSON_GetObjectItem(qc, "codebook_size")->valuedouble);
    ck_assert_int_eq(q.sidecar_enabled, cJSON_IsTrue(cJSON_GetObjectItem(qc, "sidecar_enabled")));
    ck_assert_int_eq(q.packed12, 0);
    const cJSON *mods = cJSON_GetObjectItem(qc, "compressed_modules");
    ck_assert_int_eq(q.n_modules, cJSON_GetArraySize(mods));
    for (int64_t i = 0; i < q.n_modules; i++)
        ck_assert_str_eq(q.modules[i], cJSON_GetArrayItem(mods, (int)i)->valuestring);
    const cJSON *ex = cJSON_GetObjectItem(qc, "exact_patterns");
    ck_assert_int_eq(q.n_exact, cJSON_GetArraySize(ex));
    ck_assert_str_eq(q.exact_patterns[0], cJSON_GetArrayItem(ex, 0)->valuestring);
    cJSON_Delete(j);
    free(text);
    hxq_qconfig_free(&q);
    ck_assert_int_eq(q.n_modules, 0);
    hxq_qconfig_free(NULL);
}
END_TEST

START_TEST(legacy_spellings)
{
    hxq_qconfig q;
    hxq_error err;
    ck_assert_int_eq(parse("{\"quantization_config\": {\"quant_method\": \"cdna_v3\", \"bits\": 8,"
                           "\"n_clusters\": 256, \"compressed_modules\": [\"a.q\", \"a.k\"]}}",
                           &q, &err), HXQ_OK);
    ck_assert_str_eq(q.quant_method, "cdna_v3");
    ck_assert_int_eq(q.codebook_size, 256);
    ck_assert_int_eq(q.sidecar_enabled, 1);                       /* default */
    ck_assert_int_eq(q.n_modules, 2);
    ck_assert_str_eq(q.modules[1], "a.k");
    ck_assert_int_eq(q.n_exact, 0);
    hxq_qconfig_free(&q);
    ck_assert_int_eq(parse("{\"quantization_config\": {\"quant_method\": \"helix\","
                           "\"n_clusters\": 4096, \"index_packing\": \"12bit\","
                           "\"sidecar_enabled\": false, \"compressed_modules\": []}}", &q, &err),
                     HXQ_OK);
    ck_assert_int_eq(q.codebook_size, 4096);
    ck_assert_int_eq(q.packed12, 1);
    ck_assert_int_eq(q.sidecar_enabled, 0);
    ck_assert_int_eq(q.n_modules, 0);
    hxq_qconfig_free(&q);
    /* codebook_size wins over n_clusters; unknown keys are ignored */
    ck_assert_int_eq(parse("{\"quantization_config\": {\"quant_method\": \"hxq\", \"codebook_size\": 16,"
                           "\"n_clusters\": 256, \"future_key\": {\"x\": 1},"
                           "\"compressed_modules\": [\"m\"]}}", &q, &err), HXQ_OK);
    ck_assert_int_eq(q.codebook_size, 16);
    hxq_qconfig_free(&q);
}
END_TEST

static const struct {
    const char *json;
    int code;
    const char *want;
} bad_q[] = {
    {"{", HXQ_ERR_FORMAT, "not valid JSON"},
    {"{\"hidden_size\": 4}", HXQ_ERR_FORMAT, "no quantization_config"},
    {"{\"quantization_config\": []}", HXQ_ERR_FORMAT, "no quantization_config"},
    {"{\"quantization_config\": {\"compressed_modules\": []}}", HXQ_ERR_FORMAT, "no quant_method"},
    {"{\"quantization_config\": {\"quant_method\": \"gptq\"}}", HXQ_ERR_UNSUPPORTED, "'gptq'"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\"}}", HXQ_ERR_FORMAT,
     "no compressed_modules"},
    {"{\"quantization_config\": {\"quant_method\": \"cdna_v3\", \"bits\": 8, \"n_clusters\": 256}}",
     HXQ_ERR_FORMAT, "no compressed_modules"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"compressed_modules\": \"m\"}}",
     HXQ_ERR_FORMAT, "compressed_modules is not a list"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"compressed_modules\": [\"a\", 3]}}",
     HXQ_ERR_FORMAT, "compressed_modules[1] is not a string"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"exact_patterns\": [null],"
     "\"compressed_modules\": []}}", HXQ_ERR_FORMAT, "exact_patterns[0]"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"codebook_size\": 0,"
     "\"compressed_modules\": []}}", HXQ_ERR_FORMAT, "codebook size"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"codebook_size\": 5000,"
     "\"compressed_modules\": []}}", HXQ_ERR_FORMAT, "codebook size"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"codebook_size\": 16.5,"
     "\"compressed_modules\": []}}", HXQ_ERR_FORMAT, "codebook size"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"n_clusters\": \"256\","
     "\"compressed_modules\": []}}", HXQ_ERR_FORMAT, "codebook size"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"sidecar_enabled\": \"yes\","
     "\"compressed_modules\": []}}", HXQ_ERR_FORMAT, "sidecar_enabled"},
    {"{\"quantization_config\": {\"quant_method\": \"hxq\", \"index_packing\": 12,"
     "\"compressed_modules\": []}}", HXQ_ERR_FORMAT, "index_packing"},
};

START_TEST(errors)
{
    hxq_qconfig q;
    hxq_error err;
    int rc = parse(bad_q[_i].json, &q, &err);
    ck_assert_msg(rc == bad_q[_i].code, "case %d: rc %d (%s)", _i, rc, err.msg);
    ck_assert(strncmp(err.msg, "h/config.json: ", 15) == 0);
    ck_assert_msg(strstr(err.msg, bad_q[_i].want) != NULL, "case %d: '%s' lacks '%s'", _i, err.msg,
                  bad_q[_i].want);
    ck_assert_int_eq(q.n_modules, 0);                             /* untouched on failure */
}
END_TEST

START_TEST(dense_folder_is_not_hxq)
{
    hxq_qconfig q;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(hxq_qconfig_load(HXQ_FIXTURE_DENSE, &q, &err), HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, HXQ_FIXTURE_DENSE "/config.json"));
    ck_assert_int_eq(hxq_qconfig_load("test/io/none", &q, &err), HXQ_ERR_IO);
}
END_TEST

static Suite *qconfig_suite(void)
{
    Suite *s = suite_create("qconfig");
    TCase *tc = tcase_create("qconfig");
    tcase_add_test(tc, helix_fixture);
    tcase_add_test(tc, legacy_spellings);
    tcase_add_loop_test(tc, errors, 0, (int)(sizeof(bad_q) / sizeof(bad_q[0])));
    tcase_add_test(tc, dense_folder_is_not_hxq);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(qconfig_suite)
