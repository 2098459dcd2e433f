/* test_quality.c - the product's promise on the bundled model, end to end:
 * `hxq compress` with default options, then `hxq eval --reference` over the
 * golden validation positions (64 windows x 256 tokens of the last 111,537
 * bytes of Tiny Shakespeare). Our compressed tiny-olmoe must beat both peers
 * measured outside this project on exactly these positions: the reference
 * implementation's tiny-olmoe-helix (KL 2.46e-4, top-1 99.02%) and
 * llama.cpp's Q8_0 (KL 7.9e-5, top-1 99.45%). */
#include "hxq_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

START_TEST(compressed_beats_reference_and_q8_0)
{
    char *dir = hxq_test_tmpdir("quality");
    ck_assert_int_eq(hxq_test_sh("tail -c +1003858 test/fixtures/tinyshakespeare.txt > %s/val.txt",
                                 dir), 0);
    ck_assert_int_eq(hxq_test_sh("%s compress %s %s/m --threads 2 --quiet", hxq_test_bin(),
                                 HXQ_FIXTURE_DENSE, dir), 0);
    /* no larger than the reference's 11.5 MiB of weights */
    char path[4200];
    struct stat st;
    snprintf(path, sizeof(path), "%s/m/model.safetensors", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_msg(st.st_size <= 11.5 * 1024 * 1024, "model.safetensors is %lld bytes",
                  (long long)st.st_size);
    ck_assert_int_eq(hxq_test_sh("%s eval %s/m --reference %s --text %s/val.txt --windows 64 "
                                 "--threads 2 --json > %s/out.json", hxq_test_bin(), dir,
                                 HXQ_FIXTURE_DENSE, dir, dir), 0);
    snprintf(path, sizeof(path), "%s/out.json", dir);
    char *out = (char *)hxq_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq((int)hxq_test_json_num(out, "positions"), 16384);
    double kl = hxq_test_json_num(out, "kl"), top1 = hxq_test_json_num(out, "top1_agree");
    double ref_nll = hxq_test_json_num(out, "ref_nll");
    ck_assert_msg(fabs(ref_nll - 4.190974) < 1e-4, "dense nll %.6f", ref_nll);
    ck_assert_msg(kl > 0 && kl < 7.9e-5, "KL %.3g is not below llama.cpp Q8_0's 7.9e-5", kl);
    ck_assert_msg(top1 > 0.9945, "top-1 agreement %.4f is not above Q8_0's 99.45%%", top1);
    free(out);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *quality_suite(void)
{
    Suite *s = suite_create("quality");
    TCase *tc = tcase_create("tiny-olmoe");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, compressed_beats_reference_and_q8_0);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(quality_suite)
