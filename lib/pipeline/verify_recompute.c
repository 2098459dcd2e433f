/* verify_recompute.c - hxq verify --recompute: compress the source again
 * with the receipt's options into a temporary folder and require every
 * file to be byte-identical (the receipt up to its timings). */
#include "hxq_pipeline.h"
#include "pipeline_int.h"
#include "verify_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compression options from the receipt; 0 when it records something
 * compress cannot be asked for. extra receives borrowed pattern pointers. */
static int options_from(const hxq_compression_receipt *cr, int threads, hxq_compress_opts *o,
                        const char **extra)
{
    hxq_compress_opts_init(o);
    if (cr->codebook_size != HXQ_CODEBOOK_SIZE)
        return 0;
    /* the default patterns lead the list, with or without the head ones */
    const char *dflt[16];
    int nd = 0;
    for (o->include_head = 0; o->include_head < 2; o->include_head++) {
        nd = pipeline_default_patterns(o->include_head, dflt);
        int same = cr->n_patterns >= nd;
        for (int i = 0; same && i < nd; i++)
            same = !strcmp(cr->exact_patterns[i], dflt[i]);
        if (same)
            break;
    }
    if (o->include_head == 2)
        return 0;
    for (int i = nd; i < cr->n_patterns; i++)
        extra[i - nd] = cr->exact_patterns[i];
    o->extra_exact = extra;
    o->n_extra_exact = cr->n_patterns - nd;
    o->min_elements = cr->min_elements;
    int found = 0;
    for (int m = HXQ_SIDECAR_REFERENCE; m <= HXQ_SIDECAR_NONE; m++) {
        if (!strcmp(cr->sidecar_mode, pipeline_sidecar_mode_name((hxq_sidecar_mode)m))) {
            o->encode.sidecar_mode = (hxq_sidecar_mode)m;
            found = 1;
        }
    }
    o->encode.sidecar_count = cr->sidecar_count;
    o->encode.sidecar_fraction = cr->sidecar_fraction;
    o->max_shard_size = cr->max_shard_size;
    o->snr_floor_db = cr->snr_floor_db;
    o->threads = threads;
    return found;
}

/* The receipt's reproducible part as text: no timings, no source.dir. */
static int receipt_core(const char *dir, char **out, hxq_error *err)
{
    hxq_compression_receipt r;
    HXQ_TRY(hxq_receipt_compression_load(dir, &r, err));
    r.has_timings = 0;
    free(r.source_dir);
    r.source_dir = NULL;
    int rc = hxq_receipt_compression_json(&r, out, err);
    hxq_receipt_compression_free(&r);
    return rc;
}

static int compare_receipts(const char *dir, const char *redo, hxq_verify_report *rep)
{
    char *a = NULL, *b = NULL;
    hxq_error e = {0};
    int rc = receipt_core(dir, &a, &e);
    if (rc == HXQ_OK)
        rc = receipt_core(redo, &b, &e);
    if (rc == HXQ_ERR_NOMEM) {
        free(a);
        return rc;
    }
    if (rc < 0)
        rc = hxq_verify_fail(rep, VERIFY_COMPRESSION_RECEIPT, "", "recompute", "%s", e.msg);
    else if (strcmp(a, b))
        rc = hxq_verify_fail(rep, VERIFY_COMPRESSION_RECEIPT, "", "recompute",
                             "differs from the recomputed receipt (timings aside)");
    else
        rep->files_recomputed++;
    free(a);
    free(b);
    return rc;
}

/* Compares one file name of either folder. */
static int compare_file(const char *dir, const char *redo, const char *name,
                        hxq_verify_report *rep)
{
    if (!strcmp(name, VERIFY_COMPRESSION_RECEIPT))
        return compare_receipts(dir, redo, rep);
    char *p1 = hxq_path_join(dir, name), *p2 = hxq_path_join(redo, name);
    char h1[HXQ_SHA256_HEX], h2[HXQ_SHA256_HEX];
    int rc = HXQ_OK;
    if (!p1 || !p2) {
        rc = HXQ_ERR_NOMEM;
    } else if (!hxq_path_exists(p1) || !hxq_path_exists(p2)) {
        rc = hxq_verify_fail(rep, name, "", "recompute", "present only in the %s folder",
                             hxq_path_exists(p1) ? "verified" : "recomputed");
    } else if (hxq_sha256_file(p1, h1, NULL, NULL) < 0 || hxq_sha256_file(p2, h2, NULL, NULL) < 0) {
        rc = hxq_verify_fail(rep, name, "", "recompute", "cannot be read");
    } else {
        rep->files_recomputed++;
        if (strcmp(h1, h2))
            rc = hxq_verify_fail(rep, name, "", "recompute",
                                 "sha256 %s, the recomputed file has %s", h1, h2);
    }
    free(p1);
    free(p2);
    return rc;
}

/* Calls compare_file for the regular files of `scan` (skipping names
 * also in `other` when skip_common). */
static int compare_dir(const char *dir, const char *redo, const char *scan, const char *other,
                       int skip_common, hxq_verify_report *rep)
{
    DIR *d = opendir(scan);
    if (!d)
        return HXQ_ERR_IO;
    struct dirent *de;
    int rc = HXQ_OK;
    while (rc == HXQ_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.' || hxq_is_eval_receipt_name(de->d_name))
            continue;    /* the eval receipt is no output of compress */
        char *po = hxq_path_join(other, de->d_name);
        if (!po) {
            rc = HXQ_ERR_NOMEM;
            break;
        }
        int common = hxq_path_exists(po);
        free(po);
        if (skip_common && common)
            continue;
        rc = compare_file(dir, redo, de->d_name, rep);
    }
    closedir(d);
    return rc;
}

int verify_recompute(const char *dir, const hxq_compression_receipt *cr, const char *src,
                     int threads, hxq_verify_report *rep, hxq_error *err)
{
    hxq_compress_opts o;
    const char **extra = hxq_alloc_array(cr->n_patterns, sizeof(char *));
    if (!extra)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (!options_from(cr, threads, &o, extra)) {
        free(extra);
        return hxq_verify_fail(rep, VERIFY_COMPRESSION_RECEIPT, "", "recompute",
                               "the recorded options cannot be given to compress");
    }
    size_t l = strlen(dir);
    while (l > 1 && dir[l - 1] == '/')
        l--;
    char *tmp = malloc(l + 24), *redo = NULL;
    int rc = HXQ_OK, lock = -1;
    if (tmp)
        snprintf(tmp, l + 24, "%.*s.recompute-XXXXXX", (int)l, dir);
    if (!tmp || !(redo = malloc(l + 32))) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    } else {
        pipeline_sweep_stale(dir, ".recompute-"); /* scratch of killed runs */
        if (!mkdtemp(tmp)) {
            rc = hxq_err(err, HXQ_ERR_IO, "%s: cannot create a temporary folder: %s", tmp,
                         strerror(errno));
            free(tmp);
            tmp = NULL;
        } else {
            lock = pipeline_stage_lock(tmp); /* a killed run's folder is swept next time */
        }
    }
    if (rc == HXQ_OK) {
        snprintf(redo, l + 32, "%s/out", tmp);
        hxq_error e = {0};
        int crc = hxq_compress(src, redo, &o, NULL, &e);
        if (crc == HXQ_ERR_NOMEM)
            rc = hxq_err(err, crc, "%s", e.msg);
        else if (crc < 0 && crc != HXQ_ERR_VERIFY)
            rc = hxq_verify_fail(rep, "", "", "recompute", "compress failed: %s", e.msg);
        else if ((rc = compare_dir(dir, redo, dir, redo, 0, rep)) == HXQ_OK)
            rc = compare_dir(dir, redo, redo, dir, 1, rep);
        if (rc == HXQ_ERR_IO)
            hxq_err(err, rc, "%s: cannot list the folder", dir);
    }
    if (tmp) {
        hxq_rmtree(tmp, NULL);
        free(tmp);
    }
    if (lock >= 0)
        close(lock); /* only once the folder is gone */
    free(redo);
    free(extra);
    return rc;
}
