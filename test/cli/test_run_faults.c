/* test_run_faults.c - hxq run on damaged model folders: a truncated or
 * corrupted safetensors file, a broken config.json or tokenizer.json, a
 * config that disagrees with the tensors, flipped weight bytes. Each
 * either fails with exit 3 and a message naming the file, or (for data it
 * cannot detect without hashes, which is hxq verify's job) still runs;
 * never a crash. Copies link the unchanged files of the fixture. */
#include "hxq_test.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *files[] = {"config.json", "model.safetensors", "tokenizer.json",
                              "tokenizer_config.json", "special_tokens_map.json"};

/* A copy of the HXQ fixture with every file linked except `except`. */
static char *copy_model(const char *tag, const char *except)
{
    char *dir = hxq_test_tmpdir(tag);
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (!except || strcmp(files[i], except))
            ck_assert_int_eq(hxq_test_sh("ln -s '%s/%s/%s' '%s/%s'", cwd, HXQ_FIXTURE_HELIX,
                                         files[i], dir, files[i]), 0);
    return dir;
}

/* Runs hxq run on dir; returns the exit status (-1 for a signal) and the
 * stderr text in *errtext (malloc'd). */
static int run_model(const char *dir, char **errtext)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "'%s' run '%s' --prompt 'Hello' -n 2 --threads 1 >/dev/null 2>'%s/err.txt'",
             hxq_test_bin(), dir, dir);
    int st = system(cmd);
    char p[4200];
    snprintf(p, sizeof(p), "%s/err.txt", dir);
    size_t n = 0;
    char *t = (char *)hxq_test_read_file(p, &n);
    t = realloc(t, n + 1);
    t[n] = '\0';
    *errtext = t;
    if (st == -1 || !WIFEXITED(st))
        return -1;
    if (WEXITSTATUS(st) > 128)                       /* the shell reports a signal */
        return -1;
    return WEXITSTATUS(st);
}

static void expect_failure(const char *dir, const char *want)
{
    char *e = NULL;
    int rc = run_model(dir, &e);
    ck_assert_msg(rc == 3, "exit %d, want 3 (stderr: %s)", rc, e);
    ck_assert_msg(strncmp(e, "hxq run: ", 9) == 0, "stderr: %s", e);
    ck_assert_msg(strstr(e, want) != NULL, "stderr '%s' does not name '%s'", e, want);
    free(e);
}

START_TEST(intact_copy_runs)
{
    char *dir = copy_model("run-ok", NULL);
    char *e = NULL;
    int rc = run_model(dir, &e);
    ck_assert_msg(rc == 0, "exit %d (%s)", rc, e);
    free(e);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(truncated_weights)
{
    const long cuts[] = {4, 100, 5000, 3000000};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char *dir = copy_model("run-trunc", "model.safetensors");
        ck_assert_int_eq(hxq_test_sh("head -c %ld '%s/model.safetensors' > '%s/model.safetensors'",
                                     cuts[i], HXQ_FIXTURE_HELIX, dir), 0);
        expect_failure(dir, "model.safetensors");
        hxq_test_rmtree(dir);
        free(dir);
    }
}
END_TEST

START_TEST(corrupted_header)
{
    char *dir = copy_model("run-hdr", "model.safetensors");
    /* overwrite 16 bytes inside the JSON header with garbage */
    ck_assert_int_eq(hxq_test_sh("cp '%s/model.safetensors' '%s/' && chmod u+w '%s/model.safetensors'"
                                 " && printf 'XXXXXXXXXXXXXXXX' | dd of='%s/model.safetensors' bs=1"
                                 " seek=200 conv=notrunc 2>/dev/null",
                                 HXQ_FIXTURE_HELIX, dir, dir, dir), 0);
    expect_failure(dir, "model.safetensors");
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(broken_config_and_tokenizer)
{
    char *dir = copy_model("run-cfg", "config.json");
    char p[4200];
    snprintf(p, sizeof(p), "%s/config.json", dir);
    ck_assert_int_eq(hxq_test_write_file(p, "{\"hidden_size\": ", 16), 0);
    expect_failure(dir, "config.json");
    hxq_test_rmtree(dir);
    free(dir);

    dir = copy_model("run-tok", "tokenizer.json");
    snprintf(p, sizeof(p), "%s/tokenizer.json", dir);
    ck_assert_int_eq(hxq_test_write_file(p, "{\"model\": {\"type\": \"BPE\", \"vocab\": 5}}", 38), 0);
    expect_failure(dir, "tokenizer.json");
    hxq_test_rmtree(dir);
    free(dir);

    dir = copy_model("run-notok", "tokenizer.json");
    expect_failure(dir, "tokenizer.json");
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* config.json that disagrees with the tensors' shapes. */
START_TEST(config_disagrees_with_tensors)
{
    const char *edits[] = {"s/\"hidden_size\": 256/\"hidden_size\": 512/",
                           "s/\"num_hidden_layers\": 4/\"num_hidden_layers\": 6/",
                           "s/\"num_experts\": 16/\"num_experts\": 32/",
                           "s/\"vocab_size\": 4096/\"vocab_size\": 9000/"};
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *dir = copy_model("run-shape", "config.json");
        ck_assert_int_eq(hxq_test_sh("sed '%s' '%s/config.json' > '%s/config.json'", edits[i],
                                     HXQ_FIXTURE_HELIX, dir), 0);
        ck_assert_int_ne(hxq_test_sh("cmp -s '%s/config.json' '%s/config.json'", HXQ_FIXTURE_HELIX,
                                     dir), 0);                       /* the edit applied */
        char *e = NULL;
        int rc = run_model(dir, &e);
        ck_assert_msg(rc == 3, "%s: exit %d (stderr: %s)", edits[i], rc, e);
        ck_assert_msg(strncmp(e, "hxq run: ", 9) == 0, "%s: stderr: %s", edits[i], e);
        free(e);
        hxq_test_rmtree(dir);
        free(dir);
    }
}
END_TEST

/* Flipped bytes in the weights cannot be seen without hashes; the run
 * must still end normally (any output), not crash. */
START_TEST(flipped_weight_bytes)
{
    const long offs[] = {2000000, 6000000, 11000000, 12042000};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        char *dir = copy_model("run-flip", "model.safetensors");
        ck_assert_int_eq(hxq_test_sh("cp '%s/model.safetensors' '%s/' && chmod u+w "
                                     "'%s/model.safetensors' && printf '\\377\\377\\377\\377\\177\\377' | "
                                     "dd of='%s/model.safetensors' bs=1 seek=%ld conv=notrunc "
                                     "2>/dev/null", HXQ_FIXTURE_HELIX, dir, dir, dir, offs[i]), 0);
        char *e = NULL;
        int rc = run_model(dir, &e);
        ck_assert_msg(rc == 0 || rc == 3, "offset %ld: exit %d (stderr: %s)", offs[i], rc, e);
        if (rc == 3)
            ck_assert_msg(strncmp(e, "hxq run: ", 9) == 0, "stderr: %s", e);
        free(e);
        hxq_test_rmtree(dir);
        free(dir);
    }
}
END_TEST

static Suite *run_faults_suite(void)
{
    Suite *s = suite_create("run_faults");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, intact_copy_runs);
    tcase_add_test(tc, truncated_weights);
    tcase_add_test(tc, corrupted_header);
    tcase_add_test(tc, broken_config_and_tokenizer);
    tcase_add_test(tc, config_disagrees_with_tensors);
    tcase_add_test(tc, flipped_weight_bytes);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(run_faults_suite)
