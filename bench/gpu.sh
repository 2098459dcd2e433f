#!/usr/bin/env bash
# GPU decode benchmark (needs a CUDA device; skips cleanly without one):
# batch-1 decode tok/s of the CUDA backend on a full-width synthetic OLMoE
# HXQ model (16 layers, hidden 2048, 64 experts top-8, inter 1024, vocab
# 50304) synthesised on the device, with the device-to-device copy bandwidth
# measured in the same run as the baseline. The figure is weight bytes read
# per token x tok/s / copy bandwidth (target >= 40%).
# Extra arguments go to build/bench/bench_gpu (e.g. --layers 4 --tokens 64).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
if [ ! -x "$BUILD/bench/bench_gpu" ]; then
    make -s "$BUILD/bench/bench_gpu"
fi
"$BUILD/bench/bench_gpu" "$@"
