/* test_checkpoint.c - sharded and single-file checkpoints: the tiny-olmoe
 * fixture (3 shards) checked against its index and an independent read of
 * the shard headers, hxq_index_parse() on its own, and broken copies of the
 * folder (missing shard, unmapped tensor, wrong shard, bad shard names,
 * truncated shard) that must fail with clear errors. */
#include "hxq_io.h"
#include "hxq_test.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define INDEX HXQ_FIXTURE_DENSE "/model.safetensors.index.json"

static cJSON *load_json(const char *path)
{
    size_t len;
    char *text = (char *)hxq_test_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    text = realloc(text, len + 1);
    text[len] = '\0';
    cJSON *j = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* The bytes of tensor `name` read straight from the shard with our own
 * header parse (independent of lib/io). */
static uint8_t *raw_tensor(const char *shard_path, const char *name, size_t *len)
{
    size_t flen;
    uint8_t *file = hxq_test_read_file(shard_path, &flen);
    ck_assert_ptr_nonnull(file);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | file[i];
    char *hdr = malloc(n + 1);
    memcpy(hdr, file + 8, n);
    hdr[n] = '\0';
    cJSON *j = cJSON_Parse(hdr);
    ck_assert_ptr_nonnull(j);
    const cJSON *offs = cJSON_GetObjectItem(cJSON_GetObjectItem(j, name), "data_offsets");
    ck_assert_ptr_nonnull(offs);
    size_t b = (size_t)cJSON_GetArrayItem(offs, 0)->valuedouble;
    size_t e = (size_t)cJSON_GetArrayItem(offs, 1)->valuedouble;
    uint8_t *out = malloc(e - b + 1);
    memcpy(out, file + 8 + n + b, e - b);
    *len = e - b;
    cJSON_Delete(j);
    free(hdr);
    free(file);
    return out;
}

START_TEST(tiny_olmoe_matches_index)
{
    hxq_ckpt *c = NULL;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    ck_assert_msg(hxq_ckpt_open(HXQ_FIXTURE_DENSE, &c, &err) == HXQ_OK, "%s", err.msg);
    ck_assert(hxq_ckpt_is_sharded(c));
    ck_assert_int_eq(hxq_ckpt_nfiles(c), 3);
    ck_assert_str_eq(hxq_ckpt_dir(c), HXQ_FIXTURE_DENSE);
    cJSON *idx = load_json(INDEX);
    const cJSON *map = cJSON_GetObjectItem(idx, "weight_map");
    ck_assert_int_eq(hxq_ckpt_count(c), cJSON_GetArraySize(map));
    uint64_t total = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, map) {
        const hxq_tensor *t = hxq_ckpt_find(c, e->string);
        ck_assert_msg(t != NULL, "%s missing", e->string);
        const char *base = strrchr(t->path, '/');
        ck_assert_str_eq(base + 1, e->valuestring);
        ck_assert_int_eq(t->dtype, HXQ_DT_BF16);
        total += t->nbytes;
    }
    /* the index's own total_size */
    double want_total = cJSON_GetObjectItem(cJSON_GetObjectItem(idx, "metadata"),
                                            "total_size")->valuedouble;
    ck_assert_uint_eq(total, (uint64_t)want_total);
    /* sorted by name */
    for (int64_t i = 1; i < hxq_ckpt_count(c); i++)
        ck_assert(strcmp(hxq_ckpt_tensor(c, i - 1)->name, hxq_ckpt_tensor(c, i)->name) < 0);
    ck_assert_ptr_null(hxq_ckpt_tensor(c, hxq_ckpt_count(c)));
    ck_assert_ptr_null(hxq_ckpt_find(c, "model.nope"));
    ck_assert_ptr_null(hxq_ckpt_file(c, 3));
    for (int i = 1; i < 3; i++)
        ck_assert(strcmp(hxq_st_path(hxq_ckpt_file(c, i - 1)), hxq_st_path(hxq_ckpt_file(c, i))) < 0);

    /* shapes against config.json */
    cJSON *cfg = load_json(HXQ_FIXTURE_DENSE "/config.json");
    int64_t vocab = (int64_t)cJSON_GetObjectItem(cfg, "vocab_size")->valuedouble;
    int64_t hidden = (int64_t)cJSON_GetObjectItem(cfg, "hidden_size")->valuedouble;
    int64_t inter = (int64_t)cJSON_GetObjectItem(cfg, "intermediate_size")->valuedouble;
    int64_t nexp = (int64_t)cJSON_GetObjectItem(cfg, "num_experts")->valuedouble;
    const hxq_tensor *emb = hxq_ckpt_find(c, "model.embed_tokens.weight");
    ck_assert_int_eq(emb->ndim, 2);
    ck_assert_int_eq(emb->shape[0], vocab);
    ck_assert_int_eq(emb->shape[1], hidden);
    const hxq_tensor *down = hxq_ckpt_find(c, "model.layers.3.mlp.experts.15.down_proj.weight");
    ck_assert_ptr_nonnull(down);
    ck_assert_int_eq(down->shape[0], hidden);
    ck_assert_int_eq(down->shape[1], inter);
    const hxq_tensor *gate = hxq_ckpt_find(c, "model.layers.0.mlp.gate.weight");
    ck_assert_ptr_nonnull(gate);
    ck_assert_int_eq(gate->shape[0], nexp);
    const hxq_tensor *norm = hxq_ckpt_find(c, "model.norm.weight");
    ck_assert_int_eq(norm->ndim, 1);
    ck_assert_int_eq(norm->shape[0], hidden);

    /* values: the views equal the bytes read independently, one per shard */
    const char *probe[] = {"model.embed_tokens.weight", "model.norm.weight", down->name,
                           "model.layers.2.self_attn.q_proj.weight"};
    for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        const hxq_tensor *t = hxq_ckpt_find(c, probe[i]);
        ck_assert_ptr_nonnull(t);
        size_t len;
        uint8_t *raw = raw_tensor(t->path, t->name, &len);
        ck_assert_uint_eq(len, t->nbytes);
        ck_assert(memcmp(raw, t->data, len) == 0);
        float f0;
        uint16_t h0;
        memcpy(&h0, raw, 2);
        f0 = hxq_tensor_f32_at(t, 0);
        ck_assert(f0 == hxq_bf16_to_f32(h0));
        free(raw);
    }
    cJSON_Delete(cfg);
    cJSON_Delete(idx);
    hxq_ckpt_close(c);
    hxq_ckpt_close(NULL);
}
END_TEST

/* ---- hxq_index_parse ---------------------------------------------------- */

START_TEST(index_parse_fixture)
{
    size_t len;
    char *text = (char *)hxq_test_read_file(INDEX, &len);
    text = realloc(text, len + 1);
    text[len] = '\0';
    hxq_index ix;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    ck_assert_msg(hxq_index_parse(text, INDEX, &ix, &err) == HXQ_OK, "%s", err.msg);
    cJSON *j = load_json(INDEX);
    const cJSON *map = cJSON_GetObjectItem(j, "weight_map");
    ck_assert_int_eq(ix.count, cJSON_GetArraySize(map));
    ck_assert_int_eq(ix.nfiles, 3);
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
        ck_assert_str_eq(hxq_index_find(&ix, e->string), e->valuestring);
    ck_assert_ptr_null(hxq_index_find(&ix, "nope"));
    cJSON_Delete(j);
    hxq_index_free(&ix);
    ck_assert_int_eq(ix.count, 0);
    hxq_index_free(NULL);
    free(text);
}
END_TEST

static const struct {
    const char *json, *want;
} bad_indexes[] = {
    {"{", "not valid JSON"},
    {"[]", "no \"weight_map\""},
    {"{\"metadata\":{}}", "no \"weight_map\""},
    {"{\"weight_map\":[]}", "no \"weight_map\""},
    {"{\"weight_map\":{}}", "weight_map is empty"},
    {"{\"weight_map\":{\"a\":1}}", "tensor 'a': weight_map value is not a string"},
    {"{\"weight_map\":{\"a\":\"\"}}", "tensor 'a': shard name '' is not a file"},
    {"{\"weight_map\":{\"a\":\"../x.safetensors\"}}", "shard name '../x.safetensors'"},
    {"{\"weight_map\":{\"a\":\"sub/x.safetensors\"}}", "shard name 'sub/x.safetensors'"},
    {"{\"weight_map\":{\"a\":\"/etc/passwd\"}}", "shard name '/etc/passwd'"},
    {"{\"weight_map\":{\"a\":\"..\"}}", "shard name '..'"},
    {"{\"weight_map\":{\"a\":\"\xff.safetensors\"}}", "shard name"},
    {"{\"weight_map\":{\"\":\"x.safetensors\"}}", "empty or non-UTF-8 tensor name"},
    {"{\"weight_map\":{\"\xc3\x28\":\"x.safetensors\"}}", "empty or non-UTF-8 tensor name"},
    {"{\"weight_map\":{\"a\":\"x.safetensors\",\"a\":\"y.safetensors\"}}",
     "tensor 'a' appears twice"},
};

START_TEST(index_parse_errors)
{
    hxq_index ix;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_index_parse(bad_indexes[_i].json, "dir/model.safetensors.index.json", &ix, &err);
    ck_assert_msg(rc == HXQ_ERR_FORMAT, "case %d: rc %d (%s)", _i, rc, err.msg);
    ck_assert(strncmp(err.msg, "dir/model.safetensors.index.json: ", 34) == 0);
    ck_assert_msg(strstr(err.msg, bad_indexes[_i].want) != NULL, "case %d: '%s' lacks '%s'", _i,
                  err.msg, bad_indexes[_i].want);
}
END_TEST

/* ---- broken copies of the fixture folder ------------------------------- */

static const char *shards[3] = {"model-00001-of-00003.safetensors",
                                "model-00002-of-00003.safetensors",
                                "model-00003-of-00003.safetensors"};

/* A copy of tiny-olmoe in a temp dir: shards as symlinks except those in
 * `skip` (bit i: leave shard i out), index rewritten from `idx`. */
static char *make_copy(const cJSON *idx, unsigned skip)
{
    char *dir = hxq_test_tmpdir("ckpt");
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    for (int i = 0; i < 3; i++)
        if (!(skip & (1u << i)))
            ck_assert_int_eq(hxq_test_sh("ln -s '%s/%s/%s' '%s/%s'", cwd, HXQ_FIXTURE_DENSE,
                                         shards[i], dir, shards[i]), 0);
    char *text = cJSON_Print(idx);
    char path[4200];
    snprintf(path, sizeof(path), "%s/model.safetensors.index.json", dir);
    ck_assert_int_eq(hxq_test_write_file(path, text, strlen(text)), 0);
    free(text);
    return dir;
}

static void expect_open_error(const char *dir, int code, const char *want1, const char *want2)
{
    hxq_ckpt *c = NULL;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    int rc = hxq_ckpt_open(dir, &c, &err);
    ck_assert_msg(rc == code, "rc %d, want %d (%s)", rc, code, err.msg);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err.msg, dir) != NULL, "'%s' does not name the folder", err.msg);
    ck_assert_msg(strstr(err.msg, want1) != NULL, "'%s' lacks '%s'", err.msg, want1);
    if (want2)
        ck_assert_msg(strstr(err.msg, want2) != NULL, "'%s' lacks '%s'", err.msg, want2);
}

START_TEST(missing_shard)
{
    cJSON *idx = load_json(INDEX);
    char *dir = make_copy(idx, 1u << 2);
    expect_open_error(dir, HXQ_ERR_IO, "shard 'model-00003-of-00003.safetensors'", "missing");
    hxq_test_rmtree(dir);
    free(dir);
    cJSON_Delete(idx);
}
END_TEST

START_TEST(tensor_not_in_map)
{
    cJSON *idx = load_json(INDEX);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(idx, "weight_map"), "model.norm.weight");
    char *dir = make_copy(idx, 0);
    expect_open_error(dir, HXQ_ERR_FORMAT, "tensor 'model.norm.weight' is in shard",
                      "does not list it");
    hxq_test_rmtree(dir);
    free(dir);
    cJSON_Delete(idx);
}
END_TEST

START_TEST(tensor_mapped_to_wrong_shard)
{
    cJSON *idx = load_json(INDEX);
    cJSON *map = cJSON_GetObjectItem(idx, "weight_map");
    const char *name = "model.embed_tokens.weight";
    const char *real = cJSON_GetObjectItem(map, name)->valuestring;
    const char *other = strcmp(real, shards[0]) ? shards[0] : shards[1];
    cJSON_ReplaceItemInObject(map, name, cJSON_CreateString(other));
    char *dir = make_copy(idx, 0);
    expect_open_error(dir, HXQ_ERR_FORMAT, "tensor 'model.embed_tokens.weight' is mapped to",
                      "that shard lacks it");
    hxq_test_rmtree(dir);
    free(dir);
    cJSON_Delete(idx);
}
END_TEST

START_TEST(ghost_tensor_in_map)
{
    cJSON *idx = load_json(INDEX);
    cJSON_AddStringToObject(cJSON_GetObjectItem(idx, "weight_map"), "model.ghost.weight", shards[2]);
    char *dir = make_copy(idx, 0);
    expect_open_error(dir, HXQ_ERR_FORMAT, "'model.ghost.weight'", "lacks it");
    hxq_test_rmtree(dir);
    free(dir);
    cJSON_Delete(idx);
}
END_TEST

START_TEST(shard_name_with_slash)
{
    cJSON *idx = load_json(INDEX);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(idx, "weight_map"), "model.norm.weight",
                              cJSON_CreateString("../model-00001-of-00003.safetensors"));
    char *dir = make_copy(idx, 0);
    expect_open_error(dir, HXQ_ERR_FORMAT, "'model.norm.weight'",
                      "shard name '../model-00001-of-00003.safetensors' is not a file");
    hxq_test_rmtree(dir);
    free(dir);
    cJSON_Delete(idx);
}
END_TEST

START_TEST(truncated_shard)
{
    cJSON *idx = load_json(INDEX);
    char *dir = make_copy(idx, 1u << 2);
    ck_assert_int_eq(hxq_test_sh("head -c 100000 '%s/%s' > '%s/%s'", HXQ_FIXTURE_DENSE, shards[2],
                                 dir, shards[2]), 0);
    expect_open_error(dir, HXQ_ERR_FORMAT, shards[2], "exceed the data size");
    /* a corrupt index is named too */
    char path[4200];
    snprintf(path, sizeof(path), "%s/model.safetensors.index.json", dir);
    ck_assert_int_eq(hxq_test_write_file(path, "{\"weight_map\":", 14), 0);
    expect_open_error(dir, HXQ_ERR_FORMAT, "model.safetensors.index.json", "not valid JSON");
    hxq_test_rmtree(dir);
    free(dir);
    cJSON_Delete(idx);
}
END_TEST

/* ---- single-file folders ------------------------------------------------ */

static void write_small(const char *path, const char *tensor)
{
    hxq_stw *w = NULL;
    hxq_error err;
    int64_t shape[1] = {3};
    ck_assert_int_eq(hxq_stw_create(path, &w, &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_add(w, tensor, HXQ_DT_U8, 1, shape, &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_begin(w, &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_write(w, "abc", 3, &err), HXQ_OK);
    ck_assert_int_eq(hxq_stw_finish(w, &err), HXQ_OK);
}

START_TEST(single_file_folders)
{
    char *dir = hxq_test_tmpdir("ckpt-single");
    hxq_ckpt *c = NULL;
    hxq_error err;
    memset(&err, 0, sizeof(err));
    expect_open_error(dir, HXQ_ERR_IO, "no model.safetensors", NULL);      /* empty folder */
    char p[4200];
    snprintf(p, sizeof(p), "%s/weights.safetensors", dir);
    write_small(p, "w");
    ck_assert_msg(hxq_ckpt_open(dir, &c, &err) == HXQ_OK, "%s", err.msg);  /* the only file */
    ck_assert(!hxq_ckpt_is_sharded(c));
    ck_assert_int_eq(hxq_ckpt_count(c), 1);
    ck_assert(memcmp(hxq_ckpt_find(c, "w")->data, "abc", 3) == 0);
    hxq_ckpt_close(c);
    snprintf(p, sizeof(p), "%s/other.safetensors", dir);
    write_small(p, "o");
    expect_open_error(dir, HXQ_ERR_FORMAT, "2 .safetensors files", NULL);  /* ambiguous */
    snprintf(p, sizeof(p), "%s/model.safetensors", dir);
    write_small(p, "m");
    ck_assert_int_eq(hxq_ckpt_open(dir, &c, &err), HXQ_OK);                /* preferred name */
    ck_assert_ptr_nonnull(hxq_ckpt_find(c, "m"));
    hxq_ckpt_close(c);
    ck_assert_int_eq(hxq_ckpt_open("test/io/no-such-folder", &c, &err), HXQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "test/io/no-such-folder"));
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tiny_olmoe_matches_index);
    tcase_add_test(tc, index_parse_fixture);
    tcase_add_loop_test(tc, index_parse_errors, 0,
                        (int)(sizeof(bad_indexes) / sizeof(bad_indexes[0])));
    tcase_add_test(tc, missing_shard);
    tcase_add_test(tc, tensor_not_in_map);
    tcase_add_test(tc, tensor_mapped_to_wrong_shard);
    tcase_add_test(tc, ghost_tensor_in_map);
    tcase_add_test(tc, shard_name_with_slash);
    tcase_add_test(tc, truncated_shard);
    tcase_add_test(tc, single_file_folders);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(checkpoint_suite)
