#!/usr/bin/env bash
# bench/compress.sh - hxq compress throughput, memory and tiny-olmoe time.
#
# In one run on this machine: a synthetic 4-layer full-width OLMoE (~3.8 GB
# BF16, sharded) is written to a temporary folder; the floor (read every
# source byte + SHA-256 of as many bytes as the output holds, one thread)
# is timed against `hxq compress --threads 2`; the figure is the throughput
# ratio compress / floor. Peak RSS from /usr/bin/time -v. Then tiny-olmoe's
# wall time. The synthetic model is deleted at the end.
#
# Environment: HXQ (binary, default build/hxq), BUILD (default build),
# LAYERS (default 4), THREADS (default 2), BENCH_TMP (default /tmp).
set -euo pipefail
HXQ=${HXQ:-build/hxq}
BUILD=${BUILD:-build}
LAYERS=${LAYERS:-4}
THREADS=${THREADS:-2}
FLOOR=$BUILD/bench/compress_floor
[ -x "$FLOOR" ] || make -s "$FLOOR"
TMPBASE=${BENCH_TMP:-/tmp}

need_kb=$((LAYERS * 1500000 + 1000000))   # source + output + margin, in KB
avail_kb=$(df -Pk "$TMPBASE" | awk 'NR==2 {print $4}')
df -h "$TMPBASE" | sed 's/^/df: /'
if [ "$avail_kb" -lt "$need_kb" ]; then
    echo "compress.sh: need $((need_kb / 1000)) MB free in $TMPBASE, have $((avail_kb / 1000)) MB" >&2
    exit 1
fi
T=$(mktemp -d "$TMPBASE/hxq-bench-compress.XXXXXX")
trap 'rm -rf "$T"' EXIT

echo "== synth: $LAYERS-layer OLMoE-1B-7B widths"
"$HXQ" synth "$T/src" --layers "$LAYERS" --max-shard-size 1000000000
src_bytes=$(cat "$T"/src/*.safetensors | wc -c)
echo "source: $src_bytes bytes in $(ls "$T"/src/*.safetensors | wc -l) file(s)"
cat "$T"/src/*.safetensors > /dev/null   # same page-cache state for both runs

echo "== hxq compress --threads $THREADS"
/usr/bin/time -v "$HXQ" compress "$T/src" "$T/out" --threads "$THREADS" 2> "$T/time.txt"
grep -E "Elapsed|Maximum resident" "$T/time.txt"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$T/time.txt")
rss_kb=$(awk -F': ' '/Maximum resident/ {print $2}' "$T/time.txt")
cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$T/time.txt")
out_bytes=$(cat "$T"/out/*.safetensors | wc -c)

echo "== floor: read source + SHA-256 of $out_bytes bytes"
floor_line=$("$FLOOR" "$out_bytes" "$T"/src/*.safetensors)
echo "$floor_line"
floor=$(awk '{print $2}' <<<"$floor_line")
rm -rf "$T/src" "$T/out"

echo "== tiny-olmoe"
t0=$(date +%s.%N)
"$HXQ" compress models/tiny-olmoe "$T/tiny" --threads "$THREADS" --quiet
t1=$(date +%s.%N)

awk -v sb="$src_bytes" -v ob="$out_bytes" -v w="$wall" -v f="$floor" -v rss="$rss_kb" \
    -v t0="$t0" -v t1="$t1" -v cpu="$cpu" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    printf "compress: %.2f s wall, %.2f s CPU, %.3f GB/s of source (%.2fx smaller)\n", w, cpu, sb / w / 1e9, sb / ob
    printf "floor:    %.2f s, %.3f GB/s\n", f, sb / f / 1e9
    printf "ratio compress/floor throughput: %.1f%%\n", 100 * f / w
    printf "peak RSS: %.0f MiB\n", rss / 1024
    printf "tiny-olmoe: %.2f s wall\n", t1 - t0
    printf "load average at the end: %s (2 cores shared: wall times include waiting)\n", load
}'
