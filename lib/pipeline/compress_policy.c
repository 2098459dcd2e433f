/* compress_policy.c - which tensors are compressed (the reference's rules
 * by name and shape), fused-expert names, natural name order. */
#include "pipeline_int.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const default_exact[] = {
    "embed_tokens", "embed_positions", "wte", "wpe", "lm_head",
    "layernorm", "layer_norm", "norm", "backbone.embedding", NULL};

const char *const *hxq_default_exact_patterns(void)
{
    return default_exact;
}

/* Token embeddings and output heads among the defaults: compressed too
 * with hxq_compress_opts.include_head. */
static const char *const head_patterns[] = {"embed_tokens", "wte", "lm_head",
                                            "backbone.embedding", NULL};

int pipeline_default_patterns(int include_head, const char **out)
{
    int n = 0;
    for (const char *const *d = default_exact; *d; d++) {
        int head = 0;
        for (const char *const *h = head_patterns; *h; h++)
            head |= !strcmp(*d, *h);
        if (!(include_head && head))
            out[n++] = *d;
    }
    return n;
}

int pipeline_matches_exact(const char *module, char *const *patterns, int n)
{
    for (int i = 0; i < n; i++)
        if (strstr(module, patterns[i]))
            return 1;
    return 0;
}

int pipeline_natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            const char *a0 = a, *b0 = b;
            while (*a0 == '0' && isdigit((unsigned char)a0[1]))
                a0++;
            while (*b0 == '0' && isdigit((unsigned char)b0[1]))
                b0++;
            const char *a1 = a0, *b1 = b0;
            while (isdigit((unsigned char)*a1))
                a1++;
            while (isdigit((unsigned char)*b1))
                b1++;
            if (a1 - a0 != b1 - b0)
                return a1 - a0 < b1 - b0 ? -1 : 1;
            int c = strncmp(a0, b0, (size_t)(a1 - a0));
            if (c)
                return c;
            if ((a1 - a) != (b1 - b))   /* same value, fewer leading zeros first */
                return (a1 - a) < (b1 - b) ? -1 : 1;
            a = a1;
            b = b1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

int pipeline_fused_kind(const char *name, size_t *prefix_len)
{
    size_t n = strlen(name);
    if (ends_with(name, n, ".weight"))
        n -= 7;
    static const struct {
        const char *suffix;
        int kind;
    } forms[] = {{"experts.gate_up_proj", FUSED_GATE_UP}, {"experts.down_proj", FUSED_DOWN}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        if (ends_with(name, n, forms[i].suffix) &&
            (n == strlen(forms[i].suffix) || name[n - strlen(forms[i].suffix) - 1] == '.')) {
            *prefix_len = n - strlen(forms[i].suffix) + strlen("experts.");
            return forms[i].kind;
        }
    }
    return FUSED_NONE;
}

int pipeline_codec_dtype(hxq_dtype dt)
{
    return dt == HXQ_DT_BF16 || dt == HXQ_DT_F16 || dt == HXQ_DT_F32;
}

/* Exponent-all-ones test over 16-bit floats; the OR-reduction loop
 * vectorises, the index is searched only when something was found. */
static int64_t nonfinite16(const unsigned char *p, int64_t n, uint16_t expo)
{
    uint16_t any = 0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        any |= (uint16_t)((h & expo) == expo);
    }
    if (!any)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        if ((h & expo) == expo)
            return i;
    }
    return -1;
}

int64_t pipeline_first_nonfinite(const void *data, hxq_dtype dt, int64_t n)
{
    const unsigned char *p = data;
    switch (dt) {
    case HXQ_DT_BF16:
        return nonfinite16(p, n, 0x7f80);
    case HXQ_DT_F16:
        return nonfinite16(p, n, 0x7c00);
    case HXQ_DT_F32:
        for (int64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, p + 4 * i, 4);
            if ((u & 0x7f800000u) == 0x7f800000u)
                return i;
        }
        return -1;
    case HXQ_DT_F64:
        for (int64_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            if (!isfinite(d))
                return i;
        }
        return -1;
    default:
        return -1;
    }
}

void pipeline_release(const void *data, uint64_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || len == 0)
        return;
    uintptr_t b = ((uintptr_t)data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t e = ((uintptr_t)data + len) & ~((uintptr_t)page - 1);
    if (e > b)
        madvise((void *)b, e - b, MADV_DONTNEED);   /* advice only: errors are harmless */
}

const char *pipeline_sidecar_mode_name(hxq_sidecar_mode m)
{
    switch (m) {
    case HXQ_SIDECAR_REFERENCE: return "reference";
    case HXQ_SIDECAR_COUNT: return "count";
    case HXQ_SIDECAR_FRACTION: return "fraction";
    case HXQ_SIDECAR_NONE: return "none";
    }
    return "unknown";
}
