#!/usr/bin/python3
"""train_peer.py - the seed-001 head trained by a numpy (and PyTorch, if installed) script,
the way a user would without featcache. Same data as bench_train (--dump DIR).

  train_peer.py numpy DIR [--epochs 30] [--configs 1|12]
  train_peer.py torch DIR [--epochs 30] [--configs 1|12] [--big]
Flatten 8192 -> Dense(256, relu) -> Dropout(0.5) -> Dense(1, sigmoid), RMSprop(2e-5),
batch 20, validation every epoch. numpy uses preallocated out= buffers. --configs 12 runs
the grid lr {1e-5,2e-5,5e-5} x hidden {64,256} x dropout {0.25,0.5} one after another.
--big: seeds 000/003's head instead (Flatten 7x7x768 -> Dense(1024, relu) -> Dropout(0.2)
-> Dense(1, sigmoid), RMSprop(1e-4)) on bench_train --big --dump data.
Prints "SECONDS <s>", "CPU <s>" (process CPU time, all threads: robust to other load on
a shared machine, though it also counts any spin-waiting), "FASTEST <s>" (the fastest
epoch, training + validation, as featcache's history counts one: the least disturbed by
other load) and the final val_acc of each config."""
import sys
import time

import numpy as np

EPOCH_SECONDS = []  # wall time of every epoch (training + validation), all configs


def load(d, dim):
    xt = np.fromfile(f"{d}/x_train.f32", dtype=np.float32).reshape(-1, dim)
    yt = np.fromfile(f"{d}/y_train.i32", dtype=np.int32).astype(np.float32)
    xv = np.fromfile(f"{d}/x_val.f32", dtype=np.float32).reshape(-1, dim)
    yv = np.fromfile(f"{d}/y_val.i32", dtype=np.int32).astype(np.float32)
    return xt, yt, xv, yv


def grid(n, big=False):
    if big:  # seeds 000/003: Flatten 7x7x768 -> Dense(1024, relu) -> Dropout(0.2) -> Dense(1), RMSprop 1e-4
        return [(1e-4, 1024, 0.2)]
    if n == 1:
        return [(2e-5, 256, 0.5)]
    return [(lr, h, d) for lr in (1e-5, 2e-5, 5e-5) for h in (64, 256) for d in (0.25, 0.5)]


def numpy_run(xt, yt, xv, yv, lr, H, rate, epochs, B=20, seed=1):
    rng = np.random.default_rng(seed)
    D = xt.shape[1]
    lim1, lim2 = np.sqrt(6 / (D + H)), np.sqrt(6 / (H + 1))
    W1 = rng.uniform(-lim1, lim1, (D, H)).astype(np.float32)
    b1 = np.zeros(H, np.float32)
    W2 = rng.uniform(-lim2, lim2, (H, 1)).astype(np.float32)
    b2 = np.zeros(1, np.float32)
    params = [W1, b1, W2, b2]
    ms = [np.zeros_like(p) for p in params]
    grads = [np.zeros_like(p) for p in params]
    z1 = np.empty((B, H), np.float32)
    a1 = np.empty((B, H), np.float32)
    mask = np.empty((B, H), np.float32)
    tmp = [np.empty_like(p) for p in params]
    n = xt.shape[0]
    for ep in range(epochs):
        t0 = time.perf_counter()
        perm = rng.permutation(n)
        for s in range(0, n, B):
            idx = perm[s:s + B]
            x, y = xt[idx], yt[idx]
            b = len(idx)
            np.matmul(x, W1, out=z1[:b])
            z1[:b] += b1
            np.maximum(z1[:b], 0, out=a1[:b])
            mask[:b] = (rng.random((b, H), dtype=np.float32) >= rate) / (1 - rate)
            a1[:b] *= mask[:b]
            z2 = a1[:b] @ W2 + b2
            p = 1 / (1 + np.exp(-z2[:, 0]))
            dz2 = ((p - y) / b)[:, None].astype(np.float32)
            np.matmul(a1[:b].T, dz2, out=grads[2])
            grads[3][:] = dz2.sum(0)
            da1 = dz2 @ W2.T
            da1 *= mask[:b]
            da1 *= z1[:b] > 0
            np.matmul(x.T, da1, out=grads[0])
            grads[1][:] = da1.sum(0)
            for P, G, M, T in zip(params, grads, ms, tmp):
                M *= 0.9
                np.multiply(G, G, out=T)
                T *= 0.1
                M += T
                np.sqrt(M, out=T)
                T += 1e-7
                np.divide(G, T, out=T)
                T *= lr
                P -= T
        zv = np.maximum(xv @ W1 + b1, 0) @ W2 + b2
        pv = 1 / (1 + np.exp(-zv[:, 0]))
        val_acc = float(((pv > 0.5) == (yv > 0.5)).mean())
        EPOCH_SECONDS.append(time.perf_counter() - t0)
    return val_acc


def torch_run(xt, yt, xv, yv, lr, H, rate, epochs, B=20, seed=1):
    import torch
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], H), torch.nn.ReLU(), torch.nn.Dropout(rate),
                                torch.nn.Linear(H, 1))
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=0.9, eps=1e-7)
    lossf = torch.nn.BCEWithLogitsLoss()
    Xt, Yt, Xv, Yv = map(torch.from_numpy, (xt, yt, xv, yv))
    n = Xt.shape[0]
    for ep in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n)
        for s in range(0, n, B):
            idx = perm[s:s + B]
            opt.zero_grad()
            loss = lossf(model(Xt[idx])[:, 0], Yt[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val_acc = float(((model(Xv)[:, 0] > 0) == (Yv > 0.5)).float().mean())
        EPOCH_SECONDS.append(time.perf_counter() - t0)
    return val_acc


def main():
    kind, d = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[sys.argv.index("--epochs") + 1]) if "--epochs" in sys.argv else 30
    nconf = int(sys.argv[sys.argv.index("--configs") + 1]) if "--configs" in sys.argv else 1
    big = "--big" in sys.argv
    data = load(d, 7 * 7 * 768 if big else 8192)
    run = numpy_run if kind == "numpy" else torch_run
    if kind == "torch":
        import torch
        torch.set_num_threads(2)
    t0, c0 = time.perf_counter(), time.process_time()
    accs = [run(*data, lr, h, r, epochs) for lr, h, r in grid(nconf, big)]
    print(f"SECONDS {time.perf_counter() - t0:.3f}")
    print(f"CPU {time.process_time() - c0:.3f}")
    print(f"FASTEST {min(EPOCH_SECONDS):.4f}")
    print("val_acc " + " ".join(f"{a:.4f}" for a in accs))


if __name__ == "__main__":
    main()
