/* test_compress_cli.c - the hxq compress and hxq synth command lines: help
 * documents every option, exit codes, dry run, --json, --quiet. */
#include "hxq_test.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *capture(const char *cmd, int *status)
{
    char *tmp = hxq_test_tmpdir("cli-out");
    char line[4096];
    snprintf(line, sizeof(line), "%s > '%s/out' 2> '%s/err'", cmd, tmp, tmp);
    *status = hxq_test_sh("%s", line);
    snprintf(line, sizeof(line), "%s/out", tmp);
    size_t len;
    char *out = (char *)hxq_test_read_file(line, &len);
    ck_assert_ptr_nonnull(out);
    char *z = realloc(out, len + 1);
    z[len] = '\0';
    hxq_test_rmtree(tmp);
    free(tmp);
    return z;
}

START_TEST(help_documents_every_option)
{
    static const char *const opts[] = {"--exact", "--min-elements", "--sidecar", "--threads",
                                       "--window", "--max-shard-size", "--snr-floor", "--force",
                                       "--dry-run", "--quiet", "--json", "--help"};
    char cmd[512];
    int st;
    snprintf(cmd, sizeof(cmd), "%s compress --help", hxq_test_bin());
    char *out = capture(cmd, &st);
    ck_assert_int_eq(st, 0);
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        ck_assert_msg(strstr(out, opts[i]) != NULL, "--help lacks %s", opts[i]);
        /* and the parser knows it: an unknown option is a usage error */
        char c2[512];
        snprintf(c2, sizeof(c2), "%s compress %s 1 2>&1 | grep -q 'unknown option'",
                 hxq_test_bin(), opts[i]);
        ck_assert_int_ne(hxq_test_sh("%s", c2), 0);
    }
    free(out);
    snprintf(cmd, sizeof(cmd), "%s synth --help", hxq_test_bin());
    out = capture(cmd, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_ptr_nonnull(strstr(out, "--fused"));
    free(out);
}
END_TEST

START_TEST(usage_errors)
{
    const char *bin = hxq_test_bin();
    ck_assert_int_eq(hxq_test_sh("%s compress 2>/dev/null", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s compress a 2>/dev/null", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s compress a b --bogus 2>/dev/null", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s compress a b --threads 0 2>/dev/null", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s compress a b --sidecar lots 2>/dev/null", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s compress a b --max-shard-size 5XB 2>/dev/null", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s compress a b --snr-floor 2>/dev/null", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s synth 2>/dev/null", bin), 2);
    ck_assert_int_eq(hxq_test_sh("%s synth x --layers 0 2>/dev/null", bin), 2);
}
END_TEST

START_TEST(end_to_end)
{
    const char *bin = hxq_test_bin();
    char *tmp = hxq_test_tmpdir("cli");
    char cmd[2048];
    int st;
    ck_assert_int_eq(hxq_test_sh("%s synth '%s/src' --layers 1 --hidden 64 --intermediate 32 "
                                 "--experts 2 --top-k 1 --heads 4 --vocab 64 --seed 3",
                                 bin, tmp), 0);
    /* dry run: the plan, nothing written */
    snprintf(cmd, sizeof(cmd), "%s compress '%s/src' '%s/dry' --dry-run", bin, tmp, tmp);
    char *out = capture(cmd, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_ptr_nonnull(strstr(out, "compress  model.layers.0.self_attn.q_proj"));
    ck_assert_ptr_nonnull(strstr(out, "exact     model.embed_tokens.weight"));
    ck_assert_ptr_nonnull(strstr(out, "plan: "));
    free(out);
    ck_assert_int_ne(hxq_test_sh("test -e '%s/dry'", tmp), 0);
    /* --json summary */
    snprintf(cmd, sizeof(cmd), "%s compress '%s/src' '%s/out' --json --threads 2", bin, tmp,
             tmp);
    out = capture(cmd, &st);
    ck_assert_int_eq(st, 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "verdict")->valuestring, "PASS");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "compressed")->valueint, 4 + 2 * 3);
    cJSON_Delete(j);
    free(out);
    /* existing DST: usage exit 2; --quiet --force: silent success */
    ck_assert_int_eq(hxq_test_sh("%s compress '%s/src' '%s/out' 2>/dev/null", bin, tmp, tmp), 2);
    snprintf(cmd, sizeof(cmd), "%s compress '%s/src' '%s/out' --quiet --force", bin, tmp, tmp);
    out = capture(cmd, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "");
    free(out);
    /* the quality gate fails: exit 1, summary says FAIL */
    snprintf(cmd, sizeof(cmd), "%s compress '%s/src' '%s/gate' --snr-floor 300", bin, tmp, tmp);
    out = capture(cmd, &st);
    ck_assert_int_eq(st, 1);
    ck_assert_ptr_nonnull(strstr(out, "verdict FAIL"));
    free(out);
    /* not a model: exit 3 */
    ck_assert_int_eq(hxq_test_sh("%s compress '%s/gate/nope' '%s/x' 2>/dev/null", bin, tmp, tmp),
                     3);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("compress_cli");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, help_documents_every_option);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, end_to_end);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(cli_suite)
