/* codec_test_util.h - deterministic synthetic matrices for the codec
 * tests (header-only; included by the test programs of test/codec). */
#ifndef CODEC_TEST_UTIL_H
#define CODEC_TEST_UTIL_H

#include "hxq_common.h"

#include <math.h>
#include <stdint.h>

static inline uint64_t ctu_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline double ctu_unit(uint64_t *s)
{
    return ((double)(ctu_rng(s) >> 11) + 0.5) / 9007199254740992.0;
}

/* Heavy-tailed (Cauchy-like core with a Gaussian body) weights of scale
 * 0.02, as floats. */
static inline float ctu_weight(uint64_t *s)
{
    double u = ctu_unit(s), v = ctu_unit(s);
    double g = sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
    if (ctu_rng(s) % 200 == 0)
        g *= 8.0 * ctu_unit(s) + 2.0;
    return (float)(0.02 * g);
}

static inline void ctu_fill_bf16(uint64_t seed, int64_t n, uint16_t *out)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = hxq_f32_to_bf16(ctu_weight(&seed));
}

#endif /* CODEC_TEST_UTIL_H */
