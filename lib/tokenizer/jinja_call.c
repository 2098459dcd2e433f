/* jinja_call.c - argument binding, the global functions templates call
 * (range, dict, namespace, and transformers' raise_exception and
 * strftime_now) and the Python methods of str, dict, list and the loop
 * variable that templates use. Methods jinja2 knows but hxq does not
 * implement are found (so `is defined` tests behave) and fail with
 * HXQ_ERR_UNSUPPORTED when called; list methods that modify the list fail
 * as jinja2's immutable sandbox makes them fail. */
#include "jinja_int.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int jinja_bind(jinja *J, const jargs *a, const char *const *names, int n, jv *out,
               const char *what)
{
    for (int i = 0; i < n; i++)
        out[i] = jv_missing();
    if (a->npos > n)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "%s() takes at most %d argument(s) (%d "
                          "given)", what, n, a->npos);
    for (int i = 0; i < a->npos; i++)
        out[i] = a->pos[i];
    for (int k = 0; k < a->nkw; k++) {
        int p = -1;
        for (int i = 0; i < n; i++)
            if (strlen(names[i]) == a->kwnames[k].n &&
                !memcmp(names[i], a->kwnames[k].u.s, a->kwnames[k].n))
                p = i;
        if (p < 0)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "%s() got an unexpected keyword "
                              "argument '%.*s'", what, (int)a->kwnames[k].n, a->kwnames[k].u.s);
        if (out[p].t != JV_MISSING)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "%s() got multiple values for "
                              "argument '%s'", what, names[p]);
        out[p] = a->kw[k];
    }
    return HXQ_OK;
}

static int need_str(jinja *J, jv v, const char *what)
{
    if (v.t == JV_STR)
        return HXQ_OK;
    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "%s must be a string, not %s", what,
                      jv_type_name(v));
}

static int need_int(jinja *J, jv v, const char *what, int64_t *out)
{
    if (v.t == JV_INT || v.t == JV_BOOL) {
        *out = v.u.i;
        return HXQ_OK;
    }
    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "%s must be an integer, not %s", what,
                      jv_type_name(v));
}

/* ---- global functions ---------------------------------------------------------- */

enum { F_RANGE, F_DICT, F_NAMESPACE, F_RAISE, F_STRFTIME, F_LIPSUM, F_CYCLER, F_JOINER };
static const char *const funcs[] = {"range", "dict", "namespace", "raise_exception",
                                    "strftime_now", "lipsum", "cycler", "joiner"};

int jinja_func_find(const char *name, size_t n)
{
    for (int i = 0; i < (int)(sizeof(funcs) / sizeof(funcs[0])); i++)
        if (strlen(funcs[i]) == n && !memcmp(funcs[i], name, n))
            return i;
    return -1;
}

static int do_range(jinja *J, const jargs *a, jv *out)
{
    if (a->nkw)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "range() takes no keyword arguments");
    if (a->npos < 1 || a->npos > 3)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "range expected 1 to 3 arguments, got %d",
                          a->npos);
    int64_t v[3] = {0, 0, 1};
    for (int i = 0; i < a->npos; i++)
        HXQ_TRY(need_int(J, a->pos[i], "a range() argument", &v[a->npos == 1 ? 1 : i]));
    if (v[2] == 0)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "range() arg 3 must not be zero");
    __int128 span = (__int128)v[1] - v[0];
    __int128 len = v[2] > 0 ? (span > 0 ? (span - 1) / v[2] + 1 : 0)
                            : (span < 0 ? (-span - 1) / -(__int128)v[2] + 1 : 0);
    if (len > JINJA_MAX_RANGE)
        return jinja_fail(J, HXQ_ERR_RANGE, J->line, "range too big: the sandbox blocks ranges "
                          "larger than %d", JINJA_MAX_RANGE);
    jlist *l = jlist_new(J, (size_t)len, JL_RANGE);
    if (!l)
        return jinja_oom(J);
    HXQ_TRY(jinja_step(J, (size_t)len));
    for (int64_t i = 0; i < (int64_t)len; i++)
        l->v[l->n++] = jv_int(v[0] + i * v[2]);
    l->r_start = v[0];
    l->r_stop = v[1];
    l->r_step = v[2];
    *out = jv_list(l);
    return HXQ_OK;
}

/* dict(...) / namespace(...): Python's dict(mapping_or_pairs, **kwargs). */
static int do_dict(jinja *J, const jargs *a, int ns, jv *out)
{
    jdict *d = jdict_new(J);
    if (!d)
        return jinja_oom(J);
    if (a->npos > 1)
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "%s expected at most 1 argument, got %d",
                          ns ? "namespace" : "dict", a->npos);
    if (a->npos == 1) {
        jv src = a->pos[0];
        if (src.t == JV_DICT || src.t == JV_NS) {
            for (size_t i = 0; i < src.u.d->n; i++)
                HXQ_TRY(jdict_set(J, d, src.u.d->k[i], src.u.d->v[i]));
        } else {
            jlist *items;
            HXQ_TRY(jinja_iterate(J, src, &items));
            for (size_t i = 0; i < items->n; i++) {
                jlist *kv;
                HXQ_TRY(jinja_iterate(J, items->v[i], &kv));
                if (kv->n != 2)
                    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "dictionary update sequence "
                                      "element #%zu has length %zu; 2 is required", i, kv->n);
                HXQ_TRY(jinja_hashable(J, kv->v[0]));
                HXQ_TRY(jdict_set(J, d, kv->v[0], kv->v[1]));
            }
        }
    }
    for (int k = 0; k < a->nkw; k++)
        HXQ_TRY(jdict_set(J, d, a->kwnames[k], a->kw[k]));
    *out = jv_dict(d);
    if (ns)
        out->t = JV_NS;
    return HXQ_OK;
}

/* Python's datetime.strftime: %f, %z and %Z are datetime's own (a naive
 * time has no zone: empty), the rest is the C library's in the C locale. */
static int do_strftime(jinja *J, jv fmt, jv *out)
{
    HXQ_TRY(need_str(J, fmt, "strftime_now's format"));
    if (memchr(fmt.u.s, 0, fmt.n))
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "embedded null character in the format");
    struct tm tm;
    long usec = 0;
    if (J->has_now) {
        time_t t = (time_t)J->now;
        gmtime_r(&t, &tm);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        usec = ts.tv_nsec / 1000;
    }
    tm.tm_isdst = -1;
    jbuf f = {0};
    for (size_t i = 0; i < fmt.n; i++) {
        if (fmt.u.s[i] == '%' && i + 1 < fmt.n) {
            char c = fmt.u.s[i + 1];
            if (c == 'f' || c == 'z' || c == 'Z') {
                if (c == 'f')
                    HXQ_TRY(jbuf_printf(J, &f, "%06ld", usec));
                i++;
                continue;
            }
            HXQ_TRY(jbuf_put(J, &f, fmt.u.s + i, 2));
            i++;
            continue;
        }
        HXQ_TRY(jbuf_putc(J, &f, fmt.u.s[i]));
    }
    HXQ_TRY(jbuf_putc(J, &f, 0));
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c)
        return jinja_fail(J, HXQ_ERR_NOMEM, J->line, "strftime_now: no C locale");
    size_t cap = 1024, max = 256 * fmt.n > 1024 ? 256 * fmt.n : 1024, len = 0;
    char *buf = NULL;
    for (; cap <= max && cap <= ((size_t)1 << 20); cap *= 2) {
        if (!(buf = jinja_alloc(J, cap)))
            break;
        len = strftime_l(buf, cap, f.p, &tm, c);
        if (len)
            break;
    }
    freelocale(c);
    if (!buf)
        return jinja_oom(J);
    return jv_str_dup(J, buf, len, out);
}

int jinja_func_call(jinja *J, int id, const jargs *a, jv *out)
{
    jv arg[1];
    switch (id) {
    case F_RANGE: return do_range(J, a, out);
    case F_DICT:
    case F_NAMESPACE: return do_dict(J, a, id == F_NAMESPACE, out);
    case F_RAISE: {
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"message"}, 1, arg, "raise_exception"));
        jv msg;
        HXQ_TRY(jv_to_str(J, arg[0].t == JV_MISSING ? jv_str("", 0) : arg[0], &msg));
        return jinja_fail(J, HXQ_ERR_INVALID, J->line, "the template raised an error: %.*s",
                          (int)(msg.n > 700 ? 700 : msg.n), msg.u.s);
    }
    case F_STRFTIME:
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"format"}, 1, arg, "strftime_now"));
        if (arg[0].t == JV_MISSING)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "strftime_now() missing its format");
        return do_strftime(J, arg[0], out);
    default:
        return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported global function '%s'",
                          funcs[id]);
    }
}

/* ---- methods ------------------------------------------------------------------------ */

enum {
    /* str */
    M_STRIP, M_LSTRIP, M_RSTRIP, M_SPLIT, M_RSPLIT, M_STARTSWITH, M_ENDSWITH, M_UPPER, M_LOWER,
    M_REPLACE, M_FIND, M_RFIND, M_COUNT, M_JOIN, M_CAPITALIZE, M_TITLE, M_ISDIGIT, M_ISALPHA,
    M_ISALNUM, M_ISSPACE, M_ISLOWER, M_ISUPPER, M_SPLITLINES, M_REMOVEPREFIX, M_REMOVESUFFIX,
    /* dict */
    M_ITEMS, M_KEYS, M_VALUES, M_GET,
    /* list / tuple */
    M_LCOUNT, M_INDEX,
    /* loop */
    M_CYCLE,
    M_UNSUPPORTED, /* jinja2 has it, hxq does not */
    M_MUTATES      /* changes a list: the immutable sandbox refuses */
};

static const struct method {
    char on; /* S str, D dict, L list/tuple, P loop */
    int id;
    const char *name;
} methods[] = {
    {'S', M_STRIP, "strip"}, {'S', M_LSTRIP, "lstrip"}, {'S', M_RSTRIP, "rstrip"},
    {'S', M_SPLIT, "split"}, {'S', M_RSPLIT, "rsplit"}, {'S', M_STARTSWITH, "startswith"},
    {'S', M_ENDSWITH, "endswith"}, {'S', M_UPPER, "upper"}, {'S', M_LOWER, "lower"},
    {'S', M_REPLACE, "replace"}, {'S', M_FIND, "find"}, {'S', M_RFIND, "rfind"},
    {'S', M_COUNT, "count"}, {'S', M_JOIN, "join"}, {'S', M_CAPITALIZE, "capitalize"},
    {'S', M_TITLE, "title"}, {'S', M_ISDIGIT, "isdigit"}, {'S', M_ISALPHA, "isalpha"},
    {'S', M_ISALNUM, "isalnum"}, {'S', M_ISSPACE, "isspace"}, {'S', M_ISLOWER, "islower"},
    {'S', M_ISUPPER, "isupper"}, {'S', M_SPLITLINES, "splitlines"},
    {'S', M_REMOVEPREFIX, "removeprefix"}, {'S', M_REMOVESUFFIX, "removesuffix"},
    {'S', M_UNSUPPORTED, "casefold"}, {'S', M_UNSUPPORTED, "center"},
    {'S', M_UNSUPPORTED, "encode"}, {'S', M_UNSUPPORTED, "expandtabs"},
    {'S', M_UNSUPPORTED, "format"}, {'S', M_UNSUPPORTED, "format_map"},
    {'S', M_UNSUPPORTED, "index"}, {'S', M_UNSUPPORTED, "isascii"},
    {'S', M_UNSUPPORTED, "isdecimal"}, {'S', M_UNSUPPORTED, "isidentifier"},
    {'S', M_UNSUPPORTED, "isnumeric"}, {'S', M_UNSUPPORTED, "isprintable"},
    {'S', M_UNSUPPORTED, "istitle"}, {'S', M_UNSUPPORTED, "ljust"},
    {'S', M_UNSUPPORTED, "maketrans"}, {'S', M_UNSUPPORTED, "partition"},
    {'S', M_UNSUPPORTED, "rindex"}, {'S', M_UNSUPPORTED, "rjust"},
    {'S', M_UNSUPPORTED, "rpartition"}, {'S', M_UNSUPPORTED, "swapcase"},
    {'S', M_UNSUPPORTED, "translate"}, {'S', M_UNSUPPORTED, "zfill"},
    {'D', M_ITEMS, "items"}, {'D', M_KEYS, "keys"}, {'D', M_VALUES, "values"},
    {'D', M_GET, "get"}, {'D', M_UNSUPPORTED, "copy"}, {'D', M_UNSUPPORTED, "fromkeys"},
    {'D', M_MUTATES, "pop"}, {'D', M_MUTATES, "popitem"}, {'D', M_MUTATES, "setdefault"},
    {'D', M_MUTATES, "update"}, {'D', M_MUTATES, "clear"},
    {'L', M_LCOUNT, "count"}, {'L', M_INDEX, "index"}, {'L', M_UNSUPPORTED, "copy"},
    {'L', M_MUTATES, "append"}, {'L', M_MUTATES, "extend"}, {'L', M_MUTATES, "insert"},
    {'L', M_MUTATES, "pop"}, {'L', M_MUTATES, "remove"}, {'L', M_MUTATES, "reverse"},
    {'L', M_MUTATES, "sort"}, {'L', M_MUTATES, "clear"},
    {'P', M_CYCLE, "cycle"}, {'P', M_UNSUPPORTED, "changed"},
};

static char receiver_kind(jv obj)
{
    switch (obj.t) {
    case JV_STR: return 'S';
    case JV_DICT: return 'D';
    case JV_LOOP: return 'P';
    case JV_LIST: return obj.u.l->kind == JL_LIST || obj.u.l->kind == JL_TUPLE ? 'L' : 0;
    default: return 0;
    }
}

int jinja_method_find(jinja *J, jv obj, const char *name, size_t n, jv *out)
{
    char on = receiver_kind(obj);
    if (!on)
        return 0;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        const struct method *m = &methods[i];
        if (m->on != on || strlen(m->name) != n || memcmp(m->name, name, n))
            continue;
        /* tuples have no mutating methods: jinja2 sees no such attribute */
        if (on == 'L' && obj.u.l->kind == JL_TUPLE && m->id >= M_UNSUPPORTED)
            return 0;
        jv *self = jinja_alloc(J, sizeof(*self));
        if (!self)
            return 0; /* treated as a missing attribute; the arena limit reports later */
        *self = obj;
        *out = (jv){.t = JV_METHOD, .id = (uint16_t)i};
        out->u.self = self;
        return 1;
    }
    return 0;
}

static int str_affix(jinja *J, jv s, jv arg, int end, int *res)
{
    *res = 0;
    jlist one = {.v = &arg, .n = 1};
    const jlist *cands = &one;
    if (arg.t == JV_LIST && arg.u.l->kind == JL_TUPLE)
        cands = arg.u.l;
    for (size_t i = 0; i < cands->n; i++) {
        jv p = cands->v[i];
        HXQ_TRY(need_str(J, p, end ? "endswith's argument" : "startswith's argument"));
        if (p.n <= s.n && !memcmp(s.u.s + (end ? s.n - p.n : 0), p.u.s, p.n))
            *res = 1;
    }
    return HXQ_OK;
}

static int str_join(jinja *J, jv sep, jv iterable, jv *out)
{
    jlist *items;
    HXQ_TRY(jinja_iterate(J, iterable, &items));
    jbuf b = {0};
    for (size_t i = 0; i < items->n; i++) {
        if (items->v[i].t != JV_STR)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "sequence item %zu: expected str "
                              "instance, %s found", i, jv_type_name(items->v[i]));
        if (i)
            HXQ_TRY(jbuf_put(J, &b, sep.u.s, sep.n));
        HXQ_TRY(jbuf_put(J, &b, items->v[i].u.s, items->v[i].n));
        HXQ_TRY(jinja_step(J, items->v[i].n));
    }
    *out = jbuf_str(&b);
    return HXQ_OK;
}

static int dict_view(jinja *J, const jdict *d, int kind, jv *out)
{
    jlist *l = jlist_new(J, d->n, kind);
    if (!l)
        return jinja_oom(J);
    HXQ_TRY(jinja_step(J, d->n));
    for (size_t i = 0; i < d->n; i++) {
        if (kind != JL_ITEMS) {
            l->v[l->n++] = kind == JL_KEYS ? d->k[i] : d->v[i];
            continue;
        }
        jlist *kv = jlist_new(J, 2, JL_TUPLE);
        if (!kv)
            return jinja_oom(J);
        kv->v[0] = d->k[i];
        kv->v[1] = d->v[i];
        kv->n = 2;
        l->v[l->n++] = jv_list(kv);
    }
    *out = jv_list(l);
    return HXQ_OK;
}

/* Markup's methods keep it a Markup, their string arguments escaped. */
static int markup_method(jinja *J, int id, jv s, const jargs *a, jv *out, const char *name);

static int str_method(jinja *J, int id, jv s, const jargs *a, jv *out, const char *name)
{
    if (s.id == JV_MARKUP)
        return markup_method(J, id, s, a, out, name);
    jv x[3];
    int r;
    switch (id) {
    case M_STRIP:
    case M_LSTRIP:
    case M_RSTRIP:
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"chars"}, 1, x, name));
        return jinja_str_strip(J, s, x[0], id == M_STRIP ? 3 : id == M_LSTRIP ? 1 : 2, out);
    case M_SPLIT:
    case M_RSPLIT:
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"sep", "maxsplit"}, 2, x, name));
        return jinja_str_split(J, s, x[0], x[1], id == M_RSPLIT, out);
    case M_STARTSWITH:
    case M_ENDSWITH:
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"prefix", "start", "end"}, 3, x, name));
        if (x[0].t == JV_MISSING || x[1].t != JV_MISSING || x[2].t != JV_MISSING)
            return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported: %s() takes exactly "
                              "one argument here", name);
        HXQ_TRY(str_affix(J, s, x[0], id == M_ENDSWITH, &r));
        *out = jv_bool(r);
        return HXQ_OK;
    case M_UPPER:
    case M_LOWER:
        HXQ_TRY(jinja_bind(J, a, NULL, 0, x, name));
        return jinja_str_case(J, s, id == M_UPPER, out);
    case M_CAPITALIZE:
        HXQ_TRY(jinja_bind(J, a, NULL, 0, x, name));
        return jinja_str_capitalize(J, s, out);
    case M_TITLE:
        HXQ_TRY(jinja_bind(J, a, NULL, 0, x, name));
        return jinja_str_title(J, s, 1, out);
    case M_REPLACE: {
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"old", "new", "count"}, 3, x, name));
        int64_t count = -1;
        if (x[0].t == JV_MISSING || x[1].t == JV_MISSING)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "replace() needs 2 arguments");
        HXQ_TRY(need_str(J, x[0], "replace's old"));
        HXQ_TRY(need_str(J, x[1], "replace's new"));
        if (x[2].t != JV_MISSING)
            HXQ_TRY(need_int(J, x[2], "replace's count", &count));
        return jinja_str_replace(J, s, x[0], x[1], count, out);
    }
    case M_FIND:
    case M_RFIND:
    case M_COUNT:
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"sub"}, 1, x, name));
        HXQ_TRY(need_str(J, x[0], "the substring"));
        HXQ_TRY(jinja_step(J, s.n));
        *out = jv_int(id == M_COUNT ? jinja_str_count(s, x[0])
                                    : jinja_str_find(s, x[0], id == M_RFIND));
        return HXQ_OK;
    case M_JOIN:
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"iterable"}, 1, x, name));
        return str_join(J, s, x[0], out);
    case M_ISDIGIT: case M_ISALPHA: case M_ISALNUM: case M_ISSPACE: case M_ISLOWER:
    case M_ISUPPER:
        HXQ_TRY(jinja_bind(J, a, NULL, 0, x, name));
        HXQ_TRY(jinja_step(J, s.n));
        *out = jv_bool(jinja_str_is(s, name + 2));
        return HXQ_OK;
    case M_SPLITLINES: {
        HXQ_TRY(jinja_bind(J, a, NULL, 0, x, name));
        jlist *l;
        HXQ_TRY(jinja_str_splitlines(J, s, &l));
        *out = jv_list(l);
        return HXQ_OK;
    }
    case M_REMOVEPREFIX:
    case M_REMOVESUFFIX:
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"affix"}, 1, x, name));
        HXQ_TRY(need_str(J, x[0], name));
        HXQ_TRY(str_affix(J, s, x[0], id == M_REMOVESUFFIX, &r));
        *out = r ? jv_str(s.u.s + (id == M_REMOVEPREFIX ? x[0].n : 0), s.n - x[0].n) : s;
        return HXQ_OK;
    default:
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "bad str method");
    }
}

static int markup_method(jinja *J, int id, jv s, const jargs *a, jv *out, const char *name)
{
    jv *pos = jinja_alloc(J, (size_t)(a->npos + 1) * sizeof(jv));
    if (!pos)
        return jinja_oom(J);
    for (int i = 0; i < a->npos; i++) {
        pos[i] = a->pos[i];
        if ((id == M_REPLACE || id == M_STRIP || id == M_LSTRIP || id == M_RSTRIP) &&
            pos[i].t == JV_STR && pos[i].id != JV_MARKUP)
            HXQ_TRY(jinja_html_escape(J, pos[i], &pos[i]));
    }
    jargs esc = *a;
    esc.pos = pos;
    s.id = 0;
    HXQ_TRY(str_method(J, id, s, &esc, out, name));
    switch (id) {
    case M_STRIP: case M_LSTRIP: case M_RSTRIP: case M_UPPER: case M_LOWER: case M_CAPITALIZE:
    case M_TITLE: case M_REPLACE:
        *out = jv_markup(*out);
        break;
    case M_SPLIT: case M_RSPLIT: case M_SPLITLINES:
        for (size_t i = 0; i < out->u.l->n; i++)
            out->u.l->v[i] = jv_markup(out->u.l->v[i]);
        break;
    default:
        break;
    }
    return HXQ_OK;
}

int jinja_method_call(jinja *J, jv m, const jargs *a, jv *out)
{
    const struct method *md = &methods[m.id];
    jv self = *m.u.self, x[2];
    switch (md->id) {
    case M_UNSUPPORTED:
        return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "unsupported method '%s' of %s",
                          md->name, jv_type_name(self));
    case M_MUTATES:
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "the sandbox forbids %s.%s(): templates "
                          "cannot modify values", jv_type_name(self), md->name);
    case M_ITEMS:
    case M_KEYS:
    case M_VALUES:
        HXQ_TRY(jinja_bind(J, a, NULL, 0, x, md->name));
        return dict_view(J, self.u.d, md->id == M_ITEMS ? JL_ITEMS : md->id == M_KEYS ? JL_KEYS
                                                                                   : JL_VALUES,
                         out);
    case M_GET: {
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"key", "default"}, 2, x, "get"));
        if (x[0].t == JV_MISSING)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "get expected at least 1 argument");
        HXQ_TRY(jinja_hashable(J, x[0]));
        HXQ_TRY(jinja_step(J, self.u.d->n));
        jv *v = jdict_get(self.u.d, x[0]);
        *out = v ? *v : x[1].t == JV_MISSING ? jv_none() : x[1];
        return HXQ_OK;
    }
    case M_LCOUNT:
    case M_INDEX: {
        HXQ_TRY(jinja_bind(J, a, (const char *const[]){"value"}, 1, x, md->name));
        int64_t k = 0;
        for (size_t i = 0; i < self.u.l->n; i++) {
            int eq;
            HXQ_TRY(jv_equal(J, self.u.l->v[i], x[0], &eq));
            if (eq && md->id == M_INDEX) {
                *out = jv_int((int64_t)i);
                return HXQ_OK;
            }
            k += eq;
        }
        if (md->id == M_INDEX)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "list.index(x): x not in list");
        *out = jv_int(k);
        return HXQ_OK;
    }
    case M_CYCLE:
        if (a->nkw || a->npos == 0)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "no items for cycling given");
        *out = a->pos[self.u.loop->index0 % (size_t)a->npos];
        return HXQ_OK;
    default:
        return str_method(J, md->id, self, a, out, md->name);
    }
}
