#!/usr/bin/env bash
# Tokenizer benchmark: load time of real tokenizer.json files and
# single-core encode throughput on Tiny Shakespeare (whole corpus, 1.1 MB),
# with same-run baselines (JSON parse alone, the GPT-2 regex split alone):
# OLMoE and the tiny model's (committed), then Llama-2/Mistral, Llama-3 and
# Qwen3 (test/fixtures/npm, from `make test-fixtures-npm`), whose targets
# are a load under 150 ms and an encode above 25 MB/s on one core.
set -euo pipefail
BUILD=${BUILD:-build}
REPS=${REPS:-5}
prog=$BUILD/bench/bench_tokenizer
text=test/fixtures/tinyshakespeare.txt
[ -x "$prog" ] || make -s "$prog"
"$prog" test/fixtures/olmoe/allenai_gpt-neox-olmo-dolma-v1_5.json "$text" "$REPS"
"$prog" models/tiny-olmoe/tokenizer.json "$text" "$REPS"
for f in llama2 llama3 qwen3; do
    file=test/fixtures/npm/$f/tokenizer.json
    if [ ! -f "$file" ]; then
        echo "tokenizer.sh: $file is missing: run \`make test-fixtures-npm\`" >&2
        exit 1
    fi
    "$prog" "$file" "$text" "$REPS" 150 25
done
