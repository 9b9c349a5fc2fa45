#!/usr/bin/python3
"""ref_ops.py - independent numpy check of the C engine (tests/tools/engine_op).

For a few small random cases (odd, non-square sizes; conv 'same' stride 2; dilation;
depthwise; avg pool 'same' which excludes padded cells; max pool) this writes input and
weights as raw float32, runs engine_op, and compares with numpy implementations written
from the TensorFlow definitions. Prints "ok - ..." / "FAIL - ..." lines; exit 1 on failure.
Usage: ref_ops.py ENGINE_OP_BINARY WORKDIR
"""
import subprocess
import sys

import numpy as np

TOL = 1e-4


def tf_pad(size, k, stride, dil, padding):
    """Output size and (before, after) padding exactly as TF computes them."""
    ek = (k - 1) * dil + 1
    if padding == "valid":
        return (size - ek) // stride + 1, (0, 0)
    out = -(-size // stride)
    total = max((out - 1) * stride + ek - size, 0)
    return out, (total // 2, total - total // 2)


def conv2d(x, w, b, sh, sw, dh, dw, padding):
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    oh, ph = tf_pad(h, kh, sh, dh, padding)
    ow, pw = tf_pad(wd, kw, sw, dw, padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)))
    y = np.zeros((n, oh, ow, f))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :]
            y += np.einsum("nhwc,cf->nhwf", patch, w[i, j].astype(np.float64))
    return y + (b if b is not None else 0)


def depthwise(x, w, b, s, padding):
    n, h, wd, c = x.shape
    kh, kw, _, m = w.shape
    oh, ph = tf_pad(h, kh, s, 1, padding)
    ow, pw = tf_pad(wd, kw, s, 1, padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)))
    y = np.zeros((n, oh, ow, c, m))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + (oh - 1) * s + 1:s, j:j + (ow - 1) * s + 1:s, :]
            y += patch[..., None] * w[i, j][None, None, None]
    y = y.reshape(n, oh, ow, c * m)  # output channel = c_index * mult + m
    return y + (b if b is not None else 0)


def pool(x, k, s, padding, kind):
    n, h, wd, c = x.shape
    oh, ph = tf_pad(h, k, s, 1, padding)
    ow, pw = tf_pad(wd, k, s, 1, padding)
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)), constant_values=fill)
    ones = np.pad(np.ones((1, h, wd, 1)), ((0, 0), ph, pw, (0, 0)))
    acc = np.full((n, oh, ow, c), fill)
    cnt = np.zeros((1, oh, ow, 1))
    for i in range(k):
        for j in range(k):
            sl = (slice(None), slice(i, i + (oh - 1) * s + 1, s), slice(j, j + (ow - 1) * s + 1, s))
            if kind == "max":
                acc = np.maximum(acc, xp[sl])
            else:
                acc = acc + xp[sl]
                cnt = cnt + ones[sl]
    return acc if kind == "max" else acc / cnt


def act(y, a):
    if a == "relu":
        return np.maximum(y, 0)
    if a == "relu6":
        return np.clip(y, 0, 6)
    return y


def run(tool, work, name, args, files):
    for key, arr in files.items():
        arr.astype("<f4").tofile(f"{work}/{name}_{key}.f32")
        args.append(f"{key}={work}/{name}_{key}.f32")
    args.append(f"out={work}/{name}_out.f32")
    r = subprocess.run([tool] + args, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    shape = tuple(int(v) for v in r.stdout.split())
    return np.fromfile(f"{work}/{name}_out.f32", dtype="<f4"), shape


def main():
    tool, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(20240611)
    fails = 0
    cases = [
        ("conv_same_s2_odd", dict(op="conv", n=2, h=11, w=9, c=3, kh=3, kw=3, sh=2, sw=2, pad="same", filters=5, act="relu")),
        ("conv_same_s2_k4", dict(op="conv", n=1, h=10, w=13, c=2, kh=4, kw=2, sh=2, sw=3, pad="same", filters=3, act="linear")),
        ("conv_valid_dil2", dict(op="conv", n=2, h=12, w=11, c=4, kh=3, kw=3, dh=2, dw=2, pad="valid", filters=6, act="relu6")),
        ("conv_1x7_same", dict(op="conv", n=1, h=9, w=10, c=5, kh=1, kw=7, pad="same", filters=4, act="linear")),
        ("depthwise_same_s2", dict(op="depthwise", n=2, h=9, w=12, c=6, kh=3, kw=3, sh=2, sw=2, pad="same", mult=1, act="relu6")),
        ("depthwise_valid_m2", dict(op="depthwise", n=1, h=8, w=7, c=3, kh=3, kw=3, pad="valid", mult=2, act="linear")),
        ("avgpool_same_3s1", dict(op="avgpool", n=2, h=7, w=9, c=4, kh=3, kw=3, pad="same")),
        ("avgpool_same_3s2", dict(op="avgpool", n=1, h=8, w=11, c=3, kh=3, kw=3, sh=2, sw=2, pad="same")),
        ("maxpool_same_2s2_odd", dict(op="maxpool", n=2, h=9, w=7, c=5, kh=2, kw=2, sh=2, sw=2, pad="same")),
        ("maxpool_valid_3s2", dict(op="maxpool", n=1, h=10, w=9, c=2, kh=3, kw=3, sh=2, sw=2, pad="valid")),
        # windows wider than the input ('same'): only the taps inside it count
        ("avgpool_same_win40_s2", dict(op="avgpool", n=2, h=9, w=7, c=3, kh=40, kw=40, sh=2, sw=2, pad="same")),
        ("maxpool_same_win33_s1", dict(op="maxpool", n=1, h=8, w=11, c=2, kh=33, kw=33, pad="same")),
    ]
    for name, p in cases:
        x = rng.standard_normal((p["n"], p["h"], p["w"], p["c"])).astype(np.float32)
        files = {"in": x}
        sh, sw, dh, dw = p.get("sh", 1), p.get("sw", 1), p.get("dh", 1), p.get("dw", 1)
        if p["op"] == "conv":
            k = (rng.standard_normal((p["kh"], p["kw"], p["c"], p["filters"])) * 0.4).astype(np.float32)
            b = (rng.standard_normal(p["filters"]) * 0.2).astype(np.float32)
            files.update(kernel=k, bias=b)
            ref = act(conv2d(x, k, b, sh, sw, dh, dw, p["pad"]), p["act"])
        elif p["op"] == "depthwise":
            k = (rng.standard_normal((p["kh"], p["kw"], p["c"], p["mult"])) * 0.4).astype(np.float32)
            b = (rng.standard_normal(p["c"] * p["mult"]) * 0.2).astype(np.float32)
            files.update(kernel=k, bias=b)
            ref = act(depthwise(x, k, b, sh, p["pad"]), p["act"])
        else:
            ref = pool(x, p["kh"], sh, p["pad"], p["op"][:3])
        args = [f"{k}={v}" for k, v in p.items()]
        got, shape = run(tool, work, name, args, files)
        if got is None:
            print(f"FAIL - numpy {name}: engine_op failed: {shape}")
            fails += 1
            continue
        if shape != ref.shape[1:]:
            print(f"FAIL - numpy {name}: shape {shape}, numpy {ref.shape[1:]}")
            fails += 1
            continue
        err = np.max(np.abs(got - ref.ravel())) / np.max(np.abs(ref))
        if err <= TOL:
            print(f"ok - numpy {name} shape {shape} rel err {err:.2e}")
        else:
            print(f"FAIL - numpy {name}: rel err {err:.3e}")
            fails += 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
