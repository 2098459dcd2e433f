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
        int64_t bad = verify_first_nonfinite(t);
        rep->tensors_checked++;
        if (bad >= 0)
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

/* The folder's checkpoint and config, kept open for the later steps. */
typedef struct verify_state {
    hxq_ckpt *ck;
    hxq_qconfig q;
    int has_q;
    hxq_compression_receipt cr;
    int has_cr;
} verify_state;

static void state_free(verify_state *st)
{
    hxq_ckpt_close(st->ck);
    hxq_qconfig_free(&st->q);
    if (st->has_cr)
        hxq_receipt_compression_free(&st->cr);
}

static int contents(const char *dir, hxq_verify_report *rep, verify_state *st)
{
    int rc = open_folder(dir, rep, &st->ck, &st->q, &st->has_q);
    if (rc == HXQ_OK && st->ck)
        rc = st->has_q ? verify_structure(dir, st->ck, &st->q, rep) : verify_dense(st->ck, rep);
    return rc;
}

int verify_contents(const char *dir, hxq_verify_report *rep)
{
    verify_state st;
    memset(&st, 0, sizeof(st));
    int rc = contents(dir, rep, &st);
    state_free(&st);
    return rc;
}

/* Loads compression_receipt.json when present; a bad one is a failure. */
static int load_receipt(const char *dir, hxq_verify_report *rep, verify_state *st)
{
    char *path = hxq_path_join(dir, VERIFY_COMPRESSION_RECEIPT);
    if (!path)
        return HXQ_ERR_NOMEM;
    int exists = hxq_path_exists(path);
    free(path);
    if (!exists)
        return HXQ_OK;
    hxq_error e = {0};
    int rc = hxq_receipt_compression_load(dir, &st->cr, &e);
    if (rc == HXQ_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return hxq_verify_fail(rep, VERIFY_COMPRESSION_RECEIPT, "", "receipt", "%s", e.msg);
    st->has_cr = 1;
    return HXQ_OK;
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
    verify_state st;
    memset(&st, 0, sizeof(st));
    int rc = verify_receipts(dir, rep);
    if (rc == HXQ_OK)
        rc = contents(dir, rep, &st);
    if (rc == HXQ_OK)
        rc = load_receipt(dir, rep, &st);
    int usable = st.ck && st.has_q;
    if (rc == HXQ_OK && usable && st.has_cr)
        rc = verify_compression_receipt(st.ck, &st.q, &st.cr, rep);
    if (rc == HXQ_OK && opts->source) {
        if (usable)
            rc = verify_source(st.ck, &st.q, st.has_cr ? &st.cr : NULL, opts->source, rep);
        else
            rc = hxq_verify_fail(rep, "", "", "source", "the folder cannot be compared with "
                                 "a source: no readable HXQ checkpoint");
    }
    if (rc == HXQ_OK && opts->recompute) {
        if (st.has_cr)
            rc = verify_recompute(dir, &st.cr, opts->source, opts->threads, rep, err);
        else
            rc = hxq_verify_fail(rep, VERIFY_COMPRESSION_RECEIPT, "", "recompute",
                                 "no readable compression receipt to take the options from");
    }
    if (rc == HXQ_OK)
        rc = verify_eval(dir, opts, rep, err);
    state_free(&st);
    if (rc == HXQ_ERR_NOMEM)
        return hxq_err(err, rc, "out of memory");
    if (rc < 0)
        return err && err->msg[0] ? rc : hxq_err(err, rc, "%s: cannot read the folder", dir);
    if (rep->total_failures)
        return hxq_err(err, HXQ_ERR_VERIFY, "%s: %lld check(s) failed", dir,
                       (long long)rep->total_failures);
    return HXQ_OK;
}
