/* image_tiff.c - TIFF -> RGB through libtiff, matching PIL 9.4's TiffImagePlugin +
 * open().convert('RGB') (checked against PIL by tests/py/make_images.py).
 *
 * libtiff reads the first directory (PIL's open() gives the first frame) and undoes the
 * compression, predictor and fill order, strip by strip or tile by tile, chunky or planar;
 * PIL gets its compressed pixels from the same libtiff and reads uncompressed strips
 * itself. The Orientation tag is applied as PIL 9.4's TiffImageFile.load_end does (2 flip
 * left-right, 3 rotate 180, 4 flip top-bottom, 5 transpose, 6 rotate 270, 7 transverse,
 * 8 rotate 90; other values: none), so a 6 gives an image h wide and w tall.
 * Accepted, with 8-bit samples unless said (everything else is refused, naming the layout):
 *   min-is-black / min-is-white gray, 1/2/4/8 bits   v * 255 / (2^bits - 1), inverted for
 *                                                     min-is-white (PIL's "1;I", "L;I"...)
 *   gray + unassociated alpha                        the gray (alpha dropped)
 *   RGB, RGB + unassociated/unspecified alpha or extra samples   the first three samples
 *   palette 1/2/4/8 bits                              colormap entry >> 8 (PIL: b // 256)
 *   CMYK                                              PIL's cmyk2rgb: nk = 255 - k,
 *                                                     nk - nk*c/255 (rounded, MULDIV255)
 *   YCbCr with JPEG compression (chunky)              libtiff's JPEG colour mode RGB, as PIL
 * Compression: none, CCITT RLE/G3/G4, LZW, JPEG, Deflate, PackBits.
 * Refused: 12/16/32-bit, signed and float samples (PIL's convert('RGB') of modes I;16/I/F
 * clips rather than scales), premultiplied alpha, LAB, YCbCr without JPEG, old-style
 * JPEG, other compressions, BigTIFF, and files without a Photometric tag (PIL assumes
 * min-is-white there, libtiff guesses otherwise). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "image_codec.h"

/* libtiff's bound on any one allocation (strip/tile buffers, tag arrays); ours for a tile */
#define TIFF_MAX_ALLOC ((tmsize_t)256 << 20)

typedef struct {
    const uint8_t *buf;
    size_t len;
    uint64_t pos;
    const char *what;
    fc_status *st;
    int code;            /* fc_code once st holds the message */
    int no_photometric;  /* libtiff warned that it guessed the Photometric tag */
    int extras_added;    /* libtiff made samples the file left undeclared ExtraSamples */
} tiff_ctx;

int fc_is_tiff(const uint8_t *buf, size_t len) {
    return len >= 4 && ((buf[0] == 'I' && buf[1] == 'I' && buf[2] == 42 && buf[3] == 0) ||
                        (buf[0] == 'M' && buf[1] == 'M' && buf[2] == 0 && buf[3] == 42) ||
                        (buf[0] == 'I' && buf[1] == 'I' && buf[2] == 43 && buf[3] == 0) ||
                        (buf[0] == 'M' && buf[1] == 'M' && buf[2] == 0 && buf[3] == 43));
}

static tmsize_t t_read(thandle_t h, void *dst, tmsize_t n) {
    tiff_ctx *c = h;
    if (n <= 0 || c->pos >= c->len) return 0;
    size_t k = c->len - c->pos < (uint64_t)n ? (size_t)(c->len - c->pos) : (size_t)n;
    memcpy(dst, c->buf + c->pos, k);
    c->pos += k;
    return (tmsize_t)k;
}
static tmsize_t t_write(thandle_t h, void *src, tmsize_t n) { (void)h, (void)src, (void)n; return 0; }
static toff_t t_seek(thandle_t h, toff_t off, int whence) {
    tiff_ctx *c = h;
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? c->pos : c->len;
    if (off > UINT64_MAX - base) return (toff_t)-1;
    c->pos = base + off;
    return c->pos;
}
static int t_close(thandle_t h) { (void)h; return 0; }
static toff_t t_size(thandle_t h) { return ((tiff_ctx *)h)->len; }
static int t_map(thandle_t h, void **base, toff_t *size) { (void)h, (void)base, (void)size; return 0; }
static void t_unmap(thandle_t h, void *base, toff_t size) { (void)h, (void)base, (void)size; }

static int t_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap) {
    tiff_ctx *c = ud;
    char m[256];
    (void)tif, (void)module;
    vsnprintf(m, sizeof m, fmt, ap);
    size_t wl = strlen(c->what); /* libtiff often starts with the name we gave it */
    const char *msg = strncmp(m, c->what, wl) == 0 && m[wl] == ':' ? m + wl + 1 + (m[wl + 1] == ' ') : m;
    if (!c->code) c->code = fc_fail(c->st, FC_ERR_FORMAT, "%s: bad TIFF: %s", c->what, msg);
    return 1; /* handled: libtiff prints nothing */
}

static int t_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap) {
    tiff_ctx *c = ud;
    char m[256];
    (void)tif, (void)module;
    vsnprintf(m, sizeof m, fmt, ap);
    /* libtiff filled in or replaced the Photometric tag; PIL would not */
    if (strstr(m, "Photometric tag is missing") || strstr(m, "Photometric tag value assumed incorrect"))
        c->no_photometric = 1;
    /* spp above the colour channels + ExtraSamples: libtiff declares the rest "unspecified"
     * extras, while PIL keys its layout on the file's own (shorter) ExtraSamples tuple */
    if (strstr(m, "Defining non-color channels as ExtraSamples")) c->extras_added = 1;
    return 1;
}

typedef enum { TK_GRAY, TK_PALETTE, TK_RGB, TK_CMYK } tiff_kind;

typedef struct {
    uint32_t w, h;
    uint16_t bps, spp, photo, planar, comp;
    tiff_kind kind;
    int invert;              /* min-is-white */
    uint8_t lut[256][3];     /* palette */
} tiff_layout;

static int tiff_refuse(tiff_ctx *c, const char *what_layout) {
    if (!c->code)
        c->code = fc_fail(c->st, FC_ERR_UNSUPPORTED, "%s: TIFF with %s: not supported", c->what,
                          what_layout);
    return c->code;
}

/* The tags -> one of the layouts above, or a refusal naming what the file holds. */
static int tiff_layout_of(TIFF *tif, tiff_ctx *c, tiff_layout *L) {
    uint16_t sf = 1, nextra = 0, *extra = NULL, fill = 1;
    char why[128];
    if (TIFFIsBigTIFF(tif)) return tiff_refuse(c, "the BigTIFF layout");
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &L->w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &L->h))
        return tiff_refuse(c, "no image width or length");
    if (c->no_photometric || !TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &L->photo))
        return tiff_refuse(c, "a missing or inconsistent Photometric tag (libtiff guesses one, PIL "
                              "reads a missing one as min-is-white)");
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &L->bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &L->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &sf);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &L->planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &L->comp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
    TIFFGetFieldDefaulted(tif, TIFFTAG_FILLORDER, &fill);
    static const uint16_t comps[] = {COMPRESSION_NONE, COMPRESSION_CCITTRLE, COMPRESSION_CCITTFAX3,
                                     COMPRESSION_CCITTFAX4, COMPRESSION_LZW, COMPRESSION_JPEG,
                                     COMPRESSION_ADOBE_DEFLATE, COMPRESSION_PACKBITS,
                                     COMPRESSION_DEFLATE};
    int comp_ok = 0;
    for (size_t i = 0; i < sizeof comps / sizeof *comps; i++) comp_ok |= L->comp == comps[i];
    if (!comp_ok || !TIFFIsCODECConfigured(L->comp)) {
        snprintf(why, sizeof why, "compression %u", L->comp);
        return tiff_refuse(c, why);
    }
    if (sf != SAMPLEFORMAT_UINT) {
        snprintf(why, sizeof why, "sample format %u (signed or floating point samples)", sf);
        return tiff_refuse(c, why);
    }
    if (L->bps != 8 && !(L->spp == 1 && (L->bps == 1 || L->bps == 2 || L->bps == 4) &&
                         L->photo <= PHOTOMETRIC_PALETTE)) {
        snprintf(why, sizeof why, "%u-bit samples (photometric %u, %u per pixel)", L->bps, L->photo, L->spp);
        return tiff_refuse(c, why);
    }
    /* PIL's OPEN_INFO keys: the extra samples allowed with each photometric. FillOrder 2
     * (libtiff reverses the bits) has a key only for 1-sample gray and palette and plain RGB. */
    if (fill != FILLORDER_MSB2LSB &&
        !(nextra == 0 && !c->extras_added &&
          ((L->spp == 1 && L->photo <= PHOTOMETRIC_PALETTE) || (L->spp == 3 && L->photo == PHOTOMETRIC_RGB)))) {
        snprintf(why, sizeof why, "FillOrder %u for photometric %u with %u samples per pixel (PIL "
                 "9.4 cannot open it)", fill, L->photo, L->spp);
        return tiff_refuse(c, why);
    }
    int e0 = nextra ? extra[0] : -1, rest_zero = 1;
    for (uint16_t i = 1; i < nextra; i++) rest_zero &= extra[i] == EXTRASAMPLE_UNSPECIFIED;
    L->invert = L->photo == PHOTOMETRIC_MINISWHITE;
    switch (L->photo) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK:
        L->kind = TK_GRAY;
        if ((L->spp == 1 && nextra == 0) ||
            (L->photo == PHOTOMETRIC_MINISBLACK && L->spp == 2 && nextra == 1 && e0 == EXTRASAMPLE_UNASSALPHA))
            return FC_OK;
        break;
    case PHOTOMETRIC_RGB:
    case PHOTOMETRIC_YCBCR:
        L->kind = TK_RGB;
        if (L->photo == PHOTOMETRIC_YCBCR) {
            if (L->comp != COMPRESSION_JPEG || L->planar != PLANARCONFIG_CONTIG || L->spp != 3 || nextra)
                return tiff_refuse(c, "YCbCr samples other than JPEG-compressed and chunky");
            TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
            return FC_OK;
        }
        if (e0 == EXTRASAMPLE_ASSOCALPHA)
            return tiff_refuse(c, "premultiplied (associated) alpha");
        /* libtiff reads Corel's ExtraSamples 999 as 2 (unassociated alpha), PIL's key too;
         * undeclared extras (libtiff adds them) PIL knows only for 4 samples: "RGBA" */
        if (c->extras_added ? L->spp == 4 && nextra == 1 && e0 == EXTRASAMPLE_UNSPECIFIED
                            : (L->spp == 3 && nextra == 0) ||
                                  (L->spp >= 4 && L->spp <= 6 && nextra == L->spp - 3 && rest_zero &&
                                   (e0 == EXTRASAMPLE_UNSPECIFIED || e0 == EXTRASAMPLE_UNASSALPHA)))
            return FC_OK;
        break;
    case PHOTOMETRIC_PALETTE: {
        uint16_t *r, *g, *b;
        L->kind = TK_PALETTE;
        if (L->spp != 1 || nextra || !TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b)) break;
        for (int i = 0; i < 256; i++) L->lut[i][0] = L->lut[i][1] = L->lut[i][2] = (uint8_t)i;
        for (int i = 0; i < (1 << L->bps); i++) {
            L->lut[i][0] = (uint8_t)(r[i] >> 8);
            L->lut[i][1] = (uint8_t)(g[i] >> 8);
            L->lut[i][2] = (uint8_t)(b[i] >> 8);
        }
        return FC_OK;
    }
    case PHOTOMETRIC_SEPARATED:
        L->kind = TK_CMYK;
        if (L->spp == 4 && nextra == 0) return FC_OK;
        break;
    }
    snprintf(why, sizeof why, "photometric %u, %u samples per pixel, %u extra", L->photo, L->spp, nextra);
    return tiff_refuse(c, why);
}

/* PIL 9.4 parses the IFD itself: a tag whose out-of-line data runs past the end of the
 * file ends its directory there (every later tag is lost: the layout falls back to
 * defaults), and a BYTE or other non-integer type on a layout tag reaches its code as
 * bytes. libtiff skips or converts both. So the first directory is walked here (bounded by
 * the buffer) and such files refused; *strips / *tiles get the StripOffsets / TileOffsets
 * counts, which libtiff does not expose. */
static int tiff_ifd_as_pil(TIFF *tif, tiff_ctx *c, uint32_t *strips, uint32_t *tiles) {
    static const uint16_t layout_tags[] = {256, 257, 258, 259, 262, 266, 273, 274, 277, 278,
                                           279, 284, 320, 322, 323, 324, 325, 338, 339};
    static const uint8_t type_size[19] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8};
    uint64_t ifd = TIFFCurrentDirOffset(tif);
    int be = c->buf[0] == 'M';
    char why[160];
#define TIFF_U16(p) (be ? (uint32_t)(p)[0] << 8 | (p)[1] : (uint32_t)(p)[1] << 8 | (p)[0])
#define TIFF_U32(p) (be ? TIFF_U16(p) << 16 | TIFF_U16((p) + 2) : TIFF_U16((p) + 2) << 16 | TIFF_U16(p))
    *strips = *tiles = 0;
    if (ifd > c->len || c->len - ifd < 2) return tiff_refuse(c, "a directory past the end of the file");
    uint32_t n = TIFF_U16(c->buf + ifd);
    if ((c->len - ifd - 2) / 12 < n) return tiff_refuse(c, "a directory cut short by the end of the file");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = c->buf + ifd + 2 + 12 * (size_t)i;
        uint32_t tag = TIFF_U16(e), type = TIFF_U16(e + 2), count = TIFF_U32(e + 4), off = TIFF_U32(e + 8);
        uint64_t size = type < sizeof type_size ? (uint64_t)count * type_size[type] : 0;
        if (size > 4 && (off > c->len || size > c->len - off)) {
            snprintf(why, sizeof why, "tag %u's data past the end of the file (PIL 9.4 stops reading "
                     "the directory there)", tag);
            return tiff_refuse(c, why);
        }
        for (size_t k = 0; k < sizeof layout_tags / sizeof *layout_tags; k++)
            if (tag == layout_tags[k] && ((type != TIFF_SHORT && type != TIFF_LONG) || count == 0)) {
                snprintf(why, sizeof why, "tag %u of type %u, count %u (PIL 9.4 reads it differently)",
                         tag, type, count);
                return tiff_refuse(c, why);
            }
        if (tag == TIFFTAG_STRIPOFFSETS) *strips = count;
        if (tag == TIFFTAG_TILEOFFSETS) *tiles = count;
    }
#undef TIFF_U32
#undef TIFF_U16
    return FC_OK;
}

/* PIL reads uncompressed data itself: one tile per entry of StripOffsets (else TileOffsets),
 * rows of RowsPerStrip or tiles of TileWidth x TileLength, wrapping to the next plane at the
 * bottom. It walks every entry it finds - extra ones paint over the image again, missing
 * ones leave black - while libtiff reads exactly the strips or tiles the geometry needs (a
 * missing one from offset 0). Only an exact count means the same pixels. */
static int tiff_offsets_as_pil(TIFF *tif, tiff_ctx *c, const tiff_layout *L) {
    uint32_t strips, tiles;
    int rc = tiff_ifd_as_pil(tif, c, &strips, &tiles);
    if (rc || L->comp != COMPRESSION_NONE) return rc; /* PIL decodes these through libtiff too */
    int tiled = TIFFIsTiled(tif);
    uint32_t want = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif), have = strips ? strips : tiles;
    if ((tiled ? strips == 0 : strips != 0) && have == want) return FC_OK;
    char why[160];
    snprintf(why, sizeof why, "%u %s offsets for the %u %s its geometry needs (PIL 9.4 reads such a "
             "file differently)", have, strips ? "strip" : "tile", want, tiled ? "tiles" : "strips");
    return tiff_refuse(c, why);
}

/* The decoded samples: `planes` buffers (1 chunky, spp planar) of h rows of rowbytes. */
typedef struct {
    uint8_t *plane[6];
    size_t rowbytes;
    int planes;
} tiff_samples;

static int tiff_read_strips(TIFF *tif, tiff_ctx *c, const tiff_layout *L, tiff_samples *S) {
    uint32_t rps = 0;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > L->h) rps = L->h;
    for (int p = 0; p < S->planes; p++)
        for (uint32_t y = 0; y < L->h; y += rps) {
            uint32_t rows = L->h - y < rps ? L->h - y : rps;
            tstrip_t s = TIFFComputeStrip(tif, y, (tsample_t)p);
            tmsize_t want = (tmsize_t)((size_t)rows * S->rowbytes);
            tmsize_t got = TIFFReadEncodedStrip(tif, s, S->plane[p] + (size_t)y * S->rowbytes, want);
            if (got < want) {
                if (!c->code)
                    c->code = fc_fail(c->st, FC_ERR_FORMAT, "%s: bad TIFF: strip %u holds %lld of %lld bytes",
                                      c->what, s, (long long)got, (long long)want);
                return c->code;
            }
        }
    return FC_OK;
}

/* A tile is one buffer of tw x th pixels whatever the image size, so a 1x1 image may
 * declare a 65536 x 65536 tile: its area is held to the image pixel limit and its bytes
 * to libtiff's own single-allocation bound before anything is allocated. */
static int tiff_read_tiles(TIFF *tif, tiff_ctx *c, const tiff_layout *L, size_t max_pixels,
                           tiff_samples *S) {
    uint32_t tw = 0, th = 0;
    TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
    tmsize_t tsize = TIFFTileSize(tif), trow = TIFFTileRowSize(tif);
    size_t bits = (size_t)L->bps * (S->planes == 1 ? L->spp : 1);
    if (tw == 0 || th == 0 || tsize <= 0 || trow <= 0 || (uint64_t)trow * th > (uint64_t)tsize ||
        (size_t)tw * bits % 8 != 0)
        return tiff_refuse(c, "an unusual tile geometry");
    if ((uint64_t)tw * th > max_pixels || tsize > TIFF_MAX_ALLOC)
        return fc_fail(c->st, FC_ERR_NOMEM,
                       "%s: TIFF tiles of %ux%u pixels (%lld bytes) for a %ux%u image: over the "
                       "limit (decompression bomb?)", c->what, tw, th, (long long)tsize, L->w, L->h);
    uint8_t *tile = calloc(1, (size_t)tsize); /* zeroed: no stale bytes if a codec fills less */
    if (!tile) return fc_fail(c->st, FC_ERR_NOMEM, "%s: out of memory decoding TIFF", c->what);
    int rc = FC_OK;
    for (int p = 0; p < S->planes && !rc; p++)
        for (uint32_t y = 0; y < L->h && !rc; y += th)
            for (uint32_t x = 0; x < L->w && !rc; x += tw) {
                ttile_t t = TIFFComputeTile(tif, x, y, 0, (tsample_t)p);
                if (TIFFReadEncodedTile(tif, t, tile, tsize) < 0) {
                    rc = c->code ? c->code : fc_fail(c->st, FC_ERR_FORMAT, "%s: bad TIFF: tile %u", c->what, t);
                    break;
                }
                uint32_t cols = L->w - x < tw ? L->w - x : tw, rows = L->h - y < th ? L->h - y : th;
                size_t off = (size_t)x * bits / 8, n = ((size_t)cols * bits + 7) / 8;
                for (uint32_t r = 0; r < rows; r++)
                    memcpy(S->plane[p] + (size_t)(y + r) * S->rowbytes + off, tile + (size_t)r * (size_t)trow, n);
            }
    free(tile);
    return rc;
}

/* Sample s of pixel x in row y (8-bit layouts), or the packed value for 1/2/4 bits. */
static unsigned tiff_sample(const tiff_layout *L, const tiff_samples *S, uint32_t x, uint32_t y, int s) {
    if (S->planes > 1) return S->plane[s][(size_t)y * S->rowbytes + x];
    const uint8_t *row = S->plane[0] + (size_t)y * S->rowbytes;
    if (L->bps == 8) return row[(size_t)x * L->spp + (size_t)s];
    size_t bit = (size_t)x * L->bps;
    return (row[bit / 8] >> (8 - L->bps - bit % 8)) & ((1u << L->bps) - 1);
}

static void tiff_to_rgb(const tiff_layout *L, const tiff_samples *S, fc_image *out) {
    unsigned maxv = (1u << L->bps) - 1, scale = 255 / maxv;
    for (uint32_t y = 0; y < L->h; y++) {
        uint8_t *o = out->rgb + (size_t)y * L->w * 3;
        for (uint32_t x = 0; x < L->w; x++, o += 3) {
            unsigned v = tiff_sample(L, S, x, y, 0);
            switch (L->kind) {
            case TK_GRAY:
                o[0] = o[1] = o[2] = (uint8_t)((L->invert ? maxv - v : v) * scale);
                break;
            case TK_PALETTE:
                memcpy(o, L->lut[v], 3);
                break;
            case TK_RGB:
                o[0] = (uint8_t)v;
                o[1] = (uint8_t)tiff_sample(L, S, x, y, 1);
                o[2] = (uint8_t)tiff_sample(L, S, x, y, 2);
                break;
            case TK_CMYK: {
                int nk = 255 - (int)tiff_sample(L, S, x, y, 3);
                for (int ch = 0; ch < 3; ch++) {
                    int t = (int)tiff_sample(L, S, x, y, ch) * nk + 128;
                    int r = nk - (((t >> 8) + t) >> 8);
                    o[ch] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
                }
                break;
            }
            }
        }
    }
}

/* PIL's Image.transpose for Orientation o: out(x, y) = in(sx, sy). */
static int tiff_orient(fc_image *img, uint16_t o, tiff_ctx *c) {
    if (o < 2 || o > 8) return FC_OK;
    size_t w = (size_t)img->w, h = (size_t)img->h, n = w * h * 3;
    int swap = o >= 5;
    size_t ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *dst = malloc(n);
    if (!dst) return fc_fail(c->st, FC_ERR_NOMEM, "%s: out of memory decoding TIFF", c->what);
    for (size_t y = 0; y < oh; y++)
        for (size_t x = 0; x < ow; x++) {
            size_t sx, sy;
            switch (o) {
            case 2: sx = w - 1 - x, sy = y; break;
            case 3: sx = w - 1 - x, sy = h - 1 - y; break;
            case 4: sx = x, sy = h - 1 - y; break;
            case 5: sx = y, sy = x; break;
            case 6: sx = y, sy = h - 1 - x; break;
            case 7: sx = w - 1 - y, sy = h - 1 - x; break;
            default: sx = w - 1 - y, sy = x; break; /* 8 */
            }
            memcpy(dst + (y * ow + x) * 3, img->rgb + (sy * w + sx) * 3, 3);
        }
    free(img->rgb);
    img->rgb = dst;
    img->w = (int)ow;
    img->h = (int)oh;
    return FC_OK;
}

static int tiff_decode_open(TIFF *tif, tiff_ctx *c, size_t max_pixels, fc_image *out) {
    tiff_layout L;
    tiff_samples S;
    int rc;
    memset(&L, 0, sizeof L);
    memset(&S, 0, sizeof S);
    if ((rc = tiff_layout_of(tif, c, &L)) || (rc = tiff_offsets_as_pil(tif, c, &L))) return rc;
    if ((rc = fc_image_alloc(out, L.w, L.h, c->what, max_pixels, c->st))) return rc;
    S.planes = L.planar == PLANARCONFIG_SEPARATE && L.spp > 1 ? L.spp : 1;
    size_t bits = (size_t)L.bps * (S.planes == 1 ? L.spp : 1), total;
    S.rowbytes = ((size_t)L.w * bits + 7) / 8;
    if (fc_size_mul(S.rowbytes, L.h, &total))
        return fc_fail(c->st, FC_ERR_NOMEM, "%s: TIFF sample buffer size overflows", c->what);
    for (int p = 0; p < S.planes; p++)
        if (!(S.plane[p] = calloc(1, total ? total : 1))) {
            rc = fc_fail(c->st, FC_ERR_NOMEM, "%s: out of memory decoding TIFF", c->what);
            goto out;
        }
    rc = TIFFIsTiled(tif) ? tiff_read_tiles(tif, c, &L, max_pixels, &S) : tiff_read_strips(tif, c, &L, &S);
    if (!rc) {
        uint16_t orientation = 1;
        tiff_to_rgb(&L, &S, out);
        if (TIFFGetField(tif, TIFFTAG_ORIENTATION, &orientation)) rc = tiff_orient(out, orientation, c);
    }
out:
    for (int p = 0; p < S.planes; p++) free(S.plane[p]);
    return rc;
}

int fc_tiff_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                   fc_image *out, fc_status *st) {
    tiff_ctx c = {buf, len, 0, what, st, 0, 0, 0};
    int rc;
    out->rgb = NULL;
    out->w = out->h = 0;
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) return fc_fail(st, FC_ERR_NOMEM, "%s: out of memory opening TIFF", what);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, t_error, &c);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, t_warning, &c);
    /* libtiff's own bound on any one allocation (strip/tile buffers, tag arrays) */
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, TIFF_MAX_ALLOC);
    /* "c": no strip chopping, so the strip count is the file's (see tiff_offsets_as_pil) */
    TIFF *tif = TIFFClientOpenExt(what, "rmc", &c, t_read, t_write, t_seek, t_close, t_size, t_map,
                                  t_unmap, opts);
    TIFFOpenOptionsFree(opts);
    if (!tif) return c.code ? c.code : fc_fail(st, FC_ERR_FORMAT, "%s: bad TIFF", what);
    rc = tiff_decode_open(tif, &c, max_pixels, out);
    if (!rc && c.code) rc = c.code; /* an error libtiff reported but survived */
    if (rc) fc_image_free(out);
    TIFFClose(tif);
    return rc;
}
