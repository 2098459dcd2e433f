#!/usr/bin/env python3
"""client_test.py - drives a running `hxq serve` as an OpenAI client would.

Called by test/serve/test_serve.c with the server's port, API key, log file
and the hxq binary; each CASE argument runs one group of checks and the
exit status is 0 only when all of them pass. Python's standard library
only (urllib / http.client / socket), loopback only.

    client_test.py --port P --key K --log FILE --hxq BIN --model DIR CASE...
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ARGS = None
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what, flush=True)
    return cond


# ---- HTTP helpers -------------------------------------------------------------

def request(method, path, body=None, key=None, headers=None, raw=None):
    """One request; returns (status, headers, parsed JSON or text)."""
    url = "http://127.0.0.1:%d%s" % (ARGS.port, path)
    h = {"Content-Type": "application/json"}
    if key is None:
        key = ARGS.key
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, hdrs, text = r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, dict(e.headers), e.read().decode()
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def post(path, body, **kw):
    return request("POST", path, body, **kw)


def stream(path, body):
    """A streamed request; returns (status, content type, [event data strings])."""
    conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=60)
    conn.request("POST", path, json.dumps(body),
                 {"Content-Type": "application/json", "Authorization": "Bearer " + ARGS.key})
    r = conn.getresponse()
    raw = r.read().decode()
    conn.close()
    events = []
    for block in raw.split("\n\n"):
        if not block:
            continue
        lines = block.split("\n")
        check(len(lines) == 1 and lines[0].startswith("data: "),
              "an event is one 'data: ' line: %r" % block[:200])
        events.append(lines[0][6:])
    check(raw.endswith("\n\n"), "the stream ends with a blank line")
    return r.status, r.getheader("Content-Type"), events


def stream_text(events, chat):
    """Concatenated text, finish_reason and usage of a parsed stream."""
    text, finish, usage = "", None, None
    check(events and events[-1] == "[DONE]", "the stream ends with data: [DONE]")
    for i, e in enumerate(events[:-1]):
        d = json.loads(e)
        if "usage" in d and not d["choices"]:
            usage = d["usage"]
            continue
        c = d["choices"][0]
        check(d["object"] == ("chat.completion.chunk" if chat else "text_completion"),
              "chunk object %r" % d["object"])
        if chat:
            if i == 0:
                check(c["delta"].get("role") == "assistant", "the first chunk gives the role")
            text += c["delta"].get("content", "")
        else:
            text += c["text"]
        if c["finish_reason"]:
            check(finish is None, "one finish_reason")
            finish = c["finish_reason"]
    return text, finish, usage


def hxq_run(args):
    out = subprocess.run([ARGS.hxq, "run", ARGS.model, "--json", "--threads", "1"] + args,
                         capture_output=True, text=True, timeout=120)
    check(out.returncode == 0, "hxq run %s: %s" % (args, out.stderr[-300:]))
    return json.loads(out.stdout)


def is_openai_error(body, status, param=None, code=None, words=None):
    ok = check(isinstance(body, dict) and isinstance(body.get("error"), dict),
               "%d: an OpenAI error object, got %r" % (status, body))
    if not ok:
        return
    e = body["error"]
    check(isinstance(e.get("message"), str) and e["message"], "%d: error.message" % status)
    check(isinstance(e.get("type"), str), "%d: error.type" % status)
    check("param" in e and "code" in e, "%d: error.param and error.code present" % status)
    if param is not None:
        check(e["param"] == param, "%d: param %r, want %r (%s)" % (status, e["param"], param,
                                                                   e["message"]))
    if code is not None:
        check(e["code"] == code, "%d: code %r, want %r" % (status, e["code"], code))
    if words:
        check(words in e["message"], "%d: message %r names %r" % (status, e["message"], words))


def health():
    return request("GET", "/health", key="")[2]


# ---- cases ------------------------------------------------------------------------

def case_models():
    st, _, h = request("GET", "/health", key="")
    check(st == 200 and h["status"] == "ok" and h["slots"] == ARGS.parallel, "health %r" % h)
    st, _, m = request("GET", "/v1/models")
    check(st == 200 and m["object"] == "list" and m["data"][0]["id"] == "tiny-olmoe"
          and m["data"][0]["object"] == "model", "models %r" % m)
    st, _, m = request("GET", "/v1/models/tiny-olmoe")
    check(st == 200 and m["id"] == "tiny-olmoe", "model %r" % m)
    st, _, m = request("GET", "/v1/models/gpt-4")
    check(st == 404, "unknown model: %d" % st)
    is_openai_error(m, st, code="model_not_found")


def case_chat():
    want = hxq_run(["--chat", "What is 2+2?", "--system", "Be brief.", "-n", "24"])
    body = {"model": "tiny-olmoe", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+2?"}], "max_tokens": 24, "temperature": 0}
    st, hdrs, r = post("/v1/chat/completions", body)
    check(st == 200 and hdrs.get("Content-Type") == "application/json", "chat status %d" % st)
    check(r["object"] == "chat.completion" and r["id"].startswith("chatcmpl-"), "chat object")
    c = r["choices"][0]
    check(c["message"]["role"] == "assistant", "assistant role")
    check(c["message"]["content"] == want["text"],
          "chat text equals hxq run: %r vs %r" % (c["message"]["content"], want["text"]))
    check(c["finish_reason"] == ("stop" if want["stopped_at_eos"] else "length"), "finish")
    u = r["usage"]
    check(u["prompt_tokens"] == len(want["prompt_ids"]), "prompt_tokens %r" % u)
    check(u["completion_tokens"] == len(want["generated_ids"]), "completion_tokens %r" % u)
    check(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], "total_tokens")
    # content as OpenAI's array of text parts, "developer" for "system"
    body["messages"] = [{"role": "developer", "content": [{"type": "text", "text": "Be "},
                                                          {"type": "text", "text": "brief."}]},
                        {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]
    st, _, r2 = post("/v1/chat/completions", body)
    check(st == 200 and r2["choices"][0]["message"]["content"] == want["text"],
          "content parts give the same answer")


def case_completion():
    want = hxq_run(["--prompt", "ROMEO:\nBut, soft! what light", "-n", "32"])
    st, _, r = post("/v1/completions", {"prompt": "ROMEO:\nBut, soft! what light",
                                        "max_tokens": 32, "temperature": 0})
    check(st == 200 and r["object"] == "text_completion" and r["id"].startswith("cmpl-"),
          "completion %d" % st)
    check(r["choices"][0]["text"] == want["text"], "completion text equals hxq run: %r vs %r"
          % (r["choices"][0]["text"], want["text"]))
    check(r["usage"]["prompt_tokens"] == len(want["prompt_ids"]), "prompt tokens")
    check(r["choices"][0]["finish_reason"] == "length", "finish length")
    # the same prompt as token ids
    st, _, r2 = post("/v1/completions", {"prompt": want["prompt_ids"], "max_tokens": 32,
                                         "temperature": 0})
    check(st == 200 and r2["choices"][0]["text"] == want["text"], "prompt as ids")
    # sampling is reproducible with a seed
    body = {"prompt": "ROMEO:", "max_tokens": 24, "temperature": 0.9, "top_k": 40,
            "top_p": 0.95, "seed": 1234}
    a = post("/v1/completions", body)[2]["choices"][0]["text"]
    b = post("/v1/completions", body)[2]["choices"][0]["text"]
    run = hxq_run(["--prompt", "ROMEO:", "-n", "24", "--temp", "0.9", "--top-k", "40",
                   "--top-p", "0.95", "--seed", "1234"])
    check(a == b == run["text"], "seeded sampling equals hxq run: %r %r %r" % (a, b, run["text"]))


def case_stream():
    chat = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 20,
            "temperature": 0}
    whole = post("/v1/chat/completions", chat)[2]
    st, ctype, ev = stream("/v1/chat/completions", dict(chat, stream=True))
    check(st == 200 and ctype.startswith("text/event-stream"), "stream status %d %r" % (st, ctype))
    text, finish, usage = stream_text(ev, True)
    check(text == whole["choices"][0]["message"]["content"],
          "streamed chat equals the plain answer: %r" % text)
    check(finish == "length" and usage is None, "stream finish %r, no usage" % finish)
    check(len(ev) > 10, "one event per token or so (%d events)" % len(ev))
    st, _, ev = stream("/v1/chat/completions",
                       dict(chat, stream=True, stream_options={"include_usage": True}))
    text, finish, usage = stream_text(ev, True)
    check(usage == whole["usage"], "include_usage: %r vs %r" % (usage, whole["usage"]))
    comp = {"prompt": "First Citizen:", "max_tokens": 16, "temperature": 0}
    whole = post("/v1/completions", comp)[2]
    st, _, ev = stream("/v1/completions", dict(comp, stream=True))
    text, finish, _ = stream_text(ev, False)
    check(text == whole["choices"][0]["text"], "streamed completion equals the plain answer")


def completion(body, streamed):
    """Text and finish_reason of a completion, streamed or not."""
    if streamed:
        text, finish, _ = stream_text(stream("/v1/completions", dict(body, stream=True))[2], False)
        return text, finish
    c = post("/v1/completions", body)[2]["choices"][0]
    return c["text"], c["finish_reason"]


def case_stop():
    base = {"prompt": "First Citizen:", "max_tokens": 48, "temperature": 0}
    full = post("/v1/completions", base)[2]["choices"][0]["text"]
    check(len(full) > 40, "a long enough text: %r" % full)
    stop = full[17:22]                     # spans several tokens, somewhere in the middle
    want = full[:full.find(stop)]
    for streamed in (False, True):
        text, finish = completion(dict(base, stop=[stop, "\u00e9\u00e9\u00e9"]), streamed)
        check(text == want, "stop %r (stream %d): %r, want %r" % (stop, streamed, text, want))
        check(finish == "stop", "stop string: finish_reason %r" % finish)
    # a stop string whose beginning appears but which never completes: the
    # held-back text comes out at the end, nothing lost
    never = full[17:20] + "\u00e9QQ"
    for streamed in (False, True):
        text, finish = completion(dict(base, stop=never), streamed)
        check(text == full and finish == "length", "unmatched stop (stream %d): %r" %
              (streamed, text))


def case_concurrent():
    prompts = ["ROMEO:", "JULIET:", "First Citizen:", "KING HENRY:", "To be, or not",
               "Once upon a time", "MENENIUS:", "What light", "Second Citizen:", "HAMLET:",
               "O, that", "Now is the winter", "Friends, Romans", "LADY MACBETH:",
               "The quality of mercy", "All the world"]
    bodies = []
    for i, p in enumerate(prompts):
        n = 12 + 3 * i                     # different lengths: slots free at different steps
        if i % 2:
            bodies.append(("/v1/chat/completions", {
                "messages": [{"role": "user", "content": p}], "max_tokens": n,
                "temperature": 0, "stream": i % 4 == 1}))
        else:
            samp = {"temperature": 0.8, "seed": i} if i % 4 == 2 else {"temperature": 0}
            bodies.append(("/v1/completions", dict({"prompt": p, "max_tokens": n,
                                                    "stream": i % 8 == 0}, **samp)))

    def answer(path, body):
        if body.get("stream"):
            return stream_text(stream(path, body)[2], "chat" in path)[0]
        r = post(path, body)[2]
        c = r["choices"][0]
        return c["message"]["content"] if "chat" in path else c["text"]

    alone = [answer(p, b) for p, b in bodies]
    got = [None] * len(bodies)
    busy = []

    def worker(i):
        got[i] = answer(*bodies[i])

    def watch():
        while any(g is None for g in got):
            busy.append(health())
            time.sleep(0.005)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    w = threading.Thread(target=watch)
    t0 = time.time()
    for t in threads:
        t.start()
    w.start()
    for t in threads:
        t.join()
    w.join()
    for i in range(len(bodies)):
        check(got[i] == alone[i], "request %d under load equals its single answer: %r vs %r"
              % (i, got[i], alone[i]))
    check(all(h["slots_busy"] <= ARGS.parallel for h in busy), "never more busy slots than "
          "--parallel")
    print("concurrent: 16 requests in %.2f s, busy slots seen up to %d, queue up to %d"
          % (time.time() - t0, max(h["slots_busy"] for h in busy),
             max(h["queued"] for h in busy)), flush=True)


def case_errors():
    chat = "/v1/chat/completions"
    msgs = [{"role": "user", "content": "hi"}]
    # authentication
    for key, hdr in (("", {}), ("wrong", {}), (ARGS.key + "x", {}), (ARGS.key[:-1], {}),
                     ("", {"Authorization": "Basic " + ARGS.key})):
        st, hd, b = post(chat, {"messages": msgs}, key=key, headers=hdr)
        check(st == 401, "no or wrong key: %d" % st)
        check(hd.get("WWW-Authenticate") == "Bearer", "401 names the scheme")
        is_openai_error(b, st, code="invalid_api_key")
    # size: announced and chunked
    big = json.dumps({"messages": [{"role": "user", "content": "x" * (1024 * 1024)}]}).encode()
    st, _, b = post(chat, None, raw=big)
    check(st == 413, "an announced large body: %d" % st)
    is_openai_error(b, st, code="request_too_large")
    conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=30)
    conn.putrequest("POST", chat)
    for k, v in (("Content-Type", "application/json"), ("Authorization", "Bearer " + ARGS.key),
                 ("Transfer-Encoding", "chunked")):
        conn.putheader(k, v)
    conn.endheaders()
    try:
        for off in range(0, len(big), 65536):
            part = big[off:off + 65536]
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        conn.send(b"0\r\n\r\n")
        r = conn.getresponse()
        st, b = r.status, json.loads(r.read())
    except (ConnectionError, http.client.HTTPException) as e:
        st, b = 0, str(e)
    conn.close()
    check(st == 413, "a chunked large body: %r" % st)
    is_openai_error(b, st, code="request_too_large")
    # bodies that are not JSON, or JSON of the wrong shape: 400 naming the field
    bad = [
        (b"{\"messages\": [", None, "not valid JSON"),
        (b"{\"messages\": []} trailing", None, "not valid JSON"),
        (b"[1, 2]", None, "JSON object"),
        ({}, "messages", "required"),
        ({"messages": "hi"}, "messages", "non-empty array"),
        ({"messages": [{"role": "user"}]}, "messages[0].content", "string"),
        ({"messages": [{"role": 7, "content": "x"}]}, "messages[0].role", "string"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role", "not supported"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
         "messages[0].content[0].type", "image_url"),
        ({"messages": msgs, "max_tokens": "10"}, "max_tokens", "integer"),
        ({"messages": msgs, "max_tokens": 0}, "max_tokens", "between"),
        ({"messages": msgs, "temperature": -1}, "temperature", "between"),
        ({"messages": msgs, "top_p": "high"}, "top_p", "number"),
        ({"messages": msgs, "top_k": 1.5}, "top_k", "integer"),
        ({"messages": msgs, "stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4"),
        ({"messages": msgs, "stop": 3}, "stop", "string"),
        ({"messages": msgs, "stream": "yes"}, "stream", "boolean"),
        ({"messages": msgs, "n": 2}, "n", "one choice"),
        ({"messages": msgs, "presence_penalty": 0.5}, "presence_penalty", "not supported"),
        ({"messages": msgs, "tools": [{"type": "function"}]}, "tools", "not supported"),
        ({"messages": msgs, "model": 3}, "model", "string"),
    ]
    for body, param, words in bad:
        raw = body if isinstance(body, bytes) else None
        st, _, b = post(chat, None if raw else body, raw=raw)
        check(st == 400, "bad body %r: %d" % (body, st))
        is_openai_error(b, st, param=param, words=words)
    st, _, b = post(chat, None, raw=b'{"messages": [{"role": "user", "content": "\xff"}]}')
    check(st == 400, "invalid UTF-8: %d" % st)
    is_openai_error(b, st, param="messages[0].content", words="UTF-8")
    for body, param in (({"prompt": ["a", "b"]}, "prompt"), ({"prompt": [1, -2]}, "prompt[1]"),
                        ({"prompt": [1, 99999]}, "prompt[1]"), ({"max_tokens": 3}, "prompt")):
        st, _, b = post("/v1/completions", body)
        check(st == 400, "bad completion %r: %d" % (body, st))
        is_openai_error(b, st, param=param)
    # a prompt longer than the context (1024 tokens)
    st, _, b = post("/v1/completions", {"prompt": "ab " * 1100})
    check(st == 400, "prompt longer than the context: %d" % st)
    is_openai_error(b, st, param="prompt", code="context_length_exceeded")
    # max_tokens beyond the context is capped, not refused
    st, _, b = post("/v1/completions", {"prompt": "ab " * 500, "max_tokens": 100000,
                                        "temperature": 0})
    check(st == 200 and b["usage"]["prompt_tokens"] + b["usage"]["completion_tokens"] == 1024,
          "max_tokens capped by the context: %r" % (b.get("usage") if st == 200 else b))
    # routes, methods, media type
    st, _, b = request("GET", "/v1/nothing")
    check(st == 404, "unknown URL: %d" % st)
    is_openai_error(b, st, code="unknown_url")
    st, hd, b = request("GET", chat)
    check(st == 405 and hd.get("Allow") == "POST", "GET on chat: %d" % st)
    is_openai_error(b, st)
    st, _, b = post(chat, None, raw=b'{"messages": []}', headers={"Content-Type": "text/plain"})
    check(st == 415, "text/plain: %d" % st)
    is_openai_error(b, st)
    # the server still answers
    st, _, b = post(chat, {"messages": msgs, "max_tokens": 3})
    check(st == 200, "alive after the bad requests: %d" % st)


def wait_idle(seconds):
    until = time.time() + seconds
    while time.time() < until:
        h = health()
        if h["slots_busy"] == 0 and h["queued"] == 0:
            return True
        time.sleep(0.01)
    return False


def log_lines():
    with open(ARGS.log, errors="replace") as f:
        return f.read().splitlines()


def case_disconnect():
    # a client streaming a long reply is killed after its first events
    body = {"prompt": "Once upon a time", "max_tokens": 1000, "temperature": 0, "stream": True,
            "user": "killed-client"}
    code = ("import http.client, json, sys\n"
            "c = http.client.HTTPConnection('127.0.0.1', %d)\n"
            "c.request('POST', '/v1/completions', %r, {'Content-Type': 'application/json', "
            "'Authorization': 'Bearer %s'})\n"
            "r = c.getresponse()\n"
            "r.fp.readline(); r.fp.readline(); r.fp.readline()\n"
            "print('streaming', flush=True)\n"
            "sys.stdin.read()\n") % (ARGS.port, json.dumps(body), ARGS.key)
    before = len(log_lines())
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    check(child.stdout.readline().strip() == "streaming", "the client got its first events")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    t0 = time.time()
    check(wait_idle(5), "the killed client's slot frees")
    freed = time.time() - t0
    # a new request is answered promptly
    t1 = time.time()
    st, _, b = post("/v1/completions", {"prompt": "ROMEO:", "max_tokens": 8})
    check(st == 200, "a request after the kill: %d" % st)
    print("disconnect: slot free %.3f s after the kill, next request %.3f s"
          % (freed, time.time() - t1), flush=True)
    # a plain (not streamed) request whose client goes away while it waits
    s = socket.create_connection(("127.0.0.1", ARGS.port))
    payload = json.dumps({"prompt": "Once upon a time", "max_tokens": 1000,
                          "temperature": 0}).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + ARGS.key.encode() + b"\r\nContent-Length: "
              + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    until = time.time() + 10                 # leave once it is generating
    while health()["slots_busy"] == 0 and time.time() < until:
        time.sleep(0.002)
    s.close()
    check(wait_idle(5), "a plain request's slot frees when its client leaves")
    time.sleep(0.2)
    gone = [l for l in log_lines()[before:] if "client gone" in l]
    check(len(gone) == 2, "two 'client gone' log lines: %r" % gone)
    for l in gone:
        m = re.search(r" (\d+)\+(\d+) tokens", l)
        check(m and int(m.group(2)) < 1000 - 10, "stopped early, not run to the end: %r" % l)


def case_timeout():
    t = ARGS.timeout
    # an idle connection: nothing sent at all
    s = socket.create_connection(("127.0.0.1", ARGS.port))
    s.settimeout(t + 5)
    t0 = time.time()
    check(s.recv(1) == b"", "an idle connection is closed")
    idle = time.time() - t0
    check(t - 0.5 <= idle <= t + 3, "idle close after %.2f s (timeout %d s)" % (idle, t))
    s.close()
    # slow loris: headers trickling in, one byte at a time, never silent for long
    s = socket.create_connection(("127.0.0.1", ARGS.port))
    s.settimeout(0.5)
    t0 = time.time()
    head = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 1000
    closed = False
    for ch in head:
        try:
            s.send(bytes([ch]))
            time.sleep(0.1)
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                closed = True
                break
        except (BlockingIOError, socket.timeout):
            continue
        except OSError:
            closed = True
            break
        if time.time() - t0 > t + 6:
            break
    slow = time.time() - t0
    check(closed and slow <= t + 3, "a slow-loris client is cut after %.2f s (timeout %d s)"
          % (slow, t))
    s.close()
    # keep-alive: several requests on one connection, then idle: closed
    conn = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=30)
    for i in range(3):
        conn.request("POST", "/v1/completions", json.dumps({"prompt": "ROMEO:", "max_tokens": 4}),
                     {"Content-Type": "application/json", "Authorization": "Bearer " + ARGS.key})
        r = conn.getresponse()
        check(r.status == 200, "keep-alive request %d: %d" % (i, r.status))
        r.read()
    conn.sock.settimeout(t + 5)
    check(conn.sock.recv(1) == b"", "an idle keep-alive connection is closed")
    conn.close()
    print("timeout: idle %.2f s, slow loris %.2f s" % (idle, slow), flush=True)


def case_notemplate():
    """A model without a chat template: chat is a 400, completions work."""
    import shutil
    import tempfile
    tmp = tempfile.mkdtemp(prefix="hxq-test-serve-")
    try:
        model = os.path.join(tmp, "plain")
        shutil.copytree(ARGS.model, model)
        cfg = os.path.join(model, "tokenizer_config.json")
        with open(cfg) as f:
            d = json.load(f)
        d.pop("chat_template", None)
        with open(cfg, "w") as f:
            json.dump(d, f)
        log = open(os.path.join(tmp, "log"), "w+")
        srv = subprocess.Popen([ARGS.hxq, "serve", model, "--port", "0", "--threads", "1"],
                               stderr=log)
        port = None
        for _ in range(600):
            log.seek(0)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        saved = (ARGS.port, ARGS.key)
        ARGS.port, ARGS.key = port, ""
        try:
            st, _, b = post("/v1/chat/completions", {"messages": [{"role": "user",
                                                                   "content": "hi"}]})
            check(st == 400, "chat without a template: %d" % st)
            is_openai_error(b, st, param="messages", words="no chat template")
            check(tmp not in json.dumps(b), "the error does not name server paths")
            st, _, b = post("/v1/completions", {"prompt": "hi", "max_tokens": 3})
            check(st == 200 and b["model"] == "plain", "completions without a template")
        finally:
            ARGS.port, ARGS.key = saved
            srv.send_signal(signal.SIGTERM)
            check(srv.wait(timeout=60) == 0, "the second server exits 0")
    finally:
        shutil.rmtree(tmp)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def case_memory():
    body = {"messages": [{"role": "user", "content": "Hello there " * 20}], "max_tokens": 16,
            "temperature": 0.7, "stop": ["zz"]}
    for _ in range(40):
        post("/v1/chat/completions", body)
        stream("/v1/completions", {"prompt": "ROMEO:", "max_tokens": 8, "stream": True})
    r0 = rss_kib(ARGS.pid)
    for _ in range(200):
        post("/v1/chat/completions", body)
        stream("/v1/completions", {"prompt": "ROMEO:", "max_tokens": 8, "stream": True})
    r1 = rss_kib(ARGS.pid)
    print("memory: RSS %d KiB after 80 requests, %d KiB after 400 more" % (r0, r1), flush=True)
    check(r1 - r0 < 1024, "no memory growth across requests: %d -> %d KiB" % (r0, r1))


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", default="")
    p.add_argument("--log", required=True)
    p.add_argument("--hxq", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--timeout", type=int, default=2)
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("cases", nargs="+", choices=sorted(CASES))
    ARGS = p.parse_args()
    for c in ARGS.cases:
        CASES[c]()
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
