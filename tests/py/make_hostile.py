#!/usr/bin/python3
"""Hostile files of a few KB that declare sizes they do not hold (tests/bad/matrix.tsv,
made by tests/cli/bad_matrix.sh): each must be refused by name before featcache
allocates what it declares, and never reach an int overflow.

  head_no_weights.h5      a head whose model_config declares 3 GiB of Dense kernels and
                          that has no /model_weights at all
  head_unwritten.h5       a head whose 1 GiB kernel is a chunked dataset never written
                          (HDF5 reads it as its fill value)
  export_unwritten.h5     a feature export whose /features (2 rows of 1x4096x8192, 256 MiB)
                          is chunked and never written
  concat_channels/        a TF.js model.json whose Concatenate joins one tensor 1024 times,
                          twice: 65536 -> 2^26 -> 2^36 channels
  zeropad_chain/          a TF.js model.json: a 1x1x1 input then 16400 ZeroPadding2D of
                          65536 rows each side (2^31 rows after 16384 of them)

usage: make_hostile.py OUTDIR"""
import hashlib
import json
import os
import sys

import h5py
import numpy as np


def head_config(units, in_c):
    layers = [{"class_name": "Flatten", "config": {"name": "flatten", "batch_input_shape": [None, 1, 1, in_c]}}]
    for i, u in enumerate(units):
        last = i + 1 == len(units)
        layers.append({"class_name": "Dense", "config": {"name": "dense_%d" % i, "units": u,
                                                         "activation": "sigmoid" if last else "relu"}})
    return json.dumps({"class_name": "Sequential", "config": {"name": "head", "layers": layers}})


def head_no_weights(path):
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = head_config([16384, 16384, 1], 16384)


def head_unwritten(path):
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = head_config([16384, 1], 16384)
        mw = f.create_group("model_weights")
        for name, shape in (("dense_0", (16384, 16384)), ("dense_1", (16384, 1))):
            g = mw.create_group(name)
            g.attrs["weight_names"] = [b"%s/kernel:0" % name.encode(), b"%s/bias:0" % name.encode()]
            g.create_dataset(name + "/kernel:0", shape=shape, dtype="f4", chunks=(1, shape[1]))  # never written
            g.create_dataset(name + "/bias:0", data=np.zeros(shape[1], np.float32))


def export_unwritten(path, n=2, h=1, w=4096, c=8192):
    prov = dict(model_sha256="fd52ec918228da2902f69b311d2f59f865befce889f786ea1e9481091fbcb1c7",
                layer="block5_pool", in_h=150, in_w=150, resize="nearest", preprocess="rescale", numerics="1")
    canon = ("featcache-fingerprint/1\nmodel_sha256=%(model_sha256)s\nlayer=%(layer)s\ninput=%(in_h)dx%(in_w)d\n"
             "resize=%(resize)s\npreprocess=%(preprocess)s\nnumerics=%(numerics)s\n") % prov
    s = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        for k, v in prov.items():
            f.attrs[k] = v
        f.attrs["fingerprint"] = hashlib.sha256(canon.encode()).hexdigest()
        f.attrs["featcache_format"] = "featcache.features"
        f.attrs["featcache_format_version"] = 1
        f.attrs["feat_h"], f.attrs["feat_w"], f.attrs["feat_c"] = h, w, c
        f.attrs["codec"] = "f16"
        f.create_dataset("features", shape=(n, h, w, c), dtype="f4", chunks=(1, 1, 1, min(c, 1024)))  # never written
        f.create_dataset("labels", data=np.arange(n, dtype="i4") % 2)
        f.create_dataset("classes", data=["cats", "dogs"], dtype=s)
        f.create_dataset("paths", data=["p%d.png" % i for i in range(n)], dtype=s)
        f.create_dataset("sha256", data=[hashlib.sha256(b"%d" % i).hexdigest() for i in range(n)], dtype=s)
        f.create_dataset("split", data=["train"] * n, dtype=s)


def tfjs(dirname, topology):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "model.json"), "w") as f:
        json.dump({"modelTopology": topology, "weightsManifest": []}, f)


def concat_channels(dirname):
    def ref(n):
        return [n, 0, 0, {}]
    layers = [
        {"class_name": "InputLayer", "name": "in",
         "config": {"name": "in", "batch_input_shape": [None, 1, 1, 65536]}, "inbound_nodes": []},
        {"class_name": "Concatenate", "name": "c1", "config": {"name": "c1", "axis": -1},
         "inbound_nodes": [[ref("in")] * 1024]},
        {"class_name": "Concatenate", "name": "c2", "config": {"name": "c2", "axis": -1},
         "inbound_nodes": [[ref("c1")] * 1024]},
    ]
    tfjs(dirname, {"class_name": "Model", "config": {"name": "m", "layers": layers, "input_layers": [["in", 0, 0]],
                                                     "output_layers": [["c2", 0, 0]]}})


def zeropad_chain(dirname):
    layers = [{"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [None, 1, 1, 1]}}]
    for i in range(16400):
        layers.append({"class_name": "ZeroPadding2D",
                       "config": {"name": "p%d" % i, "padding": [[65536, 65536], [0, 0]]}})
    tfjs(dirname, {"class_name": "Sequential", "config": {"name": "s", "layers": layers}})


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    head_no_weights(os.path.join(out, "head_no_weights.h5"))
    head_unwritten(os.path.join(out, "head_unwritten.h5"))
    export_unwritten(os.path.join(out, "export_unwritten.h5"))
    concat_channels(os.path.join(out, "concat_channels"))
    zeropad_chain(os.path.join(out, "zeropad_chain"))


if __name__ == "__main__":
    main()
