/* jinja_json.c - JSON in and out as Python's json module does it: loads()
 * for the render variables (integers stay integers, NaN / Infinity
 * accepted, the last of duplicate keys wins) and dumps() for transformers'
 * tojson filter (ensure_ascii, indent, separators, sort_keys; floats as
 * repr()). */
#include "jinja_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- loads -------------------------------------------------------------------------- */

typedef struct jparse {
    jinja *J;
    const char *s;
    size_t n, i;
    int depth;
} jparse;

static int perr(jparse *p, const char *what)
{
    return jinja_fail(p->J, HXQ_ERR_FORMAT, 0, "JSON: %s at byte %zu", what, p->i);
}

static void skip_ws(jparse *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                           p->s[p->i] == '\r'))
        p->i++;
}

static int lit(jparse *p, const char *w)
{
    size_t k = strlen(w);
    if (p->i + k <= p->n && !memcmp(p->s + p->i, w, k)) {
        p->i += k;
        return 1;
    }
    return 0;
}

static int hex4(jparse *p, uint32_t *cp)
{
    if (p->i + 4 > p->n)
        return perr(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i + (size_t)k];
        int h = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f'
                                                       ? (c | 0x20) - 'a' + 10 : -1;
        if (h < 0)
            return perr(p, "invalid \\u escape");
        v = v * 16 + (uint32_t)h;
    }
    p->i += 4;
    *cp = v;
    return HXQ_OK;
}

static int parse_string(jparse *p, jv *out)
{
    jinja *J = p->J;
    p->i++; /* " */
    size_t start = p->i;
    while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' &&
           (unsigned char)p->s[p->i] >= 0x20)
        p->i++;
    if (p->i < p->n && p->s[p->i] == '"') { /* no escapes: a view into the text */
        *out = jv_str(p->s + start, p->i - start);
        p->i++;
        return HXQ_OK;
    }
    jbuf b = {0};
    HXQ_TRY(jbuf_put(J, &b, p->s + start, p->i - start));
    for (;;) {
        if (p->i >= p->n)
            return perr(p, "unterminated string");
        char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if ((unsigned char)c < 0x20)
            return perr(p, "invalid control character in a string");
        if (c != '\\') { /* a run up to the next quote, escape or control character */
            size_t r = p->i;
            while (r < p->n && p->s[r] != '"' && p->s[r] != '\\' && (unsigned char)p->s[r] >= 0x20)
                r++;
            HXQ_TRY(jbuf_put(J, &b, p->s + p->i, r - p->i));
            p->i = r;
            continue;
        }
        if (++p->i >= p->n)
            return perr(p, "unterminated string");
        char e = p->s[p->i++];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (simple && e) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            HXQ_TRY(jbuf_putc(J, &b, map[simple - "\"\\/bfnrt"]));
            continue;
        }
        if (e != 'u')
            return perr(p, "invalid escape");
        uint32_t cp;
        HXQ_TRY(hex4(p, &cp));
        if (cp >= 0xd800 && cp < 0xdc00 && p->i + 1 < p->n && p->s[p->i] == '\\' &&
            p->s[p->i + 1] == 'u') {
            size_t save = p->i;
            uint32_t lo;
            p->i += 2;
            HXQ_TRY(hex4(p, &lo));
            if (lo >= 0xdc00 && lo < 0xe000)
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            else
                p->i = save;
        }
        if (cp >= 0xd800 && cp < 0xe000)
            return jinja_fail(J, HXQ_ERR_UNSUPPORTED, 0, "JSON: unsupported lone surrogate "
                              "\\u%04x at byte %zu", cp, p->i);
        char tmp[4];
        HXQ_TRY(jbuf_put(J, &b, tmp, jinja_utf8_put(cp, tmp)));
    }
    *out = jbuf_str(&b);
    return HXQ_OK;
}

static int parse_number(jparse *p, jv *out)
{
    size_t b = p->i;
    if (p->s[p->i] == '-')
        p->i++;
    if (p->i < p->n && p->s[p->i] == '0') {
        p->i++;
    } else if (p->i < p->n && p->s[p->i] >= '1' && p->s[p->i] <= '9') {
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    } else {
        return perr(p, "invalid number");
    }
    int is_float = 0;
    if (p->i + 1 < p->n && p->s[p->i] == '.' && p->s[p->i + 1] >= '0' && p->s[p->i + 1] <= '9') {
        is_float = 1;
        p->i++;
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        size_t k = p->i + 1;
        if (k < p->n && (p->s[k] == '+' || p->s[k] == '-'))
            k++;
        if (k < p->n && p->s[k] >= '0' && p->s[k] <= '9') {
            is_float = 1;
            while (k < p->n && p->s[k] >= '0' && p->s[k] <= '9')
                k++;
            p->i = k;
        }
    }
    char tmp[64];
    size_t len = p->i - b;
    if (len >= sizeof(tmp)) {
        if (!is_float)
            return jinja_fail(p->J, HXQ_ERR_UNSUPPORTED, 0, "JSON: integer out of the 64-bit "
                              "range at byte %zu", b);
        len = sizeof(tmp) - 1; /* a float this long: its first digits decide */
    }
    memcpy(tmp, p->s + b, len);
    tmp[len] = 0;
    if (is_float) {
        *out = jv_float(strtod(tmp, NULL));
        return HXQ_OK;
    }
    uint64_t v = 0;
    int neg = tmp[0] == '-';
    for (const char *d = tmp + neg; *d; d++) {
        if (v > (UINT64_MAX - 9) / 10)
            v = UINT64_MAX;
        else
            v = v * 10 + (uint64_t)(*d - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return jinja_fail(p->J, HXQ_ERR_UNSUPPORTED, 0, "JSON: integer out of the 64-bit range "
                          "at byte %zu", b);
    *out = jv_int(neg ? (int64_t)(0 - v) : (int64_t)v);
    return HXQ_OK;
}

static int parse_value(jparse *p, jv *out)
{
    jinja *J = p->J;
    HXQ_TRY(jinja_step(J, 0));
    skip_ws(p);
    if (p->i >= p->n)
        return perr(p, "expected a value");
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        if (++p->depth > JINJA_MAX_DEPTH)
            return jinja_fail(J, HXQ_ERR_RANGE, 0, "JSON: nested more than %d deep",
                              JINJA_MAX_DEPTH);
        p->i++;
        skip_ws(p);
        char close = c == '{' ? '}' : ']';
        jlist *l = c == '[' ? jlist_new(J, 0, JL_LIST) : NULL;
        jdict *d = c == '{' ? jdict_new(J) : NULL;
        if (!l && !d)
            return jinja_oom(J);
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
        } else {
            for (;;) {
                jv k, v;
                if (d) {
                    skip_ws(p);
                    if (p->i >= p->n || p->s[p->i] != '"')
                        return perr(p, "expected a string key");
                    HXQ_TRY(parse_string(p, &k));
                    skip_ws(p);
                    if (p->i >= p->n || p->s[p->i] != ':')
                        return perr(p, "expected ':'");
                    p->i++;
                }
                HXQ_TRY(parse_value(p, &v));
                HXQ_TRY(d ? jdict_set(J, d, k, v) : jlist_push(J, l, v));
                skip_ws(p);
                if (p->i < p->n && p->s[p->i] == ',') {
                    p->i++;
                    continue;
                }
                if (p->i < p->n && p->s[p->i] == close) {
                    p->i++;
                    break;
                }
                return perr(p, d ? "expected ',' or '}'" : "expected ',' or ']'");
            }
        }
        p->depth--;
        *out = d ? jv_dict(d) : jv_list(l);
        return HXQ_OK;
    }
    if (c == '"')
        return parse_string(p, out);
    if (lit(p, "true") || lit(p, "false")) {
        *out = jv_bool(c == 't');
        return HXQ_OK;
    }
    if (lit(p, "null")) {
        *out = jv_none();
        return HXQ_OK;
    }
    if (lit(p, "NaN")) {
        *out = jv_float(NAN);
        return HXQ_OK;
    }
    if (lit(p, "Infinity") || lit(p, "-Infinity")) {
        *out = jv_float(c == '-' ? -INFINITY : INFINITY);
        return HXQ_OK;
    }
    return parse_number(p, out);
}

int jinja_json_parse(jinja *J, const char *text, size_t n, jv *out)
{
    size_t valid = hxq_utf8_valid_prefix(text, n);
    if (valid != n)
        return jinja_fail(J, HXQ_ERR_FORMAT, 0, "JSON: not valid UTF-8 at byte %zu", valid);
    jparse p = {.J = J, .s = text, .n = n};
    HXQ_TRY(parse_value(&p, out));
    skip_ws(&p);
    if (p.i != n)
        return perr(&p, "extra data");
    return HXQ_OK;
}

/* ---- dumps -------------------------------------------------------------------------- */

static int dump_string(jinja *J, jbuf *b, const char *s, size_t n, int ascii)
{
    HXQ_TRY(jinja_step(J, n));
    HXQ_TRY(jbuf_putc(J, b, '"'));
    size_t run = 0; /* start of bytes copied as they are */
    for (size_t i = 0; i < n;) {
        size_t st = i;
        uint32_t cp = jinja_utf8_next(s, n, &i);
        const char *esc = cp == '"' ? "\\\"" : cp == '\\' ? "\\\\" : cp == '\n' ? "\\n"
                          : cp == '\r' ? "\\r" : cp == '\t' ? "\\t" : cp == '\b' ? "\\b"
                          : cp == '\f' ? "\\f" : NULL;
        int hex = !esc && (cp < 0x20 || (ascii && cp > 0x7e));
        if (!esc && !hex)
            continue;
        HXQ_TRY(jbuf_put(J, b, s + run, st - run));
        run = i;
        if (esc) {
            HXQ_TRY(jbuf_put(J, b, esc, 2));
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            HXQ_TRY(jbuf_printf(J, b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)));
        } else {
            HXQ_TRY(jbuf_printf(J, b, "\\u%04x", cp));
        }
    }
    HXQ_TRY(jbuf_put(J, b, s + run, n - run));
    return jbuf_putc(J, b, '"');
}

static int dump_float(jinja *J, jbuf *b, double f)
{
    if (isnan(f))
        return jbuf_put(J, b, "NaN", 3);
    if (isinf(f))
        return f < 0 ? jbuf_put(J, b, "-Infinity", 9) : jbuf_put(J, b, "Infinity", 8);
    char num[40];
    return jbuf_put(J, b, num, jinja_format_float(f, num));
}

static int newline_indent(jinja *J, jbuf *b, const jjson_opts *o, int level)
{
    HXQ_TRY(jbuf_putc(J, b, '\n'));
    for (int k = 0; k < level; k++) {
        if (o->indent.t == JV_STR)
            HXQ_TRY(jbuf_put(J, b, o->indent.u.s, o->indent.n));
        else
            for (int64_t s = 0; s < o->indent.u.i; s++)
                HXQ_TRY(jbuf_putc(J, b, ' '));
    }
    return HXQ_OK;
}

static int dump_at(jinja *J, jbuf *b, jv v, const jjson_opts *o, int level);

static int dump_key(jinja *J, jbuf *b, jv k, const jjson_opts *o)
{
    switch (k.t) {
    case JV_STR: return dump_string(J, b, k.u.s, k.n, o->ensure_ascii);
    case JV_BOOL:
    case JV_NONE: return jbuf_put(J, b, k.t == JV_NONE ? "\"null\"" : k.u.i ? "\"true\""
                                  : "\"false\"", k.t == JV_NONE || k.u.i ? 6 : 7);
    case JV_INT:
    case JV_FLOAT:
        HXQ_TRY(jbuf_putc(J, b, '"'));
        HXQ_TRY(k.t == JV_INT ? jbuf_printf(J, b, "%lld", (long long)k.u.i)
                              : dump_float(J, b, k.u.f));
        return jbuf_putc(J, b, '"');
    default:
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "keys must be str, int, float, bool or "
                          "None, not %s", jv_type_name(k));
    }
}

static int dump_container(jinja *J, jbuf *b, jv v, const jjson_opts *o, int level)
{
    int is_dict = v.t == JV_DICT;
    size_t n = is_dict ? v.u.d->n : v.u.l->n;
    char open = is_dict ? '{' : '[', close = is_dict ? '}' : ']';
    if (n == 0)
        return jbuf_put(J, b, is_dict ? "{}" : "[]", 2);
    size_t *order = NULL;
    if (is_dict && o->sort_keys) {
        order = jinja_alloc(J, n * sizeof(*order));
        if (!order)
            return jinja_oom(J);
        HXQ_TRY(jinja_sort_order(J, v.u.d->k, n, order));
    }
    int indented = o->indent.t != JV_NONE;
    jv isep = o->item_sep.t == JV_STR ? o->item_sep : indented ? jv_str(",", 1) : jv_str(", ", 2);
    jv ksep = o->key_sep.t == JV_STR ? o->key_sep : jv_str(": ", 2);
    HXQ_TRY(jbuf_putc(J, b, open));
    for (size_t i = 0; i < n; i++) {
        if (i)
            HXQ_TRY(jbuf_put(J, b, isep.u.s, isep.n));
        if (indented)
            HXQ_TRY(newline_indent(J, b, o, level + 1));
        if (is_dict) {
            size_t k = order ? order[i] : i;
            HXQ_TRY(dump_key(J, b, v.u.d->k[k], o));
            HXQ_TRY(jbuf_put(J, b, ksep.u.s, ksep.n));
            HXQ_TRY(dump_at(J, b, v.u.d->v[k], o, level + 1));
        } else {
            HXQ_TRY(dump_at(J, b, v.u.l->v[i], o, level + 1));
        }
    }
    if (indented)
        HXQ_TRY(newline_indent(J, b, o, level));
    return jbuf_putc(J, b, close);
}

static int dump_at(jinja *J, jbuf *b, jv v, const jjson_opts *o, int level)
{
    if (level > JINJA_MAX_DEPTH)
        return jinja_fail(J, HXQ_ERR_RANGE, J->line, "tojson: values nested more than %d deep",
                          JINJA_MAX_DEPTH);
    HXQ_TRY(jinja_step(J, 0));
    switch (v.t) {
    case JV_NONE: return jbuf_put(J, b, "null", 4);
    case JV_BOOL: return v.u.i ? jbuf_put(J, b, "true", 4) : jbuf_put(J, b, "false", 5);
    case JV_INT: return jbuf_printf(J, b, "%lld", (long long)v.u.i);
    case JV_FLOAT: return dump_float(J, b, v.u.f);
    case JV_STR: return dump_string(J, b, v.u.s, v.n, o->ensure_ascii);
    case JV_LIST:
        if (v.u.l->kind != JL_LIST && v.u.l->kind != JL_TUPLE)
            break;
        return dump_container(J, b, v, o, level);
    case JV_DICT: return dump_container(J, b, v, o, level);
    default: break;
    }
    return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "Object of type %s is not JSON serializable",
                      jv_type_name(v));
}

int jinja_json_dump(jinja *J, jbuf *b, jv v, const jjson_opts *o)
{
    return dump_at(J, b, v, o, 0);
}
