/* tok_load.c - parsing tokenizer.json: normalizer, pre-tokenizer, decoder,
 * the BPE model (vocab, merges) and the added tokens. Every field read from
 * the file is checked; errors name the file, the field and the problem. */
#include "tok_int.h"

#include <cJSON.h>
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
static int scan_ids(hxq_tokenizer *tok, const cJSON *vocab, const cJSON *added, hxq_error *err)
{
    char q[96];
    int32_t max = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        int32_t id;
        if (tok_json_id(e, &id) < 0)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.vocab: token '%s' has id %.17g, "
                           "not an integer in [0, %d)", tok->name,
                           tok_quote(e->string, strlen(e->string), q, sizeof(q)),
                           cJSON_IsNumber(e) ? e->valuedouble : -1.0, TOK_MAX_ID);
        if (id > max)
            max = id;
    }
    int i = 0;
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
    int64_t entries = (int64_t)cJSON_GetArraySize(vocab);
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

static int parse_vocab(hxq_tokenizer *tok, const cJSON *vocab, hxq_error *err)
{
    char q[96];
    if (tok_strmap_init(&tok->vocab, cJSON_GetArraySize(vocab)) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        int32_t id = 0;
        tok_json_id(e, &id); /* checked by scan_ids */
        size_t n = strlen(e->string);
        if (tok->tokens[id].flags & TOK_F_PRESENT)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: model.vocab: id %d is used by '%s' and '%s'",
                           tok->name, id, tok->tokens[id].str, tok_quote(e->string, n, q, sizeof(q)));
        if (n > UINT32_MAX / 2 || set_token(tok, id, e->string, n, 0) < 0 ||
            tok_strmap_put(&tok->vocab, tok->tokens[id].str, (uint32_t)n, id) < 0)
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    }
    return HXQ_OK;
}

/* Splits merge i into its two halves: "a b" or ["a", "b"]. */
static int merge_parts(const cJSON *m, const char **a, size_t *na, const char **b, size_t *nb)
{
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' '))
            return -1;
        *a = s;
        *na = (size_t)(sp - s);
        *b = sp + 1;
        *nb = strlen(sp + 1);
        return 0;
    }
    const cJSON *x = cJSON_GetArrayItem(m, 0), *y = cJSON_GetArrayItem(m, 1);
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsString(x) || !cJSON_IsString(y))
        return -1;
    *a = x->valuestring;
    *na = strlen(*a);
    *b = y->valuestring;
    *nb = strlen(*b);
    return 0;
}

static int parse_merges(hxq_tokenizer *tok, const cJSON *merges, hxq_error *err)
{
    char q[96];
    int n = cJSON_GetArraySize(merges);
    if (tok_pairmap_init(&tok->merges, n) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    char *cat = NULL;
    size_t cat_cap = 0;
    int rank = 0, rc = HXQ_OK;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        const char *a, *b;
        size_t na, nb;
        if (merge_parts(m, &a, &na, &b, &nb) < 0) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: model.merges[%d] is not \"a b\" or [\"a\", "
                         "\"b\"]", tok->name, rank);
            break;
        }
        if (tok_buf_reserve(&cat, &cat_cap, na + nb + 1) < 0) {
            rc = hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
            break;
        }
        memcpy(cat, a, na);
        memcpy(cat + na, b, nb);
        int32_t ia = tok_strmap_get(&tok->vocab, a, na), ib = tok_strmap_get(&tok->vocab, b, nb);
        int32_t ic = tok_strmap_get(&tok->vocab, cat, na + nb);
        if (ia < 0 || ib < 0 || ic < 0) {
            const char *bad = ia < 0 ? a : ib < 0 ? b : cat;
            size_t nbad = ia < 0 ? na : ib < 0 ? nb : na + nb;
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: model.merges[%d]: token '%s' is not in the "
                         "vocabulary", tok->name, rank, tok_quote(bad, nbad, q, sizeof(q)));
            break;
        }
        if (tok_pairmap_set(&tok->merges, ia, ib, rank, ic) < 0) {
            rc = hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
            break;
        }
        rank++;
    }
    free(cat);
    return rc;
}

static int parse_model(hxq_tokenizer *tok, const cJSON *model, const cJSON *added, hxq_error *err)
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
    HXQ_TRY(scan_ids(tok, vocab, cJSON_IsArray(added) ? added : NULL, err));
    HXQ_TRY(parse_vocab(tok, vocab, err));
    HXQ_TRY(parse_merges(tok, merges, err));

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

static int load_root(hxq_tokenizer *tok, const cJSON *root, hxq_error *err)
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
    HXQ_TRY(parse_model(tok, cJSON_GetObjectItemCaseSensitive(root, "model"), added, err));
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
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    int rc;
    if (!root) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: invalid JSON near byte %zu", tok->name, at);
    } else {
        rc = load_root(tok, root, err);
    }
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
