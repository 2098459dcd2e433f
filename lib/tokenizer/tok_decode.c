/* tok_decode.c - vocabulary look-ups, decoding ids to text and the
 * streaming decoder that holds back incomplete UTF-8 sequences. */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- vocabulary -------------------------------------------------------- */

int32_t hxq_tokenizer_vocab_size(const hxq_tokenizer *tok)
{
    return tok ? tok->vocab_size : 0;
}

static const tok_entry *entry(const hxq_tokenizer *tok, int32_t id)
{
    if (!tok || id < 0 || id >= tok->vocab_size || !(tok->tokens[id].flags & TOK_F_PRESENT))
        return NULL;
    return &tok->tokens[id];
}

const char *hxq_tokenizer_token_bytes(const hxq_tokenizer *tok, int32_t id, size_t *len)
{
    const tok_entry *e = entry(tok, id);
    if (len)
        *len = e ? e->bytes_len : 0;
    return e ? e->bytes : NULL;
}

const char *hxq_tokenizer_token_str(const hxq_tokenizer *tok, int32_t id)
{
    const tok_entry *e = entry(tok, id);
    return e ? e->str : NULL;
}

int32_t hxq_tokenizer_token_id(const hxq_tokenizer *tok, const char *token)
{
    if (!tok || !token)
        return -1;
    size_t n = strlen(token);
    int32_t id = tok_strmap_get(&tok->added_map, token, n);
    return id >= 0 ? id : tok_strmap_get(&tok->vocab, token, n);
}

int hxq_tokenizer_is_special(const hxq_tokenizer *tok, int32_t id)
{
    const tok_entry *e = entry(tok, id);
    return e && (e->flags & TOK_F_SPECIAL) ? 1 : 0;
}

int hxq_tokenizer_eos_ids(const hxq_tokenizer *tok, const int32_t **ids)
{
    if (ids)
        *ids = tok && tok->n_eos ? tok->eos : NULL;
    return tok ? tok->n_eos : 0;
}

int32_t hxq_tokenizer_bos_id(const hxq_tokenizer *tok)
{
    return tok ? tok->bos : -1;
}

int hxq_tokenizer_adds_bos(const hxq_tokenizer *tok)
{
    return tok && tok->add_bos && tok->bos >= 0;
}

/* ---- decoding ---------------------------------------------------------- */

/* The bytes of id for decoding, or NULL when it is unknown or skipped. */
static const tok_entry *decoded(const hxq_tokenizer *tok, int32_t id, int flags)
{
    const tok_entry *e = entry(tok, id);
    if (e && (flags & HXQ_DECODE_SKIP_SPECIAL) && (e->flags & TOK_F_SPECIAL))
        return NULL;
    return e;
}

int hxq_tokenizer_decode(const hxq_tokenizer *tok, const int32_t *ids, int64_t n,
                         int flags, char **text, size_t *len, hxq_error *err)
{
    if (!tok || !text || n < 0 || (!ids && n > 0))
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_decode: bad arguments");
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        const tok_entry *e = decoded(tok, ids[i], flags);
        total += e ? e->bytes_len : 0; /* < 2^32 per token, n < 2^63: no overflow on 64-bit */
    }
    char *raw = malloc(total ? total : 1);
    if (!raw)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory decoding %lld ids", (long long)n);
    size_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        const tok_entry *e = decoded(tok, ids[i], flags);
        if (e) {
            memcpy(raw + o, e->bytes, e->bytes_len);
            o += e->bytes_len;
        }
    }
    char *out = NULL;
    size_t olen = 0, ocap = 0;
    int rc = tok_utf8_lossy_append((const uint8_t *)raw, o, &out, &olen, &ocap);
    free(raw);
    if (rc < 0) {
        free(out);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory decoding %lld ids", (long long)n);
    }
    *text = out;
    if (len)
        *len = olen;
    return HXQ_OK;
}

/* ---- streaming ------------------------------------------------------------ */

struct hxq_tokenizer_stream {
    const hxq_tokenizer *tok;
    int flags;
    char *pending; /* bytes not emitted yet (an incomplete sequence) */
    size_t npending, pending_cap;
    char *out;     /* the text handed out by the last call */
    size_t out_cap;
};

int hxq_tokenizer_stream_create(const hxq_tokenizer *tok, int flags,
                                hxq_tokenizer_stream **out, hxq_error *err)
{
    if (!tok || !out)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_stream_create: NULL argument");
    hxq_tokenizer_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    s->tok = tok;
    s->flags = flags;
    *out = s;
    return HXQ_OK;
}

/* Emits pending[0, n) as lossy UTF-8 and keeps the rest pending. */
static int emit(hxq_tokenizer_stream *s, size_t n, const char **text, size_t *len,
                hxq_error *err)
{
    size_t olen = 0;
    if (tok_utf8_lossy_append((const uint8_t *)s->pending, n, &s->out, &olen, &s->out_cap) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (s->npending > n)
        memmove(s->pending, s->pending + n, s->npending - n);
    s->npending -= n;
    *text = s->out;
    *len = olen;
    return HXQ_OK;
}

int hxq_tokenizer_stream_push(hxq_tokenizer_stream *s, int32_t id, const char **text,
                              size_t *len, hxq_error *err)
{
    if (!s || !text || !len)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_stream_push: NULL argument");
    const tok_entry *e = decoded(s->tok, id, s->flags);
    if (e && e->bytes_len) {
        if (tok_buf_reserve(&s->pending, &s->pending_cap, s->npending + e->bytes_len) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        memcpy(s->pending + s->npending, e->bytes, e->bytes_len);
        s->npending += e->bytes_len;
    }
    size_t keep = tok_utf8_incomplete_tail((const uint8_t *)s->pending, s->npending);
    return emit(s, s->npending - keep, text, len, err);
}

int hxq_tokenizer_stream_flush(hxq_tokenizer_stream *s, const char **text, size_t *len,
                               hxq_error *err)
{
    if (!s || !text || !len)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_stream_flush: NULL argument");
    return emit(s, s->npending, text, len, err);
}

void hxq_tokenizer_stream_free(hxq_tokenizer_stream *s)
{
    if (!s)
        return;
    free(s->pending);
    free(s->out);
    free(s);
}
