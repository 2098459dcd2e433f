/* mc_text.c - the Python string operations lm-evaluation-harness applies
 * to multiple-choice rows (str.rstrip, len, str.capitalize, HellaSwag's
 * preprocess), on UTF-8 that was validated when the row was read. */
#include "mc_int.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Python str.isspace() of one code point (Unicode White_Space minus
 * U+180E, plus the separators U+001C..U+001F). */
static int py_isspace(int32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

/* The code point at s[i..n) and its byte length (1 for a byte that does
 * not start a valid sequence, which validated text never has). */
static int32_t next_cp(const char *s, size_t i, size_t n, size_t *len)
{
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                          (utf8proc_ssize_t)(n - i), &c);
    *len = k > 0 ? (size_t)k : 1;
    return k > 0 ? c : -1;
}

size_t mc_rstrip_len(const char *s, size_t n)
{
    size_t keep = 0;
    for (size_t i = 0, k; i < n; i += k)
        if (!py_isspace(next_cp(s, i, n, &k)))
            keep = i + k;
    return keep;
}

int64_t mc_py_len(const char *s)
{
    int64_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

char *mc_py_capitalize(const char *s)
{
    size_t n = strlen(s);
    /* a simple case mapping lengthens a code point by one byte at most
     * (2 -> 3 bytes, e.g. U+023A -> U+2C65) and never an ASCII one */
    char *out = malloc(2 * n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0, k; i < n; i += k) {
        int32_t c = next_cp(s, i, n, &k);
        if (c < 0) {
            memcpy(out + o, s + i, k);
            o += k;
            continue;
        }
        c = i == 0 ? utf8proc_totitle(c) : utf8proc_tolower(c);
        o += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)out + o);
    }
    out[o] = '\0';
    return out;
}

/* Python s.strip(): [*begin, *end) of s[0..n). */
static void py_strip(const char *s, size_t n, size_t *begin, size_t *end)
{
    size_t b = 0, k;
    while (b < n && py_isspace(next_cp(s, b, n, &k)))
        b += k;
    *begin = b;
    *end = b + mc_rstrip_len(s + b, n - b);
}

/* Python str.replace(old, new) into out (room for the result, which is
 * never longer when strlen(new) <= strlen(old)); returns its length. */
static size_t replace_all(const char *s, size_t n, const char *old, const char *new_,
                          char *out)
{
    size_t lo = strlen(old), ln = strlen(new_), o = 0;
    for (size_t i = 0; i < n;) {
        if (i + lo <= n && !memcmp(s + i, old, lo)) {
            memcpy(out + o, new_, ln);
            o += ln;
            i += lo;
        } else {
            out[o++] = s[i++];
        }
    }
    return o;
}

/* re.sub(r"\[.*?\]", "", s): at each '[' the shortest span to a ']' that
 * crosses no newline ('.' does not match one) is removed; a '[' without
 * one stays and the scan goes on after it. ASCII bytes never occur inside
 * a multi-byte UTF-8 sequence, so bytes stand for code points here. */
static size_t remove_brackets(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '[') {
            size_t j = i + 1;
            while (j < n && s[j] != ']' && s[j] != '\n')
                j++;
            if (j < n && s[j] == ']') {
                i = j + 1;
                continue;
            }
        }
        out[o++] = s[i++];
    }
    return o;
}

char *mc_hellaswag_preprocess(const char *s)
{
    size_t b, e;
    py_strip(s, strlen(s), &b, &e);
    size_t n = e - b;
    char *a = malloc(n + 1), *c = malloc(n + 1);
    if (!a || !c) {
        free(a);
        free(c);
        return NULL;
    }
    n = replace_all(s + b, n, " [title]", ". ", a);
    n = remove_brackets(a, n, c);
    n = replace_all(c, n, "  ", " ", a);
    a[n] = '\0';
    free(c);
    return a;
}
