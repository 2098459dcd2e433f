/* compress_int.h - state shared by the compress stages. */
#ifndef HXQ_COMPRESS_INT_H
#define HXQ_COMPRESS_INT_H

#include "pipeline_int.h"

typedef struct compress_state {
    hxq_compression_receipt r;     /* r.tensors[plan->n] filled while writing */
    hxq_rc_file *shard_files;      /* safetensors files (+ index), by name    */
    int n_shard_files;
} compress_state;

/* Encodes and writes every plan item into dir (compress_run.c). */
int pipeline_encode_write(const hxq_plan *p, hxq_pool *pool, const char *dir,
                          compress_state *st, hxq_error *err);

#endif
