/* convert_folder.c - hxq convert: plan, stream into a staging folder,
 * check the result, write the receipt, rename into place. */
#include "convert_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 1 when dst is src or lies inside it (dst need not exist yet). */
static int dst_inside_src(const char *src, const char *dst)
{
    char rs[PATH_MAX], rd[PATH_MAX], parent[PATH_MAX];
    if (!realpath(src, rs))
        return 0;
    snprintf(parent, sizeof(parent), "%s", dst);
    size_t l = strlen(parent);
    while (l > 1 && parent[l - 1] == '/')
        parent[--l] = '\0';
    char *slash = strrchr(parent, '/');
    const char *base = slash ? slash + 1 : parent;
    char dirbuf[PATH_MAX];
    if (slash == parent)
        snprintf(dirbuf, sizeof(dirbuf), "/");
    else if (slash)
        snprintf(dirbuf, sizeof(dirbuf), "%.*s", (int)(slash - parent), parent);
    else
        snprintf(dirbuf, sizeof(dirbuf), ".");
    if (!realpath(dirbuf, rd))
        return 0;
    char full[2 * PATH_MAX + 2];
    snprintf(full, sizeof(full), "%s/%s", strcmp(rd, "/") ? rd : "", base);
    size_t n = strlen(rs);
    return !strcmp(full, rs) || (!strncmp(full, rs, n) && full[n] == '/');
}

/* A fresh staging folder "<dst>.tmp-XXXXXX" beside dst. */
static int make_staging(const char *dst, char **out, hxq_error *err)
{
    size_t l = strlen(dst);
    while (l > 1 && dst[l - 1] == '/')
        l--;
    char *tmp = malloc(l + 16);
    if (!tmp)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    snprintf(tmp, l + 16, "%.*s.tmp-XXXXXX", (int)l, dst);
    if (!mkdtemp(tmp)) {
        int rc = hxq_err(err, HXQ_ERR_IO, "%s: cannot create a staging folder: %s", tmp,
                         strerror(errno));
        free(tmp);
        return rc;
    }
    mode_t mask = umask(0);
    umask(mask);
    chmod(tmp, 0777 & ~mask);  /* mkdtemp makes it 0700 */
    *out = tmp;
    return HXQ_OK;
}

/* Replaces dst with the finished staging folder. */
static int publish(const char *tmp, const char *dst, hxq_error *err)
{
    if (hxq_path_exists(dst))
        HXQ_TRY(hxq_rmtree(dst, err));
    if (rename(tmp, dst) < 0)
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot rename into place: %s", dst,
                       strerror(errno));
    char *parent = hxq_strdup(dst);
    if (!parent)
        return HXQ_OK;
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent)
        *slash = '\0';
    else
        snprintf(parent, strlen(parent) + 1, "%s", slash ? "/" : ".");
    hxq_fsync_dir(parent, NULL);
    free(parent);
    return HXQ_OK;
}

static int check_args(const char *src, const char *dst, const hxq_convert_opts *o,
                      hxq_error *err)
{
    if (!o || (o->to != HXQ_CONVERT_DENSE && o->to != HXQ_CONVERT_HXQ))
        return hxq_err(err, HXQ_ERR_INVALID, "--to must be dense or hxq");
    if (!hxq_is_dir(src))
        return hxq_err(err, HXQ_ERR_IO, "%s: not a folder", src);
    if (dst_inside_src(src, dst))
        return hxq_err(err, HXQ_ERR_INVALID, "%s: the output folder may not be inside the source",
                       dst);
    if (hxq_path_exists(dst) && !o->force)
        return hxq_err(err, HXQ_ERR_INVALID, "%s: already exists (use --force to replace it)",
                       dst);
    if (hxq_path_exists(dst) && !hxq_is_dir(dst))
        return hxq_err(err, HXQ_ERR_INVALID, "%s: exists and is not a folder", dst);
    return HXQ_OK;
}

/* Everything after the plan, inside the staging folder. */
static int convert_into(const cv_plan *p, const char *src, const char *tmp,
                        const hxq_convert_opts *o, hxq_error *err)
{
    cv_file *files = calloc((size_t)p->nshards, sizeof(cv_file));
    int nfiles = p->nshards;
    if (!files)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int rc = convert_write_shards(p, tmp, files, err);
    if (rc == HXQ_OK)
        rc = convert_write_meta(p, src, tmp, &files, &nfiles, err);
    hxq_verify_report chk;
    hxq_verify_report_init(&chk);
    if (rc == HXQ_OK && (rc = verify_contents(tmp, &chk)) < 0)
        hxq_err(err, rc, "%s: cannot check the converted folder", tmp);
    if (rc == HXQ_OK)
        rc = convert_write_receipt(p, src, tmp, o, files, nfiles, &chk, err);
    if (rc == HXQ_OK && chk.total_failures) {
        const hxq_verify_failure *f = &chk.failures[0];
        rc = hxq_err(err, HXQ_ERR_VERIFY, "converted folder fails %s: %s: tensor '%s': %s",
                     f->check, f->file, f->tensor, f->detail);
    }
    hxq_verify_report_free(&chk);
    free(files);
    return rc;
}

int hxq_convert_folder(const char *src, const char *dst, const hxq_convert_opts *opts,
                       hxq_convert_summary *summary, hxq_error *err)
{
    HXQ_TRY(check_args(src, dst, opts, err));
    hxq_ckpt *ck = NULL;
    hxq_qconfig q;
    memset(&q, 0, sizeof(q));
    cv_plan plan;
    memset(&plan, 0, sizeof(plan));
    char *tmp = NULL;
    int rc = hxq_ckpt_open(src, &ck, err);
    if (rc == HXQ_OK && (rc = hxq_qconfig_load(src, &q, err)) < 0)
        hxq_err_prefix(err, rc, "not an HXQ folder");
    if (rc == HXQ_OK)
        rc = convert_plan_build(&plan, ck, &q, opts->to, opts->max_shard_size, err);
    if (rc == HXQ_OK)
        rc = make_staging(dst, &tmp, err);
    if (rc == HXQ_OK)
        rc = convert_into(&plan, src, tmp, opts, err);
    if (rc == HXQ_OK)
        rc = publish(tmp, dst, err);
    if (rc < 0 && tmp)
        hxq_rmtree(tmp, NULL);
    if (rc == HXQ_OK && summary) {
        memset(summary, 0, sizeof(*summary));
        summary->tensors_in = plan.in_tensors;
        summary->tensors_out = plan.n;
        summary->modules = plan.n_modules;
        summary->nshards = plan.nshards;
        for (int64_t i = 0; i < plan.n; i++) {
            summary->exact_narrowed += plan.t[i].op == CV_RETYPE;
            summary->exact_lossy += plan.t[i].lossy;
            summary->bytes_out += plan.t[i].nbytes;
        }
        for (int64_t i = 0; i < hxq_ckpt_count(ck); i++)
            summary->bytes_in += hxq_ckpt_tensor(ck, i)->nbytes;
    }
    free(tmp);
    convert_plan_free(&plan);
    hxq_qconfig_free(&q);
    hxq_ckpt_close(ck);
    return rc;
}
