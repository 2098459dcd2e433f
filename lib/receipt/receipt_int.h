/* receipt_int.h - private helpers shared by the receipt module's files. */
#ifndef HXQ_RECEIPT_INT_H
#define HXQ_RECEIPT_INT_H

#include "hxq_receipt.h"

#include <cJSON.h>

/* A cJSON builder that remembers any allocation failure, so a document is
 * either complete or reported as out of memory. */
typedef struct rc_json {
    int failed;
} rc_json;

cJSON *rc_add_obj(rc_json *j, cJSON *parent, const char *key);
cJSON *rc_add_arr(rc_json *j, cJSON *parent, const char *key);
void rc_add_str(rc_json *j, cJSON *parent, const char *key, const char *val);
void rc_add_num(rc_json *j, cJSON *parent, const char *key, double val);
void rc_add_bool(rc_json *j, cJSON *parent, const char *key, int val);
void rc_add_shape(rc_json *j, cJSON *parent, const char *key, int ndim, const int64_t *shape);
/* Appends a string to an array. */
void rc_push_str(rc_json *j, cJSON *arr, const char *val);

/* A number written so that it reads back bit-exact (the shortest of
 * %.15g .. %.17g that does; cJSON's own printing stops at 15 digits when
 * they come within an ulp); NaN and infinities as null. */
void rc_add_real(rc_json *j, cJSON *parent, const char *key, double val);
/* Appends such a number / an integer (exact below 2^53) to an array. */
void rc_push_real(rc_json *j, cJSON *arr, double val);
void rc_push_int(rc_json *j, cJSON *arr, int64_t val);

/* Prints root (formatted) into *out and deletes it.
 * @return HXQ_OK or HXQ_ERR_NOMEM. */
int rc_finish(rc_json *j, cJSON *root, char **out, hxq_error *err);

/* ---- reading (receipt_read.c): each reader fails with HXQ_ERR_FORMAT
 * "<label>: key '<key>' ..." ---- */

typedef struct rc_parse {
    const char *label;
    hxq_error *err;
} rc_parse;

/* "<label>: <what>" as HXQ_ERR_FORMAT. */
int rc_bad(rc_parse *p, const char *what);

/* o[key] when its type is one of `type` (cJSON type bits), else NULL with
 * *rc set. */
const cJSON *rc_need(rc_parse *p, const cJSON *o, const char *key, int type, int *rc);

/* A non-negative integer below 2^53. */
int rc_get_int(rc_parse *p, const cJSON *o, const char *key, int64_t *out);

/* A finite number, or null read as if_null (+inf for an infinite SNR, NaN
 * for an undefined standard error). */
int rc_get_real(rc_parse *p, const cJSON *o, const char *key, double if_null, double *out);

/* A string, copied (owned by the caller). */
int rc_get_str(rc_parse *p, const cJSON *o, const char *key, char **out);

/* A string into buf[cap]; exact_len > 0 also requires that many lowercase
 * hex digits. */
int rc_get_fixed(rc_parse *p, const cJSON *o, const char *key, char *buf, size_t cap,
                 size_t exact_len);

#endif
