#!/usr/bin/env bash
# make_dataset.sh - `featcache make-dataset` on a small synthetic Fashion-MNIST-like IDX
# set made here (PNG pixels checked with PIL, which decodes independently), bad IDX
# files, bad options, and (when installed) Debian's real dataset-fashion-mnist.
source "$(dirname "$0")/lib.sh"

SRC="$T/src"
mkdir -p "$SRC"
# train: 40 items 6x5, labels i%10; t10k: 20 items, labels (i*3)%10. Pixel = (i*11+j)%256.
$PY - "$SRC" <<'EOF'
import gzip, struct, sys
d = sys.argv[1]
def write(prefix, n, lab):
    img = struct.pack('>IIII', 0x803, n, 6, 5) + bytes((i * 11 + j) % 256 for i in range(n) for j in range(30))
    gzip.open(f'{d}/{prefix}-images-idx3-ubyte.gz', 'wb').write(img)
    gzip.open(f'{d}/{prefix}-labels-idx1-ubyte.gz', 'wb').write(struct.pack('>II', 0x801, n) + bytes(lab(i) for i in range(n)))
write('train', 40, lambda i: i % 10)
write('t10k', 20, lambda i: (i * 3) % 10)
EOF

OUT="$T/out"
check "make-dataset writes a class-folder set" \
    "$FC" make-dataset -i "$SRC" -o "$OUT" --per-class 2 --val-per-class 1 --test-per-class 2 --size 13
n=$(find "$OUT" -name '*.png' | wc -l)
[ "$n" -eq 50 ] && ok "50 images (10 x (2+1+2))" || fail "found $n images, expected 50"
[ -d "$OUT/train/T-shirt_top" ] && [ -d "$OUT/validation/Ankle_boot" ] && [ -d "$OUT/test/Sneaker" ] \
    && ok "split and class folder names" || fail "split/class folders missing: $(ls "$OUT" "$OUT"/train | tr '\n' ' ')"
# train Coat (label 4) = items 4, 14; validation = item 24; test Coat: (i*3)%10==4 -> i=8, 18.
[ -f "$OUT/train/Coat/00004.png" ] && [ -f "$OUT/train/Coat/00014.png" ] && [ -f "$OUT/validation/Coat/00024.png" ] \
    && [ -f "$OUT/test/Coat/00008.png" ] && [ -f "$OUT/test/Coat/00018.png" ] \
    && ok "deterministic selection by file order, train/validation disjoint" \
    || fail "unexpected Coat files: $(find "$OUT" -path '*Coat*' -name '*.png' | sort | tr '\n' ' ')"

# Pixels: PIL's NEAREST resize of the source item must equal the PNG (non-integer scale 13/6, 13/5).
if $PY - "$OUT" <<'EOF'
import sys, numpy as np
from PIL import Image
out = sys.argv[1]
for split, cls, i in [('train', 'Coat', 14), ('test', 'Coat', 18), ('validation', 'Trouser', 21)]:
    src = np.array([(i * 11 + j) % 256 for j in range(30)], np.uint8).reshape(6, 5)
    ref = np.array(Image.fromarray(src).resize((13, 13), Image.NEAREST))
    im = Image.open(f'{out}/{split}/{cls}/{i:05d}.png')
    assert im.mode == 'L' and im.size == (13, 13), (im.mode, im.size)
    assert (np.array(im) == ref).all(), f'{split}/{cls}/{i}'
EOF
then ok "PNG pixels equal PIL NEAREST upscale"; else fail "PNG pixels differ from PIL"; fi

check "rerun is deterministic" "$FC" make-dataset -i "$SRC" -o "$T/out2" --per-class 2 --val-per-class 1 --test-per-class 2 --size 13 -q
diff -r "$OUT" "$T/out2" >/dev/null && ok "byte-identical output" || fail "outputs differ"

check "class subset" "$FC" make-dataset -i "$SRC" -o "$T/sub" --classes coat,Bag,1 --per-class 3 -q
[ "$(ls "$T/sub/train" | tr '\n' ' ')" = "Bag Coat Trouser " ] && [ "$(ls "$T/sub/train/Bag" | wc -l)" -eq 3 ] \
    && [ "$(ls "$T/sub/validation/Bag" | wc -l)" -eq 1 ] && [ "$(ls "$T/sub/test/Coat" | wc -l)" -eq 1 ] \
    && ok "subset folders (per-class 3: at least 1 validation and 1 test image, not 3/4 = 0)" || fail "subset: $(ls -R "$T/sub" | head)"
expect_exit "a class given twice (by name in another case)" 2 "class 'coat' is given twice in --classes (as Coat)" \
    "$FC" make-dataset -i "$SRC" -o "$T/x2" --classes Coat,coat
expect_exit "a class given twice (by index and name)" 2 "class 'Coat' is given twice" "$FC" make-dataset -i "$SRC" -o "$T/x2" --classes 4,Coat
[ ! -e "$T/x2" ] && ok "... nothing written" || fail "a refused make-dataset wrote $T/x2"

expect_exit "refuses a non-empty folder" 1 "not empty" "$FC" make-dataset -i "$SRC" -o "$OUT" --per-class 1
check "--force writes into it" "$FC" make-dataset -i "$SRC" -o "$OUT" --per-class 1 --force -q
expect_exit "too few images" 1 "has only 0 images left for validation" "$FC" make-dataset -i "$SRC" -o "$T/few" --per-class 4 --val-per-class 1
expect_exit "unknown class" 2 "unknown class 'Hat'" "$FC" make-dataset -i "$SRC" -o "$T/x" --classes Coat,Hat
expect_exit "missing -o" 2 "-o DIR is required" "$FC" make-dataset -i "$SRC"
expect_exit "bad --size" 2 "size" "$FC" make-dataset -i "$SRC" -o "$T/x" --size 0
expect_exit "missing source" 1 "not found" "$FC" make-dataset -i "$T/nowhere" -o "$T/x"

# Bad IDX files: each run names the file and the problem, exits 1.
bad() { # NAME FRAGMENT PYTHON-EXPR-FOR-TRAIN-IMAGES-BYTES
    local name=$1 frag=$2 expr=$3 d="$T/bad-$1"
    mkdir -p "$d" && cp "$SRC"/* "$d"/
    $PY -c "import gzip,struct,sys; b=gzip.open('$SRC/train-images-idx3-ubyte.gz').read(); open('$d/raw','wb').write($expr)"
    rm "$d/train-images-idx3-ubyte.gz"; mv "$d/raw" "$d/train-images-idx3-ubyte"
    expect_exit "bad IDX: $name" 1 "$frag" "$FC" make-dataset -i "$d" -o "$T/o-$name"
    grep -qF "train-images-idx3-ubyte" "$T/.err" || fail "bad IDX $name: message does not name the file"
}
bad wrong-magic "not an IDX image file" "b'\x00\x00\x0d\x03'+b[4:]"
bad labels-file "expected 3" "b'\x00\x00\x08\x01'+b[4:]"
bad truncated "truncated IDX payload" "b[:-7]"
bad huge-dims "dimension 1" "b[:8]+struct.pack('>I',1<<20)+b[12:]"
bad huge-count "limit" "b[:4]+struct.pack('>I',0xffffffff)+b[8:16]+bytes(100)"
bad count-mismatch "labels" "b[:4]+struct.pack('>I',39)+b[8:16+39*30]"
bad short-header "truncated IDX header" "b[:9]"
d="$T/bad-gz"; mkdir -p "$d" && cp "$SRC"/* "$d"/
head -c 40 "$SRC/t10k-images-idx3-ubyte.gz" >"$d/t10k-images-idx3-ubyte.gz"
expect_exit "bad IDX: cut gzip" 1 "t10k-images-idx3-ubyte.gz" "$FC" make-dataset -i "$d" -o "$T/o-gz"
d="$T/bad-label"; mkdir -p "$d" && cp "$SRC"/* "$d"/
$PY -c "import gzip,struct; gzip.open('$d/t10k-labels-idx1-ubyte.gz','wb').write(struct.pack('>II',0x801,20)+bytes([3]*19+[12]))"
expect_exit "bad IDX: label out of range" 1 "label 12 at item 19" "$FC" make-dataset -i "$d" -o "$T/o-lab"

# Debian's real files, when installed (CI installs dataset-fashion-mnist).
REAL=/usr/share/datasets/fashion-mnist
if [ -f "$REAL/train-images-idx3-ubyte.gz" ]; then
    check "real Fashion-MNIST" "$FC" make-dataset -o "$T/real" --per-class 3 --val-per-class 1 --test-per-class 1 --size 32 -q
    if $PY - "$T/real" "$REAL" <<'EOF'
import gzip, sys, numpy as np
from PIL import Image
out, real = sys.argv[1:]
a = np.frombuffer(gzip.open(f'{real}/train-images-idx3-ubyte.gz').read(), np.uint8, offset=16).reshape(-1, 28, 28)
l = np.frombuffer(gzip.open(f'{real}/train-labels-idx1-ubyte.gz').read(), np.uint8, offset=8)
i = int(np.nonzero(l == 9)[0][0])  # first Ankle boot
ref = np.array(Image.fromarray(a[i]).resize((32, 32), Image.NEAREST))
assert (np.array(Image.open(f'{out}/train/Ankle_boot/{i:05d}.png')) == ref).all()
EOF
    then ok "real Ankle_boot image equals PIL resize of the IDX item"; else fail "real image differs"; fi
    [ "$(find "$T/real" -name '*.png' | wc -l)" -eq 50 ] && ok "real: 50 images" || fail "real: wrong count"
fi
finish
