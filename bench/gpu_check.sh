#!/usr/bin/env bash
# The one-call GPU check, for a machine with a CUDA device (an H100/H200
# lent to a session): build with CUDA, run the CUDA tests with a GPU
# required (make test-cuda: kernels vs CPU references, tiny-olmoe dense and
# HXQ logits vs the CPU engine, greedy tokens vs the goldens), an end-to-end
# `hxq run --device cuda`, then the decode benchmark (bench/gpu.sh). All
# output goes to $OUT/gpu_check.log (or build/gpu_check.log); a summary is
# printed last. Takes a few minutes. Exit status: 0 when every step passed.
#
#   bash bench/gpu_check.sh
set -u
cd "$(dirname "$0")/.."
if [ -n "${MAKELEVEL:-}" ]; then
    echo "gpu_check.sh: skipped under make (run bash bench/gpu_check.sh on a GPU machine)"
    exit 0
fi
LOG=${OUT:-build}/gpu_check.log
mkdir -p "$(dirname "$LOG")"
: >"$LOG"
summary=()
fail=0

step() { # step NAME COMMAND...
    local name=$1
    shift
    echo "== $name: $*" | tee -a "$LOG"
    local t0=$SECONDS
    "$@" 2>&1 | tee -a "$LOG" | tail -n 40
    local rc=${PIPESTATUS[0]}
    summary+=("$(printf '%-22s rc=%-3s %4ss' "$name" "$rc" $((SECONDS - t0)))")
    [ "$rc" -eq 0 ] || fail=1
}

{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
        --format=csv 2>&1 || echo "nvidia-smi: not available"
    command -v nvcc >/dev/null && nvcc --version | tail -n 2
    [ -x /usr/local/cuda/bin/nvcc ] && /usr/local/cuda/bin/nvcc --version | tail -n 2
} 2>&1 | tee -a "$LOG"

step build make CUDA=1 -j16 all build/bench/bench_gpu
step test-cuda make CUDA=1 -j16 test-cuda
if build/hxq run --help >/dev/null 2>&1; then
    step run-cuda-helix build/hxq run models/tiny-olmoe-helix --prompt "ROMEO:" -n 32 \
        --device cuda
    step run-cpu-helix build/hxq run models/tiny-olmoe-helix --prompt "ROMEO:" -n 32 \
        --device cpu
fi
step bench-gpu bash bench/gpu.sh

echo "== summary (log: $LOG)" | tee -a "$LOG"
for s in "${summary[@]}"; do echo "$s"; done | tee -a "$LOG"
grep -E "^(device|copy bandwidth|weight bytes|decode|bandwidth bound|figure)" "$LOG" | tail -n 6
exit $fail
