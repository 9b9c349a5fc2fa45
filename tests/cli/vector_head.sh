#!/usr/bin/env bash
# vector_head.sh - heads on vector features. A store extracted at a layer whose Keras output
# is rank 2 (GlobalAveragePooling2D, Dense, Flatten: `layers` prints "(16)") records that
# (feat_rank 2), and HEAD.h5 then starts with its Dense on batch_input_shape [None, C]: in
# Keras the base's output there is (N, C), which a [None, 1, 1, C] input (and Flatten) refuse.
# Checked with h5py + numpy against evaluate and predict; a 1x1 map (rank 3) keeps Flatten and
# [None, 1, 1, C]; --pool gap/gmp on a vector are refused; merge/export/import keep the record;
# a store without it trains as before.
. "$(dirname "$0")/lib.sh"
FX="$ROOT/tests/py/extract_fixtures.py"
REF="$ROOT/tests/py/ref_train.py"
$PY "$FX" images "$T/img" --classes 3 --per-class 10 --jpeg-every 4 || { fail "fixture images"; finish; }
$PY "$FX" model "$T/tiny_top.h5" --top gap || { fail "fixture model"; finish; }
$PY "$FX" expect "$T/tiny_top.h5" "$T/img" "$T/expect_gap.txt" --size 32 --preprocess rescale --layer gap \
    || fail "fixture: numpy GAP features"

# the store's feat_rank row ("-" when there is none)
rank_of() {
    "$PY" -c 'import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute("select value from provenance where key = ?", ("feat_rank",)).fetchone()
print(r[0] if r else "-")' "$1"
}
# HEAD.h5 -> "FIRST_CLASS BATCH_INPUT_SHAPE MODEL_CONFIG_NAMES MODEL_WEIGHTS_LAYER_NAMES"
first_layer() {
    "$PY" - "$1" <<'PY'
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
layers = json.loads(f.attrs["model_config"])["config"]["layers"]
names = [n.decode() for n in f["model_weights"].attrs["layer_names"]]
print(layers[0]["class_name"], json.dumps(layers[0]["config"]["batch_input_shape"]).replace(" ", ""),
      ",".join(l["config"]["name"] for l in layers), ",".join(names))
PY
}

# --- the review's repro: a cut at GlobalAveragePooling2D
check "layers lists gap as a vector" "$FC" layers "$T/tiny_top.h5"
grep -qE '^ +5 +gap +GlobalAveragePooling2D +\(16\) ' "$T/.out" && ok "gap's output shape is (16)" || fail "layers: $(grep gap "$T/.out")"
check "extract --layer gap" "$FC" extract "$T/img" -m "$T/tiny_top.h5" --layer gap -o "$T/s.db" --preprocess rescale -q
[ "$(rank_of "$T/s.db")" = 2 ] && ok "the store records its features are a vector (feat_rank 2)" \
    || fail "feat_rank of a gap cut: $(rank_of "$T/s.db")"
check "info STORE" "$FC" info "$T/s.db"
grep -q "a vector: the layer's Keras output is (N, 16)" "$T/.out" && ok "info STORE says the features are a vector" \
    || fail "info STORE: $(grep '^layer' "$T/.out")"
check "train on the vector store" "$FC" train "$T/s.db" -o "$T/h.h5" --hidden 8 --optimizer adam --lr 1e-2 --epochs 3 -q
fl=$(first_layer "$T/h.h5")
[ "$fl" = "Dense [null,16] dense_1,dropout_1,dense_2 dense_1,dropout_1,dense_2" ] \
    && ok "HEAD.h5 starts with its Dense on [None, 16], no Flatten, Keras layer names" || fail "HEAD.h5 layers: $fl"
check "info HEAD.h5" "$FC" info "$T/h.h5"
grep -q "^layers *input 16 (a vector) -> Dense 8 relu -> Dropout 0.5 -> Dense 3 softmax$" "$T/.out" \
    && ok "info HEAD.h5 shows the input as a vector" || fail "info HEAD.h5: $(grep '^layers' "$T/.out")"

# numpy forward of HEAD.h5 (read as Keras reads it) on the exported features, shaped as the
# base gives them in Keras: (N, 16); loss and accuracy as evaluate reports them
check "export" "$FC" export "$T/s.db" "$T/e.h5"
for split in train validation; do
    "$FC" evaluate "$T/s.db" "$T/h.h5" --split $split --json >"$T/ev_$split.json" 2>"$T/.err" \
        || fail "evaluate --split $split: $(tail -1 "$T/.err")"
    "$PY" - "$T/h.h5" "$T/e.h5" "$T/ev_$split.json" $split <<'PY' && ok "numpy forward of HEAD.h5 on (N, 16) features == evaluate ($split)" || fail "numpy forward vs evaluate ($split)"
import h5py, json, sys
import numpy as np
head, exp, ev, split = sys.argv[1:]
f, e = h5py.File(head, "r"), h5py.File(exp, "r")
assert int(e.attrs["feat_rank"]) == 2
layers = json.loads(f.attrs["model_config"])["config"]["layers"]
sel = e["split"].asstr()[:] == split
x = e["features"][:][sel].astype(np.float64)
x = x.reshape(len(x), -1)  # what the base outputs at a rank-2 cut in Keras
shape = layers[0]["config"]["batch_input_shape"]
assert len(shape) == x.ndim and shape[1:] == list(x.shape[1:]), (shape, x.shape)  # Keras's input check
a = x
for ly in layers:
    if ly["class_name"] == "Dropout":
        continue  # inference
    assert ly["class_name"] == "Dense", ly["class_name"]
    g = f["model_weights"][ly["config"]["name"]]
    k, b = [np.array(g[n.decode()], np.float64) for n in g.attrs["weight_names"]]
    a = a @ k + b
    if ly["config"]["activation"] == "relu":
        a = np.maximum(a, 0)
    elif ly["config"]["activation"] == "softmax":
        a = np.exp(a - a.max(axis=1, keepdims=True))
        a /= a.sum(axis=1, keepdims=True)
y = e["labels"][:][sel]
p = np.clip(a, 1e-7, 1 - 1e-7)
loss = float(np.mean(-np.log(p[np.arange(len(y)), y])))
acc = float(np.mean(a.argmax(axis=1) == y))
r = json.load(open(ev))
assert r["n"] == len(y) > 0
assert abs(r["loss"] - loss) <= 1e-5 * max(1, loss) and abs(r["accuracy"] - acc) < 1e-7, (r["loss"], loss, r["accuracy"], acc)
PY
done
export LC_ALL=C
imgs=("$T"/img/*/*)
check "predict with the vector head" "$FC" predict -m "$T/tiny_top.h5" --head "$T/h.h5" --top 3 "${imgs[@]}"
cp "$T/.out" "$T/p.csv"
"$PY" "$REF" predict "$T/h.h5" "$T/expect_gap.txt" "$T/p.csv" 2>&1 || true

# a linear head (--hidden 0) is one Dense; sweep --best writes the same layout
check "train --hidden 0" "$FC" train "$T/s.db" -o "$T/lin.h5" --hidden 0 --epochs 2 -q
fl=$(first_layer "$T/lin.h5")
[ "$fl" = "Dense [null,16] dense_1 dense_1" ] && ok "linear head: one Dense on [None, 16]" || fail "linear head: $fl"
check "evaluate the linear head" "$FC" evaluate "$T/s.db" "$T/lin.h5" --split validation
check "sweep --best on the vector store" "$FC" sweep "$T/s.db" --grid 'lr=1e-3,1e-2 hidden=4,0' --epochs 2 \
    -o "$T/sw.csv" --best "$T/best.h5" -q
case "$(first_layer "$T/best.h5")" in
"Dense [null,16] "*) ok "sweep --best: Dense on [None, 16] first" ;;
*) fail "sweep --best: $(first_layer "$T/best.h5")" ;;
esac
check "evaluate sweep's best head" "$FC" evaluate "$T/s.db" "$T/best.h5" --split validation

# --- pooling a vector is refused before training (exit 2), nothing written
expect_exit "train --pool gap on a vector store" 2 "--pool gap: the features of $T/s.db are a vector (layer 'gap'" \
    "$FC" train "$T/s.db" -o "$T/hg.h5" --pool gap --epochs 1
[ ! -e "$T/hg.h5" ] && ok "... and no HEAD.h5 written" || fail "train --pool gap wrote a head"
# refused from the store's record, before the features are decoded (the hook runs once the train split is)
FC_TEST_HOOK_AFTER_TRAIN_SPLIT="touch '$T/loaded'" "$FC" train "$T/s.db" -o "$T/hg.h5" --pool gmp --epochs 1 >/dev/null 2>&1
FC_TEST_HOOK_AFTER_TRAIN_SPLIT="touch '$T/loaded'" "$FC" sweep "$T/s.db" --grid 'pool=flatten,gap' --epochs 1 -o "$T/swp.csv" >/dev/null 2>&1
[ ! -e "$T/loaded" ] && ok "--pool gap|gmp on a vector store refused before any split is loaded" \
    || fail "--pool refusal came after loading the train split"
expect_exit "train --pool gmp on a vector store" 2 "pooling a vector is meaningless" \
    "$FC" train "$T/s.db" -o "$T/hg.h5" --pool gmp --epochs 1
expect_exit "sweep grid axis pool on a vector store" 2 "--grid: axis pool has gap" \
    "$FC" sweep "$T/s.db" --grid 'pool=flatten,gap lr=1e-3' --epochs 1 -o "$T/swp.csv"
[ ! -e "$T/swp.csv" ] && ok "... and no sweep CSV written" || fail "sweep pool=gap wrote its CSV"
expect_exit "sweep --pool gmp on a vector store" 2 "--pool gmp" \
    "$FC" sweep "$T/s.db" --pool gmp --grid 'lr=1e-3,1e-2' --epochs 1 -o "$T/swp.csv"

# --- a 4-D map that is spatially 1x1 (pool2 at 8x8: Keras (N, 1, 1, 16)) keeps Flatten
check "extract pool2 at 8x8 (a 1x1 map)" "$FC" extract "$T/img" -m "$T/tiny_top.h5" --layer pool2 --size 8 \
    -o "$T/p.db" --preprocess rescale -q
[ "$(rank_of "$T/p.db")" = 3 ] && ok "a 1x1 map records feat_rank 3" || fail "feat_rank of pool2: $(rank_of "$T/p.db")"
check "train on the 1x1 map" "$FC" train "$T/p.db" -o "$T/hp.h5" --hidden 8 --epochs 2 -q
fl=$(first_layer "$T/hp.h5")
[ "$fl" = "Flatten [null,1,1,16] flatten_1,dense_1,dropout_1,dense_2 flatten_1,dense_1,dropout_1,dense_2" ] \
    && ok "1x1 map: Flatten on [None, 1, 1, 16] as before" || fail "1x1 map head: $fl"
check "train --pool gap on the 1x1 map (allowed)" "$FC" train "$T/p.db" -o "$T/hpg.h5" --pool gap --hidden 4 --epochs 1 -q
case "$(first_layer "$T/hpg.h5")" in
"GlobalAveragePooling2D [null,1,1,16] "*) ok "1x1 map: --pool gap gives GlobalAveragePooling2D" ;;
*) fail "1x1 map --pool gap: $(first_layer "$T/hpg.h5")" ;;
esac

# --- export / import / merge keep the record
"$PY" -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r").attrs.get("feat_rank", "-"))' "$T/e.h5" >"$T/attr" 2>&1
[ "$(cat "$T/attr")" = 2 ] && ok "export writes the feat_rank attribute" || fail "export feat_rank: $(cat "$T/attr")"
check "import" "$FC" import "$T/e.h5" -o "$T/i.db"
[ "$(rank_of "$T/i.db")" = 2 ] && ok "import reads feat_rank back" || fail "imported feat_rank: $(rank_of "$T/i.db")"
check "merge" "$FC" merge -o "$T/m.db" "$T/s.db" "$T/i.db"
[ "$(rank_of "$T/m.db")" = 2 ] && ok "merge keeps feat_rank when every input records it" || fail "merged: $(rank_of "$T/m.db")"
check "train on the export" "$FC" train "$T/e.h5" -o "$T/he.h5" --hidden 8 --epochs 1 -q
case "$(first_layer "$T/he.h5")" in
"Dense [null,16] "*) ok "a head trained on the export starts with its Dense" ;;
*) fail "head from export: $(first_layer "$T/he.h5")" ;;
esac
check "export the merged store" "$FC" export "$T/m.db" "$T/em.h5"
"$PY" -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r").attrs.get("feat_rank", "-"))' "$T/em.h5" >"$T/attr" 2>&1
[ "$(cat "$T/attr")" = 2 ] && ok "merge -> export keeps it" || fail "merged export feat_rank: $(cat "$T/attr")"

# --- a store made before the record (its row removed) behaves as before
"$PY" - "$T/s.db" "$T/old.db" <<'PY' || fail "fixture: old store"
import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.execute("delete from provenance where key = 'feat_rank'")
dst.commit()
PY
check "train on a store without the record" "$FC" train "$T/old.db" -o "$T/ho.h5" --hidden 8 --epochs 1 -q
fl=$(first_layer "$T/ho.h5")
[ "$fl" = "Flatten [null,1,1,16] flatten_1,dense_1,dropout_1,dense_2 flatten_1,dense_1,dropout_1,dense_2" ] \
    && ok "no record: Flatten on [None, 1, 1, 16], as before" || fail "no record: $fl"
check "train --pool gap without the record (as before)" "$FC" train "$T/old.db" -o "$T/hog.h5" --pool gap --epochs 1 -q
check "merge with a store without the record" "$FC" merge -o "$T/m2.db" "$T/s.db" "$T/old.db"
[ "$(rank_of "$T/m2.db")" = - ] && ok "merge drops feat_rank when an input lacks it" || fail "m2: $(rank_of "$T/m2.db")"
check "export a store without the record" "$FC" export "$T/old.db" "$T/eo.h5"
"$PY" -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r").attrs.get("feat_rank", "-"))' "$T/eo.h5" >"$T/attr" 2>&1
[ "$(cat "$T/attr")" = - ] && ok "... and its export has no feat_rank" || fail "old export feat_rank: $(cat "$T/attr")"
"$PY" "$FX" images "$T/img_other" --classes 2 --per-class 3 --offset 50 >/dev/null
expect_exit "extract of another folder into it is refused" 1 "Nothing written" \
    "$FC" extract "$T/img_other" -m "$T/tiny_top.h5" --layer gap -o "$T/old.db" --preprocess rescale -q
[ "$(rank_of "$T/old.db")" = - ] && ok "a refused extract records nothing, feat_rank included" || fail "refused extract wrote feat_rank"
expect_exit "extract again into it" 0 "old.db now records that its features are vectors (layer gap gives (N, 16) in Keras)" \
    "$FC" extract "$T/img" -m "$T/tiny_top.h5" --layer gap -o "$T/old.db" --preprocess rescale -q
[ "$(rank_of "$T/old.db")" = 2 ] && ok "extract adds the record to a store made before it" || fail "re-extract: $(rank_of "$T/old.db")"

# --- an export's feat_rank is checked like its other attributes
check "extract pool2 at 32 (a 7x7 map)" "$FC" extract "$T/img" -m "$T/tiny_top.h5" --layer pool2 -o "$T/q.db" \
    --preprocess rescale -q
check "export the 7x7 store" "$FC" export "$T/q.db" "$T/eq.h5"
for v in 2 5; do
    cp "$T/eq.h5" "$T/bad$v.h5"
    "$PY" -c 'import h5py, sys, numpy as np; h5py.File(sys.argv[1], "a").attrs["feat_rank"] = np.int64(sys.argv[2])' "$T/bad$v.h5" "$v"
    expect_exit "import refuses feat_rank $v on 7x7x16 features" 1 "attribute 'feat_rank' = $v" \
        "$FC" import "$T/bad$v.h5" -o "$T/bad$v.db"
done
finish
