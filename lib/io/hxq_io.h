/*
 * hxq_io.h - safetensors files, sharded checkpoints, config.json.
 *
 * Reading: files are mmapped read-only and validated completely before any
 * tensor is handed out; a tensor is a view (hxq_tensor.data) into the map
 * that lives as long as its hxq_st_file / hxq_ckpt.
 * Writing: streaming, header first (all tensors are declared up front),
 * then data in declaration order (laid out in the file by element size,
 * largest first, then name, so every tensor is naturally aligned, as the
 * safetensors library does); the file is written under "<path>.tmp"
 * and renamed onto <path> only by hxq_stw_finish().
 *
 * Depends on: common. Thread-safety: readers are immutable after open and
 * may be shared between threads; a writer belongs to one thread.
 */
#ifndef HXQ_IO_H
#define HXQ_IO_H

#include "hxq_common.h"

#include <stdint.h>
#include <stdio.h>

/* ---- dtypes ------------------------------------------------------------ */

typedef enum {
    HXQ_DT_BOOL, HXQ_DT_U8, HXQ_DT_I8, HXQ_DT_F8_E4M3, HXQ_DT_F8_E5M2,
    HXQ_DT_I16, HXQ_DT_U16, HXQ_DT_F16, HXQ_DT_BF16,
    HXQ_DT_I32, HXQ_DT_U32, HXQ_DT_F32,
    HXQ_DT_I64, HXQ_DT_U64, HXQ_DT_F64,
    HXQ_DT_COUNT
} hxq_dtype;

/*! hxq_dtype_size() : bytes per element. */
size_t hxq_dtype_size(hxq_dtype dt);

/*! hxq_dtype_name() : the safetensors spelling ("BF16", "F32", ...). */
const char *hxq_dtype_name(hxq_dtype dt);

/*! hxq_dtype_parse() : safetensors spelling -> dtype.
 *  @return 0, or -1 for an unknown name. */
int hxq_dtype_parse(const char *name, hxq_dtype *out);

/* ---- tensors ----------------------------------------------------------- */

#define HXQ_MAX_DIMS 8
#define HXQ_ST_MAX_HEADER (100u * 1000u * 1000u)  /* 100 MB */

typedef struct hxq_tensor {
    const char *name;        /* owned by the file object                 */
    hxq_dtype dtype;
    int ndim;
    int64_t shape[HXQ_MAX_DIMS];
    int64_t nelem;           /* product of shape (1 for a scalar)        */
    uint64_t nbytes;         /* nelem * dtype size                       */
    uint64_t offset;         /* absolute offset of the data in the file  */
    const void *data;        /* view into the map; may be unaligned      */
    const char *path;        /* the file holding it (for messages)       */
} hxq_tensor;

/*! hxq_tensor_f32_at() : element i of a floating tensor (BF16, F16, F32,
 *  F64) widened to float. No bounds check. */
float hxq_tensor_f32_at(const hxq_tensor *t, int64_t i);

/*! hxq_tensor_to_f32() : converts a whole BF16/F16/F32/F64 tensor into
 *  out[nelem]. @return HXQ_OK or HXQ_ERR_UNSUPPORTED for other dtypes. */
int hxq_tensor_to_f32(const hxq_tensor *t, float *out, hxq_error *err);

/* ---- one safetensors file --------------------------------------------- */

typedef struct hxq_st_file hxq_st_file;

/*! hxq_st_open() :
 *  Maps and validates a safetensors file: 8-byte little-endian header
 *  length (at most HXQ_ST_MAX_HEADER and inside the file), JSON object,
 *  every entry {dtype, shape, data_offsets} with a known dtype, a shape
 *  whose product does not overflow, offsets inside the data area and equal
 *  to dtype x shape, no overlaps, no gaps, valid UTF-8 unique names, and
 *  "__metadata__" a map of strings.
 *  @return HXQ_OK; HXQ_ERR_IO (cannot open/map), HXQ_ERR_FORMAT (message
 *  names the file, the tensor and the problem), HXQ_ERR_NOMEM.
 *  *out is set only on success. */
int hxq_st_open(const char *path, hxq_st_file **out, hxq_error *err);

/*! hxq_st_parse() : the same validation over a buffer in memory (the
 *  buffer must outlive the object; used by fuzzers and tests). */
int hxq_st_parse(const void *buf, size_t len, const char *label,
                 hxq_st_file **out, hxq_error *err);

/*! hxq_st_close() : unmaps and frees. NULL is a no-op. */
void hxq_st_close(hxq_st_file *f);

/*! hxq_st_count() / hxq_st_tensor() : tensors in data-offset order. */
int64_t hxq_st_count(const hxq_st_file *f);
const hxq_tensor *hxq_st_tensor(const hxq_st_file *f, int64_t i);

/*! hxq_st_find() : by name, or NULL. O(log n). */
const hxq_tensor *hxq_st_find(const hxq_st_file *f, const char *name);

/*! hxq_st_metadata() : a "__metadata__" value, or NULL. */
const char *hxq_st_metadata(const hxq_st_file *f, const char *key);

/*! hxq_st_path() / hxq_st_size() : the file's path and byte size. */
const char *hxq_st_path(const hxq_st_file *f);
uint64_t hxq_st_size(const hxq_st_file *f);

/*! hxq_st_header_size() : 8 + the JSON header length (data start). */
uint64_t hxq_st_header_size(const hxq_st_file *f);

/* ---- model.safetensors.index.json --------------------------------------- */

typedef struct hxq_index {
    char **tensors;               /* tensor names, sorted, owned          */
    char **shards;                /* shards[i] holds tensors[i]; points
                                   * into files[]                         */
    int64_t count;
    char **files;                 /* distinct shard file names, sorted, owned */
    int nfiles;
} hxq_index;

/*! hxq_index_parse() :
 *  Parses the text of a model.safetensors.index.json: an object whose
 *  "weight_map" maps every tensor name (non-empty, UTF-8, unique) to a
 *  shard file name in the same folder (non-empty, UTF-8, no '/', not "."
 *  or ".."). Other keys ("metadata") are ignored. label names the file in
 *  messages. *out is set only on success; free it with hxq_index_free().
 *  @return HXQ_OK, HXQ_ERR_FORMAT (naming the file, tensor and problem),
 *  HXQ_ERR_NOMEM. */
int hxq_index_parse(const char *json, const char *label, hxq_index *out, hxq_error *err);

/*! hxq_index_find() : the shard file name of a tensor, or NULL. O(log n). */
const char *hxq_index_find(const hxq_index *ix, const char *tensor);

/*! hxq_index_free() : frees the tables and zeroes *ix. NULL is a no-op. */
void hxq_index_free(hxq_index *ix);

/* ---- a checkpoint folder (single file or shards) ----------------------- */

typedef struct hxq_ckpt hxq_ckpt;

/*! hxq_ckpt_open() :
 *  Opens a model folder: "model.safetensors.index.json" (its weight_map
 *  names every tensor and shard; a missing shard, a tensor missing from
 *  its shard, or a tensor in a shard but not in the map is an error), else
 *  a single "model.safetensors", else a single *.safetensors file. Tensor
 *  names must be unique across shards.
 *  @return HXQ_OK, HXQ_ERR_IO, HXQ_ERR_FORMAT, HXQ_ERR_NOMEM. */
int hxq_ckpt_open(const char *dir, hxq_ckpt **out, hxq_error *err);

/*! hxq_ckpt_close() : NULL is a no-op. */
void hxq_ckpt_close(hxq_ckpt *c);

/*! hxq_ckpt_count() / hxq_ckpt_tensor() : all tensors sorted by name. */
int64_t hxq_ckpt_count(const hxq_ckpt *c);
const hxq_tensor *hxq_ckpt_tensor(const hxq_ckpt *c, int64_t i);

/*! hxq_ckpt_find() : by name, or NULL. O(log n). */
const hxq_tensor *hxq_ckpt_find(const hxq_ckpt *c, const char *name);

/*! hxq_ckpt_nfiles() / hxq_ckpt_file() : the safetensors files, in the
 *  order of their names. */
int hxq_ckpt_nfiles(const hxq_ckpt *c);
const hxq_st_file *hxq_ckpt_file(const hxq_ckpt *c, int i);

/*! hxq_ckpt_dir() : the folder given to hxq_ckpt_open(). */
const char *hxq_ckpt_dir(const hxq_ckpt *c);

/*! hxq_ckpt_is_sharded() : 1 when opened through an index.json. */
int hxq_ckpt_is_sharded(const hxq_ckpt *c);

/* ---- streaming writer ------------------------------------------------- */

typedef struct hxq_stw hxq_stw;

/* Called with every byte of the finished file, front to back (hashing),
 * from hxq_stw_finish() before the rename. */
typedef void (*hxq_write_hook)(void *ctx, const void *buf, size_t len);

/*! hxq_stw_create() : starts a writer for <path> (data goes to <path>.tmp).
 *  Nothing is written until hxq_stw_begin(). */
int hxq_stw_create(const char *path, hxq_stw **out, hxq_error *err);

/*! hxq_stw_set_hook() : optional; set before hxq_stw_begin(). */
void hxq_stw_set_hook(hxq_stw *w, hxq_write_hook hook, void *ctx);

/*! hxq_stw_add() : declares the next tensor. hxq_stw_write() takes data in
 *  this order.
 *  The name is copied. @return HXQ_ERR_INVALID for a duplicate name, a
 *  negative dimension or a size overflow. */
int hxq_stw_add(hxq_stw *w, const char *name, hxq_dtype dt, int ndim,
                const int64_t *shape, hxq_error *err);

/*! hxq_stw_begin() : writes the header. Keys are sorted by name (with
 *  "__metadata__": {"format": "pt"} first) and the header is padded with
 *  spaces to a multiple of 8 bytes; data are placed by element size, largest
 *  first, then by name, so each tensor's offset is a multiple of its
 *  element size. */
int hxq_stw_begin(hxq_stw *w, hxq_error *err);

/*! hxq_stw_write() : appends data bytes; any split across calls is fine as
 *  long as the total equals the declared sizes. */
int hxq_stw_write(hxq_stw *w, const void *data, uint64_t len, hxq_error *err);

/*! hxq_stw_finish() : checks that every declared byte was written,
 *  flushes, fsyncs, closes and renames <path>.tmp onto <path>, then frees
 *  the writer (also on failure, after removing the temporary file). */
int hxq_stw_finish(hxq_stw *w, hxq_error *err);

/*! hxq_stw_abort() : removes the temporary file and frees. NULL is a
 *  no-op. */
void hxq_stw_abort(hxq_stw *w);

/*! hxq_stw_data_size() : total declared data bytes so far. */
uint64_t hxq_stw_data_size(const hxq_stw *w);

/* ---- files and folders ------------------------------------------------ */

/*! hxq_read_file() : reads a whole (small) file into a NUL-terminated
 *  malloc'd buffer; max_len bounds it. *len may be NULL. */
int hxq_read_file(const char *path, size_t max_len, char **out, size_t *len,
                  hxq_error *err);

/*! hxq_write_file_atomic() : writes <path>.tmp, fsyncs, renames. */
int hxq_write_file_atomic(const char *path, const void *data, size_t len,
                          hxq_error *err);

/*! hxq_copy_file() : copies src to dst (through dst.tmp + rename). */
int hxq_copy_file(const char *src, const char *dst, hxq_error *err);

/*! hxq_path_join() : "a/b" into a malloc'd string (NULL on OOM). */
char *hxq_path_join(const char *a, const char *b);

/*! hxq_path_exists() / hxq_is_dir() : stat-based tests. */
int hxq_path_exists(const char *path);
int hxq_is_dir(const char *path);

/*! hxq_rmtree() : removes a folder and its regular files (one level of
 *  sub-folders deep is enough for model folders). */
int hxq_rmtree(const char *path, hxq_error *err);

/*! hxq_fsync_dir() : fsync a folder so a rename in it is durable. */
int hxq_fsync_dir(const char *path, hxq_error *err);

/* ---- config.json -------------------------------------------------------- */

#define HXQ_CONFIG_MAX_LAYER_TYPES 4096

typedef struct hxq_config {
    char model_type[64];
    char arch[64];                /* architectures[0], "" if absent      */
    int64_t vocab_size;
    int64_t hidden_size;
    int64_t intermediate_size;    /* dense MLP; per expert for OLMoE/Mixtral */
    int64_t moe_intermediate_size; /* per expert for Qwen3-MoE, 0 if absent */
    int64_t num_layers;
    int64_t num_heads;
    int64_t num_kv_heads;
    int64_t head_dim;
    int64_t num_experts;          /* num_experts or num_local_experts; 0 for dense */
    int64_t num_experts_per_tok;
    int64_t decoder_sparse_step;  /* Qwen3-MoE; 0 if absent               */
    int64_t n_mlp_only_layers;    /* entries of mlp_only_layers           */
    int norm_topk_prob;
    int tie_word_embeddings;
    int attention_bias;
    int mlp_bias;
    double clip_qkv;              /* OLMoE's q/k/v clamp; 0 if absent or null */
    char hidden_act[32];          /* "" if absent                          */
    double rms_norm_eps;          /* default 1e-5                         */
    int rms_norm_eps_set;         /* 1 when the file has it (else a family
                                   * default may apply)                   */
    double rope_theta;            /* rope_theta or rope_parameters.rope_theta */
    int rope_theta_set;
    /* RoPE scaling: rope_parameters (v5) or else rope_scaling (v4) */
    char rope_type[32];           /* its rope_type (or type); "" if absent */
    double rope_factor;           /* factor; 0 if absent                   */
    double rope_low_freq_factor;  /* llama3; 0 if absent                   */
    double rope_high_freq_factor; /* llama3; 0 if absent                   */
    int64_t rope_original_max_pos; /* original_max_position_embeddings; 0 if absent */
    double partial_rotary_factor; /* default 1                             */
    /* attention window (Mistral, Qwen2/3) */
    int64_t sliding_window;       /* -1 absent, 0 null, else tokens       */
    int use_sliding_window;
    int64_t max_window_layers;    /* -1 if absent                          */
    int64_t n_layer_types;        /* entries of layer_types; 0 if absent  */
    uint64_t sliding_layers[HXQ_CONFIG_MAX_LAYER_TYPES / 64]; /* bit l: layer_types[l]
                                   * is "sliding_attention"               */
    char layer_type_other[32];    /* the first other kind listed, "" none */
    int64_t max_position_embeddings;
    int64_t eos_token_ids[8];     /* int or list                          */
    int n_eos;
    int64_t bos_token_id;         /* -1 when null/absent                  */
    int64_t pad_token_id;         /* -1 when null/absent                  */
    char dtype[16];               /* "dtype" or "torch_dtype", "" if absent */
    int has_quantization_config;
} hxq_config;

/*! hxq_config_parse() : parses config.json text (transformers 4 and 5
 *  spellings). Missing optional fields take the transformers defaults;
 *  missing required sizes are left 0 (the engine checks what it needs).
 *  Values whose default depends on the model family (rms_norm_eps,
 *  rope_theta, sliding_window) say whether the file had them.
 *  @return HXQ_OK or HXQ_ERR_FORMAT naming the file (label) and key. */
int hxq_config_parse(const char *json, const char *label, hxq_config *out,
                     hxq_error *err);

/*! hxq_config_load() : reads and parses <dir>/config.json. */
int hxq_config_load(const char *dir, hxq_config *out, hxq_error *err);

/* ---- quantization_config of an HXQ folder ------------------------------ */

typedef struct hxq_qconfig {
    char quant_method[32];        /* "hxq", or legacy "helix" / "cdna_v3" */
    int codebook_size;            /* codebook_size or n_clusters; 256 default */
    int sidecar_enabled;
    int packed12;                 /* index_packing == "12bit"             */
    char **exact_patterns;        /* owned                                */
    int n_exact;
    char **modules;               /* compressed_modules, owned, as listed */
    int64_t n_modules;
} hxq_qconfig;

/*! hxq_qconfig_parse() : the "quantization_config" object of config.json
 *  text. @return HXQ_OK; HXQ_ERR_FORMAT when it is absent or malformed
 *  (label names the file); HXQ_ERR_UNSUPPORTED for another quant_method. */
int hxq_qconfig_parse(const char *json, const char *label, hxq_qconfig *out,
                      hxq_error *err);

/*! hxq_qconfig_load() : reads <dir>/config.json and parses it. */
int hxq_qconfig_load(const char *dir, hxq_qconfig *out, hxq_error *err);

/*! hxq_qconfig_free() : frees the owned strings. NULL is a no-op. */
void hxq_qconfig_free(hxq_qconfig *q);

#endif /* HXQ_IO_H */
