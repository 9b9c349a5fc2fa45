#!/usr/bin/env bash
# codec.sh - feature codecs and the SQLite container: bytes/image, ratio to raw float32
# (blob only and on disk), round-trip error, encode/decode MB/s per codec and layout.
# Synthetic ReLU-like maps always; real MobileNetV2 activations (block_13_expand_relu at
# 96x96 on Fashion-MNIST, the PEERS.md setting) when `extract` and the model are present.
set -u
: "${BUILD:?}" "${FEATCACHE:?}"
"$BUILD/bench/bench_codec" --max "${FC_BENCH_CODEC_MAPS:-300}"

model=${FC_BENCH_MODEL:-mobilenet_v2}
if ! "$FEATCACHE" --help 2>&1 | grep -q '^  extract '; then
    echo "(real activations skipped: this featcache has no extract command)"
    exit 0
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/fc-bench-codec.XXXXXX")
trap 'rm -rf "$W"' EXIT
if ! "$FEATCACHE" make-dataset -o "$W/fmnist" -n 30 --val-per-class 0 --test-per-class 0 -s 96 -q >"$W/log" 2>&1; then
    echo "(real activations skipped: make-dataset failed: $(tail -1 "$W/log"))"
    exit 0
fi
if ! "$FEATCACHE" extract "$W/fmnist/train" -m "$model" --layer block_13_expand_relu --size 96 \
        --preprocess tf --codec f32 -o "$W/real.db" --quiet >"$W/log" 2>&1; then
    echo "(real activations skipped: extract -m $model failed: $(tail -1 "$W/log"))"
    echo "(fetch the model with: featcache fetch-model mobilenet_v2)"
    exit 0
fi
"$BUILD/bench/bench_codec" --store "$W/real.db" --max 300
