/* test_run.c - `hxq run` end to end: greedy generation and prompt logits
 * against transformers' goldens, chat mode, sampling reproducibility and
 * the command's errors. */
#include "hxq_io.h"
#include "hxq_test.h"
#include "hxq_tokenizer.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLD HXQ_FIXTURE_GOLDEN "/golden_dense.safetensors"

/* Runs `hxq run ARGS` with stdout captured into DIR/out; returns the exit
 * status and the parsed JSON (when json_out). */
static int run(const char *dir, const char *args, cJSON **json_out)
{
    int rc = hxq_test_sh("%s run %s > %s/out 2> %s/err", hxq_test_bin(), args, dir, dir);
    if (json_out) {
        char path[512];
        size_t len;
        snprintf(path, sizeof(path), "%s/out", dir);
        char *text = (char *)hxq_test_read_file(path, &len);
        ck_assert_ptr_nonnull(text);
        *json_out = cJSON_ParseWithLength(text, len);
        ck_assert_msg(*json_out != NULL, "not JSON: %s", text);
        free(text);
    }
    return rc;
}

static char *read_text(const char *dir, const char *name)
{
    char path[512];
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *t = (char *)hxq_test_read_file(path, &len);
    ck_assert_ptr_nonnull(t);
    char *s = realloc(t, len + 1);
    s[len] = '\0';
    return s;
}

static int64_t golden_i64(const hxq_tensor *t, int64_t i)
{
    int64_t v;
    memcpy(&v, (const char *)t->data + 8 * i, 8);
    return v;
}

START_TEST(greedy_and_logits_match_golden)
{
    char *dir = hxq_test_tmpdir("run");
    hxq_st_file *g, *lf;
    hxq_error err = {0};
    ck_assert_msg(hxq_st_open(GOLD, &g, &err) == HXQ_OK, "%s", err.msg);
    /* public1 of golden_dense.json */
    char args[1024];
    snprintf(args, sizeof(args),
             "%s --prompt 'ROMEO:\nBut, soft! what light' -n 32 --threads 2 --json "
             "--logits-out %s/logits.safetensors", HXQ_FIXTURE_DENSE, dir);
    cJSON *j;
    ck_assert_int_eq(run(dir, args, &j), 0);
    const hxq_tensor *gids = hxq_st_find(g, "public1.ids");
    const hxq_tensor *ggreedy = hxq_st_find(g, "public1.greedy32");
    const hxq_tensor *glog = hxq_st_find(g, "public1.logits");
    cJSON *pi = cJSON_GetObjectItem(j, "prompt_ids"), *gi = cJSON_GetObjectItem(j, "generated_ids");
    ck_assert_int_eq(cJSON_GetArraySize(pi), gids->nelem);
    for (int64_t i = 0; i < gids->nelem; i++)
        ck_assert_int_eq(cJSON_GetArrayItem(pi, (int)i)->valueint, golden_i64(gids, i));
    ck_assert_int_eq(cJSON_GetArraySize(gi), 32);
    for (int64_t i = 0; i < 32; i++)
        ck_assert_int_eq(cJSON_GetArrayItem(gi, (int)i)->valueint, golden_i64(ggreedy, i));
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "text")));
    ck_assert(cJSON_GetObjectItem(j, "decode_tokens_per_s")->valuedouble > 0);
    cJSON_Delete(j);
    char path[512];
    snprintf(path, sizeof(path), "%s/logits.safetensors", dir);
    ck_assert_msg(hxq_st_open(path, &lf, &err) == HXQ_OK, "%s", err.msg);
    const hxq_tensor *l = hxq_st_find(lf, "logits"), *ids = hxq_st_find(lf, "ids");
    ck_assert(l && ids && l->dtype == HXQ_DT_F32 && ids->dtype == HXQ_DT_I64);
    ck_assert_int_eq(l->nelem, glog->nelem);
    ck_assert_int_eq(l->shape[0], gids->nelem);
    for (int64_t i = 0; i < ids->nelem; i++)
        ck_assert_int_eq(golden_i64(ids, i), golden_i64(gids, i));
    for (int64_t i = 0; i < l->nelem; i++)
        ck_assert(fabsf(hxq_tensor_f32_at(l, i) - hxq_tensor_f32_at(glog, i)) < 1e-3f);
    hxq_st_close(lf);
    hxq_st_close(g);
    /* the streamed text equals the JSON text of the same run */
    snprintf(args, sizeof(args), "%s --prompt 'To be, or not to be' -n 32", HXQ_FIXTURE_DENSE);
    ck_assert_int_eq(run(dir, args, NULL), 0);
    char *streamed = read_text(dir, "out");
    ck_assert_msg(strncmp(streamed, " so,\nAs I have a little thing", 29) == 0, "%s", streamed);
    char *speeds = read_text(dir, "err");
    ck_assert_msg(strstr(speeds, "decode 32 tokens") != NULL, "%s", speeds);
    free(streamed);
    free(speeds);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(chat_sampling_and_pipe)
{
    char *dir = hxq_test_tmpdir("run");
    char args[1024];
    cJSON *a, *b;
    /* chat template: the prompt starts with <|endoftext|> (id 0) */
    snprintf(args, sizeof(args), "%s --chat 'Who goes there?' --system 'Be brief.' -n 8 "
             "--temp 0.9 --top-k 40 --top-p 0.95 --seed 7 --json", HXQ_FIXTURE_DENSE);
    ck_assert_int_eq(run(dir, args, &a), 0);
    ck_assert_int_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(a, "prompt_ids"), 0)->valueint, 0);
    /* the prompt ids are the template's text (shared/reference/olmoe.md's form)
     * encoded with no special tokens added: transformers' tokenize=True */
    hxq_tokenizer *tok;
    ck_assert_int_eq(hxq_tokenizer_load(HXQ_FIXTURE_DENSE, &tok, NULL), HXQ_OK);
    const char *text = "<|endoftext|><|system|>\nBe brief.\n<|user|>\nWho goes there?\n"
                       "<|assistant|>\n";
    int32_t *want;
    int64_t nwant;
    ck_assert_int_eq(hxq_tokenizer_encode(tok, text, strlen(text), &want, &nwant, NULL), HXQ_OK);
    const cJSON *pids = cJSON_GetObjectItem(a, "prompt_ids");
    ck_assert_int_eq(cJSON_GetArraySize(pids), nwant);
    for (int64_t i = 0; i < nwant; i++)
        ck_assert_int_eq(cJSON_GetArrayItem(pids, (int)i)->valueint, want[i]);
    free(want);
    hxq_tokenizer_free(tok);
    /* same seed, same tokens */
    ck_assert_int_eq(run(dir, args, &b), 0);
    cJSON *ga = cJSON_GetObjectItem(a, "generated_ids"), *gb = cJSON_GetObjectItem(b, "generated_ids");
    ck_assert_int_eq(cJSON_GetArraySize(ga), cJSON_GetArraySize(gb));
    for (int i = 0; i < cJSON_GetArraySize(ga); i++)
        ck_assert_int_eq(cJSON_GetArrayItem(ga, i)->valueint, cJSON_GetArrayItem(gb, i)->valueint);
    cJSON_Delete(a);
    cJSON_Delete(b);
    /* a pipe is read whole as the prompt */
    ck_assert_int_eq(hxq_test_sh("printf 'To be, or not to be' | %s run %s -n 2 --json > %s/out 2>/dev/null",
                                 hxq_test_bin(), HXQ_FIXTURE_DENSE, dir), 0);
    char *out = read_text(dir, "out");
    ck_assert_msg(strstr(out, "\"prompt_ids\":[399,306,13,532,323,289,306]") != NULL, "%s", out);
    free(out);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* A template hxq cannot render: the error names its line and construct and
 * points to --prompt, which still works. */
START_TEST(chat_template_errors)
{
    char *dir = hxq_test_tmpdir("run");
    ck_assert_int_eq(hxq_test_sh("mkdir %s/m && for f in %s/*; do case $f in "
                                 "*tokenizer_config.json) ;; *) ln -s \"$PWD/$f\" %s/m/ ;; esac; "
                                 "done", dir, HXQ_FIXTURE_DENSE, dir), 0);
    char path[512], args[1024];
    snprintf(path, sizeof(path), "%s/m/tokenizer_config.json", dir);
    const char *cfg = "{\"bos_token\": \"<|endoftext|>\", \"eos_token\": \"<|endoftext|>\", "
                      "\"chat_template\": \"{{ bos_token }}\\n{{ messages|groupby('role') }}\"}";
    ck_assert_int_eq(hxq_test_write_file(path, cfg, strlen(cfg)), 0);
    snprintf(args, sizeof(args), "%s/m --chat hi -n 1", dir);
    ck_assert_int_eq(run(dir, args, NULL), 3);
    char *msg = read_text(dir, "err");
    ck_assert_msg(strstr(msg, "line 2: unsupported filter 'groupby'") && strstr(msg, "--prompt"),
                  "%s", msg);
    free(msg);
    snprintf(args, sizeof(args), "%s/m --prompt hi -n 1", dir);
    ck_assert_int_eq(run(dir, args, NULL), 0);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Interactive mode on a pseudo-terminal (util-linux `script`): two turns,
 * the second reusing the cache, the third after the context filled. */
START_TEST(interactive_chat)
{
    if (hxq_test_sh("command -v script >/dev/null 2>&1") != 0)
        return;     /* no pseudo-terminal helper on this machine */
    char *dir = hxq_test_tmpdir("run");
    ck_assert_int_eq(hxq_test_sh("printf 'Hello there\\nWho are you?\\nAnd then?\\n' | "
                                 "script -qec '%s run %s -n 40 --ctx 80 --threads 1' /dev/null "
                                 "> %s/out 2>&1", hxq_test_bin(), HXQ_FIXTURE_DENSE, dir), 0);
    char *out = read_text(dir, "out");
    int turns = 0;
    for (const char *p = out; (p = strstr(p, "decode ")) != NULL; p++)
        turns++;
    ck_assert_msg(turns == 2 && strstr(out, "context full") && strstr(out, "starting over"),
                  "%s", out);
    free(out);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(errors)
{
    char *dir = hxq_test_tmpdir("run");
    char args[512];
    ck_assert_int_eq(run(dir, "", NULL), 2);
    snprintf(args, sizeof(args), "%s --prompt a --chat b", HXQ_FIXTURE_DENSE);
    ck_assert_int_eq(run(dir, args, NULL), 2);
    snprintf(args, sizeof(args), "%s --prompt a --temp -1", HXQ_FIXTURE_DENSE);
    ck_assert_int_eq(run(dir, args, NULL), 2);
    snprintf(args, sizeof(args), "%s --prompt a --bogus", HXQ_FIXTURE_DENSE);
    ck_assert_int_eq(run(dir, args, NULL), 2);
    snprintf(args, sizeof(args), "%s --prompt a --device tpu", HXQ_FIXTURE_DENSE);
    ck_assert_int_eq(run(dir, args, NULL), 2);
    snprintf(args, sizeof(args), "%s/none --prompt a", dir);
    ck_assert_int_eq(run(dir, args, NULL), 3);
    snprintf(args, sizeof(args), "%s --prompt a --device cuda", HXQ_FIXTURE_DENSE);
    int rc = run(dir, args, NULL);
    if (rc != 0) {      /* no GPU here: a clear device error, exit 3 */
        ck_assert_int_eq(rc, 3);
        char *msg = read_text(dir, "err");
        ck_assert_msg(strstr(msg, "CUDA") != NULL || strstr(msg, "device") != NULL, "%s", msg);
        free(msg);
    }
    /* the context fills: a clear error, exit 3 */
    snprintf(args, sizeof(args), "%s --prompt 'To be, or not to be' --ctx 9 -n 20",
             HXQ_FIXTURE_DENSE);
    ck_assert_int_eq(run(dir, args, NULL), 3);
    char *msg = read_text(dir, "err");
    ck_assert_msg(strstr(msg, "context full") != NULL, "%s", msg);
    free(msg);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

Suite *run_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, greedy_and_logits_match_golden);
    tcase_add_test(tc, chat_sampling_and_pipe);
    tcase_add_test(tc, chat_template_errors);
    tcase_add_test(tc, interactive_chat);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(run_suite)
