/* jinja_str.c - Python's str methods on UTF-8 strings for the template
 * interpreter: whitespace (str.isspace), strip, split, replace, case
 * changes, splitlines, find/count, repr. Indices are code points, as in
 * Python. Case mappings are Python's: utf8proc's one-to-one mappings, the
 * one-to-many ones of jinja_case.h (sharp s upper-cases to "SS") and the
 * final sigma rule of str.lower(). */
#include "jinja_int.h"
#include "jinja_case.h"

#include <string.h>
#include <utf8proc.h>

uint32_t jinja_utf8_next(const char *s, size_t n, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = n - *i;
    uint32_t c = p[0];
    size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (c < 0x80 || k > left) {
        *i += 1;
        return c;
    }
    uint32_t cp = c & (0x3f >> (k - 1));
    for (size_t j = 1; j < k; j++)
        cp = cp << 6 | (p[j] & 0x3f);
    *i += k;
    return cp;
}

size_t jinja_utf8_put(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

int jinja_py_isspace(uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1c && cp <= 0x1f);
    return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

int64_t jinja_cp_count(const char *s, size_t n)
{
    int64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k;
}

size_t jinja_cp_offset(const char *s, size_t n, int64_t idx)
{
    size_t i = 0;
    for (int64_t k = 0; k < idx && i < n; k++)
        jinja_utf8_next(s, n, &i);
    return i;
}

/* Start of the code point that ends at e. */
static size_t prev_start(const char *s, size_t b, size_t e)
{
    size_t k = e - 1;
    while (k > b && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    return k;
}

static int in_chars(uint32_t cp, jv chars)
{
    if (chars.t != JV_STR)
        return jinja_py_isspace(cp);
    for (size_t i = 0; i < chars.n;)
        if (jinja_utf8_next(chars.u.s, chars.n, &i) == cp)
            return 1;
    return 0;
}

int jinja_str_strip(jinja *J, jv s, jv chars, int which, jv *out)
{
    if (chars.t != JV_STR && chars.t != JV_NONE && chars.t != JV_MISSING)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "strip arg must be None or str");
    HXQ_TRY(jinja_step(J, s.n * (chars.t == JV_STR ? chars.n + 1 : 1)));
    size_t b = 0, e = s.n;
    if (which & 1) {
        while (b < e) {
            size_t i = b;
            if (!in_chars(jinja_utf8_next(s.u.s, e, &i), chars))
                break;
            b = i;
        }
    }
    if (which & 2) {
        while (e > b) {
            size_t k = prev_start(s.u.s, b, e), i = k;
            if (!in_chars(jinja_utf8_next(s.u.s, e, &i), chars))
                break;
            e = k;
        }
    }
    *out = jv_str(s.u.s + b, e - b);
    return HXQ_OK;
}

/* Length of the whitespace character at i (0 if none). */
static size_t space_at(const char *s, size_t n, size_t i)
{
    size_t j = i;
    return jinja_py_isspace(jinja_utf8_next(s, n, &j)) ? j - i : 0;
}

static size_t space_before(const char *s, size_t b, size_t e)
{
    size_t k = prev_start(s, b, e);
    return space_at(s, e, k) == e - k ? e - k : 0;
}

static int find_bytes(const char *h, size_t hn, const char *nd, size_t nn, size_t from, size_t *at)
{
    if (nn > hn)
        return 0;
    for (size_t i = from; i + nn <= hn; i++)
        if (h[i] == nd[0] && !memcmp(h + i, nd, nn)) {
            *at = i;
            return 1;
        }
    return 0;
}

static int rfind_bytes(const char *h, size_t hn, const char *nd, size_t nn, size_t end, size_t *at)
{
    if (nn > end)
        return 0;
    for (size_t i = end - nn + 1; i-- > 0;)
        if (h[i] == nd[0] && !memcmp(h + i, nd, nn)) {
            *at = i;
            return 1;
        }
    return 0;
}

static int push_str(jinja *J, jlist *l, const char *s, size_t n)
{
    return jlist_push(J, l, jv_str(s, n));
}

int jinja_str_split(jinja *J, jv s, jv sep, jv maxsplit, int from_right, jv *out)
{
    int64_t max = -1;
    if (maxsplit.t == JV_INT || maxsplit.t == JV_BOOL)
        max = maxsplit.u.i;
    else if (maxsplit.t != JV_MISSING)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "maxsplit must be an integer");
    if (sep.t != JV_STR && sep.t != JV_NONE && sep.t != JV_MISSING)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "must be str or None, not %s",
                          jv_type_name(sep));
    if (sep.t == JV_STR && sep.n == 0)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "empty separator");
    HXQ_TRY(jinja_step(J, s.n));
    jlist *l = jlist_new(J, 0, JL_LIST);
    if (!l)
        return jinja_oom(J);
    const char *p = s.u.s;
    if (sep.t == JV_STR) {
        if (!from_right) {
            size_t b = 0, at;
            while (max-- != 0 && find_bytes(p, s.n, sep.u.s, sep.n, b, &at)) {
                HXQ_TRY(push_str(J, l, p + b, at - b));
                b = at + sep.n;
            }
            HXQ_TRY(push_str(J, l, p + b, s.n - b));
        } else {
            size_t e = s.n, at;
            while (max-- != 0 && rfind_bytes(p, s.n, sep.u.s, sep.n, e, &at)) {
                HXQ_TRY(push_str(J, l, p + at + sep.n, e - at - sep.n));
                e = at;
            }
            HXQ_TRY(push_str(J, l, p, e));
        }
    } else if (!from_right) { /* runs of whitespace, ends ignored */
        size_t i = 0, k;
        for (;;) {
            while (i < s.n && (k = space_at(p, s.n, i)))
                i += k;
            if (i >= s.n)
                break;
            if (max-- == 0) {
                size_t e = s.n;
                HXQ_TRY(push_str(J, l, p + i, e - i));
                break;
            }
            size_t b = i;
            while (i < s.n && !space_at(p, s.n, i))
                jinja_utf8_next(p, s.n, &i);
            HXQ_TRY(push_str(J, l, p + b, i - b));
        }
    } else {
        size_t e = s.n, k;
        for (;;) {
            while (e > 0 && (k = space_before(p, 0, e)))
                e -= k;
            if (e == 0)
                break;
            if (max-- == 0) {
                HXQ_TRY(push_str(J, l, p, e));
                break;
            }
            size_t b = e;
            while (b > 0 && !space_before(p, 0, b))
                b = prev_start(p, 0, b);
            HXQ_TRY(push_str(J, l, p + b, e - b));
            e = b;
        }
    }
    if (from_right) /* collected right to left */
        for (size_t i = 0; i < l->n / 2; i++) {
            jv t = l->v[i];
            l->v[i] = l->v[l->n - 1 - i];
            l->v[l->n - 1 - i] = t;
        }
    *out = jv_list(l);
    return HXQ_OK;
}

int jinja_str_replace(jinja *J, jv s, jv old, jv new_, int64_t count, jv *out)
{
    HXQ_TRY(jinja_step(J, s.n));
    jbuf b = {0};
    if (old.n == 0) { /* Python inserts new around every character */
        size_t i = 0;
        while (count != 0) {
            HXQ_TRY(jbuf_put(J, &b, new_.u.s, new_.n));
            HXQ_TRY(jinja_step(J, new_.n));
            count--;
            if (i >= s.n)
                break;
            size_t st = i;
            jinja_utf8_next(s.u.s, s.n, &i);
            HXQ_TRY(jbuf_put(J, &b, s.u.s + st, i - st));
        }
        HXQ_TRY(jbuf_put(J, &b, s.u.s + i, s.n - i));
        *out = jbuf_str(&b);
        return HXQ_OK;
    }
    size_t from = 0, at;
    while (count != 0 && find_bytes(s.u.s, s.n, old.u.s, old.n, from, &at)) {
        HXQ_TRY(jbuf_put(J, &b, s.u.s + from, at - from));
        HXQ_TRY(jbuf_put(J, &b, new_.u.s, new_.n));
        HXQ_TRY(jinja_step(J, new_.n));
        from = at + old.n;
        count--;
    }
    if (from == 0) {
        *out = s;
        return HXQ_OK;
    }
    HXQ_TRY(jbuf_put(J, &b, s.u.s + from, s.n - from));
    *out = jbuf_str(&b);
    return HXQ_OK;
}

static int is_cased(uint32_t cp)
{
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

/* Python's case-ignorable characters (marks, format and modifier
 * characters, and the apostrophes / dots Unicode lists as MidLetter). */
static int case_ignorable(uint32_t cp)
{
    static const uint32_t mid[] = {0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x5F4, 0x2018, 0x2019, 0x2024,
                                   0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    if (c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
        c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK)
        return 1;
    for (size_t i = 0; i < sizeof(mid) / sizeof(mid[0]); i++)
        if (mid[i] == cp)
            return 1;
    return 0;
}

/* str.lower() of U+03A3 at byte i of s: final sigma after a cased letter
 * that no cased letter follows (case-ignorable characters skipped). */
static uint32_t lower_sigma(const char *s, size_t n, size_t i, size_t next)
{
    int final = 0;
    for (size_t j = i; j > 0;) {
        j = prev_start(s, 0, j);
        size_t k = j;
        uint32_t c = jinja_utf8_next(s, n, &k);
        if (!case_ignorable(c)) {
            final = is_cased(c);
            break;
        }
    }
    for (size_t j = next; final && j < n;) {
        uint32_t c = jinja_utf8_next(s, n, &j);
        if (!case_ignorable(c)) {
            final = !is_cased(c);
            break;
        }
    }
    return final ? 0x3C2 : 0x3C3;
}

static const jinja_case_row *special_case(const jinja_case_row *t, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid].cp == cp)
            return &t[mid];
        if (t[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

#define ROWS(t) t, sizeof(t) / sizeof(t[0])

/* Maps the code points of s[from, to) (s[0, n) is the context for the
 * final sigma): how 0 lower, 1 upper, 2 title. */
static int map_case(jinja *J, jbuf *b, const char *s, size_t n, size_t from, size_t to, int how)
{
    for (size_t i = from; i < to;) {
        size_t st = i;
        uint32_t cp = jinja_utf8_next(s, n, &i);
        const jinja_case_row *r = how == 1 ? special_case(ROWS(jinja_case_upper), cp)
                                  : how == 2 ? special_case(ROWS(jinja_case_title), cp)
                                             : special_case(ROWS(jinja_case_lower), cp);
        char tmp[12];
        size_t k = 0;
        if (r) {
            for (int j = 0; j < 3 && r->to[j]; j++)
                k += jinja_utf8_put(r->to[j], tmp + k);
        } else {
            uint32_t m = how == 1 ? (uint32_t)utf8proc_toupper((utf8proc_int32_t)cp)
                         : how == 2 ? (uint32_t)utf8proc_totitle((utf8proc_int32_t)cp)
                         : cp == 0x3A3 ? lower_sigma(s, n, st, i)
                                       : (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
            k = jinja_utf8_put(m, tmp);
        }
        HXQ_TRY(jbuf_put(J, b, tmp, k));
    }
    return HXQ_OK;
}

int jinja_str_case(jinja *J, jv s, int upper, jv *out)
{
    HXQ_TRY(jinja_step(J, s.n));
    jbuf b = {0};
    HXQ_TRY(map_case(J, &b, s.u.s, s.n, 0, s.n, upper ? 1 : 0));
    *out = jbuf_str(&b);
    return HXQ_OK;
}

int jinja_str_capitalize(jinja *J, jv s, jv *out)
{
    HXQ_TRY(jinja_step(J, s.n));
    jbuf b = {0};
    size_t i = 0;
    if (s.n) {
        jinja_utf8_next(s.u.s, s.n, &i);
        HXQ_TRY(map_case(J, &b, s.u.s, s.n, 0, i, 2));
    }
    HXQ_TRY(map_case(J, &b, s.u.s, s.n, i, s.n, 0));
    *out = jbuf_str(&b);
    return HXQ_OK;
}

/* method: Python's str.title() (a cased character after a cased one is
 * lower-cased, any other gets its title case); otherwise jinja2's title
 * filter (each chunk between runs of [-\s({\[<] gets its first character
 * upper-cased and the rest lower-cased). */
int jinja_str_title(jinja *J, jv s, int method, jv *out)
{
    HXQ_TRY(jinja_step(J, s.n));
    jbuf b = {0};
    int start = 1;
    for (size_t i = 0; i < s.n;) {
        size_t st = i;
        uint32_t cp = jinja_utf8_next(s.u.s, s.n, &i);
        if (method) {
            HXQ_TRY(map_case(J, &b, s.u.s, s.n, st, i, start ? 2 : 0));
            start = !is_cased(cp);
            continue;
        }
        int sep = jinja_py_isspace(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' ||
                  cp == '<';
        HXQ_TRY(map_case(J, &b, s.u.s, s.n, st, i, sep ? 0 : start ? 1 : 0));
        start = sep;
    }
    *out = jbuf_str(&b);
    return HXQ_OK;
}

int jinja_str_splitlines(jinja *J, jv s, jlist **out)
{
    HXQ_TRY(jinja_step(J, s.n));
    jlist *l = jlist_new(J, 0, JL_LIST);
    if (!l)
        return jinja_oom(J);
    size_t b = 0, i = 0;
    while (i < s.n) {
        size_t st = i;
        uint32_t cp = jinja_utf8_next(s.u.s, s.n, &i);
        if (cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c || (cp >= 0x1c && cp <= 0x1e) ||
            cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
            HXQ_TRY(push_str(J, l, s.u.s + b, st - b));
            if (cp == '\r' && i < s.n && s.u.s[i] == '\n')
                i++;
            b = i;
        }
    }
    if (b < s.n)
        HXQ_TRY(push_str(J, l, s.u.s + b, s.n - b));
    *out = l;
    return HXQ_OK;
}

int64_t jinja_str_find(jv s, jv sub, int from_right)
{
    size_t at;
    int found = from_right ? rfind_bytes(s.u.s, s.n, sub.u.s ? sub.u.s : "", sub.n, s.n, &at)
                           : find_bytes(s.u.s, s.n, sub.u.s ? sub.u.s : "", sub.n, 0, &at);
    if (sub.n == 0) {
        found = 1;
        at = from_right ? s.n : 0;
    }
    return found ? jinja_cp_count(s.u.s, at) : -1;
}

int64_t jinja_str_count(jv s, jv sub)
{
    if (sub.n == 0)
        return jinja_cp_count(s.u.s, s.n) + 1;
    int64_t k = 0;
    size_t from = 0, at;
    while (find_bytes(s.u.s, s.n, sub.u.s, sub.n, from, &at)) {
        k++;
        from = at + sub.n;
    }
    return k;
}

int jinja_str_is(jv s, const char *kind)
{
    int any_cased = 0;
    if (s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n;) {
        uint32_t cp = jinja_utf8_next(s.u.s, s.n, &i);
        utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
        int alpha = c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
        int digit = c == UTF8PROC_CATEGORY_ND;
        int num = digit || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
        if (!strcmp(kind, "lower") || !strcmp(kind, "upper")) {
            int want_upper = kind[0] == 'u';
            if (c == UTF8PROC_CATEGORY_LT || (want_upper ? c == UTF8PROC_CATEGORY_LL
                                                         : c == UTF8PROC_CATEGORY_LU))
                return 0;
            any_cased |= want_upper ? c == UTF8PROC_CATEGORY_LU : c == UTF8PROC_CATEGORY_LL;
            continue;
        }
        if ((!strcmp(kind, "digit") && !digit) || (!strcmp(kind, "alpha") && !alpha) ||
            (!strcmp(kind, "alnum") && !alpha && !num) ||
            (!strcmp(kind, "space") && !jinja_py_isspace(cp)))
            return 0;
    }
    return (!strcmp(kind, "lower") || !strcmp(kind, "upper")) ? any_cased : 1;
}

/* Python's str.isprintable() for one code point. */
static int printable(uint32_t cp)
{
    if (cp == ' ')
        return 1;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return !(c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CS ||
             c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CN || c == UTF8PROC_CATEGORY_ZL ||
             c == UTF8PROC_CATEGORY_ZP || c == UTF8PROC_CATEGORY_ZS);
}

int jinja_str_repr(jinja *J, jbuf *b, const char *s, size_t n)
{
    char q = '\'';
    if (memchr(s, '\'', n) && !memchr(s, '"', n))
        q = '"';
    HXQ_TRY(jbuf_putc(J, b, q));
    for (size_t i = 0; i < n;) {
        size_t st = i;
        uint32_t cp = jinja_utf8_next(s, n, &i);
        if (cp == (uint32_t)q || cp == '\\') {
            HXQ_TRY(jbuf_putc(J, b, '\\'));
            HXQ_TRY(jbuf_putc(J, b, (char)cp));
        } else if (cp == '\t' || cp == '\n' || cp == '\r') {
            HXQ_TRY(jbuf_put(J, b, cp == '\t' ? "\\t" : cp == '\n' ? "\\n" : "\\r", 2));
        } else if (cp < 0x20 || cp == 0x7f) {
            HXQ_TRY(jbuf_printf(J, b, "\\x%02x", cp));
        } else if (cp < 0x7f || printable(cp)) {
            HXQ_TRY(jbuf_put(J, b, s + st, i - st));
        } else if (cp <= 0xff) {
            HXQ_TRY(jbuf_printf(J, b, "\\x%02x", cp));
        } else if (cp <= 0xffff) {
            HXQ_TRY(jbuf_printf(J, b, "\\u%04x", cp));
        } else {
            HXQ_TRY(jbuf_printf(J, b, "\\U%08x", cp));
        }
    }
    return jbuf_putc(J, b, q);
}
