#!/usr/bin/env bash
# bench/engine.sh - CPU engine speed on a 4-layer full-width synthetic OLMoE
# (OLMoE-1B-7B widths: hidden 2048, 64 experts of 1024, top-8, vocab 50304)
# and a full-size synthetic Llama (TinyLlama-1.1B widths: hidden 2048, 22
# layers, 32 heads with 4 kv heads, intermediate 5632, vocab 32000), each in
# HXQ and dense BF16, plus tiny-olmoe.
#
# For each model: prompt tokens/s (256 tokens), decode tokens/s (greedy),
# and the machine's memory read bandwidth measured in the same run. The
# figure of merit is (weight bytes read per decoded token x decode tok/s)
# / bandwidth: 100% means decoding runs at the memory bandwidth. "cpu use"
# is CPU seconds per wall second in the prompt / decode phases: below
# THREADS, other processes shared the cores during the run; "per cpu-s"
# gives prompt / decode tokens per CPU second of this process.
#
# Environment: HXQ (build/hxq), BUILD (build), THREADS (2), BENCH_DIR (a
# temporary folder, removed at the end unless given), DECODE (32), LLAMA (1).
set -euo pipefail
HXQ=${HXQ:-build/hxq}
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
DECODE=${DECODE:-32}
if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hxq-bench.XXXXXX")
    trap 'rm -rf "$BENCH_DIR"' EXIT
fi
make -s "$HXQ" "$BUILD/bench/bench_engine" "$BUILD/bench/bench_bandwidth"

# Models: `hxq synth` (BF16, heavy-tailed weights; speed does
# not depend on the values) and its `hxq compress`. LLAMA=0 skips the Llama
# (2.2 GB BF16 + 1.3 GB HXQ).
LLAMA=${LLAMA:-1}
mkdir -p "$BENCH_DIR"
[ -f "$BENCH_DIR/dense/config.json" ] ||
    "$HXQ" synth "$BENCH_DIR/dense" --layers 4 --threads "$THREADS" >/dev/null
[ -f "$BENCH_DIR/hxq/config.json" ] ||
    "$HXQ" compress "$BENCH_DIR/dense" "$BENCH_DIR/hxq" --threads "$THREADS" >/dev/null
if [ "$LLAMA" = 1 ]; then
    [ -f "$BENCH_DIR/llama/config.json" ] ||
        "$HXQ" synth "$BENCH_DIR/llama" --arch llama --hidden 2048 --layers 22 --heads 32 \
            --kv-heads 4 --intermediate 5632 --vocab 32000 --threads "$THREADS" >/dev/null
    [ -f "$BENCH_DIR/llama-hxq/config.json" ] ||
        "$HXQ" compress "$BENCH_DIR/llama" "$BENCH_DIR/llama-hxq" --threads "$THREADS" >/dev/null
fi

bw=$("$BUILD/bench/bench_bandwidth" "$THREADS" 1024 | awk '{print $2}')
echo "threads $THREADS, memory read bandwidth $bw GB/s"
printf '%-12s %10s %10s %12s %10s %8s %9s %13s\n' model prompt/s decode/s "MB/token" "GB/s" "of bw" \
    "cpu use" "per cpu-s p/d"
row() {
    local name=$1 dir=$2 out
    out=$("$BUILD/bench/bench_engine" "$dir" "$THREADS" 256 "$DECODE")
    # prompt_tok_s P decode_tok_s D active_bytes B prompt_cpu C decode_cpu C
    awk -v n="$name" -v bw="$bw" '{ p=$2; d=$4; b=$6;
        printf "%-12s %10.1f %10.2f %12.1f %10.2f %7.0f%% %4.1f/%3.1f %7.1f/%-6.2f\n", n, p, d,
               b/1e6, b*d/1e9, 100*b*d/1e9/bw, $8, $10, p/$8, d/$10 }' <<<"$out"
}
row hxq "$BENCH_DIR/hxq"
row dense-bf16 "$BENCH_DIR/dense"
if [ "$LLAMA" = 1 ]; then
    row llama-hxq "$BENCH_DIR/llama-hxq"
    row llama-bf16 "$BENCH_DIR/llama"
fi
row tiny-olmoe models/tiny-olmoe
