/* test_chat.c - chat templates: every case of the jinja2 goldens
 * (test/fixtures/chat/{templates,snippets}.json, made by test/tokenizer/make_chat_goldens.py)
 * rendered byte for byte, the OLMoE renderings of shared/reference/olmoe.md
 * through the tokenizer, template loading, error messages and limits; and
 * the streaming decoder. */
#include "hxq_test.h"
#include "hxq_tokenizer.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#define OLMOE_TOK "test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json"
#define CHAT_DIR "test/fixtures/chat/"

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

/* Renders template text with variables; returns the status, *out the text. */
static int render_text(const char *tmpl, const char *vars, char **out, hxq_error *err)
{
    hxq_chat_opts o = {.vars_json = vars, .has_now = 1, .now = 1721995200};
    *out = NULL;
    return hxq_tokenizer_template_render(tmpl, strlen(tmpl), &o, out, NULL, err);
}

/* ---- the jinja2 goldens ------------------------------------------------------------- */

static cJSON *read_json(const char *path)
{
    size_t len;
    char *text = (char *)hxq_test_read_file(path, &len);
    ck_assert_msg(text != NULL, "%s: unreadable", path);
    cJSON *j = cJSON_ParseWithLength(text, len);
    ck_assert_msg(j != NULL, "%s: bad JSON", path);
    free(text);
    return j;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The hxq status for the exception jinja2 raised. */
static int expected_status(const char *exc)
{
    if (!strcmp(exc, "TemplateError"))
        return HXQ_ERR_INVALID;   /* raise_exception() */
    if (!strcmp(exc, "OverflowError"))
        return HXQ_ERR_RANGE;     /* the sandbox's range limit */
    return HXQ_ERR_FORMAT;        /* syntax, undefined, type and value errors */
}

/* Renders every case of a golden file; returns the number of mismatches
 * (each reported on stderr) and counts the cases in *n. */
static int check_goldens(const char *file, int *n)
{
    cJSON *doc = read_json(file);
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(doc, "now");
    ck_assert(cJSON_IsNumber(now));
    ck_assert_ptr_nonnull(str_of(doc, "jinja2"));
    const cJSON *c;
    int bad = 0;
    *n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        const char *name = str_of(c, "name"), *tfile = str_of(c, "template");
        const char *vars = str_of(c, "vars"), *want = str_of(c, "expected");
        const char *exc = str_of(c, "error"), *flag = str_of(c, "hxq");
        char *tmpl = NULL;
        size_t tlen = 0;
        if (tfile) {
            char path[512];
            snprintf(path, sizeof(path), CHAT_DIR "%s", tfile);
            tmpl = (char *)hxq_test_read_file(path, &tlen);
            ck_assert_msg(tmpl != NULL, "%s: unreadable", path);
        } else {
            const char *src = str_of(c, "source");
            ck_assert_ptr_nonnull(src);
            tmpl = strdup(src);
            tlen = strlen(src);
        }
        hxq_chat_opts o = {.vars_json = vars, .has_now = 1, .now = (int64_t)now->valuedouble};
        char *out = NULL;
        size_t len = 0;
        hxq_error err = {0};
        int rc = hxq_tokenizer_template_render(tmpl, tlen, &o, &out, &len, &err);
        int want_rc = flag && !strcmp(flag, "unsupported") ? HXQ_ERR_UNSUPPORTED
                      : exc ? expected_status(exc) : HXQ_OK;
        if (rc != want_rc) {
            fprintf(stderr, "%s: case '%s': status %d, expected %d (%s)\n  hxq: %s\n", file,
                    name, rc, want_rc, exc ? exc : "a rendering", rc ? err.msg : out);
            bad++;
        } else if (rc == HXQ_OK && (len != strlen(want) || memcmp(out, want, len))) {
            fprintf(stderr, "%s: case '%s': rendering differs\n  jinja2: [%s]\n  hxq:    [%s]\n",
                    file, name, want, out);
            bad++;
        } else if (rc < 0 && !strstr(err.msg, "line ") && !strstr(err.msg, "JSON")) {
            fprintf(stderr, "%s: case '%s': the message names no line: %s\n", file, name,
                    err.msg);
            bad++;
        }
        free(out);
        free(tmpl);
        (*n)++;
    }
    cJSON_Delete(doc);
    return bad;
}

START_TEST(templates_match_jinja2)
{
    int n, bad = check_goldens(CHAT_DIR "templates.json", &n);
    ck_assert_int_ge(n, 100);
    ck_assert_msg(bad == 0, "%d of %d template cases differ from jinja2 (see stderr)", bad, n);
}
END_TEST

START_TEST(snippets_match_jinja2)
{
    int n, bad = check_goldens(CHAT_DIR "snippets.json", &n);
    ck_assert_int_ge(n, 100);
    ck_assert_msg(bad == 0, "%d of %d snippet cases differ from jinja2 (see stderr)", bad, n);
}
END_TEST

/* The OLMoE cases of the goldens again, through the tokenizer of the
 * bundled model: its tokenizer_config.json supplies the template and the
 * special tokens. */
START_TEST(olmoe_goldens_through_the_tokenizer)
{
    hxq_tokenizer *tok = load(HXQ_FIXTURE_DENSE);
    cJSON *doc = read_json(CHAT_DIR "templates.json");
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        const char *tfile = str_of(c, "template"), *want = str_of(c, "expected");
        if (!tfile || strcmp(tfile, "templates/allenai-OLMoE-1B-7B-0924-Instruct.jinja") || !want)
            continue;
        cJSON *vars = cJSON_Parse(str_of(c, "vars"));
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(vars, "messages");
        int nm = cJSON_GetArraySize(msgs);
        hxq_chat_msg m[16];
        ck_assert_int_le(nm, 16);
        for (int i = 0; i < nm; i++) {
            const cJSON *e = cJSON_GetArrayItem(msgs, i);
            m[i].role = str_of(e, "role");
            m[i].content = str_of(e, "content");
        }
        int gen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vars, "add_generation_prompt"));
        char *s = render(tok, m, nm, gen);
        ck_assert_msg(!strcmp(s, want), "%s: [%s] vs [%s]", str_of(c, "name"), s, want);
        free(s);
        cJSON_Delete(vars);
        n++;
    }
    ck_assert_int_ge(n, 10);
    cJSON_Delete(doc);
    hxq_tokenizer_free(tok);
}
END_TEST

/* ---- the reference strings and the tokenizer's template ------------------------------ */

/* The two renderings recorded in shared/reference/olmoe.md. */
START_TEST(tulu_matches_reference_strings)
{
    hxq_tokenizer *tok = load(HXQ_FIXTURE_DENSE);
    ck_assert_ptr_nonnull(strstr(hxq_tokenizer_chat_template(tok), "<|assistant|>"));
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
    hxq_chat_msg other[] = {{"narrator", "(aside)"}, {"user", "x"}}; /* any role is passed */
    s = render(tok, other, 2, 0);
    ck_assert_str_eq(s, "<|endoftext|><|user|>\nx\n");
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
             "\"<|endoftext|>\", \"pad_token\": {\"content\": \"<|padding|>\"}, "
             "\"chat_template\": %s}", json_template);
    hxq_error err = {0};
    return hxq_tokenizer_load_config(tok, buf, strlen(buf), "cfg.json", &err);
}

START_TEST(template_lists_tokens_and_options)
{
    hxq_tokenizer *tok = load(OLMOE_TOK);
    ck_assert_ptr_null(hxq_tokenizer_chat_template(tok));
    const char *list =
        "[{\"name\": \"tool_use\", \"template\": \"{{ nope }}\"}, {\"name\": \"default\", "
        "\"template\": \"{% for message in messages %}{{'<|im_start|>' + message['role'] + "
        "'\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if "
        "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
        "{{ pad_token }}{{ unk_token is defined }}\"}]";
    ck_assert_int_eq(config_template(tok, list), HXQ_OK);
    hxq_chat_msg m[] = {{"system", "S"}, {"user", "U"}};
    char *s = render(tok, m, 2, 1);
    ck_assert_str_eq(s, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                        "<|im_start|>assistant\n<|padding|>False");
    free(s);
    /* options: extra variables (replacing messages too) and a fixed clock */
    ck_assert_int_eq(config_template(tok, "\"{{ messages|length }} {{ flag }} "
                                          "{{ strftime_now('%Y-%m-%d') }}\""), HXQ_OK);
    hxq_chat_opts o = {.vars_json = "{\"flag\": false, \"messages\": [1, 2, 3]}", .has_now = 1,
                       .now = 86400 * 365};
    size_t len;
    hxq_error err = {0};
    ck_assert_int_eq(hxq_tokenizer_chat_render_opts(tok, m, 2, &o, &s, &len, &err), HXQ_OK);
    ck_assert_str_eq(s, "3 False 1971-01-01");
    free(s);
    o = (hxq_chat_opts){0}; /* the real clock: a four-digit year */
    ck_assert_int_eq(hxq_tokenizer_chat_render_opts(tok, m, 2, &o, &s, &len, &err), HXQ_OK);
    ck_assert_msg(len == strlen("2  2024-07-26") && s[3] == '2', "%s", s);
    free(s);
    ck_assert_int_eq(hxq_tokenizer_chat_render_opts(tok, m, 2, NULL, &s, &len, &err), HXQ_OK);
    free(s);
    /* a list without a default template is reported at render time */
    ck_assert_int_eq(config_template(tok, "[{\"name\": \"rag\", \"template\": \"x\"}]"), HXQ_OK);
    char *out = (char *)0x1;
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, m, 1, 1, &out, NULL, &err),
                     HXQ_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "default"));
    ck_assert_ptr_eq(out, (char *)0x1);
    /* a chat_template that is neither a string nor a list */
    ck_assert_int_eq(config_template(tok, "42"), HXQ_ERR_FORMAT);
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
    ck_assert_str_eq(hxq_tokenizer_chat_template(tok), t);
    hxq_chat_msg m[] = {{"user", "x"}};
    char *s = render(tok, m, 1, 1);
    ck_assert_str_eq(s, "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n");
    free(s);
    hxq_tokenizer_free(tok);
    /* a template error names the file, the line and the construct */
    const char *bad = "line one\n{{ messages|groupby('role') }}\n";
    ck_assert_int_eq(hxq_test_write_file(path, bad, strlen(bad)), 0);
    tok = load(dir);
    hxq_error err = {0};
    char *out = NULL;
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, m, 1, 1, &out, NULL, &err),
                     HXQ_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.msg, "chat_template.jinja: chat_template: line 2: unsupported "
                                  "filter 'groupby'") != NULL, "%s", err.msg);
    ck_assert_ptr_null(out);
    hxq_tokenizer_free(tok);
    hxq_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- errors and limits ---------------------------------------------------------------- */

static void expect_error(const char *tmpl, const char *vars, int code, const char *needle)
{
    char *out;
    hxq_error err = {0};
    int rc = render_text(tmpl, vars, &out, &err);
    ck_assert_msg(rc == code, "'%.60s': status %d, expected %d (%s)", tmpl, rc, code,
                  rc ? err.msg : out);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "'%.60s': message '%s' lacks '%s'", tmpl,
                  err.msg, needle);
    ck_assert_ptr_null(out);
}

START_TEST(errors_name_line_and_construct)
{
    expect_error("a\nb\n{% if x %}\n{{ x|wordwrap }}{% endif %}", "{\"x\": 1}",
                 HXQ_ERR_UNSUPPORTED, "line 4: unsupported filter 'wordwrap'");
    expect_error("\n\n{% include 'x' %}", NULL, HXQ_ERR_UNSUPPORTED,
                 "line 3: unsupported tag 'include'");
    expect_error("{{ '{}'.format(1) }}", NULL, HXQ_ERR_UNSUPPORTED,
                 "unsupported method 'format' of str");
    expect_error("{% for m in messages %}\n{% if m.role == 'user' %}\n{{ m.content }}\n"
                 "{% endfor %}", "{\"messages\": []}", HXQ_ERR_FORMAT, "line 4: syntax error");
    expect_error("x\n{{ raise_exception('roles must alternate') }}", NULL, HXQ_ERR_INVALID,
                 "line 2: the template raised an error: roles must alternate");
    expect_error("{{ messages[0].role }}", "{\"messages\": []}", HXQ_ERR_FORMAT,
                 "has no element 0");
    expect_error("{{ x }}", "[1]", HXQ_ERR_FORMAT, "a JSON object");
    expect_error("{{ x }}", "{\"x\": }", HXQ_ERR_FORMAT, "JSON");
    expect_error("{{ x }}", "{\"x\": 99999999999999999999}", HXQ_ERR_UNSUPPORTED, "64-bit");
    expect_error("{{ 9223372036854775807 + 1 }}", NULL, HXQ_ERR_UNSUPPORTED, "overflow");
    expect_error("ok\xff", NULL, HXQ_ERR_FORMAT, "not valid UTF-8");
    /* jinja2 prints a generator's address: nothing to match */
    expect_error("{{ [1]|map('string') }}", NULL, HXQ_ERR_UNSUPPORTED, "printing a generator");
}
END_TEST

START_TEST(messages_are_checked)
{
    hxq_tokenizer *tok = load(HXQ_FIXTURE_DENSE);
    char *out = (char *)0x1;
    hxq_error err = {0};
    hxq_chat_msg null_content[] = {{"user", NULL}};
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, null_content, 1, 1, &out, NULL, &err),
                     HXQ_ERR_INVALID);
    hxq_chat_msg bad_utf8[] = {{"user", "ok"}, {"user", "\xc3("}};
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, bad_utf8, 2, 1, &out, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "chat message 1") != NULL, "%s", err.msg);
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, NULL, 2, 1, &out, NULL, &err),
                     HXQ_ERR_INVALID);
    ck_assert_ptr_eq(out, (char *)0x1);
    hxq_tokenizer_free(tok);
    /* no template at all */
    tok = load(OLMOE_TOK);
    hxq_chat_msg m[] = {{"user", "x"}};
    ck_assert_int_eq(hxq_tokenizer_chat_render(tok, m, 1, 1, &out, NULL, &err),
                     HXQ_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "no chat_template"));
    hxq_tokenizer_free(tok);
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

/* Hostile templates end in HXQ_ERR_RANGE, quickly and without a crash. */
START_TEST(limits_stop_hostile_templates)
{
    char deep[4096];
    size_t k = 0;
    k += (size_t)snprintf(deep + k, sizeof(deep) - k, "{{ ");
    for (int i = 0; i < 1000; i++)
        deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 1000; i++)
        deep[k++] = ')';
    snprintf(deep + k, sizeof(deep) - k, " }}");
    expect_error(deep, NULL, HXQ_ERR_RANGE, "deep");
    k = 0;
    for (int i = 0; i < 300; i++)
        k += (size_t)snprintf(deep + k, sizeof(deep) - k, "{%% if 1 %%}");
    expect_error(deep, NULL, HXQ_ERR_RANGE, "deep");
    k = (size_t)snprintf(deep, sizeof(deep), "{{ ");
    for (int i = 0; i < 500; i++)
        k += (size_t)snprintf(deep + k, sizeof(deep) - k, "not ");
    snprintf(deep + k, sizeof(deep) - k, "1 }}");
    expect_error(deep, NULL, HXQ_ERR_RANGE, "deep");
    expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, HXQ_ERR_RANGE,
                 "recurses");
    expect_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                 "{% endfor %}", NULL, HXQ_ERR_RANGE, "steps");
    expect_error("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", NULL,
                 HXQ_ERR_RANGE, "output");
    expect_error("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(60) %}"
                 "{% set ns.s = ns.s ~ ns.s %}{% endfor %}", NULL, HXQ_ERR_RANGE, "");
    expect_error("{{ 'x' * 10000000000 }}", NULL, HXQ_ERR_RANGE, "repetition");
    expect_error("{% set ns = namespace(l=[]) %}{% for i in range(2000) %}"
                 "{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}", NULL, HXQ_ERR_RANGE, "nested");
    expect_error("{{ range(1000000) }}", NULL, HXQ_ERR_RANGE, "range");
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
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, templates_match_jinja2);
    tcase_add_test(tc, snippets_match_jinja2);
    tcase_add_test(tc, olmoe_goldens_through_the_tokenizer);
    tcase_add_test(tc, tulu_matches_reference_strings);
    tcase_add_test(tc, template_lists_tokens_and_options);
    tcase_add_test(tc, template_from_jinja_file);
    tcase_add_test(tc, errors_name_line_and_construct);
    tcase_add_test(tc, messages_are_checked);
    tcase_add_test(tc, limits_stop_hostile_templates);
    tcase_add_test(tc, prompt_ids);
    tcase_add_test(tc, stream_holds_back_incomplete_utf8);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(chat_suite)
