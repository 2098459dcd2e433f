#!/usr/bin/env bash
# bench/engine.sh - CPU engine speed on a 4-layer full-width synthetic OLMoE
# (OLMoE-1B-7B widths: hidden 2048, 64 experts of 1024, top-8, vocab 50304)
# in HXQ and dense BF16, plus tiny-olmoe.
#
# For each model: prompt tokens/s (256 tokens), decode tokens/s (greedy),
# and the machine's memory read bandwidth measured in the same run. The
# figure of merit is (weight bytes read per decoded token x decode tok/s)
# / bandwidth: 1.0 means decoding runs at the memory bandwidth.
#
# Environment: HXQ (build/hxq), BUILD (build), THREADS (2), BENCH_DIR (a
# temporary folder, removed at the end unless given), DECODE (32).
set -euo pipefail
HXQ=${HXQ:-build/hxq}
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
DECODE=${DECODE:-32}
if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hxq-bench.XXXXXX")
    trap 'rm -rf "$BENCH_DIR"' EXIT
fi
make -s "$HXQ" "$BUILD/bench/bench_engine" "$BUILD/bench/bench_bandwidth" "$BUILD/bench/bench_synth"

# Models: dense from the pipeline's generator, HXQ written directly (see
# bench/bench_synth.c for why).
mkdir -p "$BENCH_DIR"
[ -f "$BENCH_DIR/dense/config.json" ] ||
    "$HXQ" synth "$BENCH_DIR/dense" --layers 4 --threads "$THREADS" >/dev/null
[ -f "$BENCH_DIR/hxq/config.json" ] || {
    mkdir -p "$BENCH_DIR/hxq" && "$BUILD/bench/bench_synth" "$BENCH_DIR/hxq" 4
}

bw=$("$BUILD/bench/bench_bandwidth" "$THREADS" 1024 | awk '{print $2}')
echo "threads $THREADS, memory read bandwidth $bw GB/s"
printf '%-12s %10s %10s %12s %10s %8s\n' model prompt/s decode/s "MB/token" "GB/s" "of bw"
row() {
    local name=$1 dir=$2 out
    out=$("$BUILD/bench/bench_engine" "$dir" "$THREADS" 256 "$DECODE")
    # prompt_tok_s P decode_tok_s D active_bytes B
    awk -v n="$name" -v bw="$bw" '{ p=$2; d=$4; b=$6;
        printf "%-12s %10.1f %10.2f %12.1f %10.2f %7.0f%%\n", n, p, d, b/1e6, b*d/1e9, 100*b*d/1e9/bw }' <<<"$out"
}
row hxq "$BENCH_DIR/hxq"
row dense-bf16 "$BENCH_DIR/dense"
row tiny-olmoe models/tiny-olmoe
