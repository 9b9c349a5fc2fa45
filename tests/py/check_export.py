#!/usr/bin/python3
"""check_export.py - independent check of a featcache HDF5 export with h5py + numpy.

usage: check_export.py EXPORT.h5 DUMP.txt [--zstd] [--dtype float32|float16]

DUMP.txt is `storedump STORE` of the exported store: one line per image,
"sha256 class split ok|failed sha256-of-decoded-float32 path". The export must hold
exactly the ok images, with the same class, split and path, and features whose float32
bytes hash to the store's checksum (so the values are bit-identical to what featcache
decodes). Checks layout, dtypes, shapes and provenance attributes against
schemas/hdf5_layout.md. With --zstd, /features chunks are read raw and decompressed
with the zstd command-line tool (h5py has no 32015 filter here), which also proves the
chunks are standard zstd frames. Exit 0 if all checks pass, 1 with the reasons.
"""
import hashlib
import re
import subprocess
import sys

import h5py
import numpy as np

errors = []


def expect(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def fletcher32(b):
    """HDF5's Fletcher-32 of a chunk (H5_checksum_fletcher32: big-endian 16-bit words,
    a final odd byte as the high half of a word), written independently."""
    s1 = s2 = 0
    words = len(b) // 2
    i = 0
    while words:
        t = min(words, 360)
        words -= t
        for _ in range(t):
            s1 += (b[i] << 8) | b[i + 1]
            s2 += s1
            i += 2
        s1, s2 = (s1 & 0xFFFF) + (s1 >> 16), (s2 & 0xFFFF) + (s2 >> 16)
    if len(b) % 2:
        s1 += b[i] << 8
        s2 += s1
        s1, s2 = (s1 & 0xFFFF) + (s1 >> 16), (s2 & 0xFFFF) + (s2 >> 16)
    s1, s2 = (s1 & 0xFFFF) + (s1 >> 16), (s2 & 0xFFFF) + (s2 >> 16)
    return (s2 << 16) | s1


def read_zstd_features(d):
    """Reassemble /features from raw chunks (filter 32015 = one zstd frame per chunk, then
    HDF5's fletcher32: the frame's checksum in 4 trailing little-endian bytes)."""
    n, h, w, c = d.shape
    out = np.zeros(d.shape, dtype=d.dtype)
    rows = d.chunks[0]
    expect(d.chunks[1:] == (h, w, c), "chunks must hold whole images: %r" % (d.chunks,))
    expect(list(d._filters.keys()) == ["32015", "fletcher32"],
           "filters %r, expected 32015 then fletcher32" % d._filters)
    for r0 in range(0, n, rows):
        _, raw = d.id.read_direct_chunk((r0, 0, 0, 0))
        raw, tail = raw[:-4], raw[-4:]
        expect(int.from_bytes(tail, "little") == fletcher32(raw), "chunk at row %d: fletcher32 mismatch" % r0)
        plain = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
        block = np.frombuffer(plain, dtype=d.dtype.newbyteorder("<")).reshape((rows, h, w, c))
        k = min(rows, n - r0)
        out[r0:r0 + k] = block[:k]
    return out


def main():
    args = sys.argv[1:]
    zstd = "--zstd" in args
    dtype = "float16" if "float16" in args else "float32"
    path, dump = args[0], args[1]
    want = [l.split(" ", 5) for l in open(dump).read().splitlines() if l]
    want = [w for w in want if w[3] == "ok"]
    f = h5py.File(path, "r")
    for name in ("features", "labels", "paths", "sha256", "classes", "split"):
        expect(name in f, "missing /%s" % name)
    if errors:
        return
    a = f.attrs
    d = f["features"]
    n = d.shape[0]
    expect(a["featcache_format"] == "featcache.features", "featcache_format %r" % a["featcache_format"])
    expect(int(a["featcache_format_version"]) == 1, "format version")
    expect(int(a["n_images"]) == n, "n_images %d vs %d rows" % (a["n_images"], n))
    expect(re.fullmatch(r"[0-9a-f]{64}", a["fingerprint"]) is not None, "fingerprint not hex")
    for k in ("model_sha256", "layer", "resize", "preprocess", "numerics", "codec", "version",
              "host", "user", "command", "arch", "model_path", "codec_layout"):
        expect(isinstance(a[k], str), "attribute %s is not a str: %r" % (k, a[k]))
    for k in ("in_h", "in_w", "feat_h", "feat_w", "feat_c", "created", "updated", "codec_level"):
        expect(a[k].dtype == np.int64, "attribute %s is not int64" % k)
    expect(d.ndim == 4 and d.shape[1:] == (a["feat_h"], a["feat_w"], a["feat_c"]),
           "features shape %r vs attributes" % (d.shape,))
    expect(d.dtype == np.dtype(dtype), "features dtype %s, expected %s" % (d.dtype, dtype))
    expect(d.chunks is not None, "features not chunked")
    if not zstd:
        expect(d.compression == "gzip" and d.shuffle, "expected shuffle+gzip")
    for name in ("features", "labels"):
        expect(f[name].fletcher32, "/%s has no fletcher32 checksums" % name)
    expect(f["labels"].dtype == np.int32, "labels dtype %s" % f["labels"].dtype)
    for name in ("paths", "sha256", "split", "classes"):
        t = f[name].dtype
        expect(h5py.check_string_dtype(t) is not None and h5py.check_string_dtype(t).length is None
               and h5py.check_string_dtype(t).encoding == "utf-8",
               "/%s is not variable-length UTF-8" % name)
    x = read_zstd_features(d) if zstd else d[:]
    y = f["labels"][:]
    classes = list(f["classes"].asstr()[:])
    paths = f["paths"].asstr()[:]
    shas = f["sha256"].asstr()[:]
    split = f["split"].asstr()[:]
    expect(classes == sorted(set(classes)), "classes not sorted/unique: %r" % classes)
    expect(len(y) == n and len(paths) == n and len(shas) == n and len(split) == n,
           "row counts differ")
    expect(n == len(want), "%d rows, store has %d ok images" % (n, len(want)))
    expect(set(split) <= {"train", "validation", "test"}, "bad split values %r" % set(split))
    expect(y.min(initial=0) >= 0 and y.max(initial=0) < len(classes), "labels out of range")
    by_sha = {w[0]: w for w in want}
    for i in range(min(n, len(want))):
        w = by_sha.get(shas[i])
        if not expect(w is not None, "row %d sha256 %s not in the store" % (i, shas[i])):
            continue
        expect(classes[y[i]] == w[1], "row %d class %s vs %s" % (i, classes[y[i]], w[1]))
        expect(split[i] == w[2], "row %d split %s vs %s" % (i, split[i], w[2]))
        expect(paths[i] == w[5], "row %d path %s vs %s" % (i, paths[i], w[5]))
        got = hashlib.sha256(x[i].astype("<f4").tobytes()).hexdigest()
        expect(got == w[4], "row %d (%s): features differ from the store's decoded values" % (i, w[5]))
        if len(errors) > 10:
            break


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failed check, with the reason
        errors.append("%s: %s" % (type(e).__name__, e))
    for e in errors:
        print("check_export: " + e, file=sys.stderr)
    sys.exit(1 if errors else 0)
