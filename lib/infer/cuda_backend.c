/* cuda_backend.c - the engine's CUDA device backend (hxq_backend): checks
 * for a device, uploads the model once, then runs forward calls through a
 * cuda_run. Built always; without CUDA, create() reports why. */
#include "cuda_int.h"
#include "infer_int.h"

#include <string.h>

#ifdef HXQ_HAVE_CUDA
#include "hxq_cuda.h"
#endif

#ifdef HXQ_HAVE_CUDA
/* What the CUDA kernels implement: the OLMoE block (q/k norm over the
 * projection, no biases, full attention, default RoPE, softmax router and
 * experts). NULL when m is such a model, else what differs. */
static const char *cuda_unsupported(const hxq_model *m)
{
    if (!m->moe)
        return "a dense MLP";
    if (m->qk_norm != HXQ_QK_NORM_FULL)
        return "its q/k norm";
    for (int64_t l = 0; l < m->n_layers; l++) {
        const hxq_layer *L = &m->layers[l];
        if (L->bq || L->bk || L->bv || L->bo)
            return "attention biases";
        if (L->window)
            return "a sliding window";
    }
    if (m->cfg.rope_type[0] && strcmp(m->cfg.rope_type, "default"))
        return "rope scaling";
    return NULL;
}
#endif

static int cuda_be_create(const hxq_model *m, const hxq_engine_opts *o, void **state,
                          hxq_error *err)
{
    *state = NULL;
#ifndef HXQ_HAVE_CUDA
    (void)m;
    (void)o;
    return hxq_err(err, HXQ_ERR_DEVICE, "hxq was built without CUDA");
#else
    if (o->n_seq > 1)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "the cuda backend runs one sequence (%d asked for); use the cpu "
                       "device for several", o->n_seq);
    const char *what = cuda_unsupported(m);
    if (what)
        return hxq_err(err, HXQ_ERR_UNSUPPORTED,
                       "cuda backend: architecture %s (%s) not supported yet; use the cpu "
                       "device", m->arch, what);
    hxq_error why;
    int n = 0;
    why.msg[0] = '\0';
    if (hxq_cuda_device_count(&n, &why) < 0 || n < 1)
        return hxq_err(err, HXQ_ERR_DEVICE, "%s", why.msg[0] ? why.msg : "no CUDA device");
    cuda_dmodel dm;
    int rc = cuda_upload_model(m, &dm, err);
    if (rc < 0) {
        cuda_dmodel_free(&dm);
        return rc;
    }
    cuda_run *r = NULL;
    HXQ_TRY(cuda_run_create(&dm, o->max_ctx, o->max_batch, &r, err));
    *state = r;
    return HXQ_OK;
#endif
}

static void cuda_be_destroy(void *state)
{
    cuda_run_free(state);
}

/* The engine gives this backend one sequence, so one part (n_seq == 1). */
static int cuda_be_forward(void *state, const hxq_backend_batch *b, hxq_error *err)
{
    const hxq_seq_part *p = &b->parts[0];
    cuda_forward_out co = {p->logits, p->all_logits, b->hidden, b->router_logits};
    return cuda_run_forward(state, p->ids, p->n, b->pos[0], &co, err);
}

const hxq_backend infer_backend_cuda = {"cuda", cuda_be_create, cuda_be_destroy,
                                        cuda_be_forward, NULL};
