/* tok_encode.c - the encoding pipeline: added tokens with normalized=false
 * split first, then the normalizer, then added tokens with normalized=true,
 * then the pre-tokenizer and BPE on what remains (see hxq_tokenizer.h). */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct encode_ctx {
    const hxq_tokenizer *tok;
    tok_pretok_ctx pre;
    tok_ids ids;
} encode_ctx;

static int nomem(hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_NOMEM, "out of memory encoding text");
}

/* A piece between raw added tokens: normalize, split on normalized added
 * tokens, pre-tokenize and BPE the rest. at_start: the piece begins the
 * text (Metaspace's prepend_scheme "first" looks at that). */
static int encode_piece(encode_ctx *c, const char *s, size_t n, int at_start, hxq_error *err)
{
    if (!n)
        return HXQ_OK;
    const hxq_tokenizer *tok = c->tok;
    int32_t cp;
    size_t fs = at_start ? tok_utf8_next(s, n, &cp) : 0;
    char *norm;
    size_t nn;
    HXQ_TRY(tok_normalize(tok, s, n, &fs, &c->pre.rs, &norm, &nn, err));
    const char *t = norm ? norm : s;
    size_t pos = 0, ms, me;
    const tok_added *a;
    int rc = HXQ_OK;
    while (rc == HXQ_OK && pos < nn) {
        if (!tok_matcher_find(&tok->norm_match, t, nn, pos, &ms, &me, &a)) {
            rc = tok_pretok_run(tok, t + pos, nn - pos, pos ? 0 : fs, &c->pre, err);
            break;
        }
        rc = tok_pretok_run(tok, t + pos, ms - pos, pos ? 0 : fs, &c->pre, err);
        if (rc == HXQ_OK && tok_ids_push(&c->ids, a->id) < 0)
            rc = nomem(err);
        pos = me;
    }
    free(norm);
    return rc;
}

int hxq_tokenizer_encode(const hxq_tokenizer *tok, const char *text, size_t len,
                         int32_t **ids, int64_t *n_ids, hxq_error *err)
{
    if (!tok || !ids || !n_ids || (!text && len))
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_encode: NULL argument");
    size_t valid = hxq_utf8_valid_prefix(text, len);
    if (valid < len)
        return hxq_err(err, HXQ_ERR_INVALID, "text is not valid UTF-8 at byte %zu", valid);
    encode_ctx c;
    memset(&c, 0, sizeof(c));
    c.tok = tok;
    c.pre.out = &c.ids;
    int rc = HXQ_OK;
    /* long texts repeat their words: remember each word's ids */
    if (len >= TOK_CACHE_MIN_TEXT && tok_cache_init(&c.pre.cache) < 0)
        rc = nomem(err);
    size_t pos = 0, ms, me;
    const tok_added *a;
    while (rc == HXQ_OK && pos < len) {
        if (!tok_matcher_find(&tok->raw_match, text, len, pos, &ms, &me, &a)) {
            rc = encode_piece(&c, text + pos, len - pos, pos == 0, err);
            break;
        }
        rc = encode_piece(&c, text + pos, ms - pos, pos == 0, err);
        if (rc == HXQ_OK && tok_ids_push(&c.ids, a->id) < 0)
            rc = nomem(err);
        pos = me;
    }
    if (rc == HXQ_OK && !c.ids.v && !(c.ids.v = malloc(sizeof(int32_t))))
        rc = nomem(err);
    tok_pretok_ctx_free(&c.pre);
    if (rc < 0) {
        free(c.ids.v);
        return rc;
    }
    *ids = c.ids.v;
    *n_ids = c.ids.n;
    return HXQ_OK;
}
