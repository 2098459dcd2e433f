/* tok_bpe.c - the BPE model over one pre-tokenized word.
 *
 * The word's initial symbols are its characters' tokens (HF's
 * BPE::merge_word: byte fallback, unk, fuse_unk); then, as HF's
 * Word::merge_all, a min-heap holds candidate merges
 * keyed by (rank, position), so the lowest-ranked pair is merged first and
 * the leftmost among equal ranks. Symbols form a doubly linked list; a
 * popped entry is stale when the pair now at its position has another rank
 * (pairs have unique ranks, and the pair at a position only ever grows).
 * O(n log n) for a word of n bytes, whatever the input. */
#include "tok_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tok_bpe_scratch_free(tok_bpe_scratch *s)
{
    free(s->sym);
    free(s->prev);
    free(s->next);
    free(s->heap);
    free(s->word);
    memset(s, 0, sizeof(*s));
}

static int reserve(tok_bpe_scratch *s, int64_t n)
{
    if (n <= s->cap)
        return 0;
    int64_t cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    int32_t *sym = hxq_alloc_array(cap, sizeof(int32_t));
    int32_t *prev = hxq_alloc_array(cap, sizeof(int32_t));
    int32_t *next = hxq_alloc_array(cap, sizeof(int32_t));
    uint64_t *heap = hxq_alloc_array(2 * cap, sizeof(uint64_t)); /* see below */
    char *word = hxq_alloc_array(cap, 2); /* byte-level chars are 1-2 bytes */
    if (!sym || !prev || !next || !heap || !word) {
        free(sym);
        free(prev);
        free(next);
        free(heap);
        free(word);
        return -1;
    }
    tok_bpe_scratch_free(s);
    s->sym = sym;
    s->prev = prev;
    s->next = next;
    s->heap = heap;
    s->word = word;
    s->cap = cap;
    return 0;
}

static void heap_push(uint64_t *h, int64_t *n, uint64_t v)
{
    int64_t i = (*n)++;
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (h[p] <= v)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, int64_t *n)
{
    uint64_t top = h[0], v = h[--*n];
    int64_t i = 0, m = *n;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && h[c + 1] < h[c])
            c++;
        if (v <= h[c])
            break;
        h[i] = h[c];
        i = c;
    }
    if (m)
        h[i] = v;
    return top;
}

/* ignore_merges: a word that is itself in the vocabulary is one token. */
static int32_t whole_word_id(const hxq_tokenizer *tok, const uint8_t *w, size_t n, int bytelevel,
                             char *buf)
{
    if (!bytelevel)
        return tok_strmap_get(&tok->vocab, (const char *)w, n);
    return tok_strmap_get(&tok->vocab, buf, tok_bytelevel_map(w, n, buf));
}

/* ASCII characters that are barriers to merges: their one symbol (a token,
 * or its <0xXX> byte token) is in no merge pair, so no merge crosses them
 * and a word can be cut around them without changing its BPE. A character
 * that becomes unk is never one (unk runs fuse, and a pending unk goes after
 * byte-fallback symbols), nor one that would be dropped. */
static void find_barriers(hxq_tokenizer *tok)
{
    memset(tok->barrier, 0, sizeof(tok->barrier));
    uint8_t *merged = hxq_calloc_array(tok->vocab_size / 8 + 1, 1);
    if (!merged)
        return; /* no barriers: slower, same result */
    for (uint32_t i = 0; i < tok->merges.cap; i++) {
        uint64_t k = tok->merges.slots[i].key;
        if (k == TOK_PAIR_EMPTY)
            continue;
        uint32_t a = (uint32_t)(k >> 32), b = (uint32_t)k;
        merged[a / 8] |= (uint8_t)(1u << (a % 8));
        merged[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    int all_bytes = tok->byte_fallback;
    for (int b = 0; b < 256 && all_bytes; b++)
        all_bytes = tok->byte_tok[b] >= 0;
    for (int c = 0; c < 128; c++) {
        int32_t id = tok->ascii_id[c] >= 0 ? tok->ascii_id[c] : all_bytes ? tok->byte_tok[c] : -1;
        tok->barrier[c] = id >= 0 && !(merged[id / 8] & (1u << (id % 8)));
    }
    free(merged);
}

void tok_bpe_prepare(hxq_tokenizer *tok)
{
    for (int b = 0; b < 256; b++) {
        char hex[8], u[2];
        snprintf(hex, sizeof(hex), "<0x%02X>", b);
        tok->byte_tok[b] = tok_strmap_get(&tok->vocab, hex, strlen(hex));
        uint8_t byte = (uint8_t)b;
        tok->byte_id[b] = tok_strmap_get(&tok->vocab, u, tok_bytelevel_map(&byte, 1, u));
        if (b < 128) {
            char c = (char)b;
            tok->ascii_id[b] = tok_strmap_get(&tok->vocab, &c, 1);
        }
    }
    tok->mark_id = tok_strmap_get(&tok->vocab, "\xe2\x96\x81", 3);
    /* words may be cut before U+2581 runs when no token has U+2581 after
     * another character (SentencePiece vocabularies; see tok_pretok.c) */
    tok->space_split = !tok->ignore_merges && tok_strmap_get(&tok->vocab, "\xe2\x96\x81", 3) >= 0;
    for (int32_t id = 0; tok->space_split && id < tok->vocab_size; id++) {
        const tok_entry *e = &tok->tokens[id];
        if (!(e->flags & TOK_F_PRESENT) || (e->flags & TOK_F_ADDED) || e->str_len < 4)
            continue;
        for (const char *p = e->str + 1; (p = tok_memmem(p, (size_t)(e->str + e->str_len - p),
                                                     "\xe2\x96\x81", 3)) != NULL; p += 3)
            if (p - e->str < 3 || memcmp(p - 3, "\xe2\x96\x81", 3)) {
                tok->space_split = 0;
                break;
            }
    }
    find_barriers(tok);
    tok->cut_words = !tok->ignore_merges && !tok->bytelevel_words;
    if (tok->cut_words && !tok->space_split) {
        tok->cut_words = 0;
        for (int c = 0; c < 128; c++)
            tok->cut_words |= tok->barrier[c];
    }
    for (int c = 0; c < 128; c++)
        tok->cut_at[c] = tok->barrier[c];
    tok->cut_at[0xE2] = (uint8_t)tok->space_split;
}

/* The initial symbols of a word, as HF's BPE::merge_word: each character
 * that is a token is one symbol; otherwise (byte_fallback) its bytes as
 * <0xXX> tokens when all exist, otherwise the unk token (consecutive ones
 * fused with fuse_unk), otherwise nothing. A pending unk is not flushed by
 * byte-fallback symbols, as in HF. bytelevel: each byte is the character
 * of its GPT-2 code point. Returns the number of symbols. */
static int64_t initial_symbols(const hxq_tokenizer *tok, const uint8_t *w, size_t n,
                               int bytelevel, int32_t *sym)
{
    int64_t m = 0;
    int unk = 0;
    size_t i = 0;
    while (i < n) {
        size_t k = 1;
        int32_t id;
        uint8_t fb[4];
        size_t nfb;
        if (bytelevel) {
            id = tok->byte_id[w[i]];
            nfb = tok_bytelevel_map(w + i, 1, (char *)fb);
        } else if (w[i] < 0x80) {
            id = tok->ascii_id[w[i]];
            fb[0] = w[i];
            nfb = 1;
        } else if (w[i] == 0xE2 && i + 3 <= n && w[i + 1] == 0x96 && w[i + 2] == 0x81) {
            k = 3; /* U+2581, in every word of SentencePiece-style models */
            id = tok->mark_id;
            memcpy(fb, w + i, 3);
            nfb = 3;
        } else {
            int32_t cp;
            k = tok_utf8_next((const char *)w + i, n - i, &cp);
            id = tok_strmap_get(&tok->vocab, (const char *)w + i, k);
            memcpy(fb, w + i, k);
            nfb = k;
        }
        i += k;
        if (id >= 0) {
            if (unk) {
                sym[m++] = tok->unk_id;
                unk = 0;
            }
            sym[m++] = id;
            continue;
        }
        if (tok->byte_fallback) {
            size_t j = 0;
            while (j < nfb && tok->byte_tok[fb[j]] >= 0)
                j++;
            if (j == nfb) {
                for (j = 0; j < nfb; j++)
                    sym[m++] = tok->byte_tok[fb[j]];
                continue;
            }
        }
        if (tok->unk_id < 0)
            continue; /* HF drops characters it cannot represent */
        if (unk && !tok->fuse_unk)
            sym[m++] = tok->unk_id;
        unk = 1;
    }
    if (unk)
        sym[m++] = tok->unk_id;
    return m;
}

int tok_bpe_word(const hxq_tokenizer *tok, const uint8_t *w, size_t n, int bytelevel, int whole,
                 tok_bpe_scratch *s, tok_ids *out)
{
    if (n == 1 && bytelevel && tok->byte_id[w[0]] >= 0)
        return tok_ids_push(out, tok->byte_id[w[0]]);
    /* at most two symbols per byte (byte-level characters of 2 bytes that
     * fall back to <0xXX> tokens) */
    if (n > (size_t)INT32_MAX / 4 || reserve(s, 2 * (int64_t)n + 1) < 0)
        return -1;
    if (tok->ignore_merges && whole) {
        int32_t id = whole_word_id(tok, w, n, bytelevel, s->word);
        if (id >= 0)
            return tok_ids_push(out, id);
    }
    int32_t *sym = s->sym, *prev = s->prev, *next = s->next;
    int64_t m = initial_symbols(tok, w, n, bytelevel, sym);
    if (m == 0)
        return 0;
    for (int64_t i = 0; i < m; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = (int32_t)i + 1;
    }
    next[m - 1] = -1;

    int64_t nh = 0;
    for (int64_t i = 0; i + 1 < m; i++) {
        int32_t rank, id;
        if (tok_pairmap_get(&tok->merges, sym[i], sym[i + 1], &rank, &id))
            s->heap[nh++] = (uint64_t)(uint32_t)rank << 32 | (uint32_t)i;
    }
    /* heapify bottom-up */
    for (int64_t i = nh / 2 - 1; i >= 0; i--) {
        uint64_t v = s->heap[i];
        int64_t j = i;
        for (;;) {
            int64_t c = 2 * j + 1;
            if (c >= nh)
                break;
            if (c + 1 < nh && s->heap[c + 1] < s->heap[c])
                c++;
            if (v <= s->heap[c])
                break;
            s->heap[j] = s->heap[c];
            j = c;
        }
        s->heap[j] = v;
    }

    while (nh > 0) {
        uint64_t top = heap_pop(s->heap, &nh);
        int32_t pos = (int32_t)(uint32_t)top, want = (int32_t)(top >> 32);
        int32_t r = next[pos];
        if (sym[pos] < 0 || r < 0)
            continue;
        int32_t rank, id;
        if (!tok_pairmap_get(&tok->merges, sym[pos], sym[r], &rank, &id) || rank != want)
            continue; /* stale */
        sym[pos] = id;
        sym[r] = -1;
        next[pos] = next[r];
        if (next[r] >= 0)
            prev[next[r]] = pos;
        /* heap size <= 2 (m - 1): m - 1 initial pairs, and each merge pops
         * one entry and pushes at most two, with at most m - 1 merges */
        int32_t nid;
        if (prev[pos] >= 0 && tok_pairmap_get(&tok->merges, sym[prev[pos]], id, &rank, &nid) &&
            nh < 2 * s->cap)
            heap_push(s->heap, &nh, (uint64_t)(uint32_t)rank << 32 | (uint32_t)prev[pos]);
        if (next[pos] >= 0 && tok_pairmap_get(&tok->merges, id, sym[next[pos]], &rank, &nid) &&
            nh < 2 * s->cap)
            heap_push(s->heap, &nh, (uint64_t)(uint32_t)rank << 32 | (uint32_t)pos);
    }
    for (int32_t i = 0; i >= 0; i = next[i])
        if (tok_ids_push(out, sym[i]) < 0)
            return -1;
    return 0;
}
