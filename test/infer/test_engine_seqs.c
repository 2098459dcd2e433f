/* test_engine_seqs.c - an engine holding several sequences: a decode step
 * of several sequences gives each exactly the logits it gets alone, prompt
 * parts batched together agree with separate calls, copies and rewinds of
 * one sequence leave the others alone, calls split across backend batches,
 * and bad calls change nothing. On the dense and the HXQ tiny-olmoe. */
#include "hxq_infer.h"
#include "hxq_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSEQ 3
#define STEPS 6
#define TOL 1e-4

/* Three prompts of different lengths (tiny-olmoe ids). */
static const int32_t P0[] = {643, 1121, 27, 200, 2209, 333, 2626};
static const int32_t P1[] = {816, 27, 200};
static const int32_t P2[] = {399, 306, 13, 532, 323};
static const int32_t *const PROMPT[NSEQ] = {P0, P1, P2};
static const int64_t PLEN[NSEQ] = {7, 3, 5};

typedef struct fixture {
    hxq_model m;
    hxq_engine *e;
} fixture;

static void open_engine(fixture *f, const char *dir, int n_seq, int threads,
                        int64_t max_batch)
{
    hxq_error err = {0};
    if (!f->m.layers)
        ck_assert_msg(hxq_model_load(dir, &f->m, &err) == HXQ_OK, "%s", err.msg);
    hxq_engine_opts o = hxq_engine_opts_default();
    o.threads = threads;
    o.n_seq = n_seq;
    o.max_ctx = 64;
    o.max_batch = max_batch;
    ck_assert_msg(hxq_engine_create(&f->m, &o, &f->e, &err) == HXQ_OK, "%s", err.msg);
}

static void close_engine(fixture *f)
{
    hxq_engine_free(f->e);
    f->e = NULL;
}

static float *logits_buf(const fixture *f, int64_t rows)
{
    float *p = calloc((size_t)(rows * f->m.vocab), sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

static double max_abs_diff(const float *a, const float *b, int64_t n)
{
    double d = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= d))
            d = e;
    }
    return d;
}

/* Greedy continuation of each prompt alone on a one-sequence engine:
 * want[s][k] are the logits of step k (k = 0: after the prompt). */
static void alone(const char *dir, int threads, float *want[NSEQ])
{
    fixture f = {0};
    open_engine(&f, dir, 1, threads, 0);
    int64_t V = f.m.vocab;
    hxq_error err = {0};
    for (int s = 0; s < NSEQ; s++) {
        hxq_engine_reset(f.e);
        hxq_forward_out o = {want[s], 0, NULL, NULL};
        ck_assert_msg(hxq_engine_forward(f.e, PROMPT[s], PLEN[s], &o, &err) == HXQ_OK, "%s",
                      err.msg);
        for (int k = 1; k <= STEPS; k++) {
            int32_t id = hxq_test_argmax(want[s] + (k - 1) * V, V);
            hxq_forward_out ok = {want[s] + k * V, 0, NULL, NULL};
            ck_assert_msg(hxq_engine_forward(f.e, &id, 1, &ok, &err) == HXQ_OK, "%s", err.msg);
        }
    }
    close_engine(&f);
    hxq_model_free(&f.m);
}

/* The same continuations on one engine: prompts prefilled together in one
 * call (its logits go to got[s] row 0); then, as a server does, each
 * prompt prefilled alone (the cache a lone run has) and every step of the
 * three sequences in one call. */
static void together(const char *dir, int threads, float *got[NSEQ])
{
    fixture f = {0};
    open_engine(&f, dir, NSEQ, threads, 0);
    int64_t V = f.m.vocab;
    hxq_error err = {0};
    hxq_seq_part parts[NSEQ];
    int32_t next[NSEQ];
    for (int s = 0; s < NSEQ; s++)
        parts[s] = (hxq_seq_part){s, PROMPT[s], PLEN[s], got[s], 0};
    ck_assert_msg(hxq_engine_forward_seqs(f.e, parts, NSEQ, &err) == HXQ_OK, "%s", err.msg);
    float *prompt_logits = logits_buf(&f, 1);
    for (int s = 0; s < NSEQ; s++) {
        ck_assert(hxq_engine_seq_rewind(f.e, s, 0, &err) == HXQ_OK);
        hxq_seq_part one = {s, PROMPT[s], PLEN[s], prompt_logits, 0};
        ck_assert_msg(hxq_engine_forward_seqs(f.e, &one, 1, &err) == HXQ_OK, "%s", err.msg);
    }
    free(prompt_logits);
    for (int k = 1; k <= STEPS; k++) {
        for (int s = 0; s < NSEQ; s++) {
            next[s] = hxq_test_argmax(got[s] + (k - 1) * V, V);
            parts[s] = (hxq_seq_part){s, &next[s], 1, got[s] + k * V, 0};
        }
        ck_assert_msg(hxq_engine_forward_seqs(f.e, parts, NSEQ, &err) == HXQ_OK, "%s",
                      err.msg);
    }
    for (int s = 0; s < NSEQ; s++)
        ck_assert_int_eq(hxq_engine_seq_pos(f.e, s), PLEN[s] + STEPS);
    close_engine(&f);
    hxq_model_free(&f.m);
}

/* Prompt logits within TOL; every batched decode step bit-identical. */
static void check_batched_decode(const char *dir, int threads)
{
    fixture probe = {0};
    hxq_error err = {0};
    ck_assert_msg(hxq_model_load(dir, &probe.m, &err) == HXQ_OK, "%s", err.msg);
    int64_t V = probe.m.vocab;
    hxq_model_free(&probe.m);
    float *want[NSEQ], *got[NSEQ];
    for (int s = 0; s < NSEQ; s++) {
        want[s] = calloc((size_t)((STEPS + 1) * V), sizeof(float));
        got[s] = calloc((size_t)((STEPS + 1) * V), sizeof(float));
        ck_assert(want[s] && got[s]);
    }
    alone(dir, threads, want);
    together(dir, threads, got);
    for (int s = 0; s < NSEQ; s++) {
        double d = max_abs_diff(want[s], got[s], V);
        ck_assert_msg(d < TOL, "%s seq %d: prompt logits differ by %g", dir, s, d);
        for (int k = 1; k <= STEPS; k++)
            ck_assert_msg(!memcmp(want[s] + k * V, got[s] + k * V, (size_t)V * sizeof(float)),
                          "%s seq %d step %d: batched decode differs from a lone decode "
                          "(max %g)", dir, s, k,
                          max_abs_diff(want[s] + k * V, got[s] + k * V, V));
        free(want[s]);
        free(got[s]);
    }
}

START_TEST(test_batched_decode_dense)
{
    check_batched_decode(HXQ_FIXTURE_DENSE, 2);
}
END_TEST

START_TEST(test_batched_decode_hxq)
{
    check_batched_decode(HXQ_FIXTURE_HELIX, 2);
}
END_TEST

START_TEST(test_batched_decode_one_thread)
{
    check_batched_decode(HXQ_FIXTURE_HELIX, 1);
}
END_TEST

/* seq_copy of a context, then a continuation on the copy, equals the
 * whole text on a fresh sequence; the source keeps its own state. */
START_TEST(test_seq_copy)
{
    fixture f = {0};
    open_engine(&f, HXQ_FIXTURE_DENSE, 2, 2, 0);
    int64_t V = f.m.vocab;
    hxq_error err = {0};
    float *whole = logits_buf(&f, 7), *cont = logits_buf(&f, 3), *src = logits_buf(&f, 1);
    hxq_forward_out ow = {whole, 1, NULL, NULL};
    ck_assert(hxq_engine_forward(f.e, P0, 7, &ow, &err) == HXQ_OK);
    ck_assert(hxq_engine_rewind(f.e, 4, &err) == HXQ_OK);
    ck_assert(hxq_engine_seq_copy(f.e, 0, 1, &err) == HXQ_OK);
    ck_assert_int_eq(hxq_engine_seq_pos(f.e, 1), 4);
    hxq_seq_part p = {1, P0 + 4, 3, cont, 1};
    ck_assert_msg(hxq_engine_forward_seqs(f.e, &p, 1, &err) == HXQ_OK, "%s", err.msg);
    double d = max_abs_diff(whole + 4 * V, cont, 3 * V);
    ck_assert_msg(d < TOL, "continuation after a copy differs by %g", d);
    ck_assert_int_eq(hxq_engine_seq_pos(f.e, 0), 4);
    /* sequence 0 still holds its 4 tokens: its next token gives whole's row 4 */
    hxq_forward_out os = {src, 0, NULL, NULL};
    ck_assert(hxq_engine_forward(f.e, P0 + 4, 1, &os, &err) == HXQ_OK);
    d = max_abs_diff(whole + 4 * V, src, V);
    ck_assert_msg(d < TOL, "source sequence changed by the copy: %g", d);
    ck_assert(hxq_engine_seq_copy(f.e, 0, 0, &err) == HXQ_OK);
    ck_assert_int_eq(hxq_engine_seq_copy(f.e, 0, 2, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_engine_seq_copy(f.e, -1, 1, &err), HXQ_ERR_INVALID);
    free(whole);
    free(cont);
    free(src);
    close_engine(&f);
    hxq_model_free(&f.m);
}
END_TEST

/* Parts longer than max_batch, with all logits, split across calls. */
START_TEST(test_split_across_batches)
{
    fixture big = {0}, small = {0};
    open_engine(&big, HXQ_FIXTURE_HELIX, NSEQ, 2, 0);
    open_engine(&small, HXQ_FIXTURE_HELIX, NSEQ, 2, 4);
    int64_t V = big.m.vocab;
    hxq_error err = {0};
    float *a[NSEQ], *b[NSEQ];
    hxq_seq_part pa[NSEQ], pb[NSEQ];
    for (int s = 0; s < NSEQ; s++) {
        a[s] = logits_buf(&big, PLEN[s]);
        b[s] = logits_buf(&big, PLEN[s]);
        pa[s] = (hxq_seq_part){s, PROMPT[s], PLEN[s], a[s], s != 1};
        pb[s] = (hxq_seq_part){s, PROMPT[s], PLEN[s], b[s], s != 1};
    }
    ck_assert_msg(hxq_engine_forward_seqs(big.e, pa, NSEQ, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_msg(hxq_engine_forward_seqs(small.e, pb, NSEQ, &err) == HXQ_OK, "%s", err.msg);
    for (int s = 0; s < NSEQ; s++) {
        int64_t rows = s != 1 ? PLEN[s] : 1;
        double d = max_abs_diff(a[s], b[s], rows * V);
        ck_assert_msg(d < TOL, "seq %d: split call differs by %g", s, d);
        ck_assert_int_eq(hxq_engine_seq_pos(small.e, s), PLEN[s]);
        free(a[s]);
        free(b[s]);
    }
    close_engine(&big);
    close_engine(&small);
    hxq_model_free(&big.m);
    hxq_model_free(&small.m);
}
END_TEST

/* Bad calls are refused before any sequence moves. */
START_TEST(test_bad_calls_change_nothing)
{
    fixture f = {0};
    open_engine(&f, HXQ_FIXTURE_DENSE, 2, 1, 0);
    hxq_error err = {0};
    int32_t bad = (int32_t)f.m.vocab;
    hxq_seq_part ok = {0, P1, 3, NULL, 0};
    hxq_seq_part dup[2] = {ok, ok};
    ck_assert_int_eq(hxq_engine_forward_seqs(f.e, dup, 2, &err), HXQ_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "twice"));
    hxq_seq_part range[2] = {ok, {2, P1, 3, NULL, 0}};
    ck_assert_int_eq(hxq_engine_forward_seqs(f.e, range, 2, &err), HXQ_ERR_INVALID);
    hxq_seq_part badid[2] = {ok, {1, &bad, 1, NULL, 0}};
    ck_assert_int_eq(hxq_engine_forward_seqs(f.e, badid, 2, &err), HXQ_ERR_INVALID);
    int32_t *many = calloc(65, sizeof(int32_t));
    hxq_seq_part full[2] = {ok, {1, many, 65, NULL, 0}};
    ck_assert_int_eq(hxq_engine_forward_seqs(f.e, full, 2, &err), HXQ_ERR_RANGE);
    ck_assert_int_eq(hxq_engine_forward_seqs(f.e, full, 0, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_engine_seq_pos(f.e, 0), 0);
    ck_assert_int_eq(hxq_engine_seq_pos(f.e, 1), 0);
    ck_assert_int_eq(hxq_engine_seq_pos(f.e, 2), -1);
    ck_assert_int_eq(hxq_engine_seq_rewind(f.e, 1, 1, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_engine_seq_rewind(f.e, 5, 0, &err), HXQ_ERR_INVALID);
    ck_assert_int_eq(hxq_engine_n_seq(f.e), 2);
    free(many);
    close_engine(&f);
    hxq_model_free(&f.m);
}
END_TEST

static Suite *engine_seqs_suite(void)
{
    Suite *s = suite_create("engine_seqs");
    TCase *tc = tcase_create("seqs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_batched_decode_dense);
    tcase_add_test(tc, test_batched_decode_hxq);
    tcase_add_test(tc, test_batched_decode_one_thread);
    tcase_add_test(tc, test_seq_copy);
    tcase_add_test(tc, test_split_across_batches);
    tcase_add_test(tc, test_bad_calls_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}

HXQ_TEST_MAIN(engine_seqs_suite)
