#!/usr/bin/env bash
# augment.sh - `extract --augment K` and `train/sweep --augment` (seeds 000/001's
# ImageDataGenerator workflow from the cache): every stored view equals an independent
# numpy forward pass of the image transformed with Keras's formulas; views are resumable,
# verified, pruned with their image; a store of another augmentation is refused with
# nothing written; training draws one view per image per epoch, deterministically, and a
# sweep row equals its lone run; stores without views, exports and incomplete views are
# refused with exit 1.
source "$(dirname "$0")/lib.sh"
FX="$ROOT/tests/py/extract_fixtures.py"
export FX_DIR="$ROOT/tests/py"
DUMP="$BUILD/tests/tools/storedump"
X=(--preprocess rescale --quiet)
sql() { "$PY" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print(r[0][0] if r and r[0] else '')" "$@"; }

$PY "$FX" images "$T/img" --classes 3 --per-class 10 --jpeg-every 3 || { fail "fixture images"; finish; }
$PY "$FX" model "$T/tiny.h5" || { fail "fixture model"; finish; }

# --- usage errors (exit 2), nothing written
expect_exit "--augment-spec without --augment" 2 "need --augment" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/u.db" --augment-spec 'rotation_range=10' "${X[@]}"
expect_exit "unknown ImageDataGenerator keyword" 2 "brightness" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/u.db" --augment 2 --augment-spec 'brightness_range=0.2' "${X[@]}"
# seed 000's ImageDataGenerator call pasted as is: rescale is the store's --preprocess
expect_exit "rescale in --augment-spec points to extract --preprocess rescale" 2 \
    "rescale is not an augmentation: the scaling of the pixels is the store's preprocessing, chosen once at extract (--preprocess rescale is x/255" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/u.db" --augment 2 --augment-spec "rescale=1./255., rotation_range=40,
        width_shift_range=0.2, horizontal_flip=True" "${X[@]}"
expect_exit "unsupported fill_mode" 2 "fill_mode" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/u.db" --augment 2 --augment-spec "rotation_range=10, fill_mode='reflect'" "${X[@]}"
expect_exit "--augment 0" 2 "--augment" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/u.db" --augment 0 "${X[@]}"
[ -e "$T/u.db" ] && fail "usage errors created a store" || ok "usage errors write nothing"
expect_exit "extract --augment 1: the summary in words" 0 "augment: 1 view of each of" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/one.db" --augment 1 --augment-spec "horizontal_flip=True" "${X[@]}"

# --- views equal Keras's transform + the backbone (numpy), f32 so the check is exact
SPEC="rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2, horizontal_flip=True"
expect_exit "extract --augment 3" 0 "augment: 3 views of each of" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/a.db" --codec f32 --augment 3 --augment-spec "$SPEC" "${X[@]}"
ntrain=$(sql "$T/a.db" "select count(*) from images where split = 0 and status = 0")
[ "$(sql "$T/a.db" "select count(*) from views")" = $((3 * ntrain)) ] && ok "3 views per training image ($ntrain)" \
    || fail "views: $(sql "$T/a.db" "select count(*) from views") for $ntrain train images"
[ "$(sql "$T/a.db" "select count(*) from views v join images i on i.sha256 = v.sha256 where i.split != 0")" = 0 ] \
    && ok "no views of validation/test images" || fail "views of non-train images"
"$DUMP" --views "$T/a.db" >"$T/views.txt" && ok "dump views" || fail "dump views"
check "every view = numpy(Keras transform) forward, 1e-4" \
    $PY "$FX" expect-views "$T/tiny.h5" "$T/img" "$T/views.txt" --size 32 --preprocess rescale
sed 's/^/    /' "$T/.out"
$PY "$FX" expect-views "$T/tiny.h5" "$T/img" "$T/views.txt" --size 32 --preprocess tf >/dev/null \
    && fail "the view check accepts wrong preprocessing" || ok "the view check rejects wrong preprocessing (it can fail)"
awk '{ print $4, $5, $6, $7, $8, $9, $10, $11 }' "$T/views.txt" | sort -u | wc -l | grep -qx "$((3 * ntrain))" \
    && ok "every view has its own transform" || fail "repeated transforms"
check "info shows the augmentation" "$FC" info "$T/a.db"
grep -q "^augmented    3 views per training image (rotation_range=40, .*seed 1): $((3 * ntrain)) stored of $((3 * ntrain))" "$T/.out" \
    && ok "info: views line" || fail "info: $(grep augmented "$T/.out")"
check "verify checks the views" "$FC" verify "$T/a.db"
grep -q "$((3 * ntrain)) augmented views decoded and checksummed" "$T/.out" && ok "verify counts the views" \
    || fail "verify: $(cat "$T/.out")"

# --- the same run again: nothing recomputed; another augmentation refused, nothing written
expect_exit "re-run stores no view" 0 "stored 0 in" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/a.db" --augment 3 --augment-spec "$SPEC" "${X[@]}"
expect_exit "the same spec written otherwise is the same augmentation" 0 "stored 0 in" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/a.db" --augment 3 \
    --augment-spec "horizontal_flip=True zoom_range=[0.8, 1.2] shear_range=0.2 height_shift_range=0.2 width_shift_range=0.2 rotation_range=40.0" "${X[@]}"
expect_exit "another spec refused" 1 "one augmentation per store" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/a.db" --augment 3 --augment-spec 'rotation_range=10' "${X[@]}"
expect_exit "another seed refused" 1 "seed 1" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/a.db" --augment 3 --augment-seed 7 "${X[@]}"
"$DUMP" --views "$T/a.db" | cmp -s - "$T/views.txt" && ok "refusals changed no view" || fail "views changed"
# a plain extract keeps the views complete (here: nothing to do); --augment 5 adds views 3 and 4 only
expect_exit "plain re-run keeps the augmentation" 0 "augment: 3 views" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/a.db" "${X[@]}"
expect_exit "--augment 5 adds two views each" 0 "stored $((2 * ntrain)) in" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/a.db" --augment 5 "${X[@]}"
"$DUMP" --views "$T/a.db" >"$T/views5.txt"
grep -E '^[0-9a-f]{64} [012] ' "$T/views5.txt" | cmp -s - "$T/views.txt" && ok "views 0-2 unchanged by --augment 5" \
    || fail "views 0-2 changed"

# --- resume: views lost (a killed run) are refused by train, then completed by extract
cp "$T/a.db" "$T/b.db"
sql "$T/b.db" "delete from views where view = 4 and rowid % 2 = 0" >/dev/null
expect_exit "train --augment on incomplete views" 1 "re-run extract" "$FC" train "$T/b.db" -o "$T/x.h5" --augment --epochs 1
# a damaged or forged view that still decodes (view 1's blob holds view 2's values) is an
# error naming the store and the image wherever views are read, never silent training
cp "$T/a.db" "$T/d.db"
sha=$(sql "$T/d.db" "select sha256 from views where view = 1 order by rowid limit 1")
dpath=$(sql "$T/d.db" "select path from images where sha256 = '$sha'")
sql "$T/d.db" "update views set blob = (select blob from views where sha256 = '$sha' and view = 2) where sha256 = '$sha' and view = 1" >/dev/null
expect_exit "train --augment on a damaged view" 1 "d.db: augmented views of $dpath: view 1 does not match its checksum" \
    "$FC" train "$T/d.db" -o "$T/x.h5" --augment --epochs 1
[ ! -e "$T/x.h5" ] && ok "... no head written" || fail "a head was trained on a damaged view"
expect_exit "export of a damaged view" 1 "d.db: augmented views of $dpath: view 1 does not match its checksum" \
    "$FC" export "$T/d.db" "$T/d.h5"
expect_exit "merge of a damaged view" 1 "d.db: augmented views of $dpath: view 1 does not match its checksum" \
    "$FC" merge -o "$T/dm.db" "$T/d.db"
expect_exit "verify names it too" 1 "view 1 of $dpath: decoded values do not match their checksum" "$FC" verify "$T/d.db"
check "info says views are missing" "$FC" info "$T/b.db"
grep -q "extract on the folder again completes them" "$T/.out" && ok "info: incomplete views" || fail "info: $(grep augmented "$T/.out")"
expect_exit "extract completes them" 0 "augment: 5 views" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/b.db" "${X[@]}"
"$DUMP" --views "$T/b.db" >"$T/views5b.txt"
# the same transforms; values to float32 rounding (a view's batch-mates differ, and with them the GEMM's blocking)
$PY - "$T/views5.txt" "$T/views5b.txt" <<'PY' && ok "completed views equal the first ones (1e-6)" || fail "completed views differ"
import sys
a, b = (open(p).read().splitlines() for p in sys.argv[1:3])
assert len(a) == len(b) and len(a) > 0
for x, y in zip(a, b):
    hx, vx = x.split(" : "); hy, vy = y.split(" : ")
    assert hx == hy, (hx, hy)
    vx, vy = [float(v) for v in vx.split()], [float(v) for v in vy.split()]
    m = max(1.0, max(abs(v) for v in vx))
    assert max(abs(p - q) for p, q in zip(vx, vy)) <= 1e-6 * m
PY

# --- kill -9 and SIGINT during the views: the store stays valid, a re-run completes exactly the rest
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/k0.db" --augment 200 "${X[@]}" >/dev/null
"$DUMP" --views "$T/k0.db" | awk '{ print $1, $2 }' >"$T/k0.keys"
for sig in KILL INT; do
    rm -f "$T/k.db"*
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/k.db" "${X[@]}" >/dev/null
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/k.db" --augment 200 "${X[@]}" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do n=$(sql "$T/k.db" "select count(*) from views" 2>/dev/null); [ "${n:-0}" -gt 200 ] && break; sleep 0.02; done
    kill -$sig $pid 2>/dev/null; wait $pid 2>/dev/null
    got=$(sql "$T/k.db" "select count(*) from views")
    [ "$got" -gt 0 ] && [ "$got" -lt "$(wc -l <"$T/k0.keys")" ] && ok "SIG$sig part way: $got views kept" \
        || echo "# SIG$sig: $got views (the run finished first or was stopped before a batch)"
    check "verify after SIG$sig" "$FC" verify "$T/k.db"
    expect_exit "re-run after SIG$sig stores the rest" 0 "stored $(( $(wc -l <"$T/k0.keys") - got )) in" \
        "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/k.db" "${X[@]}"
    "$DUMP" --views "$T/k.db" | awk '{ print $1, $2 }' | cmp -s - "$T/k0.keys" && ok "after SIG$sig: the same views as one run" \
        || fail "after SIG$sig: views differ from one run"
done

# --- a damaged view is found by verify (exit 1), naming the image
cp "$T/a.db" "$T/c.db"
sql "$T/c.db" "update views set checksum = 'x' || substr(checksum, 2) where rowid = 2" >/dev/null
expect_exit "verify finds a damaged view" 1 "do not match their checksum" "$FC" verify "$T/c.db"

# --- augment-preview: the pictures of the views the store holds (same transforms, Keras's pixels)
pv=$(sql "$T/a.db" "select path from images where split = 0 order by path limit 1")
psha=$(sql "$T/a.db" "select sha256 from images where path = '$pv'")
check "augment-preview --store" "$FC" augment-preview "$T/img/$pv" -o "$T/grid.png" --store "$T/a.db" -k 5 --tiles "$T/tiles"
cp "$T/.out" "$T/preview.txt"
grep "^$psha " "$T/views5.txt" >"$T/pviews.txt"
$PY - "$T/preview.txt" "$T/pviews.txt" "$T/img/$pv" "$T/tiles/$(basename "$pv")" "$T/grid.png" <<'PY' \
    && ok "augment-preview: the store's transforms, tiles = Keras's transform (+-1), grid PNG" || fail "augment-preview differs"
import sys, os
import numpy as np
from PIL import Image
sys.path.insert(0, os.environ["FX_DIR"])
from extract_fixtures import keras_affine
pre, dump, img, tiles, grid = sys.argv[1:6]
got = [l for l in open(pre) if " view " in l]
want = [l.split(" : ")[0].split() for l in open(dump)]
assert len(got) == 5 and len(want) == 5, (len(got), len(want))
x0 = np.asarray(Image.open(img).convert("RGB").resize((32, 32), Image.NEAREST), np.float64)
for g, w in zip(got, want):
    v = int(g.split(" view ")[1].split(":")[0])
    kv = dict(t.split("=") for t in g.split(": ", 1)[1].split())
    params = [float(kv[k]) for k in ("theta", "tx", "ty", "shear", "zx", "zy")]
    assert int(w[1]) == v
    for a, b in zip(params, map(float, w[3:9])):
        assert abs(a - b) <= 1e-5 * max(1.0, abs(b)), (v, params, w[3:9])
    assert (int(kv["flip_h"]), int(kv["flip_v"])) == (int(w[9]), int(w[10]))
    ref = np.clip(np.rint(keras_affine(x0, *map(float, w[3:9]), int(w[9]), int(w[10]))), 0, 255)
    tile = np.asarray(Image.open("%s.view%d.png" % (tiles, v)).convert("RGB"), np.float64)
    assert tile.shape == (32, 32, 3) and np.abs(tile - ref).max() <= 1, (v, np.abs(tile - ref).max())
orig = np.asarray(Image.open(tiles + ".original.png").convert("RGB"), np.float64)
assert np.array_equal(orig, x0)
g = Image.open(grid)
assert g.format == "PNG" and g.size[0] >= 6 + 6 * 102 and g.size[1] == 24 + 118 + 6, g.size
PY
# views past the store's are drawn as a larger --augment would make them, and the note says which
nv=$(sql "$T/a.db" "select views from augmentation")
expect_exit "augment-preview --store -k $((nv + 1)) (one view past the store's $nv)" 0 \
    "the store holds $nv views per image; view $nv is drawn as extract --augment $((nv + 1)) would make them" \
    "$FC" augment-preview "$T/img/$pv" -o "$T/g4.png" --store "$T/a.db" -k $((nv + 1))
expect_exit "... -k $((nv + 3)) (three past)" 0 \
    "the store holds $nv views per image; views $nv-$((nv + 2)) are drawn as extract --augment $((nv + 3))" \
    "$FC" augment-preview "$T/img/$pv" -o "$T/g6.png" --store "$T/a.db" -k $((nv + 3))
expect_exit "augment-preview: --store with --size" 2 "--store takes" \
    "$FC" augment-preview "$T/img/$pv" -o "$T/g.png" --store "$T/a.db" --size 64
expect_exit "augment-preview: bad spec" 2 "augment-spec" "$FC" augment-preview "$T/img/$pv" -o "$T/g.png" --augment-spec 'rescale=2'
expect_exit "augment-preview: -o required" 2 "-o GRID.png" "$FC" augment-preview "$T/img/$pv"
expect_exit "augment-preview: too many views" 2 "--views" "$FC" augment-preview "$T/img/$pv" -o "$T/g.png" -k 65
expect_exit "augment-preview: missing image" 1 "nope.png" "$FC" augment-preview "$T/nope.png" -o "$T/g.png"
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/plainp.db" "${X[@]}" >/dev/null
expect_exit "augment-preview: store without views" 1 "no augmented views" \
    "$FC" augment-preview "$T/img/$pv" -o "$T/g.png" --store "$T/plainp.db"
expect_exit "augment-preview: will not write over a store" 1 "" "$FC" augment-preview "$T/img/$pv" -o "$T/a.db"
check "augment-preview without a store" "$FC" augment-preview "$T/img/$pv" -o "$T/g2.png" --size 48x40 -k 3

# --- train --augment: one view per image per epoch, deterministic; sweep row == lone run
check "train --augment" "$FC" train "$T/a.db" -o "$T/h1.h5" --augment --epochs 4 --lr 1e-3 --history "$T/h1.csv" --threads 2
check "train --augment again" "$FC" train "$T/a.db" -o "$T/h2.h5" --augment --epochs 4 --lr 1e-3 --history "$T/h2.csv" --threads 2
check "train without --augment" "$FC" train "$T/a.db" -o "$T/h0.h5" --epochs 4 --lr 1e-3 --history "$T/h0.csv" --threads 2
cut -d, -f1-5 "$T/h1.csv" | cmp -s - <(cut -d, -f1-5 "$T/h2.csv") && ok "same seed, same augmented history" \
    || fail "augmented training is not deterministic"
cut -d, -f2-3 "$T/h1.csv" | cmp -s - <(cut -d, -f2-3 "$T/h0.csv") && fail "--augment changed nothing" \
    || ok "--augment trains on the views (history differs)"
# a killed --augment run resumes with the views of each epoch it had not trained (mid-epoch too)
FC_TEST_CKPT_KILL=2 "$FC" train "$T/a.db" -o "$T/hk.h5" --augment --epochs 4 --lr 1e-3 --threads 2 --checkpoint-every 0 -q >/dev/null 2>&1
check "train --augment resumes after a kill" "$FC" train "$T/a.db" -o "$T/hk.h5" --augment --epochs 4 --lr 1e-3 --threads 2 \
    --checkpoint-every 0 --history "$T/hk.csv"
grep -q "resuming from" "$T/.out" && cut -d, -f1-5 "$T/h1.csv" | cmp -s - <(cut -d, -f1-5 "$T/hk.csv") \
    && ok "resumed --augment history == uninterrupted" || fail "resumed --augment history differs"
env FC_TEST_CKPT_STOP=3:1 "$FC" train "$T/a.db" -o "$T/hs.h5" --augment --epochs 4 --lr 1e-3 --threads 2 -q >/dev/null 2>&1
check "train --augment resumes after a stop in epoch 3" "$FC" train "$T/a.db" -o "$T/hs.h5" --augment --epochs 4 --lr 1e-3 \
    --threads 2 --history "$T/hs.csv"
grep -q "and part of the next" "$T/.out" && cut -d, -f1-5 "$T/h1.csv" | cmp -s - <(cut -d, -f1-5 "$T/hs.csv") \
    && ok "resumed mid-epoch --augment history == uninterrupted" || fail "mid-epoch --augment resume differs"
check "train --augment --pool gap" "$FC" train "$T/a.db" -o "$T/hg.h5" --augment --pool gap --epochs 2 --lr 1e-3
check "sweep --augment" "$FC" sweep "$T/a.db" --grid 'lr=1e-3,1e-4' -o "$T/sw.csv" --augment --epochs 4 --threads 2 --quiet
$PY - "$T/sw.csv" "$T/h1.csv" <<'PY' && ok "sweep --augment row equals its lone run" || fail "sweep row differs from train"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
h = list(csv.DictReader(open(sys.argv[2])))
r = [r for r in rows if float(r["lr"]) == 1e-3][0]
assert abs(float(r["final_loss"]) - float(h[-1]["loss"])) < 1e-6, (r["final_loss"], h[-1]["loss"])
assert abs(float(r["final_acc"]) - float(h[-1]["acc"])) < 1e-9
PY
# f16 stores keep the views as halves in memory (exact): the same history as float32 residency
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/h16.db" --augment 4 "${X[@]}" >/dev/null
for pool in flatten gap; do
    "$FC" train "$T/h16.db" -o "$T/a16.h5" --augment --pool $pool --epochs 3 --lr 1e-3 --history "$T/a16.csv" -q --threads 2
    FC_TEST_VIEWS_FLOAT=1 "$FC" train "$T/h16.db" -o "$T/b16.h5" --augment --pool $pool --epochs 3 --lr 1e-3 \
        --history "$T/b16.csv" -q --threads 2
    cut -d, -f1-5 "$T/a16.csv" | cmp -s - <(cut -d, -f1-5 "$T/b16.csv") && [ -s "$T/a16.csv" ] \
        && ok "f16 views as halves in memory: the same history as float32 ($pool)" || fail "half-resident views differ ($pool)"
done

# augment as a grid axis: with and without views side by side, each row its lone run
check "sweep --grid 'augment=0,1'" "$FC" sweep "$T/a.db" --grid 'augment=0,1' -o "$T/sw2.csv" --epochs 4 --lr 1e-3 --threads 2 --quiet
$PY - "$T/sw2.csv" "$T/h0.csv" "$T/h1.csv" <<'PY' && ok "grid augment=0,1: rows equal train without / with --augment" || fail "augment axis rows differ"
import csv, sys
rows = {int(r["augment"]): r for r in csv.DictReader(open(sys.argv[1]))}
assert set(rows) == {0, 1}, rows.keys()
for k, path in ((0, sys.argv[2]), (1, sys.argv[3])):
    h = list(csv.DictReader(open(path)))
    assert abs(float(rows[k]["final_loss"]) - float(h[-1]["loss"])) < 1e-6, (k, rows[k]["final_loss"], h[-1]["loss"])
    assert abs(float(rows[k]["final_val_loss"]) - float(h[-1]["val_loss"])) < 1e-6
PY
expect_exit "bad augment value in a grid" 2 "augment 'maybe'" "$FC" sweep "$T/a.db" --grid 'augment=0,maybe' -o "$T/x.csv"
check "info HEAD.h5 shows augment" "$FC" info "$T/h1.h5"
grep -q "augment=true" "$T/.out" && ok "head records augment=true" || fail "head settings: $(grep trained "$T/.out")"
"$FC" runs "$T/a.db" >"$T/runs.txt"
grep -q "augment=true" "$T/runs.txt" && ok "runs list augment=true" || fail "runs: $(cat "$T/runs.txt")"

# --- views that do not fit in memory are refused before training (FC_TEST_MEM_AVAILABLE: a small machine)
runs_before=$(sql "$T/a.db" "select count(*) from runs")
expect_exit "views larger than the memory: refused" 1 "available (memory + swap)" \
    env FC_TEST_MEM_AVAILABLE=100000 "$FC" train "$T/a.db" -o "$T/big.h5" --augment
[ ! -e "$T/big.h5" ] && [ "$(sql "$T/a.db" "select count(*) from runs")" = "$runs_before" ] \
    && ok "refused: no head written, no run recorded" || fail "refusal wrote something"
check "the same store trains without --augment on that machine" env FC_TEST_MEM_AVAILABLE=100000000 \
    "$FC" train "$T/a.db" -o "$T/small.h5" --epochs 1 -q

# --- refusals: no views, an HDF5 export (exit 1)
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/plain.db" "${X[@]}" >/dev/null
expect_exit "train --augment without views" 1 "no augmented views" "$FC" train "$T/plain.db" -o "$T/x.h5" --augment
# --- export writes the views (/views, /view_of, /view_index, augment_* attributes); import reads them back
expect_exit "export with views" 0 "with $((5 * ntrain)) augmented views" "$FC" export "$T/a.db" "$T/a.h5"
$PY - "$T/a.h5" "$T/views5.txt" <<'PY' && ok "h5py reads the views: each equals the store's, row and index as stored" || fail "exported views"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
want = {}
for line in open(sys.argv[2]):
    head, vals = line.split(" : ")
    h = head.split()
    want[(h[0], int(h[1]))] = np.array(vals.split(), np.float32)
sha = f["sha256"].asstr()[:]
v, of, ix = f["views"][:], f["view_of"][:], f["view_index"][:]
assert v.shape == (len(want),) + f["features"].shape[1:] and v.dtype == np.float32, v.shape
assert f.attrs["augment_views"] == 5 and f.attrs["augment_seed"] == 1 and "rotation_range=40" in f.attrs["augment_spec"]
split = f["split"].asstr()[:]
for i in range(len(v)):
    assert split[of[i]] == "train"
    assert np.array_equal(v[i].ravel(), want[(sha[of[i]], int(ix[i]))]), i
PY
check "import with views" "$FC" import "$T/a.h5" -o "$T/imp.db"
grep -q "imported $((5 * ntrain)) augmented views" "$T/.out" && ok "import says how many views" || fail "import: $(cat "$T/.out")"
"$DUMP" --views "$T/imp.db" | cmp -s - "$T/views5.txt" && ok "imported views are the store's, bit for bit" || fail "imported views differ"
check "verify the imported store" "$FC" verify "$T/imp.db"
check "train --augment on the imported store" "$FC" train "$T/imp.db" -o "$T/ih.h5" --augment --epochs 1 -q
check "info on the export shows its views" "$FC" info "$T/a.h5"
grep -q "^augmented    $((5 * ntrain)) views, 5 per training image" "$T/.out" && ok "info: export views" || fail "info: $(tail -2 "$T/.out")"
check "export --dtype float16 --zstd with views" "$FC" export "$T/a.db" "$T/x16.h5" --dtype float16 --zstd
$PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); assert f['views'].dtype=='float16' and f['views'].shape[0]==int(sys.argv[2])" \
    "$T/x16.h5" $((5 * ntrain)) && ok "float16 views" || fail "float16 views"
# damaged view tables are refused by name (exit 1), nothing written
$PY - "$T/a.h5" "$T/bad_of.h5" "$T/bad_shape.h5" <<'PY' || fail "make damaged exports"
import sys, shutil, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    f["view_of"][0] = 10**6
shutil.copy(sys.argv[1], sys.argv[3])
with h5py.File(sys.argv[3], "r+") as f:
    del f["views"]
    f.create_dataset("views", data=np.zeros((3, 2, 2, 2), np.float32))
PY
expect_exit "import: /view_of out of range" 1 "/view_of[0] = 1000000" "$FC" import "$T/bad_of.h5" -o "$T/bo.db"
expect_exit "import: /views of the wrong shape" 1 "/views must be" "$FC" import "$T/bad_shape.h5" -o "$T/bs.db"
[ ! -e "$T/bo.db" ] && [ ! -e "$T/bs.db" ] && ok "refused imports wrote nothing" || fail "a refused import wrote a store"
# training straight from the export: the same views, the same history as from the store
check "train --augment from the export" "$FC" train "$T/a.h5" -o "$T/xh.h5" --augment --epochs 4 --lr 1e-3 --history "$T/hx.csv" -q --threads 2
cut -d, -f1-5 "$T/hx.csv" | cmp -s - <(cut -d, -f1-5 "$T/h1.csv") && ok "export --augment history == store --augment history" \
    || fail "training from the export differs"
$PY -c "import sys, shutil, h5py; shutil.copy(sys.argv[1], sys.argv[2]); f = h5py.File(sys.argv[2], 'r+'); \
i = [k for k in range(len(f['view_index'])) if f['view_index'][k] == 1][0]; f['view_index'][i] = 0" "$T/a.h5" "$T/gap.h5"
expect_exit "train --augment on an export missing a view" 1 "has no view 1" "$FC" train "$T/gap.h5" -o "$T/x.h5" --augment
"$FC" export "$T/plain.db" "$T/plain.h5" >/dev/null
expect_exit "train --augment on an export without views" 1 "no augmented views (/views)" \
    "$FC" train "$T/plain.h5" -o "$T/x.h5" --augment
# --- merge carries the views: shards made on two "machines" merge to the views of one run
for i in 0 1; do
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/sh$i.db" --codec f32 --shard $i/2 --augment 5 --augment-spec "$SPEC" "${X[@]}" >/dev/null
done
expect_exit "merge two shards with views" 0 "merged $((5 * ntrain)) augmented views (5 per training image" \
    "$FC" merge -o "$T/m.db" "$T/sh0.db" "$T/sh1.db"
"$DUMP" --views "$T/m.db" >"$T/mviews.txt"
$PY - "$T/mviews.txt" "$T/views5.txt" <<'PY' && ok "merged shard views = the views of one run (1e-6)" || fail "merged views differ"
import sys
a, b = (open(p).read().splitlines() for p in sys.argv[1:3])
assert len(a) == len(b) and a, (len(a), len(b))
for x, y in zip(a, b):
    hx, vx = x.split(" : "); hy, vy = y.split(" : ")
    assert hx == hy, (hx, hy)
    vx, vy = [float(v) for v in vx.split()], [float(v) for v in vy.split()]
    assert max(abs(p - q) for p, q in zip(vx, vy)) <= 1e-5 * max(1.0, max(abs(v) for v in vx))
PY
check "verify the merged store" "$FC" verify "$T/m.db"
check "train --augment on the merged store" "$FC" train "$T/m.db" -o "$T/mh.h5" --augment --epochs 1 -q
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/other.db" --codec f32 --augment 2 --augment-spec 'horizontal_flip=True' "${X[@]}" >/dev/null
expect_exit "merge of different augmentations: images only, said" 0 "different augmentations" \
    "$FC" merge -o "$T/m2.db" "$T/a.db" "$T/other.db" --prefer first
[ "$(sql "$T/m2.db" "select count(*) from sqlite_master where name = 'views'")" = 0 ] \
    && ok "no views merged from different augmentations" || fail "views merged from different augmentations"

# shards with 3 and 2 views merge to 2 per image (what every input has); a shard without
# views makes the merge carry none (said), rather than a store with missing views
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/sk3.db" --codec f32 --shard 0/2 --augment 3 --augment-spec "$SPEC" "${X[@]}" >/dev/null
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/sk2.db" --codec f32 --shard 1/2 --augment 2 --augment-spec "$SPEC" "${X[@]}" >/dev/null
expect_exit "merge shards of 3 and 2 views: 2 per image" 0 "merged $((2 * ntrain)) augmented views (2 per training image" \
    "$FC" merge -o "$T/mk.db" "$T/sk3.db" "$T/sk2.db"
grep -q "lacks" "$T/.err" && fail "merged views reported incomplete" || ok "... complete (no note)"
check "train --augment on it" "$FC" train "$T/mk.db" -o "$T/mkh.h5" --augment --epochs 1 -q
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/sp.db" --codec f32 --shard 1/2 "${X[@]}" >/dev/null
expect_exit "merge with a shard without views: images only, said" 0 "or some inputs have none" \
    "$FC" merge -o "$T/mp.db" "$T/sh0.db" "$T/sp.db"
[ "$(sql "$T/mp.db" "select count(*) from sqlite_master where name = 'views'")" = 0 ] \
    && ok "... no views carried" || fail "views carried from a partial set of inputs"
# a shard whose extract was killed before its views were all made: merged, and said
cp "$T/sk3.db" "$T/sk3k.db" && sql "$T/sk3k.db" "delete from views where view = 2 and rowid % 2 = 0" >/dev/null
cp "$T/sk2.db" "$T/sk3b.db"
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/sk3b.db" --codec f32 --shard 1/2 --augment 3 "${X[@]}" >/dev/null
expect_exit "merge with a shard missing some views: said" 0 "lacks" "$FC" merge -o "$T/mkk.db" "$T/sk3k.db" "$T/sk3b.db"
# views belong to training images: verify flags a view beyond K; an image moved from train to
# validation loses its views (and export never writes views of non-training rows)
cp "$T/a.db" "$T/d.db" && sql "$T/d.db" "update views set view = 99 where rowid = 3" >/dev/null
expect_exit "verify: a view beyond K" 1 "beyond the store's" "$FC" verify "$T/d.db"
rm -rf "$T/img4" && mkdir -p "$T/img4/train" "$T/img4/validation"
cp -r "$T/img"/*/ "$T/img4/train/"
c0=$(ls "$T/img4/train" | head -1)
mkdir -p "$T/img4/validation/$c0" && cp "$(ls "$T/img4/train/$c0"/* | tail -1)" "$T/img4/validation/$c0/extra.png"
rm "$(ls "$T/img4/train/$c0"/* | tail -1)"
"$FC" extract "$T/img4" -m "$T/tiny.h5" -o "$T/mv.db" --augment 2 "${X[@]}" >/dev/null
mvp=$(sql "$T/mv.db" "select path from images where split = 0 order by path limit 1")
mvs=$(sql "$T/mv.db" "select sha256 from images where path = '$mvp'")
[ "$(sql "$T/mv.db" "select count(*) from views where sha256 = '$mvs'")" = 2 ] && ok "a training image has its 2 views" || fail "no views"
mkdir -p "$(dirname "$T/img4/validation/${mvp#train/}")" && mv "$T/img4/$mvp" "$T/img4/validation/${mvp#train/}"
check "re-extract after moving a training image to validation" "$FC" extract "$T/img4" -m "$T/tiny.h5" -o "$T/mv.db" "${X[@]}"
[ "$(sql "$T/mv.db" "select split from images where sha256 = '$mvs'")" = 1 ] && \
[ "$(sql "$T/mv.db" "select count(*) from views where sha256 = '$mvs'")" = 0 ] && ok "... it is in validation, its views are gone" \
    || fail "moved image: split $(sql "$T/mv.db" "select split from images where sha256 = '$mvs'"), views kept"
check "verify after the move" "$FC" verify "$T/mv.db"
check "export after the move" "$FC" export "$T/mv.db" "$T/mv.h5"
$PY -c "import h5py,sys,numpy as np; f=h5py.File(sys.argv[1],'r'); s=f['split'].asstr()[:]; \
assert (s[f['view_of'][:]] == 'train').all()" "$T/mv.h5" && ok "... the export's views are all of training rows" || fail "export has views of non-training rows"
# an export whose /view_of names a validation row, or repeats a (row, view) pair: import refuses
$PY - "$T/mv.h5" "$T/bad_val.h5" <<'PY' || fail "make an export with a validation view"
import sys, shutil, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    s = f["split"].asstr()[:]
    f["view_of"][0] = int(np.nonzero(s == "validation")[0][0])
PY
expect_exit "import: a view of a validation row" 1 "views belong to training images" "$FC" import "$T/bad_val.h5" -o "$T/bv.db"
expect_exit "import: a (row, view) pair twice" 1 "appears twice" "$FC" import "$T/gap.h5" -o "$T/bg.db"
[ ! -e "$T/bv.db" ] && [ ! -e "$T/bg.db" ] && ok "... nothing written" || fail "a refused import wrote a store"
$PY - "$T/mv.h5" "$T/noattr.h5" "$T/badspec.h5" <<'PY' || fail "make exports with bad augment attributes"
import sys, shutil, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f: del f.attrs["augment_spec"]
shutil.copy(sys.argv[1], sys.argv[3])
with h5py.File(sys.argv[3], "r+") as f: f.attrs["augment_spec"] = "rescale=1"
PY
expect_exit "import: an export whose augment_spec is missing (a message, exit 1)" 1 "augment_spec, augment_seed" \
    "$FC" import "$T/noattr.h5" -o "$T/na.db"
expect_exit "train --augment: an unparsable augment_spec is a data error (exit 1)" 1 "augment_spec" \
    "$FC" train "$T/badspec.h5" -o "$T/x.h5" --augment
mkdir -p "$T/dup/x" "$T/dup/y" && cp "$T/img4/validation/$c0/extra.png" "$T/dup/x/1.png" && cp "$T/img4/validation/$c0/extra.png" "$T/dup/y/1.png"
expect_exit "augment-preview --tiles with two images of one file name" 2 "same file name" \
    "$FC" augment-preview "$T/dup/x/1.png" "$T/dup/y/1.png" -o "$T/dup.png" -k 1 --size 16 --tiles "$T/dupt"

# --- a file rewritten behind extract's back (same size and mtime: the stored hash is trusted for
# the images) is hashed again for its views: skipped and said, not augmented from other bytes
rm -rf "$T/img3" && cp -r "$T/img" "$T/img3"
"$FC" extract "$T/img3" -m "$T/tiny.h5" -o "$T/c3.db" "${X[@]}" >/dev/null
p3=$(sql "$T/c3.db" "select path from images where split = 0 and path like '%.png' limit 1")
touch -r "$T/img3/$p3" "$T/stamp"
$PY -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-20] ^= 0xff; open(p,'wb').write(b)" "$T/img3/$p3"
touch -r "$T/stamp" "$T/img3/$p3"
expect_exit "a file changed since stored: its views are skipped" 0 "1 file(s) changed since stored: skipped" \
    "$FC" extract "$T/img3" -m "$T/tiny.h5" -o "$T/c3.db" --augment 2 "${X[@]}"
s3=$(sql "$T/c3.db" "select sha256 from images where path = '$p3'")
[ "$(sql "$T/c3.db" "select count(*) from views where sha256 = '$s3'")" = 0 ] && ok "no views for the changed file" \
    || fail "views made for a changed file"

# --- prune removes an image's views with it
rm -rf "$T/img2" && cp -r "$T/img" "$T/img2"
"$FC" extract "$T/img2" -m "$T/tiny.h5" -o "$T/p.db" --augment 2 "${X[@]}" >/dev/null
victim=$(sql "$T/p.db" "select path from images where split = 0 limit 1")
vsha=$(sql "$T/p.db" "select sha256 from images where split = 0 limit 1")
rm "$T/img2/$victim"
expect_exit "extract --prune" 0 "pruned 1" "$FC" extract "$T/img2" -m "$T/tiny.h5" -o "$T/p.db" --prune "${X[@]}"
[ "$(sql "$T/p.db" "select count(*) from views where sha256 = '$vsha'")" = 0 ] && ok "pruned image's views are gone" \
    || fail "views of the pruned image remain"
check "verify after prune" "$FC" verify "$T/p.db"
finish
