/* tok_decoders.c - the decoder: a sequence of steps over the tokens' strings,
 * each as HF's decode_chain does it:
 *   ByteLevel     each token's characters back to bytes (a token with another
 *                 character stays as its UTF-8), all joined, from_utf8_lossy
 *   Replace       every match of a String or Regex pattern, per token
 *   ByteFallback  runs of <0xXX> tokens to their bytes: valid UTF-8 becomes
 *                 one token, otherwise one U+FFFD per byte
 *   Fuse          all tokens joined into one
 *   Strip         up to start / stop copies of a character off each token's
 *                 ends
 *   Metaspace     the replacement character back to a space, dropped in the
 *                 first token unless prepend_scheme is never
 * decoder null joins the tokens with spaces.
 *
 * The steps run as a stream: each token goes through every step as far as
 * it can, and a step holds back only what a later token may still change
 * (an incomplete UTF-8 sequence, a run of <0xXX> tokens, characters Strip
 * may still remove, the start of a Replace match). After Fuse or ByteLevel
 * a step sees one growing token ("fused"). hxq_tokenizer_decode() is this
 * stream fed every id, so streaming and whole decoding agree by
 * construction. */
#include "tok_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static const char fffd[] = "\xef\xbf\xbd";

/* ---- parsing ---------------------------------------------------------------- */

static int add_dec(hxq_tokenizer *tok, const cJSON *d, const char *where, int depth,
                   void *ctx, hxq_error *err)
{
    static const char *const none[] = {NULL};
    static const char *const bl_keys[] = {"add_prefix_space", "trim_offsets", "use_regex", NULL};
    static const char *const rep_keys[] = {"pattern", "content", NULL};
    static const char *const strip_keys[] = {"content", "start", "stop", NULL};
    static const char *const ms_keys[] = {"replacement", "prepend_scheme", "split",
                                          "add_prefix_space", "str_rep", NULL};
    const char *t = cJSON_IsObject(d) ? tok_json_type(d) : NULL;
    if (!t)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s must be an object with a \"type\"",
                       tok->name, where);
    if (!strcmp(t, "Sequence")) {
        return tok_json_sequence(tok, d, "decoders", where, depth, add_dec, NULL, err);
    }
    if (tok->n_dec >= TOK_MAX_STEPS)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: more than %d decoders", tok->name,
                       where, TOK_MAX_STEPS);
    tok_dec_step *st = &tok->dec[tok->n_dec++];
    memset(st, 0, sizeof(*st));
    char utf8[4];
    uint8_t ulen;
    if (!strcmp(t, "ByteLevel")) {
        st->kind = TOK_DEC_BYTELEVEL;
        return tok_json_known(d, bl_keys, tok->name, where, err);
    }
    if (!strcmp(t, "ByteFallback") || !strcmp(t, "Fuse")) {
        st->kind = t[0] == 'B' ? TOK_DEC_BYTEFALLBACK : TOK_DEC_FUSE;
        return tok_json_known(d, none, tok->name, where, err);
    }
    if (!strcmp(t, "Replace")) {
        const char *s = NULL;
        st->kind = TOK_DEC_REPLACE;
        HXQ_TRY(tok_json_known(d, rep_keys, tok->name, where, err));
        HXQ_TRY(tok_json_str(d, "content", &s, tok->name, where, err));
        if (!s)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s (Replace) has no \"content\" string",
                           tok->name, where);
        size_t n = strlen(s);
        st->str = tok_arena_dup(&tok->arena, s, n);
        st->str_len = (uint32_t)n;
        if (!st->str || n > UINT32_MAX / 4)
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
        return tok_finder_parse(tok, cJSON_GetObjectItemCaseSensitive(d, "pattern"), where,
                                &st->pat, err);
    }
    if (!strcmp(t, "Strip")) {
        st->kind = TOK_DEC_STRIP;
        HXQ_TRY(tok_json_known(d, strip_keys, tok->name, where, err));
        HXQ_TRY(tok_json_char(d, "content", &st->cp, utf8, &ulen, tok->name, where, err));
        HXQ_TRY(tok_json_count(d, "start", &st->start, tok->name, where, err));
        return tok_json_count(d, "stop", &st->stop, tok->name, where, err);
    }
    if (!strcmp(t, "Metaspace")) {
        const char *scheme = NULL;
        int aps = -1;
        st->kind = TOK_DEC_METASPACE;
        HXQ_TRY(tok_json_known(d, ms_keys, tok->name, where, err));
        HXQ_TRY(tok_json_char(d, "replacement", &st->cp, utf8, &ulen, tok->name, where, err));
        HXQ_TRY(tok_json_str(d, "prepend_scheme", &scheme, tok->name, where, err));
        HXQ_TRY(tok_json_flag(d, "add_prefix_space", &aps, tok->name, where, err));
        if (scheme && strcmp(scheme, "always") && strcmp(scheme, "first") &&
            strcmp(scheme, "never"))
            return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s.prepend_scheme '%s' is not "
                           "supported (always, first, never)", tok->name, where, scheme);
        if (aps == 0 && (!scheme || strcmp(scheme, "never")))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s: add_prefix_space false needs "
                           "prepend_scheme \"never\"", tok->name, where);
        st->never = scheme && !strcmp(scheme, "never");
        return HXQ_OK;
    }
    return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                   "%s: %s: decoder type '%s' is not supported (supported: Sequence, ByteLevel, "
                   "Replace, ByteFallback, Fuse, Strip, Metaspace, or null)", tok->name, where, t);
}

int tok_parse_decoder(hxq_tokenizer *tok, const cJSON *d, hxq_error *err)
{
    if (!d || cJSON_IsNull(d))
        return HXQ_OK;
    tok->has_decoder = 1;
    tok->dec = calloc(TOK_MAX_STEPS, sizeof(*tok->dec));
    if (!tok->dec)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    HXQ_TRY(add_dec(tok, d, "decoder", 0, NULL, err));
    int fused = 0;
    for (int i = 0; i < tok->n_dec; i++) {
        tok->dec[i].fused = (uint8_t)fused;
        fused |= tok->dec[i].kind == TOK_DEC_FUSE || tok->dec[i].kind == TOK_DEC_BYTELEVEL;
    }
    return HXQ_OK;
}

void tok_decoder_free(hxq_tokenizer *tok)
{
    for (int i = 0; i < tok->n_dec; i++)
        tok_finder_free(&tok->dec[i].pat);
    free(tok->dec);
    tok->dec = NULL;
    tok->n_dec = 0;
}

void tok_decoder_state_free(tok_dec_state *st, int n)
{
    for (int i = 0; st && i < n; i++)
        free(st[i].buf);
}

/* ---- per-token transformations ------------------------------------------------ */

/* ByteLevel of one token: its bytes when every character is a byte-level
 * one, else the token as it is. Writes at most n bytes to out. */
static size_t bytelevel_bytes(const char *s, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        int32_t cp;
        size_t k = tok_utf8_next(s + i, n - i, &cp);
        int b = tok_cp_to_byte((uint32_t)cp);
        if (b < 0) {
            memcpy(out, s, n);
            return n;
        }
        out[o++] = (char)b;
        i += k;
    }
    return o;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f'
                                                ? (c | 0x20) - 'a' + 10 : -1;
}

/* "<0xHH>" as HF's ByteFallback reads it (u8::from_str_radix: a '+' may
 * stand in front of one digit): the byte, or -1. */
static int byte_token(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
        return -1;
    int h = hexval(s[3]), l = hexval(s[4]);
    if (s[3] == '+')
        return l;
    return h < 0 || l < 0 ? -1 : h * 16 + l;
}

/* Strip's cut of one whole token: [*a, *b). */
static void strip_cut(const tok_dec_step *st, const char *s, size_t n, size_t *a, size_t *b)
{
    *a = 0;
    *b = n;
    for (int32_t k = 0; k < st->start && *a < n; k++) {
        int32_t cp;
        size_t l = tok_utf8_next(s + *a, n - *a, &cp);
        if (cp != (int32_t)st->cp)
            break;
        *a += l;
    }
    for (int32_t k = 0; k < st->stop && *b > *a; k++) {
        size_t j = *b - 1;
        while (j > *a && ((uint8_t)s[j] & 0xC0) == 0x80)
            j--;
        int32_t cp;
        tok_utf8_next(s + j, *b - j, &cp);
        if (cp != (int32_t)st->cp)
            break;
        *b = j;
    }
}

typedef struct dec_ctx {
    const hxq_tokenizer *tok;
    tok_dec_state *st;
    char **out;
    size_t *olen, *ocap;
    hxq_error *err;
} dec_ctx;

static int nomem(hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_NOMEM, "out of memory decoding");
}

/* Replace over a whole text into a fresh buffer. */
typedef struct rep_ctx {
    const tok_dec_step *st;
    const char *s;
    char *o;
    size_t n, cap;
    hxq_error *err;
} rep_ctx;

static int rep_seg(void *p, size_t a, size_t b, int m)
{
    rep_ctx *r = p;
    if (tok_buf_append(&r->o, &r->n, &r->cap, m ? r->st->str : r->s + a,
                       m ? r->st->str_len : b - a) < 0)
        return nomem(r->err);
    return HXQ_OK;
}

static int replace_all(const tok_dec_step *st, const char *s, size_t n, rep_ctx *r,
                       hxq_error *err)
{
    tok_re_scratch rs;
    memset(&rs, 0, sizeof(rs));
    r->st = st;
    r->s = s;
    r->n = 0;
    r->err = err;
    int rc = tok_find_segments(&st->pat, s, n, &rs, rep_seg, r, err);
    tok_re_scratch_free(&rs);
    return rc;
}

/* ---- the stream ------------------------------------------------------------ */

static int give(dec_ctx *d, int i, const char *s, size_t n, const tok_entry *e);
static int finish(dec_ctx *d, int i);

static int give_lossy(dec_ctx *d, int i, const char *s, size_t n)
{
    char *t = NULL;
    size_t tl = 0, tc = 0;
    if (tok_utf8_lossy_append((const uint8_t *)s, n, &t, &tl, &tc) < 0) {
        free(t);
        return nomem(d->err);
    }
    int rc = give(d, i, t, tl, NULL);
    free(t);
    return rc;
}

/* Drops the first k bytes of a step's held buffer. */
static void consume(tok_dec_state *s, size_t k)
{
    memmove(s->buf, s->buf + k, s->n - k);
    s->n -= k;
}

static int hold(dec_ctx *d, tok_dec_state *s, const char *p, size_t n)
{
    return tok_buf_append(&s->buf, &s->n, &s->cap, p, n) < 0 ? nomem(d->err) : HXQ_OK;
}

static int bytelevel_in(dec_ctx *d, int i, const char *s, size_t n, const tok_entry *e)
{
    tok_dec_state *h = &d->st[i];
    const tok_dec_step *st = &d->tok->dec[i];
    if (st->fused)
        return hold(d, h, s, n);
    if (tok_buf_reserve(&h->buf, &h->cap, h->n + n) < 0)
        return nomem(d->err);
    if (e && i == 0 && d->tok->n_dec == 1) { /* the precomputed bytes are this step's */
        memcpy(h->buf + h->n, e->bytes, e->bytes_len);
        h->n += e->bytes_len;
    } else {
        h->n += bytelevel_bytes(s, n, h->buf + h->n);
    }
    size_t keep = tok_utf8_incomplete_tail((const uint8_t *)h->buf, h->n);
    if (h->n == keep)
        return HXQ_OK;
    HXQ_TRY(give_lossy(d, i + 1, h->buf, h->n - keep));
    consume(h, h->n - keep);
    return HXQ_OK;
}

static int group_flush(dec_ctx *d, int i)
{
    tok_dec_state *h = &d->st[i];
    size_t n = h->n;
    h->n = 0;
    if (!n)
        return HXQ_OK;
    if (hxq_utf8_valid_prefix(h->buf, n) == n)
        return give(d, i + 1, h->buf, n, NULL);
    for (size_t k = 0; k < n; k++)
        HXQ_TRY(give(d, i + 1, fffd, 3, NULL));
    return HXQ_OK;
}

static int bytefallback_in(dec_ctx *d, int i, const char *s, size_t n)
{
    tok_dec_state *h = &d->st[i];
    if (d->tok->dec[i].fused) { /* one token: a byte only if the whole of it is */
        if (h->started)
            return give(d, i + 1, s, n, NULL);
        HXQ_TRY(hold(d, h, s, n));
        if (h->n <= 6)
            return HXQ_OK;
        h->started = 1;
        size_t k = h->n;
        h->n = 0;
        return give(d, i + 1, h->buf, k, NULL);
    }
    int b = byte_token(s, n);
    if (b >= 0) {
        char c = (char)b;
        return hold(d, h, &c, 1);
    }
    HXQ_TRY(group_flush(d, i));
    return give(d, i + 1, s, n, NULL);
}

static int replace_in(dec_ctx *d, int i, const char *s, size_t n)
{
    tok_dec_state *h = &d->st[i];
    const tok_dec_step *st = &d->tok->dec[i];
    if (!st->fused) {
        rep_ctx r;
        memset(&r, 0, sizeof(r));
        r.o = h->buf;
        r.cap = h->cap;
        int rc = replace_all(st, s, n, &r, d->err);
        h->buf = r.o;
        h->cap = r.cap;
        return rc < 0 ? rc : give(d, i + 1, h->buf, r.n, NULL);
    }
    HXQ_TRY(hold(d, h, s, n));
    if (st->pat.kind != TOK_FIND_LITERAL || !st->pat.lit_len)
        return HXQ_OK; /* a regex sees the whole text at the end */
    /* complete matches are final; keep a tail that may start one */
    size_t pos = 0, L = st->pat.lit_len;
    const char *hit;
    while (pos + L <= h->n && (hit = tok_memmem(h->buf + pos, h->n - pos, st->pat.lit, L))) {
        size_t at = (size_t)(hit - h->buf);
        HXQ_TRY(give(d, i + 1, h->buf + pos, at - pos, NULL));
        HXQ_TRY(give(d, i + 1, st->str, st->str_len, NULL));
        pos = at + L;
    }
    size_t q = h->n > pos + L - 1 ? h->n - (L - 1) : pos;
    while (q < h->n && memcmp(h->buf + q, st->pat.lit, h->n - q))
        q++;
    HXQ_TRY(give(d, i + 1, h->buf + pos, q - pos, NULL));
    consume(h, q);
    return HXQ_OK;
}

static int strip_in(dec_ctx *d, int i, const char *s, size_t n)
{
    tok_dec_state *h = &d->st[i];
    const tok_dec_step *st = &d->tok->dec[i];
    if (!st->fused) {
        size_t a, b;
        strip_cut(st, s, n, &a, &b);
        return give(d, i + 1, s + a, b - a, NULL);
    }
    size_t a = 0;
    while (!h->started && a < n) { /* the text's leading characters */
        int32_t cp;
        size_t l = tok_utf8_next(s + a, n - a, &cp);
        if (h->count >= st->start || cp != (int32_t)st->cp) {
            h->started = 1;
            break;
        }
        h->count++;
        a += l;
    }
    if (a == n)
        return HXQ_OK;
    if (!st->stop)
        return give(d, i + 1, s + a, n - a, NULL);
    /* trailing copies of the character may still be the text's last ones */
    size_t b = n;
    while (b > a) {
        size_t j = b - 1;
        while (j > a && ((uint8_t)s[j] & 0xC0) == 0x80)
            j--;
        int32_t cp;
        tok_utf8_next(s + j, b - j, &cp);
        if (cp != (int32_t)st->cp)
            break;
        b = j;
    }
    if (b > a) { /* something else came: what was held is not at the end */
        size_t k = h->n;
        h->n = 0;
        HXQ_TRY(give(d, i + 1, h->buf, k, NULL));
        HXQ_TRY(give(d, i + 1, s + a, b - a, NULL));
    }
    HXQ_TRY(hold(d, h, s + b, n - b));
    /* at most stop characters can go: release the ones before them */
    size_t cl = (size_t)utf8proc_encode_char((utf8proc_int32_t)st->cp, (utf8proc_uint8_t[4]){0});
    size_t max = (size_t)st->stop * cl;
    if (h->n > max) {
        size_t k = h->n - max;
        HXQ_TRY(give(d, i + 1, h->buf, k, NULL));
        consume(h, k);
    }
    return HXQ_OK;
}

static int metaspace_in(dec_ctx *d, int i, const char *s, size_t n)
{
    tok_dec_state *h = &d->st[i];
    const tok_dec_step *st = &d->tok->dec[i];
    int drop = !st->never && (st->fused || h->count == 0);
    h->count++;
    char rep[4];
    size_t rl = (size_t)utf8proc_encode_char((utf8proc_int32_t)st->cp, (utf8proc_uint8_t *)rep);
    size_t a = 0;
    const char *hit;
    while (a < n && (hit = tok_memmem(s + a, n - a, rep, rl))) {
        size_t at = (size_t)(hit - s);
        HXQ_TRY(give(d, i + 1, s + a, at - a, NULL));
        if (!drop)
            HXQ_TRY(give(d, i + 1, " ", 1, NULL));
        a = at + rl;
    }
    return a < n ? give(d, i + 1, s + a, n - a, NULL) : HXQ_OK;
}

/* Delivers text to step i: a token, or a piece of the one fused token. */
static int give(dec_ctx *d, int i, const char *s, size_t n, const tok_entry *e)
{
    const hxq_tokenizer *tok = d->tok;
    if (i == tok->n_dec) { /* the output */
        if (!tok->has_decoder && d->st[i].count++ > 0 &&
            tok_buf_append(d->out, d->olen, d->ocap, " ", 1) < 0)
            return nomem(d->err);
        return tok_buf_append(d->out, d->olen, d->ocap, s, n) < 0 ? nomem(d->err) : HXQ_OK;
    }
    if (!n && tok->dec[i].fused)
        return HXQ_OK;
    switch (tok->dec[i].kind) {
    case TOK_DEC_BYTELEVEL: return bytelevel_in(d, i, s, n, e);
    case TOK_DEC_BYTEFALLBACK: return bytefallback_in(d, i, s, n);
    case TOK_DEC_REPLACE: return replace_in(d, i, s, n);
    case TOK_DEC_STRIP: return strip_in(d, i, s, n);
    case TOK_DEC_METASPACE: return metaspace_in(d, i, s, n);
    default: return give(d, i + 1, s, n, NULL); /* Fuse */
    }
}

/* The end of the text at step i and after. */
static int finish(dec_ctx *d, int i)
{
    const hxq_tokenizer *tok = d->tok;
    if (i == tok->n_dec) {
        d->st[i].count = 0;
        return HXQ_OK;
    }
    tok_dec_state *h = &d->st[i];
    const tok_dec_step *st = &tok->dec[i];
    int rc = HXQ_OK;
    size_t k = h->n;
    h->n = 0;
    switch (st->kind) {
    case TOK_DEC_BYTELEVEL:
        if (st->fused && k) { /* the one token, mapped as a whole */
            char *m = malloc(k);
            if (!m)
                return nomem(d->err);
            size_t ml = bytelevel_bytes(h->buf, k, m);
            rc = give_lossy(d, i + 1, m, ml);
            free(m);
        } else if (k) {
            rc = give_lossy(d, i + 1, h->buf, k);
        }
        break;
    case TOK_DEC_BYTEFALLBACK:
        if (!st->fused) {
            h->n = k;
            rc = group_flush(d, i);
        } else if (!h->started && k) {
            int b = byte_token(h->buf, k);
            char c = (char)b;
            rc = b < 0 ? give(d, i + 1, h->buf, k, NULL)
                       : b < 0x80 ? give(d, i + 1, &c, 1, NULL) : give(d, i + 1, fffd, 3, NULL);
        }
        break;
    case TOK_DEC_REPLACE:
        if (st->fused && k) {
            if (st->pat.kind == TOK_FIND_LITERAL && st->pat.lit_len) {
                rc = give(d, i + 1, h->buf, k, NULL); /* a tail shorter than the pattern */
            } else {
                rep_ctx r;
                memset(&r, 0, sizeof(r));
                rc = replace_all(st, h->buf, k, &r, d->err);
                if (rc == HXQ_OK)
                    rc = give(d, i + 1, r.o ? r.o : "", r.n, NULL);
                free(r.o);
            }
        }
        break;
    default:
        break; /* Strip drops what it holds; the others hold nothing */
    }
    h->count = 0;
    h->started = 0;
    h->n = 0;
    return rc < 0 ? rc : finish(d, i + 1);
}

int tok_decoder_push(const hxq_tokenizer *tok, tok_dec_state *st, const tok_entry *e,
                     char **out, size_t *olen, size_t *ocap)
{
    dec_ctx d = {tok, st, out, olen, ocap, NULL};
    return give(&d, 0, e->str, e->str_len, e);
}

int tok_decoder_finish(const hxq_tokenizer *tok, tok_dec_state *st, char **out, size_t *olen,
                       size_t *ocap)
{
    dec_ctx d = {tok, st, out, olen, ocap, NULL};
    return finish(&d, 0);
}

/* ---- a token's bytes in the middle of a text ---------------------------------- */

int tok_decoder_token_bytes(hxq_tokenizer *tok, const char *s, size_t n, const char **out,
                            uint32_t *out_len)
{
    char *a = NULL, *b = NULL;
    size_t an = n, cap = 0;
    const char *cur = s;
    int rc = HXQ_OK;
    for (int i = 0; i < tok->n_dec && rc == HXQ_OK; i++) {
        const tok_dec_step *st = &tok->dec[i];
        size_t x, y;
        int v;
        switch (st->kind) {
        case TOK_DEC_BYTELEVEL:
            if (tok_buf_reserve(&b, &cap, an ? an : 1) < 0)
                rc = HXQ_ERR_NOMEM;
            else
                an = bytelevel_bytes(cur, an, b);
            break;
        case TOK_DEC_BYTEFALLBACK:
            v = st->fused ? -1 : byte_token(cur, an);
            if (v < 0)
                continue;
            if (tok_buf_reserve(&b, &cap, 1) < 0)
                rc = HXQ_ERR_NOMEM;
            else {
                b[0] = (char)v;
                an = 1;
            }
            break;
        case TOK_DEC_REPLACE: {
            rep_ctx r;
            memset(&r, 0, sizeof(r));
            rc = replace_all(st, cur, an, &r, NULL);
            free(b);
            b = r.o;
            cap = r.cap;
            an = r.n;
            break;
        }
        case TOK_DEC_STRIP:
            if (st->fused)
                continue;
            strip_cut(st, cur, an, &x, &y);
            if (tok_buf_reserve(&b, &cap, an ? an : 1) < 0)
                rc = HXQ_ERR_NOMEM;
            else {
                if (y > x) /* cur is NULL when an earlier step left nothing */
                    memmove(b, cur + x, y - x);
                an = y - x;
            }
            break;
        case TOK_DEC_METASPACE: {
            char rep[4];
            size_t rl = (size_t)utf8proc_encode_char((utf8proc_int32_t)st->cp,
                                                     (utf8proc_uint8_t *)rep);
            if (tok_buf_reserve(&b, &cap, an ? an : 1) < 0) {
                rc = HXQ_ERR_NOMEM;
                break;
            }
            size_t o = 0;
            for (size_t k = 0; k < an;) {
                if (k + rl <= an && !memcmp(cur + k, rep, rl)) {
                    if (st->never || !st->fused)
                        b[o++] = ' ';
                    k += rl;
                } else {
                    b[o++] = cur[k++];
                }
            }
            an = o;
            break;
        }
        default:
            continue; /* Fuse */
        }
        if (rc == HXQ_OK) { /* b holds the result */
            free(a);
            a = b;
            b = NULL;
            cap = 0;
            cur = a;
        }
    }
    if (rc == HXQ_OK) {
        if (cur == s) {
            *out = s;
        } else if (!(*out = tok_arena_dup(&tok->arena, cur, an))) {
            rc = HXQ_ERR_NOMEM;
        }
        *out_len = (uint32_t)an;
    }
    free(a);
    free(b);
    return rc;
}
