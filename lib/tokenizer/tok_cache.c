/* tok_cache.c - a per-call memo of word -> ids for long texts.
 *
 * Natural text repeats its words, and BPE of a word depends on the word
 * alone, so one encode call remembers the ids of the short words it has
 * already merged. The cache belongs to the call (the tokenizer stays
 * immutable and thread-safe); it stops growing when full instead of
 * evicting, so results never depend on it. */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_ENTRIES (CACHE_SLOTS / 2)

int tok_cache_init(tok_cache *c)
{
    memset(c, 0, sizeof(*c));
    c->slots = calloc(CACHE_SLOTS, sizeof(*c->slots));
    return c->slots ? 0 : -1;
}

void tok_cache_free(tok_cache *c)
{
    free(c->slots);
    free(c->bytes);
    free(c->ids);
    memset(c, 0, sizeof(*c));
}

static uint64_t head_of(const uint8_t *w, size_t n)
{
    uint64_t h = 0;
    memcpy(&h, w, n < 8 ? n : 8);
    return h;
}

/* A cheap hash for short words: their head, then 8 bytes at a time. */
static uint64_t word_hash(const uint8_t *w, size_t n, uint64_t head)
{
    uint64_t h = (head ^ (uint64_t)n << 59) * 0x9e3779b97f4a7c15ULL;
    for (size_t i = 8; i < n; i += 8) {
        uint64_t x = 0;
        memcpy(&x, w + i, n - i < 8 ? n - i : 8);
        h = (h ^ (h >> 29) ^ x) * 0xbf58476d1ce4e5b9ULL;
    }
    return h ^ (h >> 32);
}

/* One probe sequence; a hit on a short word reads only its slot. */
static tok_cache_slot *find(const tok_cache *c, const uint8_t *w, size_t n, uint64_t h,
                            uint64_t head)
{
    uint32_t mask = CACHE_SLOTS - 1, tag = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        tok_cache_slot *s = &c->slots[i];
        if (!s->wlen)
            return s;
        if (s->tag == tag && s->wlen == n && s->head == head &&
            (n <= 8 || !memcmp(c->bytes + s->woff + 8, w + 8, n - 8)))
            return s;
    }
}

const int32_t *tok_cache_get(const tok_cache *c, const uint8_t *w, size_t n, uint32_t *nids)
{
    if (!c->slots || n == 0 || n > TOK_CACHE_MAX_WORD)
        return NULL;
    uint64_t head = head_of(w, n);
    const tok_cache_slot *s = find(c, w, n, word_hash(w, n, head), head);
    if (!s->wlen)
        return NULL;
    *nids = s->nids;
    return s->nids == 1 ? &s->ioff : c->ids + s->ioff;
}

void tok_cache_put(tok_cache *c, const uint8_t *w, size_t n, const int32_t *ids, uint32_t nids)
{
    if (!c->slots || n == 0 || n > TOK_CACHE_MAX_WORD || nids > UINT16_MAX ||
        c->count >= CACHE_MAX_ENTRIES)
        return;
    uint64_t head = head_of(w, n), h = word_hash(w, n, head);
    tok_cache_slot *s = find(c, w, n, h, head);
    if (s->wlen)
        return;
    size_t nb = n > 8 ? n : 0, ni = nids == 1 ? 0 : nids;
    char *ib = (char *)c->ids;
    if (tok_buf_reserve(&c->bytes, &c->bytes_cap, c->nbytes + nb) < 0 ||
        tok_buf_reserve(&ib, &c->ids_cap, (c->nids + ni) * sizeof(int32_t)) < 0) {
        c->ids = (int32_t *)ib;
        return; /* a cache miss later is harmless */
    }
    c->ids = (int32_t *)ib;
    if (nb)
        memcpy(c->bytes + c->nbytes, w, nb);
    if (ni)
        memcpy(c->ids + c->nids, ids, ni * sizeof(int32_t));
    s->head = head;
    s->tag = (uint32_t)(h >> 32);
    s->woff = (uint32_t)c->nbytes;
    s->ioff = nids == 1 ? ids[0] : (int32_t)c->nids;
    s->wlen = (uint16_t)n;
    s->nids = (uint16_t)nids;
    c->nbytes += nb;
    c->nids += ni;
    c->count++;
}
