#!/usr/bin/env bash
# engine_numpy.sh - the engine's conv/depthwise/pool outputs against an independent numpy
# implementation of the TF definitions (tests/py/ref_ops.py), incl. conv 'same' stride 2
# on odd sizes, avg pool 'same' (padding excluded from the count) and depthwise.
source "$(dirname "$0")/lib.sh"
TOOL="$BUILD/tests/tools/engine_op"
if [ ! -x "$TOOL" ]; then fail "engine_op tool missing at $TOOL"; finish; fi
if ! "$PY" -c 'import numpy' 2>/dev/null; then fail "numpy missing for $PY"; finish; fi
"$PY" "$ROOT/tests/py/ref_ops.py" "$TOOL" "$T" || fail "ref_ops.py reported failures"
# the tool refuses a weight file of the wrong size
"$PY" -c 'import numpy as np; np.zeros((1,5,5,2),"<f4").tofile("'"$T"'/x.f32"); np.zeros(7,"<f4").tofile("'"$T"'/k.f32")'
expect_exit "engine_op rejects short kernel file" 1 "expected" "$TOOL" op=conv h=5 w=5 c=2 kh=3 kw=3 filters=1 in="$T/x.f32" kernel="$T/k.f32" out="$T/y.f32"
finish
