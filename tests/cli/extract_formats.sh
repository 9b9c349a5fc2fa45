#!/usr/bin/env bash
# extract_formats.sh - every format Keras' flow_from_directory lists (png jpg jpeg bmp ppm
# tif tiff) through `featcache extract`: the same pictures saved by PIL as BMP, PPM (P5 and
# P6) and TIFF (several layouts and compressions; .pgm names are left out, as by Keras) give exactly the features of the PNG originals;
# a folder that gains BMP files re-extracts by adding them; a file whose content is not
# its extension is read by content (as PIL does); a layout PIL reads and featcache does
# not is reported by path and reason, and the run goes on.
. "$(dirname "$0")/lib.sh"
FX="$ROOT/tests/py/extract_fixtures.py"
$PY "$FX" images "$T/png" --classes 3 --per-class 6 || { fail "fixture images"; finish; }
$PY "$FX" model "$T/tiny.h5" || { fail "fixture model"; finish; }
XV=(--size 32 --preprocess rescale --codec f32) # with the summary line
X=("${XV[@]}" --quiet)
# the same pictures in other formats, one folder each (class folders kept)
$PY - "$T/png" "$T" <<'PY' || fail "PIL conversions"
import os, sys
from PIL import Image
src, root = sys.argv[1], sys.argv[2]
saves = {
    "bmp": [(".bmp", {}, None)],
    "pnm": [(".ppm", {}, None), (".ppm", {}, "L"), (".pgm", {}, "RGB")],
    "tif": [(".tif", {"compression": "tiff_lzw"}, None), (".tiff", {"compression": "raw"}, None),
            (".tif", {"compression": "tiff_adobe_deflate"}, "L"), (".tif", {"compression": "packbits"}, "P")],
}
for fmt, ways in saves.items():
    for cls in sorted(os.listdir(src)):
        os.makedirs(os.path.join(root, fmt, cls))
        for i, name in enumerate(sorted(os.listdir(os.path.join(src, cls)))):
            ext, kw, mode = ways[i % len(ways)]
            im = Image.open(os.path.join(src, cls, name))
            if mode == "RGB":
                im = im.convert("RGB")
            elif mode == "L" and im.mode != "L":
                im = im.convert("RGB")  # gray is lossless only for gray sources
            elif mode == "P" and im.mode in ("L", "RGB") and im.getcolors(256):
                im = im.convert("P") if im.mode == "L" else im.quantize(256)  # as many colours: lossless
            im.save(os.path.join(root, fmt, cls, os.path.splitext(name)[0] + ext), **kw)
PY
check "extract the PNG originals" "$FC" extract "$T/png" -m "$T/tiny.h5" -o "$T/png.db" "${X[@]}"
check "export them" "$FC" export "$T/png.db" "$T/png.h5"
for fmt in bmp pnm tif; do
    n=$(find "$T/$fmt" -type f ! -name '*.pgm' | wc -l) # Keras lists .ppm, not .pgm
    expect_exit "extract the $fmt copies" 0 "" "$FC" extract "$T/$fmt" -m "$T/tiny.h5" -o "$T/$fmt.db" "${XV[@]}"
    grep -q "stored $n, skipped 0, failed 0" "$T/.out" && ok "... all $n $fmt files stored" || fail "$fmt: $(cat "$T/.out" "$T/.err")"
    [ "$fmt" != pnm ] || { grep -q "ignored 0 hidden, 6 non-image" "$T/.err" && ok "... the .pgm files left out, as Keras does" || fail "pgm: $(cat "$T/.err")"; }
    check "export the $fmt store" "$FC" export "$T/$fmt.db" "$T/$fmt.h5"
    $PY - "$T/png.h5" "$T/$fmt.h5" <<'PY' >"$T/cmp.txt" 2>&1 && ok "$fmt features equal the PNG ones, image by image" || fail "$fmt features: $(cat "$T/cmp.txt")"
import os, sys
import h5py, numpy as np
def load(p):
    with h5py.File(p, "r") as f:
        paths = [x.decode() if isinstance(x, bytes) else x for x in f["paths"][:]]
        return {os.path.splitext(q)[0]: f["features"][i] for i, q in enumerate(paths)}
a, b = load(sys.argv[1]), load(sys.argv[2])
assert b and set(b) <= set(a), (sorted(b), sorted(a))
for k in b:
    assert np.array_equal(a[k], b[k]), k
print(len(b), "images compared")
PY
done
# a folder that gains BMP copies: re-extracting adds them (new bytes, new content hashes)
cp -r "$T/png" "$T/grow"
check "extract a PNG folder" "$FC" extract "$T/grow" -m "$T/tiny.h5" -o "$T/grow.db" "${X[@]}"
cls=$(ls "$T/bmp" | head -1)
cp "$T/bmp/$cls/"* "$T/grow/$cls/"
nb=$(ls "$T/bmp/$cls" | wc -l); np_=$(find "$T/png" -type f | wc -l)
expect_exit "re-extract after adding $nb BMP files" 0 "stored $nb, skipped $np_" "$FC" extract "$T/grow" -m "$T/tiny.h5" -o "$T/grow.db" "${XV[@]}"
# the content decides the format, as with PIL: a PNG named .tif decodes as PNG
mkdir -p "$T/mixed/a" "$T/mixed/b"
first=$(find "$T/png" -type f | sort | head -1)
cp "$first" "$T/mixed/a/x.tif"; cp "$T/bmp/$(basename "$(dirname "$first")")/$(basename "${first%.*}").bmp" "$T/mixed/b/y.ppm"
check "extract files whose content is another format than their name" "$FC" extract "$T/mixed" -m "$T/tiny.h5" -o "$T/mixed.db" "${X[@]}"
# a TIFF layout PIL reads and featcache refuses (16-bit gray) and a broken BMP: named, run goes on
mkdir -p "$T/odd/a"
cp "$ROOT/tests/bad/images/gray16.tif" "$ROOT/tests/bad/images/truncated.bmp" "$T/odd/a/"
cp "$T/png/$cls/"* "$T/odd/a/"
expect_exit "refused layouts are reported, the run goes on" 0 "gray16.tif: TIFF with 16-bit samples" \
    "$FC" extract "$T/odd" -m "$T/tiny.h5" -o "$T/odd.db" "${XV[@]}"
grep -q "truncated.bmp: truncated BMP data" "$T/.err" && grep -q "failed 2" "$T/.out" \
    && ok "... the broken BMP too, 2 failed" || fail "odd: $(cat "$T/.out" "$T/.err")"
finish
