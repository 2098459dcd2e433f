/* receipt_read.c - typed reads of receipt keys with messages naming the
 * receipt and the key, shared by the receipt parsers. */
#include "receipt_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rc_bad(rc_parse *p, const char *what)
{
    return hxq_err(p->err, HXQ_ERR_FORMAT, "%s: %s", p->label, what);
}

static int bad_key(rc_parse *p, const char *key, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "key '%s' %s", key, what);
    return rc_bad(p, msg);
}

const cJSON *rc_need(rc_parse *p, const cJSON *o, const char *key, int type, int *rc)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || !(v->type & type)) {
        *rc = bad_key(p, key, "is missing or has the wrong type");
        return NULL;
    }
    return v;
}

int rc_get_int(rc_parse *p, const cJSON *o, const char *key, int64_t *out)
{
    int rc = HXQ_OK;
    const cJSON *v = rc_need(p, o, key, cJSON_Number, &rc);
    if (!v)
        return rc;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d))
        return bad_key(p, key, "is not a non-negative integer");
    *out = (int64_t)d;
    return HXQ_OK;
}

int rc_get_real(rc_parse *p, const cJSON *o, const char *key, double if_null, double *out)
{
    int rc = HXQ_OK;
    const cJSON *v = rc_need(p, o, key, cJSON_Number | cJSON_NULL, &rc);
    if (!v)
        return rc;
    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))    /* 1e999: only null stands for it */
        return bad_key(p, key, "is not a finite number");
    *out = cJSON_IsNull(v) ? if_null : v->valuedouble;
    return HXQ_OK;
}

int rc_get_str(rc_parse *p, const cJSON *o, const char *key, char **out)
{
    int rc = HXQ_OK;
    const cJSON *v = rc_need(p, o, key, cJSON_String, &rc);
    if (!v)
        return rc;
    if (!(*out = hxq_strdup(v->valuestring)))
        return hxq_err(p->err, HXQ_ERR_NOMEM, "out of memory");
    return HXQ_OK;
}

int rc_get_fixed(rc_parse *p, const cJSON *o, const char *key, char *buf, size_t cap,
                 size_t exact_len)
{
    int rc = HXQ_OK;
    const cJSON *v = rc_need(p, o, key, cJSON_String, &rc);
    if (!v)
        return rc;
    size_t n = strlen(v->valuestring);
    if (n >= cap || (exact_len && n != exact_len))
        return bad_key(p, key, "has a bad length");
    if (exact_len)
        for (size_t i = 0; i < n; i++)
            if (!strchr("0123456789abcdef", v->valuestring[i]))
                return bad_key(p, key, "is not lowercase hex");
    memcpy(buf, v->valuestring, n + 1);
    return HXQ_OK;
}
