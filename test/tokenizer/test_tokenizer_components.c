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

/* ---- small inline tokenizers ---------------------------------------------------
 * Words are looked up whole (ignore_merges, no merges), so each piece the
 * pre-tokenizer makes shows as one id when it is a token, or as its
 * characters. The expected ids were checked with HF tokenizers 0.22.2. */

static const char vocab[] =
    "{\"a\":0,\"b\":1,\"c\":2,\" \":3,\"\\u2581\":4,\"ab\":5,\"\\u2581ab\":6,\"1\":7,\"2\":8,"
    "\"12\":9,\"!\":10,\",\":11,\"\\u2581a\":12,\"-\":13,\"ab \":14,\" ab\":15,\"<unk>\":16,"
    "\"A\":17,\"B\":18,\"12 \":19,\"!!\":20,\"a!\":21,\"!a\":22,\"\\u2581b\":23,\"ba\":24,"
    "\"bab\":25,\"  \":26,\"<s>\":27}";

static hxq_tokenizer *inline_tok(const char *norm, const char *pre, const char *dec,
                                 const char *post)
{
    char json[4096];
    snprintf(json, sizeof(json),
             "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 27, \"content\": \"<s>\", "
             "\"special\": true, \"normalized\": false}], \"normalizer\": %s, "
             "\"pre_tokenizer\": %s, \"decoder\": %s, \"post_processor\": %s, "
             "\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"ignore_merges\": true, "
             "\"vocab\": %s, \"merges\": []}}", norm, pre, dec, post, vocab);
    hxq_tokenizer *tok = NULL;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_load_json(json, strlen(json), "inline.json", &tok, &err) ==
                  HXQ_OK, "%s", err.msg);
    return tok;
}

static void expect_ids(const char *norm, const char *pre, const char *text, const int32_t *want,
                       int64_t nwant)
{
    hxq_tokenizer *tok = inline_tok(norm, pre, "null", "null");
    int32_t *ids;
    int64_t n;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_encode(tok, text, strlen(text), &ids, &n, &err) == HXQ_OK, "%s",
                  err.msg);
    int ok = n == nwant;
    for (int64_t i = 0; ok && i < n; i++)
        ok = ids[i] == want[i];
    char got[256] = "";
    for (int64_t i = 0; i < n && strlen(got) < 200; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), " %d", ids[i]);
    ck_assert_msg(ok, "%s / %s on '%s': ids%s", norm, pre, text, got);
    free(ids);
    hxq_tokenizer_free(tok);
}

#define IDS(...) (int32_t[]){__VA_ARGS__}, (int64_t)(sizeof((int32_t[]){__VA_ARGS__}) / 4)

START_TEST(split_behaviours)
{
    const char *pre[] = {
        "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"%s\", "
        "\"invert\": %s}"};
    char p[256];
#define SPLIT(b, inv) (snprintf(p, sizeof(p), pre[0], b, inv), p)
    expect_ids("null", SPLIT("Removed", "false"), "ab ab", IDS(5, 5));
    expect_ids("null", SPLIT("Isolated", "false"), "ab ab", IDS(5, 3, 5));
    expect_ids("null", SPLIT("MergedWithPrevious", "false"), "ab ab", IDS(14, 5));
    expect_ids("null", SPLIT("MergedWithNext", "false"), "ab ab", IDS(5, 15));
    expect_ids("null", SPLIT("Contiguous", "false"), "ab  ab", IDS(5, 26, 5));
    expect_ids("null", SPLIT("Isolated", "false"), "ab  ab", IDS(5, 3, 3, 5));
    /* invert: the pieces between the spaces are the matches */
    expect_ids("null", SPLIT("Removed", "true"), "ab ab", IDS(3));
    expect_ids("null", SPLIT("Isolated", "true"), "ab  ab", IDS(5, 3, 3, 5));
    expect_ids("null", SPLIT("MergedWithPrevious", "true"), "ab ab", IDS(5, 15));
#undef SPLIT
}
END_TEST

START_TEST(digits_punctuation_whitespace)
{
    expect_ids("null", "{\"type\": \"Digits\", \"individual_digits\": true}", "a12b",
               IDS(0, 7, 8, 1));
    expect_ids("null", "{\"type\": \"Digits\", \"individual_digits\": false}", "a12b",
               IDS(0, 9, 1));
    expect_ids("null", "{\"type\": \"Punctuation\", \"behavior\": \"Isolated\"}", "a!!b",
               IDS(0, 10, 10, 1));
    expect_ids("null", "{\"type\": \"Punctuation\", \"behavior\": \"Contiguous\"}", "a!!b",
               IDS(0, 20, 1));
    expect_ids("null", "{\"type\": \"Punctuation\", \"behavior\": \"MergedWithPrevious\"}", "a!",
               IDS(21));
    expect_ids("null", "{\"type\": \"Punctuation\", \"behavior\": \"MergedWithNext\"}", "!a",
               IDS(22));
    /* Whitespace keeps \w+ and [^\w\s]+ apart; WhitespaceSplit only splits */
    expect_ids("null", "{\"type\": \"Whitespace\"}", "ab!! ab", IDS(5, 20, 5));
    expect_ids("null", "{\"type\": \"WhitespaceSplit\"}", "ab!! ab", IDS(0, 1, 10, 10, 5));
}
END_TEST

START_TEST(metaspace_schemes)
{
    const char *ms = "{\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", "
                     "\"prepend_scheme\": \"%s\", \"split\": %s}";
    char p[256];
#define MS(scheme, split) (snprintf(p, sizeof(p), ms, scheme, split), p)
    expect_ids("null", MS("first", "true"), "ab ab", IDS(6, 6));
    expect_ids("null", MS("always", "true"), "ab ab", IDS(6, 6));
    expect_ids("null", MS("never", "true"), "ab ab", IDS(5, 6));
    /* first: only the piece that starts the text; after <s> it does not */
    expect_ids("null", MS("first", "true"), "<s>ab", IDS(27, 5));
    expect_ids("null", MS("always", "true"), "<s>ab", IDS(27, 6));
    expect_ids("null", MS("first", "false"), "a b", IDS(4, 0, 4, 1));
#undef MS
}
END_TEST

START_TEST(normalizer_steps)
{
    expect_ids("{\"type\": \"Lowercase\"}", "null", "AB", IDS(5));
    expect_ids("null", "null", "AB", IDS(17, 18));
    expect_ids("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"[0-9]+\"}, \"content\": \"!\"}",
               "{\"type\": \"WhitespaceSplit\"}", "a12 b", IDS(21, 1));
    expect_ids("{\"type\": \"Strip\", \"strip_left\": true, \"strip_right\": false}", "null",
               " ab ", IDS(14));
    expect_ids("{\"type\": \"Strip\", \"strip_left\": false, \"strip_right\": true}", "null",
               " ab ", IDS(15));
    expect_ids("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": "
               "\"\\u2581\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, "
               "\"content\": \"\\u2581\"}]}",
               "{\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": "
               "\"never\", \"split\": true}", "ab b", IDS(6, 23));
}
END_TEST

static void expect_decode(const char *dec, const int32_t *ids, int64_t n, const char *want)
{
    hxq_tokenizer *tok = inline_tok("null", "null", dec, "null");
    tok_assert_decode(tok, ids, n, 0, want, strlen(want), dec);
    hxq_tokenizer_free(tok);
}

START_TEST(decoder_steps)
{
    /* Strip per token, or once on the fused text */
    const char *strip = "{\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 1}";
    expect_decode(strip, IDS(15, 15, 14), "ababab");
    expect_decode("{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Fuse\"}, {\"type\": "
                  "\"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 1}]}",
                  IDS(15, 15, 14), "ab abab");
    /* no decoder: tokens joined with spaces */
    expect_decode("null", IDS(5, 3, 5), "ab   ab");
    /* Metaspace drops the replacement in the first token unless "never" */
    expect_decode("{\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": "
                  "\"always\"}", IDS(6, 6, 4), "ab ab ");
    expect_decode("{\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": "
                  "\"never\"}", IDS(6, 6), " ab ab");
}
END_TEST

START_TEST(post_processor_and_config)
{
    hxq_tokenizer *tok = inline_tok(
        "null", "null", "null",
        "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", "
        "\"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": "
        "{\"id\": \"<s>\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {\"<s>\": "
        "{\"id\": \"<s>\", \"ids\": [27], \"tokens\": [\"<s>\"]}}}");
    int32_t *ids;
    int64_t n;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_tokenizer_encode_special(tok, "ab", 2, &ids, &n, &err), HXQ_OK);
    ck_assert_int_eq(n, 3);
    ck_assert(ids[0] == 27 && ids[1] == 5 && ids[2] == 27);
    free(ids);
    ck_assert_int_eq(hxq_tokenizer_bos_id(tok), 27);
    ck_assert_int_eq(hxq_tokenizer_adds_bos(tok), 1);
    /* tokenizer_config.json's flags replace the template's tokens */
    const char *cfg = "{\"add_bos_token\": false, \"add_eos_token\": true, \"eos_token\": \"b\"}";
    ck_assert_int_eq(hxq_tokenizer_load_config(tok, cfg, strlen(cfg), NULL, &err), HXQ_OK);
    ck_assert_int_eq(hxq_tokenizer_adds_bos(tok), 0);
    ck_assert_int_eq(hxq_tokenizer_encode_special(tok, "ab", 2, &ids, &n, &err), HXQ_OK);
    ck_assert_int_eq(n, 2);
    ck_assert(ids[0] == 5 && ids[1] == 1);
    free(ids);
    hxq_tokenizer_free(tok);
    /* no post-processor: nothing around the text */
    tok = inline_tok("null", "null", "null", "null");
    ck_assert_int_eq(hxq_tokenizer_encode_special(tok, "ab", 2, &ids, &n, &err), HXQ_OK);
    ck_assert_int_eq(n, 1);
    free(ids);
    ck_assert_int_eq(hxq_tokenizer_bos_id(tok), -1);
    ck_assert_int_eq(hxq_tokenizer_adds_bos(tok), 0);
    hxq_tokenizer_free(tok);
}
END_TEST

/* ---- what is refused --------------------------------------------------------- */

static void expect_refused(const char *norm, const char *pre, const char *dec, const char *post,
                           int code, const char *needle)
{
    char json[4096];
    snprintf(json, sizeof(json),
             "{\"normalizer\": %s, \"pre_tokenizer\": %s, \"decoder\": %s, \"post_processor\": "
             "%s, \"model\": {\"type\": \"BPE\", \"vocab\": %s, \"merges\": []}}", norm, pre,
             dec, post, vocab);
    hxq_tokenizer *tok = NULL;
    hxq_error err = {0};
    int rc = hxq_tokenizer_load_json(json, strlen(json), "bad.json", &tok, &err);
    ck_assert_msg(rc == code, "%s %s %s %s: rc %d (%s), want %d", norm, pre, dec, post, rc,
                  err.msg, code);
    ck_assert_ptr_null(tok);
    ck_assert_msg(strstr(err.msg, needle) && strstr(err.msg, "bad.json"),
                  "message '%s' lacks '%s'", err.msg, needle);
}

START_TEST(unsupported_components)
{
    static const struct {
        const char *part; /* n / p / d / q: which component the JSON is */
        const char *json, *needle;
    } cases[] = {
        {"n", "{\"type\": \"BertNormalizer\"}", "normalizer type 'BertNormalizer'"},
        {"n", "{\"type\": \"Precompiled\", \"precompiled_charsmap\": \"\"}", "'Precompiled'"},
        {"n", "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": "
              "\"StripAccents\"}]}", "normalizer.normalizers[1]"},
        {"n", "{\"type\": \"Strip\", \"strip_left\": true, \"both\": 1}", "field 'both'"},
        {"p", "{\"type\": \"UnicodeScripts\"}", "pre-tokenizer type 'UnicodeScripts'"},
        {"p", "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Sideways\", "
              "\"invert\": false}", "behavior 'Sideways'"},
        {"p", "{\"type\": \"Metaspace\", \"replacement\": \"_\", \"prepend_scheme\": \"sometimes\"}",
         "prepend_scheme 'sometimes'"},
        {"p", "{\"type\": \"Digits\", \"individual_digits\": true, \"extra\": 1}", "field 'extra'"},
        {"d", "{\"type\": \"WordPiece\", \"prefix\": \"##\"}", "decoder type 'WordPiece'"},
        {"d", "{\"type\": \"CTC\"}", "decoder type 'CTC'"},
        {"d", "{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Fuse\"}, {\"type\": "
              "\"BPEDecoder\"}]}", "decoder.decoders[1]"},
        {"q", "{\"type\": \"TemplateProcessing\", \"single\": [{\"Sequence\": {\"id\": \"B\", "
              "\"type_id\": 0}}], \"pair\": [], \"special_tokens\": {}}", "sequence 'B'"},
        {"q", "{\"type\": \"Roberta\"}", "post-processor type 'Roberta'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char c = cases[i].part[0];
        expect_refused(c == 'n' ? cases[i].json : "null", c == 'p' ? cases[i].json : "null",
                       c == 'd' ? cases[i].json : "null", c == 'q' ? cases[i].json : "null",
                       HXQ_ERR_UNSUPPORTED, cases[i].needle);
    }
    /* malformed, not unsupported */
    expect_refused("null", "{\"type\": \"Metaspace\", \"replacement\": \"ab\"}", "null", "null",
                   HXQ_ERR_FORMAT, "one character");
    expect_refused("null", "{\"type\": \"Metaspace\", \"replacement\": \"_\", "
                   "\"add_prefix_space\": false}", "null", "null", HXQ_ERR_FORMAT, "never");
    expect_refused("null", "null", "null", "{\"type\": \"TemplateProcessing\", \"single\": "
                   "[{\"SpecialToken\": {\"id\": \"<q>\", \"type_id\": 0}}, {\"Sequence\": "
                   "{\"id\": \"A\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {}}",
                   HXQ_ERR_FORMAT, "'<q>' is not in special_tokens");
    expect_refused("null", "null", "null", "{\"type\": \"BertProcessing\", \"sep\": [\"x\", "
                   "99], \"cls\": [\"a\", 0]}", HXQ_ERR_FORMAT, "id 99 is not in the vocabulary");
    expect_refused("{\"type\": \"Replace\", \"pattern\": {\"Both\": 1}, \"content\": \"\"}", "null",
                   "null", "null", HXQ_ERR_FORMAT, "{\"String\": ...}");
}
END_TEST

/* The file's own regexes: what Oniguruma and PCRE2 read alike is
 * translated, the rest refused with the construct named. (The ids of the
 * translated ones were checked with HF tokenizers 0.22.2.) */
START_TEST(regex_translation)
{
    static const struct {
        const char *regex, *needle;
    } refused[] = {
        {"\\\\bword\\\\b", "read differently"},     {"(?x) a b", "inline option"},
        {"[[:alpha:]]+", "POSIX bracket"},          {"\\\\p{Han}+", "general category"},
        {"(?i:ss)", "folds as one character"},      {"(?i:\\u00e9)", "non-ASCII literal"},
        {"(a)\\\\1", "read differently"},           {"[a-z&&[^aeiou]]", "intersection"},
        {"\\\\Gx", "read differently"},             {"[\\\\S]", "negated class escape"},
        {"(?<n>a", "missing closing parenthesis"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char pre[512];
        snprintf(pre, sizeof(pre), "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"%s\"}, "
                 "\"behavior\": \"Isolated\", \"invert\": false}", refused[i].regex);
        expect_refused("null", pre, "null", "null", HXQ_ERR_UNSUPPORTED, refused[i].needle);
    }
    /* translated: \s without U+180E, \w as Oniguruma's, \h a hex digit,
     * {,n}, \uHHHH, (?i) folding s to U+017F like Oniguruma */
    const char *sp = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"%s\"}, \"behavior\": "
                     "\"Removed\", \"invert\": false}";
    char p[256];
#define SP(r) (snprintf(p, sizeof(p), sp, r), p)
    expect_ids("null", SP("\\\\s"), "ab\xe1\xa0\x8e" "ab", IDS(0, 1, 16, 0, 1));
    expect_ids("null", SP("\\\\w+"), "ab!!\xe2\x80\xbf", IDS(20));
    expect_ids("null", SP("\\\\h"), "ab!c", IDS(10));
    expect_ids("null", SP("a{,2}"), "aaab", IDS(1));
    expect_ids("null", SP("\\\\u0021"), "ab!ab", IDS(5, 5));
    expect_ids("null", SP("(?i:A)"), "ab", IDS(1));
    expect_ids("null", SP("(?i:S)"), "\xc5\xbf" "ab", IDS(5));
#undef SP
}
END_TEST

/* The known pre-tokenizer regexes are matched without the regex engine on
 * ASCII text (tok_fastsplit.c). The same regex inside (?:...) is not
 * recognised and goes to PCRE2: on random text full of the characters where
 * the two could part (apostrophes and ſ, digits next to non-ASCII numbers,
 * white space next to non-ASCII white space, \r\n runs, letters next to
 * non-ASCII letters), both must give the same ids. */
START_TEST(fast_split_equals_regex)
{
    static const char *const patterns[] = {
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+(?!\\\\S)|\\\\s+",
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}"
        "\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+",
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}"
        "\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"};
    static const char *const pool[] = {
        "a", "Z", "q", "0", "7", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\x0b", "'", "'s", "'S",
        "'ll", "'LL", "'re", "'Ve", "'d", "!", ".", "-", "(", "\x01", "\x7f", "\xc3\xa9", "\xe4\xb8\xad",
        "\xd9\xa3", "\xc2\xb2", "\xc2\xa0", "\xe3\x80\x80", "\xe1\xa0\x8e", "\xc5\xbf", "'\xc5\xbf",
        "\xf0\x9f\x98\x80", "\xcc\x81", "\xe2\x80\xa8", "\xe2\x84\xaa", "\xc2\x85"};
    cJSON *base = base_json("olmoe");
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (int k = 0; k < 3; k++) {
        hxq_tokenizer *tok[2];
        for (int wrapped = 0; wrapped < 2; wrapped++) {
            char pre[1024];
            snprintf(pre, sizeof(pre), "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": "
                     "\"Split\", \"pattern\": {\"Regex\": \"%s%s%s\"}, \"behavior\": \"Isolated\", "
                     "\"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                     "\"use_regex\": false}]}", wrapped ? "(?:" : "", patterns[k],
                     wrapped ? ")" : "");
            cJSON *j = cJSON_Duplicate(base, 1);
            cJSON_ReplaceItemInObjectCaseSensitive(j, "pre_tokenizer", cJSON_Parse(pre));
            char *text = cJSON_PrintUnformatted(j);
            hxq_error err = {0};
            tok[wrapped] = NULL;
            ck_assert_msg(hxq_tokenizer_load_json(text, strlen(text), "split.json", &tok[wrapped],
                                                  &err) == HXQ_OK, "%s", err.msg);
            free(text);
            cJSON_Delete(j);
        }
        for (int t = 0; t < 3000; t++) {
            char buf[512];
            size_t n = 0;
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            int len = (int)((state >> 33) % 30);
            for (int i = 0; i < len; i++) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                const char *piece = pool[(state >> 33) % (sizeof(pool) / sizeof(pool[0]))];
                memcpy(buf + n, piece, strlen(piece));
                n += strlen(piece);
            }
            int32_t *a, *b;
            int64_t na, nb;
            ck_assert_int_eq(hxq_tokenizer_encode(tok[0], buf, n, &a, &na, NULL), HXQ_OK);
            ck_assert_int_eq(hxq_tokenizer_encode(tok[1], buf, n, &b, &nb, NULL), HXQ_OK);
            ck_assert_msg(na == nb && !memcmp(a, b, (size_t)na * sizeof(*a)),
                          "pattern %d, text %d ('%.*s'): the fast split differs", k, t, (int)n,
                          buf);
            free(a);
            free(b);
        }
        hxq_tokenizer_free(tok[0]);
        hxq_tokenizer_free(tok[1]);
    }
    cJSON_Delete(base);
}
END_TEST

static Suite *components_suite(void)
{
    Suite *s = suite_create("tokenizer_components");
    TCase *tc = tcase_create("components");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, golden_variants);
    tcase_add_test(tc, split_behaviours);
    tcase_add_test(tc, digits_punctuation_whitespace);
    tcase_add_test(tc, metaspace_schemes);
    tcase_add_test(tc, normalizer_steps);
    tcase_add_test(tc, decoder_steps);
    tcase_add_test(tc, post_processor_and_config);
    tcase_add_test(tc, unsupported_components);
    tcase_add_test(tc, regex_translation);
    tcase_add_test(tc, fast_split_equals_regex);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(components_suite)
