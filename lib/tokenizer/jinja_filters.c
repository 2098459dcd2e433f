/* jinja_filters.c - jinja2's builtin filters and tests, as jinja2 3.1
 * defines them (filters.py, tests.py), with transformers' tojson
 * (json.dumps: no HTML escaping, ensure_ascii=False by default). The
 * filters that return generators in jinja2 (map, select, reject,
 * selectattr, rejectattr, unique, items, reverse) return generators here
 * too: always truthy, no len(), consumed once. Filters jinja2 has and hxq
 * does not (groupby, truncate, wordwrap ...) are HXQ_ERR_UNSUPPORTED when
 * run. */
#include "jinja_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*filter_fn)(jinja *J, jv v, const jargs *a, jv *out);

/* Binds the filter's arguments a to the named parameters, into x. */
#define BIND(x, what, ...)                                                                  \
    HXQ_TRY(jinja_bind(J, a, (const char *const[]){__VA_ARGS__},                            \
                       (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)), x, \
                       what))
#define BIND_NONE(what) HXQ_TRY(jinja_bind(J, a, NULL, 0, NULL, what))

static int soft_str(jinja *J, jv v, jv *out)
{
    return jv_to_str(J, v, out);
}

static int arg_true(jv v)
{
    return v.t != JV_MISSING && jv_truthy(v);
}

static jlist *new_list(jinja *J, int kind)
{
    return jlist_new(J, 0, kind);
}

/* jinja2's make_attrgetter: "a.b.0" looks up a, b, then item 0 (getitem). */
static int attr_get(jinja *J, jv item, jv attr, jv dflt, jv *out)
{
    if (attr.t == JV_MISSING || attr.t == JV_NONE) {
        *out = item;
        return HXQ_OK;
    }
    if (attr.t != JV_STR)
        return jinja_getitem(J, item, attr, out);
    size_t b = 0;
    for (;;) {
        size_t e = b;
        while (e < attr.n && attr.u.s[e] != '.')
            e++;
        jv part = jv_str(attr.u.s + b, e - b);
        int digits = e > b;
        for (size_t i = b; i < e; i++)
            digits &= attr.u.s[i] >= '0' && attr.u.s[i] <= '9';
        if (digits && e - b < 19)
            part = jv_int(strtoll(attr.u.s + b, NULL, 10));
        HXQ_TRY(jinja_getitem(J, item, part, &item));
        if (dflt.t != JV_MISSING && dflt.t != JV_NONE && item.t == JV_UNDEF)
            item = dflt;
        if (e >= attr.n)
            break;
        b = e + 1;
    }
    *out = item;
    return HXQ_OK;
}

static jv ignore_case(jinja *J, jv v)
{
    jv low;
    if (v.t == JV_STR && jinja_str_case(J, v, 0, &low) == HXQ_OK)
        return low;
    return v;
}

/* ---- string filters ---------------------------------------------------------------- */

static int f_trim(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[1];
    BIND(x, "trim", "chars");
    HXQ_TRY(soft_str(J, v, &v));
    HXQ_TRY(jinja_str_strip(J, v, x[0], 3, out));
    *out = jv_keep_markup(*out, v);
    return HXQ_OK;
}

/* upper, lower, capitalize, title: on str(value), a Markup kept one. */
static int case_filter(jinja *J, jv v, const jargs *a, int how, jv *out)
{
    static const char *const names[] = {"lower", "upper", "capitalize", "title"};
    BIND_NONE(names[how]);
    HXQ_TRY(soft_str(J, v, &v));
    HXQ_TRY(how < 2 ? jinja_str_case(J, v, how, out) : how == 2 ? jinja_str_capitalize(J, v, out)
                                                               : jinja_str_title(J, v, 0, out));
    *out = jv_keep_markup(*out, v);
    return HXQ_OK;
}

static int f_lower(jinja *J, jv v, const jargs *a, jv *out) { return case_filter(J, v, a, 0, out); }
static int f_upper(jinja *J, jv v, const jargs *a, jv *out) { return case_filter(J, v, a, 1, out); }
static int f_capitalize(jinja *J, jv v, const jargs *a, jv *out) { return case_filter(J, v, a, 2, out); }
static int f_title(jinja *J, jv v, const jargs *a, jv *out) { return case_filter(J, v, a, 3, out); }

static int f_string(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("string");
    return soft_str(J, v, out);
}

static int f_replace(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[3];
    BIND(x, "replace", "old", "new", "count");
    if (x[0].t == JV_MISSING || x[1].t == JV_MISSING)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "replace() needs old and new");
    int64_t count = -1;
    if (x[2].t == JV_INT || x[2].t == JV_BOOL)
        count = x[2].u.i;
    else if (x[2].t != JV_MISSING && x[2].t != JV_NONE)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "replace's count must be an integer");
    jv s, o, n;
    HXQ_TRY(soft_str(J, v, &s));
    HXQ_TRY(soft_str(J, x[0], &o));
    HXQ_TRY(soft_str(J, x[1], &n));
    HXQ_TRY(jinja_str_replace(J, s, o, n, count, out));
    out->id = 0; /* str(s).replace(): a plain str */
    return HXQ_OK;
}

int jinja_html_escape(jinja *J, jv v, jv *out)
{
    HXQ_TRY(jinja_step(J, v.n));
    jbuf b = {0};
    for (size_t i = 0; i < v.n; i++) {
        char c = v.u.s[i];
        const char *r = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;"
                        : c == '"' ? "&#34;" : c == '\'' ? "&#39;" : NULL;
        HXQ_TRY(r ? jbuf_put(J, &b, r, strlen(r)) : jbuf_putc(J, &b, c));
    }
    *out = jv_markup(jbuf_str(&b));
    return HXQ_OK;
}

static int f_escape(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("escape");
    if (v.t == JV_STR && v.id == JV_MARKUP) { /* already safe */
        *out = v;
        return HXQ_OK;
    }
    HXQ_TRY(soft_str(J, v, &v));
    return jinja_html_escape(J, v, out);
}

static int f_forceescape(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("forceescape");
    HXQ_TRY(soft_str(J, v, &v));
    return jinja_html_escape(J, v, out);
}

static int f_safe(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("safe");
    HXQ_TRY(soft_str(J, v, &v));
    *out = jv_markup(v);
    return HXQ_OK;
}

static int f_indent(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[3];
    BIND(x, "indent", "width", "first", "blank");
    jbuf ind = {0};
    if (x[0].t == JV_STR) {
        HXQ_TRY(jbuf_put(J, &ind, x[0].u.s, x[0].n));
    } else {
        int64_t w = 4;
        if (x[0].t == JV_INT || x[0].t == JV_BOOL)
            w = x[0].u.i;
        else if (x[0].t != JV_MISSING)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "indent's width must be an integer "
                              "or a string");
        if (w > 4096)
            return jinja_fail(J, HXQ_ERR_RANGE, J->line, "indent width %lld is too large",
                              (long long)w);
        for (int64_t i = 0; i < w; i++)
            HXQ_TRY(jbuf_putc(J, &ind, ' '));
    }
    if (v.t == JV_UNDEF) /* jinja2 adds "\n" to the value as it is */
        return jinja_undefined_error(J, v);
    if (v.t != JV_STR)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "unsupported operand type(s) for +=: '%s' "
                          "and 'str'", jv_type_name(v));
    jbuf s = {0};
    HXQ_TRY(jbuf_put(J, &s, v.u.s, v.n));
    HXQ_TRY(jbuf_putc(J, &s, '\n')); /* jinja2's quirk for splitlines */
    jlist *lines;
    HXQ_TRY(jinja_str_splitlines(J, jbuf_str(&s), &lines));
    jbuf r = {0};
    if (arg_true(x[1]))
        HXQ_TRY(jbuf_put(J, &r, ind.p, ind.n));
    for (size_t i = 0; i < lines->n; i++) {
        jv line = lines->v[i];
        if (i) {
            HXQ_TRY(jbuf_putc(J, &r, '\n'));
            if (line.n || arg_true(x[2]))
                HXQ_TRY(jbuf_put(J, &r, ind.p, ind.n));
        }
        HXQ_TRY(jbuf_put(J, &r, line.u.s, line.n));
        HXQ_TRY(jinja_step(J, line.n + ind.n));
    }
    *out = jbuf_str(&r);
    return HXQ_OK;
}

/* ---- sequences ----------------------------------------------------------------------- */

static int f_length(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("length");
    int64_t n;
    HXQ_TRY(jinja_len(J, v, &n));
    *out = jv_int(n);
    return HXQ_OK;
}

static int f_list(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("list");
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    jlist *l = jlist_new(J, items->n, JL_LIST);
    if (!l)
        return jinja_oom(J);
    if (items->n)
        memcpy(l->v, items->v, items->n * sizeof(jv));
    l->n = items->n;
    *out = jv_list(l);
    return HXQ_OK;
}

static int f_first(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("first");
    if (v.t == JV_LIST && v.u.l->kind == JL_GEN) {
        jlist *l = v.u.l;
        *out = l->pos < l->n ? l->v[l->pos++] : jv_undef();
        return HXQ_OK;
    }
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    *out = items->n ? items->v[0] : jv_undef();
    return HXQ_OK;
}

static int f_last(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("last");
    if (v.t == JV_LIST && v.u.l->kind == JL_GEN)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "'generator' object is not reversible");
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    *out = items->n ? items->v[items->n - 1] : jv_undef();
    return HXQ_OK;
}

static int f_reverse(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("reverse");
    if (v.t == JV_STR) {
        HXQ_TRY(jinja_step(J, v.n));
        char *p = jinja_alloc(J, v.n + 1);
        if (!p)
            return jinja_oom(J);
        size_t o = v.n;
        for (size_t i = 0; i < v.n;) {
            size_t st = i;
            jinja_utf8_next(v.u.s, v.n, &i);
            o -= i - st;
            memcpy(p + o, v.u.s + st, i - st);
        }
        *out = jv_str(p, v.n);
        return HXQ_OK;
    }
    int was_gen = v.t == JV_LIST && v.u.l->kind == JL_GEN;
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    jlist *l = jlist_new(J, items->n, was_gen ? JL_LIST : JL_GEN); /* reversed() is an iterator */
    if (!l)
        return jinja_oom(J);
    for (size_t i = items->n; i-- > 0;)
        l->v[l->n++] = items->v[i];
    *out = jv_list(l);
    return HXQ_OK;
}

static int f_join(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[2];
    BIND(x, "join", "d", "attribute");
    jv sep = jv_str("", 0);
    if (x[0].t != JV_MISSING)
        HXQ_TRY(soft_str(J, x[0], &sep));
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    jbuf b = {0};
    for (size_t i = 0; i < items->n; i++) {
        jv it;
        HXQ_TRY(attr_get(J, items->v[i], x[1], jv_missing(), &it));
        if (i)
            HXQ_TRY(jbuf_put(J, &b, sep.u.s, sep.n));
        HXQ_TRY(jv_write_str(J, &b, it));
    }
    *out = jbuf_str(&b);
    return HXQ_OK;
}

static int f_items(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("items");
    jlist *l = new_list(J, JL_GEN);
    if (!l)
        return jinja_oom(J);
    if (v.t == JV_DICT) {
        for (size_t i = 0; i < v.u.d->n; i++) {
            jlist *kv = jlist_new(J, 2, JL_TUPLE);
            if (!kv)
                return jinja_oom(J);
            kv->v[0] = v.u.d->k[i];
            kv->v[1] = v.u.d->v[i];
            kv->n = 2;
            HXQ_TRY(jlist_push(J, l, jv_list(kv)));
        }
    } else if (v.t != JV_UNDEF) {
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "can only get item pairs from a mapping");
    }
    *out = jv_list(l);
    return HXQ_OK;
}

/* select / reject / selectattr / rejectattr: items whose (attribute's) test
 * passes (or fails); no test name means truthiness. */
static int select_reject(jinja *J, jv v, const jargs *a, int reject, int attr, jv *out)
{
    jlist *l = new_list(J, JL_GEN);
    if (!l)
        return jinja_oom(J);
    *out = jv_list(l);
    if (!jv_truthy(v))
        return HXQ_OK;
    if (attr && a->npos < 1)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "missing parameter for attribute name");
    int off = attr ? 1 : 0;
    jargs targs = {.pos = a->pos + (a->npos > off ? off + 1 : a->npos),
                   .npos = a->npos > off ? a->npos - off - 1 : 0,
                   .kwnames = a->kwnames, .kw = a->kw, .nkw = a->nkw};
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    for (size_t i = 0; i < items->n; i++) {
        jv it = items->v[i];
        if (attr)
            HXQ_TRY(attr_get(J, it, a->pos[0], jv_missing(), &it));
        int ok;
        if (a->npos > off)
            HXQ_TRY(jinja_test_by_name(J, a->pos[off], it, &targs, &ok));
        else
            ok = jv_truthy(it);
        if (ok != reject)
            HXQ_TRY(jlist_push(J, l, items->v[i]));
    }
    return HXQ_OK;
}

static int f_select(jinja *J, jv v, const jargs *a, jv *out) { return select_reject(J, v, a, 0, 0, out); }
static int f_reject(jinja *J, jv v, const jargs *a, jv *out) { return select_reject(J, v, a, 1, 0, out); }
static int f_selectattr(jinja *J, jv v, const jargs *a, jv *out) { return select_reject(J, v, a, 0, 1, out); }
static int f_rejectattr(jinja *J, jv v, const jargs *a, jv *out) { return select_reject(J, v, a, 1, 1, out); }

static int f_map(jinja *J, jv v, const jargs *a, jv *out)
{
    jlist *l = new_list(J, JL_GEN);
    if (!l)
        return jinja_oom(J);
    *out = jv_list(l);
    if (!jv_truthy(v))
        return HXQ_OK;
    jv attr = jv_missing(), dflt = jv_missing();
    int by_attr = 0;
    if (a->npos == 0) {
        for (int k = 0; k < a->nkw; k++) {
            jv nm = a->kwnames[k];
            if (nm.n == 9 && !memcmp(nm.u.s, "attribute", 9))
                attr = a->kw[k], by_attr = 1;
            else if (nm.n == 7 && !memcmp(nm.u.s, "default", 7))
                dflt = a->kw[k];
            else
                return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "unexpected keyword argument "
                                  "'%.*s'", (int)nm.n, nm.u.s);
        }
        if (!by_attr)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "map requires a filter argument");
    }
    jargs fargs = {.pos = a->pos + 1, .npos = a->npos - 1, .kwnames = a->kwnames, .kw = a->kw,
                   .nkw = a->nkw};
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    for (size_t i = 0; i < items->n; i++) {
        jv r;
        if (by_attr)
            HXQ_TRY(attr_get(J, items->v[i], attr, dflt, &r));
        else
            HXQ_TRY(jinja_filter_by_name(J, a->pos[0], items->v[i], &fargs, &r));
        HXQ_TRY(jlist_push(J, l, r));
    }
    return HXQ_OK;
}

/* Sort keys of items: jinja2's multi-attribute getter, a list of the
 * values of the comma-separated attributes (strings lower-cased unless
 * case_sensitive); lists compare their items with == before <, so equal
 * keys never need an order (Undefined ones included). */
static int sort_keys(jinja *J, const jlist *items, jv attr, int case_sensitive, jv **keys)
{
    jv *k = jinja_alloc(J, (items->n + 1) * sizeof(jv));
    if (!k)
        return jinja_oom(J);
    jlist *parts = jlist_new(J, 0, JL_LIST);
    if (!parts)
        return jinja_oom(J);
    if (attr.t == JV_STR) {
        jv split;
        HXQ_TRY(jinja_str_split(J, attr, jv_str(",", 1), jv_missing(), 0, &split));
        parts = split.u.l;
    } else {
        HXQ_TRY(jlist_push(J, parts, attr));
    }
    for (size_t i = 0; i < items->n; i++) {
        jlist *key = jlist_new(J, parts->n, JL_LIST);
        if (!key)
            return jinja_oom(J);
        for (size_t p = 0; p < parts->n; p++) {
            jv v;
            HXQ_TRY(attr_get(J, items->v[i], parts->v[p], jv_missing(), &v));
            key->v[key->n++] = case_sensitive ? v : ignore_case(J, v);
        }
        k[i] = jv_list(key);
    }
    *keys = k;
    return HXQ_OK;
}

/* jinja2's single-attribute getter (unique, min, max). */
static int attr_keys(jinja *J, const jlist *items, jv attr, int case_sensitive, jv **keys)
{
    jv *k = jinja_alloc(J, (items->n + 1) * sizeof(jv));
    if (!k)
        return jinja_oom(J);
    for (size_t i = 0; i < items->n; i++) {
        HXQ_TRY(attr_get(J, items->v[i], attr, jv_missing(), &k[i]));
        if (!case_sensitive)
            k[i] = ignore_case(J, k[i]);
    }
    *keys = k;
    return HXQ_OK;
}

/* sorted(items, key, reverse) into a new list. CPython's reverse sort is
 * reverse, stable sort, reverse: equal items keep their order. */
static int sorted(jinja *J, const jlist *items, jv *keys, int reverse, jv *out)
{
    size_t n = items->n;
    jlist *l = jlist_new(J, n, JL_LIST);
    size_t *order = jinja_alloc(J, (n + 1) * sizeof(size_t));
    jv *rk = jinja_alloc(J, (n + 1) * sizeof(jv));
    if (!l || !order || !rk)
        return jinja_oom(J);
    for (size_t i = 0; i < n; i++)
        rk[i] = keys[reverse ? n - 1 - i : i];
    HXQ_TRY(jinja_sort_order(J, rk, n, order));
    for (size_t i = 0; i < n; i++) {
        size_t k = reverse ? n - 1 - order[n - 1 - i] : order[i];
        l->v[l->n++] = items->v[k];
    }
    *out = jv_list(l);
    return HXQ_OK;
}

static int f_sort(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[3];
    BIND(x, "sort", "reverse", "case_sensitive", "attribute");
    jlist *items;
    jv *keys = NULL;
    HXQ_TRY(jinja_iterate(J, v, &items));
    HXQ_TRY(sort_keys(J, items, x[2], arg_true(x[1]), &keys));
    return sorted(J, items, keys, arg_true(x[0]), out);
}

static int f_dictsort(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[3];
    BIND(x, "dictsort", "case_sensitive", "by", "reverse");
    int by_value = 0;
    if (x[1].t == JV_STR && x[1].n == 5 && !memcmp(x[1].u.s, "value", 5))
        by_value = 1;
    else if (x[1].t != JV_MISSING && !(x[1].t == JV_STR && x[1].n == 3 &&
                                        !memcmp(x[1].u.s, "key", 3)))
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "you can only sort by either \"key\" or "
                          "\"value\"");
    if (v.t != JV_DICT)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "dictsort needs a mapping, not %s",
                          jv_type_name(v));
    jargs none = {0};
    jv pairs;
    HXQ_TRY(f_items(J, v, &none, &pairs));
    jlist *items = pairs.u.l;
    jv *keys = jinja_alloc(J, (items->n + 1) * sizeof(jv));
    if (!keys)
        return jinja_oom(J);
    for (size_t i = 0; i < items->n; i++) {
        keys[i] = items->v[i].u.l->v[by_value];
        if (!arg_true(x[0]))
            keys[i] = ignore_case(J, keys[i]);
    }
    return sorted(J, items, keys, arg_true(x[2]), out);
}

static int f_unique(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[2];
    BIND(x, "unique", "case_sensitive", "attribute");
    jlist *items, *l = new_list(J, JL_GEN);
    jv *keys = NULL;
    if (!l)
        return jinja_oom(J);
    HXQ_TRY(jinja_iterate(J, v, &items));
    HXQ_TRY(attr_keys(J, items, x[1], arg_true(x[0]), &keys));
    jv *seen = jinja_alloc(J, (items->n + 1) * sizeof(jv));
    size_t ns = 0;
    if (!seen)
        return jinja_oom(J);
    for (size_t i = 0; i < items->n; i++) {
        HXQ_TRY(jinja_hashable(J, keys[i]));
        int dup = 0;
        for (size_t k = 0; k < ns && !dup; k++)
            HXQ_TRY(jv_equal(J, seen[k], keys[i], &dup));
        if (dup)
            continue;
        seen[ns++] = keys[i];
        HXQ_TRY(jlist_push(J, l, items->v[i]));
    }
    *out = jv_list(l);
    return HXQ_OK;
}

static int min_max(jinja *J, jv v, const jargs *a, int want_max, jv *out)
{
    jv x[2];
    BIND(x, want_max ? "max" : "min", "case_sensitive", "attribute");
    jlist *items;
    jv *keys = NULL;
    HXQ_TRY(jinja_iterate(J, v, &items));
    if (!items->n) {
        *out = jv_undef();
        return HXQ_OK;
    }
    HXQ_TRY(attr_keys(J, items, x[1], arg_true(x[0]), &keys));
    size_t best = 0;
    for (size_t i = 1; i < items->n; i++) {
        int lt;
        HXQ_TRY(want_max ? jv_less(J, keys[best], keys[i], &lt) : jv_less(J, keys[i], keys[best], &lt));
        if (lt)
            best = i;
    }
    *out = items->v[best];
    return HXQ_OK;
}

static int f_min(jinja *J, jv v, const jargs *a, jv *out) { return min_max(J, v, a, 0, out); }
static int f_max(jinja *J, jv v, const jargs *a, jv *out) { return min_max(J, v, a, 1, out); }

static int f_sum(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[2];
    BIND(x, "sum", "attribute", "start");
    jv acc = x[1].t == JV_MISSING ? jv_int(0) : x[1];
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    for (size_t i = 0; i < items->n; i++) {
        jv it;
        HXQ_TRY(attr_get(J, items->v[i], x[0], jv_missing(), &it));
        if (acc.t == JV_STR)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "sum() can't sum strings");
        HXQ_TRY(jinja_binop(J, JOP_ADD, acc, it, &acc));
    }
    *out = acc;
    return HXQ_OK;
}

/* ---- values ------------------------------------------------------------------------------ */

static int f_default(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[2];
    BIND(x, "default", "default_value", "boolean");
    int use = v.t == JV_UNDEF || (arg_true(x[1]) && !jv_truthy(v));
    *out = use ? (x[0].t == JV_MISSING ? jv_str("", 0) : x[0]) : v;
    return HXQ_OK;
}

static int f_attr(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[1];
    BIND(x, "attr", "name");
    jv name;
    HXQ_TRY(soft_str(J, x[0], &name));
    if (v.t == JV_NS || v.t == JV_LOOP) /* attributes, not items */
        return jinja_getattr(J, v, name.u.s, name.n, out);
    if (v.t == JV_UNDEF)
        return jinja_undefined_error(J, v);
    if (!(name.n && name.u.s[0] == '_') && jinja_method_find(J, v, name.u.s, name.n, out))
        return HXQ_OK;
    *out = jv_undef_named(name.u.s, name.n, v.t);
    return HXQ_OK;
}

static int f_tojson(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[4];
    BIND(x, "tojson", "ensure_ascii", "indent", "separators", "sort_keys");
    jjson_opts o = {.ensure_ascii = arg_true(x[0]), .sort_keys = arg_true(x[3]),
                    .indent = jv_none(), .item_sep = jv_none(), .key_sep = jv_none()};
    if (x[1].t == JV_INT || x[1].t == JV_BOOL || x[1].t == JV_STR) {
        o.indent = x[1];
        if (x[1].t != JV_STR && x[1].u.i > 4096)
            return jinja_fail(J, HXQ_ERR_RANGE, J->line, "tojson indent %lld is too large",
                              (long long)x[1].u.i);
    } else if (x[1].t != JV_MISSING && x[1].t != JV_NONE) {
        return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported tojson indent of type "
                          "%s", jv_type_name(x[1]));
    }
    if (x[2].t == JV_LIST && x[2].u.l->n == 2 && x[2].u.l->v[0].t == JV_STR &&
        x[2].u.l->v[1].t == JV_STR) {
        o.item_sep = x[2].u.l->v[0];
        o.key_sep = x[2].u.l->v[1];
    } else if (x[2].t != JV_MISSING && x[2].t != JV_NONE) {
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "tojson separators must be a pair of "
                          "strings");
    }
    jbuf b = {0};
    HXQ_TRY(jinja_json_dump(J, &b, v, &o));
    *out = jbuf_str(&b);
    return HXQ_OK;
}

/* Python int(str) / float(str): surrounding whitespace and single
 * underscores between digits allowed. Returns 1 when s parses. */
static int parse_number(jinja *J, jv s, int want_int, int64_t base, jv *out)
{
    jv t;
    if (jinja_str_strip(J, s, jv_none(), 3, &t) < 0 || t.n == 0 || t.n > 300)
        return 0;
    char tmp[320];
    size_t k = 0;
    for (size_t i = 0; i < t.n; i++) {
        char c = t.u.s[i];
        if (c == '_') {
            if (i == 0 || i + 1 >= t.n || t.u.s[i - 1] == '_')
                return 0;
            continue;
        }
        tmp[k++] = c;
    }
    tmp[k] = 0;
    char *end;
    if (want_int) {
        if (base < 2 || base > 36)
            return 0;
        long long v = strtoll(tmp, &end, (int)base);
        if (*end || end == tmp || tmp[0] == ' ' || (base != 16 && strchr(tmp, 'x')))
            return 0;
        *out = jv_int(v);
        return 1;
    }
    double d = strtod(tmp, &end);
    if (*end || end == tmp || strchr(tmp, 'x') || strchr(tmp, 'X'))
        return 0;
    *out = jv_float(d);
    return 1;
}

static int f_int(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[2];
    BIND(x, "int", "default", "base");
    jv dflt = x[0].t == JV_MISSING ? jv_int(0) : x[0], f;
    int64_t base = x[1].t == JV_INT ? x[1].u.i : 10;
    if (v.t == JV_INT || v.t == JV_BOOL) {
        *out = jv_int(v.u.i);
        return HXQ_OK;
    }
    if (v.t == JV_STR && parse_number(J, v, 1, base, out))
        return HXQ_OK;
    if (v.t == JV_STR && parse_number(J, v, 0, 10, &f))
        v = f;
    if (v.t == JV_FLOAT) {
        if (isinf(v.u.f))
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "cannot convert float infinity to "
                              "integer");
        if (!isnan(v.u.f)) {
            if (!(fabs(v.u.f) < 9.2e18))
                return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "integer overflow (hxq's "
                                  "integers are 64-bit)");
            *out = jv_int((int64_t)v.u.f);
            return HXQ_OK;
        }
    }
    *out = dflt;
    return HXQ_OK;
}

static int f_float(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[1];
    BIND(x, "float", "default");
    if (jv_is_num(v)) {
        *out = jv_float(v.t == JV_FLOAT ? v.u.f : (double)v.u.i);
        return HXQ_OK;
    }
    if (v.t == JV_STR && parse_number(J, v, 0, 10, out))
        return HXQ_OK;
    *out = x[0].t == JV_MISSING ? jv_float(0.0) : x[0];
    return HXQ_OK;
}

static int f_abs(jinja *J, jv v, const jargs *a, jv *out)
{
    BIND_NONE("abs");
    if (v.t == JV_FLOAT)
        *out = jv_float(fabs(v.u.f));
    else if ((v.t == JV_INT || v.t == JV_BOOL) && v.u.i != INT64_MIN)
        *out = jv_int(v.u.i < 0 ? -v.u.i : v.u.i);
    else
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "bad operand type for abs(): '%s'",
                          jv_type_name(v));
    return HXQ_OK;
}

static int f_round(jinja *J, jv v, const jargs *a, jv *out)
{
    jv x[2];
    BIND(x, "round", "precision", "method");
    int64_t p = x[0].t == JV_INT || x[0].t == JV_BOOL ? x[0].u.i : 0;
    int method = 0; /* common, ceil, floor */
    if (x[1].t == JV_STR && x[1].n == 4 && !memcmp(x[1].u.s, "ceil", 4))
        method = 1;
    else if (x[1].t == JV_STR && x[1].n == 5 && !memcmp(x[1].u.s, "floor", 5))
        method = 2;
    else if (x[1].t != JV_MISSING && !(x[1].t == JV_STR && x[1].n == 6 &&
                                        !memcmp(x[1].u.s, "common", 6)))
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "method must be common, ceil or floor");
    if (!jv_is_num(v))
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "type %s doesn't define __round__ method",
                          jv_type_name(v));
    if (p < 0 || p > 30)
        return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported round precision %lld",
                          (long long)p);
    double f = v.t == JV_FLOAT ? v.u.f : (double)v.u.i;
    if (method) {
        double m = pow(10.0, (double)p);
        *out = jv_float((method == 1 ? ceil(f * m) : floor(f * m)) / m);
        return HXQ_OK;
    }
    if (v.t != JV_FLOAT) { /* round(int, n >= 0) is the int */
        *out = jv_int(v.u.i);
        return HXQ_OK;
    }
    if (!isfinite(f)) {
        *out = v;
        return HXQ_OK;
    }
    char tmp[400];
    snprintf(tmp, sizeof(tmp), "%.*f", (int)p, f); /* correctly rounded, ties to even */
    *out = jv_float(strtod(tmp, NULL));
    return HXQ_OK;
}

/* ---- the filter table --------------------------------------------------------------------- */

static const struct filter {
    const char *name;
    filter_fn fn; /* NULL: jinja2 has it, hxq does not */
} filters[] = {
    {"abs", f_abs}, {"attr", f_attr}, {"batch", NULL}, {"capitalize", f_capitalize},
    {"center", NULL}, {"count", f_length}, {"d", f_default}, {"default", f_default},
    {"dictsort", f_dictsort}, {"e", f_escape}, {"escape", f_escape},
    {"filesizeformat", NULL}, {"first", f_first}, {"float", f_float},
    {"forceescape", f_forceescape}, {"format", NULL}, {"groupby", NULL}, {"indent", f_indent},
    {"int", f_int}, {"items", f_items}, {"join", f_join}, {"last", f_last},
    {"length", f_length}, {"list", f_list}, {"lower", f_lower}, {"map", f_map},
    {"max", f_max}, {"min", f_min}, {"pprint", NULL}, {"random", NULL}, {"reject", f_reject},
    {"rejectattr", f_rejectattr}, {"replace", f_replace}, {"reverse", f_reverse},
    {"round", f_round}, {"safe", f_safe}, {"select", f_select}, {"selectattr", f_selectattr},
    {"slice", NULL}, {"sort", f_sort}, {"string", f_string}, {"striptags", NULL},
    {"sum", f_sum}, {"title", f_title}, {"tojson", f_tojson}, {"trim", f_trim},
    {"truncate", NULL}, {"unique", f_unique}, {"upper", f_upper}, {"urlencode", NULL},
    {"urlize", NULL}, {"wordcount", NULL}, {"wordwrap", NULL}, {"xmlattr", NULL},
};

#define N_FILTERS ((int)(sizeof(filters) / sizeof(filters[0])))

int jinja_filter_find(const char *name, size_t n)
{
    for (int i = 0; i < N_FILTERS; i++)
        if (strlen(filters[i].name) == n && !memcmp(filters[i].name, name, n))
            return i;
    return -1;
}

int jinja_filter_apply(jinja *J, int fid, jv value, const jargs *a, jv *out)
{
    if (fid < 0 || fid >= N_FILTERS)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "no such filter");
    if (!filters[fid].fn)
        return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported filter '%s'",
                          filters[fid].name);
    HXQ_TRY(jinja_step(J, 0));
    return filters[fid].fn(J, value, a, out);
}

int jinja_filter_by_name(jinja *J, jv name, jv value, const jargs *a, jv *out)
{
    int fid = name.t == JV_STR ? jinja_filter_find(name.u.s, name.n) : -1;
    if (fid < 0)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "no filter named '%.*s'",
                          name.t == JV_STR ? (int)name.n : 1, name.t == JV_STR ? name.u.s : "?");
    return jinja_filter_apply(J, fid, value, a, out);
}

/* ---- tests ----------------------------------------------------------------------------------- */

enum {
    T_ODD, T_EVEN, T_DIVISIBLEBY, T_DEFINED, T_UNDEFINED, T_FILTER, T_TEST, T_NONE, T_BOOLEAN,
    T_FALSE, T_TRUE, T_INTEGER, T_FLOAT, T_LOWER, T_UPPER, T_STRING, T_MAPPING, T_NUMBER,
    T_SEQUENCE, T_ITERABLE, T_CALLABLE, T_SAMEAS, T_ESCAPED, T_IN, T_EQ, T_NE, T_GT, T_GE, T_LT,
    T_LE
};

static const struct { const char *name; int id; } tests[] = {
    {"odd", T_ODD}, {"even", T_EVEN}, {"divisibleby", T_DIVISIBLEBY}, {"defined", T_DEFINED},
    {"undefined", T_UNDEFINED}, {"filter", T_FILTER}, {"test", T_TEST}, {"none", T_NONE},
    {"boolean", T_BOOLEAN}, {"false", T_FALSE}, {"true", T_TRUE}, {"integer", T_INTEGER},
    {"float", T_FLOAT}, {"lower", T_LOWER}, {"upper", T_UPPER}, {"string", T_STRING},
    {"mapping", T_MAPPING}, {"number", T_NUMBER}, {"sequence", T_SEQUENCE},
    {"iterable", T_ITERABLE}, {"callable", T_CALLABLE}, {"sameas", T_SAMEAS},
    {"escaped", T_ESCAPED}, {"in", T_IN}, {"==", T_EQ}, {"eq", T_EQ}, {"equalto", T_EQ},
    {"!=", T_NE}, {"ne", T_NE}, {">", T_GT}, {"gt", T_GT}, {"greaterthan", T_GT},
    {">=", T_GE}, {"ge", T_GE}, {"<", T_LT}, {"lt", T_LT}, {"lessthan", T_LT}, {"<=", T_LE},
    {"le", T_LE},
};

#define N_TESTS ((int)(sizeof(tests) / sizeof(tests[0])))

int jinja_test_find(const char *name, size_t n)
{
    for (int i = 0; i < N_TESTS; i++)
        if (strlen(tests[i].name) == n && !memcmp(tests[i].name, name, n))
            return i;
    return -1;
}

static int modulo_is(jinja *J, jv v, jv by, int64_t want, int *res)
{
    jv m;
    HXQ_TRY(jinja_binop(J, JOP_MOD, v, by, &m));
    return jv_equal(J, m, jv_int(want), res);
}

int jinja_test_apply(jinja *J, int tid, jv v, const jargs *a, int *res)
{
    if (tid < 0 || tid >= N_TESTS)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "no such test");
    int id = tests[tid].id;
    int nargs = id == T_DIVISIBLEBY || id == T_SAMEAS || id == T_IN || id >= T_EQ;
    jv x[1];
    HXQ_TRY(jinja_bind(J, a, (const char *const[]){"other"}, nargs, x, tests[tid].name));
    if (nargs && x[0].t == JV_MISSING)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "test '%s' needs an argument",
                          tests[tid].name);
    jv s;
    switch (id) {
    case T_ODD: return modulo_is(J, v, jv_int(2), 1, res);
    case T_EVEN: return modulo_is(J, v, jv_int(2), 0, res);
    case T_DIVISIBLEBY: return modulo_is(J, v, x[0], 0, res);
    case T_DEFINED: *res = v.t != JV_UNDEF; return HXQ_OK;
    case T_UNDEFINED: *res = v.t == JV_UNDEF; return HXQ_OK;
    case T_FILTER: *res = v.t == JV_STR && jinja_filter_find(v.u.s, v.n) >= 0; return HXQ_OK;
    case T_TEST: *res = v.t == JV_STR && jinja_test_find(v.u.s, v.n) >= 0; return HXQ_OK;
    case T_NONE: *res = v.t == JV_NONE; return HXQ_OK;
    case T_BOOLEAN: *res = v.t == JV_BOOL; return HXQ_OK;
    case T_FALSE: *res = v.t == JV_BOOL && !v.u.i; return HXQ_OK;
    case T_TRUE: *res = v.t == JV_BOOL && v.u.i; return HXQ_OK;
    case T_INTEGER: *res = v.t == JV_INT; return HXQ_OK;
    case T_FLOAT: *res = v.t == JV_FLOAT; return HXQ_OK;
    case T_LOWER:
    case T_UPPER:
        HXQ_TRY(soft_str(J, v, &s));
        *res = jinja_str_is(s, id == T_LOWER ? "lower" : "upper");
        return HXQ_OK;
    case T_STRING: *res = v.t == JV_STR; return HXQ_OK;
    case T_MAPPING: *res = v.t == JV_DICT; return HXQ_OK;
    case T_NUMBER: *res = jv_is_num(v); return HXQ_OK;
    case T_SEQUENCE:
        *res = v.t == JV_STR || v.t == JV_DICT || v.t == JV_UNDEF ||
               (v.t == JV_LIST && (v.u.l->kind == JL_LIST || v.u.l->kind == JL_TUPLE ||
                                   v.u.l->kind == JL_RANGE));
        return HXQ_OK;
    case T_ITERABLE:
        *res = v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF ||
               v.t == JV_LOOP;
        return HXQ_OK;
    case T_CALLABLE:
        *res = v.t == JV_MACRO || v.t == JV_FUNC || v.t == JV_METHOD || v.t == JV_LOOP;
        return HXQ_OK;
    case T_SAMEAS:
        if (v.t != x[0].t)
            *res = 0;
        else if (v.t == JV_NONE || v.t == JV_UNDEF)
            *res = v.t == JV_NONE;
        else if (v.t == JV_BOOL)
            *res = v.u.i == x[0].u.i;
        else if (v.t == JV_INT) /* CPython caches -5..256 */
            *res = v.u.i == x[0].u.i && v.u.i >= -5 && v.u.i <= 256;
        else if (v.t == JV_STR)
            *res = v.u.s == x[0].u.s && v.n == x[0].n;
        else if (v.t == JV_FLOAT)
            *res = 0;
        else
            *res = v.u.d == x[0].u.d;
        return HXQ_OK;
    case T_ESCAPED: *res = v.t == JV_STR && v.id == JV_MARKUP; return HXQ_OK;
    case T_IN: return jinja_contains(J, x[0], v, res);
    case T_EQ: return jinja_compare(J, JC_EQ, v, x[0], res);
    case T_NE: return jinja_compare(J, JC_NE, v, x[0], res);
    case T_GT: return jinja_compare(J, JC_GT, v, x[0], res);
    case T_GE: return jinja_compare(J, JC_GE, v, x[0], res);
    case T_LT: return jinja_compare(J, JC_LT, v, x[0], res);
    case T_LE: return jinja_compare(J, JC_LE, v, x[0], res);
    default: return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "no such test");
    }
}

int jinja_test_by_name(jinja *J, jv name, jv value, const jargs *a, int *res)
{
    int tid = name.t == JV_STR ? jinja_test_find(name.u.s, name.n) : -1;
    if (tid < 0)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "no test named '%.*s'",
                          name.t == JV_STR ? (int)name.n : 1, name.t == JV_STR ? name.u.s : "?");
    return jinja_test_apply(J, tid, value, a, res);
}
