/* serve.c - the server object: options, loading, the threads' start and
 * the orderly stop. */
#include "serve_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_MAX_CONNECTIONS 64
#define MAX_PARALLEL 256
#define STOP_GRACE_S 2.0     /* for the last answers to go out            */

hxq_serve_opts hxq_serve_opts_default(void)
{
    hxq_serve_opts o;
    memset(&o, 0, sizeof(o));
    o.host = "127.0.0.1";
    o.port = 8080;
    o.parallel = 1;
    o.max_body = DEFAULT_MAX_BODY;
    o.timeout_s = DEFAULT_TIMEOUT_S;
    o.max_connections = DEFAULT_MAX_CONNECTIONS;
    return o;
}

/* The folder's last path component ("models/tiny-olmoe/" -> "tiny-olmoe"). */
static char *base_name(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/')
        b--;
    char *out = malloc(n - b + 1);
    if (out) {
        memcpy(out, dir + b, n - b);
        out[n - b] = '\0';
    }
    return out;
}

static int check_opts(hxq_serve_opts *o, hxq_error *err)
{
    hxq_serve_opts d = hxq_serve_opts_default();
    if (!o->host)
        o->host = d.host;
    if (o->parallel <= 0)
        o->parallel = 1;
    if (o->max_body == 0)
        o->max_body = d.max_body;
    if (o->timeout_s <= 0)
        o->timeout_s = d.timeout_s;
    if (o->max_connections <= 0)
        o->max_connections = d.max_connections;
    if (o->port < 0 || o->port > 65535)
        return hxq_err(err, HXQ_ERR_INVALID, "port %d is not in [0, 65535]", o->port);
    if (o->parallel > MAX_PARALLEL)
        return hxq_err(err, HXQ_ERR_INVALID, "parallel %d: at most %d slots", o->parallel,
                       MAX_PARALLEL);
    if (o->api_key) {
        if (!o->api_key[0])
            return hxq_err(err, HXQ_ERR_INVALID, "the API key is empty");
        for (const char *p = o->api_key; *p; p++)
            if (*p <= ' ' || *p == 0x7f)
                return hxq_err(err, HXQ_ERR_INVALID,
                               "the API key holds a space or control character");
    }
    if (o->model_id && !o->model_id[0])
        return hxq_err(err, HXQ_ERR_INVALID, "the model id is empty");
    return HXQ_OK;
}

static void add_eos(hxq_server *s, int64_t id)
{
    if (id < 0 || id > INT32_MAX || s->n_eos == (int)(sizeof(s->eos) / sizeof(s->eos[0])))
        return;
    for (int i = 0; i < s->n_eos; i++)
        if (s->eos[i] == id)
            return;
    s->eos[s->n_eos++] = (int32_t)id;
}

static int load(hxq_server *s, const char *dir, hxq_error *err)
{
    HXQ_TRY(hxq_model_load(dir, &s->model, err));
    HXQ_TRY(hxq_tokenizer_load(dir, &s->tok, err));
    hxq_engine_opts eo = hxq_engine_opts_default();
    eo.device = s->o.device;
    eo.threads = s->o.threads;
    eo.max_ctx = s->o.ctx;
    eo.n_seq = s->o.parallel; /* one sequence per slot */
    HXQ_TRY(hxq_engine_create(&s->model, &eo, &s->engine, err));
    s->max_ctx = hxq_engine_max_ctx(s->engine);
    s->n_slots = s->o.parallel;
    /* generation ends at the config's eos ids (as `hxq run`) and at the
     * tokenizer's eos token (what chat templates end a turn with) */
    for (int i = 0; i < s->model.cfg.n_eos; i++)
        add_eos(s, s->model.cfg.eos_token_ids[i]);
    const int32_t *tok_eos;
    int n = hxq_tokenizer_eos_ids(s->tok, &tok_eos);
    for (int i = 0; i < n; i++)
        add_eos(s, tok_eos[i]);
    return HXQ_OK;
}

static int init_sync(hxq_server *s)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca))
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_mutex_init(&s->lock, NULL) || pthread_mutex_init(&s->log_lock, NULL) ||
             pthread_cond_init(&s->wake, NULL) || pthread_cond_init(&s->tick, &ca);
    pthread_condattr_destroy(&ca);
    return rc ? -1 : 0;
}

int hxq_serve_start(const char *model_dir, const hxq_serve_opts *opts, hxq_server **out,
                    hxq_error *err)
{
    hxq_serve_opts o = opts ? *opts : hxq_serve_opts_default();
    HXQ_TRY(check_opts(&o, err));
    hxq_server *s = calloc(1, sizeof(*s));
    if (!s)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    s->listen_fd = -1;
    if (init_sync(s) < 0) {
        free(s);
        return hxq_err(err, HXQ_ERR_NOMEM, "cannot create the server's locks");
    }
    s->o = o;
    s->created = (int64_t)time(NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->id_state = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
                  ((uint64_t)getpid() << 32);
    s->model_id = o.model_id ? hxq_strdup(o.model_id) : base_name(model_dir);
    s->host = hxq_strdup(o.host);
    s->api_key = o.api_key ? hxq_strdup(o.api_key) : NULL;
    s->o.api_key = NULL;
    s->o.model_id = NULL;
    s->o.host = NULL;
    int rc = s->model_id && s->host && (s->api_key || !o.api_key)
                 ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (rc == HXQ_OK)
        rc = load(s, model_dir, err);
    if (rc == HXQ_OK)
        rc = serve_sched_create(s, &s->sched, err);
    if (rc == HXQ_OK) {
        if (pthread_create(&s->sched_thread, NULL, serve_sched_main, s) == 0)
            s->sched_started = 1;
        if (pthread_create(&s->watch_thread, NULL, serve_watchdog_main, s) == 0)
            s->watch_started = 1;
        if (!s->sched_started || !s->watch_started)
            rc = hxq_err(err, HXQ_ERR_NOMEM, "cannot start the server's threads");
    }
    if (rc == HXQ_OK)
        rc = serve_http_start(s, err);
    if (rc < 0) {
        hxq_serve_stop(s);
        return rc;
    }
    *out = s;
    return HXQ_OK;
}

int hxq_serve_port(const hxq_server *s)
{
    return s->port;
}

const char *hxq_serve_model_id(const hxq_server *s)
{
    return s->model_id;
}

/* Waits (briefly) until every job's answer has gone out. */
static void drain(hxq_server *s)
{
    double until = hxq_now() + STOP_GRACE_S;
    pthread_mutex_lock(&s->lock);
    while (s->n_jobs > 0 && hxq_now() < until) {
        pthread_mutex_unlock(&s->lock);
        usleep(10 * 1000);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
}

void hxq_serve_stop(hxq_server *s)
{
    if (!s)
        return;
    serve_http_quiesce(s);
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_cond_broadcast(&s->tick);
    pthread_mutex_unlock(&s->lock);
    /* the scheduler ends every job and resumes their connections: after it
     * is joined no connection is suspended or will be again */
    if (s->sched_started)
        pthread_join(s->sched_thread, NULL);
    if (s->watch_started)
        pthread_join(s->watch_thread, NULL);
    if (s->http)
        drain(s);
    serve_http_stop(s);
    serve_sched_free(s->sched);
    hxq_engine_free(s->engine);
    hxq_tokenizer_free(s->tok);
    hxq_model_free(&s->model);
    free(s->model_id);
    free(s->host);
    free(s->api_key);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->tick);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->log_lock);
    free(s);
}
