/* tok_pretok.c - the ByteLevel pre-tokenizer: splits a text piece with the
 * GPT-2 regex (PCRE2, UTF, JIT) and hands each word to BPE.
 *
 * HF writes the regex as
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * and runs it with Oniguruma, whose Unicode \s is exactly the White_Space
 * property. PCRE2's \s differs (it includes U+180E), so \s is spelled out
 * as that set here. Backtracking in \s+(?!\S) is the same in both engines:
 * a whitespace run followed by a non-space gives back its last character. */
#include "tok_int.h"

#include <string.h>

#define WS "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}" \
           "\\x{202F}\\x{205F}\\x{3000}"

static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+"
    "|[" WS "]+(?![^" WS "])|[" WS "]+";

int tok_regex_compile(hxq_tokenizer *tok, hxq_error *err)
{
    int ec;
    PCRE2_SIZE eo;
    tok->re = pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
    if (!tok->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "cannot compile the pre-tokenizer regex: %s",
                       (const char *)msg);
    }
    /* JIT is an optimisation: without it (unsupported CPU) matching still
     * works through the interpreter. */
    pcre2_jit_compile(tok->re, PCRE2_JIT_COMPLETE);
    return HXQ_OK;
}

/* BPE over one word, the piece of text between regex matches included. */
static int word(const hxq_tokenizer *tok, const char *s, size_t n, tok_pretok_ctx *c)
{
    if (!n)
        return 0;
    const uint8_t *w = (const uint8_t *)s;
    uint32_t k;
    const int32_t *hit = tok_cache_get(&c->cache, w, n, &k);
    if (hit) {
        for (uint32_t i = 0; i < k; i++)
            if (tok_ids_push(c->out, hit[i]) < 0)
                return -1;
        return 0;
    }
    int64_t before = c->out->n;
    if (tok_bpe_word(tok, w, n, &c->bpe, c->out) < 0)
        return -1;
    tok_cache_put(&c->cache, w, n, c->out->v + before, (uint32_t)(c->out->n - before));
    return 0;
}

int tok_pretok_run(const hxq_tokenizer *tok, const char *s, size_t len, tok_pretok_ctx *c,
                   hxq_error *err)
{
    if (!len)
        return HXQ_OK;
    if (tok->add_prefix_space && s[0] != ' ') {
        if (len == SIZE_MAX || tok_buf_reserve(&c->prefixed, &c->prefixed_cap, len + 1) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        c->prefixed[0] = ' ';
        memcpy(c->prefixed + 1, s, len);
        s = c->prefixed;
        len++;
    }
    if (!tok->use_regex)
        return word(tok, s, len, c) < 0 ? hxq_err(err, HXQ_ERR_NOMEM, "out of memory") : HXQ_OK;
    size_t pos = 0;
    while (pos < len) {
        int rc = pcre2_match(tok->re, (PCRE2_SPTR)s, len, pos, PCRE2_NO_UTF_CHECK, c->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            return hxq_err(err, HXQ_ERR_RANGE, "pre-tokenizer regex failed at byte %zu: %s", pos,
                           (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) /* impossible with this pattern; never loop forever */
            return hxq_err(err, HXQ_ERR_RANGE, "pre-tokenizer regex matched nothing at byte %zu",
                           ms);
        if (word(tok, s + pos, ms - pos, c) < 0 || word(tok, s + ms, me - ms, c) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        pos = me;
    }
    if (pos < len && word(tok, s + pos, len - pos, c) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    return HXQ_OK;
}
