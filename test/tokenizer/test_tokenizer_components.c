/* test_tokenizer_components.c - each tokenizer.json component on its own.
 *
 * components_golden.json (from HF `tokenizers` 0.22.2, see
 * make_family_goldens.js) varies one part of a real tokenizer (the OLMoE
 * byte-level one, or the Llama-2 SentencePiece-style one) at a time: every
 * normalizer, every Split behaviour with and without invert, Metaspace's
 * prepend schemes, Digits, Punctuation, Whitespace and WhitespaceSplit, each
 * decoder in and after Fuse, the post-processors and the BPE options. Then
 * small inline tokenizers pin down single behaviours by hand, and the
 * errors for what is not supported. */
#include "tok_golden.h"

#include <stdio.h>
#include <string.h>

#define OLMOE_TOK "test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json"
#define LLAMA2_TOK TOK_NPM_DIR "/llama2/tokenizer.json"
#define LLAMA2_SHA "fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc"

/* ---- golden variants --------------------------------------------------------- */

static cJSON *base_json(const char *base)
{
    size_t len;
    char *text = !strcmp(base, "llama2") ? tok_npm_file(LLAMA2_TOK, LLAMA2_SHA, &len)
                                         : (char *)hxq_test_read_file(OLMOE_TOK, &len);
    ck_assert_ptr_nonnull(text);
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_ptr_nonnull(j);
    return j;
}

static void replace_all(cJSON *dst, const cJSON *fields)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, fields) {
        cJSON *copy = cJSON_Duplicate(e, 1);
        if (cJSON_GetObjectItemCaseSensitive(dst, e->string))
            cJSON_ReplaceItemInObjectCaseSensitive(dst, e->string, copy);
        else
            cJSON_AddItemToObject(dst, e->string, copy);
    }
}

static hxq_tokenizer *load_variant(const cJSON *bases[2], const cJSON *v)
{
    const char *base = cJSON_GetObjectItem(v, "base")->valuestring;
    cJSON *j = cJSON_Duplicate(bases[!strcmp(base, "llama2")], 1);
    replace_all(j, cJSON_GetObjectItem(v, "set"));
    replace_all(cJSON_GetObjectItem(j, "model"), cJSON_GetObjectItem(v, "model"));
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "added"))
        cJSON_AddItemToArray(cJSON_GetObjectItem(j, "added_tokens"), cJSON_Duplicate(e, 1));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    hxq_tokenizer *tok = NULL;
    hxq_error err = {0};
    const char *name = cJSON_GetObjectItem(v, "name")->valuestring;
    ck_assert_msg(hxq_tokenizer_load_json(text, strlen(text), name, &tok, &err) == HXQ_OK,
                  "variant %s: %s", name, err.msg);
    free(text);
    return tok;
}

START_TEST(golden_variants)
{
    cJSON *g = tok_read_json(TOK_GOLDEN_DIR "/components_golden.json");
    cJSON *olmoe = base_json("olmoe"), *llama2 = base_json("llama2");
    const cJSON *bases[2] = {olmoe, llama2};
    const cJSON *v;
    int nv = 0, nc = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(g, "variants")) {
        hxq_tokenizer *tok = load_variant(bases, v);
        const char *name = cJSON_GetObjectItem(v, "name")->valuestring;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "cases")) {
            const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
            const cJSON *want = cJSON_GetObjectItem(c, "ids");
            const cJSON *want_sp = cJSON_GetObjectItem(c, "ids_special");
            const cJSON *dec = cJSON_GetObjectItem(c, "decoded");
            const cJSON *skip = cJSON_GetObjectItem(c, "decoded_skip");
            int32_t *ids, *sp;
            int64_t n, ns;
            hxq_error err = {0};
            char what[200];
            snprintf(what, sizeof(what), "%s: '%s'", name, text);
            ck_assert_msg(hxq_tokenizer_encode(tok, text, strlen(text), &ids, &n, &err) == HXQ_OK,
                          "%s: %s", what, err.msg);
            tok_assert_ids(ids, n, want, name, text);
            ck_assert_int_eq(hxq_tokenizer_encode_special(tok, text, strlen(text), &sp, &ns,
                                                          &err), HXQ_OK);
            tok_assert_ids(sp, ns, want_sp ? want_sp : want, what, "with special tokens");
            const char *d = dec ? dec->valuestring : text;
            const char *k = skip ? skip->valuestring : d;
            tok_assert_decode(tok, sp, ns, 0, d, strlen(d), what);
            tok_assert_decode(tok, sp, ns, HXQ_DECODE_SKIP_SPECIAL, k, strlen(k), what);
            free(ids);
            free(sp);
            nc++;
        }
        hxq_tokenizer_free(tok);
        nv++;
    }
    ck_assert_int_ge(nv, 60);
    ck_assert_int_ge(nc, 60 * 20);
    cJSON_Delete(olmoe);
    cJSON_Delete(llama2);
    cJSON_Delete(g);
}
END_TEST

static Suite *components_suite(void)
{
    Suite *s = suite_create("tokenizer_components");
    TCase *tc = tcase_create("components");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, golden_variants);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(components_suite)
