/* jinja_parse.c - tokens -> syntax tree, by jinja2's grammar (parser.py):
 *
 *   expression := or ['if' or ['else' expression]]
 *   or := and ('or' and)*           and := not ('and' not)*
 *   not := 'not' not | compare      compare := math1 (cmp math1)*  (cmp: == != < <= > >= in, not in)
 *   math1 := concat (('+'|'-') concat)*     concat := math2 ('~' math2)*
 *   math2 := pow (('*'|'/'|'//'|'%') pow)*  pow := unary ('**' unary)*
 *   unary := ('-'|'+') unary' | primary, then postfix (.x [i] (args)),
 *            then filters (| f(args)) and tests (is [not] t args)
 *
 * so `a + b | trim` is `a + (b | trim)` and `-x | abs` is `(-x) | abs`, as
 * in jinja2. Statements: for (with else, loop filter), if/elif/else, set
 * (also ns.attr and block set), macro, with, filter blocks, print, break,
 * continue, and transformers' generation block. Other tags of jinja2
 * (include, extends, block, import, call ...) are HXQ_ERR_UNSUPPORTED. */
#include "jinja_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct parser {
    jinja *J;
    const jtok *t;
    size_t i, n;
    int depth;
    int loops;       /* for loops around the statement being parsed */
    int soft;        /* inside an if: unknown filters fail only when run (jinja2) */
    jnode *macro;    /* the macro whose body is being parsed */
    const char *open_tag; /* innermost open block, for messages */
    int open_line;
} parser;

typedef struct nvec {
    jnode **v;
    int n, cap;
} nvec;

static const jtok *cur(const parser *P) { return &P->t[P->i]; }
static const jtok *peek(const parser *P)
{
    return P->i + 1 < P->n ? &P->t[P->i + 1] : &P->t[P->n - 1];
}
static void next(parser *P)
{
    if (P->i + 1 < P->n)
        P->i++;
}

static int tok_is_name(const jtok *t, const char *name)
{
    return t->kind == JT_NAME && t->n == strlen(name) && !memcmp(t->s, name, t->n);
}
static int is_name(const parser *P, const char *name) { return tok_is_name(cur(P), name); }
static int is_op(const parser *P, int op) { return cur(P)->kind == JT_OP && cur(P)->op == op; }

static const char *describe(const jtok *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case JT_EOF: return "end of template";
    case JT_DATA: return "template data";
    case JT_VAR_BEGIN: return "'{{'";
    case JT_VAR_END: return "end of print statement";
    case JT_BLOCK_BEGIN: return "'{%'";
    case JT_BLOCK_END: return "end of statement block";
    case JT_STRING: return "string";
    case JT_INT: return "integer";
    case JT_FLOAT: return "float";
    default:
        snprintf(buf, cap, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
        return buf;
    }
}

static int fail(parser *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *P, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return jinja_fail(P->J, HXQ_ERR_FORMAT, cur(P)->line, "syntax error: %s", msg);
}

static int unexpected(parser *P, const char *wanted)
{
    char b[64];
    return fail(P, "expected %s, got %s", wanted, describe(cur(P), b, sizeof(b)));
}

static int expect_op(parser *P, int op, const char *what)
{
    if (!is_op(P, op))
        return unexpected(P, what);
    next(P);
    return HXQ_OK;
}

static int expect_kind(parser *P, int kind, const char *what)
{
    if (cur(P)->kind != kind)
        return unexpected(P, what);
    next(P);
    return HXQ_OK;
}

static int mk(parser *P, int kind, int line, jnode **out)
{
    jnode *x = *out = jinja_alloc(P->J, sizeof(*x));
    if (!x)
        return jinja_oom(P->J);
    memset(x, 0, sizeof(*x));
    x->kind = (uint8_t)kind;
    x->line = line;
    x->fid = -1;
    *out = x;
    return HXQ_OK;
}

static int push(parser *P, nvec *v, jnode *x)
{
    if (v->n == v->cap) {
        int cap = v->cap ? 2 * v->cap : 4;
        jnode **p = jinja_alloc(P->J, (size_t)cap * sizeof(*p));
        if (!p)
            return jinja_oom(P->J);
        if (v->n)
            memcpy(p, v->v, (size_t)v->n * sizeof(*p));
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return HXQ_OK;
}

static int enter(parser *P)
{
    if (++P->depth > JINJA_MAX_NEST)
        return jinja_fail(P->J, HXQ_ERR_RANGE, cur(P)->line, "the template nests expressions "
                          "or blocks more than %d deep", JINJA_MAX_NEST);
    return HXQ_OK;
}

/* ---- expressions ----------------------------------------------------------------- */

static int parse_expression(parser *P, int with_condexpr, jnode **out);
static int parse_tuple(parser *P, int simplified, int with_condexpr, const char *extra_end,
                       int explicit_parens, jnode **out);
static int parse_primary(parser *P, jnode **out);
static int parse_postfix(parser *P, jnode **node);
static int parse_filter(parser *P, jnode **node, int start_inline);

static int parse_call_args(parser *P, nvec *args, nvec *kwargs)
{
    int line = cur(P)->line;
    HXQ_TRY(expect_op(P, JOP_LPAREN, "'('"));
    int need_comma = 0;
    while (!is_op(P, JOP_RPAREN)) {
        if (need_comma) {
            HXQ_TRY(expect_op(P, JOP_COMMA, "','"));
            if (is_op(P, JOP_RPAREN))
                break;
        }
        if (is_op(P, JOP_MUL) || is_op(P, JOP_POW))
            return jinja_fail(P->J, HXQ_ERR_UNSUPPORTED, line, "unsupported call with *args or "
                              "**kwargs");
        jnode *v;
        if (cur(P)->kind == JT_NAME && peek(P)->kind == JT_OP && peek(P)->op == JOP_ASSIGN) {
            jnode *kw;
            HXQ_TRY(mk(P, JN_KWARG, cur(P)->line, &kw));
            kw->s = cur(P)->s;
            kw->n = cur(P)->n;
            next(P);
            next(P);
            HXQ_TRY(parse_expression(P, 1, &v));
            kw->a = v;
            HXQ_TRY(push(P, kwargs, kw));
        } else {
            if (kwargs->n)
                return fail(P, "invalid syntax for function call expression");
            HXQ_TRY(parse_expression(P, 1, &v));
            HXQ_TRY(push(P, args, v));
        }
        need_comma = 1;
    }
    return expect_op(P, JOP_RPAREN, "')'");
}

static void set_args(jnode *x, const nvec *args, const nvec *kwargs)
{
    x->kids = args->v;
    x->nkids = args->n;
    x->kids2 = kwargs->v;
    x->nkids2 = kwargs->n;
}

/* A dotted name after '|' or 'is' (jinja2 allows "a.b"; no such filter exists). */
static int dotted_name(parser *P, const char **s, size_t *n)
{
    if (cur(P)->kind != JT_NAME)
        return unexpected(P, "a name");
    const char *b = cur(P)->s;
    const char *e = b + cur(P)->n;
    next(P);
    while (is_op(P, JOP_DOT) && peek(P)->kind == JT_NAME) {
        next(P);
        e = cur(P)->s + cur(P)->n;
        next(P);
    }
    *s = b;
    *n = (size_t)(e - b);
    return HXQ_OK;
}

static int parse_filter(parser *P, jnode **node, int start_inline)
{
    while (is_op(P, JOP_PIPE) || start_inline) {
        if (!start_inline)
            next(P);
        start_inline = 0;
        jnode *f;
        HXQ_TRY(mk(P, JN_FILTER, cur(P)->line, &f));
        HXQ_TRY(dotted_name(P, &f->s, &f->n));
        f->fid = (int16_t)jinja_filter_find(f->s, f->n);
        if (f->fid < 0 && !P->soft)
            return jinja_fail(P->J, HXQ_ERR_FORMAT, f->line, "no filter named '%.*s'",
                              (int)f->n, f->s);
        nvec args = {0}, kwargs = {0};
        if (is_op(P, JOP_LPAREN))
            HXQ_TRY(parse_call_args(P, &args, &kwargs));
        set_args(f, &args, &kwargs);
        f->a = *node;
        *node = f;
    }
    return HXQ_OK;
}

static int parse_test(parser *P, jnode **node)
{
    int line = cur(P)->line;
    next(P); /* is */
    int negated = 0;
    if (is_name(P, "not")) {
        next(P);
        negated = 1;
    }
    jnode *t;
    HXQ_TRY(mk(P, JN_TEST, line, &t));
    HXQ_TRY(dotted_name(P, &t->s, &t->n));
    t->fid = (int16_t)jinja_test_find(t->s, t->n);
    if (t->fid < 0 && !P->soft)
        return jinja_fail(P->J, HXQ_ERR_FORMAT, line, "no test named '%.*s'", (int)t->n, t->s);
    nvec args = {0}, kwargs = {0};
    const jtok *c = cur(P);
    if (is_op(P, JOP_LPAREN)) {
        HXQ_TRY(parse_call_args(P, &args, &kwargs));
    } else if ((c->kind == JT_NAME || c->kind == JT_STRING || c->kind == JT_INT ||
                c->kind == JT_FLOAT || is_op(P, JOP_LPAREN) || is_op(P, JOP_LBRACKET) ||
                is_op(P, JOP_LBRACE)) &&
               !is_name(P, "else") && !is_name(P, "or") && !is_name(P, "and")) {
        if (is_name(P, "is"))
            return fail(P, "you cannot chain multiple tests with is");
        jnode *arg;
        HXQ_TRY(parse_primary(P, &arg));
        HXQ_TRY(parse_postfix(P, &arg));
        HXQ_TRY(push(P, &args, arg));
    }
    set_args(t, &args, &kwargs);
    t->a = *node;
    if (negated) {
        jnode *n;
        HXQ_TRY(mk(P, JN_NOT, line, &n));
        n->a = t;
        t = n;
    }
    *node = t;
    return HXQ_OK;
}

/* One subscript: an expression or a slice [a]:[b][:[c]]. */
static int parse_subscribed(parser *P, jnode **out)
{
    int line = cur(P)->line;
    jnode *parts[3] = {NULL, NULL, NULL};
    if (is_op(P, JOP_COLON)) {
        next(P);
    } else {
        HXQ_TRY(parse_expression(P, 1, &parts[0]));
        if (!is_op(P, JOP_COLON)) {
            *out = parts[0];
            return HXQ_OK;
        }
        next(P);
    }
    if (!is_op(P, JOP_COLON) && !is_op(P, JOP_RBRACKET) && !is_op(P, JOP_COMMA))
        HXQ_TRY(parse_expression(P, 1, &parts[1]));
    if (is_op(P, JOP_COLON)) {
        next(P);
        if (!is_op(P, JOP_RBRACKET) && !is_op(P, JOP_COMMA))
            HXQ_TRY(parse_expression(P, 1, &parts[2]));
    }
    jnode *s;
    HXQ_TRY(mk(P, JN_SLICE, line, &s));
    s->a = parts[0];
    s->b = parts[1];
    s->c = parts[2];
    *out = s;
    return HXQ_OK;
}

static int parse_subscript(parser *P, jnode **node)
{
    const jtok *t = cur(P);
    int line = t->line;
    jnode *x;
    if (t->kind == JT_OP && t->op == JOP_DOT) {
        next(P);
        const jtok *a = cur(P);
        if (a->kind == JT_NAME) {
            HXQ_TRY(mk(P, JN_GETATTR, line, &x));
            x->s = a->s;
            x->n = a->n;
        } else if (a->kind == JT_INT) {
            HXQ_TRY(mk(P, JN_GETITEM, line, &x));
            HXQ_TRY(mk(P, JN_CONST, line, &x->b));
            x->b->v = jv_int(a->i);
        } else {
            return fail(P, "expected name or number");
        }
        next(P);
        x->a = *node;
        *node = x;
        return HXQ_OK;
    }
    next(P); /* [ */
    nvec args = {0};
    while (!is_op(P, JOP_RBRACKET)) {
        if (args.n)
            HXQ_TRY(expect_op(P, JOP_COMMA, "','"));
        jnode *s;
        HXQ_TRY(parse_subscribed(P, &s));
        HXQ_TRY(push(P, &args, s));
    }
    HXQ_TRY(expect_op(P, JOP_RBRACKET, "']'"));
    HXQ_TRY(mk(P, JN_GETITEM, line, &x));
    if (args.n == 1) {
        x->b = args.v[0];
    } else {
        HXQ_TRY(mk(P, JN_TUPLE, line, &x->b));
        x->b->kids = args.v;
        x->b->nkids = args.n;
    }
    x->a = *node;
    *node = x;
    return HXQ_OK;
}

/* node(args...): a call of node. */
static int parse_call(parser *P, jnode **node)
{
    jnode *c;
    HXQ_TRY(mk(P, JN_CALL, cur(P)->line, &c));
    nvec args = {0}, kwargs = {0};
    HXQ_TRY(parse_call_args(P, &args, &kwargs));
    set_args(c, &args, &kwargs);
    c->a = *node;
    *node = c;
    return HXQ_OK;
}

static int parse_postfix(parser *P, jnode **node)
{
    for (;;) {
        if (is_op(P, JOP_DOT) || is_op(P, JOP_LBRACKET)) {
            HXQ_TRY(parse_subscript(P, node));
        } else if (is_op(P, JOP_LPAREN)) {
            HXQ_TRY(parse_call(P, node));
        } else {
            return HXQ_OK;
        }
    }
}

static int parse_filter_expr(parser *P, jnode **node)
{
    for (;;) {
        if (is_op(P, JOP_PIPE)) {
            HXQ_TRY(parse_filter(P, node, 0));
        } else if (is_name(P, "is")) {
            HXQ_TRY(parse_test(P, node));
        } else if (is_op(P, JOP_LPAREN)) {
            HXQ_TRY(parse_call(P, node));
        } else {
            return HXQ_OK;
        }
    }
}

static int parse_list_or_dict(parser *P, int dict, jnode **out)
{
    jnode *x;
    HXQ_TRY(mk(P, dict ? JN_DICT : JN_LIST, cur(P)->line, &x));
    int close = dict ? JOP_RBRACE : JOP_RBRACKET;
    next(P);
    nvec items = {0};
    int count = 0;
    while (!is_op(P, close)) {
        if (count)
            HXQ_TRY(expect_op(P, JOP_COMMA, "','"));
        if (is_op(P, close))
            break;
        jnode *v;
        HXQ_TRY(parse_expression(P, 1, &v));
        HXQ_TRY(push(P, &items, v));
        if (dict) {
            HXQ_TRY(expect_op(P, JOP_COLON, "':'"));
            HXQ_TRY(parse_expression(P, 1, &v));
            HXQ_TRY(push(P, &items, v));
        }
        count++;
    }
    HXQ_TRY(expect_op(P, close, dict ? "'}'" : "']'"));
    x->kids = items.v;
    x->nkids = items.n;
    *out = x;
    return HXQ_OK;
}

static int parse_primary(parser *P, jnode **out)
{
    const jtok *t = cur(P);
    jnode *x;
    if (t->kind == JT_NAME) {
        int is_true = tok_is_name(t, "true") || tok_is_name(t, "True");
        int is_false = tok_is_name(t, "false") || tok_is_name(t, "False");
        int is_none = tok_is_name(t, "none") || tok_is_name(t, "None");
        if (is_true || is_false || is_none) {
            HXQ_TRY(mk(P, JN_CONST, t->line, &x));
            x->v = is_none ? jv_none() : jv_bool(is_true);
        } else {
            HXQ_TRY(mk(P, JN_NAME, t->line, &x));
            x->s = t->s;
            x->n = t->n;
            if (P->macro && tok_is_name(t, "varargs"))
                P->macro->op |= JM_VARARGS;
            if (P->macro && tok_is_name(t, "kwargs"))
                P->macro->op |= JM_KWARGS;
        }
        next(P);
    } else if (t->kind == JT_STRING) {
        HXQ_TRY(mk(P, JN_CONST, t->line, &x));
        x->v = jv_str(t->s, t->n);
        next(P);
        if (cur(P)->kind == JT_STRING) { /* adjacent literals are joined */
            jbuf b = {0};
            HXQ_TRY(jbuf_put(P->J, &b, t->s, t->n));
            while (cur(P)->kind == JT_STRING) {
                HXQ_TRY(jbuf_put(P->J, &b, cur(P)->s, cur(P)->n));
                next(P);
            }
            x->v = jbuf_str(&b);
        }
    } else if (t->kind == JT_INT || t->kind == JT_FLOAT) {
        HXQ_TRY(mk(P, JN_CONST, t->line, &x));
        x->v = t->kind == JT_INT ? jv_int(t->i) : jv_float(t->f);
        next(P);
    } else if (is_op(P, JOP_LPAREN)) {
        next(P);
        HXQ_TRY(parse_tuple(P, 0, 1, NULL, 1, &x));
        HXQ_TRY(expect_op(P, JOP_RPAREN, "')'"));
    } else if (is_op(P, JOP_LBRACKET) || is_op(P, JOP_LBRACE)) {
        HXQ_TRY(parse_list_or_dict(P, is_op(P, JOP_LBRACE), &x));
    } else {
        char b[64];
        return fail(P, "unexpected %s", describe(t, b, sizeof(b)));
    }
    *out = x;
    return HXQ_OK;
}

static int parse_unary(parser *P, int with_filter, jnode **out)
{
    HXQ_TRY(enter(P));
    jnode *x;
    int line = cur(P)->line;
    if (is_op(P, JOP_SUB) || is_op(P, JOP_ADD)) {
        int neg = is_op(P, JOP_SUB);
        next(P);
        HXQ_TRY(mk(P, neg ? JN_NEG : JN_POS, line, &x));
        HXQ_TRY(parse_unary(P, 0, &x->a));
    } else {
        HXQ_TRY(parse_primary(P, &x));
    }
    HXQ_TRY(parse_postfix(P, &x));
    if (with_filter)
        HXQ_TRY(parse_filter_expr(P, &x));
    P->depth--;
    *out = x;
    return HXQ_OK;
}

/* A left-associative level: sub (op sub)*, op one of ops (JOP_COUNT ends). */
static int left_assoc(parser *P, int (*sub)(parser *, jnode **), const int *ops, jnode **out)
{
    int line = cur(P)->line;
    HXQ_TRY(sub(P, out));
    for (;;) {
        int op = -1;
        for (int i = 0; ops[i] != JOP_COUNT; i++)
            if (is_op(P, ops[i]))
                op = ops[i];
        if (op < 0)
            return HXQ_OK;
        next(P);
        jnode *x;
        HXQ_TRY(mk(P, JN_BINOP, line, &x));
        x->op = (uint8_t)op;
        x->a = *out;
        HXQ_TRY(sub(P, &x->b));
        *out = x;
        line = cur(P)->line;
    }
}

static int parse_unary1(parser *P, jnode **out) { return parse_unary(P, 1, out); }

static int parse_pow(parser *P, jnode **out)
{
    static const int ops[] = {JOP_POW, JOP_COUNT};
    return left_assoc(P, parse_unary1, ops, out);
}

static int parse_math2(parser *P, jnode **out)
{
    static const int ops[] = {JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_COUNT};
    return left_assoc(P, parse_pow, ops, out);
}

static int parse_concat(parser *P, jnode **out)
{
    int line = cur(P)->line;
    HXQ_TRY(parse_math2(P, out));
    if (!is_op(P, JOP_TILDE))
        return HXQ_OK;
    nvec items = {0};
    HXQ_TRY(push(P, &items, *out));
    while (is_op(P, JOP_TILDE)) {
        next(P);
        jnode *r;
        HXQ_TRY(parse_math2(P, &r));
        HXQ_TRY(push(P, &items, r));
    }
    HXQ_TRY(mk(P, JN_CONCAT, line, out));
    (*out)->kids = items.v;
    (*out)->nkids = items.n;
    return HXQ_OK;
}

static int parse_math1(parser *P, jnode **out)
{
    static const int ops[] = {JOP_ADD, JOP_SUB, JOP_COUNT};
    return left_assoc(P, parse_concat, ops, out);
}

static int parse_compare(parser *P, jnode **out)
{
    int line = cur(P)->line;
    jnode *first;
    HXQ_TRY(parse_math1(P, &first));
    nvec ops = {0};
    for (;;) {
        int op = -1;
        if (cur(P)->kind == JT_OP) {
            switch (cur(P)->op) {
            case JOP_EQ: op = JC_EQ; break;
            case JOP_NE: op = JC_NE; break;
            case JOP_LT: op = JC_LT; break;
            case JOP_LE: op = JC_LE; break;
            case JOP_GT: op = JC_GT; break;
            case JOP_GE: op = JC_GE; break;
            default: break;
            }
            if (op >= 0)
                next(P);
        } else if (is_name(P, "in")) {
            op = JC_IN;
            next(P);
        } else if (is_name(P, "not") && tok_is_name(peek(P), "in")) {
            op = JC_NOTIN;
            next(P);
            next(P);
        }
        if (op < 0)
            break;
        jnode *o;
        HXQ_TRY(mk(P, JN_CMPOP, cur(P)->line, &o));
        o->op = (uint8_t)op;
        HXQ_TRY(parse_math1(P, &o->a));
        HXQ_TRY(push(P, &ops, o));
    }
    if (!ops.n) {
        *out = first;
        return HXQ_OK;
    }
    HXQ_TRY(mk(P, JN_COMPARE, line, out));
    (*out)->a = first;
    (*out)->kids = ops.v;
    (*out)->nkids = ops.n;
    return HXQ_OK;
}

static int parse_not(parser *P, jnode **out)
{
    if (is_name(P, "not")) {
        HXQ_TRY(enter(P));
        HXQ_TRY(mk(P, JN_NOT, cur(P)->line, out));
        next(P);
        HXQ_TRY(parse_not(P, &(*out)->a));
        P->depth--;
        return HXQ_OK;
    }
    return parse_compare(P, out);
}

/* `sub (word sub)*` for and / or. */
static int bool_chain(parser *P, int (*sub)(parser *, jnode **), const char *word, int kind,
                      jnode **out)
{
    int line = cur(P)->line;
    HXQ_TRY(sub(P, out));
    while (is_name(P, word)) {
        next(P);
        jnode *x;
        HXQ_TRY(mk(P, kind, line, &x));
        x->a = *out;
        HXQ_TRY(sub(P, &x->b));
        *out = x;
        line = cur(P)->line;
    }
    return HXQ_OK;
}

static int parse_and(parser *P, jnode **out) { return bool_chain(P, parse_not, "and", JN_AND, out); }
static int parse_or(parser *P, jnode **out) { return bool_chain(P, parse_and, "or", JN_OR, out); }

static int parse_expression(parser *P, int with_condexpr, jnode **out)
{
    HXQ_TRY(enter(P));
    int line = cur(P)->line;
    HXQ_TRY(parse_or(P, out));
    int soft = P->soft;
    while (with_condexpr && is_name(P, "if")) {
        P->soft = 1;
        next(P);
        jnode *c;
        HXQ_TRY(mk(P, JN_COND, line, &c));
        c->b = *out;
        HXQ_TRY(parse_or(P, &c->a));
        if (is_name(P, "else")) {
            next(P);
            HXQ_TRY(parse_expression(P, 1, &c->c));
        }
        *out = c;
        line = cur(P)->line;
    }
    P->soft = soft;
    P->depth--;
    return HXQ_OK;
}

static int is_tuple_end(const parser *P, const char *extra_end)
{
    int k = cur(P)->kind;
    if (k == JT_VAR_END || k == JT_BLOCK_END || is_op(P, JOP_RPAREN))
        return 1;
    return extra_end && is_name(P, extra_end);
}

static int parse_tuple(parser *P, int simplified, int with_condexpr, const char *extra_end,
                       int explicit_parens, jnode **out)
{
    int line = cur(P)->line;
    nvec items = {0};
    int is_tuple = 0;
    for (;;) {
        if (items.n)
            HXQ_TRY(expect_op(P, JOP_COMMA, "','"));
        if (is_tuple_end(P, extra_end))
            break;
        jnode *x;
        if (simplified)
            HXQ_TRY(parse_primary(P, &x));
        else
            HXQ_TRY(parse_expression(P, with_condexpr, &x));
        HXQ_TRY(push(P, &items, x));
        if (is_op(P, JOP_COMMA))
            is_tuple = 1;
        else
            break;
    }
    if (!is_tuple) {
        if (items.n) {
            *out = items.v[0];
            return HXQ_OK;
        }
        if (!explicit_parens) {
            char b[64];
            return fail(P, "expected an expression, got %s", describe(cur(P), b, sizeof(b)));
        }
    }
    HXQ_TRY(mk(P, JN_TUPLE, line, out));
    (*out)->kids = items.v;
    (*out)->nkids = items.n;
    return HXQ_OK;
}

/* ---- statements ------------------------------------------------------------------ */

static int subparse(parser *P, const char *const *ends, nvec *body);

static int assignable(parser *P, const jnode *t)
{
    if (t->kind == JN_NAME)
        return HXQ_OK;
    if (t->kind == JN_TUPLE) {
        for (int i = 0; i < t->nkids; i++)
            HXQ_TRY(assignable(P, t->kids[i]));
        return HXQ_OK;
    }
    return jinja_fail(P->J, HXQ_ERR_FORMAT, t->line, "syntax error: can't assign to %s",
                      t->kind == JN_CONST ? "a constant" : "an expression");
}

static int fail_eof(parser *P, const char *const *ends)
{
    char want[256] = "";
    size_t k = 0;
    for (int i = 0; ends[i]; i++)
        k += (size_t)snprintf(want + k, sizeof(want) - k, "%s'%s'", i ? " or " : "", ends[i]);
    return fail(P, "unexpected end of template, expected %s (to close '%s' of line %d)", want,
                P->open_tag, P->open_line);
}

/* Parses "%}" + body up to one of ends; leaves the end name as the current
 * token, or consumes it when drop. */
static int parse_statements(parser *P, const char *const *ends, int drop, nvec *body)
{
    if (is_op(P, JOP_COLON))
        next(P);
    HXQ_TRY(expect_kind(P, JT_BLOCK_END, "end of statement block"));
    HXQ_TRY(enter(P));
    HXQ_TRY(subparse(P, ends, body));
    P->depth--;
    if (cur(P)->kind == JT_EOF)
        return fail_eof(P, ends);
    if (drop)
        next(P);
    return HXQ_OK;
}

static int parse_assign_target(parser *P, const char *extra_end, jnode **out)
{
    HXQ_TRY(parse_tuple(P, 1, 0, extra_end, 0, out));
    return assignable(P, *out);
}

static int parse_for(parser *P, jnode *x)
{
    static const char *const body_end[] = {"endfor", "else", NULL};
    static const char *const else_end[] = {"endfor", NULL};
    HXQ_TRY(parse_assign_target(P, "in", &x->a));
    if (!is_name(P, "in"))
        return unexpected(P, "'in'");
    next(P);
    HXQ_TRY(parse_tuple(P, 0, 0, "recursive", 0, &x->b));
    if (is_name(P, "if")) {
        next(P);
        HXQ_TRY(parse_expression(P, 1, &x->c));
    }
    if (is_name(P, "recursive"))
        return jinja_fail(P->J, HXQ_ERR_UNSUPPORTED, cur(P)->line, "unsupported recursive "
                          "for loop");
    nvec body = {0}, els = {0};
    int soft = P->soft;
    P->soft = 0;
    P->loops++;
    HXQ_TRY(parse_statements(P, body_end, 0, &body));
    P->loops--;
    if (is_name(P, "else")) {
        next(P);
        HXQ_TRY(parse_statements(P, else_end, 1, &els));
    } else {
        next(P);
    }
    P->soft = soft;
    x->kids = body.v;
    x->nkids = body.n;
    x->kids2 = els.v;
    x->nkids2 = els.n;
    return HXQ_OK;
}

static int parse_if(parser *P, jnode *x)
{
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    static const char *const else_end[] = {"endif", NULL};
    int soft = P->soft;
    P->soft = 1;
    jnode *node = x;
    for (;;) {
        HXQ_TRY(parse_tuple(P, 0, 0, NULL, 0, &node->a));
        nvec body = {0};
        HXQ_TRY(parse_statements(P, ends, 0, &body));
        node->kids = body.v;
        node->nkids = body.n;
        if (is_name(P, "elif")) {
            jnode *e;
            HXQ_TRY(mk(P, JN_IF, cur(P)->line, &e));
            next(P);
            node->kids2 = jinja_alloc(P->J, sizeof(jnode *));
            if (!node->kids2)
                return jinja_oom(P->J);
            node->kids2[0] = e;
            node->nkids2 = 1;
            node = e;
            continue;
        }
        if (is_name(P, "else")) {
            next(P);
            nvec els = {0};
            HXQ_TRY(parse_statements(P, else_end, 1, &els));
            node->kids2 = els.v;
            node->nkids2 = els.n;
        } else {
            next(P);
        }
        break;
    }
    P->soft = soft;
    return HXQ_OK;
}

static int parse_set(parser *P, jnode *x)
{
    static const char *const ends[] = {"endset", NULL};
    if (cur(P)->kind == JT_NAME && peek(P)->kind == JT_OP && peek(P)->op == JOP_DOT) {
        jnode *ns;
        HXQ_TRY(mk(P, JN_NSREF, cur(P)->line, &ns));
        ns->s = cur(P)->s;
        ns->n = cur(P)->n;
        next(P);
        next(P);
        if (cur(P)->kind != JT_NAME)
            return unexpected(P, "a name");
        ns->v = jv_str(cur(P)->s, cur(P)->n);
        next(P);
        x->a = ns;
    } else {
        HXQ_TRY(parse_assign_target(P, NULL, &x->a));
    }
    if (is_op(P, JOP_ASSIGN)) {
        next(P);
        return parse_tuple(P, 0, 1, NULL, 0, &x->b);
    }
    x->kind = JN_SET_BLOCK;
    if (x->a->kind == JN_TUPLE)
        return jinja_fail(P->J, HXQ_ERR_FORMAT, x->line, "syntax error: a block set needs one "
                          "name");
    x->b = NULL;
    HXQ_TRY(parse_filter(P, &x->b, 0));
    nvec body = {0};
    int soft = P->soft;
    P->soft = 0;
    HXQ_TRY(parse_statements(P, ends, 1, &body));
    P->soft = soft;
    x->kids = body.v;
    x->nkids = body.n;
    return HXQ_OK;
}

/* A body in its own frame (macro, with, filter and generation blocks):
 * no enclosing loop, no if around it. */
static int frame_body(parser *P, const char *end, nvec *body)
{
    const char *ends[] = {end, NULL};
    int soft = P->soft, loops = P->loops;
    P->soft = 0;
    P->loops = 0;
    HXQ_TRY(parse_statements(P, ends, 1, body));
    P->soft = soft;
    P->loops = loops;
    return HXQ_OK;
}

static int parse_macro(parser *P, jnode *x)
{
    if (cur(P)->kind != JT_NAME)
        return unexpected(P, "a macro name");
    x->s = cur(P)->s;
    x->n = cur(P)->n;
    next(P);
    HXQ_TRY(expect_op(P, JOP_LPAREN, "'('"));
    nvec params = {0};
    int defaults = 0;
    while (!is_op(P, JOP_RPAREN)) {
        if (params.n)
            HXQ_TRY(expect_op(P, JOP_COMMA, "','"));
        if (cur(P)->kind != JT_NAME)
            return unexpected(P, "a parameter name");
        jnode *p;
        HXQ_TRY(mk(P, JN_NAME, cur(P)->line, &p));
        p->s = cur(P)->s;
        p->n = cur(P)->n;
        next(P);
        if (is_op(P, JOP_ASSIGN)) {
            next(P);
            HXQ_TRY(parse_expression(P, 1, &p->a));
            defaults = 1;
        } else if (defaults) {
            return fail(P, "non-default argument follows default argument");
        }
        HXQ_TRY(push(P, &params, p));
    }
    next(P);
    x->kids2 = params.v;
    x->nkids2 = params.n;
    jnode *outer = P->macro;
    P->macro = x;
    nvec body = {0};
    HXQ_TRY(frame_body(P, "endmacro", &body));
    P->macro = outer;
    x->kids = body.v;
    x->nkids = body.n;
    return HXQ_OK;
}

static int parse_with(parser *P, jnode *x)
{
    nvec sets = {0};
    while (cur(P)->kind != JT_BLOCK_END) {
        if (sets.n)
            HXQ_TRY(expect_op(P, JOP_COMMA, "','"));
        jnode *s;
        HXQ_TRY(mk(P, JN_SET, cur(P)->line, &s));
        HXQ_TRY(parse_assign_target(P, NULL, &s->a));
        HXQ_TRY(expect_op(P, JOP_ASSIGN, "'='"));
        HXQ_TRY(parse_expression(P, 1, &s->b));
        HXQ_TRY(push(P, &sets, s));
    }
    x->kids2 = sets.v;
    x->nkids2 = sets.n;
    nvec body = {0};
    HXQ_TRY(frame_body(P, "endwith", &body));
    x->kids = body.v;
    x->nkids = body.n;
    return HXQ_OK;
}

static int parse_statement(parser *P, nvec *body)
{
    const jtok *t = cur(P);
    if (t->kind != JT_NAME)
        return fail(P, "tag name expected");
    const char *outer_tag = P->open_tag;
    int outer_line = P->open_line;
    char name[16];
    snprintf(name, sizeof(name), "%.*s", (int)(t->n < 15 ? t->n : 15), t->s);
    jnode *x;
    HXQ_TRY(mk(P, JN_OUTPUT, t->line, &x));
    P->open_line = t->line;
    static const char *const known[] = {"for", "if", "set", "macro", "with", "filter", "print",
                                        "break", "continue", "generation"};
    static const char *const unsupported[] = {"block", "extends", "include", "import", "from",
                                              "call", "autoescape"};
    int k = -1;
    for (int i = 0; i < (int)(sizeof(known) / sizeof(known[0])); i++)
        if (tok_is_name(t, known[i]))
            k = i;
    if (k >= 0)
        P->open_tag = known[k];
    for (size_t i = 0; k < 0 && i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (tok_is_name(t, unsupported[i]))
            return jinja_fail(P->J, HXQ_ERR_UNSUPPORTED, t->line, "unsupported tag '%s'",
                              unsupported[i]);
    if (k < 0)
        return jinja_fail(P->J, HXQ_ERR_FORMAT, t->line, "syntax error: unknown tag '%s'", name);
    next(P);
    int rc = HXQ_OK;
    switch (k) {
    case 0: x->kind = JN_FOR; rc = parse_for(P, x); break;
    case 1: x->kind = JN_IF; rc = parse_if(P, x); break;
    case 2: x->kind = JN_SET; rc = parse_set(P, x); break;
    case 3: x->kind = JN_MACRO; rc = parse_macro(P, x); break;
    case 4: x->kind = JN_WITH; rc = parse_with(P, x); break;
    case 5: {
        nvec b = {0};
        x->kind = JN_FILTER_BLOCK;
        rc = parse_filter(P, &x->b, 1);
        if (rc == HXQ_OK)
            rc = frame_body(P, "endfilter", &b);
        x->kids = b.v;
        x->nkids = b.n;
        break;
    }
    case 6: {
        nvec items = {0};
        while (rc == HXQ_OK && cur(P)->kind != JT_BLOCK_END) {
            jnode *e;
            if (items.n && (rc = expect_op(P, JOP_COMMA, "','")) < 0)
                break;
            if ((rc = parse_expression(P, 1, &e)) == HXQ_OK)
                rc = push(P, &items, e);
        }
        x->kids = items.v;
        x->nkids = items.n;
        break;
    }
    case 7:
    case 8:
        if (!P->loops)
            return jinja_fail(P->J, HXQ_ERR_FORMAT, x->line, "syntax error: '%s' outside a "
                              "loop", known[k]);
        x->kind = k == 7 ? JN_BREAK : JN_CONTINUE;
        break;
    case 9: {
        nvec b = {0};
        x->kind = JN_SCOPE;
        rc = frame_body(P, "endgeneration", &b);
        x->kids = b.v;
        x->nkids = b.n;
        break;
    }
    default: break;
    }
    HXQ_TRY(rc);
    P->open_tag = outer_tag;
    P->open_line = outer_line;
    HXQ_TRY(push(P, body, x));
    return expect_kind(P, JT_BLOCK_END, "end of statement block");
}

static int end_reached(const parser *P, const char *const *ends)
{
    for (int i = 0; ends && ends[i]; i++)
        if (is_name(P, ends[i]))
            return 1;
    return 0;
}

/* Template data and {{ }} go into JN_OUTPUT nodes; tags into statements. */
static int subparse(parser *P, const char *const *ends, nvec *body)
{
    nvec out = {0};
    for (;;) {
        const jtok *t = cur(P);
        if (t->kind == JT_DATA || t->kind == JT_VAR_BEGIN) {
            jnode *x;
            if (t->kind == JT_DATA) {
                HXQ_TRY(mk(P, JN_DATA, t->line, &x));
                x->s = t->s;
                x->n = t->n;
                next(P);
            } else {
                next(P);
                HXQ_TRY(parse_tuple(P, 0, 1, NULL, 0, &x));
                HXQ_TRY(expect_kind(P, JT_VAR_END, "end of print statement"));
            }
            HXQ_TRY(push(P, &out, x));
            continue;
        }
        if (out.n) {
            jnode *o;
            HXQ_TRY(mk(P, JN_OUTPUT, out.v[0]->line, &o));
            o->kids = out.v;
            o->nkids = out.n;
            HXQ_TRY(push(P, body, o));
            out = (nvec){0};
        }
        if (t->kind == JT_EOF)
            return HXQ_OK;
        if (t->kind != JT_BLOCK_BEGIN) {
            char b[64];
            return fail(P, "unexpected %s", describe(t, b, sizeof(b)));
        }
        next(P);
        if (end_reached(P, ends))
            return HXQ_OK;
        HXQ_TRY(parse_statement(P, body));
    }
}

int jinja_parse(jinja *J, const jtok *toks, size_t ntoks, jnode **root)
{
    parser P = {.J = J, .t = toks, .n = ntoks, .open_tag = "template", .open_line = 1};
    jnode *x;
    HXQ_TRY(mk(&P, JN_SCOPE, 1, &x));
    nvec body = {0};
    HXQ_TRY(subparse(&P, NULL, &body));
    if (cur(&P)->kind != JT_EOF) {
        char b[64];
        return fail(&P, "unexpected %s", describe(cur(&P), b, sizeof(b)));
    }
    x->kids = body.v;
    x->nkids = body.n;
    *root = x;
    return HXQ_OK;
}
