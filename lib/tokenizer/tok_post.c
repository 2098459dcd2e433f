/* tok_post.c - the post-processor: the special tokens that HF's
 * encode(text, add_special_tokens=True) puts around one text.
 *   TemplateProcessing  the "single" template: special tokens before and
 *                       after $A (their ids from "special_tokens")
 *   RobertaProcessing,
 *   BertProcessing      cls before, sep after
 *   ByteLevel           nothing (it only adjusts offsets)
 *   Sequence            each processor wraps the result of the previous one
 * tokenizer_config.json's add_bos_token / add_eos_token, when present,
 * replace the tokens before / after the text by the bos / eos token (as
 * transformers rebuilds the template from them); see hxq_tokenizer.h. */
#include "tok_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ids_list {
    int32_t v[64];
    int n;
} ids_list;

static int push(hxq_tokenizer *tok, ids_list *l, int32_t id, const char *where, hxq_error *err)
{
    if (id < 0 || id >= tok->vocab_size || !(tok->tokens[id].flags & TOK_F_PRESENT))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s: special token id %d is not in the "
                       "vocabulary", tok->name, where, id);
    if (l->n >= (int)(sizeof(l->v) / sizeof(l->v[0])))
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: more than 64 special tokens",
                       tok->name, where);
    l->v[l->n++] = id;
    return HXQ_OK;
}

/* ["<s>", 1] of RobertaProcessing / BertProcessing. */
static int pair_id(hxq_tokenizer *tok, const cJSON *p, const char *key, ids_list *l,
                   const char *where, hxq_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, key);
    int32_t id;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 ||
        !cJSON_IsString(cJSON_GetArrayItem(v, 0)) ||
        tok_json_id(cJSON_GetArrayItem(v, 1), &id) < 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s.%s must be [token, id]", tok->name, where,
                       key);
    return push(tok, l, id, where, err);
}

static int template_single(hxq_tokenizer *tok, const cJSON *p, ids_list *pre, ids_list *post,
                           const char *where, hxq_error *err)
{
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single");
    const cJSON *special = cJSON_GetObjectItemCaseSensitive(p, "special_tokens");
    if (!cJSON_IsArray(single) || (special && !cJSON_IsObject(special)))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s needs a \"single\" list and a "
                       "\"special_tokens\" object", tok->name, where);
    int seen = 0, i = 0;
    const cJSON *piece;
    cJSON_ArrayForEach(piece, single) {
        char w[200];
        snprintf(w, sizeof(w), "%s.single[%d]", where, i++);
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(piece, "SpecialToken");
        const cJSON *sq = cJSON_GetObjectItemCaseSensitive(piece, "Sequence");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(sp ? sp : sq, "id");
        if (!cJSON_IsObject(piece) || !!sp == !!sq || !cJSON_IsString(id))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s must be {\"SpecialToken\": {\"id\": "
                           "...}} or {\"Sequence\": {\"id\": ...}}", tok->name, w);
        if (sq) {
            if (strcmp(id->valuestring, "A") || seen)
                return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: a single template with "
                               "sequence '%s' (only one $A) is not supported", tok->name, w,
                               id->valuestring);
            seen = 1;
            continue;
        }
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(special, id->valuestring);
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(st, "ids");
        if (!cJSON_IsArray(ids))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s: special token '%s' is not in "
                           "special_tokens", tok->name, w, id->valuestring);
        const cJSON *e;
        cJSON_ArrayForEach(e, ids) {
            int32_t v;
            if (tok_json_id(e, &v) < 0)
                return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s: special token '%s' has an id that "
                               "is not an integer", tok->name, w, id->valuestring);
            HXQ_TRY(push(tok, seen ? post : pre, v, w, err));
        }
    }
    if (!seen)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s.single has no $A", tok->name, where);
    return HXQ_OK;
}

static int parse_one(hxq_tokenizer *tok, const cJSON *p, ids_list *pre, ids_list *post,
                     const char *where, int depth, hxq_error *err);

/* A Sequence's ids so far; each processor wraps what the earlier ones made. */
typedef struct seq_ctx {
    ids_list *pre, *post;
} seq_ctx;

static int seq_member(hxq_tokenizer *tok, const cJSON *e, const char *where, int depth,
                      void *ctx, hxq_error *err)
{
    seq_ctx *c = ctx;
    ids_list a = {{0}, 0}, b = {{0}, 0};
    HXQ_TRY(parse_one(tok, e, &a, &b, where, depth, err));
    for (int k = 0; k < c->pre->n; k++)
        HXQ_TRY(push(tok, &a, c->pre->v[k], where, err));
    for (int k = 0; k < b.n; k++)
        HXQ_TRY(push(tok, c->post, b.v[k], where, err));
    *c->pre = a;
    return HXQ_OK;
}

/* One processor: the ids it puts before (pre) and after (post) its input. */
static int parse_one(hxq_tokenizer *tok, const cJSON *p, ids_list *pre, ids_list *post,
                     const char *where, int depth, hxq_error *err)
{
    static const char *const bl_keys[] = {"add_prefix_space", "trim_offsets", "use_regex", NULL};
    static const char *const tp_keys[] = {"single", "pair", "special_tokens", NULL};
    static const char *const rb_keys[] = {"sep", "cls", "trim_offsets", "add_prefix_space", NULL};
    const char *t = cJSON_IsObject(p) ? tok_json_type(p) : NULL;
    if (!t)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s must be an object with a \"type\"",
                       tok->name, where);
    if (!strcmp(t, "ByteLevel"))
        return tok_json_known(p, bl_keys, tok->name, where, err);
    if (!strcmp(t, "TemplateProcessing")) {
        HXQ_TRY(tok_json_known(p, tp_keys, tok->name, where, err));
        return template_single(tok, p, pre, post, where, err);
    }
    if (!strcmp(t, "RobertaProcessing") || !strcmp(t, "BertProcessing")) {
        HXQ_TRY(tok_json_known(p, rb_keys, tok->name, where, err));
        HXQ_TRY(pair_id(tok, p, "cls", pre, where, err));
        return pair_id(tok, p, "sep", post, where, err);
    }
    if (!strcmp(t, "Sequence")) {
        seq_ctx c = {pre, post};
        return tok_json_sequence(tok, p, "processors", where, depth, seq_member, &c, err);
    }
    return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: post-processor type '%s' is not "
                   "supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, "
                   "BertProcessing, Sequence, or null)", tok->name, where, t);
}

static int32_t *dup_ids(const ids_list *l)
{
    int32_t *v = hxq_alloc_array(l->n, sizeof(int32_t));
    if (v && l->n)
        memcpy(v, l->v, (size_t)l->n * sizeof(int32_t));
    return v;
}

int tok_parse_post_processor(hxq_tokenizer *tok, const cJSON *p, hxq_error *err)
{
    ids_list pre = {{0}, 0}, post = {{0}, 0};
    if (p && !cJSON_IsNull(p))
        HXQ_TRY(parse_one(tok, p, &pre, &post, "post_processor", 0, err));
    if (!(tok->post_pre = dup_ids(&pre)) || !(tok->post_post = dup_ids(&post)))
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    tok->n_post_pre = pre.n;
    tok->n_post_post = post.n;
    tok->bos = pre.n ? pre.v[0] : -1; /* tokenizer_config.json may name another */
    return HXQ_OK;
}

/* The ids before and after a text, config flags applied. */
static void around(const hxq_tokenizer *tok, const int32_t **pre, int *npre, const int32_t **post,
                   int *npost)
{
    *pre = tok->post_pre;
    *npre = tok->n_post_pre;
    *post = tok->post_post;
    *npost = tok->n_post_post;
    if (tok->add_bos >= 0) {
        *pre = &tok->bos;
        *npre = tok->add_bos && tok->bos >= 0;
    }
    if (tok->add_eos >= 0) {
        *post = tok->eos;
        *npost = tok->add_eos && tok->n_eos > 0;
    }
}

int32_t hxq_tokenizer_bos_id(const hxq_tokenizer *tok)
{
    return tok ? tok->bos : -1;
}

int hxq_tokenizer_adds_bos(const hxq_tokenizer *tok)
{
    if (!tok || tok->bos < 0)
        return 0;
    const int32_t *pre, *post;
    int npre, npost;
    around(tok, &pre, &npre, &post, &npost);
    return npre > 0 && pre[0] == tok->bos;
}

int hxq_tokenizer_encode_special(const hxq_tokenizer *tok, const char *text, size_t len,
                                 int32_t **ids, int64_t *n_ids, hxq_error *err)
{
    int32_t *v;
    int64_t n;
    HXQ_TRY(hxq_tokenizer_encode(tok, text, len, &v, &n, err));
    const int32_t *pre, *post;
    int npre, npost;
    around(tok, &pre, &npre, &post, &npost);
    if (!npre && !npost) {
        *ids = v;
        *n_ids = n;
        return HXQ_OK;
    }
    int32_t *w = hxq_alloc_array(n + npre + npost, sizeof(int32_t));
    if (!w) {
        free(v);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory encoding text");
    }
    memcpy(w, pre, (size_t)npre * sizeof(int32_t));
    memcpy(w + npre, v, (size_t)n * sizeof(int32_t));
    memcpy(w + npre + n, post, (size_t)npost * sizeof(int32_t));
    free(v);
    *ids = w;
    *n_ids = n + npre + npost;
    return HXQ_OK;
}
