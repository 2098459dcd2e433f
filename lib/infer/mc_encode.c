/* mc_encode.c - a document's token ids as lm-evaluation-harness 0.4's
 * Hugging Face model builds them (lm_eval/models/huggingface.py:
 * loglikelihood, _encode_pair). */
#include "mc_int.h"

#include <stdlib.h>
#include <string.h>

void hxq_mc_request_free(hxq_mc_request *r)
{
    if (!r)
        return;
    free(r->ctx);
    for (int c = 0; r->cont && c < r->n_choices; c++)
        free(r->cont[c]);
    free(r->cont);
    free(r->n_cont);
    memset(r, 0, sizeof(*r));
}

/* ids = [first] + encode(text[0..n)) when first >= 0, else encode(text). */
static int encode_with(const hxq_tokenizer *tok, int32_t first, const char *text, size_t n,
                       int32_t **ids, int64_t *len, hxq_error *err)
{
    int32_t *t;
    int64_t k;
    HXQ_TRY(hxq_tokenizer_encode(tok, text, n, &t, &k, err));
    if (first < 0) {
        *ids = t;
        *len = k;
        return HXQ_OK;
    }
    int32_t *w = malloc((size_t)(k + 1) * sizeof(int32_t));
    if (!w) {
        free(t);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    w[0] = first;
    memcpy(w + 1, t, (size_t)k * sizeof(int32_t));
    free(t);
    *ids = w;
    *len = k + 1;
    return HXQ_OK;
}

/* text = a + " " + b, malloc'd (*n its length). */
static char *join_space(const char *a, size_t na, const char *b, size_t *n)
{
    size_t nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (s) {
        memcpy(s, a, na);
        s[na] = ' ';
        memcpy(s + na + 1, b, nb + 1);
        *n = na + 1 + nb;
    }
    return s;
}

/* Choice c's continuation: encode(prefix + " " + choice) minus the first
 * skip ids (the context's, when prefix is the whole context). */
static int encode_cont(const hxq_tokenizer *tok, const char *prefix, size_t np,
                       const char *choice, int64_t skip, hxq_mc_request *r, int c,
                       hxq_error *err)
{
    size_t n;
    char *whole = join_space(prefix, np, choice, &n);
    if (!whole)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int32_t *ids;
    int64_t k;
    int rc = hxq_tokenizer_encode(tok, whole, n, &ids, &k, err);
    free(whole);
    if (rc < 0)
        return rc;
    int64_t m = k > skip ? k - skip : 0;
    if (!(r->cont[c] = malloc((size_t)(m ? m : 1) * sizeof(int32_t)))) {
        free(ids);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    memcpy(r->cont[c], ids + (k - m), (size_t)m * sizeof(int32_t));
    r->n_cont[c] = m;
    free(ids);
    return HXQ_OK;
}

static int encode_doc(const hxq_tokenizer *tok, const hxq_mc_doc *d, hxq_mc_request *r,
                      hxq_error *err)
{
    int32_t bos = hxq_tokenizer_bos_id(tok);
    int32_t first = hxq_tokenizer_adds_bos(tok) ? bos : -1;
    size_t nctx = strlen(d->context);
    if (!(r->cont = calloc((size_t)d->n_choices, sizeof(int32_t *))) ||
        !(r->n_cont = calloc((size_t)d->n_choices, sizeof(int64_t))))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    r->n_choices = d->n_choices;
    if (nctx == 0) {
        /* lm-eval: an empty context is the prefix token (bos, else eos)
         * and the continuation is encoded alone */
        const int32_t *eos;
        int32_t prefix = bos >= 0 ? bos : hxq_tokenizer_eos_ids(tok, &eos) > 0 ? eos[0] : -1;
        if (prefix < 0)
            return hxq_err(err, HXQ_ERR_INVALID,
                           "empty context and the tokenizer has no BOS or EOS token");
        HXQ_TRY(encode_with(tok, prefix, "", 0, &r->ctx, &r->n_ctx, err));
        for (int c = 0; c < d->n_choices; c++)
            HXQ_TRY(encode_cont(tok, "", 0, d->choices[c], 0, r, c, err));
        return HXQ_OK;
    }
    /* the context's trailing whitespace moves to the continuation: ctx =
     * encode(context.rstrip()), whole = encode(context + " " + choice) */
    size_t keep = mc_rstrip_len(d->context, nctx);
    HXQ_TRY(encode_with(tok, first, d->context, keep, &r->ctx, &r->n_ctx, err));
    int64_t np = r->n_ctx - (first >= 0);    /* ids of the context text */
    if (r->n_ctx == 0)
        return hxq_err(err, HXQ_ERR_INVALID,
                       "the context is whitespace only and the tokenizer adds no BOS");
    for (int c = 0; c < d->n_choices; c++)
        HXQ_TRY(encode_cont(tok, d->context, nctx, d->choices[c], np, r, c, err));
    return HXQ_OK;
}

int hxq_mc_encode(const hxq_tokenizer *tok, const hxq_mc_doc *d, hxq_mc_request *out,
                  hxq_error *err)
{
    hxq_mc_request r = {0};
    int rc = encode_doc(tok, d, &r, err);
    if (rc < 0) {
        hxq_mc_request_free(&r);
        return rc;
    }
    *out = r;
    return HXQ_OK;
}
