/* serve_request.c - a request body (JSON) to a validated serve_request.
 *
 * Every field is checked for its type and range; an error names the field
 * the way OpenAI's API does ("messages[1].content", "max_tokens"). Fields
 * that would change the output and are not implemented (penalties, logit
 * bias, tools, n > 1, logprobs, echo) are refused rather than ignored;
 * fields without effect here (user, metadata, store, ...) are ignored. */
#include "serve_int.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_utf8(const char *s, size_t n)
{
    return hxq_utf8_valid_prefix(s, n) == n;
}

static const cJSON *field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* An integer-valued JSON number in [lo, hi]. */
static int get_int(const cJSON *o, const char *name, double lo, double hi, int64_t *out,
                   int *given, serve_error *e)
{
    const cJSON *v = field(o, name);
    if (given)
        *given = v != NULL;
    if (!v)
        return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d) || d != floor(d))
        return serve_bad(e, name, "'%s' must be an integer", name);
    if (d < lo || d > hi)
        return serve_bad(e, name, "'%s' must be between %.0f and %.0f", name, lo, hi);
    *out = (int64_t)d;
    return 0;
}

static int get_num(const cJSON *o, const char *name, double lo, double hi, float *out,
                   serve_error *e)
{
    const cJSON *v = field(o, name);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return serve_bad(e, name, "'%s' must be a number", name);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return serve_bad(e, name, "'%s' must be between %g and %g", name, lo, hi);
    *out = (float)v->valuedouble;
    return 0;
}

static int get_bool(const cJSON *o, const char *name, int *out, serve_error *e)
{
    const cJSON *v = field(o, name);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return serve_bad(e, name, "'%s' must be a boolean", name);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_string(const cJSON *v, const char *param, char **out, size_t *len,
                      serve_error *e)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return serve_bad(e, param, "'%s' must be a string", param);
    size_t n = strlen(v->valuestring);
    if (!valid_utf8(v->valuestring, n))
        return serve_bad(e, param, "'%s' is not valid UTF-8", param);
    if (!(*out = hxq_strdup(v->valuestring)))
        return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    if (len)
        *len = n;
    return 0;
}

/* Fields that are accepted only with their neutral value. */
static int refuse_unsupported(const cJSON *o, serve_error *e)
{
    static const char *const penalties[] = {"frequency_penalty", "presence_penalty"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = field(o, penalties[i]);
        if (v && (!cJSON_IsNumber(v) || v->valuedouble != 0))
            return serve_bad(e, penalties[i], "'%s' is not supported (only 0)", penalties[i]);
    }
    const cJSON *v = field(o, "n");
    if (v && (!cJSON_IsNumber(v) || v->valuedouble != 1))
        return serve_bad(e, "n", "'n' must be 1: one choice per request");
    v = field(o, "best_of");
    if (v && (!cJSON_IsNumber(v) || v->valuedouble != 1))
        return serve_bad(e, "best_of", "'best_of' must be 1");
    v = field(o, "logprobs");
    if (v && !cJSON_IsFalse(v) && !(cJSON_IsNumber(v) && v->valuedouble == 0))
        return serve_bad(e, "logprobs", "'logprobs' is not supported");
    v = field(o, "echo");
    if (v && !cJSON_IsFalse(v))
        return serve_bad(e, "echo", "'echo' is not supported");
    v = field(o, "suffix");
    if (v && !(cJSON_IsString(v) && !v->valuestring[0]))
        return serve_bad(e, "suffix", "'suffix' is not supported");
    v = field(o, "logit_bias");
    if (v && !(cJSON_IsObject(v) && !v->child))
        return serve_bad(e, "logit_bias", "'logit_bias' is not supported");
    static const char *const lists[] = {"tools", "functions"};
    for (int i = 0; i < 2; i++) {
        v = field(o, lists[i]);
        if (v && !(cJSON_IsArray(v) && !v->child))
            return serve_bad(e, lists[i], "'%s' (tool calls) are not supported", lists[i]);
    }
    v = field(o, "tool_choice");
    if (v && !(cJSON_IsString(v) && !strcmp(v->valuestring, "none")))
        return serve_bad(e, "tool_choice", "'tool_choice' must be \"none\": no tool calls");
    v = field(o, "response_format");
    if (v) {
        const cJSON *t = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "type") : NULL;
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "text"))
            return serve_bad(e, "response_format",
                             "'response_format' must be {\"type\": \"text\"}");
    }
    return 0;
}

static int get_stop(const cJSON *o, serve_request *r, serve_error *e)
{
    const cJSON *v = field(o, "stop");
    if (!v)
        return 0;
    if (!cJSON_IsString(v) && !cJSON_IsArray(v))
        return serve_bad(e, "stop", "'stop' must be a string or an array of strings");
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
    if (n > SERVE_MAX_STOP)
        return serve_bad(e, "stop", "'stop' holds %d strings; at most %d", n, SERVE_MAX_STOP);
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, i) : v;
        char param[32];
        snprintf(param, sizeof(param), cJSON_IsArray(v) ? "stop[%d]" : "stop", i);
        char *str;
        size_t len;
        if (get_string(s, param, &str, &len, e) < 0)
            return -1;
        if (len > SERVE_STOP_MAX_BYTES) {
            free(str);
            return serve_bad(e, param, "'%s' is longer than %d bytes", param,
                             SERVE_STOP_MAX_BYTES);
        }
        if (len == 0) { /* matches nowhere, as OpenAI treats it */
            free(str);
            continue;
        }
        r->stop[r->n_stop++] = str;
    }
    return 0;
}

static int get_sampling(const cJSON *o, serve_request *r, serve_error *e)
{
    int64_t v = 0;
    int given = 0;
    r->so.temperature = 1.0f; /* OpenAI's defaults */
    r->so.top_p = 1.0f;
    if (get_num(o, "temperature", 0, 2, &r->so.temperature, e) < 0 ||
        get_num(o, "top_p", 0, 1, &r->so.top_p, e) < 0)
        return -1;
    if (r->so.top_p == 0.0f) { /* the smallest nucleus: the most likely token */
        r->so.temperature = 0.0f;
        r->so.top_p = 1.0f;
    }
    if (get_int(o, "top_k", 0, INT32_MAX, &v, NULL, e) < 0)
        return -1;
    r->so.top_k = (int)v;
    v = 0;
    /* doubles hold integers exactly up to 2^53 */
    if (get_int(o, "seed", -9007199254740992.0, 9007199254740992.0, &v, &given, e) < 0)
        return -1;
    r->so.seed = (uint64_t)v;
    r->has_seed = given;
    int64_t mt = 0, mct = 0;
    if (get_int(o, "max_tokens", 1, 1e15, &mt, NULL, e) < 0 ||
        get_int(o, "max_completion_tokens", 1, 1e15, &mct, NULL, e) < 0)
        return -1;
    r->max_tokens = mct ? mct : mt;
    return 0;
}

static int get_stream(const cJSON *o, serve_request *r, serve_error *e)
{
    if (get_bool(o, "stream", &r->stream, e) < 0)
        return -1;
    const cJSON *so = field(o, "stream_options");
    if (!so)
        return 0;
    if (!cJSON_IsObject(so))
        return serve_bad(e, "stream_options", "'stream_options' must be an object");
    const cJSON *u = field(so, "include_usage");
    if (u && !cJSON_IsBool(u))
        return serve_bad(e, "stream_options.include_usage",
                         "'stream_options.include_usage' must be a boolean");
    r->include_usage = u && cJSON_IsTrue(u);
    return 0;
}

/* A message's content: a string, or OpenAI's array of parts of which
 * only {"type": "text", "text": ...} is understood (concatenated). */
static int get_content(const cJSON *c, int i, char **out, serve_error *e)
{
    char param[64];
    snprintf(param, sizeof(param), "messages[%d].content", i);
    if (cJSON_IsString(c))
        return get_string(c, param, out, NULL, e);
    if (!cJSON_IsArray(c))
        return serve_bad(e, param, "'%s' must be a string or an array of text parts", param);
    serve_buf b = {0};
    int k = 0;
    serve_buf_put(&b, "", 0);
    for (const cJSON *p = c->child; p; p = p->next, k++) {
        char pp[96];
        snprintf(pp, sizeof(pp), "%s[%d].type", param, k);
        const cJSON *t = cJSON_IsObject(p) ? cJSON_GetObjectItemCaseSensitive(p, "type") : NULL;
        if (!cJSON_IsString(t)) {
            serve_buf_free(&b);
            return serve_bad(e, pp, "'%s' must be a string", pp);
        }
        if (strcmp(t->valuestring, "text")) {
            serve_bad(e, pp, "'%s' '%s' is not supported (only text parts)", pp, t->valuestring);
            serve_buf_free(&b);
            return -1;
        }
        snprintf(pp, sizeof(pp), "%s[%d].text", param, k);
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsString(x) || !valid_utf8(x->valuestring, strlen(x->valuestring))) {
            serve_buf_free(&b);
            return serve_bad(e, pp, "'%s' must be a UTF-8 string", pp);
        }
        serve_buf_puts(&b, x->valuestring);
    }
    if (!(*out = serve_buf_take(&b, NULL)))
        return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    return 0;
}

static int get_messages(const cJSON *o, serve_request *r, serve_error *e)
{
    const cJSON *m = field(o, "messages");
    if (!m)
        return serve_bad(e, "messages", "'messages' is required");
    if (!cJSON_IsArray(m) || !m->child)
        return serve_bad(e, "messages", "'messages' must be a non-empty array");
    int n = cJSON_GetArraySize(m);
    r->msgs = hxq_calloc_array(n, sizeof(hxq_chat_msg));
    if (!r->msgs)
        return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    int i = 0;
    for (const cJSON *it = m->child; it; it = it->next, i++) {
        char param[64];
        snprintf(param, sizeof(param), "messages[%d]", i);
        if (!cJSON_IsObject(it))
            return serve_bad(e, param, "'%s' must be an object", param);
        snprintf(param, sizeof(param), "messages[%d].role", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(it, "role");
        if (!cJSON_IsString(role))
            return serve_bad(e, param, "'%s' must be a string", param);
        static const char *const roles[][2] = {
            {"system", "system"}, {"developer", "system"}, {"user", "user"},
            {"assistant", "assistant"}};
        const char *as = NULL;
        for (size_t k = 0; k < sizeof(roles) / sizeof(roles[0]); k++)
            if (!strcmp(role->valuestring, roles[k][0]))
                as = roles[k][1];
        if (!as)
            return serve_bad(e, param, "'%s' '%.40s' is not supported (system, developer, user, "
                             "assistant)", param, role->valuestring);
        char *content = NULL;
        if (get_content(cJSON_GetObjectItemCaseSensitive(it, "content"), i, &content, e) < 0)
            return -1;
        r->msgs[i].role = as;
        r->msgs[i].content = content;
        r->n_msgs = i + 1;
    }
    return 0;
}

/* "prompt": a string, or one string in an array, or token ids (an array
 * of integers, or one such array in an array). */
static int get_prompt(const cJSON *o, serve_request *r, serve_error *e)
{
    const cJSON *p = field(o, "prompt");
    if (!p)
        return serve_bad(e, "prompt", "'prompt' is required");
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 &&
        (cJSON_IsString(p->child) || cJSON_IsArray(p->child)))
        p = p->child;
    else if (cJSON_IsArray(p) && p->child && !cJSON_IsNumber(p->child))
        return serve_bad(e, "prompt", "'prompt' holds several prompts; send one per request");
    if (cJSON_IsString(p))
        return get_string(p, "prompt", &r->prompt, &r->prompt_len, e);
    if (!cJSON_IsArray(p) || !p->child)
        return serve_bad(e, "prompt", "'prompt' must be a string or a non-empty array of "
                         "token ids");
    int n = cJSON_GetArraySize(p), i = 0;
    r->prompt_ids = hxq_alloc_array(n, sizeof(int32_t));
    if (!r->prompt_ids)
        return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    for (const cJSON *it = p->child; it; it = it->next, i++) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
        if (!(d >= 0 && d <= INT32_MAX && d == floor(d))) {
            char param[32];
            snprintf(param, sizeof(param), "prompt[%d]", i);
            return serve_bad(e, param, "'%s' must be a token id (a non-negative integer)",
                             param);
        }
        r->prompt_ids[i] = (int32_t)d;
    }
    r->n_prompt_ids = n;
    return 0;
}

int serve_request_parse(serve_kind kind, const char *body, size_t len, serve_request *r,
                        serve_error *e)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    while (o && end < body + len && (*end == ' ' || *end == '\t' || *end == '\n' ||
                                     *end == '\r' || *end == '\0'))
        end++;
    if (o && end != body + len) {
        cJSON_Delete(o);
        o = NULL;
    }
    if (!o) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        return serve_bad(e, NULL, "the request body is not valid JSON (near byte %zu)", at);
    }
    int rc = -1;
    const cJSON *model = field(o, "model");
    if (!cJSON_IsObject(o))
        serve_bad(e, NULL, "the request body must be a JSON object");
    else if (model && !cJSON_IsString(model))
        serve_bad(e, "model", "'model' must be a string");
    else if (refuse_unsupported(o, e) == 0 && get_sampling(o, r, e) == 0 &&
             get_stop(o, r, e) == 0 && get_stream(o, r, e) == 0)
        rc = kind == SERVE_CHAT ? get_messages(o, r, e) : get_prompt(o, r, e);
    cJSON_Delete(o);
    if (rc < 0)
        serve_request_free(r);
    return rc;
}

void serve_request_free(serve_request *r)
{
    for (int64_t i = 0; i < r->n_msgs; i++)
        free((char *)r->msgs[i].content);
    free(r->msgs);
    free(r->prompt);
    free(r->prompt_ids);
    for (int i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    serve_kind kind = r->kind;
    memset(r, 0, sizeof(*r));
    r->kind = kind;
}
