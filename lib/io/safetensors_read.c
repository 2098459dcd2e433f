/* safetensors_read.c - mmap a safetensors file and validate every byte of
 * its header before handing out tensor views. */
#include "io_int.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct hxq_st_file {
    char *path;
    const unsigned char *base;   /* whole file */
    uint64_t size;
    int mapped;                  /* munmap on close */
    uint64_t header_size;        /* 8 + n */
    hxq_tensor *by_offset;       /* tensors in data order (owns names) */
    hxq_tensor *by_name;         /* same tensors sorted by name (borrowed names) */
    int64_t count;
    char **meta_keys, **meta_vals;
    int64_t meta_count;
};

int io_tensor_name_cmp(const void *a, const void *b)
{
    return strcmp(((const hxq_tensor *)a)->name, ((const hxq_tensor *)b)->name);
}

const hxq_tensor *io_tensor_bsearch(const hxq_tensor *arr, int64_t n, const char *name)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(arr[mid].name, name);
        if (c == 0)
            return &arr[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int offset_cmp(const void *a, const void *b)
{
    const hxq_tensor *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    /* equal starts: the shorter first, so a zero-size tensor never hides
     * an overlap */
    if (x->nbytes != y->nbytes)
        return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* A JSON number that is a non-negative integer below 2^53. 2^53 itself is
 * refused: 9007199254740993 parses to it, so it may not be what the file
 * says. */
static int json_u53(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d >= 9007199254740992.0 || floor(d) != d)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static void st_free(hxq_st_file *f)
{
    if (!f)
        return;
    for (int64_t i = 0; i < f->count; i++)
        free((char *)f->by_offset[i].name);
    for (int64_t i = 0; i < f->meta_count; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    free(f->meta_keys);
    free(f->meta_vals);
    free(f->by_offset);
    free(f->by_name);
    if (f->mapped && f->base)
        munmap((void *)f->base, f->size);
    free(f->path);
    free(f);
}

void hxq_st_close(hxq_st_file *f)
{
    st_free(f);
}

static int parse_metadata(hxq_st_file *f, const cJSON *meta, hxq_error *err)
{
    const char *p = f->path;
    if (!cJSON_IsObject(meta))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: __metadata__ is not an object", p);
    int64_t n = cJSON_GetArraySize(meta);
    f->meta_keys = calloc((size_t)n + 1, sizeof(char *));
    f->meta_vals = calloc((size_t)n + 1, sizeof(char *));
    if (!f->meta_keys || !f->meta_vals)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", p);
    const cJSON *it;
    cJSON_ArrayForEach(it, meta) {
        if (!cJSON_IsString(it))
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: __metadata__ value '%s' is not a string",
                           p, it->string);
        f->meta_keys[f->meta_count] = hxq_strdup(it->string);
        f->meta_vals[f->meta_count] = hxq_strdup(it->valuestring);
        f->meta_count++;
        if (!f->meta_keys[f->meta_count - 1] || !f->meta_vals[f->meta_count - 1])
            return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", p);
    }
    return HXQ_OK;
}

static int parse_entry(hxq_st_file *f, const cJSON *e, hxq_tensor *t, uint64_t data_size,
                       hxq_error *err)
{
    const char *p = f->path;
    const char *name = e->string;
    if (hxq_utf8_valid_prefix(name, strlen(name)) != strlen(name))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: a tensor name is not valid UTF-8", p);
    if (!*name)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: empty tensor name", p);
    if (!cJSON_IsObject(e))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': entry is not an object", p, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': missing or non-string dtype", p, name);
    if (hxq_dtype_parse(dt->valuestring, &t->dtype) < 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", p, name,
                       dt->valuestring);
    if (!cJSON_IsArray(shape))
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': missing or non-array shape", p, name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > HXQ_MAX_DIMS)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d)", p,
                       name, nd, HXQ_MAX_DIMS);
    t->ndim = nd;
    int64_t nelem = 1;
    for (int d = 0; d < nd; d++) {
        uint64_t v;
        if (json_u53(cJSON_GetArrayItem(shape, d), &v) < 0)
            return hxq_err(err, HXQ_ERR_FORMAT,
                           "%s: tensor '%s': shape[%d] is not a non-negative integer", p, name, d);
        t->shape[d] = (int64_t)v;
        if (hxq_mul_i64(nelem, (int64_t)v, &nelem) < 0)
            return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': shape product overflows", p, name);
    }
    t->nelem = nelem;
    int64_t nbytes;
    if (hxq_mul_i64(nelem, (int64_t)hxq_dtype_size(t->dtype), &nbytes) < 0)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': byte size overflows", p, name);
    t->nbytes = (uint64_t)nbytes;
    uint64_t b, en;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        json_u53(cJSON_GetArrayItem(offs, 0), &b) < 0 ||
        json_u53(cJSON_GetArrayItem(offs, 1), &en) < 0)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets is not a pair of non-negative integers", p,
                       name);
    if (b > en)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu) reversed",
                       p, name, (unsigned long long)b, (unsigned long long)en);
    if (en > data_size)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu) exceed the data size %llu", p,
                       name, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)data_size);
    if (en - b != t->nbytes)
        return hxq_err(err, HXQ_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets span %llu bytes but %s x shape needs %llu",
                       p, name, (unsigned long long)(en - b), dt->valuestring,
                       (unsigned long long)t->nbytes);
    t->offset = f->header_size + b;
    t->data = f->base + t->offset;
    t->path = f->path;
    t->name = hxq_strdup(name);
    if (!t->name)
        return hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", p);
    return HXQ_OK;
}

/* The shortest text of a valid tensor entry, "a":{"dtype":"U8","shape":[],
 * "data_offsets":[0,0]}, is 49 bytes; no header of n bytes can describe
 * more than n / 32 + 1 entries. */
#define ST_MIN_ENTRY_BYTES 32

/* A lexical pass over the header before any allocation: refuses nesting
 * deeper than a safetensors header has (root > entry > shape), arrays
 * longer than HXQ_MAX_DIMS (only shapes and offset pairs are arrays) and
 * more top-level entries than n bytes can hold, so neither cJSON nor the
 * tensor table is ever sized from an absurd header. Malformed JSON is left
 * to the parser. */
static int header_prescan(const char *json, uint64_t n, const char *p, hxq_error *err)
{
    int depth = 0, in_str = 0;
    char kind[4] = {0};          /* '{' or '[' per depth 1..3 */
    uint64_t count[4] = {0};     /* commas seen per depth */
    for (uint64_t i = 0; i < n; i++) {
        char c = json[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > 3)
                return hxq_err(err, HXQ_ERR_FORMAT,
                               "%s: header JSON nests deeper than a safetensors header", p);
            kind[depth] = c;
            count[depth] = 0;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return HXQ_OK;
        } else if (c == ',' && depth > 0) {
            count[depth]++;
            if (kind[depth] == '[' && count[depth] >= HXQ_MAX_DIMS)
                return hxq_err(err, HXQ_ERR_FORMAT,
                               "%s: header holds an array of more than %d elements", p,
                               HXQ_MAX_DIMS);
            if (depth == 1 && count[1] > n / ST_MIN_ENTRY_BYTES)
                return hxq_err(err, HXQ_ERR_FORMAT,
                               "%s: header has more entries than %llu bytes can describe", p,
                               (unsigned long long)n);
        }
    }
    return HXQ_OK;
}

/* Validates the header of f (base/size/path set) and fills the tables. */
static int st_validate(hxq_st_file *f, hxq_error *err)
{
    const char *p = f->path;
    if (f->size < 8)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: %llu bytes, too short for a safetensors header",
                       p, (unsigned long long)f->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | f->base[i];
    if (n > HXQ_ST_MAX_HEADER)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: header length %llu exceeds the %u-byte limit", p,
                       (unsigned long long)n, HXQ_ST_MAX_HEADER);
    if (n > f->size - 8)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: header length %llu runs past the end of the file "
                       "(%llu bytes)", p, (unsigned long long)n, (unsigned long long)f->size);
    if (n < 2 || f->base[8] != '{')
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: header does not start with a JSON object", p);
    f->header_size = 8 + n;
    const char *json = (const char *)f->base + 8;
    HXQ_TRY(header_prescan(json, n, p, err));
    /* on failure cJSON points `end` at the error; cJSON_GetErrorPtr() is a
     * process-wide global that concurrent parses overwrite */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)n, &end, 0);
    if (!root)
        return hxq_err(err, HXQ_ERR_FORMAT, "%s: header is not valid JSON (near byte %lld)", p,
                       (long long)(end && end >= json && end <= json + n ? end - json : 0));
    int rc = HXQ_OK;
    for (const char *q = end; q && q < json + n; q++) {
        if (*q != ' ' && *q != '\0' && *q != '\n' && *q != '\t' && *q != '\r') {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: trailing bytes after the header JSON", p);
            goto out;
        }
    }
    if (!cJSON_IsObject(root)) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: header is not a JSON object", p);
        goto out;
    }
    int64_t total = cJSON_GetArraySize(root);
    f->by_offset = calloc((size_t)total + 1, sizeof(hxq_tensor));
    if (!f->by_offset) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory for %lld entries", p, (long long)total);
        goto out;
    }
    uint64_t data_size = f->size - f->header_size;
    int seen_meta = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (!strcmp(e->string, "__metadata__")) {
            if (seen_meta++) {
                rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: duplicate __metadata__", p);
                goto out;
            }
            if ((rc = parse_metadata(f, e, err)) < 0)
                goto out;
            continue;
        }
        rc = parse_entry(f, e, &f->by_offset[f->count], data_size, err);
        if (f->by_offset[f->count].name)
            f->count++;
        if (rc < 0)
            goto out;
    }
    f->by_name = calloc((size_t)f->count + 1, sizeof(hxq_tensor));
    if (!f->by_name) {
        rc = hxq_err(err, HXQ_ERR_NOMEM, "%s: out of memory", p);
        goto out;
    }
    memcpy(f->by_name, f->by_offset, (size_t)f->count * sizeof(hxq_tensor));
    qsort(f->by_name, (size_t)f->count, sizeof(hxq_tensor), io_tensor_name_cmp);
    for (int64_t i = 1; i < f->count; i++) {
        if (!strcmp(f->by_name[i - 1].name, f->by_name[i].name)) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s' appears twice", p,
                         f->by_name[i].name);
            goto out;
        }
    }
    qsort(f->by_offset, (size_t)f->count, sizeof(hxq_tensor), offset_cmp);
    uint64_t pos = f->header_size;
    for (int64_t i = 0; i < f->count; i++) {
        const hxq_tensor *t = &f->by_offset[i];
        if (t->offset < pos) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s' overlaps tensor '%s'", p, t->name,
                         f->by_offset[i - 1].name);
            goto out;
        }
        if (t->offset > pos) {
            rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: tensor '%s': gap of %llu bytes before its data",
                         p, t->name, (unsigned long long)(t->offset - pos));
            goto out;
        }
        pos = t->offset + t->nbytes;
    }
    if (pos != f->size) {
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: %llu bytes after the last tensor's data", p,
                     (unsigned long long)(f->size - pos));
        goto out;
    }
    /* by_name was copied before the offset sort; refresh it (names are the
     * same pointers, only the order differs) */
    memcpy(f->by_name, f->by_offset, (size_t)f->count * sizeof(hxq_tensor));
    qsort(f->by_name, (size_t)f->count, sizeof(hxq_tensor), io_tensor_name_cmp);
out:
    cJSON_Delete(root);
    return rc;
}

int hxq_st_parse(const void *buf, size_t len, const char *label, hxq_st_file **out,
                 hxq_error *err)
{
    hxq_st_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = hxq_strdup(label ? label : "<memory>"))) {
        free(f);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    f->base = buf;
    f->size = len;
    int rc = st_validate(f, err);
    if (rc < 0) {
        st_free(f);
        return rc;
    }
    *out = f;
    return HXQ_OK;
}

int hxq_st_open(const char *path, hxq_st_file **out, hxq_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hxq_err(err, HXQ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hxq_err(err, HXQ_ERR_IO, "%s: not a regular file", path);
    }
    hxq_st_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = hxq_strdup(path))) {
        free(f);
        close(fd);
        return hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    }
    f->size = (uint64_t)st.st_size;
    if (f->size > 0) {
        void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            int e = errno;
            st_free(f);
            return hxq_err(err, HXQ_ERR_IO, "%s: cannot map: %s", path, strerror(e));
        }
        f->base = m;
        f->mapped = 1;
    } else {
        f->base = (const unsigned char *)"";
    }
    close(fd);
    int rc = st_validate(f, err);
    if (rc < 0) {
        st_free(f);
        return rc;
    }
    *out = f;
    return HXQ_OK;
}

int64_t hxq_st_count(const hxq_st_file *f) { return f->count; }

const hxq_tensor *hxq_st_tensor(const hxq_st_file *f, int64_t i)
{
    return (i >= 0 && i < f->count) ? &f->by_offset[i] : NULL;
}

const hxq_tensor *hxq_st_find(const hxq_st_file *f, const char *name)
{
    return io_tensor_bsearch(f->by_name, f->count, name);
}

const char *hxq_st_metadata(const hxq_st_file *f, const char *key)
{
    for (int64_t i = 0; i < f->meta_count; i++)
        if (!strcmp(f->meta_keys[i], key))
            return f->meta_vals[i];
    return NULL;
}

const char *hxq_st_path(const hxq_st_file *f) { return f->path; }
uint64_t hxq_st_size(const hxq_st_file *f) { return f->size; }
uint64_t hxq_st_header_size(const hxq_st_file *f) { return f->header_size; }
