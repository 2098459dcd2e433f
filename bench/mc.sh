#!/usr/bin/env bash
# bench/mc.sh - multiple-choice scoring (hxq eval --task) on a 4-layer
# full-width synthetic OLMoE in HXQ (OLMoE-1B-7B widths, the OLMoE
# tokenizer) and on tiny-olmoe: the time of a HellaSwag-shaped row (48-word
# context, 4 endings of 17-26 words) scored by hxq_mc_score against one
# forward pass over its context and longest ending, and against the 4
# full forwards a harness without a shared cache runs, measured row by row
# in the same run (build/bench/bench_mc). Target: score / one <= 1.5.
#
# Environment: HXQ (build/hxq), BUILD (build), THREADS (2), ROWS (8),
# BENCH_DIR (a temporary folder, removed at the end unless given).
set -euo pipefail
HXQ=${HXQ:-build/hxq}
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
ROWS=${ROWS:-8}
if [ -z "${BENCH_DIR:-}" ]; then
    BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hxq-bench.XXXXXX")
    trap 'rm -rf "$BENCH_DIR"' EXIT
fi
make -s "$HXQ" "$BUILD/bench/bench_mc"
mkdir -p "$BENCH_DIR"
[ -f "$BENCH_DIR/dense/config.json" ] ||
    "$HXQ" synth "$BENCH_DIR/dense" --layers 4 --threads "$THREADS" >/dev/null
[ -f "$BENCH_DIR/hxq/config.json" ] ||
    "$HXQ" compress "$BENCH_DIR/dense" "$BENCH_DIR/hxq" --threads "$THREADS" >/dev/null
rm -rf "$BENCH_DIR/dense"    # only the HXQ folder is measured
TEXT=test/fixtures/tinyshakespeare.txt
echo "== 4-layer full-width HXQ, threads $THREADS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench/bench_mc" "$BENCH_DIR/hxq" "$THREADS" "$ROWS" "$TEXT"
echo "== tiny-olmoe-helix, threads $THREADS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench/bench_mc" models/tiny-olmoe-helix "$THREADS" 64 "$TEXT"
