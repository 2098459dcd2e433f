/* serve_buf.c - a growable byte string for request bodies, response
 * bodies and stream frames; failures are sticky, checked once at the end. */
#include "serve_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(serve_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->n + extra + 1 <= b->cap)
        return 0;
    if (extra > SIZE_MAX / 4 - b->n) {
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void serve_buf_put(serve_buf *b, const void *p, size_t n)
{
    if (grow(b, n) < 0)
        return;
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void serve_buf_puts(serve_buf *b, const char *s)
{
    serve_buf_put(b, s, strlen(s));
}

void serve_buf_printf(serve_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || grow(b, (size_t)k) < 0) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

void serve_buf_json_str(serve_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    serve_buf_put(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4],
            u[5] = hex[c & 15], u[6] = '\0';
            esc = u;
        }
        if (!esc)
            continue;
        serve_buf_put(b, s + run, i - run);
        serve_buf_puts(b, esc);
        run = i + 1;
    }
    serve_buf_put(b, s + run, n - run);
    serve_buf_put(b, "\"", 1);
}

void serve_buf_consume(serve_buf *b, size_t n)
{
    if (n >= b->n) {
        b->n = 0;
    } else {
        memmove(b->p, b->p + n, b->n - n);
        b->n -= n;
    }
    if (b->p)
        b->p[b->n] = '\0';
}

char *serve_buf_take(serve_buf *b, size_t *len)
{
    serve_buf_put(b, "", 0);
    char *p = b->failed ? NULL : b->p;
    if (len)
        *len = p ? b->n : 0;
    if (!p)
        free(b->p);
    memset(b, 0, sizeof(*b));
    return p;
}

void serve_buf_free(serve_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}
