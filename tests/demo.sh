#!/usr/bin/env bash
# demo.sh - what `make demo` runs: the whole featcache workflow on real images with a real
# pretrained backbone, on a fresh machine.
#
#   dependencies -> build -> fetch-model (MobileNetV2 from npm nsfwjs@4.4.0) ->
#   make-dataset (Fashion-MNIST from Debian's dataset-fashion-mnist) -> extract -> info ->
#   train (the seeds' head, learning curves) -> sweep (12 configs) -> evaluate (test) ->
#   predict -> extract again (cached) -> summary with measured times.
#
# Everything goes to demo-out/ (gitignored). Re-running is fast: the model, the image set
# and the store are reused. Knobs (environment):
#   DEMO_N=3000           images in the set (train 2/3, validation 1/6, test 1/6)
#   DEMO_MODEL=mobilenet_v2   DEMO_LAYER=out_relu   DEMO_SIZE=96   DEMO_CODEC=f16
#   DEMO_EPOCHS=30        DEMO_SWEEP_EPOCHS=10   DEMO_THREADS=(all CPUs)   DEMO_LR=2e-5
#   DEMO_OUT=demo-out
#   DEMO_RERUN=1          train and sweep again even when this store's head and sweep
#                         CSV from the same command exist (else reused with their times)
#   DEMO_AUGMENT=K        also seeds 000/001's augmentation: K views per training image
#                         (extract --augment K), the same head trained with --augment
#   DEMO_AUGMENT_SPEC='rotation_range=40, ...'  its ImageDataGenerator keywords
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

N=${DEMO_N:-3000}
MODEL=${DEMO_MODEL:-mobilenet_v2}
LAYER=${DEMO_LAYER:-out_relu}
SIZE=${DEMO_SIZE:-96}
CODEC=${DEMO_CODEC:-f16}
EPOCHS=${DEMO_EPOCHS:-30}
SWEEP_EPOCHS=${DEMO_SWEEP_EPOCHS:-10}
OUT=${DEMO_OUT:-demo-out}
THREADS=${DEMO_THREADS:-$(nproc)}
FC="$ROOT/featcache"

# The seeds' head (001): Flatten -> Dense 256 relu -> Dropout 0.5 -> softmax, RMSprop 2e-5,
# batch 20, 30 epochs. On the default set it is still improving at epoch 30 (val_loss
# falling) and reaches ~0.82 test accuracy; lr 1e-4 gets there in ~8 epochs, then
# overfits (the sweep shows both).
HEAD_OPTS=(--pool flatten --hidden 256 --dropout 0.5 --optimizer rmsprop --lr "${DEMO_LR:-2e-5}"
           --batch 20 --seed 1)
GRID='lr=2e-5,1e-4,3e-4 hidden=64,256 dropout=0.25,0.5'

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf '\nmake demo: FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# run_timed VAR CMD...: runs CMD, stores its wall time in seconds in VAR.
run_timed() {
    local var=$1 t0 t1; shift
    t0=$(now)
    "$@" || die "'${*/#$FC/featcache}' exited $?"
    t1=$(now)
    printf -v "$var" '%s' "$(elapsed "$t0" "$t1")"
}
show() { printf '$ featcache'; printf ' %q' "$@"; printf '\n'; }
# cached_step VAR NAME OUTPUT CMD...: like run_timed, but when OUTPUT exists and the same
# CMD already ran on a store with the same fingerprint and images ($STORE_KEY), reuses it
# and its recorded time (DEMO_RERUN=1 forces the run).
cached_step() {
    local var=$1 name=$2 output=$3; shift 3
    local key="$* $STORE_KEY" kf="$OUT/.$name.key" tf="$OUT/.$name.seconds"
    if [ "${DEMO_RERUN:-0}" != 1 ] && [ -s "$output" ] && [ -f "$kf" ] && [ -f "$tf" ] && [ "$(cat "$kf")" = "$key" ]; then
        printf -v "$var" '%s' "$(cat "$tf")"
        echo "(already done on this store in ${!var} s: reusing $output; DEMO_RERUN=1 runs it again)"
        return
    fi
    rm -f "$kf"
    run_timed "$var" "$@"
    echo "$key" >"$kf"
    echo "${!var}" >"$tf"
}
fc() { show "$@"; "$FC" "$@"; }

[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 60 ] || die "DEMO_N must be a number >= 60 (got '$N')"

step "1/10 dependencies"
missing=()
pkg-config --exists hdf5 cairo jansson libpng libzstd sqlite3 openblas libcrypto zlib 2>/dev/null || missing+=("C libraries")
command -v cc >/dev/null || missing+=("C compiler")
command -v npm >/dev/null && command -v node >/dev/null || missing+=("node/npm")
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=("dataset-fashion-mnist")
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        bash .ci/install-deps
    else
        die "run 'sudo bash .ci/install-deps' (Debian 12), then 'make demo' again"
    fi
else
    echo "all present (C libraries, compiler, node $(node --version), npm $(npm --version), dataset-fashion-mnist)"
fi

step "2/10 build"
make -j2 featcache >/dev/null || die "build failed (run 'make' to see why)"
"$FC" --version | head -1
need=(fetch-model make-dataset extract info train sweep evaluate predict)
absent=()
for c in "${need[@]}"; do
    "$FC" "$c" --help >/dev/null 2>&1 || absent+=("$c")
done
[ ${#absent[@]} -eq 0 ] || die "this build lacks the command(s): ${absent[*]}"

mkdir -p "$OUT"
step "3/10 backbone: $MODEL (npm nsfwjs@4.4.0, kept in the model cache)"
fc fetch-model "$MODEL" || die "fetch-model failed (npm registry unreachable? see the message above)"

step "4/10 image set: $N Fashion-MNIST images as class folders"
per=$((N / 10)); ntrain=$((per * 2 / 3)); nval=$((per / 6)); ntest=$((per - ntrain - nval))
IMAGES="$OUT/images"
params="make-dataset --per-class $ntrain --val-per-class $nval --test-per-class $ntest"
if [ -f "$IMAGES.params" ] && [ -d "$IMAGES" ] && [ "$(cat "$IMAGES.params")" = "$params" ]; then
    echo "$IMAGES: already made ($params)"
else
    rm -rf "$IMAGES" "$IMAGES.params"
    fc make-dataset -o "$IMAGES" --per-class "$ntrain" --val-per-class "$nval" --test-per-class "$ntest" \
        || die "make-dataset failed"
    echo "$params" >"$IMAGES.params"
fi
n_images=$(find "$IMAGES" -name '*.png' | wc -l)

STORE="$OUT/store-$MODEL-$LAYER-$SIZE-$CODEC.db"
EXTRACT_OPTS=(-m "$MODEL" --layer "$LAYER" --size "$SIZE" --preprocess rescale --codec "$CODEC"
              --threads "$THREADS")
step "5/10 extract: run the backbone once per image ($LAYER at ${SIZE}x${SIZE}, codec $CODEC)"
TIMES="$STORE.extract-seconds"
if [ -f "$TIMES" ] && [ -f "$STORE" ]; then
    echo "$STORE exists (made in $(cat "$TIMES") s): extract resumes and skips stored images"
fi
show extract "$IMAGES" "${EXTRACT_OPTS[@]}" -o "$STORE"
run_timed t_extract "$FC" extract "$IMAGES" "${EXTRACT_OPTS[@]}" -o "$STORE"
# The first full extraction's time is what the backbone costs; keep it for re-runs.
if [ ! -f "$TIMES" ]; then echo "$t_extract" >"$TIMES"; fi
t_backbone_total=$(cat "$TIMES")

step "6/10 info"
fc info "$STORE" | tee "$OUT/info.txt" || die "info failed"
STORE_KEY=$(grep -E '^(fingerprint|images) ' "$OUT/info.txt" | tr -s ' ' | tr '\n' ' ')

step "7/10 train the seeds' head: ${HEAD_OPTS[*]} --epochs $EPOCHS"
show train "$STORE" -o "$OUT/head.h5" "${HEAD_OPTS[@]}" --epochs "$EPOCHS" --history "$OUT/history.csv" --plot "$OUT/curves.png"
cached_step t_train train "$OUT/head.h5" "$FC" train "$STORE" -o "$OUT/head.h5" "${HEAD_OPTS[@]}" --epochs "$EPOCHS" \
    --threads "$THREADS" --history "$OUT/history.csv" --plot "$OUT/curves.png"
[ -s "$OUT/curves.png" ] || die "train wrote no $OUT/curves.png"
echo "learning curves: $OUT/curves.png, history: $OUT/history.csv"

step "8/10 sweep: 12 head configurations ($GRID), $SWEEP_EPOCHS epochs each"
show sweep "$STORE" --grid "$GRID" --epochs "$SWEEP_EPOCHS" -o "$OUT/sweep.csv" --best "$OUT/best.h5" --plot "$OUT/sweep.png"
cached_step t_sweep sweep "$OUT/sweep.csv" "$FC" sweep "$STORE" --grid "$GRID" --epochs "$SWEEP_EPOCHS" --batch 20 --seed 1 \
    --threads "$THREADS" -o "$OUT/sweep.csv" --best "$OUT/best.h5" --plot "$OUT/sweep.png"
n_configs=$(($(grep -c . "$OUT/sweep.csv") - 1))
[ "$n_configs" -ge 12 ] || die "sweep recorded $n_configs configurations, expected 12"
echo "results: $OUT/sweep.csv, curves: $OUT/sweep.png, best head: $OUT/best.h5"

step "9/10 evaluate on the test split, predict a few images"
fc evaluate "$STORE" "$OUT/head.h5" --split test || die "evaluate failed"
"$FC" evaluate "$STORE" "$OUT/head.h5" --split test --json >"$OUT/evaluate.json" || die "evaluate --json failed"
acc=$(sed -n 's/.*"accuracy": *\([0-9.eE+-]*\).*/\1/p' "$OUT/evaluate.json" | head -1)
[ -n "$acc" ] || die "evaluate --json printed no accuracy: $(head -c 300 "$OUT/evaluate.json")"
few=()
for cls in Ankle_boot Bag Dress Sneaker Trouser; do
    few+=("$(find "$IMAGES/test/$cls" -name '*.png' | sort | head -1)")
done
fc predict -m "$MODEL" --head "$OUT/head.h5" "${few[@]}" | tee "$OUT/predict.csv" || die "predict failed"
[ "$(grep -c '\.png,' "$OUT/predict.csv")" -eq ${#few[@]} ] || die "predict printed no row per image"

store_bytes=$(stat -c %s "$STORE") # the images' features (views, if any, come next)
AUG=${DEMO_AUGMENT:-0}
[[ $AUG =~ ^[0-9]+$ ]] || die "DEMO_AUGMENT must be a number of views (got '$AUG')"
if [ "$AUG" -gt 0 ]; then
    step "9b/10 augmentation (seeds 000/001): $AUG views of every training image once, then the head with --augment"
    AUG_OPTS=(--augment "$AUG")
    [ -n "${DEMO_AUGMENT_SPEC:-}" ] && AUG_OPTS+=(--augment-spec "$DEMO_AUGMENT_SPEC")
    show extract "$IMAGES" "${EXTRACT_OPTS[@]}" -o "$STORE" "${AUG_OPTS[@]}"
    run_timed t_aug "$FC" extract "$IMAGES" "${EXTRACT_OPTS[@]}" -o "$STORE" "${AUG_OPTS[@]}"
    show train "$STORE" -o "$OUT/head_aug.h5" "${HEAD_OPTS[@]}" --epochs "$EPOCHS" --augment --history "$OUT/history_aug.csv"
    run_timed t_train_aug "$FC" train "$STORE" -o "$OUT/head_aug.h5" "${HEAD_OPTS[@]}" --epochs "$EPOCHS" --augment \
        --threads "$THREADS" --history "$OUT/history_aug.csv" -q
    "$FC" evaluate "$STORE" "$OUT/head_aug.h5" --split test --json >"$OUT/evaluate_aug.json" || die "evaluate failed"
    acc_aug=$(sed -n 's/.*"accuracy": *\([0-9.eE+-]*\).*/\1/p' "$OUT/evaluate_aug.json" | head -1)
    n_train=$(find "$IMAGES/train" -name '*.png' | wc -l)
fi

step "10/10 extract again: everything is cached"
show extract "$IMAGES" "${EXTRACT_OPTS[@]}" -o "$STORE"
run_timed t_extract2 "$FC" extract "$IMAGES" "${EXTRACT_OPTS[@]}" -o "$STORE"

# Summary. Without the cache every epoch runs the backbone over the training and
# validation images again (as seed 002's fine-tuning-style loop does), then the head.
n_fit=$(find "$IMAGES/train" "$IMAGES/validation" -name '*.png' | wc -l)
raw_per_image=$(sed -n 's/.*(raw \([0-9][0-9]*\) B\/image).*/\1/p' "$OUT/info.txt" | head -1)
[ -n "$raw_per_image" ] || die "info printed no raw float32 size (see $OUT/info.txt)"
summary=$(awk -v n="$n_images" -v nfit="$n_fit" -v tb="$t_backbone_total" -v te2="$t_extract2" \
    -v tt="$t_train" -v ts="$t_sweep" -v ep="$EPOCHS" -v sep="$SWEEP_EPOCHS" -v nc="$n_configs" \
    -v sb="$store_bytes" -v acc="$acc" -v img="$IMAGES" -v raw="$raw_per_image" 'BEGIN {
    per = tb / n;                               # backbone seconds per image
    naive = per * nfit * ep + tt;               # backbone every epoch + the same head work
    naive_sweep = per * nfit * sep * nc + ts;
    printf "images                 %d (%s)\n", n, img
    printf "extract                %.1f s (%.1f ms/image, %.0f images/s); again: %.2f s (cached)\n", tb, per * 1000, n / tb, te2
    printf "store                  %.1f MiB, %.0f bytes/image: %.1fx smaller than raw float32 (%d bytes/image)\n", sb / 1048576, sb / n, raw * n / sb, raw
    printf "train (%d epochs)      %.1f s from the cache; %.0f s with the backbone every epoch: %.0fx faster\n", ep, tt, naive, naive / tt
    printf "sweep (%d x %d epochs) %.1f s from the cache; %.0f s as %d runs with the backbone every epoch: %.0fx faster\n", nc, sep, ts, naive_sweep, nc, naive_sweep / ts
    printf "  counting the one-time extraction: train %.1fx, train+sweep %.1fx\n", naive / (tb + tt), (naive + naive_sweep) / (tb + tt + ts)
    printf "test accuracy          %.4f (head.h5, evaluate --split test)\n", acc
}')
if [ "$AUG" -gt 0 ]; then
    summary+=$'\n'$(awk -v k="$AUG" -v ta="$t_aug" -v tt="$t_train_aug" -v ep="$EPOCHS" -v ntr="$n_train" \
        -v per="$(awk -v tb="$t_backbone_total" -v n="$n_images" 'BEGIN { print tb / n }')" -v acc="$acc_aug" 'BEGIN {
        loop = per * ntr * ep + tt;   # the seeds loop: the backbone on a fresh transform of every image every epoch
        printf "augmented (%d views)   views %.1f s once + train %.1f s; %.0f s with the backbone on every augmented image every epoch: %.0fx faster\n", k, ta, tt, loop, loop / (ta + tt)
        printf "  test accuracy        %.4f (head_aug.h5: the same head and seed, trained on the views)\n", acc
    }')
fi
step "summary"
echo "$summary" | tee "$OUT/summary.txt"
echo "files: $OUT/ (curves.png, history.csv, sweep.png, sweep.csv, head.h5, best.h5, predict.csv, evaluate.json, info.txt, summary.txt)"
