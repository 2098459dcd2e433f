/* bench_mc.c - the cost of scoring a HellaSwag-shaped multiple-choice row
 * (a context and 4 endings) against one forward pass over the context and
 * its longest ending, measured row by row in the same run.
 *
 *   bench_mc DIR THREADS ROWS TEXT
 *
 * Rows are cut from TEXT (e.g. test/fixtures/tinyshakespeare.txt): a
 * context of 48 words and 4 endings of 17, 20, 23 and 26 words (the true
 * continuation and three spans from elsewhere, in varying order), about
 * HellaSwag's validation shape, tokenized with DIR's tokenizer
 * (hxq_mc_encode). Per row, interleaved:
 *   score: hxq_mc_score() on an engine made as hxq_mc_eval() makes it (a
 *          sequence per choice, calls that take all choices at once);
 *   one:   one hxq_engine_forward() of context + longest ending from an
 *          empty cache, all logits (what scoring that ending alone costs);
 *   each:  the 4 forwards of context + ending that a harness without a
 *          shared cache runs (lm-eval's way).
 * Prints per-row means of wall and CPU seconds, the ratios score / one
 * and each / score, and the tokens each feeds through the model (score
 * must feed every ending, so its token count over one's bounds the ratio
 * from below unless the model's cost per token falls with the batch). */
#include "hxq_infer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHOICES 4
static const int ending_words[CHOICES] = {17, 20, 23, 26};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Word start offsets of text (words separated by whitespace). */
static int64_t split_words(const char *t, size_t n, int64_t **out)
{
    int64_t k = 0, cap = 1 << 16;
    int64_t *w = malloc((size_t)cap * sizeof(int64_t));
    for (size_t i = 0; w && i < n; i++)
        if (!isspace((unsigned char)t[i]) && (i == 0 || isspace((unsigned char)t[i - 1]))) {
            if (k == cap && !(w = realloc(w, (size_t)(cap *= 2) * sizeof(int64_t))))
                break;
            w[k++] = (int64_t)i;
        }
    *out = w;
    return w ? k : 0;
}

/* words [a, a + count) joined by single spaces, malloc'd. */
static char *span(const char *t, const int64_t *w, int64_t a, int count)
{
    size_t cap = 16;
    for (int i = 0; i < count; i++)
        cap += strcspn(t + w[a + i], " \t\n\r") + 1;
    char *s = malloc(cap), *p = s;
    for (int i = 0; s && i < count; i++) {
        size_t l = strcspn(t + w[a + i], " \t\n\r");
        memcpy(p, t + w[a + i], l);
        p += l;
        *p++ = i + 1 < count ? ' ' : '\0';
    }
    return s;
}

typedef struct timing {
    double wall, cpu;
} timing;

static void add_since(timing *t, double w0, double c0)
{
    t->wall += hxq_now() - w0;
    t->cpu += cpu_now() - c0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_mc DIR THREADS ROWS TEXT\n");
        return 2;
    }
    int threads = atoi(argv[2]), rows = atoi(argv[3]);
    hxq_error err = {0};
    char *text;
    size_t len;
    hxq_model m;
    hxq_tokenizer *tok;
    hxq_engine *e = NULL;
    if (threads < 1 || rows < 1 || hxq_read_file(argv[4], (size_t)1 << 30, &text, &len, &err) < 0 ||
        hxq_tokenizer_load(argv[1], &tok, &err) < 0 || hxq_model_load(argv[1], &m, &err) < 0) {
        fprintf(stderr, "bench_mc: %s\n", err.msg[0] ? err.msg : "bad arguments");
        return 2;
    }
    int64_t *w, nw = split_words(text, len, &w);
    hxq_mc_request *req = calloc((size_t)rows, sizeof(*req));
    int64_t ctx_tokens = 0, cont_tokens = 0, longest_total = 0, fed = 0;
    for (int r = 0; r < rows; r++) {
        int64_t a = (int64_t)r * 9973 % (nw - 400);
        char *choices[CHOICES];
        hxq_mc_doc d = {span(text, w, a, 48), choices, CHOICES, r % CHOICES, r + 1};
        for (int c = 0; c < CHOICES; c++) {
            int k = (c + r) % CHOICES;    /* lengths in varying order */
            int64_t at = c == d.gold ? a + 48 : (a + 20011 * (c + 1)) % (nw - 400);
            choices[c] = span(text, w, at, ending_words[k]);
        }
        if (hxq_mc_encode(tok, &d, &req[r], &err) < 0) {
            fprintf(stderr, "bench_mc: %s\n", err.msg);
            return 3;
        }
        int64_t longest = 0;
        for (int c = 0; c < CHOICES; c++) {
            cont_tokens += req[r].n_cont[c];
            fed += req[r].n_cont[c] > 1 ? req[r].n_cont[c] - 1 : 0;  /* not its last */
            longest = req[r].n_cont[c] > longest ? req[r].n_cont[c] : longest;
            free(choices[c]);
        }
        ctx_tokens += req[r].n_ctx;
        longest_total += longest;
        fed += req[r].n_ctx;
        free(d.context);
    }
    hxq_engine_opts o = hxq_engine_opts_default();
    o.threads = threads;
    o.n_seq = CHOICES;
    o.max_ctx = o.max_batch = 512;
    float *logits = malloc((size_t)512 * (size_t)m.vocab * sizeof(float));
    if (!logits || hxq_engine_create(&m, &o, &e, &err) < 0) {
        fprintf(stderr, "bench_mc: %s\n", err.msg[0] ? err.msg : "out of memory");
        return 3;
    }
    int32_t ids[512];
    double ll[CHOICES];
    timing score = {0, 0}, one = {0, 0}, each = {0, 0};
    int rc = hxq_mc_score(e, &req[0], ll, &err); /* warm the page cache and code paths */
    for (int r = 0; rc == HXQ_OK && r < rows; r++) {
        const hxq_mc_request *q = &req[r];
        double w0 = hxq_now(), c0 = cpu_now();
        rc = hxq_mc_score(e, q, ll, &err);
        add_since(&score, w0, c0);
        int longest = 0;
        for (int c = 1; c < CHOICES; c++)
            longest = q->n_cont[c] > q->n_cont[longest] ? c : longest;
        for (int c = -1; rc == HXQ_OK && c < CHOICES; c++) {
            int k = c < 0 ? longest : c;     /* c = -1: the "one" pass */
            memcpy(ids, q->ctx, (size_t)q->n_ctx * sizeof(int32_t));
            memcpy(ids + q->n_ctx, q->cont[k], (size_t)q->n_cont[k] * sizeof(int32_t));
            hxq_forward_out out = {logits, 1, NULL, NULL};
            hxq_engine_reset(e);
            w0 = hxq_now();
            c0 = cpu_now();
            rc = hxq_engine_forward(e, ids, q->n_ctx + q->n_cont[k], &out, &err);
            add_since(c < 0 ? &one : &each, w0, c0);
        }
    }
    if (rc < 0) {
        fprintf(stderr, "bench_mc: %s\n", err.msg);
        return 3;
    }
    printf("rows %d  tokens per row: context %.1f, endings %.1f in all, longest %.1f\n", rows,
           (double)ctx_tokens / rows, (double)cont_tokens / rows, (double)longest_total / rows);
    printf("%-6s %10s %10s\n", "", "wall s", "cpu s");
    printf("%-6s %10.3f %10.3f   per row: hxq_mc_score\n", "score", score.wall / rows,
           score.cpu / rows);
    printf("%-6s %10.3f %10.3f   per row: one forward of context + longest ending\n", "one",
           one.wall / rows, one.cpu / rows);
    printf("%-6s %10.3f %10.3f   per row: a forward of context + ending for each ending\n",
           "each", each.wall / rows, each.cpu / rows);
    printf("score / one: %.2fx wall, %.2fx cpu;  each / score: %.2fx wall, %.2fx cpu\n",
           score.wall / one.wall, score.cpu / one.cpu, each.wall / score.wall,
           each.cpu / score.cpu);
    /* what no scheme can avoid: every ending's tokens go through the model */
    printf("tokens fed: score %.1f, one %.1f per row (%.2fx)\n", (double)fed / rows,
           (double)(ctx_tokens + longest_total) / rows,
           (double)fed / (double)(ctx_tokens + longest_total));
    for (int r = 0; r < rows; r++)
        hxq_mc_request_free(&req[r]);
    free(req);
    free(logits);
    free(w);
    free(text);
    hxq_engine_free(e);
    hxq_model_free(&m);
    hxq_tokenizer_free(tok);
    return 0;
}
