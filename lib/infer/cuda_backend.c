/* cuda_backend.c - the engine's CUDA device backend (hxq_backend): checks
 * for a device, uploads the model once, then runs forward calls through a
 * cuda_run. Built always; without CUDA, create() reports why. */
#include "cuda_int.h"
#include "infer_int.h"

#ifdef HXQ_HAVE_CUDA
#include "hxq_cuda.h"
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
