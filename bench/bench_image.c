/* bench_image.c - image decode / resize / preprocess throughput (the CPU side of extract).
 *
 *   bench_image [--n N] [FILE...]
 * Without files it encodes one synthetic 500x375 photo-like image (the typical cats-vs-dogs
 * size) as JPEG q90 4:2:0 and as PNG in memory. Prints images/s and megapixels/s of
 * process CPU time for decode, NEAREST and BILINEAR resize to 150x150 and 224x224, and
 * caffe preprocessing. Never asserts on time. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>
#include <png.h>

#include "../common/image.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Smooth gradients plus mild noise: compresses like a photo, not like flat colour. */
static uint8_t *synth(int w, int h) {
    uint8_t *p = malloc((size_t)w * h * 3);
    uint32_t s = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                s = s * 1664525u + 1013904223u;
                int v = (x * (c + 1) + y * (3 - c)) / 3 + (int)(s >> 28) - 8;
                p[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return p;
}

static void encode_jpeg(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned long n = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, out, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = n;
}

static void encode_png(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w;
    im.height = (png_uint_32)h;
    im.format = PNG_FORMAT_RGB;
    png_alloc_size_t n = 0;
    png_image_write_to_memory(&im, NULL, &n, 0, rgb, 0, NULL);
    *out = malloc(n);
    png_image_write_to_memory(&im, *out, &n, 0, rgb, 0, NULL);
    *len = n;
}

static void bench_one(const char *name, const uint8_t *buf, size_t len, int n) {
    fc_status st;
    fc_image img;
    if (fc_image_decode(buf, len, name, 0, &img, &st) != FC_OK) {
        fprintf(stderr, "%s\n", st.msg);
        return;
    }
    double mp = (double)img.w * img.h * 1e-6, t = cpu_now();
    for (int i = 0; i < n; i++) {
        fc_image tmp;
        fc_image_decode(buf, len, name, 0, &tmp, &st);
        fc_image_free(&tmp);
    }
    t = cpu_now() - t;
    printf("%-22s %4dx%-4d decode            %8.0f img/s %7.1f MP/s\n", name, img.w, img.h,
           n / t, n * mp / t);
    static const int sizes[2] = {150, 224};
    for (int m = 0; m < 2; m++)
        for (int s = 0; s < 2; s++) {
            fc_image out;
            t = cpu_now();
            for (int i = 0; i < n; i++) {
                fc_image_resize(&img, sizes[s], sizes[s], (fc_resize)m, &out, &st);
                fc_image_free(&out);
            }
            t = cpu_now() - t;
            printf("%-22s %4dx%-4d %-8s -> %3d    %8.0f img/s\n", name, img.w, img.h,
                   fc_resize_name((fc_resize)m), sizes[s], n / t);
        }
    float *x = malloc((size_t)224 * 224 * 3 * sizeof *x);
    uint8_t *px = calloc((size_t)224 * 224, 3);
    t = cpu_now();
    for (int i = 0; i < n; i++) fc_preprocess_apply(FC_PRE_CAFFE, px, (size_t)224 * 224, x);
    t = cpu_now() - t;
    printf("%-22s preprocess caffe 224x224       %8.0f img/s\n", name, n / t);
    free(x);
    free(px);
    fc_image_free(&img);
}

int main(int argc, char **argv) {
    int n = 200, nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc) {
            n = atoi(argv[++i]);
            continue;
        }
        uint8_t *buf;
        size_t len;
        fc_status st;
        if (fc_read_file(argv[i], 0, &buf, &len, &st) != FC_OK) {
            fprintf(stderr, "%s\n", st.msg);
            return 1;
        }
        bench_one(argv[i], buf, len, n);
        free(buf);
        nfiles++;
    }
    if (nfiles == 0) {
        int w = 500, h = 375;
        uint8_t *rgb = synth(w, h), *jpg = NULL, *png = NULL;
        size_t jlen = 0, plen = 0;
        encode_jpeg(rgb, w, h, &jpg, &jlen);
        encode_png(rgb, w, h, &png, &plen);
        bench_one("synthetic.jpg", jpg, jlen, n);
        bench_one("synthetic.png", png, plen, n / 2 > 0 ? n / 2 : 1);
        free(rgb);
        free(jpg);
        free(png);
    }
    return 0;
}
