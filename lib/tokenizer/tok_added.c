/* tok_added.c - finding added tokens in text, leftmost-longest, as HF's
 * AddedVocabulary does with Aho-Corasick (MatchKind::LeftmostLongest),
 * then the single_word / lstrip / rstrip rules applied to each match.
 *
 * Candidates are grouped by their first two bytes (tokens of one byte by
 * their only byte), each group sorted by decreasing length, so scanning a
 * position costs one table look-up when nothing can match there. */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define KEY2(a, b) ((uint32_t)(uint8_t)(a) << 8 | (uint8_t)(b))

static int cmp_cand(const void *pa, const void *pb)
{
    const tok_added *a = *(const tok_added *const *)pa, *b = *(const tok_added *const *)pb;
    uint32_t ka = a->len >= 2 ? KEY2(a->content[0], a->content[1]) : 0;
    uint32_t kb = b->len >= 2 ? KEY2(b->content[0], b->content[1]) : 0;
    if (ka != kb)
        return ka < kb ? -1 : 1;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id; /* deterministic */
}

int tok_matcher_build(tok_matcher *m, const tok_added *added, int32_t n, int normalized)
{
    memset(m, 0, sizeof(*m));
    int32_t count = 0;
    for (int32_t i = 0; i < n; i++)
        if (added[i].len > 0 && !added[i].normalized == !normalized)
            count++;
    if (!count)
        return 0;
    m->cand = hxq_alloc_array(count, sizeof(*m->cand));
    m->start2 = calloc(65537, sizeof(*m->start2));
    if (!m->cand || !m->start2) {
        tok_matcher_free(m);
        return -1;
    }
    const tok_added **multi = m->cand;
    int32_t nm = 0;
    for (int32_t i = 0; i < n; i++) {
        const tok_added *a = &added[i];
        if (a->len == 0 || !a->normalized != !normalized)
            continue;
        m->first[(uint8_t)a->content[0]] = 1;
        if (a->len == 1) {
            if (!m->single[(uint8_t)a->content[0]])
                m->single[(uint8_t)a->content[0]] = a;
        } else {
            multi[nm++] = a;
        }
    }
    qsort(multi, (size_t)nm, sizeof(*multi), cmp_cand);
    m->n_multi = nm;
    /* start2[k] = first candidate with key >= k (counting sort offsets) */
    int32_t j = 0;
    for (uint32_t k = 0; k <= 65536; k++) {
        while (j < nm && KEY2(multi[j]->content[0], multi[j]->content[1]) < k)
            j++;
        m->start2[k] = j;
    }
    m->any = 1;
    m->one_first = -1;
    for (int b = 0, nfirst = 0; b < 256; b++)
        if (m->first[b])
            m->one_first = nfirst++ ? -1 : b;
    return 0;
}

void tok_matcher_free(tok_matcher *m)
{
    free(m->cand);
    free(m->start2);
    memset(m, 0, sizeof(*m));
}

/* The longest candidate matching at s[pos], or NULL. */
static const tok_added *match_at(const tok_matcher *m, const char *s, size_t len, size_t pos)
{
    if (pos + 1 < len) {
        uint32_t k = KEY2(s[pos], s[pos + 1]);
        for (int32_t i = m->start2[k]; i < m->start2[k + 1]; i++) {
            const tok_added *a = m->cand[i];
            if (a->len <= len - pos && !memcmp(s + pos + 2, a->content + 2, a->len - 2))
                return a;
        }
    }
    return m->single[(uint8_t)s[pos]];
}

/* Decodes the code point ending at s[end) (end > 0), or -1. */
static int32_t cp_before(const char *s, size_t end)
{
    size_t b = end - 1;
    while (b > 0 && end - b < 4 && ((uint8_t)s[b] & 0xC0) == 0x80)
        b--;
    utf8proc_int32_t cp = -1;
    utf8proc_iterate((const utf8proc_uint8_t *)s + b, (utf8proc_ssize_t)(end - b), &cp);
    return cp;
}

static int32_t cp_at(const char *s, size_t len, size_t pos, size_t *clen)
{
    utf8proc_int32_t cp = -1;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + pos,
                                          (utf8proc_ssize_t)(len - pos), &cp);
    *clen = n > 0 ? (size_t)n : 1;
    return cp;
}

/* Rust regex's Unicode \w, which HF uses for single_word: Alphabetic (letters,
 * Nl, Other_Alphabetic), marks, decimal digits, connector punctuation and
 * the joiners. Other_Alphabetic outside the marks is spelled out (circled
 * and squared Latin letters). */
static int is_word_cp(int32_t cp)
{
    if (cp < 0)
        return 0;
    if (cp == 0x200C || cp == 0x200D || (cp >= 0x24B6 && cp <= 0x24E9) ||
        (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
        (cp >= 0x1F170 && cp <= 0x1F189))
        return 1;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_PC:
        return 1;
    default:
        return 0;
    }
}

/* Unicode White_Space (Rust char::is_whitespace). */
static int is_space_cp(int32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int tok_matcher_find(const tok_matcher *m, const char *s, size_t len, size_t from,
                     size_t *mstart, size_t *mend, const tok_added **tok)
{
    if (!m->any)
        return 0;
    size_t pos = from;
    while (pos < len) {
        if (m->one_first >= 0) { /* e.g. every special token starts with '<' */
            const char *hit = memchr(s + pos, m->one_first, len - pos);
            if (!hit)
                return 0;
            pos = (size_t)(hit - s);
        }
        if (!m->first[(uint8_t)s[pos]]) {
            pos++;
            continue;
        }
        const tok_added *a = match_at(m, s, len, pos);
        if (!a) {
            pos++;
            continue;
        }
        size_t start = pos, stop = pos + a->len;
        if (a->single_word) {
            int ok = (start == 0 || !is_word_cp(cp_before(s, start)));
            size_t cl;
            ok = ok && (stop == len || !is_word_cp(cp_at(s, len, stop, &cl)));
            if (!ok) {
                pos = stop; /* the automaton moves past a rejected match */
                continue;
            }
        }
        if (a->lstrip)
            while (start > from && is_space_cp(cp_before(s, start))) {
                size_t b = start - 1;
                while (b > from && ((uint8_t)s[b] & 0xC0) == 0x80)
                    b--;
                start = b;
            }
        if (a->rstrip) {
            size_t cl;
            while (stop < len && is_space_cp(cp_at(s, len, stop, &cl)))
                stop += cl;
        }
        *mstart = start;
        *mend = stop;
        *tok = a;
        return 1;
    }
    return 0;
}
