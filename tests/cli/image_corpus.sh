#!/usr/bin/env bash
# image_corpus.sh - every file of the image fuzz corpora (tests/fuzz/corpus/{png,jpeg,bmp,
# pnm,tiff}: valid, odd and hostile images) decoded by featcache and by PIL 9.4, the
# independent reference Keras's load_img uses: an image featcache accepts must be one PIL
# opens, with the same size and bit-identical RGB (`Image.open(f).convert('RGB')`); one it
# refuses must say why (the layouts featcache refuses and PIL reads, README's IMAGE_DIR
# table, are counted, not failed). The fuzz replay only checks that nothing crashes.
. "$(dirname "$0")/lib.sh"
DUMP="$BUILD/tests/tools/image_dump"
for fmt in png jpeg bmp pnm tiff; do
    dir="$ROOT/tests/fuzz/corpus/$fmt"
    mkdir -p "$T/$fmt"
    "$DUMP" "$T/$fmt" "$dir"/* || { fail "$fmt: image_dump"; continue; }
    if out=$($PY - "$dir" "$T/$fmt" 2>&1 <<'PY'
import os, sys, warnings
import numpy as np
from PIL import Image, ImageFile
ImageFile.LOAD_TRUNCATED_IMAGES = False  # Keras's load_img default
src, got = sys.argv[1], sys.argv[2]
acc = ref = pil_only = 0
bad = []
for name in sorted(os.listdir(src)):
    path = os.path.join(src, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning and the like
            with Image.open(path) as im:
                want = np.asarray(im.convert("RGB"))
    except Exception:
        want = None
    rgb, err = os.path.join(got, name + ".rgb"), os.path.join(got, name + ".err")
    if os.path.exists(err):
        ref += 1
        pil_only += want is not None
        if not open(err).read().strip():
            bad.append(f"{name}: refused without a reason")
        continue
    acc += 1
    data = open(rgb, "rb").read()
    head, _, px = data.partition(b"\n")
    w, h = map(int, head.split())
    if want is None:
        bad.append(f"{name}: featcache decodes it ({w}x{h}), PIL does not open it")
    elif want.shape != (h, w, 3):
        bad.append(f"{name}: featcache {w}x{h}, PIL {want.shape[1]}x{want.shape[0]}")
    elif not np.array_equal(np.frombuffer(px, np.uint8).reshape(h, w, 3), want):
        bad.append(f"{name}: {w}x{h}, pixels differ from PIL's")
print(f"{acc} decoded, {ref} refused, {pil_only} of them opened by PIL")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
    ); then ok "$fmt corpus: every image featcache decodes is PIL's, bit for bit ($out)"
    else fail "$fmt corpus: $out"; fi
done
finish
