#!/usr/bin/env bash
# h5guard.sh - HDF5 files that make libhdf5 1.10.8 loop forever or corrupt memory
# (tests/fuzz/hangs/) at every entry point that opens an HDF5 file from outside: feature
# exports (import, info, train, sweep, evaluate, merge, diff (exit 2), export), Keras models
# (layers, extract, predict) and heads (evaluate, predict). The pre-flight child
# (common/h5guard.c) must turn each into exit 1 with a message naming the file, never a
# hang or a signal; FC_HDF5_PREFLIGHT_TIMEOUT keeps the hanging cases short. `timeout`
# only guards the suite against a regression (a hang then fails here, exit 124).
. "$(dirname "$0")/lib.sh"
H="$ROOT/tests/fuzz/hangs"
LOOP="$H/h5import/hdf5_1.10.8_global_heap_loop.h5"
OVER="$H/h5import/hdf5_1.10.8_global_heap_overread.h5"
LEAK="$H/h5model/hdf5_1.10.8_h5dopen_leak.h5"
HUGE="$H/h5model/hdf5_1.10.8_h5c_protect_huge_malloc.h5"
LAYOUT="$H/h5import/hdf5_1.10.8_layout_read_leak.h5"
export FC_HDF5_PREFLIGHT_TIMEOUT=2
TO="timeout 300"

FX="$ROOT/tests/py/extract_fixtures.py"
$PY "$FX" images "$T/img" --classes 2 --per-class 4 || { fail "fixture images"; finish; }
$PY "$FX" model "$T/tiny.h5" || { fail "fixture model"; finish; }
check "fixture: extract" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/s.db" --size 32 --preprocess rescale -q
check "fixture: train" "$FC" train "$T/s.db" -o "$T/head.h5" --hidden 8 --epochs 1 -q
check "fixture: export" "$FC" export "$T/s.db" "$T/good.h5"
img=$(ls "$T"/img/*/* | head -1)

# clean: exit 1, one line naming the file and the verdict, nothing from HDF5 or a sanitizer
hostile() { # NAME FRAGMENT FILE CMD... (diff's "trouble" exit is 2: HOSTILE_CODE=2)
    local name=$1 frag=$2 file=$3; shift 3
    expect_exit "$name" "${HOSTILE_CODE:-1}" "$frag" $TO "$@"
    grep -qF "$file" "$T/.err" || fail "$name: message does not name $file"
    if grep -qiE 'HDF5-DIAG|Sanitizer|runtime error' "$T/.err" "$T/.out"; then
        fail "$name: child output leaked"; sed 's/^/    /' "$T/.err" | head -5
    fi
    [ "$(grep -c . "$T/.err")" -le 1 ] || fail "$name: more than one line on stderr"
}
HOSTILE="the file is damaged or hostile"

# --- the global-heap loop: H5Aread of a vlen string never returns in-process
hostile "loop: import" "did not finish within 2 s" "$LOOP" "$FC" import "$LOOP" -o "$T/i.db"
[ ! -e "$T/i.db" ] && ok "loop: import made no store" || fail "loop: import left $T/i.db"
hostile "loop: info" "$HOSTILE" "$LOOP" "$FC" info "$LOOP"
hostile "loop: train" "$HOSTILE" "$LOOP" "$FC" train "$LOOP" -o "$T/h.h5" -q
hostile "loop: evaluate export" "$HOSTILE" "$LOOP" "$FC" evaluate "$LOOP" "$T/head.h5"
hostile "loop: evaluate head" "$HOSTILE" "$LOOP" "$FC" evaluate "$T/s.db" "$LOOP"
hostile "loop: predict head" "$HOSTILE" "$LOOP" "$FC" predict -m "$T/tiny.h5" --head "$LOOP" "$img"
hostile "loop: layers" "$HOSTILE" "$LOOP" "$FC" layers "$LOOP"

# --- the global-heap overread: a wild memcpy inside libhdf5 (SIGSEGV, or an ASan report
# and exit 1 under `make asan`, both in the child)
hostile "overread: import" "$HOSTILE" "$OVER" "$FC" import "$OVER" -o "$T/i.db"
hostile "overread: info" "$HOSTILE" "$OVER" "$FC" info "$OVER"
hostile "overread: sweep" "$HOSTILE" "$OVER" "$FC" sweep "$OVER" --grid 'lr=1e-3' -o "$T/r.csv"
hostile "overread: merge" "$HOSTILE" "$OVER" "$FC" merge -o "$T/m.db" "$T/s.db" "$OVER"
[ ! -e "$T/m.db" ] && ok "overread: merge made no store" || fail "overread: merge left $T/m.db"
HOSTILE_CODE=2 hostile "overread: diff" "$HOSTILE" "$OVER" "$FC" diff "$T/good.h5" "$OVER"
hostile "overread: export" "$HOSTILE" "$OVER" "$FC" export "$OVER" "$T/o.h5"
hostile "overread: extract -m" "$HOSTILE" "$OVER" "$FC" extract "$T/img" -m "$OVER" -o "$T/x.db" -q
hostile "overread: predict -m" "$HOSTILE" "$OVER" "$FC" predict -m "$OVER" --head "$T/head.h5" "$img"
hostile "overread: predict head" "$HOSTILE" "$OVER" "$FC" predict -m "$T/tiny.h5" --head "$OVER" "$img"

# --- a dataset header on which H5Dopen2 fails and leaks inside libhdf5: the child finds
# it, so the parent never calls H5Dopen2 on it (no leak report under `make asan`)
hostile "h5dopen leak: layers" "cannot open 'model_weights/gate/gate'" "$LEAK" "$FC" layers "$LEAK"
hostile "h5dopen leak: extract -m" "damaged or truncated HDF5 file" "$LEAK" "$FC" extract "$T/img" -m "$LEAK" -o "$T/x.db" -q
hostile "h5dopen leak: import" "a Keras model file (a trained head HEAD.h5 or a backbone), not a featcache store or export" "$LEAK" "$FC" import "$LEAK" -o "$T/i.db"

# --- an object-header size of ~2^64: glibc malloc fails (a clean HDF5 error), ASan aborts
# the child (allocation-size-too-big); either way only the child ever asks
hostile "huge malloc: layers" "damaged" "$HUGE" "$FC" layers "$HUGE"
hostile "huge malloc: extract -m" "damaged" "$HUGE" "$FC" extract "$T/img" -m "$HUGE" -o "$T/x.db" -q

# --- a damaged layout message on which H5Dopen2 fails and leaks: reported from the child
hostile "layout leak: import" "/sha256 is not a one-dimensional dataset" "$LAYOUT" "$FC" import "$LAYOUT" -o "$T/i.db"
hostile "layout leak: train" "/sha256 is not a one-dimensional dataset" "$LAYOUT" "$FC" train "$LAYOUT" -o "$T/h.h5" -q

# --- every kept libhdf5 finding (the fuzz campaign adds more): refused through the entry
# point of the target that found it, exit 1, the file named, no signal, no sanitizer text
for f in "$H"/h5import/*.h5 "$H"/h5model/*.h5 "$H"/head/*.h5; do
    [ -e "$f" ] || continue
    case $f in
    */h5import/*) hostile "kept finding: info $(basename "$f")" "" "$f" "$FC" info "$f" ;;
    */h5model/*) hostile "kept finding: layers $(basename "$f")" "" "$f" "$FC" layers "$f" ;;
    */head/*) hostile "kept finding: evaluate $(basename "$f")" "" "$f" "$FC" evaluate "$T/s.db" "$f" ;;
    esac
done

# --- the good files still work through the pre-flight, and the store is untouched
check "good export imports" "$FC" import "$T/good.h5" -o "$T/back.db"
check "good export verifies back" "$FC" diff "$T/s.db" "$T/back.db"
check "good model loads" "$FC" layers "$T/tiny.h5"
check "good head evaluates" "$FC" evaluate "$T/good.h5" "$T/head.h5" --split train
check "store still verifies" "$FC" verify "$T/s.db"
finish
