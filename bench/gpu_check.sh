#!/usr/bin/env bash
# The one-call GPU check, for a machine with a CUDA device (an H100/H200
# lent to a session): build with CUDA (or use a prebuilt $BUILD, see
# below), run the CUDA tests with a GPU required (make test-cuda: kernels vs
# CPU references, tiny-olmoe dense and HXQ logits vs the CPU engine, one
# full-width synthetic HXQ layer vs the CPU engine, greedy
# tokens vs the goldens), `hxq run` on both devices, then the decode
# benchmark (bench/gpu.sh). All output goes to $OUT/gpu_check.log (or
# $BUILD/gpu_check.log); a summary is printed last. A few minutes.
# Exit status: 0 when every step passed.
#
#   bash bench/gpu_check.sh                       # machine that can build hxq
#   BUILD=build/gpu bash bench/gpu_check.sh       # after bench/gpu_bundle.sh
#
# The lent GPU machines have nvcc but not the C libraries hxq links (cJSON,
# zstd, xxhash, OpenSSL, OpenBLAS, utf8proc, PCRE2, Check) and no network:
# there, run bench/gpu_bundle.sh on the CPU machine first and carry build/gpu;
# this script then uses those binaries with LD_LIBRARY_PATH=$BUILD/gpu-libs.
set -u
cd "$(dirname "$0")/.."
if [ -n "${MAKELEVEL:-}" ]; then
    echo "gpu_check.sh: skipped under make (run bash bench/gpu_check.sh on a GPU machine)"
    exit 0
fi
BUILD=${BUILD:-build}
export BUILD
LOG=${OUT:-$BUILD}/gpu_check.log
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
    summary+=("$(printf '%-16s rc=%-3s %4ss' "$name" "$rc" $((SECONDS - t0)))")
    [ "$rc" -eq 0 ] || fail=1
}

{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
        --format=csv 2>&1 || echo "nvidia-smi: not available"
    NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
    [ -x "$NVCC" ] && "$NVCC" --version | tail -n 2
} 2>&1 | tee -a "$LOG"

if pkg-config --exists libcjson libzstd libxxhash libcrypto openblas libutf8proc libpcre2-8 \
    check 2>/dev/null; then
    step build make CUDA=1 BUILD="$BUILD" -j16 all "$BUILD/bench/bench_gpu"
    step test-cuda make CUDA=1 BUILD="$BUILD" -j16 test-cuda
else
    echo "build libraries missing: using the prebuilt $BUILD (bench/gpu_bundle.sh)" |
        tee -a "$LOG"
    export LD_LIBRARY_PATH="$BUILD/gpu-libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    step prebuilt test -x "$BUILD/hxq" -a -x "$BUILD/bench/bench_gpu" \
        -a -x "$BUILD/test/cuda/test_cuda_kernels" -a -x "$BUILD/test/cuda/test_cuda_model" \
        -a -x "$BUILD/test/cuda/test_cuda_fullwidth"
    step test-cuda env HXQ_REQUIRE_GPU=1 HXQ_BIN="$BUILD/hxq" bash test/run_tests.sh \
        "$BUILD/test/cuda/test_cuda_kernels" "$BUILD/test/cuda/test_cuda_model" \
        "$BUILD/test/cuda/test_cuda_fullwidth"
fi
step run-cuda "$BUILD/hxq" run models/tiny-olmoe-helix --prompt "ROMEO:" -n 32 --device cuda
step run-cpu "$BUILD/hxq" run models/tiny-olmoe-helix --prompt "ROMEO:" -n 32 --device cpu
step bench-gpu bash bench/gpu.sh

echo "== summary (log: $LOG)" | tee -a "$LOG"
for s in "${summary[@]}"; do echo "$s"; done | tee -a "$LOG"
grep -E "^(device|copy bandwidth|weight bytes|decode|bandwidth bound|figure)" "$LOG" | tail -n 7
grep -A 14 "^per-op breakdown" "$LOG" | tail -n 15
exit $fail
