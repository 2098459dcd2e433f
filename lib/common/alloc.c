/* alloc.c - overflow-checked allocation helpers. */
#include "hxq_common.h"

#include <stdlib.h>
#include <string.h>

int hxq_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0)
        return -1;
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return -1;
    *out = r;
    return 0;
}

void *hxq_alloc_array(int64_t n, size_t size)
{
    int64_t bytes;
    if (size > INT64_MAX || hxq_mul_i64(n, (int64_t)size, &bytes) < 0)
        return NULL;
    if ((uint64_t)bytes > SIZE_MAX)
        return NULL;
    return malloc(bytes ? (size_t)bytes : 1);
}

void *hxq_calloc_array(int64_t n, size_t size)
{
    int64_t bytes;
    if (size > INT64_MAX || hxq_mul_i64(n, (int64_t)size, &bytes) < 0)
        return NULL;
    if ((uint64_t)bytes > SIZE_MAX)
        return NULL;
    return calloc(bytes ? (size_t)bytes : 1, 1);
}

char *hxq_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}
