/* tok_pretok.c - the pre-tokenizer: a sequence of steps, each splitting
 * every piece the previous step produced (HF's PreTokenizedString::split),
 * then BPE on each final piece ("word"):
 *   ByteLevel       a space in front (add_prefix_space), the GPT-2 regex
 *                   (use_regex), then each byte as its GPT-2 character
 *   Split           the file's pattern, with its behaviour and invert
 *   Metaspace       ' ' -> replacement, the replacement in front (prepend
 *                   scheme always / first: only the piece that starts the
 *                   input / never), then a split before each replacement
 *   Digits          numeric characters apart (individual_digits) or in runs
 *   Punctuation     ASCII punctuation and P* characters (its behaviour)
 *   Whitespace      \w+|[^\w\s]+ (Oniguruma classes), the rest removed
 *   WhitespaceSplit on White_Space, removed
 *   CharDelimiterSplit  on one character, removed
 *   BertPreTokenizer    WhitespaceSplit then Punctuation
 * Pieces flow depth-first through the steps, so nothing is collected: each
 * step that rewrites text has its own buffers in the call's context.
 *
 * The GPT-2 regex of ByteLevel is
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * in Oniguruma syntax, translated like the file's own patterns (tok_regex.c):
 * \s is the White_Space set. Backtracking in \s+(?!\S) is the same in both
 * engines: a whitespace run followed by a non-space gives back its last
 * character. */
#include "tok_int.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char gpt2_regex[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char whitespace_regex[] = "\\w+|[^\\w\\s]+";

/* ---- parsing ---------------------------------------------------------------- */

static tok_pre_step *new_step(hxq_tokenizer *tok, tok_pre_kind kind, const char *where,
                              hxq_error *err)
{
    if (tok->n_pre >= TOK_MAX_STEPS) {
        hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s: more than %d pre-tokenizers", tok->name,
                where, TOK_MAX_STEPS);
        return NULL;
    }
    tok_pre_step *st = &tok->pre[tok->n_pre++];
    memset(st, 0, sizeof(*st));
    st->kind = kind;
    return st;
}

static int behavior(hxq_tokenizer *tok, const cJSON *p, const char *where, const char *dflt,
                    tok_split_behavior *out, hxq_error *err)
{
    const char *b = dflt;
    HXQ_TRY(tok_json_str(p, "behavior", &b, tok->name, where, err));
    if (!b || tok_split_behavior_parse(b, out) < 0)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s.behavior '%s' is not supported "
                       "(Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)",
                       tok->name, where, b ? b : "null");
    return HXQ_OK;
}

static int parse_bytelevel(hxq_tokenizer *tok, const cJSON *p, const char *where,
                           hxq_error *err)
{
    static const char *const keys[] = {"add_prefix_space", "trim_offsets", "use_regex", NULL};
    HXQ_TRY(tok_json_known(p, keys, tok->name, where, err));
    tok_pre_step *st = new_step(tok, TOK_PRE_BYTELEVEL, where, err);
    if (!st)
        return HXQ_ERR_UNSUPPORTED;
    int aps = 1, re = 1; /* HF's defaults */
    HXQ_TRY(tok_json_flag(p, "add_prefix_space", &aps, tok->name, where, err));
    HXQ_TRY(tok_json_flag(p, "use_regex", &re, tok->name, where, err));
    st->add_prefix_space = (uint8_t)aps;
    st->use_regex = (uint8_t)re;
    if (!re)
        return HXQ_OK;
    return tok_finder_regex(gpt2_regex, sizeof(gpt2_regex) - 1, tok->name, where, &st->find, err);
}

static int parse_metaspace(hxq_tokenizer *tok, const cJSON *p, const char *where,
                           hxq_error *err)
{
    static const char *const keys[] = {"replacement", "prepend_scheme", "split",
                                       "add_prefix_space", "str_rep", NULL};
    HXQ_TRY(tok_json_known(p, keys, tok->name, where, err));
    tok_pre_step *st = new_step(tok, TOK_PRE_METASPACE, where, err);
    if (!st)
        return HXQ_ERR_UNSUPPORTED;
    uint32_t cp;
    HXQ_TRY(tok_json_char(p, "replacement", &cp, st->rep, &st->rep_len, tok->name, where, err));
    const char *scheme = NULL;
    int split = 1, aps = -1;
    HXQ_TRY(tok_json_str(p, "prepend_scheme", &scheme, tok->name, where, err));
    HXQ_TRY(tok_json_flag(p, "split", &split, tok->name, where, err));
    HXQ_TRY(tok_json_flag(p, "add_prefix_space", &aps, tok->name, where, err));
    st->split = (uint8_t)split;
    st->prepend = TOK_PREPEND_ALWAYS;
    if (aps == 0 && (!scheme || strcmp(scheme, "never")))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s: add_prefix_space false needs "
                       "prepend_scheme \"never\"", tok->name, where);
    if (scheme) {
        tok_prepend ps = !strcmp(scheme, "always") ? TOK_PREPEND_ALWAYS
                       : !strcmp(scheme, "first") ? TOK_PREPEND_FIRST
                       : !strcmp(scheme, "never") ? TOK_PREPEND_NEVER : (tok_prepend)-1;
        if ((int)ps < 0)
            return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: %s.prepend_scheme '%s' is not "
                           "supported (always, first, never)", tok->name, where, scheme);
        st->prepend = ps;
    }
    st->find.kind = TOK_FIND_CHAR;
    st->find.cp = cp;
    return HXQ_OK;
}

/* A step that splits on a class of characters. */
static int class_step(hxq_tokenizer *tok, tok_pre_kind kind, tok_find_kind fk,
                      tok_split_behavior b, const char *where, hxq_error *err)
{
    tok_pre_step *st = new_step(tok, kind, where, err);
    if (!st)
        return HXQ_ERR_UNSUPPORTED;
    st->find.kind = fk;
    st->behavior = b;
    return HXQ_OK;
}

static int parse_split(hxq_tokenizer *tok, const cJSON *p, const char *where, hxq_error *err)
{
    static const char *const keys[] = {"pattern", "behavior", "invert", NULL};
    HXQ_TRY(tok_json_known(p, keys, tok->name, where, err));
    tok_pre_step *st = new_step(tok, TOK_PRE_SPLIT, where, err);
    if (!st)
        return HXQ_ERR_UNSUPPORTED;
    int invert = 0;
    HXQ_TRY(tok_json_flag(p, "invert", &invert, tok->name, where, err));
    st->invert = (uint8_t)invert;
    HXQ_TRY(behavior(tok, p, where, NULL, &st->behavior, err));
    return tok_finder_parse(tok, cJSON_GetObjectItemCaseSensitive(p, "pattern"), where,
                            &st->find, err);
}

static int add_pre(hxq_tokenizer *tok, const cJSON *p, const char *where, int depth,
                   void *ctx, hxq_error *err)
{
    static const char *const none[] = {NULL};
    const char *t = cJSON_IsObject(p) ? tok_json_type(p) : NULL;
    if (!t)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %s must be an object with a \"type\"",
                       tok->name, where);
    if (!strcmp(t, "Sequence")) {
        return tok_json_sequence(tok, p, "pretokenizers", where, depth, add_pre, NULL, err);
    }
    if (!strcmp(t, "ByteLevel"))
        return parse_bytelevel(tok, p, where, err);
    if (!strcmp(t, "Split"))
        return parse_split(tok, p, where, err);
    if (!strcmp(t, "Metaspace"))
        return parse_metaspace(tok, p, where, err);
    if (!strcmp(t, "Digits")) {
        static const char *const keys[] = {"individual_digits", NULL};
        int ind = 0;
        HXQ_TRY(tok_json_known(p, keys, tok->name, where, err));
        HXQ_TRY(tok_json_flag(p, "individual_digits", &ind, tok->name, where, err));
        return class_step(tok, TOK_PRE_DIGITS, TOK_FIND_NUMERIC,
                          ind ? TOK_SPLIT_ISOLATED : TOK_SPLIT_CONTIGUOUS, where, err);
    }
    if (!strcmp(t, "Punctuation")) {
        static const char *const keys[] = {"behavior", NULL};
        tok_split_behavior b;
        HXQ_TRY(tok_json_known(p, keys, tok->name, where, err));
        HXQ_TRY(behavior(tok, p, where, "Isolated", &b, err));
        return class_step(tok, TOK_PRE_PUNCT, TOK_FIND_PUNCT, b, where, err);
    }
    if (!strcmp(t, "WhitespaceSplit") || !strcmp(t, "BertPreTokenizer")) {
        HXQ_TRY(tok_json_known(p, none, tok->name, where, err));
        HXQ_TRY(class_step(tok, TOK_PRE_WSSPLIT, TOK_FIND_SPACE, TOK_SPLIT_REMOVED, where, err));
        return t[0] == 'B' ? class_step(tok, TOK_PRE_PUNCT, TOK_FIND_PUNCT, TOK_SPLIT_ISOLATED,
                                        where, err)
                           : HXQ_OK;
    }
    if (!strcmp(t, "Whitespace")) {
        HXQ_TRY(tok_json_known(p, none, tok->name, where, err));
        tok_pre_step *st = new_step(tok, TOK_PRE_WHITESPACE, where, err);
        if (!st)
            return HXQ_ERR_UNSUPPORTED;
        st->behavior = TOK_SPLIT_REMOVED;
        st->invert = 1;
        return tok_finder_regex(whitespace_regex, sizeof(whitespace_regex) - 1, tok->name,
                                where, &st->find, err);
    }
    if (!strcmp(t, "CharDelimiterSplit")) {
        static const char *const keys[] = {"delimiter", NULL};
        HXQ_TRY(tok_json_known(p, keys, tok->name, where, err));
        tok_pre_step *st = new_step(tok, TOK_PRE_CHARDELIM, where, err);
        if (!st)
            return HXQ_ERR_UNSUPPORTED;
        st->behavior = TOK_SPLIT_REMOVED;
        st->find.kind = TOK_FIND_CHAR;
        return tok_json_char(p, "delimiter", &st->find.cp, st->rep, &st->rep_len, tok->name,
                             where, err);
    }
    return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                   "%s: %s: pre-tokenizer type '%s' is not supported (supported: Sequence, "
                   "ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace, "
                   "WhitespaceSplit, CharDelimiterSplit, BertPreTokenizer)", tok->name, where, t);
}

int tok_parse_pre_tokenizer(hxq_tokenizer *tok, const cJSON *p, hxq_error *err)
{
    if (!p || cJSON_IsNull(p))
        return HXQ_OK;
    tok->pre = calloc(TOK_MAX_STEPS, sizeof(*tok->pre));
    if (!tok->pre)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", tok->name);
    HXQ_TRY(add_pre(tok, p, "pre_tokenizer", 0, NULL, err));
    tok->bytelevel_words = tok->n_pre > 0 && tok->pre[tok->n_pre - 1].kind == TOK_PRE_BYTELEVEL;
    return HXQ_OK;
}

void tok_pre_tokenizer_free(hxq_tokenizer *tok)
{
    for (int i = 0; i < tok->n_pre; i++)
        tok_finder_free(&tok->pre[i].find);
    free(tok->pre);
    tok->pre = NULL;
    tok->n_pre = 0;
}

void tok_pretok_ctx_free(tok_pretok_ctx *c)
{
    tok_re_scratch_free(&c->rs);
    tok_bpe_scratch_free(&c->bpe);
    tok_cache_free(&c->cache);
    for (int i = 0; i < TOK_MAX_STEPS; i++)
        for (int k = 0; k < 2; k++)
            free(c->buf[i][k]);
}

/* ---- running ------------------------------------------------------------------ */

static int nomem(hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_NOMEM, "out of memory encoding text");
}

/* BPE over one part of a word, through the call's cache. */
static int model_part(const hxq_tokenizer *tok, tok_pretok_ctx *c, const char *s, size_t n)
{
    const uint8_t *w = (const uint8_t *)s;
    uint32_t k;
    const int32_t *hit = tok_cache_get(&c->cache, w, n, &k);
    if (hit) {
        for (uint32_t i = 0; i < k; i++)
            if (tok_ids_push(c->out, hit[i]) < 0)
                return nomem(c->err);
        return HXQ_OK;
    }
    int64_t before = c->out->n;
    if (tok_bpe_word(tok, w, n, tok->bytelevel_words, 1, &c->bpe, c->out) < 0)
        return nomem(c->err);
    if (c->out->n > before) /* a word of dropped characters gives nothing to keep */
        tok_cache_put(&c->cache, w, n, c->out->v + before, (uint32_t)(c->out->n - before));
    return HXQ_OK;
}

#define SPACE_MARK "\xe2\x96\x81" /* U+2581, SentencePiece's space */

/* A word for the model, cut where no merge can cross (tok_bpe_prepare):
 * before a U+2581 run that follows another character when no vocabulary
 * token has U+2581 after another character (space_split), and around an
 * ASCII character whose token is in no merge (a barrier, e.g. Llama-2's
 * "\n" as <0x0A>). A whole text without pre-tokenizer so becomes short,
 * cacheable parts with the same BPE result. */
static int model_word(const hxq_tokenizer *tok, tok_pretok_ctx *c, const char *s, size_t n)
{
    if (!n)
        return HXQ_OK;
    if (!tok->cut_words)
        return model_part(tok, c, s, n);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        while (i < n && !tok->cut_at[(uint8_t)s[i]])
            i++;
        if (i == n)
            break;
        uint8_t b = (uint8_t)s[i];
        if (b < 0x80) {
            if (i > start)
                HXQ_TRY(model_part(tok, c, s + start, i - start));
            HXQ_TRY(model_part(tok, c, s + i, 1));
            start = i + 1;
        } else if (i > start && i + 3 <= n &&
                   !memcmp(s + i, SPACE_MARK, 3) && !(i >= 3 && !memcmp(s + i - 3, SPACE_MARK, 3))) {
            HXQ_TRY(model_part(tok, c, s + start, i - start));
            start = i;
        }
    }
    return start < n ? model_part(tok, c, s + start, n - start) : HXQ_OK;
}

static int stage(const hxq_tokenizer *tok, tok_pretok_ctx *c, int i, const char *s, size_t n,
                 size_t fs);

/* The common case of byte-level tokenizers (GPT-2, Llama-3, Qwen: a regex
 * split into isolated pieces, then ByteLevel as the last step without
 * anything else to do): each segment of the regex is a word. */
typedef struct words_ctx {
    const hxq_tokenizer *tok;
    tok_pretok_ctx *c;
    const char *s;
} words_ctx;

static int word_seg(void *p, size_t a, size_t b, int m)
{
    (void)m;
    words_ctx *w = p;
    return model_part(w->tok, w->c, w->s + a, b - a);
}

static int isolated_words(const hxq_tokenizer *tok, tok_pretok_ctx *c, const tok_finder *f,
                          const char *s, size_t n)
{
    words_ctx w = {tok, c, s};
    return tok_find_segments(f, s, n, &c->rs, word_seg, &w, c->err);
}

/* Step i is a regex split of isolated pieces that go to a last ByteLevel
 * step with neither a prefix space nor a regex of its own. */
static int isolated_then_bytes(const hxq_tokenizer *tok, int i)
{
    const tok_pre_step *st = &tok->pre[i], *nx = &tok->pre[i + 1];
    return st->kind == TOK_PRE_SPLIT && st->find.kind == TOK_FIND_REGEX &&
           st->behavior == TOK_SPLIT_ISOLATED && !st->invert && i + 2 == tok->n_pre &&
           nx->kind == TOK_PRE_BYTELEVEL && !nx->add_prefix_space && !nx->use_regex;
}

/* Pieces of a splitting step go on to the next step. */
typedef struct piece_ctx {
    const hxq_tokenizer *tok;
    tok_pretok_ctx *c;
    int next;
    const char *s;
    size_t fs;
} piece_ctx;

static int next_piece(void *p, size_t a, size_t b)
{
    piece_ctx *pc = p;
    return stage(pc->tok, pc->c, pc->next, pc->s + a, b - a, pc->fs > a ? pc->fs - a : 0);
}

static int split_by(const hxq_tokenizer *tok, tok_pretok_ctx *c, int i, const tok_finder *f,
                    tok_split_behavior b, int invert, const char *s, size_t n, size_t fs)
{
    piece_ctx pc = {tok, c, i + 1, s, fs};
    tok_splitter sp;
    tok_splitter_init(&sp, b, invert, next_piece, &pc);
    HXQ_TRY(tok_find_segments(f, s, n, &c->rs, tok_splitter_seg, &sp, c->err));
    return tok_splitter_end(&sp);
}

static char *reserve(tok_pretok_ctx *c, int i, int k, size_t n)
{
    return tok_buf_reserve(&c->buf[i][k], &c->cap[i][k], n ? n : 1) < 0 ? NULL : c->buf[i][k];
}

/* ByteLevel: each piece as raw bytes to the model when this is the last
 * step, else as its byte-level characters to the next step. */
static int bytelevel_piece(void *p, size_t a, size_t b)
{
    piece_ctx *pc = p;
    const char *s = pc->s + a;
    size_t n = b - a, fs = pc->fs > a ? pc->fs - a : 0;
    if (pc->next == pc->tok->n_pre)
        return model_word(pc->tok, pc->c, s, n);
    if (n > SIZE_MAX / 2)
        return nomem(pc->c->err);
    char *m = reserve(pc->c, pc->next - 1, 1, 2 * n);
    if (!m)
        return nomem(pc->c->err);
    size_t mfs = tok_bytelevel_map((const uint8_t *)s, fs < n ? fs : n, m);
    return stage(pc->tok, pc->c, pc->next, m, tok_bytelevel_map((const uint8_t *)s, n, m),
                 fs ? mfs : 0);
}

static int bytelevel(const hxq_tokenizer *tok, tok_pretok_ctx *c, int i, const char *s,
                     size_t n, size_t fs)
{
    const tok_pre_step *st = &tok->pre[i];
    if (st->add_prefix_space && s[0] != ' ') {
        char *b = reserve(c, i, 0, n + 1);
        if (!b || n == SIZE_MAX)
            return nomem(c->err);
        b[0] = ' ';
        memcpy(b + 1, s, n);
        s = b;
        n++;
        fs = fs ? fs + 1 : 0;
    }
    piece_ctx pc = {tok, c, i + 1, s, fs};
    if (!st->use_regex)
        return bytelevel_piece(&pc, 0, n);
    if (i + 1 == tok->n_pre)
        return isolated_words(tok, c, &st->find, s, n);
    tok_splitter sp;
    tok_splitter_init(&sp, TOK_SPLIT_ISOLATED, 0, bytelevel_piece, &pc);
    HXQ_TRY(tok_find_segments(&st->find, s, n, &c->rs, tok_splitter_seg, &sp, c->err));
    return tok_splitter_end(&sp);
}

/* Metaspace: spaces become the replacement, which may go in front. */
static int metaspace(const hxq_tokenizer *tok, tok_pretok_ctx *c, int i, const char *s,
                     size_t n, size_t fs)
{
    const tok_pre_step *st = &tok->pre[i];
    size_t spaces = 0, fspaces = 0;
    for (size_t k = 0; k < n; k++)
        if (s[k] == ' ') {
            spaces++;
            fspaces += k < fs;
        }
    int lead = n && s[0] == ' ';
    int starts = lead || (n >= st->rep_len && !memcmp(s, st->rep, st->rep_len));
    int prepend = !starts && (st->prepend == TOK_PREPEND_ALWAYS ||
                              (st->prepend == TOK_PREPEND_FIRST && fs > 0));
    if (spaces || prepend) {
        size_t grow = (size_t)st->rep_len - 1;
        if (n > (SIZE_MAX - 8) / 4)
            return nomem(c->err);
        char *b = reserve(c, i, 0, n + spaces * grow + st->rep_len);
        if (!b)
            return nomem(c->err);
        size_t w = 0;
        if (prepend) {
            memcpy(b, st->rep, st->rep_len);
            w = st->rep_len;
        }
        for (size_t k = 0; k < n; k++) {
            if (s[k] == ' ') {
                memcpy(b + w, st->rep, st->rep_len);
                w += st->rep_len;
            } else {
                b[w++] = s[k];
            }
        }
        if (fs)
            fs += fspaces * grow + (prepend ? st->rep_len : 0);
        s = b;
        n = w;
    }
    if (!st->split)
        return stage(tok, c, i + 1, s, n, fs);
    return split_by(tok, c, i, &st->find, TOK_SPLIT_MERGED_NEXT, 0, s, n, fs);
}

/* Runs step i over the piece s (non-empty); past the last step, the model. */
static int stage(const hxq_tokenizer *tok, tok_pretok_ctx *c, int i, const char *s, size_t n,
                 size_t fs)
{
    if (!n)
        return HXQ_OK;
    if (i == tok->n_pre)
        return model_word(tok, c, s, n);
    const tok_pre_step *st = &tok->pre[i];
    switch (st->kind) {
    case TOK_PRE_BYTELEVEL:
        return bytelevel(tok, c, i, s, n, fs);
    case TOK_PRE_METASPACE:
        return metaspace(tok, c, i, s, n, fs);
    case TOK_PRE_SPLIT:
        if (isolated_then_bytes(tok, i))
            return isolated_words(tok, c, &st->find, s, n);
        /* fall through */
    default:
        return split_by(tok, c, i, &st->find, st->behavior, st->invert, s, n, fs);
    }
}

int tok_pretok_run(const hxq_tokenizer *tok, const char *s, size_t len, size_t first_span,
                   tok_pretok_ctx *c, hxq_error *err)
{
    c->err = err;
    return stage(tok, c, 0, s, len, first_span);
}
