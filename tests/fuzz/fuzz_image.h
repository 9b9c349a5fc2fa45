/* fuzz_image.h - the body shared by the image decoder targets (fuzz_png.c, fuzz_jpeg.c,
 * fuzz_bmp.c, fuzz_pnm.c, fuzz_tiff.c):
 * fc_image_decode on arbitrary bytes, then NEAREST and one convolution resize of
 * whatever decoded. `name` only labels errors: the decoder picks the format by content,
 * so the targets differ in their seed corpus. Must never crash, leak or read out of
 * bounds; a failure must leave no image behind. */
#ifndef FC_FUZZ_IMAGE_H
#define FC_FUZZ_IMAGE_H

#include <stdlib.h>

#include "../../common/image.h"

static inline int fuzz_image_input(const uint8_t *data, size_t size, const char *name) {
    fc_image img, out;
    fc_status st;
    /* A small pixel limit keeps each input fast; the guard itself is under test too. */
    if (fc_image_decode(data, size, name, 1 << 18, &img, &st) != FC_OK) {
        if (img.rgb != NULL || st.msg[0] == '\0') abort();
        return 0;
    }
    if (img.w <= 0 || img.h <= 0 || (size_t)img.w * (size_t)img.h > (1u << 18)) abort();
    int h = img.h % 61 + 1, w = img.w % 67 + 1;
    if (fc_image_resize(&img, h, w, FC_RESIZE_NEAREST, &out, &st) == FC_OK) fc_image_free(&out);
    fc_resize filter = (fc_resize)(1 + (size % 5)); /* bilinear .. hamming */
    if (fc_image_resize(&img, w, h, filter, &out, &st) == FC_OK) fc_image_free(&out);
    fc_image_free(&img);
    return 0;
}

#endif
