/* jinja_value.c - the interpreter's values with Python's semantics where
 * templates see them: truthiness, ==, <, str(), repr() (floats as Python
 * prints them), len(), iteration, and jinja2's Undefined. */
#include "jinja_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- undefined ------------------------------------------------------------------- */

jv jv_undef_named(const char *s, size_t n, int owner)
{
    jv v = jv_undef();
    v.u.s = s;
    v.n = n;
    v.id = (uint16_t)(owner < 0 ? 0 : owner + 1);
    return v;
}

static const char *owner_repr(int t)
{
    switch (t) {
    case JV_NONE: return "None";
    case JV_BOOL: return "bool object";
    case JV_INT: return "int object";
    case JV_FLOAT: return "float object";
    case JV_STR: return "str object";
    case JV_LIST: return "list object";
    case JV_DICT: return "dict object";
    case JV_NS: return "Namespace object";
    case JV_LOOP: return "LoopContext object";
    default: return "object";
    }
}

int jinja_undefined_error(jinja *J, jv u)
{
    int owner = (u.id & 0xff) - 1;
    if (!u.u.s)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "an undefined value was used");
    if (owner < 0)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "'%.*s' is undefined", (int)u.n, u.u.s);
    if (u.id & JV_UNDEF_ELEMENT) /* jinja2's wording: the name is the key's repr */
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "%s has no element %.*s", owner_repr(owner),
                          (int)u.n, u.u.s);
    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "'%s' has no attribute '%.*s'",
                      owner_repr(owner), (int)u.n, u.u.s);
}

int jv_str_dup(jinja *J, const char *s, size_t n, jv *out)
{
    char *p = jinja_alloc(J, n + 1);
    if (!p)
        return jinja_oom(J);
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    *out = jv_str(p, n);
    return HXQ_OK;
}

/* ---- containers -------------------------------------------------------------------- */

jlist *jlist_new(jinja *J, size_t cap, int kind)
{
    jlist *l = jinja_alloc(J, sizeof(*l));
    if (!l)
        return NULL;
    memset(l, 0, sizeof(*l));
    l->kind = (uint8_t)kind;
    if (cap) {
        if (cap > JINJA_MAX_MEMORY / sizeof(jv) || !(l->v = jinja_alloc(J, cap * sizeof(jv))))
            return NULL;
        l->cap = cap;
    }
    return l;
}

int jlist_push(jinja *J, jlist *l, jv v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4;
        if (cap > JINJA_MAX_MEMORY / sizeof(jv))
            return jinja_oom(J);
        jv *p = jinja_alloc(J, cap * sizeof(jv));
        if (!p)
            return jinja_oom(J);
        if (l->n)
            memcpy(p, l->v, l->n * sizeof(jv));
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = v;
    return HXQ_OK;
}

jv jv_list(jlist *l)
{
    jv v = {0};
    v.t = JV_LIST;
    v.u.l = l;
    return v;
}

jdict *jdict_new(jinja *J)
{
    jdict *d = jinja_alloc(J, sizeof(*d));
    if (!d)
        return NULL;
    memset(d, 0, sizeof(*d));
    return d;
}

jv jv_dict(jdict *d)
{
    jv v = {0};
    v.t = JV_DICT;
    v.u.d = d;
    return v;
}

/* Equality of hashable keys (no failure possible). */
static int key_eq(jv a, jv b)
{
    if (jv_is_num(a) && jv_is_num(b)) {
        if (a.t == JV_FLOAT || b.t == JV_FLOAT) {
            double x = a.t == JV_FLOAT ? a.u.f : (double)a.u.i;
            double y = b.t == JV_FLOAT ? b.u.f : (double)b.u.i;
            return x == y;
        }
        return a.u.i == b.u.i;
    }
    if (a.t != b.t)
        return 0;
    switch (a.t) {
    case JV_STR: return a.n == b.n && !memcmp(a.u.s, b.u.s, a.n);
    case JV_NONE:
    case JV_UNDEF: return 1;
    case JV_LIST:
        if (a.u.l->kind != b.u.l->kind || a.u.l->n != b.u.l->n)
            return 0;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!key_eq(a.u.l->v[i], b.u.l->v[i]))
                return 0;
        return 1;
    default: return a.u.d == b.u.d;
    }
}

jv *jdict_get(jdict *d, jv key)
{
    for (size_t i = 0; i < d->n; i++)
        if (key_eq(d->k[i], key))
            return &d->v[i];
    return NULL;
}

jv *jdict_get_str(const jdict *d, const char *s, size_t n)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == JV_STR && d->k[i].n == n && !memcmp(d->k[i].u.s, s, n))
            return &d->v[i];
    return NULL;
}

int jdict_set(jinja *J, jdict *d, jv key, jv val)
{
    HXQ_TRY(jinja_step(J, d->n * sizeof(jv)));
    jv *slot = jdict_get(d, key);
    if (slot) {
        *slot = val;
        return HXQ_OK;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        if (cap > JINJA_MAX_MEMORY / sizeof(jv))
            return jinja_oom(J);
        jv *k = jinja_alloc(J, cap * sizeof(jv)), *v = jinja_alloc(J, cap * sizeof(jv));
        if (!k || !v)
            return jinja_oom(J);
        if (d->n) {
            memcpy(k, d->k, d->n * sizeof(jv));
            memcpy(v, d->v, d->n * sizeof(jv));
        }
        d->k = k;
        d->v = v;
        d->cap = cap;
    }
    d->k[d->n] = key;
    d->v[d->n++] = val;
    return HXQ_OK;
}

int jv_hashable(jv key)
{
    switch (key.t) {
    case JV_NONE: case JV_BOOL: case JV_INT: case JV_FLOAT: case JV_STR: case JV_UNDEF:
        return 1;
    case JV_LIST:
        if (key.u.l->kind != JL_TUPLE && key.u.l->kind != JL_RANGE)
            return 0;
        for (size_t i = 0; i < key.u.l->n; i++)
            if (!jv_hashable(key.u.l->v[i]))
                return 0;
        return 1;
    default:
        return 0;
    }
}

int jinja_hashable(jinja *J, jv key)
{
    if (jv_hashable(key))
        return HXQ_OK;
    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "unhashable type: '%s'", jv_type_name(key));
}

/* ---- Python semantics -------------------------------------------------------------------- */

const char *jv_type_name(jv v)
{
    switch (v.t) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST:
        switch (v.u.l->kind) {
        case JL_TUPLE: return "tuple";
        case JL_RANGE: return "range";
        case JL_GEN: return "generator";
        case JL_ITEMS: return "dict_items";
        case JL_KEYS: return "dict_keys";
        case JL_VALUES: return "dict_values";
        default: return "list";
        }
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    case JV_LOOP: return "LoopContext";
    case JV_MACRO: return "Macro";
    default: return "function";
    }
}

int jv_truthy(jv v)
{
    switch (v.t) {
    case JV_UNDEF: case JV_NONE: case JV_MISSING: return 0;
    case JV_BOOL: case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.n > 0;
    case JV_LIST: return v.u.l->kind == JL_GEN || v.u.l->n > 0;
    case JV_DICT: return v.u.d->n > 0;
    default: return 1;
    }
}

static int num_eq(jv a, jv b)
{
    if (a.t != JV_FLOAT && b.t != JV_FLOAT)
        return a.u.i == b.u.i;
    if (a.t == JV_FLOAT && b.t == JV_FLOAT)
        return a.u.f == b.u.f;
    int64_t i = a.t == JV_FLOAT ? b.u.i : a.u.i;
    double f = a.t == JV_FLOAT ? a.u.f : b.u.f;
    if (f != floor(f) || !(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
        return 0;
    return (int64_t)f == i;
}

/* Python's < between numbers, exact for large ints. */
static int num_lt(jv a, jv b)
{
    if (a.t != JV_FLOAT && b.t != JV_FLOAT)
        return a.u.i < b.u.i;
    double x = a.t == JV_FLOAT ? a.u.f : (double)a.u.i;
    double y = b.t == JV_FLOAT ? b.u.f : (double)b.u.i;
    if (x != y || isnan(x) || isnan(y))
        return x < y;
    /* equal as doubles: an int may still differ from the float by rounding */
    if (a.t != JV_FLOAT && y >= -9223372036854775808.0 && y < 9223372036854775808.0)
        return a.u.i < (int64_t)y;
    if (b.t != JV_FLOAT && x >= -9223372036854775808.0 && x < 9223372036854775808.0)
        return (int64_t)x < b.u.i;
    return 0;
}

static int too_deep(jinja *J, int depth)
{
    return jinja_fail(J, HXQ_ERR_RANGE, J->line, "values nested more than %d deep (at %d)",
                      JINJA_MAX_DEPTH, depth);
}

static int equal_at(jinja *J, jv a, jv b, int *eq, int depth)
{
    if (depth > JINJA_MAX_DEPTH)
        return too_deep(J, depth);
    *eq = 0;
    if (jv_is_num(a) && jv_is_num(b)) {
        *eq = num_eq(a, b);
        return HXQ_OK;
    }
    if (a.t != b.t)
        return HXQ_OK;
    switch (a.t) {
    case JV_UNDEF: case JV_NONE: *eq = 1; return HXQ_OK;
    case JV_STR: *eq = a.n == b.n && !memcmp(a.u.s, b.u.s, a.n); return HXQ_OK;
    case JV_LIST: {
        const jlist *x = a.u.l, *y = b.u.l;
        if (x == y) {
            *eq = 1;
            return HXQ_OK;
        }
        if (x->kind != y->kind || x->kind == JL_GEN || x->kind == JL_VALUES || x->n != y->n)
            return HXQ_OK;
        HXQ_TRY(jinja_step(J, x->n));
        for (size_t i = 0; i < x->n; i++) {
            HXQ_TRY(equal_at(J, x->v[i], y->v[i], eq, depth + 1));
            if (!*eq)
                return HXQ_OK;
        }
        *eq = 1;
        return HXQ_OK;
    }
    case JV_DICT: {
        const jdict *x = a.u.d, *y = b.u.d;
        if (x->n != y->n)
            return HXQ_OK;
        HXQ_TRY(jinja_step(J, x->n * y->n));
        for (size_t i = 0; i < x->n; i++) {
            jv *w = jdict_get(b.u.d, x->k[i]);
            if (!w)
                return HXQ_OK;
            HXQ_TRY(equal_at(J, x->v[i], *w, eq, depth + 1));
            if (!*eq)
                return HXQ_OK;
        }
        *eq = 1;
        return HXQ_OK;
    }
    case JV_METHOD: *eq = a.u.self == b.u.self && a.id == b.id; return HXQ_OK;
    case JV_FUNC: *eq = a.id == b.id; return HXQ_OK;
    default: *eq = a.u.d == b.u.d; return HXQ_OK;
    }
}

int jv_equal(jinja *J, jv a, jv b, int *eq)
{
    return equal_at(J, a, b, eq, 0);
}

static int less_at(jinja *J, jv a, jv b, int *lt, int depth)
{
    if (depth > JINJA_MAX_DEPTH)
        return too_deep(J, depth);
    if (a.t == JV_UNDEF || b.t == JV_UNDEF)
        return jinja_undefined_error(J, a.t == JV_UNDEF ? a : b);
    if (jv_is_num(a) && jv_is_num(b)) {
        *lt = num_lt(a, b);
        return HXQ_OK;
    }
    if (a.t == JV_STR && b.t == JV_STR) {
        size_t m = a.n < b.n ? a.n : b.n;
        int c = m ? memcmp(a.u.s, b.u.s, m) : 0;
        *lt = c < 0 || (c == 0 && a.n < b.n);
        return HXQ_OK;
    }
    if (a.t == JV_LIST && b.t == JV_LIST && a.u.l->kind == b.u.l->kind &&
        (a.u.l->kind == JL_LIST || a.u.l->kind == JL_TUPLE)) {
        const jlist *x = a.u.l, *y = b.u.l;
        size_t m = x->n < y->n ? x->n : y->n;
        for (size_t i = 0; i < m; i++) {
            int eq;
            HXQ_TRY(equal_at(J, x->v[i], y->v[i], &eq, depth + 1));
            if (!eq)
                return less_at(J, x->v[i], y->v[i], lt, depth + 1);
        }
        *lt = x->n < y->n;
        return HXQ_OK;
    }
    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "'<' not supported between instances of '%s' "
                      "and '%s'", jv_type_name(a), jv_type_name(b));
}

int jv_less(jinja *J, jv a, jv b, int *lt)
{
    return less_at(J, a, b, lt, 0);
}

/* ---- str() and repr() ------------------------------------------------------------------- */

/* Shortest digits that read back as f (%.17g at most), Python's repr. */
size_t jinja_format_float(double f, char *buf)
{
    if (isnan(f))
        return (size_t)sprintf(buf, "nan");
    if (isinf(f))
        return (size_t)sprintf(buf, f < 0 ? "-inf" : "inf");
    char tmp[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
    /* tmp: [-]d[.ddd]e[+-]xx -> digits and decimal exponent */
    char digits[24];
    int nd = 0, neg = tmp[0] == '-';
    const char *p = tmp + neg;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int exp10 = atoi(p + 1);
    int decpt = exp10 + 1; /* digits d1d2... = 0.d1d2... x 10^decpt */
    size_t k = 0;
    if (neg)
        buf[k++] = '-';
    if (decpt <= -4 || decpt > 16) {
        buf[k++] = digits[0];
        if (nd > 1) {
            buf[k++] = '.';
            memcpy(buf + k, digits + 1, (size_t)nd - 1);
            k += (size_t)nd - 1;
        }
        k += (size_t)sprintf(buf + k, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (decpt <= 0) {
        buf[k++] = '0';
        buf[k++] = '.';
        for (int i = 0; i < -decpt; i++)
            buf[k++] = '0';
        memcpy(buf + k, digits, (size_t)nd);
        k += (size_t)nd;
    } else if (decpt >= nd) {
        memcpy(buf + k, digits, (size_t)nd);
        k += (size_t)nd;
        for (int i = nd; i < decpt; i++)
            buf[k++] = '0';
        buf[k++] = '.';
        buf[k++] = '0';
    } else {
        memcpy(buf + k, digits, (size_t)decpt);
        k += (size_t)decpt;
        buf[k++] = '.';
        memcpy(buf + k, digits + decpt, (size_t)(nd - decpt));
        k += (size_t)(nd - decpt);
    }
    buf[k] = 0;
    return k;
}

static int write_at(jinja *J, jbuf *b, jv v, int repr, int depth);

static int write_items(jinja *J, jbuf *b, const jlist *l, size_t from, int depth)
{
    for (size_t i = from; i < l->n; i++) {
        if (i > from)
            HXQ_TRY(jbuf_put(J, b, ", ", 2));
        HXQ_TRY(write_at(J, b, l->v[i], 1, depth + 1));
    }
    return HXQ_OK;
}

static int write_dict(jinja *J, jbuf *b, const jdict *d, int depth)
{
    HXQ_TRY(jbuf_putc(J, b, '{'));
    for (size_t i = 0; i < d->n; i++) {
        if (i)
            HXQ_TRY(jbuf_put(J, b, ", ", 2));
        HXQ_TRY(write_at(J, b, d->k[i], 1, depth + 1));
        HXQ_TRY(jbuf_put(J, b, ": ", 2));
        HXQ_TRY(write_at(J, b, d->v[i], 1, depth + 1));
    }
    return jbuf_putc(J, b, '}');
}

static int write_list(jinja *J, jbuf *b, const jlist *l, int depth)
{
    static const char *const view[] = {[JL_ITEMS] = "dict_items", [JL_KEYS] = "dict_keys",
                                       [JL_VALUES] = "dict_values"};
    switch (l->kind) {
    case JL_TUPLE:
        HXQ_TRY(jbuf_putc(J, b, '('));
        HXQ_TRY(write_items(J, b, l, 0, depth));
        return jbuf_put(J, b, l->n == 1 ? ",)" : ")", l->n == 1 ? 2 : 1);
    case JL_RANGE:
        if (l->r_step == 1)
            return jbuf_printf(J, b, "range(%lld, %lld)", (long long)l->r_start,
                               (long long)l->r_stop);
        return jbuf_printf(J, b, "range(%lld, %lld, %lld)", (long long)l->r_start,
                           (long long)l->r_stop, (long long)l->r_step);
    case JL_GEN:
        return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported: printing a generator "
                          "(jinja2 prints its address; add |list)");
    case JL_ITEMS: case JL_KEYS: case JL_VALUES:
        HXQ_TRY(jbuf_put(J, b, view[l->kind], strlen(view[l->kind])));
        HXQ_TRY(jbuf_put(J, b, "([", 2));
        HXQ_TRY(write_items(J, b, l, 0, depth));
        return jbuf_put(J, b, "])", 2);
    default:
        HXQ_TRY(jbuf_putc(J, b, '['));
        HXQ_TRY(write_items(J, b, l, 0, depth));
        return jbuf_putc(J, b, ']');
    }
}

static int write_at(jinja *J, jbuf *b, jv v, int repr, int depth)
{
    if (depth > JINJA_MAX_DEPTH)
        return too_deep(J, depth);
    char num[40];
    switch (v.t) {
    case JV_UNDEF:
        return repr ? jbuf_put(J, b, "Undefined", 9) : HXQ_OK;
    case JV_NONE: return jbuf_put(J, b, "None", 4);
    case JV_BOOL: return v.u.i ? jbuf_put(J, b, "True", 4) : jbuf_put(J, b, "False", 5);
    case JV_INT: return jbuf_printf(J, b, "%lld", (long long)v.u.i);
    case JV_FLOAT: {
        size_t k = jinja_format_float(v.u.f, num);
        return jbuf_put(J, b, num, k);
    }
    case JV_STR:
        HXQ_TRY(jinja_step(J, v.n));
        if (!repr)
            return jbuf_put(J, b, v.u.s, v.n);
        if (v.id == JV_MARKUP)
            HXQ_TRY(jbuf_put(J, b, "Markup(", 7));
        HXQ_TRY(jinja_str_repr(J, b, v.u.s, v.n));
        return v.id == JV_MARKUP ? jbuf_putc(J, b, ')') : HXQ_OK;
    case JV_LIST:
        HXQ_TRY(jinja_step(J, v.u.l->n));
        return write_list(J, b, v.u.l, depth);
    case JV_DICT:
        HXQ_TRY(jinja_step(J, v.u.d->n));
        return write_dict(J, b, v.u.d, depth);
    case JV_NS:
        HXQ_TRY(jbuf_put(J, b, "<Namespace ", 11));
        HXQ_TRY(write_dict(J, b, v.u.d, depth));
        return jbuf_putc(J, b, '>');
    case JV_LOOP:
        return jbuf_printf(J, b, "<LoopContext %zu/%zu>", v.u.loop->index0 + 1,
                           v.u.loop->items->n);
    case JV_MACRO:
        return jbuf_printf(J, b, "<Macro '%.*s'>", (int)v.u.m->def->n, v.u.m->def->s);
    default:
        return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported: printing a function "
                          "(jinja2 prints its address)");
    }
}

int jv_write_str(jinja *J, jbuf *b, jv v)
{
    return write_at(J, b, v, 0, 0);
}

int jv_write_repr(jinja *J, jbuf *b, jv v)
{
    return write_at(J, b, v, 1, 0);
}

int jv_to_str(jinja *J, jv v, jv *out)
{
    if (v.t == JV_STR) {
        *out = v;
        return HXQ_OK;
    }
    jbuf b = {0};
    HXQ_TRY(jv_write_str(J, &b, v));
    *out = jbuf_str(&b);
    return HXQ_OK;
}

/* ---- len() and iteration -------------------------------------------------------------------- */

int jinja_len(jinja *J, jv v, int64_t *len)
{
    switch (v.t) {
    case JV_UNDEF: *len = 0; return HXQ_OK;
    case JV_STR: *len = jinja_cp_count(v.u.s, v.n); return jinja_step(J, v.n);
    case JV_LIST:
        if (v.u.l->kind == JL_GEN)
            break;
        *len = (int64_t)v.u.l->n;
        return HXQ_OK;
    case JV_DICT: *len = (int64_t)v.u.d->n; return HXQ_OK;
    case JV_LOOP: *len = (int64_t)v.u.loop->items->n; return HXQ_OK;
    default: break;
    }
    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "object of type '%s' has no len()",
                      jv_type_name(v));
}

int jinja_iterate(jinja *J, jv v, jlist **items)
{
    jlist *l;
    switch (v.t) {
    case JV_UNDEF:
        if (!(l = jlist_new(J, 0, JL_LIST)))
            return jinja_oom(J);
        *items = l;
        return HXQ_OK;
    case JV_LIST:
        HXQ_TRY(jinja_step(J, v.u.l->n));
        if (v.u.l->kind != JL_GEN) {
            *items = v.u.l;
            return HXQ_OK;
        }
        if (!(l = jlist_new(J, 0, JL_LIST)))
            return jinja_oom(J);
        l->n = l->cap = v.u.l->n - v.u.l->pos;
        l->v = l->n ? v.u.l->v + v.u.l->pos : NULL;
        v.u.l->pos = v.u.l->n;
        *items = l;
        return HXQ_OK;
    case JV_DICT:
        HXQ_TRY(jinja_step(J, v.u.d->n));
        if (!(l = jlist_new(J, 0, JL_LIST)))
            return jinja_oom(J);
        l->v = v.u.d->k;
        l->n = l->cap = v.u.d->n;
        *items = l;
        return HXQ_OK;
    case JV_STR: {
        HXQ_TRY(jinja_step(J, v.n));
        int64_t n = jinja_cp_count(v.u.s, v.n);
        if (!(l = jlist_new(J, (size_t)n, JL_LIST)))
            return jinja_oom(J);
        for (size_t i = 0; i < v.n;) {
            size_t s = i;
            jinja_utf8_next(v.u.s, v.n, &i);
            l->v[l->n++] = jv_str(v.u.s + s, i - s);
        }
        *items = l;
        return HXQ_OK;
    }
    default:
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "'%s' object is not iterable",
                          jv_type_name(v));
    }
}

/* ---- sorting ---------------------------------------------------------------------------- */

int jinja_sort_order(jinja *J, const jv *keys, size_t n, size_t *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (n < 2)
        return HXQ_OK;
    size_t *tmp = jinja_alloc(J, n * sizeof(*tmp));
    if (!tmp)
        return jinja_oom(J);
    /* bottom-up merge sort: stable, n log n comparisons */
    for (size_t w = 1; w < n; w *= 2) {
        HXQ_TRY(jinja_step(J, n));
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                int lt;
                HXQ_TRY(jv_less(J, keys[order[b]], keys[order[a]], &lt));
                tmp[k++] = lt ? order[b++] : order[a++];
            }
            while (a < mid)
                tmp[k++] = order[a++];
            while (b < hi)
                tmp[k++] = order[b++];
        }
        memcpy(order, tmp, n * sizeof(*order));
    }
    return HXQ_OK;
}
