/*
 * hxq_serve.h - an OpenAI-compatible HTTP server for one loaded model:
 * the serve module's public header (`hxq serve`, docs/SERVE.md).
 *
 * Endpoints: POST /v1/chat/completions (messages through the model's chat
 * template), POST /v1/completions (a raw prompt), GET /v1/models,
 * GET /v1/models/{id}, GET /health. Responses, server-sent event streams
 * (ending "data: [DONE]") and errors ({"error": {"message", "type",
 * "param", "code"}}) have OpenAI's shapes, so its client libraries work
 * unchanged.
 *
 * Inside: libmicrohttpd parses HTTP on its own threads; requests are
 * validated, rendered and tokenized there, then queued. One scheduler
 * thread owns the engine and `parallel` slots (one engine sequence each):
 * it prefills an admitted request alone (in the engine's batches, exactly
 * as `hxq run` feeds a prompt), then advances every active slot by one
 * token with one forward over all of them, sampling each slot with its
 * own sampler. A decode step over several sequences is bit-identical to
 * running each alone, so greedy output does not depend on the load. A
 * client that disconnects frees its slot at the next step.
 *
 * Depends on: common, io, tokenizer, infer; libmicrohttpd, cJSON, OpenSSL
 * (constant-time key comparison). Thread-safety: one server object is
 * driven by one thread (create / port / free); it runs its own threads.
 */
#ifndef HXQ_SERVE_H
#define HXQ_SERVE_H

#include "hxq_common.h"
#include "hxq_infer.h"

#include <stddef.h>
#include <stdint.h>

/* Receives one log line (no newline): an access-log line per request,
 * HTTP library errors. Called from the server's threads, possibly at once:
 * it must be thread-safe. */
typedef void (*hxq_serve_log_fn)(void *ctx, const char *line);

typedef struct hxq_serve_opts {
    const char *host;        /* address or name to bind; NULL: 127.0.0.1    */
    int port;                /* 0: any free port (see hxq_serve_port)      */
    int parallel;            /* slots decoding together; <= 0: 1           */
    int threads;             /* engine CPU threads; <= 0: all              */
    int64_t ctx;             /* context per slot; <= 0: the model's maximum */
    hxq_device device;
    const char *api_key;     /* NULL: no authentication                    */
    const char *model_id;    /* name in /v1/models; NULL: the folder's name */
    size_t max_body;         /* request body limit; 0: 1 MiB               */
    int timeout_s;           /* idle / request-arrival limit; <= 0: 30 s   */
    int max_connections;     /* <= 0: 64                                   */
    hxq_serve_log_fn log;    /* NULL: no logging                           */
    void *log_ctx;
} hxq_serve_opts;

typedef struct hxq_server hxq_server;

/*! hxq_serve_opts_default() : 127.0.0.1:8080, one slot, all CPU
 *  threads, the model's context, CPU, no key, 1 MiB bodies, 30 s timeout,
 *  64 connections, no log. */
hxq_serve_opts hxq_serve_opts_default(void);

/*! hxq_serve_start() :
 *  Loads the model folder `model_dir` (hxq_model_load, its tokenizer), creates
 *  an engine with `parallel` sequences of `ctx` tokens, binds host:port
 *  and starts serving (HTTP threads, the scheduler, a connection
 *  watchdog). Returns once requests are accepted.
 *  @return HXQ_OK; HXQ_ERR_INVALID (bad options: parallel too large for
 *  the engine, an empty api key, a host that does not resolve);
 *  HXQ_ERR_IO (the address cannot be bound: the message says why);
 *  the loaders' and the engine's errors. *out is set only on success. */
int hxq_serve_start(const char *model_dir, const hxq_serve_opts *opts, hxq_server **out,
                    hxq_error *err);

/*! hxq_serve_port() : the bound TCP port (the chosen one for port 0). */
int hxq_serve_port(const hxq_server *s);

/*! hxq_serve_model_id() : the name the server gives its model. */
const char *hxq_serve_model_id(const hxq_server *s);

/*! hxq_serve_stop() :
 *  Stops accepting requests, ends running and queued generations (their
 *  clients get a 503 or, in a stream, an error event and "[DONE]"),
 *  closes every connection, joins the threads and frees everything.
 *  NULL is a no-op. */
void hxq_serve_stop(hxq_server *s);

#endif /* HXQ_SERVE_H */
