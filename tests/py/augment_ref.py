#!/usr/bin/python3
"""augment_ref.py - independent check of common/augment.c (tests/tools/augment_tool)
against keras_preprocessing 1.1's apply_affine_transform + flip_axis, rebuilt here from its
formulas with numpy and scipy.ndimage.affine_transform(order=1, mode='nearest').

For random float32 images of a few sizes (odd, non-square, 1-pixel sides, 150x150) and
parameters (each transform alone, 90/180 degree rotations, integer and fractional shifts,
everything combined, flips, and parameters drawn by fc_aug_draw from a Keras spec) this
writes the image as raw float32, runs augment_tool, and compares. Prints "ok - ..." /
"FAIL - ..." lines and the largest error seen; exit 1 on failure.
Usage: augment_ref.py AUGMENT_TOOL_BINARY WORKDIR
"""
import os
import subprocess
import sys

import numpy as np

TOL = 1e-4


def keras_matrix(h, w, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1):
    """keras_preprocessing 1.1 apply_affine_transform's matrix (None: no affine part)."""
    m = None

    def chain(m, b):
        return b if m is None else np.dot(m, b)

    if theta != 0:
        t = np.deg2rad(theta)
        m = chain(m, np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]]))
    if tx != 0 or ty != 0:
        m = chain(m, np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        m = chain(m, np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        m = chain(m, np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if m is None:
        return None
    # transform_matrix_offset_center(m, h, w) as in 1.1.x: + 0.5
    o_x = float(h) / 2 + 0.5
    o_y = float(w) / 2 + 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return np.dot(np.dot(offset, m), reset)


def keras_apply(x, theta, tx, ty, shear, zx, zy, flip_h, flip_v):
    """apply_transform for channels_last: affine per channel, then flips."""
    from scipy import ndimage  # here: keras_matrix alone serves tests/py/extract_fixtures.py without scipy
    m = keras_matrix(x.shape[0], x.shape[1], theta, tx, ty, shear, zx, zy)
    if m is not None:
        chans = [ndimage.affine_transform(x[:, :, k], m[:2, :2], m[:2, 2], order=1,
                                          mode="nearest", cval=0.0)
                 for k in range(x.shape[2])]
        x = np.stack(chans, axis=2)
    if flip_h:
        x = x[:, ::-1, :]  # flip_axis(x, col_axis)
    if flip_v:
        x = x[::-1, :, :]  # flip_axis(x, row_axis)
    return x


class Runner:
    def __init__(self, tool, work):
        self.tool, self.work = tool, work
        self.fails = 0
        self.max_err = 0.0
        self.cases = 0
        self.exact = 0

    def run(self, x, args):
        h, w, c = x.shape
        src, dst = os.path.join(self.work, "aug_in.f32"), os.path.join(self.work, "aug_out.f32")
        x.astype("<f4").tofile(src)
        cmd = [self.tool, "h=%d" % h, "w=%d" % w, "c=%d" % c, "in=" + src, "out=" + dst] + args
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("augment_tool failed: %s" % r.stderr.strip())
        y = np.fromfile(dst, "<f4").reshape(h, w, c)
        f = r.stdout.split()
        prm = [float(v) for v in f[:6]] + [int(f[6]), int(f[7])]
        return y, prm

    def check(self, name, x, prm):
        """prm = theta, tx, ty, shear, zx, zy, flip_h, flip_v; %r keeps every bit."""
        keys = ["theta", "tx", "ty", "shear", "zx", "zy", "flip_h", "flip_v"]
        args = ["%s=%r" % (k, v) for k, v in zip(keys, prm)]
        y, _ = self.run(x, args)
        return self.compare(name, x, y, prm)

    def compare(self, name, x, y, prm):
        ref = keras_apply(x, *prm)
        self.cases += 1
        err = float(np.max(np.abs(y.astype(np.float64) - ref.astype(np.float64))))
        self.max_err = max(self.max_err, err)
        if np.array_equal(y, ref):
            self.exact += 1
        if not err <= TOL:  # NaN fails too
            self.fails += 1
            i = np.unravel_index(np.argmax(np.abs(y - ref)), y.shape)
            print("FAIL - %s: max abs error %.3g at %s (C %r, scipy %r), params %r"
                  % (name, err, i, float(y[i]), float(ref[i]), prm))
            return False
        return True


def main():
    tool, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(20240611)
    R = Runner(tool, work)
    sizes = [(7, 5, 3), (5, 7, 1), (32, 48, 3), (48, 32, 3), (150, 150, 3), (1, 6, 2), (6, 1, 2),
             (2, 3, 3)]
    fixed = [
        ("identity", [0, 0, 0, 0, 1, 1, 0, 0]),
        ("rotation 90", [90, 0, 0, 0, 1, 1, 0, 0]),
        ("rotation 180", [180, 0, 0, 0, 1, 1, 0, 0]),
        ("rotation -37.3", [-37.3, 0, 0, 0, 1, 1, 0, 0]),
        ("integer shift", [0, 2.0, -3.0, 0, 1, 1, 0, 0]),
        ("fractional shift", [0, 1.37, -0.61, 0, 1, 1, 0, 0]),
        ("shear", [0, 0, 0, 11.5, 1, 1, 0, 0]),
        ("zoom", [0, 0, 0, 0, 0.83, 1.17, 0, 0]),
        ("flips only", [0, 0, 0, 0, 1, 1, 1, 1]),
        ("combined", [23.0, -1.5, 2.25, -8.0, 1.1, 0.9, 0, 0]),
        ("combined + flips", [-41.0, 3.3, -0.7, 15.0, 0.8, 1.2, 1, 1]),
    ]
    for (h, w, c) in sizes:
        x = (rng.random((h, w, c)) * 255).astype(np.float32)
        ok = True
        for name, prm in fixed:
            ok &= R.check("%dx%dx%d %s" % (h, w, c, name), x, prm)
        for k in range(12):
            prm = [rng.uniform(-180, 180) if rng.random() < 0.8 else 0,
                   rng.uniform(-0.3, 0.3) * h if rng.random() < 0.8 else 0,
                   rng.uniform(-0.3, 0.3) * w if rng.random() < 0.8 else 0,
                   rng.uniform(-30, 30) if rng.random() < 0.8 else 0,
                   rng.uniform(0.6, 1.4), rng.uniform(0.6, 1.4),
                   int(rng.random() < 0.5), int(rng.random() < 0.5)]
            ok &= R.check("%dx%dx%d random %d" % (h, w, c, k), x, prm)
        if ok:
            print("ok - %dx%dx%d: %d parameter sets match scipy" % (h, w, c, len(fixed) + 12))

    # parameters drawn by fc_aug_draw from a Keras spec: ranges respected, image matches
    spec = ("rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, "
            "shear_range=0.2, zoom_range=0.2, horizontal_flip=True, vertical_flip=True")
    ok = True
    for (h, w, c) in [(32, 48, 3), (150, 150, 3)]:
        x = (rng.random((h, w, c)) * 255).astype(np.float32)
        for key in range(8):
            y, prm = R.run(x, ["spec=" + spec, "key=%d" % (key * 7919 + 1)])
            th, tx, ty, sh, zx, zy = prm[:6]
            if not (abs(th) <= 40 and abs(tx) <= 0.2 * h and abs(ty) <= 0.2 * w and abs(sh) <= 0.2
                    and 0.8 <= zx <= 1.2 and 0.8 <= zy <= 1.2):
                print("FAIL - drawn parameters out of range: %r" % prm)
                R.fails += 1
                ok = False
            ok &= R.compare("%dx%dx%d drawn key %d" % (h, w, c, key), x, y, prm)
    if ok:
        print("ok - parameters drawn from a Keras spec are in range and match scipy")

    print("# %d cases, %d bit-identical to scipy, max abs error %.3g (tolerance %g, values 0..255)"
          % (R.cases, R.exact, R.max_err, TOL))
    return 1 if R.fails else 0


if __name__ == "__main__":
    sys.exit(main())
