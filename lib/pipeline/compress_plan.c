/* compress_plan.c - what compress will do: classify every source tensor,
 * split fused experts, check values, compute sidecar counts and sizes,
 * assign shards, hash the source files. */
#include "pipeline_int.h"

#include <cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_BYTES ((size_t)16 << 20)

void hxq_compress_opts_init(hxq_compress_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->min_elements = HXQ_DEFAULT_MIN_ELEMENTS;
    o->encode = hxq_encode_opts_default();
    o->max_shard_size = HXQ_DEFAULT_SHARD_SIZE;
    o->snr_floor_db = HXQ_DEFAULT_SNR_FLOOR_DB;
}

void hxq_plan_free(hxq_plan *p)
{
    if (!p)
        return;
    for (int64_t i = 0; p->items && i < p->n; i++)
        free(p->items[i].name);
    free(p->items);
    for (int i = 0; p->patterns && i < p->n_patterns; i++)
        free(p->patterns[i]);
    free(p->patterns);
    hxq_rc_files_free(p->src_files, p->n_src_files);
    free(p->config_text);
    free(p->src_dir);
    hxq_ckpt_close(p->ck);
    free(p);
}

int64_t hxq_plan_count(const hxq_plan *p)
{
    return p->n;
}

const hxq_plan_item *hxq_plan_item_at(const hxq_plan *p, int64_t i)
{
    return &p->items[i];
}

void hxq_plan_totals_get(const hxq_plan *p, hxq_plan_totals *out)
{
    *out = p->totals;
}

static int add_pattern(hxq_plan *p, const char *s, hxq_error *err)
{
    if (!*s)
        return hxq_err(err, HXQ_ERR_INVALID, "an exact pattern is empty");
    for (int i = 0; i < p->n_patterns; i++)
        if (!strcmp(p->patterns[i], s))
            return HXQ_OK;
    char **np = realloc(p->patterns, (size_t)(p->n_patterns + 1) * sizeof(char *));
    if (!np)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    p->patterns = np;
    if (!(np[p->n_patterns] = hxq_strdup(s)))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    p->n_patterns++;
    return HXQ_OK;
}

static int push_item(hxq_plan *p, int64_t *cap, const hxq_plan_item *it, hxq_error *err)
{
    if (p->n == *cap) {
        int64_t nc = *cap ? 2 * *cap : 256;
        hxq_plan_item *ni = realloc(p->items, (size_t)nc * sizeof(*ni));
        if (!ni)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        p->items = ni;
        *cap = nc;
    }
    p->items[p->n++] = *it;
    return HXQ_OK;
}

/* Decides compressed/exact for one 2-D matrix named by its module path. */
static void classify(const hxq_plan *p, hxq_plan_item *it, hxq_dtype dt)
{
    it->compressed = pipeline_codec_dtype(dt) && it->rows * it->cols >= p->opts.min_elements &&
                     !pipeline_matches_exact(it->name, p->patterns, p->n_patterns);
}

static char *module_of(const char *weight_name)
{
    size_t n = strlen(weight_name);
    char *m = hxq_strdup(weight_name);
    if (m && n > 7 && !strcmp(weight_name + n - 7, ".weight"))
        m[n - 7] = '\0';
    return m;
}

/* Items of a fused 3-D expert tensor: one matrix per expert and part. */
static int split_fused(hxq_plan *p, int64_t *cap, const hxq_tensor *t, int kind, size_t plen,
                       hxq_error *err)
{
    int64_t E = t->shape[0], R = t->shape[1], C = t->shape[2];
    if (kind == FUSED_GATE_UP && R % 2)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': fused gate_up_proj has an odd "
                       "row count %lld", t->path, t->name, (long long)R);
    int parts = kind == FUSED_GATE_UP ? 2 : 1;
    int64_t rows = R / parts;
    size_t es = hxq_dtype_size(t->dtype);
    for (int64_t e = 0; e < E; e++) {
        for (int part = 0; part < parts; part++) {
            const char *what = kind == FUSED_DOWN ? "down_proj" : part ? "up_proj" : "gate_proj";
            hxq_plan_item it;
            memset(&it, 0, sizeof(it));
            size_t len = plen + 48;
            if (!(it.name = malloc(len)))
                return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            snprintf(it.name, len, "%.*s%lld.%s", (int)plen, t->name, (long long)e, what);
            it.src = t;
            it.expert = e;
            it.row_begin = part * rows;
            it.row_end = (part + 1) * rows;
            it.rows = rows;
            it.cols = C;
            it.data = (const char *)t->data + ((size_t)(e * R + part * rows) * (size_t)C) * es;
            it.in_bytes = (uint64_t)rows * (uint64_t)C * es;
            classify(p, &it, t->dtype);
            if (!it.compressed) {   /* exact: stored under the hub weight name */
                char *w = malloc(strlen(it.name) + 8);
                if (!w) {
                    free(it.name);
                    return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
                }
                sprintf(w, "%s.weight", it.name);
                free(it.name);
                it.name = w;
            }
            int rc = push_item(p, cap, &it, err);
            if (rc < 0) {
                free(it.name);
                return rc;
            }
        }
    }
    return HXQ_OK;
}

static int build_items(hxq_plan *p, hxq_error *err)
{
    int64_t cap = 0;
    for (int64_t i = 0; i < hxq_ckpt_count(p->ck); i++) {
        const hxq_tensor *t = hxq_ckpt_tensor(p->ck, i);
        size_t plen = 0;
        int kind = t->ndim == 3 ? pipeline_fused_kind(t->name, &plen) : FUSED_NONE;
        if (kind != FUSED_NONE && t->shape[0] > 0) {
            HXQ_TRY(split_fused(p, &cap, t, kind, plen, err));
            continue;
        }
        hxq_plan_item it;
        memset(&it, 0, sizeof(it));
        it.src = t;
        it.expert = -1;
        it.data = t->data;
        it.in_bytes = t->nbytes;
        size_t n = strlen(t->name);
        if (t->ndim == 2 && n > 7 && !strcmp(t->name + n - 7, ".weight")) {
            it.rows = t->shape[0];
            it.cols = t->shape[1];
            if (!(it.name = module_of(t->name)))
                return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
            classify(p, &it, t->dtype);
            if (!it.compressed) {
                free(it.name);
                it.name = NULL;
            }
        }
        if (!it.name && !(it.name = hxq_strdup(t->name)))
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        int rc = push_item(p, &cap, &it, err);
        if (rc < 0) {
            free(it.name);
            return rc;
        }
    }
    return HXQ_OK;
}

static int item_cmp(const void *a, const void *b)
{
    return pipeline_natural_cmp(((const hxq_plan_item *)a)->name,
                                ((const hxq_plan_item *)b)->name);
}

/* ---- the parallel pass: hash big source files, check values, budgets ---- */

struct scan_ctx {
    hxq_plan *p;
    int nfiles;                 /* tasks [0, nfiles) hash safetensors files */
    pthread_mutex_t mu;
    int64_t err_task;           /* lowest failing task, or -1 */
    hxq_error err;
    int64_t done;
};

static void scan_fail(struct scan_ctx *c, int64_t task, const hxq_error *e)
{
    pthread_mutex_lock(&c->mu);
    if (c->err_task < 0 || task < c->err_task) {
        c->err_task = task;
        c->err = *e;
    }
    pthread_mutex_unlock(&c->mu);
}

static int scan_item(const hxq_plan *p, hxq_plan_item *it, hxq_error *e)
{
    int64_t n = it->in_bytes / hxq_dtype_size(it->src->dtype);
    if (!it->compressed) {
        int64_t bad = pipeline_first_nonfinite(it->data, it->src->dtype, n);
        if (bad >= 0)
            return hxq_err(e, HXQ_ERR_FORMAT, "%s: tensor '%s': non-finite value at element %lld",
                           it->src->path, it->src->name,
                           (long long)(bad + (it->data != it->src->data
                                                  ? ((const char *)it->data -
                                                     (const char *)it->src->data) /
                                                        (int64_t)hxq_dtype_size(it->src->dtype)
                                                  : 0)));
        it->out_bytes = it->in_bytes;
        return HXQ_OK;
    }
    const hxq_encode_opts *eo = &p->opts.encode;
    int64_t cnt;
    switch (eo->sidecar_mode) {
    case HXQ_SIDECAR_COUNT:
        cnt = eo->sidecar_count < n ? eo->sidecar_count : n;
        break;
    case HXQ_SIDECAR_FRACTION:
        cnt = llround(eo->sidecar_fraction * (double)n);
        cnt = cnt < 0 ? 0 : cnt > n ? n : cnt;
        break;
    case HXQ_SIDECAR_NONE:
        cnt = 0;
        break;
    default:
        /* the budget's histogram rejects NaN/Inf; scan only then, to name the element */
        cnt = hxq_codec_reference_budget(it->name, it->data, it->src->dtype, it->rows, it->cols);
        if (cnt < 0) {
            int64_t bad = pipeline_first_nonfinite(it->data, it->src->dtype, n);
            if (bad >= 0)
                return hxq_err(e, HXQ_ERR_FORMAT, "%s: tensor '%s': matrix '%s' has a "
                               "non-finite value at element %lld", it->src->path, it->src->name,
                               it->name, (long long)bad);
            return hxq_err(e, (int)cnt, "%s: tensor '%s': cannot compute the sidecar budget",
                           it->src->path, it->src->name);
        }
    }
    it->sidecar = cnt;
    it->out_bytes = HXQ_CODEBOOK_SIZE * 4 + (uint64_t)n + (uint64_t)cnt * 12;
    return HXQ_OK;
}

static void scan_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    struct scan_ctx *c = ctx;
    hxq_plan *p = c->p;
    for (int64_t t = begin; t < end; t++) {
        hxq_error e = {0};
        int rc;
        if (p->opts.cancel && *p->opts.cancel) {
            hxq_err(&e, HXQ_ERR_IO, "interrupted");
            scan_fail(c, t, &e);
            return;
        }
        if (t < c->nfiles) {
            const hxq_st_file *f = hxq_ckpt_file(p->ck, (int)t);
            hxq_rc_file *rf = &p->src_files[t];
            rc = hxq_sha256_file(hxq_st_path(f), rf->sha256, &rf->size, &e);
        } else {
            rc = scan_item(p, &p->items[t - c->nfiles], &e);
            pipeline_release(p->items[t - c->nfiles].data, p->items[t - c->nfiles].in_bytes);
        }
        if (rc < 0)
            scan_fail(c, t, &e);
        if (p->opts.progress) {
            pthread_mutex_lock(&c->mu);
            hxq_progress pr = {"plan", ++c->done, c->nfiles + p->n, 0, 0, 0};
            p->opts.progress(p->opts.progress_ctx, &pr);
            pthread_mutex_unlock(&c->mu);
        }
    }
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int rc_file_cmp(const void *a, const void *b)
{
    return strcmp(((const hxq_rc_file *)a)->name, ((const hxq_rc_file *)b)->name);
}

/* Source files: the shards (hashed in the parallel pass), then the small
 * ones hashed here. */
static int list_source_files(hxq_plan *p, hxq_error *err)
{
    static const char *const small[] = {"config.json", "model.safetensors.index.json",
                                        "tokenizer.json", "tokenizer_config.json",
                                        "special_tokens_map.json", "generation_config.json",
                                        "vocab.json", "merges.txt", "tokenizer.model",
                                        "added_tokens.json", "chat_template.jinja",
                                        "chat_template.json"};
    int nf = hxq_ckpt_nfiles(p->ck);
    int cap = nf + (int)(sizeof(small) / sizeof(small[0]));
    if (!(p->src_files = calloc((size_t)cap, sizeof(hxq_rc_file))))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nf; i++) {
        if (!(p->src_files[i].name = hxq_strdup(base_name(hxq_st_path(hxq_ckpt_file(p->ck, i))))))
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        p->n_src_files++;
    }
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        char *path = hxq_path_join(p->src_dir, small[i]);
        if (!path)
            return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
        int exists = hxq_path_exists(path);
        free(path);
        if (exists) {
            HXQ_TRY(pipeline_hash_file(p->src_dir, small[i], &p->src_files[p->n_src_files],
                                       err));
            p->n_src_files++;
        }
    }
    return HXQ_OK;
}

static int check_config(hxq_plan *p, hxq_error *err)
{
    char *path = hxq_path_join(p->src_dir, "config.json");
    if (!path)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int rc = hxq_read_file(path, CONFIG_MAX_BYTES, &p->config_text, NULL, err);
    if (rc == HXQ_OK) {
        cJSON *root = cJSON_Parse(p->config_text);
        if (!cJSON_IsObject(root))
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: not a JSON object", path);
        else if (cJSON_GetObjectItemCaseSensitive(root, "quantization_config"))
            rc = hxq_err(err, HXQ_ERR_UNSUPPORTED, "%s: the model is already quantized "
                         "(quantization_config present)", path);
        cJSON_Delete(root);
    }
    free(path);
    return rc;
}

static int validate_opts(const hxq_compress_opts *o, hxq_error *err)
{
    if (o->min_elements < 0)
        return hxq_err(err, HXQ_ERR_INVALID, "min_elements must be >= 0");
    if (o->max_shard_size < 1)
        return hxq_err(err, HXQ_ERR_INVALID, "the shard size must be at least 1 byte");
    if (o->encode.sidecar_mode == HXQ_SIDECAR_COUNT && o->encode.sidecar_count < 0)
        return hxq_err(err, HXQ_ERR_INVALID, "the sidecar count must be >= 0");
    if (o->encode.sidecar_mode == HXQ_SIDECAR_FRACTION &&
        !(o->encode.sidecar_fraction >= 0 && o->encode.sidecar_fraction <= 1))
        return hxq_err(err, HXQ_ERR_INVALID, "the sidecar fraction must be in [0, 1]");
    if (isnan(o->snr_floor_db))
        return hxq_err(err, HXQ_ERR_INVALID, "the SNR floor is not a number");
    return HXQ_OK;
}

static int plan_build(hxq_plan *p, const char *src, const hxq_compress_opts *o, hxq_pool *pool,
                      hxq_error *err)
{
    HXQ_TRY(validate_opts(o, err));
    p->opts = *o;
    p->opts.extra_exact = NULL;
    p->opts.n_extra_exact = 0;
    if (!(p->src_dir = hxq_strdup(src)))
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    if (!hxq_is_dir(src))
        return hxq_err(err, HXQ_ERR_IO, "%s: not a folder", src);
    HXQ_TRY(check_config(p, err));
    const char *dflt[16];
    int nd = pipeline_default_patterns(o->include_head, dflt);
    for (int i = 0; i < nd; i++)
        HXQ_TRY(add_pattern(p, dflt[i], err));
    for (int i = 0; i < o->n_extra_exact; i++)
        HXQ_TRY(add_pattern(p, o->extra_exact[i], err));
    HXQ_TRY(hxq_ckpt_open(src, &p->ck, err));
    HXQ_TRY(build_items(p, err));
    qsort(p->items, (size_t)p->n, sizeof(*p->items), item_cmp);
    for (int64_t i = 1; i < p->n; i++)
        if (!strcmp(p->items[i - 1].name, p->items[i].name))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: output name '%s' would be produced twice "
                           "(fused and per-expert tensors both present?)", src, p->items[i].name);
    HXQ_TRY(list_source_files(p, err));

    struct scan_ctx c = {.p = p, .nfiles = hxq_ckpt_nfiles(p->ck), .err_task = -1};
    pthread_mutex_init(&c.mu, NULL);
    hxq_pool_run(pool, c.nfiles + p->n, 1, scan_task, &c);
    pthread_mutex_destroy(&c.mu);
    if (c.err_task >= 0) {
        if (err)
            *err = c.err;
        return c.err.code ? c.err.code : HXQ_ERR_FORMAT;
    }
    qsort(p->src_files, (size_t)p->n_src_files, sizeof(*p->src_files), rc_file_cmp);

    uint64_t *bytes = hxq_alloc_array(p->n, sizeof(uint64_t));
    int *shard = hxq_alloc_array(p->n, sizeof(int));
    if (!bytes || !shard) {
        free(bytes);
        free(shard);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    hxq_plan_totals *t = &p->totals;
    t->source_tensors = hxq_ckpt_count(p->ck);
    for (int64_t i = 0; i < t->source_tensors; i++)
        t->bytes_in += hxq_ckpt_tensor(p->ck, i)->nbytes;
    for (int64_t i = 0; i < p->n; i++) {
        bytes[i] = p->items[i].out_bytes;
        t->compressed += p->items[i].compressed;
        t->exact += !p->items[i].compressed;
    }
    t->keys = 4 * t->compressed + t->exact;
    t->shards = hxq_shards_assign(bytes, p->n, o->max_shard_size, shard);
    for (int64_t i = 0; i < p->n; i++)
        p->items[i].shard = shard[i];
    free(bytes);
    free(shard);
    return HXQ_OK;
}

int pipeline_plan_create(const char *src, const hxq_compress_opts *o, hxq_pool *pool,
                         hxq_plan **out, hxq_error *err)
{
    hxq_plan *p = calloc(1, sizeof(*p));
    if (!p)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    int rc = plan_build(p, src, o, pool, err);
    if (rc < 0) {
        hxq_plan_free(p);
        return rc;
    }
    *out = p;
    return HXQ_OK;
}

int hxq_plan_create(const char *src, const hxq_compress_opts *o, hxq_plan **out, hxq_error *err)
{
    hxq_pool *pool = hxq_pool_create(o->threads);
    if (!pool)
        return hxq_err(err, HXQ_ERR_NOMEM, "cannot start %d threads", o->threads);
    int rc = pipeline_plan_create(src, o, pool, out, err);
    hxq_pool_free(pool);
    return rc;
}
