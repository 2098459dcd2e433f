#!/usr/bin/env bash
# bench/serve.sh - `hxq serve` under load: requests/s and aggregate
# completion tokens/s at --parallel 1, 4 and 8 (bench/serve_load.py: 2 x
# PARALLEL clients, so the queue never runs dry; greedy completions of
# TOKENS tokens), on tiny-olmoe and, with FULL=1, on the 4-layer
# full-width synthetic OLMoE (`hxq synth --layers 4`, 3.77 GB) dense and
# compressed (`hxq compress`, 2.09 GB), both deleted at the end. "cpu use" is the server's CPU seconds per wall second (below
# THREADS: other processes had part of the machine), "tok/cpu-s" its
# completion tokens per CPU second, which that sharing does not change.
#
# Environment: HXQ (build/hxq), THREADS (2), TOKENS (64), REQUESTS (per
# client; 8, FULL: 2), FULL (0), BENCH_DIR (a temporary folder).
set -euo pipefail
HXQ=${HXQ:-build/hxq}
THREADS=${THREADS:-2}
TOKENS=${TOKENS:-64}
FULL=${FULL:-0}
PYTHON=${PYTHON:-/usr/bin/python3}
if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hxq-bench-serve.XXXXXX")
    trap 'rm -rf "$BENCH_DIR"' EXIT
fi
make -s "$HXQ"
mkdir -p "$BENCH_DIR"

cpu_s() { # user + system seconds of a process
    awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat"
}

bench() { # name model parallel requests-per-client
    local name=$1 model=$2 par=$3 reqs=$4 log="$BENCH_DIR/serve-$1-$3.log" pid port c0 out
    rm -f "$log"
    "$HXQ" serve "$model" --port 0 --parallel "$par" --threads "$THREADS" --ctx 1024 \
        2> "$log" & pid=$!
    for _ in $(seq 600); do
        port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log" 2>/dev/null || true)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
        sleep 0.1
    done
    # one request first: page in the weights
    "$PYTHON" bench/serve_load.py "$port" 1 1 8 > /dev/null
    c0=$(cpu_s "$pid")
    out=$("$PYTHON" bench/serve_load.py "$port" $((2 * par)) "$reqs" "$TOKENS")
    local cpu
    cpu=$(awk -v a="$c0" -v b="$(cpu_s "$pid")" 'BEGIN { print b - a }')
    kill -TERM "$pid"; wait "$pid"
    # fields: requests N wall W req_s R tokens T tok_s S p50 A p90 B
    awk -v n="$name" -v p="$par" -v cpu="$cpu" '{
        printf "%-12s %8d %8d %9.2f %10.1f %9.3f %9.3f %8.2f %10.1f\n", n, p, $2, $6, $10, $12,
               $14, cpu / $4, $8 / cpu }' <<<"$out"
}

echo "threads $THREADS, $TOKENS tokens per request, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %8s %8s %9s %10s %9s %9s %8s %10s\n' model parallel requests "req/s" "tok/s" \
    "p50 s" "p90 s" "cpu use" "tok/cpu-s"
for p in 1 4 8; do bench tiny-olmoe models/tiny-olmoe "$p" "${REQUESTS:-8}"; done
if [ "$FULL" = 1 ]; then
    [ -f "$BENCH_DIR/full/config.json" ] ||
        "$HXQ" synth "$BENCH_DIR/full" --layers 4 --threads "$THREADS" > /dev/null
    [ -f "$BENCH_DIR/full-hxq/config.json" ] ||
        "$HXQ" compress "$BENCH_DIR/full" "$BENCH_DIR/full-hxq" --threads "$THREADS" > /dev/null
    for p in 1 4 8; do bench 4-layer-bf16 "$BENCH_DIR/full" "$p" "${REQUESTS:-2}"; done
    for p in 1 4 8; do bench 4-layer-hxq "$BENCH_DIR/full-hxq" "$p" "${REQUESTS:-2}"; done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
