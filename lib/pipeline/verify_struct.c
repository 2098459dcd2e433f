/* verify_struct.c - structural checks of an HXQ folder's tensors against
 * its quantization_config (the reference's "Gate 1", and more). */
#include "pipeline_int.h"
#include "verify_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const part_suffix[] = {".codebook", ".indices", ".sidecar_positions",
                                          ".sidecar_values"};
#define NPARTS 4

int64_t verify_first_nonfinite(const hxq_tensor *t)
{
    return pipeline_first_nonfinite(t->data, t->dtype, t->nelem);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The module a part tensor belongs to: writes the prefix into buf and
 * returns 1, or 0 when name is not a part name. */
static int part_module(const char *name, char *buf, size_t cap)
{
    for (int i = 0; i < NPARTS; i++) {
        if (verify_ends_with(name, part_suffix[i])) {
            size_t n = strlen(name) - strlen(part_suffix[i]);
            if (n + 1 > cap)
                return 0;
            memcpy(buf, name, n);
            buf[n] = '\0';
            return 1;
        }
    }
    return 0;
}

static const hxq_tensor *find_part(const hxq_ckpt *ck, const char *mod, const char *suffix)
{
    char name[1024];
    if ((size_t)snprintf(name, sizeof(name), "%s%s", mod, suffix) >= sizeof(name))
        return NULL;
    return hxq_ckpt_find(ck, name);
}

/* Reports a failure of module `mod` (in scope) found in tensor t (or NULL). */
#define FAIL(t, check, ...) \
    VERIFY_TRY(hxq_verify_fail(rep, (t) ? verify_base((t)->path) : "", mod, check, __VA_ARGS__))

static int check_codebook(const hxq_tensor *cb, const char *mod, int legacy, int k,
                          hxq_verify_report *rep)
{
    if (!cb) {
        FAIL(cb, "codebook", "missing tensor '%s.codebook'", mod);
        return HXQ_OK;
    }
    /* legacy folders may size codebooks per module (module_k_map) */
    int size_ok = cb->ndim == 1 && (legacy ? cb->shape[0] >= 1 && cb->shape[0] <= k
                                           : cb->shape[0] == k);
    if (!size_ok || !(cb->dtype == HXQ_DT_F32 || (legacy && cb->dtype == HXQ_DT_F16))) {
        FAIL(cb, "codebook", "codebook is %s[%lld] (rank %d), expected F32[%d]",
             hxq_dtype_name(cb->dtype), (long long)(cb->ndim ? cb->shape[0] : 0), cb->ndim, k);
        return HXQ_OK;
    }
    int64_t bad = verify_first_nonfinite(cb);
    if (bad >= 0)
        FAIL(cb, "codebook_finite", "codebook entry %lld is not finite", (long long)bad);
    return HXQ_OK;
}

/* Indices: U8 [rows, cols], every value < k. rows and cols are -1 when
 * unusable. */
static int check_indices(const hxq_tensor *ix, const char *mod, int k, int64_t *rows,
                         int64_t *cols, hxq_verify_report *rep)
{
    *rows = *cols = -1;
    if (!ix) {
        FAIL(ix, "indices", "missing tensor '%s.indices'", mod);
        return HXQ_OK;
    }
    if (ix->dtype != HXQ_DT_U8 || ix->ndim != 2) {
        FAIL(ix, "indices", "indices are %s of rank %d, expected U8 [out, in]%s",
             hxq_dtype_name(ix->dtype), ix->ndim,
             ix->ndim == 1 ? " (12-bit packed indices are not supported)" : "");
        return HXQ_OK;
    }
    *rows = ix->shape[0];
    *cols = ix->shape[1];
    if (k < 256) {
        const uint8_t *p = ix->data;
        for (int64_t i = 0; i < ix->nelem; i++) {
            if (p[i] >= k) {
                FAIL(ix, "indices_range", "index %u at %lld is not below the codebook size %d",
                     p[i], (long long)i, k);
                break;
            }
        }
    }
    return HXQ_OK;
}

static int check_sidecar(const hxq_tensor *sp, const hxq_tensor *sv, const char *mod, int legacy,
                         int64_t nelem, int enabled, hxq_verify_report *rep)
{
    if (!sp && !sv)
        return HXQ_OK;
    if (!sp || !sv) {
        FAIL(sp ? sp : sv, "sidecar", "'%s.sidecar_%s' is missing", mod,
             sp ? "values" : "positions");
        return HXQ_OK;
    }
    if (!enabled && sp->nelem > 0)
        FAIL(sp, "sidecar_enabled", "%lld sidecar entries but sidecar_enabled is false",
             (long long)sp->nelem);
    if (sp->dtype != HXQ_DT_I64 || sp->ndim != 1 || sv->ndim != 1 ||
        !(sv->dtype == HXQ_DT_F32 || (legacy && sv->dtype == HXQ_DT_F16)) ||
        sv->shape[0] != sp->shape[0]) {
        FAIL(sp, "sidecar", "sidecar is %s[%lld] positions and %s[%lld] values, expected "
             "I64[N] and F32[N]", hxq_dtype_name(sp->dtype),
             (long long)(sp->ndim == 1 ? sp->shape[0] : -1), hxq_dtype_name(sv->dtype),
             (long long)(sv->ndim == 1 ? sv->shape[0] : -1));
        return HXQ_OK;
    }
    const unsigned char *p = sp->data;
    int64_t prev = -1;
    for (int64_t i = 0; i < sp->nelem; i++) {
        int64_t v;
        memcpy(&v, p + 8 * i, 8);
        if (v < 0 || (nelem >= 0 && v >= nelem)) {
            FAIL(sp, "sidecar_range", "position %lld (entry %lld) is outside [0, %lld)",
                 (long long)v, (long long)i, (long long)nelem);
            break;
        }
        if (i > 0 && v == prev) {
            FAIL(sp, "sidecar_unique", "position %lld appears twice (entry %lld)", (long long)v,
                 (long long)i);
            break;
        }
        if (i > 0 && v < prev) {
            FAIL(sp, "sidecar_sorted", "position %lld (entry %lld) follows %lld", (long long)v,
                 (long long)i, (long long)prev);
            break;
        }
        prev = v;
    }
    int64_t bad = verify_first_nonfinite(sv);
    if (bad >= 0)
        FAIL(sv, "sidecar_finite", "sidecar value %lld is not finite", (long long)bad);
    return HXQ_OK;
}

/* One listed module: its parts, their shapes and values. *nkeys receives
 * how many of its part tensors exist. */
static int check_module(const hxq_ckpt *ck, const hxq_qconfig *q, const char *mod,
                        hxq_verify_report *rep, int64_t *nkeys)
{
    int legacy = strcmp(q->quant_method, "hxq") != 0;
    const hxq_tensor *cb = find_part(ck, mod, ".codebook");
    const hxq_tensor *ix = find_part(ck, mod, ".indices");
    const hxq_tensor *sp = find_part(ck, mod, ".sidecar_positions");
    const hxq_tensor *sv = find_part(ck, mod, ".sidecar_values");
    const hxq_tensor *w = find_part(ck, mod, ".weight");
    const hxq_tensor *b = find_part(ck, mod, ".bias");
    *nkeys = (cb != NULL) + (ix != NULL) + (sp != NULL) + (sv != NULL);
    rep->modules_checked++;
    rep->tensors_checked += *nkeys;
    for (int i = 0; i < q->n_exact; i++)
        if (q->exact_patterns[i][0] && strstr(mod, q->exact_patterns[i]))
            FAIL(cb, "exact_patterns", "compressed module matches exact pattern '%s'",
                 q->exact_patterns[i]);
    if (w)
        FAIL(w, "module_keys", "a compressed module still has a dense '%s.weight'", mod);
    int k = q->codebook_size;
    VERIFY_TRY(check_codebook(cb, mod, legacy, k, rep));
    if (legacy && cb && cb->ndim == 1 && cb->shape[0] >= 1 && cb->shape[0] < k)
        k = (int)cb->shape[0];
    int64_t rows, cols, nelem = -1;
    VERIFY_TRY(check_indices(ix, mod, k, &rows, &cols, rep));
    if (rows >= 0 && hxq_mul_i64(rows, cols, &nelem) < 0)
        nelem = -1;
    VERIFY_TRY(check_sidecar(sp, sv, mod, legacy, nelem, q->sidecar_enabled, rep));
    if (b && rows >= 0 && (b->ndim != 1 || b->shape[0] != rows))
        FAIL(b, "bias_shape", "bias has %lld elements, the module has %lld rows",
             (long long)b->nelem, (long long)rows);
    return HXQ_OK;
}

int verify_structure(const char *dir, const hxq_ckpt *ck, const hxq_qconfig *q,
                     hxq_verify_report *rep)
{
    (void)dir;
    if (!strcmp(q->quant_method, "hxq") && q->codebook_size != 256)
        VERIFY_TRY(hxq_verify_fail(rep, "config.json", "", "qconfig",
                                   "codebook_size is %d, quant_method hxq needs 256",
                                   q->codebook_size));
    char **sorted = hxq_alloc_array(q->n_modules, sizeof(char *));
    if (!sorted)
        return HXQ_ERR_NOMEM;
    if (q->n_modules)
        memcpy(sorted, q->modules, (size_t)q->n_modules * sizeof(char *));
    qsort(sorted, (size_t)q->n_modules, sizeof(char *), str_cmp);
    int rc = HXQ_OK;
    int64_t part_keys = 0;
    for (int64_t i = 0; i < q->n_modules && rc == HXQ_OK; i++) {
        if (i > 0 && !strcmp(sorted[i], sorted[i - 1])) {
            rc = hxq_verify_fail(rep, "config.json", sorted[i], "qconfig",
                                 "module listed twice in compressed_modules");
            continue;
        }
        int64_t nk = 0;
        rc = check_module(ck, q, sorted[i], rep, &nk);
        part_keys += nk;
    }
    /* every other tensor is exact: finite, and no orphaned parts */
    int64_t exact = 0;
    char buf[1024];
    for (int64_t i = 0; i < hxq_ckpt_count(ck) && rc == HXQ_OK; i++) {
        const hxq_tensor *t = hxq_ckpt_tensor(ck, i);
        if (part_module(t->name, buf, sizeof(buf))) {
            const char *key = buf;
            if (bsearch(&key, sorted, (size_t)q->n_modules, sizeof(char *), str_cmp))
                continue;
            rc = hxq_verify_fail(rep, verify_base(t->path), t->name, "orphan",
                                 "part of module '%s', which compressed_modules does not list",
                                 buf);
            continue;
        }
        exact++;
        rep->tensors_checked++;
        int64_t bad = verify_first_nonfinite(t);
        if (bad >= 0)
            rc = hxq_verify_fail(rep, verify_base(t->path), t->name, "exact_finite",
                                 "element %lld is not finite", (long long)bad);
    }
    if (rc == HXQ_OK && part_keys + exact != hxq_ckpt_count(ck))
        rc = hxq_verify_fail(rep, "", "", "key_count",
                             "%lld keys, expected %lld module parts + %lld exact tensors",
                             (long long)hxq_ckpt_count(ck), (long long)part_keys,
                             (long long)exact);
    free(sorted);
    return rc;
}
