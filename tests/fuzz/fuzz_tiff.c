/* fuzz_tiff.c - the image decoder on the TIFF path (seeds in tests/fuzz/corpus/tiff/:
 * every accepted layout and compression, refused ones, broken ones); the body
 * is fuzz_image.h, shared with the other image formats' targets. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_image_input(data, size, "fuzz.tif");
}
