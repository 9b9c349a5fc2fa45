#!/bin/sh
# campaign.sh - one libFuzzer run of one target, as recorded in tests/fuzz/CAMPAIGN.md.
#   tests/fuzz/campaign.sh NAME SECONDS [libFuzzer flags...]
# Needs `make fuzz FUZZ_SECONDS=1` first (builds build-fuzz/fuzz_NAME). The committed
# corpus tests/fuzz/corpus/NAME is read, never written: new inputs go to
# $FZ_OUT/NAME/new (FZ_OUT defaults to /tmp/fzc), crashes/leaks/timeouts/OOMs to
# $FZ_OUT/NAME/ (artifact prefix), the log to $FZ_OUT/NAME/log.N (one per run).
# Prints the first (INITED) and last (DONE or the finding) status lines and the final stats.
set -u
name=$1; secs=$2; shift 2
out=${FZ_OUT:-/tmp/fzc}/$name
mkdir -p "$out/new"
n=1; while [ -e "$out/log.$n" ]; do n=$((n + 1)); done
log=$out/log.$n
bin=$(pwd)/build-fuzz/fuzz_$name
# CPU seconds (user+sys) are recorded beside wall time: the machine is shared, so
# exec/s per wall second understates what the target does per CPU second.
/usr/bin/time -f '%U %S %e' -o "$out/time.$n" "$bin" -timeout=10 -rss_limit_mb=2048 -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$out/" "$@" "$out/new" "tests/fuzz/corpus/$name" >"$log" 2>&1
rc=$?
echo "== fuzz_$name run $n: exit $rc, log $log"
tail -1 "$out/time.$n" | awk '{ printf "cpu %.0f s of %.0f s wall\n", $1 + $2, $3 }'
grep -E 'INITED' "$log" | head -1
grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1
grep -E 'ERROR|SUMMARY|Test unit written|stat::' "$log"
echo "new inputs: $(ls "$out/new" | wc -l) ($(du -sk "$out/new" | cut -f1) KiB)"
