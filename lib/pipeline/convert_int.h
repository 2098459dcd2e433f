/* convert_int.h - private types of hxq convert: the plan of output
 * tensors and shards, and the pieces that write and record them. */
#ifndef HXQ_CONVERT_INT_H
#define HXQ_CONVERT_INT_H

#include "hxq_codec.h"
#include "hxq_pipeline.h"
#include "hxq_receipt.h"
#include "verify_int.h"


/* How an output tensor is produced. */
typedef enum {
    CV_COPY,        /* exact tensor, bytes copied                         */
    CV_RETYPE,      /* exact floating tensor converted to another dtype   */
    CV_DECODE,      /* module -> dense BF16 weight                        */
    CV_CODEBOOK,    /* module -> F32[256] codebook (zero-padded)          */
    CV_INDICES,     /* module -> U8 [rows, cols]                          */
    CV_SC_POS,      /* module -> I64[N]                                   */
    CV_SC_VAL       /* module -> F32[N]                                   */
} cv_op;

typedef struct cv_tensor {
    char *name;               /* output name, owned                        */
    hxq_dtype dtype;
    int ndim;
    int64_t shape[HXQ_MAX_DIMS];
    uint64_t nbytes;
    cv_op op;
    const hxq_tensor *src;    /* exact tensors: the source tensor          */
    int64_t module;           /* module ops: index into plan->modules      */
    int shard;
    int lossy;                /* CV_RETYPE: some value changed             */
    char xxh64[17];           /* of the bytes written                      */
} cv_tensor;

typedef struct cv_plan {
    const hxq_ckpt *ck;
    const hxq_qconfig *q;
    hxq_convert_target to;
    char **modules;           /* compressed_modules, sorted (borrowed)     */
    int64_t n_modules;
    cv_tensor *t;             /* output tensors sorted by name             */
    int64_t n, cap;
    int nshards;
    int64_t in_tensors;       /* source tensors consumed                   */
} cv_plan;

/* Builds the list of output tensors for src (checkpoint + qconfig) and
 * assigns shards of at most max_shard bytes. Modules are resolved with
 * hxq_module_load() once to learn their shapes and sidecar sizes. */
int convert_plan_build(cv_plan *p, const hxq_ckpt *ck, const hxq_qconfig *q,
                       hxq_convert_target to, int64_t max_shard, hxq_error *err);
void convert_plan_free(cv_plan *p);

/* A growable list of written files (name, size, SHA-256). */
typedef struct cv_files {
    hxq_rc_file *f;
    int n;
} cv_files;

void convert_files_free(cv_files *fl);

/* Writes every planned tensor into the shards (and index) in folder tmp
 * and appends the files; fills each tensor's xxh64. */
int convert_write_shards(cv_plan *p, const char *tmp, cv_files *files, hxq_error *err);

/* Writes config.json (quantization_config dropped or made canonical) and
 * copies the tokenizer/generation files of src; appends them to files. */
int convert_write_meta(const cv_plan *p, const char *src, const char *tmp, cv_files *files,
                       hxq_error *err);

/* Writes the sealed conversion_receipt.json into tmp. */
int convert_write_receipt(const cv_plan *p, const char *src, const char *tmp,
                          const hxq_convert_opts *o, const cv_files *files,
                          const hxq_verify_report *check, hxq_error *err);

#endif
