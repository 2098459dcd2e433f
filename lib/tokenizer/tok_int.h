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
uint64_t tok_hash_bytes(const void *p, size_t len);

/* ---- merge pair (a, b) -> (rank, new id) ------------------------------ */
typedef struct tok_pairmap {
    uint64_t *keys; /* (a << 32 | b); TOK_PAIR_EMPTY = empty slot */
    uint64_t *vals; /* (rank << 32 | new_id)                      */
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

/* Looks up (a, b): returns 1 and fills rank/id, or 0. */
static inline int tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b,
                                  int32_t *rank, int32_t *id)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = (uint32_t)tok_pair_mix(key) & mask;; i = (i + 1) & mask) {
        uint64_t k = m->keys[i];
        if (k == key) {
            *rank = (int32_t)(m->vals[i] >> 32);
            *id = (int32_t)(uint32_t)m->vals[i];
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
} tok_matcher;

typedef enum { TOK_NORM_NONE, TOK_NORM_NFC, TOK_NORM_NFKC, TOK_NORM_NFD, TOK_NORM_NFKD } tok_norm;

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

struct hxq_tokenizer {
    char *name;                /* file name for messages */
    tok_arena arena;
    tok_entry *tokens;         /* [vocab_size]            */
    int32_t vocab_size;
    tok_strmap vocab;          /* model vocabulary: token string -> id */
    tok_strmap added_map;      /* added token content -> id            */
    tok_pairmap merges;
    int32_t byte_id[256];      /* id of the byte-level char of each byte, -1 */
    int32_t unk_id;            /* -1 when none */
    int fuse_unk;
    int ignore_merges;

    tok_norm norm;
    int add_prefix_space;
    int use_regex;
    pcre2_code *re;

    tok_added *added;
    int32_t n_added;
    tok_matcher raw_match;     /* normalized == false */
    tok_matcher norm_match;    /* normalized == true  */

    int32_t eos[TOK_MAX_EOS];
    int n_eos;
    int32_t bos;
    int add_bos;
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

/* tok_load.c: a printable, truncated copy of s for messages (in buf). */
const char *tok_quote(const char *s, size_t n, char *buf, size_t cap);

/* tok_utf8.c: the GPT-2 byte <-> unicode table. */
uint32_t tok_byte_to_cp(uint8_t b);
/* The byte of a code point, or -1 when cp is not in the table. */
int tok_cp_to_byte(uint32_t cp);

/* Appends from_utf8_lossy(s) to the growing buffer *buf (len/cap). */
int tok_utf8_lossy_append(const uint8_t *s, size_t len, char **buf, size_t *blen,
                          size_t *bcap);
/* Bytes at the end of s that form an incomplete but possibly valid UTF-8
 * sequence (0..3). */
size_t tok_utf8_incomplete_tail(const uint8_t *s, size_t len);
/* Grows a byte buffer to hold need bytes. 0 or -1. */
int tok_buf_reserve(char **buf, size_t *cap, size_t need);

/* tok_normalize.c */
/* Normalizes s; on success *out is malloc'd (or NULL when the text is
 * unchanged: then use s). */
int tok_normalize(tok_norm norm, const char *s, size_t len, char **out, size_t *out_len,
                  hxq_error *err);

/* tok_added.c */
int tok_matcher_build(tok_matcher *m, const tok_added *added, int32_t n, int normalized);
void tok_matcher_free(tok_matcher *m);
/* Finds the leftmost-longest added token in s[from, len): returns 1 and the
 * match span [*mstart, *mend) (lstrip/rstrip whitespace included) and its
 * token, or 0. */
int tok_matcher_find(const tok_matcher *m, const char *s, size_t len, size_t from,
                     size_t *mstart, size_t *mend, const tok_added **tok);

/* tok_pretok.c */
int tok_regex_compile(hxq_tokenizer *tok, hxq_error *err);

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
int tok_ids_push(tok_ids *ids, int32_t id);
/* Encodes one pre-tokenized word (raw bytes) and appends its ids.
 * 0, or -1 on allocation failure. */
int tok_bpe_word(const hxq_tokenizer *tok, const uint8_t *w, size_t n, tok_bpe_scratch *s,
                 tok_ids *out);
void tok_bpe_scratch_free(tok_bpe_scratch *s);

/* tok_cache.c: word -> ids memo of one encode call (long texts only). */
#define TOK_CACHE_MAX_WORD 64
#define TOK_CACHE_MIN_TEXT 4096 /* bytes of text before caching pays off */
typedef struct tok_cache_slot {
    uint64_t hash;
    uint32_t woff, wlen; /* wlen 0 = empty */
    uint32_t ioff, nids;
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

/* tok_pretok.c: per-encode-call state of the pre-tokenizer. */
typedef struct tok_pretok_ctx {
    pcre2_match_data *md;
    tok_bpe_scratch bpe;
    tok_cache cache;
    tok_ids *out;
    char *prefixed; /* add_prefix_space copy */
    size_t prefixed_cap;
} tok_pretok_ctx;

/* Pre-tokenizes one piece (no added tokens inside) and BPE-encodes it. */
int tok_pretok_run(const hxq_tokenizer *tok, const char *s, size_t len, tok_pretok_ctx *c,
                   hxq_error *err);

/* tok_config.c */
int tok_find_default_eos(hxq_tokenizer *tok);

#endif
