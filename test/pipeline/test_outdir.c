/* test_outdir.c - staging folders renamed into place; refusals; stale
 * staging folders of dead runs removed, everything else left alone; aux
 * copy; sharded output with its index. */
#include "hxq_pipeline.h"
#include "hxq_test.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
    /* the owner marker is there while staging, and locked */
    snprintf(f, sizeof(f), "%s/%s", hxq_outdir_path(od), HXQ_OUTDIR_LOCK);
    int lfd = open(f, O_RDONLY);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(flock(lfd, LOCK_EX | LOCK_NB), -1);
    close(lfd);
    snprintf(f, sizeof(f), "%s/a.txt", hxq_outdir_path(od));
    ck_assert_int_eq(hxq_test_write_file(f, "1", 1), 0);
    ck_assert_int_eq(hxq_outdir_commit(od, &err), HXQ_OK);
    snprintf(f, sizeof(f), "%s/a.txt", dst);
    ck_assert(hxq_path_exists(f));
    ck_assert_int_eq(count_prefix(tmp, "out.tmp-"), 0);
    /* only what was written: the marker did not travel */
    ck_assert_int_eq(count_prefix(dst, ""), 3);   /* ".", "..", a.txt */

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

/* mkdir path, optionally with an (unlocked) marker and a file. */
static void make_stage(const char *path, int marker)
{
    char f[700];
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(f, sizeof(f), "%s/model.safetensors", path);
    ck_assert_int_eq(hxq_test_write_file(f, "xx", 2), 0);
    if (marker) {
        snprintf(f, sizeof(f), "%s/%s", path, HXQ_OUTDIR_LOCK);
        ck_assert_int_eq(hxq_test_write_file(f, "1\n", 2), 0);
    }
}

/* A child that began dst (and filled its staging folder with a file, a
 * subfolder and a symlink out of it), reported the staging path on `out`
 * and waits; SIGKILL makes it a dead owner. */
static pid_t spawn_owner(const char *dst, const char *outside, char *stage, size_t cap)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        hxq_outdir *od;
        char f[700];
        if (hxq_outdir_begin(dst, NULL, 0, &od, NULL) != HXQ_OK)
            _exit(1);
        const char *st = hxq_outdir_path(od);
        snprintf(f, sizeof(f), "%s/sub", st);
        mkdir(f, 0755);
        snprintf(f, sizeof(f), "%s/sub/a.bin", st);
        hxq_test_write_file(f, "a", 1);
        snprintf(f, sizeof(f), "%s/link", st);
        if (symlink(outside, f) < 0)
            _exit(1);
        size_t n = strlen(st) + 1;
        if (write(p[1], st, n) != (ssize_t)n)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    size_t got = 0;
    ssize_t r;
    while (got < cap && (r = read(p[0], stage + got, cap - got)) > 0)
        if (stage[(got += (size_t)r) - 1] == '\0')
            break;
    close(p[0]);
    ck_assert_msg(got > 0 && stage[got - 1] == '\0', "the owner did not start");
    return pid;
}

START_TEST(stale_dead_owner)
{
    char *tmp = hxq_test_tmpdir("outdir-stale");
    char dst[512], outside[512], keep[600], stage[600], f[700];
    snprintf(dst, sizeof(dst), "%s/out", tmp);
    snprintf(outside, sizeof(outside), "%s/outside", tmp);
    ck_assert_int_eq(mkdir(outside, 0755), 0);
    snprintf(keep, sizeof(keep), "%s/keep.txt", outside);
    ck_assert_int_eq(hxq_test_write_file(keep, "k", 1), 0);
    pid_t pid = spawn_owner(dst, outside, stage, sizeof(stage));
    snprintf(f, sizeof(f), "%s/%s", stage, HXQ_OUTDIR_LOCK);
    ck_assert(hxq_path_exists(f));

    /* a live owner's folder is kept by the next begin */
    hxq_outdir *od;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_outdir_begin(dst, NULL, 0, &od, &err), HXQ_OK);
    ck_assert(hxq_is_dir(stage));
    ck_assert_int_eq(count_prefix(tmp, "out.tmp-"), 2);
    hxq_outdir_abort(od);
    ck_assert(hxq_is_dir(stage));

    /* killed: its lock is gone, so the next begin removes the folder,
     * without following the symlink out of it */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(hxq_is_dir(stage));
    ck_assert_int_eq(hxq_outdir_begin(dst, NULL, 0, &od, &err), HXQ_OK);
    ck_assert(!hxq_path_exists(stage));
    ck_assert_int_eq(count_prefix(tmp, "out.tmp-"), 1);
    ck_assert(hxq_path_exists(keep));
    ck_assert_int_eq(hxq_outdir_commit(od, &err), HXQ_OK);
    ck_assert_int_eq(count_prefix(tmp, "out."), 0);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(stale_lookalikes_kept)
{
    char *tmp = hxq_test_tmpdir("outdir-stale");
    char dst[512], p[600], f[700], target[600];
    snprintf(dst, sizeof(dst), "%s/out", tmp);
    /* kept: no marker; names that mkdtemp would not make for "out" */
    const char *kept[] = {"out.tmp-nomark", "out.tmp-abc12", "out.tmp-abc1234",
                          "other.tmp-abc123", "out.tmp-ab_123", "xout.tmp-abc123"};
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof(p), "%s/%s", tmp, kept[i]);
        make_stage(p, i > 0);
    }
    /* kept: a symlink named like a stale folder, pointing at one */
    snprintf(target, sizeof(target), "%s/target", tmp);
    make_stage(target, 1);
    snprintf(p, sizeof(p), "%s/out.tmp-symlnk", tmp);
    ck_assert_int_eq(symlink(target, p), 0);
    /* kept: a regular file named like one */
    snprintf(p, sizeof(p), "%s/out.tmp-afile1", tmp);
    ck_assert_int_eq(hxq_test_write_file(p, "f", 1), 0);
    /* kept: a marker that is a symlink to a regular file */
    snprintf(p, sizeof(p), "%s/out.tmp-mlink1", tmp);
    make_stage(p, 0);
    snprintf(f, sizeof(f), "%s/%s", p, HXQ_OUTDIR_LOCK);
    snprintf(target, sizeof(target), "%s/target/model.safetensors", tmp);
    ck_assert_int_eq(symlink(target, f), 0);
    /* kept: a marker whose lock is held (here by this process) */
    snprintf(p, sizeof(p), "%s/out.tmp-locked", tmp);
    make_stage(p, 1);
    snprintf(f, sizeof(f), "%s/%s", p, HXQ_OUTDIR_LOCK);
    int lfd = open(f, O_RDONLY);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(flock(lfd, LOCK_EX | LOCK_NB), 0);
    /* kept: another user's folder (needs root to make) */
    int other_user = geteuid() == 0;
    if (other_user) {
        snprintf(p, sizeof(p), "%s/out.tmp-others", tmp);
        make_stage(p, 1);
        ck_assert_int_eq(chown(p, 65534, 65534), 0);
    }
    /* removed: a marked folder nobody holds */
    snprintf(p, sizeof(p), "%s/out.tmp-dead01", tmp);
    make_stage(p, 1);
    int before = count_prefix(tmp, "out.tmp-");

    hxq_outdir *od;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_outdir_begin(dst, NULL, 0, &od, &err), HXQ_OK);
    ck_assert_int_eq(hxq_outdir_commit(od, &err), HXQ_OK);
    ck_assert(!hxq_path_exists(p));
    ck_assert_int_eq(count_prefix(tmp, "out.tmp-"), before - 1);
    ck_assert_int_eq(count_prefix(tmp, "other.tmp-"), 1);
    ck_assert_int_eq(count_prefix(tmp, "xout.tmp-"), 1);
    snprintf(p, sizeof(p), "%s/target/%s", tmp, HXQ_OUTDIR_LOCK);
    ck_assert(hxq_path_exists(p));
    ck_assert(hxq_path_exists(target));
    /* the lock released, the same folder is stale now */
    close(lfd);
    ck_assert_int_eq(hxq_outdir_begin(dst, NULL, 1, &od, &err), HXQ_OK);
    hxq_outdir_abort(od);
    snprintf(p, sizeof(p), "%s/out.tmp-locked", tmp);
    ck_assert(!hxq_path_exists(p));
    ck_assert_int_eq(count_prefix(tmp, "out.tmp-"), before - 2);
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
    tcase_add_test(tc, stale_dead_owner);
    tcase_add_test(tc, stale_lookalikes_kept);
    tcase_add_test(tc, aux_files);
    tcase_add_test(tc, shard_assign);
    tcase_add_test(tc, shards_write);
    tcase_add_test(tc, shards_abandoned);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(outdir_suite)
