/* convert_folder.c - hxq convert: plan, stream into a staging folder,
 * check the result, write the receipt, rename into place. */
#include "convert_int.h"

#include <stdlib.h>
#include <string.h>

/* Everything after the plan, inside the staging folder. */
static int convert_into(cv_plan *p, const char *src, const char *tmp, const hxq_convert_opts *o,
                        hxq_error *err)
{
    cv_files files = {NULL, 0};
    int rc = convert_write_shards(p, tmp, &files, err);
    if (rc == HXQ_OK)
        rc = convert_write_meta(p, src, tmp, &files, err);
    hxq_verify_report chk;
    hxq_verify_report_init(&chk);
    if (rc == HXQ_OK && (rc = verify_contents(tmp, &chk)) < 0)
        hxq_err(err, rc, "%s: cannot check the converted folder", tmp);
    if (rc == HXQ_OK)
        rc = convert_write_receipt(p, src, tmp, o, &files, &chk, err);
    if (rc == HXQ_OK && chk.total_failures) {
        const hxq_verify_failure *f = &chk.failures[0];
        rc = hxq_err(err, HXQ_ERR_VERIFY, "converted folder fails %s: %s: tensor '%s': %s",
                     f->check, f->file, f->tensor, f->detail);
    }
    hxq_verify_report_free(&chk);
    convert_files_free(&files);
    return rc;
}

static void summarize(const cv_plan *p, const hxq_ckpt *ck, hxq_convert_summary *s)
{
    memset(s, 0, sizeof(*s));
    s->tensors_in = p->in_tensors;
    s->tensors_out = p->n;
    s->modules = p->n_modules;
    s->nshards = p->nshards;
    for (int64_t i = 0; i < p->n; i++) {
        s->exact_narrowed += p->t[i].op == CV_RETYPE;
        s->exact_lossy += p->t[i].lossy;
        s->bytes_out += p->t[i].nbytes;
    }
    for (int64_t i = 0; i < hxq_ckpt_count(ck); i++)
        s->bytes_in += hxq_ckpt_tensor(ck, i)->nbytes;
}

int hxq_convert_folder(const char *src, const char *dst, const hxq_convert_opts *opts,
                       hxq_convert_summary *summary, hxq_error *err)
{
    if (!opts || (opts->to != HXQ_CONVERT_DENSE && opts->to != HXQ_CONVERT_HXQ))
        return hxq_err(err, HXQ_ERR_INVALID, "--to must be dense or hxq");
    if (!hxq_is_dir(src))
        return hxq_err(err, HXQ_ERR_IO, "%s: not a folder", src);
    hxq_outdir *od = NULL;
    HXQ_TRY(hxq_outdir_begin(dst, src, opts->force, &od, err));
    hxq_ckpt *ck = NULL;
    hxq_qconfig q;
    memset(&q, 0, sizeof(q));
    cv_plan plan;
    memset(&plan, 0, sizeof(plan));
    int rc = hxq_ckpt_open(src, &ck, err);
    if (rc == HXQ_OK && (rc = hxq_qconfig_load(src, &q, err)) < 0)
        hxq_err_prefix(err, rc, "not an HXQ folder");
    if (rc == HXQ_OK)
        rc = convert_plan_build(&plan, ck, &q, opts->to, opts->max_shard_size, err);
    if (rc == HXQ_OK)
        rc = convert_into(&plan, src, hxq_outdir_path(od), opts, err);
    if (rc == HXQ_OK) {
        rc = hxq_outdir_commit(od, err);
        od = NULL;
    }
    hxq_outdir_abort(od);
    if (rc == HXQ_OK && summary)
        summarize(&plan, ck, summary);
    convert_plan_free(&plan);
    hxq_qconfig_free(&q);
    hxq_ckpt_close(ck);
    return rc;
}
