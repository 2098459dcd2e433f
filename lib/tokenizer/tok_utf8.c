/* tok_utf8.c - UTF-8 validation, lossy decoding as Rust's
 * String::from_utf8_lossy does (one U+FFFD per maximal invalid subpart),
 * incomplete-tail detection for streaming, and the GPT-2 byte <-> unicode
 * table of the ByteLevel pre-tokenizer and decoder. */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- GPT-2 bytes_to_unicode ------------------------------------------
 * Printable bytes '!'..'~', 0xA1..0xAC, 0xAE..0xFF map to themselves; the
 * other 68 bytes map, in increasing order, to U+0100.. (space -> U+0120). */

uint32_t tok_byte_to_cp(uint8_t b)
{
    if (b <= 0x20)
        return 256u + b;
    if (b >= 0x7F && b <= 0xA0)
        return 256u + 33u + (uint32_t)(b - 0x7F);
    if (b == 0xAD)
        return 256u + 33u + 34u;
    return b;
}

int tok_cp_to_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp >= 256 && cp <= 256 + 32)
        return (int)(cp - 256);
    if (cp >= 256 + 33 && cp <= 256 + 33 + 33)
        return (int)(0x7F + cp - 256 - 33);
    if (cp == 256 + 33 + 34)
        return 0xAD;
    return -1;
}

size_t tok_bytelevel_map(const uint8_t *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = tok_byte_to_cp(s[i]);
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else {
            out[o++] = (char)(0xC0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return o;
}

/* ---- sequence structure ------------------------------------------------ */

/* For a lead byte: the number of continuation bytes and the allowed range
 * of the first one. Returns 0 for a byte that cannot start a sequence. */
static int lead_info(uint8_t b, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
        return 1;
    if (b == 0xE0) {
        *lo = 0xA0;
        return 2;
    }
    if (b == 0xED) {
        *hi = 0x9F;
        return 2;
    }
    if (b >= 0xE1 && b <= 0xEF)
        return 2;
    if (b == 0xF0) {
        *lo = 0x90;
        return 3;
    }
    if (b >= 0xF1 && b <= 0xF3)
        return 3;
    if (b == 0xF4) {
        *hi = 0x8F;
        return 3;
    }
    return 0;
}

/* Examines the sequence at s[i]: returns its length when valid, else
 * -(length of the maximal invalid subpart) (at least 1). */
static long seq_at(const uint8_t *s, size_t len, size_t i)
{
    if (s[i] < 0x80)
        return 1;
    uint8_t lo, hi;
    int need = lead_info(s[i], &lo, &hi);
    if (!need)
        return -1;
    size_t j = i + 1;
    for (int k = 0; k < need; k++, j++) {
        if (j >= len || s[j] < (k ? 0x80 : lo) || s[j] > (k ? 0xBF : hi))
            return -(long)(j - i);
    }
    return (long)(j - i);
}

int tok_buf_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    char *p = realloc(*buf, c);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

const char *tok_memmem(const char *hay, size_t n, const char *needle, size_t m)
{
    const char *end = hay + n;
    while (m && (size_t)(end - hay) >= m) {
        const char *p = memchr(hay, needle[0], (size_t)(end - hay) - m + 1);
        if (!p)
            return NULL;
        if (!memcmp(p + 1, needle + 1, m - 1))
            return p;
        hay = p + 1;
    }
    return NULL;
}

int tok_buf_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (n > SIZE_MAX - *len || tok_buf_reserve(buf, cap, *len + n) < 0)
        return -1;
    if (n)
        memcpy(*buf + *len, s, n);
    *len += n;
    return 0;
}

int tok_utf8_lossy_append(const uint8_t *s, size_t len, char **buf, size_t *blen,
                          size_t *bcap)
{
    /* worst case: every byte becomes a 3-byte U+FFFD */
    if (len > (SIZE_MAX - *blen - 1) / 3 || tok_buf_reserve(buf, bcap, *blen + 3 * len + 1) < 0)
        return -1;
    char *o = *buf + *blen;
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && s[run] < 0x80)
            run++;
        if (run > i) {
            memcpy(o, s + i, run - i);
            o += run - i;
            i = run;
            continue;
        }
        long r = seq_at(s, len, i);
        if (r > 0) {
            memcpy(o, s + i, (size_t)r);
            o += r;
            i += (size_t)r;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += (size_t)-r;
        }
    }
    *blen = (size_t)(o - *buf);
    (*buf)[*blen] = 0;
    return 0;
}

size_t tok_utf8_incomplete_tail(const uint8_t *s, size_t len)
{
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        uint8_t b = s[len - back];
        if (b < 0x80)
            return 0;
        if (b <= 0xBF)
            continue; /* continuation byte: look further back */
        uint8_t lo, hi;
        int need = lead_info(b, &lo, &hi);
        if (!need || (size_t)need < back)
            return 0;
        /* an incomplete sequence only if every byte after the lead fits */
        long r = seq_at(s, len, len - back);
        return (r < 0 && (size_t)-r == back) ? back : 0;
    }
    return 0;
}
