/* test_module.c - hxq_module_load() on the reference's tiny-olmoe-helix
 * folder and on hand-made files with each kind of defect. */
#include "hxq_codec.h"
#include "hxq_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_load_reference_module)
{
    hxq_ckpt *ck;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_ckpt_open(HXQ_FIXTURE_HELIX, &ck, &err), HXQ_OK);
    const char *name = "model.layers.1.self_attn.v_proj";
    hxq_module m;
    ck_assert_msg(hxq_module_load(ck, name, 0, &m, &err) == HXQ_OK, "%s", err.msg);
    const hxq_tensor *tc = hxq_ckpt_find(ck, "model.layers.1.self_attn.v_proj.codebook");
    const hxq_tensor *ti = hxq_ckpt_find(ck, "model.layers.1.self_attn.v_proj.indices");
    const hxq_tensor *tp =
        hxq_ckpt_find(ck, "model.layers.1.self_attn.v_proj.sidecar_positions");
    ck_assert(tc && ti && tp);
    ck_assert_int_eq(m.k, 256);
    ck_assert_int_eq(m.m.rows, ti->shape[0]);
    ck_assert_int_eq(m.m.cols, ti->shape[1]);
    ck_assert_mem_eq(m.m.codebook, tc->data, 256 * sizeof(float));
    ck_assert_ptr_eq(m.m.indices, ti->data); /* a view into the map */
    ck_assert_ptr_null(m.indices_own);
    ck_assert_int_eq(m.m.n_sidecar, tp->shape[0]);
    ck_assert_mem_eq(m.m.sidecar_pos, tp->data, (size_t)tp->nbytes);
    ck_assert_int_eq((uintptr_t)m.m.sidecar_pos % sizeof(int64_t), 0);
    hxq_module_free(&m);
    hxq_module_free(NULL);
    ck_assert_int_eq(hxq_module_load(ck, "model.layers.9.mlp.gate", 0, &m, &err),
                     HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "model.layers.9.mlp.gate"));
    hxq_ckpt_close(ck);
}
END_TEST

typedef struct spec {
    const char *suffix;
    hxq_dtype dt;
    int ndim;
    int64_t shape[2];
    const void *data;
} spec;

/* Writes <dir>/model.safetensors with the tensors "m.<suffix>" and opens
 * it; returns hxq_module_load()'s status. */
static int load_specs(const char *dir, const spec *s, int n, int packed12, hxq_module *out,
                      hxq_error *err)
{
    char path[4096], name[64];
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    hxq_stw *w;
    ck_assert_int_eq(hxq_stw_create(path, &w, NULL), HXQ_OK);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "m.%s", s[i].suffix);
        ck_assert_int_eq(hxq_stw_add(w, name, s[i].dt, s[i].ndim, s[i].shape, NULL), HXQ_OK);
    }
    ck_assert_int_eq(hxq_stw_begin(w, NULL), HXQ_OK);
    for (int i = 0; i < n; i++) {
        uint64_t bytes = hxq_dtype_size(s[i].dt) * (uint64_t)s[i].shape[0] *
                         (uint64_t)(s[i].ndim == 2 ? s[i].shape[1] : 1);
        ck_assert_int_eq(hxq_stw_write(w, s[i].data, bytes, NULL), HXQ_OK);
    }
    ck_assert_int_eq(hxq_stw_finish(w, NULL), HXQ_OK);
    hxq_ckpt *ck;
    ck_assert_int_eq(hxq_ckpt_open(dir, &ck, NULL), HXQ_OK);
    int rc = hxq_module_load(ck, "m", packed12, out, err);
    hxq_ckpt_close(ck);
    if (rc == HXQ_OK) { /* the module must not depend on the closed file */
        ck_assert_ptr_nonnull(out->codebook_own);
        out->m.indices = NULL;
    }
    return rc;
}

START_TEST(test_load_defects)
{
    char *dir = hxq_test_tmpdir("module");
    float cb[300];
    uint16_t cb16[100];
    for (int i = 0; i < 300; i++)
        cb[i] = 0.01f * (float)i;
    for (int i = 0; i < 100; i++)
        cb16[i] = hxq_f32_to_f16(0.5f * (float)i);
    uint8_t idx[6] = {0, 1, 2, 99, 4, 5}, bad_idx[6] = {0, 1, 150, 3, 4, 5};
    int64_t pos[2] = {1, 4}, unsorted[2] = {4, 1};
    int32_t pos32[2] = {1, 4};
    float val[2] = {9.0f, -9.0f};
    uint16_t val16[2] = {0x4880, 0xc880}; /* 9, -9 in F16 */
    hxq_error err = {0};
    hxq_module m;

    spec ok16[] = {{"codebook", HXQ_DT_F16, 1, {100, 0}, cb16},
                   {"indices", HXQ_DT_U8, 2, {2, 3}, idx},
                   {"sidecar_positions", HXQ_DT_I64, 1, {2, 0}, pos},
                   {"sidecar_values", HXQ_DT_F16, 1, {2, 0}, val16}};
    ck_assert_msg(load_specs(dir, ok16, 4, 0, &m, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(m.k, 100);
    ck_assert(m.m.codebook[99] == 49.5f && m.m.codebook[100] == 0.0f);
    ck_assert(m.m.sidecar_val[0] == 9.0f && m.m.sidecar_val[1] == -9.0f);
    ck_assert_int_eq(m.m.n_sidecar, 2);
    hxq_module_free(&m);

    struct { spec s[4]; int n, packed12, code; const char *msg; } bad[] = {
        {{{"codebook", HXQ_DT_F32, 1, {256, 0}, cb}}, 1, 0, HXQ_ERR_FORMAT, "missing indices"},
        {{{"codebook", HXQ_DT_F16, 1, {100, 0}, cb16},
          {"indices", HXQ_DT_U8, 2, {2, 3}, bad_idx}}, 2, 0, HXQ_ERR_FORMAT, "index 150"},
        {{{"codebook", HXQ_DT_F32, 1, {300, 0}, cb},
          {"indices", HXQ_DT_U8, 2, {2, 3}, idx}}, 2, 0, HXQ_ERR_UNSUPPORTED, "over 256"},
        {{{"codebook", HXQ_DT_F32, 1, {256, 0}, cb},
          {"indices", HXQ_DT_U8, 1, {6, 0}, idx}}, 2, 1, HXQ_ERR_UNSUPPORTED, "12-bit"},
        {{{"codebook", HXQ_DT_F32, 1, {256, 0}, cb},
          {"indices", HXQ_DT_U8, 1, {6, 0}, idx}}, 2, 0, HXQ_ERR_FORMAT, "2-D"},
        {{{"codebook", HXQ_DT_F32, 1, {256, 0}, cb},
          {"indices", HXQ_DT_I8, 2, {2, 3}, idx}}, 2, 0, HXQ_ERR_FORMAT, "must be U8"},
        {{{"codebook", HXQ_DT_I32, 1, {2, 0}, pos32},
          {"indices", HXQ_DT_U8, 2, {2, 3}, (uint8_t[6]){0}}}, 2, 0, HXQ_ERR_FORMAT, "F32 or F16"},
        {{{"codebook", HXQ_DT_F32, 1, {256, 0}, cb},
          {"indices", HXQ_DT_U8, 2, {2, 3}, idx},
          {"sidecar_positions", HXQ_DT_I64, 1, {2, 0}, pos}}, 3, 0, HXQ_ERR_FORMAT,
         "come together"},
        {{{"codebook", HXQ_DT_F32, 1, {256, 0}, cb},
          {"indices", HXQ_DT_U8, 2, {2, 3}, idx},
          {"sidecar_positions", HXQ_DT_I32, 1, {2, 0}, pos32},
          {"sidecar_values", HXQ_DT_F32, 1, {2, 0}, val}}, 4, 0, HXQ_ERR_FORMAT, "I64"},
        {{{"codebook", HXQ_DT_F32, 1, {256, 0}, cb},
          {"indices", HXQ_DT_U8, 2, {2, 3}, idx},
          {"sidecar_positions", HXQ_DT_I64, 1, {2, 0}, unsorted},
          {"sidecar_values", HXQ_DT_F32, 1, {2, 0}, val}}, 4, 0, HXQ_ERR_FORMAT, "ascending"},
        {{{"codebook", HXQ_DT_F32, 1, {256, 0}, cb},
          {"indices", HXQ_DT_U8, 2, {2, 3}, idx},
          {"sidecar_positions", HXQ_DT_I64, 1, {2, 0}, pos},
          {"sidecar_values", HXQ_DT_F32, 1, {1, 0}, val}}, 4, 0, HXQ_ERR_FORMAT,
         "one value per position"},
    };
    for (size_t t = 0; t < sizeof(bad) / sizeof(bad[0]); t++) {
        memset(&m, 0x5a, sizeof(m));
        hxq_module before = m;
        err.msg[0] = 0;
        int rc = load_specs(dir, bad[t].s, bad[t].n, bad[t].packed12, &m, &err);
        ck_assert_msg(rc == bad[t].code, "case %zu: %d (%s)", t, rc, err.msg);
        ck_assert_msg(strstr(err.msg, bad[t].msg) != NULL, "case %zu: %s", t, err.msg);
        /* messages name the file or folder */
        ck_assert_msg(strstr(err.msg, dir) != NULL, "case %zu: %s", t, err.msg);
        ck_assert_mem_eq(&m, &before, sizeof(m));
    }
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codec_module");
    TCase *tc = tcase_create("module");
    tcase_add_test(tc, test_load_reference_module);
    tcase_add_test(tc, test_load_defects);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(suite)
