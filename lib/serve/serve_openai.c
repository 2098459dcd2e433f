/* serve_openai.c - the JSON and server-sent-event shapes of OpenAI's API:
 * errors, chat.completion / text_completion objects, their stream chunks,
 * the model list. Written directly (not through cJSON) so generated text
 * with any byte, NUL included, is escaped exactly once. */
#include "serve_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int serve_fail(serve_error *e, int status, const char *type, const char *code,
               const char *param, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

static void str_or_null(serve_buf *b, const char *s)
{
    if (s && *s)
        serve_buf_json_str(b, s, strlen(s));
    else
        serve_buf_puts(b, "null");
}

static void error_object(serve_buf *b, const serve_error *e)
{
    serve_buf_puts(b, "{\"error\":{\"message\":");
    serve_buf_json_str(b, e->message, strlen(e->message));
    serve_buf_puts(b, ",\"type\":");
    str_or_null(b, e->type);
    serve_buf_puts(b, ",\"param\":");
    str_or_null(b, e->param);
    serve_buf_puts(b, ",\"code\":");
    str_or_null(b, e->code);
    serve_buf_puts(b, "}}");
}

void serve_json_error(serve_buf *b, const serve_error *e)
{
    error_object(b, e);
    serve_buf_puts(b, "\n");
}

static void head(serve_buf *b, const serve_result *r, const char *object)
{
    serve_buf_puts(b, "{\"id\":");
    serve_buf_json_str(b, r->id, strlen(r->id));
    serve_buf_printf(b, ",\"object\":\"%s\",\"created\":%lld,\"model\":", object,
                     (long long)r->created);
    serve_buf_json_str(b, r->model, strlen(r->model));
    serve_buf_puts(b, ",\"system_fingerprint\":\"hxq-" HXQ_VERSION "\"");
}

static void usage(serve_buf *b, const serve_result *r)
{
    serve_buf_printf(b, "\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
                        "\"total_tokens\":%lld}",
                     (long long)r->prompt_tokens, (long long)r->completion_tokens,
                     (long long)(r->prompt_tokens + r->completion_tokens));
}

/* ,"choices":[{"index":0,  ...  "logprobs":null,"finish_reason":F}] around
 * the choice's own fields. */
static void choice_open(serve_buf *b)
{
    serve_buf_puts(b, ",\"choices\":[{\"index\":0,");
}

static void choice_close(serve_buf *b, const serve_result *r)
{
    serve_buf_puts(b, "\"logprobs\":null,\"finish_reason\":");
    str_or_null(b, r->finish);
    serve_buf_puts(b, "}]");
}

/* "message":{"role":"assistant","content":TEXT} for chat, "text":TEXT else. */
static void choice_text(serve_buf *b, const serve_result *r, const char *text, size_t len)
{
    if (r->kind == SERVE_CHAT)
        serve_buf_puts(b, "\"message\":{\"role\":\"assistant\",\"content\":");
    else
        serve_buf_puts(b, "\"text\":");
    serve_buf_json_str(b, text, len);
    serve_buf_puts(b, r->kind == SERVE_CHAT ? "}," : ",");
}

void serve_json_response(serve_buf *b, const serve_result *r, const char *text, size_t len)
{
    head(b, r, r->kind == SERVE_CHAT ? "chat.completion" : "text_completion");
    choice_open(b);
    choice_text(b, r, text, len);
    choice_close(b, r);
    serve_buf_puts(b, ",");
    usage(b, r);
    serve_buf_puts(b, "}\n");
}

void serve_sse_chunk(serve_buf *b, const serve_result *r, int first, const char *text,
                     size_t len)
{
    int chat = r->kind == SERVE_CHAT;
    serve_buf_puts(b, "data: ");
    head(b, r, chat ? "chat.completion.chunk" : "text_completion");
    choice_open(b);
    if (!chat)
        choice_text(b, r, text, len);
    else if (first)
        serve_buf_puts(b, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},");
    else if (!len && r->finish)
        serve_buf_puts(b, "\"delta\":{},");
    else {
        serve_buf_puts(b, "\"delta\":{\"content\":");
        serve_buf_json_str(b, text, len);
        serve_buf_puts(b, "},");
    }
    choice_close(b, r);
    serve_buf_puts(b, "}\n\n");
}

void serve_sse_usage(serve_buf *b, const serve_result *r)
{
    serve_buf_puts(b, "data: ");
    head(b, r, r->kind == SERVE_CHAT ? "chat.completion.chunk" : "text_completion");
    serve_buf_puts(b, ",\"choices\":[],");
    usage(b, r);
    serve_buf_puts(b, "}\n\n");
}

void serve_sse_error(serve_buf *b, const serve_error *e)
{
    serve_buf_puts(b, "data: ");
    error_object(b, e);
    serve_buf_puts(b, "\n\n");
}

void serve_sse_done(serve_buf *b)
{
    serve_buf_puts(b, "data: [DONE]\n\n");
}

void serve_json_model(serve_buf *b, const char *model, int64_t created)
{
    serve_buf_puts(b, "{\"id\":");
    serve_buf_json_str(b, model, strlen(model));
    serve_buf_printf(b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"hxq\"}",
                     (long long)created);
}

void serve_json_models(serve_buf *b, const char *model, int64_t created)
{
    serve_buf_puts(b, "{\"object\":\"list\",\"data\":[");
    serve_json_model(b, model, created);
    serve_buf_puts(b, "]}\n");
}
