/*
 * hxq_receipt.h - hashing for receipts (SHA-256 of files and streams,
 * xxHash64 of tensor bytes) and the receipt documents built from them.
 *
 * Depends on: common, io. Thread-safety: hash states belong to one thread.
 */
#ifndef HXQ_RECEIPT_H
#define HXQ_RECEIPT_H

#include "hxq_common.h"
#include "hxq_io.h"

#define HXQ_SHA256_HEX 65   /* 64 hex digits + NUL */

typedef struct hxq_sha256 hxq_sha256;

/*! hxq_sha256_create() : a streaming SHA-256 state (OpenSSL EVP), or NULL
 *  on allocation failure. */
hxq_sha256 *hxq_sha256_create(void);

/*! hxq_sha256_update() : feeds bytes. */
void hxq_sha256_update(hxq_sha256 *h, const void *data, size_t len);

/*! hxq_sha256_final_hex() : writes the lowercase hex digest into hex and
 *  frees the state. */
void hxq_sha256_final_hex(hxq_sha256 *h, char hex[HXQ_SHA256_HEX]);

/*! hxq_sha256_free() : frees a state without finishing it. NULL is a no-op. */
void hxq_sha256_free(hxq_sha256 *h);

/*! hxq_sha256_hook() : an hxq_write_hook that feeds a hxq_sha256 (ctx). */
void hxq_sha256_hook(void *ctx, const void *buf, size_t len);

/*! hxq_sha256_buffer() : digest of a buffer. */
void hxq_sha256_buffer(const void *data, size_t len, char hex[HXQ_SHA256_HEX]);

/*! hxq_sha256_file() : digest and size of a file, read in large blocks.
 *  @return HXQ_OK or HXQ_ERR_IO naming the file. */
int hxq_sha256_file(const char *path, char hex[HXQ_SHA256_HEX], uint64_t *size,
                    hxq_error *err);

/*! hxq_xxh64_hex() : XXH64 (seed 0) of a buffer as 16 lowercase hex
 *  digits + NUL. */
void hxq_xxh64_hex(const void *data, size_t len, char hex[17]);

/* ---- receipt documents ------------------------------------------------
 * The schemas are in docs/RECEIPTS.md. Builders return a malloc'd
 * NUL-terminated JSON text (cJSON, formatted) that the caller frees;
 * identical structs give identical bytes. */

/* A file with its size and SHA-256. */
typedef struct hxq_rc_file {
    char *name;                    /* owned; relative to its folder       */
    uint64_t size;
    char sha256[HXQ_SHA256_HEX];
} hxq_rc_file;

/* One stored safetensors key of a tensor group. */
typedef struct hxq_rc_key {
    char *key;                     /* owned                               */
    char *file;                    /* owned; output file holding it       */
    hxq_dtype dtype;
    int ndim;
    int64_t shape[HXQ_MAX_DIMS];
    char xxh64[17];                /* XXH64 of the stored bytes           */
} hxq_rc_key;

#define HXQ_RC_MAX_KEYS 4

/* One output tensor group: a compressed module or an exact tensor. */
typedef struct hxq_rc_tensor {
    char *name;                    /* owned; module path or tensor name   */
    int compressed;                /* 1 compressed, 0 exact               */
    char *source;                  /* owned; source tensor name           */
    int64_t expert;                /* fused source: expert index, else -1 */
    int64_t row_begin, row_end;    /* fused source: rows in the slice     */
    int ndim;
    int64_t shape[HXQ_MAX_DIMS];
    hxq_dtype source_dtype;
    int64_t sidecar_count;         /* compressed only                     */
    double mse, snr_db, cosine, max_abs_err;  /* compressed only; snr may be +inf */
    int nkeys;
    hxq_rc_key keys[HXQ_RC_MAX_KEYS];
} hxq_rc_tensor;

/* A named verdict check. */
typedef struct hxq_rc_check {
    char name[48];
    int pass;
    char *detail;                  /* owned, may be NULL                  */
} hxq_rc_check;

#define HXQ_RC_MAX_CHECKS 8

/* The whole compression receipt (compression_receipt.json). */
typedef struct hxq_compression_receipt {
    int format_version;            /* 1                                   */
    char tool_version[32];
    /* options */
    int codebook_size;
    int64_t min_elements;
    char **exact_patterns;         /* owned [n_patterns]                  */
    int n_patterns;
    char sidecar_mode[16];         /* reference | count | fraction | none */
    int64_t sidecar_count;
    double sidecar_fraction;
    uint64_t max_shard_size;
    double snr_floor_db;
    /* files */
    char *source_dir;              /* owned, may be NULL                  */
    hxq_rc_file *source_files;     /* owned [n_source_files]              */
    int n_source_files;
    hxq_rc_file *output_files;     /* owned [n_output_files]              */
    int n_output_files;
    /* tensors */
    hxq_rc_tensor *tensors;        /* owned [n_tensors]                   */
    int64_t n_tensors;
    /* totals */
    int64_t source_tensors, n_compressed, n_exact, total_keys;
    uint64_t bytes_in, bytes_out;
    double ratio;
    /* verdict */
    int pass;
    hxq_rc_check checks[HXQ_RC_MAX_CHECKS];
    int n_checks;
    /* timings (not reproducible); has_timings 0 omits the section */
    int has_timings;
    int threads;
    double plan_s, encode_write_s, total_s;
} hxq_compression_receipt;

/*! hxq_receipt_compression_json() :
 *  Serialises r as compression_receipt.json text into *out (malloc'd).
 *  @return HXQ_OK, HXQ_ERR_NOMEM. */
int hxq_receipt_compression_json(const hxq_compression_receipt *r, char **out,
                                 hxq_error *err);

/*! hxq_receipt_compression_parse() :
 *  Parses compression_receipt.json text (label names it in messages) into
 *  *out, which the caller frees with hxq_receipt_compression_free().
 *  Unknown keys are ignored; missing required keys, wrong types, a bad
 *  dtype name or hash are HXQ_ERR_FORMAT naming the key. *out is zeroed on
 *  failure. @return HXQ_OK, HXQ_ERR_FORMAT, HXQ_ERR_UNSUPPORTED (another
 *  format_version), HXQ_ERR_NOMEM. */
int hxq_receipt_compression_parse(const char *json, const char *label,
                                  hxq_compression_receipt *out, hxq_error *err);

/*! hxq_receipt_compression_load() : reads and parses
 *  <dir>/compression_receipt.json. @return as parse, or HXQ_ERR_IO. */
int hxq_receipt_compression_load(const char *dir, hxq_compression_receipt *out,
                                 hxq_error *err);

/*! hxq_receipt_compression_free() : frees every owned member and zeroes
 *  the struct. NULL is a no-op. */
void hxq_receipt_compression_free(hxq_compression_receipt *r);

/*! hxq_receipt_add_check() : appends check `name` with a formatted detail
 *  (copied) to r->checks. @return HXQ_OK, HXQ_ERR_RANGE (table full),
 *  HXQ_ERR_NOMEM. */
int hxq_receipt_add_check(hxq_compression_receipt *r, const char *name, int pass,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Gate 1 of the reference (conversion_receipt.json). */
typedef struct hxq_gate1_receipt {
    int readable, compressed_complete, indices_in_range, exact_no_nan, key_count_match;
    char **details;                /* owned [n_details], may be NULL      */
    int n_details;
    int64_t total_keys, compressed_modules, exact_tensors;
    char sha256[HXQ_SHA256_HEX];   /* model.safetensors, or the index     */
    hxq_rc_file *shards;           /* not owned; sharded outputs only     */
    int n_shards;
} hxq_gate1_receipt;

/*! hxq_receipt_gate1_json() : conversion_receipt.json text; the verdict
 *  is PASS when every check holds. @return HXQ_OK, HXQ_ERR_NOMEM. */
int hxq_receipt_gate1_json(const hxq_gate1_receipt *g, char **out, hxq_error *err);

/* Gate 2 of the reference (completeness_gate_receipt.json). */
typedef struct hxq_gate2_receipt {
    int64_t dense_tensors, output_tensors, compressed_weights, accounted;
    const char *const *missing;    /* not owned [n_missing]               */
    int64_t n_missing;
    const char *const *exact;      /* not owned: source tensors kept exact */
    int64_t n_exact;
} hxq_gate2_receipt;

/*! hxq_receipt_gate2_json() : completeness_gate_receipt.json text; exact
 *  tensors are sorted into the reference's skip categories (embedding,
 *  layernorm, output_head; see docs/RECEIPTS.md); the verdict is PASS when
 *  nothing is missing. @return HXQ_OK, HXQ_ERR_NOMEM. */
int hxq_receipt_gate2_json(const hxq_gate2_receipt *g, char **out, hxq_error *err);

/* ---- eval_receipt.json: a paired multiple-choice evaluation ------------- */

#define HXQ_RC_MAX_CHOICES 64      /* choices per document, as hxq_infer.h */

/* acc and acc_norm with their standard errors (NaN, written null, below
 * two documents), or the paired difference of two models. */
typedef struct hxq_rc_mc_figures {
    int64_t n;
    double acc, acc_stderr, acc_norm, acc_norm_stderr;
} hxq_rc_mc_figures;

/* One evaluated model folder. */
typedef struct hxq_rc_mc_model {
    char *dir;                     /* owned; the path as given (reference), or NULL */
    char folder_sha256[HXQ_SHA256_HEX];
    int has_compression_receipt;   /* compression_receipt.json was there  */
    char compression_receipt_sha256[HXQ_SHA256_HEX];
    int bos;                       /* a BOS was put in front of contexts  */
    hxq_rc_mc_figures fig;
} hxq_rc_mc_model;

/* The whole eval receipt. Items are flat: document i's choices are
 * [first[i], first[i + 1]). */
typedef struct hxq_eval_receipt {
    int format_version;            /* 1                                   */
    char tool_version[32];
    char task[16];                 /* hellaswag | arc | mc                */
    char *data_path;               /* owned; as given                     */
    uint64_t data_size;
    char data_sha256[HXQ_SHA256_HEX];
    int64_t limit;                 /* --limit, 0 = every row              */
    hxq_rc_mc_model model, reference;
    hxq_rc_mc_figures delta;       /* model - reference, paired           */
    double gate_tolerance;         /* --gate                              */
    double gate_threshold;         /* max(2 delta.acc_norm_stderr, tolerance) */
    int gate_pass;                 /* |delta.acc_norm| <= gate_threshold   */
    int64_t n_items;
    int64_t *first;                /* owned [n_items + 1]                 */
    int32_t *gold;                 /* owned [n_items]                     */
    int64_t *len;                  /* owned [first[n_items]]              */
    double *ll, *ref_ll;           /* owned [first[n_items]]              */
    /* timings (not reproducible); has_timings 0 omits the section */
    int has_timings;
    int threads;
    double model_s, reference_s, total_s;
} hxq_eval_receipt;

/*! hxq_receipt_eval_json() : eval_receipt.json text (unsealed) into *out
 *  (malloc'd); numbers read back bit-exact. @return HXQ_OK, HXQ_ERR_NOMEM. */
int hxq_receipt_eval_json(const hxq_eval_receipt *r, char **out, hxq_error *err);

/*! hxq_receipt_eval_parse() :
 *  Parses eval_receipt.json text (label names it in messages) into *out
 *  (free with hxq_receipt_eval_free()). Unknown keys are ignored; a missing
 *  or mistyped key, a bad hash, items that do not fit together (choice
 *  counts of 1 .. 64, a gold outside its choices) are HXQ_ERR_FORMAT naming
 *  the key. *out is zeroed on failure. @return HXQ_OK, HXQ_ERR_FORMAT,
 *  HXQ_ERR_UNSUPPORTED (another format_version), HXQ_ERR_NOMEM. */
int hxq_receipt_eval_parse(const char *json, size_t len, const char *label,
                           hxq_eval_receipt *out, hxq_error *err);

/*! hxq_receipt_eval_free() : frees every owned member and zeroes the
 *  struct. NULL is a no-op. */
void hxq_receipt_eval_free(hxq_eval_receipt *r);

#endif /* HXQ_RECEIPT_H */
