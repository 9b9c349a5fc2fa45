/* image.c - the one image entry: bounded file reading, format dispatch (by
 * signature), the shared size guard, and Keras preprocess_input.
 *
 * Decoders live in image_png.c, image_jpeg.c, image_bmp.c, image_pnm.c, image_tiff.c; resizing in
 * image_resize.c. */
#define _GNU_SOURCE
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_codec.h"

#define FC_READ_FILE_DEFAULT_MAX ((size_t)1 << 30)

int fc_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len, fc_status *st) {
    int rc = FC_OK, fd = -1;
    uint8_t *data = NULL;
    size_t cap = 0, n = 0;
    struct stat sb;
    *buf = NULL;
    *len = 0;
    if (max_bytes == 0) max_bytes = FC_READ_FILE_DEFAULT_MAX;
    fd = fc_open_regular(path, &sb, st); /* a FIFO named x.png would block a plain open() */
    if (fd < 0) {
        rc = st ? (int)st->code : FC_ERR_IO;
        goto out;
    }
    if ((uint64_t)sb.st_size > max_bytes) {
        rc = fc_fail(st, FC_ERR_NOMEM, "%s: file is %lld bytes, over the limit of %zu bytes",
                     path, (long long)sb.st_size, max_bytes);
        goto out;
    }
    /* The size is a hint only: the file may change while we read, so the loop below
     * stays bounded by max_bytes whatever st_size said. */
    cap = (size_t)sb.st_size + 1;
    data = fc_malloc(cap, st);
    if (!data) {
        rc = FC_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max_bytes) {
                rc = fc_fail(st, FC_ERR_NOMEM, "%s: file grew over the limit of %zu bytes",
                             path, max_bytes);
                goto out;
            }
            size_t ncap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            uint8_t *p = realloc(data, ncap);
            if (!p) {
                rc = fc_fail(st, FC_ERR_NOMEM, "%s: out of memory reading file", path);
                goto out;
            }
            data = p;
            cap = ncap;
        }
        ssize_t got = read(fd, data + n, cap - n);
        if (got < 0) {
            if (errno == EINTR) continue;
            rc = fc_fail(st, FC_ERR_IO, "%s: read error: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    if (n > max_bytes) {
        rc = fc_fail(st, FC_ERR_NOMEM, "%s: file grew over the limit of %zu bytes", path,
                     max_bytes);
        goto out;
    }
    *buf = data;
    *len = n;
    data = NULL;
out:
    if (fd >= 0) close(fd);
    free(data);
    return rc;
}

int fc_is_png(const uint8_t *buf, size_t len) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return len >= 8 && memcmp(buf, sig, 8) == 0;
}

int fc_is_jpeg(const uint8_t *buf, size_t len) {
    return len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF;
}

int fc_image_alloc(fc_image *img, uint32_t w, uint32_t h, const char *what, size_t max_pixels,
                   fc_status *st) {
    size_t npix, nbytes;
    if (w == 0 || h == 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: image has zero size (%ux%u)", what, w, h);
    if (fc_size_mul(w, h, &npix) || npix > max_pixels)
        return fc_fail(st, FC_ERR_NOMEM,
                       "%s: image is %ux%u = %llu pixels, over the limit of %zu "
                       "(decompression bomb?)",
                       what, w, h, (unsigned long long)w * h, max_pixels);
    if (w > INT32_MAX || h > INT32_MAX || fc_size_mul(npix, 3, &nbytes))
        return fc_fail(st, FC_ERR_NOMEM, "%s: image size %ux%u overflows", what, w, h);
    img->rgb = fc_malloc(nbytes, st);
    if (!img->rgb) return fc_wrap(st, "%s", what);
    img->w = (int)w;
    img->h = (int)h;
    return FC_OK;
}

int fc_image_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                    fc_image *out, fc_status *st) {
    out->w = out->h = 0;
    out->rgb = NULL;
    if (!what) what = "<memory>";
    if (max_pixels == 0) max_pixels = FC_MAX_IMAGE_PIXELS_DEFAULT;
    if (len == 0) return fc_fail(st, FC_ERR_FORMAT, "%s: empty file", what);
    if (fc_is_png(buf, len)) return fc_png_decode(buf, len, what, max_pixels, out, st);
    if (fc_is_jpeg(buf, len)) return fc_jpeg_decode(buf, len, what, max_pixels, out, st);
    if (fc_is_tiff(buf, len)) return fc_tiff_decode(buf, len, what, max_pixels, out, st);
    if (fc_is_pnm(buf, len)) return fc_pnm_decode(buf, len, what, max_pixels, out, st);
    if (fc_is_bmp(buf, len) || fc_is_dib(buf, len))
        return fc_bmp_decode(buf, len, what, max_pixels, out, st);
    return fc_fail(st, FC_ERR_FORMAT, "%s: not a PNG, JPEG, BMP, PNM (PBM, PGM, PPM) or TIFF image", what);
}

int fc_image_load(const char *path, size_t max_pixels, fc_image *out, fc_status *st) {
    uint8_t *buf = NULL;
    size_t len = 0;
    out->w = out->h = 0;
    out->rgb = NULL;
    int rc = fc_read_file(path, 0, &buf, &len, st);
    if (rc == FC_OK) rc = fc_image_decode(buf, len, path, max_pixels, out, st);
    free(buf);
    return rc;
}

void fc_image_free(fc_image *img) {
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

/* Keras imagenet_utils.preprocess_input on a float32 array: every step is a float32
 * operation with the Python float constant rounded to float32 first (numpy casts the
 * scalar to the array dtype), so each line below is one numpy statement, in order.
 *   caffe: x = x[..., ::-1]; x[..., c] -= mean[c]          (BGR out)
 *   tf:    x /= 127.5; x -= 1.
 *   torch: x /= 255.; x[..., c] -= mean[c]; x[..., c] /= std[c]
 *   rescale: ImageDataGenerator(rescale=1./255): x *= float32(1./255)
 * preprocess_one() is the value of output channel c for input byte v. */
static float preprocess_one(fc_preprocess mode, int c, float x) {
    static const float caffe_mean_bgr[3] = {103.939f, 116.779f, 123.68f};
    static const float torch_mean[3] = {0.485f, 0.456f, 0.406f};
    static const float torch_std[3] = {0.229f, 0.224f, 0.225f};
    switch (mode) {
    case FC_PRE_CAFFE: /* v is the B, G, R byte for c = 0, 1, 2 */
        x -= caffe_mean_bgr[c];
        break;
    case FC_PRE_TF:
        x /= 127.5f;
        x -= 1.0f;
        break;
    case FC_PRE_TORCH:
        x /= 255.0f;
        x -= torch_mean[c];
        x /= torch_std[c];
        break;
    case FC_PRE_RESCALE:
        x *= (float)(1.0 / 255.0);
        break;
    case FC_PRE_NONE:
    default:
        break;
    }
    return x;
}

/* Every output depends only on (channel, byte), so a 3x256 table computed with exactly
 * the per-pixel operations gives identical floats at a fraction of the cost. */
void fc_preprocess_apply(fc_preprocess mode, const uint8_t *rgb, size_t npix, float *out) {
    float lut[3][256];
    int src[3] = {0, 1, 2};
    if (mode == FC_PRE_CAFFE) src[0] = 2, src[2] = 0; /* RGB -> BGR */
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) lut[c][v] = preprocess_one(mode, c, (float)v);
    for (size_t i = 0; i < npix; i++) {
        const uint8_t *p = rgb + 3 * i;
        float *o = out + 3 * i;
        o[0] = lut[0][p[src[0]]];
        o[1] = lut[1][p[src[1]]];
        o[2] = lut[2][p[src[2]]];
    }
}

void fc_preprocess_apply_float(fc_preprocess mode, const float *rgb, size_t npix, float *out) {
    int src[3] = {0, 1, 2};
    if (mode == FC_PRE_CAFFE) src[0] = 2, src[2] = 0; /* RGB -> BGR */
    for (size_t i = 0; i < npix; i++) {
        const float *p = rgb + 3 * i;
        float *o = out + 3 * i, v0 = p[src[0]], v1 = p[src[1]], v2 = p[src[2]];
        o[0] = preprocess_one(mode, 0, v0);
        o[1] = preprocess_one(mode, 1, v1);
        o[2] = preprocess_one(mode, 2, v2);
    }
}

static const char *const preprocess_names[] = {"caffe", "tf", "torch", "rescale", "none"};
static const char *const resize_names[] = {"nearest", "bilinear", "bicubic",
                                           "lanczos", "box",      "hamming"};
#define N_RESIZE ((int)(sizeof resize_names / sizeof *resize_names))

int fc_preprocess_parse(const char *s, fc_preprocess *out) {
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, preprocess_names[i]) == 0) {
            *out = (fc_preprocess)i;
            return 0;
        }
    return -1;
}

const char *fc_preprocess_name(fc_preprocess p) {
    return (unsigned)p < 5 ? preprocess_names[p] : "?";
}

int fc_resize_parse(const char *s, fc_resize *out) {
    for (int i = 0; s && i < N_RESIZE; i++)
        if (strcmp(s, resize_names[i]) == 0) {
            *out = (fc_resize)i;
            return 0;
        }
    return -1;
}

const char *fc_resize_name(fc_resize r) {
    return (unsigned)r < (unsigned)N_RESIZE ? resize_names[r] : "?";
}
