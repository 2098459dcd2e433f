/* serve_job.c - connections (our view of each TCP connection, the
 * watchdog that times out slow requests) and generation jobs (prompt ids
 * from a validated request, references, ending). */
#include "serve_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void serve_log(hxq_server *s, const char *fmt, ...)
{
    if (!s->o.log)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    s->o.log(s->o.log_ctx, line);
}

/* ---- connections ------------------------------------------------------------ */

serve_conn *serve_conn_open(hxq_server *s, int fd)
{
    serve_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (c->fd < 0) {
        free(c);
        return NULL;
    }
    c->refs = 1;
    c->receiving = 1;
    c->since = hxq_now();
    pthread_mutex_lock(&s->lock);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    pthread_mutex_unlock(&s->lock);
    return c;
}

void serve_conn_release(hxq_server *s, serve_conn *c)
{
    if (!c || --c->refs > 0)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);
    free(c);
}

int serve_conn_peer_gone(const serve_conn *c)
{
    char b;
    ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r > 0)
        return 0; /* data waiting (a pipelined request): still there */
    if (r == 0)
        return 1; /* orderly close */
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* Slow-loris defence: a connection gets `timeout` seconds for each request
 * to arrive whole (headers and body), counted from its accept or from the
 * end of its previous response, however slowly the bytes trickle in. The
 * HTTP library's own timeout only covers silence. Shutting our dup down
 * makes the library see end-of-file and close the connection itself. */
void *serve_watchdog_main(void *arg)
{
    hxq_server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 250 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->tick, &s->lock, &ts);
        double now = hxq_now();
        int n_shut = 0;
        for (serve_conn *c = s->conns; c; c = c->next)
            if (c->receiving && !c->shut && now - c->since > s->o.timeout_s) {
                shutdown(c->fd, SHUT_RDWR);
                c->shut = 1;
                n_shut++;
            }
        if (n_shut)
            serve_log(s, "closed %d connection%s: no whole request within %d s", n_shut,
                      n_shut > 1 ? "s" : "", s->o.timeout_s);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- jobs ------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The prompt's ids; 400 for what the client can fix. */
static int prompt_ids(hxq_server *s, serve_request *r, serve_job *j, serve_error *e)
{
    hxq_error err = {0};
    int rc;
    const char *param = r->kind == SERVE_CHAT ? "messages" : "prompt";
    if (r->kind == SERVE_CHAT)
        rc = hxq_tokenizer_encode_chat(s->tok, r->msgs, r->n_msgs, &j->ids, &j->n_prompt, &err);
    else if (r->prompt)
        rc = hxq_tokenizer_encode_prompt(s->tok, r->prompt, r->prompt_len, &j->ids, &j->n_prompt,
                                         &err);
    else {
        for (int64_t i = 0; i < r->n_prompt_ids; i++)
            if (r->prompt_ids[i] >= s->model.vocab) {
                char p[32];
                snprintf(p, sizeof(p), "prompt[%lld]", (long long)i);
                return serve_bad(e, p, "'%s' %d is not a token id (the vocabulary has %lld)", p,
                                 (int)r->prompt_ids[i], (long long)s->model.vocab);
            }
        j->ids = r->prompt_ids;
        j->n_prompt = r->n_prompt_ids;
        r->prompt_ids = NULL;
        r->n_prompt_ids = 0;
        rc = HXQ_OK;
    }
    if (rc == HXQ_ERR_NOMEM)
        return serve_fail(e, 500, "server_error", NULL, NULL, "%s", err.msg);
    if (rc == HXQ_ERR_UNSUPPORTED) /* err.msg names the server's files: not for the client */
        return serve_bad(e, param, "this model has no chat template hxq can render; send a "
                         "formatted prompt to /v1/completions");
    if (rc < 0) { /* a template's own error (raise_exception ...): from its line on, no path */
        const char *t = r->kind == SERVE_CHAT ? strstr(err.msg, "chat_template: ") : NULL;
        return serve_bad(e, param, "%s", t ? t : err.msg);
    }
    if (j->n_prompt >= s->max_ctx)
        return serve_fail(e, 400, "invalid_request_error", "context_length_exceeded", param,
                          "the prompt has %lld tokens; this server's context holds %lld "
                          "(prompt and completion together)",
                          (long long)j->n_prompt, (long long)s->max_ctx);
    return 0;
}

serve_job *serve_job_create(hxq_server *s, serve_request *r, serve_error *e)
{
    serve_job *j = calloc(1, sizeof(*j));
    if (!j) {
        serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    j->srv = s;
    j->refs = 1;
    if (prompt_ids(s, r, j, e) < 0) {
        free(j->ids);
        free(j);
        return NULL;
    }
    j->kind = r->kind;
    j->stream = r->stream;
    j->include_usage = r->stream && r->include_usage;
    int64_t room = s->max_ctx - j->n_prompt;
    j->max_tokens = r->max_tokens > 0 && r->max_tokens < room ? r->max_tokens : room;
    j->so = r->so;
    for (int i = 0; i < r->n_stop; i++)
        j->stop[i] = r->stop[i];
    j->n_stop = r->n_stop;
    r->n_stop = 0;
    j->created = (int64_t)time(NULL);
    pthread_mutex_lock(&s->lock);
    s->n_jobs++;
    uint64_t tag = splitmix64(&s->id_state);
    if (!r->has_seed)
        j->so.seed = splitmix64(&s->id_state);
    pthread_mutex_unlock(&s->lock);
    snprintf(j->id, sizeof(j->id), "%s-%016llx", j->kind == SERVE_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)tag);
    return j;
}

void serve_job_release(hxq_server *s, serve_job *j)
{
    if (!j || --j->refs > 0)
        return;
    serve_conn_release(s, j->conn);
    free(j->ids);
    for (int i = 0; i < j->n_stop; i++)
        free(j->stop[i]);
    serve_buf_free(&j->pending);
    serve_buf_free(&j->wire);
    free(j);
    s->n_jobs--;
}

void serve_job_end(serve_job *j, const serve_error *fail, struct MHD_Connection **resume,
                   int *n_resume)
{
    j->done = 1;
    if (fail && !j->fail.status)
        j->fail = *fail;
    if (j->suspended) {
        j->suspended = 0;
        resume[(*n_resume)++] = j->http;
    }
}
