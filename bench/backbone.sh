#!/usr/bin/env bash
# backbone.sh - `make bench` section: OpenBLAS sgemm GFLOP/s, then VGG16@150 (batch 20), InceptionV3-mixed7@150
# and MobileNetV2@224: images/s, effective GFLOP/s, fraction of sgemm, and the PyTorch
# peer (shared/PEERS.md settings) measured in the same run, with the ratio.
set -u
: "${BUILD:?}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FEATCACHE=${FEATCACHE:-$ROOT/featcache} . "$ROOT/bench/peer_blas.sh"
PY=/usr/bin/python3
THREADS=${BENCH_THREADS:-2}
BATCH=${BENCH_BATCH:-20}
ITERS=${BENCH_ITERS:-5}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== backbone (threads $THREADS, batch $BATCH; load average $(cut -d' ' -f1-3 /proc/loadavg)) =="
"$BUILD/bench/bench_backbone" --threads "$THREADS" --batch "$BATCH" --iters "$ITERS" | tee "$out"

have_torch() { "$PY" -c 'import torch' 2>/dev/null; }
if ! have_torch && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing the PyTorch peer (python3-torch python3-torchvision libtcmalloc-minimal4)..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-torchvision \
        libtcmalloc-minimal4 >/dev/null 2>&1 || echo "apt-get install failed"
fi
if have_torch; then
    TCM=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
    pre=""
    [ -e "$TCM" ] && pre=$TCM || echo "note: libtcmalloc-minimal4 missing, the peer runs with glibc malloc"
    echo "-- PyTorch peer: channels_last, jit trace+freeze, inference_mode, ${pre:+tcmalloc, }$THREADS threads"
    LD_PRELOAD=$pre OMP_NUM_THREADS=$THREADS "$PY" "$ROOT/bench/peer_torch.py" --threads "$THREADS" \
        --batch "$BATCH" --iters "$ITERS" | tee -a "$out"
    awk '$1 == "result" { fc[$2] = $3 } $1 == "peer" && $3 ~ /^[0-9.]+$/ { pt[$2] = $3 }
         END { for (g in fc) if (g in pt) printf "%-14s featcache %7.2f img/s   PyTorch %7.2f img/s   ratio %.2fx\n", g, fc[g], pt[g], fc[g] / pt[g] }' "$out"
else
    echo "-- PyTorch peer skipped: python3-torch is not installed (run make bench as root to install it)"
fi
