/* fuzz_h5model.c - untrusted bytes as a Keras HDF5 model file: written to a temp file
 * (HDF5 reads files, not buffers), then fc_model_load_keras_h5 (model_config attribute,
 * layer graph, every weight dataset read and shape-checked, graph finalized), as
 * `featcache extract -m FILE.h5` and `layers` do. Any outcome but a crash or leak is fine;
 * a refusal must come with a message. Corpus (tests/fuzz/corpus/h5model/): tiny valid
 * models from tests/py/make_models.py and broken ones. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_tmpfile.h"
#include "../../common/graph.h"
#include "../../common/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/fc-fuzz-model.XXXXXX";
    if (fuzz_write_temp(path, data, size)) return 0;
    fc_status st = {0};
    fc_graph *g = NULL;
    if (fc_model_load_keras_h5(path, &g, &st) == 0)
        fc_graph_free(g);
    else if (!st.msg[0])
        abort();
    unlink(path);
    fuzz_h5_all_closed();
    return 0;
}
