/* image.h - the one image decoder entry, Keras-exact resizing and preprocessing.
 *
 * Decoding follows PIL 9.4: Image.open(...).convert('RGB') (gray, gray+alpha, palette, RGBA,
 * 16-bit PNG; gray, RGB, CMYK/YCCK JPEG; every BMP layout PIL opens, see image_bmp.c; Netpbm P1-P6, see image_pnm.c;
 * 1-8-bit gray, palette, RGB(A), CMYK and JPEG-YCbCr TIFF, see image_tiff.c). Resizing follows Keras load_img(target_size)
 * which calls PIL resize with NEAREST by default (also bilinear). Preprocessing follows
 * keras preprocess_input (caffe, tf, torch) plus rescale (x/255) and none. */
#ifndef FC_IMAGE_H
#define FC_IMAGE_H

#include "fc.h"

typedef struct {
    int w, h;
    uint8_t *rgb;   /* h*w*3, row-major, malloc'd */
} fc_image;

/* Keras load_img(interpolation=...) names; NEAREST is Keras' default. */
typedef enum {
    FC_RESIZE_NEAREST,
    FC_RESIZE_BILINEAR,
    FC_RESIZE_BICUBIC,
    FC_RESIZE_LANCZOS,
    FC_RESIZE_BOX,
    FC_RESIZE_HAMMING
} fc_resize;
typedef enum { FC_PRE_CAFFE, FC_PRE_TF, FC_PRE_TORCH, FC_PRE_RESCALE, FC_PRE_NONE } fc_preprocess;

/* Decode image bytes to RGB; the format comes from the content (signature), never from
 * the name. `what` names the source in
 * errors (usually the path). Images over max_pixels (0 = FC_MAX_IMAGE_PIXELS_DEFAULT)
 * are refused before allocation. On any error *out is left empty (rgb NULL) and the
 * message reads "<what>: <problem>" (e.g. "x.png: truncated PNG data",
 * "y.jpg: bad JPEG: ...", "z.gif: not a PNG, JPEG ... image"). Thread-safe. */
int fc_image_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                    fc_image *out, fc_status *st);
/* Read a whole file into memory (bounded by max_bytes, 0 = 1 GiB). */
int fc_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len, fc_status *st);
int fc_image_load(const char *path, size_t max_pixels, fc_image *out, fc_status *st);
void fc_image_free(fc_image *img);
/* Writes h rows of w pixels (channels 1: grey, 3: RGB; rows packed) as a PNG file. */
int fc_png_write(const char *path, const uint8_t *px, int w, int h, int channels, fc_status *st);

/* Resize src to (h, w) exactly as PIL Image.resize((w, h), <filter>). */
int fc_image_resize(const fc_image *src, int h, int w, fc_resize mode, fc_image *dst,
                    fc_status *st);

/* rgb: npix*3 bytes -> out: npix*3 floats, per keras preprocess_input(mode). */
void fc_preprocess_apply(fc_preprocess mode, const uint8_t *rgb, size_t npix, float *out);
/* The same on float pixels (0..255, e.g. after an augmentation's interpolation); equal to
 * fc_preprocess_apply on whole values. out may equal rgb. */
void fc_preprocess_apply_float(fc_preprocess mode, const float *rgb, size_t npix, float *out);

/* Names <-> enums ("caffe", "tf", "torch", "rescale", "none"; "nearest", "bilinear",
 * "bicubic", "lanczos", "box", "hamming").
 * The parsers return 0, or -1 for an unknown (or NULL) name. */
int fc_preprocess_parse(const char *s, fc_preprocess *out);
const char *fc_preprocess_name(fc_preprocess p);
int fc_resize_parse(const char *s, fc_resize *out);
const char *fc_resize_name(fc_resize r);

#endif
