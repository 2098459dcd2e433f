/* model_hxq.c - HXQ modules of a quantized folder as hxq_linear. */
#include "infer_int.h"

#include <stdlib.h>
#include <string.h>

int infer_load_module(hxq_model *m, const char *name, int64_t rows, int64_t cols,
                      hxq_linear *out, hxq_error *err)
{
    return hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: module '%s': hxq modules not wired yet",
                   hxq_ckpt_dir(m->ckpt), name);
}

void infer_free_modules(hxq_model *m)
{
    free(m->modules);
    m->modules = NULL;
    m->n_modules = 0;
}

void infer_decode_hxq_rows(const hxq_qmatrix *q, int64_t r0, int64_t r1, float *out)
{
    int64_t n = (r1 - r0) * q->cols;
    const uint8_t *idx = q->indices + r0 * q->cols;
    for (int64_t i = 0; i < n; i++)
        out[i] = q->codebook[idx[i]];
}
