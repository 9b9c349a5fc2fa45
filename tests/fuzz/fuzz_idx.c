/* fuzz_idx.c - the IDX parser (common/idx.c) on arbitrary bytes, as images and as labels. */
#include <stdint.h>
#include <stddef.h>

#include "../../common/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fc_idx x;
    fc_status st;
    if (fc_idx_parse(data, size, FC_IDX_MAGIC_IMAGES, "fuzz", &x, &st) == 0) fc_idx_free(&x);
    if (fc_idx_parse(data, size, FC_IDX_MAGIC_LABELS, "fuzz", &x, &st) == 0) fc_idx_free(&x);
    return 0;
}
