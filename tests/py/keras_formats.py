"""keras_formats.py - BMP, PNM and TIFF test files for make_images.py.

Keras' flow_from_directory also lists .bmp, .ppm, .tif and .tiff and loads them with PIL.
Each *_variants() returns {name: bytes}; make_images.py stores PIL's
Image.open(name).convert('RGB') next to each (the reference common/image_*.c must equal).
Files PIL writes itself are saved by PIL; layouts PIL cannot write (OS/2 headers,
bitfields, run-length encoding, odd palettes, plain PNM, odd maxvals) are built byte by
byte here from the format specifications, not from featcache's code.

*_refused() returns [(name, bytes, why)] of files featcache must refuse: `why` is "pil"
when PIL 9.4 fails on the file too (make_images.py checks that it does), otherwise a note
on why featcache refuses a file PIL opens.
"""
import io
import struct

import numpy as np
from PIL import Image

RNG = np.random.RandomState(20261126)


def _noise(h, w, c, maxv):
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * (k + 2) * 29 + yy * (4 - k) * 17) % 256 for k in range(c)], -1) / 255.0
    v = 0.6 * base + 0.4 * RNG.rand(h, w, c)
    return np.minimum(np.floor(v * (maxv + 1)), maxv).astype(np.int64)


# ---------------------------------------------------------------------------- BMP

def _pack_bits(idx_row, bits):
    """One row of palette indexes -> packed bytes, most significant bits first."""
    if bits == 8:
        return bytes(int(v) for v in idx_row)
    per = 8 // bits
    out = bytearray((len(idx_row) + per - 1) // per)
    for x, v in enumerate(idx_row):
        out[x // per] |= int(v) << (8 - bits * (x % per + 1))
    return bytes(out)


def _pad4(row):
    return row + b"\0" * ((-len(row)) % 4)


def bmp_file(w, h, bits, rows, palette=b"", hsize=40, comp=0, colors=0, masks=None,
             topdown=False, offset=None, dib=False, trailer=b"", gap=b""):
    """rows: the pixel rows in file order (already packed and padded, or an RLE stream as
    one bytes object). masks: (r, g, b[, a]) for BI_BITFIELDS."""
    pixels = rows if isinstance(rows, bytes) else b"".join(rows)
    if hsize == 12:
        info = struct.pack("<IHHHH", 12, w, h, 1, bits)
    else:
        info = struct.pack("<IiiHHIIiiII", hsize, w, -h if topdown else h, 1, bits, comp,
                           len(pixels), 2835, 2835, colors, 0)
        after = b""
        if masks is not None and hsize >= 56:
            m = (tuple(masks) + (0,))[:4]
            info += struct.pack("<IIII", *m)
        elif masks is not None:
            after = struct.pack("<III", *masks[:3])
        info += b"\0" * (hsize - len(info))
        info += after
    head = 0 if dib else 14
    off = head + len(info) + len(palette) + len(gap) if offset is None else offset
    body = info + palette + gap + pixels + trailer
    if dib:
        return body
    return b"BM" + struct.pack("<IHHI", head + len(body), 0, 0, off) + body


def _pal(n, pad=4, gray=False):
    if gray:
        ent = [(i & 255,) * 3 for i in range(n)]
    else:
        ent = [tuple(int(c) for c in RNG.randint(0, 256, 3)) for _ in range(n)]
    return b"".join(bytes(e) + (b"\0" if pad == 4 else b"") for e in ent)


def _indexed(w, h, bits, maxidx):
    idx = _noise(h, w, 1, maxidx)[..., 0]
    return [_pad4(_pack_bits(r, bits)) for r in idx]


def _direct(w, h, bpp, fn):
    """fn(row of (w,3) values) -> bytes of one row (unpadded)."""
    pix = _noise(h, w, 4, 255)
    return [_pad4(fn(r)) for r in pix]


def _rle8(w, h, base=0):
    """A run-length stream exercising runs, absolute runs (odd and even), end of line,
    runs clipped at the row end, and end of bitmap once the image is full. base: the
    file offset of the stream (absolute runs end on an even file offset)."""
    out = bytearray()
    for y in range(h):
        x = 0
        while x < w:
            n = min(int(RNG.randint(1, 9)), w - x)
            if y % 3 == 1 and n >= 3:  # absolute run
                out += bytes([0, n]) + bytes(int(v) for v in RNG.randint(0, 40, n))
                if (base + len(out)) % 2:
                    out += b"\0"
            else:
                out += bytes([n, int(RNG.randint(0, 40))])
            x += n
        if y % 4 == 2:
            out += bytes([5, 7])  # past the row end: PIL clips it to nothing
        out += b"\0\0"  # end of line
    return bytes(out + b"\0\1")


def _rle4(w, h):
    out = bytearray()
    for y in range(h):
        x = 0
        while x < w:
            n = min(int(RNG.randint(1, 9)), w - x)
            if y % 3 == 1 and n >= 4 and n % 2 == 0:  # absolute run of n nibbles
                nb = n // 2
                out += bytes([0, n]) + bytes(int(v) for v in RNG.randint(0, 256, nb))
                if nb % 2:
                    out += b"\0"
            else:
                out += bytes([n, int(RNG.randint(0, 256))])
            x += n
        out += b"\0\0"
    return bytes(out + b"\0\1")


def bmp_variants():
    out = {}
    w, h = 37, 23
    rgb = Image.fromarray(_noise(h, w, 3, 255).astype(np.uint8), "RGB")
    for mode in ("RGB", "RGBA", "L", "P", "1"):  # what PIL writes
        im = rgb.quantize(60) if mode == "P" else rgb.convert(mode)
        b = io.BytesIO()
        im.save(b, "BMP")
        out["pil_%s.bmp" % mode.lower()] = b.getvalue()
    # palettes: full, short (indexes past the end show PIL's gray ramp), 3-byte OS/2 entries
    for bits in (1, 4, 8):
        n = 1 << bits
        out["pal%d.bmp" % bits] = bmp_file(w, h, bits, _indexed(w, h, bits, n - 1), _pal(n), colors=n)
        out["pal%d_short.bmp" % bits] = bmp_file(w, h, bits, _indexed(w, h, bits, n - 1),
                                                 _pal(max(1, n // 3)), colors=max(1, n // 3))
        out["os2_pal%d.bmp" % bits] = bmp_file(w, h, bits, _indexed(w, h, bits, n - 1), _pal(n, 3), hsize=12)
    out["pal8_colors0.bmp"] = bmp_file(w, h, 8, _indexed(w, h, 8, 255), _pal(256))  # 0 = 2^bits
    out["pal8_topdown.bmp"] = bmp_file(w, h, 8, _indexed(w, h, 8, 255), _pal(256), topdown=True)
    # gray palettes: PIL drops them and reads mode L / 1
    out["gray8.bmp"] = bmp_file(w, h, 8, _indexed(w, h, 8, 255), _pal(256, gray=True), colors=256)
    out["gray8_100.bmp"] = bmp_file(w, h, 8, _indexed(w, h, 8, 255), _pal(100, gray=True), colors=100)
    bw = b"\0\0\0\0\xff\xff\xff\0"
    out["bw1.bmp"] = bmp_file(w, h, 1, _indexed(w, h, 1, 1), bw, colors=2)
    # an 8-bit file with a 2-colour black/white palette: PIL reads its bytes as 1-bit pixels
    out["bw_pal_8bit.bmp"] = bmp_file(w, h, 8, _indexed(w, h, 8, 255), bw, colors=2)
    # a 4-bit file with a gray 0..15 palette, narrow enough that PIL's 8-bit rows fit
    out["gray16_4bit_narrow.bmp"] = bmp_file(3, 5, 4, _indexed(3, 5, 4, 15), _pal(16, gray=True), colors=16)
    # direct colour
    out["rgb24.bmp"] = bmp_file(w, h, 24, _direct(w, h, 3, lambda r: r[:, 2::-1].astype(np.uint8).tobytes()))
    out["rgb24_topdown.bmp"] = bmp_file(w, h, 24, _direct(w, h, 3, lambda r: r[:, 2::-1].astype(np.uint8).tobytes()),
                                        topdown=True)
    out["os2_rgb24.bmp"] = bmp_file(w, h, 24, _direct(w, h, 3, lambda r: r[:, 2::-1].astype(np.uint8).tobytes()),
                                    hsize=12)
    out["bgrx32.bmp"] = bmp_file(w, h, 32, _direct(w, h, 4, lambda r: r.astype(np.uint8).tobytes()))
    masks32 = {"bgrx": (0xFF0000, 0xFF00, 0xFF, 0), "xbgr": (0xFF000000, 0xFF0000, 0xFF00, 0),
               "abgr": (0xFF000000, 0xFF0000, 0xFF00, 0xFF), "rgba": (0xFF, 0xFF00, 0xFF0000, 0xFF000000),
               "bgra": (0xFF0000, 0xFF00, 0xFF, 0xFF000000), "zero": (0, 0, 0, 0)}
    for hs in (108, 124):
        for name, m in masks32.items():
            out["bf32_%s_v%d.bmp" % (name, hs)] = bmp_file(
                w, h, 32, _direct(w, h, 4, lambda r: r.astype(np.uint8).tobytes()), hsize=hs, comp=3, masks=m)
    out["bf32_bgrx_40.bmp"] = bmp_file(w, h, 32, _direct(w, h, 4, lambda r: r.astype(np.uint8).tobytes()),
                                       comp=3, masks=masks32["bgrx"][:3])
    out["bf32_xbgr_os2v2.bmp"] = bmp_file(w, h, 32, _direct(w, h, 4, lambda r: r.astype(np.uint8).tobytes()),
                                          hsize=64, comp=3, masks=masks32["xbgr"])
    out["bf24.bmp"] = bmp_file(w, h, 24, _direct(w, h, 3, lambda r: r[:, :3].astype(np.uint8).tobytes()),
                               comp=3, masks=(0xFF0000, 0xFF00, 0xFF))
    # 16-bit: every one of the 65536 values once, as 5-5-5 (default and bitfields) and 5-6-5
    allv = np.arange(65536, dtype="<u2").reshape(256, 256)
    rows16 = [r.tobytes() for r in allv]
    out["rgb555_all.bmp"] = bmp_file(256, 256, 16, rows16)
    out["bf555_all.bmp"] = bmp_file(256, 256, 16, rows16, comp=3, masks=(0x7C00, 0x3E0, 0x1F))
    out["bf565_all.bmp"] = bmp_file(256, 256, 16, rows16, hsize=124, comp=3, masks=(0xF800, 0x7E0, 0x1F, 0))
    out["rgb555_odd.bmp"] = bmp_file(7, 5, 16, [_pad4(r.tobytes()) for r in allv[:5, :7]])
    # run-length encoded
    out["rle8.bmp"] = bmp_file(w, h, 8, _rle8(w, h), _pal(40), comp=1, colors=40)
    out["rle8_topdown.bmp"] = bmp_file(w, h, 8, _rle8(w, h), _pal(256), comp=1, topdown=True)
    out["rle8_gray.bmp"] = bmp_file(w, h, 8, _rle8(w, h), _pal(256, gray=True), comp=1)
    # word alignment after an absolute run is by file position: an odd data offset
    out["rle8_odd_offset.bmp"] = bmp_file(w, h, 8, _rle8(w, h, 14 + 40 + 1024 + 1), _pal(256), comp=1,
                                          gap=b"\0")
    out["rle4.bmp"] = bmp_file(w, h, 4, _rle4(w, h), _pal(16), comp=2, colors=16)
    # a delta escape: PIL 9.4 takes the offsets from the two bytes after the real ones
    d = bytes([3, 5, 0, 2, 1, 0, 2, 1, 1, 9, 0, 0, 6, 7, 0, 0, 6, 8, 0, 1])
    out["rle8_delta.bmp"] = bmp_file(6, 4, 8, d, _pal(16), comp=1, colors=16)
    # an odd absolute run in RLE4: PIL reads n/2 bytes
    d = bytes([0, 5, 0x12, 0x34, 0x56, 0, 0, 0, 6, 0xAB, 0, 0, 6, 0xCD, 0, 0, 0, 1])
    out["rle4_odd_absolute.bmp"] = bmp_file(6, 3, 4, d, _pal(16), comp=2, colors=16)
    # data offsets: 0 (data follows the palette), pointing at the palette (PIL skips it)
    out["offset0.bmp"] = bmp_file(w, h, 8, _indexed(w, h, 8, 255), _pal(256), colors=256, offset=0)
    out["offset_at_palette.bmp"] = bmp_file(w, h, 4, _indexed(w, h, 4, 15), _pal(16), colors=16, offset=54)
    out["dib_rgb24.bmp"] = bmp_file(w, h, 24, _direct(w, h, 3, lambda r: r[:, :3].astype(np.uint8).tobytes()), dib=True)
    out["dib_pal8.bmp"] = bmp_file(w, h, 8, _indexed(w, h, 8, 255), _pal(256), colors=256, dib=True)
    # the last row's padding missing (PIL's decoder does not need it)
    out["rgb24_no_last_pad.bmp"] = bmp_file(5, 3, 24, _direct(5, 3, 3, lambda r: r[:, :3].astype(np.uint8).tobytes()))[:-1]
    out["rgb24_trailer.bmp"] = bmp_file(5, 3, 24, _direct(5, 3, 3, lambda r: r[:, :3].astype(np.uint8).tobytes()),
                                        trailer=b"trailing bytes")
    out["tiny_1x1.bmp"] = bmp_file(1, 1, 24, [b"\1\2\3\0"])
    return out


def bmp_refused():
    w, h = 9, 4
    rows24 = _direct(w, h, 3, lambda r: r[:, :3].astype(np.uint8).tobytes())
    good = bmp_file(w, h, 24, rows24)
    out = [
        ("bmp_truncated.bmp", good[:-20], "pil"),
        ("bmp_header_only.bmp", good[:30], "pil"),
        ("bmp_header52.bmp", bmp_file(w, h, 24, rows24, hsize=52), "pil"),
        ("bmp_bits2.bmp", bmp_file(w, h, 2, [_pad4(_pack_bits([1] * w, 2))] * h, _pal(4)), "pil"),
        ("bmp_jpeg.bmp", bmp_file(w, h, 24, rows24, comp=4), "pil"),
        ("bmp_bad_masks.bmp", bmp_file(w, h, 32, _direct(w, h, 4, lambda r: r.astype(np.uint8).tobytes()),
                                       hsize=124, comp=3, masks=(0xFF00, 0xFF0000, 0xFF, 0)), "pil"),
        ("bmp_rle_short.bmp", bmp_file(4, 2, 8, bytes([4, 1, 0, 0, 0, 1]), _pal(256), comp=1), "pil"),
        ("bmp_rle24.bmp", bmp_file(4, 2, 24, bytes([4, 1, 0, 0, 0, 1]), comp=1), "pil"),
        ("bmp_rle_bw.bmp", bmp_file(4, 1, 8, bytes([4, 1, 0, 1]), b"\0\0\0\0\xff\xff\xff\0", comp=1, colors=2), "pil"),
        ("bmp_palette300.bmp", bmp_file(w, h, 8, _indexed(w, h, 8, 255), _pal(300), colors=300), "pil"),
        ("bmp_delta_cut.bmp", bmp_file(4, 2, 8, bytes([4, 1, 0, 2, 1, 0]), _pal(256), comp=1), "pil"),
        ("bmp_bomb.bmp", bmp_file(100000, 100000, 24, b""), "pil"),
        # PIL: a memory-mapped read runs into the next row, the plain decoder fails
        ("bmp_gray4_wide.bmp", bmp_file(37, 3, 4, _indexed(37, 3, 4, 15), _pal(16, gray=True), colors=16),
         "featcache: PIL decodes it two ways"),
    ]
    return out


# ---------------------------------------------------------------------------- shared

def bad_files():
    """tests/bad/images additions: (name, bytes, fragment of featcache's error)."""
    w, h = 9, 4
    rows24 = _direct(w, h, 3, lambda r: r[:, :3].astype(np.uint8).tobytes())
    good = bmp_file(w, h, 24, rows24)
    return [
        ("truncated.bmp", good[:-20], "truncated BMP data"),
        ("header52.bmp", bmp_file(w, h, 24, rows24, hsize=52), "BMP info header of 52 bytes: not supported"),
        ("bomb_100000x100000.bmp", bmp_file(100000, 100000, 24, b""), "over the limit"),
        ("rle_short.bmp", bmp_file(4, 2, 8, bytes([4, 1, 0, 0, 0, 1]), _pal(256), comp=1), "not enough image data"),
        ("truncated.ppm", b"P6\n9 4\n255\n" + bytes(100), "truncated PNM data"),
        ("maxval0.ppm", b"P5\n2 2\n0\n\0\0\0\0", "maxval 0"),
        ("plain_short.ppm", b"P3\n2 2\n255\n1 2 3 4 5 6\n", "plain PNM data ends after 6 of 12 samples"),
        ("bomb_100000x100000.ppm", b"P6\n100000 100000\n255\n", "over the limit"),
        ("truncated.tif", tiff_file(w, h, 2, 8, 3, _strips(rows24_arr(w, h), h))[:60], "bad TIFF"),
        ("gray16.tif", tiff_file(w, h, 1, 16, 1, [bytes(2 * w * h)]), "TIFF with 16-bit samples"),
        ("bomb_100000x100000.tif", tiff_file(100000, 100000, 2, 8, 3, [b"\0" * 16]), "over the limit"),
        # a 1x1 image declaring one 65536x65536 tile: 12 GiB tile buffer before the fix
        ("huge_tile.tif", tiff_file(1, 1, 2, 8, 3, [b"\0" * 16], tile=(65536, 65536)),
         "TIFF tiles of 65536x65536 pixels"),
        ("extra_strip.tif", tiff_file(w, h, 2, 8, 3, [bytes(3 * w * h)] * 2),
         "2 strip offsets for the 1 strips"),
    ]


def rows24_arr(w, h):
    return _noise(h, w, 3, 255).astype(np.uint8)


def fuzz_seeds():
    """{corpus folder: {name: bytes}}: small valid files of every layout, and broken ones."""
    keep = ("pal1", "pal4_short", "os2_pal8", "gray8_100", "bw_pal_8bit", "gray16_4bit_narrow",
            "rgb555_odd", "bf32_rgba_v124", "bf32_xbgr_os2v2", "bf24", "rle8_delta",
            "rle4_odd_absolute", "offset_at_palette", "dib_pal8", "rgb24_no_last_pad")
    small = {}
    for name, data in bmp_variants().items():
        if name[:-4] in keep:
            small[name] = data
    small["rle8_small.bmp"] = bmp_file(11, 7, 8, _rle8(11, 7), _pal(40), comp=1, colors=40)
    small["rle4_small.bmp"] = bmp_file(11, 7, 4, _rle4(11, 7), _pal(16), comp=2, colors=16, topdown=True)
    for name, data, _ in bmp_refused():
        if len(data) < 4096:
            small[name] = data
    pnm = {n: d for n, d in pnm_variants().items() if len(d) < 4096}
    pnm.update((n, d) for n, d, _ in pnm_refused() if len(d) < 4096)
    tif = {n: d for n, d in tiff_variants().items() if len(d) < 4096}
    tif.update((n, d) for n, d, _ in tiff_refused() if len(d) < 4096)
    return {"bmp": small, "pnm": pnm, "tiff": tif}


# ---------------------------------------------------------------------------- PNM

def _pnm_binary(kind, w, h, maxval, samples, head=None):
    """samples: (h, w[, 3]) integers; 1 byte each when maxval < 256, else 2 (big endian)."""
    head = head if head is not None else b"P%d\n%d %d\n%d\n" % (kind, w, h, maxval)
    dt = np.uint8 if maxval < 256 else ">u2"
    return head + np.asarray(samples).astype(dt).tobytes()


def _pnm_plain(kind, w, h, maxval, samples, per_line=12, sep=b" "):
    head = b"P%d\n%d %d\n" % (kind, w, h) + (b"%d\n" % maxval if kind != 1 else b"")
    vals = [b"%d" % v for v in np.asarray(samples).reshape(-1)]
    lines = [sep.join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    return head + b"\n".join(lines) + b"\n"


def pnm_variants():
    out = {}
    w, h = 37, 23
    rgb = Image.fromarray(_noise(h, w, 3, 255).astype(np.uint8), "RGB")
    for mode, ext in (("RGB", "ppm"), ("L", "pgm"), ("1", "pbm")):  # what PIL writes
        b = io.BytesIO()
        rgb.convert(mode).save(b, "PPM")
        out["pil_%s.%s" % (mode.lower(), ext)] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(_noise(h, w, 1, 600)[..., 0].astype(np.int32), "I").save(b, "PPM")
    out["pil_i16.pgm"] = b.getvalue()  # P5 maxval 65535: PIL clips at 255 in convert('RGB')
    out["p6.ppm"] = _pnm_binary(6, w, h, 255, _noise(h, w, 3, 255))
    out["p5.ppm"] = _pnm_binary(5, w, h, 255, _noise(h, w, 1, 255)[..., 0])
    # maxvals other than 255: scaled with Python's round(); samples over maxval (binary) cap
    for mv in (1, 15, 100, 254, 256, 1000, 4095, 65534, 65535):
        for kind, c in ((5, 1), (6, 3)):
            s = _noise(h, w, c, mv)
            s.reshape(-1)[::41] = min(mv + 3, 255 if mv < 256 else 65535)  # over maxval
            out["p%d_max%d.ppm" % (kind, mv)] = _pnm_binary(kind, w, h, mv, s if c == 3 else s[..., 0])
    # every value of maxval 100 and 1000 once (ties of round() included)
    out["p5_max100_all.ppm"] = _pnm_binary(5, 101, 1, 100, np.arange(101).reshape(1, 101))
    out["p5_max1000_all.ppm"] = _pnm_binary(5, 1001, 1, 1000, np.arange(1001).reshape(1, 1001))
    out["p5_max65535_all.ppm"] = _pnm_binary(5, 256, 256, 65535, np.arange(65536).reshape(256, 256))
    for pw in (1, 7, 8, 9, 37):
        bits = _noise(5, pw, 1, 1)[..., 0]
        out["p4_w%d.ppm" % pw] = (b"P4\n%d 5\n" % pw +
                                  b"".join(_pack_bits(r, 1) for r in bits))
    # headers: comments (also inside a number), every whitespace byte, CRLF
    s = _noise(h, w, 3, 255)
    out["p6_comments.ppm"] = _pnm_binary(6, w, h, 255, s, b"P6 # made by hand\n#another\n3#split\n7\t2#x\r\n3\x0b255\n")
    out["p6_crlf.ppm"] = _pnm_binary(6, w, h, 255, s, b"P6\r\n37 23\r\n255\r")
    # plain formats
    out["p1.ppm"] = _pnm_plain(1, w, h, 1, _noise(h, w, 1, 1))
    bits = _noise(h, w, 1, 1).reshape(-1)
    out["p1_packed.ppm"] = (b"P1\n# no spaces\n%d %d\n" % (w, h) + b"".join(b"%d" % v for v in bits[:300]) +
                            b"\n#c\n" + b"".join(b"%d" % v for v in bits[300:]) + b"\n")
    out["p2.ppm"] = _pnm_plain(2, w, h, 255, _noise(h, w, 1, 255))
    out["p2_max100.ppm"] = _pnm_plain(2, w, h, 100, _noise(h, w, 1, 100), sep=b"\t")
    out["p2_max1000.ppm"] = _pnm_plain(2, w, h, 1000, _noise(h, w, 1, 1000))
    out["p3.ppm"] = _pnm_plain(3, w, h, 255, _noise(h, w, 3, 255))
    out["p3_max7.ppm"] = _pnm_plain(3, w, h, 7, _noise(h, w, 3, 7))
    out["p3_max65535.ppm"] = _pnm_plain(3, w, h, 65535, _noise(h, w, 3, 65535))
    p3 = _pnm_plain(3, 5, 4, 255, _noise(4, 5, 3, 255))
    out["p3_comment_in_data.ppm"] = p3[:30] + b"#note\n" + p3[30:]
    # the last value without a newline and 4 values missing: PIL repeats the last one
    out["p2_short_no_newline.ppm"] = _pnm_plain(2, 5, 4, 255, _noise(4, 5, 1, 255)).rstrip()[:-12].rstrip()
    out["p2_big.ppm"] = _p2_blocks()
    out["p1_tiny.ppm"] = b"P1 1 1 1"
    return out


def _p2_blocks():
    """Over 2 MiB of plain PGM laid out around PIL's 1 MiB read blocks: a comment runs
    across the first block end right after the digit '1' (carried to block 2, where it
    joins the '2' after the comment: 12), block 2 ends on whitespace and block 3 starts
    with it. PIL 9.4 never drops the carried '1', so block 3 gets an extra value 1 and the
    file's last value falls off the end."""
    rng = np.random.RandomState(5)
    w, h = 800, 800
    vals = [b"%d" % v for v in rng.randint(0, 256, w * h)]
    head = b"P2\n%d %d\n255\n" % (w, h)
    mib = 1 << 20

    def take(limit, i):  # values joined by spaces while they fit in `limit` bytes
        out = bytearray()
        while len(out) + len(vals[i]) + 1 <= limit:
            out += vals[i] + b" "
            i += 1
        return bytes(out), i

    a, i = take(mib - 5 - 16, 0)
    a = a + b" " * (mib - 5 - len(a)) + b"1#abcdefgh\n2 "  # '#' before, newline after 1 MiB
    b, i = take(2 * mib - len(a) - 8, i + 1)
    b = b + b" " * (2 * mib - len(a) - len(b))
    c = b" " + b" ".join(vals[i:]) + b"\n"
    return head + a + b + c


def pnm_refused():
    w, h = 9, 4
    p6 = _pnm_binary(6, w, h, 255, _noise(h, w, 3, 255))
    return [
        ("pnm_truncated.ppm", p6[:-5], "pil"),
        ("pnm_header_eof.ppm", b"P6\n9 4\n", "pil"),
        ("pnm_maxval0.ppm", b"P5\n2 2\n0\n\0\0\0\0", "pil"),
        ("pnm_maxval65536.ppm", b"P5\n2 2\n65536\n" + b"\0" * 8, "pil"),
        ("pnm_long_token.ppm", b"P5\n00000000002 2\n255\n\0\0\0\0", "pil"),
        ("pnm_magic_comment.ppm", b"P6#c\n2 2\n255\n" + b"\0" * 12, "pil"),
        ("pnm_p7.ppm", b"P7\nWIDTH 2\nHEIGHT 2\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n" + b"\0" * 12, "pil"),
        ("pnm_plain_over_maxval.ppm", b"P2\n2 2\n100\n1 2 101 4\n", "pil"),
        ("pnm_plain_bad_bit.ppm", b"P1\n2 2\n0 1 2 0\n", "pil"),
        ("pnm_plain_short.ppm", b"P3\n2 2\n255\n1 2 3 4 5 6\n", "pil"),
        ("pnm_plain_letter.ppm", b"P2\n2 2\n255\n1 2 x 4\n", "pil"),
        ("pnm_bomb.ppm", b"P6\n100000 100000\n255\n", "pil"),
        ("pnm_p4_short.ppm", b"P4\n9 4\n\0\0\0\0\0\0\0", "pil"),
        # the comment ends the header, then PIL reads pixel bytes as digits of maxval
        ("pnm_comment_before_data.ppm", _pnm_binary(6, w, h, 255, _noise(h, w, 3, 255), b"P6\n9 4\n255#x\r"), "pil"),
        ("pnm_plus_width.ppm", b"P5\n+2 2\n255\n\0\0\0\0", "featcache: a field other than decimal digits"),
    ]


# ---------------------------------------------------------------------------- TIFF

def tiff_file(w, h, photo, bps, spp, chunks, bo="<", tile=None, rps=None, planar=1, extra=None,
              colormap=None, comp=1, predictor=None, fill=None, sf=None, orientation=None,
              photometric=True, extra_tags=()):
    """A classic TIFF, one IFD; chunks: the strip (or tile) byte strings in order."""
    entries = []  # (tag, type, values)
    SHORT, LONG = 3, 4
    entries.append((256, LONG, [w]))
    entries.append((257, LONG, [h]))
    entries.append((258, SHORT, [bps] * spp))
    entries.append((259, SHORT, [comp]))
    if photometric:
        entries.append((262, SHORT, [photo]))
    if fill:
        entries.append((266, SHORT, [fill]))
    if orientation:
        entries.append((274, SHORT, [orientation]))
    entries.append((277, SHORT, [spp]))
    if planar != 1:
        entries.append((284, SHORT, [planar]))
    if predictor:
        entries.append((317, SHORT, [predictor]))
    if colormap is not None:
        entries.append((320, SHORT, list(colormap)))
    if extra is not None:
        entries.append((338, SHORT, list(extra)))
    if sf:
        entries.append((339, SHORT, [sf] * spp))
    entries += list(extra_tags)
    if tile:
        entries.append((322, LONG, [tile[0]]))
        entries.append((323, LONG, [tile[1]]))
        off_tag, cnt_tag = 324, 325
    else:
        entries.append((278, LONG, [rps or h]))
        off_tag, cnt_tag = 273, 279
    entries.append((off_tag, LONG, [0] * len(chunks)))
    entries.append((cnt_tag, LONG, [len(c) for c in chunks]))
    entries.sort()
    fmt = {1: "B", SHORT: "H", LONG: "I"}
    size = {1: 1, SHORT: 2, LONG: 4}
    # layout: header, pixel data, out-of-line values, IFD
    data = b"".join(chunks)
    offsets, pos = [], 8
    for c in chunks:
        offsets.append(pos)
        pos += len(c)
    entries = [(t, ty, offsets if t == off_tag else v) for t, ty, v in entries]
    blob = bytearray()
    base = 8 + len(data)
    ifd_entries = []
    for t, ty, v in entries:
        raw = struct.pack(bo + fmt[ty] * len(v), *v)
        if len(raw) <= 4:
            ifd_entries.append(struct.pack(bo + "HHI", t, ty, len(v)) + raw + b"\0" * (4 - len(raw)))
        else:
            if (base + len(blob)) % 2:
                blob += b"\0"
            ifd_entries.append(struct.pack(bo + "HHII", t, ty, len(v), base + len(blob)))
            blob += raw
    ifd_off = base + len(blob) + ((base + len(blob)) % 2)
    blob += b"\0" * ((base + len(blob)) % 2)
    head = (b"II*\0" if bo == "<" else b"MM\0*") + struct.pack(bo + "I", ifd_off)
    ifd = struct.pack(bo + "H", len(ifd_entries)) + b"".join(ifd_entries) + struct.pack(bo + "I", 0)
    return head + data + bytes(blob) + ifd


def _tiles(arr, tw, th):
    """(h, w, c) uint8 -> tile byte strings, row-major, edge tiles padded with zeros."""
    h, w = arr.shape[:2]
    out = []
    for y in range(0, h, th):
        for x in range(0, w, tw):
            t = np.zeros((th, tw) + arr.shape[2:], np.uint8)
            part = arr[y:y + th, x:x + tw]
            t[:part.shape[0], :part.shape[1]] = part
            out.append(t.tobytes())
    return out


def _strips(arr, rps):
    return [arr[y:y + rps].tobytes() for y in range(0, arr.shape[0], rps)]


def _pil_tiff(im, **kw):
    b = io.BytesIO()
    im.save(b, "TIFF", **kw)
    return b.getvalue()


def tiff_variants():
    import zlib
    out = {}
    w, h = 37, 23
    a3 = _noise(h, w, 3, 255).astype(np.uint8)
    rgb = Image.fromarray(a3, "RGB")
    for comp in ("raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg"):
        out["pil_rgb_%s.tif" % comp] = _pil_tiff(rgb, compression=comp)
        out["pil_l_%s.tif" % comp] = _pil_tiff(rgb.convert("L"), compression=comp)
    for comp in ("raw", "group3", "group4", "tiff_ccitt", "packbits"):
        out["pil_1_%s.tif" % comp] = _pil_tiff(rgb.convert("1"), compression=comp)
    for mode in ("RGBA", "LA", "CMYK", "RGBX"):
        out["pil_%s.tif" % mode.lower()] = _pil_tiff(rgb.convert(mode), compression="tiff_lzw")
    out["pil_p.tif"] = _pil_tiff(rgb.quantize(50))
    out["pil_p_lzw.tif"] = _pil_tiff(rgb.quantize(200), compression="tiff_lzw")
    out["pil_ycbcr_jpeg.tif"] = _pil_tiff(rgb.convert("YCbCr"), compression="jpeg")
    out["pil_jpeg_q40.tiff"] = _pil_tiff(rgb, compression="jpeg", quality=40)
    b = io.BytesIO()  # two pages: open() gives the first
    rgb.save(b, "TIFF", save_all=True, append_images=[rgb.transpose(Image.FLIP_LEFT_RIGHT).convert("L")])
    out["pil_multipage.tif"] = b.getvalue()
    # built here: strips, tiles, planar, byte orders, fill order, predictor, odd layouts
    out["rgb_strips3.tif"] = tiff_file(w, h, 2, 8, 3, _strips(a3, 3), rps=3)
    out["rgb_mm.tif"] = tiff_file(w, h, 2, 8, 3, _strips(a3, 5), bo=">", rps=5)
    out["rgb_tiled.tif"] = tiff_file(w, h, 2, 8, 3, _tiles(a3, 16, 16), tile=(16, 16))
    planes = [a3[..., k] for k in range(3)]
    out["rgb_planar.tif"] = tiff_file(w, h, 2, 8, 3, sum((_strips(p, 7) for p in planes), []), rps=7, planar=2)
    out["rgb_planar_tiled.tif"] = tiff_file(w, h, 2, 8, 3, sum((_tiles(p, 16, 32) for p in planes), []),
                                            tile=(16, 32), planar=2)
    a4 = _noise(h, w, 4, 255).astype(np.uint8)
    for name, ex in (("none", None), ("unspec", (0,)), ("unassoc", (2,)), ("corel", (999,))):
        out["rgb4_%s.tif" % name] = tiff_file(w, h, 2, 8, 4, _strips(a4, h), extra=ex)
    a5 = _noise(h, w, 5, 255).astype(np.uint8)
    out["rgb5_alpha_x.tif"] = tiff_file(w, h, 2, 8, 5, _strips(a5, h), extra=(2, 0))
    out["rgba_planar.tif"] = tiff_file(w, h, 2, 8, 4, [a4[..., k].tobytes() for k in range(4)], planar=2, extra=(2,))
    rows = [np.concatenate([[0], np.diff(r.astype(np.int16), axis=0).reshape(-1)]) for r in []]
    del rows
    pred = a3.astype(np.int16).copy()
    pred[:, 1:] = a3[:, 1:].astype(np.int16) - a3[:, :-1].astype(np.int16)
    out["rgb_deflate_predictor.tif"] = tiff_file(w, h, 2, 8, 3, [zlib.compress((pred % 256).astype(np.uint8).tobytes())],
                                                 comp=8, predictor=2)
    g = _noise(h, w, 1, 255)[..., 0].astype(np.uint8)
    out["gray_miniswhite.tif"] = tiff_file(w, h, 0, 8, 1, _strips(g, 4), rps=4)
    for bits in (1, 2, 4):
        gv = _noise(h, w, 1, (1 << bits) - 1)[..., 0]
        packed = b"".join(_pack_bits(r, bits) for r in gv)
        out["gray%d.tif" % bits] = tiff_file(w, h, 1, bits, 1, [packed])
        out["gray%d_miniswhite.tif" % bits] = tiff_file(w, h, 0, bits, 1, [packed])
        n = 1 << bits
        cmap = list(RNG.randint(0, 65536, 3 * n))
        out["pal%d.tif" % bits] = tiff_file(w, h, 3, bits, 1, [packed], colormap=cmap)
    rev = bytes(int("{:08b}".format(b)[::-1], 2) for b in out["gray1.tif"][8:8 + ((w + 7) // 8) * h])
    out["gray1_fillorder2.tif"] = tiff_file(w, h, 1, 1, 1, [rev], fill=2)
    gv = _noise(h, w, 1, 1)[..., 0]
    out["bw_tiled.tif"] = tiff_file(w, h, 0, 1, 1, [t for t in _tiles(gv.astype(np.uint8), 16, 16)], tile=(16, 16)) \
        if False else tiff_file(40, 16, 1, 1, 1, [b"".join(_pack_bits(r, 1) for r in _noise(16, 16, 1, 1)[..., 0])] * 3,
                                tile=(16, 16))
    for o in range(1, 9):  # PIL 9.4 applies the Orientation tag (2..8) when it loads a TIFF
        out["rgb_orientation%d.tif" % o] = tiff_file(w, h, 2, 8, 3, _strips(a3, h), orientation=o)
    out["gray_alpha.tif"] = tiff_file(w, h, 1, 8, 2, _strips(_noise(h, w, 2, 255).astype(np.uint8), h), extra=(2,))
    out["cmyk.tif"] = tiff_file(w, h, 5, 8, 4, _strips(a4, 9), rps=9)
    return out


def _tag_offset(data, tag, offset):
    """A little-endian classic TIFF with the value offset of IFD entry `tag` replaced."""
    data = bytearray(data)
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        if struct.unpack_from("<H", data, ifd + 2 + 12 * i)[0] == tag:
            struct.pack_into("<I", data, ifd + 2 + 12 * i + 8, offset)
    return bytes(data)


def tiff_refused():
    w, h = 9, 4
    a3 = _noise(h, w, 3, 255).astype(np.uint8)
    good = tiff_file(w, h, 2, 8, 3, _strips(a3, h))
    g16 = _noise(h, w, 1, 65535)[..., 0].astype("<u2")
    return [
        ("tiff_truncated.tif", good[:60], "pil"),
        ("tiff_header_only.tif", good[:8], "pil"),
        ("tiff_bomb.tif", tiff_file(100000, 100000, 2, 8, 3, [b"\0" * 16]), "pil"),
        ("tiff_gray16.tif", tiff_file(w, h, 1, 16, 1, [g16.tobytes()]), "featcache: PIL's I;16 -> RGB clips"),
        ("tiff_float.tif", tiff_file(w, h, 1, 32, 1, [np.ones((h, w), "<f4").tobytes()], sf=3),
         "featcache: floating point samples"),
        ("tiff_rgb16.tif", tiff_file(w, h, 2, 16, 3, [np.ones((h, w, 3), "<u2").tobytes()]), "featcache: 16-bit RGB"),
        ("tiff_premultiplied.tif", tiff_file(w, h, 2, 8, 4, [_noise(h, w, 4, 255).astype(np.uint8).tobytes()],
                                             extra=(1,)), "featcache: premultiplied alpha"),
        ("tiff_no_photometric.tif", tiff_file(w, h, 2, 8, 3, _strips(a3, h), photometric=False),
         "featcache: no Photometric tag"),
        ("tiff_lab.tif", tiff_file(w, h, 8, 8, 3, _strips(a3, h)), "featcache: LAB"),
        ("tiff_ycbcr_raw.tif", tiff_file(w, h, 6, 8, 3, _strips(a3, h)), "featcache: YCbCr without JPEG"),
        ("tiff_orientation9.tif", tiff_file(w, h, 2, 8, 3, _strips(a3, h), orientation=9),
         "featcache: libtiff reports the bad Orientation value as an error"),
        ("tiff_bigtiff.tif", b"II+\0\x08\0\0\0" + b"\0" * 16, "pil"),
        # uncompressed data PIL reads itself, one tile per offset: an extra strip paints over
        # the image, a missing one leaves black; libtiff reads what the geometry needs
        ("tiff_extra_strip.tif", tiff_file(w, h, 2, 8, 3, _strips(a3, h) * 2),
         "featcache: more StripOffsets than strips (PIL decodes the extra one over the image)"),
        ("tiff_missing_strip.tif", tiff_file(w, h, 2, 8, 3, _strips(a3, 2)[:1], rps=2),
         "featcache: fewer StripOffsets than strips (PIL leaves black, libtiff reads offset 0)"),
        ("tiff_planar_missing_plane.tif", tiff_file(w, h, 2, 8, 3, [a3[..., k].tobytes() for k in range(2)],
                                                    planar=2),
         "featcache: a plane without strip offsets"),
        ("tiff_tiles_with_strip_offsets.tif",
         tiff_file(32, 16, 2, 8, 3, _strips(_noise(16, 32, 3, 255).astype(np.uint8), 8), rps=8,
                   extra_tags=[(322, 4, [16]), (323, 4, [16])]),
         "featcache: tile tags with StripOffsets (PIL reads strips, libtiff tiles)"),
        # libtiff declares undeclared samples ExtraSamples; PIL keys on the file's tuple
        ("tiff_rgb5_no_extrasamples.tif", tiff_file(w, h, 2, 8, 5, [bytes(5 * w * h)]), "pil"),
        ("tiff_rgb5_one_extrasample.tif", tiff_file(w, h, 2, 8, 5, [bytes(5 * w * h)], extra=(2,)), "pil"),
        # FillOrder 2: PIL has keys only for 1-sample gray/palette and plain RGB
        ("tiff_rgba_fillorder2.tif", tiff_file(w, h, 2, 8, 4, [bytes(4 * w * h)], extra=(2,), fill=2), "pil"),
        ("tiff_la_fillorder2.tif", tiff_file(w, h, 1, 8, 2, [bytes(2 * w * h)], extra=(2,), fill=2), "pil"),
        ("tiff_cmyk_fillorder2.tif", tiff_file(w, h, 5, 8, 4, [bytes(4 * w * h)], fill=2), "pil"),
        # PIL parses the IFD itself: a BYTE Orientation reaches it as b"\x06" (no rotation,
        # libtiff rotates); data past the end of the file ends PIL's directory (SamplesPerPixel
        # and later tags lost), libtiff skips just that tag
        ("tiff_orientation_byte.tif", tiff_file(w, h, 2, 8, 3, _strips(a3, h), extra_tags=[(274, 1, [6])]),
         "featcache: a BYTE-typed Orientation (PIL ignores it, libtiff rotates)"),
        ("tiff_tag_past_eof.tif", _tag_offset(tiff_file(w, h, 2, 8, 3, _strips(a3, h),
                                                        extra_tags=[(274, 3, [1] * 4097)]), 274, 1 << 30),
         "pil"),
    ]
