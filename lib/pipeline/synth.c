/* synth.c - deterministic synthetic checkpoints (OLMoE at real widths for
 * benchmarks, or a family of synth_family.c): heavy-tailed BF16 weights
 * (Student-t, 4 degrees of freedom, plus rare large outliers), hub layout
 * or transformers-5 fused experts, sharded. A matrix's values depend only
 * on the seed and its hub name, so the hub and fused layouts of one seed
 * hold the same weights. */
#include "pipeline_int.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNTH_BLOCK 65536        /* elements per RNG stream */
#define SYNTH_OUTLIER_RATE 2e-5  /* fraction of elements made outliers */
#define SYNTH_OLMOE_EOS 50279    /* <|endoftext|> of the OLMoE tokenizer */

void hxq_synth_opts_init(hxq_synth_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->layers = 4;
    o->hidden = 2048;
    o->intermediate = 1024;
    o->experts = 64;
    o->top_k = 8;
    o->heads = 16;
    o->vocab = 50304;
    o->seed = 1;
    o->max_shard_size = HXQ_DEFAULT_SHARD_SIZE;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t name_seed(uint64_t seed, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ seed;   /* FNV-1a over the name */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return splitmix64(&h);
}

static double uniform_pm1(uint64_t *s)
{
    return (double)(splitmix64(s) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/* Student-t with 4 degrees of freedom (Bailey's polar method). */
static double student_t4(uint64_t *s)
{
    for (;;) {
        double u = uniform_pm1(s), v = uniform_pm1(s);
        double w = u * u + v * v;
        if (w > 0 && w < 1)
            return u * sqrt(4.0 * (1.0 / sqrt(w) - 1.0) / w);
    }
}

/* kinds of tensors */
enum { GEN_MATRIX, GEN_NORM };

struct gen_job {
    uint16_t *out;
    int64_t n;
    uint64_t seed;
    int kind;
    double scale;
};

static void gen_blocks(void *ctx, int64_t begin, int64_t end, int tid)
{
    const struct gen_job *j = ctx;
    for (int64_t b = begin; b < end; b++) {
        uint64_t s = j->seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(b + 1));
        int64_t lo = b * SYNTH_BLOCK, hi = lo + SYNTH_BLOCK < j->n ? lo + SYNTH_BLOCK : j->n;
        for (int64_t i = lo; i < hi; i++) {
            double x;
            if (j->kind == GEN_NORM) {
                x = 1.0 + 0.05 * student_t4(&s);
            } else {
                x = j->scale * student_t4(&s);
                if ((double)(splitmix64(&s) >> 11) * (1.0 / 9007199254740992.0) <
                    SYNTH_OUTLIER_RATE)
                    x *= 8.0 + 24.0 * (uniform_pm1(&s) + 1.0);
            }
            j->out[i] = hxq_f32_to_bf16((float)x);
        }
    }
}

static void generate(hxq_pool *pool, uint16_t *out, int64_t n, uint64_t seed, const char *name,
                     int kind, double scale)
{
    struct gen_job j = {out, n, name_seed(seed, name), kind, scale};
    hxq_pool_run(pool, (n + SYNTH_BLOCK - 1) / SYNTH_BLOCK, 1, gen_blocks, &j);
}

/* One output tensor: its name, shape and how to fill it. */
struct synth_tensor {
    char name[160];
    char gen[160];           /* the hub name its values derive from   */
    int ndim;
    int64_t shape[3];
    int kind;                /* GEN_MATRIX / GEN_NORM                */
    double scale;
    int fused;               /* 0, or FUSED_GATE_UP / FUSED_DOWN     */
    int64_t layer;
};

struct synth_list {
    struct synth_tensor *t;
    int64_t n, cap;
    int failed;              /* out of memory                        */
};

/* Appends a tensor named by the printf format; a matrix is scaled by
 * 1/sqrt(its columns), a 1-D bias by 0.1. */
static struct synth_tensor *add(struct synth_list *l, int kind, int ndim, int64_t a, int64_t b,
                                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static struct synth_tensor *add(struct synth_list *l, int kind, int ndim, int64_t a, int64_t b,
                                const char *fmt, ...)
{
    if (l->failed)
        return NULL;
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 256;
        struct synth_tensor *nt = realloc(l->t, (size_t)cap * sizeof(*nt));
        if (!nt) {
            l->failed = 1;
            return NULL;
        }
        l->t = nt;
        l->cap = cap;
    }
    struct synth_tensor *t = &l->t[l->n++];
    memset(t, 0, sizeof(*t));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof(t->name), fmt, ap);
    va_end(ap);
    memcpy(t->gen, t->name, sizeof(t->gen));
    t->ndim = ndim;
    t->shape[0] = a;
    t->shape[1] = b;
    t->kind = kind;
    t->scale = kind == GEN_NORM ? 0 : ndim == 1 ? 0.1 : 1.0 / sqrt((double)b);
    return t;
}

/* The attention tensors of layer L. */
static void add_attention(const synth_family *f, const hxq_synth_opts *o, int64_t L,
                          struct synth_list *l)
{
    int64_t H = o->hidden, kv = o->kv_heads ? o->kv_heads : o->heads;
    int64_t hd = o->head_dim ? o->head_dim : H / o->heads;
    int64_t width[4] = {o->heads * hd, kv * hd, kv * hd, H};
    static const char *const proj[] = {"q", "k", "v", "o"};
    for (int k = 0; k < 4; k++)
        add(l, GEN_MATRIX, 2, width[k], k == 3 ? o->heads * hd : H,
            "model.layers.%lld.self_attn.%s_proj.weight", (long long)L, proj[k]);
    for (int k = 0; k < (f->bias == SYNTH_BIAS_ALL ? 4 : f->bias == SYNTH_BIAS_QKV ? 3 : 0); k++)
        add(l, GEN_MATRIX, 1, width[k], 0, "model.layers.%lld.self_attn.%s_proj.bias",
            (long long)L, proj[k]);
    for (int k = 0; f->qk_norm != SYNTH_QK_NONE && k < 2; k++)
        add(l, GEN_NORM, 1, f->qk_norm == SYNTH_QK_HEAD ? hd : width[k], 0,
            "model.layers.%lld.self_attn.%s_norm.weight", (long long)L, proj[k]);
}

/* The MLP of layer L: dense SwiGLU, or a router and experts (per expert,
 * or fused under "mlp." as transformers 5 saves them). */
static void add_mlp(const synth_family *f, const hxq_synth_opts *o, int64_t L,
                    struct synth_list *l)
{
    int64_t H = o->hidden, E = o->experts, I = o->intermediate;
    long long ll = (long long)L;
    if (!f->moe) {
        add(l, GEN_MATRIX, 2, I, H, "model.layers.%lld.mlp.gate_proj.weight", ll);
        add(l, GEN_MATRIX, 2, I, H, "model.layers.%lld.mlp.up_proj.weight", ll);
        add(l, GEN_MATRIX, 2, H, I, "model.layers.%lld.mlp.down_proj.weight", ll);
        return;
    }
    if (!strcmp(f->width_key, "moe_intermediate_size"))
        I = o->moe_intermediate;
    struct synth_tensor *r = add(l, GEN_MATRIX, 2, E, H, "model.layers.%lld.%s.gate.weight",
                                 ll, o->fused ? "mlp" : f->block);
    if (r)
        snprintf(r->gen, sizeof(r->gen), "model.layers.%lld.%s.gate.weight", ll, f->block);
    if (o->fused) {
        struct synth_tensor *t[2] = {
            add(l, GEN_MATRIX, 2, E, 2 * I, "model.layers.%lld.mlp.experts.gate_up_proj", ll),
            add(l, GEN_MATRIX, 2, E, H, "model.layers.%lld.mlp.experts.down_proj", ll)};
        for (int k = 0; k < 2 && t[k]; k++) {
            t[k]->ndim = 3;
            t[k]->shape[2] = k ? I : H;
            t[k]->scale = 1.0 / sqrt((double)t[k]->shape[2]);
            t[k]->fused = k ? FUSED_DOWN : FUSED_GATE_UP;
            t[k]->layer = L;
        }
        return;
    }
    for (int64_t e = 0; e < E; e++) {
        add(l, GEN_MATRIX, 2, I, H, "model.layers.%lld.%s.experts.%lld.%s.weight", ll, f->block,
            (long long)e, f->expert[0]);
        add(l, GEN_MATRIX, 2, I, H, "model.layers.%lld.%s.experts.%lld.%s.weight", ll, f->block,
            (long long)e, f->expert[1]);
        add(l, GEN_MATRIX, 2, H, I, "model.layers.%lld.%s.experts.%lld.%s.weight", ll, f->block,
            (long long)e, f->expert[2]);
    }
}

static int build_list(const hxq_synth_opts *o, struct synth_list *l)
{
    const synth_family *f = synth_family_of(o);
    int64_t H = o->hidden, V = o->vocab;
    if (!f->tie)
        add(l, GEN_MATRIX, 2, V, H, "lm_head.weight");
    struct synth_tensor *emb = add(l, GEN_MATRIX, 2, V, H, "model.embed_tokens.weight");
    if (emb && !o->arch)
        emb->scale = 0.02;          /* the benchmark model keeps its first values */
    add(l, GEN_NORM, 1, H, 0, "model.norm.weight");
    for (int64_t L = 0; L < o->layers; L++) {
        add(l, GEN_NORM, 1, H, 0, "model.layers.%lld.input_layernorm.weight", (long long)L);
        add(l, GEN_NORM, 1, H, 0, "model.layers.%lld.post_attention_layernorm.weight",
            (long long)L);
        add_attention(f, o, L, l);
        add_mlp(f, o, L, l);
    }
    return l->failed ? HXQ_ERR_NOMEM : HXQ_OK;
}

static int64_t numel(const struct synth_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

/* Fills t's data; fused tensors are assembled from their hub matrices. */
static void fill(hxq_pool *pool, const hxq_synth_opts *o, const struct synth_tensor *t,
                 uint16_t *buf)
{
    if (!t->fused) {
        generate(pool, buf, numel(t), o->seed, t->gen, t->kind, t->scale);
        return;
    }
    const synth_family *f = synth_family_of(o);
    int64_t E = t->shape[0], R = t->shape[1], C = t->shape[2];
    int parts = t->fused == FUSED_GATE_UP ? 2 : 1;
    char n[160];
    for (int64_t e = 0; e < E; e++)
        for (int part = 0; part < parts; part++) {
            const char *what = f->expert[t->fused == FUSED_DOWN ? 2 : part];
            snprintf(n, sizeof(n), "model.layers.%lld.%s.experts.%lld.%s.weight",
                     (long long)t->layer, f->block, (long long)e, what);
            generate(pool, buf + (e * R + part * (R / parts)) * C, (R / parts) * C, o->seed, n,
                     GEN_MATRIX, t->scale);
        }
}

static int write_text(const char *dir, const char *name, const char *txt, hxq_error *err)
{
    char *path = hxq_path_join(dir, name);
    int rc = path ? hxq_write_file_atomic(path, txt, strlen(txt), err)
                  : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    free(path);
    return rc;
}

static int write_config(const hxq_synth_opts *o, const char *dir, hxq_error *err)
{
    cJSON *root = NULL;
    if (o->arch) {
        char *txt;
        HXQ_TRY(synth_family_config(synth_family_of(o), o, &txt, err));
        int rc = write_text(dir, "config.json", txt, err);
        free(txt);
        return rc;
    }
    if (o->config_from) {
        char *path = hxq_path_join(o->config_from, "config.json"), *txt = NULL;
        if (!path)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        int rc = hxq_read_file(path, (size_t)16 << 20, &txt, NULL, err);
        free(path);
        if (rc < 0)
            return rc;
        root = cJSON_Parse(txt);
        free(txt);
        if (!cJSON_IsObject(root)) {
            cJSON_Delete(root);
            return hxq_err(err, HXQ_ERR_FORMAT, "%s/config.json: not a JSON object",
                           o->config_from);
        }
    } else if (!(root = cJSON_CreateObject())) {
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    const struct {
        const char *key;
        double v;
    } sizes[] = {{"hidden_size", (double)o->hidden},      {"intermediate_size", (double)o->intermediate},
                 {"num_experts", (double)o->experts},     {"num_experts_per_tok", (double)o->top_k},
                 {"num_attention_heads", (double)o->heads}, {"num_key_value_heads", (double)o->heads},
                 {"num_hidden_layers", (double)o->layers}, {"vocab_size", (double)o->vocab}};
    int ok = 1;
    for (size_t i = 0; ok && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, sizes[i].key);
        ok = cJSON_AddNumberToObject(root, sizes[i].key, sizes[i].v) != NULL;
    }
    if (ok && o->tokenizer_json && o->vocab > SYNTH_OLMOE_EOS) {
        /* the real OLMoE tokenizer's ids */
        cJSON_DeleteItemFromObjectCaseSensitive(root, "eos_token_id");
        cJSON_DeleteItemFromObjectCaseSensitive(root, "pad_token_id");
        ok = cJSON_AddNumberToObject(root, "eos_token_id", SYNTH_OLMOE_EOS) &&
             cJSON_AddNumberToObject(root, "pad_token_id", 1);
    }
    if (ok && !cJSON_GetObjectItemCaseSensitive(root, "model_type"))
        ok = cJSON_AddStringToObject(root, "model_type", "olmoe") != NULL;
    char *txt = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!txt)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int rc = write_text(dir, "config.json", txt, err);
    free(txt);
    return rc;
}

static int write_weights(const hxq_synth_opts *o, const char *dir, hxq_pool *pool,
                         const struct synth_list *l, hxq_error *err)
{
    uint64_t *bytes = hxq_alloc_array(l->n, sizeof(uint64_t));
    int *shard = hxq_alloc_array(l->n, sizeof(int));
    int64_t maxn = 0;
    for (int64_t i = 0; bytes && i < l->n; i++) {
        bytes[i] = (uint64_t)numel(&l->t[i]) * 2;
        maxn = numel(&l->t[i]) > maxn ? numel(&l->t[i]) : maxn;
    }
    uint16_t *buf = hxq_alloc_array(maxn, sizeof(uint16_t));
    hxq_shards *sh = NULL;
    int rc = HXQ_OK;
    if (!bytes || !shard || !buf) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    int ns = hxq_shards_assign(bytes, l->n, o->max_shard_size, shard);
    if ((rc = hxq_shards_create(dir, ns, &sh, err)) < 0)
        goto out;
    for (int64_t i = 0; i < l->n && rc == HXQ_OK; i++)
        rc = hxq_shards_add(sh, l->t[i].name, HXQ_DT_BF16, l->t[i].ndim, l->t[i].shape, shard[i],
                            err);
    for (int64_t i = 0; i < l->n && rc == HXQ_OK; i++) {
        fill(pool, o, &l->t[i], buf);
        rc = hxq_shards_write_tensor(sh, buf, bytes[i], err);
    }
    hxq_rc_file *files = NULL;
    int nf = 0;
    if (rc == HXQ_OK && (rc = hxq_shards_finish(sh, &files, &nf, err)) == HXQ_OK)
        hxq_rc_files_free(files, nf);
out:
    hxq_shards_free(sh);
    free(buf);
    free(bytes);
    free(shard);
    return rc;
}

static int copy_named(const char *src, const char *dir, const char *name, hxq_error *err)
{
    char *d = hxq_path_join(dir, name);
    int rc = d ? hxq_copy_file(src, d, err) : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    free(d);
    return rc;
}

int hxq_synth(const char *dst, const hxq_synth_opts *o, hxq_error *err)
{
    if (o->arch && !synth_family_find(o->arch))
        return hxq_err(err, HXQ_ERR_INVALID, "synth: unknown architecture '%s' (known: %s)",
                       o->arch, hxq_synth_arch_names());
    int64_t kv = o->kv_heads ? o->kv_heads : o->heads;
    if (o->layers < 1 || o->hidden < 1 || o->intermediate < 1 || o->experts < 1 ||
        o->heads < 1 || o->vocab < 1 || o->top_k < 1 || o->top_k > o->experts ||
        (!o->head_dim && o->hidden % o->heads) || o->hidden > (1 << 20) ||
        o->intermediate > (1 << 20) || o->vocab > (1 << 24) || o->experts > 4096 ||
        o->layers > 4096 || o->heads > 4096 || o->head_dim < 0 || o->head_dim > 4096 ||
        o->kv_heads < 0 || o->heads % kv || o->moe_intermediate < 0 ||
        o->moe_intermediate > (1 << 20) || o->sliding_window < 0 ||
        (o->arch && synth_family_of(o)->moe && !strcmp(synth_family_of(o)->width_key,
                                                       "moe_intermediate_size") &&
         o->moe_intermediate < 1))
        return hxq_err(err, HXQ_ERR_INVALID, "synth: bad model sizes");
    hxq_outdir *od;
    HXQ_TRY(hxq_outdir_begin(dst, NULL, 0, &od, err));
    const char *dir = hxq_outdir_path(od);
    struct synth_list l = {0};
    hxq_pool *pool = hxq_pool_create(o->threads);
    int rc = pool ? build_list(o, &l) : HXQ_ERR_NOMEM;
    if (rc < 0)
        rc = hxq_err(err, rc, "out of memory");
    if (rc == HXQ_OK)
        rc = write_config(o, dir, err);
    if (rc == HXQ_OK)
        rc = write_weights(o, dir, pool, &l, err);
    if (rc == HXQ_OK && o->aux_from)
        rc = hxq_copy_aux_files(o->aux_from, dir, NULL, NULL, err);
    if (rc == HXQ_OK && o->tokenizer_json)
        rc = copy_named(o->tokenizer_json, dir, "tokenizer.json", err);
    if (rc == HXQ_OK && o->arch && o->tokenizer_json && o->aux_from)
        rc = synth_family_tokenizer(synth_family_of(o), dir, err);
    if (rc == HXQ_OK && !o->arch && o->tokenizer_json && o->vocab > SYNTH_OLMOE_EOS) {
        static const char gen[] = "{\n  \"eos_token_id\": 50279,\n  \"pad_token_id\": 1\n}\n";
        char *path = hxq_path_join(dir, "generation_config.json");
        rc = path ? hxq_write_file_atomic(path, gen, sizeof(gen) - 1, err)
                  : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        free(path);
    }
    free(l.t);
    hxq_pool_free(pool);
    if (rc < 0) {
        hxq_outdir_abort(od);
        return rc;
    }
    return hxq_outdir_commit(od, err);
}
