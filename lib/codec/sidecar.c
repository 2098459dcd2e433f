/* sidecar.c - the sidecar budget (the reference's percentile rule) and the
 * choice of the sidecar elements together with the codebook.
 *
 * For a fixed codebook the best sidecar of N elements is the N elements of
 * largest squared error; for a fixed sidecar the best codebook is the
 * optimal k-means of the remaining elements. Alternating the two never
 * increases the error and reaches a local optimum. It is run from two
 * starts: the reference's own choice (its percentile band, largest
 * magnitudes first) with the exact DP codebook, which alone guarantees an
 * error no higher than the reference's choice at the same N, and the error
 * rule of an unconstrained fit; only strictly better pairs replace the
 * best. Refits inside the alternation are Lloyd from the current codebook
 * (the sidecar moves little between rounds); exact_refits adds DP refits
 * of the best sidecar. Everything works on the distinct values (take[i] =
 * how many elements of value x[i] go to the sidecar), so a round costs
 * O(n log N) plus the refit. */
#include "codec_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SC_LLOYD_ITERS 30

typedef struct sc_key {
    double k1, k2; /* sorted descending by k1, then k2 */
    int64_t i;     /* then ascending by index          */
} sc_key;

static int sc_cmp(const void *a, const void *b)
{
    const sc_key *x = a, *y = b;
    if (x->k1 != y->k1)
        return x->k1 > y->k1 ? -1 : 1;
    if (x->k2 != y->k2)
        return x->k2 > y->k2 ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* numpy.percentile(values, q) with the default linear interpolation. */
static double sc_percentile(const codec_points *p, double q)
{
    double vi = (q / 100.0) * (double)(p->total - 1);
    int64_t i = (int64_t)floor(vi);
    double g = vi - (double)i;
    double a = codec_points_rank(p, i);
    double b = codec_points_rank(p, i + 1 < p->total ? i + 1 : p->total - 1);
    double d = b - a;
    return g < 0.5 ? a + d * g : b - d * (1.0 - g);
}

static int sc_name_is(const char *name, const char *const *list)
{
    if (!name)
        return 0;
    size_t len = strlen(name);
    if (len >= 7 && !strcmp(name + len - 7, ".weight"))
        len -= 7;
    size_t s = len;
    while (s > 0 && name[s - 1] != '.')
        s--;
    for (; *list; list++)
        if (strlen(*list) == len - s && !strncmp(name + s, *list, len - s))
            return 1;
    return 0;
}

int64_t codec_reference_band(const char *name, const codec_points *p, double *lo, double *hi)
{
    static const char *const qk[] = {"q_proj", "k_proj", NULL};
    static const char *const attn[] = {"q_proj", "k_proj", "v_proj", "o_proj", NULL};
    *lo = INFINITY;
    *hi = -INFINITY;
    if (p->total == 0)
        return 0;
    double q = sc_name_is(name, qk) ? 99.95 : 99.9;
    int64_t cap = sc_name_is(name, attn) ? 512 : 256;
    *lo = sc_percentile(p, 100.0 - q);
    *hi = sc_percentile(p, q);
    int64_t count = 0;
    for (int64_t i = 0; i < p->n; i++)
        if (p->x[i] < *lo || p->x[i] > *hi)
            count += p->cnt[i];
    return count < cap ? count : cap;
}

double codec_plan_cost(const codec_points *p, const float cb[HXQ_CODEBOOK_SIZE],
                       const int64_t *take)
{
    double total = 0.0;
    int j = 0;
    for (int64_t i = 0; i < p->n; i++) {
        int64_t c = p->cnt[i] - (take ? take[i] : 0);
        j = codec_walk(cb, j, p->x[i]);
        if (c > 0) {
            double d = p->x[i] - (double)cb[j];
            total += (double)c * d * d;
        }
    }
    return total;
}

/* Moves the m smallest keys (in sc_cmp order) to keys[0..m), in some
 * order: quickselect with a median-of-three pivot. */
static void sc_partition(sc_key *keys, int64_t n, int64_t m)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (sc_cmp(&keys[mid], &keys[lo]) < 0) { sc_key t = keys[mid]; keys[mid] = keys[lo]; keys[lo] = t; }
        if (sc_cmp(&keys[hi], &keys[lo]) < 0) { sc_key t = keys[hi]; keys[hi] = keys[lo]; keys[lo] = t; }
        if (sc_cmp(&keys[hi], &keys[mid]) < 0) { sc_key t = keys[hi]; keys[hi] = keys[mid]; keys[mid] = t; }
        sc_key pivot = keys[mid];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (sc_cmp(&keys[i], &pivot) < 0)
                i++;
            while (sc_cmp(&keys[j], &pivot) > 0)
                j--;
            if (i <= j) {
                sc_key t = keys[i];
                keys[i++] = keys[j];
                keys[j--] = t;
            }
        }
        if (m - 1 <= j)
            hi = j;
        else if (m - 1 >= i)
            lo = i;
        else
            break;
    }
}

/* take = the first `budget` elements in key order. Only the first
 * min(n, budget) keys can be needed (each point holds >= 1 element), so
 * those are selected, then sorted (sc_cmp is a total order, so the result
 * does not depend on the selection's internal order). */
static void sc_select(const codec_points *p, sc_key *keys, int64_t budget, int64_t *take)
{
    int64_t m = budget < p->n ? budget : p->n;
    if (m < p->n)
        sc_partition(keys, p->n, m);
    qsort(keys, (size_t)m, sizeof(sc_key), sc_cmp);
    memset(take, 0, (size_t)p->n * sizeof(int64_t));
    for (int64_t r = 0; r < m && budget > 0; r++) {
        int64_t i = keys[r].i;
        int64_t t = p->cnt[i] < budget ? p->cnt[i] : budget;
        take[i] = t;
        budget -= t;
    }
}

static void sc_select_error(const codec_points *p, const float cb[HXQ_CODEBOOK_SIZE],
                            sc_key *keys, int64_t budget, int64_t *take)
{
    int j = 0;
    for (int64_t i = 0; i < p->n; i++) {
        j = codec_walk(cb, j, p->x[i]);
        double d = p->x[i] - (double)cb[j];
        keys[i] = (sc_key){d * d, fabs(p->x[i]), i};
    }
    sc_select(p, keys, budget, take);
}

typedef struct sc_best {
    double cost;
    float cb[HXQ_CODEBOOK_SIZE];
    int64_t *take;
} sc_best;

static void sc_consider(sc_best *b, const codec_points *p, const float *cb,
                        const int64_t *take, double cost)
{
    if (cost < b->cost) {
        b->cost = cost;
        memcpy(b->cb, cb, sizeof(b->cb));
        memcpy(b->take, take, (size_t)p->n * sizeof(int64_t));
    }
}

/* One round of the alternation from (cb, take): select the largest errors
 * of cb into next, then refit. `exact` refits by the DP, otherwise by
 * Lloyd from cb. Returns 1 when the selection lowered the cost (and then
 * take = next, cb = the refit), 0 when the pair is a fixed point. */
static int sc_round(const codec_points *p, int64_t budget, int exact, float *cb,
                    int64_t *take, int64_t *next, sc_key *keys, sc_best *best, int *rc,
                    hxq_error *err)
{
    double cost = codec_plan_cost(p, cb, take);
    sc_select_error(p, cb, keys, budget, next);
    double ncost = codec_plan_cost(p, cb, next);
    sc_consider(best, p, cb, next, ncost);
    if (!(ncost < cost))
        return 0;
    memcpy(take, next, (size_t)p->n * sizeof(int64_t));
    *rc = exact ? codec_fit(p, take, cb, err) : codec_refine(p, take, SC_LLOYD_ITERS, cb, err);
    if (*rc != HXQ_OK)
        return 0;
    sc_consider(best, p, cb, take, codec_plan_cost(p, cb, take));
    return 1;
}

/* Cheap alternation (Lloyd refits) from (cb, take) for at most `rounds`. */
static int sc_chain(const codec_points *p, int64_t budget, int rounds, float *cb,
                    int64_t *take, int64_t *next, sc_key *keys, sc_best *best, hxq_error *err)
{
    int rc = HXQ_OK;
    for (int r = 0; r < rounds; r++)
        if (!sc_round(p, budget, 0, cb, take, next, keys, best, &rc, err))
            break;
    return rc;
}

int codec_sidecar_plan(const codec_points *p, int64_t budget, double band_lo, double band_hi,
                       int max_refits, int exact_refits, float cb[HXQ_CODEBOOK_SIZE],
                       int64_t *take, hxq_error *err)
{
    memset(take, 0, (size_t)p->n * sizeof(int64_t));
    if (budget <= 0)
        return codec_fit(p, NULL, cb, err);
    if (budget >= p->total) {
        memcpy(take, p->cnt, (size_t)p->n * sizeof(int64_t));
        return codec_fit(p, take, cb, err);
    }
    int64_t n = p->n;
    int64_t *cur = hxq_alloc_array(3 * n, sizeof(int64_t));
    sc_key *keys = hxq_alloc_array(n, sizeof(sc_key));
    if (!cur || !keys) {
        free(cur);
        free(keys);
        return hxq_err(err, HXQ_ERR_NOMEM, "codec: out of memory for the sidecar plan");
    }
    int64_t *next = cur + n;
    sc_best best = {INFINITY, {0}, cur + 2 * n};
    float c[HXQ_CODEBOOK_SIZE], seed[HXQ_CODEBOOK_SIZE];
    int rc;
    /* start 1: the reference's choice (band elements, largest magnitude
     * first) with its optimal codebook: never worse than the reference */
    for (int64_t i = 0; i < n; i++) {
        int cand = p->x[i] < band_lo || p->x[i] > band_hi;
        keys[i] = (sc_key){cand ? 1.0 : 0.0, fabs(p->x[i]), i};
    }
    sc_select(p, keys, budget, cur);
    rc = codec_fit(p, cur, c, err);
    if (rc == HXQ_OK) {
        memcpy(seed, c, sizeof(c));
        sc_consider(&best, p, c, cur, codec_plan_cost(p, c, cur));
        rc = sc_chain(p, budget, max_refits, c, cur, next, keys, &best, err);
    }
    /* start 2: the error rule of an unconstrained fit (Lloyd over all
     * elements from the first codebook) */
    if (rc == HXQ_OK) {
        memset(cur, 0, (size_t)n * sizeof(int64_t));
        rc = codec_refine(p, NULL, SC_LLOYD_ITERS, seed, err);
        if (rc == HXQ_OK)
            rc = sc_chain(p, budget, max_refits, seed, cur, next, keys, &best, err);
    }
    /* exact refits of the best sidecar found, while the selection improves */
    if (rc == HXQ_OK && exact_refits) {
        memcpy(cur, best.take, (size_t)n * sizeof(int64_t));
        rc = codec_fit(p, cur, c, err);
        if (rc == HXQ_OK) {
            sc_consider(&best, p, c, cur, codec_plan_cost(p, c, cur));
            for (int r = 0; r < max_refits; r++)
                if (!sc_round(p, budget, 1, c, cur, next, keys, &best, &rc, err))
                    break;
        }
    }
    if (rc == HXQ_OK) {
        memcpy(cb, best.cb, sizeof(best.cb));
        memcpy(take, best.take, (size_t)n * sizeof(int64_t));
    }
    free(cur);
    free(keys);
    return rc;
}
