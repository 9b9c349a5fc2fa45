#!/usr/bin/env bash
# run.sh - runs every unit test program, fuzz corpus replay and CLI test; prints a
# per-suite line and a final "N passed, N failed" line; exits 1 if anything failed.
set -u
: "${BUILD:?}" "${FEATCACHE:?}"
export FEATCACHE BUILD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
pass=0 fail=0 failed_suites=()
log=$(mktemp)
count_unit() { # parse "name: N passed, N failed"
    local line; line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
    if [ -z "$line" ]; then echo "0 1"; return; fi
    echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1 \2/'
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    "$t" >"$log" 2>&1; rc=$?
    read -r p f < <(count_unit)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    pass=$((pass + p)); fail=$((fail + f))
    printf '%-28s %4d passed, %d failed\n' "$name" "$p" "$f"
    if [ "$f" -ne 0 ]; then failed_suites+=("$name"); sed 's/^/    /' "$log" | tail -30; fi
done
for t in "$BUILD"/tests/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t"); corpus="tests/fuzz/corpus/${name#fuzz_}"
    "$t" "$corpus" >"$log" 2>&1; rc=$?
    if [ "$rc" -eq 0 ]; then pass=$((pass + 1)); r=ok; else fail=$((fail + 1)); r=FAIL; failed_suites+=("$name"); fi
    printf '%-28s %s (%s)\n' "$name" "$r" "$(tail -1 "$log")"
    [ "$r" = FAIL ] && sed 's/^/    /' "$log" | tail -20
done
for t in tests/cli/*.sh; do
    [ "$(basename "$t")" = lib.sh ] && continue
    name=$(basename "$t" .sh)
    bash "$t" >"$log" 2>&1; rc=$?
    p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^FAIL - ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL - $name exited $rc" >>"$log"; fi
    pass=$((pass + p)); fail=$((fail + f))
    printf '%-28s %4d passed, %d failed\n' "cli/$name" "$p" "$f"
    grep '^# SKIP' "$log" | sed 's/^/    /' # a suite that could not run says so
    if [ "$f" -ne 0 ]; then failed_suites+=("cli/$name"); grep -v '^ok - ' "$log" | sed 's/^/    /' | tail -30; fi
done
rm -f "$log"
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
