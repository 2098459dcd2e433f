/* cmd_chat_template.c - hxq chat-template: render a model's chat template
 * (or a template file) for a conversation, to see the exact prompt text
 * or ids `hxq run --chat` feeds the model. */
#include "hxq_cmd.h"
#include "hxq_io.h"
#include "hxq_tokenizer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: hxq chat-template (MODEL_DIR | --template FILE) [--messages FILE]\n"
    "                         [--vars JSON] [--no-generation-prompt] [--now SECONDS]\n"
    "                         [--ids]\n\n"
    "Renders the chat template as transformers' apply_chat_template does and prints\n"
    "the text as is (no newline added).\n\n"
    "  MODEL_DIR         the model's template and special tokens (tokenizer_config.json)\n"
    "  --template FILE   a template file alone: its variables come from --messages\n"
    "                    and --vars only\n"
    "  --messages FILE   a JSON list of messages ({\"role\": ..., \"content\": ...} and\n"
    "                    any other fields); '-' reads standard input; default []\n"
    "  --vars JSON       a JSON object of more template variables, set last\n"
    "                    (e.g. '{\"enable_thinking\": false}')\n"
    "  --no-generation-prompt  add_generation_prompt=False (default True)\n"
    "  --now SECONDS     the time strftime_now() shows (seconds since 1970, UTC)\n"
    "  --ids             with MODEL_DIR: print the prompt token ids instead, one\n"
    "                    line, as hxq run --chat encodes them\n";

#define MESSAGES_MAX ((size_t)256 << 20)

static int read_all(const char *path, char **text, size_t *len, hxq_error *err)
{
    if (strcmp(path, "-"))
        return hxq_read_file(path, MESSAGES_MAX, text, len, err);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, stdin);
        if (n < cap)
            break;
        char *g = cap < MESSAGES_MAX ? realloc(buf, 2 * cap + 1) : NULL;
        if (!g) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = g;
        cap *= 2;
    }
    if (!buf)
        return hxq_err(err, HXQ_ERR_NOMEM, "standard input: too large or out of memory");
    buf[n] = 0;
    *text = buf;
    *len = n;
    return HXQ_OK;
}

/* {"messages": <messages>, <the members of vars>}: vars' members come last,
 * so they win. Returns NULL on a vars that is not a JSON object text. */
static char *merge_vars(const char *messages, const char *vars)
{
    size_t vb = 0, ve = vars ? strlen(vars) : 0;
    while (vb < ve && isspace((unsigned char)vars[vb]))
        vb++;
    while (ve > vb && isspace((unsigned char)vars[ve - 1]))
        ve--;
    if (vars && (ve - vb < 2 || vars[vb] != '{' || vars[ve - 1] != '}'))
        return NULL;
    const char *inner = vars ? vars + vb + 1 : "";
    size_t in = vars ? ve - vb - 2 : 0;
    int has_inner = 0;
    for (size_t i = 0; i < in; i++)
        has_inner |= !isspace((unsigned char)inner[i]);
    size_t ml = messages ? strlen(messages) : 0, cap = ml + in + 32;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    int k = snprintf(s, cap, "{");
    if (messages)
        k += snprintf(s + k, cap - (size_t)k, "\"messages\": %s", messages);
    if (has_inner)
        k += snprintf(s + k, cap - (size_t)k, "%s%.*s", messages ? ", " : "", (int)in, inner);
    snprintf(s + k, cap - (size_t)k, "}");
    return s;
}

int cmd_chat_template(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return HXQ_EXIT_OK;
    }
    const char *model = NULL, *tmpl_path = NULL, *msgs_path = NULL, *vars = NULL;
    int ids = 0;
    hxq_chat_opts o = {.add_generation_prompt = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--template") && has_value)
            tmpl_path = argv[++i];
        else if (!strcmp(a, "--messages") && has_value)
            msgs_path = argv[++i];
        else if (!strcmp(a, "--vars") && has_value)
            vars = argv[++i];
        else if (!strcmp(a, "--now") && has_value) {
            char *end;
            o.now = strtoll(argv[++i], &end, 10);
            if (*end || end == argv[i])
                return cmd_usage_error("chat-template", "--now takes seconds since 1970");
            o.has_now = 1;
        } else if (!strcmp(a, "--no-generation-prompt"))
            o.add_generation_prompt = 0;
        else if (!strcmp(a, "--ids"))
            ids = 1;
        else if (a[0] == '-' && a[1])
            return cmd_usage_error("chat-template", "unknown option '%s' (see --help)", a);
        else if (!model)
            model = a;
        else
            return cmd_usage_error("chat-template", "unexpected argument '%s'", a);
    }
    if (!model == !tmpl_path)
        return cmd_usage_error("chat-template", "give a model folder or --template FILE");
    if (ids && !model)
        return cmd_usage_error("chat-template", "--ids needs a model folder (its tokenizer)");
    hxq_error err = {0};
    char *messages = NULL, *tmpl = NULL, *out = NULL, *json = NULL;
    size_t len = 0, tlen = 0;
    hxq_tokenizer *tok = NULL;
    int rc = HXQ_OK;
    if (msgs_path)
        rc = read_all(msgs_path, &messages, &len, &err);
    if (rc == HXQ_OK && (messages || vars) && !(json = merge_vars(messages, vars)))
        rc = hxq_err(&err, HXQ_ERR_INVALID, "--vars must be a JSON object");
    o.vars_json = json;
    if (rc == HXQ_OK && model) {
        rc = hxq_tokenizer_load(model, &tok, &err);
        if (rc == HXQ_OK)
            rc = hxq_tokenizer_chat_render_opts(tok, NULL, 0, &o, &out, &len, &err);
    } else if (rc == HXQ_OK) {
        rc = hxq_read_file(tmpl_path, MESSAGES_MAX, &tmpl, &tlen, &err);
        if (rc == HXQ_OK)
            rc = hxq_tokenizer_template_render(tmpl, tlen, &o, &out, &len, &err);
    }
    int32_t *tids = NULL;
    int64_t n = 0;
    if (rc == HXQ_OK && ids)
        rc = hxq_tokenizer_encode(tok, out, len, &tids, &n, &err);
    if (rc == HXQ_OK) {
        if (ids) {
            for (int64_t i = 0; i < n; i++)
                printf(i ? " %d" : "%d", tids[i]);
            putchar('\n');
        } else {
            fwrite(out, 1, len, stdout);
        }
    }
    free(tids);
    free(out);
    free(json);
    free(messages);
    free(tmpl);
    hxq_tokenizer_free(tok);
    return rc == HXQ_OK ? HXQ_EXIT_OK : cmd_fail("chat-template", rc, &err);
}
