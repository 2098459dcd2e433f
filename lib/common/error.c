/* error.c - the hxq_error helpers and status names. */
#include "hxq_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hxq_err(hxq_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

int hxq_err_prefix(hxq_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    char prefix[HXQ_ERROR_MSG_MAX];
    char old[HXQ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    size_t pl = strlen(prefix);
    if (pl > sizeof(err->msg) - 3)
        pl = sizeof(err->msg) - 3;
    memcpy(err->msg, prefix, pl);
    memcpy(err->msg + pl, ": ", 2);
    size_t room = sizeof(err->msg) - pl - 3;
    size_t ol = strlen(old);
    if (ol > room)
        ol = room;
    memcpy(err->msg + pl + 2, old, ol);
    err->msg[pl + 2 + ol] = '\0';
    if (err->code == 0)
        err->code = code;
    return err->code;
}

const char *hxq_status_name(int code)
{
    switch (code) {
    case HXQ_OK: return "ok";
    case HXQ_ERR_IO: return "i/o error";
    case HXQ_ERR_FORMAT: return "format error";
    case HXQ_ERR_NOMEM: return "out of memory";
    case HXQ_ERR_INVALID: return "invalid argument";
    case HXQ_ERR_UNSUPPORTED: return "unsupported";
    case HXQ_ERR_VERIFY: return "verification failed";
    case HXQ_ERR_RANGE: return "limit exceeded";
    case HXQ_ERR_DEVICE: return "device error";
    default: return "unknown error";
    }
}
