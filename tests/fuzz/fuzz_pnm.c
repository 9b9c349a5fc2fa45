/* fuzz_pnm.c - the image decoder on the Netpbm path (seeds in tests/fuzz/corpus/pnm/:
 * P1-P6, maxvals, comments, plain data, plus broken ones); the body
 * is fuzz_image.h, shared with the other image formats' targets. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_image_input(data, size, "fuzz.ppm");
}
