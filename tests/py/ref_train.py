#!/usr/bin/python3
"""ref_train.py - independent numpy/h5py checks of featcache's training (tests only).

  ref_train.py steps DIR      numpy forward, Keras loss and 2 optimizer steps vs the
                              dumps of tests/tools/train_ref_dump (rtol 1e-5)
  ref_train.py predict HEAD.h5 EXPECT.txt PRED.csv
                              EXPECT.txt: "sha256 features..." per image (numpy backbone,
                              tests/py/extract_fixtures.py expect); PRED.csv from
                              `featcache predict --top K`: every row's probability must
                              equal h5py+numpy's for that image and class (1e-4)
  ref_train.py head HEAD.h5 FEATURES.f32 PROBS.f32
                              read HEAD.h5 with h5py (model_config + model_weights, as
                              Keras would) and compare a numpy forward with featcache's
                              probabilities
Prints "ok - ..." / "FAIL - ..." lines; exits 1 on any failure.
"""
import json
import sys

import h5py
import numpy as np

EPS = 1e-7
fails = 0


def report(ok, what):
    global fails
    print(("ok - " if ok else "FAIL - ") + what)
    if not ok:
        fails += 1


def act(z, name):
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def dact(y, name):
    if name == "relu":
        return (y > 0).astype(y.dtype)
    if name == "tanh":
        return 1 - y * y
    if name == "sigmoid":
        return y * (1 - y)
    return np.ones_like(y)


def pool(x, kind, n, h, w, c):
    x = x.reshape(n, h, w, c)
    if kind == "gap":
        return x.mean(axis=(1, 2))
    if kind == "gmp":
        return x.max(axis=(1, 2))
    return x.reshape(n, -1)


def loss_and_grad(W, B, X, y, k, hact, sw, l2):
    """Keras: mean over the batch of sample-weighted clipped cross-entropy + l2*sum(W^2)."""
    acts = [X]
    for l in range(len(W)):
        z = acts[-1] @ W[l] + B[l]
        acts.append(act(z, hact) if l + 1 < len(W) else z)
    z = acts[-1]
    n = X.shape[0]
    if k == 2:
        p = 1 / (1 + np.exp(-z[:, 0]))
        lo, hi = np.float32(EPS), np.float32(1) - np.float32(EPS)  # Keras clips in float32
        pc = np.clip(p, lo, hi)
        t = y.astype(np.float64)
        per = -(t * np.log(pc) + (1 - t) * np.log(1 - pc))
        p32 = p.astype(np.float32)  # where the clip binds, Keras passes no gradient
        dz = (sw * np.where((p32 < lo) | (p32 > hi), 0.0, p - t) / n)[:, None]
        correct = ((p > 0.5) == (y == 1)).sum()
    else:
        p = act(z, "softmax")
        lo, hi = np.float32(EPS), np.float32(1) - np.float32(EPS)
        py = p[np.arange(n), y]
        per = -np.log(np.clip(py, lo, hi))
        onehot = np.eye(k)[y]
        keep = ~((py.astype(np.float32) < lo) | (py.astype(np.float32) > hi))
        dz = (sw * keep)[:, None] * (p - onehot) / n
        correct = (p.argmax(axis=1) == y).sum()
    loss = (sw * per).mean() + l2 * sum((w * w).sum() for w in W)
    gW, gB = [None] * len(W), [None] * len(W)
    for l in range(len(W) - 1, -1, -1):
        gW[l] = acts[l].T @ dz + 2 * l2 * W[l]
        gB[l] = dz.sum(axis=0)
        if l > 0:
            dz = (dz @ W[l].T) * dact(acts[l], hact)
    return loss, correct / n, gW, gB


class Optim:
    """Keras 2.2.4 / tf.keras OptimizerV2 formulas with tf.keras defaults."""

    def __init__(self, case):
        self.kind, self.lr = case["optimizer"], case["lr"]
        self.mom, self.nest = case["momentum"], case["nesterov"]
        self.t, self.s1, self.s2 = 0, {}, {}

    def step(self, params, grads):
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            s1 = self.s1.setdefault(i, np.zeros_like(p))
            s2 = self.s2.setdefault(i, np.zeros_like(p))
            if self.kind == "rmsprop":
                s1[...] = 0.9 * s1 + 0.1 * g * g
                p -= self.lr * g / (np.sqrt(s1) + EPS)
            elif self.kind == "adam":
                lr_t = self.lr * np.sqrt(1 - 0.999 ** self.t) / (1 - 0.9 ** self.t)
                s1[...] = 0.9 * s1 + 0.1 * g
                s2[...] = 0.999 * s2 + 0.001 * g * g
                p -= lr_t * s1 / (np.sqrt(s2) + EPS)
            elif self.mom:
                s1[...] = self.mom * s1 - self.lr * g
                p += (self.mom * s1 - self.lr * g) if self.nest else s1
            else:
                p -= self.lr * g


def relerr(a, b):
    return float(np.max(np.abs(a - b)) / max(1e-6, np.max(np.abs(b))))


def steps(d):
    meta = json.load(open(f"{d}/meta.json"))
    n, h, w, c = meta["n"], meta["h"], meta["w"], meta["c"]
    xraw = np.fromfile(f"{d}/x.f32", dtype=np.float32).astype(np.float64)
    for case in meta["cases"]:
        name, dims, k = case["name"], case["dims"], case["k"]
        X = pool(xraw, case["pool"], n, h, w, c)
        y = np.fromfile(f"{d}/{name}_y.i32", dtype=np.int32)
        load = lambda tag, kind, l, shape: np.fromfile(f"{d}/{name}_{tag}_{kind}{l}.f32", dtype=np.float32) \
            .astype(np.float64).reshape(shape)
        L = len(dims) - 1
        W = [load("init", "w", l, (dims[l], dims[l + 1])) for l in range(L)]
        B = [load("init", "b", l, (dims[l + 1],)) for l in range(L)]
        sw = np.ones(n)
        if case["class_weight"]:
            cnt = np.bincount(y, minlength=k)
            sw = (n / (k * cnt))[y]
        opt = Optim(case)
        losses = []
        for s in range(case["steps"]):
            loss, acc, gW, gB = loss_and_grad(W, B, X, y, k, case["act"], sw, case["l2"])
            losses.append(loss)
            opt.step(W + B, gW + gB)
        vloss, _, _, _ = loss_and_grad(W, B, X, y, k, case["act"], np.ones(n), case["l2"])
        for s in range(case["steps"]):
            report(abs(losses[s] - case["loss"][s]) <= 1e-5 * max(1, abs(losses[s])),
                   f"{name}: training loss step {s + 1}: featcache {case['loss'][s]:.7g} numpy {losses[s]:.7g}")
        report(abs(vloss - case["val_loss"][-1]) <= 1e-5 * max(1, abs(vloss)),
               f"{name}: validation loss after 2 steps {case['val_loss'][-1]:.7g} vs {vloss:.7g}")
        for l in range(L):
            Wf = load("final", "w", l, (dims[l], dims[l + 1]))
            Bf = load("final", "b", l, (dims[l + 1],))
            moved = np.max(np.abs(W[l] - load("init", "w", l, W[l].shape)))
            e = max(relerr(Wf, W[l]), relerr(Bf, B[l]))
            report(e <= 1e-5 and moved > 0, f"{name}: {case['optimizer']} weights of layer {l} after 2 steps "
                   f"(rel err {e:.2e}, moved {moved:.2e})")


def h5str(v):
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def head_input(layers, x, n):
    """The head's first layer on raw features x (n rows): Flatten/pooling of its 4-D
    batch_input_shape, or, on vector features, nothing: the first Dense takes (n, C), as
    Keras feeds it the output of a GlobalAveragePooling2D/Dense/Flatten cut. Returns the
    activations and the layers still to apply."""
    shape = layers[0]["config"]["batch_input_shape"]
    if layers[0]["class_name"] == "Dense":
        assert len(shape) == 2, f"a head starting with Dense takes [None, C], not {shape}"
        return x.reshape(n, shape[1]), layers
    hh, ww, cc = shape[1:]
    kinds = {"Flatten": "flatten", "GlobalAveragePooling2D": "gap", "GlobalMaxPooling2D": "gmp"}
    return pool(x, kinds[layers[0]["class_name"]], n, hh, ww, cc), layers[1:]


def head_forward(path, x):
    """h5py reads HEAD.h5 as Keras would; x: (n, h*w*c) raw features -> probabilities."""
    f = h5py.File(path, "r")
    layers = json.loads(h5str(f.attrs["model_config"]))["config"]["layers"]
    a, layers = head_input(layers, x, x.shape[0])
    for ly in layers:
        if ly["class_name"] == "Dense":
            g = f["model_weights"][ly["config"]["name"]]
            wn = [h5str(s) for s in g.attrs["weight_names"]]
            a = act(a @ np.array(g[wn[0]], np.float64) + np.array(g[wn[1]], np.float64), ly["config"]["activation"])
    return a, json.loads(h5str(f.attrs["class_names"]))


def predict(path, expect, csv_path):
    import csv
    import hashlib
    feats = {}
    for line in open(expect):
        parts = line.split()
        if parts:
            feats[parts[0]] = np.array([float(v) for v in parts[1:]])
    rows = list(csv.reader(open(csv_path)))
    report(rows[0] == ["path", "class", "probability"], "predict CSV header")
    worst, seen = 0.0, 0
    for p, cls, prob in rows[1:]:
        sha = hashlib.sha256(open(p, "rb").read()).hexdigest()
        if sha not in feats:
            continue
        probs, classes = head_forward(path, feats[sha][None, :])
        pr = probs[0]
        full = [1 - pr[0], pr[0]] if pr.size == 1 else list(pr)
        worst = max(worst, abs(full[classes.index(cls)] - float(prob)))
        seen += 1
    report(seen > 0 and worst < 1e-4, f"predict rows == h5py+numpy backbone+head ({seen} rows, max err {worst:.2e})")


def head(path, feats, probs_path):
    f = h5py.File(path, "r")
    report(h5str(f.attrs["keras_version"]) == "2.2.4" and h5str(f.attrs["backend"]) == "tensorflow",
           f"{path}: keras_version/backend attributes")
    cfg = json.loads(h5str(f.attrs["model_config"]))
    report(cfg["class_name"] == "Sequential", "model_config is a Sequential")
    layers = cfg["config"]["layers"]
    x = np.fromfile(feats, dtype=np.float32).astype(np.float64)
    n = x.size // int(np.prod(layers[0]["config"]["batch_input_shape"][1:]))
    mw = f["model_weights"]
    names = [h5str(s) for s in mw.attrs["layer_names"]]
    report(names == [l["config"]["name"] for l in layers], "layer_names match model_config")
    a, todo = head_input(layers, x, n)
    for ly in todo:
        if ly["class_name"] != "Dense":
            continue
        g = mw[ly["config"]["name"]]
        wn = [h5str(s) for s in g.attrs["weight_names"]]
        kern, bias = np.array(g[wn[0]], dtype=np.float64), np.array(g[wn[1]], dtype=np.float64)
        a = act(a @ kern + bias, ly["config"]["activation"])
    got = np.fromfile(probs_path, dtype=np.float32).reshape(a.shape)
    e = float(np.max(np.abs(got - a)))
    report(e < 1e-5, f"{path}: h5py+numpy predictions equal featcache's (max abs err {e:.2e})")
    classes = json.loads(h5str(f.attrs["class_names"]))
    report(len(classes) == (2 if a.shape[1] == 1 else a.shape[1]), "class_names has one name per class")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "steps":
        steps(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "predict":
        predict(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "head":
        head(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__)
        sys.exit(2)
    sys.exit(1 if fails else 0)
