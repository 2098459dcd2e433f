/* receipt_json.c - allocation-checked cJSON building for the receipts. */
#include "receipt_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static cJSON *attach(rc_json *j, cJSON *parent, const char *key, cJSON *item)
{
    if (!item || !parent) {
        cJSON_Delete(item);
        j->failed = 1;
        return NULL;
    }
    int ok = key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
    if (!ok) {
        cJSON_Delete(item);
        j->failed = 1;
        return NULL;
    }
    return item;
}

cJSON *rc_add_obj(rc_json *j, cJSON *parent, const char *key)
{
    return attach(j, parent, key, cJSON_CreateObject());
}

cJSON *rc_add_arr(rc_json *j, cJSON *parent, const char *key)
{
    return attach(j, parent, key, cJSON_CreateArray());
}

void rc_add_str(rc_json *j, cJSON *parent, const char *key, const char *val)
{
    attach(j, parent, key, val ? cJSON_CreateString(val) : cJSON_CreateNull());
}

void rc_add_num(rc_json *j, cJSON *parent, const char *key, double val)
{
    attach(j, parent, key, cJSON_CreateNumber(val));
}

void rc_add_bool(rc_json *j, cJSON *parent, const char *key, int val)
{
    attach(j, parent, key, cJSON_CreateBool(val != 0));
}

void rc_add_shape(rc_json *j, cJSON *parent, const char *key, int ndim, const int64_t *shape)
{
    cJSON *a = rc_add_arr(j, parent, key);
    for (int d = 0; a && d < ndim; d++)
        attach(j, a, NULL, cJSON_CreateNumber((double)shape[d]));
}

/* The shortest %.15g .. %.17g text of v that strtod reads back as v. */
static cJSON *exact_number(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof(buf), "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

void rc_add_real(rc_json *j, cJSON *parent, const char *key, double val)
{
    attach(j, parent, key, exact_number(val));
}

void rc_push_real(rc_json *j, cJSON *arr, double val)
{
    attach(j, arr, NULL, exact_number(val));
}

void rc_push_int(rc_json *j, cJSON *arr, int64_t val)
{
    attach(j, arr, NULL, cJSON_CreateNumber((double)val));
}

void rc_push_str(rc_json *j, cJSON *arr, const char *val)
{
    attach(j, arr, NULL, cJSON_CreateString(val));
}

int rc_finish(rc_json *j, cJSON *root, char **out, hxq_error *err)
{
    /* compact: the per-tensor receipt of a large model runs to megabytes;
     * 'jq .' shows it indented */
    char *txt = (!j->failed && root) ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!txt)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory building a receipt");
    size_t n = 0;
    while (txt[n])
        n++;
    /* end with a newline, as text files do */
    char *nl = realloc(txt, n + 2);
    if (!nl) {
        free(txt);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory building a receipt");
    }
    nl[n] = '\n';
    nl[n + 1] = '\0';
    *out = nl;
    return HXQ_OK;
}
