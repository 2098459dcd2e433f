/* serve_int.h - private to the serve module: byte buffers, request
 * parsing, stop strings, OpenAI's JSON shapes, key checks, jobs, the
 * scheduler, the HTTP glue and the server object. */
#ifndef HXQ_SERVE_INT_H
#define HXQ_SERVE_INT_H

#include "hxq_serve.h"
#include "hxq_tokenizer.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SERVE_MAX_STOP 4          /* stop strings per request, as OpenAI  */
#define SERVE_STOP_MAX_BYTES 256  /* longest stop string                  */
#define SERVE_PREFILL_CHUNK 512   /* prompt tokens per forward: the engine's
                                     default max_batch, as `hxq run` feeds */

/* ---- byte buffer (serve_buf.c) --------------------------------------------- */

/* A growable byte string; p is NUL-terminated whenever n > 0 or after
 * any put. Zero-initialised is empty. */
typedef struct serve_buf {
    char *p;
    size_t n, cap;
    int failed;              /* an allocation failed: contents incomplete */
} serve_buf;

void serve_buf_put(serve_buf *b, const void *p, size_t n);
void serve_buf_puts(serve_buf *b, const char *s);
void serve_buf_printf(serve_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[0..n) as a JSON string literal (quotes, escapes, \u0000 for NUL). */
void serve_buf_json_str(serve_buf *b, const char *s, size_t n);
/* Drops the first n bytes. */
void serve_buf_consume(serve_buf *b, size_t n);
/* Hands the contents over (malloc'd, NUL-terminated; "" when empty) and
 * empties b; NULL when an allocation failed. */
char *serve_buf_take(serve_buf *b, size_t *len);
void serve_buf_free(serve_buf *b);

/* ---- errors as OpenAI shapes them ------------------------------------------ */

typedef struct serve_error {
    int status;              /* HTTP status                                */
    const char *type;        /* "invalid_request_error", "server_error" ... */
    const char *code;        /* NULL or "invalid_api_key", ...             */
    char param[96];          /* the request field at fault; "" for none    */
    char message[512];
} serve_error;

/* Fills *e and returns -1. param may be NULL. */
int serve_fail(serve_error *e, int status, const char *type, const char *code,
               const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* 400 invalid_request_error naming param (the common case). */
#define serve_bad(e, param, ...) serve_fail(e, 400, "invalid_request_error", NULL, param, __VA_ARGS__)

/* ---- requests (serve_request.c) -------------------------------------------- */

typedef enum { SERVE_CHAT = 0, SERVE_COMPLETION = 1 } serve_kind;

/* A validated request body. Strings are owned, valid UTF-8. */
typedef struct serve_request {
    serve_kind kind;
    hxq_chat_msg *msgs;      /* chat: roles are static strings          */
    int64_t n_msgs;
    char *prompt;            /* completion text, or NULL when ids are given */
    size_t prompt_len;
    int32_t *prompt_ids;     /* completion given as token ids             */
    int64_t n_prompt_ids;
    int64_t max_tokens;      /* 0: not given (the context's remainder)    */
    hxq_sampler_opts so;
    int has_seed;
    char *stop[SERVE_MAX_STOP];
    int n_stop;
    int stream, include_usage;
} serve_request;

/*! serve_request_parse() : body[0..len) as a chat or completion request.
 *  Wrong JSON, wrong types, out-of-range values and unsupported features
 *  fail with a 400 naming the field (e->param). @return 0 or -1. On
 *  failure *r is empty (nothing to free). */
int serve_request_parse(serve_kind kind, const char *body, size_t len, serve_request *r,
                        serve_error *e);
void serve_request_free(serve_request *r);

/* ---- stop strings (serve_stop.c) --------------------------------------------- */

/* Releases generated text except a suffix that could still begin a stop
 * string, and cuts the text where a stop string appears (OpenAI: the stop
 * string itself is not returned). */
typedef struct serve_stop {
    char *const *stops;      /* borrowed, n_stop non-empty strings        */
    int n_stop;
    serve_buf held;          /* text not released yet                     */
} serve_stop;

void serve_stop_init(serve_stop *s, char *const *stops, int n_stop);
/* Appends text; the releasable part goes to out. @return 1 when a stop
 * string matched (out ends just before it; feed nothing more), else 0. */
int serve_stop_feed(serve_stop *s, const char *text, size_t len, serve_buf *out);
/* The generation ended: releases the held text to out, and empties s. */
void serve_stop_finish(serve_stop *s, serve_buf *out);
void serve_stop_free(serve_stop *s);

/* ---- response shapes (serve_openai.c) ------------------------------------------ */

/* What a response says besides its text. */
typedef struct serve_result {
    serve_kind kind;
    const char *id;          /* "chatcmpl-..." / "cmpl-..."               */
    int64_t created;         /* unix seconds                              */
    const char *model;
    const char *finish;      /* "stop", "length" or NULL (not yet)        */
    int64_t prompt_tokens, completion_tokens;
} serve_result;

/* {"error": {...}} */
void serve_json_error(serve_buf *b, const serve_error *e);
/* A whole chat.completion / text_completion object. */
void serve_json_response(serve_buf *b, const serve_result *r, const char *text, size_t len);
/* One stream event "data: {chunk}\n\n": a chat.completion.chunk (delta:
 * the role when first, else the text; finish_reason when r->finish) or a
 * text_completion chunk. */
void serve_sse_chunk(serve_buf *b, const serve_result *r, int first, const char *text,
                     size_t len);
/* The include_usage event: choices [] and the usage object. */
void serve_sse_usage(serve_buf *b, const serve_result *r);
/* "data: {error}\n\n" */
void serve_sse_error(serve_buf *b, const serve_error *e);
/* "data: [DONE]\n\n" */
void serve_sse_done(serve_buf *b);
/* GET /v1/models and /v1/models/{id}. */
void serve_json_models(serve_buf *b, const char *model, int64_t created);
void serve_json_model(serve_buf *b, const char *model, int64_t created);

/* ---- keys (serve_auth.c) ------------------------------------------------------ */

/*! serve_auth_ok() : 1 when the Authorization header value is
 *  "Bearer <key>" (scheme case-insensitive). The key comparison takes the
 *  same time wherever the two differ (SHA-256 of both, CRYPTO_memcmp). */
int serve_auth_ok(const char *header, const char *key);

/* ---- connections and jobs (serve_job.c) --------------------------------------- */

/* One TCP connection, known from accept to close. The fd is our dup of
 * the socket, so the scheduler can ask whether the peer has gone and the
 * watchdog can shut a slow client down without racing the HTTP library's
 * own close. Fields under the server lock. */
typedef struct serve_conn {
    int fd;
    int refs;                /* the HTTP library's + each job's           */
    int receiving;           /* waiting for a request to arrive whole     */
    double since;            /* when it began waiting                     */
    int shut;                /* the watchdog shut it down                 */
    struct serve_conn *prev, *next;
} serve_conn;

/* One generation request, from the HTTP thread that validated it to the
 * scheduler and back. Fields above `refs` are set before it is queued and
 * read-only afterwards; the shared ones are under the server lock; the
 * last group belongs to the HTTP side. */
typedef struct serve_job {
    hxq_server *srv;
    serve_kind kind;
    int stream, include_usage;
    int32_t *ids;            /* the prompt                                */
    int64_t n_prompt;
    int64_t max_tokens;      /* capped by the context                     */
    hxq_sampler_opts so;
    char *stop[SERVE_MAX_STOP];
    int n_stop;
    char id[40];
    int64_t created;
    serve_conn *conn;        /* a reference                               */
    struct MHD_Connection *http;
    /* shared */
    int refs;                /* the HTTP request, a stream response, the scheduler */
    int suspended;           /* its connection waits for the scheduler    */
    int cancelled;           /* the client is gone: stop generating       */
    int done;                /* no more text will come                    */
    const char *finish;      /* "stop" / "length" when done without error */
    serve_error fail;        /* when done with an error (status != 0)     */
    serve_buf pending;       /* text produced, not taken by the HTTP side */
    int64_t n_generated;
    struct serve_job *next;  /* the queue                                 */
    /* HTTP side */
    serve_buf wire;          /* stream bytes not yet handed to the library */
    int sent_first, sent_end;
} serve_job;

/* ---- the server ------------------------------------------------------------- */

typedef struct serve_sched serve_sched;

struct hxq_server {
    hxq_serve_opts o;
    char *model_id, *api_key, *host;
    hxq_model model;
    hxq_tokenizer *tok;
    hxq_engine *engine;
    int64_t max_ctx;         /* tokens per slot                           */
    int n_slots;
    int32_t eos[16];         /* the config's and the tokenizer's eos ids  */
    int n_eos;
    int64_t created;
    uint64_t id_state;       /* response ids                              */

    pthread_mutex_t lock;    /* everything below, and the shared job fields */
    pthread_cond_t wake;     /* the scheduler: a job or a stop            */
    pthread_cond_t tick;     /* the watchdog: a stop                      */
    int stopping;
    serve_job *q_head, *q_tail;
    int n_queued, n_busy;
    int n_jobs;              /* jobs alive (the shutdown waits for 0)      */
    serve_conn *conns;       /* open connections (the watchdog's list)    */

    serve_sched *sched;
    pthread_t sched_thread, watch_thread;
    int sched_started, watch_started;
    struct MHD_Daemon *http;
    int port;
    int listen_fd;           /* after quiescing: ours to close            */
    pthread_mutex_t log_lock; /* the HTTP library's last message (a bind error) */
    char last_log[256];
};

/* Logs a formatted line through opts.log (when set). */
void serve_log(hxq_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* serve_job.c: connections. */
serve_conn *serve_conn_open(hxq_server *s, int fd);   /* dup's fd; NULL on failure */
void serve_conn_release(hxq_server *s, serve_conn *c); /* under the lock */
/* 1 when the peer closed or reset its end (under the lock). */
int serve_conn_peer_gone(const serve_conn *c);
/* The watchdog thread: shuts down connections whose request has not
 * arrived whole within the timeout. */
void *serve_watchdog_main(void *arg);

/* serve_job.c: jobs. */
/*! serve_job_create() : validates the request's prompt against the model
 *  (render, encode, length, ids in range) and makes a job with one
 *  reference (the caller's). @return the job or NULL with *e filled. */
serve_job *serve_job_create(hxq_server *s, serve_request *r, serve_error *e);
/* Drops a reference (under the lock); the last one frees the job. */
void serve_job_release(hxq_server *s, serve_job *j);
/* Marks j done (with fail when not NULL) and, when its connection is
 * suspended, adds it to resume[*n] (under the lock; resume after
 * unlocking with serve_http_resume). */
void serve_job_end(serve_job *j, const serve_error *fail, struct MHD_Connection **resume,
                   int *n_resume);

/* serve_sched.c: the slot scheduler (the engine's only user). */
int serve_sched_create(hxq_server *s, serve_sched **out, hxq_error *err);
void serve_sched_free(serve_sched *sc);
void *serve_sched_main(void *arg);
/* Queues j (takes a reference); under the lock. */
void serve_sched_submit(hxq_server *s, serve_job *j);

/* serve_http.c: the libmicrohttpd daemon. */
int serve_http_start(hxq_server *s, hxq_error *err);
/* Stops accepting connections (the open ones go on). */
void serve_http_quiesce(hxq_server *s);
/* Closes every connection and joins the library's threads. No connection
 * may be suspended any more. */
void serve_http_stop(hxq_server *s);
void serve_http_resume(struct MHD_Connection **conns, int n);

#endif /* HXQ_SERVE_INT_H */
