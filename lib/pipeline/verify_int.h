/* verify_int.h - private helpers shared by the verify_* and convert_*
 * files of the pipeline module. */
#ifndef HXQ_VERIFY_INT_H
#define HXQ_VERIFY_INT_H

#include "hxq_pipeline.h"
#include "hxq_receipt.h"
#include "hxq_verify.h"

#include <cJSON.h>

#define VERIFY_COMPRESSION_RECEIPT "compression_receipt.json"
#define VERIFY_CONVERSION_RECEIPT "conversion_receipt.json"
#define VERIFY_GATE_RECEIPT "completeness_gate_receipt.json"
#define VERIFY_RECEIPT_MAX (256u << 20)
/* "format" of the conversion receipts written by hxq convert */
#define VERIFY_CONVERT_FORMAT "hxq-conversion-receipt"

/* Propagate only errors that stop verification (out of memory, I/O on
 * the folder itself); failures of checks go into the report. */
#define VERIFY_TRY(expr)                            \
    do {                                            \
        int verify_rc_ = (expr);                    \
        if (verify_rc_ < 0)                         \
            return verify_rc_;                      \
    } while (0)

/* Reads and parses dir/name. *out is NULL (and HXQ_OK returned) when the
 * file does not exist; a file that cannot be read or parsed is reported
 * as a failure with check "receipt" and also gives *out = NULL. *text
 * (optional) receives the raw bytes for seal checks. */
int verify_load_json(const char *dir, const char *name, hxq_verify_report *rep, cJSON **out,
                     char **text, size_t *len);

/* Re-hashes every file of a receipt's list [{"name","sha256","size"}]
 * found in dir and reports missing files and mismatches. */
int verify_file_list(const char *dir, const char *receipt, const cJSON *files,
                     hxq_verify_report *rep);

/* A receipt with a seal must match it (check "seal"); required: it must
 * have one. */
int verify_check_seal(const char *name, const char *text, size_t len, int required,
                      hxq_verify_report *rep);

/* Step 1: receipts (seals, file hashes). Step 2: tensors' structure. */
int verify_receipts(const char *dir, hxq_verify_report *rep);
int verify_structure(const char *dir, const hxq_ckpt *ck, const hxq_qconfig *q,
                     hxq_verify_report *rep);

/* Step 2 for a whole folder: opens checkpoint and config (problems are
 * failures), then structure (HXQ) or finiteness (dense). */
int verify_contents(const char *dir, hxq_verify_report *rep);

/* compression_receipt.json against the folder (keys, hashes, totals). */
int verify_compression_receipt(const hxq_ckpt *ck, const hxq_qconfig *q,
                               const hxq_compression_receipt *cr, hxq_verify_report *rep);

/* --source: against the dense source folder src (cr may be NULL). */
int verify_source(const hxq_ckpt *ck, const hxq_qconfig *q, const hxq_compression_receipt *cr,
                  const char *src, hxq_verify_report *rep);

/* --recompute: compress src again with cr's options, compare to dir. */
int verify_recompute(const char *dir, const hxq_compression_receipt *cr, const char *src,
                     int threads, hxq_verify_report *rep, hxq_error *err);

/* eval_receipt.json when present (or asked for by the eval options):
 * seal, figures against its items, gate, model binding, and on request
 * the data, the reference and a re-run (verify_eval.c). */
int verify_eval(const char *dir, const hxq_verify_opts *o, hxq_verify_report *rep,
                hxq_error *err);

/* 1 when the tensor name ends with suffix. */
int verify_ends_with(const char *s, const char *suffix);

/* The file name of a path (after the last '/'). */
const char *verify_base(const char *path);

/* First non-finite element of a floating tensor, or -1. */
int64_t verify_first_nonfinite(const hxq_tensor *t);

#endif
