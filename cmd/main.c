/* main.c - the hxq command table, global flags and exit status. */
#include "hxq_cmd.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const struct hxq_cmd commands[] = {
    /* name, function, one-line summary: in the order of the workflow */
    {"compress", cmd_compress, "compress a BF16/F16/F32 checkpoint folder into an HXQ folder"},
    {"verify", cmd_verify, "check a model folder against its receipts, structure and source"},
    {"convert", cmd_convert, "convert an HXQ folder to dense BF16 or to the canonical HXQ layout"},
    {"run", cmd_run, "generate text from a prompt, a chat message or interactively"},
    {"eval", cmd_eval, "perplexity over a text, and KL divergence from a reference model"},
    {"serve", cmd_serve, "serve a model over HTTP with OpenAI's API (chat, completions, streams)"},
    {"tokenize", cmd_tokenize, "encode text to token ids (or decode ids) with a model's tokenizer"},
    {"chat-template", cmd_chat_template, "render a model's chat template for a conversation"},
    {"inspect", cmd_inspect, "list the tensors, dtypes and shapes of a model folder or file"},
    {"synth", cmd_synth, "write a synthetic checkpoint (OLMoE, or --arch FAMILY) for benchmarks and tests"},
};

static void print_help(FILE *f)
{
    fprintf(f, "usage: hxq <command> [options]\n"
               "       hxq --version | hxq help [command]\n\n"
               "Compress LLM checkpoints to 8-bit codebooks without calibration data, and run them.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'hxq <command> --help' describes a command's options.\n"
               "exit status: 0 ok, 1 verification failed, 2 usage, 3 I/O or format error\n");
}

static const struct hxq_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int cmd_exit_code(int status)
{
    switch (status) {
    case HXQ_OK: return HXQ_EXIT_OK;
    case HXQ_ERR_VERIFY: return HXQ_EXIT_VERIFY;
    case HXQ_ERR_INVALID: return HXQ_EXIT_USAGE;
    default: return HXQ_EXIT_IO;
    }
}

int cmd_fail(const char *cmd, int status, const hxq_error *err)
{
    const char *msg = err && err->msg[0] ? err->msg : hxq_status_name(status);
    fprintf(stderr, "hxq %s: %s\n", cmd, msg);
    return cmd_exit_code(status);
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "hxq %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'hxq %s --help')\n", cmd);
    return HXQ_EXIT_USAGE;
}

int cmd_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return 0;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    }
    return 0;
}

long long cmd_parse_count(const char *s)
{
    char *end;
    if (!s || !*s)
        return -1;
    long long v = strtoll(s, &end, 10);
    if (*end || v < 0)
        return -1;
    return v;
}

uint64_t cmd_parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0))
        return 0;
    static const struct {
        const char *sfx;
        double mul;
    } units[] = {{"", 1},       {"B", 1},      {"K", 1e3},    {"KB", 1e3},  {"M", 1e6},
                 {"MB", 1e6},   {"G", 1e9},    {"GB", 1e9},   {"T", 1e12},  {"TB", 1e12},
                 {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(end, units[i].sfx)) {
            double b = v * units[i].mul;
            return b >= 1 && b < 1.8e19 ? (uint64_t)b : 0;
        }
    return 0;
}

/* A failed write to stdout (full disk, closed pipe) must not exit 0. */
static int finish_stdout(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hxq: error writing to standard output\n");
        return rc ? rc : HXQ_EXIT_IO;
    }
    return rc;
}

/* Inputs are mmapped: a file truncated (or on a failing disk) while mapped
 * raises SIGBUS on the next access to the lost pages. Say so and exit 3
 * instead of dying without a word; outputs are only ever renamed into place
 * at the end, so nothing half-written is left under the destination name.
 * The handler uses only async-signal-safe calls. */
static char sigbus_msg[256];
static size_t sigbus_len;

static void on_sigbus(int sig)
{
    (void)sig;
    ssize_t w = write(STDERR_FILENO, sigbus_msg, sigbus_len);
    (void)w;
    _exit(HXQ_EXIT_IO);
}

static void install_signals(const char *cmd)
{
    /* past a file-size limit (ulimit -f) write() must fail with EFBIG and
     * be reported, not kill the process with SIGXFSZ mid-file */
    signal(SIGXFSZ, SIG_IGN);
    int n = snprintf(sigbus_msg, sizeof(sigbus_msg),
                     "hxq %s: an input file was truncated or became unreadable while being read "
                     "(bus error)\n", cmd);
    sigbus_len = n > 0 && (size_t)n < sizeof(sigbus_msg) ? (size_t)n : 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

int main(int argc, char **argv)
{
    install_signals(argc > 1 && strlen(argv[1]) < 64 ? argv[1] : "");
    if (argc < 2) {
        print_help(stderr);
        return HXQ_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("hxq %s\n", HXQ_VERSION);
        return finish_stdout(0);
    }
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        if (argc > 2 && find_cmd(argv[2])) {
            char *hargv[] = {argv[2], "--help", NULL};
            return finish_stdout(find_cmd(argv[2])->fn(2, hargv));
        }
        print_help(stdout);
        return finish_stdout(0);
    }
    const struct hxq_cmd *cmd = find_cmd(name);
    if (!cmd) {
        fprintf(stderr, "hxq: '%s' is not an hxq command (see 'hxq help')\n", name);
        return HXQ_EXIT_USAGE;
    }
    return finish_stdout(cmd->fn(argc - 1, argv + 1));
}
