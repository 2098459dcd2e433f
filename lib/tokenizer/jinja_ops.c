/* jinja_ops.c - operators and subscripts with Python's semantics: + - * /
 * // % ** on ints and floats (floor division and modulo rounding towards
 * minus infinity), string and list concatenation and repetition,
 * comparisons, `in`, and jinja2's sandboxed attribute / item lookup
 * (x.name tries the attribute first, then the item; x[key] the item
 * first; a miss is Undefined, a miss on Undefined an error). */
#include "jinja_int.h"

#include <math.h>
#include <string.h>

static int type_error(jinja *J, const char *op, jv a, jv b)
{
    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "unsupported operand type(s) for %s: '%s' "
                      "and '%s'", op, jv_type_name(a), jv_type_name(b));
}

static int overflow(jinja *J)
{
    return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "integer overflow (hxq's integers are "
                      "64-bit)");
}

static double as_f(jv v) { return v.t == JV_FLOAT ? v.u.f : (double)v.u.i; }

/* Python's float floor division and modulo. */
static void float_divmod(double x, double y, double *div, double *mod)
{
    double m = fmod(x, y), d = (x - m) / y;
    if (m != 0.0) {
        if ((y < 0) != (m < 0)) {
            m += y;
            d -= 1.0;
        }
    } else {
        m = copysign(0.0, y);
    }
    if (d != 0.0) {
        double f = floor(d);
        if (d - f > 0.5)
            f += 1.0;
        d = f;
    } else {
        d = copysign(0.0, x / y);
    }
    *div = d;
    *mod = m;
}

static int repeat(jinja *J, jv seq, int64_t times, jv *out)
{
    if (times < 0)
        times = 0;
    size_t unit = seq.t == JV_STR ? seq.n : seq.u.l->n;
    if (unit && (uint64_t)times > JINJA_MAX_OUTPUT / unit)
        return jinja_fail(J, HXQ_ERR_RANGE, J->line, "a repetition exceeds %zu MB",
                          JINJA_MAX_OUTPUT >> 20);
    HXQ_TRY(jinja_step(J, unit * (size_t)times));
    if (seq.t == JV_STR) {
        jbuf b = {0};
        for (int64_t k = 0; k < times; k++)
            HXQ_TRY(jbuf_put(J, &b, seq.u.s, seq.n));
        *out = jv_keep_markup(jbuf_str(&b), seq);
        return HXQ_OK;
    }
    jlist *l = jlist_new(J, unit * (size_t)times, seq.u.l->kind);
    if (!l)
        return jinja_oom(J);
    for (int64_t k = 0; k < times; k++)
        for (size_t i = 0; i < unit; i++)
            l->v[l->n++] = seq.u.l->v[i];
    *out = jv_list(l);
    return HXQ_OK;
}

static int is_plain_seq(jv v)
{
    return v.t == JV_LIST && (v.u.l->kind == JL_LIST || v.u.l->kind == JL_TUPLE);
}

static int int_pow(jinja *J, int64_t base, int64_t e, jv *out)
{
    int64_t r = 1;
    while (e > 0) {
        if (e & 1 && __builtin_mul_overflow(r, base, &r))
            return overflow(J);
        e >>= 1;
        if (e && __builtin_mul_overflow(base, base, &base))
            return overflow(J);
    }
    *out = jv_int(r);
    return HXQ_OK;
}

int jinja_binop(jinja *J, int op, jv a, jv b, jv *out)
{
    static const char *const names[] = {[JOP_ADD] = "+", [JOP_SUB] = "-", [JOP_DIV] = "/",
                                        [JOP_FLOORDIV] = "//", [JOP_MUL] = "*", [JOP_MOD] = "%",
                                        [JOP_POW] = "** or pow()"};
    if (a.t == JV_UNDEF || b.t == JV_UNDEF)
        return jinja_undefined_error(J, a.t == JV_UNDEF ? a : b);
    int nums = jv_is_num(a) && jv_is_num(b);
    int fl = nums && (a.t == JV_FLOAT || b.t == JV_FLOAT);
    int64_t r;
    switch (op) {
    case JOP_ADD:
        if (nums) {
            if (fl)
                *out = jv_float(as_f(a) + as_f(b));
            else if (__builtin_add_overflow(a.u.i, b.u.i, &r))
                return overflow(J);
            else
                *out = jv_int(r);
            return HXQ_OK;
        }
        if (a.t == JV_STR && b.t == JV_STR) {
            int markup = a.id == JV_MARKUP || b.id == JV_MARKUP;
            if (markup && a.id != JV_MARKUP) /* Markup.__radd__ escapes the str */
                HXQ_TRY(jinja_html_escape(J, a, &a));
            if (markup && b.id != JV_MARKUP)
                HXQ_TRY(jinja_html_escape(J, b, &b));
            HXQ_TRY(jinja_step(J, a.n + b.n));
            jbuf s = {0};
            HXQ_TRY(jbuf_put(J, &s, a.u.s, a.n));
            HXQ_TRY(jbuf_put(J, &s, b.u.s, b.n));
            *out = jbuf_str(&s);
            if (markup)
                *out = jv_markup(*out);
            return HXQ_OK;
        }
        if (is_plain_seq(a) && is_plain_seq(b) && a.u.l->kind == b.u.l->kind) {
            HXQ_TRY(jinja_step(J, a.u.l->n + b.u.l->n));
            jlist *l = jlist_new(J, a.u.l->n + b.u.l->n, a.u.l->kind);
            if (!l)
                return jinja_oom(J);
            if (a.u.l->n)
                memcpy(l->v, a.u.l->v, a.u.l->n * sizeof(jv));
            if (b.u.l->n)
                memcpy(l->v + a.u.l->n, b.u.l->v, b.u.l->n * sizeof(jv));
            l->n = a.u.l->n + b.u.l->n;
            *out = jv_list(l);
            return HXQ_OK;
        }
        if (a.t == JV_STR)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "can only concatenate str (not \"%s\") "
                              "to str", jv_type_name(b));
        break;
    case JOP_SUB:
        if (!nums)
            break;
        if (fl)
            *out = jv_float(as_f(a) - as_f(b));
        else if (__builtin_sub_overflow(a.u.i, b.u.i, &r))
            return overflow(J);
        else
            *out = jv_int(r);
        return HXQ_OK;
    case JOP_MUL:
        if (nums) {
            if (fl)
                *out = jv_float(as_f(a) * as_f(b));
            else if (__builtin_mul_overflow(a.u.i, b.u.i, &r))
                return overflow(J);
            else
                *out = jv_int(r);
            return HXQ_OK;
        }
        if ((a.t == JV_STR || is_plain_seq(a)) && (b.t == JV_INT || b.t == JV_BOOL))
            return repeat(J, a, b.u.i, out);
        if ((b.t == JV_STR || is_plain_seq(b)) && (a.t == JV_INT || a.t == JV_BOOL))
            return repeat(J, b, a.u.i, out);
        break;
    case JOP_DIV:
        if (!nums)
            break;
        if (as_f(b) == 0.0)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "division by zero");
        *out = jv_float(as_f(a) / as_f(b));
        return HXQ_OK;
    case JOP_FLOORDIV:
    case JOP_MOD:
        if (a.t == JV_STR && op == JOP_MOD)
            return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported: printf-style "
                              "string formatting with %%");
        if (!nums)
            break;
        if (as_f(b) == 0.0)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "%s by zero", fl ? "float division"
                              : "integer division or modulo");
        if (fl) {
            double d, m;
            float_divmod(as_f(a), as_f(b), &d, &m);
            *out = jv_float(op == JOP_MOD ? m : d);
            return HXQ_OK;
        }
        if (a.u.i == INT64_MIN && b.u.i == -1)
            return op == JOP_MOD ? (*out = jv_int(0), HXQ_OK) : overflow(J);
        int64_t q = a.u.i / b.u.i, m = a.u.i % b.u.i;
        if (m != 0 && ((m < 0) != (b.u.i < 0))) {
            q -= 1;
            m += b.u.i;
        }
        *out = jv_int(op == JOP_MOD ? m : q);
        return HXQ_OK;
    case JOP_POW:
        if (!nums)
            break;
        if (!fl && b.u.i >= 0)
            return int_pow(J, a.u.i, b.u.i, out);
        if (as_f(a) == 0.0 && as_f(b) < 0)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "0.0 cannot be raised to a negative "
                              "power");
        if (as_f(a) < 0 && as_f(b) != floor(as_f(b)))
            return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported: a complex power");
        *out = jv_float(pow(as_f(a), as_f(b)));
        return HXQ_OK;
    default:
        break;
    }
    return type_error(J, op < (int)(sizeof(names) / sizeof(names[0])) && names[op] ? names[op]
                      : "?", a, b);
}

int jinja_compare(jinja *J, int op, jv a, jv b, int *res)
{
    int eq, lt;
    switch (op) {
    case JC_EQ:
    case JC_NE:
        HXQ_TRY(jv_equal(J, a, b, &eq));
        *res = op == JC_EQ ? eq : !eq;
        return HXQ_OK;
    case JC_LT: return jv_less(J, a, b, res);
    case JC_GT: return jv_less(J, b, a, res);
    case JC_LE:
    case JC_GE:
        HXQ_TRY(op == JC_LE ? jv_less(J, a, b, &lt) : jv_less(J, b, a, &lt));
        if (lt) {
            *res = 1;
            return HXQ_OK;
        }
        HXQ_TRY(jv_equal(J, a, b, &eq));
        *res = eq;
        return HXQ_OK;
    case JC_IN:
    case JC_NOTIN:
        HXQ_TRY(jinja_contains(J, b, a, &eq));
        *res = op == JC_IN ? eq : !eq;
        return HXQ_OK;
    default:
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "bad comparison");
    }
}

int jinja_contains(jinja *J, jv c, jv item, int *res)
{
    *res = 0;
    switch (c.t) {
    case JV_UNDEF:
        return HXQ_OK;
    case JV_STR:
        if (item.t != JV_STR)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "'in <string>' requires string as "
                              "left operand, not %s", jv_type_name(item));
        HXQ_TRY(jinja_step(J, c.n));
        *res = jinja_str_find(c, item, 0) >= 0;
        return HXQ_OK;
    case JV_LIST: {
        jlist *l = c.u.l;
        size_t from = l->kind == JL_GEN ? l->pos : 0;
        HXQ_TRY(jinja_step(J, l->n));
        for (size_t i = from; i < l->n; i++) {
            HXQ_TRY(jv_equal(J, l->v[i], item, res));
            if (*res) {
                if (l->kind == JL_GEN)
                    l->pos = i + 1; /* a generator is consumed up to the match */
                return HXQ_OK;
            }
        }
        if (l->kind == JL_GEN)
            l->pos = l->n;
        return HXQ_OK;
    }
    case JV_DICT:
        HXQ_TRY(jinja_hashable(J, item));
        HXQ_TRY(jinja_step(J, c.u.d->n));
        *res = jdict_get(c.u.d, item) != NULL;
        return HXQ_OK;
    default:
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "argument of type '%s' is not iterable",
                          jv_type_name(c));
    }
}

/* ---- attributes and items ----------------------------------------------------------- */

static int loop_attr(jinja *J, jv obj, const char *name, size_t n, jv *out)
{
    const jloop *lp = obj.u.loop;
    int64_t len = (int64_t)lp->items->n, i0 = (int64_t)lp->index0;
    static const char *const names[] = {"index", "index0", "revindex", "revindex0", "first",
                                        "last", "length", "depth", "depth0", "previtem",
                                        "nextitem"};
    int k = -1;
    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strlen(names[i]) == n && !memcmp(names[i], name, n))
            k = i;
    switch (k) {
    case 0: *out = jv_int(i0 + 1); break;
    case 1: *out = jv_int(i0); break;
    case 2: *out = jv_int(len - i0); break;
    case 3: *out = jv_int(len - i0 - 1); break;
    case 4: *out = jv_bool(i0 == 0); break;
    case 5: *out = jv_bool(i0 == len - 1); break;
    case 6: *out = jv_int(len); break;
    case 7: *out = jv_int(1); break;
    case 8: *out = jv_int(0); break;
    case 9: *out = i0 > 0 ? lp->items->v[i0 - 1] : jv_undef_named("previtem", 8, JV_LOOP); break;
    case 10: *out = i0 + 1 < len ? lp->items->v[i0 + 1] : jv_undef_named("nextitem", 8, JV_LOOP);
        break;
    default:
        if (!jinja_method_find(J, obj, name, n, out))
            *out = jv_undef_named(name, n, JV_LOOP);
        break;
    }
    return HXQ_OK;
}

int jinja_getattr(jinja *J, jv obj, const char *name, size_t n, jv *out)
{
    if (obj.t == JV_UNDEF)
        return jinja_undefined_error(J, obj);
    if (obj.t == JV_LOOP)
        return loop_attr(J, obj, name, n, out);
    if (n && name[0] == '_') { /* the sandbox hides private attributes */
        *out = jv_undef_named(name, n, obj.t);
        return HXQ_OK;
    }
    if (jinja_method_find(J, obj, name, n, out))
        return HXQ_OK;
    if (obj.t == JV_DICT || obj.t == JV_NS) {
        HXQ_TRY(jinja_step(J, obj.u.d->n));
        jv *v = jdict_get_str(obj.u.d, name, n);
        if (v) {
            *out = *v;
            return HXQ_OK;
        }
    }
    *out = jv_undef_named(name, n, obj.t);
    return HXQ_OK;
}

/* Python index normalisation: 1 and *at when i is inside [0, n). */
static int index_in(int64_t i, size_t n, size_t *at)
{
    if (i < 0)
        i += (int64_t)n;
    if (i < 0 || (uint64_t)i >= n)
        return 0;
    *at = (size_t)i;
    return 1;
}

static int element_missing(jinja *J, jv obj, jv key, jv *out)
{
    jbuf b = {0};
    HXQ_TRY(jv_write_repr(J, &b, key));
    *out = jv_undef_named(b.n ? b.p : "", b.n, obj.t);
    out->id |= JV_UNDEF_ELEMENT;
    return HXQ_OK;
}

int jinja_getitem(jinja *J, jv obj, jv key, jv *out)
{
    if (obj.t == JV_UNDEF)
        return jinja_undefined_error(J, obj);
    int int_key = key.t == JV_INT || key.t == JV_BOOL;
    size_t at;
    switch (obj.t) {
    case JV_DICT:
        if (jv_hashable(key)) { /* else a TypeError, which jinja2 turns into Undefined */
            HXQ_TRY(jinja_step(J, obj.u.d->n));
            jv *v = jdict_get(obj.u.d, key);
            if (v) {
                *out = *v;
                return HXQ_OK;
            }
        }
        break;
    case JV_LIST:
        if (int_key && obj.u.l->kind != JL_GEN && obj.u.l->kind != JL_ITEMS &&
            obj.u.l->kind != JL_KEYS && obj.u.l->kind != JL_VALUES) {
            if (index_in(key.u.i, obj.u.l->n, &at)) {
                *out = obj.u.l->v[at];
                return HXQ_OK;
            }
            return element_missing(J, obj, key, out);
        }
        break;
    case JV_STR:
        if (int_key) {
            int64_t n = jinja_cp_count(obj.u.s, obj.n);
            HXQ_TRY(jinja_step(J, obj.n));
            if (index_in(key.u.i, (size_t)n, &at)) {
                size_t b = jinja_cp_offset(obj.u.s, obj.n, (int64_t)at), e = b;
                jinja_utf8_next(obj.u.s, obj.n, &e);
                *out = jv_str(obj.u.s + b, e - b);
                return HXQ_OK;
            }
            return element_missing(J, obj, key, out);
        }
        break;
    default:
        break;
    }
    if (key.t == JV_STR) { /* then the attribute of that name */
        if (obj.t == JV_LOOP || obj.t == JV_NS)
            return jinja_getattr(J, obj, key.u.s, key.n, out);
        if (!(key.n && key.u.s[0] == '_') && jinja_method_find(J, obj, key.u.s, key.n, out))
            return HXQ_OK;
        *out = jv_undef_named(key.u.s, key.n, obj.t);
        return HXQ_OK;
    }
    return element_missing(J, obj, key, out);
}

/* Python's PySlice_AdjustIndices: the number of items selected. */
static int64_t adjust(int64_t len, int64_t *start, int64_t *stop, int64_t step)
{
    if (*start < 0) {
        *start += len;
        if (*start < 0)
            *start = step < 0 ? -1 : 0;
    } else if (*start >= len) {
        *start = step < 0 ? len - 1 : len;
    }
    if (*stop < 0) {
        *stop += len;
        if (*stop < 0)
            *stop = step < 0 ? -1 : 0;
    } else if (*stop >= len) {
        *stop = step < 0 ? len - 1 : len;
    }
    if (step < 0)
        return *stop < *start ? (*start - *stop - 1) / (-step) + 1 : 0;
    return *start < *stop ? (*stop - *start - 1) / step + 1 : 0;
}

static int slice_index(jv v, int64_t dflt, int64_t *out)
{
    if (v.t == JV_NONE || v.t == JV_MISSING) {
        *out = dflt;
        return 1;
    }
    if (v.t == JV_INT || v.t == JV_BOOL) {
        *out = v.u.i;
        return 1;
    }
    return 0;
}

int jinja_slice(jinja *J, jv obj, jv start, jv stop, jv step, jv *out)
{
    if (obj.t == JV_UNDEF)
        return jinja_undefined_error(J, obj);
    int64_t st, a, b;
    if (!slice_index(step, 1, &st) || !slice_index(start, 0, &a) || !slice_index(stop, 0, &b)) {
        *out = jv_undef(); /* TypeError: slice indices must be integers */
        return HXQ_OK;
    }
    if (st == 0)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "slice step cannot be zero");
    if (st < -INT64_MAX)
        st = -INT64_MAX;
    slice_index(start, st < 0 ? INT64_MAX : 0, &a);
    slice_index(stop, st < 0 ? INT64_MIN : INT64_MAX, &b);
    if (obj.t == JV_STR) {
        int64_t len = jinja_cp_count(obj.u.s, obj.n);
        int64_t cnt = adjust(len, &a, &b, st);
        HXQ_TRY(jinja_step(J, obj.n));
        if (st == 1) {
            size_t x = jinja_cp_offset(obj.u.s, obj.n, a);
            size_t y = x + jinja_cp_offset(obj.u.s + x, obj.n - x, cnt);
            *out = jv_str(obj.u.s + x, y - x);
            return HXQ_OK;
        }
        size_t *off = jinja_alloc(J, (size_t)(len + 1) * sizeof(size_t));
        if (!off)
            return jinja_oom(J);
        size_t i = 0;
        for (int64_t k = 0; k <= len; k++) {
            off[k] = i;
            if (k < len)
                jinja_utf8_next(obj.u.s, obj.n, &i);
        }
        jbuf s = {0};
        for (int64_t k = 0, p = a; k < cnt; k++, p += st)
            HXQ_TRY(jbuf_put(J, &s, obj.u.s + off[p], off[p + 1] - off[p]));
        *out = jbuf_str(&s);
        return HXQ_OK;
    }
    if (obj.t != JV_LIST || (obj.u.l->kind != JL_LIST && obj.u.l->kind != JL_TUPLE &&
                             obj.u.l->kind != JL_RANGE)) {
        *out = jv_undef();
        return HXQ_OK;
    }
    const jlist *src = obj.u.l;
    int64_t cnt = adjust((int64_t)src->n, &a, &b, st);
    HXQ_TRY(jinja_step(J, (size_t)cnt));
    jlist *l = jlist_new(J, (size_t)cnt, src->kind);
    if (!l)
        return jinja_oom(J);
    for (int64_t k = 0, p = a; k < cnt; k++, p += st)
        l->v[l->n++] = src->v[p];
    if (src->kind == JL_RANGE) {
        l->r_step = src->r_step * st;
        l->r_start = src->r_start + a * src->r_step;
        l->r_stop = src->r_start + b * src->r_step;
    }
    *out = jv_list(l);
    return HXQ_OK;
}
