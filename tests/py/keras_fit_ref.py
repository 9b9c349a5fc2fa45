#!/usr/bin/python3
"""keras_fit_ref.py - a float32 numpy transcription of Keras 2.2.4's Model.fit for
featcache's heads, to check `featcache train` against (tests only; no TensorFlow, no torch).

  keras_fit_ref.py check NAME EXPORT.h5 HISTORY.csv HEAD.h5 [train options]
        runs the reference on EXPORT.h5 (`featcache export` of the store that was trained)
        with the same head options given to `featcache train`, and compares every epoch's
        loss, acc, val_loss, val_acc with HISTORY.csv (--history) and the final weights with
        HEAD.h5 (read with h5py as Keras reads it). Prints "ok - NAME: ..." / "FAIL - NAME: ..."
        lines; exit 1 on a failure.
  keras_fit_ref.py run EXPORT.h5 [train options]
        prints the reference's history as CSV (epoch,loss,acc,val_loss,val_acc).

Train options, with featcache's defaults: --pool flatten|gap|gmp, --hidden 256[,N..]|0,
--activation relu|tanh|sigmoid|linear, --dropout 0.5, --optimizer rmsprop|adam|sgd,
--lr (2e-5 rmsprop, 1e-3 adam, 1e-2 sgd), --momentum 0, --nesterov, --rho 0.9, --epochs 30,
--batch 20, --seed 1, --patience 0, --l2 0, --class-weight none|balanced.

The model is Keras's Sequential [Flatten | GlobalAveragePooling2D | GlobalMaxPooling2D]
-> [Dense(h, act, kernel_regularizer=l2(L)) -> Dropout(r)]* -> Dense(1, sigmoid) with
binary_crossentropy (2 classes) or Dense(K, softmax) with categorical_crossentropy, metric
'acc', compiled with RMSprop/Adam/SGD and fit(x, y, batch_size, epochs, shuffle=True,
validation_data=(xv, yv), class_weight, callbacks=[EarlyStopping('val_loss', patience,
restore_best_weights=True)]). Every formula below is written from Keras 2.2.4's source
(and TensorFlow 1.x's gradients of the ops it builds), not from featcache's C code:
- backend/tensorflow_backend.py binary_crossentropy: p clipped to [eps, 1 - eps] with eps a
  float32 tensor (so 1 - eps = 1 - 1.19e-7), log(p / (1 - p)), then
  sigmoid_cross_entropy_with_logits = relu(o) - o*t + log1p(exp(-|o|));
  categorical_crossentropy: p / sum(p), clipped, -sum(t log p). tf.clip_by_value passes
  no gradient where the clip binds (maximum/minimum: the gradient goes to the tensor only
  where p >= lo, p <= hi);
- losses.py: binary_crossentropy is K.mean(..., axis=-1);
- engine/training_utils.py weighted_masked_objective: mean(w * l) / mean(w != 0), with
  w = class_weight[y] (ones without it; validation is unweighted);
- engine/training.py: total_loss = loss + sum of the layers' regularization losses
  (regularizers.py L2: K.sum(l2 * K.square(W)), a float32 reduction) in loss and val_loss;
  metrics (binary_accuracy: equal(y, round(p)); categorical_accuracy: argmax of the
  softmax output) unweighted;
- engine/training_arrays.py fit_loop / test_loop and callbacks.py BaseLogger: batches
  [i*B, (i+1)*B) of the shuffled order, epoch value = sum(v * batch_size) / n; validation
  in batches of the same size;
- optimizers.py RMSprop (rho, epsilon = K.epsilon()), Adam (bias-corrected lr_t), SGD
  (momentum, nesterov), decay 0, all variables float32;
- layers/core.py Dropout -> K.dropout -> tf.nn.dropout: x / keep_prob * keep_bit;
- initializers.py glorot_uniform: limit sqrt(6 / (fan_in + fan_out)), biases zero;
- callbacks.py EarlyStopping: improvement is current < best (min_delta 0), stop once
  wait >= patience, the history ends at the stopped epoch. One documented featcache rule
  replaces Keras 2.2.4's: the lowest-val_loss epoch's weights are restored at the end
  also when training did not stop early (README, --patience); Keras 2.2.4 restores them
  only on an early stop.

The only part taken from featcache is the transcription of its random draws
(train/rng.h, and how train/head.c and train/trainer_group.c key them): the glorot uniform
numbers, each epoch's shuffle order and the dropout keep bits. Keras draws them from
TensorFlow's and numpy's generators; which numbers are drawn is featcache's own choice, so
the reference uses the same ones to be comparable step by step. The training rows are taken
in the export's order (featcache exports a store in the order it trains on it).
"""
import csv
import json
import sys

import h5py
import numpy as np

f32 = np.float32
EPS = f32(1e-7)            # _to_tensor(epsilon(), float32)
ONE_M_EPS = f32(1) - EPS   # 1 - _epsilon, computed in float32


# --- featcache's random draws (transcribed from train/rng.h; see the header) -------------
M64 = (1 << 64) - 1
RNG_INIT, RNG_DROPOUT, RNG_SHUFFLE = 1, 2, 3
GOLDEN = 0x9e3779b97f4a7c15


def mix64(z):
    z = (z + GOLDEN) & M64
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def mix64_vec(z):
    with np.errstate(over="ignore"):
        z = z + np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xbf58476d1ce4e5b9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94d049bb133111eb)
        return z ^ (z >> np.uint64(31))


def rng_key(seed, stream, a, b):
    return mix64(mix64(mix64(seed ^ ((stream << 56) & M64)) ^ a) ^ ((b * 0x2545f4914f6cdd1d) & M64))


def rng_uniform(key, n):
    """draws 0..n-1 of stream `key`: float32 in [0, 1) with 24 random bits"""
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(key) + i * np.uint64(GOLDEN)
    return (mix64_vec(z) >> np.uint64(40)).astype(f32) * f32(1.0 / 16777216.0)


def draw_glorot(seed, layer, fan_in, fan_out):
    """glorot_uniform(-limit, limit) from featcache's draws: (2u - 1) * limit, row-major"""
    limit = f32(np.sqrt(6.0 / (fan_in + fan_out)))
    u = rng_uniform(rng_key(seed, RNG_INIT, layer, 0), fan_in * fan_out)
    return ((f32(2) * u - f32(1)) * limit).astype(f32).reshape(fan_in, fan_out)


def draw_shuffle(n, seed, epoch):
    """epoch's order (0-based epoch): Fisher-Yates with featcache's draws"""
    key = rng_key(seed, RNG_SHUFFLE, epoch, 0)
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        r = mix64((key + i * GOLDEN) & M64)
        j = ((r >> 32) * (i + 1)) >> 32
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


def draw_keep(seed, layer, epoch, step, rows, units, rate):
    """tf.nn.dropout's keep bits for hidden layer `layer`, batch `step` of `epoch`"""
    u = rng_uniform(rng_key(seed, RNG_DROPOUT, layer, ((epoch << 32) | step) & M64), rows * units)
    return (u >= f32(rate)).reshape(rows, units).astype(f32)


# --- options ------------------------------------------------------------------------------
DEFAULT_LR = {"rmsprop": 2e-5, "adam": 1e-3, "sgd": 1e-2}


def parse_options(argv):
    o = {"pool": "flatten", "hidden": "256", "activation": "relu", "dropout": 0.5,
         "optimizer": "rmsprop", "lr": None, "momentum": 0.0, "nesterov": False, "rho": 0.9,
         "epochs": 30, "batch": 20, "seed": 1, "patience": 0, "l2": 0.0, "class-weight": "none"}
    conv = {"dropout": float, "lr": float, "momentum": float, "rho": float, "epochs": int,
            "batch": int, "seed": int, "patience": int, "l2": float}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--") or a[2:] not in o:
            sys.exit(f"keras_fit_ref.py: unknown option {a}")
        k = a[2:]
        if k == "nesterov":
            o[k] = True
            i += 1
            continue
        o[k] = conv.get(k, str)(argv[i + 1])
        i += 2
    if o["lr"] is None:
        o["lr"] = DEFAULT_LR[o["optimizer"]]
    o["hidden"] = [int(h) for h in o["hidden"].split(",") if int(h) > 0]
    return o


# --- data ---------------------------------------------------------------------------------
def load(path, pool):
    with h5py.File(path, "r") as f:
        X = f["features"][:].astype(f32)  # (n, h, w, c), channels_last
        y = f["labels"][:].astype(np.int64)
        split = np.array([s.decode() if isinstance(s, bytes) else s for s in f["split"][:]])
        K = len(f["classes"])
    if pool == "gap":    # GlobalAveragePooling2D: K.mean(x, axis=[1, 2])
        X = X.mean(axis=(1, 2), dtype=f32)
    elif pool == "gmp":  # GlobalMaxPooling2D: K.max(x, axis=[1, 2])
        X = X.max(axis=(1, 2))
    else:                # Flatten: row-major h, w, c
        X = X.reshape(X.shape[0], -1)
    tr, va = split == "train", split == "validation"
    return X[tr], y[tr], X[va], y[va], K


# --- the model ----------------------------------------------------------------------------
def activation(z, name):
    with np.errstate(over="ignore"):
        if name == "relu":
            return np.maximum(z, f32(0))
        if name == "tanh":
            return np.tanh(z)
        if name == "sigmoid":
            return f32(1) / (f32(1) + np.exp(-z))
    return z


def activation_grad(g, z, y, name):
    """TF's ReluGrad (z > 0), TanhGrad g(1 - y^2), SigmoidGrad g y (1 - y); linear: g"""
    if name == "relu":
        return g * (z > 0).astype(f32)
    if name == "tanh":
        return g * (f32(1) - y * y)
    if name == "sigmoid":
        return g * y * (f32(1) - y)
    return g


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Model:
    def __init__(self, o, n_in, K):
        self.o, self.K = o, K
        self.dims = [n_in] + o["hidden"] + [1 if K == 2 else K]
        self.W = [draw_glorot(o["seed"], l, self.dims[l], self.dims[l + 1]) for l in range(len(self.dims) - 1)]
        self.b = [np.zeros(self.dims[l + 1], f32) for l in range(len(self.dims) - 1)]
        self.l2 = f32(o["l2"])
        self.keep = f32(1.0 - o["dropout"])  # tf.nn.dropout(x, keep_prob=1 - rate)
        self.clipped_rows = 0                 # training rows where the clip bound (no gradient)

    def params(self):
        return self.W + self.b

    def penalty(self):
        """regularizers.L2: K.sum(l2 * K.square(W)) per kernel, a float32 tree reduction"""
        if self.o["l2"] == 0:
            return f32(0)
        pen = f32(0)
        for W in self.W:
            pen = f32(pen + np.sum(self.l2 * np.square(W), dtype=f32))
        return pen

    def forward(self, x, masks):
        """masks: one keep-bit array per hidden layer (training with dropout) or None"""
        cache = []
        a = x
        for l in range(len(self.W)):
            z = a @ self.W[l] + self.b[l]
            if l + 1 == len(self.W):
                cache.append((a, z, None, None))
                break
            y = activation(z, self.o["activation"])
            m = masks[l] if masks is not None else None
            cache.append((a, z, y, m))
            a = y / self.keep * m if m is not None else y
        if self.K == 2:
            with np.errstate(over="ignore"):
                p = f32(1) / (f32(1) + np.exp(-z))   # K.sigmoid
        else:
            p = softmax(z)                         # K.softmax
        return p, cache

    def loss(self, p, y, w, training=False):
        """per-sample float32 losses, their weighted mean and its gradient wrt p"""
        B = len(y)
        # weighted_masked_objective: mean(l * w) / mean(w != 0)
        nz = np.mean((w != 0).astype(f32), dtype=f32)
        dl = (w / nz / f32(B)).astype(f32)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if self.K == 2:
                t = y.astype(f32).reshape(-1, 1)
                o = np.clip(p, EPS, ONE_M_EPS)
                x = o / (f32(1) - o)
                lg = np.log(x)
                e = np.exp(-np.abs(lg))
                per = np.maximum(lg, f32(0)) - lg * t + np.log1p(e)
                per = per.mean(axis=-1, dtype=f32)
                # d/dlg: relu' - t + d log1p(exp(-|lg|)) = (lg > 0) - t - sign(lg) e / (1 + e)
                g_lg = dl.reshape(-1, 1) * ((lg > 0).astype(f32) - t - np.sign(lg) * e / (f32(1) + e))
                g_x = g_lg / x                                   # log
                g_o = g_x / (f32(1) - o) + g_x * (o / (f32(1) - o) / (f32(1) - o))   # o / (1 - o)
                passes = (p >= EPS) & (p <= ONE_M_EPS)
                g_p = g_o * passes.astype(f32)                                      # clip
            else:
                t = np.eye(self.K, dtype=f32)[y]
                S = p.sum(axis=-1, keepdims=True)
                q = p / S
                o = np.clip(q, EPS, ONE_M_EPS)
                per = -(t * np.log(o)).sum(axis=-1)
                g_o = -t / o * dl.reshape(-1, 1)
                passes = ((q >= EPS) & (q <= ONE_M_EPS) | (t == 0)).all(axis=-1)   # the true class
                g_q = g_o * ((q >= EPS) & (q <= ONE_M_EPS)).astype(f32)
                g_p = g_q / S - (g_q * p).sum(axis=-1, keepdims=True) / S / S      # p / sum(p)
        if training:
            self.clipped_rows += int((~passes).sum())
        return per.astype(f32), (w * per / nz).mean(dtype=f32), g_p

    def correct(self, p, y):
        if self.K == 2:   # binary_accuracy: equal(y, round(p)), round half to even
            return int((np.round(p[:, 0]) == y.astype(f32)).sum())
        return int((np.argmax(p, axis=-1) == y).sum())   # categorical_accuracy

    def backward(self, p, cache, g_p):
        if self.K == 2:   # SigmoidGrad
            g = g_p * p * (f32(1) - p)
        else:             # SoftmaxGrad: (g - sum(g p)) p
            g = (g_p - (g_p * p).sum(axis=-1, keepdims=True)) * p
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for l in range(len(self.W) - 1, -1, -1):
            a, z, y, m = cache[l]
            if l + 1 < len(self.W):   # from the next layer's input back through dropout, act
                if m is not None:
                    g = g * m / self.keep
                g = activation_grad(g, z, y, self.o["activation"])
            gW[l] = a.T @ g
            gb[l] = g.sum(axis=0)
            if self.o["l2"] != 0:     # d sum(l2 W^2) = l2 * (2 W), summed with the loss's
                gW[l] = gW[l] + self.l2 * (f32(2) * self.W[l])
            if l > 0:
                g = g @ self.W[l].T
        return gW + gb


class Optimizer:
    """optimizers.py (Keras 2.2.4), decay 0; lr, rho, momentum, betas are float32 variables"""

    def __init__(self, o, params):
        self.kind, self.nesterov = o["optimizer"], o["nesterov"]
        self.lr, self.rho, self.mom = f32(o["lr"]), f32(o["rho"]), f32(o["momentum"])
        self.b1, self.b2 = f32(0.9), f32(0.999)
        self.iterations = 0
        self.s1 = [np.zeros_like(p) for p in params]
        self.s2 = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        if self.kind == "adam":
            t = f32(self.iterations + 1)
            lr_t = self.lr * (np.sqrt(f32(1) - np.power(self.b2, t)) / (f32(1) - np.power(self.b1, t)))
        for i, (p, g) in enumerate(zip(params, grads)):
            if self.kind == "rmsprop":
                a = self.rho * self.s1[i] + (f32(1) - self.rho) * np.square(g)
                self.s1[i] = a
                p[...] = p - self.lr * g / (np.sqrt(a) + EPS)
            elif self.kind == "adam":
                m = self.b1 * self.s1[i] + (f32(1) - self.b1) * g
                v = self.b2 * self.s2[i] + (f32(1) - self.b2) * np.square(g)
                self.s1[i], self.s2[i] = m, v
                p[...] = p - lr_t * m / (np.sqrt(v) + EPS)
            else:
                v = self.mom * self.s1[i] - self.lr * g
                self.s1[i] = v
                p[...] = p + self.mom * v - self.lr * g if self.nesterov else p + v
        self.iterations += 1


def fit(path, o):
    Xtr, ytr, Xva, yva, K = load(path, o["pool"])
    model = Model(o, Xtr.shape[1], K)
    params = model.params()
    opt = Optimizer(o, params)
    n, B = len(ytr), o["batch"]
    cw = np.ones(K, f32)
    if o["class-weight"] == "balanced":
        # class_weight=dict(enumerate(sklearn's compute_class_weight('balanced', classes=np.unique(y),
        # y=y))): n / (classes in y * n_c); a class without training images is not in y
        cnt = np.bincount(ytr, minlength=K)
        cw = np.array([n / (np.count_nonzero(cnt) * c) if c else 0.0 for c in cnt], f32)
    hist, best, wait, best_w, stopped = [], np.inf, 0, None, None
    for e in range(o["epochs"]):
        order = draw_shuffle(n, o["seed"], e)
        tot_loss, tot_correct = f32(0), 0
        for s, i0 in enumerate(range(0, n, B)):
            ii = order[i0:i0 + B]
            masks = None
            if o["dropout"] > 0 and model.dims[1:-1]:
                masks = [draw_keep(o["seed"], l, e, s, len(ii), model.dims[l + 1], o["dropout"])
                         for l in range(len(model.dims) - 2)]
            p, cache = model.forward(Xtr[ii], masks)
            _, loss, g_p = model.loss(p, ytr[ii], cw[ytr[ii]], training=True)
            loss = f32(loss + model.penalty())
            tot_correct += model.correct(p, ytr[ii])
            grads = model.backward(p, cache, g_p)
            opt.step(params, grads)
            tot_loss = f32(tot_loss + loss * f32(len(ii)))   # BaseLogger: totals += v * size
        vl, vc = 0.0, 0
        pen = model.penalty()   # the weights after the epoch's last step
        for i0 in range(0, len(yva), B):   # test_loop, unweighted, with the regularization
            p, _ = model.forward(Xva[i0:i0 + B], None)
            _, l_, _ = model.loss(p, yva[i0:i0 + B], np.ones(len(yva[i0:i0 + B]), f32))
            vl += float(f32(l_ + pen)) * len(yva[i0:i0 + B])
            vc += model.correct(p, yva[i0:i0 + B])
        vl /= max(len(yva), 1)
        hist.append((e + 1, float(tot_loss / f32(n)), tot_correct / n, vl, vc / max(len(yva), 1)))
        if o["patience"] > 0:   # EarlyStopping(monitor='val_loss', restore_best_weights=True)
            if vl < best:
                best, wait = vl, 0
                best_w = [q.copy() for q in params]
            else:
                wait += 1
                if wait >= o["patience"]:
                    stopped = e + 1
                    break
    if best_w is not None:   # Keras: only on the stop; featcache: also at --epochs (README)
        for q, w in zip(params, best_w):
            q[...] = w
    return hist, model, stopped, (n, len(yva))


# --- comparison ---------------------------------------------------------------------------
def read_head(path):
    """the Dense layers' [kernels..., biases...] in model order, as Keras's load_weights reads"""
    with h5py.File(path, "r") as f:
        g = f["model_weights"]
        Ws, bs = [], []
        for name in g.attrs["layer_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            wn = [w.decode() if isinstance(w, bytes) else w for w in g[name].attrs["weight_names"]]
            if not wn:
                continue
            arrs = {w.split("/")[-1]: g[name][w][:] for w in wn}
            Ws.append(arrs["kernel:0"])
            bs.append(arrs["bias:0"])
    return Ws + bs


def check(argv):
    name, export, hist_csv, head = argv[:4]
    opts = argv[4:]
    expect = [a for a in opts if a in ("--expect-clipped", "--expect-l2-summation")]
    o = parse_options([a for a in opts if a not in expect])
    ref, model, stopped, (n_tr, n_va) = fit(export, o)
    fc = [r for r in csv.DictReader(open(hist_csv))]
    fails = []
    if len(fc) != len(ref):
        fails.append(f"{len(fc)} epochs in the history, the reference ran {len(ref)} (stopped {stopped})")
    worst = {"loss": 0.0, "val_loss": 0.0}
    for r, row in zip(ref, fc):
        e = r[0]
        for col, v in (("loss", r[1]), ("val_loss", r[3])):
            got = float(row[col])
            rel = abs(got - v) / max(abs(v), 1e-3)
            worst[col] = max(worst[col], rel)
            if not rel <= 1e-5:
                fails.append(f"epoch {e} {col} {got:.9g}, reference {v:.9g} (rel {rel:.2g})")
        for col, v, cnt in (("acc", r[2], n_tr), ("val_acc", r[4], n_va)):
            got = float(row[col])
            if not abs(got - v) * cnt <= 1.0 + 1e-6:
                fails.append(f"epoch {e} {col} {got:.9g}, reference {v:.9g} ({abs(got - v) * cnt:.1f} samples)")
    # Final weights: float32 rounding, 1e-5 of each array's largest value. RMSprop and Adam
    # divide a step by sqrt(v) + 1e-7, so where a weight's gradient nearly cancels (|g| ~ 1e-7,
    # e.g. the data gradient against the L2 term) the rounding of g (1e-6 of a typical |g|)
    # becomes up to ~1% of that step: allow 2% of lr per step there.
    steps = len(ref) * -(-n_tr // o["batch"])
    slack = 0.02 * o["lr"] * steps if o["optimizer"] in ("rmsprop", "adam") else 0.0
    fw, rw = read_head(head), model.params()
    wdiff = 0.0
    if [w.shape for w in fw] != [w.shape for w in rw]:
        fails.append(f"HEAD.h5 weight shapes {[w.shape for w in fw]}, reference {[w.shape for w in rw]}")
    else:
        for i, (a, b) in enumerate(zip(fw, rw)):
            scale = max(float(np.abs(b).max()), 1e-2)
            d = float(np.abs(a.astype(np.float64) - b).max())
            wdiff = max(wdiff, d / scale)
            if not d <= 1e-5 * scale + slack:
                kind = "kernel" if i < len(fw) // 2 else "bias"
                fails.append(f"final {kind} {i % (len(fw) // 2)}: max |featcache - reference| {d:.3g} "
                             f"(array scale {scale:.3g})")
    notes = ""
    if "--expect-clipped" in expect:   # the config must keep covering the clip rule
        if model.clipped_rows == 0:
            fails.append("no training row saturated (the clip never bound): this config no longer tests it")
        notes += f", {model.clipped_rows} training rows clipped"
    if "--expect-l2-summation" in expect:   # ... and the penalty's summation
        seq = sum(float(np.cumsum(np.square(W), dtype=f32)[-1]) for W in model.W) * o["l2"]
        off = abs(seq - float(model.penalty())) / ref[-1][3]
        if not off > 3e-5:
            fails.append(f"a float32 running sum of the L2 penalty is off by only {off:.2g} of val_loss: "
                         "this config no longer tests the summation")
        notes += f", a float32 running L2 sum would be off by {off:.1g}"
    what = (f"{len(ref)} epochs (loss rel {worst['loss']:.1g}, val_loss rel {worst['val_loss']:.1g}), "
            f"final weights (rel {wdiff:.1g}){notes}")
    if fails:
        print(f"FAIL - {name}: featcache train != Keras 2.2.4 reference{notes}")
        for m in fails[:12]:
            print("    " + m)
        print("    featcache:  " + " | ".join(f"{r['loss']},{r['acc']},{r['val_loss']},{r['val_acc']}" for r in fc))
        print("    reference:  " + " | ".join("%.9g,%.4g,%.9g,%.4g" % r[1:] for r in ref))
        return 1
    print(f"ok - {name}: featcache train == Keras 2.2.4 reference: {what}")
    return 0


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2:]))
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        hist, _, stopped, _ = fit(sys.argv[2], parse_options(sys.argv[3:]))
        print("epoch,loss,acc,val_loss,val_acc")
        for r in hist:
            print("%d,%.9g,%.9g,%.9g,%.9g" % r)
        print(f"# stopped early after epoch {stopped}" if stopped else "# no early stop")
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
