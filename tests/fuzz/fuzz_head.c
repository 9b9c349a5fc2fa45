/* fuzz_head.c - untrusted bytes as HEAD.h5: written to a temp file (HDF5 reads files),
 * then loaded as `evaluate`/`predict` do (model_config JSON, weight_names, shapes,
 * class_names) and, when it loads, run on a zero input. Any outcome but a crash or leak
 * is fine. Corpus (tests/fuzz/corpus/head/): valid heads (flatten/gap/gmp, 1-3 Dense),
 * heads with a wrong kernel shape, bad JSON, missing weight_names, truncated, text. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_tmpfile.h"
#include "../../train/head_h5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/fc-fuzz-head.XXXXXX";
    if (fuzz_write_temp(path, data, size)) return 0;
    fc_status st = {0};
    fc_head *hd = NULL;
    if (fc_head_load(path, &hd, &st) == 0) {
        size_t per = (size_t)hd->in_h * hd->in_w * hd->in_c;
        float *x = per <= (1u << 20) ? calloc(per, sizeof *x) : NULL;
        float *p = calloc((size_t)hd->dims[hd->n_layers], sizeof *p);
        if (x && p) fc_head_predict(hd, x, 1, p, &st);
        free(x), free(p);
        fc_head_free(hd);
    }
    unlink(path);
    fuzz_h5_all_closed();
    return 0;
}
