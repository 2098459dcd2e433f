#!/usr/bin/env bash
# Runs each Check test binary given on the command line from the repository
# root, sums their "Checks: N, Failures: F, Errors: E" lines and prints one
# closing line "tests: P passed, F failed". Exit status 1 on any failure.
set -u
passed=0
failed=0
bad=()
for t in "$@"; do
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks|:[EF]:|skipped' || true
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 20
        echo "$t: no Check summary (exit $rc)"
        failed=$((failed + 1)); bad+=("$t"); continue
    fi
    n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
    f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
    e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + n - f - e))
    failed=$((failed + f + e))
    if [ "$rc" -ne 0 ] || [ $((f + e)) -ne 0 ]; then
        bad+=("$t")
        [ $((f + e)) -eq 0 ] && failed=$((failed + 1))
    fi
done
[ ${#bad[@]} -gt 0 ] && echo "failing: ${bad[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
