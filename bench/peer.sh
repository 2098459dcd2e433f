#!/usr/bin/env bash
# bench/peer.sh - hxq against llama.cpp on the same machine, in the same run:
# interleaved rounds of llama.cpp's llama-bench and build/bench/bench_engine
# on the same model, medians, ratios.
#
#   bench/peer.sh LLAMA_BIN HXQ_DIR BF16_DIR Q8_0.gguf BF16.gguf [Q4_K_M.gguf]
#
# LLAMA_BIN is the folder holding llama.cpp's llama-bench (its build's bin/);
# HXQ_DIR and BF16_DIR are hxq's compressed and dense folders of one model
# (e.g. `hxq synth --layers 4` and its `hxq compress`), the .gguf files the
# same dense model converted and quantized by llama.cpp (see
# ../shared/peers/llamacpp/README.md; nothing of llama.cpp is part of hxq).
#
# Each round runs, in this order: llama.cpp Q8_0, hxq HXQ, llama.cpp BF16,
# hxq BF16, [llama.cpp Q4_K_M], and the memory read bandwidth
# (build/bench/bench_bandwidth), each with THREADS threads, PROMPT prompt
# tokens in one batch and DECODE greedy decode tokens. The figures are the
# medians over the rounds; the ratios are hxq / llama.cpp of the medians.
# The load average is printed before every round: figures taken under load
# (other processes on the cores) are not comparable with an idle machine.
#
# Environment: ROUNDS (5), THREADS (2), PROMPT (256), DECODE (64),
# BUILD (build), LLAMA_COMMIT (printed as given; llama-bench's own
# build_commit is printed too), HXQ_HEAD (an `hxq compress --include-head`
# folder of the same model: also measured each round, after hxq HXQ).
set -euo pipefail
if [ $# -lt 5 ] || [ $# -gt 6 ]; then
    sed -n '2,/^set/p' "$0" | sed '$d'
    exit 2
fi
LBIN=$1 HXQ_DIR=$2 BF16_DIR=$3 Q8=$4 BF=$5 Q4=${6:-}
HEAD_DIR=${HXQ_HEAD:-}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-256}
DECODE=${DECODE:-64}
BUILD=${BUILD:-build}
for f in "$LBIN/llama-bench" "$HXQ_DIR/config.json" "$BF16_DIR/config.json" "$Q8" "$BF" \
         ${Q4:+"$Q4"} ${HEAD_DIR:+"$HEAD_DIR/config.json"}; do
    [ -e "$f" ] || { echo "peer.sh: $f not found" >&2; exit 2; }
done
make -s "$BUILD/bench/bench_engine" "$BUILD/bench/bench_bandwidth"

flags=$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)
simd=""
for f in avx2 fma f16c avx512f avx512bw avx512vbmi avx512_vnni avx512_bf16 avx_vnni; do
    case " $flags " in *" $f "*) simd="$simd $f" ;; esac
done
echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "cpu $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
     "family $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')" \
     "model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')," \
     "$(nproc) cpus"
echo "simd flags:$simd"
echo "cpu flags:$flags"
echo "hxq $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)')," \
     "llama.cpp ${LLAMA_COMMIT:-see build_commit}"
echo "threads $THREADS, prompt $PROMPT, decode $DECODE, rounds $ROUNDS"

RES=$(mktemp)
trap 'rm -f "$RES"' EXIT
# llama-bench, one repetition: "<key>_pp <tok/s>" and "<key>_tg <tok/s>".
llama() {
    local key=$1 model=$2
    "$LBIN/llama-bench" -m "$model" -t "$THREADS" -p "$PROMPT" -n "$DECODE" -r 1 -o csv \
        2>/dev/null | awk -F'","' -v k="$key" '
        NR == 1 { gsub(/"/, ""); n = split($0, h, ","); for (i = 1; i <= n; i++) c[h[i]] = i; next }
        { gsub(/^"|"$/, ""); if (!bc) { bc = $c["build_commit"]; print "build_commit " bc }
          print k ($c["n_prompt"] > 0 ? "_pp " : "_tg ") $c["avg_ts"] }'
}
# bench_engine: "<key>_pp", "<key>_tg", "<key>_bytes".
hxq() {
    local key=$1 dir=$2
    "$BUILD/bench/bench_engine" "$dir" "$THREADS" "$PROMPT" "$DECODE" |
        awk -v k="$key" '{ print k "_pp " $2; print k "_tg " $4; print k "_bytes " $6;
                           print k "_cpu_tg " $10 }'
}
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r: load average $(cut -d' ' -f1-3 /proc/loadavg)"
    {
        llama q8 "$Q8"
        hxq hxq "$HXQ_DIR"
        [ -z "$HEAD_DIR" ] || hxq hhd "$HEAD_DIR"
        llama bf "$BF"
        hxq hbf "$BF16_DIR"
        [ -z "$Q4" ] || llama q4 "$Q4"
        echo "bw $("$BUILD/bench/bench_bandwidth" "$THREADS" 1024 | awk '{print $2}')"
    } | tee -a "$RES" | grep -v '^build_commit' | paste -sd' ' | sed 's/^/  /'
done
echo "after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 '^build_commit' "$RES" | sed 's/^/llama.cpp /'

awk -v rounds="$ROUNDS" '
    $1 != "build_commit" { v[$1, ++n[$1]] = $2 }
    function med(k,   m, i, j, t, a) {
        m = n[k]; if (!m) return 0
        for (i = 1; i <= m; i++) a[i] = v[k, i]
        for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    function row(what, lk, hk,   l, h) {
        l = med(lk); h = med(hk)
        printf "%-26s %10.2f %10.2f %8.2fx\n", what, l, h, (l > 0 ? h / l : 0)
    }
    END {
        printf "\nmedians of %d rounds (tok/s)  llama.cpp        hxq    ratio\n", rounds
        row("decode Q8_0 vs HXQ", "q8_tg", "hxq_tg")
        row("decode BF16 vs BF16", "bf_tg", "hbf_tg")
        row("prompt Q8_0 vs HXQ", "q8_pp", "hxq_pp")
        row("prompt BF16 vs BF16", "bf_pp", "hbf_pp")
        if (n["hhd_tg"]) {
            row("decode Q8_0 vs HXQ+head", "q8_tg", "hhd_tg")
            row("prompt Q8_0 vs HXQ+head", "q8_pp", "hhd_pp")
        }
        if (n["q4_tg"]) {
            row("decode Q4_K_M vs HXQ", "q4_tg", "hxq_tg")
            row("prompt Q4_K_M vs HXQ", "q4_pp", "hxq_pp")
        }
        bw = med("bw")
        printf "\nmemory read bandwidth %.2f GB/s (median)\n", bw
        printf "HXQ  decode reads %.1f MB/token: %.2f GB/s = %.0f%% of bandwidth, cpu use %.2f\n",
               med("hxq_bytes") / 1e6, med("hxq_bytes") * med("hxq_tg") / 1e9,
               100 * med("hxq_bytes") * med("hxq_tg") / 1e9 / bw, med("hxq_cpu_tg")
        if (n["hhd_tg"])
            printf "HXQ+head decode reads %.1f MB/token: %.2f GB/s = %.0f%% of bandwidth, cpu use %.2f\n",
                   med("hhd_bytes") / 1e6, med("hhd_bytes") * med("hhd_tg") / 1e9,
                   100 * med("hhd_bytes") * med("hhd_tg") / 1e9 / bw, med("hhd_cpu_tg")
        printf "BF16 decode reads %.1f MB/token: %.2f GB/s = %.0f%% of bandwidth, cpu use %.2f\n",
               med("hbf_bytes") / 1e6, med("hbf_bytes") * med("hbf_tg") / 1e9,
               100 * med("hbf_bytes") * med("hbf_tg") / 1e9 / bw, med("hbf_cpu_tg")
    }' "$RES"
