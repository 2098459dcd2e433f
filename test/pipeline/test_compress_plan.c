/* test_compress_plan.c - the policy and plan: what is compressed or kept on
 * tiny-olmoe, extra patterns, fused experts split into hub names, sidecar
 * budgets, option and input errors. */
#include "hxq_pipeline.h"
#include "hxq_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hxq_plan_item *find_item(const hxq_plan *p, const char *name)
{
    for (int64_t i = 0; i < hxq_plan_count(p); i++)
        if (!strcmp(hxq_plan_item_at(p, i)->name, name))
            return hxq_plan_item_at(p, i);
    return NULL;
}

START_TEST(tiny_olmoe_policy)
{
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    o.threads = 2;
    hxq_plan *p;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_plan_create(HXQ_FIXTURE_DENSE, &o, &p, &err), HXQ_OK);
    hxq_plan_totals t;
    hxq_plan_totals_get(p, &t);
    ck_assert_int_eq(t.source_tensors, 231);
    ck_assert_int_eq(t.compressed, 212);
    ck_assert_int_eq(t.exact, 19);
    ck_assert_int_eq(t.keys, 867);
    ck_assert_int_eq(t.shards, 1);
    /* the reference's module list, exactly */
    hxq_qconfig q;
    ck_assert_int_eq(hxq_qconfig_load(HXQ_FIXTURE_HELIX, &q, &err), HXQ_OK);
    for (int64_t i = 0; i < q.n_modules; i++) {
        const hxq_plan_item *it = find_item(p, q.modules[i]);
        ck_assert_msg(it && it->compressed, "%s not compressed", q.modules[i]);
    }
    hxq_qconfig_free(&q);
    ck_assert(find_item(p, "model.layers.0.mlp.gate")->compressed);
    ck_assert(!find_item(p, "model.layers.0.self_attn.q_norm.weight")->compressed);
    ck_assert(!find_item(p, "lm_head.weight")->compressed);
    /* natural order: layer 2 before layer 10 would hold; here 0..3 in order */
    int64_t prev = -1;
    for (int64_t i = 0; i < hxq_plan_count(p); i++) {
        const char *n = hxq_plan_item_at(p, i)->name;
        if (!strncmp(n, "model.layers.", 13)) {
            int64_t l = atoll(n + 13);
            ck_assert_int_ge(l, prev);
            prev = l;
        }
    }
    uint64_t in = 0;
    for (int64_t i = 0; i < hxq_plan_count(p); i++)
        in += hxq_plan_item_at(p, i)->in_bytes;
    ck_assert_uint_eq(in, t.bytes_in);
    hxq_plan_free(p);
    hxq_plan_free(NULL);
}
END_TEST

START_TEST(extra_patterns_and_budget)
{
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    const char *extra[] = {"mlp.gate", "norm"};
    o.extra_exact = extra;
    o.n_extra_exact = 2;
    o.encode.sidecar_mode = HXQ_SIDECAR_COUNT;
    o.encode.sidecar_count = 10;
    o.max_shard_size = 4000000;
    hxq_plan *p;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_plan_create(HXQ_FIXTURE_DENSE, &o, &p, &err), HXQ_OK);
    hxq_plan_totals t;
    hxq_plan_totals_get(p, &t);
    ck_assert_int_eq(t.compressed, 208);   /* 4 routers now exact */
    ck_assert_int_eq(t.exact, 23);
    ck_assert_int_gt(t.shards, 1);
    const hxq_plan_item *it = find_item(p, "model.layers.1.self_attn.v_proj");
    ck_assert_int_eq(it->sidecar, 10);
    ck_assert_uint_eq(it->out_bytes, 1024 + 256 * 256 + 10 * 12);
    int last = 0;
    for (int64_t i = 0; i < hxq_plan_count(p); i++) {   /* shards in order */
        ck_assert_int_ge(hxq_plan_item_at(p, i)->shard, last);
        last = hxq_plan_item_at(p, i)->shard;
    }
    ck_assert_int_eq(last + 1, t.shards);
    hxq_plan_free(p);
    /* min_elements above every matrix: nothing compressed */
    hxq_compress_opts_init(&o);
    o.min_elements = 1 << 30;
    ck_assert_int_eq(hxq_plan_create(HXQ_FIXTURE_DENSE, &o, &p, &err), HXQ_OK);
    hxq_plan_totals_get(p, &t);
    ck_assert_int_eq(t.compressed, 0);
    ck_assert_int_eq(t.exact, 231);
    hxq_plan_free(p);
}
END_TEST

/* include_head: the token embedding and lm_head are compressed too, every
 * other default pattern stays. */
START_TEST(include_head_policy)
{
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    o.include_head = 1;
    hxq_plan *p;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_plan_create(HXQ_FIXTURE_DENSE, &o, &p, &err), HXQ_OK);
    hxq_plan_totals t;
    hxq_plan_totals_get(p, &t);
    ck_assert_int_eq(t.compressed, 214);
    ck_assert_int_eq(t.exact, 17);
    ck_assert(find_item(p, "lm_head")->compressed);
    ck_assert(find_item(p, "model.embed_tokens")->compressed);
    ck_assert(!find_item(p, "model.norm.weight")->compressed);
    ck_assert(!find_item(p, "model.layers.0.self_attn.q_norm.weight")->compressed);
    hxq_plan_free(p);
}
END_TEST

START_TEST(fused_split)
{
    char *tmp = hxq_test_tmpdir("plan");
    char src[600];
    snprintf(src, sizeof(src), "%s/fused", tmp);
    hxq_synth_opts so;
    hxq_synth_opts_init(&so);
    so.layers = 1;
    so.hidden = 64;
    so.intermediate = 32;
    so.experts = 3;
    so.top_k = 2;
    so.heads = 4;
    so.vocab = 100;
    so.fused = 1;
    so.config_from = HXQ_FIXTURE_DENSE;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_synth(src, &so, &err), HXQ_OK);
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    hxq_plan *p;
    ck_assert_int_eq(hxq_plan_create(src, &o, &p, &err), HXQ_OK);
    hxq_plan_totals t;
    hxq_plan_totals_get(p, &t);
    ck_assert_int_eq(t.compressed, 4 + 3 * 3);   /* router [3, 64] < 256 elements: exact */
    const hxq_plan_item *up = find_item(p, "model.layers.0.mlp.experts.2.up_proj");
    ck_assert_ptr_nonnull(up);
    ck_assert_int_eq(up->expert, 2);
    ck_assert_int_eq(up->row_begin, 32);
    ck_assert_int_eq(up->rows, 32);
    ck_assert_int_eq(up->cols, 64);
    ck_assert_str_eq(up->src->name, "model.layers.0.mlp.experts.gate_up_proj");
    ck_assert_ptr_eq(up->data, (const char *)up->src->data + (2 * 64 + 32) * 64 * 2);
    const hxq_plan_item *dn = find_item(p, "model.layers.0.mlp.experts.0.down_proj");
    ck_assert_int_eq(dn->rows, 64);
    ck_assert_int_eq(dn->cols, 32);
    hxq_plan_free(p);
    /* a fused matrix under an exact pattern keeps its hub weight name */
    const char *extra[] = {"experts.1."};
    o.extra_exact = extra;
    o.n_extra_exact = 1;
    ck_assert_int_eq(hxq_plan_create(src, &o, &p, &err), HXQ_OK);
    const hxq_plan_item *g = find_item(p, "model.layers.0.mlp.experts.1.gate_proj.weight");
    ck_assert_ptr_nonnull(g);
    ck_assert(!g->compressed);
    hxq_plan_free(p);
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

START_TEST(plan_errors)
{
    hxq_compress_opts o;
    hxq_compress_opts_init(&o);
    hxq_plan *p = NULL;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_plan_create("/nonexistent-model", &o, &p, &err), HXQ_ERR_IO);
    /* an HXQ folder is already quantized */
    ck_assert_int_eq(hxq_plan_create(HXQ_FIXTURE_HELIX, &o, &p, &err), HXQ_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "quantization_config"));
    o.encode.sidecar_mode = HXQ_SIDECAR_FRACTION;
    o.encode.sidecar_fraction = 2;
    ck_assert_int_eq(hxq_plan_create(HXQ_FIXTURE_DENSE, &o, &p, &err), HXQ_ERR_INVALID);
    hxq_compress_opts_init(&o);
    const char *empty[] = {""};
    o.extra_exact = empty;
    o.n_extra_exact = 1;
    ck_assert_int_eq(hxq_plan_create(HXQ_FIXTURE_DENSE, &o, &p, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_null(p);
    /* a folder without config.json */
    char *tmp = hxq_test_tmpdir("plan");
    ck_assert_int_eq(hxq_plan_create(tmp, &o, &p, &err), HXQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "config.json"));
    hxq_test_rmtree(tmp);
    free(tmp);
}
END_TEST

static Suite *plan_suite(void)
{
    Suite *s = suite_create("compress_plan");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tiny_olmoe_policy);
    tcase_add_test(tc, extra_patterns_and_budget);
    tcase_add_test(tc, include_head_policy);
    tcase_add_test(tc, fused_split);
    tcase_add_test(tc, plan_errors);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(plan_suite)
