/* tok_chat.c - recognising a chat template and rendering it natively.
 *
 * transformers renders `chat_template` with Jinja (trim_blocks and
 * lstrip_blocks on). hxq does not run Jinja: it reduces the template to a
 * canonical form - the text it emits after Jinja's whitespace rules, and
 * each {{ }} / {% %} tag as its token sequence (whitespace inside tags and
 * string-literal quoting do not matter) - and compares that with the
 * canonical forms of the templates it knows. A match is rendered by C code
 * that produces the same string. */
#include "tok_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- known templates ------------------------------------------------------ */

/* OLMoE-Instruct / Tulu 3 (with bos_token) and Tulu 2 (without). */
#define TULU_BODY                                                                  \
    "{% for message in messages %}\n"                                              \
    "{% if message['role'] == 'system' %}\n"                                       \
    "{{ '<|system|>\n' + message['content'] }}\n"                                  \
    "{% elif message['role'] == 'user' %}\n"                                       \
    "{{ '<|user|>\n' + message['content'] }}\n"                                    \
    "{% elif message['role'] == 'assistant' %}\n"                                  \
    "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"                  \
    "{% endif %}\n"                                                                \
    "{% if loop.last and add_generation_prompt %}\n"                               \
    "{{ '<|assistant|>' }}\n"                                                      \
    "{% endif %}\n"                                                                \
    "{% endfor %}"

static const struct known {
    tok_chat_kind kind;
    const char *name;
    const char *text;
} known[] = {
    {TOK_CHAT_TULU, "tulu", "{{ bos_token }}" TULU_BODY},
    {TOK_CHAT_TULU_NOBOS, "tulu", TULU_BODY},
    {TOK_CHAT_CHATML, "chatml",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
     "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
     "{{ '<|im_start|>assistant\n' }}{% endif %}"},
};

const char *tok_chat_kind_name(tok_chat_kind k)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i].kind == k)
            return known[i].name;
    return NULL;
}

/* ---- canonical form --------------------------------------------------------- */

typedef struct seg {
    char kind;          /* 'T' text, 'E' {{ }}, 'S' {% %}, 'C' comment */
    const char *p;      /* text: [p, p + n)                              */
    size_t n;
    int strip_before;   /* '-' at the tag's start                        */
    int strip_after;    /* '-' at the tag's end                          */
    int keep_before;    /* '+': no lstrip_blocks                         */
    int keep_after;     /* '+': no trim_blocks                           */
} seg;

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->failed || tok_buf_reserve(&b->p, &b->cap, b->n + n + 1) < 0) {
        b->failed = 1;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* End of the tag whose content starts at i (after "{{" / "{%"), skipping
 * string literals; returns the index of the closing "}}" / "%}" or n. */
static size_t tag_end(const char *t, size_t n, size_t i, char close)
{
    while (i < n) {
        if (t[i] == '\'' || t[i] == '"') {
            char q = t[i++];
            while (i < n && t[i] != q)
                i += (t[i] == '\\' && i + 1 < n) ? 2 : 1;
            i++;
            continue;
        }
        if (t[i] == close && i + 1 < n && t[i + 1] == '}')
            return i;
        i++;
    }
    return n;
}

static int lex(const char *t, size_t n, seg **out, size_t *nout)
{
    size_t cap = 16, k = 0;
    seg *s = malloc(cap * sizeof(*s));
    if (!s)
        return -1;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j + 1 < n && !(t[j] == '{' && (t[j + 1] == '{' || t[j + 1] == '%' || t[j + 1] == '#')))
            j++;
        if (j + 1 >= n)
            j = n;
        if (k + 2 > cap) {
            seg *g = realloc(s, 2 * cap * sizeof(*s));
            if (!g) {
                free(s);
                return -1;
            }
            s = g;
            cap *= 2;
        }
        memset(&s[k], 0, sizeof(s[k]));
        s[k].kind = 'T';
        s[k].p = t + i;
        s[k++].n = j - i;
        if (j >= n)
            break;
        char open = t[j + 1];
        char close = open == '{' ? '}' : open;
        size_t b = j + 2, e;
        memset(&s[k], 0, sizeof(s[k]));
        s[k].kind = open == '{' ? 'E' : open == '%' ? 'S' : 'C';
        if (b < n && (t[b] == '-' || t[b] == '+')) {
            s[k].strip_before = t[b] == '-';
            s[k].keep_before = t[b] == '+';
            b++;
        }
        if (open == '#') {
            const char *c = NULL;
            for (size_t x = b; x + 1 < n && !c; x++)
                if (t[x] == '#' && t[x + 1] == '}')
                    c = t + x;
            e = c ? (size_t)(c - t) : n;
        } else {
            e = tag_end(t, n, b, close);
        }
        size_t ce = e;
        if (ce > b && (t[ce - 1] == '-' || t[ce - 1] == '+')) {
            s[k].strip_after = t[ce - 1] == '-';
            s[k].keep_after = t[ce - 1] == '+';
            ce--;
        }
        s[k].p = t + b;
        s[k++].n = ce - b;
        i = e + 2;
        if (e >= n)
            break; /* unterminated tag: keep what was read */
    }
    *out = s;
    *nout = k;
    return 0;
}

static void tokens(sbuf *b, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (isspace(c)) {
            i++;
            continue;
        }
        if (c == '\'' || c == '"') {
            sb_put(b, "s", 1);
            i++;
            while (i < n && p[i] != (char)c) {
                char ch = p[i];
                if (ch == '\\' && i + 1 < n) {
                    char esc = p[++i];
                    ch = esc == 'n' ? '\n' : esc == 't' ? '\t' : esc == 'r' ? '\r' : esc;
                }
                sb_put(b, &ch, 1);
                i++;
            }
            i++;
        } else if (isalnum(c) || c == '_') {
            size_t j = i;
            while (j < n && (isalnum((unsigned char)p[j]) || p[j] == '_'))
                j++;
            sb_put(b, "w", 1);
            sb_put(b, p + i, j - i);
            i = j;
        } else {
            static const char *const ops[] = {"==", "!=", "<=", ">=", "//", "**"};
            size_t len = 1;
            for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
                if (i + 1 < n && p[i] == ops[o][0] && p[i + 1] == ops[o][1])
                    len = 2;
            sb_put(b, "o", 1);
            sb_put(b, p + i, len);
            i += len;
        }
        sb_put(b, "\x01", 1);
    }
}

static int is_block(const seg *s)
{
    return s->kind == 'S' || s->kind == 'C';
}

/* The canonical form of a template (malloc'd), or NULL on OOM. */
static char *canonical(const char *t)
{
    seg *s;
    size_t ns;
    size_t n = strlen(t);
    if (n && t[n - 1] == '\n') /* Jinja drops one trailing newline */
        n -= (n >= 2 && t[n - 2] == '\r') ? 2 : 1;
    if (lex(t, n, &s, &ns) < 0)
        return NULL;
    /* whitespace control on the text segments, Jinja's order of rules */
    for (size_t k = 0; k < ns; k++) {
        if (s[k].kind != 'T')
            continue;
        seg *prev = k > 0 ? &s[k - 1] : NULL, *next = k + 1 < ns ? &s[k + 1] : NULL;
        if (prev && prev->strip_after) {
            while (s[k].n && isspace((unsigned char)s[k].p[0]))
                s[k].p++, s[k].n--;
        } else if (prev && is_block(prev) && !prev->keep_after && s[k].n) {
            if (s[k].p[0] == '\n')
                s[k].p++, s[k].n--;
            else if (s[k].n >= 2 && s[k].p[0] == '\r' && s[k].p[1] == '\n')
                s[k].p += 2, s[k].n -= 2;
        }
        if (next && next->strip_before) {
            while (s[k].n && isspace((unsigned char)s[k].p[s[k].n - 1]))
                s[k].n--;
        } else if (next && is_block(next) && !next->keep_before) {
            /* lstrip_blocks: blanks between a line start and a block tag */
            size_t e = s[k].n;
            while (e && (s[k].p[e - 1] == ' ' || s[k].p[e - 1] == '\t'))
                e--;
            const char *q = s[k].p + e; /* in the source: look at the char before */
            if (q == t || q[-1] == '\n')
                s[k].n = e;
        }
    }
    sbuf b = {0};
    int text_open = 0;
    for (size_t k = 0; k < ns; k++) {
        if (s[k].kind == 'C')
            continue;
        if (s[k].kind == 'T') {
            if (!s[k].n)
                continue;
            if (!text_open)
                sb_put(&b, "T", 1);
            sb_put(&b, s[k].p, s[k].n);
            text_open = 1;
            continue;
        }
        if (text_open)
            sb_put(&b, "\x02", 1);
        text_open = 0;
        sb_put(&b, s[k].kind == 'E' ? "E" : "S", 1);
        tokens(&b, s[k].p, s[k].n);
        sb_put(&b, "\x02", 1);
    }
    if (text_open)
        sb_put(&b, "\x02", 1);
    sb_put(&b, "", 0);
    free(s);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

tok_chat_kind tok_chat_recognise(const char *tmpl)
{
    char *c = canonical(tmpl);
    if (!c)
        return TOK_CHAT_UNKNOWN;
    tok_chat_kind kind = TOK_CHAT_UNKNOWN;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]) && kind == TOK_CHAT_UNKNOWN; i++) {
        char *k = canonical(known[i].text);
        if (k && !strcmp(c, k))
            kind = known[i].kind;
        free(k);
    }
    free(c);
    return kind;
}

/* ---- rendering ------------------------------------------------------------- */

const char *hxq_tokenizer_chat_name(const hxq_tokenizer *tok)
{
    return tok ? tok_chat_kind_name(tok->chat) : NULL;
}

static void render_tulu(sbuf *b, const hxq_tokenizer *tok, const hxq_chat_msg *m, int64_t n,
                        int gen, int with_bos)
{
    const char *eos = tok->chat_eos ? tok->chat_eos : "";
    if (with_bos)
        sb_puts(b, tok->chat_bos ? tok->chat_bos : "");
    for (int64_t i = 0; i < n; i++) {
        const char *r = m[i].role;
        if (!strcmp(r, "system") || !strcmp(r, "user")) {
            sb_puts(b, !strcmp(r, "system") ? "<|system|>\n" : "<|user|>\n");
            sb_puts(b, m[i].content);
            sb_puts(b, "\n");
        } else if (!strcmp(r, "assistant")) {
            sb_puts(b, "<|assistant|>\n");
            sb_puts(b, m[i].content);
            sb_puts(b, eos);
            sb_puts(b, "\n");
        } /* the template emits nothing for other roles */
        if (i == n - 1 && gen)
            sb_puts(b, "<|assistant|>\n");
    }
}

static void render_chatml(sbuf *b, const hxq_chat_msg *m, int64_t n, int gen)
{
    for (int64_t i = 0; i < n; i++) {
        sb_puts(b, "<|im_start|>");
        sb_puts(b, m[i].role);
        sb_puts(b, "\n");
        sb_puts(b, m[i].content);
        sb_puts(b, "<|im_end|>\n");
    }
    if (gen)
        sb_puts(b, "<|im_start|>assistant\n");
}

int hxq_tokenizer_chat_render(const hxq_tokenizer *tok, const hxq_chat_msg *msgs,
                              int64_t n, int add_generation_prompt, char **out,
                              size_t *len, hxq_error *err)
{
    if (!tok || !out || n < 0 || (n > 0 && !msgs))
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_chat_render: bad arguments");
    for (int64_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return hxq_err(err, HXQ_ERR_INVALID, "chat message %lld has no %s", (long long)i,
                           msgs[i].role ? "content" : "role");
    if (tok->chat == TOK_CHAT_NONE)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: the tokenizer has no chat_template; "
                       "use the raw-prompt mode (--prompt)", tok->name);
    if (tok->chat == TOK_CHAT_UNKNOWN)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: chat_template is not one hxq recognises "
                       "(known: tulu/OLMoE, chatml); use the raw-prompt mode (--prompt) with "
                       "the prompt already formatted", tok->name);
    sbuf b = {0};
    sb_put(&b, "", 0);
    if (tok->chat == TOK_CHAT_CHATML)
        render_chatml(&b, msgs, n, add_generation_prompt);
    else
        render_tulu(&b, tok, msgs, n, add_generation_prompt, tok->chat == TOK_CHAT_TULU);
    if (b.failed) {
        free(b.p);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory rendering the chat");
    }
    *out = b.p;
    if (len)
        *len = b.n;
    return HXQ_OK;
}
