#!/usr/bin/env bash
# extract.sh - end-to-end `extract` throughput (read + sha256 + JPEG decode + resize +
# preprocess overlapping the backbone, encode + one transaction per batch) against the
# backbone alone on the same batches, and the speed-up of re-running a finished extract.
# Goals (issue 4): ratio >= 0.90, re-run >= 50x. VGG16 at 150 is the seeds' setting;
# MobileNetV2 at 96 is a light backbone where decoding weighs most.
set -u
: "${BUILD:?}" "${FEATCACHE:?}"
"$BUILD/bench/bench_extract" --arch vgg16 --layer block5_pool --size 150 \
    --images "${FC_BENCH_EXTRACT_VGG:-100}" --augment "${FC_BENCH_AUGMENT:-2}" || exit 1
echo
"$BUILD/bench/bench_extract" --arch mobilenet_v2 --layer out_relu --size 96 \
    --images "${FC_BENCH_EXTRACT_MBV2:-400}"
