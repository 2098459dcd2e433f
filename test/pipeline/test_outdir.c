/* test_outdir.c - staging folders renamed into place; refusals; aux copy;
 * sharded output with its index. */
#include "hxq_pipeline.h"
#include "hxq_test.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Entries of dir whose name starts with prefix. */
static int count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += !strncmp(de->d_name, prefix, strlen(prefix));
    closedir(d);
    return n;
}

START_TEST(begin_commit)
{
    char *tmp = hxq_test_tmpdir("outdir");
    char dst[512], f[600];
    snprintf(dst, sizeof(dst), "%s/out", tmp);
    hxq_outdir *od;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_outdir_begin(dst, NULL, 0, &od, &err), HXQ_OK);
    ck_assert_int_eq(hxq_path_exists(dst), 0);
    ck_assert(hxq_is_dir(hxq_outdir_path(od)));
    ck_assert_int_eq(count_prefix(tmp, "out.tmp-"), 1);
    snprintf(f, sizeof(f), "%s/a.txt", hxq_outdir_path(od));
    ck_assert_int_eq(hxq_test_write_file(f, "1", 1), 0);
    ck_assert_int_eq(hxq_outdir_commit(od, &err), HXQ_OK);
    snprintf(f, sizeof(f), "%s/a.txt", dst);
    ck_assert(hxq_path_exists(f));
    ck_assert_int_eq(count_prefix(tmp, "out.tmp-"), 0);

    /* exists: refused without force, nothing created */
    ck_assert_int_eq(hxq_outdir_begin(dst, NULL, 0, &od, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "--force"));
    ck_assert_int_eq(count_prefix(tmp, "out.tmp-"), 0);
    /* with force: replaced, old content gone, no leftovers */
    ck_assert_int_eq(hxq_outdir_begin(dst, NULL, 1, &od, &err), HXQ_OK);
    snprintf(f, sizeof(f), "%s/b.txt", hxq_outdir_path(od));
    ck_assert_int_eq(hxq_test_write_file(f, "2", 1), 0);
    ck_assert_int_eq(hxq_outdir_commit(od, &err), HXQ_OK);
    snprintf(f, sizeof(f), "%s/a.txt", dst);
    ck_assert(!hxq_path_exists(f));
    snprintf(f, sizeof(f), "%s/b.txt", dst);
    ck_assert(hxq_path_exists(f));
    ck_assert_int_eq(count_prefix(tmp, "out."), 0);

    /* abort removes the staging folder and leaves dst alone */
    ck_assert_int_eq(hxq_outdir_begin(dst, NULL, 1, &od, &err), HXQ_OK);
    hxq_outdir_abort(od);
    hxq_outdir_abort(NULL);
    ck_assert_int_eq(count_prefix(tmp, "out."), 0);
    ck_assert(hxq_path_exists(f));
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(refusals)
{
    char *tmp = hxq_test_tmpdir("outdir");
    char src[512], dst[600];
    snprintf(src, sizeof(src), "%s/src", tmp);
    ck_assert_int_eq(mkdir(src, 0755), 0);
    hxq_outdir *od = NULL;
    hxq_error err = {0};
    snprintf(dst, sizeof(dst), "%s/inner/", src);
    ck_assert_int_eq(hxq_outdir_begin(dst, src, 0, &od, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "inside the source"));
    ck_assert_int_eq(hxq_outdir_begin(src, src, 1, &od, &err), HXQ_ERR_INVALID);
    /* a source inside the destination would be deleted by --force */
    ck_assert_int_eq(hxq_outdir_begin(tmp, src, 1, &od, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "inside the output"));
    /* the parent must exist */
    snprintf(dst, sizeof(dst), "%s/no/such/out", tmp);
    ck_assert_int_lt(hxq_outdir_begin(dst, NULL, 0, &od, &err), 0);
    ck_assert_int_lt(hxq_outdir_begin("", NULL, 0, &od, &err), 0);
    ck_assert_ptr_null(od);
    ck_assert_int_eq(count_prefix(tmp, "src."), 0);
    ck_assert_int_eq(count_prefix(src, "inner"), 0);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(aux_files)
{
    char *tmp = hxq_test_tmpdir("aux");
    const char **names = NULL;
    int n = -1;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_copy_aux_files(HXQ_FIXTURE_DENSE, tmp, &names, &n, &err), HXQ_OK);
    ck_assert_int_eq(n, 4);   /* tokenizer, tokenizer_config, special_tokens_map, generation */
    char p[600];
    snprintf(p, sizeof(p), "%s/tokenizer.json", tmp);
    size_t a, b;
    uint8_t *x = hxq_test_read_file(p, &a);
    uint8_t *y = hxq_test_read_file(HXQ_FIXTURE_DENSE "/tokenizer.json", &b);
    ck_assert_uint_eq(a, b);
    ck_assert(!memcmp(x, y, a));
    free(x);
    free(y);
    free(names);
    /* a folder without them: nothing copied, no error */
    ck_assert_int_eq(hxq_copy_aux_files(tmp, tmp, NULL, NULL, &err), HXQ_OK);
    /* unwritable destination: I/O error */
    ck_assert_int_eq(hxq_copy_aux_files(HXQ_FIXTURE_DENSE, "/nonexistent-dir", NULL, NULL, &err),
                     HXQ_ERR_IO);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(shard_assign)
{
    uint64_t b[5] = {4, 4, 4, 10, 1};
    int s[5];
    ck_assert_int_eq(hxq_shards_assign(b, 5, 8, s), 4);
    ck_assert_int_eq(s[0], 0);
    ck_assert_int_eq(s[1], 0);
    ck_assert_int_eq(s[2], 1);
    ck_assert_int_eq(s[3], 2);   /* larger than the limit: alone in its shard */
    ck_assert_int_eq(s[4], 3);   /* 10 + 1 > 8 */
    ck_assert_int_eq(hxq_shards_assign(b, 0, 8, s), 1);
    ck_assert_int_eq(hxq_shards_assign(b, 5, 1000, s), 1);
}
END_TEST

START_TEST(shards_write)
{
    char *tmp = hxq_test_tmpdir("shards");
    hxq_shards *sh;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_shards_create(tmp, 0, &sh, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_shards_create(tmp, 2, &sh, &err), HXQ_OK);
    int64_t s4 = 4, s2[2] = {2, 3};
    ck_assert_int_eq(hxq_shards_add(sh, "b", HXQ_DT_F32, 1, &s4, 0, &err), HXQ_OK);
    ck_assert_int_eq(hxq_shards_add(sh, "a", HXQ_DT_U8, 2, s2, 1, &err), HXQ_OK);
    ck_assert_int_eq(hxq_shards_add(sh, "c", HXQ_DT_U8, 1, &s4, 0, &err), HXQ_ERR_INVALID);
    float v[4] = {1, 2, 3, 4};
    uint8_t u[6] = {1, 2, 3, 4, 5, 6};
    ck_assert_int_eq(hxq_shards_write_tensor(sh, v, 15, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_shards_write_tensor(sh, v, 16, &err), HXQ_OK);
    hxq_rc_file *files;
    int nf;
    ck_assert_int_eq(hxq_shards_finish(sh, &files, &nf, &err), HXQ_ERR_INVALID);  /* 'a' missing */
    ck_assert_int_eq(hxq_shards_write_tensor(sh, u, 6, &err), HXQ_OK);
    ck_assert_int_eq(hxq_shards_write_tensor(sh, u, 6, &err), HXQ_ERR_INVALID);
    char xx[17];
    hxq_xxh64_hex(u, 6, xx);
    ck_assert_str_eq(hxq_shards_tensor_xxh64(sh, 1), xx);
    ck_assert_str_eq(hxq_shards_tensor_file(sh, 1), "model-00002-of-00002.safetensors");
    ck_assert_int_eq(hxq_shards_finish(sh, &files, &nf, &err), HXQ_OK);
    hxq_shards_free(sh);
    ck_assert_int_eq(nf, 3);
    ck_assert_str_eq(files[2].name, "model.safetensors.index.json");
    for (int i = 0; i < nf; i++) {   /* sizes and hashes match the files */
        char p[600], hex[HXQ_SHA256_HEX];
        uint64_t size;
        snprintf(p, sizeof(p), "%s/%s", tmp, files[i].name);
        ck_assert_int_eq(hxq_sha256_file(p, hex, &size, &err), HXQ_OK);
        ck_assert_str_eq(hex, files[i].sha256);
        ck_assert_uint_eq(size, files[i].size);
    }
    hxq_rc_files_free(files, nf);
    hxq_ckpt *ck;
    ck_assert_int_eq(hxq_ckpt_open(tmp, &ck, &err), HXQ_OK);
    ck_assert_int_eq(hxq_ckpt_count(ck), 2);
    ck_assert_int_eq(hxq_ckpt_find(ck, "a")->shape[1], 3);
    ck_assert(!memcmp(hxq_ckpt_find(ck, "b")->data, v, 16));
    hxq_ckpt_close(ck);
    char p[600];
    snprintf(p, sizeof(p), "%s/model.safetensors.index.json", tmp);
    size_t len;
    char *txt = (char *)hxq_test_read_file(p, &len);
    cJSON *root = cJSON_ParseWithLength(txt, len);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "metadata"), "total_size")
                         ->valueint, 22);
    cJSON_Delete(root);
    free(txt);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(shards_abandoned)
{
    char *tmp = hxq_test_tmpdir("shards");
    hxq_shards *sh;
    hxq_error err = {0};
    int64_t s4 = 4;
    ck_assert_int_eq(hxq_shards_create(tmp, 1, &sh, &err), HXQ_OK);
    ck_assert_int_eq(hxq_shards_add(sh, "b", HXQ_DT_F32, 1, &s4, 0, &err), HXQ_OK);
    float v[4] = {0};
    ck_assert_int_eq(hxq_shards_write_tensor(sh, v, 16, &err), HXQ_OK);
    hxq_shards_free(sh);   /* never finished: no file left */
    ck_assert_int_eq(count_prefix(tmp, "model"), 0);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

static Suite *outdir_suite(void)
{
    Suite *s = suite_create("outdir");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, begin_commit);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, aux_files);
    tcase_add_test(tc, shard_assign);
    tcase_add_test(tc, shards_write);
    tcase_add_test(tc, shards_abandoned);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(outdir_suite)
