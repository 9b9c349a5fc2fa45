#!/usr/bin/python3
"""extract_fixtures.py - independent fixtures and checker for tests/cli/extract.sh.

  images OUT [--classes 3] [--per-class 8] [--jpeg-every 3] [--offset 0]
      Fashion-MNIST test images (Debian's dataset-fashion-mnist) as OUT/CLASS/NNNNN.png,
      every K-th one as JPEG (PIL, quality 90).
  model OUT.h5 [--top gap]
      A tiny Keras 2.2.4 functional model in the full-model HDF5 layout (model_config +
      model_weights), fixed seed: conv3x3 same relu -> maxpool -> conv3x3 valid relu ->
      maxpool, input 32x32x3, output 7x7x16. --top gap adds GlobalAveragePooling2D "gap"
      (a vector of 16) and Dense(12, relu) "fc" on top: cuts whose Keras output is rank 2.
  expect MODEL.h5 IMAGE_DIR OUT.txt [--size 32] [--preprocess rescale|caffe|tf] [--layer gap]
      Features of every image with numpy only (PIL load_img semantics: convert('RGB'),
      resize NEAREST), one line per image: "sha256 v1 v2 ..."; pool2's map, or with
      --layer gap its GlobalAveragePooling2D (a vector of 16).
  compare EXPECT.txt DUMP.txt TOL
      DUMP.txt from `tests/tools/storedump --values`: every stored ok image must be in EXPECT with
      max |a-b| <= TOL * max(1, max|b|) and vice versa (same set of sha256).
numpy/h5py/PIL serve here as an independent checker; the product never uses python.
"""
import gzip
import hashlib
import json
import os
import sys

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from augment_ref import keras_matrix  # noqa: E402  (Keras apply_affine_transform matrix)

SRC = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
         "Sneaker", "Bag", "Ankle_boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def cmd_images(args):
    out = args[0]
    opt = dict(zip(args[1::2], args[2::2]))
    ncls = int(opt.get("--classes", 3))
    per = int(opt.get("--per-class", 8))
    jpeg_every = int(opt.get("--jpeg-every", 3))
    offset = int(opt.get("--offset", 0))
    imgs = read_idx(os.path.join(SRC, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(SRC, "t10k-labels-idx1-ubyte.gz"))
    for c in range(ncls):
        d = os.path.join(out, NAMES[c])
        os.makedirs(d, exist_ok=True)
        idx = np.nonzero(labels == c)[0][offset:offset + per]
        for k, i in enumerate(idx):
            im = Image.fromarray(imgs[i], "L")
            if jpeg_every and k % jpeg_every == jpeg_every - 1:
                im.save(os.path.join(d, "%05d.jpg" % i), quality=90)
            else:
                im.save(os.path.join(d, "%05d.png" % i))


def conv(name, filters, kernel, padding, inbound):
    return {"name": name, "class_name": "Conv2D", "inbound_nodes": [[[inbound, 0, 0, {}]]],
            "config": {"name": name, "trainable": True, "filters": filters,
                       "kernel_size": [kernel, kernel], "strides": [1, 1], "padding": padding,
                       "data_format": "channels_last", "dilation_rate": [1, 1],
                       "activation": "relu", "use_bias": True}}


def pool(name, inbound):
    return {"name": name, "class_name": "MaxPooling2D", "inbound_nodes": [[[inbound, 0, 0, {}]]],
            "config": {"name": name, "trainable": True, "pool_size": [2, 2], "padding": "valid",
                       "strides": [2, 2], "data_format": "channels_last"}}


def tiny_weights():
    rng = np.random.RandomState(1234)
    return {"conv1": [rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32),
                      rng.normal(0, 0.1, (8,)).astype(np.float32)],
            "conv2": [rng.normal(0, 0.2, (3, 3, 8, 16)).astype(np.float32),
                      rng.normal(0, 0.1, (16,)).astype(np.float32)]}


def cmd_model(args):
    opt = dict(zip(args[1::2], args[2::2]))
    layers = [{"name": "input_1", "class_name": "InputLayer", "inbound_nodes": [],
               "config": {"batch_input_shape": [None, 32, 32, 3], "dtype": "float32",
                          "sparse": False, "name": "input_1"}},
              conv("conv1", 8, 3, "same", "input_1"), pool("pool1", "conv1"),
              conv("conv2", 16, 3, "valid", "pool1"), pool("pool2", "conv2")]
    w = tiny_weights()
    if opt.get("--top") == "gap":
        layers.append({"name": "gap", "class_name": "GlobalAveragePooling2D",
                       "inbound_nodes": [[["pool2", 0, 0, {}]]],
                       "config": {"name": "gap", "trainable": True, "data_format": "channels_last"}})
        layers.append({"name": "fc", "class_name": "Dense", "inbound_nodes": [[["gap", 0, 0, {}]]],
                       "config": {"name": "fc", "trainable": True, "units": 12, "activation": "relu",
                                  "use_bias": True}})
        rng = np.random.RandomState(4321)
        w["fc"] = [rng.normal(0, 0.3, (16, 12)).astype(np.float32),
                   rng.normal(0, 0.1, (12,)).astype(np.float32)]
    cfg = {"class_name": "Model", "config": {"name": "tiny", "layers": layers,
                                             "input_layers": [["input_1", 0, 0]],
                                             "output_layers": [[layers[-1]["name"], 0, 0]]}}
    with h5py.File(args[0], "w") as f:
        f.attrs["keras_version"] = np.bytes_("2.2.4")
        f.attrs["backend"] = np.bytes_("tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps(cfg))
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([l["name"].encode() for l in layers])
        g.attrs["backend"] = np.bytes_("tensorflow")
        g.attrs["keras_version"] = np.bytes_("2.2.4")
        for l in layers:
            lg = g.create_group(l["name"])
            names = []
            if l["name"] in w:
                for suffix, arr in zip(("kernel:0", "bias:0"), w[l["name"]]):
                    n = "%s/%s" % (l["name"], suffix)
                    lg.create_dataset(n, data=arr)
                    names.append(n.encode())
            lg.attrs["weight_names"] = np.array(names, dtype="S")


def conv2d(x, k, b, padding):  # x (h,w,c), k (kh,kw,c,f)
    kh, kw = k.shape[:2]
    if padding == "same":
        ph, pw = kh - 1, kw - 1
        x = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((oh, ow, k.shape[3]), np.float64)
    for i in range(kh):
        for j in range(kw):
            out += np.tensordot(x[i:i + oh, j:j + ow, :], k[i, j], axes=([2], [0]))
    return np.maximum(out + b, 0)


def maxpool(x):
    h, w = x.shape[0] // 2, x.shape[1] // 2
    return x[:2 * h, :2 * w].reshape(h, 2, w, 2, -1).max(axis=(1, 3))


def preprocess(x, mode):
    if mode == "rescale":
        return x / 255.0
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "caffe":
        return x[..., ::-1] - np.array([103.939, 116.779, 123.68])
    raise SystemExit("unknown preprocess " + mode)


def cmd_expect(args):
    model, root, out = args[:3]
    opt = dict(zip(args[3::2], args[4::2]))
    size = int(opt.get("--size", 32))
    mode = opt.get("--preprocess", "rescale")
    with h5py.File(model, "r") as f:
        w = {n: [f["model_weights/%s/%s/%s" % (n, n, s)][()].astype(np.float64)
                 for s in ("kernel:0", "bias:0")] for n in ("conv1", "conv2")}
    lines = []
    for dirpath, _, files in sorted(os.walk(root)):
        for fn in sorted(files):
            if not fn.lower().endswith((".png", ".jpg", ".jpeg")) or fn.startswith("."):
                continue
            p = os.path.join(dirpath, fn)
            data = open(p, "rb").read()
            try:
                im = Image.open(p).convert("RGB").resize((size, size), Image.NEAREST)
            except Exception:
                continue
            x = preprocess(np.asarray(im, np.float64), mode)
            y = maxpool(conv2d(maxpool(conv2d(x, *w["conv1"], "same")), *w["conv2"], "valid"))
            if opt.get("--layer") == "gap":
                y = y.mean(axis=(0, 1))
            lines.append(hashlib.sha256(data).hexdigest() + " " +
                         " ".join("%.9g" % v for v in y.ravel()))
    with open(out, "w") as f:
        f.write("\n".join(sorted(set(lines))) + "\n")


def keras_affine(x, theta, tx, ty, shear, zx, zy, flip_h, flip_v):
    """keras_preprocessing apply_affine_transform(row_axis=0, col_axis=1, channel_axis=2,
    fill_mode='nearest', order=1), then flip_axis: Keras's matrix (augment_ref.keras_matrix),
    scipy.ndimage.affine_transform's order-1 'nearest' sampling done here in numpy (float64,
    coordinates clamped: older scipy's rule, within one rounding of the newer one)."""
    h, w = x.shape[:2]
    m = keras_matrix(h, w, theta, tx, ty, shear, zx, zy)  # tests/py/augment_ref.py
    y = x.astype(np.float64)
    if m is not None:
        ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        r = np.clip(m[0, 0] * ii + m[0, 1] * jj + m[0, 2], 0, h - 1)
        c = np.clip(m[1, 0] * ii + m[1, 1] * jj + m[1, 2], 0, w - 1)
        r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
        r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
        fr, fc = (r - r0)[..., None], (c - c0)[..., None]
        y = ((1 - fr) * (1 - fc) * y[r0, c0] + (1 - fr) * fc * y[r0, c1] + fr * (1 - fc) * y[r1, c0] +
             fr * fc * y[r1, c1])
        y = y.astype(np.float32).astype(np.float64)  # Keras keeps the image float32
    if flip_h:
        y = y[:, ::-1]
    if flip_v:
        y = y[::-1]
    return y


def cmd_expect_views(args):
    """Checks storedump --views output: each view's features equal the tiny model's forward
    pass (numpy) of the image loaded as load_img does, transformed as Keras does with the
    view's parameters, and preprocessed. Prints the worst normalized error."""
    model, root, dump = args[:3]
    opt = dict(zip(args[3::2], args[4::2]))
    size = int(opt.get("--size", 32))
    mode = opt.get("--preprocess", "rescale")
    tol = float(opt.get("--tol", 1e-4))
    with h5py.File(model, "r") as f:
        w = {n: [f["model_weights/%s/%s/%s" % (n, n, s)][()].astype(np.float64)
                 for s in ("kernel:0", "bias:0")] for n in ("conv1", "conv2")}
    worst, n, moved = 0.0, 0, 0
    for line in open(dump):
        head, vals = line.split(" : ")
        parts = head.split()
        path = os.path.join(root, parts[2])
        theta, tx, ty, shear, zx, zy = (float(v) for v in parts[3:9])
        fh, fv = int(parts[9]), int(parts[10])
        im = Image.open(path).convert("RGB").resize((size, size), Image.NEAREST)
        x0 = np.asarray(im, np.float64)
        x = keras_affine(x0, theta, tx, ty, shear, zx, zy, fh, fv)
        moved += not np.array_equal(x, x0)
        y = maxpool(conv2d(maxpool(conv2d(preprocess(x, mode), *w["conv1"], "same")), *w["conv2"], "valid"))
        got = np.array([float(v) for v in vals.split()])
        if got.shape != y.ravel().shape:
            print("%s view %s: %d values, expected %d" % (parts[2], parts[1], got.size, y.size))
            return 1
        worst = max(worst, np.abs(got - y.ravel()).max() / max(1.0, np.abs(y).max()))
        n += 1
    print("%d views (%d transformed), max normalized error %.3g (tol %g)" % (n, moved, worst, tol))
    return 0 if n and moved and worst <= tol else 1


def load(path, skip):
    d = {}
    for line in open(path):
        parts = line.split()
        if parts:
            d[parts[0]] = np.array([float(v) for v in parts[1 + skip:]])
    return d


def cmd_compare(args):
    exp = load(args[0], 0)
    got = load(args[1], 3)  # storedump --values: sha path class split v...
    tol = float(args[2])
    if set(exp) != set(got):
        print("sha256 sets differ: %d expected only, %d stored only" %
              (len(set(exp) - set(got)), len(set(got) - set(exp))))
        return 1
    worst = 0.0
    for k, b in exp.items():
        a = got[k]
        if a.shape != b.shape:
            print("%s: %d values, expected %d" % (k, a.size, b.size))
            return 1
        err = np.abs(a - b).max() / max(1.0, np.abs(b).max())
        worst = max(worst, err)
    print("%d images, max normalized error %.3g (tol %g)" % (len(exp), worst, tol))
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    cmds = {"images": cmd_images, "model": cmd_model, "expect": cmd_expect,
            "compare": cmd_compare, "expect-views": cmd_expect_views}
    sys.exit(cmds[sys.argv[1]](sys.argv[2:]) or 0)
