/* tok_normalize.c - the normalizer: a sequence of steps, each as HF's
 * normalizers do it:
 *   NFC / NFKC / NFD / NFKD   Unicode normalization (utf8proc)
 *   Lowercase                 Rust's char::to_lowercase, character by character
 *                             (no final-sigma rule; U+0130 -> "i\u0307")
 *   Strip                     White_Space at the left and/or right end
 *   Prepend                   a string in front of a non-empty text
 *   Replace                   every match of a String or Regex pattern by a string
 * Steps of nested Sequences run in order. */
#include "tok_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- parsing ---------------------------------------------------------------- */

static int add_step(hxq_tokenizer *tok, const cJSON *n, const char *where, int depth,
                    void *ctx, hxq_error *err);

static int parse_one(hxq_tokenizer *tok, const cJSON *n, const char *where, tok_norm_step *st,
                     hxq_error *err)
{
    static const char *const none[] = {NULL};
    static const char *const strip_keys[] = {"strip_left", "strip_right", NULL};
    static const char *const prepend_keys[] = {"prepend", NULL};
    static const char *const replace_keys[] = {"pattern", "content", NULL};
    static const struct { const char *name; tok_norm_kind kind; } simple[] = {
        {"NFC", TOK_NORM_NFC}, {"NFKC", TOK_NORM_NFKC}, {"NFD", TOK_NORM_NFD},
        {"NFKD", TOK_NORM_NFKD}, {"Lowercase", TOK_NORM_LOWERCASE}};
    const char *t = tok_json_type(n);
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
        if (!strcmp(t, simple[i].name)) {
            st->kind = simple[i].kind;
            return tok_json_known(n, none, tok->name, where, err);
        }
    if (!strcmp(t, "Strip")) {
        int l = 1, r = 1; /* HF's defaults */
        st->kind = TOK_NORM_STRIP;
        HXQ_TRY(tok_json_known(n, strip_keys, tok->name, where, err));
        HXQ_TRY(tok_json_flag(n, "strip_left", &l, tok->name, where, err));
        HXQ_TRY(tok_json_flag(n, "strip_right", &r, tok->name, where, err));
        st->left = (uint8_t)l;
        st->right = (uint8_t)r;
        return HXQ_OK;
    }
    const char *s = NULL;
    if (!strcmp(t, "Prepend") || !strcmp(t, "Replace")) {
        int prepend = !strcmp(t, "Prepend");
        st->kind = prepend ? TOK_NORM_PREPEND : TOK_NORM_REPLACE;
        HXQ_TRY(tok_json_known(n, prepend ? prepend_keys : replace_keys, tok->name, where, err));
        HXQ_TRY(tok_json_str(n, prepend ? "prepend" : "content", &s, tok->name, where, err));
        if (!s)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s (%s) has no \"%s\" string", tok->name,
                           where, t, prepend ? "prepend" : "content");
        size_t len = strlen(s);
        st->str = tok_arena_dup(&tok->arena, s, len);
        st->str_len = (uint32_t)len;
        if (!st->str || len > UINT32_MAX / 4)
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
        if (prepend)
            return HXQ_OK;
        return tok_finder_parse(tok, cJSON_GetObjectItemCaseSensitive(n, "pattern"), where,
                                &st->pat, err);
    }
    return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                   "%s: %s: normalizer type '%s' is not supported (supported: Sequence, NFC, "
                   "NFKC, NFD, NFKD, Lowercase, Strip, Prepend, Replace)", tok->name, where, t);
}

static int add_step(hxq_tokenizer *tok, const cJSON *n, const char *where, int depth,
                    void *ctx, hxq_error *err)
{
    if (!cJSON_IsObject(n) || !tok_json_type(n))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s must be an object with a \"type\"",
                       tok->name, where);
    if (!strcmp(tok_json_type(n), "Sequence")) {
        return tok_json_sequence(tok, n, "normalizers", where, depth, add_step, NULL, err);
    }
    if (tok->n_norm >= TOK_MAX_STEPS)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: more than %d normalizers", tok->name,
                       where, TOK_MAX_STEPS);
    tok_norm_step *st = &tok->norm[tok->n_norm];
    memset(st, 0, sizeof(*st));
    int rc = parse_one(tok, n, where, st, err);
    tok->n_norm++; /* counted even on failure, so that its pattern is freed */
    return rc;
}

int tok_parse_normalizer(hxq_tokenizer *tok, const cJSON *n, hxq_error *err)
{
    if (!n || cJSON_IsNull(n))
        return HXQ_OK;
    tok->norm = calloc(TOK_MAX_STEPS, sizeof(*tok->norm));
    if (!tok->norm)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    return add_step(tok, n, "normalizer", 0, NULL, err);
}

void tok_normalizer_free(hxq_tokenizer *tok)
{
    for (int i = 0; i < tok->n_norm; i++)
        tok_finder_free(&tok->norm[i].pat);
    free(tok->norm);
    tok->norm = NULL;
    tok->n_norm = 0;
}

/* ---- steps -------------------------------------------------------------------- */

typedef struct text {
    char *p;      /* malloc'd result, or NULL: unchanged */
    size_t n, cap;
} text;

static int unicode_form(tok_norm_kind k, const char *s, size_t len, text *o, hxq_error *err)
{
    size_t i = 0; /* ASCII is invariant under every normalization form */
    while (i < len && (uint8_t)s[i] < 0x80)
        i++;
    if (i == len)
        return HXQ_OK;
    if (len > (size_t)(PTRDIFF_MAX / 8))
        return hxq_err(err, HXQ_ERR_RANGE, "text piece of %zu bytes is too long to normalize",
                       len);
    utf8proc_option_t opt = UTF8PROC_STABLE;
    switch (k) {
    case TOK_NORM_NFC: opt |= UTF8PROC_COMPOSE; break;
    case TOK_NORM_NFKC: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case TOK_NORM_NFD: opt |= UTF8PROC_DECOMPOSE; break;
    default: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &dst,
                                      opt);
    if (n < 0) {
        free(dst);
        if (n == UTF8PROC_ERROR_NOMEM)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
        return hxq_err(err, HXQ_ERR_INVALID, "cannot normalize text: %s", utf8proc_errmsg(n));
    }
    o->p = (char *)dst;
    o->n = (size_t)n;
    return HXQ_OK;
}

static int lowercase(const char *s, size_t len, text *o)
{
    size_t i = 0;
    while (i < len && (uint8_t)s[i] < 0x80 && !(s[i] >= 'A' && s[i] <= 'Z'))
        i++;
    if (i == len)
        return 0; /* ASCII without capitals */
    /* U+0130 grows from 2 to 3 bytes; a few others change length by one */
    if (len > SIZE_MAX / 2 - 4 || tok_buf_reserve(&o->p, &o->cap, 2 * len + 4) < 0)
        return -1;
    size_t w = 0;
    for (i = 0; i < len;) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x80) {
            o->p[w++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            i++;
            continue;
        }
        int32_t cp;
        i += tok_utf8_next(s + i, len - i, &cp);
        if (cp == 0x130) {
            memcpy(o->p + w, "i\xcc\x87", 3);
            w += 3;
            continue;
        }
        w += (size_t)utf8proc_encode_char(utf8proc_tolower(cp), (utf8proc_uint8_t *)o->p + w);
    }
    o->n = w;
    return 0;
}

static void strip(const tok_norm_step *st, const char *s, size_t len, size_t *a, size_t *b)
{
    *a = 0;
    *b = len;
    while (st->left && *a < *b) {
        int32_t cp;
        size_t k = tok_utf8_next(s + *a, *b - *a, &cp);
        if (!tok_cp_is_space(cp))
            break;
        *a += k;
    }
    while (st->right && *b > *a) {
        size_t j = *b - 1;
        while (j > *a && ((uint8_t)s[j] & 0xC0) == 0x80)
            j--;
        int32_t cp;
        tok_utf8_next(s + j, *b - j, &cp);
        if (!tok_cp_is_space(cp))
            break;
        *b = j;
    }
}

typedef struct replace_ctx {
    const tok_norm_step *st;
    const char *s;
    text *o;
    size_t fs, fs_new; /* first_span before and after */
    hxq_error *err;
} replace_ctx;

static int replace_seg(void *p, size_t a, size_t b, int m)
{
    replace_ctx *r = p;
    const char *add = m ? r->st->str : r->s + a;
    size_t n = m ? r->st->str_len : b - a;
    if (a < r->fs)
        r->fs_new += m ? n : (b < r->fs ? b : r->fs) - a;
    if (tok_buf_append(&r->o->p, &r->o->n, &r->o->cap, add, n) < 0)
        return hxq_err(r->err, HXQ_ERR_NOMEM, "out of memory normalizing text");
    return HXQ_OK;
}

/* Replace with a non-empty literal: count, size once, copy. The same as
 * replace_seg over the segments (non-overlapping, leftmost). */
static int replace_literal(const tok_norm_step *st, const char *s, size_t len, size_t *fs,
                           text *o, hxq_error *err)
{
    const char *lit = st->pat.lit;
    size_t L = st->pat.lit_len, count = 0, fs_new = 0;
    if (L == 1) { /* one byte, e.g. ' ' -> U+2581: a plain loop */
        char c = lit[0];
        for (size_t i = 0; i < len; i++)
            count += s[i] == c;
        if (!count)
            return HXQ_OK;
        if (count > (SIZE_MAX - len - 1) / (st->str_len + 1) ||
            tok_buf_reserve(&o->p, &o->cap, len + count * st->str_len + 1) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
        size_t w = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == c) {
                memcpy(o->p + w, st->str, st->str_len);
                w += st->str_len;
            } else {
                o->p[w++] = s[i];
            }
        }
        for (size_t i = 0; i < *fs && i < len; i++)
            fs_new += s[i] == c ? st->str_len : 1;
        *fs = fs_new;
        o->n = w;
        return HXQ_OK;
    }
    for (const char *p = s, *end = s + len; (p = tok_memmem(p, (size_t)(end - p), lit, L));
         p += L)
        count++;
    if (!count)
        return HXQ_OK;
    size_t grow = st->str_len > L ? (st->str_len - L) : 0;
    if (count > (SIZE_MAX - len - 1) / (grow + 1) ||
        tok_buf_reserve(&o->p, &o->cap, len + count * grow + 1) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
    size_t w = 0, at = 0;
    for (const char *p = s; (p = tok_memmem(p, len - (size_t)(p - s), lit, L)); p += L) {
        size_t m = (size_t)(p - s);
        if (at < *fs)
            fs_new += (m < *fs ? m : *fs) - at;
        if (m < *fs)
            fs_new += st->str_len;
        memcpy(o->p + w, s + at, m - at);
        w += m - at;
        memcpy(o->p + w, st->str, st->str_len);
        w += st->str_len;
        at = m + L;
    }
    if (at < *fs)
        fs_new += *fs - at;
    memcpy(o->p + w, s + at, len - at);
    o->n = w + len - at;
    *fs = fs_new;
    return HXQ_OK;
}

/* One step over s: the result in *o (o->p NULL: unchanged); *fs updated. */
static int run_step(const tok_norm_step *st, const char *s, size_t len, size_t *fs,
                    tok_re_scratch *rs, text *o, hxq_error *err)
{
    size_t a, b;
    switch (st->kind) {
    case TOK_NORM_STRIP:
        strip(st, s, len, &a, &b);
        if (a == 0 && b == len)
            return HXQ_OK;
        if (tok_buf_append(&o->p, &o->n, &o->cap, s + a, b - a) < 0 ||
            (!o->p && tok_buf_reserve(&o->p, &o->cap, 1) < 0))
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
        *fs = *fs > a ? *fs - a : 0;
        return HXQ_OK;
    case TOK_NORM_PREPEND:
        if (!len || !st->str_len)
            return HXQ_OK;
        if (tok_buf_append(&o->p, &o->n, &o->cap, st->str, st->str_len) < 0 ||
            tok_buf_append(&o->p, &o->n, &o->cap, s, len) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
        if (*fs)
            *fs += st->str_len;
        return HXQ_OK;
    case TOK_NORM_REPLACE: {
        if (st->pat.kind == TOK_FIND_LITERAL && st->pat.lit_len)
            return replace_literal(st, s, len, fs, o, err);
        replace_ctx r = {st, s, o, *fs, 0, err};
        HXQ_TRY(tok_find_segments(&st->pat, s, len, rs, replace_seg, &r, err));
        if (!o->p && tok_buf_reserve(&o->p, &o->cap, 1) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
        *fs = r.fs_new;
        return HXQ_OK;
    }
    case TOK_NORM_LOWERCASE:
        if (lowercase(s, len, o) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
        break;
    default:
        HXQ_TRY(unicode_form(st->kind, s, len, o, err));
        break;
    }
    /* character-wise steps: the first character's share, normalized alone */
    if (o->p && *fs && *fs < len) {
        text f = {NULL, 0, 0};
        int rc = st->kind == TOK_NORM_LOWERCASE ? (lowercase(s, *fs, &f) < 0 ? HXQ_ERR_NOMEM : 0)
                                                : unicode_form(st->kind, s, *fs, &f, err);
        if (rc < 0) {
            free(f.p);
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
        }
        if (f.p)
            *fs = f.n;
        free(f.p);
    } else if (o->p && *fs) {
        *fs = o->n;
    }
    return HXQ_OK;
}

int tok_normalize(const hxq_tokenizer *tok, const char *s, size_t len, size_t *first_span,
                  tok_re_scratch *rs, char **out, size_t *out_len, hxq_error *err)
{
    *out = NULL;
    *out_len = len;
    size_t fs = first_span ? *first_span : 0;
    char *cur = NULL; /* owned result so far */
    const char *at = s;
    size_t n = len;
    for (int i = 0; i < tok->n_norm; i++) {
        text o = {NULL, 0, 0};
        int rc = run_step(&tok->norm[i], at, n, &fs, rs, &o, err);
        if (rc < 0) {
            free(o.p);
            free(cur);
            return rc;
        }
        if (o.p) {
            free(cur);
            cur = o.p;
            at = cur;
            n = o.n;
        }
    }
    *out = cur;
    *out_len = n;
    if (first_span)
        *first_span = fs;
    return HXQ_OK;
}
