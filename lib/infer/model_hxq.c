/* model_hxq.c - HXQ modules of a quantized folder as hxq_linear. */
#include "infer_int.h"

#include <stdlib.h>

int infer_load_module(hxq_model *m, const char *name, int64_t rows, int64_t cols,
                      hxq_linear *out, hxq_error *err)
{
    hxq_module *mod = &m->modules[m->n_modules];
    HXQ_TRY(hxq_module_load(m->ckpt, name, m->qcfg.packed12, mod, err));
    m->n_modules++;
    if (mod->m.rows != rows || mod->m.cols != cols)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s: module '%s': shape [%lld, %lld], expected [%lld, %lld]",
                       hxq_ckpt_dir(m->ckpt), name, (long long)mod->m.rows,
                       (long long)mod->m.cols, (long long)rows, (long long)cols);
    out->kind = HXQ_WEIGHT_HXQ;
    out->rows = rows;
    out->cols = cols;
    out->data = NULL;
    out->q = mod->m;
    return HXQ_OK;
}

void infer_free_modules(hxq_model *m)
{
    for (int64_t i = 0; i < m->n_modules; i++)
        hxq_module_free(&m->modules[i]);
    free(m->modules);
    m->modules = NULL;
    m->n_modules = 0;
}
