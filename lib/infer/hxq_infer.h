/*
 * hxq_infer.h - the inference engine (Llama, Mistral, Qwen2/3, Mixtral,
 * Qwen3-MoE, OLMoE): a model as weight views, an engine (KV cache,
 * scratch, threads) running the forward pass on a device, a sampler,
 * generation and perplexity / KL evaluation.
 *
 * Model: hxq_model_load() opens a folder (dense BF16/F16/F32, sharded or
 * not, or HXQ: ours and the reference's layout) and describes every weight
 * as a view into the mapped files (hxq_linear). Nothing is dequantized up
 * front; only the norm vectors (a few KB) are widened to float. The model
 * is immutable after loading and may be shared by several engines.
 *
 * Engine: hxq_engine_create() picks the device backend (the one place a
 * device is chosen: HXQ_DEVICE_CPU, HXQ_DEVICE_CUDA) and allocates the KV
 * caches and scratch once. An engine holds n_seq sequences, each with its
 * own cache and position; hxq_engine_forward() appends tokens to sequence
 * 0 and returns logits, hxq_engine_forward_seqs() runs tokens of several
 * sequences in one pass (a server's slots, the choices of a
 * multiple-choice item); a backend implements the hxq_backend table
 * below.
 *
 * Forward pass: one decoder block for the Llama, Mistral, Qwen2, Qwen3,
 * Mixtral, Qwen3-MoE and OLMoE families, as transformers computes them
 * (docs/ENGINE.md; OLMoE in ../shared/reference/olmoe.md): GQA, optional
 * q/k/v(/o) biases, q/k RMSNorm per head or over the projection, NeoX RoPE
 * (default, linear or llama3 frequencies), sliding windows, a SwiGLU MLP
 * or a softmax router with top-k experts, fp32 activations.
 *
 * Depends on: common, io, codec. Thread-safety: a model is read-only; an
 * engine and a sampler belong to one thread at a time.
 */
#ifndef HXQ_INFER_H
#define HXQ_INFER_H

#include "hxq_codec.h"
#include "hxq_common.h"
#include "hxq_io.h"

#include <stdint.h>

/* ---- model: weights as views ------------------------------------------- */

/* How one weight matrix is stored. */
typedef enum {
    HXQ_WEIGHT_F32 = 0,  /* float [rows, cols] row-major view          */
    HXQ_WEIGHT_BF16,     /* uint16 bf16 [rows, cols] row-major view     */
    HXQ_WEIGHT_F16,      /* uint16 binary16 [rows, cols] row-major view */
    HXQ_WEIGHT_HXQ       /* codebook + U8 indices + sidecar (q)         */
} hxq_weight_kind;

/* A Linear weight W [rows = out, cols = in] (y = W x), or an embedding
 * table [vocab, hidden]. For F32/BF16/F16, data views the mapped file (at
 * least 2-byte aligned, F32 may be unaligned only in malformed files,
 * which the loader rejects). For HXQ, q describes the matrix; its arrays
 * belong to the model (hxq_module) or view the map. */
typedef struct hxq_linear {
    hxq_weight_kind kind;
    int64_t rows, cols;
    const void *data;        /* F32 / BF16 / F16: [rows * cols]          */
    hxq_qmatrix q;           /* HXQ: rows, cols equal the fields above    */
} hxq_linear;

/* How q and k are normalised before RoPE. */
typedef enum {
    HXQ_QK_NORM_NONE = 0,    /* Llama, Mistral, Qwen2, Mixtral              */
    HXQ_QK_NORM_FULL,        /* OLMoE: over the whole projection, before the
                                head split (q [heads x hd], k [kv x hd])    */
    HXQ_QK_NORM_HEAD         /* Qwen3(-MoE): each head, weights [head_dim]  */
} hxq_qk_norm;

/* One decoder layer. Norm weights and biases are owned floats. With QW =
 * n_heads x head_dim and KW = n_kv_heads x head_dim: wq is [QW, H], wk and
 * wv [KW, H], wo [H, QW]. Experts are arrays of n_experts matrices:
 * gate[e], up[e] are [I, H], down[e] is [H, I]; a dense model's MLP is
 * one such "expert" taken with weight 1 and no router. */
typedef struct hxq_layer {
    float *attn_norm;        /* input_layernorm [H]                       */
    float *q_norm, *k_norm;  /* self_attn.{q,k}_norm (see hxq_qk_norm), or NULL */
    float *bq, *bk, *bv, *bo; /* q/k/v/o_proj biases [rows], or NULL       */
    float *ffn_norm;         /* post_attention_layernorm [H]              */
    hxq_linear wq, wk, wv, wo;
    int64_t window;          /* sliding window: the query at position p sees
                                keys at positions > p - window; 0: all     */
    hxq_linear router;       /* MoE: the gate [E, H]; dense: rows 0       */
    hxq_linear *gate, *up, *down;
} hxq_layer;

/* The decoder block is described by the fields below, derived at load
 * time from config.json and the architecture table (lib/infer/arch.c,
 * docs/ENGINE.md); the forward pass reads these, never the model name. */
typedef struct hxq_model {
    hxq_config cfg;          /* config.json; rms_norm_eps and rope_theta
                                hold the family's default when absent     */
    const char *arch;        /* the table row's model_type (static)       */
    int quantized;           /* 1 when the folder has a quantization_config */
    int64_t vocab, hidden, inter, n_layers, n_heads, n_kv_heads, head_dim;
    int64_t n_experts, top_k; /* dense: 1 and 1                           */
    int moe;                 /* 1: softmax router + top-k experts; 0: one
                                SwiGLU MLP                                 */
    int norm_topk;           /* MoE: top-k weights divided by their sum   */
    hxq_qk_norm qk_norm;
    float *rope_inv_freq;    /* [head_dim / 2], owned: transformers' float32
                                inv_freq (default, linear or llama3)       */
    hxq_linear embed;        /* embed_tokens [V, H] (row lookup)          */
    hxq_linear lm_head;      /* [V, H]; the embedding when tied           */
    float *final_norm;       /* model.norm [H], owned                     */
    hxq_layer *layers;       /* [n_layers]                                */
    uint64_t weight_bytes;   /* bytes of all weight data the model views  */
    /* private to the loader */
    hxq_qconfig qcfg;        /* quantization_config when quantized        */
    hxq_ckpt *ckpt;
    hxq_module *modules;     /* HXQ modules (owned small arrays)          */
    int64_t n_modules;
} hxq_model;

/*! hxq_model_load() :
 *  Opens the model folder `dir` (config.json + safetensors, through
 *  hxq_ckpt_open), finds its model_type in the architecture table (llama,
 *  mistral, qwen2, qwen3, mixtral, qwen3_moe, olmoe), checks the config
 *  (sizes, supported options) and that every tensor the family reads is
 *  present with the right shape and a supported dtype, and fills *out
 *  with views. MoE expert weights may be one tensor per expert (the
 *  family's names) or the fused transformers 5 form (experts.gate_up_proj
 *  [E, 2I, H], experts.down_proj [E, H, I]) for dense folders. A folder
 *  with a quantization_config loads each listed module with
 *  hxq_module_load().
 *  @return HXQ_OK; HXQ_ERR_IO; HXQ_ERR_FORMAT (a missing key, a missing or
 *  misshaped tensor: the message names the file and the key or tensor);
 *  HXQ_ERR_UNSUPPORTED (an unknown model_type, listing the supported ones;
 *  a rope type other than default/linear/llama3; other options the engine
 *  does not implement); HXQ_ERR_NOMEM. *out is zeroed on failure. Free
 *  with hxq_model_free(). */
int hxq_model_load(const char *dir, hxq_model *out, hxq_error *err);

/*! hxq_model_free() : unmaps and frees what the model owns; the struct
 *  itself is the caller's. NULL is a no-op. */
void hxq_model_free(hxq_model *m);

/*! hxq_model_active_bytes() : weight bytes read to decode one token
 *  (attention, router, top_k experts per layer, lm_head, one embedding
 *  row), for bandwidth figures. */
uint64_t hxq_model_active_bytes(const hxq_model *m);

/*! hxq_linear_row_f32() : row r of a weight (any kind, sidecar applied)
 *  into out[cols]. Used for embedding lookups. No bounds check. */
void hxq_linear_row_f32(const hxq_linear *w, int64_t r, float *out);

/* ---- engine --------------------------------------------------------------- */

typedef enum { HXQ_DEVICE_CPU = 0, HXQ_DEVICE_CUDA = 1 } hxq_device;

typedef struct hxq_engine_opts {
    hxq_device device;
    int threads;             /* <= 0: all online CPUs                     */
    int64_t max_ctx;         /* KV cache length per sequence; <= 0:
                                max_position_embeddings                   */
    int64_t max_batch;       /* tokens per backend call, all sequences
                                together; <= 0: 512                       */
    int n_seq;               /* sequences, each with its own KV cache;
                                <= 0: 1                                   */
} hxq_engine_opts;

/*! hxq_engine_opts_default() : CPU, all CPUs, full context, batch 512,
 *  one sequence. */
hxq_engine_opts hxq_engine_opts_default(void);

/* What one forward call returns, all optional (NULL = not wanted).
 * n is the number of tokens of the call. */
typedef struct hxq_forward_out {
    float *logits;           /* [n, V] when all_logits, else [V] (last)   */
    int all_logits;
    float *hidden;           /* [n_layers + 1, n, H]: transformers'
                                output_hidden_states (0 = embeddings, J =
                                output of layer J-1, the last one after
                                the final norm)                          */
    float *router_logits;    /* [n_layers, n, E], before the softmax      */
} hxq_forward_out;

/* One sequence's tokens in a batched forward call. */
typedef struct hxq_seq_part {
    int seq;                 /* 0 .. n_seq - 1; at most once per call     */
    const int32_t *ids;      /* appended at that sequence's position      */
    int64_t n;               /* >= 1                                      */
    float *logits;           /* NULL, or [V] (its last token's), or [n, V]
                                with all_logits                           */
    int all_logits;
} hxq_seq_part;

/* What the engine hands a backend: parts of distinct sequences with their
 * positions resolved (part i covers positions pos[i] .. pos[i] + n - 1 of
 * its sequence; ids in range, pos + n <= max_ctx and the total of n <=
 * max_batch are checked by the engine). hidden / router_logits (the
 * layouts of hxq_forward_out, NULL = not wanted) come only with one part. */
typedef struct hxq_backend_batch {
    const hxq_seq_part *parts;
    const int64_t *pos;
    int n_parts;
    int64_t n_tokens;        /* sum of the parts' n                       */
    float *hidden;
    float *router_logits;
} hxq_backend_batch;

/* A device backend. create() gets the loaded model and the resolved
 * options (threads, max_ctx, max_batch, n_seq filled in) and returns its
 * private state, which owns the KV caches; destroy() frees it. forward()
 * processes a batch with the cache of each sequence's earlier positions
 * already filled, writes the cache for the new positions and fills each
 * part's logits (NULL: none wanted). Positions at or after a part's pos
 * hold stale data after a rewind and must simply be overwritten. When
 * every part has n == 1, each token's results must equal those of a call
 * with that part alone, bit for bit. seq_copy() makes the first n cached
 * positions of dst those of src (NULL when the backend has one sequence).
 * The engine selects a backend in infer_backend_select() (engine.c). */
typedef struct hxq_backend {
    const char *name;
    int (*create)(const hxq_model *m, const hxq_engine_opts *o, void **state,
                  hxq_error *err);
    void (*destroy)(void *state);
    int (*forward)(void *state, const hxq_backend_batch *b, hxq_error *err);
    void (*seq_copy)(void *state, int src, int dst, int64_t n);
} hxq_backend;

typedef struct hxq_engine hxq_engine;

/*! hxq_engine_create() :
 *  Selects the backend for opts->device (CUDA: HXQ_ERR_DEVICE "built
 *  without CUDA" or "no CUDA device"; it runs one sequence), allocates the
 *  KV caches [n_seq, n_layers, max_ctx, kv_heads x head_dim] x 2 floats
 *  and scratch. m must outlive the engine. opts may be NULL (defaults).
 *  @return HXQ_OK, HXQ_ERR_DEVICE (also: the CUDA backend runs OLMoE
 *  only), HXQ_ERR_INVALID, HXQ_ERR_NOMEM. */
int hxq_engine_create(const hxq_model *m, const hxq_engine_opts *opts, hxq_engine **out,
                      hxq_error *err);

/*! hxq_engine_free() : NULL is a no-op. */
void hxq_engine_free(hxq_engine *e);

/*! hxq_engine_reset() : empties every sequence (position 0). */
void hxq_engine_reset(hxq_engine *e);

/*! hxq_engine_rewind() : keeps the first pos cached tokens of sequence 0
 *  and continues from there (a chat reusing its cache). @return HXQ_OK, or
 *  HXQ_ERR_INVALID when pos is negative or beyond the current position. */
int hxq_engine_rewind(hxq_engine *e, int64_t pos, hxq_error *err);

/*! hxq_engine_pos() / hxq_engine_max_ctx() : tokens in sequence 0's
 *  cache, and the capacity of each sequence's cache. */
int64_t hxq_engine_pos(const hxq_engine *e);
int64_t hxq_engine_max_ctx(const hxq_engine *e);

/*! hxq_engine_n_seq() : the number of sequences (opts.n_seq). */
int hxq_engine_n_seq(const hxq_engine *e);

/*! hxq_engine_seq_pos() : tokens in sequence seq's cache (-1 when seq is
 *  not a sequence of e). */
int64_t hxq_engine_seq_pos(const hxq_engine *e, int seq);

/*! hxq_engine_seq_rewind() : hxq_engine_rewind() for sequence seq.
 *  @return HXQ_OK or HXQ_ERR_INVALID (bad seq or pos). */
int hxq_engine_seq_rewind(hxq_engine *e, int seq, int64_t pos, hxq_error *err);

/*! hxq_engine_seq_copy() : sequence dst becomes a copy of sequence src
 *  (its cached tokens and position), e.g. to score several continuations
 *  of one context. src == dst is a no-op.
 *  @return HXQ_OK or HXQ_ERR_INVALID (bad seq). */
int hxq_engine_seq_copy(hxq_engine *e, int src, int dst, hxq_error *err);

/*! hxq_engine_device_name() : "cpu" or the backend's name. */
const char *hxq_engine_device_name(const hxq_engine *e);

/*! hxq_engine_model() : the model the engine runs. */
const hxq_model *hxq_engine_model(const hxq_engine *e);

/*! hxq_engine_forward() :
 *  Runs ids[0..n) at sequence 0's position (in batches of max_batch) and
 *  advances it. out may be NULL (fill the cache only).
 *  @return HXQ_OK; HXQ_ERR_RANGE when pos + n exceeds the context
 *  ("context full: ..."), HXQ_ERR_INVALID for an id outside [0, vocab)
 *  or n < 1 (position unchanged on these errors), or the backend's
 *  error. */
int hxq_engine_forward(hxq_engine *e, const int32_t *ids, int64_t n,
                       const hxq_forward_out *out, hxq_error *err);

/*! hxq_engine_forward_seqs() :
 *  One forward pass over the tokens of several sequences: each weight is
 *  read once for all of them, and each part advances its sequence. Parts
 *  may hold any number of tokens (the engine splits them into backend
 *  calls of at most max_batch tokens). When every part has n == 1 (a
 *  decode step of several sequences), each part's logits are bit-identical
 *  to those of a hxq_engine_forward() of that token alone on that
 *  sequence: batching decode steps changes no output. Otherwise (prompt
 *  parts) they equal separate calls within float rounding.
 *  @return HXQ_OK; HXQ_ERR_INVALID (n_parts < 1, a seq outside
 *  [0, n_seq) or given twice, n < 1, an id outside [0, vocab)),
 *  HXQ_ERR_RANGE (a sequence's context is full): on these no sequence
 *  advances; or the backend's error. */
int hxq_engine_forward_seqs(hxq_engine *e, const hxq_seq_part *parts, int n_parts,
                            hxq_error *err);

/* ---- sampling ------------------------------------------------------------ */

typedef struct hxq_sampler_opts {
    float temperature;       /* 0: greedy (argmax, lowest id on ties)     */
    int top_k;               /* 0: off                                    */
    float top_p;             /* 1 (or <= 0): off                          */
    uint64_t seed;
} hxq_sampler_opts;

/* A candidate token (sampler scratch). */
typedef struct hxq_token_prob {
    float p;
    int32_t id;
} hxq_token_prob;

typedef struct hxq_sampler {
    hxq_sampler_opts o;
    uint64_t state;          /* RNG state (splitmix64)                    */
    int64_t vocab;
    hxq_token_prob *cand;    /* scratch [vocab]                           */
} hxq_sampler;

/*! hxq_sampler_init() : allocates scratch for `vocab` logits.
 *  @return HXQ_OK, HXQ_ERR_INVALID (temperature < 0, top_p > 1, vocab <
 *  1), HXQ_ERR_NOMEM. Free with hxq_sampler_free(). */
int hxq_sampler_init(hxq_sampler *s, const hxq_sampler_opts *o, int64_t vocab,
                     hxq_error *err);

/*! hxq_sampler_free() : frees the scratch. NULL is a no-op. */
void hxq_sampler_free(hxq_sampler *s);

/*! hxq_sampler_sample() : the next id from logits[vocab] (not modified).
 *  Same seed and logits give the same sequence. */
int32_t hxq_sampler_sample(hxq_sampler *s, const float *logits);

/* ---- generation ---------------------------------------------------------- */

/* Called with each generated id; return nonzero to stop. */
typedef int (*hxq_token_fn)(void *ctx, int32_t id);

typedef struct hxq_gen_stats {
    int64_t n_prompt, n_generated;
    double prompt_s, decode_s;   /* wall seconds of prompt and decode     */
    int stopped_at_eos;
} hxq_gen_stats;

/*! hxq_generate() :
 *  Feeds prompt[0..n_prompt) at the engine's current position (so a chat
 *  continues its cache), then samples up to max_tokens ids, calling on_token
 *  for each (eos included) and stopping after an eos id of the config.
 *  gen_out, when not NULL, receives the ids ([max_tokens]).
 *  @return HXQ_OK or the engine's error (HXQ_ERR_RANGE when the context
 *  fills: the ids generated so far are in stats / gen_out). */
int hxq_generate(hxq_engine *e, hxq_sampler *s, const int32_t *prompt, int64_t n_prompt,
                 int64_t max_tokens, hxq_token_fn on_token, void *ctx, int32_t *gen_out,
                 hxq_gen_stats *stats, hxq_error *err);

/*! hxq_model_is_eos() : 1 when id is one of the config's eos ids. */
int hxq_model_is_eos(const hxq_model *m, int32_t id);

/* ---- evaluation ---------------------------------------------------------- */

typedef struct hxq_eval_result {
    int64_t windows, positions;
    double nll, ppl;             /* model                                  */
    int has_reference;
    double ref_nll, ref_ppl;     /* reference, same positions              */
    double kl;                   /* mean KL(reference || model), nats      */
    double top1_agree;           /* fraction where the argmaxes agree      */
    double ppl_ratio;            /* ppl / ref_ppl                          */
} hxq_eval_result;

/*! hxq_eval_windows_max() : windows of ctx tokens that fit n ids with a
 *  next token to score for every position: (n - 1) / ctx. */
int64_t hxq_eval_windows_max(int64_t n, int64_t ctx);

/*! hxq_eval_ids() :
 *  Perplexity over ids[0..n): window j (0 <= j < windows) feeds ids
 *  [ctx j, ctx j + ctx) from an empty cache and scores the next id at each
 *  of its ctx positions; nll is the mean over windows * ctx scores. With
 *  ref (may be NULL) the same windows run on the reference engine and the
 *  KL / agreement / ratio fields are filled. windows <= 0 means all that
 *  fit. The engines need max_ctx >= ctx.
 *  @return HXQ_OK; HXQ_ERR_INVALID (ctx < 1, too few ids for the windows,
 *  vocab sizes differ), HXQ_ERR_NOMEM, or an engine error. */
int hxq_eval_ids(hxq_engine *model, hxq_engine *ref, const int32_t *ids, int64_t n,
                 int64_t ctx, int64_t windows, hxq_eval_result *out, hxq_error *err);

#endif /* HXQ_INFER_H */
