/* verify_compression.c - compression_receipt.json against the folder:
 * every stored key with its file, dtype, shape and XXH64, the module
 * list, totals, options and verdict (what can be checked without the
 * source). */
#include "hxq_receipt.h"
#include "verify_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CR VERIFY_COMPRESSION_RECEIPT

static int same_shape(int nd, const int64_t *a, const hxq_tensor *t)
{
    if (nd != t->ndim)
        return 0;
    for (int d = 0; d < nd; d++)
        if (a[d] != t->shape[d])
            return 0;
    return 1;
}

/* One stored key: present, in the recorded file, dtype, shape, hash. */
static int check_key(const hxq_ckpt *ck, const hxq_rc_tensor *rt, const hxq_rc_key *k,
                     hxq_verify_report *rep)
{
    const hxq_tensor *t = hxq_ckpt_find(ck, k->key);
    if (!t)
        return hxq_verify_fail(rep, k->file, k->key, "receipt_keys",
                               "recorded in %s for '%s' but not stored", CR, rt->name);
    if (strcmp(verify_base(t->path), k->file))
        VERIFY_TRY(hxq_verify_fail(rep, verify_base(t->path), k->key, "receipt_keys",
                                   "stored in this file, %s records '%s'", CR, k->file));
    if (t->dtype != k->dtype || !same_shape(k->ndim, k->shape, t))
        VERIFY_TRY(hxq_verify_fail(rep, verify_base(t->path), k->key, "receipt_keys",
                                   "stored as %s of rank %d, %s records %s of rank %d",
                                   hxq_dtype_name(t->dtype), t->ndim, CR,
                                   hxq_dtype_name(k->dtype), k->ndim));
    char hex[17];
    hxq_xxh64_hex(t->data, t->nbytes, hex);
    if (strcmp(hex, k->xxh64))
        VERIFY_TRY(hxq_verify_fail(rep, verify_base(t->path), k->key, "xxh64",
                                   "xxh64 %s, %s records %s", hex, CR, k->xxh64));
    return HXQ_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The module-level facts of one tensor group. */
static int check_group(const hxq_ckpt *ck, const hxq_rc_tensor *rt, char **mods, int64_t nmods,
                       hxq_verify_report *rep)
{
    static const char *const sfx[] = {".codebook", ".indices", ".sidecar_positions",
                                      ".sidecar_values"};
    const char *name = rt->name;
    if (rt->compressed) {
        if (!bsearch(&name, mods, (size_t)nmods, sizeof(char *), str_cmp))
            VERIFY_TRY(hxq_verify_fail(rep, CR, name, "receipt_modules",
                                       "recorded as compressed but not in compressed_modules"));
        if (rt->nkeys != 4)
            return hxq_verify_fail(rep, CR, name, "receipt_keys", "%d stored keys, expected 4",
                                   rt->nkeys);
        for (int i = 0; i < 4; i++) {
            size_t n = strlen(name);
            if (strncmp(rt->keys[i].key, name, n) || strcmp(rt->keys[i].key + n, sfx[i]))
                VERIFY_TRY(hxq_verify_fail(rep, CR, name, "receipt_keys",
                                           "stored key %d is '%s', expected '%s%s'", i,
                                           rt->keys[i].key, name, sfx[i]));
        }
        const hxq_tensor *ix = hxq_ckpt_find(ck, rt->keys[1].key);
        const hxq_tensor *sp = hxq_ckpt_find(ck, rt->keys[2].key);
        if (ix && !same_shape(rt->ndim, rt->shape, ix))
            VERIFY_TRY(hxq_verify_fail(rep, CR, name, "receipt_shape",
                                       "recorded shape differs from the indices' shape"));
        if (sp && sp->nelem != rt->sidecar_count)
            VERIFY_TRY(hxq_verify_fail(rep, CR, name, "receipt_sidecar",
                                       "%lld sidecar entries stored, %lld recorded",
                                       (long long)sp->nelem, (long long)rt->sidecar_count));
        if (!(rt->mse >= 0) || !(rt->cosine >= -1 && rt->cosine <= 1) ||
            !(rt->max_abs_err >= 0) || isnan(rt->snr_db))
            VERIFY_TRY(hxq_verify_fail(rep, CR, name, "receipt_error",
                                       "recorded error statistics are out of range"));
    } else if (rt->nkeys != 1 || strcmp(rt->keys[0].key, name)) {
        return hxq_verify_fail(rep, CR, name, "receipt_keys",
                               "an exact tensor must be stored as one key of its own name");
    } else if (strcmp(rt->source, name)) {
        VERIFY_TRY(hxq_verify_fail(rep, CR, name, "receipt_source",
                                   "exact tensor recorded from source '%s'", rt->source));
    }
    for (int i = 0; i < rt->nkeys; i++)
        VERIFY_TRY(check_key(ck, rt, &rt->keys[i], rep));
    return HXQ_OK;
}

/* Source bytes a group covers: its matrix (or tensor) in the source dtype. */
static uint64_t group_in_bytes(const hxq_rc_tensor *rt)
{
    int64_t n = 1;
    for (int d = 0; d < rt->ndim; d++)
        if (hxq_mul_i64(n, rt->shape[d], &n) < 0)
            return 0;
    return (uint64_t)n * hxq_dtype_size(rt->source_dtype);
}

static int check_totals(const hxq_ckpt *ck, const hxq_compression_receipt *cr,
                        hxq_verify_report *rep)
{
    int64_t comp = 0, exact = 0, keys = 0;
    uint64_t in = 0, out = 0;
    double worst = INFINITY;
    for (int64_t i = 0; i < cr->n_tensors; i++) {
        const hxq_rc_tensor *rt = &cr->tensors[i];
        comp += rt->compressed;
        exact += !rt->compressed;
        keys += rt->nkeys;
        in += group_in_bytes(rt);
        if (rt->compressed && rt->snr_db < worst)
            worst = rt->snr_db;
    }
    for (int i = 0; i < cr->n_output_files; i++)
        if (verify_ends_with(cr->output_files[i].name, ".safetensors"))
            out += cr->output_files[i].size;
    if (comp != cr->n_compressed || exact != cr->n_exact || keys != cr->total_keys ||
        keys != hxq_ckpt_count(ck))
        VERIFY_TRY(hxq_verify_fail(rep, CR, "", "receipt_totals",
                                   "totals record %lld compressed, %lld exact, %lld keys; the "
                                   "tensors list %lld, %lld, %lld and the folder has %lld keys",
                                   (long long)cr->n_compressed, (long long)cr->n_exact,
                                   (long long)cr->total_keys, (long long)comp, (long long)exact,
                                   (long long)keys, (long long)hxq_ckpt_count(ck)));
    if (in != cr->bytes_in || out != cr->bytes_out ||
        !(out > 0 && cr->ratio == (double)in / (double)out))
        VERIFY_TRY(hxq_verify_fail(rep, CR, "", "receipt_totals",
                                   "bytes_in %llu, bytes_out %llu, ratio %.17g recorded; the "
                                   "tensors and files give %llu, %llu",
                                   (unsigned long long)cr->bytes_in,
                                   (unsigned long long)cr->bytes_out, cr->ratio,
                                   (unsigned long long)in, (unsigned long long)out));
    int all = 1;
    for (int i = 0; i < cr->n_checks; i++)
        all = all && cr->checks[i].pass;
    if (!cr->pass || !all || cr->n_checks == 0)
        VERIFY_TRY(hxq_verify_fail(rep, CR, "", "receipt_verdict",
                                   "the receipt's verdict is not PASS with every check passing"));
    else if (comp > 0 && worst < cr->snr_floor_db)
        VERIFY_TRY(hxq_verify_fail(rep, CR, "", "receipt_verdict",
                                   "verdict PASS but a matrix has %.3f dB, below the floor %g dB",
                                   worst, cr->snr_floor_db));
    return HXQ_OK;
}

/* Options that config.json repeats must agree with it. */
static int check_options(const hxq_qconfig *q, const hxq_compression_receipt *cr,
                         hxq_verify_report *rep)
{
    int same = cr->n_patterns == q->n_exact;
    for (int i = 0; same && i < q->n_exact; i++)
        same = !strcmp(cr->exact_patterns[i], q->exact_patterns[i]);
    if (!same)
        VERIFY_TRY(hxq_verify_fail(rep, CR, "", "receipt_options",
                                   "options.exact_patterns differ from config.json's"));
    if (cr->codebook_size != q->codebook_size)
        VERIFY_TRY(hxq_verify_fail(rep, CR, "", "receipt_options",
                                   "codebook_size %d, config.json has %d", cr->codebook_size,
                                   q->codebook_size));
    if (!cr->tool_version[0])
        VERIFY_TRY(hxq_verify_fail(rep, CR, "", "receipt_options", "no tool version"));
    return HXQ_OK;
}

int verify_compression_receipt(const hxq_ckpt *ck, const hxq_qconfig *q,
                               const hxq_compression_receipt *cr, hxq_verify_report *rep)
{
    char **mods = hxq_alloc_array(q->n_modules, sizeof(char *));
    if (!mods)
        return HXQ_ERR_NOMEM;
    if (q->n_modules)
        memcpy(mods, q->modules, (size_t)q->n_modules * sizeof(char *));
    qsort(mods, (size_t)q->n_modules, sizeof(char *), str_cmp);
    int rc = HXQ_OK;
    int64_t comp = 0;
    for (int64_t i = 0; i < cr->n_tensors && rc == HXQ_OK; i++) {
        comp += cr->tensors[i].compressed;
        rc = check_group(ck, &cr->tensors[i], mods, q->n_modules, rep);
    }
    free(mods);
    if (rc == HXQ_OK && comp != q->n_modules)
        rc = hxq_verify_fail(rep, CR, "", "receipt_modules",
                             "%lld compressed groups recorded, config.json lists %lld modules",
                             (long long)comp, (long long)q->n_modules);
    if (rc == HXQ_OK)
        rc = check_totals(ck, cr, rep);
    if (rc == HXQ_OK)
        rc = check_options(q, cr, rep);
    return rc;
}
