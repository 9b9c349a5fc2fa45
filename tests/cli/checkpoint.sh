#!/usr/bin/env bash
# checkpoint.sh - train and sweep checkpoints (train/ckpt.h): a run killed after a
# checkpoint, re-run with the same command, resumes and ends with the history and weights
# of an uninterrupted run bit for bit; unusable checkpoints are reported and not used.
. "$(dirname "$0")/lib.sh"
MK="$BUILD/tests/tools/mkstore_fmnist"
S="$T/s.db"
check "make a 2-class store" "$MK" "$S" --classes 0,1 --train 120 --val 40 --test 20
check "make a 3-class store" "$MK" "$T/three.db" --classes 0,1,7 --train 40 --val 20 --test 10

# same_weights A.h5 B.h5: every dataset under model_weights equal, bit for bit
same_weights() {
    "$PY" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
def walk(g, out, p=""):
    for k in g:
        if isinstance(g[k], h5py.Dataset): out[p + k] = g[k][()]
        else: walk(g[k], out, p + k + "/")
a, b = {}, {}
walk(h5py.File(sys.argv[1], "r")["model_weights"], a)
walk(h5py.File(sys.argv[2], "r")["model_weights"], b)
sys.exit(0 if a and a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a) else 1)
PY
}
# same_history A.csv B.csv: epoch, loss, acc, val_loss, val_acc equal (seconds differ)
same_history() { cmp -s <(cut -d, -f1-5 "$1") <(cut -d, -f1-5 "$2"); }

TR=(--epochs 6 --lr 1e-3 --seed 5 --threads 2)
check "uninterrupted train" "$FC" train "$S" -o "$T/ref.h5" "${TR[@]}" --history "$T/ref.csv" -q
for k in 1 3 5; do
    rm -f "$T/k.h5" "$T/k.csv"
    FC_TEST_CKPT_KILL=$k "$FC" train "$S" -o "$T/k.h5" "${TR[@]}" --checkpoint-every 0 -q >/dev/null 2>&1
    rc=$?
    [ "$rc" -eq 137 ] && [ -f "$T/k.h5.ckpt" ] && [ ! -e "$T/k.h5" ] && ok "killed after checkpoint $k: no head, a checkpoint" \
        || fail "kill after checkpoint $k: exit $rc, files: $(ls "$T" | tr '\n' ' ')"
    expect_exit "re-run resumes after epoch $k" 0 "resuming from $T/k.h5.ckpt: $k of 6 epochs done" \
        "$FC" train "$S" -o "$T/k.h5" "${TR[@]}" --checkpoint-every 0 --history "$T/k.csv"
    grep -q "^Epoch $((k + 1))/6 " "$T/.out" && ! grep -q "^Epoch $k/6 " "$T/.out" && ok "epochs $((k + 1))-6 trained, not before" \
        || fail "epoch lines after resume: $(grep -c ^Epoch "$T/.out")"
    same_history "$T/ref.csv" "$T/k.csv" && ok "resumed history (all 6 epochs) == uninterrupted" \
        || fail "history differs after resume at $k: $(diff <(cut -d, -f1-5 "$T/ref.csv") <(cut -d, -f1-5 "$T/k.csv") | head -3)"
    same_weights "$T/ref.h5" "$T/k.h5" && ok "resumed head == uninterrupted head, bit for bit" || fail "weights differ (kill at $k)"
    [ ! -e "$T/k.h5.ckpt" ] && ok "checkpoint removed after success" || fail "checkpoint left after success"
done
ls "$T" | grep -q '\.ckpt\.tmp\.' && fail "temp files left: $(ls "$T")" || ok "no checkpoint temp files left"

# a real kill -9 at an arbitrary point after the first checkpoint (no hook)
check "uninterrupted 40-epoch train" "$FC" train "$S" -o "$T/ref40.h5" --epochs 40 --lr 1e-3 --seed 5 --threads 2 --history "$T/ref40.csv" -q
"$FC" train "$S" -o "$T/r.h5" --epochs 40 --lr 1e-3 --seed 5 --threads 2 --checkpoint-every 0 -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 500); do [ -f "$T/r.h5.ckpt" ] && break; sleep 0.01; done
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
if [ -e "$T/r.h5" ]; then
    ok "kill -9: the run had already finished (machine too fast to interrupt; resume not exercised)"
else
    expect_exit "re-run after kill -9 resumes" 0 "resuming from" "$FC" train "$S" -o "$T/r.h5" --epochs 40 --lr 1e-3 \
        --seed 5 --threads 2 --checkpoint-every 0 --history "$T/r.csv"
    same_history "$T/ref40.csv" "$T/r.csv" && same_weights "$T/ref40.h5" "$T/r.h5" \
        && ok "after kill -9: history and head == uninterrupted" || fail "after kill -9: differs"
fi

# --- a resumed run that cannot write its outputs for lack of space names the checkpoint it
# keeps (on a nearly full disk the checkpoint itself may be what takes the space)
rm -f "$T/sp.h5"*
FC_TEST_CKPT_KILL=5 "$FC" train "$S" -o "$T/sp.h5" "${TR[@]}" --checkpoint-every 0 -q >/dev/null 2>&1
(ulimit -f 1; exec "$FC" train "$S" -o "$T/sp.h5" "${TR[@]}" --checkpoint-every 0 -q) >"$T/.out" 2>"$T/.err"; rc=$?
[ $rc = 1 ] && grep -q "sp.h5: cannot write HDF5 file" "$T/.err" && grep -q "note: $T/sp.h5.ckpt ([0-9.]* [KM]i*B) holds this run's state as of its last checkpoint" "$T/.err" \
    && [ -f "$T/sp.h5.ckpt" ] && ok "outputs that do not fit: the kept checkpoint is named with its size" \
    || fail "outputs that do not fit: exit $rc: $(cat "$T/.err")"
expect_exit "... and the same command with space writes them" 0 "resuming from $T/sp.h5.ckpt: 5 of 6 epochs done" \
    "$FC" train "$S" -o "$T/sp.h5" "${TR[@]}" --checkpoint-every 0
# a file of the user's at the checkpoint's name is never called the run's state (review 12 A F6)
rm -f "$T/sp.h5"*; echo "my notes, not a checkpoint" >"$T/sp.h5.ckpt"
(ulimit -f 1; exec "$FC" train "$S" -o "$T/sp.h5" "${TR[@]}" --checkpoint-every 0 -q) >"$T/.out" 2>"$T/.err"; rc=$?
[ $rc = 1 ] && grep -q "exists and is not a featcache checkpoint" "$T/.err" && ! grep -q "note: .*sp.h5.ckpt" "$T/.err" \
    && [ "$(cat "$T/sp.h5.ckpt")" = "my notes, not a checkpoint" ] && ok "... a foreign .ckpt file: no note, kept" \
    || fail "foreign .ckpt on a full disk: exit $rc: $(cat "$T/.err")"

# a run killed after recording itself, before removing its checkpoint: the re-run resumes
# and finishes, and does not record the same result twice (review 12 A F1)
nruns() { "$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from runs').fetchone()[0])" "$1"; }
cp "$S" "$T/dup.db"; rm -f "$T/dup.h5"* "$T/dup.csv"*; base=$(nruns "$T/dup.db")
FC_TEST_HOOK_AFTER_RECORD='kill -9 $PPID' "$FC" train "$T/dup.db" -o "$T/dup.h5" "${TR[@]}" --checkpoint-every 0 -q >/dev/null 2>&1
[ $? = 137 ] && [ -f "$T/dup.h5.ckpt" ] && [ "$(nruns "$T/dup.db")" = $((base + 1)) ] && ok "killed after recording: recorded, checkpoint left" \
    || fail "kill after record: $(ls "$T"/dup.h5* | tr '\n' ' ') runs $(nruns "$T/dup.db") (before: $base)"
expect_exit "... the re-run resumes and notes the record" 0 "already recorded" "$FC" train "$T/dup.db" -o "$T/dup.h5" "${TR[@]}" --checkpoint-every 0
[ "$(nruns "$T/dup.db")" = $((base + 1)) ] && [ ! -e "$T/dup.h5.ckpt" ] && ok "... one record, checkpoint gone" \
    || fail "records: $(nruns "$T/dup.db") (before: $base)"
SWD=(--epochs 6 --seed 5 --threads 2 --checkpoint-every 0)
FC_TEST_HOOK_AFTER_RECORD='kill -9 $PPID' "$FC" sweep "$T/dup.db" --grid 'lr=1e-3,2e-3' -o "$T/dup.csv" "${SWD[@]}" -q >/dev/null 2>&1
expect_exit "a sweep killed the same way: its re-run records nothing twice" 0 "2 configs of this resumed run were already recorded" \
    "$FC" sweep "$T/dup.db" --grid 'lr=1e-3,2e-3' -o "$T/dup.csv" "${SWD[@]}"
[ "$(nruns "$T/dup.db")" = $((base + 3)) ] && ok "... 1 + 2 records" || fail "sweep records: $(nruns "$T/dup.db") (before: $base)"
check "a deliberate second run of the same command (no checkpoint) is recorded" "$FC" train "$T/dup.db" -o "$T/dup.h5" "${TR[@]}" -q
[ "$(nruns "$T/dup.db")" = $((base + 4)) ] && ok "... as a run of its own" || fail "rerun records: $(nruns "$T/dup.db") (before: $base)"

# SIGINT / SIGTERM: the run stops at the next step, saves it (mid-epoch) and says so
# (the hook FC_TEST_CKPT_STOP=E:S acts as a signal during step S of epoch E; 240 images,
# batch 20: 12 steps per epoch)
for at in 3:5 1:1 4:12; do
    rm -f "$T/i.h5" "$T/i.csv"
    e=${at%:*} s=${at#*:}
    if [ "$s" -eq 12 ]; then msg="interrupted after epoch $e"; else msg="interrupted in epoch $e, after step $s of 12"; fi
    expect_exit "signal in epoch $e step $s: stops, exit 1" 1 "$msg" env FC_TEST_CKPT_STOP=$at "$FC" train "$S" -o "$T/i.h5" "${TR[@]}" -q
    grep -q "state saved; run the same command to resume" "$T/.err" && [ -f "$T/i.h5.ckpt" ] && [ ! -e "$T/i.h5" ] \
        && ok "... a checkpoint, no head" || fail "stop at $at: $(cat "$T/.err")"
    check "... the same command resumes" "$FC" train "$S" -o "$T/i.h5" "${TR[@]}" --history "$T/i.csv"
    same_history "$T/ref.csv" "$T/i.csv" && same_weights "$T/ref.h5" "$T/i.h5" \
        && ok "... history and head == uninterrupted (stopped at $at)" || fail "stop at $at: differs"
done
grep -q "and part of the next" "$T/.out" || grep -q "resuming" "$T/.out" && ok "the resume line" || fail "no resume line"
# real SIGTERM (what Slurm sends at the time limit) and SIGINT (Ctrl-C), raised in a step
for sig in TERM INT; do
    rm -f "$T/t.h5" "$T/t.csv"
    expect_exit "SIG$sig in epoch 2 step 7: exit 1, state saved" 1 "interrupted in epoch 2, after step 7 of 12" \
        env FC_TEST_CKPT_STOP=2:7:$sig "$FC" train "$S" -o "$T/t.h5" "${TR[@]}" -q
    check "SIG$sig: the same command resumes" "$FC" train "$S" -o "$T/t.h5" "${TR[@]}" --history "$T/t.csv" -q
    same_history "$T/ref.csv" "$T/t.csv" && same_weights "$T/ref.h5" "$T/t.h5" \
        && ok "SIG$sig: resumed == uninterrupted" || fail "SIG$sig: resumed run differs"
done
expect_exit "SIGINT with --checkpoint-every off: killed by it as before" 130 "" \
    env FC_TEST_CKPT_STOP=2:7:INT "$FC" train "$S" -o "$T/t2.h5" "${TR[@]}" -q --checkpoint-every off
expect_exit "--checkpoint-every off: a stop request is not taken (nothing to save it in)" 0 "" \
    env FC_TEST_CKPT_STOP=2:3 "$FC" train "$S" -o "$T/o.h5" "${TR[@]}" --checkpoint-every off -q

# early stopping: the best weights and the patience counter survive the resume
PT=(--epochs 30 --lr 3e-2 --patience 2 --seed 2 --threads 2)
check "uninterrupted train with --patience" "$FC" train "$S" -o "$T/pref.h5" "${PT[@]}" --history "$T/pref.csv" -q
n=$(($(wc -l <"$T/pref.csv") - 1))
[ "$n" -lt 30 ] && ok "it stops early ($n epochs)" || fail "patience run did not stop early ($n epochs)"
k=$((n - 1))
FC_TEST_CKPT_KILL=$k "$FC" train "$S" -o "$T/p.h5" "${PT[@]}" --checkpoint-every 0 -q >/dev/null 2>&1
expect_exit "--patience run resumes" 0 "resuming" "$FC" train "$S" -o "$T/p.h5" "${PT[@]}" --checkpoint-every 0 --history "$T/p.csv"
same_history "$T/pref.csv" "$T/p.csv" && same_weights "$T/pref.h5" "$T/p.h5" \
    && ok "--patience: same epochs, same restored best weights" || fail "--patience resume differs"

# a stop request in the epoch where early stopping ends training: nothing is left to do,
# the run finishes (exit 0) with the same results
expect_exit "stop request in the early-stopping epoch: the run just finishes" 0 "" \
    env FC_TEST_CKPT_STOP=$n:12 "$FC" train "$S" -o "$T/pe.h5" "${PT[@]}" --checkpoint-every 0 --history "$T/pe.csv" -q
same_history "$T/pref.csv" "$T/pe.csv" && same_weights "$T/pref.h5" "$T/pe.h5" && ok "... same results, no checkpoint left" \
    && [ ! -e "$T/pe.h5.ckpt" ] || fail "early-stop epoch stop: differs or checkpoint left"

# the 3-class softmax head with Adam and L2 (every optimizer state array)
AT=(--epochs 5 --optimizer adam --lr 1e-3 --l2 1e-4 --hidden 32,16 --dropout 0.25 --threads 2)
check "uninterrupted Adam/L2 train" "$FC" train "$T/three.db" -o "$T/aref.h5" "${AT[@]}" --history "$T/aref.csv" -q
FC_TEST_CKPT_KILL=2 "$FC" train "$T/three.db" -o "$T/ad.h5" "${AT[@]}" --checkpoint-every 0 -q >/dev/null 2>&1
check "Adam/L2 run resumes" "$FC" train "$T/three.db" -o "$T/ad.h5" "${AT[@]}" --checkpoint-every 0 --history "$T/ad.csv" -q
same_history "$T/aref.csv" "$T/ad.csv" && same_weights "$T/aref.h5" "$T/ad.h5" \
    && ok "Adam + L2 + two hidden layers: resumed == uninterrupted" || fail "Adam resume differs"

# --- checkpoints that must not be used
mkckpt() { rm -f "$T/c.h5"; FC_TEST_CKPT_KILL=2 "$FC" train "$S" -o "$T/c.h5" "${TR[@]}" --checkpoint-every 0 -q >/dev/null 2>&1; }
mkckpt
expect_exit "other options: not resumed" 0 "written by another run" \
    "$FC" train "$S" -o "$T/c.h5" --epochs 6 --lr 2e-3 --seed 5 --threads 2 --checkpoint-every 0
grep -q "^Epoch 1/6" "$T/.out" && ok "... starts from epoch 1" || fail "did not start from epoch 1"
mkckpt
expect_exit "other --threads: not resumed" 0 "written by another run" \
    "$FC" train "$S" -o "$T/c.h5" --epochs 6 --lr 1e-3 --seed 5 --threads 1 --checkpoint-every 0
check "make a store with other features" "$MK" "$T/s2.db" --classes 0,1 --train 121 --val 40 --test 20
mkckpt
expect_exit "other store contents: not resumed" 0 "written by another run" \
    "$FC" train "$T/s2.db" -o "$T/c.h5" "${TR[@]}" --checkpoint-every 0
mkckpt
"$PY" - "$T/c.h5.ckpt" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x40; open(p, "wb").write(b)
PY
expect_exit "damaged checkpoint: not resumed" 0 "damaged or truncated" "$FC" train "$S" -o "$T/c.h5" "${TR[@]}" --history "$T/c.csv"
same_history "$T/ref.csv" "$T/c.csv" && ok "... trained from scratch == uninterrupted" || fail "damaged: history differs"
mkckpt
truncate -s 100 "$T/c.h5.ckpt"
expect_exit "truncated checkpoint: not resumed" 0 "damaged or truncated" "$FC" train "$S" -o "$T/c.h5" "${TR[@]}"
mkckpt
expect_exit "--no-resume: from epoch 1" 0 "Epoch 1/6" "$FC" train "$S" -o "$T/c.h5" "${TR[@]}" --no-resume
grep -q "resuming" "$T/.out" "$T/.err" && fail "--no-resume resumed" || ok "--no-resume does not resume"
[ ! -e "$T/c.h5.ckpt" ] && ok "--no-resume removed the old checkpoint" || fail "old checkpoint left"
echo "my notes" >"$T/n.h5.ckpt"
expect_exit "a foreign file named like the checkpoint is left alone" 0 "not a featcache checkpoint" \
    "$FC" train "$S" -o "$T/n.h5" "${TR[@]}" --checkpoint-every 0
[ "$(cat "$T/n.h5.ckpt")" = "my notes" ] && ok "... its contents unchanged" || fail "foreign .ckpt file replaced"
mkdir -p "$T/ro" && chmod a-w "$T/ro"
if [ ! -w "$T/ro" ]; then
    expect_exit "unwritable checkpoint folder: a warning, the run goes on" 1 "" \
        "$FC" train "$S" -o "$T/ro/h.h5" "${TR[@]}" --checkpoint-every 0
    grep -q "no checkpoints" "$T/.err" && ok "... says checkpoints are off" || fail "no warning: $(cat "$T/.err")"
else
    ok "# SKIP unwritable folder (running as a user who can write anywhere)"
fi
chmod u+w "$T/ro"
# a checkpoint that cannot be written (file size limit: the checkpoint is about twice the
# head) warns once and the run goes on to write its head
lim=$(( $(stat -c %s "$T/ref.h5") / 1024 + 64 ))
expect_exit "checkpoint over the file size limit: a warning, the run completes" 0 "cannot write checkpoint" \
    bash -c "ulimit -f $lim; exec \"\$0\" \"\$@\"" "$FC" train "$S" -o "$T/fl.h5" "${TR[@]}" --checkpoint-every 0 --history "$T/fl.csv"
[ "$(grep -c "cannot write checkpoint" "$T/.err")" = 1 ] && ok "... one warning" || fail "warnings: $(cat "$T/.err")"
same_history "$T/ref.csv" "$T/fl.csv" && same_weights "$T/ref.h5" "$T/fl.h5" && ok "... same results" || fail "size-limited run differs"
ls "$T" | grep -q 'fl\.h5\.ckpt' && fail "checkpoint or temp left: $(ls "$T" | grep fl)" || ok "... no checkpoint or temp file left"
: >"$T/e.h5.ckpt"
expect_exit "an empty file named like the checkpoint is left alone" 0 "not a featcache checkpoint" \
    "$FC" train "$S" -o "$T/e.h5" "${TR[@]}" --checkpoint-every 0
[ -f "$T/e.h5.ckpt" ] && [ ! -s "$T/e.h5.ckpt" ] && ok "... still there, empty" || fail "empty .ckpt file replaced or removed"
mkfifo "$T/f.h5.ckpt"
expect_exit "a FIFO named like the checkpoint: no hang, left alone" 0 "not a regular file" \
    timeout 60 "$FC" train "$S" -o "$T/f.h5" "${TR[@]}" --checkpoint-every 0
[ -p "$T/f.h5.ckpt" ] && ok "... the FIFO is still there" || fail "FIFO replaced"
expect_exit "--no-resume with a FIFO there: no hang" 0 "" timeout 60 "$FC" train "$S" -o "$T/f.h5" "${TR[@]}" --no-resume -q
# a checkpoint whose checksum and key are right but whose position or counts do not fit
# this run: the checksum and key are computed from public data, so anyone can write such a
# file. It is not used (a warning names it) and the run starts from epoch 1, never reads
# outside its rows (a negative step did) or loops for ever (a step counter past the step)
rm -f "$T/cr.h5.ckpt"
FC_TEST_CKPT_STOP=3:5 "$FC" train "$S" -o "$T/cr.h5" "${TR[@]}" -q >/dev/null 2>&1
craft() { # OFFSET VALUE [COUNT]: set COUNT u32s (default 1) from OFFSET (< 0: from the end)
    "$PY" - "$T/cr.h5.ckpt" "$T/cr2.h5.ckpt" "$1" "$2" "${3:-1}" <<'PY'
import hashlib, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
at, v, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
for k in range(n):
    struct.pack_into("<I", b, at + 4 * k, v)
b[-32:] = hashlib.sha256(bytes(b[:-32])).digest()
open(sys.argv[2], "wb").write(b)
PY
}
# header: u32 steps done at 72, epochs done at 68; the config's state from 84: i64 step
# count, i32 active, i32 wait, f64 x2, i64 correct (116), i64 seen (124)
D0=$("$PY" - "$T/cr.h5.ckpt" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
print(next(k for k in range(1, len(b) // 4) if struct.unpack_from("<Q", b, len(b) - 40 - 4 * k)[0] == k))
PY
)
craft 72 5 # unchanged: the file is sound and resumes
expect_exit "re-sealed unchanged checkpoint resumes" 0 "resuming from $T/cr2.h5.ckpt: 2 of 6 epochs done and part" \
    "$FC" train "$S" -o "$T/cr2.h5" "${TR[@]}"
for fv in "72 999" "72 12" "72 4294967295" "72 2147483648" "68 100" "68 1" "68 4294967295" "84 4294967295 2" \
    "84 100000" "96 7" "116 4294967295" "124 4294967295" "-$((32 + 4 * D0)) 4000000000 $D0"; do
    set -- $fv
    craft "$@"
    rm -f "$T/cr2.csv"
    expect_exit "crafted checkpoint (u32 at $1 = $2): not used, by name" 0 "not resuming from $T/cr2.h5.ckpt" \
        timeout 120 "$FC" train "$S" -o "$T/cr2.h5" "${TR[@]}" --history "$T/cr2.csv"
    grep -q "^Epoch 1/6" "$T/.out" && same_history "$T/ref.csv" "$T/cr2.csv" \
        && ok "... trained from epoch 1 == uninterrupted" || fail "crafted $1 = $2: $(head -c 300 "$T/.err")"
done
expect_exit "--checkpoint-every bad value" 2 "--checkpoint-every" "$FC" train "$S" -o "$T/c.h5" --checkpoint-every soon
expect_exit "--checkpoint-every negative" 2 "--checkpoint-every" "$FC" train "$S" -o "$T/c.h5" --checkpoint-every -5
rm -f "$T/c.h5.ckpt"
FC_TEST_CKPT_KILL=1 "$FC" train "$S" -o "$T/c.h5" "${TR[@]}" --checkpoint-every off -q >/dev/null 2>&1
[ $? -eq 0 ] && [ ! -e "$T/c.h5.ckpt" ] && ok "--checkpoint-every off writes none" || fail "--checkpoint-every off wrote one"
check "default interval: a short run writes no checkpoint" "$FC" train "$S" -o "$T/d.h5" "${TR[@]}" -q
[ ! -e "$T/d.h5.ckpt" ] && ok "... and leaves none" || fail "default run left a checkpoint"

# --- sweep: rounds (--max-memory), killed in a round, between rounds, in the last round
G='lr=1e-3,3e-4 hidden=32,64'
SW=(--epochs 4 --seed 5 --threads 2 --max-memory 300K --checkpoint-every 0)
check "uninterrupted sweep" "$FC" sweep "$S" --grid "$G" -o "$T/sref.csv" --best "$T/sref.h5" "${SW[@]}" -q
for k in 1 4 7 14; do
    rm -f "$T/sk.csv" "$T/sk.h5"
    FC_TEST_CKPT_KILL=$k "$FC" sweep "$S" --grid "$G" -o "$T/sk.csv" --best "$T/sk.h5" "${SW[@]}" -q >/dev/null 2>&1
    rc=$?
    [ "$rc" -eq 137 ] && ok "sweep killed after checkpoint $k" || fail "sweep kill $k: exit $rc"
    expect_exit "sweep re-run resumes ($k)" 0 "resuming from" "$FC" sweep "$S" --grid "$G" -o "$T/sk.csv" --best "$T/sk.h5" "${SW[@]}"
    [ $k = 1 ] && { grep -q "configs finished; [0-9]* in progress with 1 epoch done" "$T/.err" \
        && ok "... and how far the configs in progress were" || fail "sweep resume line: $(grep resuming "$T/.err")"; }
    cmp -s "$T/sref.csv" "$T/sk.csv" && ok "resumed sweep CSV == uninterrupted" || fail "sweep CSV differs (kill $k)"
    same_weights "$T/sref.h5" "$T/sk.h5" && ok "resumed sweep --best head == uninterrupted" || fail "best head differs (kill $k)"
    [ ! -e "$T/sk.csv.ckpt" ] && ok "sweep checkpoint removed" || fail "sweep checkpoint left"
done
grep -q "configs finished" "$T/.err" && ok "the resume says how many configs were finished" || fail "no finished count"
# two groups (batch is a grid axis: configs of different batch sizes see different batches)
G2='batch=10,20 lr=1e-3,3e-4'
check "uninterrupted two-group sweep" "$FC" sweep "$S" --grid "$G2" -o "$T/gref.csv" --best "$T/gref.h5" "${SW[@]}" -q
for k in 3 8; do
    rm -f "$T/g.csv" "$T/g.h5"
    FC_TEST_CKPT_KILL=$k "$FC" sweep "$S" --grid "$G2" -o "$T/g.csv" --best "$T/g.h5" "${SW[@]}" -q >/dev/null 2>&1
    check "two-group sweep resumes ($k)" "$FC" sweep "$S" --grid "$G2" -o "$T/g.csv" --best "$T/g.h5" "${SW[@]}"
    cmp -s "$T/gref.csv" "$T/g.csv" && same_weights "$T/gref.h5" "$T/g.h5" && ok "two groups: resumed == uninterrupted" \
        || fail "two-group sweep differs (kill $k)"
done
# a sweep stopped by a signal: in a round, and at a round's end (between units)
for at in 2:4 4:12; do
    rm -f "$T/ss.csv" "$T/ss.h5"
    expect_exit "sweep stopped at $at" 1 "state saved" env FC_TEST_CKPT_STOP=$at "$FC" sweep "$S" --grid "$G" -o "$T/ss.csv" --best "$T/ss.h5" "${SW[@]}" -q
    check "... resumes" "$FC" sweep "$S" --grid "$G" -o "$T/ss.csv" --best "$T/ss.h5" "${SW[@]}" -q
    cmp -s "$T/sref.csv" "$T/ss.csv" && same_weights "$T/sref.h5" "$T/ss.h5" && ok "... == uninterrupted" || fail "sweep stop $at differs"
done
# resumed with other memory rounds: the configs in progress start over (and say so)
rm -f "$T/mr.csv"
FC_TEST_CKPT_KILL=2 "$FC" sweep "$S" --grid "$G" -o "$T/mr.csv" "${SW[@]}" -q >/dev/null 2>&1
expect_exit "sweep resumed with another --max-memory" 0 "they start over" \
    "$FC" sweep "$S" --grid "$G" -o "$T/mr.csv" --epochs 4 --seed 5 --threads 2 --max-memory 1G --checkpoint-every 0
cmp -s "$T/sref.csv" "$T/mr.csv" && ok "... same CSV" || fail "other rounds: CSV differs"
# a checkpoint of a sweep without --best is not one of a sweep with --best (no head kept)
rm -f "$T/sb.csv"
FC_TEST_CKPT_KILL=6 "$FC" sweep "$S" --grid "$G" -o "$T/sb.csv" "${SW[@]}" -q >/dev/null 2>&1
expect_exit "sweep with --best after a killed sweep without it: not resumed" 0 "written by another run" \
    "$FC" sweep "$S" --grid "$G" -o "$T/sb.csv" --best "$T/sb.h5" "${SW[@]}"
cmp -s "$T/sref.csv" "$T/sb.csv" && same_weights "$T/sref.h5" "$T/sb.h5" && ok "... and its results are right" \
    || fail "sweep --best after foreign checkpoint differs"
finish
