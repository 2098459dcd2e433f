/* cmd_serve.c - hxq serve: an OpenAI-compatible HTTP server for a model
 * folder, until SIGINT or SIGTERM. */
#include "hxq_cmd.h"
#include "hxq_serve.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: hxq serve MODEL [options]\n\n"
    "Serves a model folder (any family hxq run takes, dense or HXQ) over HTTP with\n"
    "OpenAI's API: POST /v1/chat/completions, POST /v1/completions, GET /v1/models,\n"
    "GET /health\n"
    "(docs/SERVE.md). Runs until SIGINT or SIGTERM; logs one line per request on stderr.\n\n"
    "options:\n"
    "  --host ADDR          address to bind (default 127.0.0.1: this machine only)\n"
    "  --port N             TCP port (default 8080; 0 = any free port, printed at start)\n"
    "  --parallel N         requests decoded together, one engine sequence each\n"
    "                       (default 1); more requests wait in a queue\n"
    "  --ctx N              context per request, prompt and reply (default: the model's)\n"
    "  --threads N          CPU threads (default: all)\n"
    "  --device cpu|cuda    where to run (default cpu)\n"
    "  --api-key KEY        require 'Authorization: Bearer KEY' (401 otherwise)\n"
    "  --api-key-file F     the same, the key read from the first line of F\n"
    "  --model-id NAME      the model's name in the API (default: the folder's name)\n"
    "  --timeout S          close connections idle for S seconds, or whose request has\n"
    "                       not arrived whole within S seconds (default 30)\n"
    "  --max-body BYTES     request body limit (default 1MiB; 413 beyond)\n"
    "  --max-connections N  open connections at most (default 64)\n";

typedef struct serve_args {
    const char *model, *key_file;
    hxq_serve_opts o;
} serve_args;

static int parse_int(const char *v, long long lo, long long hi, int *out)
{
    long long n = cmd_parse_count(v);
    if (n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

static int parse_args(int argc, char **argv, serve_args *a)
{
    memset(a, 0, sizeof(*a));
    a->o = hxq_serve_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (o[0] != '-') {
            if (a->model)
                return cmd_usage_error("serve", "unexpected argument '%s'", o);
            a->model = o;
            continue;
        }
        if (!v)
            return cmd_usage_error("serve", "%s needs a value", o);
        if (!strcmp(o, "--host"))
            a->o.host = v;
        else if (!strcmp(o, "--port"))
            bad = parse_int(v, 0, 65535, &a->o.port);
        else if (!strcmp(o, "--parallel"))
            bad = parse_int(v, 1, 256, &a->o.parallel);
        else if (!strcmp(o, "--threads"))
            bad = parse_int(v, 1, 4096, &a->o.threads);
        else if (!strcmp(o, "--ctx"))
            bad = (a->o.ctx = cmd_parse_count(v)) < 1;
        else if (!strcmp(o, "--timeout"))
            bad = parse_int(v, 1, 86400, &a->o.timeout_s);
        else if (!strcmp(o, "--max-connections"))
            bad = parse_int(v, 1, 100000, &a->o.max_connections);
        else if (!strcmp(o, "--max-body"))
            bad = (a->o.max_body = (size_t)cmd_parse_size(v)) == 0;
        else if (!strcmp(o, "--api-key"))
            a->o.api_key = v;
        else if (!strcmp(o, "--api-key-file"))
            a->key_file = v;
        else if (!strcmp(o, "--model-id"))
            a->o.model_id = v;
        else if (!strcmp(o, "--device")) {
            if (!strcmp(v, "cpu"))
                a->o.device = HXQ_DEVICE_CPU;
            else if (!strcmp(v, "cuda"))
                a->o.device = HXQ_DEVICE_CUDA;
            else
                bad = 1;
        } else
            return cmd_usage_error("serve", "unknown option '%s'", o);
        if (bad)
            return cmd_usage_error("serve", "bad value '%s' for %s", v, o);
        i++;
    }
    if (!a->model)
        return cmd_usage_error("serve", "expected a MODEL folder");
    if (a->o.api_key && a->key_file)
        return cmd_usage_error("serve", "--api-key and --api-key-file exclude each other");
    return HXQ_EXIT_OK;
}

/* The first line of the key file, without its line ending. */
static char *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "hxq serve: %s\n", line);
}

int cmd_serve(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return HXQ_EXIT_OK;
    }
    serve_args a;
    int urc = parse_args(argc, argv, &a);
    if (urc != HXQ_EXIT_OK)
        return urc;
    char *key = NULL;
    hxq_error err = {0};
    if (a.key_file) {
        if (!(key = read_key(a.key_file))) {
            hxq_err(&err, HXQ_ERR_IO, "cannot read the key file '%s'", a.key_file);
            return cmd_fail("serve", HXQ_ERR_IO, &err);
        }
        a.o.api_key = key;
    }
    a.o.log = log_line;
    /* SIGINT / SIGTERM are taken by sigwait() below: block them before any
     * thread starts, so every thread inherits the mask */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    hxq_server *s = NULL;
    int rc = hxq_serve_start(a.model, &a.o, &s, &err);
    free(key);
    if (rc < 0)
        return cmd_fail("serve", rc, &err);
    int v6 = strchr(a.o.host, ':') != NULL;
    fprintf(stderr, "hxq serve: listening on http://%s%s%s:%d (model '%s', %d slot%s%s)\n",
            v6 ? "[" : "", a.o.host, v6 ? "]" : "", hxq_serve_port(s), hxq_serve_model_id(s),
            a.o.parallel, a.o.parallel > 1 ? "s" : "", a.o.api_key || a.key_file ? ", API key" : "");
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "hxq serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    hxq_serve_stop(s);
    return HXQ_EXIT_OK;
}
