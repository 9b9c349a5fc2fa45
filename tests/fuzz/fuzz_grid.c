/* fuzz_grid.c - arbitrary text as a sweep --grid: parse, expand every config (capped),
 * label it. Must reject or succeed, never overrun. */
#include <stdlib.h>
#include <string.h>

#include "../../train/grid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    fc_grid g;
    char err[300], label[512];
    if (fc_grid_parse(text, &g, err, sizeof err) == 0) {
        for (int i = 0; i < g.n_configs && i < 64; i++) {
            fc_train_config c;
            if (!fc_grid_config(&g, i, NULL, &c, err, sizeof err)) fc_grid_label(&g, &c, 0, label, sizeof label);
            if (!fc_grid_config_as_given(&g, i, NULL, &c, err, sizeof err)) fc_grid_label(&g, &c, 1, label, sizeof label);
        }
        fc_grid_free(&g);
    }
    free(text);
    return 0;
}
