/* receipt_gates.c - the reference implementation's receipts:
 * conversion_receipt.json ("Gate 1") and completeness_gate_receipt.json
 * ("Gate 2"), in its schema (see docs/RECEIPTS.md). */
#include "receipt_int.h"

#include <stdio.h>
#include <string.h>

int hxq_receipt_gate1_json(const hxq_gate1_receipt *g, char **out, hxq_error *err)
{
    rc_json j = {0};
    int pass = g->readable && g->compressed_complete && g->indices_in_range &&
               g->exact_no_nan && g->key_count_match;
    cJSON *root = cJSON_CreateObject();
    rc_add_str(&j, root, "verdict", pass ? "PASS" : "FAIL");
    cJSON *v = rc_add_obj(&j, root, "validation");
    cJSON *c = rc_add_obj(&j, v, "checks");
    rc_add_bool(&j, c, "readable", g->readable);
    rc_add_bool(&j, c, "compressed_complete", g->compressed_complete);
    rc_add_bool(&j, c, "indices_in_range", g->indices_in_range);
    rc_add_bool(&j, c, "exact_no_nan", g->exact_no_nan);
    rc_add_bool(&j, c, "key_count_match", g->key_count_match);
    cJSON *d = rc_add_arr(&j, v, "details");
    for (int i = 0; d && i < g->n_details; i++)
        rc_push_str(&j, d, g->details[i]);
    rc_add_num(&j, v, "total_keys", (double)g->total_keys);
    rc_add_num(&j, v, "compressed_modules", (double)g->compressed_modules);
    rc_add_num(&j, v, "exact_tensors", (double)g->exact_tensors);
    rc_add_str(&j, v, "sha256", g->sha256);
    if (g->n_shards > 0) {
        cJSON *s = rc_add_obj(&j, v, "shards");
        for (int i = 0; s && i < g->n_shards; i++)
            rc_add_str(&j, s, g->shards[i].name, g->shards[i].sha256);
    }
    return rc_finish(&j, root, out, err);
}

enum { CAT_EMBEDDING, CAT_LAYERNORM, CAT_OUTPUT_HEAD, CAT_COUNT };
static const char *const cat_names[CAT_COUNT] = {"embedding", "layernorm", "output_head"};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* The reference's skip category of an exact tensor, or -1. */
static int skip_category(const char *name)
{
    if (strstr(name, "lm_head"))
        return CAT_OUTPUT_HEAD;
    if (strstr(name, "embed"))
        return CAT_EMBEDDING;
    if (strstr(name, "layernorm") || strstr(name, "layer_norm") || !strcmp(name, "norm.weight") ||
        ends_with(name, ".norm.weight"))
        return CAT_LAYERNORM;
    return -1;
}

int hxq_receipt_gate2_json(const hxq_gate2_receipt *g, char **out, hxq_error *err)
{
    rc_json j = {0};
    int64_t found[CAT_COUNT] = {0}, total = 0;
    for (int64_t i = 0; i < g->n_exact; i++) {
        int c = skip_category(g->exact[i]);
        if (c >= 0) {
            found[c]++;
            total++;
        }
    }
    cJSON *root = cJSON_CreateObject();
    rc_add_str(&j, root, "verdict", g->n_missing == 0 ? "PASS" : "FAIL");
    cJSON *s = rc_add_obj(&j, root, "summary");
    rc_add_num(&j, s, "dense_tensors", (double)g->dense_tensors);
    rc_add_num(&j, s, "output_tensors", (double)g->output_tensors);
    rc_add_num(&j, s, "compressed_weights", (double)g->compressed_weights);
    rc_add_num(&j, s, "accounted", (double)g->accounted);
    rc_add_num(&j, s, "missing", (double)g->n_missing);
    rc_add_num(&j, s, "skip_tensors_found", (double)total);
    cJSON *cats = rc_add_obj(&j, s, "skip_categories");
    for (int c = 0; c < CAT_COUNT; c++) {
        if (!found[c])
            continue;
        char buf[64];
        snprintf(buf, sizeof(buf), "OK (%lld/%lld)", (long long)found[c], (long long)found[c]);
        rc_add_str(&j, cats, cat_names[c], buf);
    }
    cJSON *fails = rc_add_arr(&j, root, "failures");
    cJSON *miss = rc_add_arr(&j, root, "missing_tensors");
    for (int64_t i = 0; miss && fails && i < g->n_missing; i++) {
        char buf[512];
        snprintf(buf, sizeof(buf), "missing: %s", g->missing[i]);
        rc_push_str(&j, fails, buf);
        rc_push_str(&j, miss, g->missing[i]);
    }
    cJSON *sf = rc_add_obj(&j, root, "skip_found");
    for (int c = 0; sf && c < CAT_COUNT; c++) {
        if (!found[c])
            continue;
        cJSON *a = rc_add_arr(&j, sf, cat_names[c]);
        for (int64_t i = 0; a && i < g->n_exact; i++)
            if (skip_category(g->exact[i]) == c)
                rc_push_str(&j, a, g->exact[i]);
    }
    return rc_finish(&j, root, out, err);
}
