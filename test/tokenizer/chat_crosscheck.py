#!/usr/bin/python3
"""chat_crosscheck.py - differential test of hxq's chat-template interpreter
against jinja2 (manual; needs python3-jinja2 and a built build/hxq; run from the
repository root):

    /usr/bin/python3 test/tokenizer/chat_crosscheck.py [N] [SEED]

Generates N random templates (default 500) from the supported subset (tags with
random whitespace control and layout, expressions over strings, numbers, lists,
dicts and messages, filters, tests, methods, loops, namespaces, macros), renders
each with jinja2 in transformers' environment (make_chat_goldens.py's) and with
`hxq chat-template --template`, and reports every case where they disagree: a
different text, or one failing where the other does not. Exit status 1 when any
disagree."""
import copy
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import make_chat_goldens as goldens  # noqa: E402

HXQ = os.environ.get("HXQ", "build/hxq")
VARS = {
    "messages": [{"role": "system", "content": " Be brief.\n"},
                 {"role": "user", "content": "Hi \u00e9 {{ x }}"},
                 {"role": "assistant", "content": "<think>\nr\n</think>\n\nok", "n": 2},
                 {"role": "user", "content": "\u00df \U0001F600  "}],
    "s": "  Hello, World \u00a0", "t": "a,b,,c", "n": 7, "f": 2.5, "z": 0, "e": "",
    "l": [3, 1, 2], "w": ["b", "A", "c"], "d": {"b": 1, "a": [1, 2], "c": None},
    "nested": {"k": {"v": "deep"}}, "flag": True, "off": False, "nil": None,
    "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": True,
    "tools": None, "documents": None,
}

STRS = ["'a'", "'x y'", "\"q\\\"\"", "'\\n'", "'\u00e9'", "''", "'-'", "'<|im_start|>'"]
ATOMS = ["s", "t", "n", "f", "z", "e", "l", "w", "d", "flag", "off", "nil", "missing",
         "messages", "messages[0]", "messages[-1].content", "messages[1]['role']",
         "nested.k.v", "d.a", "d['b']", "bos_token", "1", "0", "-3", "2.0", "1e3", "true",
         "none", "[1, 2]", "{'k': 'v'}", "(1, 'two')", "range(4)"] + STRS
FILTERS = ["trim", "length", "upper", "lower", "first", "last", "string", "list", "tojson",
           "tojson(indent=2)", "join(', ')", "join", "default('D')", "default('D', true)",
           "replace('a', 'b')", "reverse|list", "sort", "unique|list", "items|list", "capitalize",
           "title", "int", "float", "abs", "round", "count", "escape", "safe",
           "select('odd')|list", "reject('none')|list", "map('string')|list",
           "map(attribute='role')|list", "selectattr('role', 'equalto', 'user')|list",
           "rejectattr('role', 'in', ['system'])|list", "sum", "min", "max",
           "dictsort", "indent(2)", "e"]
TESTS = ["defined", "undefined", "none", "string", "number", "integer", "float", "mapping",
         "iterable", "sequence", "boolean", "true", "false", "odd", "even", "lower", "upper",
         "callable", "divisibleby 2", "in [1, 'a']", "eq 1", "gt 2", "ne 'x'"]
METHODS = ["strip()", "strip('H ')", "lstrip()", "rstrip()", "split()", "split(',')",
           "split(',', 1)", "rsplit(',', 1)", "upper()", "lower()", "startswith('He')",
           "endswith(('a', 'c'))", "replace('l', 'L')", "find('o')", "count('l')",
           "capitalize()", "title()", "splitlines()", "isdigit()"]
DICT_METHODS = ["items()|list", "keys()|list", "values()|list", "get('a')", "get('zz', 'dflt')",
                "get('role')"]
BINOPS = ["+", "-", "*", "/", "//", "~", "~", "==", "!=", "<", ">=", "in", "not in", "and",
          "or", "**"]


def expr(r, depth=0):
    k = r.random()
    if depth > 2 or k < 0.3:
        return r.choice(ATOMS) if r.random() < 0.9 else "(n %% %d)" % r.randint(1, 4)
    if k < 0.45:
        return "(%s)|%s" % (expr(r, depth + 1), r.choice(FILTERS))
    if k < 0.55:
        return "((%s) is %s%s)" % (expr(r, depth + 1), r.choice(["", "not "]), r.choice(TESTS))
    if k < 0.6:
        return "%s.%s" % (r.choice(["s", "t", "messages[1].content", "'a-b'", "e"]),
                          r.choice(METHODS))
    if k < 0.65:
        return "%s.%s" % (r.choice(["d", "messages[0]", "nested.k", "{}"]), r.choice(DICT_METHODS))
    if k < 0.8:
        return "(%s %s %s)" % (expr(r, depth + 1), r.choice(BINOPS), expr(r, depth + 1))
    if k < 0.86:
        return "(%s if %s else %s)" % (expr(r, depth + 1), expr(r, depth + 1),
                                       expr(r, depth + 1))
    if k < 0.92:
        return "(not %s)" % expr(r, depth + 1)
    if k < 0.96:
        lo, hi = r.choice(["", "1", "-1", "-2"]), r.choice(["", "2", "-1", "5"])
        return "%s[%s:%s%s]" % (r.choice(["s", "l", "messages", "w", "'h\u00e9llo'"]), lo, hi,
                                r.choice(["", ":-1", ":2"]))
    return "[%s, %s]" % (expr(r, depth + 1), expr(r, depth + 1))


def ws(r):
    return r.choice(["", "", " ", "\n", "  \n", "\n    ", "\t", "\n\n", " x ", "\u00a0"])


def tag(r, body, block=True):
    o, c = ("{%", "%}") if block else ("{{", "}}")
    lc = r.choice(["", "", "-", "+"] if block else ["", "", "-"])
    rc = r.choice(["", "", "-", "+"] if block else ["", "", "-"])
    return "%s%s %s %s%s" % (o, lc, body, rc, c)


def stmts(r, depth=0, loop=False):
    out = []
    for _ in range(r.randint(1, 3)):
        k = r.random()
        out.append(ws(r))
        if k < 0.35 or depth > 2:
            out.append(tag(r, expr(r), block=False))
        elif k < 0.5:
            out.append(tag(r, "if %s" % expr(r)) + stmts(r, depth + 1, loop) +
                       (tag(r, "elif %s" % expr(r)) + stmts(r, depth + 1, loop)
                        if r.random() < 0.3 else "") +
                       (tag(r, "else") + stmts(r, depth + 1, loop) if r.random() < 0.5 else "") +
                       tag(r, "endif"))
        elif k < 0.65:
            target, it = r.choice([("m", "messages"), ("x", "l"), ("c", "'ab'"), ("k", "d"),
                                   ("k, v", "d.items()"), ("m", "messages[::-1]"),
                                   ("i", "range(3)")])
            cond = " if %s" % expr(r) if r.random() < 0.2 else ""
            out.append(tag(r, "for %s in %s%s" % (target, it, cond)) +
                       r.choice(["{{ loop.index }}", "{{ loop.first }}{{ loop.last }}",
                                 "{{ loop.revindex0 }}", ""]) + stmts(r, depth + 1, True) +
                       (tag(r, "else") + "E" if r.random() < 0.2 else "") + tag(r, "endfor"))
        elif k < 0.72:
            out.append(tag(r, "set v%d = %s" % (r.randint(0, 2), expr(r))) +
                       tag(r, "v%d" % r.randint(0, 2), block=False))
        elif k < 0.8:
            out.append(tag(r, "set ns = namespace(a=%s)" % expr(r)) +
                       tag(r, "set ns.a = %s" % expr(r)) + tag(r, "ns.a", block=False))
        elif k < 0.86:
            out.append(tag(r, "macro mc(a, b='B')") + tag(r, "a ~ b", block=False) +
                       stmts(r, depth + 1) + tag(r, "endmacro") +
                       tag(r, "mc(%s)" % expr(r), block=False))
        elif k < 0.9 and loop:
            out.append(tag(r, r.choice(["break", "continue"])))
        elif k < 0.95:
            out.append("{#%s comment %s#}" % (r.choice(["", "-", "+"]), r.choice(["", "-", "+"])))
        else:
            out.append(tag(r, "filter upper") + stmts(r, depth + 1) + tag(r, "endfilter"))
    out.append(ws(r))
    return "".join(out)


def hxq_render(path, vars_json):
    p = subprocess.run([HXQ, "chat-template", "--template", path, "--vars", vars_json,
                        "--now", str(goldens.NOW), "--no-generation-prompt"],
                       capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    r = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    vars_json = json.dumps(dict(VARS, add_generation_prompt=False))
    bad = both_fail = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.jinja")
        for i in range(n):
            src = stmts(r)
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(src)
            # a fresh copy each time: jinja2's indent filter extends a list given to it
            want = goldens.render(src, copy.deepcopy(dict(VARS, add_generation_prompt=False)))
            rc, out, err = hxq_render(path, vars_json)
            if "error" in want and rc != 0:
                both_fail += 1
                continue
            if "error" not in want and rc == 0 and out == want["expected"]:
                continue
            bad += 1
            print("=== case %d\n--- template\n%s\n--- jinja2: %s\n--- hxq (exit %d): %s" % (
                i, src, json.dumps(want, ensure_ascii=False)[:600], rc,
                (out if rc == 0 else err)[:600]))
    print("%d templates: %d agree (%d of them errors in both), %d disagree" % (
        n, n - bad, both_fail, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
