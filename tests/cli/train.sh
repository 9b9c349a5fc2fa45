#!/usr/bin/env bash
# train.sh - training numerics vs numpy, HEAD.h5 read by h5py, and the train/sweep/
# evaluate commands on a synthetic store.
. "$(dirname "$0")/lib.sh"
TOOLS="$BUILD/tests/tools"

# --- numerics: numpy reference for forward, Keras losses and 2 steps of each optimizer
mkdir -p "$T/ref"
check "train_ref_dump writes reference cases" "$TOOLS/train_ref_dump" "$T/ref"
"$PY" "$ROOT/tests/py/ref_train.py" steps "$T/ref" >"$T/steps.out" 2>&1 || true
cat "$T/steps.out"
grep -q '^ok - ' "$T/steps.out" || fail "ref_train.py steps produced no checks"
for c in rmsprop_bin adam_soft sgdm_nest_l2_cw rmsprop_gap_l2 adam_gmp; do
    "$PY" "$ROOT/tests/py/ref_train.py" head "$T/ref/$c.h5" "$T/ref/x.f32" "$T/ref/${c}_probs.f32" 2>&1 || true
done
finish
