/*
 * hxq_verify.h - checking an HXQ model folder against its receipts and its
 * source (hxq verify), and converting between layouts (hxq convert).
 *
 * Verification never stops at the first problem: every check that fails
 * adds one entry (file, tensor, check, detail) to a report, so a CI log
 * shows everything that is wrong at once. The semantics of each check and
 * the conversion receipt schema are in docs/VERIFY.md.
 *
 * Depends on: common, io, codec, receipt. Thread-safety: reentrant; a
 * report belongs to one thread.
 */
#ifndef HXQ_VERIFY_H
#define HXQ_VERIFY_H

#include "hxq_common.h"
#include "hxq_io.h"

/* ---- the report --------------------------------------------------------- */

/* One failed check. Strings are owned by the report; "" when not
 * applicable (no file, no tensor). */
typedef struct hxq_verify_failure {
    char *file;     /* file name relative to the folder                  */
    char *tensor;   /* tensor or module name                              */
    char *check;    /* stable check name, e.g. "sha256", "sidecar_sorted" */
    char *detail;   /* one line: what was expected and what was found     */
} hxq_verify_failure;

/* At most this many failures are stored; the rest are only counted. */
#define HXQ_VERIFY_MAX_FAILURES 1000

typedef struct hxq_verify_report {
    hxq_verify_failure *failures;
    int64_t n_failures;        /* stored (<= HXQ_VERIFY_MAX_FAILURES)     */
    int64_t total_failures;    /* found, including those not stored       */
    int64_t cap;
    char receipt[64];          /* receipt the hashes came from, "" if none */
    int64_t files_hashed;      /* files whose SHA-256 was compared        */
    int64_t tensors_checked;   /* tensors given structural checks         */
    int64_t modules_checked;   /* compressed modules checked              */
    int64_t source_tensors;    /* source tensors accounted for (--source) */
    int64_t errors_compared;   /* per-tensor errors recomputed (--source) */
    int64_t files_recomputed;  /* files compared byte for byte (--recompute) */
    int64_t eval_receipts;     /* eval receipts checked                   */
    int64_t eval_recomputed;   /* log-likelihoods re-run (--recompute-eval) */
} hxq_verify_report;

/*! hxq_verify_report_init() / hxq_verify_report_free() :
 *  An empty report; free releases the owned strings and resets it. */
void hxq_verify_report_init(hxq_verify_report *r);
void hxq_verify_report_free(hxq_verify_report *r);

/*! hxq_verify_fail() :
 *  Adds one failure (NULL strings count as ""); detail is a printf format.
 *  @return HXQ_OK, or HXQ_ERR_NOMEM (the failure is still counted). */
int hxq_verify_fail(hxq_verify_report *r, const char *file, const char *tensor,
                    const char *check, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*! hxq_verify_report_json() :
 *  The report as a JSON document {"verdict", "dir", "receipt", counters,
 *  "failures": [{"file","tensor","check","detail"}], "failures_total"}.
 *  *out is malloc'd and owned by the caller.
 *  @return HXQ_OK or HXQ_ERR_NOMEM. */
int hxq_verify_report_json(const hxq_verify_report *r, const char *dir, char **out,
                           hxq_error *err);

/* ---- verification -------------------------------------------------------- */

typedef struct hxq_verify_opts {
    const char *source;   /* dense source folder, or NULL                  */
    int recompute;        /* re-run compression from source (needs source) */
    int threads;          /* for the re-runs; <= 0 = all CPUs              */
    /* eval_receipt.json (docs/RECEIPTS.md) */
    const char *eval_data;       /* the JSONL file: its hash is checked     */
    const char *eval_reference;  /* the reference folder, instead of the
                                    recorded path: its hash is checked     */
    int recompute_eval;          /* re-run both models on the data         */
} hxq_verify_opts;

/*! hxq_verify_folder() :
 *  Verifies the model folder dir: re-hashes every file recorded in its
 *  receipt (compression_receipt.json, our conversion_receipt.json, or the
 *  reference's conversion_receipt.json which covers model.safetensors),
 *  checks each receipt's seal, and checks the tensors' structure against
 *  quantization_config. With opts->source also Gate 2 (every source tensor
 *  accounted for), the recorded source hashes and the per-tensor errors;
 *  with opts->recompute a byte-for-byte recompression; an eval receipt
 *  when there is one (figures, gate, model binding; with the eval options
 *  the data, the reference and a re-run) (docs/VERIFY.md).
 *  Problems found in the folder's contents are added to *rep.
 *  @return HXQ_OK when every check passed, HXQ_ERR_VERIFY when the report
 *  holds failures, HXQ_ERR_IO when dir or the source cannot be read at
 *  all, HXQ_ERR_INVALID for bad options, HXQ_ERR_NOMEM. */
int hxq_verify_folder(const char *dir, const hxq_verify_opts *opts, hxq_verify_report *rep,
                      hxq_error *err);

/* ---- receipt seals --------------------------------------------------------
 * A sealed receipt carries "receipt_sha256": the SHA-256 of the receipt's
 * own bytes with those 64 hex digits replaced by '0'. A change to any byte
 * of the receipt (timings included) breaks the seal. */

#define HXQ_SEAL_KEY "receipt_sha256"

/*! hxq_receipt_seal() :
 *  Fills the seal of a receipt text in place: json must contain exactly
 *  one `"receipt_sha256": "<64 zeros>"` (as written by cJSON or by hand,
 *  any whitespace after the colon).
 *  @return HXQ_OK or HXQ_ERR_INVALID when the placeholder is missing. */
int hxq_receipt_seal(char *json, size_t len, hxq_error *err);

/*! hxq_receipt_seal_append() :
 *  Adds the seal to a JSON object text that has none: inserts
 *  `,\n\t"receipt_sha256":\t"<hex>"` before its final '}' and fills it.
 *  *json is malloc'd and may be reallocated; on failure it is unchanged.
 *  @return HXQ_OK, HXQ_ERR_INVALID (not an object text), HXQ_ERR_NOMEM. */
int hxq_receipt_seal_append(char **json, hxq_error *err);

/*! hxq_receipt_seal_check() :
 *  Checks the seal of a receipt text. *sealed is set to 1 when the text has
 *  a seal field, 0 otherwise (then HXQ_OK is returned: unsealed receipts
 *  are the caller's policy).
 *  @return HXQ_OK, or HXQ_ERR_VERIFY when the seal does not match (err
 *  gives both digests). */
int hxq_receipt_seal_check(const char *json, size_t len, int *sealed, hxq_error *err);

/* ---- conversion ------------------------------------------------------------ */

typedef enum {
    HXQ_CONVERT_DENSE = 1,  /* HXQ folder -> plain BF16 checkpoint          */
    HXQ_CONVERT_HXQ         /* reference/older HXQ -> our canonical layout  */
} hxq_convert_target;

typedef struct hxq_convert_opts {
    hxq_convert_target to;
    int64_t max_shard_size;  /* bytes of tensor data per shard; <= 0 = 5 GB */
    int force;               /* replace an existing dst                    */
} hxq_convert_opts;

typedef struct hxq_convert_summary {
    int64_t tensors_in, tensors_out;
    int64_t modules;          /* compressed modules converted               */
    int64_t exact_narrowed;   /* exact tensors re-typed (F16 -> BF16 ...)   */
    int64_t exact_lossy;      /* of those, tensors whose values changed     */
    int nshards;
    uint64_t bytes_in, bytes_out;
} hxq_convert_summary;

/*! hxq_convert_folder() :
 *  Converts the HXQ folder src into dst (see docs/VERIFY.md): to dense,
 *  each module becomes <p>.weight BF16 = decode(codebook, indices,
 *  sidecar) rounded to BF16, exact tensors become BF16, quantization_config
 *  is dropped; to hxq, the folder is rewritten in the canonical layout
 *  (F32[256] codebooks, U8 [out,in] indices, I64/F32 sidecars, F16 exact
 *  tensors back to BF16 where that is lossless) without refitting. Output
 *  is streamed tensor by tensor into a temporary folder beside dst that is
 *  renamed at the end, with conversion_receipt.json (sealed).
 *  summary may be NULL.
 *  @return HXQ_OK; HXQ_ERR_INVALID (bad options, dst exists without force,
 *  dst inside src), HXQ_ERR_IO, HXQ_ERR_FORMAT (malformed source, naming
 *  the file and tensor), HXQ_ERR_UNSUPPORTED (a layout that cannot be
 *  represented, e.g. a codebook over 256 entries), HXQ_ERR_NOMEM. On
 *  failure nothing is left at dst. */
int hxq_convert_folder(const char *src, const char *dst, const hxq_convert_opts *opts,
                       hxq_convert_summary *summary, hxq_error *err);

#endif /* HXQ_VERIFY_H */
