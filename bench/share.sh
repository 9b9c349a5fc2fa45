#!/usr/bin/env bash
# share.sh - `make bench` section: throughput of export (shuffle+gzip, zstd, float16),
# import and merge on a synthetic store of VGG16-shaped features (4x4x512 per image,
# ~70% exact zeros like ReLU maps; tests/tools/mkstore), and export file size per image
# against raw float32. Prints numbers only; nothing passes or fails on time.
set -u
: "${BUILD:?}" "${FEATCACHE:?}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MK=$BUILD/tests/tools/mkstore
if [ ! -x "$MK" ]; then make -s -C "$ROOT" BUILD="$BUILD" "$MK" >/dev/null || { echo "cannot build $MK"; exit 1; }; fi
N=${SHARE_BENCH_IMAGES:-2000}
W=$(mktemp -d "${TMPDIR:-/tmp}/fc-bench-share.XXXXXX")
trap 'rm -rf "$W"' EXIT
raw=$((N * 4 * 4 * 512 * 4))
"$MK" "$W/a.db" --count $((N / 2)) --shape 4,4,512 >/dev/null
"$MK" "$W/b.db" --first $((N / 2)) --count $((N - N / 2)) --shape 4,4,512 >/dev/null
"$FEATCACHE" merge -o "$W/s.db" "$W/a.db" "$W/b.db" >/dev/null

# run LABEL OUTFILE CMD...: wall seconds, images/s, MB/s of raw float32, bytes/image.
run() {
    local label=$1 out=$2; shift 2
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { printf '%-28s failed\n' "$label"; return; }
    t1=$(date +%s.%N)
    awk -v l="$label" -v t0="$t0" -v t1="$t1" -v n="$N" -v raw="$raw" -v size="$(stat -c %s "$out")" 'BEGIN {
        s = t1 - t0
        printf "%-28s %7.2f s %9.0f img/s %8.1f MB/s %9.0f B/img (%.1fx smaller than f32)\n", l, s, n / s,
               raw / s / 1e6, size / n, raw / size }'
}
echo "$N images of 4x4x512 (raw float32 $((raw / 1000000)) MB), $(nproc) CPUs"
run "store (f16, merge of 2)" "$W/s.db" "$FEATCACHE" merge -o "$W/m.db" "$W/a.db" "$W/b.db"
run "export shuffle+gzip" "$W/g.h5" "$FEATCACHE" export "$W/s.db" "$W/g.h5"
run "export zstd (32015)" "$W/z.h5" "$FEATCACHE" export "$W/s.db" "$W/z.h5" --zstd
run "export float16 gzip" "$W/h.h5" "$FEATCACHE" export "$W/s.db" "$W/h.h5" --dtype float16
run "import gzip -> f16 store" "$W/i.db" "$FEATCACHE" import "$W/g.h5" -o "$W/i.db"
run "import zstd -> f16 store" "$W/j.db" "$FEATCACHE" import "$W/z.h5" -o "$W/j.db"
