/* tok_load.c - parsing tokenizer.json: normalizer, pre-tokenizer, decoder,
 * the BPE model (vocab, merges) and the added tokens. Every field read from
 * the file is checked; errors name the file, the field and the problem. */
#include "tok_int.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* A printable, truncated copy of a token for messages. */
const char *tok_quote(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == '\'' || c == '\\')
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
        if (i + 1 < n && o + 8 >= cap) {
            memcpy(buf + o, "...", 3);
            o += 3;
        }
    }
    buf[o] = 0;
    return buf;
}

const char *tok_json_type(const cJSON *o)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

int tok_json_flag(const cJSON *o, const char *key, int *out, const char *name,
                  const char *where, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsBool(v))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s.%s must be true or false", name, where, key);
    *out = cJSON_IsTrue(v);
    return HXQ_OK;
}

int tok_json_str(const cJSON *o, const char *key, const char **out, const char *name,
                 const char *where, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsString(v))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s.%s must be a string", name, where, key);
    *out = v->valuestring;
    return HXQ_OK;
}

int tok_json_count(const cJSON *o, const char *key, int32_t *out, const char *name,
                   const char *where, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return HXQ_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > INT32_MAX ||
        v->valuedouble != (double)(int32_t)v->valuedouble)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s.%s must be a non-negative integer", name,
                       where, key);
    *out = (int32_t)v->valuedouble;
    return HXQ_OK;
}

int tok_json_known(const cJSON *o, const char *const *keys, const char *name,
                   const char *where, hxq_error *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, o) {
        int ok = !strcmp(e->string, "type");
        for (const char *const *k = keys; !ok && *k; k++)
            ok = !strcmp(e->string, *k);
        if (!ok)
            return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s (%s): field '%s' is not supported",
                           name, where, tok_json_type(o) ? tok_json_type(o) : "?", e->string);
    }
    return HXQ_OK;
}

int tok_json_sequence(hxq_tokenizer *tok, const cJSON *seq, const char *key,
                      const char *where, int depth, tok_json_member_fn each, void *ctx,
                      hxq_error *err)
{
    const char *const keys[] = {key, NULL};
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(seq, key);
    if (!cJSON_IsArray(list))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s: Sequence without a \"%s\" list",
                       tok->name, where, key);
    HXQ_TRY(tok_json_known(seq, keys, tok->name, where, err));
    if (depth > 4)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: Sequences nested too deeply",
                       tok->name, where);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        char w[160];
        snprintf(w, sizeof(w), "%s.%s[%d]", where, key, i++);
        HXQ_TRY(each(tok, e, w, depth + 1, ctx, err));
    }
    return HXQ_OK;
}

int tok_json_char(const cJSON *o, const char *key, uint32_t *cp, char *utf8, uint8_t *len,
                  const char *name, const char *where, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    int32_t c = -1;
    if (n && n <= 4 && hxq_utf8_valid_prefix(v->valuestring, n) == n &&
        tok_utf8_next(v->valuestring, n, &c) == n) {
        memcpy(utf8, v->valuestring, n);
        *len = (uint8_t)n;
        *cp = (uint32_t)c;
        return HXQ_OK;
    }
    return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s.%s must be a string of one character", name,
                   where, key);
}

int tok_json_id(const cJSON *v, int32_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= TOK_MAX_ID ||
        v->valuedouble != (double)(int32_t)v->valuedouble)
        return -1;
    *out = (int32_t)v->valuedouble;
    return 0;
}

/* ---- model ---------------------------------------------------------------- */

static int set_token(hxq_tokenizer *tok, int32_t id, const char *s, size_t n, uint8_t flags)
{
    tok_entry *e = &tok->tokens[id];
    char *str = tok_arena_dup(&tok->arena, s, n);
    if (!str)
        return -1;
    e->str = str;
    e->str_len = (uint32_t)n;
    e->flags = (uint8_t)(flags | TOK_F_PRESENT);
    return 0;
}

/* Every token's decoded bytes (hxq_tokenizer_token_bytes()). */
static int token_bytes(hxq_tokenizer *tok, hxq_error *err)
{
    for (int32_t id = 0; id < tok->vocab_size; id++) {
        tok_entry *e = &tok->tokens[id];
        if (!(e->flags & TOK_F_PRESENT))
            continue;
        if (tok_decoder_token_bytes(tok, e->str, e->str_len, &e->bytes, &e->bytes_len) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    }
    return HXQ_OK;
}

/* First pass over the ids: the size of the id table (the vocabulary's ids,
 * and room for each added token to get a new one). */
static int scan_ids(hxq_tokenizer *tok, const tok_model_lists *l, const cJSON *added,
                    hxq_error *err)
{
    char q[96];
    int32_t max = -1;
    for (int64_t k = 0; k < l->n_vocab; k++) {
        double v = l->id[k];
        if (!(v >= 0 && v < TOK_MAX_ID && v == (double)(int32_t)v))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.vocab: token '%s' has id %.17g, "
                           "not an integer in [0, %d)", tok->name,
                           tok_quote(l->key[k].p, l->key[k].n, q, sizeof(q)),
                           isnan(v) ? -1.0 : v, TOK_MAX_ID);
        if ((int32_t)v > max)
            max = (int32_t)v;
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, added) {
        int32_t id;
        if (!cJSON_IsObject(e) || tok_json_id(cJSON_GetObjectItemCaseSensitive(e, "id"), &id) < 0)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: added_tokens[%d]: \"id\" is not an integer "
                           "in [0, %d)", tok->name, i, TOK_MAX_ID);
        i++;
    }
    if (max < 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.vocab is empty", tok->name);
    /* ids are dense in real files; a few entries claiming huge ids would
     * only make the id table enormous */
    int64_t entries = l->n_vocab;
    if ((int64_t)max >= 4 * entries + 1024)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: largest id %d is far beyond the %lld "
                       "entries (ids must be nearly dense)", tok->name, max, (long long)entries);
    int64_t size = (max + 1 > entries ? max + 1 : entries) + i;
    tok->vocab_size = (int32_t)size;
    tok->tokens = hxq_calloc_array(size, sizeof(*tok->tokens));
    if (!tok->tokens)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory for %lld tokens", tok->name,
                       (long long)size);
    return HXQ_OK;
}

static int parse_vocab(hxq_tokenizer *tok, const tok_model_lists *l, hxq_error *err)
{
    char q[96];
    if (tok_strmap_init(&tok->vocab, l->n_vocab) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    tok_span keys[64];
    int32_t ids[64];
    int nb = 0;
    for (int64_t k = 0; k <= l->n_vocab; k++) {
        if (nb == 64 || (k == l->n_vocab && nb)) { /* a batch of map insertions */
            if (tok_strmap_put_many(&tok->vocab, keys, ids, nb) < 0)
                return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
            nb = 0;
        }
        if (k == l->n_vocab)
            break;
        int32_t id = (int32_t)l->id[k]; /* checked by scan_ids */
        size_t n = l->key[k].n;
        if (tok->tokens[id].flags & TOK_F_PRESENT)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.vocab: id %d is used by '%s' and '%s'",
                           tok->name, id, tok->tokens[id].str,
                           tok_quote(l->key[k].p, n, q, sizeof(q)));
        if (n > UINT32_MAX / 2 || set_token(tok, id, l->key[k].p, n, 0) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
        keys[nb] = (tok_span){tok->tokens[id].str, (uint32_t)n};
        ids[nb++] = id;
    }
    return HXQ_OK;
}

/* Splits a cJSON merge into its halves: "a b" or ["a", "b"]. */
static int merge_parts(const cJSON *m, tok_span *a, tok_span *b)
{
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' '))
            return -1;
        *a = (tok_span){s, (uint32_t)(sp - s)};
        *b = (tok_span){sp + 1, (uint32_t)strlen(sp + 1)};
        return 0;
    }
    const cJSON *x = cJSON_GetArrayItem(m, 0), *y = cJSON_GetArrayItem(m, 1);
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsString(x) || !cJSON_IsString(y))
        return -1;
    *a = (tok_span){x->valuestring, (uint32_t)strlen(x->valuestring)};
    *b = (tok_span){y->valuestring, (uint32_t)strlen(y->valuestring)};
    return 0;
}

/* The lists of a cJSON model (when the fast reader declined the file). */
static int lists_of(const cJSON *vocab, const cJSON *merges, tok_model_lists *l)
{
    int64_t nv = cJSON_GetArraySize(vocab), nm = cJSON_GetArraySize(merges);
    l->key = hxq_alloc_array(nv, sizeof(*l->key));
    l->id = hxq_alloc_array(nv, sizeof(*l->id));
    l->ma = hxq_alloc_array(nm, sizeof(*l->ma));
    l->mb = hxq_alloc_array(nm, sizeof(*l->mb));
    if (!l->key || !l->id || !l->ma || !l->mb)
        return -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        l->key[l->n_vocab] = (tok_span){e->string, (uint32_t)strlen(e->string)};
        l->id[l->n_vocab++] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
    }
    cJSON_ArrayForEach(e, merges) {
        if (merge_parts(e, &l->ma[l->n_merges], &l->mb[l->n_merges]) < 0) {
            /* malformed: parse_merges reports it; no length of its spans counts */
            l->ma[l->n_merges] = (tok_span){NULL, 0};
            l->mb[l->n_merges] = (tok_span){NULL, 0};
        }
        l->n_merges++;
    }
    return 0;
}

#define MERGE_BATCH 21 /* 63 look-ups: one batch of tok_strmap_get_many */

static int parse_merges(hxq_tokenizer *tok, const tok_model_lists *l, hxq_error *err)
{
    char q[96];
    if (tok_pairmap_init(&tok->merges, l->n_merges) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    char *cat = NULL;
    size_t cat_cap = 0;
    int rc = HXQ_OK;
    tok_span keys[3 * MERGE_BATCH];
    int32_t ids[3 * MERGE_BATCH];
    for (int64_t r0 = 0; r0 < l->n_merges && rc == HXQ_OK; r0 += MERGE_BATCH) {
        int nb = l->n_merges - r0 < MERGE_BATCH ? (int)(l->n_merges - r0) : MERGE_BATCH;
        size_t need = 0;
        for (int j = 0; j < nb; j++)
            need += (size_t)l->ma[r0 + j].n + l->mb[r0 + j].n;
        if (tok_buf_reserve(&cat, &cat_cap, need + 1) < 0) {
            rc = hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
            break;
        }
        /* the batch's halves and concatenations, looked up together */
        size_t o = 0;
        for (int j = 0; j < nb; j++) {
            const tok_span *a = &l->ma[r0 + j], *b = &l->mb[r0 + j];
            if (!a->p) { /* malformed: stop the batch there */
                nb = j;
                break;
            }
            memcpy(cat + o, a->p, a->n);
            memcpy(cat + o + a->n, b->p, b->n);
            keys[3 * j] = *a;
            keys[3 * j + 1] = *b;
            keys[3 * j + 2] = (tok_span){cat + o, a->n + b->n};
            o += (size_t)a->n + b->n;
        }
        tok_strmap_get_many(&tok->vocab, keys, 3 * nb, ids);
        for (int j = 0; j < nb; j++)
            tok_pairmap_prefetch(&tok->merges, ids[3 * j], ids[3 * j + 1]);
        for (int j = 0; j < nb && rc == HXQ_OK; j++) {
            int64_t rank = r0 + j;
            int32_t ia = ids[3 * j], ib = ids[3 * j + 1], ic = ids[3 * j + 2];
            if (ia < 0 || ib < 0 || ic < 0) {
                const tok_span *bad = &keys[3 * j + (ia < 0 ? 0 : ib < 0 ? 1 : 2)];
                rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: model.merges[%lld]: token '%s' is not in "
                             "the vocabulary", tok->name, (long long)rank,
                             tok_quote(bad->p, bad->n, q, sizeof(q)));
            } else if (rank > INT32_MAX ||
                       tok_pairmap_set(&tok->merges, ia, ib, (int32_t)rank, ic) < 0) {
                rc = hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
            }
        }
        if (rc == HXQ_OK && nb < MERGE_BATCH && r0 + nb < l->n_merges)
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: model.merges[%lld] is not \"a b\" or "
                         "[\"a\", \"b\"]", tok->name, (long long)(r0 + nb));
    }
    free(cat);
    return rc;
}

static int parse_model(hxq_tokenizer *tok, const cJSON *model, const cJSON *added,
                       tok_model_lists *fast, hxq_error *err)
{
    if (!cJSON_IsObject(model))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: no \"model\" object", tok->name);
    static const char *const keys[] = {"dropout", "unk_token", "continuing_subword_prefix",
                                       "end_of_word_suffix", "fuse_unk", "byte_fallback",
                                       "ignore_merges", "vocab", "merges", NULL};
    const char *t = tok_json_type(model);
    if (t && strcmp(t, "BPE"))
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: model type '%s' is not supported (only "
                       "BPE)", tok->name, t);
    HXQ_TRY(tok_json_known(model, keys, tok->name, "model", err));
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsObject(vocab))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.vocab is missing or not an object",
                       tok->name);
    if (!cJSON_IsArray(merges))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.merges is missing or not a list",
                       tok->name);
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: BPE dropout is not supported", tok->name);
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
        if (a && !cJSON_IsNull(a) && !(cJSON_IsString(a) && !a->valuestring[0]))
            return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: BPE %s is not supported", tok->name,
                           affixes[i]);
    }
    HXQ_TRY(tok_json_flag(model, "fuse_unk", &tok->fuse_unk, tok->name, "model", err));
    HXQ_TRY(tok_json_flag(model, "byte_fallback", &tok->byte_fallback, tok->name, "model", err));
    HXQ_TRY(tok_json_flag(model, "ignore_merges", &tok->ignore_merges, tok->name, "model", err));
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: added_tokens must be a list", tok->name);
    tok_model_lists own, *l = fast;
    memset(&own, 0, sizeof(own));
    if (!l) {
        if (lists_of(vocab, merges, &own) < 0) {
            tok_model_lists_free(&own);
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
        }
        l = &own;
    }
    int rc = scan_ids(tok, l, cJSON_IsArray(added) ? added : NULL, err);
    if (rc == HXQ_OK)
        rc = parse_vocab(tok, l, err);
    if (rc == HXQ_OK)
        rc = parse_merges(tok, l, err);
    tok_model_lists_free(&own);
    HXQ_TRY(rc);

    tok->unk_id = -1;
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    if (cJSON_IsString(unk)) {
        tok->unk_id = tok_strmap_get(&tok->vocab, unk->valuestring, strlen(unk->valuestring));
        if (tok->unk_id < 0)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.unk_token is not in the vocabulary",
                           tok->name);
    } else if (unk && !cJSON_IsNull(unk)) {
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.unk_token must be a string or null",
                       tok->name);
    }
    return HXQ_OK;
}

/* ---- added tokens ---------------------------------------------------------- */

/* The id HF's AddedVocabulary gives an added token (the file's "id" is only
 * checked in HF, with a warning): an earlier added token's or the model's
 * id of the same content, else the next one after the largest added id,
 * counting from the model's number of tokens. */
static int32_t added_id(const hxq_tokenizer *tok, const char *content, size_t len, int32_t max,
                        int32_t model_count)
{
    int32_t id = tok_strmap_get(&tok->added_map, content, len);
    if (id < 0)
        id = tok_strmap_get(&tok->vocab, content, len);
    if (id >= 0)
        return id;
    return max >= model_count || model_count == 0 ? max + 1 : model_count;
}

static int parse_added(hxq_tokenizer *tok, const cJSON *added, hxq_error *err)
{
    char q[96];
    int n = cJSON_IsArray(added) ? cJSON_GetArraySize(added) : 0;
    int32_t max = -1, model_count = (int32_t)tok->vocab.count;
    tok->added = hxq_calloc_array(n, sizeof(*tok->added));
    if (!tok->added || tok_strmap_init(&tok->added_map, n) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(added, i);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsString(c))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: added_tokens[%d]: \"content\" is missing "
                           "or not a string", tok->name, i);
        int normalized = 1, special = 0, lstrip = 0, rstrip = 0, single_word = 0;
        char where[48];
        snprintf(where, sizeof(where), "added_tokens[%d]", i);
        HXQ_TRY(tok_json_flag(e, "special", &special, tok->name, where, err));
        normalized = !special; /* HF's default */
        HXQ_TRY(tok_json_flag(e, "normalized", &normalized, tok->name, where, err));
        HXQ_TRY(tok_json_flag(e, "lstrip", &lstrip, tok->name, where, err));
        HXQ_TRY(tok_json_flag(e, "rstrip", &rstrip, tok->name, where, err));
        HXQ_TRY(tok_json_flag(e, "single_word", &single_word, tok->name, where, err));
        size_t len = strlen(c->valuestring);
        if (len > UINT32_MAX / 4)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s is too long", tok->name, where);
        if (!len)
            continue; /* HF ignores empty added tokens */
        int32_t earlier = tok_strmap_get(&tok->added_map, c->valuestring, len);
        int32_t id = added_id(tok, c->valuestring, len, max, model_count);
        if (id >= tok->vocab_size)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s: id %d out of range", tok->name, where,
                           id);
        if (earlier < 0 && tok_strmap_get(&tok->vocab, c->valuestring, len) < 0 &&
            (tok->tokens[id].flags & TOK_F_PRESENT))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s '%s' gets id %d, which model.vocab "
                           "already uses", tok->name, where,
                           tok_quote(c->valuestring, len, q, sizeof(q)), id);
        if (id > max)
            max = id;
        if (earlier >= 0) { /* the same content again: its flags replace the earlier ones */
            for (int32_t k = 0; k < tok->n_added; k++)
                if (tok->added[k].id == earlier) {
                    special |= tok->added[k].special;
                    tok->added[k] = tok->added[--tok->n_added];
                    break;
                }
        }
        tok_added *a = &tok->added[tok->n_added];
        a->id = earlier >= 0 ? earlier : id;
        a->normalized = (uint8_t)normalized;
        a->special = (uint8_t)special;
        a->lstrip = (uint8_t)lstrip;
        a->rstrip = (uint8_t)rstrip;
        a->single_word = (uint8_t)single_word;
        uint8_t flags = (uint8_t)(TOK_F_ADDED | (special ? TOK_F_SPECIAL : 0));
        if (set_token(tok, a->id, c->valuestring, len, flags) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
        a->content = tok->tokens[a->id].str;
        a->len = (uint32_t)len;
        if (earlier < 0 && tok_strmap_put(&tok->added_map, a->content, a->len, a->id) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
        if (normalized && tok->n_norm) {
            /* matched against normalized text, so normalize the pattern */
            char *nc;
            size_t nn;
            tok_re_scratch rs;
            memset(&rs, 0, sizeof(rs));
            int rc = tok_normalize(tok, a->content, a->len, NULL, &rs, &nc, &nn, err);
            tok_re_scratch_free(&rs);
            HXQ_TRY(rc);
            if (nc) {
                a->content = tok_arena_dup(&tok->arena, nc, nn);
                a->len = (uint32_t)nn;
                free(nc);
                if (!a->content)
                    return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
            }
        }
        tok->n_added++;
    }
    while (tok->vocab_size > 1 && !(tok->tokens[tok->vocab_size - 1].flags & TOK_F_PRESENT))
        tok->vocab_size--;
    if (tok_matcher_build(&tok->raw_match, tok->added, tok->n_added, 0) < 0 ||
        tok_matcher_build(&tok->norm_match, tok->added, tok->n_added, 1) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    return HXQ_OK;
}

static int load_root(hxq_tokenizer *tok, const cJSON *root, tok_model_lists *fast,
                     hxq_error *err)
{
    if (!cJSON_IsObject(root))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: not a JSON object", tok->name);
    static const char *const keys[] = {"version", "truncation", "padding", "added_tokens",
                                       "normalizer", "pre_tokenizer", "model", "post_processor",
                                       "decoder", NULL};
    HXQ_TRY(tok_json_known(root, keys, tok->name, "the top level", err));
    const cJSON *trunc = cJSON_GetObjectItemCaseSensitive(root, "truncation");
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "padding");
    if ((trunc && !cJSON_IsNull(trunc)) || (pad && !cJSON_IsNull(pad)))
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s is not supported (it must be null)",
                       tok->name, trunc && !cJSON_IsNull(trunc) ? "truncation" : "padding");
    /* the normalizer first: added tokens are normalized with it */
    HXQ_TRY(tok_parse_normalizer(tok, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), err));
    HXQ_TRY(tok_parse_pre_tokenizer(tok, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"),
                                    err));
    HXQ_TRY(tok_parse_decoder(tok, cJSON_GetObjectItemCaseSensitive(root, "decoder"), err));
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    HXQ_TRY(parse_model(tok, cJSON_GetObjectItemCaseSensitive(root, "model"), added, fast, err));
    HXQ_TRY(parse_added(tok, added, err));
    HXQ_TRY(tok_parse_post_processor(tok, cJSON_GetObjectItemCaseSensitive(root,
                                                                           "post_processor"),
                                     err));
    HXQ_TRY(token_bytes(tok, err));
    tok_bpe_prepare(tok);
    tok_find_default_eos(tok);
    return HXQ_OK;
}

int hxq_tokenizer_load_json(const char *json, size_t len, const char *name,
                            hxq_tokenizer **out, hxq_error *err)
{
    if (!json || !out)
        return hxq_err(err, HXQ_ERR_INVALID, "hxq_tokenizer_load_json: NULL argument");
    hxq_tokenizer *tok = calloc(1, sizeof(*tok));
    if (!tok || !(tok->name = hxq_strdup(name ? name : "tokenizer.json"))) {
        free(tok);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    tok->bos = -1;
    tok->unk_id = -1;
    tok->add_bos = tok->add_eos = -1;
    /* vocab and merges read directly, the rest by cJSON; or all by cJSON */
    tok_model_lists fast;
    int rc = tok_fastjson_split(tok, json, len, &fast);
    cJSON *root = NULL;
    if (rc == HXQ_OK && !(root = cJSON_ParseWithLength(fast.rest, fast.rest_len)))
        rc = 1;
    if (rc == 1) {
        tok_model_lists_free(&fast);
        const char *end = NULL;
        root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
        if (!root) {
            size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: invalid JSON near byte %zu", tok->name, at);
        }
    } else if (rc < 0) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    }
    if (root)
        rc = load_root(tok, root, fast.rest ? &fast : NULL, err);
    tok_model_lists_free(&fast);
    cJSON_Delete(root);
    if (rc < 0) {
        hxq_tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return HXQ_OK;
}

void hxq_tokenizer_free(hxq_tokenizer *tok)
{
    if (!tok)
        return;
    tok_strmap_free(&tok->vocab);
    tok_strmap_free(&tok->added_map);
    tok_pairmap_free(&tok->merges);
    tok_matcher_free(&tok->raw_match);
    tok_matcher_free(&tok->norm_match);
    tok_normalizer_free(tok);
    tok_pre_tokenizer_free(tok);
    tok_decoder_free(tok);
    free(tok->post_pre);
    free(tok->post_post);
    free(tok->added);
    free(tok->tokens);
    free(tok->chat_bos);
    free(tok->chat_eos);
    tok_arena_free(&tok->arena);
    free(tok->name);
    free(tok);
}
