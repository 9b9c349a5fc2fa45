#!/usr/bin/env bash
# share_extract.sh - sharing with real extractions (tests/py/extract_fixtures.py: small
# Fashion-MNIST-like PNG class folders and a tiny Keras model): the merge of N
# `extract --shard I/N` stores equals one extract of the whole folder (same images,
# labels, splits, byte-identical decoded features), and training from an .h5 export
# gives exactly the run that training from the store gives (same seed, one thread).
. "$(dirname "$0")/lib.sh"
FX="$ROOT/tests/py/extract_fixtures.py"
DUMP="$BUILD/tests/tools/storedump"
# --batch 1: extract's float results currently depend on which images share a batch
# (GEMM edge kernels), and shards batch differently from a single run; with one image per
# batch the byte-exact comparison tests sharding and merging themselves.
X=(--preprocess rescale --quiet --batch 1)
cd "$T" || exit 1

"$PY" "$FX" images img --classes 3 --per-class 10 >/dev/null || { fail "fixture images"; finish; }
"$PY" "$FX" model tiny.h5 >/dev/null || { fail "fixture model"; finish; }

check "single extract" "$FC" extract img -m tiny.h5 -o whole.db "${X[@]}"
for i in 0 1 2; do check "extract --shard $i/3" "$FC" extract img -m tiny.h5 -o "sh$i.db" --shard "$i/3" "${X[@]}"; done
expect_exit "merge 3 shards" 0 "0 duplicates, 0 label conflicts" "$FC" merge -o merged.db sh0.db sh1.db sh2.db
"$DUMP" whole.db | sort >whole.txt
"$DUMP" merged.db | sort >merged.txt
[ "$(wc -l <whole.txt)" -eq 30 ] && cmp -s whole.txt merged.txt && ok "merge of shards == single extract (30 images, byte-identical decoded features)" ||
    { fail "merge of shards differs from single extract"; diff whole.txt merged.txt | head -5; }
expect_exit "diff shards-merge vs single" 0 "30 identical" "$FC" diff whole.db merged.db
expect_exit "shards cannot merge with another preprocessing" 1 "preprocess" \
    bash -c "'$FC' extract img -m tiny.h5 -o tf.db --preprocess tf --quiet && '$FC' merge -o bad.db sh0.db tf.db"
[ -e bad.db ] && fail "refused merge wrote bad.db" || ok "refused merge writes nothing"

# train from the export == train from the store
check "export" "$FC" export whole.db whole.h5
# OUT as -o, the way import, merge, train and extract take it
check "export -o OUT.h5" "$FC" export whole.db -o whole_o.h5
cmp -s <(h5dump -d /features whole.h5 2>&1 | tail -n +3) <(h5dump -d /features whole_o.h5 2>&1 | tail -n +3) \
    && ok "... the same /features as the positional form" || fail "export -o wrote other /features"
expect_exit "export with OUT given twice" 2 "OUT given twice ('x.h5' and -o 'y.h5')" "$FC" export whole.db x.h5 -o y.h5
expect_exit "export without OUT" 2 "missing argument(s): OUT.h5 or -o OUT.h5" "$FC" export whole.db
expect_exit "export -o ''" 2 "OUT.h5 is empty" "$FC" export whole.db -o ""
[ ! -e x.h5 ] && [ ! -e y.h5 ] && ok "... refused exports write nothing" || fail "a refused export wrote a file"
T1=(--epochs 3 --seed 7 --threads 1 --hidden 16 --batch 8 --quiet)
check "train from store" "$FC" train whole.db -o head1.h5 --history h1.csv "${T1[@]}"
check "train from .h5" "$FC" train whole.h5 -o head2.h5 --history h2.csv "${T1[@]}"
if [ -s h1.csv ] && cmp -s <(cut -d, -f1-5 h1.csv) <(cut -d, -f1-5 h2.csv); then ok "train(.h5) history == train(store) history"
else fail "train histories differ"; paste -d'|' h1.csv h2.csv | head -4 | sed 's/^/    /'; fi
grep -q "not recorded" "$T/.err" && ok "train from .h5 says the run is not recorded" || fail "no 'not recorded' notice"
"$FC" evaluate whole.db head1.h5 --split validation --json >e1.json 2>/dev/null
"$FC" evaluate whole.h5 head1.h5 --split validation --json >e2.json 2>/dev/null
[ -s e1.json ] && cmp -s e1.json e2.json && ok "evaluate(.h5) == evaluate(store)" || fail "evaluate differs: $(cat e1.json e2.json | head -c 300)"

# review 9 D1: merge records the folder every input records (the shards of one extract, as
# extract/slurm makes them), so extract --prune works on the merged store; it never did
sqlv() { "$PY" -c 'import sqlite3, sys; r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$@"; }
RI=$(cd img && pwd -P)
[ "$(sqlv merged.db "select value from provenance where key = 'image_dir'")" = "$RI" ] && ok "merged shards record their folder" \
    || fail "merged.db image_dir: '$(sqlv merged.db "select value from provenance where key = 'image_dir'")'"
rm "$(ls img/*/* | head -1)"
expect_exit "merged shards, an image gone: --prune applies" 0 "pruned 1 stored image(s)" \
    "$FC" extract img -m tiny.h5 -o merged.db --prune "${X[@]}"
[ "$("$DUMP" merged.db | wc -l)" -eq 29 ] && ok "... 29 images left" || fail "merged.db: $("$DUMP" merged.db | wc -l) images"
# inputs from different folders: no folder recorded (the origin says merge, for messages)
cp -r img img2 && check "extract a copy of the folder" "$FC" extract img2 -m tiny.h5 -o c2.db "${X[@]}"
check "merge stores of two folders" "$FC" merge -o m2.db sh0.db c2.db
[ -z "$(sqlv m2.db "select value from provenance where key = 'image_dir'")" ] && [ "$(sqlv m2.db "select value from provenance where key = 'origin'")" = merge ] \
    && ok "... records no folder, and that merge made it" || fail "m2.db: image_dir/origin wrong"

# review 10 M1: the split fractions a store records are kept by merge when every input
# records the same, dropped when they differ, and carried through export and import
fracs() { echo "$(sqlv "$1" "select value from provenance where key = 'val_frac'") $(sqlv "$1" "select value from provenance where key = 'test_frac'")"; }
[ "$(fracs whole.db)" = "0.2 0" ] && ok "extract records the default fractions" || fail "whole.db fractions: '$(fracs whole.db)'"
[ "$(fracs m2.db)" = "0.2 0" ] && ok "merge of inputs with the same fractions keeps them" || fail "m2.db fractions: '$(fracs m2.db)'"
check "extract shard 1/3 with other fractions" "$FC" extract img -m tiny.h5 -o fr1.db --shard 1/3 --val-frac 0.3 --test-frac 0.1 "${X[@]}"
check "merge it with shard 0/3 (default fractions)" "$FC" merge -o mfr.db sh0.db fr1.db
[ "$(fracs mfr.db)" = " " ] && ok "... records no fractions" || fail "mfr.db fractions: '$(fracs mfr.db)'"
expect_exit "extract into it: the banner says which fractions new images get" 0 \
    "split: by content hash for new images (validation 0.2, test 0); mfr.db records no split fractions (made by \`featcache merge\`" \
    "$FC" extract img -m tiny.h5 -o mfr.db "${X[@]}"
check "export a store with other fractions" "$FC" export fr1.db fr1.h5
"$PY" -c 'import h5py, sys; a = h5py.File(sys.argv[1], "r").attrs; print(a["val_frac"], a["test_frac"])' fr1.h5 >fr1.attrs 2>&1
[ "$(cat fr1.attrs)" = "0.3 0.1" ] && ok "... written as attributes val_frac, test_frac" || fail "export attributes: $(cat fr1.attrs)"
check "import it" "$FC" import fr1.h5 -o fr1i.db
[ "$(fracs fr1i.db)" = "0.3 0.1" ] && ok "... import keeps them" || fail "fr1i.db fractions: '$(fracs fr1i.db)'"
# review Q: diff notes recorded fractions that differ (images added later would be split
# otherwise); the exit code still follows the images, labels and splits
expect_exit "diff of a store and its import: same fractions, no note" 0 "0 only in A, 0 only in B" "$FC" diff fr1.db fr1i.db
! grep -q "split fractions" "$T/.out" && ok "... no fractions note" || fail "fractions note: $(grep fractions "$T/.out")"
expect_exit "diff of stores recording other fractions: a note naming both" 1 \
    "note: the recorded split fractions differ (whole.db --val-frac 0.2 --test-frac 0; fr1.db --val-frac 0.3 --test-frac 0.1)" \
    "$FC" diff whole.db fr1.db --quiet
expect_exit "diff of a store with fractions and one without: the note says none" 1 \
    "note: the recorded split fractions differ (whole.db --val-frac 0.2 --test-frac 0; mfr.db none)" \
    "$FC" diff whole.db mfr.db --quiet
# an export whose fraction attributes are damaged: refused by name, nothing imported
for bad in "test_frac del" "val_frac 0.95" "val_frac -0.1" "val_frac str" "model_abspath int"; do
    set -- $bad; cp fr1.h5 frbad.h5; rm -f frbad.db
    "$PY" - frbad.h5 "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1], "a").attrs
key, val = sys.argv[2], sys.argv[3]
if val == "del": del a[key]
elif val == "str": a[key] = np.bytes_(b"0.2")
elif val == "int": a[key] = np.int64(7)
else: a[key] = np.float64(val)
PY
    [ $? = 0 ] || fail "crafting frbad.h5 ($bad)"
    expect_exit "import with $bad: refused" 1 "'$1'" "$FC" import frbad.h5 -o frbad.db
    [ ! -e frbad.db ] && ok "... nothing imported ($bad)" || fail "import with $bad made frbad.db"
done
finish
