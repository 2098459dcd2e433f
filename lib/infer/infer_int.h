/* infer_int.h - private to the infer module: the engine object, the CPU
 * backend's state and the ops it is built from. */
#ifndef HXQ_INFER_INT_H
#define HXQ_INFER_INT_H

#include "hxq_infer.h"

/* Rows per dequantized tile in the batched (GEMM) path. Fixed, so results
 * do not depend on the number of threads. */
#define INFER_TILE_ROWS 64

struct hxq_engine {
    const hxq_model *m;
    const hxq_backend *be;
    void *state;
    hxq_engine_opts o;
    int64_t *pos;              /* [n_seq] tokens cached per sequence        */
    hxq_seq_part *bparts;      /* [n_seq] scratch: one backend call's parts  */
    int64_t *bpos;             /* [n_seq] their positions                    */
};

/* The backend for a device: the one place a device is chosen. */
const hxq_backend *infer_backend_select(hxq_device d, hxq_error *err);

extern const hxq_backend infer_backend_cpu;
extern const hxq_backend infer_backend_cuda; /* cuda_backend.c */

/* Loads one Linear `name` (without ".weight") of shape [rows, cols]: a
 * BF16/F16/F32 view of <name>.weight or, in a quantized folder, an HXQ
 * module appended to m->modules. */
int infer_load_linear(hxq_model *m, const char *name, int64_t rows, int64_t cols,
                      hxq_linear *out, hxq_error *err);

/* Loads HXQ module `name` into m->modules[m->n_modules++] and points out
 * at it (model_hxq.c). */
int infer_load_module(hxq_model *m, const char *name, int64_t rows, int64_t cols,
                      hxq_linear *out, hxq_error *err);

/* Frees m->modules (model_hxq.c). */
void infer_free_modules(hxq_model *m);

/* n BF16 / F16 values widened to float (widen_avx2.c; needs AVX2+F16C,
 * see hxq_cpu_has_avx2). */
void infer_widen_bf16_avx2(const uint16_t *p, int64_t n, float *out);
void infer_widen_f16_avx2(const uint16_t *p, int64_t n, float *out);

/* Bytes of weight data behind a Linear. */
uint64_t infer_linear_bytes(const hxq_linear *w);

#endif
