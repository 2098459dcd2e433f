/* test_tokenizer.c - the tokenizer against Hugging Face `tokenizers`
 * goldens (tokenizer_golden.json, golden_dense.json), a naive reference
 * BPE, and its error paths. */
#include "hxq_test.h"
#include "hxq_tokenizer.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#define OLMOE_TOK "test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json"
#define TINY_TOK HXQ_FIXTURE_DENSE "/tokenizer.json"
#define VAL_OFFSET 1003857

static hxq_tokenizer *load(const char *path)
{
    hxq_tokenizer *tok = NULL;
    hxq_error err = {0};
    int rc = hxq_tokenizer_load(path, &tok, &err);
    ck_assert_msg(rc == HXQ_OK, "load %s: %s", path, err.msg);
    return tok;
}

static cJSON *load_json(const char *path)
{
    size_t len;
    uint8_t *text = hxq_test_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    ck_assert_ptr_nonnull(root);
    return root;
}

static void encode(const hxq_tokenizer *tok, const char *s, size_t n, int32_t **ids, int64_t *nids)
{
    hxq_error err = {0};
    int rc = hxq_tokenizer_encode(tok, s, n, ids, nids, &err);
    ck_assert_msg(rc == HXQ_OK, "encode: %s", err.msg);
}

static void assert_ids(const int32_t *got, int64_t n, const cJSON *want, const char *what)
{
    ck_assert_msg(n == cJSON_GetArraySize(want), "%s: %lld ids, want %d", what, (long long)n,
                  cJSON_GetArraySize(want));
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == (int32_t)cJSON_GetArrayItem(want, (int)i)->valuedouble,
                      "%s: id %lld is %d, want %d", what, (long long)i, got[i],
                      (int)cJSON_GetArrayItem(want, (int)i)->valuedouble);
}

/* cJSON stops strings at "\u0000", and one golden text holds a NUL: the
 * texts are decoded from the raw file instead, in file order. */
static size_t json_unescape(const char *p, char *out)
{
    size_t o = 0;
    while (*p != '"') {
        if (*p != '\\') {
            out[o++] = *p++;
            continue;
        }
        p++;
        char c = *p++;
        if (c != 'u') {
            out[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b'
                     : c == 'f' ? '\f' : c;
            continue;
        }
        unsigned cp = (unsigned)strtoul((char[5]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
        p += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' && p[1] == 'u') {
            unsigned lo = (unsigned)strtoul((char[5]){p[2], p[3], p[4], p[5], 0}, NULL, 16);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xE0 | cp >> 12);
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | cp >> 18);
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return o;
}

static void check_golden(const char *tok_path, const char *prefix)
{
    hxq_tokenizer *tok = load(tok_path);
    cJSON *root = load_json(HXQ_FIXTURE_GOLDEN "/tokenizer_golden.json");
    size_t flen;
    char *raw = (char *)hxq_test_read_file(HXQ_FIXTURE_GOLDEN "/tokenizer_golden.json", &flen);
    ck_assert_ptr_nonnull(raw);
    char *rp = raw, key[64];
    const cJSON *e;
    int count = 0;
    cJSON_ArrayForEach(e, root) {
        char *text = malloc(flen), *at = strstr(rp, "\"text\": \"");
        ck_assert_ptr_nonnull(at);
        size_t tlen = json_unescape(at + 9, text);
        text[tlen] = 0;
        rp = at + 9;
        ck_assert_msg(!strncmp(text, cJSON_GetObjectItem(e, "text")->valuestring, tlen),
                      "golden text %d out of step", count);
        snprintf(key, sizeof(key), "%s_ids", prefix);
        const cJSON *want = cJSON_GetObjectItem(e, key);
        int32_t *ids;
        int64_t n;
        encode(tok, text, tlen, &ids, &n);
        assert_ids(ids, n, want, text);
        const cJSON *toks = cJSON_GetObjectItem(e, "olmoe_tokens");
        if (!strcmp(prefix, "olmoe"))
            for (int64_t i = 0; i < n; i++)
                ck_assert_str_eq(hxq_tokenizer_token_str(tok, ids[i]),
                                 cJSON_GetArrayItem(toks, (int)i)->valuestring);
        snprintf(key, sizeof(key), "%s_decoded", prefix);
        char *dec;
        size_t dlen;
        ck_assert_int_eq(hxq_tokenizer_decode(tok, ids, n, HXQ_DECODE_SKIP_SPECIAL, &dec, &dlen,
                                              NULL), HXQ_OK);
        /* decoded strings are compared through the same raw route */
        char *want_dec = malloc(flen), *dat = strstr(rp, key);
        ck_assert_ptr_nonnull(dat);
        size_t wlen = json_unescape(dat + strlen(key) + 4, want_dec);
        ck_assert_msg(dlen == wlen && !memcmp(dec, want_dec, wlen), "'%s' decodes to '%s'",
                      text, dec);
        free(want_dec);
        free(dec);
        free(ids);
        free(text);
        count++;
    }
    free(raw);
    ck_assert_int_ge(count, 20);
    cJSON_Delete(root);
    hxq_tokenizer_free(tok);
}

START_TEST(golden_olmoe)
{
    check_golden(OLMOE_TOK, "olmoe");
}
END_TEST

START_TEST(golden_tiny)
{
    check_golden(TINY_TOK, "tiny");
}
END_TEST

START_TEST(golden_prompts_and_validation_text)
{
    hxq_tokenizer *tok = load(HXQ_FIXTURE_DENSE);
    cJSON *root = load_json(HXQ_FIXTURE_GOLDEN "/golden_dense.json");
    for (int p = 0; p < 4; p++) {
        char key[16];
        snprintf(key, sizeof(key), "public%d", p);
        const cJSON *g = cJSON_GetObjectItem(root, key);
        ck_assert_ptr_nonnull(g);
        const char *prompt = cJSON_GetObjectItem(g, "prompt")->valuestring;
        int32_t *ids;
        int64_t n;
        encode(tok, prompt, strlen(prompt), &ids, &n);
        assert_ids(ids, n, cJSON_GetObjectItem(g, "ids"), key);
        free(ids);
        /* the recorded greedy continuation decodes to the recorded text */
        const cJSON *greedy = cJSON_GetObjectItem(g, "greedy32");
        int32_t gids[64];
        int ng = cJSON_GetArraySize(greedy);
        ck_assert_int_le(ng, 64);
        for (int i = 0; i < ng; i++)
            gids[i] = (int32_t)cJSON_GetArrayItem(greedy, i)->valuedouble;
        char *gtext;
        ck_assert_int_eq(hxq_tokenizer_decode(tok, gids, ng, HXQ_DECODE_SKIP_SPECIAL, &gtext,
                                              NULL, NULL), HXQ_OK);
        ck_assert_str_eq(gtext, cJSON_GetObjectItem(g, "greedy32_text")->valuestring);
        free(gtext);
    }
    size_t len;
    uint8_t *text = hxq_test_read_file("test/fixtures/tinyshakespeare.txt", &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_gt(len, VAL_OFFSET);
    const cJSON *val = cJSON_GetObjectItem(root, "val");
    int32_t *ids;
    int64_t n;
    encode(tok, (const char *)text + VAL_OFFSET, len - VAL_OFFSET, &ids, &n);
    ck_assert_int_eq(n, (int64_t)cJSON_GetObjectItem(val, "val_tokens_total")->valuedouble);
    const cJSON *first = cJSON_GetObjectItem(val, "first_ids");
    ck_assert_int_ge(cJSON_GetArraySize(first), 8);
    assert_ids(ids, cJSON_GetArraySize(first), first, "validation text");
    /* and it decodes back to the same bytes */
    char *dec;
    size_t dlen;
    ck_assert_int_eq(hxq_tokenizer_decode(tok, ids, n, 0, &dec, &dlen, NULL), HXQ_OK);
    ck_assert_uint_eq(dlen, len - VAL_OFFSET);
    ck_assert(!memcmp(dec, text + VAL_OFFSET, dlen));
    free(dec);
    free(ids);
    free(text);
    cJSON_Delete(root);
    hxq_tokenizer_free(tok);
}
END_TEST

/* Long texts are encoded with a per-call word cache, short ones without:
 * encoding the validation text in short chunks, cut after a newline that
 * sits between two non-space characters (no regex match crosses such a
 * point), must give the same ids as encoding it whole. */
START_TEST(word_cache_changes_nothing)
{
    hxq_tokenizer *tok = load(HXQ_FIXTURE_DENSE);
    size_t len;
    uint8_t *text = hxq_test_read_file("test/fixtures/tinyshakespeare.txt", &len);
    ck_assert_ptr_nonnull(text);
    const char *t = (const char *)text + VAL_OFFSET;
    len -= VAL_OFFSET;
    int32_t *whole, *part;
    int64_t nwhole, npart, at = 0;
    encode(tok, t, len, &whole, &nwhole);
    size_t start = 0;
    int chunks = 0;
    while (start < len) {
        size_t end = start + 1500 < len ? start + 1500 : len;
        while (end < len && !(t[end - 1] == '\n' && end >= 2 && t[end - 2] != '\n' &&
                              t[end - 2] != ' ' && t[end] != '\n' && t[end] != ' '))
            end++;
        ck_assert_uint_lt(end - start, 4096); /* below the caching threshold */
        encode(tok, t + start, end - start, &part, &npart);
        ck_assert_int_le(at + npart, nwhole);
        ck_assert_msg(!memcmp(whole + at, part, (size_t)npart * sizeof(*part)),
                      "chunk at byte %zu differs", start);
        at += npart;
        free(part);
        start = end;
        chunks++;
    }
    ck_assert_int_eq(at, nwhole);
    ck_assert_int_gt(chunks, 50);
    free(whole);
    free(text);
    hxq_tokenizer_free(tok);
}
END_TEST

/* ---- naive reference BPE -------------------------------------------------- */

/* Spec-level BPE over a word of ASCII letters (byte-level chars equal the
 * bytes): repeatedly merge the adjacent pair of lowest merge rank, leftmost
 * first, by scanning everything each round. */
static int64_t naive_bpe(const cJSON *vocab, char **merge, int nm, const char *w, int32_t *out)
{
    int n = (int)strlen(w);
    char **sym = malloc((size_t)n * sizeof(*sym));
    for (int i = 0; i < n; i++) {
        sym[i] = malloc(2);
        sym[i][0] = w[i];
        sym[i][1] = 0;
    }
    char pair[512];
    for (;;) {
        int best = -1, best_rank = nm;
        for (int i = 0; i + 1 < n; i++) {
            snprintf(pair, sizeof(pair), "%s %s", sym[i], sym[i + 1]);
            for (int r = 0; r < best_rank; r++)
                if (!strcmp(merge[r], pair)) {
                    best = i;
                    best_rank = r;
                    break;
                }
        }
        if (best < 0)
            break;
        size_t la = strlen(sym[best]), lb = strlen(sym[best + 1]);
        char *c = malloc(la + lb + 1);
        memcpy(c, sym[best], la);
        memcpy(c + la, sym[best + 1], lb + 1);
        free(sym[best]);
        free(sym[best + 1]);
        sym[best] = c;
        memmove(sym + best + 1, sym + best + 2, (size_t)(n - best - 2) * sizeof(*sym));
        n--;
    }
    for (int i = 0; i < n; i++) {
        out[i] = (int32_t)cJSON_GetObjectItemCaseSensitive(vocab, sym[i])->valuedouble;
        free(sym[i]);
    }
    free(sym);
    return n;
}

START_TEST(bpe_matches_naive_reference)
{
    hxq_tokenizer *tok = load(TINY_TOK);
    cJSON *root = load_json(TINY_TOK);
    const cJSON *model = cJSON_GetObjectItem(root, "model");
    const cJSON *vocab = cJSON_GetObjectItem(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItem(model, "merges");
    int nm = cJSON_GetArraySize(merges);
    char **merge = malloc((size_t)nm * sizeof(*merge));
    int r = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        merge[r] = malloc(512);
        if (cJSON_IsArray(m))
            snprintf(merge[r], 512, "%s %s", cJSON_GetArrayItem(m, 0)->valuestring,
                     cJSON_GetArrayItem(m, 1)->valuestring);
        else
            snprintf(merge[r], 512, "%s", m->valuestring);
        r++;
    }
    uint64_t state = 0x243f6a8885a308d3ULL;
    static const char letters[] = "etaoinshrdlucmfwy"; /* frequent: many merges apply */
    for (int t = 0; t < 40; t++) {
        char w[48];
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        int n = 1 + (int)((state >> 33) % 40);
        for (int i = 0; i < n; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            w[i] = letters[(state >> 33) % (sizeof(letters) - 1)];
        }
        w[n] = 0;
        int32_t want[48], *ids;
        int64_t nw = naive_bpe(vocab, merge, nm, w, want), n_ids;
        encode(tok, w, (size_t)n, &ids, &n_ids);
        ck_assert_msg(n_ids == nw, "'%s': %lld ids, reference %lld", w, (long long)n_ids,
                      (long long)nw);
        for (int64_t i = 0; i < nw; i++)
            ck_assert_msg(ids[i] == want[i], "'%s': id %lld is %d, reference %d", w,
                          (long long)i, ids[i], want[i]);
        free(ids);
    }
    for (r = 0; r < nm; r++)
        free(merge[r]);
    free(merge);
    cJSON_Delete(root);
    hxq_tokenizer_free(tok);
}
END_TEST

/* 100 KB runs of one character (the case that is quadratic in naive BPE)
 * must round-trip; each run is one pre-tokenizer word or a chain of them. */
START_TEST(long_runs_round_trip)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    static const char *const unit[] = {"x", " ", "7", "!", "\n", "\xc3\xa9", "ab ", "\t "};
    size_t total = 100000;
    char *s = malloc(total + 8);
    for (size_t u = 0; u < sizeof(unit) / sizeof(unit[0]); u++) {
        size_t ul = strlen(unit[u]), n = 0;
        while (n + ul <= total) {
            memcpy(s + n, unit[u], ul);
            n += ul;
        }
        int32_t *ids;
        int64_t nids;
        encode(tok, s, n, &ids, &nids);
        ck_assert_int_gt(nids, 0);
        ck_assert_int_lt(nids, (int64_t)n); /* merges happened */
        char *dec;
        size_t dlen;
        ck_assert_int_eq(hxq_tokenizer_decode(tok, ids, nids, 0, &dec, &dlen, NULL), HXQ_OK);
        ck_assert_uint_eq(dlen, n);
        ck_assert_msg(!memcmp(dec, s, n), "unit '%s' does not round-trip", unit[u]);
        free(dec);
        free(ids);
    }
    free(s);
    hxq_tokenizer_free(tok);
}
END_TEST

/* Random Unicode (letters, digits, marks, exotic whitespace, emoji, special
 * tokens) decodes back to its NFC form. */
START_TEST(random_unicode_round_trips_to_nfc)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    static const int32_t pool[] = {
        'a', 'Z', '0', ' ', '\n', '\t', '\'', '!', 0x85, 0xA0, 0xE9, 0x301, 0x308, 0x1680,
        0x180E, 0x2003, 0x2028, 0x3000, 0x4E2D, 0x65E5, 0x1F642, 0x200D, 0xFB01, 0xFF26, 0x0627,
        0x1100, 0x1161, 0xAC00, 0x0};
    uint64_t state = 42;
    char buf[1024];
    for (int t = 0; t < 300; t++) {
        size_t n = 0;
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        int len = (int)((state >> 33) % 60);
        for (int i = 0; i < len; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            uint64_t r = state >> 33;
            if (r % 40 == 0) {
                memcpy(buf + n, "<|endoftext|>", 13);
                n += 13;
                continue;
            }
            n += (size_t)utf8proc_encode_char(pool[r % (sizeof(pool) / sizeof(pool[0]))],
                                              (utf8proc_uint8_t *)buf + n);
        }
        int32_t *ids;
        int64_t nids;
        encode(tok, buf, n, &ids, &nids);
        char *dec;
        size_t dlen;
        ck_assert_int_eq(hxq_tokenizer_decode(tok, ids, nids, 0, &dec, &dlen, NULL), HXQ_OK);
        utf8proc_uint8_t *nfc = NULL;
        utf8proc_ssize_t nn = utf8proc_map((const utf8proc_uint8_t *)buf, (utf8proc_ssize_t)n,
                                           &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        ck_assert_int_ge(nn, 0);
        ck_assert_msg(dlen == (size_t)nn && !memcmp(dec, nfc, dlen), "case %d does not round-trip",
                      t);
        free(nfc);
        free(dec);
        free(ids);
    }
    hxq_tokenizer_free(tok);
}
END_TEST

/* ---- API ------------------------------------------------------------------- */

START_TEST(vocab_queries)
{
    hxq_tokenizer *olmoe = load(OLMOE_TOK), *tiny = load(HXQ_FIXTURE_DENSE);
    ck_assert_int_eq(hxq_tokenizer_vocab_size(olmoe), 50280);
    ck_assert_int_eq(hxq_tokenizer_vocab_size(tiny), 4087);
    size_t len;
    const char *b = hxq_tokenizer_token_bytes(olmoe, 1533, &len); /* "Ġworld" */
    ck_assert_uint_eq(len, 6);
    ck_assert(!memcmp(b, " world", 6));
    b = hxq_tokenizer_token_bytes(olmoe, 50274, &len); /* added token of 4 spaces */
    ck_assert_uint_eq(len, 4);
    ck_assert(!memcmp(b, "    ", 4));
    ck_assert_ptr_null(hxq_tokenizer_token_bytes(olmoe, 50280, &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(hxq_tokenizer_token_bytes(olmoe, -1, &len));
    ck_assert_ptr_null(hxq_tokenizer_token_str(tiny, 4090));
    ck_assert_int_eq(hxq_tokenizer_token_id(olmoe, "<|endoftext|>"), 50279);
    ck_assert_int_eq(hxq_tokenizer_token_id(olmoe, "Ġworld"), 1533);
    ck_assert_int_eq(hxq_tokenizer_token_id(olmoe, "no such token here"), -1);
    ck_assert_int_eq(hxq_tokenizer_is_special(olmoe, 50279), 1);
    ck_assert_int_eq(hxq_tokenizer_is_special(olmoe, 0), 0); /* |||IP_ADDRESS||| */
    ck_assert_int_eq(hxq_tokenizer_is_special(olmoe, 1533), 0);

    /* eos: from the folder's tokenizer_config.json; a bare tokenizer.json
     * falls back on the special "<|endoftext|>" */
    const int32_t *eos;
    ck_assert_int_eq(hxq_tokenizer_eos_ids(tiny, &eos), 1);
    ck_assert_int_eq(eos[0], 0);
    ck_assert_int_eq(hxq_tokenizer_eos_ids(olmoe, &eos), 1);
    ck_assert_int_eq(eos[0], 50279);
    ck_assert_int_eq(hxq_tokenizer_bos_id(tiny), 0);
    ck_assert_int_eq(hxq_tokenizer_bos_id(olmoe), -1);
    ck_assert_int_eq(hxq_tokenizer_adds_bos(tiny), 0);
    ck_assert_int_eq(hxq_tokenizer_eos_ids(NULL, &eos), 0);
    hxq_tokenizer_free(olmoe);
    hxq_tokenizer_free(tiny);
    hxq_tokenizer_free(NULL);
}
END_TEST

START_TEST(encode_edge_cases)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    int32_t *ids = (int32_t *)0x1;
    int64_t n = 77;
    hxq_error err = {0};
    /* invalid UTF-8: an error naming the offset, outputs untouched */
    ck_assert_int_eq(hxq_tokenizer_encode(tok, "ok\xff", 3, &ids, &n, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "byte 2"));
    ck_assert_ptr_eq(ids, (int32_t *)0x1);
    ck_assert_int_eq(n, 77);
    ck_assert_int_eq(hxq_tokenizer_encode(tok, "\xed\xa0\x80", 3, &ids, &n, NULL),
                     HXQ_ERR_INVALID); /* a UTF-16 surrogate */
    ck_assert_int_eq(hxq_tokenizer_encode(tok, "\xe2\x82", 2, &ids, &n, NULL), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_tokenizer_encode(tok, NULL, 3, &ids, &n, NULL), HXQ_ERR_INVALID);
    /* empty text: a valid pointer and no ids */
    encode(tok, NULL, 0, &ids, &n);
    ck_assert_ptr_nonnull(ids);
    ck_assert_int_eq(n, 0);
    free(ids);
    /* NFC: a decomposed e + combining acute encodes like the composed é */
    int32_t *a, *b;
    int64_t na, nb;
    encode(tok, "caf\xc3\xa9", 5, &a, &na);
    encode(tok, "cafe\xcc\x81", 6, &b, &nb);
    ck_assert_int_eq(na, nb);
    ck_assert(!memcmp(a, b, (size_t)na * sizeof(*a)));
    free(a);
    free(b);
    /* NUL bytes are text like any other */
    encode(tok, "a\0b", 3, &a, &na);
    ck_assert_int_eq(na, 3);
    free(a);
    /* a special token adjacent to text and at both ends */
    encode(tok, "<|endoftext|>x<|endoftext|>", 27, &a, &na);
    ck_assert_int_eq(na, 3);
    ck_assert_int_eq(a[0], 50279);
    ck_assert_int_eq(a[2], 50279);
    free(a);
    hxq_tokenizer_free(tok);
}
END_TEST

START_TEST(decode_edge_cases)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    char *t = NULL;
    size_t len = 9;
    /* ids outside the vocabulary are skipped, as HF does */
    int32_t ids[] = {12092, 99999999, -5, 1533};
    ck_assert_int_eq(hxq_tokenizer_decode(tok, ids, 4, 0, &t, &len, NULL), HXQ_OK);
    ck_assert_str_eq(t, "Hello world");
    free(t);
    /* special tokens kept unless skipped */
    int32_t sp[] = {1156, 50279};
    ck_assert_int_eq(hxq_tokenizer_decode(tok, sp, 2, 0, &t, NULL, NULL), HXQ_OK);
    ck_assert_str_eq(t, "text<|endoftext|>");
    free(t);
    /* half of a multi-byte character becomes U+FFFD */
    int32_t half[] = {hxq_tokenizer_token_id(tok, "ï¬")};
    ck_assert_int_ge(half[0], 0);
    ck_assert_int_eq(hxq_tokenizer_decode(tok, half, 1, 0, &t, &len, NULL), HXQ_OK);
    ck_assert_str_eq(t, "\xef\xbf\xbd");
    free(t);
    ck_assert_int_eq(hxq_tokenizer_decode(tok, NULL, 0, 0, &t, &len, NULL), HXQ_OK);
    ck_assert_str_eq(t, "");
    ck_assert_uint_eq(len, 0);
    free(t);
    hxq_error err = {0};
    ck_assert_int_eq(hxq_tokenizer_decode(tok, NULL, 2, 0, &t, &len, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_tokenizer_decode(tok, ids, -1, 0, &t, &len, &err), HXQ_ERR_INVALID);
    hxq_tokenizer_free(tok);
}
END_TEST

/* ---- malformed tokenizer.json -------------------------------------------------- */

/* A minimal valid byte-level BPE tokenizer.json with one substitution. */
static const char mini[] =
    "{\"added_tokens\": [{\"id\": 5, \"content\": \"<s>\", \"special\": true, "
    "\"normalized\": false}],"
    " \"normalizer\": NORM, \"pre_tokenizer\": {\"type\": \"PRE\", \"add_prefix_space\": false},"
    " \"decoder\": {\"type\": \"DEC\"},"
    " \"model\": {\"type\": \"MODEL\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, \"Ġ\": 3, "
    "\"c\": ID}, \"merges\": [MERGES]}}";

static int load_variant(const char *norm, const char *pre, const char *dec, const char *model,
                        const char *id, const char *merges, hxq_tokenizer **tok, hxq_error *err)
{
    const char *keys[] = {"NORM", "PRE", "DEC", "MODEL", "ID", "MERGES"};
    const char *vals[] = {norm, pre, dec, model, id, merges};
    char buf[2048];
    snprintf(buf, sizeof(buf), "%s", mini);
    for (int k = 0; k < 6; k++) {
        char *p = strstr(buf, keys[k]), tmp[2048];
        ck_assert_ptr_nonnull(p);
        snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(p - buf), buf, vals[k], p + strlen(keys[k]));
        snprintf(buf, sizeof(buf), "%s", tmp);
    }
    *tok = NULL;
    return hxq_tokenizer_load_json(buf, strlen(buf), "mini.json", tok, err);
}

START_TEST(load_from_memory)
{
    hxq_tokenizer *tok;
    hxq_error err = {0};
    int rc = load_variant("{\"type\": \"NFC\"}", "ByteLevel", "ByteLevel", "BPE", "4",
                          "\"a b\"", &tok, &err);
    ck_assert_msg(rc == HXQ_OK, "%s", err.msg);
    ck_assert_int_eq(hxq_tokenizer_vocab_size(tok), 6);
    int32_t *ids;
    int64_t n;
    encode(tok, "ab<s>ba", 7, &ids, &n);
    int32_t want[] = {2, 5, 1, 0};
    ck_assert_int_eq(n, 4);
    ck_assert(!memcmp(ids, want, sizeof(want)));
    free(ids);
    /* bytes missing from the vocabulary are dropped (no unk token) */
    encode(tok, "a z", 3, &ids, &n);
    ck_assert_int_eq(n, 2);
    free(ids);
    ck_assert_int_eq(hxq_tokenizer_eos_ids(tok, NULL), 0);
    hxq_tokenizer_free(tok);
    /* merges as pairs, null normalizer */
    rc = load_variant("null", "ByteLevel", "ByteLevel", "BPE", "4", "[\"a\", \"b\"]", &tok, &err);
    ck_assert_msg(rc == HXQ_OK, "%s", err.msg);
    hxq_tokenizer_free(tok);
}
END_TEST

/* The pre-tokenizer, model and added-token options that OLMoE does not use,
 * on a six-token vocabulary with three merges. */
static void encode_added(const char *pre, const char *model_extra, const char *added,
                         const char *text, const int32_t *want, int64_t nwant)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"ByteLevel\", %s},"
             " \"decoder\": {\"type\": \"ByteLevel\"}, \"added_tokens\": [%s],"
             " \"model\": {\"type\": \"BPE\", %s"
             " \"vocab\": {\"a\": 0, \"b\": 1, \"\\u0120\": 2, \"b\\u0120\": 3, \"\\u0120a\": 4,"
             " \"b\\u0120a\": 5, \"ab\": 6}, \"merges\": [\"b \\u0120\", \"\\u0120 a\", "
             "\"b\\u0120 a\"]}}", pre, added, model_extra);
    hxq_tokenizer *tok = NULL;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_load_json(json, strlen(json), NULL, &tok, &err) == HXQ_OK, "%s",
                  err.msg);
    int32_t *ids;
    int64_t n;
    encode(tok, text, strlen(text), &ids, &n);
    ck_assert_msg(n == nwant, "'%s' with %s %s: %lld ids, want %lld", text, pre, model_extra,
                  (long long)n, (long long)nwant);
    for (int64_t i = 0; i < n; i++)
        ck_assert_int_eq(ids[i], want[i]);
    free(ids);
    hxq_tokenizer_free(tok);
}

static void encode_with(const char *pre, const char *model_extra, const char *text,
                        const int32_t *want, int64_t nwant)
{
    encode_added(pre, model_extra, "", text, want, nwant);
}

START_TEST(added_token_options)
{
    const char *nopre = "\"add_prefix_space\": false";
    /* lstrip / rstrip take the whitespace around the token into it */
    const char *strip = "{\"id\": 7, \"content\": \"<x>\", \"lstrip\": true, \"rstrip\": true, "
                        "\"normalized\": false, \"special\": true}";
    encode_added(nopre, "", strip, "a <x>  b", (int32_t[]){0, 7, 1}, 3);
    const char *plain = "{\"id\": 7, \"content\": \"<x>\", \"normalized\": false}";
    encode_added(nopre, "", plain, "a <x>  b", (int32_t[]){0, 2, 7, 2, 2, 1}, 6);
    /* single_word: not matched inside a word. The file says id 8, but HF
     * numbers a new added token from the model's size (7 tokens): 7 */
    const char *single = "{\"id\": 8, \"content\": \"ba\", \"single_word\": true, "
                         "\"normalized\": false}";
    encode_added(nopre, "", single, "ba bba", (int32_t[]){7, 2, 1, 1, 0}, 5);
    /* word characters are Rust's \w: a decimal digit is one, '½' (No) is not
     * (bytes missing from this vocabulary are dropped) */
    encode_added(nopre, "", single, "2ba", (int32_t[]){1, 0}, 2);
    encode_added(nopre, "", single, "\xc2\xbd" "ba", (int32_t[]){7}, 1);
    /* leftmost, then longest; "ab" is in model.vocab, so it keeps id 6 there
     * (HF's AddedVocabulary), and "bab" is the first new one: 7 */
    const char *two = "{\"id\": 7, \"content\": \"ab\", \"normalized\": false}, "
                      "{\"id\": 8, \"content\": \"bab\", \"normalized\": false}";
    encode_added(nopre, "", two, "abab", (int32_t[]){6, 6}, 2);
    encode_added(nopre, "", two, "bab", (int32_t[]){7}, 1);
}
END_TEST

START_TEST(pre_tokenizer_and_model_options)
{
    /* the regex splits "b a" into "b" and " a"; without it "b a" is one word */
    encode_with("\"add_prefix_space\": false", "", "b a", (int32_t[]){1, 4}, 2);
    encode_with("\"add_prefix_space\": false, \"use_regex\": false", "", "b a",
                (int32_t[]){5}, 1);
    /* add_prefix_space: " b a" -> " b", " a" */
    encode_with("\"add_prefix_space\": true", "", "b a", (int32_t[]){2, 1, 4}, 3);
    encode_with("\"add_prefix_space\": true", "", " a", (int32_t[]){4}, 1);
    /* bytes missing from the vocabulary: dropped, or the unk token (fused) */
    encode_with("\"add_prefix_space\": false", "", "azzb", (int32_t[]){0, 1}, 2);
    encode_with("\"add_prefix_space\": false", "\"unk_token\": \"b\",", "azz",
                (int32_t[]){0, 1, 1}, 3);
    encode_with("\"add_prefix_space\": false", "\"unk_token\": \"b\", \"fuse_unk\": true,",
                "azz", (int32_t[]){0, 1}, 2);
    /* ignore_merges: a word in the vocabulary is taken whole, even when no
     * merge leads to it */
    encode_with("\"add_prefix_space\": false", "", "ab", (int32_t[]){0, 1}, 2);
    encode_with("\"add_prefix_space\": false", "\"ignore_merges\": true,", "ab",
                (int32_t[]){6}, 1);
}
END_TEST

static void expect_error(int rc, const hxq_tokenizer *tok, const hxq_error *err, int code,
                         const char *needle)
{
    ck_assert_int_eq(rc, code);
    ck_assert_ptr_null(tok);
    ck_assert_msg(strstr(err->msg, needle) != NULL, "message '%s' lacks '%s'", err->msg, needle);
}

START_TEST(load_errors)
{
    hxq_tokenizer *tok;
    hxq_error err = {0};
    static const char nfc[] = "{\"type\": \"NFC\"}", ab[] = "\"a b\"";
    static const struct {
        const char *norm, *pre, *dec, *model, *id, *merges;
        int code;
        const char *why;
    } cases[] = {
        {"{\"type\": \"BertNormalizer\"}", "ByteLevel", "ByteLevel", "BPE", "4", ab,
         HXQ_ERR_UNSUPPORTED, "'BertNormalizer'"},
        {nfc, "UnicodeScripts", "ByteLevel", "BPE", "4", ab, HXQ_ERR_UNSUPPORTED,
         "'UnicodeScripts'"},
        {nfc, "ByteLevel", "WordPiece", "BPE", "4", ab, HXQ_ERR_UNSUPPORTED, "'WordPiece'"},
        {nfc, "ByteLevel", "ByteLevel", "Unigram", "4", ab, HXQ_ERR_UNSUPPORTED, "'Unigram'"},
        {nfc, "ByteLevel", "ByteLevel", "BPE", "4", "\"a c\"", HXQ_ERR_FORMAT,
         "'ac' is not in the vocabulary"},
        {nfc, "ByteLevel", "ByteLevel", "BPE", "4", "\"a q\"", HXQ_ERR_FORMAT, "merges[0]"},
        {nfc, "ByteLevel", "ByteLevel", "BPE", "4", "\"ab\"", HXQ_ERR_FORMAT, "merges[0]"},
        {nfc, "ByteLevel", "ByteLevel", "BPE", "-1", ab, HXQ_ERR_FORMAT, "'c' has id"},
        {nfc, "ByteLevel", "ByteLevel", "BPE", "1e12", ab, HXQ_ERR_FORMAT, "'c' has id"},
        {nfc, "ByteLevel", "ByteLevel", "BPE", "9000000", ab, HXQ_ERR_FORMAT, "nearly dense"},
        {nfc, "ByteLevel", "ByteLevel", "BPE", "2.5", ab, HXQ_ERR_FORMAT, "not an integer"},
        {nfc, "ByteLevel", "ByteLevel", "BPE", "1", ab, HXQ_ERR_FORMAT, "id 1 is used by"},
    };
    int rc;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = load_variant(cases[i].norm, cases[i].pre, cases[i].dec, cases[i].model, cases[i].id,
                          cases[i].merges, &tok, &err);
        expect_error(rc, tok, &err, cases[i].code, cases[i].why);
    }

    static const char *const broken[] = {
        "", "{", "[1, 2]", "{\"model\": 3}", "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, "
        "\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"merges\": []}}",
        "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"ByteLevel\"}, "
        "\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}",
        "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"ByteLevel\"}, "
        "\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": 1}]}",
    };
    static const char *const why[] = {"invalid JSON", "invalid JSON", "not a JSON object",
                                      "no \"model\" object", "model.vocab is missing", "empty",
                                      "content"};
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        tok = NULL;
        rc = hxq_tokenizer_load_json(broken[i], strlen(broken[i]), "bad.json", &tok, &err);
        ck_assert_msg(rc == HXQ_ERR_FORMAT || rc == HXQ_ERR_UNSUPPORTED, "case %zu: rc %d", i, rc);
        expect_error(rc, tok, &err, rc, why[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "bad.json"));
    }
    /* files */
    rc = hxq_tokenizer_load("no/such/dir", &tok, &err);
    ck_assert_int_eq(rc, HXQ_ERR_IO);
    char *dir = hxq_test_tmpdir("tok");
    char path[4200];
    snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
    ck_assert_int_eq(hxq_test_write_file(path, "{\"model\": ", 10), 0);
    tok = NULL;
    rc = hxq_tokenizer_load(dir, &tok, &err);
    expect_error(rc, tok, &err, HXQ_ERR_FORMAT, "tokenizer.json: invalid JSON");
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(config_errors)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    hxq_error err = {0};
    const char *bad_eos = "{\"eos_token\": \"<nope>\"}";
    ck_assert_int_eq(hxq_tokenizer_load_config(tok, bad_eos, strlen(bad_eos), NULL, &err),
                     HXQ_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "'<nope>' is not in the vocabulary"));
    const int32_t *eos;
    ck_assert_int_eq(hxq_tokenizer_eos_ids(tok, &eos), 1); /* unchanged */
    ck_assert_int_eq(eos[0], 50279);
    const char *bad_type = "{\"add_bos_token\": \"yes\"}";
    ck_assert_int_eq(hxq_tokenizer_load_config(tok, bad_type, strlen(bad_type), NULL, &err),
                     HXQ_ERR_FORMAT);
    ck_assert_int_eq(hxq_tokenizer_load_config(tok, "{", 1, NULL, &err), HXQ_ERR_FORMAT);
    const char *ok = "{\"bos_token\": {\"content\": \"<|padding|>\"}, \"eos_token\": \"<|padding|>\","
                     " \"add_bos_token\": true}";
    ck_assert_int_eq(hxq_tokenizer_load_config(tok, ok, strlen(ok), NULL, &err), HXQ_OK);
    ck_assert_int_eq(hxq_tokenizer_bos_id(tok), 1);
    ck_assert_int_eq(hxq_tokenizer_adds_bos(tok), 1);
    ck_assert_int_eq(hxq_tokenizer_eos_ids(tok, &eos), 1);
    ck_assert_int_eq(eos[0], 1);
    hxq_tokenizer_free(tok);
}
END_TEST

static Suite *tokenizer_suite(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("tokenizer");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, golden_olmoe);
    tcase_add_test(tc, golden_tiny);
    tcase_add_test(tc, golden_prompts_and_validation_text);
    tcase_add_test(tc, word_cache_changes_nothing);
    tcase_add_test(tc, bpe_matches_naive_reference);
    tcase_add_test(tc, long_runs_round_trip);
    tcase_add_test(tc, random_unicode_round_trips_to_nfc);
    tcase_add_test(tc, vocab_queries);
    tcase_add_test(tc, encode_edge_cases);
    tcase_add_test(tc, decode_edge_cases);
    tcase_add_test(tc, load_from_memory);
    tcase_add_test(tc, pre_tokenizer_and_model_options);
    tcase_add_test(tc, added_token_options);
    tcase_add_test(tc, load_errors);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(tokenizer_suite)
