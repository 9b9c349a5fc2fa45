/* image_bmp.c - BMP (and headerless DIB) -> RGB, our own parser, matching PIL 9.4's
 * BmpImagePlugin + open().convert('RGB') (checked against PIL by tests/py/make_images.py).
 *
 * File: "BM", u32 size, u32 reserved, u32 pixel-data offset (all little endian), then the
 * info header at byte 14 (a DIB file is the info header alone, at byte 0). What PIL opens:
 *   header 12 (OS/2 v1)   u16 width, height (never negative: always bottom-up), 3-byte
 *                          BGR palette entries, no compression field
 *   header 40/64/108/124  u32 width; height bottom-up unless its top byte is 0xFF (then
 *                          top-down, 2^32 - value rows); 4-byte BGRX palette entries.
 *                          Other sizes (52, 56 ...) PIL refuses, and so do we.
 *   bits 1, 4, 8          palette of `colors` entries (0 in the header = 2^bits). PIL
 *                          drops a palette whose entries i are all (i,i,i) (or black and
 *                          white for 2 colours) and reads the pixels as mode "L" (8 bits
 *                          per pixel) or "1" (1 bit per pixel) whatever the file's depth;
 *                          otherwise indexes go through a 256-entry table that starts as
 *                          a gray ramp (i,i,i), so an index past the palette shows gray i.
 *                          More than 256 entries: PIL fails ("invalid palette size").
 *   bits 16               BI_RGB = 5-5-5; BI_BITFIELDS 5-5-5 or 5-6-5 (value*255/max)
 *   bits 24               BGR (BI_BITFIELDS only with masks FF0000/FF00/FF)
 *   bits 32               BGRX; BI_BITFIELDS with one of PIL's six mask sets (alpha
 *                          dropped, never composited)
 *   RLE8 / RLE4           PIL 9.4's Python run-length decoder, quirks included: a delta
 *                          escape takes its offsets from the 2 bytes after the real ones,
 *                          an odd absolute run in RLE4 reads n/2 bytes, word alignment is
 *                          by absolute file position, and a stream that stops before the
 *                          image is full is an error ("not enough image data").
 * Rows are padded to 4 bytes. Truncated pixel data is an error (PIL: "image file is
 * truncated"). PIL decodes a few files inconsistently (mode "L" rows wider than the file's
 * row stride: a memory map reads into the next row, the decoder fails) - refused. */
#include <stdlib.h>
#include <string.h>

#include "image_codec.h"

enum { BMP_RAW = 0, BMP_RLE8 = 1, BMP_RLE4 = 2, BMP_BITFIELDS = 3 };

/* How the pixel bytes become RGB: an index (1/4/8 bits) through lut, or direct colour. */
typedef enum { PX_INDEX, PX_555, PX_565, PX_BGR, PX_BGRX, PX_XBGR, PX_RGBX } bmp_pixel;

typedef struct {
    const uint8_t *buf;
    size_t len;
    const char *what;
    uint64_t w, h;
    int bits;           /* the file's bits per pixel */
    int unpack_bits;    /* bits per pixel PIL unpacks with (differs after the gray shortcut) */
    int mode1;          /* the black-and-white shortcut: PIL's mode "1" */
    uint32_t comp;
    int topdown;
    bmp_pixel px;
    uint64_t data;      /* file offset of the pixel data */
    uint8_t lut[256][3];
} bmp_info;

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int fc_is_bmp(const uint8_t *buf, size_t len) { return len >= 2 && buf[0] == 'B' && buf[1] == 'M'; }

int fc_is_dib(const uint8_t *buf, size_t len) {
    if (len < 4) return 0;
    uint32_t n = rd32(buf);
    return n == 12 || n == 40 || n == 64 || n == 108 || n == 124;
}

/* BI_BITFIELDS: the mask sets PIL 9.4 knows (MASK_MODES), else refused. */
static int bmp_masks(bmp_info *b, const uint32_t m[4], fc_status *st) {
    static const struct { int bits; uint32_t r, g, b, a; bmp_pixel px; } known[] = {
        {32, 0xFF0000, 0xFF00, 0xFF, 0, PX_BGRX},
        {32, 0xFF000000, 0xFF0000, 0xFF00, 0, PX_XBGR},
        {32, 0xFF000000, 0xFF0000, 0xFF00, 0xFF, PX_XBGR},
        {32, 0xFF, 0xFF00, 0xFF0000, 0xFF000000, PX_RGBX},
        {32, 0xFF0000, 0xFF00, 0xFF, 0xFF000000, PX_BGRX},
        {32, 0, 0, 0, 0, PX_BGRX},
        {24, 0xFF0000, 0xFF00, 0xFF, 0, PX_BGR},
        {16, 0xF800, 0x7E0, 0x1F, 0, PX_565},
        {16, 0x7C00, 0x3E0, 0x1F, 0, PX_555},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (known[i].bits == b->bits && known[i].r == m[0] && known[i].g == m[1] &&
            known[i].b == m[2] && (b->bits != 32 || known[i].a == m[3])) {
            b->px = known[i].px;
            return FC_OK;
        }
    return fc_fail(st, FC_ERR_UNSUPPORTED,
                   "%s: BMP with %d-bit bitfields masks R %08X G %08X B %08X A %08X: not "
                   "supported (PIL 9.4 refuses this layout too)",
                   b->what, b->bits, m[0], m[1], m[2], m[3]);
}

/* The palette at *pos (`colors` entries of `pad` bytes, cut short by the end of the file
 * as PIL's read() is): PIL's gray shortcut or the lookup table. Leaves *pos after it. */
static int bmp_palette(bmp_info *b, uint64_t colors, int pad, size_t *pos, fc_status *st) {
    if (colors == 0 || colors > 65536)
        return fc_fail(st, FC_ERR_FORMAT, "%s: bad BMP: palette of %llu colours", b->what,
                       (unsigned long long)colors);
    size_t avail = b->len - *pos, n = (size_t)colors * (size_t)pad;
    if (n > avail) n = avail;
    const uint8_t *pal = b->buf + *pos;
    *pos += n;
    int gray = 1;
    for (uint64_t i = 0; i < colors && gray; i++) {
        unsigned v = colors == 2 ? (i ? 255u : 0u) : (unsigned)(i & 255);
        size_t at = (size_t)i * (size_t)pad;
        gray = at + 3 <= n && pal[at] == v && pal[at + 1] == v && pal[at + 2] == v;
    }
    for (int i = 0; i < 256; i++) b->lut[i][0] = b->lut[i][1] = b->lut[i][2] = (uint8_t)i;
    if (gray) { /* mode "1" (bits 0/1 -> 0/255) or "L" (the byte is the gray value) */
        b->unpack_bits = colors == 2 ? 1 : 8;
        b->mode1 = colors == 2;
        if (colors == 2) memset(b->lut[1], 255, 3);
        return FC_OK;
    }
    size_t entries = n / (size_t)pad;
    if (entries > 256)
        return fc_fail(st, FC_ERR_FORMAT,
                       "%s: bad BMP: palette of %zu colours for %d-bit pixels (PIL: invalid "
                       "palette size)", b->what, entries, b->bits);
    for (size_t i = 0; i < entries; i++) {
        b->lut[i][0] = pal[i * (size_t)pad + 2];
        b->lut[i][1] = pal[i * (size_t)pad + 1];
        b->lut[i][2] = pal[i * (size_t)pad];
    }
    b->unpack_bits = b->bits;
    return FC_OK;
}

/* Everything before the pixels: geometry, layout, palette, data offset. base is where
 * the info header starts (14 for a BMP file, 0 for a DIB). */
static int bmp_header(bmp_info *b, size_t base, fc_status *st) {
    const uint8_t *p = b->buf;
    int rc;
    if (b->len < base + 4) return fc_fail(st, FC_ERR_FORMAT, "%s: truncated BMP header", b->what);
    uint64_t offset = base ? rd32(p + 10) : 0;
    uint32_t hsize = rd32(p + base);
    if (hsize != 12 && hsize != 40 && hsize != 64 && hsize != 108 && hsize != 124)
        return fc_fail(st, FC_ERR_UNSUPPORTED,
                       "%s: BMP info header of %u bytes: not supported (PIL 9.4 reads 12, 40, "
                       "64, 108 and 124)", b->what, hsize);
    if (b->len - base < hsize) return fc_fail(st, FC_ERR_FORMAT, "%s: truncated BMP header", b->what);
    const uint8_t *h = p + base + 4; /* PIL's header_data: the header after its size */
    size_t pos = base + hsize;
    int pad;
    uint64_t colors = 0;
    if (hsize == 12) {
        b->w = rd16(h);
        b->h = rd16(h + 2);
        b->bits = (int)rd16(h + 6);
        b->comp = BMP_RAW;
        pad = 3;
    } else {
        b->topdown = h[7] == 0xFF;
        b->w = rd32(h);
        b->h = b->topdown ? ((uint64_t)1 << 32) - rd32(h + 4) : rd32(h + 4);
        b->bits = (int)rd16(h + 10);
        b->comp = rd32(h + 12);
        colors = rd32(h + 28);
        pad = 4;
    }
    if (b->bits != 1 && b->bits != 4 && b->bits != 8 && b->bits != 16 && b->bits != 24 &&
        b->bits != 32)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: BMP with %d bits per pixel: not supported",
                       b->what, b->bits);
    static const bmp_pixel direct[33] = {[16] = PX_555, [24] = PX_BGR, [32] = PX_BGRX};
    b->px = b->bits <= 8 ? PX_INDEX : direct[b->bits];
    b->unpack_bits = b->bits;
    if (b->comp == BMP_BITFIELDS) {
        uint32_t m[4] = {0, 0, 0, 0};
        if (hsize >= 56) {
            for (int i = 0; i < 4; i++) m[i] = rd32(h + 36 + 4 * i);
        } else { /* a 40-byte header: three masks follow it, no alpha mask */
            if (b->len - pos < 12) return fc_fail(st, FC_ERR_FORMAT, "%s: truncated BMP header", b->what);
            for (int i = 0; i < 3; i++) m[i] = rd32(p + pos + 4 * (size_t)i);
            pos += 12;
        }
        if ((rc = bmp_masks(b, m, st))) return rc;
    } else if (b->comp == BMP_RLE8 || b->comp == BMP_RLE4) {
        if (b->bits > 8) /* PIL: "unknown raw mode for given image mode" */
            return fc_fail(st, FC_ERR_UNSUPPORTED,
                           "%s: run-length encoded BMP with %d-bit pixels: not supported (PIL "
                           "9.4 cannot decode it either)", b->what, b->bits);
    } else if (b->comp != BMP_RAW) {
        return fc_fail(st, FC_ERR_UNSUPPORTED,
                       "%s: BMP compression %u (%s): not supported", b->what, b->comp,
                       b->comp == 4 ? "embedded JPEG" : b->comp == 5 ? "embedded PNG" : "unknown");
    }
    if (b->bits <= 8) {
        if (colors == 0) colors = (uint64_t)1 << b->bits;
        if (offset == 14 + (uint64_t)hsize) offset += 4 * colors; /* PIL skips the palette */
        if ((rc = bmp_palette(b, colors, pad, &pos, st))) return rc;
        if (b->comp != BMP_RAW && b->mode1)
            return fc_fail(st, FC_ERR_UNSUPPORTED,
                           "%s: run-length encoded BMP with a black-and-white palette: not "
                           "supported (PIL 9.4 fails on it: unknown raw mode)", b->what);
    }
    b->data = offset ? offset : pos;
    return FC_OK;
}

/* Uncompressed rows of `stride` bytes, first row at the bottom unless top-down. */
static int bmp_raw(const bmp_info *b, fc_image *out, fc_status *st) {
    uint64_t w = b->w, stride = ((w * (uint64_t)b->bits + 31) >> 3) & ~(uint64_t)3;
    uint64_t rowbytes = (w * (uint64_t)b->unpack_bits + 7) / 8;
    if (rowbytes > stride)
        return fc_fail(st, FC_ERR_UNSUPPORTED,
                       "%s: %d-bit BMP whose palette PIL reads as 8-bit gray: PIL 9.4 decodes "
                       "it inconsistently; not supported", b->what, b->bits);
    uint64_t need = b->data + (b->h - 1) * stride + rowbytes; /* h*stride <= 4*pixels + 4*h */
    if (b->data > b->len || need > b->len)
        return fc_fail(st, FC_ERR_FORMAT, "%s: truncated BMP data (%llu bytes of pixels needed "
                       "from offset %llu, the file has %zu bytes)", b->what,
                       (unsigned long long)(need - b->data), (unsigned long long)b->data, b->len);
    for (uint64_t y = 0; y < b->h; y++) {
        const uint8_t *in = b->buf + b->data + y * stride;
        uint8_t *o = out->rgb + (size_t)(b->topdown ? y : b->h - 1 - y) * (size_t)w * 3;
        for (uint64_t x = 0; x < w; x++, o += 3) {
            uint32_t v;
            switch (b->px) {
            case PX_INDEX:
                if (b->unpack_bits == 8) v = in[x];
                else if (b->unpack_bits == 4) v = (in[x / 2] >> (x & 1 ? 0 : 4)) & 15;
                else v = (in[x / 8] >> (7 - (x & 7))) & 1;
                memcpy(o, b->lut[v], 3);
                break;
            case PX_555:
            case PX_565: {
                v = rd16(in + 2 * x);
                int g6 = b->px == PX_565;
                o[0] = (uint8_t)(((v >> (g6 ? 11 : 10)) & 31) * 255 / 31);
                o[1] = (uint8_t)(g6 ? ((v >> 5) & 63) * 255 / 63 : ((v >> 5) & 31) * 255 / 31);
                o[2] = (uint8_t)((v & 31) * 255 / 31);
                break;
            }
            case PX_BGR: o[0] = in[3 * x + 2], o[1] = in[3 * x + 1], o[2] = in[3 * x]; break;
            case PX_BGRX: o[0] = in[4 * x + 2], o[1] = in[4 * x + 1], o[2] = in[4 * x]; break;
            case PX_XBGR: o[0] = in[4 * x + 3], o[1] = in[4 * x + 2], o[2] = in[4 * x + 1]; break;
            case PX_RGBX: o[0] = in[4 * x], o[1] = in[4 * x + 1], o[2] = in[4 * x + 2]; break;
            }
        }
    }
    return FC_OK;
}

/* PIL 9.4's BmpRleDecoder: fills idx (w*h indexes, in file row order) and counts what it
 * appends in n; pixels past the image are counted, not stored. */
typedef struct {
    uint8_t *idx;
    uint64_t n, total;
} rle_out;

static void rle_put(rle_out *r, uint8_t v, uint64_t count) {
    for (; count && r->n < r->total; count--) r->idx[r->n++] = v;
    r->n += count;
}

static int bmp_rle(const bmp_info *b, fc_image *out, fc_status *st) {
    const uint8_t *p = b->buf;
    uint64_t w = b->w, x = 0, pos = b->data, len = b->len;
    int rle4 = b->comp == BMP_RLE4, rc = FC_OK;
    rle_out r = {calloc((size_t)(w * b->h), 1), 0, w * b->h};
    if (!r.idx) return fc_fail(st, FC_ERR_NOMEM, "%s: out of memory decoding BMP", b->what);
    while (r.n < r.total && pos + 2 <= len) {
        unsigned count = p[pos], code = p[pos + 1];
        pos += 2;
        if (count) { /* a run: one byte (RLE4: two alternating nibbles) repeated */
            uint64_t c = x + count > w ? (x < w ? w - x : 0) : count;
            for (uint64_t i = 0; i < c; i++)
                rle_put(&r, rle4 ? (uint8_t)(i & 1 ? code & 15 : code >> 4) : (uint8_t)code, 1);
            x += c;
        } else if (code == 0) { /* end of line: zeros to the next row start */
            rle_put(&r, 0, (w - r.n % w) % w);
            x = 0;
        } else if (code == 1) { /* end of bitmap */
            break;
        } else if (code == 2) { /* delta: PIL reads the offsets from the next 2 bytes */
            if (pos + 2 > len) break;
            pos += 2;
            if (pos + 2 > len) {
                rc = fc_fail(st, FC_ERR_FORMAT, "%s: truncated BMP data (run-length delta)", b->what);
                goto out;
            }
            rle_put(&r, 0, p[pos] + (uint64_t)p[pos + 1] * w);
            pos += 2;
            x = r.n % w;
        } else { /* absolute run of `code` pixels (RLE4: code/2 bytes, 2 pixels each) */
            uint64_t want = rle4 ? code / 2 : code, got = len - pos < want ? len - pos : want;
            for (uint64_t i = 0; i < got; i++) {
                uint8_t v = p[pos + i];
                if (rle4) {
                    rle_put(&r, v >> 4, 1);
                    rle_put(&r, v & 15, 1);
                } else {
                    rle_put(&r, v, 1);
                }
            }
            pos += got;
            if (got < want) break;
            x += code;
            pos += pos & 1; /* word alignment, by file position */
        }
    }
    if (r.n < r.total) {
        rc = fc_fail(st, FC_ERR_FORMAT,
                     "%s: run-length encoded BMP data ends after %llu of %llu pixels (PIL 9.4: "
                     "not enough image data)", b->what, (unsigned long long)r.n,
                     (unsigned long long)r.total);
        goto out;
    }
    for (uint64_t y = 0; y < b->h; y++) {
        const uint8_t *in = r.idx + y * w;
        uint8_t *o = out->rgb + (size_t)(b->topdown ? y : b->h - 1 - y) * (size_t)w * 3;
        for (uint64_t xx = 0; xx < w; xx++) memcpy(o + 3 * xx, b->lut[in[xx]], 3);
    }
out:
    free(r.idx);
    return rc;
}

int fc_bmp_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                  fc_image *out, fc_status *st) {
    bmp_info *b = calloc(1, sizeof *b);
    int rc;
    out->rgb = NULL;
    out->w = out->h = 0;
    if (!b) return fc_fail(st, FC_ERR_NOMEM, "%s: out of memory decoding BMP", what);
    b->buf = buf;
    b->len = len;
    b->what = what;
    if ((rc = bmp_header(b, fc_is_bmp(buf, len) ? 14 : 0, st))) goto out;
    if (b->w > UINT32_MAX || b->h > UINT32_MAX) {
        rc = fc_fail(st, FC_ERR_NOMEM, "%s: BMP size %llux%llu overflows", what,
                     (unsigned long long)b->w, (unsigned long long)b->h);
        goto out;
    }
    if ((rc = fc_image_alloc(out, (uint32_t)b->w, (uint32_t)b->h, what, max_pixels, st))) goto out;
    rc = b->comp == BMP_RLE8 || b->comp == BMP_RLE4 ? bmp_rle(b, out, st) : bmp_raw(b, out, st);
    if (rc) fc_image_free(out);
out:
    free(b);
    return rc;
}
