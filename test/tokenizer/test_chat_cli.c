/* test_chat_cli.c - `hxq chat-template`: a model's template with messages
 * from a file or stdin, a template file with variables, --ids as hxq run
 * --chat encodes them, and the errors. */
#include "hxq_test.h"
#include "hxq_tokenizer.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char *dir;
static char root[4096]; /* the repository root: the commands run in dir */

static void setup(void)
{
    dir = hxq_test_tmpdir("chatcli");
    ck_assert_ptr_nonnull(getcwd(root, sizeof(root)));
    setenv("HXQ_ROOT", root, 1);
}

static void teardown(void)
{
    hxq_test_rmtree(dir);
    free(dir);
}

/* Runs `hxq chat-template ARGS` (a shell fragment, run in dir) with stdout
 * into out and stderr into err; returns the exit status and the output. */
static int run(char **out, const char *args)
{
    const char *b = hxq_test_bin();
    char bin[8192];
    snprintf(bin, sizeof(bin), "%s%s%s", b[0] == '/' ? "" : root, b[0] == '/' ? "" : "/", b);
    int rc = hxq_test_sh("cd '%s' && '%s' chat-template %s > out 2> err", dir, bin, args);
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, rc == 0 ? "out" : "err");
    size_t n = 0;
    uint8_t *o = hxq_test_read_file(path, &n);
    ck_assert_ptr_nonnull(o);
    *out = realloc(o, n + 1);
    (*out)[n] = 0;
    return rc;
}

static void write_in(const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_int_eq(hxq_test_write_file(path, text, strlen(text)), 0);
}

#define MODEL "\"$HXQ_ROOT\"/" HXQ_FIXTURE_DENSE

START_TEST(model_template_and_ids)
{
    write_in("m.json", "[{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", "
                       "\"content\": \"Hi\"}]");
    char *out;
    ck_assert_int_eq(run(&out, MODEL " --messages m.json"), 0);
    ck_assert_str_eq(out, "<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n");
    free(out);
    ck_assert_int_eq(run(&out, MODEL " --messages - --no-generation-prompt < m.json"), 0);
    ck_assert_str_eq(out, "<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n");
    free(out);
    /* --ids: the rendered text encoded with no special tokens added */
    hxq_tokenizer *tok;
    ck_assert_int_eq(hxq_tokenizer_load(HXQ_FIXTURE_DENSE, &tok, NULL), HXQ_OK);
    const char *text = "<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n";
    int32_t *ids;
    int64_t n;
    ck_assert_int_eq(hxq_tokenizer_encode(tok, text, strlen(text), &ids, &n, NULL), HXQ_OK);
    char want[4096];
    size_t k = 0;
    for (int64_t i = 0; i < n; i++)
        k += (size_t)snprintf(want + k, sizeof(want) - k, i ? " %d" : "%d", ids[i]);
    snprintf(want + k, sizeof(want) - k, "\n");
    free(ids);
    hxq_tokenizer_free(tok);
    ck_assert_int_eq(run(&out, MODEL " --messages m.json --ids"), 0);
    ck_assert_str_eq(out, want);
    free(out);
    /* no messages: the template's bos only */
    ck_assert_int_eq(run(&out, MODEL), 0);
    ck_assert_str_eq(out, "<|endoftext|>");
    free(out);
}
END_TEST

START_TEST(template_file_and_vars)
{
    write_in("t.jinja", "{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}"
                        "{{ extra }}|{{ strftime_now('%Y') }}|{{ add_generation_prompt }}\n");
    write_in("m.json", "[{\"role\": \"user\", \"content\": \"x\", \"n\": 1.0}]");
    char *out;
    ck_assert_int_eq(run(&out, "--template t.jinja --messages m.json --vars '{\"extra\": "
                               "[1.0, 2]}' --now 0"), 0);
    ck_assert_str_eq(out, "user:x;[1.0, 2]|1970|True");
    free(out);
    ck_assert_int_eq(run(&out, "--template t.jinja --vars '{}' --no-generation-prompt "
                               "--now 0"), 0);
    ck_assert_str_eq(out, "|1970|False");
    free(out);
}
END_TEST

START_TEST(errors)
{
    char *out;
    ck_assert_int_eq(run(&out, ""), 2);
    free(out);
    ck_assert_int_eq(run(&out, MODEL " --template x"), 2);
    free(out);
    ck_assert_int_eq(run(&out, "--template x --ids"), 2);
    free(out);
    ck_assert_int_eq(run(&out, MODEL " --bogus"), 2);
    free(out);
    ck_assert_int_eq(run(&out, "--template t.jinja --vars '[1]'"), 2);
    free(out);
    write_in("t.jinja", "ok\n{% for x in y %}");
    ck_assert_int_eq(run(&out, "--template t.jinja"), 3);
    ck_assert_msg(strstr(out, "line 2") && strstr(out, "endfor"), "%s", out);
    free(out);
    write_in("t.jinja", "{{ raise_exception('no') }}");
    ck_assert_int_eq(run(&out, "--template t.jinja"), 2);
    ck_assert_msg(strstr(out, "the template raised an error: no") != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(run(&out, "--template missing.jinja"), 3);
    free(out);
    ck_assert_int_eq(run(&out, "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: hxq chat-template"));
    free(out);
}
END_TEST

static Suite *chat_cli_suite(void)
{
    Suite *s = suite_create("chat_cli");
    TCase *tc = tcase_create("chat_cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, model_template_and_ids);
    tcase_add_test(tc, template_file_and_vars);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(chat_cli_suite)
