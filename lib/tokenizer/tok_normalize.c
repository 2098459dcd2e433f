/* tok_normalize.c - Unicode normalization of text pieces (utf8proc). */
#include "tok_int.h"

#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <utf8proc.h>

int tok_normalize(tok_norm norm, const char *s, size_t len, char **out, size_t *out_len,
                  hxq_error *err)
{
    *out = NULL;
    *out_len = len;
    if (norm == TOK_NORM_NONE)
        return HXQ_OK;
    /* ASCII is invariant under every normalization form */
    size_t i = 0;
    while (i < len && (uint8_t)s[i] < 0x80)
        i++;
    if (i == len)
        return HXQ_OK;
    if (len > (size_t)(PTRDIFF_MAX / 8))
        return hxq_err(err, HXQ_ERR_RANGE, "text piece of %zu bytes is too long to normalize",
                       len);
    utf8proc_option_t opt = UTF8PROC_STABLE;
    switch (norm) {
    case TOK_NORM_NFC: opt |= UTF8PROC_COMPOSE; break;
    case TOK_NORM_NFKC: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case TOK_NORM_NFD: opt |= UTF8PROC_DECOMPOSE; break;
    case TOK_NORM_NFKD: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    default: break;
    }
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &dst,
                                      opt);
    if (n < 0) {
        free(dst);
        if (n == UTF8PROC_ERROR_NOMEM)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory normalizing text");
        return hxq_err(err, HXQ_ERR_INVALID, "cannot normalize text: %s", utf8proc_errmsg(n));
    }
    *out = (char *)dst;
    *out_len = (size_t)n;
    return HXQ_OK;
}
