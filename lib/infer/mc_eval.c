/* mc_eval.c - a multiple-choice set scored on a model folder: tokenizer,
 * every document's ids, an engine sized for the longest, then the scores. */
#include "infer_int.h"
#include "mc_int.h"

#include <stdlib.h>
#include <string.h>

/* Every document's ids. */
static int encode_all(const hxq_tokenizer *tok, const hxq_mc_set *set, hxq_mc_request *req,
                      hxq_error *err)
{
    for (int64_t i = 0; i < set->n; i++) {
        const hxq_mc_doc *d = &set->docs[i];
        int rc = hxq_mc_encode(tok, d, &req[i], err);
        if (rc < 0 && rc != HXQ_ERR_NOMEM) {
            /* the row cannot be encoded: a problem of the data */
            if (err)
                err->code = HXQ_ERR_FORMAT;
            return hxq_err_prefix(err, HXQ_ERR_FORMAT, "%s:%lld", set->label,
                                  (long long)d->line);
        }
        if (rc < 0)
            return rc;
    }
    return HXQ_OK;
}

/* The engine a set needs: sequences for the choices scored together, a
 * cache per sequence for the longest document, and backend calls that
 * take a whole group of choices, so that no call is split and a
 * document's numbers do not depend on the others of the set. */
static hxq_engine_opts engine_for(const hxq_mc_set *set, const hxq_mc_request *req,
                                  const hxq_mc_opts *o, int64_t *positions)
{
    hxq_engine_opts eo = hxq_engine_opts_default();
    eo.device = o->device;
    eo.threads = o->threads;
    int most = 1;
    for (int64_t i = 0; i < set->n; i++)
        most = req[i].n_choices > most ? req[i].n_choices : most;
    eo.n_seq = o->device == HXQ_DEVICE_CUDA ? 1 : most < MC_MAX_SEQ ? most : MC_MAX_SEQ;
    int64_t pos = 1, batch = 1;
    for (int64_t i = 0; i < set->n; i++) {
        for (int c = 0; c < req[i].n_choices; c++) {
            int64_t need = req[i].n_ctx + (req[i].n_cont[c] > 1 ? req[i].n_cont[c] - 1 : 0);
            pos = need > pos ? need : pos;
        }
        int64_t t = mc_group_tokens(&req[i], eo.n_seq);
        batch = t > batch ? t : batch;
    }
    eo.max_ctx = eo.max_batch = pos > batch ? pos : batch;
    *positions = pos;
    return eo;
}

static int alloc_scores(const hxq_mc_set *set, hxq_mc_scores *s, hxq_error *err)
{
    int64_t total = 0;
    for (int64_t i = 0; i < set->n; i++)
        total += set->docs[i].n_choices;
    s->n = set->n;
    s->first = hxq_alloc_array(set->n + 1, sizeof(int64_t));
    s->gold = hxq_alloc_array(set->n, sizeof(int32_t));
    s->len = hxq_alloc_array(total, sizeof(int64_t));
    s->ll = hxq_alloc_array(total, sizeof(double));
    if (!s->first || !s->gold || !s->len || !s->ll)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int64_t k = 0;
    for (int64_t i = 0; i < set->n; i++) {
        const hxq_mc_doc *d = &set->docs[i];
        s->first[i] = k;
        s->gold[i] = d->gold;
        for (int c = 0; c < d->n_choices; c++)
            s->len[k++] = mc_py_len(d->choices[c]);
    }
    s->first[set->n] = k;
    return HXQ_OK;
}

/* Model, engine and the scoring loop, once the ids are known. */
static int run(const char *dir, const hxq_mc_set *set, const hxq_mc_request *req,
               const hxq_mc_opts *o, hxq_mc_scores *s, hxq_error *err)
{
    hxq_model m;
    HXQ_TRY(hxq_model_load(dir, &m, err));
    hxq_engine *e = NULL;
    int64_t positions;
    hxq_engine_opts eo = engine_for(set, req, o, &positions);
    int rc = HXQ_OK;
    if (positions > m.cfg.max_position_embeddings)
        rc = hxq_err(err, HXQ_ERR_RANGE,
                     "%s: a document needs %lld positions, the model has %lld (lm-eval would "
                     "cut its context from the left; hxq does not)",
                     set->label, (long long)positions, (long long)m.cfg.max_position_embeddings);
    if (rc == HXQ_OK)
        rc = hxq_engine_create(&m, &eo, &e, err);
    mc_scratch sc = {0};
    for (int64_t i = 0; rc == HXQ_OK && i < set->n; i++) {
        rc = mc_score(e, &req[i], s->ll + s->first[i], &sc, err);
        if (rc < 0)
            rc = hxq_err_prefix(err, rc, "%s:%lld", set->label, (long long)set->docs[i].line);
        else if (o->progress)
            o->progress(o->progress_ctx, i + 1, set->n);
    }
    mc_scratch_free(&sc);
    hxq_engine_free(e);
    hxq_model_free(&m);
    return rc;
}

int hxq_mc_eval(const char *dir, const hxq_mc_set *set, const hxq_mc_opts *opts,
                hxq_mc_scores *out, hxq_error *err)
{
    hxq_mc_opts none = {0};
    const hxq_mc_opts *o = opts ? opts : &none;
    hxq_tokenizer *tok;
    HXQ_TRY(hxq_tokenizer_load(dir, &tok, err));
    hxq_mc_scores s = {0};
    hxq_mc_request *req = calloc((size_t)(set->n ? set->n : 1), sizeof(*req));
    int rc = req ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (rc == HXQ_OK)
        rc = encode_all(tok, set, req, err);
    s.bos = hxq_tokenizer_adds_bos(tok) && hxq_tokenizer_bos_id(tok) >= 0;
    hxq_tokenizer_free(tok);
    if (rc == HXQ_OK)
        rc = alloc_scores(set, &s, err);
    if (rc == HXQ_OK)
        rc = run(dir, set, req, o, &s, err);
    for (int64_t i = 0; req && i < set->n; i++)
        hxq_mc_request_free(&req[i]);
    free(req);
    if (rc < 0) {
        hxq_mc_scores_free(&s);
        return rc;
    }
    *out = s;
    return HXQ_OK;
}
