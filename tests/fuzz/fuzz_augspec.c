/* fuzz_augspec.c - arbitrary text as extract --augment-spec: parse; what parses must
 * format to a text that parses to an equal spec, and draw + apply on a small image with
 * the drawn transform must stay in bounds (huge zooms, shifts and shears included). */
#include <stdlib.h>
#include <string.h>

#include "../../common/augment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    fc_aug_spec a, b;
    fc_status st = {0};
    if (fc_aug_parse(text, &a, &st) == FC_OK) {
        char canon[512];
        int n = fc_aug_format(&a, canon, sizeof canon);
        if (n < 0 || (size_t)n >= sizeof canon || fc_aug_parse(canon, &b, &st) != FC_OK || !fc_aug_spec_equal(&a, &b))
            abort(); /* the store keeps the canonical text: it must read back to the same spec */
        float src[5 * 4 * 3], dst[5 * 4 * 3];
        for (int i = 0; i < 60; i++) src[i] = (float)i;
        for (int v = 0; v < 3; v++) {
            fc_aug_params p;
            fc_aug_draw(&a, 5, 4, fc_aug_key((uint64_t)size, text, v), &p);
            fc_aug_apply(&p, src, 5, 4, 3, dst);
            for (int i = 0; i < 60; i++)
                if (!(dst[i] >= 0 && dst[i] <= 59)) abort(); /* bilinear of in-range values */
        }
    }
    free(text);
    return 0;
}
