/* jinja_lex.c - the template lexer, rule for rule jinja2's (lexer.py) with
 * trim_blocks and lstrip_blocks on:
 *   - newlines (\r\n, \r) become \n and one trailing newline is dropped;
 *   - "{%-" / "{{-" / "{#-" strip all whitespace before the tag, "-%}" /
 *     "-}}" / "-#}" all whitespace after it;
 *   - trim_blocks: the first newline after "%}" or "#}" is removed ("+%}"
 *     keeps it);
 *   - lstrip_blocks: whitespace between the start of a line and "{%" or
 *     "{#" is removed ("{%+" keeps it), never before "{{";
 *   - {% raw %}...{% endraw %} is data; comments are dropped.
 * "Whitespace" is Python's str.isspace() set, as in jinja2's regexes. */
#include "jinja_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    jinja *J;
    const char *s; /* normalized source */
    size_t n, pos;
    int line;      /* line at pos */
    int line_starting;
    jtok *t;
    size_t nt, cap;
    char bal[JINJA_MAX_NEST]; /* expected closing brackets */
    int nbal;
} lexer;

/* Moves pos to `to`, counting lines. */
static void adv(lexer *L, size_t to)
{
    for (size_t i = L->pos; i < to; i++)
        L->line += L->s[i] == '\n';
    L->pos = to;
}

static int emit(lexer *L, int kind, int line, const char *s, size_t n, jtok **out)
{
    if (L->nt == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 64;
        jtok *t = jinja_alloc(L->J, cap * sizeof(*t));
        if (!t)
            return jinja_oom(L->J);
        if (L->nt)
            memcpy(t, L->t, L->nt * sizeof(*t));
        L->t = t;
        L->cap = cap;
    }
    jtok *t = &L->t[L->nt++];
    memset(t, 0, sizeof(*t));
    t->kind = (uint8_t)kind;
    t->line = line;
    t->s = s;
    t->n = n;
    if (out)
        *out = t;
    return HXQ_OK;
}

/* Byte length of the whitespace character at i, or 0. */
static size_t ws_at(const lexer *L, size_t i)
{
    if (i >= L->n)
        return 0;
    unsigned char c = (unsigned char)L->s[i];
    if (c < 0x80)
        return (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)) ? 1 : 0;
    size_t j = i;
    uint32_t cp = jinja_utf8_next(L->s, L->n, &j);
    return jinja_py_isspace(cp) ? j - i : 0;
}

static size_t skip_ws(const lexer *L, size_t i)
{
    size_t k;
    while ((k = ws_at(L, i)) > 0)
        i += k;
    return i;
}

static int starts(const lexer *L, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    return i + k <= L->n && !memcmp(L->s + i, lit, k);
}

/* The end of a closing tag "<c>}" at i with its whitespace control: "-<c>}"
 * and the whitespace after it; "+<c>}" (when plus) as it is; "<c>}" and
 * one newline after it when trim (trim_blocks). 0 when none is at i. */
static size_t tag_close(const lexer *L, size_t i, char c, int plus, int trim)
{
    char t[4] = {'+', c, '}', 0};
    if (plus && starts(L, i, t))
        return i + 3;
    t[0] = '-';
    if (starts(L, i, t))
        return skip_ws(L, i + 3);
    if (!starts(L, i, t + 1))
        return 0;
    return trim && i + 2 < L->n && L->s[i + 2] == '\n' ? i + 3 : i + 2;
}

/* End of `text` after Python's rstrip() (whitespace). */
static size_t rstrip_end(const lexer *L, size_t b, size_t e)
{
    while (e > b) {
        size_t k = e - 1;
        while (k > b && ((unsigned char)L->s[k] & 0xc0) == 0x80)
            k--;
        if (ws_at(L, k) != e - k)
            break;
        e = k;
    }
    return e;
}

/* The data before a tag [b, e), with the tag's whitespace control applied:
 * sign '-' strips trailing whitespace; otherwise (no '+', not a {{ tag)
 * lstrip_blocks removes blanks back to the start of the line. */
static int emit_data_before(lexer *L, size_t b, size_t e, char sign, int is_var)
{
    if (sign == '-') {
        e = rstrip_end(L, b, e);
    } else if (sign != '+' && !is_var) {
        size_t l = e;
        while (l > b && L->s[l - 1] != '\n')
            l--;
        if ((l > b || L->line_starting) && skip_ws(L, l) >= e)
            e = l; /* only whitespace from the line start: jinja2's \s+ */
    }
    int line = L->line;
    adv(L, b); /* no-op: b == pos */
    if (e > b)
        HXQ_TRY(emit(L, JT_DATA, line, L->s + b, e - b, NULL));
    return HXQ_OK;
}

/* ---- literals ----------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Python's unicode-escape decoding of a string literal's body (after
 * jinja2's encode("ascii", "backslashreplace")). */
static int unescape(lexer *L, const char *p, size_t n, jtok *t)
{
    jinja *J = L->J;
    char *out = jinja_alloc(J, 2 * n + 1); /* "\\é" (3 bytes) becomes "\\xe9" (4) ... */
    if (!out)
        return jinja_oom(J);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (p[i] != '\\' || i + 1 >= n) {
            out[o++] = p[i++];
            continue;
        }
        char c = p[i + 1];
        i += 2;
        uint32_t cp;
        int digits = 0;
        switch (c) {
        case '\n': continue; /* line continuation */
        case '\\': out[o++] = '\\'; continue;
        case '\'': out[o++] = '\''; continue;
        case '"': out[o++] = '"'; continue;
        case 'a': out[o++] = '\a'; continue;
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'v': out[o++] = '\v'; continue;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        case 'N':
            return jinja_fail(J, HXQ_ERR_UNSUPPORTED, t->line, "unsupported \\N{...} escape in "
                              "a string literal");
        default:
            if (c >= '0' && c <= '7') {
                cp = (uint32_t)(c - '0');
                for (int k = 0; k < 2 && i < n && p[i] >= '0' && p[i] <= '7'; k++)
                    cp = cp * 8 + (uint32_t)(p[i++] - '0');
                o += jinja_utf8_put(cp, out + o);
                continue;
            }
            if ((unsigned char)c >= 0x80) {
                /* backslashreplace turned the character into \xhh / \uhhhh /
                 * \Uhhhhhhhh, and the backslash before it escapes that
                 * backslash: the result is the escape's text */
                size_t j = i - 1;
                cp = jinja_utf8_next(p, n, &j);
                i = j;
                char tmp[16];
                int k = cp < 0x100 ? snprintf(tmp, sizeof(tmp), "\\x%02x", cp)
                        : cp < 0x10000 ? snprintf(tmp, sizeof(tmp), "\\u%04x", cp)
                                       : snprintf(tmp, sizeof(tmp), "\\U%08x", cp);
                memcpy(out + o, tmp, (size_t)k);
                o += (size_t)k;
                continue;
            }
            out[o++] = '\\'; /* unknown escapes stay as they are */
            out[o++] = c;
            continue;
        }
        cp = 0;
        for (int k = 0; k < digits; k++) {
            int h = i < n ? hexval(p[i]) : -1;
            if (h < 0)
                return jinja_fail(J, HXQ_ERR_FORMAT, t->line, "truncated \\%c escape in a "
                                  "string literal", c);
            cp = cp * 16 + (uint32_t)h;
            i++;
        }
        if (cp > 0x10ffff)
            return jinja_fail(J, HXQ_ERR_FORMAT, t->line, "illegal Unicode character in a "
                              "string literal");
        if (cp >= 0xd800 && cp <= 0xdfff)
            return jinja_fail(J, HXQ_ERR_UNSUPPORTED, t->line, "unsupported surrogate escape "
                              "in a string literal");
        o += jinja_utf8_put(cp, out + o);
    }
    out[o] = 0;
    t->s = out;
    t->n = o;
    return HXQ_OK;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_name_char(char c) { return c == '_' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

/* (\d+_)*\d+ from i: returns the end, or i when nothing matches. */
static size_t digits_us(const lexer *L, size_t i)
{
    size_t j = i, end = i;
    while (j < L->n && is_digit(L->s[j])) {
        while (j < L->n && is_digit(L->s[j]))
            j++;
        end = j;
        if (j + 1 < L->n && L->s[j] == '_' && is_digit(L->s[j + 1]))
            j++;
        else
            break;
    }
    return end;
}

/* float_re: digits, then a fraction and/or an exponent; returns the end or i. */
static size_t float_end(const lexer *L, size_t i)
{
    if (i > 0 && L->s[i - 1] == '.')
        return i;
    size_t j = digits_us(L, i);
    if (j == i)
        return i;
    size_t frac = j;
    if (j < L->n && L->s[j] == '.') {
        size_t k = digits_us(L, j + 1);
        if (k > j + 1)
            frac = k;
    }
    size_t e = frac;
    if (e < L->n && (L->s[e] == 'e' || L->s[e] == 'E')) {
        size_t k = e + 1;
        if (k < L->n && (L->s[k] == '+' || L->s[k] == '-'))
            k++;
        size_t m = digits_us(L, k);
        if (m > k)
            return m;
    }
    return frac > j ? frac : i;
}

static int lex_number(lexer *L, size_t i, size_t *end)
{
    jinja *J = L->J;
    size_t fe = float_end(L, i);
    char tmp[128];
    if (fe > i) {
        size_t k = 0;
        for (size_t x = i; x < fe && k + 1 < sizeof(tmp); x++)
            if (L->s[x] != '_')
                tmp[k++] = L->s[x];
        tmp[k] = 0;
        jtok *t;
        HXQ_TRY(emit(L, JT_FLOAT, L->line, L->s + i, fe - i, &t));
        t->f = strtod(tmp, NULL);
        *end = fe;
        return HXQ_OK;
    }
    /* integer_re: 0b / 0o / 0x with optional single underscores, [1-9](_?\d)*, 0(_?0)* */
    int base = 10;
    size_t j = i;
    char c1 = i + 1 < L->n ? (char)(L->s[i + 1] | 0x20) : 0;
    if (L->s[i] == '0' && (c1 == 'b' || c1 == 'o' || c1 == 'x')) {
        int b = c1 == 'b' ? 2 : c1 == 'o' ? 8 : 16;
        size_t k = i + 2, last = i + 2;
        for (;;) {
            size_t m = k < L->n && L->s[k] == '_' ? k + 1 : k;
            int h = m < L->n ? hexval(L->s[m]) : -1;
            if (h < 0 || h >= b)
                break;
            k = m + 1;
            last = k;
        }
        if (last > i + 2) {
            base = b;
            j = last;
        }
    }
    if (base == 10) {
        char want = L->s[i] == '0' ? '0' : 0;
        j = i + 1;
        for (;;) {
            size_t m = j < L->n && L->s[j] == '_' ? j + 1 : j;
            if (m < L->n && (want ? L->s[m] == '0' : is_digit(L->s[m])))
                j = m + 1;
            else
                break;
        }
    }
    uint64_t v = 0;
    for (size_t x = (base == 10 ? i : i + 2); x < j; x++) {
        if (L->s[x] == '_')
            continue;
        uint64_t d = (uint64_t)hexval(L->s[x]);
        if (v > (UINT64_MAX - d) / (uint64_t)base || v * (uint64_t)base + d > (uint64_t)INT64_MAX)
            return jinja_fail(J, HXQ_ERR_UNSUPPORTED, L->line, "integer literal too large "
                              "(hxq's integers are 64-bit)");
        v = v * (uint64_t)base + d;
    }
    jtok *t;
    HXQ_TRY(emit(L, JT_INT, L->line, L->s + i, j - i, &t));
    t->i = (int64_t)v;
    *end = j;
    return HXQ_OK;
}

static const struct { const char *s; jop op; } ops[] = {
    {"//", JOP_FLOORDIV}, {"**", JOP_POW}, {"==", JOP_EQ}, {"!=", JOP_NE}, {">=", JOP_GE},
    {"<=", JOP_LE}, {"+", JOP_ADD}, {"-", JOP_SUB}, {"/", JOP_DIV}, {"*", JOP_MUL},
    {"%", JOP_MOD}, {"~", JOP_TILDE}, {"[", JOP_LBRACKET}, {"]", JOP_RBRACKET},
    {"(", JOP_LPAREN}, {")", JOP_RPAREN}, {"{", JOP_LBRACE}, {"}", JOP_RBRACE},
    {">", JOP_GT}, {"<", JOP_LT}, {"=", JOP_ASSIGN}, {".", JOP_DOT}, {":", JOP_COLON},
    {"|", JOP_PIPE}, {",", JOP_COMMA}, {";", JOP_SEMICOLON},
};

static int lex_operator(lexer *L, size_t i, size_t *end)
{
    jinja *J = L->J;
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        if (!starts(L, i, ops[k].s))
            continue;
        char c = ops[k].s[0];
        if (ops[k].op == JOP_LBRACE || ops[k].op == JOP_LPAREN || ops[k].op == JOP_LBRACKET) {
            if (L->nbal == JINJA_MAX_NEST)
                return jinja_fail(J, HXQ_ERR_RANGE, L->line, "brackets nested more than %d "
                                  "deep", JINJA_MAX_NEST);
            L->bal[L->nbal++] = c == '{' ? '}' : c == '(' ? ')' : ']';
        } else if (c == '}' || c == ')' || c == ']') {
            if (!L->nbal)
                return jinja_fail(J, HXQ_ERR_FORMAT, L->line, "syntax error: unexpected '%c'", c);
            char want = L->bal[--L->nbal];
            if (want != c)
                return jinja_fail(J, HXQ_ERR_FORMAT, L->line, "syntax error: unexpected '%c', "
                                  "expected '%c'", c, want);
        }
        jtok *t;
        HXQ_TRY(emit(L, JT_OP, L->line, L->s + i, strlen(ops[k].s), &t));
        t->op = (uint8_t)ops[k].op;
        *end = i + strlen(ops[k].s);
        return HXQ_OK;
    }
    size_t j = i;
    uint32_t cp = jinja_utf8_next(L->s, L->n, &j);
    if (cp >= 0x80)
        return jinja_fail(J, HXQ_ERR_UNSUPPORTED, L->line, "unsupported character U+%04X in a "
                          "tag (names are ASCII here)", cp);
    return jinja_fail(J, HXQ_ERR_FORMAT, L->line, "syntax error: unexpected character '%c'",
                      L->s[i]);
}

/* Inside {{ }} or {% %}: tokens up to the end tag. */
static int lex_tag(lexer *L, int is_block)
{
    jinja *J = L->J;
    L->nbal = 0;
    for (;;) {
        size_t i = L->pos;
        if (i >= L->n)
            return HXQ_OK; /* unterminated: the parser reports it */
        if (!L->nbal) {
            size_t e = tag_close(L, i, is_block ? '%' : '}', is_block, is_block);
            if (e) {
                HXQ_TRY(emit(L, is_block ? JT_BLOCK_END : JT_VAR_END, L->line, NULL, 0, NULL));
                L->line_starting = L->s[e - 1] == '\n';
                adv(L, e);
                return HXQ_OK;
            }
        }
        size_t k = ws_at(L, i), end = i;
        if (k) {
            adv(L, skip_ws(L, i));
            continue;
        }
        char c = L->s[i];
        if (is_digit(c)) {
            HXQ_TRY(lex_number(L, i, &end));
        } else if (is_name_char(c)) {
            end = i + 1;
            while (end < L->n && (is_name_char(L->s[end]) || is_digit(L->s[end])))
                end++;
            HXQ_TRY(emit(L, JT_NAME, L->line, L->s + i, end - i, NULL));
        } else if (c == '\'' || c == '"') {
            end = i + 1;
            while (end < L->n && L->s[end] != c)
                end += L->s[end] == '\\' && end + 1 < L->n ? 2 : 1;
            if (end >= L->n)
                return jinja_fail(J, HXQ_ERR_FORMAT, L->line, "syntax error: unterminated "
                                  "string literal");
            end++;
            jtok *t;
            HXQ_TRY(emit(L, JT_STRING, L->line, NULL, 0, &t));
            HXQ_TRY(unescape(L, L->s + i + 1, end - i - 2, t));
        } else {
            HXQ_TRY(lex_operator(L, i, &end));
        }
        adv(L, end);
    }
}

/* {# ... #}: dropped; the end tag trims like a block's. */
static int lex_comment(lexer *L, int start_line)
{
    for (size_t i = L->pos; i + 1 < L->n; i++) {
        size_t e = tag_close(L, i, '#', 1, 1);
        if (e) {
            L->line_starting = L->s[e - 1] == '\n';
            adv(L, e);
            return HXQ_OK;
        }
    }
    return jinja_fail(L->J, HXQ_ERR_FORMAT, start_line, "syntax error: missing end of comment "
                      "tag");
}

/* "{%[-+]?\s*name\s*" from i: the index after it, or 0. *sign gets the sign. */
static size_t tag_named(const lexer *L, size_t i, const char *name, char *sign)
{
    if (!starts(L, i, "{%"))
        return 0;
    i += 2;
    *sign = 0;
    if (i < L->n && (L->s[i] == '-' || L->s[i] == '+'))
        *sign = L->s[i++];
    i = skip_ws(L, i);
    if (!starts(L, i, name))
        return 0;
    return skip_ws(L, i + strlen(name));
}

/* {% raw %} at i (the "-%}\s*" or "%}" that closes it included): its end or 0. */
static size_t raw_begin(const lexer *L, size_t i, char *sign)
{
    size_t j = tag_named(L, i, "raw", sign);
    if (!j)
        return 0;
    if (starts(L, j, "-%}"))
        return skip_ws(L, j + 3);
    return starts(L, j, "%}") ? j + 2 : 0;
}

static int lex_raw(lexer *L, int start_line)
{
    for (size_t i = L->pos; i < L->n; i++) {
        char sign;
        size_t j = tag_named(L, i, "endraw", &sign), e = j ? tag_close(L, j, '%', 1, 1) : 0;
        if (!e)
            continue;
        HXQ_TRY(emit_data_before(L, L->pos, i, sign, 0));
        L->line_starting = L->s[e - 1] == '\n';
        adv(L, e);
        return HXQ_OK;
    }
    return jinja_fail(L->J, HXQ_ERR_FORMAT, start_line, "syntax error: missing end of raw "
                      "directive");
}

/* \r\n and \r -> \n, one trailing newline dropped (keep_trailing_newline off). */
static int normalize(jinja *J, const char *src, size_t n, char **out, size_t *outn)
{
    char *s = jinja_alloc(J, n + 1);
    if (!s)
        return jinja_oom(J);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '\r') {
            s[o++] = '\n';
            if (i + 1 < n && src[i + 1] == '\n')
                i++;
        } else {
            s[o++] = src[i];
        }
    }
    if (o && s[o - 1] == '\n')
        o--;
    s[o] = 0;
    *out = s;
    *outn = o;
    return HXQ_OK;
}

int jinja_lex(jinja *J, const char *src, size_t n, jtok **toks, size_t *ntoks)
{
    size_t valid = hxq_utf8_valid_prefix(src, n);
    if (valid != n) {
        int line = 1;
        for (size_t i = 0; i < valid; i++)
            line += src[i] == '\n';
        return jinja_fail(J, HXQ_ERR_FORMAT, line, "the template is not valid UTF-8 (byte %zu)",
                          valid);
    }
    lexer L = {.J = J, .line = 1, .line_starting = 1};
    char *s = NULL;
    HXQ_TRY(normalize(J, src, n, &s, &L.n));
    L.s = s;
    while (L.pos < L.n) {
        size_t start = L.pos;
        while (start + 1 < L.n && !(L.s[start] == '{' && (L.s[start + 1] == '{' ||
                                    L.s[start + 1] == '%' || L.s[start + 1] == '#')))
            start++;
        if (start + 1 >= L.n) { /* only data left */
            HXQ_TRY(emit(&L, JT_DATA, L.line, L.s + L.pos, L.n - L.pos, NULL));
            adv(&L, L.n);
            break;
        }
        char kind = L.s[start + 1];
        size_t after = start + 2;
        char sign = after < L.n && (L.s[after] == '-' || L.s[after] == '+') ? L.s[after] : 0;
        char rsign;
        size_t raw = kind == '%' ? raw_begin(&L, start, &rsign) : 0;
        HXQ_TRY(emit_data_before(&L, L.pos, start, sign, kind == '{'));
        adv(&L, start);
        int line = L.line;
        if (raw) {
            L.line_starting = L.s[raw - 1] == '\n';
            adv(&L, raw);
            HXQ_TRY(lex_raw(&L, line));
            continue;
        }
        adv(&L, after + (sign ? 1 : 0));
        L.line_starting = 0;
        if (kind == '#') {
            HXQ_TRY(lex_comment(&L, line));
            continue;
        }
        HXQ_TRY(emit(&L, kind == '{' ? JT_VAR_BEGIN : JT_BLOCK_BEGIN, line, NULL, 0, NULL));
        HXQ_TRY(lex_tag(&L, kind == '%'));
    }
    HXQ_TRY(emit(&L, JT_EOF, L.line, NULL, 0, NULL));
    *toks = L.t;
    *ntoks = L.nt;
    return HXQ_OK;
}
