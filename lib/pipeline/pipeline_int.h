/* pipeline_int.h - private declarations shared by the pipeline files. */
#ifndef HXQ_PIPELINE_INT_H
#define HXQ_PIPELINE_INT_H

#include "hxq_pipeline.h"

struct hxq_plan {
    hxq_ckpt *ck;
    char *src_dir;
    char *config_text;             /* source config.json                  */
    hxq_plan_item *items;
    int64_t n;
    hxq_plan_totals totals;
    char **patterns;               /* effective exact patterns (owned)    */
    int n_patterns;
    hxq_rc_file *src_files;        /* hashed source files, by name        */
    int n_src_files;
    hxq_compress_opts opts;        /* copy; pattern pointers not kept     */
};

/* ---- staging folders (outdir_stale.c) ---- */

/* Creates HXQ_OUTDIR_LOCK in the new staging folder `stage`, locked
 * (flock) through the returned descriptor: keep it open for the folder's
 * life, and unlink the marker (or the folder) before closing it.
 * @return the descriptor, or -1 when no marker could be made (e.g. a file
 * system without flock): the folder then is never taken for stale. */
int pipeline_stage_lock(const char *stage);

/* Removes the stale staging folders of `path` (trailing slashes ignored):
 * entries of its parent named "<its name><infix>XXXXXX" (infix ".tmp-" for
 * outputs, ".recompute-" for verify --recompute; mkdtemp's six letters or
 * digits) that are folders of this user holding a marker of this user whose
 * lock is free. Never follows a symbolic link; anything else, and any
 * failure, is left alone. @return the number of folders removed. */
int pipeline_sweep_stale(const char *path, const char *infix);

/* ---- policy (compress_policy.c) ---- */

/* The default exact patterns into out (room for all of
 * hxq_default_exact_patterns()), without the token embeddings and the
 * output head when include_head; returns their count. */
int pipeline_default_patterns(int include_head, const char **out);

/* 1 when a module name contains one of the patterns (the reference's rule). */
int pipeline_matches_exact(const char *module, char *const *patterns, int n);

/* Name order that compares digit runs as numbers ("layers.2" < "layers.10"). */
int pipeline_natural_cmp(const char *a, const char *b);

/* Fused expert tensors of transformers 5. */
enum { FUSED_NONE = 0, FUSED_GATE_UP, FUSED_DOWN };

/* Recognises "<prefix>experts.gate_up_proj" / "<prefix>experts.down_proj"
 * (optionally with ".weight"); *prefix_len receives the length up to and
 * including "experts.". */
int pipeline_fused_kind(const char *name, size_t *prefix_len);

/* ---- synthetic checkpoints (synth_family.c) ---- */

enum { SYNTH_QK_NONE = 0, SYNTH_QK_FULL, SYNTH_QK_HEAD };  /* q/k norm weights */
enum { SYNTH_BIAS_NONE = 0, SYNTH_BIAS_QKV, SYNTH_BIAS_ALL }; /* q/k/v(/o)_proj.bias */
enum { SYNTH_WINDOW_NONE = 0, SYNTH_WINDOW_ALL, SYNTH_WINDOW_UPPER }; /* window keys */

/* One family hxq synth writes. */
typedef struct synth_family {
    const char *model_type;
    const char *config;           /* its constant config.json keys (JSON)   */
    int qk_norm;                  /* FULL: [heads*hd] / [kv*hd]; HEAD: [hd] */
    int bias;
    int moe;                      /* 0: mlp.{gate,up,down}_proj            */
    const char *block;            /* MoE: "mlp" or "block_sparse_moe"       */
    const char *expert[3];        /* MoE: gate, up, down names              */
    const char *experts_key;      /* num_experts / num_local_experts        */
    const char *width_key;        /* the experts' width: intermediate_size
                                   * or moe_intermediate_size               */
    int tie;                      /* no lm_head (tie_word_embeddings)       */
    int add_bos;                  /* tokenizer adds a BOS                   */
    int window;                   /* SYNTH_WINDOW_*                         */
    /* tiny test widths (hidden 64, 4 heads, 2 layers, vocab 4096) */
    int64_t kv_heads, head_dim, intermediate, experts, top_k, moe_intermediate,
        window_tokens;
} synth_family;

/* The row of a model_type, or NULL. */
const synth_family *synth_family_find(const char *arch);

/* The row synth writes for o (no o->arch: olmoe). */
const synth_family *synth_family_of(const hxq_synth_opts *o);

/* config.json text of a family checkpoint (malloc'd into *out). */
int synth_family_config(const synth_family *f, const hxq_synth_opts *o, char **out,
                        hxq_error *err);

/* For a family whose tokenizer adds a BOS: rewrites dir's tokenizer.json
 * (a BOS template post-processor) and tokenizer_config.json
 * (add_bos_token). Others: nothing. */
int synth_family_tokenizer(const synth_family *f, const char *dir, hxq_error *err);

/* 1 for the floating dtypes the codec encodes (BF16, F16, F32). */
int pipeline_codec_dtype(hxq_dtype dt);

/* Scans a floating tensor for NaN/Inf; @return the first bad element index
 * or -1 (non-floating dtypes: -1). */
int64_t pipeline_first_nonfinite(const void *data, hxq_dtype dt, int64_t n);

/* Drops the pages of a read-only mapped range from this process (they stay
 * in the page cache), so resident memory does not grow with the model. */
void pipeline_release(const void *data, uint64_t len);

/* The sidecar mode's name for receipts ("reference", ...). */
const char *pipeline_sidecar_mode_name(hxq_sidecar_mode m);

/* hxq_plan_create() on an existing pool (NULL: the caller's thread). */
int pipeline_plan_create(const char *src, const hxq_compress_opts *o, hxq_pool *pool,
                         hxq_plan **out, hxq_error *err);

/* ---- output (compress_finish.c) ---- */

/* Writes <dir>/config.json: src config text + quantization_config. */
int pipeline_write_config(const hxq_plan *p, const char *dir, hxq_error *err);

/* Hashes <dir>/<name> into f. */
int pipeline_hash_file(const char *dir, const char *name, hxq_rc_file *f, hxq_error *err);

/* ---- folders (folder_hash.c) ---- */

/* Every regular file of dir (names not starting with '.', and for which
 * skip, when not NULL, returns 0), hashed, in name order (strcmp). *files
 * is malloc'd (free with hxq_rc_files_free()), *n its length. */
int pipeline_hash_folder(const char *dir, int (*skip)(const char *name), hxq_rc_file **files,
                         int *n, hxq_error *err);

#endif
