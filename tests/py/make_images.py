#!/usr/bin/python3
"""make_images.py OUTDIR [EXTRA_IMAGE...] - test images and PIL reference pixels.

Independent checker for common/image*.c (run by tests/unit/test_image.c with Debian's
/usr/bin/python3 and python3-pil 9.4). Writes into OUTDIR:

  *.png, *.jpg       PNG variants (own minimal encoder, so every colour type / bit depth /
                     interlace is covered, plus a few saved by PIL) and JPEG variants
                     (saved by PIL: gray, 4:4:4, 4:2:2, 4:2:0, progressive, CMYK)
  NAME.rgb           Image.open(NAME).convert('RGB') as raw bytes (what Keras load_img sees)
  NAME.MODE.WxH.rgb  that RGB image .resize((W, H), filter) for every Keras interpolation
  NAME.PRE.f32       keras preprocess_input(PRE) of the RGB image, float32 little endian
  *.bmp, *.ppm, *.tif BMP, PNM and TIFF variants (tests/py/keras_formats.py): what PIL opens must decode
                     to PIL's bytes; `refuse` files must fail (and PIL fails on most too)
  manifest.txt       one line per check:
                       decode NAME W H
                       refuse NAME
                       resize NAME nearest|bilinear|bicubic|lanczos|box|hamming W H REF
                       pre NAME caffe|tf|torch|rescale|none REF

EXTRA_IMAGE files (e.g. a YCCK JPEG from the fuzz corpus) are copied in and get decode
references too.

   make_images.py --bad DIR      writes the bad-image set (tests/bad/images) instead;
   make_images.py --corpus DIR   writes the valid fuzz seeds (tests/fuzz/corpus).
Broken fuzz seeds are copies of small files from the bad-image set.
"""
import io
import os
import shutil
import struct
import sys
import zlib

import numpy as np
from PIL import Image

import keras_formats

RNG = np.random.RandomState(20261125)


def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def pack_row(samples, depth):
    """samples: 1-D uint array of one scanline's samples -> packed bytes."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per = 8 // depth
    pad = (-len(samples)) % per
    s = np.concatenate([samples, np.zeros(pad, samples.dtype)]).astype(np.uint8).reshape(-1, per)
    out = np.zeros(len(s), np.uint8)
    for i in range(per):
        out |= s[:, i] << (8 - depth * (i + 1))
    return out.tobytes()


def encode_png(pix, ctype, depth, interlace=False, extra=b""):
    """pix: (h, w, channels) sample array -> PNG bytes (filter 0 on every row)."""
    h, w = pix.shape[:2]
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = pix[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b"\0" + pack_row(row.reshape(-1), depth)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def smooth(h, w, c, maxv):
    """A gradient plus noise so that every decoder path sees varied values."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * (k + 1) * 37 + yy * (3 - k) * 23) % 256 for k in range(c)], -1) / 255.0
    noise = RNG.rand(h, w, c)
    v = 0.7 * base + 0.3 * noise
    return np.minimum(np.floor(v * (maxv + 1)), maxv).astype(np.uint32)


def png_variants():
    """name -> PNG bytes."""
    out = {}
    h, w = 23, 37
    for d in (1, 2, 4, 8, 16):
        out["gray%d.png" % d] = encode_png(smooth(h, w, 1, (1 << d) - 1), 0, d)
    # 16-bit gray with most values <= 255 and some above: PIL clips, it does not shift
    g16 = smooth(h, w, 1, 255)
    g16[::3] *= 257
    out["gray16_small.png"] = encode_png(g16, 0, 16)
    out["gray8_trns.png"] = encode_png(smooth(h, w, 1, 255), 0, 8, extra=chunk(b"tRNS", b"\x00\x10"))
    out["ga8.png"] = encode_png(smooth(h, w, 2, 255), 4, 8)
    out["ga16.png"] = encode_png(smooth(h, w, 2, 65535), 4, 16)
    out["rgb8.png"] = encode_png(smooth(h, w, 3, 255), 2, 8)
    out["rgb16.png"] = encode_png(smooth(h, w, 3, 65535), 2, 16)
    out["rgba8.png"] = encode_png(smooth(h, w, 4, 255), 6, 8)
    out["rgba16.png"] = encode_png(smooth(h, w, 4, 65535), 6, 16)
    for d in (1, 2, 4, 8):
        n = 1 << d
        pal = RNG.randint(0, 256, (n, 3)).astype(np.uint8).tobytes()
        out["pal%d.png" % d] = encode_png(smooth(h, w, 1, n - 1), 3, d, extra=chunk(b"PLTE", pal))
    pal = RNG.randint(0, 256, (256, 3)).astype(np.uint8).tobytes()
    trns = RNG.randint(0, 256, 200).astype(np.uint8).tobytes()
    out["pal8_trns.png"] = encode_png(smooth(h, w, 1, 255), 3, 8,
                                      extra=chunk(b"PLTE", pal) + chunk(b"tRNS", trns))
    # indexes past the end of a 16-entry PLTE: PIL shows its default gray ramp there
    out["pal8_short.png"] = encode_png(smooth(h, w, 1, 255), 3, 8, extra=chunk(b"PLTE", pal[:48]))
    out["rgb8_interlaced.png"] = encode_png(smooth(h, w, 3, 255), 2, 8, True)
    out["rgba16_interlaced.png"] = encode_png(smooth(h, w, 4, 65535), 6, 16, True)
    out["gray2_interlaced.png"] = encode_png(smooth(h, w, 1, 3), 0, 2, True)
    out["pal4_interlaced.png"] = encode_png(smooth(h, w, 1, 15), 3, 4, True,
                                            extra=chunk(b"PLTE", pal[:48]))
    out["tiny_1x1.png"] = encode_png(smooth(1, 1, 3, 255), 2, 8)
    out["tiny_5x3_interlaced.png"] = encode_png(smooth(3, 5, 3, 255), 2, 8, True)
    # saved by PIL's own encoder (other filters, zlib settings)
    rgb = Image.fromarray(smooth(61, 97, 3, 255).astype(np.uint8), "RGB")
    for mode in ("RGB", "RGBA", "L", "P"):
        im = rgb.convert(mode) if mode != "P" else rgb.quantize(50)
        b = io.BytesIO()
        im.save(b, "PNG")
        out["pil_%s.png" % mode.lower()] = b.getvalue()
    return out


def jpeg_variants():
    out = {}
    rgb = Image.fromarray(smooth(45, 67, 3, 255).astype(np.uint8), "RGB")
    for name, kw in (("rgb444", dict(quality=95, subsampling=0)),
                     ("rgb422", dict(quality=85, subsampling=1)),
                     ("rgb420", dict(quality=75, subsampling=2)),
                     ("rgb420_progressive", dict(quality=80, subsampling=2, progressive=True)),
                     ("rgb_optimized", dict(quality=60, optimize=True))):
        b = io.BytesIO()
        rgb.save(b, "JPEG", **kw)
        out[name + ".jpg"] = b.getvalue()
    out["garbage_after_eoi.jpg"] = out["rgb444.jpg"] + b"junk" * 10  # PIL stops at EOI
    for name, im in (("gray", rgb.convert("L")), ("cmyk", rgb.convert("CMYK")),
                     ("odd_1x1", rgb.crop((0, 0, 1, 1))), ("odd_17x9", rgb.crop((3, 5, 20, 14)))):
        b = io.BytesIO()
        im.save(b, "JPEG", quality=90)
        out[name + ".jpg"] = b.getvalue()
    return out


def jpeg_refused():
    """JPEGs PIL 9.4 fails on after their pixels: libjpeg reads on to EOI after the last row
    (a second SOF or SOI there is an error, "broken data stream"), or the data ends inside
    the last rows ("image file is truncated")."""
    j = jpeg_variants()["rgb444.jpg"]
    sof = j.index(b"\xff\xc0")
    seg = j[sof:sof + 2 + int.from_bytes(j[sof + 2:sof + 4], "big")]
    return [("sof_after_scan.jpg", j[:-2] + seg + b"\xff\xd9", "pil"),
            ("soi_after_scan.jpg", j[:-2] + b"\xff\xd8\xff\xd9", "pil"),
            ("no_eoi.jpg", j[:-2], "pil")]


# Keras load_img(interpolation=...) names -> PIL filters
RESIZE_FILTERS = (("nearest", Image.NEAREST), ("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC),
                  ("lanczos", Image.LANCZOS), ("box", Image.BOX), ("hamming", Image.HAMMING))


# (source name, source w, h, list of target (w, h)) for resize checks
def resize_cases():
    cases = [
        ("rz_28x28_gray.png", 28, 28, [(150, 150), (7, 7), (29, 27)]),
        ("rz_150x150.png", 150, 150, [(28, 28), (149, 151), (224, 224), (150, 28)]),
        ("rz_97x61.png", 97, 61, [(150, 150), (240, 240), (13, 7), (97, 5), (3, 61)]),
        ("rz_300x200.png", 300, 200, [(224, 224), (150, 150), (299, 299), (32, 32)]),
        ("rz_1x1.png", 1, 1, [(7, 7), (1, 3)]),
        ("rz_1x9.png", 1, 9, [(5, 4), (2, 17)]),
    ]
    sweep = []
    for _ in range(24):  # random odd sizes, up- and down-scaling
        sweep.append((int(RNG.randint(1, 200)), int(RNG.randint(1, 200))))
    cases.append(("rz_41x53.png", 41, 53, sweep))
    return cases


def keras_preprocess(rgb_u8, mode):
    """keras.applications.imagenet_utils.preprocess_input (numpy path, float32 input)."""
    x = rgb_u8.astype(np.float32)
    if mode == "none":
        return x
    if mode == "rescale":  # ImageDataGenerator(rescale=1./255).standardize: x *= rescale
        x *= 1.0 / 255
        return x
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    else:
        x = x[..., ::-1]
        mean, std = [103.939, 116.779, 123.68], None
    x[..., 0] -= mean[0]
    x[..., 1] -= mean[1]
    x[..., 2] -= mean[2]
    if std is not None:
        x[..., 0] /= std[0]
        x[..., 1] /= std[1]
        x[..., 2] /= std[2]
    return x


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def make_all(outdir, extras):
    os.makedirs(outdir, exist_ok=True)
    files = dict(png_variants())
    files.update(jpeg_variants())
    for name, w, h, _ in resize_cases():
        mode = "L" if "gray" in name else "RGB"
        im = Image.fromarray(smooth(h, w, 3, 255).astype(np.uint8), "RGB").convert(mode)
        b = io.BytesIO()
        im.save(b, "PNG")
        files[name] = b.getvalue()
    files.update(keras_formats.bmp_variants())
    files.update(keras_formats.pnm_variants())
    files.update(keras_formats.tiff_variants())
    files["png_bytes_named.jpg"] = files["rgb8.png"]  # format comes from the signature
    files["bmp_bytes_named.png"] = files["rgb24.bmp"]
    for path in extras:
        with open(path, "rb") as f:
            files[os.path.basename(path)] = f.read()
    lines = []
    for name in sorted(files):
        write(os.path.join(outdir, name), files[name])
        rgb = Image.open(io.BytesIO(files[name])).convert("RGB")
        write(os.path.join(outdir, name + ".rgb"), rgb.tobytes())
        lines.append("decode %s %d %d" % (name, rgb.width, rgb.height))
    for name, data, why in (keras_formats.bmp_refused() + keras_formats.pnm_refused() +
                           keras_formats.tiff_refused() + jpeg_refused()):
        write(os.path.join(outdir, name), data)
        if why == "pil":  # PIL must fail on it too, opened from memory or from the path
            for src in (io.BytesIO(data), os.path.join(outdir, name)):
                try:
                    Image.open(src).convert("RGB")
                except Exception:
                    continue
                sys.exit("make_images.py: PIL opens %s, listed as refused by PIL" % name)
        lines.append("refuse %s" % name)
    accum_differs = 0
    for name, w, h, targets in resize_cases():
        rgb = Image.open(os.path.join(outdir, name)).convert("RGB")
        for tw, th in targets:
            for mode, filt in RESIZE_FILTERS:
                ref = "%s.%s.%dx%d.rgb" % (name, mode, tw, th)
                write(os.path.join(outdir, ref), rgb.resize((tw, th), filt).tobytes())
                lines.append("resize %s %s %d %d %s" % (name, mode, tw, th, ref))
            accum_differs += nearest_accumulation_matters(w, tw) + nearest_accumulation_matters(h, th)
    rgb = np.asarray(Image.open(os.path.join(outdir, "rgb8.png")).convert("RGB"))
    for mode in ("caffe", "tf", "torch", "rescale", "none"):
        ref = "rgb8.png.%s.f32" % mode
        write(os.path.join(outdir, ref), np.ascontiguousarray(keras_preprocess(rgb, mode), "<f4").tobytes())
        lines.append("pre rgb8.png %s %s" % (mode, ref))
    write(os.path.join(outdir, "manifest.txt"), ("\n".join(lines) + "\n").encode())
    print("%d checks, %d resize axes where accumulated != direct nearest coordinates"
          % (len(lines), accum_differs))


def nearest_accumulation_matters(n_in, n_out):
    """1 if PIL's accumulated source coordinate differs from floor((x+.5)*in/out) somewhere."""
    a = n_in / n_out
    xo = a * 0.5
    for x in range(n_out):
        if int(xo) != int((x + 0.5) * a):
            return 1
        xo += a
    return 0


def make_bad(outdir):
    """The bad-image set: each file with the error fragment it must produce."""
    os.makedirs(outdir, exist_ok=True)
    good = encode_png(smooth(23, 37, 3, 255), 2, 8)
    b = io.BytesIO()
    Image.fromarray(smooth(45, 67, 3, 255).astype(np.uint8), "RGB").save(b, "JPEG", quality=90)
    jpg = b.getvalue()
    idat = good.index(b"IDAT")
    bad_crc = bytearray(good)
    crc_at = idat + 4 + struct.unpack(">I", good[idat - 4:idat])[0]
    bad_crc[crc_at] ^= 0xFF
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    wide = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0x7FFFFFFF, 1, 8, 0, 0, 0, 0))
            + chunk(b"IEND", b""))
    sof = jpg.index(b"\xff\xc0")
    # IDAT that inflates to only half the rows: PIL silently returns a partly black image;
    # we refuse it as corrupt
    pix = smooth(10, 10, 3, 255)
    raw = b"".join(b"\0" + pack_row(r.reshape(-1), 8) for r in pix)
    short_idat = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10, 10, 8, 2, 0, 0, 0))
                  + chunk(b"IDAT", zlib.compress(raw[: len(raw) // 2])) + chunk(b"IEND", b""))
    files = [
        ("truncated.png", good[: len(good) // 2], "truncated PNG data"),
        ("bad_crc.png", bytes(bad_crc), "CRC error"),
        ("zero_width.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 1, 8, 2, 0, 0, 0))
         + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""), "bad PNG: Invalid IHDR"),
        ("bomb_100000x100000.png", bomb, "over the limit"),
        ("huge_width.png", wide, "bad PNG: Invalid IHDR"),
        ("sig_only.png", good[:8], "truncated PNG data"),
        ("short_idat.png", short_idat, "Not enough image data"),
        ("truncated.jpg", jpg[: len(jpg) * 2 // 3], "truncated JPEG data"),
        ("header_only.jpg", jpg[:sof + 19], "truncated JPEG data"),
        ("garbage_after_soi.jpg", b"\xff\xd8\xff" + bytes(RNG.randint(0, 255, 300).astype(np.uint8)), "bad JPEG"),
        ("bad_bits.jpg", jpg[:sof + 4] + b"\x0c" + jpg[sof + 5:], "bad JPEG"),
        ("text.png", b"this is a text file, not an image\n", "not a PNG, JPEG"),
        ("empty.jpg", b"", "empty file"),
        ("empty.png", b"", "empty file"),
    ]
    files += keras_formats.bad_files()
    for name, data, _ in files:
        write(os.path.join(outdir, name), data)
    write(os.path.join(outdir, "EXPECTED"),
          ("# file<TAB>fragment of the expected error message (checked by tests/unit/test_image.c)\n"
           + "".join("%s\t%s\n" % (n, e) for n, _, e in files)).encode())


def make_corpus(root):
    """Small fuzz seeds: tests/fuzz/corpus/{png,jpeg,bmp,...} (valid variants; make_bad adds
    broken PNG/JPEG ones, keras_formats.fuzz_seeds() its own)."""
    for sub in ("png", "jpeg"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    pal = RNG.randint(0, 256, (16, 3)).astype(np.uint8).tobytes()
    pngs = {
        "rgb8.png": encode_png(smooth(23, 37, 3, 255), 2, 8),  # test_image.c uses its 37x23 size
        "gray2.png": encode_png(smooth(7, 9, 1, 3), 0, 2),
        "gray16.png": encode_png(smooth(7, 9, 1, 65535), 0, 16),
        "ga16.png": encode_png(smooth(5, 6, 2, 65535), 4, 16),
        "rgba16_interlaced.png": encode_png(smooth(9, 11, 4, 65535), 6, 16, True),
        "pal4_trns_interlaced.png": encode_png(smooth(9, 10, 1, 15), 3, 4, True,
                                               extra=chunk(b"PLTE", pal) + chunk(b"tRNS", b"\x00\x80")),
        "tiny_1x1.png": encode_png(smooth(1, 1, 3, 255), 2, 8),
    }
    jpegs = {}
    rgb = Image.fromarray(smooth(16, 19, 3, 255).astype(np.uint8), "RGB")
    for name, im, kw in (("rgb420.jpg", rgb, dict(quality=70)),
                         ("rgb444_progressive.jpg", rgb, dict(quality=70, subsampling=0, progressive=True)),
                         ("gray.jpg", rgb.convert("L"), dict(quality=70)),
                         ("cmyk.jpg", rgb.convert("CMYK").crop((0, 0, 9, 8)), dict(quality=70))):
        b = io.BytesIO()
        im.save(b, "JPEG", **kw)
        jpegs[name] = b.getvalue()
    for name, data in pngs.items():
        write(os.path.join(root, "png", name), data)
    for name, data in jpegs.items():
        write(os.path.join(root, "jpeg", name), data)
    for sub, seeds in keras_formats.fuzz_seeds().items():
        os.makedirs(os.path.join(root, sub), exist_ok=True)
        for name, data in seeds.items():
            write(os.path.join(root, sub, name), data)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--bad":
        make_bad(sys.argv[2])
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "--corpus":
        make_corpus(sys.argv[2])
        return
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    make_all(sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()
