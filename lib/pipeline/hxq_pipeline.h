/*
 * hxq_pipeline.h - model-folder operations built from io, codec and
 * receipt: compress a checkpoint (plan, encode, shard, receipts), write a
 * folder atomically, generate synthetic checkpoints.
 *
 * Depends on: common, io, codec, receipt, tokenizer, infer (the eval
 * receipt scores models). Nothing here prints: progress
 * goes through a callback the caller implements.
 * Thread-safety: each call is independent; objects belong to one thread.
 */
#ifndef HXQ_PIPELINE_H
#define HXQ_PIPELINE_H

#include "hxq_codec.h"
#include "hxq_common.h"
#include "hxq_infer.h"
#include "hxq_io.h"
#include "hxq_receipt.h"

/* ---- output folders written atomically ---------------------------------- */

typedef struct hxq_outdir hxq_outdir;

/* The owner marker inside a staging folder: flock()ed by the writing
 * process while the folder lives; removed before the folder is renamed. */
#define HXQ_OUTDIR_LOCK ".hxq-staging.lock"

/*! hxq_outdir_begin() :
 *  Prepares writing folder `dst`: creates a staging folder
 *  "<dst>.tmp-XXXXXX" beside it (same file system, so the final rename is
 *  atomic) holding the locked marker HXQ_OUTDIR_LOCK. First removes the
 *  stale staging folders of dst left by a run that died (SIGKILL, power
 *  loss): "<dst>.tmp-XXXXXX" folders of this user whose marker's lock is
 *  free; a folder without the marker, or of another user, or whose owner
 *  lives, is left alone, and failing to remove one is not an error.
 *  Refuses an existing dst unless `force`, a dst that is or lies
 *  inside `src` (when src is not NULL), and a src inside dst (force would
 *  delete it). The parent folder of dst must exist.
 *  @return HXQ_OK; HXQ_ERR_INVALID (refusals, message names the path),
 *  HXQ_ERR_IO, HXQ_ERR_NOMEM. *out is set only on success. */
int hxq_outdir_begin(const char *dst, const char *src, int force, hxq_outdir **out,
                     hxq_error *err);

/*! hxq_outdir_path() : the staging folder to write into. */
const char *hxq_outdir_path(const hxq_outdir *od);

/*! hxq_outdir_commit() :
 *  removes the marker, fsyncs the staging folder and renames it onto dst (an existing dst is
 *  moved aside first and removed after the rename), then frees od, also
 *  on failure (after removing the staging folder).
 *  @return HXQ_OK or HXQ_ERR_IO. */
int hxq_outdir_commit(hxq_outdir *od, hxq_error *err);

/*! hxq_outdir_abort() : removes the staging folder and frees. NULL is a
 *  no-op. */
void hxq_outdir_abort(hxq_outdir *od);

/*! hxq_copy_aux_files() :
 *  Copies the tokenizer and generation files that exist in src_dir
 *  (tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 *  generation_config.json, vocab.json, merges.txt, tokenizer.model,
 *  added_tokens.json, chat_template.jinja, chat_template.json) to dst_dir.
 *  names (OUT, optional) receives a malloc'd array of the copied file
 *  names (static strings) and n their count; free the array only.
 *  @return HXQ_OK, HXQ_ERR_IO, HXQ_ERR_NOMEM. */
int hxq_copy_aux_files(const char *src_dir, const char *dst_dir, const char ***names, int *n,
                       hxq_error *err);

/* ---- sharded safetensors output ------------------------------------------ */

typedef struct hxq_shards hxq_shards;

/*! hxq_shards_assign() :
 *  Greedy shard assignment in order: group i (bytes[i], kept whole) goes
 *  to the current shard unless that shard already holds data and would
 *  exceed max_bytes; then a new shard starts. shard[i] receives the index.
 *  @return the number of shards (>= 1). */
int hxq_shards_assign(const uint64_t *bytes, int64_t n, uint64_t max_bytes, int *shard);

/*! hxq_shards_create() :
 *  A writer of nshards safetensors files in folder dir: "model.safetensors"
 *  when nshards == 1, else "model-0000i-of-0000n.safetensors" plus
 *  "model.safetensors.index.json" (transformers' names and layout).
 *  @return HXQ_OK, HXQ_ERR_INVALID (nshards < 1), HXQ_ERR_NOMEM. */
int hxq_shards_create(const char *dir, int nshards, hxq_shards **out, hxq_error *err);

/*! hxq_shards_add() : declares the next tensor, stored in shard `shard`
 *  (non-decreasing across calls). Data follow in declaration order.
 *  @return HXQ_OK, HXQ_ERR_INVALID (order, duplicates, shape). */
int hxq_shards_add(hxq_shards *s, const char *name, hxq_dtype dt, int ndim,
                   const int64_t *shape, int shard, hxq_error *err);

/*! hxq_shards_write_tensor() :
 *  Writes the whole data of the next declared tensor (len must equal its
 *  size) and records its XXH64. Each file is SHA-256 hashed while written.
 *  @return HXQ_OK, HXQ_ERR_INVALID (size/order), HXQ_ERR_IO. */
int hxq_shards_write_tensor(hxq_shards *s, const void *data, uint64_t len, hxq_error *err);

/*! hxq_shards_tensor_info() : file name (valid until free) and XXH64 hex
 *  of declared tensor i, after it was written. */
const char *hxq_shards_tensor_file(const hxq_shards *s, int64_t i);
const char *hxq_shards_tensor_xxh64(const hxq_shards *s, int64_t i);

/*! hxq_shards_finish() :
 *  Finishes every file (and the index when sharded). files (OUT) receives
 *  a malloc'd array of the written files (name, size, SHA-256), index
 *  included, in name order; free with hxq_rc_files_free().
 *  @return HXQ_OK, HXQ_ERR_INVALID (data missing), HXQ_ERR_IO. */
int hxq_shards_finish(hxq_shards *s, hxq_rc_file **files, int *nfiles, hxq_error *err);

/*! hxq_shards_free() : frees (removing unfinished temporary files). */
void hxq_shards_free(hxq_shards *s);

/*! hxq_rc_files_free() : frees an array of hxq_rc_file and their names. */
void hxq_rc_files_free(hxq_rc_file *f, int n);

/* ---- compress --------------------------------------------------------------- */

/* Progress report: `done` of `total` tensors, `bytes_done` of
 * `bytes_total` source bytes, `elapsed_s` since the start. Called from
 * whichever worker thread finished a tensor, never concurrently. */
typedef struct hxq_progress {
    const char *phase;          /* "plan" or "compress"                     */
    int64_t done, total;
    uint64_t bytes_done, bytes_total;
    double elapsed_s;
} hxq_progress;

typedef void (*hxq_progress_fn)(void *ctx, const hxq_progress *p);

#define HXQ_DEFAULT_SHARD_SIZE 5000000000ull  /* transformers' 5 GB */
#define HXQ_DEFAULT_SNR_FLOOR_DB 25.0
#define HXQ_DEFAULT_MIN_ELEMENTS 256

typedef struct hxq_compress_opts {
    const char *const *extra_exact;  /* more exact patterns (substrings)      */
    int n_extra_exact;
    int include_head;                /* compress the token embedding and the
                                      * output head (lm_head) too; they stay
                                      * exact by default, as in the reference */
    int64_t min_elements;            /* 2-D weights below stay exact          */
    hxq_encode_opts encode;          /* sidecar budget                        */
    int threads;                     /* <= 0: all CPUs                        */
    int window;                      /* matrices in flight; 0 = 4 x threads   */
    uint64_t max_shard_size;         /* bytes per safetensors file            */
    int force;                       /* replace an existing DST               */
    double snr_floor_db;             /* quality gate                          */
    hxq_progress_fn progress;        /* optional                              */
    void *progress_ctx;
    const volatile int *cancel;      /* optional: nonzero stops the run (a
                                      * signal handler may set it); the run
                                      * fails with HXQ_ERR_IO "interrupted" */
} hxq_compress_opts;

/*! hxq_compress_opts_init() : the defaults (reference policy and budget,
 *  all CPUs, 5 GB shards, 25 dB floor, no progress). */
void hxq_compress_opts_init(hxq_compress_opts *o);

/*! hxq_default_exact_patterns() : the reference's exact patterns, a
 *  static NULL-terminated list. */
const char *const *hxq_default_exact_patterns(void);

/* One output tensor group of a plan, in write order. */
typedef struct hxq_plan_item {
    char *name;                 /* module path (compressed) or tensor name    */
    int compressed;
    const hxq_tensor *src;      /* source tensor (view into the checkpoint)   */
    int64_t expert;             /* fused 3-D source: expert index, else -1    */
    int64_t row_begin, row_end; /* fused source: rows of the expert's slice   */
    int64_t rows, cols;         /* compressed: matrix shape                   */
    const void *data;           /* first source byte of the item              */
    int64_t sidecar;            /* compressed: planned sidecar count          */
    uint64_t in_bytes;          /* source bytes it covers                     */
    uint64_t out_bytes;         /* bytes it takes in the output               */
    int shard;                  /* output file index                          */
} hxq_plan_item;

typedef struct hxq_plan hxq_plan;

/*! hxq_plan_create() :
 *  Opens the checkpoint in src (config.json required, no existing
 *  quantization_config), classifies every tensor by the policy (fused 3-D
 *  experts split into hub-layout matrices), checks that floating tensors
 *  are finite, computes each matrix's sidecar count and output size, and
 *  assigns shards; source files are hashed too. Uses o->threads workers.
 *  @return HXQ_OK; HXQ_ERR_IO, HXQ_ERR_FORMAT (NaN/Inf weights, bad
 *  shapes, message names file and tensor), HXQ_ERR_UNSUPPORTED,
 *  HXQ_ERR_INVALID (options), HXQ_ERR_NOMEM. */
int hxq_plan_create(const char *src, const hxq_compress_opts *o, hxq_plan **out,
                    hxq_error *err);

/*! hxq_plan_free() : closes the checkpoint. NULL is a no-op. */
void hxq_plan_free(hxq_plan *p);

/*! hxq_plan_count() / hxq_plan_item_at() : the items in write order. */
int64_t hxq_plan_count(const hxq_plan *p);
const hxq_plan_item *hxq_plan_item_at(const hxq_plan *p, int64_t i);

typedef struct hxq_plan_totals {
    int64_t source_tensors, compressed, exact, keys;
    uint64_t bytes_in;          /* source tensor data                         */
    uint64_t bytes_out;         /* output tensor data bytes (headers excluded) */
    int shards;
} hxq_plan_totals;

/*! hxq_plan_totals_get() : counts and sizes of the plan. */
void hxq_plan_totals_get(const hxq_plan *p, hxq_plan_totals *out);

/* Result of hxq_compress(). */
typedef struct hxq_compress_summary {
    hxq_plan_totals totals;     /* bytes_out: the safetensors file sizes    */
    double ratio;               /* bytes_in / bytes_out                     */
    double seconds;
    double min_snr_db;          /* over compressed matrices                 */
    char min_snr_name[256];
    int64_t below_floor;        /* matrices under the SNR floor             */
    int pass;                   /* receipt verdict                          */
} hxq_compress_summary;

/*! hxq_compress() :
 *  Compresses the checkpoint folder src into the new folder dst (staged,
 *  renamed at the end): safetensors with codebook/indices/sidecar per
 *  compressed module and exact tensors in their source dtype, config.json
 *  with quantization_config, tokenizer/generation files, and the receipts
 *  compression_receipt.json, conversion_receipt.json,
 *  completeness_gate_receipt.json. Output bytes do not depend on threads.
 *  summary (OUT, optional) is filled when the folder was written.
 *  @return HXQ_OK; HXQ_ERR_VERIFY when the folder was written but its
 *  verdict is FAIL (e.g. a matrix below the SNR floor; message names it);
 *  otherwise an error from hxq_outdir_begin() / hxq_plan_create() or
 *  HXQ_ERR_IO while writing, and no dst is left behind. */
int hxq_compress(const char *src, const char *dst, const hxq_compress_opts *o,
                 hxq_compress_summary *summary, hxq_error *err);

/* ---- synthetic checkpoints ------------------------------------------------ */

typedef struct hxq_synth_opts {
    const char *arch;           /* NULL: the OLMoE benchmark checkpoint (its
                                 * config.json from config_from); else a family
                                 * of hxq_synth_opts_arch()                  */
    int64_t layers;             /* default 4                                 */
    int64_t hidden, intermediate, experts, top_k, heads, vocab;  /* OLMoE-1B-7B */
    int64_t kv_heads;           /* 0: heads                                  */
    int64_t head_dim;           /* 0: hidden / heads                         */
    int64_t moe_intermediate;   /* qwen3_moe: the experts' width             */
    int64_t sliding_window;     /* mistral, qwen2: 0 none                    */
    uint64_t seed;
    uint64_t max_shard_size;    /* default 5 GB                              */
    int fused;                  /* 1: transformers-5 fused 3-D experts        */
    const char *config_from;    /* folder whose config.json is the template   */
    const char *tokenizer_json; /* file copied as tokenizer.json (optional)   */
    const char *aux_from;       /* folder whose other aux files are copied    */
    int threads;
} hxq_synth_opts;

/*! hxq_synth_opts_init() : OLMoE-1B-7B widths (hidden 2048, 64 experts,
 *  top-8, intermediate 1024, 16 heads, vocab 50304), 4 layers, seed 1. */
void hxq_synth_opts_init(hxq_synth_opts *o);

/*! hxq_synth_opts_arch() :
 *  A family's tiny test checkpoint: o->arch = arch and widths of a few
 *  hundred KB (hidden 64, 2 layers, vocab 4096, GQA where the family has
 *  it, ...; the sizes can then be changed), seed 1. The families are those
 *  of hxq_synth_arch_names(); each writes the config.json keys and tensor
 *  names its transformers class reads (docs/ENGINE.md).
 *  @return HXQ_OK, or HXQ_ERR_INVALID for an unknown arch (the message
 *  lists the known ones); *o is then unchanged. */
int hxq_synth_opts_arch(hxq_synth_opts *o, const char *arch, hxq_error *err);

/*! hxq_synth_arch_names() : "llama, mistral, ..." (a static string). */
const char *hxq_synth_arch_names(void);

/*! hxq_synth() :
 *  Writes a deterministic synthetic checkpoint into the new folder dst:
 *  BF16 weights drawn from a Student-t (4 degrees of freedom) scaled per
 *  matrix plus rare large outliers, norms near 1, hub layout (or fused
 *  experts), sharded like transformers, config.json and the tokenizer
 *  files. Without o->arch: an OLMoE whose config.json is config_from's with
 *  the sizes replaced. With o->arch: that family's config.json; a family
 *  whose tokenizer adds a BOS (llama, mistral, mixtral) gets
 *  add_bos_token and a BOS post-processor. The same options give the
 *  same bytes.
 *  @return HXQ_OK, HXQ_ERR_INVALID (sizes, existing dst), HXQ_ERR_IO,
 *  HXQ_ERR_NOMEM. */
int hxq_synth(const char *dst, const hxq_synth_opts *o, hxq_error *err);

/* ---- folder hashes --------------------------------------------------------- */

/* The eval receipt's file name in a model folder. */
#define HXQ_EVAL_RECEIPT "eval_receipt.json"

/*! hxq_is_eval_receipt_name() : 1 for HXQ_EVAL_RECEIPT. */
int hxq_is_eval_receipt_name(const char *name);

/*! hxq_folder_sha256() :
 *  One SHA-256 for a folder: of the text `sha256sum` prints for its
 *  regular files in bytewise name order ("<hex>  <name>\n" per file),
 *  leaving out names that start with '.' and the eval receipt.
 *  @return HXQ_OK, HXQ_ERR_IO, HXQ_ERR_NOMEM. */
int hxq_folder_sha256(const char *dir, char hex[HXQ_SHA256_HEX], hxq_error *err);

/* ---- eval receipts (eval_receipt.json, docs/RECEIPTS.md) ------------------- */

typedef struct hxq_eval_receipt_opts {
    hxq_mc_task task;
    const char *data;           /* the JSONL file, as given                  */
    int64_t limit;              /* rows kept, 0 = all                        */
    const char *model_dir;      /* the folder the receipt goes into          */
    const char *reference_dir;  /* as given                                  */
    double gate;                /* tolerance of the gate, >= 0               */
    /* timings, informational */
    int threads;
    double model_s, reference_s, total_s;
} hxq_eval_receipt_opts;

/*! hxq_eval_receipt_figures() :
 *  The figures of r that follow from the scores: model and reference acc /
 *  acc_norm with standard errors, their paired delta, and the gate:
 *  threshold = max(2 delta.acc_norm_stderr, gate) (gate alone when the
 *  standard error is undefined), PASS when |delta.acc_norm| <= threshold.
 *  Nothing else of r is touched. verify recomputes exactly this.
 *  @return HXQ_OK, HXQ_ERR_INVALID (the scores are not paired). */
int hxq_eval_receipt_figures(const hxq_mc_scores *model, const hxq_mc_scores *ref, double gate,
                             hxq_eval_receipt *r, hxq_error *err);

/*! hxq_eval_receipt_make() :
 *  The whole receipt: figures (above), items (gold, choice lengths, both
 *  models' log-likelihoods), the data file's size and SHA-256, both
 *  folders' hxq_folder_sha256() and the SHA-256 of their
 *  compression_receipt.json when present, the BOS flags and the timings.
 *  *out is set only on success; free with hxq_receipt_eval_free().
 *  @return HXQ_OK, HXQ_ERR_INVALID, HXQ_ERR_IO, HXQ_ERR_NOMEM. */
int hxq_eval_receipt_make(const hxq_eval_receipt_opts *o, const hxq_mc_scores *model,
                          const hxq_mc_scores *ref, hxq_eval_receipt *out, hxq_error *err);

/*! hxq_eval_receipt_write() : seals r's JSON text and writes it to
 *  <dir>/eval_receipt.json (temporary name, fsync, rename).
 *  @return HXQ_OK, HXQ_ERR_IO, HXQ_ERR_NOMEM. */
int hxq_eval_receipt_write(const char *dir, const hxq_eval_receipt *r, hxq_error *err);

#endif /* HXQ_PIPELINE_H */
