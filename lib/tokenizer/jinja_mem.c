/* jinja_mem.c - the render's arena, growing byte buffers, error messages
 * and the work budget of the chat-template interpreter. */
#include "jinja_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jinja_block {
    jinja_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define BLOCK_BYTES ((size_t)64 << 10)

void *jinja_alloc(jinja *J, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    jinja_block *b = J->ar.head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK_BYTES / 4 ? n : BLOCK_BYTES;
        if (cap > JINJA_MAX_MEMORY || J->ar.total + cap > JINJA_MAX_MEMORY)
            return NULL;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        J->ar.total += cap;
        b->used = 0;
        b->cap = cap;
        if (cap == BLOCK_BYTES || !J->ar.head) {
            b->next = J->ar.head;
            J->ar.head = b;
        } else { /* a big one: keep filling the current block afterwards */
            b->next = J->ar.head->next;
            J->ar.head->next = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void jinja_arena_free(jinja_arena *a)
{
    while (a->head) {
        jinja_block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
    a->total = 0;
}

int jinja_oom(jinja *J)
{
    if (J->ar.total + BLOCK_BYTES > JINJA_MAX_MEMORY)
        return jinja_fail(J, HXQ_ERR_RANGE, J->line, "the template needs more than %zu MB of "
                          "memory", JINJA_MAX_MEMORY >> 20);
    return jinja_fail(J, HXQ_ERR_NOMEM, J->line, "out of memory");
}

int jinja_fail(jinja *J, int code, int line, const char *fmt, ...)
{
    char msg[HXQ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        return hxq_err(J->err, code, "line %d: %s", line, msg);
    return hxq_err(J->err, code, "%s", msg);
}

int jinja_step(jinja *J, size_t bytes)
{
    J->steps += 1 + (int64_t)(bytes >> 6);
    if (J->steps > JINJA_MAX_STEPS)
        return jinja_fail(J, HXQ_ERR_RANGE, J->line, "the template takes more than %lld "
                          "evaluation steps", (long long)JINJA_MAX_STEPS);
    return HXQ_OK;
}

static int reserve(jinja *J, jbuf *b, size_t extra)
{
    if (extra > JINJA_MAX_OUTPUT || b->n + extra > JINJA_MAX_OUTPUT)
        return jinja_fail(J, HXQ_ERR_RANGE, J->line, "the template's output exceeds %zu MB",
                          JINJA_MAX_OUTPUT >> 20);
    if (b->n + extra <= b->cap)
        return HXQ_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra)
        cap *= 2;
    char *p = jinja_alloc(J, cap);
    if (!p)
        return jinja_oom(J);
    if (b->n)
        memcpy(p, b->p, b->n);
    b->p = p;
    b->cap = cap;
    return HXQ_OK;
}

int jbuf_put(jinja *J, jbuf *b, const char *s, size_t n)
{
    if (!n)
        return HXQ_OK;
    HXQ_TRY(reserve(J, b, n));
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return HXQ_OK;
}

int jbuf_putc(jinja *J, jbuf *b, char c)
{
    return jbuf_put(J, b, &c, 1);
}

int jbuf_printf(jinja *J, jbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (k < 0)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "formatting failed");
    return jbuf_put(J, b, tmp, (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1);
}

jv jbuf_str(const jbuf *b)
{
    return jv_str(b->n ? b->p : "", b->n);
}
