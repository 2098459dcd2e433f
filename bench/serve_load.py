#!/usr/bin/env python3
"""serve_load.py - load for `hxq serve` (bench/serve.sh): CLIENTS threads
each send REQUESTS completions (not streamed, greedy, max_tokens TOKENS,
a different prompt each) one after the other on a keep-alive connection.
Prints one line: requests, wall seconds, requests/s, completion tokens,
aggregate completion tokens/s, median and 90th-percentile latency.

    serve_load.py PORT CLIENTS REQUESTS TOKENS
"""
import http.client
import json
import sys
import threading
import time

PROMPTS = ["ROMEO:", "JULIET:", "First Citizen:", "KING HENRY:", "To be, or not",
           "Once upon a time", "MENENIUS:", "What light", "Second Citizen:", "HAMLET:",
           "O, that", "Now is the winter", "Friends, Romans", "LADY MACBETH:"]


def client(port, k, n, tokens, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    for i in range(n):
        body = json.dumps({"prompt": PROMPTS[(k * n + i) % len(PROMPTS)], "max_tokens": tokens,
                           "temperature": 0})
        t0 = time.time()
        conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = json.loads(r.read())
        if r.status != 200:
            raise SystemExit("HTTP %d: %s" % (r.status, data))
        out.append((time.time() - t0, data["usage"]["completion_tokens"]))
    conn.close()


def main():
    port, clients, requests, tokens = (int(a) for a in sys.argv[1:5])
    out = []
    threads = [threading.Thread(target=client, args=(port, k, requests, tokens, out))
               for k in range(clients)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    lat = sorted(l for l, _ in out)
    gen = sum(n for _, n in out)
    print("requests %d wall %.2f req_s %.2f tokens %d tok_s %.1f p50 %.3f p90 %.3f"
          % (len(out), wall, len(out) / wall, gen, gen / wall, lat[len(lat) // 2],
             lat[int(len(lat) * 0.9)]))


if __name__ == "__main__":
    main()
