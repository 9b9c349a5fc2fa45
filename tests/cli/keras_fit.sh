#!/usr/bin/env bash
# keras_fit.sh - `featcache train` against an independent float32 numpy transcription of
# Keras 2.2.4's fit (tests/py/keras_fit_ref.py): every epoch's loss, acc, val_loss, val_acc
# (1e-5 relative; acc within one sample) and HEAD.h5's final weights, for Flatten/GAP/GMP,
# 0-2 hidden layers of each activation, dropout, sigmoid and softmax outputs, RMSprop, Adam,
# SGD with momentum and Nesterov, --l2 on a large kernel (the penalty's summation),
# --class-weight balanced, --patience (an early stop, and featcache's restore at --epochs),
# and heads saturated by a large lr (Keras's clip passes no gradient).
. "$(dirname "$0")/lib.sh"
MK="$BUILD/tests/tools/mkstore_fmnist"
REF="$ROOT/tests/py/keras_fit_ref.py"
if ! "$PY" -c 'import numpy, h5py' 2>/dev/null; then fail "$PY lacks numpy or h5py (python3-numpy python3-h5py)"; finish; fi

# stores (Fashion-MNIST pixels as 14x14x2 maps, or 28x28x2 with --pool 1) and their exports
check "make a 2-class store" "$MK" "$T/bin.db" --classes 2,4 --train 40 --val 20 --test 0
check "make a 3-class store" "$MK" "$T/tri.db" --classes 0,1,7 --train 20 --val 10 --test 0
check "make a 2-class store of 28x28x2 maps" "$MK" "$T/big.db" --classes 0,6 --train 20 --val 10 --test 0 --pool 1
check "make a store of 15 Coats" "$MK" "$T/few.db" --classes 2,4 --train 15 --val 10 --test 0
check "make a store of 45 Pullovers" "$MK" "$T/many.db" --classes 2 --train 45 --val 10 --test 0
check "merge them: an imbalanced store (45 vs 15)" "$FC" merge -o "$T/imb.db" "$T/few.db" "$T/many.db"
check "make a 3-class store of validation images only" "$MK" "$T/valonly.db" --classes 2,4,7 --train 0 --val 5 --test 0
check "merge: a store whose Sneakers have no training image" "$FC" merge -o "$T/absent.db" "$T/bin.db" "$T/valonly.db"
for s in bin tri big imb absent; do check "export $s" "$FC" export "$T/$s.db" "$T/$s.h5"; done

# fit NAME STORE HEAD-OPTIONS...: featcache train with one thread, then the reference on the
# store's export; EXPECT=--expect-clipped|--expect-l2-summation makes the reference also
# check that the config still exercises the clip or the penalty's summation
fit() {
    local name=$1 store=$2; shift 2
    "$FC" train "$T/$store.db" -o "$T/$name.h5" --history "$T/$name.csv" --threads 1 \
        --checkpoint-every off -q "$@" >"$T/.out" 2>"$T/.err"
    local rc=$?
    if [ "$rc" -ne 0 ]; then fail "$name: featcache train $* (exit $rc)"; sed 's/^/    /' "$T/.err" | tail -5; return; fi
    "$PY" "$REF" check "$name" "$T/$store.h5" "$T/$name.csv" "$T/$name.h5" ${EXPECT:-} "$@" || _fails=$((_fails + 1))
}

fit rmsprop_flatten_relu_dropout bin --hidden 32 --dropout 0.5 --lr 1e-3 --epochs 4 --batch 16
fit adam_gap_tanh_dropout_softmax tri --pool gap --hidden 16 --activation tanh --dropout 0.3 \
    --optimizer adam --lr 1e-2 --epochs 4 --batch 8
fit nesterov_gmp_2sigmoid_softmax tri --pool gmp --hidden 16,8 --activation sigmoid --dropout 0.2 \
    --optimizer sgd --lr 0.5 --momentum 0.9 --nesterov --epochs 4 --batch 10
fit momentum_linear_classweight imb --hidden 8 --activation linear --dropout 0 --optimizer sgd \
    --lr 0.05 --momentum 0.9 --class-weight balanced --epochs 4 --batch 12
# balanced weights count the classes the training split has (sklearn's compute_class_weight of
# np.unique(y)): 2 here, not the store's 3 (the weights had been 2/3 of Keras's)
fit classweight_absent_class absent --hidden 8 --dropout 0 --optimizer sgd --lr 0.05 \
    --class-weight balanced --epochs 3 --batch 10
# a 1568x256 kernel: its penalty summed one float32 term at a time is 1e-4 low
EXPECT=--expect-l2-summation fit l2_large_kernel big --hidden 256 --dropout 0.5 --lr 1e-4 --l2 1e-2 --rho 0.8 --epochs 3 --batch 10
# lr 2 and 3 on linear heads: most rows saturate, where Keras's clip passes no gradient
EXPECT=--expect-clipped fit saturated_sigmoid_sgd bin --hidden 0 --optimizer sgd --lr 2 --epochs 6 --batch 10
EXPECT=--expect-clipped fit saturated_softmax_sgd tri --hidden 0 --optimizer sgd --lr 3 --epochs 6 --batch 10
# val_loss .656 .588 .672 .547 .607 .514 .653 .535: stops after epoch 8, epoch 6's weights
fit patience_stops bin --hidden 16 --dropout 0 --lr 3e-3 --epochs 12 --patience 2 --batch 16 --seed 3
# val_loss .645 .598 .588 .554 .579: no stop, epoch 4's weights all the same (README)
fit patience_restores_at_end bin --hidden 16 --dropout 0 --lr 3e-3 --epochs 5 --patience 2 --batch 16
finish
