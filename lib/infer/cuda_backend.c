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

static int cuda_be_forward(void *state, const int32_t *ids, int64_t n, int64_t pos,
                           const hxq_forward_out *out, hxq_error *err)
{
    cuda_forward_out co = {NULL, 0, NULL, NULL};
    if (out) {
        co.logits = out->logits;
        co.all_logits = out->all_logits;
        co.hidden = out->hidden;
        co.router_logits = out->router_logits;
    }
    return cuda_run_forward(state, ids, n, pos, out ? &co : NULL, err);
}

const hxq_backend infer_backend_cuda = {"cuda", cuda_be_create, cuda_be_destroy,
                                        cuda_be_forward};
