/* mc_task.c - multiple-choice rows (JSONL) into lm-evaluation-harness
 * 0.4's documents: HellaSwag (lm_eval/tasks/hellaswag/utils.py
 * process_docs), ARC (lm_eval/tasks/arc/arc_easy.yaml) and the generic
 * {context, choices, gold}. */
#include "mc_int.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_FILE_MAX ((size_t)1 << 31)

static const char *const task_names[] = {"hellaswag", "arc", "mc"};

const char *hxq_mc_task_name(hxq_mc_task t)
{
    return (unsigned)t < 3 ? task_names[t] : "?";
}

int hxq_mc_task_parse(const char *name, hxq_mc_task *out)
{
    for (int t = 0; t < 3; t++)
        if (!strcmp(name, task_names[t])) {
            *out = (hxq_mc_task)t;
            return HXQ_OK;
        }
    return HXQ_ERR_INVALID;
}

/* Where a row came from, for messages. */
typedef struct row_ctx {
    const char *label;
    int64_t line;
    hxq_mc_task task;
    hxq_error *err;
} row_ctx;

static int bad(const row_ctx *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(const row_ctx *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return hxq_err(r->err, HXQ_ERR_FORMAT, "%s:%lld: %s row: %s", r->label, (long long)r->line,
                   hxq_mc_task_name(r->task), msg);
}

static int valid_utf8(const char *s)
{
    size_t n = strlen(s);
    return hxq_utf8_valid_prefix(s, n) == n;
}

/* obj[key] as a string of valid UTF-8; `where` names obj in messages. */
static int get_str(const row_ctx *r, const cJSON *obj, const char *where, const char *key,
                   const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v))
        return bad(r, "'%s%s' is %s, not a string", where, key, v ? "of another type" : "missing");
    if (!valid_utf8(v->valuestring))
        return bad(r, "'%s%s' is not valid UTF-8", where, key);
    *out = v->valuestring;
    return HXQ_OK;
}

/* obj[key] as an array of 1 .. HXQ_MC_MAX_CHOICES strings. */
static int get_strs(const row_ctx *r, const cJSON *obj, const char *where, const char *key,
                    const cJSON **out, int *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    int k = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (k < 1 || k > HXQ_MC_MAX_CHOICES)
        return bad(r, "'%s%s' must be an array of 1 to %d strings", where, key,
                   HXQ_MC_MAX_CHOICES);
    const cJSON *v;
    int i = 0;
    cJSON_ArrayForEach(v, a) {
        if (!cJSON_IsString(v))
            return bad(r, "'%s%s'[%d] is not a string", where, key, i);
        if (!valid_utf8(v->valuestring))
            return bad(r, "'%s%s'[%d] is not valid UTF-8", where, key, i);
        i++;
    }
    *out = a;
    *n = k;
    return HXQ_OK;
}

/* A non-negative integer index: a JSON integer, or (as_string) a string
 * of ASCII digits, lm-eval's literal_eval of an isdigit() target. */
static int get_index(const row_ctx *r, const cJSON *obj, const char *key, int as_string,
                     int n, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    double d = -1;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (as_string && cJSON_IsString(v) && v->valuestring[0] &&
               strspn(v->valuestring, "0123456789") == strlen(v->valuestring) &&
               strlen(v->valuestring) < 10) {
        d = atof(v->valuestring);
    } else {
        return bad(r, "'%s' is %s, not %s", key, v ? "of another type" : "missing",
                   as_string ? "a string of digits" : "an integer");
    }
    if (!(d >= 0 && d < n) || d != (double)(int)d)
        return bad(r, "'%s' %g is not a choice index in [0, %d)", key, d, n);
    *out = (int)d;
    return HXQ_OK;
}

/* Fills d->choices from an array of strings, each through fn when set. */
static int take_choices(const row_ctx *r, const cJSON *a, int n, char *(*fn)(const char *),
                        hxq_mc_doc *d)
{
    if (!(d->choices = calloc((size_t)n, sizeof(char *))))
        return hxq_err(r->err, HXQ_ERR_NOMEM, "out of memory");
    d->n_choices = n;
    const cJSON *v;
    int i = 0;
    cJSON_ArrayForEach(v, a) {
        if (!(d->choices[i++] = fn ? fn(v->valuestring) : hxq_strdup(v->valuestring)))
            return hxq_err(r->err, HXQ_ERR_NOMEM, "out of memory");
    }
    return HXQ_OK;
}

/* query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()) */
static int parse_hellaswag(const row_ctx *r, const cJSON *o, hxq_mc_doc *d)
{
    const char *act, *a, *b;
    const cJSON *endings;
    int n;
    HXQ_TRY(get_str(r, o, "", "activity_label", &act));
    HXQ_TRY(get_str(r, o, "", "ctx_a", &a));
    HXQ_TRY(get_str(r, o, "", "ctx_b", &b));
    HXQ_TRY(get_strs(r, o, "", "endings", &endings, &n));
    HXQ_TRY(get_index(r, o, "label", 1, n, &d->gold));
    char *cap = mc_py_capitalize(b);
    size_t len = strlen(act) + strlen(a) + (cap ? strlen(cap) : 0) + 4;
    char *q = cap ? malloc(len) : NULL;
    if (q)
        snprintf(q, len, "%s: %s %s", act, a, cap);
    d->context = q ? mc_hellaswag_preprocess(q) : NULL;
    free(q);
    free(cap);
    if (!d->context)
        return hxq_err(r->err, HXQ_ERR_NOMEM, "out of memory");
    return take_choices(r, endings, n, mc_hellaswag_preprocess, d);
}

/* "Question: " + question + "\nAnswer:", gold = choices.label.index(answerKey) */
static int parse_arc(const row_ctx *r, const cJSON *o, hxq_mc_doc *d)
{
    const char *q, *key;
    const cJSON *text, *labels;
    int n, nl;
    HXQ_TRY(get_str(r, o, "", "question", &q));
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "choices");
    if (!cJSON_IsObject(ch))
        return bad(r, "'choices' must be an object {text, label}");
    HXQ_TRY(get_strs(r, ch, "choices.", "text", &text, &n));
    HXQ_TRY(get_strs(r, ch, "choices.", "label", &labels, &nl));
    if (nl != n)
        return bad(r, "'choices.text' has %d entries, 'choices.label' %d", n, nl);
    HXQ_TRY(get_str(r, o, "", "answerKey", &key));
    d->gold = -1;
    const cJSON *v;
    int i = 0;
    cJSON_ArrayForEach(v, labels) {
        if (d->gold < 0 && !strcmp(v->valuestring, key))
            d->gold = i;
        i++;
    }
    if (d->gold < 0)
        return bad(r, "answerKey '%s' is not one of 'choices.label'", key);
    size_t len = strlen(q) + 20;
    if (!(d->context = malloc(len)))
        return hxq_err(r->err, HXQ_ERR_NOMEM, "out of memory");
    snprintf(d->context, len, "Question: %s\nAnswer:", q);
    return take_choices(r, text, n, NULL, d);
}

static int parse_generic(const row_ctx *r, const cJSON *o, hxq_mc_doc *d)
{
    const char *c;
    const cJSON *choices;
    int n;
    HXQ_TRY(get_str(r, o, "", "context", &c));
    HXQ_TRY(get_strs(r, o, "", "choices", &choices, &n));
    HXQ_TRY(get_index(r, o, "gold", 0, n, &d->gold));
    if (!(d->context = hxq_strdup(c)))
        return hxq_err(r->err, HXQ_ERR_NOMEM, "out of memory");
    return take_choices(r, choices, n, NULL, d);
}

static void doc_free(hxq_mc_doc *d)
{
    free(d->context);
    for (int i = 0; d->choices && i < d->n_choices; i++)
        free(d->choices[i]);
    free(d->choices);
    memset(d, 0, sizeof(*d));
}

static int parse_row(const row_ctx *r, const char *s, size_t n, hxq_mc_doc *d)
{
    cJSON *o = cJSON_ParseWithLength(s, n);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return bad(r, "not a JSON object");
    }
    memset(d, 0, sizeof(*d));
    d->line = r->line;
    int rc = r->task == HXQ_MC_HELLASWAG ? parse_hellaswag(r, o, d)
             : r->task == HXQ_MC_ARC     ? parse_arc(r, o, d)
                                         : parse_generic(r, o, d);
    cJSON_Delete(o);
    if (rc < 0)
        doc_free(d);
    return rc;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r", s[i]))
            return 0;
    return 1;
}

int hxq_mc_parse(hxq_mc_task task, const char *text, size_t len, const char *label,
                 int64_t limit, hxq_mc_set *out, hxq_error *err)
{
    if ((unsigned)task > HXQ_MC_GENERIC)
        return hxq_err(err, HXQ_ERR_INVALID, "unknown multiple-choice task %d", (int)task);
    hxq_mc_set s = {task, hxq_strdup(label ? label : "data"), NULL, 0};
    row_ctx r = {s.label, 0, task, err};
    int64_t cap = 0;
    int rc = s.label ? HXQ_OK : hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == HXQ_OK && i < len && (limit <= 0 || s.n < limit);) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        r.line++;
        if (!blank(text + i, end - i)) {
            if (s.n == cap) {
                cap = cap ? 2 * cap : 64;
                hxq_mc_doc *g = realloc(s.docs, (size_t)cap * sizeof(*g));
                if (!g) {
                    rc = hxq_err(err, HXQ_ERR_NOMEM, "out of memory");
                    break;
                }
                s.docs = g;
            }
            rc = parse_row(&r, text + i, end - i, &s.docs[s.n]);
            if (rc == HXQ_OK)
                s.n++;
        }
        i = end + 1;
    }
    if (rc == HXQ_OK && s.n == 0)
        rc = hxq_err(err, HXQ_ERR_FORMAT, "%s: no %s rows", s.label, hxq_mc_task_name(task));
    if (rc < 0) {
        hxq_mc_set_free(&s);
        return rc;
    }
    *out = s;
    return HXQ_OK;
}

int hxq_mc_load(hxq_mc_task task, const char *path, int64_t limit, hxq_mc_set *out,
                hxq_error *err)
{
    char *text;
    size_t len;
    HXQ_TRY(hxq_read_file(path, MC_FILE_MAX, &text, &len, err));
    int rc = hxq_mc_parse(task, text, len, path, limit, out, err);
    free(text);
    return rc;
}

void hxq_mc_set_free(hxq_mc_set *s)
{
    if (!s)
        return;
    for (int64_t i = 0; i < s->n; i++)
        doc_free(&s->docs[i]);
    free(s->docs);
    free(s->label);
    memset(s, 0, sizeof(*s));
}
