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

/* ---- the architecture table (arch.c) ---- */

typedef enum {
    ARCH_BIAS_NONE = 0,   /* no projection has a bias                       */
    ARCH_BIAS_QKV,        /* q/k/v_proj always (Qwen2)                      */
    ARCH_BIAS_CONFIG      /* q/k/v/o_proj when attention_bias               */
} infer_bias_rule;

typedef enum {
    ARCH_WINDOW_NONE = 0, /* full causal attention                          */
    ARCH_WINDOW_ALL,      /* every layer: sliding_window (Mistral, Mixtral) */
    ARCH_WINDOW_UPPER     /* use_sliding_window, layers >= max_window_layers (Qwen) */
} infer_window_rule;

/* One row per model_type: what the decoder block of the family computes,
 * its tensor names and its config defaults. */
typedef struct infer_arch {
    const char *model_type;
    hxq_qk_norm qk_norm;
    infer_bias_rule bias;
    infer_window_rule window;
    int64_t window_default;   /* sliding_window when absent (0: none)       */
    double eps_default;       /* rms_norm_eps when absent                   */
    double theta_default;     /* rope_theta when absent                     */
    int moe;                  /* 0: mlp.{gate,up,down}_proj (SwiGLU)         */
    int renorm_always;        /* MoE: top-k weights always renormalised,
                                 else when norm_topk_prob                   */
    int moe_width_key;        /* MoE experts' width: 1 moe_intermediate_size,
                                 0 intermediate_size                        */
    const char *block;        /* MoE: "mlp" or "block_sparse_moe"            */
    const char *expert[3];    /* MoE: gate, up, down names of an expert     */
} infer_arch;

/* The row of a model_type, or NULL; the names of all rows. */
const infer_arch *infer_arch_find(const char *model_type);
const char *infer_arch_names(void);

/* Fills m's sizes and block description from m->cfg and the row (the
 * family's defaults for rms_norm_eps / rope_theta written into m->cfg,
 * rope_inv_freq allocated); errors name config.json under dir and the
 * key. */
int infer_arch_resolve(hxq_model *m, const infer_arch *a, const char *dir, hxq_error *err);

/* 1 when projection proj (0 q, 1 k, 2 v, 3 o) has a bias. */
int infer_arch_bias(const infer_arch *a, const hxq_config *c, int proj);

/* Layer l's sliding window into *out (0: none). */
int infer_arch_window(const infer_arch *a, const hxq_config *c, int64_t l, int64_t *out,
                      const char *dir, hxq_error *err);

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
