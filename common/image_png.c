/* image_png.c - PNG -> RGB through libpng, matching PIL 9.4's open().convert('RGB').
 *
 * libpng only unpacks (png_set_packing: 1/2/4-bit samples to one byte each) and
 * de-interlaces; every colour conversion is done here so it follows PIL exactly
 * (checked against PIL by tests/py/make_images.py):
 *   gray 1/2/4-bit   PIL modes "1", "L;2", "L;4": sample scaled to 0..255 (x*255/(2^d-1))
 *   gray 8-bit       replicated to R=G=B
 *   gray 16-bit      PIL opens it as mode "I" (the full 16-bit value) and I->RGB clips,
 *                    so values > 255 become 255 (NOT the high byte)
 *   gray+alpha, RGB, RGBA 16-bit: PIL unpacks "LA;16B"/"RGB;16B"/"RGBA;16B" by taking
 *                    the high byte of each sample
 *   alpha            dropped, never composited (convert('RGB') discards it); tRNS ignored
 *   palette          looked up in a 256-entry table that starts as PIL's default gray
 *                    ramp (i,i,i) and is overwritten by PLTE, so an index past the end
 *                    of PLTE gives (i,i,i) as in PIL
 * Gamma, sBIT, colour profiles are ignored, as PIL does.
 * Deliberately stricter than PIL: an IDAT stream that ends before the last row is an
 * error ("Not enough image data"; PIL returns the image with the missing rows black),
 * and so is a CRC error in a critical chunk (PIL does not check IDAT CRCs). */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "image_codec.h"

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    const char *what;
    fc_status *st;
    int failed; /* fc_code once st holds the message (so a NULL st still gets a code) */
    uint8_t *raw; /* decoded rows before conversion */
    png_bytep *rows;
} png_ctx;

static void png_err(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    if (!c->failed) {
        c->failed = fc_fail(c->st, FC_ERR_FORMAT, "%s: bad PNG: %s", c->what, msg);
    }
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; /* warnings (bad ancillary chunks, ...) do not stop PIL either */
}

static void png_read_mem(png_structp png, png_bytep dst, png_size_t n) {
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) {
        c->failed = fc_fail(c->st, FC_ERR_FORMAT, "%s: truncated PNG data", c->what);
        png_longjmp(png, 1);
    }
    memcpy(dst, c->buf + c->pos, n);
    c->pos += n;
}

/* One decoded row (after png_set_packing) -> w RGB pixels. */
static void png_row_to_rgb(const uint8_t *in, uint32_t w, int ctype, int depth,
                           const uint8_t pal[256][3], uint8_t *o) {
    uint32_t x;
    switch (ctype) {
    case PNG_COLOR_TYPE_GRAY:
        if (depth == 16) {
            for (x = 0; x < w; x++, o += 3) {
                unsigned v = (unsigned)in[2 * x] << 8 | in[2 * x + 1];
                o[0] = o[1] = o[2] = (uint8_t)(v > 255 ? 255 : v);
            }
        } else {
            unsigned scale = depth == 8 ? 1 : 255u / ((1u << depth) - 1);
            for (x = 0; x < w; x++, o += 3) o[0] = o[1] = o[2] = (uint8_t)(in[x] * scale);
        }
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: {
        int step = depth == 16 ? 4 : 2;
        for (x = 0; x < w; x++, o += 3) o[0] = o[1] = o[2] = in[step * x];
        break;
    }
    case PNG_COLOR_TYPE_PALETTE:
        for (x = 0; x < w; x++, o += 3) memcpy(o, pal[in[x]], 3);
        break;
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_RGB_ALPHA: {
        int bps = depth == 16 ? 2 : 1, nch = ctype == PNG_COLOR_TYPE_RGB ? 3 : 4;
        size_t step = (size_t)bps * nch;
        for (x = 0; x < w; x++, o += 3, in += step) {
            o[0] = in[0];
            o[1] = in[bps];
            o[2] = in[2 * bps];
        }
        break;
    }
    }
}

static void png_palette_table(png_structp png, png_infop info, uint8_t pal[256][3]) {
    png_colorp plte = NULL;
    int n = 0;
    for (int i = 0; i < 256; i++) pal[i][0] = pal[i][1] = pal[i][2] = (uint8_t)i;
    if (png_get_PLTE(png, info, &plte, &n) && plte) {
        if (n > 256) n = 256;
        for (int i = 0; i < n; i++) {
            pal[i][0] = plte[i].red;
            pal[i][1] = plte[i].green;
            pal[i][2] = plte[i].blue;
        }
    }
}

/* Everything between png_create_* and the last row; returns nonzero after a libpng
 * error (longjmp lands here, so only the ctx — not locals — carries state). */
static int png_decode_rows(png_structp png, png_infop info, png_ctx *c, size_t max_pixels,
                           fc_image *out) {
    uint8_t pal[256][3];
    if (setjmp(png_jmpbuf(png))) return 1;
    png_set_read_fn(png, c, png_read_mem);
    png_set_sig_bytes(png, 0);
    png_read_info(png, info);
    uint32_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), ctype = png_get_color_type(png, info);
    int interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    c->failed = fc_image_alloc(out, w, h, c->what, max_pixels, c->st);
    if (c->failed) return 1;
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_palette_table(png, info, pal);
    if (depth < 8) png_set_packing(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info), rawbytes;
    /* Interlaced images need every row at once; others are converted row by row. */
    size_t nrows = interlaced ? h : 1;
    if (fc_size_mul(rowbytes, nrows, &rawbytes)) {
        c->failed = fc_fail(c->st, FC_ERR_NOMEM, "%s: PNG row buffer size overflows", c->what);
        return 1;
    }
    c->raw = malloc(rawbytes ? rawbytes : 1);
    c->rows = malloc(nrows * sizeof *c->rows);
    if (!c->raw || !c->rows) {
        c->failed = fc_fail(c->st, FC_ERR_NOMEM, "%s: out of memory decoding PNG", c->what);
        return 1;
    }
    for (size_t y = 0; y < nrows; y++) c->rows[y] = c->raw + y * rowbytes;
    if (interlaced) {
        png_read_image(png, c->rows);
        for (uint32_t y = 0; y < h; y++)
            png_row_to_rgb(c->rows[y], w, ctype, depth, (const uint8_t(*)[3])pal,
                           out->rgb + (size_t)y * w * 3);
    } else if (ctype == PNG_COLOR_TYPE_RGB && depth == 8) { /* rows are already RGB */
        for (uint32_t y = 0; y < h; y++) png_read_row(png, out->rgb + (size_t)y * w * 3, NULL);
    } else {
        for (uint32_t y = 0; y < h; y++) {
            png_read_row(png, c->rows[0], NULL);
            png_row_to_rgb(c->rows[0], w, ctype, depth, (const uint8_t(*)[3])pal,
                           out->rgb + (size_t)y * w * 3);
        }
    }
    /* Like PIL, stop once the pixels are in: chunks after the last IDAT are not read. */
    return 0;
}

int fc_png_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                  fc_image *out, fc_status *st) {
    png_ctx c = {buf, len, 0, what, st, 0, NULL, NULL};
    png_infop info = NULL;
    int rc = FC_OK;
    out->rgb = NULL;
    out->w = out->h = 0;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_err, png_warn);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        rc = fc_fail(st, FC_ERR_NOMEM, "%s: out of memory creating PNG decoder", what);
        goto out;
    }
    /* libpng's own guards: absurd header sizes (ours, the pixel limit, comes right after
     * the header), and the memory one ancillary chunk (zTXt, iCCP ...) may inflate to. */
    png_set_user_limits(png, FC_MAX_DIM * 16, FC_MAX_DIM * 16);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);
    png_set_chunk_cache_max(png, 1000);
    if (png_decode_rows(png, info, &c, max_pixels, out) != 0) {
        rc = c.failed ? c.failed : fc_fail(st, FC_ERR_FORMAT, "%s: bad PNG", what);
        fc_image_free(out);
    }
out:
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    free(c.raw);
    free(c.rows);
    return rc;
}

int fc_png_write(const char *path, const uint8_t *px, int w, int h, int channels, fc_status *st) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&img, path, 0, px, w * channels, NULL)) {
        int rc = fc_fail(st, FC_ERR_IO, "%s: cannot write PNG: %s", path, img.message);
        png_image_free(&img);
        return rc;
    }
    return FC_OK;
}
