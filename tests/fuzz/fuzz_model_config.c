/* fuzz_model_config.c - a Keras model_config JSON (or TF.js modelTopology) -> fc_graph, with
 * a weight source that serves zeros for any modest shape, then fc_graph_finalize. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/graph.h"
#include "../../common/model_internal.h"

static int zeros_get(void *ctx, const char *group, const char *layer, const char *var, int rank,
                     const int64_t *expect, int64_t *dims, float **out, size_t *count,
                     fc_status *st) {
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        dims[i] = expect[i] < 0 ? 3 : expect[i];
        if (fc_size_mul(n, (size_t)dims[i], &n) || n > ((size_t)1 << 20))
            return fc_fail(st, FC_ERR_NOMEM, "weight too large for fuzzing");
    }
    if (!strcmp(var, "missing")) return 1;
    *out = calloc(n ? n : 1, sizeof **out);
    *count = n;
    return *out ? 0 : FC_ERR_NOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fc_status st = {0};
    fc_graph *g = fc_graph_create(&st);
    fc_wsrc ws = {zeros_get, NULL, NULL, "fuzz.json", NULL, 0};
    if (!g) return 0;
    if (fc_wsrc_begin(&ws, &st) == 0 &&
        fc_keras_config_build((const char *)data, size, NULL, &ws, "fuzz.json", g, &st) == 0)
        fc_graph_finalize(g, NULL, 0, 0, &st);
    fc_wsrc_end(&ws);
    fc_graph_free(g);
    return 0;
}
