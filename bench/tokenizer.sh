#!/usr/bin/env bash
# Tokenizer benchmark: load time of the real OLMoE tokenizer.json and
# single-core encode throughput on Tiny Shakespeare (whole corpus, 1.1 MB),
# with same-run baselines (JSON parse alone, regex split alone).
set -euo pipefail
BUILD=${BUILD:-build}
prog=$BUILD/bench/bench_tokenizer
[ -x "$prog" ] || make -s "$prog"
"$prog" test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json test/fixtures/tinyshakespeare.txt "${REPS:-5}"
"$prog" models/tiny-olmoe/tokenizer.json test/fixtures/tinyshakespeare.txt "${REPS:-5}"
