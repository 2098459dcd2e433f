/* tok_decode.c - vocabulary look-ups, and decoding ids to text, whole or as
 * a stream: both run the decoder steps of tok_decoders.c, the whole decode
 * being the stream of every id. */
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

/* ---- decoding ---------------------------------------------------------- */

/* The bytes of id for decoding, or NULL when it is unknown or skipped. */
static const tok_entry *decoded(const hxq_tokenizer *tok, int32_t id, int flags)
{
    const tok_entry *e = entry(tok, id);
    if (e && (flags & HXQ_DECODE_SKIP_SPECIAL) && (e->flags & TOK_F_SPECIAL))
        return NULL;
    return e;
}

/* ---- streaming ------------------------------------------------------------ */

struct hxq_tokenizer_stream {
    const hxq_tokenizer *tok;
    int flags;
    tok_dec_state *st; /* one per decoder step, and the output's */
    char *out;         /* the text handed out by the last call */
    size_t olen, ocap;
};

int hxq_tokenizer_stream_create(const hxq_tokenizer *tok, int flags,
                                hxq_tokenizer_stream **out, hxq_error *err)
{
    if (!tok || !out)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_stream_create: NULL argument");
    hxq_tokenizer_stream *s = calloc(1, sizeof(*s));
    if (!s || !(s->st = calloc((size_t)tok->n_dec + 1, sizeof(*s->st)))) {
        free(s);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    s->tok = tok;
    s->flags = flags;
    *out = s;
    return HXQ_OK;
}

/* Appends id's text to s->out (nothing for skipped and unknown ids). */
static int feed(hxq_tokenizer_stream *s, int32_t id, hxq_error *err)
{
    const tok_entry *e = decoded(s->tok, id, s->flags);
    if (e && tok_decoder_push(s->tok, s->st, e, &s->out, &s->olen, &s->ocap) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory decoding");
    return HXQ_OK;
}

static int hand_out(hxq_tokenizer_stream *s, const char **text, size_t *len, hxq_error *err)
{
    if (tok_buf_reserve(&s->out, &s->ocap, s->olen + 1) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory decoding");
    s->out[s->olen] = 0;
    *text = s->out;
    *len = s->olen;
    s->olen = 0;
    return HXQ_OK;
}

int hxq_tokenizer_stream_push(hxq_tokenizer_stream *s, int32_t id, const char **text,
                              size_t *len, hxq_error *err)
{
    if (!s || !text || !len)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_stream_push: NULL argument");
    s->olen = 0;
    HXQ_TRY(feed(s, id, err));
    return hand_out(s, text, len, err);
}

int hxq_tokenizer_stream_flush(hxq_tokenizer_stream *s, const char **text, size_t *len,
                               hxq_error *err)
{
    if (!s || !text || !len)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_stream_flush: NULL argument");
    s->olen = 0;
    if (tok_decoder_finish(s->tok, s->st, &s->out, &s->olen, &s->ocap) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory decoding");
    return hand_out(s, text, len, err);
}

void hxq_tokenizer_stream_free(hxq_tokenizer_stream *s)
{
    if (!s)
        return;
    tok_decoder_state_free(s->st, s->tok->n_dec + 1);
    free(s->st);
    free(s->out);
    free(s);
}

/* ---- decoding ----------------------------------------------------------- */

int hxq_tokenizer_decode(const hxq_tokenizer *tok, const int32_t *ids, int64_t n,
                         int flags, char **text, size_t *len, hxq_error *err)
{
    if (!tok || !text || n < 0 || (!ids && n > 0))
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_decode: bad arguments");
    hxq_tokenizer_stream *s;
    HXQ_TRY(hxq_tokenizer_stream_create(tok, flags, &s, err));
    int rc = HXQ_OK;
    for (int64_t i = 0; i < n && rc == HXQ_OK; i++)
        rc = feed(s, ids[i], err);
    if (rc == HXQ_OK && tok_decoder_finish(tok, s->st, &s->out, &s->olen, &s->ocap) < 0)
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory decoding %lld ids", (long long)n);
    if (rc == HXQ_OK && tok_buf_reserve(&s->out, &s->ocap, s->olen + 1) < 0)
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory decoding %lld ids", (long long)n);
    if (rc < 0) {
        hxq_tokenizer_stream_free(s);
        return rc;
    }
    s->out[s->olen] = 0;
    *text = s->out;
    if (len)
        *len = s->olen;
    s->out = NULL;
    hxq_tokenizer_stream_free(s);
    return HXQ_OK;
}
