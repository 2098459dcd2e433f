/* bench_synth.c - writes a synthetic full-width OLMoE folder in HXQ form
 * for the engine benchmark: real OLMoE-1B-7B sizes (hidden 2048, 64
 * experts of 1024, top-8, vocab 50304) with fewer layers.
 *
 *   bench_synth DIR [LAYERS]
 *
 * Every Linear of the layers is stored as HXQ (a codebook of the 256
 * N(0, 0.02) quantiles, random indices, 64 sidecar entries per matrix);
 * embeddings, lm_head and norms are BF16. Speed does not depend on the
 * values, and `hxq compress` of a 3.8 GB model takes hours on two cores,
 * so bench/engine.sh writes the HXQ model this way and the dense one with
 * `hxq synth`. */
#include "hxq_codec.h"
#include "hxq_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { H = 2048, NI = 1024, E = 64, K = 8, V = 50304, HEADS = 16, SIDE = 64 };

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next_u64(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

/* Approximately N(0, 1): sum of four uniforms, rescaled (fast, and the
 * exact shape does not matter for speed). */
static float gauss(rng *r)
{
    uint64_t u = next_u64(r);
    float s = 0;
    for (int i = 0; i < 4; i++)
        s += (float)((u >> (16 * i)) & 0xffff) * (1.0f / 65536.0f);
    return (s - 2.0f) * 1.7320508f;
}

typedef struct lin {
    char name[128];
    int64_t rows, cols;
} lin;

static int n_lins(int layers)
{
    return layers * (5 + 3 * E);
}

static void lin_names(int layers, lin *out)
{
    int n = 0;
    const char *attn[4] = {"q_proj", "k_proj", "v_proj", "o_proj"};
    for (int l = 0; l < layers; l++) {
        for (int a = 0; a < 4; a++) {
            snprintf(out[n].name, sizeof(out[n].name), "model.layers.%d.self_attn.%s", l,
                     attn[a]);
            out[n].rows = H, out[n].cols = H;
            n++;
        }
        snprintf(out[n].name, sizeof(out[n].name), "model.layers.%d.mlp.gate", l);
        out[n].rows = E, out[n].cols = H;
        n++;
        for (int e = 0; e < E; e++) {
            const char *w[3] = {"gate_proj", "up_proj", "down_proj"};
            for (int k = 0; k < 3; k++) {
                snprintf(out[n].name, sizeof(out[n].name), "model.layers.%d.mlp.experts.%d.%s",
                         l, e, w[k]);
                out[n].rows = k == 2 ? H : NI;
                out[n].cols = k == 2 ? NI : H;
                n++;
            }
        }
    }
}

static int write_config(const char *dir, int layers, const lin *lins, int nl)
{
    char *path = hxq_path_join(dir, "config.json");
    FILE *f = path ? fopen(path, "w") : NULL;
    free(path);
    if (!f)
        return -1;
    fprintf(f, "{\"architectures\": [\"OlmoeForCausalLM\"], \"model_type\": \"olmoe\",\n"
               " \"hidden_size\": %d, \"intermediate_size\": %d, \"num_hidden_layers\": %d,\n"
               " \"num_attention_heads\": %d, \"num_key_value_heads\": %d, \"num_experts\": %d,\n"
               " \"num_experts_per_tok\": %d, \"vocab_size\": %d, \"max_position_embeddings\": "
               "4096,\n \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"norm_topk_prob\": "
               "false,\n \"tie_word_embeddings\": false, \"attention_bias\": false,\n"
               " \"eos_token_id\": 50279, \"pad_token_id\": 1, \"bos_token_id\": null,\n"
               " \"torch_dtype\": \"bfloat16\"",
            H, NI, layers, HEADS, HEADS, E, K, V);
    {
        fprintf(f, ",\n \"quantization_config\": {\"quant_method\": \"hxq\", \"codebook_size\": "
                   "256, \"sidecar_enabled\": true, \"exact_patterns\": [\"embed_tokens\", "
                   "\"lm_head\", \"norm\"], \"compressed_modules\": [");
        for (int i = 0; i < nl; i++)
            fprintf(f, "%s\"%s\"", i ? ", " : "", lins[i].name);
        fprintf(f, "]}");
    }
    fprintf(f, "}\n");
    return fclose(f);
}

static int add(hxq_stw *w, const char *name, const char *suffix, hxq_dtype dt, int nd,
               int64_t a, int64_t b, hxq_error *err)
{
    char n[160];
    snprintf(n, sizeof(n), "%s%s", name, suffix);
    int64_t shape[2] = {a, b};
    return hxq_stw_add(w, n, dt, nd, shape, err);
}

/* Writes n BF16 values: N(0, 0.02), or 1.0 for norms. */
static int put_bf16(hxq_stw *w, rng *r, int64_t n, int ones, uint16_t *buf, hxq_error *err)
{
    const int64_t chunk = 1 << 20;
    for (int64_t off = 0; off < n; off += chunk) {
        int64_t m = n - off < chunk ? n - off : chunk;
        for (int64_t i = 0; i < m; i++)
            buf[i] = hxq_f32_to_bf16(ones ? 1.0f : 0.02f * gauss(r));
        HXQ_TRY(hxq_stw_write(w, buf, (uint64_t)m * 2, err));
    }
    return HXQ_OK;
}

static int put_hxq(hxq_stw *w, rng *r, const lin *l, uint8_t *buf, hxq_error *err)
{
    float cb[256];
    for (int i = 0; i < 256; i++) /* normal quantiles by inverse-CDF bisection */
    {
        double p = (i + 0.5) / 256.0, lo = -6, hi = 6;
        for (int it = 0; it < 60; it++) {
            double mid = 0.5 * (lo + hi);
            if (0.5 * erfc(-mid / sqrt(2.0)) < p)
                lo = mid;
            else
                hi = mid;
        }
        cb[i] = (float)(0.02 * lo);
    }
    HXQ_TRY(hxq_stw_write(w, cb, sizeof(cb), err));
    int64_t n = l->rows * l->cols;
    const int64_t chunk = 1 << 22;
    for (int64_t off = 0; off < n; off += chunk) {
        int64_t m = n - off < chunk ? n - off : chunk;
        for (int64_t i = 0; i < m; i += 8) {
            uint64_t u = next_u64(r);
            memcpy(buf + i, &u, (size_t)(m - i < 8 ? m - i : 8));
        }
        HXQ_TRY(hxq_stw_write(w, buf, (uint64_t)m, err));
    }
    int64_t pos[SIDE];
    float val[SIDE];
    for (int s = 0; s < SIDE; s++) {
        pos[s] = (int64_t)s * (n / SIDE);
        val[s] = 0.1f * gauss(r);
    }
    HXQ_TRY(hxq_stw_write(w, pos, sizeof(pos), err));
    return hxq_stw_write(w, val, sizeof(val), err);
}

static int synth(const char *dir, int layers, hxq_error *err)
{
    int nl = n_lins(layers);
    lin *lins = calloc((size_t)nl, sizeof(lin));
    uint16_t *b16 = malloc((size_t)(1 << 20) * 2);
    uint8_t *b8 = malloc((size_t)1 << 22);
    char *path = hxq_path_join(dir, "model.safetensors");
    hxq_stw *w = NULL;
    rng r = {0x9E3779B97F4A7C15ull};
    int rc = lins && b16 && b8 && path ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (rc == HXQ_OK) {
        lin_names(layers, lins);
        rc = write_config(dir, layers, lins, nl) == 0
                 ? HXQ_OK
                 : hxq_err(err, HXQ_ERR_IO, "%s: cannot write config.json", dir);
    }
    if (rc == HXQ_OK)
        rc = hxq_stw_create(path, &w, err);
    /* declare: embeddings, lm_head, final norm, per-layer norms, linears */
    const char *norms[4] = {"input_layernorm", "post_attention_layernorm", "self_attn.q_norm",
                            "self_attn.k_norm"};
    char nm[128];
    if (rc == HXQ_OK)
        rc = add(w, "model.embed_tokens.weight", "", HXQ_DT_BF16, 2, V, H, err);
    if (rc == HXQ_OK)
        rc = add(w, "lm_head.weight", "", HXQ_DT_BF16, 2, V, H, err);
    if (rc == HXQ_OK)
        rc = add(w, "model.norm.weight", "", HXQ_DT_BF16, 1, H, 0, err);
    for (int l = 0; rc == HXQ_OK && l < layers; l++)
        for (int k = 0; rc == HXQ_OK && k < 4; k++) {
            snprintf(nm, sizeof(nm), "model.layers.%d.%s.weight", l, norms[k]);
            rc = add(w, nm, "", HXQ_DT_BF16, 1, H, 0, err);
        }
    for (int i = 0; rc == HXQ_OK && i < nl; i++) {
        rc = add(w, lins[i].name, ".codebook", HXQ_DT_F32, 1, 256, 0, err);
        if (rc == HXQ_OK)
            rc = add(w, lins[i].name, ".indices", HXQ_DT_U8, 2, lins[i].rows, lins[i].cols, err);
        if (rc == HXQ_OK)
            rc = add(w, lins[i].name, ".sidecar_positions", HXQ_DT_I64, 1, SIDE, 0, err);
        if (rc == HXQ_OK)
            rc = add(w, lins[i].name, ".sidecar_values", HXQ_DT_F32, 1, SIDE, 0, err);
    }
    if (rc == HXQ_OK)
        rc = hxq_stw_begin(w, err);
    if (rc == HXQ_OK)
        rc = put_bf16(w, &r, (int64_t)V * H, 0, b16, err);
    if (rc == HXQ_OK)
        rc = put_bf16(w, &r, (int64_t)V * H, 0, b16, err);
    for (int k = 0; rc == HXQ_OK && k < 1 + 4 * layers; k++)
        rc = put_bf16(w, &r, H, 1, b16, err);
    for (int i = 0; rc == HXQ_OK && i < nl; i++)
        rc = put_hxq(w, &r, &lins[i], b8, err);
    if (rc == HXQ_OK) {
        rc = hxq_stw_finish(w, err);
        w = NULL;
    }
    hxq_stw_abort(w);
    free(path);
    free(lins);
    free(b16);
    free(b8);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_synth DIR [LAYERS]\n");
        return 2;
    }
    int layers = argc > 2 ? atoi(argv[2]) : 4;
    if (layers < 1 || layers > 64) {
        fprintf(stderr, "bench_synth: LAYERS must be 1..64\n");
        return 2;
    }
    hxq_error err = {0};
    int rc = synth(argv[1], layers, &err);
    if (rc < 0) {
        fprintf(stderr, "bench_synth: %s\n", err.msg);
        return 3;
    }
    return 0;
}
