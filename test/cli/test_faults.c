/* test_faults.c - hxq compress under faults: killed with SIGKILL at spread
 * points of a run (and the staging folder it left removed by the next
 * run), out of file-size budget (ulimit -f), a source shard
 * truncated before or during the run. Whatever happens, the destination
 * either does not exist or is the complete output of an undisturbed run
 * (passes hxq verify; byte-identical model and config); failures exit non-zero with a message
 * naming the problem. The source is a small synthetic checkpoint written
 * here (two shards + index), so each run takes a fraction of a second. */
#include "hxq_io.h"
#include "hxq_pipeline.h"
#include "hxq_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_MATS 12
#define ROWS 96
#define COLS 256

static void write_shard(const char *dir, const char *file, int first, int count)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    hxq_stw *w = NULL;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_stw_create(path, &w, &err), HXQ_OK);
    int64_t shape[2] = {ROWS, COLS};
    char name[128];
    for (int m = first; m < first + count; m++) {
        snprintf(name, sizeof(name), "model.layers.%d.mlp.down_proj.weight", m);
        ck_assert_int_eq(hxq_stw_add(w, name, HXQ_DT_BF16, 2, shape, &err), HXQ_OK);
    }
    ck_assert_int_eq(hxq_stw_begin(w, &err), HXQ_OK);
    uint16_t *row = malloc(COLS * sizeof(uint16_t));
    uint32_t s = 12345u + (uint32_t)first;
    for (int m = first; m < first + count; m++) {
        for (int r = 0; r < ROWS; r++) {
            for (int c = 0; c < COLS; c++) {
                s = s * 1664525u + 1013904223u;
                float v = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.1f;
                row[c] = hxq_f32_to_bf16(v);
            }
            ck_assert_int_eq(hxq_stw_write(w, row, COLS * sizeof(uint16_t), &err), HXQ_OK);
        }
    }
    free(row);
    ck_assert_int_eq(hxq_stw_finish(w, &err), HXQ_OK);
}

/* SRC: config.json, two shards and their index. */
static void make_source(const char *src)
{
    ck_assert_int_eq(mkdir(src, 0755), 0);
    const char *cfg = "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\","
                      " \"hidden_size\": 256, \"dtype\": \"bfloat16\"}";
    char path[4200];
    snprintf(path, sizeof(path), "%s/config.json", src);
    ck_assert_int_eq(hxq_test_write_file(path, cfg, strlen(cfg)), 0);
    write_shard(src, "model-00001-of-00002.safetensors", 0, N_MATS / 2);
    write_shard(src, "model-00002-of-00002.safetensors", N_MATS / 2, N_MATS / 2);
    char idx[16384];
    size_t k = (size_t)snprintf(idx, sizeof(idx), "{\"metadata\": {}, \"weight_map\": {");
    for (int m = 0; m < N_MATS; m++)
        k += (size_t)snprintf(idx + k, sizeof(idx) - k,
                              "%s\"model.layers.%d.mlp.down_proj.weight\": "
                              "\"model-0000%d-of-00002.safetensors\"",
                              m ? ", " : "", m, m < N_MATS / 2 ? 1 : 2);
    k += (size_t)snprintf(idx + k, sizeof(idx) - k, "}}");
    snprintf(path, sizeof(path), "%s/model.safetensors.index.json", src);
    ck_assert_int_eq(hxq_test_write_file(path, idx, k), 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Starts `hxq compress src dst --threads 1 --quiet` with stderr to errpath. */
static pid_t spawn_compress(const char *src, const char *dst, const char *errpath)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execl(hxq_test_bin(), "hxq", "compress", src, dst, "--threads", "1", "--quiet",
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

static int same_file(const char *a, const char *b)
{
    size_t la, lb;
    uint8_t *x = hxq_test_read_file(a, &la), *y = hxq_test_read_file(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* dst must not exist, or be the complete output (same model and config as
 * the reference run). */
static void check_dst(const char *dst, const char *ref, const char *what)
{
    if (!hxq_path_exists(dst))
        return;
    ck_assert_msg(hxq_test_sh("'%s' verify '%s' >/dev/null 2>&1", hxq_test_bin(), dst) == 0,
                  "%s: %s exists but does not verify", what, dst);
    const char *files[] = {"model.safetensors", "config.json"};
    for (int i = 0; i < 2; i++) {
        char a[4200], b[4200];
        snprintf(a, sizeof(a), "%s/%s", dst, files[i]);
        snprintf(b, sizeof(b), "%s/%s", ref, files[i]);
        ck_assert_msg(same_file(a, b), "%s: %s exists but %s differs from a complete run", what,
                      dst, files[i]);
    }
}

static char *read_text(const char *path)
{
    size_t n;
    char *t = (char *)hxq_test_read_file(path, &n);
    if (!t)
        return hxq_strdup("");
    t = realloc(t, n + 1);
    t[n] = '\0';
    return t;
}

struct setup {
    char *dir, src[4200], ref[4200], dst[4200], errp[4200];
    double ref_s;
};

static void setup_make(struct setup *s, const char *tag)
{
    s->dir = hxq_test_tmpdir(tag);
    snprintf(s->src, sizeof(s->src), "%s/src", s->dir);
    snprintf(s->ref, sizeof(s->ref), "%s/ref", s->dir);
    snprintf(s->dst, sizeof(s->dst), "%s/dst", s->dir);
    snprintf(s->errp, sizeof(s->errp), "%s/stderr.txt", s->dir);
    make_source(s->src);
    /* kill points are fractions of the reference time: take the faster of
     * two runs, since a cold or load-delayed first run would put most of
     * them after the end of the (warm) runs that are killed */
    s->ref_s = 0.0;
    for (int i = 0; i < 2; i++) {
        const char *out = i == 0 ? s->ref : s->dst;
        double t0 = now_s();
        int st = wait_status(spawn_compress(s->src, out, s->errp));
        double t = now_s() - t0;
        char *e = read_text(s->errp);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reference compress failed: %s",
                      e);
        free(e);
        s->ref_s = i == 0 || t < s->ref_s ? t : s->ref_s;
    }
    hxq_test_sh("rm -rf '%s'", s->dst);
    fprintf(stderr, "%s: reference run %.3f s\n", tag, s->ref_s);
}

static void setup_free(struct setup *s)
{
    hxq_test_rmtree(s->dir);
    free(s->dir);
}

START_TEST(sigkill_at_spread_points)
{
    struct setup s;
    setup_make(&s, "fault-kill");
    /* kill points spread over the whole run, from before the first write
     * to past the rename */
    const int runs = 8;
    int killed = 0;
    for (int r = 0; r < runs; r++) {
        double at = s.ref_s * (0.02 + 1.1 * r / (runs - 1));
        pid_t pid = spawn_compress(s.src, s.dst, s.errp);
        usleep((useconds_t)(at * 1e6));
        kill(pid, SIGKILL);
        int st = wait_status(pid);
        char what[64];
        snprintf(what, sizeof(what), "kill at %.3f s of %.3f", at, s.ref_s);
        if (WIFSIGNALED(st)) {
            killed++;
            check_dst(s.dst, s.ref, what);
        } else {
            ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: exit %d", what, st);
            check_dst(s.dst, s.ref, what);
            ck_assert(hxq_path_exists(s.dst));
        }
        hxq_test_sh("rm -rf '%s' '%s'.tmp-*", s.dst, s.dst);
    }
    ck_assert_msg(killed >= runs / 2, "only %d of %d runs were killed mid-run", killed, runs);
    setup_free(&s);
}
END_TEST

/* Number of "<dst>.tmp-*" folders holding the owner marker. */
static int marked_stages(const char *dst)
{
    return hxq_test_sh("n=0; for d in '%s'.tmp-*; do [ -f \"$d/%s\" ] && n=$((n+1)); done; "
                       "exit $n", dst, HXQ_OUTDIR_LOCK);
}

/* A run killed mid-way leaves its staging folder; the next run to the
 * same DST removes it and writes the same output as an undisturbed run. */
START_TEST(sigkill_leftover_removed)
{
    struct setup s;
    setup_make(&s, "fault-stale");
    int left = 0;
    for (int r = 0; r < 20 && !left; r++) {
        hxq_test_sh("rm -rf '%s' '%s'.tmp-*", s.dst, s.dst);
        pid_t pid = spawn_compress(s.src, s.dst, s.errp);
        usleep((useconds_t)(s.ref_s * (0.3 + 0.03 * r) * 1e6));
        kill(pid, SIGKILL);
        int st = wait_status(pid);
        left = WIFSIGNALED(st) && !hxq_path_exists(s.dst) ? marked_stages(s.dst) : 0;
    }
    ck_assert_msg(left == 1, "no run was killed while staging");
    int st = wait_status(spawn_compress(s.src, s.dst, s.errp));
    char *e = read_text(s.errp);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x (%s)", st, e);
    free(e);
    ck_assert_msg(hxq_test_sh("ls -d '%s'.tmp-* >/dev/null 2>&1", s.dst) != 0,
                  "the stale staging folder is still there");
    ck_assert(hxq_path_exists(s.dst));
    check_dst(s.dst, s.ref, "after a killed run");
    char m[4300];
    snprintf(m, sizeof(m), "%s/%s", s.dst, HXQ_OUTDIR_LOCK);
    ck_assert(!hxq_path_exists(m));
    setup_free(&s);
}
END_TEST

START_TEST(file_size_limit)
{
    struct setup s;
    setup_make(&s, "fault-fsize");
    /* ulimit -f counts 1024-byte blocks: 64 KB is far below the output */
    int rc = hxq_test_sh("ulimit -f 64; exec '%s' compress '%s' '%s' --threads 1 --quiet "
                         "2>'%s'", hxq_test_bin(), s.src, s.dst, s.errp);
    char *e = read_text(s.errp);
    ck_assert_msg(rc == 3, "exit %d (stderr: %s)", rc, e);
    ck_assert_msg(strstr(e, "hxq compress: ") == e, "stderr: %s", e);
    ck_assert_msg(strstr(e, "File too large") != NULL, "stderr does not say why: %s", e);
    ck_assert(!hxq_path_exists(s.dst));
    /* the staging folder is cleaned up on a reported failure */
    int rc2 = hxq_test_sh("ls -d '%s'.tmp-* >/dev/null 2>&1", s.dst);
    ck_assert_msg(rc2 != 0, "a staging folder was left behind");
    free(e);
    setup_free(&s);
}
END_TEST

/* Runs compress on s and expects exit 3, a message naming `shard`, no DST. */
static void expect_shard_error(const struct setup *s, const char *shard)
{
    int st = wait_status(spawn_compress(s->src, s->dst, s->errp));
    char *e = read_text(s->errp);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %d (%s)", st, e);
    ck_assert_msg(strstr(e, shard) != NULL, "stderr does not name %s: %s", shard, e);
    ck_assert(!hxq_path_exists(s->dst));
    free(e);
}

START_TEST(truncated_shard_before_run)
{
    struct setup s;
    setup_make(&s, "fault-trunc");
    char shard[4300];
    snprintf(shard, sizeof(shard), "%s/model-00002-of-00002.safetensors", s.src);
    ck_assert_int_eq(truncate(shard, 200000), 0);
    expect_shard_error(&s, "model-00002-of-00002.safetensors");
    setup_free(&s);
}
END_TEST

/* A shard that cannot be read (here: a folder in its place) is an I/O
 * error naming it, and no DST. */
START_TEST(unreadable_shard)
{
    struct setup s;
    setup_make(&s, "fault-unread");
    char shard[4300];
    snprintf(shard, sizeof(shard), "%s/model-00001-of-00002.safetensors", s.src);
    ck_assert_int_eq(unlink(shard), 0);
    ck_assert_int_eq(mkdir(shard, 0755), 0);
    expect_shard_error(&s, "model-00001-of-00002.safetensors");
    setup_free(&s);
}
END_TEST

/* Truncating a shard while hxq has it mapped: whether the run was already
 * past reading it or not, the result is a complete DST or an error
 * message and no DST, never a crash without a word. */
START_TEST(truncated_shard_mid_run)
{
    struct setup s;
    setup_make(&s, "fault-trunc-mid");
    const int runs = 4;
    for (int r = 0; r < runs; r++) {
        char shard[4300];
        hxq_test_sh("rm -rf '%s' '%s'.tmp-*", s.dst, s.dst);
        snprintf(shard, sizeof(shard), "%s/model-00002-of-00002.safetensors", s.src);
        pid_t pid = spawn_compress(s.src, s.dst, s.errp);
        usleep((useconds_t)(s.ref_s * (0.1 + 0.25 * r) * 1e6));
        /* keep a copy to restore, then cut the shard to 1/3 */
        hxq_test_sh("cp '%s' '%s/orig.bin' 2>/dev/null; truncate -s %d '%s'", shard, s.dir,
                    ROWS * COLS * 2 * (N_MATS / 2) / 3, shard);
        int st = wait_status(pid);
        char *e = read_text(s.errp);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            check_dst(s.dst, s.ref, "truncated late");
        } else {
            ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "run %d: status 0x%x (%s)", r,
                          st, e);
            ck_assert_msg(strncmp(e, "hxq compress: ", 14) == 0, "run %d: stderr: %s", r, e);
            ck_assert(!hxq_path_exists(s.dst));
        }
        free(e);
        hxq_test_sh("mv '%s/orig.bin' '%s'", s.dir, shard);
    }
    setup_free(&s);
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("compress");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sigkill_at_spread_points);
    tcase_add_test(tc, sigkill_leftover_removed);
    tcase_add_test(tc, file_size_limit);
    tcase_add_test(tc, truncated_shard_before_run);
    tcase_add_test(tc, unreadable_shard);
    tcase_add_test(tc, truncated_shard_mid_run);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(faults_suite)
