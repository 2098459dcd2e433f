/* tok_regex.c - the patterns of tokenizer.json: Oniguruma regexes (as HF
 * compiles them, Ruby syntax, UTF-8) translated to PCRE2 with the same
 * matches, literal strings and character classes, and the iteration of HF's
 * Pattern::find_matches over them.
 *
 * Translation. The two engines agree on most syntax; where they differ the
 * construct is rewritten or refused:
 *   \s \S    Oniguruma's Unicode \s is the White_Space property; PCRE2's also
 *            has U+180E: spelled out as the White_Space set.
 *   \w \W    Oniguruma: Alphabetic, marks, Nd, Pc and Join_Control (UTS #18);
 *            PCRE2: letters, numbers and '_': spelled out.
 *   \d \D    Nd in both: written as \p{Nd} to be independent of options.
 *   \h \H    a hex digit in Ruby syntax, horizontal space in PCRE2: spelled out.
 *   \v       vertical tab in Ruby syntax, a class in PCRE2: \x{0B}.
 *   \uHHHH   \x{HHHH}.       {,n}   {0,n} (PCRE2 10.42 reads it literally).
 *   (?m)     Ruby's dot-all: PCRE2's (?s). ^ and $ are line anchors in Ruby
 *            syntax: PCRE2_MULTILINE with LF newlines.
 *   \p{..}   general categories only (scripts and binary properties are
 *            defined differently by the two engines).
 *   (?i)     both fold single characters alike (s/S/U+017F, k/K/U+212A);
 *            Oniguruma also folds multi-character sequences (ss ~ U+00DF,
 *            fi ~ U+FB01, ...): literals that contain one, and non-ASCII
 *            literals, are refused under (?i).
 * Refused: \b \B \G \K \R \X \N \O, back-references, \k<..> \g<..>, octal,
 * nested classes, POSIX brackets, class intersection &&, (?x), (?#..),
 * conditionals, and escapes of unknown letters. */
#include "tok_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define WS_CLASS "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}" \
                 "\\x{202F}\\x{205F}\\x{3000}"
#define WORD_CLASS "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
#define HEX_CLASS "0-9A-Fa-f"

/* ---- Unicode helpers ---------------------------------------------------- */

int tok_cp_is_space(int32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int tok_cp_is_numeric(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

int tok_cp_is_punct(int32_t cp)
{
    if (cp < 0x80)
        return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
               (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return 1;
    default:
        return 0;
    }
}

size_t tok_utf8_next(const char *s, size_t n, int32_t *cp)
{
    const uint8_t *u = (const uint8_t *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    utf8proc_int32_t c = -1;
    utf8proc_ssize_t k = utf8proc_iterate(u, (utf8proc_ssize_t)n, &c);
    *cp = c;
    return k > 0 ? (size_t)k : 1;
}

/* ---- translation ------------------------------------------------------------ */

typedef struct xlat {
    const char *p;
    size_t n, i;
    char *out;
    size_t olen, ocap;
    int fail;
    const char *why; /* the refused construct */
    /* case-insensitivity per open group; prev is the previous literal
     * letter under (?i), lowercased, or 0 */
    uint8_t icase[64];
    int depth;
    char prev;
} xlat;

static void put(xlat *x, const char *s, size_t n)
{
    if (!x->fail && tok_buf_append(&x->out, &x->olen, &x->ocap, s, n) < 0)
        x->fail = -1;
}

static void puts_(xlat *x, const char *s)
{
    put(x, s, strlen(s));
}

static void refuse(xlat *x, const char *why)
{
    if (!x->fail) {
        x->fail = 1;
        x->why = why;
    }
}

/* A literal character under (?i): refuse what Oniguruma folds as several. */
static void literal_case(xlat *x, int32_t cp)
{
    if (!x->icase[x->depth]) {
        x->prev = 0;
        return;
    }
    if (cp >= 0x80) {
        refuse(x, "a non-ASCII literal under (?i)");
        return;
    }
    char c = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    static const char *const folds[] = {"ss", "ff", "fi", "fl", "st"};
    for (size_t k = 0; x->prev && k < sizeof(folds) / sizeof(folds[0]); k++)
        if (folds[k][0] == x->prev && folds[k][1] == c)
            refuse(x, "a literal that (?i) folds as one character (ss, ff, fi, fl, st)");
    x->prev = (c >= 'a' && c <= 'z') ? c : 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* \p{..} / \P{..} / \p{^..}: general categories only. */
static void property(xlat *x, int negate)
{
    static const char *const names[] = {
        "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No",
        "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So",
        "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Co", "Cn", "Letter", "Mark", "Number",
        "Punctuation", "Symbol", "Separator", "Other"};
    if (x->i >= x->n || x->p[x->i] != '{') {
        refuse(x, "\\p without braces");
        return;
    }
    size_t j = x->i + 1;
    if (j < x->n && x->p[j] == '^') {
        negate = !negate;
        j++;
    }
    size_t k = j;
    while (k < x->n && x->p[k] != '}')
        k++;
    if (k >= x->n) {
        refuse(x, "an unterminated \\p{");
        return;
    }
    for (size_t t = 0; t < sizeof(names) / sizeof(names[0]); t++)
        if (strlen(names[t]) == k - j && !memcmp(names[t], x->p + j, k - j)) {
            puts_(x, negate ? "\\P{" : "\\p{");
            put(x, x->p + j, k - j);
            puts_(x, "}");
            x->i = k + 1;
            return;
        }
    refuse(x, "a \\p{} property that is not a general category");
}

/* \xHH, \x{H..}, \uHHHH -> \x{..}. */
static void hex_escape(xlat *x, char kind)
{
    size_t j = x->i, k;
    char buf[16];
    if (kind == 'x' && j < x->n && x->p[j] == '{') {
        k = j + 1;
        while (k < x->n && is_hex(x->p[k]) && k - j <= 8)
            k++;
        if (k >= x->n || x->p[k] != '}' || k == j + 1) {
            refuse(x, "a malformed \\x{}");
            return;
        }
        put(x, "\\x", 2);
        put(x, x->p + j, k + 1 - j);
        x->i = k + 1;
        j++;
    } else {
        size_t max = kind == 'u' ? 4 : 2;
        k = j;
        while (k < x->n && k - j < max && is_hex(x->p[k]))
            k++;
        if (k == j || (kind == 'u' && k - j != 4)) {
            refuse(x, "a malformed \\x or \\u escape");
            return;
        }
        snprintf(buf, sizeof(buf), "\\x{%.*s}", (int)(k - j), x->p + j);
        puts_(x, buf);
        x->i = k;
    }
    uint32_t v = 0;
    for (size_t t = j; t < k && v < 0x80; t++)
        v = v * 16 + (uint32_t)(x->p[t] <= '9' ? x->p[t] - '0' : (x->p[t] | 0x20) - 'a' + 10);
    if (x->icase[x->depth] && v >= 0x80)
        refuse(x, "a non-ASCII literal under (?i)");
    x->prev = 0;
}

/* One escape after the backslash (x->i points at the letter). */
static void escape(xlat *x, int in_class)
{
    if (x->i >= x->n) {
        refuse(x, "a trailing backslash");
        return;
    }
    char c = x->p[x->i++];
    const char *rep = NULL;
    switch (c) {
    case 's': rep = in_class ? WS_CLASS : "[" WS_CLASS "]"; break;
    case 'S': rep = in_class ? NULL : "[^" WS_CLASS "]"; break;
    case 'w': rep = in_class ? WORD_CLASS : "[" WORD_CLASS "]"; break;
    case 'W': rep = in_class ? NULL : "[^" WORD_CLASS "]"; break;
    case 'd': rep = "\\p{Nd}"; break;
    case 'D': rep = "\\P{Nd}"; break;
    case 'h': rep = in_class ? HEX_CLASS : "[" HEX_CLASS "]"; break;
    case 'H': rep = in_class ? NULL : "[^" HEX_CLASS "]"; break;
    case 't': rep = "\\t"; break;
    case 'n': rep = "\\n"; break;
    case 'r': rep = "\\r"; break;
    case 'f': rep = "\\f"; break;
    case 'a': rep = "\\a"; break;
    case 'e': rep = "\\e"; break;
    case 'v': rep = "\\x{0B}"; break;
    case 'A': case 'z': case 'Z': rep = in_class ? NULL : (c == 'A' ? "\\A" : c == 'z' ? "\\z"
                                                                                       : "\\Z");
        break;
    case 'p': case 'P':
        property(x, c == 'P');
        x->prev = 0;
        return;
    case 'x': case 'u':
        hex_escape(x, c);
        return;
    default:
        break;
    }
    if (rep) {
        puts_(x, rep);
        x->prev = 0;
        return;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        refuse(x, in_class && (c == 'S' || c == 'W' || c == 'H')
                      ? "a negated class escape inside a character class"
                      : "an escape that Oniguruma and PCRE2 read differently (or unknown)");
        return;
    }
    /* an escaped symbol or non-ASCII character: itself */
    int32_t cp;
    size_t k = tok_utf8_next(x->p + x->i - 1, x->n - x->i + 1, &cp);
    if (cp < 0x80) {
        char e[2] = {'\\', c};
        put(x, e, 2);
    } else {
        put(x, x->p + x->i - 1, k);
    }
    x->i += k - 1;
    if (!in_class)
        literal_case(x, cp);
}

static void char_class(xlat *x)
{
    put(x, "[", 1);
    if (x->i < x->n && x->p[x->i] == '^') {
        put(x, "^", 1);
        x->i++;
    }
    if (x->i < x->n && x->p[x->i] == ']') {
        refuse(x, "']' first in a character class");
        return;
    }
    if (x->icase[x->depth])
        for (size_t j = x->i; j < x->n && x->p[j] != ']'; j++)
            if ((uint8_t)x->p[j] >= 0x80) {
                refuse(x, "a non-ASCII character class under (?i)");
                return;
            }
    while (!x->fail) {
        if (x->i >= x->n) {
            refuse(x, "an unterminated character class");
            return;
        }
        char c = x->p[x->i];
        if (c == ']') {
            put(x, "]", 1);
            x->i++;
            x->prev = 0;
            return;
        }
        if (c == '[') {
            refuse(x, "a nested class or POSIX bracket");
            return;
        }
        if (c == '&' && x->i + 1 < x->n && x->p[x->i + 1] == '&') {
            refuse(x, "class intersection &&");
            return;
        }
        if (c == '\\') {
            x->i++;
            escape(x, 1);
            continue;
        }
        int32_t cp;
        size_t k = tok_utf8_next(x->p + x->i, x->n - x->i, &cp);
        put(x, x->p + x->i, k);
        x->i += k;
    }
}

/* "(?" ...: group kinds and inline options. */
static void group(xlat *x)
{
    int parent = x->icase[x->depth];
    if (x->depth + 1 >= (int)sizeof(x->icase)) {
        refuse(x, "groups nested too deeply");
        return;
    }
    if (x->i >= x->n || x->p[x->i] != '?') {
        put(x, "(", 1);
        x->icase[++x->depth] = (uint8_t)parent;
        x->prev = 0;
        return;
    }
    x->i++;
    const char *rest = x->p + x->i;
    size_t left = x->n - x->i;
    static const char *const kinds[] = {":", "=", "!", "<=", "<!", ">"};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t kl = strlen(kinds[k]);
        if (left >= kl && !memcmp(rest, kinds[k], kl)) {
            put(x, "(?", 2);
            put(x, rest, kl);
            x->i += kl;
            x->icase[++x->depth] = (uint8_t)parent;
            x->prev = 0;
            return;
        }
    }
    if (left && rest[0] == '<') { /* (?<name> */
        size_t k = 1;
        while (k < left && ((rest[k] >= 'a' && rest[k] <= 'z') || (rest[k] >= 'A' &&
               rest[k] <= 'Z') || (rest[k] >= '0' && rest[k] <= '9') || rest[k] == '_'))
            k++;
        if (k < left && rest[k] == '>' && k > 1) {
            put(x, "(?", 2);
            put(x, rest, k + 1);
            x->i += k + 1;
            x->icase[++x->depth] = (uint8_t)parent;
            x->prev = 0;
            return;
        }
        refuse(x, "a malformed named group");
        return;
    }
    /* options: (?imx-imx) or (?imx-imx:...) */
    int on = 1, icase = parent;
    char opts[16];
    size_t no = 0, k = 0;
    for (; k < left && rest[k] != ')' && rest[k] != ':'; k++) {
        char c = rest[k];
        if (c == '-')
            on = 0;
        else if (c == 'i')
            icase = on;
        else if (c != 'm') {
            refuse(x, "an inline option other than i and m");
            return;
        }
        if (no + 1 < sizeof(opts))
            opts[no++] = c == 'm' ? 's' : c; /* Ruby's m is dot-all */
    }
    if (k >= left || k == 0) {
        refuse(x, "a malformed (? group");
        return;
    }
    put(x, "(?", 2);
    put(x, opts, no);
    put(x, rest + k, 1);
    x->i += k + 1;
    if (rest[k] == ':')
        x->icase[++x->depth] = (uint8_t)icase;
    else
        x->icase[x->depth] = (uint8_t)icase; /* to the end of the enclosing group */
    x->prev = 0;
}

/* {,n} -> {0,n}; other braces are copied. */
static void brace(xlat *x)
{
    size_t j = x->i;
    if (j < x->n && x->p[j] == ',') {
        size_t k = j + 1;
        while (k < x->n && x->p[k] >= '0' && x->p[k] <= '9')
            k++;
        if (k > j + 1 && k < x->n && x->p[k] == '}') {
            puts_(x, "{0");
            put(x, x->p + j, k + 1 - j);
            x->i = k + 1;
            return;
        }
    }
    put(x, "{", 1);
}

static int translate(xlat *x)
{
    while (!x->fail && x->i < x->n) {
        char c = x->p[x->i++];
        switch (c) {
        case '\\':
            escape(x, 0);
            break;
        case '[':
            char_class(x);
            break;
        case '(':
            group(x);
            break;
        case ')':
            if (x->depth > 0)
                x->depth--;
            put(x, ")", 1);
            x->prev = 0;
            break;
        case '{':
            brace(x);
            x->prev = 0;
            break;
        case '#': /* a literal unless (?x), which is refused */
        case '.': case '^': case '$': case '|': case '*': case '+': case '?': case '}':
        case ']':
            put(x, &c, 1);
            if (c == '|' || c == '*' || c == '+' || c == '?')
                x->prev = 0;
            if (c == '#' || c == '}' || c == ']')
                literal_case(x, c);
            break;
        default: {
            int32_t cp;
            size_t k = tok_utf8_next(x->p + x->i - 1, x->n - x->i + 1, &cp);
            put(x, x->p + x->i - 1, k);
            x->i += k - 1;
            literal_case(x, cp);
        }
        }
    }
    return x->fail;
}

int tok_regex_compile(const char *pat, size_t len, const char *name, const char *where,
                      pcre2_code **out, hxq_error *err)
{
    char q[96];
    xlat x;
    memset(&x, 0, sizeof(x));
    x.p = pat;
    x.n = len;
    *out = NULL;
    if (hxq_utf8_valid_prefix(pat, len) != len)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s: the regex is not valid UTF-8", name, where);
    int f = translate(&x);
    if (f < 0 || (!x.out && !f && tok_buf_reserve(&x.out, &x.ocap, 1) < 0)) {
        free(x.out);
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", name);
    }
    if (f > 0) {
        free(x.out);
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: regex '%s' uses %s, which hxq does "
                       "not translate from Oniguruma", name, where,
                       tok_quote(pat, len, q, sizeof(q)), x.why);
    }
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) {
        free(x.out);
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", name);
    }
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    int ec;
    PCRE2_SIZE eo;
    *out = pcre2_compile((PCRE2_SPTR)x.out, x.olen, PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE |
                         PCRE2_NO_UTF_CHECK, &ec, &eo, cc);
    pcre2_compile_context_free(cc);
    free(x.out);
    if (!*out) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: cannot compile regex '%s': %s", name,
                       where, tok_quote(pat, len, q, sizeof(q)), (const char *)msg);
    }
    /* JIT is an optimisation: without it matching still works */
    pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
    return HXQ_OK;
}

/* ---- finders ------------------------------------------------------------ */

int tok_finder_regex(const char *pat, size_t len, const char *name, const char *where,
                     tok_finder *f, hxq_error *err)
{
    f->kind = TOK_FIND_REGEX;
    f->fast = tok_fast_kind(pat, len);
    return tok_regex_compile(pat, len, name, where, &f->re, err);
}

int tok_finder_parse(hxq_tokenizer *tok, const void *json_pattern, const char *where,
                     tok_finder *f, hxq_error *err)
{
    const cJSON *p = json_pattern;
    memset(f, 0, sizeof(*f));
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "String");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "Regex");
    if (!cJSON_IsObject(p) || cJSON_GetArraySize(p) != 1 || (!cJSON_IsString(s) &&
                                                             !cJSON_IsString(r)))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s.pattern must be {\"String\": ...} or "
                       "{\"Regex\": ...}", tok->name, where);
    char w[160];
    snprintf(w, sizeof(w), "%s.pattern", where);
    if (r)
        return tok_finder_regex(r->valuestring, strlen(r->valuestring), tok->name, w, f, err);
    size_t n = strlen(s->valuestring);
    f->kind = TOK_FIND_LITERAL;
    f->lit = tok_arena_dup(&tok->arena, s->valuestring, n);
    f->lit_len = (uint32_t)n;
    if (!f->lit || n > UINT32_MAX / 2)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    if (n == 0) /* matches the empty string everywhere: the regex engine does that */
        return tok_regex_compile("", 0, tok->name, w, &f->re, err);
    return HXQ_OK;
}

void tok_finder_free(tok_finder *f)
{
    pcre2_code_free(f->re);
    f->re = NULL;
}

void tok_re_scratch_free(tok_re_scratch *rs)
{
    pcre2_match_data_free(rs->md);
    pcre2_match_context_free(rs->mctx);
    pcre2_jit_stack_free(rs->jit);
    memset(rs, 0, sizeof(*rs));
}

/* pcre2_match with a JIT stack that grows on demand. */
static int re_match(const pcre2_code *re, const char *s, size_t len, size_t at,
                    tok_re_scratch *rs, size_t *ms, size_t *me, hxq_error *err)
{
    if (!rs->md && !(rs->md = pcre2_match_data_create(1, NULL)))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    for (;;) {
        /* the JIT entry point skips pcre2_match's per-call checks (the text
         * is valid UTF-8 already); without JIT code it says so */
        int rc = pcre2_jit_match(re, (PCRE2_SPTR)s, len, at, PCRE2_NO_UTF_CHECK, rs->md, rs->mctx);
        if (rc == PCRE2_ERROR_JIT_BADOPTION)
            rc = pcre2_match(re, (PCRE2_SPTR)s, len, at, PCRE2_NO_UTF_CHECK, rs->md, rs->mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            return 0;
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !rs->jit) {
            rs->mctx = pcre2_match_context_create(NULL);
            rs->jit = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, NULL);
            if (!rs->mctx || !rs->jit)
                return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            pcre2_jit_stack_assign(rs->mctx, NULL, rs->jit);
            continue;
        }
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            return hxq_err(err, HXQ_ERR_RANGE, "pre-tokenizer regex failed at byte %zu: %s", at,
                           (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rs->md);
        *ms = ov[0];
        *me = ov[1];
        return 1;
    }
}

static int class_match(const tok_finder *f, int32_t cp)
{
    switch (f->kind) {
    case TOK_FIND_NUMERIC: return tok_cp_is_numeric(cp);
    case TOK_FIND_PUNCT: return tok_cp_is_punct(cp);
    case TOK_FIND_SPACE: return tok_cp_is_space(cp);
    default: return cp == (int32_t)f->cp;
    }
}

/* the callback's failure status goes up as it is */
#define SEG(a, b, m)                                                  \
    do {                                                              \
        int seg_rc_ = cb(ctx, (a), (b), (m));                         \
        if (seg_rc_ < 0)                                              \
            return seg_rc_;                                           \
    } while (0)

int tok_find_segments(const tok_finder *f, const char *s, size_t len, tok_re_scratch *rs,
                      tok_seg_fn cb, void *ctx, hxq_error *err)
{
    if (len == 0)
        return HXQ_OK;
    size_t prev = 0;
    if (f->kind == TOK_FIND_LITERAL && f->lit_len) {
        /* non-overlapping, leftmost: what the escaped regex finds */
        size_t at = 0;
        while (at + f->lit_len <= len) {
            const char *hit = tok_memmem(s + at, len - at, f->lit, f->lit_len);
            if (!hit)
                break;
            size_t ms = (size_t)(hit - s);
            if (ms != prev)
                SEG(prev, ms, 0);
            SEG(ms, ms + f->lit_len, 1);
            prev = at = ms + f->lit_len;
        }
    } else if (f->re) {
        /* rust-onig's find_iter: an empty match right after the previous
         * match is skipped by moving one character on */
        size_t at = 0, last = 0;
        int have_last = 0;
        while (at <= len) {
            size_t ms, me, k = f->fast && at < len ? tok_fast_match(f->fast, s, len, at) : 0;
            if (k) { /* the engine would find the same, at the same place */
                if (at != prev)
                    SEG(prev, at, 0);
                SEG(at, at + k, 1);
                prev = at = last = at + k;
                have_last = 1;
                continue;
            }
            int rc = re_match(f->re, s, len, at, rs, &ms, &me, err);
            if (rc < 0)
                return rc;
            if (!rc)
                break;
            if (ms == me && have_last && last == me) {
                int32_t cp;
                at += at < len ? tok_utf8_next(s + at, len - at, &cp) : 1;
                continue;
            }
            at = last = me;
            have_last = 1;
            if (ms != prev)
                SEG(prev, ms, 0);
            SEG(ms, me, 1);
            prev = me;
        }
    } else {
        size_t i = 0;
        while (i < len) {
            int32_t cp;
            size_t k = tok_utf8_next(s + i, len - i, &cp);
            if (class_match(f, cp)) {
                if (i != prev)
                    SEG(prev, i, 0);
                SEG(i, i + k, 1);
                prev = i + k;
            }
            i += k;
        }
    }
    if (prev != len)
        SEG(prev, len, 0);
    return HXQ_OK;
}
