/* cuda_model_check.h - the model comparison shared by test_cuda_model.c
 * (real GPU) and test_cuda_host.c (host emulation of the kernels): a CUDA
 * engine against the CPU engine and the goldens. */
#ifndef HXQ_CUDA_MODEL_CHECK_H
#define HXQ_CUDA_MODEL_CHECK_H

#include "hxq_infer.h"
#include "hxq_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-3

__attribute__((unused)) static void expect_close(const float *got, const float *want, int64_t n, const char *what,
                         const char *prompt)
{
    double worst = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= worst)) { /* NaN lands here and fails below */
            worst = d;
            at = i;
        }
    }
    ck_assert_msg(worst <= TOL, "%s %s: max |cuda - cpu| = %g at %lld (tolerance %g)", prompt,
                  what, worst, (long long)at, TOL);
}

/* Outputs of T tokens from the CPU (c) and CUDA (g) engines: logits [T, V],
 * hidden states [NL + 1, T, H], router logits [NL, T, E]. The CUDA logits
 * start as NaN, so an element the engine does not write fails. */
typedef struct cuda_outs {
    float *lc, *lg, *hc, *hg, *rc, *rg;
} cuda_outs;

__attribute__((unused)) static void cuda_outs_alloc(cuda_outs *o, int64_t T, int64_t V,
                                                    int64_t H, int64_t E, int64_t NL)
{
    o->lc = malloc((size_t)(T * V) * sizeof(float));
    o->lg = malloc((size_t)(T * V) * sizeof(float));
    o->hc = malloc((size_t)((NL + 1) * T * H) * sizeof(float));
    o->hg = malloc((size_t)((NL + 1) * T * H) * sizeof(float));
    o->rc = malloc((size_t)(NL * T * E) * sizeof(float));
    o->rg = malloc((size_t)(NL * T * E) * sizeof(float));
    ck_assert(o->lc && o->lg && o->hc && o->hg && o->rc && o->rg);
    for (int64_t i = 0; i < T * V; i++)
        o->lg[i] = NAN;
}

__attribute__((unused)) static void cuda_outs_free(cuda_outs *o)
{
    free(o->lc);
    free(o->lg);
    free(o->hc);
    free(o->hg);
    free(o->rc);
    free(o->rg);
}

/* Every public prompt of the golden file: the prompt's outputs on the CUDA
 * engine vs the CPU engine, then 32 greedy steps (one-token decode, the
 * graph path) vs the recorded ids. max_batch splits prompts into chunks. */
__attribute__((unused)) static void cuda_check_model(const char *dir, const char *gpath, int64_t max_batch)
{
    hxq_error err = {0};
    hxq_model m;
    ck_assert_msg(hxq_model_load(dir, &m, &err) == HXQ_OK, "%s", err.msg);
    hxq_st_file *g;
    ck_assert_msg(hxq_st_open(gpath, &g, &err) == HXQ_OK, "%s", err.msg);
    hxq_engine_opts o = hxq_engine_opts_default();
    o.max_ctx = 128;
    hxq_engine *cpu, *gpu;
    ck_assert_msg(hxq_engine_create(&m, &o, &cpu, &err) == HXQ_OK, "%s", err.msg);
    o.device = HXQ_DEVICE_CUDA;
    o.max_batch = max_batch;
    ck_assert_msg(hxq_engine_create(&m, &o, &gpu, &err) == HXQ_OK, "%s", err.msg);
    ck_assert_str_eq(hxq_engine_device_name(gpu), "cuda");
    const int64_t V = m.vocab, H = m.hidden, E = m.n_experts, NL = m.n_layers;
    int prompts = 0;
    for (int p = 0;; p++) {
        char name[64], prompt[32];
        snprintf(prompt, sizeof(prompt), "public%d", p);
        snprintf(name, sizeof(name), "%s.ids", prompt);
        const hxq_tensor *tid = hxq_st_find(g, name);
        if (!tid)
            break;
        snprintf(name, sizeof(name), "%s.greedy32", prompt);
        const hxq_tensor *tgr = hxq_st_find(g, name);
        ck_assert_ptr_nonnull(tgr);
        int32_t *ids = hxq_test_ids_of(tid), *greedy = hxq_test_ids_of(tgr);
        const int64_t T = tid->nelem;
        cuda_outs bufs;
        cuda_outs_alloc(&bufs, T, V, H, E, NL);
        float *lc = bufs.lc, *lg = bufs.lg, *hc = bufs.hc, *hg = bufs.hg;
        float *rc = bufs.rc, *rg = bufs.rg;
        hxq_engine_reset(cpu);
        hxq_engine_reset(gpu);
        hxq_forward_out oc = {lc, 1, NULL, NULL}, og = {lg, 1, NULL, NULL};
        ck_assert_msg(hxq_engine_forward(cpu, ids, T, &oc, &err) == HXQ_OK, "%s", err.msg);
        ck_assert_msg(hxq_engine_forward(gpu, ids, T, &og, &err) == HXQ_OK, "%s", err.msg);
        expect_close(lg, lc, T * V, "prompt logits", prompt);
        if (T <= max_batch) { /* hidden states and router logits: one call */
            hxq_forward_out pc = {NULL, 0, hc, rc}, pg = {NULL, 0, hg, rg};
            hxq_engine_reset(cpu);
            hxq_engine_reset(gpu);
            ck_assert_msg(hxq_engine_forward(cpu, ids, T, &pc, &err) == HXQ_OK, "%s", err.msg);
            ck_assert_msg(hxq_engine_forward(gpu, ids, T, &pg, &err) == HXQ_OK, "%s", err.msg);
            expect_close(hg, hc, (NL + 1) * T * H, "hidden states", prompt);
            expect_close(rg, rc, NL * T * E, "router logits", prompt);
        }
        /* greedy: 32 one-token steps after the prompt */
        float *last = lg + (T - 1) * V;
        int32_t next = hxq_test_argmax(last, V);
        for (int s = 0; s < 32; s++) {
            ck_assert_msg(next == greedy[s], "%s greedy step %d: cuda %d, golden %d", prompt, s,
                          next, greedy[s]);
            hxq_forward_out od = {lg, 0, NULL, NULL};
            ck_assert_msg(hxq_engine_forward(gpu, &next, 1, &od, &err) == HXQ_OK, "%s",
                          err.msg);
            next = hxq_test_argmax(lg, V);
        }
        free(ids);
        free(greedy);
        cuda_outs_free(&bufs);
        prompts++;
    }
    ck_assert_int_gt(prompts, 0);
    hxq_engine_free(cpu);
    hxq_engine_free(gpu);
    hxq_st_close(g);
    hxq_model_free(&m);
}

#endif
