/* test_request.c - request bodies to validated requests: defaults, every
 * accepted form, and a 400 naming the field for every kind of bad input. */
#include "hxq_test.h"
#include "serve_int.h"

#include <stdio.h>
#include <string.h>

static int parse(serve_kind kind, const char *body, serve_request *r, serve_error *e)
{
    memset(e, 0, sizeof(*e));
    return serve_request_parse(kind, body, strlen(body), r, e);
}

static serve_request ok(serve_kind kind, const char *body)
{
    serve_request r;
    serve_error e;
    ck_assert_msg(parse(kind, body, &r, &e) == 0, "%s: %s", body, e.message);
    return r;
}

/* A 400 whose param is `param` and whose message holds `words`. */
static void bad(serve_kind kind, const char *body, const char *param, const char *words)
{
    serve_request r;
    serve_error e;
    ck_assert_msg(parse(kind, body, &r, &e) == -1, "accepted: %s", body);
    ck_assert_int_eq(e.status, 400);
    ck_assert_str_eq(e.type, "invalid_request_error");
    ck_assert_msg(!strcmp(e.param, param), "%s: param '%s', want '%s'", body, e.param, param);
    ck_assert_msg(strstr(e.message, words), "%s: message '%s' lacks '%s'", body, e.message, words);
    ck_assert_ptr_null(r.msgs); /* nothing left to free */
    ck_assert_int_eq(r.n_stop, 0);
}

START_TEST(chat_defaults_and_forms)
{
    serve_request r = ok(SERVE_CHAT, "{\"model\": \"x\", \"messages\": [{\"role\": \"user\", "
                                     "\"content\": \"hi\"}]}");
    ck_assert_int_eq(r.n_msgs, 1);
    ck_assert_str_eq(r.msgs[0].role, "user");
    ck_assert_str_eq(r.msgs[0].content, "hi");
    ck_assert(r.so.temperature == 1.0f && r.so.top_p == 1.0f && r.so.top_k == 0); /* OpenAI's */
    ck_assert_int_eq(r.max_tokens, 0);
    ck_assert_int_eq(r.stream, 0);
    ck_assert_int_eq(r.has_seed, 0);
    serve_request_free(&r);
    r = ok(SERVE_CHAT,
           "{\"messages\": [{\"role\": \"developer\", \"content\": [{\"type\": \"text\", \"text\":"
           " \"a\"}, {\"type\": \"text\", \"text\": \"b\\u00e9\"}]}, {\"role\": \"assistant\", "
           "\"content\": \"\", \"name\": \"x\"}], \"max_tokens\": 7, \"temperature\": 0, "
           "\"top_p\": 0.5, \"top_k\": 3, \"seed\": -5, \"stop\": [\"x\", \"\", \"yz\"], "
           "\"stream\": true, \"stream_options\": {\"include_usage\": true}, \"n\": 1, "
           "\"presence_penalty\": 0, \"tools\": [], \"tool_choice\": \"none\", "
           "\"response_format\": {\"type\": \"text\"}, \"user\": \"u\", \"logprobs\": false}");
    ck_assert_int_eq(r.n_msgs, 2);
    ck_assert_str_eq(r.msgs[0].role, "system");
    ck_assert_str_eq(r.msgs[0].content, "ab\xc3\xa9");
    ck_assert_str_eq(r.msgs[1].role, "assistant");
    ck_assert_int_eq(r.max_tokens, 7);
    ck_assert(r.so.temperature == 0.0f && r.so.top_p == 0.5f && r.so.top_k == 3);
    ck_assert_int_eq(r.has_seed, 1);
    ck_assert(r.so.seed == (uint64_t)-5);
    ck_assert_int_eq(r.n_stop, 2); /* the empty one matches nowhere */
    ck_assert_str_eq(r.stop[0], "x");
    ck_assert_str_eq(r.stop[1], "yz");
    ck_assert(r.stream && r.include_usage);
    serve_request_free(&r);
    /* top_p 0 is the smallest nucleus: greedy; max_completion_tokens wins */
    r = ok(SERVE_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_p\": 0,"
                       " \"max_tokens\": 9, \"max_completion_tokens\": 4, \"stop\": \"end\", "
                       "\"temperature\": null}");
    ck_assert(r.so.temperature == 0.0f);
    ck_assert_int_eq(r.max_tokens, 4);
    ck_assert_int_eq(r.n_stop, 1);
    ck_assert_str_eq(r.stop[0], "end");
    serve_request_free(&r);
}
END_TEST

START_TEST(completion_forms)
{
    serve_request r = ok(SERVE_COMPLETION, "{\"prompt\": \"Once\"}");
    ck_assert_str_eq(r.prompt, "Once");
    ck_assert_uint_eq(r.prompt_len, 4);
    serve_request_free(&r);
    r = ok(SERVE_COMPLETION, "{\"prompt\": [\"Two\"]}");
    ck_assert_str_eq(r.prompt, "Two");
    serve_request_free(&r);
    r = ok(SERVE_COMPLETION, "{\"prompt\": [5, 0, 7]}");
    ck_assert_ptr_null(r.prompt);
    ck_assert_int_eq(r.n_prompt_ids, 3);
    ck_assert_int_eq(r.prompt_ids[0], 5);
    ck_assert_int_eq(r.prompt_ids[2], 7);
    serve_request_free(&r);
    r = ok(SERVE_COMPLETION, "{\"prompt\": [[1, 2]], \"echo\": false, \"best_of\": 1, "
                             "\"suffix\": null, \"logprobs\": null}\n");
    ck_assert_int_eq(r.n_prompt_ids, 2);
    serve_request_free(&r);
}
END_TEST

START_TEST(malformed_bodies)
{
    bad(SERVE_CHAT, "", "", "not valid JSON");
    bad(SERVE_CHAT, "{\"messages\": [", "", "not valid JSON");
    bad(SERVE_CHAT, "{} {}", "", "not valid JSON");
    bad(SERVE_CHAT, "[1]", "", "JSON object");
    bad(SERVE_CHAT, "\"x\"", "", "JSON object");
    /* a reported position: near where parsing stopped */
    serve_request r;
    serve_error e;
    ck_assert_int_eq(parse(SERVE_CHAT, "{\"a\": tru}", &r, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.message, "near byte"));
}
END_TEST

#define MSG "\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]"

START_TEST(wrong_types_name_the_field)
{
    bad(SERVE_CHAT, "{}", "messages", "required");
    bad(SERVE_CHAT, "{\"messages\": null}", "messages", "required");
    bad(SERVE_CHAT, "{\"messages\": {}}", "messages", "non-empty array");
    bad(SERVE_CHAT, "{\"messages\": []}", "messages", "non-empty array");
    bad(SERVE_CHAT, "{\"messages\": [3]}", "messages[0]", "object");
    bad(SERVE_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"content\": "
                    "\"b\"}]}", "messages[1].role", "string");
    bad(SERVE_CHAT, "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}",
        "messages[0].role", "'tool' is not supported");
    bad(SERVE_CHAT, "{\"messages\": [{\"role\": \"user\"}]}", "messages[0].content", "string");
    bad(SERVE_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": null}]}",
        "messages[0].content", "string");
    bad(SERVE_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": "
                    "\"image_url\"}]}]}", "messages[0].content[0].type", "'image_url'");
    bad(SERVE_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"a\"}]}]}",
        "messages[0].content[0].type", "string");
    bad(SERVE_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\"}]}]}",
        "messages[0].content[0].text", "string");
    bad(SERVE_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}]}",
        "messages[0].content", "UTF-8");
    bad(SERVE_CHAT, "{\"model\": 1, " MSG "}", "model", "string");
    bad(SERVE_CHAT, "{\"max_tokens\": \"5\", " MSG "}", "max_tokens", "integer");
    bad(SERVE_CHAT, "{\"max_tokens\": 2.5, " MSG "}", "max_tokens", "integer");
    bad(SERVE_CHAT, "{\"max_tokens\": 0, " MSG "}", "max_tokens", "between 1");
    bad(SERVE_CHAT, "{\"max_completion_tokens\": -1, " MSG "}", "max_completion_tokens", "between");
    bad(SERVE_CHAT, "{\"temperature\": -0.1, " MSG "}", "temperature", "between 0 and 2");
    bad(SERVE_CHAT, "{\"temperature\": \"hot\", " MSG "}", "temperature", "number");
    bad(SERVE_CHAT, "{\"top_p\": 1.5, " MSG "}", "top_p", "between 0 and 1");
    bad(SERVE_CHAT, "{\"top_k\": -1, " MSG "}", "top_k", "between");
    bad(SERVE_CHAT, "{\"seed\": 1.5, " MSG "}", "seed", "integer");
    bad(SERVE_CHAT, "{\"seed\": 1e300, " MSG "}", "seed", "between");
    bad(SERVE_CHAT, "{\"stream\": 1, " MSG "}", "stream", "boolean");
    bad(SERVE_CHAT, "{\"stream_options\": 1, " MSG "}", "stream_options", "object");
    bad(SERVE_CHAT, "{\"stream_options\": {\"include_usage\": \"y\"}, " MSG "}",
        "stream_options.include_usage", "boolean");
    bad(SERVE_CHAT, "{\"stop\": 5, " MSG "}", "stop", "string or an array");
    bad(SERVE_CHAT, "{\"stop\": [\"a\", 5], " MSG "}", "stop[1]", "string");
    bad(SERVE_CHAT, "{\"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"], " MSG "}", "stop",
        "at most 4");
    char longstop[400];
    snprintf(longstop, sizeof(longstop), "{\"stop\": \"%0300d\", " MSG "}", 0);
    bad(SERVE_CHAT, longstop, "stop", "longer than 256 bytes");
}
END_TEST

START_TEST(unsupported_features_are_refused)
{
    bad(SERVE_CHAT, "{\"n\": 2, " MSG "}", "n", "one choice");
    bad(SERVE_CHAT, "{\"frequency_penalty\": 0.5, " MSG "}", "frequency_penalty", "not supported");
    bad(SERVE_CHAT, "{\"presence_penalty\": \"x\", " MSG "}", "presence_penalty", "not supported");
    bad(SERVE_CHAT, "{\"logprobs\": true, " MSG "}", "logprobs", "not supported");
    bad(SERVE_CHAT, "{\"logit_bias\": {\"5\": 10}, " MSG "}", "logit_bias", "not supported");
    bad(SERVE_CHAT, "{\"tools\": [{\"type\": \"function\"}], " MSG "}", "tools", "not supported");
    bad(SERVE_CHAT, "{\"functions\": [{}], " MSG "}", "functions", "not supported");
    bad(SERVE_CHAT, "{\"tool_choice\": \"auto\", " MSG "}", "tool_choice", "none");
    bad(SERVE_CHAT, "{\"response_format\": {\"type\": \"json_object\"}, " MSG "}",
        "response_format", "text");
    bad(SERVE_COMPLETION, "{\"prompt\": \"a\", \"echo\": true}", "echo", "not supported");
    bad(SERVE_COMPLETION, "{\"prompt\": \"a\", \"suffix\": \"b\"}", "suffix", "not supported");
    bad(SERVE_COMPLETION, "{\"prompt\": \"a\", \"best_of\": 3}", "best_of", "must be 1");
    bad(SERVE_COMPLETION, "{\"prompt\": \"a\", \"logprobs\": 2}", "logprobs", "not supported");
}
END_TEST

START_TEST(bad_prompts)
{
    bad(SERVE_COMPLETION, "{}", "prompt", "required");
    bad(SERVE_COMPLETION, "{\"prompt\": 5}", "prompt", "string or a non-empty array");
    bad(SERVE_COMPLETION, "{\"prompt\": []}", "prompt", "non-empty array");
    bad(SERVE_COMPLETION, "{\"prompt\": [\"a\", \"b\"]}", "prompt", "several prompts");
    bad(SERVE_COMPLETION, "{\"prompt\": [[1], [2]]}", "prompt", "several prompts");
    bad(SERVE_COMPLETION, "{\"prompt\": [1, -1]}", "prompt[1]", "token id");
    bad(SERVE_COMPLETION, "{\"prompt\": [1, 2.5]}", "prompt[1]", "token id");
    bad(SERVE_COMPLETION, "{\"prompt\": [1, \"a\"]}", "prompt[1]", "token id");
    bad(SERVE_COMPLETION, "{\"prompt\": [1e10]}", "prompt[0]", "token id");
    bad(SERVE_COMPLETION, "{\"prompt\": \"\xc3\x28\"}", "prompt", "UTF-8");
}
END_TEST

static Suite *request_suite(void)
{
    Suite *s = suite_create("request");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, chat_defaults_and_forms);
    tcase_add_test(tc, completion_forms);
    tcase_add_test(tc, malformed_bodies);
    tcase_add_test(tc, wrong_types_name_the_field);
    tcase_add_test(tc, unsupported_features_are_refused);
    tcase_add_test(tc, bad_prompts);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(request_suite)
