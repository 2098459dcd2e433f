/* compress.c - hxq_compress(): plan, encode + write, small files,
 * re-open checks, receipts, rename into place. */
#include "compress_int.h"
#include "hxq_verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int init_receipt(const hxq_plan *p, const char *src, hxq_compression_receipt *r,
                        hxq_error *err)
{
    r->format_version = 1;
    snprintf(r->tool_version, sizeof(r->tool_version), "%s", HXQ_VERSION);
    r->codebook_size = HXQ_CODEBOOK_SIZE;
    r->min_elements = p->opts.min_elements;
    r->exact_patterns = calloc((size_t)p->n_patterns + 1, sizeof(char *));
    r->tensors = hxq_calloc_array(p->n, sizeof(hxq_rc_tensor));
    r->source_dir = hxq_strdup(src);
    r->source_files = calloc((size_t)p->n_src_files + 1, sizeof(hxq_rc_file));
    if (!r->exact_patterns || !r->tensors || !r->source_dir || !r->source_files)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    r->n_tensors = p->n;
    for (int i = 0; i < p->n_patterns; i++) {
        if (!(r->exact_patterns[i] = hxq_strdup(p->patterns[i])))
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        r->n_patterns++;
    }
    const hxq_encode_opts *e = &p->opts.encode;
    snprintf(r->sidecar_mode, sizeof(r->sidecar_mode), "%s",
             pipeline_sidecar_mode_name(e->sidecar_mode));
    r->sidecar_count = e->sidecar_mode == HXQ_SIDECAR_COUNT ? e->sidecar_count : 0;
    r->sidecar_fraction = e->sidecar_mode == HXQ_SIDECAR_FRACTION ? e->sidecar_fraction : 0;
    r->max_shard_size = p->opts.max_shard_size;
    r->snr_floor_db = p->opts.snr_floor_db;
    for (int i = 0; i < p->n_src_files; i++) {
        r->source_files[i] = p->src_files[i];
        if (!(r->source_files[i].name = hxq_strdup(p->src_files[i].name)))
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        r->n_source_files++;
    }
    return HXQ_OK;
}

/* Re-opens the written safetensors: every receipt key must be there with
 * its dtype and shape, and nothing else. */
static void reopen_check(const char *dir, compress_state *st, int *readable, int *keys_match,
                         char *detail, size_t cap)
{
    hxq_ckpt *ck;
    hxq_error e = {0};
    *readable = *keys_match = 0;
    if (hxq_ckpt_open(dir, &ck, &e) < 0) {
        snprintf(detail, cap, "%s", e.msg);
        return;
    }
    int64_t want = 0, bad = 0;
    const char *first_bad = NULL;
    for (int64_t i = 0; i < st->r.n_tensors; i++) {
        const hxq_rc_tensor *t = &st->r.tensors[i];
        for (int k = 0; k < t->nkeys; k++) {
            const hxq_rc_key *key = &t->keys[k];
            const hxq_tensor *x = hxq_ckpt_find(ck, key->key);
            want++;
            int ok = x && x->dtype == key->dtype && x->ndim == key->ndim &&
                     !memcmp(x->shape, key->shape, (size_t)key->ndim * sizeof(int64_t));
            if (!ok && !bad++)
                first_bad = key->key;
        }
    }
    *readable = bad == 0;
    *keys_match = hxq_ckpt_count(ck) == want && want == st->r.total_keys;
    if (bad)
        snprintf(detail, cap, "%lld stored keys missing or with another dtype/shape, first '%s'",
                 (long long)bad, first_bad);
    else
        snprintf(detail, cap, "%lld keys in %d file(s)", (long long)hxq_ckpt_count(ck),
                 hxq_ckpt_nfiles(ck));
    hxq_ckpt_close(ck);
}

static int write_text(const char *dir, const char *name, char *txt, hxq_error *err)
{
    char *path = hxq_path_join(dir, name);
    int rc = path ? hxq_write_file_atomic(path, txt, strlen(txt), err)
                  : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    free(path);
    free(txt);
    return rc;
}

static int write_gates(const hxq_plan *p, const char *dir, compress_state *st, int readable,
                       int keys_match, hxq_error *err)
{
    hxq_gate1_receipt g1;
    memset(&g1, 0, sizeof(g1));
    g1.readable = readable;
    g1.compressed_complete = readable;
    g1.indices_in_range = readable;   /* U8 indices into 256 entries, checked on re-open */
    g1.exact_no_nan = 1;              /* refused at planning time */
    g1.key_count_match = keys_match;
    g1.total_keys = st->r.total_keys;
    g1.compressed_modules = st->r.n_compressed;
    g1.exact_tensors = st->r.n_exact;
    if (st->n_shard_files == 1) {
        memcpy(g1.sha256, st->shard_files[0].sha256, HXQ_SHA256_HEX);
    } else {
        for (int i = 0; i < st->n_shard_files; i++)
            if (!strcmp(st->shard_files[i].name, "model.safetensors.index.json"))
                memcpy(g1.sha256, st->shard_files[i].sha256, HXQ_SHA256_HEX);
            else
                g1.n_shards++;
        g1.shards = st->shard_files;  /* sorted: shards "model-..." come before the index */
    }
    char *txt;
    HXQ_TRY(hxq_receipt_gate1_json(&g1, &txt, err));
    HXQ_TRY(write_text(dir, "conversion_receipt.json", txt, err));

    const char **exact = hxq_alloc_array(p->n, sizeof(char *));
    if (!exact)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    hxq_gate2_receipt g2;
    memset(&g2, 0, sizeof(g2));
    for (int64_t i = 0; i < p->n; i++)
        if (!p->items[i].compressed)
            exact[g2.n_exact++] = p->items[i].name;
    g2.exact = exact;
    g2.dense_tensors = p->totals.source_tensors;
    g2.output_tensors = st->r.total_keys;
    g2.compressed_weights = st->r.n_compressed;
    g2.accounted = p->totals.source_tensors;
    int rc = hxq_receipt_gate2_json(&g2, &txt, err);
    free(exact);
    HXQ_TRY(rc);
    return write_text(dir, "completeness_gate_receipt.json", txt, err);
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const hxq_rc_file *)a)->name, ((const hxq_rc_file *)b)->name);
}

/* output.files: shards (+ index) and the small files, hashed now. */
static int list_outputs(const char *dir, compress_state *st, const char **aux, int naux,
                        hxq_error *err)
{
    static const char *const extra[] = {"config.json", "conversion_receipt.json",
                                        "completeness_gate_receipt.json"};
    int n = st->n_shard_files + naux + 3;
    hxq_rc_file *f = calloc((size_t)n, sizeof(*f));
    if (!f)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    st->r.output_files = f;
    for (int i = 0; i < st->n_shard_files; i++) {
        f[i] = st->shard_files[i];
        if (!(f[i].name = hxq_strdup(st->shard_files[i].name)))
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        st->r.n_output_files++;
    }
    for (int i = 0; i < naux + 3; i++) {
        HXQ_TRY(pipeline_hash_file(dir, i < naux ? aux[i] : extra[i - naux],
                                   &f[st->r.n_output_files], err));
        st->r.n_output_files++;
    }
    qsort(f, (size_t)st->r.n_output_files, sizeof(*f), file_cmp);
    return HXQ_OK;
}

/* The snr_floor check and the summary's SNR fields. */
static int snr_check(const hxq_plan *p, compress_state *st, hxq_compress_summary *s)
{
    char below[768] = "";
    size_t bl = 0;
    s->min_snr_db = INFINITY;
    s->below_floor = 0;
    for (int64_t i = 0; i < st->r.n_tensors; i++) {
        const hxq_rc_tensor *t = &st->r.tensors[i];
        if (!t->compressed)
            continue;
        if (t->snr_db < s->min_snr_db || (isinf(s->min_snr_db) && !s->min_snr_name[0])) {
            s->min_snr_db = t->snr_db;
            snprintf(s->min_snr_name, sizeof(s->min_snr_name), "%s", t->name);
        }
        if (!(t->snr_db >= p->opts.snr_floor_db)) {
            s->below_floor++;
            if (bl < sizeof(below) - 64)
                bl += (size_t)snprintf(below + bl, sizeof(below) - bl, "%s%s (%.2f dB)",
                                       s->below_floor > 1 ? ", " : "; below: ", t->name,
                                       t->snr_db);
        }
    }
    return hxq_receipt_add_check(&st->r, "snr_floor", s->below_floor == 0,
                                 "min %.2f dB (%s) %s floor %.2f dB%s", s->min_snr_db,
                                 s->min_snr_name[0] ? s->min_snr_name : "no compressed matrix",
                                 s->below_floor ? "<" : ">=", p->opts.snr_floor_db, below);
}

static int finish_folder(const hxq_plan *p, const char *dir, compress_state *st,
                         hxq_compress_summary *s, hxq_error *err)
{
    hxq_compression_receipt *r = &st->r;
    r->source_tensors = p->totals.source_tensors;
    r->n_compressed = p->totals.compressed;
    r->n_exact = p->totals.exact;
    r->total_keys = p->totals.keys;
    r->bytes_in = p->totals.bytes_in;
    for (int i = 0; i < st->n_shard_files; i++)
        if (strcmp(st->shard_files[i].name, "model.safetensors.index.json"))
            r->bytes_out += st->shard_files[i].size;
    r->ratio = r->bytes_out ? (double)r->bytes_in / (double)r->bytes_out : 0;

    int readable, keys_match;
    char detail[HXQ_ERROR_MSG_MAX + 64];
    reopen_check(dir, st, &readable, &keys_match, detail, sizeof(detail));
    HXQ_TRY(pipeline_write_config(p, dir, err));
    const char **aux = NULL;
    int naux = 0;
    HXQ_TRY(hxq_copy_aux_files(p->src_dir, dir, &aux, &naux, err));
    int rc = write_gates(p, dir, st, readable, keys_match, err);
    if (rc == HXQ_OK)
        rc = list_outputs(dir, st, aux, naux, err);
    free(aux);
    HXQ_TRY(rc);

    /* every byte of every source tensor is covered by written items */
    int64_t covered = 0;
    for (int64_t i = 0; i < r->source_tensors; i++) {
        const hxq_tensor *t = hxq_ckpt_tensor(p->ck, i);
        uint64_t got = 0;
        for (int64_t k = 0; k < p->n; k++)
            if (p->items[k].src == t && r->tensors[k].nkeys > 0)
                got += p->items[k].in_bytes;
        covered += got == t->nbytes;
    }
    int ok = hxq_receipt_add_check(r, "all_source_tensors_accounted",
                                   covered == r->source_tensors, "%lld of %lld",
                                   (long long)covered, (long long)r->source_tensors) == HXQ_OK &&
             hxq_receipt_add_check(r, "weights_finite", 1,
                                   "every source floating tensor is finite") == HXQ_OK &&
             hxq_receipt_add_check(r, "key_count_match", keys_match, "%lld keys expected",
                                   (long long)r->total_keys) == HXQ_OK &&
             hxq_receipt_add_check(r, "output_readable", readable, "%s", detail) == HXQ_OK &&
             snr_check(p, st, s) == HXQ_OK;
    if (!ok)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    r->pass = 1;
    for (int i = 0; i < r->n_checks; i++)
        r->pass &= r->checks[i].pass;
    return HXQ_OK;
}

int hxq_compress(const char *src, const char *dst, const hxq_compress_opts *o,
                 hxq_compress_summary *summary, hxq_error *err)
{
    double t0 = hxq_now();
    hxq_outdir *od = NULL;
    hxq_pool *pool = NULL;
    hxq_plan *p = NULL;
    compress_state st;
    memset(&st, 0, sizeof(st));
    hxq_compress_summary s;
    memset(&s, 0, sizeof(s));
    int rc = hxq_outdir_begin(dst, src, o->force, &od, err);
    if (rc < 0)
        return rc;
    const char *dir = hxq_outdir_path(od);
    if (!(pool = hxq_pool_create(o->threads))) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "cannot start %d threads", o->threads);
        goto fail;
    }
    if ((rc = pipeline_plan_create(src, o, pool, &p, err)) < 0)
        goto fail;
    double t_plan = hxq_now();
    if ((rc = init_receipt(p, src, &st.r, err)) < 0)
        goto fail;
    if ((rc = pipeline_encode_write(p, pool, dir, &st, err)) < 0)
        goto fail;
    double t_write = hxq_now();
    if ((rc = finish_folder(p, dir, &st, &s, err)) < 0)
        goto fail;
    st.r.has_timings = 1;
    st.r.threads = hxq_pool_threads(pool);
    st.r.plan_s = t_plan - t0;
    st.r.encode_write_s = t_write - t_plan;
    st.r.total_s = hxq_now() - t0;
    char *txt;
    if ((rc = hxq_receipt_compression_json(&st.r, &txt, err)) < 0)
        goto fail;
    if ((rc = hxq_receipt_seal_append(&txt, err)) < 0) { /* sealed: docs/VERIFY.md */
        free(txt);
        goto fail;
    }
    if ((rc = write_text(dir, "compression_receipt.json", txt, err)) < 0)
        goto fail;
    rc = hxq_outdir_commit(od, err);
    od = NULL;
    if (rc < 0)
        goto fail;
    s.totals = p->totals;
    s.totals.bytes_out = st.r.bytes_out;
    s.ratio = st.r.ratio;
    s.pass = st.r.pass;
    s.seconds = hxq_now() - t0;
    if (summary)
        *summary = s;
    if (!s.pass) {
        for (int i = 0; i < st.r.n_checks; i++)
            if (!st.r.checks[i].pass) {
                rc = hxq_err(err, HXQ_ERR_VERIFY, "%s: verdict FAIL: %s: %s", dst,
                             st.r.checks[i].name, st.r.checks[i].detail);
                break;
            }
    }
    goto out;
fail:
    hxq_outdir_abort(od);
out:
    hxq_receipt_compression_free(&st.r);
    hxq_rc_files_free(st.shard_files, st.n_shard_files);
    hxq_plan_free(p);
    hxq_pool_free(pool);
    return rc;
}
