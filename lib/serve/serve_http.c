/* serve_http.c - the libmicrohttpd side: routing, limits, authentication,
 * request bodies, responses and event streams, the access log.
 *
 * A generation request is validated and tokenized on the HTTP thread that
 * received it, then queued for the scheduler. A plain response suspends
 * its connection until the job is done; a stream answers 200 at once and
 * its content reader suspends the connection whenever it has sent all the
 * text there is, to be resumed by the scheduler when there is more. The
 * lock order is: the server lock, then the library's own (suspending
 * happens under the server lock, so a job never looks suspended before it
 * is; resuming happens after releasing it). */
#include "serve_int.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HTTP_THREADS 2
#define HTTP_MEMORY_LIMIT (64 * 1024) /* per connection: request headers      */
#define STREAM_BLOCK (16 * 1024)
#define DRAIN_FACTOR 16 /* bodies up to 16 x the limit are read to answer 413 */

typedef enum {
    ROUTE_NONE = 0,
    ROUTE_HEALTH,
    ROUTE_MODELS,
    ROUTE_MODEL,
    ROUTE_CHAT,
    ROUTE_COMPLETIONS
} route;

/* One HTTP request (the library's per-request context). */
typedef struct serve_req {
    hxq_server *s;
    serve_conn *conn;        /* the connection's (outlives the request)   */
    char method[12], path[96], peer[64];
    route rt;
    int status;              /* what was answered, for the log            */
    serve_buf body;
    size_t discarded;        /* bytes beyond the limit (chunked uploads)  */
    double t0;
    serve_job *job;          /* a reference                               */
} serve_req;

/* ---- responses ------------------------------------------------------------- */

static enum MHD_Result respond(serve_req *r, struct MHD_Connection *c, int status,
                               serve_buf *body, const char *ctype)
{
    size_t len;
    char *p = serve_buf_take(body, &len);
    if (!p)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, p, free);
    if (!resp) {
        free(p);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                r->rt == ROUTE_CHAT || r->rt == ROUTE_COMPLETIONS ? "POST" : "GET");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ok;
}

static enum MHD_Result respond_error(serve_req *r, struct MHD_Connection *c,
                                     const serve_error *e)
{
    serve_buf b = {0};
    serve_json_error(&b, e);
    return respond(r, c, e->status, &b, "application/json");
}

static enum MHD_Result fail(serve_req *r, struct MHD_Connection *c, int status,
                            const char *type, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum MHD_Result fail(serve_req *r, struct MHD_Connection *c, int status,
                            const char *type, const char *code, const char *fmt, ...)
{
    serve_error e;
    serve_fail(&e, status, type, code, NULL, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    va_end(ap);
    return respond_error(r, c, &e);
}

static serve_result result_of(const serve_job *j, const char *finish, int64_t n_generated)
{
    serve_result res = {j->kind, j->id, j->created, j->srv->model_id, finish, j->n_prompt,
                        n_generated};
    return res;
}

/* ---- event streams ------------------------------------------------------------ */

/* Formats what the job has produced since the last call into j->wire. */
static void stream_fill(serve_job *j)
{
    hxq_server *s = j->srv;
    pthread_mutex_lock(&s->lock);
    serve_buf text = j->pending;
    memset(&j->pending, 0, sizeof(j->pending));
    int done = j->done;
    const char *finish = j->finish;
    serve_error fail = j->fail;
    int64_t n_gen = j->n_generated;
    pthread_mutex_unlock(&s->lock);

    serve_result res = result_of(j, NULL, n_gen);
    if (!j->sent_first && j->kind == SERVE_CHAT)
        serve_sse_chunk(&j->wire, &res, 1, "", 0);
    j->sent_first = 1;
    if (text.n)
        serve_sse_chunk(&j->wire, &res, 0, text.p, text.n);
    serve_buf_free(&text);
    if (!done)
        return;
    if (fail.status) {
        serve_sse_error(&j->wire, &fail);
    } else {
        res.finish = finish;
        serve_sse_chunk(&j->wire, &res, 0, "", 0);
        if (j->include_usage)
            serve_sse_usage(&j->wire, &res);
    }
    serve_sse_done(&j->wire);
    j->sent_end = 1;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    serve_job *j = cls;
    hxq_server *s = j->srv;
    while (j->wire.n == 0) {
        if (j->sent_end)
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&s->lock);
        int cancelled = j->cancelled, ready = j->done || j->pending.n > 0;
        if (!cancelled && !ready) {
            /* nothing to send: wait for the scheduler (it resumes us) */
            j->suspended = 1;
            MHD_suspend_connection(j->http);
        }
        pthread_mutex_unlock(&s->lock);
        if (cancelled)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (!ready)
            return 0;
        stream_fill(j);
        if (j->wire.failed)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = j->wire.n < max ? j->wire.n : max;
    memcpy(buf, j->wire.p, n);
    serve_buf_consume(&j->wire, n);
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    serve_job *j = cls;
    hxq_server *s = j->srv;
    pthread_mutex_lock(&s->lock);
    serve_job_release(s, j);
    pthread_mutex_unlock(&s->lock);
}

/* ---- generation requests ------------------------------------------------------ */

/* The whole body has arrived: validate, tokenize, queue. */
static enum MHD_Result start_job(serve_req *r, struct MHD_Connection *c)
{
    hxq_server *s = r->s;
    serve_request req;
    serve_error e;
    serve_kind kind = r->rt == ROUTE_CHAT ? SERVE_CHAT : SERVE_COMPLETION;
    if (serve_request_parse(kind, r->body.p ? r->body.p : "", r->body.n, &req, &e) < 0)
        return respond_error(r, c, &e);
    serve_buf_free(&r->body);
    serve_job *j = serve_job_create(s, &req, &e);
    serve_request_free(&req);
    if (!j)
        return respond_error(r, c, &e);
    struct MHD_Response *resp = NULL;
    if (j->stream) {
        j->refs++; /* the response's, dropped by stream_free */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, j,
                                                 stream_free);
        if (!resp)
            j->refs--;
    }
    int no_resp = j->stream && !resp;
    pthread_mutex_lock(&s->lock);
    if (s->stopping || no_resp) {
        pthread_mutex_unlock(&s->lock);
        if (resp)
            MHD_destroy_response(resp);
        pthread_mutex_lock(&s->lock);
        serve_job_release(s, j);
        pthread_mutex_unlock(&s->lock);
        return no_resp ? MHD_NO
                       : fail(r, c, 503, "server_error", NULL, "the server is shutting down");
    }
    j->conn = r->conn;
    r->conn->refs++;
    j->http = c;
    r->job = j;
    serve_sched_submit(s, j);
    if (!resp) {
        j->suspended = 1;
        MHD_suspend_connection(c);
    }
    pthread_mutex_unlock(&s->lock);
    if (!resp)
        return MHD_YES;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    r->status = 200;
    return ok;
}

/* The connection was resumed: the job is done (a plain response). */
static enum MHD_Result finish_job(serve_req *r, struct MHD_Connection *c)
{
    hxq_server *s = r->s;
    serve_job *j = r->job;
    pthread_mutex_lock(&s->lock);
    if (j->cancelled) {
        pthread_mutex_unlock(&s->lock);
        return MHD_NO;
    }
    if (!j->done) {
        j->suspended = 1;
        MHD_suspend_connection(c);
        pthread_mutex_unlock(&s->lock);
        return MHD_YES;
    }
    serve_buf text = j->pending;
    memset(&j->pending, 0, sizeof(j->pending));
    serve_error e = j->fail;
    serve_result res = result_of(j, j->finish, j->n_generated);
    pthread_mutex_unlock(&s->lock);
    if (e.status) {
        serve_buf_free(&text);
        return respond_error(r, c, &e);
    }
    serve_buf b = {0};
    serve_json_response(&b, &res, text.p ? text.p : "", text.n);
    serve_buf_free(&text);
    return respond(r, c, 200, &b, "application/json");
}

static enum MHD_Result too_large(serve_req *r, struct MHD_Connection *c)
{
    return fail(r, c, 413, "invalid_request_error", "request_too_large",
                "the request body is larger than the limit of %zu bytes", r->s->o.max_body);
}

/* ---- routing ---------------------------------------------------------------------- */

static route route_of(const char *path)
{
    if (!strcmp(path, "/health"))
        return ROUTE_HEALTH;
    if (!strcmp(path, "/v1/models"))
        return ROUTE_MODELS;
    if (!strncmp(path, "/v1/models/", 11))
        return ROUTE_MODEL;
    if (!strcmp(path, "/v1/chat/completions"))
        return ROUTE_CHAT;
    if (!strcmp(path, "/v1/completions"))
        return ROUTE_COMPLETIONS;
    return ROUTE_NONE;
}

static enum MHD_Result answer_get(serve_req *r, struct MHD_Connection *c, const char *url)
{
    hxq_server *s = r->s;
    serve_buf b = {0};
    if (r->rt == ROUTE_HEALTH) {
        pthread_mutex_lock(&s->lock);
        int busy = s->n_busy, queued = s->n_queued;
        pthread_mutex_unlock(&s->lock);
        serve_buf_printf(&b, "{\"status\":\"ok\",\"slots\":%d,\"slots_busy\":%d,\"queued\":%d}\n",
                         s->n_slots, busy, queued);
    } else if (r->rt == ROUTE_MODELS) {
        serve_json_models(&b, s->model_id, s->created);
    } else {
        if (strcmp(url + 11, s->model_id))
            return fail(r, c, 404, "invalid_request_error", "model_not_found",
                        "the model '%.200s' does not exist (this server has '%s')", url + 11,
                        s->model_id);
        serve_json_model(&b, s->model_id, s->created);
        serve_buf_puts(&b, "\n");
    }
    return respond(r, c, 200, &b, "application/json");
}

static int is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct || strncasecmp(ct, want, sizeof(want) - 1))
        return 0;
    char next = ct[sizeof(want) - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* The first call for a request: its headers are in. */
static enum MHD_Result begin(serve_req *r, struct MHD_Connection *c, const char *url,
                             const char *method)
{
    hxq_server *s = r->s;
    if (!r->conn)
        return fail(r, c, 503, "server_error", NULL, "the server cannot take connections now");
    r->rt = route_of(url);
    if (r->rt == ROUTE_NONE)
        return fail(r, c, 404, "invalid_request_error", "unknown_url", "invalid URL (%s %.200s)",
                    method, url);
    int post = r->rt == ROUTE_CHAT || r->rt == ROUTE_COMPLETIONS;
    if (strcmp(method, post ? "POST" : "GET"))
        return fail(r, c, 405, "invalid_request_error", "method_not_allowed",
                    "%s is not allowed on %s (use %s)", method, url, post ? "POST" : "GET");
    if (s->api_key && r->rt != ROUTE_HEALTH &&
        !serve_auth_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION),
                       s->api_key))
        return fail(r, c, 401, "invalid_request_error", "invalid_api_key",
                    "incorrect or missing API key: send 'Authorization: Bearer KEY'");
    if (!post)
        return answer_get(r, c, url);
    if (!is_json_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_TYPE)))
        return fail(r, c, 415, "invalid_request_error", "unsupported_media_type",
                    "the request body must be JSON (Content-Type: application/json)");
    /* a body somewhat over the limit is read and dropped, so the client
     * (still sending) gets the 413 instead of a reset connection; a far
     * larger one is refused at once and the connection closed */
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > DRAIN_FACTOR * s->o.max_body)
        return too_large(r, c);
    return MHD_YES;
}

static void peer_name(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *a = ci->client_addr;
    if (a->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)a)->sin_addr, out,
                  (socklen_t)n);
    else if (a->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr, out,
                  (socklen_t)n);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **ctx)
{
    (void)version;
    hxq_server *s = cls;
    serve_req *r = *ctx;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r))))
            return MHD_NO;
        *ctx = r;
        r->s = s;
        r->t0 = hxq_now();
        snprintf(r->method, sizeof(r->method), "%s", method);
        snprintf(r->path, sizeof(r->path), "%s", url);
        peer_name(c, r->peer, sizeof(r->peer));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->conn = ci ? ci->socket_context : NULL;
        return begin(r, c, url, method);
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->discarded || r->body.n + n > s->o.max_body) {
            r->discarded += r->body.n + n;
            serve_buf_free(&r->body);
            return r->discarded > DRAIN_FACTOR * s->o.max_body ? MHD_NO : MHD_YES;
        }
        serve_buf_put(&r->body, upload, n);
        return r->body.failed ? MHD_NO : MHD_YES;
    }
    if (r->job)
        return finish_job(r, c);
    pthread_mutex_lock(&s->lock);
    r->conn->receiving = 0; /* the request is in: generation time does not count */
    pthread_mutex_unlock(&s->lock);
    if (r->discarded)
        return too_large(r, c);
    return start_job(r, c);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    hxq_server *s = cls;
    serve_req *r = *ctx;
    if (!r)
        return;
    *ctx = NULL;
    char tokens[80] = "";
    pthread_mutex_lock(&s->lock);
    if (r->conn) {
        r->conn->receiving = 1;
        r->conn->since = hxq_now();
    }
    serve_job *j = r->job;
    if (j) {
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !j->done) {
            j->cancelled = 1;
            pthread_cond_signal(&s->wake);
        }
        const char *end = j->cancelled ? "client gone" : j->fail.status ? "error" : j->finish;
        snprintf(tokens, sizeof(tokens), " %lld+%lld tokens %s", (long long)j->n_prompt,
                 (long long)j->n_generated, end ? end : "unfinished");
        j->http = NULL;
        serve_job_release(s, j);
    }
    pthread_mutex_unlock(&s->lock);
    char status[8] = "-";
    if (r->status)
        snprintf(status, sizeof(status), "%d", r->status);
    serve_log(s, "%s \"%s %s\" %s %.3f s%s%s", r->peer, r->method, r->path, status,
              hxq_now() - r->t0, tokens,
              toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection cut)");
    serve_buf_free(&r->body);
    free(r);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    hxq_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_ctx = ci ? serve_conn_open(s, ci->connect_fd) : NULL;
    } else if (*socket_ctx) {
        pthread_mutex_lock(&s->lock);
        serve_conn_release(s, *socket_ctx);
        pthread_mutex_unlock(&s->lock);
        *socket_ctx = NULL;
    }
}

static void on_library_log(void *cls, const char *fmt, va_list ap)
{
    hxq_server *s = cls;
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    pthread_mutex_lock(&s->log_lock);
    memcpy(s->last_log, line, n + 1);
    pthread_mutex_unlock(&s->log_lock);
    serve_log(s, "http: %s", line);
}

/* ---- daemon --------------------------------------------------------------------- */

int serve_http_start(hxq_server *s, hxq_error *err)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof(port), "%d", s->o.port);
    int g = getaddrinfo(s->host, port, &hints, &ai);
    if (g != 0 || !ai)
        return hxq_err(err, HXQ_ERR_INVALID, "host '%s': %s", s->host, gai_strerror(g));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->http = MHD_start_daemon(
        flags, (uint16_t)s->o.port, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_library_log, s, /* first, to catch every message */
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->o.max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->http) {
        pthread_mutex_lock(&s->log_lock);
        hxq_err(err, HXQ_ERR_IO, "cannot listen on %s:%d: %s", s->host, s->o.port,
                s->last_log[0] ? s->last_log : "the HTTP server did not start");
        pthread_mutex_unlock(&s->log_lock);
        return HXQ_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->http, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->o.port;
    return HXQ_OK;
}

void serve_http_quiesce(hxq_server *s)
{
    if (!s->http)
        return;
    int fd = MHD_quiesce_daemon(s->http);
    s->listen_fd = fd;
}

void serve_http_stop(hxq_server *s)
{
    if (!s->http)
        return;
    MHD_stop_daemon(s->http);
    s->http = NULL;
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
}

void serve_http_resume(struct MHD_Connection **conns, int n)
{
    for (int i = 0; i < n; i++)
        MHD_resume_connection(conns[i]);
}
