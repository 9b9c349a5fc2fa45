/* image_jpeg.c - JPEG -> RGB through libjpeg-turbo, matching PIL 9.4's
 * open().convert('RGB') (PIL links the same library with the same defaults: islow
 * DCT, fancy upsampling, no draft mode), checked against PIL by tests/py/make_images.py:
 *   1 component   gray, replicated to R=G=B
 *   3 components  libjpeg's RGB output (YCbCr or Adobe RGB in the file)
 *   4 components  CMYK/YCCK decoded to CMYK; PIL always reads them as "CMYK;I"
 *                 (inverted, Adobe convention) and then converts CMYK->RGB with
 *                 nk = 255-k, out = clip(nk - nk*c/255) (Convert.c cmyk2rgb, MULDIV255)
 * Errors never exit: error_exit longjmps back with the library's message. Warnings are
 * ignored (as PIL does) except a premature end of data, which PIL reports as "image file
 * is truncated" and we report as an error too. After the last row the file is read on to
 * EOI, as PIL does: an error there fails the image, the end of the data does not. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image_codec.h"

/* A progressive file may hold any number of scans, each a full pass over the
 * coefficients; real encoders use ~10. Bounds the work a hostile file can cause. */
#define FC_JPEG_MAX_SCANS 500

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg hands us a pointer to it */
    jmp_buf jmp;
    const char *what;
    fc_status *st;
    int code; /* fc_code once st holds the message */
    int finishing; /* every row decoded: the data may end here (PIL's reader suspends) */
    struct jpeg_progress_mgr progress;
    uint8_t *row;
} jpeg_ctx;

static void jpeg_fail_msg(j_common_ptr cinfo, const char *prefix) {
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    if (!c->code) c->code = fc_fail(c->st, FC_ERR_FORMAT, "%s: %s%s", c->what, prefix, msg);
}

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    jpeg_fail_msg(cinfo, "bad JPEG: ");
    longjmp(c->jmp, 1);
}

static void jpeg_emit(j_common_ptr cinfo, int level) {
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF && !c->finishing) {
        jpeg_fail_msg(cinfo, "truncated JPEG data: ");
        longjmp(c->jmp, 1);
    }
}

static void jpeg_progress(j_common_ptr cinfo) {
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (cinfo->is_decompressor && d->input_scan_number > FC_JPEG_MAX_SCANS) {
        if (!c->code)
            c->code = fc_fail(c->st, FC_ERR_FORMAT, "%s: bad JPEG: more than %d scans",
                              c->what, FC_JPEG_MAX_SCANS);
        longjmp(c->jmp, 1);
    }
}

/* Convert.c cmyk2rgb after the "CMYK;I" inversion: in[] holds the file's samples. */
static void jpeg_cmyk_row(const uint8_t *in, uint32_t w, uint8_t *o) {
    for (uint32_t x = 0; x < w; x++, in += 4, o += 3) {
        int nk = in[3]; /* 255 - (255 - k) */
        for (int ch = 0; ch < 3; ch++) {
            int cc = 255 - in[ch];
            int t = cc * nk + 128;
            int v = nk - (((t >> 8) + t) >> 8);
            o[ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

static int jpeg_decode_body(struct jpeg_decompress_struct *d, jpeg_ctx *c, const uint8_t *buf,
                            size_t len, size_t max_pixels, fc_image *out) {
    if (setjmp(c->jmp)) return 1;
    jpeg_create_decompress(d);
    d->progress = &c->progress;
    jpeg_mem_src(d, buf, (unsigned long)len);
    jpeg_read_header(d, TRUE);
    int nc = d->num_components;
    if (nc == 1)
        d->out_color_space = JCS_GRAYSCALE;
    else if (nc == 3)
        d->out_color_space = JCS_RGB;
    else if (nc == 4)
        d->out_color_space = JCS_CMYK;
    else {
        c->code = fc_fail(c->st, FC_ERR_UNSUPPORTED, "%s: JPEG with %d components", c->what,
                          nc);
        return 1;
    }
    c->code = fc_image_alloc(out, d->image_width, d->image_height, c->what, max_pixels, c->st);
    if (c->code) return 1;
    jpeg_start_decompress(d);
    uint32_t w = d->output_width;
    if (w != (uint32_t)out->w || d->output_height != (uint32_t)out->h ||
        d->output_components != nc) {
        c->code = fc_fail(c->st, FC_ERR_INTERNAL, "%s: unexpected JPEG output geometry", c->what);
        return 1;
    }
    if (nc != 3) { /* gray and CMYK rows are converted from a row buffer */
        c->row = malloc((size_t)w * (size_t)nc);
        if (!c->row) {
            c->code = fc_fail(c->st, FC_ERR_NOMEM, "%s: out of memory decoding JPEG", c->what);
            return 1;
        }
    }
    while (d->output_scanline < d->output_height) {
        uint8_t *o = out->rgb + (size_t)d->output_scanline * w * 3;
        JSAMPROW rp = nc == 3 ? o : c->row; /* RGB: straight into the image */
        if (jpeg_read_scanlines(d, &rp, 1) != 1) {
            c->code = fc_fail(c->st, FC_ERR_FORMAT, "%s: truncated JPEG data", c->what);
            return 1;
        }
        if (nc == 1)
            for (uint32_t x = 0; x < w; x++) o[3 * x] = o[3 * x + 1] = o[3 * x + 2] = c->row[x];
        else if (nc == 4)
            jpeg_cmyk_row(c->row, w, o);
    }
    /* As PIL 9.4 (JpegDecode.c): after the last row, jpeg_finish_decompress reads on to
     * EOI; an error there (a second SOF or SOI) fails the image ("broken data stream"),
     * while data that ends there is fine (PIL's suspending reader stops with every row
     * decoded; libjpeg's memory source warns and supplies an EOI). Data that ends before
     * the last row is decoded stays "truncated", as PIL's "image file is truncated". */
    c->finishing = 1;
    jpeg_finish_decompress(d);
    return 0;
}

int fc_jpeg_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                   fc_image *out, fc_status *st) {
    struct jpeg_decompress_struct d;
    jpeg_ctx c;
    memset(&d, 0, sizeof d);
    memset(&c, 0, sizeof c);
    c.what = what;
    c.st = st;
    out->rgb = NULL;
    out->w = out->h = 0;
    d.err = jpeg_std_error(&c.pub);
    c.pub.error_exit = jpeg_error_exit;
    c.pub.emit_message = jpeg_emit;
    c.progress.progress_monitor = jpeg_progress;
    int rc = FC_OK;
    if (jpeg_decode_body(&d, &c, buf, len, max_pixels, out) != 0) {
        rc = c.code ? c.code : fc_fail(st, FC_ERR_FORMAT, "%s: bad JPEG", what);
        fc_image_free(out);
    }
    jpeg_destroy_decompress(&d);
    free(c.row);
    return rc;
}
