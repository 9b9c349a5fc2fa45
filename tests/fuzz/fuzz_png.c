/* fuzz_png.c - fc_image_decode on arbitrary bytes (the PNG path: seeds in
 * tests/fuzz/corpus/png/), then NEAREST and one convolution resize of whatever decoded.
 * Must never crash, leak or read out of bounds; a failure must leave no image behind. */
#include <stdlib.h>
#include <string.h>

#include "../../common/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fc_image img, out;
    fc_status st;
    /* A small pixel limit keeps each input fast; the guard itself is under test too. */
    if (fc_image_decode(data, size, "fuzz.png", 1 << 18, &img, &st) != FC_OK) {
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
