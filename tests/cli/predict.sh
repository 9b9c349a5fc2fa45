#!/usr/bin/env bash
# predict.sh - `featcache predict` end to end: a tiny Keras backbone, a store extracted with
# it, a head trained on the store; predictions equal an independent h5py+numpy forward of
# backbone and head; --top; refusals (foreign head, bad images, usage).
. "$(dirname "$0")/lib.sh"
FX="$ROOT/tests/py/extract_fixtures.py"
$PY "$FX" images "$T/img" --classes 3 --per-class 10 --jpeg-every 4 || { fail "fixture images"; finish; }
$PY "$FX" model "$T/tiny.h5" || { fail "fixture model"; finish; }
$PY "$FX" expect "$T/tiny.h5" "$T/img" "$T/expect.txt" --size 32 --preprocess rescale
check "extract" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/s.db" --size 32 --preprocess rescale --quiet
check "train a 3-class head" "$FC" train "$T/s.db" -o "$T/h.h5" --hidden 16 --optimizer adam --lr 1e-3 --epochs 3 -q
export LC_ALL=C # glob order = byte order, the order predict walks a folder in
imgs=("$T"/img/*/*)
check "predict" "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "${imgs[@]}"
cp "$T/.out" "$T/p1.csv"
[ "$(wc -l <"$T/p1.csv")" -eq $((${#imgs[@]} + 1)) ] && ok "one row per image" || fail "rows: $(wc -l <"$T/p1.csv")"
check "predict --top 3" "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" --top 3 --batch 7 "${imgs[@]}"
cp "$T/.out" "$T/p3.csv"
[ "$(wc -l <"$T/p3.csv")" -eq $((3 * ${#imgs[@]} + 1)) ] && ok "--top 3: three rows per image" || fail "top rows"
grep -q "note: --top" "$T/.err" && fail "--top 3 of 3 classes: a note" || ok "--top 3 of 3 classes: no note"
check "predict --top 4 of a 3-class head" "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" --top 4 "${imgs[0]}"
[ "$(wc -l <"$T/.out")" -eq 4 ] && grep -q "note: --top 4: .*h.h5 has 3 classes, so 3 rows per image" "$T/.err" \
    && ok "... 3 rows, and a note saying why" || fail "--top 4: $(wc -l <"$T/.out") lines; $(cat "$T/.err")"
"$PY" - "$T/p3.csv" <<'PY' && ok "--top rows sorted, probabilities sum to 1" || fail "--top probabilities"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))[1:]
for i in range(0, len(rows), 3):
    p = [float(r[2]) for r in rows[i:i + 3]]
    assert p == sorted(p, reverse=True) and abs(sum(p) - 1) < 1e-4 and len({r[0] for r in rows[i:i + 3]}) == 1
PY
"$PY" "$ROOT/tests/py/ref_train.py" predict "$T/h.h5" "$T/expect.txt" "$T/p3.csv" 2>&1 || true

# --- more classes than any fixed table: the head's last Dense made 5000-way with a zero
# kernel, so every image's probabilities are softmax(bias); the best classes sit above 4096
"$PY" - "$T/h.h5" "$T/h5000.h5" "$T/h5000.txt" <<'PY' || fail "5000-class head fixture"
import h5py, json, shutil, sys, numpy as np
src, dst, ref = sys.argv[1:]
shutil.copy(src, dst)
K = 5000
bias = np.random.default_rng(1).normal(0, 1, K).astype("f4")
bias[[4500, 4097, 4999, 123]] = [9.0, 8.5, 8.0, 7.5]
with h5py.File(dst, "a") as f:
    c = json.loads(f.attrs["model_config"])
    last = c["config"]["layers"][-1]["config"]
    last["units"], last["activation"] = K, "softmax"
    f.attrs["model_config"] = np.bytes_(json.dumps(c).encode())
    g = f["model_weights"][last["name"]][last["name"]]
    fan_in = g["kernel:0"].shape[0]
    del g["kernel:0"], g["bias:0"]
    g["kernel:0"] = np.zeros((fan_in, K), "f4")
    g["bias:0"] = bias
    f.attrs["class_names"] = np.bytes_(json.dumps(["c%d" % k for k in range(K)]).encode())
p = np.exp(bias.astype("f8") - bias.max()); p /= p.sum()
order = sorted(range(K), key=lambda k: (-np.float32(p[k]), k))
open(ref, "w").write("".join("c%d,%.9f\n" % (k, p[k]) for k in order))
PY
check "predict with a 5000-class head" "$FC" predict -m "$T/tiny.h5" --head "$T/h5000.h5" "${imgs[0]}"
[ "$(sed -n 2p "$T/.out" | cut -d, -f2)" = c4500 ] \
    && ok "5000 classes: the top class is c4500 (index above 4096)" || fail "5000 classes top-1: $(sed -n 2p "$T/.out")"
check "predict --top 5000 with a 5000-class head" "$FC" predict -m "$T/tiny.h5" --head "$T/h5000.h5" --top 5000 "${imgs[0]}"
"$PY" - "$T/.out" "$T/h5000.txt" <<'PY' && ok "--top 5000: every class ranked as numpy ranks them" || fail "--top 5000 ranking"
import sys
got = [l.rstrip("\n").split(",")[1:] for l in open(sys.argv[1]).readlines()[1:]]
want = [l.rstrip("\n").split(",") for l in open(sys.argv[2])]
assert [g[0] for g in got] == [w[0] for w in want], "class order differs"
assert max(abs(float(g[1]) - float(w[1])) for g, w in zip(got, want)) < 2e-6, "probabilities differ"
PY

# --- a folder: its images recursively, in sorted order (hidden files and other files skipped)
cp "${imgs[0]}" "$T/img/.hidden.png"; echo note >"$T/img/readme.txt"
check "predict a folder" "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "$T/img"
cmp -s "$T/.out" "$T/p1.csv" && ok "folder: the same rows as its images listed in sorted order" \
    || fail "folder rows differ: $(diff "$T/.out" "$T/p1.csv" | head -3)"
rm "$T/img/.hidden.png" "$T/img/readme.txt"
# every format Keras lists: the first image as BMP, PPM and TIFF (saved by PIL) predicts
# exactly as the original, as a file and in a folder
$PY -c "import sys; from PIL import Image; im = Image.open(sys.argv[1]); [im.save(sys.argv[2] + e) for e in ('.bmp', '.ppm', '.tif')]" \
    "${imgs[0]}" "$T/img/x" || fail "PIL conversion"
check "predict a .bmp file" "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "$T/img/x.bmp"
row0=$(sed -n 2p "$T/p1.csv" | cut -d, -f2-)
[ "$(sed -n 2p "$T/.out" | cut -d, -f2-)" = "$row0" ] && ok "... the same class and probability as the PNG" \
    || fail "bmp row: $(sed -n 2p "$T/.out") vs $row0"
check "predict a folder with .bmp/.ppm/.tif files" "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "$T/img"
[ "$(grep -c "" "$T/.out")" -eq $((${#imgs[@]} + 4)) ] && ok "... a row for each of them too" || fail "rows: $(cat "$T/.out")"
for e in bmp ppm tif; do
    [ "$(grep "/x\.$e," "$T/.out" | cut -d, -f2-)" = "$row0" ] && ok "... x.$e predicts as the PNG it was made from" \
        || fail "x.$e: $(grep "/x\.$e," "$T/.out") vs $row0"
done
rm "$T/img/x.bmp" "$T/img/x.ppm" "$T/img/x.tif"
mkdir -p "$T/none/sub"
expect_exit "empty folder" 1 "none: no images (.png .jpg" "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "$T/none"
expect_exit "empty folder among images: the images still predicted" 1 "no images (" \
    "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "$T/none" "${imgs[0]}"
[ "$(grep -c . "$T/.out")" -eq 2 ] && ok "image next to an empty folder predicted" || fail "rows: $(cat "$T/.out")"

# --- without -m: the backbone the head records (extract's -m), when it opens and has the head's weights
expect_exit "predict without -m: the head's recorded backbone" 0 "backbone $T/tiny.h5, as recorded in $T/h.h5 (same weights" \
    "$FC" predict --head "$T/h.h5" "${imgs[@]}"
cmp -s "$T/.out" "$T/p1.csv" && ok "... the same rows as with -m" || fail "rows without -m differ: $(diff "$T/.out" "$T/p1.csv" | head -3)"
cp "$T/tiny.h5" "$T/moved.h5"
check "extract with a model that will move" "$FC" extract "$T/img" -m "$T/moved.h5" -o "$T/mv.db" --size 32 --preprocess rescale --quiet
check "train on it" "$FC" train "$T/mv.db" -o "$T/mv.h5" --hidden 8 --epochs 1 -q
$PY -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r+')
d = []
f['model_weights'].visititems(lambda n, o: d.append(o) if isinstance(o, h5py.Dataset) and not d else None)
d[0][...] = d[0][...] * 2" "$T/moved.h5"
expect_exit "without -m, the recorded backbone now has other weights: usage error" 2 \
    "-m MODEL is required: $T/mv.h5 records its backbone as $T/moved.h5, which now holds other weights (sha256 " \
    "$FC" predict --head "$T/mv.h5" "${imgs[0]}"
rm "$T/moved.h5"
expect_exit "without -m, the recorded backbone is gone: usage error" 2 \
    "-m MODEL is required: $T/mv.h5 records its backbone as $T/moved.h5, which cannot be opened here" \
    "$FC" predict --head "$T/mv.h5" "${imgs[0]}"
check "with -m the moved model's twin still works" "$FC" predict -m "$T/tiny.h5" --head "$T/mv.h5" "${imgs[0]}"
# review 10 L11: a relative -m is recorded as given and made absolute: predict without -m
# opens the path as given where it opens (extract's directory), else the absolute one, so
# it works from any directory; when neither opens, exit 2 naming both
mkdir -p "$T/rel" "$T/elsewhere" && cp "$T/tiny.h5" "$T/rel/bb.h5"
RR=$(cd "$T/rel" && pwd -P)
check "extract with a relative -m" bash -c "cd '$T/rel' && exec '$FC' extract '$T/img' -m bb.h5 -o '$T/rel.db' --size 32 --preprocess rescale --quiet"
check "train on it" "$FC" train "$T/rel.db" -o "$T/rel.h5" --hidden 8 --epochs 1 -q
expect_exit "info shows the absolute path it recorded" 0 "model file   $RR/bb.h5 (absolute, when extract ran)" "$FC" info "$T/rel.db"
expect_exit "info HEAD.h5: predict's -m is optional" 0 "featcache predict [-m MODEL] --head $T/rel.h5" "$FC" info "$T/rel.h5"
expect_exit "predict without -m from extract's directory: the path as given" 0 "backbone bb.h5, as recorded in $T/rel.h5 (same weights" \
    bash -c "cd '$T/rel' && exec '$FC' predict --head '$T/rel.h5' '${imgs[0]}'"
cp "$T/.out" "$T/rel.csv"
expect_exit "predict without -m from another directory: the absolute path" 0 \
    "backbone $RR/bb.h5, as recorded in $T/rel.h5 (the absolute path of bb.h5 when extract ran; same weights" \
    bash -c "cd '$T/elsewhere' && exec '$FC' predict --head '$T/rel.h5' '${imgs[0]}'"
cmp -s "$T/.out" "$T/rel.csv" && ok "... the same rows" || fail "rows differ: $(cat "$T/.out")"
mv "$T/rel/bb.h5" "$T/rel/gone.h5"
expect_exit "neither opens: usage error naming both" 2 \
    "-m MODEL is required: $T/rel.h5 records its backbone as bb.h5, which cannot be opened here" \
    bash -c "cd '$T/elsewhere' && exec '$FC' predict --head '$T/rel.h5' '${imgs[0]}'"
grep -qF "nor as $RR/bb.h5, its absolute path when extract ran, which cannot be opened here" "$T/.err" && ok "... and the absolute path" \
    || fail "neither: $(cat "$T/.err")"

# --- a class folder (and a file) named with bytes that are not UTF-8: the store keeps the
# bytes; the head's class_names and the export's strings are UTF-8 with \xNN for those
# bytes; predict, evaluate and h5py read them back
mkdir -p "$T/u8"; cp -r "$T/img/$(ls "$T/img" | head -1)" "$T/u8/"$'\xff\xfe'; cp -r "$T/img/$(ls "$T/img" | tail -1)" "$T/u8/ok"
cp "${imgs[0]}" "$T/u8/ok/"$'caf\xe9.png'
expect_exit "extract: a class folder name that is not UTF-8" 0 "heads and exports name the class '\xff\xfe'" \
    "$FC" extract "$T/u8" -m "$T/tiny.h5" -o "$T/u8.db" --size 32 --preprocess rescale -q
check "train on it" "$FC" train "$T/u8.db" -o "$T/u8h.h5" --epochs 1 --hidden 4 -q
check "predict with that head" "$FC" predict -m "$T/tiny.h5" --head "$T/u8h.h5" "$T/u8/ok/"$'caf\xe9.png'
check "evaluate that head on the store" "$FC" evaluate "$T/u8.db" "$T/u8h.h5" --split train
check "export it" "$FC" export "$T/u8.db" "$T/u8.h5"
"$PY" - "$T/u8h.h5" "$T/u8.h5" <<'PY' && ok "head class_names and export strings are UTF-8, \\xNN for the bad bytes" || fail "UTF-8 names"
import h5py, json, sys
with h5py.File(sys.argv[1]) as f:
    assert json.loads(f.attrs["class_names"]) == ["ok", "\\xff\\xfe"], f.attrs["class_names"]
with h5py.File(sys.argv[2]) as f:
    assert list(f["classes"].asstr()[:]) == ["ok", "\\xff\\xfe"]
    paths = list(f["paths"].asstr()[:])
    assert "ok/caf\\xe9.png" in paths, paths
PY
check "import the export" "$FC" import "$T/u8.h5" -o "$T/u8i.db"

# --- refusals
"$BUILD/tests/tools/mkstore_fmnist" "$T/other.db" --classes 0,1,2 --train 20 --val 5 --test 5
"$FC" train "$T/other.db" -o "$T/other.h5" --epochs 1 -q
expect_exit "head from another backbone: both weights named" 1 \
    "other.h5: head was trained on features of other weights: the head has synthetic (sha256 " \
    "$FC" predict -m "$T/tiny.h5" --head "$T/other.h5" "${imgs[0]}"
grep -q "tiny.h5 has keras (sha256 " "$T/.err" && ok "... and the model's" || fail "predict other weights: $(cat "$T/.err")"
cp "$T/h.h5" "$T/nofp.h5"
$PY -c "import h5py,sys; del h5py.File(sys.argv[1],'r+').attrs['featcache_fingerprint']" "$T/nofp.h5"
expect_exit "head without a store fingerprint: the message names it" 1 "nofp.h5: head has no store fingerprint" \
    "$FC" predict -m "$T/tiny.h5" --head "$T/nofp.h5" "${imgs[0]}"
# a head whose backbone input is 1024x1024 (a GAP head fits any map size; the fingerprint
# is recomputed from the same fields, so it proves nothing): predict must not allocate a
# batch at that size unless it fits in memory (FC_TEST_MEM_AVAILABLE: a 300 MB machine;
# limit_as: a run that allocated it anyway fails otherwise)
check "train a GAP head" "$FC" train "$T/s.db" -o "$T/gap.h5" --pool gap --hidden 8 --epochs 1 -q
"$PY" - "$T/gap.h5" "$T/big.h5" <<'PY'
import hashlib, json, shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    bb = json.loads(f.attrs["featcache_backbone"])
    bb["in_h"] = bb["in_w"] = 1024  # tiny.h5 cut at pool2: 255x255x16 maps
    canon = ("featcache-fingerprint/1\nmodel_sha256=%(model_sha256)s\nlayer=%(layer)s\ninput=%(in_h)dx%(in_w)d\n"
             "resize=%(resize)s\npreprocess=%(preprocess)s\nnumerics=%(numerics)s\n") % bb
    bb["fingerprint"] = hashlib.sha256(canon.encode()).hexdigest()
    f.attrs["featcache_backbone"] = json.dumps(bb)
    f.attrs["featcache_fingerprint"] = bb["fingerprint"]
    cfg = json.loads(f.attrs["model_config"])
    cfg["config"]["layers"][0]["config"]["batch_input_shape"] = [None, 255, 255, 16]
    f.attrs["model_config"] = json.dumps(cfg)
PY
expect_exit "a head asking for 1024x1024 inputs on a 300 MB machine: refused by name before allocating" 1 \
    "big.h5 (the backbone input it was trained at is 1024x1024): the activations of a batch of 16 images of 1024x1024 would take" \
    limit_as 2000000 env FC_TEST_MEM_AVAILABLE=3e8 "$FC" predict -m "$T/tiny.h5" --head "$T/big.h5" "${imgs[0]}"
expect_exit "... --batch 1 fits" 0 "" \
    limit_as 2000000 env FC_TEST_MEM_AVAILABLE=3e8 "$FC" predict -m "$T/tiny.h5" --head "$T/big.h5" --batch 1 "${imgs[0]}"
printf 'not a png' >"$T/broken.png"
expect_exit "unreadable image: reported, others still predicted" 1 "broken.png" \
    "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "${imgs[0]}" "$T/broken.png" "${imgs[1]}"
[ "$(grep -c . "$T/.out")" -eq 3 ] && ok "good images still predicted" || fail "rows with a bad image: $(cat "$T/.out")"
# names with control bytes: escaped in messages (as extract does), byte-exact in the CSV
evil="$T/ev"$'/evil\x1b[31mRED\nfake,line'; mkdir -p "$evil"
printf 'junk' >"$evil/bad.png"; cp "${imgs[0]}" "$evil/good.png"; mkdir -p "$evil/none"
expect_exit "a bad image whose path has control bytes" 1 'evil\x1b[31mRED\nfake,line/bad.png: not a PNG, JPEG' \
    "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "$evil/bad.png" "$evil/good.png" "$evil/none"
grep -q $'\x1b' "$T/.err" && fail "ESC printed raw on stderr: $(cat -A "$T/.err" | head -3)" || ok "no raw ESC on stderr"
[ "$(grep -c 'featcache predict' "$T/.err")" -eq "$(wc -l <"$T/.err")" ] && ok "every stderr line is featcache's (no faked line)" \
    || fail "stderr lines: $(cat -A "$T/.err")"
grep -qF 'evil\x1b[31mRED\nfake,line/none: no images (.png' "$T/.err" && ok "empty folder named escaped" \
    || fail "empty folder message: $(cat -A "$T/.err")"
"$PY" - "$T/.out" "$evil/good.png" <<'PY' && ok "CSV: the path byte-exact, quoted" || fail "CSV path: $(cat -A "$T/.out")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8", errors="surrogateescape")))
assert len(rows) == 2 and rows[1][0] == sys.argv[2], rows
PY
# FIFOs: skipped in a folder (as extract), refused as an image or a head; never a hang
mkdir -p "$T/ff" && cp "${imgs[0]}" "$T/ff/a.png" && mkfifo "$T/ff/f.png" "$T/fifo_head.h5"
expect_exit "folder with a FIFO named f.png: the FIFO skipped" 0 "" timeout 30 "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "$T/ff"
[ "$(grep -c . "$T/.out")" -eq 2 ] && ok "folder with a FIFO: its image predicted" || fail "FIFO folder rows: $(cat "$T/.out")"
expect_exit "an image argument that is a FIFO" 1 "f.png: not a regular file" \
    timeout 30 "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" "$T/ff/f.png"
expect_exit "--head that is a FIFO" 1 "fifo_head.h5: not a regular file" \
    timeout 30 "$FC" predict -m "$T/tiny.h5" --head "$T/fifo_head.h5" "${imgs[0]}"
expect_exit "-m that is a FIFO" 1 "fifo_head.h5: not a regular file" \
    timeout 30 "$FC" predict -m "$T/fifo_head.h5" --head "$T/h.h5" "${imgs[0]}"
expect_exit "missing --head" 2 "--head" "$FC" predict -m "$T/tiny.h5" "${imgs[0]}"
expect_exit "bad --top" 2 "top" "$FC" predict -m "$T/tiny.h5" --head "$T/h.h5" --top 0 "${imgs[0]}"
expect_exit "info on a backbone model points to layers" 1 "not a dense head (for a backbone: featcache layers" \
    "$FC" info "$T/tiny.h5"
check "info on the head" "$FC" info "$T/h.h5"
grep -q "^classes      3: " "$T/.out" && ok "info HEAD.h5: 3 classes" || fail "info head: $(cat "$T/.out")"
expect_exit "head is not HDF5" 1 "broken.png" "$FC" predict -m "$T/tiny.h5" --head "$T/broken.png" "${imgs[0]}"
finish
