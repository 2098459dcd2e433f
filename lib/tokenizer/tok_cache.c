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

static tok_cache_slot *find(const tok_cache *c, const uint8_t *w, size_t n, uint64_t h)
{
    uint32_t mask = CACHE_SLOTS - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        tok_cache_slot *s = &c->slots[i];
        if (!s->wlen)
            return s;
        if (s->hash == h && s->wlen == n && !memcmp(c->bytes + s->woff, w, n))
            return s;
    }
}

const int32_t *tok_cache_get(const tok_cache *c, const uint8_t *w, size_t n, uint32_t *nids)
{
    if (!c->slots || n == 0 || n > TOK_CACHE_MAX_WORD)
        return NULL;
    const tok_cache_slot *s = find(c, w, n, tok_hash_bytes(w, n));
    if (!s->wlen)
        return NULL;
    *nids = s->nids;
    return c->ids + s->ioff;
}

void tok_cache_put(tok_cache *c, const uint8_t *w, size_t n, const int32_t *ids, uint32_t nids)
{
    if (!c->slots || n == 0 || n > TOK_CACHE_MAX_WORD || c->count >= CACHE_MAX_ENTRIES)
        return;
    uint64_t h = tok_hash_bytes(w, n);
    tok_cache_slot *s = find(c, w, n, h);
    if (s->wlen)
        return;
    char *ib = (char *)c->ids;
    if (tok_buf_reserve(&c->bytes, &c->bytes_cap, c->nbytes + n) < 0 ||
        tok_buf_reserve(&ib, &c->ids_cap, (c->nids + nids) * sizeof(int32_t)) < 0) {
        c->ids = (int32_t *)ib;
        return; /* a cache miss later is harmless */
    }
    c->ids = (int32_t *)ib;
    memcpy(c->bytes + c->nbytes, w, n);
    memcpy(c->ids + c->nids, ids, nids * sizeof(int32_t));
    s->hash = h;
    s->woff = (uint32_t)c->nbytes;
    s->wlen = (uint32_t)n;
    s->ioff = (uint32_t)c->nids;
    s->nids = nids;
    c->nbytes += n;
    c->nids += nids;
    c->count++;
}
