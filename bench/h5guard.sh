#!/usr/bin/env bash
# h5guard.sh - `make bench` section: what the HDF5 pre-flight (a forked child reading the
# file's metadata first, common/h5guard.c) adds to opening and loading an export and to
# loading a Keras model. H5GUARD_BENCH_MODEL=path/to/model.h5 measures a real backbone
# (e.g. the InceptionV3 weights file); the default is the tiny test model. Prints numbers
# only; nothing passes or fails on time.
set -u
: "${BUILD:?}" "${FEATCACHE:?}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$BUILD/bench/bench_h5guard MK=$BUILD/tests/tools/mkstore
for x in "$B" "$MK"; do
    [ -x "$x" ] || make -s -C "$ROOT" BUILD="$BUILD" "$x" >/dev/null || { echo "cannot build $x"; exit 1; }
done
N=${H5GUARD_BENCH_IMAGES:-2000}
W=$(mktemp -d "${TMPDIR:-/tmp}/fc-bench-h5guard.XXXXXX")
trap 'rm -rf "$W"' EXIT
"$MK" "$W/s.db" --count "$N" --shape 4,4,512 >/dev/null && "$FEATCACHE" export "$W/s.db" "$W/e.h5" >/dev/null \
    || { echo "fixture export failed"; exit 1; }
M=${H5GUARD_BENCH_MODEL:-}
if [ -z "$M" ]; then
    M="$W/tiny.h5"
    /usr/bin/python3 "$ROOT/tests/py/extract_fixtures.py" model "$M" >/dev/null || { echo "fixture model failed"; exit 1; }
fi
echo "export: $N images of 4x4x512 ($(stat -c %s "$W/e.h5") bytes); model: $M ($(stat -c %s "$M") bytes)"
for job in open load model; do
    f="$W/e.h5"; [ $job = model ] && f=$M
    off=$("$B" $job "$f" off 7) && on=$("$B" $job "$f" on 7) || { echo "$job: failed"; continue; }
    echo "$off"; echo "$on"
    awk -v a="$off" -v b="$on" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
        for (i = 1; i <= n; i++) if (x[i] == "wall") { w0 = x[i - 2]; w1 = y[i - 2]; c0 = x[i + 1]; c1 = y[i + 1] }
        printf "  -> pre-flight adds %.2f ms wall (%+.1f%%), %.2f ms cpu (%+.1f%%)\n", w1 - w0,
               (w0 > 0 ? (w1 - w0) / w0 * 100 : 0), c1 - c0, (c0 > 0 ? (c1 - c0) / c0 * 100 : 0) }'
done
