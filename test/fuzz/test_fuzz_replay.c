/* test_fuzz_replay.c - replays every fuzz target over its committed corpus
 * (test/fuzz/corpus/<name>/: seeds from the fixtures plus every input a
 * fuzzing run found crashing, once fixed). The targets' own invariant
 * checks trap, and the sanitizer build (make test-san) catches memory
 * errors, so a regression fails here without running libFuzzer. */
#define HXQ_FUZZ_REPLAY 1
#include "hxq_test.h"

#include "fuzz_chat_template.c"
#include "fuzz_config.c"
#include "fuzz_eval_receipt.c"
#include "fuzz_index.c"
#include "fuzz_mc_rows.c"
#include "fuzz_qconfig.c"
#include "fuzz_receipt.c"
#include "fuzz_safetensors.c"
#include "fuzz_tokenizer_encode.c"
#include "fuzz_tokenizer_load.c"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* Runs fn over every regular file of test/fuzz/corpus/<name>; returns the
 * number of inputs. */
static int replay_dir(const char *name, fuzz_fn fn)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "test/fuzz/corpus/%s", name);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "%s: cannot open the corpus folder", dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t len = 0;
        uint8_t *buf = hxq_test_read_file(path, &len);
        ck_assert_msg(buf != NULL, "%s: unreadable", path);
        /* an exact-size copy, so ASan sees reads past the input */
        uint8_t *exact = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(exact);
        memcpy(exact, buf, len);
        free(buf);
        fn(exact, len);
        free(exact);
        n++;
    }
    closedir(d);
    return n;
}

/* Every target, its corpus folder and the least number of inputs there. */
static const struct {
    const char *name;
    fuzz_fn fn;
    int min_inputs;
} targets[] = {
    {"safetensors", hxq_fuzz_safetensors, 5},
    {"index", hxq_fuzz_index, 1},
    {"config", hxq_fuzz_config, 1},
    {"qconfig", hxq_fuzz_qconfig, 1},
    {"receipt", hxq_fuzz_receipt, 1},
    {"tokenizer_load", hxq_fuzz_tokenizer_load, 1},
    {"tokenizer_encode", hxq_fuzz_tokenizer_encode, 1},
    {"mc_rows", hxq_fuzz_mc_rows, 3},
    {"eval_receipt", hxq_fuzz_eval_receipt, 1},
    {"chat_template", hxq_fuzz_chat_template, 20},
};

START_TEST(replay_corpus)
{
    ck_assert_int_ge(replay_dir(targets[_i].name, targets[_i].fn), targets[_i].min_inputs);
}
END_TEST

/* The targets must accept the valid seeds (a target that rejected
 * everything would replay nothing useful). */
START_TEST(seeds_are_accepted)
{
    size_t len;
    uint8_t *buf = hxq_test_read_file("test/fuzz/corpus/safetensors/every_dtype.safetensors", &len);
    ck_assert_ptr_nonnull(buf);
    hxq_st_file *f = NULL;
    hxq_error err = {0};
    ck_assert_msg(hxq_st_parse(buf, len, "seed", &f, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(hxq_st_count(f), HXQ_DT_COUNT);
    hxq_st_close(f);
    free(buf);
    char *text = (char *)hxq_test_read_file("test/fuzz/corpus/index/tiny_olmoe_index.json", &len);
    ck_assert_ptr_nonnull(text);
    text = realloc(text, len + 1);
    text[len] = '\0';
    hxq_index ix;
    ck_assert_msg(hxq_index_parse(text, "seed", &ix, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(ix.count, 10);
    hxq_index_free(&ix);
    free(text);
}
END_TEST

static Suite *fuzz_replay_suite(void)
{
    Suite *s = suite_create("fuzz_replay");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, replay_corpus, 0, (int)(sizeof(targets) / sizeof(targets[0])));
    tcase_add_test(tc, seeds_are_accepted);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(fuzz_replay_suite)
