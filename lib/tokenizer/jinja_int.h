/* jinja_int.h - private header of the chat-template interpreter
 * (lib/tokenizer/jinja_*.c): the subset of Jinja that Hugging Face chat
 * templates use, with the Python semantics they rely on, rendered exactly
 * as jinja2 does in transformers' environment (ImmutableSandboxedEnvironment,
 * trim_blocks, lstrip_blocks, loopcontrols, transformers' tojson,
 * raise_exception and strftime_now). docs/TOKENIZER.md lists the subset.
 *
 * Pipeline: jinja_lex() (source -> tokens, whitespace control applied) ->
 * jinja_parse() (tokens -> AST) -> jinja_exec() (AST -> text). Everything
 * of one render lives in one arena (jinja.ar) freed at the end: values are
 * immutable once built (namespaces and scopes excepted), so no reference
 * counting is needed and an error anywhere leaks nothing.
 *
 * Errors: every fallible function returns HXQ_OK or a negative HXQ_ERR_*
 * and writes "line N: ..." into the render's hxq_error:
 *   HXQ_ERR_FORMAT       syntax errors, and runtime errors jinja2 raises too
 *                        (undefined attribute of an undefined value, type
 *                        errors, division by zero ...);
 *   HXQ_ERR_UNSUPPORTED  a Jinja construct outside the subset (named);
 *   HXQ_ERR_INVALID      the template called raise_exception();
 *   HXQ_ERR_RANGE        a limit below was reached;
 *   HXQ_ERR_NOMEM        allocation failed. */
#ifndef HXQ_JINJA_INT_H
#define HXQ_JINJA_INT_H

#include "hxq_tokenizer.h"

#include <stddef.h>
#include <stdint.h>

/* ---- limits: the template and its variables are untrusted input -------- */
/* (the fuzz build lowers JINJA_MAX_STEPS / JINJA_MAX_MEMORY to run faster) */
#define JINJA_MAX_NEST 100                     /* nesting of tags/expressions in the source */
#define JINJA_MAX_DEPTH 400                    /* evaluator recursion, macro calls included;
                                                  nesting of printed / compared values */
#ifndef JINJA_MAX_STEPS
#define JINJA_MAX_STEPS 20000000LL             /* nodes evaluated + bytes handled / 64 */
#endif
#define JINJA_MAX_OUTPUT ((size_t)64 << 20)    /* bytes of any rendered text */
#ifndef JINJA_MAX_MEMORY
#define JINJA_MAX_MEMORY ((size_t)512 << 20)   /* arena bytes of one render */
#endif
#define JINJA_MAX_RANGE 100000                 /* range() length, as jinja2's sandbox */

/* ---- arena ----------------------------------------------------------------- */
typedef struct jinja_block jinja_block;
typedef struct jinja_arena {
    jinja_block *head;
    size_t total; /* bytes obtained from malloc */
} jinja_arena;

/* ---- values -------------------------------------------------------------- */
typedef enum {
    JV_UNDEF,  /* jinja2's Undefined: prints "", falsy, fails on most uses */
    JV_NONE,
    JV_BOOL,
    JV_INT,    /* int64 (Python ints beyond it are an error)               */
    JV_FLOAT,
    JV_STR,    /* valid UTF-8, s/n                                          */
    JV_LIST,   /* list, tuple, range, generator or dict view: see jl_kind   */
    JV_DICT,   /* insertion-ordered                                         */
    JV_NS,     /* namespace(): a dict of attributes that {% set ns.x %} changes */
    JV_LOOP,   /* the loop variable of a for                                */
    JV_MACRO,
    JV_FUNC,   /* a global function: range, dict, namespace, raise_exception,
                  strftime_now (id: jinja_func)                            */
    JV_METHOD, /* a bound method: u.self + id (jinja_method)                */
    JV_MISSING /* internal: an argument not given                           */
} jv_type;

typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jloop jloop;
typedef struct jmacro jmacro;

typedef struct jv {
    uint8_t t;
    uint16_t id;     /* JV_FUNC / JV_METHOD: which; JV_UNDEF: jv_type of the
                        object that lacked the attribute (0: a missing name) */
    size_t n;        /* JV_STR: length in bytes; JV_UNDEF: name length       */
    union {
        int64_t i;   /* JV_BOOL, JV_INT          */
        double f;
        const char *s; /* JV_STR; JV_UNDEF: the missing name (for messages) */
        jlist *l;
        jdict *d;    /* JV_DICT, JV_NS           */
        jloop *loop;
        const jmacro *m;
        const struct jv *self; /* JV_METHOD: the receiver */
    } u;
} jv;

/* What a JV_LIST is: they share the storage, not the behaviour. */
typedef enum {
    JL_LIST, JL_TUPLE,
    JL_RANGE,      /* range(): printed as range(a, b[, s])              */
    JL_GEN,        /* a generator (map, select, ...): always truthy, no
                      len(), no indexing, consumed by iteration          */
    JL_ITEMS, JL_KEYS, JL_VALUES /* dict views of .items() ...           */
} jl_kind;

struct jlist {
    jv *v;
    size_t n, cap;
    uint8_t kind;   /* jl_kind */
    size_t pos;     /* JL_GEN: items already consumed */
    int64_t r_start, r_stop, r_step; /* JL_RANGE */
};

struct jdict {
    jv *k, *v;
    size_t n, cap;
};

struct jloop {
    jlist *items;
    size_t index0;
};

/* ---- tokens ------------------------------------------------------------------ */
typedef enum {
    JT_EOF, JT_DATA, JT_VAR_BEGIN, JT_VAR_END, JT_BLOCK_BEGIN, JT_BLOCK_END,
    JT_NAME, JT_STRING, JT_INT, JT_FLOAT, JT_OP
} jtok_kind;

typedef enum {
    JOP_ADD, JOP_SUB, JOP_DIV, JOP_FLOORDIV, JOP_MUL, JOP_MOD, JOP_POW, JOP_TILDE,
    JOP_LBRACKET, JOP_RBRACKET, JOP_LPAREN, JOP_RPAREN, JOP_LBRACE, JOP_RBRACE,
    JOP_EQ, JOP_NE, JOP_GT, JOP_GE, JOP_LT, JOP_LE, JOP_ASSIGN, JOP_DOT, JOP_COLON,
    JOP_PIPE, JOP_COMMA, JOP_SEMICOLON,
    JOP_COUNT
} jop;

typedef struct jtok {
    uint8_t kind;  /* jtok_kind */
    uint8_t op;    /* JT_OP: jop */
    int line;
    const char *s; /* JT_DATA, JT_NAME, JT_STRING (unescaped) */
    size_t n;
    int64_t i;     /* JT_INT */
    double f;      /* JT_FLOAT */
} jtok;

/* ---- syntax tree ---------------------------------------------------------------- */
typedef enum {
    /* expressions */
    JN_CONST, JN_NAME, JN_GETATTR, JN_GETITEM, JN_SLICE, JN_CALL, JN_KWARG, JN_FILTER,
    JN_TEST, JN_LIST, JN_TUPLE, JN_DICT, JN_NEG, JN_POS, JN_NOT, JN_BINOP, JN_AND, JN_OR,
    JN_COMPARE, JN_CMPOP, JN_CONCAT, JN_COND, JN_NSREF,
    /* statements */
    JN_OUTPUT, JN_DATA, JN_FOR, JN_IF, JN_SET, JN_SET_BLOCK, JN_MACRO, JN_WITH,
    JN_FILTER_BLOCK, JN_SCOPE, JN_BREAK, JN_CONTINUE
} jnode_kind;

/* Compare operators of JN_CMPOP (op). */
enum { JC_EQ, JC_NE, JC_LT, JC_LE, JC_GT, JC_GE, JC_IN, JC_NOTIN };

/* JN_MACRO flags (op). */
enum { JM_VARARGS = 1, JM_KWARGS = 2 };

typedef struct jnode jnode;
struct jnode {
    uint8_t kind; /* jnode_kind */
    uint8_t op;   /* JN_BINOP: jop; JN_CMPOP: JC_*; JN_MACRO: JM_* */
    int16_t fid;  /* JN_FILTER / JN_TEST: index in the filter / test table, -1 unknown */
    int line;
    const char *s; /* names (JN_NAME, JN_GETATTR attribute, JN_KWARG, JN_FILTER,
                      JN_TEST, JN_MACRO, JN_NSREF namespace), JN_DATA text */
    size_t n;
    jv v;          /* JN_CONST value; JN_NSREF: the attribute name as a string */
    jnode *a, *b, *c;
    jnode **kids;  /* arguments, items, statement bodies */
    int nkids;
    jnode **kids2; /* keyword arguments, else bodies, macro parameters */
    int nkids2;
};
/* Children by kind:
 *   JN_GETATTR a.s     JN_GETITEM a[b]     JN_SLICE [a:b:c] (any may be NULL)
 *   JN_CALL a(kids..., kids2=KWARG...)     JN_KWARG s=a
 *   JN_FILTER a|s(kids, kids2)  (a NULL in filter blocks)   JN_TEST a is s(kids, kids2)
 *   JN_LIST/JN_TUPLE kids      JN_DICT kids = key, value, key, value ...
 *   JN_NEG/JN_POS/JN_NOT a     JN_BINOP a op b     JN_AND/JN_OR a b
 *   JN_COMPARE a then kids=CMPOP(op, a)      JN_CONCAT kids      JN_COND b if a else c
 *   JN_OUTPUT kids (JN_DATA or expressions)
 *   JN_FOR for a in b [if c]: kids, else kids2     JN_IF if a: kids else kids2
 *   JN_SET a = b       JN_SET_BLOCK a = b-filters(kids)
 *   JN_MACRO s(kids2 = NAME params, their a = default): kids
 *   JN_WITH kids2 = SET nodes; kids    JN_FILTER_BLOCK b-filters(kids)
 *   JN_SCOPE kids (transformers' {% generation %}: the body in its own scope) */

/* ---- interpreter state ---------------------------------------------------------- */
typedef struct jscope jscope;
struct jscope {
    jscope *parent;
    jdict vars;
    int captured; /* a macro closes over it: a loop may not reuse it */
};

struct jmacro {
    const jnode *def;
    jscope *closure;
};

/* A growing byte buffer in the arena. */
typedef struct jbuf {
    char *p;
    size_t n, cap;
} jbuf;

typedef struct jinja {
    jinja_arena ar;
    hxq_error *err;
    int line;           /* line of the node being evaluated */
    int64_t steps;
    int depth;
    int64_t now;        /* strftime_now(): fixed time (UTC) when has_now */
    int has_now;
    jscope *globals;    /* the render variables */
    jbuf *out;          /* where output goes (a macro call captures its own) */
} jinja;

/* ---- jinja_mem.c: arena, buffers, errors ---------------------------------------- */
void *jinja_alloc(jinja *J, size_t n);          /* 16-byte aligned; NULL on failure */
void jinja_arena_free(jinja_arena *a);
/* The status for a failed jinja_alloc (NOMEM, or RANGE past JINJA_MAX_MEMORY). */
int jinja_oom(jinja *J);
/* Formats "line N: ..." into J->err and returns code. */
int jinja_fail(jinja *J, int code, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Charges work (1 per node, 1 per 64 bytes handled); fails past the limit. */
int jinja_step(jinja *J, size_t bytes);
int jbuf_put(jinja *J, jbuf *b, const char *s, size_t n);
int jbuf_putc(jinja *J, jbuf *b, char c);
int jbuf_printf(jinja *J, jbuf *b, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The buffer's bytes as a string value (no copy: the buffer is done). */
jv jbuf_str(const jbuf *b);

/* ---- jinja_lex.c ------------------------------------------------------------------- */
/* Tokenizes src (any bytes; must be UTF-8) as jinja2's lexer does with
 * trim_blocks and lstrip_blocks: newlines normalized to \n, one trailing
 * newline dropped, comments removed, raw blocks as data. */
int jinja_lex(jinja *J, const char *src, size_t n, jtok **toks, size_t *ntoks);

/* ---- jinja_parse.c ----------------------------------------------------------------- */
/* Parses tokens into a JN_SCOPE node holding the template body. */
int jinja_parse(jinja *J, const jtok *toks, size_t ntoks, jnode **root);

/* ---- jinja_eval.c ------------------------------------------------------------------- */
/* Renders root with the variables of J->globals into J->out. */
int jinja_exec(jinja *J, const jnode *root);
int jinja_eval(jinja *J, const jnode *e, jscope *sc, jv *out);
jscope *jinja_scope_new(jinja *J, jscope *parent);
/* Sets name in scope (replacing). */
int jinja_scope_set(jinja *J, jscope *sc, const char *name, size_t n, jv v);
/* Calls a callable value with positional and keyword arguments. */
typedef struct jargs {
    const jv *pos;
    int npos;
    const jv *kwnames; /* JV_STR names */
    const jv *kw;
    int nkw;
} jargs;
int jinja_call(jinja *J, jv fn, const jargs *a, jv *out);

/* ---- jinja_value.c ------------------------------------------------------------------- */
static inline jv jv_undef(void) { jv v = {0}; v.t = JV_UNDEF; return v; }
static inline jv jv_none(void) { jv v = {0}; v.t = JV_NONE; return v; }
static inline jv jv_bool(int b) { jv v = {0}; v.t = JV_BOOL; v.u.i = b != 0; return v; }
static inline jv jv_int(int64_t i) { jv v = {0}; v.t = JV_INT; v.u.i = i; return v; }
static inline jv jv_float(double f) { jv v = {0}; v.t = JV_FLOAT; v.u.f = f; return v; }
static inline jv jv_str(const char *s, size_t n) { jv v = {0}; v.t = JV_STR; v.u.s = s; v.n = n; return v; }
/* jv.id of a JV_STR that is a markupsafe.Markup (made by |safe and |escape):
 * printed by repr as Markup('...'), `is escaped`, not escaped again, and
 * `+` escapes the other operand. */
#define JV_MARKUP 1
static inline jv jv_markup(jv s) { s.id = JV_MARKUP; return s; }
static inline jv jv_keep_markup(jv s, jv from) { s.id = from.id; return s; }
static inline jv jv_missing(void) { jv v = {0}; v.t = JV_MISSING; return v; }
static inline int jv_is_num(jv v) { return v.t == JV_BOOL || v.t == JV_INT || v.t == JV_FLOAT; }
static inline int jv_is_seq(jv v) { return v.t == JV_LIST; }

#define JV_UNDEF_ELEMENT 0x100 /* jv.id flag of an Undefined: a missing element (the name
                                  is the key's repr), not an attribute */
/* An Undefined that names what was missing: attribute/item name of an
 * object of type owner, or a variable (owner 0). */
jv jv_undef_named(const char *s, size_t n, int owner);
/* Fails with jinja2's UndefinedError message for u. */
int jinja_undefined_error(jinja *J, jv u);
/* A copy of s in the arena. */
int jv_str_dup(jinja *J, const char *s, size_t n, jv *out);

jlist *jlist_new(jinja *J, size_t cap, int kind);
int jlist_push(jinja *J, jlist *l, jv v);
jv jv_list(jlist *l);
jdict *jdict_new(jinja *J);
/* Looks key up; returns the value's slot or NULL. */
jv *jdict_get(jdict *d, jv key);
jv *jdict_get_str(const jdict *d, const char *s, size_t n);
/* Sets key (replacing, keeping the first position). Keys must be hashable
 * (jinja_hashable). */
int jdict_set(jinja *J, jdict *d, jv key, jv val);
jv jv_dict(jdict *d);
int jinja_hashable(jinja *J, jv key); /* fails with Python's TypeError */
int jv_hashable(jv key);               /* 1 or 0 */

int jv_truthy(jv v);
/* Python ==, and < (fails on unordered types). */
int jv_equal(jinja *J, jv a, jv b, int *eq);
int jv_less(jinja *J, jv a, jv b, int *lt);
/* Python str(v) appended to b (Undefined: nothing). */
int jv_write_str(jinja *J, jbuf *b, jv v);
/* Python repr(v) appended to b. */
int jv_write_repr(jinja *J, jbuf *b, jv v);
/* str(v) as a value (strings as they are). */
int jv_to_str(jinja *J, jv v, jv *out);
/* Python's type name ("str", "int", "dict", "NoneType" ...). */
const char *jv_type_name(jv v);
/* Python float repr ("1.0", "1e-05", "inf") into buf (>= 32 bytes). */
size_t jinja_format_float(double f, char *buf);

/* Stable sort: order[] receives the indices of keys[0..n) in ascending
 * Python order (fails on unorderable keys). */
int jinja_sort_order(jinja *J, const jv *keys, size_t n, size_t *order);

/* Iteration: the items of an iterable value (list items, dict keys, string
 * characters, nothing for Undefined), a generator consumed. */
int jinja_iterate(jinja *J, jv v, jlist **items);
/* Python len(); fails on values without one. */
int jinja_len(jinja *J, jv v, int64_t *len);

/* ---- jinja_ops.c: operators and subscripts ------------------------------------------- */
int jinja_binop(jinja *J, int op, jv a, jv b, jv *out);
int jinja_compare(jinja *J, int op, jv a, jv b, int *res);
int jinja_contains(jinja *J, jv container, jv item, int *res);
int jinja_getattr(jinja *J, jv obj, const char *name, size_t n, jv *out);
int jinja_getitem(jinja *J, jv obj, jv key, jv *out);
int jinja_slice(jinja *J, jv obj, jv start, jv stop, jv step, jv *out);

/* ---- jinja_json.c ---------------------------------------------------------------------- */
/* Python json.loads(text) into values (ints stay ints). */
int jinja_json_parse(jinja *J, const char *text, size_t n, jv *out);
typedef struct jjson_opts {
    int ensure_ascii;
    int sort_keys;
    jv indent;          /* JV_NONE, JV_INT or JV_STR */
    jv item_sep, key_sep; /* JV_STR, or JV_NONE for the defaults */
} jjson_opts;
/* Python json.dumps(v, ...) appended to b. */
int jinja_json_dump(jinja *J, jbuf *b, jv v, const jjson_opts *o);

/* ---- jinja_str.c: Python string operations on UTF-8 ---------------------------------- */
/* The code point at s[*i] (valid UTF-8), advancing *i. */
uint32_t jinja_utf8_next(const char *s, size_t n, size_t *i);
size_t jinja_utf8_put(uint32_t cp, char *out); /* 1..4 bytes */
int jinja_py_isspace(uint32_t cp);
int64_t jinja_cp_count(const char *s, size_t n);
/* Byte offset of the code point with index i (0..count) in s. */
size_t jinja_cp_offset(const char *s, size_t n, int64_t i);
/* str.strip / lstrip / rstrip: which = 1 left, 2 right, 3 both; chars
 * JV_NONE (whitespace) or JV_STR. */
int jinja_str_strip(jinja *J, jv s, jv chars, int which, jv *out);
int jinja_str_split(jinja *J, jv s, jv sep, jv maxsplit, int from_right, jv *out);
int jinja_str_replace(jinja *J, jv s, jv old, jv new_, int64_t count, jv *out);
/* upper = 1, lower = 0 (utf8proc simple case mappings). */
int jinja_str_case(jinja *J, jv s, int upper, jv *out);
int jinja_str_capitalize(jinja *J, jv s, jv *out);
/* method 1: str.title(); 0: jinja2's title filter. */
int jinja_str_title(jinja *J, jv s, int method, jv *out);
/* str.splitlines() (no keepends) as a list. */
int jinja_str_splitlines(jinja *J, jv s, jlist **out);
/* str.find (from_right: rfind): code point index or -1. */
int64_t jinja_str_find(jv s, jv sub, int from_right);
int64_t jinja_str_count(jv s, jv sub);
/* str.islower() / isupper() / isdigit ...: kind is one of "lower", "upper",
 * "digit", "alpha", "alnum", "space". */
int jinja_str_is(jv s, const char *kind);
/* Python repr of a string appended to b. */
int jinja_str_repr(jinja *J, jbuf *b, const char *s, size_t n);

/* ---- jinja_filters.c: filters and tests ------------------------------------------------ */
/* Index of a filter / test by name, or -1 when jinja2 has none. */
int jinja_filter_find(const char *name, size_t n);
/* markupsafe.escape() of a string: & < > " ' as entities, a Markup. */
int jinja_html_escape(jinja *J, jv s, jv *out);
int jinja_test_find(const char *name, size_t n);
int jinja_filter_apply(jinja *J, int fid, jv value, const jargs *a, jv *out);
int jinja_test_apply(jinja *J, int tid, jv value, const jargs *a, int *res);
/* Applies a filter by name (map('upper'), ...) */
int jinja_filter_by_name(jinja *J, jv name, jv value, const jargs *a, jv *out);
/* Applies a test by name (select('equalto', ...)) */
int jinja_test_by_name(jinja *J, jv name, jv value, const jargs *a, int *res);

/* ---- jinja_call.c: arguments, global functions, methods ------------------------------- */
/* Binds a to the parameters names[0..n) of what (a filter or function,
 * for messages), jv_missing() where not given; fails on extra or unknown
 * arguments. */
int jinja_bind(jinja *J, const jargs *a, const char *const *names, int n, jv *out,
               const char *what);
/* The global function or method named, or -1. */
int jinja_func_find(const char *name, size_t n);
int jinja_func_call(jinja *J, int id, const jargs *a, jv *out);
/* The method `name` of obj as a JV_METHOD (1), or 0 when obj has none. */
int jinja_method_find(jinja *J, jv obj, const char *name, size_t n, jv *out);
int jinja_method_call(jinja *J, jv m, const jargs *a, jv *out);

#endif
