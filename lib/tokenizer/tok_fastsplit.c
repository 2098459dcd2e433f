/* tok_fastsplit.c - the matches of the well-known pre-tokenizer regexes on
 * ASCII text without the regex engine, exactly as the engine finds them.
 *
 *   GPT-2     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   Llama-3   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *             | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   Qwen2/3   the same with \p{N} for \p{N}{1,3}
 *
 * Every character is a letter, a number, White_Space or none of these, and
 * one alternative matches each kind, so matches follow each other without
 * gaps. At a position the first alternative that matches wins (leftmost
 * first, not longest), with these outcomes for the greedy parts:
 *   ' '?X+   a space then a run of X, else a run of X from here (a space is
 *            never X, so giving the space back cannot help);
 *   [^\r\n L N]?L+   that character then letters, else letters from here;
 *   \s*[\r\n]+   the whitespace run up to its last \r or \n;
 *   \s+(?!\S)    the whitespace run, less its last character when a
 *                non-space follows (nothing if that leaves it empty).
 * The ASCII classes are exact (L = [A-Za-z], N = [0-9], \s = [\t-\r ]); as
 * soon as a non-ASCII character could change the outcome (a run that might
 * go on, ſ after an apostrophe under (?i)) the caller asks the regex. */
#include "tok_int.h"

#include <string.h>

static const char gpt2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char llama3[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char qwen[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

int tok_fast_kind(const char *pat, size_t len)
{
    static const struct { const char *p; size_t n; int kind; } known[] = {
        {gpt2, sizeof(gpt2) - 1, TOK_FAST_GPT2}, {llama3, sizeof(llama3) - 1, TOK_FAST_LLAMA3},
        {qwen, sizeof(qwen) - 1, TOK_FAST_QWEN}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (len == known[i].n && !memcmp(pat, known[i].p, len))
            return known[i].kind;
    return TOK_FAST_NONE;
}

enum { C_L = 1, C_N = 2, C_S = 4, C_X = 8, C_HI = 16 };

static int cls(uint8_t c)
{
    if (c >= 0x80)
        return C_HI;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return C_L;
    if (c >= '0' && c <= '9')
        return C_N;
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        return C_S;
    return C_X;
}

/* The end of the run of class k from i, or 0 when a non-ASCII character
 * follows it (it might belong to the run). */
static size_t run(const uint8_t *s, size_t n, size_t i, int k)
{
    while (i < n && cls(s[i]) == k)
        i++;
    return i < n && s[i] >= 0x80 ? 0 : i;
}

/* A contraction after the apostrophe at p: its length, 0 for none, or
 * SIZE_MAX when a non-ASCII character decides (ſ folds to s). */
static size_t contraction(const uint8_t *s, size_t n, size_t p, int fold)
{
    if (p + 1 >= n)
        return 0;
    uint8_t a = s[p + 1], b = p + 2 < n ? s[p + 2] : 0;
    if (fold && a >= 0x80)
        return SIZE_MAX;
    if (fold && cls(a) == C_L) {
        a |= 0x20;
        b = cls(b) == C_L ? (uint8_t)(b | 0x20) : b;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (((a == 'r' || a == 'v') && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* \s+(?!\S) then \s+ over the whitespace run [p, q). */
static size_t spaces_tail(size_t n, size_t p, size_t q)
{
    if (q == n || q - p < 2)
        return q - p;
    return q - 1 - p;
}

static size_t gpt2_at(const uint8_t *s, size_t n, size_t p)
{
    int c = cls(s[p]);
    if (c == C_HI)
        return 0;
    if (s[p] == '\'') {
        size_t k = contraction(s, n, p, 0);
        if (k)
            return k;
    }
    size_t q = s[p] == ' ' ? p + 1 : p;
    if (q < n && (cls(s[q]) & (C_L | C_N | C_X))) { /* ' ?\p{L}+' ' ?\p{N}+' ' ?[^\s L N]+' */
        size_t e = run(s, n, q, cls(s[q]));
        return e ? e - p : 0;
    }
    if (q < n && s[q] >= 0x80)
        return 0;
    size_t e = run(s, n, p, C_S); /* here s[p] is white space */
    return e ? spaces_tail(n, p, e) : 0;
}

static size_t llama3_at(const uint8_t *s, size_t n, size_t p, int max_digits)
{
    int c = cls(s[p]);
    if (c == C_HI)
        return 0;
    if (s[p] == '\'') {
        size_t k = contraction(s, n, p, 1);
        if (k == SIZE_MAX)
            return 0;
        if (k)
            return k;
    }
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c == C_L) {
        size_t e = run(s, n, p, C_L);
        return e ? e - p : 0;
    }
    if (c != C_N && s[p] != '\r' && s[p] != '\n' && p + 1 < n) {
        if (s[p + 1] >= 0x80)
            return 0;
        if (cls(s[p + 1]) == C_L) {
            size_t e = run(s, n, p + 1, C_L);
            return e ? e - p : 0;
        }
    }
    if (c == C_N) { /* \p{N}{1,3} or \p{N} */
        size_t e = p + 1;
        while (e < n && (int)(e - p) < max_digits && cls(s[e]) == C_N)
            e++;
        if ((int)(e - p) < max_digits && e < n && s[e] >= 0x80)
            return 0;
        return e - p;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t q = s[p] == ' ' ? p + 1 : p;
    if (q < n && s[q] >= 0x80)
        return 0;
    if (q < n && cls(s[q]) == C_X) {
        size_t e = run(s, n, q, C_X);
        if (!e)
            return 0;
        while (e < n && (s[e] == '\r' || s[e] == '\n'))
            e++;
        return e - p;
    }
    /* the white-space alternatives; s[p] is white space */
    size_t e = run(s, n, p, C_S);
    if (!e)
        return 0;
    for (size_t k = e; k > p; k--) /* \s*[\r\n]+ */
        if (s[k - 1] == '\r' || s[k - 1] == '\n')
            return k - p;
    return spaces_tail(n, p, e);
}

size_t tok_fast_match(int kind, const char *text, size_t n, size_t p)
{
    const uint8_t *s = (const uint8_t *)text;
    switch (kind) {
    case TOK_FAST_GPT2: return gpt2_at(s, n, p);
    case TOK_FAST_LLAMA3: return llama3_at(s, n, p, 3);
    case TOK_FAST_QWEN: return llama3_at(s, n, p, 1);
    default: return 0;
    }
}
