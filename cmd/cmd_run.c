/* cmd_run.c - hxq run: generate from a prompt, a chat message or an
 * interactive conversation, streaming UTF-8 text as it is produced. */
#include "hxq_cmd.h"
#include "hxq_infer.h"
#include "hxq_io.h"
#include "hxq_tokenizer.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: hxq run MODEL [--prompt TEXT | --chat TEXT [--system S]] [options]\n\n"
    "Generates text with a model folder, dense or HXQ (model_type llama, mistral, qwen2,\n"
    "qwen3, mixtral, qwen3_moe or olmoe). --prompt feeds the text with the tokenizer's\n"
    "special tokens around it, as Hugging Face's tokenizer(text) does (e.g. a BOS for\n"
    "Llama-2, none for OLMoE or Qwen); --chat wraps it in the model's chat template.\n"
    "With neither, a terminal gets an interactive conversation and a pipe is read whole\n"
    "as the prompt.\n\n"
    "options:\n"
    "  -n, --max-tokens N   tokens to generate (default 128); stops at eos\n"
    "  --temp T             temperature, 0 = greedy (default 0)\n"
    "  --top-k K            keep the K most likely tokens (default 0 = off)\n"
    "  --top-p P            nucleus sampling threshold (default 1 = off)\n"
    "  --seed S             sampling seed (default 0)\n"
    "  --threads N          CPU threads (default: all)\n"
    "  --device cpu|cuda    where to run (default cpu)\n"
    "  --ctx N              context length (default: the model's maximum)\n"
    "  --json               print prompt ids, generated ids, text and speeds as JSON\n"
    "  --logits-out FILE    write the prompt's logits (F32 [T, V]) and ids (I64 [T])\n"
    "                       as safetensors\n"
    "Load time and speeds are printed to stderr at the end.\n";

typedef struct run_opts {
    const char *model, *prompt, *chat, *system, *logits_out;
    long long max_tokens, seed, threads, ctx;
    int json;
    hxq_sampler_opts so;
    hxq_device device;
} run_opts;

static int parse_float(const char *s, float *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    double v = strtod(s, &end);
    if (*end)
        return -1;
    *out = (float)v;
    return 0;
}

static int parse_args(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_tokens = 128;
    o->so.top_p = 1.0f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--prompt"))
            o->prompt = v;
        else if (!strcmp(a, "--chat"))
            o->chat = v;
        else if (!strcmp(a, "--system"))
            o->system = v;
        else if (!strcmp(a, "--logits-out"))
            o->logits_out = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--max-tokens")) {
            if ((o->max_tokens = cmd_parse_count(v)) < 0)
                return cmd_usage_error("run", "%s needs a count", a);
        } else if (!strcmp(a, "--seed")) {
            if ((o->seed = cmd_parse_count(v)) < 0)
                return cmd_usage_error("run", "--seed needs a non-negative integer");
        } else if (!strcmp(a, "--threads")) {
            if ((o->threads = cmd_parse_count(v)) < 1)
                return cmd_usage_error("run", "--threads needs a positive count");
        } else if (!strcmp(a, "--ctx")) {
            if ((o->ctx = cmd_parse_count(v)) < 1)
                return cmd_usage_error("run", "--ctx needs a positive count");
        } else if (!strcmp(a, "--top-k")) {
            long long k = cmd_parse_count(v);
            if (k < 0 || k > INT32_MAX)
                return cmd_usage_error("run", "--top-k needs a count");
            o->so.top_k = (int)k;
        } else if (!strcmp(a, "--temp")) {
            if (parse_float(v, &o->so.temperature) < 0 || o->so.temperature < 0)
                return cmd_usage_error("run", "--temp needs a number >= 0");
        } else if (!strcmp(a, "--top-p")) {
            if (parse_float(v, &o->so.top_p) < 0 || o->so.top_p <= 0 || o->so.top_p > 1)
                return cmd_usage_error("run", "--top-p needs a number in (0, 1]");
        } else if (!strcmp(a, "--device")) {
            if (v && !strcmp(v, "cpu"))
                o->device = HXQ_DEVICE_CPU;
            else if (v && !strcmp(v, "cuda"))
                o->device = HXQ_DEVICE_CUDA;
            else
                return cmd_usage_error("run", "--device is cpu or cuda");
        } else {
            takes = 0;
            if (!strcmp(a, "--json"))
                o->json = 1;
            else if (a[0] == '-')
                return cmd_usage_error("run", "unknown option '%s'", a);
            else if (!o->model)
                o->model = a;
            else
                return cmd_usage_error("run", "unexpected argument '%s'", a);
        }
        if (takes) {
            if (!v)
                return cmd_usage_error("run", "%s needs a value", a);
            i++;
        }
    }
    if (!o->model)
        return cmd_usage_error("run", "expected a MODEL folder");
    if (o->prompt && o->chat)
        return cmd_usage_error("run", "--prompt and --chat exclude each other");
    if (o->system && o->prompt)
        return cmd_usage_error("run", "--system goes with --chat or the interactive mode");
    o->so.seed = (uint64_t)o->seed;
    return HXQ_EXIT_OK;
}

/* Everything a run holds; freed by run_close(). */
typedef struct run_ctx {
    hxq_model m;
    hxq_tokenizer *tok;
    hxq_engine *e;
    hxq_sampler s;
    hxq_tokenizer_stream *stream;
    int quiet;               /* --json: no streaming */
    int stream_failed;
    double load_s;
} run_ctx;

static void run_close(run_ctx *c)
{
    hxq_tokenizer_stream_free(c->stream);
    hxq_sampler_free(&c->s);
    hxq_engine_free(c->e);
    hxq_tokenizer_free(c->tok);
    hxq_model_free(&c->m);
}

static int run_open(const run_opts *o, run_ctx *c, hxq_error *err)
{
    double t0 = hxq_now();
    HXQ_TRY(hxq_model_load(o->model, &c->m, err));
    HXQ_TRY(hxq_tokenizer_load(o->model, &c->tok, err));
    hxq_engine_opts eo = hxq_engine_opts_default();
    eo.device = o->device;
    eo.threads = (int)o->threads;
    eo.max_ctx = o->ctx;
    HXQ_TRY(hxq_engine_create(&c->m, &eo, &c->e, err));
    HXQ_TRY(hxq_sampler_init(&c->s, &o->so, c->m.vocab, err));
    HXQ_TRY(hxq_tokenizer_stream_create(c->tok, HXQ_DECODE_SKIP_SPECIAL, &c->stream, err));
    c->quiet = o->json;
    c->load_s = hxq_now() - t0;
    return HXQ_OK;
}

static int on_token(void *ctx, int32_t id)
{
    run_ctx *c = ctx;
    const char *text;
    size_t len;
    if (c->quiet)
        return 0;
    if (hxq_tokenizer_stream_push(c->stream, id, &text, &len, NULL) < 0) {
        c->stream_failed = 1;
        return 1;
    }
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static void stream_end(run_ctx *c)
{
    const char *text;
    size_t len;
    if (!c->quiet && hxq_tokenizer_stream_flush(c->stream, &text, &len, NULL) == HXQ_OK)
        fwrite(text, 1, len, stdout);
}

/* --logits-out: the logits of every prompt position, as safetensors. */
static int write_logits(run_ctx *c, const char *path, const int32_t *ids, int64_t n,
                        hxq_error *err)
{
    int64_t V = c->m.vocab, nl;
    if (hxq_mul_i64(n, V, &nl) < 0)
        return hxq_err(err, HXQ_ERR_NOMEM, "logits too large");
    float *logits = hxq_alloc_array(nl, sizeof(float));
    int64_t *ids64 = hxq_alloc_array(n, sizeof(int64_t));
    int rc = logits && ids64 ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    hxq_forward_out out = {logits, 1, NULL, NULL};
    if (rc == HXQ_OK)
        rc = hxq_engine_forward(c->e, ids, n, &out, err);
    hxq_engine_reset(c->e);
    hxq_stw *w = NULL;
    int64_t shape[2] = {n, V};
    if (rc == HXQ_OK) {
        for (int64_t i = 0; i < n; i++)
            ids64[i] = ids[i];
        rc = hxq_stw_create(path, &w, err);
    }
    if (rc == HXQ_OK && (rc = hxq_stw_add(w, "ids", HXQ_DT_I64, 1, shape, err)) == HXQ_OK &&
        (rc = hxq_stw_add(w, "logits", HXQ_DT_F32, 2, shape, err)) == HXQ_OK &&
        (rc = hxq_stw_begin(w, err)) == HXQ_OK &&
        (rc = hxq_stw_write(w, ids64, (uint64_t)n * 8, err)) == HXQ_OK &&
        (rc = hxq_stw_write(w, logits, (uint64_t)nl * 4, err)) == HXQ_OK) {
        rc = hxq_stw_finish(w, err);
        w = NULL;
    }
    hxq_stw_abort(w);
    free(logits);
    free(ids64);
    return rc;
}

static void print_speeds(const run_ctx *c, const hxq_gen_stats *st)
{
    fprintf(stderr, "\nhxq run: load %.2f s (%s), prompt %lld tokens %.1f tok/s, "
                    "decode %lld tokens %.1f tok/s\n",
            c->load_s, hxq_engine_device_name(c->e), (long long)st->n_prompt,
            st->prompt_s > 0 ? (double)st->n_prompt / st->prompt_s : 0.0,
            (long long)st->n_generated,
            st->decode_s > 0 ? (double)st->n_generated / st->decode_s : 0.0);
}

static int print_json(run_ctx *c, const int32_t *ids, int64_t n, const int32_t *gen,
                      const hxq_gen_stats *st, hxq_error *err)
{
    char *text = NULL;
    HXQ_TRY(hxq_tokenizer_decode(c->tok, gen, st->n_generated, HXQ_DECODE_SKIP_SPECIAL, &text,
                                 NULL, err));
    cJSON *j = cJSON_CreateObject();
    cJSON *pi = cJSON_AddArrayToObject(j, "prompt_ids");
    cJSON *gi = cJSON_AddArrayToObject(j, "generated_ids");
    for (int64_t i = 0; pi && i < n; i++)
        cJSON_AddItemToArray(pi, cJSON_CreateNumber(ids[i]));
    for (int64_t i = 0; gi && i < st->n_generated; i++)
        cJSON_AddItemToArray(gi, cJSON_CreateNumber(gen[i]));
    cJSON_AddStringToObject(j, "text", text);
    cJSON_AddNumberToObject(j, "prompt_tokens_per_s",
                            st->prompt_s > 0 ? (double)n / st->prompt_s : 0.0);
    cJSON_AddNumberToObject(j, "decode_tokens_per_s",
                            st->decode_s > 0 ? (double)st->n_generated / st->decode_s : 0.0);
    cJSON_AddBoolToObject(j, "stopped_at_eos", st->stopped_at_eos);
    char *s = cJSON_PrintUnformatted(j);
    int rc = s ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (s)
        printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
    free(text);
    return rc;
}

/* The prompt ids of a chat (the model's template rendered, then encoded);
 * when the template fails, the message (which names its line and
 * construct) gets the way around it. */
static int chat_ids(const run_ctx *c, const hxq_chat_msg *m, int64_t n, int32_t **ids,
                    int64_t *n_ids, hxq_error *err)
{
    int rc = hxq_tokenizer_encode_chat(c->tok, m, n, ids, n_ids, err);
    if (rc < 0 && rc != HXQ_ERR_NOMEM && err) {
        char msg[HXQ_ERROR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        hxq_err(err, rc, "%s (use --prompt with the prompt already formatted to run without "
                "the chat template)", msg);
    }
    return rc;
}

/* One prompt (raw or chat) to completion. */
static int run_once(run_ctx *c, const run_opts *o, const char *text, hxq_error *err)
{
    int32_t *ids = NULL, *gen = NULL;
    int64_t n = 0;
    int rc;
    if (o->chat) {
        hxq_chat_msg msgs[2] = {{"system", o->system}, {"user", o->chat}};
        int nm = o->system ? 2 : 1;
        rc = chat_ids(c, o->system ? msgs : msgs + 1, nm, &ids, &n, err);
    } else {
        rc = hxq_tokenizer_encode_prompt(c->tok, text, strlen(text), &ids, &n, err);
    }
    if (rc == HXQ_OK && o->logits_out)
        rc = write_logits(c, o->logits_out, ids, n, err);
    gen = hxq_alloc_array(o->max_tokens, sizeof(int32_t));
    if (rc == HXQ_OK && !gen)
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    hxq_gen_stats st = {0};
    if (rc == HXQ_OK && o->max_tokens > 0)
        rc = hxq_generate(c->e, &c->s, ids, n, o->max_tokens, on_token, c, gen, &st, err);
    if (rc == HXQ_OK) {
        stream_end(c);
        if (o->json)
            rc = print_json(c, ids, n, gen, &st, err);
        else
            fputc('\n', stdout);
        print_speeds(c, &st);
    }
    free(ids);
    free(gen);
    return rc;
}

static char *read_all(FILE *f)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* A conversation held as messages; each turn renders the whole chat,
 * feeds only the tokens the cache does not hold yet, and generates. */
typedef struct chat {
    hxq_chat_msg *msgs;
    char **owned;            /* message texts, freed at the end */
    int64_t n, cap;
    int32_t *cached;         /* ids whose keys/values are in the cache */
    int64_t n_cached;
} chat;

static int chat_add(chat *h, const char *role, char *text)
{
    if (h->n == h->cap) {
        int64_t cap = h->cap ? 2 * h->cap : 8;
        hxq_chat_msg *m = realloc(h->msgs, (size_t)cap * sizeof(*m));
        char **ow = m ? realloc(h->owned, (size_t)cap * sizeof(*ow)) : NULL;
        if (m)
            h->msgs = m;
        if (!m || !ow)
            return -1;
        h->owned = ow;
        h->cap = cap;
    }
    h->msgs[h->n].role = role;
    h->msgs[h->n].content = text;
    h->owned[h->n++] = text;
    return 0;
}

static void chat_free(chat *h)
{
    for (int64_t i = 0; i < h->n; i++)
        free(h->owned[i]);
    free(h->msgs);
    free(h->owned);
    free(h->cached);
    memset(h, 0, sizeof(*h));
}

static int chat_turn(run_ctx *c, const run_opts *o, chat *h, hxq_error *err)
{
    char *reply = NULL;
    int32_t *ids = NULL, *gen = hxq_alloc_array(o->max_tokens + 1, sizeof(int32_t));
    int64_t n = 0;
    hxq_gen_stats st = {0};
    int rc = gen ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (rc == HXQ_OK)
        rc = chat_ids(c, h->msgs, h->n, &ids, &n, err);
    /* reuse the cache when it holds a prefix of the new conversation */
    int64_t keep = 0;
    while (rc == HXQ_OK && keep < h->n_cached && keep < n - 1 && h->cached[keep] == ids[keep])
        keep++;
    if (rc == HXQ_OK)
        rc = hxq_engine_rewind(c->e, keep, err);
    if (rc == HXQ_OK)
        rc = hxq_generate(c->e, &c->s, ids + keep, n - keep, o->max_tokens, on_token, c, gen,
                          &st, err);
    if (rc == HXQ_OK) {
        stream_end(c);
        fputc('\n', stdout);
        st.n_prompt = n - keep;
        print_speeds(c, &st);
        /* the cache now holds ids and all generated tokens but the last */
        int32_t *cached = realloc(h->cached, (size_t)(n + st.n_generated) * sizeof(int32_t));
        if (!cached)
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        else {
            memcpy(cached, ids, (size_t)n * sizeof(int32_t));
            memcpy(cached + n, gen, (size_t)st.n_generated * sizeof(int32_t));
            h->cached = cached;
            h->n_cached = n + st.n_generated - 1;
        }
    }
    int64_t n_reply = st.n_generated;
    if (n_reply > 0 && hxq_model_is_eos(&c->m, gen[n_reply - 1]))
        n_reply--;
    if (rc == HXQ_OK)
        rc = hxq_tokenizer_decode(c->tok, gen, n_reply, HXQ_DECODE_SKIP_SPECIAL, &reply, NULL,
                                  err);
    if (rc == HXQ_OK && chat_add(h, "assistant", reply) < 0) {
        free(reply);
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    free(ids);
    free(gen);
    return rc;
}

/* A new conversation: empty, or the --system message. */
static int chat_start(chat *h, const run_opts *o, hxq_error *err)
{
    memset(h, 0, sizeof(*h));
    char *sys = o->system ? hxq_strdup(o->system) : NULL;
    if (o->system && (!sys || chat_add(h, "system", sys) < 0)) {
        free(sys);
        chat_free(h);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    return HXQ_OK;
}

/* Interactive mode: one user line per turn until end of input. */
static int cmd_run_chat(run_ctx *c, const run_opts *o, hxq_error *err)
{
    chat h;
    char *line = NULL;
    size_t cap = 0;
    HXQ_TRY(chat_start(&h, o, err));
    int rc = HXQ_OK;
    fprintf(stderr, "hxq run: interactive chat, end with Ctrl-D\n");
    for (;;) {
        fputs("> ", stdout);
        fflush(stdout);
        ssize_t len = getline(&line, &cap, stdin);
        if (len < 0)
            break;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue;
        char *text = hxq_strdup(line);
        if (!text || chat_add(&h, "user", text) < 0) {
            free(text);
            rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            break;
        }
        rc = chat_turn(c, o, &h, err);
        if (rc == HXQ_ERR_RANGE) {
            /* context full: report and start a new conversation */
            fprintf(stderr, "hxq run: %s; starting over\n", err->msg);
            chat_free(&h);
            hxq_engine_reset(c->e);
            if ((rc = chat_start(&h, o, err)) < 0)
                break;
        } else if (rc < 0) {
            break;
        }
    }
    free(line);
    chat_free(&h);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return HXQ_EXIT_OK;
    }
    run_opts o;
    int urc = parse_args(argc, argv, &o);
    if (urc != HXQ_EXIT_OK)
        return urc;
    run_ctx c;
    memset(&c, 0, sizeof(c));
    hxq_error err = {0};
    int rc = run_open(&o, &c, &err);
    if (rc == HXQ_OK) {
        if (o.prompt || o.chat) {
            rc = run_once(&c, &o, o.prompt, &err);
        } else if (isatty(STDIN_FILENO)) {
            rc = cmd_run_chat(&c, &o, &err);
        } else {
            char *text = read_all(stdin);
            rc = text ? run_once(&c, &o, text, &err)
                      : hxq_err(&err, HXQ_ERR_NOMEM, "cannot read the prompt from stdin");
            free(text);
        }
    }
    if (c.stream_failed && rc == HXQ_OK)
        rc = hxq_err(&err, HXQ_ERR_NOMEM, "out of memory while decoding");
    run_close(&c);
    return rc < 0 ? cmd_fail("run", rc, &err) : HXQ_EXIT_OK;
}
