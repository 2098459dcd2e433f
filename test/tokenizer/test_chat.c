/* test_chat.c - chat templates (recognition, native rendering against the
 * strings transformers produces) and the streaming decoder. */
#include "hxq_test.h"
#include "hxq_tokenizer.h"

#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#define OLMOE_TOK "test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json"

static hxq_tokenizer *load(const char *path)
{
    hxq_tokenizer *tok = NULL;
    hxq_error err = {0};
    ck_assert_msg(hxq_tokenizer_load(path, &tok, &err) == HXQ_OK, "load %s: %s", path, err.msg);
    return tok;
}

static char *render(const hxq_tokenizer *tok, const hxq_chat_msg *m, int64_t n, int gen)
{
    char *out = NULL;
    size_t len = 0;
    hxq_error err = {0};
    int rc = hxq_tokenizer_chat_render(tok, m, n, gen, &out, &len, &err);
    ck_assert_msg(rc == HXQ_OK, "render: %s", err.msg);
    ck_assert_uint_eq(len, strlen(out));
    return out;
}

/* The two renderings recorded in shared/reference/olmoe.md. */
START_TEST(tulu_matches_reference_strings)
{
    hxq_tokenizer *tok = load(HXQ_FIXTURE_DENSE);
    ck_assert_str_eq(hxq_tokenizer_chat_name(tok), "tulu");
    hxq_chat_msg user[] = {{"user", "What is 2+2?"}};
    char *s = render(tok, user, 1, 1);
    ck_assert_str_eq(s, "<|endoftext|><|user|>\nWhat is 2+2?\n<|assistant|>\n");
    free(s);
    hxq_chat_msg hist[] = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"},
                           {"user", "Name a prime."}};
    s = render(tok, hist, 4, 1);
    ck_assert_str_eq(s, "<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n"
                        "Hello!<|endoftext|>\n<|user|>\nName a prime.\n<|assistant|>\n");
    free(s);
    s = render(tok, hist, 3, 0); /* no generation prompt */
    ck_assert_str_eq(s, "<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n"
                        "Hello!<|endoftext|>\n");
    free(s);
    s = render(tok, NULL, 0, 1); /* no messages: only the bos (loop.last never holds) */
    ck_assert_str_eq(s, "<|endoftext|>");
    free(s);

    /* the rendered prompt encodes with <|endoftext|> as its special id and
     * <|user|> as plain text */
    s = render(tok, user, 1, 1);
    int32_t *ids;
    int64_t n;
    ck_assert_int_eq(hxq_tokenizer_encode(tok, s, strlen(s), &ids, &n, NULL), HXQ_OK);
    ck_assert_int_eq(ids[0], 0);
    ck_assert_int_gt(n, 6);
    for (int64_t i = 1; i < n; i++)
        ck_assert_int_eq(hxq_tokenizer_is_special(tok, ids[i]), 0);
    free(ids);
    free(s);
    hxq_tokenizer_free(tok);
}
END_TEST

static int config_template(hxq_tokenizer *tok, const char *json_template)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "{\"bos_token\": \"<|endoftext|>\", \"eos_token\": "
             "\"<|endoftext|>\", \"chat_template\": %s}", json_template);
    hxq_error err = {0};
    return hxq_tokenizer_load_config(tok, buf, strlen(buf), "cfg.json", &err);
}

START_TEST(recognition_ignores_tag_formatting)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    ck_assert_ptr_null(hxq_tokenizer_chat_name(tok));
    /* the Tulu template with other spacing inside tags, other quotes and
     * whitespace-control dashes instead of newlines trimmed by trim_blocks */
    const char *variant =
        "\"{{bos_token}}{%- for message in messages -%}\\n"
        "{%- if message[\\\"role\\\"]=='system' -%}{{'<|system|>\\n'+message['content']}}\\n"
        "{% elif message['role'] == 'user' -%}\\n{{ \\\"<|user|>\\n\\\" + message['content'] }}\\n"
        "{% elif message['role'] == 'assistant' %}\\n{{ '<|assistant|>\\n' + message['content']"
        " + eos_token }}\\n    {% endif %}\\n"
        "    {% if loop.last and add_generation_prompt %}\\n{{ '<|assistant|>' }}\\n{% endif %}\\n"
        "{% endfor %}\"";
    ck_assert_int_eq(config_template(tok, variant), HXQ_OK);
    ck_assert_str_eq(hxq_tokenizer_chat_name(tok), "tulu");
    hxq_chat_msg m[] = {{"user", "x"}};
    char *s = render(tok, m, 1, 1);
    ck_assert_str_eq(s, "<|endoftext|><|user|>\nx\n<|assistant|>\n");
    free(s);
    /* without the leading {{ bos_token }} the rendering has no bos */
    char nobos[1024];
    snprintf(nobos, sizeof(nobos), "\"%s", strstr(variant, "{%- for"));
    ck_assert_int_eq(config_template(tok, nobos), HXQ_OK);
    ck_assert_str_eq(hxq_tokenizer_chat_name(tok), "tulu");
    s = render(tok, m, 1, 0);
    ck_assert_str_eq(s, "<|user|>\nx\n");
    free(s);
    hxq_tokenizer_free(tok);
}
END_TEST

START_TEST(unrecognised_template_is_an_error)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    hxq_chat_msg m[] = {{"user", "x"}};
    char *out = (char *)0x1;
    hxq_error err = {0};
    /* no template at all */
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, m, 1, 1, &out, NULL, &err),
                     HXQ_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "--prompt"));
    ck_assert_ptr_eq(out, (char *)0x1);
    /* a template that differs in emitted text (one newline) */
    ck_assert_int_eq(config_template(tok, "\"{% for message in messages %}{{ message['content'] "
                                          "}}\\n{% endfor %}\""), HXQ_OK);
    ck_assert_ptr_null(hxq_tokenizer_chat_name(tok));
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, m, 1, 1, &out, NULL, &err),
                     HXQ_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "not one hxq recognises"));
    ck_assert_ptr_nonnull(strstr(err.msg, "--prompt"));
    /* bad messages */
    hxq_chat_msg bad[] = {{"user", NULL}};
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, bad, 1, 1, &out, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, NULL, 2, 1, &out, NULL, &err),
                     HXQ_ERR_INVALID);
    /* a chat_template that is neither a string nor a list */
    ck_assert_int_eq(config_template(tok, "42"), HXQ_ERR_FORMAT);
    hxq_tokenizer_free(tok);
}
END_TEST

START_TEST(chatml_and_template_lists)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    const char *chatml =
        "[{\"name\": \"tool_use\", \"template\": \"{{ nope }}\"}, {\"name\": \"default\", "
        "\"template\": \"{% for message in messages %}{{'<|im_start|>' + message['role'] + "
        "'\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if "
        "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}\"}]";
    ck_assert_int_eq(config_template(tok, chatml), HXQ_OK);
    ck_assert_str_eq(hxq_tokenizer_chat_name(tok), "chatml");
    hxq_chat_msg m[] = {{"system", "S"}, {"user", "U"}};
    char *s = render(tok, m, 2, 1);
    ck_assert_str_eq(s, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                        "<|im_start|>assistant\n");
    free(s);
    hxq_tokenizer_free(tok);
}
END_TEST

START_TEST(template_from_jinja_file)
{
    char *dir = hxq_test_tmpdir("chat");
    ck_assert_int_eq(hxq_test_sh("cp " OLMOE_TOK " '%s/tokenizer.json'", dir), 0);
    char path[4200];
    snprintf(path, sizeof(path), "%s/chat_template.jinja", dir);
    const char *t = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}\n";
    ck_assert_int_eq(hxq_test_write_file(path, t, strlen(t)), 0);
    hxq_tokenizer *tok = load(dir);
    ck_assert_str_eq(hxq_tokenizer_chat_name(tok), "chatml");
    hxq_tokenizer_free(tok);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- prompt ids --------------------------------------------------------------- */

static void ids_equal(const int32_t *a, int64_t na, const int32_t *b, int64_t nb)
{
    ck_assert_int_eq(na, nb);
    for (int64_t i = 0; i < na; i++)
        ck_assert_int_eq(a[i], b[i]);
}

/* The ids `hxq run` and `hxq serve` start from: a chat is its rendering
 * encoded as is; a raw prompt gets the BOS only when the config asks. */
START_TEST(prompt_ids)
{
    hxq_tokenizer *tok = load(HXQ_FIXTURE_DENSE);
    hxq_error err = {0};
    hxq_chat_msg m[] = {{"system", "Be brief."}, {"user", "What is 2+2?"}};
    char *text = render(tok, m, 2, 1);
    int32_t *want, *got;
    int64_t nw, ng;
    ck_assert_int_eq(hxq_tokenizer_encode(tok, text, strlen(text), &want, &nw, &err), HXQ_OK);
    ck_assert_int_eq(hxq_tokenizer_encode_chat(tok, m, 2, &got, &ng, &err), HXQ_OK);
    ck_assert_int_eq(got[0], hxq_tokenizer_bos_id(tok)); /* the template's own BOS, once */
    ck_assert_int_ne(got[1], hxq_tokenizer_bos_id(tok));
    ids_equal(got, ng, want, nw);
    free(got);
    free(want);
    free(text);
    /* tiny-olmoe: add_bos_token false, the prompt as encoded */
    ck_assert_int_eq(hxq_tokenizer_encode(tok, "Hi there", 8, &want, &nw, &err), HXQ_OK);
    ck_assert_int_eq(hxq_tokenizer_encode_prompt(tok, "Hi there", 8, &got, &ng, &err), HXQ_OK);
    ids_equal(got, ng, want, nw);
    free(got);
    got = (int32_t *)0x1;
    ck_assert_int_eq(hxq_tokenizer_encode_prompt(tok, "", 0, &got, &ng, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "no tokens"));
    ck_assert_ptr_eq(got, (int32_t *)0x1);
    ck_assert_int_eq(hxq_tokenizer_encode_prompt(tok, "\xff", 1, &got, &ng, &err),
                     HXQ_ERR_INVALID);
    const char *cfg = "{\"add_bos_token\": true}";
    ck_assert_int_eq(hxq_tokenizer_load_config(tok, cfg, strlen(cfg), NULL, &err), HXQ_OK);
    ck_assert_int_eq(hxq_tokenizer_encode_prompt(tok, "Hi there", 8, &got, &ng, &err), HXQ_OK);
    ck_assert_int_eq(ng, nw + 1);
    ck_assert_int_eq(got[0], hxq_tokenizer_bos_id(tok));
    ids_equal(got + 1, ng - 1, want, nw);
    free(got);
    ck_assert_int_eq(hxq_tokenizer_encode_prompt(tok, "", 0, &got, &ng, &err), HXQ_OK);
    ck_assert_int_eq(ng, 1);
    free(got);
    free(want);
    /* no template: the chat fails as hxq_tokenizer_chat_render() does */
    hxq_tokenizer *plain = load(OLMOE_TOK);
    ck_assert_int_eq(hxq_tokenizer_encode_chat(plain, m, 2, &got, &ng, &err),
                     HXQ_ERR_UNSUPPORTED);
    hxq_tokenizer_free(plain);
    hxq_tokenizer_free(tok);
}
END_TEST

/* ---- streaming ---------------------------------------------------------------- */

static int valid_utf8(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0)
            return 0;
        i += (size_t)k;
    }
    return 1;
}

/* Streams ids one by one; checks each chunk is valid UTF-8 and that the
 * concatenation equals hxq_tokenizer_decode(). */
static void stream_equals_decode(const hxq_tokenizer *tok, const int32_t *ids, int64_t n,
                                 int flags)
{
    hxq_tokenizer_stream *st;
    ck_assert_int_eq(hxq_tokenizer_stream_create(tok, flags, &st, NULL), HXQ_OK);
    char *all = malloc(64 * (size_t)n + 16);
    size_t total = 0;
    for (int64_t i = 0; i <= n; i++) {
        const char *t;
        size_t len;
        if (i < n)
            ck_assert_int_eq(hxq_tokenizer_stream_push(st, ids[i], &t, &len, NULL), HXQ_OK);
        else
            ck_assert_int_eq(hxq_tokenizer_stream_flush(st, &t, &len, NULL), HXQ_OK);
        ck_assert_msg(valid_utf8(t, len), "chunk %lld is not valid UTF-8", (long long)i);
        memcpy(all + total, t, len);
        total += len;
    }
    char *dec;
    size_t dlen;
    ck_assert_int_eq(hxq_tokenizer_decode(tok, ids, n, flags, &dec, &dlen, NULL), HXQ_OK);
    ck_assert_uint_eq(total, dlen);
    ck_assert(!memcmp(all, dec, dlen));
    free(dec);
    free(all);
    hxq_tokenizer_stream_free(st);
}

START_TEST(stream_holds_back_incomplete_utf8)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    static const char *const texts[] = {
        "emoji \xf0\x9f\x99\x82\xf0\x9f\x9a\x80 and family "
        "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9"
        "\xe3\x83\x88",
        "\xef\xac\x81 ligature", "plain<|endoftext|>text"};
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        int32_t *ids;
        int64_t n;
        ck_assert_int_eq(hxq_tokenizer_encode(tok, texts[k], strlen(texts[k]), &ids, &n, NULL),
                         HXQ_OK);
        stream_equals_decode(tok, ids, n, 0);
        stream_equals_decode(tok, ids, n, HXQ_DECODE_SKIP_SPECIAL);
        free(ids);
    }
    /* "ﬁ" (EF AC 81) is two tokens: the first emits nothing, the second all */
    hxq_tokenizer_stream *st;
    ck_assert_int_eq(hxq_tokenizer_stream_create(tok, 0, &st, NULL), HXQ_OK);
    const char *t;
    size_t len;
    ck_assert_int_eq(hxq_tokenizer_stream_push(st, hxq_tokenizer_token_id(tok, "ï¬"), &t, &len,
                                               NULL), HXQ_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(hxq_tokenizer_stream_push(st, hxq_tokenizer_token_id(tok, "ģ"), &t, &len,
                                               NULL), HXQ_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(t, "\xef\xac\x81", 3));
    /* an incomplete sequence left at the end becomes U+FFFD on flush */
    ck_assert_int_eq(hxq_tokenizer_stream_push(st, hxq_tokenizer_token_id(tok, "ï¬"), &t, &len,
                                               NULL), HXQ_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(hxq_tokenizer_stream_flush(st, &t, &len, NULL), HXQ_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(t, "\xef\xbf\xbd", 3));
    /* a lone continuation byte cannot be completed: U+FFFD at once;
     * unknown ids emit nothing */
    ck_assert_int_eq(hxq_tokenizer_stream_push(st, hxq_tokenizer_token_id(tok, "ģ"), &t, &len,
                                               NULL), HXQ_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert(!memcmp(t, "\xef\xbf\xbd", 3));
    ck_assert_int_eq(hxq_tokenizer_stream_push(st, 999999, &t, &len, NULL), HXQ_OK);
    ck_assert_uint_eq(len, 0);
    hxq_error err = {0};
    ck_assert_int_eq(hxq_tokenizer_stream_push(st, 1, NULL, &len, &err), HXQ_ERR_INVALID);
    hxq_tokenizer_stream_free(st);
    hxq_tokenizer_stream_free(NULL);
    hxq_tokenizer_free(tok);
}
END_TEST

static Suite *chat_suite(void)
{
    Suite *s = suite_create("chat");
    TCase *tc = tcase_create("chat");
    tcase_add_test(tc, tulu_matches_reference_strings);
    tcase_add_test(tc, recognition_ignores_tag_formatting);
    tcase_add_test(tc, unrecognised_template_is_an_error);
    tcase_add_test(tc, chatml_and_template_lists);
    tcase_add_test(tc, template_from_jinja_file);
    tcase_add_test(tc, prompt_ids);
    tcase_add_test(tc, stream_holds_back_incomplete_utf8);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(chat_suite)
