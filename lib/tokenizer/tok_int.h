/* tok_int.h - private structures of the tokenizer (lib/tokenizer/tok_*.c). */
#ifndef HXQ_TOK_INT_H
#define HXQ_TOK_INT_H

#include "hxq_tokenizer.h"

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Largest token id accepted from a tokenizer.json (a vocabulary this big
 * already needs hundreds of MB; larger ids are treated as corrupt). */
#define TOK_MAX_ID (1 << 24)
#define TOK_MAX_EOS 4

/* ---- string -> id hash map (open addressing, keys point into an arena) -- */
typedef struct tok_strmap_slot {
    const char *key; /* NULL = empty slot */
    uint32_t len;
    uint32_t tag;    /* high bits of the hash: most mismatches never touch key */
    int32_t val;
} tok_strmap_slot;

typedef struct tok_strmap {
    tok_strmap_slot *slots;
    uint32_t cap;      /* power of two */
    uint32_t count;
} tok_strmap;

int tok_strmap_init(tok_strmap *m, int64_t expected);
void tok_strmap_free(tok_strmap *m);
/* Inserts key (not copied: it must outlive the map). Returns 1 if inserted,
 * 0 if the key was present (value left unchanged), -1 on allocation
 * failure. */
int tok_strmap_put(tok_strmap *m, const char *key, uint32_t len, int32_t val);
/* The value for key, or -1. */
int32_t tok_strmap_get(const tok_strmap *m, const char *key, size_t len);
typedef struct tok_span tok_span;
/* out[i] = the value of keys[i], or -1, for n keys (memory latency hidden). */
void tok_strmap_get_many(const tok_strmap *m, const tok_span *keys, int n, int32_t *out);
/* Puts n keys (not copied) as tok_strmap_put() does, a present key kept.
 * 0, or -1 on allocation failure. */
int tok_strmap_put_many(tok_strmap *m, const tok_span *keys, const int32_t *vals, int n);
uint64_t tok_hash_bytes(const void *p, size_t len);

/* ---- merge pair (a, b) -> (rank, new id) ------------------------------ */
typedef struct tok_pair_slot {
    uint64_t key; /* (a << 32 | b); TOK_PAIR_EMPTY = empty slot */
    uint64_t val; /* (rank << 32 | new_id)                      */
} tok_pair_slot;

/* Key and value side by side: a look-up touches one cache line. */
typedef struct tok_pairmap {
    tok_pair_slot *slots;
    uint32_t cap;
    uint32_t count;
} tok_pairmap;

#define TOK_PAIR_EMPTY UINT64_MAX

int tok_pairmap_init(tok_pairmap *m, int64_t expected);
void tok_pairmap_free(tok_pairmap *m);
/* Sets (a, b) -> (rank, id), replacing an earlier value (a later merge line
 * wins, as in HF's HashMap). Returns 0 or -1 on allocation failure. */
int tok_pairmap_set(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t id);

static inline uint64_t tok_pair_mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

/* Fetches the line where (a, b) is looked for, ahead of a look-up. */
static inline void tok_pairmap_prefetch(const tok_pairmap *m, int32_t a, int32_t b)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    __builtin_prefetch(&m->slots[(uint32_t)tok_pair_mix(key) & (m->cap - 1)], 1);
}

/* Looks up (a, b): returns 1 and fills rank/id, or 0. */
static inline int tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b,
                                  int32_t *rank, int32_t *id)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = (uint32_t)tok_pair_mix(key) & mask;; i = (i + 1) & mask) {
        uint64_t k = m->slots[i].key;
        if (k == key) {
            *rank = (int32_t)(m->slots[i].val >> 32);
            *id = (int32_t)(uint32_t)m->slots[i].val;
            return 1;
        }
        if (k == TOK_PAIR_EMPTY)
            return 0;
    }
}

/* ---- tokens ------------------------------------------------------------ */
enum { TOK_F_PRESENT = 1, TOK_F_ADDED = 2, TOK_F_SPECIAL = 4 };

typedef struct tok_entry {
    const char *str;   /* tokenizer.json spelling, NUL-terminated (arena) */
    const char *bytes; /* decoded bytes (arena)                            */
    uint32_t str_len;
    uint32_t bytes_len;
    uint8_t flags;
} tok_entry;

typedef struct tok_added {
    const char *content; /* as matched (normalized tokens: NFC of content) */
    uint32_t len;
    int32_t id;
    uint8_t normalized, special, lstrip, rstrip, single_word;
} tok_added;

/* Leftmost-longest matcher over a set of added tokens (tok_added.c). */
typedef struct tok_matcher {
    const tok_added **cand;       /* tokens of 2+ bytes, by (first 2 bytes, -length) */
    int32_t *start2;              /* [65537]: group of key k is [start2[k], start2[k+1]) */
    int32_t n_multi;
    const tok_added *single[256]; /* one-byte tokens */
    uint8_t first[256];           /* bytes that start some token */
    int any;
    int one_first;                /* the only such byte, or -1 */
} tok_matcher;

/* A simple arena: blocks of bytes freed together. */
typedef struct tok_arena_block tok_arena_block;
typedef struct tok_arena {
    tok_arena_block *head;
} tok_arena;

char *tok_arena_alloc(tok_arena *a, size_t n);
char *tok_arena_dup(tok_arena *a, const char *s, size_t n); /* adds a NUL */
void tok_arena_free(tok_arena *a);

/* Special tokens of tokenizer_config.json that a chat template may use
 * besides bos_token / eos_token (transformers passes them all). */
enum { TOK_EXTRA_UNK, TOK_EXTRA_SEP, TOK_EXTRA_PAD, TOK_EXTRA_CLS, TOK_EXTRA_MASK, TOK_N_EXTRA };
extern const char *const tok_extra_token_names[TOK_N_EXTRA]; /* "unk_token" ... */

/* ---- patterns (tok_regex.c) --------------------------------------------
 * What HF's Pattern::find_matches runs over a string: the file's Oniguruma
 * regex (translated to PCRE2), a literal string, or a class of characters
 * (each matching character is one match). */
typedef enum {
    TOK_FIND_REGEX, TOK_FIND_LITERAL, TOK_FIND_NUMERIC, TOK_FIND_PUNCT, TOK_FIND_SPACE,
    TOK_FIND_CHAR
} tok_find_kind;

/* tok_fastsplit.c: the regexes matched without the engine on ASCII text. */
enum { TOK_FAST_NONE, TOK_FAST_GPT2, TOK_FAST_LLAMA3, TOK_FAST_QWEN };
/* Which known pattern the Oniguruma regex pat is (TOK_FAST_NONE if none). */
int tok_fast_kind(const char *pat, size_t len);
/* The length of the match at p, which begins there, or 0 when a non-ASCII
 * character decides it (then the regex engine must). */
size_t tok_fast_match(int kind, const char *s, size_t n, size_t p);

typedef struct tok_finder {
    tok_find_kind kind;
    int fast;         /* TOK_FAST_*: the regex is a known one */
    pcre2_code *re;   /* REGEX, and LITERAL when the literal is empty */
    const char *lit;  /* LITERAL (arena) */
    uint32_t lit_len;
    uint32_t cp;      /* CHAR */
} tok_finder;

/* Regex matching state of one call (match data, JIT stack on demand). */
typedef struct tok_re_scratch {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
} tok_re_scratch;

void tok_re_scratch_free(tok_re_scratch *rs);

/* Receives the segments of a string in order, as find_matches gives them:
 * [start, end) and whether it is a match. Returns HXQ_OK or a negative
 * status (with its message written), which stops the iteration. */
typedef int (*tok_seg_fn)(void *ctx, size_t start, size_t end, int is_match);

/* Compiles an Oniguruma (Ruby syntax) regex, as HF compiles the file's
 * patterns, into PCRE2 with the same matches, or refuses it
 * (HXQ_ERR_UNSUPPORTED naming where and what). */
int tok_regex_compile(const char *pat, size_t len, const char *name, const char *where,
                      pcre2_code **out, hxq_error *err);
/* A REGEX finder for the Oniguruma regex pat. */
int tok_finder_regex(const char *pat, size_t len, const char *name, const char *where,
                     tok_finder *f, hxq_error *err);
/* A finder for a tokenizer.json pattern object {"String": s} / {"Regex": r}. */
int tok_finder_parse(hxq_tokenizer *tok, const void *json_pattern, const char *where,
                     tok_finder *f, hxq_error *err);
void tok_finder_free(tok_finder *f);
/* Runs f over s[0, len) and calls cb for each segment (none when len is 0).
 * HXQ_OK, HXQ_ERR_NOMEM, HXQ_ERR_RANGE (regex engine failure) or the
 * callback's status. */
int tok_find_segments(const tok_finder *f, const char *s, size_t len, tok_re_scratch *rs,
                      tok_seg_fn cb, void *ctx, hxq_error *err);

/* Unicode helpers (tok_regex.c) as Rust's char methods. */
int tok_cp_is_space(int32_t cp);   /* char::is_whitespace (White_Space) */
int tok_cp_is_numeric(int32_t cp); /* char::is_numeric (N*)             */
int tok_cp_is_punct(int32_t cp);   /* ASCII punctuation or P*           */
/* Decodes the UTF-8 character at s[0] (valid UTF-8, n > 0): its length. */
size_t tok_utf8_next(const char *s, size_t n, int32_t *cp);

/* ---- split behaviours (tok_split.c) --------------------------------------
 * HF's SplitDelimiterBehavior over a stream of segments; non-empty pieces
 * go to emit(ctx, start, end). */
typedef enum {
    TOK_SPLIT_REMOVED, TOK_SPLIT_ISOLATED, TOK_SPLIT_MERGED_PREV, TOK_SPLIT_MERGED_NEXT,
    TOK_SPLIT_CONTIGUOUS
} tok_split_behavior;

typedef int (*tok_piece_fn)(void *ctx, size_t start, size_t end);

typedef struct tok_splitter {
    tok_split_behavior behavior;
    int invert;
    tok_piece_fn emit;
    void *ctx;
    int have, pend_match, prev_match; /* the held piece */
    size_t ps, pe;
} tok_splitter;

void tok_splitter_init(tok_splitter *sp, tok_split_behavior b, int invert, tok_piece_fn emit,
                       void *ctx);
int tok_splitter_seg(void *sp, size_t start, size_t end, int is_match); /* a tok_seg_fn */
int tok_splitter_end(tok_splitter *sp);
int tok_split_behavior_parse(const char *s, tok_split_behavior *out);

/* ---- normalizers (tok_normalize.c) ------------------------------------ */
typedef enum {
    TOK_NORM_NFC, TOK_NORM_NFKC, TOK_NORM_NFD, TOK_NORM_NFKD, TOK_NORM_LOWERCASE,
    TOK_NORM_STRIP, TOK_NORM_PREPEND, TOK_NORM_REPLACE
} tok_norm_kind;

typedef struct tok_norm_step {
    tok_norm_kind kind;
    uint8_t left, right;  /* Strip */
    const char *str;      /* Prepend / Replace content (arena) */
    uint32_t str_len;
    tok_finder pat;       /* Replace */
} tok_norm_step;

/* ---- pre-tokenizers (tok_pretok.c) -------------------------------------- */
typedef enum {
    TOK_PRE_BYTELEVEL, TOK_PRE_SPLIT, TOK_PRE_METASPACE, TOK_PRE_DIGITS, TOK_PRE_PUNCT,
    TOK_PRE_WHITESPACE, TOK_PRE_WSSPLIT, TOK_PRE_CHARDELIM
} tok_pre_kind;

typedef enum { TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER } tok_prepend;

typedef struct tok_pre_step {
    tok_pre_kind kind;
    tok_split_behavior behavior;
    uint8_t invert, add_prefix_space, use_regex, split;
    tok_prepend prepend;  /* Metaspace */
    char rep[4];          /* Metaspace replacement, UTF-8 */
    uint8_t rep_len;
    tok_finder find;      /* what splits (none for ByteLevel without regex) */
} tok_pre_step;

#define TOK_MAX_STEPS 16

/* ---- decoders (tok_decoders.c) -------------------------------------------- */
typedef enum {
    TOK_DEC_BYTELEVEL, TOK_DEC_REPLACE, TOK_DEC_BYTEFALLBACK, TOK_DEC_FUSE, TOK_DEC_STRIP,
    TOK_DEC_METASPACE
} tok_dec_kind;

typedef struct tok_dec_step {
    tok_dec_kind kind;
    uint8_t fused;        /* input is one growing token (after Fuse / ByteLevel) */
    uint8_t never;        /* Metaspace: prepend_scheme never */
    uint32_t cp;          /* Strip content / Metaspace replacement */
    int32_t start, stop;  /* Strip */
    const char *str;      /* Replace content (arena) */
    uint32_t str_len;
    tok_finder pat;       /* Replace */
} tok_dec_step;

/* Per-step state of a running decode (tok_decoders.c). */
typedef struct tok_dec_state {
    char *buf;            /* held bytes */
    size_t n, cap;
    int64_t count;        /* tokens seen (Metaspace), chars stripped (Strip) */
    int started;          /* Strip: past the leading characters */
} tok_dec_state;

/* ---- the tokenizer --------------------------------------------------------- */
struct hxq_tokenizer {
    char *name;                /* file name for messages */
    tok_arena arena;
    tok_entry *tokens;         /* [vocab_size]            */
    int32_t vocab_size;
    tok_strmap vocab;          /* model vocabulary: token string -> id */
    tok_strmap added_map;      /* added token content -> id            */
    tok_pairmap merges;
    int32_t unk_id;            /* -1 when none */
    int fuse_unk;
    int ignore_merges;
    int byte_fallback;
    int32_t byte_tok[256];     /* id of "<0xXX>" (byte_fallback), -1 */
    int32_t byte_id[256];      /* id of the byte-level char of each byte, -1 */
    int32_t ascii_id[128];     /* id of each ASCII character as a token, -1 */
    int32_t mark_id;           /* id of U+2581 as a token, -1 */
    int32_t space_split;       /* the model may cut words before U+2581 runs */
    uint8_t barrier[128];      /* ASCII characters whose token never merges */
    uint8_t cut_at[256];       /* bytes where a word may be cut: barriers, U+2581's first */
    int cut_words;             /* the model may cut words (space_split or barriers) */

    tok_norm_step *norm;       /* normalizer steps, in order */
    int n_norm;
    tok_pre_step *pre;         /* pre-tokenizer steps, in order */
    int n_pre;
    int bytelevel_words;       /* the last pre-tokenizer is ByteLevel: words are raw bytes */
    tok_dec_step *dec;         /* decoder steps, in order */
    int n_dec;
    int has_decoder;           /* 0: decoder null, tokens joined with spaces */

    tok_added *added;
    int32_t n_added;
    tok_matcher raw_match;     /* normalized == false */
    tok_matcher norm_match;    /* normalized == true  */

    int32_t *post_pre, *post_post; /* ids the post-processor puts around a text */
    int n_post_pre, n_post_post;

    int32_t eos[TOK_MAX_EOS];
    int n_eos;
    int32_t bos;
    int add_bos;               /* tokenizer_config.json: -1 absent, 0, 1 */
    int add_eos;
    char *chat_bos;            /* bos/eos strings the template uses */
    char *chat_eos;
    /* the chat template (in the arena; NULL when none) and the file it
     * came from; chat_no_default: a template list without "default" */
    const char *chat_template;
    size_t chat_template_len;
    const char *chat_template_src;
    int chat_no_default;
    const char *chat_extra[TOK_N_EXTRA]; /* unk/sep/pad/cls/mask strings (arena) or NULL */
};

struct cJSON;

/* tok_load.c: a printable, truncated copy of s for messages (in buf). */
const char *tok_quote(const char *s, size_t n, char *buf, size_t cap);
/* tok_load.c: tokenizer.json field helpers. where names the object for
 * messages ("pre_tokenizer.pretokenizers[1]"). */
const char *tok_json_type(const struct cJSON *o);
/* Optional boolean; *out keeps its value when the field is absent or null. */
int tok_json_flag(const struct cJSON *o, const char *key, int *out, const char *name,
                  const char *where, hxq_error *err);
/* Optional string; *out keeps its value when absent or null. */
int tok_json_str(const struct cJSON *o, const char *key, const char **out, const char *name,
                 const char *where, hxq_error *err);
/* Optional non-negative integer below 2^31; *out keeps its value when absent. */
int tok_json_count(const struct cJSON *o, const char *key, int32_t *out, const char *name,
                   const char *where, hxq_error *err);
/* HXQ_ERR_UNSUPPORTED naming the first field of o not in keys (NULL-ended;
 * "type" is always allowed). */
int tok_json_known(const struct cJSON *o, const char *const *keys, const char *name,
                   const char *where, hxq_error *err);
/* One member of a Sequence: where names it ("normalizer.normalizers[2]"). */
typedef int (*tok_json_member_fn)(hxq_tokenizer *tok, const struct cJSON *e,
                                  const char *where, int depth, void *ctx, hxq_error *err);
/* A {"type": "Sequence", key: [...]} component: checks that the list is
 * there and the fields are known, bounds the nesting (Sequences at most 4
 * deep), and calls each(tok, member, "<where>.<key>[i]", depth + 1, ctx)
 * in order, stopping at the first error. */
int tok_json_sequence(hxq_tokenizer *tok, const struct cJSON *seq, const char *key,
                      const char *where, int depth, tok_json_member_fn each, void *ctx,
                      hxq_error *err);
/* A string holding exactly one character: its code point and UTF-8. */
int tok_json_char(const struct cJSON *o, const char *key, uint32_t *cp, char *utf8,
                  uint8_t *len, const char *name, const char *where, hxq_error *err);
/* An integer id in [0, TOK_MAX_ID), or -1. */
int tok_json_id(const struct cJSON *v, int32_t *out);

/* tok_fastjson.c / tok_load.c: model.vocab and model.merges as flat lists.
 * Strings point into the JSON text, the arena or a cJSON tree; a malformed
 * merge (cJSON path only) has ma[i].p NULL, a vocabulary value that is not
 * a number the id NAN. */
struct tok_span {
    const char *p;
    uint32_t n;
};

typedef struct tok_model_lists {
    tok_span *key;     /* [n_vocab] */
    double *id;
    int64_t n_vocab;
    tok_span *ma, *mb; /* [n_merges] the two halves */
    int64_t n_merges;
    char *rest;        /* the JSON with the two values as {} and [] (fast path) */
    size_t rest_len;
} tok_model_lists;

/* Reads model.vocab and model.merges from the text, and the rest for
 * cJSON. HXQ_OK; 1 when the file is unusual (then parse it all with
 * cJSON); HXQ_ERR_NOMEM. */
int tok_fastjson_split(hxq_tokenizer *tok, const char *json, size_t len, tok_model_lists *l);
void tok_model_lists_free(tok_model_lists *l);

/* tok_utf8.c: the GPT-2 byte <-> unicode table. */
uint32_t tok_byte_to_cp(uint8_t b);
/* The byte of a code point, or -1 when cp is not in the table. */
int tok_cp_to_byte(uint32_t cp);
/* Writes the byte-level (GPT-2) characters of s[0, n) to out (2 n bytes
 * at most); returns the length written. */
size_t tok_bytelevel_map(const uint8_t *s, size_t n, char *out);

/* Appends from_utf8_lossy(s) to the growing buffer *buf (len/cap). */
int tok_utf8_lossy_append(const uint8_t *s, size_t len, char **buf, size_t *blen,
                          size_t *bcap);
/* Bytes at the end of s that form an incomplete but possibly valid UTF-8
 * sequence (0..3). */
size_t tok_utf8_incomplete_tail(const uint8_t *s, size_t len);
/* Grows a byte buffer to hold need bytes. 0 or -1. */
int tok_buf_reserve(char **buf, size_t *cap, size_t need);
/* The first occurrence of needle[0, m) (m > 0) in hay[0, n), or NULL
 * (memmem, which C11 lacks). */
const char *tok_memmem(const char *hay, size_t n, const char *needle, size_t m);
/* Appends n bytes to a growing buffer. 0 or -1. */
int tok_buf_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n);

/* tok_normalize.c */
int tok_parse_normalizer(hxq_tokenizer *tok, const struct cJSON *n, hxq_error *err);
void tok_normalizer_free(hxq_tokenizer *tok);
/* Runs the normalizer over s; on success *out is malloc'd (or NULL when the
 * text is unchanged: then use s). *first_span, when not NULL, is the number
 * of leading bytes that come from the text's first character (0 when the
 * text does not start the input); it is updated to the normalized text. */
int tok_normalize(const hxq_tokenizer *tok, const char *s, size_t len, size_t *first_span,
                  tok_re_scratch *rs, char **out, size_t *out_len, hxq_error *err);

/* tok_added.c */
int tok_matcher_build(tok_matcher *m, const tok_added *added, int32_t n, int normalized);
void tok_matcher_free(tok_matcher *m);
/* Finds the leftmost-longest added token in s[from, len): returns 1 and the
 * match span [*mstart, *mend) (lstrip/rstrip whitespace included) and its
 * token, or 0. */
int tok_matcher_find(const tok_matcher *m, const char *s, size_t len, size_t from,
                     size_t *mstart, size_t *mend, const tok_added **tok);

/* tok_bpe.c: scratch reused across the words of one encode call. */
typedef struct tok_bpe_scratch {
    int32_t *sym;    /* symbol ids           */
    int32_t *prev, *next;
    uint64_t *heap;  /* (rank << 32 | pos)   */
    char *word;      /* ignore_merges lookups */
    int64_t cap;
} tok_bpe_scratch;

typedef struct tok_ids {
    int32_t *v;
    int64_t n, cap;
} tok_ids;

/* Appends an id. 0, or -1 on allocation failure. */
int tok_ids_grow(tok_ids *ids, int32_t id); /* the slow half of tok_ids_push */
static inline int tok_ids_push(tok_ids *ids, int32_t id)
{
    if (ids->n == ids->cap)
        return tok_ids_grow(ids, id);
    ids->v[ids->n++] = id;
    return 0;
}
/* Encodes one pre-tokenized word and appends its ids: raw bytes, each one
 * byte-level character (bytelevel), or UTF-8 text whose characters are
 * looked up in the vocabulary. whole: ignore_merges may take the word as
 * one token. 0, or -1 on allocation failure. */
int tok_bpe_word(const hxq_tokenizer *tok, const uint8_t *w, size_t n, int bytelevel, int whole,
                 tok_bpe_scratch *s, tok_ids *out);
void tok_bpe_scratch_free(tok_bpe_scratch *s);
/* Precomputes the model's per-character tables (after vocab and added
 * tokens are loaded). */
void tok_bpe_prepare(hxq_tokenizer *tok);

/* tok_cache.c: word -> ids memo of one encode call (long texts only). */
#define TOK_CACHE_MAX_WORD 64
#define TOK_CACHE_MIN_TEXT 4096 /* bytes of text before caching pays off */
typedef struct tok_cache_slot {
    uint64_t head;       /* the word's first 8 bytes (zero-padded)       */
    uint32_t tag;        /* high half of the word's hash                 */
    uint32_t woff;       /* where a word longer than 8 bytes is kept     */
    int32_t ioff;        /* where its ids are; the id itself when nids 1 */
    uint16_t wlen, nids; /* wlen 0 = empty                               */
} tok_cache_slot;

typedef struct tok_cache {
    tok_cache_slot *slots; /* NULL: caching off */
    char *bytes;
    int32_t *ids;
    size_t nbytes, bytes_cap, nids, ids_cap; /* ids_cap in bytes */
    uint32_t count;
} tok_cache;

int tok_cache_init(tok_cache *c);
void tok_cache_free(tok_cache *c);
/* The cached ids of word w, or NULL. */
const int32_t *tok_cache_get(const tok_cache *c, const uint8_t *w, size_t n, uint32_t *nids);
/* Remembers ids for w (silently not when full or out of memory). */
void tok_cache_put(tok_cache *c, const uint8_t *w, size_t n, const int32_t *ids, uint32_t nids);

/* tok_pretok.c: per-encode-call state of the pre-tokenizer and model. */
typedef struct tok_pretok_ctx {
    tok_re_scratch rs;
    tok_bpe_scratch bpe;
    tok_cache cache;
    tok_ids *out;
    char *buf[TOK_MAX_STEPS][2]; /* per-step text buffers */
    size_t cap[TOK_MAX_STEPS][2];
    hxq_error *err;
} tok_pretok_ctx;

int tok_parse_pre_tokenizer(hxq_tokenizer *tok, const struct cJSON *p, hxq_error *err);
void tok_pre_tokenizer_free(hxq_tokenizer *tok);
void tok_pretok_ctx_free(tok_pretok_ctx *c);
/* Pre-tokenizes one normalized piece (no added tokens inside) and
 * BPE-encodes it. first_span: see tok_normalize(). */
int tok_pretok_run(const hxq_tokenizer *tok, const char *s, size_t len, size_t first_span,
                   tok_pretok_ctx *c, hxq_error *err);

/* tok_decoders.c */
int tok_parse_decoder(hxq_tokenizer *tok, const struct cJSON *d, hxq_error *err);
void tok_decoder_free(hxq_tokenizer *tok);
/* The bytes a token contributes in the middle of a decoded text (arena). */
int tok_decoder_token_bytes(hxq_tokenizer *tok, const char *s, size_t n, const char **out,
                            uint32_t *out_len);
/* Feeds one token (its tokenizer.json string; e its entry or NULL) through
 * the decoder, appending finished text to *out. */
int tok_decoder_push(const hxq_tokenizer *tok, tok_dec_state *st, const tok_entry *e,
                     char **out, size_t *olen, size_t *ocap);
/* Ends the text: flushes every step; resets st. */
int tok_decoder_finish(const hxq_tokenizer *tok, tok_dec_state *st, char **out, size_t *olen,
                       size_t *ocap);
void tok_decoder_state_free(tok_dec_state *st, int n);

/* tok_post.c */
int tok_parse_post_processor(hxq_tokenizer *tok, const struct cJSON *p, hxq_error *err);

/* tok_config.c */
int tok_find_default_eos(hxq_tokenizer *tok);

#endif
