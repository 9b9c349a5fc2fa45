/* fuzz_grid.c - the sweep `--grid` parser on arbitrary text: fc_grid_parse, then for
 * every config (up to 64) fc_grid_config and fc_grid_label, as `featcache sweep` does.
 * Must never crash, leak or read out of bounds; a refusal must come with a message.
 * Corpus (tests/fuzz/corpus/grid/): valid grids and broken ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/grid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0; /* the command line hands a C string: stop at the first NUL */
    fc_grid g;
    char err[256] = "";
    if (fc_grid_parse(text, &g, err, sizeof err) != 0) {
        if (!err[0] || g.n_axes != 0) abort(); /* refused: message given, grid freed */
        free(text);
        return 0;
    }
    if (g.n_configs < 1 || g.n_configs > FC_GRID_MAX_CONFIGS) abort();
    int n = g.n_configs < 64 ? g.n_configs : 64;
    for (int i = 0; i < n; i++) {
        fc_train_config c;
        char label[512];
        if (fc_grid_config(&g, i * (g.n_configs / n), NULL, &c, err, sizeof err) != 0 && !err[0]) abort();
        fc_grid_label(&g, i, label, sizeof label);
        for (int a = 0; a < g.n_axes; a++) {
            int v = fc_grid_index(&g, i, a);
            if (v < 0 || v >= g.n_values[a]) abort();
        }
    }
    fc_grid_free(&g);
    free(text);
    return 0;
}
