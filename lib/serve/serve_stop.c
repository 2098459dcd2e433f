/* serve_stop.c - stop strings over streamed text.
 *
 * Text arrives in pieces (one token's worth). A stop string may span
 * pieces, so the end of the text that could still be the beginning of one
 * is held back: after each piece everything is released except the
 * longest suffix that is a proper prefix of some stop string. Any match
 * therefore starts inside the held text, and released text never holds a
 * stop string or a piece of one that then completes. Stop strings and the
 * text are valid UTF-8, so a suffix equal to a prefix of a stop string
 * starts on a character boundary: released pieces stay valid UTF-8. */
#include "serve_int.h"

#include <string.h>

void serve_stop_init(serve_stop *s, char *const *stops, int n_stop)
{
    memset(s, 0, sizeof(*s));
    s->stops = stops;
    s->n_stop = n_stop;
}

/* First position of needle in hay, or -1 (the text may hold NUL bytes). */
static ptrdiff_t find(const char *hay, size_t n, const char *needle, size_t k)
{
    if (k == 0 || k > n)
        return -1;
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, k))
            return (ptrdiff_t)i;
    return -1;
}

int serve_stop_feed(serve_stop *s, const char *text, size_t len, serve_buf *out)
{
    if (s->n_stop == 0) {
        serve_buf_put(out, text, len);
        return 0;
    }
    serve_buf_put(&s->held, text, len);
    if (s->held.failed) {
        out->failed = 1;
        return 0;
    }
    const char *h = s->held.p ? s->held.p : "";
    size_t n = s->held.n;
    ptrdiff_t first = -1;
    for (int i = 0; i < s->n_stop; i++) {
        ptrdiff_t at = find(h, n, s->stops[i], strlen(s->stops[i]));
        if (at >= 0 && (first < 0 || at < first))
            first = at;
    }
    if (first >= 0) {
        serve_buf_put(out, h, (size_t)first);
        serve_buf_free(&s->held);
        return 1;
    }
    size_t keep = 0;
    for (int i = 0; i < s->n_stop; i++) {
        size_t k = strlen(s->stops[i]);
        for (size_t m = (k - 1 < n ? k - 1 : n); m > keep; m--)
            if (!memcmp(h + n - m, s->stops[i], m)) {
                keep = m;
                break;
            }
    }
    serve_buf_put(out, h, n - keep);
    serve_buf_consume(&s->held, n - keep);
    return 0;
}

void serve_stop_finish(serve_stop *s, serve_buf *out)
{
    if (s->held.n)
        serve_buf_put(out, s->held.p, s->held.n);
    serve_buf_free(&s->held);
}

void serve_stop_free(serve_stop *s)
{
    serve_buf_free(&s->held);
}
