#!/usr/bin/env bash
# train_store.sh - train/sweep/evaluate on synthetic Fashion-MNIST stores (no backbone):
# learning, determinism, sweep == lone train, runs recorded, HEAD.h5, bad inputs.
. "$(dirname "$0")/lib.sh"
MK="$BUILD/tests/tools/mkstore_fmnist"
S="$T/bin.db"
check "make a 2-class store" "$MK" "$S" --classes 0,1 --train 50 --val 25 --test 40
check "make a 3-class store" "$MK" "$T/three.db" --classes 0,1,7 --train 30 --val 15 --test 20
check "make a store from another layer" "$MK" "$T/other.db" --classes 0,1 --train 10 --val 5 --test 5 --layer other
check "make a 3-class store from another layer" "$MK" "$T/other3.db" --classes 0,1,7 --train 10 --val 5 --test 5 --layer other
check "make a one-class store" "$MK" "$T/one.db" --classes 0,1 --train 10 --val 5 --test 5 --one-class
check "make a store without train images" "$MK" "$T/empty.db" --classes 0,1 --train 0 --val 5 --test 5
runs() { "$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from runs').fetchone()[0])" "$1"; }

# --- train: learns, files, determinism
check "train seed-001 style head" "$FC" train "$S" -o "$T/h.h5" --epochs 6 --lr 1e-3 --seed 3 --threads 2 \
    --history "$T/h.csv" --plot "$T/h.png"
[ "$(wc -l <"$T/h.csv")" -eq 7 ] && ok "history has one row per epoch" || fail "history rows: $(wc -l <"$T/h.csv")"
head -1 "$T/h.csv" | grep -q '^epoch,loss,acc,val_loss,val_acc,seconds$' && ok "history header" || fail "history header"
# float32's shortest digits, as Keras's CSVLogger (0.834, not 0.833999991; review 12 B F13)
"$PY" - "$T/h.csv" <<'PY' && ok "history values in float32's shortest digits" || fail "history digits: $(sed -n 2p "$T/h.csv")"
import csv, sys, numpy as np
def digits(s):
    m = s.lower().split("e")[0].replace("-", "").replace(".", "").lstrip("0")
    return len(m.rstrip("0")) if "." in s.lower().split("e")[0] else len(m)
for row in list(csv.reader(open(sys.argv[1])))[1:]:
    for cell in row[1:5]:
        x = np.float32(cell)
        assert np.float32(float(cell)) == x
        assert digits(cell) <= digits(np.format_float_scientific(x, unique=True)), (cell, np.format_float_scientific(x, unique=True))
PY
grep -q "^Epoch 6/6 - .* - loss: .* - acc: .* - val_loss: .* - val_acc: " "$T/.out" && ok "Keras-style epoch lines" \
    || fail "epoch lines missing"
"$PY" -c "from PIL import Image; import sys; im=Image.open(sys.argv[1]); sys.exit(0 if im.format=='PNG' and im.size==(1100,460) else 1)" \
    "$T/h.png" && ok "learning curves PNG" || fail "learning curves PNG"
check "evaluate --json" "$FC" evaluate "$S" "$T/h.h5" --json
cp "$T/.out" "$T/eval.json"
"$PY" - "$T/eval.json" <<'PY' && ok "evaluate --json fields; accuracy beats the majority baseline widely" || fail "evaluate json/accuracy: $(cat "$T/eval.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert set(j) == {"split", "n", "loss", "accuracy", "classes", "per_class", "confusion", "macro_avg",
                  "weighted_avg"}, j.keys()
assert j["split"] == "test" and j["n"] == 80 and j["classes"] == ["T-shirt_top", "Trouser"]
assert len(j["per_class"]) == 2 and set(j["per_class"][0]) == {"precision", "recall", "f1", "support"}
assert sum(map(sum, j["confusion"])) == 80 and j["per_class"][1]["support"] == 40
assert j["accuracy"] > 0.5 + 0.3, j["accuracy"]
# every metric from the confusion matrix, as sklearn's classification_report (zero_division=0)
import numpy as np
C = np.array(j["confusion"], dtype=float)
tp, pred, sup = np.diag(C), C.sum(0), C.sum(1)
P = np.where(pred > 0, tp / np.maximum(pred, 1), 0); R = np.where(sup > 0, tp / np.maximum(sup, 1), 0)
F = np.where(P + R > 0, 2 * P * R / np.maximum(P + R, 1e-300), 0)
for c, m in enumerate(j["per_class"]):
    assert abs(m["precision"] - P[c]) < 1e-7 and abs(m["recall"] - R[c]) < 1e-7 and abs(m["f1"] - F[c]) < 1e-7, m
for name, w in (("macro_avg", np.ones_like(sup)), ("weighted_avg", sup)):
    for key, v in (("precision", P), ("recall", R), ("f1", F)):
        assert abs(j[name][key] - (v * w).sum() / w.sum()) < 1e-7, (name, key, j[name])
assert abs(j["accuracy"] - tp.sum() / C.sum()) < 1e-7
PY
# --- info on a head: layers, parameters, classes, settings, the features it takes
check "info HEAD.h5" "$FC" info "$T/h.h5"
cp "$T/.out" "$T/hinfo.txt"
"$FC" info "$S" >"$T/sinfo.txt"
$PY - "$T/h.h5" "$T/hinfo.txt" "$T/sinfo.txt" <<'PY' && ok "info HEAD.h5: layers, parameter count (h5py), classes, settings, store fingerprint" \
    || fail "info HEAD.h5: $(cat "$T/hinfo.txt")"
import h5py, sys
f = h5py.File(sys.argv[1], "r")
n = 0
def count(name, obj):
    global n
    if isinstance(obj, h5py.Dataset): n += obj.size
f["model_weights"].visititems(count)
out = open(sys.argv[2]).read()
fp = [l.split()[1] for l in open(sys.argv[3]) if l.startswith("fingerprint")][0]
assert f"parameters   {n}\n" in out, n
assert "layers       input 14x14x2 -> Flatten (392) -> Dense 256 relu -> Dropout 0.5 -> Dense 1 sigmoid" in out
assert "classes      2: T-shirt_top Trouser" in out and "lr=0.001" in out and "seed=3" in out
assert f"features     fingerprint {fp}" in out
PY
head -c 3000 "$T/h.h5" >"$T/trunc_head.h5"
expect_exit "info on a truncated head" 1 "trunc_head.h5" "$FC" info "$T/trunc_head.h5"
# class names with a space or a quote are quoted in info's classes line (a space-separated
# list read two ways)
cp "$T/h.h5" "$T/hq.h5"
$PY -c 'import h5py, json, sys; f = h5py.File(sys.argv[1], "r+"); f.attrs["class_names"] = json.dumps(["T shirt", "say \"hi\""])' "$T/hq.h5" \
    && check "info HEAD.h5 with spaced class names" "$FC" info "$T/hq.h5" \
    && grep -qF 'classes      2: "T shirt" "say \"hi\""' "$T/.out" && ok "... quoted" || fail "quoted class names: $(grep classes "$T/.out")"
expect_exit "evaluate HEAD STORE (swapped)" 2 "the order is evaluate STORE HEAD.h5" "$FC" evaluate "$T/h.h5" "$S"
expect_exit "evaluate STORE STORE: the second is no head" 2 "bin.db is a feature store (SQLite), not a head" \
    "$FC" evaluate "$S" "$S"
check "evaluate report" "$FC" evaluate "$S" "$T/h.h5" --split validation
grep -q "confusion matrix" "$T/.out" && grep -q "precision  recall  f1-score  support" "$T/.out" \
    && grep -Eq "^ +macro avg +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+$" "$T/.out" && grep -q "^weighted avg " "$T/.out" && ok "evaluate text report" \
    || fail "evaluate text report"
# review 11 U F3: confusion-matrix columns are not cut to 8 characters; names past 16 are
# replaced by class indices, which each row then shows
grep -A1 "^confusion matrix" "$T/.out" | grep -q " T-shirt_top  *Trouser$" && ok "confusion matrix headed by whole class names" \
    || fail "confusion header: $(grep -A1 '^confusion matrix' "$T/.out" | tail -1)"
cp "$S" "$T/longnames.db"
"$PY" -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"update classes set name = name || '_with_a_long_suffix'\"); c.commit()" "$T/longnames.db"
"$FC" train "$T/longnames.db" -o "$T/longnames.h5" --epochs 1 -q >/dev/null 2>&1
check "evaluate with class names of 30 characters" "$FC" evaluate "$T/longnames.db" "$T/longnames.h5" --split test
grep -A3 "^confusion matrix" "$T/.out" | tr -s ' ' | grep -q "^ \[0\] \[1\]$" \
    && grep -q "^T-shirt_top_with_a_long_suffix  \[0\] " "$T/.out" && ok "... columns by class index, rows name theirs" \
    || fail "long-name confusion matrix: $(grep -A3 '^confusion matrix' "$T/.out")"
check "info with class names of 30 characters" "$FC" info "$T/longnames.db"
grep -q "^  T-shirt_top_with_a_long_suffix  " "$T/.out" && ok "... shown whole" || fail "info names: $(grep -A2 '^  class' "$T/.out")"
"$PY" -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"update classes set name = name || '_and_longer_still'\"); c.commit()" "$T/longnames.db"
check "info with class names of 47 characters" "$FC" info "$T/longnames.db"
grep -q "^  T-shirt_top_with_a_long_suffix_and_lo\.\.\.  " "$T/.out" && ok "... cut to 40 with a '...' mark" \
    || fail "info long names: $(grep -A2 '^  class' "$T/.out")"
check "train again, same seed" "$FC" train "$S" -o "$T/h2.h5" --epochs 6 --lr 1e-3 --seed 3 --threads 2 --history "$T/h2.csv" -q
cmp -s <(cut -d, -f1-5 "$T/h.csv") <(cut -d, -f1-5 "$T/h2.csv") && ok "same seed and threads: identical history" \
    || fail "histories differ"
check "train, 1 thread" "$FC" train "$S" -o "$T/h3.h5" --epochs 6 --lr 1e-3 --seed 3 --threads 1 --history "$T/h3.csv" -q
"$PY" - "$T/h.csv" "$T/h3.csv" <<'PY' && ok "1 vs 2 threads agree to float32 rounding" || fail "threads disagree"
import sys
a = [l.split(",")[1:5] for l in open(sys.argv[1]).read().split()[1:]]
b = [l.split(",")[1:5] for l in open(sys.argv[2]).read().split()[1:]]
assert max(abs(float(x) - float(y)) for r, s in zip(a, b) for x, y in zip(r, s)) < 1e-4
PY
check "train 3 classes (softmax), 2 hidden layers, gap, adam, patience" "$FC" train "$T/three.db" -o "$T/t.h5" \
    --hidden 32,16 --pool gap --optimizer adam --epochs 8 --patience 3 --class-weight balanced --l2 1e-4 -q
check "evaluate the 3-class head" "$FC" evaluate "$T/three.db" "$T/t.h5" --json
grep -q '"classes":\["Sneaker","T-shirt_top","Trouser"\]' "$T/.out" && ok "3-class evaluate" || fail "3-class evaluate"
check "train gmp, linear classifier, sgd nesterov" "$FC" train "$S" -o "$T/l.h5" --pool gmp --hidden 0 \
    --optimizer sgd --momentum 0.9 --nesterov --epochs 3 -q

# --- runs are recorded
n0=$(runs "$S")
[ "$n0" -eq 4 ] && ok "4 train runs recorded" || fail "runs after 4 trains: $n0"

# --- sweep
check "sweep 2x2x2" "$FC" sweep "$S" --grid 'lr=1e-4,1e-3 hidden=16,64 dropout=0,0.5' --epochs 4 --seed 3 \
    --threads 2 -o "$T/r.csv" --best "$T/best.h5" --plot "$T/sweep.png"
[ "$(wc -l <"$T/r.csv")" -eq 9 ] && ok "one CSV row per config" || fail "results rows"
grep -q "^rank  config  val_acc" "$T/.out" && ok "leaderboard on stdout" || fail "no leaderboard"
[ "$(runs "$S")" -eq $((n0 + 8)) ] && ok "each sweep config recorded" || fail "sweep runs: $(runs "$S")"
check "lone train of sweep config 4" "$FC" train "$S" -o "$T/c4.h5" --epochs 4 --seed 3 --threads 2 --lr 1e-4 \
    --hidden 64 --dropout 0.5 --history "$T/c4.csv" -q
[ "$(grep '^4,' "$T/r.csv" | cut -d, -f22-25)" = "$(tail -1 "$T/c4.csv" | cut -d, -f2-5)" ] \
    && ok "sweep row == lone train run of its config" || fail "sweep row differs from lone run"
# the run's record keeps every digit float32 has: runs ID --json's history and metrics and
# runs ID's result line read as --history and the sweep CSV (7 significant digits had been
# kept: final_loss 0.1053314 in runs, 0.10533144 in the CSV, another float32)
"$FC" runs "$S" --json >"$T/c4runs.json"
"$FC" runs "$S" "$(runs "$S")" >"$T/c4run.txt"
"$PY" - "$T/c4runs.json" "$T/c4.csv" "$T/r.csv" "$T/c4run.txt" <<'PY' && ok "runs record the history and metrics to every float32 digit" \
    || fail "runs record digits: $(grep '^result' "$T/c4run.txt"; tail -1 "$T/c4.csv")"
import csv, json, sys
import numpy as np
run = json.load(open(sys.argv[1]))[-1]
hist = list(csv.DictReader(open(sys.argv[2])))
row = next(r for r in csv.DictReader(open(sys.argv[3])) if r["config"] == "4")
for k in ("loss", "acc", "val_loss", "val_acc"):
    assert [np.float32(v) for v in run["history"][k]] == [np.float32(h[k]) for h in hist], k
    assert [repr(v) for v in run["history"][k]] == [repr(float(h[k])) for h in hist], k
for k in ("final_loss", "final_acc", "final_val_loss", "final_val_acc", "best_val_loss", "best_val_acc"):
    assert repr(run["metrics"][k]) == repr(float(row[k])), (k, run["metrics"][k], row[k])
result = dict(kv.split("=") for kv in next(l for l in open(sys.argv[4]) if l.startswith("result")).split()[1:])
for k in ("final_loss", "final_val_loss", "best_val_loss"):
    assert result[k] == repr(float(row[k])), (k, result[k], row[k])
PY
check "evaluate the sweep's best head" "$FC" evaluate "$S" "$T/best.h5"
# review 11 U F4: progress goes on after the first config of a group has finished
cp "$S" "$T/prog.db"
expect_exit "sweep progress past the first config's last epoch" 0 "epoch 4/4" \
    "$FC" sweep "$T/prog.db" --grid 'epochs=2,4' -o "$T/ep.csv"
# a grid with a batch axis trains a group per batch size; progress names what each shares
cp "$S" "$T/grp.db"
expect_exit "sweep with a batch axis: a group per value, named" 0 \
    "sweep: group 2/2: 2 config(s) sharing pool=flatten batch=16 seed=1 augment=false, trained together" \
    "$FC" sweep "$T/grp.db" --grid 'batch=8,16 lr=1e-4,1e-3' --epochs 1 -o "$T/grp.csv"
# the sweep plot's legend of long labels widens the image rather than running off its edge
cp "$S" "$T/long.db"
check "sweep with five two-valued axes (long legend labels)" "$FC" sweep "$T/long.db" \
    --grid 'lr=1e-4,1e-3 hidden=16,32 dropout=0.25,0.5 optimizer=adam,rmsprop class_weight=none,balanced' --epochs 1 \
    -o "$T/long.csv" --plot "$T/long.png" -q
"$PY" - "$T/long.png" <<'PY' && ok "... image wider than 1200 px, legend inside it" || fail "long legend: $(cat "$T/long.png.txt")"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
px = im.load()
# the legend box's grey border: its rightmost column must lie inside the image
grey = lambda p: p[0] == p[1] == p[2] and 160 <= p[0] <= 200
right = max((x for x in range(w) for y in range(60, 70) if grey(px[x, y])), default=-1)
ok = w > 1200 and 0 < right < w - 5
open(sys.argv[1] + ".txt", "w").write("width %d, legend right edge %d" % (w, right))
sys.exit(0 if ok else 1)
PY

# --- the "saved" line says whose weights HEAD.h5 holds: the last epoch's, or with --patience the
# restored lowest-val_loss epoch's (evaluate on the validation split gives that epoch's val_loss)
for pat in 0 2; do
    check "train --lr 0.1 --patience $pat: summary line" "$FC" train "$S" -o "$T/w$pat.h5" --epochs 12 --lr 0.1 \
        --seed 3 --threads 1 --patience $pat --history "$T/w$pat.csv"
    grep '^saved' "$T/.out" >"$T/w$pat.txt"
    "$FC" evaluate "$S" "$T/w$pat.h5" --split validation --json >"$T/w$pat.json"
    $PY - "$T/w$pat.txt" "$T/w$pat.csv" "$T/w$pat.json" $pat <<'PY' && ok "patience $pat: the saved line names the epoch whose weights the head holds" \
        || fail "patience $pat: $(cat "$T/w$pat.txt")"
import csv, json, re, sys
line = open(sys.argv[1]).read()
h = list(csv.DictReader(open(sys.argv[2])))
ev = json.load(open(sys.argv[3]))
pat = int(sys.argv[4])
vl = [float(r["val_loss"]) for r in h]
best = vl.index(min(vl)) + 1
held = best if pat else len(h)
m = re.search(r"weights (after|of) epoch (\d+) of 12 \(val_loss ([0-9.]+), val_acc", line)
assert m and m.group(1) == ("of" if pat else "after") and int(m.group(2)) == held, (line, held)
assert abs(float(m.group(3)) - ev["loss"]) < 1e-4 and abs(vl[held - 1] - ev["loss"]) < 1e-4, (line, ev["loss"])
if pat:
    assert "restored by --patience" in line and (len(h) == 12 or f"stopped early after epoch {len(h)}" in line), line
else:
    assert best != len(h), "test needs a run whose lowest val_loss is not at the last epoch"
    assert f"lowest val_loss {min(vl):.4f} at epoch {best} " in line and "best epoch" not in line, line
PY
    # review 11 U F11: HEAD.h5 records which epoch's weights it holds (featcache_result), and info shows it
    # (a damaged record is shown as such; the head still loads and evaluates)
    if [ $pat = 0 ]; then
        cp "$T/w0.h5" "$T/wbad.h5"
        "$PY" -c 'import h5py, sys; h5py.File(sys.argv[1], "a").attrs["featcache_result"] = "not json"' "$T/wbad.h5"
        expect_exit "info on a head whose featcache_result is damaged" 0 "featcache_result is not a JSON object" \
            "$FC" info "$T/wbad.h5"
        check "... it still evaluates" "$FC" evaluate "$S" "$T/wbad.h5"
    fi
    "$FC" info "$T/w$pat.h5" >"$T/wi$pat.txt" 2>&1
    $PY - "$T/wi$pat.txt" "$T/w$pat.csv" $pat <<'PY' && ok "patience $pat: info HEAD.h5 names the epoch its weights are from" \
        || fail "patience $pat info: $(grep '^weights' "$T/wi$pat.txt")"
import csv, re, sys
info = open(sys.argv[1]).read()
h = list(csv.DictReader(open(sys.argv[2])))
pat = int(sys.argv[3])
vl = [float(r["val_loss"]) for r in h]
held = vl.index(min(vl)) + 1 if pat else len(h)
m = re.search(r"^weights +epoch (\d+) of (\d+) run(.*): val_loss ([0-9.]+), val_acc ([0-9.]+)", info, re.M)
assert m and int(m.group(1)) == held and int(m.group(2)) == len(h), (info, held)
assert abs(float(m.group(4)) - vl[held - 1]) < 1e-4, (m.group(4), vl[held - 1])
assert ("restored by --patience" in m.group(3)) == bool(pat), m.group(3)
PY
done

# --- epoch lines as Keras's Progbar prints a metric: %.4f above 1e-3, else %.4e (a converged
# loss of 0.00039 had read 0.0004, Keras 3.8629e-04), and every digit of a diverged head's
# huge loss (cut to 31 characters, 2545386470175549567583038994366, with no decimals)
cp "$S" "$T/kp.db"
for args in "--optimizer adam --lr 3e-3 --hidden 128,64 --dropout 0 --epochs 60" \
            "--optimizer sgd --lr 10 --l2 1 --hidden 8 --epochs 3"; do
    # shellcheck disable=SC2086
    "$FC" train "$T/kp.db" -o "$T/kp.h5" --threads 1 --history "$T/kp.csv" $args >"$T/kp.out" 2>"$T/kp.err"
    "$PY" - "$T/kp.csv" "$T/kp.out" <<'PY' && ok "epoch lines and saved line in Keras's Progbar format: $args" \
        || fail "epoch lines ($args): $(grep -m2 'e-0[0-9]\|[0-9]\{20\}' "$T/kp.out")"
import csv, sys
import numpy as np
def keras(v):   # generic_utils.Progbar, verbose 2
    v = float(np.float32(v))
    return "nan" if v != v else ("%.4f" % v if v > 1e-3 else "%.4e" % v)
hist = list(csv.DictReader(open(sys.argv[1])))
lines = [l for l in open(sys.argv[2]) if l.startswith("Epoch ")]
assert len(lines) == len(hist), (len(lines), len(hist))
small = 0
for h, l in zip(hist, lines):
    want = " - ".join("%s: %s" % (k, keras(h[k])) for k in ("loss", "acc", "val_loss", "val_acc"))
    assert l.rstrip("\n").endswith(want), (l, want)
    small += float(h["loss"]) <= 1e-3
saved = open(sys.argv[2]).read().split("saved ")[1]
assert "(val_loss %s, val_acc %s)" % (keras(hist[-1]["val_loss"]), keras(hist[-1]["val_acc"])) in saved, saved
assert small or max(float(h["loss"]) for h in hist) > 1e30, "no loss below 1e-3 nor a huge one: the case tests nothing"
PY
done

# --- --patience when no epoch has a finite val_loss (lr 10 with l2 1: the weights overflow
# in epoch 1): nothing to restore, HEAD.h5 keeps the last epoch's weights, as tf.keras's
# EarlyStopping does when it has no best weights (HEAD.h5 had got the untrained initial
# weights, said to be epoch 1's), and the summary says so
cp "$S" "$T/nan.db"
div="--optimizer sgd --lr 10 --l2 1 --hidden 8 --batch 1 --threads 1"
# shellcheck disable=SC2086
"$FC" train "$T/nan.db" -o "$T/nanp.h5" $div --epochs 6 --patience 2 --history "$T/nanp.csv" >"$T/nanp.out" 2>&1
# shellcheck disable=SC2086
"$FC" train "$T/nan.db" -o "$T/nan2.h5" $div --epochs 2 >"$T/nan2.out" 2>&1
"$FC" info "$T/nanp.h5" >"$T/nanp.info" 2>&1
"$PY" - "$T/nanp.h5" "$T/nan2.h5" "$T/nanp.csv" <<'PY' && grep -q "weights after epoch 2 of 6 (val_loss nan, val_acc .*); no epoch had a finite val_loss: the last epoch's weights are kept; stopped early after epoch 2" "$T/nanp.out" \
    && grep -q "^weights  *epoch 2 of 2 run (stopped early)" "$T/nanp.info" && ! grep -q "lowest val_loss nan" "$T/nan2.out" \
    && ok "--patience with no finite val_loss: the last epoch's weights, said so" \
    || fail "--patience, all val_loss NaN: $(grep saved "$T/nanp.out" "$T/nan2.out"; grep '^weights' "$T/nanp.info")"
import sys, h5py, numpy as np
def weights(p):
    with h5py.File(p, "r") as f:
        g = f["model_weights"]
        return [np.array(g[l][w]) for l in g for w in g[l].attrs["weight_names"]]
a, b = weights(sys.argv[1]), weights(sys.argv[2])
assert len(open(sys.argv[3]).read().split()) == 3, "history: 2 epochs"
assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b)), "HEAD.h5 is not epoch 2's weights"
PY

# --- --plot draws PNG only: a name matplotlib's savefig would write as another format (.pdf,
# .svg, .jpg ...) is a usage error, not PNG bytes under that name; any case of .png, or no
# extension, is PNG
for p in curves.pdf curves.SVG curves.jpg curves.eps; do
    expect_exit "train --plot $p: PNG only" 2 "--plot $T/$p: featcache draws PNG only" \
        "$FC" train "$S" -o "$T/pl.h5" --epochs 1 --plot "$T/$p"
    [ ! -e "$T/$p" ] || fail "train --plot $p: written"
done
expect_exit "sweep --plot curves.pdf: PNG only" 2 "--plot $T/sw.pdf: featcache draws PNG only" \
    "$FC" sweep "$S" --grid 'lr=1e-4,1e-3' --epochs 1 -o "$T/pl.csv" --plot "$T/sw.pdf"
cp "$S" "$T/pl.db"
check "train --plot curves.PNG" "$FC" train "$T/pl.db" -o "$T/pl.h5" --epochs 1 --plot "$T/curves.PNG" -q
check "train --plot without an extension" "$FC" train "$T/pl.db" -o "$T/pl.h5" --epochs 1 --plot "$T/curves" -q

# the plot of that run draws its validation accuracy (0.5 each epoch) though every val_loss
# is NaN (the accuracy panel had left the validation curve and its legend out)
# shellcheck disable=SC2086
check "plot of a head diverged in epoch 1" "$FC" train "$T/nan.db" -o "$T/nan3.h5" $div --epochs 3 --plot "$T/nan3.png" -q
"$PY" - "$T/nan3.png" <<'PY' && ok "the plot draws validation accuracy when val_loss is NaN" || fail "no validation accuracy curve in $T/nan3.png"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
red = sum(1 for x in range(80, 520) for y in range(70, 390) if (lambda p: p[0] > 200 and p[1] < 80 and p[2] < 80)(im.getpixel((x, y))))
assert red > 50, red
PY

# --- a negative zero is zero: --l2 -0 --dropout -0 (and a sweep's -0 values) are recorded and
# shown as 0.0, as Keras's Dropout(rate=0.0) (they read l2=-0.0, dropout=-0.0, Dropout -0.0)
cp "$S" "$T/nz.db"
check "train --l2 -0 --dropout -0 --momentum -0" "$FC" train "$T/nz.db" -o "$T/nz.h5" --l2 -0 --dropout -0 \
    --optimizer sgd --momentum -0 --epochs 1 -q
check "sweep 'l2=-0,0.001 dropout=-0.0'" "$FC" sweep "$T/nz.db" --grid 'l2=-0,0.001 dropout=-0.0' --epochs 1 \
    -o "$T/nz.csv" -q
"$FC" info "$T/nz.h5" >"$T/nz.info"; "$FC" runs "$T/nz.db" >"$T/nz.runs"; "$FC" runs "$T/nz.db" --json >"$T/nz.json"
h5dump -a /model_config "$T/nz.h5" >"$T/nz.cfg" 2>&1
if grep -q -- '-0\.0\|-0[,"]' "$T/nz.info" "$T/nz.runs" "$T/nz.json" "$T/nz.csv" "$T/nz.cfg"; then
    fail "a -0 option shown as negative zero: $(grep -h -o -- '[a-z_0-9]*[=:" ]*-0\.0*' "$T/nz.info" "$T/nz.runs" "$T/nz.json" "$T/nz.csv" "$T/nz.cfg" | sort -u | tr '\n' ' ')"
else ok "--l2 -0, --dropout -0, --momentum -0: recorded and shown as 0.0"; fi

# --- an option that would not shape the head is refused, not recorded as if used (on a copy:
# the runs table checks below count the runs of $S)
NA="$T/na.db"; cp "$S" "$NA"
for args in "--momentum 0.9|--momentum applies to --optimizer sgd; this run uses rmsprop" \
            "--optimizer adam --rho 0.5|--rho applies to --optimizer rmsprop; this run uses adam" \
            "--optimizer sgd --nesterov|--nesterov applies to --optimizer sgd with --momentum > 0; this run has momentum 0" \
            "--optimizer adam --nesterov --momentum 0.9|--momentum applies to --optimizer sgd; this run uses adam" \
            "--hidden 0 --dropout 0.5|--dropout applies to hidden layers; this run has --hidden 0" \
            "--hidden 0 --activation tanh|--activation applies to hidden layers; this run has --hidden 0"; do
    # shellcheck disable=SC2086
    expect_exit "train ${args%%|*}: refused" 2 "${args#*|}" "$FC" train "$NA" -o "$T/na.h5" ${args%%|*} --epochs 1
done
r0=$(runs "$NA")
check "train --hidden 0 (default dropout and activation do not apply)" "$FC" train "$NA" -o "$T/na.h5" --hidden 0 \
    --epochs 1 -q
"$FC" info "$T/na.h5" >"$T/na.txt"
grep "^trained with" "$T/na.txt" | grep -q "hidden=0 optimizer=rmsprop" && ! grep -Eq "dropout|activation|momentum|nesterov" "$T/na.txt" \
    && ok "info: no dropout, activation, momentum or nesterov on an rmsprop head without hidden layers" \
    || fail "info shows settings that had no effect: $(grep '^trained' "$T/na.txt")"
"$FC" runs "$NA" --json >"$T/na.json"
$PY - "$T/na.json" <<'PY' && ok "runs: only the settings that shaped the head" || fail "runs config: $(tail -c 600 "$T/na.json")"
import json, sys
c = json.load(open(sys.argv[1]))[-1]["config"]
assert c["hidden"] == [] and c["optimizer"] == "rmsprop" and c["rho"] == 0.9, c
assert not set(c) & {"dropout", "activation", "momentum", "nesterov"}, c
PY
[ "$(runs "$NA")" -eq $((r0 + 1)) ] && ok "refused trains recorded nothing" || fail "runs: $(runs "$NA") after $r0"
# a sweep: a fixed option or an axis that shapes no config is refused; configs that train the
# same head are trained once
expect_exit "sweep: a momentum axis without sgd" 2 "axis 'momentum' applies to --optimizer sgd; no config of this sweep qualifies" \
    "$FC" sweep "$NA" --grid 'momentum=0,0.9 dropout=0,0.5' -o "$T/na.csv" --epochs 1
expect_exit "sweep: a fixed --rho without rmsprop" 2 "--rho applies to --optimizer rmsprop; no config of this sweep qualifies" \
    "$FC" sweep "$NA" --grid 'optimizer=adam,sgd' --rho 0.5 -o "$T/na.csv" --epochs 1
expect_exit "sweep: an option both fixed and an axis" 2 "--lr is also a grid axis" \
    "$FC" sweep "$NA" --grid 'lr=1e-3,1e-4' --lr 1e-2 -o "$T/na.csv" --epochs 1
[ ! -e "$T/na.csv" ] && ok "refused sweeps wrote nothing" || fail "a refused sweep wrote na.csv"
r0=$(runs "$NA")
expect_exit "sweep: configs that differ only in settings with no effect are dropped" 0 \
    "8 configs, 2 identical ones dropped (each trains the same head as a config kept): 'hidden=16 optimizer=adam momentum=0.9' = 'hidden=16 optimizer=adam momentum=0.0'" \
    "$FC" sweep "$NA" --grid 'optimizer=sgd,adam momentum=0,0.9 hidden=16,0' --dropout 0.25 --epochs 2 --seed 3 \
    --threads 2 -o "$T/dd.csv"
grep -q "momentum: applies to --optimizer sgd" "$T/.err" && ok "... naming the setting that made no difference" \
    || fail "dedupe note: $(cat "$T/.err")"
cp "$S" "$T/drop1.db"
expect_exit "sweep: one config dropped is 'one', not 'ones'" 0 \
    "4 configs, 1 identical one dropped (each trains the same head as a config kept): 'optimizer=adam momentum=0.9' = 'optimizer=adam momentum=0.0'" \
    "$FC" sweep "$T/drop1.db" --grid 'optimizer=sgd,adam momentum=0,0.9' --epochs 1 --threads 2 -o "$T/dd1.csv"
$PY - "$T/dd.csv" <<'PY' && ok "sweep CSV: 6 distinct configs, cells of settings with no effect empty" || fail "dd.csv: $(cat "$T/dd.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["label"] for r in rows] == ["hidden=16 optimizer=sgd momentum=0.0", "hidden=0 optimizer=sgd momentum=0.0",
                                      "hidden=16 optimizer=sgd momentum=0.9", "hidden=0 optimizer=sgd momentum=0.9",
                                      "hidden=16 optimizer=adam", "hidden=0 optimizer=adam"], [r["label"] for r in rows]
for r in rows:
    assert r["rho"] == "", r
    assert (r["momentum"] == "") == (r["optimizer"] == "adam"), r
    assert (r["dropout"] == "") == (r["hidden"] == "0") and (r["activation"] == "") == (r["hidden"] == "0"), r
    assert r["nesterov"] == ("0" if r["momentum"] == "0.9" else ""), r
assert rows[0]["dropout"] == "0.25"
PY
[ "$(runs "$NA")" -eq $((r0 + 6)) ] && ok "sweep: 6 runs recorded" || fail "runs after the deduped sweep: $(runs "$NA") after $r0"
check "lone train of the deduped sweep's config 5" "$FC" train "$NA" -o "$T/dd5.h5" --optimizer adam --hidden 16 \
    --dropout 0.25 --epochs 2 --seed 3 --threads 2 --history "$T/dd5.csv" -q
[ "$(grep '^5,' "$T/dd.csv" | cut -d, -f22-25)" = "$(tail -1 "$T/dd5.csv" | cut -d, -f2-5)" ] \
    && ok "deduped sweep row == lone train run of its config" || fail "deduped sweep row differs from lone run"

# --- settings are shown one way: sweep labels (leaderboard, CSV, notes) in the order of
# the runs table, runs ID and info HEAD.h5 (pool, hidden, activation, dropout, optimizer,
# lr, ...) whatever the grid's order, and each value as they show it
"$MK" "$T/order.db" --classes 0,1 --train 20 --val 10 --test 5 >/dev/null || fail "make order.db"
check "sweep with axes in another order" "$FC" sweep "$T/order.db" --grid 'lr=1e-4,2e-5 dropout=0.25,0.5 hidden=16' \
    --epochs 1 --threads 2 -o "$T/order.csv"
cp "$T/.out" "$T/order.board"
"$FC" runs "$T/order.db" >"$T/order.runs"
for id in 1 2 3 4; do "$FC" runs "$T/order.db" $id | grep '^config ' >>"$T/order.cfg"; done
$PY - "$T/order.csv" "$T/order.runs" "$T/order.cfg" "$T/order.board" <<'PY' && ok "sweep labels: the runs table's order and values" \
    || fail "labels and runs differ: $(cut -d, -f2 "$T/order.csv" | tr '\n' ' '); $(cat "$T/order.runs" "$T/order.cfg")"
import csv, sys
labels = [r["label"].split() for r in csv.DictReader(open(sys.argv[1]))]
rows = [l.split()[7:] for l in open(sys.argv[2]) if l.split() and l.split()[0].isdigit()]
cfgs = [l.split()[1:] for l in open(sys.argv[3])]
board = {int(l.split()[1]): l.split()[5:] for l in open(sys.argv[4]) if l[:4].strip().isdigit()}  # rank config ...
assert len(labels) == len(rows) == len(cfgs) == len(board) == 4, (labels, rows, cfgs, board)
def in_order(part, whole):  # part's settings are settings of whole, in whole's order
    pos = [whole.index(t) for t in part]
    return pos == sorted(pos)
assert labels[0] == ["hidden=16", "dropout=0.25", "lr=0.0001"], labels[0]
for k in range(4):
    assert board[k + 1] == labels[k], (board[k + 1], labels[k])
    assert in_order(labels[k], cfgs[k]), (labels[k], cfgs[k])
    assert in_order(rows[k], labels[k]), (rows[k], labels[k])  # the settings that differ between runs
PY
expect_exit "sweep: the note on dropped configs in that order too" 0 \
    "'optimizer=adam momentum=0.9 seed=5' = 'optimizer=adam momentum=0.0 seed=5'" \
    "$FC" sweep "$T/order.db" --grid 'seed=5 momentum=0,0.9 optimizer=sgd,adam' --hidden 0 --epochs 1 -o "$T/order2.csv" -q
# the learning rate (and every real setting) as Python's repr prints it, as Keras users
# compare: 1.5e-4 typed is 0.00015, 1e-5 is 1e-05, 1 is 1.0, and all of float32's digits
# (%g had cut 0.000123456789 to 0.000123457)
"$MK" "$T/lr.db" --classes 0,1 --train 20 --val 10 --test 5 >/dev/null || fail "make lr.db"
check "sweep lr axis" "$FC" sweep "$T/lr.db" --grid 'lr=1.5e-4,1e-5,1,0.000123456789' --hidden 0 --epochs 1 --threads 2 \
    -o "$T/lr.csv" --best "$T/lr.h5"
cp "$T/.out" "$T/lr.board"
"$FC" runs "$T/lr.db" >"$T/lr.runs"
for id in 1 2 3 4; do "$FC" runs "$T/lr.db" $id | grep '^config ' >>"$T/lr.cfg"; done
"$FC" info "$T/lr.h5" | grep '^trained with' >"$T/lr.info"
$PY - "$T/lr.csv" "$T/lr.board" "$T/lr.runs" "$T/lr.cfg" "$T/lr.info" <<'PY' && ok "lr as Python's repr: sweep labels, CSV, leaderboard, runs, runs ID, info HEAD.h5" \
    || fail "lr shown: $(cat "$T/lr.csv" "$T/lr.board" "$T/lr.runs" "$T/lr.cfg" "$T/lr.info")"
import csv, re, sys
import numpy as np
want = [repr(float(str(np.float32(x)))) for x in (1.5e-4, 1e-5, 1.0, 0.000123456789)]
assert want == ["0.00015", "1e-05", "1.0", "0.00012345679"], want
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["label"] for r in rows] == ["lr=" + w for w in want], [r["label"] for r in rows]
assert [r["lr"] for r in rows] == want, [r["lr"] for r in rows]
lr = lambda path: re.findall(r"\blr=(\S+)", open(path).read())
board = [l.split()[5] for l in open(sys.argv[2]) if l[:4].strip().isdigit()]  # rank config ... options
assert sorted(board) == sorted("lr=" + w for w in want), board
assert lr(sys.argv[3]) == want and lr(sys.argv[4]) == want, (lr(sys.argv[3]), lr(sys.argv[4]))
assert lr(sys.argv[5])[0] in want, lr(sys.argv[5])
assert re.search(r"\bl2=0\.0\b", open(sys.argv[4]).read()), "l2 0 as 0.0"
PY
# --- an HDF5 export trains too (not a store: nothing to record); runs lists the store's runs
check "export the store" "$FC" export "$S" "$T/exp.h5"
expect_exit "train on an HDF5 export" 0 "run not recorded" "$FC" train "$T/exp.h5" -o "$T/e.h5" --epochs 2 -q
check "evaluate an export" "$FC" evaluate "$T/exp.h5" "$T/e.h5" --json

# --- a head larger than the machine's memory and swap is refused before training (not killed part way)
avail_kb=$(awk '/^MemAvailable:/ {m = $2} /^SwapFree:/ {s = $2} END {print m + s}' /proc/meminfo)
if [ "$avail_kb" -lt 100000000 ]; then # 4 x 65536 hidden units: ~150 GiB of weights and state
    sha_before=$(sha256sum "$S" | cut -d' ' -f1); r0=$(runs "$S")
    expect_exit "train: a head larger than memory and swap" 1 "memory and swap available" "$FC" train "$S" \
        -o "$T/huge.h5" --hidden 65536,65536,65536,65536 --epochs 1
    grep -q "GiB for its weights" "$T/.err" && ok "says how much it needs" || fail "message: $(cat "$T/.err")"
    [ ! -e "$T/huge.h5" ] && [ "$(runs "$S")" = "$r0" ] && [ "$(sha256sum "$S" | cut -d' ' -f1)" = "$sha_before" ] \
        && ok "refused head: nothing written, store unchanged" || fail "refused head left traces"
    expect_exit "sweep: names the config too large" 1 "config 2 needs" "$FC" sweep "$S" \
        --grid 'hidden=16,65536:65536:65536:65536' -o "$T/huge.csv" --epochs 1
else
    ok "skipped: this machine has more than 95 GiB of memory and swap available"
fi

# review 11 U F10: a need and a limit that round alike are given in bytes too
cp "$S" "$T/mm.db"
expect_exit "sweep: a config over --max-memory by less than the rounding" 0 \
    "alone needs 1 MiB (1086352 B) for its weights and optimizer state, more than the 1 MiB (1048576 B) of --max-memory" \
    "$FC" sweep "$T/mm.db" --grid 'hidden=64,128,256' --epochs 1 --max-memory 1M -o "$T/mm.csv" -q
# --- sweep in rounds that fit --max-memory: the same results as all configs at once
G='lr=1e-4,1e-3 hidden=16,64 dropout=0,0.5'
check "sweep at once" "$FC" sweep "$T/exp.h5" --grid "$G" --epochs 2 --seed 3 --threads 2 -o "$T/once.csv" \
    --best "$T/once.h5" -q
expect_exit "sweep in rounds" 0 "rounds" "$FC" sweep "$T/exp.h5" --grid "$G" --epochs 2 --seed 3 --threads 2 \
    -o "$T/rounds.csv" --best "$T/rounds.h5" --max-memory 400K
grep -Eq "^sweep: 8 configs need [0-9.]+ MiB .* --max-memory 400 KiB: [2-8] rounds" "$T/.err" \
    && ok "sweep says how many rounds" || fail "rounds line: $(grep rounds "$T/.err")"
grep -q "round 2/" "$T/.err" && ok "progress names the round" || fail "progress: $(grep epoch "$T/.err" | head -2)"
cmp -s "$T/once.csv" "$T/rounds.csv" && ok "rounds: results identical" || fail "rounds changed the results"
"$FC" evaluate "$T/exp.h5" "$T/once.h5" --json >"$T/once.json" && "$FC" evaluate "$T/exp.h5" "$T/rounds.h5" --json >"$T/rounds.json" \
    && cmp -s "$T/once.json" "$T/rounds.json" && ok "rounds: the same best head" || fail "best heads differ"
expect_exit "configs larger than --max-memory still train, with a warning" 0 "2 configs each alone need more" "$FC" sweep "$T/exp.h5" \
    --grid 'lr=1e-4,1e-3' --epochs 1 --threads 1 -o "$T/tiny.csv" --max-memory 1K -q
[ "$(grep -c 'warning' "$T/.err")" = 1 ] && ok "... one warning, not one per config (review 12 A F7)" || fail "warnings: $(cat "$T/.err")"
expect_exit "--max-memory not a size" 2 "not a size" "$FC" sweep "$T/exp.h5" --grid 'lr=1e-4' -o "$T/x.csv" --max-memory 4X
expect_exit "--max-memory zero" 2 "not a size" "$FC" sweep "$T/exp.h5" --grid 'lr=1e-4' -o "$T/x.csv" --max-memory 0
expect_exit "--max-memory with a trailing space" 2 "not a size" "$FC" sweep "$T/exp.h5" --grid 'lr=1e-4' -o "$T/x.csv" \
    --max-memory '4 '
check "runs lists the recorded runs" "$FC" runs "$S"
grep -q "sweep" "$T/.out" && grep -q "train" "$T/.out" && ok "runs shows train and sweep runs" || fail "runs: $(head -3 "$T/.out")"
grep -Eq "^ +[0-9]+ +sweep .* hidden=16 activation=relu dropout=0.0 .*lr=0.0001 .*epochs=4" "$T/.out" \
    && ok "runs: a sweep row shows the settings that differ between runs" || fail "runs rows: $(grep sweep "$T/.out" | head -2)"
# (activation is not shared: the --hidden 0 run above has none)
grep -q "^settings all [0-9]* runs share: .*l2=0.0 .*batch=20" "$T/.out" \
    && ok "runs: shared settings once above the table" || fail "runs header: $(head -1 "$T/.out")"
"$FC" runs "$S" --json >"$T/runs.json"
id=$($PY -c "import json,sys; print([r['id'] for r in json.load(open(sys.argv[1])) if r['kind'] == 'sweep'][0])" "$T/runs.json")
check "runs STORE ID" "$FC" runs "$S" "$id"
$PY - "$T/runs.json" "$id" "$T/.out" <<'PY' && ok "runs ID: config, result and every epoch as recorded" || fail "runs ID: $(cat "$T/.out")"
import json, sys
run = [r for r in json.load(open(sys.argv[1])) if r["id"] == int(sys.argv[2])][0]
out = open(sys.argv[3]).read().splitlines()
assert any(l.startswith("config ") and "hidden=16" in l for l in out)
assert any(l.startswith("result ") and "epochs_run=4" in l for l in out)
rows = [l.split() for l in out if l.split() and l.split()[0].isdigit()]
h = run["history"]
assert len(rows) == len(h["val_acc"]) == 4, rows
for r, e in zip(rows, range(4)):
    assert int(r[0]) == e + 1 and abs(float(r[4]) - h["val_acc"][e]) < 6e-5 and abs(float(r[1]) - h["loss"][e]) < 6e-5, r
PY
expect_exit "runs: no such ID" 1 "has no run 999" "$FC" runs "$S" 999
expect_exit "runs --json: no such ID" 1 "has no run 999" "$FC" runs "$S" 999 --json
[ -s "$T/.out" ] && fail "runs --json with a missing ID printed: $(cat "$T/.out")" || ok "runs --json: nothing on stdout for a missing ID"
expect_exit "runs: ID not a number" 2 "not a run number" "$FC" runs "$S" 1x

# --- no validation split: trains on the training loss, the run is still recorded (val metrics null)
check "make a store without validation images" "$MK" "$T/noval.db" --classes 0,1 --train 30 --val 0 --test 5
check "train without a validation split" "$FC" train "$T/noval.db" -o "$T/nv.h5" --epochs 2 -q
grep -q "not recorded" "$T/.err" && fail "no-validation run not recorded: $(cat "$T/.err")" || ok "no-validation run recorded"
"$FC" runs "$T/noval.db" --json >"$T/nv.json"
$PY - "$T/nv.json" <<'PY' && ok "no-validation run: val metrics null, training metrics kept" || fail "no-validation run: $(cat "$T/nv.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r) == 1 and r[0]["metrics"]["best_val_acc"] is None and r[0]["metrics"]["final_acc"] > 0, r
assert r[0]["metrics"]["best_epoch"] is None, r  # no val_loss, no best epoch (it said 1)
assert r[0]["history"]["val_loss"] == [None, None] and len(r[0]["history"]["loss"]) == 2
PY

expect_exit "--patience without a validation split is a data error" 1 "$T/noval.db has no validation split" \
    "$FC" train "$T/noval.db" -o "$T/nvp.h5" --patience 1 --epochs 2 -q
expect_exit "sweep with a patience axis without a validation split" 1 "noval.db has no validation split" \
    "$FC" sweep "$T/noval.db" --grid 'patience=0,2' --epochs 2 -o "$T/nvp.csv" -q
check "sweep --plot without a validation split" "$FC" sweep "$T/noval.db" --grid 'lr=1e-3,1e-4' --epochs 3 \
    -o "$T/nvs.csv" --plot "$T/nvs.png" -q
"$PY" - "$T/nvs.png" <<'PY' && ok "... draws the training accuracy curves (coloured pixels in the frame)" || fail "sweep plot without validation is empty"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
px = im.load()
coloured = sum(1 for x in range(82, 718) for y in range(62, h - 82)
               if max(px[x, y]) - min(px[x, y]) > 60)
sys.exit(0 if coloured > 200 else 1)
PY
expect_exit "evaluate an empty split suggests a split that has images" 1 "validation split is empty (try --split test)" \
    "$FC" evaluate "$T/noval.db" "$T/nv.h5" --split validation
"$FC" export "$T/noval.db" "$T/noval.h5" >/dev/null 2>&1
expect_exit "evaluate an export's empty split suggests one with images" 1 "(try --split test)" \
    "$FC" evaluate "$T/noval.h5" "$T/nv.h5" --split validation

expect_exit "sweep without a validation split" 0 "has no validation split" "$FC" sweep "$T/noval.db" \
    --grid 'lr=1e-4,1e-3' --epochs 2 -o "$T/nv.csv"
[ "$(grep -c "no validation split" "$T/.err" "$T/.out" | awk -F: '{s+=$2} END {print s}')" -eq 1 ] \
    && ok "sweep says once that there is no validation split" || fail "no-validation note: $(cat "$T/.err")"
head -1 "$T/.out" | grep -q "acc (train)  loss (train)" && ! grep -q "val_acc" "$T/.out" \
    && ok "sweep leaderboard without validation: columns acc/loss (train)" || fail "leaderboard: $(head -1 "$T/.out")"
$PY - "$T/nv.csv" <<'PY' && ok "sweep CSV without validation: val columns nan, train metrics kept" || fail "nv.csv: $(cat "$T/nv.csv")"
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2
for r in rows:
    for k in ("best_val_loss", "best_val_acc", "final_val_loss", "final_val_acc"):
        assert r[k] == "nan", (k, r[k])
    assert r["best_epoch"] == "", r["best_epoch"]  # no best epoch (it said 1)
    assert float(r["final_acc"]) > 0
PY

# --- outputs never destroy the store or a file of another kind (checked before training)
cp "$S" "$T/keep.db"; sum0=$(sha256sum <"$T/keep.db")
expect_exit "train -o onto its own store" 2 "is the input" "$FC" train "$T/keep.db" -o "$T/keep.db" --epochs 1 -q
expect_exit "train --plot onto its own store" 2 "is the input" "$FC" train "$T/keep.db" -o "$T/k.h5" --plot "$T/keep.db" -q
expect_exit "sweep -o onto its own store" 2 "is the input" "$FC" sweep "$T/keep.db" --grid 'lr=1e-4,2e-4' -o "$T/keep.db" -q
[ "$(sha256sum <"$T/keep.db")" = "$sum0" ] && ok "the store is untouched" || fail "the store changed"
echo "my notes" >"$T/notes.txt"
expect_exit "train -o onto a text file" 1 "not an HDF5 file: not replaced" "$FC" train "$S" -o "$T/notes.txt" --epochs 1 -q
expect_exit "sweep --best onto a text file" 1 "not an HDF5 file" "$FC" sweep "$S" --grid 'lr=1e-4' -o "$T/s1.csv" --best "$T/notes.txt" -q
expect_exit "train --history onto a PNG" 1 "not a text file" "$FC" train "$S" -o "$T/k.h5" --history "$T/h.png" -q
expect_exit "train -o onto an HDF5 export" 1 "not a head" "$FC" train "$S" -o "$T/exp.h5" --epochs 1 -q
expect_exit "-o and --history the same file" 2 "name the same file" "$FC" train "$S" -o "$T/k.h5" --history "$T/k.h5" -q
cp "$T/h.h5" "$T/kmodel.h5"
$PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); [f.attrs.__delitem__(k) for k in list(f.attrs) if k.startswith('featcache_')]" \
    "$T/kmodel.h5"; ksum=$(sha256sum <"$T/kmodel.h5")
expect_exit "train -o onto a Keras model (not a featcache head)" 1 "is not a head written by featcache" \
    "$FC" train "$S" -o "$T/kmodel.h5" --epochs 1 -q
expect_exit "sweep --best onto a Keras model" 1 "not replaced" "$FC" sweep "$S" --grid 'lr=1e-4' -o "$T/s1.csv" \
    --best "$T/kmodel.h5" -q
[ "$(sha256sum <"$T/kmodel.h5")" = "$ksum" ] && ok "the Keras model is untouched" || fail "the Keras model was replaced"
[ "$(cat "$T/notes.txt")" = "my notes" ] && [ ! -e "$T/s1.csv" ] && [ ! -e "$T/k.h5" ] && ok "refused outputs: nothing written" \
    || fail "a refused run wrote something"
check "train -o over an earlier head" "$FC" train "$S" -o "$T/h3.h5" --epochs 1 -q
# a class without training images (a folder named differently in validation/) is named
# by train and sweep (review 12 A F5); the others train as before
cp "$T/three.db" "$T/untrained.db"
"$PY" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('update images set split=1 where split=0 and class_id=(select max(id) from classes)'); c.commit()" "$T/untrained.db"
expect_exit "train with a class that has no training images: warned" 0 "1 of 3 classes have no training images: 'Sneaker' (" \
    "$FC" train "$T/untrained.db" -o "$T/u.h5" --epochs 1 -q
grep -q "the head has an output for each that is never trained" "$T/.err" && ok "... the consequence said" || fail "untrained warning: $(cat "$T/.err")"
expect_exit "sweep warns too" 0 "have no training images" "$FC" sweep "$T/untrained.db" --grid 'lr=1e-4' -o "$T/u.csv" --epochs 1 -q
check "train with every class in train: no warning" "$FC" train "$T/three.db" -o "$T/u3.h5" --epochs 1 -q
grep -q "no training images" "$T/.err" && fail "warned without cause" || ok "... no warning"
# two runs with one -o at once: the second stops at once, naming the first's lock (review
# 12 A F7: both ran, each overwriting the other's checkpoint, the last rename won)
"$FC" train "$S" -o "$T/busy.h5" --epochs 100000 --checkpoint-every 0 -q >"$T/busy.out" 2>&1 &
busy=$!
for _ in $(seq 1500); do [ -e "$T/busy.h5.ckpt" ] && break; sleep 0.02; done
expect_exit "a second train with the same -o" 1 "another featcache train or sweep is writing it now (it holds $T/busy.h5.lock)" \
    "$FC" train "$S" -o "$T/busy.h5" --epochs 1 -q
# --no-resume refused as busy leaves the other run's checkpoint alone (review 12 C F3): the
# lock held by flock(1) around a copy of that checkpoint, which no run rewrites meanwhile
cp "$T/busy.h5.ckpt" "$T/held.h5.ckpt"
flock "$T/held.h5.lock" sleep 30 &
holder=$!
for _ in $(seq 100); do [ -e "$T/held.h5.lock" ] && break; sleep 0.02; done
expect_exit "... and with --no-resume" 1 "another featcache train or sweep is writing it now" \
    "$FC" train "$S" -o "$T/held.h5" --epochs 1 --no-resume -q
[ -e "$T/held.h5.ckpt" ] && ok "... which left that run's checkpoint alone (review 12 C F3)" || fail "--no-resume deleted a live checkpoint"
kill $holder 2>/dev/null; wait $holder 2>/dev/null
# a sweep's --best head too (review 12 C F7)
flock "$T/hbest.h5.lock" sleep 30 &
holder=$!
for _ in $(seq 100); do [ -e "$T/hbest.h5.lock" ] && break; sleep 0.02; done
expect_exit "sweep --best onto a head another run writes" 1 "--best $T/hbest.h5: another featcache train or sweep is writing it now" \
    "$FC" sweep "$S" --grid 'lr=1e-4' -o "$T/hb.csv" --best "$T/hbest.h5" -q
[ ! -e "$T/hb.csv" ] && ok "... nothing written" || fail "sweep refused by --best's lock wrote hb.csv"
kill $holder 2>/dev/null; wait $holder 2>/dev/null
# ... by a real sweep: two sweeps (other -o) with one --best, and a train whose -o is that
# --best, stop at once; the first sweep goes on
"$FC" sweep "$S" --grid 'lr=1e-4,1e-3' -o "$T/bb1.csv" --best "$T/bb.h5" --epochs 100000 --checkpoint-every 0 -q \
    >"$T/bb1.out" 2>&1 &
bb=$!
for _ in $(seq 1500); do [ -e "$T/bb1.csv.ckpt" ] && break; sleep 0.02; done
expect_exit "a second sweep with the same --best" 1 "--best $T/bb.h5: another featcache train or sweep is writing it now" \
    "$FC" sweep "$S" --grid 'lr=1e-4' -o "$T/bb2.csv" --best "$T/bb.h5" --epochs 1 -q
[ ! -e "$T/bb2.csv" ] && ok "... which wrote nothing" || fail "the second sweep with one --best wrote bb2.csv"
expect_exit "a train whose -o is a running sweep's --best" 1 "-o $T/bb.h5: another featcache train or sweep is writing it now" \
    "$FC" train "$S" -o "$T/bb.h5" --epochs 1 -q
kill -TERM $bb 2>/dev/null; wait $bb; rc=$?
[ $rc = 1 ] && grep -q "state saved" "$T/bb1.out" && [ ! -e "$T/bb.h5.lock" ] && ok "... the first sweep ran on until stopped, its lock gone" \
    || fail "first sweep: exit $rc: $(tail -2 "$T/bb1.out")"
rm -f "$T/bb1.csv.ckpt"
expect_exit "a sweep with the same -o" 1 "another featcache train or sweep is writing it now" \
    "$FC" sweep "$S" --grid 'lr=1e-4' -o "$T/busy.h5" -q
expect_exit "--history naming -o's lock by another spelling" 2 "is the lock file of -o" \
    "$FC" train "$S" -o "$T/k.h5" --history "$T/./k.h5.lock" -q
# a closing terminal sends SIGHUP twice (bash forwards one, the kernel another): the run
# still stops at its safe point and saves its state (review 12 C F2)
kill -HUP $busy 2>/dev/null; sleep 0.3; kill -HUP $busy 2>/dev/null; wait $busy; rc=$?
[ $rc = 1 ] && grep -q "state saved" "$T/busy.out" && ok "two SIGHUPs: stopped at a safe point, state saved" \
    || fail "two SIGHUPs: exit $rc: $(tail -2 "$T/busy.out")"
[ ! -e "$T/busy.h5.lock" ] && ok "... the first run's lock file is gone when it stops" || fail "busy.h5.lock left"
check "then the same -o trains" "$FC" train "$S" -o "$T/busy.h5" --epochs 1 --no-resume -q
expect_exit "--history onto -o's lock file" 2 "is the lock file of -o" "$FC" train "$S" -o "$T/k.h5" --history "$T/k.h5.lock" -q
# class names in another script keep the tables aligned: padded by display width (CJK = 2
# columns), not by bytes (review 12 B F10)
cp "$T/three.db" "$T/cjk.db"
"$PY" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update classes set name='Bag – 日本' where id=(select min(id) from classes)\"); c.commit()" "$T/cjk.db"
check "train on a store with a CJK class name" "$FC" train "$T/cjk.db" -o "$T/cjk.h5" --epochs 1 -q
check "evaluate it" "$FC" evaluate "$T/cjk.db" "$T/cjk.h5"
cp "$T/.out" "$T/cjk_eval.txt"
check "info on it" "$FC" info "$T/cjk.db"
cp "$T/.out" "$T/cjk_info.txt"
"$PY" - "$T/cjk_eval.txt" "$T/cjk_info.txt" <<'PY' && ok "tables aligned with a CJK class name" || fail "CJK alignment: $(cat "$T/cjk_eval.txt")"
import sys, unicodedata
def width(s): return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)
ev = open(sys.argv[1], encoding="utf-8").read().splitlines()
h = next(k for k, l in enumerate(ev) if "precision  recall" in l)
per_class = ev[h:h + 4]
assert len({width(l) for l in per_class}) == 1, per_class
i = ev.index(next(l for l in ev if l.startswith("confusion matrix")))
matrix = ev[i + 1:i + 5]
assert len({width(l) for l in matrix}) == 1, matrix
info = open(sys.argv[2], encoding="utf-8").read().splitlines()
j = next(k for k, l in enumerate(info) if l.lstrip().startswith("class ") and "train" in l)
table = info[j:j + 5]
assert len({width(l) for l in table}) == 1, table
PY
# a featcache file of the wrong kind is named as what it is (review 12 B F7)
expect_exit "train HEAD.h5 (a head where a store belongs)" 1 "a Keras model file (a trained head HEAD.h5 or a backbone), not a featcache store or export" \
    "$FC" train "$T/h.h5" -o "$T/k.h5" --epochs 1 -q
expect_exit "info on a PNG" 1 "not a featcache store (not an SQLite database: a PNG image)" "$FC" info "$T/h.png"
expect_exit "evaluate with a CSV for the head" 1 "not a head (HEAD.h5, written by featcache train): not an HDF5 file but a text file" \
    "$FC" evaluate "$S" "$T/h.csv"
expect_exit "layers HEAD.h5 (a head where a backbone belongs)" 1 "is a featcache head (HEAD.h5" "$FC" layers "$T/h.h5"
expect_exit "layers EXPORT.h5" 1 "is a featcache export (stored features), not a backbone model" "$FC" layers "$T/exp.h5"
# outputs are renamed into place: never onto a link, device or FIFO (review 12 A F2: as
# root, `-o /dev/null` turned /dev/null into a regular file), never an empty name or a
# file of the run's own (F3, F4)
mkfifo "$T/fifo"; ln -s h3.h5 "$T/link.h5"; ln -s missing.csv "$T/dangling.csv"
expect_exit "train -o onto a FIFO" 1 "is a FIFO (named pipe): not replaced" "$FC" train "$S" -o "$T/fifo" --epochs 1 -q
expect_exit "train -o onto a symbolic link" 1 "is a symbolic link: not replaced" "$FC" train "$S" -o "$T/link.h5" --epochs 1 -q
expect_exit "train --history onto a dangling link" 1 "is a symbolic link" "$FC" train "$S" -o "$T/k.h5" --history "$T/dangling.csv" --epochs 1 -q
expect_exit "sweep -o onto a FIFO" 1 "is a FIFO" "$FC" sweep "$S" --grid 'lr=1e-4' -o "$T/fifo" -q
expect_exit "export onto a symbolic link" 1 "is a symbolic link" "$FC" export "$S" "$T/link.h5"
expect_exit "merge --force onto a FIFO" 1 "is a FIFO" "$FC" merge -o "$T/fifo" --force "$S"
if [ "$(id -u)" = 0 ] && mknod "$T/null" c 1 3 2>/dev/null; then
    expect_exit "train -o onto a character device (root)" 1 "is a character device: not replaced" "$FC" train "$S" -o "$T/null" --epochs 1 -q
    [ -c "$T/null" ] && ok "... the device node is kept" || fail "the device node was replaced"
else
    ok "# not root here: no device node to try"
fi
[ -p "$T/fifo" ] && [ -L "$T/link.h5" ] && [ -L "$T/dangling.csv" ] && [ ! -e "$T/k.h5" ] \
    && ok "the FIFO and the links are kept, nothing written" || fail "a refused output was replaced: $(ls -l "$T/fifo" "$T/link.h5" "$T/k.h5" 2>&1)"
expect_exit "train -o ''" 2 "-o: empty file name" "$FC" train "$S" -o "" --epochs 1 -q
expect_exit "train --history ''" 2 "--history: empty file name" "$FC" train "$S" -o "$T/k.h5" --history "" --epochs 1 -q
expect_exit "train --history onto its own checkpoint" 2 "is where this run keeps its checkpoint" \
    "$FC" train "$S" -o "$T/k.h5" --history "$T/k.h5.ckpt" --epochs 1 -q
expect_exit "train --history onto the store's lock file" 2 "is a side file of the store" \
    "$FC" train "$S" -o "$T/k.h5" --history "$S.lock" --epochs 1 -q
expect_exit "sweep --plot onto the store's WAL" 2 "is a side file of the store" \
    "$FC" sweep "$S" --grid 'lr=1e-4' -o "$T/s1.csv" --plot "$S-wal" -q
[ ! -e "$T/k.h5" ] && [ ! -e "$T/s1.csv" ] && [ ! -e "$T/.ckpt" ] && ok "... nothing written" || fail "a refused run wrote something"

# --- a store an extract is adding to right now (its writer lock held): train says so
expect_exit "train while the store's writer lock is held" 0 "another process is extracting into" \
    flock "$S.lock" "$FC" train "$S" -o "$T/busy.h5" --epochs 1 -q
check "train without a writer" "$FC" train "$S" -o "$T/busy.h5" --epochs 1 -q
grep -q "extracting into" "$T/.err" && fail "note without a writer: $(cat "$T/.err")" || ok "no note without a writer"
rm -f "$S.lock"

# --- temp files are fresh (mkstemp), never a fixed name: a planted "<OUT>.tmp" symlink is not followed
cp "$S" "$T/victim.db"; vsum=$(sha256sum <"$T/victim.db")
ln -s victim.db "$T/tt.h5.tmp"; ln -s victim.db "$T/tb.h5.tmp"; ln -s victim.db "$T/tr.csv.tmp"
check "train with a planted OUT.tmp symlink" "$FC" train "$S" -o "$T/tt.h5" --epochs 1 -q --history "$T/tr.csv" \
    --plot "$T/tp.png"
check "sweep --best with a planted OUT.tmp symlink" "$FC" sweep "$S" --grid 'lr=1e-4' --epochs 1 -o "$T/tr.csv" \
    --best "$T/tb.h5" -q
[ "$(sha256sum <"$T/victim.db")" = "$vsum" ] && [ -L "$T/tt.h5.tmp" ] && [ -L "$T/tb.h5.tmp" ] && \
    [ ! -L "$T/tt.h5" ] && [ ! -L "$T/tb.h5" ] && [ ! -L "$T/tr.csv" ] && ok "planted symlinks: the victim is untouched" \
    || fail "a planted OUT.tmp symlink was followed"
check "the head next to a planted symlink is a head" "$FC" evaluate "$S" "$T/tt.h5"
ls "$T" | grep -q '\.tmp\.' && fail "temp files left: $(ls "$T" | grep '\.tmp\.')" || ok "no temp files left"

# --- a store without write permission bits is read-only, for root too: no run recorded, unchanged
cp "$S" "$T/ro.db"; chmod a-w "$T/ro.db"; rsum=$(sha256sum <"$T/ro.db")
expect_exit "train on a chmod a-w store" 0 "store is read-only: run not recorded" "$FC" train "$T/ro.db" -o "$T/ro.h5" --epochs 1 -q
expect_exit "sweep on a chmod a-w store" 0 "store is read-only: runs not recorded" "$FC" sweep "$T/ro.db" --grid 'lr=1e-4' \
    --epochs 1 -o "$T/ro.csv" -q
[ "$(sha256sum <"$T/ro.db")" = "$rsum" ] && ok "a chmod a-w store is unchanged" || fail "a chmod a-w store changed"
# a writable store in a folder its user cannot write (no -wal/-shm can be made there): said plainly
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    mkdir -p "$T/rodir" "$T/out" && cp "$S" "$T/rodir/w.db" && chmod 666 "$T/rodir/w.db" && chmod 755 "$T/rodir" "$T" \
        && chmod 777 "$T/out"
    expect_exit "train on a writable store in a folder that is not" 0 "store is read-only (its folder $T/rodir is not writable): run not recorded" \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$FC" train "$T/rodir/w.db" -o "$T/out/w.h5" --epochs 1 -q
fi

# --- a diverged head (NaN loss): epoch lines keep val_loss/val_acc as "nan", evaluate --json is valid JSON.
# The L2 term makes it diverge: saturated rows pass no loss gradient (Keras 2.2.4's clip), so a
# huge rate alone leaves the head stuck at the clipped loss; lr 10 * 2 * l2 1 flips and grows
# every weight each step.
expect_exit "train a head that diverges" 0 "val_loss: nan - val_acc:" "$FC" train "$S" -o "$T/nan.h5" --optimizer sgd \
    --lr 10 --momentum 0.99 --l2 1 --hidden 1024,1024 --activation linear --dropout 0 --epochs 6 --seed 3
grep -q -- "-nan" "$T/.out" && fail "epoch lines print -nan: $(head -2 "$T/.out")" || ok "NaN printed as nan (Keras)"
check "evaluate --json on a diverged head" "$FC" evaluate "$S" "$T/nan.h5" --json
$PY -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['loss'] is None and j['n'] == 80, j" "$T/.out" 2>/dev/null \
    && ok "evaluate --json: NaN loss is null" || fail "evaluate --json on a diverged head: '$(cat "$T/.out")'"
check "evaluate (text) on a diverged head" "$FC" evaluate "$S" "$T/nan.h5"
grep -q "^loss: nan - accuracy" "$T/.out" && ok "evaluate report: loss nan" || fail "evaluate report: $(sed -n 2p "$T/.out")"

# --- output folders are checked before training (exit 1, naming the path and the OS reason)
expect_exit "train -o into a missing folder fails before training" 1 "-o $T/nodir/x.h5: cannot write into its folder: No such file" \
    "$FC" train "$S" -o "$T/nodir/x.h5" --epochs 300
grep -q "^Epoch" "$T/.out" && fail "train -o into a missing folder trained first" || ok "no epoch trained for a missing -o folder"
n0=$(runs "$S")
expect_exit "train --history into a missing folder" 1 "--history $T/nodir/h.csv: cannot write into its folder" \
    "$FC" train "$S" -o "$T/z.h5" --history "$T/nodir/h.csv" --epochs 1 -q
expect_exit "train --plot into a missing folder" 1 "--plot $T/nodir/p.png" "$FC" train "$S" -o "$T/z.h5" \
    --plot "$T/nodir/p.png" --epochs 1 -q
expect_exit "sweep --best into a missing folder" 1 "--best $T/nodir/b.h5: cannot write into its folder" \
    "$FC" sweep "$S" --grid 'lr=1e-4' --epochs 1 -o "$T/R.csv" --best "$T/nodir/b.h5" -q
expect_exit "sweep --plot into a missing folder" 1 "--plot $T/nodir/s.png" \
    "$FC" sweep "$S" --grid 'lr=1e-4' --epochs 1 -o "$T/R.csv" --plot "$T/nodir/s.png" -q
[ ! -e "$T/z.h5" ] && [ ! -e "$T/R.csv" ] && [ "$(runs "$S")" -eq "$n0" ] \
    && ok "missing output folders: nothing written, no run recorded" || fail "a failed output left files or runs"
(ulimit -f 50; exec "$FC" train "$S" -o "$T/big.h5" --epochs 1 -q) >"$T/.out" 2>"$T/.err"; rc=$?
[ $rc = 1 ] && grep -q "big.h5: .*File too large" "$T/.err" && ok "a failed head write gives the OS reason" \
    || fail "head write failure: exit $rc: $(cat "$T/.err")"
ls "$T" | grep -q '^big\.h5' && fail "a failed head write left $(ls "$T" | grep '^big')" || ok "a failed head write leaves nothing"

# --- documented behaviour: grid syntax for several hidden layers, -q, runs' best val, hidden=0
"$FC" sweep --help >"$T/sh.txt"; "$FC" train --help >"$T/th.txt"; "$FC" runs --help >"$T/rh.txt"
grep -q "hidden=256:128" "$T/sh.txt" && ok "sweep --help: several hidden layers in a grid (hidden=256:128)" \
    || fail "sweep --help lacks the ':' syntax"
grep -q "print nothing on success" "$T/th.txt" && grep -q "print nothing on success" "$T/sh.txt" \
    && ok "train/sweep --help: what -q hides" || fail "-q help: $(grep -A1 quiet "$T/th.txt")"
tr -s ' \n' ' ' <"$T/rh.txt" | grep -q "the epoch with the lowest val_loss" && ok "runs --help: what best val is" \
    || fail "runs --help: best val"
check "sweep a grid with a two-layer hidden axis" "$FC" sweep "$T/three.db" --grid 'hidden=8:4,0' --epochs 1 \
    -o "$T/hg.csv" -q
check "train --hidden 0" "$FC" train "$T/three.db" -o "$T/h0.h5" --hidden 0 --epochs 1 -q
"$FC" runs "$T/three.db" >"$T/.out"
grep -q "hidden=8:4\|hidden=8,4" "$T/.out" && grep -q "hidden=0 " "$T/.out" && ! grep -q "hidden= " "$T/.out" \
    && ok "runs: hidden=0 for no hidden layer" || fail "runs hidden: $(cat "$T/.out")"

# --- bad inputs
expect_exit "empty train split" 1 "train split is empty" "$FC" train "$T/empty.db" -o "$T/x.h5"
expect_exit "one class only" 1 "only one class" "$FC" train "$T/one.db" -o "$T/x.h5"
expect_exit "head/store of another backbone setup: the field, with both values" 1 \
    "h.h5: head was trained on features of another backbone setup than $T/other.db's: layer: the head has 'pixels', $T/other.db has 'other'" \
    "$FC" evaluate "$T/other.db" "$T/h.h5"
expect_exit "... and the classes when they differ too" 1 \
    "layer: the head has 'pixels', $T/other3.db has 'other'; classes: the head has [T-shirt_top, Trouser], $T/other3.db has [Sneaker, T-shirt_top, Trouser]" \
    "$FC" evaluate "$T/other3.db" "$T/h.h5"
cp "$T/h.h5" "$T/nofp.h5"
$PY -c "import h5py,sys; del h5py.File(sys.argv[1],'r+').attrs['featcache_fingerprint']" "$T/nofp.h5"
expect_exit "evaluate a head without a store fingerprint" 1 "nofp.h5: head has no store fingerprint" \
    "$FC" evaluate "$S" "$T/nofp.h5"
cp "$T/h.h5" "$T/plain.h5"   # a plain Keras head: no featcache_* attributes, no class_names
$PY -c "import h5py,sys; a=h5py.File(sys.argv[1],'r+').attrs; [a.__delitem__(k) for k in list(a) if k.startswith('featcache_') or k == 'class_names']" "$T/plain.h5"
expect_exit "a plain Keras head on a store of other classes: refused for its missing fingerprint first" 1 \
    "plain.h5: head has no store fingerprint" "$FC" evaluate "$T/three.db" "$T/plain.h5"
expect_exit "head/store class mismatch" 1 "classes" "$FC" evaluate "$T/three.db" "$T/h.h5"
expect_exit "missing store" 1 "nope.db" "$FC" train "$T/nope.db" -o "$T/x.h5"
printf 'not hdf5' >"$T/bad.h5"
expect_exit "corrupt head" 1 "bad.h5" "$FC" evaluate "$S" "$T/bad.h5"
C="$ROOT/tests/fuzz/corpus/head"
expect_exit "head with a wrong kernel shape" 1 "have shape (5, 3), expected" "$FC" evaluate "$S" "$C/wrong_kernel_shape.h5"
expect_exit "head with bad model_config JSON" 1 "model_config is not JSON" "$FC" evaluate "$S" "$C/bad_json.h5"
expect_exit "head without weight_names" 1 "weight_names" "$FC" evaluate "$S" "$C/no_weight_names.h5"
expect_exit "truncated head" 1 "truncated.h5" "$FC" evaluate "$S" "$C/truncated.h5"
expect_exit "head with an absurd input shape" 1 "huge_input.h5" "$FC" evaluate "$S" "$C/huge_input.h5"
expect_exit "h5py variable-length strings are read (then its empty fingerprint is refused)" 1 \
    "vlen_strings.h5: head has no store fingerprint" "$FC" evaluate "$S" "$C/vlen_strings.h5"
expect_exit "... info shows its layers and class names from them" 0 "input 2x2x6 -> Flatten (24)" \
    "$FC" info "$C/vlen_strings.h5"
grep -q "^classes *2: a b$" "$T/.out" && ok "... class names a b" || fail "vlen_strings classes: $(cat "$T/.out")"
# --seed: the seed recorded (runs, HEAD.h5, sweep CSV) is the seed given, and re-running
# with it gives the same history. 2^53 is the largest: strtod had read 2^53 + 1 as 2^53
# (another seed recorded, exit 0), and a larger seed would not read back exactly from the
# runs' JSON in a reader that holds numbers as doubles (JavaScript, jq)
cp "$S" "$T/seed.db"
top=9007199254740992
check "train --seed 2^53" "$FC" train "$T/seed.db" -o "$T/sd.h5" --epochs 3 --seed $top --threads 2 --history "$T/sd1.csv" -q
"$FC" runs "$T/seed.db" --json >"$T/sd.json"
rec=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[-1]['config']['seed'])" "$T/sd.json")
hrec=$("$PY" -c "import h5py,json,sys; print(json.loads(h5py.File(sys.argv[1],'r').attrs['featcache_config'])['seed'])" "$T/sd.h5")
"$FC" runs "$T/seed.db" >"$T/sd.txt"
[ "$rec" = $top ] && [ "$hrec" = $top ] && grep -q "seed=$top\$" "$T/sd.txt" \
    && ok "... the seed recorded in runs, runs --json and HEAD.h5 is the seed given" \
    || fail "seed recorded: runs --json $rec, HEAD.h5 $hrec, runs: $(tail -1 "$T/sd.txt")"
check "train again with the recorded seed" "$FC" train "$T/seed.db" -o "$T/sd2.h5" --epochs 3 --seed "$rec" --threads 2 \
    --history "$T/sd2.csv" -q
[ "$(cut -d, -f1-5 "$T/sd1.csv")" = "$(cut -d, -f1-5 "$T/sd2.csv")" ] && ok "... the same history" \
    || fail "history with the recorded seed differs"
check "sweep with seed 2^53" "$FC" sweep "$T/seed.db" --grid "seed=1,$top" --epochs 1 -o "$T/sd.csv" -q
[ "$(tail -1 "$T/sd.csv" | cut -d, -f14)" = $top ] && ok "... the sweep CSV's seed is the seed given" \
    || fail "sweep CSV seed: $(tail -1 "$T/sd.csv")"
n_sd=$(runs "$T/seed.db")
expect_exit "--seed 2^53 + 1 refused, naming the limit" 2 "seed '9007199254740993': an integer in [0, 2^53 = $top]" \
    "$FC" train "$T/seed.db" -o "$T/sd3.h5" --seed 9007199254740993 --epochs 1
expect_exit "--seed above 2^64 refused" 2 "2^53" "$FC" train "$T/seed.db" -o "$T/sd3.h5" --seed 99999999999999999999 --epochs 1
expect_exit "a grid seed above 2^53 refused" 2 "seed '18014398509481984': an integer in [0, 2^53" \
    "$FC" sweep "$T/seed.db" --grid 'seed=1,18014398509481984' -o "$T/sd3.csv" --epochs 1
[ ! -e "$T/sd3.h5" ] && [ ! -e "$T/sd3.csv" ] && [ "$(runs "$T/seed.db")" = "$n_sd" ] && ok "... nothing written or recorded" \
    || fail "a refused seed wrote something"
expect_exit "missing -o" 2 "-o HEAD.h5" "$FC" train "$S"
expect_exit "bad dropout" 2 "dropout" "$FC" train "$S" -o "$T/x.h5" --dropout 1.5
expect_exit "bad optimizer" 2 "optimizer" "$FC" train "$S" -o "$T/x.h5" --optimizer adagrad
expect_exit "bad epochs" 2 "epochs" "$FC" train "$S" -o "$T/x.h5" --epochs 0
# integers in decimal digits: 1e3 and 0x10 are slips, not 1000 and 16 epochs (review 12 A F7)
expect_exit "--epochs 1e3 refused" 2 "epochs '1e3': an integer" "$FC" train "$S" -o "$T/x.h5" --epochs 1e3
expect_exit "--batch 0x10 refused" 2 "batch '0x10': an integer" "$FC" train "$S" -o "$T/x.h5" --batch 0x10
expect_exit "grid epochs=1e1 refused" 2 "epochs '1e1': an integer" "$FC" sweep "$S" --grid 'epochs=1e1' -o "$T/x.csv"
expect_exit "bad hidden" 2 "hidden" "$FC" train "$S" -o "$T/x.h5" --hidden 64,x
expect_exit "bad lr" 2 "lr" "$FC" train "$S" -o "$T/x.h5" --lr abc
expect_exit "bad split" 2 "--split 'dev': use train, validation (or val, valid) or test" "$FC" evaluate "$S" "$T/h.h5" --split dev
expect_exit "--split any is not a split" 2 "--split 'any'" "$FC" evaluate "$S" "$T/h.h5" --split any
"$FC" evaluate "$S" "$T/h.h5" --split validation --json >"$T/sv.json"
for sp in val valid; do
    "$FC" evaluate "$S" "$T/h.h5" --split $sp --json >"$T/s$sp.json" && cmp -s "$T/s$sp.json" "$T/sv.json" \
        && ok "evaluate --split $sp is the validation split" || fail "--split $sp: $(cat "$T/s$sp.json")"
done
expect_exit "grid without =" 2 "no '='" "$FC" sweep "$S" --grid 'lr 1e-4' -o "$T/x.csv"
expect_exit "grid unknown key" 2 "not a training option" "$FC" sweep "$S" --grid 'foo=1,2' -o "$T/x.csv"
expect_exit "grid empty value" 2 "empty value" "$FC" sweep "$S" --grid 'lr=1e-4,,1e-3' -o "$T/x.csv"
expect_exit "grid: a space after a comma" 2 "'lr=1e-4, 2e-5': spaces separate axes, so an axis has none inside: lr=1e-4,2e-5" \
    "$FC" sweep "$S" --grid 'lr=1e-4, 2e-5 hidden=64' -o "$T/x.csv"
expect_exit "grid: a space instead of a comma" 2 "'lr=1e-4 2e-5, 3e-5': spaces separate axes, so an axis has none inside: lr=1e-4,2e-5,3e-5" \
    "$FC" sweep "$S" --grid 'lr=1e-4 2e-5, 3e-5' -o "$T/x.csv"
expect_exit "grid: spaces around '='" 2 "'lr = 1e-4,2e-5': no spaces around '=': lr=1e-4,2e-5" \
    "$FC" sweep "$S" --grid 'lr = 1e-4,2e-5' -o "$T/x.csv"
expect_exit "grid: a trailing comma before the next axis" 2 "axis 'lr' ends with ','" \
    "$FC" sweep "$S" --grid 'lr=1e-4, hidden=64' -o "$T/x.csv"
expect_exit "grid bad value" 2 "dropout" "$FC" sweep "$S" --grid 'dropout=0.2,2' -o "$T/x.csv"
expect_exit "grid axis twice" 2 "twice" "$FC" sweep "$S" --grid 'lr=1e-4 lr=1e-3' -o "$T/x.csv"
expect_exit "sweep without grid" 2 "--grid" "$FC" sweep "$S" -o "$T/x.csv"
expect_exit "an option given twice (--grid)" 2 "option --grid given twice" "$FC" sweep "$S" --grid 'lr=1e-4,1e-3' \
    --grid 'hidden=64,128' -o "$T/x.csv"
expect_exit "an option given twice (-o)" 2 "option -o given twice" "$FC" train "$S" -o "$T/x.h5" -o "$T/y.h5"
expect_exit "--output then -o: named as typed the second time" 2 "option -o given twice" "$FC" train "$S" --output "$T/x.h5" -o "$T/y.h5"
(cd "$T" && exec "$FC" extract "$T" -m "$T/h.h5" -o --help) >"$T/.out" 2>"$T/.err"; rc=$?
[ $rc = 2 ] && grep -qF -- "-o needs a value" "$T/.err" && [ ! -e "$T/--help" ] \
    && ok "'-o --help' is a usage error, no store named --help" || fail "-o --help: exit $rc, $(cat "$T/.err"; ls "$T" | head -3)"
[ ! -e "$T/x.h5" ] && ok "no head written by failed runs" || fail "a failed run wrote a head"
finish
