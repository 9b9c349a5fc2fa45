#!/usr/bin/python3
"""make_zstd_export.py - independent zstd (filter 32015) writer for featcache's reader.

usage: make_zstd_export.py IN.h5 OUT.h5 [FILTER_ID]

Copies an export made by featcache (any compression) and rewrites /features as a
32015-filtered dataset whose chunks are compressed by the zstd command-line tool and
stored with h5py's write_direct_chunk, one image per chunk. Neither HDF5 nor h5py
needs a zstd plugin for this (the filter is declared optional), and nothing of
featcache is involved, so `featcache import OUT.h5` must decode frames made by another
zstd implementation of the filter's format (one frame with its content size per chunk).
FILTER_ID (default 32015) declares another filter id instead: with an id no plugin
provides, featcache must refuse the file naming the filter.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def zstd_frame(raw):
    with tempfile.NamedTemporaryFile(delete=False) as t:
        t.write(raw)
    try:  # a file argument (not stdin) makes the CLI record the content size
        return subprocess.run(["zstd", "-q", "-c", "-5", t.name], capture_output=True,
                              check=True).stdout
    finally:
        os.unlink(t.name)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    fid = int(sys.argv[3]) if len(sys.argv) > 3 else 32015
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        x = f["features"][:].astype("<f4")
        del f["features"]
        n, h, w, c = x.shape
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((1, h, w, c))
        dcpl.set_filter(fid, h5py.h5z.FLAG_OPTIONAL, (5,))
        space = h5py.h5s.create_simple((n, h, w, c), (n, h, w, c))
        dsid = h5py.h5d.create(f.id, b"features", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
        for i in range(n):
            dsid.write_direct_chunk((i, 0, 0, 0), zstd_frame(x[i].tobytes()), 0)


if __name__ == "__main__":
    main()
