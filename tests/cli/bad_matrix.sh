# bad_matrix.sh - the bad-input matrix (tests/bad/matrix.tsv): broken or hostile images,
# models, stores, HDF5 files and command lines. Each row gives the expected exit code
# and a fragment of the expected message; every command must exit that way (never by a
# signal), and the good store used as a target must still pass `featcache verify`.
. "$(dirname "$0")/lib.sh"
BAD="$ROOT/tests/bad"
G="$T/good"; mkdir -p "$G"

# Fixtures: a tiny Keras model, a real image folder, a store, an export and a head.
$PY "$ROOT/tests/py/make_models.py" "$G/models" --small >/dev/null || fail "fixture: make_models.py"
cp "$G/models/tiny_vgg.h5" "$G/model.h5"
"$FC" make-dataset -o "$G/imgs" -n 3 --val-per-class 2 --test-per-class 1 -c 0,1 -s 32 -q \
    || fail "fixture: make-dataset"
"$BUILD/tests/tools/mkstore_fmnist" "$G/store.db" --classes 0,1 --train 20 --val 10 --test 5 \
    >/dev/null || fail "fixture: mkstore_fmnist"
"$FC" train "$G/store.db" -o "$G/head.h5" --epochs 2 --hidden 8 -q >/dev/null 2>&1 || fail "fixture: train"
"$FC" export "$G/store.db" "$G/export.h5" >/dev/null 2>&1 || fail "fixture: export"
$PY "$ROOT/tests/py/make_hostile.py" "$G/hostile" || fail "fixture: make_hostile.py"
cp "$G/store.db" "$G/target.db"   # stores that bad commands try to write into
# store_edit [--from SRC] OUT SQL...: a copy of the good store (or of SRC; SRC = OUT edits it in
# place) with SQL statements applied (a damaged or hand-edited store; PRAGMAs such as
# ignore_check_constraints allowed), the WAL folded in.
store_edit() {
    local src="$G/store.db"
    if [ "$1" = --from ]; then src=$2; shift 2; fi
    local out=$1; shift
    { [ "$src" = "$out" ] || cp "$src" "$out"; } && /usr/bin/python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for q in sys.argv[2:]:
    c.execute(q)
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.close()' "$out" "$@"
}
export -f store_edit
# h5_edit SRC OUT PYTHON: a copy of SRC ($G/export.h5, $G/head.h5 ...) edited in place with h5py
# (PYTHON sees the file opened r+ as f, and numpy as np)
h5_edit() {
    cp "$1" "$2" && /usr/bin/python3 -c '
import sys, json
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r+")
exec(sys.argv[2])
f.close()' "$2" "$3"
}
export -f h5_edit
sum_before=$(sha256sum "$G/target.db" | cut -d' ' -f1)

rows=0
while IFS=$'\t' read -r id code frag cmd; do
    case "$id" in ''|'#'*) continue;; esac
    rows=$((rows + 1))
    # shellcheck disable=SC2034  # used inside $cmd
    BADF="$BAD"
    [ "$frag" = - ] && frag=""
    expect_exit "$id" "$code" "$frag" env FC="$FC" BAD="$BAD" G="$G" T="$T" bash -c "$cmd"
done < "$BAD/matrix.tsv"
[ "$rows" -ge 40 ] && ok "matrix has $rows rows (>= 40)" || fail "matrix has only $rows rows"
[ "$(sha256sum "$G/target.db" | cut -d' ' -f1)" = "$sum_before" ] && ok "target store unchanged" \
    || fail "target store was modified by a failing command"
check "target store verifies" "$FC" verify "$G/target.db"
finish
