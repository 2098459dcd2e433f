/* test_tokenize_cli.c - `hxq tokenize`: output formats, byte-exact input
 * from files and stdin, --decode, --add-special (with the Llama-2 file of
 * `make test-fixtures-npm`), and exit codes. */
#include "hxq_test.h"

#include <stdio.h>
#include <string.h>

#define OLMOE_TOK "test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json"

static char *dir;

static void setup(void)
{
    dir = hxq_test_tmpdir("tokcli");
}

static void teardown(void)
{
    hxq_test_rmtree(dir);
    free(dir);
}

/* Runs a command with stdout into <dir>/out; returns its exit status and
 * the output in *out (NUL-terminated). */
static int run(char **out, size_t *len, const char *fmt, const char *arg)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), fmt, hxq_test_bin(), arg);
    int rc = hxq_test_sh("%s > '%s/out' 2> '%s/err'", cmd, dir, dir);
    char path[4200];
    snprintf(path, sizeof(path), "%s/out", dir);
    size_t n = 0;
    uint8_t *o = hxq_test_read_file(path, &n);
    ck_assert_ptr_nonnull(o);
    *out = realloc(o, n + 1);
    (*out)[n] = 0;
    if (len)
        *len = n;
    return rc;
}

START_TEST(json_and_plain_output)
{
    char *out;
    ck_assert_int_eq(run(&out, NULL, "%s tokenize --tokenizer %s --json 'Hello, world!'",
                         OLMOE_TOK), 0);
    ck_assert_str_eq(out, "{\"ids\": [12092, 13, 1533, 2], \"tokens\": [\"Hello\", \",\", "
                          "\"Ġworld\", \"!\"]}\n");
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize %s 'Hello world'", HXQ_FIXTURE_DENSE), 0);
    ck_assert_str_eq(out, "41\tH\n417\tell\n80\to\n888\tĠworld\n");
    free(out);
}
END_TEST

START_TEST(input_bytes_are_exact)
{
    /* a trailing newline in a file or on stdin is part of the text */
    char path[4200], *a, *b;
    snprintf(path, sizeof(path), "%s/in.txt", dir);
    ck_assert_int_eq(hxq_test_write_file(path, "line one\nline two\n", 18), 0);
    ck_assert_int_eq(run(&a, NULL, "%s tokenize --tokenizer " OLMOE_TOK " --json --file %s",
                         path), 0);
    ck_assert_ptr_nonnull(strstr(a, "[1282, 581, 187, 1282, 767, 187]"));
    char cmd[4300];
    snprintf(cmd, sizeof(cmd), "%%s tokenize --tokenizer %%s --json - < '%s'", path);
    ck_assert_int_eq(run(&b, NULL, cmd, OLMOE_TOK), 0);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(decode_round_trip)
{
    char *out;
    size_t len;
    ck_assert_int_eq(run(&out, &len, "%s tokenize --tokenizer %s --decode '[12092, 13, 1533, 2, "
                                     "187]'", OLMOE_TOK), 0);
    ck_assert_uint_eq(len, 14);
    ck_assert_str_eq(out, "Hello, world!\n");
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize --tokenizer %s --decode --skip-special "
                                     "'1156 50279 3062'", OLMOE_TOK), 0);
    ck_assert_str_eq(out, "textmore");
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize --tokenizer %s --decode --json '1156,50279'",
                         OLMOE_TOK), 0);
    ck_assert_str_eq(out, "{\"text\": \"text<|endoftext|>\"}\n");
    free(out);
}
END_TEST

/* --add-special: the post-processor's tokens (Llama-2's <s>; OLMoE none) */
START_TEST(add_special_tokens)
{
    char *out;
    ck_assert_int_eq(run(&out, NULL, "%s tokenize --tokenizer %s --json --add-special 'Hello'",
                         "test/fixtures/npm/llama2/tokenizer.json"), 0);
    ck_assert_str_eq(out, "{\"ids\": [1, 22557], \"tokens\": [\"<s>\", \"\u2581Hello\"]}\n");
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize --tokenizer %s --json 'Hello'",
                         "test/fixtures/npm/llama2/tokenizer.json"), 0);
    ck_assert_str_eq(out, "{\"ids\": [22557], \"tokens\": [\"\u2581Hello\"]}\n");
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize %s --add-special 'Hello world'",
                         HXQ_FIXTURE_DENSE), 0);
    ck_assert_str_eq(out, "41\tH\n417\tell\n80\to\n888\t\u0120world\n");
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize %s --add-special --decode 1", HXQ_FIXTURE_DENSE),
                     2);
    free(out);
}
END_TEST

START_TEST(errors_and_exit_codes)
{
    char *out;
    ck_assert_int_eq(run(&out, NULL, "%s tokenize %s", HXQ_FIXTURE_DENSE), 2);
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize %s --bogus x", HXQ_FIXTURE_DENSE), 2);
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize --tokenizer %s --decode 'a b'", OLMOE_TOK), 2);
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize %s x", "/no/such/model"), 3);
    free(out);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize --tokenizer %s --file /no/such/file",
                         OLMOE_TOK), 3);
    free(out);
    /* invalid UTF-8 input is a usage-level error with the offset named */
    ck_assert_int_eq(run(&out, NULL, "printf 'ab\\377' | %s tokenize --tokenizer %s -",
                         OLMOE_TOK), 2);
    free(out);
    char path[4200];
    snprintf(path, sizeof(path), "%s/err", dir);
    char *err = (char *)hxq_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "not valid UTF-8 at byte 2"));
    free(err);
    ck_assert_int_eq(run(&out, NULL, "%s tokenize --help%s", ""), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: hxq tokenize"));
    free(out);
}
END_TEST

static Suite *tokenize_cli_suite(void)
{
    Suite *s = suite_create("tokenize_cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, json_and_plain_output);
    tcase_add_test(tc, input_bytes_are_exact);
    tcase_add_test(tc, decode_round_trip);
    tcase_add_test(tc, add_special_tokens);
    tcase_add_test(tc, errors_and_exit_codes);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(tokenize_cli_suite)
