#!/usr/bin/env bash
# Prepares a GPU check on a machine that cannot build hxq itself (the lent
# GPU machines have nvcc but not the C libraries hxq links, and no network):
# builds, on this machine, everything bench/gpu_check.sh runs with CUDA=1
# and without debug info into $BUILD (default build/gpu, under the ignored
# build/), and copies the shared libraries those programs need beyond the
# C/C++ runtime into $BUILD/gpu-libs. Then carry $BUILD to the GPU machine
# and run there:  BUILD=build/gpu bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/gpu}
case "$BUILD" in
build/?*) ;;
*) echo "gpu_bundle.sh: BUILD must be a folder under build/ (it is rebuilt from scratch)" >&2
   exit 2 ;;
esac
if [ -n "${MAKELEVEL:-}" ]; then
    echo "gpu_bundle.sh: skipped under make (run bash bench/gpu_bundle.sh)"
    exit 0
fi
rm -rf "$BUILD" # a fresh build: no debug info, nothing stale
make CUDA=1 BUILD="$BUILD" CFLAGS=-O2 -j"${JOBS:-2}" all "$BUILD/bench/bench_gpu" \
    "$BUILD/test/cuda/test_cuda_kernels" "$BUILD/test/cuda/test_cuda_model" \
    "$BUILD/test/cuda/test_cuda_fullwidth"
mkdir -p "$BUILD/gpu-libs"
for bin in "$BUILD/hxq" "$BUILD/bench/bench_gpu" "$BUILD"/test/cuda/test_cuda_*; do
    ldd "$bin" | awk '/=> \// {print $3}'
done | sort -u |
    grep -v -E '/(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s)\.so' |
    while read -r lib; do cp -L "$lib" "$BUILD/gpu-libs/"; done
find "$BUILD" -name '*.o' -delete
find "$BUILD" -name '*.d' -delete
du -sh "$BUILD" "$BUILD/gpu-libs"
size=$(du -sm "$BUILD" | cut -f1)
if [ "$size" -gt 60 ]; then
    echo "gpu_bundle.sh: $BUILD is $size MiB; a device call carries at most 64 MiB" >&2
    exit 1
fi
echo "ready: carry $BUILD and run BUILD=$BUILD bash bench/gpu_check.sh"
