/* fuzz_bmp.c - the image decoder on the BMP/DIB path (seeds in tests/fuzz/corpus/bmp/:
 * every header size, depth, bitfields layout and RLE variant, plus broken ones); the body
 * is fuzz_image.h, shared with the other image formats' targets. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_image_input(data, size, "fuzz.bmp");
}
