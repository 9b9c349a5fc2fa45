#!/usr/bin/env bash
# augment_scipy.sh - common/augment.c (Keras ImageDataGenerator rotation/shift/shear/zoom/
# flips) against keras_preprocessing 1.1's matrices + scipy.ndimage.affine_transform
# (tests/py/augment_ref.py). Needs python3 with numpy and scipy (.ci/install-deps installs
# python3-scipy); prints "# SKIP" and passes without them.
source "$(dirname "$0")/lib.sh"
TOOL="$BUILD/tests/tools/augment_tool"
if [ ! -x "$TOOL" ]; then fail "augment_tool missing at $TOOL"; finish; fi
if ! "$PY" -c 'import numpy, scipy.ndimage' 2>/dev/null; then
    echo "# SKIP augment_scipy: $PY lacks numpy or scipy (apt-get install python3-scipy)"
    finish
fi
"$PY" "$ROOT/tests/py/augment_ref.py" "$TOOL" "$T" || fail "augment_ref.py reported failures"
# the tool refuses a short image file
"$PY" -c 'import numpy as np; np.zeros(7,"<f4").tofile("'"$T"'/short.f32")'
expect_exit "augment_tool rejects a short image" 1 "expected" "$TOOL" h=3 w=3 c=1 in="$T/short.f32" out="$T/o.f32" theta=10
expect_exit "augment_tool reports a bad spec" 1 "rescale" "$TOOL" h=3 w=3 c=1 in="$T/short.f32" out="$T/o.f32" "spec=rescale=0.5"
finish
