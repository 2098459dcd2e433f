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

/* Prints root (formatted) into *out and deletes it.
 * @return HXQ_OK or HXQ_ERR_NOMEM. */
int rc_finish(rc_json *j, cJSON *root, char **out, hxq_error *err);

#endif
