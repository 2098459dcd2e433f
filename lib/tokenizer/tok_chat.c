/* tok_chat.c - chat template rendering, the public face of the Jinja
 * interpreter (jinja_*.c): the render variables transformers passes
 * (messages, add_generation_prompt, tools, documents, the special tokens),
 * the caller's extra variables, then lex -> parse -> run in one arena. */
#include "tok_int.h"
#include "jinja_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_var(jinja *J, const char *name, jv v)
{
    return jinja_scope_set(J, J->globals, name, strlen(name), v);
}

static int set_token(jinja *J, const char *name, const char *value)
{
    return value ? set_var(J, name, jv_str(value, strlen(value))) : HXQ_OK;
}

static int set_messages(jinja *J, const hxq_chat_msg *msgs, int64_t n)
{
    jlist *l = jlist_new(J, (size_t)n, JL_LIST);
    if (!l)
        return jinja_oom(J);
    for (int64_t i = 0; i < n; i++) {
        const char *f[2] = {msgs[i].role, msgs[i].content};
        jdict *d = jdict_new(J);
        if (!d)
            return jinja_oom(J);
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(f[k]);
            if (hxq_utf8_valid_prefix(f[k], len) != len)
                return jinja_fail(J, HXQ_ERR_INVALID, 0, "chat message %lld: the %s is not "
                                  "valid UTF-8", (long long)i, k ? "content" : "role");
            HXQ_TRY(jdict_set(J, d, jv_str(k ? "content" : "role", k ? 7 : 4), jv_str(f[k], len)));
        }
        l->v[l->n++] = jv_dict(d);
    }
    return set_var(J, "messages", jv_list(l));
}

static int set_json_vars(jinja *J, const char *json)
{
    jv v;
    HXQ_TRY(jinja_json_parse(J, json, strlen(json), &v));
    if (v.t != JV_DICT)
        return jinja_fail(J, HXQ_ERR_FORMAT, 0, "the template variables must be a JSON object");
    for (size_t i = 0; i < v.u.d->n; i++)
        HXQ_TRY(jinja_scope_set(J, J->globals, v.u.d->k[i].u.s, v.u.d->k[i].n, v.u.d->v[i]));
    return HXQ_OK;
}

/* Sets the variables, renders, copies the text out. tok and msgs may be
 * NULL (hxq_tokenizer_template_render). */
static int render(jinja *J, const char *tmpl, size_t len, const hxq_tokenizer *tok,
                  const hxq_chat_msg *msgs, int64_t n, const hxq_chat_opts *o, char **out,
                  size_t *out_len)
{
    jbuf text = {0};
    J->out = &text;
    if (!(J->globals = jinja_scope_new(J, NULL)))
        return jinja_oom(J);
    if (msgs || tok)
        HXQ_TRY(set_messages(J, msgs, n));
    HXQ_TRY(set_var(J, "add_generation_prompt", jv_bool(o->add_generation_prompt)));
    HXQ_TRY(set_var(J, "tools", jv_none()));
    HXQ_TRY(set_var(J, "documents", jv_none()));
    if (tok) {
        HXQ_TRY(set_token(J, "bos_token", tok->chat_bos));
        HXQ_TRY(set_token(J, "eos_token", tok->chat_eos));
        for (int i = 0; i < TOK_N_EXTRA; i++)
            HXQ_TRY(set_token(J, tok_extra_token_names[i], tok->chat_extra[i]));
    }
    if (o->vars_json)
        HXQ_TRY(set_json_vars(J, o->vars_json));
    jtok *toks;
    size_t ntoks;
    jnode *root;
    HXQ_TRY(jinja_lex(J, tmpl, len, &toks, &ntoks));
    HXQ_TRY(jinja_parse(J, toks, ntoks, &root));
    HXQ_TRY(jinja_exec(J, root));
    char *s = malloc(text.n + 1);
    if (!s)
        return jinja_fail(J, HXQ_ERR_NOMEM, 0, "out of memory");
    if (text.n)
        memcpy(s, text.p, text.n);
    s[text.n] = 0;
    *out = s;
    if (out_len)
        *out_len = text.n;
    return HXQ_OK;
}

static int run(const char *label, const char *tmpl, size_t len, const hxq_tokenizer *tok,
               const hxq_chat_msg *msgs, int64_t n, const hxq_chat_opts *opts, char **out,
               size_t *out_len, hxq_error *err)
{
    hxq_chat_opts none = {0};
    const hxq_chat_opts *o = opts ? opts : &none;
    jinja J = {.err = err, .has_now = o->has_now, .now = o->now};
    int rc = render(&J, tmpl, len, tok, msgs, n, o, out, out_len);
    jinja_arena_free(&J.ar);
    if (rc < 0)
        hxq_err_prefix(err, rc, "%s", label);
    return rc;
}

const char *hxq_tokenizer_chat_template(const hxq_tokenizer *tok)
{
    return tok ? tok->chat_template : NULL;
}

int hxq_tokenizer_chat_render_opts(const hxq_tokenizer *tok, const hxq_chat_msg *msgs,
                                   int64_t n, const hxq_chat_opts *opts, char **out,
                                   size_t *len, hxq_error *err)
{
    if (!tok || !out || n < 0 || (n > 0 && !msgs))
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_chat_render: bad arguments");
    for (int64_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return hxq_err(err, HXQ_ERR_INVALID, "chat message %lld has no %s", (long long)i,
                           msgs[i].role ? "content" : "role");
    if (tok->chat_no_default)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: chat_template is a list without a "
                       "'default' template", tok->name);
    if (!tok->chat_template)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: the tokenizer has no chat_template",
                       tok->name);
    char label[HXQ_ERROR_MSG_MAX / 2];
    snprintf(label, sizeof(label), "%s: chat_template", tok->chat_template_src
             ? tok->chat_template_src : tok->name);
    return run(label, tok->chat_template, tok->chat_template_len, tok, msgs, n, opts, out, len,
               err);
}

int hxq_tokenizer_chat_render(const hxq_tokenizer *tok, const hxq_chat_msg *msgs,
                              int64_t n, int add_generation_prompt, char **out,
                              size_t *len, hxq_error *err)
{
    hxq_chat_opts o = {.add_generation_prompt = add_generation_prompt};
    return hxq_tokenizer_chat_render_opts(tok, msgs, n, &o, out, len, err);
}

int hxq_tokenizer_template_render(const char *tmpl, size_t len, const hxq_chat_opts *opts,
                                  char **out, size_t *out_len, hxq_error *err)
{
    if (!tmpl || !out)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_template_render: NULL argument");
    return run("chat template", tmpl, len, NULL, NULL, 0, opts, out, out_len, err);
}
