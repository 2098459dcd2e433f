/* serve_sched.c - the slot scheduler: the one thread that uses the engine.
 *
 * Each slot is one engine sequence. A loop iteration, in order:
 *   1. under the lock: drop jobs whose client is gone (their slot is free
 *      at once), admit queued jobs into free slots, or sleep when idle;
 *   2. one prompt chunk of one prefilling slot (SERVE_PREFILL_CHUNK tokens,
 *      the engine's own batch, so a prompt is fed exactly as `hxq run`
 *      feeds it); after its last chunk the first token is sampled;
 *   3. one decode step: every slot with a token to feed, one token each,
 *      in one forward over all of them (bit-identical to each alone);
 *   4. under the lock: hand the new text to the jobs, wake their
 *      connections.
 * Long prompts thus never stall the other slots' streams for more than a
 * chunk. Sampling is per slot (its own sampler and seed). */
#include "serve_int.h"

#include <stdlib.h>
#include <string.h>

typedef enum { SLOT_FREE = 0, SLOT_PREFILL, SLOT_DECODE } slot_state;

typedef struct serve_slot {
    slot_state state;
    serve_job *job;
    uint64_t admitted;       /* admission order: prefill the oldest first */
    int64_t fed;             /* prompt tokens in the cache                */
    int32_t next;            /* sampled, to feed in the next decode step  */
    int64_t n_gen;
    hxq_sampler sampler;
    hxq_tokenizer_stream *dec;
    serve_stop stop;
    serve_buf out;           /* text released since the last hand-over    */
    const char *finish;      /* set when the job ends in this iteration   */
    serve_error fail;
    float *logits;           /* [vocab]                                   */
} serve_slot;

struct serve_sched {
    serve_slot *slots;
    int n;
    uint64_t n_admitted;
    struct MHD_Connection **resume;  /* [cap] */
    int cap, n_resume;
    /* decode step scratch */
    int *seqs;
    int32_t *ids;
    float **logits;
    hxq_seq_part *parts;
};

/* ---- the engine calls (one place to adapt to the engine's API) ---------- */

static int engine_prefill(hxq_server *s, int seq, const int32_t *ids, int64_t n,
                          float *logits, hxq_error *err)
{
    hxq_seq_part p = {seq, ids, n, logits, 0};
    return hxq_engine_forward_seqs(s->engine, &p, 1, err);
}

static int engine_step(hxq_server *s, serve_sched *sc, int n, hxq_error *err)
{
    for (int i = 0; i < n; i++) {
        hxq_seq_part p = {sc->seqs[i], &sc->ids[i], 1, sc->logits[i], 0};
        sc->parts[i] = p;
    }
    return hxq_engine_forward_seqs(s->engine, sc->parts, n, err);
}

static int engine_clear(hxq_server *s, int seq, hxq_error *err)
{
    return hxq_engine_seq_rewind(s->engine, seq, 0, err);
}

/* ---- slots ------------------------------------------------------------------ */

int serve_sched_create(hxq_server *s, serve_sched **out, hxq_error *err)
{
    serve_sched *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    sc->n = s->n_slots;
    sc->cap = s->o.max_connections + sc->n + 1;
    sc->slots = calloc((size_t)sc->n, sizeof(*sc->slots));
    sc->resume = calloc((size_t)sc->cap, sizeof(*sc->resume));
    sc->seqs = calloc((size_t)sc->n, sizeof(int));
    sc->ids = calloc((size_t)sc->n, sizeof(int32_t));
    sc->logits = calloc((size_t)sc->n, sizeof(float *));
    sc->parts = calloc((size_t)sc->n, sizeof(hxq_seq_part));
    int rc = sc->slots && sc->resume && sc->seqs && sc->ids && sc->logits && sc->parts
                 ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    for (int i = 0; rc == HXQ_OK && i < sc->n; i++) {
        serve_slot *sl = &sc->slots[i];
        if (!(sl->logits = hxq_alloc_array(s->model.vocab, sizeof(float))))
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        else
            rc = hxq_tokenizer_stream_create(s->tok, HXQ_DECODE_SKIP_SPECIAL, &sl->dec, err);
    }
    if (rc < 0) {
        serve_sched_free(sc);
        return rc;
    }
    *out = sc;
    return HXQ_OK;
}

void serve_sched_free(serve_sched *sc)
{
    if (!sc)
        return;
    for (int i = 0; sc->slots && i < sc->n; i++) {
        serve_slot *sl = &sc->slots[i];
        hxq_sampler_free(&sl->sampler);
        hxq_tokenizer_stream_free(sl->dec);
        serve_stop_free(&sl->stop);
        serve_buf_free(&sl->out);
        free(sl->logits);
    }
    free(sc->slots);
    free(sc->resume);
    free(sc->seqs);
    free(sc->ids);
    free(sc->logits);
    free(sc->parts);
    free(sc);
}

void serve_sched_submit(hxq_server *s, serve_job *j)
{
    j->refs++;
    j->next = NULL;
    if (s->q_tail)
        s->q_tail->next = j;
    else
        s->q_head = j;
    s->q_tail = j;
    s->n_queued++;
    pthread_cond_signal(&s->wake);
}

static int is_eos(const hxq_server *s, int32_t id)
{
    for (int i = 0; i < s->n_eos; i++)
        if (s->eos[i] == id)
            return 1;
    return 0;
}

/* Takes a job into a free slot (under the lock; the engine work follows
 * outside it). */
static void slot_admit(serve_sched *sc, serve_slot *sl, serve_job *j)
{
    sl->state = SLOT_PREFILL;
    sl->job = j;
    sl->admitted = sc->n_admitted++;
    sl->fed = 0;
    sl->n_gen = 0;
    sl->finish = NULL;
    memset(&sl->fail, 0, sizeof(sl->fail));
    serve_stop_init(&sl->stop, j->stop, j->n_stop);
}

/* Returns the slot to the free pool (under the lock). */
static void slot_release(hxq_server *s, serve_slot *sl)
{
    hxq_sampler_free(&sl->sampler);
    serve_stop_free(&sl->stop);
    serve_buf_free(&sl->out);
    const char *t;
    size_t n;
    hxq_tokenizer_stream_flush(sl->dec, &t, &n, NULL); /* resets it */
    serve_job_release(s, sl->job);
    sl->job = NULL;
    sl->state = SLOT_FREE;
    s->n_busy--;
}

static void slot_fail(serve_slot *sl, int status, const char *type, const hxq_error *err)
{
    serve_fail(&sl->fail, status, type, NULL, NULL, "%s",
               err && err->msg[0] ? err->msg : "generation failed");
    sl->finish = "error";
}

/* One sampled token: its text through the stream decoder and the stop
 * strings; ends the job at eos, a stop string or max_tokens. */
static void slot_take(hxq_server *s, serve_slot *sl, int32_t id)
{
    serve_job *j = sl->job;
    sl->n_gen++;
    sl->next = id;
    const char *t;
    size_t n;
    hxq_error err = {0};
    if (hxq_tokenizer_stream_push(sl->dec, id, &t, &n, &err) < 0) {
        slot_fail(sl, 500, "server_error", &err);
        return;
    }
    if (serve_stop_feed(&sl->stop, t, n, &sl->out)) {
        sl->finish = "stop";
        return;
    }
    int eos = is_eos(s, id);
    if (!eos && sl->n_gen < j->max_tokens)
        return;
    if (hxq_tokenizer_stream_flush(sl->dec, &t, &n, &err) < 0) {
        slot_fail(sl, 500, "server_error", &err);
        return;
    }
    if (serve_stop_feed(&sl->stop, t, n, &sl->out)) {
        sl->finish = "stop";
        return;
    }
    serve_stop_finish(&sl->stop, &sl->out);
    sl->finish = eos ? "stop" : "length";
}

/* ---- the loop's steps ------------------------------------------------------- */

/* Step 1 (under the lock): jobs whose client is gone end now. */
static void drop_gone(hxq_server *s, serve_sched *sc)
{
    for (int i = 0; i < sc->n; i++) {
        serve_slot *sl = &sc->slots[i];
        if (sl->state == SLOT_FREE || !(sl->job->cancelled || serve_conn_peer_gone(sl->job->conn)))
            continue;
        sl->job->cancelled = 1;
        serve_job_end(sl->job, NULL, sc->resume, &sc->n_resume);
        slot_release(s, sl);
    }
    serve_job **pp = &s->q_head, *prev = NULL;
    while (*pp) {
        serve_job *j = *pp;
        if (j->cancelled || serve_conn_peer_gone(j->conn)) {
            j->cancelled = 1;
            *pp = j->next;
            if (s->q_tail == j)
                s->q_tail = prev;
            s->n_queued--;
            serve_job_end(j, NULL, sc->resume, &sc->n_resume);
            serve_job_release(s, j);
        } else {
            prev = j;
            pp = &j->next;
        }
    }
}

/* Step 1 at shutdown: every job ends with a 503. */
static void drop_all(hxq_server *s, serve_sched *sc)
{
    serve_error e;
    serve_fail(&e, 503, "server_error", NULL, NULL, "the server is shutting down");
    for (int i = 0; i < sc->n; i++)
        if (sc->slots[i].state != SLOT_FREE) {
            serve_job_end(sc->slots[i].job, &e, sc->resume, &sc->n_resume);
            slot_release(s, &sc->slots[i]);
        }
    while (s->q_head) {
        serve_job *j = s->q_head;
        s->q_head = j->next;
        serve_job_end(j, &e, sc->resume, &sc->n_resume);
        serve_job_release(s, j);
    }
    s->q_tail = NULL;
    s->n_queued = 0;
}

static void admit(hxq_server *s, serve_sched *sc)
{
    for (int i = 0; i < sc->n && s->q_head; i++) {
        serve_slot *sl = &sc->slots[i];
        if (sl->state != SLOT_FREE)
            continue;
        serve_job *j = s->q_head;
        s->q_head = j->next;
        if (!s->q_head)
            s->q_tail = NULL;
        s->n_queued--;
        s->n_busy++;
        slot_admit(sc, sl, j);
    }
}

/* Step 2: one chunk of the oldest prefilling slot's prompt. */
static void prefill(hxq_server *s, serve_sched *sc)
{
    serve_slot *sl = NULL;
    int seq = -1;
    for (int i = 0; i < sc->n; i++)
        if (sc->slots[i].state == SLOT_PREFILL && (!sl || sc->slots[i].admitted < sl->admitted)) {
            sl = &sc->slots[i];
            seq = i;
        }
    if (!sl)
        return;
    serve_job *j = sl->job;
    hxq_error err = {0};
    if (sl->fed == 0) {
        if (engine_clear(s, seq, &err) < 0 ||
            hxq_sampler_init(&sl->sampler, &j->so, s->model.vocab, &err) < 0) {
            slot_fail(sl, 500, "server_error", &err);
            return;
        }
    }
    int64_t n = j->n_prompt - sl->fed;
    if (n > SERVE_PREFILL_CHUNK)
        n = SERVE_PREFILL_CHUNK;
    int last = sl->fed + n == j->n_prompt;
    if (engine_prefill(s, seq, j->ids + sl->fed, n, last ? sl->logits : NULL, &err) < 0) {
        slot_fail(sl, 500, "server_error", &err);
        return;
    }
    sl->fed += n;
    if (last) {
        sl->state = SLOT_DECODE;
        slot_take(s, sl, hxq_sampler_sample(&sl->sampler, sl->logits));
    }
}

/* Step 3: one token for every decoding slot, one forward for all. */
static void decode(hxq_server *s, serve_sched *sc)
{
    int n = 0;
    for (int i = 0; i < sc->n; i++) {
        serve_slot *sl = &sc->slots[i];
        if (sl->state != SLOT_DECODE || sl->finish)
            continue;
        sc->seqs[n] = i;
        sc->ids[n] = sl->next;
        sc->logits[n] = sl->logits;
        n++;
    }
    if (n == 0)
        return;
    hxq_error err = {0};
    if (engine_step(s, sc, n, &err) < 0) {
        for (int k = 0; k < n; k++)
            slot_fail(&sc->slots[sc->seqs[k]], 500, "server_error", &err);
        return;
    }
    for (int k = 0; k < n; k++) {
        serve_slot *sl = &sc->slots[sc->seqs[k]];
        slot_take(s, sl, hxq_sampler_sample(&sl->sampler, sl->logits));
    }
}

/* Step 4 (under the lock): new text and endings to the jobs. */
static void hand_over(hxq_server *s, serve_sched *sc)
{
    for (int i = 0; i < sc->n; i++) {
        serve_slot *sl = &sc->slots[i];
        if (sl->state == SLOT_FREE)
            continue;
        serve_job *j = sl->job;
        if (sl->out.n)
            serve_buf_put(&j->pending, sl->out.p, sl->out.n);
        sl->out.n = 0;
        if ((sl->out.failed || j->pending.failed) && !sl->fail.status) {
            hxq_error oom;
            hxq_err(&oom, HXQ_ERR_NOMEM, "out of memory");
            slot_fail(sl, 500, "server_error", &oom);
        }
        j->n_generated = sl->n_gen;
        if (sl->finish) {
            int failed = sl->fail.status != 0;
            if (!failed)
                j->finish = sl->finish;
            serve_job_end(j, failed ? &sl->fail : NULL, sc->resume, &sc->n_resume);
            slot_release(s, sl);
        } else if (j->stream && j->pending.n && j->suspended) {
            j->suspended = 0;
            sc->resume[sc->n_resume++] = j->http;
        }
    }
}

static int has_work(const hxq_server *s, const serve_sched *sc)
{
    return s->q_head || s->n_busy > 0 || sc->n_resume > 0;
}

void *serve_sched_main(void *arg)
{
    hxq_server *s = arg;
    serve_sched *sc = s->sched;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (!s->stopping)
            drop_gone(s, sc);
        while (!s->stopping && !has_work(s, sc)) {
            pthread_cond_wait(&s->wake, &s->lock);
            drop_gone(s, sc);
        }
        int stop = s->stopping;
        if (stop)
            drop_all(s, sc);
        else
            admit(s, sc);
        int n_resume = sc->n_resume;
        sc->n_resume = 0;
        pthread_mutex_unlock(&s->lock);
        serve_http_resume(sc->resume, n_resume);
        if (stop)
            break;
        prefill(s, sc);
        decode(s, sc);
        pthread_mutex_lock(&s->lock);
        hand_over(s, sc);
        n_resume = sc->n_resume;
        sc->n_resume = 0;
        pthread_mutex_unlock(&s->lock);
        serve_http_resume(sc->resume, n_resume);
    }
    return NULL;
}
