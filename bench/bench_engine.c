/* bench_engine.c - prompt and decode speed of the CPU engine on a model
 * folder, from token ids (no tokenizer needed).
 *
 *   bench_engine DIR THREADS PROMPT_TOKENS DECODE_TOKENS [SEQS]
 *
 * Prints one line: "prompt_tok_s P decode_tok_s D active_bytes B
 * prompt_cpu C decode_cpu C" where B is the weight bytes read per decoded
 * token (hxq_model_active_bytes) and the cpu figures are the process's
 * CPU seconds per wall second in each phase (close to THREADS on an idle
 * machine, lower when other work shares the cores).
 *
 * With SEQS > 1, the decode phase is that of a server with SEQS busy
 * slots: SEQS sequences, each prefilled with its own PROMPT_TOKENS
 * tokens, then DECODE_TOKENS steps of one hxq_engine_forward_seqs call
 * with one greedy token per sequence; decode_tok_s counts the tokens of
 * all sequences. The line then starts with "seqs SEQS". */
#include "hxq_infer.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int32_t argmax(const float *v, int64_t n)
{
    int32_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = (int32_t)i;
    return best;
}

/* SEQS > 1: each sequence's prompt (ids + its offset), then decode steps
 * over all sequences at once. */
static int bench_seqs(hxq_engine *e, const hxq_model *m, int seqs, const int32_t *ids,
                      int64_t np, int64_t nd, hxq_error *err)
{
    float *logits = malloc((size_t)(seqs * m->vocab) * sizeof(float));
    int32_t *prompt = malloc((size_t)np * sizeof(int32_t));
    int32_t *next = malloc((size_t)seqs * sizeof(int32_t));
    hxq_seq_part *parts = malloc((size_t)seqs * sizeof(hxq_seq_part));
    if (!logits || !prompt || !next || !parts) {
        free(logits);
        free(prompt);
        free(next);
        free(parts);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    int rc = HXQ_OK;
    double t0 = hxq_now(), c0 = cpu_now();
    for (int q = 0; rc == HXQ_OK && q < seqs; q++) {
        for (int64_t i = 0; i < np; i++)
            prompt[i] = (int32_t)((ids[i] + 7919 * q) % m->vocab);
        parts[0] = (hxq_seq_part){q, prompt, np, logits + q * m->vocab, 0};
        rc = hxq_engine_forward_seqs(e, parts, 1, err);
    }
    double tp = hxq_now() - t0, cp = cpu_now() - c0;
    t0 = hxq_now();
    c0 = cpu_now();
    for (int64_t i = 0; rc == HXQ_OK && i < nd; i++) {
        for (int q = 0; q < seqs; q++) {
            next[q] = argmax(logits + q * m->vocab, m->vocab);
            parts[q] = (hxq_seq_part){q, next + q, 1, logits + q * m->vocab, 0};
        }
        rc = hxq_engine_forward_seqs(e, parts, seqs, err);
    }
    double td = hxq_now() - t0, cd = cpu_now() - c0;
    if (rc == HXQ_OK)
        printf("seqs %d prompt_tok_s %.2f decode_tok_s %.2f active_bytes %llu prompt_cpu %.2f "
               "decode_cpu %.2f\n", seqs, (double)(seqs * np) / tp, (double)(seqs * nd) / td,
               (unsigned long long)hxq_model_active_bytes(m), cp / tp, cd / td);
    free(logits);
    free(prompt);
    free(next);
    free(parts);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: bench_engine DIR THREADS PROMPT_TOKENS DECODE_TOKENS [SEQS]\n");
        return 2;
    }
    int threads = atoi(argv[2]);
    int64_t np = atoll(argv[3]), nd = atoll(argv[4]);
    int seqs = argc == 6 ? atoi(argv[5]) : 1;
    if (threads < 1 || np < 1 || nd < 1 || seqs < 1 || seqs > 256) {
        fprintf(stderr, "bench_engine: counts must be positive\n");
        return 2;
    }
    hxq_error err = {0};
    hxq_model m;
    hxq_engine *e = NULL;
    if (hxq_model_load(argv[1], &m, &err) < 0) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 3;
    }
    hxq_engine_opts o = hxq_engine_opts_default();
    o.threads = threads;
    o.max_ctx = np + nd + 1;
    o.n_seq = seqs;
    float *logits = malloc((size_t)m.vocab * sizeof(float));
    int32_t *ids = malloc((size_t)np * sizeof(int32_t));
    if (!logits || !ids || hxq_engine_create(&m, &o, &e, &err) < 0) {
        fprintf(stderr, "bench_engine: %s\n", err.msg[0] ? err.msg : "out of memory");
        return 3;
    }
    uint64_t s = 12345;
    for (int64_t i = 0; i < np; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((s >> 33) % (uint64_t)m.vocab);
    }
    hxq_forward_out out = {logits, 0, NULL, NULL};
    /* warm the page cache and the code paths once */
    int32_t warm = ids[0];
    int rc = hxq_engine_forward(e, &warm, 1, &out, &err);
    hxq_engine_reset(e);
    if (seqs > 1) {
        if (rc == HXQ_OK)
            rc = bench_seqs(e, &m, seqs, ids, np, nd, &err);
        if (rc < 0)
            fprintf(stderr, "bench_engine: %s\n", err.msg);
        hxq_engine_free(e);
        hxq_model_free(&m);
        free(logits);
        free(ids);
        return rc < 0 ? 3 : 0;
    }
    double t0 = hxq_now(), c0 = cpu_now();
    if (rc == HXQ_OK)
        rc = hxq_engine_forward(e, ids, np, &out, &err);
    double tp = hxq_now() - t0, cp = cpu_now() - c0;
    t0 = hxq_now();
    c0 = cpu_now();
    for (int64_t i = 0; rc == HXQ_OK && i < nd; i++) {
        int32_t best = argmax(logits, m.vocab);
        rc = hxq_engine_forward(e, &best, 1, &out, &err);
    }
    double td = hxq_now() - t0, cd = cpu_now() - c0;
    if (rc < 0) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 3;
    }
    printf("prompt_tok_s %.2f decode_tok_s %.2f active_bytes %llu prompt_cpu %.2f "
           "decode_cpu %.2f\n", (double)np / tp, (double)nd / td,
           (unsigned long long)hxq_model_active_bytes(&m), cp / tp, cd / td);
    hxq_engine_free(e);
    hxq_model_free(&m);
    free(logits);
    free(ids);
    return 0;
}
