/* test_shapes.c - what the server writes: JSON string escaping, OpenAI's
 * error, completion and chunk objects, server-sent event framing, the
 * model list; and the API key check. Every JSON text is parsed back with
 * cJSON. */
#include "hxq_test.h"
#include "serve_int.h"

#include <cJSON.h>
#include <string.h>

static cJSON *parse(const char *text, size_t n)
{
    cJSON *j = cJSON_ParseWithLength(text, n);
    ck_assert_msg(j != NULL, "not JSON: %.*s", (int)n, text);
    return j;
}

static const char *str_at(const cJSON *o, const char *path)
{
    const cJSON *v = o;
    char key[64];
    for (const char *p = path; v && *p;) {
        size_t k = strcspn(p, ".");
        memcpy(key, p, k);
        key[k] = '\0';
        v = key[0] >= '0' && key[0] <= '9' ? cJSON_GetArrayItem(v, atoi(key))
                                             : cJSON_GetObjectItemCaseSensitive(v, key);
        p += k + (p[k] == '.');
    }
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

START_TEST(json_strings)
{
    serve_buf b = {0};
    const char raw[] = "q\"b\\n\n r\r t\t c\x01 e\x7f \xc3\xa9 \xe2\x80\xa8";
    serve_buf_json_str(&b, raw, sizeof(raw) - 1);
    ck_assert_str_eq(b.p, "\"q\\\"b\\\\n\\n r\\r t\\t c\\u0001 e\\u007f \xc3\xa9 \xe2\x80\xa8\"");
    cJSON *j = parse(b.p, b.n);
    ck_assert_str_eq(j->valuestring, raw);
    cJSON_Delete(j);
    b.n = 0;
    serve_buf_json_str(&b, "a\0b", 3); /* a NUL byte is escaped, not a terminator */
    ck_assert_str_eq(b.p, "\"a\\u0000b\"");
    b.n = 0;
    serve_buf_json_str(&b, "", 0);
    ck_assert_str_eq(b.p, "\"\"");
    serve_buf_free(&b);
}
END_TEST

START_TEST(error_objects)
{
    serve_error e;
    ck_assert_int_eq(serve_fail(&e, 400, "invalid_request_error", "context_length_exceeded",
                                "messages", "too \"long\": %d", 5), -1);
    serve_buf b = {0};
    serve_json_error(&b, &e);
    cJSON *j = parse(b.p, b.n);
    ck_assert_str_eq(str_at(j, "error.message"), "too \"long\": 5");
    ck_assert_str_eq(str_at(j, "error.type"), "invalid_request_error");
    ck_assert_str_eq(str_at(j, "error.param"), "messages");
    ck_assert_str_eq(str_at(j, "error.code"), "context_length_exceeded");
    cJSON_Delete(j);
    /* no param, no code: JSON null, as OpenAI writes them */
    serve_fail(&e, 500, "server_error", NULL, NULL, "boom");
    b.n = 0;
    serve_json_error(&b, &e);
    j = parse(b.p, b.n);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "param")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")));
    cJSON_Delete(j);
    serve_buf_free(&b);
}
END_TEST

START_TEST(completion_objects)
{
    serve_result r = {SERVE_CHAT, "chatcmpl-1", 1700000000, "tiny", "length", 12, 3};
    serve_buf b = {0};
    serve_json_response(&b, &r, "Hi\nthere", 8);
    cJSON *j = parse(b.p, b.n);
    ck_assert_str_eq(str_at(j, "object"), "chat.completion");
    ck_assert_str_eq(str_at(j, "id"), "chatcmpl-1");
    ck_assert_str_eq(str_at(j, "model"), "tiny");
    ck_assert_str_eq(str_at(j, "choices.0.message.role"), "assistant");
    ck_assert_str_eq(str_at(j, "choices.0.message.content"), "Hi\nthere");
    ck_assert_str_eq(str_at(j, "choices.0.finish_reason"), "length");
    cJSON *u = cJSON_GetObjectItem(j, "usage");
    ck_assert_int_eq(cJSON_GetObjectItem(u, "prompt_tokens")->valueint, 12);
    ck_assert_int_eq(cJSON_GetObjectItem(u, "completion_tokens")->valueint, 3);
    ck_assert_int_eq(cJSON_GetObjectItem(u, "total_tokens")->valueint, 15);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "created")->valueint, 1700000000);
    cJSON_Delete(j);
    r.kind = SERVE_COMPLETION;
    r.finish = "stop";
    b.n = 0;
    serve_json_response(&b, &r, "", 0);
    j = parse(b.p, b.n);
    ck_assert_str_eq(str_at(j, "object"), "text_completion");
    ck_assert_str_eq(str_at(j, "choices.0.text"), "");
    ck_assert_str_eq(str_at(j, "choices.0.finish_reason"), "stop");
    cJSON_Delete(j);
    b.n = 0;
    serve_json_models(&b, "tiny", 5);
    j = parse(b.p, b.n);
    ck_assert_str_eq(str_at(j, "object"), "list");
    ck_assert_str_eq(str_at(j, "data.0.id"), "tiny");
    ck_assert_str_eq(str_at(j, "data.0.object"), "model");
    cJSON_Delete(j);
    serve_buf_free(&b);
}
END_TEST

/* One event: "data: " + one line of JSON + a blank line. */
static cJSON *event(const serve_buf *b)
{
    ck_assert_uint_gt(b->n, 8);
    ck_assert(!strncmp(b->p, "data: ", 6));
    ck_assert(!strcmp(b->p + b->n - 2, "\n\n"));
    ck_assert_ptr_eq(memchr(b->p, '\n', b->n), b->p + b->n - 2); /* no newline inside */
    return parse(b->p + 6, b->n - 8);
}

START_TEST(stream_events)
{
    serve_result r = {SERVE_CHAT, "chatcmpl-2", 1, "tiny", NULL, 4, 0};
    serve_buf b = {0};
    serve_sse_chunk(&b, &r, 1, "", 0);
    cJSON *j = event(&b);
    ck_assert_str_eq(str_at(j, "object"), "chat.completion.chunk");
    ck_assert_str_eq(str_at(j, "choices.0.delta.role"), "assistant");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(j, "choices"), 0), "finish_reason")));
    cJSON_Delete(j);
    b.n = 0;
    serve_sse_chunk(&b, &r, 0, "two\nlines\n\n", 11); /* newlines stay escaped */
    j = event(&b);
    ck_assert_str_eq(str_at(j, "choices.0.delta.content"), "two\nlines\n\n");
    ck_assert_ptr_null(str_at(j, "choices.0.delta.role"));
    cJSON_Delete(j);
    r.finish = "stop";
    r.completion_tokens = 7;
    b.n = 0;
    serve_sse_chunk(&b, &r, 0, "", 0); /* the last chunk: an empty delta */
    j = event(&b);
    ck_assert_str_eq(str_at(j, "choices.0.finish_reason"), "stop");
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(j, "choices"), 0), "delta"), "content"));
    cJSON_Delete(j);
    b.n = 0;
    serve_sse_usage(&b, &r);
    j = event(&b);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "choices")), 0);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "total_tokens")->valueint,
                     11);
    cJSON_Delete(j);
    r.kind = SERVE_COMPLETION;
    r.finish = NULL;
    b.n = 0;
    serve_sse_chunk(&b, &r, 0, "x", 1);
    j = event(&b);
    ck_assert_str_eq(str_at(j, "object"), "text_completion");
    ck_assert_str_eq(str_at(j, "choices.0.text"), "x");
    cJSON_Delete(j);
    serve_error e;
    serve_fail(&e, 503, "server_error", NULL, NULL, "stopping");
    b.n = 0;
    serve_sse_error(&b, &e);
    j = event(&b);
    ck_assert_str_eq(str_at(j, "error.message"), "stopping");
    cJSON_Delete(j);
    b.n = 0;
    serve_sse_done(&b);
    ck_assert_str_eq(b.p, "data: [DONE]\n\n");
    serve_buf_free(&b);
}
END_TEST

START_TEST(api_key_check)
{
    const char *key = "sk-0123456789abcdef";
    ck_assert(serve_auth_ok("Bearer sk-0123456789abcdef", key));
    ck_assert(serve_auth_ok("bearer  sk-0123456789abcdef", key)); /* scheme case, spaces */
    ck_assert(!serve_auth_ok("Bearer sk-0123456789abcdeg", key));
    ck_assert(!serve_auth_ok("Bearer sk-0123456789abcde", key));   /* a prefix */
    ck_assert(!serve_auth_ok("Bearer sk-0123456789abcdefX", key)); /* longer */
    ck_assert(!serve_auth_ok("Bearer ", key));
    ck_assert(!serve_auth_ok("Bearer", key));
    ck_assert(!serve_auth_ok("Bearersk-0123456789abcdef", key));
    ck_assert(!serve_auth_ok("Basic sk-0123456789abcdef", key));
    ck_assert(!serve_auth_ok("sk-0123456789abcdef", key));
    ck_assert(!serve_auth_ok(NULL, key));
    ck_assert(!serve_auth_ok("", key));
}
END_TEST

START_TEST(buffers)
{
    serve_buf b = {0};
    serve_buf_printf(&b, "%d-%s", 42, "x");
    serve_buf_puts(&b, "yz");
    ck_assert_str_eq(b.p, "42-xyz");
    serve_buf_consume(&b, 3);
    ck_assert_str_eq(b.p, "xyz");
    serve_buf_consume(&b, 10);
    ck_assert_uint_eq(b.n, 0);
    for (int i = 0; i < 10000; i++)
        serve_buf_put(&b, "abcdefgh", 8);
    size_t len;
    char *p = serve_buf_take(&b, &len);
    ck_assert_uint_eq(len, 80000);
    ck_assert_ptr_null(b.p);
    free(p);
    p = serve_buf_take(&b, &len); /* empty: "" */
    ck_assert_str_eq(p, "");
    free(p);
}
END_TEST

static Suite *shapes_suite(void)
{
    Suite *s = suite_create("shapes");
    TCase *tc = tcase_create("shapes");
    tcase_add_test(tc, json_strings);
    tcase_add_test(tc, error_objects);
    tcase_add_test(tc, completion_objects);
    tcase_add_test(tc, stream_events);
    tcase_add_test(tc, api_key_check);
    tcase_add_test(tc, buffers);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(shapes_suite)
