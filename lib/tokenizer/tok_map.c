/* tok_map.c - the tokenizer's containers: an arena for strings, a string ->
 * id hash map (vocabulary), a pair -> (rank, id) hash map (merges) and a
 * growing id vector. All open addressing with linear probing, power-of-two
 * capacities, at most 3/4 full (vocabularies of 150k tokens are far bigger
 * than the caches: a smaller table misses less than longer probes cost). */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------- */

struct tok_arena_block {
    tok_arena_block *next;
    size_t used, cap;
    char data[];
};

#define ARENA_BLOCK (256 * 1024)

char *tok_arena_alloc(tok_arena *a, size_t n)
{
    tok_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        if (cap > SIZE_MAX - sizeof(*b))
            return NULL;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

char *tok_arena_dup(tok_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = tok_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void tok_arena_free(tok_arena *a)
{
    while (a->head) {
        tok_arena_block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

/* ---- hashing ------------------------------------------------------------ */

uint64_t tok_hash_bytes(const void *p, size_t len)
{
    const uint8_t *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xc2b2ae3d27d4eb4fULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ tok_pair_mix(w)) * 0x9fb21c651e98df25ULL;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, len);
    h = (h ^ tok_pair_mix(w ^ len)) * 0x9fb21c651e98df25ULL;
    return tok_pair_mix(h);
}

static uint32_t table_cap(int64_t expected)
{
    uint32_t cap = 16;
    while ((int64_t)cap * 3 < 4 * expected && cap < (1u << 30))
        cap <<= 1;
    return cap;
}

/* ---- string map ---------------------------------------------------------- */

int tok_strmap_init(tok_strmap *m, int64_t expected)
{
    memset(m, 0, sizeof(*m));
    m->cap = table_cap(expected);
    m->slots = calloc(m->cap, sizeof(*m->slots));
    return m->slots ? 0 : -1;
}

void tok_strmap_free(tok_strmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* The slot holding key, or the empty slot where it would go. */
static tok_strmap_slot *strmap_find(const tok_strmap *m, const char *key, size_t len, uint64_t h)
{
    uint32_t mask = m->cap - 1, tag = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        tok_strmap_slot *s = &m->slots[i];
        if (!s->key || (s->tag == tag && s->len == len && !memcmp(s->key, key, len)))
            return s;
    }
}

static int strmap_grow(tok_strmap *m)
{
    tok_strmap g;
    if (m->cap >= (1u << 30) || tok_strmap_init(&g, m->cap) < 0)
        return -1;
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            tok_strmap_put(&g, m->slots[i].key, m->slots[i].len, m->slots[i].val);
    tok_strmap_free(m);
    *m = g;
    return 0;
}

int tok_strmap_put(tok_strmap *m, const char *key, uint32_t len, int32_t val)
{
    if (!m->slots)
        return -1;
    if ((uint64_t)(m->count + 1) * 4 > (uint64_t)m->cap * 3 && strmap_grow(m) < 0)
        return -1;
    uint64_t h = tok_hash_bytes(key, len);
    tok_strmap_slot *s = strmap_find(m, key, len, h);
    if (s->key)
        return 0;
    s->key = key;
    s->len = len;
    s->tag = (uint32_t)(h >> 32);
    s->val = val;
    m->count++;
    return 1;
}

/* Look-ups of many keys at once: every slot is fetched, then every
 * candidate key, then the probes run on cached lines. A loader's hundreds
 * of thousands of look-ups in a table far bigger than the caches are
 * memory-bound otherwise. */
#define MANY_MAX 64

void tok_strmap_get_many(const tok_strmap *m, const tok_span *keys, int n, int32_t *out)
{
    uint64_t h[MANY_MAX];
    uint32_t mask = m->cap - 1;
    for (int i0 = 0; i0 < n; i0 += MANY_MAX) {
        int k = n - i0 < MANY_MAX ? n - i0 : MANY_MAX;
        for (int i = 0; i < k; i++) {
            h[i] = tok_hash_bytes(keys[i0 + i].p, keys[i0 + i].n);
            __builtin_prefetch(&m->slots[(uint32_t)h[i] & mask]);
        }
        for (int i = 0; i < k; i++) {
            const tok_strmap_slot *s = &m->slots[(uint32_t)h[i] & mask];
            if (s->key && s->tag == (uint32_t)(h[i] >> 32))
                __builtin_prefetch(s->key);
        }
        for (int i = 0; i < k; i++) {
            const tok_strmap_slot *s = strmap_find(m, keys[i0 + i].p, keys[i0 + i].n, h[i]);
            out[i0 + i] = s->key ? s->val : -1;
        }
    }
}

int tok_strmap_put_many(tok_strmap *m, const tok_span *keys, const int32_t *vals, int n)
{
    uint64_t h[MANY_MAX];
    for (int i0 = 0; i0 < n; i0 += MANY_MAX) {
        int k = n - i0 < MANY_MAX ? n - i0 : MANY_MAX;
        if ((uint64_t)(m->count + (uint32_t)k) * 4 > (uint64_t)m->cap * 3) { /* growing: one at a time */
            for (int i = 0; i < k; i++)
                if (tok_strmap_put(m, keys[i0 + i].p, keys[i0 + i].n, vals[i0 + i]) < 0)
                    return -1;
            continue;
        }
        uint32_t mask = m->cap - 1;
        for (int i = 0; i < k; i++) {
            h[i] = tok_hash_bytes(keys[i0 + i].p, keys[i0 + i].n);
            __builtin_prefetch(&m->slots[(uint32_t)h[i] & mask], 1);
        }
        for (int i = 0; i < k; i++) {
            tok_strmap_slot *s = strmap_find(m, keys[i0 + i].p, keys[i0 + i].n, h[i]);
            if (s->key)
                continue;
            s->key = keys[i0 + i].p;
            s->len = keys[i0 + i].n;
            s->tag = (uint32_t)(h[i] >> 32);
            s->val = vals[i0 + i];
            m->count++;
        }
    }
    return 0;
}

int32_t tok_strmap_get(const tok_strmap *m, const char *key, size_t len)
{
    if (!m->slots || len > UINT32_MAX)
        return -1;
    const tok_strmap_slot *s = strmap_find(m, key, len, tok_hash_bytes(key, len));
    return s->key ? s->val : -1;
}

/* ---- pair map ------------------------------------------------------------ */

int tok_pairmap_init(tok_pairmap *m, int64_t expected)
{
    memset(m, 0, sizeof(*m));
    m->cap = table_cap(expected);
    m->slots = malloc(m->cap * sizeof(*m->slots));
    if (!m->slots)
        return -1;
    for (uint32_t i = 0; i < m->cap; i++)
        m->slots[i].key = TOK_PAIR_EMPTY;
    return 0;
}

void tok_pairmap_free(tok_pairmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static int pairmap_grow(tok_pairmap *m)
{
    tok_pairmap g;
    if (m->cap >= (1u << 30) || tok_pairmap_init(&g, m->cap) < 0)
        return -1;
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != TOK_PAIR_EMPTY)
            tok_pairmap_set(&g, (int32_t)(m->slots[i].key >> 32), (int32_t)(uint32_t)m->slots[i].key,
                            (int32_t)(m->slots[i].val >> 32), (int32_t)(uint32_t)m->slots[i].val);
    tok_pairmap_free(m);
    *m = g;
    return 0;
}

int tok_pairmap_set(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t id)
{
    if (!m->slots)
        return -1;
    if ((uint64_t)(m->count + 1) * 4 > (uint64_t)m->cap * 3 && pairmap_grow(m) < 0)
        return -1;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint64_t val = (uint64_t)(uint32_t)rank << 32 | (uint32_t)id;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = (uint32_t)tok_pair_mix(key) & mask;; i = (i + 1) & mask) {
        tok_pair_slot *s = &m->slots[i];
        if (s->key == key) {
            s->val = val;
            return 0;
        }
        if (s->key == TOK_PAIR_EMPTY) {
            s->key = key;
            s->val = val;
            m->count++;
            return 0;
        }
    }
}

/* ---- id vector -------------------------------------------------------- */

int tok_ids_grow(tok_ids *ids, int32_t id)
{
    int64_t cap = ids->cap ? ids->cap * 2 : 256;
    int32_t *v = hxq_alloc_array(cap, sizeof(*v));
    if (!v)
        return -1;
    if (ids->n)
        memcpy(v, ids->v, (size_t)ids->n * sizeof(*v));
    free(ids->v);
    ids->v = v;
    ids->cap = cap;
    ids->v[ids->n++] = id;
    return 0;
}
