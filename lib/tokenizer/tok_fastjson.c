/* tok_fastjson.c - model.vocab and model.merges of a tokenizer.json read
 * straight from the text.
 *
 * They are nearly all of a large file (151k tokens and 151k-280k merges for
 * Qwen or Llama-3), and as a cJSON tree they cost a node, a malloc and a
 * free per string. Here a scan finds the two values (skipping strings and
 * nested values as JSON defines them), reads them into flat lists whose
 * strings point into the text (or, when they hold escapes, into the
 * arena), and hands the rest of the document, with the two values replaced
 * by {} and [], to cJSON. Anything unusual (a syntax error, a key seen
 * twice, a value of another type, a raw control character in a string, a
 * merge that is not "a b" or ["a", "b"]) makes tok_fastjson_split() decline,
 * and the loader parses everything with cJSON instead, whose messages
 * then name the problem. */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct scan {
    const char *p, *end;
} scan;

static void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int eat(scan *s, char c)
{
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

/* A string at s->p ('"'): its raw contents [*a, *b) and whether it has
 * escapes; -1 when malformed. */
static int raw_string(scan *s, const char **a, const char **b, int *esc)
{
    if (s->p >= s->end || *s->p != '"')
        return -1;
    const char *p = s->p + 1;
    *esc = 0;
    for (;;) {
        const char *q = p;
        while (q < s->end && *q != '"' && *q != '\\' && (uint8_t)*q >= 0x20)
            q++;
        if (q >= s->end || (uint8_t)*q < 0x20)
            return -1;
        if (*q == '"') {
            *a = s->p + 1;
            *b = q;
            s->p = q + 1;
            return 0;
        }
        *esc = 1;
        p = q + 2; /* the escaped character; \u's digits are plain */
    }
}

static int hex4(const char *p, const char *end, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        if (p + i >= end)
            return -1;
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f'
                                                      ? (c | 0x20) - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + (uint32_t)d;
    }
    return 0;
}

/* Unescapes [a, b) into the arena (as cJSON does: \uXXXX with surrogate
 * pairs, lone surrogates refused). */
static int unescape(hxq_tokenizer *tok, const char *a, const char *b, tok_span *out)
{
    char *o = tok_arena_alloc(&tok->arena, (size_t)(b - a) + 1), *w = o;
    if (!o)
        return -1;
    while (a < b) {
        if (*a != '\\') {
            *w++ = *a++;
            continue;
        }
        char c = a[1];
        a += 2;
        const char *simple = "\"\"\\\\//b\bf\fn\nr\rt\t";
        const char *m = NULL;
        for (const char *k = simple; *k; k += 2)
            if (*k == c)
                m = k;
        if (m) {
            *w++ = m[1];
            continue;
        }
        uint32_t cp, lo;
        if (c != 'u' || hex4(a, b, &cp) < 0)
            return -1;
        a += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return -1;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (b - a < 6 || a[0] != '\\' || a[1] != 'u' || hex4(a + 2, b, &lo) < 0 ||
                lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            a += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp < 0x80) {
            *w++ = (char)cp;
        } else if (cp < 0x800) {
            *w++ = (char)(0xC0 | cp >> 6);
            *w++ = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *w++ = (char)(0xE0 | cp >> 12);
            *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
            *w++ = (char)(0x80 | (cp & 0x3F));
        } else {
            *w++ = (char)(0xF0 | cp >> 18);
            *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
            *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
            *w++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    *w = 0;
    out->p = o;
    out->n = (uint32_t)(w - o);
    return 0;
}

static int string(hxq_tokenizer *tok, scan *s, tok_span *out)
{
    const char *a, *b;
    int esc;
    ws(s);
    if (raw_string(s, &a, &b, &esc) < 0 || b - a > (ptrdiff_t)(UINT32_MAX / 4))
        return -1;
    if (esc)
        return unescape(tok, a, b, out);
    out->p = a;
    out->n = (uint32_t)(b - a);
    return 0;
}

/* A JSON number (its grammar exactly); small integers without strtod. */
static int number(scan *s, double *v)
{
    ws(s);
    const char *p = s->p, *e = s->end;
    const char *q = p + (p < e && *p == '-');
    if (q >= e || *q < '0' || *q > '9')
        return -1;
    const char *d = q;
    if (*q == '0')
        q++;
    else
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    int integer = 1;
    if (q < e && *q == '.') {
        integer = 0;
        if (++q >= e || *q < '0' || *q > '9')
            return -1;
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        integer = 0;
        q++;
        if (q < e && (*q == '+' || *q == '-'))
            q++;
        if (q >= e || *q < '0' || *q > '9')
            return -1;
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    if (integer && q - d <= 15) {
        double x = 0;
        for (const char *k = d; k < q; k++)
            x = x * 10 + (*k - '0');
        *v = *p == '-' ? -x : x;
    } else {
        char buf[64];
        if (q - p >= (ptrdiff_t)sizeof(buf))
            return -1;
        memcpy(buf, p, (size_t)(q - p));
        buf[q - p] = 0;
        *v = strtod(buf, NULL);
    }
    s->p = q;
    return 0;
}

/* Skips any value; depth-limited like cJSON. */
static int skip_value(scan *s, int depth)
{
    ws(s);
    if (s->p >= s->end || depth > 900)
        return -1;
    char c = *s->p;
    if (c == '"') {
        const char *a, *b;
        int esc;
        return raw_string(s, &a, &b, &esc);
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        s->p++;
        if (eat(s, close))
            return 0;
        do {
            if (c == '{') {
                const char *a, *b;
                int esc;
                ws(s);
                if (raw_string(s, &a, &b, &esc) < 0 || !eat(s, ':'))
                    return -1;
            }
            if (skip_value(s, depth + 1) < 0)
                return -1;
        } while (eat(s, ','));
        return eat(s, close) ? 0 : -1;
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(s->end - s->p) >= n && !memcmp(s->p, words[i], n)) {
            s->p += n;
            return 0;
        }
    }
    double v;
    return number(s, &v);
}

/* Walks the object at s->p. A member whose key is keys[k] (written without
 * escapes; the first of each, a second one declines) goes to read(k) with
 * its value's start recorded in at[k], end in to[k]; the others are skipped.
 * read returns 0, -1 (decline) or -2 (out of memory). */
typedef int (*member_fn)(void *ctx, int k, scan *s);

static int members(scan *s, const char *const *keys, int nk, const char **at, const char **to,
                   member_fn read, void *ctx)
{
    if (!eat(s, '{'))
        return -1;
    if (eat(s, '}'))
        return 0;
    do {
        const char *a, *b;
        int esc, k = nk;
        ws(s);
        if (raw_string(s, &a, &b, &esc) < 0 || !eat(s, ':'))
            return -1;
        ws(s);
        for (int j = 0; j < nk && !esc; j++)
            if ((size_t)(b - a) == strlen(keys[j]) && !memcmp(a, keys[j], (size_t)(b - a)))
                k = j;
        if (k < nk && at[k])
            return -1;
        if (k < nk)
            at[k] = s->p;
        int rc = k < nk ? read(ctx, k, s) : skip_value(s, 1);
        if (rc < 0)
            return rc;
        if (k < nk)
            to[k] = s->p;
    } while (eat(s, ','));
    return eat(s, '}') ? 0 : -1;
}

static int grow(void **p, int64_t *cap, int64_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    int64_t c = *cap ? *cap * 2 : 4096;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int read_vocab(hxq_tokenizer *tok, scan *s, tok_model_lists *l)
{
    int64_t cap = 0, cap2 = 0;
    if (!eat(s, '{'))
        return -1;
    if (eat(s, '}'))
        return 0;
    do {
        if (grow((void **)&l->key, &cap, l->n_vocab + 1, sizeof(*l->key)) < 0 ||
            grow((void **)&l->id, &cap2, l->n_vocab + 1, sizeof(*l->id)) < 0)
            return -2;
        if (string(tok, s, &l->key[l->n_vocab]) < 0 || !eat(s, ':') ||
            number(s, &l->id[l->n_vocab]) < 0)
            return -1;
        l->n_vocab++;
    } while (eat(s, ','));
    return eat(s, '}') ? 0 : -1;
}

static int read_merges(hxq_tokenizer *tok, scan *s, tok_model_lists *l)
{
    int64_t cap = 0, cap2 = 0;
    if (!eat(s, '['))
        return -1;
    if (eat(s, ']'))
        return 0;
    do {
        if (grow((void **)&l->ma, &cap, l->n_merges + 1, sizeof(*l->ma)) < 0 ||
            grow((void **)&l->mb, &cap2, l->n_merges + 1, sizeof(*l->mb)) < 0)
            return -2;
        tok_span *a = &l->ma[l->n_merges], *b = &l->mb[l->n_merges];
        if (eat(s, '[')) {
            if (string(tok, s, a) < 0 || !eat(s, ',') || string(tok, s, b) < 0 || !eat(s, ']'))
                return -1;
        } else {
            tok_span m;
            if (string(tok, s, &m) < 0)
                return -1;
            const char *sp = memchr(m.p, ' ', m.n);
            if (!sp || memchr(sp + 1, ' ', m.n - (size_t)(sp + 1 - m.p)))
                return -1; /* cJSON's path names the merge */
            *a = (tok_span){m.p, (uint32_t)(sp - m.p)};
            *b = (tok_span){sp + 1, m.n - a->n - 1};
        }
        l->n_merges++;
    } while (eat(s, ','));
    return eat(s, ']') ? 0 : -1;
}

void tok_model_lists_free(tok_model_lists *l)
{
    free(l->key);
    free(l->id);
    free(l->ma);
    free(l->mb);
    free(l->rest);
    memset(l, 0, sizeof(*l));
}

typedef struct split_ctx {
    hxq_tokenizer *tok;
    tok_model_lists *l;
    const char *at[2], *to[2]; /* vocab, merges */
} split_ctx;

static int read_model_member(void *p, int k, scan *s)
{
    split_ctx *c = p;
    return k == 0 ? read_vocab(c->tok, s, c->l) : read_merges(c->tok, s, c->l);
}

static int read_model(void *p, int k, scan *s)
{
    static const char *const keys[] = {"vocab", "merges"};
    (void)k;
    split_ctx *c = p;
    return members(s, keys, 2, c->at, c->to, read_model_member, c);
}

int tok_fastjson_split(hxq_tokenizer *tok, const char *json, size_t len, tok_model_lists *l)
{
    memset(l, 0, sizeof(*l));
    scan s = {json, json + len};
    static const char *const top[] = {"model"};
    const char *at = NULL, *to = NULL;
    split_ctx c = {tok, l, {NULL, NULL}, {NULL, NULL}};
    int rc = members(&s, top, 1, &at, &to, read_model, &c);
    if (rc == 0 && (ws(&s), s.p != s.end || !c.at[0] || !c.at[1]))
        rc = -1;
    if (rc == 0 && !(l->rest = malloc(len + 4)))
        rc = -2;
    if (rc < 0) {
        tok_model_lists_free(l);
        return rc == -2 ? HXQ_ERR_NOMEM : 1;
    }
    /* the rest, for cJSON: the two values become {} and [] */
    int first = c.at[0] < c.at[1] ? 0 : 1;
    size_t o = 0;
    const char *p = json;
    for (int k = 0; k < 2; k++) {
        int v = k == 0 ? first : !first;
        memcpy(l->rest + o, p, (size_t)(c.at[v] - p));
        o += (size_t)(c.at[v] - p);
        memcpy(l->rest + o, v == 0 ? "{}" : "[]", 2);
        o += 2;
        p = c.to[v];
    }
    memcpy(l->rest + o, p, (size_t)(json + len - p));
    l->rest_len = o + (size_t)(json + len - p);
    return HXQ_OK;
}
