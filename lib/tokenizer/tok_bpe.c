/* tok_bpe.c - byte-level BPE over one pre-tokenized word.
 *
 * As HF's Word::merge_all: the word starts as one symbol per byte (the id
 * of the byte's byte-level character); a min-heap holds candidate merges
 * keyed by (rank, position), so the lowest-ranked pair is merged first and
 * the leftmost among equal ranks. Symbols form a doubly linked list; a
 * popped entry is stale when the pair now at its position has another rank
 * (pairs have unique ranks, and the pair at a position only ever grows).
 * O(n log n) for a word of n bytes, whatever the input. */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

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
static int32_t whole_word_id(const hxq_tokenizer *tok, const uint8_t *w, size_t n, char *buf)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)utf8proc_encode_char((utf8proc_int32_t)tok_byte_to_cp(w[i]),
                                          (utf8proc_uint8_t *)buf + o);
    return tok_strmap_get(&tok->vocab, buf, o);
}

int tok_bpe_word(const hxq_tokenizer *tok, const uint8_t *w, size_t n, tok_bpe_scratch *s,
                 tok_ids *out)
{
    if (n == 1 && tok->byte_id[w[0]] >= 0)
        return tok_ids_push(out, tok->byte_id[w[0]]);
    if (n > (size_t)INT32_MAX - 1 || reserve(s, (int64_t)n + 1) < 0)
        return -1;
    if (tok->ignore_merges) {
        int32_t id = whole_word_id(tok, w, n, s->word);
        if (id >= 0)
            return tok_ids_push(out, id);
    }
    int32_t *sym = s->sym, *prev = s->prev, *next = s->next;
    int64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = tok->byte_id[w[i]];
        if (id < 0) {
            if (tok->unk_id < 0)
                continue; /* HF drops characters missing from the vocabulary */
            if (tok->fuse_unk && m > 0 && sym[m - 1] == tok->unk_id)
                continue;
            id = tok->unk_id;
        }
        sym[m] = id;
        prev[m] = (int32_t)m - 1;
        next[m] = (int32_t)m + 1;
        m++;
    }
    if (m == 0)
        return 0;
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
