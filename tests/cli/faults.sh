#!/usr/bin/env bash
# faults.sh - fault injection on real featcache commands (issue 8, part 3): kill -9 at
# random points during merge, import and train; a full disk (small tmpfs) and a file size
# limit (ulimit -f) during extract, merge, import, export and train; read-only output
# folders; two trainers on one store; an image replaced while extract reads it; a store
# copied while extract writes it (WAL). After every fault: a clear error and exit 1 (never
# a signal), inputs unchanged, outputs absent or complete, and every store still verifies;
# the OUT.tmp.* files a kill leaves are removed by the next merge/import/export of OUT.
# (kill -9 / SIGINT / busy store during extract itself: tests/cli/extract.sh.)
source "$(dirname "$0")/lib.sh"
FX="$ROOT/tests/py/extract_fixtures.py"
DUMP="$BUILD/tests/tools/storedump"
MK="$BUILD/tests/tools/mkstore"
MKF="$BUILD/tests/tools/mkstore_fmnist"
MNTS=()
cleanup() { for m in "${MNTS[@]}"; do umount "$m" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

X=(-m "$T/tiny.h5" --size 128 --batch 4 --threads 1 --preprocess rescale --quiet)
$PY "$FX" model "$T/tiny.h5" || { fail "fixture model"; finish; }
$PY "$FX" images "$T/img" --classes 4 --per-class 10 --jpeg-every 4 || { fail "fixture images"; finish; }
"$FC" extract "$T/img" -o "$T/ref.db" "${X[@]}" >/dev/null 2>&1 && ok "reference extract" || fail "reference extract"
"$DUMP" --values "$T/ref.db" >"$T/ref.txt"
"$MK" "$T/a.db" --first 0 --count 900 --shape 4,4,32 >/dev/null || fail "fixture a.db"
"$MK" "$T/b.db" --first 600 --count 900 --shape 4,4,32 >/dev/null || fail "fixture b.db"
"$MKF" "$T/fm.db" --classes 0,1,2 --train 100 --val 20 --test 10 >/dev/null || fail "fixture fm.db"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
sleep_ms() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }
content() { "$DUMP" "$1" 2>&1 | sort; } # decoded features, records: comparable across stores/.h5
sums() { sha256sum "$@" | cut -d' ' -f1 | tr '\n' ' '; }

# timed NAME CMD...: runs CMD, leaves its wall time in ms in $ELAPSED (only to pick kill points).
timed() { local t0; t0=$(now_ms); "$@" >/dev/null 2>&1; local rc=$?; ELAPSED=$(( $(now_ms) - t0 )); return $rc; }

# kill_at MS CMD...: starts CMD, SIGKILLs it after MS ms; returns 0 if it died by the kill,
# 1 if it had already finished (its exit status then in $RC).
kill_at() {
    local ms=$1; shift
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep_ms "$ms"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null; RC=$?
    [ $RC = 137 ]
}

# --- kill -9 during merge: OUT absent or complete, inputs unchanged; --force keeps the old OUT until the rename ---
timed "$FC" merge -o "$T/ab_ref.db" "$T/a.db" "$T/b.db" || fail "reference merge"
content "$T/ab_ref.db" >"$T/ab_ref.txt"
"$FC" merge -o "$T/old.db" "$T/a.db" >/dev/null 2>&1 || fail "merge of one store"
content "$T/old.db" >"$T/old.txt"
in_sums=$(sums "$T/a.db" "$T/b.db")
span=$(( ELAPSED + ELAPSED / 4 + 20 ))
killed=0 bad=0
for i in 1 2 3 4 5 6; do
    ms=$(( RANDOM % span + 5 ))
    out="$T/m$i.db"
    [ $((i % 2)) = 0 ] && cp "$T/old.db" "$out" # even runs replace an existing store (--force)
    kill_at $ms "$FC" merge --force -o "$out" "$T/a.db" "$T/b.db" && killed=$((killed + 1))
    if [ -e "$out" ]; then
        c=$(content "$out")
        if ! "$FC" verify "$out" >/dev/null 2>&1; then bad=$((bad + 1)); echo "# merge run $i: $out fails verify"
        elif [ "$c" != "$(cat "$T/ab_ref.txt")" ] && { [ $((i % 2)) = 1 ] || [ "$c" != "$(cat "$T/old.txt")" ]; }; then
            bad=$((bad + 1)); echo "# merge run $i: $out is neither the old nor the complete new store"
        fi
    fi
done
echo "# merge: $killed of 6 runs killed mid-way (span ${span} ms)"
[ $bad = 0 ] && ok "merge killed at random points: output absent, old, or complete and verified" || fail "merge kill: $bad bad outputs"
[ "$(sums "$T/a.db" "$T/b.db")" = "$in_sums" ] && ok "merge kill: inputs unchanged" || fail "merge kill: inputs modified"
expect_exit "merge after the kills" 0 "merged 2 stores" "$FC" merge --force -o "$T/m1.db" "$T/a.db" "$T/b.db"
[ "$(content "$T/m1.db")" = "$(cat "$T/ab_ref.txt")" ] && ok "merge after kills == reference" || fail "merge after kills differs"
left=$(ls "$T" | grep -c '\.tmp\.' || true)
echo "# $left temp files left by killed merges"
for i in 2 3 4 5 6; do # the next run of each killed merge removes what the kill left
    ls "$T" | grep -q "^m$i\.db\.tmp\." || continue
    "$FC" merge --force -o "$T/m$i.db" "$T/a.db" "$T/b.db" >/dev/null 2>&1 || fail "merge m$i after the kills"
done
ls "$T" | grep -q '\.tmp\.' && fail "merge reruns left temp files: $(ls "$T" | grep '\.tmp\.' | tr '\n' ' ')" \
    || ok "merge reruns leave no OUT.tmp.* behind ($left left by the kills)"

# --- a kill -9 that surely leaves OUT.tmp.*: the next run removes exactly the dead owner's ---
# kill_in_write OUT CMD...: SIGKILLs CMD as soon as OUT's temp file exists; 0 if one remains.
kill_in_write() {
    local out=$1; shift
    local b; b=$(basename "$out")
    "$@" >/dev/null 2>&1 &
    local pid=$! k=0
    while [ $k -lt 2000 ] && ! ls "$(dirname "$out")" | grep -q "^$b\.tmp\."; do sleep 0.005; k=$((k + 1)); done
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    ls "$(dirname "$out")" | grep -q "^$b\.tmp\."
}
caught=0
for try in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$T"/k.db*
    kill_in_write "$T/k.db" "$FC" merge -o "$T/k.db" "$T/a.db" "$T/b.db" && { caught=1; break; }
done
if [ $caught = 1 ]; then
    stale=$(ls "$T" | grep '^k\.db\.tmp\.' | tr '\n' ' ')
    tag=$(ls "$T" | grep '^k\.db\.tmp\.' | head -1); tag=${tag#k.db.tmp.}; host=${tag%%.*}
    sleep 60 & live=$!                    # a running owner: its temp file stays
    bash -c 'exit 0' & dead=$!; wait $dead # an owner that is gone
    # a killed owner not yet reaped (a zombie: `timeout -s KILL` kills the parent too, and init
    # takes seconds to reap on some machines): gone as well
    "$PY" -c 'import os, time
p = os.fork()
if p == 0: os._exit(0)
print(p, flush=True); time.sleep(60)' >"$T/zpid" & zparent=$!
    k=0; while [ $k -lt 200 ] && [ ! -s "$T/zpid" ]; do sleep 0.02; k=$((k + 1)); done; zombie=$(cat "$T/zpid")
    grep -q '^[^)]*) Z' "/proc/$zombie/stat" 2>/dev/null && ok "a zombie owner made ($zombie)" || fail "no zombie: $zombie"
    : >"$T/k.db.tmp.$host.$zombie.ZoM123"
    : >"$T/k.db.tmp.$host.$live.AbC123"
    : >"$T/k.db.tmp.$host.$dead.XyZ789-journal"
    : >"$T/k.db.tmp.otherhost.$dead.XyZ789" # another machine's (shared folder): stays
    : >"$T/k.db.tmp.notours"                # not our pattern: stays
    expect_exit "merge after a kill -9 mid-write" 0 "merged 2 stores" "$FC" merge -o "$T/k.db" "$T/a.db" "$T/b.db"
    got=$(ls "$T" | grep '^k\.db\.tmp\.' | sort | tr '\n' ' ')
    want=$(printf '%s\n' "k.db.tmp.$host.$live.AbC123" "k.db.tmp.notours" "k.db.tmp.otherhost.$dead.XyZ789" | sort | tr '\n' ' ')
    [ "$got" = "$want" ] && ok "rerun removed the killed merge's temp files ($stale) and the dead owner's, kept the rest" \
        || fail "temp files after the rerun: '$got', expected '$want'"
    kill $live $zparent 2>/dev/null; wait $live $zparent 2>/dev/null
    "$FC" verify "$T/k.db" >/dev/null 2>&1 && ok "merge after a kill -9 mid-write verifies" || fail "k.db fails verify"
else
    fail "could not kill a merge while its temp file existed (10 tries)"
fi
rm -f "$T"/*.tmp.* "$T"/k.db*

# --- kill -9 during import ---
"$FC" export "$T/ab_ref.db" "$T/ab.h5" >/dev/null 2>&1 || fail "fixture export"
h5_sum=$(sums "$T/ab.h5")
timed "$FC" import "$T/ab.h5" -o "$T/imp_ref.db" || fail "reference import"
content "$T/imp_ref.db" >"$T/imp_ref.txt"
span=$(( ELAPSED + ELAPSED / 4 + 20 ))
killed=0 bad=0
for i in 1 2 3 4 5; do
    out="$T/i$i.db"
    kill_at $(( RANDOM % span + 5 )) "$FC" import "$T/ab.h5" -o "$out" && killed=$((killed + 1))
    if [ -e "$out" ]; then
        "$FC" verify "$out" >/dev/null 2>&1 && [ "$(content "$out")" = "$(cat "$T/imp_ref.txt")" ] \
            || { bad=$((bad + 1)); echo "# import run $i: incomplete or unverifiable $out"; }
    fi
done
echo "# import: $killed of 5 runs killed mid-way (span ${span} ms)"
[ $bad = 0 ] && ok "import killed at random points: output absent or complete and verified" || fail "import kill: $bad bad outputs"
[ "$(sums "$T/ab.h5")" = "$h5_sum" ] && ok "import kill: input unchanged" || fail "import kill: input modified"
left=$(ls "$T" | grep -c '\.tmp\.' || true)
for i in 1 2 3 4 5; do # the next import of each killed one removes what the kill left
    ls "$T" | grep -q "^i$i\.db\.tmp\." || continue
    "$FC" import --force "$T/ab.h5" -o "$T/i$i.db" >/dev/null 2>&1 || fail "import i$i after the kills"
done
ls "$T" | grep -q '\.tmp\.' && fail "import reruns left temp files: $(ls "$T" | grep '\.tmp\.' | tr '\n' ' ')" \
    || ok "import reruns leave no OUT.tmp.* behind ($left left by the kills)"
caught=0
for try in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$T"/ki.db*
    kill_in_write "$T/ki.db" "$FC" import "$T/ab.h5" -o "$T/ki.db" && { caught=1; break; }
done
[ $caught = 1 ] || fail "could not kill an import while its temp file existed (10 tries)"
expect_exit "import after a kill -9 mid-write" 0 "" "$FC" import "$T/ab.h5" -o "$T/ki.db"
ls "$T" | grep -q '^ki\.db\.tmp\.' && fail "import rerun left: $(ls "$T" | grep '^ki\.db\.tmp\.')" \
    || ok "import after a kill -9 mid-write leaves no OUT.tmp.*"
caught=0
for try in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$T"/ke.h5*
    kill_in_write "$T/ke.h5" "$FC" export "$T/ab_ref.db" "$T/ke.h5" && { caught=1; break; }
done
[ $caught = 1 ] || fail "could not kill an export while its temp file existed (10 tries)"
expect_exit "export after a kill -9 mid-write" 0 "" "$FC" export "$T/ab_ref.db" "$T/ke.h5"
ls "$T" | grep -q '^ke\.h5\.tmp\.' && fail "export rerun left: $(ls "$T" | grep '^ke\.h5\.tmp\.')" \
    || ok "export after a kill -9 mid-write leaves no OUT.tmp.*"
rm -f "$T"/*.tmp.* "$T"/ki.db* "$T"/ke.h5*

# --- kill -9 during train: the store (runs table) stays valid; HEAD absent or complete ---
TR=(--epochs 80 --hidden 32 --threads 1 -q)
timed "$FC" train "$T/fm.db" -o "$T/h_ref.h5" "${TR[@]}" || fail "reference train"
span=$(( ELAPSED + ELAPSED / 4 + 20 ))
killed=0 done_runs=1 bad=0
for i in 1 2 3 4 5 6; do
    rm -f "$T/h.h5"
    if kill_at $(( RANDOM % span + 5 )) "$FC" train "$T/fm.db" -o "$T/h.h5" "${TR[@]}"; then killed=$((killed + 1))
    elif [ $RC = 0 ]; then done_runs=$((done_runs + 1))
    else bad=$((bad + 1)); echo "# train run $i exited $RC"; fi
    "$FC" verify "$T/fm.db" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "# train run $i: store fails verify"; }
    if [ -e "$T/h.h5" ]; then
        "$FC" evaluate "$T/fm.db" "$T/h.h5" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "# train run $i: head unreadable"; }
    fi
done
echo "# train: $killed of 6 runs killed mid-way (span ${span} ms)"
[ $bad = 0 ] && ok "train killed at random points: store verifies, head absent or usable" || fail "train kill: $bad problems"
runs=$("$FC" runs "$T/fm.db" 2>/dev/null | grep -c '^ *[0-9]')
# every finished run is recorded; a run killed after its commit (writing the head, exiting) may be too
[ "$runs" -ge "$done_runs" ] && [ "$runs" -le $((done_runs + killed)) ] \
    && ok "runs table holds the $done_runs finished runs ($runs rows, $killed killed)" \
    || fail "runs table has $runs rows, $done_runs runs finished, $killed killed"
# kill -9 may land while the head is being written and leave h.h5.tmp.<host>.<pid>.XXXXXX;
# the next run writing h.h5 removes it (its owner is gone: common/outtmp.c), so nothing
# stale remains.
"$FC" train "$T/fm.db" -o "$T/h.h5" "${TR[@]}" >/dev/null 2>&1 || fail "train after the kills"
ls "$T" | grep -q 'h\.h5\.tmp' && fail "a completed train left a temp head" || ok "a completed train leaves no temp head (stale ones replaced)"
rm -f "$T"/h.h5.tmp*
runs=$("$FC" runs "$T/fm.db" 2>/dev/null | grep -c '^ *[0-9]')

# --- two trainers at once on one store: both recorded, store verifies ---
"$FC" train "$T/fm.db" -o "$T/h1.h5" "${TR[@]}" >"$T/t1.out" 2>&1 & p1=$!
"$FC" train "$T/fm.db" -o "$T/h2.h5" "${TR[@]}" --seed 7 >"$T/t2.out" 2>&1 & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
[ $r1 = 0 ] && [ $r2 = 0 ] && ok "two trainers at once both finish" || fail "two trainers: exit $r1, $r2: $(cat "$T/t1.out" "$T/t2.out")"
runs2=$("$FC" runs "$T/fm.db" 2>/dev/null | grep -c '^ *[0-9]')
[ "$runs2" = $((runs + 2)) ] && ok "both runs recorded" || fail "runs: $runs -> $runs2"
check "store verifies after two trainers" "$FC" verify "$T/fm.db"

# --- file size limit (ulimit -f): EFBIG is an error, not SIGXFSZ; nothing half-written ---
mkdir -p "$T/lim"
limited() { (ulimit -f 256; exec "$@"); } # 256 KiB: the fixture stores/exports are larger
# the message names the file and the OS reason (EFBIG: the file size limit)
reason() { grep -qF -- "$2" "$T/.err" && ok "$1" || { fail "$1: no '$2' in: $(cat "$T/.err")"; }; }
expect_exit "ulimit -f: merge" 1 "m.db.tmp" limited "$FC" merge -o "$T/lim/m.db" "$T/ab_ref.db"
reason "ulimit -f: merge names the OS reason" "File too large: over the file size limit, ulimit -f"
expect_exit "ulimit -f: import" 1 "i.db.tmp" limited "$FC" import "$T/ab.h5" -o "$T/lim/i.db"
reason "ulimit -f: import names the OS reason" "File too large: over the file size limit, ulimit -f"
expect_exit "ulimit -f: export" 1 "e.h5" limited "$FC" export "$T/ab_ref.db" "$T/lim/e.h5"
reason "ulimit -f: export names the OS reason" "File too large: over the file size limit, ulimit -f"
[ -z "$(ls -A "$T/lim")" ] && ok "ulimit -f: merge/import/export leave no files" || fail "ulimit -f left: $(ls -A "$T/lim")"
(ulimit -f 200; exec "$FC" extract "$T/img" -o "$T/lim/x.db" "${X[@]}") >"$T/.out" 2>"$T/.err"; rc=$?
[ $rc = 1 ] && grep -q "x.db" "$T/.err" && ok "ulimit -f: extract exits 1 naming the store" || fail "ulimit -f: extract exit $rc: $(cat "$T/.err")"
check "ulimit -f: the partial store verifies" "$FC" verify "$T/lim/x.db"
expect_exit "ulimit -f: re-run without the limit resumes" 0 "" "$FC" extract "$T/img" -o "$T/lim/x.db" "${X[@]}"
"$DUMP" --values "$T/lim/x.db" | cmp -s - "$T/ref.txt" && ok "ulimit -f: resumed store == reference" || fail "ulimit -f: resumed store differs"

# --- disk full (tmpfs; needs mount privileges) and read-only output folders ---
if mkdir -p "$T/full" && mount -t tmpfs -o size=300k tmpfs "$T/full" 2>/dev/null; then
    MNTS+=("$T/full")
    expect_exit "disk full: extract" 1 "disk is full" "$FC" extract "$T/img" -o "$T/full/x.db" "${X[@]}"
    check "disk full: the partial store verifies" "$FC" verify "$T/full/x.db"
    mount -o remount,size=4m "$T/full"
    expect_exit "disk full: re-run with space resumes" 0 "" "$FC" extract "$T/img" -o "$T/full/x.db" "${X[@]}"
    "$DUMP" --values "$T/full/x.db" | cmp -s - "$T/ref.txt" && ok "disk full: resumed store == reference" || fail "disk full: resumed store differs"
    cp "$T/fm.db" "$T/full/fm.db"
    rm -f "$T/full/x.db"*
    mount -o remount,size=1m "$T/full"
    head -c 2M /dev/zero >"$T/full/fill" 2>/dev/null # fill what is left
    fm_sum=$(sums "$T/full/fm.db")
    expect_exit "disk full: merge" 1 "disk is full" "$FC" merge -o "$T/full/m.db" "$T/ab_ref.db"
    reason "disk full: merge names the file and the OS reason" "m.db.tmp" && reason "disk full: merge: ENOSPC" "No space left on device"
    expect_exit "disk full: import" 1 "disk is full" "$FC" import "$T/ab.h5" -o "$T/full/i.db"
    reason "disk full: import names the file and the OS reason" "i.db.tmp" && reason "disk full: import: ENOSPC" "No space left on device"
    expect_exit "disk full: export" 1 "e.h5" "$FC" export "$T/ab_ref.db" "$T/full/e.h5"
    reason "disk full: export names the OS reason" "No space left on device"
    expect_exit "disk full: train head" 1 "h.h5" "$FC" train "$T/fm.db" -o "$T/full/h.h5" --epochs 1 -q
    ls "$T/full" | grep -qv '^fill$\|^fm\.db' && fail "disk full left: $(ls "$T/full")" || ok "disk full: nothing half-written left"
    "$FC" train "$T/full/fm.db" -o "$T/h3.h5" --epochs 1 -q >"$T/.out" 2>"$T/.err"; rc=$?
    [ $rc -lt 128 ] && ok "disk full: train on a store that cannot grow exits $rc" || fail "train on full store: signal ($rc)"
    check "disk full: that store still verifies" "$FC" verify "$T/full/fm.db"
else
    echo "# tmpfs mount not permitted: disk-full checks skipped (ulimit -f ones ran)"
fi
if mkdir -p "$T/ro" && mount -t tmpfs -o ro,size=64k tmpfs "$T/ro" 2>/dev/null; then
    MNTS+=("$T/ro")
    expect_exit "read-only folder: extract" 1 "read-only file system" "$FC" extract "$T/img" -o "$T/ro/x.db" "${X[@]}"
    expect_exit "read-only folder: merge" 1 "read-only file system" "$FC" merge -o "$T/ro/m.db" "$T/a.db"
    expect_exit "read-only folder: import" 1 "read-only" "$FC" import "$T/ab.h5" -o "$T/ro/i.db"
    expect_exit "read-only folder: export" 1 "e.h5" "$FC" export "$T/a.db" "$T/ro/e.h5"
    expect_exit "read-only folder: train head" 1 "h.h5" "$FC" train "$T/fm.db" -o "$T/ro/h.h5" --epochs 1 -q
elif [ "$(id -u)" != 0 ]; then
    mkdir -p "$T/ro" && chmod 555 "$T/ro"
    expect_exit "read-only folder: merge" 1 "permission denied" "$FC" merge -o "$T/ro/m.db" "$T/a.db"
    expect_exit "read-only folder: extract" 1 "permission denied" "$FC" extract "$T/img" -o "$T/ro/x.db" "${X[@]}"
else
    echo "# root without mount privileges: read-only folder checks skipped"
fi

# --- an image replaced while extract reads it: stored sha256 matches the decoded bytes ---
# Every stored (sha256, features) pair must be one the reference run computed from those
# exact bytes; the swapped path holds image A or image B, replaced by atomic renames.
A=$(ls "$T"/img/*/*.png | head -1) B=$(ls "$T"/img/*/*.png | tail -1)
mkdir -p "$T/swap"
cp -r "$T/img/." "$T/swap/"
SWV=(-m "$T/tiny.h5" --size 128 --batch 1 --threads 1 --preprocess rescale) # same batch as the reference: same rounding
SW=("${SWV[@]}" --quiet)
"$FC" extract "$T/img" -o "$T/ref1.db" "${SW[@]}" >/dev/null 2>&1 || fail "reference extract, batch 1"
"$DUMP" --values "$T/ref1.db" | awk '{ $2 = $3 = $4 = ""; print }' | sort >"$T/ref_pairs.txt"
swap_bad=0
for round in 1 2; do
    rm -f "$T/sw.db"*
    cp "$A" "$T/swap/$(basename "$(dirname "$A")")/zz_swap.png"
    ( while :; do cp "$A" "$T/swap/x.tmp" && mv -f "$T/swap/x.tmp" "$T/swap/$(basename "$(dirname "$A")")/zz_swap.png"
                  cp "$B" "$T/swap/x.tmp" && mv -f "$T/swap/x.tmp" "$T/swap/$(basename "$(dirname "$A")")/zz_swap.png"; done ) &
    sw=$!
    "$FC" extract "$T/swap" -o "$T/sw.db" "${SW[@]}" >/dev/null 2>&1
    rc=$?
    kill $sw 2>/dev/null; wait $sw 2>/dev/null
    rm -f "$T/swap/x.tmp"
    [ $rc = 0 ] || { swap_bad=$((swap_bad + 1)); echo "# swap round $round: extract exit $rc"; continue; }
    "$DUMP" --values "$T/sw.db" | awk '{ $2 = $3 = $4 = ""; print }' | sort >"$T/sw_pairs.txt"
    extra=$(comm -23 "$T/sw_pairs.txt" "$T/ref_pairs.txt" | wc -l)
    [ "$extra" = 0 ] || { swap_bad=$((swap_bad + 1)); echo "# swap round $round: $extra stored features match no image's bytes"; }
done
[ $swap_bad = 0 ] && ok "image replaced during extract: every stored sha256 matches its features" || fail "image swap: $swap_bad bad rounds"

# --- an image changed in place between runs: stored under the sha256 of the bytes decoded ---
# A corrupt image (recorded as failed) fixed with the same size and mtime must not be stored
# under the corrupt bytes' sha256 (the path fast path would say "known"); an image edited in
# place leaves the old record prunable and the store verifying.
mkdir -p "$T/ed/c"
cp "$T"/img/$(basename "$(dirname "$A")")/*.png "$T/ed/c/"
E=$(ls "$T"/ed/c/*.png | head -1)
cp -p "$E" "$T/good.png"
$PY -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[60] ^= 0xFF; open(sys.argv[1], 'wb').write(b)" "$E"
touch -r "$T/good.png" "$E"
"$FC" extract "$T/ed" -o "$T/ed.db" "${SW[@]}" >/dev/null 2>&1
cp "$T/good.png" "$E" && touch -r "$T/good.png" "$E"
expect_exit "fixed image, same size and mtime: re-run" 0 "stored 1" "$FC" extract "$T/ed" -o "$T/ed.db" "${SWV[@]}"
good_sha=$(sha256sum "$E" | cut -d' ' -f1)
"$DUMP" --records "$T/ed.db" | grep -q "^$good_sha c/$(basename "$E") .* ok$" && ok "fixed image stored under the sha256 of its bytes" \
    || fail "fixed image: $("$DUMP" --records "$T/ed.db" | grep "$(basename "$E")")"
"$DUMP" --values "$T/ed.db" | awk '{ $2 = $3 = $4 = ""; print }' | sort | comm -23 - "$T/ref_pairs.txt" | grep -q . \
    && fail "fixed image: features do not match its bytes" || ok "fixed image: features match its bytes"
cp "$B" "$E" # edited in place: new content, new mtime
expect_exit "image edited in place: re-run" 0 "no longer in" "$FC" extract "$T/ed" -o "$T/ed.db" "${SWV[@]}"
check "store verifies after an image was edited in place" "$FC" verify "$T/ed.db"

# --- a store copied while extract writes it (WAL): verify on the copy passes or reports, never crashes ---
rm -f "$T/w.db"*
"$FC" extract "$T/img" -o "$T/w.db" -m "$T/tiny.h5" --size 128 --batch 1 --threads 1 --preprocess rescale --quiet >/dev/null 2>&1 &
wp=$!
copies=0 crash=0 passed=0
for i in 1 2 3 4 5 6 7 8; do
    sleep_ms $(( RANDOM % 150 + 20 ))
    mkdir -p "$T/copy$i"
    for f in "$T"/w.db "$T"/w.db-wal; do [ -e "$f" ] && cp "$f" "$T/copy$i/" 2>/dev/null; done
    [ -e "$T/copy$i/w.db" ] || continue
    copies=$((copies + 1))
    "$FC" verify "$T/copy$i/w.db" >"$T/.out" 2>"$T/.err"; rc=$?
    if [ $rc -ge 2 ]; then crash=$((crash + 1)); echo "# copy $i: verify exit $rc"; sed 's/^/#   /' "$T/.err" | tail -3
    elif [ $rc = 1 ] && ! [ -s "$T/.err" ]; then crash=$((crash + 1)); echo "# copy $i: exit 1 without a message"
    elif [ $rc = 0 ]; then passed=$((passed + 1)); fi
done
wait $wp || fail "extract being copied failed"
echo "# WAL copies: $copies taken, $passed verified ok, $((copies - passed)) reported"
[ $crash = 0 ] && ok "verify on copies of a store being written: ok or a clear report" || fail "verify on copies: $crash crashes or silent failures"
check "the store being copied verifies" "$FC" verify "$T/w.db"
finish
