/* verify_folder.c - hxq verify: receipts, structure, source, recompute. */
#include "verify_int.h"

#include <stdlib.h>
#include <string.h>

/* A folder without quantization_config (e.g. made by convert --to dense):
 * every floating tensor must be finite. */
static int verify_dense(const hxq_ckpt *ck, hxq_verify_report *rep)
{
    for (int64_t i = 0; i < hxq_ckpt_count(ck); i++) {
        const hxq_tensor *t = hxq_ckpt_tensor(ck, i);
        int64_t bad;
        rep->tensors_checked++;
        if (!verify_tensor_finite(t, &bad))
            VERIFY_TRY(hxq_verify_fail(rep, verify_base(t->path), t->name, "exact_finite",
                                       "element %lld is not finite", (long long)bad));
    }
    return HXQ_OK;
}

/* Opens the checkpoint and its config; problems are failures. *ck and
 * *has_q are set only when usable. */
static int open_folder(const char *dir, hxq_verify_report *rep, hxq_ckpt **ck, hxq_qconfig *q,
                       int *has_q)
{
    hxq_error e = {0};
    *ck = NULL;
    *has_q = 0;
    int rc = hxq_ckpt_open(dir, ck, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0) {
        *ck = NULL;
        VERIFY_TRY(hxq_verify_fail(rep, "", "", "readable", "%s", e.msg));
    }
    hxq_config cfg;
    rc = hxq_config_load(dir, &cfg, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, "config.json", "", "config", "%s", e.msg);
    if (!cfg.has_quantization_config)
        return HXQ_OK;
    rc = hxq_qconfig_load(dir, q, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, "config.json", "", "qconfig", "%s", e.msg);
    *has_q = 1;
    return HXQ_OK;
}

int verify_contents(const char *dir, hxq_verify_report *rep)
{
    hxq_ckpt *ck = NULL;
    hxq_qconfig q;
    memset(&q, 0, sizeof(q));
    int has_q = 0;
    int rc = open_folder(dir, rep, &ck, &q, &has_q);
    if (rc == HXQ_OK && ck)
        rc = has_q ? verify_structure(dir, ck, &q, rep) : verify_dense(ck, rep);
    hxq_ckpt_close(ck);
    hxq_qconfig_free(&q);
    return rc;
}

int hxq_verify_folder(const char *dir, const hxq_verify_opts *opts, hxq_verify_report *rep,
                      hxq_error *err)
{
    hxq_verify_opts none = {0};
    if (!opts)
        opts = &none;
    if (opts->recompute && !opts->source)
        return hxq_err(err, HXQ_ERR_INVALID, "--recompute needs --source");
    if (!hxq_is_dir(dir))
        return hxq_err(err, HXQ_ERR_IO, "%s: not a folder", dir);
    if (opts->source && !hxq_is_dir(opts->source))
        return hxq_err(err, HXQ_ERR_IO, "%s: not a folder", opts->source);
    int rc = verify_receipts(dir, rep);
    if (rc == HXQ_OK)
        rc = verify_contents(dir, rep);
    if (rc == HXQ_ERR_NOMEM)
        return hxq_err(err, rc, "out of memory");
    if (rc < 0)
        return hxq_err(err, rc, "%s: cannot read the folder", dir);
    if (rep->total_failures)
        return hxq_err(err, HXQ_ERR_VERIFY, "%s: %lld check(s) failed", dir,
                       (long long)rep->total_failures);
    return HXQ_OK;
}
