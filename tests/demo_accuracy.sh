#!/usr/bin/env bash
# demo_accuracy.sh - the README's accuracy table: test accuracy of the demo's default head
# (Flatten -> Dense 256 relu -> Dropout 0.5 -> softmax, RMSprop, 30 epochs, seed 1) on the
# demo image set, for each codec (f32, f16, bf16, u8) at the default cut, and for other
# cut layers at f16. Prints a markdown table (also saved to $DEMO_OUT/accuracy.md).
# Run `make demo` first (builds featcache, fetches the model, makes the image set);
# same knobs: DEMO_MODEL, DEMO_SIZE, DEMO_EPOCHS, DEMO_LR, DEMO_THREADS, DEMO_OUT (the
# stores, heads and accuracy.md go there; created if missing), and
# ACC_IMAGES (the image set; default $DEMO_OUT/images, so DEMO_OUT=/tmp/acc8 alone needs
# /tmp/acc8/images: ACC_IMAGES=demo-out/images uses the demo's set, relative paths from
# the repository root) and ACC_LAYERS (default "out_relu block_13_expand_relu
# block_10_project_BN").
set -euo pipefail
cd "$(dirname "$0")/.."
FC="$PWD/featcache"
MODEL=${DEMO_MODEL:-mobilenet_v2}
SIZE=${DEMO_SIZE:-96}
EPOCHS=${DEMO_EPOCHS:-30}
OUT=${DEMO_OUT:-demo-out}
LAYERS=(${ACC_LAYERS:-out_relu block_13_expand_relu block_10_project_BN})
THREADS=${DEMO_THREADS:-$(nproc)}
HEAD_OPTS=(--pool flatten --hidden 256 --dropout 0.5 --optimizer rmsprop --lr "${DEMO_LR:-2e-5}"
           --batch 20 --seed 1 --epochs "$EPOCHS" --threads "$THREADS")
IMAGES=${ACC_IMAGES:-$OUT/images}

die() { echo "demo_accuracy: $*" >&2; exit 1; }
[ -x "$FC" ] || die "no ./featcache: run 'make demo' first"
[ -d "$IMAGES/test" ] || die "no $IMAGES/test: run 'make demo' first, or name the demo's image set with ACC_IMAGES=DIR (e.g. ACC_IMAGES=demo-out/images)"
mkdir -p "$OUT" || die "cannot create $OUT"
n_images=$(find "$IMAGES" -name '*.png' | wc -l)
n_test=$(find "$IMAGES/test" -name '*.png' | wc -l)

# one LAYER CODEC: extract (or reuse) a store, train the head, evaluate on test.
# Prints "| layer | shape | codec | feature B/image | file B/image | x raw f32 | train s | accuracy |".
one() {
    local layer=$1 codec=$2 store="$OUT/store-$MODEL-$1-$SIZE-$2.db" t1 t2
    "$FC" extract "$IMAGES" -m "$MODEL" --layer "$layer" --size "$SIZE" --preprocess rescale \
        --codec "$codec" --threads "$THREADS" --quiet -o "$store" >&2 || die "extract $layer $codec failed"
    t1=$(date +%s.%N)
    "$FC" train "$store" -o "$OUT/acc-head.h5" "${HEAD_OPTS[@]}" >&2 || die "train $layer $codec failed"
    t2=$(date +%s.%N)
    local json acc shape bytes feat
    json=$("$FC" evaluate "$store" "$OUT/acc-head.h5" --split test --json) || die "evaluate failed"
    acc=$(sed -n 's/.*"accuracy": *\([0-9.eE+-]*\).*/\1/p' <<<"$json" | head -1)
    "$FC" info "$store" >"$OUT/acc-info.txt" || die "info failed"
    shape=$(grep -m1 -o '[0-9]\+x[0-9]\+x[0-9]\+' "$OUT/acc-info.txt" | tail -1 || true)
    feat=$(sed -n 's/^size *features .* = \([0-9][0-9]*\) B\/image.*/\1/p' "$OUT/acc-info.txt" | head -1)
    bytes=$(stat -c %s "$store")
    awk -v l="$layer" -v s="$shape" -v c="$codec" -v b="$bytes" -v f="${feat:-0}" -v n="$n_images" -v a="$acc" \
        -v tt="$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')" \
        'BEGIN { split(s, d, "x"); raw = d[1] * d[2] * d[3] * 4;
                 printf "| %s | %s | %s | %d | %.0f | %s | %.1f | %.4f |\n", l, s, c, f, b / n,
                        (raw > 0 ? sprintf("%.1fx", raw / (b / n)) : "?"), tt, a }'
}

{
    echo "Test accuracy on the demo set ($n_images Fashion-MNIST images, $n_test test; $MODEL at ${SIZE}x${SIZE},"
    echo "rescale; head: Flatten, Dense 256 relu, Dropout 0.5, softmax; RMSprop ${DEMO_LR:-2e-5}, $EPOCHS epochs, batch 20, seed 1)."
    echo "feature B/image: the compressed feature blobs; file B/image: the whole SQLite store file"
    echo "(blobs, image records, indexes, runs) divided by the image count; the ratio is for the file."
    echo
    echo "| cut layer | feature shape | codec | feature B/image | file B/image | file vs raw f32 | train s | test accuracy |"
    echo "|---|---|---|---|---|---|---|---|"
    for codec in f32 f16 bf16 u8; do one "${LAYERS[0]}" "$codec"; done
    for layer in "${LAYERS[@]:1}"; do one "$layer" f16; done
} | tee "$OUT/accuracy.md"
