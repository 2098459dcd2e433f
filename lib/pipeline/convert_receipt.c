/* convert_receipt.c - conversion_receipt.json: the reference's Gate 1
 * fields (so its readers keep working) plus source and output file
 * hashes, the per-tensor mapping and a seal. Schema: docs/VERIFY.md. */
#include "convert_int.h"
#include "pipeline_int.h"

#include <stdlib.h>
#include <string.h>

static const char *op_name(cv_op op)
{
    switch (op) {
    case CV_COPY: return "copy";
    case CV_RETYPE: return "to_bf16";
    case CV_DECODE: return "decode_bf16";
    case CV_CODEBOOK: return "codebook_f32_256";
    case CV_INDICES: return "indices_u8";
    case CV_SC_POS: return "sidecar_positions_i64";
    case CV_SC_VAL: return "sidecar_values_f32";
    }
    return "?";
}

/* 1 when no failure of the report has one of the named checks. */
static int passed(const hxq_verify_report *r, const char *const *checks)
{
    for (int64_t i = 0; i < r->n_failures; i++)
        for (int k = 0; checks[k]; k++)
            if (!strcmp(r->failures[i].check, checks[k]))
                return 0;
    return 1;
}

static int add_file_list(cJSON *obj, const hxq_rc_file *files, int n)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, "files");
    for (int i = 0; arr && i < n; i++) {
        cJSON *f = cJSON_CreateObject();
        if (!f || !cJSON_AddItemToArray(arr, f) ||
            !cJSON_AddStringToObject(f, "name", files[i].name) ||
            !cJSON_AddStringToObject(f, "sha256", files[i].sha256) ||
            !cJSON_AddNumberToObject(f, "size", (double)files[i].size))
            return 0;
    }
    return arr != NULL;
}

/* The reference's "validation" block, computed from the check report. */
static int add_validation(cJSON *root, const cv_plan *p, const cv_files *files,
                          const hxq_verify_report *chk)
{
    static const char *const readable[] = {"readable", "config", "qconfig", NULL};
    static const char *const complete[] = {"codebook", "indices", "sidecar", "module_keys", NULL};
    static const char *const range[] = {"indices_range", "sidecar_range", NULL};
    static const char *const finite[] = {"exact_finite", "codebook_finite", "sidecar_finite",
                                         NULL};
    static const char *const count[] = {"key_count", "orphan", NULL};
    cJSON *val = cJSON_AddObjectToObject(root, "validation");
    cJSON *checks = val ? cJSON_AddObjectToObject(val, "checks") : NULL;
    cJSON *details = checks ? cJSON_AddArrayToObject(val, "details") : NULL;
    int ok = details && cJSON_AddBoolToObject(checks, "readable", passed(chk, readable)) &&
             cJSON_AddBoolToObject(checks, "compressed_complete", passed(chk, complete)) &&
             cJSON_AddBoolToObject(checks, "indices_in_range", passed(chk, range)) &&
             cJSON_AddBoolToObject(checks, "exact_no_nan", passed(chk, finite)) &&
             cJSON_AddBoolToObject(checks, "key_count_match", passed(chk, count));
    for (int64_t i = 0; ok && i < chk->n_failures; i++) {
        const hxq_verify_failure *f = &chk->failures[i];
        char line[HXQ_ERROR_MSG_MAX + 512];
        snprintf(line, sizeof(line), "%s: %s: %s: %s", f->file, f->tensor, f->check, f->detail);
        cJSON *s = cJSON_CreateString(line);
        ok = s && cJSON_AddItemToArray(details, s);
    }
    int64_t modules = p->to == HXQ_CONVERT_HXQ ? p->n_modules : 0;
    ok = ok && cJSON_AddNumberToObject(val, "total_keys", (double)p->n) &&
         cJSON_AddNumberToObject(val, "compressed_modules", (double)modules) &&
         cJSON_AddNumberToObject(val, "exact_tensors",
                                 (double)(p->n - (p->to == HXQ_CONVERT_HXQ ? 4 * modules
                                                                           : p->n_modules)));
    /* the reference's sha256 is of model.safetensors; sharded, of the
     * index, with a "shards" map (as hxq compress writes it) */
    const char *main_file = p->nshards == 1 ? "model.safetensors" : "model.safetensors.index.json";
    cJSON *shards = ok && p->nshards > 1 ? cJSON_AddObjectToObject(val, "shards") : NULL;
    for (int i = 0; ok && i < files->n; i++) {
        const hxq_rc_file *f = &files->f[i];
        if (!strcmp(f->name, main_file))
            ok = cJSON_AddStringToObject(val, "sha256", f->sha256) != NULL;
        else if (shards && verify_ends_with(f->name, ".safetensors"))
            ok = cJSON_AddStringToObject(shards, f->name, f->sha256) != NULL;
    }
    return ok;
}

/* The source parts a module output came from, as present in src. */
static cJSON *module_sources(const cv_plan *p, int64_t m)
{
    static const char *const parts[] = {".codebook", ".indices", ".sidecar_positions",
                                        ".sidecar_values"};
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < 4; i++) {
        char name[1024];
        snprintf(name, sizeof(name), "%s%s", p->modules[m], parts[i]);
        const hxq_tensor *t = hxq_ckpt_find(p->ck, name);
        cJSON *s = t ? cJSON_CreateString(t->name) : NULL;
        if (t && (!s || !cJSON_AddItemToArray(a, s))) {
            cJSON_Delete(s);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static int add_tensors(cJSON *root, const cv_plan *p)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "tensors");
    for (int64_t i = 0; arr && i < p->n; i++) {
        const cv_tensor *t = &p->t[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o))
            return 0;
        cJSON *from = t->src ? cJSON_CreateStringArray(&t->src->name, 1)
                             : module_sources(p, t->module);
        cJSON *shape = cJSON_CreateArray();
        int ok = from && shape && cJSON_AddItemToObject(o, "name", cJSON_CreateString(t->name)) &&
                 cJSON_AddStringToObject(o, "op", op_name(t->op)) &&
                 cJSON_AddItemToObject(o, "from", from);
        if (!ok) {
            cJSON_Delete(from);
            cJSON_Delete(shape);
            return 0;
        }
        for (int d = 0; d < t->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        if (!cJSON_AddItemToObject(o, "shape", shape)) {
            cJSON_Delete(shape);
            return 0;
        }
        ok = cJSON_AddStringToObject(o, "dtype", hxq_dtype_name(t->dtype)) &&
             cJSON_AddStringToObject(o, "xxh64", t->xxh64);
        if (ok && t->src)
            ok = cJSON_AddStringToObject(o, "source_dtype", hxq_dtype_name(t->src->dtype)) &&
                 cJSON_AddBoolToObject(o, "lossless", !t->lossy);
        if (!ok)
            return 0;
    }
    return arr != NULL;
}

static int add_totals(cJSON *root, const cv_plan *p, const cv_files *out,
                      const cv_files *in)
{
    int64_t retyped = 0, lossy = 0;
    uint64_t bin = 0, bout = 0;
    for (int64_t i = 0; i < p->n; i++) {
        retyped += p->t[i].op == CV_RETYPE;
        lossy += p->t[i].lossy;
    }
    for (int i = 0; i < in->n; i++)
        if (verify_ends_with(in->f[i].name, ".safetensors"))
            bin += in->f[i].size;
    for (int i = 0; i < out->n; i++)
        if (verify_ends_with(out->f[i].name, ".safetensors"))
            bout += out->f[i].size;
    cJSON *t = cJSON_AddObjectToObject(root, "totals");
    return t && cJSON_AddNumberToObject(t, "tensors_in", (double)p->in_tensors) &&
           cJSON_AddNumberToObject(t, "tensors_out", (double)p->n) &&
           cJSON_AddNumberToObject(t, "modules", (double)p->n_modules) &&
           cJSON_AddNumberToObject(t, "exact_retyped", (double)retyped) &&
           cJSON_AddNumberToObject(t, "exact_lossy", (double)lossy) &&
           cJSON_AddNumberToObject(t, "shards", p->nshards) &&
           cJSON_AddNumberToObject(t, "bytes_in", (double)bin) &&
           cJSON_AddNumberToObject(t, "bytes_out", (double)bout);
}

int convert_write_receipt(const cv_plan *p, const char *src, const char *tmp,
                          const hxq_convert_opts *o, const cv_files *files,
                          const hxq_verify_report *check, hxq_error *err)
{
    cv_files in = {NULL, 0};
    int rc = pipeline_hash_folder(src, NULL, &in.f, &in.n, err);
    if (rc < 0) {
        convert_files_free(&in);
        return rc;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *opts = NULL, *source = NULL, *output = NULL;
    int ok = root && cJSON_AddStringToObject(root, "format", VERIFY_CONVERT_FORMAT) &&
             cJSON_AddNumberToObject(root, "schema_version", 1) &&
             cJSON_AddStringToObject(root, "tool", "hxq " HXQ_VERSION) &&
             cJSON_AddStringToObject(root, "verdict", check->total_failures ? "FAIL" : "PASS") &&
             add_validation(root, p, files, check) &&
             cJSON_AddStringToObject(root, "target",
                                     p->to == HXQ_CONVERT_DENSE ? "dense" : "hxq") &&
             (opts = cJSON_AddObjectToObject(root, "options")) &&
             cJSON_AddNumberToObject(opts, "max_shard_size",
                                     (double)(o->max_shard_size > 0
                                                  ? (uint64_t)o->max_shard_size
                                                  : HXQ_DEFAULT_SHARD_SIZE)) &&
             (source = cJSON_AddObjectToObject(root, "source")) &&
             cJSON_AddStringToObject(source, "quant_method", p->q->quant_method) &&
             add_file_list(source, in.f, in.n) &&
             (output = cJSON_AddObjectToObject(root, "output")) &&
             add_file_list(output, files->f, files->n) && add_tensors(root, p) &&
             add_totals(root, p, files, &in) &&
             cJSON_AddStringToObject(root, HXQ_SEAL_KEY,
                                     "0000000000000000000000000000000000000000000000000000000000000000");
    convert_files_free(&in);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    size_t len = strlen(text);
    char *full = realloc(text, len + 2);
    if (!full) {
        free(text);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    memcpy(full + len, "\n", 2);
    rc = hxq_receipt_seal(full, len + 1, err);
    char *path = rc == HXQ_OK ? hxq_path_join(tmp, VERIFY_CONVERSION_RECEIPT) : NULL;
    if (rc == HXQ_OK)
        rc = path ? hxq_write_file_atomic(path, full, len + 1, err)
                  : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    free(path);
    free(full);
    return rc;
}
