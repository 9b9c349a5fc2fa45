/* fuzz_png.c - the image decoder on the PNG path (seeds in tests/fuzz/corpus/png/);
 * the body is fuzz_image.h, shared with the other image format's target. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_image_input(data, size, "fuzz.png");
}
