/* io_int.h - private helpers shared by the io module's files. */
#ifndef HXQ_IO_INT_H
#define HXQ_IO_INT_H

#include "hxq_io.h"

/* Compare two tensors by name (for qsort / bsearch over hxq_tensor). */
int io_tensor_name_cmp(const void *a, const void *b);

/* Binary search for name in an array of tensors sorted by name. */
const hxq_tensor *io_tensor_bsearch(const hxq_tensor *arr, int64_t n,
                                    const char *name);

#endif
