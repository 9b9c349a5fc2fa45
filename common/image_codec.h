/* image_codec.h - private to the image module: the per-format decoders behind
 * fc_image_decode() and the size guard they share. Not for use outside common/image*.c. */
#ifndef FC_IMAGE_CODEC_H
#define FC_IMAGE_CODEC_H

#include "image.h"

/* Buffers that start with these bytes are handed to the matching decoder. */
int fc_is_png(const uint8_t *buf, size_t len);
int fc_is_jpeg(const uint8_t *buf, size_t len);
int fc_is_bmp(const uint8_t *buf, size_t len);  /* "BM" */
int fc_is_dib(const uint8_t *buf, size_t len);  /* a bare BMP info header (PIL's DIB) */
int fc_is_pnm(const uint8_t *buf, size_t len);  /* "P1" .. "P6" */
int fc_is_tiff(const uint8_t *buf, size_t len); /* "II*\0", "MM\0*" (and BigTIFF, refused) */

/* Every decoder: buf/len is the whole file, `what` names it in errors, max_pixels is
 * already resolved (never 0). On success out->rgb is h*w*3 bytes (malloc'd). */
int fc_png_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                  fc_image *out, fc_status *st);
int fc_jpeg_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                   fc_image *out, fc_status *st);
/* TIFF through libtiff (first directory). */
int fc_tiff_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                   fc_image *out, fc_status *st);
/* Netpbm P1..P6 (PBM, PGM, PPM). */
int fc_pnm_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                  fc_image *out, fc_status *st);
/* BMP file or DIB (told apart by the "BM" signature). */
int fc_bmp_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                  fc_image *out, fc_status *st);

/* Checks a declared w x h against the pixel limit and allocates the h*w*3 RGB buffer
 * (overflow-safe). Called after the header is parsed and before any pixel data. */
int fc_image_alloc(fc_image *img, uint32_t w, uint32_t h, const char *what, size_t max_pixels,
                   fc_status *st);

#endif
