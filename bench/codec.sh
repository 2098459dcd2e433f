#!/usr/bin/env bash
# Codec encode speed (single thread, CPU time) and quality:
#  1. one 2048x1024 heavy-tailed BF16 matrix, split by stage;
#  2. every compressed matrix of the bundled tiny-olmoe, with SNR against
#     the reference compressor's own output (models/tiny-olmoe-helix).
# Times are ratios to a memory-bound floor measured in the same run (one
# pass reading the matrix and writing indices through a fixed LUT).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s -j2 "$BUILD/bench/bench_codec"
"$BUILD/bench/bench_codec" 2048 1024 5
"$BUILD/bench/bench_codec" --fixture models/tiny-olmoe models/tiny-olmoe-helix
