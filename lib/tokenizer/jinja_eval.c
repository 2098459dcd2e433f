/* jinja_eval.c - evaluating the syntax tree: expressions to values,
 * statements to output, with jinja2's scoping: a for loop's body, a macro,
 * a with / filter / set block and transformers' generation block each get
 * a new scope (a fresh one per loop iteration, so {% set %} inside a loop
 * does not leak out: templates use namespace() for that); if and elif do
 * not. Names are looked up through the scopes, then the render variables,
 * then the global functions. */
#include "jinja_int.h"

#include <string.h>

enum { SIG_BREAK = 1, SIG_CONTINUE = 2 };

jscope *jinja_scope_new(jinja *J, jscope *parent)
{
    jscope *s = jinja_alloc(J, sizeof(*s));
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->parent = parent;
    return s;
}

int jinja_scope_set(jinja *J, jscope *sc, const char *name, size_t n, jv v)
{
    return jdict_set(J, &sc->vars, jv_str(name, n), v);
}

static jv *lookup(jinja *J, jscope *sc, const char *name, size_t n)
{
    for (; sc; sc = sc->parent) {
        J->steps += (int64_t)(sc->vars.n >> 4);
        jv *v = jdict_get_str(&sc->vars, name, n);
        if (v)
            return v;
    }
    return NULL;
}

static int enter(jinja *J, int line)
{
    J->line = line;
    if (++J->depth > JINJA_MAX_DEPTH)
        return jinja_fail(J, HXQ_ERR_RANGE, line, "the template recurses more than %d levels "
                          "deep", JINJA_MAX_DEPTH);
    return jinja_step(J, 0);
}

/* ---- calls ------------------------------------------------------------------------ */

static int exec_body(jinja *J, jnode *const *body, int n, jscope *sc);

/* Runs body in scope sc with the output captured into a string. */
static int capture(jinja *J, jnode *const *body, int n, jscope *sc, jv *out)
{
    jbuf buf = {0}, *saved = J->out;
    J->out = &buf;
    int rc = exec_body(J, body, n, sc);
    J->out = saved;
    HXQ_TRY(rc);
    *out = jbuf_str(&buf);
    return HXQ_OK;
}

static int call_macro(jinja *J, const jmacro *m, const jargs *a, jv *out)
{
    const jnode *def = m->def;
    int np = def->nkids2;
    jscope *sc = jinja_scope_new(J, m->closure);
    jlist *varargs = jlist_new(J, 0, JL_TUPLE);
    jdict *kwargs = jdict_new(J);
    if (!sc || !varargs || !kwargs)
        return jinja_oom(J);
    if (a->npos > np && !(def->op & JM_VARARGS))
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "macro '%.*s' takes not more than %d "
                          "argument(s)", (int)def->n, def->s, np);
    for (int i = 0; i < a->npos; i++) {
        if (i < np)
            HXQ_TRY(jinja_scope_set(J, sc, def->kids2[i]->s, def->kids2[i]->n, a->pos[i]));
        else
            HXQ_TRY(jlist_push(J, varargs, a->pos[i]));
    }
    for (int k = 0; k < a->nkw; k++) {
        jv name = a->kwnames[k];
        int p = -1;
        for (int i = 0; i < np; i++)
            if (def->kids2[i]->n == name.n && !memcmp(def->kids2[i]->s, name.u.s, name.n))
                p = i;
        if (p >= 0 && p < a->npos)
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "macro '%.*s' got multiple values "
                              "for argument '%.*s'", (int)def->n, def->s, (int)name.n, name.u.s);
        if (p >= 0)
            HXQ_TRY(jinja_scope_set(J, sc, name.u.s, name.n, a->kw[k]));
        else if (def->op & JM_KWARGS)
            HXQ_TRY(jdict_set(J, kwargs, name, a->kw[k]));
        else
            return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "macro '%.*s' takes no keyword "
                              "argument '%.*s'", (int)def->n, def->s, (int)name.n, name.u.s);
    }
    for (int i = 0; i < np; i++) {
        const jnode *p = def->kids2[i];
        if (jdict_get_str(&sc->vars, p->s, p->n))
            continue;
        jv v = jv_undef_named(p->s, p->n, -1);
        if (p->a)
            HXQ_TRY(jinja_eval(J, p->a, sc, &v));
        HXQ_TRY(jinja_scope_set(J, sc, p->s, p->n, v));
    }
    if (def->op & JM_VARARGS)
        HXQ_TRY(jinja_scope_set(J, sc, "varargs", 7, jv_list(varargs)));
    if (def->op & JM_KWARGS)
        HXQ_TRY(jinja_scope_set(J, sc, "kwargs", 6, jv_dict(kwargs)));
    return capture(J, def->kids, def->nkids, sc, out);
}

int jinja_call(jinja *J, jv fn, const jargs *a, jv *out)
{
    switch (fn.t) {
    case JV_MACRO: return call_macro(J, fn.u.m, a, out);
    case JV_FUNC: return jinja_func_call(J, fn.id, a, out);
    case JV_METHOD: return jinja_method_call(J, fn, a, out);
    case JV_UNDEF: return jinja_undefined_error(J, fn);
    default:
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "'%s' object is not callable",
                          jv_type_name(fn));
    }
}

/* The positional and keyword arguments of a call / filter / test node. */
static int eval_args(jinja *J, const jnode *e, jscope *sc, jargs *a)
{
    jv *pos = jinja_alloc(J, (size_t)(e->nkids + 1) * sizeof(jv));
    jv *kw = jinja_alloc(J, (size_t)(e->nkids2 + 1) * sizeof(jv));
    jv *names = jinja_alloc(J, (size_t)(e->nkids2 + 1) * sizeof(jv));
    if (!pos || !kw || !names)
        return jinja_oom(J);
    for (int i = 0; i < e->nkids; i++)
        HXQ_TRY(jinja_eval(J, e->kids[i], sc, &pos[i]));
    for (int i = 0; i < e->nkids2; i++) {
        HXQ_TRY(jinja_eval(J, e->kids2[i]->a, sc, &kw[i]));
        names[i] = jv_str(e->kids2[i]->s, e->kids2[i]->n);
    }
    *a = (jargs){.pos = pos, .npos = e->nkids, .kwnames = names, .kw = kw, .nkw = e->nkids2};
    J->line = e->line;
    return HXQ_OK;
}

/* A chain of filter nodes whose innermost input (a == NULL) is `input`. */
static int apply_filters(jinja *J, const jnode *f, jscope *sc, jv input, jv *out)
{
    HXQ_TRY(enter(J, f->line));
    jv v = input;
    int rc = HXQ_OK;
    if (f->a && f->a->kind == JN_FILTER)
        rc = apply_filters(J, f->a, sc, input, &v);
    else if (f->a)
        rc = jinja_eval(J, f->a, sc, &v);
    jargs a;
    if (rc == HXQ_OK)
        rc = eval_args(J, f, sc, &a);
    if (rc == HXQ_OK && f->fid < 0)
        rc = jinja_fail(J, HXQ_ERR_FORMAT, f->line, "no filter named '%.*s'", (int)f->n, f->s);
    if (rc == HXQ_OK)
        rc = jinja_filter_apply(J, f->fid, v, &a, out);
    J->depth--;
    return rc;
}

/* ---- expressions ------------------------------------------------------------------ */

static int eval_list(jinja *J, const jnode *e, jscope *sc, int kind, jv *out)
{
    jlist *l = jlist_new(J, (size_t)e->nkids, kind);
    if (!l)
        return jinja_oom(J);
    for (int i = 0; i < e->nkids; i++)
        HXQ_TRY(jinja_eval(J, e->kids[i], sc, &l->v[l->n++]));
    *out = jv_list(l);
    return HXQ_OK;
}

static int eval_dict(jinja *J, const jnode *e, jscope *sc, jv *out)
{
    jdict *d = jdict_new(J);
    if (!d)
        return jinja_oom(J);
    for (int i = 0; i + 1 < e->nkids; i += 2) {
        jv k, v;
        HXQ_TRY(jinja_eval(J, e->kids[i], sc, &k));
        HXQ_TRY(jinja_eval(J, e->kids[i + 1], sc, &v));
        J->line = e->line;
        HXQ_TRY(jinja_hashable(J, k));
        HXQ_TRY(jdict_set(J, d, k, v));
    }
    *out = jv_dict(d);
    return HXQ_OK;
}

static int eval_compare(jinja *J, const jnode *e, jscope *sc, jv *out)
{
    jv left;
    HXQ_TRY(jinja_eval(J, e->a, sc, &left));
    for (int i = 0; i < e->nkids; i++) {
        jv right;
        int res;
        HXQ_TRY(jinja_eval(J, e->kids[i]->a, sc, &right));
        J->line = e->kids[i]->line;
        HXQ_TRY(jinja_compare(J, e->kids[i]->op, left, right, &res));
        if (!res) {
            *out = jv_bool(0);
            return HXQ_OK;
        }
        left = right;
    }
    *out = jv_bool(1);
    return HXQ_OK;
}

static int eval_unary(jinja *J, const jnode *e, jscope *sc, jv *out)
{
    jv v;
    HXQ_TRY(jinja_eval(J, e->a, sc, &v));
    J->line = e->line;
    if (e->kind == JN_NOT) {
        *out = jv_bool(!jv_truthy(v));
        return HXQ_OK;
    }
    if (v.t == JV_UNDEF)
        return jinja_undefined_error(J, v);
    int neg = e->kind == JN_NEG;
    if (v.t == JV_FLOAT) {
        *out = jv_float(neg ? -v.u.f : v.u.f);
    } else if (v.t == JV_INT || v.t == JV_BOOL) {
        if (neg && v.u.i == INT64_MIN)
            return jinja_fail(J, HXQ_ERR_UNSUPPORTED, J->line, "integer overflow (hxq's "
                              "integers are 64-bit)");
        *out = jv_int(neg ? -v.u.i : v.u.i);
    } else {
        return jinja_fail(J, HXQ_ERR_FORMAT, J->line, "bad operand type for unary %c: '%s'",
                          neg ? '-' : '+', jv_type_name(v));
    }
    return HXQ_OK;
}

static int eval_inner(jinja *J, const jnode *e, jscope *sc, jv *out)
{
    jv a, b;
    jargs args;
    switch (e->kind) {
    case JN_CONST:
        *out = e->v;
        return HXQ_OK;
    case JN_NAME: {
        jv *v = lookup(J, sc, e->s, e->n);
        if (v) {
            *out = *v;
            return HXQ_OK;
        }
        int id = jinja_func_find(e->s, e->n);
        if (id >= 0) {
            *out = (jv){.t = JV_FUNC, .id = (uint16_t)id};
            return HXQ_OK;
        }
        *out = jv_undef_named(e->s, e->n, -1);
        return HXQ_OK;
    }
    case JN_GETATTR:
        HXQ_TRY(jinja_eval(J, e->a, sc, &a));
        J->line = e->line;
        return jinja_getattr(J, a, e->s, e->n, out);
    case JN_GETITEM:
        HXQ_TRY(jinja_eval(J, e->a, sc, &a));
        if (e->b->kind == JN_SLICE) {
            jv s[3] = {jv_missing(), jv_missing(), jv_missing()};
            const jnode *p[3] = {e->b->a, e->b->b, e->b->c};
            for (int i = 0; i < 3; i++)
                if (p[i])
                    HXQ_TRY(jinja_eval(J, p[i], sc, &s[i]));
            J->line = e->line;
            return jinja_slice(J, a, s[0], s[1], s[2], out);
        }
        HXQ_TRY(jinja_eval(J, e->b, sc, &b));
        J->line = e->line;
        return jinja_getitem(J, a, b, out);
    case JN_CALL:
        HXQ_TRY(jinja_eval(J, e->a, sc, &a));
        HXQ_TRY(eval_args(J, e, sc, &args));
        return jinja_call(J, a, &args, out);
    case JN_FILTER:
        return apply_filters(J, e, sc, jv_undef(), out);
    case JN_TEST: {
        HXQ_TRY(jinja_eval(J, e->a, sc, &a));
        HXQ_TRY(eval_args(J, e, sc, &args));
        if (e->fid < 0)
            return jinja_fail(J, HXQ_ERR_FORMAT, e->line, "no test named '%.*s'", (int)e->n,
                              e->s);
        int res;
        HXQ_TRY(jinja_test_apply(J, e->fid, a, &args, &res));
        *out = jv_bool(res);
        return HXQ_OK;
    }
    case JN_LIST: return eval_list(J, e, sc, JL_LIST, out);
    case JN_TUPLE: return eval_list(J, e, sc, JL_TUPLE, out);
    case JN_DICT: return eval_dict(J, e, sc, out);
    case JN_NEG:
    case JN_POS:
    case JN_NOT: return eval_unary(J, e, sc, out);
    case JN_BINOP:
        HXQ_TRY(jinja_eval(J, e->a, sc, &a));
        HXQ_TRY(jinja_eval(J, e->b, sc, &b));
        J->line = e->line;
        return jinja_binop(J, e->op, a, b, out);
    case JN_AND:
    case JN_OR:
        HXQ_TRY(jinja_eval(J, e->a, sc, &a));
        if (jv_truthy(a) == (e->kind == JN_OR)) {
            *out = a;
            return HXQ_OK;
        }
        return jinja_eval(J, e->b, sc, out);
    case JN_COMPARE: return eval_compare(J, e, sc, out);
    case JN_CONCAT: {
        jbuf buf = {0};
        for (int i = 0; i < e->nkids; i++) {
            HXQ_TRY(jinja_eval(J, e->kids[i], sc, &a));
            J->line = e->line;
            HXQ_TRY(jv_write_str(J, &buf, a));
        }
        *out = jbuf_str(&buf);
        return HXQ_OK;
    }
    case JN_COND:
        HXQ_TRY(jinja_eval(J, e->a, sc, &a));
        if (jv_truthy(a))
            return jinja_eval(J, e->b, sc, out);
        if (e->c)
            return jinja_eval(J, e->c, sc, out);
        *out = jv_undef();
        return HXQ_OK;
    default:
        return jinja_fail(J, HXQ_ERR_FORMAT, e->line, "internal error: node %d is not an "
                          "expression", e->kind);
    }
}

int jinja_eval(jinja *J, const jnode *e, jscope *sc, jv *out)
{
    HXQ_TRY(enter(J, e->line));
    int rc = eval_inner(J, e, sc, out);
    J->depth--;
    return rc;
}

/* ---- statements ------------------------------------------------------------------- */

static int assign(jinja *J, const jnode *t, jv v, jscope *sc)
{
    J->line = t->line;
    if (t->kind == JN_NAME)
        return jinja_scope_set(J, sc, t->s, t->n, v);
    if (t->kind == JN_NSREF) {
        jv *ns = lookup(J, sc, t->s, t->n);
        if (!ns || ns->t != JV_NS)
            return jinja_fail(J, HXQ_ERR_FORMAT, t->line, "cannot assign attribute on "
                              "non-namespace object");
        return jdict_set(J, ns->u.d, t->v, v);
    }
    jlist *items;
    HXQ_TRY(jinja_iterate(J, v, &items));
    if (items->n != (size_t)t->nkids)
        return jinja_fail(J, HXQ_ERR_FORMAT, t->line, items->n > (size_t)t->nkids
                          ? "too many values to unpack (expected %d)"
                          : "not enough values to unpack (expected %d)", t->nkids);
    for (int i = 0; i < t->nkids; i++)
        HXQ_TRY(assign(J, t->kids[i], items->v[i], sc));
    return HXQ_OK;
}

static int exec_for(jinja *J, const jnode *x, jscope *sc)
{
    jv it;
    HXQ_TRY(jinja_eval(J, x->b, sc, &it));
    J->line = x->line;
    jlist *items;
    HXQ_TRY(jinja_iterate(J, it, &items));
    if (x->c) { /* the loop filter: items are selected before the loop runs */
        jlist *kept = jlist_new(J, 0, JL_LIST);
        if (!kept)
            return jinja_oom(J);
        for (size_t i = 0; i < items->n; i++) {
            jscope *f = jinja_scope_new(J, sc);
            jv ok;
            if (!f)
                return jinja_oom(J);
            HXQ_TRY(assign(J, x->a, items->v[i], f));
            HXQ_TRY(jinja_eval(J, x->c, f, &ok));
            if (jv_truthy(ok))
                HXQ_TRY(jlist_push(J, kept, items->v[i]));
        }
        items = kept;
    }
    jloop *lp = jinja_alloc(J, sizeof(*lp));
    if (!lp)
        return jinja_oom(J);
    lp->items = items;
    jv loopv = {.t = JV_LOOP};
    loopv.u.loop = lp;
    jscope *body = NULL;
    int completed = 0;
    for (size_t i = 0; i < items->n; i++) {
        lp->index0 = i;
        if (body && !body->captured) { /* a fresh scope per iteration, reused */
            body->vars.n = 0;
        } else if (!(body = jinja_scope_new(J, sc))) {
            return jinja_oom(J);
        }
        HXQ_TRY(jinja_step(J, 0));
        HXQ_TRY(assign(J, x->a, items->v[i], body));
        HXQ_TRY(jinja_scope_set(J, body, "loop", 4, loopv));
        int rc = exec_body(J, x->kids, x->nkids, body);
        HXQ_TRY(rc);
        if (rc == SIG_BREAK)
            break;
        completed |= rc == HXQ_OK;
    }
    if (completed || !x->nkids2)
        return HXQ_OK;
    /* jinja2 marks the loop as iterated at the end of the body, so the else
     * block also runs when every iteration ended in break or continue */
    jscope *e = jinja_scope_new(J, sc);
    if (!e)
        return jinja_oom(J);
    return exec_body(J, x->kids2, x->nkids2, e);
}

static int exec_stmt(jinja *J, const jnode *x, jscope *sc)
{
    jv v;
    jscope *inner;
    switch (x->kind) {
    case JN_OUTPUT:
        for (int i = 0; i < x->nkids; i++) {
            const jnode *k = x->kids[i];
            if (k->kind == JN_DATA) {
                HXQ_TRY(jinja_step(J, k->n));
                HXQ_TRY(jbuf_put(J, J->out, k->s, k->n));
                continue;
            }
            HXQ_TRY(jinja_eval(J, k, sc, &v));
            J->line = k->line;
            HXQ_TRY(jv_write_str(J, J->out, v));
        }
        return HXQ_OK;
    case JN_FOR:
        return exec_for(J, x, sc);
    case JN_IF:
        HXQ_TRY(jinja_eval(J, x->a, sc, &v));
        if (jv_truthy(v))
            return exec_body(J, x->kids, x->nkids, sc);
        return exec_body(J, x->kids2, x->nkids2, sc);
    case JN_SET:
        HXQ_TRY(jinja_eval(J, x->b, sc, &v));
        return assign(J, x->a, v, sc);
    case JN_SET_BLOCK:
    case JN_FILTER_BLOCK:
        if (!(inner = jinja_scope_new(J, sc)))
            return jinja_oom(J);
        HXQ_TRY(capture(J, x->kids, x->nkids, inner, &v));
        if (x->b)
            HXQ_TRY(apply_filters(J, x->b, sc, v, &v));
        if (x->kind == JN_SET_BLOCK)
            return assign(J, x->a, v, sc);
        return jv_write_str(J, J->out, v);
    case JN_MACRO: {
        jmacro *m = jinja_alloc(J, sizeof(*m));
        if (!m)
            return jinja_oom(J);
        m->def = x;
        m->closure = sc;
        for (jscope *c = sc; c; c = c->parent)
            c->captured = 1;
        v = (jv){.t = JV_MACRO};
        v.u.m = m;
        return jinja_scope_set(J, sc, x->s, x->n, v);
    }
    case JN_WITH:
        if (!(inner = jinja_scope_new(J, sc)))
            return jinja_oom(J);
        for (int i = 0; i < x->nkids2; i++) {
            HXQ_TRY(jinja_eval(J, x->kids2[i]->b, sc, &v));
            HXQ_TRY(assign(J, x->kids2[i]->a, v, inner));
        }
        return exec_body(J, x->kids, x->nkids, inner);
    case JN_SCOPE:
        if (!(inner = jinja_scope_new(J, sc)))
            return jinja_oom(J);
        return exec_body(J, x->kids, x->nkids, inner);
    case JN_BREAK:
        return SIG_BREAK;
    case JN_CONTINUE:
        return SIG_CONTINUE;
    default:
        return jinja_fail(J, HXQ_ERR_FORMAT, x->line, "internal error: node %d is not a "
                          "statement", x->kind);
    }
}

/* Runs statements; returns HXQ_OK, a break/continue signal, or an error. */
static int exec_body(jinja *J, jnode *const *body, int n, jscope *sc)
{
    for (int i = 0; i < n; i++) {
        HXQ_TRY(enter(J, body[i]->line));
        int rc = exec_stmt(J, body[i], sc);
        J->depth--;
        if (rc != HXQ_OK)
            return rc;
    }
    return HXQ_OK;
}

int jinja_exec(jinja *J, const jnode *root)
{
    int rc = exec_stmt(J, root, J->globals);
    return rc > 0 ? HXQ_OK : rc;
}
